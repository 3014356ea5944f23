"""labfastapi's own copies of the lab's names agree with the contract
(`services/core/contract/lab-contract.json`): its routes, metric definitions, label values,
buckets, phases, headers and error kinds with their statuses. The server cannot read the
contract (its image is built from services/fastapi alone), so it keeps its own definitions and
these tests hold them to the file, in-process (never `labfastapi.app`, which builds the app
from the environment at import). What it exports over HTTP is checked in test_metrics.py,
test_errors.py and test_endpoints.py.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest
from fastapi.exceptions import RequestValidationError
from prometheus_client.metrics import MetricWrapperBase
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from conftest import CONTRACT, ENDPOINTS
from labfastapi import connections, errors, metrics, observe, strategies
from labfastapi.gate import BODY_BYTES_KEY
from labfastapi.errors import LabError

#: The error kind it never gives: uvicorn stops a worker by closing its listener and its idle
#: connections and letting the requests in flight finish (SHUTDOWN_TIMEOUT), so no request is
#: ever answered "shutting down".
NOT_GIVEN_KIND = "shutting_down"
#: The error kinds the FastAPI server answers with: every contract kind but that one.
FASTAPI_ERROR_KINDS = {error.kind for error in CONTRACT.server_error_kinds} - {NOT_GIVEN_KIND}
#: The cut-off reason it never counts: an upload still arriving when the graceful shutdown's
#: SHUTDOWN_TIMEOUT ends is dropped (uvicorn cancels its task, gunicorn kills the worker), not
#: counted.
NOT_COUNTED_REASON = "shutdown"
#: The cut-off reasons it counts: every contract reason but that one.
FASTAPI_CUT_OFF_REASONS = set(CONTRACT.cut_off_reasons) - {NOT_COUNTED_REASON}


def test_the_routes_are_the_contracts_fastapi_strategies() -> None:
    """The handlers, by path, are the strategies the contract marks `on_fastapi`, in order."""
    assert tuple(strategies.HANDLERS) == ENDPOINTS
    assert ENDPOINTS, "the contract marks at least one strategy on_fastapi"


def test_the_endpoint_labels_are_the_strategies_labels_and_other() -> None:
    """`endpoint` is a strategy's label (not its path) or the contract's `other`."""
    assert metrics.ENDPOINTS == tuple(strategy.label for strategy in CONTRACT.fastapi_strategies)
    assert metrics.OTHER_ENDPOINT == CONTRACT.other_endpoint
    for strategy in CONTRACT.fastapi_strategies:
        assert metrics.endpoint_label(strategy.path) == strategy.label
    for strategy in set(CONTRACT.strategies) - set(CONTRACT.fastapi_strategies):
        assert metrics.endpoint_label(strategy.path) == CONTRACT.other_endpoint, strategy.path
    assert metrics.endpoint_label(CONTRACT.http.health_path) == CONTRACT.other_endpoint


def registered_metrics() -> dict[str, MetricWrapperBase]:
    """Every prometheus_client metric labfastapi.metrics defines, by its exported name
    (prometheus_client keeps a counter's name without `_total`)."""
    found = {}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            suffix = "_total" if value._type == "counter" else ""
            found[value._name + suffix] = value
    return found


def test_the_metric_definitions_are_the_contracts_server_metrics() -> None:
    """One definition per contract server metric: its name, its kind and its label names in
    the contract's order, and no other metric."""
    defined = registered_metrics()
    assert set(defined) == {metric.name for metric in CONTRACT.server_metrics}
    for metric in CONTRACT.server_metrics:
        mine = defined[metric.name]
        assert (mine._type, tuple(mine._labelnames)) == (metric.kind, metric.labels), metric.name


def test_the_latency_buckets_are_lab_cores() -> None:
    assert metrics.latency_buckets_seconds() == list(CONTRACT.latency_buckets_seconds)
    assert metrics.LATENCY == list(CONTRACT.latency_buckets_seconds)


def test_the_size_classes_are_the_contracts_in_order() -> None:
    """Below the first limit the first class, then the second, then the third, at the
    contract's limits."""
    assert (metrics.SMALL_BODY_BELOW, metrics.MEDIUM_BODY_BELOW) == CONTRACT.size_class_limits
    classes = [metrics.size_class(size) for size in (0, metrics.SMALL_BODY_BELOW - 1, metrics.SMALL_BODY_BELOW,
                                                        metrics.MEDIUM_BODY_BELOW - 1, metrics.MEDIUM_BODY_BELOW, 10**9)]
    small, medium, large = CONTRACT.size_classes
    assert classes == [small, small, medium, medium, large, large]


def test_the_cut_off_reasons_are_the_contracts_but_shutdown() -> None:
    assert set(metrics.CUT_OFF_REASONS) == FASTAPI_CUT_OFF_REASONS
    assert len(metrics.CUT_OFF_REASONS) == len(FASTAPI_CUT_OFF_REASONS)


def test_the_phases_are_contract_phases() -> None:
    """Each phase /pong and /offload record is one of the contract's."""
    phases = [strategies.READ_BODY, strategies.BLOCKING_WAIT, strategies.PARSE, strategies.COMPUTE, strategies.DROP]
    assert [CONTRACT.phase(phase) for phase in phases] == phases


def test_the_headers_are_the_contracts() -> None:
    assert observe.REQUEST_ID_HEADER == CONTRACT.http.request_id_header
    assert observe.WORKER_ID_HEADER == CONTRACT.http.worker_id_header


def test_what_it_leaves_out_is_the_contracts() -> None:
    """The kind and the reason the FastAPI server never gives are contract names (a renamed
    one fails here, not by leaving every kind in)."""
    assert CONTRACT.server_error(NOT_GIVEN_KIND).kind not in FASTAPI_ERROR_KINDS
    assert CONTRACT.cut_off_reason(NOT_COUNTED_REASON) not in FASTAPI_CUT_OFF_REASONS


def handled(handler, error: Exception) -> tuple[int, str]:
    """(status, kind) of the answer one of labfastapi's exception handlers gives `error`."""
    scope = {"type": "http", "method": "POST", "path": ENDPOINTS[0], "headers": [], "query_string": b""}
    # A request whose body was read (an empty one is not JSON at all, whatever FastAPI says).
    request = Request({**scope, BODY_BYTES_KEY: 2})
    response = asyncio.run(handler(request, error))
    return response.status_code, orjson.loads(response.body)["error"]


ERRORS = {
    "malformed_json": lambda: LabError.malformed_json("x").response(),
    "wrong_shape": lambda: LabError.wrong_shape("x").response(),
    "body_read_failed": lambda: LabError.body_read_failed("x").response(),
    "body_too_large": lambda: LabError.body_too_large(1).response(),
    "body_read_timeout": lambda: LabError.body_read_timeout("x").response(),
    "unsupported_media_type": lambda: LabError.unsupported_media_type("x").response(),
    "server_busy": lambda: LabError.server_busy(2, 1, close=False).response(),
}


@pytest.mark.parametrize("kind", ERRORS)
def test_every_lab_error_has_its_contract_status(kind: str) -> None:
    """Each of LabError's answers carries its kind and the status the contract gives it."""
    response = ERRORS[kind]()
    assert orjson.loads(response.body)["error"] == kind
    assert response.status_code == CONTRACT.server_error(kind).status


#: FastAPI's and Starlette's exceptions, and a bug, through the handlers labfastapi installs.
FRAMEWORK_ERRORS = {
    "404": (errors._http_exception, StarletteHTTPException(404), "not_found"),
    "405": (errors._http_exception, StarletteHTTPException(405), "method_not_allowed"),
    "400": (errors._http_exception, StarletteHTTPException(400), "malformed_json"),
    "an unknown status": (errors._http_exception, StarletteHTTPException(418), "internal"),
    "validation": (errors._validation_error,
                   RequestValidationError([{"loc": ("body", "name"), "msg": "x", "input": 1}]), "wrong_shape"),
    "a bug": (errors._unexpected, RuntimeError("a bug"), "internal"),
}


@pytest.mark.parametrize(("handler", "error", "kind"), FRAMEWORK_ERRORS.values(), ids=FRAMEWORK_ERRORS.keys())
def test_the_frameworks_errors_become_contract_kinds_with_their_status(handler, error, kind: str) -> None:
    """FastAPI's and Starlette's own exceptions, and a bug, are answered with a contract kind
    and its status; an HTTPException of a status the lab has no kind for is a bug (500
    `internal`), never a kind of its own."""
    assert handled(handler, error) == (CONTRACT.server_error(kind).status, kind)


def test_a_request_head_it_cannot_read_is_the_contracts_malformed_request() -> None:
    """The 400 the protocol writes itself (test_errors.py sends one over a socket)."""
    assert CONTRACT.server_error(connections.MALFORMED_REQUEST).status == 400


def test_every_kind_it_gives_is_covered_above() -> None:
    """Every kind of the subset is produced by one of the checks above (or, for the
    protocol's 400, named by the protocol)."""
    produced = set(ERRORS) | {kind for _, _, kind in FRAMEWORK_ERRORS.values()}
    assert produced | {connections.MALFORMED_REQUEST} == FASTAPI_ERROR_KINDS

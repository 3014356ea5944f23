"""/metrics has lab-server's series: the contract's server metrics, exactly (names, kinds,
label names, label values), with lab-core's latency buckets. The contract is
`services/core/contract/lab-contract.json`, read through `tests/labcontract.py`; labfastapi
keeps its own definitions (its image holds services/fastapi alone), and this holds what it
exports to them."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import CONTRACT, ENDPOINTS, Server
from labcontract import Metric
from labfastapi import metrics

JSON = {"content-type": "application/json"}
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")
#: The contract's server metrics, by name.
SERVER_METRICS = {metric.name: metric for metric in CONTRACT.server_metrics}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample line."""
    parsed = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels") or ""))
            parsed.append((match.group("name"), labels, float(match.group("value"))))
    return parsed


def bucket_bounds(text: str, name: str) -> dict[tuple, list[float]]:
    """For each label set of histogram `name` (le left out), its finite bucket bounds."""
    series: dict[tuple, list[float]] = {}
    for sample_name, labels, _ in samples(text):
        if sample_name == f"{name}_bucket":
            le = labels.pop("le")
            if le != "+Inf":
                series.setdefault(tuple(sorted(labels.items())), []).append(float(le))
    return series


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent). The sample is asked for by the contract's
    names: a series, label or label value the contract lacks fails here, not as a silent 0."""
    metric = family_of(name)
    assert metric is not None, f"{name} is no sample of a contract server metric"
    for label, wanted in labels.items():
        assert label in metric.labels, f"{metric.name} has no label {label}"
        allowed = CONTRACT.label_values(label, metric)
        assert allowed is None or wanted in allowed, f"{metric.name}: {label}={wanted!r} is not one of {allowed}"
    return sum(v for n, l, v in samples(text) if n == name and l == labels)


def families(text: str) -> dict[str, str]:
    """Every series family of a scrape, by its `# TYPE` line: name to kind."""
    return {name: kind for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, re.MULTILINE)}


def family_of(sample_name: str) -> Metric | None:
    """The contract's server metric a sample belongs to (a histogram's `_bucket` to it)."""
    metric = CONTRACT.metric_of_series(sample_name)
    return metric if metric is not None and metric.name in SERVER_METRICS else None


@pytest.fixture(scope="module")
def scrape(server: Server) -> str:
    """/metrics after one request to each strategy endpoint and one 404."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in ENDPOINTS:
            assert client.post(path, content=b'{"name":"x","data":{"a":1}}', headers=JSON).status_code == 200
        client.get("/nowhere")
        response = client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.text


def test_the_scrape_has_exactly_the_contracts_server_metrics_and_kinds(scrape: str) -> None:
    """One family per contract server metric, of the contract's kind, and no other family."""
    assert families(scrape) == {name: metric.kind for name, metric in SERVER_METRICS.items()}


def test_every_sample_carries_its_metrics_label_names(scrape: str) -> None:
    """Each sample's label names are its metric's in the contract (`le` besides on a bucket),
    and every metric has samples, so every metric's labels are checked."""
    seen = set()
    for name, labels, _ in samples(scrape):
        metric = family_of(name)
        assert metric is not None, f"{name} is no sample of a contract server metric"
        if name.endswith("_bucket"):
            assert labels.pop("le")
        assert sorted(labels) == sorted(metric.labels), (name, labels)
        seen.add(metric.name)
    assert seen == set(SERVER_METRICS), set(SERVER_METRICS) - seen


def test_every_label_value_is_one_the_contract_gives(scrape: str) -> None:
    """`endpoint` a strategy this server serves or `other`, `size_class`, `phase` and
    `reason` the contract's."""
    fastapi_endpoints = {strategy.label for strategy in CONTRACT.fastapi_strategies} | {CONTRACT.other_endpoint}
    for name, labels, _ in samples(scrape):
        metric = family_of(name)
        for label, value in labels.items():
            allowed = CONTRACT.label_values(label, metric)
            assert allowed is None or value in allowed, (name, label, value, allowed)
            if label == "endpoint":
                assert value in fastapi_endpoints, (name, value)


#: The histograms in seconds take lab-core's latency buckets; the one in bytes has its own.
LATENCY_HISTOGRAMS = [m.name for m in CONTRACT.server_metrics if m.kind == "histogram" and m.name.endswith("_seconds")]
BODY_SIZE_HISTOGRAM = CONTRACT.metric("http_server_request_body_size_bytes").name


def test_every_histogram_is_a_latency_or_the_body_size_one() -> None:
    """The split above leaves no contract histogram unchecked."""
    histograms = {m.name for m in CONTRACT.server_metrics if m.kind == "histogram"}
    assert histograms == {*LATENCY_HISTOGRAMS, BODY_SIZE_HISTOGRAM}
    assert LATENCY_HISTOGRAMS


@pytest.mark.parametrize("name", LATENCY_HISTOGRAMS)
def test_latency_histograms_use_lab_core_buckets(scrape: str, name: str) -> None:
    """Every latency histogram's bounds equal the contract's, so quantiles compare with lab-server's."""
    series = bucket_bounds(scrape, name)
    assert series, f"no {name} in the scrape"
    for labels, bounds in series.items():
        assert bounds == list(CONTRACT.latency_buckets_seconds), labels


def test_body_sizes_use_the_servers_buckets_and_split_at_the_size_classes(scrape: str) -> None:
    """The body-size histogram's bounds are the contract's, and the body sizes that separate
    the size classes are bounds, so a size class is a sum of whole buckets."""
    bounds = bucket_bounds(scrape, BODY_SIZE_HISTOGRAM)
    assert bounds
    for each in bounds.values():
        assert each == list(CONTRACT.body_size_buckets_bytes)
        assert set(CONTRACT.size_class_limits) <= set(each)


def test_the_series_carry_lab_server_names_and_labels(scrape: str) -> None:
    """The series count what they should, under the contract's labels and values."""
    pong, ping = CONTRACT.strategy("/pong").label, CONTRACT.strategy("/ping").label
    small, parse = CONTRACT.size_classes[0], CONTRACT.phase("parse")
    not_found = str(CONTRACT.server_error("not_found").status)
    assert value(scrape, "http_server_request_duration_seconds_count", endpoint=pong, size_class=small, status="200") == 1
    assert value(scrape, "http_server_request_duration_seconds_count", endpoint=CONTRACT.other_endpoint,
                 size_class=small, status=not_found) == 1
    assert value(scrape, "lab_server_phase_duration_seconds_count", endpoint=pong, phase=parse) >= 1
    assert value(scrape, "http_server_active_requests", endpoint=ping) == 0
    # /metrics itself is being served while the gauge is read: it is not a strategy endpoint.
    assert value(scrape, "lab_server_requests_total", worker="0") == len(ENDPOINTS)
    assert value(scrape, "lab_server_workers") == 1
    assert value(scrape, "lab_server_keep_alive_seconds") == 5
    assert value(scrape, "lab_server_uploads_cut_off_total", reason=CONTRACT.cut_off_reason("too_large")) == 0
    assert value(scrape, "lab_server_event_loop_lag_seconds_count", worker="0") > 0


def test_connections_are_counted_per_worker(server: Server) -> None:
    """lab_server_connections_total counts TCP connections: 3 fresh ones add 3, keep-alive adds 1."""

    def connections() -> float:
        return value(httpx.get(f"{server.url}/metrics").text, "lab_server_connections_total", worker="0")

    before = connections()
    for _ in range(3):
        httpx.get(f"{server.url}/healthz")
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            client.get("/healthz")
    # 3 fresh connections, 1 shared by three requests, 1 for the scrape that reads the count.
    assert connections() - before == 3 + 1 + 1


def test_a_parse_on_the_loop_shows_as_event_loop_lag(server: Server, five_mb_body: bytes) -> None:
    """While /pong parses 5 MB the lag probe cannot wake: its lag grows by about that time."""

    def lag_sum() -> float:
        return value(httpx.get(f"{server.url}/metrics").text, "lab_server_event_loop_lag_seconds_sum", worker="0")

    before = lag_sum()
    profiling = httpx.post(f"{server.url}/pong", content=five_mb_body, headers=JSON, timeout=60).json()["profiling"]
    blocked_ms = profiling["parse"] + profiling["compute"] + profiling["drop"]
    assert (lag_sum() - before) * 1e3 >= 0.5 * blocked_ms, profiling

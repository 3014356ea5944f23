"""The three ways to handle a study body, as the study wrote them, the floor they are measured
against, and what they share.

| endpoint   | reads the body          | parses with                  | parses on        |
|------------|-------------------------|------------------------------|------------------|
| `/ping`    | FastAPI (`request.body`)| json + pydantic (typed model)| the event loop   |
| `/pong`    | chunk by chunk          | orjson + a plain-Python check| the event loop   |
| `/offload` | chunk by chunk          | orjson + a plain-Python check| a thread         |
| `/drain`   | chunk by chunk, thrown away | nothing (the floor)      | n/a              |

`/pong` and `/offload` differ only in *where* the parse runs. Every endpoint answers
`{name, count, maxval, elapsed_server, profiling, worker}` (lab-core's `LabResponse`):
`count` is the number of distinct keys (a repeated key counts once and keeps its last value,
as a Python dict does), `maxval` the largest value (0 for empty `data`).

The body must be lab-server's shape exactly, so both servers give the same status to the
same body: `data`'s values are integers within i64, with no coercion (the study's plain
`dict[str, int]` would also take `"7"`, `7.0` and `true`). Every endpoint reads its JSON
through `parsing.py`, so the three give one answer to every body; where that answer still
differs from lab-server's, `services/core/contract/conformance.json` marks the case and says
why (the FastAPI README lists them).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from . import metrics
from .errors import LabError, json_response
from .parsing import orjson_loads, ping_loads
from .gate import declared_length
from .observe import request_started
from .worker import current_index

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1

#: Phase: receiving the body from the socket (async: the loop serves others meanwhile).
READ_BODY = "read_body"
#: Phase: /offload only, waiting for a free thread.
BLOCKING_WAIT = "blocking_wait"
#: Phase: turning bytes into a name and a checked dict.
PARSE = "parse"
#: Phase: counting the keys and finding the largest value.
COMPUTE = "compute"
#: Phase: freeing the dict (1.25 million entries for 25 MB: not free, and it holds the GIL).
DROP = "drop"


class StudyBody(BaseModel):
    """The study's typed request body, strict: an integer must be a JSON integer in i64."""

    model_config = ConfigDict(strict=True)

    name: str
    data: dict[str, Annotated[int, Field(strict=True, ge=I64_MIN, le=I64_MAX)]]


class PingRequest(Request):
    """/ping's request: FastAPI reads and validates its body as for any typed endpoint, but
    decodes the JSON with `parsing.ping_loads` (the same json module, held to the rules the
    other endpoints follow) instead of a bare `json.loads`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = ping_loads(await self.body())
        return self._json


class PingRoute(APIRoute):
    """/ping's route: hands FastAPI a `PingRequest`. The gate has accepted the request as
    JSON (any `json` or `+json` subtype, `text/json` too, as lab-server accepts it); FastAPI
    decodes only `application/…` types, so the content type is handed on as
    `application/json`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def handle_as_json(request: Request) -> Response:
            scope = dict(request.scope)
            scope["headers"] = [
                (name, b"application/json" if name == b"content-type" else value)
                for name, value in request.scope["headers"]
            ]
            return await handle(PingRequest(scope, request.receive))

        return handle_as_json


class Profile:
    """Phase timings of one request: returned in `profiling` (ms) and recorded in
    `lab_server_phase_duration_seconds{endpoint,phase}`."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.phases: dict[str, float] = {}

    def record(self, phase: str, seconds: float) -> None:
        """Records that `phase` took `seconds`."""
        metrics.phase_duration.labels(endpoint=self.endpoint, phase=phase).observe(seconds)
        self.phases[phase] = seconds * 1e3


def summarize(data: dict[str, int]) -> tuple[int, int]:
    """`(count, maxval)` of a study body's data, in plain Python."""
    return len(data), max(data.values(), default=0)


def lab_response(request: Request, name: str, count: int, maxval: int, profiling: dict[str, float]) -> Response:
    """The 200 answer, with `elapsed_server` in whole ms since the worker got to the request."""
    elapsed_ms = int((time.perf_counter() - request_started(request.scope)) * 1e3)
    return json_response(
        {
            "name": name,
            "count": count,
            "maxval": maxval,
            "elapsed_server": elapsed_ms,
            "profiling": profiling,
            "worker": current_index(),
        }
    )


async def ping(body: StudyBody, request: Request) -> Response:
    """The naive baseline: FastAPI reads the whole body, parses it with the standard json
    module and validates it into the typed model, all on the event loop before this line
    runs. While a 25 MB body is parsed, every other request on this worker waits."""
    count, maxval = summarize(body.data)
    return lab_response(request, body.name, count, maxval, {})


async def pong(request: Request) -> Response:
    """The study's hand-rolled version, profiled: reads the body chunk by chunk (the loop
    serves others while bytes arrive), then parses with orjson, checks, counts and frees on
    the loop, timing each phase. The profile shows where a 25 MB request's time goes."""
    profile = Profile("pong")
    body = await read_body(request, profile)
    name, count, maxval = parse_compute_drop(body, profile)
    return lab_response(request, name, count, maxval, profile.phases)


async def offload(request: Request) -> Response:
    """Same work, another thread: reads like /pong, then runs the very same parse, check,
    count and free in the thread pool (`run_in_threadpool`), so the event loop is free to
    run while it waits. Free, but not idle: the GIL decides what that buys. orjson holds
    the GIL for the whole parse, so the loop still stalls for that long, and gets only
    slices of the rest; in Rust (no GIL) the same move frees the loop completely. Compare the
    event-loop lag of /pong and /offload to see how much it buys. Bodies under OFFLOAD_MIN_KB
    are parsed on the loop; `blocking_wait` is the time spent waiting for a free thread."""
    profile = Profile("offload")
    body = await read_body(request, profile)
    settings = request.app.state.settings
    if len(body) < settings.offload_min_bytes:
        name, count, maxval = parse_compute_drop(body, profile)
    else:
        queued = time.perf_counter()

        def in_a_thread() -> tuple[str, int, int]:
            profile.record(BLOCKING_WAIT, time.perf_counter() - queued)
            return parse_compute_drop(body, profile)

        name, count, maxval = await run_in_threadpool(in_a_thread)
    del body
    return lab_response(request, name, count, maxval, profile.phases)


async def drain(request: Request) -> Response:
    """The floor: reads the body chunk by chunk, at the pace every endpoint reads it, and throws
    each chunk away. What receiving the upload costs before any parse; each endpoint's time over
    this one's is what its own work costs. Answers `count` and `maxval` 0 and an empty `name`
    (nothing was parsed to know them), with `read_body` in `profiling`."""
    profile = Profile("drain")
    started = time.perf_counter()
    try:
        async for _chunk in request.stream():
            pass
    except ClientDisconnect:
        raise LabError.body_read_failed("the client went away before the end of the body") from None
    profile.record(READ_BODY, time.perf_counter() - started)
    return lab_response(request, "", 0, 0, profile.phases)


async def read_body(request: Request, profile: Profile) -> bytearray:
    """Reads the body chunk by chunk into one bytearray (the gate counts it against
    MAX_BODY_MB, BODY_BUDGET_MB and BODY_IDLE_TIMEOUT) and records the `read_body` phase.
    With a Content-Length the bytearray is sized once and filled in place, so the body is
    held once; a list of chunks joined at the end would hold it twice at the join. A chunked
    body grows the bytearray as it arrives. orjson parses a bytearray as it is: no copy."""
    started = time.perf_counter()
    declared = declared_length(request.headers)
    body = bytearray(declared) if declared is not None else bytearray()
    filled = 0
    try:
        async for chunk in request.stream():
            if declared is not None:
                body[filled : filled + len(chunk)] = chunk
                filled += len(chunk)
            else:
                body += chunk
    except ClientDisconnect:
        raise LabError.body_read_failed("the client went away before the end of the body") from None
    if declared is not None and filled != declared:
        # The HTTP parser ends a body at its Content-Length, so only a disconnect gets here.
        raise LabError.body_read_failed(f"{filled} of {declared} declared bytes arrived")
    profile.record(READ_BODY, time.perf_counter() - started)
    return body


def parse_compute_drop(body: bytes | bytearray, profile: Profile) -> tuple[str, int, int]:
    """Parse, compute and drop, each timed; runs on whichever thread calls it."""
    started = time.perf_counter()
    name, data = parse_study_body(body)
    profile.record(PARSE, time.perf_counter() - started)

    started = time.perf_counter()
    count, maxval = summarize(data)
    profile.record(COMPUTE, time.perf_counter() - started)
    if maxval > I64_MAX:
        # orjson reads integers up to u64; anything above i64 is the wrong shape, as in Rust.
        raise LabError.wrong_shape(f"data: an integer is outside i64 ({maxval})")

    started = time.perf_counter()
    del data
    profile.record(DROP, time.perf_counter() - started)
    return name, count, maxval


def _beyond_a_double(value: object) -> bool:
    """Whether `value` is a number no double holds (`1e400`, 400 digits): `parsing` reads it
    as infinity, and serde_json refuses it as not JSON (400) where it reads the value."""
    return type(value) is float and math.isinf(value)


def parse_study_body(body: bytes | bytearray) -> tuple[str, dict[str, int]]:
    """`(name, data)` of a study body, parsed by orjson (`parsing.orjson_loads`) and checked
    in plain Python: the shape /ping's model enforces, so both give the same status to the
    same body. orjson reads integers outside i64 below and outside u64 above as floats,
    which the check refuses. As /ping's errors are all looked at, a number beyond a double as
    the document, the name, `data` or one of its values is a 400 before any other problem is
    a 422."""
    document = orjson_loads(body)
    if _beyond_a_double(document):
        raise LabError.malformed_json("a number beyond a double is not JSON (infinity)")
    if not isinstance(document, dict):
        raise LabError.wrong_shape(f"expected an object {{name, data}}, got {type(document).__name__}")
    name, data = document.get("name"), document.get("data")
    # One pass in C over the values' types: bool is a subclass of int, so `type` not isinstance.
    all_integers = type(data) is dict and set(map(type, data.values())) <= {int}
    values = data.values() if type(data) is dict and not all_integers else ()
    if _beyond_a_double(name) or _beyond_a_double(data) or any(map(_beyond_a_double, values)):
        raise LabError.malformed_json("a number beyond a double is not JSON (infinity)")
    for field in ("name", "data"):
        if field not in document:
            raise LabError.wrong_shape(f"missing field `{field}`")
    del document
    if type(name) is not str:
        raise LabError.wrong_shape(f"name: expected a string, got {type(name).__name__}")
    if type(data) is not dict:
        raise LabError.wrong_shape(f"data: expected an object, got {type(data).__name__}")
    if not all_integers:
        key, value = next((k, v) for k, v in data.items() if type(v) is not int)
        raise LabError.wrong_shape(f"data.{key}: expected an integer in i64, got {type(value).__name__}")
    return name, data


#: The strategy handlers, by path.
HANDLERS: dict[str, Callable[..., Awaitable[Response]]] = {
    "/ping": ping,
    "/pong": pong,
    "/offload": offload,
    "/drain": drain,
}

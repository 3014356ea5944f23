"""Every way a request can fail, each with lab-server's kind and status, as JSON
`{"error": kind, "message": text}` (see services/server/src/error.rs).

| error                    | status | when                                                     |
|--------------------------|--------|----------------------------------------------------------|
| `malformed_json`         | 400    | not JSON (syntax error, truncated, trailing data, empty) |
| `wrong_shape`            | 422    | valid JSON, wrong shape: missing field, string, bool or  |
|                          |        | float value, integer outside i64                         |
| `body_read_failed`       | 400    | the client stopped sending mid-body                      |
| `body_read_timeout`      | 408    | no body byte for BODY_IDLE_TIMEOUT seconds, or the body  |
|                          |        | arrives slower than BODY_MIN_RATE_KB                     |
| `body_too_large`         | 413    | the body is larger than MAX_BODY_MB                      |
| `unsupported_media_type` | 415    | Content-Type missing or not JSON, or a compressed body   |
| `server_busy`            | 503    | the body and its parse do not fit BODY_BUDGET_MB's rest  |
| `malformed_request`      | 400    | a request head the server cannot read, or framed with a  |
|                          |        | Transfer-Encoding but exactly `chunked` (connections.py) |
| `not_found`              | 404    | unknown path                                             |
| `method_not_allowed`     | 405    | known path, wrong method                                 |
| `internal`               | 500    | a bug: never for bad input, and never with a traceback   |

FastAPI raises its own exceptions for some of these (404, 405, a 400 when reading /ping's body
failed, and `RequestValidationError` for /ping's typed body); the handlers here turn each into
the same answer lab-server gives. /ping's JSON is decoded by `parsing.ping_loads`, which raises
a `LabError` itself, so FastAPI's 400 is left to a body read that failed: a client that went
away is `body_read_failed`, anything else `malformed_json`.
"""

from __future__ import annotations

import logging
import math

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response

#: Longest message sent back, in characters: a parser message may quote a huge value.
MAX_MESSAGE_CHARS = 300

logger = logging.getLogger("labfastapi")


def shortened(message: str) -> str:
    """`message` cut to about `MAX_MESSAGE_CHARS`, keeping its end (where the position is)."""
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return f"{message[: MAX_MESSAGE_CHARS // 2]} … {message[-MAX_MESSAGE_CHARS // 3 :]}"


class LabError(HTTPException):
    """A request that gets an error answer. An `HTTPException`, so FastAPI lets it through
    unchanged even when it is raised while FastAPI itself reads /ping's body."""

    def __init__(self, status: int, kind: str, message: str, *, close: bool = False) -> None:
        headers = {"connection": "close"} if close else None
        super().__init__(status_code=status, detail=shortened(message), headers=headers)
        self.kind = kind

    @classmethod
    def malformed_json(cls, message: str) -> LabError:
        """Not JSON at all; the message is the parser's, with line and column."""
        return cls(400, "malformed_json", message)

    @classmethod
    def wrong_shape(cls, message: str) -> LabError:
        """Valid JSON of the wrong shape."""
        return cls(422, "wrong_shape", message)

    @classmethod
    def body_read_failed(cls, message: str) -> LabError:
        """The body stream broke before its end."""
        return cls(400, "body_read_failed", f"reading the request body failed: {message}")

    @classmethod
    def body_too_large(cls, limit_bytes: int) -> LabError:
        """The body is larger than MAX_BODY_MB. The connection closes after the answer: the
        rest of the body may still be on its way."""
        return cls(
            413,
            "body_too_large",
            f"request body is larger than the limit of {limit_bytes} bytes",
            close=True,
        )

    @classmethod
    def body_read_timeout(cls, why: str) -> LabError:
        """The client stalled (BODY_IDLE_TIMEOUT) or trickled (BODY_MIN_RATE_KB): the
        connection closes after the answer."""
        return cls(408, "body_read_timeout", f"reading the request body timed out: {why}", close=True)

    @classmethod
    def unsupported_media_type(cls, message: str) -> LabError:
        """The request is not plain JSON."""
        return cls(415, "unsupported_media_type", message)

    @classmethod
    def server_busy(cls, needed: int, left: int, *, close: bool) -> LabError:
        """The body and its parse do not fit what is left of this worker's BODY_BUDGET_MB
        share; `close` when the rest of the body may still be on its way."""
        return cls(
            503,
            "server_busy",
            f"the server is busy: this request needs {needed} bytes of its body budget, "
            f"{left} are left (BODY_BUDGET_MB); retry later",
            close=close,
        )

    def response(self) -> Response:
        """The JSON answer."""
        return error_response(self.status_code, self.kind, str(self.detail), self.headers)


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` serialized by orjson (every answer of this server goes through here)."""
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """`{"error": kind, "message": message}` with `status`."""
    return json_response({"error": kind, "message": message}, status, headers)


async def _http_exception(request: Request, error: StarletteHTTPException) -> Response:
    if isinstance(error, LabError):
        return error.response()
    headers = dict(error.headers or {})
    if error.status_code == 404:
        return error_response(404, "not_found", f"no route for {request.method} {request.url.path}", headers)
    if error.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
        return error_response(405, "method_not_allowed", message, headers)
    if error.status_code == 400:
        # FastAPI's answer when reading or decoding /ping's body raised; the cause says which.
        cause = error.__cause__
        if isinstance(cause, ClientDisconnect):
            return LabError.body_read_failed("the client went away before the end of the body").response()
        what = f"{type(cause).__name__}: {cause}" if cause is not None else str(error.detail)
        return LabError.malformed_json(what).response()
    # No other HTTPException is raised on this server's paths: one would be a bug, and it gets
    # a bug's answer, as lab-server answers only with the lab's error kinds.
    logger.error("unexpected HTTP %s on %s %s: %s", error.status_code, request.method, request.url.path, error.detail)
    return error_response(500, "internal", f"internal error: HTTP {error.status_code}")


def _not_json_number(value: object) -> str | None:
    """Why `value`, as Python's json module read it, is a number the other parsers refuse
    outright (400, not 422), or None. json reads `1e400` as inf, and integers of any size,
    where serde_json and orjson fall back to a double and refuse one that overflows it
    (`number out of range`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a JSON number"
    if type(value) is int:
        try:
            float(value)
        except OverflowError:
            return f"an integer of {len(str(abs(value)))} digits is out of range (infinity as a double)"
    return None


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    """/ping's typed body: FastAPI says 422 for everything; lab-server says 400 for a number
    beyond a double and for an empty body (which FastAPI does not decode), and 422 for JSON of
    the wrong shape. Every error is looked at, not only the first: a body with a string value
    before a `1e400` is still not JSON."""
    errors = error.errors()
    first = errors[0] if errors else {}
    for each in errors:
        why = _not_json_number(each.get("input"))
        if why is not None:
            return LabError.malformed_json(why).response()
    if request.scope.get("lab.body_bytes", 0) == 0:
        return LabError.malformed_json("EOF while parsing a value at line 1 column 0 (empty body)").response()
    location = ".".join(str(part) for part in first.get("loc", ()))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return LabError.wrong_shape(f"{location}: {first.get('msg', 'invalid')}{more}").response()


async def _unexpected(request: Request, error: Exception) -> Response:
    """A bug, not bad input: logged with its traceback here, answered without it."""
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, "internal", f"internal error: {type(error).__name__}")


def install(app: FastAPI) -> None:
    """Registers the handlers that give every error lab-server's JSON body."""
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)

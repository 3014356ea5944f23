"""Every way a request can fail, each with lab-server's kind and status, as JSON
`{"error": kind, "message": text}` (see services/server/src/error.rs).

| error                    | status | when                                                     |
|--------------------------|--------|----------------------------------------------------------|
| `malformed_json`         | 400    | not JSON (syntax error, truncated, trailing data, empty) |
| `wrong_shape`            | 422    | valid JSON, wrong shape: missing field, string, bool or  |
|                          |        | float value, integer outside i64                         |
| `body_read_failed`       | 400    | the client stopped sending mid-body                      |
| `body_too_large`         | 413    | the body is larger than MAX_BODY_MB                      |
| `unsupported_media_type` | 415    | Content-Type missing or not JSON, or a compressed body   |
| `not_found`              | 404    | unknown path                                             |
| `method_not_allowed`     | 405    | known path, wrong method                                 |
| `internal`               | 500    | a bug: never for bad input, and never with a traceback   |

FastAPI raises its own exceptions for some of these (404, 405, and `RequestValidationError`
for /ping's typed body); the handlers here turn each into the same answer lab-server gives.
"""

from __future__ import annotations

import logging
import math

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
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
    def unsupported_media_type(cls, message: str) -> LabError:
        """The request is not plain JSON."""
        return cls(415, "unsupported_media_type", message)

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
        # FastAPI's answer when reading /ping's body failed (the client went away).
        return error_response(400, "body_read_failed", f"reading the request body failed: {error.detail}", headers)
    return error_response(error.status_code, f"http_{error.status_code}", str(error.detail), headers)


def _line_and_column(document: object, position: object) -> str:
    """`line L column C` of a character position, as the other parsers say it."""
    if not isinstance(document, str) or not isinstance(position, int):
        return f"char {position}"
    line = document.count("\n", 0, position) + 1
    column = position - (document.rfind("\n", 0, position) + 1) + 1
    return f"line {line} column {column} (char {position})"


async def _validation_error(request: Request, error: RequestValidationError) -> Response:
    """/ping's typed body: FastAPI says 422 for everything; lab-server says 400 for what is
    not JSON (including an empty body) and 422 for JSON of the wrong shape."""
    errors = error.errors()
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        context = first.get("ctx") or {}
        position = (first.get("loc") or ("body", None))[-1]
        where = _line_and_column(error.body, position)
        return LabError.malformed_json(f"{context.get('error', 'invalid JSON')} at {where}").response()
    if isinstance(first.get("input"), float) and not math.isfinite(first["input"]):
        # Python's json module reads NaN and Infinity, which are not JSON; the others refuse.
        return LabError.malformed_json(f"{first['input']} is not a JSON value").response()
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

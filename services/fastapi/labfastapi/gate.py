"""The checks every strategy request passes before its body is read, in one place so the
three endpoints give the same answer to the same request (as lab-server's `gate.rs`):

1. Content-Type must be JSON (`application/json` or any `+json` type; charset allowed):
   wrong or missing → 415. A compressed body (Content-Encoding other than identity) → 415.
2. A declared Content-Length over MAX_BODY_MB → 413, before the handler runs.
3. The body is counted as it arrives (chunked bodies declare no length): past MAX_BODY_MB
   the next read raises a 413 `LabError`, in /ping's framework read as in /pong's stream.

A 413 carries `connection: close`. Before it is sent, what the client is still sending is
read and thrown away for up to `DRAIN_SECONDS`, so that the client, which typically reads the
answer only once it has sent its body, finds the answer rather than a reset connection (a
socket closed with unread data resets). A client that sent `Expect: 100-continue` has sent
nothing yet: it gets the 413 at once and never sends the body.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .errors import LabError

#: The paths whose POST bodies the gate checks.
STRATEGY_PATHS = frozenset(f"/{endpoint}" for endpoint in metrics.ENDPOINTS)
#: How long a refused body is read and thrown away, at most, before the 413 goes out.
DRAIN_SECONDS = 5.0
#: The request-scope key where the gate keeps the body bytes read so far.
BODY_BYTES_KEY = "lab.body_bytes"


def declared_length(headers: Headers) -> int | None:
    """The Content-Length the client declared (the HTTP parser has already refused a
    malformed one)."""
    raw = headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


def plain_json_problem(headers: Headers) -> LabError | None:
    """A 415 unless the request says it is JSON and is not compressed."""
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    subtype = media_type.partition("/")[2]
    if not (subtype == "json" or subtype.endswith("+json")):
        return LabError.unsupported_media_type(
            "Content-Type must be application/json (or another +json type)"
        )
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding != "identity":
        return LabError.unsupported_media_type("compressed bodies (Content-Encoding) are not accepted")
    return None


class UploadGate:
    """ASGI middleware for the strategy endpoints (see the module docs)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in STRATEGY_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope[BODY_BYTES_KEY] = 0
        problem = plain_json_problem(headers)
        declared = declared_length(headers)
        if problem is None and declared is not None and declared > self.max_body_bytes:
            problem = self._too_large()
            if "100-continue" not in headers.get("expect", "").lower():
                await _drain(receive)
        if problem is not None:
            await problem.response()(scope, receive, send)
            return

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                scope[BODY_BYTES_KEY] += len(message.get("body", b""))
                if scope[BODY_BYTES_KEY] > self.max_body_bytes:
                    if message.get("more_body", False):
                        await _drain(receive)
                    raise self._too_large()
            return message

        await self.app(scope, counted_receive, send)

    def _too_large(self) -> LabError:
        metrics.uploads_cut_off.labels(reason="too_large").inc()
        return LabError.body_too_large(self.max_body_bytes)


async def _drain(receive: Receive) -> None:
    """Reads and discards the rest of the body, for at most DRAIN_SECONDS."""
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while True:
                message = await receive()
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return
    except TimeoutError:
        return

"""The checks every strategy request passes before its body is read, in one place so the
three endpoints give the same answer to the same request (as lab-server's `gate.rs`):

1. Content-Type must be JSON (`application/json` or any `+json` type; charset allowed):
   wrong or missing → 415. A compressed body (Content-Encoding other than identity) → 415.
2. A declared Content-Length over MAX_BODY_MB → 413, before the handler runs.
3. A declared Content-Length is charged to this worker's BODY_BUDGET_MB share (budget.py)
   before the handler runs: what does not fit → 503 `server_busy`.

Then the handler reads the body through the gate's guarded `receive`, which, for /ping's
framework read as for /pong's stream, raises a `LabError` that becomes the answer:

4. No body byte for BODY_IDLE_TIMEOUT seconds → 408 `body_read_timeout`.
5. The body is counted as it arrives (chunked bodies declare no length): past MAX_BODY_MB
   → 413; a chunked body is charged to the budget chunk by chunk → 503 when it no longer fits.
6. When the last byte has arrived, before anything parses it, the parse's memory bound is
   charged (budget.py) → 503 when it does not fit.

Everything the request charged is released once the handler has answered.

A 408, a 413 and a 503 given before the body's end carry `connection: close`. Before a 413
or 503 is sent, what the client is still sending is read and thrown away for up to
`DRAIN_SECONDS`, so that the client, which typically reads the answer only once it has sent
its body, finds the answer rather than a reset connection (a socket closed with unread data
resets). A client that sent `Expect: 100-continue` has sent nothing yet: it gets the answer at
once and never sends the body.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .budget import BODY_COPIES, BodyBudget, BodyShape
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
    # isdigit alone takes other scripts' digits (`²`, `٣`), which int() then refuses or reads.
    return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None


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

    def __init__(self, app: ASGIApp, max_body_bytes: int, budget: BodyBudget, idle_timeout: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.budget = budget
        #: BODY_IDLE_TIMEOUT in seconds; 0 = no limit.
        self.idle_timeout = idle_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in STRATEGY_PATHS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope[BODY_BYTES_KEY] = 0
        copies = BODY_COPIES[scope["path"][1:]]
        declared = declared_length(headers)
        charged = 0
        try:
            problem = plain_json_problem(headers)
            if problem is None and declared is not None:
                if declared > self.max_body_bytes:
                    problem = self._too_large()
                elif self.budget.try_charge(copies * declared):
                    charged += copies * declared
                else:
                    problem = self._over_budget(copies * declared, close=True)
                if problem is not None and "100-continue" not in headers.get("expect", "").lower():
                    await _drain(receive)
            if problem is not None:
                await problem.response()(scope, receive, send)
                return

            shape = BodyShape()
            complete = False

            async def guarded_receive() -> Message:
                nonlocal charged, complete
                if complete:
                    return await receive()
                message = await self._next_message(receive)
                if message["type"] != "http.request":
                    return message
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                scope[BODY_BYTES_KEY] += len(chunk)
                if scope[BODY_BYTES_KEY] > self.max_body_bytes:
                    if more:
                        await _drain(receive)
                    raise self._too_large()
                shape.feed(chunk)
                if declared is None and chunk:
                    if not self.budget.try_charge(copies * len(chunk)):
                        if more:
                            await _drain(receive)
                        raise self._over_budget(copies * len(chunk), close=more)
                    charged += copies * len(chunk)
                if not more:
                    complete = True
                    parse = shape.parse_memory()
                    if not self.budget.try_charge(parse):
                        raise self._over_budget(parse, close=False)
                    charged += parse
                return message

            await self.app(scope, guarded_receive, send)
        finally:
            self.budget.release(charged)

    async def _next_message(self, receive: Receive) -> Message:
        """The next message, within BODY_IDLE_TIMEOUT when there is one."""
        if not self.idle_timeout:
            return await receive()
        try:
            async with asyncio.timeout(self.idle_timeout):
                return await receive()
        except TimeoutError:
            metrics.uploads_cut_off.labels(reason="idle").inc()
            raise LabError.body_read_timeout(self.idle_timeout) from None

    def _too_large(self) -> LabError:
        metrics.uploads_cut_off.labels(reason="too_large").inc()
        return LabError.body_too_large(self.max_body_bytes)

    def _over_budget(self, needed: int, *, close: bool) -> LabError:
        metrics.uploads_cut_off.labels(reason="over_budget").inc()
        left = max(self.budget.capacity - self.budget.in_use, 0)
        return LabError.server_busy(needed, left, close=close)


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

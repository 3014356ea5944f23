"""The checks every strategy request passes before its body is read, in one place so the
three endpoints give the same answer to the same request (as lab-server's `gate.rs`):

1. Content-Type must be JSON (`application/json` or any `+json` type; charset allowed):
   wrong or missing → 415. A compressed body (Content-Encoding other than identity) → 415.
2. A declared Content-Length over MAX_BODY_MB → 413, before the handler runs.
3. A declared Content-Length is charged to this worker's BODY_BUDGET_MB share (budget.py)
   before the handler runs: what does not fit → 503 `server_busy`.

Then the handler reads the body through the gate's guarded `receive`, which, for /ping's
framework read as for /pong's stream, raises a `LabError` that becomes the answer:

4. No body byte for BODY_IDLE_TIMEOUT seconds, or, once a grace of BODY_IDLE_TIMEOUT seconds
   from the request head is spent, fewer body bytes than BODY_MIN_RATE_KB per second on
   average since the head → 408 `body_read_timeout` (`UploadClock`, lab-server's rule: a
   client trickling a byte every few seconds holds a connection and a budget charge for
   as long as it likes otherwise).
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
from .budget import BODY_COPIES, PARSES_BODY, BodyBudget, BodyShape
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


class UploadClock:
    """When an upload is cut off if no further byte arrives, and why: the earlier of
    BODY_IDLE_TIMEOUT after the last byte (`idle`) and the moment the bytes so far fall below
    BODY_MIN_RATE_KB on average, counted from the request head after a grace of
    BODY_IDLE_TIMEOUT (`too_slow`). The times are the event loop's (`loop.time()`)."""

    def __init__(self, now: float, idle_timeout: int, min_bytes_per_second: int) -> None:
        #: BODY_IDLE_TIMEOUT in seconds (0 = no limit, and no grace).
        self.idle_timeout = idle_timeout
        #: BODY_MIN_RATE_KB in bytes per second (0 = no minimum).
        self.min_bytes_per_second = min_bytes_per_second
        self.started = now
        self.last_byte = now
        self.received = 0

    def arrived(self, now: float, size: int) -> None:
        """`size` body bytes arrived at `now`."""
        if size:
            self.last_byte = now
            self.received += size

    def deadline(self) -> tuple[float, str] | None:
        """`(when, reason)` of the next cut-off, or None when there is no limit."""
        deadlines = []
        if self.idle_timeout:
            deadlines.append((self.last_byte + self.idle_timeout, "idle"))
        if self.min_bytes_per_second:
            earned = self.received / self.min_bytes_per_second
            deadlines.append((self.started + self.idle_timeout + earned, "too_slow"))
        return min(deadlines, default=None)

    def cut_off(self, reason: str) -> LabError:
        """The 408 for `reason`, with lab-server's message."""
        if reason == "idle":
            return LabError.body_read_timeout(f"no body byte arrived for {self.idle_timeout} s (BODY_IDLE_TIMEOUT)")
        return LabError.body_read_timeout(
            f"the body arrived slower than {self.min_bytes_per_second} bytes/s on average (BODY_MIN_RATE_KB)"
        )


class UploadGate:
    """ASGI middleware for the strategy endpoints (see the module docs)."""

    def __init__(
        self, app: ASGIApp, max_body_bytes: int, budget: BodyBudget, idle_timeout: int, min_bytes_per_second: int
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.budget = budget
        #: BODY_IDLE_TIMEOUT in seconds; 0 = no limit.
        self.idle_timeout = idle_timeout
        #: BODY_MIN_RATE_KB in bytes per second; 0 = no minimum.
        self.min_bytes_per_second = min_bytes_per_second

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in STRATEGY_PATHS:
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        # The clock starts here: the request head has been read.
        clock = UploadClock(loop.time(), self.idle_timeout, self.min_bytes_per_second)
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
                message = await _next_message(receive, clock)
                if message["type"] != "http.request":
                    return message
                chunk = message.get("body", b"")
                more = message.get("more_body", False)
                clock.arrived(loop.time(), len(chunk))
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
                    parse = shape.parse_memory() if scope["path"][1:] in PARSES_BODY else 0
                    if not self.budget.try_charge(parse):
                        raise self._over_budget(parse, close=False)
                    charged += parse
                return message

            await self.app(scope, guarded_receive, send)
        finally:
            self.budget.release(charged)

    def _too_large(self) -> LabError:
        metrics.uploads_cut_off.labels(reason="too_large").inc()
        return LabError.body_too_large(self.max_body_bytes)

    def _over_budget(self, needed: int, *, close: bool) -> LabError:
        metrics.uploads_cut_off.labels(reason="over_budget").inc()
        left = max(self.budget.capacity - self.budget.in_use, 0)
        return LabError.server_busy(needed, left, close=close)


async def _next_message(receive: Receive, clock: UploadClock) -> Message:
    """The next message, before the clock's deadline when there is one. A message already
    waiting is taken even past the deadline (the timeout fires only while this waits), as
    lab-server's guard lets a waiting chunk through before it looks at the clock."""
    deadline = clock.deadline()
    if deadline is None:
        return await receive()
    when, reason = deadline
    try:
        async with asyncio.timeout_at(when):
            return await receive()
    except TimeoutError:
        metrics.uploads_cut_off.labels(reason=reason).inc()
        raise clock.cut_off(reason) from None


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

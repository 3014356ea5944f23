"""The outermost middleware: measures every request and labels its response.

It starts the server-side clock when the worker gets to the request (headers parsed, body
not yet read), as lab-server's `observe.rs` does, so `elapsed_server` and the request-duration
histogram include reading and parsing the body, but not any time the request waited for a
busy event loop before that. It wraps the whole FastAPI app, error answers included, so
every response carries `x-worker-id`, echoes `x-request-id`, and (with KEEP_ALIVE=0)
`connection: close`.
"""

from __future__ import annotations

import time

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import metrics
from .gate import BODY_BYTES_KEY, declared_length
from .worker import current_index

#: Sent by the load generator with every request; echoed on the response.
REQUEST_ID_HEADER = "x-request-id"
#: Set on every response: the index of the worker that served it.
WORKER_ID_HEADER = "x-worker-id"
#: The request-scope key holding `time.perf_counter()` at the start of the request.
STARTED_KEY = "lab.started"


def request_started(scope: Scope) -> float:
    """When the worker got to this request (`time.perf_counter()`)."""
    return scope.get(STARTED_KEY) or time.perf_counter()


class ObserveRequests:
    """ASGI middleware (see the module docs)."""

    def __init__(self, app: ASGIApp, keep_alive_seconds: int) -> None:
        self.app = app
        self.close_connections = keep_alive_seconds == 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope[STARTED_KEY] = started
        worker = str(current_index())
        endpoint = metrics.endpoint_label(scope["path"])
        headers = Headers(scope=scope)
        request_id = headers.get(REQUEST_ID_HEADER)
        status = 500

        async def labelled_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                extra = [(WORKER_ID_HEADER.encode(), worker.encode())]
                if request_id is not None:
                    extra.append((REQUEST_ID_HEADER.encode(), request_id.encode("latin-1")))
                if self.close_connections:
                    extra.append((b"connection", b"close"))
                names = {name for name, _ in extra}
                kept = [(name, value) for name, value in message.get("headers", []) if name.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        active = metrics.active_requests.labels(endpoint=endpoint)
        active.inc()
        try:
            await self.app(scope, receive, labelled_send)
        finally:
            active.dec()
            elapsed = time.perf_counter() - started
            body_bytes = scope.get(BODY_BYTES_KEY) or declared_length(headers) or 0
            metrics.request_duration.labels(
                endpoint=endpoint, size_class=metrics.size_class(body_bytes), status=str(status)
            ).observe(elapsed)
            if endpoint != metrics.OTHER_ENDPOINT:
                metrics.request_body_size.labels(endpoint=endpoint).observe(body_bytes)
                metrics.requests_total.labels(worker=worker).inc()

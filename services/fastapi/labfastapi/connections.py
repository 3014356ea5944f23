"""Counting TCP connections per worker: the one thing ASGI cannot see.

An ASGI app sees requests, not connections. uvicorn lets the server name its HTTP protocol
class, so `CountingHttpTools` is uvicorn's own httptools protocol (the parser
`uvicorn[standard]` picks) plus one line: each new connection increments
`lab_server_connections_total{worker}`. With keep-alive, many requests share a connection;
with KEEP_ALIVE=0 each request opens one, and this counter shows it.

`LabUvicornWorker` is gunicorn's uvicorn worker class with the same protocol.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from . import metrics
from .worker import current_index

#: What the launcher passes as uvicorn's `http` setting.
HTTP_PROTOCOL = "labfastapi.connections:CountingHttpTools"


class CountingHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, counting each connection for the worker that got it."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        metrics.connections_total.labels(worker=str(current_index())).inc()
        super().connection_made(transport)


class LabUvicornWorker(UvicornWorker):
    """gunicorn's uvicorn worker (uvloop, and the counting httptools protocol)."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": "uvloop", "http": HTTP_PROTOCOL}

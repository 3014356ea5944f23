"""uvicorn's HTTP protocol as lab-server speaks it: the two things ASGI cannot see or do.

An ASGI app sees requests, not connections, and only once their head has been read. uvicorn
lets the server name its HTTP protocol class, so `LabHttpTools` is uvicorn's own httptools
protocol (the parser `uvicorn[standard]` picks) with two changes:

- **Connections are counted.** Each new connection increments
  `lab_server_connections_total{worker}`. With keep-alive, many requests share a connection;
  with KEEP_ALIVE=0 each request opens one, and this counter shows it.
- **A request is framed as lab-server frames it.** A body comes with a Content-Length or with
  exactly one `Transfer-Encoding: chunked` on HTTP/1.1, never both. Anything else (`gzip,
  chunked`, `chunked, chunked`, `identity`, two Transfer-Encoding headers, one beside a
  Content-Length, one on HTTP/1.0) lab-server's HTTP parser (actix's) refuses with 400 before
  its app runs, and closes the connection; httptools read some of them as chunked (a `gzip`
  before `chunked` ignored) and refused others with a text/plain 400. Here every one is refused
  right after its head, and every request httptools cannot parse gets the lab's JSON error,
  `malformed_request`, with `connection: close`, and the connection is closed.

`LabUvicornWorker` is gunicorn's uvicorn worker class with the same protocol.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from . import metrics
from .worker import current_index

#: What the launcher passes as uvicorn's `http` setting.
HTTP_PROTOCOL = "labfastapi.connections:LabHttpTools"
#: The error kind of a request whose head the server cannot read as HTTP/1.1.
MALFORMED_REQUEST = "malformed_request"


def framing_problem(headers: list[tuple[bytes, bytes]], http_version: str) -> str | None:
    """Why a request with these headers (names lower-cased) is refused as lab-server's HTTP
    parser refuses it, or None."""
    codings = [value for name, value in headers if name == b"transfer-encoding"]
    if not codings:
        return None
    if len(codings) > 1:
        return "more than one Transfer-Encoding header"
    if http_version != "1.1":
        return f"Transfer-Encoding in an HTTP/{http_version} request"
    if codings[0].strip().lower() != b"chunked":
        return f"Transfer-Encoding must be exactly `chunked`, not {codings[0].decode('latin-1')!r}"
    if any(name == b"content-length" for name, _ in headers):
        return "Transfer-Encoding and Content-Length together"
    return None


class RefusedHead(Exception):
    """Raised from the parser's callback to stop it: httptools then raises its own parse error,
    which uvicorn answers with `send_400_response`."""


class LabHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, counting connections and framing requests as lab-server."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        metrics.connections_total.labels(worker=str(current_index())).inc()
        super().connection_made(transport)

    def _framing_problem(self) -> str | None:
        """`framing_problem` of the request whose head is being read, if it has one."""
        try:
            return framing_problem(getattr(self, "headers", []), self.parser.get_http_version())
        except Exception:  # no head parsed yet: nothing to say about its framing
            return None

    def on_headers_complete(self) -> None:
        if self._framing_problem() is not None:
            raise RefusedHead
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """The 400 for a request head the server cannot read, as the lab's JSON error; the
        connection closes after it (uvicorn's own answer, with a JSON body). uvicorn calls it
        while it handles httptools' parse error, whose text says more than uvicorn's `msg`
        (some framings httptools refuses itself, before `on_headers_complete`)."""
        parse_error = sys.exc_info()[1]
        why = self._framing_problem() or (str(parse_error) if parse_error else "") or msg
        body = orjson.dumps({"error": MALFORMED_REQUEST, "message": why})
        content = [STATUS_LINE[400]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-worker-id: " + str(current_index()).encode("ascii") + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


class LabUvicornWorker(UvicornWorker):
    """gunicorn's uvicorn worker (uvloop, and the lab's httptools protocol)."""

    CONFIG_KWARGS: dict[str, Any] = {"loop": "uvloop", "http": HTTP_PROTOCOL}

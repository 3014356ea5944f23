"""Every bad request that is not about the body's JSON gets lab-server's JSON error: same kind,
same status, never a 500: limits, unknown paths and methods, clients that leave, headers, and
how a body is framed. What the body's JSON gets (400, 422, and 415 for a content type) is in the
conformance cases file, which `test_conformance.py` sends to every endpoint."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from conftest import CONTRACT, ENDPOINTS, HEALTH_PATH, MAX_BODY_MB, Server
from labfastapi.gate import declared_length
from starlette.datastructures import Headers

JSON = {"content-type": "application/json"}
OVER_LIMIT = MAX_BODY_MB * 1024 * 1024 + 512 * 1024


def assert_error(response: httpx.Response, kind: str) -> None:
    """`response` is lab-server's JSON error: the contract's status for `kind`,
    `{"error": kind, "message": …}`, and a message of at most about 300 characters (a parser's
    message may quote a huge value)."""
    assert response.status_code == CONTRACT.server_error(kind).status, response.text
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == kind, body
    assert 0 < len(body["message"]) <= 400


def raw_error(answer: bytes, kind: str) -> list[str]:
    """The same for an answer read off a raw socket: its status line has the contract's status
    for `kind`, its body is the JSON error of that kind; returns its header lines, lower-cased."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    assert status_line.startswith(f"HTTP/1.1 {CONTRACT.server_error(kind).status} "), answer[:300]
    error = json.loads(body)
    assert set(error) == {"error", "message"} and error["error"] == kind, error
    return [line.lower() for line in header_lines]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_over_the_limit_is_413(server: Server, path: str) -> None:
    """A body over MAX_BODY_MB with its Content-Length is 413, and the client reads the answer."""
    response = httpx.post(f"{server.url}{path}", content=b" " * OVER_LIMIT, headers=JSON, timeout=30)
    assert_error(response, "body_too_large")
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_is_stopped_once_it_passes_the_limit(server: Server, path: str) -> None:
    """A chunked body (no declared length) is counted as it arrives: past the limit, 413."""

    def chunks():
        for _ in range(OVER_LIMIT // 65536 + 1):
            yield b" " * 65536

    response = httpx.post(f"{server.url}{path}", content=chunks(), headers=JSON, timeout=30)
    assert "content-length" not in response.request.headers
    assert_error(response, "body_too_large")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_announced_large_body_is_refused_before_it_is_sent(server: Server, path: str) -> None:
    """With `Expect: 100-continue` and a length over the limit, 413 comes at once, no 100."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {OVER_LIMIT}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    assert "connection: close" in raw_error(answer, "body_too_large")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_client_that_leaves_mid_body_does_not_hurt_the_server(server: Server, path: str) -> None:
    """A client that sends half its body and closes leaves the server serving."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head + b'{"name":"x","data":{')
    assert httpx.get(f"{server.url}{HEALTH_PATH}").status_code == 200


#: Digits str.isdigit takes, as they arrive on the wire: `²` in latin-1 (how headers are
#: decoded), `٣` in UTF-8.
UNICODE_DIGITS = {"superscript two": "\u00b2".encode("latin-1"), "arabic-indic three": "\u0663".encode()}


@pytest.mark.parametrize("length", UNICODE_DIGITS.values(), ids=UNICODE_DIGITS.keys())
def test_a_content_length_of_unicode_digits_is_400(server: Server, length: bytes) -> None:
    """A Content-Length made of non-ASCII digits is 400 `malformed_request` (uvicorn's parser
    refuses it before the gate would see it), not a crash of the gate (500)."""
    head = (
        f"POST {ENDPOINTS[0]} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n".encode()
        + b"Content-Length: " + length + b"\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head + b"{}")
        answer = connection.recv(65536)
    raw_error(answer, "malformed_request")


def test_the_gate_reads_only_ascii_digits_as_a_length() -> None:
    """declared_length takes `123` and nothing that str.isdigit alone would take."""
    assert declared_length(Headers(raw=[(b"content-length", b"123")])) == 123
    for raw in [*UNICODE_DIGITS.values(), b"1\xb2", b"-1", b"+1", b""]:
        assert declared_length(Headers(raw=[(b"content-length", raw)])) is None, raw


def test_an_unknown_path_is_a_json_404(client: httpx.Client) -> None:
    """Unknown paths (a trailing slash too: no redirect) are 404 not_found in JSON."""
    assert_error(client.get("/nowhere"), "not_found")
    assert_error(client.post(f"{ENDPOINTS[0]}/", content=b"{}", headers=JSON), "not_found")


@pytest.mark.parametrize(
    "request_line",
    [*((method, path) for path in ENDPOINTS for method in ("GET", "PUT")), ("POST", HEALTH_PATH), ("DELETE", "/metrics")],
)
def test_a_known_path_with_the_wrong_method_is_a_json_405(client: httpx.Client, request_line: tuple) -> None:
    """A known path with the wrong method is 405 method_not_allowed in JSON."""
    method, path = request_line
    assert_error(client.request(method, path), "method_not_allowed")


def test_the_server_is_still_healthy_after_every_error(client: httpx.Client) -> None:
    """After all the bad input above, the server answers normally."""
    for path in ENDPOINTS:
        assert client.post(path, content=b'{"name":"ok","data":{"a":1}}', headers=JSON).status_code == 200


#: Transfer-Encoding shapes lab-server's HTTP parser (actix) refuses before its app sees the
#: request: anything but one `Transfer-Encoding: chunked` on HTTP/1.1 without Content-Length.
REFUSED_FRAMINGS = {
    "gzip, chunked": ("1.1", ["Transfer-Encoding: gzip, chunked"]),
    "chunked, chunked": ("1.1", ["Transfer-Encoding: chunked, chunked"]),
    "chunked, gzip": ("1.1", ["Transfer-Encoding: chunked, gzip"]),
    "identity, chunked": ("1.1", ["Transfer-Encoding: identity, chunked"]),
    "gzip": ("1.1", ["Transfer-Encoding: gzip"]),
    "identity": ("1.1", ["Transfer-Encoding: identity"]),
    "empty": ("1.1", ["Transfer-Encoding: "]),
    "chunked with a parameter": ("1.1", ["Transfer-Encoding: chunked;x=1"]),
    "two headers": ("1.1", ["Transfer-Encoding: gzip", "Transfer-Encoding: chunked"]),
    "two chunked headers": ("1.1", ["Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]),
    "with Content-Length": ("1.1", ["Transfer-Encoding: chunked", "Content-Length: 36"]),
    "on HTTP/1.0": ("1.0", ["Transfer-Encoding: chunked"]),
}
ACCEPTED_FRAMINGS = {"chunked": ["Transfer-Encoding: chunked"], "Chunked": ["Transfer-Encoding:  Chunked "]}
STUDY_BODY = b'{"name":"n","data":{"k":1}}'


def framed_exchange(server: Server, path: str, version: str, headers: list[str]) -> tuple[bytes, bool]:
    """Sends a JSON POST with `headers` and the body in one chunk; returns what the server sent
    within 5 s and whether it closed the connection."""
    head = f"POST {path} HTTP/{version}\r\nHost: test\r\nContent-Type: application/json\r\n"
    head += "".join(f"{header}\r\n" for header in headers) + "\r\n"
    chunked = f"{len(STUDY_BODY):x}\r\n".encode() + STUDY_BODY + b"\r\n0\r\n\r\n"
    answer, closed = b"", False
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(head.encode() + chunked)
        try:
            while chunk := connection.recv(65536):
                answer += chunk
            closed = True
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pass
    return answer, closed


@pytest.mark.parametrize("path", [*ENDPOINTS, HEALTH_PATH])
@pytest.mark.parametrize("framing", REFUSED_FRAMINGS)
def test_a_transfer_coding_other_than_chunked_is_400_and_closed(server: Server, framing: str, path: str) -> None:
    """As lab-server: any Transfer-Encoding but exactly `chunked` (one header, HTTP/1.1, no
    Content-Length) is 400 at once, with `connection: close`, and the connection is closed;
    here the answer is lab-server's JSON error too (`malformed_request`)."""
    version, headers = REFUSED_FRAMINGS[framing]
    answer, closed = framed_exchange(server, path, version, headers)
    assert "connection: close" in raw_error(answer, "malformed_request"), answer[:300]
    assert "Transfer-Encoding" in json.loads(answer.partition(b"\r\n\r\n")[2])["message"], answer
    assert closed, "the server kept the connection open"


@pytest.mark.parametrize("framing", ACCEPTED_FRAMINGS)
def test_exactly_chunked_is_read(server: Server, framing: str) -> None:
    """`Transfer-Encoding: chunked` (any case, spaces around) is read as usual."""
    answer, _ = framed_exchange(server, ENDPOINTS[0], "1.1", ACCEPTED_FRAMINGS[framing] + ["Connection: close"])
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:300]

"""BODY_BUDGET_MB and BODY_IDLE_TIMEOUT: lab-server's 503 `server_busy` and 408
`body_read_timeout`, and the parse-memory bound the budget charges (budget.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import SERVICE_DIR, Server, start, study_body
from labfastapi.budget import BodyShape
from test_errors import assert_error
from test_metrics import value

ENDPOINTS = ["/ping", "/pong", "/offload"]
JSON = {"content-type": "application/json"}
SMALL = b'{"name":"small","data":{"abcdefghij": 123}}'
#: More than the whole 1 MiB budget as a body.
TWO_MIB = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def tight() -> Iterator[Server]:
    """One worker with a 1 MiB body budget and a 1 s idle timeout."""
    running = start(BODY_BUDGET_MB=1, BODY_IDLE_TIMEOUT=1)
    yield running
    running.stop()


def raw_exchange(server: Server, request: bytes, wait_seconds: float = 10) -> bytes:
    """Sends `request` on a fresh connection and reads until the server closes it."""
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait_seconds) as connection:
        connection.sendall(request)
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_declared_body_over_the_budget_is_503_before_it_is_read(tight: Server, path: str) -> None:
    """A Content-Length that does not fit what is left of BODY_BUDGET_MB is 503 server_busy,
    with connection: close, and the client still reads the answer."""
    response = httpx.post(f"{tight.url}{path}", content=b" " * TWO_MIB, headers=JSON, timeout=30)
    assert_error(response, 503, "server_busy")
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_chunked_body_is_stopped_once_it_no_longer_fits(tight: Server, path: str) -> None:
    """A chunked body (no declared length) is charged as it arrives: past the budget, 503."""

    def chunks():
        for _ in range(TWO_MIB // 65536):
            yield b" " * 65536

    response = httpx.post(f"{tight.url}{path}", content=chunks(), headers=JSON, timeout=30)
    assert "content-length" not in response.request.headers
    assert_error(response, 503, "server_busy")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_whose_parse_does_not_fit_is_503(tight: Server, path: str) -> None:
    """A 200 KB study body fits the budget as bytes, but its parse (about 12 times that)
    does not: 503 once it has arrived, before anything parses it."""
    body = study_body("medium", 0.2)
    assert len(body) < 300_000
    assert_error(httpx.post(f"{tight.url}{path}", content=body, headers=JSON, timeout=30), 503, "server_busy")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_announced_body_over_the_budget_is_refused_before_it_is_sent(tight: Server, path: str) -> None:
    """With `Expect: 100-continue`, the 503 comes at once, without a 100."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {TWO_MIB}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    status_line, _, rest = raw_exchange(tight, head).partition(b"\r\n")
    assert status_line == b"HTTP/1.1 503 Service Unavailable", status_line
    assert b"connection: close" in rest.lower() and b'"server_busy"' in rest


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_upload_that_stops_sending_is_408_and_closed(tight: Server, path: str) -> None:
    """No body byte for BODY_IDLE_TIMEOUT (1 s): 408 body_read_timeout, connection closed."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    started = time.monotonic()
    answer = raw_exchange(tight, head + b'{"name":"x","data":{')
    assert 0.9 < time.monotonic() - started < 8
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer[:200]
    assert b"connection: close" in rest.lower() and b'"body_read_timeout"' in rest


def test_the_budget_is_released_and_shown(tight: Server) -> None:
    """After every refusal above, small requests still fit (nothing leaked), and /metrics
    shows the budget, nothing in use, and the cut-off uploads by reason."""
    for path in ENDPOINTS:
        assert httpx.post(f"{tight.url}{path}", content=SMALL, headers=JSON).status_code == 200
    scrape = httpx.get(f"{tight.url}/metrics").text
    assert value(scrape, "lab_server_body_budget_bytes") == 1024 * 1024
    assert value(scrape, "lab_server_body_budget_in_use_bytes") == 0
    assert value(scrape, "lab_server_uploads_cut_off_total", reason="over_budget") >= 9
    assert value(scrape, "lab_server_uploads_cut_off_total", reason="idle") >= 3


# Parses one body in a fresh process and prints its peak RSS growth (VmHWM, reset just before).
PEAK_SCRIPT = r"""
import json, sys
import orjson
from labfastapi.strategies import StudyBody
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024
body = sys.stdin.buffer.read()
if sys.argv[1] == "orjson":
    body = bytearray(body)
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")
before = status("VmRSS")
if sys.argv[1] == "orjson":
    parsed = orjson.loads(body)
else:
    document = json.loads(body)
    parsed = (document, StudyBody.model_validate(document))
print(status("VmHWM") - before)
"""


def peak_parse_memory(body: bytes, parser: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, parser], input=body, cwd=SERVICE_DIR, capture_output=True, timeout=120
    )
    assert done.returncode == 0, done.stderr.decode()
    return int(done.stdout)


def emoji_keys(pairs: int) -> bytes:
    """Keys with a character outside the BMP: CPython stores them 4 bytes per character."""
    data = ",".join(f'"\U0001f600{i:x}":1000' for i in range(pairs))
    return ('{"name":"e","data":{' + data + "}}").encode()


def empty_lists(items: int) -> bytes:
    """An unknown field of empty lists: the most objects per body byte."""
    return b'{"name":"j","data":{"a":1},"z":[' + b",".join([b"[]"] * items) + b"]}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self")
@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("study body", study_body("medium", 5.0)),
        ("short keys", ('{"name":"d","data":{' + ",".join(f'"{i:05x}":1' for i in range(500_000)) + "}}").encode()),
        ("emoji keys", emoji_keys(200_000)),
        ("empty lists", empty_lists(1_000_000)),
        ("one long name", b'{"name":"\xf0\x9f\x98\x80' + b"a" * 4_000_000 + b'","data":{}}'),
    ],
)
def test_the_parse_bound_covers_the_measured_peak(name: str, body: bytes) -> None:
    """BodyShape's bound is above the peak RSS growth of the real parse, orjson's (/pong,
    /offload) and json + pydantic's (/ping), for the study body and for bodies that make
    CPython allocate the most per byte; and for the study body not above twice it."""
    shape = BodyShape()
    for start in range(0, len(body), 65536):
        shape.feed(body[start : start + 65536])
    bound = shape.parse_memory()
    for parser in ("orjson", "ping"):
        peak = peak_parse_memory(body, parser)
        assert peak <= bound, f"{name}, {parser}: peak {peak} > bound {bound} ({len(body)} bytes)"
        if name == "study body":
            assert bound < 2 * peak, f"{parser}: bound {bound} is loose for a peak of {peak}"
    json.loads(body)  # every case is valid JSON (a parse error would measure nothing)

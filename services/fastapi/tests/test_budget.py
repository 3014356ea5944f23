"""BODY_BUDGET_MB, BODY_IDLE_TIMEOUT and BODY_MIN_RATE_KB: lab-server's 503 `server_busy` and
408 `body_read_timeout`, and the parse-memory bound the budget charges (budget.py)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import CONTRACT, COUNTING_ENDPOINTS, ENDPOINTS, SERVICE_DIR, Server, start, study_body
from labfastapi.budget import BodyShape
from test_errors import assert_error, raw_error
from test_metrics import value

JSON = {"content-type": "application/json"}
SMALL = b'{"name":"small","data":{"abcdefghij": 123}}'
#: More than the whole 1 MiB budget as a body.
TWO_MIB = 2 * 1024 * 1024
#: The uploads-cut-off counter and the reasons these tests make it count.
CUT_OFF = CONTRACT.metric("lab_server_uploads_cut_off_total").name
IDLE, TOO_SLOW, OVER_BUDGET = (CONTRACT.cut_off_reason(reason) for reason in ("idle", "too_slow", "over_budget"))


@pytest.fixture(scope="module")
def tight() -> Iterator[Server]:
    """One worker with a 1 MiB body budget and a 1 s idle timeout (no minimum rate: a stalled
    upload is then `idle`, not `too_slow`, whatever the timing)."""
    running = start(BODY_BUDGET_MB=1, BODY_IDLE_TIMEOUT=1, BODY_MIN_RATE_KB=0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def trickle() -> Iterator[Server]:
    """One worker with a 1 s grace (BODY_IDLE_TIMEOUT) and a minimum of 1 KiB/s."""
    running = start(BODY_IDLE_TIMEOUT=1, BODY_MIN_RATE_KB=1)
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


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_declared_body_over_the_budget_is_503_before_it_is_read(tight: Server, path: str) -> None:
    """A Content-Length that does not fit what is left of BODY_BUDGET_MB is 503 server_busy,
    with connection: close, and the client still reads the answer."""
    response = httpx.post(f"{tight.url}{path}", content=b" " * TWO_MIB, headers=JSON, timeout=30)
    assert_error(response, "server_busy")
    assert response.headers["connection"] == "close"


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_chunked_body_is_stopped_once_it_no_longer_fits(tight: Server, path: str) -> None:
    """A chunked body (no declared length) is charged as it arrives: past the budget, 503."""

    def chunks():
        for _ in range(TWO_MIB // 65536):
            yield b" " * 65536

    response = httpx.post(f"{tight.url}{path}", content=chunks(), headers=JSON, timeout=30)
    assert "content-length" not in response.request.headers
    assert_error(response, "server_busy")


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_a_body_whose_parse_does_not_fit_is_503(tight: Server, path: str) -> None:
    """A 200 KB study body fits the budget as bytes, but its parse (about 12 times that)
    does not: 503 once it has arrived, before anything parses it."""
    body = study_body("medium", 0.2)
    assert len(body) < 300_000
    assert_error(httpx.post(f"{tight.url}{path}", content=body, headers=JSON, timeout=30), "server_busy")


@pytest.mark.parametrize("path", COUNTING_ENDPOINTS)
def test_an_announced_body_over_the_budget_is_refused_before_it_is_sent(tight: Server, path: str) -> None:
    """With `Expect: 100-continue`, the 503 comes at once, without a 100."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {TWO_MIB}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    assert "connection: close" in raw_error(raw_exchange(tight, head), "server_busy")


def test_the_floor_holds_nothing_so_the_budget_does_not_stop_it(tight: Server) -> None:
    """/drain throws each chunk away as it reads it: a body twice the 1 MiB budget is read whole
    and answered 200, where every endpoint that holds its body says 503 (above)."""
    for path in ENDPOINTS:
        if path in COUNTING_ENDPOINTS:
            continue
        response = httpx.post(f"{tight.url}{path}", content=b" " * TWO_MIB, headers=JSON, timeout=30)
        assert response.status_code == 200, response.text


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
    assert "connection: close" in raw_error(answer, "body_read_timeout")


def trickled_answer(server: Server, path: str, body: bytes, piece: int, every_seconds: float) -> tuple[bytes, float]:
    """Sends `body` to `path` `piece` bytes at a time, one piece every `every_seconds`, until
    the server answers; returns everything read until it closed, and the seconds it took."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head)
        connection.settimeout(every_seconds)
        answer = b""
        sent = 0
        while True:
            if sent < len(body):
                try:
                    connection.sendall(body[sent : sent + piece])
                except OSError:  # the server answered and closed while we sent
                    connection.settimeout(10)
                sent += piece
            try:
                chunk = connection.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            answer += chunk
            connection.settimeout(10)
            sent = len(body)
    return answer, time.monotonic() - started


def padded_body(size: int) -> bytes:
    """A valid study body of exactly `size` bytes (spaces after the object)."""
    body = b'{"name":"slow","data":{"abcdefghij":123}}'
    return body + b" " * (size - len(body))


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_upload_slower_than_the_minimum_rate_is_408_and_closed(trickle: Server, path: str) -> None:
    """A client that trickles 100 bytes every 0.2 s (500 B/s, never idle for 1 s) falls below
    BODY_MIN_RATE_KB=1 once the 1 s grace is spent: at about 2 s (never before the grace) it
    gets 408 body_read_timeout naming BODY_MIN_RATE_KB, and the connection is closed."""
    answer, seconds = trickled_answer(trickle, path, padded_body(20_000), piece=100, every_seconds=0.2)
    assert "connection: close" in raw_error(answer, "body_read_timeout")
    assert b"BODY_MIN_RATE_KB" in answer.partition(b"\r\n\r\n")[2], answer
    assert 1.0 < seconds < 8, seconds


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_upload_above_the_minimum_rate_is_served(trickle: Server, path: str) -> None:
    """The same trickle at 2,000 B/s (400 bytes every 0.2 s) for 2.5 s, past the grace: 200."""
    answer, seconds = trickled_answer(trickle, path, padded_body(5_000), piece=400, every_seconds=0.2)
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:300]
    assert seconds > 2, seconds


def test_the_slow_uploads_are_counted_as_too_slow(trickle: Server) -> None:
    """The 408s above show as lab_server_uploads_cut_off_total{reason="too_slow"}, not idle."""
    scrape = httpx.get(f"{trickle.url}/metrics").text
    assert value(scrape, CUT_OFF, reason=TOO_SLOW) == len(ENDPOINTS)
    assert value(scrape, CUT_OFF, reason=IDLE) == 0


def test_the_budget_is_released_and_shown(tight: Server) -> None:
    """After every refusal above, small requests still fit (nothing leaked), and /metrics
    shows the budget, nothing in use, and the cut-off uploads by reason."""
    for path in ENDPOINTS:
        assert httpx.post(f"{tight.url}{path}", content=SMALL, headers=JSON).status_code == 200
    scrape = httpx.get(f"{tight.url}/metrics").text
    assert value(scrape, CONTRACT.metric("lab_server_body_budget_bytes").name) == 1024 * 1024
    assert value(scrape, CONTRACT.metric("lab_server_body_budget_in_use_bytes").name) == 0
    assert value(scrape, CUT_OFF, reason=OVER_BUDGET) >= 3 * len(COUNTING_ENDPOINTS)
    assert value(scrape, CUT_OFF, reason=IDLE) >= len(ENDPOINTS)


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

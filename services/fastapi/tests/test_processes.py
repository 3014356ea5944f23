"""The launcher: settings, several workers in one scrape, gunicorn, and a graceful SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import CONTRACT, HEALTH_PATH, SERVICE_DIR, start
from labfastapi.launcher import python_problem
from labfastapi.worker import workers_ready
from test_metrics import value

JSON = {"content-type": "application/json"}
SMALL = b'{"name":"small","data":{"abcdefghij": 123}}'
PING, PONG = CONTRACT.strategy("/ping"), CONTRACT.strategy("/pong")
WORKER_ID = CONTRACT.http.worker_id_header


def worker_ids_seen(url: str, seconds: float = 20.0) -> set[str]:
    """x-worker-id over fresh connections, 8 at a time, until two ids show or time runs out."""
    seen: set[str] = set()
    deadline = time.monotonic() + seconds

    def one(_: int) -> str:
        return httpx.post(f"{url}{PONG.path}", content=SMALL, headers=JSON, timeout=30).headers[WORKER_ID]

    with ThreadPoolExecutor(8) as pool:
        while len(seen) < 2 and time.monotonic() < deadline:
            seen.update(pool.map(one, range(16)))
    return seen


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("WORKERS", "0"),
        ("WORKERS", "two"),
        ("KEEP_ALIVE", "-1"),
        ("MAX_BODY_MB", "0"),
        ("LAG_PROBE_INTERVAL_MS", "0"),
        ("BODY_MIN_RATE_KB", "-1"),
        ("BIND", "nowhere"),
        ("BIND", "127.0.0.1:70000"),
        ("SERVER", "nginx"),
    ],
)
def test_a_bad_setting_is_named_and_exits_2(name: str, raw: str) -> None:
    """A bad environment value stops the launcher with a message naming it, exit status 2."""
    result = subprocess.run(
        [sys.executable, "-m", "labfastapi"],
        cwd=SERVICE_DIR,
        env={**os.environ, name: raw},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, result.stderr
    assert name in result.stderr and result.stdout == ""


def test_the_launcher_imports_no_metrics_before_it_sets_their_directory() -> None:
    """prometheus_client picks its multiprocess mode when first imported: a launcher that
    imported it before setting PROMETHEUS_MULTIPROC_DIR would serve an empty /metrics with one
    uvicorn worker (which runs in the launcher's own process)."""
    result = subprocess.run(
        [sys.executable, "-c", "import sys, labfastapi.launcher; print('prometheus_client' in sys.modules)"],
        cwd=SERVICE_DIR, capture_output=True, text=True, timeout=30, check=True,
    )
    assert result.stdout.strip() == "False"


def test_one_uvicorn_worker_serves_its_series() -> None:
    """WORKERS=1 (the lab's default): the one worker's scrape has the lab's series."""
    server = start(WORKERS=1)
    try:
        server.wait_healthy()
        assert value(httpx.get(f"{server.url}/metrics").text, "lab_server_workers") == 1
    finally:
        server.stop()


def test_two_uvicorn_workers_share_the_load_and_one_scrape() -> None:
    """WORKERS=2: fresh connections reach both workers, and one /metrics scrape shows both."""
    server = start(WORKERS=2)
    try:
        health = server.wait_healthy()
        assert {key: health[key] for key in ("status", "workers", "workers_ready")} == {
            "status": "ok", "workers": 2, "workers_ready": 2}
        # Both workers answer /healthz with the one id of this start of the server.
        assert {httpx.get(f"{server.url}{HEALTH_PATH}").json()["instance"] for _ in range(20)} == {health["instance"]}
        assert worker_ids_seen(server.url) == {"0", "1"}
        scrape = httpx.get(f"{server.url}/metrics").text
        assert value(scrape, "lab_server_workers") == 2
        for worker in ("0", "1"):
            assert value(scrape, "lab_server_requests_total", worker=worker) > 0, worker
            assert value(scrape, "lab_server_event_loop_lag_seconds_count", worker=worker) > 0, worker
            assert value(scrape, "lab_server_connections_total", worker=worker) > 0, worker
    finally:
        assert server.stop() == 0, server.logs()


def test_gunicorn_with_uvicorn_workers_answers() -> None:
    """SERVER=gunicorn starts two uvicorn workers that answer, with KEEP_ALIVE=0 honoured."""
    server = start(SERVER="gunicorn", WORKERS=2, KEEP_ALIVE=0)
    try:
        health = server.wait_healthy()
        assert {key: health[key] for key in ("status", "workers", "keep_alive_seconds", "workers_ready")} == {
            "status": "ok", "workers": 2, "keep_alive_seconds": 0, "workers_ready": 2}
        response = httpx.post(f"{server.url}{PING.path}", content=SMALL, headers=JSON)
        assert response.status_code == 200 and response.json()["count"] == 1
        assert response.headers["connection"] == "close"
        assert worker_ids_seen(server.url) == {"0", "1"}
    finally:
        assert server.stop() == 0, server.logs()


def test_sigterm_lets_an_upload_in_flight_finish_and_exits_0() -> None:
    """SIGTERM mid-upload: the upload still gets its 200, then the launcher exits 0."""
    server = start()
    body = SMALL
    head = (
        f"POST {PONG.path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(head + body[:10])
        # The request is in flight once the server counts it as active.
        deadline = time.monotonic() + 10
        while value(httpx.get(f"{server.url}/metrics").text, "http_server_active_requests", endpoint=PONG.label) < 1:
            assert time.monotonic() < deadline, "the upload never became active"
            time.sleep(0.02)
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.2)  # give the signal time to land before the rest of the body
        connection.sendall(body[10:])
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK"), answer[:200]
    assert server.stop() == 0, server.logs()


def test_sigterm_stops_two_workers_and_exits_0() -> None:
    """SIGTERM to the launcher of two workers stops them all, exits 0 and removes its state."""
    server = start(WORKERS=2)
    assert server.stop(signal.SIGTERM) == 0, server.logs()
    state_dir = re.search(r"state directory \(removed on exit\): (\S+)", server.logs()).group(1)
    assert not os.path.exists(state_dir), "the launcher left its state directory behind"


def test_healthz_waits_for_every_worker() -> None:
    """WORKERS=2: with one worker killed, /healthz (answered by the other) says 503 `starting`
    with workers_ready 1 until the supervisor's replacement has started, then 200 again."""
    server = start(WORKERS=2)
    try:
        assert server.wait_healthy()["workers_ready"] == 2
        state_dir = re.search(r"state directory \(removed on exit\): (\S+)", server.logs()).group(1)
        with open(os.path.join(state_dir, "workers", "ready-1")) as marker:
            os.kill(int(marker.read()), signal.SIGKILL)
        deadline = time.monotonic() + 20
        while True:
            response = httpx.get(f"{server.url}{HEALTH_PATH}", timeout=5)
            if response.status_code == 503:
                break
            assert time.monotonic() < deadline, "no 503 while a worker was missing"
            time.sleep(0.01)
        assert response.json() == {"status": "starting", "workers": 2, "workers_ready": 1, "keep_alive_seconds": 5}
        health = server.wait_healthy()
        assert {key: health[key] for key in ("status", "workers", "workers_ready")} == {
            "status": "ok", "workers": 2, "workers_ready": 2}
        # Both workers answer /healthz with the one id of this start of the server.
        assert {httpx.get(f"{server.url}{HEALTH_PATH}").json()["instance"] for _ in range(20)} == {health["instance"]}
    finally:
        assert server.stop() == 0, server.logs()


def test_a_ready_marker_counts_only_for_the_live_holder_of_its_slot(tmp_path) -> None:
    """workers_ready counts `ready-<i>` only when its pid is alive and is the pid the slot's
    lock file names; it never locks a slot, so it cannot take one from a starting worker."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    me = os.getpid()
    slots = {0: (me, me), 1: (dead.pid, dead.pid), 2: (me, dead.pid), 3: (None, me)}
    for index, (marker_pid, lock_pid) in slots.items():
        (tmp_path / f"worker-{index}.lock").write_text(f"{lock_pid}\n")
        if marker_pid is not None:
            (tmp_path / f"ready-{index}").write_text(f"{marker_pid}\n")
    assert workers_ready(str(tmp_path), 4) == 1
    assert workers_ready(None, 4) == 1


def test_an_old_python_is_refused_by_name() -> None:
    """The launcher needs Python 3.11 (asyncio.timeout): an older one gets a message naming
    both versions, which main() prints before exiting 2."""
    assert python_problem((3, 11, 0)) is None and python_problem((3, 13, 1)) is None
    message = python_problem((3, 10, 14))
    assert message is not None and "3.11" in message and "3.10.14" in message

"""Starts the real server (`python -m labfastapi`) as a subprocess on 127.0.0.1, port 0.

The launcher prints `listening on http://HOST:PORT` once it has bound; the fixture reads that
line, then waits for `/healthz` to answer (no fixed sleeps). Every wait has a deadline.

The tests take the lab's names (endpoints, error kinds and statuses, phases, headers, metrics)
from the lab's contract, `services/core/contract/lab-contract.json`, through
`tests/labcontract.py`: the server keeps its own copies (its image holds services/fastapi
alone), and the tests hold them to the contract.
"""

from __future__ import annotations

import json
import os
import random
import signal
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

SERVICE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = SERVICE_DIR.parents[1]
# A few tests check a module's pure functions in-process (never `labfastapi.app`, which
# builds the app from the environment at import).
sys.path.insert(0, str(SERVICE_DIR))
# The lab's contract, `labcontract` (tests/labcontract.py): appended, so nothing of tests/
# shadows this directory's modules.
sys.path.append(str(REPO_ROOT / "tests"))
from labcontract import CONTRACT  # noqa: E402

#: The strategy endpoints this server serves: the contract's strategies marked `on_fastapi`.
ENDPOINTS = tuple(strategy.path for strategy in CONTRACT.fastapi_strategies)
#: Those whose answer counts the body (all but the floor, /drain, which reads it and answers
#: zeros): the tests that compare name, count and maxval, or a parse's error, use these.
COUNTING_ENDPOINTS = tuple(strategy.path for strategy in CONTRACT.fastapi_strategies if strategy.counts)
#: Where every server answers whether it is up.
HEALTH_PATH = CONTRACT.http.health_path
#: Longest a server may take to start (import FastAPI, spawn workers) or to stop.
START_SECONDS = 30.0
STOP_SECONDS = 20.0
#: The main server's MAX_BODY_MB: a ~5 MB study body fits, a 9 MiB one does not.
MAX_BODY_MB = 8


class Server:
    """A running `python -m labfastapi` and how to reach it."""

    def __init__(self, env: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labfastapi"],
            cwd=SERVICE_DIR,
            env={**os.environ, "BIND": "127.0.0.1:0", **env},
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        self.stdout_lines: list[str] = []
        listening = threading.Event()
        threading.Thread(target=self._read_stdout, args=(listening,), daemon=True).start()
        if not listening.wait(START_SECONDS) or not self.stdout_lines:
            self.stop()
            pytest.fail(f"no `listening on` line in {START_SECONDS}s; stderr:\n{self.logs()}")
        first = self.stdout_lines[0]
        assert first.startswith("listening on http://"), first
        self.url = first.removeprefix("listening on ").strip()
        self.port = int(self.url.rsplit(":", 1)[1])
        self.wait_healthy()

    def _read_stdout(self, listening: threading.Event) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.stdout_lines.append(line)
            listening.set()
        listening.set()

    def wait_healthy(self) -> dict:
        """Polls the health path until it answers 200, within START_SECONDS."""
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                response = httpx.get(f"{self.url}{HEALTH_PATH}", timeout=5)
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server not healthy (exit {self.process.poll()}); stderr:\n{self.logs()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Sends `sig` and waits for the exit status (killing it past STOP_SECONDS)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_SECONDS)
        return self.process.returncode

    def logs(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]


def start(**env: str) -> Server:
    """A server with these extra environment variables."""
    return Server({key: str(value) for key, value in env.items()})


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """One uvicorn worker, MAX_BODY_MB=8, shared by a module's tests."""
    running = start(MAX_BODY_MB=MAX_BODY_MB)
    yield running
    running.stop()


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """A keep-alive client for `server`."""
    with httpx.Client(base_url=server.url, timeout=60) as session:
        yield session


def study_body(name: str, megabytes: float, seed: int = 42) -> bytes:
    """A study-shaped body: `{"name": …, "data": {10 random letters: 1..1_000_000}}`, about
    50,000 pairs per MB, as the study's client made them."""
    rng = random.Random(seed)
    pairs = max(1, int(megabytes * 50_000))
    letters = string.ascii_lowercase
    data = {"".join(rng.choices(letters, k=10)): rng.randint(1, 1_000_000) for _ in range(pairs)}
    return json.dumps({"name": name, "data": data}, separators=(",", ":")).encode()


@pytest.fixture(scope="session")
def five_mb_body() -> bytes:
    """A ~5 MB study body (built once)."""
    return study_body("medium", 5.0)

"""lab-loadgen, the lab's own client, measures the study's server as it measures lab-server:
every request of every class is a success whose `count` and `maxval` match the body sent
(lab-loadgen checks them), with the worker that served it recorded."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from conftest import CONTRACT, ENDPOINTS, REPO_ROOT, start
from labcontract import REQUESTS_CSV

#: The lab-loadgen binary: LAB_LOADGEN, else cargo's debug build (`just test-fastapi` builds it).
LOADGEN = Path(os.environ.get("LAB_LOADGEN", REPO_ROOT / "target" / "debug" / "lab-loadgen"))
#: The requests.csv columns these tests read.
CLASS, STATUS, ERROR, WORKER, SERVER_ELAPSED = (
    CONTRACT.csv.requests_column(column) for column in ("class", "status", "error", "worker", "server_elapsed_ms")
)


@pytest.fixture(scope="module")
def two_workers():
    """Two uvicorn workers, MAX_BODY_MB=8."""
    running = start(WORKERS=2, MAX_BODY_MB=8)
    yield running
    running.stop()


def run_loadgen(url: str, endpoint: str, results: Path) -> list[dict[str, str]]:
    """Runs lab-loadgen for 2 s (small every 0.1 s, a 2 MB large every 0.5 s, fresh connection
    per request) and returns requests.csv's rows, whose columns must be the contract's; the run
    must exit 0."""
    assert LOADGEN.is_file(), f"{LOADGEN} is missing: cargo build -p lab-loadgen"
    done = subprocess.run(
        [str(LOADGEN), "--target-url", url, "--endpoint", endpoint, "--duration", "2",
         "--large-size-mb", "2", "--large-interval", "0.5", "--results-dir", str(results),
         "--run-id", endpoint.strip("/"), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with open(results / endpoint.strip("/") / REQUESTS_CSV, newline="") as file:
        reader = csv.DictReader(file)
        assert tuple(reader.fieldnames or ()) == CONTRACT.csv.requests
        return list(reader)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_request_is_a_checked_success(two_workers, endpoint, tmp_path):
    """Each endpoint answers every small and large request with the body's own count and
    maxval (no `wrong_answer`, no error), and says which of the two workers served it."""
    rows = run_loadgen(two_workers.url, endpoint, tmp_path)
    classes = {row[CLASS] for row in rows}
    assert classes == set(CONTRACT.classes), rows[:3]
    assert len(rows) >= 20
    for row in rows:
        assert (row[STATUS], row[ERROR]) == ("200", ""), row
        assert row[WORKER] in {"0", "1"}, row
        assert row[SERVER_ELAPSED] != "", row

#!/usr/bin/env python3
"""Peak and idle memory of lab-server under N concurrent 25 MB uploads, per endpoint.

Starts the release lab-server once per endpoint (BIND=127.0.0.1:0, other settings from the
environment: WORKERS, BODY_BUDGET_MB, ...), sends N study-shaped 25 MB bodies at once (each on
its own connection), and reads the kernel's counters for the process: peak resident memory
(VmHWM) and resident memory 3 s after the burst (VmRSS). Bodies are generated before the server
starts, never while it is measured.

    python3 scripts/memory.py --uploads 4 30 --endpoints /ping /pong /offload /lean /stream
"""
import argparse
import http.client
import json
import os
import random
import string
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.paths import REPO_ROOT  # noqa: E402


def study_body(megabytes, seed):
    rng = random.Random(seed)
    pairs = int(megabytes * 50_000)
    letters = string.ascii_lowercase
    data = {"".join(rng.choices(letters, k=10)): rng.randint(1, 1_000_000) for _ in range(pairs)}
    return json.dumps({"name": "large", "data": data}, separators=(",", ":")).encode()


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def upload(port, endpoint, body, outcomes):
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        connection.request("POST", endpoint, body, {"content-type": "application/json"})
        response = connection.getresponse()
        response.read()
        outcomes.append(response.status)
    except Exception as error:  # counted, not raised: a refused upload is data
        outcomes.append(type(error).__name__)


def measure(binary, endpoint, uploads, body):
    server = subprocess.Popen(
        [binary], env={**os.environ, "BIND": "127.0.0.1:0", "RUST_LOG": "warn"},
        stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        baseline = status_kb(server.pid, "VmRSS")
        outcomes = []
        threads = [threading.Thread(target=upload, args=(port, endpoint, body, outcomes))
                   for _ in range(uploads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak = status_kb(server.pid, "VmHWM")
        time.sleep(3)
        idle = status_kb(server.pid, "VmRSS")
        counts = {str(k): outcomes.count(k) for k in sorted(set(outcomes), key=str)}
        return baseline, peak, idle, counts
    finally:
        server.terminate()
        server.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, nargs="+", default=[4, 30])
    parser.add_argument("--endpoints", nargs="+", default=["/ping", "/pong", "/offload", "/lean", "/stream"])
    parser.add_argument("--size-mb", type=float, default=25.0)
    parser.add_argument("--binary", default=str(REPO_ROOT / "target" / "release" / "lab-server"))
    args = parser.parse_args()
    body = study_body(args.size_mb, 42)
    settings = {k: os.environ[k] for k in ("WORKERS", "BODY_BUDGET_MB") if k in os.environ}
    print(f"# {len(body)} byte bodies; settings {settings or 'defaults'}")
    print("| endpoint | uploads | answers | baseline MB | peak RSS MB | idle RSS MB |")
    print("|---|---|---|---|---|---|")
    for endpoint in args.endpoints:
        for uploads in args.uploads:
            baseline, peak, idle, counts = measure(args.binary, endpoint, uploads, body)
            answers = ", ".join(f"{n}×{k}" for k, n in counts.items())
            print(f"| {endpoint} | {uploads} | {answers} | {baseline / 1024:.0f} | "
                  f"{peak / 1024:.0f} | {idle / 1024:.0f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())

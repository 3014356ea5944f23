#!/usr/bin/env python3
"""The study's best Python parse, measured on the lab's own 25 MB body: orjson.loads, then the
distinct-key count and the largest value, then freeing it all: what the study's /pong does
with a body, and the reference the parse benchmark's strategies are compared with.

    just bench-python                # 25 MB, seed 42: the body `cargo bench -p lab-server` uses
    just bench-python --json-spacing spaced --key-letters a-zA-Z   # as the study's client sends it
    python3 scripts/bench_python.py --size-mb 5 --runs 20

It writes the body with lab-core's generator (`cargo run --release -p lab-core --example
write_body`), so both languages parse the same bytes, checks that orjson finds the same count
and largest value, and prints the median and spread of the runs, in ms.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools.paths import REPO_ROOT as REPO  # noqa: E402


SPACINGS = ("compact", "spaced")
KEY_LETTERS = ("a-z", "a-zA-Z")


def write_body(size_mb: float, seed: int, path: Path, spacing: str = "compact",
               letters: str = "a-z") -> tuple[int, int, int]:
    """The lab's body at `path`, spelled as lab-loadgen's JSON_SPACING and KEY_LETTERS spell
    it; returns its bytes, distinct keys and largest value."""
    done = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "lab-core", "--example", "write_body",
         "--", str(size_mb), str(seed), str(path), spacing, letters],
        cwd=REPO, check=True, capture_output=True, text=True,
    )
    size, count, maxval = (int(field) for field in done.stdout.split())
    return size, count, maxval


def parse_count_drop(orjson, body: bytes) -> tuple[int, int, float]:
    """One run, timed from the bytes to the freed dict: loads, count, max, del."""
    started = time.perf_counter()
    parsed = orjson.loads(body)
    data = parsed["data"]
    count = len(data)
    maxval = max(data.values(), default=0)
    del data, parsed
    elapsed = time.perf_counter() - started
    return count, maxval, elapsed * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=25.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json-spacing", choices=SPACINGS, default="compact",
                        help="compact (as httpx sends it) or spaced (as json.dumps writes it)")
    parser.add_argument("--key-letters", choices=KEY_LETTERS, default="a-z",
                        help="the keys' letters; a-zA-Z is how the study's client drew them")
    args = parser.parse_args()
    if not 1 <= args.runs <= 1000:
        parser.error("--runs must be 1 to 1000")
    try:
        import orjson
    except ImportError:
        print("orjson is missing: run with the FastAPI server's venv (.venv-fastapi/bin/python, "
              "`just bench-python` makes it)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "body.json"
        size, count, maxval = write_body(args.size_mb, args.seed, path, args.json_spacing,
                                         args.key_letters)
        body = path.read_bytes()
    # The collector would otherwise run in the middle of some runs and not others.
    gc.disable()
    times = []
    for _ in range(args.runs):
        found_count, found_max, elapsed_ms = parse_count_drop(orjson, body)
        if (found_count, found_max) != (count, maxval):
            print(f"orjson found {found_count} keys, max {found_max}; the body has {count}, {maxval}",
                  file=sys.stderr)
            return 1
        times.append(elapsed_ms)
    times.sort()
    print(f"orjson {orjson.__version__}, Python {sys.version.split()[0]}: {size} bytes "
          f"({args.json_spacing}, keys {args.key_letters}), {count} keys; "
          f"loads+count+max+del over {args.runs} runs: median {statistics.median(times):.0f} ms "
          f"[{times[0]:.0f}-{times[-1]:.0f}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())

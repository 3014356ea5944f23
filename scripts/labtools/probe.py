"""lab-probe from the lab's image on a compose network, as docs/probe.md's "In Docker" section
runs it, and what it leaves in ./results read back: the verdict it printed in report.md, a
measured row of probe.csv per planned round and level, and each of those runs' requests.csv
and summary.csv (lab-loadgen's files, the contract's columns)."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .checks import CheckFailed
from .docker import docker
from .paths import RESULTS_DIR
from .results_csv import REQUESTS_CSV_COLUMNS, SUMMARY_CSV_COLUMNS, read_rows

#: Where the lab's image mounts ./results (its RESULTS_DIR).
RESULTS_IN_IMAGE = Path("/results")


@dataclass(frozen=True)
class ShortProbe:
    """A probe short enough for a check: a few rounds of `alone` and small uploads."""

    #: The server, as a container on the network reaches it: `http://service:port`.
    target_url: str
    endpoint: str = "/ping"
    #: The ladder, MB, as lab-probe takes it (whole numbers: see `levels`).
    sizes_mb: tuple[str, ...] = ("1",)
    reps: int = 2
    duration_s: int = 4

    def arguments(self) -> list[str]:
        return ["--target-url", self.target_url, "--endpoint", self.endpoint, "--sizes-mb",
                ",".join(self.sizes_mb), "--reps", str(self.reps), "--duration", str(self.duration_s)]

    def levels(self) -> list[str]:
        """The levels it plans, named as lab-probe names their directories: `alone`,
        `uploads-<size>mb`."""
        return ["alone", *(f"uploads-{size}mb" for size in self.sizes_mb)]

    def planned(self) -> list[tuple[str, str]]:
        """(round, level) of every level run it plans, sorted."""
        return sorted((str(rep), level) for rep in range(1, self.reps + 1) for level in self.levels())


def docker_run_args(probe: ShortProbe, image: str, network: str, owner: tuple[int, int]) -> list[str]:
    """`docker run` of lab-probe from `image` on `network`, writing into ./results as `owner`."""
    return ["run", "--rm", "--network", network, "--user", f"{owner[0]}:{owner[1]}",
            "-v", f"{RESULTS_DIR}:{RESULTS_IN_IMAGE}", image, "lab-probe", *probe.arguments()]


def run_probe(probe: ShortProbe, image: str, network: str, owner: tuple[int, int],
              log: Callable[[str], None]) -> tuple[str, Path]:
    """Runs it and requires exit code 0 with the verdict and the report's path printed; returns
    the verdict and the probe's directory on the host."""
    args = docker_run_args(probe, image, network, owner)
    log(f"docker {' '.join(args)}")
    started = time.monotonic()
    result = docker(*args, check=False, timeout=180)
    printed = dict(line.split(": ", 1) for line in result.stdout.splitlines()
                   if line.startswith(("verdict: ", "report: ")))
    if result.returncode != 0 or set(printed) != {"verdict", "report"}:
        raise CheckFailed(f"lab-probe exited {result.returncode} after {time.monotonic() - started:.0f} s; "
                          f"stdout: {result.stdout.strip()[-500:]!r}; stderr: {result.stderr.strip()[-1500:]!r}")
    report = RESULTS_DIR / Path(printed["report"]).relative_to(RESULTS_IN_IMAGE)
    log(f"lab-probe done in {time.monotonic() - started:.0f} s: {report}")
    return printed["verdict"], report.parent


def check_probe_files(probe: ShortProbe, probe_dir: Path, verdict: str) -> str:
    """report.md states `verdict`; probe.csv has one measured row per planned round and level;
    each of those runs left requests.csv (small requests, and uploads in an upload level) and
    summary.csv. Returns what was found, in a line."""
    report = probe_dir / "report.md"
    if not report.is_file() or f"**Verdict:** {verdict}" not in report.read_text().splitlines():
        raise CheckFailed(f"{report} does not state the verdict lab-probe printed: {verdict!r}")
    table = probe_dir / "probe.csv"
    if not table.is_file():
        raise CheckFailed(f"{table} is missing")
    with open(table, newline="") as file:
        rows = list(csv.DictReader(file))
    found = sorted((row["round"], row["level"]) for row in rows)
    if found != probe.planned():
        raise CheckFailed(f"{table}: rows for {found}, planned {probe.planned()}")
    unmeasured = [f"round {row['round']} {row['level']}: {row['note']}" for row in rows if row["measured"] != "true"]
    if unmeasured:
        raise CheckFailed(f"{table}: not measured: {unmeasured}")
    for rep, level in probe.planned():
        run_dir = probe_dir / f"round-{rep}" / level
        for name in ("requests.csv", "summary.csv"):
            if not (run_dir / name).is_file():
                raise CheckFailed(f"{run_dir / name} is missing")
        classes = {row["class"] for row in read_rows(run_dir / "requests.csv", REQUESTS_CSV_COLUMNS)}
        read_rows(run_dir / "summary.csv", SUMMARY_CSV_COLUMNS)
        expected = {"small"} if level == "alone" else {"small", "large"}
        if classes != expected:
            raise CheckFailed(f"{run_dir / 'requests.csv'}: classes {sorted(classes)}, not {sorted(expected)}")
    return (f"report.md states the verdict; probe.csv: {len(rows)} rows, one measured per planned round and "
            f"level; {len(found)} requests.csv and summary.csv")

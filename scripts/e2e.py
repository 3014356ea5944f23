#!/usr/bin/env python3
"""End-to-end check of the Compose lab: `just e2e` (run by .ci/run).

It runs the user's docker-compose.yml with its fastapi profile, prometheus.yml, .env, env vars
and volumes, with docker-compose.local.yml swapping the images for local stand-ins (no registry
is reachable here; see docker/build-local-images.sh). Grafana is not started (it cannot run
here), but every query of its dashboard is evaluated through Prometheus's HTTP API, once per
target of its `$target` selector.

Steps (each prints a line; any failure stops the run, and the stack is torn down anyway):
  1. cargo build --release of the lab image's binaries (lab-server, lab-loadgen, lab-probe…);
     build the stand-in images (the FastAPI one from wheels of services/fastapi/requirements.txt
     downloaded on the host)
  2. promtool check config prometheus.yml (inside the Prometheus stand-in)
  3. up server, loadgen, prometheus (no profile) with WORKERS=1, ENDPOINT=/ping; wait for both
     scrape jobs; the Grafana datasource's URL answers PromQL from inside the compose network;
     wait until the upload cycle has been on and off at least twice
  4. small-request p95 while uploads run is clearly above p95 between bursts
     (query_range of the small-request histogram, split by lab_client_large_uploads_enabled
     and lab_client_requests_in_flight{class="large"})
  5. runs follow the server: WORKERS=2 for the server alone (`up -d server`, the loadgen keeps
     running) ends the loadgen's run (summary.csv written) and opens `<run-id>-…-2`;
     `--scale loadgen=3`: all three scraped (DNS discovery), their request rates add up to
     the total, the summed-buckets p95 answers, one run directory each
  6. stop loadgen (every replica's requests.csv and summary.csv are in ./results, owned by
     the owner of ./results: 4321:4321 when the e2e runs as root, restored at the end);
     lab-loadgen-merge joins the replicas' last runs; `--profile fastapi up`
     fastapi and loadgen-fastapi with FASTAPI_WORKERS=1 and the same workload, for as many
     upload cycles; print both servers' numbers side by side (each from its own run: two
     servers parsing 25 MB at once would share this machine's two cores)
  7. WORKERS=4 FASTAPI_WORKERS=4 ENDPOINT=/pong via the environment (`up -d` again, all five
     services): each server's /healthz and lab_server_workers report 4; FastAPI's first run's
     CSV files are in ./results/fastapi
  8. every dashboard query, with $__rate_interval etc. expanded as Grafana would, returns data
     over the three runs for $target=actix and for $target=fastapi, every series labelled with
     that target (polled until it does, or a timeout); `scripts/export.py` writes them to CSV
  9. stop both load generators; lab-probe from the lab's image on the compose network against
     the FastAPI peer, a short ladder (docs/probe.md's Docker command): exit code 0 and its
     files (labtools/probe.py), owned by the owner of ./results; its verdict printed
 10. down -v (also on failure or Ctrl-C)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labtools import dashboard as dash  # noqa: E402
from labtools.checks import CheckFailed, progress_log  # noqa: E402
from labtools.compose import compose_command, read_env_file  # noqa: E402
from labtools.datasource import check_datasource_answers  # noqa: E402
from labtools.docker import docker  # noqa: E402
from labtools.healthz import healthz  # noqa: E402
from labtools.images import add_skip_cargo_option, build_binaries_and_images  # noqa: E402
from labtools.interrupts import sigterm_raises_interrupt  # noqa: E402
from labtools.paths import REPO_ROOT as REPO, RESULTS_DIR as RESULTS  # noqa: E402
from labtools.probe import ShortProbe, check_probe_files, run_probe  # noqa: E402
from labtools.prometheus import Prometheus, finite_points, wait_for  # noqa: E402
from labtools.replicas import replica_of, small_p95_over_replicas  # noqa: E402
from labtools.results_csv import REQUESTS_CSV_COLUMNS, SUMMARY_CSV_COLUMNS, read_rows  # noqa: E402
from labtools.results_owner import claim_results  # noqa: E402
from labtools.scrapes import scrape_success, targets_up, wait_until_ready  # noqa: E402
from labtools.upload_phases import split_small_latency, upload_cycles  # noqa: E402

PROJECT = "large-request-lab-e2e"
PROFILE = "fastapi"
#: The lab without the profile, and what the profile adds.
ACTIX_SERVICES = ["server", "loadgen", "prometheus"]
FASTAPI_SERVICES = ["fastapi", "loadgen-fastapi"]
SERVICES = ACTIX_SERVICES + FASTAPI_SERVICES
PROMETHEUS_STANDIN = "lab-local/prometheus:debian"
#: The lab's image as docker-compose.local.yml swaps it in, and the project's network.
RUNTIME_STANDIN = "lab-local/large-request-lab:e2e"
NETWORK = f"{PROJECT}_default"
#: lab-probe's short run against the FastAPI peer, as docs/probe.md's Docker section gives it:
#: `alone` and 1 MB uploads to /ping, 2 rounds, 4 s per level.
PEER_PROBE = ShortProbe(target_url="http://fastapi:8000", endpoint="/ping", sizes_mb=("1",), reps=2, duration_s=4)


@dataclass(frozen=True)
class Target:
    """One server under test, as prometheus.yml's `target` label names it."""

    name: str
    server_job: str
    loadgen_job: str
    #: Host port of its /healthz (the variable in .env) and the variable that sets its workers.
    port_variable: str
    workers_variable: str
    #: Where its loadgen writes run folders, under ./results.
    results_subdir: str


TARGETS = [
    Target("actix", "lab-server", "lab-loadgen", "SERVER_PORT", "WORKERS", ""),
    Target("fastapi", "fastapi", "loadgen-fastapi", "FASTAPI_PORT", "FASTAPI_WORKERS", "fastapi"),
]
#: The target whose burst/quiet ratio is asserted (the lab's own server); the others' numbers
#: are printed beside it.
CHECKED = TARGETS[0]

log = progress_log("e2e")


class Stack:
    """docker compose for the e2e project: the user's file plus the image-swapping override."""

    def __init__(self, env: dict[str, str]):
        self.base = compose_command() + [
            "-p", PROJECT, "--profile", PROFILE,
            "-f", str(REPO / "docker-compose.yml"),
            "-f", str(REPO / "docker-compose.local.yml"),
        ]
        self.env = env

    def run(self, *args: str, check: bool = True, capture: bool = False, env: dict | None = None):
        return subprocess.run(
            self.base + list(args), cwd=REPO, env=env or self.env, check=check,
            capture_output=capture, text=True,
        )

    def up(self, env: dict[str, str], services: list[str] = SERVICES) -> None:
        self.run("up", "-d", "--no-build", *services, env=env)

    def down(self) -> None:
        self.run("down", "-v", "--remove-orphans", "--timeout", "40", check=False)

    def dump_logs(self) -> None:
        self.run("ps", check=False)
        self.run("logs", "--no-color", "--tail", "60", check=False)


def host_port(env: dict[str, str], name: str, default: str) -> str:
    return env.get(name) or default


# --- steps -------------------------------------------------------------------------------


def promtool_check() -> None:
    """promtool from the Prometheus stand-in checks the user's prometheus.yml."""
    result = docker(
        "run", "--rm", "--entrypoint", "promtool",
        "-v", f"{REPO / 'prometheus.yml'}:/etc/prometheus/prometheus.yml:ro",
        PROMETHEUS_STANDIN, "check", "config", "/etc/prometheus/prometheus.yml",
        check=False, timeout=None,
    )
    print(result.stdout.strip(), result.stderr.strip(), sep="\n", flush=True)
    if result.returncode != 0:
        raise CheckFailed("promtool check config prometheus.yml failed")
    log("promtool check config prometheus.yml: SUCCESS")


def wait_for_scrapes(prom: Prometheus, targets: list[Target]) -> None:
    wait_until_ready(prom)

    jobs = [job for target in targets for job in (target.server_job, target.loadgen_job)]

    def all_jobs_up():
        health = {t["labels"]["job"]: (t["health"], t["labels"].get("target")) for t in prom.targets()}
        return all(health.get(job, ("",))[0] == "up" for job in jobs) and health

    health = wait_for(f"scrape jobs {jobs} up", all_jobs_up, timeout=120)
    log(f"scrape jobs (health, target label): {health}")
    for target in targets:
        wait_for(f"small-request samples of {target.name}",
                 lambda: prom.scalar(f'sum(lab_client_requests_total{{class="small", target="{target.name}"}})'),
                 timeout=60)


def wait_for_cycles(prom: Prometheus, targets: list[Target], since: float, cycles: int, timeout: float) -> float:
    """Wait until the targets' lab_client_large_uploads_enabled has been seen going 0 -> 1
    (or starting at 1) and 1 -> 0 at least `cycles` times each, plus a few quiet seconds;
    return the time."""
    names = " and ".join(target.name for target in targets)

    def completed_cycles() -> int:
        return min(upload_cycles(prom, target.name, since) for target in targets)

    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        done = completed_cycles()
        if done >= cycles:
            log(f"upload cycle seen on/off {done} times ({names})")
            return time.time()
        if time.monotonic() > deadline:
            raise CheckFailed(f"only {done} upload on/off cycles ({names}) after {timeout:.0f} s")
        if time.monotonic() - last_report > 15:
            log(f"waiting for {cycles} upload on/off cycles of {names} ({done} so far)")
            last_report = time.monotonic()
        time.sleep(2)


def evaluate_panel_queries(prom: Prometheus, start: float, end: float, verbose: bool) -> list[str]:
    """Every dashboard query, expanded as Grafana would for this range, once with each target
    chosen in the `$target` selector; returns `<target>: <query>` for each that returned no
    data, or a series not labelled with that target (a query that mixes or drops targets)."""
    board = dash.load_dashboard()
    failed = []
    for target in TARGETS:
        variables = dash.variable_values(board, {"target": target.name})
        for query in dash.panel_queries(board):
            ready = dash.interpolate(query, end - start, variables=variables)
            left = dash.unexpanded_variables(ready.expr)
            if left:
                raise CheckFailed(f"{query.name}: unexpanded Grafana variables {left}")
            if query.instant:
                result = prom.query(ready.expr, at=end)
                finite = [v for v in (float(s["value"][1]) for s in result) if math.isfinite(v)]
                shown = ", ".join(f"{v:g}" for v in finite[:4])
            else:
                result = prom.query_range(ready.expr, start, end, ready.step_seconds)
                finite = [p for s in result for p in finite_points(s)]
                shown = f"{len(result)} series, {len(finite)} points"
            labelled = {s["metric"].get("target") for s in result}
            ok = bool(finite) and labelled == {target.name}
            if verbose:
                status = "ok" if ok else ("EMPTY" if not finite else "LABEL")
                print(f"  [{status:5}] {target.name:8} {query.name}: {shown}"
                      + ("" if ok or not finite else f"; target labels {sorted(map(str, labelled))}"),
                      flush=True)
            if not ok:
                failed.append(f"{target.name}: {query.name}")
    return failed


def check_panel_queries(prom: Prometheus, start: float, timeout: float) -> float:
    """Poll until every dashboard query returns data over [start, now] for every target;
    fail after `timeout`. Returns the end of the range that passed."""
    deadline = time.monotonic() + timeout
    while True:
        end = time.time()
        final = time.monotonic() > deadline
        failed = evaluate_panel_queries(prom, start, end, verbose=False)
        if not failed or final:
            failed = evaluate_panel_queries(prom, start, end, verbose=True)
            if failed:
                raise CheckFailed(f"{len(failed)} dashboard queries returned no data for their target: {failed}")
            log(f"all {len(dash.panel_queries(dash.load_dashboard()))} dashboard queries returned data "
                f"for {' and '.join(t.name for t in TARGETS)} over the last {end - start:.0f} s")
            return end
        time.sleep(3)


MIN_SMALL_PER_PHASE = 150


def burst_vs_quiet(prom: Prometheus, start: float, min_ratio: float, timeout: float) -> float:
    """Wait until both phases hold at least MIN_SMALL_PER_PHASE small requests (on a loaded
    machine the uploads' backlog eats into the pauses), then require p95(bursts) to be at
    least `min_ratio` x p95(between bursts). Returns the end of the analysed range."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    while True:
        end = time.time()
        result = split_small_latency(prom, CHECKED.name, start, end)
        enough = min(result["burst_count"], result["quiet_count"]) >= MIN_SMALL_PER_PHASE
        if enough or time.monotonic() > deadline:
            break
        if time.monotonic() - last_report > 15:
            log(f"{CHECKED.name} small requests so far: {result['burst_count']:.0f} during bursts, "
                f"{result['quiet_count']:.0f} between (need {MIN_SMALL_PER_PHASE} each)")
            last_report = time.monotonic()
        time.sleep(5)
    log(f"{CHECKED.name} small requests, WORKERS=1 /ping: " + rounded_json(result))
    for phase in ("burst", "quiet"):
        if result[f"{phase}_count"] < MIN_SMALL_PER_PHASE:
            raise CheckFailed(f"too few small requests in the {phase} phase after {timeout:.0f} s: "
                              f"{result[f'{phase}_count']:.0f}")
    ratio = result["burst_p95_ms"] / result["quiet_p95_ms"]
    if not ratio >= min_ratio:
        raise CheckFailed(
            f"small-request p95 during bursts ({result['burst_p95_ms']:.1f} ms) is not clearly above "
            f"p95 between bursts ({result['quiet_p95_ms']:.1f} ms): ratio {ratio:.2f} < {min_ratio}")
    log(f"{CHECKED.name}: p95 during bursts is {ratio:.1f}x p95 between bursts (need >= {min_ratio}): ok")
    return end


def rounded_json(values: dict) -> str:
    return json.dumps({k: (round(v, 2) if isinstance(v, float) and math.isfinite(v) else
                           (None if isinstance(v, float) else v)) for k, v in values.items()})


def side_by_side(prom: Prometheus, windows: dict[str, tuple[float, float]]) -> None:
    """Every target's numbers, each over its own run with the same settings and workload
    (target name -> (start, end)), printed beside each other: small p95 during its bursts and
    between them, the large median, the worst worker's event-loop lag p99, the client's
    outcomes and the share of server scrapes that succeeded. Only printed: the lab asserts its
    own server's effect above, and the rest is what the run saw."""
    for target in TARGETS:
        start, end = windows[target.name]
        window = f"{int(end - start)}s"
        only = f'target="{target.name}"'

        def value(expr: str) -> float:
            result = prom.query(expr, at=end)
            return float(result[0]["value"][1]) if result else math.nan

        large_median = value(
            f"histogram_quantile(0.5, sum by (le) "
            f'(increase(lab_client_request_duration_seconds_bucket{{class="large", {only}}}[{window}])))')
        lag_p99 = value(
            f"max(histogram_quantile(0.99, sum by (worker, le) "
            f"(increase(lab_server_event_loop_lag_seconds_bucket{{{only}}}[{window}]))))")
        scraped = value(f'avg_over_time(up{{job="{target.server_job}"}}[{window}])')
        outcomes = {}
        for series in prom.query(
                f"sum by (class, outcome) (increase(lab_client_requests_total{{{only}}}[{window}]))", at=end):
            count = round(float(series["value"][1]))
            if count:
                outcomes[f"{series['metric']['class']} {series['metric']['outcome']}"] = count
        split = split_small_latency(prom, target.name, start, end)
        log(f"side by side, {target.name} (WORKERS=1, /ping, {int(end - start)} s): " + rounded_json({
            "small_p95_ms_during_uploads": split["burst_p95_ms"],
            "small_p95_ms_between_bursts": split["quiet_p95_ms"],
            "small_p50_ms_during_uploads": split["burst_p50_ms"],
            "small_during_uploads": split["burst_count"],
            "small_between_bursts": split["quiet_count"],
            "large_median_ms": large_median * 1000,
            "event_loop_lag_p99_ms_worst_worker": lag_p99 * 1000,
            "server_scrapes_succeeded": scraped,
        }) + f" requests: {json.dumps(outcomes, sort_keys=True)}")
    log("(a server scrape waits behind a 25 MB parse like any request, with a 1 s timeout, so "
        "server-side numbers miss the worst moments; the client's are served from their own thread)")


def check_grafana_datasource_url(stack: Stack) -> None:
    """Grafana cannot run here, but the URL its provisioned datasource uses must answer PromQL
    from inside the compose network: a one-off container of the server's image asks it."""
    url = check_datasource_answers(
        lambda probe: stack.run("run", "--rm", "--no-deps", "--entrypoint", "bash", "server", "-c", probe,
                                capture=True, check=False),
        "max(lab_server_workers)", "the compose network")
    log(f"Grafana's datasource url {url} answers PromQL inside the compose network")


def check_workers(prom: Prometheus, target: Target, server_url: str, expected: int) -> None:
    health = wait_for(
        f"{target.name} /healthz reporting {expected} workers",
        lambda: (lambda h: h if h.get("workers") == expected else None)(healthz(server_url)),
        timeout=120,
    )
    log(f"{target.name} /healthz: {health}")
    value = wait_for(
        f"lab_server_workers{{target=\"{target.name}\"}} == {expected} in Prometheus",
        lambda: prom.scalar(f'max(lab_server_workers{{target="{target.name}"}})') == expected, timeout=60)
    board = dash.load_dashboard()
    board_query = next(q for q in dash.panel_queries(board) if q.panel_title == "Server workers")
    ready = dash.interpolate(board_query, 60, variables=dash.variable_values(board, {"target": target.name}))
    shown = prom.scalar(ready.expr)
    if shown != expected:
        raise CheckFailed(f"the dashboard's 'Server workers' query shows {shown} for {target.name}, not {expected}")
    log(f"{target.name}: lab_server_workers and the 'Server workers' panel report {expected}: {value}")


def check_results_csv(target: Target, run_id: str, both_classes: bool = True) -> Path:
    """The run's two CSV files with the contract's columns; with `both_classes`, small and large
    requests in it (a run a server change opened just before the stop may have had no request
    at all)."""
    run_dir = RESULTS / target.results_subdir / run_id
    requests = run_dir / "requests.csv"
    summary = run_dir / "summary.csv"
    wait_for(f"{requests} and {summary}", lambda: requests.is_file() and summary.is_file(), timeout=60)
    rows = read_rows(requests, REQUESTS_CSV_COLUMNS)
    classes = {row["class"] for row in rows}
    if both_classes and (not rows or not {"small", "large"} <= classes):
        raise CheckFailed(f"{requests}: {len(rows)} rows, classes {classes}")
    summary_rows = read_rows(summary, SUMMARY_CSV_COLUMNS)
    log(f"{requests.relative_to(REPO)}: {len(rows)} rows; summary: "
        + "; ".join(f"{r['class']} count={r['count']} p95={r['p95_ms']} ms" for r in summary_rows))
    return run_dir


def check_export(prometheus_url: str, start: float, end: float) -> None:
    out = RESULTS / f"e2e-export-{int(start)}"
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "export.py"), "--prometheus", prometheus_url,
         "--start", f"{start:.0f}", "--end", f"{end:.0f}", "--out", str(out)],
        check=True,
    )
    files = sorted(out.glob("*.csv"))
    queries = dash.panel_queries(dash.load_dashboard())
    if len(files) < len(queries):
        raise CheckFailed(f"export wrote {len(files)} CSV files for {len(queries)} queries")
    # The export takes the dashboard's default selection (All): every target, labelled.
    with open(files[0], newline="") as file:
        exported = {row.get("target") for row in csv.DictReader(file)}
    if not {t.name for t in TARGETS} <= exported:
        raise CheckFailed(f"{files[0].name}: targets {sorted(map(str, exported))}, not every one of the run")
    log(f"export: {len(files)} CSV files in {out.relative_to(REPO)}, every target in them")


def replica_dirs(target: Target, run_id: str) -> list[Path]:
    """The run directories the target's load generators wrote for RUN_ID: one per replica
    (`<run-id>-replica-<container id>`), and `-2`, `-3`… after it for the runs a server
    change started."""
    return sorted((RESULTS / target.results_subdir).glob(f"{run_id}-replica-*"))


def check_owned_by(dirs: list[Path], owner: tuple[int, int]) -> None:
    """Every directory of `dirs` and everything under it belongs to `owner`."""
    paths = [path for run_dir in dirs for path in [run_dir, *sorted(run_dir.rglob("*"))]]
    wrong = [f"{p.relative_to(REPO)} {p.stat().st_uid}:{p.stat().st_gid}" for p in paths
             if (p.stat().st_uid, p.stat().st_gid) != owner]
    if not paths or wrong:
        raise CheckFailed(f"results not owned by {owner[0]}:{owner[1]} (the owner of ./results): {wrong}")
    log(f"{len(paths)} results paths, every one owned by {owner[0]}:{owner[1]}, the owner of ./results")


def check_run_split(stack: Stack, prom: Prometheus, run_env: dict[str, str]) -> None:
    """WORKERS=2 for the server alone, as `WORKERS=2 docker compose up -d` does it (the load
    generator keeps running): the load generator ends its run there and opens another."""
    actix = TARGETS[0]
    runs = prom.scalar('sum(lab_client_runs_total{target="actix"})')
    log(f"WORKERS=2 up -d server (the loadgen keeps running; runs so far: {runs})")
    stack.up(dict(run_env, WORKERS="2"), ["server"])
    wait_for('lab_client_run_info{server_workers="2"} in Prometheus',
             lambda: prom.scalar('max(lab_client_run_info{target="actix", server_workers="2"})') == 1,
             timeout=120)
    after = prom.scalar('sum(lab_client_runs_total{target="actix"})')
    if after != runs + 1:
        raise CheckFailed(f"lab_client_runs_total went from {runs} to {after}, not up by one")
    dirs = replica_dirs(actix, run_env["RUN_ID"])
    closed = [d for d in dirs if (d / "summary.csv").is_file()]
    opened = [d for d in dirs if d.name.endswith("-2")]
    if len(dirs) != 2 or len(closed) != 1 or len(opened) != 1 or closed[0] == opened[0]:
        raise CheckFailed(f"after the WORKERS change: {[d.name for d in dirs]}, closed {closed}")
    summary = list(csv.DictReader(open(closed[0] / "summary.csv", newline="")))
    log(f"the WORKERS change split the run: {closed[0].name} closed with "
        + "; ".join(f"{r['class']} count={r['count']}" for r in summary)
        + f", {opened[0].name} measures 2 workers")


def check_replicas(stack: Stack, prom: Prometheus, run_env: dict[str, str], replicas: int) -> None:
    """`--scale loadgen=N`: every replica scraped (DNS discovery), its own run directory, and
    the dashboard's summed-buckets quantile over all of them."""
    log(f"--scale loadgen={replicas}")
    stack.run("up", "-d", "--no-build", "--no-recreate", "--scale", f"loadgen={replicas}", "loadgen",
              env=dict(run_env, WORKERS="2"))
    wait_for(f"{replicas} lab-loadgen targets up",
             lambda: targets_up(prom, "lab-loadgen") == replicas, timeout=90)
    wait_for(f"small requests from {replicas} replicas",
             lambda: prom.scalar('count(sum by (instance) (rate(lab_client_requests_total{class="small", '
                                 'target="actix"}[10s])) > 0)') == replicas, timeout=60)
    time.sleep(15)
    per_replica = prom.query('sum by (instance) (rate(lab_client_requests_total{class="small", target="actix"}[15s]))')
    rates = {series["metric"]["instance"]: float(series["value"][1]) for series in per_replica}
    total = prom.scalar('sum(rate(lab_client_requests_total{class="small", target="actix"}[15s]))')
    merged_p95 = small_p95_over_replicas(prom, "15s", target="actix")
    scraped = {instance: share for (_, instance), share in scrape_success(prom, ["lab-loadgen"], "15s").items()}
    if len(scraped) != replicas or min(scraped.values()) < 0.9:
        raise CheckFailed(f"share of successful scrapes per replica over 15 s: {scraped}")
    if len(rates) != replicas or total is None or abs(total - sum(rates.values())) > 0.05 * total:
        raise CheckFailed(f"per-replica rates {rates} do not add up to {total}")
    if merged_p95 is None or not math.isfinite(merged_p95):
        raise CheckFailed(f"no small-request p95 over the replicas: {merged_p95}")
    dirs = [d for d in replica_dirs(TARGETS[0], run_env["RUN_ID"]) if not (d / "summary.csv").is_file()]
    if len({replica_of(d.name, run_env["RUN_ID"]) for d in dirs}) != replicas:
        raise CheckFailed(f"{replicas} replicas, open run directories {[d.name for d in dirs]}")
    log(f"{replicas} replicas scraped (share of scrapes that succeeded over 15 s: {rounded_json(scraped)}): "
        f"small req/s per replica {rounded_json(rates)}, sum {total:.2f}; "
        f"small p95 over all replicas (buckets summed) {merged_p95 * 1000:.1f} ms; "
        f"one open run directory each: {[d.name for d in dirs]}")


def merge_replicas(run_id: str) -> None:
    """lab-loadgen-merge on the replicas' last runs: merged and per-replica percentiles."""
    latest: dict[str, Path] = {}
    for run_dir in replica_dirs(TARGETS[0], run_id):
        latest[replica_of(run_dir.name, run_id)] = run_dir  # sorted: -2 after the first
    out = RESULTS / f"{run_id}-merged"
    result = subprocess.run(
        [str(REPO / "target" / "release" / "lab-loadgen-merge"), "--out", str(out), *map(str, latest.values())],
        capture_output=True, text=True, check=False)
    print(result.stdout, result.stderr, sep="", flush=True)
    if result.returncode != 0 or not (out / "summary.csv").is_file():
        raise CheckFailed(f"lab-loadgen-merge failed: {result.stderr}")
    rows = sum(1 for _ in open(out / "requests.csv")) - 1
    log(f"merged {len(latest)} replicas' last runs into {out.relative_to(REPO)} ({rows} rows)")


def probe_the_peer(stack: Stack, owner: tuple[int, int]) -> None:
    """lab-probe from the lab's image on the compose network against the FastAPI peer, with
    both load generators stopped (the peer then serves the probe alone): its files checked
    and owned by the owner of ./results, its verdict printed."""
    log("stop loadgen and loadgen-fastapi; lab-probe from the lab's image against the FastAPI peer")
    stack.run("stop", "loadgen", "loadgen-fastapi")  # each within its stop_grace_period
    verdict, probe_dir = run_probe(PEER_PROBE, RUNTIME_STANDIN, NETWORK, owner, log)
    log(f"{probe_dir.relative_to(REPO)}: {check_probe_files(PEER_PROBE, probe_dir, verdict)}")
    check_owned_by([probe_dir], owner)
    log(f"lab-probe's verdict on the FastAPI peer: {verdict}")


# --- main --------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_skip_cargo_option(parser)
    parser.add_argument("--keep", action="store_true", help="leave the stack running at the end (debugging)")
    parser.add_argument("--cycles", type=int, default=2, help="upload on/off cycles to observe (default 2)")
    parser.add_argument("--min-ratio", type=float, default=3.0,
                        help="required p95(bursts) / p95(between bursts) with WORKERS=1 (default 3)")
    args = parser.parse_args()

    # SIGTERM (CI timeout, docker stop) -> the same cleanup as Ctrl-C.
    sigterm_raises_interrupt()

    defaults = read_env_file()
    env = dict(os.environ)
    # The compose defaults: the loadgen starts as root and writes as the owner of ./results.
    env.pop("LAB_UID", None)
    env.pop("LAB_GID", None)
    owner, restore_results = claim_results()
    stamp = time.strftime("%Y%m%dT%H%M%S")
    run_env = dict(env, WORKERS="1", FASTAPI_WORKERS="1", ENDPOINT="/ping", RUN_ID=f"e2e-{stamp}-workers1")
    prometheus_url = f"http://127.0.0.1:{host_port(env, 'PROMETHEUS_PORT', defaults.get('PROMETHEUS_PORT', '9090'))}"
    server_urls = {
        target.name: f"http://127.0.0.1:{host_port(env, target.port_variable, defaults[target.port_variable])}"
        for target in TARGETS
    }
    prom = Prometheus(prometheus_url)

    total = time.monotonic()
    build_binaries_and_images(args.skip_cargo, log)
    promtool_check()

    stack = Stack(run_env)
    stack.down()  # leftovers of an interrupted run
    actix, fastapi = TARGETS
    ok = False
    try:
        # First run: the lab as users start it without the profile (actix alone on the
        # machine, so its bursts and pauses are its own).
        log(f"up {ACTIX_SERVICES} with WORKERS=1 ENDPOINT=/ping "
            f"LARGE_ON={env.get('LARGE_ON', defaults['LARGE_ON'])} "
            f"LARGE_OFF={env.get('LARGE_OFF', defaults['LARGE_OFF'])}")
        up_started = time.monotonic()
        stack.up(run_env, ACTIX_SERVICES)
        wait_for_scrapes(prom, [actix])
        start = time.time() - 5
        log(f"scraping after {time.monotonic() - up_started:.0f} s")
        check_workers(prom, actix, server_urls[actix.name], 1)
        check_grafana_datasource_url(stack)
        wait_for_cycles(prom, [actix], start, args.cycles, timeout=300)
        actix_end = burst_vs_quiet(prom, start, args.min_ratio, timeout=240)

        # The profile, same settings and workload: FastAPI on its own for as many upload cycles
        # (actix's loadgen stops, writing its CSV files, so the two servers do not share the
        # machine's two cores while each one's numbers are taken).
        log(f"stop loadgen; --profile {PROFILE} up {FASTAPI_SERVICES} with FASTAPI_WORKERS=1 ENDPOINT=/ping")
        phase_started = time.monotonic()
        # Runs follow the server; replicas; the files' owner.
        check_run_split(stack, prom, run_env)
        check_replicas(stack, prom, run_env, replicas=3)
        stack.run("stop", "--timeout", "40", "loadgen")
        for run_dir in replica_dirs(actix, run_env["RUN_ID"]):
            check_results_csv(actix, run_dir.name)
        check_owned_by(replica_dirs(actix, run_env["RUN_ID"]), owner)
        merge_replicas(run_env["RUN_ID"])
        stack.up(run_env, FASTAPI_SERVICES)
        wait_for_scrapes(prom, [fastapi])
        fastapi_start = time.time() - 5
        check_workers(prom, fastapi, server_urls[fastapi.name], 1)
        fastapi_end = wait_for_cycles(prom, [fastapi], fastapi_start, args.cycles, timeout=300)
        log(f"FastAPI's run took {time.monotonic() - phase_started:.0f} s")
        side_by_side(prom, {actix.name: (start, actix_end), fastapi.name: (fastapi_start, fastapi_end)})

        # Last run, everything up at once as `docker compose --profile fastapi up` starts it,
        # switched through the environment only, as a user would: 4 workers in each server,
        # and /pong, whose phases the "Where server time goes" panel shows (/ping has none).
        log("WORKERS=4 FASTAPI_WORKERS=4 ENDPOINT=/pong via the environment: up -d again, both targets")
        phase_started = time.monotonic()
        stack.up(dict(run_env, WORKERS="4", FASTAPI_WORKERS="4", ENDPOINT="/pong",
                      RUN_ID=f"e2e-{stamp}-workers4-pong"))
        log(f"all five services up again after {time.monotonic() - phase_started:.0f} s")
        for target in TARGETS:
            check_workers(prom, target, server_urls[target.name], 4)
        # FastAPI's first loadgen was replaced (SIGTERM): its CSV files must be there.
        for run_dir in replica_dirs(fastapi, run_env["RUN_ID"]):
            check_results_csv(fastapi, run_dir.name, both_classes=not re.search(r"-\d+$", run_dir.name))
        check_owned_by(replica_dirs(fastapi, run_env["RUN_ID"]), owner)
        end = check_panel_queries(prom, start, timeout=90)
        check_export(prometheus_url, start, end)
        probe_the_peer(stack, owner)
        ok = True
    except KeyboardInterrupt:
        log("interrupted")
        raise
    except (CheckFailed, TimeoutError, subprocess.CalledProcessError) as error:
        log(f"FAILED: {error}")
    finally:
        if not ok:
            stack.dump_logs()
        if args.keep and ok:
            log(f"--keep: stack left running (project {PROJECT})")
        else:
            log("tearing down")
            stack.down()
        restore_results()
    log(f"{'PASSED' if ok else 'FAILED'} in {time.monotonic() - total:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Every Prometheus series the server exports, with lab-server's names, labels and buckets.

The names, kinds, labels and latency buckets are the lab's contract's
(`services/core/contract/lab-contract.json`, written by lab-core), so one dashboard and one
query serve both servers. This image cannot read that file, so the definitions are copied
here and the tests hold them to it (`tests/test_contract.py`, `tests/test_metrics.py`). No
label takes its value from request data: `endpoint` is one of `ENDPOINTS` or `other`, `worker`
an index below WORKERS.

**Several processes, one scrape.** With WORKERS > 1 each worker is a process with its own
memory, and a scrape lands on whichever worker accepts it. prometheus-client's multiprocess
mode solves this: when `PROMETHEUS_MULTIPROC_DIR` is set *before prometheus_client is
imported*, every metric value lives in a small memory-mapped file per process in that
directory, and `/metrics` merges all of them (`MultiProcessCollector`): counters and
histograms are summed, the `live*` gauges summed over live processes only. The launcher
makes a fresh directory for each run and removes it on exit. Without it (the app run by hand
under plain uvicorn) the metrics are this process's own.
"""

from __future__ import annotations

import glob
import os
import re

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .config import Settings

# `_created` series exist only in single-process mode and lab-server has none.
prometheus_client.disable_created_metrics()

#: Set by the launcher: where every process writes its metric files.
MULTIPROC_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The /metrics media type, the same as lab-server's.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

#: Server-side request latency: from when the worker got to the request (headers parsed) to
#: its response. Blind to time spent queued behind a busy event loop.
REQUEST_DURATION = "http_server_request_duration_seconds"
#: Time spent in each phase of a strategy (read_body, parse, compute, drop, blocking_wait).
PHASE_DURATION = "lab_server_phase_duration_seconds"
#: Requests being handled right now, per endpoint.
ACTIVE_REQUESTS = "http_server_active_requests"
#: Size of request bodies, per endpoint.
REQUEST_BODY_SIZE = "http_server_request_body_size_bytes"
#: Strategy requests served by each worker.
REQUESTS_TOTAL = "lab_server_requests_total"
#: TCP connections accepted by each worker (see `connections.py`).
CONNECTIONS_TOTAL = "lab_server_connections_total"
#: WORKERS as configured.
WORKERS = "lab_server_workers"
#: KEEP_ALIVE in seconds as configured (0 = off).
KEEP_ALIVE_SECONDS = "lab_server_keep_alive_seconds"
#: BLOCKING_THREADS as configured (per worker).
BLOCKING_THREADS = "lab_server_blocking_threads"
#: How late each worker's lag-probe timer woke: time its event loop was busy elsewhere.
EVENT_LOOP_LAG = "lab_server_event_loop_lag_seconds"
#: Uploads stopped before their end, by reason: `idle` (BODY_IDLE_TIMEOUT without a byte),
#: `too_slow` (below BODY_MIN_RATE_KB), `over_budget` (BODY_BUDGET_MB spent), `too_large`
#: (MAX_BODY_MB passed).
UPLOADS_CUT_OFF = "lab_server_uploads_cut_off_total"
#: Bytes of bodies and parses charged to BODY_BUDGET_MB right now (all workers summed).
BUDGET_IN_USE = "lab_server_body_budget_in_use_bytes"
#: BODY_BUDGET_MB in bytes (the workers' shares summed).
BUDGET_CAPACITY = "lab_server_body_budget_bytes"

#: The `reason` label values of UPLOADS_CUT_OFF: lab-server's but `shutdown` (an upload still
#: arriving when the graceful shutdown's SHUTDOWN_TIMEOUT ends is dropped, not counted).
CUT_OFF_REASONS = ("idle", "too_slow", "over_budget", "too_large")

#: The strategy endpoints' label values; every other path is labelled `OTHER_ENDPOINT`.
ENDPOINTS = ("ping", "pong", "offload", "drain")
#: Label value for every path that is not a strategy endpoint.
OTHER_ENDPOINT = "other"

#: Bodies below this are `small`; from here to `MEDIUM_BODY_BELOW` `medium`; then `large`.
SMALL_BODY_BELOW = 64 * 1024
MEDIUM_BODY_BELOW = 1024 * 1024

# lab-core's latency buckets (the contract's `latency_buckets_seconds`): 0.5 ms growing by 1.2 per step,
# 56 bounds (up to ~11 s), each rounded to three significant digits. A quantile read from a
# histogram is interpolated inside one bucket, so 20%-wide buckets keep its error under 20%.
FIRST_BOUND_SECONDS = 0.0005
GROWTH = 1.2
BOUND_COUNT = 56
SIGNIFICANT_DIGITS = 3


def latency_buckets_seconds() -> list[float]:
    """lab-core's latency bucket bounds, computed the way the Rust code computes them."""
    return [
        float(f"{FIRST_BOUND_SECONDS * GROWTH**step:.{SIGNIFICANT_DIGITS - 1}e}")
        for step in range(BOUND_COUNT)
    ]


#: Body-size buckets: powers of 4 from 1 KiB to 256 MiB (64 KiB and 1 MiB are bounds, so the
#: buckets line up with the size classes).
BODY_SIZE_BUCKETS = [1024.0 * 4**step for step in range(10)]

LATENCY = latency_buckets_seconds()

request_duration = Histogram(
    REQUEST_DURATION,
    "Server-side request latency: from the worker picking up the request to the response; "
    "blind to time queued behind a busy event loop.",
    ["endpoint", "size_class", "status"],
    buckets=LATENCY,
)
phase_duration = Histogram(
    PHASE_DURATION,
    "Time in each phase of a strategy: read_body, parse, compute, drop (and blocking_wait "
    "for /offload).",
    ["endpoint", "phase"],
    buckets=LATENCY,
)
active_requests = Gauge(
    ACTIVE_REQUESTS,
    "Requests being handled right now.",
    ["endpoint"],
    multiprocess_mode="livesum",
)
request_body_size = Histogram(
    REQUEST_BODY_SIZE,
    "Request body sizes in bytes.",
    ["endpoint"],
    buckets=BODY_SIZE_BUCKETS,
)
requests_total = Counter(
    REQUESTS_TOTAL,
    "Strategy requests served by each worker (event loop).",
    ["worker"],
)
connections_total = Counter(
    CONNECTIONS_TOTAL,
    "TCP connections accepted by each worker.",
    ["worker"],
)
event_loop_lag = Histogram(
    EVENT_LOOP_LAG,
    "How late each worker's periodic timer woke up: the time its event loop was busy with "
    "something else.",
    ["worker"],
    buckets=LATENCY,
)
uploads_cut_off = Counter(
    UPLOADS_CUT_OFF,
    "Uploads stopped before their end: idle (BODY_IDLE_TIMEOUT), too_slow (BODY_MIN_RATE_KB), "
    "over_budget (BODY_BUDGET_MB), too_large (MAX_BODY_MB).",
    ["reason"],
)
# Each worker sets its own share and what it holds; `livesum` adds the live workers' values,
# so the scrape shows the whole budget, as lab-server's single counter does.
body_budget_in_use = Gauge(
    BUDGET_IN_USE,
    "Bytes of request bodies and parsed maps charged to BODY_BUDGET_MB right now.",
    multiprocess_mode="livesum",
)
body_budget_capacity = Gauge(
    BUDGET_CAPACITY,
    "BODY_BUDGET_MB in bytes (all workers).",
    multiprocess_mode="livesum",
)
# Configuration gauges: every worker sets the same value; `max` shows it once.
workers_gauge = Gauge(WORKERS, "Number of worker processes (event loops).", multiprocess_mode="max")
keep_alive_gauge = Gauge(
    KEEP_ALIVE_SECONDS,
    "Server keep-alive in seconds; 0 = the server closes each connection after one response.",
    multiprocess_mode="max",
)
blocking_threads_gauge = Gauge(
    BLOCKING_THREADS,
    "Threads each worker lets /offload use.",
    multiprocess_mode="max",
)


def size_class(body_bytes: int) -> str:
    """The `size_class` label of a body of `body_bytes` bytes."""
    if body_bytes < SMALL_BODY_BELOW:
        return "small"
    if body_bytes < MEDIUM_BODY_BELOW:
        return "medium"
    return "large"


def endpoint_label(path: str) -> str:
    """The `endpoint` label of a path: a strategy name, or `other`. Never the raw path."""
    name = path[1:] if path.startswith("/") else path
    return name if name in ENDPOINTS else OTHER_ENDPOINT


def start_worker(settings: Settings) -> None:
    """Sets the configuration gauges and creates the per-worker and per-endpoint series at
    zero, so dashboards and `rate()` see them from the first scrape."""
    workers_gauge.set(settings.workers)
    keep_alive_gauge.set(settings.keep_alive)
    blocking_threads_gauge.set(settings.blocking_threads)
    for worker in range(settings.workers):
        requests_total.labels(worker=str(worker))
        connections_total.labels(worker=str(worker))
    for endpoint in ENDPOINTS:
        active_requests.labels(endpoint=endpoint)
    for reason in CUT_OFF_REASONS:
        uploads_cut_off.labels(reason=reason)
    body_budget_capacity.set(settings.body_budget_bytes_per_worker)
    body_budget_in_use.set(0)


_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


def _forget_dead_processes(directory: str) -> None:
    """Drops the live gauges of processes that are gone (a worker that crashed with requests
    in flight would otherwise count as active forever). Counters and histograms keep a dead
    worker's values: they must never go down."""
    for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
        match = _LIVE_GAUGE_FILE.search(path)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)
        except PermissionError:
            pass


def render() -> bytes:
    """Every series in the Prometheus text format: all workers' when the launcher set up the
    multiprocess directory, this process's own otherwise."""
    directory = os.environ.get(MULTIPROC_DIR_ENV)
    if not directory:
        return generate_latest(prometheus_client.REGISTRY)
    _forget_dead_processes(directory)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return generate_latest(registry)

"""A real Prometheus scraping stand-in exporters, for the tests that evaluate the dashboard's
queries and annotations (tests/dashboard/test_replicas_live.py).

Grafana cannot run here, but Prometheus can (Debian's `prometheus` package): the queries are
the dashboard's own, evaluated by the real PromQL engine over series Prometheus really
scraped. Only the exporters are stand-ins: small HTTP servers that serve the lab's metric
names in the text format, each as one scrape target:

    server            lab-server (job lab-server): workers, keep-alive, process start time, the
                      body budget and the uploads cut off
    loadgen a, b      two replicas of lab-loadgen (job lab-loadgen, one `instance` each)
    fastapi           the FastAPI server (job fastapi)
    loadgen-fastapi   its load generator (job loadgen-fastapi)

The stand-ins' series carry the contract's names (`tests/dashboard/test_stand_ins.py` holds them to
it). The scrape configuration is the repository's prometheus.yml, each job's discovery (DNS or a
listed host) replaced by the stand-ins' addresses, so the `target` labels come from the real
configuration. The scenario (`LiveLab.run`) changes the stand-ins at known times: an upload
burst on one replica (during which the server holds most of its body budget and cuts uploads
off as over budget), the server reconfigured (both replicas start a new run), the server
restarted after a gap in its scrapes (counting from zero, and counting one cut-off reason more
than before: a build from before that reason existed replaced by today's), FastAPI
reconfigured on its own.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from labcontract import CONTRACT
from labtools.prometheus import Prometheus, wait_for

#: Upper bounds of the stand-in client histogram (seconds); +Inf is added.
BUCKETS = [0.001, 0.005, 0.025, 0.1, 0.5, 1.0]
MIB = 1024 * 1024
#: A reason the restarted actix stand-in counts and the first one did not: the dashboard must
#: show it unedited.
NEW_CUT_OFF_REASON = CONTRACT.cut_off_reason("shutdown")
#: The `reason` values of lab_server_uploads_cut_off_total the actix stand-in counts before its
#: restart: the contract's, but the new one.
ACTIX_CUT_OFF_REASONS = tuple(reason for reason in CONTRACT.cut_off_reasons if reason != NEW_CUT_OFF_REASON)
#: The FastAPI stand-in's: the FastAPI server counts every contract reason but `shutdown` (its
#: tests hold it to that: services/fastapi/tests/test_metrics.py).
FASTAPI_CUT_OFF_REASONS = tuple(reason for reason in CONTRACT.cut_off_reasons if reason != "shutdown")


class Exporter:
    """One scrape target: /metrics answers `render()` at the time of the scrape, or 503 while
    `down` (a server being restarted)."""

    def __init__(self, render):
        self.render = render
        self.down = False
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if exporter.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class LinearCounter:
    """A counter that grows at a set rate (per second), so every rate() of it is exact."""

    def __init__(self):
        self.base, self.rate, self.since = 0.0, 0.0, time.time()

    def value(self) -> float:
        return self.base + self.rate * (time.time() - self.since)

    def set_rate(self, per_second: float):
        now = time.time()
        self.base += self.rate * (now - self.since)
        self.rate, self.since = per_second, now


@dataclass
class Server:
    """lab-server's settings series, its body budget and its cut-off counter (the FastAPI
    server's have the same names)."""

    workers: int = 1
    keep_alive: int = 5
    start_time: float = field(default_factory=time.time)
    process_metrics: bool = True
    budget_bytes: int = 1024 * MIB
    in_use_bytes: int = 0
    cut_off_reasons: tuple[str, ...] = ACTIX_CUT_OFF_REASONS
    cut_offs: dict[str, LinearCounter] = field(init=False)

    def __post_init__(self):
        self.cut_offs = {reason: LinearCounter() for reason in self.cut_off_reasons}

    def render(self) -> str:
        lines = [f"lab_server_workers {self.workers}", f"lab_server_keep_alive_seconds {self.keep_alive}",
                 f"lab_server_body_budget_in_use_bytes {self.in_use_bytes}",
                 f"lab_server_body_budget_bytes {self.budget_bytes}",
                 "# TYPE lab_server_uploads_cut_off_total counter"]
        lines += [f'lab_server_uploads_cut_off_total{{reason="{reason}"}} {counter.value()}'
                  for reason, counter in self.cut_offs.items()]
        if self.process_metrics:
            lines.append(f"process_start_time_seconds {self.start_time:.3f}")
        return "\n".join(lines) + "\n"

    def restart(self, cut_off_reasons: tuple[str, ...] | None = None):
        """A new process: a new start time, nothing held, every counter from zero (with
        `cut_off_reasons`, a build that counts other reasons)."""
        self.start_time = time.time()
        self.in_use_bytes = 0
        self.cut_off_reasons = cut_off_reasons or self.cut_off_reasons
        self.cut_offs = {reason: LinearCounter() for reason in self.cut_off_reasons}


@dataclass
class Loadgen:
    """One lab-loadgen replica: small requests at `rate` per second, all taking `latency`
    seconds (counters grow linearly with time, so every rate() of them is exact)."""

    replica: str
    rate: float
    latency: float
    uploads: int = 0
    runs: int = 1
    run_id: str = "run-1"
    server_workers: int = 1
    server_keep_alive: int = 5
    born: float = field(default_factory=time.time)

    def render(self) -> str:
        count = self.rate * (time.time() - self.born)
        lines = ["# TYPE lab_client_request_duration_seconds histogram"]
        for bound in BUCKETS:
            inside = count if self.latency <= bound else 0.0
            lines.append(f'lab_client_request_duration_seconds_bucket{{class="small",le="{bound}"}} {inside}')
        lines += [
            f'lab_client_request_duration_seconds_bucket{{class="small",le="+Inf"}} {count}',
            f'lab_client_request_duration_seconds_sum{{class="small"}} {count * self.latency}',
            f'lab_client_request_duration_seconds_count{{class="small"}} {count}',
            "# TYPE lab_client_requests_total counter",
            f'lab_client_requests_total{{class="small",outcome="ok"}} {count}',
            f'lab_client_requests_in_flight{{class="large"}} {self.uploads}',
            f'lab_client_info{{connection="new",endpoint="/ping",pool="per-class",replica="{self.replica}",schedule="open"}} 1',
            f"lab_client_large_uploads_enabled {self.uploads}",
            "# TYPE lab_client_runs_total counter",
            f"lab_client_runs_total {self.runs}",
            f'lab_client_run_info{{run_id="{self.run_id}",server_keep_alive_seconds="{self.server_keep_alive}",'
            f'server_workers="{self.server_workers}"}} 1',
        ]
        return "\n".join(lines) + "\n"

    def new_run(self, workers: int, keep_alive: int):
        """What lab-loadgen does when /healthz shows other settings: count a run, show only it."""
        self.runs += 1
        self.run_id = f"run-{self.runs}"
        self.server_workers, self.server_keep_alive = workers, keep_alive


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape_config(repo, targets: dict[str, list[str]]) -> dict:
    """The repository's prometheus.yml with each job's targets replaced by `targets[job]`;
    labels and relabelling stay as written. Jobs not in `targets` are left out."""
    import yaml

    config = yaml.safe_load((repo / "prometheus.yml").read_text())
    jobs = []
    for job in config["scrape_configs"]:
        name = job["job_name"]
        if name not in targets:
            continue
        labels = {}
        for static in job.pop("static_configs", []):
            labels.update(static.get("labels", {}))
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": targets[name], **({"labels": labels} if labels else {})}]
        jobs.append(job)
    config["scrape_configs"] = jobs
    return config


@dataclass
class LiveLab:
    """The stand-ins, Prometheus, and the times at which the scenario changed something."""

    prom: Prometheus
    server: Server
    server_exporter: Exporter
    replicas: dict[str, Loadgen]
    instances: dict[str, str]
    fastapi: Server
    fastapi_loadgen: Loadgen
    marks: dict[str, float] = field(default_factory=dict)
    #: What the server holds of its body budget during the upload burst, and how many uploads
    #: a second it cuts off as over budget meanwhile.
    BURST_IN_USE_BYTES: ClassVar[int] = 768 * MIB
    BURST_CUT_OFFS_PER_SECOND: ClassVar[float] = 2.0
    BURST_CUT_OFF_REASON: ClassVar[str] = CONTRACT.cut_off_reason("over_budget")
    #: The reasons actix counts before its restart, and the one it counts from then on too.
    FIRST_CUT_OFF_REASONS: ClassVar[tuple[str, ...]] = ACTIX_CUT_OFF_REASONS
    NEW_CUT_OFF_REASON: ClassVar[str] = NEW_CUT_OFF_REASON

    def run(self):
        """The scenario, 3 to 4 scrapes between steps (scrapes are 1 s apart)."""
        a, b = self.replicas["a"], self.replicas["b"]
        self.marks["start"] = time.time()
        time.sleep(5)
        # FastAPI reconfigured: its own marker, never actix's.
        self.marks["fastapi_reconfigured"] = time.time()
        self.fastapi.workers = 2
        self.fastapi_loadgen.new_run(2, 5)
        # An upload burst on replica a only; the server holds 3/4 of its budget and cuts
        # uploads off as over budget.
        self.marks["uploads_on"] = time.time()
        a.uploads = 1
        self.server.in_use_bytes = self.BURST_IN_USE_BYTES
        self.server.cut_offs[self.BURST_CUT_OFF_REASON].set_rate(self.BURST_CUT_OFFS_PER_SECOND)
        time.sleep(4)
        # The server reconfigured (WORKERS=4); both replicas notice and start a new run.
        self.marks["reconfigured"] = time.time()
        self.server.workers = 4
        a.new_run(4, 5)
        b.new_run(4, 5)
        time.sleep(4)
        self.marks["uploads_off"] = time.time()
        a.uploads = 0
        self.server.in_use_bytes = 0
        self.server.cut_offs[self.BURST_CUT_OFF_REASON].set_rate(0.0)
        # The server restarts: 3 s without a scrape, then a new process that counts one
        # cut-off reason more.
        self.server_exporter.down = True
        time.sleep(3)
        self.server.restart(cut_off_reasons=(*ACTIX_CUT_OFF_REASONS, NEW_CUT_OFF_REASON))
        self.server_exporter.down = False
        self.marks["restarted"] = time.time()
        time.sleep(5)
        self.marks["end"] = time.time()


@pytest.fixture
def stand_in_scrapes() -> dict[str, str]:
    """What each kind of stand-in serves, without Prometheus: actix before and after its
    restart (mid-burst, so every series has a value), FastAPI, and a load generator uploading."""
    actix = Server(in_use_bytes=LiveLab.BURST_IN_USE_BYTES)
    before = actix.render()
    actix.restart(cut_off_reasons=(*ACTIX_CUT_OFF_REASONS, NEW_CUT_OFF_REASON))
    fastapi = Server(process_metrics=False, cut_off_reasons=FASTAPI_CUT_OFF_REASONS)
    return {"actix": before, "actix restarted": actix.render(), "fastapi": fastapi.render(),
            "loadgen": Loadgen("a", rate=9.0, latency=0.003, uploads=1).render()}


@pytest.fixture(scope="session")
def live_lab(repo, tmp_path_factory):
    """Prometheus scraping the stand-ins through the scenario above; skipped without the
    `prometheus` binary."""
    import yaml

    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not installed (apt-get install prometheus)")
    workdir = tmp_path_factory.mktemp("live-prometheus")
    server = Server()
    # Multiprocess prometheus-client: no process_* series; the budget is the workers' shares summed.
    fastapi = Server(process_metrics=False, budget_bytes=2048 * MIB, in_use_bytes=256 * MIB,
                     cut_off_reasons=FASTAPI_CUT_OFF_REASONS)
    replicas = {"a": Loadgen("a", rate=9.0, latency=0.003), "b": Loadgen("b", rate=1.0, latency=0.3)}
    fastapi_loadgen = Loadgen("f", rate=5.0, latency=0.01)
    exporters = {
        "server": Exporter(server.render),
        "a": Exporter(replicas["a"].render),
        "b": Exporter(replicas["b"].render),
        "fastapi": Exporter(fastapi.render),
        "loadgen-fastapi": Exporter(fastapi_loadgen.render),
    }
    config = scrape_config(repo, {
        "lab-server": [exporters["server"].address],
        "lab-loadgen": [exporters["a"].address, exporters["b"].address],
        "fastapi": [exporters["fastapi"].address],
        "loadgen-fastapi": [exporters["loadgen-fastapi"].address],
    })
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    log = open(workdir / "prometheus.log", "w")
    process = subprocess.Popen(
        [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        prom = Prometheus(f"http://127.0.0.1:{port}")
        wait_for("Prometheus ready", prom.ready, timeout=30, poll=0.2)
        wait_for("every stand-in scraped",
                 lambda: prom.scalar("count(up == 1)") == len(exporters), timeout=30, poll=0.5)
        lab = LiveLab(prom, server, exporters["server"], replicas,
                      {name: exporters[name].address for name in replicas}, fastapi, fastapi_loadgen)
        lab.run()
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        for exporter in exporters.values():
            exporter.close()

"""/metrics has lab-server's series: same names, labels and buckets (read from the Rust code)."""

from __future__ import annotations

import re

import httpx
import pytest

from conftest import REPO_ROOT, Server

JSON = {"content-type": "application/json"}
BUCKETS_RS = REPO_ROOT / "services" / "core" / "src" / "buckets.rs"
METRICS_RS = REPO_ROOT / "services" / "server" / "src" / "metrics.rs"
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def lab_core_latency_buckets() -> list[float]:
    """lab-core's latency buckets, computed from the constants in buckets.rs as Rust does."""
    source = BUCKETS_RS.read_text()
    first = float(re.search(r"FIRST_BOUND_SECONDS: f64 = ([0-9.eE+-]+);", source).group(1))
    growth = float(re.search(r"GROWTH: f64 = ([0-9.eE+-]+);", source).group(1))
    count = int(re.search(r"BOUND_COUNT: usize = (\d+);", source).group(1))
    digits = int(re.search(r"round_to_significant\([^;]*?, (\d+)\)", source, re.S).group(1))
    return [float(f"{first * growth**step:.{digits - 1}e}") for step in range(count)]


def lab_server_body_size_buckets() -> list[float]:
    """lab-server's body-size buckets, from `exponential_buckets(start, factor, count)`."""
    match = re.search(r"exponential_buckets\(([0-9.]+), ([0-9.]+), (\d+)\)", METRICS_RS.read_text())
    start, factor, count = float(match.group(1)), float(match.group(2)), int(match.group(3))
    return [start * factor**step for step in range(count)]


def lab_server_metric_names() -> set[str]:
    """Every metric name lab-server declares as a constant."""
    return set(re.findall(r'pub const [A-Z_]+: &str = "([a-z_]+)";', METRICS_RS.read_text()))


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """(name, labels, value) of every sample line."""
    parsed = []
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match.group("labels") or ""))
            parsed.append((match.group("name"), labels, float(match.group("value"))))
    return parsed


def bucket_bounds(text: str, name: str) -> dict[tuple, list[float]]:
    """For each label set of histogram `name` (le left out), its finite bucket bounds."""
    series: dict[tuple, list[float]] = {}
    for sample_name, labels, _ in samples(text):
        if sample_name == f"{name}_bucket":
            le = labels.pop("le")
            if le != "+Inf":
                series.setdefault(tuple(sorted(labels.items())), []).append(float(le))
    return series


def value(text: str, name: str, **labels: str) -> float:
    """The value of one sample (0 when absent)."""
    return sum(v for n, l, v in samples(text) if n == name and l == labels)


@pytest.fixture(scope="module")
def scrape(server: Server) -> str:
    """/metrics after one request to each strategy endpoint and one 404."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for path in ("/ping", "/pong", "/offload"):
            assert client.post(path, content=b'{"name":"x","data":{"a":1}}', headers=JSON).status_code == 200
        client.get("/nowhere")
        response = client.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return response.text


def test_the_bucket_list_parsed_from_rust_looks_right() -> None:
    """The parsed lab-core buckets are lab-core's documented ones: 0.5 ms to ~11 s, 56 bounds."""
    buckets = lab_core_latency_buckets()
    assert len(buckets) == 56 and buckets[0] == 0.0005 and buckets[1] == 0.0006
    assert 10 < buckets[-1] < 12


@pytest.mark.parametrize(
    "name", ["http_server_request_duration_seconds", "lab_server_phase_duration_seconds", "lab_server_event_loop_lag_seconds"]
)
def test_latency_histograms_use_lab_core_buckets(scrape: str, name: str) -> None:
    """Every latency histogram's bounds equal lab-core's, so quantiles compare with lab-server's."""
    series = bucket_bounds(scrape, name)
    assert series, f"no {name} in the scrape"
    for labels, bounds in series.items():
        assert bounds == lab_core_latency_buckets(), labels


def test_body_sizes_use_lab_server_buckets(scrape: str) -> None:
    """The body-size histogram's bounds equal lab-server's (powers of 4 from 1 KiB)."""
    for bounds in bucket_bounds(scrape, "http_server_request_body_size_bytes").values():
        assert bounds == lab_server_body_size_buckets()


def test_the_series_carry_lab_server_names_and_labels(scrape: str) -> None:
    """The series exist with lab-server's labels (endpoint, size_class, status, worker, phase)."""
    assert value(scrape, "http_server_request_duration_seconds_count", endpoint="pong", size_class="small", status="200") == 1
    assert value(scrape, "http_server_request_duration_seconds_count", endpoint="other", size_class="small", status="404") == 1
    assert value(scrape, "lab_server_phase_duration_seconds_count", endpoint="pong", phase="parse") >= 1
    assert value(scrape, "http_server_active_requests", endpoint="ping") == 0
    # /metrics itself is being served while the gauge is read: it is not a strategy endpoint.
    assert value(scrape, "lab_server_requests_total", worker="0") == 3
    assert value(scrape, "lab_server_workers") == 1
    assert value(scrape, "lab_server_keep_alive_seconds") == 5
    assert value(scrape, "lab_server_uploads_cut_off_total", reason="too_large") >= 0
    assert value(scrape, "lab_server_event_loop_lag_seconds_count", worker="0") > 0


def test_every_name_is_one_of_lab_server_names(scrape: str) -> None:
    """No series here has a name lab-server lacks; the core ones are all present."""
    names = {re.sub(r"_(bucket|sum|count)$", "", name) for name, _, _ in samples(scrape)}
    rust = lab_server_metric_names()
    assert names <= rust, names - rust
    assert {
        "http_server_request_duration_seconds",
        "http_server_active_requests",
        "lab_server_requests_total",
        "lab_server_workers",
        "lab_server_keep_alive_seconds",
        "lab_server_event_loop_lag_seconds",
    } <= names


def test_connections_are_counted_per_worker(server: Server) -> None:
    """lab_server_connections_total counts TCP connections: 3 fresh ones add 3, keep-alive adds 1."""

    def connections() -> float:
        return value(httpx.get(f"{server.url}/metrics").text, "lab_server_connections_total", worker="0")

    before = connections()
    for _ in range(3):
        httpx.get(f"{server.url}/healthz")
    with httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            client.get("/healthz")
    # 3 fresh connections, 1 shared by three requests, 1 for the scrape that reads the count.
    assert connections() - before == 3 + 1 + 1


def test_a_parse_on_the_loop_shows_as_event_loop_lag(server: Server, five_mb_body: bytes) -> None:
    """While /pong parses 5 MB the lag probe cannot wake: its lag grows by about that time."""

    def lag_sum() -> float:
        return value(httpx.get(f"{server.url}/metrics").text, "lab_server_event_loop_lag_seconds_sum", worker="0")

    before = lag_sum()
    profiling = httpx.post(f"{server.url}/pong", content=five_mb_body, headers=JSON, timeout=60).json()["profiling"]
    blocked_ms = profiling["parse"] + profiling["compute"] + profiling["drop"]
    assert (lag_sum() - before) * 1e3 >= 0.5 * blocked_ms, profiling

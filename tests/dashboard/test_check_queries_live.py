"""What the end-to-end checks ask Prometheus (scripts/labtools: scrapes, replicas,
upload_phases, datasource), asked of a real Prometheus that scraped two load generator
replicas and a server through the scenario of tests/dashboard/conftest.py: replica a sends
9 small requests/s at 3 ms and uploads between `uploads_on` and `uploads_off`, replica b 1/s
at 300 ms, and the server's /metrics is down for 3 s before it restarts. Skipped where
`prometheus` is not installed."""

import subprocess
from urllib.parse import urlsplit

import pytest

from labtools import upload_phases
from labtools.datasource import promql_probe
from labtools.prometheus import wait_for
from labtools.replicas import small_p95_over_replicas
from labtools.scrapes import scrape_success, targets_up, wait_until_ready


def test_targets_up_counts_the_replicas(live_lab):
    wait_until_ready(live_lab.prom)
    assert targets_up(live_lab.prom, "lab-loadgen") == 2
    assert targets_up(live_lab.prom, "lab-server") == 1
    assert targets_up(live_lab.prom, "no-such-job") == 0


def test_scrape_success_sees_the_server_down(live_lab):
    """Over the whole scenario every replica was scraped every time; the server missed about
    3 s of scrapes while it restarted."""
    window = f"{int(live_lab.marks['end'] - live_lab.marks['start'])}s"
    shares = scrape_success(live_lab.prom, ["lab-server", "lab-loadgen"], window, at=live_lab.marks["end"])
    replicas = {("lab-loadgen", address) for address in live_lab.instances.values()}
    assert set(shares) == replicas | {("lab-server", live_lab.server_exporter.address)}
    assert all(shares[key] == 1.0 for key in replicas)
    assert 0.5 < shares[("lab-server", live_lab.server_exporter.address)] < 1.0


def test_small_p95_over_replicas_sums_their_buckets(live_lab):
    """One request in ten takes 300 ms (replica b): the p95 of both lies in b's bucket."""
    assert small_p95_over_replicas(live_lab.prom, "10s", target="actix") == pytest.approx(0.3, abs=0.01)
    assert small_p95_over_replicas(live_lab.prom, "10s", target="no-such-target") is None


def test_upload_phases_follow_the_gauge(live_lab):
    """Replica a's one burst: one cycle once its pause has lasted 10 s; the burst's steps are
    the seconds between uploads_on and uploads_off (give or take the scrape and the step)."""
    start, end = live_lab.marks["start"], live_lab.marks["end"]
    assert wait_for("the pause after the burst to last 10 s",
                    lambda: upload_phases.upload_cycles(live_lab.prom, "actix", start) == 1, timeout=20)
    split = upload_phases.split_small_latency(live_lab.prom, "actix", start, end)
    burst_seconds = live_lab.marks["uploads_off"] - live_lab.marks["uploads_on"]
    assert abs(split["steps"]["burst"] - burst_seconds) <= 3, split
    assert split["steps"]["quiet"] > 0, split
    # 10 small requests a second in both phases, at the same latencies.
    assert split["burst_count"] == pytest.approx(10 * split["steps"]["burst"], rel=0.2)
    assert split["burst_p95_ms"] == pytest.approx(split["quiet_p95_ms"], rel=0.05)


def test_the_datasource_probe_gets_promql_answered(live_lab):
    """The bash script the checks run in a container on the stack's network, run here against
    the live Prometheus: its answer is a 200 with a successful query."""
    address = urlsplit(live_lab.prom.base_url)
    probe = promql_probe(address.hostname, str(address.port), "up")
    answer = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=10)
    assert answer.returncode == 0, answer.stderr
    assert " 200 " in answer.stdout.splitlines()[0]
    assert '"status":"success"' in answer.stdout

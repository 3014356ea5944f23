"""The helpers the end-to-end checks share (scripts/labtools), on inputs made here or committed:
what they compute must not depend on Docker being there. Their queries against a real
Prometheus are in tests/dashboard/test_check_queries_live.py."""

import math
import os
import shlex
import signal
import time

import pytest

from labtools import upload_phases
from labtools.checks import CheckFailed, progress_log
from labtools.datasource import datasource_address
from labtools.interrupts import ignore_interrupts, sigterm_raises_interrupt
from labtools.paths import RESULTS_DIR
from labtools.probe import ShortProbe, check_probe_files, docker_run_args
from labtools.replicas import replica_of, small_p95_expr
from labtools.results_csv import REQUESTS_CSV_COLUMNS, SUMMARY_CSV_COLUMNS, read_rows

#: A committed run of the matrix (lab-matrix writes its scenarios' CSV files with lab-core's rows).


# --- upload cycles ------------------------------------------------------------------------


def gauge(*phases: tuple[int, int]) -> list[float]:
    """A 1 s series of the uploads-enabled gauge: (value, seconds) phases one after another."""
    return [float(value) for value, seconds in phases for _ in range(seconds)]


def test_a_cycle_counts_once_its_pause_has_lasted_ten_seconds():
    """On for 20 s then off: no cycle after 9 s of pause, one after 10 s."""
    assert upload_phases.count_cycles(gauge((1, 20), (0, 9))) == 0
    assert upload_phases.count_cycles(gauge((1, 20), (0, 10))) == 1


def test_cycles_count_switches_on_and_off():
    """A run that starts paused, then two bursts: two cycles once the second pause is long
    enough, one while the second burst still runs (a burst on counts its previous pause)."""
    assert upload_phases.count_cycles(gauge((0, 5), (1, 20), (0, 20), (1, 20), (0, 10))) == 2
    assert upload_phases.count_cycles(gauge((0, 5), (1, 20), (0, 20), (1, 5))) == 1
    assert upload_phases.count_cycles(gauge((0, 30))) == 0


# --- small-request latency by phase -------------------------------------------------------


def cumulative(per_step: list[dict[float, float]]) -> dict[float, dict[float, float]]:
    """Cumulative bucket counts by timestamp (t = 0, 1, 2, …) from each step's new requests,
    given per bucket bound as non-cumulative counts."""
    bounds = sorted({le for step in per_step for le in step} | {math.inf})
    by_le = {le: {0.0: 0.0} for le in bounds}
    totals = {le: 0.0 for le in bounds}
    for t, step in enumerate(per_step, start=1):
        for le in bounds:
            totals[le] += sum(n for bound, n in step.items() if bound <= le)
            by_le[le][float(t)] = totals[le]
    return by_le


def test_small_requests_split_into_burst_and_quiet_steps():
    """10 steps of fast requests (1 ms) without uploads, 10 steps of uploads with slow ones
    (1 s), then 10 fast steps: the step that ends the burst still counts in it, the two after
    it are edges (uploads were on within the last 3 s), the rest quiet; each phase's p95 lies
    in its own bucket."""
    fast, slow = {0.001: 10.0}, {1.0: 10.0}
    steps = [fast] * 10 + [slow] * 10 + [fast] * 10  # steps 1-10, 11-20, 21-30
    enabled = {float(t): (1.0 if 11 <= t <= 20 else 0.0) for t in range(31)}
    in_flight = {float(t): 0.0 for t in range(31)}
    split = upload_phases.split_by_phase(cumulative(steps), enabled, in_flight)
    assert split["steps"] == {"burst": 11, "quiet": 17, "edge": 2}
    assert split["burst_count"] == 110  # the burst's 100 and the fast step that ends it
    assert split["quiet_count"] == 170
    assert 0.5 * 1000 < split["burst_p95_ms"] <= 1000
    assert split["quiet_p95_ms"] <= 1.0


def test_an_upload_still_in_flight_keeps_the_step_in_the_burst():
    """Uploads switched off, one still in flight: its steps count as burst, not quiet."""
    steps = [{0.001: 1.0}] * 6
    enabled = {float(t): 0.0 for t in range(7)}
    in_flight = {float(t): (1.0 if t <= 3 else 0.0) for t in range(7)}
    split = upload_phases.split_by_phase(cumulative(steps), enabled, in_flight)
    assert split["steps"] == {"burst": 3, "quiet": 0, "edge": 3}


def test_a_counter_reset_is_skipped():
    """A load generator restarted mid-run counts from zero: that step is dropped, not negative."""
    by_le = cumulative([{0.001: 5.0}] * 4)
    for le in by_le:
        by_le[le][5.0] = 1.0  # after the restart
    enabled = {float(t): 0.0 for t in range(6)}
    split = upload_phases.split_by_phase(by_le, enabled, enabled)
    assert split["steps"]["edge"] == 1
    assert split["quiet_count"] == 20


# --- replicas, queries, files ---------------------------------------------------------------


def test_replica_of_reads_compose_ids_and_swarm_slots():
    run = "e2e-20261201T101010-workers1"
    assert replica_of(f"{run}-replica-3f2a9c1b7d4e", run) == "3f2a9c1b7d4e"
    assert replica_of(f"{run}-replica-3f2a9c1b7d4e-2", run) == "3f2a9c1b7d4e"
    assert replica_of(f"{run}-replica-2", run) == "2"
    assert replica_of(f"{run}-replica-2-3", run) == "2"
    assert replica_of(f"{run}-merged", run) is None
    assert replica_of("other-replica-1", run) is None


def test_small_p95_is_the_query_both_checks_asked():
    """The same PromQL the Compose check (one target, 15 s) and the Swarm check (every target)
    each wrote out before they shared it."""
    assert small_p95_expr("15s", target="actix") == (
        'histogram_quantile(0.95, sum by (le) (rate(lab_client_request_duration_seconds_bucket'
        '{class="small", target="actix"}[15s])))')
    assert small_p95_expr("12s") == (
        'histogram_quantile(0.95, sum by (le) '
        '(rate(lab_client_request_duration_seconds_bucket{class="small"}[12s])))')


def test_the_datasource_address_is_read_from_the_provisioning_file():
    assert datasource_address() == ("prometheus", "9090")
    with pytest.raises(CheckFailed):
        datasource_address("datasources:\n  - name: Prometheus\n    url: /prometheus\n")


def test_committed_runs_have_the_columns_the_checks_expect(repo):
    """lab-matrix writes its scenarios' files with lab-core's rows, as lab-loadgen does: every
    committed scenario of the newest run reads back with the columns the e2e checks require
    (a run written before requests.csv had its `method` column, which lab-core reads as empty,
    without it)."""
    newest = sorted((repo / "docs/results").glob("matrix-*"))[-1]
    # Scenarios sit in round-N/ directories in runs with rounds, at the top in older ones.
    scenarios = sorted(newest.rglob("requests.csv"))
    assert scenarios, newest
    for requests in scenarios:
        header = requests.read_text().split("\n", 1)[0].split(",")
        columns = [c for c in REQUESTS_CSV_COLUMNS if c != "method" or "method" in header]
        assert {row["class"] for row in read_rows(requests, columns)} <= {"small", "large"}
        assert read_rows(requests.parent / "summary.csv", SUMMARY_CSV_COLUMNS)


def test_a_file_with_other_columns_is_refused(tmp_path):
    path = tmp_path / "summary.csv"
    path.write_text("run_id,class,count\nr,small,3\n")
    with pytest.raises(CheckFailed, match="columns"):
        read_rows(path, SUMMARY_CSV_COLUMNS)


# --- lab-probe in Docker ----------------------------------------------------------------------


def write_probe_dir(root, probe: ShortProbe, verdict: str) -> None:
    """What lab-probe leaves for `probe`, reduced to what the check reads."""
    (root / "report.md").write_text(f"# Probe\n\n**Verdict:** {verdict}\n")
    rows = [f"{rep},{level},true," for rep, level in probe.planned()]
    (root / "probe.csv").write_text("round,level,measured,note\n" + "\n".join(rows) + "\n")
    for rep, level in probe.planned():
        run_dir = root / f"round-{rep}" / level
        run_dir.mkdir(parents=True)
        classes = ["small"] if level == "alone" else ["small", "large"]
        request_rows = [",".join(c if col == "class" else "" for col in REQUESTS_CSV_COLUMNS) for c in classes]
        (run_dir / "requests.csv").write_text("\n".join([",".join(REQUESTS_CSV_COLUMNS), *request_rows]) + "\n")
        (run_dir / "summary.csv").write_text(",".join(SUMMARY_CSV_COLUMNS) + "\n")


def test_a_probe_directory_is_checked_round_by_round_and_level_by_level(tmp_path):
    """Every planned round and level measured with its files passes; a missing requests.csv,
    an unmeasured row or another verdict fails, naming what is wrong."""
    probe = ShortProbe(target_url="http://fastapi:8000", sizes_mb=("1", "5"), reps=2)
    assert probe.levels() == ["alone", "uploads-1mb", "uploads-5mb"]
    assert len(probe.planned()) == 6
    write_probe_dir(tmp_path, probe, "no measurable effect")
    assert "6 rows" in check_probe_files(probe, tmp_path, "no measurable effect")
    with pytest.raises(CheckFailed, match="verdict"):
        check_probe_files(probe, tmp_path, "small requests wait for uploads")
    (tmp_path / "round-2" / "uploads-5mb" / "requests.csv").unlink()
    with pytest.raises(CheckFailed, match="round-2/uploads-5mb/requests.csv is missing"):
        check_probe_files(probe, tmp_path, "no measurable effect")
    table = tmp_path / "probe.csv"
    table.write_text(table.read_text().replace("1,alone,true,", "1,alone,false,server gone"))
    with pytest.raises(CheckFailed, match="round 1 alone: server gone"):
        check_probe_files(probe, tmp_path, "no measurable effect")


def test_the_e2e_runs_the_probe_command_the_docs_show(repo):
    """docs/probe.md's "In Docker" command against the FastAPI peer is the e2e's, once the
    e2e's own names (network, stand-in image, the owner of ./results) are put back."""
    import e2e

    page = (repo / "docs/probe.md").read_text()
    section = page[page.index("## In Docker"):page.index("## When things go wrong")]
    lines = section.splitlines()
    (start,) = [i for i, line in enumerate(lines) if "--network large-request-lab_default" in line]
    command = ""
    for line in lines[start:]:
        command += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            break
    ran = ["docker", *docker_run_args(e2e.PEER_PROBE, e2e.RUNTIME_STANDIN, e2e.NETWORK, (4321, 4321))]
    as_documented = {e2e.NETWORK: "large-request-lab_default", e2e.RUNTIME_STANDIN: "large-request-lab:local",
                     "4321:4321": "$(id -u):$(id -g)", f"{RESULTS_DIR}:/results": "$PWD/results:/results"}
    assert shlex.split(command) == [as_documented.get(word, word) for word in ran]


# --- how a check reports and stops --------------------------------------------------------


def test_progress_lines_carry_the_check_name_and_the_time(capsys):
    progress_log("e2e-swarm")("deploy stack")
    line = capsys.readouterr().out
    assert line.startswith("[e2e-swarm ") and line.endswith("] deploy stack\n")
    assert len(line.split()[1].rstrip("]")) == len("HH:MM:SS")


@pytest.fixture
def signal_handlers():
    """Put SIGINT's and SIGTERM's handlers back after the test."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_sigterm_interrupts_like_ctrl_c(signal_handlers):
    sigterm_raises_interrupt()
    with pytest.raises(KeyboardInterrupt, match=f"signal {int(signal.SIGTERM)}"):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)  # the handler runs here at the latest


def test_during_the_teardown_interrupts_are_ignored(signal_handlers):
    sigterm_raises_interrupt()
    ignore_interrupts()
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
    except KeyboardInterrupt:
        pytest.fail("an interrupt got through during the teardown")

//! The report rendered from made-up rows: its head, table and findings say what the values
//! say, with intervals once there are rounds.

use lab_loadgen::options::Schedule;

use super::*;
use crate::findings::tests::{fastapi_rows, in_round, sample_rows};
use crate::run_info::RoundInfo;
use crate::scenario::Workload;

fn context(rounds: Vec<RoundInfo>) -> RunContext {
    RunContext {
        command: "lab-matrix --duration 20".to_string(),
        started: "2026-11-25T12:00:00+00:00".to_string(),
        cpus: 2,
        platform: "linux/x86_64".to_string(),
        server_bin: "target/release/lab-server".to_string(),
        fastapi_python: None,
        workload: Workload {
            duration_s: 20.0,
            small_size_mb: 0.001,
            small_interval_s: 0.1,
            large_size_mb: 25.0,
            large_interval_s: 1.0,
            schedule: Schedule::Open,
        },
        planned: 6,
        done: 6,
        interrupted: false,
        reps: rounds.len().max(1) as u32,
        seed: (!rounds.is_empty()).then_some(42),
        machine: crate::machine::MachineInfo {
            git_commit: "0123456789abcdef0123456789abcdef01234567".to_string(),
            ..Default::default()
        },
        cpu_sets: None,
        settings: serde_json::Value::Null,
        calibration_mb: Some(25.0),
        target_utilisation: None,
        rounds,
    }
}

fn round(round: u32, before: f64, after: f64) -> RoundInfo {
    RoundInfo {
        round,
        calibration_before_ms: Some(before),
        calibration_after_ms: Some(after),
        load_before: Some(1.5),
        load_after: Some(2.0),
        steal_share: Some(0.01),
        iowait_share: Some(0.0),
        seconds: 600.0,
        ..RoundInfo::default()
    }
}

/// The report of `rows` (no requests.csv: no per-request findings) with one plot.
fn report_of(rows: Vec<crate::table::MatrixRow>, context: &RunContext) -> String {
    let analysis = crate::analysis::analyze(std::path::Path::new("/nonexistent"), rows);
    let plots = [PlotFile {
        file: "small_p95.svg".to_string(),
        caption: "small p95".to_string(),
    }];
    render(context, &analysis, &plots, None)
}

/// One round: the study's table with plain values, the head says how it was made, and the
/// findings carry numbers computed from the rows.
#[test]
fn one_round_reads_like_the_studys_table() {
    let report = report_of(sample_rows(), &context(Vec::new()));
    assert!(!report.contains("could not be rendered"), "{report}");
    assert!(report.contains(
        "| config | class | count | median | p95 | p99 | max |\n|---|---|---|---|---|---|---|\n"
    ));
    assert!(
        report.contains("| 1 w, /ping, new, loaded | large | 100 | 900 | 1000 | 1100 | 1200 |"),
        "{report}"
    );
    assert!(report.contains("- Command: `lab-matrix --duration 20`"));
    assert!(report.contains("2 CPUs (`nproc`)"));
    assert!(report.contains("- Code: git commit `0123456789abcdef0123456789abcdef01234567`\n"));
    assert!(report.contains("![small p95](small_p95.svg)"));
    assert!(report.contains("One round: every figure is that round's value"));
    assert!(report.contains("This run predates the calibration"));
    // 300 / 1 = 300× for /ping keepalive at 4 workers, 2.5 / 2 = 1.25× for the floor.
    assert!(
        report.contains("most in **4 workers, /ping, keepalive** (1.00 → 300 ms, 300×)"),
        "{report}"
    );
    assert!(report.contains("| 1 worker, /ping, new | 400 | 2.00 | 200× |"));
    assert!(
        report.contains("- /ping, new: 400 ms → 8.00 ms (50× lower)."),
        "{report}"
    );
    assert!(report.contains("- /ping: new 8.00 ms, keepalive 300 ms (keepalive 38× higher)."));
    assert!(
        report.contains(
            "request is 1.00 ms vs 0.50 ms over kept-alive connections (new 2.00× higher)"
        )
    );
    assert!(
        report.contains("| 1 worker, /offload, new | 450 | 0.50× |"),
        "{report}"
    );
    assert!(
        report.contains("| 1 worker, /ping, new | 900 | 90.0 | 10× |"),
        "{report}"
    );
    assert!(report.contains("None: every request of every scenario got a 2xx"));
    assert!(
        report.contains(
            "- server KEEP_ALIVE=0 vs server keep-alive on (default), keepalive client: small \
         median 2.29× higher, small p95 9.00 ms vs 300 ms (33× lower)."
        ),
        "{report}"
    );
    assert!(report.contains("No scenario has lag numbers"));
}

/// Five rounds: medians with [min, max], the coverage said, the drift named with its rounds,
/// saturated figures marked and kept out of the headline.
#[test]
fn five_rounds_give_intervals_drift_and_saturation_marks() {
    let mut rows = Vec::new();
    for (round, factor) in [(1, 1.0), (2, 1.1), (3, 0.9), (4, 1.2), (5, 1.05)] {
        rows.extend(
            sample_rows()
                .into_iter()
                .map(|r| in_round(r, round, factor)),
        );
    }
    for row in rows
        .iter_mut()
        .filter(|r| r.settings.scenario == "w4-ping-keepalive" && r.server.round <= 2)
    {
        row.server.saturated = true;
    }
    let rounds = vec![
        round(1, 800.0, 805.0),
        round(2, 810.0, 812.0),
        round(3, 800.0, 950.0),
        round(4, 802.0, 808.0),
        round(5, 801.0, 803.0),
    ];
    let report = report_of(rows, &context(rounds));
    assert!(!report.contains("could not be rendered"), "{report}");
    assert!(report.contains("covers the median with 93.8%"), "{report}");
    assert!(report.contains("(5 rounds cannot give 95%"));
    assert!(
        report.contains("| 1 w, /ping, new, loaded | large | 100 | 945 [810–1080] | 1050 [900–1200] | 1155 [990–1320] | 1260 [1080–1440] | 29% / 29% |"),
        "{report}"
    );
    assert!(report.contains("**The machine drifted**: its calibrations differ by 18.8%"));
    assert!(
        report.contains("round 3 ran on a slower machine"),
        "{report}"
    );
    assert!(
        report.contains("| 4 w, /ping, keepalive, loaded ⚠ 2/5 | small |"),
        "{report}"
    );
    assert!(
        report.contains("the queue grew for the whole run")
            || report.contains("The queue grew for the whole run")
    );
    // The saturated 300× no longer makes the headline; the per-round ratio is exact.
    assert!(
        report.contains(
            "most in **1 worker, /ping, new** (2.10 [1.80–2.40] → 420 [360–480] ms, 200× [200–200])"
        ),
        "{report}"
    );
    assert!(
        report.contains("| 1 | 800 | 805 | 1.50 | 2.00 | 1.0% | 0.0% | 600 |"),
        "{report}"
    );
    assert!(report.contains("Rounds: 5 of 5"));
}

/// A FastAPI scenario is set beside actix's cell, and the report's sections come in order.
#[test]
fn the_studys_stack_is_beside_actix_and_sections_are_in_order() {
    let mut rows = sample_rows();
    rows.extend(fastapi_rows());
    let report = report_of(rows, &context(Vec::new()));
    assert!(
        report.contains("| FastAPI 1 worker, /ping, new | 200 | 400 | 800 | 900 |"),
        "{report}"
    );
    assert!(
        report.contains(
            "- 1 worker, /ping, new: large median 800 ms with FastAPI, 900 ms with actix (actix \
         1.12× higher); small p95 200 ms vs 400 ms (actix 2.00× higher)."
        ),
        "{report}"
    );
    let order = [
        "## Machine speed and noise",
        "## How the figures are given",
        "## Results (client-side, ms)",
        "## Findings",
        "### The floor",
        "### The allocator",
        "### The study's stack beside actix",
        "### Saturation",
        "### Event-loop lag",
        "### Errors, skipped",
        "## Plots",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|heading| {
            report
                .find(heading)
                .unwrap_or_else(|| panic!("{heading}: {report}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

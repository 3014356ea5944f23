//! `lab-matrix` end to end: the real lab-server binary started per scenario, the real
//! workload in-process, and the files a matrix leaves behind.
//!
//! The lab-server binary comes from the same target directory as this crate's binary
//! (`cargo test --workspace` builds it; `cargo build -p lab-server` otherwise).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use lab_matrix::table::MatrixRow;
use lab_matrix::{MatrixOptions, ScenarioKind, rerender, run_with_shutdown};
use support::server_bin;

/// A fresh results directory under cargo's per-test scratch space.
fn results_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("matrix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Matrix options as the command line would give them, with a tiny workload.
fn tiny_options(results: &Path, extra: &[&str]) -> MatrixOptions {
    let server = server_bin();
    let mut args = vec![
        "lab-matrix".to_string(),
        "--server-bin".to_string(),
        server.display().to_string(),
        "--results-dir".to_string(),
        results.display().to_string(),
        "--small-size-mb".to_string(),
        "0.001".to_string(),
        "--large-size-mb".to_string(),
        "0.5".to_string(),
        "--large-interval".to_string(),
        "0.5".to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    MatrixOptions::parse_from(args)
}

/// Checks that a markdown table starts at `header_line`: header, separator with one cell per
/// column, then at least `min_rows` rows with the same number of cells.
fn assert_table(report: &str, header_line: &str, min_rows: usize) {
    let lines: Vec<&str> = report.lines().collect();
    let start = lines
        .iter()
        .position(|line| *line == header_line)
        .unwrap_or_else(|| panic!("no table with header {header_line:?} in:\n{report}"));
    let columns = header_line.matches('|').count();
    assert_eq!(lines[start + 1], format!("|{}", "---|".repeat(columns - 1)));
    let rows: Vec<&&str> = lines[start + 2..]
        .iter()
        .take_while(|line| line.starts_with('|'))
        .collect();
    assert!(
        rows.len() >= min_rows,
        "{} rows under {header_line:?}",
        rows.len()
    );
    for row in rows {
        assert_eq!(
            row.matches('|').count(),
            columns,
            "row {row:?} has the wrong number of cells"
        );
    }
}

/// Parses an SVG as XML and counts its data marks (bars, dots, triangles) besides the
/// background.
fn svg_marks(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let document = roxmltree::Document::parse(&text)
        .unwrap_or_else(|error| panic!("{} is not valid XML: {error}", path.display()));
    assert_eq!(document.root_element().tag_name().name(), "svg");
    document
        .descendants()
        .filter(|node| matches!(node.tag_name().name(), "rect" | "circle" | "polygon"))
        .count()
        - 1
}

fn read_rows(path: &Path) -> Vec<MatrixRow> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    reader.deserialize().collect::<Result<_, _>>().unwrap()
}

/// A three-scenario matrix (unloaded baseline, 2 workers /ping keepalive with per-class pools
/// and with a shared pool, 3 s each) writes matrix.csv with one row per scenario × class, a
/// report whose tables render and valid SVGs, and those files alone render the same report
/// again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_matrix_writes_rows_report_and_plots() {
    let results = results_dir("tiny");
    let options = tiny_options(
        &results,
        &[
            "--duration",
            "3",
            "--workers",
            "2",
            "--endpoints",
            "/ping",
            "--connections",
            "keepalive",
            "--keep-alive-off-workers",
            "none",
            "--shared-pool-workers",
            "2",
        ],
    );
    let started = Instant::now();
    let outcome = run_with_shutdown(options, std::future::pending())
        .await
        .unwrap();
    eprintln!("tiny matrix took {:.1} s", started.elapsed().as_secs_f64());
    assert_eq!(
        (outcome.planned, outcome.done, outcome.interrupted),
        (3, 3, false)
    );
    assert!(outcome.dir.starts_with(results.join("matrix")));

    // matrix.csv: the baseline has only small requests, the loaded scenario small and large.
    let rows = read_rows(&outcome.dir.join("matrix.csv"));
    let keys: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r.scenario.as_str(), r.class.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("unloaded-w2-ping-keepalive", "small"),
            ("w2-ping-keepalive", "small"),
            ("w2-ping-keepalive", "large"),
            ("w2-ping-keepalive-shared", "small"),
            ("w2-ping-keepalive-shared", "large"),
        ]
    );
    let pools: Vec<&str> = rows.iter().map(|r| r.pool.as_str()).collect();
    assert_eq!(
        pools,
        ["per-class", "per-class", "per-class", "shared", "shared"]
    );
    assert_eq!(rows[3].kind, ScenarioKind::SharedPool);
    assert_eq!(rows[3].config, "2 workers, /ping, keepalive, shared pool");
    for row in &rows {
        assert!(row.completed);
        assert_eq!(row.workers, 2);
        assert_eq!(row.endpoint, "/ping");
        assert_eq!(row.duration_s, 3.0);
        assert!(row.ok > 0 && row.ok == row.count, "{row:?}");
        assert!(
            row.p95_ms.unwrap() > 0.0 && row.median_ms <= row.p95_ms && row.p95_ms <= row.max_ms
        );
    }
    // The server's lag probes woke during every run: p99 positive, within the bucket that
    // held every wake, the same on each row of a scenario.
    for row in &rows {
        let (p99, max) = (row.lag_p99_ms.unwrap(), row.lag_max_ms.unwrap());
        assert!(p99 > 0.0 && p99 <= max && max.is_finite(), "{row:?}");
    }
    assert_eq!(
        (rows[1].lag_p99_ms, rows[1].lag_max_ms),
        (rows[2].lag_p99_ms, rows[2].lag_max_ms)
    );
    // 3 s of small requests every 0.1 s ≈ 30, of large ones every 0.5 s ≈ 6.
    assert!(
        (25..=31).contains(&rows[1].count),
        "small count {}",
        rows[1].count
    );
    assert!(
        (5..=7).contains(&rows[2].count),
        "large count {}",
        rows[2].count
    );
    assert_eq!(
        rows[0].large_size_mb, None,
        "the baseline sends no large requests"
    );
    assert_eq!(rows[2].large_size_mb, Some(0.5));
    assert_eq!(
        rows, outcome.rows,
        "matrix.csv holds exactly the outcome's rows"
    );

    // The baseline runs with LARGE_SIZE_MB=0: no large request was sent at all.
    let mut baseline = csv::Reader::from_path(
        outcome
            .dir
            .join("unloaded-w2-ping-keepalive")
            .join("requests.csv"),
    )
    .unwrap();
    let class_column = baseline
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "class")
        .unwrap();
    let baseline_classes: Vec<String> = baseline
        .records()
        .map(|r| r.unwrap()[class_column].to_string())
        .collect();
    assert!(!baseline_classes.is_empty());
    assert!(
        baseline_classes.iter().all(|class| class == "small"),
        "the unloaded baseline sent only small requests"
    );

    // Each scenario keeps its own requests.csv and server log.
    for scenario in [
        "unloaded-w2-ping-keepalive",
        "w2-ping-keepalive",
        "w2-ping-keepalive-shared",
    ] {
        assert!(outcome.dir.join(scenario).join("requests.csv").is_file());
        assert!(
            outcome
                .dir
                .join("server-logs")
                .join(format!("{scenario}.log"))
                .is_file()
        );
    }

    // report.md: the study's table and the findings' tables render.
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert_table(
        &report,
        "| config | class | count | median | p95 | p99 | max |",
        3,
    );
    assert_table(
        &report,
        "| config | small p95 loaded | small p95 unloaded | ratio |",
        1,
    );
    assert_table(&report, "| config | large median | vs /ping |", 1);
    assert_table(&report, "| config | lag p99 | lag max bucket |", 3);
    assert!(report.contains("CPUs (`nproc`)"));
    assert!(report.contains("- Command: `"));
    assert!(report.contains("3 of 3 measured"));
    assert!(report.contains("| 2 workers, /ping, keepalive, shared pool | small |"));

    // Plots: valid SVG with data marks, each linked from the report.
    // small_p95: a bar per scenario; timeline: a dot per small and a band + triangle per large
    // request; spread: 2 panels × 3 scenarios (shared pool included) × 2 workers.
    let plots = [
        ("small_p95.svg", 3),
        ("timeline-w2-ping-keepalive.svg", 25 + 2 * 5),
        ("worker_spread-ping.svg", 12),
    ];
    for (plot, marks) in plots {
        let path = outcome.dir.join(plot);
        assert!(svg_marks(&path) >= marks, "{plot} lacks data marks");
        assert!(
            report.contains(&format!("]({plot})")),
            "report.md links {plot}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    // The files alone rebuild the same report and plots (`matrix --report-only DIR`).
    std::fs::remove_file(outcome.dir.join("report.md")).unwrap();
    let again = rerender(&outcome.dir).unwrap();
    assert_eq!(again.rows, rows);
    assert_eq!(
        std::fs::read_to_string(outcome.dir.join("report.md")).unwrap(),
        report
    );
    for (plot, marks) in plots {
        assert!(
            svg_marks(&outcome.dir.join(plot)) >= marks,
            "{plot} re-rendered"
        );
    }
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A committed run whose matrix.csv predates the lag columns (docs/results/matrix-20261126-0602,
/// copied: the committed files stay as they are) re-renders: its rows read back without lag
/// numbers, and the report is the committed one plus a lag section saying there are none.
#[test]
fn a_run_from_before_the_lag_columns_rerenders() {
    let committed =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results/matrix-20261126-0602");
    let copy = results_dir("before-lag");
    copy_tree(&committed, &copy);
    let outcome = rerender(&copy).unwrap();
    assert_eq!(outcome.done, 29);
    assert_eq!(
        outcome.rows.len(),
        read_rows(&committed.join("matrix.csv")).len()
    );
    assert!(
        outcome
            .rows
            .iter()
            .all(|r| r.lag_p99_ms.is_none() && r.lag_max_ms.is_none())
    );
    let report = std::fs::read_to_string(copy.join("report.md")).unwrap();
    let section = "### Event-loop lag during the run (server-side)\n\nNo scenario has lag numbers";
    let start = report.find(section).unwrap_or_else(|| panic!("{report}"));
    let end = start + report[start..].find("\n### ").unwrap() + 1;
    let without_section = format!("{}{}", &report[..start], &report[end..]);
    assert_eq!(
        without_section,
        std::fs::read_to_string(committed.join("report.md")).unwrap(),
        "everything but the lag section reads as before"
    );
    std::fs::remove_dir_all(&copy).unwrap();
}

/// Stopping the matrix mid-scenario (as Ctrl-C does) ends that scenario cleanly, stops its
/// server, starts no other, and still writes matrix.csv and report.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_matrix_keeps_what_it_measured() {
    let results = results_dir("interrupted");
    let options = tiny_options(
        &results,
        &[
            "--duration",
            "30",
            "--workers",
            "1",
            "--endpoints",
            "/ping",
            "--connections",
            "new",
            "--baseline",
            "false",
        ],
    );
    let started = Instant::now();
    let outcome = run_with_shutdown(options, tokio::time::sleep(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the 30 s scenario was cut short"
    );
    assert_eq!(
        (outcome.planned, outcome.done, outcome.interrupted),
        (3, 1, true)
    );
    let rows = read_rows(&outcome.dir.join("matrix.csv"));
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r.scenario == "w1-ping-new" && !r.completed)
    );
    assert!(rows.iter().find(|r| r.class == "small").unwrap().ok > 0);
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert!(report.contains("1 of 3 measured (interrupted"));
    assert_table(
        &report,
        "| config | class | count | median | p95 | p99 | max |",
        1,
    );
    let log =
        std::fs::read_to_string(outcome.dir.join("server-logs").join("w1-ping-new.log")).unwrap();
    assert!(
        log.contains("stopped"),
        "the server was stopped and drained:\n{log}"
    );
}

/// A missing lab-server binary is a clear error before anything starts.
#[tokio::test]
async fn missing_server_binary_is_a_clear_error() {
    let results = results_dir("missing");
    let mut options = tiny_options(&results, &["--duration", "1"]);
    options.server_bin = Some(results.join("no-such-lab-server"));
    let error = run_with_shutdown(options, std::future::pending())
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("lab-server binary not found"), "{message}");
    assert!(message.contains("SERVER_BIN"), "{message}");
    assert!(!results.join("matrix").exists(), "nothing was created");
}

/// Settings the load generator would refuse (interval 0 on an open schedule) stop the matrix
/// before any server starts.
#[tokio::test]
async fn settings_the_load_generator_refuses_stop_the_matrix_up_front() {
    let results = results_dir("refused");
    let options = tiny_options(&results, &["--duration", "1", "--small-interval", "0"]);
    let error = run_with_shutdown(options, std::future::pending())
        .await
        .unwrap_err();
    let message = format!("{error:#}");
    assert!(message.contains("interval 0"), "{message}");
    assert!(!results.join("matrix").exists(), "nothing was created");
}

//! `lab-matrix` end to end: the real lab-server binary started per scenario, the real
//! workload in-process, rounds in seeded random orders, and the files a matrix leaves behind.
//!
//! The lab-server binaries come from the same target directory as this crate's binary
//! (`cargo test --workspace` builds them; `cargo build -p lab-server` otherwise).

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use lab_core::{Class, Strategy};
use lab_matrix::run_info::RunContext;
use lab_matrix::runner::round_orders;
use lab_matrix::scenario::{Allocator, Placement};
use lab_matrix::table::{MatrixRow, read_matrix_csv};
use lab_matrix::{MatrixOptions, ScenarioKind, rerender, run_with_shutdown};
use support::server_bin;

/// A fresh results directory under cargo's per-test scratch space.
fn results_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("matrix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Matrix options as the command line would give them: a tiny workload, a small
/// calibration, one round, one worker, new connections and no case beside the grid unless
/// asked.
fn tiny_options(results: &Path, extra: &[&str]) -> MatrixOptions {
    let server = server_bin();
    let args = vec![
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
        "--calibration-mb".to_string(),
        "0.5".to_string(),
        "--reps".to_string(),
        "1".to_string(),
        "--placement".to_string(),
        "unpinned".to_string(),
        "--allocators".to_string(),
        "system".to_string(),
        "--saturation-probe-duration".to_string(),
        "0".to_string(),
        "--keep-alive-off-workers".to_string(),
        "none".to_string(),
        "--shared-pool-workers".to_string(),
        "none".to_string(),
        "--workers".to_string(),
        "1".to_string(),
        "--connections".to_string(),
        "new".to_string(),
        "--baseline".to_string(),
        "false".to_string(),
    ];
    // A flag the test gives replaces the default above (list flags would add up otherwise).
    let mut kept = vec![args[0].clone()];
    for pair in args[1..].chunks(2) {
        if !extra.contains(&pair[0].as_str()) {
            kept.extend(pair.iter().cloned());
        }
    }
    kept.extend(extra.iter().map(|s| s.to_string()));
    MatrixOptions::parse_from(kept)
}

/// Runs a tiny matrix (see [`tiny_options`]) with `args` to its end.
async fn run_tiny(name: &str, args: &[&str]) -> lab_matrix::MatrixOutcome {
    let options = tiny_options(&results_dir(name), args);
    run_with_shutdown(options, std::future::pending())
        .await
        .unwrap()
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

fn rows_of(rows: &[MatrixRow], scenario: &str, class: Class) -> Vec<MatrixRow> {
    rows.iter()
        .filter(|r| r.settings.scenario == scenario && r.settings.class == class)
        .cloned()
        .collect()
}

/// Two rounds of three scenarios (unloaded baseline, 2 workers /ping keepalive with per-class
/// pools and with a shared pool, 2 s each): matrix.csv has one row per round × scenario ×
/// class with its round and position; each round ran every scenario once, in the order the
/// seed gives; matrix-run.json has each round's calibration, load and order and the machine;
/// the report gives medians with intervals; the files alone render the same report again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rounds_write_rows_calibrations_report_and_plots() {
    let results = results_dir("rounds");
    let seed = 11;
    let started = Instant::now();
    let outcome = run_tiny(
        "rounds",
        &[
            "--duration",
            "2",
            "--reps",
            "2",
            "--seed",
            "11",
            "--workers",
            "2",
            "--endpoints",
            "/ping",
            "--connections",
            "keepalive",
            "--shared-pool-workers",
            "2",
            "--baseline",
            "true",
        ],
    )
    .await;
    eprintln!("two rounds took {:.1} s", started.elapsed().as_secs_f64());
    let context = &outcome.context;
    assert_eq!(
        (context.planned, context.done, context.interrupted),
        (6, 6, false)
    );
    assert!(outcome.dir.starts_with(results.join("matrix")));

    // Each round ran every scenario once, in the seed's order.
    let names = [
        "unloaded-w2-ping-keepalive",
        "w2-ping-keepalive",
        "w2-ping-keepalive-shared",
    ];
    let orders = round_orders(3, 2, seed);
    assert_eq!(context.seed, Some(seed));
    assert_eq!(context.rounds.len(), 2);
    for (round, order) in context.rounds.iter().zip(&orders) {
        let expected: Vec<&str> = order.iter().map(|&i| names[i]).collect();
        assert_eq!(round.order, expected);
        let calibration = (
            round.calibration_before_ms.unwrap(),
            round.calibration_after_ms.unwrap(),
        );
        assert!(calibration.0 > 0.0 && calibration.1 > 0.0, "{round:?}");
        assert!(round.load_before.is_some() && round.seconds > 0.0);
    }
    assert_eq!(
        context.machine.cores,
        lab_matrix::placement::allowed_cpus().len()
    );
    assert_eq!(context.machine.git_commit.len(), 40);
    assert!(!context.machine.kernel.is_empty());
    assert!(
        !context.server_bin.starts_with('/')
            && !context.command.contains(env!("CARGO_TARGET_TMPDIR")),
        "no machine path in the run's files: {} / {}",
        context.server_bin,
        context.command
    );
    assert_eq!(context.settings["reps"], 2);

    // matrix.csv: per round, the baseline has only small requests, the loaded scenarios
    // small and large; round and position as the orders say.
    let rows = read_matrix_csv(&outcome.dir.join("matrix.csv")).unwrap();
    assert_eq!(rows.len(), 2 * 5);
    assert_eq!(
        rows, outcome.rows,
        "matrix.csv holds exactly the outcome's rows"
    );
    for (round, order) in orders.iter().enumerate() {
        for (position, &i) in order.iter().enumerate() {
            let mine: Vec<&MatrixRow> = rows
                .iter()
                .filter(|r| r.settings.scenario == names[i] && r.server.round == round as u32 + 1)
                .collect();
            assert_eq!(mine.len(), if i == 0 { 1 } else { 2 }, "{}", names[i]);
            assert!(
                mine.iter()
                    .all(|r| r.server.position == Some(position as u64 + 1))
            );
        }
    }
    for row in &rows {
        assert!(row.settings.completed);
        assert_eq!(row.settings.workers, 2);
        assert_eq!(row.settings.endpoint, Strategy::Ping);
        assert_eq!(row.server.placement, Placement::Unpinned);
        assert_eq!(row.server.allocator, Some(Allocator::System));
        assert!(
            row.stats.ok > 0 && row.stats.ok == row.stats.count,
            "{row:?}"
        );
        let (p99, max) = (
            row.server.lag_p99_ms.unwrap(),
            row.server.lag_max_ms.unwrap(),
        );
        assert!(p99 > 0.0 && p99 <= max && max.is_finite(), "{row:?}");
    }
    // The server's own time per upload, against the interval: every loaded round has it.
    for row in rows_of(&rows, "w2-ping-keepalive", Class::Large) {
        assert!(row.server.server_large_ms.unwrap() > 0.0);
        assert_eq!(
            row.server.capacity,
            Some(2.0f64.min(context.machine.cores as f64))
        );
        assert!(row.server.utilisation.unwrap() > 0.0);
        assert!(row.server.queue_growth.unwrap() > 0.0);
    }
    let shared = rows_of(&rows, "w2-ping-keepalive-shared", Class::Small);
    assert_eq!(shared[0].settings.kind, ScenarioKind::SharedPool);
    assert_eq!(
        shared[0].settings.config,
        "2 workers, /ping, keepalive, shared pool"
    );
    // 2 s of small requests every 0.1 s ≈ 20, of large ones every 0.5 s ≈ 4.
    let small = &rows_of(&rows, "w2-ping-keepalive", Class::Small)[0];
    assert!(
        (15..=21).contains(&small.stats.count),
        "small count {}",
        small.stats.count
    );
    let baseline = &rows_of(&rows, "unloaded-w2-ping-keepalive", Class::Small)[0];
    assert_eq!(
        baseline.settings.large_size_mb, None,
        "the baseline sends no large requests"
    );

    // Each scenario keeps its own requests.csv and server log, per round.
    for round in 1..=2 {
        for scenario in names {
            let round_dir = format!("round-{round}");
            assert!(
                outcome
                    .dir
                    .join(&round_dir)
                    .join(scenario)
                    .join("requests.csv")
                    .is_file()
            );
            assert!(
                outcome
                    .dir
                    .join("server-logs")
                    .join(&round_dir)
                    .join(format!("{scenario}.log"))
                    .is_file()
            );
        }
    }

    // report.md: the head, the calibration table, intervals over two rounds, the findings.
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert_table(
        &report,
        "| config | class | count | median | p95 | p99 | max | spread of median / p95 |",
        5,
    );
    assert_table(
        &report,
        "| round | calibration before | calibration after | load before | load after | steal | iowait | seconds |",
        2,
    );
    assert_table(
        &report,
        "| config | small p95 loaded | small p95 unloaded | ratio |",
        2,
    );
    assert_table(&report, "| config | lag p99 | lag max bucket |", 3);
    assert_table(
        &report,
        "| config | server time per upload | capacity | utilisation | large latency growth | growth, ms | saturated rounds |",
        2,
    );
    assert!(report.contains("covers the median with 50.0%"), "{report}");
    assert!(report.contains("Rounds: 2 of 2"));
    assert!(report.contains("`MATRIX_SEED=11` replays the orders"));
    assert!(report.contains("- Code: git commit `"));
    assert!(report.contains("| 2 workers, /ping, keepalive, shared pool"));
    assert!(report.contains(" ["), "figures carry intervals");

    // Plots: valid SVG with data marks, each linked from the report.
    let plots = [
        ("small_p95.svg", 3),
        ("timeline-w2-ping-keepalive.svg", 15 + 2 * 3),
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
    let (_, again) = rerender(&outcome.dir, None).unwrap();
    assert_eq!(again, rows);
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

    // Compared with itself, every figure agrees, as measured and scaled.
    rerender(&outcome.dir, Some(&outcome.dir)).unwrap();
    let compared = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    let name = outcome
        .dir
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        compared.contains(&format!("## Against run {name}")),
        "{compared}"
    );
    assert!(compared.contains("the machine ran at the same speed within 10.0% (1.00×)"));
    let figures = compared.matches("| yes | ").count();
    assert!(
        figures >= 5 && !compared.contains("| **no** |"),
        "{compared}"
    );
}

/// One worker parsing a 2 MB body on its loop every 50 ms cannot keep up; reading and
/// dropping it (/drain, the floor) can: /ping is marked saturated, its utilisation several
/// times the floor's (a ratio in the same run, never an absolute bound), and /drain's answers
/// (count 0) pass as they should. The jemalloc scenario runs the server's other binary, as
/// /healthz confirms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parse_on_the_loop_saturates_and_the_floor_does_not() {
    let outcome = run_tiny(
        "saturation",
        &[
            "--duration",
            "3",
            "--endpoints",
            "/ping,/drain",
            "--allocators",
            "system,jemalloc",
            "--large-size-mb",
            "2",
            "--large-interval",
            "0.05",
        ],
    )
    .await;
    let rows = read_matrix_csv(&outcome.dir.join("matrix.csv")).unwrap();
    let large = |scenario: &str| rows_of(&rows, scenario, Class::Large).remove(0);
    let (ping, drain) = (large("w1-ping-new"), large("w1-drain-new"));
    let utilisation = |row: &MatrixRow| row.server.utilisation.unwrap();
    assert!(ping.server.saturated, "{ping:?}");
    assert!(!drain.server.saturated, "{drain:?}");
    assert!(
        utilisation(&ping) > 3.0 * utilisation(&drain),
        "/ping {} vs /drain {}",
        utilisation(&ping),
        utilisation(&drain)
    );
    assert_eq!(
        drain.stats.errors, 0,
        "the floor's answers are not checked: {drain:?}"
    );
    let jemalloc = large("w1-ping-new-jemalloc");
    assert_eq!(jemalloc.server.allocator, Some(Allocator::Jemalloc));
    assert!(jemalloc.stats.ok > 0);
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert!(
        report.contains("| 1 worker, /ping, new ⚠ 1/1 | large |"),
        "{report}"
    );
    assert!(report.contains("The queue grew for the whole run"));
    // /ping over the floor (the jemalloc cell has no floor of its own).
    assert_table(
        &report,
        "| config | large median | floor's | over the floor |",
        1,
    );
    assert!(
        report.contains("| 1 worker, /ping, new, jemalloc"),
        "{report}"
    );
}

/// With a target utilisation, the interval between uploads comes from the first
/// calibration: the rows, the run file and the report carry the interval it gave.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_utilisation_sets_the_interval_from_the_calibration() {
    let outcome = run_tiny(
        "target",
        &[
            "--duration",
            "2",
            "--endpoints",
            "/stream",
            "--target-utilisation",
            "0.05",
        ],
    )
    .await;
    let context = &outcome.context;
    let calibration = context.rounds[0].calibration_before_ms.unwrap();
    let interval = context.workload.large_interval_s;
    assert!(
        (interval - calibration / 0.05 / 1e3).abs() < 1e-6,
        "{interval} s from {calibration} ms"
    );
    assert_eq!(context.target_utilisation, Some(0.05));
    let large = rows_of(&outcome.rows, "w1-stream-new", Class::Large).remove(0);
    assert_eq!(large.settings.large_interval_s, Some(interval));
    assert!(large.stats.ok > 0);
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert!(
        report.contains("MATRIX_TARGET_UTILISATION=0.05"),
        "{report}"
    );
}

/// Stopping the matrix mid-scenario (as Ctrl-C does) ends that scenario cleanly, stops its
/// server, starts no other, and still writes matrix.csv and report.md. The scenarios ran
/// with split CPUs: the rows and the run say so, and the matrix gives itself every CPU back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_matrix_keeps_what_it_measured() {
    let results = results_dir("interrupted");
    let cpus = lab_matrix::placement::allowed_cpus();
    let options = tiny_options(
        &results,
        &[
            "--duration",
            "30",
            "--reps",
            "2",
            "--endpoints",
            "/ping,/drain",
            "--keep-alive-off-workers",
            "1",
            "--placement",
            "split",
        ],
    );
    let started = Instant::now();
    let outcome = run_with_shutdown(options, tokio::time::sleep(Duration::from_secs(3)))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "the 30 s scenario was cut short"
    );
    let context = &outcome.context;
    assert_eq!(
        (context.planned, context.done, context.interrupted),
        (6, 1, true)
    );
    let rows = read_matrix_csv(&outcome.dir.join("matrix.csv")).unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| !r.settings.completed && r.server.round == 1)
    );
    let first = &context.rounds[0].order[0];
    assert!(rows.iter().all(|r| &r.settings.scenario == first));
    assert!(first.ends_with("-split"), "{first}");
    assert!(rows.iter().all(|r| r.server.placement == Placement::Split));
    let sets = context.cpu_sets.as_ref().unwrap();
    assert_eq!(sets.all, cpus);
    assert!(sets.server.len() + sets.client.len() >= cpus.len().min(2));
    assert_eq!(
        lab_matrix::placement::allowed_cpus(),
        cpus,
        "every CPU back"
    );
    assert!(rows_of(&rows, first, Class::Small)[0].stats.ok > 0);
    let report = std::fs::read_to_string(outcome.dir.join("report.md")).unwrap();
    assert!(
        report.contains("1 of 6 scenario runs measured (interrupted"),
        "{report}"
    );
    assert_table(
        &report,
        "| config | class | count | median | p95 | p99 | max |",
        1,
    );
    let log = std::fs::read_to_string(
        outcome
            .dir
            .join("server-logs")
            .join("round-1")
            .join(format!("{first}.log")),
    )
    .unwrap();
    assert!(
        log.contains("stopped"),
        "the server was stopped and drained:\n{log}"
    );
    let saved = RunContext::read(&outcome.dir).unwrap();
    assert!(saved.interrupted);
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

//! A whole run against the real lab-server: the printed table, the JSON report, the CSV
//! files, and what happens when the server is down or restarts mid-run.

mod support;

use lab_core::{Class, ClientErrorKind, Strategy};
use std::{collections::HashMap, path::Path, time::Duration};

use support::{LabServer, number, read_csv, short_run};
use tokio::process::Command;

/// Runs the real binary with `args` and returns (exit code, stdout, stderr).
async fn run_binary(args: &[&str]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(env!("CARGO_BIN_EXE_lab-loadgen"))
            .args(args)
            .env("RUST_LOG", "warn")
            .output(),
    )
    .await
    .expect("the binary finishes within a minute")
    .expect("the binary starts");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Runs the real binary against `server` as run `run_id`, writing under `results`, with
/// `extra` flags; returns (exit code, stdout, stderr).
async fn run_against(
    server: &LabServer,
    results: &Path,
    run_id: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let url = server.url();
    let results_dir = results.display().to_string();
    let mut args = vec![
        "--target-url",
        &url,
        "--results-dir",
        &results_dir,
        "--run-id",
        run_id,
    ];
    args.extend_from_slice(extra);
    run_binary(&args).await
}

/// A 2-second run prints the configuration and a table row per class, and writes
/// requests.csv (one row per scheduled request) and summary.csv whose counts agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_run_prints_the_table_and_writes_csvs_whose_rows_match_the_counts() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_against(
        &server,
        results.path(),
        "short",
        &[
            "--duration",
            "2",
            "--small-interval",
            "0.05",
            "--large-size-mb",
            "0.2",
            "--large-interval",
            "0.5",
            "--extra-classes",
            "medium:0.05:0.25",
            "--quiet",
        ],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");

    // The table: configuration line, then a header and one row per class.
    assert!(stdout.starts_with("run short: POST"), "{stdout}");
    assert!(
        stdout.contains("connection=new schedule=open duration=2s"),
        "{stdout}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.starts_with("class "))
        .expect("a header");
    let columns: Vec<&str> = lines[header].split_whitespace().collect();
    assert_eq!(
        columns[3..],
        [
            "count", "errors", "skipped", "min", "median", "mean", "p90", "p95", "p99", "max"
        ]
    );
    let table: HashMap<&str, Vec<&str>> = lines[header + 1..header + 4]
        .iter()
        .map(|line| {
            let cells: Vec<&str> = line.split_whitespace().collect();
            (cells[0], cells)
        })
        .collect();
    // An open schedule sends exactly duration / interval requests per class.
    for (class, expected) in [("small", 40), ("large", 4), ("medium", 8)] {
        assert_eq!(
            table[class][3],
            expected.to_string(),
            "{class} count\n{stdout}"
        );
        assert_eq!(table[class][4], "0", "{class} errors\n{stdout}");
    }
    let dir = results.path().join("short");
    assert!(
        stdout.contains(&format!("results: {}", dir.join("requests.csv").display())),
        "{stdout}"
    );

    // requests.csv: one row per request, all answered by the server.
    let requests = read_csv(&dir.join("requests.csv"));
    let summary = read_csv(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 3);
    for row in &summary {
        let class = &row["class"];
        let rows: Vec<_> = requests.iter().filter(|r| &r["class"] == class).collect();
        assert_eq!(
            rows.len() as f64,
            number(row, "count") + number(row, "skipped"),
            "{class}"
        );
        assert_eq!(number(row, "ok"), number(row, "count"), "{class}");
        assert_eq!(row["schedule"], "open");
        assert_eq!(
            table[class.as_str()][7],
            format!("{:.2}", number(row, "median_ms")),
            "{class} median"
        );
        for (index, request) in rows.iter().enumerate() {
            assert_eq!(request["request_id"], format!("{class}-{:06}", index + 1));
            assert_eq!(request["status"], "200");
            assert_eq!(request["worker"], "0");
            assert_eq!(request["error"], "");
            assert!(number(request, "latency_ms") > 0.0);
            assert!(number(request, "sent_ms") >= number(request, "scheduled_ms"));
            assert!(number(request, "bytes_sent") > 0.0);
            assert!(!request["server_elapsed_ms"].is_empty());
        }
    }
    server.handle.stop(false).await;
}

/// LARGE_SIZE_MB=0 runs without the large class: the table, summary.csv and requests.csv
/// have small (and extra) rows only, and no large request reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_large_size_runs_without_the_large_class() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_against(
        &server,
        results.path(),
        "no-large",
        &[
            "--duration",
            "1",
            "--large-size-mb",
            "0",
            "--extra-classes",
            "medium:0.01:0.25",
            "--quiet",
        ],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.starts_with("class "))
        .expect("a header");
    let table_classes: Vec<&str> = lines[header + 1..]
        .iter()
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|cell| ["small", "large", "medium"].contains(cell))
        .collect();
    assert_eq!(table_classes, ["small", "medium"], "{stdout}");
    assert!(
        !stdout.contains("large "),
        "no large row or setting:\n{stdout}"
    );

    let dir = results.path().join("no-large");
    let summary = read_csv(&dir.join("summary.csv"));
    let summary_classes: Vec<&str> = summary.iter().map(|row| row["class"].as_str()).collect();
    assert_eq!(summary_classes, ["small", "medium"]);
    let requests = read_csv(&dir.join("requests.csv"));
    assert_eq!(
        requests.len(),
        10 + 4,
        "small every 0.1 s, medium every 0.25 s"
    );
    assert!(requests.iter().all(|row| row["class"] != "large"));
    assert!(requests.iter().all(|row| row["status"] == "200"));
    server.handle.stop(false).await;
}

/// `--json` prints the documented report shape on stdout and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_has_the_documented_shape() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_against(
        &server,
        results.path(),
        "json",
        &[
            "--duration",
            "1",
            "--large-size-mb",
            "0.1",
            "--endpoint",
            "/pong",
            "--connection",
            "keepalive",
            "--json",
        ],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value =
        serde_json::from_str(&stdout).expect("stdout is one JSON document");
    assert_eq!(report["run_id"], "json");
    assert_eq!(report["interrupted"], false);
    assert_eq!(report["config"]["endpoint"], "/pong");
    assert_eq!(report["config"]["connection"], "keepalive");
    assert_eq!(report["config"]["schedule"], "open");
    assert_eq!(report["config"]["classes"][1]["name"], "large");
    let small = &report["classes"][0];
    assert_eq!(small["class"], "small");
    assert_eq!(small["count"], 10);
    assert_eq!(small["ok"], 10);
    for key in [
        "errors",
        "skipped",
        "min_ms",
        "median_ms",
        "mean_ms",
        "p90_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
    ] {
        assert!(small[key].is_number(), "{key}: {small}");
    }
    assert!(small["errors_by_kind"].is_object());
    assert!(
        stderr.contains("results:"),
        "the files line goes to stderr with --json: {stderr}"
    );
    server.handle.stop(false).await;
}

/// lab-server's /drain reads every body and counts nothing (it answers 0 and 0): with
/// CHECK_ANSWERS on, its answers are not checked, while a class on /ping next to it still is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_floor_s_answers_are_not_checked_and_the_others_still_are() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let drain = Strategy::Drain.path();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--endpoint",
            drain,
            "--small-request",
            "POST /ping",
            "--large-interval",
            "0.25",
            "--duration",
            "1",
        ],
    );
    assert!(options.workload.check_answers);
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .expect("the run succeeds"),
    );
    for class in Class::STUDY {
        let summary = report.class(&class).unwrap();
        assert!(summary.stats.count >= 4, "{summary:?}");
        assert_eq!(summary.stats.ok, summary.stats.count, "{summary:?}");
    }
    let rows = read_csv(&report.dir.join("requests.csv"));
    let large: Vec<_> = rows.iter().filter(|row| row["class"] == "large").collect();
    assert!(
        large
            .iter()
            .all(|row| row["endpoint"] == drain && row["status"] == "200")
    );
    // The same server's /ping answers are checked: they count the body, so they are right.
    assert!(
        rows.iter()
            .filter(|row| row["class"] == "small")
            .all(|row| row["endpoint"] == "/ping" && row["error"].is_empty())
    );
    server.handle.stop(false).await;
}

/// Nothing listens on the target port: every request is a counted `connect_refused` error
/// and the run still ends normally with its files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_yields_counted_errors_not_a_crash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &format!("http://127.0.0.1:{port}"),
        results.path(),
        &["--duration", "1"],
    );
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .expect("the run itself succeeds"),
    );
    let small = report.class(&Class::Small).unwrap();
    assert_eq!(
        (small.stats.count, small.stats.ok, small.stats.errors),
        (10, 0, 10)
    );
    assert_eq!(small.errors_by_kind[&ClientErrorKind::ConnectRefused], 10);
    assert_eq!(small.stats.median_ms, None);
    let large = report.class(&Class::Large).unwrap();
    assert_eq!(large.errors_by_kind[&ClientErrorKind::ConnectRefused], 1);
    let rows = read_csv(&report.dir.join("requests.csv"));
    assert_eq!(rows.len(), 11);
    assert!(
        rows.iter()
            .all(|row| row["error"] == "connect_refused" && row["status"].is_empty())
    );
}

/// The server goes away mid-run and comes back on the same port: the errors in between are
/// counted, and requests succeed again afterwards (keep-alive pool included).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_mid_run_is_picked_up_again() {
    let first = LabServer::start(0, 1, 5);
    let port = first.port;
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &first.url(),
        results.path(),
        &[
            "--duration",
            "3.5",
            "--small-interval",
            "0.05",
            "--connection",
            "keepalive",
            "--large-interval",
            "100",
        ],
    );
    let run = tokio::spawn(lab_loadgen::run(options, std::future::pending()));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    first.handle.stop(false).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let second = LabServer::start(port, 1, 5);
    let report = support::only_run(run.await.unwrap().expect("the run survives the restart"));
    let small = report.class(&Class::Small).unwrap();
    assert_eq!(small.stats.count, 70);
    assert!(
        small.stats.errors >= 1,
        "the gap shows as errors: {small:?}"
    );
    let rows = read_csv(&report.dir.join("requests.csv"));
    let ok_at = |from: f64, to: f64| {
        rows.iter().any(|row| {
            let at = number(row, "scheduled_ms");
            row["class"] == "small" && row["error"].is_empty() && (from..to).contains(&at)
        })
    };
    assert!(ok_at(0.0, 900.0), "answered before the stop");
    assert!(ok_at(2600.0, 3500.0), "answered again after the restart");
    second.handle.stop(false).await;
}

/// Bad flags get clap's message naming the flag, and exit code 2, before anything runs.
#[tokio::test]
async fn bad_flags_exit_2_with_a_clear_message() {
    for (args, mentions) in [
        (vec!["--connection", "sometimes"], "--connection"),
        (
            vec!["--extra-classes", "medium:5"],
            "name:size_mb:interval_s",
        ),
        (vec!["--small-interval", "0"], "only SCHEDULE=closed"),
        (vec!["--request-timeout", "0"], "more than 0 seconds"),
        (vec!["--no-such-flag"], "--no-such-flag"),
    ] {
        let (code, stdout, stderr) = run_binary(&args).await;
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    }
}

//! How the binary ends when the run itself goes wrong: every request failed (exit 3, files
//! still written), or METRICS_BIND cannot be bound (exit 1, nothing left behind).

mod support;

use support::{closed_port_url, number, read_csv, run_loadgen};

/// No server at TARGET_URL (a closed port on 127.0.0.1): every request fails, the binary
/// prints the report, writes requests.csv and summary.csv, and exits 3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_in_which_every_request_failed_exits_3_and_still_writes_its_csvs() {
    let target = closed_port_url();
    let results = tempfile::tempdir().unwrap();
    let results_dir = results.path().display().to_string();
    let (code, stdout, stderr) = run_loadgen(
        &[
            "--target-url",
            &target,
            "--duration",
            "0.3",
            "--large-size-mb",
            "0.01",
            "--results-dir",
            &results_dir,
            "--run-id",
            "down",
            "--quiet",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 3, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stdout.contains("small errors: connect_refused=3"),
        "{stdout}"
    );
    assert!(
        stderr.contains("failed (connect_refused=4); exit code 3"),
        "{stderr}"
    );

    let dir = results.path().join("down");
    let requests = read_csv(&dir.join("requests.csv"));
    assert_eq!(requests.len(), 3 + 1, "small every 0.1 s, large every 1 s");
    assert!(requests.iter().all(|row| row["error"] == "connect_refused"));
    let summary = read_csv(&dir.join("summary.csv"));
    assert_eq!(summary.len(), 2);
    for row in &summary {
        assert_eq!(number(row, "ok"), 0.0, "{row:?}");
        assert_eq!(number(row, "errors"), number(row, "count"), "{row:?}");
    }
}

/// METRICS_BIND on a port someone already listens on: the binary says what failed, exits 1,
/// and leaves no run directory (nor RESULTS_DIR) behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_port_in_use_exits_1_and_leaves_no_run_directory() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics_bind = taken.local_addr().unwrap().to_string();
    let target = closed_port_url();
    let results = tempfile::tempdir().unwrap();
    let results_dir = results.path().join("results");
    let results_env = results_dir.display().to_string();
    for args in [
        vec!["--metrics-bind", metrics_bind.as_str()],
        vec!["--metrics-bind", metrics_bind.as_str(), "--run-id", "named"],
    ] {
        let mut all = vec![
            "--target-url",
            &target,
            "--duration",
            "0.2",
            "--large-size-mb",
            "0.01",
            "--results-dir",
            &results_env,
            "--quiet",
        ];
        all.extend(args);
        let (code, stdout, stderr) = run_loadgen(&all, &[]).await;
        assert_eq!(code, 1, "{all:?}: stdout: {stdout}\nstderr: {stderr}");
        assert!(
            stderr.contains(&format!(
                "cannot serve metrics on METRICS_BIND {metrics_bind}"
            )),
            "{stderr}"
        );
        assert!(stderr.to_lowercase().contains("in use"), "{stderr}");
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            !results_dir.exists(),
            "{all:?} left {:?} behind",
            std::fs::read_dir(&results_dir).map(|dir| dir.count())
        );
    }
    drop(taken);
}

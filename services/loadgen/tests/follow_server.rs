//! Runs follow the server: when its /healthz shows other settings or another start, the run
//! ends there (summary written) and a new run measures the new server.

mod support;

use lab_core::Class;
use std::time::Duration;

use lab_loadgen::RunEnd;
use support::{LabServer, read_csv, short_run};

/// A server restarted with another WORKERS, then restarted with the same settings: three
/// runs, each with its own directory, summary and the server settings it measured.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_restarted_server_starts_a_new_run() {
    let first = LabServer::start(0, 1, 5);
    let port = first.port;
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &first.url(),
        results.path(),
        &[
            "--duration",
            "6",
            "--small-interval",
            "0.05",
            "--large-interval",
            "100",
            "--server-check-interval",
            "0.2",
        ],
    );
    let run = tokio::spawn(lab_loadgen::run(options, std::future::pending()));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    first.handle.stop(true).await;
    let second = LabServer::start(port, 2, 5);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    second.handle.stop(true).await;
    let third = LabServer::start(port, 2, 5);
    let reports = run.await.unwrap().expect("the runs succeed");
    third.handle.stop(true).await;

    let summary: Vec<_> = reports
        .iter()
        .map(|report| {
            (
                report.run_id.as_str(),
                report.ended_by,
                report.server.as_ref().map(|server| server.workers),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("test", RunEnd::ServerChanged, Some(1)),
            ("test-2", RunEnd::ServerChanged, Some(2)),
            ("test-3", RunEnd::Duration, Some(2)),
        ],
        "{reports:#?}"
    );
    // The two 2-worker runs measured two starts of the server.
    assert_ne!(
        reports[1].server.as_ref().unwrap().instance,
        reports[2].server.as_ref().unwrap().instance
    );
    for report in &reports {
        let small = report.class(&Class::Small).unwrap();
        assert!(
            small.stats.ok > 0,
            "{}: nothing answered: {small:?}",
            report.run_id
        );
        let rows = read_csv(&report.dir.join("requests.csv"));
        assert!(rows.iter().all(|row| row["run_id"] == report.run_id));
        let summary = read_csv(&report.dir.join("summary.csv"));
        assert_eq!(summary[0]["run_id"], report.run_id);
    }
    // DURATION is the whole invocation's, not each run's: 6 s plus the drains.
    let elapsed: f64 = reports.iter().map(|report| report.elapsed_s).sum();
    assert!(elapsed < 6.0 + 2.0 * 2.0, "{elapsed} s");
}

/// With SERVER_CHECK_INTERVAL=0 a restart is part of the one run (its gap shows as errors).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_following_keeps_one_run_across_a_restart() {
    let first = LabServer::start(0, 1, 5);
    let port = first.port;
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &first.url(),
        results.path(),
        &["--duration", "2.5", "--large-interval", "100"],
    );
    let run = tokio::spawn(lab_loadgen::run(options, std::future::pending()));
    tokio::time::sleep(Duration::from_millis(800)).await;
    first.handle.stop(true).await;
    let second = LabServer::start(port, 2, 5);
    let reports = run.await.unwrap().unwrap();
    second.handle.stop(true).await;
    assert_eq!(reports.len(), 1, "{reports:#?}");
    assert_eq!(reports[0].server, None, "the server was not read");
}

//! Requests that never finish in time are counted errors of their own kind, and the run's
//! end stays bounded.

mod support;

use lab_core::{Class, ClientErrorKind};
use std::time::{Duration, Instant};

use support::{StallingServer, read_csv, short_run};

/// A server slower than REQUEST_TIMEOUT: each request ends as a `timeout` error after about
/// the timeout, not after the server's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_response_slower_than_the_request_timeout_is_a_counted_timeout() {
    let server = StallingServer::start(Duration::from_millis(800));
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "0.5",
            "--small-interval",
            "0.25",
            "--large-interval",
            "100",
            "--request-timeout",
            "0.3",
        ],
    );
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    for class in &report.classes {
        assert_eq!(class.stats.errors, class.stats.count, "{class:?}");
        assert_eq!(
            class.errors_by_kind[&ClientErrorKind::Timeout],
            class.stats.count,
            "{class:?}"
        );
    }
    let rows = read_csv(&report.dir.join("requests.csv"));
    assert_eq!(rows.len(), 3);
    for row in rows {
        let waited = support::number(&row, "latency_ms")
            - (support::number(&row, "sent_ms") - support::number(&row, "scheduled_ms"));
        assert!(
            (290.0..700.0).contains(&waited),
            "timed out after {waited} ms"
        );
    }
    server.handle.stop(false).await;
}

/// Requests still in flight when DRAIN_TIMEOUT runs out are recorded as `cancelled` and the
/// run ends right after the drain timeout, not when the server finally answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_drain_is_bounded_and_unfinished_requests_are_recorded_as_cancelled() {
    let server = StallingServer::start(Duration::from_millis(3000));
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "0.2",
            "--small-interval",
            "0.1",
            "--large-interval",
            "100",
            "--drain-timeout",
            "0.3",
        ],
    );
    let started = Instant::now();
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2000), "the run took {took:?}");
    let small = report.class(&Class::Small).unwrap();
    assert_eq!(small.stats.count, 2);
    assert_eq!(
        small.errors_by_kind[&ClientErrorKind::Cancelled],
        2,
        "{small:?}"
    );
    let rows = read_csv(&report.dir.join("requests.csv"));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|row| row["error"] == "cancelled"));
    server.handle.stop(false).await;
}

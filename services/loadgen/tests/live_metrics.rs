//! The client's own /metrics while a run goes, and the large class's LARGE_ON/LARGE_OFF cycle.

mod support;

use lab_core::Class;
use std::time::{Duration, Instant};

use support::{LabServer, number, read_csv, short_run};

/// A port that was free a moment ago (the metrics server binds it right after).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// During a run, METRICS_BIND serves every lab_client_* metric, with the server's buckets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_bind_serves_the_client_metrics_during_the_run() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "3",
            "--metrics-bind",
            &format!("127.0.0.1:{metrics_port}"),
        ],
    );
    let run = tokio::spawn(lab_loadgen::run(options, std::future::pending()));

    // Scrape until a successful small request shows up (bounded).
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        if let Ok(response) = client
            .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
            .send()
            .await
        {
            let text = response.text().await.unwrap();
            if text.contains(
                r#"lab_client_requests_total{class="small",endpoint="/ping",outcome="ok"}"#,
            ) {
                break text;
            }
        }
        assert!(Instant::now() < deadline, "no client metrics within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for expected in [
        r#"lab_client_request_duration_seconds_bucket{class="small",endpoint="/ping",le="0.0005"}"#,
        r#"lab_client_requests_in_flight{class="small"}"#,
        r#"lab_client_info{connection="new",endpoint="/ping",pool="per-class",replica="",schedule="open"} 1"#,
        "lab_client_large_uploads_enabled 1",
    ] {
        assert!(text.contains(expected), "missing {expected}\n{text}");
    }
    let buckets = text
        .lines()
        .filter(|line| {
            line.starts_with(r#"lab_client_request_duration_seconds_bucket{class="small""#)
        })
        .count();
    assert_eq!(
        buckets,
        lab_core::buckets::BOUND_COUNT + 1,
        "the shared bounds plus +Inf"
    );
    run.await.unwrap().unwrap();
    server.handle.stop(false).await;
}

/// LARGE_ON=0.5 / LARGE_OFF=0.5: large requests are only scheduled in the "on" halves of
/// each second; the small class is unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_uploads_follow_the_on_off_cycle() {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "2",
            "--large-interval",
            "0.1",
            "--large-on",
            "0.5",
            "--large-off",
            "0.5",
        ],
    );
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    assert_eq!(report.class(&Class::Small).unwrap().stats.count, 20);
    assert_eq!(report.class(&Class::Large).unwrap().stats.count, 10);
    let rows = read_csv(&report.dir.join("requests.csv"));
    for row in rows.iter().filter(|row| row["class"] == "large") {
        let at = number(row, "scheduled_ms");
        assert!(
            at % 1000.0 < 500.0,
            "large request scheduled at {at} ms, in an off phase"
        );
    }
    server.handle.stop(false).await;
}

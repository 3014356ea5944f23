//! SCHEDULE=open against a server that stalls on purpose (one worker, blocked 100 ms per
//! request): the timetable is kept, latency counts from the scheduled start, the in-flight
//! cap delays or skips requests visibly, and the study's closed loop under-reports.

mod support;

use lab_core::Class;
use std::time::Duration;

use support::{StallingServer, number, read_csv, short_run};

/// How long the test server blocks its only worker for every request.
const STALL: Duration = Duration::from_millis(100);

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// 30 small requests due every 50 ms while each takes the server 100 ms: every one goes out
/// on time, and their latencies grow with the queue the server builds up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_schedule_keeps_its_timetable_while_the_server_stalls() {
    let server = StallingServer::start(STALL);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "1.5",
            "--small-interval",
            "0.05",
            "--large-interval",
            "100",
        ],
    );
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    let small = report.class(&Class::Small).unwrap();
    assert_eq!(
        (small.stats.count, small.stats.ok, small.stats.skipped),
        (30, 30, 0),
        "{small:?}"
    );

    let rows: Vec<_> = read_csv(&report.dir.join("requests.csv"))
        .into_iter()
        .filter(|row| row["class"] == "small")
        .collect();
    for (index, row) in rows.iter().enumerate() {
        let scheduled = number(row, "scheduled_ms");
        assert_eq!(scheduled, index as f64 * 50.0, "the timetable");
        let late = number(row, "sent_ms") - scheduled;
        assert!(late < 40.0, "request {index} went out {late} ms late");
    }
    // The server serves one request per 100 ms, the client asks for one per 50 ms: request k
    // waits behind about k/2 others. The last ones wait well over a second.
    let stall_ms = STALL.as_millis() as f64;
    assert!(small.stats.min_ms.unwrap() >= stall_ms * 0.95, "{small:?}");
    assert!(small.stats.max_ms.unwrap() > 12.0 * stall_ms, "{small:?}");
    assert!(small.stats.p95_ms.unwrap() > 10.0 * stall_ms, "{small:?}");
    server.handle.stop(false).await;
}

/// With MAX_IN_FLIGHT=1 a due request waits for the slot: it goes out late, its latency
/// still counts from its scheduled start (so it is larger than the send-based one), and a
/// request still waiting when the next one is due is skipped and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_cap_delays_or_skips_and_latency_still_counts_from_the_schedule() {
    let server = StallingServer::start(STALL);
    let results = tempfile::tempdir().unwrap();
    let options = short_run(
        &server.url(),
        results.path(),
        &[
            "--duration",
            "1.5",
            "--small-interval",
            "0.06",
            "--large-interval",
            "100",
            "--max-in-flight",
            "1",
        ],
    );
    let report = support::only_run(
        lab_loadgen::run(options, std::future::pending())
            .await
            .unwrap(),
    );
    let small = report.class(&Class::Small).unwrap();
    assert_eq!(
        small.stats.count + small.stats.skipped,
        25,
        "every tick is either sent or skipped: {small:?}"
    );
    assert!(small.stats.skipped >= 3, "{small:?}");
    assert_eq!(small.stats.errors, 0, "{small:?}");

    let rows: Vec<_> = read_csv(&report.dir.join("requests.csv"))
        .into_iter()
        .filter(|row| row["class"] == "small")
        .collect();
    assert_eq!(rows.len(), 25);
    let skipped: Vec<_> = rows
        .iter()
        .filter(|row| row["error"] == "skipped")
        .collect();
    assert_eq!(skipped.len() as u64, small.stats.skipped);
    assert!(
        skipped
            .iter()
            .all(|row| row["sent_ms"].is_empty() && row["latency_ms"].is_empty())
    );

    let sent: Vec<_> = rows.iter().filter(|row| row["error"].is_empty()).collect();
    let from_schedule: Vec<f64> = sent.iter().map(|row| number(row, "latency_ms")).collect();
    let from_send: Vec<f64> = sent
        .iter()
        .map(|row| {
            number(row, "latency_ms") - (number(row, "sent_ms") - number(row, "scheduled_ms"))
        })
        .collect();
    let late = sent
        .iter()
        .filter(|row| number(row, "sent_ms") - number(row, "scheduled_ms") > 15.0)
        .count();
    eprintln!(
        "{} sent ({late} late), {} skipped; median latency from send {:.1} ms, from schedule {:.1} ms",
        sent.len(),
        skipped.len(),
        median(from_send.clone()),
        median(from_schedule.clone())
    );
    assert!(
        late * 3 >= sent.len(),
        "{late} of {} went out late",
        sent.len()
    );
    // One request at a time: the server answers each in about STALL once it is sent…
    let stall_ms = STALL.as_millis() as f64;
    let send_based = median(from_send);
    assert!(
        (stall_ms * 0.95..stall_ms * 2.5).contains(&send_based),
        "{send_based}"
    );
    // …but users waited from the scheduled start, which is what the report says.
    let schedule_based = median(from_schedule.clone());
    assert!(
        schedule_based > send_based + 10.0,
        "{schedule_based} vs {send_based}"
    );
    // The report's median is the HdrHistogram's, within 0.1% of a middle value.
    let reported = small.stats.median_ms.unwrap();
    let mut sorted = from_schedule.clone();
    sorted.sort_by(f64::total_cmp);
    let (lower, upper) = (sorted[(sorted.len() - 1) / 2], sorted[sorted.len() / 2]);
    assert!(
        (lower - 0.5..=upper + 0.5).contains(&reported),
        "{reported} not in {lower}..{upper}"
    );
    server.handle.stop(false).await;
}

/// The same stall measured by the study's closed loop: it sends far fewer requests and
/// reports a far lower p95 than the open schedule, because it stops asking while the server
/// is stuck (coordinated omission).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_loop_under_reports_the_same_stall() {
    let results = tempfile::tempdir().unwrap();
    let mut p95 = Vec::new();
    let mut counts = Vec::new();
    for schedule in ["closed", "open"] {
        let server = StallingServer::start(STALL);
        let options = short_run(
            &server.url(),
            &results.path().join(schedule),
            &[
                "--duration",
                "1.5",
                "--small-interval",
                "0.05",
                "--large-interval",
                "100",
                "--schedule",
                schedule,
            ],
        );
        let report = support::only_run(
            lab_loadgen::run(options, std::future::pending())
                .await
                .unwrap(),
        );
        let small = report.class(&Class::Small).unwrap().clone();
        assert_eq!(small.stats.errors, 0, "{schedule}: {small:?}");
        p95.push(small.stats.p95_ms.unwrap());
        counts.push(small.stats.count);
        server.handle.stop(false).await;
    }
    let (closed_p95, open_p95) = (p95[0], p95[1]);
    eprintln!(
        "closed: {} requests, p95 {closed_p95:.1} ms; open: {} requests, p95 {open_p95:.1} ms",
        counts[0], counts[1]
    );
    assert_eq!(counts[1], 30);
    // Closed: send, ~100 ms answer, 50 ms sleep: about 10 requests in 1.5 s.
    assert!(counts[0] <= 15, "closed sent {}", counts[0]);
    assert!(
        closed_p95 < 3.0 * STALL.as_millis() as f64,
        "closed p95 {closed_p95}"
    );
    assert!(
        open_p95 > 3.0 * closed_p95,
        "open p95 {open_p95} vs closed p95 {closed_p95}"
    );
}

//! The real binary: prints its address; on SIGTERM it finishes every upload in flight that is
//! still receiving, cuts off (503) an upload that stalls, closes idle keep-alive connections at
//! once, exits 0, and its log says which request was which and whether it drained or cut
//! something off.

mod common;

use std::{process::Child, time::Duration};

use common::{
    ENDPOINTS, Exposition, STRATEGIES, closed_by_server, expected_summary, large_body,
    read_response, start_binary, start_binary_with, write_head,
};
use lab_core::schema::LabResponse;
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

fn send_signal(child: &Child, signal: Signal) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits in i32"));
    kill(pid, signal).expect("the signal is delivered");
}

async fn active_requests(client: &reqwest::Client, address: &str, endpoint: &str) -> f64 {
    let text = client
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Exposition::parse(&text).value("http_server_active_requests", &[("endpoint", endpoint)])
}

/// Waits for the process to exit; returns whether it exited 0 and its whole log.
async fn exit_and_log(mut child: Child) -> (bool, String) {
    tokio::task::spawn_blocking(move || {
        let mut log = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut log).unwrap();
        let status = child.wait().unwrap();
        (status.success(), log)
    })
    .await
    .unwrap()
}

/// Sends half of `body` to `endpoint`, SIGTERM once the server handles it, the other half once
/// the listener is closed; returns whether the answer was a full, right 200 and the server's
/// exit and log.
async fn upload_through_sigterm(endpoint: &str, body: &[u8]) -> (bool, bool, String) {
    let expected = expected_summary(body);
    // A grace far above the moment between the two halves, however busy the machine.
    let (child, address) = start_binary_with(&[("SHUTDOWN_IDLE_GRACE", "20")]);

    let mut upload = TcpStream::connect(&address).await.unwrap();
    write_head(
        &mut upload,
        "POST",
        endpoint,
        &[
            "content-type: application/json".into(),
            format!("content-length: {}", body.len()),
        ],
    )
    .await;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    upload.write_all(first_half).await.unwrap();

    // Readiness, not a sleep: the server is handling the upload.
    let client = reqwest::Client::new();
    let label = endpoint.trim_start_matches('/');
    while active_requests(&client, &address, label).await < 1.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(client); // its idle keep-alive connection would hold shutdown up to KEEP_ALIVE
    send_signal(&child, Signal::SIGTERM);
    // Readiness again: shutdown has begun once the listener refuses new connections.
    while TcpStream::connect(&address).await.is_ok() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    upload.write_all(second_half).await.unwrap();
    let response = read_response(&mut upload).await;
    let answered_right = response.status == 200
        && serde_json::from_slice::<LabResponse>(&response.body)
            .is_ok_and(|answer| (answer.count as u64, answer.maxval) == expected);
    let (exited_zero, log) = exit_and_log(child).await;
    (answered_right, exited_zero, log)
}

/// SIGTERM while a 25 MB upload is half sent: the server stops accepting, the upload still
/// completes with a full answer, the process exits 0 and says it drained.
#[tokio::test]
async fn sigterm_completes_a_25_mb_upload_in_flight() {
    let (answered_right, exited_zero, log) = upload_through_sigterm("/pong", large_body()).await;
    assert!(answered_right, "the upload was not answered 200\n{log}");
    assert!(exited_zero, "{log}");
    assert!(log.contains("drained"), "{log}");
}

/// The same 20 times (five per endpoint, four servers at a time, 2 MB bodies so the test stays
/// short): every upload in flight completes, every time.
#[tokio::test]
async fn sigterm_completes_every_upload_in_flight_twenty_times() {
    let body = lab_core::payload::generate_seeded("large", 2.0, 7);
    let tries: Vec<&str> = STRATEGIES.iter().copied().cycle().take(20).collect();
    for batch in tries.chunks(4) {
        let outcomes = futures_util::future::join_all(
            batch
                .iter()
                .map(|endpoint| upload_through_sigterm(endpoint, &body)),
        )
        .await;
        for (endpoint, (answered_right, exited_zero, log)) in batch.iter().zip(outcomes) {
            assert!(
                answered_right,
                "{endpoint}: the upload was not answered 200\n{log}"
            );
            assert!(exited_zero, "{endpoint}: {log}");
            assert!(log.contains("drained"), "{endpoint}: {log}");
        }
    }
}

/// SIGTERM with an idle keep-alive connection open (as Prometheus keeps one): the server
/// closes it at once and exits, instead of waiting out SHUTDOWN_TIMEOUT.
#[tokio::test]
async fn sigterm_closes_idle_keep_alive_connections_at_once() {
    let shutdown_timeout = Duration::from_secs(60);
    let (child, address) = start_binary_with(&[("SHUTDOWN_TIMEOUT", "60")]);
    let mut scraper = TcpStream::connect(&address).await.unwrap();
    write_head(&mut scraper, "GET", "/metrics", &[]).await;
    assert_eq!(read_response(&mut scraper).await.status, 200);
    let started = std::time::Instant::now();
    send_signal(&child, Signal::SIGTERM);
    assert!(
        closed_by_server(&mut scraper).await,
        "the idle connection is closed"
    );
    let (exited_zero, log) = exit_and_log(child).await;
    let took = started.elapsed();
    assert!(exited_zero, "{log}");
    assert!(log.contains("drained"), "{log}");
    assert!(
        took < shutdown_timeout / 2,
        "the stop waited {took:?}, as if for SHUTDOWN_TIMEOUT"
    );
}

/// SIGTERM with an upload that keeps trickling in (so SHUTDOWN_IDLE_GRACE never cuts it):
/// after SHUTDOWN_TIMEOUT it is cut off, and the log says so instead of "drained".
#[tokio::test]
async fn a_cut_off_at_shutdown_is_logged_as_one() {
    let (child, address) = start_binary_with(&[("SHUTDOWN_TIMEOUT", "1")]);
    let mut upload = TcpStream::connect(&address).await.unwrap();
    write_head(
        &mut upload,
        "POST",
        "/pong",
        &[
            "content-type: application/json".into(),
            "content-length: 1000".into(),
        ],
    )
    .await;
    upload.write_all(b"{\"name\"").await.unwrap();
    let client = reqwest::Client::new();
    while active_requests(&client, &address, "pong").await < 1.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(client);
    // A space every 100 ms: progress, never the end of the body.
    let trickle = tokio::spawn(async move {
        while upload.write_all(b" ").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    send_signal(&child, Signal::SIGTERM);
    let (exited_zero, log) = exit_and_log(child).await;
    trickle.abort();
    assert!(exited_zero, "{log}");
    assert!(!log.contains("drained"), "{log}");
    assert!(log.contains("1 request(s)"), "{log}");
    assert!(log.contains("0 stalled upload(s)"), "{log}");
}

/// Sends the head of a 25 MB upload to `endpoint` and its first kilobyte, then nothing; waits
/// until the server handles it.
async fn stalled_upload(address: &str, endpoint: &str) -> TcpStream {
    let mut upload = TcpStream::connect(address).await.unwrap();
    let body = large_body();
    write_head(
        &mut upload,
        "POST",
        endpoint,
        &[
            "content-type: application/json".into(),
            format!("content-length: {}", body.len()),
        ],
    )
    .await;
    upload.write_all(&body[..1024]).await.unwrap();
    let client = reqwest::Client::new();
    let label = endpoint.trim_start_matches('/');
    while active_requests(&client, address, label).await < 1.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    upload
}

/// One client that sent a kilobyte of a 25 MB upload and stalled cannot hold a restart: on
/// SIGTERM, once the upload has gone SHUTDOWN_IDLE_GRACE without a byte, it gets 503
/// `shutting_down` (and its connection is closed), and the server exits long before
/// SHUTDOWN_TIMEOUT or BODY_IDLE_TIMEOUT (both 30 s), saying what it cut off. Every endpoint
/// reads its body under the same rule.
#[tokio::test]
async fn sigterm_cuts_off_an_upload_that_stalled_instead_of_waiting_for_it() {
    for endpoint in ENDPOINTS {
        let (child, address) = start_binary_with(&[
            ("SHUTDOWN_TIMEOUT", "30"),
            ("BODY_IDLE_TIMEOUT", "30"),
            ("SHUTDOWN_IDLE_GRACE", "1"),
        ]);
        let mut upload = stalled_upload(&address, endpoint).await;
        let started = std::time::Instant::now();
        send_signal(&child, Signal::SIGTERM);
        let response = read_response(&mut upload).await;
        assert_eq!(response.status, 503, "{endpoint}");
        let error: lab_core::schema::ErrorBody = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(error.error, "shutting_down", "{endpoint}: {error:?}");
        assert!(error.message.contains("SHUTDOWN_IDLE_GRACE"), "{error:?}");
        let (exited_zero, log) = exit_and_log(child).await;
        let took = started.elapsed();
        assert!(exited_zero, "{endpoint}: {log}");
        assert!(
            took < Duration::from_secs(15),
            "{endpoint}: the stop took {took:?}, as if it waited for a 30 s timeout\n{log}"
        );
        assert!(
            log.contains("an upload that made no progress is cut off"),
            "{log}"
        );
        assert!(
            log.contains("1 stalled upload(s) cut off"),
            "{endpoint}: {log}"
        );
        assert!(log.contains("drained"), "{endpoint}: {log}");
    }
}

/// A stop with one upload stalled and one still arriving: the stalled one is cut off with 503,
/// the other gets its full 200, and the last log line counts one of each.
#[tokio::test]
async fn a_stop_finishes_the_upload_that_progresses_and_cuts_the_one_that_stalled() {
    let body = large_body();
    let expected = expected_summary(body);
    let (child, address) = start_binary_with(&[("SHUTDOWN_IDLE_GRACE", "1")]);
    let mut stalled = stalled_upload(&address, "/pong").await;
    let mut arriving = TcpStream::connect(&address).await.unwrap();
    write_head(
        &mut arriving,
        "POST",
        "/stream",
        &[
            "content-type: application/json".into(),
            format!("content-length: {}", body.len()),
        ],
    )
    .await;
    // Readiness, not a sleep: the server handles the arriving upload before the stop begins
    // (a connection whose request has not been read yet is closed at the stop).
    let client = reqwest::Client::new();
    while active_requests(&client, &address, "stream").await < 1.0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(client);
    send_signal(&child, Signal::SIGTERM);
    // 64 KiB every 10 ms: well inside the grace, however busy the machine.
    for piece in body.chunks(64 * 1024) {
        arriving.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let answer = read_response(&mut arriving).await;
    assert_eq!(answer.status, 200);
    let answer: LabResponse = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!((answer.count as u64, answer.maxval), expected);
    assert_eq!(read_response(&mut stalled).await.status, 503);
    let (exited_zero, log) = exit_and_log(child).await;
    assert!(exited_zero, "{log}");
    assert!(log.contains("drained"), "{log}");
    assert!(
        log.contains("1 stalled upload(s) cut off"),
        "the last line counts the stalled upload\n{log}"
    );
}

/// SIGINT (Ctrl-C) on an idle server: a clean exit 0.
#[tokio::test]
async fn sigint_on_an_idle_server_exits_zero() {
    let (mut child, address) = start_binary();
    let health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    drop(health);
    send_signal(&child, Signal::SIGINT);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

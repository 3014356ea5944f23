//! The real binary: prints its address, and on SIGTERM finishes the request in flight and
//! exits 0.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::Duration,
};

use common::{Exposition, expected_summary, large_body, read_response, write_head};
use lab_core::schema::LabResponse;
use nix::{
    sys::signal::{Signal, kill},
    unistd::Pid,
};
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// Starts `lab-server` on 127.0.0.1:0 and returns it with its address from the stdout line.
fn start_binary() -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lab-server"))
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).expect("a stdout line");
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, address)
}

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

/// SIGTERM while a 25 MB upload is half sent: the server stops accepting, the upload still
/// completes with a full answer, then the process exits 0.
#[tokio::test]
async fn sigterm_drains_the_request_in_flight_and_exits_zero() {
    let body = large_body();
    let (expected_count, expected_maxval) = expected_summary(body);
    let (mut child, address) = start_binary();

    let mut upload = TcpStream::connect(&address).await.unwrap();
    write_head(
        &mut upload,
        "POST",
        "/pong",
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
    while active_requests(&client, &address, "pong").await < 1.0 {
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
    assert_eq!(response.status, 200);
    let answer: LabResponse = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(
        (answer.count as u64, answer.maxval),
        (expected_count, expected_maxval)
    );

    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
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

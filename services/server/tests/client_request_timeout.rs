//! CLIENT_REQUEST_TIMEOUT reaches actix: a connection whose first request head is not whole
//! within it gets 408; with the default (60 s) or 0 (no limit) the same slow head is served.
//!
//! Why the lab cares: actix counts this time from when the worker first looks at the
//! connection, so a head that arrived on time but waited behind a 25 MB parse on a blocked
//! event loop looks exactly like this slow head to actix. The waits below are ratios of the
//! 408's own arrival time, never fixed thresholds.

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, connect, read_response, spawn_app};
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// The first line and one header of a /ping request; the rest of the head is not sent yet.
const PARTIAL_HEAD: &[u8] = b"POST /ping HTTP/1.1\r\nhost: 127.0.0.1\r\n";

/// A small valid body.
const BODY: &[u8] = br#"{"name":"slow-head","data":{"a":1}}"#;

/// Opens a connection and sends only the start of a request head.
async fn start_slow_request(app: &TestApp) -> TcpStream {
    let mut stream = connect(app).await;
    stream
        .write_all(PARTIAL_HEAD)
        .await
        .expect("head start written");
    stream
}

/// Sends the rest of the head and the body.
async fn finish_slow_request(stream: &mut TcpStream) {
    let rest = format!(
        "content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        BODY.len()
    );
    stream
        .write_all(rest.as_bytes())
        .await
        .expect("head end written");
    stream.write_all(BODY).await.expect("body written");
}

/// CLIENT_REQUEST_TIMEOUT=1: the unfinished head is answered 408 (the read waits for it).
/// Then, the same head finished after 1.5 × the time that 408 took is served 200 by a server
/// with the default and by one with 0 (no limit).
#[tokio::test]
async fn a_head_slower_than_the_timeout_gets_408_and_the_default_or_zero_serves_it() {
    let strict = spawn_app(&["--workers", "1", "--client-request-timeout", "1"]).await;
    let started = Instant::now();
    let mut stream = start_slow_request(&strict).await;
    let response = read_response(&mut stream).await;
    let timed_out_after = started.elapsed();
    assert_eq!(response.status, 408, "{response:?}");
    println!("408 after {:.2} s", timed_out_after.as_secs_f64());

    let slower: Duration = timed_out_after.mul_f64(1.5);
    for flags in [
        vec!["--workers", "1"],
        vec!["--workers", "1", "--client-request-timeout", "0"],
    ] {
        let app = spawn_app(&flags).await;
        let mut stream = start_slow_request(&app).await;
        tokio::time::sleep(slower).await;
        finish_slow_request(&mut stream).await;
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 200, "{flags:?}: {response:?}");
    }
}

//! Clients that pipeline requests and read the answers late, or never: every answer still
//! arrives when it is read, and a client that never reads cannot make the server hold more
//! than about a megabyte a connection (see `lab_server::connection`).

mod common;

use std::time::{Duration, Instant};

use common::{KillOnDrop, resident_bytes, spawn_app, start_binary_with};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const HEALTH_REQUEST: &[u8] = b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n";
const METRICS_REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n";

/// Reads until `answers` status lines have arrived, `pause` between reads of at most 64 KiB
/// (a slow reader); returns how many arrived before the stream closed or 60 s passed.
async fn count_answers(
    mut reader: impl AsyncRead + Unpin,
    answers: usize,
    pause: Duration,
) -> usize {
    let status_line = b"HTTP/1.1 200 OK\r\n";
    let started = Instant::now();
    let (mut seen, mut carry) = (0, Vec::new());
    let mut buffer = vec![0u8; 64 * 1024];
    while seen < answers && started.elapsed() < Duration::from_secs(60) {
        let read = match reader.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        carry.extend_from_slice(&buffer[..read]);
        let mut at = 0;
        while let Some(found) = memchr::memmem::find(&carry[at..], status_line) {
            seen += 1;
            at += found + status_line.len();
        }
        // Keep what may be the start of a status line cut by this read.
        let keep_from = at.max(carry.len().saturating_sub(status_line.len() - 1));
        carry.drain(..keep_from);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    seen
}

/// Sends `requests` copies of `request` on one connection without reading; reads the answers
/// only after `read_after`, `pause` between reads. Returns how many arrived.
async fn pipeline(
    address: &str,
    request: &'static [u8],
    requests: usize,
    read_after: Duration,
    pause: Duration,
) -> usize {
    let (reader, mut writer) = TcpStream::connect(address).await.unwrap().into_split();
    let sending = tokio::spawn(async move {
        // The server may stop reading the rest while its answers wait: that write then
        // finishes only once they are read.
        writer.write_all(&request.repeat(requests)).await.unwrap();
        writer
    });
    tokio::time::sleep(read_after).await;
    let answered = count_answers(reader, requests, pause).await;
    drop(sending.await.unwrap());
    answered
}

/// 5,000 pipelined requests, nothing read for half a second: the server stops reading them
/// while its answers wait, and goes on once the client reads, so all 5,000 arrive.
#[tokio::test]
async fn a_pipelined_burst_read_late_gets_every_answer() {
    let app = spawn_app(&[]).await;
    let answered = pipeline(
        &app.address,
        HEALTH_REQUEST,
        5_000,
        Duration::from_millis(500),
        Duration::ZERO,
    )
    .await;
    assert_eq!(answered, 5_000);
}

/// 3,000 pipelined `/metrics` requests (tens of megabytes of answers, more than the sockets'
/// buffers hold) read by a slow client: the server pauses and resumes many times, and every
/// answer arrives.
#[tokio::test]
async fn a_slow_reader_of_large_answers_gets_every_one() {
    let app = spawn_app(&[]).await;
    let answered = pipeline(
        &app.address,
        METRICS_REQUEST,
        3_000,
        Duration::from_millis(200),
        Duration::from_millis(1),
    )
    .await;
    assert_eq!(answered, 3_000);
}

/// Ten connections pipeline `GET /healthz` for three seconds and never read an answer. The
/// server's resident memory grows by less than 2 MB a connection (it grew by 6 to 24 MB
/// a connection before it stopped reading for clients that do not read), and it goes back down
/// once they have closed.
#[tokio::test]
async fn clients_that_never_read_cannot_grow_the_server() {
    let (child, address) = start_binary_with(&[("RUST_LOG", "warn"), ("BODY_BUDGET_MB", "64")]);
    let child = KillOnDrop(child);
    let pid = child.0.id();
    let before = resident_bytes(pid);
    let connections = 10;
    let until = Instant::now() + Duration::from_secs(3);
    let floods: Vec<_> = (0..connections)
        .map(|_| {
            let address = address.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(&address).await.unwrap();
                let burst = HEALTH_REQUEST.repeat(4096);
                while Instant::now() < until {
                    match tokio::time::timeout(Duration::from_millis(200), stream.write_all(&burst))
                        .await
                    {
                        Ok(Ok(())) | Err(_) => {}
                        Ok(Err(_)) => break,
                    }
                }
                stream
            })
        })
        .collect();
    let mut peak = before;
    while Instant::now() < until {
        peak = peak.max(resident_bytes(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let streams = futures_util::future::join_all(floods).await;
    peak = peak.max(resident_bytes(pid));
    drop(streams);
    let per_connection = (peak.saturating_sub(before)) / connections;
    println!(
        "resident: {} MB before, {} MB at the peak, {} KB a connection",
        before >> 20,
        peak >> 20,
        per_connection >> 10
    );
    assert!(
        per_connection < 2 << 20,
        "each connection grew the server by {} KB",
        per_connection >> 10
    );
    // Given back once they have closed (malloc_trim on the blocking pool).
    let settled = Instant::now();
    let mut after = resident_bytes(pid);
    while after > before + (16 << 20) && settled.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = resident_bytes(pid);
    }
    drop(child);
    assert!(
        after <= before + (16 << 20),
        "{} MB after the clients closed, {} MB before",
        after >> 20,
        before >> 20
    );
}

/// Ten connections at once: the bursts above, read at the normal pace, are all answered (no
/// connection waits forever for a turn).
#[tokio::test]
async fn many_pipelining_connections_are_all_answered() {
    let app = spawn_app(&[]).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let address = app.address.clone();
            tokio::spawn(async move {
                pipeline(
                    &address,
                    HEALTH_REQUEST,
                    1_000,
                    Duration::ZERO,
                    Duration::ZERO,
                )
                .await
            })
        })
        .collect();
    for answered in futures_util::future::join_all(tasks).await {
        assert_eq!(answered.unwrap(), 1_000);
    }
}

//! `/stream` over real HTTP: its answer and phases, a trickled upload answered as soon as its
//! last byte is in, and a refused body still read to its end. (That it holds the event loop
//! only a slice at a time is in `tests/event_loop.rs`; that it answers every body as the
//! other endpoints do is in `tests/agreement.rs`, `tests/bad_input.rs` and
//! `tests/parser_fuzz.rs`.) Timings are compared as ratios of two measurements from the same
//! run, never to a fixed time.

mod common;

use std::time::{Duration, Instant};

use common::{expected_summary, large_body, read_response, spawn_app, start_json_post};
use lab_core::schema::{ErrorBody, LabResponse};
use tokio::io::AsyncWriteExt;

/// A 25 MB body gets the right answer, and the profile names /stream's phases.
#[tokio::test]
async fn a_25_mb_body_gets_the_right_answer_and_the_stream_phases() {
    let body = large_body();
    let (count, maxval) = expected_summary(body);
    let app = spawn_app(&["--keep-alive", "0"]).await;
    let response = app.post_json("/stream", body.to_vec()).await;
    assert_eq!(response.status(), 200);
    let answer: LabResponse = response.json().await.unwrap();
    assert_eq!(answer.name, "large");
    assert_eq!((answer.count as u64, answer.maxval), (count, maxval));
    let phases: Vec<&str> = answer.profiling.keys().map(String::as_str).collect();
    assert_eq!(
        phases,
        ["compute", "drop", "longest_slice", "parse", "wait_body"]
    );
    let metrics = app.metrics().await;
    let parses = metrics.value(
        "lab_server_phase_duration_seconds_count",
        &[("endpoint", "stream"), ("phase", "parse")],
    );
    assert_eq!(parses, 1.0);
}

/// A body trickled in over about two seconds: /stream has parsed all but the last piece by
/// the time it arrives, so its answer comes much sooner after the last byte than /lean's,
/// which starts parsing only then.
#[tokio::test]
async fn a_trickled_upload_is_answered_right_after_its_last_byte() {
    let body = lab_core::payload::generate_seeded("trickled", 8.0, 3);
    let app = spawn_app(&["--keep-alive", "0"]).await;
    let gap = Duration::from_millis(100);
    let mut after = Vec::new();
    for path in ["/lean", "/stream"] {
        let mut stream =
            start_json_post(&app, path, &[format!("content-length: {}", body.len())]).await;
        let mut last_byte = Instant::now();
        for piece in body.chunks(body.len().div_ceil(20)) {
            tokio::time::sleep(gap).await;
            stream.write_all(piece).await.unwrap();
            last_byte = Instant::now();
        }
        let response = read_response(&mut stream).await;
        let waited = last_byte.elapsed();
        assert_eq!(response.status, 200, "{path}");
        let answer: LabResponse = serde_json::from_slice(&response.body).unwrap();
        println!(
            "{path}: answered {waited:?} after the last byte; {:?}",
            answer.profiling
        );
        after.push(waited);
    }
    let (lean, stream) = (after[0], after[1]);
    assert!(
        stream * 2 < lean,
        "/stream answered {stream:?} after the last byte, /lean {lean:?}"
    );
}

/// A body that is not JSON from its first byte but passes MAX_BODY_MB is still read until it
/// does: 413, as on the endpoints that read the whole body before parsing it.
#[tokio::test]
async fn an_early_syntax_error_does_not_hide_a_body_too_large() {
    let app = spawn_app(&["--max-body-mb", "1"]).await;
    let mut stream = start_json_post(&app, "/stream", &["transfer-encoding: chunked".into()]).await;
    let chunk = 256 * 1024;
    for _ in 0..6 {
        let mut bytes = format!("{chunk:x}\r\n").into_bytes();
        bytes.extend(std::iter::repeat_n(b'x', chunk));
        bytes.extend_from_slice(b"\r\n");
        if stream.write_all(&bytes).await.is_err() {
            break;
        }
    }
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 413);
    let error: ErrorBody = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(error.error, "body_too_large");
}

/// `{"name":"x","data":{"a":1,"a":1,…}}`: every pair has the same key, so every record lands in
/// one of the key table's buckets. The count still stops every few thousand records for the
/// loop: the longest slice stays a small share of the time the work took on the loop (before,
/// the one bucket was counted in one go, and the longest slice was most of it).
#[tokio::test]
async fn one_key_repeated_a_million_times_is_still_counted_in_slices() {
    let pairs = 2_000_000;
    let mut body = String::from(r#"{"name":"x","data":{"#);
    body.push_str(&"\"a\":1,".repeat(pairs - 1));
    body.push_str(r#""a":2}}"#);
    let app = spawn_app(&["--keep-alive", "0"]).await;
    let response = app.post_json("/stream", body.into_bytes()).await;
    assert_eq!(response.status(), 200);
    let answer: LabResponse = response.json().await.unwrap();
    assert_eq!((answer.count, answer.maxval), (1, 2));
    let phase = |name: &str| answer.profiling[name];
    let on_the_loop = phase("parse") + phase("compute") + phase("drop");
    let longest = phase("longest_slice");
    println!("{:?}", answer.profiling);
    assert!(
        longest * 10.0 < phase("compute"),
        "the longest slice ({longest} ms) is not a small share of the count ({} ms); all on the loop: {on_the_loop} ms",
        phase("compute")
    );
}

//! Every bad request that is not about the body's JSON gets its defined status and a JSON error
//! body, the same on all five strategy endpoints, and the server keeps serving afterwards: limits,
//! the budget, unknown paths and methods, clients that leave. What the body's JSON gets (400, 422,
//! 415 for a content type, deep nesting) is in the conformance cases file, which
//! `tests/conformance.rs` sends to every endpoint.

mod common;

use common::{STRATEGIES, TestApp, read_response, spawn_app, start_json_post};
use lab_core::schema::ErrorBody;
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// Reads the answer on `stream` and checks it is a 413 with a `body_too_large` JSON error.
async fn expect_body_too_large(stream: &mut TcpStream, endpoint: &str) {
    let response = read_response(stream).await;
    assert_eq!(response.status, 413, "{endpoint}");
    let answer: ErrorBody = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(answer.error, "body_too_large");
}

async fn still_serving(app: &TestApp) {
    let response = app
        .post_json("/lean", r#"{"name":"ok","data":{"a":1}}"#)
        .await;
    assert_eq!(response.status(), 200);
}

/// A declared Content-Length over MAX_BODY_MB → 413 before a byte of the body is sent.
#[tokio::test]
async fn declared_length_over_the_limit_is_refused_before_reading() {
    let app = spawn_app(&["--max-body-mb", "1"]).await;
    for endpoint in STRATEGIES {
        let length = format!("content-length: {}", 1024 * 1024 + 1);
        let mut stream = start_json_post(&app, endpoint, &[length]).await;
        // No body follows: the answer can only come from the declared length.
        expect_body_too_large(&mut stream, endpoint).await;
    }
    still_serving(&app).await;
}

/// A chunked body (no Content-Length) is stopped with 413 as soon as it passes the limit:
/// the client never sends the end of the body, and still gets its answer.
#[tokio::test]
async fn chunked_body_is_stopped_as_soon_as_it_passes_the_limit() {
    let app = spawn_app(&["--max-body-mb", "1"]).await;
    let over_the_limit = 1024 * 1024 + 1;
    for endpoint in STRATEGIES {
        let mut stream =
            start_json_post(&app, endpoint, &["transfer-encoding: chunked".into()]).await;
        stream
            .write_all(format!("{over_the_limit:x}\r\n").as_bytes())
            .await
            .unwrap();
        stream.write_all(&vec![b' '; over_the_limit]).await.unwrap();
        // Neither the chunk's CRLF nor the final zero chunk is ever sent.
        expect_body_too_large(&mut stream, endpoint).await;
    }
    still_serving(&app).await;
}

/// The budget counts body bytes as they arrive, plus each body's parse: a request whose
/// declared body and parse do not fit what is left gets 503 before its body is read, one that
/// fits is served beside a half-sent upload, and the upload, once finished, is served too.
#[tokio::test]
async fn a_body_that_does_not_fit_the_budget_left_is_503() {
    let app = spawn_app(&["--body-budget-mb", "4"]).await;
    let budget = 4 * 1024 * 1024;
    let held_length = 150_000;
    let mut held =
        start_json_post(&app, "/pong", &[format!("content-length: {held_length}")]).await;
    let prefix = br#"{"name":"held","data":{"a":1}}"#;
    let sent_first = 100_000;
    held.write_all(prefix).await.unwrap();
    held.write_all(&vec![b' '; sent_first - prefix.len()])
        .await
        .unwrap();
    // Readiness, not a sleep: wait until the server has charged what was sent.
    while app
        .metrics()
        .await
        .value("lab_server_body_budget_in_use_bytes", &[])
        < sent_first as f64
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    for endpoint in STRATEGIES {
        // A body as large as what is left: with its parse, it cannot fit.
        let too_big_for_what_is_left = budget - sent_first;
        let body = format!(
            r#"{{"name":"n","data":{{"a":1}}}}{}"#,
            " ".repeat(too_big_for_what_is_left)
        );
        let response = app.post_json(endpoint, body).await;
        assert_eq!(response.status(), 503, "{endpoint}");
        let answer: ErrorBody = response.json().await.unwrap();
        assert_eq!(answer.error, "server_busy");
        let response = app
            .post_json(endpoint, r#"{"name":"n","data":{"a":1}}"#)
            .await;
        assert_eq!(
            response.status(),
            200,
            "{endpoint}: a small body still fits"
        );
    }
    held.write_all(&vec![b' '; held_length - sent_first])
        .await
        .unwrap();
    let response = read_response(&mut held).await;
    assert_eq!(response.status, 200);
    still_serving(&app).await;
    let metrics = app.metrics().await;
    assert_eq!(
        metrics.value("lab_server_body_budget_in_use_bytes", &[]),
        0.0
    );
}

/// A chunked body that outgrows the budget while it arrives is cut off with 503 (counted as
/// `over_budget`), and the budget is whole again afterwards.
#[tokio::test]
async fn a_chunked_body_outgrowing_the_budget_is_cut_off_with_503() {
    let app = spawn_app(&["--body-budget-mb", "1"]).await;
    for endpoint in STRATEGIES {
        let mut stream =
            start_json_post(&app, endpoint, &["transfer-encoding: chunked".into()]).await;
        let chunk = 512 * 1024;
        for _ in 0..3 {
            let mut bytes = format!("{chunk:x}\r\n").into_bytes();
            bytes.extend(std::iter::repeat_n(b' ', chunk));
            bytes.extend_from_slice(b"\r\n");
            if stream.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 503, "{endpoint}");
        let answer: ErrorBody = serde_json::from_slice(&response.body).unwrap();
        assert_eq!(answer.error, "server_busy");
    }
    let metrics = app.metrics().await;
    assert_eq!(
        metrics.value(
            "lab_server_uploads_cut_off_total",
            &[("reason", "over_budget")]
        ),
        STRATEGIES.len() as f64
    );
    assert_eq!(
        metrics.value("lab_server_body_budget_in_use_bytes", &[]),
        0.0
    );
    still_serving(&app).await;
}

/// Unknown path → 404 JSON; known path with the wrong method → 405 JSON.
#[tokio::test]
async fn unknown_path_is_404_and_wrong_method_405_both_json() {
    let app = spawn_app(&[]).await;
    let response = app.client.get(app.url("/nowhere")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<ErrorBody>().await.unwrap().error,
        "not_found"
    );
    for endpoint in STRATEGIES {
        let response = app.client.get(app.url(endpoint)).send().await.unwrap();
        assert_eq!(response.status(), 405, "{endpoint}");
        assert_eq!(
            response.json::<ErrorBody>().await.unwrap().error,
            "method_not_allowed"
        );
    }
    let response = app.client.post(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    still_serving(&app).await;
}

/// A client that disconnects mid-body costs the server nothing lasting: no panic, the active
/// gauge goes back to zero, and it keeps serving.
#[tokio::test]
async fn client_disconnecting_mid_body_leaves_the_server_serving() {
    let app = spawn_app(&[]).await;
    for endpoint in STRATEGIES {
        let mut stream = start_json_post(&app, endpoint, &["content-length: 1000000".into()]).await;
        stream
            .write_all(br#"{"name":"gone","data":{"a":"#)
            .await
            .unwrap();
        drop(stream);
    }
    loop {
        let metrics = app.metrics().await;
        let active: f64 = ["ping", "pong", "offload", "lean"]
            .iter()
            .map(|endpoint| metrics.value("http_server_active_requests", &[("endpoint", endpoint)]))
            .sum();
        if active == 0.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    still_serving(&app).await;
}

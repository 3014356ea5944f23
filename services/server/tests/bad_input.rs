//! Every bad input gets its defined status and a JSON error body, the same on all five
//! strategy endpoints, and the server keeps serving afterwards.

mod common;

use common::{STRATEGIES, TestApp, read_response, spawn_app, start_json_post};
use lab_core::schema::ErrorBody;
use tokio::{io::AsyncWriteExt, net::TcpStream};

/// Sends `body` with `content_type` (none if `None`) to every strategy endpoint and checks
/// each answers `status` with an [`ErrorBody`] of kind `error`; returns the messages.
async fn expect_everywhere(
    app: &TestApp,
    content_type: Option<&str>,
    body: &str,
    status: u16,
    error: &str,
) -> Vec<String> {
    let mut messages = Vec::new();
    for endpoint in STRATEGIES {
        let mut request = app.client.post(app.url(endpoint)).body(body.to_owned());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{endpoint} {body:?}");
        let answer: ErrorBody = response.json().await.unwrap();
        assert_eq!(
            answer.error, error,
            "{endpoint} {body:?}: {}",
            answer.message
        );
        messages.push(answer.message);
    }
    messages
}

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

/// Malformed and truncated JSON → 400 `malformed_json` with the parser's line and column.
#[tokio::test]
async fn malformed_json_is_400_with_the_position() {
    let app = spawn_app(&[]).await;
    for body in [
        r#"{"name":"n","data":{"a":1,}}"#,
        r#"{"name":"n","data":{"a":1"#,
        "{\"name\":\"n\",\n\"data\": nope}",
        r#"{"name":"n","data":{}} trailing"#,
        "",
        "not json",
    ] {
        for message in
            expect_everywhere(&app, Some("application/json"), body, 400, "malformed_json").await
        {
            assert!(
                message.contains("line") && message.contains("column"),
                "{message}"
            );
        }
    }
    still_serving(&app).await;
}

/// Valid JSON of the wrong shape → 422 `wrong_shape`: wrong types, missing fields, floats,
/// integers outside i64, a repeated top-level field.
#[tokio::test]
async fn valid_json_of_the_wrong_shape_is_422() {
    let app = spawn_app(&[]).await;
    for body in [
        r#"{"name":"n","data":{"a":"1"}}"#,
        r#"{"name":"n","data":{"a":1.5}}"#,
        r#"{"name":"n","data":{"a":1e3}}"#,
        r#"{"name":"n","data":{"a":9223372036854775808}}"#,
        r#"{"name":"n","data":{"a":-9223372036854775809}}"#,
        r#"{"name":"n","data":{"a":null}}"#,
        r#"{"name":"n","data":[1,2]}"#,
        r#"{"name":5,"data":{}}"#,
        r#"{"name":"n"}"#,
        r#"{"data":{}}"#,
        r#"{"name":"n","name":"m","data":{}}"#,
        r#"["n"]"#,
        "[]",
        "42",
        r#""just a string""#,
    ] {
        expect_everywhere(&app, Some("application/json"), body, 422, "wrong_shape").await;
    }
    still_serving(&app).await;
}

/// Wrong content type, missing content type, or a compressed body → 415, on every endpoint.
#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let app = spawn_app(&[]).await;
    let body = r#"{"name":"n","data":{"a":1}}"#;
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("not a media type"),
        None,
    ] {
        expect_everywhere(&app, content_type, body, 415, "unsupported_media_type").await;
    }
    for endpoint in STRATEGIES {
        let response = app
            .client
            .post(app.url(endpoint))
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{endpoint}");
    }
    still_serving(&app).await;
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

/// A small body nested a million levels deep is an error on every endpoint, not a crash: the
/// server keeps serving.
#[tokio::test]
async fn a_body_nested_a_million_levels_deep_is_an_error_not_a_crash() {
    let app = spawn_app(&[]).await;
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let body = format!(r#"{{"name":"n","data":{{"a":{deep}}}}}"#);
    expect_everywhere(&app, Some("application/json"), &body, 422, "wrong_shape").await;
    expect_everywhere(&app, Some("application/json"), &deep, 422, "wrong_shape").await;
    still_serving(&app).await;
}

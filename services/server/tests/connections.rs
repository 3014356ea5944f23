//! KEEP_ALIVE: on, one connection carries many requests; 0, the server closes each
//! connection after one response and every request needs a new one.

mod common;

use common::{closed_by_server, connect, read_response, spawn_app, write_head};
use lab_core::metrics::server;

/// KEEP_ALIVE=0: the response says `connection: close` and the server really closes it.
#[tokio::test]
async fn keep_alive_zero_closes_the_connection_after_one_response() {
    let app = spawn_app(&["--keep-alive", "0"]).await;
    let mut stream = connect(&app).await;
    write_head(&mut stream, "GET", "/healthz", &[]).await;
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.headers.get("connection").map(String::as_str),
        Some("close")
    );
    assert!(closed_by_server(&mut stream).await);
}

/// With keep-alive on, the same connection serves a second request.
#[tokio::test]
async fn keep_alive_on_serves_several_requests_on_one_connection() {
    let app = spawn_app(&["--keep-alive", "5"]).await;
    let mut stream = connect(&app).await;
    for _ in 0..3 {
        write_head(&mut stream, "GET", "/healthz", &[]).await;
        let response = read_response(&mut stream).await;
        assert_eq!(response.status, 200);
        assert_ne!(
            response.headers.get("connection").map(String::as_str),
            Some("close")
        );
    }
}

/// The per-worker connection counter sees what the client cannot: a pooled client opens one
/// connection for many requests with keep-alive, and one per request with KEEP_ALIVE=0.
#[tokio::test]
async fn connection_counter_shows_reuse_with_keep_alive_and_none_without() {
    for (keep_alive, expected_connections) in [("5", 1.0), ("0", 5.0)] {
        let app = spawn_app(&["--keep-alive", keep_alive]).await;
        let client = reqwest::Client::new();
        let before = app.metrics().await.sum(server::CONNECTIONS_TOTAL.name, &[]);
        for _ in 0..5 {
            let response = client
                .post(app.url("/lean"))
                .header("content-type", "application/json")
                .body(r#"{"name":"n","data":{"a":1}}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        let after = app.metrics().await.sum(server::CONNECTIONS_TOTAL.name, &[]);
        // The scrapes use `app.client`, whose own connection is counted in `before` (with
        // keep-alive) or adds one per scrape (without): only `client`'s are compared here.
        let scrape_connections = if keep_alive == "0" { 1.0 } else { 0.0 };
        assert_eq!(
            after - before - scrape_connections,
            expected_connections,
            "KEEP_ALIVE={keep_alive}"
        );
    }
}

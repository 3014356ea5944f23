//! The five strategy endpoints over real HTTP: the study's response, headers, profiles.

mod common;

use common::{STRATEGIES, TestApp, expected_summary, large_body, spawn_app};
use lab_core::schema::LabResponse;

/// Every endpoint parses a real 25 MB seed-shaped body and gives the same, correct answer.
#[tokio::test]
async fn every_endpoint_answers_a_25_mb_body_with_the_same_count_and_maxval() {
    // Slow synchronous work (generating, counting) comes before the server starts: it blocks
    // the test's runtime, and a pooled connection idle past KEEP_ALIVE meanwhile would be
    // closed under the client.
    let body = large_body();
    assert!(body.len() > 24_000_000, "{} bytes", body.len());
    let (count, maxval) = expected_summary(body);
    // KEEP_ALIVE=0: a fresh connection per body. actix computes a keep-alive deadline from a
    // clock the blocked loop could not refresh, so after a multi-second parse (debug build,
    // busy machine) it may close a kept-alive connection at once, while the client starts
    // writing the next 25 MB on it (a broken pipe that has nothing to do with this test).
    let app = spawn_app(&["--keep-alive", "0"]).await;
    for endpoint in STRATEGIES {
        let response = app.post_json(endpoint, body.to_vec()).await;
        assert_eq!(response.status(), 200, "{endpoint}");
        let answer: LabResponse = response.json().await.unwrap();
        assert_eq!(answer.name, "large", "{endpoint}");
        assert_eq!(answer.count as u64, count, "{endpoint}");
        assert_eq!(answer.maxval, maxval, "{endpoint}");
        assert_eq!(answer.worker, 0, "{endpoint}");
    }
}

/// The response carries the study's fields; /pong, /offload and /lean profile their phases,
/// /ping (whose work happens inside the framework's extractor) does not.
#[tokio::test]
async fn profiling_lists_the_phases_of_the_endpoints_that_profile() {
    let app = spawn_app(&[]).await;
    let body = lab_core::payload::generate_seeded("small", 0.001, 1);
    let phases_of = |answer: &LabResponse| answer.profiling.keys().cloned().collect::<Vec<_>>();
    let ping: LabResponse = app
        .post_json("/ping", body.clone())
        .await
        .json()
        .await
        .unwrap();
    assert!(ping.profiling.is_empty());
    for endpoint in ["/pong", "/lean"] {
        let answer: LabResponse = app
            .post_json(endpoint, body.clone())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            phases_of(&answer),
            ["compute", "drop", "parse", "read_body"],
            "{endpoint}"
        );
    }
    // A 1 KB body is parsed on the loop: below OFFLOAD_MIN_KB it never waits for the pool.
    let offload: LabResponse = app
        .post_json("/offload", body.clone())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        phases_of(&offload),
        ["compute", "drop", "parse", "read_body"]
    );
    // A 0.1 MB body (over the default 64 KiB) goes to the blocking pool.
    let medium = lab_core::payload::generate_seeded("medium", 0.1, 2);
    let offload: LabResponse = app
        .post_json("/offload", medium)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        phases_of(&offload),
        ["blocking_wait", "compute", "drop", "parse", "read_body"]
    );
    assert!(offload.profiling.values().all(|ms| *ms >= 0.0));
}

/// OFFLOAD_MIN_KB=0 sends every /offload body to the blocking pool, small ones too.
#[tokio::test]
async fn offload_min_kb_zero_offloads_every_body() {
    let app = spawn_app(&["--offload-min-kb", "0"]).await;
    let body = lab_core::payload::generate_seeded("small", 0.001, 1);
    let offload: LabResponse = app.post_json("/offload", body).await.json().await.unwrap();
    assert!(offload.profiling.contains_key("blocking_wait"));
}

/// `x-request-id` is echoed and `x-worker-id` names the worker that also appears in the body.
#[tokio::test]
async fn request_id_is_echoed_and_worker_id_is_added() {
    // KEEP_ALIVE=0: a fresh connection per body. actix computes a keep-alive deadline from a
    // clock the blocked loop could not refresh, so after a multi-second parse (debug build,
    // busy machine) it may close a kept-alive connection at once, while the client starts
    // writing the next 25 MB on it (a broken pipe that has nothing to do with this test).
    let app = spawn_app(&["--keep-alive", "0"]).await;
    for endpoint in STRATEGIES {
        let response = app
            .client
            .post(app.url(endpoint))
            .header("content-type", "application/json")
            .header("x-request-id", "req-42")
            .body(r#"{"name":"n","data":{"a":1}}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["x-request-id"], "req-42", "{endpoint}");
        let worker_header = response.headers()["x-worker-id"]
            .to_str()
            .unwrap()
            .to_owned();
        let answer: LabResponse = response.json().await.unwrap();
        assert_eq!(worker_header, answer.worker.to_string(), "{endpoint}");
    }
}

/// `+json` media types and a charset parameter are JSON too, on every endpoint.
#[tokio::test]
async fn json_media_type_variants_are_accepted_everywhere() {
    let app = spawn_app(&[]).await;
    for content_type in [
        "application/json; charset=utf-8",
        "application/vnd.lab+json",
    ] {
        for endpoint in STRATEGIES {
            let response = app
                .client
                .post(app.url(endpoint))
                .header("content-type", content_type)
                .body(r#"{"name":"n","data":{"a":1}}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{endpoint} {content_type}");
        }
    }
}

/// /healthz reports the settings the experiments vary, the strategy endpoints, and a name
/// for this start of the server that another start does not share.
#[tokio::test]
async fn healthz_reports_settings_endpoints_and_this_start() {
    let health = |app: &TestApp| {
        let request = app.client.get(app.url("/healthz")).send();
        async move {
            let mut body: serde_json::Value = request.await.unwrap().json().await.unwrap();
            let instance = body["instance"].as_str().unwrap().to_owned();
            body.as_object_mut().unwrap().remove("instance");
            (body, instance)
        }
    };
    let app = spawn_app(&["--workers", "2", "--keep-alive", "0"]).await;
    let (body, first) = health(&app).await;
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "workers": 2, "keep_alive_seconds": 0,
                           "endpoints": lab_core::Strategy::PATHS, "allocator": "system"})
    );
    // Every worker reports the same start; another start of the server has another name.
    for _ in 0..10 {
        assert_eq!(health(&app).await.1, first);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let other = spawn_app(&["--workers", "2", "--keep-alive", "0"]).await;
    assert_ne!(health(&other).await.1, first);
}

/// A name of 1 MB, with quotes, backslashes, control and multi-byte characters, is echoed
/// whole by every endpoint: as a stream of pieces (`transfer-encoding: chunked`), the same JSON
/// a short name gets in one buffer.
#[tokio::test]
async fn a_long_name_is_echoed_whole_in_pieces() {
    let app = spawn_app(&[]).await;
    let name: String = "q\"b\\t\té日😀".chars().cycle().take(1 << 20).collect();
    let body = serde_json::json!({ "name": name, "data": { "k": 5, "j": 9 } }).to_string();
    for endpoint in STRATEGIES {
        let response = app.post_json(endpoint, body.clone()).await;
        assert_eq!(response.status(), 200, "{endpoint}");
        assert_eq!(
            response
                .headers()
                .get("transfer-encoding")
                .and_then(|value| value.to_str().ok()),
            Some("chunked"),
            "{endpoint}"
        );
        let answer: LabResponse = response.json().await.unwrap();
        assert_eq!(answer.name, name, "{endpoint}");
        assert_eq!((answer.count, answer.maxval), (2, 9), "{endpoint}");
    }
}

/// Every strategy lab-core knows is served, reported by `/healthz` and labelled in
/// `/metrics` by its own label: adding a variant to `Strategy` (and its handler, which the
/// route table's exhaustive match asks for) is all a new strategy needs to be measured.
#[tokio::test]
async fn every_strategy_of_lab_core_is_served_reported_and_labelled() {
    let app = spawn_app(&[]).await;
    let health: lab_core::http::Health = app
        .client
        .get(app.url(lab_core::http::HEALTH_PATH))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health.endpoints, lab_core::Strategy::PATHS);
    let body = r#"{"name":"n","data":{"a":1,"b":2}}"#;
    for strategy in lab_core::Strategy::ALL {
        let response = app.post_json(strategy.path(), body).await;
        assert_eq!(response.status(), 200, "{strategy}");
        let answer: LabResponse = response.json().await.unwrap();
        if strategy.counts() {
            assert_eq!((answer.count, answer.maxval), (2, 2), "{strategy}");
        }
    }
    let metrics = app.metrics().await;
    for strategy in lab_core::Strategy::ALL {
        let served = metrics.value(
            "http_server_request_body_size_bytes_count",
            &[("endpoint", strategy.label())],
        );
        assert_eq!(served, 1.0, "{strategy}");
    }
}

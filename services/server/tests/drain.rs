//! `/drain`, the floor: it reads any body whole and answers 200 with `count` and `maxval` 0
//! (it parses nothing, so even a body that is not JSON is fine), under the same upload rules as
//! every strategy (the hardening tests run it too), with `read_body` in its profile.

mod common;

use common::{large_body, spawn_app};
use lab_core::schema::LabResponse;

/// A 25 MB study body, a body that is not JSON and an empty one: all read whole, all 200,
/// nothing counted.
#[tokio::test]
async fn any_body_is_read_whole_and_answered_without_a_count() {
    let app = spawn_app(&["--keep-alive", "0"]).await;
    for body in [
        large_body().to_vec(),
        b"not json at all".to_vec(),
        Vec::new(),
    ] {
        let response = app.post_json("/drain", body.clone()).await;
        assert_eq!(response.status(), 200);
        let answer: LabResponse = response.json().await.unwrap();
        assert_eq!(
            (answer.name.as_str(), answer.count, answer.maxval),
            ("", 0, 0)
        );
        assert_eq!(
            answer.profiling.keys().collect::<Vec<_>>(),
            ["read_body"],
            "{} bytes",
            body.len()
        );
    }
    let metrics = app.metrics().await;
    let read = metrics.value(
        "http_server_request_body_size_bytes_sum",
        &[("endpoint", "drain")],
    );
    assert_eq!(read as usize, large_body().len() + "not json at all".len());
}

/// Over MAX_BODY_MB it is refused like every strategy: 413 before a byte is read.
#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = spawn_app(&["--max-body-mb", "1"]).await;
    let response = app.post_json("/drain", vec![b' '; 2 << 20]).await;
    assert_eq!(response.status(), 413);
}

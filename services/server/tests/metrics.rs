//! The metrics exposition, parsed: the series the contract names exist with their labels, and
//! move when requests are served.

mod common;

use std::time::Duration;

use common::{Exposition, STRATEGIES, spawn_app};
use lab_core::metrics::{MetricKind, server};

const SMALL: &str = r#"{"name":"small","data":{"a":1,"b":2}}"#;

fn histogram_count(exposition: &Exposition, name: &str, labels: &[(&str, &str)]) -> f64 {
    exposition.value(&format!("{name}_count"), labels)
}

/// Every series of the contract (`lab_core::metrics::server`) is exported with its type,
/// and process metrics come along.
#[tokio::test]
async fn every_series_is_exported_with_its_type() {
    let app = spawn_app(&[]).await;
    for endpoint in STRATEGIES {
        app.post_json(endpoint, SMALL).await;
    }
    let exposition = app.metrics().await;
    let contract = server::ALL.map(|metric| {
        let kind = match metric.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        (metric.name, kind)
    });
    for (name, kind) in contract
        .into_iter()
        .chain([("process_resident_memory_bytes", "gauge")])
    {
        assert_eq!(
            exposition.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
    assert_eq!(exposition.value(server::KEEP_ALIVE_SECONDS.name, &[]), 5.0);
    assert_eq!(exposition.value(server::BLOCKING_THREADS.name, &[]), 2.0);
}

/// Each served request lands once in the duration histogram under its endpoint, size class
/// and status, its buckets are cumulative, and the phases of the profiling endpoints appear.
#[tokio::test]
async fn requests_are_counted_by_endpoint_size_class_and_status() {
    // OFFLOAD_MIN_KB=0: the small /offload body goes to the blocking pool too, so its
    // `blocking_wait` phase is recorded.
    let app = spawn_app(&["--offload-min-kb", "0"]).await;
    for endpoint in STRATEGIES {
        assert_eq!(app.post_json(endpoint, SMALL).await.status(), 200);
        assert_eq!(app.post_json(endpoint, "{").await.status(), 400);
    }
    let medium = lab_core::payload::generate_seeded("medium", 0.1, 1);
    let large = lab_core::payload::generate_seeded("large", 2.0, 1);
    assert_eq!(app.post_json("/lean", medium).await.status(), 200);
    assert_eq!(app.post_json("/lean", large.clone()).await.status(), 200);

    let exposition = app.metrics().await;
    for endpoint in ["ping", "pong", "offload", "lean", "stream"] {
        for status in ["200", "400"] {
            let labels = [
                ("endpoint", endpoint),
                ("size_class", "small"),
                ("status", status),
            ];
            assert_eq!(
                histogram_count(&exposition, server::REQUEST_DURATION.name, &labels),
                1.0
            );
            let buckets: Vec<f64> = exposition
                .find(
                    &format!("{}_bucket", server::REQUEST_DURATION.name),
                    &labels,
                )
                .map(|sample| sample.value)
                .collect();
            assert_eq!(buckets.len(), lab_core::buckets::BOUND_COUNT + 1);
            assert!(
                buckets.windows(2).all(|pair| pair[0] <= pair[1]),
                "{buckets:?}"
            );
            assert_eq!(*buckets.last().unwrap(), 1.0);
        }
    }
    for size_class in ["medium", "large"] {
        let labels = [
            ("endpoint", "lean"),
            ("size_class", size_class),
            ("status", "200"),
        ];
        assert_eq!(
            histogram_count(&exposition, server::REQUEST_DURATION.name, &labels),
            1.0
        );
    }
    let body_sum = exposition.value(
        &format!("{}_sum", server::REQUEST_BODY_SIZE.name),
        &[("endpoint", "lean")],
    );
    assert!(body_sum >= large.len() as f64, "{body_sum}");
    for phase in ["read_body", "parse", "compute", "drop"] {
        for endpoint in ["pong", "offload", "lean"] {
            let labels = [("endpoint", endpoint), ("phase", phase)];
            assert!(histogram_count(&exposition, server::PHASE_DURATION.name, &labels) >= 1.0);
        }
    }
    let labels = [("endpoint", "offload"), ("phase", "blocking_wait")];
    assert!(histogram_count(&exposition, server::PHASE_DURATION.name, &labels) >= 1.0);
    for phase in ["wait_body", "parse", "compute", "drop", "longest_slice"] {
        let labels = [("endpoint", "stream"), ("phase", phase)];
        assert!(histogram_count(&exposition, server::PHASE_DURATION.name, &labels) >= 1.0);
    }
    assert_eq!(
        exposition.value(server::REQUESTS_TOTAL.name, &[("worker", "0")]),
        2.0 * STRATEGIES.len() as f64 + 2.0
    );
}

/// Label values never come from the request: odd paths, query strings and headers all end up
/// under the fixed label sets.
#[tokio::test]
async fn label_values_stay_in_their_fixed_sets() {
    let app = spawn_app(&["--workers", "2"]).await;
    for path in ["/ping?x=1", "/some/invented/path", "/PING", "/lean/"] {
        app.client
            .post(app.url(path))
            .header("content-type", "application/json")
            .header("x-request-id", "label-injection")
            .body(SMALL)
            .send()
            .await
            .unwrap();
    }
    let exposition = app.metrics().await;
    let allowed_endpoints: Vec<&str> = lab_core::Strategy::ALL
        .map(lab_core::Strategy::label)
        .into_iter()
        .chain([lab_core::metrics::OTHER_ENDPOINT])
        .collect();
    for sample in &exposition.samples {
        if let Some(endpoint) = sample.labels.get("endpoint") {
            assert!(allowed_endpoints.contains(&endpoint.as_str()), "{sample:?}");
        }
        if let Some(size_class) = sample.labels.get("size_class") {
            assert!(
                ["small", "medium", "large"].contains(&size_class.as_str()),
                "{sample:?}"
            );
        }
        if let Some(worker) = sample.labels.get("worker") {
            assert!(["0", "1"].contains(&worker.as_str()), "{sample:?}");
        }
        assert!(
            sample
                .labels
                .values()
                .all(|value| value != "label-injection")
        );
    }
}

/// WORKERS=3: the gauge says 3, every worker runs a lag probe, and requests on new
/// connections are spread over more than one worker by the accept loop.
#[tokio::test]
async fn three_workers_each_probe_their_loop_and_share_new_connections() {
    let app = spawn_app(&["--workers", "3"]).await;
    let new_connection_each_time = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let requests = 12;
    let mut workers_seen = std::collections::BTreeSet::new();
    for _ in 0..requests {
        let response = new_connection_each_time
            .post(app.url("/lean"))
            .header("content-type", "application/json")
            .body(SMALL)
            .send()
            .await
            .unwrap();
        workers_seen.insert(
            response.headers()["x-worker-id"]
                .to_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert!(workers_seen.len() > 1, "{workers_seen:?}");

    let exposition = loop {
        // Each worker's probe records its first sample one period after it starts.
        let exposition = app.metrics().await;
        let probed = (0..3).all(|worker| {
            histogram_count(
                &exposition,
                server::EVENT_LOOP_LAG.name,
                &[("worker", &worker.to_string())],
            ) > 0.0
        });
        if probed {
            break exposition;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(exposition.value(server::WORKERS.name, &[]), 3.0);
    let per_worker: Vec<f64> = (0..3)
        .map(|worker| {
            exposition.value(
                server::REQUESTS_TOTAL.name,
                &[("worker", &worker.to_string())],
            )
        })
        .collect();
    assert_eq!(per_worker.iter().sum::<f64>(), requests as f64);
    assert!(
        per_worker.iter().filter(|count| **count > 0.0).count() > 1,
        "{per_worker:?}"
    );
    let connections = exposition.sum(server::CONNECTIONS_TOTAL.name, &[]);
    assert!(connections >= requests as f64, "{connections}");
}

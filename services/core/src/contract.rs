//! The contract as data: every name the lab's programs must agree on, written to one JSON file
//! (`services/core/contract/lab-contract.json`) that the Python side reads (the FastAPI
//! server's tests, the dashboard's tests, the end-to-end checks) instead of reading our Rust
//! sources. A test keeps the committed file equal to what this module builds; after changing
//! a kind or a name, write it anew with `cargo run -p lab-core --example write_contract`.

use serde::Serialize;
use serde_json::{Value, json};

use crate::{
    buckets,
    classes::Class,
    csv_rows::{REQUESTS_COLUMNS, REQUESTS_CSV, SUMMARY_COLUMNS, SUMMARY_CSV},
    errors::{ClientErrorKind, ServerErrorKind},
    http,
    metrics::{self, MetricDef},
    phases::Phase,
    stats::STATS_COLUMNS,
    strategy::Strategy,
};

/// Where the contract file lives, from the repository's root.
pub const CONTRACT_FILE: &str = "services/core/contract/lab-contract.json";

/// One strategy as the contract lists it.
#[derive(Serialize)]
struct StrategyEntry {
    path: &'static str,
    label: &'static str,
    about: &'static str,
    on_fastapi: bool,
    counts: bool,
}

/// The whole contract.
pub fn contract() -> Value {
    let strategies: Vec<StrategyEntry> = Strategy::ALL
        .into_iter()
        .map(|strategy| StrategyEntry {
            path: strategy.path(),
            label: strategy.label(),
            about: strategy.about(),
            on_fastapi: strategy.on_fastapi(),
            counts: strategy.counts(),
        })
        .collect();
    let server_errors: Vec<Value> = ServerErrorKind::ALL
        .into_iter()
        .map(|kind| json!({ "kind": kind.name(), "status": kind.status() }))
        .collect();
    let metric_list = |all: &[MetricDef]| -> Vec<MetricDef> { all.to_vec() };
    json!({
        "about": "What every program of large-request-lab agrees on. Written by lab-core (services/core/src/contract.rs); do not edit by hand.",
        "strategies": strategies,
        "classes": Class::STUDY.iter().map(Class::name).collect::<Vec<_>>(),
        "server_error_kinds": server_errors,
        "client_error_kinds": ClientErrorKind::ALL.iter().map(|kind| kind.name()).collect::<Vec<_>>(),
        "phases": Phase::ALL.iter().map(|phase| phase.name()).collect::<Vec<_>>(),
        "http": {
            "health_path": http::HEALTH_PATH,
            "metrics_path": http::METRICS_PATH,
            "health_fields": ["status", "workers", "keep_alive_seconds", "endpoints", "instance", "allocator"],
            "request_id_header": http::REQUEST_ID_HEADER,
            "worker_id_header": http::WORKER_ID_HEADER,
        },
        "metrics": {
            "server": metric_list(&metrics::server::ALL),
            "client": metric_list(&metrics::client::ALL),
            "other_endpoint": metrics::OTHER_ENDPOINT,
            "size_classes": metrics::SIZE_CLASSES.iter().map(|(name, below)| json!({
                "name": name,
                "below_bytes": (*below != usize::MAX).then_some(*below),
            })).collect::<Vec<_>>(),
            "body_size_buckets_bytes": buckets::body_size_buckets_bytes(),
            "cut_off_reasons": metrics::server::CUT_OFF_REASONS,
            "ok_outcome": metrics::client::OK_OUTCOME,
            "latency_buckets_seconds": buckets::latency_buckets_seconds(),
        },
        "csv": {
            REQUESTS_CSV: REQUESTS_COLUMNS,
            SUMMARY_CSV: SUMMARY_COLUMNS,
            "stats": STATS_COLUMNS,
        },
    })
}

/// The contract as the committed file holds it: pretty JSON and a final newline.
pub fn contract_text() -> String {
    let mut text = serde_json::to_string_pretty(&contract()).expect("the contract serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed file is what this module writes: a change of a name or a kind without
    /// `cargo run -p lab-core --example write_contract` fails here.
    #[test]
    fn the_committed_contract_is_current() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contract/lab-contract.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == contract_text(),
            "{} is stale: run `cargo run -p lab-core --example write_contract`",
            path.display()
        );
    }
}

//! How the accept loop spread one multi-worker scenario's requests over its workers, from the
//! `worker` column of its requests.csv (the server's `x-worker-id`), every round's requests
//! together.

use lab_core::classes::{LARGE, SMALL};
use serde::Serialize;

use crate::requests::{RequestRecord, per_worker_counts, percentile};
use crate::scenario::ScenarioKey;

/// One worker's share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerShare {
    /// Worker index.
    pub worker: usize,
    /// Small requests it served.
    pub small: u64,
    /// Large requests it served.
    pub large: u64,
    /// p95 of the small requests it served, ms.
    pub small_p95_ms: Option<f64>,
}

/// One multi-worker scenario's spread.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerSpread {
    /// The scenario.
    pub key: ScenarioKey,
    /// Its label.
    pub label: String,
    /// One entry per worker 0..WORKERS, including workers that served nothing.
    pub shares: Vec<WorkerShare>,
    /// Workers that served at least one request.
    pub workers_used: usize,
    /// The largest fraction of all small requests one worker served (0 when none).
    pub busiest_small_share: f64,
}

/// The spread of `key`'s requests.
pub fn worker_spread(key: &ScenarioKey, records: &[RequestRecord]) -> WorkerSpread {
    let counts = per_worker_counts(records);
    let shares: Vec<WorkerShare> = (0..key.workers)
        .map(|worker| {
            let classes = counts.get(&worker);
            let count = |class: &str| classes.and_then(|c| c.get(class)).copied().unwrap_or(0);
            let small_latencies: Vec<f64> = records
                .iter()
                .filter(|r| r.is_ok() && r.class == SMALL && r.worker == Some(worker))
                .filter_map(|r| Some(r.latency_ms?.0))
                .collect();
            WorkerShare {
                worker,
                small: count(SMALL),
                large: count(LARGE),
                small_p95_ms: percentile(&small_latencies, 95.0),
            }
        })
        .collect();
    let total: u64 = shares.iter().map(|s| s.small).sum();
    let busiest = shares.iter().map(|s| s.small).max().unwrap_or(0);
    WorkerSpread {
        key: *key,
        label: key.label(),
        workers_used: shares.iter().filter(|s| s.small + s.large > 0).count(),
        busiest_small_share: if total == 0 {
            0.0
        } else {
            busiest as f64 / total as f64
        },
        shares,
    }
}

//! Do the small-request spikes line up with the uploads? The small requests of a
//! single-worker scenario split by whether a large upload was in flight while they waited
//! (their span from scheduled start to answer overlaps an upload's), every round together.

use lab_core::classes::{LARGE, SMALL};
use lab_core::csv_rows::Millis;
use serde::Serialize;

use crate::requests::{RequestRecord, percentile};

/// Small requests during and outside uploads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overlap {
    /// The scenario.
    pub label: String,
    /// Small requests whose wait overlapped a large upload.
    pub during_count: usize,
    /// Their p95, ms.
    pub during_p95_ms: Option<f64>,
    /// Small requests that never overlapped a large upload.
    pub outside_count: usize,
    /// Their p95, ms.
    pub outside_p95_ms: Option<f64>,
}

/// The split of one round's `records`, to be merged over the rounds with [`Overlap::merge`]:
/// `(during, outside)` latencies.
pub fn split_by_uploads(records: &[RequestRecord]) -> (Vec<f64>, Vec<f64>) {
    let large_spans: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.class == LARGE)
        .filter_map(RequestRecord::span_ms)
        .collect();
    let overlaps =
        |(start, end): (f64, f64)| large_spans.iter().any(|&(ls, le)| start < le && ls < end);
    let (mut during, mut outside) = (Vec::new(), Vec::new());
    for record in records.iter().filter(|r| r.class == SMALL && r.is_ok()) {
        let (Some(span), Some(Millis(latency))) = (record.span_ms(), record.latency_ms) else {
            continue;
        };
        if overlaps(span) {
            during.push(latency);
        } else {
            outside.push(latency);
        }
    }
    (during, outside)
}

impl Overlap {
    /// The overlap of `label` from its rounds' splits.
    pub fn merge(label: String, during: &[f64], outside: &[f64]) -> Self {
        Self {
            label,
            during_count: during.len(),
            during_p95_ms: percentile(during, 95.0),
            outside_count: outside.len(),
            outside_p95_ms: percentile(outside, 95.0),
        }
    }
}

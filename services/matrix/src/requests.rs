//! Reads a scenario's `requests.csv` (written by the load generator, one row per request)
//! back for what a summary cannot show: when each request ran, and which worker served it.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{Doing, MatrixError};
use lab_core::csv_rows::RequestRow;

/// One row of `requests.csv`, read with the type the load generator wrote it with.
pub type RequestRecord = RequestRow<'static>;

/// All rows of the `requests.csv` at `path`.
pub fn read_requests_csv(path: &Path) -> Result<Vec<RequestRecord>, MatrixError> {
    let mut reader = csv::Reader::from_path(path).doing(|| format!("open {}", path.display()))?;
    reader
        .deserialize()
        .collect::<Result<_, _>>()
        .doing(|| format!("parse {}", path.display()))
}

/// Nearest-rank percentile (`q` in 0..=100) of `values`; `None` when empty.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Requests served per worker and class: `worker → class → count` (successful requests only).
pub fn per_worker_counts(records: &[RequestRecord]) -> BTreeMap<usize, BTreeMap<String, u64>> {
    let mut counts: BTreeMap<usize, BTreeMap<String, u64>> = BTreeMap::new();
    for record in records.iter().filter(|r| r.is_ok()) {
        if let Some(worker) = record.worker {
            *counts
                .entry(worker)
                .or_default()
                .entry(record.class.to_string())
                .or_default() += 1;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Percentiles of per-request subsets use the nearest rank.
    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 95.0), Some(95.0));
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    const SAMPLE: &str = "\
run_id,request_id,class,method,endpoint,connection,scheduled_ms,sent_ms,latency_ms,status,bytes_sent,server_elapsed_ms,worker,error
r,small-000001,small,POST,/ping,new,0.0,0.1,1.5,200,60,0,0,
r,large-000001,large,POST,/ping,new,0.0,0.2,900.25,200,25000000,850,1,
r,small-000002,small,POST,/ping,new,100.0,100.1,3.0,,60,,,connect_refused
r,large-000002,large,POST,/ping,new,1000.0,,,,0,,,skipped
";

    /// The same file as written before requests.csv had its `method` column.
    const SAMPLE_WITHOUT_METHOD: &str = "\
run_id,request_id,class,endpoint,connection,scheduled_ms,sent_ms,latency_ms,status,bytes_sent,server_elapsed_ms,worker,error
r,small-000001,small,/ping,new,0.0,0.1,1.5,200,60,0,0,
";

    /// requests.csv as lab-loadgen writes it (failed and skipped rows too) parses, and per-worker counts skip failures.
    #[test]
    fn reads_the_load_generators_columns_and_counts_per_worker() {
        let dir = std::env::temp_dir().join(format!("matrix-requests-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("requests.csv");
        std::fs::write(&path, SAMPLE).unwrap();
        let records = read_requests_csv(&path).unwrap();
        assert_eq!(records.len(), 4);
        assert!(records[0].is_ok() && records[1].is_ok() && !records[2].is_ok());
        assert_eq!(records[1].span_ms(), Some((0.0, 900.25)));
        assert!(
            !records[3].is_ok() && records[3].span_ms().is_none() && records[3].sent_ms.is_none()
        );
        assert_eq!(records[2].worker, None);
        let counts = per_worker_counts(&records);
        assert_eq!(counts[&0]["small"], 1);
        assert_eq!(counts[&1]["large"], 1);
        assert_eq!(counts.len(), 2, "the failed request has no worker");
        assert_eq!(records[0].method, "POST");
        std::fs::write(&path, SAMPLE_WITHOUT_METHOD).unwrap();
        let older = read_requests_csv(&path).unwrap();
        assert_eq!(
            (older[0].method.as_ref(), older[0].endpoint.as_ref()),
            ("", "/ping")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

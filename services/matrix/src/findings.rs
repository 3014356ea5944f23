//! The numbers the report's findings are computed from. Pure functions of `matrix.csv` rows
//! and `requests.csv` records: no sentence in the report states a number these did not give.

use std::collections::BTreeMap;

use crate::requests::{RequestRecord, per_worker_counts};
use crate::scenario::ScenarioKind;
use crate::table::MatrixRow;
use lab_loadgen::options::Connection;

/// The class names the findings talk about.
pub const SMALL: &str = "small";
/// See [`SMALL`].
pub const LARGE: &str = "large";

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

fn is_kind(row: &MatrixRow, kind: ScenarioKind) -> bool {
    row.kind == kind.as_str()
}

fn find<'a>(
    rows: &'a [MatrixRow],
    class: &str,
    pred: impl Fn(&MatrixRow) -> bool,
) -> Option<&'a MatrixRow> {
    rows.iter().find(|row| row.class == class && pred(row))
}

/// A loaded scenario's small p95 next to the unloaded small p95 of the same connection mode.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedVsUnloaded {
    /// Scenario name.
    pub scenario: String,
    /// Study-style config label.
    pub config: String,
    /// Small p95 with large uploads running, ms.
    pub loaded_p95_ms: f64,
    /// Small p95 of the unloaded baseline, ms.
    pub unloaded_p95_ms: f64,
    /// `loaded / unloaded`.
    pub ratio: f64,
}

/// The unloaded small row a loaded `row` compares to: same connection mode, preferring the
/// same workers and endpoint.
fn baseline_for<'a>(rows: &'a [MatrixRow], row: &MatrixRow) -> Option<&'a MatrixRow> {
    let unloaded =
        |r: &MatrixRow| is_kind(r, ScenarioKind::Unloaded) && r.connection == row.connection;
    find(rows, SMALL, |r| {
        unloaded(r) && r.workers == row.workers && r.endpoint == row.endpoint
    })
    .or_else(|| find(rows, SMALL, |r| unloaded(r) && r.workers == row.workers))
    .or_else(|| find(rows, SMALL, unloaded))
}

/// Small p95 loaded / unloaded for every scenario with large uploads that has a baseline.
pub fn small_p95_ratios(rows: &[MatrixRow]) -> Vec<LoadedVsUnloaded> {
    rows.iter()
        .filter(|r| r.class == SMALL && !is_kind(r, ScenarioKind::Unloaded))
        .filter_map(|row| {
            let loaded = row.p95_ms?;
            let unloaded = baseline_for(rows, row)?.p95_ms.filter(|p| *p > 0.0)?;
            Some(LoadedVsUnloaded {
                scenario: row.scenario.clone(),
                config: row.config.clone(),
                loaded_p95_ms: loaded,
                unloaded_p95_ms: unloaded,
                ratio: loaded / unloaded,
            })
        })
        .collect()
}

/// A loaded scenario's large-request median, next to /ping's under the same workers and
/// connection mode.
#[derive(Debug, Clone, PartialEq)]
pub struct LargeMedian {
    /// Study-style config label.
    pub config: String,
    /// Strategy endpoint.
    pub endpoint: String,
    /// Large median, ms.
    pub median_ms: f64,
    /// /ping's large median in the same workers × connection cell, ms.
    pub ping_median_ms: Option<f64>,
}

/// Large-request medians of the loaded grid, in row order.
pub fn large_medians(rows: &[MatrixRow]) -> Vec<LargeMedian> {
    rows.iter()
        .filter(|r| r.class == LARGE && is_kind(r, ScenarioKind::Loaded))
        .filter_map(|row| {
            Some(LargeMedian {
                config: row.config.clone(),
                endpoint: row.endpoint.clone(),
                median_ms: row.median_ms?,
                ping_median_ms: find(rows, LARGE, |r| {
                    is_kind(r, ScenarioKind::Loaded)
                        && r.endpoint == "/ping"
                        && r.workers == row.workers
                        && r.connection == row.connection
                })
                .and_then(|r| r.median_ms),
            })
        })
        .collect()
}

/// One line of a keep-alive comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct KeepAliveLine {
    /// What differs: server keep-alive setting and client connection mode.
    pub label: String,
    /// Scenario name.
    pub scenario: String,
    /// Small median, ms.
    pub small_median_ms: Option<f64>,
    /// Small p95, ms.
    pub small_p95_ms: Option<f64>,
    /// Large median, ms (None when no large request succeeded).
    pub large_median_ms: Option<f64>,
}

/// A keep-alive-off scenario next to the same workers × endpoint with keep-alive on.
#[derive(Debug, Clone, PartialEq)]
pub struct KeepAliveCost {
    /// Server WORKERS.
    pub workers: usize,
    /// Strategy endpoint.
    pub endpoint: String,
    /// Keep-alive off first, then the keepalive and new clients against the default server
    /// (those that ran).
    pub lines: Vec<KeepAliveLine>,
}

fn keep_alive_line(rows: &[MatrixRow], small: &MatrixRow, label: &str) -> KeepAliveLine {
    KeepAliveLine {
        label: label.to_string(),
        scenario: small.scenario.clone(),
        small_median_ms: small.median_ms,
        small_p95_ms: small.p95_ms,
        large_median_ms: find(rows, LARGE, |r| r.scenario == small.scenario)
            .and_then(|r| r.median_ms),
    }
}

/// For each keep-alive-off scenario: its small/large numbers and those of the default server
/// with a keepalive client and with a new-connection client.
pub fn keep_alive_costs(rows: &[MatrixRow]) -> Vec<KeepAliveCost> {
    rows.iter()
        .filter(|r| r.class == SMALL && is_kind(r, ScenarioKind::KeepAliveOff))
        .map(|off| {
            let mut lines = vec![keep_alive_line(
                rows,
                off,
                &format!(
                    "server KEEP_ALIVE={}, {} client",
                    off.server_keep_alive_s.unwrap_or_default(),
                    off.connection.as_str()
                ),
            )];
            for connection in [Connection::Keepalive, Connection::New] {
                if let Some(on) = find(rows, SMALL, |r| {
                    is_kind(r, ScenarioKind::Loaded)
                        && r.workers == off.workers
                        && r.endpoint == off.endpoint
                        && r.connection == connection
                }) {
                    lines.push(keep_alive_line(
                        rows,
                        on,
                        &format!(
                            "server keep-alive on (default), {} client",
                            connection.as_str()
                        ),
                    ));
                }
            }
            KeepAliveCost {
                workers: off.workers,
                endpoint: off.endpoint.clone(),
                lines,
            }
        })
        .collect()
}

/// Unloaded small medians per connection mode: what a fresh connection per request costs when
/// nothing else is going on. `(new, keepalive)` in ms, when both baselines ran.
pub fn unloaded_connection_cost(rows: &[MatrixRow]) -> Option<(f64, f64)> {
    let median = |connection| {
        find(rows, SMALL, |r| {
            is_kind(r, ScenarioKind::Unloaded) && r.connection == connection
        })
        .and_then(|r| r.median_ms)
    };
    Some((median(Connection::New)?, median(Connection::Keepalive)?))
}

/// How one worker's share of the requests looked in one scenario.
#[derive(Debug, Clone, PartialEq)]
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

/// How the accept loop spread one multi-worker scenario's requests over its workers.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSpread {
    /// Scenario name.
    pub scenario: String,
    /// Study-style config label.
    pub config: String,
    /// Server WORKERS.
    pub workers: usize,
    /// Client CONNECTION.
    pub connection: Connection,
    /// Strategy endpoint.
    pub endpoint: String,
    /// One entry per worker 0..WORKERS, including workers that served nothing.
    pub shares: Vec<WorkerShare>,
}

impl WorkerSpread {
    /// Workers that served at least one request.
    pub fn workers_used(&self) -> usize {
        self.shares.iter().filter(|s| s.small + s.large > 0).count()
    }

    /// The largest fraction of all small requests one worker served.
    pub fn busiest_small_share(&self) -> f64 {
        let total: u64 = self.shares.iter().map(|s| s.small).sum();
        let max = self.shares.iter().map(|s| s.small).max().unwrap_or(0);
        if total == 0 {
            0.0
        } else {
            max as f64 / total as f64
        }
    }
}

/// The per-worker spread of a scenario from its request records.
pub fn worker_spread(row: &MatrixRow, records: &[RequestRecord]) -> WorkerSpread {
    let counts = per_worker_counts(records);
    let shares = (0..row.workers)
        .map(|worker| {
            let classes = counts.get(&worker);
            let count = |class: &str| classes.and_then(|c| c.get(class)).copied().unwrap_or(0);
            let small_latencies: Vec<f64> = records
                .iter()
                .filter(|r| r.is_ok() && r.class == SMALL && r.worker == Some(worker))
                .filter_map(|r| r.latency_ms)
                .collect();
            WorkerShare {
                worker,
                small: count(SMALL),
                large: count(LARGE),
                small_p95_ms: percentile(&small_latencies, 95.0),
            }
        })
        .collect();
    WorkerSpread {
        scenario: row.scenario.clone(),
        config: row.config.clone(),
        workers: row.workers,
        connection: row.connection,
        endpoint: row.endpoint.clone(),
        shares,
    }
}

/// Small requests split by whether a large upload was in flight while they waited.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// Scenario name.
    pub scenario: String,
    /// Study-style config label.
    pub config: String,
    /// Small requests whose wait overlapped a large upload.
    pub during_count: usize,
    /// Their p95, ms.
    pub during_p95_ms: Option<f64>,
    /// Small requests that never overlapped a large upload.
    pub outside_count: usize,
    /// Their p95, ms.
    pub outside_p95_ms: Option<f64>,
}

/// Splits the successful small requests of a scenario by overlap with any large request's
/// span (due → answered). If the spikes come from the large uploads, "during" carries them.
pub fn overlap_with_large(row: &MatrixRow, records: &[RequestRecord]) -> Overlap {
    let mut large_spans: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.class == LARGE)
        .filter_map(RequestRecord::span_ms)
        .collect();
    large_spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let overlaps =
        |(start, end): (f64, f64)| large_spans.iter().any(|&(ls, le)| start < le && ls < end);
    let (mut during, mut outside) = (Vec::new(), Vec::new());
    for record in records.iter().filter(|r| r.class == SMALL && r.is_ok()) {
        let (Some(span), Some(latency)) = (record.span_ms(), record.latency_ms) else {
            continue;
        };
        if overlaps(span) {
            during.push(latency);
        } else {
            outside.push(latency);
        }
    }
    Overlap {
        scenario: row.scenario.clone(),
        config: row.config.clone(),
        during_count: during.len(),
        during_p95_ms: percentile(&during, 95.0),
        outside_count: outside.len(),
        outside_p95_ms: percentile(&outside, 95.0),
    }
}

/// What failed, per class: `class → "http_4xx 408 ×11, timeout ×2"` (kind, status when
/// there was one, count), from the records' `error` and `status` columns.
pub fn error_breakdown(records: &[RequestRecord]) -> BTreeMap<String, String> {
    let mut counts: BTreeMap<&str, BTreeMap<(String, Option<u16>), u64>> = BTreeMap::new();
    for record in records {
        let Some(error) = record
            .error
            .as_deref()
            .filter(|e| !e.is_empty() && *e != "skipped")
        else {
            continue;
        };
        *counts
            .entry(&record.class)
            .or_default()
            .entry((error.to_string(), record.status))
            .or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(class, kinds)| {
            let text = kinds
                .into_iter()
                .map(|((kind, status), count)| match status {
                    Some(status) => format!("{kind} {status} ×{count}"),
                    None => format!("{kind} ×{count}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            (class.to_string(), text)
        })
        .collect()
}

/// Small p95 of a cell of the grid (loaded scenarios only): `(workers, endpoint, connection)`
/// → p95 ms. The report compares cells that differ in one setting.
pub fn small_p95_grid(rows: &[MatrixRow]) -> BTreeMap<(usize, String, &'static str), f64> {
    rows.iter()
        .filter(|r| r.class == SMALL && is_kind(r, ScenarioKind::Loaded))
        .filter_map(|r| {
            Some((
                (r.workers, r.endpoint.clone(), r.connection.as_str()),
                r.p95_ms?,
            ))
        })
        .collect()
}

/// Small p95 of the shared-pool scenario at `workers` × `endpoint`, if it ran: the keepalive
/// client whose classes share one pool, next to the grid's per-class keepalive cell.
pub fn shared_pool_small_p95(rows: &[MatrixRow], workers: usize, endpoint: &str) -> Option<f64> {
    find(rows, SMALL, |r| {
        is_kind(r, ScenarioKind::SharedPool) && r.workers == workers && r.endpoint == endpoint
    })?
    .p95_ms
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A made-up 200 answer of `class`, sent on schedule at `scheduled_ms` and served by `worker`.
    pub(crate) fn record(
        class: &str,
        scheduled_ms: f64,
        latency_ms: f64,
        worker: usize,
    ) -> RequestRecord {
        RequestRecord {
            class: class.to_string(),
            scheduled_ms,
            sent_ms: Some(scheduled_ms),
            latency_ms: Some(latency_ms),
            status: Some(200),
            worker: Some(worker),
            error: None,
        }
    }

    /// A made-up row: only the fields the findings read matter. `latency` is (median, p95).
    pub(crate) fn row(
        scenario: &str,
        kind: ScenarioKind,
        workers: usize,
        endpoint: &str,
        connection: Connection,
        class: &str,
        (median_ms, p95_ms): (f64, f64),
    ) -> MatrixRow {
        MatrixRow {
            scenario: scenario.to_string(),
            kind: kind.as_str().to_string(),
            config: format!(
                "{workers} w, {endpoint}, {}, {}",
                connection.as_str(),
                kind.as_str()
            ),
            workers,
            endpoint: endpoint.to_string(),
            connection,
            pool: if kind == ScenarioKind::SharedPool {
                lab_loadgen::options::Pool::Shared
            } else {
                lab_loadgen::options::Pool::PerClass
            },
            server_keep_alive_s: (kind == ScenarioKind::KeepAliveOff).then_some(0),
            schedule: lab_loadgen::options::Schedule::Open,
            duration_s: 20.0,
            small_size_mb: 0.001,
            small_interval_s: 0.1,
            large_size_mb: (kind != ScenarioKind::Unloaded).then_some(25.0),
            large_interval_s: (kind != ScenarioKind::Unloaded).then_some(1.0),
            completed: true,
            class: class.to_string(),
            count: 100,
            ok: 100,
            errors: 0,
            skipped: 0,
            errors_by_kind: String::new(),
            min_ms: Some(median_ms / 2.0),
            median_ms: Some(median_ms),
            mean_ms: Some(median_ms),
            p90_ms: Some(p95_ms * 0.9),
            p95_ms: Some(p95_ms),
            p99_ms: Some(p95_ms * 1.1),
            max_ms: Some(p95_ms * 1.2),
        }
    }

    /// A small made-up matrix: baselines, /ping and /offload at 1 worker, keep-alive off at 4.
    pub(crate) fn sample_rows() -> Vec<MatrixRow> {
        use Connection::*;
        use ScenarioKind::*;
        vec![
            row("unloaded-new", Unloaded, 1, "/ping", New, SMALL, (1.0, 2.0)),
            row(
                "unloaded-ka",
                Unloaded,
                1,
                "/ping",
                Keepalive,
                SMALL,
                (0.5, 1.0),
            ),
            row("w1-ping-new", Loaded, 1, "/ping", New, SMALL, (5.0, 400.0)),
            row(
                "w1-ping-new",
                Loaded,
                1,
                "/ping",
                New,
                LARGE,
                (900.0, 1000.0),
            ),
            row(
                "w1-offload-new",
                Loaded,
                1,
                "/offload",
                New,
                SMALL,
                (1.2, 3.0),
            ),
            row(
                "w1-offload-new",
                Loaded,
                1,
                "/offload",
                New,
                LARGE,
                (450.0, 500.0),
            ),
            row("w4-ping-new", Loaded, 4, "/ping", New, SMALL, (1.5, 8.0)),
            row(
                "w4-ping-new",
                Loaded,
                4,
                "/ping",
                New,
                LARGE,
                (950.0, 990.0),
            ),
            row(
                "w4-ping-keepalive",
                Loaded,
                4,
                "/ping",
                Keepalive,
                SMALL,
                (0.7, 300.0),
            ),
            row(
                "w4-ping-keepalive",
                Loaded,
                4,
                "/ping",
                Keepalive,
                LARGE,
                (930.0, 980.0),
            ),
            row(
                "w4-ping-keepalive-ka0",
                KeepAliveOff,
                4,
                "/ping",
                Keepalive,
                SMALL,
                (1.6, 9.0),
            ),
            row(
                "w4-ping-keepalive-ka0",
                KeepAliveOff,
                4,
                "/ping",
                Keepalive,
                LARGE,
                (960.0, 995.0),
            ),
        ]
    }

    /// Percentiles of per-request subsets use the nearest rank.
    #[test]
    fn percentile_is_nearest_rank() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&values, 95.0), Some(95.0));
        assert_eq!(percentile(&values, 50.0), Some(50.0));
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    /// Each loaded small p95 is divided by the unloaded baseline of its own connection mode.
    #[test]
    fn ratios_divide_by_the_baseline_of_the_same_connection_mode() {
        let ratios = small_p95_ratios(&sample_rows());
        let by_name: BTreeMap<_, _> = ratios
            .iter()
            .map(|r| (r.scenario.as_str(), r.ratio))
            .collect();
        assert_eq!(by_name["w1-ping-new"], 200.0);
        assert_eq!(by_name["w1-offload-new"], 1.5);
        assert_eq!(by_name["w4-ping-keepalive"], 300.0);
        assert_eq!(by_name["w4-ping-keepalive-ka0"], 9.0);
        assert_eq!(ratios.len(), 5, "every non-baseline small row has a ratio");
    }

    /// Large medians are compared with /ping at the same workers and connection mode.
    #[test]
    fn large_medians_compare_each_strategy_to_ping_in_the_same_cell() {
        let medians = large_medians(&sample_rows());
        let offload = medians.iter().find(|m| m.endpoint == "/offload").unwrap();
        assert_eq!(
            (offload.median_ms, offload.ping_median_ms),
            (450.0, Some(900.0))
        );
        assert_eq!(
            medians.len(),
            4,
            "keep-alive-off rows are not part of the strategy grid"
        );
    }

    /// The keep-alive-off case is lined up with the keepalive and new clients of the default server.
    #[test]
    fn keep_alive_cost_lines_up_off_keepalive_and_new() {
        let costs = keep_alive_costs(&sample_rows());
        assert_eq!(costs.len(), 1);
        let scenarios: Vec<_> = costs[0].lines.iter().map(|l| l.scenario.as_str()).collect();
        assert_eq!(
            scenarios,
            ["w4-ping-keepalive-ka0", "w4-ping-keepalive", "w4-ping-new"]
        );
        assert_eq!(costs[0].lines[0].large_median_ms, Some(960.0));
        assert_eq!(unloaded_connection_cost(&sample_rows()), Some((1.0, 0.5)));
    }

    /// Small requests that waited while a large upload was in flight are told apart from the rest.
    #[test]
    fn overlap_puts_small_requests_waiting_during_a_large_upload_in_during() {
        let records = vec![
            record(LARGE, 1000.0, 800.0, 0),
            record(SMALL, 0.0, 1.0, 0),
            record(SMALL, 1100.0, 700.0, 0),
            record(SMALL, 1200.0, 600.0, 0),
            record(SMALL, 2000.0, 2.0, 0),
        ];
        let rows = sample_rows();
        let overlap = overlap_with_large(&rows[2], &records);
        assert_eq!((overlap.during_count, overlap.outside_count), (2, 2));
        assert_eq!(overlap.during_p95_ms, Some(700.0));
        assert_eq!(overlap.outside_p95_ms, Some(2.0));
    }

    /// Failures are counted by kind and status; skipped ticks are not failures.
    #[test]
    fn error_breakdown_counts_kinds_with_their_status_and_ignores_skips() {
        let failed = |class: &str, error: &str, status: Option<u16>| RequestRecord {
            status,
            error: Some(error.to_string()),
            ..record(class, 0.0, 1.0, 0)
        };
        let records = vec![
            record(SMALL, 0.0, 1.0, 0),
            failed(SMALL, "http_4xx", Some(408)),
            failed(SMALL, "http_4xx", Some(408)),
            failed(SMALL, "timeout", None),
            failed(LARGE, "skipped", None),
        ];
        let breakdown = error_breakdown(&records);
        assert_eq!(breakdown.len(), 1);
        assert_eq!(breakdown[SMALL], "http_4xx 408 ×2, timeout ×1");
    }

    /// The spread lists every worker, including one that served nothing.
    #[test]
    fn worker_spread_lists_every_worker_even_idle_ones() {
        let records = vec![
            record(SMALL, 0.0, 1.0, 2),
            record(SMALL, 100.0, 3.0, 2),
            record(SMALL, 200.0, 2.0, 0),
            record(LARGE, 0.0, 900.0, 2),
        ];
        let rows = sample_rows();
        let spread = worker_spread(&rows[6], &records);
        assert_eq!(spread.shares.len(), 4);
        assert_eq!(spread.workers_used(), 2);
        assert_eq!((spread.shares[2].small, spread.shares[2].large), (2, 1));
        assert_eq!(spread.shares[2].small_p95_ms, Some(3.0));
        assert_eq!(spread.shares[1].small_p95_ms, None);
        assert!((spread.busiest_small_share() - 2.0 / 3.0).abs() < 1e-9);
    }
}

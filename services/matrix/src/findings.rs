//! The numbers the report's findings are computed from. Pure functions of `matrix.csv` rows
//! and `requests.csv` records: no sentence in the report states a number these did not give.

use std::collections::BTreeMap;

use lab_core::classes::{LARGE, SMALL};
use lab_core::csv_rows::Millis;

use crate::requests::{RequestRecord, per_worker_counts};
use crate::scenario::{ScenarioKind, ServerKind};
use crate::table::MatrixRow;
use lab_loadgen::options::Connection;

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
    row.kind == kind
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
    /// `median / ping's median`, when /ping's is known and positive.
    pub vs_ping: Option<f64>,
}

/// Large-request medians of the loaded grid, in row order.
pub fn large_medians(rows: &[MatrixRow]) -> Vec<LargeMedian> {
    rows.iter()
        .filter(|r| r.class == LARGE && is_kind(r, ScenarioKind::Loaded))
        .filter_map(|row| {
            let median_ms = row.median_ms?;
            let ping_median_ms = find(rows, LARGE, |r| {
                is_kind(r, ScenarioKind::Loaded)
                    && r.endpoint == "/ping"
                    && r.workers == row.workers
                    && r.connection == row.connection
            })
            .and_then(|r| r.median_ms);
            Some(LargeMedian {
                config: row.config.clone(),
                endpoint: row.endpoint.clone(),
                median_ms,
                ping_median_ms,
                vs_ping: ping_median_ms
                    .filter(|ping| *ping > 0.0)
                    .map(|ping| median_ms / ping),
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
    /// Keep-alive off against each other line, where both have a small median and p95.
    pub comparisons: Vec<KeepAliveComparison>,
}

/// Keep-alive off against one other setting: the change from that setting to "off".
#[derive(Debug, Clone, PartialEq)]
pub struct KeepAliveComparison {
    /// The keep-alive-off line's label.
    pub off: String,
    /// The other line's label.
    pub other: String,
    /// Small median, from the other setting to keep-alive off.
    pub small_median: Change,
    /// Small p95, from the other setting to keep-alive off.
    pub small_p95: Change,
}

fn keep_alive_comparisons(lines: &[KeepAliveLine]) -> Vec<KeepAliveComparison> {
    let Some((off, others)) = lines.split_first() else {
        return Vec::new();
    };
    others
        .iter()
        .filter_map(|other| {
            Some(KeepAliveComparison {
                off: off.label.clone(),
                other: other.label.clone(),
                small_median: Change::new(other.small_median_ms?, off.small_median_ms?),
                small_p95: Change::new(other.small_p95_ms?, off.small_p95_ms?),
            })
        })
        .collect()
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
                comparisons: keep_alive_comparisons(&lines),
                lines,
            }
        })
        .collect()
}

/// Unloaded small medians per connection mode: what a fresh connection per request costs when
/// nothing else is going on, as the change from keepalive to new, when both baselines ran.
pub fn unloaded_connection_cost(rows: &[MatrixRow]) -> Option<Change> {
    let median = |connection| {
        find(rows, SMALL, |r| {
            is_kind(r, ScenarioKind::Unloaded) && r.connection == connection
        })
        .and_then(|r| r.median_ms)
    };
    Some(Change::new(
        median(Connection::Keepalive)?,
        median(Connection::New)?,
    ))
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
    /// Workers that served at least one request.
    pub workers_used: usize,
    /// The largest fraction of all small requests one worker served (0 when none).
    pub busiest_small_share: f64,
}

/// The largest fraction of all small requests one worker served.
fn busiest_small_share(shares: &[WorkerShare]) -> f64 {
    let total: u64 = shares.iter().map(|s| s.small).sum();
    let max = shares.iter().map(|s| s.small).max().unwrap_or(0);
    if total == 0 {
        0.0
    } else {
        max as f64 / total as f64
    }
}

/// The per-worker spread of a scenario from its request records.
pub fn worker_spread(row: &MatrixRow, records: &[RequestRecord]) -> WorkerSpread {
    let counts = per_worker_counts(records);
    let shares: Vec<WorkerShare> = (0..row.workers)
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
    WorkerSpread {
        scenario: row.scenario.clone(),
        config: row.config.clone(),
        workers: row.workers,
        connection: row.connection,
        endpoint: row.endpoint.clone(),
        workers_used: shares.iter().filter(|s| s.small + s.large > 0).count(),
        busiest_small_share: busiest_small_share(&shares),
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
        let (Some(span), Some(Millis(latency))) = (record.span_ms(), record.latency_ms) else {
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
        let error = record.error.as_ref();
        if error.is_empty() || error == "skipped" {
            continue;
        }
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

/// Two values of one measure (ms), before and after a change of setting, and which way it went.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// The value before, ms.
    pub from_ms: f64,
    /// The value after, ms.
    pub to_ms: f64,
    /// Lower or higher, and by what factor; `None` when either value is not positive.
    pub direction: Option<Direction>,
}

/// Which way a [`Change`] went, with the factor (always ≥ 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Direction {
    /// `to` is `from / factor`.
    Lower(f64),
    /// `to` is `from × factor`.
    Higher(f64),
}

impl Change {
    /// The change from `from_ms` to `to_ms`.
    pub fn new(from_ms: f64, to_ms: f64) -> Self {
        let direction = if from_ms <= 0.0 || to_ms <= 0.0 {
            None
        } else if to_ms <= from_ms {
            Some(Direction::Lower(from_ms / to_ms))
        } else {
            Some(Direction::Higher(to_ms / from_ms))
        };
        Self {
            from_ms,
            to_ms,
            direction,
        }
    }
}

/// One cell of the grid compared under two settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CellChange {
    /// Strategy endpoint.
    pub endpoint: String,
    /// Client CONNECTION.
    pub connection: Connection,
    /// Small p95, from the first setting to the second.
    pub small_p95: Change,
}

/// "Do more workers fix it?": each endpoint × connection cell at the fewest and the most
/// workers.
#[derive(Debug, Clone, PartialEq)]
pub struct MoreWorkers {
    /// Fewest WORKERS in the grid.
    pub fewest: usize,
    /// Most WORKERS in the grid.
    pub most: usize,
    /// Small p95 from `fewest` to `most` workers.
    pub cells: Vec<CellChange>,
}

/// One endpoint at the most workers: new connections against keep-alive (and a shared pool).
#[derive(Debug, Clone, PartialEq)]
pub struct KeepAliveCell {
    /// Strategy endpoint.
    pub endpoint: String,
    /// Small p95 from a new-connection client to a keepalive client.
    pub keepalive: Change,
    /// Small p95 from a new-connection client to a keepalive client with one shared pool.
    pub shared_pool: Option<Change>,
}

/// "Does keep-alive undo the multi-worker fix?" at the most workers.
#[derive(Debug, Clone, PartialEq)]
pub struct KeepAliveQuestion {
    /// Most WORKERS in the grid.
    pub workers: usize,
    /// One line per endpoint with both connection modes.
    pub cells: Vec<KeepAliveCell>,
}

/// "Do offloading or a cheaper parse fix it with one worker?": each strategy against /ping.
#[derive(Debug, Clone, PartialEq)]
pub struct CheaperParse {
    /// Fewest WORKERS in the grid.
    pub workers: usize,
    /// Small p95 from /ping to the strategy named in `endpoint`.
    pub cells: Vec<CellChange>,
}

/// The study's open questions, each answered with the cells of the grid that bear on it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Questions {
    /// Present when the grid has two worker counts.
    pub more_workers: Option<MoreWorkers>,
    /// Present when some endpoint ran with both connection modes at the most workers.
    pub keep_alive: Option<KeepAliveQuestion>,
    /// Present when some strategy ran next to /ping at the fewest workers.
    pub cheaper_parse: Option<CheaperParse>,
    /// Whether any question got at least one comparison.
    pub answered: bool,
}

/// Answers [`Questions`] from the loaded small rows.
pub fn questions(rows: &[MatrixRow]) -> Questions {
    let grid = small_p95_grid(rows);
    let p95 = |workers: usize, endpoint: &str, connection: Connection| {
        grid.get(&(workers, endpoint.to_string(), connection.as_str()))
            .copied()
    };
    let mut workers: Vec<usize> = grid.keys().map(|k| k.0).collect();
    workers.sort_unstable();
    workers.dedup();
    let mut endpoints: Vec<&str> = Vec::new();
    for r in rows.iter().filter(|r| r.class == SMALL) {
        if !endpoints.contains(&r.endpoint.as_str()) {
            endpoints.push(&r.endpoint);
        }
    }
    let connections = [Connection::New, Connection::Keepalive];
    let mut questions = Questions::default();
    let (Some(&fewest), Some(&most)) = (workers.first(), workers.last()) else {
        return questions;
    };

    if fewest != most {
        let cells: Vec<CellChange> = endpoints
            .iter()
            .flat_map(|endpoint| connections.map(|connection| (*endpoint, connection)))
            .filter_map(|(endpoint, connection)| {
                Some(CellChange {
                    endpoint: endpoint.to_string(),
                    connection,
                    small_p95: Change::new(
                        p95(fewest, endpoint, connection)?,
                        p95(most, endpoint, connection)?,
                    ),
                })
            })
            .collect();
        questions.answered |= !cells.is_empty();
        questions.more_workers = Some(MoreWorkers {
            fewest,
            most,
            cells,
        });
    }

    let keep_alive: Vec<KeepAliveCell> = endpoints
        .iter()
        .filter_map(|endpoint| {
            let new = p95(most, endpoint, Connection::New)?;
            let keep = p95(most, endpoint, Connection::Keepalive)?;
            Some(KeepAliveCell {
                endpoint: endpoint.to_string(),
                keepalive: Change::new(new, keep),
                shared_pool: shared_pool_small_p95(rows, most, endpoint)
                    .map(|shared| Change::new(new, shared)),
            })
        })
        .collect();
    if !keep_alive.is_empty() {
        questions.answered = true;
        questions.keep_alive = Some(KeepAliveQuestion {
            workers: most,
            cells: keep_alive,
        });
    }

    let cheaper: Vec<CellChange> = connections
        .iter()
        .filter_map(|&connection| Some((connection, p95(fewest, "/ping", connection)?)))
        .flat_map(|(connection, ping)| {
            endpoints
                .iter()
                .filter(|endpoint| **endpoint != "/ping")
                .filter_map(move |endpoint| {
                    Some(CellChange {
                        endpoint: endpoint.to_string(),
                        connection,
                        small_p95: Change::new(ping, p95(fewest, endpoint, connection)?),
                    })
                })
        })
        .collect();
    if !cheaper.is_empty() {
        questions.answered = true;
        questions.cheaper_parse = Some(CheaperParse {
            workers: fewest,
            cells: cheaper,
        });
    }
    questions
}

/// The loaded scenarios where large uploads hurt small requests most and least.
#[derive(Debug, Clone, PartialEq)]
pub enum RatioExtremes {
    /// Only one scenario has a baseline.
    One(LoadedVsUnloaded),
    /// The highest and the lowest loaded / unloaded ratio.
    Range {
        /// Highest ratio.
        worst: LoadedVsUnloaded,
        /// Lowest ratio.
        best: LoadedVsUnloaded,
    },
}

fn ratio_extremes(ratios: &[LoadedVsUnloaded]) -> Option<RatioExtremes> {
    let worst = ratios.iter().max_by(|a, b| a.ratio.total_cmp(&b.ratio))?;
    let best = ratios.iter().min_by(|a, b| a.ratio.total_cmp(&b.ratio))?;
    Some(if worst.scenario == best.scenario {
        RatioExtremes::One(worst.clone())
    } else {
        RatioExtremes::Range {
            worst: worst.clone(),
            best: best.clone(),
        }
    })
}

/// A row with errors, skipped requests, or cut short.
#[derive(Debug, Clone, PartialEq)]
pub struct Trouble {
    /// Study-style config label.
    pub config: String,
    /// Request class.
    pub class: String,
    /// Failed requests.
    pub errors: u64,
    /// What failed: kinds with status and count, from requests.csv when it could be read, else
    /// matrix.csv's `errors_by_kind`.
    pub what_failed: String,
    /// Requests the open schedule skipped.
    pub skipped: u64,
    /// False when the scenario was interrupted.
    pub completed: bool,
}

fn troubles(rows: &[MatrixRow], breakdowns: &BTreeMap<(String, String), String>) -> Vec<Trouble> {
    rows.iter()
        .filter(|r| r.errors > 0 || r.skipped > 0 || !r.completed)
        .map(|r| Trouble {
            config: r.config.clone(),
            class: r.class.clone(),
            errors: r.errors,
            what_failed: breakdowns
                .get(&(r.scenario.clone(), r.class.clone()))
                .cloned()
                .unwrap_or_else(|| r.errors_by_kind.clone()),
            skipped: r.skipped,
            completed: r.completed,
        })
        .collect()
}

/// One FastAPI scenario next to actix in the same cell (workers × endpoint × connection),
/// both measured by the same client in the same matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct StackComparison {
    /// The FastAPI scenario's config label.
    pub config: String,
    /// Server WORKERS.
    pub workers: usize,
    /// Strategy endpoint.
    pub endpoint: String,
    /// Client CONNECTION.
    pub connection: Connection,
    /// Small p95 from FastAPI to actix, when both have one.
    pub small_p95: Option<Change>,
    /// Large median from FastAPI to actix, when both have one.
    pub large_median: Option<Change>,
    /// FastAPI's small p95 and large median, ms.
    pub fastapi: (Option<f64>, Option<f64>),
    /// actix's small p95 and large median, ms; `None` when actix did not run this cell.
    pub actix: Option<(Option<f64>, Option<f64>)>,
}

/// Every loaded FastAPI scenario against the loaded actix scenario of the same cell.
pub fn stack_comparisons(rows: &[MatrixRow]) -> Vec<StackComparison> {
    let class_stat = |scenario: &str, class: &str, stat: fn(&MatrixRow) -> Option<f64>| {
        find(rows, class, |r| r.scenario == scenario).and_then(stat)
    };
    rows.iter()
        .filter(|r| {
            r.class == SMALL && r.server == ServerKind::Fastapi && is_kind(r, ScenarioKind::Loaded)
        })
        .map(|fastapi| {
            let numbers = |row: &MatrixRow| {
                (
                    row.p95_ms,
                    class_stat(&row.scenario, LARGE, |r| r.median_ms),
                )
            };
            let actix = find(rows, SMALL, |r| {
                r.server == ServerKind::Actix
                    && is_kind(r, ScenarioKind::Loaded)
                    && r.workers == fastapi.workers
                    && r.endpoint == fastapi.endpoint
                    && r.connection == fastapi.connection
            })
            .map(numbers);
            let ours = numbers(fastapi);
            let change = |from: Option<f64>, to: Option<f64>| Some(Change::new(from?, to?));
            StackComparison {
                config: fastapi.config.clone(),
                workers: fastapi.workers,
                endpoint: fastapi.endpoint.clone(),
                connection: fastapi.connection,
                small_p95: actix.and_then(|a| change(ours.0, a.0)),
                large_median: actix.and_then(|a| change(ours.1, a.1)),
                fastapi: ours,
                actix,
            }
        })
        .collect()
}

/// One scenario's server-side event-loop lag during its run (from matrix.csv's lag columns).
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioLag {
    /// Study-style config label.
    pub config: String,
    /// p99 of how late the workers' lag probes woke, ms.
    pub p99_ms: Option<f64>,
    /// The smallest bucket bound holding every wake, ms (infinite past the last bucket).
    pub max_ms: Option<f64>,
}

/// Every scenario's lag, in run order (one per scenario, from its first row); empty when no
/// scenario has any lag number (a matrix.csv written before the columns existed, or a server
/// that exports no lag histogram).
pub fn scenario_lags(rows: &[MatrixRow]) -> Vec<ScenarioLag> {
    let mut lags: Vec<(&str, ScenarioLag)> = Vec::new();
    for row in rows {
        if lags.iter().all(|(scenario, _)| *scenario != row.scenario) {
            lags.push((
                &row.scenario,
                ScenarioLag {
                    config: row.config.clone(),
                    p99_ms: row.lag_p99_ms,
                    max_ms: row.lag_max_ms,
                },
            ));
        }
    }
    if lags
        .iter()
        .all(|(_, lag)| lag.p99_ms.is_none() && lag.max_ms.is_none())
    {
        return Vec::new();
    }
    lags.into_iter().map(|(_, lag)| lag).collect()
}

/// Everything the report states, computed: the renderer only formats these values.
#[derive(Debug, Clone, PartialEq)]
pub struct Findings {
    /// Small p95 loaded / unloaded per scenario with a baseline.
    pub ratios: Vec<LoadedVsUnloaded>,
    /// Where the ratio is highest and lowest.
    pub ratio_extremes: Option<RatioExtremes>,
    /// The study's questions.
    pub questions: Questions,
    /// Large-request medians of the loaded grid.
    pub large_medians: Vec<LargeMedian>,
    /// The fastest of them.
    pub fastest_large: Option<LargeMedian>,
    /// Unloaded small median, from keepalive to new connections.
    pub unloaded_connection_cost: Option<Change>,
    /// Keep-alive-off scenarios against keep-alive on.
    pub keep_alive_costs: Vec<KeepAliveCost>,
    /// Per-worker spread of every multi-worker scenario.
    pub spreads: Vec<WorkerSpread>,
    /// Small-during-large split of the single-worker (fewest workers) loaded scenarios.
    pub overlaps: Vec<Overlap>,
    /// Rows with errors, skips or interruptions.
    pub troubles: Vec<Trouble>,
    /// The study's stack (FastAPI) beside actix, cell by cell.
    pub stacks: Vec<StackComparison>,
    /// The server-side event-loop lag of every scenario (actix and FastAPI).
    pub lags: Vec<ScenarioLag>,
}

impl Findings {
    /// The findings of `rows`, with what was computed from the scenarios' requests.csv:
    /// spreads, overlaps and error breakdowns by (scenario, class). The study's questions are
    /// asked of actix's grid; FastAPI's rows are compared with actix cell by cell, and keep
    /// their own loaded-vs-unloaded ratio.
    pub fn compute(
        all_rows: &[MatrixRow],
        spreads: Vec<WorkerSpread>,
        overlaps: Vec<Overlap>,
        breakdowns: &BTreeMap<(String, String), String>,
    ) -> Self {
        let actix: Vec<MatrixRow> = all_rows
            .iter()
            .filter(|r| r.server == ServerKind::Actix)
            .cloned()
            .collect();
        let rows = actix.as_slice();
        let fastapi: Vec<MatrixRow> = all_rows
            .iter()
            .filter(|r| r.server == ServerKind::Fastapi)
            .cloned()
            .collect();
        let mut ratios = small_p95_ratios(rows);
        ratios.extend(small_p95_ratios(&fastapi));
        let large_medians = large_medians(rows);
        Self {
            ratio_extremes: ratio_extremes(&ratios),
            ratios,
            questions: questions(rows),
            fastest_large: large_medians
                .iter()
                .min_by(|a, b| a.median_ms.total_cmp(&b.median_ms))
                .cloned(),
            large_medians,
            unloaded_connection_cost: unloaded_connection_cost(rows),
            keep_alive_costs: keep_alive_costs(rows),
            spreads,
            overlaps,
            troubles: troubles(all_rows, breakdowns),
            stacks: stack_comparisons(all_rows),
            lags: scenario_lags(all_rows),
        }
    }
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
            run_id: "r".into(),
            request_id: format!("{class}-000001").into(),
            class: class.to_string().into(),
            method: "POST".into(),
            endpoint: "/ping".into(),
            connection: "new".into(),
            scheduled_ms: Millis(scheduled_ms),
            sent_ms: Some(Millis(scheduled_ms)),
            latency_ms: Some(Millis(latency_ms)),
            status: Some(200),
            bytes_sent: 60,
            server_elapsed_ms: None,
            worker: Some(worker),
            error: "".into(),
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
            server: ServerKind::Actix,
            scenario: scenario.to_string(),
            kind,
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
            lag_p99_ms: None,
            lag_max_ms: None,
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
        assert_eq!(
            unloaded_connection_cost(&sample_rows()),
            Some(Change::new(0.5, 1.0))
        );
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
            error: error.to_string().into(),
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

    /// One lag line per scenario, from its first row; none at all when no row has a number.
    #[test]
    fn lags_are_one_per_scenario_and_absent_without_numbers() {
        let mut rows = sample_rows();
        assert_eq!(scenario_lags(&rows), Vec::new());
        for row in rows.iter_mut().filter(|r| r.scenario == "w1-ping-new") {
            row.lag_p99_ms = Some(812.5);
            row.lag_max_ms = Some(1010.0);
        }
        let lags = scenario_lags(&rows);
        assert_eq!(lags.len(), 7, "one per scenario");
        assert_eq!(
            lags[2],
            ScenarioLag {
                config: "1 w, /ping, new, loaded".to_string(),
                p99_ms: Some(812.5),
                max_ms: Some(1010.0),
            }
        );
        assert_eq!((lags[0].p99_ms, lags[0].max_ms), (None, None));
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
        assert_eq!(spread.workers_used, 2);
        assert_eq!((spread.shares[2].small, spread.shares[2].large), (2, 1));
        assert_eq!(spread.shares[2].small_p95_ms, Some(3.0));
        assert_eq!(spread.shares[1].small_p95_ms, None);
        assert!((spread.busiest_small_share - 2.0 / 3.0).abs() < 1e-9);
    }
}

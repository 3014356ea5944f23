//! `matrix.csv`: one row per scenario × class, with every statistic and the settings that
//! produced it, so any row can be re-run and any table or finding recomputed from the file.

use std::path::Path;

use crate::error::{Doing, MatrixError};
use serde::{Deserialize, Serialize};

use crate::lag::RunLag;
use crate::scenario::{Scenario, ScenarioKind, ServerKind, Workload};
use lab_loadgen::ClassSummary;
use lab_loadgen::options::{Connection, Pool, Schedule};

/// One line of `matrix.csv`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    /// Scenario name, also the subdirectory holding its `requests.csv` and `server.log`.
    pub scenario: String,
    /// What the scenario is for: `loaded`, `unloaded`, `keep_alive_off` or `shared_pool`.
    pub kind: ScenarioKind,
    /// The server measured: `actix` (lab-server) or `fastapi` (the study's stack); `actix`
    /// when reading a matrix.csv written before the column existed.
    #[serde(default)]
    pub server: ServerKind,
    /// The study's "config" column, e.g. `1 worker, /ping, new`.
    pub config: String,
    /// Server WORKERS.
    pub workers: usize,
    /// Strategy endpoint.
    pub endpoint: String,
    /// Client CONNECTION.
    pub connection: Connection,
    /// Client POOL: `per-class` or `shared` (`per-class` when reading a matrix.csv written
    /// before the column existed).
    #[serde(default)]
    pub pool: Pool,
    /// Server KEEP_ALIVE seconds; empty = the server's default.
    pub server_keep_alive_s: Option<u64>,
    /// Client SCHEDULE.
    pub schedule: Schedule,
    /// Seconds of load asked for.
    pub duration_s: f64,
    /// Small body size, MB.
    pub small_size_mb: f64,
    /// Seconds between small requests.
    pub small_interval_s: f64,
    /// Large body size, MB; empty when the scenario sends no large requests.
    pub large_size_mb: Option<f64>,
    /// Seconds between large requests; empty when the scenario sends no large requests.
    pub large_interval_s: Option<f64>,
    /// False when the scenario was cut short by Ctrl-C.
    pub completed: bool,
    /// The request class this row describes.
    pub class: String,
    /// Requests that finished (ok + errors).
    pub count: u64,
    /// Requests answered with a 2xx.
    pub ok: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Requests the open schedule could not start because of the in-flight cap.
    pub skipped: u64,
    /// Failed requests per kind, e.g. `http_4xx=3;timeout=1`; empty when none failed.
    pub errors_by_kind: String,
    /// Fastest request, ms. Latency columns are empty when no request of the class succeeded.
    pub min_ms: Option<f64>,
    /// Median, ms.
    pub median_ms: Option<f64>,
    /// Mean, ms.
    pub mean_ms: Option<f64>,
    /// 90th percentile, ms.
    pub p90_ms: Option<f64>,
    /// 95th percentile, ms.
    pub p95_ms: Option<f64>,
    /// 99th percentile, ms.
    pub p99_ms: Option<f64>,
    /// Slowest request, ms.
    pub max_ms: Option<f64>,
    /// The server's event-loop lag during the scenario's run (the same on every row of the
    /// scenario): p99 of how late the workers' lag probes woke, ms, from the server's
    /// `lab_server_event_loop_lag_seconds` histogram, all workers summed. Empty when the server
    /// exported no lag histogram, a scrape failed, or the matrix.csv was written before the
    /// column existed.
    #[serde(default)]
    pub lag_p99_ms: Option<f64>,
    /// The smallest bucket bound of that histogram holding every probe wake, ms: the longest
    /// stall was at most this long (`inf` past the last bucket). Empty as `lag_p99_ms` is.
    #[serde(default)]
    pub lag_max_ms: Option<f64>,
}

impl MatrixRow {
    /// The row for `summary` measured in `scenario` under `workload`, with the server's `lag`
    /// during the run.
    pub fn new(
        scenario: &Scenario,
        workload: &Workload,
        completed: bool,
        summary: ClassSummary,
        lag: RunLag,
    ) -> Self {
        let stats = &summary.stats;
        // LARGE_SIZE_MB = 0 means no large class in any scenario.
        let large = scenario.has_large() && workload.large_size_mb > 0.0;
        Self {
            scenario: scenario.name.clone(),
            kind: scenario.kind,
            server: scenario.server,
            config: scenario.config_label(),
            workers: scenario.workers,
            endpoint: scenario.endpoint.clone(),
            connection: scenario.connection,
            pool: scenario.pool,
            server_keep_alive_s: scenario.server_keep_alive_s,
            schedule: workload.schedule,
            duration_s: workload.duration_s,
            small_size_mb: workload.small_size_mb,
            small_interval_s: workload.small_interval_s,
            large_size_mb: large.then_some(workload.large_size_mb),
            large_interval_s: large.then_some(workload.large_interval_s),
            completed,
            class: summary.class.to_string(),
            count: stats.count,
            ok: stats.ok,
            errors: stats.errors,
            skipped: stats.skipped,
            errors_by_kind: summary
                .errors_by_kind
                .iter()
                .map(|(kind, count)| format!("{kind}={count}"))
                .collect::<Vec<_>>()
                .join(";"),
            min_ms: stats.min_ms,
            median_ms: stats.median_ms,
            mean_ms: stats.mean_ms,
            p90_ms: stats.p90_ms,
            p95_ms: stats.p95_ms,
            p99_ms: stats.p99_ms,
            max_ms: stats.max_ms,
            lag_p99_ms: lag.p99_ms,
            lag_max_ms: lag.max_ms,
        }
    }
}

/// Writes `rows` to `path` (replacing it), header first.
pub fn write_matrix_csv(path: &Path, rows: &[MatrixRow]) -> Result<(), MatrixError> {
    let mut writer = csv::Writer::from_path(path).doing(|| format!("create {}", path.display()))?;
    for row in rows {
        writer
            .serialize(row)
            .doing(|| format!("write {}", path.display()))?;
    }
    writer
        .flush()
        .doing(|| format!("write {}", path.display()))?;
    Ok(())
}

/// Reads a `matrix.csv` back.
pub fn read_matrix_csv(path: &Path) -> Result<Vec<MatrixRow>, MatrixError> {
    let mut reader = csv::Reader::from_path(path).doing(|| format!("open {}", path.display()))?;
    reader
        .deserialize()
        .collect::<Result<_, _>>()
        .doing(|| format!("parse {}", path.display()))
}

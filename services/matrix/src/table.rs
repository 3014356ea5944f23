//! `matrix.csv`: one row per round × scenario × class, with the settings that produced it,
//! lab-core's [`Stats`] for its numbers, and what the server said about the run (event-loop
//! lag, time per upload, saturation), so any figure of the report can be recomputed from the
//! file.
//!
//! A row is three parts: the scenario's settings ([`RowSettings`]), the class's [`Stats`] and
//! what was measured around it ([`RowServer`]). It is read back as one struct with each part
//! flattened, and written as a tuple of the parts (the `csv` crate cannot write a flattened
//! struct); the columns are the parts' fields, in order. Columns added since the first
//! committed runs carry defaults, so every run under docs/results/ still reads.

use std::path::Path;

use lab_core::stats::optional_number;
use lab_core::{Class, Stats, Strategy};
use lab_loadgen::ClassSummary;
use lab_loadgen::options::{Connection, Pool, Schedule};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Doing, MatrixError};
use crate::lag::RunLag;
use crate::saturation::Saturation;
use crate::scenario::{
    Allocator, Placement, Scenario, ScenarioKey, ScenarioKind, ServerKind, Workload,
};

/// The table of every round × scenario × class, inside the matrix directory.
pub const MATRIX_CSV: &str = "matrix.csv";

/// The scenario's settings: the first columns of a row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowSettings {
    /// Scenario name, also the directory holding its `requests.csv`.
    pub scenario: String,
    /// What the scenario is for: `loaded`, `unloaded`, `keep_alive_off`, `shared_pool` or
    /// `saturation_probe`.
    pub kind: ScenarioKind,
    /// The server measured: `actix` (lab-server) or `fastapi` (the study's stack).
    #[serde(default)]
    pub server: ServerKind,
    /// The study's "config" column, e.g. `1 worker, /ping, new`.
    pub config: String,
    /// Server WORKERS.
    pub workers: usize,
    /// The strategy endpoint.
    pub endpoint: Strategy,
    /// Client CONNECTION.
    pub connection: Connection,
    /// Client POOL.
    #[serde(default)]
    pub pool: Pool,
    /// Server KEEP_ALIVE seconds; empty = the server's default.
    #[serde(default, deserialize_with = "optional_count")]
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
    #[serde(default, deserialize_with = "optional_number")]
    pub large_size_mb: Option<f64>,
    /// Seconds between large requests; empty when the scenario sends no large requests.
    #[serde(default, deserialize_with = "optional_number")]
    pub large_interval_s: Option<f64>,
    /// False when the scenario was cut short by Ctrl-C.
    pub completed: bool,
    /// The request class this row describes.
    pub class: Class,
}

/// What was measured around the class's statistics: the last columns of a row. Every field
/// but `errors_by_kind` is the same on each row of a scenario's round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowServer {
    /// Failed requests per kind, e.g. `http_4xx=3;timeout=1`; empty when none failed.
    #[serde(default)]
    pub errors_by_kind: String,
    /// p99 of how late the server's lag probes woke during the run, ms (all workers).
    #[serde(default, deserialize_with = "optional_number")]
    pub lag_p99_ms: Option<f64>,
    /// The smallest lag bucket bound holding every wake, ms (`inf` past the last bucket).
    #[serde(default, deserialize_with = "optional_number")]
    pub lag_max_ms: Option<f64>,
    /// The round (1-based); 1 in runs from before the matrix had rounds.
    #[serde(default = "first_round")]
    pub round: u32,
    /// Where the scenario ran in its round's order (1-based); empty in runs from before.
    #[serde(default, deserialize_with = "optional_count")]
    pub position: Option<u64>,
    /// Where server and client ran (`unpinned` in runs from before: nothing was pinned).
    #[serde(default)]
    pub placement: Placement,
    /// lab-server's allocator; empty for FastAPI (and in runs from before, which ran the
    /// system allocator).
    #[serde(default, deserialize_with = "optional_allocator")]
    pub allocator: Option<Allocator>,
    /// The server's own time per upload, ms (see [`Saturation`]).
    #[serde(default, deserialize_with = "optional_number")]
    pub server_large_ms: Option<f64>,
    /// Uploads the server can work on at once.
    #[serde(default, deserialize_with = "optional_number")]
    pub capacity: Option<f64>,
    /// Server time per upload ÷ (LARGE_INTERVAL × capacity).
    #[serde(default, deserialize_with = "optional_number")]
    pub utilisation: Option<f64>,
    /// How the large requests' latency grew over the run: the last third's median over the
    /// first third's.
    #[serde(default, deserialize_with = "optional_number")]
    pub queue_growth: Option<f64>,
    /// The same as a difference: the last third's median minus the first third's, ms.
    #[serde(default, deserialize_with = "optional_number")]
    pub queue_growth_ms: Option<f64>,
    /// At or past saturation: utilisation ≥ 1, or a queue that grew for the whole run (by
    /// 1.5× and half an interval).
    #[serde(default)]
    pub saturated: bool,
}

fn first_round() -> u32 {
    1
}

/// One line of `matrix.csv`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MatrixRow {
    /// The scenario's settings and the class.
    #[serde(flatten)]
    pub settings: RowSettings,
    /// The class's counts and latencies, ms.
    #[serde(flatten)]
    pub stats: Stats,
    /// What the server and the run looked like.
    #[serde(flatten)]
    pub server: RowServer,
}

impl MatrixRow {
    /// The row for `summary`, measured in `scenario` under `workload` in `round` at
    /// `position`, with what the server showed.
    pub fn new(
        scenario: &Scenario,
        workload: &Workload,
        completed: bool,
        summary: ClassSummary,
        server: RowServer,
    ) -> Self {
        let key = &scenario.key;
        // LARGE_SIZE_MB = 0 means no large class in any scenario.
        let large = key.has_large() && workload.large_size_mb > 0.0;
        let errors_by_kind = summary
            .errors_by_kind
            .iter()
            .map(|(kind, count)| format!("{kind}={count}"))
            .collect::<Vec<_>>()
            .join(";");
        Self {
            settings: RowSettings {
                scenario: key.name(),
                kind: key.kind,
                server: key.server,
                config: key.label(),
                workers: key.workers,
                endpoint: key.strategy,
                connection: key.connection,
                pool: key.pool,
                server_keep_alive_s: key.server_keep_alive_s(),
                schedule: workload.schedule,
                duration_s: scenario.duration.as_secs_f64(),
                small_size_mb: workload.small_size_mb,
                small_interval_s: workload.small_interval_s,
                large_size_mb: large.then_some(workload.large_size_mb),
                large_interval_s: large.then_some(workload.large_interval_s),
                completed,
                class: summary.class.clone(),
            },
            stats: summary.stats.clone(),
            server: RowServer {
                errors_by_kind,
                ..server
            },
        }
    }

    /// The key of the scenario this row belongs to. Rows from before the allocator column
    /// ran lab-server's system allocator.
    pub fn key(&self) -> ScenarioKey {
        let s = &self.settings;
        let allocator = match s.server {
            ServerKind::Actix => Some(self.server.allocator.unwrap_or_default()),
            ServerKind::Fastapi => None,
        };
        ScenarioKey {
            server: s.server,
            kind: s.kind,
            workers: s.workers,
            strategy: s.endpoint,
            connection: s.connection,
            pool: s.pool,
            allocator,
            placement: self.server.placement,
        }
    }

    /// The round's server-side numbers, as [`RowServer`] keeps them.
    pub fn with_measured(mut self, lag: RunLag, saturation: Saturation) -> Self {
        self.server.lag_p99_ms = lag.p99_ms;
        self.server.lag_max_ms = lag.max_ms;
        self.server.server_large_ms = saturation.server_large_ms;
        self.server.capacity = saturation.capacity;
        self.server.utilisation = saturation.utilisation;
        self.server.queue_growth = saturation.queue_growth;
        self.server.queue_growth_ms = saturation.queue_growth_ms;
        self.server.saturated = saturation.saturated;
        self
    }
}

/// An optional whole number from a cell that may be empty.
fn optional_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(optional_number(deserializer)?.map(|value| value as u64))
}

/// An optional allocator name from a cell that may be empty.
fn optional_allocator<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Allocator>, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.trim() {
        "" => Ok(None),
        name => name.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Writes `rows` to `path` (replacing it), header first.
pub fn write_matrix_csv(path: &Path, rows: &[MatrixRow]) -> Result<(), MatrixError> {
    let mut writer = csv::Writer::from_path(path).doing(|| format!("create {}", path.display()))?;
    for row in rows {
        writer
            .serialize((&row.settings, &row.stats, &row.server))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::row;

    /// A row written and read back is the same row, empty cells and all; the header is the
    /// parts' fields in order.
    #[test]
    fn rows_round_trip_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("matrix.csv");
        let mut saturated = row(
            "w1-ping-new",
            ScenarioKind::Loaded,
            1,
            Strategy::Ping,
            Connection::New,
            Class::Large,
            (900.0, 1000.0),
        );
        saturated.server.saturated = true;
        saturated.server.utilisation = Some(1.25);
        saturated.server.allocator = Some(Allocator::Jemalloc);
        saturated.server.position = Some(3);
        let unloaded = row(
            "unloaded-w1-ping-new",
            ScenarioKind::Unloaded,
            1,
            Strategy::Ping,
            Connection::New,
            Class::Small,
            (1.0, 2.0),
        );
        let rows = vec![unloaded, saturated];
        write_matrix_csv(&path, &rows).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("scenario,kind,server,config,workers,endpoint,connection,pool,server_keep_alive_s,schedule,duration_s,small_size_mb,small_interval_s,large_size_mb,large_interval_s,completed,class,count,ok,errors,skipped,min_ms,median_ms,mean_ms,p90_ms,p95_ms,p99_ms,max_ms,errors_by_kind,lag_p99_ms,lag_max_ms,round,position,placement,allocator,server_large_ms,capacity,utilisation,queue_growth,queue_growth_ms,saturated\n"), "{text}");
        assert_eq!(read_matrix_csv(&path).unwrap(), rows);
        assert_eq!(rows[1].key().allocator, Some(Allocator::Jemalloc));
    }
}

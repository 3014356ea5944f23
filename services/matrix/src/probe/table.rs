//! `probe.csv`: one row per round and level planned, measured or not, so the file alone says
//! what the probe saw and what it did not.

use std::path::Path;

use lab_core::Statistic;
use serde::Serialize;

use super::level_run::LevelRun;
use super::levels::Level;
use crate::error::{Doing, MatrixError};

/// The file's name in the probe's directory.
pub const PROBE_CSV: &str = "probe.csv";

/// One row of probe.csv.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRow {
    /// The round (1-based).
    pub round: u32,
    /// Position in the round's order (1-based).
    pub position: usize,
    /// The level's name (`alone`, `uploads-25mb`).
    pub level: String,
    /// Upload size, MB (0 alone).
    pub upload_mb: f64,
    /// Whether the row's numbers count in the report.
    pub measured: bool,
    /// Small requests sent (answered or failed).
    pub small_sent: Option<u64>,
    /// Small requests answered 2xx.
    pub small_ok: Option<u64>,
    /// Small requests failed.
    pub small_errors: Option<u64>,
    /// Small p50, ms.
    pub small_p50_ms: Option<f64>,
    /// Small p95, ms.
    pub small_p95_ms: Option<f64>,
    /// Small p99, ms.
    pub small_p99_ms: Option<f64>,
    /// Uploads sent.
    pub large_sent: Option<u64>,
    /// Uploads answered 2xx.
    pub large_ok: Option<u64>,
    /// Uploads failed.
    pub large_errors: Option<u64>,
    /// Uploads' p50, ms.
    pub large_p50_ms: Option<f64>,
    /// Uploads' p95, ms.
    pub large_p95_ms: Option<f64>,
    /// The server's own time per upload, ms (the lab's metrics only).
    pub server_large_ms: Option<f64>,
    /// That over LARGE_INTERVAL × WORKERS.
    pub utilisation: Option<f64>,
    /// Uploads' latency, last third of the run over the first.
    pub queue_growth: Option<f64>,
    /// Whether the upload route did not keep up.
    pub saturated: bool,
    /// Failed requests by class and kind: `small:timeout=3;large:http_5xx=1`.
    pub errors: String,
    /// Why the row is not measured, when it is not.
    pub note: String,
}

impl ProbeRow {
    /// The row of a run.
    pub fn of(run: &LevelRun) -> Self {
        let small = run.small.as_ref().map(|s| &s.stats);
        let large = run.large.as_ref().map(|s| &s.stats);
        let errors: Vec<String> = [&run.small, &run.large]
            .into_iter()
            .flatten()
            .flat_map(|summary| {
                summary.errors_by_kind.iter().map(move |(kind, count)| {
                    format!("{}:{}={count}", summary.class.name(), kind.name())
                })
            })
            .collect();
        let note = match (&run.lost, run.interrupted, run.measured()) {
            (Some(lost), _, _) => lost.clone(),
            (None, true, _) => "cut short by Ctrl-C".to_string(),
            (None, false, false) => "no small request was answered".to_string(),
            _ => String::new(),
        };
        Self {
            round: run.round,
            position: run.position,
            level: run.level.name(),
            upload_mb: run.level.upload_mb(),
            measured: run.measured(),
            small_sent: small.map(|s| s.count),
            small_ok: small.map(|s| s.ok),
            small_errors: small.map(|s| s.errors),
            small_p50_ms: run.small_ms(Statistic::Median),
            small_p95_ms: run.small_ms(Statistic::P95),
            small_p99_ms: run.small_ms(Statistic::P99),
            large_sent: large.map(|s| s.count),
            large_ok: large.map(|s| s.ok),
            large_errors: large.map(|s| s.errors),
            large_p50_ms: run.large_ms(Statistic::Median),
            large_p95_ms: run.large_ms(Statistic::P95),
            server_large_ms: run.saturation.server_large_ms,
            utilisation: run.saturation.utilisation,
            queue_growth: run.saturation.queue_growth,
            saturated: run.saturation.saturated,
            errors: errors.join(";"),
            note,
        }
    }

    /// The row of a level the probe planned in `round` and never ran.
    pub fn not_run(round: u32, position: usize, level: &Level, why: &str) -> Self {
        Self {
            round,
            position,
            level: level.name(),
            upload_mb: level.upload_mb(),
            measured: false,
            small_sent: None,
            small_ok: None,
            small_errors: None,
            small_p50_ms: None,
            small_p95_ms: None,
            small_p99_ms: None,
            large_sent: None,
            large_ok: None,
            large_errors: None,
            large_p50_ms: None,
            large_p95_ms: None,
            server_large_ms: None,
            utilisation: None,
            queue_growth: None,
            saturated: false,
            errors: String::new(),
            note: format!("not run: {why}"),
        }
    }
}

/// The rows of every planned (round, level): `orders[round - 1]` lists the round's levels
/// in run order; runs are matched by round and level, and the rest are "not run".
pub fn rows(
    levels: &[Level],
    orders: &[Vec<usize>],
    runs: &[LevelRun],
    why_not: &str,
) -> Vec<ProbeRow> {
    let mut rows = Vec::new();
    for (index, order) in orders.iter().enumerate() {
        let round = index as u32 + 1;
        for (position, &level) in order.iter().enumerate() {
            let level = &levels[level];
            rows.push(
                match runs.iter().find(|r| r.round == round && r.level == *level) {
                    Some(run) => ProbeRow::of(run),
                    None => ProbeRow::not_run(round, position + 1, level, why_not),
                },
            );
        }
    }
    rows
}

/// Writes `rows` to `dir/probe.csv`.
pub fn write(dir: &Path, rows: &[ProbeRow]) -> Result<(), MatrixError> {
    let path = dir.join(PROBE_CSV);
    let what = || format!("write {}", path.display());
    let mut writer = csv::Writer::from_path(&path).doing(what)?;
    for row in rows {
        writer.serialize(row).doing(what)?;
    }
    writer.flush().doing(what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::analysis::tests::run;

    /// Every planned pair has a row; a lost run and a pair never run say why.
    #[test]
    fn every_planned_pair_has_a_row() {
        let four = Level::Uploads { size_mb: 4.0 };
        let levels = [Level::Alone, four];
        let mut lost = run(1, four, 9.0);
        lost.lost = Some("the server stopped answering".into());
        let runs = [run(1, Level::Alone, 2.0), lost];
        let rows = rows(
            &levels,
            &[vec![0, 1], vec![1, 0]],
            &runs,
            "the probe stopped",
        );
        assert_eq!(rows.len(), 4);
        assert!(rows[0].measured && !rows[1].measured);
        assert_eq!(rows[1].note, "the server stopped answering");
        assert_eq!(rows[1].errors, "large:timeout=1");
        assert_eq!(rows[2].level, "uploads-4mb");
        assert_eq!(rows[2].note, "not run: the probe stopped");
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), &rows).unwrap();
        let text = std::fs::read_to_string(dir.path().join(PROBE_CSV)).unwrap();
        assert_eq!(text.lines().count(), 5);
        assert!(text.starts_with("round,position,level,upload_mb,measured,"));
    }
}

//! Which scenarios could not keep up? Per scenario with uploads: the server's utilisation and
//! the growth of the client's large latency over the run (see [`crate::saturation`]), and in
//! how many rounds either said saturated. And the probe that shows what that means: the same
//! cell run at two durations, where a saturated scenario's latency grows with the run and an
//! unsaturated one's does not.

use lab_core::Statistic;
use serde::Serialize;

use super::{Comparison, large_median};
use crate::grid::{Grid, Measure};
use crate::scenario::{ScenarioKey, ScenarioKind};

/// A large median at least this many times higher in the long run than in the short one
/// "grew with the run's length", at the low end of the per-round ratios' interval: a busy
/// machine moves an unsaturated upload's median by a third between two runs (a probe run of
/// 2026-12-07, 2 rounds: /stream 1.32× [1.04–1.60]), a queue that had three times as long
/// to grow moves it by 2× and more (/ping in the same run: 2.81× [2.11–3.50]).
pub const GREW_BY: f64 = 1.5;

/// One scenario's saturation over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct SaturationLine {
    /// The scenario.
    pub label: String,
    /// Server time per upload, ms.
    pub server_large_ms: Option<Measure>,
    /// Uploads it can work on at once.
    pub capacity: Option<f64>,
    /// Utilisation.
    pub utilisation: Option<Measure>,
    /// Large latency growth over the run, as a ratio.
    pub queue_growth: Option<Measure>,
    /// The same as a difference, ms.
    pub queue_growth_ms: Option<Measure>,
    /// Rounds at or past saturation.
    pub saturated_rounds: usize,
    /// Rounds it ran.
    pub rounds: usize,
}

/// One cell at two durations.
#[derive(Debug, Clone, Serialize)]
pub struct Probe {
    /// The cell.
    pub label: String,
    /// Seconds of the short run and of the long one.
    pub durations_s: (f64, f64),
    /// Large median from the short run to the long one.
    pub large_median: Comparison,
    /// Small p95 from the short run to the long one.
    pub small_p95: Comparison,
    /// Whether the short run was saturated in any round.
    pub saturated: bool,
    /// Whether the large median grew by [`GREW_BY`] or more: the low end of the per-round
    /// ratios' interval (their value, with one round).
    pub grew: bool,
}

/// Saturation over the whole grid.
#[derive(Debug, Clone, Serialize)]
pub struct SaturationFinding {
    /// Every scenario with uploads and a number.
    pub lines: Vec<SaturationLine>,
    /// How many of them saturated in at least one round.
    pub saturated_scenarios: usize,
    /// The probes that ran.
    pub probes: Vec<Probe>,
}

/// The saturation finding of `grid`.
pub fn compute(grid: &Grid) -> SaturationFinding {
    let lines: Vec<SaturationLine> = grid
        .cells
        .iter()
        .filter(|cell| cell.key.has_large())
        .map(|cell| SaturationLine {
            label: cell.label.clone(),
            server_large_ms: cell.per_round(|r| r.server.server_large_ms).measure(),
            capacity: cell.rounds.iter().find_map(|r| r.server.capacity),
            utilisation: cell.per_round(|r| r.server.utilisation).measure(),
            queue_growth: cell.per_round(|r| r.server.queue_growth).measure(),
            queue_growth_ms: cell.per_round(|r| r.server.queue_growth_ms).measure(),
            saturated_rounds: cell.saturated_rounds(),
            rounds: cell.rounds.len(),
        })
        .filter(|line| {
            line.utilisation.is_some() || line.queue_growth.is_some() || line.saturated_rounds > 0
        })
        .collect();
    let probes = grid
        .keys(|k| k.kind == ScenarioKind::SaturationProbe)
        .iter()
        .filter_map(|long| probe(grid, long))
        .collect();
    SaturationFinding {
        saturated_scenarios: lines.iter().filter(|l| l.saturated_rounds > 0).count(),
        lines,
        probes,
    }
}

fn probe(grid: &Grid, long: &ScenarioKey) -> Option<Probe> {
    let short = long.with_kind(ScenarioKind::Loaded);
    let (short_cell, long_cell) = (grid.cell(&short)?, grid.cell(long)?);
    let large_median = Comparison::of(
        "large median",
        large_median(grid, &short),
        large_median(grid, long),
    );
    Some(Probe {
        label: short_cell.label.clone(),
        durations_s: (short_cell.duration_s, long_cell.duration_s),
        small_p95: Comparison::of(
            "small p95",
            grid.small(&short, Statistic::P95),
            grid.small(long, Statistic::P95),
        ),
        saturated: short_cell.saturated_rounds() > 0,
        grew: large_median
            .ratio
            .is_some_and(|r| r.estimate.low >= GREW_BY),
        large_median,
    })
}

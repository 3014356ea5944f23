//! How much worse is a small request next to the uploads than alone? Every scenario with
//! uploads against the unloaded baseline of its own server, connection mode and placement
//! (the same workers and strategy when that baseline ran): small p95 loaded ÷ unloaded, per
//! round.

use serde::Serialize;

use super::{Comparison, extremes, small_p95};
use crate::grid::Grid;
use crate::scenario::{ScenarioKey, ScenarioKind};

/// Loaded against unloaded, and the extremes a headline may quote.
#[derive(Debug, Clone, Serialize)]
pub struct Baseline {
    /// One comparison per scenario with uploads that has a baseline: from unloaded to loaded.
    pub cells: Vec<Comparison>,
    /// The highest ratio among unsaturated figures.
    pub worst: Option<Comparison>,
    /// The lowest.
    pub best: Option<Comparison>,
}

/// The unloaded scenario `key` compares to.
fn baseline_for(grid: &Grid, key: &ScenarioKey) -> Option<ScenarioKey> {
    let unloaded = grid.keys(|k| {
        k.kind == ScenarioKind::Unloaded
            && k.server == key.server
            && k.connection == key.connection
            && k.placement == key.placement
    });
    unloaded
        .iter()
        .find(|k| k.workers == key.workers && k.strategy == key.strategy)
        .or_else(|| unloaded.iter().find(|k| k.workers == key.workers))
        .or_else(|| unloaded.first())
        .copied()
}

/// Loaded vs unloaded for every scenario with uploads.
pub fn compute(grid: &Grid) -> Baseline {
    let cells: Vec<Comparison> = grid
        .keys(ScenarioKey::has_large)
        .iter()
        .filter_map(|key| {
            let baseline = baseline_for(grid, key)?;
            let comparison = Comparison::of(
                key.label(),
                small_p95(grid, &baseline),
                small_p95(grid, key),
            );
            comparison.complete().then_some(comparison)
        })
        .collect();
    let (worst, best) = extremes(&cells);
    Baseline { cells, worst, best }
}

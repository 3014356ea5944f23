//! What does each strategy's own work cost on top of receiving the body? The floor, `/drain`,
//! reads every body at the pace the strategies read it and throws it away; each strategy's
//! large median over the floor's, in the same cell (server, workers, connection, placement,
//! allocator) and the same round, is what its parse adds.

use lab_core::Strategy;

use super::{Comparison, large_median};
use crate::grid::Grid;
use crate::scenario::ScenarioKind;

/// Every loaded strategy with a floor in its cell: from the floor's large median to its own.
pub fn compute(grid: &Grid) -> Vec<Comparison> {
    grid.keys(|k| k.kind == ScenarioKind::Loaded && k.strategy != Strategy::Drain)
        .iter()
        .filter_map(|key| {
            let floor = key.with_strategy(Strategy::Drain);
            grid.cell(&floor)?;
            let comparison = Comparison::of(
                key.label(),
                large_median(grid, &floor),
                large_median(grid, key),
            );
            comparison.complete().then_some(comparison)
        })
        .collect()
}

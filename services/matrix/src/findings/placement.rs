//! Does it matter where server and client run? Each scenario that ran with split CPUs
//! against the same scenario unpinned, round by round: small p95 and large median.

use serde::Serialize;

use super::{Comparison, large_median, small_p95};
use crate::grid::Grid;
use crate::scenario::{Placement, ScenarioKey};

/// One scenario, both placements: each comparison from unpinned to split.
#[derive(Debug, Clone, Serialize)]
pub struct PlacementCell {
    /// The scenario (unpinned).
    pub label: String,
    /// Small p95.
    pub small_p95: Comparison,
    /// Large median.
    pub large_median: Comparison,
}

/// Every split scenario with an unpinned twin.
pub fn compute(grid: &Grid) -> Vec<PlacementCell> {
    grid.keys(|k| k.placement == Placement::Split)
        .iter()
        .filter_map(|split| {
            let unpinned = ScenarioKey {
                placement: Placement::Unpinned,
                ..*split
            };
            let cell = grid.cell(&unpinned)?;
            Some(PlacementCell {
                label: cell.label.clone(),
                small_p95: Comparison::of(
                    "small p95",
                    small_p95(grid, &unpinned),
                    small_p95(grid, split),
                ),
                large_median: Comparison::of(
                    "large median",
                    large_median(grid, &unpinned),
                    large_median(grid, split),
                ),
            })
        })
        .collect()
}

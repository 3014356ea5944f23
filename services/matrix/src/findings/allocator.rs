//! What does the allocator change? Each scenario the matrix ran with jemalloc against the
//! same scenario with the system allocator: the large median (the owned map's 1.25 million
//! strings are allocated and freed per upload) and the small requests' tail (p99, max).

use lab_core::Statistic;
use serde::Serialize;

use super::{Comparison, large_median};
use crate::grid::Grid;
use crate::scenario::Allocator;

/// One scenario, both allocators: each comparison from system to jemalloc.
#[derive(Debug, Clone, Serialize)]
pub struct AllocatorCell {
    /// The scenario (without the allocator).
    pub label: String,
    /// Large median.
    pub large_median: Comparison,
    /// Small p99.
    pub small_p99: Comparison,
    /// Small max.
    pub small_max: Comparison,
}

/// Every jemalloc scenario with a system twin.
pub fn compute(grid: &Grid) -> Vec<AllocatorCell> {
    grid.keys(|k| k.allocator == Some(Allocator::Jemalloc))
        .iter()
        .filter_map(|jemalloc| {
            let system = crate::scenario::ScenarioKey {
                allocator: Some(Allocator::System),
                ..*jemalloc
            };
            let cell = grid.cell(&system)?;
            let small = |statistic| {
                Comparison::of(
                    statistic_label(statistic),
                    grid.small(&system, statistic),
                    grid.small(jemalloc, statistic),
                )
            };
            Some(AllocatorCell {
                label: cell.label.clone(),
                large_median: Comparison::of(
                    "large median",
                    large_median(grid, &system),
                    large_median(grid, jemalloc),
                ),
                small_p99: small(Statistic::P99),
                small_max: small(Statistic::Max),
            })
        })
        .collect()
}

fn statistic_label(statistic: Statistic) -> String {
    format!("small {}", statistic.name())
}

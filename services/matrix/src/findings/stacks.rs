//! The study's stack beside actix: each loaded FastAPI scenario against actix's in the same
//! cell (workers, strategy, connection, placement; the system allocator), both measured by
//! the same client in the same rounds. Each ratio is actix over FastAPI, per round.

use serde::Serialize;

use super::{Comparison, large_median, small_p95};
use crate::grid::Grid;
use crate::scenario::{Allocator, ScenarioKey, ScenarioKind, ServerKind};

/// One FastAPI scenario beside actix's.
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    /// The FastAPI scenario's label.
    pub label: String,
    /// The cell, e.g. `1 worker, /ping, new`.
    pub cell: String,
    /// Whether actix ran this cell.
    pub actix_ran: bool,
    /// Small p95, from FastAPI to actix.
    pub small_p95: Comparison,
    /// Large median, from FastAPI to actix.
    pub large_median: Comparison,
}

/// Every loaded FastAPI scenario.
pub fn compute(grid: &Grid) -> Vec<Stack> {
    grid.keys(|k| k.server == ServerKind::Fastapi && k.kind == ScenarioKind::Loaded)
        .iter()
        .map(|fastapi| {
            let actix = ScenarioKey {
                server: ServerKind::Actix,
                allocator: Some(Allocator::System),
                ..*fastapi
            };
            Stack {
                label: fastapi.label(),
                cell: actix.label(),
                actix_ran: grid.cell(&actix).is_some(),
                small_p95: Comparison::of(
                    "small p95",
                    small_p95(grid, fastapi),
                    small_p95(grid, &actix),
                ),
                large_median: Comparison::of(
                    "large median",
                    large_median(grid, fastapi),
                    large_median(grid, &actix),
                ),
            }
        })
        .collect()
}

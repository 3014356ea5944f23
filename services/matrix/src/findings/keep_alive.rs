//! Does keep-alive undo the multi-worker fix? At the most workers, each strategy with a
//! new-connection client against a keep-alive client (one pool per class), and against a
//! keep-alive client whose classes share one pool, as a proxy's would.

use lab_loadgen::options::Connection;
use serde::Serialize;

use super::{Comparison, grid_allocator, is_actix_grid, small_p95};
use crate::grid::Grid;
use crate::scenario::ScenarioKind;

/// One strategy at the most workers.
#[derive(Debug, Clone, Serialize)]
pub struct KeepAliveCell {
    /// From new connections to keep-alive with one pool per class.
    pub keepalive: Comparison,
    /// From new connections to keep-alive with one shared pool, when that case ran.
    pub shared_pool: Option<Comparison>,
}

/// New vs keep-alive at the most workers.
#[derive(Debug, Clone, Serialize)]
pub struct KeepAlive {
    /// Most WORKERS in the grid.
    pub workers: usize,
    /// One line per strategy that ran with both connection modes.
    pub cells: Vec<KeepAliveCell>,
}

/// `None` when no strategy ran with both connection modes at the most workers.
pub fn compute(grid: &Grid) -> Option<KeepAlive> {
    let allocator = grid_allocator(grid);
    let keys = grid.keys(|k| is_actix_grid(k, allocator));
    let workers = keys.iter().map(|k| k.workers).max()?;
    let cells: Vec<KeepAliveCell> = keys
        .iter()
        .filter(|k| k.workers == workers && k.connection == Connection::New)
        .filter_map(|new| {
            let keepalive = new.with_connection(Connection::Keepalive);
            if !keys.contains(&keepalive) {
                return None;
            }
            let shared = keepalive.with_kind(ScenarioKind::SharedPool);
            Some(KeepAliveCell {
                keepalive: Comparison::of(
                    new.strategy.to_string(),
                    small_p95(grid, new),
                    small_p95(grid, &keepalive),
                ),
                shared_pool: grid.cell(&shared).map(|_| {
                    Comparison::of(
                        new.strategy.to_string(),
                        small_p95(grid, new),
                        small_p95(grid, &shared),
                    )
                }),
            })
        })
        .collect();
    (!cells.is_empty()).then_some(KeepAlive { workers, cells })
}

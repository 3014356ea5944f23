//! Do more workers fix it? Each strategy × connection cell of actix's grid at the fewest and
//! the most workers: small p95, and its per-round ratio.

use serde::Serialize;

use super::{Comparison, grid_allocator, is_actix_grid, small_p95};
use crate::grid::Grid;

/// Small p95 from the fewest to the most workers.
#[derive(Debug, Clone, Serialize)]
pub struct MoreWorkers {
    /// Fewest WORKERS in the grid.
    pub fewest: usize,
    /// Most WORKERS in the grid.
    pub most: usize,
    /// One comparison per strategy × connection (and placement) that ran with both.
    pub cells: Vec<Comparison>,
}

/// `None` unless the grid has two worker counts.
pub fn compute(grid: &Grid) -> Option<MoreWorkers> {
    let allocator = grid_allocator(grid);
    let keys = grid.keys(|k| is_actix_grid(k, allocator));
    let fewest = keys.iter().map(|k| k.workers).min()?;
    let most = keys.iter().map(|k| k.workers).max()?;
    if fewest == most {
        return None;
    }
    let cells = keys
        .iter()
        .filter(|k| k.workers == fewest)
        .filter_map(|k| {
            let many = k.with_workers(most);
            keys.contains(&many).then(|| {
                Comparison::of(
                    format!("{}, {}", k.strategy, k.connection.as_str()),
                    small_p95(grid, k),
                    small_p95(grid, &many),
                )
            })
        })
        .collect();
    Some(MoreWorkers {
        fewest,
        most,
        cells,
    })
}

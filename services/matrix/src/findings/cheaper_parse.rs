//! Do offloading or a cheaper parse fix it with one worker? At the fewest workers, each
//! strategy's small p95 against /ping's; and for every workers × connection cell, each
//! strategy's large median against /ping's: what the uploads themselves take.

use lab_core::Strategy;
use serde::Serialize;

use super::{Comparison, grid_allocator, is_actix_grid, large_median, small_p95};
use crate::grid::Grid;

/// The strategies against /ping.
#[derive(Debug, Clone, Serialize)]
pub struct CheaperParse {
    /// Fewest WORKERS in the grid.
    pub workers: Option<usize>,
    /// Small p95, from /ping to each other strategy, at the fewest workers.
    pub small: Vec<Comparison>,
    /// Large median, from /ping to each other strategy (and /ping itself, without a
    /// ratio to itself), every workers × connection cell.
    pub large: Vec<Comparison>,
    /// The fastest large median among unsaturated strategies (the floor, which parses
    /// nothing, is not one of them).
    pub fastest: Option<Comparison>,
}

/// The strategies of actix's grid against /ping.
pub fn compute(grid: &Grid) -> CheaperParse {
    let allocator = grid_allocator(grid);
    let keys = grid.keys(|k| is_actix_grid(k, allocator));
    let workers = keys.iter().map(|k| k.workers).min();
    let small = keys
        .iter()
        .filter(|k| Some(k.workers) == workers && k.strategy != Strategy::Ping)
        .filter_map(|k| {
            let ping = k.with_strategy(Strategy::Ping);
            keys.contains(&ping).then(|| {
                Comparison::of(
                    format!("{}, {}", k.strategy, k.connection.as_str()),
                    small_p95(grid, &ping),
                    small_p95(grid, k),
                )
            })
        })
        .collect();
    let large: Vec<Comparison> = keys
        .iter()
        .map(|k| {
            let ping = k.with_strategy(Strategy::Ping);
            let base = (k.strategy != Strategy::Ping)
                .then(|| large_median(grid, &ping))
                .flatten();
            let mut comparison = Comparison::of(k.label(), base, large_median(grid, k));
            comparison.from = comparison.from.filter(|_| comparison.ratio.is_some());
            comparison
        })
        .filter(|c| c.to.is_some())
        .collect();
    // The fastest: the lowest large median among unsaturated strategies that parse.
    let parses: Vec<String> = keys
        .iter()
        .filter(|k| k.strategy.counts())
        .map(|k| k.label())
        .collect();
    let fastest = large
        .iter()
        .filter(|c| c.to.is_some_and(|m| !m.saturated()) && parses.contains(&c.label))
        .min_by(|a, b| {
            let median = |c: &Comparison| c.to.map_or(f64::INFINITY, |m| m.median());
            median(a).total_cmp(&median(b))
        })
        .cloned();
    CheaperParse {
        workers,
        small,
        large,
        fastest,
    }
}

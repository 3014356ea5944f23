//! What does turning keep-alive off cost clients? Each server with `KEEP_ALIVE=0` (a
//! keep-alive client forced to reconnect for every request) against the default server with a
//! keep-alive and with a new-connection client; and, unloaded, what a fresh connection per
//! request costs when nothing else is going on.

use lab_core::Statistic;
use lab_loadgen::options::Connection;
use serde::Serialize;

use super::{Comparison, large_median};
use crate::grid::{Grid, Measure, measure};
use crate::scenario::{ScenarioKey, ScenarioKind, ServerKind};

/// One setting's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct KeepAliveLine {
    /// The setting: server keep-alive and client connection mode.
    pub label: String,
    /// Small median.
    pub small_median: Option<Measure>,
    /// Small p95.
    pub small_p95: Option<Measure>,
    /// Large median.
    pub large_median: Option<Measure>,
}

/// One keep-alive-off server and what it is compared with.
#[derive(Debug, Clone, Serialize)]
pub struct KeepAliveCost {
    /// Server WORKERS.
    pub workers: usize,
    /// The strategy.
    pub strategy: String,
    /// Keep-alive off first, then the default server with each client that ran.
    pub lines: Vec<KeepAliveLine>,
    /// Small median from each other setting to keep-alive off.
    pub small_median: Vec<Comparison>,
    /// Small p95 from each other setting to keep-alive off.
    pub small_p95: Vec<Comparison>,
}

/// Both answers.
#[derive(Debug, Clone, Serialize)]
pub struct KeepAliveOff {
    /// Unloaded small median, from keep-alive to new connections.
    pub unloaded: Option<Comparison>,
    /// One per keep-alive-off scenario.
    pub costs: Vec<KeepAliveCost>,
}

fn line(grid: &Grid, key: &ScenarioKey, label: String) -> KeepAliveLine {
    KeepAliveLine {
        label,
        small_median: measure(grid.small(key, Statistic::Median)),
        small_p95: measure(grid.small(key, Statistic::P95)),
        large_median: measure(large_median(grid, key)),
    }
}

/// The keep-alive-off costs of `grid`.
pub fn compute(grid: &Grid) -> KeepAliveOff {
    let unloaded = |connection| {
        grid.keys(|k| {
            k.kind == ScenarioKind::Unloaded
                && k.server == ServerKind::Actix
                && k.connection == connection
        })
        .first()
        .copied()
    };
    let unloaded = match (unloaded(Connection::Keepalive), unloaded(Connection::New)) {
        (Some(keepalive), Some(new)) => Some(Comparison::of(
            "unloaded small median",
            grid.small(&keepalive, Statistic::Median),
            grid.small(&new, Statistic::Median),
        )),
        _ => None,
    };
    let costs = grid
        .keys(|k| k.kind == ScenarioKind::KeepAliveOff)
        .iter()
        .map(|off| {
            let off_label = format!("server KEEP_ALIVE=0, {} client", off.connection.as_str());
            let mut lines = vec![line(grid, off, off_label.clone())];
            let (mut small_median, mut small_p95) = (Vec::new(), Vec::new());
            for connection in [Connection::Keepalive, Connection::New] {
                let on = off
                    .with_kind(ScenarioKind::Loaded)
                    .with_connection(connection);
                if grid.cell(&on).is_none() {
                    continue;
                }
                let label = format!(
                    "server keep-alive on (default), {} client",
                    connection.as_str()
                );
                lines.push(line(grid, &on, label.clone()));
                for (list, statistic) in [
                    (&mut small_median, Statistic::Median),
                    (&mut small_p95, Statistic::P95),
                ] {
                    list.push(Comparison::of(
                        label.clone(),
                        grid.small(&on, statistic),
                        grid.small(off, statistic),
                    ));
                }
            }
            KeepAliveCost {
                workers: off.workers,
                strategy: off.strategy.to_string(),
                lines,
                small_median,
                small_p95,
            }
        })
        .collect();
    KeepAliveOff { unloaded, costs }
}

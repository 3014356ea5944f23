//! The servers' own view of their event loops: each scenario's lag p99 (median over the
//! rounds) and the largest lag bucket any round reached.

use serde::Serialize;

use crate::grid::{Grid, Measure};

/// One scenario's lag.
#[derive(Debug, Clone, Serialize)]
pub struct Lag {
    /// The scenario.
    pub label: String,
    /// p99 of how late the workers' lag probes woke, ms.
    pub p99: Option<Measure>,
    /// The largest "smallest bucket bound holding every wake" over the rounds, ms (infinite
    /// past the last bucket).
    pub max_ms: Option<f64>,
}

/// One line per scenario; empty when no scenario has a lag number (a matrix.csv from before
/// the lag columns, or servers whose /metrics could not be read).
pub fn compute(grid: &Grid) -> Vec<Lag> {
    let lags: Vec<Lag> = grid
        .cells
        .iter()
        .map(|cell| Lag {
            label: cell.label.clone(),
            p99: cell.per_round(|r| r.server.lag_p99_ms).measure(),
            max_ms: cell
                .rounds
                .iter()
                .filter_map(|r| r.server.lag_max_ms)
                .reduce(f64::max),
        })
        .collect();
    if lags.iter().all(|l| l.p99.is_none() && l.max_ms.is_none()) {
        return Vec::new();
    }
    lags
}

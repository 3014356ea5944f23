//! What the report states, computed: one serializable value per question, each from the
//! typed [`Grid`] (and, for the per-request ones, from the scenarios' requests.csv through
//! [`crate::analysis`]). No formatting happens here: the report's template formats these
//! values, and every number it states comes from one of them.
//!
//! Every figure is a [`Measure`] (median over the rounds, interval, spread, rounds at
//! saturation), and every "A is N times B" a [`Comparison`] whose ratio is taken per round.
//!
//! # The questions, one file each
//! - [`baseline`]: how much worse is a small request next to the uploads than alone?
//! - [`more_workers`]: do more workers fix it?
//! - [`keep_alive`]: does keep-alive undo that fix (and a pool shared with the uploads)?
//! - [`keep_alive_off`]: what does turning keep-alive off cost clients?
//! - [`cheaper_parse`]: do offloading or a cheaper parse fix it with one worker, and what do
//!   the uploads themselves take per strategy?
//! - [`floor`]: each strategy's large median over the floor's (`/drain`, the body read and
//!   thrown away) in the same cell.
//! - [`allocator`]: jemalloc beside the system allocator.
//! - [`stacks`]: the study's FastAPI stack beside actix.
//! - [`saturation`]: which scenarios could not keep up, and the probe that shows it.
//! - [`placement`]: server and client on split CPUs against unpinned.
//! - [`lag`]: the servers' own event-loop lag during each run.
//! - [`spread`], [`overlap`], [`troubles`]: from the requests themselves: how the workers
//!   shared the requests, whether small spikes line up with uploads, what failed.

pub mod allocator;
pub mod baseline;
pub mod cheaper_parse;
pub mod floor;
pub mod keep_alive;
pub mod keep_alive_off;
pub mod lag;
pub mod more_workers;
pub mod overlap;
pub mod placement;
pub mod saturation;
pub mod spread;
pub mod stacks;
pub mod troubles;

#[cfg(test)]
pub(crate) mod tests;

use lab_core::Statistic;
use serde::Serialize;

use crate::grid::{Figure, Grid, Measure};
use crate::scenario::{Allocator, ScenarioKey, ScenarioKind, ServerKind};

/// Two figures and their per-round ratio `to / from`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What is compared, e.g. `/ping, new`.
    pub label: String,
    /// The figure before the change.
    pub from: Option<Measure>,
    /// The figure after it.
    pub to: Option<Measure>,
    /// `to / from`, per round.
    pub ratio: Option<Measure>,
}

impl Comparison {
    /// `from` against `to`, their ratio taken round by round.
    pub fn of(label: impl Into<String>, from: Option<Figure>, to: Option<Figure>) -> Self {
        let ratio = match (&from, &to) {
            (Some(from), Some(to)) => to.ratio(from).measure(),
            _ => None,
        };
        Self {
            label: label.into(),
            from: from.and_then(|f| f.measure()),
            to: to.and_then(|f| f.measure()),
            ratio,
        }
    }

    /// Whether both sides and the ratio exist.
    pub fn complete(&self) -> bool {
        self.from.is_some() && self.to.is_some() && self.ratio.is_some()
    }

    /// Whether either side was saturated in any round.
    pub fn saturated(&self) -> bool {
        self.ratio.is_some_and(|r| r.saturated())
            || self.from.is_some_and(|m| m.saturated())
            || self.to.is_some_and(|m| m.saturated())
    }
}

/// The comparisons with the highest and the lowest ratio among those no saturated figure
/// takes part in: what a headline may say.
pub fn extremes(comparisons: &[Comparison]) -> (Option<Comparison>, Option<Comparison>) {
    let usable: Vec<&Comparison> = comparisons
        .iter()
        .filter(|c| c.complete() && !c.saturated())
        .collect();
    let ratio = |c: &&Comparison| c.ratio.map_or(0.0, |r| r.median());
    let highest = usable
        .iter()
        .max_by(|a, b| ratio(a).total_cmp(&ratio(b)))
        .map(|c| (*c).clone());
    let lowest = usable
        .iter()
        .min_by(|a, b| ratio(a).total_cmp(&ratio(b)))
        .map(|c| (*c).clone());
    (highest, lowest)
}

/// Whether `key` is one of the main grid's actix cells: loaded, the grid's allocator.
pub fn is_actix_grid(key: &ScenarioKey, allocator: Option<Allocator>) -> bool {
    key.server == ServerKind::Actix
        && key.kind == ScenarioKind::Loaded
        && key.allocator == allocator
}

/// The allocator the grid ran with: the one most loaded actix cells have (the others rerun a
/// few cells only), the system allocator on a tie.
pub fn grid_allocator(grid: &Grid) -> Option<Allocator> {
    let loaded = |allocator| {
        grid.keys(|k| {
            k.server == ServerKind::Actix
                && k.kind == ScenarioKind::Loaded
                && k.allocator == Some(allocator)
        })
        .len()
    };
    Allocator::ALL
        .into_iter()
        .filter(|&allocator| loaded(allocator) > 0)
        .max_by_key(|&allocator| (loaded(allocator), allocator == Allocator::System))
}

/// Small p95 of `key`.
pub fn small_p95(grid: &Grid, key: &ScenarioKey) -> Option<Figure> {
    grid.small(key, Statistic::P95)
}

/// Large median of `key`.
pub fn large_median(grid: &Grid, key: &ScenarioKey) -> Option<Figure> {
    grid.large(key, Statistic::Median)
}

/// Everything the report states.
#[derive(Debug, Clone, Serialize)]
pub struct Findings {
    /// Loaded vs unloaded.
    pub baseline: baseline::Baseline,
    /// 1 → more workers.
    pub more_workers: Option<more_workers::MoreWorkers>,
    /// New vs keepalive at the most workers.
    pub keep_alive: Option<keep_alive::KeepAlive>,
    /// Keep-alive off against on.
    pub keep_alive_off: keep_alive_off::KeepAliveOff,
    /// The strategies against /ping, small and large.
    pub cheaper_parse: cheaper_parse::CheaperParse,
    /// Each strategy over the floor.
    pub floor: Vec<Comparison>,
    /// jemalloc against the system allocator.
    pub allocator: Vec<allocator::AllocatorCell>,
    /// FastAPI beside actix.
    pub stacks: Vec<stacks::Stack>,
    /// Who saturated, and the probe.
    pub saturation: saturation::SaturationFinding,
    /// Split CPUs against unpinned.
    pub placement: Vec<placement::PlacementCell>,
    /// Event-loop lag per scenario.
    pub lag: Vec<lag::Lag>,
    /// Per-worker spread of the multi-worker scenarios.
    pub spreads: Vec<spread::WorkerSpread>,
    /// Small requests during and outside uploads.
    pub overlaps: Vec<overlap::Overlap>,
    /// Errors, skips and interruptions.
    pub troubles: Vec<troubles::Trouble>,
}

impl Findings {
    /// The findings of `grid`, with what was computed from the scenarios' requests.csv. The
    /// study's questions are asked of actix's grid; FastAPI's scenarios keep their own
    /// loaded-vs-unloaded ratios and are compared with actix cell by cell.
    pub fn compute(
        grid: &Grid,
        spreads: Vec<spread::WorkerSpread>,
        overlaps: Vec<overlap::Overlap>,
        troubles: Vec<troubles::Trouble>,
    ) -> Self {
        Self {
            baseline: baseline::compute(grid),
            more_workers: more_workers::compute(grid),
            keep_alive: keep_alive::compute(grid),
            keep_alive_off: keep_alive_off::compute(grid),
            cheaper_parse: cheaper_parse::compute(grid),
            floor: floor::compute(grid),
            allocator: allocator::compute(grid),
            stacks: stacks::compute(grid),
            saturation: saturation::compute(grid),
            placement: placement::compute(grid),
            lag: lag::compute(grid),
            spreads,
            overlaps,
            troubles,
        }
    }
}

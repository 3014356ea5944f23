//! Two runs side by side (`--compare-with OTHER_DIR`): figure by figure, both runs' medians
//! and intervals, whether they agree (the intervals overlap), and the same after scaling each
//! round's value of either run to this run's median speed (times this run's median
//! calibration over the calibration of the round it was measured in): a figure that only moved
//! because the machine was slower, between the runs or between rounds, agrees once scaled. Then every ratio the report states (each finding's "A is N times B",
//! taken within each round) and the cross-strategy ratios the README leans on
//! ([`HEADLINE_RATIOS`]), which need no scaling: both sides ran in the same rounds.
//!
//! Scenarios are matched by their [`ScenarioKey`], ratios by their question and label; what
//! only one run has is left out. A figure or ratio that either run measured at saturation is
//! listed but counted apart: its latency grows with the run's length, so two runs need not
//! agree on it, and the verdict ([`RunComparison::holds`]) is over the others: the headline
//! figures (small p95, large median; the small median, a sub-millisecond round trip, is listed
//! for information) and the ratios.

use std::collections::HashMap;
use std::path::Path;

use lab_core::Statistic;
use serde::Serialize;

use crate::error::MatrixError;
use crate::findings::{
    Comparison, baseline, cheaper_parse, floor, keep_alive, more_workers, stacks,
};
use crate::grid::{Figure, Grid, Measure};
use crate::interval::Estimate;
use crate::run_info::{DRIFT_BOUND, RunContext};
use crate::scenario::ScenarioKey;
use crate::table::{MATRIX_CSV, read_matrix_csv};

/// The cross-strategy ratios the README's effect section states, by scenario name: the
/// question, the scenario over the other, large median. (A strategy over the floor and a
/// small p95 over unloaded are findings of their own, compared with the rest.)
pub const HEADLINE_RATIOS: [(&str, &str, &str); 3] = [
    (
        "FastAPI's best ÷ /stream, one worker, large median",
        "fastapi-w1-pong-new",
        "w1-stream-new",
    ),
    (
        "FastAPI's best ÷ /stream, four workers, large median",
        "fastapi-w4-pong-new",
        "w4-stream-new",
    ),
    (
        "actix /ping ÷ FastAPI /pong, four workers, large median",
        "w4-ping-new",
        "fastapi-w4-pong-new",
    ),
];

/// One figure in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct FigurePair {
    /// The scenario.
    pub label: String,
    /// Which figure: `small p95`, `small median`, `large median`.
    pub figure: String,
    /// This run's.
    pub this: Measure,
    /// The other run's.
    pub other: Measure,
    /// Whether either run measured it at saturation in any round.
    pub saturated: bool,
    /// Whether the verdict counts it: a headline figure (small p95, large median), not the
    /// small median, a sub-millisecond round trip listed for information.
    pub headline: bool,
    /// Whether the intervals overlap.
    pub agree: bool,
    /// This run's figure, each round's value scaled to the run's median speed, when every
    /// round it ran in has a calibration.
    pub this_scaled: Option<Estimate>,
    /// The other run's figure, each round's value scaled to this run's median speed.
    pub other_scaled: Option<Estimate>,
    /// Whether the two scaled intervals overlap.
    pub agree_scaled: Option<bool>,
}

impl FigurePair {
    /// Whether it agrees as measured or once scaled.
    pub fn agrees_either_way(&self) -> bool {
        self.agree || self.agree_scaled == Some(true)
    }
}

/// One stated ratio in both runs.
#[derive(Debug, Clone, Serialize)]
pub struct RatioPair {
    /// The question it answers, e.g. `over the floor (/drain), large median`.
    pub question: String,
    /// Which cell or scenario.
    pub label: String,
    /// This run's, per round.
    pub this: Measure,
    /// The other run's.
    pub other: Measure,
    /// Whether either side was saturated in either run.
    pub saturated: bool,
    /// Whether the intervals overlap.
    pub agree: bool,
}

/// The section "Against run OTHER".
#[derive(Debug, Clone, Serialize)]
pub struct RunComparison {
    /// The other run's directory name.
    pub other: String,
    /// When the other run started.
    pub other_started: String,
    /// The other run's git commit.
    pub other_commit: String,
    /// This run's median calibration, ms.
    pub this_calibration_ms: Option<f64>,
    /// The other run's.
    pub other_calibration_ms: Option<f64>,
    /// This run's median calibration over the other's: how much slower this run's machine
    /// was (each round is scaled by its own calibration, not by this).
    pub speed_ratio: Option<f64>,
    /// Whether the machine's speed changed between the runs by more than the drift bound.
    pub speed_changed: bool,
    /// The drift bound, as a fraction.
    pub drift_bound: f64,
    /// Every figure both runs have.
    pub figures: Vec<FigurePair>,
    /// How many agree as measured.
    pub agreeing: usize,
    /// How many agree once scaled.
    pub agreeing_scaled: usize,
    /// Headline figures (small p95, large median) no saturated round touches, in either run.
    pub unsaturated: usize,
    /// Of those, how many agree as measured or once scaled.
    pub unsaturated_agreeing: usize,
    /// Every stated ratio both runs have.
    pub ratios: Vec<RatioPair>,
    /// Ratios no saturated round touches.
    pub ratios_unsaturated: usize,
    /// Of those, how many agree.
    pub ratios_unsaturated_agreeing: usize,
    /// Whether the runs agree: every unsaturated headline figure (as measured or scaled) and
    /// every unsaturated ratio.
    pub holds: bool,
}

/// The figure listed but left out of the verdict.
const SMALL_MEDIAN: &str = "small median";

/// The figures compared per scenario.
fn figures(grid: &Grid, key: &ScenarioKey) -> Vec<(&'static str, Option<Figure>)> {
    vec![
        (SMALL_MEDIAN, grid.small(key, Statistic::Median)),
        ("small p95", grid.small(key, Statistic::P95)),
        ("large median", grid.large(key, Statistic::Median)),
    ]
}

/// Each round's calibration of `context`, by round.
fn calibrations_by_round(context: &RunContext) -> HashMap<u32, f64> {
    context
        .rounds
        .iter()
        .filter_map(|round| Some((round.round, round.calibration_ms()?)))
        .collect()
}

/// `figure` with each round's value times `reference` over that round's calibration: the
/// figure as a machine of the `reference` speed would have measured it. `None` when a round
/// it ran in has no calibration.
fn scaled_to(
    figure: &Figure,
    calibrations: &HashMap<u32, f64>,
    reference: f64,
) -> Option<Estimate> {
    let values: Option<Vec<f64>> = figure
        .values
        .iter()
        .map(|(round, value)| Some(value * reference / calibrations.get(round)?))
        .collect();
    Estimate::of(&values?)
}

/// A stated ratio: its question, its label, its measure.
type StatedRatio = (String, String, Measure);

/// Every ratio the findings state, and [`HEADLINE_RATIOS`], in `grid`.
fn stated_ratios(grid: &Grid) -> Vec<StatedRatio> {
    let mut stated: Vec<(&str, Comparison)> = Vec::new();
    let base = baseline::compute(grid);
    stated.extend(
        base.cells
            .into_iter()
            .map(|c| ("small p95, loaded ÷ unloaded", c)),
    );
    stated.extend(
        floor::compute(grid)
            .into_iter()
            .map(|c| ("large median over the floor (/drain)", c)),
    );
    let cheaper = cheaper_parse::compute(grid);
    stated.extend(
        cheaper
            .small
            .into_iter()
            .map(|c| ("small p95 ÷ /ping's", c)),
    );
    stated.extend(
        cheaper
            .large
            .into_iter()
            .map(|c| ("large median ÷ /ping's", c)),
    );
    if let Some(more) = more_workers::compute(grid) {
        stated.extend(
            more.cells
                .into_iter()
                .map(|c| ("small p95, more workers ÷ one", c)),
        );
    }
    if let Some(kept) = keep_alive::compute(grid) {
        for cell in kept.cells {
            stated.push(("small p95, keep-alive ÷ new connections", cell.keepalive));
            if let Some(shared) = cell.shared_pool {
                stated.push(("small p95, one shared pool ÷ new connections", shared));
            }
        }
    }
    for stack in stacks::compute(grid) {
        let label = |c: Comparison| Comparison {
            label: stack.label.clone(),
            ..c
        };
        stated.push(("small p95, actix ÷ FastAPI", label(stack.small_p95)));
        stated.push(("large median, actix ÷ FastAPI", label(stack.large_median)));
    }
    let mut ratios: Vec<StatedRatio> = stated
        .into_iter()
        .filter_map(|(question, c)| Some((question.to_string(), c.label, c.ratio?)))
        .collect();
    for (question, name, other) in HEADLINE_RATIOS {
        let large = |name: &str| -> Option<Figure> {
            let cell = grid.cells.iter().find(|cell| cell.name == name)?;
            grid.large(&cell.key, Statistic::Median)
        };
        if let (Some(a), Some(b)) = (large(name), large(other))
            && let Some(ratio) = a.ratio(&b).measure()
        {
            ratios.push((question.to_string(), format!("{name} ÷ {other}"), ratio));
        }
    }
    ratios
}

/// This run (`grid`, `context`) against the other (`other_grid`, `other_context`, from the
/// directory named `other_name`).
pub fn compare(
    grid: &Grid,
    context: &RunContext,
    other_grid: &Grid,
    other_context: &RunContext,
    other_name: &str,
) -> RunComparison {
    let this_calibration_ms = context.calibration_median();
    let other_calibration_ms = other_context.calibration_median();
    let speed_ratio = match (this_calibration_ms, other_calibration_ms) {
        (Some(this), Some(other)) if other > 0.0 => Some(this / other),
        _ => None,
    };
    let (these_rounds, their_rounds) = (
        calibrations_by_round(context),
        calibrations_by_round(other_context),
    );
    let mut pairs = Vec::new();
    for cell in &grid.cells {
        if other_grid.cell(&cell.key).is_none() {
            continue;
        }
        let theirs = figures(other_grid, &cell.key);
        for ((figure, this), (_, other)) in figures(grid, &cell.key).into_iter().zip(theirs) {
            let (Some(this_figure), Some(other_figure)) = (this, other) else {
                continue;
            };
            let (Some(this), Some(other)) = (this_figure.measure(), other_figure.measure()) else {
                continue;
            };
            let scaled = this_calibration_ms.and_then(|reference| {
                Some((
                    scaled_to(&this_figure, &these_rounds, reference)?,
                    scaled_to(&other_figure, &their_rounds, reference)?,
                ))
            });
            pairs.push(FigurePair {
                label: cell.label.clone(),
                figure: figure.to_string(),
                saturated: this.saturated() || other.saturated(),
                headline: figure != SMALL_MEDIAN,
                agree: this.estimate.overlaps(&other.estimate),
                agree_scaled: scaled.map(|(mine, theirs)| mine.overlaps(&theirs)),
                this_scaled: scaled.map(|(mine, _)| mine),
                other_scaled: scaled.map(|(_, theirs)| theirs),
                this,
                other,
            });
        }
    }
    let theirs = stated_ratios(other_grid);
    let ratios: Vec<RatioPair> = stated_ratios(grid)
        .into_iter()
        .filter_map(|(question, label, this)| {
            let (_, _, other) = theirs
                .iter()
                .find(|(q, l, _)| *q == question && *l == label)?;
            Some(RatioPair {
                saturated: this.saturated() || other.saturated(),
                agree: this.estimate.overlaps(&other.estimate),
                question,
                label,
                this,
                other: *other,
            })
        })
        .collect();
    let unsaturated: Vec<&FigurePair> = pairs
        .iter()
        .filter(|p| p.headline && !p.saturated)
        .collect();
    let unsaturated_ratios: Vec<&RatioPair> = ratios.iter().filter(|r| !r.saturated).collect();
    let unsaturated_agreeing = unsaturated.iter().filter(|p| p.agrees_either_way()).count();
    let ratios_unsaturated_agreeing = unsaturated_ratios.iter().filter(|r| r.agree).count();
    RunComparison {
        holds: unsaturated_agreeing == unsaturated.len()
            && ratios_unsaturated_agreeing == unsaturated_ratios.len(),
        other: other_name.to_string(),
        other_started: other_context.started.clone(),
        other_commit: other_context.machine.git_commit.clone(),
        this_calibration_ms,
        other_calibration_ms,
        speed_ratio,
        speed_changed: speed_ratio.is_some_and(|r| (r - 1.0).abs() > DRIFT_BOUND),
        drift_bound: DRIFT_BOUND,
        agreeing: pairs.iter().filter(|p| p.agree).count(),
        agreeing_scaled: pairs
            .iter()
            .filter(|p| p.agree_scaled == Some(true))
            .count(),
        unsaturated: unsaturated.len(),
        unsaturated_agreeing,
        ratios_unsaturated: unsaturated_ratios.len(),
        ratios_unsaturated_agreeing,
        figures: pairs,
        ratios,
    }
}

/// This run against the run in `other_dir`, read from its matrix.csv and matrix-run.json.
pub fn compare_with_dir(
    grid: &Grid,
    context: &RunContext,
    other_dir: &Path,
) -> Result<RunComparison, MatrixError> {
    let other_rows = read_matrix_csv(&other_dir.join(MATRIX_CSV))?;
    let other_context = RunContext::read(other_dir)?;
    let other_grid = Grid::from_rows(&other_rows);
    let name = other_dir.file_name().map_or_else(
        || other_dir.display().to_string(),
        |n| n.to_string_lossy().to_string(),
    );
    Ok(compare(grid, context, &other_grid, &other_context, &name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::{in_round, sample_rows};
    use crate::run_info::RoundInfo;

    fn context(calibration: f64) -> RunContext {
        let mut context: RunContext = serde_json::from_value(serde_json::json!({
            "command": "x", "started": "s", "cpus": 2, "platform": "p", "server_bin": "b",
            "workload": {"duration_s": 1.0, "small_size_mb": 0.001, "small_interval_s": 0.1,
                         "large_size_mb": 25.0, "large_interval_s": 1.0, "schedule": "open"},
            "planned": 1, "done": 1, "interrupted": false
        }))
        .unwrap();
        context.rounds = (1..=3)
            .map(|round| RoundInfo {
                round,
                calibration_before_ms: Some(calibration),
                calibration_after_ms: Some(calibration),
                ..RoundInfo::default()
            })
            .collect();
        context
    }

    /// A run on a machine twice as slow disagrees as measured and agrees once scaled.
    #[test]
    fn a_slower_machine_disagrees_until_scaled_by_the_calibrations() {
        let rows = |factor: f64| -> Vec<_> {
            (1..=3)
                .flat_map(|round| {
                    sample_rows()
                        .into_iter()
                        .map(move |r| in_round(r, round, factor * (1.0 + 0.01 * round as f64)))
                })
                .collect()
        };
        let fast = Grid::from_rows(&rows(1.0));
        let slow = Grid::from_rows(&rows(2.0));
        let comparison = compare(&slow, &context(1600.0), &fast, &context(800.0), "fast");
        assert_eq!(comparison.speed_ratio, Some(2.0));
        assert!(comparison.speed_changed);
        assert_eq!(comparison.figures.len(), 3 * 6 + 2 * 2);
        assert_eq!(comparison.agreeing, 0, "2× apart: no interval overlaps");
        assert_eq!(comparison.agreeing_scaled, comparison.figures.len());
        assert!(!comparison.ratios.is_empty());
        assert!(
            comparison.ratios.iter().all(|r| r.agree),
            "each ratio is taken within a round: a uniformly slower machine leaves it as it was"
        );
        assert!(comparison.holds);
        let same = compare(&fast, &context(800.0), &fast, &context(800.0), "same");
        assert_eq!(same.agreeing, same.figures.len());
        assert!(!same.speed_changed);
        assert!(same.holds);
    }

    /// One strategy three times slower in one run, the machine's speed the same: its figures
    /// and the ratios it takes part in disagree, the verdict says so, and a saturated
    /// scenario is counted apart.
    #[test]
    fn a_strategy_that_changed_disagrees_as_figure_and_as_ratio() {
        let rows = |offload_factor: f64| -> Vec<_> {
            (1..=3)
                .flat_map(|round| {
                    sample_rows().into_iter().map(move |r| {
                        let factor = if r.settings.scenario.contains("offload") {
                            offload_factor
                        } else {
                            1.0
                        };
                        let mut r = in_round(r, round, factor * (1.0 + 0.01 * round as f64));
                        r.server.saturated = r.settings.scenario == "w1-ping-new";
                        r
                    })
                })
                .collect()
        };
        let before = Grid::from_rows(&rows(1.0));
        let after = Grid::from_rows(&rows(3.0));
        let comparison = compare(&after, &context(800.0), &before, &context(800.0), "b");
        assert!(!comparison.speed_changed);
        let offload_large = comparison
            .figures
            .iter()
            .find(|f| f.label.contains("/offload") && f.figure == "large median")
            .expect("the offload cell's large median");
        assert!(!offload_large.agree && offload_large.agree_scaled == Some(false));
        let offload_ratio = comparison
            .ratios
            .iter()
            .find(|r| r.label.contains("/offload") && r.question.contains("/ping"))
            .expect("/offload against /ping");
        assert!(!offload_ratio.agree);
        assert!(comparison.ratios.iter().any(|r| r.agree));
        assert!(!comparison.holds);
        assert!(comparison.unsaturated_agreeing < comparison.unsaturated);
        let saturated = comparison.figures.iter().filter(|f| f.saturated).count();
        assert_eq!(saturated, 3, "w1-ping-new's three figures");
        let headline = comparison.figures.iter().filter(|f| f.headline).count();
        assert_eq!(
            comparison.unsaturated,
            headline - 2,
            "all but w1-ping-new's two"
        );
        assert!(comparison.ratios.iter().any(|r| r.saturated));
    }
}

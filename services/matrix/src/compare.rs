//! Two runs side by side (`--compare-with OTHER_DIR`): figure by figure, both runs' medians
//! and intervals, whether they agree (the intervals overlap), and the same after scaling the
//! other run's figures by the ratio of the two runs' calibrations (this run's median
//! calibration over the other's): a figure that only moved because the machine was slower
//! agrees once scaled. Scenarios are matched by their [`ScenarioKey`]; a scenario only one run
//! has is left out.

use lab_core::Statistic;
use serde::Serialize;

use crate::grid::{Grid, Measure, measure};
use crate::interval::Estimate;
use crate::run_info::{DRIFT_BOUND, RunContext};
use crate::scenario::ScenarioKey;

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
    /// Whether the intervals overlap.
    pub agree: bool,
    /// The other run's figure scaled by the calibrations' ratio, when both runs have one.
    pub other_scaled: Option<Estimate>,
    /// Whether this run's interval overlaps the scaled one.
    pub agree_scaled: Option<bool>,
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
    /// This run's calibration over the other's: what the other's figures are scaled by.
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
}

/// The figures compared per scenario.
fn figures(grid: &Grid, key: &ScenarioKey) -> Vec<(&'static str, Option<Measure>)> {
    vec![
        ("small median", measure(grid.small(key, Statistic::Median))),
        ("small p95", measure(grid.small(key, Statistic::P95))),
        ("large median", measure(grid.large(key, Statistic::Median))),
    ]
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
    let mut pairs = Vec::new();
    for cell in &grid.cells {
        if other_grid.cell(&cell.key).is_none() {
            continue;
        }
        let theirs = figures(other_grid, &cell.key);
        for ((figure, this), (_, other)) in figures(grid, &cell.key).into_iter().zip(theirs) {
            let (Some(this), Some(other)) = (this, other) else {
                continue;
            };
            let other_scaled = speed_ratio.map(|ratio| other.estimate.scaled(ratio));
            pairs.push(FigurePair {
                label: cell.label.clone(),
                figure: figure.to_string(),
                agree: this.estimate.overlaps(&other.estimate),
                agree_scaled: other_scaled.map(|scaled| this.estimate.overlaps(&scaled)),
                other_scaled,
                this,
                other,
            });
        }
    }
    RunComparison {
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
        figures: pairs,
    }
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
        context.rounds = vec![RoundInfo {
            round: 1,
            calibration_before_ms: Some(calibration),
            calibration_after_ms: Some(calibration),
            ..RoundInfo::default()
        }];
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
        let same = compare(&fast, &context(800.0), &fast, &context(800.0), "same");
        assert_eq!(same.agreeing, same.figures.len());
        assert!(!same.speed_changed);
    }
}

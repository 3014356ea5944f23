//! `report.md`, rendered from a template (`templates/report.md.j2`, included in the binary)
//! over serializable values: the run's head ([`RunContext`] and what follows from it: the
//! rounds, the drift, the interval method), the results table, the findings
//! ([`crate::findings::Findings`]), the comparison with another run and the plots. The
//! template holds the prose; [`filters`] say how numbers look; no number is computed here
//! that a finding did not give, beyond the head's.

pub mod filters;

use lab_core::{Class, Statistic};
use minijinja::value::Value;
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::analysis::Analysis;
use crate::compare::RunComparison;
use crate::grid::{Grid, Measure, measure};
use crate::interval::median_interval_rank;
use crate::machine::CALIBRATION_RUNS;
use crate::plots::PlotFile;
use crate::run_info::{DRIFT_BOUND, RunContext};
use crate::saturation::{GROWTH_SATURATED, UTILISATION_SATURATED};

/// The template, editable as text.
const TEMPLATE: &str = include_str!("../../templates/report.md.j2");

/// One line of the results table: one class of one scenario over the rounds.
#[derive(Debug, Clone, Serialize)]
pub struct ResultLine {
    /// The scenario.
    pub label: String,
    /// The class.
    pub class: String,
    /// Requests per round (median).
    pub count: u64,
    /// Median, p95, p99, max over the rounds.
    pub median: Option<Measure>,
    /// p95.
    pub p95: Option<Measure>,
    /// p99.
    pub p99: Option<Measure>,
    /// Max.
    pub max: Option<Measure>,
    /// Rounds at or past saturation.
    pub saturated_rounds: usize,
    /// Rounds it ran.
    pub rounds: usize,
}

/// The results table of `grid`: for each scenario, its small, then its large class.
pub fn result_lines(grid: &Grid) -> Vec<ResultLine> {
    let mut lines = Vec::new();
    for cell in &grid.cells {
        for class in Class::STUDY {
            let stats = |statistic| match class {
                Class::Small => grid.small(&cell.key, statistic),
                _ => grid.large(&cell.key, statistic),
            };
            let mut counts: Vec<f64> = cell
                .rounds
                .iter()
                .filter_map(|r| match class {
                    Class::Small => r.small.as_ref(),
                    _ => r.large.as_ref(),
                })
                .map(|s| s.count as f64)
                .collect();
            let Some(count) = crate::interval::median(&mut counts) else {
                continue;
            };
            lines.push(ResultLine {
                label: cell.label.clone(),
                class: class.name().to_string(),
                count: count.round() as u64,
                median: measure(stats(Statistic::Median)),
                p95: measure(stats(Statistic::P95)),
                p99: measure(stats(Statistic::P99)),
                max: measure(stats(Statistic::Max)),
                saturated_rounds: cell.saturated_rounds(),
                rounds: cell.rounds.len(),
            });
        }
    }
    lines
}

/// What the head says about the rounds, the machine's drift and the intervals.
#[derive(Debug, Clone, Serialize)]
pub struct Head {
    /// Rounds that ran.
    pub rounds: u32,
    /// The interval's coverage of the median with that many rounds (`None` with one).
    pub coverage: Option<f64>,
    /// The interval's ranks: `[x(k), x(n+1-k)]`.
    pub rank: Option<(usize, usize)>,
    /// The drift bound, as a fraction.
    pub drift_bound: f64,
    /// Slowest over fastest calibration of the run, minus 1.
    pub drift: Option<f64>,
    /// Whether that passed the bound.
    pub drifted: bool,
    /// The rounds the drift touched: a calibration more than the bound above the fastest,
    /// or a before and after further apart than the bound.
    pub drifted_rounds: Vec<u32>,
    /// The calibration: body size, MB, and parses per calibration.
    pub calibration: (f64, usize),
    /// The saturation thresholds: utilisation, and growth of the large latency.
    pub saturation: (f64, f64),
}

impl Head {
    /// The head of `context` over `grid`.
    pub fn of(context: &RunContext, grid: &Grid) -> Self {
        let calibrations = context.calibrations();
        let fastest = calibrations.iter().copied().reduce(f64::min);
        let drifted_rounds = context
            .rounds
            .iter()
            .filter(|round| {
                let slow = [round.calibration_before_ms, round.calibration_after_ms]
                    .into_iter()
                    .flatten()
                    .any(|c| fastest.is_some_and(|f| c > f * (1.0 + DRIFT_BOUND)));
                slow || round.drift().is_some_and(|d| d > DRIFT_BOUND)
            })
            .map(|round| round.round)
            .collect::<Vec<_>>();
        let rank = median_interval_rank(grid.rounds as usize);
        let drift = context.drift();
        Self {
            rounds: grid.rounds,
            coverage: rank.map(|r| r.1),
            rank: rank.map(|(k, _)| (k, grid.rounds as usize + 1 - k)),
            drift_bound: DRIFT_BOUND,
            drift,
            drifted: drift.is_some_and(|d| d > DRIFT_BOUND) || !drifted_rounds.is_empty(),
            drifted_rounds,
            calibration: (context.calibration_mb.unwrap_or(25.0), CALIBRATION_RUNS),
            saturation: (UTILISATION_SATURATED, GROWTH_SATURATED),
        }
    }
}

/// Everything the template sees.
#[derive(Serialize)]
struct ReportContext<'a> {
    run: &'a RunContext,
    head: Head,
    results: Vec<ResultLine>,
    findings: &'a crate::findings::Findings,
    comparison: Option<&'a RunComparison>,
    plots: &'a [PlotFile],
}

/// The template environment: the report's template and its filters.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("the default delimiters are valid"),
    );
    env.add_filter("ms", filters::opt_ms);
    env.add_filter("figure", filters::figure);
    env.add_filter("times", filters::times);
    env.add_filter("change", filters::change);
    env.add_filter("percent", filters::percent);
    env.add_filter("spread", filters::spread);
    env.add_filter("lag_bound", filters::lag_bound);
    env.add_filter("mark", filters::mark);
    env.add_filter("factor", filters::factor);
    env.add_template("report.md", TEMPLATE)
        .expect("the report template parses (a test renders it)");
    env
}

/// The whole report for the matrix `context` describes, from its analysis, the plots
/// written next to it and, with `--compare-with`, the comparison with another run.
pub fn render(
    context: &RunContext,
    analysis: &Analysis,
    plots: &[PlotFile],
    comparison: Option<&RunComparison>,
) -> String {
    let report = ReportContext {
        run: context,
        head: Head::of(context, &analysis.grid),
        results: result_lines(&analysis.grid),
        findings: &analysis.findings,
        comparison,
        plots,
    };
    environment()
        .get_template("report.md")
        .and_then(|template| template.render(Value::from(minijinja::value::Serde(&report))))
        .unwrap_or_else(|error| {
            // The template is part of the binary and rendered by the tests: an error here is a
            // bug, reported in the file rather than losing the run's other outputs.
            format!("# The report could not be rendered\n\n{error:#}\n")
        })
}

#[cfg(test)]
mod tests;

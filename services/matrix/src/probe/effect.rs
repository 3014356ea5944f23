//! What one upload level's small-p95 ratio (beside uploads ÷ alone, round by round) says
//! against the threshold: the verdict's rules, one per case, conservative by design.

use serde::Serialize;

use crate::grid::Measure;

/// What one upload level's p95 ratio says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The ratio's whole interval is at or above the threshold: small requests wait.
    Waits,
    /// The interval reaches the threshold without lying wholly above it.
    Inconclusive,
    /// The interval lies wholly above 1 and wholly below the threshold.
    Slower,
    /// The interval holds 1 (or lies below it) and stays below the threshold.
    NoMeasurableEffect,
    /// One round: a ratio without an interval.
    NoInterval,
    /// No round measured both this level and `alone`.
    NotMeasured,
}

/// The effect the ratio `ratio` shows against `threshold`.
pub fn effect_of(ratio: Option<&Measure>, threshold: f64) -> Effect {
    let Some(ratio) = ratio else {
        return Effect::NotMeasured;
    };
    let e = ratio.estimate;
    if e.coverage.is_none() {
        Effect::NoInterval
    } else if e.low >= threshold {
        Effect::Waits
    } else if e.high >= threshold {
        Effect::Inconclusive
    } else if e.low > 1.0 {
        Effect::Slower
    } else {
        Effect::NoMeasurableEffect
    }
}

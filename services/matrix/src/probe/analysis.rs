//! The probe's figures, level by level: the small requests' p50/p95/p99 and the uploads'
//! latency as medians over the rounds with intervals, the small p95's and p99's ratio to
//! `alone` computed round by round, errors by kind, saturation, and which rounds were not
//! measured. Nothing is formatted here.

use std::collections::BTreeMap;

use lab_core::Statistic;
use serde::Serialize;

use super::effect::{Effect, effect_of};
use super::level_run::LevelRun;
use super::levels::Level;
use crate::grid::{Figure, Measure};

/// Failed requests of one class and kind, over every measured round of a level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorCount {
    /// The class (`small`, `large`).
    pub class: String,
    /// The kind (`timeout`, `connect_refused`, `http_5xx` …).
    pub kind: String,
    /// How many.
    pub count: u64,
}

/// One level over the rounds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelFindings {
    /// The level.
    pub level: Level,
    /// Its name (directories, probe.csv).
    pub name: String,
    /// Its label (the report).
    pub label: String,
    /// Upload size, MB (0 alone).
    pub upload_mb: f64,
    /// Rounds whose run of this level counts.
    pub measured_rounds: Vec<u32>,
    /// Rounds planned that have no counted run of it (not run, or lost).
    pub unmeasured_rounds: Vec<u32>,
    /// Small requests sent over the measured rounds.
    pub small_sent: u64,
    /// Uploads sent over the measured rounds.
    pub large_sent: u64,
    /// Small p50, ms.
    pub small_p50: Option<Measure>,
    /// Small p95, ms.
    pub small_p95: Option<Measure>,
    /// Small p99, ms.
    pub small_p99: Option<Measure>,
    /// Small p95 here ÷ small p95 alone, round by round.
    pub ratio_p95: Option<Measure>,
    /// Small p99 here ÷ small p99 alone, round by round.
    pub ratio_p99: Option<Measure>,
    /// The uploads' median latency, ms.
    pub large_p50: Option<Measure>,
    /// The uploads' p95, ms.
    pub large_p95: Option<Measure>,
    /// Failed requests by class and kind.
    pub errors: Vec<ErrorCount>,
    /// Measured rounds in which the upload route did not keep up.
    pub saturated_rounds: usize,
    /// The server's own time per upload, ms (the lab's metrics only).
    pub server_large_ms: Option<Measure>,
    /// That time ÷ (LARGE_INTERVAL × WORKERS) (the lab's metrics and /healthz only).
    pub utilisation: Option<Measure>,
    /// The uploads' latency, last third of the run ÷ first third.
    pub queue_growth: Option<Measure>,
    /// What the ratio's interval says (upload levels only).
    pub effect: Option<Effect>,
}

/// Every level of a probe, `alone` first.
pub fn analyse(
    levels: &[Level],
    runs: &[LevelRun],
    reps: u32,
    threshold: f64,
) -> Vec<LevelFindings> {
    let alone: Vec<&LevelRun> = measured_runs(runs, &Level::Alone);
    let alone_p95 = per_round(&alone, |r| r.small_ms(Statistic::P95), 0);
    let alone_p99 = per_round(&alone, |r| r.small_ms(Statistic::P99), 0);
    levels
        .iter()
        .map(|level| {
            let measured = measured_runs(runs, level);
            let saturated_rounds = measured.iter().filter(|r| r.saturation.saturated).count();
            let figure = |value: &dyn Fn(&LevelRun) -> Option<f64>| {
                per_round(&measured, value, saturated_rounds)
            };
            let small_p95 = figure(&|r| r.small_ms(Statistic::P95));
            let small_p99 = figure(&|r| r.small_ms(Statistic::P99));
            let uploads = matches!(level, Level::Uploads { .. });
            let ratio_p95 = uploads.then(|| small_p95.ratio(&alone_p95));
            let ratio_p99 = uploads.then(|| small_p99.ratio(&alone_p99));
            let ratio_p95 = ratio_p95.and_then(|f| f.measure());
            let measured_rounds: Vec<u32> = measured.iter().map(|r| r.round).collect();
            LevelFindings {
                level: *level,
                name: level.name(),
                label: level.label(),
                upload_mb: level.upload_mb(),
                unmeasured_rounds: (1..=reps)
                    .filter(|round| !measured_rounds.contains(round))
                    .collect(),
                measured_rounds,
                small_sent: measured
                    .iter()
                    .filter_map(|r| Some(r.small.as_ref()?.stats.count))
                    .sum(),
                large_sent: measured
                    .iter()
                    .filter_map(|r| Some(r.large.as_ref()?.stats.count))
                    .sum(),
                small_p50: figure(&|r| r.small_ms(Statistic::Median)).measure(),
                small_p95: small_p95.measure(),
                small_p99: small_p99.measure(),
                effect: uploads.then(|| effect_of(ratio_p95.as_ref(), threshold)),
                ratio_p95,
                ratio_p99: ratio_p99.and_then(|f| f.measure()),
                large_p50: figure(&|r| r.large_ms(Statistic::Median)).measure(),
                large_p95: figure(&|r| r.large_ms(Statistic::P95)).measure(),
                errors: errors(&measured),
                saturated_rounds,
                server_large_ms: figure(&|r| r.saturation.server_large_ms).measure(),
                utilisation: figure(&|r| r.saturation.utilisation).measure(),
                queue_growth: figure(&|r| r.saturation.queue_growth).measure(),
            }
        })
        .collect()
}

/// The runs of `level` whose numbers count.
fn measured_runs<'a>(runs: &'a [LevelRun], level: &Level) -> Vec<&'a LevelRun> {
    runs.iter()
        .filter(|r| r.level == *level && r.measured())
        .collect()
}

/// One value per round.
fn per_round(
    runs: &[&LevelRun],
    value: impl Fn(&LevelRun) -> Option<f64>,
    saturated_rounds: usize,
) -> Figure {
    Figure {
        values: runs
            .iter()
            .filter_map(|r| Some((r.round, value(r)?)))
            .collect(),
        saturated_rounds,
    }
}

/// Failed requests by class and kind, added up over `runs`.
fn errors(runs: &[&LevelRun]) -> Vec<ErrorCount> {
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for summary in runs.iter().flat_map(|r| [&r.small, &r.large]).flatten() {
        for (kind, count) in &summary.errors_by_kind {
            *counts
                .entry((summary.class.name().to_string(), kind.name().to_string()))
                .or_default() += count;
        }
    }
    counts
        .into_iter()
        .map(|((class, kind), count)| ErrorCount { class, kind, count })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::saturation::Saturation;
    use lab_core::{Class, ClientErrorKind, Stats};
    use lab_loadgen::ClassSummary;

    /// A summary of `class` with `ok` answers, the p50/p95/p99 given, and `errors` of a kind.
    pub(crate) fn summary(class: Class, ok: u64, p: [f64; 3], errors: u64) -> ClassSummary {
        ClassSummary {
            class,
            stats: Stats {
                count: ok + errors,
                ok,
                errors,
                median_ms: Some(p[0]),
                p95_ms: Some(p[1]),
                p99_ms: Some(p[2]),
                ..Stats::default()
            },
            errors_by_kind: if errors > 0 {
                BTreeMap::from([(ClientErrorKind::Timeout, errors)])
            } else {
                BTreeMap::new()
            },
        }
    }

    /// A run of `level` in `round` with this small p95 (p50 a fifth of it, p99 twice it).
    pub(crate) fn run(round: u32, level: Level, p95: f64) -> LevelRun {
        let uploads = matches!(level, Level::Uploads { .. });
        LevelRun {
            round,
            position: 1,
            level,
            small: Some(summary(Class::Small, 100, [p95 / 5.0, p95, p95 * 2.0], 0)),
            large: uploads.then(|| summary(Class::Large, 10, [300.0, 400.0, 450.0], 1)),
            saturation: Saturation::default(),
            interrupted: false,
            lost: None,
        }
    }

    /// Ratios pair rounds; a lost run counts nowhere and its round is named unmeasured.
    #[test]
    fn ratios_are_per_round_and_lost_runs_are_left_out() {
        let big = Level::Uploads { size_mb: 4.0 };
        let levels = [Level::Alone, big];
        let mut runs = vec![
            run(1, Level::Alone, 2.0),
            run(1, big, 20.0),
            run(2, Level::Alone, 4.0),
            run(2, big, 60.0),
            run(3, Level::Alone, 3.0),
            run(3, big, 36.0),
        ];
        runs[5].lost = Some("gone".into());
        let findings = analyse(&levels, &runs, 3, 2.0);
        let uploads = &findings[1];
        assert_eq!(uploads.measured_rounds, [1, 2]);
        assert_eq!(uploads.unmeasured_rounds, [3]);
        let ratio = uploads.ratio_p95.unwrap().estimate;
        assert_eq!((ratio.low, ratio.high), (10.0, 15.0));
        assert_eq!(uploads.effect, Some(Effect::Waits));
        assert_eq!(findings[0].effect, None);
        assert_eq!(findings[0].measured_rounds, [1, 2, 3]);
        assert_eq!(
            uploads.errors,
            [ErrorCount {
                class: "large".into(),
                kind: "timeout".into(),
                count: 2
            }]
        );
        assert_eq!(uploads.small_sent, 200);
    }
}

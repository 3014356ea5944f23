//! The verdict: what the small p95's ratio (beside uploads ÷ alone, round by round) lets the
//! probe say at each upload size, and the headline and paragraph built from it. The rules
//! are conservative: "small requests wait for uploads" only when the ratio's whole interval
//! is at or above the threshold; "no measurable effect" only when its interval holds 1 (or
//! lies below it) and stays under the threshold; an interval across the threshold is
//! inconclusive; one round has no interval and gets no verdict.

use serde::Serialize;

use super::analysis::LevelFindings;
pub use super::effect::{Effect, effect_of};
use super::levels::size_mb_text;
use crate::grid::Measure;
use crate::report::filters::{factor, ms};

/// A ratio as the verdict quotes it: `×14 [×11–×18]`, or `×14` without an interval.
pub fn ratio_text(ratio: &Measure) -> String {
    let e = ratio.estimate;
    if e.coverage.is_some() {
        format!(
            "×{} [×{}–×{}]",
            factor(e.median),
            factor(e.low),
            factor(e.high)
        )
    } else {
        format!("×{}", factor(e.median))
    }
}

/// A latency as the verdict quotes it: `850 ms [812–901]`.
fn latency_text(latency: &Measure) -> String {
    let e = latency.estimate;
    if e.coverage.is_some() {
        format!("{} ms [{}–{}]", ms(e.median), ms(e.low), ms(e.high))
    } else {
        format!("{} ms", ms(e.median))
    }
}

/// The verdict: one line and one paragraph.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// One line: the effect on small requests, then whether the upload route kept up.
    pub headline: String,
    /// The headline, then each size in a sentence, the errors, and what the intervals are.
    pub paragraph: String,
}

/// A level's size as the verdict names it: `25 MB`.
fn at(level: &LevelFindings) -> String {
    format!("{} MB", size_mb_text(level.upload_mb))
}

/// What the probe's settings say about how the levels ran.
pub struct VerdictSettings<'a> {
    /// PROBE_THRESHOLD.
    pub threshold: f64,
    /// LARGE_INTERVAL, seconds.
    pub interval_s: f64,
    /// The intervals' coverage with the rounds measured (`None` with one).
    pub coverage: Option<f64>,
    /// Why the probe stopped early, when it did.
    pub stopped: Option<&'a str>,
}

/// The verdict of `levels` (`alone` first, then the ladder).
pub fn verdict(levels: &[LevelFindings], settings: &VerdictSettings<'_>) -> Verdict {
    let uploads: Vec<&LevelFindings> = levels.iter().filter(|l| l.effect.is_some()).collect();
    let quoted = |effect: Effect| -> Vec<String> {
        uploads
            .iter()
            .filter(|l| l.effect == Some(effect))
            .filter_map(|l| {
                Some(format!(
                    "{} at {}",
                    ratio_text(l.ratio_p95.as_ref()?),
                    at(l)
                ))
            })
            .collect()
    };
    let every = format!("uploads every {} s", settings.interval_s);
    let threshold = factor(settings.threshold);
    let effect = if let waits @ [_, ..] = &quoted(Effect::Waits)[..] {
        format!(
            "small requests wait for uploads: p95 {} ({every})",
            waits.join(", ")
        )
    } else if let unsure @ [_, ..] = &quoted(Effect::Inconclusive)[..] {
        format!(
            "inconclusive: the small p95's ratio reaches ×{threshold} without its whole interval \
             above it: {} ({every}); more rounds (PROBE_REPS) would narrow it",
            unsure.join(", ")
        )
    } else if let slower @ [_, ..] = &quoted(Effect::Slower)[..] {
        format!(
            "small requests are slower beside uploads, by less than ×{threshold}: p95 {} ({every})",
            slower.join(", ")
        )
    } else if let Some(largest) = uploads
        .iter()
        .filter(|l| l.effect == Some(Effect::NoMeasurableEffect))
        .max_by(|a, b| a.upload_mb.total_cmp(&b.upload_mb))
        && let Some(ratio) = &largest.ratio_p95
    {
        format!(
            "no measurable effect of uploads on small requests: p95 {} at {} ({every})",
            ratio_text(ratio),
            at(largest)
        )
    } else if let one @ [_, ..] = &quoted(Effect::NoInterval)[..] {
        format!(
            "no verdict: one round gives a ratio without an interval (p95 {}); run PROBE_REPS=3 \
             or more",
            one.join(", ")
        )
    } else {
        "no verdict: no upload size was measured in the same round as the small requests alone"
            .to_string()
    };
    let measured: Vec<&&LevelFindings> = uploads
        .iter()
        .filter(|l| !l.measured_rounds.is_empty())
        .collect();
    let saturated: Vec<String> = measured
        .iter()
        .filter(|l| l.saturated_rounds > 0)
        .map(|l| {
            format!(
                "{} ({} of {} rounds)",
                at(l),
                l.saturated_rounds,
                l.measured_rounds.len()
            )
        })
        .collect();
    let route = if !saturated.is_empty() {
        format!(
            "the upload route's latency grows with the run: saturated at {}",
            saturated.join(", ")
        )
    } else if !measured.is_empty() {
        "the upload route kept up at every size".to_string()
    } else {
        String::new()
    };
    let mut headline = effect;
    if !route.is_empty() {
        headline = format!("{headline}; {route}");
    }
    let unmeasured: Vec<String> = uploads
        .iter()
        .filter(|l| l.effect == Some(Effect::NotMeasured))
        .map(|l| at(l))
        .collect();
    if !unmeasured.is_empty() {
        headline = format!("{headline}; not measured at {}", unmeasured.join(", "));
    }
    if settings.stopped.is_some() {
        headline = format!("{headline}; the probe stopped early (see below)");
    }
    Verdict {
        paragraph: paragraph(&headline, &uploads, settings),
        headline,
    }
}

/// The headline, then a sentence per size, the errors, the stop, and what the intervals are.
fn paragraph(headline: &str, uploads: &[&LevelFindings], settings: &VerdictSettings<'_>) -> String {
    let mut chars = headline.chars();
    let capitalised: String = chars
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .collect();
    let mut sentences = vec![format!("{capitalised}{}.", chars.as_str())];
    for level in uploads {
        let size = size_mb_text(level.upload_mb);
        let Some(ratio) = &level.ratio_p95 else {
            sentences.push(format!("At {size} MB nothing was measured."));
            continue;
        };
        let said = match level.effect {
            Some(Effect::Waits) => "small requests wait",
            Some(Effect::Inconclusive) => "inconclusive",
            Some(Effect::Slower) => "slower, under the threshold",
            Some(Effect::NoMeasurableEffect) => "no measurable effect",
            _ => "one round, no interval",
        };
        let mut sentence = format!("At {size} MB: {said} (small p95 {}", ratio_text(ratio));
        if let Some(p99) = &level.ratio_p99 {
            sentence += &format!(", p99 {}", ratio_text(p99));
        }
        sentence += ")";
        if let Some(large) = &level.large_p50 {
            sentence += &format!("; the uploads took {} (median)", latency_text(large));
        }
        if let Some(server) = &level.server_large_ms {
            sentence += &format!(
                ", {} of it on the server by its own metrics",
                latency_text(server)
            );
        }
        let failed: u64 = level.errors.iter().map(|e| e.count).sum();
        if failed > 0 {
            let kinds: Vec<String> = level
                .errors
                .iter()
                .map(|e| format!("{} {} {}", e.count, e.class, e.kind))
                .collect();
            sentence += &format!("; {failed} requests failed ({})", kinds.join(", "));
        }
        sentences.push(format!("{sentence}."));
    }
    if let Some(stopped) = settings.stopped {
        sentences.push(format!("The probe stopped early: {stopped}."));
    }
    sentences.push(match settings.coverage {
        Some(coverage) => format!(
            "Each interval covers the median over the rounds with {:.1}% probability \
             (order statistics); the verdict calls a slowdown only when the p95 ratio's whole \
             interval is at or above ×{}.",
            coverage * 100.0,
            factor(settings.threshold)
        ),
        None => "With one round there are no intervals, so no slowdown is claimed.".to_string(),
    });
    sentences.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Estimate;
    use crate::probe::analysis::analyse;
    use crate::probe::analysis::tests::run;
    use crate::probe::levels::Level;

    fn measure(values: &[f64]) -> Measure {
        Measure {
            estimate: Estimate::of(values).unwrap(),
            saturated_rounds: 0,
        }
    }

    /// Only an interval wholly at or above the threshold says "waits"; one that holds 1 says
    /// "no measurable effect"; one across the threshold is inconclusive.
    #[test]
    fn effects_follow_the_interval() {
        let effect = |values: &[f64]| effect_of(Some(&measure(values)), 2.0);
        assert_eq!(effect(&[11.0, 14.0, 18.0]), Effect::Waits);
        assert_eq!(effect(&[2.0, 3.0, 4.0]), Effect::Waits);
        assert_eq!(effect(&[1.5, 3.0, 4.0]), Effect::Inconclusive);
        assert_eq!(effect(&[1.1, 1.3, 1.5]), Effect::Slower);
        assert_eq!(effect(&[0.9, 1.0, 1.2]), Effect::NoMeasurableEffect);
        assert_eq!(effect(&[0.5, 0.6, 0.7]), Effect::NoMeasurableEffect);
        assert_eq!(effect(&[14.0]), Effect::NoInterval);
        assert_eq!(effect_of(None, 2.0), Effect::NotMeasured);
        assert_eq!(ratio_text(&measure(&[11.0, 14.0, 18.0])), "×14 [×11–×18]");
    }

    fn settings() -> VerdictSettings<'static> {
        VerdictSettings {
            threshold: 2.0,
            interval_s: 1.0,
            coverage: Some(0.75),
            stopped: None,
        }
    }

    /// A blocking server's ladder reads "wait", with every size that passes quoted.
    #[test]
    fn a_blocking_server_waits() {
        let one = Level::Uploads { size_mb: 1.0 };
        let four = Level::Uploads { size_mb: 4.0 };
        let runs: Vec<_> = (1..=3)
            .flat_map(|round| {
                let alone = 2.0 + round as f64 * 0.1;
                [
                    run(round, Level::Alone, alone),
                    run(round, one, alone * 1.1),
                    run(round, four, alone * (20.0 + round as f64)),
                ]
            })
            .collect();
        let findings = analyse(&[Level::Alone, one, four], &runs, 3, 2.0);
        let verdict = verdict(&findings, &settings());
        assert!(
            verdict
                .headline
                .starts_with("small requests wait for uploads: p95 ×22 [×21–×23] at 4 MB"),
            "{}",
            verdict.headline
        );
        assert!(
            verdict
                .headline
                .ends_with("the upload route kept up at every size")
        );
        assert!(
            verdict
                .paragraph
                .contains("At 1 MB: slower, under the threshold")
        );
        assert!(verdict.paragraph.contains("75.0% probability"));
    }

    /// A server that serves both says no measurable effect; a stop is said.
    #[test]
    fn a_threaded_server_shows_no_effect() {
        let four = Level::Uploads { size_mb: 4.0 };
        let runs: Vec<_> = (1..=3)
            .flat_map(|round| {
                [
                    run(round, Level::Alone, 2.0),
                    run(round, four, 1.8 + round as f64 * 0.1),
                ]
            })
            .collect();
        let findings = analyse(&[Level::Alone, four], &runs, 3, 2.0);
        let stopped = VerdictSettings {
            stopped: Some("the server stopped answering in round 3"),
            ..settings()
        };
        let verdict = verdict(&findings, &stopped);
        assert!(
            verdict
                .headline
                .starts_with("no measurable effect of uploads on small requests: p95 ×1.00"),
            "{}",
            verdict.headline
        );
        assert!(verdict.headline.contains("stopped early"));
        assert!(verdict.paragraph.contains("stopped answering in round 3"));
        assert!(verdict.paragraph.contains("3 large timeout"));
    }
}

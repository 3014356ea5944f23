//! The template's filters: how numbers look in the report. Milliseconds keep decimals below
//! 100 and are whole above; a figure over several rounds is `median [low–high]`; a ratio is
//! `N×`, or `N× higher` / `N× lower` for a change.

use minijinja::value::Serde;

use crate::grid::Measure;

/// Milliseconds with precision that suits their size (the study printed integers; sub-10 ms
/// values need decimals to mean anything).
pub fn ms(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

/// A factor: three decimals below 0.1, two below 10, whole above.
pub fn factor(value: f64) -> String {
    if value < 0.1 {
        format!("{value:.3}")
    } else if value < 10.0 {
        format!("{value:.2}")
    } else {
        format!("{value:.0}")
    }
}

/// `ms` of an optional number; `–` without one.
pub fn opt_ms(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), ms)
}

/// A figure: its median, and `[low–high]` when it has an interval; `–` without one.
pub fn figure(measure: Option<Serde<Measure>>) -> String {
    match measure {
        Some(measure) => {
            let e = measure.estimate;
            if e.coverage.is_some() {
                format!("{} [{}–{}]", ms(e.median), ms(e.low), ms(e.high))
            } else {
                ms(e.median)
            }
        }
        None => "–".to_string(),
    }
}

/// A ratio: `N×`, with `[low–high]` when it has an interval.
pub fn times(measure: Option<Serde<Measure>>) -> String {
    match measure {
        Some(measure) => {
            let e = measure.estimate;
            if e.coverage.is_some() {
                format!(
                    "{}× [{}–{}]",
                    factor(e.median),
                    factor(e.low),
                    factor(e.high)
                )
            } else {
                format!("{}×", factor(e.median))
            }
        }
        None => "–".to_string(),
    }
}

/// A change by a ratio: `N× higher` or `N× lower` (a ratio below 1 inverted, its interval
/// too), with `[low–high]` when it has an interval.
pub fn change(measure: Option<Serde<Measure>>) -> String {
    let Some(measure) = measure else {
        return "n/a".to_string();
    };
    let e = measure.estimate;
    if e.median <= 0.0 {
        return "n/a".to_string();
    }
    let (word, median, low, high) = if e.median > 1.0 {
        ("higher", e.median, e.low, e.high)
    } else {
        (
            "lower",
            1.0 / e.median,
            1.0 / e.high.max(f64::MIN_POSITIVE),
            1.0 / e.low.max(f64::MIN_POSITIVE),
        )
    };
    if e.coverage.is_some() {
        format!(
            "{}× {word} [{}–{}]",
            factor(median),
            factor(low),
            factor(high)
        )
    } else {
        format!("{}× {word}", factor(median))
    }
}

/// A figure's spread over the rounds, (max - min) / median, as a percentage; `–` without one.
pub fn spread(measure: Option<Serde<Measure>>) -> String {
    match measure {
        Some(measure) if measure.estimate.n > 1 => {
            format!("{:.0}%", measure.estimate.spread * 100.0)
        }
        _ => "–".to_string(),
    }
}

/// A fraction as a percentage: `12.5%`.
pub fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".to_string(), |v| format!("{:.1}%", v * 100.0))
}

/// A lag bucket bound, ms: past the last finite bound, `> ` that bound.
pub fn lag_bound(value: Option<f64>) -> String {
    match value {
        Some(bound) if bound.is_infinite() => {
            let last = lab_core::buckets::latency_buckets_seconds()
                .last()
                .map_or(0.0, |seconds| seconds * 1e3);
            format!("> {}", ms(last))
        }
        other => opt_ms(other),
    }
}

/// `⚠ k/n` when a figure was saturated in `k` of `n` rounds, else nothing.
pub fn mark(saturated_rounds: usize, rounds: usize) -> String {
    if saturated_rounds == 0 {
        String::new()
    } else {
        format!(" ⚠ {saturated_rounds}/{rounds}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Estimate;

    fn measure(values: &[f64]) -> Option<Serde<Measure>> {
        Some(Serde(Measure {
            estimate: Estimate::of(values).unwrap(),
            saturated_rounds: 0,
        }))
    }

    /// Milliseconds keep decimals below 100 and are whole above.
    #[test]
    fn ms_keeps_small_values_readable_and_large_ones_whole() {
        assert_eq!(ms(1.234), "1.23");
        assert_eq!(ms(42.26), "42.3");
        assert_eq!(ms(658.4), "658");
        assert_eq!(opt_ms(None), "–");
    }

    /// One round: the value; several: median and interval; a change says which way.
    #[test]
    fn figures_and_changes_show_their_interval() {
        assert_eq!(figure(measure(&[849.0])), "849");
        assert_eq!(figure(measure(&[812.0, 849.0, 901.0])), "849 [812–901]");
        assert_eq!(times(measure(&[2.0, 3.0, 4.0])), "3.00× [2.00–4.00]");
        assert_eq!(change(measure(&[0.5])), "2.00× lower");
        assert_eq!(
            change(measure(&[0.25, 0.5, 1.0 / 3.0])),
            "3.00× lower [2.00–4.00]"
        );
        assert_eq!(change(measure(&[38.0])), "38× higher");
        assert_eq!(change(None), "n/a");
        assert_eq!(mark(2, 5), " ⚠ 2/5");
        assert_eq!(times(measure(&[0.0056])), "0.006×");
        assert_eq!(spread(measure(&[90.0, 100.0, 120.0])), "30%");
        assert_eq!(spread(measure(&[90.0])), "–");
        assert_eq!(lag_bound(Some(f64::INFINITY)), "> 11300");
    }
}

//! How a figure measured once per round becomes one number with an interval.
//!
//! Each round runs every scenario once, so a figure (a scenario's small p95, say) has one
//! value per round. The report gives their **median** and a **distribution-free interval for
//! it from order statistics**: with `n` values sorted, `[x(k), x(n+1-k)]` covers the true
//! median with probability `1 - 2·P(Binomial(n, ½) ≤ k-1)`, whatever the values'
//! distribution. The matrix takes the largest `k` whose coverage is still at least 95%; with
//! 5 rounds or fewer not even `[min, max]` reaches 95%, so it is `[min, max]` with the
//! coverage those rounds allow (5 rounds: 93.75%, 4: 87.5%, 3: 75%, 2: 50%), and the report
//! says which. The **spread** is `(max - min) / median`.
//!
//! A ratio ("A is N times B") is never the ratio of two medians: it is computed in every
//! round from A and B measured in that round, and those per-round ratios get their own
//! median and interval ([`per_round_ratio`]), so a round where the whole machine was slower
//! moves A and B together.

use serde::{Deserialize, Serialize};

/// The coverage the interval aims for.
pub const TARGET_COVERAGE: f64 = 0.95;

/// The median of `values` (the mean of the middle two for an even count); `None` when empty.
/// Sorts `values`.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// `P(Binomial(n, ½) ≤ k)`.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let mut coefficient = 1.0_f64;
    let mut total = 0.0_f64;
    for i in 0..=k.min(n) {
        if i > 0 {
            coefficient = coefficient * (n - i + 1) as f64 / i as f64;
        }
        total += coefficient;
    }
    total / 2f64.powi(n as i32)
}

/// The order-statistic interval for the median of `n` values: `(k, coverage)` such that
/// `[x(k), x(n+1-k)]` (1-based) covers the median with probability `coverage`. The largest `k`
/// reaching [`TARGET_COVERAGE`], or `k = 1` (`[min, max]`) when none does; `None` for
/// `n < 2`.
pub fn median_interval_rank(n: usize) -> Option<(usize, f64)> {
    if n < 2 {
        return None;
    }
    let coverage = |k: usize| 1.0 - 2.0 * binomial_half_cdf(n, k - 1);
    let mut best = (1, coverage(1));
    for k in 2..=n.div_ceil(2) {
        let c = coverage(k);
        if c >= TARGET_COVERAGE {
            best = (k, c);
        } else {
            break;
        }
    }
    Some(best)
}

/// A figure over the rounds: the median, its interval and the spread.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Rounds with a value.
    pub n: usize,
    /// Median over the rounds.
    pub median: f64,
    /// Lower end of the interval (the median itself with one round).
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
    /// Probability the interval covers the median; `None` with one round.
    pub coverage: Option<f64>,
    /// `(max - min) / median` over the rounds (0 with one round).
    pub spread: f64,
}

impl Estimate {
    /// The estimate of `values` (one per round); `None` when empty or not all finite.
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        let median = median(&mut sorted)?;
        let n = sorted.len();
        let (low, high, coverage) = match median_interval_rank(n) {
            Some((k, coverage)) => (sorted[k - 1], sorted[n - k], Some(coverage)),
            None => (median, median, None),
        };
        let spread = if median > 0.0 {
            (sorted[n - 1] - sorted[0]) / median
        } else {
            0.0
        };
        Some(Self {
            n,
            median,
            low,
            high,
            coverage,
            spread,
        })
    }

    /// Whether two estimates' intervals overlap (they agree).
    pub fn overlaps(&self, other: &Estimate) -> bool {
        self.low <= other.high && other.low <= self.high
    }

    /// The same estimate with every value multiplied by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        Self {
            median: self.median * factor,
            low: self.low * factor,
            high: self.high * factor,
            ..*self
        }
    }
}

/// `a / b` per round, for the rounds where both have a positive value: `(round, ratio)`.
pub fn per_round_ratio(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<(u32, f64)> {
    a.iter()
        .filter_map(|&(round, value)| {
            let (_, other) = b.iter().find(|(r, _)| *r == round)?;
            (*other > 0.0 && value > 0.0).then(|| (round, value / other))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With 5 rounds no interval reaches 95%: [min, max] covers the median with 93.75%.
    /// From 6 rounds [min, max] passes 95%; from 9 the second-smallest and second-largest do.
    #[test]
    fn order_statistic_coverage_is_binomial() {
        assert_eq!(median_interval_rank(1), None);
        assert_eq!(median_interval_rank(2), Some((1, 0.5)));
        assert_eq!(median_interval_rank(3), Some((1, 0.75)));
        assert_eq!(median_interval_rank(5), Some((1, 0.9375)));
        let (k, coverage) = median_interval_rank(6).unwrap();
        assert_eq!(k, 1);
        assert!((coverage - 0.96875).abs() < 1e-12);
        let (k, coverage) = median_interval_rank(9).unwrap();
        assert_eq!(k, 2);
        // 1 - 2 × (1 + 9) / 512.
        assert!((coverage - (1.0 - 20.0 / 512.0)).abs() < 1e-12);
        let (k, coverage) = median_interval_rank(20).unwrap();
        assert_eq!(k, 6);
        assert!(coverage >= 0.95);
        assert!(
            1.0 - 2.0 * binomial_half_cdf(20, 6) < 0.95,
            "k = 7 falls short"
        );
    }

    /// The estimate of 5 rounds: median, [min, max], spread.
    #[test]
    fn estimate_of_five_rounds_is_median_min_max() {
        let estimate = Estimate::of(&[3095.0, 1829.0, 3740.0, 2900.0, 3300.0]).unwrap();
        assert_eq!(estimate.n, 5);
        assert_eq!(estimate.median, 3095.0);
        assert_eq!((estimate.low, estimate.high), (1829.0, 3740.0));
        assert_eq!(estimate.coverage, Some(0.9375));
        assert!((estimate.spread - (3740.0 - 1829.0) / 3095.0).abs() < 1e-12);
        let one = Estimate::of(&[7.0]).unwrap();
        assert_eq!(
            (one.low, one.median, one.high, one.coverage),
            (7.0, 7.0, 7.0, None)
        );
        assert_eq!(Estimate::of(&[]), None);
        assert_eq!(Estimate::of(&[1.0, f64::NAN]), None);
        let even = Estimate::of(&[1.0, 2.0, 3.0, 10.0]).unwrap();
        assert_eq!(even.median, 2.5);
    }

    /// Ratios pair the rounds: a round missing on one side is left out, never mixed.
    #[test]
    fn per_round_ratios_pair_values_of_the_same_round() {
        let a = [(1, 200.0), (2, 300.0), (3, 100.0)];
        let b = [(1, 100.0), (3, 50.0), (4, 10.0)];
        assert_eq!(per_round_ratio(&a, &b), [(1, 2.0), (3, 2.0)]);
        // The medians' ratio would be 200 / 50 = 4; per round it is 2 in both.
        let estimate = Estimate::of(&[2.0, 2.0]).unwrap();
        assert_eq!(estimate.median, 2.0);
        assert!(
            Estimate::of(&[1.0, 2.0])
                .unwrap()
                .overlaps(&Estimate::of(&[1.9, 3.0]).unwrap())
        );
        assert!(
            !Estimate::of(&[1.0, 2.0])
                .unwrap()
                .overlaps(&Estimate::of(&[2.1, 3.0]).unwrap())
        );
    }
}

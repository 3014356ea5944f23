//! Per-class statistics: counters and an HdrHistogram of successful latencies.
//!
//! Pure and synchronous: the collector feeds it records, outputs read [`ClassSummary`]s.

use std::{collections::BTreeMap, time::Duration};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use lab_core::{Class, ClientErrorKind, Stats, csv_rows::RequestRow};

use crate::record::{Outcome, Record};

/// Significant decimal digits the histograms keep: 3 means a recorded value is off by at
/// most 0.1%, at any magnitude.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Running statistics of one class.
#[derive(Debug, Clone)]
pub struct ClassStats {
    /// Which class.
    pub class: Class,
    /// Latencies (scheduled start → end of response) of successful requests, in µs.
    pub latency_us: Histogram<u64>,
    /// Requests sent (successes and errors; skipped ticks not included).
    pub count: u64,
    /// 2xx responses (with the right count and maxval, when the answer had them and
    /// CHECK_ANSWERS was on).
    pub ok: u64,
    /// Requests that failed, any kind.
    pub errors: u64,
    /// Ticks never sent because of the in-flight cap.
    pub skipped: u64,
    /// Errors per kind (`connect_refused`, `http_5xx`…).
    pub errors_by_kind: BTreeMap<ClientErrorKind, u64>,
}

/// A requests.csv row whose `error` cell names no [`ClientErrorKind`]: not a file lab-loadgen
/// wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request {request_id} has error `{kind}`, which is not an error kind lab-loadgen writes")]
pub struct UnknownErrorKind {
    /// The row's `request_id`.
    pub request_id: String,
    /// Its `error` cell.
    pub kind: String,
}

impl ClassStats {
    /// Empty statistics for `class`.
    pub fn new(class: Class) -> Self {
        ClassStats {
            class,
            latency_us: Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits is valid"),
            count: 0,
            ok: 0,
            errors: 0,
            skipped: 0,
            errors_by_kind: BTreeMap::new(),
        }
    }

    /// Counts one record; successful latencies go into the histogram.
    pub fn add(&mut self, record: &Record) {
        match &record.outcome {
            Outcome::Ok => {
                self.count += 1;
                self.ok += 1;
                if let Some(latency) = record.latency() {
                    self.record_latency(latency);
                }
            }
            Outcome::Failed(error) => {
                self.count += 1;
                self.errors += 1;
                *self.errors_by_kind.entry(error.kind()).or_default() += 1;
            }
            Outcome::Skipped => self.skipped += 1,
        }
    }

    /// Counts one row of a requests.csv, as [`ClassStats::add`] counted its record: the
    /// latency column has the record's whole microseconds, so the histogram is the same. A
    /// row whose `error` is no [`ClientErrorKind`] is refused.
    pub fn add_row(&mut self, row: &RequestRow<'_>) -> Result<(), UnknownErrorKind> {
        if row.error.is_empty() {
            self.count += 1;
            self.ok += 1;
            if let Some(latency) = row.latency_ms {
                let micros = (latency.0 * 1000.0).round().max(0.0) as u64;
                self.record_latency(Duration::from_micros(micros));
            }
            return Ok(());
        }
        match ClientErrorKind::named(&row.error) {
            Some(ClientErrorKind::Skipped) => self.skipped += 1,
            Some(kind) => {
                self.count += 1;
                self.errors += 1;
                *self.errors_by_kind.entry(kind).or_default() += 1;
            }
            None => {
                return Err(UnknownErrorKind {
                    request_id: row.request_id.to_string(),
                    kind: row.error.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Adds another run's statistics of the same class: counters add up, and HdrHistograms
    /// merge exactly (bucket by bucket), so the percentiles are those of all the requests
    /// together, not an average of percentiles.
    pub fn merge(&mut self, other: &ClassStats) {
        self.count += other.count;
        self.ok += other.ok;
        self.errors += other.errors;
        self.skipped += other.skipped;
        for (kind, count) in &other.errors_by_kind {
            *self.errors_by_kind.entry(*kind).or_default() += count;
        }
        self.latency_us
            .add(&other.latency_us)
            .expect("an auto-resizing histogram takes any other");
    }

    fn record_latency(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency_us
            .record(micros)
            .expect("an auto-resizing histogram accepts any value");
    }

    /// The latency at `quantile` (0..=1) in ms, if anything succeeded.
    pub fn quantile_ms(&self, quantile: f64) -> Option<f64> {
        (!self.latency_us.is_empty())
            .then(|| micros_to_ms(self.latency_us.value_at_quantile(quantile)))
    }

    /// A snapshot of the class's numbers, in ms.
    pub fn summary(&self) -> ClassSummary {
        let histogram = &self.latency_us;
        let has_data = !histogram.is_empty();
        let at = |quantile: f64| self.quantile_ms(quantile);
        ClassSummary {
            class: self.class.clone(),
            stats: Stats {
                count: self.count,
                ok: self.ok,
                errors: self.errors,
                skipped: self.skipped,
                min_ms: has_data.then(|| micros_to_ms(histogram.min())),
                median_ms: at(0.5),
                mean_ms: has_data.then(|| round_to_micros(histogram.mean() / 1000.0)),
                p90_ms: at(0.90),
                p95_ms: at(0.95),
                p99_ms: at(0.99),
                max_ms: has_data.then(|| micros_to_ms(histogram.max())),
            },
            errors_by_kind: self.errors_by_kind.clone(),
        }
    }
}

fn micros_to_ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

fn round_to_micros(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// One class's results, as printed in the table, written to summary.csv and returned by
/// [`crate::run`]. Its [`Stats`] are flattened into it, so the JSON report lists `count`,
/// `ok`, … `max_ms` beside `class`; latency fields are `None` when no request of the class
/// succeeded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassSummary {
    /// Which class.
    pub class: Class,
    /// Its counts and latency statistics, in ms.
    #[serde(flatten)]
    pub stats: Stats,
    /// Failed requests per kind.
    pub errors_by_kind: BTreeMap<ClientErrorKind, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RequestError;

    fn ok_after(ms: u64) -> Record {
        Record {
            sent: Some(Duration::ZERO),
            end: Some(Duration::from_millis(ms)),
            outcome: Outcome::Ok,
            ..Record::skipped(0, 1, Duration::ZERO)
        }
    }

    #[test]
    fn percentiles_of_one_to_a_hundred_ms() {
        let mut stats = ClassStats::new(Class::Small);
        for ms in 1..=100 {
            stats.add(&ok_after(ms));
        }
        let summary = stats.summary().stats;
        assert_eq!(summary.count, 100);
        assert_eq!(summary.ok, 100);
        // HdrHistogram with 3 significant digits: every value within 0.1%.
        let close = |value: Option<f64>, expected: f64| {
            let value = value.unwrap();
            assert!(
                (value - expected).abs() <= expected * 0.001,
                "{value} vs {expected}"
            );
        };
        close(summary.min_ms, 1.0);
        close(summary.median_ms, 50.0);
        close(summary.p90_ms, 90.0);
        close(summary.p95_ms, 95.0);
        close(summary.p99_ms, 99.0);
        close(summary.max_ms, 100.0);
        close(summary.mean_ms, 50.5);
    }

    #[test]
    fn errors_and_skips_are_counted_but_not_timed() {
        let mut stats = ClassStats::new(Class::Large);
        stats.add(&ok_after(10));
        stats.add(&Record {
            outcome: Outcome::Failed(RequestError::ConnectRefused),
            ..ok_after(1)
        });
        stats.add(&Record {
            outcome: Outcome::Failed(RequestError::Http5xx(503)),
            ..ok_after(1)
        });
        stats.add(&Record::skipped(0, 4, Duration::ZERO));
        let summary = stats.summary();
        let counts = &summary.stats;
        assert_eq!(
            (counts.count, counts.ok, counts.errors, counts.skipped),
            (3, 1, 2, 1)
        );
        assert_eq!(summary.errors_by_kind[&ClientErrorKind::ConnectRefused], 1);
        assert_eq!(summary.errors_by_kind[&ClientErrorKind::Http5xx], 1);
        assert_eq!(counts.min_ms, Some(10.0));
    }

    #[test]
    fn no_success_means_no_latency_numbers() {
        let summary = ClassStats::new(Class::Small).summary().stats;
        assert_eq!(summary.count, 0);
        assert_eq!(summary.median_ms, None);
        assert_eq!(summary.max_ms, None);
    }
}

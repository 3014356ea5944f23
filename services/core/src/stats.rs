//! [`Stats`]: one class's counts and latency statistics, the columns every summary shares:
//! lab-loadgen's `summary.csv` and its report, and lab-matrix's `matrix.csv` (each puts it in
//! its row with `#[serde(flatten)]`).
//!
//! The `csv` crate reads a flattened struct but cannot write one: a row with a flattened
//! [`Stats`] is written as a tuple of its parts (see [`crate::csv_rows::SummaryRow::parts`]),
//! which gives the same columns in the same order. And a flattened struct's fields are read
//! without their types known, so an empty cell reaches them as the string `""`: the latency
//! fields read it as "none" with [`optional_number`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, de};

/// Counts and latency statistics of one class, in ms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests that finished (ok + errors).
    pub count: u64,
    /// Requests answered with a 2xx (their latencies make the statistics below).
    pub ok: u64,
    /// Requests that failed.
    pub errors: u64,
    /// Requests the open schedule could not start because of the in-flight cap.
    pub skipped: u64,
    /// Fastest successful request; the latency columns are empty when none succeeded.
    #[serde(default, deserialize_with = "optional_number")]
    pub min_ms: Option<f64>,
    /// Median.
    #[serde(default, deserialize_with = "optional_number")]
    pub median_ms: Option<f64>,
    /// Mean.
    #[serde(default, deserialize_with = "optional_number")]
    pub mean_ms: Option<f64>,
    /// 90th percentile.
    #[serde(default, deserialize_with = "optional_number")]
    pub p90_ms: Option<f64>,
    /// 95th percentile.
    #[serde(default, deserialize_with = "optional_number")]
    pub p95_ms: Option<f64>,
    /// 99th percentile.
    #[serde(default, deserialize_with = "optional_number")]
    pub p99_ms: Option<f64>,
    /// Slowest successful request.
    #[serde(default, deserialize_with = "optional_number")]
    pub max_ms: Option<f64>,
}

/// The columns of [`Stats`], in order.
pub const STATS_COLUMNS: [&str; 11] = [
    "count",
    "ok",
    "errors",
    "skipped",
    "min_ms",
    "median_ms",
    "mean_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
];

/// Which latency statistic: what a report or a probe asks a [`Stats`] for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    /// Fastest.
    Min,
    /// Median.
    Median,
    /// Mean.
    Mean,
    /// 90th percentile.
    P90,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
    /// Slowest.
    Max,
}

impl Statistic {
    /// Its name in reports: `p95`.
    pub fn name(self) -> &'static str {
        match self {
            Statistic::Min => "min",
            Statistic::Median => "median",
            Statistic::Mean => "mean",
            Statistic::P90 => "p90",
            Statistic::P95 => "p95",
            Statistic::P99 => "p99",
            Statistic::Max => "max",
        }
    }
}

impl Stats {
    /// The statistic `which`, in ms, when any request succeeded.
    pub fn get(&self, which: Statistic) -> Option<f64> {
        match which {
            Statistic::Min => self.min_ms,
            Statistic::Median => self.median_ms,
            Statistic::Mean => self.mean_ms,
            Statistic::P90 => self.p90_ms,
            Statistic::P95 => self.p95_ms,
            Statistic::P99 => self.p99_ms,
            Statistic::Max => self.max_ms,
        }
    }
}

/// Reads an optional number from a cell that may be empty, however the reader got there: as
/// an `Option` (a plain struct) or as whatever the cell looked like (a flattened one: `""`,
/// an integer or a float).
pub fn optional_number<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<f64>, D::Error> {
    struct OptionalNumber;

    impl<'de> de::Visitor<'de> for OptionalNumber {
        type Value = Option<f64>;

        fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
            formatter.write_str("a number or an empty cell")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Self::Value, D::Error> {
            inner.deserialize_any(self)
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
            Ok(Some(value))
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
            Ok(Some(value as f64))
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
            Ok(Some(value as f64))
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse()
                .map(Some)
                .map_err(|_| E::invalid_value(de::Unexpected::Str(text), &self))
        }
    }

    deserializer.deserialize_option(OptionalNumber)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Head {
        class: String,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Row {
        class: String,
        #[serde(flatten)]
        stats: Stats,
        #[serde(default, deserialize_with = "optional_number")]
        lag_ms: Option<f64>,
    }

    #[derive(Serialize)]
    struct Tail {
        lag_ms: Option<f64>,
    }

    /// Written as a tuple of its parts, read back through `flatten`: the same row, empty cells
    /// and all.
    #[test]
    fn a_flattened_row_round_trips_through_csv() {
        let stats = Stats {
            count: 250,
            ok: 249,
            errors: 1,
            skipped: 0,
            min_ms: Some(0.5),
            median_ms: Some(1.0),
            mean_ms: None,
            p90_ms: Some(3.0),
            p95_ms: Some(4.25),
            p99_ms: Some(9.0),
            max_ms: Some(12.0),
        };
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .serialize((
                Head {
                    class: "small".into(),
                },
                &stats,
                Tail { lag_ms: None },
            ))
            .unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let header = text.lines().next().unwrap();
        assert_eq!(header, format!("class,{},lag_ms", STATS_COLUMNS.join(",")));
        let rows: Vec<Row> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [Row {
                class: "small".into(),
                stats,
                lag_ms: None
            }]
        );
    }
}

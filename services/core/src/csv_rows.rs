//! The rows of the CSV files a load generator run leaves behind. The load generator writes
//! them, the matrix reads `requests.csv` back, with these same types; the column names are
//! the field names, in order. A summary row holds its statistics as a flattened [`Stats`]:
//! read through `#[serde(flatten)]`, written as the tuple of its parts ([`SummaryRow::parts`]),
//! because the `csv` crate cannot write a flattened struct.

use std::borrow::Cow;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stats::Stats;

/// File name of the per-request CSV.
pub const REQUESTS_CSV: &str = "requests.csv";
/// File name of the per-class CSV.
pub const SUMMARY_CSV: &str = "summary.csv";

/// Columns of `requests.csv`, in order (the fields of [`RequestRow`]).
pub const REQUESTS_COLUMNS: [&str; 14] = [
    "run_id",
    "request_id",
    "class",
    "method",
    "endpoint",
    "connection",
    "scheduled_ms",
    "sent_ms",
    "latency_ms",
    "status",
    "bytes_sent",
    "server_elapsed_ms",
    "worker",
    "error",
];

/// Columns of `summary.csv`, in order (the fields of [`SummaryRow`]).
pub const SUMMARY_COLUMNS: [&str; 16] = [
    "run_id",
    "class",
    "endpoint",
    "connection",
    "schedule",
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

/// Milliseconds since the run started (or of latency), written with µs precision (`100.250`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Millis(pub f64);

impl From<Duration> for Millis {
    fn from(duration: Duration) -> Self {
        Self(duration.as_micros() as f64 / 1000.0)
    }
}

impl Serialize for Millis {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format!("{:.3}", self.0))
    }
}

impl<'de> Deserialize<'de> for Millis {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        f64::deserialize(deserializer).map(Self)
    }
}

/// One row of `requests.csv`: one scheduled request, whatever became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRow<'a> {
    /// The run's id (its directory name).
    pub run_id: Cow<'a, str>,
    /// `<class>-<sequence>`, e.g. `small-000042`; also sent as `x-request-id`.
    pub request_id: Cow<'a, str>,
    /// Request class (`small`, `large`, …).
    pub class: Cow<'a, str>,
    /// The HTTP method it was sent with (`POST`, `GET`, …); empty when read from a file
    /// written without the column.
    #[serde(default)]
    pub method: Cow<'a, str>,
    /// The path the request went to.
    pub endpoint: Cow<'a, str>,
    /// The client's connection mode (`new` or `keepalive`).
    pub connection: Cow<'a, str>,
    /// When the request was due.
    pub scheduled_ms: Millis,
    /// When it was actually sent; empty when never sent.
    pub sent_ms: Option<Millis>,
    /// Client-side latency (from `scheduled_ms` on an open schedule); empty when the request
    /// was never sent or never ended.
    pub latency_ms: Option<Millis>,
    /// HTTP status; empty when no response came.
    pub status: Option<u16>,
    /// Body bytes sent.
    pub bytes_sent: u64,
    /// The server's own `elapsed_server`, when it answered with one.
    pub server_elapsed_ms: Option<u64>,
    /// Worker that served it (`x-worker-id`); empty when unknown.
    pub worker: Option<usize>,
    /// Error kind; empty on success.
    pub error: Cow<'a, str>,
}

impl RequestRow<'_> {
    /// Whether the server answered with a 2xx (and the latency is known).
    pub fn is_ok(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
            && self.error.is_empty()
            && self.latency_ms.is_some()
    }

    /// The time span, ms since the run started, during which the request was waiting for its
    /// answer: from when it was due until the response arrived.
    pub fn span_ms(&self) -> Option<(f64, f64)> {
        let start = self.scheduled_ms.0;
        Some((start, start + self.latency_ms?.0))
    }
}

/// One row of `summary.csv`: one class's statistics over the whole run. Read with serde;
/// written as [`SummaryRow::parts`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SummaryRow<'a> {
    /// The run's id.
    pub run_id: Cow<'a, str>,
    /// Request class.
    pub class: Cow<'a, str>,
    /// The path the class requested.
    pub endpoint: Cow<'a, str>,
    /// Connection mode.
    pub connection: Cow<'a, str>,
    /// Schedule (`open` or `closed`).
    pub schedule: Cow<'a, str>,
    /// Its counts and latency statistics (the latency columns are empty when none succeeded).
    #[serde(flatten)]
    pub stats: Stats,
}

/// The columns of a [`SummaryRow`] before its [`Stats`], borrowed from it.
#[derive(Serialize)]
struct SummaryHead<'r> {
    run_id: &'r str,
    class: &'r str,
    endpoint: &'r str,
    connection: &'r str,
    schedule: &'r str,
}

impl SummaryRow<'_> {
    /// The row as the `csv` crate writes it: its leading columns, then its [`Stats`], as one
    /// tuple (the crate cannot write a flattened struct; a tuple of structs gives the same
    /// columns, [`SUMMARY_COLUMNS`], in the same order).
    pub fn parts(&self) -> impl Serialize + '_ {
        (
            SummaryHead {
                run_id: &self.run_id,
                class: &self.class,
                endpoint: &self.endpoint,
                connection: &self.connection,
                schedule: &self.schedule,
            },
            &self.stats,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(error: &str, status: Option<u16>, latency_ms: Option<f64>) -> RequestRow<'_> {
        RequestRow {
            run_id: "r".into(),
            request_id: "small-000001".into(),
            class: "small".into(),
            method: "POST".into(),
            endpoint: "/ping".into(),
            connection: "new".into(),
            scheduled_ms: Millis::from(Duration::from_micros(100_250)),
            sent_ms: Some(Millis(100.5)),
            latency_ms: latency_ms.map(Millis),
            status,
            bytes_sent: 60,
            server_elapsed_ms: None,
            worker: Some(1),
            error: error.into(),
        }
    }

    /// The header serde writes is REQUESTS_COLUMNS, and a row read back equals the row written.
    #[test]
    fn requests_rows_round_trip_under_the_declared_columns() {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let written = row("", Some(200), Some(1.5));
        writer.serialize(&written).unwrap();
        writer.serialize(row("timeout", None, None)).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), REQUESTS_COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "r,small-000001,small,POST,/ping,new,100.250,100.500,1.500,200,60,,1,"
        );
        let read: Vec<RequestRow<'static>> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read[0], written);
        assert!(read[0].is_ok() && !read[1].is_ok());
        assert_eq!(read[0].span_ms(), Some((100.25, 101.75)));
        assert_eq!(read[1].span_ms(), None);
    }

    /// A requests.csv written without the `method` column still reads, with the method empty.
    #[test]
    fn requests_rows_without_a_method_column_still_read() {
        let text = "run_id,request_id,class,endpoint,connection,scheduled_ms,sent_ms,latency_ms,status,bytes_sent,server_elapsed_ms,worker,error\n\
                    r,small-000001,small,/ping,new,100.250,100.500,1.500,200,60,,1,\n";
        let read: Vec<RequestRow<'static>> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read[0].method, "");
        assert_eq!(read[0].endpoint, "/ping");
        assert!(read[0].is_ok());
    }

    /// A summary row is written under SUMMARY_COLUMNS and reads back equal, empty latency
    /// cells included.
    #[test]
    fn summary_rows_round_trip_under_the_declared_columns() {
        let row = |class: &'static str, stats: Stats| SummaryRow {
            run_id: "r".into(),
            class: class.into(),
            endpoint: "/ping".into(),
            connection: "new".into(),
            schedule: "open".into(),
            stats,
        };
        let written = [
            row(
                "small",
                Stats {
                    count: 250,
                    ok: 249,
                    errors: 1,
                    skipped: 2,
                    min_ms: Some(0.5),
                    median_ms: Some(1.0),
                    mean_ms: Some(1.25),
                    p90_ms: Some(3.0),
                    p95_ms: Some(4.25),
                    p99_ms: Some(9.0),
                    max_ms: Some(12.0),
                },
            ),
            row(
                "large",
                Stats {
                    count: 3,
                    errors: 3,
                    ..Stats::default()
                },
            ),
        ];
        let mut writer = csv::Writer::from_writer(Vec::new());
        for summary in &written {
            writer.serialize(summary.parts()).unwrap();
        }
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), SUMMARY_COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "r,small,/ping,new,open,250,249,1,2,0.5,1.0,1.25,3.0,4.25,9.0,12.0"
        );
        assert_eq!(
            lines.next().unwrap(),
            "r,large,/ping,new,open,3,0,3,0,,,,,,,"
        );
        let read: Vec<SummaryRow<'static>> = csv::Reader::from_reader(text.as_bytes())
            .deserialize()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(read, written);
    }
}

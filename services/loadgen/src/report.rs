//! The end of a run: [`RunReport`] and its two printed forms, a table and JSON.
//!
//! The JSON shape (`--json`) is the report serialized as is (docs/loadgen.md shows it too):
//!
//! ```json
//! {
//!   "run_id": "20261125-120000-ping-new-open",
//!   "dir": "results/20261125-120000-ping-new-open",
//!   "started_at": "2026-11-25T12:00:00.000Z",
//!   "elapsed_s": 10.02,
//!   "interrupted": false,
//!   "ended_by": "duration",
//!   "server": null,
//!   "config": {
//!     "target_url": "http://localhost:8000/", "endpoint": "/ping",
//!     "connection": "new", "pool": "per-class", "schedule": "open", "duration_s": 10.0,
//!     "max_in_flight": 64, "request_timeout_s": 30.0, "drain_timeout_s": 10.0,
//!     "large_on_s": 0.0, "large_off_s": 0.0, "check_answers": true,
//!     "classes": [{"name": "small", "size_mb": 0.001, "interval_s": 0.1, "body_bytes": 1021,
//!                  "request": "POST /ping", "body": "json"}]
//!   },
//!   "classes": [{
//!     "class": "small", "count": 100, "ok": 100, "errors": 0, "skipped": 0,
//!     "min_ms": 0.31, "median_ms": 0.52, "mean_ms": 0.55, "p90_ms": 0.71,
//!     "p95_ms": 0.8, "p99_ms": 1.2, "max_ms": 1.9,
//!     "errors_by_kind": {}
//!   }]
//! }
//! ```
//! Latency fields are `null` for a class with no successful request.

use std::{collections::BTreeMap, io, path::PathBuf};

use lab_core::{
    Class, ClientErrorKind,
    csv_rows::{REQUESTS_CSV, SUMMARY_CSV},
    http::Health,
};
use serde::{Deserialize, Serialize};

use crate::{
    options::{BodyKind, Connection, Pool, Schedule},
    stats::ClassSummary,
};

/// Exit code of `lab-loadgen` when requests were sent and none succeeded
/// ([`RunReport::all_failed`]). Distinct from 1 (the run could not be set up, or its files
/// written), 2 (clap's usage errors) and 101 (a Rust panic).
pub const EXIT_ALL_FAILED: u8 = 3;

/// What a run did and measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// Name of the run's directory.
    pub run_id: String,
    /// `RESULTS_DIR/<run_id>`: holds requests.csv and summary.csv.
    pub dir: PathBuf,
    /// Wall-clock time the first requests were due (UTC, RFC 3339).
    pub started_at: String,
    /// Seconds from the first due request to the end of the drain.
    pub elapsed_s: f64,
    /// True when Ctrl-C / SIGTERM (or the caller's shutdown future) ended the run early.
    pub interrupted: bool,
    /// What ended the run.
    #[serde(default)]
    pub ended_by: RunEnd,
    /// What the server's /healthz reported when the run started (settings and start id);
    /// absent when it was not read (SERVER_CHECK_INTERVAL=0) or the server has none.
    #[serde(default)]
    pub server: Option<Health>,
    /// The configuration the run used.
    pub config: RunConfig,
    /// One summary per class, in class order.
    pub classes: Vec<ClassSummary>,
}

/// What ended a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// DURATION was over (or the run's files could not be written).
    #[default]
    Duration,
    /// Ctrl-C / SIGTERM, or the caller's shutdown future.
    Interrupted,
    /// The server reported other settings or another start: the next run measures that.
    ServerChanged,
}

/// The configuration a run used, as reported with its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    /// TARGET_URL.
    pub target_url: String,
    /// ENDPOINT.
    pub endpoint: String,
    /// CONNECTION.
    pub connection: Connection,
    /// POOL (per-class or shared); `per-class` when a report read back has none.
    #[serde(default)]
    pub pool: Pool,
    /// SCHEDULE.
    pub schedule: Schedule,
    /// DURATION in seconds (0 = until stopped).
    pub duration_s: f64,
    /// MAX_IN_FLIGHT per class (open schedule).
    pub max_in_flight: u32,
    /// REQUEST_TIMEOUT in seconds.
    pub request_timeout_s: f64,
    /// DRAIN_TIMEOUT in seconds.
    pub drain_timeout_s: f64,
    /// LARGE_ON in seconds (0 = always on).
    pub large_on_s: f64,
    /// LARGE_OFF in seconds.
    pub large_off_s: f64,
    /// CHECK_ANSWERS: whether 2xx answers were checked against the bodies sent.
    #[serde(default = "checked_by_default")]
    pub check_answers: bool,
    /// The classes.
    pub classes: Vec<ClassConfig>,
}

/// One class's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassConfig {
    /// Which class (written as its name).
    pub name: Class,
    /// Nominal body size in MB.
    pub size_mb: f64,
    /// Interval in seconds.
    pub interval_s: f64,
    /// Actual body size in bytes.
    pub body_bytes: usize,
    /// `METHOD /path` the class requested; empty when a report read back has none.
    #[serde(default)]
    pub request: String,
    /// What the body was.
    #[serde(default)]
    pub body: BodyKind,
    /// The file the body was read from (SMALL_BODY_FILE, LARGE_BODY_FILE), if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_file: Option<String>,
    /// The `Content-Type` given for it (SMALL_CONTENT_TYPE, LARGE_CONTENT_TYPE), if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
}

impl ClassConfig {
    /// What its body was, in words: `json body`, `raw body`, `body from order.json`, with
    /// the content type when one was given: `raw body, text/csv`.
    pub fn body_text(&self) -> String {
        let body = match &self.body_file {
            Some(path) => format!("body from {path}"),
            None => format!("{} body", self.body.as_str()),
        };
        match &self.content_type {
            Some(content_type) => format!("{body}, {content_type}"),
            None => body,
        }
    }
}

/// A report read back without `check_answers` does not say its answers were checked: read it
/// as unchecked.
fn checked_by_default() -> bool {
    false
}

impl RunReport {
    /// Requests sent, every class together (successes and errors; skipped ticks were never
    /// sent).
    pub fn sent(&self) -> u64 {
        self.classes.iter().map(|class| class.stats.count).sum()
    }

    /// Whether the run failed as a whole: at least one request was sent and not one
    /// succeeded (a 2xx, with a right answer when it was checked), e.g. no server at
    /// TARGET_URL. The binary then exits [`EXIT_ALL_FAILED`], after writing its CSVs and
    /// printing the report as usual.
    /// Some errors next to one success are data, not a failed run; a run that sent nothing
    /// (stopped before the first request was due) has not failed either.
    pub fn all_failed(&self) -> bool {
        self.sent() > 0 && self.classes.iter().all(|class| class.stats.ok == 0)
    }

    /// The stderr line for a run that [failed as a whole](RunReport::all_failed).
    pub fn failure_line(&self) -> String {
        let mut kinds: BTreeMap<ClientErrorKind, u64> = BTreeMap::new();
        for class in &self.classes {
            for (kind, count) in &class.errors_by_kind {
                *kinds.entry(*kind).or_default() += count;
            }
        }
        let kinds: Vec<String> = kinds
            .iter()
            .map(|(kind, count)| format!("{kind}={count}"))
            .collect();
        format!(
            "lab-loadgen: all {} requests sent to {} failed ({}); exit code {EXIT_ALL_FAILED}",
            self.sent(),
            self.config.target_url,
            kinds.join(", ")
        )
    }

    /// The summary of `class`, if the run had it.
    pub fn class(&self, class: &Class) -> Option<&ClassSummary> {
        self.classes.iter().find(|summary| summary.class == *class)
    }

    /// Prints the report as pretty JSON (the `--json` output).
    pub fn write_json(&self, mut out: impl io::Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut out, self)?;
        writeln!(out)
    }

    /// Prints the configuration line, the per-class table, errors by kind, and where the
    /// files are.
    pub fn write_table(&self, mut out: impl io::Write) -> io::Result<()> {
        let config = &self.config;
        let duration = if config.duration_s == 0.0 {
            "until stopped".to_string()
        } else {
            format!("{}s", config.duration_s)
        };
        writeln!(
            out,
            "run {}: POST {} connection={}{} schedule={} duration={} max_in_flight={} request_timeout={}s{}",
            self.run_id,
            join_url(&config.target_url, &config.endpoint),
            config.connection.as_str(),
            // The pool only matters when connections are reused.
            if config.connection == Connection::Keepalive {
                format!(" pool={}", config.pool.as_str())
            } else {
                String::new()
            },
            config.schedule.as_str(),
            duration,
            config.max_in_flight,
            config.request_timeout_s,
            if config.large_on_s > 0.0 && config.large_off_s > 0.0 {
                format!(
                    " large_on={}s large_off={}s",
                    config.large_on_s, config.large_off_s
                )
            } else {
                String::new()
            },
        )?;
        if let Some(server) = &self.server {
            writeln!(
                out,
                "server: workers={} keep_alive={}s (its /healthz at the start)",
                server.workers, server.keep_alive_seconds
            )?;
        }
        if self.ended_by == RunEnd::ServerChanged {
            writeln!(
                out,
                "ended early: the server's settings or instance changed; the next run measures them"
            )?;
        }
        // Classes with their own request line or a raw body, said once (the line above names
        // only ENDPOINT).
        let default_request = format!("POST {}", config.endpoint);
        let own: Vec<String> = config
            .classes
            .iter()
            .filter(|c| {
                (!c.request.is_empty() && c.request != default_request)
                    || c.body != BodyKind::Json
                    || c.body_file.is_some()
                    || c.content_type.is_some()
            })
            .map(|c| format!("{} {} ({})", c.name, c.request, c.body_text()))
            .collect();
        if !own.is_empty() {
            writeln!(out, "requests: {}", own.join(", "))?;
        }
        if !config.check_answers {
            writeln!(
                out,
                "answers not checked (CHECK_ANSWERS=false): any 2xx is ok"
            )?;
        }
        writeln!(
            out,
            "elapsed {:.1}s{}; latency in ms from each request's {} to its last response byte",
            self.elapsed_s,
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            },
            match config.schedule {
                Schedule::Open => "scheduled start",
                Schedule::Closed => "send",
            },
        )?;
        let header = [
            "class", "size_mb", "every_s", "count", "errors", "skipped", "min", "median", "mean",
            "p90", "p95", "p99", "max",
        ];
        let mut rows = vec![header.map(String::from).to_vec()];
        for summary in &self.classes {
            let class = config
                .classes
                .iter()
                .find(|class| class.name == summary.class);
            let ms = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.2}"));
            let stats = &summary.stats;
            rows.push(vec![
                summary.class.to_string(),
                class.map_or("-".into(), |c| format!("{}", c.size_mb)),
                class.map_or("-".into(), |c| format!("{}", c.interval_s)),
                stats.count.to_string(),
                stats.errors.to_string(),
                stats.skipped.to_string(),
                ms(stats.min_ms),
                ms(stats.median_ms),
                ms(stats.mean_ms),
                ms(stats.p90_ms),
                ms(stats.p95_ms),
                ms(stats.p99_ms),
                ms(stats.max_ms),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
            .collect();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, width))| {
                    if column == 0 {
                        format!("{cell:<width$}")
                    } else {
                        format!("{cell:>width$}")
                    }
                })
                .collect();
            writeln!(out, "{}", cells.join("  "))?;
        }
        for summary in self.classes.iter().filter(|s| !s.errors_by_kind.is_empty()) {
            let kinds: Vec<String> = summary
                .errors_by_kind
                .iter()
                .map(|(kind, count)| format!("{kind}={count}"))
                .collect();
            writeln!(out, "{} errors: {}", summary.class, kinds.join(" "))?;
        }
        writeln!(out, "{}", self.files_line())
    }

    /// `results: <dir>/requests.csv, <dir>/summary.csv`.
    pub fn files_line(&self) -> String {
        format!(
            "results: {}, {}",
            self.dir.join(REQUESTS_CSV).display(),
            self.dir.join(SUMMARY_CSV).display()
        )
    }
}

fn join_url(target: &str, endpoint: &str) -> String {
    format!("{}{}", target.trim_end_matches('/'), endpoint)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use lab_core::Stats;

    use super::*;

    fn report() -> RunReport {
        RunReport {
            run_id: "r1".into(),
            dir: PathBuf::from("results/r1"),
            started_at: "2026-11-25T12:00:00.000Z".into(),
            elapsed_s: 2.0,
            interrupted: false,
            ended_by: RunEnd::Duration,
            server: None,
            config: RunConfig {
                target_url: "http://127.0.0.1:8000/".into(),
                endpoint: "/ping".into(),
                connection: Connection::New,
                pool: Pool::PerClass,
                schedule: Schedule::Open,
                duration_s: 2.0,
                max_in_flight: 64,
                request_timeout_s: 30.0,
                drain_timeout_s: 10.0,
                large_on_s: 0.0,
                large_off_s: 0.0,
                check_answers: true,
                classes: vec![ClassConfig {
                    name: Class::Small,
                    size_mb: 0.001,
                    interval_s: 0.1,
                    body_bytes: 1066,
                    request: "POST /ping".into(),
                    body: BodyKind::Json,
                    body_file: None,
                    content_type: None,
                }],
            },
            classes: vec![ClassSummary {
                class: Class::Small,
                stats: Stats {
                    count: 20,
                    ok: 19,
                    errors: 1,
                    skipped: 0,
                    min_ms: Some(0.5),
                    median_ms: Some(0.75),
                    mean_ms: Some(0.8),
                    p90_ms: Some(1.0),
                    p95_ms: Some(1.5),
                    p99_ms: Some(2.0),
                    max_ms: Some(2.0),
                },
                errors_by_kind: BTreeMap::from([(ClientErrorKind::Http5xx, 1)]),
            }],
        }
    }

    /// A run fails as a whole only when requests were sent and none succeeded; one success
    /// among errors, or nothing sent at all, is not a failed run.
    #[test]
    fn all_failed_means_sent_and_not_one_success() {
        let mut report = report();
        assert!(!report.all_failed(), "19 of 20 succeeded");
        report.classes[0].stats.ok = 0;
        report.classes[0].stats.errors = 20;
        report.classes[0].errors_by_kind = BTreeMap::from([(ClientErrorKind::ConnectRefused, 20)]);
        assert!(report.all_failed());
        assert_eq!(
            report.failure_line(),
            "lab-loadgen: all 20 requests sent to http://127.0.0.1:8000/ failed \
             (connect_refused=20); exit code 3"
        );
        report.classes[0].stats.count = 0;
        report.classes[0].stats.errors = 0;
        report.classes[0].stats.skipped = 3;
        assert!(!report.all_failed(), "nothing was sent");
    }

    #[test]
    fn table_has_the_study_columns_and_the_configuration() {
        let mut out = Vec::new();
        report().write_table(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with(
                "run r1: POST http://127.0.0.1:8000/ping connection=new schedule=open"
            )
        );
        let header = text.lines().nth(2).unwrap();
        let columns: Vec<&str> = header.split_whitespace().collect();
        assert_eq!(
            columns,
            [
                "class", "size_mb", "every_s", "count", "errors", "skipped", "min", "median",
                "mean", "p90", "p95", "p99", "max"
            ]
        );
        let row: Vec<&str> = text.lines().nth(3).unwrap().split_whitespace().collect();
        assert_eq!(row[..6], ["small", "0.001", "0.1", "20", "1", "0"]);
        assert_eq!(row[7], "0.75");
        assert!(text.contains("small errors: http_5xx=1"));
        assert!(
            text.trim_end()
                .ends_with("results: results/r1/requests.csv, results/r1/summary.csv")
        );
    }

    #[test]
    fn json_round_trips_and_has_the_documented_shape() {
        let mut out = Vec::new();
        report().write_json(&mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["config"]["connection"], "new");
        assert_eq!(value["config"]["schedule"], "open");
        assert_eq!(value["classes"][0]["p95_ms"], 1.5);
        assert_eq!(value["classes"][0]["errors_by_kind"]["http_5xx"], 1);
        // Flat: the statistics sit beside `class`, not in an object of their own.
        let keys: Vec<&str> = value["classes"][0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = vec!["class", "errors_by_kind"];
        expected.extend(lab_core::stats::STATS_COLUMNS);
        expected.sort_unstable();
        assert_eq!(keys, expected);
        let back: RunReport = serde_json::from_value(value).unwrap();
        assert_eq!(back, report());
        // A class with no success has null latencies, and reads back as such.
        let mut failed = report();
        failed.classes[0].stats = Stats {
            count: 3,
            errors: 3,
            ..Stats::default()
        };
        let mut out = Vec::new();
        failed.write_json(&mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert!(value["classes"][0]["p95_ms"].is_null());
        let back: RunReport = serde_json::from_value(value).unwrap();
        assert_eq!(back, failed);
    }
}

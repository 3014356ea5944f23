//! The run's directory and its CSV files.
//!
//! - `requests.csv`: one row per scheduled request, written as the run goes (the collector
//!   flushes it at least every second), so a killed run keeps what it measured.
//! - `summary.csv`: one row per class, written at the end.

use std::{
    fs::{self, File},
    io::{self, BufWriter},
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context;
use serde::{Serialize, Serializer};

use crate::{
    record::{Outcome, Record},
    stats::ClassSummary,
};

/// File name of the per-request CSV.
pub const REQUESTS_CSV: &str = "requests.csv";
/// File name of the per-class CSV.
pub const SUMMARY_CSV: &str = "summary.csv";

/// Columns of requests.csv, in order.
pub const REQUESTS_COLUMNS: [&str; 13] = [
    "run_id",
    "request_id",
    "class",
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

/// Creates `results_dir/<run id>` and returns the id and the path. With no explicit id, a
/// timestamped one gets `-2`, `-3`… appended if a run of the same second already exists; an
/// explicit id that already has a directory is an error (never overwrite results).
pub fn create_run_dir(
    results_dir: &Path,
    explicit_id: Option<&str>,
    default_id: &str,
) -> anyhow::Result<(String, PathBuf)> {
    fs::create_dir_all(results_dir)
        .with_context(|| format!("cannot create RESULTS_DIR {}", results_dir.display()))?;
    if let Some(id) = explicit_id {
        let dir = results_dir.join(id);
        fs::create_dir(&dir).with_context(|| {
            format!(
                "cannot create {} (does RUN_ID {id} exist already?)",
                dir.display()
            )
        })?;
        return Ok((id.to_string(), dir));
    }
    for attempt in 1..=1000 {
        let id = if attempt == 1 {
            default_id.to_string()
        } else {
            format!("{default_id}-{attempt}")
        };
        let dir = results_dir.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create {}", dir.display()));
            }
        }
    }
    anyhow::bail!(
        "too many runs named {default_id} in {}",
        results_dir.display()
    )
}

/// Writes requests.csv row by row.
pub struct RequestsCsv {
    writer: csv::Writer<BufWriter<File>>,
    run_id: String,
    endpoint: String,
    connection: &'static str,
    classes: Vec<String>,
}

/// One row of requests.csv. Times are ms since the run start with µs precision.
#[derive(Debug, Serialize)]
struct RequestRow<'a> {
    run_id: &'a str,
    request_id: String,
    class: &'a str,
    endpoint: &'a str,
    connection: &'a str,
    #[serde(serialize_with = "ms_with_micros")]
    scheduled_ms: Option<Duration>,
    #[serde(serialize_with = "ms_with_micros")]
    sent_ms: Option<Duration>,
    #[serde(serialize_with = "ms_with_micros")]
    latency_ms: Option<Duration>,
    status: Option<u16>,
    bytes_sent: u64,
    server_elapsed_ms: Option<u64>,
    worker: Option<usize>,
    error: &'a str,
}

fn ms_with_micros<S: Serializer>(
    value: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(duration) => {
            serializer.serialize_str(&format!("{:.3}", duration.as_micros() as f64 / 1000.0))
        }
        None => serializer.serialize_none(),
    }
}

impl RequestsCsv {
    /// Creates `dir/requests.csv` and writes its header.
    pub fn create(
        dir: &Path,
        run_id: &str,
        endpoint: &str,
        connection: &'static str,
        classes: Vec<String>,
    ) -> anyhow::Result<Self> {
        let path = dir.join(REQUESTS_CSV);
        let file =
            File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::new(file));
        writer.write_record(REQUESTS_COLUMNS)?;
        writer.flush()?;
        Ok(RequestsCsv {
            writer,
            run_id: run_id.to_string(),
            endpoint: endpoint.to_string(),
            connection,
            classes,
        })
    }

    /// Appends one record (buffered; see [`RequestsCsv::flush`]).
    pub fn write(&mut self, record: &Record) -> csv::Result<()> {
        let class = &self.classes[record.class];
        let error = match &record.outcome {
            Outcome::Ok => "",
            other => other.label(),
        };
        self.writer.serialize(RequestRow {
            run_id: &self.run_id,
            request_id: format!("{class}-{:06}", record.sequence),
            class,
            endpoint: &self.endpoint,
            connection: self.connection,
            scheduled_ms: Some(record.scheduled),
            sent_ms: record.sent,
            latency_ms: record.latency(),
            status: record.status,
            bytes_sent: record.bytes_sent,
            server_elapsed_ms: record.server_elapsed_ms,
            worker: record.worker,
            error,
        })
    }

    /// Pushes buffered rows to the file.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// One row of summary.csv.
#[derive(Debug, Serialize)]
struct SummaryRow<'a> {
    run_id: &'a str,
    class: &'a str,
    endpoint: &'a str,
    connection: &'a str,
    schedule: &'a str,
    count: u64,
    ok: u64,
    errors: u64,
    skipped: u64,
    min_ms: Option<f64>,
    median_ms: Option<f64>,
    mean_ms: Option<f64>,
    p90_ms: Option<f64>,
    p95_ms: Option<f64>,
    p99_ms: Option<f64>,
    max_ms: Option<f64>,
}

/// Writes `dir/summary.csv`, one row per class.
pub fn write_summary_csv(
    dir: &Path,
    run_id: &str,
    endpoint: &str,
    connection: &str,
    schedule: &str,
    classes: &[ClassSummary],
) -> anyhow::Result<PathBuf> {
    let path = dir.join(SUMMARY_CSV);
    let mut writer = csv::Writer::from_path(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    for summary in classes {
        writer.serialize(SummaryRow {
            run_id,
            class: &summary.class,
            endpoint,
            connection,
            schedule,
            count: summary.count,
            ok: summary.ok,
            errors: summary.errors,
            skipped: summary.skipped,
            min_ms: summary.min_ms,
            median_ms: summary.median_ms,
            mean_ms: summary.mean_ms,
            p90_ms: summary.p90_ms,
            p95_ms: summary.p95_ms,
            p99_ms: summary.p99_ms,
            max_ms: summary.max_ms,
        })?;
    }
    writer.flush()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RequestError;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lab-loadgen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn run_dirs_never_overwrite() {
        let root = temp_dir("dirs");
        let (first, _) = create_run_dir(&root, None, "run").unwrap();
        let (second, _) = create_run_dir(&root, None, "run").unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("run", "run-2"));
        assert!(create_run_dir(&root, Some("run"), "x").is_err());
        assert!(create_run_dir(&root, Some("named"), "x").is_ok());
        fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn requests_csv_has_the_contract_columns_and_one_row_per_record() {
        let dir = temp_dir("rows");
        fs::create_dir_all(&dir).unwrap();
        let mut csv =
            RequestsCsv::create(&dir, "r1", "/ping", "new", vec!["small".into()]).unwrap();
        csv.write(&Record {
            sent: Some(Duration::from_micros(100_250)),
            end: Some(Duration::from_micros(101_500)),
            status: Some(200),
            bytes_sent: 1000,
            server_elapsed_ms: Some(0),
            worker: Some(0),
            outcome: Outcome::Ok,
            ..Record::skipped(0, 1, Duration::from_millis(100))
        })
        .unwrap();
        csv.write(&Record {
            sent: Some(Duration::from_millis(200)),
            end: Some(Duration::from_millis(201)),
            outcome: Outcome::Failed(RequestError::ConnectRefused),
            ..Record::skipped(0, 2, Duration::from_millis(200))
        })
        .unwrap();
        csv.write(&Record::skipped(0, 3, Duration::from_millis(300)))
            .unwrap();
        csv.flush().unwrap();
        let text = fs::read_to_string(dir.join(REQUESTS_CSV)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], REQUESTS_COLUMNS.join(","));
        assert_eq!(
            lines[1],
            "r1,small-000001,small,/ping,new,100.000,100.250,1.500,200,1000,0,0,"
        );
        assert_eq!(
            lines[2],
            "r1,small-000002,small,/ping,new,200.000,200.000,1.000,,0,,,connect_refused"
        );
        assert_eq!(
            lines[3],
            "r1,small-000003,small,/ping,new,300.000,,,,0,,,skipped"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}

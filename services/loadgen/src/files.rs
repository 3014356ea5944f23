//! The run's directory and its CSV files.
//!
//! - `requests.csv`: one row per scheduled request, written as the run goes (the collector
//!   flushes it at least every second), so a killed run keeps what it measured.
//! - `summary.csv`: one row per class, written at the end.
//!
//! The rows are lab-core's ([`lab_core::csv_rows`]): the matrix reads them back with the same
//! types.

use std::{
    borrow::Cow,
    fs::{self, File},
    io::{self, BufWriter},
    path::{Path, PathBuf},
    sync::Arc,
};

use lab_core::{
    ClientErrorKind,
    csv_rows::{Millis, REQUESTS_COLUMNS, REQUESTS_CSV, RequestRow, SUMMARY_CSV, SummaryRow},
};

use crate::{record::Record, stats::ClassSummary, workload::ClassPlan};

/// Why a run's directory or files could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A directory or file could not be created.
    #[error("cannot create {}: {error}{}", path.display(), permission_hint(error))]
    Create {
        /// What could not be created.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// An explicit RUN_ID names a directory that exists already (results are never
    /// overwritten) or cannot be made.
    #[error("cannot create {} (does RUN_ID {id} exist already?): {error}", path.display())]
    RunIdTaken {
        /// The run directory.
        path: PathBuf,
        /// RUN_ID.
        id: String,
        /// Why.
        error: io::Error,
    },
    /// A thousand runs of the same second: something is looping.
    #[error("too many runs named {id} in {}", dir.display())]
    TooManyRuns {
        /// The default run id.
        id: String,
        /// RESULTS_DIR.
        dir: PathBuf,
    },
    /// A row could not be written.
    #[error("cannot write {file}: {error}")]
    Write {
        /// `requests.csv` or `summary.csv`.
        file: &'static str,
        /// Why.
        error: csv::Error,
    },
    /// Buffered rows could not be pushed to the file.
    #[error("cannot write {file}: {error}")]
    Flush {
        /// `requests.csv` or `summary.csv`.
        file: &'static str,
        /// Why.
        error: io::Error,
    },
}

/// What to do when the results directory is not ours to write: said with the error, because
/// in Docker the usual cause is a bind mount owned by another uid than the container's.
fn permission_hint(error: &io::Error) -> String {
    if error.kind() != io::ErrorKind::PermissionDenied {
        return String::new();
    }
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    format!(
        " (this process runs as uid {uid}, gid {gid}: make RESULTS_DIR writable for it; in \
         Docker Compose, ./results must belong to LAB_UID/LAB_GID: `just up` passes your own, \
         or set them in .env, or `sudo chown {uid}:{gid} results`)"
    )
}

fn create_error(path: &Path) -> impl FnOnce(io::Error) -> FilesError + '_ {
    move |error| FilesError::Create {
        path: path.to_path_buf(),
        error,
    }
}

/// Creates `results_dir/<run id>` and returns the id and the path. With no explicit id, a
/// timestamped one gets `-2`, `-3`… appended if a run of the same second already exists; an
/// explicit id that already has a directory is an error (never overwrite results).
pub fn create_run_dir(
    results_dir: &Path,
    explicit_id: Option<&str>,
    default_id: &str,
) -> Result<(String, PathBuf), FilesError> {
    fs::create_dir_all(results_dir).map_err(create_error(results_dir))?;
    if let Some(id) = explicit_id {
        let dir = results_dir.join(id);
        fs::create_dir(&dir).map_err(|error| FilesError::RunIdTaken {
            path: dir.clone(),
            id: id.to_string(),
            error,
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
            Err(error) => return Err(create_error(&dir)(error)),
        }
    }
    Err(FilesError::TooManyRuns {
        id: default_id.to_string(),
        dir: results_dir.to_path_buf(),
    })
}

/// Writes requests.csv row by row.
pub struct RequestsCsv {
    writer: csv::Writer<BufWriter<File>>,
    run_id: String,
    connection: &'static str,
    /// The run's classes, in its order ([`Record::class`] indexes them): each row names its
    /// class and the method and path it requested.
    classes: Vec<Arc<ClassPlan>>,
}

impl RequestsCsv {
    /// Creates `dir/requests.csv` and writes its header.
    pub fn create(
        dir: &Path,
        run_id: &str,
        connection: &'static str,
        classes: &[Arc<ClassPlan>],
    ) -> Result<Self, FilesError> {
        let path = dir.join(REQUESTS_CSV);
        let file = File::create(&path).map_err(create_error(&path))?;
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(BufWriter::new(file));
        // The header now, so even a run with no request leaves a readable file.
        writer
            .write_record(REQUESTS_COLUMNS)
            .map_err(|error| FilesError::Write {
                file: REQUESTS_CSV,
                error,
            })?;
        writer.flush().map_err(|error| FilesError::Flush {
            file: REQUESTS_CSV,
            error,
        })?;
        Ok(RequestsCsv {
            writer,
            run_id: run_id.to_string(),
            connection,
            classes: classes.to_vec(),
        })
    }

    /// Appends one record (buffered; see [`RequestsCsv::flush`]).
    pub fn write(&mut self, record: &Record) -> Result<(), FilesError> {
        let plan = &self.classes[record.class];
        let class = plan.class.name();
        let error = record
            .outcome
            .error_kind()
            .map_or("", ClientErrorKind::name);
        self.writer
            .serialize(RequestRow {
                run_id: Cow::Borrowed(&self.run_id),
                request_id: Cow::Owned(format!("{class}-{:06}", record.sequence)),
                class: Cow::Borrowed(class),
                method: Cow::Borrowed(plan.request.method.as_str()),
                endpoint: Cow::Borrowed(&plan.request.path),
                connection: Cow::Borrowed(self.connection),
                scheduled_ms: Millis::from(record.scheduled),
                sent_ms: record.sent.map(Millis::from),
                latency_ms: record.latency().map(Millis::from),
                status: record.status,
                bytes_sent: record.bytes_sent,
                server_elapsed_ms: record.server_elapsed_ms,
                worker: record.worker,
                error: Cow::Borrowed(error),
            })
            .map_err(|error| FilesError::Write {
                file: REQUESTS_CSV,
                error,
            })
    }

    /// Pushes buffered rows to the file.
    pub fn flush(&mut self) -> Result<(), FilesError> {
        self.writer.flush().map_err(|error| FilesError::Flush {
            file: REQUESTS_CSV,
            error,
        })
    }
}

/// Writes `dir/summary.csv`, one row per class; `endpoints` are the paths the classes
/// requested, in the same order.
pub fn write_summary_csv(
    dir: &Path,
    run_id: &str,
    endpoints: &[&str],
    connection: &str,
    schedule: &str,
    classes: &[ClassSummary],
) -> Result<PathBuf, FilesError> {
    let path = dir.join(SUMMARY_CSV);
    let mut writer = csv::Writer::from_path(&path).map_err(|error| FilesError::Write {
        file: SUMMARY_CSV,
        error,
    })?;
    let written = |error| FilesError::Write {
        file: SUMMARY_CSV,
        error,
    };
    for (summary, endpoint) in classes.iter().zip(endpoints) {
        let row = SummaryRow {
            run_id: Cow::Borrowed(run_id),
            class: Cow::Borrowed(summary.class.name()),
            endpoint: Cow::Borrowed(endpoint),
            connection: Cow::Borrowed(connection),
            schedule: Cow::Borrowed(schedule),
            stats: summary.stats.clone(),
        };
        writer.serialize(row.parts()).map_err(written)?;
    }
    writer.flush().map_err(|error| FilesError::Flush {
        file: SUMMARY_CSV,
        error,
    })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{
        options::{BodyKind, ClassSpec},
        record::{Outcome, RequestError},
    };

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lab-loadgen-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// A results directory that is not writable says who this process is and what to do.
    #[test]
    fn a_permission_error_says_what_to_do() {
        let denied = FilesError::Create {
            path: PathBuf::from("/results/run"),
            error: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        let text = denied.to_string();
        assert!(
            text.contains("runs as uid") && text.contains("LAB_UID"),
            "{text}"
        );
        let other = FilesError::Create {
            path: PathBuf::from("/results/run"),
            error: io::Error::from(io::ErrorKind::StorageFull),
        };
        assert!(!other.to_string().contains("LAB_UID"));
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
        let small = ClassSpec {
            class: lab_core::Class::Small,
            size_mb: 0.001,
            interval: Duration::from_millis(100),
            request: None,
            body: BodyKind::Json,
            file: None,
            content_type: None,
        };
        let classes = [Arc::new(ClassPlan::build(&small, 1, "/ping", false))];
        let mut csv = RequestsCsv::create(&dir, "r1", "new", &classes).unwrap();
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
            "r1,small-000001,small,POST,/ping,new,100.000,100.250,1.500,200,1000,0,0,"
        );
        assert_eq!(
            lines[2],
            "r1,small-000002,small,POST,/ping,new,200.000,200.000,1.000,,0,,,connect_refused"
        );
        assert_eq!(
            lines[3],
            "r1,small-000003,small,POST,/ping,new,300.000,,,,0,,,skipped"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}

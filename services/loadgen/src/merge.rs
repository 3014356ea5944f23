//! Several load generators' runs joined into one run: what `lab-loadgen-merge` does with the
//! run directories of `docker compose up --scale loadgen=3` (or of load generators on
//! several machines).
//!
//! - `requests.csv`: every row of every run, unchanged; each row's `run_id` says which
//!   load generator sent it (`…-replica-<name>`). Each run's `scheduled_ms` counts from its
//!   own start: the runs' clocks are not aligned.
//! - `summary.csv`: one row per class over all the requests together. Each run's requests
//!   go into an HdrHistogram as the load generator recorded them, and the histograms are
//!   added bucket by bucket ([`ClassStats::merge`]): the merged p95 is the p95 of every
//!   request, exactly, never an average of the runs' p95s (which is not a percentile of
//!   anything).
//!
//! The runs must have measured the same thing: the same classes, with the same paths,
//! connection mode and schedule; otherwise the merge is refused.

use std::{
    fs,
    path::{Path, PathBuf},
};

use lab_core::{
    Class,
    csv_rows::{REQUESTS_COLUMNS, REQUESTS_CSV, RequestRow, SUMMARY_CSV, SummaryRow},
};

use crate::{
    files::write_summary_csv,
    stats::{ClassStats, ClassSummary, UnknownErrorKind},
};

/// Why runs could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("give at least one run directory to merge")]
    NoRuns,
    /// A run's file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        error: csv::Error,
    },
    /// A run's requests.csv has a row no lab-loadgen wrote.
    #[error("cannot merge {}: {error}", path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// What is wrong with the row.
        error: UnknownErrorKind,
    },
    /// The runs measured different things.
    #[error("{} cannot be merged with {}: {why}", other.display(), first.display())]
    Different {
        /// The first run directory.
        first: PathBuf,
        /// The one that differs.
        other: PathBuf,
        /// How.
        why: String,
    },
    /// The output could not be written.
    #[error("cannot write {}: {error}", path.display())]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The merged summary could not be written.
    #[error(transparent)]
    Files(#[from] crate::files::FilesError),
}

/// One class as a run describes it in its summary.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ClassShape {
    class: Class,
    endpoint: String,
    connection: String,
    schedule: String,
}

/// One run read back: what it measured and its statistics per class.
#[derive(Debug, Clone)]
pub struct SourceRun {
    /// Its directory.
    pub dir: PathBuf,
    /// Its run id (the directory's name as the load generator wrote it in its rows).
    pub run_id: String,
    /// Per class, in the run's class order, rebuilt from its requests.csv.
    pub classes: Vec<ClassSummary>,
}

/// What [`merge_runs`] wrote.
#[derive(Debug, Clone)]
pub struct MergedRun {
    /// The merged run's directory (holds requests.csv and summary.csv).
    pub dir: PathBuf,
    /// Its id: the directory's name.
    pub run_id: String,
    /// The runs it joins, in the order given.
    pub sources: Vec<SourceRun>,
    /// Per class over every request of every run.
    pub classes: Vec<ClassSummary>,
}

/// Merges the runs in `sources` into a new directory `out` (which must not exist: results
/// are never overwritten).
pub fn merge_runs(sources: &[PathBuf], out: &Path) -> Result<MergedRun, MergeError> {
    let first_dir = sources.first().ok_or(MergeError::NoRuns)?;
    let first_shape = read_shape(first_dir)?;
    let mut merged: Vec<ClassStats> = first_shape
        .iter()
        .map(|shape| ClassStats::new(shape.class.clone()))
        .collect();
    let mut rows: Vec<RequestRow<'static>> = Vec::new();
    let mut runs = Vec::new();
    for dir in sources {
        let shape = read_shape(dir)?;
        if shape != first_shape {
            return Err(MergeError::Different {
                first: first_dir.clone(),
                other: dir.clone(),
                why: format!(
                    "its classes are {}, not {}",
                    describe(&shape),
                    describe(&first_shape)
                ),
            });
        }
        let run_rows = read_rows(dir)?;
        let mut stats: Vec<ClassStats> = shape
            .iter()
            .map(|class| ClassStats::new(class.class.clone()))
            .collect();
        for row in &run_rows {
            if let Some(index) = shape
                .iter()
                .position(|class| class.class.name() == row.class)
            {
                stats[index].add_row(row).map_err(|error| MergeError::Row {
                    path: dir.join(REQUESTS_CSV),
                    error,
                })?;
            }
        }
        for (total, run) in merged.iter_mut().zip(&stats) {
            total.merge(run);
        }
        let run_id = run_rows
            .first()
            .map(|row| row.run_id.to_string())
            .unwrap_or_else(|| dir_name(dir));
        runs.push(SourceRun {
            dir: dir.clone(),
            run_id,
            classes: stats.iter().map(ClassStats::summary).collect(),
        });
        rows.extend(run_rows);
    }

    fs::create_dir_all(out.parent().unwrap_or(Path::new("."))).map_err(|error| {
        MergeError::Write {
            path: out.to_path_buf(),
            error,
        }
    })?;
    fs::create_dir(out).map_err(|error| MergeError::Write {
        path: out.to_path_buf(),
        error,
    })?;
    let run_id = dir_name(out);
    write_rows(&out.join(REQUESTS_CSV), &rows)?;
    let classes: Vec<ClassSummary> = merged.iter().map(ClassStats::summary).collect();
    let endpoints: Vec<&str> = first_shape.iter().map(|c| c.endpoint.as_str()).collect();
    let (connection, schedule) = first_shape
        .first()
        .map(|c| (c.connection.as_str(), c.schedule.as_str()))
        .unwrap_or(("", ""));
    write_summary_csv(out, &run_id, &endpoints, connection, schedule, &classes)?;
    Ok(MergedRun {
        dir: out.to_path_buf(),
        run_id,
        sources: runs,
        classes,
    })
}

fn dir_name(dir: &Path) -> String {
    dir.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn describe(shape: &[ClassShape]) -> String {
    shape
        .iter()
        .map(|c| {
            format!(
                "{} ({} {} {})",
                c.class, c.endpoint, c.connection, c.schedule
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_shape(dir: &Path) -> Result<Vec<ClassShape>, MergeError> {
    let path = dir.join(SUMMARY_CSV);
    let read = |error| MergeError::Read {
        path: path.clone(),
        error,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(read)?;
    reader
        .deserialize::<SummaryRow<'static>>()
        .map(|row| {
            let row = row.map_err(read)?;
            Ok(ClassShape {
                class: Class::named(&row.class),
                endpoint: row.endpoint.into_owned(),
                connection: row.connection.into_owned(),
                schedule: row.schedule.into_owned(),
            })
        })
        .collect()
}

fn read_rows(dir: &Path) -> Result<Vec<RequestRow<'static>>, MergeError> {
    let path = dir.join(REQUESTS_CSV);
    let read = |error| MergeError::Read {
        path: path.clone(),
        error,
    };
    let mut reader = csv::Reader::from_path(&path).map_err(read)?;
    reader
        .deserialize::<RequestRow<'static>>()
        .map(|row| row.map_err(read))
        .collect()
}

fn write_rows(path: &Path, rows: &[RequestRow<'_>]) -> Result<(), MergeError> {
    let written = |error: csv::Error| MergeError::Write {
        path: path.to_path_buf(),
        error: error.into(),
    };
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(path)
        .map_err(written)?;
    writer.write_record(REQUESTS_COLUMNS).map_err(written)?;
    for row in rows {
        writer.serialize(row).map_err(written)?;
    }
    writer.flush().map_err(|error| MergeError::Write {
        path: path.to_path_buf(),
        error,
    })
}

/// Each run's numbers per class, then the merged ones: what `lab-loadgen-merge` prints.
pub fn table(merged: &MergedRun) -> String {
    let ms = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.1}"));
    let mut out = format!(
        "{:<56} {:<8} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10}\n",
        "run", "class", "count", "ok", "errors", "p50 ms", "p95 ms", "p99 ms"
    );
    let sources = merged
        .sources
        .iter()
        .map(|run| (run.run_id.as_str(), &run.classes));
    for (run_id, classes) in
        sources.chain(std::iter::once((merged.run_id.as_str(), &merged.classes)))
    {
        for class in classes {
            out.push_str(&format!(
                "{:<56} {:<8} {:>7} {:>6} {:>6} {:>10} {:>10} {:>10}\n",
                run_id,
                class.class.name(),
                class.stats.count,
                class.stats.ok,
                class.stats.errors,
                ms(class.stats.median_ms),
                ms(class.stats.p95_ms),
                ms(class.stats.p99_ms)
            ));
        }
    }
    out.push_str(&format!(
        "merged: {}, {}\n",
        merged.dir.join(REQUESTS_CSV).display(),
        merged.dir.join(SUMMARY_CSV).display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose requests.csv names an error kind lab-loadgen never writes is refused, with
    /// the file, the request and the kind: its numbers cannot be counted as the others are.
    #[test]
    fn a_row_with_an_unknown_error_kind_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run");
        fs::create_dir(&run).unwrap();
        let summary = format!(
            "{}\nrun,small,/ping,new,open,1,0,1,0,,,,,,,\n",
            lab_core::csv_rows::SUMMARY_COLUMNS.join(",")
        );
        fs::write(run.join(SUMMARY_CSV), summary).unwrap();
        let requests = format!(
            "{}\nrun,small-000001,small,POST,/ping,new,0.000,0.100,1.000,,0,,,exploded\n",
            REQUESTS_COLUMNS.join(",")
        );
        fs::write(run.join(REQUESTS_CSV), requests).unwrap();
        let error = merge_runs(&[run], &root.path().join("merged")).unwrap_err();
        assert!(matches!(error, MergeError::Row { .. }), "{error:?}");
        let text = error.to_string();
        assert!(
            text.contains("requests.csv")
                && text.contains("small-000001")
                && text.contains("`exploded`"),
            "{text}"
        );
        assert!(!root.path().join("merged").exists());
    }
}

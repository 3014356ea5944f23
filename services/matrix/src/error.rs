//! What can stop a matrix, as one error type at the library's boundary (the binary reports it
//! with anyhow). Failed requests are not among them: they are counted in the rows.

use std::io;

/// Why the matrix could not run, or could not write or read its files.
#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    /// The options select no runnable scenario (the binary exits 2 on these).
    #[error("{0}")]
    Options(String),
    /// A file, directory, process or socket operation failed.
    #[error("cannot {what}: {error}")]
    Io {
        /// What was being done, e.g. `create results/matrix/…/matrix.csv`.
        what: String,
        /// Why it failed.
        error: io::Error,
    },
    /// A CSV file could not be written or read.
    #[error("cannot {what}: {error}")]
    Csv {
        /// What was being done.
        what: String,
        /// Why it failed.
        error: csv::Error,
    },
    /// `matrix-run.json` could not be written or read.
    #[error("cannot {what}: {error}")]
    Json {
        /// What was being done.
        what: String,
        /// Why it failed.
        error: serde_json::Error,
    },
    /// A started server did not become healthy, answered with other settings than asked
    /// for, or could not be stopped.
    #[error("{0}")]
    Server(String),
    /// A chart could not be drawn.
    #[error("cannot draw chart: {0}")]
    Plot(String),
    /// The load generator could not run a scenario.
    #[error(transparent)]
    Load(#[from] lab_loadgen::RunError),
    /// One scenario failed; the matrix stopped after writing what it had.
    #[error("scenario {scenario} failed: {error}")]
    Scenario {
        /// The scenario's name.
        scenario: String,
        /// What went wrong.
        error: Box<MatrixError>,
    },
}

/// Says what was being done when an I/O, CSV or JSON operation failed.
pub(crate) trait Doing<T> {
    /// The error, with `what` was being done (`"create matrix.csv"`).
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, MatrixError>;
}

impl<T> Doing<T> for Result<T, io::Error> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, MatrixError> {
        self.map_err(|error| MatrixError::Io {
            what: what(),
            error,
        })
    }
}

impl<T> Doing<T> for Result<T, csv::Error> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, MatrixError> {
        self.map_err(|error| MatrixError::Csv {
            what: what(),
            error,
        })
    }
}

impl<T> Doing<T> for Result<T, serde_json::Error> {
    fn doing(self, what: impl FnOnce() -> String) -> Result<T, MatrixError> {
        self.map_err(|error| MatrixError::Json {
            what: what(),
            error,
        })
    }
}

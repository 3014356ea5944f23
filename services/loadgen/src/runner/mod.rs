//! [`run`]: the workload from start to report, as one run or, when the server changes under
//! it, as several. It reads as its steps:
//!
//! 1. **Set up** ([`Setup::new`], once): bind METRICS_BIND (first, so a taken port leaves
//!    nothing behind), build every class's bodies, give each class its URL and a client
//!    ([`class::LoadClass`]), register the metrics and serve them, and read the server's /healthz
//!    (what the first run measures). A shutdown while the bodies are being built stops the
//!    building and ends here: no run starts, nothing is written.
//! 2. **Start** a run ([`Setup::start`]): the target's address looked up and each class's
//!    HTTP client made anew, the run's directory and requests.csv, the clock, and the
//!    collector thread that receives records.
//! 3. **Schedule** ([`Setup::schedule`]): one scheduler per class, until the end of DURATION,
//!    `shutdown` (Ctrl-C), or the server's /healthz reporting other settings or another
//!    start ([`crate::watch::ServerWatch`]).
//! 4. **Drain** ([`steps::Run::drain`]): requests in flight get DRAIN_TIMEOUT to finish; those still
//!    running after it are cancelled and recorded as `cancelled` errors (their rows are not
//!    lost).
//! 5. **Write** ([`Setup::write`]): the collector flushes requests.csv, summary.csv is
//!    written, and the run's report is kept. If the server changed, the next run starts at 2
//!    (same bodies and metrics; DURATION counts from the first run's start); else the
//!    reports are returned.
//!
//! `shutdown` is waited for in every step ([`Shutdown`]): while the bodies are built, the
//! server is looked at or its address looked up, and during each run. Once a run has its
//! directory, a shutdown ends it as in 3, so it still writes its files.
//!
//! # Layout
//! - [`setup`]: [`Setup`], what every run of one invocation shares (step 1).
//! - [`class`]: [`class::LoadClass`], one class with its plan, URL and client;
//!   [`class::Clients`], a run's HTTP clients.
//! - [`steps`]: a run, step by step (2 to 5), and [`steps::Run`], what the steps hand on.
//! - [`names`]: run ids and replica names.

mod class;
mod names;
mod setup;
mod steps;

use std::{future::Future, net::SocketAddr};

use crate::{
    files::FilesError,
    options::{OptionsError, RunOptions},
    report::RunReport,
    shutdown::Shutdown,
};
use setup::Setup;

/// Why a run could not be set up, or its files written. Failed requests are not errors of
/// the run: they are counted in its report.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The options cannot run (see [`RunOptions::check`]).
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// METRICS_BIND could not be bound or served.
    #[error("cannot serve metrics on METRICS_BIND {address}: {error}")]
    MetricsBind {
        /// METRICS_BIND.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
    /// The client's metrics could not be registered.
    #[error("cannot register the client metrics: {0}")]
    Metrics(#[from] prometheus::Error),
    /// TARGET_URL and ENDPOINT do not make a URL on TARGET_URL's host.
    #[error("ENDPOINT {endpoint} would not send requests to TARGET_URL's host {target}")]
    OtherHost {
        /// ENDPOINT.
        endpoint: String,
        /// TARGET_URL.
        target: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A task building bodies or collecting records failed.
    #[error("the {0} task failed")]
    Task(&'static str),
    /// The run directory or its CSV files could not be written.
    #[error(transparent)]
    Files(#[from] FilesError),
}

/// Runs the workload `options` describes until DURATION ends or `shutdown` resolves, writes
/// `RESULTS_DIR/<run-id>/{requests,summary}.csv` for each run, and returns the reports in
/// order. There is one run unless the server changed during it (see
/// [`crate::watch::ServerWatch`]): then one per configuration the server had; none when
/// `shutdown` resolved while the bodies were being built (nothing was sent or written).
/// Request failures are counted in the reports, not returned as errors; `Err` means a run
/// could not be set up or its files could not be written.
pub async fn run(
    options: RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<Vec<RunReport>, RunError> {
    let mut shutdown = Shutdown::new(shutdown);
    let Some(mut setup) = Setup::new(options, &mut shutdown).await? else {
        return Ok(Vec::new());
    };
    let reports = setup.runs(&mut shutdown).await;
    setup.stop_metrics().await;
    reports
}

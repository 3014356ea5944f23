//! lab-loadgen: the study's mixed small/large workload, measured from the client side.
//!
//! Layered like hatoo/oha: schedule → engine → records over a channel → collector
//! (HdrHistograms) → outputs (table, JSON, CSV, Prometheus metrics).
//!
//! # Layout
//! - [`options`]: the command line; every option a flag with an env twin. The workload's
//!   options are one group, [`WorkloadArgs`], that the experiment matrix flattens too.
//! - [`workload`]: each class's pre-built bodies, its interval, the large on/off cycle.
//! - [`buffers`]: the buffers those bodies are written into (huge pages where the kernel
//!   allows them).
//! - [`schedule`]: when requests start: open timetable (default) or the study's closed loop.
//! - [`engine`]: HTTP clients (new connection per request, or keep-alive) and one exchange
//!   → one [`record::Record`].
//! - [`record`]: the plain record and the error kinds (errors are data).
//! - [`collector`]: the thread that receives every record: statistics, CSV rows, metrics.
//! - [`run`] (in the private `runner`): the workload as named steps, set up once, then per
//!   run start, schedule, drain, write; one struct per class holds its plan, URL and client.
//! - [`stats`]: per-class HdrHistogram and counters → [`stats::ClassSummary`].
//! - [`files`]: the run directory, requests.csv (streamed) and summary.csv (rows from
//!   [`lab_core::csv_rows`]).
//! - [`metrics`]: the client's Prometheus metrics and their /metrics server.
//! - [`progress`]: the live progress line (terminal only).
//! - [`report`]: [`RunReport`], printed as a table or JSON.
//! - [`shutdown`]: Ctrl-C / SIGTERM as a future.
//! - [`watch`]: the server's /healthz during a run: a change of settings or a restart
//!   starts a new run.
//! - [`owner`]: RUN_AS_RESULTS_OWNER, from root to the owner of the results directory.
//! - [`merge`]: several replicas' run directories joined into one (`lab-loadgen-merge`).
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let options = lab_loadgen::RunOptions::from_args(["--duration", "5", "--large-size-mb", "1"])?;
//! // One report per run: more than one only when the server changed during the run.
//! let reports = lab_loadgen::run(options, std::future::pending()).await?;
//! for report in &reports {
//!     let small = report.class(&lab_core::Class::Small);
//!     println!("small p95: {:?} ms", small.and_then(|s| s.stats.p95_ms));
//! }
//! # Ok(()) }
//! ```

pub mod buffers;
pub mod collector;
pub mod engine;
pub mod files;
pub mod merge;
pub mod metrics;
pub mod options;
pub mod owner;
pub mod progress;
pub mod record;
pub mod report;
mod runner;
pub mod schedule;
pub mod shutdown;
pub mod stats;
pub mod watch;
pub mod workload;

pub use options::{Connection, OptionsError, Pool, RunOptions, Schedule, WorkloadArgs};
pub use report::{EXIT_ALL_FAILED, RunEnd, RunReport};
pub use runner::{RunError, run};
pub use stats::ClassSummary;

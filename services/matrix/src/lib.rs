//! `lab-matrix`: the study's experiment as one command, with its report.
//!
//! For every scenario (WORKERS × ENDPOINT × CONNECTION, an unloaded baseline per connection
//! mode, a server with keep-alive off, a keep-alive client with one shared pool, and with
//! FASTAPI_PYTHON the study's own FastAPI server) the matrix starts the real server (the
//! `lab-server` binary, or `python -m labfastapi`) with the scenario's settings, waits for
//! `/healthz`, runs the study's workload in-process with
//! [`lab_loadgen::run`] (the load generator's library), stops the server, and records the
//! client-side numbers, with the server's event-loop lag during the run (read from its
//! `/metrics` before and after the load). Everything lands in
//! `RESULTS_DIR/matrix/<timestamp>/`, and is rewritten after every scenario, so an interrupted
//! matrix keeps what it measured.
//!
//! # Layout
//! - [`options`]: the command line, [`MatrixOptions`]; the workload is lab-loadgen's
//!   [`lab_loadgen::WorkloadArgs`].
//! - [`scenario`]: the scenario list, from [`MatrixOptions`].
//! - [`launch`]: where the servers are, and the command that starts one.
//! - [`server_process`]: one server child process (group): free port, health wait, SIGTERM, kill
//!   on timeout or drop.
//! - [`runner`]: the loop over scenarios, with Ctrl-C handling.
//! - [`lag`]: the server's event-loop lag during a run, from its `/metrics` scraped before and
//!   after the load: the histogram's difference, its p99 and the highest bucket reached.
//! - [`table`]: `matrix.csv`, one row per scenario × class.
//! - [`requests`]: reads a scenario's `requests.csv` back for per-request findings and plots.
//! - [`findings`]: the numbers the report's sentences are computed from, as one typed
//!   value, [`findings::Findings`].
//! - [`analysis`]: reads the scenarios' requests.csv and computes the findings and what to
//!   plot; nothing is formatted there.
//! - [`report`]: `report.md`, the study's table format plus findings: formatting only.
//! - [`error`]: [`MatrixError`], what can stop a matrix.
//! - [`plots`]: SVG charts (plotters) of the analysis: drawing only.

pub mod analysis;
pub mod error;
pub mod findings;
pub mod lag;
pub mod launch;
pub mod options;
pub mod plots;
pub mod report;
pub mod requests;
pub mod runner;
pub mod scenario;
pub mod server_process;
pub mod table;

pub use error::MatrixError;
pub use options::{MatrixOptions, WorkerList};
pub use runner::{MatrixOutcome, check, rerender, run, run_with_shutdown};
pub use scenario::{Scenario, ScenarioKind, Workload};

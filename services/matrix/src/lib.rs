//! `lab-matrix`: the study's experiment as one command, with its report, in numbers that
//! hold.
//!
//! For every scenario (WORKERS × STRATEGY × CONNECTION with the floor `/drain` in every cell,
//! an unloaded baseline per connection mode, a server with keep-alive off, a keep-alive client
//! with one shared pool, the same server with jemalloc, a longer run of two cells, and with
//! FASTAPI_PYTHON the study's own FastAPI server) the matrix starts the real server (the
//! `lab-server` binary, or `python -m labfastapi`) with the scenario's settings, waits for
//! `/healthz`, runs the study's workload in-process with [`lab_loadgen::run`] (the load
//! generator's library), stops the server, and records the client-side numbers, with the
//! server's own view of the run (event-loop lag, time per upload) read from its `/metrics`.
//! It does so in REPS rounds, each running every scenario once in its own random order,
//! timing a fixed parse before and after each round to say how fast the machine was; every
//! figure of the report is a median over the rounds with an interval, every ratio is taken
//! within rounds, and a scenario that could not keep up with its uploads is named saturated.
//! Everything lands in `RESULTS_DIR/matrix/<timestamp>/`, rewritten after every scenario, so
//! an interrupted matrix keeps what it measured.
//!
//! # Layout
//! - [`options`]: the command line, [`MatrixOptions`]; the workload is lab-loadgen's
//!   [`lab_loadgen::WorkloadArgs`].
//! - [`scenario`]: [`ScenarioKey`], the typed identity of a scenario, and the command that
//!   starts a scenario's server.
//! - [`plan`]: the scenario list the options ask for, and the workload.
//! - [`launch`]: where the servers are, and the command that starts one.
//! - [`server_process`]: one server child process (group): free port, health wait, SIGTERM,
//!   kill on timeout or drop.
//! - [`placement`]: server and client on the same CPUs or split, as a recorded setting.
//! - [`machine`]: the calibration (a fixed parse, timed), load, steal, and what the machine is.
//! - [`runner`]: the rounds and their orders, one scenario run, Ctrl-C handling, the outputs.
//! - [`lag`]: the server's event-loop lag during a run, from its `/metrics` scraped before and
//!   after the load.
//! - [`saturation`]: whether a server kept up with its uploads: its time per upload against
//!   the interval, and the client's latency growing over the run.
//! - [`table`]: `matrix.csv`, one row per round × scenario × class.
//! - [`run_info`]: `matrix-run.json`, how the matrix ran, round by round.
//! - [`requests`]: reads a scenario's `requests.csv` back for per-request findings and plots.
//! - [`interval`]: medians over rounds, their order-statistics interval, per-round ratios.
//! - [`grid`]: the typed grid the findings query by [`ScenarioKey`].
//! - [`findings`]: one file per question, each a serializable value computed from the grid.
//! - [`analysis`]: builds the grid, reads the requests, computes the findings and what to
//!   plot; nothing is formatted there.
//! - [`compare`]: two runs side by side, figure by figure, as measured and scaled by their
//!   calibrations.
//! - [`report`]: `report.md`, rendered from a template over the serialized findings.
//! - [`docs`]: the README's and docs/matrix.md's figures, rendered from the committed runs
//!   they quote (`--docs write`), and checked against them (`--docs check`).
//! - [`plots`]: SVG charts (plotters) of the analysis: drawing only.
//! - [`error`]: [`MatrixError`], what can stop a matrix.
//! - [`probe`]: `lab-probe`, the same method against any server: its small requests alone
//!   and beside uploads of a ladder of sizes, with a verdict (docs/probe.md).

pub mod analysis;
pub mod compare;
pub mod docs;
pub mod error;
pub mod findings;
pub mod grid;
pub mod interval;
pub mod lag;
pub mod launch;
pub mod machine;
pub mod options;
pub mod placement;
pub mod plan;
pub mod plots;
pub mod probe;
pub mod report;
pub mod requests;
pub mod run_info;
pub mod runner;
pub mod saturation;
pub mod scenario;
pub mod server_process;
pub mod table;

pub use error::MatrixError;
pub use options::{MatrixOptions, WorkerList};
pub use runner::{MatrixOutcome, check, rerender, run, run_with_shutdown};
pub use scenario::{Scenario, ScenarioKey, ScenarioKind, Workload};

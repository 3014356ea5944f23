//! `lab-loadgen matrix`: the study's experiment as one command, with its report.
//!
//! For every scenario (WORKERS × ENDPOINT × CONNECTION, an unloaded baseline per connection
//! mode, a server with keep-alive off, and a keep-alive client with one shared pool) the matrix starts the real `lab-server` binary with
//! the scenario's settings, waits for `/healthz`, runs the study's workload in-process with
//! [`crate::run`], stops the server, and records the client-side numbers. Everything lands in
//! `RESULTS_DIR/matrix/<timestamp>/`, and is rewritten after every scenario, so an interrupted
//! matrix keeps what it measured.
//!
//! # Layout
//! - [`scenario`]: the scenario list and the workload, from [`MatrixOptions`].
//! - [`server_process`]: one `lab-server` child process: free port, health wait, SIGTERM, kill
//!   on timeout or drop.
//! - [`runner`]: the loop over scenarios, with Ctrl-C handling.
//! - [`table`]: `matrix.csv`, one row per scenario × class.
//! - [`requests`]: reads a scenario's `requests.csv` back for per-request findings and plots.
//! - [`findings`]: the numbers the report's sentences are computed from.
//! - [`report`]: `report.md`, the study's table format plus findings.
//! - [`plots`]: SVG charts (plotters).

pub mod findings;
pub mod plots;
pub mod report;
pub mod requests;
pub mod runner;
pub mod scenario;
pub mod server_process;
pub mod table;

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

pub use runner::{MatrixOutcome, check, rerender, run, run_with_shutdown};
pub use scenario::{Scenario, ScenarioKind, Workload};

use crate::options::{
    Connection, Schedule, parse_endpoint, parse_interval, parse_path, parse_seconds_or_zero,
    parse_size_mb,
};

/// Largest WORKERS value a matrix may ask lab-server for (lab-server's own limit).
pub const MAX_WORKERS: usize = 256;

/// Options of `lab-loadgen matrix`. Every option has an environment twin.
#[derive(Debug, Clone, Args)]
pub struct MatrixOptions {
    /// The lab-server binary started for each scenario. Default: `lab-server` next to this
    /// executable (target/<profile>/lab-server, built by `cargo build -p lab-server`).
    #[arg(long, env = "SERVER_BIN", value_parser = parse_path)]
    pub server_bin: Option<PathBuf>,

    /// Seconds of load per scenario (above 0, at most 604800 = 7 days). The full default
    /// matrix is 20 scenarios: at 25 s each, plus payload generation, drain and server
    /// start/stop, about 11 minutes on 2 cores.
    #[arg(long, env = "MATRIX_DURATION", default_value = "25", value_parser = parse_interval)]
    pub duration: Duration,

    /// Server WORKERS values of the grid, comma separated (1 to 256 each).
    #[arg(long, env = "MATRIX_WORKERS", default_value = "1,4", value_parser = WorkerList::parse)]
    pub workers: WorkerList,

    /// Strategy endpoints of the grid, comma separated. The first one also serves the
    /// unloaded baseline and the keep-alive-off case. Each is a path, as ENDPOINT.
    #[arg(
        long,
        env = "MATRIX_ENDPOINTS",
        value_delimiter = ',',
        default_value = "/ping,/pong,/offload,/lean",
        value_parser = parse_endpoint
    )]
    pub endpoints: Vec<String>,

    /// Client CONNECTION modes of the grid, comma separated (new, keepalive).
    #[arg(
        long,
        env = "MATRIX_CONNECTIONS",
        value_delimiter = ',',
        default_value = "new,keepalive"
    )]
    pub connections: Vec<Connection>,

    /// Run an unloaded baseline (small requests only) per connection mode, at the first
    /// WORKERS value and the first endpoint.
    #[arg(long, env = "MATRIX_BASELINE", default_value_t = true, action = ArgAction::Set)]
    pub baseline: bool,

    /// WORKERS values at which to add a server with KEEP_ALIVE=0 (keepalive client, first
    /// endpoint), comma separated; `none` skips the case.
    #[arg(
        long,
        env = "MATRIX_KEEP_ALIVE_OFF_WORKERS",
        default_value = "4",
        value_parser = WorkerList::parse
    )]
    pub keep_alive_off_workers: WorkerList,

    /// WORKERS values at which to add a keepalive client whose classes share one connection
    /// pool (POOL=shared, first endpoint), comma separated; `none` skips the case. With
    /// per-class pools the small and large connections may land on different workers by
    /// accident of connection order; a shared pool, like a proxy's, mixes them.
    #[arg(
        long,
        env = "MATRIX_SHARED_POOL_WORKERS",
        default_value = "4",
        value_parser = WorkerList::parse
    )]
    pub shared_pool_workers: WorkerList,

    /// Nominal size of a small request body, MB (the load generator's SMALL_SIZE_MB).
    #[arg(long, env = "SMALL_SIZE_MB", default_value = "0.001", value_parser = parse_size_mb)]
    pub small_size_mb: f64,

    /// Seconds between small requests (the load generator's SMALL_INTERVAL; 0 = back-to-back,
    /// SCHEDULE=closed only).
    #[arg(long, env = "SMALL_INTERVAL", default_value = "0.1", value_parser = parse_seconds_or_zero)]
    pub small_interval: Duration,

    /// Nominal size of a large request body, MB (the load generator's LARGE_SIZE_MB; 0 = no
    /// large class in any scenario). The unloaded baselines always run with LARGE_SIZE_MB=0.
    #[arg(long, env = "LARGE_SIZE_MB", default_value = "25", value_parser = parse_size_mb)]
    pub large_size_mb: f64,

    /// Seconds between large requests (the load generator's LARGE_INTERVAL; 0 = back-to-back,
    /// SCHEDULE=closed only).
    #[arg(long, env = "LARGE_INTERVAL", default_value = "1.0", value_parser = parse_seconds_or_zero)]
    pub large_interval: Duration,

    /// The load generator's SCHEDULE: open (latency from the scheduled start) or closed
    /// (the study's send-wait-sleep loop).
    #[arg(long, env = "SCHEDULE", value_enum, default_value = "open")]
    pub schedule: Schedule,

    /// Results root: the matrix writes RESULTS_DIR/matrix/<timestamp>/.
    #[arg(long, env = "RESULTS_DIR", default_value = "results", value_parser = parse_path)]
    pub results_dir: PathBuf,

    /// Seconds to wait for a started server's /healthz before giving up (above 0, at most 7
    /// days).
    #[arg(long, env = "MATRIX_SERVER_START_TIMEOUT", default_value = "30", value_parser = parse_interval)]
    pub server_start_timeout: Duration,

    /// Run nothing: re-render report.md and the plots of this existing matrix directory from
    /// its matrix.csv, matrix-run.json and requests.csv files.
    #[arg(long, env = "MATRIX_REPORT_ONLY", value_name = "MATRIX_DIR", value_parser = parse_path)]
    pub report_only: Option<PathBuf>,

    /// Seconds a server gets to drain after SIGTERM before it is killed (above 0, at most 7
    /// days).
    #[arg(long, env = "MATRIX_SERVER_STOP_TIMEOUT", default_value = "15", value_parser = parse_interval)]
    pub server_stop_timeout: Duration,
}

/// A comma-separated list of WORKERS values, e.g. `1,4`, each 1 to [`MAX_WORKERS`]; `none`
/// (or empty) is the empty list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerList(pub Vec<usize>);

impl WorkerList {
    /// Parses `1,4`, `4`, `none` or an empty string.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text.eq_ignore_ascii_case("none") {
            return Ok(Self(Vec::new()));
        }
        text.split(',')
            .map(|part| match part.trim().parse::<usize>() {
                Ok(workers) if (1..=MAX_WORKERS).contains(&workers) => Ok(workers),
                _ => Err(format!(
                    "`{part}` is not a worker count (a whole number from 1 to {MAX_WORKERS})"
                )),
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

//! The command line of `lab-matrix`: the grid (WORKERS × STRATEGY × CONNECTION and the
//! reference cases, allocators, placement), the rounds (REPS, SEED), the server's start and
//! stop, and the workload, which is lab-loadgen's own group of options ([`WorkloadArgs`])
//! flattened here: the same flags, environment variables, defaults and checks as a plain run.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser};
use lab_core::Strategy;
use lab_loadgen::options::values::{
    DEFAULT_RESULTS_DIR, parse_interval, parse_optional_addr, parse_path, parse_seconds_or_zero,
};
use lab_loadgen::{Connection, WorkloadArgs};

use crate::placement;
use crate::scenario::{Allocator, Placement};

/// Largest WORKERS value a matrix may ask lab-server for (lab-server's own limit).
pub const MAX_WORKERS: usize = 256;

/// Options of `lab-matrix`. Every option has an environment twin.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lab-matrix",
    version,
    args_override_self = true,
    about = "The study's experiment as one command: lab-server started per scenario, the workload measured by lab-loadgen, a report with plots."
)]
pub struct MatrixOptions {
    /// The lab-server binary started for each scenario. Default: `lab-server` next to this
    /// executable (target/<profile>/lab-server, built by `cargo build -p lab-server`).
    #[arg(long, env = "SERVER_BIN", value_parser = parse_path)]
    pub server_bin: Option<PathBuf>,

    /// Seconds of load per scenario (above 0, at most 604800 = 7 days). The full default
    /// matrix is 34 scenarios a round (41 with FASTAPI_PYTHON): at 10 s each, plus payload
    /// generation, drain, server start/stop and the calibration, about 10 minutes a round on
    /// 2 cores (docs/matrix.md says how it was measured).
    #[arg(long, env = "MATRIX_DURATION", default_value = "10", value_parser = parse_interval)]
    pub duration: Duration,

    /// Rounds: each runs every scenario once, in a fresh random order; every figure of the
    /// report is the median over the rounds, with an interval (1 to 100).
    #[arg(long, env = "MATRIX_REPS", default_value = "5", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub reps: u32,

    /// Seed of the rounds' orders (recorded in matrix-run.json: the same seed replays the same
    /// orders); empty = a new one from the clock.
    // `std::option::Option`: an empty value means "a new one".
    #[arg(long, env = "MATRIX_SEED", default_value = "", hide_default_value = true, value_parser = parse_optional_seed)]
    pub seed: std::option::Option<u64>,

    /// Where server and client run, comma separated: `unpinned` (no CPU affinity), `split`
    /// (server on one set of CPUs, this process on the others), or `auto`: unpinned below 4
    /// CPUs, split from 4 (docs/matrix.md has the measurement). Two values run every
    /// scenario both ways.
    #[arg(long, env = "MATRIX_PLACEMENT", default_value = "auto", value_parser = PlacementList::parse)]
    pub placement: PlacementList,

    /// lab-server's ALLOCATOR values, comma separated. The first runs the whole grid; each
    /// other one reruns the owned-map strategies (/ping, /pong, /offload) and /stream at the
    /// first WORKERS value and the first connection mode.
    // `std::vec::Vec`: clap hands the whole list to the parser.
    #[arg(long, env = "MATRIX_ALLOCATORS", default_value = "system,jemalloc", value_parser = parse_allocators)]
    pub allocators: std::vec::Vec<Allocator>,

    /// Size in MB of the study body whose owned-map parse is timed before and after every
    /// round (the machine's calibration; 25, the study's upload; the tests use less).
    #[arg(long, env = "MATRIX_CALIBRATION_MB", default_value = "25", value_parser = parse_calibration_mb)]
    pub calibration_mb: f64,

    /// Set the seconds between uploads from the machine's first calibration instead of
    /// LARGE_INTERVAL: the calibration's parse (the owned-map parse of /ping) takes this share
    /// of the interval, so one worker's /ping runs at this utilisation on a machine of any
    /// speed (above 0, at most 10); empty = LARGE_INTERVAL as given.
    // `std::option::Option`: an empty value means "off".
    #[arg(long, env = "MATRIX_TARGET_UTILISATION", default_value = "", hide_default_value = true, value_parser = parse_target_utilisation)]
    pub target_utilisation: std::option::Option<f64>,

    /// Seconds of the saturation probe: /ping and /stream at the first WORKERS value and
    /// connection mode run once more for this long, to show which latencies grow with the
    /// run's length; 0 = no probe.
    #[arg(long, env = "MATRIX_SATURATION_PROBE_DURATION", default_value = "30", value_parser = parse_seconds_or_zero)]
    pub saturation_probe_duration: Duration,

    /// Server WORKERS values of the grid, comma separated (1 to 256 each).
    #[arg(long, env = "MATRIX_WORKERS", default_value = "1,4", value_parser = WorkerList::parse)]
    pub workers: WorkerList,

    /// Strategy endpoints of the grid, comma separated (`/drain` is the floor: the body read
    /// and thrown away); by default every strategy lab-core knows. The first one also serves
    /// the unloaded baseline and the keep-alive-off case.
    #[arg(
        long,
        env = "MATRIX_ENDPOINTS",
        value_delimiter = ',',
        default_values_t = Strategy::ALL,
        value_parser = parse_strategy
    )]
    pub endpoints: Vec<Strategy>,

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

    /// The study's own server, FastAPI on uvicorn: the python of a virtualenv that has
    /// services/fastapi's requirements (`just matrix` makes one in .venv-fastapi). When set,
    /// the matrix adds FastAPI scenarios measured by the same client on the same machine;
    /// empty = actix only.
    // `std::option::Option`: an empty value means "none".
    #[arg(long, env = "FASTAPI_PYTHON", default_value = "", hide_default_value = true, value_parser = parse_optional_path)]
    pub fastapi_python: std::option::Option<PathBuf>,

    /// Directory holding the `labfastapi` package (put on PYTHONPATH for the FastAPI server).
    #[arg(long, env = "FASTAPI_DIR", default_value = "services/fastapi", value_parser = parse_path)]
    pub fastapi_dir: PathBuf,

    /// FastAPI scenarios: WORKERS values (uvicorn worker processes), comma separated.
    #[arg(
        long,
        env = "MATRIX_FASTAPI_WORKERS",
        default_value = "1,4",
        value_parser = WorkerList::parse
    )]
    pub fastapi_workers: WorkerList,

    /// FastAPI scenarios: endpoints, comma separated (the first also serves its unloaded
    /// baseline). By default every strategy the FastAPI peer has but `/offload` (in Python the
    /// GIL makes it /pong's twin, and the full grid must stay under an hour): its /ping is the
    /// study's typed endpoint, /pong its orjson one, /drain the floor.
    #[arg(
        long,
        env = "MATRIX_FASTAPI_ENDPOINTS",
        value_delimiter = ',',
        default_values_t = default_fastapi_strategies(),
        value_parser = parse_strategy
    )]
    pub fastapi_endpoints: Vec<Strategy>,

    /// The workload every scenario runs: lab-loadgen's options, with the same names and
    /// environment variables (SMALL_SIZE_MB, LARGE_SIZE_MB, SCHEDULE, EXTRA_CLASSES …). The
    /// unloaded baselines run it with LARGE_SIZE_MB=0; LARGE_SIZE_MB=0 here means no large
    /// class in any scenario.
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// Each scenario's load generator serves its Prometheus /metrics here, e.g.
    /// 0.0.0.0:9100 (scenarios run one after another); empty = off.
    #[arg(long, env = "METRICS_BIND", default_value = "", value_parser = parse_optional_addr)]
    pub metrics_bind: std::option::Option<SocketAddr>,

    /// Results root: the matrix writes RESULTS_DIR/matrix/<timestamp>/.
    #[arg(long, env = "RESULTS_DIR", default_value = DEFAULT_RESULTS_DIR, value_parser = parse_path)]
    pub results_dir: PathBuf,

    /// Seconds to wait for a started server's /healthz before giving up (above 0, at most 7
    /// days).
    #[arg(long, env = "MATRIX_SERVER_START_TIMEOUT", default_value = "30", value_parser = parse_interval)]
    pub server_start_timeout: Duration,

    /// Run nothing: re-render report.md and the plots of this existing matrix directory from
    /// its matrix.csv, matrix-run.json and requests.csv files.
    #[arg(long, env = "MATRIX_REPORT_ONLY", value_name = "MATRIX_DIR", value_parser = parse_path)]
    pub report_only: Option<PathBuf>,

    /// Run nothing: `write` re-renders the generated blocks of README.md and docs/matrix.md from
    /// the committed runs they name (see services/matrix/src/docs.rs); `check` fails when a
    /// block differs from its run. Run from the repository's root.
    #[arg(long, env = "MATRIX_DOCS", value_enum)]
    pub docs: Option<DocsMode>,

    /// Add a section "Against run OTHER" to the report (of this run, or of --report-only's):
    /// figure by figure, both runs' medians and intervals, whether they agree, and the same
    /// after scaling by the two runs' machine calibrations.
    #[arg(long, env = "MATRIX_COMPARE_WITH", value_name = "OTHER_MATRIX_DIR", value_parser = parse_path)]
    pub compare_with: Option<PathBuf>,

    /// Seconds a server gets to drain after SIGTERM before it is killed (above 0, at most 7
    /// days).
    #[arg(long, env = "MATRIX_SERVER_STOP_TIMEOUT", default_value = "15", value_parser = parse_interval)]
    pub server_stop_timeout: Duration,
}

/// What `--docs` does (see [`crate::docs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DocsMode {
    /// Re-render every generated block of every page from its run and template.
    Write,
    /// Fail when a block differs from what its run and template give.
    Check,
}

/// A strategy by its path (`/ping`) or label (`ping`).
/// The FastAPI scenarios' default strategies (see [`MatrixOptions::fastapi_endpoints`]).
fn default_fastapi_strategies() -> Vec<Strategy> {
    Strategy::ALL
        .into_iter()
        .filter(|strategy| strategy.on_fastapi() && *strategy != Strategy::Offload)
        .collect()
}

fn parse_strategy(text: &str) -> Result<Strategy, String> {
    text.trim().parse()
}

/// A comma-separated list of allocators (`system,jemalloc`).
fn parse_allocators(text: &str) -> Result<Vec<Allocator>, String> {
    text.split(',').map(str::parse).collect()
}

/// A calibration body size: above 0, at most 1024 MB.
fn parse_calibration_mb(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(mb) if mb > 0.0 && mb <= 1024.0 => Ok(mb),
        _ => Err(format!(
            "`{text}` is not a calibration size (MB, above 0, at most 1024)"
        )),
    }
}

/// A target utilisation above 0 and at most 10, or empty for none.
fn parse_target_utilisation(text: &str) -> Result<Option<f64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    match text.parse::<f64>() {
        Ok(target) if target > 0.0 && target <= 10.0 => Ok(Some(target)),
        _ => Err(format!(
            "`{text}` is not a target utilisation (above 0, at most 10)"
        )),
    }
}

/// A seed, or empty for "a new one" (MATRIX_SEED, and lab-probe's PROBE_SEED).
pub(crate) fn parse_optional_seed(text: &str) -> Result<Option<u64>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        format!(
            "`{text}` is not a seed (a whole number from 0 to {})",
            u64::MAX
        )
    })
}

/// The placements to run, from `unpinned`, `split` and `auto` (resolved for this machine's
/// CPUs by [`placement::default_for`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementList(pub Vec<Placement>);

impl PlacementList {
    /// Parses `auto`, `unpinned`, `split` or `unpinned,split`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut placements = Vec::new();
        for part in text.split(',').map(str::trim) {
            let placement = match part {
                "auto" => placement::default_for(placement::allowed_cpus().len()),
                "unpinned" => Placement::Unpinned,
                "split" => Placement::Split,
                other => {
                    return Err(format!(
                        "`{other}` is not a placement (auto, unpinned, split)"
                    ));
                }
            };
            if !placements.contains(&placement) {
                placements.push(placement);
            }
        }
        Ok(Self(placements))
    }
}

/// A path, or empty for none.
fn parse_optional_path(text: &str) -> Result<Option<PathBuf>, String> {
    Ok((!text.is_empty()).then(|| PathBuf::from(text)))
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

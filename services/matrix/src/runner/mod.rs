//! The matrix loop: REPS rounds, each running every scenario once in its own random order
//! (seeded, so a run's orders can be replayed), with the machine's calibration, load and
//! steal recorded around every round; every output rewritten after every scenario.
//!
//! Why rounds in random order: the same scenario measured once, or all scenarios measured in
//! one fixed order, mixes what the scenario does with what the machine did at that moment
//! (another process, a slower hour). Interleaving the scenarios in random rounds spreads the
//! machine's moods over all of them, and the figures' medians over the rounds, with their
//! intervals, say how much a figure moves (see [`crate::interval`]).
//!
//! Shutdown, step by step: Ctrl-C (or SIGTERM, or the caller's shutdown future) cancels one
//! token. The load generator's run of the current scenario watches that token: it stops
//! scheduling, drains what is in flight and returns its report (marked interrupted). The
//! server is then stopped as after any scenario, the outputs are written one last time, and
//! no further scenario starts. The servers run in their own process group, so the terminal's
//! Ctrl-C reaches only this process and the order above holds.

mod outputs;
mod scenario_run;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lab_loadgen::options::BodyKind;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use reqwest::Url;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

pub use outputs::{MATRIX_CSV, REPORT_MD, rerender};

use crate::analysis::round_dir;
use crate::error::{Doing, MatrixError};
use crate::launch::Launch;
use crate::machine::{
    CpuTimes, MachineInfo, calibrate, calibration_body, interval_for, load_average,
};
use crate::options::MatrixOptions;
use crate::placement::{self, CpuSets};
use crate::plan::plan;
use crate::run_info::{RoundInfo, RunContext, portable_command, portable_path};
use crate::scenario::Scenario;
use crate::server_process::{check_server_bin, default_server_bin};
use crate::table::MatrixRow;
use scenario_run::{Slot, load_options, run_scenario};

/// Directory (inside the matrix directory) holding each round's server logs.
pub const SERVER_LOGS: &str = "server-logs";

/// The servers' own settings: each scenario's server inherits the matrix's environment, so
/// the report's command line shows those that are set (the matrix's own options are read
/// from its command line definition, see [`command_line`]).
const SERVER_ENV_KNOBS: [&str; 10] = [
    "BLOCKING_THREADS",
    "OFFLOAD_MIN_KB",
    "MAX_BODY_MB",
    "BODY_BUDGET_MB",
    "BODY_IDLE_TIMEOUT",
    "BODY_MIN_RATE_KB",
    "CLIENT_REQUEST_TIMEOUT",
    "LAG_PROBE_INTERVAL_MS",
    "KEEP_ALIVE",
    "RUST_LOG",
];

/// What a matrix run left behind.
#[derive(Debug, Clone)]
pub struct MatrixOutcome {
    /// `RESULTS_DIR/matrix/<timestamp>`.
    pub dir: PathBuf,
    /// How it ran.
    pub context: RunContext,
    /// The rows of `matrix.csv`.
    pub rows: Vec<MatrixRow>,
}

/// `lab-matrix`: runs the matrix until done or until Ctrl-C / SIGTERM (or re-renders one),
/// then says where the results are.
pub async fn run(options: MatrixOptions) -> Result<(), MatrixError> {
    let compare_with = options.compare_with.clone();
    let outcome = match &options.report_only {
        Some(dir) => {
            let (context, rows) = rerender(dir, compare_with.as_deref())?;
            MatrixOutcome {
                dir: dir.clone(),
                context,
                rows,
            }
        }
        None => run_with_shutdown(options, lab_loadgen::shutdown::signal()).await?,
    };
    let context = &outcome.context;
    println!(
        "matrix: {} of {} scenario runs{}; results: {}, {}, plots in {}",
        context.done,
        context.planned,
        if context.interrupted {
            " (interrupted)"
        } else {
            ""
        },
        outcome.dir.join(MATRIX_CSV).display(),
        outcome.dir.join(REPORT_MD).display(),
        outcome.dir.display()
    );
    Ok(())
}

/// The command line that reproduces this run: set knobs first, then the arguments, every
/// path made portable.
fn command_line(base: &Path) -> String {
    let command = <MatrixOptions as clap::CommandFactory>::command();
    let own = command
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_string));
    let names: Vec<String> = own
        .chain(SERVER_ENV_KNOBS.iter().map(|name| name.to_string()))
        .collect();
    let set = names.iter().filter_map(|name| {
        std::env::var(name)
            .ok()
            .map(|value| format!("{name}={value}"))
    });
    portable_command(set.chain(std::env::args()), base)
}

/// Every setting of the matrix, for matrix-run.json.
fn settings(options: &MatrixOptions, seed: u64) -> serde_json::Value {
    let workload = &options.workload;
    serde_json::json!({
        "reps": options.reps,
        "calibration_mb": options.calibration_mb,
        "target_utilisation": options.target_utilisation,
        "seed": seed,
        "duration_s": options.duration.as_secs_f64(),
        "saturation_probe_duration_s": options.saturation_probe_duration.as_secs_f64(),
        "workers": options.workers.0,
        "endpoints": options.endpoints,
        "connections": options.connections,
        "baseline": options.baseline,
        "keep_alive_off_workers": options.keep_alive_off_workers.0,
        "shared_pool_workers": options.shared_pool_workers.0,
        "allocators": options.allocators,
        "placement": options.placement.0,
        "fastapi_workers": options.fastapi_workers.0,
        "fastapi_endpoints": options.fastapi_endpoints,
        "workload": crate::plan::workload(options),
        "max_in_flight": workload.max_in_flight,
        "request_timeout_s": workload.request_timeout.as_secs_f64(),
        "drain_timeout_s": workload.drain_timeout.as_secs_f64(),
        "check_answers": workload.check_answers,
        "server_start_timeout_s": options.server_start_timeout.as_secs_f64(),
        "server_stop_timeout_s": options.server_stop_timeout.as_secs_f64(),
    })
}

/// A seed from the clock, when none was given.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// The orders of `rounds` rounds of `scenarios` (indices), from `seed`: each round a fresh
/// shuffle of the same list, so every scenario runs once per round and the same seed gives
/// the same orders.
pub fn round_orders(scenarios: usize, rounds: u32, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..rounds)
        .map(|_| {
            let mut order: Vec<usize> = (0..scenarios).collect();
            order.shuffle(&mut rng);
            order
        })
        .collect()
}

/// Runs the matrix until done or until `shutdown` resolves (tests pass their own).
pub async fn run_with_shutdown(
    mut options: MatrixOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<MatrixOutcome, MatrixError> {
    let server_bin = match &options.server_bin {
        Some(path) => path.clone(),
        None => default_server_bin()?,
    };
    check_server_bin(&server_bin)?;
    check(&options).map_err(MatrixError::Options)?;
    let launch = launch(&options, server_bin.clone())?;
    let scenarios = plan(&options);
    let seed = options.seed.unwrap_or_else(fresh_seed);
    let orders = round_orders(scenarios.len(), options.reps, seed);
    let cpus = CpuSets::split(placement::allowed_cpus());
    let base = std::env::current_dir().doing(|| "find the current directory".to_string())?;

    let started = chrono::Local::now();
    let (_, dir) = lab_loadgen::files::create_run_dir(
        &options.results_dir.join("matrix"),
        None,
        &started.format("%Y%m%d-%H%M%S").to_string(),
    )
    .map_err(lab_loadgen::RunError::from)?;

    let cancel = CancellationToken::new();
    let on_shutdown = cancel.clone();
    // Aborted when this function returns, however it returns.
    let _watcher = AbortOnDropHandle::new(tokio::spawn(async move {
        shutdown.await;
        on_shutdown.cancel();
    }));

    // The calibration runs with every CPU, as the matrix itself does between scenarios; the
    // first one also sets the interval between uploads when a target utilisation is asked.
    placement::pin_this_process(&cpus.all).doing(|| "unpin the matrix".to_string())?;
    let body = calibration_body(options.calibration_mb);
    let mut first_calibration = Some(calibrate(&body));
    if let (Some(target), Some(calibration)) = (options.target_utilisation, first_calibration) {
        options.workload.large_interval = interval_for(calibration, target);
        tracing::info!(
            calibration_ms = calibration,
            target,
            large_interval_s = options.workload.large_interval.as_secs_f64(),
            "the interval between uploads comes from the calibration"
        );
    }
    let workload = crate::plan::workload(&options);
    let mut context = RunContext {
        command: command_line(&base),
        started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        server_bin: portable_path(&server_bin, &base),
        fastapi_python: launch
            .fastapi_python
            .as_ref()
            .map(|python| portable_path(python, &base)),
        workload: workload.clone(),
        planned: scenarios.len() * options.reps as usize,
        done: 0,
        interrupted: false,
        reps: options.reps,
        seed: Some(seed),
        machine: MachineInfo::here(&base, cpus.all.len()),
        cpu_sets: Some(cpus.clone()),
        settings: settings(&options, seed),
        calibration_mb: Some(options.calibration_mb),
        target_utilisation: options.target_utilisation,
        rounds: Vec::new(),
    };
    tracing::info!(
        dir = %dir.display(),
        scenarios = scenarios.len(),
        rounds = options.reps,
        seed,
        "matrix starts"
    );
    let compare_with = options.compare_with.as_deref();
    let mut rows = Vec::new();
    let mut failure = None;
    'rounds: for (index, order) in orders.iter().enumerate() {
        let round = index as u32 + 1;
        placement::pin_this_process(&cpus.all).doing(|| "unpin the matrix".to_string())?;
        let round_started = Instant::now();
        let mut info = RoundInfo {
            round,
            order: order.iter().map(|&i| scenarios[i].name()).collect(),
            started: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
            calibration_before_ms: Some(
                first_calibration.take().unwrap_or_else(|| calibrate(&body)),
            ),
            load_before: load_average(),
            ..RoundInfo::default()
        };
        let cpu_before = CpuTimes::now();
        tracing::info!(
            round,
            calibration_ms = info.calibration_before_ms,
            "round starts"
        );
        context.rounds.push(info.clone());
        let round_path = dir.join(round_dir(round));
        let logs = dir.join(SERVER_LOGS).join(round_dir(round));
        std::fs::create_dir_all(&logs).doing(|| format!("create {}", logs.display()))?;
        for (position, &i) in order.iter().enumerate() {
            let scenario: &Scenario = &scenarios[i];
            if cancel.is_cancelled() {
                break;
            }
            tracing::info!(
                round,
                scenario = %scenario.name(),
                "scenario {}/{}",
                position + 1,
                order.len()
            );
            let log_path = logs.join(format!("{}.log", scenario.name()));
            let slot = Slot {
                round,
                position: position as u64 + 1,
                dir: &round_path,
                log_path: &log_path,
            };
            match run_scenario(&options, &launch, &cpus, scenario, &workload, slot, &cancel).await {
                Ok((scenario_rows, interrupted)) => {
                    rows.extend(scenario_rows);
                    context.done += 1;
                    context.interrupted = interrupted || cancel.is_cancelled();
                }
                Err(error) => {
                    failure = Some(MatrixError::Scenario {
                        scenario: scenario.name(),
                        error: Box::new(error),
                    });
                }
            }
            // Rewritten after every scenario: a matrix killed outright keeps what it measured.
            write_outputs_unpinned(&dir, &cpus, &context, &rows, compare_with)?;
            if failure.is_some() || context.interrupted {
                break 'rounds;
            }
        }
        placement::pin_this_process(&cpus.all).doing(|| "unpin the matrix".to_string())?;
        let (steal, iowait) = CpuTimes::now().shares_since(&cpu_before);
        info.steal_share = steal;
        info.iowait_share = iowait;
        info.load_after = load_average();
        info.calibration_after_ms = Some(calibrate(&body));
        info.seconds = round_started.elapsed().as_secs_f64();
        tracing::info!(
            round,
            seconds = info.seconds,
            calibration_ms = info.calibration_after_ms,
            "round done"
        );
        if let Some(last) = context.rounds.last_mut() {
            *last = info;
        }
    }
    context.interrupted |= cancel.is_cancelled();
    write_outputs_unpinned(&dir, &cpus, &context, &rows, compare_with)?;
    if let Some(error) = failure {
        return Err(error);
    }
    tracing::info!(
        dir = %dir.display(),
        done = context.done,
        interrupted = context.interrupted,
        "matrix finished: matrix.csv, report.md and plots written"
    );
    Ok(MatrixOutcome { dir, context, rows })
}

/// Writes every output with this process on every CPU (the plots and the report are not
/// part of any measurement).
fn write_outputs_unpinned(
    dir: &Path,
    cpus: &CpuSets,
    context: &RunContext,
    rows: &[MatrixRow],
    compare_with: Option<&Path>,
) -> Result<(), MatrixError> {
    placement::pin_this_process(&cpus.all).doing(|| "unpin the matrix".to_string())?;
    outputs::write_outputs(dir, context, rows, compare_with)
}

/// Where the servers are: the lab-server binary, and for FastAPI scenarios a python that
/// exists and the package directory, made absolute (the server runs with its own PYTHONPATH).
fn launch(options: &MatrixOptions, server_bin: PathBuf) -> Result<Launch, MatrixError> {
    if let Some(python) = &options.fastapi_python
        && !python.is_file()
    {
        return Err(MatrixError::Options(format!(
            "FASTAPI_PYTHON {} is not a file: make the venv with `just matrix` (it creates \
             .venv-fastapi from services/fastapi/requirements.txt) or leave FASTAPI_PYTHON empty",
            python.display()
        )));
    }
    let fastapi_dir = std::path::absolute(&options.fastapi_dir)
        .doing(|| format!("find {}", options.fastapi_dir.display()))?;
    Ok(Launch {
        server_bin,
        fastapi_python: options.fastapi_python.clone(),
        fastapi_dir,
        // 5 s to spare (at least 1 s of drain).
        shutdown_timeout_s: options
            .server_stop_timeout
            .as_secs()
            .saturating_sub(5)
            .max(1),
    })
}

/// What the matrix options cannot ask for, checked before any server starts (the binary
/// turns an `Err` into a usage error, exit code 2): no scenario at all, two scenarios with
/// the same name (a value listed twice), a FastAPI endpoint the FastAPI server lacks, or a
/// scenario the load generator would refuse.
pub fn check(options: &MatrixOptions) -> Result<(), String> {
    let scenarios = plan(options);
    if scenarios.is_empty() {
        return Err("the matrix options select no scenario".to_string());
    }
    let workload = &options.workload;
    if workload.small_request.is_some()
        || workload.large_request.is_some()
        || workload.small_body != BodyKind::Json
        || workload.large_body != BodyKind::Json
        || workload.small_body_file.is_some()
        || workload.large_body_file.is_some()
        || workload.small_content_type.is_some()
        || workload.large_content_type.is_some()
    {
        return Err(
            "the matrix sends the study's JSON to each scenario's endpoint: \
                    SMALL_REQUEST, LARGE_REQUEST, SMALL_BODY, LARGE_BODY, their body files and \
                    content types are for a single lab-loadgen run (or lab-probe)"
                .to_string(),
        );
    }
    if options.allocators.is_empty() {
        return Err("MATRIX_ALLOCATORS: name at least one allocator".to_string());
    }
    if options.fastapi_python.is_some()
        && let Some(strategy) = options
            .fastapi_endpoints
            .iter()
            .find(|strategy| !strategy.on_fastapi())
    {
        let known: Vec<&str> = lab_core::Strategy::ALL
            .iter()
            .filter(|s| s.on_fastapi())
            .map(|s| s.path())
            .collect();
        return Err(format!(
            "MATRIX_FASTAPI_ENDPOINTS: the FastAPI server has no {strategy}; it has {}",
            known.join(", ")
        ));
    }
    for (index, scenario) in scenarios.iter().enumerate() {
        if scenarios[..index]
            .iter()
            .any(|s| s.name() == scenario.name())
        {
            return Err(format!(
                "scenario {} would run twice: a value is listed twice in MATRIX_WORKERS, \
                 MATRIX_ENDPOINTS, MATRIX_CONNECTIONS, MATRIX_ALLOCATORS or their \
                 MATRIX_FASTAPI_ twins",
                scenario.name()
            ));
        }
        let any_url = Url::parse("http://127.0.0.1:1").expect("a valid URL");
        load_options(options, scenario, any_url, Path::new("."))
            .check()
            .map_err(|error| format!("scenario {}: {error}", scenario.name()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every round runs every scenario once; the orders differ between rounds; the same seed
    /// gives the same orders, another seed others.
    #[test]
    fn rounds_shuffle_every_scenario_once_and_replay_from_the_seed() {
        let orders = round_orders(20, 5, 7);
        assert_eq!(orders.len(), 5);
        for order in &orders {
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        }
        let distinct: std::collections::BTreeSet<&Vec<usize>> = orders.iter().collect();
        assert_eq!(distinct.len(), 5, "each round its own order");
        assert_eq!(round_orders(20, 5, 7), orders);
        assert_ne!(round_orders(20, 5, 8), orders);
    }
}

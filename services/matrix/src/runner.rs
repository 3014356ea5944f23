//! The matrix loop: for each scenario, start its server, run the workload in-process (with the
//! server's lag histogram read right before and right after it), stop the server, record the
//! numbers, rewrite every output.
//!
//! Shutdown, step by step: Ctrl-C (or SIGTERM, or the caller's shutdown future) cancels one
//! token. The load generator's run of the current scenario watches that token: it stops
//! scheduling, drains what is in flight and returns its report (marked interrupted). The
//! server is then stopped as after any scenario, the outputs are written one last time, and
//! no further scenario starts. The servers run in their own process group, so the terminal's
//! Ctrl-C reaches only this process and the order above holds.

use std::future::Future;
use std::path::{Path, PathBuf};

use crate::error::{Doing, MatrixError};
use crate::lag::{EVENT_LOOP_LAG, LagScrape, LagScraper, METRICS_PATH, RunLag, ScrapeError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use crate::analysis::analyze;
use crate::launch::Launch;
use crate::options::MatrixOptions;
use crate::plots;
use crate::report::{RunContext, render};
use crate::scenario::{FASTAPI_ENDPOINTS, Scenario, Workload, plan};
use crate::server_process::{Expected, ServerProcess, check_server_bin, default_server_bin};
use crate::table::{MatrixRow, read_matrix_csv, write_matrix_csv};
use lab_loadgen::RunOptions;
use lab_loadgen::options::BodyKind;
use reqwest::Url;

/// The table of every scenario × class, inside the matrix directory.
pub const MATRIX_CSV: &str = "matrix.csv";
/// The report, inside the matrix directory.
pub const REPORT_MD: &str = "report.md";
/// How the matrix ran (a [`RunContext`] as JSON), so [`rerender`] can rebuild the report.
pub const RUN_JSON: &str = "matrix-run.json";
/// Directory (inside the matrix directory) holding each scenario's server log.
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
    /// Scenarios planned.
    pub planned: usize,
    /// Scenarios measured (the last one possibly cut short).
    pub done: usize,
    /// Whether the matrix was stopped early.
    pub interrupted: bool,
    /// The rows of `matrix.csv`.
    pub rows: Vec<MatrixRow>,
}

/// `lab-matrix`: runs the matrix until done or until Ctrl-C / SIGTERM, then says
/// where the results are.
pub async fn run(options: MatrixOptions) -> Result<(), MatrixError> {
    let outcome = match &options.report_only {
        Some(dir) => rerender(dir)?,
        None => run_with_shutdown(options, lab_loadgen::shutdown::signal()).await?,
    };
    println!(
        "matrix: {} of {} scenarios{}; results: {}, {}, plots in {}",
        outcome.done,
        outcome.planned,
        if outcome.interrupted {
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

/// The command line that reproduces this run: set knobs first, then the arguments.
fn command_line() -> String {
    let command = <MatrixOptions as clap::CommandFactory>::command();
    let own = command
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_string));
    let names: Vec<String> = own
        .chain(SERVER_ENV_KNOBS.iter().map(|name| name.to_string()))
        .collect();
    let mut parts: Vec<String> = names
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value}"))
        })
        .collect();
    parts.extend(std::env::args());
    parts.join(" ")
}

/// Runs the matrix until done or until `shutdown` resolves (tests pass their own).
pub async fn run_with_shutdown(
    options: MatrixOptions,
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

    let started = chrono::Local::now();
    let (_, dir) = lab_loadgen::files::create_run_dir(
        &options.results_dir.join("matrix"),
        None,
        &started.format("%Y%m%d-%H%M%S").to_string(),
    )
    .map_err(lab_loadgen::RunError::from)?;
    std::fs::create_dir_all(dir.join(SERVER_LOGS))
        .doing(|| format!("create {}", dir.join(SERVER_LOGS).display()))?;

    let cancel = CancellationToken::new();
    let on_shutdown = cancel.clone();
    // Aborted when this function returns, however it returns.
    let _watcher = AbortOnDropHandle::new(tokio::spawn(async move {
        shutdown.await;
        on_shutdown.cancel();
    }));

    let workload = Workload::from_options(&options);
    let mut context = RunContext {
        command: command_line(),
        started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        cpus: std::thread::available_parallelism().map_or(1, usize::from),
        platform: format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
        server_bin: server_bin.display().to_string(),
        fastapi_python: launch
            .fastapi_python
            .as_ref()
            .map(|python| python.display().to_string()),
        workload: workload.clone(),
        planned: scenarios.len(),
        done: 0,
        interrupted: false,
    };
    tracing::info!(dir = %dir.display(), scenarios = scenarios.len(), "matrix starts");

    let mut rows = Vec::new();
    let mut failure = None;
    for (index, scenario) in scenarios.iter().enumerate() {
        if cancel.is_cancelled() {
            break;
        }
        tracing::info!(scenario = %scenario.name, "scenario {}/{}", index + 1, scenarios.len());
        match run_scenario(&options, &launch, &dir, scenario, &workload, &cancel).await {
            Ok((scenario_rows, interrupted)) => {
                rows.extend(scenario_rows);
                context.done += 1;
                context.interrupted = interrupted || cancel.is_cancelled();
            }
            Err(error) => {
                failure = Some(MatrixError::Scenario {
                    scenario: scenario.name.clone(),
                    error: Box::new(error),
                });
            }
        }
        // Rewritten after every scenario: a matrix killed outright keeps what it measured.
        write_outputs(&dir, &context, &rows)?;
        if failure.is_some() || context.interrupted {
            break;
        }
    }
    context.interrupted |= cancel.is_cancelled();
    write_outputs(&dir, &context, &rows)?;
    if let Some(error) = failure {
        return Err(error);
    }
    tracing::info!(
        dir = %dir.display(),
        done = context.done,
        interrupted = context.interrupted,
        "matrix finished: matrix.csv, report.md and plots written"
    );
    Ok(MatrixOutcome {
        dir,
        planned: context.planned,
        done: context.done,
        interrupted: context.interrupted,
        rows,
    })
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
/// the same name (a value listed twice), or a scenario the load generator would refuse.
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
    {
        return Err(
            "the matrix sends the study's JSON to each scenario's endpoint: \
                    SMALL_REQUEST, LARGE_REQUEST, SMALL_BODY and LARGE_BODY are for a single \
                    lab-loadgen run"
                .to_string(),
        );
    }
    if options.fastapi_python.is_some()
        && let Some(endpoint) = options
            .fastapi_endpoints
            .iter()
            .find(|endpoint| !FASTAPI_ENDPOINTS.contains(&endpoint.as_str()))
    {
        return Err(format!(
            "MATRIX_FASTAPI_ENDPOINTS: the FastAPI server has no {endpoint}; it has {}",
            FASTAPI_ENDPOINTS.join(", ")
        ));
    }
    for (index, scenario) in scenarios.iter().enumerate() {
        if scenarios[..index].iter().any(|s| s.name == scenario.name) {
            return Err(format!(
                "scenario {} would run twice: a value is listed twice in MATRIX_WORKERS, \
                 MATRIX_ENDPOINTS, MATRIX_CONNECTIONS or their MATRIX_FASTAPI_ twins, or two \
                 endpoints have the same file-name form",
                scenario.name
            ));
        }
        let any_url = Url::parse("http://127.0.0.1:1").expect("a valid URL");
        load_options(options, scenario, any_url, Path::new("."))
            .check()
            .map_err(|error| format!("scenario {}: {error}", scenario.name))?;
    }
    Ok(())
}

/// One scenario: server up, workload, server down. Returns the rows and whether the run was
/// cut short. The load generator writes its files to `dir/<scenario>/`.
async fn run_scenario(
    options: &MatrixOptions,
    launch: &Launch,
    dir: &Path,
    scenario: &Scenario,
    workload: &Workload,
    cancel: &CancellationToken,
) -> Result<(Vec<MatrixRow>, bool), MatrixError> {
    let log_path = dir.join(SERVER_LOGS).join(format!("{}.log", scenario.name));
    let expected = Expected {
        workers: scenario.workers,
        keep_alive_s: scenario.server_keep_alive_s,
    };
    let server = ServerProcess::start(
        |port| scenario.server_command(port, launch),
        expected,
        &log_path,
        options.server_start_timeout,
    )
    .await?;
    let target_url = server
        .base_url()
        .parse()
        .map_err(|error| MatrixError::Server(format!("the server's URL: {error}")))?;
    let load_options = load_options(options, scenario, target_url, dir);
    // The lag histogram right before the load and right after it (drained, the server still
    // up): neither scrape is on a timed path. A worker's probe records a late wake on its
    // loop's next turn once the loop is free, microseconds after the last response it sent;
    // the load generator still writes its files after receiving that response, so the second
    // scrape comes later and holds every stall of the run.
    let lag_scraper = LagScraper::new(&server.base_url());
    let before = scrape_lag(lag_scraper.as_ref(), scenario, "before the load").await;
    let report = lab_loadgen::run(load_options, cancel.clone().cancelled_owned()).await;
    let after = match before {
        Some(_) => scrape_lag(lag_scraper.as_ref(), scenario, "after the load").await,
        None => None,
    };
    // The server is stopped whatever the load run did.
    let status = server.stop(options.server_stop_timeout).await?;
    if !status.success() {
        tracing::warn!(scenario = %scenario.name, %status, "the server did not exit cleanly");
    }
    // One run: the matrix does not follow the server (it starts one per scenario itself).
    let report = report?
        .pop()
        .ok_or_else(|| MatrixError::Options("the load generator reported no run".to_string()))?;
    let completed = !report.interrupted;
    let lag = match (before, after) {
        (Some(before), Some(after)) => {
            if after.is_empty() {
                tracing::info!(
                    scenario = %scenario.name,
                    "the server exports no {EVENT_LOOP_LAG}: the lag columns stay empty"
                );
            }
            RunLag::between(&before, &after)
        }
        _ => RunLag::default(),
    };
    let rows = report
        .classes
        .into_iter()
        .map(|summary| MatrixRow::new(scenario, workload, completed, summary, lag))
        .collect();
    if report.dir != dir.join(&scenario.name) {
        return Err(MatrixError::Options(format!(
            "the load generator wrote to {} instead of {}",
            report.dir.display(),
            dir.join(&scenario.name).display()
        )));
    }
    Ok((rows, report.interrupted))
}

/// One scrape of the scenario server's lag histogram. A failure is a warning, never a failed
/// scenario: the scenario's lag columns stay empty.
async fn scrape_lag(
    scraper: Result<&LagScraper, &ScrapeError>,
    scenario: &Scenario,
    when: &str,
) -> Option<LagScrape> {
    let error = match scraper {
        Ok(scraper) => match scraper.scrape().await {
            Ok(scrape) => return Some(scrape),
            Err(error) => error.to_string(),
        },
        Err(error) => error.to_string(),
    };
    tracing::warn!(
        scenario = %scenario.name,
        %error,
        "cannot read the server's {METRICS_PATH} {when}: the lag columns stay empty"
    );
    None
}

/// The load generator's options for one scenario: the matrix's workload and the scenario's
/// server and connection settings; the unloaded baseline runs no large class.
fn load_options(
    options: &MatrixOptions,
    scenario: &Scenario,
    target_url: Url,
    dir: &Path,
) -> RunOptions {
    let mut workload = options.workload.clone();
    if !scenario.has_large() {
        // The unloaded baseline: LARGE_SIZE_MB = 0 runs no large class at all.
        workload.large_size_mb = 0.0;
    }
    RunOptions {
        target_url,
        endpoint: scenario.endpoint.clone(),
        duration: options.duration,
        workload,
        connection: scenario.connection,
        pool: scenario.pool,
        metrics_bind: options.metrics_bind,
        results_dir: dir.to_path_buf(),
        run_id: Some(scenario.name.clone()),
        replica: None,
        // The matrix starts and checks each scenario's server itself; reading /healthz every
        // second would add requests to the measured server.
        server_check_interval: std::time::Duration::ZERO,
        run_as_results_owner: false,
        json: false,
        quiet: true,
    }
}

/// Rewrites matrix.csv, the plots and report.md from what has run so far.
fn write_outputs(dir: &Path, context: &RunContext, rows: &[MatrixRow]) -> Result<(), MatrixError> {
    write_matrix_csv(&dir.join(MATRIX_CSV), rows)?;
    std::fs::write(
        dir.join(RUN_JSON),
        serde_json::to_vec_pretty(context).doing(|| format!("encode {RUN_JSON}"))?,
    )
    .doing(|| format!("write {RUN_JSON}"))?;
    render_outputs(dir, context, rows)
}

/// Re-renders report.md and the plots of an existing matrix directory from its matrix.csv,
/// matrix-run.json and the scenarios' requests.csv, without running anything (e.g. after the
/// report code changed, or on a run copied under docs/).
pub fn rerender(dir: &Path) -> Result<MatrixOutcome, MatrixError> {
    let rows = read_matrix_csv(&dir.join(MATRIX_CSV))?;
    let run_json = dir.join(RUN_JSON);
    let context: RunContext = serde_json::from_slice(
        &std::fs::read(&run_json).doing(|| format!("read {}", run_json.display()))?,
    )
    .doing(|| format!("parse {}", run_json.display()))?;
    render_outputs(dir, &context, &rows)?;
    Ok(MatrixOutcome {
        dir: dir.to_path_buf(),
        planned: context.planned,
        done: context.done,
        interrupted: context.interrupted,
        rows,
    })
}

/// Writes report.md and the plots from the rows and each scenario's requests.csv
/// (`dir/<scenario>/requests.csv`, where the load generator put it).
fn render_outputs(dir: &Path, context: &RunContext, rows: &[MatrixRow]) -> Result<(), MatrixError> {
    let analysis = analyze(dir, rows.to_vec());
    let plots = plots::write_all(dir, &analysis)?;
    let report = render(context, &analysis, &plots);
    std::fs::write(dir.join(REPORT_MD), report).doing(|| format!("write {REPORT_MD}"))?;
    Ok(())
}

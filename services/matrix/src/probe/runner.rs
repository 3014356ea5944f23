//! The probe's loop: PROBE_REPS rounds, each running every level once in its own random
//! order (seeded, as the matrix's rounds), every output rewritten after every level, and a
//! stop when the server stops answering (the report then says what was not measured) or on
//! Ctrl-C.

use std::future::Future;
use std::path::{Path, PathBuf};

use lab_loadgen::options::{BodyFile, RequestLine};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::analysis::{LevelFindings, analyse};
use super::level_run::{LevelRun, LevelSlot, run_level};
use super::levels::{Level, size_mb_text};
use super::options::ProbeOptions;
use super::plot::small_p95_chart;
use super::report::{self, ProbeRun, coverage};
use super::table;
use super::target::{ServerMetrics, reachable};
use super::verdict::{VerdictSettings, verdict};
use crate::analysis::round_dir;
use crate::error::{Doing, MatrixError};
use crate::machine::MachineInfo;
use crate::run_info::{portable_command, portable_path};
use crate::runner::round_orders;

/// What a probe left behind.
#[derive(Debug, Clone)]
pub struct ProbeOutcome {
    /// `RESULTS_DIR/probe/<timestamp>`.
    pub dir: PathBuf,
    /// The verdict's headline.
    pub headline: String,
    /// Why the probe stopped early (the server stopped answering), when it did.
    pub stopped: Option<String>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
    /// The levels' findings.
    pub levels: Vec<LevelFindings>,
}

/// What must hold before anything is written: the options go together and TARGET_URL
/// accepts connections. The message says what to change.
pub async fn preflight(options: &ProbeOptions) -> Result<(), String> {
    options.check()?;
    reachable(&options.target_url).await.map_err(|why| {
        format!(
            "cannot reach TARGET_URL {}: {why}. Is the server running and listening there? \
             (From a container, a server on the host needs `--network host`; one on a compose \
             network is reached by its service name.)",
            options.target_url
        )
    })
}

/// Runs the probe until done, until the server stops answering, or until `shutdown`
/// resolves (tests pass their own).
pub async fn run_probe(
    options: ProbeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ProbeOutcome, MatrixError> {
    options.check().map_err(MatrixError::Options)?;
    let levels = Level::of_ladder(&options.ladder());
    let seed = options.seed.unwrap_or_else(fresh_seed);
    let orders = round_orders(levels.len(), options.reps, seed);
    let metrics = ServerMetrics::detect(&options.target_url).await;
    let base = std::env::current_dir().doing(|| "find the current directory".to_string())?;
    let started = chrono::Local::now();
    let (_, dir) = lab_loadgen::files::create_run_dir(
        &options.results_dir.join("probe"),
        None,
        &started.format("%Y%m%d-%H%M%S").to_string(),
    )
    .map_err(lab_loadgen::RunError::from)?;
    tracing::info!(
        dir = %dir.display(),
        server_metrics = metrics.is_some(),
        "probing {} in {} rounds of {} levels",
        options.target_url,
        options.reps,
        levels.len()
    );
    let cancel = CancellationToken::new();
    let on_shutdown = cancel.clone();
    // Aborted when this function returns, however it returns.
    let _watcher = AbortOnDropHandle::new(tokio::spawn(async move {
        shutdown.await;
        on_shutdown.cancel();
    }));
    let mut run = probe_run(&options, &levels, &orders, seed, &base, metrics.as_ref());
    run.started = started.to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    let mut runs: Vec<LevelRun> = Vec::new();
    'rounds: for (index, order) in orders.iter().enumerate() {
        let round = index as u32 + 1;
        let round_path = dir.join(round_dir(round));
        std::fs::create_dir_all(&round_path)
            .doing(|| format!("create {}", round_path.display()))?;
        for (position, &level_index) in order.iter().enumerate() {
            if cancel.is_cancelled() {
                run.interrupted = true;
                break 'rounds;
            }
            let level = levels[level_index];
            tracing::info!(round, level = %level.name(), "level");
            let slot = LevelSlot {
                round,
                position: position + 1,
                dir: &round_path,
            };
            let mut result = run_level(&options, level, slot, metrics.as_ref(), &cancel).await?;
            run.interrupted |= result.interrupted;
            if result.lost_connections()
                && let Err(why) = reachable(&options.target_url).await
            {
                let lost = format!(
                    "the server stopped answering during round {round}, {} ({why})",
                    level.label()
                );
                tracing::error!("{lost}");
                result.lost = Some(lost.clone());
                run.stopped = Some(lost);
            }
            runs.push(result);
            write_outputs(&dir, &mut run, &levels, &orders, &runs, options.threshold)?;
            if run.stopped.is_some() || run.interrupted {
                break 'rounds;
            }
        }
    }
    let (headline, findings) =
        write_outputs(&dir, &mut run, &levels, &orders, &runs, options.threshold)?;
    Ok(ProbeOutcome {
        dir,
        headline,
        stopped: run.stopped,
        interrupted: run.interrupted,
        levels: findings,
    })
}

/// Rewrites probe.csv, the chart, probe-run.json and report.md from the runs so far;
/// returns the headline and the findings.
fn write_outputs(
    dir: &Path,
    run: &mut ProbeRun,
    levels: &[Level],
    orders: &[Vec<usize>],
    runs: &[LevelRun],
    threshold: f64,
) -> Result<(String, Vec<LevelFindings>), MatrixError> {
    run.done = runs.len();
    run.measured = runs.iter().filter(|r| r.measured()).count();
    let why_not = match (&run.stopped, run.interrupted) {
        (Some(_), _) => "the probe stopped when the server stopped answering",
        (None, true) => "the probe was stopped by Ctrl-C",
        (None, false) => "not yet run",
    };
    table::write(dir, &table::rows(levels, orders, runs, why_not))?;
    let findings = analyse(levels, runs, run.reps, threshold);
    let rounds = findings
        .iter()
        .map(|l| l.measured_rounds.len())
        .max()
        .unwrap_or(0);
    let settings = VerdictSettings {
        threshold,
        interval_s: run.large_interval_s,
        coverage: coverage(rounds),
        stopped: run.stopped.as_deref(),
    };
    let verdict = verdict(&findings, &settings);
    let plot = small_p95_chart(dir, &findings, runs)?;
    let text = report::render(run, &findings, &verdict, plot.as_ref());
    report::write(dir, run, &text)?;
    Ok((verdict.headline, findings))
}

/// The record of how the probe runs, before any level ran.
fn probe_run(
    options: &ProbeOptions,
    levels: &[Level],
    orders: &[Vec<usize>],
    seed: u64,
    base: &Path,
    metrics: Option<&ServerMetrics>,
) -> ProbeRun {
    let workload = &options.workload;
    let request = |line: &Option<RequestLine>| {
        line.as_ref()
            .map_or_else(|| format!("POST {}", options.endpoint), ToString::to_string)
    };
    ProbeRun {
        command: portable_command(command_words(), base),
        started: String::new(),
        target_url: options.target_url.to_string(),
        small_request: request(&workload.small_request),
        small_size_mb: workload.small_size_mb,
        small_body: workload.small_body,
        small_body_file: file_path(&workload.small_body_file, base),
        small_interval_s: workload.small_interval.as_secs_f64(),
        large_request: request(&workload.large_request),
        large_body: workload.large_body,
        large_body_file: file_path(&workload.large_body_file, base),
        large_interval_s: workload.large_interval.as_secs_f64(),
        sizes_mb: options.ladder(),
        ladder: options
            .ladder()
            .iter()
            .map(|&size| size_mb_text(size))
            .collect::<Vec<_>>()
            .join(", "),
        duration_s: options.duration.as_secs_f64(),
        reps: options.reps,
        seed,
        threshold: options.threshold,
        connection: options.connection,
        schedule: workload.schedule,
        check_answers: workload.check_answers,
        request_timeout_s: workload.request_timeout.as_secs_f64(),
        orders: orders
            .iter()
            .map(|order| order.iter().map(|&i| levels[i].name()).collect())
            .collect(),
        server_metrics: metrics.is_some(),
        server_workers: metrics.and_then(|m| m.workers),
        machine: MachineInfo::here(
            base,
            std::thread::available_parallelism().map_or(1, usize::from),
        ),
        done: 0,
        planned: orders.iter().map(Vec::len).sum(),
        measured: 0,
        stopped: None,
        interrupted: false,
    }
}

/// The command line that reproduces this probe: the probe's own variables that are set, then
/// the arguments.
fn command_words() -> Vec<String> {
    let command = <ProbeOptions as clap::CommandFactory>::command();
    let set: Vec<String> = command
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_string))
        .filter_map(|name| Some(format!("{name}={}", std::env::var(&name).ok()?)))
        .collect();
    set.into_iter().chain(std::env::args()).collect()
}

/// A seed from the clock, when none was given.
fn fresh_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos() as u64)
}

/// A body file's path as the run's files name it ([`portable_path`]).
fn file_path(file: &Option<BodyFile>, base: &Path) -> Option<String> {
    file.as_ref().map(|file| portable_path(&file.path, base))
}

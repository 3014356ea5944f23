//! `lab-loadgen`: parse the command line, run the workload, print the report of each run.
//!
//! Exit codes: 0 done (also when interrupted, even while the bodies were being built); 1 the
//! run could not be set up or its files written; 2 a bad option (clap's code, also for checks
//! across options, BODY_MEMORY_MB's included); 3 ([`lab_loadgen::EXIT_ALL_FAILED`]) requests
//! were sent and none succeeded, CSVs and report still written.
use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use clap::{CommandFactory, Parser};
use lab_loadgen::{EXIT_ALL_FAILED, RunOptions, owner::RunsAs};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<ExitCode> {
    let options = RunOptions::parse();
    if let Err(error) = options.check() {
        RunOptions::command()
            .error(clap::error::ErrorKind::ArgumentConflict, error)
            .exit();
    }
    let default_level = if options.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    // Before any other thread exists: the switch applies to the whole process, for good.
    if options.run_as_results_owner {
        match lab_loadgen::owner::become_results_owner(&options.results_dir)? {
            RunsAs::Owner { uid, gid } => tracing::info!(
                uid,
                gid,
                results = %options.results_dir.display(),
                "running as the owner of the results directory"
            ),
            RunsAs::Root => tracing::info!(
                results = %options.results_dir.display(),
                "the results directory belongs to root: running as root"
            ),
            RunsAs::Unchanged => {}
        }
    }
    // One event loop on one thread, like `wrk -t1`: the client's own overhead per request is
    // about half that of the multi-threaded runtime (no cross-thread wake-ups between a
    // request and its connection task), and nothing here needs more: bodies are built on the
    // blocking pool, the collector and the /metrics server have their own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let json = options.json;
    // The signal handlers are made inside the runtime: they need its driver.
    let reports = runtime
        .block_on(async { lab_loadgen::run(options, lab_loadgen::shutdown::signal()).await })?;
    if reports.is_empty() {
        eprintln!("interrupted while the bodies were being built: no run started, nothing written");
    }
    let mut stdout = std::io::stdout().lock();
    for report in &reports {
        if json {
            report.write_json(&mut stdout)?;
            eprintln!("{}", report.files_line());
        } else {
            report.write_table(&mut stdout)?;
        }
    }
    stdout.flush()?;
    if let Some(failed) = reports.iter().find(|report| report.all_failed())
        && reports
            .iter()
            .all(|report| report.all_failed() || report.sent() == 0)
    {
        eprintln!("{}", failed.failure_line());
        return Ok(ExitCode::from(EXIT_ALL_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

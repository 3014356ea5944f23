//! `lab-loadgen`: parse the command line, run the workload, print the report.
//!
//! Exit codes: 0 done; 1 the run could not be set up or its files written; 2 a bad option
//! (clap's code, also for checks across options); 3 ([`lab_loadgen::EXIT_ALL_FAILED`])
//! requests were sent and none succeeded, CSVs and report still written.
use std::{
    io::{IsTerminal, Write},
    process::ExitCode,
};

use clap::{CommandFactory, Parser};
use lab_loadgen::{EXIT_ALL_FAILED, RunOptions};
use tracing_subscriber::EnvFilter;

// One event loop on one thread, like `wrk -t1`: the client's own overhead per request is
// about half that of the multi-threaded runtime (no cross-thread wake-ups between a request
// and its connection task), and nothing here needs more: bodies are built on the blocking
// pool, the collector and the /metrics server have their own threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
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
    let json = options.json;
    let report = lab_loadgen::run(options, lab_loadgen::shutdown::signal()).await?;
    let mut stdout = std::io::stdout().lock();
    if json {
        report.write_json(&mut stdout)?;
        eprintln!("{}", report.files_line());
    } else {
        report.write_table(&mut stdout)?;
    }
    stdout.flush()?;
    if report.all_failed() {
        eprintln!("{}", report.failure_line());
        return Ok(ExitCode::from(EXIT_ALL_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}

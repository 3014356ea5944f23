//! `lab-probe`: parse the command line, check the settings and that TARGET_URL answers, run
//! the probe, print the verdict and where the report is. Exit codes: 0 every level of every
//! round measured (or stopped by Ctrl-C); 1 the probe could not run or write its files; 2 a
//! bad option or an unreachable TARGET_URL (nothing written); 3 the server stopped answering
//! during the probe (the report says what was measured and what was not).
use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use lab_matrix::probe::ProbeOptions;
use tracing_subscriber::EnvFilter;

/// Exit code when the server stopped answering during the probe.
const EXIT_SERVER_STOPPED: u8 = 3;

// The workload runs in this process, on one thread, exactly as `lab-loadgen` runs it.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<ExitCode> {
    let options = ProbeOptions::parse();
    if let Err(message) = lab_matrix::probe::preflight(&options).await {
        ProbeOptions::command()
            .error(clap::error::ErrorKind::ValueValidation, message)
            .exit();
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let outcome = lab_matrix::probe::run_probe(options, lab_loadgen::shutdown::signal()).await?;
    println!("verdict: {}", outcome.headline);
    println!(
        "report: {}",
        outcome
            .dir
            .join(lab_matrix::probe::report::REPORT_MD)
            .display()
    );
    Ok(match outcome.stopped {
        Some(why) => {
            eprintln!("lab-probe: {why}; the report says what was measured and what was not");
            ExitCode::from(EXIT_SERVER_STOPPED)
        }
        None => ExitCode::SUCCESS,
    })
}

//! `lab-loadgen`: parse the command line, run the workload (or the matrix), print the report.
use std::io::{IsTerminal, Write};

use clap::{CommandFactory, Parser};
use lab_loadgen::{Cli, Command};
use tracing_subscriber::EnvFilter;

// One event loop on one thread, like `wrk -t1`: the client's own overhead per request is
// about half that of the multi-threaded runtime (no cross-thread wake-ups between a request
// and its connection task), and nothing here needs more: bodies are built on the blocking
// pool, the collector and the /metrics server have their own threads.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if cli.command.is_none()
        && let Err(message) = cli.run.check()
    {
        Cli::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    let default_level = if cli.run.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli.command {
        Some(Command::Matrix(options)) => lab_loadgen::matrix::run(options).await,
        None => {
            let json = cli.run.json;
            let report = lab_loadgen::run(cli.run, lab_loadgen::shutdown::signal()).await?;
            let mut stdout = std::io::stdout().lock();
            if json {
                report.write_json(&mut stdout)?;
                eprintln!("{}", report.files_line());
            } else {
                report.write_table(&mut stdout)?;
            }
            stdout.flush()?;
            Ok(())
        }
    }
}

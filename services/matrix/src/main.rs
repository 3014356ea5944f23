//! `lab-matrix`: parse the command line, run the matrix (or re-render a finished one), say
//! where the results are. Exit codes: 0 done (interrupted or not); 1 the matrix could not
//! run or write its results; 2 a bad option, or options that select no valid scenario.
use std::io::IsTerminal;

use clap::{CommandFactory, Parser};
use lab_matrix::MatrixOptions;
use tracing_subscriber::EnvFilter;

// The workload runs in this process, on one thread, exactly as `lab-loadgen` runs it (see its
// main.rs): the client's own overhead is the same in a matrix row and in a plain run.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let options = MatrixOptions::parse();
    if options.report_only.is_none()
        && options.docs.is_none()
        && let Err(message) = lab_matrix::check(&options)
    {
        MatrixOptions::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit();
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match options.docs {
        Some(mode) => lab_matrix::docs::docs_command(mode)?,
        None => lab_matrix::run(options).await?,
    }
    Ok(())
}

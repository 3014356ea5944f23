//! `lab-loadgen-merge`: join the run directories of several load generators (replicas) into
//! one run: requests.csv with every row, summary.csv over every request (HdrHistograms
//! merged exactly). Prints each run's numbers and the merged ones side by side.
//!
//! Exit codes: 0 merged; 1 the runs could not be read, differ, or the output exists;
//! 2 a bad option (clap's).

use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use lab_loadgen::merge::merge_runs;

/// Join several load generators' runs (e.g. `results/<run-id>-replica-*`) into one.
#[derive(Debug, Parser)]
#[command(name = "lab-loadgen-merge", version)]
struct MergeOptions {
    /// Directory to create for the merged run (must not exist).
    #[arg(long, env = "MERGE_OUT")]
    out: PathBuf,

    /// The run directories to merge (each with requests.csv and summary.csv).
    #[arg(required = true)]
    runs: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let options = MergeOptions::parse();
    match merge_runs(&options.runs, &options.out) {
        Ok(merged) => {
            print!("{}", lab_loadgen::merge::table(&merged));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("lab-loadgen-merge: {error}");
            ExitCode::FAILURE
        }
    }
}

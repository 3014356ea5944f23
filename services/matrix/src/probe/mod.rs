//! `lab-probe`: does a server's upload route starve its small requests? The lab's question,
//! asked of any server over HTTP, with the matrix's method: the small requests alone, then
//! beside uploads of each size of a ladder, in REPS rounds of random order, every figure a
//! median over the rounds with an interval, every ratio taken within rounds, saturation
//! named, and a verdict that claims no more than the intervals hold.
//!
//! # Layout
//! - [`options`]: the command line, [`ProbeOptions`]; the workload is lab-loadgen's
//!   [`lab_loadgen::WorkloadArgs`].
//! - [`levels`]: `alone` and the ladder's sizes, their names and labels.
//! - [`target`]: the server from outside: reachable or not, the lab's metrics or not.
//! - [`level_run`]: one level of one round, run in-process by lab-loadgen's library.
//! - [`runner`]: the rounds, the stop when the server goes away, the outputs.
//! - [`table`]: `probe.csv`, one row per round and level planned.
//! - [`analysis`]: the levels' medians, intervals, ratios, errors and saturation.
//! - [`effect`]: what one level's ratio says against the threshold.
//! - [`verdict`]: what the ratios' intervals allow the probe to say.
//! - [`report`]: `probe-run.json`, and `report.md` from `templates/probe.md.j2`.
//! - [`plot`]: `small_p95.svg`, the small p95 against upload size.

pub mod analysis;
pub mod effect;
pub mod level_run;
pub mod levels;
pub mod options;
pub mod plot;
pub mod report;
pub mod runner;
pub mod table;
pub mod target;
pub mod verdict;

pub use options::ProbeOptions;
pub use runner::{ProbeOutcome, preflight, run_probe};

//! `matrix-run.json`: how a matrix ran, so `--report-only` can rebuild its report and
//! `--compare-with` can set two runs side by side: the command, the machine and the code, the
//! settings, the seed, and per round its order and the machine's calibration, load and steal.
//! Fields added since the first committed runs carry defaults, so those still read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Doing, MatrixError};
use crate::machine::MachineInfo;
use crate::placement::CpuSets;
use crate::scenario::Workload;

/// The run's file, inside the matrix directory.
pub const RUN_JSON: &str = "matrix-run.json";

/// The drift bound: calibrations further apart than this (relative to the fastest) mean the
/// machine's speed changed during the run.
pub const DRIFT_BOUND: f64 = 0.10;

/// One round: its order and the machine around it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoundInfo {
    /// The round (1-based).
    pub round: u32,
    /// The scenarios' names, in the order they ran.
    pub order: Vec<String>,
    /// When it started (RFC 3339).
    pub started: String,
    /// Seconds it took, calibrations included.
    pub seconds: f64,
    /// The calibration before it, ms.
    pub calibration_before_ms: Option<f64>,
    /// The calibration after it, ms.
    pub calibration_after_ms: Option<f64>,
    /// 1-minute load average at its start.
    pub load_before: Option<f64>,
    /// 1-minute load average at its end.
    pub load_after: Option<f64>,
    /// Share of CPU time stolen by the hypervisor during it.
    pub steal_share: Option<f64>,
    /// Share of CPU time waiting for I/O during it.
    pub iowait_share: Option<f64>,
}

impl RoundInfo {
    /// `(after - before) / min(before, after)`: how much the machine's speed moved within
    /// the round.
    pub fn drift(&self) -> Option<f64> {
        let (before, after) = (self.calibration_before_ms?, self.calibration_after_ms?);
        let low = before.min(after);
        (low > 0.0).then(|| (after - before).abs() / low)
    }

    /// The round's calibration, ms: the mean of the timings before and after it (either one
    /// when only one was taken).
    pub fn calibration_ms(&self) -> Option<f64> {
        match (self.calibration_before_ms, self.calibration_after_ms) {
            (Some(before), Some(after)) => Some((before + after) / 2.0),
            (one, other) => one.or(other),
        }
        .filter(|ms| *ms > 0.0)
    }
}

/// How and where the matrix ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunContext {
    /// The command line, with paths made relative to the directory it ran in.
    pub command: String,
    /// When the matrix started (local time, RFC 3339).
    pub started: String,
    /// Logical CPUs available (what `nproc` prints).
    pub cpus: usize,
    /// `os/arch`.
    pub platform: String,
    /// The lab-server binary that was started (relative to the directory the matrix ran in,
    /// or its name).
    pub server_bin: String,
    /// The python that ran the FastAPI scenarios (`python -m labfastapi`, uvicorn), if any.
    #[serde(default)]
    pub fastapi_python: Option<String>,
    /// The workload every scenario ran.
    pub workload: Workload,
    /// Scenario runs planned (scenarios × rounds).
    pub planned: usize,
    /// Scenario runs measured (the last one possibly cut short).
    pub done: usize,
    /// Whether Ctrl-C stopped the matrix early.
    pub interrupted: bool,
    /// Rounds asked for (1 in runs from before the matrix had rounds).
    #[serde(default = "one")]
    pub reps: u32,
    /// The seed of the rounds' orders.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The machine and the code.
    #[serde(default)]
    pub machine: MachineInfo,
    /// The CPUs of each side under the `split` placement.
    #[serde(default)]
    pub cpu_sets: Option<CpuSets>,
    /// Every setting of the matrix, as its options (the workload included).
    #[serde(default)]
    pub settings: serde_json::Value,
    /// Size of the calibration body, MB.
    #[serde(default)]
    pub calibration_mb: Option<f64>,
    /// MATRIX_TARGET_UTILISATION, when the interval between uploads was set from the first
    /// calibration (the workload's `large_interval_s` is the interval it gave).
    #[serde(default)]
    pub target_utilisation: Option<f64>,
    /// The rounds that ran.
    #[serde(default)]
    pub rounds: Vec<RoundInfo>,
}

fn one() -> u32 {
    1
}

impl RunContext {
    /// Every calibration of the run, ms.
    pub fn calibrations(&self) -> Vec<f64> {
        self.rounds
            .iter()
            .flat_map(|r| [r.calibration_before_ms, r.calibration_after_ms])
            .flatten()
            .collect()
    }

    /// The median calibration of the run, ms.
    pub fn calibration_median(&self) -> Option<f64> {
        crate::interval::median(&mut self.calibrations())
    }

    /// `(slowest - fastest) / fastest` over every calibration of the run.
    pub fn drift(&self) -> Option<f64> {
        let calibrations = self.calibrations();
        let fastest = calibrations.iter().copied().reduce(f64::min)?;
        let slowest = calibrations.iter().copied().reduce(f64::max)?;
        (fastest > 0.0).then(|| (slowest - fastest) / fastest)
    }

    /// Reads `dir`'s matrix-run.json.
    pub fn read(dir: &Path) -> Result<Self, MatrixError> {
        let path = dir.join(RUN_JSON);
        serde_json::from_slice(&std::fs::read(&path).doing(|| format!("read {}", path.display()))?)
            .doing(|| format!("parse {}", path.display()))
    }

    /// Writes it to `dir`'s matrix-run.json.
    pub fn write(&self, dir: &Path) -> Result<(), MatrixError> {
        let text = serde_json::to_vec_pretty(self).doing(|| format!("encode {RUN_JSON}"))?;
        std::fs::write(dir.join(RUN_JSON), text).doing(|| format!("write {RUN_JSON}"))
    }
}

/// `path` as the run's files name it: relative to `base` (where the matrix ran: the
/// repository when run by `just matrix`) when it is inside it, else its file name. No machine
/// path lands in a run's files.
pub fn portable_path(path: &Path, base: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    match absolute.strip_prefix(base) {
        Ok(relative) => relative.display().to_string(),
        Err(_) if path.is_relative() => path.display().to_string(),
        Err(_) => path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        ),
    }
}

/// A command line with every absolute path that exists on this machine (an argument, or a
/// `--flag=value`'s value) made portable as [`portable_path`] does; other values (`/ping`)
/// stay as they are.
pub fn portable_command(args: impl IntoIterator<Item = String>, base: &Path) -> String {
    let path = |text: &str| {
        let path = PathBuf::from(text);
        (path.is_absolute() && path.exists()).then(|| portable_path(&path, base))
    };
    args.into_iter()
        .map(|arg| {
            if let Some(portable) = path(&arg) {
                return portable;
            }
            match arg.split_once('=') {
                Some((flag, value)) => match path(value) {
                    Some(portable) => format!("{flag}={portable}"),
                    None => arg,
                },
                None => arg,
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths inside the base become relative, others keep only their name; values that only
    /// look like paths (`/ping,/stream`) stay.
    #[test]
    fn machine_paths_stay_out() {
        let base = Path::new("/work/main");
        assert_eq!(
            portable_path(Path::new("/work/main/target/release/lab-server"), base),
            "target/release/lab-server"
        );
        assert_eq!(
            portable_path(Path::new("/opt/bin/lab-server"), base),
            "lab-server"
        );
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("results");
        std::fs::create_dir(&results).unwrap();
        let binary = dir.path().join("lab-matrix");
        std::fs::write(&binary, "").unwrap();
        let command = portable_command(
            [
                binary.display().to_string(),
                format!("RESULTS_DIR={}", results.display()),
                "MATRIX_ENDPOINTS=/ping,/stream".to_string(),
                "--reps".to_string(),
                "2".to_string(),
            ],
            dir.path(),
        );
        assert_eq!(
            command,
            "lab-matrix RESULTS_DIR=results MATRIX_ENDPOINTS=/ping,/stream --reps 2"
        );
    }

    /// Drift is the spread of the calibrations; a round's own drift is its before and after.
    #[test]
    fn drift_over_the_run_and_within_a_round() {
        let round = |round, before, after| RoundInfo {
            round,
            calibration_before_ms: Some(before),
            calibration_after_ms: Some(after),
            ..RoundInfo::default()
        };
        let rounds = vec![round(1, 800.0, 820.0), round(2, 900.0, 1000.0)];
        assert!((rounds[1].drift().unwrap() - 100.0 / 900.0).abs() < 1e-12);
        let context: RunContext = serde_json::from_value(serde_json::json!({
            "command": "x", "started": "s", "cpus": 2, "platform": "p", "server_bin": "b",
            "workload": {"duration_s": 1.0, "small_size_mb": 0.001, "small_interval_s": 0.1,
                         "large_size_mb": 25.0, "large_interval_s": 1.0, "schedule": "open"},
            "planned": 1, "done": 1, "interrupted": false
        }))
        .unwrap();
        assert_eq!((context.reps, context.drift()), (1, None));
        let context = RunContext { rounds, ..context };
        assert!((context.drift().unwrap() - 0.25).abs() < 1e-12);
        assert_eq!(context.calibration_median(), Some(860.0));
    }
}

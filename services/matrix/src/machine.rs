//! The machine under the matrix: how fast it is and how noisy, measured, and what it is.
//!
//! - **Calibration**: a fixed piece of work timed before and after every round, the owned-map
//!   parse of one 25 MB study body (lab-core's generator, a fixed seed; serde_json into a
//!   struct with a `HashMap<String, i64>`, as lab-server's `/ping` does), on one thread, 3
//!   times, the median. A machine that runs it 2× slower runs every parse on the loop 2×
//!   slower, and may push a scenario past saturation.
//! - **Load and steal**: the load average (`/proc/loadavg`) at a round's start and end, and
//!   the share of CPU time stolen by the hypervisor and waiting for I/O during the round
//!   (`/proc/stat`'s `steal` and `iowait` against its total).
//! - **What it is**: git commit (and whether the tree had changes), CPU model, CPU count,
//!   kernel.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Seed of the calibration body: always the same bytes.
pub const CALIBRATION_SEED: u64 = 2026;
/// Timed parses per calibration; the median is kept.
pub const CALIBRATION_RUNS: usize = 3;

/// The study body as lab-server's `/ping` reads it: an owned map.
#[derive(Deserialize)]
struct OwnedBody {
    #[allow(dead_code)]
    name: String,
    data: HashMap<String, i64>,
}

/// The calibration body of `size_mb` (the study's 25 MB by default; generated once per
/// matrix, never on a timed path).
pub fn calibration_body(size_mb: f64) -> Vec<u8> {
    lab_core::payload::generate_seeded("calibration", size_mb, CALIBRATION_SEED)
}

/// Times the owned-map parse of `body` [`CALIBRATION_RUNS`] times on this thread: the median,
/// ms. The map is dropped inside the timing, as `/ping` drops it.
pub fn calibrate(body: &[u8]) -> f64 {
    let mut times: Vec<f64> = (0..CALIBRATION_RUNS)
        .map(|_| {
            let start = Instant::now();
            let parsed: Result<OwnedBody, _> = serde_json::from_slice(body);
            let keys = parsed.map_or(0, |b| b.data.len());
            std::hint::black_box(keys);
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    crate::interval::median(&mut times).unwrap_or(f64::NAN)
}

/// The seconds between uploads at which the calibration's parse (`calibration_ms`, the
/// owned-map parse /ping does per upload) takes `target` of the interval: what
/// MATRIX_TARGET_UTILISATION sets LARGE_INTERVAL to, so machines of different speeds run
/// one worker's /ping at the same load.
pub fn interval_for(calibration_ms: f64, target: f64) -> std::time::Duration {
    std::time::Duration::from_secs_f64(calibration_ms / target / 1e3)
}

/// `/proc/stat`'s first line: CPU time in ticks since boot.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTimes {
    /// Every field added up.
    pub total: u64,
    /// Waiting for I/O.
    pub iowait: u64,
    /// Taken by the hypervisor for other guests.
    pub steal: u64,
}

impl CpuTimes {
    /// Reads `/proc/stat`; zeros where it cannot be read.
    pub fn now() -> Self {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|text| Self::parse(&text))
            .unwrap_or_default()
    }

    /// The `cpu` line: user nice system idle iowait irq softirq steal guest guest_nice (guest
    /// time is already in user and nice, so it is not added twice).
    pub fn parse(text: &str) -> Option<Self> {
        let line = text.lines().find(|line| line.starts_with("cpu "))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .map(|field| field.parse().unwrap_or(0))
            .collect();
        let field = |index: usize| fields.get(index).copied().unwrap_or(0);
        Some(Self {
            total: (0..8).map(field).sum(),
            iowait: field(4),
            steal: field(7),
        })
    }

    /// The shares of steal and iowait between `before` and now: `(steal, iowait)`.
    pub fn shares_since(&self, before: &CpuTimes) -> (Option<f64>, Option<f64>) {
        let total = self.total.saturating_sub(before.total);
        if total == 0 {
            return (None, None);
        }
        let share = |now: u64, then: u64| Some(now.saturating_sub(then) as f64 / total as f64);
        (
            share(self.steal, before.steal),
            share(self.iowait, before.iowait),
        )
    }
}

/// The 1-minute load average; `None` where `/proc/loadavg` cannot be read.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// What machine and code the matrix ran on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// `git rev-parse HEAD` where the matrix ran; empty outside a checkout.
    #[serde(default)]
    pub git_commit: String,
    /// Whether `git status --porcelain` listed changes.
    #[serde(default)]
    pub git_dirty: bool,
    /// `/proc/cpuinfo`'s first `model name`.
    #[serde(default)]
    pub cpu_model: String,
    /// CPUs the matrix could use.
    #[serde(default)]
    pub cores: usize,
    /// `/proc/sys/kernel/osrelease`.
    #[serde(default)]
    pub kernel: String,
}

impl MachineInfo {
    /// This machine, and the checkout at `dir` (the current directory).
    pub fn here(dir: &Path, cores: usize) -> Self {
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(dir)
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
        };
        let git_commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
        let git_dirty = !git_commit.is_empty()
            && git(&["status", "--porcelain"]).is_some_and(|status| !status.is_empty());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_string())
            })
            .unwrap_or_default();
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|text| text.trim().to_string())
            .unwrap_or_default();
        Self {
            git_commit,
            git_dirty,
            cpu_model,
            cores,
            kernel,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calibration parses the body it is given: a real parse takes time, and a smaller
    /// body takes less (a ratio, on this noisy machine, never an absolute bound).
    #[test]
    fn calibration_times_a_real_parse() {
        let small = lab_core::payload::generate_seeded("c", 0.5, CALIBRATION_SEED);
        let large = lab_core::payload::generate_seeded("c", 5.0, CALIBRATION_SEED);
        let (small_ms, large_ms) = (calibrate(&small), calibrate(&large));
        assert!(small_ms > 0.0 && large_ms > 0.0);
        assert!(large_ms > small_ms * 2.0, "{small_ms} ms vs {large_ms} ms");
    }

    /// A 900 ms parse at a target of 0.8 gives uploads every 1.125 s.
    #[test]
    fn the_interval_puts_the_parse_at_the_target_share() {
        assert_eq!(interval_for(900.0, 0.8).as_secs_f64(), 1.125);
        assert_eq!(interval_for(1800.0, 0.8).as_secs_f64(), 2.25);
    }

    /// Steal and iowait shares come from the `cpu` line's differences.
    #[test]
    fn cpu_shares_are_differences_of_the_cpu_line() {
        let before = CpuTimes::parse("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n").unwrap();
        let after = CpuTimes::parse("cpu  200 0 100 1500 30 0 0 120 5 0\n").unwrap();
        assert_eq!(before.total, 1000);
        let (steal, iowait) = after.shares_since(&before);
        // Total +950: steal +80, iowait +20.
        assert!((steal.unwrap() - 80.0 / 950.0).abs() < 1e-12);
        assert!((iowait.unwrap() - 20.0 / 950.0).abs() < 1e-12);
        assert_eq!(before.shares_since(&before), (None, None));
        assert!(CpuTimes::parse("nothing").is_none());
    }

    /// This machine says what it is.
    #[test]
    fn machine_info_reads_this_machine() {
        let info = MachineInfo::here(Path::new(env!("CARGO_MANIFEST_DIR")), 2);
        assert_eq!(info.cores, 2);
        assert!(!info.kernel.is_empty());
        assert_eq!(info.git_commit.len(), 40, "run inside the lab's checkout");
        assert!(load_average().is_some());
        assert!(CpuTimes::now().total > 0);
    }
}

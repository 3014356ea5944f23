//! One level of one round: the load generator run in-process against TARGET_URL with the
//! level's upload size (no uploads `alone`), the server's own time on uploads read around
//! it when the server exports the lab's metrics, and the requests read back to judge whether
//! the upload route kept up.

use std::path::Path;
use std::time::Duration;

use lab_core::csv_rows::REQUESTS_CSV;
use lab_core::{Class, ClientErrorKind, Statistic};
use lab_loadgen::{ClassSummary, RunOptions};
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::levels::Level;
use super::options::ProbeOptions;
use super::target::ServerMetrics;
use crate::error::MatrixError;
use crate::requests::read_requests_csv;
use crate::saturation::{Saturation, queue_growth, upload_size_class};

/// What one level measured in one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelRun {
    /// The round (1-based).
    pub round: u32,
    /// Its position in the round's order (1-based).
    pub position: usize,
    /// The level.
    pub level: Level,
    /// The small requests' numbers.
    pub small: Option<ClassSummary>,
    /// The uploads' numbers (none `alone`).
    pub large: Option<ClassSummary>,
    /// Whether the upload route kept up (default `alone`).
    pub saturation: Saturation,
    /// Whether Ctrl-C cut the run short.
    pub interrupted: bool,
    /// Why this run's numbers are not used, when they are not (the server stopped
    /// answering during it).
    pub lost: Option<String>,
}

impl LevelRun {
    /// Whether its numbers count: not lost, not cut short, and some small request answered.
    pub fn measured(&self) -> bool {
        self.lost.is_none()
            && !self.interrupted
            && self.small.as_ref().is_some_and(|s| s.stats.ok > 0)
    }

    /// A statistic of the small requests, ms.
    pub fn small_ms(&self, statistic: Statistic) -> Option<f64> {
        self.small.as_ref()?.stats.get(statistic)
    }

    /// A statistic of the uploads, ms.
    pub fn large_ms(&self, statistic: Statistic) -> Option<f64> {
        self.large.as_ref()?.stats.get(statistic)
    }

    /// Whether some request failed to connect or lost its connection: the sign of a server
    /// that went away, checked by connecting again.
    pub fn lost_connections(&self) -> bool {
        let connection_kinds = [
            ClientErrorKind::ConnectRefused,
            ClientErrorKind::Connect,
            ClientErrorKind::Reset,
        ];
        let nothing_answered = self.small.as_ref().is_none_or(|s| s.stats.ok == 0);
        nothing_answered
            || [&self.small, &self.large].into_iter().flatten().any(|s| {
                connection_kinds
                    .iter()
                    .any(|kind| s.errors_by_kind.contains_key(kind))
            })
    }
}

/// Where one level runs.
pub struct LevelSlot<'a> {
    /// The round (1-based).
    pub round: u32,
    /// Position in the round's order (1-based).
    pub position: usize,
    /// The round's directory: the load generator writes `<level>/` in it.
    pub dir: &'a Path,
}

/// Runs `level` in `slot`.
pub async fn run_level(
    options: &ProbeOptions,
    level: Level,
    slot: LevelSlot<'_>,
    metrics: Option<&ServerMetrics>,
    cancel: &CancellationToken,
) -> Result<LevelRun, MatrixError> {
    let size_class = upload_size_class(level.upload_mb());
    let uploads = matches!(level, Level::Uploads { .. });
    let before = match (metrics, uploads) {
        (Some(metrics), true) => metrics.large_time(size_class).await,
        _ => None,
    };
    let report = lab_loadgen::run(
        load_options(options, level, slot.dir),
        cancel.clone().cancelled_owned(),
    )
    .await?
    .pop()
    .ok_or_else(|| MatrixError::Options("the load generator reported no run".to_string()))?;
    let after = match (metrics, &before) {
        (Some(metrics), Some(_)) => metrics.large_time(size_class).await,
        _ => None,
    };
    let summary = |class: &Class| report.class(class).cloned();
    let saturation = if uploads {
        let records = read_requests_csv(&report.dir.join(REQUESTS_CSV)).unwrap_or_default();
        let server_large_ms = match (&before, &after) {
            (Some(before), Some(after)) => after.per_upload_ms_since(before),
            _ => None,
        };
        let capacity = metrics.and_then(|m| m.workers).unwrap_or(0) as f64;
        let mut saturation = Saturation::judge(
            server_large_ms,
            capacity,
            options.workload.large_interval.as_secs_f64(),
            queue_growth(&records),
        );
        if capacity == 0.0 {
            saturation.capacity = None;
        }
        saturation
    } else {
        Saturation::default()
    };
    Ok(LevelRun {
        round: slot.round,
        position: slot.position,
        level,
        small: summary(&Class::Small),
        large: summary(&Class::Large),
        saturation,
        interrupted: report.interrupted,
        lost: None,
    })
}

/// The load generator's options for one level: the probe's workload with the level's upload
/// size (0 `alone`: no large class at all), written to `<dir>/<level>/`.
fn load_options(options: &ProbeOptions, level: Level, dir: &Path) -> RunOptions {
    let mut workload = options.workload.clone();
    workload.large_size_mb = level.upload_mb();
    RunOptions {
        target_url: options.target_url.clone(),
        endpoint: options.endpoint.clone(),
        duration: options.duration,
        workload,
        connection: options.connection,
        pool: options.pool,
        metrics_bind: None,
        results_dir: dir.to_path_buf(),
        run_id: Some(level.name()),
        replica: None,
        // The probe checks the server itself between levels; reading /healthz every second
        // would add requests to a server that may not have one.
        server_check_interval: Duration::ZERO,
        run_as_results_owner: false,
        json: false,
        quiet: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    /// `alone` runs no large class; an upload level sends the ladder's size.
    #[test]
    fn each_level_sets_the_upload_size() {
        let options = ProbeOptions::try_parse_from(["lab-probe", "--sizes-mb", "4"]).unwrap();
        let dir = Path::new("/tmp/x");
        let alone = load_options(&options, Level::Alone, dir);
        assert!(!alone.workload.has_large());
        assert_eq!(alone.run_id.as_deref(), Some("alone"));
        let uploads = load_options(&options, Level::Uploads { size_mb: 4.0 }, dir);
        assert_eq!(uploads.workload.large_size_mb, 4.0);
        assert!(uploads.check().is_ok());
    }
}

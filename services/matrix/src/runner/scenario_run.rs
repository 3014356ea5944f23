//! One scenario of one round: its server started (with its allocator, on its CPUs), this
//! process pinned for its placement, the server's `/metrics` read right before and right
//! after the load (event-loop lag, time spent on uploads), the workload run in-process, the
//! server stopped, and the rows made, saturation judged.

use std::path::Path;

use lab_core::csv_rows::REQUESTS_CSV;
use lab_loadgen::RunOptions;
use reqwest::Url;
use tokio_util::sync::CancellationToken;

use crate::error::{Doing, MatrixError};
use crate::lag::{EVENT_LOOP_LAG, LagScrape, LagScraper, METRICS_PATH, RunLag};
use crate::launch::Launch;
use crate::options::MatrixOptions;
use crate::placement::{self, CpuSets};
use crate::requests::read_requests_csv;
use crate::saturation::{LargeTime, Saturation, capacity, queue_growth, upload_size_class};
use crate::scenario::{Scenario, Workload};
use crate::server_process::{Expected, ServerProcess};
use crate::table::{MatrixRow, RowServer};

/// Where one scenario run happens.
pub struct Slot<'a> {
    /// The round (1-based).
    pub round: u32,
    /// Its position in the round's order (1-based).
    pub position: u64,
    /// The round's directory (the load generator writes `<scenario>/` in it).
    pub dir: &'a Path,
    /// The server's log.
    pub log_path: &'a Path,
}

/// What a scrape found: the lag histogram and the time spent on uploads.
struct ServerScrape {
    lag: LagScrape,
    large: LargeTime,
}

/// How many times a scrape is tried before its columns are given up: a saturated server's
/// loop may still be working through the uploads queued behind it when the load ends, and
/// answers `/metrics` only after them (the counters are cumulative, so a late answer is as
/// good as an early one).
const SCRAPE_ATTEMPTS: usize = 6;

/// One read of the server's `/metrics`. A failure is a warning, never a failed scenario: the
/// lag and saturation columns that need it stay empty.
async fn scrape(
    scraper: Option<&LagScraper>,
    scenario: &Scenario,
    size_class: &str,
    when: &str,
) -> Option<ServerScrape> {
    let scraper = scraper?;
    let mut result = scraper.text().await;
    for _ in 1..SCRAPE_ATTEMPTS {
        if result.is_ok() {
            break;
        }
        result = scraper.text().await;
    }
    let parsed = result.and_then(|text| {
        Ok(ServerScrape {
            lag: LagScrape::parse(&text)?,
            large: LargeTime::parse(&text, size_class)
                .map_err(crate::lag::ScrapeError::Malformed)?,
        })
    });
    match parsed {
        Ok(scrape) => Some(scrape),
        Err(error) => {
            tracing::warn!(
                scenario = %scenario.name(),
                %error,
                "cannot read the server's {METRICS_PATH} {when}: its lag and saturation columns stay empty"
            );
            None
        }
    }
}

/// Runs `scenario` in `slot`; returns its rows and whether it was cut short.
pub async fn run_scenario(
    options: &MatrixOptions,
    launch: &Launch,
    cpus: &CpuSets,
    scenario: &Scenario,
    workload: &Workload,
    slot: Slot<'_>,
    cancel: &CancellationToken,
) -> Result<(Vec<MatrixRow>, bool), MatrixError> {
    let key = &scenario.key;
    placement::pin_this_process(cpus.client_for(key.placement))
        .doing(|| format!("pin the matrix to {:?}", cpus.client_for(key.placement)))?;
    let expected = Expected {
        workers: key.workers,
        keep_alive_s: key.server_keep_alive_s(),
        allocator: key.allocator.map(|a| a.name()),
    };
    let server = ServerProcess::start(
        |port| scenario.server_command(port, launch, cpus.server_for(key.placement)),
        expected,
        slot.log_path,
        options.server_start_timeout,
    )
    .await?;
    let target_url = server
        .base_url()
        .parse()
        .map_err(|error| MatrixError::Server(format!("the server's URL: {error}")))?;
    let load_options = load_options(options, scenario, target_url, slot.dir);
    // The metrics right before the load and right after it (drained, the server still up):
    // neither scrape is on a timed path. A worker's probe records a late wake on its loop's
    // next turn once the loop is free, microseconds after the last response it sent; the load
    // generator still writes its files after receiving that response, so the second scrape
    // comes later and holds every stall of the run.
    let scraper = LagScraper::new(&server.base_url()).ok();
    let size_class = upload_size_class(workload.large_size_mb);
    let before = scrape(scraper.as_ref(), scenario, size_class, "before the load").await;
    let report = lab_loadgen::run(load_options, cancel.clone().cancelled_owned()).await;
    let after = match before {
        Some(_) => scrape(scraper.as_ref(), scenario, size_class, "after the load").await,
        None => None,
    };
    // The server is stopped whatever the load run did.
    let status = server.stop(options.server_stop_timeout).await?;
    if !status.success() {
        tracing::warn!(scenario = %scenario.name(), %status, "the server did not exit cleanly");
    }
    // One run: the matrix does not follow the server (it starts one per scenario itself).
    let report = report?
        .pop()
        .ok_or_else(|| MatrixError::Options("the load generator reported no run".to_string()))?;
    let expected_dir = slot.dir.join(scenario.name());
    if report.dir != expected_dir {
        return Err(MatrixError::Options(format!(
            "the load generator wrote to {} instead of {}",
            report.dir.display(),
            expected_dir.display()
        )));
    }
    let (lag, server_large_ms) = match (&before, &after) {
        (Some(before), Some(after)) => {
            if after.lag.is_empty() {
                tracing::info!(
                    scenario = %scenario.name(),
                    "the server exports no {EVENT_LOOP_LAG}: the lag columns stay empty"
                );
            }
            (
                RunLag::between(&before.lag, &after.lag),
                after.large.per_upload_ms_since(&before.large),
            )
        }
        _ => (RunLag::default(), None),
    };
    let saturation = if key.has_large() && workload.large_size_mb > 0.0 {
        let records = read_requests_csv(&report.dir.join(REQUESTS_CSV)).unwrap_or_default();
        let server_cpus = cpus
            .server_for(key.placement)
            .map_or(cpus.all.len(), |set| set.len());
        Saturation::judge(
            server_large_ms,
            capacity(key, server_cpus),
            workload.large_interval_s,
            queue_growth(&records),
        )
    } else {
        Saturation::default()
    };
    let completed = !report.interrupted;
    let measured = RowServer {
        round: slot.round,
        position: Some(slot.position),
        placement: key.placement,
        allocator: key.allocator,
        ..RowServer::default()
    };
    let rows = report
        .classes
        .into_iter()
        .map(|summary| {
            MatrixRow::new(scenario, workload, completed, summary, measured.clone())
                .with_measured(lag, saturation)
        })
        .collect();
    Ok((rows, report.interrupted))
}

/// The load generator's options for one scenario: the matrix's workload and the scenario's
/// server and connection settings; the unloaded baseline runs no large class, and the floor's
/// answers (count and maxval 0) are not checked against the bodies.
pub(super) fn load_options(
    options: &MatrixOptions,
    scenario: &Scenario,
    target_url: Url,
    dir: &Path,
) -> RunOptions {
    let key = &scenario.key;
    let mut workload = options.workload.clone();
    if !key.has_large() {
        // The unloaded baseline: LARGE_SIZE_MB = 0 runs no large class at all.
        workload.large_size_mb = 0.0;
    }
    // CHECK_ANSWERS stays as asked: lab-loadgen itself leaves `/drain`'s answers (0 and 0 by
    // design, lab-core's `Strategy::counts()`) unchecked.
    RunOptions {
        target_url,
        endpoint: key.strategy.path().to_string(),
        duration: scenario.duration,
        workload,
        connection: key.connection,
        pool: key.pool,
        metrics_bind: options.metrics_bind,
        results_dir: dir.to_path_buf(),
        run_id: Some(scenario.name()),
        replica: None,
        // The matrix starts and checks each scenario's server itself; reading /healthz every
        // second would add requests to the measured server.
        server_check_interval: std::time::Duration::ZERO,
        run_as_results_owner: false,
        json: false,
        quiet: true,
    }
}

//! From a matrix directory's files to what the report and the plots show: builds the typed
//! [`Grid`] from matrix.csv's rows, reads each scenario's `requests.csv` for the per-request
//! findings (worker spread, overlap with uploads, what failed), picks what to plot, and
//! returns it all as typed values. No formatting happens here; [`crate::report`] and
//! [`crate::plots`] only render.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lab_core::csv_rows::REQUESTS_CSV;

use crate::findings::overlap::{Overlap, split_by_uploads};
use crate::findings::spread::{WorkerSpread, worker_spread};
use crate::findings::troubles::{error_breakdown, troubles};
use crate::findings::{Findings, grid_allocator};
use crate::grid::Grid;
use crate::requests::{RequestRecord, read_requests_csv};
use crate::scenario::{ScenarioKey, ScenarioKind, ServerKind};
use crate::table::MatrixRow;

/// One loaded scenario's requests in its first round, drawn over time.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The scenario.
    pub key: ScenarioKey,
    /// Its label.
    pub label: String,
    /// Its name (the chart's file name).
    pub name: String,
    /// Every request of its first round.
    pub records: Vec<RequestRecord>,
}

/// The multi-worker scenarios of one server and strategy at the most workers, drawn side by
/// side.
#[derive(Debug, Clone)]
pub struct SpreadGroup {
    /// The server.
    pub server: ServerKind,
    /// The strategy's path.
    pub endpoint: String,
    /// Its scenarios' spreads (one per connection mode or pool that ran).
    pub spreads: Vec<WorkerSpread>,
}

/// Everything a matrix's report and plots are made from.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// `matrix.csv`'s rows.
    pub rows: Vec<MatrixRow>,
    /// The grid they make.
    pub grid: Grid,
    /// The computed findings.
    pub findings: Findings,
    /// One timeline per server and strategy, at the fewest workers (the first connection mode
    /// that ran).
    pub timelines: Vec<Timeline>,
    /// Per-worker spreads to chart, one group per server and strategy.
    pub spread_groups: Vec<SpreadGroup>,
}

/// Where a scenario's load generator files are: `DIR/round-N/<scenario>/` (or
/// `DIR/<scenario>/` in runs from before the matrix had rounds).
pub fn scenario_dir(dir: &Path, round: u32, scenario: &str) -> PathBuf {
    let in_round = dir.join(round_dir(round)).join(scenario);
    if in_round.is_dir() {
        in_round
    } else {
        dir.join(scenario)
    }
}

/// `round-N`: the directory of a round's scenario files.
pub fn round_dir(round: u32) -> String {
    format!("round-{round}")
}

/// Analyses `rows` with the `requests.csv` each scenario left in its directory. A scenario
/// whose requests.csv cannot be read loses only its per-request findings (logged).
pub fn analyze(dir: &Path, rows: Vec<MatrixRow>) -> Analysis {
    let grid = Grid::from_rows(&rows);
    let allocator = grid_allocator(&grid);
    // Per server: its own grid's fewest workers (actix's and FastAPI's lists may differ).
    let mut fewest_workers: BTreeMap<ServerKind, usize> = BTreeMap::new();
    for cell in grid
        .cells
        .iter()
        .filter(|c| c.key.kind == ScenarioKind::Loaded)
    {
        let fewest = fewest_workers
            .entry(cell.key.server)
            .or_insert(cell.key.workers);
        *fewest = (*fewest).min(cell.key.workers);
    }
    let mut spreads = Vec::new();
    let mut overlaps = Vec::new();
    let mut breakdowns = BTreeMap::new();
    let mut timelines: Vec<Timeline> = Vec::new();
    for cell in &grid.cells {
        let key = &cell.key;
        let mut all_records = Vec::new();
        let (mut during, mut outside) = (Vec::new(), Vec::new());
        for result in &cell.rounds {
            let path = scenario_dir(dir, result.round, &cell.name).join(REQUESTS_CSV);
            let records = match read_requests_csv(&path) {
                Ok(records) => records,
                Err(error) => {
                    tracing::warn!(%error, "skipping per-request findings of {}", cell.name);
                    continue;
                }
            };
            for (class, text) in error_breakdown(&records) {
                breakdowns.insert((cell.name.clone(), result.round, class), text);
            }
            let (d, o) = split_by_uploads(&records);
            during.extend(d);
            outside.extend(o);
            let first_drawn = key.kind == ScenarioKind::Loaded
                && key.allocator == allocator.filter(|_| key.server == ServerKind::Actix)
                && fewest_workers.get(&key.server) == Some(&key.workers)
                && !timelines
                    .iter()
                    .any(|t| t.key.server == key.server && t.key.strategy == key.strategy);
            if first_drawn {
                timelines.push(Timeline {
                    key: *key,
                    label: cell.label.clone(),
                    name: cell.name.clone(),
                    records: records.clone(),
                });
            }
            all_records.extend(records);
        }
        if all_records.is_empty() {
            continue;
        }
        if key.workers > 1 {
            spreads.push(worker_spread(key, &all_records));
        }
        if key.kind == ScenarioKind::Loaded && fewest_workers.get(&key.server) == Some(&key.workers)
        {
            overlaps.push(Overlap::merge(cell.label.clone(), &during, &outside));
        }
    }
    let spread_groups = spread_groups(&spreads);
    let troubles = troubles(&rows, &breakdowns);
    let findings = Findings::compute(&grid, spreads, overlaps, troubles);
    Analysis {
        rows,
        grid,
        findings,
        timelines,
        spread_groups,
    }
}

/// Per server and strategy, in order of appearance, the spreads of the scenarios at that
/// server's most workers.
fn spread_groups(spreads: &[WorkerSpread]) -> Vec<SpreadGroup> {
    let mut most: BTreeMap<ServerKind, usize> = BTreeMap::new();
    for spread in spreads {
        let entry = most.entry(spread.key.server).or_insert(0);
        *entry = (*entry).max(spread.key.workers);
    }
    let mut groups: Vec<SpreadGroup> = Vec::new();
    for spread in spreads {
        let server = spread.key.server;
        if most.get(&server) != Some(&spread.key.workers) {
            continue;
        }
        let endpoint = spread.key.strategy.to_string();
        match groups
            .iter_mut()
            .find(|g| g.server == server && g.endpoint == endpoint)
        {
            Some(group) => group.spreads.push(spread.clone()),
            None => groups.push(SpreadGroup {
                server,
                endpoint,
                spreads: vec![spread.clone()],
            }),
        }
    }
    groups
}

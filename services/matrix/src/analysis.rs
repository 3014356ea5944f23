//! From a matrix directory's files to what the report and the plots show: reads each
//! scenario's `requests.csv`, computes the per-request findings (worker spread, overlap with
//! large uploads, what failed), picks what to plot, and returns it all as typed values. No
//! formatting happens here; [`crate::report`] and [`crate::plots`] only render.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use lab_core::classes::SMALL;
use lab_core::csv_rows::REQUESTS_CSV;

use crate::findings::{
    Findings, Overlap, WorkerSpread, error_breakdown, overlap_with_large, worker_spread,
};
use crate::requests::{RequestRecord, read_requests_csv};
use crate::scenario::{ScenarioKind, ServerKind};
use crate::table::MatrixRow;

/// One loaded scenario's requests, drawn over time.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// The scenario's small row.
    pub row: MatrixRow,
    /// Every request of the scenario.
    pub records: Vec<RequestRecord>,
}

/// The multi-worker scenarios of one server and endpoint at the most workers, drawn side by
/// side.
#[derive(Debug, Clone)]
pub struct SpreadGroup {
    /// The server.
    pub server: ServerKind,
    /// Strategy endpoint.
    pub endpoint: String,
    /// Its scenarios' spreads (one per connection mode or pool that ran).
    pub spreads: Vec<WorkerSpread>,
}

/// Everything a matrix's report and plots are made from.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// `matrix.csv`'s rows.
    pub rows: Vec<MatrixRow>,
    /// The computed findings.
    pub findings: Findings,
    /// One timeline per server and endpoint, at the fewest workers (the first connection mode
    /// that ran).
    pub timelines: Vec<Timeline>,
    /// Per-worker spreads to chart, one group per server and endpoint.
    pub spread_groups: Vec<SpreadGroup>,
}

/// Analyses `rows` with the `requests.csv` each scenario left in `dir/<scenario>/`. A scenario
/// whose requests.csv cannot be read loses only its per-request findings (logged).
pub fn analyze(dir: &Path, rows: Vec<MatrixRow>) -> Analysis {
    // One small row per scenario, in run order: the scenario's settings and small statistics.
    let scenario_rows: Vec<&MatrixRow> = rows.iter().filter(|r| r.class == SMALL).collect();
    // Per server: its own grid's fewest workers (actix's and FastAPI's lists may differ).
    let mut fewest_workers: BTreeMap<ServerKind, usize> = BTreeMap::new();
    for row in scenario_rows
        .iter()
        .filter(|r| r.kind == ScenarioKind::Loaded)
    {
        let fewest = fewest_workers.entry(row.server).or_insert(row.workers);
        *fewest = (*fewest).min(row.workers);
    }
    let mut spreads: Vec<WorkerSpread> = Vec::new();
    let mut overlaps: Vec<Overlap> = Vec::new();
    let mut breakdowns = BTreeMap::new();
    let mut timelines = Vec::new();
    let mut timeline_endpoints = BTreeSet::new();
    for &row in &scenario_rows {
        let requests_csv = dir.join(&row.scenario).join(REQUESTS_CSV);
        let records = match read_requests_csv(&requests_csv) {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "skipping per-request findings of {}", row.scenario);
                continue;
            }
        };
        for (class, text) in error_breakdown(&records) {
            breakdowns.insert((row.scenario.clone(), class), text);
        }
        if row.workers > 1 {
            spreads.push(worker_spread(row, &records));
        }
        if row.kind == ScenarioKind::Loaded && fewest_workers.get(&row.server) == Some(&row.workers)
        {
            overlaps.push(overlap_with_large(row, &records));
            if timeline_endpoints.insert((row.server, row.endpoint.clone())) {
                timelines.push(Timeline {
                    row: row.clone(),
                    records,
                });
            }
        }
    }
    let spread_groups = spread_groups(&spreads, &rows);
    let findings = Findings::compute(&rows, spreads, overlaps, &breakdowns);
    Analysis {
        rows,
        findings,
        timelines,
        spread_groups,
    }
}

/// Per server and endpoint, in order of appearance, the spreads of the scenarios at that
/// server's most workers.
fn spread_groups(spreads: &[WorkerSpread], rows: &[MatrixRow]) -> Vec<SpreadGroup> {
    let server_of = |scenario: &str| {
        rows.iter()
            .find(|r| r.scenario == scenario)
            .map_or(ServerKind::Actix, |r| r.server)
    };
    let mut most: BTreeMap<ServerKind, usize> = BTreeMap::new();
    for spread in spreads {
        let entry = most.entry(server_of(&spread.scenario)).or_insert(0);
        *entry = (*entry).max(spread.workers);
    }
    let mut groups: Vec<SpreadGroup> = Vec::new();
    for spread in spreads {
        let server = server_of(&spread.scenario);
        if most.get(&server) != Some(&spread.workers) {
            continue;
        }
        match groups
            .iter_mut()
            .find(|g| g.server == server && g.endpoint == spread.endpoint)
        {
            Some(group) => group.spreads.push(spread.clone()),
            None => groups.push(SpreadGroup {
                server,
                endpoint: spread.endpoint.clone(),
                spreads: vec![spread.clone()],
            }),
        }
    }
    groups
}

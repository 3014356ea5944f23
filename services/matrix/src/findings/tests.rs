//! Made-up rows and records for the findings' tests (and the report's and plots'), and the
//! tests of each question on them.

use lab_core::csv_rows::Millis;
use lab_core::{Class, Stats, Strategy};
use lab_loadgen::options::{Connection, Pool, Schedule};

use super::*;
use crate::grid::Grid;
use crate::requests::RequestRecord;
use crate::table::{MatrixRow, RowServer, RowSettings};

/// A made-up 200 answer of `class`, sent on schedule at `scheduled_ms` and served by `worker`.
pub(crate) fn record(
    class: &str,
    scheduled_ms: f64,
    latency_ms: f64,
    worker: usize,
) -> RequestRecord {
    RequestRecord {
        run_id: "r".into(),
        request_id: format!("{class}-000001").into(),
        class: class.to_string().into(),
        method: "POST".into(),
        endpoint: "/ping".into(),
        connection: "new".into(),
        scheduled_ms: Millis(scheduled_ms),
        sent_ms: Some(Millis(scheduled_ms)),
        latency_ms: Some(Millis(latency_ms)),
        status: Some(200),
        bytes_sent: 60,
        server_elapsed_ms: None,
        worker: Some(worker),
        error: "".into(),
    }
}

/// Made-up 200 answers: `(class, scheduled_ms, latency_ms, worker)` each.
pub(crate) fn records(spec: &[(&str, f64, f64, usize)]) -> Vec<RequestRecord> {
    spec.iter()
        .map(|&(class, scheduled, latency, worker)| record(class, scheduled, latency, worker))
        .collect()
}

/// A made-up round-1 row of an actix scenario: only the fields the findings read matter.
/// `latency` is (median, p95); the other statistics follow from them.
pub(crate) fn row(
    scenario: &str,
    kind: ScenarioKind,
    workers: usize,
    strategy: Strategy,
    connection: Connection,
    class: Class,
    (median_ms, p95_ms): (f64, f64),
) -> MatrixRow {
    let large = kind != ScenarioKind::Unloaded;
    MatrixRow {
        settings: RowSettings {
            scenario: scenario.to_string(),
            kind,
            server: ServerKind::Actix,
            config: format!(
                "{workers} w, {strategy}, {}, {}",
                connection.as_str(),
                kind.as_str()
            ),
            workers,
            endpoint: strategy,
            connection,
            pool: if kind == ScenarioKind::SharedPool {
                Pool::Shared
            } else {
                Pool::PerClass
            },
            server_keep_alive_s: (kind == ScenarioKind::KeepAliveOff).then_some(0),
            schedule: Schedule::Open,
            duration_s: 20.0,
            small_size_mb: 0.001,
            small_interval_s: 0.1,
            large_size_mb: large.then_some(25.0),
            large_interval_s: large.then_some(1.0),
            completed: true,
            class,
        },
        stats: Stats {
            count: 100,
            ok: 100,
            errors: 0,
            skipped: 0,
            min_ms: Some(median_ms / 2.0),
            median_ms: Some(median_ms),
            mean_ms: Some(median_ms),
            p90_ms: Some(p95_ms * 0.9),
            p95_ms: Some(p95_ms),
            p99_ms: Some(p95_ms * 1.1),
            max_ms: Some(p95_ms * 1.2),
        },
        server: RowServer {
            round: 1,
            allocator: Some(Allocator::System),
            ..RowServer::default()
        },
    }
}

/// The same row in another round, every latency multiplied by `factor` (a slower machine).
pub(crate) fn in_round(mut row: MatrixRow, round: u32, factor: f64) -> MatrixRow {
    row.server.round = round;
    let s = &mut row.stats;
    for value in [
        &mut s.min_ms,
        &mut s.median_ms,
        &mut s.mean_ms,
        &mut s.p90_ms,
        &mut s.p95_ms,
        &mut s.p99_ms,
        &mut s.max_ms,
    ] {
        *value = value.map(|v| v * factor);
    }
    row
}

/// FastAPI's made-up /ping with one worker and new connections: small p95 200 ms, large
/// median 800 ms.
pub(crate) fn fastapi_rows() -> Vec<MatrixRow> {
    let rows = [
        (Class::Small, (100.0, 200.0)),
        (Class::Large, (800.0, 900.0)),
    ];
    rows.into_iter()
        .map(|(class, latency)| {
            let key = (ScenarioKind::Loaded, 1, Strategy::Ping, Connection::New);
            let mut fastapi = row(
                "fastapi-w1-ping-new",
                key.0,
                key.1,
                key.2,
                key.3,
                class,
                latency,
            );
            fastapi.settings.server = ServerKind::Fastapi;
            fastapi.settings.config = "FastAPI 1 worker, /ping, new".to_string();
            fastapi.server.allocator = None;
            fastapi
        })
        .collect()
}

/// A small made-up matrix: baselines, /ping, /offload and the floor at 1 worker, /ping at 4
/// workers with both clients, keep-alive off at 4.
pub(crate) fn sample_rows() -> Vec<MatrixRow> {
    use Class::{Large, Small};
    use Connection::{Keepalive as Ka, New};
    use ScenarioKind::{KeepAliveOff, Loaded, Unloaded};
    use Strategy::{Drain, Offload, Ping};
    let rows = [
        (Unloaded, 1, Ping, New, Small, (1.0, 2.0)),
        (Unloaded, 1, Ping, Ka, Small, (0.5, 1.0)),
        (Loaded, 1, Ping, New, Small, (5.0, 400.0)),
        (Loaded, 1, Ping, New, Large, (900.0, 1000.0)),
        (Loaded, 1, Offload, New, Small, (1.2, 3.0)),
        (Loaded, 1, Offload, New, Large, (450.0, 500.0)),
        (Loaded, 1, Drain, New, Small, (1.1, 2.5)),
        (Loaded, 1, Drain, New, Large, (90.0, 100.0)),
        (Loaded, 4, Ping, New, Small, (1.5, 8.0)),
        (Loaded, 4, Ping, New, Large, (950.0, 990.0)),
        (Loaded, 4, Ping, Ka, Small, (0.7, 300.0)),
        (Loaded, 4, Ping, Ka, Large, (930.0, 980.0)),
        (KeepAliveOff, 4, Ping, Ka, Small, (1.6, 9.0)),
        (KeepAliveOff, 4, Ping, Ka, Large, (960.0, 995.0)),
    ];
    rows.into_iter()
        .map(|(kind, workers, strategy, connection, class, latency)| {
            let name = ScenarioKey::actix(workers, strategy, connection)
                .with_kind(kind)
                .name();
            row(&name, kind, workers, strategy, connection, class, latency)
        })
        .collect()
}

fn grid() -> Grid {
    Grid::from_rows(&sample_rows())
}

fn ratio(comparison: &Comparison) -> f64 {
    comparison.ratio.unwrap().median()
}

/// Each loaded small p95 is divided by the unloaded baseline of its own connection mode.
#[test]
fn baseline_divides_by_the_baseline_of_the_same_connection_mode() {
    let baseline = baseline::compute(&grid());
    let by_label: Vec<(&str, f64)> = baseline
        .cells
        .iter()
        .map(|c| (c.label.as_str(), ratio(c)))
        .collect();
    assert!(
        by_label.contains(&("1 worker, /ping, new", 200.0)),
        "{by_label:?}"
    );
    assert!(by_label.contains(&("1 worker, /offload, new", 1.5)));
    assert!(by_label.contains(&("4 workers, /ping, keepalive", 300.0)));
    assert!(by_label.contains(&("4 workers, /ping, keepalive, server KEEP_ALIVE=0", 9.0)));
    assert_eq!(
        baseline.cells.len(),
        6,
        "every scenario with uploads has a ratio"
    );
    assert_eq!(baseline.worst.unwrap().label, "4 workers, /ping, keepalive");
    assert_eq!(baseline.best.unwrap().label, "1 worker, /drain, new");
}

/// A ratio is taken round by round: a round where everything ran 2× slower gives the same
/// ratio, however far apart the medians of the two sides are.
#[test]
fn ratios_are_per_round_and_survive_a_slower_round() {
    let mut rows = sample_rows();
    rows.extend(sample_rows().into_iter().map(|r| in_round(r, 2, 2.0)));
    rows.extend(sample_rows().into_iter().map(|r| in_round(r, 3, 3.0)));
    let grid = Grid::from_rows(&rows);
    assert_eq!(grid.rounds, 3);
    let floor = floor::compute(&grid);
    let ping = floor
        .iter()
        .find(|c| c.label == "1 worker, /ping, new")
        .unwrap();
    let ratio = ping.ratio.unwrap().estimate;
    assert_eq!((ratio.low, ratio.median, ratio.high), (10.0, 10.0, 10.0));
    let from = ping.from.unwrap().estimate;
    assert_eq!((from.low, from.median, from.high), (90.0, 180.0, 270.0));
    assert_eq!(from.coverage, Some(0.75));
}

/// More workers, keep-alive, and the cheaper strategies compare the right cells.
#[test]
fn the_studys_questions_compare_cells_that_differ_in_one_setting() {
    let grid = grid();
    let more = more_workers::compute(&grid).unwrap();
    assert_eq!((more.fewest, more.most), (1, 4));
    assert_eq!(more.cells.len(), 1);
    assert_eq!(more.cells[0].label, "/ping, new");
    assert_eq!(ratio(&more.cells[0]), 8.0 / 400.0);
    let keep_alive = keep_alive::compute(&grid).unwrap();
    assert_eq!(keep_alive.workers, 4);
    assert_eq!(ratio(&keep_alive.cells[0].keepalive), 300.0 / 8.0);
    assert!(keep_alive.cells[0].shared_pool.is_none());
    let cheaper = cheaper_parse::compute(&grid);
    let offload = cheaper
        .small
        .iter()
        .find(|c| c.label == "/offload, new")
        .unwrap();
    assert_eq!(ratio(offload), 3.0 / 400.0);
    let large = cheaper
        .large
        .iter()
        .find(|c| c.label == "1 worker, /offload, new")
        .unwrap();
    assert_eq!(ratio(large), 0.5);
    // The floor parses nothing: the fastest strategy is /offload's 450 ms, not /drain's 90.
    assert_eq!(cheaper.fastest.unwrap().label, "1 worker, /offload, new");
}

/// Keep-alive off is lined up with the keepalive and new clients of the default server.
#[test]
fn keep_alive_off_lines_up_off_keepalive_and_new() {
    let off = keep_alive_off::compute(&grid());
    assert_eq!(off.costs.len(), 1);
    let labels: Vec<&str> = off.costs[0]
        .lines
        .iter()
        .map(|l| l.label.as_str())
        .collect();
    assert_eq!(
        labels,
        [
            "server KEEP_ALIVE=0, keepalive client",
            "server keep-alive on (default), keepalive client",
            "server keep-alive on (default), new client"
        ]
    );
    assert_eq!(ratio(&off.costs[0].small_p95[0]), 9.0 / 300.0);
    assert_eq!(ratio(&off.unloaded.unwrap()), 2.0);
}

/// A saturated figure never makes the headline: the extremes skip it.
#[test]
fn headlines_skip_saturated_figures() {
    let mut rows = sample_rows();
    for row in rows
        .iter_mut()
        .filter(|r| r.settings.scenario == "w4-ping-keepalive")
    {
        row.server.saturated = true;
    }
    let baseline = baseline::compute(&Grid::from_rows(&rows));
    let worst = baseline.worst.unwrap();
    assert_eq!(worst.label, "1 worker, /ping, new");
    assert!(baseline.cells.iter().any(|c| c.saturated()));
}

/// jemalloc and split CPUs are compared with their twins; the probe says which latency grew.
#[test]
fn allocator_placement_and_probe_find_their_twins() {
    let mut rows = sample_rows();
    for mut row in sample_rows()
        .into_iter()
        .filter(|r| r.settings.scenario == "w1-ping-new")
    {
        row.server.allocator = Some(Allocator::Jemalloc);
        row.stats.median_ms = row.stats.median_ms.map(|m| m * 0.8);
        rows.push(row.clone());
        let mut split = in_round(row.clone(), 1, 1.0);
        split.server.allocator = Some(Allocator::System);
        split.server.placement = crate::scenario::Placement::Split;
        split.stats.p95_ms = split.stats.p95_ms.map(|m| m * 2.0);
        rows.push(split);
        let mut long = row;
        long.server.allocator = Some(Allocator::System);
        long.settings.kind = ScenarioKind::SaturationProbe;
        long.settings.duration_s = 60.0;
        long.stats.median_ms = long.stats.median_ms.map(|m| m * 3.0 / 0.8);
        rows.push(long);
    }
    for row in rows
        .iter_mut()
        .filter(|r| r.settings.scenario == "w1-ping-new")
    {
        row.server.saturated = row.server.allocator == Some(Allocator::System);
    }
    let grid = Grid::from_rows(&rows);
    let allocator = allocator::compute(&grid);
    assert_eq!(allocator.len(), 1);
    assert!((ratio(&allocator[0].large_median) - 0.8).abs() < 1e-9);
    let placement = placement::compute(&grid);
    assert_eq!(placement.len(), 1);
    assert_eq!(ratio(&placement[0].small_p95), 2.0);
    let saturation = saturation::compute(&grid);
    assert_eq!(saturation.probes.len(), 1);
    let probe = &saturation.probes[0];
    assert!(probe.saturated && probe.grew);
    assert_eq!(probe.durations_s, (20.0, 60.0));
    assert!((ratio(&probe.large_median) - 3.0).abs() < 1e-9);
}

/// FastAPI's cell is set beside actix's, the ratio actix over FastAPI.
#[test]
fn the_studys_stack_is_compared_with_actix_cell_by_cell() {
    let mut rows = sample_rows();
    rows.extend(fastapi_rows());
    let stacks = stacks::compute(&Grid::from_rows(&rows));
    assert_eq!(stacks.len(), 1);
    assert!(stacks[0].actix_ran);
    assert_eq!(ratio(&stacks[0].small_p95), 2.0);
    assert_eq!(ratio(&stacks[0].large_median), 900.0 / 800.0);
}

/// One lag line per scenario, the median over its rounds; none without any number.
#[test]
fn lags_are_one_per_scenario_and_absent_without_numbers() {
    let mut rows = sample_rows();
    assert!(lag::compute(&Grid::from_rows(&rows)).is_empty());
    for row in rows
        .iter_mut()
        .filter(|r| r.settings.scenario == "w1-ping-new")
    {
        row.server.lag_p99_ms = Some(812.5);
        row.server.lag_max_ms = Some(1010.0);
    }
    let lags = lag::compute(&Grid::from_rows(&rows));
    assert_eq!(lags.len(), 8, "one per scenario");
    assert_eq!(lags[2].p99.unwrap().median(), 812.5);
    assert_eq!(lags[2].max_ms, Some(1010.0));
    assert!(lags[0].p99.is_none());
}

/// The spread lists every worker, including one that served nothing.
#[test]
fn worker_spread_lists_every_worker_even_idle_ones() {
    let records = records(&[
        ("small", 0.0, 1.0, 2),
        ("small", 100.0, 3.0, 2),
        ("small", 200.0, 2.0, 0),
        ("large", 0.0, 900.0, 2),
    ]);
    let key = Grid::from_rows(&sample_rows()).cells[6].key;
    let spread = spread::worker_spread(&key, &records);
    assert_eq!(spread.shares.len(), 4);
    assert_eq!(spread.workers_used, 2);
    assert_eq!((spread.shares[2].small, spread.shares[2].large), (2, 1));
    assert_eq!(spread.shares[2].small_p95_ms, Some(3.0));
    assert_eq!(spread.shares[1].small_p95_ms, None);
    assert!((spread.busiest_small_share - 2.0 / 3.0).abs() < 1e-9);
}

/// Small requests waiting while a large upload was in flight are told apart from the rest.
#[test]
fn overlap_puts_small_requests_waiting_during_an_upload_in_during() {
    let records = records(&[
        ("large", 1000.0, 800.0, 0),
        ("small", 0.0, 1.0, 0),
        ("small", 1100.0, 700.0, 0),
        ("small", 1200.0, 600.0, 0),
        ("small", 2000.0, 2.0, 0),
    ]);
    let (during, outside) = overlap::split_by_uploads(&records);
    let overlap = overlap::Overlap::merge("x".into(), &during, &outside);
    assert_eq!((overlap.during_count, overlap.outside_count), (2, 2));
    assert_eq!(overlap.during_p95_ms, Some(700.0));
    assert_eq!(overlap.outside_p95_ms, Some(2.0));
}

/// Failures are counted by kind and status; skipped ticks are not failures.
#[test]
fn error_breakdown_counts_kinds_with_their_status_and_ignores_skips() {
    let failed = |class: &str, error: &str, status: Option<u16>| RequestRecord {
        status,
        error: error.to_string().into(),
        ..record(class, 0.0, 1.0, 0)
    };
    let records = vec![
        record("small", 0.0, 1.0, 0),
        failed("small", "http_4xx", Some(408)),
        failed("small", "http_4xx", Some(408)),
        failed("small", "timeout", None),
        failed("large", "skipped", None),
    ];
    let breakdown = troubles::error_breakdown(&records);
    assert_eq!(breakdown.len(), 1);
    assert_eq!(breakdown["small"], "http_4xx 408 ×2, timeout ×1");
}

/// Rows in a round's random order make the same grid, in report order, and the grid's
/// allocator is the one most cells ran, whichever ran first.
#[test]
fn the_grid_keeps_report_order_whatever_order_the_rows_ran_in() {
    let mut rows = sample_rows();
    rows.reverse();
    let mut jemalloc = sample_rows()[2].clone();
    jemalloc.server.allocator = Some(Allocator::Jemalloc);
    rows.insert(0, jemalloc);
    let grid = Grid::from_rows(&rows);
    let names: Vec<&str> = grid.cells.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "unloaded-w1-ping-new",
            "unloaded-w1-ping-keepalive",
            "w1-ping-new",
            "w1-offload-new",
            "w1-drain-new",
            "w4-ping-new",
            "w4-ping-keepalive",
            "w1-ping-new",
            "w4-ping-keepalive-ka0",
        ]
    );
    assert_eq!(grid.cells[7].key.allocator, Some(Allocator::Jemalloc));
    assert_eq!(grid_allocator(&grid), Some(Allocator::System));
    let cheaper = cheaper_parse::compute(&grid);
    assert_eq!(cheaper.large.len(), 5, "the system grid's strategies");
}

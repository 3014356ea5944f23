//! The scenario list the options ask for, and the workload every scenario runs. Every round
//! of the matrix runs all of the list once, in its own random order (see [`crate::runner`]);
//! the list's own order is the report's.

use lab_core::Strategy;
use lab_loadgen::options::Connection;

use crate::options::MatrixOptions;
use crate::scenario::{Placement, Scenario, ScenarioKey, ScenarioKind, ServerKind, Workload};

/// The workload the options describe.
pub fn workload(options: &MatrixOptions) -> Workload {
    Workload {
        duration_s: options.duration.as_secs_f64(),
        small_size_mb: options.workload.small_size_mb,
        small_interval_s: options.workload.small_interval.as_secs_f64(),
        large_size_mb: options.workload.large_size_mb,
        large_interval_s: options.workload.large_interval.as_secs_f64(),
        schedule: options.workload.schedule,
    }
}

/// The strategies the allocator comparison reruns: those that build an owned map (what the
/// allocator decides most of), and `/stream`, the lab's best.
pub const ALLOCATOR_STRATEGIES: [Strategy; 4] = [
    Strategy::Ping,
    Strategy::Pong,
    Strategy::Offload,
    Strategy::Stream,
];

/// The strategies the saturation probe runs longer: the one that parses on the loop (and
/// saturates one worker when its parse takes about the interval between uploads) and the one
/// that should not.
pub const PROBE_STRATEGIES: [Strategy; 2] = [Strategy::Ping, Strategy::Stream];

/// The scenario list the options ask for, per placement: unloaded baselines, the grid,
/// keep-alive off, the shared pool, the other allocators, the saturation probe, then the
/// study's FastAPI stack.
pub fn plan(options: &MatrixOptions) -> Vec<Scenario> {
    let mut scenarios = Vec::new();
    for &placement in &options.placement.0 {
        for key in keys(options, placement) {
            let duration = if key.kind == ScenarioKind::SaturationProbe {
                options.saturation_probe_duration
            } else {
                options.duration
            };
            scenarios.push(Scenario { key, duration });
        }
    }
    scenarios
}

/// The keys of one placement, in report order.
fn keys(options: &MatrixOptions, placement: Placement) -> Vec<ScenarioKey> {
    let first_workers = options.workers.0.first().copied().unwrap_or(1);
    let first_strategy = options.endpoints.first().copied().unwrap_or(Strategy::Ping);
    let first_connection = options
        .connections
        .first()
        .copied()
        .unwrap_or(Connection::New);
    let allocator = options.allocators.first().copied().unwrap_or_default();
    let actix = |kind: ScenarioKind, workers, strategy, connection| ScenarioKey {
        allocator: Some(allocator),
        placement,
        ..ScenarioKey::actix(workers, strategy, connection).with_kind(kind)
    };
    let mut keys = Vec::new();
    if options.baseline {
        for &connection in &options.connections {
            keys.push(actix(
                ScenarioKind::Unloaded,
                first_workers,
                first_strategy,
                connection,
            ));
        }
    }
    for &workers in &options.workers.0 {
        for &strategy in &options.endpoints {
            for &connection in &options.connections {
                keys.push(actix(ScenarioKind::Loaded, workers, strategy, connection));
            }
        }
    }
    for &workers in &options.keep_alive_off_workers.0 {
        keys.push(actix(
            ScenarioKind::KeepAliveOff,
            workers,
            first_strategy,
            Connection::Keepalive,
        ));
    }
    for &workers in &options.shared_pool_workers.0 {
        keys.push(actix(
            ScenarioKind::SharedPool,
            workers,
            first_strategy,
            Connection::Keepalive,
        ));
    }
    for &other in options.allocators.iter().skip(1) {
        for strategy in ALLOCATOR_STRATEGIES {
            if options.endpoints.contains(&strategy) {
                keys.push(ScenarioKey {
                    allocator: Some(other),
                    ..actix(
                        ScenarioKind::Loaded,
                        first_workers,
                        strategy,
                        first_connection,
                    )
                });
            }
        }
    }
    if !options.saturation_probe_duration.is_zero() && options.workload.large_size_mb > 0.0 {
        for strategy in PROBE_STRATEGIES {
            if options.endpoints.contains(&strategy) {
                keys.push(actix(
                    ScenarioKind::SaturationProbe,
                    first_workers,
                    strategy,
                    first_connection,
                ));
            }
        }
    }
    if options.fastapi_python.is_some() {
        keys.extend(fastapi_keys(options, placement, first_connection));
    }
    keys
}

/// The study's stack on the same workload: an unloaded baseline (first FastAPI workers and
/// endpoint), then FASTAPI workers × endpoints, all with the grid's first connection mode (the
/// study's client opened a new connection per request).
fn fastapi_keys(
    options: &MatrixOptions,
    placement: Placement,
    connection: Connection,
) -> Vec<ScenarioKey> {
    let key = |kind: ScenarioKind, workers: usize, strategy: Strategy| ScenarioKey {
        server: ServerKind::Fastapi,
        allocator: None,
        placement,
        ..ScenarioKey::actix(workers, strategy, connection).with_kind(kind)
    };
    let mut keys = Vec::new();
    if let (true, Some(&workers), Some(&strategy)) = (
        options.baseline,
        options.fastapi_workers.0.first(),
        options.fastapi_endpoints.first(),
    ) {
        keys.push(key(ScenarioKind::Unloaded, workers, strategy));
    }
    for &workers in &options.fastapi_workers.0 {
        for &strategy in &options.fastapi_endpoints {
            keys.push(key(ScenarioKind::Loaded, workers, strategy));
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use lab_loadgen::options::Pool;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        options: MatrixOptions,
    }

    pub(crate) fn options(args: &[&str]) -> MatrixOptions {
        let mut argv = vec!["matrix", "--placement", "unpinned"];
        argv.extend_from_slice(args);
        Cli::parse_from(argv).options
    }

    /// The flags that drop every case beside the grid.
    const GRID_ONLY: [&str; 10] = [
        "--baseline",
        "false",
        "--keep-alive-off-workers",
        "none",
        "--shared-pool-workers",
        "none",
        "--allocators",
        "system",
        "--saturation-probe-duration",
        "0",
    ];

    /// The options of `args` with [`GRID_ONLY`].
    fn grid_only(args: &[&str]) -> MatrixOptions {
        options(&[args, &GRID_ONLY[..]].concat())
    }

    fn names(scenarios: &[Scenario]) -> Vec<String> {
        scenarios.iter().map(Scenario::name).collect()
    }

    /// The default plan: two baselines, 2 workers × every strategy (the floor included) × 2
    /// connections, keep-alive off, the shared pool, 4 jemalloc cells, 2 long runs.
    #[test]
    fn default_plan_is_the_grid_with_the_floor_and_every_reference_case() {
        let scenarios = plan(&options(&[]));
        let grid = 2 * lab_core::Strategy::ALL.len() * 2;
        assert_eq!(scenarios.len(), 2 + grid + 1 + 1 + 4 + 2);
        let names = names(&scenarios);
        for name in [
            "unloaded-w1-ping-new",
            "unloaded-w1-ping-keepalive",
            "w1-drain-new",
            "w4-drain-keepalive",
            "w4-ping-keepalive-ka0",
            "w4-ping-keepalive-shared",
            "w1-ping-new-jemalloc",
            "w1-stream-new-jemalloc",
            "w1-ping-new-long",
            "w1-stream-new-long",
        ] {
            assert!(names.contains(&name.to_string()), "{name} in {names:?}");
        }
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "scenario names are unique");
        // Every strategy lab-core knows is in the grid, by default: a new one joins it.
        for strategy in lab_core::Strategy::ALL {
            assert!(
                scenarios.iter().any(|s| s.key.strategy == strategy),
                "{strategy} is in the default grid"
            );
        }
        let shared = scenarios
            .iter()
            .find(|s| s.key.kind == ScenarioKind::SharedPool)
            .unwrap();
        assert_eq!(shared.key.pool, Pool::Shared);
        assert_eq!(
            shared.key.label(),
            "4 workers, /ping, keepalive, shared pool"
        );
        let long = scenarios
            .iter()
            .find(|s| s.key.kind == ScenarioKind::SaturationProbe)
            .unwrap();
        assert_eq!(long.duration.as_secs(), 30);
        assert_eq!(scenarios[0].duration.as_secs(), 10);
    }

    /// Filters shrink the grid, and `none` / `false` / 0 drop the extra cases.
    #[test]
    fn filters_shrink_the_grid_and_empty_lists_drop_the_extra_cases() {
        let scenarios = plan(&grid_only(&[
            "--workers",
            "4",
            "--endpoints",
            "/offload",
            "--connections",
            "keepalive",
        ]));
        assert_eq!(names(&scenarios), ["w4-offload-keepalive"]);
        assert_eq!(scenarios[0].key.label(), "4 workers, /offload, keepalive");
    }

    /// Both placements run every scenario twice, the split ones named so.
    #[test]
    fn two_placements_run_everything_both_ways() {
        let scenarios = plan(&grid_only(&[
            "--placement",
            "unpinned,split",
            "--workers",
            "1",
            "--endpoints",
            "/stream",
            "--connections",
            "new",
        ]));
        assert_eq!(names(&scenarios), ["w1-stream-new", "w1-stream-new-split"]);
        assert_eq!(
            scenarios[1].key.label(),
            "1 worker, /stream, new, split CPUs"
        );
    }

    /// With FASTAPI_PYTHON, the study's stack joins: an unloaded baseline, then its workers ×
    /// endpoints (the floor included).
    #[test]
    fn fastapi_scenarios_run_the_studys_stack() {
        let scenarios = plan(&options(&["--fastapi-python", "/venv/bin/python"]));
        let fastapi: Vec<String> = scenarios
            .iter()
            .filter(|s| s.key.server == ServerKind::Fastapi)
            .map(Scenario::name)
            .collect();
        assert_eq!(
            fastapi,
            [
                "fastapi-unloaded-w1-ping-new",
                "fastapi-w1-ping-new",
                "fastapi-w1-pong-new",
                "fastapi-w1-drain-new",
                "fastapi-w4-ping-new",
                "fastapi-w4-pong-new",
                "fastapi-w4-drain-new",
            ]
        );
        assert!(
            scenarios
                .iter()
                .filter(|s| s.key.server == ServerKind::Fastapi)
                .all(|s| s.key.allocator.is_none())
        );
        assert!(
            plan(&options(&[]))
                .iter()
                .all(|s| s.key.server == ServerKind::Actix)
        );
    }

    /// Worker lists accept `none` and spaces, and refuse 0 workers or unknown values.
    #[test]
    fn lists_accept_none_and_reject_nonsense() {
        assert_eq!(options(&["--workers", "1, 2,8"]).workers.0, [1, 2, 8]);
        assert!(Cli::try_parse_from(["matrix", "--workers", "0"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--endpoints", "/ping,/nope"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--connections", "sometimes"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--placement", "sideways"]).is_err());
        assert!(Cli::try_parse_from(["matrix", "--allocators", "tcmalloc"]).is_err());
        assert_eq!(options(&["--seed", "42"]).seed, Some(42));
        assert_eq!(options(&[]).seed, None);
    }
}

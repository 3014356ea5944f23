//! The probe's record and report: `probe-run.json` ([`ProbeRun`]: every setting, the rounds'
//! orders, the machine, what was measured and why the probe stopped), and `report.md`,
//! rendered from `templates/probe.md.j2` with the matrix report's filters over the levels'
//! findings and the verdict.

use std::path::Path;

use lab_loadgen::options::BodyKind;
use lab_loadgen::{Connection, Schedule};
use minijinja::value::Value;
use serde::Serialize;

use super::analysis::LevelFindings;
use super::verdict::Verdict;
use crate::error::{Doing, MatrixError};
use crate::interval::median_interval_rank;
use crate::machine::MachineInfo;
use crate::plots::PlotFile;
use crate::saturation::{GROWTH_MIN_INTERVALS, GROWTH_SATURATED, UTILISATION_SATURATED};

/// The template, editable as text.
const TEMPLATE: &str = include_str!("../../templates/probe.md.j2");

/// The report's file name.
pub const REPORT_MD: &str = "report.md";

/// The record's file name.
pub const PROBE_RUN_JSON: &str = "probe-run.json";

/// How the probe ran: `probe-run.json`, and the report's head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRun {
    /// The command line (set PROBE_*/workload variables first).
    pub command: String,
    /// When it started (local time, RFC 3339).
    pub started: String,
    /// TARGET_URL.
    pub target_url: String,
    /// The small requests' `METHOD /path`.
    pub small_request: String,
    /// Their body size, MB.
    pub small_size_mb: f64,
    /// Their body kind.
    pub small_body: BodyKind,
    /// The file their body was read from (SMALL_BODY_FILE), if it was.
    pub small_body_file: Option<String>,
    /// Seconds between two small requests.
    pub small_interval_s: f64,
    /// The uploads' `METHOD /path`.
    pub large_request: String,
    /// Their body kind.
    pub large_body: BodyKind,
    /// The file their body was read from (LARGE_BODY_FILE), if it was.
    pub large_body_file: Option<String>,
    /// Seconds between two uploads.
    pub large_interval_s: f64,
    /// The ladder, MB.
    pub sizes_mb: Vec<f64>,
    /// The ladder as the report writes it: `1, 5, 25`.
    pub ladder: String,
    /// Seconds of load per level and round.
    pub duration_s: f64,
    /// Rounds planned.
    pub reps: u32,
    /// The orders' seed (PROBE_SEED replays them).
    pub seed: u64,
    /// PROBE_THRESHOLD.
    pub threshold: f64,
    /// CONNECTION.
    pub connection: Connection,
    /// SCHEDULE.
    pub schedule: Schedule,
    /// CHECK_ANSWERS.
    pub check_answers: bool,
    /// REQUEST_TIMEOUT, seconds.
    pub request_timeout_s: f64,
    /// Each round's levels, in run order.
    pub orders: Vec<Vec<String>>,
    /// Whether the server exports the lab's metrics.
    pub server_metrics: bool,
    /// Its WORKERS, from the lab's /healthz.
    pub server_workers: Option<usize>,
    /// The machine the probe ran on.
    pub machine: MachineInfo,
    /// Level runs done.
    pub done: usize,
    /// Level runs planned.
    pub planned: usize,
    /// Level runs whose numbers count.
    pub measured: usize,
    /// Why the probe stopped early, when it did.
    pub stopped: Option<String>,
    /// Whether Ctrl-C stopped it.
    pub interrupted: bool,
}

/// The intervals' method, for the report's head.
#[derive(Debug, Clone, Serialize)]
struct Head {
    /// Rounds measured (the most any level has).
    rounds: usize,
    /// The interval's coverage of the median (`None` with one round).
    coverage: Option<f64>,
    /// Its ranks `[x(k), x(n+1-k)]`.
    rank: Option<(usize, usize)>,
    /// Saturation thresholds: utilisation, growth ratio, growth in intervals.
    saturation: (f64, f64, f64),
}

/// Everything the template sees.
#[derive(Serialize)]
struct ReportContext<'a> {
    run: &'a ProbeRun,
    head: Head,
    levels: &'a [LevelFindings],
    verdict: &'a Verdict,
    plot: Option<&'a PlotFile>,
}

/// The coverage of the intervals over `rounds` rounds (`None` with fewer than 2).
pub fn coverage(rounds: usize) -> Option<f64> {
    median_interval_rank(rounds).map(|(_, coverage)| coverage)
}

/// report.md's text.
pub fn render(
    run: &ProbeRun,
    levels: &[LevelFindings],
    verdict: &Verdict,
    plot: Option<&PlotFile>,
) -> String {
    let rounds = levels
        .iter()
        .map(|l| l.measured_rounds.len())
        .max()
        .unwrap_or(0);
    let rank = median_interval_rank(rounds);
    let context = ReportContext {
        run,
        head: Head {
            rounds,
            coverage: rank.map(|r| r.1),
            rank: rank.map(|(k, _)| (k, rounds + 1 - k)),
            saturation: (
                UTILISATION_SATURATED,
                GROWTH_SATURATED,
                GROWTH_MIN_INTERVALS,
            ),
        },
        levels,
        verdict,
        plot,
    };
    let mut env = crate::report::environment();
    env.add_template("probe.md", TEMPLATE)
        .expect("the probe template parses (a test renders it)");
    env.get_template("probe.md")
        .and_then(|template| template.render(Value::from(minijinja::value::Serde(&context))))
        .unwrap_or_else(|error| format!("# The report could not be rendered\n\n{error:#}\n"))
}

/// Writes report.md and probe-run.json into `dir`.
pub fn write(dir: &Path, run: &ProbeRun, report: &str) -> Result<(), MatrixError> {
    let json = dir.join(PROBE_RUN_JSON);
    let text =
        serde_json::to_string_pretty(run).doing(|| format!("serialize {}", json.display()))?;
    std::fs::write(&json, text + "\n").doing(|| format!("write {}", json.display()))?;
    let md = dir.join(REPORT_MD);
    std::fs::write(&md, report).doing(|| format!("write {}", md.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::analysis::analyse;
    use crate::probe::analysis::tests::run;
    use crate::probe::levels::Level;
    use crate::probe::verdict::{VerdictSettings, verdict};

    /// A probe run as a test gives it.
    pub(crate) fn probe_run() -> ProbeRun {
        ProbeRun {
            command: "lab-probe --sizes-mb 4".into(),
            started: "2026-12-07T15:00:00+00:00".into(),
            target_url: "http://127.0.0.1:8080/".into(),
            small_request: "GET /health".into(),
            small_size_mb: 0.0,
            small_body: BodyKind::Json,
            small_body_file: None,
            small_interval_s: 0.1,
            large_request: "POST /upload".into(),
            large_body: BodyKind::Json,
            large_body_file: None,
            large_interval_s: 1.0,
            sizes_mb: vec![4.0],
            ladder: "4".into(),
            duration_s: 3.0,
            reps: 3,
            seed: 7,
            threshold: 2.0,
            connection: Connection::New,
            schedule: Schedule::Open,
            check_answers: true,
            request_timeout_s: 30.0,
            orders: vec![vec!["alone".into(), "uploads-4mb".into()]; 3],
            server_metrics: false,
            server_workers: None,
            machine: MachineInfo::default(),
            done: 6,
            planned: 6,
            measured: 6,
            stopped: None,
            interrupted: false,
        }
    }

    /// The template renders every section, with the verdict first and intervals shown.
    #[test]
    fn the_report_renders_the_verdict_and_the_tables() {
        let four = Level::Uploads { size_mb: 4.0 };
        let runs: Vec<_> = (1..=3)
            .flat_map(|round| {
                [
                    run(round, Level::Alone, 2.0),
                    run(round, four, 10.0 + 20.0 * round as f64),
                ]
            })
            .collect();
        let levels = analyse(&[Level::Alone, four], &runs, 3, 2.0);
        let settings = VerdictSettings {
            threshold: 2.0,
            interval_s: 1.0,
            coverage: coverage(3),
            stopped: None,
        };
        let verdict = verdict(&levels, &settings);
        let text = render(&probe_run(), &levels, &verdict, None);
        assert!(!text.contains("could not be rendered"), "{text}");
        assert!(
            text.contains("**Verdict:** small requests wait for uploads: p95 ×25 [×15–×35]"),
            "{text}"
        );
        assert!(text.contains("| 4 MB uploads | 3 |"), "{text}");
        assert!(text.contains("Server metrics: not available"), "{text}");
        assert!(
            text.contains("Every level of every round was measured."),
            "{text}"
        );
        assert!(
            text.contains("with a json body of 4 MB (one level per size)"),
            "{text}"
        );
        let from_file = ProbeRun {
            large_body_file: Some("orders.csv".into()),
            ..probe_run()
        };
        let text = render(&from_file, &levels, &verdict, None);
        assert!(
            text.contains("with the body of `orders.csv` (4 MB)"),
            "{text}"
        );
    }
}

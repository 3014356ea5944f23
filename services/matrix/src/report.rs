//! `report.md`: the study's table (config | class | count | median | p95 | p99 | max) for every
//! scenario, then findings whose every number is computed here from `matrix.csv` and the
//! scenarios' `requests.csv`, then the plots. It states how it was made (command, date,
//! cores) so it can be committed as-is.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::findings::{
    self, KeepAliveCost, LARGE, LoadedVsUnloaded, Overlap, SMALL, WorkerSpread, large_medians,
    small_p95_grid, small_p95_ratios, unloaded_connection_cost,
};
use crate::plots::PlotFile;
use crate::scenario::Workload;
use crate::table::MatrixRow;
use lab_loadgen::options::{Connection, Schedule};

/// How and where the matrix ran.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunContext {
    /// The exact command line.
    pub command: String,
    /// When the matrix started (local time, RFC 3339).
    pub started: String,
    /// Logical CPUs available (what `nproc` prints).
    pub cpus: usize,
    /// `os/arch`.
    pub platform: String,
    /// The lab-server binary that was started.
    pub server_bin: String,
    /// The workload every scenario ran.
    pub workload: Workload,
    /// Scenarios planned.
    pub planned: usize,
    /// Scenarios measured (the last one possibly cut short).
    pub done: usize,
    /// Whether Ctrl-C stopped the matrix early.
    pub interrupted: bool,
}

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub struct ReportInput {
    /// How the matrix ran.
    pub context: RunContext,
    /// `matrix.csv`'s rows.
    pub rows: Vec<MatrixRow>,
    /// Per-worker spread of every multi-worker scenario.
    pub spreads: Vec<WorkerSpread>,
    /// Small-during-large split of every single-worker loaded scenario.
    pub overlaps: Vec<Overlap>,
    /// The SVG files written next to the report.
    pub plots: Vec<PlotFile>,
    /// What failed, by (scenario, class), from [`findings::error_breakdown`].
    pub error_breakdowns: BTreeMap<(String, String), String>,
}

/// Milliseconds with precision that suits their size (the study printed integers; sub-10 ms
/// values need decimals to mean anything).
pub fn ms(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}")
    } else if value < 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.0}")
    }
}

fn opt_ms(value: Option<f64>) -> String {
    value.map(ms).unwrap_or_else(|| "–".to_string())
}

fn ratio(value: f64) -> String {
    if value < 10.0 {
        format!("{value:.2}×")
    } else {
        format!("{value:.0}×")
    }
}

/// A GitHub-flavoured markdown table.
pub fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!(
        "| {} |\n|{}\n",
        headers.join(" | "),
        "---|".repeat(headers.len())
    );
    for row in rows {
        let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

/// The study's table: one line per scenario × class.
fn study_table(rows: &[MatrixRow]) -> String {
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.config.clone(),
                r.class.clone(),
                r.count.to_string(),
                opt_ms(r.median_ms),
                opt_ms(r.p95_ms),
                opt_ms(r.p99_ms),
                opt_ms(r.max_ms),
            ]
        })
        .collect();
    markdown_table(
        &["config", "class", "count", "median", "p95", "p99", "max"],
        &lines,
    )
}

fn header(out: &mut String, context: &RunContext) {
    let w = &context.workload;
    let _ = writeln!(
        out,
        "# Experiment matrix: small requests next to large uploads\n"
    );
    let _ = writeln!(out, "- Command: `{}`", context.command);
    let _ = writeln!(out, "- Started: {}", context.started);
    let _ = writeln!(
        out,
        "- Machine: {} CPUs (`nproc`), {}",
        context.cpus, context.platform
    );
    let _ = writeln!(
        out,
        "- Server: `{}`, started natively per scenario on 127.0.0.1",
        context.server_bin
    );
    let _ = writeln!(
        out,
        "- Workload per scenario: {} s; small {} MB every {} s; large {} MB every {} s \
         (none in unloaded baselines); SCHEDULE={}",
        w.duration_s,
        w.small_size_mb,
        w.small_interval_s,
        w.large_size_mb,
        w.large_interval_s,
        w.schedule.as_str()
    );
    let _ = writeln!(
        out,
        "- Scenarios: {} of {} measured{}",
        context.done,
        context.planned,
        if context.interrupted {
            " (interrupted by Ctrl-C: the last one was cut short)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "- All latencies are client-side, in ms, measured by lab-loadgen{}.\n",
        if w.schedule == Schedule::Open {
            " from each request's scheduled start (open schedule)"
        } else {
            " from each request's send (closed schedule)"
        }
    );
}

fn ratios_section(out: &mut String, ratios: &[LoadedVsUnloaded]) {
    let _ = writeln!(out, "### Small-request p95, loaded vs unloaded\n");
    if ratios.is_empty() {
        let _ = writeln!(
            out,
            "No unloaded baseline ran, so there is nothing to divide by.\n"
        );
        return;
    }
    let lines: Vec<Vec<String>> = ratios
        .iter()
        .map(|r| {
            vec![
                r.config.clone(),
                ms(r.loaded_p95_ms),
                ms(r.unloaded_p95_ms),
                ratio(r.ratio),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &["config", "small p95 loaded", "small p95 unloaded", "ratio"],
        &lines,
    ));
    let worst = ratios.iter().max_by(|a, b| a.ratio.total_cmp(&b.ratio));
    let best = ratios.iter().min_by(|a, b| a.ratio.total_cmp(&b.ratio));
    if let (Some(worst), Some(best)) = (worst, best)
        && worst.scenario == best.scenario
    {
        let _ = writeln!(
            out,
            "\nLarge uploads change the small p95 of **{}** from {} to {} ms ({}).\n",
            worst.config,
            ms(worst.unloaded_p95_ms),
            ms(worst.loaded_p95_ms),
            ratio(worst.ratio)
        );
    } else if let (Some(worst), Some(best)) = (worst, best) {
        let _ = writeln!(
            out,
            "\nLarge uploads raise the small p95 most in **{}** ({} → {} ms, {}) and least in **{}** \
             ({} → {} ms, {}).\n",
            worst.config,
            ms(worst.unloaded_p95_ms),
            ms(worst.loaded_p95_ms),
            ratio(worst.ratio),
            best.config,
            ms(best.unloaded_p95_ms),
            ms(best.loaded_p95_ms),
            ratio(best.ratio)
        );
    }
}

/// "A is 3.20× B" or "A is 0.50× B (lower)": the factor between two p95s, computed.
fn compare(from: f64, to: f64) -> String {
    if from <= 0.0 || to <= 0.0 {
        return "n/a".to_string();
    }
    if to <= from {
        format!("{} lower", ratio(from / to))
    } else {
        format!("{} higher", ratio(to / from))
    }
}

/// The study's open questions, each answered with the cells of the grid that bear on it.
fn questions_section(out: &mut String, rows: &[MatrixRow]) {
    let grid = small_p95_grid(rows);
    let mut workers: Vec<usize> = grid.keys().map(|k| k.0).collect();
    workers.sort_unstable();
    workers.dedup();
    let endpoints: Vec<String> = {
        let mut seen = Vec::new();
        for r in rows.iter().filter(|r| r.class == SMALL) {
            if !seen.contains(&r.endpoint) {
                seen.push(r.endpoint.clone());
            }
        }
        seen
    };
    let connections = [Connection::New, Connection::Keepalive];
    let _ = writeln!(
        out,
        "### The study's questions, in numbers (small-request p95)\n"
    );
    let mut any = false;

    if let (Some(&low), Some(&high)) = (workers.first(), workers.last())
        && low != high
    {
        let _ = writeln!(
            out,
            "**Do more workers fix it?** ({low} → {high} workers)\n"
        );
        for endpoint in &endpoints {
            for connection in connections {
                let (Some(&a), Some(&b)) = (
                    grid.get(&(low, endpoint.clone(), connection.as_str())),
                    grid.get(&(high, endpoint.clone(), connection.as_str())),
                ) else {
                    continue;
                };
                any = true;
                let _ = writeln!(
                    out,
                    "- {endpoint}, {}: {} ms → {} ms ({}).",
                    connection.as_str(),
                    ms(a),
                    ms(b),
                    compare(a, b)
                );
            }
        }
        let _ = writeln!(out);
    }

    if let Some(&high) = workers.last() {
        let mut lines = Vec::new();
        for endpoint in &endpoints {
            let (Some(&new), Some(&keep)) = (
                grid.get(&(high, endpoint.clone(), Connection::New.as_str())),
                grid.get(&(high, endpoint.clone(), Connection::Keepalive.as_str())),
            ) else {
                continue;
            };
            let shared = findings::shared_pool_small_p95(rows, high, endpoint)
                .map(|shared| {
                    format!(
                        "; keepalive with one pool shared by all classes {} ms (vs new: {})",
                        ms(shared),
                        compare(new, shared)
                    )
                })
                .unwrap_or_default();
            lines.push(format!(
                "- {endpoint}: new {} ms, keepalive {} ms (keepalive {}){shared}.",
                ms(new),
                ms(keep),
                compare(new, keep)
            ));
        }
        if !lines.is_empty() {
            any = true;
            let _ = writeln!(
                out,
                "**Does keep-alive undo the multi-worker fix?** ({high} workers, new vs keepalive client)\n"
            );
            let _ = writeln!(out, "{}\n", lines.join("\n"));
        }
    }

    if let Some(&low) = workers.first() {
        let mut lines = Vec::new();
        for connection in connections {
            let Some(&ping) = grid.get(&(low, "/ping".to_string(), connection.as_str())) else {
                continue;
            };
            for endpoint in endpoints.iter().filter(|e| *e != "/ping") {
                if let Some(&other) = grid.get(&(low, endpoint.clone(), connection.as_str())) {
                    lines.push(format!(
                        "- {}: /ping {} ms, {endpoint} {} ms ({endpoint} {}).",
                        connection.as_str(),
                        ms(ping),
                        ms(other),
                        compare(ping, other)
                    ));
                }
            }
        }
        if !lines.is_empty() {
            any = true;
            let _ = writeln!(
                out,
                "**Do offloading or a cheaper parse fix it with {low} worker{}?** (vs /ping)\n",
                if low == 1 { "" } else { "s" }
            );
            let _ = writeln!(out, "{}\n", lines.join("\n"));
        }
    }
    if !any {
        let _ = writeln!(out, "The scenarios that ran do not form any comparison.\n");
    }
}

fn large_section(out: &mut String, rows: &[MatrixRow]) {
    let medians = large_medians(rows);
    let _ = writeln!(out, "### Large-request median per strategy\n");
    if medians.is_empty() {
        let _ = writeln!(out, "No large request succeeded in a loaded scenario.\n");
        return;
    }
    let lines: Vec<Vec<String>> = medians
        .iter()
        .map(|m| {
            vec![
                m.config.clone(),
                ms(m.median_ms),
                m.ping_median_ms
                    .filter(|p| *p > 0.0)
                    .map(|p| ratio(m.median_ms / p))
                    .unwrap_or_else(|| "–".to_string()),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &["config", "large median", "vs /ping"],
        &lines,
    ));
    if let Some(fastest) = medians
        .iter()
        .min_by(|a, b| a.median_ms.total_cmp(&b.median_ms))
    {
        let _ = writeln!(
            out,
            "\nThe fastest large upload (median) is **{}** at {} ms.\n",
            fastest.config,
            ms(fastest.median_ms)
        );
    }
}

fn keep_alive_section(out: &mut String, rows: &[MatrixRow], costs: &[KeepAliveCost]) {
    let _ = writeln!(out, "### What turning keep-alive off costs clients\n");
    if let Some((new, keep)) = unloaded_connection_cost(rows) {
        let _ = writeln!(
            out,
            "Unloaded, the small median with a fresh connection per request is {} ms vs {} ms \
             over kept-alive connections (new {}).\n",
            ms(new),
            ms(keep),
            compare(keep, new)
        );
    }
    if costs.is_empty() {
        let _ = writeln!(out, "No keep-alive-off scenario ran.\n");
        return;
    }
    for cost in costs {
        let _ = writeln!(out, "{} workers, {}:\n", cost.workers, cost.endpoint);
        let lines: Vec<Vec<String>> = cost
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.label.clone(),
                    opt_ms(l.small_median_ms),
                    opt_ms(l.small_p95_ms),
                    opt_ms(l.large_median_ms),
                ]
            })
            .collect();
        out.push_str(&markdown_table(
            &["setting", "small median", "small p95", "large median"],
            &lines,
        ));
        let Some(off) = cost.lines.first() else {
            continue;
        };
        let _ = writeln!(out);
        for other in &cost.lines[1..] {
            let (Some(off_median), Some(other_median), Some(off_p95), Some(other_p95)) = (
                off.small_median_ms,
                other.small_median_ms,
                off.small_p95_ms,
                other.small_p95_ms,
            ) else {
                continue;
            };
            let _ = writeln!(
                out,
                "- {} vs {}: small median {} ms vs {} ms ({}), small p95 {} ms vs {} ms ({}).",
                off.label,
                other.label,
                ms(off_median),
                ms(other_median),
                compare(other_median, off_median),
                ms(off_p95),
                ms(other_p95),
                compare(other_p95, off_p95)
            );
        }
        let _ = writeln!(out);
    }
}

fn spread_section(out: &mut String, spreads: &[WorkerSpread]) {
    let _ = writeln!(
        out,
        "### How the accept loop spread the requests over workers\n"
    );
    if spreads.is_empty() {
        let _ = writeln!(out, "No multi-worker scenario ran.\n");
        return;
    }
    let lines: Vec<Vec<String>> = spreads
        .iter()
        .map(|s| {
            let per_worker = |f: &dyn Fn(&findings::WorkerShare) -> String| {
                s.shares.iter().map(f).collect::<Vec<_>>().join(" / ")
            };
            vec![
                s.config.clone(),
                per_worker(&|w| w.small.to_string()),
                per_worker(&|w| w.large.to_string()),
                per_worker(&|w| opt_ms(w.small_p95_ms)),
                format!("{} of {}", s.workers_used(), s.workers),
                format!("{:.0}%", 100.0 * s.busiest_small_share()),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &[
            "config",
            "small per worker",
            "large per worker",
            "small p95 per worker",
            "workers used",
            "busiest worker's small share",
        ],
        &lines,
    ));
    let _ = writeln!(
        out,
        "\nPer worker: worker 0 / worker 1 / …, from the `worker` column of each scenario's \
         requests.csv (the server's `x-worker-id`); p95 by nearest rank.\n"
    );
}

fn overlap_section(out: &mut String, overlaps: &[Overlap]) {
    let _ = writeln!(
        out,
        "### Do the small-request spikes line up with the large uploads?\n"
    );
    if overlaps.is_empty() {
        let _ = writeln!(out, "No single-worker loaded scenario ran.\n");
        return;
    }
    let lines: Vec<Vec<String>> = overlaps
        .iter()
        .map(|o| {
            vec![
                o.config.clone(),
                o.during_count.to_string(),
                opt_ms(o.during_p95_ms),
                o.outside_count.to_string(),
                opt_ms(o.outside_p95_ms),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &[
            "config",
            "small while a large upload was in flight",
            "their p95",
            "small with no large upload in flight",
            "their p95",
        ],
        &lines,
    ));
    let _ = writeln!(
        out,
        "\nA small request counts as \"in flight with a large upload\" when the span from its \
         scheduled start to its response overlaps a large request's span.\n"
    );
}

fn problems_section(
    out: &mut String,
    rows: &[MatrixRow],
    breakdowns: &BTreeMap<(String, String), String>,
) {
    let troubled: Vec<Vec<String>> = rows
        .iter()
        .filter(|r| r.errors > 0 || r.skipped > 0 || !r.completed)
        .map(|r| {
            vec![
                r.config.clone(),
                r.class.clone(),
                r.errors.to_string(),
                breakdowns
                    .get(&(r.scenario.clone(), r.class.clone()))
                    .cloned()
                    .unwrap_or_else(|| r.errors_by_kind.clone()),
                r.skipped.to_string(),
                if r.completed {
                    "yes"
                } else {
                    "no (interrupted)"
                }
                .to_string(),
            ]
        })
        .collect();
    let _ = writeln!(out, "### Errors, skipped requests, interrupted scenarios\n");
    if troubled.is_empty() {
        let _ = writeln!(
            out,
            "None: every request of every scenario got a 2xx, none was skipped.\n"
        );
    } else {
        out.push_str(&markdown_table(
            &[
                "config",
                "class",
                "errors",
                "what failed",
                "skipped",
                "completed",
            ],
            &troubled,
        ));
        let _ = writeln!(out);
    }
}

/// The whole report.
pub fn render(input: &ReportInput) -> String {
    let mut out = String::new();
    header(&mut out, &input.context);
    let _ = writeln!(out, "## Results (client-side, ms)\n");
    out.push_str(&study_table(&input.rows));
    let _ = writeln!(out, "\n## Findings (computed from the numbers above)\n");
    ratios_section(&mut out, &small_p95_ratios(&input.rows));
    questions_section(&mut out, &input.rows);
    large_section(&mut out, &input.rows);
    keep_alive_section(
        &mut out,
        &input.rows,
        &findings::keep_alive_costs(&input.rows),
    );
    spread_section(&mut out, &input.spreads);
    overlap_section(&mut out, &input.overlaps);
    problems_section(&mut out, &input.rows, &input.error_breakdowns);
    if !input.plots.is_empty() {
        let _ = writeln!(out, "## Plots\n");
        for plot in &input.plots {
            let _ = writeln!(out, "![{}]({})\n", plot.caption, plot.file);
        }
    }
    // The class names the findings rely on, so a reader knows which rows they came from.
    let _ = writeln!(
        out,
        "---\nFindings use the `{SMALL}` and `{LARGE}` classes; matrix.csv has every class and \
         every statistic (min, mean, p90 too)."
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::sample_rows;
    use crate::scenario::ScenarioKind;

    fn input() -> ReportInput {
        ReportInput {
            context: RunContext {
                command: "lab-loadgen matrix --duration 20".to_string(),
                started: "2026-11-25T12:00:00+00:00".to_string(),
                cpus: 2,
                platform: "linux/x86_64".to_string(),
                server_bin: "target/release/lab-server".to_string(),
                workload: Workload {
                    duration_s: 20.0,
                    small_size_mb: 0.001,
                    small_interval_s: 0.1,
                    large_size_mb: 25.0,
                    large_interval_s: 1.0,
                    schedule: Schedule::Open,
                },
                planned: 6,
                done: 6,
                interrupted: false,
            },
            rows: sample_rows(),
            spreads: Vec::new(),
            overlaps: Vec::new(),
            error_breakdowns: BTreeMap::new(),
            plots: vec![PlotFile {
                file: "small_p95.svg".to_string(),
                caption: "small p95".to_string(),
            }],
        }
    }

    /// Milliseconds keep decimals below 100 and are whole above.
    #[test]
    fn ms_keeps_small_values_readable_and_large_ones_whole() {
        assert_eq!(ms(1.234), "1.23");
        assert_eq!(ms(42.26), "42.3");
        assert_eq!(ms(658.4), "658");
    }

    /// The report has the study's table and says command, date and CPUs.
    #[test]
    fn report_has_the_studys_table_and_states_how_it_was_made() {
        let report = render(&input());
        assert!(report.contains(
            "| config | class | count | median | p95 | p99 | max |\n|---|---|---|---|---|---|---|\n"
        ));
        assert!(
            report.contains("| 1 w, /ping, new, loaded | large | 100 | 900 | 1000 | 1100 | 1200 |")
        );
        assert!(report.contains("- Command: `lab-loadgen matrix --duration 20`"));
        assert!(report.contains("2 CPUs (`nproc`)"));
        assert!(report.contains("![small p95](small_p95.svg)"));
    }

    /// Every finding sentence carries numbers computed from the rows.
    #[test]
    fn findings_are_computed_from_the_rows() {
        let report = render(&input());
        // 300 / 1 = 300× for /ping keepalive at 4 workers, 3 / 2 = 1.5× for /offload.
        assert!(
            report.contains("most in **4 w, /ping, keepalive, loaded** (1.00 → 300 ms, 300×)"),
            "{report}"
        );
        assert!(report.contains("| 1 w, /ping, new, loaded | 400 | 2.00 | 200× |"));
        assert!(report.contains("least in **1 w, /offload, new, loaded** (2.00 → 3.00 ms, 1.50×)"));
        // 1 → 4 workers on /ping with new connections: 400 → 8 ms.
        assert!(report.contains("- /ping, new: 400 ms → 8.00 ms (50× lower)."));
        // Keep-alive at 4 workers: 8 → 300 ms.
        assert!(report.contains("- /ping: new 8.00 ms, keepalive 300 ms (keepalive 38× higher)."));
        // Unloaded connection cost: 1.0 - 0.5 ms.
        assert!(report.contains(
            "request is 1.00 ms vs 0.50 ms over kept-alive connections (new 2.00× higher)"
        ));
        assert!(report.contains("| 1 w, /offload, new, loaded | 450 | 0.50× |"));
        assert!(report.contains("None: every request of every scenario got a 2xx"));
        // Keep-alive off (1.6 / 9 ms) against keep-alive on (0.7 / 300 ms) and new (1.5 / 8 ms).
        assert!(report.contains(
            "- server KEEP_ALIVE=0, keepalive client vs server keep-alive on (default), keepalive \
             client: small median 1.60 ms vs 0.70 ms (2.29× higher), small p95 9.00 ms vs 300 ms \
             (33× lower)."
        ));
        assert!(report.contains(
            "vs server keep-alive on (default), new client: small median 1.60 ms vs 1.50 ms (1.07× \
             higher), small p95 9.00 ms vs 8.00 ms (1.12× higher)."
        ));
    }

    /// The shared-pool scenario joins the keep-alive question at the same worker count.
    #[test]
    fn shared_pool_joins_the_keep_alive_question() {
        let mut input = input();
        input.rows.push(crate::findings::tests::row(
            "w4-ping-keepalive-shared",
            ScenarioKind::SharedPool,
            4,
            "/ping",
            Connection::Keepalive,
            SMALL,
            (2.0, 40.0),
        ));
        let report = render(&input);
        assert!(
            report.contains(
                "- /ping: new 8.00 ms, keepalive 300 ms (keepalive 38× higher); keepalive with \
                 one pool shared by all classes 40.0 ms (vs new: 5.00× higher)."
            ),
            "{report}"
        );
    }
}

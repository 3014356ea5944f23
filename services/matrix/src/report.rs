//! `report.md`: the study's table (config | class | count | median | p95 | p99 | max) for every
//! scenario, then the findings, then the plots. Every number comes from
//! [`crate::findings::Findings`], computed in [`crate::analysis`]; this module only formats.
//! The report states how it was made (command, date, cores) so it can be committed as-is.

use std::fmt::{self, Write as _};

use lab_core::classes::{LARGE, SMALL};
use serde::{Deserialize, Serialize};

use crate::analysis::Analysis;
use crate::findings::{
    Change, Direction, Findings, KeepAliveCost, LargeMedian, LoadedVsUnloaded, Overlap, Questions,
    RatioExtremes, ScenarioLag, StackComparison, Trouble, WorkerShare, WorkerSpread,
};
use crate::plots::PlotFile;
use crate::scenario::{Workload, workers_label};
use crate::table::MatrixRow;
use lab_loadgen::options::Schedule;

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
    /// The python that ran the FastAPI scenarios (`python -m labfastapi`, uvicorn), if any.
    #[serde(default)]
    pub fastapi_python: Option<String>,
    /// The workload every scenario ran.
    pub workload: Workload,
    /// Scenarios planned.
    pub planned: usize,
    /// Scenarios measured (the last one possibly cut short).
    pub done: usize,
    /// Whether Ctrl-C stopped the matrix early.
    pub interrupted: bool,
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
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
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

fn header(out: &mut String, context: &RunContext) -> fmt::Result {
    let w = &context.workload;
    writeln!(
        out,
        "# Experiment matrix: small requests next to large uploads\n"
    )?;
    writeln!(out, "- Command: `{}`", context.command)?;
    writeln!(out, "- Started: {}", context.started)?;
    writeln!(
        out,
        "- Machine: {} CPUs (`nproc`), {}",
        context.cpus, context.platform
    )?;
    writeln!(
        out,
        "- Server: `{}`, started natively per scenario on 127.0.0.1",
        context.server_bin
    )?;
    if let Some(python) = &context.fastapi_python {
        writeln!(
            out,
            "- FastAPI: `{python} -m labfastapi` (services/fastapi, uvicorn), started the same way"
        )?;
    }
    writeln!(
        out,
        "- Workload per scenario: {} s; small {} MB every {} s; large {} MB every {} s \
         (none in unloaded baselines); SCHEDULE={}",
        w.duration_s,
        w.small_size_mb,
        w.small_interval_s,
        w.large_size_mb,
        w.large_interval_s,
        w.schedule.as_str()
    )?;
    writeln!(
        out,
        "- Scenarios: {} of {} measured{}",
        context.done,
        context.planned,
        if context.interrupted {
            " (interrupted by Ctrl-C: the last one was cut short)"
        } else {
            ""
        }
    )?;
    writeln!(
        out,
        "- All latencies are client-side, in ms, measured by lab-loadgen{}.\n",
        if w.schedule == Schedule::Open {
            " from each request's scheduled start (open schedule)"
        } else {
            " from each request's send (closed schedule)"
        }
    )
}

fn ratios_section(
    out: &mut String,
    ratios: &[LoadedVsUnloaded],
    extremes: Option<&RatioExtremes>,
) -> fmt::Result {
    writeln!(out, "### Small-request p95, loaded vs unloaded\n")?;
    if ratios.is_empty() {
        return writeln!(
            out,
            "No unloaded baseline ran, so there is nothing to divide by.\n"
        );
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
    match extremes {
        Some(RatioExtremes::One(only)) => writeln!(
            out,
            "\nLarge uploads change the small p95 of **{}** from {} to {} ms ({}).\n",
            only.config,
            ms(only.unloaded_p95_ms),
            ms(only.loaded_p95_ms),
            ratio(only.ratio)
        ),
        Some(RatioExtremes::Range { worst, best }) => writeln!(
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
        ),
        None => Ok(()),
    }
}

/// "3.20× higher" or "2.00× lower": which way a change went; "n/a" without a direction.
fn direction(change: &Change) -> String {
    match change.direction {
        Some(Direction::Lower(factor)) => format!("{} lower", ratio(factor)),
        Some(Direction::Higher(factor)) => format!("{} higher", ratio(factor)),
        None => "n/a".to_string(),
    }
}

/// The study's open questions, each answered with the cells of the grid that bear on it.
fn questions_section(out: &mut String, questions: &Questions) -> fmt::Result {
    writeln!(
        out,
        "### The study's questions, in numbers (small-request p95)\n"
    )?;
    if let Some(more) = &questions.more_workers {
        writeln!(
            out,
            "**Do more workers fix it?** ({} → {} workers)\n",
            more.fewest, more.most
        )?;
        for cell in &more.cells {
            writeln!(
                out,
                "- {}, {}: {} ms → {} ms ({}).",
                cell.endpoint,
                cell.connection.as_str(),
                ms(cell.small_p95.from_ms),
                ms(cell.small_p95.to_ms),
                direction(&cell.small_p95)
            )?;
        }
        writeln!(out)?;
    }
    if let Some(keep_alive) = &questions.keep_alive {
        writeln!(
            out,
            "**Does keep-alive undo the multi-worker fix?** ({} workers, new vs keepalive client)\n",
            keep_alive.workers
        )?;
        for cell in &keep_alive.cells {
            let shared = cell
                .shared_pool
                .map(|shared| {
                    format!(
                        "; keepalive with one pool shared by all classes {} ms (vs new: {})",
                        ms(shared.to_ms),
                        direction(&shared)
                    )
                })
                .unwrap_or_default();
            writeln!(
                out,
                "- {}: new {} ms, keepalive {} ms (keepalive {}){shared}.",
                cell.endpoint,
                ms(cell.keepalive.from_ms),
                ms(cell.keepalive.to_ms),
                direction(&cell.keepalive)
            )?;
        }
        writeln!(out)?;
    }
    if let Some(cheaper) = &questions.cheaper_parse {
        writeln!(
            out,
            "**Do offloading or a cheaper parse fix it with {} worker{}?** (vs /ping)\n",
            cheaper.workers,
            if cheaper.workers == 1 { "" } else { "s" }
        )?;
        for cell in &cheaper.cells {
            writeln!(
                out,
                "- {}: /ping {} ms, {} {} ms ({} {}).",
                cell.connection.as_str(),
                ms(cell.small_p95.from_ms),
                cell.endpoint,
                ms(cell.small_p95.to_ms),
                cell.endpoint,
                direction(&cell.small_p95)
            )?;
        }
        writeln!(out)?;
    }
    if !questions.answered {
        writeln!(out, "The scenarios that ran do not form any comparison.\n")?;
    }
    Ok(())
}

fn large_section(
    out: &mut String,
    medians: &[LargeMedian],
    fastest: Option<&LargeMedian>,
) -> fmt::Result {
    writeln!(out, "### Large-request median per strategy\n")?;
    if medians.is_empty() {
        return writeln!(out, "No large request succeeded in a loaded scenario.\n");
    }
    let lines: Vec<Vec<String>> = medians
        .iter()
        .map(|m| {
            vec![
                m.config.clone(),
                ms(m.median_ms),
                m.vs_ping.map(ratio).unwrap_or_else(|| "–".to_string()),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &["config", "large median", "vs /ping"],
        &lines,
    ));
    if let Some(fastest) = fastest {
        writeln!(
            out,
            "\nThe fastest large upload (median) is **{}** at {} ms.\n",
            fastest.config,
            ms(fastest.median_ms)
        )?;
    }
    Ok(())
}

/// FastAPI beside actix, cell by cell; nothing when no FastAPI scenario ran.
fn stacks_section(out: &mut String, stacks: &[StackComparison]) -> fmt::Result {
    if stacks.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "### The study's stack beside actix: FastAPI on uvicorn\n\n\
         The same client, machine and workload; FastAPI is services/fastapi (the study's \
         endpoints), actix is lab-server.\n"
    )?;
    let lines: Vec<Vec<String>> = stacks
        .iter()
        .map(|s| {
            let actix = s.actix.unwrap_or_default();
            vec![
                s.config.clone(),
                opt_ms(s.fastapi.0),
                opt_ms(actix.0),
                opt_ms(s.fastapi.1),
                opt_ms(actix.1),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &[
            "config",
            "small p95 FastAPI",
            "small p95 actix",
            "large median FastAPI",
            "large median actix",
        ],
        &lines,
    ));
    writeln!(out)?;
    for stack in stacks {
        let workers = workers_label(stack.workers);
        let mut parts = Vec::new();
        if let Some(large) = &stack.large_median {
            parts.push(format!(
                "large median {} ms with FastAPI, {} ms with actix (actix {})",
                ms(large.from_ms),
                ms(large.to_ms),
                direction(large)
            ));
        }
        if let Some(small) = &stack.small_p95 {
            parts.push(format!(
                "small p95 {} ms vs {} ms (actix {})",
                ms(small.from_ms),
                ms(small.to_ms),
                direction(small)
            ));
        }
        if parts.is_empty() {
            let why = if stack.actix.is_none() {
                "actix did not run this cell"
            } else {
                "no successful request on one side to compare"
            };
            writeln!(
                out,
                "- {workers}, {}, {}: {why}.",
                stack.endpoint,
                stack.connection.as_str()
            )?;
        } else {
            writeln!(
                out,
                "- {workers}, {}, {}: {}.",
                stack.endpoint,
                stack.connection.as_str(),
                parts.join("; ")
            )?;
        }
    }
    writeln!(out)
}

fn keep_alive_section(
    out: &mut String,
    unloaded: Option<&Change>,
    costs: &[KeepAliveCost],
) -> fmt::Result {
    writeln!(out, "### What turning keep-alive off costs clients\n")?;
    if let Some(cost) = unloaded {
        writeln!(
            out,
            "Unloaded, the small median with a fresh connection per request is {} ms vs {} ms \
             over kept-alive connections (new {}).\n",
            ms(cost.to_ms),
            ms(cost.from_ms),
            direction(cost)
        )?;
    }
    if costs.is_empty() {
        return writeln!(out, "No keep-alive-off scenario ran.\n");
    }
    for cost in costs {
        writeln!(out, "{} workers, {}:\n", cost.workers, cost.endpoint)?;
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
        if cost.lines.is_empty() {
            continue;
        }
        writeln!(out)?;
        for comparison in &cost.comparisons {
            writeln!(
                out,
                "- {} vs {}: small median {} ms vs {} ms ({}), small p95 {} ms vs {} ms ({}).",
                comparison.off,
                comparison.other,
                ms(comparison.small_median.to_ms),
                ms(comparison.small_median.from_ms),
                direction(&comparison.small_median),
                ms(comparison.small_p95.to_ms),
                ms(comparison.small_p95.from_ms),
                direction(&comparison.small_p95)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn spread_section(out: &mut String, spreads: &[WorkerSpread]) -> fmt::Result {
    writeln!(
        out,
        "### How the accept loop spread the requests over workers\n"
    )?;
    if spreads.is_empty() {
        return writeln!(out, "No multi-worker scenario ran.\n");
    }
    let lines: Vec<Vec<String>> = spreads
        .iter()
        .map(|s| {
            let per_worker = |f: &dyn Fn(&WorkerShare) -> String| {
                s.shares.iter().map(f).collect::<Vec<_>>().join(" / ")
            };
            vec![
                s.config.clone(),
                per_worker(&|w| w.small.to_string()),
                per_worker(&|w| w.large.to_string()),
                per_worker(&|w| opt_ms(w.small_p95_ms)),
                format!("{} of {}", s.workers_used, s.workers),
                format!("{:.0}%", 100.0 * s.busiest_small_share),
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
    writeln!(
        out,
        "\nPer worker: worker 0 / worker 1 / …, from the `worker` column of each scenario's \
         requests.csv (the server's `x-worker-id`); p95 by nearest rank.\n"
    )
}

fn overlap_section(out: &mut String, overlaps: &[Overlap]) -> fmt::Result {
    writeln!(
        out,
        "### Do the small-request spikes line up with the large uploads?\n"
    )?;
    if overlaps.is_empty() {
        return writeln!(out, "No single-worker loaded scenario ran.\n");
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
    writeln!(
        out,
        "\nA small request counts as \"in flight with a large upload\" when the span from its \
         scheduled start to its response overlaps a large request's span.\n"
    )
}

/// A lag bucket bound, ms: past the last finite bound, "> " that bound.
fn lag_bound(value: Option<f64>) -> String {
    match value {
        Some(bound) if bound.is_infinite() => {
            let last = lab_core::buckets::latency_buckets_seconds()
                .last()
                .map_or(0.0, |seconds| seconds * 1e3);
            format!("> {}", ms(last))
        }
        other => opt_ms(other),
    }
}

/// The servers' own view of their event loops, scenario by scenario.
fn lag_section(out: &mut String, lags: &[ScenarioLag]) -> fmt::Result {
    writeln!(out, "### Event-loop lag during the run (server-side)\n")?;
    if lags.is_empty() {
        return writeln!(
            out,
            "No scenario has lag numbers: its matrix.csv was written before the lag columns \
             existed, or the servers' /metrics could not be read.\n"
        );
    }
    let lines: Vec<Vec<String>> = lags
        .iter()
        .map(|l| vec![l.config.clone(), opt_ms(l.p99_ms), lag_bound(l.max_ms)])
        .collect();
    out.push_str(&markdown_table(
        &["config", "lag p99", "lag max bucket"],
        &lines,
    ));
    writeln!(
        out,
        "\nHow late the workers' lag probes woke while the load ran, in ms, from the server's own \
         `lab_server_event_loop_lag_seconds` histogram read right before and right after the \
         load (all workers summed; p99 interpolated inside its bucket as Prometheus' \
         `histogram_quantile` does; max bucket: the smallest bucket bound that held every \
         wake). A late wake is time a worker's event loop was blocked, and a small request \
         that arrived on that worker then waited at least that long; the lag cannot see time \
         the kernel or the client add, so the client-side tables above stay the measure of \
         what users feel.\n"
    )
}

fn problems_section(out: &mut String, troubles: &[Trouble]) -> fmt::Result {
    writeln!(out, "### Errors, skipped requests, interrupted scenarios\n")?;
    if troubles.is_empty() {
        return writeln!(
            out,
            "None: every request of every scenario got a 2xx, none was skipped.\n"
        );
    }
    let lines: Vec<Vec<String>> = troubles
        .iter()
        .map(|t| {
            vec![
                t.config.clone(),
                t.class.clone(),
                t.errors.to_string(),
                t.what_failed.clone(),
                t.skipped.to_string(),
                if t.completed {
                    "yes"
                } else {
                    "no (interrupted)"
                }
                .to_string(),
            ]
        })
        .collect();
    out.push_str(&markdown_table(
        &[
            "config",
            "class",
            "errors",
            "what failed",
            "skipped",
            "completed",
        ],
        &lines,
    ));
    writeln!(out)
}

fn write_report(
    out: &mut String,
    context: &RunContext,
    rows: &[MatrixRow],
    findings: &Findings,
    plots: &[PlotFile],
) -> fmt::Result {
    header(out, context)?;
    writeln!(out, "## Results (client-side, ms)\n")?;
    out.push_str(&study_table(rows));
    writeln!(out, "\n## Findings (computed from the numbers above)\n")?;
    ratios_section(out, &findings.ratios, findings.ratio_extremes.as_ref())?;
    questions_section(out, &findings.questions)?;
    large_section(
        out,
        &findings.large_medians,
        findings.fastest_large.as_ref(),
    )?;
    stacks_section(out, &findings.stacks)?;
    keep_alive_section(
        out,
        findings.unloaded_connection_cost.as_ref(),
        &findings.keep_alive_costs,
    )?;
    spread_section(out, &findings.spreads)?;
    overlap_section(out, &findings.overlaps)?;
    lag_section(out, &findings.lags)?;
    problems_section(out, &findings.troubles)?;
    if !plots.is_empty() {
        writeln!(out, "## Plots\n")?;
        for plot in plots {
            writeln!(out, "![{}]({})\n", plot.caption, plot.file)?;
        }
    }
    // The class names the findings rely on, so a reader knows which rows they came from.
    writeln!(
        out,
        "---\nFindings use the `{SMALL}` and `{LARGE}` classes; matrix.csv has every class and \
         every statistic (min, mean, p90 too)."
    )
}

/// The whole report for the matrix `context` describes, from its analysis and the plots
/// written next to it.
pub fn render(context: &RunContext, analysis: &Analysis, plots: &[PlotFile]) -> String {
    let mut out = String::new();
    write_report(&mut out, context, &analysis.rows, &analysis.findings, plots)
        .expect("writing to a String cannot fail");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::tests::sample_rows;
    use crate::scenario::ScenarioKind;
    use lab_loadgen::options::Connection;

    fn context() -> RunContext {
        RunContext {
            command: "lab-matrix --duration 20".to_string(),
            started: "2026-11-25T12:00:00+00:00".to_string(),
            cpus: 2,
            platform: "linux/x86_64".to_string(),
            server_bin: "target/release/lab-server".to_string(),
            fastapi_python: None,
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
        }
    }

    /// The report of `rows` (no requests.csv: no per-request findings) with one plot.
    fn report_of(rows: Vec<MatrixRow>) -> String {
        let analysis = crate::analysis::analyze(std::path::Path::new("/nonexistent"), rows);
        let plots = [PlotFile {
            file: "small_p95.svg".to_string(),
            caption: "small p95".to_string(),
        }];
        render(&context(), &analysis, &plots)
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
        let report = report_of(sample_rows());
        assert!(report.contains(
            "| config | class | count | median | p95 | p99 | max |\n|---|---|---|---|---|---|---|\n"
        ));
        assert!(
            report.contains("| 1 w, /ping, new, loaded | large | 100 | 900 | 1000 | 1100 | 1200 |")
        );
        assert!(report.contains("- Command: `lab-matrix --duration 20`"));
        assert!(report.contains("2 CPUs (`nproc`)"));
        assert!(report.contains("![small p95](small_p95.svg)"));
    }

    /// Every finding sentence carries numbers computed from the rows.
    #[test]
    fn findings_are_computed_from_the_rows() {
        let report = report_of(sample_rows());
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

    /// The lag table has one line per scenario, a dash where a scenario has no number, and
    /// "> the last bound" past the last bucket; without any number it says why there is none.
    #[test]
    fn lag_table_lists_every_scenario_and_says_when_there_is_nothing() {
        let report = report_of(sample_rows());
        assert!(report.contains(
            "### Event-loop lag during the run (server-side)\n\nNo scenario has lag numbers"
        ));
        let mut rows = sample_rows();
        for row in &mut rows {
            match row.scenario.as_str() {
                "w1-ping-new" => (row.lag_p99_ms, row.lag_max_ms) = (Some(812.4), Some(1010.0)),
                "w1-offload-new" => (row.lag_p99_ms, row.lag_max_ms) = (Some(1.5), Some(2.07)),
                "w4-ping-new" => {
                    (row.lag_p99_ms, row.lag_max_ms) = (Some(11.2), Some(f64::INFINITY))
                }
                _ => {}
            }
        }
        let report = report_of(rows);
        assert!(
            report.contains(
                "| config | lag p99 | lag max bucket |\n|---|---|---|\n\
                 | 1 w, /ping, new, unloaded | – | – |\n"
            ),
            "{report}"
        );
        assert!(report.contains("| 1 w, /ping, new, loaded | 812 | 1010 |"));
        assert!(report.contains("| 1 w, /offload, new, loaded | 1.50 | 2.07 |"));
        assert!(
            report.contains("| 4 w, /ping, new, loaded | 11.2 | > 11300 |"),
            "{report}"
        );
        assert!(report.contains("the client-side tables above stay the measure"));
        // The section sits in the findings, before the errors.
        let lag_at = report.find("### Event-loop lag").unwrap();
        assert!(report.find("### Do the small-request spikes").unwrap() < lag_at);
        assert!(lag_at < report.find("### Errors, skipped").unwrap());
    }

    /// The shared-pool scenario joins the keep-alive question at the same worker count.
    #[test]
    fn shared_pool_joins_the_keep_alive_question() {
        let mut rows = sample_rows();
        rows.push(crate::findings::tests::row(
            "w4-ping-keepalive-shared",
            ScenarioKind::SharedPool,
            4,
            "/ping",
            Connection::Keepalive,
            SMALL,
            (2.0, 40.0),
        ));
        let report = report_of(rows);
        assert!(
            report.contains(
                "- /ping: new 8.00 ms, keepalive 300 ms (keepalive 38× higher); keepalive with \
                 one pool shared by all classes 40.0 ms (vs new: 5.00× higher)."
            ),
            "{report}"
        );
    }

    /// A FastAPI scenario is set beside actix's in the same cell, with the factor computed.
    #[test]
    fn the_studys_stack_is_compared_with_actix_cell_by_cell() {
        use crate::findings::tests::row;
        use crate::scenario::ServerKind;
        let mut rows = sample_rows();
        for (class, latency) in [(SMALL, (100.0, 200.0)), (LARGE, (800.0, 900.0))] {
            let mut fastapi = row(
                "fastapi-w1-ping-new",
                ScenarioKind::Loaded,
                1,
                "/ping",
                Connection::New,
                class,
                latency,
            );
            fastapi.server = ServerKind::Fastapi;
            fastapi.config = "FastAPI 1 worker, /ping, new".to_string();
            rows.push(fastapi);
        }
        let report = report_of(rows);
        assert!(
            report.contains("### The study's stack beside actix: FastAPI on uvicorn"),
            "{report}"
        );
        assert!(
            report.contains("| FastAPI 1 worker, /ping, new | 200 | 400 | 800 | 900 |"),
            "{report}"
        );
        assert!(
            report.contains(
                "- 1 worker, /ping, new: large median 800 ms with FastAPI, 900 ms with actix \
                 (actix 1.12× higher); small p95 200 ms vs 400 ms (actix 2.00× higher)."
            ),
            "{report}"
        );
        // The study's questions stay actix's: the FastAPI row is not in their grid.
        assert!(report.contains("- /ping, new: 400 ms → 8.00 ms (50× lower)."));
    }
}

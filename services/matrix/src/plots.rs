//! SVG charts of the matrix (plotters' SVG backend: text is left to the browser, no fonts
//! needed):
//! - `small_p95.svg`: the small-request p95 of every scenario, one bar each (log scale: the
//!   baselines sit near 1 ms, the blocked loops near a second): the median over the rounds,
//!   a whisker over its interval, a dot per round; saturated scenarios pale and marked ⚠.
//! - `timeline-<scenario>.svg`: one per endpoint at the fewest workers, every request's latency
//!   over the first round's run, the large uploads drawn as shaded bands while in flight: the spikes of the
//!   small requests sit inside the bands.
//! - `worker_spread-<endpoint>.svg`: requests served per worker in the multi-worker scenarios,
//!   new vs keepalive client (and keep-alive off): how the accept loop spread the work.

use std::path::Path;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use lab_core::classes::LARGE;

use lab_core::Statistic;

use crate::analysis::Analysis;
use crate::error::MatrixError;
use crate::findings::spread::{WorkerShare, WorkerSpread};
use crate::grid::Grid;
use crate::requests::RequestRecord;
use crate::scenario::{ScenarioKind, ServerKind};

/// A chart written next to the report.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlotFile {
    /// File name, relative to the matrix directory.
    pub file: String,
    /// What it shows (used as the image's alt text).
    pub caption: String,
}

/// Width of every chart, px.
const WIDTH: u32 = 1000;
/// Colour of loaded scenarios and of small requests.
const LOADED: RGBColor = RGBColor(214, 39, 40);
/// Colour of unloaded baselines.
const UNLOADED: RGBColor = RGBColor(44, 160, 44);
/// Colour of keep-alive-off scenarios.
const KEEP_ALIVE_OFF: RGBColor = RGBColor(255, 127, 14);
/// Colour of small requests on the timeline.
const SMALL_COLOUR: RGBColor = RGBColor(31, 119, 180);
/// Series colours of the spread chart, in scenario order.
const SERIES: [RGBColor; 4] = [SMALL_COLOUR, LOADED, KEEP_ALIVE_OFF, UNLOADED];

/// Plotters' errors carry the backend's error type; the matrix only needs the message.
fn plot_error<E: std::fmt::Display>(error: E) -> MatrixError {
    MatrixError::Plot(error.to_string())
}

/// The series legend of the timeline and spread charts: top right, on a translucent white box.
fn draw_legend<'a>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
) -> Result<(), MatrixError> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_error)
}

fn kind_colour(kind: ScenarioKind) -> RGBColor {
    match kind {
        ScenarioKind::Unloaded => UNLOADED,
        ScenarioKind::KeepAliveOff => KEEP_ALIVE_OFF,
        ScenarioKind::Loaded | ScenarioKind::SharedPool | ScenarioKind::SaturationProbe => LOADED,
    }
}

/// One bar of the p95 chart: a scenario's small p95 over the rounds.
struct Bar {
    label: String,
    kind: ScenarioKind,
    median: f64,
    low: f64,
    high: f64,
    rounds: Vec<f64>,
    saturated: bool,
}

/// Bar chart of the small-request p95 of every scenario: the median over the rounds, a
/// whisker over its interval, each round as a dot, and saturated scenarios hatched and
/// marked ⚠. Returns `None` when no scenario has a positive p95.
pub fn small_p95_chart(dir: &Path, grid: &Grid) -> Result<Option<PlotFile>, MatrixError> {
    let bars: Vec<Bar> = grid
        .cells
        .iter()
        .filter_map(|cell| {
            let figure = grid.small(&cell.key, Statistic::P95)?;
            let measure = figure.measure()?;
            let e = measure.estimate;
            (e.median > 0.0).then(|| Bar {
                label: cell.label.clone(),
                kind: cell.key.kind,
                median: e.median,
                low: e.low.max(e.median / 1e6),
                high: e.high,
                rounds: figure
                    .values
                    .iter()
                    .map(|v| v.1)
                    .filter(|v| *v > 0.0)
                    .collect(),
                saturated: measure.saturated(),
            })
        })
        .collect();
    if bars.is_empty() {
        return Ok(None);
    }
    let file = "small_p95.svg";
    let height = 120 + 28 * bars.len() as u32;
    let path = dir.join(file);
    let root = SVGBackend::new(&path, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let max = bars.iter().map(|b| b.high).fold(1.0, f64::max) * 2.0;
    let min = bars
        .iter()
        .flat_map(|b| b.rounds.iter().copied().chain([b.low]))
        .fold(f64::INFINITY, f64::min)
        .min(1.0)
        / 2.0;
    // The first scenario goes on top: segment `n - 1 - i` holds bar `i`.
    let names: Vec<String> = bars
        .iter()
        .rev()
        .map(|b| {
            if b.saturated {
                format!("⚠ {}", b.label)
            } else {
                b.label.clone()
            }
        })
        .collect();
    let segment = |i: usize| bars.len() - 1 - i;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Small-request p95 per scenario (client-side, ms, log scale; median over the rounds)",
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(360)
        .build_cartesian_2d((min..max).log_scale(), (0..bars.len()).into_segmented())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(BLACK.mix(0.04))
        .disable_y_mesh()
        .y_labels(bars.len())
        .y_label_formatter(&|value| match value {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .x_desc("small p95, ms (whisker: the interval over the rounds; dots: each round)")
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().enumerate().flat_map(|(i, bar)| {
            let corners = [
                (min, SegmentValue::Exact(segment(i))),
                (bar.median, SegmentValue::Exact(segment(i) + 1)),
            ];
            // Saturated bars are paler: their figure measures the run's length.
            let alpha = if bar.saturated { 0.35 } else { 0.8 };
            // A white outline keeps neighbouring bars of the same colour apart.
            [
                Rectangle::new(corners.clone(), kind_colour(bar.kind).mix(alpha).filled()),
                Rectangle::new(corners, WHITE.stroke_width(2)),
            ]
        }))
        .map_err(plot_error)?;
    // Whiskers over the interval, and each round as a dot.
    chart
        .draw_series(
            bars.iter()
                .enumerate()
                .filter(|(_, b)| b.high > b.low)
                .map(|(i, bar)| {
                    PathElement::new(
                        vec![
                            (bar.low, SegmentValue::CenterOf(segment(i))),
                            (bar.high, SegmentValue::CenterOf(segment(i))),
                        ],
                        BLACK.stroke_width(2),
                    )
                }),
        )
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().enumerate().flat_map(|(i, bar)| {
            bar.rounds.iter().map(move |&value| {
                Circle::new(
                    (value, SegmentValue::CenterOf(segment(i))),
                    3,
                    BLACK.filled(),
                )
            })
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, bar)| {
            Text::new(
                format!(
                    " {:.1}{}",
                    bar.median,
                    if bar.saturated { " ⚠" } else { "" }
                ),
                (bar.high.max(bar.median), SegmentValue::CenterOf(segment(i))),
                ("sans-serif", 12),
            )
        }))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(Some(PlotFile {
        file: file.to_string(),
        caption:
            "Small-request p95 per scenario (green: unloaded, red: loaded, orange: keep-alive \
                  off; pale and ⚠: saturated in some round)"
                .to_string(),
    }))
}

/// Latency over time of one scenario: small requests as dots, large requests as dots plus a
/// shaded band from due to answered. Returns `None` without successful requests.
pub fn timeline_chart(
    dir: &Path,
    name: &str,
    label: &str,
    records: &[RequestRecord],
) -> Result<Option<PlotFile>, MatrixError> {
    // (record, latency) of every successful request.
    let ok: Vec<(&RequestRecord, f64)> = records
        .iter()
        .filter(|r| r.is_ok())
        .filter_map(|r| Some((r, r.latency_ms?.0)))
        .collect();
    if ok.is_empty() {
        return Ok(None);
    }
    let file = format!("timeline-{name}.svg");
    let path = dir.join(&file);
    let root = SVGBackend::new(&path, (WIDTH, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let end_s = records
        .iter()
        .filter_map(|r| Some(r.span_ms()?.1))
        .fold(1.0, f64::max)
        / 1000.0;
    let max_ms = records
        .iter()
        .filter_map(|r| Some(r.latency_ms?.0))
        .fold(1.0, f64::max)
        * 1.05;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("{label}: latency of every request over the run (round 1)"),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..end_s, 0.0..max_ms)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(BLACK.mix(0.04))
        .x_desc("seconds since the run started (scheduled start)")
        .y_desc("latency, ms")
        .draw()
        .map_err(plot_error)?;
    let large_spans: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| r.class == LARGE)
        .filter_map(RequestRecord::span_ms)
        .collect();
    chart
        .draw_series(large_spans.iter().map(|&(start, end)| {
            Rectangle::new(
                [(start / 1000.0, 0.0), (end / 1000.0, max_ms)],
                LOADED.mix(0.05).filled(),
            )
        }))
        .map_err(plot_error)?
        .label("large upload in flight")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], LOADED.mix(0.3).filled()));
    // When each large upload was answered: on a blocked loop the queued small requests are
    // released right there, so each saw-tooth of small latencies ends on one of these lines.
    chart
        .draw_series(large_spans.iter().map(|&(_, end)| {
            PathElement::new(
                vec![(end / 1000.0, 0.0), (end / 1000.0, max_ms)],
                LOADED.stroke_width(1),
            )
        }))
        .map_err(plot_error)?
        .label("large upload answered")
        .legend(|(x, y)| PathElement::new(vec![(x + 5, y - 6), (x + 5, y + 6)], LOADED));
    chart
        .draw_series(
            ok.iter()
                .filter(|(r, _)| r.class == LARGE)
                .map(|(r, latency)| {
                    TriangleMarker::new((r.scheduled_ms.0 / 1000.0, *latency), 5, LOADED.filled())
                }),
        )
        .map_err(plot_error)?
        .label("large request")
        .legend(|(x, y)| TriangleMarker::new((x + 5, y), 5, LOADED.filled()));
    chart
        .draw_series(
            ok.iter()
                .filter(|(r, _)| r.class != LARGE)
                .map(|(r, latency)| {
                    Circle::new(
                        (r.scheduled_ms.0 / 1000.0, *latency),
                        2,
                        SMALL_COLOUR.filled(),
                    )
                }),
        )
        .map_err(plot_error)?
        .label("small (and other) requests")
        .legend(|(x, y)| Circle::new((x + 5, y), 3, SMALL_COLOUR.filled()));
    // Failed requests (error status, timeout, refused…) as crosses where they ended.
    let failed: Vec<(f64, f64)> = records
        .iter()
        .filter(|r| !r.is_ok() && r.sent_ms.is_some())
        .filter_map(|r| Some((r.scheduled_ms.0 / 1000.0, r.latency_ms?.0)))
        .collect();
    if !failed.is_empty() {
        chart
            .draw_series(
                failed
                    .iter()
                    .map(|&point| Cross::new(point, 4, BLACK.stroke_width(2))),
            )
            .map_err(plot_error)?
            .label("failed request")
            .legend(|(x, y)| Cross::new((x + 5, y), 4, BLACK.stroke_width(2)));
    }
    draw_legend(&mut chart)?;
    root.present().map_err(plot_error)?;
    Ok(Some(PlotFile {
        caption: format!("{label}: latency over time (round 1), large uploads shaded"),
        file,
    }))
}

/// One panel of the spread chart: `value(share)` per worker, one bar per scenario.
fn spread_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    spreads: &[&WorkerSpread],
    value: impl Fn(&WorkerShare) -> u64,
) -> Result<(), MatrixError> {
    let workers = spreads.iter().map(|s| s.key.workers).max().unwrap_or(1);
    let max = spreads
        .iter()
        .flat_map(|s| s.shares.iter().map(&value))
        .max()
        .unwrap_or(0)
        .max(1) as f64
        // Head room for the legend above the bars.
        * 1.4;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5..(workers as f64 - 0.5), 0.0..max)
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(BLACK.mix(0.04))
        .disable_x_mesh()
        .x_labels(workers + 1)
        .x_label_formatter(&|v| {
            if (v - v.round()).abs() < 1e-6 && *v >= 0.0 {
                format!("worker {}", v.round())
            } else {
                String::new()
            }
        })
        .y_desc("requests")
        .draw()
        .map_err(plot_error)?;
    let width = 0.8 / spreads.len() as f64;
    for (j, spread) in spreads.iter().enumerate() {
        let colour = SERIES[j % SERIES.len()];
        chart
            .draw_series(spread.shares.iter().map(|share| {
                let left = share.worker as f64 - 0.4 + j as f64 * width;
                Rectangle::new(
                    [(left, 0.0), (left + width * 0.95, value(share) as f64)],
                    colour.filled(),
                )
            }))
            .map_err(plot_error)?
            .label(spread.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled()));
    }
    draw_legend(&mut chart)?;
    Ok(())
}

/// Small and large requests per worker for the given multi-worker scenarios (meant: one
/// endpoint, new vs keepalive vs keep-alive off). Returns `None` without scenarios.
pub fn worker_spread_chart(
    dir: &Path,
    endpoint: &str,
    spreads: &[&WorkerSpread],
) -> Result<Option<PlotFile>, MatrixError> {
    if spreads.is_empty() {
        return Ok(None);
    }
    let slug: String = endpoint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let file = format!("worker_spread-{slug}.svg");
    let path = dir.join(&file);
    let root = SVGBackend::new(&path, (WIDTH, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let panels = root.split_evenly((2, 1));
    spread_panel(
        &panels[0],
        &format!("{endpoint}: small requests per worker"),
        spreads,
        |s| s.small,
    )?;
    spread_panel(
        &panels[1],
        &format!("{endpoint}: large requests per worker"),
        spreads,
        |s| s.large,
    )?;
    root.present().map_err(plot_error)?;
    Ok(Some(PlotFile {
        caption: format!("{endpoint}: requests per worker, new vs keepalive client"),
        file,
    }))
}

/// Draws every chart of the analysis into `dir`: the small p95 of every scenario, one
/// timeline per endpoint, one worker-spread chart per endpoint. Returns the files written, in
/// the order the report shows them.
pub fn write_all(dir: &Path, analysis: &Analysis) -> Result<Vec<PlotFile>, MatrixError> {
    let mut files = Vec::new();
    files.extend(small_p95_chart(dir, &analysis.grid)?);
    for timeline in &analysis.timelines {
        files.extend(timeline_chart(
            dir,
            &timeline.name,
            &timeline.label,
            &timeline.records,
        )?);
    }
    for group in &analysis.spread_groups {
        let spreads: Vec<&WorkerSpread> = group.spreads.iter().collect();
        // actix's charts keep their names; the study's stack gets its own.
        let title = match group.server {
            ServerKind::Actix => group.endpoint.clone(),
            ServerKind::Fastapi => format!("FastAPI {}", group.endpoint),
        };
        files.extend(worker_spread_chart(dir, &title, &spreads)?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::spread::worker_spread;
    use crate::findings::tests::{in_round, record, sample_rows};
    use lab_core::classes::{LARGE, SMALL};

    /// Counts elements named `tag` in the SVG at `path`, which must parse as XML.
    fn count_elements(path: &Path, tag: &str) -> usize {
        let text = std::fs::read_to_string(path).unwrap();
        let document = roxmltree::Document::parse(&text).expect("the chart is well-formed XML");
        assert_eq!(document.root_element().tag_name().name(), "svg");
        document
            .descendants()
            .filter(|n| n.tag_name().name() == tag)
            .count()
    }

    /// The p95 chart is valid SVG with a bar per scenario, a dot per round and a saturation
    /// mark.
    #[test]
    fn small_p95_chart_has_a_bar_per_scenario_and_a_dot_per_round() {
        let dir = tempfile::tempdir().unwrap();
        let mut rows: Vec<_> = sample_rows();
        rows.extend(sample_rows().into_iter().map(|r| in_round(r, 2, 1.5)));
        for row in rows
            .iter_mut()
            .filter(|r| r.settings.scenario == "w1-ping-new")
        {
            row.server.saturated = true;
        }
        let grid = Grid::from_rows(&rows);
        let plot = small_p95_chart(dir.path(), &grid).unwrap().unwrap();
        let path = dir.path().join(&plot.file);
        assert!(count_elements(&path, "rect") > grid.cells.len());
        assert!(
            count_elements(&path, "circle") >= 2 * grid.cells.len(),
            "a dot per round"
        );
        assert!(std::fs::read_to_string(&path).unwrap().contains("⚠"));
    }

    /// The timeline is valid SVG with a dot per small request and a triangle per large one.
    #[test]
    fn timeline_marks_every_request_and_every_large_upload() {
        let dir = tempfile::tempdir().unwrap();
        let records = vec![
            record(LARGE, 0.0, 900.0, 0),
            record(SMALL, 100.0, 800.0, 0),
            record(SMALL, 1000.0, 1.0, 0),
            record(SMALL, 1100.0, 1.5, 0),
        ];
        let plot = timeline_chart(dir.path(), "w1-ping-new", "1 worker, /ping, new", &records)
            .unwrap()
            .unwrap();
        assert_eq!(plot.file, "timeline-w1-ping-new.svg");
        let path = dir.path().join(&plot.file);
        assert!(
            count_elements(&path, "circle") >= 3,
            "one dot per small request"
        );
        assert!(
            count_elements(&path, "polygon") >= 1,
            "a triangle per large request"
        );
    }

    /// The spread chart is valid SVG with a bar per worker, scenario and panel.
    #[test]
    fn worker_spread_chart_draws_a_bar_per_worker_and_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let grid = Grid::from_rows(&sample_rows());
        let records = vec![record(SMALL, 0.0, 1.0, 1), record(LARGE, 0.0, 900.0, 3)];
        let four = grid
            .cells
            .iter()
            .filter(|c| c.key.workers == 4)
            .collect::<Vec<_>>();
        let new = worker_spread(&four[0].key, &records);
        let keepalive = worker_spread(&four[1].key, &records);
        assert_eq!(
            new.shares[1],
            WorkerShare {
                worker: 1,
                small: 1,
                large: 0,
                small_p95_ms: Some(1.0)
            }
        );
        let plot = worker_spread_chart(dir.path(), "/ping", &[&new, &keepalive])
            .unwrap()
            .unwrap();
        assert_eq!(plot.file, "worker_spread-ping.svg");
        // 2 panels × 2 scenarios × 4 workers bars, plus backgrounds and legends.
        assert!(count_elements(&dir.path().join(&plot.file), "rect") >= 16);
    }
}

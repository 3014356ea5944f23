//! `small_p95.svg`: the small requests' p95 against the upload size (plotters' SVG backend,
//! as the matrix's charts): `alone` at 0 MB, each size of the ladder at its MB; the median
//! over the rounds joined by a line, a whisker over its interval, a dot per round, and the
//! sizes where the upload route did not keep up marked ⚠. Drawing only.

use std::path::Path;

use lab_core::Statistic;
use plotters::prelude::*;

use super::analysis::LevelFindings;
use super::level_run::LevelRun;
use crate::error::MatrixError;
use crate::plots::PlotFile;

/// The chart's file name.
pub const SMALL_P95_SVG: &str = "small_p95.svg";

/// Line and whisker colour.
const LINE: RGBColor = RGBColor(214, 39, 40);

/// Plotters' errors carry the backend's error type; the report only needs the message.
fn plot_error<E: std::fmt::Display>(error: E) -> MatrixError {
    MatrixError::Plot(error.to_string())
}

/// One point of the chart.
struct Point {
    size_mb: f64,
    median: f64,
    low: f64,
    high: f64,
    rounds: Vec<f64>,
    saturated: bool,
}

/// Draws the chart into `dir`; `None` when no level has a positive p95.
pub fn small_p95_chart(
    dir: &Path,
    levels: &[LevelFindings],
    runs: &[LevelRun],
) -> Result<Option<PlotFile>, MatrixError> {
    let points: Vec<Point> = levels
        .iter()
        .filter_map(|level| {
            let e = level.small_p95?.estimate;
            (e.median > 0.0).then(|| Point {
                size_mb: level.upload_mb,
                median: e.median,
                low: e.low.max(e.median / 1e6),
                high: e.high,
                rounds: runs
                    .iter()
                    .filter(|r| r.level == level.level && r.measured())
                    .filter_map(|r| r.small_ms(Statistic::P95))
                    .filter(|v| *v > 0.0)
                    .collect(),
                saturated: level.saturated_rounds > 0,
            })
        })
        .collect();
    if points.is_empty() {
        return Ok(None);
    }
    let path = dir.join(SMALL_P95_SVG);
    let root = SVGBackend::new(&path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let max_x = points.iter().map(|p| p.size_mb).fold(1.0, f64::max) * 1.08;
    let values = points
        .iter()
        .flat_map(|p| p.rounds.iter().copied().chain([p.low, p.high]));
    let min_y = values.clone().fold(f64::INFINITY, f64::min) / 2.0;
    let max_y = values.fold(0.0, f64::max) * 2.0;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Small-request p95 against upload size (client-side, ms, log scale)",
            ("sans-serif", 20),
        )
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-max_x * 0.04..max_x, (min_y..max_y).log_scale())
        .map_err(plot_error)?;
    chart
        .configure_mesh()
        .light_line_style(BLACK.mix(0.05))
        .x_desc("upload size, MB (0 = alone)")
        .y_desc("small p95, ms")
        .draw()
        .map_err(plot_error)?;
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|p| (p.size_mb, p.median)),
            LINE.stroke_width(2),
        ))
        .map_err(plot_error)?;
    chart
        .draw_series(points.iter().map(|p| {
            PathElement::new(
                vec![(p.size_mb, p.low), (p.size_mb, p.high)],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(points.iter().flat_map(|p| {
            p.rounds
                .iter()
                .map(move |&value| Circle::new((p.size_mb, value), 3, BLACK.filled()))
        }))
        .map_err(plot_error)?;
    chart
        .draw_series(points.iter().map(|p| {
            Text::new(
                format!(
                    " {}{}",
                    crate::report::filters::ms(p.median),
                    if p.saturated { " ⚠ saturated" } else { "" }
                ),
                (p.size_mb, p.median),
                ("sans-serif", 13),
            )
        }))
        .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(Some(PlotFile {
        file: SMALL_P95_SVG.to_string(),
        caption: "Small-request p95 against upload size: the median over the rounds (line), \
                  its interval (whisker), each round (dots); ⚠ where the upload route was \
                  saturated"
            .to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::analysis::analyse;
    use crate::probe::analysis::tests::run;
    use crate::probe::levels::Level;

    /// The chart is an SVG with a point per level.
    #[test]
    fn the_chart_is_written() {
        let four = Level::Uploads { size_mb: 4.0 };
        let runs: Vec<_> = (1..=3)
            .flat_map(|round| [run(round, Level::Alone, 2.0), run(round, four, 40.0)])
            .collect();
        let levels = analyse(&[Level::Alone, four], &runs, 3, 2.0);
        let dir = tempfile::tempdir().unwrap();
        let plot = small_p95_chart(dir.path(), &levels, &runs)
            .unwrap()
            .unwrap();
        let svg = std::fs::read_to_string(dir.path().join(plot.file)).unwrap();
        assert!(roxmltree::Document::parse(&svg).is_ok());
        assert!(svg.contains("upload size, MB"));
        assert_eq!(small_p95_chart(dir.path(), &[], &[]).unwrap(), None);
    }
}

//! What a matrix writes, and rewrites after every scenario so even a killed matrix keeps
//! what it measured: matrix.csv, matrix-run.json, the plots and report.md; and the same
//! report and plots rebuilt from those files alone (`--report-only`), with a comparison
//! against another run (`--compare-with`).

use std::path::Path;

use crate::analysis::analyze;
use crate::compare::compare_with_dir;
use crate::error::{Doing, MatrixError};
use crate::plots;
use crate::report::render;
use crate::run_info::RunContext;
use crate::table::{MatrixRow, read_matrix_csv, write_matrix_csv};

pub use crate::table::MATRIX_CSV;
/// The report, inside the matrix directory.
pub const REPORT_MD: &str = "report.md";

/// Rewrites matrix.csv, matrix-run.json, the plots and report.md from what has run so far.
pub fn write_outputs(
    dir: &Path,
    context: &RunContext,
    rows: &[MatrixRow],
    compare_with: Option<&Path>,
) -> Result<(), MatrixError> {
    write_matrix_csv(&dir.join(MATRIX_CSV), rows)?;
    context.write(dir)?;
    render_outputs(dir, context, rows, compare_with)
}

/// Writes report.md and the plots from the rows and each scenario's requests.csv.
fn render_outputs(
    dir: &Path,
    context: &RunContext,
    rows: &[MatrixRow],
    compare_with: Option<&Path>,
) -> Result<(), MatrixError> {
    let analysis = analyze(dir, rows.to_vec());
    let plots = plots::write_all(dir, &analysis)?;
    let comparison = compare_with
        .map(|other| compare_with_dir(&analysis.grid, context, other))
        .transpose()?;
    let report = render(context, &analysis, &plots, comparison.as_ref());
    std::fs::write(dir.join(REPORT_MD), report).doing(|| format!("write {REPORT_MD}"))?;
    Ok(())
}

/// Re-renders report.md and the plots of an existing matrix directory from its matrix.csv,
/// matrix-run.json and the scenarios' requests.csv, without running anything (e.g. after the
/// report code changed, or on a run copied under docs/), with a comparison against
/// `compare_with` when given.
pub fn rerender(
    dir: &Path,
    compare_with: Option<&Path>,
) -> Result<(RunContext, Vec<MatrixRow>), MatrixError> {
    let rows = read_matrix_csv(&dir.join(MATRIX_CSV))?;
    let context = RunContext::read(dir)?;
    render_outputs(dir, &context, &rows, compare_with)?;
    Ok((context, rows))
}

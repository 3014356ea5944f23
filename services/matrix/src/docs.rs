//! The pages that quote a committed run: their figures are rendered from the run's files,
//! never typed, so they cannot drift from their source.
//!
//! A page ([`PAGES`]) holds blocks that open with a line naming their source run and their
//! template, and close with [`END`]:
//!
//! ```text
//! <!-- generated from docs/results/matrix-… by services/matrix/templates/docs/….md.j2 (`just docs`): edit the template, not this block -->
//! …
//! <!-- end of generated block -->
//! ```
//!
//! `lab-matrix --docs write` (`just docs`) re-renders every block from its run (matrix.csv,
//! matrix-run.json and the scenarios' requests.csv, read as `--report-only` reads them) and
//! its template; `--docs check`, and the test `services/matrix/tests/docs.rs`, fail when a
//! block differs from what they give. A template sees what the report's template sees (`run`,
//! `head`, `results`, `findings`) and the report's filters, plus `source` (the run's directory,
//! relative to the page) and functions that look a figure up by scenario name: `figure(name,
//! class, statistic)`, `ratio(name, other_name, class, statistic)` (the one
//! over the other, taken within each round), `lag(name)` (the server's event-loop lag p99),
//! `label(name)`, `saturated(name)` (its rounds at or past saturation), `compared_with(run)`
//! (this run against another committed run, as the report's `--compare-with` section sees
//! it: figure by figure and ratio by ratio, whether they agree) and `claim(holds,
//! sentence)`, which renders nothing while `holds` and fails the render with the sentence
//! when the run does not bear it out, so prose that states a comparison cannot outlive it. A scenario, class or
//! statistic the run does not have is an error; a figure no round has (an unloaded scenario's
//! large median) is none, which the `figure` filter shows as `–`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lab_core::{Class, Statistic};
use minijinja::value::Value;
use minijinja::{Error, ErrorKind};
use serde::Serialize;

use crate::analysis::analyze;
use crate::compare::compare_with_dir;
use crate::error::{Doing, MatrixError};
use crate::grid::{Figure, Grid, RoundResult};
pub use crate::options::DocsMode;
use crate::report::{Head, environment, result_lines};
use crate::run_info::RunContext;
use crate::runner::MATRIX_CSV;
use crate::table::read_matrix_csv;

/// The pages whose figures come from committed runs, relative to the repository.
pub const PAGES: [&str; 2] = ["README.md", "docs/matrix.md"];
/// How a block's first line starts: then the run's directory, [`BY`], the template, [`TAIL`].
pub const BEGIN: &str = "<!-- generated from ";
/// Between the run and the template on a block's first line.
pub const BY: &str = " by ";
/// How a block's first line ends.
pub const TAIL: &str = " (`just docs`): edit the template, not this block -->";
/// A block's last line.
pub const END: &str = "<!-- end of generated block -->";

/// One generated block of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The run's directory, relative to the repository (`docs/results/matrix-…`).
    pub run: String,
    /// The template, relative to the repository.
    pub template: String,
    /// Byte range of the block's body in the page (after its first line, before [`END`]).
    pub body: std::ops::Range<usize>,
}

/// A block whose text is not what its run and template give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The page.
    pub page: String,
    /// The block's run.
    pub run: String,
    /// The first line that differs: (line in the block, what the page has, what it should).
    pub first_difference: (usize, String, String),
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (line, found, expected) = &self.first_difference;
        write!(
            f,
            "{}: the block from {} differs at its line {line}:\n  page:     {found}\n  from run: {expected}",
            self.page, self.run
        )
    }
}

/// The generated blocks of `page` (its text), in order.
pub fn blocks(page: &str) -> Result<Vec<Block>, String> {
    let mut found = Vec::new();
    let mut offset = 0;
    while let Some(start) = page[offset..].find(BEGIN).map(|at| offset + at) {
        let line_end = page[start..]
            .find('\n')
            .map(|at| start + at)
            .ok_or("a block's first line has no end")?;
        let head = &page[start + BEGIN.len()..line_end];
        let head = head
            .strip_suffix(TAIL)
            .ok_or_else(|| format!("a block's first line does not end with `{TAIL}`: {head}"))?;
        let (run, template) = head
            .split_once(BY)
            .ok_or_else(|| format!("a block's first line names no template: {head}"))?;
        let end = page[line_end..]
            .find(END)
            .map(|at| line_end + at)
            .ok_or_else(|| format!("the block from {run} has no `{END}`"))?;
        if page[line_end..end].contains(BEGIN) {
            return Err(format!("the block from {run} holds another block"));
        }
        found.push(Block {
            run: run.to_string(),
            template: template.to_string(),
            body: line_end + 1..end,
        });
        offset = end + END.len();
    }
    Ok(found)
}

/// The path from `page`'s directory to `target`, both relative to the repository:
/// `docs/results/x` is `results/x` from `docs/matrix.md` and itself from `README.md`.
fn relative_to_page(page: &str, target: &str) -> String {
    let from: Vec<_> = Path::new(page)
        .parent()
        .map(|dir| dir.components().collect())
        .unwrap_or_default();
    let to: Vec<_> = Path::new(target).components().collect();
    let shared = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in shared..from.len() {
        path.push("..");
    }
    for component in &to[shared..] {
        path.push(component);
    }
    path.to_string_lossy().to_string()
}

/// What a template sees beside the functions.
#[derive(Serialize)]
struct DocsContext<'a> {
    run: &'a RunContext,
    head: Head,
    results: Vec<crate::report::ResultLine>,
    findings: &'a crate::findings::Findings,
    /// The run's directory, relative to the page.
    source: String,
    /// The run's directory name.
    run_name: String,
}

fn lookup_error(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// The scenario named `name` (`w1-ping-new`); a name the run lacks is an error.
fn cell_named<'g>(grid: &'g Grid, name: &str) -> Result<&'g crate::grid::Cell, Error> {
    grid.cells
        .iter()
        .find(|cell| cell.name == name)
        .ok_or_else(|| lookup_error(format!("the run has no scenario named `{name}`")))
}

/// The figure of one class and statistic of the scenario named `name`, per round (no values
/// when no round has it: an unloaded scenario's large class).
fn figure_of(grid: &Grid, name: &str, class: &str, statistic: &str) -> Result<Figure, Error> {
    let cell = cell_named(grid, name)?;
    let statistic = [
        Statistic::Min,
        Statistic::Median,
        Statistic::Mean,
        Statistic::P90,
        Statistic::P95,
        Statistic::P99,
        Statistic::Max,
    ]
    .into_iter()
    .find(|s| s.name() == statistic)
    .ok_or_else(|| lookup_error(format!("`{statistic}` is not a statistic")))?;
    let class = Class::named(class);
    let pick: fn(&RoundResult) -> Option<&lab_core::Stats> = match class {
        Class::Small => |round| round.small.as_ref(),
        Class::Large => |round| round.large.as_ref(),
        _ => return Err(lookup_error(format!("the run has no class `{class}`"))),
    };
    Ok(cell.per_round(|round| pick(round)?.get(statistic)))
}

/// A figure's measure as a template value.
fn measure_value(figure: &Figure) -> Value {
    Value::from(minijinja::value::Serde(figure.measure()))
}

/// The run at `run` (relative to `repo`) rendered through `template`'s text, as seen from
/// `page`.
pub fn render_block(
    repo: &Path,
    page: &str,
    run: &str,
    template: &str,
) -> Result<String, MatrixError> {
    let dir = repo.join(run);
    let rows = read_matrix_csv(&dir.join(MATRIX_CSV))?;
    let context = RunContext::read(&dir)?;
    let analysis = analyze(&dir, rows);
    let text = std::fs::read_to_string(repo.join(template))
        .doing(|| format!("read the template {template}"))?;
    let grid = Arc::new(analysis.grid.clone());
    let mut env = environment();
    let g = grid.clone();
    env.add_function(
        "figure",
        move |name: String, class: String, statistic: String| {
            figure_of(&g, &name, &class, &statistic).map(|figure| measure_value(&figure))
        },
    );
    let g = grid.clone();
    env.add_function(
        "ratio",
        move |name: String, other: String, class: String, statistic: String| {
            let a = figure_of(&g, &name, &class, &statistic)?;
            let b = figure_of(&g, &other, &class, &statistic)?;
            Ok::<_, Error>(measure_value(&a.ratio(&b)))
        },
    );
    let g = grid.clone();
    env.add_function("lag", move |name: String| {
        let cell = cell_named(&g, &name)?;
        Ok::<_, Error>(measure_value(
            &cell.per_round(|round| round.server.lag_p99_ms),
        ))
    });
    let g = grid.clone();
    env.add_function("label", move |name: String| {
        cell_named(&g, &name).map(|cell| cell.label.clone())
    });
    env.add_function("claim", |holds: bool, claim: String| {
        if holds {
            Ok(String::new())
        } else {
            Err(lookup_error(format!(
                "the run does not bear this claim out: {claim}"
            )))
        }
    });
    let g = grid.clone();
    env.add_function("saturated", move |name: String| {
        cell_named(&g, &name).map(|cell| cell.saturated_rounds())
    });
    let (g, this_context, repo_dir) = (grid, context.clone(), repo.to_path_buf());
    env.add_function("compared_with", move |other: String| {
        compare_with_dir(&g, &this_context, &repo_dir.join(&other))
            .map(|comparison| Value::from(minijinja::value::Serde(comparison)))
            .map_err(|error| lookup_error(format!("compare with {other}: {error}")))
    });
    let values = DocsContext {
        run: &context,
        head: Head::of(&context, &analysis.grid),
        results: result_lines(&analysis.grid),
        findings: &analysis.findings,
        source: relative_to_page(page, run),
        run_name: Path::new(run)
            .file_name()
            .map_or_else(|| run.to_string(), |n| n.to_string_lossy().to_string()),
    };
    env.render_str(&text, Value::from(minijinja::value::Serde(&values)))
        .map_err(|error| {
            MatrixError::Options(format!(
                "{page}: the block from {run} by {template}: {error:#}"
            ))
        })
}

/// `page_text` (the page `page`) with every block re-rendered.
pub fn regenerate(repo: &Path, page: &str, page_text: &str) -> Result<String, MatrixError> {
    let found = blocks(page_text).map_err(|e| MatrixError::Options(format!("{page}: {e}")))?;
    let mut out = String::with_capacity(page_text.len());
    let mut copied = 0;
    for block in &found {
        out.push_str(&page_text[copied..block.body.start]);
        let rendered = render_block(repo, page, &block.run, &block.template)?;
        out.push_str(&rendered);
        if !rendered.is_empty() && !rendered.ends_with('\n') {
            out.push('\n');
        }
        copied = block.body.end;
    }
    out.push_str(&page_text[copied..]);
    Ok(out)
}

/// Where `page_text`'s blocks differ from what their runs and templates give.
pub fn check_page(repo: &Path, page: &str, page_text: &str) -> Result<Vec<Drift>, MatrixError> {
    let found = blocks(page_text).map_err(|e| MatrixError::Options(format!("{page}: {e}")))?;
    let mut drifts = Vec::new();
    for block in found {
        let mut expected = render_block(repo, page, &block.run, &block.template)?;
        if !expected.is_empty() && !expected.ends_with('\n') {
            expected.push('\n');
        }
        let actual = &page_text[block.body.clone()];
        if actual != expected {
            let mut expected_lines = expected.lines();
            let mut actual_lines = actual.lines();
            let mut line = 1;
            let first_difference = loop {
                match (actual_lines.next(), expected_lines.next()) {
                    (Some(a), Some(e)) if a == e => line += 1,
                    (a, e) => {
                        break (
                            line,
                            a.unwrap_or("(nothing)").to_string(),
                            e.unwrap_or("(nothing)").to_string(),
                        );
                    }
                }
            };
            drifts.push(Drift {
                page: page.to_string(),
                run: block.run,
                first_difference,
            });
        }
    }
    Ok(drifts)
}

/// Runs `mode` over every page of `repo`: the pages rewritten (write), or the drifts (check).
pub fn run_docs(repo: &Path, mode: DocsMode) -> Result<Vec<String>, MatrixError> {
    let mut said = Vec::new();
    for page in PAGES {
        let path: PathBuf = repo.join(page);
        let text = std::fs::read_to_string(&path).doing(|| format!("read {page}"))?;
        match mode {
            DocsMode::Write => {
                let new = regenerate(repo, page, &text)?;
                if new != text {
                    std::fs::write(&path, new).doing(|| format!("write {page}"))?;
                    said.push(format!("{page}: rewritten"));
                }
            }
            DocsMode::Check => said.extend(
                check_page(repo, page, &text)?
                    .iter()
                    .map(ToString::to_string),
            ),
        }
    }
    Ok(said)
}

/// `lab-matrix --docs MODE`, run from the repository's root: says what it rewrote, or every
/// block that differs from its run (then fails).
pub fn docs_command(mode: DocsMode) -> Result<(), MatrixError> {
    let repo = std::env::current_dir().doing(|| "find the current directory".to_string())?;
    let said = run_docs(&repo, mode)?;
    for line in &said {
        println!("{line}");
    }
    if mode == DocsMode::Check && !said.is_empty() {
        return Err(MatrixError::Options(format!(
            "{} generated block(s) differ from their runs: `just docs` rewrites them",
            said.len()
        )));
    }
    println!(
        "docs: every generated block of {} is its run's",
        PAGES.join(" and ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_with_their_run_and_template() {
        let page = format!(
            "intro\n{BEGIN}docs/results/r1{BY}t/a.md.j2{TAIL}\nold 1\n{END}\nmiddle\n{BEGIN}docs/results/r2{BY}t/b.md.j2{TAIL}\n{END}\n"
        );
        let found = blocks(&page).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].run.as_str(), found[0].template.as_str()),
            ("docs/results/r1", "t/a.md.j2")
        );
        assert_eq!(&page[found[0].body.clone()], "old 1\n");
        assert_eq!(&page[found[1].body.clone()], "");
    }

    #[test]
    fn a_broken_block_is_an_error() {
        assert!(blocks(&format!("{BEGIN}r{BY}t{TAIL}\nno end\n")).is_err());
        assert!(blocks(&format!("{BEGIN}r t{TAIL}\n{END}\n")).is_err());
        assert!(blocks(&format!("{BEGIN}r{BY}t -->\n{END}\n")).is_err());
        assert!(
            blocks(&format!(
                "{BEGIN}r{BY}t{TAIL}\n{BEGIN}s{BY}t{TAIL}\n{END}\n"
            ))
            .is_err()
        );
    }

    #[test]
    fn links_are_relative_to_the_page() {
        assert_eq!(
            relative_to_page("README.md", "docs/results/x"),
            "docs/results/x"
        );
        assert_eq!(
            relative_to_page("docs/matrix.md", "docs/results/x"),
            "results/x"
        );
        assert_eq!(
            relative_to_page("docs/matrix.md", "results/matrix/x"),
            "../results/matrix/x"
        );
    }
}

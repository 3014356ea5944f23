//! Every run of the matrix committed under docs/results/ re-renders from its files alone
//! (`lab-matrix --report-only DIR`), whatever columns its matrix.csv has: the runs from before
//! the rounds, the lag columns or the FastAPI rows included. The committed files stay as they
//! are: each run is copied first.

use std::path::{Path, PathBuf};

use lab_matrix::rerender;
use lab_matrix::run_info::RunContext;
use lab_matrix::table::read_matrix_csv;

/// A fresh directory under cargo's per-test scratch space.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("matrix-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Copies the directory tree `from` to `to`.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every committed run under docs/results/ (copied: the committed files stay as they are)
/// re-renders: its rows read back whatever columns it has, every scenario is in the results
/// table, and the report says what the run had: one round and no calibration for the runs from
/// before the rounds, a calibration per round for the others. The newest compared with the one
/// before says how their figures are compared.
#[test]
fn every_committed_run_rerenders() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/results");
    let mut runs: Vec<PathBuf> = std::fs::read_dir(&committed)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("matrix.csv").is_file())
        .collect();
    runs.sort();
    assert!(runs.len() >= 5, "{runs:?}");
    for run in &runs {
        let name = run.file_name().unwrap().to_string_lossy().to_string();
        let copy = scratch_dir(&format!("committed-{name}"));
        copy_tree(run, &copy);
        let (context, rows) = rerender(&copy, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            rows.len(),
            read_matrix_csv(&run.join("matrix.csv")).unwrap().len()
        );
        let report = std::fs::read_to_string(copy.join("report.md")).unwrap();
        assert!(
            !report.contains("could not be rendered"),
            "{name}: {report}"
        );
        if !context.rounds.is_empty() {
            // A run with rounds: every row in one of them, every round calibrated, every
            // scenario in the results table.
            assert!(
                rows.iter()
                    .all(|r| (1..=context.reps).contains(&r.server.round))
            );
            assert!(
                context
                    .rounds
                    .iter()
                    .all(|r| r.calibration_before_ms.is_some()),
                "{name}"
            );
            assert!(!report.contains("This run predates the calibration"));
            for row in &rows {
                assert!(
                    report.contains(&format!("| {}", row.settings.config)),
                    "{name}: {} missing",
                    row.settings.config
                );
            }
            std::fs::remove_dir_all(&copy).unwrap();
            continue;
        }
        assert!(rows.iter().all(|r| r.server.round == 1));
        assert!(report.contains("One round: every figure is that round's value"));
        assert!(report.contains("This run predates the calibration"));
        for row in &rows {
            let median = row
                .stats
                .median_ms
                .map_or("–".to_string(), lab_matrix::report::filters::ms);
            let line = format!(
                "| {} | {} | {} | {median} |",
                row.settings.config,
                row.settings.class.name(),
                row.stats.count
            );
            assert!(report.contains(&line), "{name}: {line} missing");
        }
        assert!(context.done > 0);
        std::fs::remove_dir_all(&copy).unwrap();
    }
    // The newest run with rounds, compared with another with rounds (scaled by their
    // calibrations) and with one from before the calibration (compared as measured).
    let calibrated = |run: &PathBuf| !RunContext::read(run).unwrap().rounds.is_empty();
    let with_rounds: Vec<&PathBuf> = runs.iter().filter(|run| calibrated(run)).collect();
    let without = runs.iter().find(|run| !calibrated(run)).unwrap();
    assert!(with_rounds.len() >= 2, "{runs:?}");
    let this = with_rounds[0];
    for (other, says) in [
        (with_rounds[1], "Median calibration: this run"),
        (without, "One of the runs has no calibration"),
    ] {
        let copy = scratch_dir("committed-compare");
        copy_tree(this, &copy);
        rerender(&copy, Some(other)).unwrap();
        let report = std::fs::read_to_string(copy.join("report.md")).unwrap();
        let other_name = other.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            report.contains(&format!("## Against run {other_name}")),
            "{report}"
        );
        assert!(report.contains(says), "{other_name}: {report}");
        std::fs::remove_dir_all(&copy).unwrap();
    }
}

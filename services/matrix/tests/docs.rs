//! The README's and docs/matrix.md's figures cannot drift from the runs they quote: every
//! generated block is what its committed run and its template give (`just docs` rewrites them),
//! a figure changed by hand is caught, the README quotes the newest committed run, and no
//! committed run holds a path of the machine it ran on.

use std::path::{Path, PathBuf};

use lab_matrix::docs::{BEGIN, PAGES, blocks, check_page, render_block};
use lab_matrix::run_info::RunContext;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn page_text(page: &str) -> String {
    std::fs::read_to_string(repo().join(page)).unwrap()
}

/// Every block of every page is its run's, rendered now; the README has at least one.
#[test]
fn every_generated_block_is_what_its_run_gives() {
    for page in PAGES {
        let drifts = check_page(&repo(), page, &page_text(page)).unwrap();
        assert!(
            drifts.is_empty(),
            "{}\n`just docs` rewrites the blocks from their runs",
            drifts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(!blocks(&page_text("README.md")).unwrap().is_empty());
}

/// A figure typed over in a block is caught, with the line it sits on.
#[test]
fn a_figure_changed_by_hand_is_caught() {
    let text = page_text("README.md");
    let block = blocks(&text).unwrap().remove(0);
    let body = &text[block.body.clone()];
    let digit = body
        .char_indices()
        .find(|(_, c)| c.is_ascii_digit())
        .map(|(at, _)| block.body.start + at)
        .expect("the block quotes a figure");
    let mut changed = text.clone();
    let old = changed.as_bytes()[digit];
    let new = if old == b'9' { "1" } else { "9" };
    changed.replace_range(digit..digit + 1, new);
    let drifts = check_page(&repo(), "README.md", &changed).unwrap();
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    let (_, found, expected) = &drifts[0].first_difference;
    assert_ne!(found, expected);
}

/// The committed runs: each directory under docs/results/ with a matrix-run.json, with when
/// it started.
fn committed_runs() -> Vec<(String, String)> {
    let mut runs: Vec<(String, String)> = std::fs::read_dir(repo().join("docs/results"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|dir| dir.join("matrix-run.json").is_file())
        .map(|dir| {
            let started = RunContext::read(&dir).unwrap().started;
            let name = dir.file_name().unwrap().to_string_lossy().to_string();
            (started, format!("docs/results/{name}"))
        })
        .collect();
    runs.sort();
    runs
}

/// The README's blocks quote the newest committed run that has every scenario they name (a
/// newer run that could serve them, rendered through their template, must fail for lack of a
/// scenario); every block of every page quotes a committed run.
#[test]
fn the_readme_quotes_the_newest_committed_run() {
    let runs = committed_runs();
    for block in blocks(&page_text("README.md")).unwrap() {
        let quoted = runs
            .iter()
            .position(|(_, run)| *run == block.run)
            .unwrap_or_else(|| panic!("{} is not a committed run", block.run));
        for (_, newer) in &runs[quoted + 1..] {
            assert!(
                render_block(&repo(), "README.md", newer, &block.template).is_err(),
                "the README quotes {}, but the newer {newer} has every scenario it names",
                block.run
            );
        }
    }
    for page in PAGES {
        for block in blocks(&page_text(page)).unwrap() {
            assert!(
                runs.iter().any(|(_, run)| *run == block.run),
                "{page} quotes {}, which is not a committed run",
                block.run
            );
            assert!(repo().join(&block.template).is_file(), "{}", block.template);
        }
    }
}

/// Paths of the machine a run ran on (its checkout, a home directory) stay out of the
/// committed run files: the matrix writes paths relative to where it ran.
#[test]
fn committed_runs_hold_no_machine_paths() {
    let checkout = std::fs::canonicalize(repo()).unwrap();
    let checkout = checkout.to_string_lossy().to_string();
    let mut machine_paths = vec!["/home/", "/root/", "/Users/", "/work/"];
    machine_paths.push(&checkout);
    let mut bad = Vec::new();
    let mut stack = vec![repo().join("docs/results")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(text) = std::fs::read_to_string(&path) {
                for machine_path in &machine_paths {
                    if text.contains(machine_path) {
                        bad.push(format!("{}: {machine_path}", path.display()));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

/// No page but the generated blocks' names a run with a block opener by mistake: every opener
/// is a whole line.
#[test]
fn every_block_opener_is_a_line_of_its_own() {
    for page in PAGES {
        for line in page_text(page).lines() {
            if line.contains(BEGIN) {
                assert!(line.starts_with(BEGIN), "{page}: {line}");
            }
        }
    }
}

/// A template's claim that its run does not bear out fails the render with the claim; one it
/// bears out renders nothing; a scenario the run lacks is an error, not an empty figure.
#[test]
fn a_claim_the_run_does_not_bear_out_fails_the_render() {
    let run = committed_runs().last().unwrap().1.clone();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("docs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let render = |name: &str, text: &str| {
        let template = dir.join(name);
        std::fs::write(&template, text).unwrap();
        render_block(&repo(), "README.md", &run, template.to_str().unwrap())
    };
    let small = r#"figure("w1-stream-new", "small", "p95").median"#;
    let held = render(
        "held.md.j2",
        &format!(r#"a{{{{ claim({small} > 0, "positive") }}}}b"#),
    )
    .unwrap();
    assert_eq!(held, "ab");
    let error = render(
        "false.md.j2",
        &format!(r#"{{{{ claim({small} < 0, "negative p95") }}}}"#),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("negative p95"), "{error}");
    let error = render(
        "missing.md.j2",
        r#"{{ figure("w9-nothing-new", "small", "p95")|figure }}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("w9-nothing-new"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

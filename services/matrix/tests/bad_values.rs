//! Every lab-matrix option refuses nonsense with clap's message and exit code 2 before any
//! server starts or any directory is made, never a panic. The workload's options are
//! lab-loadgen's own group, so they refuse what a plain run refuses.

use std::process::Command;

/// Arguments, environment variables, and a piece of the expected message.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Runs lab-matrix with `args` and `envs` (RESULTS_DIR in a fresh temporary directory) and
/// checks it exits 2 with `mentions` in its message, creating nothing.
fn refused(args: &[&str], envs: &[(&str, &str)], mentions: &str) {
    let results = tempfile::tempdir().unwrap();
    let results_dir = results.path().join("results");
    let output = Command::new(env!("CARGO_BIN_EXE_lab-matrix"))
        .args(args)
        .envs(envs.iter().copied())
        .env("RESULTS_DIR", &results_dir)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("lab-matrix starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let what = format!("{args:?} {envs:?}");
    assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
    assert!(output.stdout.is_empty(), "{what}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(
        stderr.contains(mentions),
        "{what}: expected {mentions:?} in: {stderr}"
    );
    assert!(
        !results_dir.exists(),
        "{what}: created {}",
        results_dir.display()
    );
}

/// Odd numbers, out-of-range values, a value listed twice and options that go against each
/// other exit 2 with what is allowed in the message.
#[test]
fn every_matrix_option_refuses_nonsense_with_exit_2() {
    let cases: &[Case] = &[
        (&["--duration", "1e20"], &[], "604800"),
        (&[], &[("MATRIX_DURATION", "0")], "more than 0"),
        (&["--large-size-mb", "1e9"], &[], "0 to 1024"),
        (&["--small-interval", "inf"], &[], "finite"),
        (&["--server-start-timeout", "1e20"], &[], "604800"),
        (&["--server-stop-timeout", "NaN"], &[], "finite"),
        (&["--workers", "257"], &[], "1 to 256"),
        (
            &["--endpoints", "/ping,//other-host/x"],
            &[],
            "is not a strategy",
        ),
        (&[], &[("MATRIX_REPS", "0")], "0"),
        (&["--seed=-1"], &[], "not a seed"),
        (&["--placement", "sideways"], &[], "not a placement"),
        (&["--allocators", "tcmalloc"], &[], "tcmalloc"),
        (&["--calibration-mb", "0"], &[], "not a calibration size"),
        (
            &["--target-utilisation", "0"],
            &[],
            "not a target utilisation",
        ),
        (
            &[
                "--fastapi-python",
                "/bin/sh",
                "--fastapi-endpoints",
                "/lean",
            ],
            &[],
            "the FastAPI server has no /lean",
        ),
        (&["--workers", "1,1"], &[], "would run twice"),
        (&["--small-interval", "0"], &[], "only SCHEDULE=closed"),
        (
            &[],
            &[("EXTRA_CLASSES", "medium:5")],
            "name:size_mb:interval_s",
        ),
        (&["--metrics-bind", "nowhere"], &[], "not an address"),
        (&["--server-bin="], &[], "empty path"),
        (
            &["--small-request", "GET /healthz"],
            &[],
            "for a single lab-loadgen run",
        ),
        (
            &[],
            &[("LARGE_BODY", "raw")],
            "for a single lab-loadgen run",
        ),
    ];
    for (args, envs, mentions) in cases {
        refused(args, envs, mentions);
    }
}

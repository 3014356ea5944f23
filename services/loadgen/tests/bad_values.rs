//! Every option refuses nonsense (NaN, inf, negative, absurdly large, malformed) with clap's
//! message saying what is allowed and exit code 2, never a panic; ENDPOINT can only name a
//! path on TARGET_URL's host.

mod support;

use support::{LabServer, closed_port_url, read_csv, run_loadgen};

/// Arguments, environment variables, and a piece of the expected message.
type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

/// Runs the binary with `args` (plus `envs`) and checks it exits 2 before doing anything,
/// with `mentions` in its message and no panic. RESULTS_DIR points into `results`, which must
/// stay empty.
async fn refused(args: &[&str], envs: &[(&str, &str)], mentions: &str) {
    let results = tempfile::tempdir().unwrap();
    let results_dir = results.path().join("results");
    let results_env = results_dir.display().to_string();
    let mut all_envs = vec![("RESULTS_DIR", results_env.as_str())];
    all_envs.extend_from_slice(envs);
    let (code, stdout, stderr) = run_loadgen(args, &all_envs).await;
    let what = format!("{args:?} {envs:?}");
    assert_eq!(code, 2, "{what}: stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "{what}: {stdout}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert!(
        stderr.contains(mentions),
        "{what}: expected {mentions:?} in: {stderr}"
    );
    assert!(!results_dir.exists(), "{what}: created {results_env}");
}

/// Every plain-run option, as a flag and (for some) as its environment twin: odd numbers,
/// out-of-range values and malformed text exit 2 with the allowed range in the message.
#[tokio::test]
async fn every_run_option_refuses_nonsense_with_exit_2() {
    let many_classes: String = (0..33).map(|i| format!("c{i}:0.001:1,")).collect();
    let long_run_id = "r".repeat(129);
    let cases: Vec<Case> = vec![
        (vec![], vec![("DURATION", "1e20")], "604800 (7 days)"),
        (vec!["--duration", "1e20"], vec![], "604800 (7 days)"),
        (vec!["--duration=-1"], vec![], "is negative"),
        (vec!["--duration", "NaN"], vec![], "not a finite number"),
        (vec!["--duration", "1e-9"], vec![], "smallest time above 0"),
        (vec!["--duration", "ten"], vec![], "not a number of seconds"),
        (
            vec![],
            vec![("SMALL_INTERVAL", "inf")],
            "not a finite number",
        ),
        (vec!["--large-interval", "1e300"], vec![], "604800"),
        (vec!["--large-on", "1e20"], vec![], "604800"),
        (vec![], vec![("LARGE_OFF", "-5")], "is negative"),
        (
            vec!["--request-timeout", "0"],
            vec![],
            "more than 0 seconds",
        ),
        (vec![], vec![("REQUEST_TIMEOUT", "1e20")], "604800"),
        (vec!["--drain-timeout", "inf"], vec![], "604800"),
        (vec!["--small-size-mb=-0.5"], vec![], "from 0 to 1024"),
        (vec![], vec![("LARGE_SIZE_MB", "1e9")], "from 0 to 1024"),
        (vec!["--large-size-mb", "NaN"], vec![], "from 0 to 1024"),
        (
            vec!["--extra-classes", "medium:5000:1"],
            vec![],
            "from 0 to 1024",
        ),
        (vec!["--extra-classes", "medium:5:1e20"], vec![], "604800"),
        (vec!["--extra-classes", &many_classes], vec![], "at most 32"),
        (
            vec!["--large-size-mb", "1024", "--extra-classes", "huge:1024:1"],
            vec![],
            "at most 2048 MB",
        ),
        (
            vec!["--large-body-file", "/no/such/upload.json"],
            vec![],
            "/no/such/upload.json",
        ),
        (vec![], vec![("SMALL_BODY_FILE", "/")], "is not a file"),
        (
            vec!["--large-content-type", "json"],
            vec![],
            "not a media type",
        ),
        (
            vec![],
            vec![("REQUEST_HEADERS", "Content-Type: text/csv")],
            "cannot set it",
        ),
        (vec!["--max-in-flight", "0"], vec![], "1..=10000"),
        (vec![], vec![("MAX_IN_FLIGHT", "10001")], "1..=10000"),
        (vec!["--target-url", "ftp://127.0.0.1"], vec![], "only http"),
        (
            vec!["--target-url", "http://127.0.0.1:8000/api"],
            vec![],
            "ENDPOINT gives the path",
        ),
        (vec![], vec![("TARGET_URL", "nowhere")], "http://host:port"),
        (vec!["--metrics-bind", "localhost"], vec![], "0.0.0.0:9100"),
        (vec![], vec![("RESULTS_DIR", "")], "empty path"),
        (vec!["--run-id", &long_run_id], vec![], "at most 128"),
        (vec!["--schedule", "sometimes"], vec![], "--schedule"),
    ];
    for (args, envs, mentions) in cases {
        refused(&args, &envs, mentions).await;
    }
}

/// Bodies that would not fit BODY_MEMORY_MB are refused before anything is built, exit 2,
/// with what they would take and the limit: the study's workload (about 90 MB) under a
/// limit of 50 MB, the largest sizes allowed (1024 MB per class, 7.3 GB of bodies) under the
/// default 2048 MB. BODY_MEMORY_MB itself is checked like any number.
#[tokio::test]
async fn bodies_over_body_memory_mb_are_refused_with_the_figure() {
    let target = closed_port_url();
    let cases: Vec<Case> = vec![
        (
            vec!["--target-url", &target, "--duration", "0.5"],
            vec![("BODY_MEMORY_MB", "50")],
            "BODY_MEMORY_MB allows 50 MB",
        ),
        (
            vec!["--target-url", &target, "--body-memory-mb", "50"],
            vec![],
            "BODY_MEMORY_MB allows 50 MB",
        ),
        (
            vec!["--target-url", &target],
            vec![("LARGE_SIZE_MB", "1024"), ("SMALL_SIZE_MB", "1024")],
            "BODY_MEMORY_MB allows 2048 MB",
        ),
        (vec!["--body-memory-mb", "0"], vec![], "1..=65536"),
        (vec![], vec![("BODY_MEMORY_MB", "1e9")], "BODY_MEMORY_MB"),
    ];
    for (args, envs, mentions) in &cases {
        refused(args, envs, mentions).await;
    }
    // The figure: every body of every class at its longest (a little over its nominal
    // size: 21 bytes a pair at most, 20.4 on average), and the building on top.
    for ((args, envs, _), nominal_mb) in cases.iter().zip([25.0, 25.0, 1024.0]) {
        let (_, _, stderr) = run_loadgen(args, envs).await;
        let mb_after = |text: &str| -> f64 {
            stderr
                .split(text)
                .nth(1)
                .and_then(|rest| rest.split(" MB").next())
                .and_then(|number| number.parse().ok())
                .unwrap_or_else(|| panic!("no {text:?} in: {stderr}"))
        };
        let figure = mb_after("the bodies would take ");
        let large_body = mb_after("large 3 × ");
        assert!(
            (1.0..1.06).contains(&(large_body / nominal_mb)),
            "{large_body} MB: {stderr}"
        );
        assert!(figure > 3.0 * large_body, "{figure} MB: {stderr}");
    }
}

/// ENDPOINT `//other-host/x`, `http://x/y` and `/a b` are refused with exit 2 (the first would
/// otherwise send the workload to another host); a plain path such as `/pong` is posted to
/// TARGET_URL's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_must_be_a_path_on_the_target_host() {
    let target = closed_port_url();
    for endpoint in ["//other-host/x", "http://x/y", "/a b", "/\\other-host/x"] {
        refused(
            &["--target-url", &target, "--endpoint", endpoint],
            &[],
            "ENDPOINT must be a path on TARGET_URL's host",
        )
        .await;
        refused(
            &["--target-url", &target],
            &[("ENDPOINT", endpoint)],
            "ENDPOINT must be a path on TARGET_URL's host",
        )
        .await;
    }

    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let url = server.url();
    let results_dir = results.path().display().to_string();
    let (code, stdout, stderr) = run_loadgen(
        &[
            "--target-url",
            &url,
            "--endpoint",
            "/pong",
            "--duration",
            "0.3",
            "--large-size-mb",
            "0",
            "--results-dir",
            &results_dir,
            "--run-id",
            "good-path",
            "--quiet",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains(&format!("POST {url}/pong")), "{stdout}");
    let requests = read_csv(&results.path().join("good-path").join("requests.csv"));
    assert_eq!(requests.len(), 3, "small every 0.1 s for 0.3 s");
    assert!(
        requests
            .iter()
            .all(|row| row["endpoint"] == "/pong" && row["status"] == "200")
    );
    server.handle.stop(false).await;
}

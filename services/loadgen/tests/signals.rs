//! Ctrl-C (SIGINT) or SIGTERM mid-run: the binary stops scheduling, drains, writes its
//! summary and exits 0, leaving a complete, parseable requests.csv.

mod support;

use std::time::{Duration, Instant};

use support::{LabServer, number, read_csv};

/// Starts the binary with no DURATION (until stopped), waits until requests.csv has at least
/// 10 rows, sends `signal` with the `kill` command, and checks what it left behind.
async fn interrupt_with(signal: &str) {
    let server = LabServer::start(0, 1, 5);
    let results = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lab-loadgen"))
        .args([
            "--target-url",
            &server.url(),
            "--duration",
            "0",
            "--small-interval",
            "0.02",
        ])
        .args([
            "--large-size-mb",
            "0.05",
            "--large-interval",
            "0.2",
            "--quiet",
            "--run-id",
            "sig",
        ])
        .arg("--results-dir")
        .arg(results.path())
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a running child has a pid");

    // Wait (bounded) until it has measured something: the CSV is flushed every 0.5 s.
    let requests_csv = results.path().join("sig").join("requests.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = std::fs::read_to_string(&requests_csv)
            .map(|text| text.lines().count().saturating_sub(1))
            .unwrap_or(0);
        if rows >= 10 {
            break;
        }
        assert!(Instant::now() < deadline, "no rows after 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    send_signal(signal, pid);
    let output = tokio::time::timeout(Duration::from_secs(30), child.wait_with_output())
        .await
        .expect("the binary exits within 30 s of the signal")
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(stdout.contains("(interrupted)"), "{stdout}");

    let text = std::fs::read_to_string(&requests_csv).unwrap();
    assert!(text.ends_with('\n'), "the last row is complete");
    let requests = read_csv(&requests_csv);
    assert!(requests.iter().all(|row| row.len() == 13));
    let summary = read_csv(&results.path().join("sig").join("summary.csv"));
    for class in ["small", "large"] {
        let row = summary.iter().find(|row| row["class"] == class).unwrap();
        let in_csv = requests.iter().filter(|r| r["class"] == class).count() as f64;
        assert_eq!(
            in_csv,
            number(row, "count") + number(row, "skipped"),
            "{class}"
        );
        assert!(number(row, "count") >= 1.0, "{class}");
    }
    server.handle.stop(false).await;
}

/// `kill -<signal> <pid>`; through the `nix` crate where no `kill` binary is installed.
fn send_signal(signal: &str, pid: u32) {
    match std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
    {
        Ok(status) => assert!(status.success(), "kill -{signal} {pid} failed"),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let signal = match signal {
                "INT" => nix::sys::signal::Signal::SIGINT,
                _ => nix::sys::signal::Signal::SIGTERM,
            };
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal)
                .expect("the signal is delivered");
        }
        Err(error) => panic!("cannot run kill: {error}"),
    }
}

/// SIGINT, what Ctrl-C sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_mid_run_leaves_a_complete_csv_and_exits_0() {
    interrupt_with("INT").await;
}

/// SIGTERM, what `docker stop` sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_leaves_a_complete_csv_and_exits_0() {
    interrupt_with("TERM").await;
}

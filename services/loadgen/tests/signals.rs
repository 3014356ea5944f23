//! Ctrl-C (SIGINT) or SIGTERM mid-run: the binary stops scheduling, drains, writes its
//! summary and exits 0, leaving a complete, parseable requests.csv. While it builds its
//! bodies, even the largest it allows, either signal stops it within moments.

mod support;

use std::time::{Duration, Instant};

use lab_core::csv_rows::REQUESTS_COLUMNS;

use support::{LabServer, closed_port_url, number, read_csv};

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
    assert!(
        requests
            .iter()
            .all(|row| row.len() == REQUESTS_COLUMNS.len())
    );
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

/// Starts the binary with the largest bodies it allows (two classes of 1024 MB, with
/// BODY_MEMORY_MB raised to let them through), waits until it is building them (its resident
/// memory has grown past 64 MB, several times its own), sends `signal`, and checks it exits 0
/// within a few seconds, says why, and leaves no run directory: no run had started.
async fn interrupt_the_building_with(signal: &str) {
    let results = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lab-loadgen"))
        .args(["--target-url", &closed_port_url(), "--quiet"])
        .arg("--results-dir")
        .arg(results.path())
        .envs([
            ("LARGE_SIZE_MB", "1024"),
            ("SMALL_SIZE_MB", "1024"),
            ("BODY_MEMORY_MB", "65536"),
            ("RUST_LOG", "warn"),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a running child has a pid");

    let deadline = Instant::now() + Duration::from_secs(60);
    while resident_mb(pid) < 64 {
        assert!(
            Instant::now() < deadline,
            "not building after 60 s: {:?}",
            child.try_wait()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    send_signal(signal, pid);
    let signalled = Instant::now();
    // A few seconds: the building stops within milliseconds; the rest is slack for a busy
    // machine. Building every body before exiting would take minutes.
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .unwrap_or_else(|_| panic!("still running 5 s after SIG{signal}"))
        .unwrap();
    eprintln!(
        "SIG{signal} while building: exited {:.2} s later",
        signalled.elapsed().as_secs_f64()
    );
    let mut stderr = String::new();
    use tokio::io::AsyncReadExt;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("interrupted while the bodies were being built"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(results.path()).unwrap().count(),
        0,
        "no run had started, so no run directory"
    );
}

/// The process's resident memory in MB, from /proc (0 once it has gone).
fn resident_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb / 1024)
}

/// SIGTERM while 2 × 3 bodies of 1024 MB are being built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_the_largest_bodies_are_built_exits_0_within_seconds() {
    interrupt_the_building_with("TERM").await;
}

/// SIGINT (Ctrl-C) while 2 × 3 bodies of 1024 MB are being built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_the_largest_bodies_are_built_exits_0_within_seconds() {
    interrupt_the_building_with("INT").await;
}

//! lab-loadgen's memory is its bodies: each one is built once and every request sends that
//! one buffer. A run with dozens of large uploads in flight at once stays within the figure
//! BODY_MEMORY_MB is checked against (plus the process's own few MB), where a copy per
//! request would add a body's size for each of them.

mod support;

use std::time::{Duration, Instant};

use lab_loadgen::RunOptions;
use support::read_csv;

/// Room for the process itself (runtime, HTTP client, CSV writer, the test binary's debug
/// build) on top of the bodies' figure. One copy of the body per request in flight would be
/// more than twenty times this.
const PROCESS_MB: f64 = 32.0;

/// Large uploads of 16 MB every 20 ms for 1 s to a server that never reads them (a socket
/// that listens and never accepts): every one stays in flight until the drain cancels it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_uploads_in_flight_share_their_bodies() {
    // Connections complete in the listen backlog and take a few MB of body each into the
    // kernel's buffers, then wait: nothing reads them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("http://{}", listener.local_addr().unwrap());
    let results = tempfile::tempdir().unwrap();
    let results_dir = results.path().display().to_string();
    let args = [
        "--target-url",
        &target,
        "--large-size-mb",
        "16",
        "--large-interval",
        "0.02",
        "--small-interval",
        "1",
        "--duration",
        "1",
        "--drain-timeout",
        "0.5",
        "--server-check-interval",
        "0",
        "--results-dir",
        &results_dir,
        "--run-id",
        "mem",
        "--quiet",
    ];
    let figure_mb = RunOptions::from_args(args)
        .unwrap()
        .workload
        .body_memory()
        .peak_mb();

    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_lab-loadgen"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let pid = child.id().expect("a running child has a pid");
    // VmHWM is the process's peak resident memory so far; its last reading is the run's.
    let mut peak_mb = 0.0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(mb) = peak_resident_mb(pid) {
            peak_mb = mb;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after 120 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    drop(listener);
    assert_eq!(status.code(), Some(3), "every upload failed (cancelled)");

    let requests = read_csv(&results.path().join("mem").join("requests.csv"));
    let in_flight_at_the_end = requests
        .iter()
        .filter(|row| row["class"] == "large" && row["error"] == "cancelled")
        .count();
    eprintln!(
        "peak RSS {peak_mb:.1} MB, bodies' figure {figure_mb:.1} MB, {in_flight_at_the_end} \
         uploads of 16 MB in flight at once"
    );
    assert!(
        in_flight_at_the_end >= 30,
        "{in_flight_at_the_end} in flight"
    );
    assert!(
        peak_mb <= figure_mb + PROCESS_MB,
        "peak RSS {peak_mb:.1} MB over the figure {figure_mb:.1} MB + {PROCESS_MB} MB"
    );
}

/// VmHWM of a running process in MB (10^6 bytes, as the figure), from /proc.
fn peak_resident_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0 / 1e6)
}

//! lab-probe against servers the lab did not write (Python's http.server, started from
//! tests/support/probe_servers.py): one that serves its small route while it reads uploads,
//! one that blocks on them. The verdicts must differ as they should, with intervals; bad
//! settings exit 2 and write nothing; a server that goes away mid-probe leaves a report that
//! says what was not measured.

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;

/// The probes share the machine's two cores: one at a time.
static ONE_PROBE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A fixture server, killed when dropped.
struct Fixture {
    child: Child,
    port: u16,
}

impl Fixture {
    fn start(kind: &str, extra: &[&str]) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/probe_servers.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(kind)
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the fixture prints its port");
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs lab-probe against `url` with the fixtures' routes, writing under `results`.
fn probe(url: &str, results: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab-probe"))
        .args(["--target-url", url])
        .args(["--small-request", "GET /health", "--small-size-mb", "0"])
        .args(["--large-request", "POST /upload"])
        .args(["--seed", "7", "--small-interval", "0.02"])
        .arg("--results-dir")
        .arg(results)
        .args(args)
        .env("RUST_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("lab-probe starts")
}

/// The one probe directory under `results`.
fn probe_dir(results: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(results.join("probe"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// The report's verdict line.
fn verdict_line(report: &str) -> String {
    report
        .lines()
        .find(|line| line.starts_with("**Verdict:**"))
        .expect("the report has a verdict")
        .to_string()
}

/// A ladder of 1 and 4 MB in 3 rounds of 3 s per level against each server.
fn probe_ladder(fixture: &Fixture) -> (Output, String, PathBuf, tempfile::TempDir) {
    let results = tempfile::tempdir().unwrap();
    let output = probe(
        &fixture.url(),
        results.path(),
        &["--sizes-mb", "1,4", "--reps", "3", "--duration", "3"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let dir = probe_dir(results.path());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    (output, report, dir, results)
}

/// The blocking server makes the small requests wait, beyond the threshold's ×2 at the
/// bottom of the interval; the threaded one does not; both reports carry intervals, and every
/// request is kept.
#[test]
fn the_verdicts_of_a_blocking_and_a_threaded_server_differ() {
    let _one = ONE_PROBE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let blocking = Fixture::start("blocking", &[]);
    let (output, report, dir, _results) = probe_ladder(&blocking);
    let blocked = verdict_line(&report);
    println!("blocking server: {blocked}");
    assert!(
        blocked.starts_with("**Verdict:** small requests wait for uploads: p95 ×"),
        "{report}"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("verdict: small requests wait"));
    assert!(report.contains("| 4 MB uploads | 3 |"), "{report}");
    assert!(
        report.contains("small requests wait (whole interval ≥ ×2.00)"),
        "{report}"
    );
    assert!(report.contains("Server metrics: not available"), "{report}");
    assert!(dir.join("small_p95.svg").is_file());
    assert!(dir.join("probe-run.json").is_file());
    for round in 1..=3 {
        for level in ["alone", "uploads-1mb", "uploads-4mb"] {
            let requests = dir.join(format!("round-{round}/{level}/requests.csv"));
            assert!(requests.is_file(), "{}", requests.display());
        }
    }
    let csv = std::fs::read_to_string(dir.join("probe.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 9, "{csv}");
    drop(blocking);

    let threaded = Fixture::start("threaded", &[]);
    let (_, report, _, _results) = probe_ladder(&threaded);
    let served = verdict_line(&report);
    println!("threaded server: {served}");
    assert!(!served.contains("wait for uploads"), "{report}");
    assert!(
        served.contains(" [×"),
        "the ratio has an interval: {report}"
    );
    assert!(report.contains("the upload route kept up"), "{report}");
}

/// Bad settings, and a TARGET_URL nobody listens on, exit 2 with what to change, and write
/// nothing.
#[test]
fn bad_settings_exit_2_and_write_nothing() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let listening = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let open_url = format!(
        "http://127.0.0.1:{}",
        listening.local_addr().unwrap().port()
    );
    let upload = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(upload.path(), b"{\"order\": 1}").unwrap();
    let upload = upload.path().to_str().unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        (&open_url, &["--sizes-mb", " , "], "not a size"),
        (
            &open_url,
            &["--large-body-file", upload, "--sizes-mb", "1"],
            "leave PROBE_SIZES_MB",
        ),
        (
            &open_url,
            &["--large-body-file", "/no/such/upload.json"],
            "/no/such/upload.json",
        ),
        (&open_url, &["--sizes-mb", "1,0"], "above 0"),
        (&open_url, &["--sizes-mb", "1,1"], "twice"),
        (&open_url, &["--reps", "0"], "0"),
        (&open_url, &["--threshold", "0.5"], "not a threshold"),
        (
            &open_url,
            &["--large-request", "GET /upload"],
            "sends no body",
        ),
        (&open_url, &["--target-url", "https://x"], "only http"),
        (&closed_url, &[], "cannot reach TARGET_URL"),
    ];
    for (url, args, mentions) in cases {
        let results = tempfile::tempdir().unwrap();
        let output = probe(url, results.path(), args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(mentions),
            "{args:?}: {mentions:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(
            !results.path().join("probe").exists(),
            "{args:?} wrote files"
        );
    }
}

/// A server that goes away mid-probe: exit 3, a report that says the probe stopped and
/// which rounds were not measured, probe.csv rows saying why, and the requests kept.
#[test]
fn a_server_that_goes_away_leaves_a_report_of_what_was_measured() {
    let _one = ONE_PROBE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let dying = Fixture::start("threaded", &["--die-after", "5"]);
    let results = tempfile::tempdir().unwrap();
    let output = probe(
        &dying.url(),
        results.path(),
        &["--sizes-mb", "1", "--reps", "3", "--duration", "2"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("stopped answering"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let dir = probe_dir(results.path());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    println!("dying server: {}", verdict_line(&report));
    assert!(
        report.contains("The probe stopped early: the server stopped answering"),
        "{report}"
    );
    assert!(report.contains("not measured"), "{report}");
    let csv = std::fs::read_to_string(dir.join("probe.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6, "{csv}");
    assert!(csv.contains("not run: the probe stopped"), "{csv}");
    assert!(csv.contains("connect_refused"), "{csv}");
    assert!(dir.join("round-1/alone/requests.csv").is_file());
}

/// lab-server exports the lab's metrics: the probe finds them and adds the server's own time
/// per upload (and its utilisation, from WORKERS on /healthz) to the report.
#[test]
fn a_server_with_the_labs_metrics_adds_its_own_time_per_upload() {
    let _one = ONE_PROBE_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = LabServer(
        Command::new(support::server_bin())
            .args(["--bind", &format!("127.0.0.1:{port}"), "--workers", "1"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("lab-server starts"),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "lab-server did not listen"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let results = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_lab-probe"))
        .args(["--target-url", &format!("http://127.0.0.1:{port}")])
        .args([
            "--endpoint",
            "/ping",
            "--sizes-mb",
            "2",
            "--reps",
            "2",
            "--duration",
            "2",
        ])
        .arg("--results-dir")
        .arg(results.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("lab-probe starts");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let dir = probe_dir(results.path());
    let report = std::fs::read_to_string(dir.join("report.md")).unwrap();
    println!("lab-server: {}", verdict_line(&report));
    assert!(report.contains("Server metrics: available"), "{report}");
    assert!(report.contains("against 1 workers"), "{report}");
    let uploads_section = &report[report.find("## Uploads").expect("an uploads section")..];
    let uploads_row = uploads_section
        .lines()
        .find(|line| line.starts_with("| 2 MB uploads |"))
        .expect("an uploads row");
    let cells: Vec<&str> = uploads_row.split('|').map(str::trim).collect();
    assert_ne!(cells[5], "–", "the server's time per upload: {uploads_row}");
    drop(server);
}

/// lab-server, killed when dropped.
struct LabServer(Child);

impl Drop for LabServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

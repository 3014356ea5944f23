//! Shared helpers for lab-loadgen's integration tests: the real lab-server on port 0, a
//! server that stalls on purpose, short run options, and CSV/metrics readers.
#![allow(dead_code)] // each test file uses a different subset

use std::{
    collections::HashMap,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use actix_web::{App, HttpResponse, HttpServer, dev::ServerHandle, web};
use clap::Parser;
use lab_loadgen::RunOptions;

/// A lab-server running in this process.
pub struct LabServer {
    pub port: u16,
    pub handle: ServerHandle,
}

impl LabServer {
    /// Starts the real lab-server on 127.0.0.1 (`port` 0 = any free port).
    pub fn start(port: u16, workers: u16, keep_alive_seconds: u64) -> Self {
        let config = lab_server::config::ServerConfig::parse_from([
            "lab-server".to_string(),
            "--bind".into(),
            format!("127.0.0.1:{port}"),
            "--workers".into(),
            workers.to_string(),
            "--keep-alive".into(),
            keep_alive_seconds.to_string(),
            "--shutdown-timeout".into(),
            "1".into(),
        ]);
        let app = lab_server::Application::build(config).expect("lab-server binds");
        let port = app.port();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        LabServer { port, handle }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sum of `lab_server_connections_total` over workers, read from the server's /metrics.
    /// The scrape uses its own connection (closed after it), which the server counts too.
    pub async fn connections_total(&self) -> u64 {
        let text = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
            .get(format!("{}/metrics", self.url()))
            .header("connection", "close")
            .send()
            .await
            .expect("metrics scrape")
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|line| line.starts_with("lab_server_connections_total{"))
            .map(|line| {
                line.rsplit(' ')
                    .next()
                    .unwrap()
                    .parse::<f64>()
                    .expect("a counter value") as u64
            })
            .sum()
    }
}

/// A one-worker actix server whose handler blocks its worker for `stall` on every request,
/// the way a 25 MB parse blocks a real worker: requests queue up behind each other. Answers
/// with its `elapsed_server` and `worker`, and no count to check.
pub struct StallingServer {
    pub port: u16,
    pub handle: ServerHandle,
    pub accepted: Arc<AtomicU64>,
}

impl StallingServer {
    pub fn start(stall: Duration) -> Self {
        let accepted = Arc::new(AtomicU64::new(0));
        let counter = accepted.clone();
        let server = HttpServer::new(move || {
            App::new().default_service(web::to(move |_body: web::Bytes| async move {
                std::thread::sleep(stall); // on purpose: hold the only worker
                // No count or maxval: this server does not parse, so it does not claim to.
                HttpResponse::Ok().json(serde_json::json!({
                    "elapsed_server": stall.as_millis() as u64,
                    "worker": 0,
                }))
            }))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(1)
        .on_connect(move |_, _| {
            counter.fetch_add(1, Ordering::SeqCst);
        })
        .bind(("127.0.0.1", 0))
        .expect("binds");
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        StallingServer {
            port,
            handle,
            accepted,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Options for a short test run into `results_dir`: tiny bodies, quiet, fixed run id.
pub fn short_run(target: &str, results_dir: &Path, extra: &[&str]) -> RunOptions {
    let mut args = vec![
        "--target-url".to_string(),
        target.to_string(),
        "--results-dir".into(),
        results_dir.display().to_string(),
        "--run-id".into(),
        "test".into(),
        "--small-size-mb".into(),
        "0.001".into(),
        "--large-size-mb".into(),
        "0.01".into(),
        "--request-timeout".into(),
        "10".into(),
        "--drain-timeout".into(),
        "10".into(),
        "--quiet".into(),
        // Not following the server: its /healthz requests would add to what tests count
        // (connections, requests); the tests of that behaviour turn it on.
        "--server-check-interval".into(),
        "0".into(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    RunOptions::from_args(args).expect("test options parse")
}

/// The one report of a run that did not follow the server (so could not be split).
pub fn only_run(mut reports: Vec<lab_loadgen::RunReport>) -> lab_loadgen::RunReport {
    assert_eq!(reports.len(), 1, "one run expected: {reports:?}");
    reports.remove(0)
}

/// Rows of a CSV file as column → value maps.
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("the CSV exists");
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.expect("every row parses");
            headers
                .iter()
                .zip(record.iter())
                .map(|(header, value)| (header.to_string(), value.to_string()))
                .collect()
        })
        .collect()
}

/// A cell as a number (panics with the column name if it is not one).
pub fn number(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column]
        .parse()
        .unwrap_or_else(|_| panic!("{column} = {:?} is not a number", row[column]))
}

/// Runs the real lab-loadgen binary with `args` and extra environment variables `envs`, and
/// returns (exit code, stdout, stderr); fails the test if it takes more than a minute.
pub async fn run_loadgen(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, String) {
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_lab-loadgen"))
            .args(args)
            .envs(envs.iter().copied())
            .env("RUST_LOG", "warn")
            .env("RUST_BACKTRACE", "0")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the binary finishes within a minute")
    .expect("the binary starts");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// `http://127.0.0.1:<port>` where nothing listens: the port was free a moment ago.
pub fn closed_port_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

//! What every integration test needs: the real server on 127.0.0.1:0, a client, a parser for
//! the metrics exposition, and raw HTTP/1.1 for what a high-level client hides (connection
//! reuse, bodies sent in pieces, headers without a body).
#![allow(dead_code)] // each test binary uses a different part of this module

use std::{collections::BTreeMap, sync::OnceLock, time::Duration};

use clap::Parser;
use lab_server::{Application, config::ServerConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// `127.0.0.1:PORT`
    pub address: String,
    /// A client that reuses connections.
    pub client: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
}

/// Starts the real application on 127.0.0.1:0 with `flags` (e.g. `["--workers", "3"]`).
pub async fn spawn_app(flags: &[&str]) -> TestApp {
    let mut args = vec!["lab-server", "--bind", "127.0.0.1:0"];
    args.extend_from_slice(flags);
    let config = ServerConfig::parse_from(args);
    let application = Application::build(config).expect("the server binds");
    let address = format!("127.0.0.1:{}", application.port());
    let handle = application.handle();
    tokio::spawn(application.run_until_stopped());
    let app = TestApp {
        base_url: format!("http://{address}"),
        address,
        client: reqwest::Client::new(),
        handle,
    };
    app.wait_until_healthy().await;
    app
}

impl TestApp {
    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Polls /healthz until it answers (the listener is bound before workers start).
    pub async fn wait_until_healthy(&self) {
        for _ in 0..500 {
            if let Ok(response) = self.client.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("server at {} never became healthy", self.base_url);
    }

    /// POSTs `body` as JSON to `path`.
    pub async fn post_json(&self, path: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the request is answered")
    }

    /// Scrapes /metrics and parses it.
    pub async fn metrics(&self) -> Exposition {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("metrics are served")
            .text()
            .await
            .expect("metrics are text");
        Exposition::parse(&text)
    }

    /// Stops the server, draining in-flight requests.
    pub async fn stop(&self) {
        self.handle.stop(true).await;
    }
}

/// Every strategy endpoint, the floor (`/drain`) included: where only the upload rules matter.
pub const ENDPOINTS: [&str; lab_core::Strategy::ALL.len()] = lab_core::Strategy::PATHS;

/// How many strategies parse and count the body (all but the floor).
const PARSING: usize = {
    let mut parsing = 0;
    let mut index = 0;
    while index < lab_core::Strategy::ALL.len() {
        if lab_core::Strategy::ALL[index].counts() {
            parsing += 1;
        }
        index += 1;
    }
    parsing
};

/// The strategy endpoints that parse and count the body: where the answer matters.
pub const STRATEGIES: [&str; PARSING] = {
    let mut paths = [""; PARSING];
    let (mut index, mut next) = (0, 0);
    while index < lab_core::Strategy::ALL.len() {
        if lab_core::Strategy::ALL[index].counts() {
            paths[next] = lab_core::Strategy::ALL[index].path();
            next += 1;
        }
        index += 1;
    }
    paths
};

/// A 25 MB seed-shaped body, generated once per test binary (never on a timed path).
pub fn large_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| lab_core::payload::generate_seeded("large", 25.0, 42))
}

/// The expected `(count, maxval)` of a body, computed independently of the server: a generic
/// `serde_json::Value` (whose object insert keeps the last value of a repeated key).
pub fn expected_summary(body: &[u8]) -> (u64, i64) {
    let value: serde_json::Value = serde_json::from_slice(body).expect("a valid body");
    let data = value["data"].as_object().expect("data is an object");
    let maxval = data
        .values()
        .map(|value| value.as_i64().expect("integer values"))
        .max()
        .unwrap_or(0);
    (data.len() as u64, maxval)
}

// ---------------------------------------------------------------------------------------
// The Prometheus text exposition format, parsed.

/// One sample line: `name{label="value",…} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: every sample, plus each metric family's `# TYPE`.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    /// Parses the text format; panics (failing the test) on any malformed line.
    pub fn parse(text: &str) -> Self {
        let mut exposition = Self::default();
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            if let Some(comment) = line.strip_prefix('#') {
                let mut words = comment.split_whitespace();
                if words.next() == Some("TYPE") {
                    let name = words.next().expect("TYPE has a name");
                    let kind = words.next().expect("TYPE has a kind");
                    exposition.types.insert(name.into(), kind.into());
                }
                continue;
            }
            exposition.samples.push(parse_sample(line));
        }
        exposition
    }

    /// Samples named `name` whose labels include every pair in `labels`.
    pub fn find<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |sample| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(value))
        })
    }

    /// The value of the one sample named `name` with exactly `labels` among its labels.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matches: Vec<_> = self.find(name, labels).collect();
        assert_eq!(matches.len(), 1, "{name} {labels:?}: {matches:?}");
        matches[0].value
    }

    /// Sum over every sample named `name` matching `labels`.
    pub fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.find(name, labels).map(|sample| sample.value).sum()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (name_and_labels, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    let (name, labels) = match name_and_labels.split_once('{') {
        None => (name_and_labels, BTreeMap::new()),
        Some((name, rest)) => {
            let inner = rest
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed labels in {line:?}"));
            (name, parse_labels(inner, line))
        }
    };
    assert!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
        "bad metric name in {line:?}"
    );
    Sample {
        name: name.into(),
        labels,
        value,
    }
}

fn parse_labels(mut inner: &str, line: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    while !inner.is_empty() {
        let (key, rest) = inner
            .split_once("=\"")
            .unwrap_or_else(|| panic!("bad label in {line:?}"));
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, escaped)) => value.push(escaped),
                    None => panic!("dangling escape in {line:?}"),
                },
                Some((index, '"')) => break index,
                Some((_, c)) => value.push(c),
                None => panic!("unterminated label value in {line:?}"),
            }
        };
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        inner = &rest[end + 1..];
        inner = inner.strip_prefix(',').unwrap_or(inner);
    }
    labels
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1.

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// Header names lower-cased.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Connects to the app.
pub async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(&app.address).await.expect("connects")
}

/// Writes a request head (`extra_headers` are full `Name: value` lines).
pub async fn write_head(
    stream: &mut TcpStream,
    method: &str,
    path: &str,
    extra_headers: &[String],
) {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
    for header in extra_headers {
        head.push_str(header);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .expect("head written");
}

/// Opens a connection and sends the head of a JSON POST to `path` with `headers` (its
/// Content-Length or Transfer-Encoding, `Expect`, …, as full `Name: value` lines); the body is
/// left to the caller.
pub async fn start_json_post(app: &TestApp, path: &str, headers: &[String]) -> TcpStream {
    let mut stream = connect(app).await;
    let mut all = vec!["content-type: application/json".to_owned()];
    all.extend_from_slice(headers);
    write_head(&mut stream, "POST", path, &all).await;
    stream
}

/// Reads one response (head, then a Content-Length body) off `stream`.
pub async fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk).await.expect("response readable");
        assert!(
            read > 0,
            "connection closed before a response head: {:?}",
            String::from_utf8_lossy(&buffer)
        );
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(buffer[..head_end].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: BTreeMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize = headers.get("content-length").map_or(0, |length| {
        length.parse().expect("a numeric content-length")
    });
    let mut body = buffer[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; length - body.len()];
        let read = stream.read(&mut chunk).await.expect("body readable");
        assert!(read > 0, "connection closed inside the body");
        body.extend_from_slice(&chunk[..read]);
    }
    RawResponse {
        status,
        headers,
        body,
    }
}

/// Reads until the server closes the connection; `true` if it closed with no further bytes.
pub async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut rest = Vec::new();
    match stream.read_to_end(&mut rest).await {
        Ok(_) => rest.is_empty(),
        // A reset is a close too.
        Err(_) => true,
    }
}

/// Starts `lab-server` on 127.0.0.1:0 and returns it with its address from the stdout line.
pub fn start_binary() -> (std::process::Child, String) {
    start_binary_with(&[])
}

/// [`start_binary`] with extra environment variables; its log (stderr) is kept for
/// [`exit_and_log`].
pub fn start_binary_with(env: &[(&str, &str)]) -> (std::process::Child, String) {
    start_binary_at(env!("CARGO_BIN_EXE_lab-server"), env)
}

/// [`start_binary_with`] for the binary at `path` (`lab-server` or `lab-server-jemalloc`).
pub fn start_binary_at(path: &str, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = std::process::Command::new(path)
        .env("BIND", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).expect("a stdout line");
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, address)
}

/// A server process, killed however the test ends (a failed assertion included).
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The resident memory of process `pid`, in bytes (`VmRSS` of `/proc/PID/status`).
pub fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("a live process");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kib * 1024
}

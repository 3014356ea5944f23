//! The conformance cases of the study body (`services/core/contract/conformance.json`), sent over
//! real HTTP to all five strategy endpoints: each must answer every case as the file says
//! lab-server answers it (status and error kind, or name, count and maxval). The FastAPI peer's
//! suite (`services/fastapi/tests/test_conformance.py`) runs the same file against its three
//! endpoints, so the file is the one place where both servers' answers are written down, and
//! where each difference between them is marked with its reason.
//!
//! Also here, what the file cannot hold because it is not a body: how a request's body is framed.
//! Every `Transfer-Encoding` but one `chunked` header on HTTP/1.1 without a Content-Length is
//! refused by actix's HTTP parser before lab-server's code runs: 400, and the connection closed
//! (the FastAPI suite checks its peer against the same list).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{STRATEGIES, closed_by_server, connect, read_response, spawn_app};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

/// This server's name in the cases file's `differs`.
const THIS_SERVER: &str = "lab-server";
/// The servers a case may name.
const SERVERS: [&str; 2] = ["lab-server", "fastapi"];

/// The cases file.
#[derive(Debug, Deserialize)]
struct Contract {
    /// Why each marked difference is on purpose, by key.
    reasons: BTreeMap<String, String>,
    cases: Vec<Case>,
}

/// One request body and its answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    body: Body,
    /// The request headers besides Host and Content-Length; absent: a JSON content type.
    headers: Option<BTreeMap<String, String>>,
    /// The answer, unless `differs` names this server.
    expect: Answer,
    differs: Option<Difference>,
}

/// A documented difference: `server` answers `answer`, for `reason`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Difference {
    server: String,
    answer: Answer,
    reason: String,
}

/// The body: its UTF-8 text, or parts joined in order.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Body {
    Text(String),
    Parts(Vec<Part>),
}

/// A part of a body: UTF-8 text, or raw bytes in hex, either repeated.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Part {
    Text(String),
    Piece {
        text: Option<String>,
        hex: Option<String>,
        repeat: Option<usize>,
    },
}

/// An answer, as the file writes it and as an endpoint gives it (the message aside).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    status: u16,
    error: Option<String>,
    name: Option<String>,
    count: Option<u64>,
    maxval: Option<i64>,
}

impl Case {
    /// The bytes to send.
    fn body_bytes(&self) -> Vec<u8> {
        match &self.body {
            Body::Text(text) => text.as_bytes().to_vec(),
            Body::Parts(parts) => parts.iter().flat_map(Part::bytes).collect(),
        }
    }

    /// The headers to send.
    fn request_headers(&self) -> BTreeMap<String, String> {
        self.headers.clone().unwrap_or_else(|| {
            BTreeMap::from([("content-type".to_owned(), "application/json".to_owned())])
        })
    }

    /// What `server` must answer.
    fn answer_of(&self, server: &str) -> &Answer {
        match &self.differs {
            Some(difference) if difference.server == server => &difference.answer,
            _ => &self.expect,
        }
    }
}

impl Part {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Text(text) => text.as_bytes().to_vec(),
            Self::Piece { text, hex, repeat } => {
                let unit = match (text, hex) {
                    (Some(text), None) => text.as_bytes().to_vec(),
                    (None, Some(hex)) => hex::decode(hex).expect("a part's hex is bytes"),
                    _ => panic!("a part has either text or hex: {self:?}"),
                };
                unit.repeat(repeat.unwrap_or(1))
            }
        }
    }
}

/// The cases file, parsed.
fn contract() -> Contract {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../core/contract/conformance.json"
    );
    let text = std::fs::read_to_string(path).expect("the cases file is readable");
    serde_json::from_str(&text).expect("the cases file is well-formed")
}

/// What an endpoint answered: the status, and the error's kind or the 200's name, count and
/// maxval; and the error's message.
async fn answer(client: &reqwest::Client, url: String, case: &Case) -> (Answer, String) {
    let mut request = client.post(url).body(case.body_bytes());
    for (name, value) in case.request_headers() {
        request = request.header(name, value);
    }
    let response = request.send().await.expect("the request is answered");
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.expect("a JSON answer");
    let text = |field: &str| body[field].as_str().map(str::to_owned);
    let answer = if status == 200 {
        Answer {
            status,
            error: None,
            name: text("name"),
            count: body["count"].as_u64(),
            maxval: body["maxval"].as_i64(),
        }
    } else {
        Answer {
            status,
            error: text("error"),
            name: None,
            count: None,
            maxval: None,
        }
    };
    (answer, text("message").unwrap_or_default())
}

/// The file says what it means: unique names, answers of the right form, and every marked
/// difference naming a known server, a different answer and a reason from `reasons` (and every
/// reason used).
#[test]
fn the_cases_file_is_consistent() {
    let contract = contract();
    assert!(
        contract.cases.len() >= 229,
        "{} cases",
        contract.cases.len()
    );
    let mut names = BTreeSet::new();
    let mut reasons_used = BTreeSet::new();
    for case in &contract.cases {
        assert!(names.insert(&case.name), "{} is not unique", case.name);
        let mut answers = vec![&case.expect];
        if let Some(difference) = &case.differs {
            assert!(
                SERVERS.contains(&difference.server.as_str()),
                "{}",
                case.name
            );
            assert_ne!(difference.answer, case.expect, "{}", case.name);
            assert!(
                contract.reasons.contains_key(&difference.reason),
                "{}: no reason {}",
                case.name,
                difference.reason
            );
            reasons_used.insert(difference.reason.clone());
            answers.push(&difference.answer);
        }
        for answer in answers {
            let success = answer.status == 200;
            assert_eq!(answer.error.is_none(), success, "{}", case.name);
            assert_eq!(answer.count.is_some(), success, "{}", case.name);
            assert_eq!(answer.maxval.is_some(), success, "{}", case.name);
            assert_eq!(answer.name.is_some(), success, "{}", case.name);
        }
    }
    let reasons: BTreeSet<String> = contract.reasons.keys().cloned().collect();
    assert_eq!(reasons_used, reasons, "every reason is some case's");
}

/// Every case, on every strategy endpoint, gets the answer the file gives lab-server; a JSON
/// error (400 `malformed_json`, 422 `wrong_shape`) says where, with the parser's line and
/// column; and the server still serves afterwards.
#[tokio::test]
async fn every_endpoint_answers_every_case_as_the_file_says() {
    let contract = contract();
    let app = spawn_app(&[]).await;
    let mut mismatches = Vec::new();
    for case in &contract.cases {
        let expected = case.answer_of(THIS_SERVER);
        for endpoint in STRATEGIES {
            let (got, message) = answer(&app.client, app.url(endpoint), case).await;
            if &got != expected {
                mismatches.push(format!(
                    "{} on {endpoint}: expected {expected:?}, got {got:?}",
                    case.name
                ));
            }
            let parse_error =
                matches!(got.error.as_deref(), Some("malformed_json" | "wrong_shape"));
            if parse_error && !(message.contains("line") && message.contains("column")) {
                mismatches.push(format!(
                    "{} on {endpoint}: no line and column in {message:?}",
                    case.name
                ));
            }
        }
    }
    for endpoint in STRATEGIES {
        let response = app
            .post_json(endpoint, r#"{"name":"ok","data":{"a":1}}"#)
            .await;
        assert_eq!(response.status(), 200, "{endpoint} after every case");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} answers differ from the cases file:\n{}",
        mismatches.len(),
        contract.cases.len() * STRATEGIES.len(),
        mismatches.join("\n")
    );
}

/// Transfer-Encoding shapes actix's HTTP parser refuses: every one but a single `chunked`.
const REFUSED_FRAMINGS: &[(&str, &str, &[&str])] = &[
    (
        "gzip, chunked",
        "1.1",
        &["transfer-encoding: gzip, chunked"],
    ),
    (
        "chunked, chunked",
        "1.1",
        &["transfer-encoding: chunked, chunked"],
    ),
    (
        "chunked, gzip",
        "1.1",
        &["transfer-encoding: chunked, gzip"],
    ),
    (
        "identity, chunked",
        "1.1",
        &["transfer-encoding: identity, chunked"],
    ),
    ("gzip", "1.1", &["transfer-encoding: gzip"]),
    ("identity", "1.1", &["transfer-encoding: identity"]),
    ("empty", "1.1", &["transfer-encoding: "]),
    (
        "chunked with a parameter",
        "1.1",
        &["transfer-encoding: chunked;x=1"],
    ),
    (
        "two headers",
        "1.1",
        &["transfer-encoding: gzip", "transfer-encoding: chunked"],
    ),
    (
        "two chunked headers",
        "1.1",
        &["transfer-encoding: chunked", "transfer-encoding: chunked"],
    ),
    (
        "with Content-Length",
        "1.1",
        &["transfer-encoding: chunked", "content-length: 36"],
    ),
    ("on HTTP/1.0", "1.0", &["transfer-encoding: chunked"]),
];

/// A study body in one chunk, then the last chunk.
const CHUNKED_BODY: &str = "1b\r\n{\"name\":\"n\",\"data\":{\"k\":1}}\r\n0\r\n\r\n";

/// Every refused framing is 400 on every strategy endpoint and /healthz, and the connection is
/// closed; exactly `chunked` (any case) is read.
#[tokio::test]
async fn a_transfer_coding_other_than_chunked_is_400_and_closed() {
    let app = spawn_app(&[]).await;
    let paths = STRATEGIES.iter().copied().chain(["/healthz"]);
    for path in paths {
        for (framing, version, headers) in REFUSED_FRAMINGS {
            let mut stream = connect(&app).await;
            let mut request = format!(
                "POST {path} HTTP/{version}\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
            );
            for header in *headers {
                request.push_str(header);
                request.push_str("\r\n");
            }
            request.push_str("\r\n");
            request.push_str(CHUNKED_BODY);
            stream.write_all(request.as_bytes()).await.unwrap();
            let response = read_response(&mut stream).await;
            assert_eq!(response.status, 400, "{framing} on {path}");
            assert!(
                closed_by_server(&mut stream).await,
                "{framing} on {path}: still open"
            );
        }
    }
    for coding in ["chunked", "Chunked", " CHUNKED "] {
        let mut stream = connect(&app).await;
        let request = format!(
            "POST /pong HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding:{coding}\r\n\r\n{CHUNKED_BODY}"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        assert_eq!(read_response(&mut stream).await.status, 200, "{coding:?}");
    }
}

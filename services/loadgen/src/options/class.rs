//! What one request class is: its name, size and interval, its method and path, its body
//! (built, or read from a file: [`BodyFile`]).
//! Shared by the workload's options ([`super::WorkloadArgs`]) and the value parsers
//! ([`super::values`]), which build these from the command line.

use std::{fmt, path::PathBuf, time::Duration};

use bytes::Bytes;
use clap::ValueEnum;
use lab_core::Class;
use reqwest::header::HeaderValue;
use serde::{Deserialize, Serialize};

/// One request class: small, large, or one from `EXTRA_CLASSES` (`name:size_mb:interval_s`,
/// always `POST` to ENDPOINT with the study's JSON body).
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Which class: its name is in the body's `name`, the request id, CSV rows and metric
    /// labels.
    pub class: Class,
    /// Nominal body size in MB (about 50,000 pairs per MB).
    pub size_mb: f64,
    /// Time between two scheduled starts (open) or between a response and the next send (closed).
    pub interval: Duration,
    /// Method and path; `None` = `POST` to ENDPOINT.
    pub request: Option<RequestLine>,
    /// What the body is.
    pub body: BodyKind,
    /// The body read from a file (SMALL_BODY_FILE, LARGE_BODY_FILE), sent as it is instead
    /// of a built one; `size_mb` is then its size.
    pub file: Option<BodyFile>,
    /// The `Content-Type` the body is sent with, when not the body kind's own.
    pub content_type: Option<HeaderValue>,
}

/// An HTTP method a class may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// GET: no body.
    Get,
    /// HEAD: no body.
    Head,
    /// POST: the lab's default.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// Every method, for parsing and messages.
    pub const ALL: [Method; 6] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The method's name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// Whether requests with this method carry a body (GET and HEAD do not).
    pub fn sends_body(self) -> bool {
        !matches!(self, Method::Get | Method::Head)
    }
}

/// `METHOD /path`: what one class asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// The method.
    pub method: Method,
    /// A path on TARGET_URL's host (checked as ENDPOINT is).
    pub path: String,
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method.as_str(), self.path)
    }
}

/// What a class's body is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BodyKind {
    /// The study's JSON body, `application/json`; answers are checked against it.
    #[default]
    Json,
    /// Random bytes, `application/octet-stream`: a file upload. Answers are not checked.
    Raw,
}

impl BodyKind {
    /// The lower-case name used in the report and the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::Json => "json",
            BodyKind::Raw => "raw",
        }
    }

    /// The `Content-Type` it is sent with unless one is given.
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            BodyKind::Json => "application/json",
            BodyKind::Raw => "application/octet-stream",
        })
    }
}

/// Bytes in one MB of the class sizes, of BODY_MEMORY_MB and of the figures it is compared
/// with (10^6).
pub const BYTES_PER_MB: f64 = 1_000_000.0;

/// A body read from a file: its path (as given, for the report) and its bytes (shared by
/// every request that sends it: a reference count, never a copy).
#[derive(Clone, PartialEq, Eq)]
pub struct BodyFile {
    /// The path as given.
    pub path: PathBuf,
    /// The file's bytes, as they were when the options were parsed.
    pub bytes: Bytes,
}

impl BodyFile {
    /// Its size in MB (10^6 bytes), the class's size in every report.
    pub fn size_mb(&self) -> f64 {
        self.bytes.len() as f64 / BYTES_PER_MB
    }
}

impl fmt::Debug for BodyFile {
    // Never the bytes: a 25 MB body in a debug print is of no use to anyone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodyFile")
            .field("path", &self.path)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

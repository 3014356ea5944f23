//! What one request class is: its name, size and interval, its method and path, its body.
//! Shared by the workload's options ([`super::WorkloadArgs`]) and the value parsers
//! ([`super::values`]), which build these from the command line.

use std::{fmt, time::Duration};

use clap::ValueEnum;
use lab_core::Class;
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
}

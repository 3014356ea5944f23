//! The workload: what each request class sends and when, and how long the client waits.
//!
//! One clap group, [`WorkloadArgs`], flattened by every command line that runs the workload
//! (`lab-loadgen`, `lab-matrix`), so the options, their environment twins, defaults and
//! checks exist once. [`WorkloadArgs::class_specs`] turns it into the classes the engine runs.

use std::time::Duration;

use clap::ValueEnum;
use lab_core::{
    Class,
    payload::{Alphabet, BodyStyle, Separators},
};
use serde::{Deserialize, Serialize};

use reqwest::header::HeaderValue;

use super::body_file::{parse_body_file, parse_content_type};
use super::class::{BodyFile, BodyKind, ClassSpec, RequestLine};
use super::headers::{RequestHeader, parse_request_headers};
use super::memory::BodyMemory;
use super::values::{
    MAX_BODY_MEMORY_MB, MAX_IN_FLIGHT_LIMIT, MAX_TOTAL_SIZE_MB, VARIANTS_PER_CLASS,
    parse_class_specs, parse_interval, parse_request_line, parse_seconds_or_zero, parse_size_mb,
};

/// What each class sends and when (SMALL_*, LARGE_*, EXTRA_CLASSES, SCHEDULE, the large
/// class's on/off cycle) and how long the client waits (REQUEST_TIMEOUT, DRAIN_TIMEOUT).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct WorkloadArgs {
    /// Body size of the small class in MB (0.001 MB ≈ 50 pairs), 0 to 1024.
    #[arg(long, env = "SMALL_SIZE_MB", default_value = "0.001", value_parser = parse_size_mb)]
    pub small_size_mb: f64,

    /// Seconds between two small requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "SMALL_INTERVAL", default_value = "0.1", value_parser = parse_seconds_or_zero)]
    pub small_interval: Duration,

    /// The small class's request, `METHOD /path` (e.g. `GET /healthz`, `POST /ping`); empty =
    /// `POST` to ENDPOINT. GET and HEAD send no body, so they need SMALL_SIZE_MB=0.
    // `std::option::Option`: an empty value means "the default".
    #[arg(long, env = "SMALL_REQUEST", default_value = "", hide_default_value = true, value_parser = parse_request_line)]
    pub small_request: std::option::Option<RequestLine>,

    /// What the small class's body is: `json`, the study's `{"name", "data"}` body
    /// (application/json); `raw`, SMALL_SIZE_MB × 10^6 random bytes
    /// (application/octet-stream), as a file upload sends.
    #[arg(long, env = "SMALL_BODY", value_enum, default_value = "json")]
    pub small_body: BodyKind,

    /// A file whose bytes are every small request's body, sent as they are (read once, at
    /// the start; at most 1024 MB); the class's size is then the file's, SMALL_SIZE_MB is not
    /// used, and answers are not checked. Empty = the body SMALL_BODY builds.
    // `std::option::Option`: an empty value means "no file".
    #[arg(long, env = "SMALL_BODY_FILE", default_value = "", hide_default_value = true, value_parser = parse_body_file)]
    pub small_body_file: std::option::Option<BodyFile>,

    /// The small requests' `Content-Type` (e.g. `text/csv`); empty = SMALL_BODY's
    /// (`application/json` or `application/octet-stream`).
    #[arg(long, env = "SMALL_CONTENT_TYPE", default_value = "", hide_default_value = true, value_parser = parse_content_type)]
    pub small_content_type: std::option::Option<HeaderValue>,

    /// Body size of the large class in MB, at most 1024; 0 = no large class: only the small class (and any
    /// EXTRA_CLASSES) runs, and no large row appears in the table, summary.csv or requests.csv
    /// (an unloaded baseline).
    #[arg(long, env = "LARGE_SIZE_MB", default_value = "25", value_parser = parse_size_mb)]
    pub large_size_mb: f64,

    /// Seconds between two large requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "LARGE_INTERVAL", default_value = "1.0", value_parser = parse_seconds_or_zero)]
    pub large_interval: Duration,

    /// The large class's request, `METHOD /path` (e.g. `POST /upload`); empty = `POST` to
    /// ENDPOINT.
    #[arg(long, env = "LARGE_REQUEST", default_value = "", hide_default_value = true, value_parser = parse_request_line)]
    pub large_request: std::option::Option<RequestLine>,

    /// What the large class's body is: `json` (the study's body) or `raw` (random bytes,
    /// application/octet-stream).
    #[arg(long, env = "LARGE_BODY", value_enum, default_value = "json")]
    pub large_body: BodyKind,

    /// A file whose bytes are every upload's body, sent as they are (read once, at the
    /// start; at most 1024 MB): a document the route accepts. The class's size is then the
    /// file's, LARGE_SIZE_MB is not used, and answers are not checked. Empty = the body
    /// LARGE_BODY builds.
    #[arg(long, env = "LARGE_BODY_FILE", default_value = "", hide_default_value = true, value_parser = parse_body_file)]
    pub large_body_file: std::option::Option<BodyFile>,

    /// The uploads' `Content-Type` (e.g. `multipart/form-data; boundary=…` for a multipart
    /// body in LARGE_BODY_FILE); empty = LARGE_BODY's.
    #[arg(long, env = "LARGE_CONTENT_TYPE", default_value = "", hide_default_value = true, value_parser = parse_content_type)]
    pub large_content_type: std::option::Option<HeaderValue>,

    /// How the JSON bodies are spaced: `compact` (`{"a":1,"b":2}`, as httpx sends it) or
    /// `spaced` (`{"a": 1, "b": 2}`, as Python's json.dumps and the requests library send it).
    #[arg(long, env = "JSON_SPACING", default_value = "compact", value_parser = str::parse::<Separators>)]
    pub json_spacing: Separators,

    /// The letters of the JSON bodies' keys: `a-z` or `a-zA-Z` (as the study's Python client
    /// drew them).
    #[arg(long, env = "KEY_LETTERS", default_value = "a-z", value_parser = str::parse::<Alphabet>)]
    pub key_letters: Alphabet,

    /// Headers every request of every class carries, one `Name: value` per line (a token:
    /// `Authorization: Bearer …`); empty = none. The headers the client sets itself (Host,
    /// Connection, Content-Length, Content-Type, Transfer-Encoding, Expect, TE) are refused.
    /// Give a secret through the environment: the command line is recorded in run files.
    // `std::vec::Vec`: the whole text to the parser, which reads "" as "no headers".
    #[arg(long, env = "REQUEST_HEADERS", default_value = "", hide_default_value = true, value_parser = parse_request_headers)]
    pub request_headers: std::vec::Vec<RequestHeader>,

    /// Check each 2xx answer against the body sent: when the answer is JSON with `count` or
    /// `maxval` (as the lab's servers and the study's answer), a value other than the body's
    /// distinct-key count or largest value is a `wrong_answer` error. `false` accepts any 2xx.
    /// A class sending to /drain is never checked: that strategy (the floor) reads the body
    /// and counts nothing, answering 0 and 0.
    #[arg(long, env = "CHECK_ANSWERS", default_value_t = true, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub check_answers: bool,

    /// More classes, comma separated `name:size_mb:interval_s` (the study's prompt had
    /// `medium:5:0.5`); at most 32, names of letters, digits, '-', '_', '.' (64 at most).
    // Spelled `std::vec::Vec` so clap hands the whole list to the parser, which reads an
    // empty string (the default, or EXTRA_CLASSES= in a .env file) as "no extra classes".
    #[arg(long, env = "EXTRA_CLASSES", default_value = "", value_parser = parse_class_specs)]
    pub extra_classes: std::vec::Vec<ClassSpec>,

    /// `open`: fixed timetable, latency from the scheduled start; `closed`: the study's
    /// send-wait-sleep loop, latency from the send.
    #[arg(long, env = "SCHEDULE", value_enum, default_value = "open")]
    pub schedule: Schedule,

    /// Open schedule only: most requests of one class in flight at once. A request that
    /// cannot start before the next one is due is counted as skipped. 1 to 10000.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value = "64", value_parser = clap::value_parser!(u32).range(1..=MAX_IN_FLIGHT_LIMIT as i64))]
    pub max_in_flight: u32,

    /// Seconds the large class sends in each on/off cycle; 0 = always on.
    #[arg(long, env = "LARGE_ON", default_value = "0", value_parser = parse_seconds_or_zero)]
    pub large_on: Duration,

    /// Seconds the large class pauses in each on/off cycle.
    #[arg(long, env = "LARGE_OFF", default_value = "0", value_parser = parse_seconds_or_zero)]
    pub large_off: Duration,

    /// Seconds after which one request counts as a timeout error. Keep it below lab-server's
    /// CLIENT_REQUEST_TIMEOUT (default 60 s): a request stuck behind a blocked worker is then
    /// counted here, as client-side latency or a timeout, not answered 408 by the server.
    /// Above 0, at most 604800 (7 days).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30", value_parser = parse_interval)]
    pub request_timeout: Duration,

    /// Seconds to wait for requests in flight after scheduling stops (end or Ctrl-C).
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "10", value_parser = parse_seconds_or_zero)]
    pub drain_timeout: Duration,

    /// Most memory the pre-built bodies may take, in MB (10^6 bytes), 1 to 65536: every
    /// class's 3 bodies at their longest (built once, shared by every request, never copied
    /// per request) and what building them needs on top (8 bytes per pair while a JSON body's
    /// answer is worked out). A workload over it is refused before anything is built (exit
    /// code 2) with the figure; the study's workload takes about 90 MB.
    #[arg(long, env = "BODY_MEMORY_MB", default_value = "2048", value_parser = clap::value_parser!(u64).range(1..=MAX_BODY_MEMORY_MB))]
    pub body_memory_mb: u64,
}

/// When each request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// A fixed timetable per class, whatever the responses; latency counted from the
    /// scheduled start (no coordinated omission).
    Open,
    /// The study's loop per class: send, wait for the response, sleep the interval.
    Closed,
}

impl Schedule {
    /// The lower-case name used in CSVs, metrics labels and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Schedule::Open => "open",
            Schedule::Closed => "closed",
        }
    }
}

/// What the classes cannot be asked to do, found by [`WorkloadArgs::check`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorkloadError {
    /// An interval of 0 means back-to-back, which only a closed loop can do.
    #[error(
        "class `{class}` has interval 0 (back-to-back), which only SCHEDULE=closed can do; \
         an open schedule needs an interval > 0"
    )]
    BackToBackOnOpenSchedule {
        /// The class with interval 0.
        class: Class,
    },
    /// The classes' bodies together are more than [`MAX_TOTAL_SIZE_MB`].
    #[error(
        "the classes' bodies add up to {total_mb} MB; at most {MAX_TOTAL_SIZE_MB} MB together \
         are allowed (each is built {variants} times, in memory)",
        variants = VARIANTS_PER_CLASS
    )]
    TooMuchBody {
        /// The sum of every class's nominal size.
        total_mb: f64,
    },
    /// A GET or HEAD class with a body size: those methods send no body.
    #[error(
        "class `{class}` sends `{request}`, which carries no body; set its size to 0 \
         (e.g. SMALL_SIZE_MB=0) and give it no body file, or use POST"
    )]
    BodyOnBodylessMethod {
        /// The class.
        class: Class,
        /// Its request line.
        request: RequestLine,
    },
    /// The bodies would take more memory than BODY_MEMORY_MB allows.
    #[error(
        "the bodies would take {memory}; BODY_MEMORY_MB allows {limit_mb} MB: make the bodies \
         smaller or raise BODY_MEMORY_MB (the machine must have that much to spare)"
    )]
    BodiesOverMemory {
        /// What the bodies would take.
        memory: BodyMemory,
        /// BODY_MEMORY_MB.
        limit_mb: u64,
    },
}

impl WorkloadArgs {
    /// What clap cannot check one flag at a time: an open schedule needs every class's
    /// interval above zero (0 means "back-to-back", which only a closed loop can do), all
    /// classes' bodies together must stay within [`MAX_TOTAL_SIZE_MB`], and the memory they
    /// take ([`Self::body_memory`]) within BODY_MEMORY_MB.
    pub fn check(&self) -> Result<(), WorkloadError> {
        let specs = self.class_specs();
        if self.schedule == Schedule::Open
            && let Some(class) = specs.iter().find(|c| c.interval.is_zero())
        {
            return Err(WorkloadError::BackToBackOnOpenSchedule {
                class: class.class.clone(),
            });
        }
        if let Some(class) = specs
            .iter()
            .find(|c| c.size_mb > 0.0 && c.request.as_ref().is_some_and(|r| !r.method.sends_body()))
        {
            return Err(WorkloadError::BodyOnBodylessMethod {
                class: class.class.clone(),
                request: class.request.clone().expect("found by its request"),
            });
        }
        let total_mb: f64 = specs.iter().map(|c| c.size_mb).sum();
        if total_mb > MAX_TOTAL_SIZE_MB {
            return Err(WorkloadError::TooMuchBody { total_mb });
        }
        let memory = self.body_memory();
        if !memory.fits(self.body_memory_mb) {
            return Err(WorkloadError::BodiesOverMemory {
                memory,
                limit_mb: self.body_memory_mb,
            });
        }
        Ok(())
    }

    /// What the classes' pre-built bodies will take in memory (see [`BodyMemory`]).
    pub fn body_memory(&self) -> BodyMemory {
        BodyMemory::of(&self.class_specs(), self.check_answers, self.body_style())
    }

    /// Whether the large class runs: LARGE_SIZE_MB = 0 switches it off, unless LARGE_BODY_FILE
    /// gives its body or its request is a GET or HEAD (which carries no body, so its size is 0 anyway: a large download).
    pub fn has_large(&self) -> bool {
        self.large_size_mb > 0.0
            || self.large_body_file.is_some()
            || self
                .large_request
                .as_ref()
                .is_some_and(|request| !request.method.sends_body())
    }

    /// How the JSON bodies are spelled (JSON_SPACING, KEY_LETTERS).
    pub fn body_style(&self) -> BodyStyle {
        BodyStyle {
            separators: self.json_spacing,
            alphabet: self.key_letters,
        }
    }

    /// All classes of this run in order: small, large (unless LARGE_SIZE_MB = 0), then the
    /// extra ones.
    pub fn class_specs(&self) -> Vec<ClassSpec> {
        let size_mb = |file: &Option<BodyFile>, nominal: f64| {
            file.as_ref().map_or(nominal, BodyFile::size_mb)
        };
        let mut specs = vec![ClassSpec {
            class: Class::Small,
            size_mb: size_mb(&self.small_body_file, self.small_size_mb),
            interval: self.small_interval,
            request: self.small_request.clone(),
            body: self.small_body,
            file: self.small_body_file.clone(),
            content_type: self.small_content_type.clone(),
        }];
        if self.has_large() {
            specs.push(ClassSpec {
                class: Class::Large,
                size_mb: size_mb(&self.large_body_file, self.large_size_mb),
                interval: self.large_interval,
                request: self.large_request.clone(),
                body: self.large_body,
                file: self.large_body_file.clone(),
                content_type: self.large_content_type.clone(),
            });
        }
        specs.extend(self.extra_classes.iter().cloned());
        specs
    }
}

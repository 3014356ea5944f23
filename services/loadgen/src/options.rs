//! The command line: every option is a flag with an environment-variable twin and a default.
//!
//! `lab-loadgen` with no subcommand runs the workload described by [`RunOptions`];
//! `lab-loadgen matrix …` runs a matrix of scenarios (see [`crate::matrix`]). Bad values are
//! rejected by clap's value parsers here, so the user gets clap's message and exit code 2
//! before anything starts; what needs two options at once ([`RunOptions::check`]) exits 2
//! the same way. No value, however odd (`NaN`, `inf`, `-1`, `1e20`), reaches the run.
//!
//! What is allowed, and why:
//! - Seconds (DURATION, intervals, LARGE_ON/LARGE_OFF, timeouts): a decimal number from 0 to
//!   [`MAX_SECONDS`] (7 days); a non-zero one is at least [`MIN_SECONDS`] (1 µs): below it
//!   is refused rather than rounded to 0, which would mean "until stopped" or
//!   "back-to-back". Intervals and timeouts must be above 0.
//! - Sizes: 0 to [`MAX_SIZE_MB`] MB per class, [`MAX_TOTAL_SIZE_MB`] MB for all classes
//!   together (every body is built [`crate::workload::VARIANTS_PER_CLASS`] times, in memory).
//! - MAX_IN_FLIGHT: 1 to [`MAX_IN_FLIGHT_LIMIT`]; EXTRA_CLASSES: at most
//!   [`MAX_EXTRA_CLASSES`] classes, names of at most [`MAX_NAME_LEN`] characters.
//! - TARGET_URL: `http://host[:port]` with no path, query, fragment or user name (the path
//!   is ENDPOINT's); ENDPOINT: a path on that host (see [`parse_endpoint`]).

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum, builder::BoolishValueParser};
use reqwest::Url;
use serde::{Deserialize, Serialize};

/// The whole command line.
#[derive(Debug, Parser)]
#[command(
    name = "lab-loadgen",
    version,
    args_override_self = true,
    about = "The study's mixed small/large JSON workload against lab-server, measured from the client side.",
    long_about = "The study's mixed small/large JSON workload against lab-server, measured from the client side.\n\n\
Each class (small, large, and any EXTRA_CLASSES) sends study-shaped bodies on its own schedule; \
LARGE_SIZE_MB=0 leaves the large class out (small requests only: an unloaded baseline). \
Latency is counted from each request's scheduled start (SCHEDULE=open), so a stalled server is not \
under-reported. Every request is written to RESULTS_DIR/<run-id>/requests.csv as the run goes; \
per-class statistics go to summary.csv and are printed at the end (as JSON with --json). \
Ctrl-C or SIGTERM stops scheduling, waits up to DRAIN_TIMEOUT for requests in flight, and still \
writes the summary.\n\n\
Seconds are decimal numbers from 0 to 604800 (7 days), 0.000001 (1 µs) at least when not 0; sizes are 0 to 1024 MB \
per class and 2048 MB for all classes together.\n\n\
Exit codes: 0 = the run ended and at least one request succeeded (others may have failed; \
interrupted or not), or no request was sent at all (stopped before the first was due); \
1 = the run could not be set up or its files written (e.g. METRICS_BIND already in use, \
RESULTS_DIR not writable; nothing is left behind when the metrics address cannot be bound); \
2 = a bad option or value, or options that do not go together (clap's usage error); \
3 = requests were sent and none succeeded (every one an error, e.g. no server at TARGET_URL): \
requests.csv and summary.csv are still written, and the report is printed as usual."
)]
pub struct Cli {
    /// Run something other than the plain workload.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// The workload (used when no subcommand is given).
    #[command(flatten)]
    pub run: RunOptions,
}

/// Subcommands of `lab-loadgen`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a matrix of scenarios (workers × endpoint × connection mode …) and compare them.
    Matrix(crate::matrix::MatrixOptions),
}

/// How each request gets its TCP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Connection {
    /// A fresh TCP connection for every request, closed after the response (the study's
    /// client did this by building a new HTTP client per call).
    New,
    /// Pooled connections, reused between requests of the same class (HTTP keep-alive).
    Keepalive,
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

/// How keep-alive connections are pooled between classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pool {
    /// Each class has its own client and connection pool: a small request only ever rides a
    /// connection another small request used.
    #[default]
    PerClass,
    /// All classes share one client and pool, as a proxy or an app server talking to its
    /// backend does: a small request may take the connection a large upload just used.
    Shared,
}

impl Pool {
    /// The name used in the table, the JSON report and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::PerClass => "per-class",
            Pool::Shared => "shared",
        }
    }
}

impl Connection {
    /// The lower-case name used in CSVs, metrics labels and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Connection::New => "new",
            Connection::Keepalive => "keepalive",
        }
    }
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

/// One request class from `EXTRA_CLASSES`: `name:size_mb:interval_s`.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassSpec {
    /// Class name: in the body's `name`, the request id, CSV rows and metric labels.
    pub name: String,
    /// Nominal body size in MB (about 50,000 pairs per MB).
    pub size_mb: f64,
    /// Time between two scheduled starts (open) or between a response and the next send (closed).
    pub interval: Duration,
}

/// Options of one run of the workload.
#[derive(Debug, Clone, Args)]
pub struct RunOptions {
    /// Base URL of lab-server: `http://host[:port]`, no path (ENDPOINT is the path), query or
    /// user name. Every request goes to this host and port.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:8000", value_parser = parse_target_url)]
    pub target_url: Url,

    /// Path every class posts to: /ping, /pong, /offload or /lean. A path on TARGET_URL's
    /// host only: one leading `/`, no scheme, host, query, spaces or control characters.
    #[arg(long, env = "ENDPOINT", default_value = "/ping", value_parser = parse_endpoint)]
    pub endpoint: String,

    /// How long to schedule requests, in seconds (at most 604800 = 7 days); 0 = until Ctrl-C /
    /// SIGTERM.
    #[arg(long, env = "DURATION", default_value = "60", value_parser = parse_seconds_or_zero)]
    pub duration: Duration,

    /// Body size of the small class in MB (0.001 MB ≈ 50 pairs), 0 to 1024.
    #[arg(long, env = "SMALL_SIZE_MB", default_value = "0.001", value_parser = parse_size_mb)]
    pub small_size_mb: f64,

    /// Seconds between two small requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "SMALL_INTERVAL", default_value = "0.1", value_parser = parse_seconds_or_zero)]
    pub small_interval: Duration,

    /// Body size of the large class in MB, at most 1024; 0 = no large class: only the small class (and any
    /// EXTRA_CLASSES) runs, and no large row appears in the table, summary.csv or requests.csv
    /// (an unloaded baseline).
    #[arg(long, env = "LARGE_SIZE_MB", default_value = "25", value_parser = parse_size_mb)]
    pub large_size_mb: f64,

    /// Seconds between two large requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "LARGE_INTERVAL", default_value = "1.0", value_parser = parse_seconds_or_zero)]
    pub large_interval: Duration,

    /// More classes, comma separated `name:size_mb:interval_s` (the study's prompt had
    /// `medium:5:0.5`); at most 32, names of letters, digits, '-', '_', '.' (64 at most).
    // Spelled `std::vec::Vec` so clap hands the whole list to the parser, which reads an
    // empty string (the default, or EXTRA_CLASSES= in a .env file) as "no extra classes".
    #[arg(long, env = "EXTRA_CLASSES", default_value = "", value_parser = parse_class_specs)]
    pub extra_classes: std::vec::Vec<ClassSpec>,

    /// `new`: one fresh TCP connection per request (like the study's client); `keepalive`:
    /// pooled connections reused by each class.
    #[arg(long, env = "CONNECTION", value_enum, default_value = "new")]
    pub connection: Connection,

    /// CONNECTION=keepalive: `per-class`: each class has its own connection pool; `shared`:
    /// all classes share one, as a proxy or an app server talking to a backend would. A
    /// connection stays on the server worker that accepted it, so with `per-class` the small
    /// and large pools' connections may sit on different workers by accident of connection
    /// order; with `shared` small requests also ride connections large uploads use. No effect
    /// with CONNECTION=new (nothing is reused).
    #[arg(long, env = "POOL", value_enum, default_value = "per-class")]
    pub pool: Pool,

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

    /// Address to serve this client's Prometheus /metrics on, e.g. 0.0.0.0:9100; empty = off.
    /// It is bound before anything else: if it cannot be (port in use, address not on this
    /// machine) the run stops with exit code 1 and creates no run directory.
    // Spelled `std::option::Option` so clap hands the whole value to the parser, which reads
    // an empty string (the default) as "off".
    #[arg(long, env = "METRICS_BIND", default_value = "", value_parser = parse_optional_addr)]
    pub metrics_bind: std::option::Option<SocketAddr>,

    /// Directory that receives one sub-directory per run (must not be empty).
    #[arg(long, env = "RESULTS_DIR", default_value = "./results", value_parser = parse_path)]
    pub results_dir: PathBuf,

    /// Name of this run's sub-directory (letters, digits, '-', '_', '.'; 128 at most); default:
    /// a timestamp plus endpoint, connection and schedule.
    // `std::option::Option` for the same reason: an empty RUN_ID means "the default".
    #[arg(long, env = "RUN_ID", default_value = "", hide_default_value = true, value_parser = parse_run_id)]
    pub run_id: std::option::Option<String>,

    /// Seconds after which one request counts as a timeout error. Keep it below lab-server's
    /// CLIENT_REQUEST_TIMEOUT (default 60 s): a request stuck behind a blocked worker is then
    /// counted here, as client-side latency or a timeout, not answered 408 by the server.
    /// Above 0, at most 604800 (7 days).
    #[arg(long, env = "REQUEST_TIMEOUT", default_value = "30", value_parser = parse_interval)]
    pub request_timeout: Duration,

    /// Seconds to wait for requests in flight after scheduling stops (end or Ctrl-C).
    #[arg(long, env = "DRAIN_TIMEOUT", default_value = "10", value_parser = parse_seconds_or_zero)]
    pub drain_timeout: Duration,

    /// Print the final report as JSON on stdout instead of the table.
    #[arg(long, env = "JSON", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub json: bool,

    /// No progress line and no start-up log; the final report is still printed.
    #[arg(long, env = "QUIET", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub quiet: bool,
}

impl RunOptions {
    /// Options parsed from `args` only (environment variables still apply, as on the command
    /// line): `RunOptions::from_args(["--duration", "2"])`. A flag given twice: the last wins.
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        #[derive(Parser)]
        #[command(args_override_self = true)]
        struct Only {
            #[command(flatten)]
            run: RunOptions,
        }
        let args = std::iter::once(std::ffi::OsString::from("lab-loadgen"))
            .chain(args.into_iter().map(Into::into));
        let options = Only::try_parse_from(args)?.run;
        options.check().map_err(|message| {
            <Only as clap::CommandFactory>::command()
                .error(clap::error::ErrorKind::ArgumentConflict, message)
        })?;
        Ok(options)
    }

    /// What clap cannot check one flag at a time: an open schedule needs every class's
    /// interval above zero (0 means "back-to-back", which only a closed loop can do), and all
    /// classes' bodies together must stay within [`MAX_TOTAL_SIZE_MB`]. ENDPOINT is checked
    /// again for callers that set it without parsing (the matrix).
    pub fn check(&self) -> Result<(), String> {
        parse_endpoint(&self.endpoint)?;
        let specs = self.class_specs();
        if self.schedule == Schedule::Open
            && let Some(class) = specs.iter().find(|c| c.interval.is_zero())
        {
            return Err(format!(
                "class `{}` has interval 0 (back-to-back), which only SCHEDULE=closed can do; \
                 an open schedule needs an interval > 0",
                class.name
            ));
        }
        let total_mb: f64 = specs.iter().map(|c| c.size_mb).sum();
        if total_mb > MAX_TOTAL_SIZE_MB {
            return Err(format!(
                "the classes' bodies add up to {total_mb} MB; at most {MAX_TOTAL_SIZE_MB} MB \
                 together are allowed (each is built {} times, in memory)",
                crate::workload::VARIANTS_PER_CLASS
            ));
        }
        Ok(())
    }

    /// Whether the large class runs: LARGE_SIZE_MB = 0 switches it off.
    pub fn has_large(&self) -> bool {
        self.large_size_mb > 0.0
    }

    /// All classes of this run in order: small, large (unless LARGE_SIZE_MB = 0), then the
    /// extra ones.
    pub fn class_specs(&self) -> Vec<ClassSpec> {
        let mut specs = vec![ClassSpec {
            name: SMALL.to_string(),
            size_mb: self.small_size_mb,
            interval: self.small_interval,
        }];
        if self.has_large() {
            specs.push(ClassSpec {
                name: LARGE.to_string(),
                size_mb: self.large_size_mb,
                interval: self.large_interval,
            });
        }
        specs.extend(self.extra_classes.iter().cloned());
        specs
    }
}

/// Name of the small class.
pub const SMALL: &str = "small";
/// Name of the large class (the one the LARGE_ON/LARGE_OFF cycle switches).
pub const LARGE: &str = "large";

/// Longest time any option accepts, in seconds: 7 days. Far beyond any run of this lab, and
/// far below what `Duration` arithmetic (run start + DURATION, a timetable slot) can overflow.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;
/// Smallest non-zero time any option accepts, in seconds: 1 µs. A non-zero value below it is
/// refused: rounded to 0 it would silently mean "until stopped" (DURATION) or "back-to-back"
/// (intervals).
pub const MIN_SECONDS: f64 = 0.000_001;
/// Largest nominal body of one class, in MB (1 GiB). Each body is built
/// [`crate::workload::VARIANTS_PER_CLASS`] times before the clock starts, so this is already
/// 3 GiB of memory for one class.
pub const MAX_SIZE_MB: f64 = 1024.0;
/// Largest sum of every class's nominal body size, in MB: a large class at [`MAX_SIZE_MB`]
/// plus room for more, about 6 GiB of pre-built bodies at most.
pub const MAX_TOTAL_SIZE_MB: f64 = 2048.0;
/// Largest MAX_IN_FLIGHT: each request in flight holds a task and (CONNECTION=new) a socket;
/// ten thousand per class is beyond a usual file-descriptor limit already.
pub const MAX_IN_FLIGHT_LIMIT: u32 = 10_000;
/// Most classes EXTRA_CLASSES may add (each gets its own scheduler, client and bodies).
pub const MAX_EXTRA_CLASSES: usize = 32;
/// Longest class name (it appears in every request id, CSV row and metric label).
pub const MAX_NAME_LEN: usize = 64;
/// Longest RUN_ID (a directory name; file systems allow 255 bytes).
pub const MAX_RUN_ID_LEN: usize = 128;
/// Longest ENDPOINT.
pub const MAX_ENDPOINT_LEN: usize = 1024;

/// What a number of seconds may be, for error messages.
const SECONDS_RANGE: &str = "from 0.000001 to 604800 (7 days)";

/// Seconds: a finite decimal number in `0..=MAX_SECONDS`, 0 only if `allow_zero`, otherwise at
/// least [`MIN_SECONDS`].
fn parse_seconds(text: &str, allow_zero: bool) -> Result<Duration, String> {
    let allowed = if allow_zero {
        format!("use 0 or a number of seconds {SECONDS_RANGE}")
    } else {
        format!("it must be more than 0 seconds: a number {SECONDS_RANGE}")
    };
    let Ok(seconds) = text.trim().parse::<f64>() else {
        return Err(format!("`{text}` is not a number of seconds; {allowed}"));
    };
    let problem = if !seconds.is_finite() {
        "is not a finite number"
    } else if seconds < 0.0 {
        "is negative"
    } else if seconds > MAX_SECONDS {
        "is too long"
    } else if seconds == 0.0 && !allow_zero {
        "is 0"
    } else if seconds > 0.0 && seconds < MIN_SECONDS {
        "is below 1 µs, the smallest time above 0"
    } else {
        return Ok(Duration::from_secs_f64(seconds));
    };
    Err(format!("`{text}` {problem}; {allowed}"))
}

/// Seconds `>= 0` (0 has a meaning: "until stopped", "back-to-back" or "off"), at most
/// [`MAX_SECONDS`].
pub fn parse_seconds_or_zero(text: &str) -> Result<Duration, String> {
    parse_seconds(text, true)
}

/// Seconds `> 0`, at most [`MAX_SECONDS`]: intervals and timeouts.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    parse_seconds(text, false)
}

/// Body size in MB: a finite number from 0 to [`MAX_SIZE_MB`].
pub fn parse_size_mb(text: &str) -> Result<f64, String> {
    let allowed = "use a size in MB from 0 to 1024";
    let Ok(size) = text.trim().parse::<f64>() else {
        return Err(format!("`{text}` is not a size in MB; {allowed}"));
    };
    if !size.is_finite() || !(0.0..=MAX_SIZE_MB).contains(&size) {
        return Err(format!("`{text}` is out of range; {allowed}"));
    }
    // -0 is 0.
    Ok(size.abs())
}

/// Whether `c` may appear in ENDPOINT: RFC 3986's path characters (unreserved, sub-delims,
/// `:`, `@`, `%` for escapes, `/`). No `?` or `#` (the path is all ENDPOINT gives), no `\`
/// (URL parsers read it as `/`, so `/\host` would be `//host`), no space or control character.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%/".contains(c)
}

/// Whether some `%` in `text` is not followed by two hex digits.
fn has_bad_escape(text: &str) -> bool {
    text.split('%').skip(1).any(|escape| {
        let digits = escape.as_bytes().get(..2).unwrap_or_default();
        digits.len() < 2 || !digits.iter().all(u8::is_ascii_hexdigit)
    })
}

/// ENDPOINT: a path on TARGET_URL's host, e.g. `/ping`. It starts with exactly one `/`
/// (`//host/x` would name another host), holds only path characters (see `is_path_char`)
/// with well-formed `%XX` escapes, and is at most [`MAX_ENDPOINT_LEN`] long. The URL each
/// request goes to is TARGET_URL's scheme, host and port with this path.
pub fn parse_endpoint(text: &str) -> Result<String, String> {
    let allowed = "ENDPOINT must be a path on TARGET_URL's host, e.g. /ping: one leading /, then \
                   letters, digits and - . _ ~ ! $ & ' ( ) * + , ; = : @ % / only (no scheme, host, \
                   query, spaces or control characters)";
    let shown = text.escape_debug();
    let problem = if !text.starts_with('/') {
        "does not start with /".to_string()
    } else if text.starts_with("//") {
        "starts with //, which names another host".to_string()
    } else if text.len() > MAX_ENDPOINT_LEN {
        format!("is longer than {MAX_ENDPOINT_LEN} characters")
    } else if let Some(c) = text.chars().find(|&c| !is_path_char(c)) {
        format!("contains {c:?}")
    } else if has_bad_escape(text) {
        "has a % that is not followed by two hex digits".to_string()
    } else {
        return Ok(text.to_string());
    };
    Err(format!("`{shown}` {problem}; {allowed}"))
}

/// TARGET_URL: `http://host[:port]`, optionally with a trailing `/`. Only http (this client is
/// built without TLS); no user name or password; no path, query or fragment, since ENDPOINT
/// is the path and anything else would be silently dropped; not port 0.
pub fn parse_target_url(text: &str) -> Result<Url, String> {
    let allowed = "TARGET_URL must look like http://host:port (e.g. http://localhost:8000)";
    let url = Url::parse(text.trim()).map_err(|error| format!("`{text}`: {error}; {allowed}"))?;
    let problem = if url.scheme() != "http" {
        format!(
            "has scheme `{}`, but only http is supported (this client has no TLS)",
            url.scheme()
        )
    } else if url.host().is_none() {
        "has no host".to_string()
    } else if url.port() == Some(0) {
        "has port 0, which cannot be connected to".to_string()
    } else if !url.username().is_empty() || url.password().is_some() {
        "has a user name or password".to_string()
    } else if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        "has a path, query or fragment (ENDPOINT gives the path)".to_string()
    } else {
        return Ok(url);
    };
    Err(format!("`{text}` {problem}; {allowed}"))
}

/// A file or directory path: anything but empty (an empty environment variable reaches the
/// parser as an empty value).
pub fn parse_path(text: &str) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("an empty path names no file or directory".to_string());
    }
    Ok(PathBuf::from(text))
}

/// An address like `0.0.0.0:9100`, or empty for "off".
fn parse_optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim().parse().map(Some).map_err(|_| {
        format!(
            "`{text}` is not an address like 0.0.0.0:9100 (an IP address and a port; or empty \
             for off)"
        )
    })
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn parse_run_id(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('.') || text.len() > MAX_RUN_ID_LEN || !text.chars().all(is_name_char) {
        return Err(format!(
            "`{text}` must be letters, digits, '-', '_' or '.', not starting with '.', at most \
             {MAX_RUN_ID_LEN} characters (it names a directory)"
        ));
    }
    Ok(Some(text.to_string()))
}

/// Parses a comma-separated list of `name:size_mb:interval_s`; empty = none. At most
/// [`MAX_EXTRA_CLASSES`] classes, each name once.
pub fn parse_class_specs(text: &str) -> Result<Vec<ClassSpec>, String> {
    let specs: Vec<ClassSpec> = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(parse_class_spec)
        .collect::<Result<_, _>>()?;
    if specs.len() > MAX_EXTRA_CLASSES {
        return Err(format!(
            "{} classes given; at most {MAX_EXTRA_CLASSES} are allowed",
            specs.len()
        ));
    }
    for (index, spec) in specs.iter().enumerate() {
        if specs[..index].iter().any(|other| other.name == spec.name) {
            return Err(format!("class `{}` appears twice", spec.name));
        }
    }
    Ok(specs)
}

/// Parses `name:size_mb:interval_s`, e.g. `medium:5:0.5`: a name of letters, digits, `-`, `_`
/// and `.` (at most [`MAX_NAME_LEN`]), a size as for SMALL_SIZE_MB, an interval as for
/// SMALL_INTERVAL (0 = back-to-back, SCHEDULE=closed only).
pub fn parse_class_spec(text: &str) -> Result<ClassSpec, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let [name, size, interval] = parts[..] else {
        return Err(format!(
            "`{text}` must be name:size_mb:interval_s, e.g. medium:5:0.5"
        ));
    };
    if name.is_empty() || name.len() > MAX_NAME_LEN || !name.chars().all(is_name_char) {
        return Err(format!(
            "class name `{name}` must be 1 to {MAX_NAME_LEN} letters, digits, '-', '_' or '.'"
        ));
    }
    if name == SMALL || name == LARGE {
        return Err(format!(
            "class `{name}` already exists; set it with its own options"
        ));
    }
    Ok(ClassSpec {
        name: name.to_string(),
        size_mb: parse_size_mb(size).map_err(|error| format!("class `{name}` size: {error}"))?,
        interval: parse_seconds_or_zero(interval)
            .map_err(|error| format!("class `{name}` interval: {error}"))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_study_workload() {
        let options = RunOptions::from_args(Vec::<String>::new()).unwrap();
        let specs = options.class_specs();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].name, "small");
        assert_eq!(specs[0].size_mb, 0.001);
        assert_eq!(specs[0].interval, Duration::from_millis(100));
        assert_eq!(specs[1].name, "large");
        assert_eq!(specs[1].size_mb, 25.0);
        assert_eq!(specs[1].interval, Duration::from_secs(1));
        assert_eq!(options.schedule, Schedule::Open);
        assert_eq!(options.connection, Connection::New);
        assert_eq!(options.pool, Pool::PerClass);
        assert_eq!(
            RunOptions::from_args(["--pool", "shared"]).unwrap().pool,
            Pool::Shared
        );
        assert_eq!(options.metrics_bind, None);
    }

    #[test]
    fn zero_large_size_means_no_large_class() {
        let options =
            RunOptions::from_args(["--large-size-mb", "0", "--extra-classes", "medium:5:0.5"])
                .unwrap();
        assert!(!options.has_large());
        let names: Vec<_> = options.class_specs().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["small", "medium"]);
        // Without a large class its interval is not checked: 0 on an open schedule is fine.
        assert!(RunOptions::from_args(["--large-size-mb", "0", "--large-interval", "0"]).is_ok());
    }

    #[test]
    fn extra_classes_are_comma_separated() {
        let options = RunOptions::from_args(["--extra-classes", "medium:5:0.5,tiny:0:2"]).unwrap();
        let specs = options.class_specs();
        assert_eq!(specs.len(), 4);
        assert_eq!(
            specs[2],
            ClassSpec {
                name: "medium".into(),
                size_mb: 5.0,
                interval: Duration::from_millis(500)
            }
        );
        assert_eq!(specs[3].name, "tiny");
    }

    #[test]
    fn bad_values_are_rejected_with_a_reason() {
        for args in [
            vec!["--extra-classes", "medium:5"],
            vec!["--extra-classes", "small:1:1"],
            vec!["--small-interval", "0"],
            vec!["--small-interval", "-0.1"],
            vec!["--extra-classes", "medium:5:0"],
            vec!["--duration", "-1"],
            vec!["--endpoint", "ping"],
            vec!["--connection", "sometimes"],
            vec!["--metrics-bind", "nowhere"],
            vec!["--max-in-flight", "0"],
            vec!["--run-id", "../escape"],
            vec!["--large-size-mb", "NaN"],
            vec!["--duration", "1e20"],
            vec!["--duration", "inf"],
            vec!["--duration", "1e-9"],
            vec!["--duration", "604800.5"],
            vec!["--small-interval", "1e300"],
            vec!["--large-interval", "NaN"],
            vec!["--large-on", "1e20"],
            vec!["--large-off", "-1"],
            vec!["--request-timeout", "1e20"],
            vec!["--drain-timeout", "inf"],
            vec!["--small-size-mb", "1024.5"],
            vec!["--large-size-mb", "-1"],
            vec!["--extra-classes", "medium:1e9:1"],
            vec!["--extra-classes", "medium:1:1e20"],
            vec!["--extra-classes", "m:1024:1", "--large-size-mb", "1024"],
            vec!["--max-in-flight", "10001"],
            vec!["--target-url", "https://localhost:8000"],
            vec!["--target-url", "http://localhost:8000/api"],
            vec!["--target-url", "http://localhost:0"],
            vec!["--target-url", "http://user@localhost:8000"],
            vec!["--target-url", "localhost:8000"],
            vec!["--endpoint", "//other-host/x"],
            vec!["--results-dir", ""],
        ] {
            let error = RunOptions::from_args(args.clone()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }

    /// The bounds themselves are allowed: 7 days, 1 µs, 1024 MB, 10000 in flight.
    #[test]
    fn the_bounds_themselves_are_allowed() {
        let options = RunOptions::from_args([
            "--duration",
            "604800",
            "--large-interval",
            "0.000001",
            "--large-size-mb",
            "1024",
            "--max-in-flight",
            "10000",
            "--request-timeout",
            "604800",
            "--drain-timeout",
            "0",
            "--target-url",
            "http://127.0.0.1:8000/",
        ])
        .unwrap();
        assert_eq!(options.duration, Duration::from_secs(604_800));
        assert_eq!(options.large_interval, Duration::from_micros(1));
        assert_eq!(options.large_size_mb, 1024.0);
        assert_eq!(options.max_in_flight, 10_000);
        let names: String = (0..MAX_EXTRA_CLASSES)
            .map(|i| format!("c{i}:0:1,"))
            .collect();
        assert_eq!(parse_class_specs(&names).unwrap().len(), MAX_EXTRA_CLASSES);
        assert!(parse_class_specs(&format!("{names}one-more:0:1")).is_err());
    }

    /// ENDPOINT is a path on TARGET_URL's host: never a host of its own, a scheme, a query,
    /// a space, a backslash or a control character.
    #[test]
    fn endpoint_is_a_path_on_the_target_host() {
        for good in ["/ping", "/offload", "/a/b-c_d.e~f", "/a%20b", "/"] {
            assert_eq!(parse_endpoint(good).unwrap(), good);
        }
        for bad in [
            "ping",
            "//other-host/x",
            "///x",
            "http://x/y",
            "/a b",
            "/a\tb",
            "/\\other-host/x",
            "/ping?x=1",
            "/ping#top",
            "/a\u{7f}",
            "/caf\u{e9}",
            "/a%2",
            "/a%zz",
            "",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad:?}");
        }
        let target: Url = "http://127.0.0.1:8000".parse().unwrap();
        let url = target.join(&parse_endpoint("/a%20b").unwrap()).unwrap();
        assert_eq!(url.origin(), target.origin());
    }

    #[test]
    fn empty_extra_classes_and_run_id_mean_none() {
        let options = RunOptions::from_args(["--extra-classes=", "--run-id="]).unwrap();
        assert!(options.extra_classes.is_empty());
        assert_eq!(options.run_id, None);
        assert!(RunOptions::from_args(["--extra-classes", "a:1:1,a:2:2"]).is_err());
    }

    #[test]
    fn zero_interval_is_back_to_back_for_a_closed_loop_only() {
        let closed =
            RunOptions::from_args(["--schedule", "closed", "--small-interval", "0"]).unwrap();
        assert_eq!(closed.small_interval, Duration::ZERO);
    }

    #[test]
    fn empty_metrics_bind_is_off_and_an_address_is_on() {
        let on = RunOptions::from_args(["--metrics-bind", "127.0.0.1:9100"]).unwrap();
        assert_eq!(on.metrics_bind, Some("127.0.0.1:9100".parse().unwrap()));
        let off = RunOptions::from_args(["--metrics-bind="]).unwrap();
        assert_eq!(off.metrics_bind, None);
    }
}

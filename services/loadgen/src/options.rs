//! The command line: every option is a flag with an environment-variable twin and a default.
//!
//! `lab-loadgen` with no subcommand runs the workload described by [`RunOptions`];
//! `lab-loadgen matrix …` runs a matrix of scenarios (see [`crate::matrix`]). Bad values are
//! rejected by clap's value parsers here, so the user gets clap's message and exit code 2
//! before anything starts.

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
writes the summary."
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
    /// Base URL of lab-server.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:8000")]
    pub target_url: Url,

    /// Path every class posts to: /ping, /pong, /offload or /lean.
    #[arg(long, env = "ENDPOINT", default_value = "/ping", value_parser = parse_endpoint)]
    pub endpoint: String,

    /// How long to schedule requests, in seconds; 0 = until Ctrl-C / SIGTERM.
    #[arg(long, env = "DURATION", default_value = "60", value_parser = parse_seconds_or_zero)]
    pub duration: Duration,

    /// Body size of the small class in MB (0.001 MB ≈ 50 pairs).
    #[arg(long, env = "SMALL_SIZE_MB", default_value = "0.001", value_parser = parse_size_mb)]
    pub small_size_mb: f64,

    /// Seconds between two small requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "SMALL_INTERVAL", default_value = "0.1", value_parser = parse_seconds_or_zero)]
    pub small_interval: Duration,

    /// Body size of the large class in MB; 0 = no large class: only the small class (and any
    /// EXTRA_CLASSES) runs, and no large row appears in the table, summary.csv or requests.csv
    /// (an unloaded baseline).
    #[arg(long, env = "LARGE_SIZE_MB", default_value = "25", value_parser = parse_size_mb)]
    pub large_size_mb: f64,

    /// Seconds between two large requests (0 = back-to-back, SCHEDULE=closed only).
    #[arg(long, env = "LARGE_INTERVAL", default_value = "1.0", value_parser = parse_seconds_or_zero)]
    pub large_interval: Duration,

    /// More classes, comma separated `name:size_mb:interval_s` (the study's prompt had
    /// `medium:5:0.5`).
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
    /// cannot start before the next one is due is counted as skipped.
    #[arg(long, env = "MAX_IN_FLIGHT", default_value = "64", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_in_flight: u32,

    /// Seconds the large class sends in each on/off cycle; 0 = always on.
    #[arg(long, env = "LARGE_ON", default_value = "0", value_parser = parse_seconds_or_zero)]
    pub large_on: Duration,

    /// Seconds the large class pauses in each on/off cycle.
    #[arg(long, env = "LARGE_OFF", default_value = "0", value_parser = parse_seconds_or_zero)]
    pub large_off: Duration,

    /// Address to serve this client's Prometheus /metrics on, e.g. 0.0.0.0:9100; empty = off.
    // Spelled `std::option::Option` so clap hands the whole value to the parser, which reads
    // an empty string (the default) as "off".
    #[arg(long, env = "METRICS_BIND", default_value = "", value_parser = parse_optional_addr)]
    pub metrics_bind: std::option::Option<SocketAddr>,

    /// Directory that receives one sub-directory per run.
    #[arg(long, env = "RESULTS_DIR", default_value = "./results")]
    pub results_dir: PathBuf,

    /// Name of this run's sub-directory; default: a timestamp plus endpoint, connection and schedule.
    // `std::option::Option` for the same reason: an empty RUN_ID means "the default".
    #[arg(long, env = "RUN_ID", default_value = "", hide_default_value = true, value_parser = parse_run_id)]
    pub run_id: std::option::Option<String>,

    /// Seconds after which one request counts as a timeout error. Keep it below lab-server's
    /// CLIENT_REQUEST_TIMEOUT (default 60 s): a request stuck behind a blocked worker is then
    /// counted here, as client-side latency or a timeout, not answered 408 by the server.
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
    /// interval above zero (0 means "back-to-back", which only a closed loop can do).
    pub fn check(&self) -> Result<(), String> {
        if self.schedule == Schedule::Open
            && let Some(class) = self.class_specs().iter().find(|c| c.interval.is_zero())
        {
            return Err(format!(
                "class `{}` has interval 0 (back-to-back), which only SCHEDULE=closed can do; \
                 an open schedule needs an interval > 0",
                class.name
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

fn parse_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!("`{text}` must be a finite number of seconds >= 0"));
    }
    Ok(seconds)
}

/// Seconds `>= 0` (0 has a meaning: "until stopped" or "off").
pub fn parse_seconds_or_zero(text: &str) -> Result<Duration, String> {
    parse_seconds(text).map(Duration::from_secs_f64)
}

/// Seconds `> 0`: intervals and timeouts.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds = parse_seconds(text)?;
    if seconds < 0.000_001 {
        return Err(format!("`{text}` must be more than 0 seconds"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Body size in MB: `>= 0` and at most 1 GB.
pub fn parse_size_mb(text: &str) -> Result<f64, String> {
    let size: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a size in MB"))?;
    if !size.is_finite() || !(0.0..=1024.0).contains(&size) {
        return Err(format!("`{text}` must be a size between 0 and 1024 MB"));
    }
    Ok(size)
}

fn parse_endpoint(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "`{text}` must be a path starting with /, e.g. /ping"
        ));
    }
    Ok(text.to_string())
}

/// An address like `0.0.0.0:9100`, or empty for "off".
fn parse_optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.trim()
        .parse()
        .map(Some)
        .map_err(|_| format!("`{text}` is not an address like 0.0.0.0:9100 (or empty for off)"))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

fn parse_run_id(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with('.') || !text.chars().all(is_name_char) {
        return Err(format!(
            "`{text}` must be letters, digits, '-', '_' or '.' (it names a directory)"
        ));
    }
    Ok(Some(text.to_string()))
}

/// Parses a comma-separated list of `name:size_mb:interval_s`; empty = none.
pub fn parse_class_specs(text: &str) -> Result<Vec<ClassSpec>, String> {
    let specs: Vec<ClassSpec> = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(parse_class_spec)
        .collect::<Result<_, _>>()?;
    for (index, spec) in specs.iter().enumerate() {
        if specs[..index].iter().any(|other| other.name == spec.name) {
            return Err(format!("class `{}` appears twice", spec.name));
        }
    }
    Ok(specs)
}

/// Parses `name:size_mb:interval_s`, e.g. `medium:5:0.5`.
pub fn parse_class_spec(text: &str) -> Result<ClassSpec, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    let [name, size, interval] = parts[..] else {
        return Err(format!(
            "`{text}` must be name:size_mb:interval_s, e.g. medium:5:0.5"
        ));
    };
    if name.is_empty() || !name.chars().all(is_name_char) {
        return Err(format!(
            "class name `{name}` must be letters, digits, '-', '_' or '.'"
        ));
    }
    if name == SMALL || name == LARGE {
        return Err(format!(
            "class `{name}` already exists; set it with its own options"
        ));
    }
    Ok(ClassSpec {
        name: name.to_string(),
        size_mb: parse_size_mb(size)?,
        interval: parse_seconds_or_zero(interval)?,
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
        ] {
            let error = RunOptions::from_args(args.clone()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
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

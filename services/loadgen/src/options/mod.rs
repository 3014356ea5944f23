//! The command line: every option is a flag with an environment-variable twin and a default.
//!
//! `lab-loadgen` runs the workload described by [`RunOptions`]; what each class sends and
//! when is one group of options, [`WorkloadArgs`], that the experiment matrix (`lab-matrix`)
//! flattens into its own command line too. Bad values are
//! rejected by clap's value parsers here, so the user gets clap's message and exit code 2
//! before anything starts; what needs two options at once ([`RunOptions::check`]) exits 2
//! the same way. No value, however odd (`NaN`, `inf`, `-1`, `1e20`), reaches the run.
//!
//! What is allowed, and why (limits and value parsers in [`values`]):
//! - Seconds (DURATION, intervals, LARGE_ON/LARGE_OFF, timeouts): a decimal number from 0 to
//!   [`values::MAX_SECONDS`] (7 days); a non-zero one is at least [`values::MIN_SECONDS`]
//!   (1 µs): below it is refused rather than rounded to 0, which would mean "until stopped"
//!   or "back-to-back". Intervals and timeouts must be above 0.
//! - Sizes: 0 to [`values::MAX_SIZE_MB`] MB per class, [`values::MAX_TOTAL_SIZE_MB`] MB for
//!   all classes together; and what the bodies take in memory (every body is built
//!   [`values::VARIANTS_PER_CLASS`] times, and building needs some more: [`memory`]) at most
//!   BODY_MEMORY_MB, 2048 MB unless raised.
//! - MAX_IN_FLIGHT: 1 to [`values::MAX_IN_FLIGHT_LIMIT`]; EXTRA_CLASSES: at most
//!   [`values::MAX_EXTRA_CLASSES`] classes, names of at most [`values::MAX_NAME_LEN`]
//!   characters.
//! - REQUEST_HEADERS: at most [`headers::MAX_REQUEST_HEADERS`] valid `Name: value` lines,
//!   none of the headers the client sets itself ([`headers::MANAGED_HEADERS`]).
//! - TARGET_URL: `http://host[:port]` with no path, query, fragment or user name (the path
//!   is ENDPOINT's); ENDPOINT: a path on that host (see [`parse_endpoint`]).

mod body_file;
mod class;
pub mod headers;
pub mod memory;
mod modes;
pub mod values;
mod workload;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{ArgAction, Parser, builder::BoolishValueParser};
use reqwest::Url;

pub use class::{BodyFile, BodyKind, ClassSpec, Method, RequestLine};
pub use headers::RequestHeader;
pub use memory::BodyMemory;
pub use modes::{Connection, Pool};
use values::{
    DEFAULT_ENDPOINT, DEFAULT_RESULTS_DIR, parse_endpoint, parse_optional_addr, parse_path,
    parse_replica, parse_run_id, parse_seconds_or_zero, parse_target_url,
};
pub use workload::{Schedule, WorkloadArgs, WorkloadError};

const ABOUT: &str = "The study's mixed small/large workload against any HTTP server (lab-server by default), measured from the client side.";

const LONG_ABOUT: &str = "The study's mixed small/large workload against any HTTP server (lab-server by default), measured from the client side.\n\n\
Each class (small, large, and any EXTRA_CLASSES) sends study-shaped bodies (or random bytes, or a file's bytes: SMALL_BODY, SMALL_BODY_FILE and their LARGE_ twins) on its own schedule; \
LARGE_SIZE_MB=0 leaves the large class out (small requests only: an unloaded baseline). \
Latency is counted from each request's scheduled start (SCHEDULE=open), so a stalled server is not \
under-reported. Every request is written to RESULTS_DIR/<run-id>/requests.csv as the run goes; \
per-class statistics go to summary.csv and are printed at the end (as JSON with --json). \
Ctrl-C or SIGTERM stops scheduling, waits up to DRAIN_TIMEOUT for requests in flight, and still \
writes the summary; while the bodies are being built, it stops their building at once and exits \
0 without a run (nothing was sent, nothing is written).\n\n\
Seconds are decimal numbers from 0 to 604800 (7 days), 0.000001 (1 µs) at least when not 0; sizes are 0 to 1024 MB \
per class and 2048 MB for all classes together, and the bodies' memory (3 bodies per class, \
built once and shared by every request, and what building them needs) at most BODY_MEMORY_MB: \
a workload over it is refused before anything is built, with the figure.\n\n\
Exit codes: 0 = the run ended and at least one request succeeded (others may have failed; \
interrupted or not), or no request was sent at all (stopped before the first was due, or while \
the bodies were being built); \
1 = the run could not be set up or its files written (e.g. METRICS_BIND already in use, \
RESULTS_DIR not writable; nothing is left behind when the metrics address cannot be bound); \
2 = a bad option or value, options that do not go together, or bodies over BODY_MEMORY_MB (clap's usage error); \
3 = requests were sent and none succeeded (every one an error, e.g. no server at TARGET_URL): \
requests.csv and summary.csv are still written, and the report is printed as usual.";

/// Options of one run of the workload: the whole command line of `lab-loadgen`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lab-loadgen",
    version,
    args_override_self = true,
    about = ABOUT,
    long_about = LONG_ABOUT
)]
pub struct RunOptions {
    /// Base URL of the server under test: `http://host[:port]`, no path (ENDPOINT is the
    /// path), query or user name. Every request goes to this host and port.
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:8000", value_parser = parse_target_url)]
    pub target_url: Url,

    /// Path the classes post to (one of lab-server's strategies, /ping, /pong, /offload, /lean,
    /// /stream or /drain, or any path), unless a class has its own SMALL_REQUEST/LARGE_REQUEST.
    /// A path on TARGET_URL's host only: one leading `/`, no scheme, host, query, spaces or
    /// control characters.
    #[arg(long, env = "ENDPOINT", default_value = DEFAULT_ENDPOINT, value_parser = parse_endpoint)]
    pub endpoint: String,

    /// How long to schedule requests, in seconds (at most 604800 = 7 days); 0 = until Ctrl-C /
    /// SIGTERM.
    #[arg(long, env = "DURATION", default_value = "60", value_parser = parse_seconds_or_zero)]
    pub duration: Duration,

    /// What each class sends and when, and how long the client waits for it.
    #[command(flatten)]
    pub workload: WorkloadArgs,

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

    /// Address to serve this client's Prometheus /metrics on, e.g. 0.0.0.0:9100; empty = off.
    /// It is bound before anything else: if it cannot be (port in use, address not on this
    /// machine) the run stops with exit code 1 and creates no run directory.
    // Spelled `std::option::Option` so clap hands the whole value to the parser, which reads
    // an empty string (the default) as "off".
    #[arg(long, env = "METRICS_BIND", default_value = "", value_parser = parse_optional_addr)]
    pub metrics_bind: std::option::Option<SocketAddr>,

    /// Directory that receives one sub-directory per run (must not be empty).
    #[arg(long, env = "RESULTS_DIR", default_value = DEFAULT_RESULTS_DIR, value_parser = parse_path)]
    pub results_dir: PathBuf,

    /// Name of this run's sub-directory (letters, digits, '-', '_', '.'; 128 at most); default:
    /// a timestamp plus endpoint, connection and schedule.
    // `std::option::Option` for the same reason: an empty RUN_ID means "the default".
    #[arg(long, env = "RUN_ID", default_value = "", hide_default_value = true, value_parser = parse_run_id)]
    pub run_id: std::option::Option<String>,

    /// This load generator's name when several run the same workload against one server
    /// (`docker compose up --scale loadgen=3`): its run directories are named
    /// `<run-id>-replica-<REPLICA>`, so replicas never write the same files, and its metrics
    /// carry it as a label. `@hostname` = this machine's host name (in a container: its id).
    /// Empty = the only one.
    // `std::option::Option`: an empty REPLICA means "none".
    #[arg(long, env = "REPLICA", default_value = "", hide_default_value = true, value_parser = parse_replica)]
    pub replica: std::option::Option<String>,

    /// How often to read the server's /healthz during the run (seconds; 0 = never). When it
    /// reports other settings (workers, keep-alive, endpoints) or another start of the server
    /// (a restart), the run ends there (its summary is written) and a new run begins in a new
    /// directory, so no run mixes two configurations. A server without /healthz is not
    /// followed.
    #[arg(long, env = "SERVER_CHECK_INTERVAL", default_value = "1", value_parser = parse_seconds_or_zero)]
    pub server_check_interval: Duration,

    /// Started as root (as in Docker Compose), switch for good to the user and group that
    /// own RESULTS_DIR before writing or connecting anywhere: the files then belong to
    /// whoever owns the results directory on the host. No effect when not root.
    #[arg(long, env = "RUN_AS_RESULTS_OWNER", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub run_as_results_owner: bool,

    /// Print the final report as JSON on stdout instead of the table.
    #[arg(long, env = "JSON", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub json: bool,

    /// No progress line and no start-up log; the final report is still printed.
    #[arg(long, env = "QUIET", action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub quiet: bool,
}

/// What a set of options cannot ask for, found by [`RunOptions::check`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionsError {
    /// ENDPOINT is not a path on TARGET_URL's host.
    #[error("{0}")]
    Endpoint(String),
    /// The classes cannot run as asked.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
}

impl RunOptions {
    /// Options parsed from `args` only (environment variables still apply, as on the command
    /// line): `RunOptions::from_args(["--duration", "2"])`. A flag given twice: the last wins.
    /// Checks across options ([`RunOptions::check`]) fail as a clap usage error (exit code 2).
    pub fn from_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let args = std::iter::once(std::ffi::OsString::from("lab-loadgen"))
            .chain(args.into_iter().map(Into::into));
        let options = Self::try_parse_from(args)?;
        options.check().map_err(|error| {
            <Self as clap::CommandFactory>::command()
                .error(clap::error::ErrorKind::ArgumentConflict, error)
        })?;
        Ok(options)
    }

    /// What clap cannot check one flag at a time (see [`WorkloadArgs::check`]). ENDPOINT is
    /// checked again for callers that build options without parsing (the matrix).
    pub fn check(&self) -> Result<(), OptionsError> {
        parse_endpoint(&self.endpoint).map_err(OptionsError::Endpoint)?;
        self.workload.check()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::values::{MAX_EXTRA_CLASSES, parse_class_specs};
    use super::*;
    use lab_core::Class;

    #[test]
    fn defaults_are_the_study_workload() {
        let options = RunOptions::from_args(Vec::<String>::new()).unwrap();
        let specs = options.workload.class_specs();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].class, Class::Small);
        assert_eq!(specs[0].size_mb, 0.001);
        assert_eq!(specs[0].interval, Duration::from_millis(100));
        assert_eq!(specs[1].class, Class::Large);
        assert_eq!(specs[1].size_mb, 25.0);
        assert_eq!(specs[1].interval, Duration::from_secs(1));
        assert_eq!(options.workload.schedule, Schedule::Open);
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
        assert!(!options.workload.has_large());
        let names: Vec<_> = options
            .workload
            .class_specs()
            .into_iter()
            .map(|c| c.class)
            .collect();
        assert_eq!(names, [Class::Small, Class::named("medium")]);
        // Without a large class its interval is not checked: 0 on an open schedule is fine.
        assert!(RunOptions::from_args(["--large-size-mb", "0", "--large-interval", "0"]).is_ok());
    }

    #[test]
    fn extra_classes_are_comma_separated() {
        let options = RunOptions::from_args(["--extra-classes", "medium:5:0.5,tiny:0:2"]).unwrap();
        let specs = options.workload.class_specs();
        assert_eq!(specs.len(), 4);
        assert_eq!(
            specs[2],
            ClassSpec {
                class: Class::named("medium"),
                size_mb: 5.0,
                interval: Duration::from_millis(500),
                request: None,
                body: BodyKind::Json,
                file: None,
                content_type: None,
            }
        );
        assert_eq!(specs[3].class, Class::named("tiny"));
    }

    /// Each class may have its own `METHOD /path` and body kind; nonsense is refused.
    #[test]
    fn classes_may_have_their_own_request_and_body() {
        let options = RunOptions::from_args([
            "--small-request",
            "GET /healthz",
            "--small-size-mb",
            "0",
            "--large-request",
            "PUT /upload",
            "--large-body",
            "raw",
        ])
        .unwrap();
        let specs = options.workload.class_specs();
        assert_eq!(
            specs[0].request.as_ref().unwrap().to_string(),
            "GET /healthz"
        );
        assert_eq!(specs[1].request.as_ref().unwrap().method, Method::Put);
        assert_eq!(specs[1].body, BodyKind::Raw);
        assert!(options.workload.check_answers);
        for args in [
            vec!["--small-request", "GET /healthz"], // a GET with a body size
            vec!["--small-request", "FETCH /x"],
            vec!["--small-request", "get /x"],
            vec!["--small-request", "GET"],
            vec!["--small-request", "GET /x extra"],
            vec!["--large-request", "POST //other-host/x"],
            vec!["--large-body", "xml"],
            vec!["--check-answers", "maybe"],
        ] {
            let error = RunOptions::from_args(args.clone()).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
        assert!(
            !RunOptions::from_args(["--check-answers", "false"])
                .unwrap()
                .workload
                .check_answers
        );
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

    /// The study's workload fits the default BODY_MEMORY_MB more than twenty times over; a
    /// 1024 MB class does not, and is let through once BODY_MEMORY_MB is raised.
    #[test]
    fn body_memory_mb_bounds_what_the_bodies_take() {
        let study = RunOptions::from_args(Vec::<String>::new()).unwrap();
        let figure = study.workload.body_memory();
        assert!((85.0..95.0).contains(&figure.peak_mb()), "{figure}");
        assert_eq!(study.workload.body_memory_mb, 2048);
        let error = RunOptions::from_args(["--large-size-mb", "1024"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("BODY_MEMORY_MB allows 2048 MB"),
            "{error}"
        );
        let raised = RunOptions::from_args(["--large-size-mb", "1024", "--body-memory-mb", "4000"]);
        assert!(raised.is_ok());
        // Not checking answers leaves out the building's 8 bytes a pair.
        let unchecked = RunOptions::from_args([
            "--large-size-mb",
            "1024",
            "--body-memory-mb",
            "3300",
            "--check-answers",
            "false",
        ]);
        assert!(unchecked.is_ok());
        assert!(
            RunOptions::from_args(["--large-size-mb", "1024", "--body-memory-mb", "3300"]).is_err()
        );
    }

    /// The bounds themselves are allowed: 7 days, 1 µs, 1024 MB per class (2048 MB in all,
    /// with BODY_MEMORY_MB at its largest), 10000 in flight.
    #[test]
    fn the_bounds_themselves_are_allowed() {
        let options = RunOptions::from_args([
            "--duration",
            "604800",
            "--large-interval",
            "0.000001",
            "--large-size-mb",
            "1024",
            "--small-size-mb",
            "1024",
            "--body-memory-mb",
            "65536",
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
        assert_eq!(options.workload.large_interval, Duration::from_micros(1));
        assert_eq!(options.workload.large_size_mb, 1024.0);
        assert_eq!(options.workload.max_in_flight, 10_000);
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
        assert!(options.workload.extra_classes.is_empty());
        assert_eq!(options.run_id, None);
        assert!(RunOptions::from_args(["--extra-classes", "a:1:1,a:2:2"]).is_err());
    }

    #[test]
    fn zero_interval_is_back_to_back_for_a_closed_loop_only() {
        let closed =
            RunOptions::from_args(["--schedule", "closed", "--small-interval", "0"]).unwrap();
        assert_eq!(closed.workload.small_interval, Duration::ZERO);
    }

    #[test]
    fn empty_metrics_bind_is_off_and_an_address_is_on() {
        let on = RunOptions::from_args(["--metrics-bind", "127.0.0.1:9100"]).unwrap();
        assert_eq!(on.metrics_bind, Some("127.0.0.1:9100".parse().unwrap()));
        let off = RunOptions::from_args(["--metrics-bind="]).unwrap();
        assert_eq!(off.metrics_bind, None);
    }
}

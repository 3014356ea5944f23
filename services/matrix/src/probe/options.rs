//! The command line of `lab-probe`: the server under test (TARGET_URL, ENDPOINT), the
//! upload ladder (PROBE_SIZES_MB), the rounds (PROBE_REPS, PROBE_SEED), how long each level
//! runs (PROBE_DURATION), the threshold the verdict holds a slowdown to (PROBE_THRESHOLD),
//! and the workload, which is lab-loadgen's own group of options ([`WorkloadArgs`]) flattened
//! here: the small and large requests are given exactly as lab-loadgen takes them
//! (SMALL_REQUEST, SMALL_SIZE_MB, SMALL_BODY, LARGE_REQUEST, LARGE_BODY, LARGE_INTERVAL,
//! CHECK_ANSWERS …).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use lab_loadgen::options::values::{
    DEFAULT_ENDPOINT, DEFAULT_RESULTS_DIR, MAX_SIZE_MB, parse_endpoint, parse_interval, parse_path,
    parse_size_mb, parse_target_url,
};
use lab_loadgen::{Connection, Pool, WorkloadArgs};
use reqwest::Url;

use crate::options::parse_optional_seed;

/// The ladder when PROBE_SIZES_MB is empty and no file gives the uploads' body, MB.
pub const DEFAULT_LADDER_MB: [f64; 3] = [1.0, 5.0, 25.0];

/// Most upload sizes a ladder may hold.
pub const MAX_LADDER_STEPS: usize = 16;

const ABOUT: &str = "Does a server's upload route starve its small requests? Small requests alone, then beside uploads of each size of a ladder, in interleaved rounds, with a report and a verdict.";

const LONG_ABOUT: &str = "Does a server's upload route starve its small requests? Small requests alone, then beside uploads of each size of a ladder, in interleaved rounds, with a report and a verdict.\n\n\
Each round runs every level once in its own random order: `alone` (small requests only) and one level per size of PROBE_SIZES_MB (small requests beside uploads of that size every LARGE_INTERVAL). \
Each level is one lab-loadgen run of PROBE_DURATION seconds, measured from each request's scheduled start; every request is kept in RESULTS_DIR/probe/<timestamp>/round-<n>/<level>/requests.csv. \
The report (report.md, probe.csv, probe-run.json, small_p95.svg) gives small p50/p95/p99 alone and beside each size with intervals over the rounds, the ratio to `alone` computed round by round, \
the uploads' own latency, errors by kind, whether the upload route kept up, and a verdict that claims a slowdown only when the ratio's whole interval is at or above PROBE_THRESHOLD. \
A server that exports the lab's /metrics (lab-core's names, as lab-server and the FastAPI peer) also gives its own time per upload.\n\n\
The small and large requests are lab-loadgen's options: SMALL_REQUEST and LARGE_REQUEST (`METHOD /path`), SMALL_SIZE_MB (0 with GET), SMALL_BODY and LARGE_BODY (json: the study's body; raw: random bytes), \
SMALL_BODY_FILE and LARGE_BODY_FILE (a file's bytes, sent as they are; the uploads' file is then the only upload level), SMALL_CONTENT_TYPE and LARGE_CONTENT_TYPE, \
SMALL_INTERVAL, LARGE_INTERVAL, CHECK_ANSWERS, REQUEST_HEADERS, REQUEST_TIMEOUT …; LARGE_SIZE_MB is not used (each level sets the upload size).\n\n\
Exit codes: 0 = every level of every round measured; 1 = the probe could not run or write its files; \
2 = a bad option, or TARGET_URL unreachable at the start (nothing is written); \
3 = the server stopped answering during the probe: the report says which levels and rounds were measured and which were not.";

/// Options of `lab-probe`. Every option has an environment twin.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "lab-probe",
    version,
    args_override_self = true,
    about = ABOUT,
    long_about = LONG_ABOUT
)]
pub struct ProbeOptions {
    /// Base URL of the server under test: `http://host[:port]`, no path. In Docker: the host's
    /// server with `--network host`, or a compose service by name (`http://api:8080`).
    #[arg(long, env = "TARGET_URL", default_value = "http://localhost:8000", value_parser = parse_target_url)]
    pub target_url: Url,

    /// Path both classes post to unless SMALL_REQUEST / LARGE_REQUEST give their own.
    #[arg(long, env = "ENDPOINT", default_value = DEFAULT_ENDPOINT, value_parser = parse_endpoint)]
    pub endpoint: String,

    /// The upload sizes, MB, comma separated (e.g. `1,5,25`): one level per size, each beside
    /// the small requests, every LARGE_INTERVAL seconds. Each above 0, at most 1024, at most
    /// 16 sizes, none twice. Empty = 1,5,25; with LARGE_BODY_FILE, the file's size is the only
    /// level and this stays empty.
    // `std::option::Option`: an empty value means "the default ladder".
    #[arg(long, env = "PROBE_SIZES_MB", default_value = "", hide_default_value = true, value_parser = parse_ladder)]
    pub sizes_mb: std::option::Option<UploadLadder>,

    /// Seconds of load per level and round (above 0, at most 604800).
    #[arg(long, env = "PROBE_DURATION", default_value = "10", value_parser = parse_interval)]
    pub duration: Duration,

    /// Rounds: each runs every level once, in a fresh random order; every figure is the
    /// median over the rounds with an interval (1 to 100; 3 or more for an interval that
    /// means something, 6 or more for 95%).
    #[arg(long, env = "PROBE_REPS", default_value = "5", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub reps: u32,

    /// Seed of the rounds' orders (recorded in probe-run.json); empty = a new one from the
    /// clock.
    // `std::option::Option`: an empty value means "a new one".
    #[arg(long, env = "PROBE_SEED", default_value = "", hide_default_value = true, value_parser = parse_optional_seed)]
    pub seed: std::option::Option<u64>,

    /// The slowdown the verdict calls "small requests wait for uploads": the small p95's
    /// ratio (beside uploads ÷ alone, round by round) must have its whole interval at or
    /// above it (above 1, at most 1000).
    #[arg(long, env = "PROBE_THRESHOLD", default_value = "2", value_parser = parse_threshold)]
    pub threshold: f64,

    /// What each class sends and when: lab-loadgen's options, same names and environment
    /// variables. LARGE_SIZE_MB is not used: each level sets the upload size.
    #[command(flatten)]
    pub workload: WorkloadArgs,

    /// `new`: one fresh TCP connection per request; `keepalive`: pooled connections.
    #[arg(long, env = "CONNECTION", value_enum, default_value = "new")]
    pub connection: Connection,

    /// CONNECTION=keepalive: `per-class` or `shared` connection pools (as lab-loadgen).
    #[arg(long, env = "POOL", value_enum, default_value = "per-class")]
    pub pool: Pool,

    /// Results root: the probe writes RESULTS_DIR/probe/<timestamp>/.
    #[arg(long, env = "RESULTS_DIR", default_value = DEFAULT_RESULTS_DIR, value_parser = parse_path)]
    pub results_dir: PathBuf,
}

/// The upload sizes of the ladder, MB, in the order given.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadLadder(pub Vec<f64>);

impl UploadLadder {
    /// Parses `1,5,25`: each a size above 0 and at most 1024 MB, at most
    /// [`MAX_LADDER_STEPS`], none twice.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "the ladder is empty; give at least one upload size in MB, e.g. 1,5,25".into(),
            );
        }
        let mut sizes = Vec::new();
        for part in text.split(',') {
            let size = parse_size_mb(part)?;
            if size <= 0.0 {
                return Err(format!(
                    "`{part}`: an upload of 0 MB is no upload; each size must be above 0 (the \
                     `alone` level, small requests only, always runs)"
                ));
            }
            if sizes.contains(&size) {
                return Err(format!("`{part}` is in the ladder twice"));
            }
            sizes.push(size);
        }
        if sizes.len() > MAX_LADDER_STEPS {
            return Err(format!(
                "{} sizes; a ladder holds at most {MAX_LADDER_STEPS} (each one runs in every round)",
                sizes.len()
            ));
        }
        debug_assert!(sizes.iter().all(|s| *s <= MAX_SIZE_MB));
        Ok(Self(sizes))
    }
}

/// PROBE_SIZES_MB: empty = the default ladder (`None`), otherwise [`UploadLadder::parse`].
fn parse_ladder(text: &str) -> Result<Option<UploadLadder>, String> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    UploadLadder::parse(text).map(Some)
}

/// `value` rounded to four significant digits: 2.626747 is 2.627, 0.000123456 is 0.0001235.
fn four_significant_digits(value: f64) -> f64 {
    format!("{value:.3e}").parse().unwrap_or(value)
}

/// A threshold above 1 and at most 1000.
fn parse_threshold(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value > 1.0 && value <= 1000.0 => Ok(value),
        _ => Err(format!(
            "`{text}` is not a threshold (a ratio above 1, at most 1000, e.g. 2)"
        )),
    }
}

impl ProbeOptions {
    /// The upload sizes, MB, one level each: LARGE_BODY_FILE's size when a file gives the
    /// uploads' body, else PROBE_SIZES_MB, else [`DEFAULT_LADDER_MB`].
    pub fn ladder(&self) -> Vec<f64> {
        match (&self.workload.large_body_file, &self.sizes_mb) {
            // Four significant digits name it well enough (`2.627`, in the level's name and
            // the report); the body sent is the file's, whatever the label.
            (Some(file), _) => vec![four_significant_digits(file.size_mb())],
            (None, Some(ladder)) => ladder.0.clone(),
            (None, None) => DEFAULT_LADDER_MB.to_vec(),
        }
    }

    /// What clap cannot check one flag at a time: the uploads need a method with a body,
    /// a body file and a ladder cannot both set the upload size, and the workload must be
    /// runnable at every size of the ladder (lab-loadgen's own checks: intervals, the
    /// bodies' memory at the largest size).
    pub fn check(&self) -> Result<(), String> {
        if let (Some(file), Some(_)) = (&self.workload.large_body_file, &self.sizes_mb) {
            return Err(format!(
                "LARGE_BODY_FILE `{}` sets the uploads' size (the file's); leave PROBE_SIZES_MB \
                 empty, or leave the file out to probe a ladder of the lab's bodies",
                file.path.display()
            ));
        }
        if let Some(request) = &self.workload.large_request
            && !request.method.sends_body()
        {
            return Err(format!(
                "LARGE_REQUEST `{request}` sends no body; the probe's uploads need POST, PUT, \
                 PATCH or DELETE"
            ));
        }
        let largest = self.ladder().into_iter().fold(0.0, f64::max);
        let mut workload = self.workload.clone();
        workload.large_size_mb = largest;
        workload
            .check()
            .map_err(|error| format!("at {largest} MB: {error}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ProbeOptions, clap::Error> {
        ProbeOptions::try_parse_from(std::iter::once("lab-probe").chain(args.iter().copied()))
    }

    /// The default ladder is 1, 5 and 25 MB every second, 5 rounds of 10 s.
    #[test]
    fn defaults_are_a_short_ladder() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.ladder(), [1.0, 5.0, 25.0]);
        let given = parse(&["--sizes-mb", "2,8"]).unwrap();
        assert_eq!(given.ladder(), [2.0, 8.0]);
        assert_eq!(options.reps, 5);
        assert_eq!(options.workload.large_interval, Duration::from_secs(1));
        assert_eq!(options.threshold, 2.0);
        assert!(options.check().is_ok());
    }

    /// Empty ladders, zero, repeated and out-of-range sizes are refused with a reason.
    #[test]
    fn ladders_refuse_nonsense() {
        assert_eq!(UploadLadder::parse(" 0.5, 4 ").unwrap().0, [0.5, 4.0]);
        for (bad, mentions) in [
            ("", "empty"),
            ("0", "above 0"),
            ("1,1", "twice"),
            ("2000", "0 to 1024"),
            ("x", "not a size"),
            ("1,,2", "not a size"),
        ] {
            let error = UploadLadder::parse(bad).unwrap_err();
            assert!(error.contains(mentions), "{bad:?}: {error}");
        }
        let many: Vec<String> = (1..=17).map(|i| i.to_string()).collect();
        assert!(UploadLadder::parse(&many.join(",")).is_err());
        assert!(parse(&["--threshold", "1"]).is_err());
        assert!(parse(&["--seed", "-3"]).is_err());
    }

    /// A GET upload, and a ladder whose largest body does not fit BODY_MEMORY_MB, fail the
    /// check.
    #[test]
    fn the_check_needs_bodies_that_can_be_sent_and_built() {
        let get = parse(&["--large-request", "GET /upload"]).unwrap();
        assert!(get.check().unwrap_err().contains("sends no body"));
        let big = parse(&["--sizes-mb", "1,1000", "--body-memory-mb", "100"]).unwrap();
        assert!(big.check().unwrap_err().contains("at 1000 MB"));
    }

    /// LARGE_BODY_FILE makes the file's size the only upload level, and refuses a ladder
    /// beside it.
    #[test]
    fn a_body_file_is_the_only_upload_level() {
        let path = std::env::temp_dir().join(format!("probe-upload-{}.json", std::process::id()));
        std::fs::write(&path, vec![b' '; 2_626_747]).unwrap();
        let path = path.to_str().unwrap();
        let file = parse(&["--large-body-file", path]).unwrap();
        assert_eq!(file.ladder(), [2.627]);
        assert_eq!(four_significant_digits(0.000_123_456), 0.000_123_5);
        assert!(file.check().is_ok());
        let both = parse(&["--large-body-file", path, "--sizes-mb", "1,5"]).unwrap();
        assert!(both.check().unwrap_err().contains("leave PROBE_SIZES_MB"));
        assert!(parse(&["--large-body-file", "/no/such/upload.json"]).is_err());
    }
}

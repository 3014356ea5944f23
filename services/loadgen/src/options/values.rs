//! Limits and value parsers: every value any command line accepts goes through one of these,
//! so nonsense (`NaN`, `inf`, `-1`, `1e20`, `//host`) is refused with a reason before a run
//! starts.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use lab_core::{Class, Strategy};
use reqwest::Url;

use super::class::{BodyKind, ClassSpec, Method, RequestLine};

/// Different bodies per class, used in turn. More than one so the server never sees the same
/// bytes twice in a row; few enough that 25 MB bodies stay cheap to hold (they are shared,
/// never copied: a `Bytes` clone is a reference count).
pub const VARIANTS_PER_CLASS: usize = 3;

/// A path as one file-name-safe word: its slashes at both ends dropped, every other character
/// that is not an ASCII letter or digit replaced by `filler`; `root` for `/`. Used for run ids
/// and the matrix's scenario names.
pub fn path_word(path: &str, filler: char) -> String {
    let word: String = path
        .trim_matches('/')
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { filler })
        .collect();
    if word.is_empty() {
        "root".to_string()
    } else {
        word
    }
}

/// ENDPOINT unless set: lab-server's `/ping`, the study's parse on the event loop. ENDPOINT
/// takes any path (any HTTP server can be measured), so it stays a path, not a [`Strategy`].
pub const DEFAULT_ENDPOINT: &str = Strategy::Ping.path();

/// Where runs go unless RESULTS_DIR says otherwise (relative to the working directory).
pub const DEFAULT_RESULTS_DIR: &str = "results";

/// Longest time any option accepts, in seconds: 7 days. Far beyond any run of this lab, and
/// far below what `Duration` arithmetic (run start + DURATION, a timetable slot) can overflow.
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;
/// Smallest non-zero time any option accepts, in seconds: 1 µs. A non-zero value below it is
/// refused: rounded to 0 it would silently mean "until stopped" (DURATION) or "back-to-back"
/// (intervals).
pub const MIN_SECONDS: f64 = 0.000_001;
/// Largest nominal body of one class, in MB. Each body is built [`VARIANTS_PER_CLASS`] times
/// before the clock starts, so this is already 3.2 GB of memory for one class: more than
/// BODY_MEMORY_MB allows unless it is raised (see [`super::memory`]).
pub const MAX_SIZE_MB: f64 = 1024.0;
/// Largest sum of every class's nominal body size, in MB: a large class at [`MAX_SIZE_MB`]
/// plus room for more, about 7.3 GB of pre-built bodies and building at most.
pub const MAX_TOTAL_SIZE_MB: f64 = 2048.0;
/// Largest BODY_MEMORY_MB (64 GB): far above what the largest allowed sizes need (about
/// 7.3 GB), so any allowed workload can be let through on a machine that has the memory.
pub const MAX_BODY_MEMORY_MB: u64 = 65_536;
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

/// A class's request, `METHOD /path` (e.g. `GET /healthz`), or empty for the default (`POST`
/// to ENDPOINT). The method is one of [`Method::ALL`] in capitals; the path is checked as
/// ENDPOINT is ([`parse_endpoint`]).
pub fn parse_request_line(text: &str) -> Result<Option<RequestLine>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let methods: Vec<&str> = Method::ALL.iter().map(|m| m.as_str()).collect();
    let usage = format!(
        "a request is `METHOD /path`, e.g. `GET /healthz` or `POST /upload`, with METHOD one of {}",
        methods.join(", ")
    );
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [method, path] = parts[..] else {
        return Err(format!("`{}`: {usage}", text.escape_debug()));
    };
    let Some(method) = Method::ALL.into_iter().find(|m| m.as_str() == method) else {
        return Err(format!(
            "`{}` is not a method; {usage}",
            method.escape_debug()
        ));
    };
    Ok(Some(RequestLine {
        method,
        path: parse_endpoint(path)?,
    }))
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
pub fn parse_optional_addr(text: &str) -> Result<Option<SocketAddr>, String> {
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

/// A character allowed in a run id or replica name (they name directories).
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Parses RUN_ID: empty = the default (a timestamp and the settings), or a directory name of
/// letters, digits, '-', '_' and '.', not starting with '.', at most [`MAX_RUN_ID_LEN`].
pub fn parse_run_id(text: &str) -> Result<Option<String>, String> {
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

/// REPLICA's value that means "this machine's host name" (in Docker, the container's id).
pub const REPLICA_FROM_HOSTNAME: &str = "@hostname";

/// Longest REPLICA name.
pub const MAX_REPLICA_LEN: usize = 64;

/// Parses REPLICA: empty = not one of several load generators; [`REPLICA_FROM_HOSTNAME`];
/// or a name (letters, digits, '-', '_', '.'; it becomes part of a directory name).
pub fn parse_replica(text: &str) -> Result<Option<String>, String> {
    if text.is_empty() || text == REPLICA_FROM_HOSTNAME {
        return Ok((!text.is_empty()).then(|| text.to_string()));
    }
    if text.starts_with('.') || text.len() > MAX_REPLICA_LEN || !text.chars().all(is_name_char) {
        return Err(format!(
            "`{text}` must be {REPLICA_FROM_HOSTNAME} or letters, digits, '-', '_' or '.', not \
             starting with '.', at most {MAX_REPLICA_LEN} characters (it names a directory)"
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
        if specs[..index].iter().any(|other| other.class == spec.class) {
            return Err(format!("class `{}` appears twice", spec.class));
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
    let class = Class::named(name);
    if Class::STUDY.contains(&class) {
        return Err(format!(
            "class `{name}` already exists; set it with its own options"
        ));
    }
    Ok(ClassSpec {
        class,
        size_mb: parse_size_mb(size).map_err(|error| format!("class `{name}` size: {error}"))?,
        interval: parse_seconds_or_zero(interval)
            .map_err(|error| format!("class `{name}` interval: {error}"))?,
        request: None,
        body: BodyKind::Json,
        file: None,
        content_type: None,
    })
}

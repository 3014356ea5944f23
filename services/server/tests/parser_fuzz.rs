//! A differential fuzz of the parsers behind the five endpoints: every body must get the same
//! answer (name, count and maxval, or status and error kind) from `parse_owned` (`/pong`,
//! `/offload`), `parse_lean` (`/lean`), `parse_lean_with_serde_json`, actix's `web::Json`
//! extractor with `/ping`'s configuration, and `/stream`'s push parser fed the body three ways:
//! whole, one byte at a time (every byte boundary a chunk boundary: inside escapes, multi-byte
//! UTF-8, numbers and literals), and in random chunks (1 to 40 bytes, the splits drawn from
//! the body's hash, so a shrunk input replays the same way).
//!
//! Two tests:
//! - the corpus in `tests/fuzz-corpus/` replays (every disagreement ever found is a file there);
//! - a bounded fuzz runs for `PARSER_FUZZ_SECONDS` (default 3) from `PARSER_FUZZ_SEED` (default:
//!   the clock, printed): study-shaped bodies from a generator that knows where JSON parsers
//!   differ (escapes, surrogates, invalid UTF-8 and control characters in strings, number
//!   spellings, whitespace, nesting, trailing bytes), half of them then damaged byte by byte,
//!   and mutations of the corpus files.
//!
//! A disagreement is shrunk to a small input, written to
//! `target/tmp/parser-fuzz-failures/`, and printed; copy the file into
//! `tests/fuzz-corpus/found/` to keep it as a regression.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::{Duration, Instant, SystemTime},
};

use actix_web::{FromRequest, ResponseError, http::header, test::TestRequest, web};
use lab_server::{
    error::LabError,
    parse::{StudyBody, parse_lean, parse_lean_with_serde_json, parse_owned},
    strategies::ping::json_config,
    stream::{StreamBody, StreamParser},
};
use rand::{
    RngExt, SeedableRng,
    rngs::StdRng,
    seq::{IndexedRandom, IteratorRandom},
};

/// How long the bounded fuzz runs unless `PARSER_FUZZ_SECONDS` says otherwise: some 20,000
/// inputs in a debug build (the unfixed `/lean` failed within the first few hundred), short
/// enough for every `cargo test`. A release build runs some 70,000 inputs a second.
const DEFAULT_SECONDS: f64 = 3.0;

/// Disagreements collected before the fuzz stops and fails (each one is shrunk and written).
const MAX_FAILURES: usize = 10;

/// The body limit given to `/ping`'s extractor: far above any input here.
const PING_LIMIT_BYTES: usize = 64 << 20;

/// Where the committed corpus lives.
fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

// ---------------------------------------------------------------------------------------------
// The oracle: every parser's answer for one body.

/// One parser's answer: `Ok((name, count, maxval))` or `Err((status, kind))`.
type Outcome = Result<(String, usize, i64), (u16, lab_core::ServerErrorKind)>;

fn from_error(error: &LabError) -> (u16, lab_core::ServerErrorKind) {
    (error.status_code().as_u16(), error.kind())
}

/// Runs one body through every parser.
struct Oracle {
    /// Drives `/ping`'s extractor future (it never waits on anything: the payload is in memory).
    runtime: tokio::runtime::Runtime,
}

impl Oracle {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        Self { runtime }
    }

    /// What `/ping` does before its handler runs: actix's `web::Json<StudyBody>` with the
    /// endpoint's `JsonConfig` (which maps every error onto a [`LabError`]).
    fn ping(&self, body: &[u8]) -> Outcome {
        let (request, mut payload) = TestRequest::post()
            .insert_header((header::CONTENT_TYPE, "application/json"))
            .app_data(json_config(PING_LIMIT_BYTES))
            .set_payload(body.to_vec())
            .to_http_parts();
        let extracted = self
            .runtime
            .block_on(web::Json::<StudyBody>::from_request(&request, &mut payload));
        match extracted {
            Ok(json) => {
                let summary = json.summary();
                Ok((json.into_inner().name, summary.count, summary.maxval))
            }
            // An error that is not the lab's would be a bug of its own: it compares as
            // `internal`, which no parser gives.
            Err(error) => Err(error.as_error::<LabError>().map_or(
                (
                    error.as_response_error().status_code().as_u16(),
                    lab_core::ServerErrorKind::Internal,
                ),
                from_error,
            )),
        }
    }

    /// Every parser's answer, `parse_owned`'s first.
    fn outcomes(&self, body: &[u8]) -> [(&'static str, Outcome); 7] {
        let owned = parse_owned(body)
            .map(|parsed| {
                let summary = parsed.summary();
                (parsed.name, summary.count, summary.maxval)
            })
            .map_err(|error| from_error(&error));
        let lean = parse_lean(body)
            .map(|mut parsed| {
                let summary = parsed.summary();
                (parsed.name.into_owned(), summary.count, summary.maxval)
            })
            .map_err(|error| from_error(&error));
        let lean_serde = parse_lean_with_serde_json(body)
            .map(|mut parsed| {
                let summary = parsed.summary();
                (parsed.name.into_owned(), summary.count, summary.maxval)
            })
            .map_err(|error| from_error(&error));
        [
            ("parse_owned (/pong /offload)", owned),
            ("parse_lean (/lean)", lean),
            ("parse_lean_with_serde_json", lean_serde),
            ("web::Json (/ping)", self.ping(body)),
            ("stream, one chunk (/stream)", streamed(body, &[body.len()])),
            (
                "stream, 1-byte chunks",
                streamed(body, &vec![1; body.len()]),
            ),
            (
                "stream, random chunks",
                streamed(body, &random_splits(body)),
            ),
        ]
    }

    /// `parse_owned`'s status, or `None` when some parser answers differently.
    fn agreed_status(&self, body: &[u8]) -> Option<u16> {
        let outcomes = self.outcomes(body);
        let reference = &outcomes[0].1;
        outcomes
            .iter()
            .all(|(_, outcome)| outcome == reference)
            .then(|| reference.as_ref().map_or_else(|error| error.0, |_| 200))
    }
}

/// `/stream`'s parser fed `body` in chunks of the given sizes (the rest, if any, as one more).
fn streamed(body: &[u8], sizes: &[usize]) -> Outcome {
    let mut parser = StreamParser::new();
    let mut rest = body;
    let mut fed = Ok(());
    for &size in sizes {
        let (chunk, after) = rest.split_at(size.min(rest.len()));
        rest = after;
        fed = fed.and_then(|()| parser.feed(chunk));
    }
    fed.and_then(|()| parser.feed(rest))
        .and_then(|()| parser.finish())
        .map(|mut parsed: StreamBody| {
            let summary = parsed.summary();
            (parsed.name, summary.count, summary.maxval)
        })
        .map_err(|error| from_error(&error))
}

/// Chunk sizes of 1 to 40 bytes covering `body`, drawn from its hash (the same for the same
/// body, so a shrunk disagreement replays).
fn random_splits(body: &[u8]) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(fnv1a(body));
    let mut sizes = Vec::new();
    let mut covered = 0;
    while covered < body.len() {
        let size = rng.random_range(1..=40);
        sizes.push(size);
        covered += size;
    }
    sizes
}

// ---------------------------------------------------------------------------------------------
// Reporting: shrink, write, print.

/// `input` with as many bytes removed as keep `fails` true (halving chunk sizes, greedy).
fn shrink(mut input: Vec<u8>, fails: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut chunk = input.len().div_ceil(2);
    while chunk >= 1 {
        let mut start = 0;
        while start < input.len() {
            let end = (start + chunk).min(input.len());
            let candidate = [&input[..start], &input[end..]].concat();
            if fails(&candidate) {
                input = candidate;
            } else {
                start += chunk;
            }
        }
        if chunk == 1 {
            break;
        }
        chunk = chunk.div_ceil(2);
    }
    input
}

/// `bytes` as a Rust byte-string literal body: printable ASCII as is, the rest escaped.
fn escaped(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

/// FNV-1a, for stable file names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Shrinks a disagreeing input, writes it to `target/tmp/parser-fuzz-failures/`, and returns
/// a report naming every parser's answer.
fn report(oracle: &Oracle, input: &[u8]) -> String {
    let small = shrink(input.to_vec(), |candidate| {
        oracle.agreed_status(candidate).is_none()
    });
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parser-fuzz-failures");
    let path = dir.join(format!("{:016x}.json", fnv1a(&small)));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &small))
        .map_or_else(
            |error| format!("(not written: {error})"),
            |()| path.display().to_string(),
        );
    let mut text = format!(
        "disagreement on b\"{}\"\n  written to {written}\n  shrunk from {} bytes: b\"{}\"\n",
        escaped(&small),
        input.len(),
        escaped(&input[..input.len().min(400)]),
    );
    for (parser, outcome) in oracle.outcomes(&small) {
        let _ = writeln!(text, "  {parser:30} {outcome:?}");
    }
    text
}

/// The corpus's parts, each a directory of `tests/fuzz-corpus/`.
const CORPUS_PARTS: &[&str] = &[
    // Hand-written bodies: valid ones of every shape and a typical error of each kind.
    "seeds",
    // One file per place where JSON parsers are known to differ (named for it), in a
    // skipped field first, last, and as a key inside an array, and in the parsed fields.
    "probes",
    // Every disagreement the fuzz has found, shrunk, named by its hash as the fuzz writes it.
    "found",
];

/// Every corpus file as (`part/name`, bytes), sorted.
fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for part in CORPUS_PARTS {
        let dir = corpus_dir().join(part);
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a readable directory entry").path();
            let name = format!("{part}/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read(&path).expect("a readable corpus file")));
        }
    }
    files.sort();
    files
}

// ---------------------------------------------------------------------------------------------
// The generator: study-shaped bodies that visit every place where JSON parsers differ.

/// String pieces every parser must accept.
const VALID_PIECES: &[&[u8]] = &[
    b"a",
    b"name",
    b"data",
    "é".as_bytes(),
    "日本".as_bytes(),
    "😀".as_bytes(),
    b"\x7f",
    b"\\\"",
    b"\\\\",
    b"\\/",
    b"\\b\\f\\n\\r\\t",
    b"\\u0041",
    b"\\u00e9",
    b"\\u00E9",
    b"\\u0000",
    b"\\u001f",
    b"\\ud83d\\ude00",
    b"\\uD83D\\uDE00",
    b"\\uffff",
    b"\\ufffe",
];

/// String pieces at least one JSON parser gets wrong: escapes, surrogates, control characters
/// and invalid UTF-8.
const BAD_PIECES: &[&[u8]] = &[
    b"\\u12zz",
    b"\\u",
    b"\\u1",
    b"\\u12",
    b"\\u123",
    b"\\uzzzz",
    b"\\u12\"",
    b"\\u123\\",
    b"\\u+123",
    b"\\u-123",
    b"\\u 123",
    b"\\u0g00",
    b"\\x41",
    b"\\'",
    b"\\U0041",
    b"\\a",
    b"\\0",
    b"\\ ",
    b"\\\n",
    b"\\",
    b"\\ud800",
    b"\\udbff",
    b"\\udc00",
    b"\\udfff",
    b"\\ud800\\u0041",
    b"\\ud800\\ud800",
    b"\\ud800\\n",
    b"\\ud800x",
    b"\\ud800\\u12zz",
    b"\\ud800\\",
    b"\\udc00\\ud800",
    b"\x00",
    b"\x01",
    b"\x09",
    b"\x0a",
    b"\x0d",
    b"\x1f",
    b"\x80",
    b"\xbf",
    b"\xc3",
    b"\xc3\x28",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xe0\x80\x80",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf0\x9f\x98",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xfe",
    b"\xff",
];

/// Numbers every parser must accept (some are floats or out of i64: a 422 where an i64 belongs),
/// separated by spaces.
const VALID_NUMBERS: &str = "0 -0 1 -1 42 9223372036854775807 -9223372036854775808 \
    9223372036854775808 -9223372036854775809 18446744073709551615 18446744073709551616 \
    123456789012345678901234567890123456789 0.0 -0.0 1.5 1e2 1E2 1e+2 1e-2 0e0 1.0e0 1e400 \
    -1e400 1e-400 1e999999999999999999999 0.000000000000000000000000000000000000001 \
    1.00000000000000000000000000000000000001";

/// Number spellings JSON forbids, separated by spaces.
const BAD_NUMBERS: &str = "01 -01 00 -00 1. -1. 1.e1 .5 -.5 - --1 +1 1e 1e+ 1E- 1e1.5 0x10 1..2 \
    1.2.3 1_000 NaN Infinity -Infinity 1f 0- 1- -a";

/// The literals, and misspellings of them, separated by spaces.
const LITERALS: &str = "true false null";
const BAD_LITERALS: &str = "tru nul fals True NULL nulll truex n";

/// One of the space-separated `words`, chosen at random.
fn word<'a>(rng: &mut StdRng, words: &'a str) -> &'a str {
    words.split(' ').choose(rng).expect("at least one word")
}

/// Whitespace JSON allows.
const VALID_SPACE: &[&[u8]] = &[b" ", b"\n", b"\t", b"\r\n", b"  \t\n\r "];

/// Bytes some parser might take for whitespace: vertical tab, form feed, NUL, NBSP, a BOM.
const BAD_SPACE: &[&[u8]] = &[
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b"\x1c",
    b"/**/",
];

/// What may follow the document.
const TRAILERS: &[&[u8]] = &[
    b"x",
    b"{}",
    b"[]",
    b"\x00",
    b",",
    b"]",
    b"}",
    b"\"",
    b"1",
    b"null",
    b"\xef\xbb\xbf",
    b"//",
    b"\xff",
];

/// Keys for `data`: few, so that bodies repeat them.
const DATA_KEYS: &[&str] = &["a", "b", "ab", "", "é", "a b", "name", "data"];

/// Builds one body; `bad` is the chance that any one place gets a spelling JSON forbids.
struct Generator {
    rng: StdRng,
    bad: f64,
    out: Vec<u8>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            bad: 0.0,
            out: Vec::new(),
        }
    }

    fn is_bad(&mut self) -> bool {
        self.rng.random_bool(self.bad)
    }

    fn push(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    fn body(&mut self) -> Vec<u8> {
        self.out.clear();
        self.bad = *[0.0, 0.0, 0.01, 0.03, 0.1, 0.3]
            .choose(&mut self.rng)
            .unwrap();
        if self.rng.random_bool(0.02) {
            self.push(b"\xef\xbb\xbf");
        }
        self.space();
        match self.rng.random_range(0..100) {
            0..90 => self.study_object(),
            90..96 => self.study_array(),
            _ => self.value(2),
        }
        self.space();
        if self.is_bad() {
            let trailer = *TRAILERS.choose(&mut self.rng).unwrap();
            self.push(trailer);
        }
        std::mem::take(&mut self.out)
    }

    /// Mostly nothing, often valid whitespace (one space as `json.dumps` writes, runs of
    /// every length up to past two 16-byte lanes of all four kinds, long runs), rarely a byte
    /// JSON does not count as whitespace.
    fn space(&mut self) {
        match self.rng.random_range(0..12) {
            0..5 => {}
            5..8 => {
                let space = *VALID_SPACE.choose(&mut self.rng).unwrap();
                self.push(space);
            }
            8 => self.push(b" "),
            9..11 => {
                for _ in 0..self.rng.random_range(0..=40) {
                    let byte = *b" \t\n\r".choose(&mut self.rng).unwrap();
                    self.out.push(byte);
                }
            }
            _ => {
                let run = self.rng.random_range(30..140);
                self.out.extend(std::iter::repeat_n(b' ', run));
            }
        }
        if self.is_bad() {
            let space = *BAD_SPACE.choose(&mut self.rng).unwrap();
            self.push(space);
        }
    }

    /// `{"name": …, "data": {…}}` with the fields in any order, sometimes missing, repeated,
    /// or joined by unknown fields of any shape.
    fn study_object(&mut self) {
        let mut fields = Vec::new();
        if !self.is_bad() {
            fields.push(0);
        }
        if !self.is_bad() {
            fields.push(1);
        }
        for _ in 0..self.rng.random_range(0..4) {
            if self.rng.random_bool(0.3) {
                fields.push(2);
            }
        }
        if self.is_bad() {
            fields.push(self.rng.random_range(0..2));
        }
        for index in (1..fields.len()).rev() {
            fields.swap(index, self.rng.random_range(0..=index));
        }
        self.push(b"{");
        for (position, field) in fields.iter().enumerate() {
            if position > 0 {
                self.push(b",");
            }
            self.space();
            match field {
                0 => self.key("name"),
                1 => self.key("data"),
                _ => {
                    let name = *["x", "extra", "nam", "Data", "", "name ", "\u{e9}"]
                        .choose(&mut self.rng)
                        .unwrap();
                    self.key(name);
                }
            }
            self.space();
            self.push(b":");
            self.space();
            match field {
                0 => self.name_value(),
                1 => self.data_value(),
                _ => {
                    let depth = self.rng.random_range(0..4);
                    self.value(depth);
                }
            }
            self.space();
        }
        if self.is_bad() {
            self.push(b",");
        }
        self.push(b"}");
    }

    /// The array form `[name, data]`, sometimes with too few or too many elements.
    fn study_array(&mut self) {
        self.push(b"[");
        let elements = if self.is_bad() {
            self.rng.random_range(0..4)
        } else {
            2
        };
        for index in 0..elements {
            if index > 0 {
                self.push(b",");
            }
            self.space();
            match index {
                0 => self.name_value(),
                1 => self.data_value(),
                _ => self.value(1),
            }
            self.space();
        }
        self.push(b"]");
    }

    /// A key spelled as is or with escapes, so `"n\u0061me"` is `name` too.
    fn key(&mut self, text: &str) {
        self.push(b"\"");
        for c in text.chars() {
            if c == '"' || c == '\\' || self.rng.random_bool(0.1) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let escape = format!("\\u{unit:04x}");
                    self.push(escape.as_bytes());
                }
            } else {
                let mut utf8 = [0u8; 4];
                self.push(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
        self.push(b"\"");
    }

    /// Usually a string, rarely another value (a 422).
    fn name_value(&mut self) {
        if self.is_bad() {
            self.value(1);
        } else {
            self.string();
        }
    }

    /// Usually an object of integers, rarely another value (a 422).
    fn data_value(&mut self) {
        if self.is_bad() {
            self.value(2);
            return;
        }
        self.push(b"{");
        let pairs = match self.rng.random_range(0..10) {
            0 => 0,
            1..9 => self.rng.random_range(1..8),
            _ => self.rng.random_range(8..60),
        };
        for index in 0..pairs {
            if index > 0 {
                self.push(b",");
            }
            self.space();
            if self.is_bad() {
                self.string();
            } else if self.rng.random_bool(0.2) {
                // A long plain key, or one that leaves plain ASCII at any place: the fast path
                // takes the first, leaves the second to the general steps.
                let length = self.rng.random_range(0..=40);
                let key: String = (0..length)
                    .map(|index| char::from(b'a' + (index % 26) as u8))
                    .collect();
                if self.rng.random_bool(0.5) {
                    self.key(&key);
                } else {
                    self.string();
                }
            } else {
                let key = *DATA_KEYS.choose(&mut self.rng).unwrap();
                self.key(key);
            }
            self.space();
            self.push(b":");
            self.space();
            if self.is_bad() {
                self.value(1);
            } else {
                self.integer();
            }
            self.space();
        }
        if self.is_bad() {
            self.push(b",");
        }
        self.push(b"}");
    }

    /// An i64 (edges, small, of every number of digits, any).
    fn integer(&mut self) {
        let value: i64 = match self.rng.random_range(0..5) {
            0 => *[0, 1, -1, i64::MIN, i64::MAX]
                .choose(&mut self.rng)
                .unwrap(),
            1 => self.rng.random_range(-1000..1000),
            2 => {
                let digits = self.rng.random_range(1..=18);
                let value = self
                    .rng
                    .random_range(10i64.pow(digits - 1)..10i64.pow(digits));
                if self.rng.random_bool(0.5) {
                    -value
                } else {
                    value
                }
            }
            _ => self.rng.random(),
        };
        self.push(value.to_string().as_bytes());
    }

    /// Any JSON value, nested up to `depth` more levels, sometimes misspelled; rarely a deep
    /// tower of arrays, sized around the 64 openers past which `/lean` leaves sonic-rs and the
    /// 128 levels past which `serde_json` refuses.
    fn value(&mut self, depth: u32) {
        match self.rng.random_range(0..100) {
            0..30 => self.string(),
            30..55 => self.number(),
            55..65 => {
                let literal = if self.is_bad() {
                    word(&mut self.rng, BAD_LITERALS)
                } else {
                    word(&mut self.rng, LITERALS)
                };
                self.push(literal.as_bytes());
            }
            65..80 if depth > 0 => {
                self.push(b"[");
                for index in 0..self.rng.random_range(0..4) {
                    if index > 0 {
                        self.push(b",");
                    }
                    self.space();
                    self.value(depth - 1);
                    self.space();
                }
                self.push(b"]");
            }
            80..95 if depth > 0 => {
                self.push(b"{");
                for index in 0..self.rng.random_range(0..4) {
                    if index > 0 {
                        self.push(b",");
                    }
                    self.space();
                    self.string();
                    self.space();
                    self.push(b":");
                    self.space();
                    self.value(depth - 1);
                    self.space();
                }
                self.push(b"}");
            }
            95..100 => {
                let levels = *[50, 60, 61, 62, 63, 64, 65, 70, 126, 127, 128, 129, 130]
                    .choose(&mut self.rng)
                    .unwrap();
                let levels = self.rng.random_range(levels - 2..=levels + 2);
                self.out.extend(std::iter::repeat_n(b'[', levels));
                self.value(0);
                self.out.extend(std::iter::repeat_n(b']', levels));
            }
            _ => self.number(),
        }
    }

    /// A string of valid pieces, sometimes with a bad one, sometimes longer than a SIMD block,
    /// often with a plain run of any length before a piece (so that an escape, a multi-byte
    /// character or a bad byte falls at every place of a 16-byte lane).
    fn string(&mut self) {
        self.push(b"\"");
        for _ in 0..self.rng.random_range(0..5) {
            match self.rng.random_range(0..10) {
                0 => {
                    let run = self.rng.random_range(20..80);
                    self.out.extend(std::iter::repeat_n(b'x', run));
                }
                1..4 => {
                    let run = self.rng.random_range(0..=40);
                    self.out.extend(std::iter::repeat_n(b'y', run));
                    let piece = *VALID_PIECES.choose(&mut self.rng).unwrap();
                    self.push(piece);
                }
                _ => {
                    let piece = *VALID_PIECES.choose(&mut self.rng).unwrap();
                    self.push(piece);
                }
            }
            if self.is_bad() {
                let piece = *BAD_PIECES.choose(&mut self.rng).unwrap();
                self.push(piece);
            }
        }
        self.push(b"\"");
    }

    /// A number: valid (integers, floats, huge and tiny exponents) or misspelled.
    fn number(&mut self) {
        if self.is_bad() {
            let number = word(&mut self.rng, BAD_NUMBERS);
            self.push(number.as_bytes());
        } else if self.rng.random_bool(0.5) {
            let number = word(&mut self.rng, VALID_NUMBERS);
            self.push(number.as_bytes());
        } else {
            self.integer();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The mutator: byte-level damage on top of the generator's structure.

/// Bytes that change what a JSON parser sees.
const INTERESTING_BYTES: &[u8] =
    b"\"\\{}[],:0123456789-+.eEutfnl \t\r\n\x00\x01\x0b\x0c\x1f\x7f\x80\xbf\xc0\xc3\xed\xef\xf4\xf5\xff";

/// Applies one to four random edits: overwrite, insert a byte or a bad piece, delete, repeat
/// or swap a range, truncate, or splice in a piece of `other`.
fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..=4) {
        let len = input.len();
        let at = rng.random_range(0..=len);
        match rng.random_range(0..9) {
            0 if at < len => input[at] = *INTERESTING_BYTES.choose(rng).unwrap(),
            1 => input.insert(at, *INTERESTING_BYTES.choose(rng).unwrap()),
            2 => {
                let piece = if rng.random_bool(0.5) {
                    *BAD_PIECES.choose(rng).unwrap()
                } else {
                    word(rng, BAD_NUMBERS).as_bytes()
                };
                input.splice(at..at, piece.iter().copied());
            }
            3 if at < len => {
                let end = rng.random_range(at..=len.min(at + 16));
                input.drain(at..end);
            }
            4 if at < len => {
                let end = rng.random_range(at..=len.min(at + 32));
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
            5 if len > 1 => {
                let other_at = rng.random_range(0..len);
                input.swap(at.min(len - 1), other_at);
            }
            6 => input.truncate(at),
            7 if !other.is_empty() => {
                let start = rng.random_range(0..other.len());
                let end = rng.random_range(start..=other.len().min(start + 32));
                input.splice(at..at, other[start..end].iter().copied());
            }
            _ if at < len => input[at] ^= 1 << rng.random_range(0..8),
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Every file in `tests/fuzz-corpus/` (among them each disagreement the fuzz has found) gets one
/// answer from every parser.
#[test]
fn every_corpus_input_gets_one_answer_from_every_parser() {
    let oracle = Oracle::new();
    let corpus = corpus();
    assert!(corpus.len() >= 100, "the corpus has {} files", corpus.len());
    let failures: Vec<String> = corpus
        .iter()
        .filter(|(_, body)| oracle.agreed_status(body).is_none())
        .map(|(name, body)| format!("{name}: {}", report(&oracle, body)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// For `PARSER_FUZZ_SECONDS`, generated and mutated bodies get one answer from every parser;
/// a disagreement is shrunk, written and printed.
#[test]
fn random_bodies_get_one_answer_from_every_parser() {
    let seconds: f64 = std::env::var("PARSER_FUZZ_SECONDS")
        .ok()
        .map(|text| {
            text.parse()
                .expect("PARSER_FUZZ_SECONDS is a number of seconds")
        })
        .unwrap_or(DEFAULT_SECONDS);
    let seed: u64 = std::env::var("PARSER_FUZZ_SEED").ok().map_or_else(
        || {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        },
        |text| text.parse().expect("PARSER_FUZZ_SEED is a u64"),
    );
    println!("parser fuzz: PARSER_FUZZ_SEED={seed} PARSER_FUZZ_SECONDS={seconds}");

    let oracle = Oracle::new();
    let corpus: Vec<Vec<u8>> = corpus().into_iter().map(|(_, body)| body).collect();
    let mut generator = Generator::new(seed);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut inputs = 0u64;
    let mut statuses = BTreeMap::<u16, u64>::new();
    let mut failures = Vec::<String>::new();
    while Instant::now() < deadline && failures.len() < MAX_FAILURES {
        let other = corpus.choose(&mut rng).cloned().unwrap_or_default();
        let body = match rng.random_range(0..10) {
            0..4 => generator.body(),
            4..8 => {
                let mut body = generator.body();
                mutate(&mut rng, &mut body, &other);
                body
            }
            _ => {
                let mut body = other.clone();
                mutate(&mut rng, &mut body, &generator.body());
                body
            }
        };
        inputs += 1;
        match oracle.agreed_status(&body) {
            Some(status) => *statuses.entry(status).or_default() += 1,
            None => failures.push(report(&oracle, &body)),
        }
    }
    println!("parser fuzz: {inputs} inputs in {seconds} s, answers by status: {statuses:?}");
    assert!(
        failures.is_empty(),
        "{} disagreements (PARSER_FUZZ_SEED={seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The generator reaches all three answers, or the fuzz is not testing much.
    if inputs >= 1000 {
        for status in [200, 400, 422] {
            assert!(
                statuses.get(&status).is_some_and(|n| *n * 50 > inputs),
                "{statuses:?}"
            );
        }
    }
}

/// `/stream`'s fast paths at their edges, every case written out rather than drawn: whitespace
/// runs of every length from 0 to 40 (past two 16-byte lanes) at every place of a pair, of one
/// kind and of all four; a key, the name and a skipped string with an escape, a multi-byte
/// character or a bad byte after a plain run of every length; integers of every number of
/// digits, signed or not, and whatever ends them. Each gets one answer from every parser, and
/// from `/stream` also fed in chunks of 15, 16 and 17 bytes.
#[test]
fn fast_path_edges_get_one_answer_from_every_parser() {
    let oracle = Oracle::new();
    let mut bodies: Vec<Vec<u8>> = Vec::new();
    // Whitespace, in each of the five places of `,"key":123` and everywhere at once.
    for length in 0..=40 {
        for kinds in [&b" "[..], b" \t\n\r"] {
            let run: Vec<u8> = (0..length)
                .map(|index| kinds[index % kinds.len()])
                .collect();
            for place in 0..=5 {
                let space = |at: usize| {
                    if place == at || place == 5 {
                        &run[..]
                    } else {
                        b""
                    }
                };
                let body = [
                    &br#"{"name":"n","data":{"a":1"#[..],
                    space(0),
                    b",",
                    space(1),
                    br#""key""#,
                    space(2),
                    b":",
                    space(3),
                    b"123",
                    space(4),
                    br#","b":2}}"#,
                ]
                .concat();
                bodies.push(body);
            }
        }
    }
    // A piece after a plain run of every length, in a key of `data`, the name, a skipped
    // field's key and value.
    let pieces: &[&[u8]] = &[
        b"\\n",
        b"\\\"",
        b"\\u00e9",
        b"\\ud83d\\ude00",
        "é".as_bytes(),
        "日".as_bytes(),
        "😀".as_bytes(),
        b"\x7f",
        b"\xc3",
        b"\xe6\x97",
        b"\xff",
        b"\\x",
        b"\\ud800",
        b"\x01",
    ];
    for length in 0..=40 {
        for piece in pieces {
            let text = [&vec![b'a'; length][..], piece, b"z"].concat();
            for template in [
                &br#"{"name":"n","data":{"a":1,"@":2}}"#[..],
                br#"{"name":"@","data":{"a":1}}"#,
                br#"{"@":"@","name":"n","data":{}}"#,
            ] {
                let mut body = Vec::new();
                for (index, part) in template.split(|&byte| byte == b'@').enumerate() {
                    if index > 0 {
                        body.extend_from_slice(&text);
                    }
                    body.extend_from_slice(part);
                }
                bodies.push(body);
            }
        }
    }
    // Integers of 1 to 20 digits, and what may follow them.
    for digits in 1..=20 {
        let number: String = (0..digits)
            .map(|index| char::from(b'1' + index % 9))
            .collect();
        for sign in ["", "-", "0", "-0"] {
            for end in [",", "}", " ", ".5", "e1", "E+1", "x"] {
                let body =
                    format!(r#"{{"name":"n","data":{{"a":1,"b":{sign}{number}{end}"c":3}}}}"#);
                bodies.push(body.into_bytes());
            }
        }
    }
    let mut failures = Vec::new();
    for body in &bodies {
        let reference = oracle.outcomes(body)[0].1.clone();
        let split = [15, 16, 17].map(|size| streamed(body, &vec![size; body.len() / size + 1]));
        if oracle.agreed_status(body).is_none() || split.iter().any(|outcome| *outcome != reference)
        {
            failures.push(format!(
                "b\"{}\": {reference:?}, in 15/16/17-byte chunks {split:?}\n{}",
                escaped(body),
                report(&oracle, body)
            ));
        }
    }
    println!("fast-path edges: {} bodies", bodies.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

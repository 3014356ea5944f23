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
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};

mod fuzz_bodies;

use fuzz_bodies::{Generator, mutate};

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

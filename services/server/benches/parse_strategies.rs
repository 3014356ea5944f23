//! What each strategy's work costs on one 25 MB seed-shaped body: parse + compute + drop, the
//! time a strategy holds whichever thread runs it (the event loop for /ping, /pong and /lean;
//! a blocking-pool thread for /offload). Reading the body is not included (it is async).
//!
//! `cargo bench -p lab-server --bench parse_strategies` (`-- stream` for /stream's rows only)
//!
//! - `owned (/ping /pong /offload)`: `serde_json` into `HashMap<String, i64>`, as a framework
//!   does (/ping's `web::Json` calls the same `serde_json::from_slice`).
//! - `lean (/lean)`: the SIMD parser sonic-rs, borrowed keys, foldhash, pre-sized map.
//! - `stream (/stream), 64 KiB chunks`: the push parser fed the body in 64 KiB chunks, then
//!   the count bucket by bucket and the drop: all of /stream's work, which the endpoint spreads
//!   over the upload in slices of at most a millisecond.
//! - `alternative: lean visitor on serde_json`: the same visitor and map driven by
//!   `serde_json`; measured against sonic-rs to choose /lean's parser.
//! - `floor: validate only`: `serde_json` checking the syntax and building nothing: what
//!   building the map costs is the distance from here.
//! - `drop only`: freeing the parsed map (part of each total above).
//!
//! The group `25 MB parse+compute+drop` uses the lab's body (`generate_seeded`: compact, keys
//! of `a-z`). The groups after it take the same pairs spelled as the study's Python client
//! sends them ([`BodyStyle`]): spaced (`", "` and `": "`, as `json.dumps` writes), keys of
//! `a-zA-Z`, and both; they time /lean, /stream and validate-only, which the spelling moves,
//! and leave out the owned parse (a second per iteration, and its map dominates it).
//!
//! For callgrind, `BENCH_ONCE=<stream|stream-parse|stream-count|lean|validate>:<compact|spaced|mixed|spaced-mixed>:<MB>`
//! runs that one strategy once on a body of that style and size instead of the benchmark;
//! its work is all inside `work_once` (`count_once` for `stream-count`, the count of pairs
//! parsed beforehand), so `valgrind --tool=callgrind --toggle-collect='*work_once*' <bench
//! binary>` counts only it.
//! With `BENCH_REPEAT=<n>` it runs `n` times and prints the fastest and the median run, by the
//! clock and by the thread's CPU time: on a shared machine the fastest run is the one least
//! disturbed, and CPU time leaves out the time other processes held the core.

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group};
use lab_core::payload::{Alphabet, BodyStyle, Separators, generate_styled};
use lab_server::{
    parse::{parse_lean, parse_lean_with_serde_json, parse_owned},
    stream::{StreamBody, parse_chunked},
};
use serde::de::IgnoredAny;

/// The chunk size /stream is fed with here: about what actix hands the handler.
const CHUNK_BYTES: usize = 64 * 1024;

/// The body styles, each with the name its group and `BENCH_ONCE` give it.
const STYLES: [(&str, BodyStyle); 4] = [
    (
        "compact",
        BodyStyle {
            separators: Separators::Compact,
            alphabet: Alphabet::Lower,
        },
    ),
    (
        "spaced",
        BodyStyle {
            separators: Separators::Spaced,
            alphabet: Alphabet::Lower,
        },
    ),
    (
        "mixed",
        BodyStyle {
            separators: Separators::Compact,
            alphabet: Alphabet::Mixed,
        },
    ),
    (
        "spaced-mixed",
        BodyStyle {
            separators: Separators::Spaced,
            alphabet: Alphabet::Mixed,
        },
    ),
];

fn body(size_mb: f64, style: BodyStyle) -> Vec<u8> {
    generate_styled("large", size_mb, 42, style)
}

fn stream(body: &[u8]) {
    let mut parsed = parse_chunked(body, CHUNK_BYTES).unwrap();
    black_box(parsed.summary());
    drop(parsed);
}

/// /stream's parse alone: the pairs are kept and freed, not counted.
fn stream_parse(body: &[u8]) {
    black_box(parse_chunked(body, CHUNK_BYTES).unwrap());
}

fn lean(body: &[u8]) {
    let mut parsed = parse_lean(body).unwrap();
    black_box(parsed.summary());
    drop(parsed);
}

fn validate(body: &[u8]) {
    black_box(serde_json::from_slice::<IgnoredAny>(body).unwrap());
}

fn parse_compute_drop(criterion: &mut Criterion) {
    let body = body(25.0, BodyStyle::default());
    let mut group = criterion.benchmark_group("25 MB parse+compute+drop");
    group.bench_function("owned (/ping /pong /offload)", |bench| {
        bench.iter(|| {
            let parsed = parse_owned(black_box(&body)).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("lean (/lean)", |bench| {
        bench.iter(|| lean(black_box(&body)))
    });
    group.bench_function("stream (/stream), 64 KiB chunks", |bench| {
        bench.iter(|| stream(black_box(&body)))
    });
    group.bench_function("alternative: lean visitor on serde_json", |bench| {
        bench.iter(|| {
            let mut parsed = parse_lean_with_serde_json(black_box(&body)).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("floor: validate only", |bench| {
        bench.iter(|| validate(black_box(&body)))
    });
    group.finish();

    for (name, style) in &STYLES[1..] {
        let body = self::body(25.0, *style);
        let mut group = criterion.benchmark_group(format!("25 MB {name}"));
        group.bench_function("lean (/lean)", |bench| {
            bench.iter(|| lean(black_box(&body)))
        });
        group.bench_function("stream (/stream), 64 KiB chunks", |bench| {
            bench.iter(|| stream(black_box(&body)))
        });
        group.bench_function("floor: validate only", |bench| {
            bench.iter(|| validate(black_box(&body)))
        });
        group.finish();
    }

    let mut group = criterion.benchmark_group("25 MB drop only");
    group.bench_function("owned map", |bench| {
        bench.iter_batched(|| parse_owned(&body).unwrap(), drop, BatchSize::LargeInput)
    });
    group.bench_function("lean map", |bench| {
        bench.iter_batched(|| parse_lean(&body).unwrap(), drop, BatchSize::LargeInput)
    });
    group.finish();
}

/// One strategy's work on one body, kept out of line so that callgrind can count it alone.
#[inline(never)]
fn work_once(strategy: fn(&[u8]), body: &[u8]) {
    strategy(black_box(body));
}

/// /stream's count alone, of pairs parsed beforehand, kept out of line as [`work_once`].
#[inline(never)]
fn count_once(parsed: &mut StreamBody) {
    black_box(parsed.summary());
}

/// `BENCH_ONCE`'s run: parses `spec`'s body once with `spec`'s strategy.
fn once(spec: &str) {
    let usage = "BENCH_ONCE=<stream|stream-parse|stream-count|lean|validate>:<compact|spaced|mixed|spaced-mixed>:<MB>";
    let mut parts = spec.split(':');
    let (Some(strategy), Some(style), Some(size_mb), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        panic!("{usage}, not {spec}");
    };
    // `None`: /stream's count alone.
    let strategy: Option<fn(&[u8])> = match strategy {
        "stream" => Some(stream),
        "stream-parse" => Some(stream_parse),
        "stream-count" => None,
        "lean" => Some(lean),
        "validate" => Some(validate),
        _ => panic!("{usage}, not {spec}"),
    };
    let (_, style) = STYLES
        .iter()
        .find(|(name, _)| *name == style)
        .unwrap_or_else(|| panic!("{usage}, not {spec}"));
    let size_mb: f64 = size_mb.parse().expect(usage);
    let body = body(size_mb, *style);
    let repeat: usize = std::env::var("BENCH_REPEAT").map_or(1, |n| n.parse().expect("a count"));
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    for _ in 0..repeat {
        let mut parsed = strategy
            .is_none()
            .then(|| parse_chunked(&body, CHUNK_BYTES).unwrap());
        let (started, cpu_started) = (std::time::Instant::now(), thread_cpu_time());
        match (strategy, &mut parsed) {
            (Some(strategy), _) => work_once(strategy, &body),
            (None, Some(parsed)) => count_once(parsed),
            (None, None) => unreachable!("parsed above"),
        }
        wall.push(started.elapsed());
        cpu.push(thread_cpu_time() - cpu_started);
    }
    wall.sort();
    cpu.sort();
    println!(
        "{spec}: {} bytes, {repeat} runs: fastest {:.1} ms (CPU {:.1} ms), median {:.1} ms (CPU {:.1} ms)",
        body.len(),
        wall[0].as_secs_f64() * 1e3,
        cpu[0].as_secs_f64() * 1e3,
        wall[repeat / 2].as_secs_f64() * 1e3,
        cpu[repeat / 2].as_secs_f64() * 1e3,
    );
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for clock_gettime to write.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

criterion_group! {
    name = benches;
    // Few, short samples: each iteration is 25 MB of work, and the machine is shared.
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = parse_compute_drop
}

fn main() {
    if let Ok(spec) = std::env::var("BENCH_ONCE") {
        once(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}

//! What each strategy's work costs on one 25 MB seed-shaped body: parse + compute + drop, the
//! time a strategy holds whichever thread runs it (the event loop for /ping, /pong and /lean;
//! a blocking-pool thread for /offload). Reading the body is not included (it is async).
//!
//! `cargo bench -p lab-server --bench parse_strategies`
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

use std::{hint::black_box, time::Duration};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use lab_server::{
    parse::{parse_lean, parse_lean_with_serde_json, parse_owned},
    stream::parse_chunked,
};
use serde::de::IgnoredAny;

fn seed_body() -> Vec<u8> {
    lab_core::payload::generate_seeded("large", 25.0, 42)
}

fn parse_compute_drop(criterion: &mut Criterion) {
    let body = seed_body();
    let mut group = criterion.benchmark_group("25 MB parse+compute+drop");
    group.bench_function("owned (/ping /pong /offload)", |bench| {
        bench.iter(|| {
            let parsed = parse_owned(black_box(&body)).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("lean (/lean)", |bench| {
        bench.iter(|| {
            let mut parsed = parse_lean(black_box(&body)).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("stream (/stream), 64 KiB chunks", |bench| {
        bench.iter(|| {
            let mut parsed = parse_chunked(black_box(&body), 64 * 1024).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("alternative: lean visitor on serde_json", |bench| {
        bench.iter(|| {
            let mut parsed = parse_lean_with_serde_json(black_box(&body)).unwrap();
            black_box(parsed.summary());
            drop(parsed);
        })
    });
    group.bench_function("floor: validate only", |bench| {
        bench.iter(|| serde_json::from_slice::<IgnoredAny>(black_box(&body)).unwrap())
    });
    group.finish();

    let mut group = criterion.benchmark_group("25 MB drop only");
    group.bench_function("owned map", |bench| {
        bench.iter_batched(|| parse_owned(&body).unwrap(), drop, BatchSize::LargeInput)
    });
    group.bench_function("lean map", |bench| {
        bench.iter_batched(|| parse_lean(&body).unwrap(), drop, BatchSize::LargeInput)
    });
    group.finish();
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
criterion_main!(benches);

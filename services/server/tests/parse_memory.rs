//! What parsing a 25 MB study body allocates, counted byte by byte by this test binary's
//! allocator, stays under what the memory budget charges for it before the parse
//! (`strategies::parse_memory`): the budget's bound on memory is measured, not hoped for.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
};

use lab_core::Strategy;
use lab_server::{
    parse::{parse_lean, parse_owned},
    strategies::parse_cost as parse_memory,
    stream::StreamParser,
    upload::guard::BodyShape,
};

/// The system allocator, counting bytes in use and their peak, each allocation rounded up as
/// glibc's malloc does (an 8-byte header, 16-byte steps, 32 bytes at least): a 10-byte key
/// costs 32 bytes of memory, not 10.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn footprint(size: usize) -> usize {
    ((size + 8 + 15) & !15).max(32)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let now =
            IN_USE.fetch_add(footprint(layout.size()), Ordering::SeqCst) + footprint(layout.size());
        PEAK.fetch_max(now, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        IN_USE.fetch_sub(footprint(layout.size()), Ordering::SeqCst);
        unsafe { System.dealloc(pointer, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests in this file run one at a time: the counters are global, and another test's
/// allocations would be counted as this one's.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Peak bytes allocated above what was in use before `work` ran.
fn peak_allocated_by(work: impl FnOnce()) -> usize {
    let before = IN_USE.load(Ordering::SeqCst);
    PEAK.store(before, Ordering::SeqCst);
    work();
    PEAK.load(Ordering::SeqCst) - before
}

fn study_body() -> Vec<u8> {
    lab_core::payload::generate_seeded("large", 25.0, 42)
}

/// The most pairs a body of about `bytes` can hold: distinct 4-letter keys, one-digit values
/// (`"abcd":1,` is 9 bytes a pair).
fn densest_body(bytes: usize) -> Vec<u8> {
    let mut body = br#"{"name":"dense","data":{"#.to_vec();
    let letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut index = 0usize;
    while body.len() < bytes {
        let key: Vec<u8> = (0..4)
            .map(|place| letters[(index / letters.len().pow(place)) % letters.len()])
            .collect();
        if index > 0 {
            body.push(b',');
        }
        body.push(b'"');
        body.extend_from_slice(&key);
        body.extend_from_slice(b"\":1");
        index += 1;
    }
    body.extend_from_slice(b"}}");
    body
}

/// A study-sized body whose every key holds an escape, so even /lean must own every key.
fn escaped_keys_body() -> Vec<u8> {
    let study = study_body();
    let text = String::from_utf8(study).unwrap();
    text.replace("\":", "\\u0061\":")
        .replacen("\"name\\u0061\":", "\"name\":", 1)
        .replacen("\"data\\u0061\":", "\"data\":", 1)
        .into_bytes()
}

/// Checks that `parser` on `body` (parse, summary, drop) allocates no more than `strategy`'s
/// charge for it.
fn check(strategy: Strategy, label: &str, body: &[u8], parse: impl FnOnce(&[u8])) {
    let peak = peak_allocated_by(|| parse(body));
    let charged = parse_memory(strategy)(&BodyShape::of(body));
    println!(
        "{strategy} parse of the {label} body ({} bytes): peak {peak} bytes allocated \
         ({:.2} per body byte), charged {charged} ({:.2})",
        body.len(),
        peak as f64 / body.len() as f64,
        charged as f64 / body.len() as f64
    );
    assert!(
        peak <= charged,
        "{strategy} {label}: peak {peak} > charged {charged}"
    );
}

fn owned(body: &[u8]) {
    let parsed = parse_owned(body).expect("a valid body");
    std::hint::black_box(parsed.summary());
}

fn lean(body: &[u8]) {
    let mut parsed = parse_lean(body).expect("a valid body");
    std::hint::black_box(parsed.summary());
}

/// The owned parse (/ping, /pong, /offload) stays under its charge on the study's body, the
/// densest body and an all-escaped one.
#[test]
fn the_owned_parse_stays_under_its_charge() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    check(Strategy::Pong, "study", &study_body(), owned);
    check(Strategy::Pong, "densest", &densest_body(25_000_000), owned);
    check(Strategy::Pong, "escaped-keys", &escaped_keys_body(), owned);
}

/// The lean parse (/lean) stays under its charge on the same three bodies.
#[test]
fn the_lean_parse_stays_under_its_charge() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    check(Strategy::Lean, "study", &study_body(), lean);
    check(Strategy::Lean, "densest", &densest_body(25_000_000), lean);
    check(Strategy::Lean, "escaped-keys", &escaped_keys_body(), lean);
}

/// /stream charges as it parses, not once the body is complete: the body's bytes as they
/// arrive, and after each chunk what its parser holds beyond them (`held_bytes`: the key table
/// and buffers by capacity). Fed 64 KiB chunks that the caller holds (as actix does), its
/// parse, count and drop never allocate more than the most its parser held (what it charges
/// at most, body bytes and table together) plus its charge at the end, on the same three
/// bodies.
#[test]
fn the_stream_parse_stays_under_its_charge() {
    let _alone = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (label, body) in [
        ("study", study_body()),
        ("densest", densest_body(25_000_000)),
        ("escaped-keys", escaped_keys_body()),
    ] {
        let mut most_charged = 0;
        let peak = peak_allocated_by(|| {
            let mut parser = StreamParser::new();
            for chunk in body.chunks(64 * 1024) {
                parser.feed(chunk).expect("a valid body");
                most_charged = most_charged.max(parser.held_bytes());
            }
            let mut parsed = parser.finish().expect("a valid body");
            std::hint::black_box(parsed.summary());
        });
        let charged =
            most_charged + parse_memory(lab_core::Strategy::Stream)(&BodyShape::of(&body));
        println!(
            "stream parse of the {label} body ({} bytes): peak {peak} bytes allocated \
             ({:.2} per body byte), charged {charged} ({:.2})",
            body.len(),
            peak as f64 / body.len() as f64,
            charged as f64 / body.len() as f64
        );
        assert!(
            peak <= charged,
            "stream {label}: peak {peak} > charged {charged}"
        );
    }
}

//! The study's request body: `{"name": "small", "data": {"qwertyuiop": 123456, …}}`.
//!
//! Keys are 10 random ASCII lowercase letters, values integers in 1..=1_000_000, about
//! 50,000 pairs per MB as in the study. Bodies are written straight into a byte buffer
//! reserved once at its largest possible length ([`max_body_len`]), and the load generator
//! builds them before its clock starts, with the [`Answer`] a correct server gives for each,
//! so it can check any server's answers. [`generate_raw`] makes the other body kind: random
//! bytes, as a file upload would send.
//!
//! A body of a gigabyte takes seconds to write, so every generator has an `_until` twin that
//! asks `keep_going` every [`PAIRS_PER_CHECK`] pairs (or [`RAW_BYTES_PER_CHECK`] bytes) and
//! gives up with [`Stopped`] when told to: a load generator asked to stop while it builds its
//! bodies stops within milliseconds. The twin also writes into a buffer its caller allocated
//! (the load generator asks the kernel to back its buffers with huge pages). Both twins write
//! the same bytes for the same seed.
//!
//! What building costs in memory, so a caller can state it before it builds anything: the
//! body's buffer, [`max_body_len`] bytes, and, while its answer is worked out,
//! [`answer_scratch_len`] bytes more (8 bytes per pair, about 0.4 times the body).
//!
//! A [`BodyStyle`] chooses how a body is spelled: compact (`{"a":1,"b":2}`, the default) or
//! spaced as Python's `json.dumps` and the requests library send it (`{"a": 1, "b": 2}`), and
//! keys of lowercase letters (the default) or of `a-zA-Z`, as the study's Python client draws
//! them. The default style gives the same bytes as the functions without a style.

use std::fmt;

use rand::{Rng, RngExt, SeedableRng, rngs::StdRng};

mod answer;
mod style;

use answer::{AnswerCounter, EntryLayout, bucket_capacity};
use style::MIXED_LETTERS;
pub use style::{Alphabet, BodyStyle, Separators};

/// Pairs per MB of nominal payload size, as in the study's client.
pub const PAIRS_PER_MB: f64 = 50_000.0;
/// Length of each random key.
pub const KEY_LEN: usize = 10;
/// Smallest value in `data`.
pub const MIN_VALUE: i64 = 1;
/// Largest value in `data`.
pub const MAX_VALUE: i64 = 1_000_000;
/// Pairs written between two questions to `keep_going`: about 80 KB of body, a fraction of a
/// millisecond of work in a release build (tens of milliseconds in a debug build).
pub const PAIRS_PER_CHECK: usize = 1 << 12;
/// Raw bytes drawn between two questions to `keep_going` (64 KiB). A multiple of the random
/// generator's word, so drawing in pieces gives the same bytes as drawing all at once.
pub const RAW_BYTES_PER_CHECK: usize = 1 << 16;

/// Number of `data` pairs for a nominal size in MB (at least one).
pub fn pairs_for_size_mb(size_mb: f64) -> usize {
    ((size_mb * PAIRS_PER_MB).round() as usize).max(1)
}

/// What a correct server answers for a study body: the number of distinct keys (a repeated
/// key counts once, its last value wins, as every JSON object parser here does) and the
/// largest value after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Distinct keys in `data`.
    pub count: u64,
    /// Largest value in `data` (last value of each key); 0 when `data` is empty.
    pub maxval: i64,
}

/// A generation that `keep_going` stopped before the body was complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stopped;

impl fmt::Display for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the body's generation was stopped before it was complete")
    }
}

impl std::error::Error for Stopped {}

/// The most bytes a study body of nominal `size_mb` named `name` can have: what its
/// generator reserves, once, before it writes (every value written at its longest).
pub fn max_body_len(name: &str, size_mb: f64) -> usize {
    max_styled_body_len(name, size_mb, BodyStyle::default())
}

/// [`max_body_len`] of a body spelled in `style`.
pub fn max_styled_body_len(name: &str, size_mb: f64, style: BodyStyle) -> usize {
    envelope(name, style).len() + b"}}".len() + pairs_for_size_mb(size_mb) * style.max_pair_len()
}

/// The bytes working out a body's [`Answer`] holds while the body of nominal `size_mb` is
/// written, on top of the body: one 8-byte entry per pair, in buckets given a little room
/// each (see `AnswerCounter`).
pub fn answer_scratch_len(size_mb: f64) -> usize {
    styled_answer_scratch_len(size_mb, BodyStyle::default())
}

/// [`answer_scratch_len`] for a body spelled in `style` (keys of the mixed alphabet are
/// spread over more buckets, each given its own room).
pub fn styled_answer_scratch_len(size_mb: f64, style: BodyStyle) -> usize {
    let layout = EntryLayout::of(style.alphabet);
    let pairs = pairs_for_size_mb(size_mb);
    layout.buckets() * bucket_capacity(pairs, layout.buckets()) * std::mem::size_of::<u64>()
}

/// A study-shaped body with `pairs` random pairs, drawn from `rng`.
pub fn generate_body(name: &str, pairs: usize, rng: &mut impl Rng) -> Vec<u8> {
    write_body(
        name,
        pairs,
        BodyStyle::default(),
        rng,
        Vec::new(),
        &|| true,
        |_, _| {},
    )
    .expect("never asked to stop")
}

/// A study-shaped body of nominal `size_mb` (the same bytes for the same `seed`, as
/// [`generate_seeded`]) and the answer a correct server gives for it.
pub fn generate_seeded_with_answer(name: &str, size_mb: f64, seed: u64) -> (Vec<u8>, Answer) {
    generate_styled_with_answer(name, size_mb, seed, BodyStyle::default())
}

/// [`generate_seeded_with_answer`] spelled in `style`: the same pairs for the same seed
/// whatever the separators (the alphabet changes the keys).
pub fn generate_styled_with_answer(
    name: &str,
    size_mb: f64,
    seed: u64,
    style: BodyStyle,
) -> (Vec<u8>, Answer) {
    generate_styled_with_answer_until(name, size_mb, seed, style, Vec::new(), || true)
        .expect("never asked to stop")
}

/// [`generate_seeded_with_answer`], written into `buffer` (emptied first; with room for
/// [`max_body_len`] bytes it never grows) and asking `keep_going` as it goes (see the module
/// docs).
pub fn generate_seeded_with_answer_until(
    name: &str,
    size_mb: f64,
    seed: u64,
    buffer: Vec<u8>,
    keep_going: impl Fn() -> bool,
) -> Result<(Vec<u8>, Answer), Stopped> {
    generate_styled_with_answer_until(
        name,
        size_mb,
        seed,
        BodyStyle::default(),
        buffer,
        keep_going,
    )
}

/// [`generate_seeded_with_answer_until`] spelled in `style`.
pub fn generate_styled_with_answer_until(
    name: &str,
    size_mb: f64,
    seed: u64,
    style: BodyStyle,
    buffer: Vec<u8>,
    keep_going: impl Fn() -> bool,
) -> Result<(Vec<u8>, Answer), Stopped> {
    let pairs = pairs_for_size_mb(size_mb);
    let mut counter = AnswerCounter::new(pairs, style.alphabet);
    let body = write_body(
        name,
        pairs,
        style,
        &mut StdRng::seed_from_u64(seed),
        buffer,
        &keep_going,
        |key, value| counter.add(key, value),
    )?;
    let answer = counter.finish(&keep_going)?;
    Ok((body, answer))
}

/// Bytes in a raw body of nominal `size_mb`: 1 MB = 1,000,000 bytes.
pub fn raw_len(size_mb: f64) -> usize {
    (size_mb * 1_000_000.0).round() as usize
}

/// A raw body: [`raw_len`]`(size_mb)` random bytes, the same for the same `seed`. Not JSON: what
/// an upload endpoint that stores files receives (`application/octet-stream`).
pub fn generate_raw(size_mb: f64, seed: u64) -> Vec<u8> {
    generate_raw_until(size_mb, seed, Vec::new(), || true).expect("never asked to stop")
}

/// [`generate_raw`], written into `buffer` (emptied first; with room for [`raw_len`] bytes it
/// never grows) and asking `keep_going` every [`RAW_BYTES_PER_CHECK`] bytes.
pub fn generate_raw_until(
    size_mb: f64,
    seed: u64,
    mut buffer: Vec<u8>,
    keep_going: impl Fn() -> bool,
) -> Result<Vec<u8>, Stopped> {
    let len = raw_len(size_mb);
    buffer.clear();
    buffer.reserve_exact(len);
    let mut rng = StdRng::seed_from_u64(seed);
    while buffer.len() < len {
        if !keep_going() {
            return Err(Stopped);
        }
        let start = buffer.len();
        buffer.resize((start + RAW_BYTES_PER_CHECK).min(len), 0);
        rng.fill_bytes(&mut buffer[start..]);
    }
    Ok(buffer)
}

/// [`generate_seeded_until`] spelled in `style`.
pub fn generate_styled_until(
    name: &str,
    size_mb: f64,
    seed: u64,
    style: BodyStyle,
    buffer: Vec<u8>,
    keep_going: impl Fn() -> bool,
) -> Result<Vec<u8>, Stopped> {
    write_body(
        name,
        pairs_for_size_mb(size_mb),
        style,
        &mut StdRng::seed_from_u64(seed),
        buffer,
        &keep_going,
        |_, _| {},
    )
}

/// A study-shaped body of nominal `size_mb`, the same bytes for the same `seed`.
pub fn generate_seeded(name: &str, size_mb: f64, seed: u64) -> Vec<u8> {
    generate_styled(name, size_mb, seed, BodyStyle::default())
}

/// [`generate_seeded`] spelled in `style`: the same bytes for the same `seed` and style.
pub fn generate_styled(name: &str, size_mb: f64, seed: u64, style: BodyStyle) -> Vec<u8> {
    write_body(
        name,
        pairs_for_size_mb(size_mb),
        style,
        &mut StdRng::seed_from_u64(seed),
        Vec::new(),
        &|| true,
        |_, _| {},
    )
    .expect("never asked to stop")
}

/// [`generate_seeded`], written into `buffer` (emptied first; with room for [`max_body_len`]
/// bytes it never grows) and asking `keep_going` every [`PAIRS_PER_CHECK`] pairs.
pub fn generate_seeded_until(
    name: &str,
    size_mb: f64,
    seed: u64,
    buffer: Vec<u8>,
    keep_going: impl Fn() -> bool,
) -> Result<Vec<u8>, Stopped> {
    write_body(
        name,
        pairs_for_size_mb(size_mb),
        BodyStyle::default(),
        &mut StdRng::seed_from_u64(seed),
        buffer,
        &keep_going,
        |_, _| {},
    )
}

/// `{"name":<name as a JSON string>,"data":{` (spaced in `style`): what comes before the
/// pairs.
fn envelope(name: &str, style: BodyStyle) -> Vec<u8> {
    let (comma, colon) = style.separators();
    let mut envelope = b"{\"name\"".to_vec();
    envelope.extend_from_slice(colon);
    envelope.extend_from_slice(&serde_json::to_vec(name).expect("a string serializes"));
    envelope.extend_from_slice(comma);
    envelope.extend_from_slice(b"\"data\"");
    envelope.extend_from_slice(colon);
    envelope.push(b'{');
    envelope
}

/// Writes a study-shaped body in `style` into `body` (emptied, then given room for the longest
/// such body if it has less), telling `on_pair` every key and value in order and asking
/// `keep_going` every [`PAIRS_PER_CHECK`] pairs.
fn write_body(
    name: &str,
    pairs: usize,
    style: BodyStyle,
    rng: &mut impl Rng,
    mut body: Vec<u8>,
    keep_going: &dyn Fn() -> bool,
    mut on_pair: impl FnMut(&[u8; KEY_LEN], i64),
) -> Result<Vec<u8>, Stopped> {
    let envelope = envelope(name, style);
    let (comma, colon) = style.separators();
    body.clear();
    body.reserve_exact(envelope.len() + pairs * style.max_pair_len() + b"}}".len());
    body.extend_from_slice(&envelope);
    for index in 0..pairs {
        if index % PAIRS_PER_CHECK == 0 && !keep_going() {
            return Err(Stopped);
        }
        if index > 0 {
            body.extend_from_slice(comma);
        }
        let mut key = [0; KEY_LEN];
        for letter in &mut key {
            *letter = match style.alphabet {
                // Drawn as a byte range, as the generator always has: the default's bytes
                // stay the same for the same seed.
                Alphabet::Lower => rng.random_range(b'a'..=b'z'),
                Alphabet::Mixed => MIXED_LETTERS[rng.random_range(0..MIXED_LETTERS.len())],
            };
        }
        let value = rng.random_range(MIN_VALUE..=MAX_VALUE);
        on_pair(&key, value);
        body.push(b'"');
        body.extend_from_slice(&key);
        body.push(b'"');
        body.extend_from_slice(colon);
        body.extend_from_slice(value.to_string().as_bytes());
    }
    body.extend_from_slice(b"}}");
    Ok(body)
}

#[cfg(test)]
mod tests;

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

/// What goes between the tokens of a body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Separators {
    /// `,` and `:` alone: `{"name":"large","data":{"abc":1,"def":2}}`.
    #[default]
    Compact,
    /// `", "` and `": "`, as Python's `json.dumps` (and so the requests library's `json=`)
    /// writes them: `{"name": "large", "data": {"abc": 1, "def": 2}}`. Two bytes more a pair.
    Spaced,
}

/// The letters keys are drawn from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Alphabet {
    /// `a-z`.
    #[default]
    Lower,
    /// `a-zA-Z`, as the study's Python client draws its keys (`string.ascii_letters`).
    Mixed,
}

/// The letters of [`Alphabet::Mixed`], in the order a draw indexes them.
const MIXED_LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// How a study body is spelled. The default (compact, lowercase keys) is what
/// [`generate_seeded`] and the other functions without a style write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyStyle {
    /// Compact or spaced.
    pub separators: Separators,
    /// The keys' letters.
    pub alphabet: Alphabet,
}

impl BodyStyle {
    /// `,` and `:`, spaced or not.
    fn separators(self) -> (&'static [u8], &'static [u8]) {
        match self.separators {
            Separators::Compact => (b",", b":"),
            Separators::Spaced => (b", ", b": "),
        }
    }

    /// The longest text of one pair with its separator: `"abcdefghij":1000000,`, two bytes
    /// more spaced.
    fn max_pair_len(self) -> usize {
        let (comma, colon) = self.separators();
        1 + KEY_LEN + 1 + colon.len() + 7 + comma.len()
    }
}

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

/// Bits of an entry that hold the value (1,000,000 < 2^20).
const VALUE_BITS: u32 = 20;
/// An odd multiplier: multiplying by it modulo 2^k mixes a key's bits and can be undone, so
/// a key's bucket and the rest of its bits in the entry together still name exactly one key.
const KEY_MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// How a key becomes a bucket and an entry, for an alphabet: a key read as a number in base
/// 26 (a-z) is below 2^48, in base 52 (a-zA-Z) below 2^58; its top bits pick the bucket (256
/// buckets for lowercase keys, 2^14 for mixed ones) so that what is left of the key fits
/// beside the value in one `u64`.
#[derive(Debug, Clone, Copy)]
struct EntryLayout {
    letters: &'static [u8],
    key_bits: u32,
    bucket_bits: u32,
}

impl EntryLayout {
    fn of(alphabet: Alphabet) -> Self {
        match alphabet {
            Alphabet::Lower => Self {
                letters: b"abcdefghijklmnopqrstuvwxyz",
                key_bits: 48,
                bucket_bits: 8,
            },
            Alphabet::Mixed => Self {
                letters: MIXED_LETTERS,
                key_bits: 58,
                bucket_bits: 14,
            },
        }
    }

    fn buckets(self) -> usize {
        1 << self.bucket_bits
    }

    /// The key's bucket, and its entry with `value`.
    fn place(self, key: &[u8; KEY_LEN], value: i64) -> (usize, u64) {
        let base = self.letters.len() as u64;
        let number = key.iter().fold(0u64, |number, letter| {
            let digit = self
                .letters
                .iter()
                .position(|known| known == letter)
                .expect("a key of the generator's alphabet") as u64;
            number * base + digit
        });
        let mixed = number.wrapping_mul(KEY_MIX) & ((1 << self.key_bits) - 1);
        let rest_bits = self.key_bits - self.bucket_bits;
        let bucket = (mixed >> rest_bits) as usize;
        let rest = mixed & ((1 << rest_bits) - 1);
        (bucket, (rest << VALUE_BITS) | value as u64)
    }
}

/// How many entries each of `buckets` buckets is given before the first pair: the mean plus
/// eight standard deviations (pairs fall into buckets evenly at random), so a bucket
/// practically never grows, and if one does it is still correct.
fn bucket_capacity(pairs: usize, buckets: usize) -> usize {
    let mean = pairs.div_ceil(buckets);
    mean + 8 * mean.isqrt() + 1
}

/// Works out a body's [`Answer`] as its pairs are written, in 8 bytes per pair: 0.4 times
/// the body, where a hash map from key to value takes 25 bytes a slot, 1.6 times the body
/// at a gigabyte (its table is rounded up to a power of two).
///
/// Each key, read as a number and mixed, picks a bucket by its top bits; the bucket keeps the
/// other bits with the value in one `u64`, in the order written ([`EntryLayout`]). At the end
/// each bucket is sorted by key with a stable sort, so the pairs of a repeated key stay in
/// order and the last one is the value that counts: one count per run of equal keys, the
/// largest of those last values.
struct AnswerCounter {
    layout: EntryLayout,
    buckets: Vec<Vec<u64>>,
}

impl AnswerCounter {
    /// A counter with room for `pairs` pairs of keys of `alphabet`.
    fn new(pairs: usize, alphabet: Alphabet) -> Self {
        let layout = EntryLayout::of(alphabet);
        let capacity = bucket_capacity(pairs, layout.buckets());
        Self {
            layout,
            buckets: (0..layout.buckets())
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
        }
    }

    /// Counts the next pair of the body.
    fn add(&mut self, key: &[u8; KEY_LEN], value: i64) {
        let (bucket, entry) = self.layout.place(key, value);
        self.buckets[bucket].push(entry);
    }

    /// The answer for every pair added, asking `keep_going` between buckets.
    fn finish(self, keep_going: &dyn Fn() -> bool) -> Result<Answer, Stopped> {
        let mut answer = Answer {
            count: 0,
            maxval: 0,
        };
        for mut bucket in self.buckets {
            if !keep_going() {
                return Err(Stopped);
            }
            bucket.sort_by_key(|entry| entry >> VALUE_BITS);
            for (index, entry) in bucket.iter().enumerate() {
                let last_of_its_key = bucket
                    .get(index + 1)
                    .is_none_or(|next| next >> VALUE_BITS != entry >> VALUE_BITS);
                if last_of_its_key {
                    answer.count += 1;
                    answer.maxval = answer.maxval.max((entry & ((1 << VALUE_BITS) - 1)) as i64);
                }
            }
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use serde_json::Value;

    #[test]
    fn body_is_valid_json_of_the_study_shape() {
        let body = generate_seeded("small", 0.001, 7);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["name"], "small");
        let data = value["data"].as_object().unwrap();
        assert!(data.len() >= 49, "{} pairs", data.len());
        for (key, value) in data {
            assert_eq!(key.len(), KEY_LEN);
            assert!(key.bytes().all(|b| b.is_ascii_lowercase()));
            let value = value.as_i64().unwrap();
            assert!((MIN_VALUE..=MAX_VALUE).contains(&value));
        }
    }

    #[test]
    fn one_mb_is_about_fifty_thousand_pairs_and_about_a_megabyte() {
        assert_eq!(pairs_for_size_mb(1.0), 50_000);
        assert_eq!(pairs_for_size_mb(25.0), 1_250_000);
        let body = generate_seeded("large", 1.0, 1);
        assert!(
            (0.9e6..1.3e6).contains(&(body.len() as f64)),
            "{} bytes",
            body.len()
        );
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(generate_seeded("x", 0.01, 3), generate_seeded("x", 0.01, 3));
        assert_ne!(generate_seeded("x", 0.01, 3), generate_seeded("x", 0.01, 4));
    }

    /// The answer that comes with a body is what a JSON parser finds in it: distinct keys,
    /// last value wins; the bytes are those of [`generate_seeded`].
    #[test]
    fn the_answer_is_what_a_parser_finds_in_the_body() {
        let (body, answer) = generate_seeded_with_answer("large", 0.5, 9);
        assert_eq!(body, generate_seeded("large", 0.5, 9));
        let data: serde_json::Map<String, Value> = serde_json::from_slice::<Value>(&body).unwrap()
            ["data"]
            .as_object()
            .unwrap()
            .clone();
        assert_eq!(answer.count, data.len() as u64);
        let max = data.values().map(|v| v.as_i64().unwrap()).max().unwrap();
        assert_eq!(answer.maxval, max);
    }

    /// Raw bodies have exactly size_mb × 10^6 bytes, seeded.
    #[test]
    fn raw_bodies_have_the_nominal_size_in_bytes() {
        assert_eq!(generate_raw(0.25, 1).len(), 250_000);
        assert_eq!(generate_raw(0.0, 1).len(), 0);
        assert_eq!(generate_raw(0.01, 2), generate_raw(0.01, 2));
        assert_ne!(generate_raw(0.01, 2), generate_raw(0.01, 3));
    }

    /// A repeated key counts once and its last value is the one that counts, even when an
    /// earlier one was the largest of all.
    #[test]
    fn the_answer_counter_keeps_the_last_value_of_a_repeated_key() {
        let mut counter = AnswerCounter::new(4, Alphabet::Lower);
        counter.add(b"aaaaaaaaaa", 1_000_000);
        counter.add(b"zzzzzzzzzz", 5);
        counter.add(b"aaaaaaaaaa", 3);
        counter.add(b"qwertyuiop", 4);
        let answer = counter.finish(&|| true).unwrap();
        assert_eq!(
            answer,
            Answer {
                count: 3,
                maxval: 5
            }
        );
        let mut counter = AnswerCounter::new(2, Alphabet::Lower);
        counter.add(b"zzzzzzzzzz", 7);
        counter.add(b"zzzzzzzzzz", 9);
        assert_eq!(
            counter.finish(&|| true).unwrap(),
            Answer {
                count: 1,
                maxval: 9
            }
        );
    }

    /// The counter's answer is a hash map's (distinct keys, last value wins) on keys drawn from
    /// a small alphabet, so that many repeat.
    #[test]
    fn the_answer_counter_agrees_with_a_hash_map_and_stays_in_its_room() {
        let pairs = 200_000;
        let mut rng = StdRng::seed_from_u64(5);
        let mut counter = AnswerCounter::new(pairs, Alphabet::Lower);
        let mut last_values = HashMap::new();
        for _ in 0..pairs {
            let mut key = *b"aaaaaaaaaa";
            for letter in &mut key[7..] {
                *letter = rng.random_range(b'a'..=b'f');
            }
            let value = rng.random_range(MIN_VALUE..=MAX_VALUE);
            counter.add(&key, value);
            last_values.insert(key, value);
        }
        let expected = Answer {
            count: last_values.len() as u64,
            maxval: *last_values.values().max().unwrap(),
        };
        assert_eq!(expected.count, 216, "6^3 keys, every one repeated");
        assert_eq!(counter.finish(&|| true).unwrap(), expected);
    }

    /// The keys of a study body spread evenly enough that no bucket of the answer outgrows
    /// the room `answer_scratch_len` counts.
    #[test]
    fn the_answer_counter_stays_in_its_room() {
        for pairs in [50, 100_000, 1_000_000] {
            let mut counter = AnswerCounter::new(pairs, Alphabet::Lower);
            write_body(
                "x",
                pairs,
                BodyStyle::default(),
                &mut StdRng::seed_from_u64(pairs as u64),
                Vec::new(),
                &|| true,
                |key, value| counter.add(key, value),
            )
            .unwrap();
            let room = bucket_capacity(pairs, 256);
            assert!(
                counter
                    .buckets
                    .iter()
                    .all(|bucket| bucket.capacity() == room),
                "{pairs} pairs"
            );
        }
    }

    /// A body is written into one buffer reserved at `max_body_len`, which it never outgrows,
    /// or into its caller's buffer when that has room.
    #[test]
    fn bodies_fit_the_buffer_reserved_for_them() {
        for (name, size_mb) in [("small", 0.001), ("large", 2.0), ("quote\"name", 0.0)] {
            let body = generate_seeded(name, size_mb, 11);
            assert!(body.len() <= max_body_len(name, size_mb), "{name}");
            assert_eq!(body.capacity(), max_body_len(name, size_mb), "{name}");
        }
        assert_eq!(answer_scratch_len(1.0), 256 * (196 + 8 * 14 + 1) * 8);
        // A buffer with room enough is written in place: the body is that very allocation.
        let buffer = Vec::with_capacity(max_body_len("large", 2.0));
        let allocated = buffer.as_ptr();
        let body = generate_seeded_until("large", 2.0, 11, buffer, || true).unwrap();
        assert_eq!(
            (body.as_ptr(), body),
            (allocated, generate_seeded("large", 2.0, 11))
        );
        let buffer = Vec::with_capacity(raw_len(0.3));
        let allocated = buffer.as_ptr();
        let body = generate_raw_until(0.3, 2, buffer, || true).unwrap();
        assert_eq!((body.as_ptr(), body), (allocated, generate_raw(0.3, 2)));
    }

    /// The `_until` twins write the same bytes as the plain generators when left alone, and
    /// stop when told to: a JSON body between two chunks of pairs, its answer between two
    /// buckets, a raw body between two chunks of bytes.
    #[test]
    fn generation_stops_when_told_and_is_the_same_when_not() {
        assert_eq!(
            generate_seeded_until("x", 3.0, 8, Vec::new(), || true).unwrap(),
            generate_seeded("x", 3.0, 8)
        );
        let asked = &std::cell::Cell::new(0);
        let stop_at = |limit: usize| {
            asked.set(0);
            move || {
                asked.set(asked.get() + 1);
                asked.get() <= limit
            }
        };
        // Asked before the first pair, then every PAIRS_PER_CHECK pairs.
        assert_eq!(
            generate_seeded_until("x", 3.0, 8, Vec::new(), stop_at(2)),
            Err(Stopped)
        );
        assert_eq!(asked.get(), 3);
        let asked_while_writing = pairs_for_size_mb(3.0).div_ceil(PAIRS_PER_CHECK);
        assert_eq!(
            generate_seeded_with_answer_until(
                "x",
                3.0,
                8,
                Vec::new(),
                stop_at(asked_while_writing + 10)
            ),
            Err(Stopped),
            "stopped in the answer's buckets"
        );
        assert_eq!(asked.get(), asked_while_writing + 11);
        assert_eq!(
            generate_seeded_with_answer_until("x", 3.0, 8, Vec::new(), || true).unwrap(),
            generate_seeded_with_answer("x", 3.0, 8)
        );
        assert_eq!(
            generate_raw_until(3.0, 8, Vec::new(), stop_at(1)),
            Err(Stopped)
        );
        assert_eq!(asked.get(), 2);
    }

    /// A raw body drawn 64 KiB at a time is the very bytes one draw of the whole length gives.
    #[test]
    fn raw_bodies_drawn_in_pieces_are_the_same_bytes() {
        let size_mb = 2.5;
        let mut whole = vec![0; raw_len(size_mb)];
        StdRng::seed_from_u64(4).fill_bytes(&mut whole);
        assert_eq!(generate_raw(size_mb, 4), whole);
    }

    #[test]
    fn names_are_json_escaped() {
        let body = generate_seeded("quote\"name", 0.0, 1);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["name"], "quote\"name");
        assert_eq!(value["data"].as_object().unwrap().len(), 1);
    }

    /// Keys of both cases, some repeated, counted with the mixed layout: the same answer as a
    /// map from key to last value, whatever the case of a letter.
    #[test]
    fn the_mixed_answer_counter_agrees_with_a_hash_map() {
        let keys: [&[u8; KEY_LEN]; 5] = [
            b"abcdefghij",
            b"Abcdefghij",
            b"ZZZZZZZZZZ",
            b"zzzzzzzzzz",
            b"abcdefghiJ",
        ];
        let mut counter = AnswerCounter::new(20, Alphabet::Mixed);
        let mut map = HashMap::new();
        for (index, key) in keys.iter().cycle().take(17).enumerate() {
            let value = (index as i64 * 7919) % MAX_VALUE + 1;
            counter.add(key, value);
            map.insert(*key, value);
        }
        let answer = counter.finish(&|| true).unwrap();
        assert_eq!(answer.count, map.len() as u64);
        assert_eq!(answer.maxval, *map.values().max().unwrap());
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        })
    }

    /// The default style writes, byte for byte, what the generator wrote before styles
    /// existed: tests and committed runs depend on these bytes (the fingerprints were taken
    /// from the generator without styles).
    #[test]
    fn the_default_style_keeps_the_generators_bytes() {
        for (size_mb, seed, length, fingerprint) in [
            (1.0, 42, 994_511, 0xb7a0_2042_827d_bc3c),
            (0.01, 3, 9_970, 0x6a2f_a8f3_7908_ccff),
        ] {
            let body = generate_styled("large", size_mb, seed, BodyStyle::default());
            assert_eq!(body, generate_seeded("large", size_mb, seed));
            assert_eq!((body.len(), fnv1a(&body)), (length, fingerprint));
        }
    }

    /// A spaced body holds the same pairs as the compact one of the same seed, with `", "`
    /// and `": "` between them (two bytes more a pair), and the same answer.
    #[test]
    fn a_spaced_body_is_the_compact_one_with_spaces() {
        let spaced_style = BodyStyle {
            separators: Separators::Spaced,
            ..BodyStyle::default()
        };
        let (compact, compact_answer) = generate_seeded_with_answer("large", 0.01, 5);
        let (spaced, spaced_answer) = generate_styled_with_answer("large", 0.01, 5, spaced_style);
        assert_eq!(compact_answer, spaced_answer);
        assert_eq!(spaced, generate_styled("large", 0.01, 5, spaced_style));
        assert!(spaced.starts_with(br#"{"name": "large", "data": {""#));
        assert_eq!(
            spaced.len(),
            compact.len() + 2 * pairs_for_size_mb(0.01) + 2
        );
        let compact: Value = serde_json::from_slice(&compact).unwrap();
        let spaced: Value = serde_json::from_slice(&spaced).unwrap();
        assert_eq!(compact, spaced);
    }

    /// Keys of the mixed alphabet use upper- and lowercase letters, and the answer that comes
    /// with the body is still what a parser finds in it (a larger body repeats keys, so the
    /// counter's mixed layout is exercised on duplicates too).
    #[test]
    fn mixed_keys_are_letters_of_both_cases() {
        let style = BodyStyle {
            separators: Separators::Spaced,
            alphabet: Alphabet::Mixed,
        };
        let (body, answer) = generate_styled_with_answer("large", 0.1, 8, style);
        let value: Value = serde_json::from_slice(&body).unwrap();
        let data = value["data"].as_object().unwrap();
        let letters: Vec<u8> = data.keys().flat_map(|key| key.bytes()).collect();
        assert!(letters.iter().all(u8::is_ascii_alphabetic));
        assert!(letters.iter().any(u8::is_ascii_uppercase));
        assert!(letters.iter().any(u8::is_ascii_lowercase));
        assert_eq!(answer.count, data.len() as u64);
        let max = data.values().map(|v| v.as_i64().unwrap()).max().unwrap();
        assert_eq!(answer.maxval, max);
    }
}

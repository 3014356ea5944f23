//! The study's request body: `{"name": "small", "data": {"qwertyuiop": 123456, …}}`.
//!
//! Keys are 10 random ASCII lowercase letters, values integers in 1..=1_000_000, about
//! 50,000 pairs per MB as in the study. Bodies are written straight into a byte buffer
//! (no intermediate map), and the load generator builds them before its clock starts, with
//! the [`Answer`] a correct server gives for each, so it can check any server's answers.
//! [`generate_raw`] makes the other body kind: random bytes, as a file upload would send.
//!
//! A [`BodyStyle`] chooses how a body is spelled: compact (`{"a":1,"b":2}`, the default) or
//! spaced as Python's `json.dumps` and the requests library send it (`{"a": 1, "b": 2}`), and
//! keys of lowercase letters (the default) or of `a-zA-Z`, as the study's Python client draws
//! them. The default style gives the same bytes as the functions without a style.

use std::collections::HashMap;

use rand::{Rng, RngExt, SeedableRng, rngs::StdRng};

/// Pairs per MB of nominal payload size, as in the study's client.
pub const PAIRS_PER_MB: f64 = 50_000.0;
/// Length of each random key.
pub const KEY_LEN: usize = 10;
/// Smallest value in `data`.
pub const MIN_VALUE: i64 = 1;
/// Largest value in `data`.
pub const MAX_VALUE: i64 = 1_000_000;

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

/// A study-shaped body with `pairs` random pairs, drawn from `rng`.
pub fn generate_body(name: &str, pairs: usize, rng: &mut impl Rng) -> Vec<u8> {
    write_body(name, pairs, BodyStyle::default(), rng, |_, _| {})
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
    let pairs = pairs_for_size_mb(size_mb);
    let mut last_values: HashMap<[u8; KEY_LEN], i64> = HashMap::with_capacity(pairs);
    let body = write_body(
        name,
        pairs,
        style,
        &mut StdRng::seed_from_u64(seed),
        |key, value| {
            last_values.insert(*key, value);
        },
    );
    let answer = Answer {
        count: last_values.len() as u64,
        maxval: last_values.values().copied().max().unwrap_or(0),
    };
    (body, answer)
}

/// Bytes in a raw body of nominal `size_mb`: 1 MB = 1,000,000 bytes.
pub fn raw_len(size_mb: f64) -> usize {
    (size_mb * 1_000_000.0).round() as usize
}

/// A raw body: [`raw_len`]`(size_mb)` random bytes, the same for the same `seed`. Not JSON: what
/// an upload endpoint that stores files receives (`application/octet-stream`).
pub fn generate_raw(size_mb: f64, seed: u64) -> Vec<u8> {
    let mut body = vec![0; raw_len(size_mb)];
    StdRng::seed_from_u64(seed).fill_bytes(&mut body);
    body
}

/// Writes a study-shaped body in `style`, telling `on_pair` every key and value in order.
fn write_body(
    name: &str,
    pairs: usize,
    style: BodyStyle,
    rng: &mut impl Rng,
    mut on_pair: impl FnMut(&[u8; KEY_LEN], i64),
) -> Vec<u8> {
    let (comma, colon): (&[u8], &[u8]) = match style.separators {
        Separators::Compact => (b",", b":"),
        Separators::Spaced => (b", ", b": "),
    };
    // `"abcdefghij": 1000000, ` is at most 23 bytes per pair.
    let mut body = Vec::with_capacity(pairs * (KEY_LEN + 14) + name.len() + 32);
    body.extend_from_slice(b"{\"name\"");
    body.extend_from_slice(colon);
    body.extend_from_slice(&serde_json::to_vec(name).expect("a string serializes"));
    body.extend_from_slice(comma);
    body.extend_from_slice(b"\"data\"");
    body.extend_from_slice(colon);
    body.push(b'{');
    for index in 0..pairs {
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
    body
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
        |_, _| {},
    )
}

#[cfg(test)]
mod tests {
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
    /// with the body is still what a parser finds in it.
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

    #[test]
    fn names_are_json_escaped() {
        let body = generate_seeded("quote\"name", 0.0, 1);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["name"], "quote\"name");
        assert_eq!(value["data"].as_object().unwrap().len(), 1);
    }
}

//! The study's request body: `{"name": "small", "data": {"qwertyuiop": 123456, …}}`.
//!
//! Keys are 10 random ASCII lowercase letters, values integers in 1..=1_000_000, about
//! 50,000 pairs per MB as in the study. Bodies are written straight into a byte buffer
//! (no intermediate map), and the load generator builds them before its clock starts.

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

/// A study-shaped body with `pairs` random pairs, drawn from `rng`.
pub fn generate_body(name: &str, pairs: usize, rng: &mut impl Rng) -> Vec<u8> {
    // `"abcdefghij":1000000,` is at most 21 bytes per pair.
    let mut body = Vec::with_capacity(pairs * (KEY_LEN + 12) + name.len() + 32);
    body.extend_from_slice(b"{\"name\":");
    body.extend_from_slice(&serde_json::to_vec(name).expect("a string serializes"));
    body.extend_from_slice(b",\"data\":{");
    for index in 0..pairs {
        if index > 0 {
            body.push(b',');
        }
        body.push(b'"');
        for _ in 0..KEY_LEN {
            body.push(rng.random_range(b'a'..=b'z'));
        }
        body.extend_from_slice(b"\":");
        body.extend_from_slice(
            rng.random_range(MIN_VALUE..=MAX_VALUE)
                .to_string()
                .as_bytes(),
        );
    }
    body.extend_from_slice(b"}}");
    body
}

/// A study-shaped body of nominal `size_mb`, the same bytes for the same `seed`.
pub fn generate_seeded(name: &str, size_mb: f64, seed: u64) -> Vec<u8> {
    generate_body(
        name,
        pairs_for_size_mb(size_mb),
        &mut StdRng::seed_from_u64(seed),
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

    #[test]
    fn names_are_json_escaped() {
        let body = generate_seeded("quote\"name", 0.0, 1);
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["name"], "quote\"name");
        assert_eq!(value["data"].as_object().unwrap().len(), 1);
    }
}

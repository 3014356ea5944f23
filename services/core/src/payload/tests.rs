//! The study body generator's tests: the shape, the sizes, the answers, the styles, the
//! stops.

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
    let data: serde_json::Map<String, Value> =
        serde_json::from_slice::<Value>(&body).unwrap()["data"]
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

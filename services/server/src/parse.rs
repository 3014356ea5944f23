//! The pure work every strategy does: parse a study body, then count its keys and find the
//! largest value. No I/O, no timing: the handlers time these calls, the bench measures them.
//!
//! Two parsers, one meaning. [`parse_owned`] is what any framework does: a typed struct with
//! an owned `HashMap<String, i64>` (one heap string per key, SipHash), parsed by `serde_json`.
//! [`parse_lean`] does the least work that still gives the same answer: the SIMD parser
//! sonic-rs, keys borrowed from the body (owned only when a key holds escapes), and no hash
//! map at all: the pairs go into a flat vector in document order, each with its key's seeded
//! hash, and duplicates are resolved afterwards by sorting (hash, position) pairs
//! ([`LeanPairs::summary`]): sequential memory traffic instead of 1.25 million random probes
//! into a table bigger than any cache. Both read the pairs in document order, so a repeated
//! key keeps its last value in both; bad bodies are answered by
//! `serde_json` in both, so the status and message are the same (see the `agreement` tests and
//! the differential fuzz in `tests/parser_fuzz.rs`).

use std::{borrow::Cow, collections::HashMap, fmt, hash::BuildHasher};

use serde::{
    Deserialize, Deserializer,
    de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor},
};

use crate::error::LabError;

/// The study's request body as a framework would model it: every key an owned `String`.
#[derive(Debug, Deserialize)]
pub struct StudyBody {
    /// Echoed in the response.
    pub name: String,
    /// The pairs to count. A repeated key keeps its last value, as in any JSON-to-map parse.
    pub data: HashMap<String, i64>,
}

/// The same body, borrowing from the request bytes wherever it can.
#[derive(Debug)]
pub struct LeanBody<'body> {
    /// Echoed in the response.
    pub name: Cow<'body, str>,
    /// The pairs to count, keys pointing into the body unless they hold escapes.
    pub data: LeanPairs<'body>,
}

/// The lean body's pairs in document order, duplicates not yet resolved, with each key's
/// hash beside its position. The hash is foldhash (hashbrown's own default), seeded per
/// parse: a client cannot precompute keys that share a hash, so a group of equal hashes is a
/// repeated key (or, rarely, a true collision, resolved by comparing the keys).
#[derive(Debug)]
pub struct LeanPairs<'body> {
    /// `(key, value)` in document order.
    pairs: Vec<(Cow<'body, str>, i64)>,
    /// `(hash of the key, position in pairs)`, in document order until the summary sorts it.
    order: Vec<(u64, usize)>,
    hasher: foldhash::fast::RandomState,
}

impl<'body> LeanPairs<'body> {
    /// Room for `capacity` pairs (one allocation each for the pairs and their order).
    fn with_capacity(capacity: usize) -> Self {
        Self {
            pairs: Vec::with_capacity(capacity),
            order: Vec::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Appends a pair; a later pair with the same key will win.
    fn push(&mut self, key: Cow<'body, str>, value: i64) {
        let hash = self.hasher.hash_one(key.as_ref());
        self.order.push((hash, self.pairs.len()));
        self.pairs.push((key, value));
    }

    /// Pairs read, repeated keys included.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether no pair was read.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The value the key ends up with (its last), if the body has the key.
    pub fn get(&self, key: &str) -> Option<i64> {
        self.pairs
            .iter()
            .rev()
            .find(|(candidate, _)| candidate == key)
            .map(|(_, value)| *value)
    }

    /// The keys in document order, repeats included.
    pub fn keys(&self) -> impl Iterator<Item = &Cow<'body, str>> {
        self.pairs.iter().map(|(key, _)| key)
    }

    /// Distinct keys and the largest last value: sorts the (hash, position) pairs (so equal
    /// hashes sit together, in document order), then counts each run of equal hashes with the
    /// [`Tally`](crate::distinct::Tally) `/stream` uses too.
    pub fn summary(&mut self) -> Summary {
        self.order.sort_unstable();
        let pairs = &self.pairs;
        let mut tally = crate::distinct::Tally::default();
        tally.add_sorted(
            &self.order,
            |(hash, _)| hash,
            |(_, position)| {
                let (key, value) = &pairs[position];
                (key.as_bytes(), *value)
            },
        );
        tally.summary()
    }
}

/// What every strategy answers (defined with the count that makes it).
pub use crate::distinct::Summary;

/// Smallest body bytes per pair we expect (`"abcdefghij":1,`), used to size the lean pairs'
/// vectors once: a seed-shaped body has ~20 bytes per pair, so this over-reserves a little
/// rather than moving 1.25 million pairs several times while parsing.
pub const LEAN_BYTES_PER_PAIR_HINT: usize = 16;

/// Parses `body` into owned strings and a SipHash map: the framework way.
pub fn parse_owned(body: &[u8]) -> Result<StudyBody, LabError> {
    serde_json::from_slice(body).map_err(LabError::from_json)
}

/// Bodies with more `[`/`{` bytes than this skip sonic-rs (see [`parse_lean`]). A study body
/// has two (three in the array form `[name, data]`). Any other body with more is either an
/// error or has an unknown field, and goes to `serde_json` in the end anyway; only brackets
/// inside keys or the name send a good body there early (slower, the same answer).
pub const MAX_OPENERS_FOR_SONIC: usize = 8;

/// Parses `body` borrowing keys from it, into [`LeanPairs`] reserved from the body length, with the
/// SIMD parser sonic-rs driving the lean visitor.
///
/// Three guards keep it exactly as correct as `serde_json`, the parser of the other endpoints:
/// - sonic-rs *skips* a value with weaker checks than `serde_json`: it does not look at the
///   four characters after `\u` in a skipped string, so `{"name":"n","data":{},"x":"\u12zz"}`
///   was a 200 on /lean and a 400 everywhere else (and `\u","` swallows a quote, so a skipped
///   string can even end elsewhere). On this path unknown fields are therefore refused, never
///   skipped: the body goes to `serde_json`, which skips them as `parse_owned` does. A study
///   body has no unknown fields, so its fast path is unchanged; sonic-rs only ever *parses*
///   here (the two field names, the name, the keys and the i64 values), and its parsing is at
///   least as strict as `serde_json`'s (`tests/parser_fuzz.rs` keeps checking that).
/// - sonic-rs recurses without a depth limit when it skips a container to describe an error (a
///   `[` where a string or number belongs), so a small body a million `[` deep would overflow
///   the worker's stack and abort the server; in a debug build (the tests) each level takes
///   some 45 KB of stack, so even 50 levels overflow a 2 MB thread. Nesting can be no deeper
///   than the number of `[` and `{` bytes, which memchr counts in a few ms; past
///   [`MAX_OPENERS_FOR_SONIC`] the body goes to `serde_json`, which has a depth limit.
/// - On any error the body is parsed again by [`parse_lean_with_serde_json`] and that answer is
///   returned: the error path is rare and untimed, and a bad body gets exactly the status,
///   kind and message (with line and column) the other endpoints give it.
pub fn parse_lean(body: &[u8]) -> Result<LeanBody<'_>, LabError> {
    let openers = memchr::memchr2_iter(b'[', b'{', body)
        .take(MAX_OPENERS_FOR_SONIC + 1)
        .count();
    if openers > MAX_OPENERS_FOR_SONIC {
        return parse_lean_with_serde_json(body);
    }
    let capacity = body.len() / LEAN_BYTES_PER_PAIR_HINT;
    let mut deserializer = sonic_rs::Deserializer::from_slice(body);
    deserialize_lean(&mut deserializer, capacity, UnknownFields::Refuse)
        .and_then(|parsed| deserializer.end().map(|()| parsed))
        .or_else(|_| parse_lean_with_serde_json(body))
}

/// The lean visitor driven by `serde_json` (the same parser as [`parse_owned`]).
pub fn parse_lean_with_serde_json(body: &[u8]) -> Result<LeanBody<'_>, LabError> {
    let capacity = body.len() / LEAN_BYTES_PER_PAIR_HINT;
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    deserialize_lean(&mut deserializer, capacity, UnknownFields::Skip)
        .and_then(|parsed| deserializer.end().map(|()| parsed))
        .map_err(LabError::from_json)
}

/// The lean visitor driven by any serde deserializer, with the pairs' vectors pre-sized to
/// `capacity`.
fn deserialize_lean<'de, D: Deserializer<'de>>(
    deserializer: D,
    capacity: usize,
    unknown_fields: UnknownFields,
) -> Result<LeanBody<'de>, D::Error> {
    let visitor = LeanBodyVisitor {
        capacity,
        unknown_fields,
    };
    deserializer.deserialize_struct("StudyBody", FIELDS, visitor)
}

/// What the lean visitor does with a field other than `name` and `data`.
#[derive(Debug, Clone, Copy)]
enum UnknownFields {
    /// Skip its value, as `#[derive(Deserialize)]` does: with `serde_json` this checks the
    /// skipped value exactly as [`parse_owned`] does.
    Skip,
    /// Fail, so that [`parse_lean`] hands the body to `serde_json` (sonic-rs checks less
    /// when it skips).
    Refuse,
}

/// Counts the keys and finds the largest value: the "compute" phase, shared by all strategies.
pub fn summarize<'a>(values: impl ExactSizeIterator<Item = &'a i64>) -> Summary {
    let count = values.len();
    let maxval = values.copied().max().unwrap_or(0);
    Summary { count, maxval }
}

impl StudyBody {
    /// [`summarize`] over this body's data.
    pub fn summary(&self) -> Summary {
        summarize(self.data.values())
    }
}

impl LeanBody<'_> {
    /// Distinct keys and the largest value, duplicates resolved ([`LeanPairs::summary`]).
    pub fn summary(&mut self) -> Summary {
        self.data.summary()
    }
}

const FIELDS: &[&str] = &["name", "data"];

/// Mirrors what `#[derive(Deserialize)]` does for [`StudyBody`] (fields in any order, unknown
/// fields skipped, duplicate or missing fields rejected, the array form `[name, data]`
/// accepted), so both parsers meet errors in the same order and give the same status.
struct LeanBodyVisitor {
    capacity: usize,
    unknown_fields: UnknownFields,
}

impl<'de> Visitor<'de> for LeanBodyVisitor {
    type Value = LeanBody<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("struct StudyBody")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut name: Option<Cow<'de, str>> = None;
        let mut data = None;
        while let Some(key) = map.next_key_seed(BorrowedStr)? {
            match key.as_ref() {
                "name" => {
                    if name.is_some() {
                        return Err(de::Error::duplicate_field("name"));
                    }
                    name = Some(map.next_value_seed(BorrowedStr)?);
                }
                "data" => {
                    if data.is_some() {
                        return Err(de::Error::duplicate_field("data"));
                    }
                    data = Some(map.next_value_seed(LeanDataSeed {
                        capacity: self.capacity,
                    })?);
                }
                _ => match self.unknown_fields {
                    UnknownFields::Skip => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    UnknownFields::Refuse => {
                        return Err(de::Error::custom(
                            "an unknown field: left to serde_json, which checks what it skips",
                        ));
                    }
                },
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("name"))?;
        let data = data.ok_or_else(|| de::Error::missing_field("data"))?;
        Ok(LeanBody { name, data })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let name = seq
            .next_element_seed(BorrowedStr)?
            .ok_or_else(|| de::Error::invalid_length(0, &"struct StudyBody with 2 elements"))?;
        let data = seq
            .next_element_seed(LeanDataSeed {
                capacity: self.capacity,
            })?
            .ok_or_else(|| de::Error::invalid_length(1, &"struct StudyBody with 2 elements"))?;
        Ok(LeanBody { name, data })
    }
}

/// Deserializes `data` into [`LeanPairs`] reserved once.
struct LeanDataSeed {
    capacity: usize,
}

impl<'de> DeserializeSeed<'de> for LeanDataSeed {
    type Value = LeanPairs<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LeanDataSeed {
    type Value = LeanPairs<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a map")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut data = LeanPairs::with_capacity(self.capacity);
        while let Some(key) = map.next_key_seed(BorrowedStr)? {
            let value: i64 = map.next_value()?;
            data.push(key, value);
        }
        Ok(data)
    }
}

/// A string borrowed from the input when it has no escapes, owned when it has.
struct BorrowedStr;

impl<'de> DeserializeSeed<'de> for BorrowedStr {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BorrowedStr {
    type Value = Cow<'de, str>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn both(body: &str) -> (Result<Summary, u16>, Result<Summary, u16>) {
        use actix_web::ResponseError;
        let owned = parse_owned(body.as_bytes())
            .map(|b| b.summary())
            .map_err(|e| e.status_code().as_u16());
        let lean = parse_lean(body.as_bytes())
            .map(|mut b| b.summary())
            .map_err(|e| e.status_code().as_u16());
        (owned, lean)
    }

    #[test]
    fn duplicate_keys_count_once_and_the_last_value_wins() {
        let (owned, lean) = both(r#"{"name":"n","data":{"a":9,"b":1,"a":2}}"#);
        assert_eq!(
            owned,
            Ok(Summary {
                count: 2,
                maxval: 2
            })
        );
        assert_eq!(lean, owned);
    }

    #[test]
    fn escaped_keys_equal_their_plain_spelling() {
        let (owned, lean) = both(r#"{"name":"n","data":{"abc":5,"a\u0062c":7}}"#);
        assert_eq!(
            owned,
            Ok(Summary {
                count: 1,
                maxval: 7
            })
        );
        assert_eq!(lean, owned);
    }

    #[test]
    fn empty_data_has_maxval_zero() {
        let (owned, lean) = both(r#"{"name":"n","data":{}}"#);
        assert_eq!(
            owned,
            Ok(Summary {
                count: 0,
                maxval: 0
            })
        );
        assert_eq!(lean, owned);
    }

    #[test]
    fn an_unknown_field_is_checked_as_serde_json_checks_it() {
        for (body, expected) in [
            (r#"{"name":"n","data":{"a":1},"x":"\u12zz"}"#, Err(400)),
            (r#"{"x":{"\u00zz":1},"name":"n","data":{"a":1}}"#, Err(400)),
            (
                r#"{"name":"n","data":{"a":1},"x":["\ud800",1e400]}"#,
                Ok(Summary {
                    count: 1,
                    maxval: 1,
                }),
            ),
        ] {
            let (owned, lean) = both(body);
            assert_eq!(owned, expected, "{body}");
            assert_eq!(lean, owned, "{body}");
        }
    }

    #[test]
    fn lean_borrows_plain_keys_and_owns_escaped_ones() {
        let body = br#"{"name":"n","data":{"plain":1,"esc\u0061ped":2}}"#;
        let parsed = parse_lean(body).unwrap();
        let borrowed = parsed
            .data
            .keys()
            .filter(|key| matches!(key, Cow::Borrowed(_)))
            .count();
        assert_eq!(borrowed, 1);
        assert_eq!(parsed.data.get("escaped"), Some(2));
    }

    /// Many repeats of a few keys, interleaved: each counts once with its last value, however
    /// the repeats fall after sorting by hash.
    #[test]
    fn interleaved_repeats_resolve_to_each_keys_last_value() {
        let mut data = String::new();
        for round in 0..500 {
            for key in ["a", "b", "c"] {
                data.push_str(&format!("\"{key}\":{},", round * 3 + key.len()));
            }
        }
        data.push_str("\"d\":-5");
        let body = format!(r#"{{"name":"n","data":{{{data}}}}}"#);
        let (owned, lean) = both(&body);
        assert_eq!(
            owned,
            Ok(Summary {
                count: 4,
                maxval: 1498
            })
        );
        assert_eq!(lean, owned);
    }
}

//! All five strategies give the same name, count and maxval for every body, and the same
//! status for every bad one: on many random bodies through the pure parsers (`/ping`'s
//! extractor and `/pong`/`/offload` use `parse_owned`, `/lean` uses `parse_lean`, `/stream`
//! its push parser, fed here whole and in 1- and 7-byte chunks), and on a handful over HTTP.

mod common;

use actix_web::ResponseError;
use common::{STRATEGIES, expected_summary, spawn_app};
use lab_core::schema::LabResponse;
use lab_server::{
    parse::{Summary, parse_lean, parse_owned},
    stream::parse_chunked,
};
use rand::{RngExt, SeedableRng, rngs::StdRng, seq::IndexedRandom};

/// Keys chosen so that random bodies repeat them, spell them with escapes, and leave ASCII.
const KEYS: &[&str] = &[
    "a",
    "b",
    "abc",
    "ab",
    "",
    "é",
    "日本",
    "ключ",
    "😀",
    "q\"uote",
    "back\\slash",
    "tab\t",
    "new\nline",
    "/slash",
    "a b",
];

const EDGE_VALUES: &[i64] = &[0, 1, -1, i64::MIN, i64::MAX, i64::MIN + 1, i64::MAX - 1];

/// A JSON string literal for `text`, with some characters randomly written as `\uXXXX`
/// escapes (surrogate pairs outside the BMP): many spellings of one key.
fn json_string(text: &str, rng: &mut StdRng) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        let must_escape = c == '"' || c == '\\' || (c as u32) < 0x20;
        if must_escape || rng.random_bool(0.3) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

fn space(rng: &mut StdRng) -> &'static str {
    [" ", "", "\n", "\t ", ""].choose(rng).unwrap()
}

fn random_value(rng: &mut StdRng) -> i64 {
    match rng.random_range(0..3) {
        0 => *EDGE_VALUES.choose(rng).unwrap(),
        1 => rng.random_range(-1000..1000),
        _ => rng.random(),
    }
}

/// A valid study body: random keys (often repeated), values, spacing, field order, and
/// sometimes an extra field both parsers must skip.
fn random_body(rng: &mut StdRng) -> String {
    let pairs: Vec<String> = (0..rng.random_range(0..40))
        .map(|_| {
            let key = json_string(KEYS.choose(rng).unwrap(), rng);
            format!(
                "{}{key}{}:{}{}",
                space(rng),
                space(rng),
                space(rng),
                random_value(rng)
            )
        })
        .collect();
    let name = json_string(
        ["small", "large", "naïve \"name\"", ""]
            .choose(rng)
            .unwrap(),
        rng,
    );
    let mut fields = vec![
        format!("\"name\":{}{name}", space(rng)),
        format!("\"data\":{{{}}}", pairs.join(",")),
    ];
    if rng.random_bool(0.2) {
        fields.push(r#""extra": [1, {"nested": null}, "x"]"#.into());
    }
    if rng.random_bool(0.5) {
        fields.reverse();
    }
    format!("{}{{{}}}{}", space(rng), fields.join(","), space(rng))
}

/// A body that must fail: a float or out-of-range value spliced in, a truncation, or a byte
/// overwritten (which may also leave it valid: then both must agree on the answer).
fn broken_body(rng: &mut StdRng) -> Vec<u8> {
    let body = random_body(rng).into_bytes();
    match rng.random_range(0..4) {
        0 => String::from_utf8(body)
            .unwrap()
            .replacen("\"data\":{", "\"data\":{\"f\":1.5,", 1)
            .into_bytes(),
        1 => String::from_utf8(body)
            .unwrap()
            .replacen("\"data\":{", "\"data\":{\"big\":9223372036854775808,", 1)
            .into_bytes(),
        2 => body[..rng.random_range(0..body.len())].to_vec(),
        _ => {
            let mut body = body;
            let at = rng.random_range(0..body.len());
            body[at] = *b"{}[]\",:0-a ".choose(rng).unwrap();
            body
        }
    }
}

type Outcome = Result<(String, Summary), (u16, lab_core::ServerErrorKind)>;
/// `Ok((count, maxval))` or `Err(status)`.
type Expected = Result<(usize, i64), u16>;

fn owned_outcome(body: &[u8]) -> Outcome {
    parse_owned(body)
        .map(|parsed| {
            let summary = parsed.summary();
            (parsed.name, summary)
        })
        .map_err(|error| (error.status_code().as_u16(), error.kind()))
}

/// `/lean`'s outcome, once `/stream`'s parser has given the same for `body` fed whole and in
/// 1- and 7-byte chunks (it panics otherwise).
fn lean_outcome(body: &[u8]) -> Outcome {
    let lean = parse_lean(body)
        .map(|mut parsed| (parsed.name.to_string(), parsed.summary()))
        .map_err(|error| (error.status_code().as_u16(), error.kind()));
    for chunk in [body.len(), 1, 7] {
        let streamed = parse_chunked(body, chunk)
            .map(|mut parsed| {
                let summary = parsed.summary();
                (parsed.name, summary)
            })
            .map_err(|error| (error.status_code().as_u16(), error.kind()));
        assert_eq!(
            streamed,
            lean,
            "/stream in {chunk}-byte chunks: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    lean
}

/// 2,000 random valid bodies: both parsers match an independent `serde_json::Value` count.
#[test]
fn parsers_agree_with_an_independent_count_on_random_valid_bodies() {
    let mut rng = StdRng::seed_from_u64(2024);
    for _ in 0..2000 {
        let body = random_body(&mut rng);
        let (count, maxval) = expected_summary(body.as_bytes());
        let expected = Summary {
            count: count as usize,
            maxval,
        };
        let owned = owned_outcome(body.as_bytes());
        assert_eq!(owned.as_ref().map(|o| o.1), Ok(expected), "{body}");
        assert_eq!(lean_outcome(body.as_bytes()), owned, "{body}");
    }
}

/// Random seed-shaped bodies of many sizes, as the load generator makes them.
#[test]
fn parsers_agree_on_seed_shaped_bodies() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..50 {
        let pairs = rng.random_range(0..5000);
        let body = lab_core::payload::generate_body("small", pairs, &mut rng);
        let (count, maxval) = expected_summary(&body);
        let owned = owned_outcome(&body);
        let summary = owned.as_ref().unwrap().1;
        assert_eq!((summary.count as u64, summary.maxval), (count, maxval));
        assert!(summary.count <= pairs.max(1));
        assert_eq!(lean_outcome(&body), owned);
    }
}

/// 2,000 broken bodies: both parsers give the same status and error kind (or, when the
/// damage left valid JSON, the same answer).
#[test]
fn parsers_agree_on_random_broken_bodies() {
    let mut rng = StdRng::seed_from_u64(99);
    let mut statuses = std::collections::BTreeMap::new();
    for _ in 0..2000 {
        let body = broken_body(&mut rng);
        let owned = owned_outcome(&body);
        assert_eq!(
            lean_outcome(&body),
            owned,
            "{}",
            String::from_utf8_lossy(&body)
        );
        *statuses
            .entry(owned.err().map_or(200, |(status, _)| status))
            .or_insert(0) += 1;
    }
    // The generator really produces both kinds of failure.
    assert!(statuses.get(&400).is_some_and(|n| *n > 100), "{statuses:?}");
    assert!(statuses.get(&422).is_some_and(|n| *n > 100), "{statuses:?}");
}

/// The edge cases by hand, with their exact answers.
#[test]
fn hand_made_edge_cases_have_the_documented_answers() {
    let cases: &[(&str, Expected)] = &[
        (r#"{"name":"n","data":{}}"#, Ok((0, 0))),
        (r#"{"name":"n","data":{"a":5,"a":-3}}"#, Ok((1, -3))),
        (r#"{"name":"n","data":{"abc":1,"a\u0062c":2}}"#, Ok((1, 2))),
        (
            r#"{"name":"n","data":{"é":1,"\u00e9":2,"e\u0301":3}}"#,
            Ok((2, 3)),
        ),
        (
            r#"{"name":"n","data":{"😀":1,"\ud83d\ude00":4}}"#,
            Ok((1, 4)),
        ),
        (
            r#"{"name":"n","data":{"lo":-9223372036854775808}}"#,
            Ok((1, i64::MIN)),
        ),
        (
            r#"{"name":"n","data":{"hi":9223372036854775807}}"#,
            Ok((1, i64::MAX)),
        ),
        (r#"{"name":"n","data":{"a":-5,"b":-7}}"#, Ok((2, -5))),
        (r#"["n",{"a":1}]"#, Ok((1, 1))),
        (r#"{"name":"n","data":{"a":9223372036854775808}}"#, Err(422)),
        (
            r#"{"name":"n","data":{"a":-9223372036854775809}}"#,
            Err(422),
        ),
        (r#"{"name":"n","data":{"a":1.0}}"#, Err(422)),
        (r#"{"name":"n","data":{"a":1e400}}"#, Err(400)),
        (r#"{"name":"n","data":{"a":01}}"#, Err(400)),
        (r#"{"name":"n","data":{"a":1}"#, Err(400)),
        (r#"{"name":"n","data":{"\ud800":1}}"#, Err(400)),
        // A skipped field is checked as `serde_json` checks it: the four hex digits of a `\u`
        // escape and the number syntax, but not surrogates, number ranges or UTF-8.
        (r#"{"name":"n","data":{"a":1},"x":"\u12zz"}"#, Err(400)),
        (r#"{"x":"\u123\","name":"n","data":{"a":1}}"#, Err(400)),
        (r#"{"name":"n","data":{"a":1},"x":01}"#, Err(400)),
        (r#"{"name":"n","data":{"a":1},"x":"\ud800"}"#, Ok((1, 1))),
        (r#"{"name":"n","data":{"a":1},"x":1e400}"#, Ok((1, 1))),
    ];
    for (body, expected) in cases {
        for outcome in [
            owned_outcome(body.as_bytes()),
            lean_outcome(body.as_bytes()),
        ] {
            let got = outcome
                .map(|(_, summary)| (summary.count, summary.maxval))
                .map_err(|(status, _)| status);
            assert_eq!(&got, expected, "{body}");
        }
    }
}

/// Bodies where a SIMD parser might differ from `serde_json`: raw control characters and
/// invalid UTF-8 in strings, non-JSON numbers, deep nesting in a skipped field, odd spacing.
#[test]
fn parsers_agree_where_json_parsers_often_differ() {
    let deep = format!(
        r#"{{"name":"n","extra":{}1{},"data":{{"a":1}}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let cases: Vec<Vec<u8>> = vec![
        b"{\"name\":\"n\",\"data\":{\"a\tb\":1}}".to_vec(),
        b"{\"name\":\"n\",\"data\":{\"\xff\xfe\":1}}".to_vec(),
        b"{\"name\":\"\xc3\",\"data\":{}}".to_vec(),
        br#"{"name":"n","data":{"a":-}}"#.to_vec(),
        br#"{"name":"n","data":{"a":1.}}"#.to_vec(),
        br#"{"name":"n","data":{"a":NaN}}"#.to_vec(),
        br#"{"name":"n","data":{"a":Infinity}}"#.to_vec(),
        br#"{"name":"n","data":{"a":-0}}"#.to_vec(),
        br#"{"name":"n","data":{"a":1E2}}"#.to_vec(),
        br#"{"name":"n","data":{"a\/b":1,"a/b":2}}"#.to_vec(),
        br#"{"name":"n","data":{"a":1},}"#.to_vec(),
        br#"{"name":"n","data":{"a":1}}{}"#.to_vec(),
        b"\xef\xbb\xbf{\"name\":\"n\",\"data\":{}}".to_vec(),
        b" \r\n\t{\"name\":\"n\",\"data\":{}} \r\n\t".to_vec(),
        br#"{"name":"n","data":{"a":true}}"#.to_vec(),
        br#"{"name":"n","extra":"\u12","data":{}}"#.to_vec(),
        b"{\"name\":\"n\",\"extra\":\"raw\ttab\",\"data\":{}}".to_vec(),
        b"{\"name\":\"n\",\"extra\":\"\xff\",\"data\":{}}".to_vec(),
        br#"{"name":"n","extra":1e400,"data":{}}"#.to_vec(),
        br#"{"name":"n","extra":[1,{"a":[true,null,"x"]}],"data":{"k":3}}"#.to_vec(),
        b"{\"name\":\"n\",\"data\":{\"a\":1}}\0".to_vec(),
        deep.into_bytes(),
    ];
    for body in cases {
        assert_eq!(
            lean_outcome(&body),
            owned_outcome(&body),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// A body nested a million levels deep, in each place a value can be, gets the same answer
/// from both parsers (an error, or for a skipped extra field a normal answer), never a stack
/// overflow (which would abort the whole server).
#[test]
fn a_million_levels_of_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    for body in [
        format!(r#"{{"name":"n","extra":{deep},"data":{{}}}}"#),
        format!(r#"{{"name":"n","data":{{"a":{deep}}}}}"#),
        format!(r#"{{"name":{deep},"data":{{}}}}"#),
        format!(r#"{{"name":"n","data":{deep}}}"#),
        deep.clone(),
    ] {
        let owned = owned_outcome(body.as_bytes());
        assert_eq!(owned.is_ok(), body.contains("extra"));
        assert_eq!(lean_outcome(body.as_bytes()), owned);
    }
}

/// Over HTTP, the five endpoints give the same answer for edge-case and random bodies.
#[tokio::test]
async fn the_five_endpoints_agree_over_http() {
    let app = spawn_app(&[]).await;
    let mut rng = StdRng::seed_from_u64(5);
    let mut bodies: Vec<Vec<u8>> = vec![
        br#"{"name":"n","data":{"a":5,"a":-3,"a\u0062":2,"\u00e9":9223372036854775807}}"#.to_vec(),
        br#"{"name":"n","data":{}}"#.to_vec(),
        br#"{"name":"n","data":{"x":-9223372036854775808}}"#.to_vec(),
        br#"{"name":"n","data":{"x":1.5}}"#.to_vec(),
        br#"{"name":"n","data":{"x":1"#.to_vec(),
        br#"{"name":"n","data":{"a":1},"x":"\u12zz"}"#.to_vec(),
    ];
    bodies.extend((0..10).map(|_| random_body(&mut rng).into_bytes()));
    bodies.extend((0..10).map(|_| broken_body(&mut rng)));
    for body in bodies {
        let mut answers = Vec::new();
        for endpoint in STRATEGIES {
            let response = app.post_json(endpoint, body.clone()).await;
            let status = response.status().as_u16();
            let answer = if status == 200 {
                let answer: LabResponse = response.json().await.unwrap();
                serde_json::json!([answer.name, answer.count, answer.maxval])
            } else {
                let error: lab_core::schema::ErrorBody = response.json().await.unwrap();
                serde_json::json!([status, error.error])
            };
            answers.push(answer);
        }
        assert!(
            answers.windows(2).all(|pair| pair[0] == pair[1]),
            "{}: {answers:?}",
            String::from_utf8_lossy(&body)
        );
    }
}

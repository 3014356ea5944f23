//! `/stream`'s parse: the study body read as it arrives, a chunk at a time, never held whole.
//!
//! - [`machine`]: the push parser's grammar, a state machine over the study body's shape that
//!   gives serde_json's answer (the same name and pairs, or the same kind of error) whatever
//!   the chunk boundaries.
//! - [`lexer`]: its tokens (strings, numbers, literals, whitespace), resumable after any
//!   byte.
//! - [`scan`]: the runs of whitespace and of string bytes, found 16 bytes at a time.
//! - [`keys`]: [`KeyTable`], what is kept of the body: its keys and values, packed into
//!   buckets by hash, counted bucket by bucket at the end.
//! - [`record`]: how one pair is packed into a bucket's bytes and read back.
//! - [`count`]: the count at the end, bucket by bucket, a bounded number of records at a time.
//!
//! The handler that drives it on the event loop, a bounded slice at a time, is
//! [`crate::strategies::stream`].

pub mod count;
pub mod keys;
pub mod lexer;
pub mod machine;
pub mod record;
pub mod scan;

pub use keys::KeyTable;
use machine::{Machine, Refusal};

use crate::{error::LabError, parse::Summary};

/// A study body fed to the parser chunk by chunk.
#[derive(Debug, Default)]
pub struct StreamParser {
    machine: Machine,
}

/// What the parser keeps of a complete body: its name and its pairs.
#[derive(Debug)]
pub struct StreamBody {
    /// Echoed in the response.
    pub name: String,
    /// The pairs of `data`, duplicates not yet resolved.
    pub keys: KeyTable,
}

impl StreamBody {
    /// Distinct keys and the largest last value, every bucket at once (the pairs are gone
    /// afterwards).
    pub fn summary(&mut self) -> Summary {
        count::summary(std::mem::take(&mut self.keys))
    }
}

impl From<Refusal> for LabError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Syntax(message) => Self::MalformedJson(message),
            Refusal::Shape(message) => Self::WrongShape(message),
        }
    }
}

impl StreamParser {
    /// A parser at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds the next bytes of the body (any length, any split). Once it has refused the
    /// body it refuses every further chunk with the same error.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<(), LabError> {
        self.machine.feed(chunk).map_err(LabError::from)
    }

    /// Bytes the parser holds now: its key table's buckets and its buffers (their capacity).
    pub fn held_bytes(&self) -> usize {
        self.machine.held_bytes()
    }

    /// The body has ended: its name and pairs, or why it is refused.
    pub fn finish(self) -> Result<StreamBody, LabError> {
        let (name, keys) = self.machine.finish()?;
        Ok(StreamBody { name, keys })
    }
}

/// Parses a whole `body` fed in chunks of `chunk_bytes` (tests, the bench).
pub fn parse_chunked(body: &[u8], chunk_bytes: usize) -> Result<StreamBody, LabError> {
    let mut parser = StreamParser::new();
    for chunk in body.chunks(chunk_bytes.max(1)) {
        parser.feed(chunk)?;
    }
    parser.finish()
}

#[cfg(test)]
mod tests {
    use actix_web::ResponseError;

    use super::*;
    use crate::parse::parse_owned;

    /// `/stream`'s answer for `body` fed in `chunk`-byte pieces, as (status, summary).
    fn streamed(body: &[u8], chunk: usize) -> Result<(String, Summary), u16> {
        parse_chunked(body, chunk)
            .map(|mut parsed| {
                let summary = parsed.summary();
                (parsed.name, summary)
            })
            .map_err(|error| error.status_code().as_u16())
    }

    fn owned(body: &[u8]) -> Result<(String, Summary), u16> {
        parse_owned(body)
            .map(|parsed| {
                let summary = parsed.summary();
                (parsed.name, summary)
            })
            .map_err(|error| error.status_code().as_u16())
    }

    #[test]
    fn every_split_gives_serde_jsons_answer() {
        let bodies: &[&[u8]] = &[
            br#"{"name":"n","data":{"a":1,"b":-2,"a":3}}"#,
            br#" { "data" : { "\u00e9" : 5 , "\ud83d\ude00":7 } , "name" : "\u0041" } "#,
            br#"["n",{"k":9223372036854775807,"j":-9223372036854775808}]"#,
            br#"{"x":[{"a":[1e400,"\ud800",true]}],"name":"n","data":{}}"#,
            br#"{"name":"n","data":{"a":1.5}}"#,
            br#"{"name":"n","data":{"a":-0}}"#,
            br#"{"name":"n","data":{"a":1e400}}"#,
            br#"{"name":"n","data":{"a":01}}"#,
            br#"{"name":"n","name":"m"#,
            br#"{"name":"n","data":{"a":"\ud800"}}"#,
            br#"{"name":"n","data":{"a":"x"}}"#,
            br#"{"name":"n","data":[}"#,
            br#"{"name":"n","data":{"a":1}} x"#,
            br#"{"name":"n","data":{"a":1},}"#,
            br#"["n"]"#,
            br#"["n",]"#,
            br#"nul"#,
            br#"null"#,
            b"",
            b"{\"name\":\"\xc3\xa9\",\"data\":{\"\xe6\x97\xa5\":1}}",
            b"{\"name\":\"\xc3\",\"data\":{}}",
            b"{\"name\":1,\"data\":{\"\xff\":1}}",
            br#"{"name":"n","data":{"a":18446744073709551616}}"#,
            br#"{"name":"n","data":{"a":123456789012345678}}"#,
        ];
        for body in bodies {
            let expected = owned(body);
            for chunk in [1, 2, 3, 5, 7, body.len().max(1)] {
                assert_eq!(
                    streamed(body, chunk),
                    expected,
                    "{} in {chunk}-byte chunks",
                    body.escape_ascii()
                );
            }
        }
    }

    #[test]
    fn a_refused_body_stays_refused() {
        let mut parser = StreamParser::new();
        assert!(parser.feed(b"{\"name\":]").is_err());
        assert!(parser.feed(b"\"n\"}").is_err());
        assert_eq!(
            parser.finish().unwrap_err().kind(),
            lab_core::ServerErrorKind::MalformedJson
        );
    }
}

//! The push parser behind `/stream`: fed the body a chunk at a time (any split, down to one
//! byte), it gives serde_json's answer for [`crate::parse::StudyBody`] without ever holding
//! the body: the same name, the same pairs, and for a bad body the same kind of error
//! (syntax → 400, data → 422), found at the same point of the body.
//!
//! This file is its grammar: a state machine over the study body's shape that walks what
//! serde_json does for that type, step by step (`serde_json` 1.0.154's `de.rs`;
//! `tests/parser_fuzz.rs` checks it against serde_json on every body it generates, split at
//! random points). Its tokens (strings, numbers, literals) are read by [`super::lexer`].
//! - the top value: `{` is the struct as a map, `[` the array form `[name, data]`, anything
//!   else a type error once the scalar has been read (a bad scalar is a syntax error first);
//! - in the map: a duplicate `name` or `data` is refused right after its key, before the
//!   colon; missing fields when the map closes; unknown fields are skipped the way
//!   `ignore_value` skips them (no depth limit, numbers checked for their spelling only,
//!   strings without the UTF-8 and surrogate checks);
//! - in `data`: keys are unescaped and checked like serde_json's `parse_str` (paired
//!   surrogates, valid UTF-8 after unescaping), values are i64s: a float, `-0` or an integer
//!   out of i64 is a type error, a float out of f64 a syntax error. The common value, a plain
//!   integer of at most 18 digits, is read here; every other number's text goes to serde_json
//!   itself, so the two cannot differ.
//! - once a value is known to have the wrong type (`[` or `{`), the answer is given without
//!   reading it, as serde_json does.
//!
//! Most of a study body is pairs of `data`, and the common pair (`,"key":123`, whitespace
//! allowed around each token, a plain ASCII key) is read in one go (`Machine::plain_pair`);
//! anything else, and a pair a chunk boundary cuts, takes the general steps.

use super::{
    keys::KeyTable,
    lexer::{self, Fault, Kind, Lexed, Lexer, Sink},
    scan,
};

/// Why a body is refused, as serde_json would classify it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not JSON (syntax or end-of-input): 400 `malformed_json`.
    Syntax(String),
    /// JSON of the wrong shape (a data error): 422 `wrong_shape`.
    Shape(String),
}

/// A top-level field of the study body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Data,
    Other,
}

/// Where `name` and `data` sit: in the map `{"name":…,"data":…}` or the array `[name, data]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Map,
    Array,
}

/// What a token (string, number, literal) being read is for, and so what happens when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    /// A top-level key: collected, then compared with `name` and `data`.
    FieldKey,
    /// The `name` string: collected and kept.
    Name(Form),
    /// A key of `data`: collected, then hashed; its value comes next.
    DataKey,
    /// A value of `data`: an i64.
    DataValue,
    /// A value of the wrong type: read only to see whether it is well-formed (serde_json's
    /// `peek_invalid_type`), then refused.
    Describe,
    /// A scalar inside a skipped unknown field.
    IgnoreScalar,
    /// A key inside a skipped unknown field.
    IgnoreKey,
}

impl Then {
    fn sink(self) -> Sink {
        match self {
            Self::FieldKey | Self::Name(_) | Self::DataKey => Sink::Collect,
            Self::Describe | Self::DataValue => Sink::Check,
            Self::IgnoreScalar | Self::IgnoreKey => Sink::Skip,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The body's value.
    Top,
    /// In the top-level map, before a key or its `}` (`first`: right after `{`).
    FieldKey {
        first: bool,
    },
    FieldKeyAfterComma,
    FieldColon(Field),
    NameValue(Form),
    DataValue(Form),
    /// In `data`, before a key or its `}`.
    DataKey {
        first: bool,
    },
    DataKeyAfterComma,
    DataColon,
    DataNumber,
    /// The array form: before `name`, before `data`, after `data`.
    ArrayName,
    ArrayData,
    ArrayDataAfterComma,
    ArrayEnd,
    /// After the body's value: only whitespace may follow.
    End,
    /// Inside a string, number or literal (the lexer knows where), and what it is for.
    Token(Then),
    /// A skipped value: before a value, after an opener or a value, before a key or its colon.
    SkipValue,
    SkipAfter {
        accept_comma: bool,
    },
    SkipKey,
    SkipColon,
}

/// The open arrays (0) and objects (1) of a skipped value, one bit each: its nesting is
/// unlimited, as in serde_json's `ignore_value`.
#[derive(Debug, Default)]
struct Nesting {
    bits: Vec<u64>,
    depth: usize,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        let (word, bit) = (self.depth / 64, self.depth % 64);
        if word == self.bits.len() {
            self.bits.push(0);
        }
        if object {
            self.bits[word] |= 1 << bit;
        } else {
            self.bits[word] &= !(1 << bit);
        }
        self.depth += 1;
    }

    /// Whether the innermost open value is an object (`None`: nothing is open).
    fn top(&self) -> Option<bool> {
        let depth = self.depth.checked_sub(1)?;
        Some(self.bits[depth / 64] & (1 << (depth % 64)) != 0)
    }

    fn pop(&mut self) {
        self.depth -= 1;
    }
}

/// The parser's whole state between two chunks.
#[derive(Debug)]
pub struct Machine {
    state: State,
    /// Bytes fed before the current chunk, the lines they ended and where the last line
    /// started: the line and column of an error, as serde_json gives them.
    offset: usize,
    lines: usize,
    line_start: usize,
    /// Where `data` sits, to know where to go after its `}`.
    data_form: Form,
    name: Option<String>,
    has_data: bool,
    lexer: Lexer,
    /// The hash of the `data` key whose value is being read.
    key_hash: u64,
    nesting: Nesting,
    keys: KeyTable,
    failed: Option<Refusal>,
}

impl Default for Machine {
    fn default() -> Self {
        Self {
            state: State::Top,
            offset: 0,
            lines: 0,
            line_start: 0,
            data_form: Form::Map,
            name: None,
            has_data: false,
            lexer: Lexer::default(),
            key_hash: 0,
            nesting: Nesting::default(),
            keys: KeyTable::default(),
            failed: None,
        }
    }
}

/// A `data` value's spelling as an i64, or serde_json's refusal of it (its position left to
/// the caller).
fn judge_integer(spelling: &[u8]) -> Result<i64, Fault> {
    let (negative, digits) = match spelling.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, spelling),
    };
    let plain = digits.iter().all(u8::is_ascii_digit);
    // At most 18 digits always fits; `-0` is a float to serde_json (a 422).
    if plain && !digits.is_empty() && digits.len() <= 18 {
        let magnitude = digits
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        if !(negative && magnitude == 0) {
            return Ok(if negative { -magnitude } else { magnitude });
        }
    }
    serde_json::from_slice::<i64>(spelling).map_err(|error| {
        let message = error.to_string();
        // serde_json's position is within the number alone: the caller gives the body's.
        let what = message
            .rsplit_once(" at line ")
            .map_or(message.as_str(), |(what, _)| what);
        Fault {
            shape: error.classify() == serde_json::error::Category::Data,
            what: what.to_owned(),
            at: 0,
        }
    })
}

impl Machine {
    /// Feeds the next bytes of the body. After a refusal the machine stays refused.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), Refusal> {
        if let Some(refusal) = &self.failed {
            return Err(refusal.clone());
        }
        let mut at = 0;
        while at < input.len() {
            match self.step(input, at) {
                Ok(next) => at = next,
                Err(fault) => {
                    let refusal = self.refusal(fault, input);
                    self.failed = Some(refusal.clone());
                    return Err(refusal);
                }
            }
        }
        self.lines += memchr::memchr_iter(b'\n', input).count();
        if let Some(newline) = memchr::memrchr(b'\n', input) {
            self.line_start = self.offset + newline + 1;
        }
        self.offset += input.len();
        Ok(())
    }

    /// `line L column C` of byte `at` of the current chunk (`input`, if it is at hand).
    fn position(&self, input: &[u8], at: usize) -> String {
        let before = &input[..at.min(input.len())];
        let line = 1 + self.lines + memchr::memchr_iter(b'\n', before).count();
        let line_start = memchr::memrchr(b'\n', before)
            .map_or(self.line_start, |newline| self.offset + newline + 1);
        let column = self.offset + at + 1 - line_start;
        format!("line {line} column {column}")
    }

    /// Bytes held: the key table and the buffers, by capacity.
    pub fn held_bytes(&self) -> usize {
        super::count::held_bytes(&self.keys)
            + self.lexer.held_bytes()
            + self.nesting.bits.capacity() * 8
            + self.name.as_ref().map_or(0, String::capacity)
    }

    /// The body has ended: the name and the pairs, or the refusal.
    pub fn finish(mut self) -> Result<(String, KeyTable), Refusal> {
        if let Some(refusal) = self.failed.take() {
            return Err(refusal);
        }
        if let State::Token(then) = self.state
            && self.lexer.number_may_end()
            && let Err(fault) = self.end_number(then, 0)
        {
            return Err(self.refusal(fault, &[]));
        }
        if self.state != State::End {
            let fault = Fault::syntax("EOF while parsing a value", 0);
            return Err(self.refusal(fault, &[]));
        }
        let name = self.name.expect("a body ends only after its name");
        Ok((name, self.keys))
    }

    /// The refusal for `fault`, found in `input` (the chunk being fed).
    fn refusal(&self, fault: Fault, input: &[u8]) -> Refusal {
        let message = format!("{} at {}", fault.what, self.position(input, fault.at));
        if fault.shape {
            Refusal::Shape(message)
        } else {
            Refusal::Syntax(message)
        }
    }

    /// One step from `input[at..]`: returns where the next step starts.
    fn step(&mut self, input: &[u8], mut at: usize) -> Result<usize, Fault> {
        match self.state {
            State::Token(then) => {
                return match self.lexer.resume(input, at)? {
                    Lexed::More => Ok(input.len()),
                    Lexed::Ended(kind, end) => {
                        self.end_token(then, kind, end)?;
                        Ok(end)
                    }
                };
            }
            State::DataKey { first: false } => {
                while let Some(next) = self.plain_pair(input, at) {
                    at = next;
                }
            }
            _ => {}
        }
        at += scan::space_run(&input[at..]);
        let Some(&byte) = input.get(at) else {
            return Ok(at);
        };
        self.state = match self.state {
            State::Top => match byte {
                b'{' => State::FieldKey { first: true },
                b'[' => State::ArrayName,
                _ => return self.describe(byte, at),
            },
            State::FieldKey { first } => match byte {
                b'}' => {
                    if self.name.is_none() {
                        return Err(Fault::shape("missing field `name`", at));
                    }
                    if !self.has_data {
                        return Err(Fault::shape("missing field `data`", at));
                    }
                    State::End
                }
                b'"' if first => self.open_string(Then::FieldKey),
                b',' if !first => State::FieldKeyAfterComma,
                _ if first => return Err(Fault::syntax("key must be a string", at)),
                _ => return Err(Fault::syntax("expected `,` or `}`", at)),
            },
            State::FieldKeyAfterComma | State::DataKeyAfterComma => match byte {
                b'"' if self.state == State::FieldKeyAfterComma => self.open_string(Then::FieldKey),
                b'"' => self.open_string(Then::DataKey),
                b'}' => return Err(Fault::syntax("trailing comma", at)),
                _ => return Err(Fault::syntax("key must be a string", at)),
            },
            State::FieldColon(field) => match byte {
                b':' => match field {
                    Field::Name => State::NameValue(Form::Map),
                    Field::Data => State::DataValue(Form::Map),
                    Field::Other => State::SkipValue,
                },
                _ => return Err(Fault::syntax("expected `:`", at)),
            },
            State::NameValue(form) => match byte {
                b'"' => self.open_string(Then::Name(form)),
                _ => return self.describe(byte, at),
            },
            State::DataValue(form) => match byte {
                b'{' => {
                    self.data_form = form;
                    State::DataKey { first: true }
                }
                _ => return self.describe(byte, at),
            },
            State::DataKey { first } => match byte {
                b'}' => {
                    self.has_data = true;
                    match self.data_form {
                        Form::Map => State::FieldKey { first: false },
                        Form::Array => State::ArrayEnd,
                    }
                }
                b'"' if first => self.open_string(Then::DataKey),
                b',' if !first => State::DataKeyAfterComma,
                _ if first => return Err(Fault::syntax("key must be a string", at)),
                _ => return Err(Fault::syntax("expected `,` or `}`", at)),
            },
            State::DataColon => match byte {
                b':' => State::DataNumber,
                _ => return Err(Fault::syntax("expected `:`", at)),
            },
            State::DataNumber => match byte {
                b'-' | b'0'..=b'9' => self.open_number(byte, Then::DataValue),
                _ => return self.describe(byte, at),
            },
            State::ArrayName => match byte {
                b']' => return Err(Fault::shape("invalid length 0, expected 2 elements", at)),
                // Not consumed: the name's own state reads it.
                _ => {
                    self.state = State::NameValue(Form::Array);
                    return Ok(at);
                }
            },
            State::ArrayData => match byte {
                b']' => return Err(Fault::shape("invalid length 1, expected 2 elements", at)),
                b',' => State::ArrayDataAfterComma,
                _ => return Err(Fault::syntax("expected `,` or `]`", at)),
            },
            State::ArrayDataAfterComma => match byte {
                b']' => return Err(Fault::syntax("trailing comma", at)),
                _ => {
                    self.state = State::DataValue(Form::Array);
                    return Ok(at);
                }
            },
            State::ArrayEnd => match byte {
                b']' => State::End,
                _ => return Err(Fault::syntax("trailing characters", at)),
            },
            State::End => return Err(Fault::syntax("trailing characters", at)),
            State::SkipValue => match byte {
                b'n' => self.open_literal(b"ull", Then::IgnoreScalar),
                b't' => self.open_literal(b"rue", Then::IgnoreScalar),
                b'f' => self.open_literal(b"alse", Then::IgnoreScalar),
                b'-' | b'0'..=b'9' => self.open_number(byte, Then::IgnoreScalar),
                b'"' => self.open_string(Then::IgnoreScalar),
                b'[' | b'{' => {
                    self.nesting.push(byte == b'{');
                    State::SkipAfter {
                        accept_comma: false,
                    }
                }
                _ => return Err(Fault::syntax("expected value", at)),
            },
            State::SkipAfter { accept_comma } => {
                let object = self.nesting.top() == Some(true);
                match byte {
                    b',' if accept_comma => {
                        if object {
                            State::SkipKey
                        } else {
                            State::SkipValue
                        }
                    }
                    b']' if !object => self.close_skipped(),
                    b'}' if object => self.close_skipped(),
                    _ if accept_comma => {
                        return Err(Fault::syntax("expected `,` or a closer", at));
                    }
                    // The first element or key of a container just opened: not consumed.
                    _ => {
                        self.state = if object {
                            State::SkipKey
                        } else {
                            State::SkipValue
                        };
                        return Ok(at);
                    }
                }
            }
            State::SkipKey => match byte {
                b'"' => self.open_string(Then::IgnoreKey),
                _ => return Err(Fault::syntax("key must be a string", at)),
            },
            State::SkipColon => match byte {
                b':' => State::SkipValue,
                _ => return Err(Fault::syntax("expected `:`", at)),
            },
            State::Token(_) => unreachable!("a token is read by the lexer"),
        };
        Ok(at + 1)
    }

    /// The common case in `data`, taken in one go: `,"key":123`, with any whitespace around
    /// its tokens, a key of plain ASCII (no escape, quote, control character or byte above
    /// 0x7f, so it is valid UTF-8 as it stands), and a plain integer ([`lexer::plain_integer`])
    /// whose end is in this chunk. Returns where the pair ends, or `None` (nothing consumed)
    /// for anything else, which the general steps read.
    #[inline]
    fn plain_pair(&mut self, input: &[u8], at: usize) -> Option<usize> {
        let [b',', rest @ ..] = lexer::trim_space(&input[at..]) else {
            return None;
        };
        let [b'"', rest @ ..] = lexer::trim_space(rest) else {
            return None;
        };
        let (key, rest) = rest.split_at(scan::ascii_string_run(rest));
        let [b'"', rest @ ..] = rest else {
            return None;
        };
        let [b':', rest @ ..] = lexer::trim_space(rest) else {
            return None;
        };
        let rest = lexer::trim_space(rest);
        let (value, length) = lexer::plain_integer(rest)?;
        let hash = self.keys.hash(key);
        self.keys.push(hash, key, value);
        Some(input.len() - rest.len() + length)
    }

    /// A value of the wrong type starts with `byte`: a scalar is read first (a bad one is a
    /// syntax error), an array or object is refused at once.
    fn describe(&mut self, byte: u8, at: usize) -> Result<usize, Fault> {
        self.state = match byte {
            b'n' => self.open_literal(b"ull", Then::Describe),
            b't' => self.open_literal(b"rue", Then::Describe),
            b'f' => self.open_literal(b"alse", Then::Describe),
            b'-' | b'0'..=b'9' => self.open_number(byte, Then::Describe),
            b'"' => self.open_string(Then::Describe),
            b'[' => return Err(Fault::shape("invalid type: sequence", at)),
            b'{' => return Err(Fault::shape("invalid type: map", at)),
            _ => return Err(Fault::syntax("expected value", at)),
        };
        Ok(at + 1)
    }

    fn open_string(&mut self, then: Then) -> State {
        self.lexer.open_string(then.sink());
        State::Token(then)
    }

    fn open_number(&mut self, first: u8, then: Then) -> State {
        self.lexer.open_number(first, then != Then::IgnoreScalar);
        State::Token(then)
    }

    fn open_literal(&mut self, rest: &'static [u8], then: Then) -> State {
        self.lexer.open_literal(rest);
        State::Token(then)
    }

    /// A skipped container closed: the one around it continues, or the skipped value is done.
    fn close_skipped(&mut self) -> State {
        self.nesting.pop();
        self.skipped_scalar()
    }

    /// A value inside a skipped field ended.
    fn skipped_scalar(&self) -> State {
        if self.nesting.top().is_some() {
            State::SkipAfter { accept_comma: true }
        } else {
            State::FieldKey { first: false }
        }
    }

    /// A token ended just before `end`: what it was for happens now.
    fn end_token(&mut self, then: Then, kind: Kind, end: usize) -> Result<(), Fault> {
        match kind {
            // A string's faults are at its closing quote.
            Kind::String => self.end_string(then, end - 1),
            Kind::Number => self.end_number(then, end),
            Kind::Literal => {
                self.state = match then {
                    Then::Describe => return Err(Fault::shape("invalid type: literal", end)),
                    _ => self.skipped_scalar(),
                };
                Ok(())
            }
        }
    }

    /// A complete number's spelling has been read: judge it and move on.
    fn end_number(&mut self, then: Then, at: usize) -> Result<(), Fault> {
        self.state = match then {
            Then::DataValue => {
                let value =
                    judge_integer(self.lexer.number()).map_err(|fault| Fault { at, ..fault })?;
                self.keys.push(self.key_hash, self.lexer.text(), value);
                State::DataKey { first: false }
            }
            Then::Describe => {
                return Err(match judge_integer(self.lexer.number()) {
                    Err(fault) if !fault.shape => Fault { at, ..fault },
                    _ => Fault::shape("invalid type: number", at),
                });
            }
            _ => self.skipped_scalar(),
        };
        Ok(())
    }

    /// The closing quote of a string, at `at`: what it was for happens now.
    fn end_string(&mut self, then: Then, at: usize) -> Result<(), Fault> {
        self.state = match then {
            Then::FieldKey => {
                let field = match self.lexer.text() {
                    b"name" => Field::Name,
                    b"data" => Field::Data,
                    _ => Field::Other,
                };
                if field == Field::Name && self.name.is_some() {
                    return Err(Fault::shape("duplicate field `name`", at));
                }
                if field == Field::Data && self.has_data {
                    return Err(Fault::shape("duplicate field `data`", at));
                }
                State::FieldColon(field)
            }
            Then::Name(form) => {
                let name = String::from_utf8(self.lexer.take_text())
                    .expect("checked as UTF-8 by the lexer");
                self.name = Some(name);
                match form {
                    Form::Map => State::FieldKey { first: false },
                    Form::Array => State::ArrayData,
                }
            }
            Then::DataKey => {
                self.key_hash = self.keys.hash(self.lexer.text());
                State::DataColon
            }
            Then::Describe | Then::DataValue => {
                return Err(Fault::shape("invalid type: string", at));
            }
            Then::IgnoreScalar => self.skipped_scalar(),
            Then::IgnoreKey => State::SkipColon,
        };
        Ok(())
    }
}

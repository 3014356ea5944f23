//! The push parser behind `/stream`: fed the body a chunk at a time (any split, down to one
//! byte), it gives serde_json's answer for [`crate::parse::StudyBody`] without ever holding
//! the body: the same name, the same pairs, and for a bad body the same kind of error
//! (syntax → 400, data → 422), found at the same point of the body.
//!
//! It is a state machine that walks what serde_json does for that type, step by step
//! (`serde_json` 1.0.154's `de.rs` and `read.rs`; `tests/parser_fuzz.rs` checks it against
//! serde_json on every body it generates, split at random points):
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

use super::keys::KeyTable;

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

/// What a string's bytes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sink {
    /// Unescaped into the text buffer, checked for UTF-8 when the string closes (`parse_str`).
    Collect,
    /// Checked as `parse_str` checks, kept nowhere.
    Check,
    /// Checked as `ignore_str` checks: escapes only, no UTF-8, any `\u` value.
    Skip,
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

/// Where in an escape sequence a string is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    Backslash,
    Hex {
        digits: u8,
        value: u16,
    },
    /// After a leading surrogate: a `\` must follow.
    High {
        high: u16,
    },
    /// After a leading surrogate and `\`: a `u` must follow.
    HighBackslash {
        high: u16,
    },
    Low {
        high: u16,
        digits: u8,
        value: u16,
    },
}

/// Where in a number's spelling (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`) it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Minus,
    Zero,
    Int,
    Dot,
    Frac,
    E,
    ESign,
    Exp,
}

impl Spelling {
    /// Whether a number may end here.
    fn complete(self) -> bool {
        matches!(self, Self::Zero | Self::Int | Self::Frac | Self::Exp)
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
    Str {
        then: Then,
        escape: Escape,
    },
    Num {
        at: Spelling,
        then: Then,
    },
    Literal {
        rest: &'static [u8],
        then: Then,
    },
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
    /// The string being collected: a top-level key, the name, or a key of `data` (kept until
    /// its value has been read).
    text: Vec<u8>,
    /// The start of a UTF-8 sequence split by a chunk boundary, in a string being checked.
    carry: [u8; 4],
    carry_len: usize,
    /// The spelling of the number being read (values of `data`, and wrong-type numbers).
    number: Vec<u8>,
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
            text: Vec::new(),
            carry: [0; 4],
            carry_len: 0,
            number: Vec::new(),
            key_hash: 0,
            nesting: Nesting::default(),
            keys: KeyTable::default(),
            failed: None,
        }
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\t' | b'\r')
}

fn hex_value(byte: u8) -> Option<u16> {
    match byte {
        b'0'..=b'9' => Some(u16::from(byte - b'0')),
        b'a'..=b'f' => Some(u16::from(byte - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(byte - b'A' + 10)),
        _ => None,
    }
}

/// A refusal found at byte `at` of the chunk being fed, before its position is put in words.
#[derive(Debug)]
struct Fault {
    /// A data error (422) rather than a syntax error (400).
    shape: bool,
    what: String,
    at: usize,
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
        self.keys.held_bytes()
            + self.text.capacity()
            + self.number.capacity()
            + self.nesting.bits.capacity() * 8
            + self.name.as_ref().map_or(0, String::capacity)
    }

    /// The body has ended: the name and the pairs, or the refusal.
    pub fn finish(mut self) -> Result<(String, KeyTable), Refusal> {
        if let Some(refusal) = self.failed.take() {
            return Err(refusal);
        }
        if let State::Num { at, then } = self.state
            && at.complete()
            && let Err(fault) = self.end_number(then, 0)
        {
            return Err(self.refusal(fault, &[]));
        }
        if self.state != State::End {
            let fault = self.syntax("EOF while parsing a value", 0);
            return Err(self.refusal(fault, &[]));
        }
        let name = self.name.expect("a body ends only after its name");
        Ok((name, self.keys))
    }

    fn syntax(&self, what: &str, at: usize) -> Fault {
        Fault {
            shape: false,
            what: what.to_owned(),
            at,
        }
    }

    fn shape(&self, what: &str, at: usize) -> Fault {
        Fault {
            shape: true,
            what: what.to_owned(),
            at,
        }
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
            State::Str { then, escape } => return self.string(input, at, then, escape),
            State::Num { at: spelling, then } => return self.number(input, at, spelling, then),
            State::Literal { rest, then } => return self.literal(input, at, rest, then),
            State::DataKey { first: false } => {
                while let Some(next) = self.plain_pair(input, at) {
                    at = next;
                }
            }
            _ => {}
        }
        while at < input.len() && is_space(input[at]) {
            at += 1;
        }
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
                        return Err(self.shape("missing field `name`", at));
                    }
                    if !self.has_data {
                        return Err(self.shape("missing field `data`", at));
                    }
                    State::End
                }
                b'"' if first => self.open_string(Then::FieldKey),
                b',' if !first => State::FieldKeyAfterComma,
                _ if first => return Err(self.syntax("key must be a string", at)),
                _ => return Err(self.syntax("expected `,` or `}`", at)),
            },
            State::FieldKeyAfterComma | State::DataKeyAfterComma => match byte {
                b'"' if self.state == State::FieldKeyAfterComma => self.open_string(Then::FieldKey),
                b'"' => self.open_string(Then::DataKey),
                b'}' => return Err(self.syntax("trailing comma", at)),
                _ => return Err(self.syntax("key must be a string", at)),
            },
            State::FieldColon(field) => match byte {
                b':' => match field {
                    Field::Name => State::NameValue(Form::Map),
                    Field::Data => State::DataValue(Form::Map),
                    Field::Other => State::SkipValue,
                },
                _ => return Err(self.syntax("expected `:`", at)),
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
                _ if first => return Err(self.syntax("key must be a string", at)),
                _ => return Err(self.syntax("expected `,` or `}`", at)),
            },
            State::DataColon => match byte {
                b':' => State::DataNumber,
                _ => return Err(self.syntax("expected `:`", at)),
            },
            State::DataNumber => match byte {
                b'-' | b'0'..=b'9' => self.open_number(byte, Then::DataValue),
                _ => return self.describe(byte, at),
            },
            State::ArrayName => match byte {
                b']' => return Err(self.shape("invalid length 0, expected 2 elements", at)),
                // Not consumed: the name's own state reads it.
                _ => {
                    self.state = State::NameValue(Form::Array);
                    return Ok(at);
                }
            },
            State::ArrayData => match byte {
                b']' => return Err(self.shape("invalid length 1, expected 2 elements", at)),
                b',' => State::ArrayDataAfterComma,
                _ => return Err(self.syntax("expected `,` or `]`", at)),
            },
            State::ArrayDataAfterComma => match byte {
                b']' => return Err(self.syntax("trailing comma", at)),
                _ => {
                    self.state = State::DataValue(Form::Array);
                    return Ok(at);
                }
            },
            State::ArrayEnd => match byte {
                b']' => State::End,
                _ => return Err(self.syntax("trailing characters", at)),
            },
            State::End => return Err(self.syntax("trailing characters", at)),
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
                _ => return Err(self.syntax("expected value", at)),
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
                    _ if accept_comma => return Err(self.syntax("expected `,` or a closer", at)),
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
                _ => return Err(self.syntax("key must be a string", at)),
            },
            State::SkipColon => match byte {
                b':' => State::SkipValue,
                _ => return Err(self.syntax("expected `:`", at)),
            },
            State::Str { .. } | State::Num { .. } | State::Literal { .. } => unreachable!(),
        };
        Ok(at + 1)
    }

    /// The common case in `data`, taken in one go: `,"key":123` with a key of plain ASCII
    /// (no escape, quote, control character or byte above 0x7f, so it is valid UTF-8 as it
    /// stands), no whitespace, and an integer of 1 to 18
    /// digits (not `-0`, no leading zero) whose end is in this chunk. Returns where the pair
    /// ends, or `None` (nothing consumed) for anything else, which the general steps read.
    #[inline]
    fn plain_pair(&mut self, input: &[u8], at: usize) -> Option<usize> {
        let rest = input.get(at..)?;
        let [b',', b'"', rest @ ..] = rest else {
            return None;
        };
        let key_length = rest
            .iter()
            .position(|&byte| byte == b'"' || byte == b'\\' || !(0x20..0x80).contains(&byte))?;
        let key = &rest[..key_length];
        let [b'"', b':', rest @ ..] = &rest[key_length..] else {
            return None;
        };
        let (negative, digits) = match rest {
            [b'-', digits @ ..] => (true, digits),
            _ => (false, rest),
        };
        let length = digits.iter().position(|byte| !byte.is_ascii_digit())?;
        if !(1..=18).contains(&length)
            || (digits[0] == b'0' && (length > 1 || negative))
            || matches!(digits[length], b'.' | b'e' | b'E')
        {
            return None;
        }
        let magnitude = digits[..length]
            .iter()
            .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0'));
        let value = if negative { -magnitude } else { magnitude };
        let hash = self.keys.hash(key);
        self.keys.push(hash, key, value);
        Some(at + 2 + key_length + 2 + usize::from(negative) + length)
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
            b'[' => return Err(self.shape("invalid type: sequence", at)),
            b'{' => return Err(self.shape("invalid type: map", at)),
            _ => return Err(self.syntax("expected value", at)),
        };
        Ok(at + 1)
    }

    fn open_string(&mut self, then: Then) -> State {
        self.text.clear();
        self.carry_len = 0;
        State::Str {
            then,
            escape: Escape::None,
        }
    }

    fn open_number(&mut self, first: u8, then: Then) -> State {
        self.number.clear();
        self.number.push(first);
        let at = match first {
            b'-' => Spelling::Minus,
            b'0' => Spelling::Zero,
            _ => Spelling::Int,
        };
        State::Num { at, then }
    }

    fn open_literal(&mut self, rest: &'static [u8], then: Then) -> State {
        State::Literal { rest, then }
    }

    /// A skipped container closed: the one around it continues, or the skipped value is done.
    fn close_skipped(&mut self) -> State {
        self.nesting.pop();
        if self.nesting.top().is_some() {
            State::SkipAfter { accept_comma: true }
        } else {
            State::FieldKey { first: false }
        }
    }

    /// A scalar of a skipped value ended.
    fn skipped_scalar(&self) -> State {
        if self.nesting.top().is_some() {
            State::SkipAfter { accept_comma: true }
        } else {
            State::FieldKey { first: false }
        }
    }

    fn literal(
        &mut self,
        input: &[u8],
        mut at: usize,
        mut rest: &'static [u8],
        then: Then,
    ) -> Result<usize, Fault> {
        while let (Some(&expected), Some(&byte)) = (rest.first(), input.get(at)) {
            if byte != expected {
                return Err(self.syntax("expected ident", at));
            }
            rest = &rest[1..];
            at += 1;
        }
        if !rest.is_empty() {
            self.state = State::Literal { rest, then };
            return Ok(at);
        }
        self.state = match then {
            Then::Describe => return Err(self.shape("invalid type: literal", at)),
            _ => self.skipped_scalar(),
        };
        Ok(at)
    }

    fn number(
        &mut self,
        input: &[u8],
        mut at: usize,
        mut spelling: Spelling,
        then: Then,
    ) -> Result<usize, Fault> {
        let start = at;
        let keep = then != Then::IgnoreScalar;
        let mut ended = false;
        while let Some(&byte) = input.get(at) {
            let digit = byte.is_ascii_digit();
            spelling = match (spelling, byte) {
                (Spelling::Minus, b'0') => Spelling::Zero,
                (Spelling::Minus, _) if digit => Spelling::Int,
                (Spelling::Zero, _) if digit => {
                    return Err(self.syntax("invalid number (leading zero)", at));
                }
                (Spelling::Int, _) if digit => Spelling::Int,
                (Spelling::Zero | Spelling::Int, b'.') => Spelling::Dot,
                (Spelling::Dot | Spelling::Frac, _) if digit => Spelling::Frac,
                (Spelling::Zero | Spelling::Int | Spelling::Frac, b'e' | b'E') => Spelling::E,
                (Spelling::E, b'+' | b'-') => Spelling::ESign,
                (Spelling::E | Spelling::ESign | Spelling::Exp, _) if digit => Spelling::Exp,
                (Spelling::Zero | Spelling::Int | Spelling::Frac | Spelling::Exp, _) => {
                    ended = true;
                    break;
                }
                _ => return Err(self.syntax("invalid number", at)),
            };
            at += 1;
        }
        if keep {
            self.number.extend_from_slice(&input[start..at]);
        }
        self.state = State::Num { at: spelling, then };
        if ended {
            self.end_number(then, at)?;
        }
        Ok(at)
    }

    /// A complete number's spelling has been read: judge it and move on.
    fn end_number(&mut self, then: Then, at: usize) -> Result<(), Fault> {
        self.state = match then {
            Then::DataValue => {
                let value = judge_integer(&self.number).map_err(|mut fault| {
                    fault.at = at;
                    fault
                })?;
                self.keys.push(self.key_hash, &self.text, value);
                State::DataKey { first: false }
            }
            Then::Describe => {
                return Err(match judge_integer(&self.number) {
                    Err(fault) if !fault.shape => Fault { at, ..fault },
                    _ => self.shape("invalid type: number", at),
                });
            }
            _ => self.skipped_scalar(),
        };
        Ok(())
    }

    fn string(
        &mut self,
        input: &[u8],
        mut at: usize,
        then: Then,
        escape: Escape,
    ) -> Result<usize, Fault> {
        let sink = then.sink();
        if escape != Escape::None {
            let byte = input[at];
            let escape = self.escape(byte, at, escape, sink)?;
            self.state = State::Str { then, escape };
            return Ok(at + 1);
        }
        let start = at;
        while let Some(&byte) = input.get(at) {
            if byte == b'"' || byte == b'\\' || byte < 0x20 {
                break;
            }
            at += 1;
        }
        let run = &input[start..at];
        match sink {
            Sink::Collect => self.text.extend_from_slice(run),
            Sink::Check => self.check_utf8(run, start)?,
            Sink::Skip => {}
        }
        let Some(&byte) = input.get(at) else {
            return Ok(at);
        };
        if sink == Sink::Check && self.carry_len > 0 {
            return Err(self.syntax("invalid unicode code point", at));
        }
        match byte {
            b'"' => {
                self.end_string(then, at)?;
                Ok(at + 1)
            }
            b'\\' => {
                self.state = State::Str {
                    then,
                    escape: Escape::Backslash,
                };
                Ok(at + 1)
            }
            _ => Err(self.syntax("control character while parsing a string", at)),
        }
    }

    /// One byte of an escape sequence.
    fn escape(&mut self, byte: u8, at: usize, escape: Escape, sink: Sink) -> Result<Escape, Fault> {
        let invalid = |machine: &Self| machine.syntax("invalid escape", at);
        Ok(match escape {
            Escape::None => unreachable!(),
            Escape::Backslash => {
                let unescaped = match byte {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => b'\x08',
                    b'f' => b'\x0c',
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'u' => {
                        return Ok(Escape::Hex {
                            digits: 0,
                            value: 0,
                        });
                    }
                    _ => return Err(invalid(self)),
                };
                if sink == Sink::Collect {
                    self.text.push(unescaped);
                }
                Escape::None
            }
            Escape::Hex { digits, value } => {
                let value = value << 4 | hex_value(byte).ok_or_else(|| invalid(self))?;
                if digits < 3 {
                    return Ok(Escape::Hex {
                        digits: digits + 1,
                        value,
                    });
                }
                match (sink, value) {
                    (Sink::Skip, _) => Escape::None,
                    (_, 0xDC00..=0xDFFF) => {
                        return Err(self.syntax("lone trailing surrogate in hex escape", at));
                    }
                    (_, 0xD800..=0xDBFF) => Escape::High { high: value },
                    (_, _) => {
                        self.push_char(u32::from(value), sink);
                        Escape::None
                    }
                }
            }
            Escape::High { high } => match byte {
                b'\\' => Escape::HighBackslash { high },
                _ => return Err(self.syntax("unexpected end of hex escape", at)),
            },
            Escape::HighBackslash { high } => match byte {
                b'u' => Escape::Low {
                    high,
                    digits: 0,
                    value: 0,
                },
                _ => return Err(self.syntax("unexpected end of hex escape", at)),
            },
            Escape::Low {
                high,
                digits,
                value,
            } => {
                let value = value << 4 | hex_value(byte).ok_or_else(|| invalid(self))?;
                if digits < 3 {
                    return Ok(Escape::Low {
                        high,
                        digits: digits + 1,
                        value,
                    });
                }
                if !(0xDC00..=0xDFFF).contains(&value) {
                    return Err(self.syntax("lone leading surrogate in hex escape", at));
                }
                let code =
                    ((u32::from(high - 0xD800) << 10) | u32::from(value - 0xDC00)) + 0x1_0000;
                self.push_char(code, sink);
                Escape::None
            }
        })
    }

    fn push_char(&mut self, code: u32, sink: Sink) {
        if sink == Sink::Collect {
            let c = char::from_u32(code).expect("not a surrogate, at most U+10FFFF");
            let mut utf8 = [0; 4];
            self.text
                .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
    }

    /// Checks `run` as UTF-8, continuing a sequence a chunk boundary split (`carry`).
    fn check_utf8(&mut self, mut run: &[u8], start: usize) -> Result<(), Fault> {
        if self.carry_len > 0 {
            let width = match self.carry[0] {
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => return Err(self.syntax("invalid unicode code point", start)),
            };
            let take = (width - self.carry_len).min(run.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&run[..take]);
            self.carry_len += take;
            run = &run[take..];
            let sequence = &self.carry[..self.carry_len];
            match std::str::from_utf8(sequence) {
                Ok(_) => self.carry_len = 0,
                Err(error) if error.error_len().is_none() && self.carry_len < width => {
                    return Ok(());
                }
                Err(_) => return Err(self.syntax("invalid unicode code point", start)),
            }
        }
        if let Err(error) = std::str::from_utf8(run) {
            if error.error_len().is_some() {
                return Err(self.syntax("invalid unicode code point", start));
            }
            let rest = &run[error.valid_up_to()..];
            self.carry[..rest.len()].copy_from_slice(rest);
            self.carry_len = rest.len();
        }
        Ok(())
    }

    /// The closing quote of a string: what it was for happens now.
    fn end_string(&mut self, then: Then, at: usize) -> Result<(), Fault> {
        if then.sink() == Sink::Collect && std::str::from_utf8(&self.text).is_err() {
            return Err(self.syntax("invalid unicode code point", at));
        }
        self.state = match then {
            Then::FieldKey => {
                let field = match self.text.as_slice() {
                    b"name" => Field::Name,
                    b"data" => Field::Data,
                    _ => Field::Other,
                };
                if field == Field::Name && self.name.is_some() {
                    return Err(self.shape("duplicate field `name`", at));
                }
                if field == Field::Data && self.has_data {
                    return Err(self.shape("duplicate field `data`", at));
                }
                State::FieldColon(field)
            }
            Then::Name(form) => {
                let name = String::from_utf8(std::mem::take(&mut self.text))
                    .expect("checked as UTF-8 above");
                self.name = Some(name);
                match form {
                    Form::Map => State::FieldKey { first: false },
                    Form::Array => State::ArrayData,
                }
            }
            Then::DataKey => {
                self.key_hash = self.keys.hash(&self.text);
                State::DataColon
            }
            Then::Describe | Then::DataValue => {
                return Err(self.shape("invalid type: string", at));
            }
            Then::IgnoreScalar => self.skipped_scalar(),
            Then::IgnoreKey => State::SkipColon,
        };
        Ok(())
    }
}

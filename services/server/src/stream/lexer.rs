//! The push parser's lexer: JSON's tokens read byte by byte, resumable after any byte. It
//! knows strings (escapes, surrogate pairs, UTF-8, a sequence split by a chunk boundary carried
//! to the next chunk), numbers (their spelling), the literals, and whitespace; what a token is
//! for, and what may come next, is [`super::machine`]'s business.
//!
//! Its checks are serde_json's (1.0.154's `read.rs`): a string kept or checked
//! ([`Sink::Collect`], [`Sink::Check`]) as `parse_str` checks it, a skipped one ([`Sink::Skip`])
//! as `ignore_str` does (escapes only, no UTF-8, any `\u` value); a number's spelling as
//! `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, its value left to the grammar.
//!
//! The runs inside a string and of whitespace are found by [`super::scan`], 16 bytes at a time;
//! [`plain_integer`] reads an integer of up to eight digits in one 8-byte word.

use super::scan;

/// A refusal found at byte `at` of the chunk being fed, before its position is put in words.
#[derive(Debug)]
pub struct Fault {
    /// A data error (422) rather than a syntax error (400).
    pub shape: bool,
    pub what: String,
    pub at: usize,
}

impl Fault {
    pub fn syntax(what: &str, at: usize) -> Self {
        Self {
            shape: false,
            what: what.to_owned(),
            at,
        }
    }

    pub fn shape(what: &str, at: usize) -> Self {
        Self {
            shape: true,
            what: what.to_owned(),
            at,
        }
    }
}

/// What a string's bytes go through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    /// Unescaped into the text buffer, checked for UTF-8 when the string closes (`parse_str`).
    Collect,
    /// Checked as `parse_str` checks, kept nowhere.
    Check,
    /// Checked as `ignore_str` checks: escapes only, no UTF-8, any `\u` value.
    Skip,
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

/// The token being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Str { sink: Sink, escape: Escape },
    Num { at: Spelling, keep: bool },
    Literal { rest: &'static [u8] },
}

/// What kind of token has just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Literal,
}

/// How far a token was read in the bytes given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lexed {
    /// The bytes ran out inside the token: the next chunk continues it.
    More,
    /// The token ended; the byte after it is at this index (for a string, just past its
    /// closing quote; for a number, the byte that ended it, not consumed).
    Ended(Kind, usize),
}

/// The token being read and what it has kept.
#[derive(Debug)]
pub struct Lexer {
    token: Token,
    /// The string being collected, unescaped.
    text: Vec<u8>,
    /// The start of a UTF-8 sequence split by a chunk boundary, in a string being checked.
    carry: [u8; 4],
    carry_len: usize,
    /// The spelling of the number being read, when kept.
    number: Vec<u8>,
}

impl Default for Lexer {
    fn default() -> Self {
        Self {
            token: Token::Literal { rest: b"" },
            text: Vec::new(),
            carry: [0; 4],
            carry_len: 0,
            number: Vec::new(),
        }
    }
}

/// `bytes` without the whitespace that starts it. The usual cases, no whitespace or one space
/// (`", "`, `": "`), are two byte compares; a longer run (indentation) is scanned 16 bytes at
/// a time.
#[inline]
pub fn trim_space(bytes: &[u8]) -> &[u8] {
    match bytes {
        [first, second, rest @ ..] if scan::is_space(*first) && scan::is_space(*second) => {
            &rest[scan::space_run(rest)..]
        }
        [first, rest @ ..] if scan::is_space(*first) => rest,
        _ => bytes,
    }
}

/// A `data` value that is a plain integer, at the start of `bytes`: `0` or `-?[1-9][0-9]*` of
/// at most 18 digits (so it fits an i64), not `-0`, and followed in `bytes` by a byte that
/// ends it (not a digit, `.`, `e` or `E`). Its value and length, or `None` for anything else,
/// which the general steps read (and judge with serde_json).
#[inline]
pub fn plain_integer(bytes: &[u8]) -> Option<(i64, usize)> {
    let negative = bytes.first() == Some(&b'-');
    let digits = &bytes[usize::from(negative)..];
    let (magnitude, length) = match digits.first_chunk::<8>() {
        Some(word) => {
            // Each byte's value minus '0': a digit is a byte of 0..=9. `nondigit` has the top
            // bit set in every byte that is not a digit (its low 7 bits plus 0x76 carry into
            // the top bit from 10 on, and the top bit itself is set from 0x80 on); no sum
            // carries into the next byte.
            let values = u64::from_le_bytes(*word) ^ 0x3030_3030_3030_3030;
            let nondigit = (((values & 0x7f7f_7f7f_7f7f_7f7f) + 0x7676_7676_7676_7676) | values)
                & 0x8080_8080_8080_8080;
            let length = nondigit.trailing_zeros() as usize / 8;
            match length {
                0 => return None,
                // The digits moved to the top of the word, zeros (leading zero digits) below.
                1..8 => (eight_digits(values << (64 - 8 * length)), length),
                _ => digit_by_digit(digits)?,
            }
        }
        None => digit_by_digit(digits)?,
    };
    let next = *digits.get(length)?;
    let leading_zero = digits[0] == b'0' && (length > 1 || negative);
    if length > 18 || leading_zero || matches!(next, b'.' | b'e' | b'E') {
        return None;
    }
    let magnitude = magnitude as i64;
    let value = if negative { -magnitude } else { magnitude };
    Some((value, usize::from(negative) + length))
}

/// The value of eight digits, one a byte, the first in the lowest byte: pairs of digits, then
/// the pairs weighted by 10^6, 10^4, 10^2 and 1 with two multiplications. The products run
/// past 64 bits on purpose: what is kept is the sum in bits 32 to 63.
fn eight_digits(values: u64) -> u64 {
    let pairs = values.wrapping_mul(10).wrapping_add(values >> 8);
    let mask = 0x0000_00ff_0000_00ff;
    let high = (pairs & mask).wrapping_mul(100 + (1_000_000 << 32));
    let low = ((pairs >> 16) & mask).wrapping_mul(1 + (10_000 << 32));
    high.wrapping_add(low) >> 32
}

/// The value and length of the digits that start `digits`, up to 19 of them (more are left to
/// the general steps).
fn digit_by_digit(digits: &[u8]) -> Option<(u64, usize)> {
    let length = digits
        .iter()
        .take(19)
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if length == 0 || length == 19 {
        return None;
    }
    let value = digits[..length]
        .iter()
        .fold(0, |value, digit| value * 10 + u64::from(digit - b'0'));
    Some((value, length))
}

fn hex_value(byte: u8) -> Option<u16> {
    match byte {
        b'0'..=b'9' => Some(u16::from(byte - b'0')),
        b'a'..=b'f' => Some(u16::from(byte - b'a' + 10)),
        b'A'..=b'F' => Some(u16::from(byte - b'A' + 10)),
        _ => None,
    }
}

impl Lexer {
    /// A string starts (its opening quote read).
    pub fn open_string(&mut self, sink: Sink) {
        self.text.clear();
        self.carry_len = 0;
        self.token = Token::Str {
            sink,
            escape: Escape::None,
        };
    }

    /// A number starts with `first` (`-` or a digit, already read); its spelling is kept for
    /// the grammar when `keep`.
    pub fn open_number(&mut self, first: u8, keep: bool) {
        self.number.clear();
        self.number.push(first);
        let at = match first {
            b'-' => Spelling::Minus,
            b'0' => Spelling::Zero,
            _ => Spelling::Int,
        };
        self.token = Token::Num { at, keep };
    }

    /// A literal starts; `rest` is what must follow its first letter.
    pub fn open_literal(&mut self, rest: &'static [u8]) {
        self.token = Token::Literal { rest };
    }

    /// Reads the open token on from `input[at..]`.
    pub fn resume(&mut self, input: &[u8], at: usize) -> Result<Lexed, Fault> {
        match self.token {
            Token::Str { sink, escape } => self.string(input, at, sink, escape),
            Token::Num { at: spelling, keep } => self.spelling(input, at, spelling, keep),
            Token::Literal { rest } => self.literal(input, at, rest),
        }
    }

    /// Whether the body may end in the open token: a number whose spelling is complete.
    pub fn number_may_end(&self) -> bool {
        matches!(self.token, Token::Num { at, .. } if at.complete())
    }

    /// The string collected last ([`Sink::Collect`]), unescaped.
    pub fn text(&self) -> &[u8] {
        &self.text
    }

    /// The string collected last, taken out.
    pub fn take_text(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.text)
    }

    /// The spelling of the number read last, when kept.
    pub fn number(&self) -> &[u8] {
        &self.number
    }

    /// Bytes held by the buffers (their capacity).
    pub fn held_bytes(&self) -> usize {
        self.text.capacity() + self.number.capacity()
    }

    fn literal(
        &mut self,
        input: &[u8],
        mut at: usize,
        mut rest: &'static [u8],
    ) -> Result<Lexed, Fault> {
        while let (Some(&expected), Some(&byte)) = (rest.first(), input.get(at)) {
            if byte != expected {
                return Err(Fault::syntax("expected ident", at));
            }
            rest = &rest[1..];
            at += 1;
        }
        self.token = Token::Literal { rest };
        Ok(if rest.is_empty() {
            Lexed::Ended(Kind::Literal, at)
        } else {
            Lexed::More
        })
    }

    fn spelling(
        &mut self,
        input: &[u8],
        mut at: usize,
        mut spelling: Spelling,
        keep: bool,
    ) -> Result<Lexed, Fault> {
        let start = at;
        let mut ended = false;
        while let Some(&byte) = input.get(at) {
            let digit = byte.is_ascii_digit();
            spelling = match (spelling, byte) {
                (Spelling::Minus, b'0') => Spelling::Zero,
                (Spelling::Minus, _) if digit => Spelling::Int,
                (Spelling::Zero, _) if digit => {
                    return Err(Fault::syntax("invalid number (leading zero)", at));
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
                _ => return Err(Fault::syntax("invalid number", at)),
            };
            at += 1;
        }
        if keep {
            self.number.extend_from_slice(&input[start..at]);
        }
        self.token = Token::Num { at: spelling, keep };
        Ok(if ended {
            Lexed::Ended(Kind::Number, at)
        } else {
            Lexed::More
        })
    }

    /// A string from `input[at..]`: runs of plain bytes in one go, escapes a byte at a time.
    fn string(
        &mut self,
        input: &[u8],
        mut at: usize,
        sink: Sink,
        mut escape: Escape,
    ) -> Result<Lexed, Fault> {
        loop {
            if escape != Escape::None {
                let Some(&byte) = input.get(at) else {
                    self.token = Token::Str { sink, escape };
                    return Ok(Lexed::More);
                };
                escape = self.escape(byte, at, escape, sink)?;
                at += 1;
                continue;
            }
            let start = at;
            at += scan::string_run(&input[at..]);
            let run = &input[start..at];
            match sink {
                Sink::Collect => self.text.extend_from_slice(run),
                Sink::Check => self.check_utf8(run, start)?,
                Sink::Skip => {}
            }
            let Some(&byte) = input.get(at) else {
                self.token = Token::Str { sink, escape };
                return Ok(Lexed::More);
            };
            if sink == Sink::Check && self.carry_len > 0 {
                return Err(Fault::syntax("invalid unicode code point", at));
            }
            match byte {
                b'"' => {
                    if sink == Sink::Collect && std::str::from_utf8(&self.text).is_err() {
                        return Err(Fault::syntax("invalid unicode code point", at));
                    }
                    return Ok(Lexed::Ended(Kind::String, at + 1));
                }
                b'\\' => {
                    escape = Escape::Backslash;
                    at += 1;
                }
                _ => {
                    return Err(Fault::syntax(
                        "control character while parsing a string",
                        at,
                    ));
                }
            }
        }
    }

    /// One byte of an escape sequence.
    fn escape(&mut self, byte: u8, at: usize, escape: Escape, sink: Sink) -> Result<Escape, Fault> {
        let invalid = || Fault::syntax("invalid escape", at);
        Ok(match escape {
            Escape::None => unreachable!("not in an escape"),
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
                    _ => return Err(invalid()),
                };
                if sink == Sink::Collect {
                    self.text.push(unescaped);
                }
                Escape::None
            }
            Escape::Hex { digits, value } => {
                let value = value << 4 | hex_value(byte).ok_or_else(invalid)?;
                if digits < 3 {
                    return Ok(Escape::Hex {
                        digits: digits + 1,
                        value,
                    });
                }
                match (sink, value) {
                    (Sink::Skip, _) => Escape::None,
                    (_, 0xDC00..=0xDFFF) => {
                        return Err(Fault::syntax("lone trailing surrogate in hex escape", at));
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
                _ => return Err(Fault::syntax("unexpected end of hex escape", at)),
            },
            Escape::HighBackslash { high } => match byte {
                b'u' => Escape::Low {
                    high,
                    digits: 0,
                    value: 0,
                },
                _ => return Err(Fault::syntax("unexpected end of hex escape", at)),
            },
            Escape::Low {
                high,
                digits,
                value,
            } => {
                let value = value << 4 | hex_value(byte).ok_or_else(invalid)?;
                if digits < 3 {
                    return Ok(Escape::Low {
                        high,
                        digits: digits + 1,
                        value,
                    });
                }
                if !(0xDC00..=0xDFFF).contains(&value) {
                    return Err(Fault::syntax("lone leading surrogate in hex escape", at));
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
                _ => return Err(Fault::syntax("invalid unicode code point", start)),
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
                Err(_) => return Err(Fault::syntax("invalid unicode code point", start)),
            }
        }
        if let Err(error) = std::str::from_utf8(run) {
            if error.error_len().is_some() {
                return Err(Fault::syntax("invalid unicode code point", start));
            }
            let rest = &run[error.valid_up_to()..];
            self.carry[..rest.len()].copy_from_slice(rest);
            self.carry_len = rest.len();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `plain_integer` reads what serde_json reads as an i64 wherever the number's length falls
    /// against its 8-byte word, and leaves to the general steps everything else.
    #[test]
    fn plain_integers_of_every_length() {
        let mut spellings: Vec<String> = Vec::new();
        for digits in 1..=20 {
            let nines = "9".repeat(digits);
            let mixed: String = (0..digits)
                .map(|index| char::from(b'1' + (index % 9) as u8))
                .collect();
            for number in [nines, mixed, format!("1{}", "0".repeat(digits - 1))] {
                spellings.push(number.clone());
                spellings.push(format!("-{number}"));
            }
        }
        spellings.extend(
            [
                "0", "-0", "00", "01", "-01", "-", "", "1.5", "1e2", "1E2", "0.0",
            ]
            .map(String::from),
        );
        for spelling in &spellings {
            for end in [",", "}", " ", "\n", ".", "e", "E", "x", ""] {
                for padding in ["", "        "] {
                    let text = format!("{spelling}{end}{padding}");
                    let got = plain_integer(text.as_bytes());
                    let plain = !end.is_empty() && !matches!(end, "." | "e" | "E")
                        || (end.is_empty() && !padding.is_empty());
                    let expected = serde_json::from_str::<i64>(spelling)
                        .ok()
                        .filter(|_| plain)
                        .filter(|_| spelling.trim_start_matches('-').len() <= 18)
                        .filter(|_| spelling != "-0")
                        .map(|value| (value, spelling.len()));
                    assert_eq!(got, expected, "{text:?}");
                }
            }
        }
    }

    #[test]
    fn eight_digits_are_weighted_by_place() {
        for number in [0u64, 1, 12_345_678, 99_999_999, 10_000_000, 90_807_060] {
            let text = format!("{number:08}");
            let values =
                u64::from_le_bytes(text.as_bytes().try_into().unwrap()) ^ 0x3030_3030_3030_3030;
            assert_eq!(eight_digits(values), number);
        }
    }

    /// A string read a byte at a time ends where it ends when read whole, with the same text.
    #[test]
    fn a_string_split_anywhere_ends_in_the_same_place() {
        let input = "ab\\u00e9\\ud83d\\ude00\u{e9}\\n\"rest".as_bytes();
        let quote = input.iter().position(|&byte| byte == b'"').unwrap();
        let mut whole = Lexer::default();
        whole.open_string(Sink::Collect);
        let ended = Lexed::Ended(Kind::String, quote + 1);
        assert_eq!(whole.resume(input, 0).unwrap(), ended);
        let mut split = Lexer::default();
        split.open_string(Sink::Collect);
        for at in 0..quote {
            assert_eq!(
                split.resume(&input[..=at], at).unwrap(),
                Lexed::More,
                "{at}"
            );
        }
        assert_eq!(split.resume(input, quote).unwrap(), ended);
        assert_eq!(split.text(), whole.text());
        assert_eq!(whole.text(), "ab\u{e9}\u{1f600}\u{e9}\n".as_bytes());
    }
}

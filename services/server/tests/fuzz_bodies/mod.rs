//! The differential fuzz's inputs (`tests/parser_fuzz.rs`): a generator of study-shaped
//! bodies that visits every place where JSON parsers differ, and a mutator that damages them
//! byte by byte.

use rand::{
    RngExt, SeedableRng,
    rngs::StdRng,
    seq::{IndexedRandom, IteratorRandom},
};

// ---------------------------------------------------------------------------------------------
// The generator: study-shaped bodies that visit every place where JSON parsers differ.

/// String pieces every parser must accept.
const VALID_PIECES: &[&[u8]] = &[
    b"a",
    b"name",
    b"data",
    "é".as_bytes(),
    "日本".as_bytes(),
    "😀".as_bytes(),
    b"\x7f",
    b"\\\"",
    b"\\\\",
    b"\\/",
    b"\\b\\f\\n\\r\\t",
    b"\\u0041",
    b"\\u00e9",
    b"\\u00E9",
    b"\\u0000",
    b"\\u001f",
    b"\\ud83d\\ude00",
    b"\\uD83D\\uDE00",
    b"\\uffff",
    b"\\ufffe",
];

/// String pieces at least one JSON parser gets wrong: escapes, surrogates, control characters
/// and invalid UTF-8.
const BAD_PIECES: &[&[u8]] = &[
    b"\\u12zz",
    b"\\u",
    b"\\u1",
    b"\\u12",
    b"\\u123",
    b"\\uzzzz",
    b"\\u12\"",
    b"\\u123\\",
    b"\\u+123",
    b"\\u-123",
    b"\\u 123",
    b"\\u0g00",
    b"\\x41",
    b"\\'",
    b"\\U0041",
    b"\\a",
    b"\\0",
    b"\\ ",
    b"\\\n",
    b"\\",
    b"\\ud800",
    b"\\udbff",
    b"\\udc00",
    b"\\udfff",
    b"\\ud800\\u0041",
    b"\\ud800\\ud800",
    b"\\ud800\\n",
    b"\\ud800x",
    b"\\ud800\\u12zz",
    b"\\ud800\\",
    b"\\udc00\\ud800",
    b"\x00",
    b"\x01",
    b"\x09",
    b"\x0a",
    b"\x0d",
    b"\x1f",
    b"\x80",
    b"\xbf",
    b"\xc3",
    b"\xc3\x28",
    b"\xc0\x80",
    b"\xc1\xbf",
    b"\xe0\x80\x80",
    b"\xe2\x82",
    b"\xed\xa0\x80",
    b"\xed\xbf\xbf",
    b"\xf0\x9f\x98",
    b"\xf4\x90\x80\x80",
    b"\xf5\x80\x80\x80",
    b"\xfe",
    b"\xff",
];

/// Numbers every parser must accept (some are floats or out of i64: a 422 where an i64 belongs),
/// separated by spaces.
const VALID_NUMBERS: &str = "0 -0 1 -1 42 9223372036854775807 -9223372036854775808 \
    9223372036854775808 -9223372036854775809 18446744073709551615 18446744073709551616 \
    123456789012345678901234567890123456789 0.0 -0.0 1.5 1e2 1E2 1e+2 1e-2 0e0 1.0e0 1e400 \
    -1e400 1e-400 1e999999999999999999999 0.000000000000000000000000000000000000001 \
    1.00000000000000000000000000000000000001";

/// Number spellings JSON forbids, separated by spaces.
const BAD_NUMBERS: &str = "01 -01 00 -00 1. -1. 1.e1 .5 -.5 - --1 +1 1e 1e+ 1E- 1e1.5 0x10 1..2 \
    1.2.3 1_000 NaN Infinity -Infinity 1f 0- 1- -a";

/// The literals, and misspellings of them, separated by spaces.
const LITERALS: &str = "true false null";
const BAD_LITERALS: &str = "tru nul fals True NULL nulll truex n";

/// One of the space-separated `words`, chosen at random.
fn word<'a>(rng: &mut StdRng, words: &'a str) -> &'a str {
    words.split(' ').choose(rng).expect("at least one word")
}

/// Whitespace JSON allows.
const VALID_SPACE: &[&[u8]] = &[b" ", b"\n", b"\t", b"\r\n", b"  \t\n\r "];

/// Bytes some parser might take for whitespace: vertical tab, form feed, NUL, NBSP, a BOM.
const BAD_SPACE: &[&[u8]] = &[
    b"\x0b",
    b"\x0c",
    b"\x00",
    b"\xc2\xa0",
    b"\xef\xbb\xbf",
    b"\x1c",
    b"/**/",
];

/// What may follow the document.
const TRAILERS: &[&[u8]] = &[
    b"x",
    b"{}",
    b"[]",
    b"\x00",
    b",",
    b"]",
    b"}",
    b"\"",
    b"1",
    b"null",
    b"\xef\xbb\xbf",
    b"//",
    b"\xff",
];

/// Keys for `data`: few, so that bodies repeat them.
const DATA_KEYS: &[&str] = &["a", "b", "ab", "", "é", "a b", "name", "data"];

/// Builds one body; `bad` is the chance that any one place gets a spelling JSON forbids.
pub struct Generator {
    rng: StdRng,
    bad: f64,
    out: Vec<u8>,
}

impl Generator {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            bad: 0.0,
            out: Vec::new(),
        }
    }

    fn is_bad(&mut self) -> bool {
        self.rng.random_bool(self.bad)
    }

    fn push(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    pub fn body(&mut self) -> Vec<u8> {
        self.out.clear();
        self.bad = *[0.0, 0.0, 0.01, 0.03, 0.1, 0.3]
            .choose(&mut self.rng)
            .unwrap();
        if self.rng.random_bool(0.02) {
            self.push(b"\xef\xbb\xbf");
        }
        self.space();
        match self.rng.random_range(0..100) {
            0..90 => self.study_object(),
            90..96 => self.study_array(),
            _ => self.value(2),
        }
        self.space();
        if self.is_bad() {
            let trailer = *TRAILERS.choose(&mut self.rng).unwrap();
            self.push(trailer);
        }
        std::mem::take(&mut self.out)
    }

    /// Mostly nothing, often valid whitespace (one space as `json.dumps` writes, runs of
    /// every length up to past two 16-byte lanes of all four kinds, long runs), rarely a byte
    /// JSON does not count as whitespace.
    fn space(&mut self) {
        match self.rng.random_range(0..12) {
            0..5 => {}
            5..8 => {
                let space = *VALID_SPACE.choose(&mut self.rng).unwrap();
                self.push(space);
            }
            8 => self.push(b" "),
            9..11 => {
                for _ in 0..self.rng.random_range(0..=40) {
                    let byte = *b" \t\n\r".choose(&mut self.rng).unwrap();
                    self.out.push(byte);
                }
            }
            _ => {
                let run = self.rng.random_range(30..140);
                self.out.extend(std::iter::repeat_n(b' ', run));
            }
        }
        if self.is_bad() {
            let space = *BAD_SPACE.choose(&mut self.rng).unwrap();
            self.push(space);
        }
    }

    /// `{"name": …, "data": {…}}` with the fields in any order, sometimes missing, repeated,
    /// or joined by unknown fields of any shape.
    fn study_object(&mut self) {
        let mut fields = Vec::new();
        if !self.is_bad() {
            fields.push(0);
        }
        if !self.is_bad() {
            fields.push(1);
        }
        for _ in 0..self.rng.random_range(0..4) {
            if self.rng.random_bool(0.3) {
                fields.push(2);
            }
        }
        if self.is_bad() {
            fields.push(self.rng.random_range(0..2));
        }
        for index in (1..fields.len()).rev() {
            fields.swap(index, self.rng.random_range(0..=index));
        }
        self.push(b"{");
        for (position, field) in fields.iter().enumerate() {
            if position > 0 {
                self.push(b",");
            }
            self.space();
            match field {
                0 => self.key("name"),
                1 => self.key("data"),
                _ => {
                    let name = *["x", "extra", "nam", "Data", "", "name ", "\u{e9}"]
                        .choose(&mut self.rng)
                        .unwrap();
                    self.key(name);
                }
            }
            self.space();
            self.push(b":");
            self.space();
            match field {
                0 => self.name_value(),
                1 => self.data_value(),
                _ => {
                    let depth = self.rng.random_range(0..4);
                    self.value(depth);
                }
            }
            self.space();
        }
        if self.is_bad() {
            self.push(b",");
        }
        self.push(b"}");
    }

    /// The array form `[name, data]`, sometimes with too few or too many elements.
    fn study_array(&mut self) {
        self.push(b"[");
        let elements = if self.is_bad() {
            self.rng.random_range(0..4)
        } else {
            2
        };
        for index in 0..elements {
            if index > 0 {
                self.push(b",");
            }
            self.space();
            match index {
                0 => self.name_value(),
                1 => self.data_value(),
                _ => self.value(1),
            }
            self.space();
        }
        self.push(b"]");
    }

    /// A key spelled as is or with escapes, so `"n\u0061me"` is `name` too.
    fn key(&mut self, text: &str) {
        self.push(b"\"");
        for c in text.chars() {
            if c == '"' || c == '\\' || self.rng.random_bool(0.1) {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let escape = format!("\\u{unit:04x}");
                    self.push(escape.as_bytes());
                }
            } else {
                let mut utf8 = [0u8; 4];
                self.push(c.encode_utf8(&mut utf8).as_bytes());
            }
        }
        self.push(b"\"");
    }

    /// Usually a string, rarely another value (a 422).
    fn name_value(&mut self) {
        if self.is_bad() {
            self.value(1);
        } else {
            self.string();
        }
    }

    /// Usually an object of integers, rarely another value (a 422).
    fn data_value(&mut self) {
        if self.is_bad() {
            self.value(2);
            return;
        }
        self.push(b"{");
        let pairs = match self.rng.random_range(0..10) {
            0 => 0,
            1..9 => self.rng.random_range(1..8),
            _ => self.rng.random_range(8..60),
        };
        for index in 0..pairs {
            if index > 0 {
                self.push(b",");
            }
            self.space();
            if self.is_bad() {
                self.string();
            } else if self.rng.random_bool(0.2) {
                // A long plain key, or one that leaves plain ASCII at any place: the fast path
                // takes the first, leaves the second to the general steps.
                let length = self.rng.random_range(0..=40);
                let key: String = (0..length)
                    .map(|index| char::from(b'a' + (index % 26) as u8))
                    .collect();
                if self.rng.random_bool(0.5) {
                    self.key(&key);
                } else {
                    self.string();
                }
            } else {
                let key = *DATA_KEYS.choose(&mut self.rng).unwrap();
                self.key(key);
            }
            self.space();
            self.push(b":");
            self.space();
            if self.is_bad() {
                self.value(1);
            } else {
                self.integer();
            }
            self.space();
        }
        if self.is_bad() {
            self.push(b",");
        }
        self.push(b"}");
    }

    /// An i64 (edges, small, of every number of digits, any).
    fn integer(&mut self) {
        let value: i64 = match self.rng.random_range(0..5) {
            0 => *[0, 1, -1, i64::MIN, i64::MAX]
                .choose(&mut self.rng)
                .unwrap(),
            1 => self.rng.random_range(-1000..1000),
            2 => {
                let digits = self.rng.random_range(1..=18);
                let value = self
                    .rng
                    .random_range(10i64.pow(digits - 1)..10i64.pow(digits));
                if self.rng.random_bool(0.5) {
                    -value
                } else {
                    value
                }
            }
            _ => self.rng.random(),
        };
        self.push(value.to_string().as_bytes());
    }

    /// Any JSON value, nested up to `depth` more levels, sometimes misspelled; rarely a deep
    /// tower of arrays, sized around the 64 openers past which `/lean` leaves sonic-rs and the
    /// 128 levels past which `serde_json` refuses.
    fn value(&mut self, depth: u32) {
        match self.rng.random_range(0..100) {
            0..30 => self.string(),
            30..55 => self.number(),
            55..65 => {
                let literal = if self.is_bad() {
                    word(&mut self.rng, BAD_LITERALS)
                } else {
                    word(&mut self.rng, LITERALS)
                };
                self.push(literal.as_bytes());
            }
            65..80 if depth > 0 => {
                self.push(b"[");
                for index in 0..self.rng.random_range(0..4) {
                    if index > 0 {
                        self.push(b",");
                    }
                    self.space();
                    self.value(depth - 1);
                    self.space();
                }
                self.push(b"]");
            }
            80..95 if depth > 0 => {
                self.push(b"{");
                for index in 0..self.rng.random_range(0..4) {
                    if index > 0 {
                        self.push(b",");
                    }
                    self.space();
                    self.string();
                    self.space();
                    self.push(b":");
                    self.space();
                    self.value(depth - 1);
                    self.space();
                }
                self.push(b"}");
            }
            95..100 => {
                let levels = *[50, 60, 61, 62, 63, 64, 65, 70, 126, 127, 128, 129, 130]
                    .choose(&mut self.rng)
                    .unwrap();
                let levels = self.rng.random_range(levels - 2..=levels + 2);
                self.out.extend(std::iter::repeat_n(b'[', levels));
                self.value(0);
                self.out.extend(std::iter::repeat_n(b']', levels));
            }
            _ => self.number(),
        }
    }

    /// A string of valid pieces, sometimes with a bad one, sometimes longer than a SIMD block,
    /// often with a plain run of any length before a piece (so that an escape, a multi-byte
    /// character or a bad byte falls at every place of a 16-byte lane).
    fn string(&mut self) {
        self.push(b"\"");
        for _ in 0..self.rng.random_range(0..5) {
            match self.rng.random_range(0..10) {
                0 => {
                    let run = self.rng.random_range(20..80);
                    self.out.extend(std::iter::repeat_n(b'x', run));
                }
                1..4 => {
                    let run = self.rng.random_range(0..=40);
                    self.out.extend(std::iter::repeat_n(b'y', run));
                    let piece = *VALID_PIECES.choose(&mut self.rng).unwrap();
                    self.push(piece);
                }
                _ => {
                    let piece = *VALID_PIECES.choose(&mut self.rng).unwrap();
                    self.push(piece);
                }
            }
            if self.is_bad() {
                let piece = *BAD_PIECES.choose(&mut self.rng).unwrap();
                self.push(piece);
            }
        }
        self.push(b"\"");
    }

    /// A number: valid (integers, floats, huge and tiny exponents) or misspelled.
    fn number(&mut self) {
        if self.is_bad() {
            let number = word(&mut self.rng, BAD_NUMBERS);
            self.push(number.as_bytes());
        } else if self.rng.random_bool(0.5) {
            let number = word(&mut self.rng, VALID_NUMBERS);
            self.push(number.as_bytes());
        } else {
            self.integer();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The mutator: byte-level damage on top of the generator's structure.

/// Bytes that change what a JSON parser sees.
const INTERESTING_BYTES: &[u8] =
    b"\"\\{}[],:0123456789-+.eEutfnl \t\r\n\x00\x01\x0b\x0c\x1f\x7f\x80\xbf\xc0\xc3\xed\xef\xf4\xf5\xff";

/// Applies one to four random edits: overwrite, insert a byte or a bad piece, delete, repeat
/// or swap a range, truncate, or splice in a piece of `other`.
pub fn mutate(rng: &mut StdRng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..rng.random_range(1..=4) {
        let len = input.len();
        let at = rng.random_range(0..=len);
        match rng.random_range(0..9) {
            0 if at < len => input[at] = *INTERESTING_BYTES.choose(rng).unwrap(),
            1 => input.insert(at, *INTERESTING_BYTES.choose(rng).unwrap()),
            2 => {
                let piece = if rng.random_bool(0.5) {
                    *BAD_PIECES.choose(rng).unwrap()
                } else {
                    word(rng, BAD_NUMBERS).as_bytes()
                };
                input.splice(at..at, piece.iter().copied());
            }
            3 if at < len => {
                let end = rng.random_range(at..=len.min(at + 16));
                input.drain(at..end);
            }
            4 if at < len => {
                let end = rng.random_range(at..=len.min(at + 32));
                let copy = input[at..end].to_vec();
                input.splice(at..at, copy);
            }
            5 if len > 1 => {
                let other_at = rng.random_range(0..len);
                input.swap(at.min(len - 1), other_at);
            }
            6 => input.truncate(at),
            7 if !other.is_empty() => {
                let start = rng.random_range(0..other.len());
                let end = rng.random_range(start..=other.len().min(start + 32));
                input.splice(at..at, other[start..end].iter().copied());
            }
            _ if at < len => input[at] ^= 1 << rng.random_range(0..8),
            _ => {}
        }
    }
}

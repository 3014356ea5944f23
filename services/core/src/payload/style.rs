//! [`BodyStyle`]: how a study body is spelled: compact or spaced separators, keys of `a-z` or
//! `a-zA-Z`.

use super::KEY_LEN;

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
pub(super) const MIXED_LETTERS: &[u8; 52] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

impl std::str::FromStr for Separators {
    type Err = String;

    /// `compact` or `spaced`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "compact" => Ok(Separators::Compact),
            "spaced" => Ok(Separators::Spaced),
            other => Err(format!("`{other}` is not a JSON spacing (compact, spaced)")),
        }
    }
}

impl std::str::FromStr for Alphabet {
    type Err = String;

    /// `a-z` or `a-zA-Z`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim() {
            "a-z" => Ok(Alphabet::Lower),
            "a-zA-Z" => Ok(Alphabet::Mixed),
            other => Err(format!("`{other}` is not a key alphabet (a-z, a-zA-Z)")),
        }
    }
}

/// How a study body is spelled. The default (compact, lowercase keys) is what
/// [`generate_seeded`] and the other functions without a style write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BodyStyle {
    /// Compact or spaced.
    pub separators: Separators,
    /// The keys' letters.
    pub alphabet: Alphabet,
}

impl BodyStyle {
    /// `,` and `:`, spaced or not.
    pub(super) fn separators(self) -> (&'static [u8], &'static [u8]) {
        match self.separators {
            Separators::Compact => (b",", b":"),
            Separators::Spaced => (b", ", b": "),
        }
    }

    /// The longest text of one pair with its separator: `"abcdefghij":1000000,`, two bytes
    /// more spaced.
    pub(super) fn max_pair_len(self) -> usize {
        let (comma, colon) = self.separators();
        1 + KEY_LEN + 1 + colon.len() + 7 + comma.len()
    }
}

//! Working out a body's [`Answer`] as its pairs are written, in 8 bytes a pair.

use super::{Alphabet, Answer, KEY_LEN, MIXED_LETTERS, Stopped};

/// Bits of an entry that hold the value (1,000,000 < 2^20).
const VALUE_BITS: u32 = 20;
/// An odd multiplier: multiplying by it modulo 2^k mixes a key's bits and can be undone, so
/// a key's bucket and the rest of its bits in the entry together still name exactly one key.
const KEY_MIX: u64 = 0x9E37_79B9_7F4A_7C15;

/// How a key becomes a bucket and an entry, for an alphabet: a key read as a number in base
/// 26 (a-z) is below 2^48, in base 52 (a-zA-Z) below 2^58; its top bits pick the bucket (256
/// buckets for lowercase keys, 2^14 for mixed ones) so that what is left of the key fits
/// beside the value in one `u64`.
#[derive(Debug, Clone, Copy)]
pub(super) struct EntryLayout {
    letters: &'static [u8],
    key_bits: u32,
    bucket_bits: u32,
}

impl EntryLayout {
    pub(super) fn of(alphabet: Alphabet) -> Self {
        match alphabet {
            Alphabet::Lower => Self {
                letters: b"abcdefghijklmnopqrstuvwxyz",
                key_bits: 48,
                bucket_bits: 8,
            },
            Alphabet::Mixed => Self {
                letters: MIXED_LETTERS,
                key_bits: 58,
                bucket_bits: 14,
            },
        }
    }

    pub(super) fn buckets(self) -> usize {
        1 << self.bucket_bits
    }

    /// The key's bucket, and its entry with `value`.
    fn place(self, key: &[u8; KEY_LEN], value: i64) -> (usize, u64) {
        let base = self.letters.len() as u64;
        let number = key.iter().fold(0u64, |number, letter| {
            let digit = self
                .letters
                .iter()
                .position(|known| known == letter)
                .expect("a key of the generator's alphabet") as u64;
            number * base + digit
        });
        let mixed = number.wrapping_mul(KEY_MIX) & ((1 << self.key_bits) - 1);
        let rest_bits = self.key_bits - self.bucket_bits;
        let bucket = (mixed >> rest_bits) as usize;
        let rest = mixed & ((1 << rest_bits) - 1);
        (bucket, (rest << VALUE_BITS) | value as u64)
    }
}

/// How many entries each of `buckets` buckets is given before the first pair: the mean plus
/// eight standard deviations (pairs fall into buckets evenly at random), so a bucket
/// practically never grows, and if one does it is still correct.
pub(super) fn bucket_capacity(pairs: usize, buckets: usize) -> usize {
    let mean = pairs.div_ceil(buckets);
    mean + 8 * mean.isqrt() + 1
}

/// Works out a body's [`Answer`] as its pairs are written, in 8 bytes per pair: 0.4 times
/// the body, where a hash map from key to value takes 25 bytes a slot, 1.6 times the body
/// at a gigabyte (its table is rounded up to a power of two).
///
/// Each key, read as a number and mixed, picks a bucket by its top bits; the bucket keeps the
/// other bits with the value in one `u64`, in the order written ([`EntryLayout`]). At the end
/// each bucket is sorted by key with a stable sort, so the pairs of a repeated key stay in
/// order and the last one is the value that counts: one count per run of equal keys, the
/// largest of those last values.
pub(super) struct AnswerCounter {
    layout: EntryLayout,
    pub(super) buckets: Vec<Vec<u64>>,
}

impl AnswerCounter {
    /// A counter with room for `pairs` pairs of keys of `alphabet`.
    pub(super) fn new(pairs: usize, alphabet: Alphabet) -> Self {
        let layout = EntryLayout::of(alphabet);
        let capacity = bucket_capacity(pairs, layout.buckets());
        Self {
            layout,
            buckets: (0..layout.buckets())
                .map(|_| Vec::with_capacity(capacity))
                .collect(),
        }
    }

    /// Counts the next pair of the body.
    pub(super) fn add(&mut self, key: &[u8; KEY_LEN], value: i64) {
        let (bucket, entry) = self.layout.place(key, value);
        self.buckets[bucket].push(entry);
    }

    /// The answer for every pair added, asking `keep_going` between buckets.
    pub(super) fn finish(self, keep_going: &dyn Fn() -> bool) -> Result<Answer, Stopped> {
        let mut answer = Answer {
            count: 0,
            maxval: 0,
        };
        for mut bucket in self.buckets {
            if !keep_going() {
                return Err(Stopped);
            }
            bucket.sort_by_key(|entry| entry >> VALUE_BITS);
            for (index, entry) in bucket.iter().enumerate() {
                let last_of_its_key = bucket
                    .get(index + 1)
                    .is_none_or(|next| next >> VALUE_BITS != entry >> VALUE_BITS);
                if last_of_its_key {
                    answer.count += 1;
                    answer.maxval = answer.maxval.max((entry & ((1 << VALUE_BITS) - 1)) as i64);
                }
            }
        }
        Ok(answer)
    }
}

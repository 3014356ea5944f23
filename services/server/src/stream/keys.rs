//! [`KeyTable`]: the only thing `/stream` keeps of a body while it arrives, its `data` pairs,
//! packed into buckets by key hash, so the count at the end sorts small buckets instead of one
//! big array, and can stop between buckets to give the event loop back.

use std::hash::BuildHasher;

use crate::{distinct::Tally, parse::Summary};

/// Buckets, chosen by the top 8 bits of a key's hash. A 25 MB study body (1.25M pairs) puts
/// some 4,900 pairs, about 90 KB, in each: one bucket sorts in a fraction of a millisecond and
/// fits in the L2 cache.
pub const BUCKETS: usize = 256;

/// The pairs of `data` in document order, each packed into its bucket as
/// `[low 32 bits of the hash][key length, varint][key bytes][value, zigzag varint]`:
/// 18 bytes for a study pair (`"abcdefghij":123456,`, 20 bytes of JSON). No per-key
/// allocation, no pointers, and nothing of the body but the keys and the values.
#[derive(Debug)]
pub struct KeyTable {
    buckets: Vec<Vec<u8>>,
    hasher: foldhash::fast::RandomState,
    pairs: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        Self {
            buckets: vec![Vec::new(); BUCKETS],
            hasher: foldhash::fast::RandomState::default(),
            pairs: 0,
        }
    }
}

impl KeyTable {
    /// The key's hash, seeded per table.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Appends a pair whose key hashed to `hash` ([`Self::hash`]); a later pair with the same
    /// key wins.
    pub fn push(&mut self, hash: u64, key: &[u8], value: i64) {
        let bucket = &mut self.buckets[(hash >> 56) as usize];
        bucket.extend_from_slice(&(hash as u32).to_le_bytes());
        push_varint(bucket, key.len() as u64);
        bucket.extend_from_slice(key);
        push_varint(bucket, zigzag(value));
        self.pairs += 1;
    }

    /// Pairs pushed, repeated keys included.
    pub fn len(&self) -> usize {
        self.pairs
    }

    /// Whether no pair was pushed.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Bytes the table may hold at its peak: the buckets' capacity, and three times the
    /// largest bucket's for the moments beyond it (while a bucket doubles, its old block and
    /// its new one are both alive; while a bucket is counted, its index takes 8 bytes a
    /// record, and a record has 6 bytes at least).
    pub fn held_bytes(&self) -> usize {
        let largest = self.buckets.iter().map(Vec::capacity).max().unwrap_or(0);
        self.buckets.iter().map(Vec::capacity).sum::<usize>()
            + 3 * largest
            + self.buckets.capacity() * std::mem::size_of::<Vec<u8>>()
    }

    /// Counts bucket `bucket` into `tally`, using `index` as scratch space: one sort of the
    /// bucket's (hash, position) entries, then the runs of equal hashes.
    pub fn tally_bucket(&self, bucket: usize, index: &mut Vec<u64>, tally: &mut Tally) {
        let records = &self.buckets[bucket];
        index.clear();
        let mut at = 0;
        while at < records.len() {
            let hash = u32::from_le_bytes(records[at..at + 4].try_into().expect("4 bytes"));
            index.push((u64::from(hash) << 32) | at as u64);
            at = record(records, at).2;
        }
        // (hash, position): equal hashes together, in document order.
        index.sort_unstable();
        tally.add_sorted(
            index,
            |entry| entry >> 32,
            |entry| {
                let (key, value, _) = record(records, (entry & 0xffff_ffff) as usize);
                (key, value)
            },
        );
    }

    /// Counts every bucket at once (tests, the bench's checks).
    pub fn summary(&self) -> Summary {
        let mut tally = Tally::default();
        let mut index = Vec::new();
        for bucket in 0..BUCKETS {
            self.tally_bucket(bucket, &mut index, &mut tally);
        }
        tally.summary()
    }
}

/// The record at `at`: its key, its value, and where the next record starts.
fn record(records: &[u8], at: usize) -> (&[u8], i64, usize) {
    let (length, key_at) = read_varint(records, at + 4);
    let key_end = key_at + length as usize;
    let (value, next) = read_varint(records, key_end);
    (&records[key_at..key_end], unzigzag(value), next)
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_varint(bytes: &[u8], mut at: usize) -> (u64, usize) {
    let mut value = 0u64;
    let mut shift = 0;
    loop {
        let byte = bytes[at];
        at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return (value, at);
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_long_keys_survive_the_packing() {
        let mut table = KeyTable::default();
        let long = vec![b'k'; 300];
        for (key, value) in [
            (&b"a"[..], i64::MIN),
            (&long[..], i64::MAX),
            (b"", 0),
            (b"a", -1),
        ] {
            table.push(table.hash(key), key, value);
        }
        assert_eq!(table.len(), 4);
        assert_eq!(
            table.summary(),
            Summary {
                count: 3,
                maxval: i64::MAX
            }
        );
    }

    #[test]
    fn zigzag_round_trips() {
        for value in [0, 1, -1, 63, -64, 1_000_000, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(value)), value);
        }
    }
}

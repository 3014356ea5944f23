//! [`KeyTable`]: the only thing `/stream` keeps of a body while it arrives, its `data` pairs,
//! packed into buckets by key hash, so that the count at the end works on one small bucket at
//! a time, in the cache, and can stop between buckets to give the event loop back.
//!
//! The buckets are a radix partition by hash: a bucket holds some 19,500 of a 25 MB body's
//! 1.25M pairs, and it is counted with an open-addressing table of its own that fits in the
//! L2 cache. So the probes of a hash table are cache hits, where one table for the whole body
//! (`/ping`'s and `/lean`'s maps, tens of megabytes) misses the cache on nearly every insert.
//!
//! How many buckets is a trade between the two halves: the parse appends each pair to the end
//! of its bucket, and the more ends it writes to, the more of them have fallen out of the
//! cache (and out of the TLB) by the time it comes back; the count wants each bucket's table
//! small. On this machine (2.5 MB of L2 cache for its two cores) 64 buckets did best: the
//! parse, count and drop of a 25 MB study body took 67-75 ms of CPU time with 64, 69-78 with
//! 32, 75-78 with 128 and 75-84 with 256, in alternating runs (2026-12-07, load average 10).
//!
//! The count ([`Count`]) goes a bounded number of records at a time, also inside a bucket:
//! a client chooses the keys, and one key repeated ten million times puts all its records in
//! one bucket.

use std::hash::BuildHasher;

use super::record;
use crate::parse::Summary;

/// Buckets, chosen by the top bits of a key's hash. A 25 MB study body (1.25M pairs) puts
/// some 19,500 pairs, about 350 KB, in each: one bucket is counted in about a millisecond,
/// its records and its counting table (768 KB) in the L2 cache.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// The bits of a key's hash that choose its bucket (its top bits).
const BUCKET_BITS: u32 = 6;

/// What malloc adds to each block beyond what was asked: an 8-byte header and the rounding
/// to 16-byte steps. The table has a block per bucket.
const BLOCK_OVERHEAD_BYTES: usize = 16;

/// The pairs of `data` in document order, each packed into its bucket as a record of its key's
/// hash, the key and the value ([`record`]): 18 bytes for a study pair
/// (`"abcdefghij":123456,`, 20 bytes of JSON). No per-key allocation, no pointers, and nothing
/// of the body but the keys and the values.
#[derive(Debug)]
pub struct KeyTable {
    buckets: Vec<Vec<u8>>,
    /// Records in each bucket.
    records: Vec<usize>,
    hasher: foldhash::fast::RandomState,
    pairs: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        Self {
            buckets: vec![Vec::new(); BUCKETS],
            records: vec![0; BUCKETS],
            hasher: foldhash::fast::RandomState::default(),
            pairs: 0,
        }
    }
}

/// A slot of the table a bucket is counted with: one distinct key, found by its hash, with
/// where its latest record starts and that record's value.
#[derive(Debug, Clone, Copy)]
struct Slot {
    hash: u32,
    /// Where the latest record of the key starts, plus one: 0 is an empty slot.
    at_plus_one: usize,
    value: i64,
}

impl Default for Slot {
    /// An empty slot. Its value is the smallest there is, so that the largest value of a table
    /// is the largest of all its slots, taken or not.
    fn default() -> Self {
        Self {
            hash: 0,
            at_plus_one: 0,
            value: i64::MIN,
        }
    }
}

/// Records a bucket's counting table starts with room for. A study body's bucket (about
/// 19,500 records for 25 MB) fits without growing; a bucket of one key repeated ten million times
/// (all equal keys share a bucket) starts, and stays, this small.
const FIRST_TABLE_RECORDS: usize = 32 * 1024;

/// Slots of a table for `records` distinct keys: at most two thirds full, a power of two.
fn table_slots(records: usize) -> usize {
    (records + records / 2).max(1).next_power_of_two()
}

/// Peak bytes of the counting table for a bucket of `records` records: the table grows by
/// doubling as distinct keys fill it, so at most [`table_slots`] of them, and while it doubles
/// the old half-size table is alive beside the new one.
fn counting_table_bytes(records: usize) -> usize {
    let slots = table_slots(records);
    (slots + slots / 2) * std::mem::size_of::<Slot>()
}

impl KeyTable {
    /// The key's hash, seeded per table.
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// Appends a pair whose key hashed to `hash` ([`Self::hash`]); a later pair with the same
    /// key wins.
    #[inline]
    pub fn push(&mut self, hash: u64, key: &[u8], value: i64) {
        let index = (hash >> (64 - BUCKET_BITS)) as usize;
        self.records[index] += 1;
        self.pairs += 1;
        let bucket = &mut self.buckets[index];
        if key.len() > record::SHORT_KEY_BYTES {
            record::push_long(bucket, hash as u32, key, value);
            return;
        }
        // A short key's record is written in place: the bucket grows by a whole block, the
        // record is stored into it with stores of fixed size, and the bucket is cut to the
        // record's end. No copy of the record's own length (a call to memcpy a pair), and no
        // record put together on the stack and copied over: a wide load of bytes just stored
        // narrowly waits for every store before it, and those include the bucket stores that
        // miss the cache.
        let length = bucket.len();
        bucket.resize(length + record::BLOCK_BYTES, 0);
        let block = bucket[length..]
            .first_chunk_mut()
            .expect("the bucket just grew by a block");
        let written = record::write_short(block, hash as u32, key, value);
        bucket.truncate(length + written);
    }

    /// Pairs pushed, repeated keys included.
    pub fn len(&self) -> usize {
        self.pairs
    }

    /// Whether no pair was pushed.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Bytes the table may hold at its peak: the buckets' capacity, and beyond it the larger
    /// of the largest bucket's capacity (while a bucket doubles, its old block and its new one
    /// are both alive) and the counting table of the fullest bucket (while it is counted, see
    /// [`Count`]), and malloc's overhead on each of those blocks.
    pub fn held_bytes(&self) -> usize {
        let largest = self.buckets.iter().map(Vec::capacity).max().unwrap_or(0);
        let fullest = self.records.iter().copied().max().unwrap_or(0);
        let counting = counting_table_bytes(fullest);
        self.buckets.iter().map(Vec::capacity).sum::<usize>()
            + largest.max(counting)
            + self.buckets.capacity() * std::mem::size_of::<Vec<u8>>()
            + self.records.capacity() * std::mem::size_of::<usize>()
            + (self.buckets.len() + 4) * BLOCK_OVERHEAD_BYTES
    }

    /// The count of these pairs, to be done a step at a time ([`Count::step`]).
    pub fn into_count(self) -> Count {
        Count::new(self)
    }

    /// Counts every bucket at once, leaving the table empty (tests, the bench).
    pub fn summary(&mut self) -> Summary {
        let mut count = std::mem::take(self).into_count();
        count.step(usize::MAX);
        count.summary()
    }
}

/// The count of a [`KeyTable`], done a bounded number of records at a time, so that the event
/// loop can run between two steps whatever the keys: bucket by bucket and, inside a bucket,
/// [`Count::step`]'s `records` at a time (one key repeated ten million times puts every record
/// in one bucket). Each bucket is freed as soon as it is counted, so the table's memory goes
/// down as the count goes on, and freeing it all at the end is no long stretch either.
#[derive(Debug)]
pub struct Count {
    buckets: Vec<Vec<u8>>,
    records: Vec<usize>,
    /// The bucket being counted, and where its next record starts.
    bucket: usize,
    at: usize,
    /// The open-addressing table (linear probing) of the bucket being counted, and how many of
    /// its slots are taken.
    slots: Vec<Slot>,
    taken: usize,
    /// Distinct keys counted, and the largest of their last values (`i64::MIN` before any).
    distinct: usize,
    largest: i64,
    freeing: std::time::Duration,
}

impl Count {
    fn new(table: KeyTable) -> Self {
        let mut count = Self {
            buckets: table.buckets,
            records: table.records,
            bucket: 0,
            at: 0,
            slots: Vec::new(),
            taken: 0,
            distinct: 0,
            largest: i64::MIN,
            freeing: std::time::Duration::ZERO,
        };
        count.start_bucket();
        count
    }

    /// Whether every bucket has been counted.
    pub fn is_done(&self) -> bool {
        self.bucket == BUCKETS
    }

    /// Counts up to `records` more records (a bucket's end also counts its table's slots);
    /// returns whether the count is done.
    pub fn step(&mut self, records: usize) -> bool {
        let mut work = 0;
        while !self.is_done() && work < records {
            let bucket = std::mem::take(&mut self.buckets[self.bucket]);
            let end = self.count_records(&bucket, records - work);
            work += end.1;
            self.at = end.0;
            if self.at < bucket.len() {
                self.buckets[self.bucket] = bucket;
                continue;
            }
            work += self.slots.len() / 8;
            self.tally_bucket();
            let freeing = std::time::Instant::now();
            drop(bucket);
            self.freeing += freeing.elapsed();
            self.bucket += 1;
            self.start_bucket();
        }
        self.is_done()
    }

    /// Distinct keys and the largest last value, once [`Self::is_done`].
    pub fn summary(&self) -> Summary {
        Summary {
            count: self.distinct,
            maxval: if self.distinct == 0 { 0 } else { self.largest },
        }
    }

    /// Adds the counted bucket's keys: every taken slot is one, with its last value. Without
    /// a branch on whether a slot is taken, which would be a coin toss for the processor (an
    /// empty slot's value is `i64::MIN`, which changes no maximum).
    fn tally_bucket(&mut self) {
        let (mut distinct, mut largest) = (0, self.largest);
        for slot in &self.slots {
            distinct += usize::from(slot.at_plus_one != 0);
            largest = largest.max(slot.value);
        }
        self.distinct += distinct;
        self.largest = largest;
    }

    /// Time spent freeing counted buckets (the `drop` phase of the count).
    pub fn freeing(&self) -> std::time::Duration {
        self.freeing
    }

    /// Empties the table for the next bucket, sized for its records up to
    /// [`FIRST_TABLE_RECORDS`].
    fn start_bucket(&mut self) {
        self.at = 0;
        self.taken = 0;
        self.slots.clear();
        if let Some(&records) = self.records.get(self.bucket) {
            self.slots.resize(
                table_slots(records.min(FIRST_TABLE_RECORDS)),
                Slot::default(),
            );
        }
    }

    /// Counts the records of `bucket` from `self.at`, at most `limit` of them. Returns where
    /// it stopped and how many it took.
    fn count_records(&mut self, bucket: &[u8], limit: usize) -> (usize, usize) {
        let mut at = self.at;
        let mut counted = 0;
        while at < bucket.len() && counted < limit {
            // As many records as may each add a key before the table is two thirds full.
            let room = (self.slots.len() * 2 / 3).saturating_sub(self.taken);
            if room == 0 {
                self.grow();
                continue;
            }
            let batch = room.min(limit - counted);
            let (next, records, added) = count_batch(&mut self.slots, bucket, at, batch);
            at = next;
            counted += records;
            self.taken += added;
        }
        (at, counted)
    }

    /// Doubles the table: every taken slot moves to its place in one twice as large. Its keys
    /// are distinct, so none is compared.
    fn grow(&mut self) {
        let doubled = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|slot| slot.at_plus_one != 0) {
            let mut index = slot.hash as usize & mask;
            while self.slots[index].at_plus_one != 0 {
                index = (index + 1) & mask;
            }
            self.slots[index] = slot;
        }
    }
}

/// Counts up to `batch` records of `bucket` from `at` into `slots`, an open-addressing table
/// (linear probing) with room for `batch` more keys: a record whose key is in the table
/// already is a later occurrence, whose value wins; keys are compared only when their 32-bit
/// hashes are equal. Returns where it stopped, how many records it took and how many keys
/// they added.
fn count_batch(
    slots: &mut [Slot],
    bucket: &[u8],
    mut at: usize,
    batch: usize,
) -> (usize, usize, usize) {
    let mask = slots.len() - 1;
    let (mut counted, mut added) = (0, 0);
    while counted < batch && at < bucket.len() {
        let record::Record {
            hash,
            key,
            value,
            next,
        } = record::read(bucket, at);
        let mut index = hash as usize & mask;
        loop {
            let slot = &mut slots[index];
            if slot.at_plus_one == 0 {
                *slot = Slot {
                    hash,
                    at_plus_one: at + 1,
                    value,
                };
                added += 1;
                break;
            }
            if slot.hash == hash && record::read(bucket, slot.at_plus_one - 1).key == key {
                slot.at_plus_one = at + 1;
                slot.value = value;
                break;
            }
            index = (index + 1) & mask;
        }
        at = next;
        counted += 1;
    }
    (at, counted, added)
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

    /// Keys that share their whole hash (forced here) are told apart by their bytes, and a
    /// later occurrence of a key replaces its value, even when that lowers the largest value.
    #[test]
    fn equal_hashes_are_told_apart_and_the_last_value_wins() {
        let mut table = KeyTable::default();
        for (key, value) in [(&b"x"[..], 5), (b"y", 1), (b"x", 0), (b"z", -3)] {
            table.push(7 << 56 | 42, key, value);
        }
        assert_eq!(
            table.summary(),
            Summary {
                count: 3,
                maxval: 1
            }
        );
    }

    /// A bucket whose keys all start probing at the same slot fills its counting table
    /// around the end and back: every key is still counted once.
    #[test]
    fn probing_wraps_around_a_full_run_of_slots() {
        let mut table = KeyTable::default();
        let keys: Vec<String> = (0..100).map(|index| format!("key{index}")).collect();
        for (index, key) in keys.iter().enumerate() {
            // Same bucket, same first slot (the last of 512), different 32-bit hashes.
            let hash = 3 << 56 | ((index as u64) << 20) | 0x1ff;
            table.push(hash, key.as_bytes(), index as i64);
            table.push(hash, key.as_bytes(), index as i64 - 1);
        }
        assert_eq!(
            table.summary(),
            Summary {
                count: 100,
                maxval: 98
            }
        );
    }

    #[test]
    fn the_budget_covers_the_counting_table() {
        let mut table = KeyTable::default();
        for index in 0..1000u64 {
            table.push(index << 8, b"", 0);
        }
        let records: usize = table.buckets.iter().map(Vec::capacity).sum();
        assert!(table.held_bytes() >= records + counting_table_bytes(1000));
    }

    /// All records of one key sit in one bucket: a step still counts no more than it was
    /// given, so the loop gets its turn inside the bucket too.
    #[test]
    fn a_step_stops_inside_a_bucket_of_one_repeated_key() {
        let mut table = KeyTable::default();
        let hash = table.hash(b"a");
        for value in 0..10_000 {
            table.push(hash, b"a", value);
        }
        let mut count = table.into_count();
        let mut steps = 0;
        while !count.step(1_000) {
            steps += 1;
        }
        assert!(steps >= 9, "{steps} steps for 10,000 records of 1,000 each");
        assert_eq!(
            count.summary(),
            Summary {
                count: 1,
                maxval: 9_999
            }
        );
    }

    /// A bucket with more distinct keys than its first table holds grows the table, and every
    /// key is counted once.
    #[test]
    fn the_counting_table_grows_past_its_first_size() {
        let mut table = KeyTable::default();
        let keys = FIRST_TABLE_RECORDS * 3;
        for index in 0..keys as u64 {
            let key = index.to_le_bytes();
            // One bucket (the top bits), distinct 32-bit hashes.
            table.push(5 << 56 | index, &key, index as i64);
            table.push(5 << 56 | index, &key, -1);
        }
        assert_eq!(
            table.summary(),
            Summary {
                count: keys,
                maxval: -1
            }
        );
    }
}

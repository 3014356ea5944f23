//! [`Count`]: the distinct keys of a [`KeyTable`] and the largest of their last values,
//! counted bucket by bucket, each bucket with an open-addressing table of its own (linear
//! probing) that fits in the L2 cache, a bounded number of records at a time: a client
//! chooses the keys, and one key repeated ten million times puts all its records in one bucket.
//!
//! A slot of the table holds a key's 32-bit hash, where its latest record starts and that
//! record's value: 16 bytes while the bucket is under 4 GiB (its positions fit 32 bits), 24
//! beyond. While a slot is probed, the next record's slot is fetched into the cache.

use std::time::{Duration, Instant};

use super::{
    keys::{BUCKETS, Bucket, KeyTable},
    record,
};
use crate::parse::Summary;

/// Records a bucket's counting table starts with room for. A study body's bucket (about
/// 19,500 records for 25 MB) fits without growing; a bucket of one key repeated ten million
/// times (all equal keys share a bucket) starts, and stays, this small.
const FIRST_TABLE_RECORDS: usize = 32 * 1024;

/// Slots of a table for `records` distinct keys: at most two thirds full, a power of two.
fn table_slots(records: usize) -> usize {
    (records + records / 2).max(1).next_power_of_two()
}

/// Peak bytes the count adds while it counts a bucket of `records` records, in buckets of at
/// most `segments` segments: the counting table, of the wider slots (it grows by doubling as
/// distinct keys fill it, so at most [`table_slots`] of them, and while it doubles the old
/// half-size table is alive beside the new one), and the list of where each segment starts
/// (grown by doubling too).
pub(crate) fn counting_bytes(records: usize, segments: usize) -> usize {
    let slots = table_slots(records);
    (slots + slots / 2) * std::mem::size_of::<Slot<u64>>() + 2 * segments * 8
}

/// A bucket being counted: its segments, and where each starts in the bucket's bytes (a
/// record's position is counted across segments, as if they were one).
struct Records<'b> {
    segments: &'b [Vec<u8>],
    starts: &'b [usize],
}

impl Records<'_> {
    /// The key of the record at `position`, which is in segment `segment` or an earlier one:
    /// most often the one being counted, found without a search.
    fn key_at(&self, position: usize, segment: usize) -> &[u8] {
        let segment = if position >= self.starts[segment] {
            segment
        } else {
            self.starts.partition_point(|&start| start <= position) - 1
        };
        record::read(&self.segments[segment], position - self.starts[segment]).key
    }
}

/// Where a count is in its bucket: the segment, and the next record's offset in it.
#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    segment: usize,
    at: usize,
}

/// Where a key's latest record starts, plus one (0: an empty slot), in a slot's type.
trait Position: Copy + Eq + std::fmt::Debug {
    const EMPTY: Self;
    /// The position of a record at `at`, which the type holds.
    fn of(at: usize) -> Self;
    fn at(self) -> usize;
}

impl Position for u32 {
    const EMPTY: Self = 0;

    fn of(at: usize) -> Self {
        at as u32 + 1
    }

    fn at(self) -> usize {
        self as usize - 1
    }
}

impl Position for u64 {
    const EMPTY: Self = 0;

    fn of(at: usize) -> Self {
        at as u64 + 1
    }

    fn at(self) -> usize {
        self as usize - 1
    }
}

/// One distinct key: its hash, where its latest record starts, and that record's value.
#[derive(Debug, Clone, Copy)]
struct Slot<P> {
    hash: u32,
    at_plus_one: P,
    value: i64,
}

impl<P: Position> Slot<P> {
    /// An empty slot. Its value is the smallest there is, so that the largest value of a table
    /// is the largest of all its slots, taken or not.
    const EMPTY: Self = Self {
        hash: 0,
        at_plus_one: P::EMPTY,
        value: i64::MIN,
    };
}

/// The counting table of one bucket.
#[derive(Debug)]
struct Table<P> {
    slots: Vec<Slot<P>>,
    taken: usize,
    /// The largest value a new key brought, and whether a later occurrence has replaced a
    /// value: until one has, every key's value is its last, and the largest of them is known
    /// without a look at the slots.
    largest_added: i64,
    replaced: bool,
}

impl<P: Position> Table<P> {
    fn new() -> Self {
        Self {
            slots: Vec::new(),
            taken: 0,
            largest_added: i64::MIN,
            replaced: false,
        }
    }

    /// Empties the table for a bucket of `records` records, sized for them up to
    /// [`FIRST_TABLE_RECORDS`].
    fn start(&mut self, records: usize) {
        self.slots.clear();
        self.slots
            .resize(table_slots(records.min(FIRST_TABLE_RECORDS)), Slot::EMPTY);
        self.taken = 0;
        self.largest_added = i64::MIN;
        self.replaced = false;
    }

    /// Counts the records of `bucket` from `cursor` on, at most `limit` of them; returns how
    /// many it took.
    fn count(&mut self, bucket: &Records, cursor: &mut Cursor, limit: usize) -> usize {
        let mut counted = 0;
        while counted < limit && cursor.segment < bucket.segments.len() {
            if cursor.at == bucket.segments[cursor.segment].len() {
                cursor.segment += 1;
                cursor.at = 0;
                continue;
            }
            // As many records as may each add a key before the table is two thirds full.
            let room = (self.slots.len() * 2 / 3).saturating_sub(self.taken);
            if room == 0 {
                self.grow();
                continue;
            }
            counted += self.count_batch(bucket, cursor, room.min(limit - counted));
        }
        counted
    }

    /// Counts up to `batch` records of the segment `cursor` is in, with room for as many more
    /// keys: a record whose key is in the table already is a later occurrence, whose value
    /// wins; keys are compared only when their 32-bit hashes are equal. Returns how many
    /// records it took.
    fn count_batch(&mut self, bucket: &Records, cursor: &mut Cursor, batch: usize) -> usize {
        let segment = &bucket.segments[cursor.segment][..];
        let start = bucket.starts[cursor.segment];
        let slots = &mut self.slots[..];
        let mask = slots.len() - 1;
        let (mut at, mut counted, mut added) = (cursor.at, 0, 0);
        let mut largest = self.largest_added;
        while counted < batch && at < segment.len() {
            let record::Record {
                hash,
                key,
                value,
                next,
            } = record::read(segment, at);
            if let Some(next_hash) = segment.get(next..next + 4) {
                let next_hash = u32::from_le_bytes(next_hash.try_into().expect("4 bytes"));
                prefetch(&slots[next_hash as usize & mask]);
            }
            let position = P::of(start + at);
            let mut index = hash as usize & mask;
            loop {
                let slot = &mut slots[index];
                if slot.at_plus_one == P::EMPTY {
                    *slot = Slot {
                        hash,
                        at_plus_one: position,
                        value,
                    };
                    added += 1;
                    largest = largest.max(value);
                    break;
                }
                if slot.hash == hash && bucket.key_at(slot.at_plus_one.at(), cursor.segment) == key
                {
                    slot.at_plus_one = position;
                    slot.value = value;
                    self.replaced = true;
                    break;
                }
                index = (index + 1) & mask;
            }
            at = next;
            counted += 1;
        }
        cursor.at = at;
        self.taken += added;
        self.largest_added = largest;
        counted
    }

    /// Doubles the table: every taken slot moves to its place in one twice as large. Its keys
    /// are distinct, so none is compared.
    fn grow(&mut self) {
        let doubled = vec![Slot::EMPTY; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|slot| slot.at_plus_one != P::EMPTY) {
            let mut index = slot.hash as usize & mask;
            while self.slots[index].at_plus_one != P::EMPTY {
                index = (index + 1) & mask;
            }
            self.slots[index] = slot;
        }
    }

    /// The bucket's distinct keys and the largest of their last values. Once a value has been
    /// replaced, every slot is looked at, without a branch on whether it is taken (an empty
    /// slot's value is `i64::MIN`, which changes no maximum).
    fn tally(&self) -> (usize, i64) {
        if !self.replaced {
            return (self.taken, self.largest_added);
        }
        let largest = self.slots.iter().map(|slot| slot.value).max();
        (self.taken, largest.unwrap_or(i64::MIN))
    }
}

/// Asks the processor to bring `slot` into its nearest cache: a hint, which changes nothing
/// but when the slot's next read is served.
#[inline(always)]
fn prefetch<T>(slot: &T) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse"))]
    // SAFETY: a prefetch reads nothing into the program and cannot fault; the address is that
    // of a live reference, and SSE is enabled for the whole build.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>((slot as *const T).cast());
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse")))]
    let _ = slot;
}

/// Bytes `table` may hold at its peak: what it stores, and beyond that the larger of a
/// bucket's list of segments while it doubles and what the count adds while it counts the
/// fullest bucket ([`Count`]).
pub fn held_bytes(table: &KeyTable) -> usize {
    let (records, segments) = table.fullest();
    table.stored_bytes()
        + table
            .largest_list_bytes()
            .max(counting_bytes(records, segments))
}

/// Counts every bucket of `table` at once (tests, the bench).
pub fn summary(table: KeyTable) -> Summary {
    let mut count = Count::new(table);
    count.step(usize::MAX);
    count.summary()
}

/// The count of a [`KeyTable`], done a bounded number of records at a time, so that the event
/// loop can run between two steps whatever the keys: bucket by bucket and, inside a bucket,
/// [`Count::step`]'s `records` at a time (one key repeated ten million times puts every record
/// in one bucket). Each bucket is freed as soon as it is counted, so the table's memory goes
/// down as the count goes on, and freeing it all at the end is no long stretch either.
#[derive(Debug)]
pub struct Count {
    buckets: Vec<Bucket>,
    records: Vec<usize>,
    /// The bucket being counted, where each of its segments starts, and where its next record
    /// starts.
    bucket: usize,
    starts: Vec<usize>,
    cursor: Cursor,
    /// The tables a bucket is counted with: `narrow` while a bucket's positions fit 32 bits
    /// (under `narrow_bytes` bytes), `wide` beyond; `is_wide`: the bucket being counted's.
    narrow: Table<u32>,
    wide: Table<u64>,
    narrow_bytes: usize,
    is_wide: bool,
    /// Distinct keys counted, and the largest of their last values (`i64::MIN` before any).
    distinct: usize,
    largest: i64,
    freeing: Duration,
}

impl Count {
    pub fn new(table: KeyTable) -> Self {
        Self::with_narrow_bytes(table, u32::MAX as usize)
    }

    fn with_narrow_bytes(table: KeyTable, narrow_bytes: usize) -> Self {
        let (buckets, records) = table.into_buckets();
        let mut count = Self {
            buckets,
            records,
            bucket: 0,
            starts: Vec::new(),
            cursor: Cursor::default(),
            narrow: Table::new(),
            wide: Table::new(),
            narrow_bytes,
            is_wide: false,
            distinct: 0,
            largest: i64::MIN,
            freeing: Duration::ZERO,
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
            let wide = self.is_wide;
            let bucket = Records {
                segments: self.buckets[self.bucket].segments(),
                starts: &self.starts,
            };
            let limit = records - work;
            work += if wide {
                self.wide.count(&bucket, &mut self.cursor, limit)
            } else {
                self.narrow.count(&bucket, &mut self.cursor, limit)
            };
            if self.cursor.segment < bucket.segments.len() {
                continue;
            }
            let (distinct, largest, slots) = if wide {
                let (distinct, largest) = self.wide.tally();
                (distinct, largest, self.wide.slots.len())
            } else {
                let (distinct, largest) = self.narrow.tally();
                (distinct, largest, self.narrow.slots.len())
            };
            self.distinct += distinct;
            self.largest = self.largest.max(largest);
            work += slots / 8;
            let freeing = Instant::now();
            drop(std::mem::take(&mut self.buckets[self.bucket]));
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

    /// Time spent freeing counted buckets (the `drop` phase of the count).
    pub fn freeing(&self) -> Duration {
        self.freeing
    }

    /// Empties the table the next bucket is counted with, and notes where its segments start.
    fn start_bucket(&mut self) {
        self.cursor = Cursor::default();
        let Some(&records) = self.records.get(self.bucket) else {
            // Done: the tables' memory goes.
            self.narrow = Table::new();
            self.wide = Table::new();
            self.starts = Vec::new();
            return;
        };
        self.starts.clear();
        let mut start = 0;
        for segment in self.buckets[self.bucket].segments() {
            self.starts.push(start);
            start += segment.len();
        }
        // Only one of the tables holds memory at a time.
        self.is_wide = self.buckets[self.bucket].len() >= self.narrow_bytes;
        if self.is_wide {
            self.narrow = Table::new();
            self.wide.start(records);
        } else {
            self.wide = Table::new();
            self.narrow.start(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts `table` with the narrow table, then (`pairs` pushed again) with the wide one.
    fn both_ways(pairs: &[(u64, &[u8], i64)]) -> [Summary; 2] {
        [u32::MAX as usize, 0].map(|narrow_bytes| {
            let mut table = KeyTable::default();
            for &(hash, key, value) in pairs {
                table.push(hash, key, value);
            }
            let mut count = Count::with_narrow_bytes(table, narrow_bytes);
            count.step(usize::MAX);
            count.summary()
        })
    }

    /// Keys that share their whole hash (forced here) are told apart by their bytes, and a
    /// later occurrence of a key replaces its value, even when that lowers the largest value.
    #[test]
    fn equal_hashes_are_told_apart_and_the_last_value_wins() {
        let pairs: Vec<(u64, &[u8], i64)> = [(&b"x"[..], 5), (b"y", 1), (b"x", 0), (b"z", -3)]
            .into_iter()
            .map(|(key, value)| (7 << 58 | 42, key, value))
            .collect();
        let expected = Summary {
            count: 3,
            maxval: 1,
        };
        assert_eq!(both_ways(&pairs), [expected; 2]);
    }

    /// A bucket whose keys all start probing at the same slot fills its counting table
    /// around the end and back: every key is still counted once.
    #[test]
    fn probing_wraps_around_a_full_run_of_slots() {
        let keys: Vec<String> = (0..100).map(|index| format!("key{index}")).collect();
        let mut pairs: Vec<(u64, &[u8], i64)> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            // Same bucket, same first slot (the last of 512), different 32-bit hashes.
            let hash = 3 << 58 | ((index as u64) << 20) | 0x1ff;
            pairs.push((hash, key.as_bytes(), index as i64));
            pairs.push((hash, key.as_bytes(), index as i64 - 1));
        }
        let expected = Summary {
            count: 100,
            maxval: 98,
        };
        assert_eq!(both_ways(&pairs), [expected; 2]);
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
        let mut count = Count::new(table);
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
    /// key is counted once, its last value the one that counts.
    #[test]
    fn the_counting_table_grows_past_its_first_size() {
        let keys: Vec<[u8; 8]> = (0..FIRST_TABLE_RECORDS as u64 * 3)
            .map(u64::to_le_bytes)
            .collect();
        let mut pairs: Vec<(u64, &[u8], i64)> = Vec::new();
        for (index, key) in keys.iter().enumerate() {
            // One bucket (the top bits), distinct 32-bit hashes.
            pairs.push((5 << 58 | index as u64, key, index as i64));
            pairs.push((5 << 58 | index as u64, key, -1));
        }
        let expected = Summary {
            count: keys.len(),
            maxval: -1,
        };
        assert_eq!(both_ways(&pairs), [expected; 2]);
    }

    /// Without a repeated key the largest value is the largest a key brought; with one, the
    /// largest of the last values (here lower than a replaced one).
    #[test]
    fn the_largest_value_is_the_largest_last_one() {
        let distinct: Vec<(u64, &[u8], i64)> = vec![(1, b"a", 4), (2, b"b", 9), (3, b"c", -2)];
        let mut repeated = distinct.clone();
        repeated.push((2, b"b", 3));
        assert_eq!(
            both_ways(&distinct),
            [Summary {
                count: 3,
                maxval: 9
            }; 2]
        );
        assert_eq!(
            both_ways(&repeated),
            [Summary {
                count: 3,
                maxval: 4
            }; 2]
        );
    }

    /// A key repeated in a later segment of its bucket is found in the earlier one: counted
    /// once, with its last value.
    #[test]
    fn a_key_repeated_segments_later_is_one_key() {
        let keys: Vec<String> = (0..10_000).map(|index| format!("key{index}")).collect();
        let mut pairs: Vec<(u64, &[u8], i64)> = Vec::new();
        for round in 0..3 {
            for (index, key) in keys.iter().enumerate() {
                pairs.push((index as u64, key.as_bytes(), round * 10_000 + index as i64));
            }
        }
        pairs.push((0, b"key0", -5));
        let expected = Summary {
            count: 10_000,
            maxval: 29_999,
        };
        assert_eq!(both_ways(&pairs), [expected; 2]);
    }
}

//! [`KeyTable`]: the only thing `/stream` keeps of a body while it arrives, its `data` pairs,
//! packed into buckets by key hash, so that the count at the end works on one small bucket at
//! a time, in the cache, and can stop between buckets to give the event loop back.
//!
//! The buckets are a radix partition by hash: a bucket holds some 19,500 of a 25 MB body's
//! 1.25M pairs, and it is counted with an open-addressing table of its own that fits in the
//! L2 cache. So the probes of a hash table are cache hits, where one table for the whole body
//! (`/ping`'s map, tens of megabytes) misses the cache on nearly every insert, and `/lean`'s
//! sort of every pair moves them all through memory.
//!
//! How many buckets is a trade between the two halves: the parse appends each pair to the end
//! of its bucket, and the more ends it writes to, the more of them have fallen out of the
//! cache (and out of the TLB) by the time it comes back; the count wants each bucket's table
//! small. On this machine (2.5 MB of L2 cache for its two cores) 64 buckets did best: the
//! parse, count and drop of a 25 MB study body took 67-75 ms of CPU time with 64, 69-78 with
//! 32, 75-78 with 128 and 75-84 with 256, in alternating runs (2026-12-07, load average 10).
//!
//! The count ([`super::count::Count`]) goes a bounded number of records at a time, also inside a bucket.

use std::hash::BuildHasher;

use super::record;

/// Buckets, chosen by the top bits of a key's hash. A 25 MB study body (1.25M pairs) puts
/// some 19,500 pairs, about 350 KB, in each: one bucket is counted in about a millisecond,
/// its records and its counting table (512 KB) in the L2 cache.
pub const BUCKETS: usize = 1 << BUCKET_BITS;

/// The bits of a key's hash that choose its bucket (its top bits).
const BUCKET_BITS: u32 = 6;

/// What malloc adds to each block beyond what was asked: an 8-byte header and the rounding
/// to 16-byte steps. The table has a block per segment and per bucket.
const BLOCK_OVERHEAD_BYTES: usize = 16;

/// A bucket's first segment. Each next one is twice as large, up to [`SEGMENT_BYTES`]: a
/// small body takes little memory, a large one is mostly whole segments.
const FIRST_SEGMENT_BYTES: usize = 256;

/// The size a bucket's segments grow to: 64 KiB, under glibc's threshold for a block of its
/// own mapping (128 KiB), so that a segment comes from the heap and goes back to it.
const SEGMENT_BYTES: usize = 64 * 1024;

/// One bucket's records, in segments that stay where they are once written. A bucket that
/// grew as one vector would be copied to a block twice as large each time it filled up: a
/// copy of everything so far, and fresh pages for the operating system to hand out (a page
/// fault each), which both cost more than the append itself. A record never straddles two
/// segments.
#[derive(Debug, Default, Clone)]
pub struct Bucket {
    segments: Vec<Vec<u8>>,
    /// Bytes its segments hold, malloc's overhead included (kept as they are added: the
    /// budget asks after every step of the parse).
    segment_bytes: usize,
}

impl Bucket {
    /// The segment the next record goes to, with room for `bytes` more: the last one, or a
    /// new one.
    #[inline(always)]
    fn room(&mut self, bytes: usize) -> &mut Vec<u8> {
        let fits = self
            .segments
            .last()
            .is_some_and(|last| last.capacity() - last.len() >= bytes);
        if !fits {
            let size = self.segments.last().map_or(FIRST_SEGMENT_BYTES, |last| {
                (last.capacity() * 2).min(SEGMENT_BYTES)
            });
            let segment = Vec::with_capacity(size.max(bytes));
            self.segment_bytes += segment.capacity() + BLOCK_OVERHEAD_BYTES;
            self.segments.push(segment);
        }
        self.segments.last_mut().expect("a segment with room")
    }

    /// The segments, in the order their records were written.
    pub fn segments(&self) -> &[Vec<u8>] {
        &self.segments
    }

    /// Bytes of records.
    pub fn len(&self) -> usize {
        self.segments.iter().map(Vec::len).sum()
    }

    /// Whether the bucket holds no record.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(Vec::is_empty)
    }

    /// Bytes its segments and their list hold, malloc's overhead included.
    fn held_bytes(&self) -> usize {
        self.segment_bytes + self.list_bytes()
    }

    /// Bytes of the list of segments (which doubles as it grows).
    fn list_bytes(&self) -> usize {
        self.segments.capacity() * std::mem::size_of::<Vec<u8>>() + BLOCK_OVERHEAD_BYTES
    }
}

/// The pairs of `data` in document order, each packed into its bucket as a record of its key's
/// hash, the key and the value ([`record`]): 18 bytes for a study pair
/// (`"abcdefghij":123456,`, 20 bytes of JSON). No per-key allocation, no pointers, and nothing
/// of the body but the keys and the values.
#[derive(Debug)]
pub struct KeyTable {
    buckets: Vec<Bucket>,
    /// Records in each bucket.
    records: Vec<usize>,
    hasher: foldhash::fast::RandomState,
    pairs: usize,
}

impl Default for KeyTable {
    fn default() -> Self {
        Self {
            buckets: vec![Bucket::default(); BUCKETS],
            records: vec![0; BUCKETS],
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
    #[inline(always)]
    pub fn push(&mut self, hash: u64, key: &[u8], value: i64) {
        let index = (hash >> (64 - BUCKET_BITS)) as usize;
        self.records[index] += 1;
        self.pairs += 1;
        let bucket = &mut self.buckets[index];
        if key.len() > record::SHORT_KEY_BYTES {
            let segment = bucket.room(record::LONG_OVERHEAD_BYTES + key.len());
            record::push_long(segment, hash as u32, key, value);
            return;
        }
        // A short key's record is written in place: the segment grows by a whole block, the
        // record is stored into it with stores of fixed size, and the segment is cut to the
        // record's end. No copy of the record's own length (a call to memcpy a pair), and no
        // record put together on the stack and copied over: a wide load of bytes just stored
        // narrowly waits for every store before it, and those include the bucket stores that
        // miss the cache.
        let segment = bucket.room(record::BLOCK_BYTES);
        let length = segment.len();
        segment.resize(length + record::BLOCK_BYTES, 0);
        let block = segment[length..]
            .first_chunk_mut()
            .expect("the segment just grew by a block");
        let written = record::write_short(block, hash as u32, key, value);
        segment.truncate(length + written);
    }

    /// Pairs pushed, repeated keys included.
    pub fn len(&self) -> usize {
        self.pairs
    }

    /// Whether no pair was pushed.
    pub fn is_empty(&self) -> bool {
        self.pairs == 0
    }

    /// Bytes the table holds now: its buckets' segments, its own vectors, and malloc's
    /// overhead on each block. What it may hold at its peak, the count included, is
    /// [`super::count::held_bytes`].
    pub fn stored_bytes(&self) -> usize {
        self.buckets.iter().map(Bucket::held_bytes).sum::<usize>()
            + self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.records.capacity() * std::mem::size_of::<usize>()
            + 4 * BLOCK_OVERHEAD_BYTES
    }

    /// The largest of the buckets' lists of segments, in bytes: while one doubles, its old
    /// block and its new one are both alive.
    pub fn largest_list_bytes(&self) -> usize {
        self.buckets
            .iter()
            .map(Bucket::list_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The records of the fullest bucket, and the most segments a bucket has.
    pub fn fullest(&self) -> (usize, usize) {
        let records = self.records.iter().copied().max().unwrap_or(0);
        let segments = self.buckets.iter().map(|bucket| bucket.segments.len());
        (records, segments.max().unwrap_or(0))
    }

    /// The buckets and the records in each, for the count.
    pub(super) fn into_buckets(self) -> (Vec<Bucket>, Vec<usize>) {
        (self.buckets, self.records)
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
            crate::stream::count::summary(table),
            crate::parse::Summary {
                count: 3,
                maxval: i64::MAX
            }
        );
    }

    #[test]
    fn the_budget_covers_the_counting_table() {
        let mut table = KeyTable::default();
        for index in 0..1000u64 {
            table.push(index << 8, b"", 0);
        }
        let records: usize = table.buckets.iter().map(Bucket::held_bytes).sum();
        let held = crate::stream::count::held_bytes(&table);
        assert!(held >= records + crate::stream::count::counting_bytes(1000, 1));
    }

    /// A bucket's segments start small and double up to [`SEGMENT_BYTES`], a record too large
    /// for one gets one of its own, and no record straddles two: each segment reads back as
    /// whole records, all of them in the order they were pushed.
    #[test]
    fn segments_double_up_to_their_size_and_hold_whole_records() {
        let mut table = KeyTable::default();
        let long = vec![b'k'; 100_000];
        let mut pushed = Vec::new();
        for index in 0..20_000u64 {
            let key = if index == 7_000 {
                long.clone()
            } else {
                format!("key{index}").into_bytes()
            };
            // All in bucket 0.
            table.push(index, &key, index as i64);
            pushed.push((key, index as i64));
        }
        let segments = table.buckets[0].segments();
        let sizes: Vec<usize> = segments.iter().map(Vec::capacity).collect();
        assert_eq!(
            &sizes[..3],
            &[FIRST_SEGMENT_BYTES, 2 * FIRST_SEGMENT_BYTES, 1024]
        );
        assert!(
            sizes
                .iter()
                .all(|&size| size <= SEGMENT_BYTES || size >= long.len())
        );
        assert!(sizes.contains(&SEGMENT_BYTES));
        let mut read = Vec::new();
        for segment in segments {
            let mut at = 0;
            while at < segment.len() {
                let record = record::read(segment, at);
                read.push((record.key.to_vec(), record.value));
                at = record.next;
            }
        }
        assert_eq!(read, pushed);
    }
}

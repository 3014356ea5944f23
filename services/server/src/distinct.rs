//! Distinct keys and the largest last value, from pairs grouped by a seeded hash: `/lean`'s
//! counting (`parse::LeanPairs`), and the [`Summary`] every strategy answers with (`/stream`
//! counts its own way, bucket by bucket: `stream::count`).
//!
//! `/lean` keeps its pairs in document order, each with its key's hash (foldhash, seeded per
//! request, so nobody can precompute keys that share a hash), sorts (hash, position) entries
//! so that equal hashes sit together in document order, and hands each sorted run here. A run is
//! walked from its end: the first time a key is met there is its last occurrence in the body,
//! whose value wins. Keys in a run are compared only when the run has more than one entry (a
//! repeated key, or rarely a true collision).

/// What every strategy answers: number of distinct keys and the largest value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Distinct keys in `data`.
    pub count: usize,
    /// Largest value in `data` (after duplicates resolved), 0 when `data` is empty.
    pub maxval: i64,
}

/// Running count of distinct keys and the largest of their last values.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    count: usize,
    maxval: Option<i64>,
}

impl Tally {
    /// Adds the keys of `sorted`: entries sorted by (hash, document position), so equal hashes
    /// sit together in document order. `hash` gives an entry's hash, `pair` its key and value.
    /// Entries whose hashes differ must have different keys (equal keys hash alike).
    pub fn add_sorted<'k, E: Copy>(
        &mut self,
        sorted: &[E],
        hash: impl Fn(E) -> u64,
        pair: impl Fn(E) -> (&'k [u8], i64),
    ) {
        let mut seen: Vec<&'k [u8]> = Vec::new();
        for run in sorted.chunk_by(|a, b| hash(*a) == hash(*b)) {
            seen.clear();
            for &entry in run.iter().rev() {
                let (key, value) = pair(entry);
                if run.len() > 1 {
                    if seen.contains(&key) {
                        continue;
                    }
                    seen.push(key);
                }
                self.add_key(value);
            }
        }
    }

    /// Adds one distinct key whose last value is `value`.
    pub fn add_key(&mut self, value: i64) {
        self.count += 1;
        self.maxval = Some(self.maxval.map_or(value, |max| max.max(value)));
    }

    /// What was counted: distinct keys, and the largest last value (0 when there was none).
    pub fn summary(&self) -> Summary {
        Summary {
            count: self.count,
            maxval: self.maxval.unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys that share a hash but differ (a true collision, forced here with a constant hash)
    /// still count as different keys, and a repeated key keeps its last value.
    #[test]
    fn a_hash_collision_between_different_keys_counts_both() {
        let pairs: [(&[u8], i64); 3] = [(b"x", 1), (b"y", 2), (b"x", 3)];
        let sorted: Vec<(u64, usize)> = (0..pairs.len()).map(|position| (42, position)).collect();
        let mut tally = Tally::default();
        tally.add_sorted(&sorted, |(hash, _)| hash, |(_, position)| pairs[position]);
        assert_eq!(
            tally.summary(),
            Summary {
                count: 2,
                maxval: 3
            }
        );
    }

    #[test]
    fn nothing_counted_is_zero_keys_and_maxval_zero() {
        assert_eq!(
            Tally::default().summary(),
            Summary {
                count: 0,
                maxval: 0
            }
        );
    }
}

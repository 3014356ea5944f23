//! A cap on request-body bytes held in memory by all workers together.
//!
//! MAX_BODY_MB bounds one request; nothing bounds how many large requests arrive at once. Each
//! strategy request therefore reserves its body size here before its body is read (its
//! Content-Length, or MAX_BODY_MB when the length is unknown) and gives it back when the
//! response is built. When the budget is spent, the request gets 503 `server_busy` without
//! its body being read. The parsed map is not counted: it is proportional to the body (a
//! 25 MB body becomes roughly 100 MB of map), so the budget bounds it too.

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

/// Shared by every worker; cheap to clone.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    capacity: usize,
    in_use: Arc<AtomicUsize>,
}

/// Bytes taken from a [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    bytes: usize,
    in_use: Arc<AtomicUsize>,
}

impl BodyBudget {
    /// A budget of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            in_use: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The budget in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes reserved right now.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// Reserves `bytes`, or returns `None` if that would go over the budget.
    pub fn try_reserve(&self, bytes: usize) -> Option<Reservation> {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use
                    .checked_add(bytes)
                    .filter(|&total| total <= self.capacity)
            })
            .ok()
            .map(|_| Reservation {
                bytes,
                in_use: Arc::clone(&self.in_use),
            })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.in_use.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_past_the_capacity_are_refused_until_one_is_returned() {
        let budget = BodyBudget::new(100);
        let first = budget.try_reserve(60).unwrap();
        assert!(budget.try_reserve(50).is_none());
        let second = budget.try_reserve(40).unwrap();
        assert_eq!(budget.in_use(), 100);
        drop(first);
        assert!(budget.try_reserve(50).is_some());
        drop(second);
        assert_eq!(budget.in_use(), 0);
    }
}

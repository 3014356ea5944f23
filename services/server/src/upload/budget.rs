//! A cap on the memory that request bodies, and the maps parsed from them, hold in all workers
//! together.
//!
//! MAX_BODY_MB bounds one request; nothing bounds how many large requests arrive at once. Each
//! strategy request therefore opens a [`Charge`] on the shared [`BodyBudget`] and grows it:
//! - by each chunk of its body as the chunk arrives, so a client that sends headers and then
//!   stalls holds nothing (were it charged its whole Content-Length up front, eight such
//!   clients would lock every endpoint);
//! - once the body is complete, by what parsing it will allocate (at most 6.8 times the body
//!   for the owned map of a study body: see [`crate::upload::parse_cost::parse_memory`]).
//!
//! A charge that cannot grow ends the request with 503 `server_busy`, and everything a request
//! charged is given back when its charge is dropped (after the response is built). So the
//! bodies and maps in memory stay under BODY_BUDGET_MB, whatever the number of uploads.

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

/// What one request holds of a [`BodyBudget`]; given back when dropped.
#[derive(Debug)]
pub struct Charge {
    bytes: AtomicUsize,
    budget: BodyBudget,
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

    /// Bytes charged right now, by all requests.
    pub fn in_use(&self) -> usize {
        self.in_use.load(Ordering::Relaxed)
    }

    /// A new charge of zero bytes, for one request.
    pub fn open_charge(&self) -> Charge {
        Charge {
            bytes: AtomicUsize::new(0),
            budget: self.clone(),
        }
    }

    fn take(&self, bytes: usize) -> bool {
        self.in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                in_use
                    .checked_add(bytes)
                    .filter(|&total| total <= self.capacity)
            })
            .is_ok()
    }
}

impl Charge {
    /// Adds `bytes` to this charge, or returns `false` (charging nothing) if that would take
    /// the budget over its capacity.
    pub fn grow(&self, bytes: usize) -> bool {
        if !self.budget.take(bytes) {
            return false;
        }
        self.bytes.fetch_add(bytes, Ordering::AcqRel);
        true
    }

    /// Bytes this charge holds.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        self.budget
            .in_use
            .fetch_sub(*self.bytes.get_mut(), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charges_past_the_capacity_are_refused_until_one_is_given_back() {
        let budget = BodyBudget::new(100);
        let first = budget.open_charge();
        assert!(first.grow(60));
        let second = budget.open_charge();
        assert!(!second.grow(50), "60 + 50 is over 100");
        assert_eq!(second.bytes(), 0, "a refused growth charges nothing");
        assert!(second.grow(40));
        assert_eq!(budget.in_use(), 100);
        drop(first);
        assert!(second.grow(50));
        drop(second);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn an_open_charge_holds_nothing_until_it_grows() {
        let budget = BodyBudget::new(10);
        let stalled: Vec<Charge> = (0..1000).map(|_| budget.open_charge()).collect();
        assert_eq!(budget.in_use(), 0);
        let working = budget.open_charge();
        assert!(working.grow(10));
        drop(stalled);
    }
}

//! What each parser allocates, at most, to parse a complete body of a given shape: charged to
//! the memory budget before the parse (see [`super::budget`]). Each strategy names its own
//! ([`crate::strategies::parse_cost`]).
//!
//! A bound, not an average, because a client chooses the body: `tests/parse_memory.rs` counts
//! every byte each parser allocates (with malloc's per-allocation overhead) for the study's
//! body, for the densest body (short distinct keys) and for one whose every key is escaped,
//! and checks each stays under this.
//!
//! For the study's 25 MB body: owned ≈ 6.8 × the body (measured peak 5.4 ×), lean 3.0 ×
//! (measured 3.0 ×; the densest body 8.0 ×, escaped keys 4.2 ×); stream none (while it parses
//! it charges what its key table holds beyond the body's bytes, see `crate::strategies::stream`).

use crate::upload::guard::BodyShape;

/// Bytes of one table slot: a 24-byte key (`String` or `Cow<str>`), an `i64`, a control byte.
const SLOT_BYTES: usize = 24 + 8 + 1;
/// Smallest heap block malloc hands out: what a short key `String` costs.
const MIN_ALLOCATION_BYTES: usize = 32;
/// What does not grow with the body: a table's control-byte padding and header, the name.
const FIXED_BYTES: usize = 4096;

/// Slots of a hashbrown table holding `entries` (7/8 load, a power of two).
fn table_slots(entries: usize) -> usize {
    (entries.saturating_mul(8) / 7 + 1)
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .max(4)
}

/// Peak bytes of a table grown by doubling to hold `entries`: the last doubling keeps the old
/// half-size table alive beside the new one.
fn grown_table_bytes(entries: usize) -> usize {
    let slots = table_slots(entries);
    slots.saturating_add(slots / 2).saturating_mul(SLOT_BYTES)
}

/// The owned map (`/ping`, `/pong`, `/offload`): a heap `String` per key (32 bytes at least,
/// and never more in all than the body) and a SipHash table that grows by doubling (while it
/// grows, the old table and the new one, 1.5 × the final, are both alive).
pub fn owned(shape: &BodyShape) -> usize {
    let keys = shape.colons.saturating_mul(MIN_ALLOCATION_BYTES);
    keys.saturating_add(shape.bytes)
        .saturating_add(grown_table_bytes(shape.colons))
        .saturating_add(FIXED_BYTES)
}

/// Bytes of one lean pair: the key (`Cow<str>`, 24) and value (8) in document order, and the
/// key's hash and position (16).
const LEAN_PAIR_BYTES: usize = 24 + 8 + 16;

/// The lean pairs (`/lean`): keys borrowed from the body except the escaped ones, in two flat
/// vectors reserved once from the body length (pairs, and their hash and position), doubling
/// only past that size.
pub fn lean(shape: &BodyShape) -> usize {
    let presized = shape.bytes / crate::parse::LEAN_BYTES_PER_PAIR_HINT;
    let vectors = if shape.colons <= presized {
        presized.saturating_mul(LEAN_PAIR_BYTES)
    } else {
        // Past the reservation both vectors double. While the pairs vector moves, its old and
        // new blocks and the positions' new block are alive: 16 + 32 + 64 bytes per 2 pairs
        // of the final capacity, i.e. 64 per pair.
        let mut capacity = presized.max(1);
        while capacity < shape.colons {
            capacity = capacity.saturating_mul(2);
        }
        capacity.saturating_mul(64)
    };
    let escaped_keys = shape.colons.min(shape.backslashes);
    let owned_keys = if escaped_keys == 0 {
        0
    } else {
        escaped_keys
            .saturating_mul(MIN_ALLOCATION_BYTES)
            .saturating_add(shape.bytes)
    };
    vectors
        .saturating_add(owned_keys)
        .saturating_add(FIXED_BYTES)
}

/// `/stream`'s: nothing more once the body has ended. `/stream` has parsed it by then, and
/// charged as it went what its key table holds beyond the body's bytes (charged as they
/// arrived, as on every endpoint, though it keeps none of them): see
/// `crate::strategies::stream`. A study pair takes 18 bytes there, 20 in the JSON.
pub fn parsed_while_read(_shape: &BodyShape) -> usize {
    FIXED_BYTES
}

/// The floor's (`/drain`): nothing, it keeps none of the body.
pub fn nothing(_shape: &BodyShape) -> usize {
    0
}

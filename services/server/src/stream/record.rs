//! How [`super::KeyTable`] packs one pair of `data` into a bucket's bytes, and reads it back:
//!
//! `[hash: 4 bytes][header: 1 byte][key length: varint, for keys of 31 bytes and more][key][value]`
//!
//! - the low 32 bits of the key's hash, little-endian: what the count's table is probed with;
//! - the header: the key's length in its low 5 bits (31: the length follows as a varint), and
//!   in its top 3 bits the number of the value's bytes, minus one;
//! - the value zigzag-encoded (small magnitudes, negative or not, in few bytes), in 1 to 8
//!   little-endian bytes.
//!
//! A study pair (`"abcdefghij":123456,`, 20 bytes of JSON) is 18 bytes. Both sides go without
//! a loop or a branch on the value: a short key's record is written in one 32-byte block with
//! stores of fixed size, and a value is read as an 8-byte word cut to its length.

/// The block a short key's record is written in.
pub const BLOCK_BYTES: usize = 32;

/// The longest key whose record is written in a block: 4 bytes of hash, the header, the key
/// and an 8-byte word of value.
pub const SHORT_KEY_BYTES: usize = BLOCK_BYTES - 4 - 1 - 8;

/// The most a record adds to its key: hash, header, a key length of 10 varint bytes, and 8
/// bytes of value.
pub const LONG_OVERHEAD_BYTES: usize = 4 + 1 + 10 + 8;

/// The key-length field's value that says the length follows as a varint.
const LONG_KEY: u8 = 31;

/// One record, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'b> {
    pub hash: u32,
    pub key: &'b [u8],
    pub value: i64,
    /// Where the next record starts.
    pub next: usize,
}

/// The header byte of a record whose key's length field is `length_field` and whose value
/// takes `value_bytes` bytes.
fn header(length_field: u8, value_bytes: usize) -> u8 {
    length_field | ((value_bytes - 1) as u8) << 5
}

/// The value zigzag-encoded and the bytes it takes (at least one).
fn encode(value: i64) -> (u64, usize) {
    let zigzag = ((value << 1) ^ (value >> 63)) as u64;
    let bytes = (64 - zigzag.leading_zeros() as usize).div_ceil(8).max(1);
    (zigzag, bytes)
}

fn decode(zigzag: u64) -> i64 {
    ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64)
}

/// Writes the record of a key of at most [`SHORT_KEY_BYTES`] into `block`; returns its length.
/// Its value is stored as a whole 8-byte word, the bytes past the record's end left for the
/// next record to overwrite.
#[inline(always)]
pub fn write_short(block: &mut [u8; BLOCK_BYTES], hash: u32, key: &[u8], value: i64) -> usize {
    let (zigzag, value_bytes) = encode(value);
    let length = key.len();
    block[..4].copy_from_slice(&hash.to_le_bytes());
    block[4] = header(length as u8, value_bytes);
    copy_short(block, 5, key);
    block[5 + length..5 + length + 8].copy_from_slice(&zigzag.to_le_bytes());
    5 + length + value_bytes
}

/// Appends the record of a key of any length to `out`.
pub fn push_long(out: &mut Vec<u8>, hash: u32, key: &[u8], value: i64) {
    let (zigzag, value_bytes) = encode(value);
    out.extend_from_slice(&hash.to_le_bytes());
    if key.len() < usize::from(LONG_KEY) {
        out.push(header(key.len() as u8, value_bytes));
    } else {
        out.push(header(LONG_KEY, value_bytes));
        let mut length = key.len();
        while length >= 0x80 {
            out.push(length as u8 | 0x80);
            length >>= 7;
        }
        out.push(length as u8);
    }
    out.extend_from_slice(key);
    out.extend_from_slice(&zigzag.to_le_bytes()[..value_bytes]);
}

/// The record at `at` of `records`.
#[inline(always)]
pub fn read(records: &[u8], at: usize) -> Record<'_> {
    let hash = u32::from_le_bytes(*records[at..].first_chunk().expect("a record's hash"));
    let header = records[at + 4];
    let (length, key_at) = match header & LONG_KEY {
        LONG_KEY => read_varint(records, at + 5),
        short => (usize::from(short), at + 5),
    };
    let key_end = key_at + length;
    let value_bytes = usize::from(header >> 5) + 1;
    let zigzag = match records[key_end..].first_chunk::<8>() {
        Some(word) => u64::from_le_bytes(*word) & (u64::MAX >> (64 - 8 * value_bytes)),
        // The last record of a bucket: fewer than 8 bytes are left.
        None => records[key_end..key_end + value_bytes]
            .iter()
            .rev()
            .fold(0, |zigzag, &byte| zigzag << 8 | u64::from(byte)),
    };
    Record {
        hash,
        key: &records[key_at..key_end],
        value: decode(zigzag),
        next: key_end + value_bytes,
    }
}

fn read_varint(bytes: &[u8], mut at: usize) -> (usize, usize) {
    let (mut value, mut shift) = (0, 0);
    loop {
        let byte = bytes[at];
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return (value, at);
        }
        shift += 7;
    }
}

/// Copies `source` (at most [`SHORT_KEY_BYTES`]) into `block` at `at` with fixed-size moves:
/// two 8-byte words that may overlap for 8 to 16 bytes, two 4-byte ones for 4 to 7, a byte at
/// a time below. The study's 10-letter keys take the first way.
#[inline(always)]
fn copy_short(block: &mut [u8; BLOCK_BYTES], at: usize, source: &[u8]) {
    let length = source.len();
    if length > 16 {
        block[at..at + length].copy_from_slice(source);
    } else if length >= 8 {
        let head: [u8; 8] = *source.first_chunk().expect("8 bytes");
        let tail: [u8; 8] = *source.last_chunk().expect("8 bytes");
        block[at..at + 8].copy_from_slice(&head);
        block[at + length - 8..at + length].copy_from_slice(&tail);
    } else if length >= 4 {
        let head: [u8; 4] = *source.first_chunk().expect("4 bytes");
        let tail: [u8; 4] = *source.last_chunk().expect("4 bytes");
        block[at..at + 4].copy_from_slice(&head);
        block[at + length - 4..at + length].copy_from_slice(&tail);
    } else {
        for (place, &byte) in block[at..].iter_mut().zip(source) {
            *place = byte;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values at every byte-length boundary of the zigzag encoding, and the extremes.
    fn values() -> Vec<i64> {
        let mut values = vec![0, 1, -1, i64::MIN, i64::MAX, 123_456, 1_000_000];
        for bits in 0..63 {
            let edge = 1i64 << bits;
            values.extend([edge, edge - 1, -edge, -edge - 1, -edge + 1]);
        }
        values
    }

    /// Keys of every length, short and long, with every value, one after another in one
    /// buffer (the last records with fewer than 8 bytes after their value): each reads back
    /// as written, and the short and the long writer agree byte for byte.
    #[test]
    fn every_key_length_and_value_reads_back() {
        for length in [
            0, 1, 3, 4, 7, 8, 9, 10, 15, 16, 17, 18, 19, 20, 30, 31, 127, 128, 300,
        ] {
            let key: Vec<u8> = (0..length).map(|index| b'a' + (index % 26) as u8).collect();
            let mut records = Vec::new();
            for (index, &value) in values().iter().enumerate() {
                let hash = index as u32 ^ 0xdead_beef;
                let mut long = Vec::new();
                push_long(&mut long, hash, &key, value);
                if length <= SHORT_KEY_BYTES {
                    let mut block = [0xaa; BLOCK_BYTES];
                    let written = write_short(&mut block, hash, &key, value);
                    assert_eq!(&block[..written], &long[..], "{length} {value}");
                }
                records.extend_from_slice(&long);
            }
            let mut at = 0;
            for (index, &value) in values().iter().enumerate() {
                let record = read(&records, at);
                assert_eq!(
                    (record.hash, record.key, record.value),
                    (index as u32 ^ 0xdead_beef, &key[..], value),
                    "key of {length} bytes"
                );
                at = record.next;
            }
            assert_eq!(at, records.len());
        }
    }

    #[test]
    fn a_study_pair_takes_18_bytes() {
        let mut block = [0; BLOCK_BYTES];
        assert_eq!(write_short(&mut block, 7, b"abcdefghij", 1_000_000), 18);
        assert_eq!(write_short(&mut block, 7, b"abcdefghij", 1), 16);
    }
}

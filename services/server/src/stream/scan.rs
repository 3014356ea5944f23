//! Byte-class runs, the push parser's inner loops: how many bytes at the start of a slice are
//! whitespace, or may stand in a string as they are. On x86_64 they look at 16 bytes at a time
//! with SSE2, which every x86_64 processor has (it is part of the target's baseline, so there
//! is nothing to detect at run time); elsewhere, and for the last bytes of a slice, one byte
//! at a time. Both ways give the same answer, which the tests check at every length and offset.
//!
//! 16 bytes is the width that pays here: the runs of a study body are short (a 10-letter key,
//! one space in `", "`), and the first 16-byte lane finds their end. A wider lane (AVX2's 32
//! bytes) would read past most keys for nothing and needs a run-time check and a call that
//! cannot be inlined.

/// Whitespace as JSON defines it: space, tab, line feed, carriage return.
pub fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\n' | b'\t' | b'\r')
}

/// A byte that ends a run of string bytes: a quote, a backslash or a control character.
fn ends_string(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// A byte that ends a run of plain ASCII string bytes: one that ends a string run, or any byte
/// above 0x7f (the start or middle of a multi-byte UTF-8 sequence).
fn ends_ascii_string(byte: u8) -> bool {
    ends_string(byte) || byte >= 0x80
}

/// The byte classes whose runs are scanned, as const parameters.
const SPACE: u8 = 0;
const STRING: u8 = 1;
const ASCII_STRING: u8 = 2;

/// Whether `byte` ends a run of `CLASS`.
#[inline(always)]
fn ends<const CLASS: u8>(byte: u8) -> bool {
    match CLASS {
        SPACE => !is_space(byte),
        STRING => ends_string(byte),
        _ => ends_ascii_string(byte),
    }
}

/// Length of the run of whitespace that starts `bytes`.
#[inline]
pub fn space_run(bytes: &[u8]) -> usize {
    run::<SPACE>(bytes)
}

/// Length of the run of bytes that may stand in a string as they are (no quote, backslash or
/// control character) at the start of `bytes`.
#[inline]
pub fn string_run(bytes: &[u8]) -> usize {
    run::<STRING>(bytes)
}

/// Length of the run of plain ASCII string bytes (printable ASCII and DEL, no quote or
/// backslash) at the start of `bytes`: a string of them is valid UTF-8 as it stands and reads
/// the same unescaped.
#[inline]
pub fn ascii_string_run(bytes: &[u8]) -> usize {
    run::<ASCII_STRING>(bytes)
}

#[inline(always)]
fn run<const CLASS: u8>(bytes: &[u8]) -> usize {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: this code is compiled only where SSE2 is enabled for the whole build
        // (`target_feature = "sse2"`, part of x86_64's baseline), so every processor it runs on
        // has it.
        unsafe { sse2::run::<CLASS>(bytes) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        scalar_run::<CLASS>(bytes)
    }
}

/// The run up to the first byte that ends it, a byte at a time.
fn scalar_run<const CLASS: u8>(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .position(|&byte| ends::<CLASS>(byte))
        .unwrap_or(bytes.len())
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    //! The 16-byte lanes. Each class is a few compares whose results are or-ed into one mask
    //! of the bytes that end the run; `movemask` packs it into 16 bits, and the first set bit
    //! is where the run ends.

    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_cmplt_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_xor_si128,
    };

    use super::{ASCII_STRING, SPACE, STRING};

    /// Bytes a lane holds.
    const LANE: usize = 16;

    /// The run of `CLASS` at the start of `bytes`: whole lanes while 16 bytes are left, then
    /// a byte at a time.
    #[target_feature(enable = "sse2")]
    #[inline]
    pub fn run<const CLASS: u8>(bytes: &[u8]) -> usize {
        let mut at = 0;
        while let Some(lane) = bytes.get(at..at + LANE) {
            // SAFETY: `lane` is 16 readable bytes; `_mm_loadu_si128` reads exactly 16 bytes
            // and has no alignment requirement.
            let lane = unsafe { _mm_loadu_si128(lane.as_ptr().cast()) };
            let ends = match CLASS {
                SPACE => not_space(lane),
                STRING => string_end(lane),
                ASCII_STRING => ascii_string_end(lane),
                _ => unreachable!("no such class"),
            };
            let mask = _mm_movemask_epi8(ends) as u32;
            if mask != 0 {
                return at + mask.trailing_zeros() as usize;
            }
            at += LANE;
        }
        at + super::scalar_run::<CLASS>(&bytes[at..])
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn splat(byte: u8) -> __m128i {
        _mm_set1_epi8(byte as i8)
    }

    /// Bytes that are not whitespace: all but those equal to one of the four.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn not_space(lane: __m128i) -> __m128i {
        let space = _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(lane, splat(b' ')),
                _mm_cmpeq_epi8(lane, splat(b'\n')),
            ),
            _mm_or_si128(
                _mm_cmpeq_epi8(lane, splat(b'\t')),
                _mm_cmpeq_epi8(lane, splat(b'\r')),
            ),
        );
        _mm_xor_si128(space, splat(0xff))
    }

    /// Quotes, backslashes and control characters. SSE2 compares bytes as signed, so the
    /// unsigned `byte < 0x20` is `max(byte, 0x1f) == 0x1f`.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn string_end(lane: __m128i) -> __m128i {
        let control = _mm_cmpeq_epi8(_mm_max_epu8(lane, splat(0x1f)), splat(0x1f));
        quote_or_backslash(lane, control)
    }

    /// Quotes, backslashes, control characters and bytes above 0x7f: as signed bytes, those
    /// last two are exactly the bytes below 0x20.
    #[target_feature(enable = "sse2")]
    #[inline]
    fn ascii_string_end(lane: __m128i) -> __m128i {
        let control_or_high = _mm_cmplt_epi8(lane, splat(0x20));
        quote_or_backslash(lane, control_or_high)
    }

    #[target_feature(enable = "sse2")]
    #[inline]
    fn quote_or_backslash(lane: __m128i, others: __m128i) -> __m128i {
        _mm_or_si128(
            _mm_or_si128(
                _mm_cmpeq_epi8(lane, splat(b'"')),
                _mm_cmpeq_epi8(lane, splat(b'\\')),
            ),
            others,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, at every position of slices of every length up to three lanes and
    /// more: the lanes and the byte-at-a-time tail give the scalar answer.
    #[test]
    fn every_byte_at_every_offset_gives_the_scalar_answer() {
        type Run = fn(&[u8]) -> usize;
        let classes: [(u8, Run, Run); 3] = [
            (b' ', space_run, scalar_run::<SPACE>),
            (b'a', string_run, scalar_run::<STRING>),
            (b'a', ascii_string_run, scalar_run::<ASCII_STRING>),
        ];
        for (filler, run, scalar) in classes {
            for length in 0..=50 {
                for position in 0..length {
                    for byte in 0..=255u8 {
                        let mut bytes = vec![filler; length];
                        bytes[position] = byte;
                        assert_eq!(
                            run(&bytes),
                            scalar(&bytes),
                            "byte {byte:#04x} at {position} of {length}"
                        );
                    }
                }
                assert_eq!(run(&vec![filler; length]), length);
            }
        }
    }

    /// Whitespace runs of every length, of each kind and mixed, starting at every offset of a
    /// slice: the run ends at the first other byte or at the slice's end.
    #[test]
    fn space_runs_of_every_length() {
        for length in 0..70 {
            for offset in 0..17 {
                let mut bytes = vec![b'x'; offset];
                bytes.extend((0..length).map(|index| b" \t\n\r"[index % 4]));
                assert_eq!(space_run(&bytes[offset..]), length);
                bytes.push(b',');
                assert_eq!(space_run(&bytes[offset..]), length);
            }
        }
    }

    #[test]
    fn the_classes_are_jsons() {
        assert_eq!(space_run(b" \t\r\n\x0b"), 4);
        assert_eq!(space_run(b"\x0c"), 0);
        assert_eq!(string_run("é\x7f~ \"".as_bytes()), 5);
        assert_eq!(string_run(b"ab\\"), 2);
        assert_eq!(string_run(b"ab\x1f"), 2);
        assert_eq!(ascii_string_run("a\x7fé".as_bytes()), 2);
    }
}

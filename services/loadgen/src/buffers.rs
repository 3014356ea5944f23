//! The buffers the pre-built bodies are written into, allocated here so that the kernel may
//! back them with transparent huge pages: 2 MB pages instead of 4 KB ones, where
//! `/sys/kernel/mm/transparent_hugepage/enabled` says `madvise` (Debian's default) or
//! `always`; elsewhere nothing changes.
//!
//! Why: a body of a gigabyte is 262,144 pages of 4 KB. The kernel faults each one in while
//! the body is written, and takes each one back when the process exits. With both classes at
//! 1024 MB, exiting after SIGTERM while holding 3 GB of bodies took 0.3 to 0.8 s of that
//! work alone, and 5 GB up to 1.5 s; with huge pages, 0.11 s and 0.21 s (docs/loadgen.md
//! has the runs).

/// A huge page, and the smallest buffer worth asking one for.
pub const HUGE_PAGE: usize = 2 << 20;

/// An empty buffer with room for `len` bytes. From [`HUGE_PAGE`] up, the kernel is asked to
/// back it with huge pages (advice it may ignore).
pub fn body_buffer(len: usize) -> Vec<u8> {
    let buffer = Vec::with_capacity(len);
    if len >= HUGE_PAGE {
        advise_huge_pages(&buffer);
    }
    buffer
}

/// `madvise(MADV_HUGEPAGE)` over the buffer's capacity, from the start of its first page.
#[cfg(target_os = "linux")]
fn advise_huge_pages(buffer: &Vec<u8>) {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let start = buffer.as_ptr() as usize;
    let first_page = start & !(page - 1);
    let len = start + buffer.capacity() - first_page;
    // SAFETY: the range covers the pages of the buffer's own allocation (its first page may
    // hold the allocator's bookkeeping too, in the same mapping). MADV_HUGEPAGE only tells
    // the kernel how to back those pages; it changes neither their contents nor whether
    // they are mapped.
    let result =
        unsafe { libc::madvise(first_page as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    if result != 0 {
        tracing::debug!(
            error = %std::io::Error::last_os_error(),
            "the kernel takes no huge-page advice: bodies stay on 4 KB pages"
        );
    }
}

/// Elsewhere the buffer is left as the allocator made it.
#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_buffer: &Vec<u8>) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body buffer has the room asked for, and is empty, small or large.
    #[test]
    fn buffers_have_the_room_asked_for() {
        for len in [0, 100, HUGE_PAGE, 3 * HUGE_PAGE + 5] {
            let buffer = body_buffer(len);
            assert!(buffer.is_empty());
            assert!(buffer.capacity() >= len, "{len}");
        }
    }
}

//! Memory accounting: Redis's zmalloc.c. A global allocator that wraps the system one and
//! counts the bytes in use, so INFO's used_memory and maxmemory see every allocation, as
//! zmalloc's used_memory counter does. The server is single-threaded; the counter is an
//! atomic only because a global allocator must be `Sync`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

static USED_MEMORY: AtomicUsize = AtomicUsize::new(0);

/// Redis: the counting wrapper zmalloc()/zfree() put around the allocator.
pub struct CountingAllocator;

// SAFETY: every method forwards to the system allocator with the caller's arguments
// unchanged and only adds bookkeeping on an atomic counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds GlobalAlloc's contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            USED_MEMORY.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator with this layout.
        unsafe { System.dealloc(ptr, layout) };
        USED_MEMORY.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            USED_MEMORY.fetch_add(layout.size(), Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; `ptr`/`layout` came from this allocator.
        let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            USED_MEMORY.fetch_add(new_size, Ordering::Relaxed);
            USED_MEMORY.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        new_ptr
    }
}

/// Redis: zmalloc.c zmalloc_used_memory().
pub fn used_memory() -> usize {
    USED_MEMORY.load(Ordering::Relaxed)
}

/// Redis: zmalloc.c zmalloc_get_rss(): resident set size from /proc/self/statm.
pub fn get_rss() -> usize {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else { return 0 };
    let pages: usize = statm.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as usize
}

/// Redis: zmalloc.c zmalloc_get_memory_size(): physical memory of the machine.
pub fn get_memory_size() -> usize {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    (pages.max(0) as usize).saturating_mul(page.max(0) as usize)
}

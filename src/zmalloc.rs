//! Memory accounting and the allocator: Redis's zmalloc.c. A global allocator that counts
//! the bytes in use, so INFO's used_memory and maxmemory see every allocation, as zmalloc's
//! used_memory counter does. The server is single-threaded; the counter is an atomic only
//! because a global allocator must be `Sync`.
//!
//! The allocator is jemalloc, as in Redis (`make MALLOC=libc` there, `--no-default-features`
//! here, selects the C library's malloc instead). Measured (docs/benchmarks.md): glibc's
//! 8-byte chunk header, 16-byte steps and 32-byte minimum chunk cost 14-52 % more RSS than
//! jemalloc for the many small keys, values and entries of a keyspace. jemalloc is built
//! with an 8-byte quantum (.cargo/config.toml, as Redis's own build does), so a 24- or
//! 56-byte entry takes exactly that. Its background threads stay off (the server has one
//! thread and forks); serverCron calls `decay_dirty_pages` to do their work, giving freed
//! pages back. used_memory counts size classes, as zmalloc_size() does with jemalloc.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering};

static USED_MEMORY: AtomicUsize = AtomicUsize::new(0);

#[cfg(feature = "jemalloc")]
mod backend {
    use std::alloc::Layout;
    use tikv_jemalloc_sys as je;

    /// INFO's mem_allocator (Redis: ZMALLOC_LIB).
    pub const NAME: &str = "jemalloc-5.3.0";
    /// The alignment every allocation has without asking (8-byte quantum).
    const MIN_ALIGN: usize = 8;

    /// mallocx() flags for an allocation of `size` bytes aligned to `align`.
    fn flags(size: usize, align: usize) -> i32 {
        if align <= MIN_ALIGN && align <= size {
            0
        } else {
            je::MALLOCX_ALIGN(align)
        }
    }

    /// Redis: zmalloc_size(): the size class an allocation of `size` bytes takes. Computed
    /// here (a unit test checks it against nallocx) because nallocx per malloc and per free
    /// cost 6 % of a SADD's instructions.
    pub fn usable_size(size: usize, align: usize) -> usize {
        if align <= MIN_ALIGN {
            return super::jemalloc_size_class(size);
        }
        // SAFETY: nallocx only computes a size class; it returns 0 for impossible sizes.
        let usable = unsafe { je::nallocx(size, flags(size, align)) };
        if usable == 0 { size } else { usable }
    }

    pub fn good_size(size: usize) -> usize {
        if size == 0 { 0 } else { super::jemalloc_size_class(size) }
    }

    pub fn alloc(layout: Layout, zeroed: bool) -> *mut u8 {
        let (size, flags) = (layout.size(), flags(layout.size(), layout.align()));
        // SAFETY: the size is non-zero (GlobalAlloc's contract); the flags encode a
        // power-of-two alignment. malloc/calloc take jemalloc's fast path; mallocx does not.
        unsafe {
            match (flags, zeroed) {
                (0, false) => je::malloc(size),
                (0, true) => je::calloc(1, size),
                (_, false) => je::mallocx(size, flags),
                (_, true) => je::mallocx(size, flags | je::MALLOCX_ZERO),
            }
        }
        .cast()
    }

    /// # Safety
    /// `ptr` came from `alloc`/`realloc` with this layout.
    pub unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller passes back an allocation of ours with its layout.
        unsafe { je::sdallocx(ptr.cast(), layout.size(), flags(layout.size(), layout.align())) }
    }

    /// # Safety
    /// `ptr` came from `alloc`/`realloc` with `layout`; `new_size` is non-zero.
    pub unsafe fn realloc(ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let flags = flags(new_size, layout.align());
        // SAFETY: as the caller guarantees; rallocx keeps the alignment the flags ask for.
        unsafe {
            if flags == 0 { je::realloc(ptr.cast(), new_size) } else { je::rallocx(ptr.cast(), new_size, flags) }
        }
        .cast()
    }

    /// What jemalloc's background thread does (Redis runs one): purge the dirty pages whose
    /// decay time (10 s) has passed. Without it an idle server keeps freed pages resident.
    pub fn decay_dirty_pages() {
        // "arena.<MALLCTL_ARENAS_ALL>.decay": every arena.
        let name = b"arena.4096.decay\0";
        // SAFETY: a NUL-terminated name; this mallctl reads and writes nothing through pointers.
        unsafe {
            je::mallctl(name.as_ptr().cast(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0);
        }
    }
}

#[cfg(not(feature = "jemalloc"))]
mod backend {
    use std::alloc::{GlobalAlloc, Layout, System};

    pub const NAME: &str = "libc";

    /// What the server asked for: glibc has no cheap size-class query.
    pub fn usable_size(size: usize, _align: usize) -> usize {
        size
    }

    pub fn good_size(size: usize) -> usize {
        size.saturating_add(size / 16)
    }

    pub fn alloc(layout: Layout, zeroed: bool) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds GlobalAlloc's contract.
        unsafe {
            if zeroed { System.alloc_zeroed(layout) } else { System.alloc(layout) }
        }
    }

    /// # Safety
    /// `ptr` came from `alloc`/`realloc` with this layout.
    pub unsafe fn dealloc(ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    /// # Safety
    /// `ptr` came from `alloc`/`realloc` with `layout`; `new_size` is non-zero.
    pub unsafe fn realloc(ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    pub fn decay_dirty_pages() {}
}

fn count_alloc(size: usize, align: usize) {
    USED_MEMORY.fetch_add(backend::usable_size(size, align), Ordering::Relaxed);
}

fn count_free(size: usize, align: usize) {
    USED_MEMORY.fetch_sub(backend::usable_size(size, align), Ordering::Relaxed);
}

/// jemalloc's size class of a `size`-byte allocation with an 8-byte quantum: multiples of
/// 8 up to 32, then four classes per doubling (40, 48, 56, 64, 80, 96 ... 4096, 5120 ...).
#[cfg(feature = "jemalloc")]
fn jemalloc_size_class(size: usize) -> usize {
    if size <= 32 {
        return (size.max(1) + 7) & !7;
    }
    let lg = usize::BITS - 1 - (size - 1).leading_zeros();
    let delta = 1usize << (lg - 2);
    size.checked_add(delta - 1).map_or(size, |s| s & !(delta - 1))
}

/// Redis: the counting wrapper zmalloc()/zfree() put around the allocator.
pub struct CountingAllocator;

// SAFETY: every method forwards to the backend allocator with the caller's layout and
// only adds bookkeeping on an atomic counter.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = backend::alloc(layout, false);
        if !ptr.is_null() {
            count_alloc(layout.size(), layout.align());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count_free(layout.size(), layout.align());
        // SAFETY: `ptr` came from this allocator with this layout.
        unsafe { backend::dealloc(ptr, layout) };
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = backend::alloc(layout, true);
        if !ptr.is_null() {
            count_alloc(layout.size(), layout.align());
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` came from this allocator; new_size is non-zero.
        let new_ptr = unsafe { backend::realloc(ptr, layout, new_size) };
        if !new_ptr.is_null() {
            count_alloc(new_size, layout.align());
            count_free(layout.size(), layout.align());
        }
        new_ptr
    }
}

/// INFO's mem_allocator: which allocator this build uses.
pub fn allocator_name() -> &'static str {
    backend::NAME
}

/// The capacity worth giving a growing byte buffer that must hold `size` bytes (Redis's
/// listpacks grow by realloc to exact sizes, which the allocator rounds up): jemalloc's size
/// class, whose spare bytes cost nothing; with libc, 1/16 of slack so that appends do not
/// realloc every time.
pub fn good_size(size: usize) -> usize {
    backend::good_size(size)
}

/// Gives back freed pages whose decay time passed (jemalloc's background-thread work,
/// done from serverCron since the server runs no threads).
pub fn decay_dirty_pages() {
    backend::decay_dirty_pages();
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

/// The lib's own unit tests run on the server's allocator, so they exercise it too.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: CountingAllocator = CountingAllocator;

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "jemalloc")]
    #[test]
    fn jemalloc_size_classes_have_an_8_byte_quantum() {
        // 24 and 56 stay exact only with --with-lg-quantum=3 (.cargo/config.toml).
        let cases = [(1, 8), (8, 8), (9, 16), (24, 24), (25, 32), (56, 56), (57, 64), (129, 160), (4097, 5120)];
        for (size, class) in cases {
            assert_eq!(good_size(size), class, "size {size}");
        }
        assert_eq!(good_size(0), 0);
        assert_eq!(allocator_name(), "jemalloc-5.3.0");
    }

    #[cfg(feature = "jemalloc")]
    #[test]
    fn computed_size_classes_match_nallocx() {
        let sizes = (1..70_000).chain((0..40).map(|shift| (1usize << shift) + 1)).chain([1 << 40, (3 << 30) - 1]);
        for size in sizes {
            // SAFETY: nallocx only computes a size class.
            let class = unsafe { tikv_jemalloc_sys::nallocx(size, 0) };
            assert_eq!(jemalloc_size_class(size), class, "size {size}");
        }
    }

    #[test]
    fn allocations_keep_their_alignment() {
        // Layouts wider than the 8-byte quantum must still come back aligned.
        let wide: Vec<u128> = vec![7; 3];
        assert_eq!(wide.as_ptr() as usize % 16, 0);
        #[repr(align(64))]
        struct Line([u8; 8]);
        let line = Box::new(Line([1; 8]));
        assert_eq!(&*line as *const Line as usize % 64, 0);
        assert_eq!(line.0[7], 1);
        let mut grown: Vec<u128> = Vec::with_capacity(1);
        grown.extend((0..1000u32).map(u128::from));
        assert_eq!(grown.as_ptr() as usize % 16, 0);
        assert_eq!(grown[999], 999);
    }

    #[test]
    fn used_memory_counts_live_allocations() {
        // Other tests allocate concurrently: a 64 MB buffer stands out of their noise.
        let before = used_memory();
        let big = vec![1u8; 64 << 20];
        assert!(used_memory() >= before + (48 << 20), "{} -> {}", before, used_memory());
        drop(big);
        assert!(used_memory() < before + (16 << 20));
        decay_dirty_pages();
    }
}

//! The allocation sizes of Redis's sds strings (sds.c), for the one buffer whose sds sizes
//! Redis reports to users: a client's query buffer (CLIENT LIST `qbuf-free`, `tot-mem`,
//! INFO `client_recent_max_input_buffer`).
//!
//! ferredis keeps the query buffer in a `Vec<u8>`, but grows and trims it exactly as
//! readQueryFromClient() and clientsCronResizeQueryBuffer() grow and trim the sds, so the
//! buffer holds the same number of bytes as Redis's and the figures mean the same thing.
//! Nothing here runs per command: only when a buffer grows or the cron trims it.

use crate::zmalloc;

/// Redis: SDS_MAX_PREALLOC. Greedy growth doubles below this size and adds it above.
const SDS_MAX_PREALLOC: usize = 1024 * 1024;

/// Redis: sds.c sdsReqType() folded with sdsHdrSize(): the header bytes of the smallest sds
/// type able to hold `len` (type 5, 8, 16, 32 or 64).
fn sds_hdr_size_for(len: usize) -> usize {
    match len {
        0..=31 => 1,
        32..=255 => 3,
        256..=65_535 => 5,
        _ if (len as u64) < (1u64 << 32) => 9,
        _ => 17,
    }
}

/// The header of a growable sds: Redis never uses type 5 (1 byte) for a string that grows,
/// because type 5 cannot record free space.
fn sds_growable_hdr_size(len: usize) -> usize {
    sds_hdr_size_for(len).max(3)
}

/// Redis: sds.c _sdsMakeRoomFor(): the `alloc` (usable bytes) of the string after making
/// room for `addlen` more bytes beyond `len`, from an allocation of `alloc`. Greedy growth
/// (sdsMakeRoomFor) doubles the request; the non-greedy one (sdsMakeRoomForNonGreedy) does
/// not. Either way the string takes over the allocator's rounding (s_malloc_usable).
pub fn sds_make_room_for(len: usize, alloc: usize, addlen: usize, greedy: bool) -> usize {
    if alloc.saturating_sub(len) >= addlen {
        return alloc;
    }
    let reqlen = len.saturating_add(addlen);
    let newlen = match greedy {
        true if reqlen < SDS_MAX_PREALLOC => reqlen * 2,
        true => reqlen.saturating_add(SDS_MAX_PREALLOC),
        false => reqlen,
    };
    let hdr = sds_growable_hdr_size(newlen);
    zmalloc::good_size(newlen.saturating_add(hdr + 1)).saturating_sub(hdr + 1).max(newlen)
}

/// Redis: sds.c sdsZmallocSize() for a string whose `alloc` is known: the bytes the
/// allocator really holds for it, header and terminator included.
pub fn sds_zmalloc_size(alloc: usize) -> usize {
    zmalloc::good_size(sds_growable_hdr_size(alloc) + alloc + 1)
}

/// Redis: the `alloc` of sdsempty(): a type 8 header over the smallest allocation.
pub fn sds_empty_alloc() -> usize {
    zmalloc::good_size(3 + 1) - 3 - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_read_of_a_query_buffer_matches_redis() {
        // CLIENT INFO on redis-server 7.0.15 right after `CLIENT INFO\r\n` (13 bytes):
        // qbuf=13 qbuf-free=20461, so alloc = 20474 (16390 bytes rounded to jemalloc's 20480).
        assert_eq!(sds_empty_alloc(), 4);
        assert_eq!(sds_make_room_for(0, 4, 16 * 1024, false), 20_474);
        assert_eq!(sds_zmalloc_size(20_474), 20_480);
    }

    #[test]
    fn room_already_there_keeps_the_allocation() {
        assert_eq!(sds_make_room_for(100, 20_474, 16 * 1024, true), 20_474);
    }

    #[test]
    fn greedy_growth_doubles_below_the_prealloc_limit_and_adds_above() {
        let doubled = sds_make_room_for(20_000, 20_474, 16 * 1024, true);
        assert!(doubled >= 2 * (20_000 + 16 * 1024), "{doubled}");
        let big = sds_make_room_for(2 * SDS_MAX_PREALLOC, 2 * SDS_MAX_PREALLOC, 10, true);
        assert!(big >= 3 * SDS_MAX_PREALLOC + 10, "{big}");
    }

    #[test]
    fn a_bulk_of_a_gigabyte_gets_at_least_its_size() {
        let gb = 1usize << 30;
        assert!(sds_make_room_for(0, 20_474, gb + 2, false) >= gb + 2);
        assert_eq!(sds_hdr_size_for(gb), 9);
        assert_eq!(sds_hdr_size_for(1usize << 33), 17);
    }
}

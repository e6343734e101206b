//! Fuzzes RESTORE's payload path (cluster.rs: verifyDumpPayload, then the RDB loader's
//! rdbLoadObject on the payload): arbitrary bytes must never panic, hang or allocate without
//! bound, and whatever loads must survive being digested (every element walked), DUMPed
//! again, and then the commands clients would run on it: the type's reads (LRANGE, HGETALL,
//! SMEMBERS, ZRANGE, XRANGE, XINFO, XPENDING ...), DEBUG DIGEST-VALUE, and writes (LPUSH,
//! LINSERT, HSET, SADD, ZADD, XADD, XDEL, XACK ...), some of which convert the encoding.
//! With sanitize-dump-payload no (the default) the loader checks only the headers of
//! listpacks and intsets, as Redis does, so these commands meet corrupt entries: they may
//! answer anything, but must not panic or loop (Redis asserts and crashes there). The
//! commands are exercise.rs's, shared with the rdb_load target.
//!
//! The first byte selects how the rest is used, so the fuzzer gets past the CRC-64:
//! - bit 0: the rest is a payload body; a correct footer (RDB 10 + CRC) is appended.
//!   Otherwise the rest is a whole payload, footer included, checked as RESTORE checks it.
//! - bit 1: DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 (the footer's version is still checked).
//! - bit 2: tiny encoding thresholds, so loading converts listpacks / intsets to hash tables
//!   and skiplists (and back) on the way in.
//! - bit 3: sanitize-dump-payload yes (deep validation of every entry) instead of no.
#![no_main]

mod exercise;

use std::cell::RefCell;

use exercise::{configure, exercise, new_server};
use ferredis::networking::Client;
use ferredis::server::Server;
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// One server and client for the whole run: building them costs more than an input.
    static STATE: RefCell<Option<(Server, Client)>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let payload = if selector & 1 == 1 {
        let mut p = rest.to_vec();
        ferredis::cluster::append_dump_footer(&mut p);
        p
    } else {
        rest.to_vec()
    };
    STATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (srv, c) = slot.get_or_insert_with(|| (new_server(), Client::new(1, None, 0)));
        srv.skip_checksum_validation = selector & 2 != 0;
        configure(srv, selector & 4 != 0, selector & 8 != 0);
        if ferredis::cluster::fuzz_restore_payload(srv, &payload) {
            exercise(srv, c);
        }
    });
});

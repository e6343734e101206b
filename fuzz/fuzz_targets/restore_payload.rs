//! Fuzzes RESTORE's payload path (cluster.rs: verifyDumpPayload, then the RDB loader's
//! rdbLoadObject on the payload): arbitrary bytes must never panic, hang or allocate without
//! bound, and whatever loads must survive being digested (every element walked) and DUMPed
//! again.
//!
//! The first byte selects how the rest is used, so the fuzzer gets past the CRC-64:
//! - bit 0: the rest is a payload body; a correct footer (RDB 10 + CRC) is appended.
//!   Otherwise the rest is a whole payload, footer included, checked as RESTORE checks it.
//! - bit 1: DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 (the footer's version is still checked).
//! - bit 2: tiny encoding thresholds, so loading converts listpacks / intsets to hash tables
//!   and skiplists (and back) on the way in.
#![no_main]

use std::cell::RefCell;

use ferredis::config::ServerConfig;
use ferredis::server::Server;
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// One server for the whole run: building one costs more than a typical input.
    static SERVER: RefCell<Option<Server>> = const { RefCell::new(None) };
}

fn new_server() -> Server {
    let mut srv =
        ferredis::server::init_server_config(ServerConfig::default(), &[]).expect("server state");
    srv.db = (0..16).map(ferredis::db::RedisDb::new).collect();
    srv
}

/// Redis's defaults, or thresholds small enough that every aggregate converts on load.
fn configure(srv: &mut Server, tiny: bool) {
    let defaults = ServerConfig::default();
    let c = &mut srv.config;
    c.hash_max_listpack_entries = if tiny {
        2
    } else {
        defaults.hash_max_listpack_entries
    };
    c.hash_max_listpack_value = if tiny {
        4
    } else {
        defaults.hash_max_listpack_value
    };
    c.set_max_intset_entries = if tiny {
        2
    } else {
        defaults.set_max_intset_entries
    };
    c.zset_max_listpack_entries = if tiny {
        2
    } else {
        defaults.zset_max_listpack_entries
    };
    c.zset_max_listpack_value = if tiny {
        4
    } else {
        defaults.zset_max_listpack_value
    };
    c.list_max_listpack_size = if tiny {
        2
    } else {
        defaults.list_max_listpack_size
    };
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
    SERVER.with(|cell| {
        let mut slot = cell.borrow_mut();
        let srv = slot.get_or_insert_with(new_server);
        srv.skip_checksum_validation = selector & 2 != 0;
        configure(srv, selector & 4 != 0);
        ferredis::cluster::fuzz_restore_payload(srv, &payload);
    });
});

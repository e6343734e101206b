//! Fuzzes the RDB loader (rdb/load.rs, Redis's rdbLoadRio and rdbLoadObject) through its
//! fuzzing entry point: input starting with "REDIS" loads as a whole RDB stream, anything
//! else as one type byte and value (RESTORE's path without the footer). The server keeps
//! sanitize-dump-payload at its default, no, so listpacks, intsets and stream nodes get only
//! Redis's shallow header checks; an input of odd length loads with tiny encoding
//! thresholds, so that values convert on the way in. Arbitrary bytes must never panic, hang
//! or allocate without bound. Whatever loads is digested and saved again (SAVE's path),
//! then a few of the keys, one at a time, are renamed "fuzz" in db 0 and walked through the
//! commands of exercise.rs (reads of every type, conversions, DUMP).
#![no_main]

mod exercise;

use std::cell::RefCell;

use exercise::{configure, exercise, new_server};
use ferredis::networking::Client;
use ferredis::server::Server;
use libfuzzer_sys::fuzz_target;

/// How many loaded keys run the commands: enough for the few values a small file holds.
const KEYS_EXERCISED: usize = 4;

thread_local! {
    /// One server and client for the whole run: building them costs more than an input.
    static STATE: RefCell<Option<(Server, Client)>> = const { RefCell::new(None) };
}

/// (db, key) of the first keys loaded, db by db.
fn loaded_keys(srv: &Server) -> Vec<(usize, Vec<u8>)> {
    let all = srv.db.iter().enumerate().flat_map(|(i, db)| db.dict.keys().map(move |k| (i, k.to_vec())));
    all.take(KEYS_EXERCISED).collect()
}

fuzz_target!(|data: &[u8]| {
    STATE.with(|cell| {
        let mut slot = cell.borrow_mut();
        let (srv, c) = slot.get_or_insert_with(|| (new_server(), Client::new(1, None, 0)));
        configure(srv, data.len() % 2 == 1, false);
        ferredis::rdb::load::fuzz_rdb_load_into(srv, data);
        for (dbid, key) in loaded_keys(srv) {
            let Some(obj) = srv.db.get_mut(dbid).and_then(|db| db.db_delete(&key)) else { continue };
            let Some(db0) = srv.db.first_mut() else { return };
            db0.db_delete(b"fuzz");
            db0.db_add(b"fuzz", obj);
            exercise(srv, c);
        }
    });
});

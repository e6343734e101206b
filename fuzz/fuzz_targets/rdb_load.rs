//! Fuzzes the RDB loader (rdb/load.rs, Redis's rdbLoadRio and rdbLoadObject) through its
//! fuzzing entry point: input starting with "REDIS" loads as a whole RDB stream into a
//! fresh server state, anything else as one type byte and value (RESTORE's path without the
//! footer). Arbitrary bytes must never panic, hang or allocate without bound, and whatever
//! loads is digested, walking every element.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ferredis::rdb::load::fuzz_rdb_load(data);
});

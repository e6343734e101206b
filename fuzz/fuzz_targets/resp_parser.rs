//! Fuzzes the RESP request parser (networking.rs, Redis's processInlineBuffer /
//! processMultibulkBuffer) through the real query buffer: arbitrary client bytes must never
//! panic, hang or allocate without bound, whatever `proto-max-bulk-len` is.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Redis's default proto-max-bulk-len (512 MiB).
const DEFAULT_PROTO_MAX_BULK_LEN: i64 = 536_870_912;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the bulk limit, so the small-limit error paths get fuzzed too.
    let Some((&selector, requests)) = data.split_first() else {
        return;
    };
    let proto_max_bulk_len = match selector % 4 {
        0 => DEFAULT_PROTO_MAX_BULK_LEN,
        1 => 1,
        2 => 16,
        _ => i64::from(selector),
    };
    let parsed = ferredis::networking::fuzz_parse_requests(requests, proto_max_bulk_len);
    // Every command consumes at least one byte of input, so more commands than bytes is a bug.
    assert!(
        parsed <= requests.len(),
        "{parsed} commands from {} bytes",
        requests.len()
    );
});

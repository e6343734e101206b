//! DUMP and RESTORE: one value serialized the way an RDB file stores it, plus a footer with
//! the RDB version and a CRC-64, so it can travel to another server (or back) intact.
//!
//! Redis: cluster.c. Redis keeps DUMP, RESTORE and MIGRATE (which ships DUMP payloads from
//! node to node) in cluster.c, next to the cluster bus. ferredis has no cluster mode, so this
//! file holds only the parts that exist without it: createDumpPayload, verifyDumpPayload,
//! dumpCommand and restoreCommand (which RESTORE-ASKING also runs). Everything runs inline on
//! the event loop thread: DUMP serializes the whole value into memory in one go, RESTORE
//! parses it in one go, as Redis does.
//!
//! The value's bytes come from the RDB writer and go back through the RDB loader
//! (rdb/save.rs and rdb/load.rs); this file only frames them and applies RESTORE's options.

use std::io;

use crate::crc64::crc64;
use crate::db;
use crate::networking::Client;
use crate::object::{self, AccessClock, RObj};
use crate::rdb::load::{rdb_load_object, rdb_load_object_type};
use crate::rdb::save::{rdb_save_object, rdb_save_object_type};
use crate::rdb::RDB_VERSION;
use crate::rio::Rio;
use crate::server::{Server, LRU_CLOCK_MAX};

/// The footer every payload ends with: 2 bytes of RDB version, 8 bytes of CRC-64, both
/// little-endian.
pub const DUMP_FOOTER_LEN: usize = 10;

const BUSYKEY_ERR: &str = "-BUSYKEY Target key name already exists.";
const BAD_PAYLOAD_ERR: &str = "DUMP payload version or checksum are wrong";
const BAD_DATA_ERR: &str = "Bad data format";

/// Why verify_dump_payload refused a payload (RESTORE answers all three the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DumpPayloadError {
    /// Shorter than the footer.
    TooShort,
    /// Written by a newer RDB format than this server reads.
    Version(u16),
    /// The CRC-64 in the footer does not match the bytes before it.
    Checksum,
}

/// Redis: cluster.c createDumpPayload(): type byte, the value as rdbSaveObject writes it,
/// then the footer. `rdbcompression` is the server's setting, as rdbSaveObject reads it.
pub fn create_dump_payload(o: &RObj, rdbcompression: bool) -> io::Result<Vec<u8>> {
    let mut rdb = Rio::new(Vec::new());
    // The footer's CRC covers the version bytes too, so it is computed at the end instead.
    rdb.update_cksum = false;
    rdb_save_object_type(&mut rdb, o)?;
    rdb_save_object(&mut rdb, o, rdbcompression)?;
    let mut payload = rdb.into_inner();
    append_dump_footer(&mut payload);
    Ok(payload)
}

/// The footer of createDumpPayload(): the RDB version, then the CRC-64 of everything before.
pub fn append_dump_footer(payload: &mut Vec<u8>) {
    payload.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64(0, payload);
    payload.extend_from_slice(&crc.to_le_bytes());
}

/// Redis: cluster.c verifyDumpPayload(): the footer's RDB version (returned) must not be
/// newer than ours and, unless DEBUG SET-SKIP-CHECKSUM-VALIDATION is on, the CRC must match.
pub fn verify_dump_payload(p: &[u8], skip_checksum_validation: bool) -> Result<u16, DumpPayloadError> {
    let footer_at = p.len().checked_sub(DUMP_FOOTER_LEN).ok_or(DumpPayloadError::TooShort)?;
    let (body, footer) = p.split_at(footer_at);
    let rdbver = u16::from_le_bytes([footer[0], footer[1]]);
    if u32::from(rdbver) > RDB_VERSION {
        return Err(DumpPayloadError::Version(rdbver));
    }
    if skip_checksum_validation {
        return Ok(rdbver);
    }
    let mut stored = [0u8; 8];
    stored.copy_from_slice(&footer[2..]);
    let covered = crc64(crc64(0, body), &footer[..2]);
    if covered == u64::from_le_bytes(stored) {
        Ok(rdbver)
    } else {
        Err(DumpPayloadError::Checksum)
    }
}

/// The value a verified payload holds, read by the RDB loader from the payload's first byte
/// (the loader sees the footer too, as in Redis, which hands it the whole buffer). None for
/// anything the loader refuses, including an empty aggregate.
pub fn load_dump_payload(srv: &Server, payload: &[u8], key: &[u8]) -> Option<RObj> {
    let mut rdb = Rio::new(payload);
    rdb.update_cksum = false;
    let rdbtype = rdb_load_object_type(&mut rdb).ok()?;
    rdb_load_object(rdbtype, &mut rdb, key, srv).ok().flatten()
}

/// Redis: cluster.c dumpCommand(): the payload of the key's value, or nil.
pub fn dump_command(srv: &mut Server, c: &mut Client) {
    let rdbcompression = srv.config.rdbcompression;
    let Some(o) = db::lookup_key_read(srv, c.db, c.argv.get(1)) else {
        return c.reply.add_reply_null();
    };
    match create_dump_payload(o, rdbcompression) {
        Ok(payload) => c.reply.add_reply_bulk(&payload),
        // Redis asserts here: writing to memory cannot fail once the writer exists.
        Err(err) => c.reply.add_reply_error(&format!("DUMP failed: {err}")),
    }
}

/// RESTORE's options after the payload (Redis keeps them in locals of restoreCommand()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RestoreOptions {
    replace: bool,
    absttl: bool,
    /// IDLETIME in seconds, -1 when absent.
    lru_idle: i64,
    /// FREQ 0..=255, -1 when absent.
    lfu_freq: i64,
}

/// C `strcasecmp(arg, lit) == 0`: the argument ends at its first NUL byte.
fn arg_is(arg: &[u8], lit: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg[..end].eq_ignore_ascii_case(lit.as_bytes())
}

/// Redis: the option loop of restoreCommand(). IDLETIME and FREQ exclude each other: the
/// second one is a syntax error. On error the reply is written and None returned.
fn parse_restore_options(c: &mut Client) -> Option<RestoreOptions> {
    let mut opts = RestoreOptions { replace: false, absttl: false, lru_idle: -1, lfu_freq: -1 };
    let mut j = 4;
    while j < c.argv.len() {
        let additional = c.argv.len() - j - 1;
        let arg = c.argv.get(j);
        if arg_is(arg, "replace") {
            opts.replace = true;
        } else if arg_is(arg, "absttl") {
            opts.absttl = true;
        } else if arg_is(arg, "idletime") && additional >= 1 && opts.lfu_freq == -1 {
            opts.lru_idle = object::get_long_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), None)?;
            if opts.lru_idle < 0 {
                c.reply.add_reply_error("Invalid IDLETIME value, must be >= 0");
                return None;
            }
            j += 1;
        } else if arg_is(arg, "freq") && additional >= 1 && opts.lru_idle == -1 {
            opts.lfu_freq = object::get_long_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), None)?;
            if !(0..=255).contains(&opts.lfu_freq) {
                c.reply.add_reply_error("Invalid FREQ value, must be >= 0 and <= 255");
                return None;
            }
            j += 1;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    Some(opts)
}

/// Redis: object.c objectSetLRUOrLFU() with an lru_multiplier of 1000 (IDLETIME is in
/// seconds): under an LFU policy FREQ sets the counter; otherwise IDLETIME moves the access
/// time back. The other option is ignored, as in Redis.
fn object_set_lru_or_lfu(o: &mut RObj, clock: &AccessClock, lfu_freq: i64, lru_idle: i64) {
    if clock.lfu {
        if let Ok(freq) = u32::try_from(lfu_freq) {
            o.set_lru((clock.initial_lru() & !255) | (freq & 255));
        }
        return;
    }
    if lru_idle < 0 {
        return;
    }
    // Redis: lru_idle*1000/LRU_CLOCK_RESOLUTION in C long arithmetic, which wraps.
    let idle_ticks = lru_idle.wrapping_mul(1000) / 1000;
    let lru_clock = i64::from(clock.lru_clock);
    let mut lru_abs = lru_clock.wrapping_sub(idle_ticks);
    if lru_abs < 0 {
        // The clock wraps: 7.0.15 adds one turn (observed: IDLETIME 16777215 reads back 0).
        lru_abs += i64::from(LRU_CLOCK_MAX);
    }
    // The `lru` bit field of robj keeps the low 24 bits (of a still negative time too).
    o.set_lru((lru_abs as u64 & u64::from(LRU_CLOCK_MAX)) as u32);
}

/// Redis: cluster.c restoreCommand(): RESTORE key ttl payload [REPLACE] [ABSTTL]
/// [IDLETIME seconds] [FREQ frequency]. The checks run in Redis's order: options, existing
/// key, TTL, footer, then the value itself.
pub fn restore_command(srv: &mut Server, c: &mut Client) {
    let Some(opts) = parse_restore_options(c) else { return };
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    if !opts.replace && db::lookup_key_write(srv, dbid, &key).is_some() {
        return c.reply.add_reply_error(BUSYKEY_ERR);
    }
    let Some(ttl) = object::get_long_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    if ttl < 0 {
        return c.reply.add_reply_error("Invalid TTL value, must be >= 0");
    }
    if verify_dump_payload(c.argv.get(3), srv.skip_checksum_validation).is_err() {
        return c.reply.add_reply_error(BAD_PAYLOAD_ERR);
    }
    let Some(obj) = load_dump_payload(srv, c.argv.get(3), &key) else {
        return c.reply.add_reply_error(BAD_DATA_ERR);
    };
    let deleted = opts.replace && db::db_delete(srv, dbid, &key);
    // Redis adds the clock in C long arithmetic: a huge TTL wraps into the past.
    let when = if ttl != 0 && !opts.absttl { ttl.wrapping_add(srv.cmd_time_snapshot) } else { ttl };
    if when != 0 && crate::expire::check_already_expired(srv, when) {
        return restore_already_expired(srv, c, &key, deleted);
    }
    restore_add_key(srv, c, &key, obj, when, opts);
}

/// The end of restoreCommand() for a TTL already in the past: no key is created; a key
/// REPLACE removed counts as deleted (and would be propagated as DEL / UNLINK).
fn restore_already_expired(srv: &mut Server, c: &mut Client, key: &[u8], deleted: bool) {
    let dbid = c.db;
    if deleted {
        let del: &[u8] = if srv.config.lazyfree_lazy_server_del { b"UNLINK" } else { b"DEL" };
        c.argv.replace(&[del, key]);
        srv.signal_modified_key(dbid, key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", key, dbid);
        srv.dirty += 1;
    }
    c.reply.add_reply_ok();
}

/// The end of restoreCommand(): adds the key with its TTL and access data. A relative TTL
/// is rewritten as an absolute one (ttl argument + ABSTTL) for replicas and the AOF.
fn restore_add_key(srv: &mut Server, c: &mut Client, key: &[u8], mut obj: RObj, when: i64, opts: RestoreOptions) {
    let dbid = c.db;
    let clock = AccessClock::of(srv);
    obj.set_lru(clock.initial_lru());
    object_set_lru_or_lfu(&mut obj, &clock, opts.lfu_freq, opts.lru_idle);
    db::db_add(srv, dbid, key, obj);
    if when != 0 {
        if let Some(db) = srv.db.get_mut(dbid) {
            db.set_expire(key, when);
        }
        if !opts.absttl {
            rewrite_ttl_as_absolute(c, when);
        }
    }
    srv.signal_modified_key(dbid, key);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "restore", key, dbid);
    c.reply.add_reply_ok();
    srv.dirty += 1;
}

/// Redis: rewriteClientCommandArgument(c,2,ttl) then appending ABSTTL.
fn rewrite_ttl_as_absolute(c: &mut Client, when: i64) {
    let mut args = c.argv.to_vecs();
    if let Some(ttl) = args.get_mut(2) {
        *ttl = when.to_string().into_bytes();
    }
    args.push(b"ABSTTL".to_vec());
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    c.argv.replace(&refs);
}

/// Runs RESTORE's payload path (verifyDumpPayload, then the loader, with the server's
/// sanitize-dump-payload) on arbitrary bytes and, when a value comes out, uses it the way
/// clients would: its digest walks every element, DUMP serializes it again, and it becomes
/// key "fuzz" of db 0 (replacing any) so that the caller can run commands on it. Exists for
/// the fuzz target restore_payload; true when a value was stored.
pub fn fuzz_restore_payload(srv: &mut Server, data: &[u8]) -> bool {
    if verify_dump_payload(data, srv.skip_checksum_validation).is_err() {
        return false;
    }
    let Some(obj) = load_dump_payload(srv, data, b"fuzz") else { return false };
    let mut digest = [0u8; crate::sha1::DIGEST_LEN];
    if let Some(db) = srv.db.first() {
        crate::debug::xor_object_digest(db, b"fuzz", &mut digest, &obj);
    }
    let _ = create_dump_payload(&obj, srv.config.rdbcompression);
    let Some(db) = srv.db.first_mut() else { return false };
    db.db_delete(b"fuzz");
    db.db_add(b"fuzz", obj);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    /// Payload of the string "hello" as Redis 7.0.15 DUMPs it (interop facts §3.6).
    fn hello_payload() -> Vec<u8> {
        let mut p = b"\x00\x05hello".to_vec();
        append_dump_footer(&mut p);
        p
    }

    fn restore(srv: &mut Server, c: &mut Client, args: &[&[u8]]) -> String {
        c.argv.clear();
        for a in args {
            c.argv.push(a);
        }
        restore_command(srv, c);
        let out = String::from_utf8_lossy(&c.reply.pending()).into_owned();
        c.reply.advance(c.reply.pending_len());
        out
    }

    #[test]
    fn footer_is_version_then_crc_of_everything_before() {
        let p = hello_payload();
        assert_eq!(&p[..9], b"\x00\x05hello\x0a\x00");
        assert_eq!(p.len(), 7 + DUMP_FOOTER_LEN);
        assert_eq!(p[9..], crc64(0, &p[..9]).to_le_bytes());
        assert_eq!(verify_dump_payload(&p, false), Ok(10));
    }

    #[test]
    fn verify_refuses_short_newer_and_corrupt_payloads() {
        assert_eq!(verify_dump_payload(b"123456789", false), Err(DumpPayloadError::TooShort));
        assert_eq!(verify_dump_payload(b"", true), Err(DumpPayloadError::TooShort));
        // A footer alone (empty body) passes the footer checks.
        let mut only_footer = Vec::new();
        append_dump_footer(&mut only_footer);
        assert_eq!(verify_dump_payload(&only_footer, false), Ok(10));

        let mut p = hello_payload();
        p[3] ^= 0x20;
        assert_eq!(verify_dump_payload(&p, false), Err(DumpPayloadError::Checksum));
        assert_eq!(verify_dump_payload(&p, true), Ok(10), "skip-checksum-validation ignores the CRC");

        let mut newer = b"\x00\x01x".to_vec();
        newer.extend_from_slice(&11u16.to_le_bytes());
        let crc = crc64(0, &newer);
        newer.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(verify_dump_payload(&newer, false), Err(DumpPayloadError::Version(11)));
        assert_eq!(verify_dump_payload(&newer, true), Err(DumpPayloadError::Version(11)));

        // Older versions are accepted (Redis only refuses newer ones).
        let mut older = b"\x00\x01x".to_vec();
        older.extend_from_slice(&6u16.to_le_bytes());
        let crc = crc64(0, &older);
        older.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(verify_dump_payload(&older, false), Ok(6));
    }

    #[test]
    fn option_errors_come_first_in_redis_order() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let p = hello_payload();
        let syntax = "-ERR syntax error\r\n";
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"bogus"]), syntax);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"IDLETIME"]), syntax);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"FREQ"]), syntax);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"IDLETIME", b"1", b"FREQ", b"1"]), syntax);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"FREQ", b"1", b"IDLETIME", b"1"]), syntax);
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"IDLETIME", b"-1"]),
            "-ERR Invalid IDLETIME value, must be >= 0\r\n"
        );
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"FREQ", b"256"]),
            "-ERR Invalid FREQ value, must be >= 0 and <= 255\r\n"
        );
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p, b"FREQ", b"x"]),
            "-ERR value is not an integer or out of range\r\n"
        );
        // An option error wins over a bad TTL and a bad payload.
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"-1", b"junk", b"nope"]), syntax);
        // "replace\0..." is REPLACE for C's strcasecmp.
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"k", b"-1", b"junk", b"RePlAcE\0zz"]),
            "-ERR Invalid TTL value, must be >= 0\r\n"
        );
    }

    #[test]
    fn busykey_then_ttl_then_footer_errors() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        db::set_key(&mut srv, 0, b"k", RObj::string_from(b"v", 0), false);
        let p = hello_payload();
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"k", b"-1", b"junk"]),
            "-BUSYKEY Target key name already exists.\r\n"
        );
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"new", b"x", &p]),
            "-ERR value is not an integer or out of range\r\n"
        );
        assert_eq!(
            restore(&mut srv, &mut c, &[b"restore", b"new", b"-5", &p]),
            "-ERR Invalid TTL value, must be >= 0\r\n"
        );
        let bad = "-ERR DUMP payload version or checksum are wrong\r\n";
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"new", b"0", b"short"]), bad);
        let mut flipped = p.clone();
        flipped[2] ^= 1;
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &flipped, b"REPLACE"]), bad);
        assert_eq!(srv.dirty, 0);
        assert!(srv.db[0].dict.get(b"new".as_slice()).is_none());
    }

    #[test]
    fn idletime_moves_the_access_time_back_and_freq_sets_the_counter() {
        let lru = AccessClock { lfu: false, lru_clock: 5000, unixtime: 600, lfu_log_factor: 10, lfu_decay_time: 1 };
        let mut o = RObj::string_from(b"v", 0);
        object_set_lru_or_lfu(&mut o, &lru, 7, -1);
        assert_eq!(o.lru(), 0, "FREQ is ignored without an LFU policy");
        object_set_lru_or_lfu(&mut o, &lru, -1, 1000);
        assert_eq!(o.lru(), 4000);
        assert_eq!(lru.estimate_object_idle_time(o.lru()), 1_000_000);
        // Values the real server reads back through OBJECT IDLETIME (clock 586737).
        let at = AccessClock { lru_clock: 586_737, ..lru };
        for (idle, seen) in [
            (1_000_000, 1_000_000),
            (16_777_215, 0),
            (16_777_216, 1),
            (20_000_000, 3_222_784),
            (100_000_000, 16_113_920),
            (1_000_000_000_000, 10_817_536),
            (i64::MAX, 16_777_214),
        ] {
            object_set_lru_or_lfu(&mut o, &at, -1, idle);
            assert_eq!(at.estimate_object_idle_time(o.lru()) / 1000, seen, "IDLETIME {idle}");
        }

        let lfu = AccessClock { lfu: true, ..lru };
        let mut o = RObj::string_from(b"v", 0);
        object_set_lru_or_lfu(&mut o, &lfu, -1, 1000);
        assert_eq!(o.lru(), 0, "IDLETIME is ignored under an LFU policy");
        object_set_lru_or_lfu(&mut o, &lfu, 200, -1);
        assert_eq!(o.lru(), (10 << 8) | 200);
    }

    #[test]
    fn dump_of_a_missing_key_is_nil() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run_command(&mut srv, &mut c, dump_command, &["dump", "nokey"]), "$-1\r\n");
    }

    /// A string survives DUMP then RESTORE (through the RDB writer and loader), with TTLs.
    #[test]
    fn string_round_trip_and_ttls() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        db::set_key(&mut srv, 0, b"src", RObj::string_from(b"hello", 0), false);
        let p = create_dump_payload(srv.db[0].dict.get(b"src".as_slice()).expect("src"), true).expect("payload");
        assert_eq!(p, hello_payload());
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"dst", b"0", &p]), "+OK\r\n");
        assert_eq!(
            srv.db[0].dict.get(b"dst".as_slice()).map(|o| o.clone().into_value()),
            Some(RObj::string_from(b"hello", 0).into_value())
        );
        assert_eq!(srv.db[0].get_expire(b"dst"), -1);
        assert_eq!(srv.dirty, 1);

        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"dst", b"5000", &p, b"REPLACE"]), "+OK\r\n");
        let when = srv.db[0].get_expire(b"dst");
        assert_eq!(when, srv.cmd_time_snapshot + 5000);
        assert_eq!(c.argv.get(2), when.to_string().as_bytes(), "relative TTL rewritten as absolute");
        assert_eq!(c.argv.get(5), b"ABSTTL");

        // A TTL in the past: the replaced key is deleted, nothing is created.
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"dst", b"1", &p, b"REPLACE", b"ABSTTL"]), "+OK\r\n");
        assert!(srv.db[0].dict.get(b"dst".as_slice()).is_none());
        assert_eq!(c.argv.get(0), b"DEL");
        assert_eq!(srv.dirty, 3);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"dst", b"1", &p, b"ABSTTL"]), "+OK\r\n");
        assert!(srv.db[0].dict.get(b"dst".as_slice()).is_none());
        assert_eq!(srv.dirty, 3, "nothing deleted, nothing changed");
    }

    #[test]
    fn empty_body_is_bad_data_format() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let mut p = Vec::new();
        append_dump_footer(&mut p);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &p]), "-ERR Bad data format\r\n");
        let mut unknown_type = b"\x08\x01x".to_vec();
        append_dump_footer(&mut unknown_type);
        assert_eq!(restore(&mut srv, &mut c, &[b"restore", b"k", b"0", &unknown_type]), "-ERR Bad data format\r\n");
        assert!(srv.db[0].dict.get(b"k".as_slice()).is_none());
    }
}

//! The keyspace: Redis's db.c. Each [`RedisDb`] holds the main dict (key -> value) and the
//! expires dict (key -> unix time in ms) that the active expire cycle samples.
//!
//! Commands reach keys only through the lookup functions here, which apply lazy expiry
//! (expire_if_needed) and update the LRU clock, and through the write helpers, which keep
//! `dirty` and the WATCH/notification hooks in one place. The generic keyspace commands
//! (DEL, EXISTS, SCAN, RENAME ...) live at the bottom, as in db.c.

use crate::dict::Dict;
use crate::object::{RObj, Sds, ValueRef};
use crate::server::Server;

/// Redis: server.h redisDb.
pub struct RedisDb {
    pub dict: Dict<Sds, RObj>,
    pub expires: Dict<Sds, i64>,
    pub id: usize,
    /// Average TTL of the keys the expire cycle sampled, for INFO keyspace avg_ttl.
    pub avg_ttl: i64,
    /// Where the active expire cycle continues its scan of `expires`.
    pub expires_cursor: u64,
}

impl RedisDb {
    pub fn new(id: usize) -> RedisDb {
        RedisDb { dict: Dict::new(), expires: Dict::new(), id, avg_ttl: 0, expires_cursor: 0 }
    }

    /// Redis: db.c getExpire(): -1 when the key has no TTL.
    pub fn get_expire(&self, key: &[u8]) -> i64 {
        self.expires.get(key).copied().unwrap_or(-1)
    }

    /// Redis: db.c removeExpire().
    pub fn remove_expire(&mut self, key: &[u8]) -> bool {
        self.expires.remove(key).is_some()
    }

    /// Redis: db.c setExpire(). The key must exist.
    pub fn set_expire(&mut self, key: &[u8], when_ms: i64) {
        match self.expires.find(key) {
            Some(when) => *when = when_ms,
            None => {
                let _ = self.expires.add(key.into(), when_ms);
            }
        }
    }

    /// Redis: db.c dbAdd(). The key must not exist.
    pub fn db_add(&mut self, key: &[u8], val: RObj) {
        if let Err((_, val)) = self.dict.add(key.into(), val) {
            // Callers check existence first; overwrite rather than lose the value.
            self.dict.insert(key.into(), val);
        }
    }

    /// Redis: db.c dbGenericDelete(): removes the key and its TTL.
    pub fn db_delete(&mut self, key: &[u8]) -> Option<RObj> {
        let (_, val) = self.dict.remove(key)?;
        self.expires.remove(key);
        Some(val)
    }

    /// Redis: db.c dbSize() equivalent.
    pub fn size(&self) -> usize {
        self.dict.len()
    }

    /// Redis: db.c emptyDbStructure() for one db.
    pub fn clear(&mut self) -> usize {
        let removed = self.dict.len();
        self.dict.clear();
        self.expires.clear();
        self.avg_ttl = 0;
        self.expires_cursor = 0;
        removed
    }
}

/// Redis: db.c keyIsExpired().
pub fn key_is_expired(srv: &Server, dbid: usize, key: &[u8]) -> bool {
    if srv.loading {
        return false;
    }
    let Some(db) = srv.db.get(dbid) else { return false };
    let when = db.get_expire(key);
    when >= 0 && when < srv.cmd_time_snapshot
}

/// Redis: db.c expireIfNeeded(): deletes the key if its time has passed; true if expired.
/// A replica reports the key as expired but waits for its master's DEL.
pub fn expire_if_needed(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    if !key_is_expired(srv, dbid, key) {
        return false;
    }
    // A replica leaves the deletion to its master's DEL; the master's own commands still
    // see the key (Redis: `server.current_client == server.master`).
    if srv.masterhost.is_some() {
        return !crate::replication::replica::current_client_is_master(srv);
    }
    // Any server while clients are paused reports the key as expired but does not delete
    // it (Redis: checkClientPauseTimeoutAndReturnIfPaused()).
    if srv.clients_are_paused() {
        return true;
    }
    delete_expired_key_and_propagate(srv, dbid, key);
    true
}

/// Redis: db.c deleteExpiredKeyAndPropagate().
pub fn delete_expired_key_and_propagate(srv: &mut Server, dbid: usize, key: &[u8]) {
    db_generic_delete(srv, dbid, key, srv.config.lazyfree_lazy_expire);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_EXPIRED, "expired", key, dbid);
    srv.stat_expiredkeys += 1;
    srv.signal_modified_key_no_client(dbid, key);
    srv.propagate_deletion(dbid, key, srv.config.lazyfree_lazy_expire);
}

/// Redis: db.c lookupKeyRead(): the key's value after lazy expiry, counting hits and misses.
pub fn lookup_key_read<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut RObj> {
    lookup_key(srv, dbid, key, LookupFlags::Read)
}

/// Redis: db.c lookupKeyWrite(): like a read but without touching the hit/miss stats.
pub fn lookup_key_write<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut RObj> {
    lookup_key(srv, dbid, key, LookupFlags::Write)
}

/// Redis: db.c lookupKeyReadOrReply(): on a miss, `on_miss` writes the reply.
pub fn lookup_key_read_or_reply<'a>(
    srv: &'a mut Server,
    dbid: usize,
    key: &[u8],
    reply: &mut crate::reply::Reply,
    on_miss: impl FnOnce(&mut crate::reply::Reply),
) -> Option<&'a mut RObj> {
    let found = lookup_key_read(srv, dbid, key);
    if found.is_none() {
        on_miss(reply);
    }
    found
}

/// Redis: db.c lookupKeyWriteOrReply().
pub fn lookup_key_write_or_reply<'a>(
    srv: &'a mut Server,
    dbid: usize,
    key: &[u8],
    reply: &mut crate::reply::Reply,
    on_miss: impl FnOnce(&mut crate::reply::Reply),
) -> Option<&'a mut RObj> {
    let found = lookup_key_write(srv, dbid, key);
    if found.is_none() {
        on_miss(reply);
    }
    found
}

/// Redis: LOOKUP_NONE / LOOKUP_WRITE / LOOKUP_NOTOUCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFlags {
    Read,
    Write,
    /// No LRU update, no stats (OBJECT, TYPE on behalf of other commands...).
    NoTouch,
    /// Redis: a read with LOOKUP_NOTOUCH: counts hits/misses, leaves the LRU/LFU data
    /// alone (EXISTS, TYPE, TTL, OBJECT, SCAN's TYPE filter).
    ReadNoTouch,
}

/// Redis: db.c lookupKey(). The key is hashed once when no key of the db has a TTL (Redis's
/// getExpire() answers -1 without a lookup then); else lazy expiry looks it up first.
pub fn lookup_key<'a>(srv: &'a mut Server, dbid: usize, key: &[u8], flags: LookupFlags) -> Option<&'a mut RObj> {
    let may_expire = srv.db.get(dbid).is_some_and(|db| !db.expires.is_empty());
    if may_expire && !key_exists_unexpired(srv, dbid, key) {
        count_miss(srv, flags);
        return None;
    }
    let clock = crate::object::AccessClock::of(srv);
    let touch = matches!(flags, LookupFlags::Read | LookupFlags::Write) && !srv.has_active_child();
    let counted = counts_hits_and_misses(flags);
    let Some(obj) = srv.db.get_mut(dbid).and_then(|db| db.dict.find(key)) else {
        srv.stat_keyspace_misses += u64::from(counted);
        return None;
    };
    srv.stat_keyspace_hits += u64::from(counted);
    if touch {
        clock.touch(obj);
    }
    Some(obj)
}

/// The lazy-expiry half of lookupKey(): false when the key is missing or has just expired
/// (and was deleted, on a master).
fn key_exists_unexpired(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    let exists = srv.db.get(dbid).is_some_and(|db| db.dict.contains_key(key));
    exists && !expire_if_needed(srv, dbid, key)
}

/// INFO keyspace_hits / keyspace_misses count reads only.
fn counts_hits_and_misses(flags: LookupFlags) -> bool {
    matches!(flags, LookupFlags::Read | LookupFlags::ReadNoTouch)
}

fn count_miss(srv: &mut Server, flags: LookupFlags) {
    if counts_hits_and_misses(flags) {
        srv.stat_keyspace_misses += 1;
    }
}

/// Redis: db.c setKey(): adds or overwrites, dropping the old TTL unless `keepttl`.
pub fn set_key(srv: &mut Server, dbid: usize, key: &[u8], mut val: RObj, keepttl: bool) {
    let clock = crate::object::AccessClock::of(srv);
    val.set_lru(clock.initial_lru());
    let Some(db) = srv.db.get_mut(dbid) else { return };
    let old = match db.dict.add_or_existing(key, || key.into(), val) {
        Ok(()) => None,
        // Redis: dbSetValue(): under LFU the new value inherits the access frequency.
        Err((mut val, slot)) => {
            if clock.lfu {
                val.set_lru(slot.lru());
            }
            Some(std::mem::replace(slot, val))
        }
    };
    if !keepttl {
        db.remove_expire(key);
    }
    let added = old.is_none();
    // Redis: dbSetValue() frees the old value with freeObjAsync() under lazyfree-lazy-server-del.
    if let Some(old) = old.filter(|_| srv.config.lazyfree_lazy_server_del) {
        crate::lazyfree::free_obj_async(srv, old);
    }
    if added {
        // Redis: the "new" event of dbAdd().
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_NEW, "new", key, dbid);
    }
    srv.signal_modified_key(dbid, key);
    crate::blocked::signal_key_as_ready(srv, dbid, key);
}

/// Redis: db.c dbGenericDelete(): removes the key and its TTL. With `lazy` (dbAsyncDelete)
/// a big value is freed a slice at a time by lazyfree.rs, else (dbSyncDelete) right here.
pub fn db_generic_delete(srv: &mut Server, dbid: usize, key: &[u8], lazy: bool) -> bool {
    let Some(val) = srv.db.get_mut(dbid).and_then(|db| db.db_delete(key)) else { return false };
    signal_deleted_stream(srv, dbid, key, &val);
    if lazy {
        crate::lazyfree::free_obj_async(srv, val);
    }
    true
}

/// Redis 7.0: dbGenericDelete()'s "unblock any client using a blocking XREADGROUP": a
/// reader of a deleted stream must fail instead of waiting on a key that is gone.
fn signal_deleted_stream(srv: &mut Server, dbid: usize, key: &[u8], val: &RObj) {
    if matches!(val.value(), ValueRef::Stream(_)) {
        crate::blocked::signal_key_as_ready(srv, dbid, key);
    }
}

/// Redis: db.c dbDelete(): lazy when lazyfree-lazy-server-del is set.
pub fn db_delete(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    db_generic_delete(srv, dbid, key, srv.config.lazyfree_lazy_server_del)
}

/// Redis: db.c dbExists() without expiry side effects beyond lazy deletion.
pub fn db_exists(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    lookup_key(srv, dbid, key, LookupFlags::NoTouch).is_some()
}

// ----------------------------------------------------------------------------------------
// Keyspace commands
// ----------------------------------------------------------------------------------------

use crate::networking::Client;
use crate::object as obj;
use crate::util;

/// Redis: shared.nokeyerr, shared.sameobjecterr.
const NO_SUCH_KEY_ERR: &str = "no such key";
const SAME_OBJECT_ERR: &str = "source and destination objects are the same";
const DB_INDEX_OUT_OF_RANGE_ERR: &str = "DB index is out of range";

/// Redis: db.c selectDb(). Err when the index is out of range.
#[allow(clippy::result_unit_err)] // Redis's C_OK / C_ERR
pub fn select_db(srv: &Server, c: &mut Client, id: i64) -> Result<(), ()> {
    c.db = db_index(srv, id).ok_or(())?;
    Ok(())
}

/// The db at `id`, when `id` is a valid index (selectDb()'s range check).
fn db_index(srv: &Server, id: i64) -> Option<usize> {
    usize::try_from(id).ok().filter(|&i| i < srv.db.len())
}

/// Redis: db.c selectCommand().
pub fn select_command(srv: &mut Server, c: &mut Client) {
    let Some(id) = obj::get_int_from_object_or_reply(&mut c.reply, c.argv.get(1), None) else { return };
    match select_db(srv, c, i64::from(id)) {
        Ok(()) => c.reply.add_reply_ok(),
        Err(()) => c.reply.add_reply_error(DB_INDEX_OUT_OF_RANGE_ERR),
    }
}

/// C `strcasecmp(arg, lit) == 0`: the argument is compared as a C string, so it ends at
/// its first NUL byte, as it does for Redis's option parsing.
fn arg_is(arg: &[u8], lit: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg.get(..end).is_some_and(|a| a.eq_ignore_ascii_case(lit.as_bytes()))
}

/// Redis: db.c getFlushCommandFlags(): Some(async) or None after a syntax error.
fn get_flush_command_flags(srv: &Server, c: &mut Client) -> Option<bool> {
    match c.argv.len() {
        1 => Some(srv.config.lazyfree_lazy_user_flush),
        2 if arg_is(c.argv.get(1), "sync") => Some(false),
        2 if arg_is(c.argv.get(1), "async") => Some(true),
        _ => {
            c.reply.add_reply_syntax_error();
            None
        }
    }
}

/// Redis: db.c emptyData() for the keyspace (`dbnum` None = every db): the number of keys
/// removed. With `async` the old tables are freed a slice at a time by lazyfree.rs.
pub fn empty_data(srv: &mut Server, dbnum: Option<usize>, async_: bool) -> u64 {
    let range = match dbnum {
        Some(id) if id < srv.db.len() => id..id + 1,
        Some(_) => return 0,
        None => 0..srv.db.len(),
    };
    let mut removed = 0u64;
    // Redis: signalFlushedDb(): tracking clients are told everything is gone.
    crate::tracking::tracking_invalidate_keys_on_flush(srv, async_);
    for id in range {
        // Redis: signalFlushedDb(): WATCHed keys of the emptied db are touched first.
        srv.touch_all_watched_keys_in_db(id, None);
        let keys = if async_ { crate::lazyfree::empty_db_async(srv, id) } else { srv.db[id].clear() };
        // Redis: signalFlushedDb() -> scanDatabaseForDeletedStreams().
        crate::blocked::scan_database_for_ready_keys(srv, id);
        removed += keys as u64;
    }
    removed
}

/// Redis: db.c flushdbCommand().
pub fn flushdb_command(srv: &mut Server, c: &mut Client) {
    let Some(lazy) = get_flush_command_flags(srv, c) else { return };
    srv.dirty += empty_data(srv, Some(c.db), lazy);
    // Replicas flush too, even when there was nothing here to remove.
    crate::replication::propagate::force_command_propagation(c);
    c.reply.add_reply_ok();
}

/// Redis: db.c flushallCommand().
pub fn flushall_command(srv: &mut Server, c: &mut Client) {
    let Some(lazy) = get_flush_command_flags(srv, c) else { return };
    flush_all_data_and_reset_rdb(srv, lazy);
    // Replicas flush too, even when there was nothing here to remove.
    crate::replication::propagate::force_command_propagation(c);
    c.reply.add_reply_ok();
}

/// Redis: db.c flushAllDataAndResetRDB(): empties every db, then kills an RDB child and,
/// when `save` points are configured, saves the empty dataset (rdb/background.rs).
pub fn flush_all_data_and_reset_rdb(srv: &mut Server, lazy: bool) {
    srv.dirty += empty_data(srv, None, lazy);
    crate::rdb::background::flush_reset_rdb(srv);
}

/// Redis: db.c delGenericCommand(). With `lazy` (UNLINK) big values go to lazyfree.rs.
fn del_generic_command(srv: &mut Server, c: &mut Client, lazy: bool) {
    let dbid = c.db;
    let mut numdel = 0;
    for key in c.argv.iter().skip(1) {
        expire_if_needed(srv, dbid, key);
        if db_generic_delete(srv, dbid, key, lazy) {
            srv.signal_modified_key(dbid, key);
            crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", key, dbid);
            srv.dirty += 1;
            numdel += 1;
        }
    }
    c.reply.add_reply_long_long(numdel);
}

/// Redis: db.c delCommand().
pub fn del_command(srv: &mut Server, c: &mut Client) {
    let lazy = srv.config.lazyfree_lazy_user_del;
    del_generic_command(srv, c, lazy);
}

/// Redis: db.c unlinkCommand().
pub fn unlink_command(srv: &mut Server, c: &mut Client) {
    del_generic_command(srv, c, true);
}

/// Redis: db.c existsCommand(): counts every argument, duplicates included.
pub fn exists_command(srv: &mut Server, c: &mut Client) {
    let count = c.argv.iter().skip(1).filter(|key| lookup_key(srv, c.db, key, LookupFlags::ReadNoTouch).is_some()).count();
    c.reply.add_reply_long_long(count as i64);
}

/// Redis: db.c touchCommand(): a read lookup (LRU/LFU update) per argument.
pub fn touch_command(srv: &mut Server, c: &mut Client) {
    let touched = c.argv.iter().skip(1).filter(|key| lookup_key_read(srv, c.db, key).is_some()).count();
    c.reply.add_reply_long_long(touched as i64);
}

/// Redis: db.c dbRandomKey(): a fair random key that is not expired. On a replica expired
/// keys stay (the master deletes them), so when every key is volatile it gives up after
/// 100 tries and returns a possibly expired key rather than loop forever.
pub fn db_random_key(srv: &mut Server, dbid: usize) -> Option<Vec<u8>> {
    let db = srv.db.get(dbid)?;
    let allvolatile = db.dict.len() == db.expires.len();
    let mut maxtries = 100;
    loop {
        let key = srv.db.get_mut(dbid)?.dict.fair_random_entry()?.0.to_vec();
        if srv.db[dbid].expires.contains_key(&key) {
            if allvolatile && srv.masterhost.is_some() {
                maxtries -= 1;
                if maxtries == 0 {
                    return Some(key);
                }
            }
            if expire_if_needed(srv, dbid, &key) {
                continue;
            }
        }
        return Some(key);
    }
}

/// Redis: db.c randomkeyCommand().
pub fn randomkey_command(srv: &mut Server, c: &mut Client) {
    match db_random_key(srv, c.db) {
        Some(key) => c.reply.add_reply_bulk(&key),
        None => c.reply.add_reply_null(),
    }
}

/// Redis: db.c keysCommand(): every matching key whose TTL has not passed. Expired keys
/// are skipped but not deleted (no lazy expiry here, as in Redis).
pub fn keys_command(srv: &mut Server, c: &mut Client) {
    let pattern = c.argv.get(1);
    let allkeys = pattern == b"*";
    let srv: &Server = srv;
    let Some(db) = srv.db.get(c.db) else { return c.reply.add_reply_array_len(0) };
    let keys: Vec<&[u8]> = db
        .dict
        .keys()
        .map(|k| &k[..])
        .filter(|k| allkeys || util::string_match_len(pattern, k, false))
        .filter(|k| !key_is_expired(srv, c.db, k))
        .collect();
    c.reply.add_reply_array_len(keys.len());
    for key in keys {
        c.reply.add_reply_bulk(key);
    }
}

/// Redis: db.c parseScanCursorOrReply(): strtoul() rules — no leading space, an optional
/// sign ("-1" wraps to the largest cursor), base 10, no overflow, and nothing after the
/// digits up to the first NUL (so "" is cursor 0, like strtoul with no digits).
pub fn parse_scan_cursor_or_reply(c: &mut Client, idx: usize) -> Option<u64> {
    let cursor = parse_scan_cursor(c.argv.get(idx));
    if cursor.is_none() {
        c.reply.add_reply_error("invalid cursor");
    }
    cursor
}

fn parse_scan_cursor(arg: &[u8]) -> Option<u64> {
    if arg.first().is_some_and(|&b| util::is_c_space(b)) {
        return None;
    }
    let s = &arg[..memchr::memchr(0, arg).unwrap_or(arg.len())];
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        // strtoul converted nothing: the end pointer stays at the start of the string.
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// The options of SCAN and the *SCAN commands (Redis parses them in scanGenericCommand()).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    pub count: i64,
    /// None when absent or exactly "*" (which matches everything).
    pub pattern: Option<Vec<u8>>,
    /// SCAN only: the TYPE filter.
    pub typename: Option<Vec<u8>>,
}

/// Redis: step 1 of scanGenericCommand(): COUNT, MATCH and (for the keyspace) TYPE from
/// argument `first` on. Replies with the error and returns None on bad input.
pub fn parse_scan_options(c: &mut Client, first: usize, allow_type: bool) -> Option<ScanOptions> {
    let mut opts = ScanOptions { count: 10, pattern: None, typename: None };
    let mut i = first;
    while i < c.argv.len() {
        let (opt, value) = (c.argv.get(i), c.argv.get(i + 1));
        let has_value = c.argv.len() - i >= 2;
        if arg_is(opt, "count") && has_value {
            opts.count = obj::get_long_from_object_or_reply(&mut c.reply, value, None)?;
            if opts.count < 1 {
                c.reply.add_reply_syntax_error();
                return None;
            }
        } else if arg_is(opt, "match") && has_value {
            opts.pattern = (value != b"*").then(|| value.to_vec());
        } else if arg_is(opt, "type") && allow_type && has_value {
            opts.typename = Some(value.to_vec());
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        i += 2;
    }
    Some(opts)
}

/// Redis: db.c scanCommand().
pub fn scan_command(srv: &mut Server, c: &mut Client) {
    let Some(cursor) = parse_scan_cursor_or_reply(c, 1) else { return };
    let Some(opts) = parse_scan_options(c, 2, true) else { return };
    let (cursor, keys) = scan_keyspace(srv, c.db, cursor, &opts);
    // Redis replies with addReplyBulkLongLong(), so cursors above i64::MAX print negative.
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk_long_long(cursor as i64);
    c.reply.add_reply_array_len(keys.len());
    for key in &keys {
        c.reply.add_reply_bulk(key);
    }
}

/// Redis: scanGenericCommand() steps 2 and 3 on a db: collect with dictScan() until COUNT
/// keys or 10*COUNT calls, then drop keys failing MATCH or TYPE and expired ones.
pub fn scan_keyspace(srv: &mut Server, dbid: usize, cursor: u64, opts: &ScanOptions) -> (u64, Vec<Vec<u8>>) {
    let Some(db) = srv.db.get(dbid) else { return (0, Vec::new()) };
    let count = usize::try_from(opts.count).unwrap_or(usize::MAX);
    let mut maxiterations = opts.count.saturating_mul(10);
    let mut keys: Vec<Vec<u8>> = Vec::new();
    let mut cursor = cursor;
    loop {
        cursor = db.dict.scan(cursor, |k, _| keys.push(k.to_vec()));
        // Redis: `while (cursor && maxiterations-- && listLength(keys) < count)`.
        let more_iterations = maxiterations != 0;
        maxiterations -= 1;
        if cursor == 0 || !more_iterations || keys.len() >= count {
            break;
        }
    }
    keys.retain(|key| scan_keeps_key(srv, dbid, key, opts));
    (cursor, keys)
}

/// Redis: the filters of scanGenericCommand() step 3, in its order. The TYPE check is a
/// lookup (which may expire the key; a vanished key has type "none").
fn scan_keeps_key(srv: &mut Server, dbid: usize, key: &[u8], opts: &ScanOptions) -> bool {
    if let Some(pattern) = &opts.pattern {
        if !util::string_match_len(pattern, key, false) {
            return false;
        }
    }
    if let Some(typename) = &opts.typename {
        let found = lookup_key(srv, dbid, key, LookupFlags::ReadNoTouch);
        if !arg_is(typename, get_object_type_name(found.as_deref())) {
            return false;
        }
    }
    !expire_if_needed(srv, dbid, key)
}

/// Redis: db.c dbsizeCommand(): keys whose TTL passed count until they are reclaimed.
pub fn dbsize_command(srv: &mut Server, c: &mut Client) {
    let size = srv.db.get(c.db).map_or(0, |db| db.size());
    c.reply.add_reply_long_long(size as i64);
}

/// Redis: db.c getObjectTypeName().
pub fn get_object_type_name(o: Option<&RObj>) -> &'static str {
    o.map_or("none", RObj::type_name)
}

/// Redis: db.c typeCommand().
pub fn type_command(srv: &mut Server, c: &mut Client) {
    let found = lookup_key(srv, c.db, c.argv.get(1), LookupFlags::ReadNoTouch);
    c.reply.add_reply_status(get_object_type_name(found.as_deref()));
}

/// Redis: db.c renameGenericCommand(). Renaming a key to itself checks it exists and
/// changes nothing (RENAME answers OK, RENAMENX 0).
fn rename_generic_command(srv: &mut Server, c: &mut Client, nx: bool) {
    let dbid = c.db;
    let (src, dst) = (c.argv.get(1), c.argv.get(2));
    if lookup_key_write(srv, dbid, src).is_none() {
        return c.reply.add_reply_error(NO_SUCH_KEY_ERR);
    }
    if src == dst {
        return if nx { c.reply.add_reply_long_long(0) } else { c.reply.add_reply_ok() };
    }
    let expire = srv.db[dbid].get_expire(src);
    if lookup_key_write(srv, dbid, dst).is_some() {
        if nx {
            return c.reply.add_reply_long_long(0);
        }
        db_delete(srv, dbid, dst);
    }
    if let Some(val) = srv.db[dbid].db_delete(src) {
        db_add_with_expire(srv, dbid, dst, val, expire);
    }
    srv.signal_modified_key(dbid, src);
    srv.signal_modified_key(dbid, dst);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "rename_from", src, dbid);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "rename_to", dst, dbid);
    srv.dirty += 1;
    if nx { c.reply.add_reply_long_long(1) } else { c.reply.add_reply_ok() }
}

/// Redis: db.c renameCommand().
pub fn rename_command(srv: &mut Server, c: &mut Client) {
    rename_generic_command(srv, c, false);
}

/// Redis: db.c renamenxCommand().
pub fn renamenx_command(srv: &mut Server, c: &mut Client) {
    rename_generic_command(srv, c, true);
}

/// Parses a DB index argument like MOVE and COPY do: getIntFromObjectOrReply() then
/// selectDb()'s range check.
fn parse_db_index_or_reply(srv: &Server, c: &mut Client, idx: usize) -> Option<usize> {
    let id = obj::get_int_from_object_or_reply(&mut c.reply, c.argv.get(idx), None)?;
    let dbid = db_index(srv, i64::from(id));
    if dbid.is_none() {
        c.reply.add_reply_error(DB_INDEX_OUT_OF_RANGE_ERR);
    }
    dbid
}

/// Redis: db.c moveCommand(): 1 when moved, 0 when the key is missing here or exists there.
pub fn move_command(srv: &mut Server, c: &mut Client) {
    let srcid = c.db;
    let Some(dstid) = parse_db_index_or_reply(srv, c, 2) else { return };
    if srcid == dstid {
        return c.reply.add_reply_error(SAME_OBJECT_ERR);
    }
    let key = c.argv.get(1);
    if lookup_key_write(srv, srcid, key).is_none() {
        return c.reply.add_reply_long_long(0);
    }
    let expire = srv.db[srcid].get_expire(key);
    if lookup_key_write(srv, dstid, key).is_some() {
        return c.reply.add_reply_long_long(0);
    }
    if let Some(val) = srv.db[srcid].db_delete(key) {
        signal_deleted_stream(srv, srcid, key, &val);
        db_add_with_expire(srv, dstid, key, val, expire);
    }
    srv.signal_modified_key(srcid, key);
    srv.signal_modified_key(dstid, key);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "move_from", key, srcid);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "move_to", key, dstid);
    srv.dirty += 1;
    c.reply.add_reply_long_long(1);
}

/// COPY's options: the destination db and REPLACE.
struct CopyOptions {
    dstid: usize,
    replace: bool,
}

/// Redis: the option loop of copyCommand().
fn parse_copy_options(srv: &Server, c: &mut Client) -> Option<CopyOptions> {
    let mut opts = CopyOptions { dstid: c.db, replace: false };
    let mut j = 3;
    while j < c.argv.len() {
        let additional = c.argv.len() - j - 1;
        if arg_is(c.argv.get(j), "replace") {
            opts.replace = true;
        } else if arg_is(c.argv.get(j), "db") && additional >= 1 {
            opts.dstid = parse_db_index_or_reply(srv, c, j + 1)?;
            j += 1;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    Some(opts)
}

/// Redis: db.c copyCommand(): a fresh copy of the value (and its TTL) under the new name.
pub fn copy_command(srv: &mut Server, c: &mut Client) {
    let Some(opts) = parse_copy_options(srv, c) else { return };
    let (srcid, dstid) = (c.db, opts.dstid);
    let (key, newkey) = (c.argv.get(1), c.argv.get(2));
    if srcid == dstid && key == newkey {
        return c.reply.add_reply_error(SAME_OBJECT_ERR);
    }
    let clock = obj::AccessClock::of(srv);
    let Some(o) = lookup_key_read(srv, srcid, key) else { return c.reply.add_reply_long_long(0) };
    let newobj = dup_object(o, clock.initial_lru());
    let expire = srv.db[srcid].get_expire(key);
    if lookup_key_write(srv, dstid, newkey).is_some() {
        if !opts.replace {
            return c.reply.add_reply_long_long(0);
        }
        db_delete(srv, dstid, newkey);
    }
    db_add_with_expire(srv, dstid, newkey, newobj, expire);
    srv.signal_modified_key(dstid, newkey);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "copy_to", newkey, dstid);
    srv.dirty += 1;
    c.reply.add_reply_long_long(1);
}

/// Redis: the per-type duplication of copyCommand() (dupStringObject() ...). A cloned Vec
/// holds exactly its bytes, like the sdsnewlen() of a fresh raw copy.
fn dup_object(o: &RObj, lru: u32) -> RObj {
    let mut copy = o.clone();
    copy.set_lru(lru);
    copy
}

/// Redis: db.c dbSwapDatabases(): swaps the data of two dbs (not their ids, nor what
/// clients wait or watch on there, which stays with the index).
#[allow(clippy::result_unit_err)] // Redis's C_OK / C_ERR
pub fn db_swap_databases(srv: &mut Server, id1: usize, id2: usize) -> Result<(), ()> {
    if id1 >= srv.db.len() || id2 >= srv.db.len() {
        return Err(());
    }
    if id1 == id2 {
        return Ok(());
    }
    srv.touch_all_watched_keys_in_db(id1, Some(id2));
    srv.touch_all_watched_keys_in_db(id2, Some(id1));
    let (lo, hi) = (id1.min(id2), id1.max(id2));
    let (head, tail) = srv.db.split_at_mut(hi);
    let (a, b) = (&mut head[lo], &mut tail[0]);
    std::mem::swap(&mut a.dict, &mut b.dict);
    std::mem::swap(&mut a.expires, &mut b.expires);
    std::mem::swap(&mut a.avg_ttl, &mut b.avg_ttl);
    std::mem::swap(&mut a.expires_cursor, &mut b.expires_cursor);
    // Redis: scanDatabaseForReadyKeys() + scanDatabaseForDeletedStreams() for both dbs:
    // clients waiting there may now find data, or find their stream gone.
    crate::blocked::scan_database_for_ready_keys(srv, id1);
    crate::blocked::scan_database_for_ready_keys(srv, id2);
    Ok(())
}

/// Redis: db.c swapdbCommand().
pub fn swapdb_command(srv: &mut Server, c: &mut Client) {
    let Some(id1) = obj::get_int_from_object_or_reply(&mut c.reply, c.argv.get(1), Some("invalid first DB index"))
    else {
        return;
    };
    let Some(id2) = obj::get_int_from_object_or_reply(&mut c.reply, c.argv.get(2), Some("invalid second DB index"))
    else {
        return;
    };
    let ids = (usize::try_from(id1), usize::try_from(id2));
    let swapped = match ids {
        (Ok(a), Ok(b)) => db_swap_databases(srv, a, b),
        _ => Err(()),
    };
    match swapped {
        Ok(()) => {
            srv.dirty += 1;
            c.reply.add_reply_ok();
        }
        Err(()) => c.reply.add_reply_error(DB_INDEX_OUT_OF_RANGE_ERR),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_support::{run_command as run, test_server};

    fn set(srv: &mut Server, dbid: usize, key: &str, val: &str) {
        set_key(srv, dbid, key.as_bytes(), RObj::string_from(val.as_bytes(), 0), false);
    }

    #[test]
    fn scan_cursor_follows_strtoul() {
        assert_eq!(parse_scan_cursor(b"0"), Some(0));
        assert_eq!(parse_scan_cursor(b""), Some(0));
        assert_eq!(parse_scan_cursor(b"+7"), Some(7));
        assert_eq!(parse_scan_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"007"), Some(7));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_scan_cursor(b" 1"), None);
        assert_eq!(parse_scan_cursor(b"1 "), None);
        assert_eq!(parse_scan_cursor(b"-"), None);
        assert_eq!(parse_scan_cursor(b"0x1"), None);
        // The C string ends at the NUL.
        assert_eq!(parse_scan_cursor(b"12\0junk"), Some(12));
    }

    #[test]
    fn del_exists_and_dirty() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        set(&mut srv, 0, "a", "1");
        set(&mut srv, 0, "b", "2");
        assert_eq!(run(&mut srv, &mut c, exists_command, &["exists", "a", "a", "x", "b"]), ":3\r\n");
        let dirty = srv.dirty;
        assert_eq!(run(&mut srv, &mut c, del_command, &["del", "a", "a", "x"]), ":1\r\n");
        assert_eq!(srv.dirty, dirty + 1);
        assert_eq!(run(&mut srv, &mut c, unlink_command, &["unlink", "b"]), ":1\r\n");
        assert_eq!(srv.db[0].size(), 0);
    }

    #[test]
    fn expired_keys_count_in_dbsize_until_reclaimed() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        set(&mut srv, 0, "gone", "v");
        set(&mut srv, 0, "stay", "v");
        srv.db[0].set_expire(b"gone", srv.cmd_time_snapshot - 10);
        assert_eq!(run(&mut srv, &mut c, dbsize_command, &["dbsize"]), ":2\r\n");
        // KEYS skips it without deleting it.
        assert_eq!(run(&mut srv, &mut c, keys_command, &["keys", "*"]), "*1\r\n$4\r\nstay\r\n");
        assert_eq!(srv.db[0].size(), 2);
        // RANDOMKEY never answers the expired key (it deletes it when it draws it).
        for _ in 0..20 {
            assert_eq!(run(&mut srv, &mut c, randomkey_command, &["randomkey"]), "$4\r\nstay\r\n");
        }
        assert_eq!(run(&mut srv, &mut c, exists_command, &["exists", "gone"]), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, dbsize_command, &["dbsize"]), ":1\r\n");
        assert_eq!(srv.stat_expiredkeys, 1);
    }

    #[test]
    fn scan_filters_expired_and_type() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        set(&mut srv, 0, "gone", "v");
        srv.db[0].set_expire(b"gone", srv.cmd_time_snapshot - 10);
        assert_eq!(run(&mut srv, &mut c, scan_command, &["scan", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(srv.db[0].size(), 0);
        set(&mut srv, 0, "s", "v");
        assert_eq!(run(&mut srv, &mut c, scan_command, &["scan", "0", "type", "STRING"]), "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n");
        assert_eq!(run(&mut srv, &mut c, scan_command, &["scan", "0", "type", "list"]), "*2\r\n$1\r\n0\r\n*0\r\n");
        assert_eq!(run(&mut srv, &mut c, scan_command, &["scan", "0", "count", "0"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut srv, &mut c, scan_command, &["scan", "x"]), "-ERR invalid cursor\r\n");
    }

    #[test]
    fn scan_returns_every_key_across_calls() {
        let mut srv = test_server();
        for i in 0..1000 {
            set(&mut srv, 0, &format!("k{i}"), "v");
        }
        let opts = ScanOptions { count: 7, pattern: None, typename: None };
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            let (next, keys) = scan_keyspace(&mut srv, 0, cursor, &opts);
            seen.extend(keys);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn rename_keeps_ttl_and_handles_same_key() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, rename_command, &["rename", "x", "x"]), "-ERR no such key\r\n");
        set(&mut srv, 0, "a", "1");
        let when = srv.cmd_time_snapshot + 100_000;
        srv.db[0].set_expire(b"a", when);
        assert_eq!(run(&mut srv, &mut c, renamenx_command, &["renamenx", "a", "a"]), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, rename_command, &["rename", "a", "a"]), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, rename_command, &["rename", "a", "b"]), "+OK\r\n");
        assert_eq!(srv.db[0].get_expire(b"b"), when);
        assert!(srv.db[0].dict.get(b"a".as_slice()).is_none());
        set(&mut srv, 0, "c", "3");
        assert_eq!(run(&mut srv, &mut c, renamenx_command, &["renamenx", "b", "c"]), ":0\r\n");
    }

    #[test]
    fn move_copy_and_swapdb() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        set(&mut srv, 0, "a", "hello");
        assert_eq!(run(&mut srv, &mut c, move_command, &["move", "a", "0"]), "-ERR source and destination objects are the same\r\n");
        assert_eq!(run(&mut srv, &mut c, move_command, &["move", "a", "16"]), "-ERR DB index is out of range\r\n");
        assert_eq!(
            run(&mut srv, &mut c, move_command, &["move", "a", "99999999999"]),
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n"
        );
        assert_eq!(run(&mut srv, &mut c, move_command, &["move", "a", "1"]), ":1\r\n");
        assert!(srv.db[1].dict.get(b"a".as_slice()).is_some());
        c.db = 1;
        assert_eq!(run(&mut srv, &mut c, copy_command, &["copy", "a", "b", "db", "2"]), ":1\r\n");
        assert_eq!(run(&mut srv, &mut c, copy_command, &["copy", "a", "b", "db", "2"]), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, copy_command, &["copy", "a", "b", "db", "2", "replace"]), ":1\r\n");
        assert_eq!(run(&mut srv, &mut c, copy_command, &["copy", "a", "b", "db"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut srv, &mut c, swapdb_command, &["swapdb", "1", "2"]), "+OK\r\n");
        assert!(srv.db[1].dict.get(b"b".as_slice()).is_some());
        assert!(srv.db[2].dict.get(b"a".as_slice()).is_some());
        assert_eq!((srv.db[1].id, srv.db[2].id), (1, 2));
        assert_eq!(run(&mut srv, &mut c, swapdb_command, &["swapdb", "x", "2"]), "-ERR invalid first DB index\r\n");
        assert_eq!(run(&mut srv, &mut c, swapdb_command, &["swapdb", "1", "16"]), "-ERR DB index is out of range\r\n");
    }

    #[test]
    fn flush_counts_dirty_and_parses_flags() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        set(&mut srv, 0, "a", "1");
        set(&mut srv, 3, "b", "1");
        set(&mut srv, 3, "c", "1");
        let dirty = srv.dirty;
        assert_eq!(run(&mut srv, &mut c, flushall_command, &["flushall", "foo"]), "-ERR syntax error\r\n");
        assert_eq!(run(&mut srv, &mut c, flushdb_command, &["flushdb", "ASYNC"]), "+OK\r\n");
        assert_eq!(srv.dirty, dirty + 1);
        assert_eq!(run(&mut srv, &mut c, flushall_command, &["flushall", "sync\0x"]), "+OK\r\n");
        assert_eq!(srv.dirty, dirty + 3);
        assert_eq!(srv.db[3].size(), 0);
    }
}

/// Redis: dbAdd() + setExpire() as RENAME, MOVE and COPY use them: the value arrives
/// with the TTL it had (-1 for none), with dbAdd's "new" event and ready signal.
fn db_add_with_expire(srv: &mut Server, dbid: usize, key: &[u8], val: RObj, expire: i64) {
    db_add(srv, dbid, key, val);
    if expire != -1 {
        if let Some(db) = srv.db.get_mut(dbid) {
            db.set_expire(key, expire);
        }
    }
}

/// Redis: db.c dbAdd(): adds a new key and tells blocked clients it may be ready. The key
/// must not exist (RedisDb::db_add is the bare insert).
pub fn db_add(srv: &mut Server, dbid: usize, key: &[u8], val: RObj) {
    if let Some(db) = srv.db.get_mut(dbid) {
        db.db_add(key, val);
    }
    crate::blocked::signal_key_as_ready(srv, dbid, key);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_NEW, "new", key, dbid);
}

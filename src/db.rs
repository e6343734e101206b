//! The keyspace: Redis's db.c. Each [`RedisDb`] holds the main dict (key -> value) and the
//! expires dict (key -> unix time in ms) that the active expire cycle samples.
//!
//! Commands reach keys only through the lookup functions here, which apply lazy expiry
//! (expire_if_needed) and update the LRU clock, and through the write helpers, which keep
//! `dirty` and the WATCH/notification hooks in one place. The generic keyspace commands
//! (DEL, EXISTS, SCAN, RENAME ...) live at the bottom, as in db.c.

use crate::dict::Dict;
use crate::object::{RObj, Sds};
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
    if srv.masterhost.is_some() {
        return true;
    }
    delete_expired_key_and_propagate(srv, dbid, key);
    true
}

/// Redis: db.c deleteExpiredKeyAndPropagate().
pub fn delete_expired_key_and_propagate(srv: &mut Server, dbid: usize, key: &[u8]) {
    if let Some(db) = srv.db.get_mut(dbid) {
        db.db_delete(key);
    }
    srv.stat_expiredkeys += 1;
    srv.signal_modified_key(dbid, key);
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

/// Redis: LOOKUP_NONE / LOOKUP_WRITE / LOOKUP_NOTOUCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFlags {
    Read,
    Write,
    /// No LRU update, no stats (OBJECT, TYPE on behalf of other commands...).
    NoTouch,
}

/// Redis: db.c lookupKey().
pub fn lookup_key<'a>(srv: &'a mut Server, dbid: usize, key: &[u8], flags: LookupFlags) -> Option<&'a mut RObj> {
    let exists = srv.db.get(dbid).map_or(false, |db| db.dict.get(key).is_some());
    let expired = exists && expire_if_needed(srv, dbid, key);
    let found = exists && !expired;
    if flags == LookupFlags::Read {
        if found {
            srv.stat_keyspace_hits += 1;
        } else {
            srv.stat_keyspace_misses += 1;
        }
    }
    if !found {
        return None;
    }
    let lru = srv.lru_clock;
    let touch = flags != LookupFlags::NoTouch && !srv.has_active_child();
    let obj = srv.db.get_mut(dbid)?.dict.find(key)?;
    if touch {
        obj.lru = lru;
    }
    Some(obj)
}

/// Redis: db.c setKey(): adds or overwrites, dropping the old TTL unless `keepttl`.
pub fn set_key(srv: &mut Server, dbid: usize, key: &[u8], mut val: RObj, keepttl: bool) {
    val.lru = srv.lru_clock;
    let Some(db) = srv.db.get_mut(dbid) else { return };
    match db.dict.find(key) {
        Some(slot) => *slot = val,
        None => db.db_add(key, val),
    }
    if !keepttl {
        db.remove_expire(key);
    }
    srv.signal_modified_key(dbid, key);
}

/// Redis: db.c dbExists() without expiry side effects beyond lazy deletion.
pub fn db_exists(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    lookup_key(srv, dbid, key, LookupFlags::NoTouch).is_some()
}

// ----------------------------------------------------------------------------------------
// Keyspace commands
// ----------------------------------------------------------------------------------------

/// Redis: db.c selectDb(). Err when the index is out of range.
pub fn select_db(srv: &Server, c: &mut crate::networking::Client, id: i64) -> Result<(), ()> {
    if id < 0 || id as usize >= srv.db.len() {
        return Err(());
    }
    c.db = id as usize;
    Ok(())
}

/// Redis: db.c selectCommand().
pub fn select_command(srv: &mut Server, c: &mut crate::networking::Client) {
    let Some(id) = crate::util::string2ll(c.argv.get(1)) else {
        return c.reply.add_reply_error("value is not an integer or out of range");
    };
    match select_db(srv, c, id) {
        Ok(()) => c.reply.add_reply_ok(),
        Err(()) => c.reply.add_reply_error("DB index is out of range"),
    }
}

//! The set type: Redis's t_set.c. A set is an intset (see intset.rs) while every member
//! is an integer and there are at most set-max-intset-entries of them, and a hash table of
//! member strings otherwise; Redis 7.0 has no listpack sets. A set never converts back to an
//! intset, but the results that SUNIONSTORE, SINTERSTORE, SDIFFSTORE and SPOP build start
//! out as intsets, as Redis's do, so their encoding depends only on their members.
//!
//! Intset replies come in ascending order; hash-table replies in dict order. Every command
//! runs to completion on the single-threaded event loop; sets never block anyone, so adding
//! a set key does not signal blocked clients (Redis 7.0's signalKeyAsReady ignores sets).

use crate::db::{self, LookupFlags};
use crate::debug::{xor_digest, Digest};
use crate::dict::{self, Dict};
use crate::intset::{Intset, IntsetIter};
use crate::networking::{self, Client, CLIENT_CLOSE_ASAP};
use crate::object::{self as obj, AccessClock, RObj, Sds, StrValue, Value, ValueRef, ValueMut};
use crate::reply::Reply;
use crate::server::Server;
use crate::util;

/// Redis: the cap setTypeAdd() puts on set-max-intset-entries (intset internals).
const MAX_INTSET_ENTRIES_CAP: usize = 1 << 30;
/// Redis: SPOP_MOVE_STRATEGY_MUL.
const SPOP_MOVE_STRATEGY_MUL: u64 = 5;
/// Redis: SRANDMEMBER_SUB_STRATEGY_MUL.
const SRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;
/// How many random members SRANDMEMBER emits between output-buffer limit checks.
const REPLY_LIMIT_CHECK_EVERY: u64 = 1024;
/// Redis: shared.emptyscan.
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

/// A set value with its encoding (Redis: OBJ_SET with OBJ_ENCODING_INTSET / _HT).
#[derive(Debug)]
pub enum SetValue {
    Intset(Intset),
    /// Members are the keys; there are no values (Redis: setDictType). Boxed so that an
    /// intset's value is 32 bytes beside its array, not a dict's 80.
    Hashtable(Box<Dict<Sds, ()>>),
}

/// One member as the set stores it: an integer of an intset or a hash-table string
/// (Redis: the sdsele / llele pair setTypeNext() fills in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetMember<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl SetMember<'_> {
    /// Runs `f` on the member's string form (integers in decimal) without allocating.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            SetMember::Int(v) => f(util::ll2string(v).as_bytes()),
            SetMember::Str(s) => f(s),
        }
    }

    /// Redis: sdsfromlonglong() / sdsdup(): an owned copy of the string form.
    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(<[u8]>::to_vec)
    }

    /// Redis: addReplyBulkLongLong() or addReplyBulkCBuffer().
    pub fn add_reply(&self, reply: &mut Reply) {
        match *self {
            SetMember::Int(v) => reply.add_reply_bulk_long_long(v),
            SetMember::Str(s) => reply.add_reply_bulk(s),
        }
    }
}

/// Redis: setTypeIterator.
pub enum SetIter<'a> {
    Intset(IntsetIter<'a>),
    Hashtable(dict::Iter<'a, Sds, ()>),
}

impl<'a> Iterator for SetIter<'a> {
    type Item = SetMember<'a>;

    /// Redis: t_set.c setTypeNext().
    fn next(&mut self) -> Option<SetMember<'a>> {
        match self {
            SetIter::Intset(it) => it.next().map(SetMember::Int),
            SetIter::Hashtable(it) => it.next().map(|(k, _)| SetMember::Str(&k[..])),
        }
    }
}

impl Default for SetValue {
    /// Redis: object.c createIntsetObject().
    fn default() -> Self {
        SetValue::Intset(Intset::new())
    }
}

impl Clone for SetValue {
    /// Redis: t_set.c setTypeDup(): same encoding, a presized dict for hash tables.
    fn clone(&self) -> Self {
        match self {
            SetValue::Intset(is) => SetValue::Intset(is.clone()),
            SetValue::Hashtable(d) => {
                let mut copy = Dict::with_capacity(d.len());
                for (k, _) in d.iter() {
                    let _ = copy.add(k.clone(), ());
                }
                SetValue::Hashtable(Box::new(copy))
            }
        }
    }
}

impl PartialEq for SetValue {
    /// Same encoding and same members.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (SetValue::Intset(a), SetValue::Intset(b)) => a == b,
            (SetValue::Hashtable(a), SetValue::Hashtable(b)) => {
                a.len() == b.len() && a.keys().all(|k| b.contains_key(k))
            }
            (SetValue::Intset(_), SetValue::Hashtable(_)) | (SetValue::Hashtable(_), SetValue::Intset(_)) => false,
        }
    }
}

/// The set-max-intset-entries in force (Redis caps it at 2^30 in setTypeAdd()).
pub fn max_intset_entries(srv: &Server) -> usize {
    srv.config.set_max_intset_entries.min(MAX_INTSET_ENTRIES_CAP)
}

impl SetValue {
    /// Redis: t_set.c setTypeCreate(): an intset if `first` is an integer, else a hash table.
    pub fn create(first: &[u8]) -> SetValue {
        match util::string2ll(first) {
            Some(_) => SetValue::Intset(Intset::new()),
            None => SetValue::Hashtable(Box::default()),
        }
    }

    /// Redis: t_set.c setTypeAdd(): true when `value` was not a member. An intset turns
    /// into a hash table on its first non-integer or when it outgrows `max_intset`.
    pub fn add(&mut self, value: &[u8], max_intset: usize) -> bool {
        let is = match self {
            // The member is copied only when it is new.
            SetValue::Hashtable(d) => return d.add_or_existing(value, || value.into(), ()).is_ok(),
            SetValue::Intset(is) => is,
        };
        match util::string2ll(value) {
            Some(v) => {
                if !is.add(v) {
                    return false;
                }
                if is.len() > max_intset {
                    self.convert_to_hashtable();
                }
                true
            }
            None => {
                self.convert_to_hashtable();
                match self {
                    SetValue::Hashtable(d) => d.add(value.into(), ()).is_ok(),
                    SetValue::Intset(_) => false,
                }
            }
        }
    }

    /// setTypeAdd() of another set's member (Redis passes its string form).
    pub fn add_member(&mut self, m: SetMember, max_intset: usize) -> bool {
        m.with_bytes(|b| self.add(b, max_intset))
    }

    /// Redis: t_set.c setTypeRemove(): true when `value` was a member. A hash table
    /// shrinks when it gets too sparse.
    pub fn remove(&mut self, value: &[u8]) -> bool {
        match self {
            SetValue::Hashtable(d) => {
                if d.remove(value).is_none() {
                    return false;
                }
                if d.needs_resize() {
                    d.resize();
                }
                true
            }
            SetValue::Intset(is) => util::string2ll(value).is_some_and(|v| is.remove(v)),
        }
    }

    /// Redis: t_set.c setTypeIsMember().
    pub fn is_member(&self, value: &[u8]) -> bool {
        match self {
            SetValue::Hashtable(d) => d.contains_key(value),
            SetValue::Intset(is) => util::string2ll(value).is_some_and(|v| is.find(v)),
        }
    }

    /// setTypeIsMember() of another set's member; integers against an intset skip the
    /// string round trip, as sinterGenericCommand() does.
    pub fn contains_member(&self, m: SetMember) -> bool {
        match (self, m) {
            (SetValue::Intset(is), SetMember::Int(v)) => is.find(v),
            _ => m.with_bytes(|b| self.is_member(b)),
        }
    }

    /// Redis: t_set.c setTypeInitIterator(): intsets ascending, hash tables in dict order.
    pub fn iter(&self) -> SetIter<'_> {
        match self {
            SetValue::Intset(is) => SetIter::Intset(is.iter()),
            SetValue::Hashtable(d) => SetIter::Hashtable(d.iter()),
        }
    }

    /// Redis: t_set.c setTypeRandomElement() (dictGetFairRandomKey for hash tables).
    pub fn random_element(&mut self) -> Option<SetMember<'_>> {
        match self {
            SetValue::Intset(is) => is.random().map(SetMember::Int),
            SetValue::Hashtable(d) => d.fair_random_entry().map(|(k, _)| SetMember::Str(&k[..])),
        }
    }

    /// Redis: t_set.c setTypeConvert() to OBJ_ENCODING_HT, with a presized dict.
    pub fn convert_to_hashtable(&mut self) {
        let SetValue::Intset(is) = self else { return };
        let mut d: Dict<Sds, ()> = Dict::with_capacity(is.len());
        for v in is.iter() {
            let _ = d.add(util::ll2string(v).as_bytes().into(), ());
        }
        *self = SetValue::Hashtable(Box::new(d));
    }

    /// Redis: object.c strEncoding() for this type.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            SetValue::Intset(_) => "intset",
            SetValue::Hashtable(_) => "hashtable",
        }
    }

    /// Redis: t_set.c setTypeSize().
    pub fn len(&self) -> usize {
        match self {
            SetValue::Intset(is) => is.len(),
            SetValue::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: the OBJ_SET branch of debug.c xorObjectDigest(): members xored in, so the
    /// order (and the encoding) does not matter.
    pub fn digest_into(&self, digest: &mut Digest) {
        for m in self.iter() {
            m.with_bytes(|b| xor_digest(digest, b));
        }
    }

    /// Redis: the OBJ_SET branch of object.c objectComputeSize() (without the robj, which
    /// the caller adds): the intset blob, or the dict, its buckets and the average of the
    /// first `samples` entries (dictEntry + member sds) times the member count.
    pub fn compute_size(&self, samples: u64) -> usize {
        match self {
            SetValue::Intset(is) => obj::je_malloc_size(is.blob_len()),
            SetValue::Hashtable(d) => {
                let base = DICT_STRUCT_SIZE + POINTER_SIZE * d.slots();
                let sampled: Vec<usize> = d
                    .keys()
                    .take(usize::try_from(samples).unwrap_or(usize::MAX))
                    .map(|k| DICT_ENTRY_SIZE + sds_zmalloc_size(k.len()))
                    .collect();
                if sampled.is_empty() {
                    return base;
                }
                let avg = sampled.iter().sum::<usize>() as f64 / sampled.len() as f64;
                base + (avg * d.len() as f64) as usize
            }
        }
    }

    /// Redis: the OBJ_SET branch of rdb.c rdbSaveObject() as rdbSavedObjectLen() measures
    /// it: an intset is one string (the blob, maybe LZF-compressed); a hash table is its
    /// length then each member as a string.
    pub fn rdb_saved_len(&self, rdbcompression: bool) -> usize {
        match self {
            SetValue::Intset(is) => crate::debug::rdb_saved_string_len(&StrValue::Raw(Box::new(is.to_blob())), rdbcompression),
            SetValue::Hashtable(d) => d.keys().fold(rdb_len_size(d.len() as u64), |n, k| {
                n + crate::debug::rdb_saved_string_len(&StrValue::Raw(Box::new(k.to_vec())), rdbcompression)
            }),
        }
    }

    /// Redis: DEBUG HTSTATS-KEY: the dict stats when hash-table encoded.
    pub fn htstats(&self) -> Option<String> {
        match self {
            SetValue::Intset(_) => None,
            SetValue::Hashtable(d) => Some(d.stats()),
        }
    }

    /// Redis: lazyfree.c lazyfreeGetFreeEffort(): a hash table's member count; an intset
    /// is a single allocation.
    pub fn free_effort(&self) -> usize {
        match self {
            SetValue::Intset(_) => 1,
            SetValue::Hashtable(d) => d.len(),
        }
    }

    /// Frees up to `budget` members of a set that lazyfree.rs is releasing piecemeal and
    /// returns the work done: 0 once what is left goes at once with the value.
    pub fn free_some(&mut self, budget: usize) -> usize {
        match self {
            SetValue::Intset(_) => 0,
            SetValue::Hashtable(d) => d.free_some(budget),
        }
    }
}

/// Redis: sizeof(dict) in 7.0 (type, two tables, two counts, rehashidx, pause, exponents).
const DICT_STRUCT_SIZE: usize = 56;
/// Redis: sizeof(dictEntry) and of a bucket pointer.
const DICT_ENTRY_SIZE: usize = 24;
const POINTER_SIZE: usize = 8;

/// Redis: sdsZmallocSize() of a member made by sdsnewlen(): the smallest header for
/// its length (type 5 below 32 bytes, except the empty string), the bytes and a NUL.
fn sds_zmalloc_size(len: usize) -> usize {
    let hdr = match len {
        1..=31 => 1,
        0..=255 => 3,
        256..=65535 => 5,
        _ if len as u64 <= u64::from(u32::MAX) => 9,
        _ => 17,
    };
    obj::je_malloc_size(hdr + len + 1)
}

/// Redis: rdb.c rdbSaveLen()'s size: 1, 2, 5 or 9 bytes.
fn rdb_len_size(len: u64) -> usize {
    match len {
        0..=63 => 1,
        64..=16383 => 2,
        _ if len <= u64::from(u32::MAX) => 5,
        _ => 9,
    }
}

// ----------------------------------------------------------------------------------------
// Lookups
// ----------------------------------------------------------------------------------------

/// Redis: lookupKey*() + checkType(c,o,OBJ_SET): Some(true) for a set, Some(false) when
/// the key is missing, None after replying WRONGTYPE.
fn lookup_set(srv: &mut Server, dbid: usize, key: &[u8], flags: LookupFlags, reply: &mut Reply) -> Option<bool> {
    match db::lookup_key(srv, dbid, key, flags) {
        None => Some(false),
        Some(o) if matches!(o.value(), ValueRef::Set(_)) => Some(true),
        Some(_) => {
            reply.add_reply_wrong_type();
            None
        }
    }
}

/// lookupKeyWrite() of a set: the set itself, so that a write hashes its key once; Err
/// after the WRONGTYPE reply.
fn lookup_set_write<'a>(srv: &'a mut Server, dbid: usize, key: &[u8], reply: &mut Reply) -> Result<Option<&'a mut SetValue>, ()> {
    match db::lookup_key(srv, dbid, key, LookupFlags::Write) {
        None => Ok(None),
        Some(RObj::Set { v, .. }) => Ok(Some(v)),
        Some(_) => {
            reply.add_reply_wrong_type();
            Err(())
        }
    }
}

/// The set at `key`, already looked up (no expiry, no stats).
fn set_mut<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut SetValue> {
    match srv.db.get_mut(dbid)?.dict.find(key)?.value_mut() {
        ValueMut::Set(s) => Some(s),
        ValueMut::Str(_) | ValueMut::List(_) | ValueMut::Hash(_) | ValueMut::ZSet(_) | ValueMut::Stream(_) => None,
    }
}

fn set_ref<'a>(db: &'a db::RedisDb, key: &[u8]) -> Option<&'a SetValue> {
    match db.dict.get(key)?.value() {
        ValueRef::Set(s) => Some(s),
        ValueRef::Str(_) | ValueRef::List(_) | ValueRef::Hash(_) | ValueRef::ZSet(_) | ValueRef::Stream(_) => None,
    }
}

/// Redis: dbAdd() of a new set, with its "new" event.
fn db_add_set(srv: &mut Server, dbid: usize, key: &[u8], set: SetValue) {
    let lru = AccessClock::of(srv).initial_lru();
    db::db_add(srv, dbid, key, RObj::new(Value::Set(Box::new(set)), lru));
}

/// Redis: setKey() of a computed set (drops the old value and TTL).
fn set_key_to_set(srv: &mut Server, dbid: usize, key: &[u8], set: SetValue) {
    db::set_key(srv, dbid, key, RObj::new(Value::Set(Box::new(set)), 0), false);
}

/// Redis: dbDelete() + signalModifiedKey() + dirty++ when the key existed.
fn delete_key_if_exists(srv: &mut Server, dbid: usize, key: &[u8]) {
    if srv.db.get_mut(dbid).and_then(|db| db.db_delete(key)).is_some() {
        srv.signal_modified_key(dbid, key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", key, dbid);
        srv.dirty += 1;
    }
}

/// C `strcasecmp(arg, lit) == 0`: the C string ends at its first NUL.
fn arg_is(arg: &[u8], lit: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg.get(..end).is_some_and(|a| a.eq_ignore_ascii_case(lit.as_bytes()))
}

// ----------------------------------------------------------------------------------------
// SADD, SREM, SMOVE, SISMEMBER, SMISMEMBER, SCARD
// ----------------------------------------------------------------------------------------

/// Redis: t_set.c saddCommand().
pub fn sadd_command(srv: &mut Server, c: &mut Client) {
    let (dbid, max) = (c.db, max_intset_entries(srv));
    let key = c.argv.get(1);
    let set = match lookup_set_write(srv, dbid, key, &mut c.reply) {
        Err(()) => return,
        Ok(Some(set)) => set,
        Ok(None) => {
            db_add_set(srv, dbid, key, SetValue::create(c.argv.get(2)));
            let Some(set) = set_mut(srv, dbid, key) else { return };
            set
        }
    };
    let added = c.argv.iter().skip(2).filter(|m| set.add(m, max)).count();
    if added > 0 {
        srv.signal_modified_key(dbid, key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "sadd", key, dbid);
    }
    srv.dirty += added as u64;
    c.reply.add_reply_long_long(added as i64);
}

/// Redis: t_set.c sremCommand(): stops at the member that empties the set.
pub fn srem_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1);
    match lookup_set(srv, dbid, key, LookupFlags::Write, &mut c.reply) {
        None => return,
        Some(false) => return c.reply.add_reply_long_long(0),
        Some(true) => {}
    }
    let Some(set) = set_mut(srv, dbid, key) else { return };
    let (mut deleted, mut emptied) = (0u64, false);
    for member in c.argv.iter().skip(2) {
        if set.remove(member) {
            deleted += 1;
            if set.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        srv.db[dbid].db_delete(key);
    }
    if deleted > 0 {
        srv.signal_modified_key(dbid, key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "srem", key, dbid);
        if emptied {
            crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", key, dbid);
        }
        srv.dirty += deleted;
    }
    c.reply.add_reply_long_long(deleted as i64);
}

/// Redis: t_set.c smoveCommand().
pub fn smove_command(srv: &mut Server, c: &mut Client) {
    let (dbid, max) = (c.db, max_intset_entries(srv));
    let (src, dst, ele) = (c.argv.get(1), c.argv.get(2), c.argv.get(3));
    let is_set = |o: &mut RObj| matches!(o.value(), ValueRef::Set(_));
    let src_found = db::lookup_key_write(srv, dbid, src).map(is_set);
    let dst_found = db::lookup_key_write(srv, dbid, dst).map(is_set);
    let Some(src_is_set) = src_found else { return c.reply.add_reply_long_long(0) };
    if !src_is_set || dst_found == Some(false) {
        return c.reply.add_reply_wrong_type();
    }
    if src == dst {
        let member = set_ref(&srv.db[dbid], src).is_some_and(|s| s.is_member(ele));
        return c.reply.add_reply_long_long(member as i64);
    }
    let Some(srcset) = set_mut(srv, dbid, src) else { return };
    if !srcset.remove(ele) {
        return c.reply.add_reply_long_long(0);
    }
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "srem", src, dbid);
    if set_ref(&srv.db[dbid], src).is_some_and(SetValue::is_empty) {
        srv.db[dbid].db_delete(src);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", src, dbid);
    }
    if dst_found.is_none() {
        db_add_set(srv, dbid, dst, SetValue::create(ele));
    }
    srv.signal_modified_key(dbid, src);
    srv.dirty += 1;
    if set_mut(srv, dbid, dst).is_some_and(|d| d.add(ele, max)) {
        srv.dirty += 1;
        srv.signal_modified_key(dbid, dst);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "sadd", dst, dbid);
    }
    c.reply.add_reply_long_long(1);
}

/// Redis: t_set.c sismemberCommand().
pub fn sismember_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1);
    match lookup_set(srv, dbid, key, LookupFlags::Read, &mut c.reply) {
        None => {}
        Some(false) => c.reply.add_reply_long_long(0),
        Some(true) => {
            let member = set_ref(&srv.db[dbid], key).is_some_and(|s| s.is_member(c.argv.get(2)));
            c.reply.add_reply_long_long(member as i64);
        }
    }
}

/// Redis: t_set.c smismemberCommand(): a missing key is an empty set.
pub fn smismember_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1);
    if lookup_set(srv, dbid, key, LookupFlags::Read, &mut c.reply).is_none() {
        return;
    }
    let set = set_ref(&srv.db[dbid], key);
    c.reply.add_reply_array_len(c.argv.len() - 2);
    for member in c.argv.iter().skip(2) {
        let found = set.is_some_and(|s| s.is_member(member));
        c.reply.add_reply_long_long(found as i64);
    }
}

/// Redis: t_set.c scardCommand().
pub fn scard_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1);
    match lookup_set(srv, dbid, key, LookupFlags::Read, &mut c.reply) {
        None => {}
        Some(false) => c.reply.add_reply_long_long(0),
        Some(true) => {
            let len = set_ref(&srv.db[dbid], key).map_or(0, SetValue::len);
            c.reply.add_reply_long_long(len as i64);
        }
    }
}

// ----------------------------------------------------------------------------------------
// SPOP, SRANDMEMBER
// ----------------------------------------------------------------------------------------

/// Redis: shared.emptyset[c->resp].
fn add_reply_empty_set(reply: &mut Reply) {
    reply.add_reply_set_len(0);
}

/// Redis: t_set.c spopCommand(). Replicated as SREM of the popped member.
pub fn spop_command(srv: &mut Server, c: &mut Client) {
    match c.argv.len() {
        3 => return spop_with_count_command(srv, c),
        n if n > 3 => return c.reply.add_reply_syntax_error(),
        _ => {}
    }
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let set = match lookup_set_write(srv, dbid, &key, &mut c.reply) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(set)) => set,
    };
    let Some(ele) = set.random_element().map(|m| m.to_vec()) else { return c.reply.add_reply_null() };
    set.remove(&ele);
    let emptied = set.is_empty();
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "spop", &key, dbid);
    crate::pubsub::flush_pending_pushes(srv, c);
    // Replicas get an SREM of the popped member (Redis: rewriteClientCommandVector()). The
    // rewritten command is read only to be propagated (MONITOR and SLOWLOG show what the
    // client sent), so nothing is rebuilt when nothing would receive it.
    if crate::replication::propagate::should_propagate(srv) {
        c.argv.replace(&[b"SREM".as_slice(), &key, &ele]);
    }
    c.reply.add_reply_bulk(&ele);
    if emptied {
        srv.db[dbid].db_delete(&key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", &key, dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
    }
    srv.signal_modified_key(dbid, &key);
    srv.dirty += 1;
}

/// Redis: t_set.c spopWithCountCommand().
fn spop_with_count_command(srv: &mut Server, c: &mut Client) {
    const MUST_BE_POSITIVE: Option<&str> = Some("value is out of range, must be positive");
    let Some(count) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), 0, i64::MAX, MUST_BE_POSITIVE)
    else {
        return;
    };
    let count = count as u64;
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    match lookup_set(srv, dbid, &key, LookupFlags::Write, &mut c.reply) {
        None => return,
        Some(false) => return add_reply_empty_set(&mut c.reply),
        Some(true) => {}
    }
    if count == 0 {
        return add_reply_empty_set(&mut c.reply);
    }
    let size = set_ref(&srv.db[dbid], &key).map_or(0, SetValue::len) as u64;
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, "spop", &key, dbid);
    crate::pubsub::flush_pending_pushes(srv, c);
    srv.dirty += count.min(size);
    if count >= size {
        // CASE 1: the whole set, replied as SUNION of it would be; replicated as DEL.
        sunion_diff_generic_command(srv, c, 1..2, None, SetOp::Union);
        srv.db[dbid].db_delete(&key);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", &key, dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
        c.argv.replace(&[b"DEL".as_slice(), &key]);
        srv.signal_modified_key(dbid, &key);
        return;
    }
    c.reply.add_reply_set_len(count as usize);
    let remaining = size - count;
    let max = max_intset_entries(srv);
    let replicating = crate::replication::propagate::should_propagate(srv);
    let mut popped = Vec::new();
    let Some(set) = set_mut(srv, dbid, &key) else { return };
    if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count {
        spop_emit_random(set, count, &mut c.reply, replicating.then_some(&mut popped));
    } else {
        let kept = spop_keep_random(set, remaining, max);
        for m in set.iter() {
            m.add_reply(&mut c.reply);
            if replicating {
                popped.push(m.to_vec());
            }
        }
        // Redis: dbOverwrite(): the kept members become the value; the TTL stays.
        *set = kept;
    }
    // Replicas get one SREM per popped member (they cannot repeat a random choice).
    for member in popped {
        crate::replication::propagate::also_propagate(srv, dbid, vec![b"SREM".to_vec(), key.clone(), member]);
    }
    crate::replication::propagate::prevent_command_propagation(c);
    srv.signal_modified_key(dbid, &key);
}

/// SPOP CASE 2: few members asked for: pop and emit them one at a time (and note them
/// for the replicas when `popped` is given).
fn spop_emit_random(set: &mut SetValue, count: u64, reply: &mut Reply, mut popped: Option<&mut Vec<Vec<u8>>>) {
    for _ in 0..count {
        let Some(ele) = set.random_element().map(|m| m.to_vec()) else { return };
        reply.add_reply_bulk(&ele);
        set.remove(&ele);
        if let Some(list) = popped.as_deref_mut() {
            list.push(ele);
        }
    }
}

/// SPOP CASE 3: most members asked for: move `remaining` random members to a new set
/// (created as setTypeCreate() would for the first of them) and return it; what is left
/// in `set` is the reply.
fn spop_keep_random(set: &mut SetValue, remaining: u64, max: usize) -> SetValue {
    let mut kept: Option<SetValue> = None;
    for _ in 0..remaining {
        let Some(ele) = set.random_element().map(|m| m.to_vec()) else { break };
        kept.get_or_insert_with(|| SetValue::create(&ele)).add(&ele, max);
        set.remove(&ele);
    }
    kept.unwrap_or_default()
}

/// Redis: t_set.c srandmemberCommand().
pub fn srandmember_command(srv: &mut Server, c: &mut Client) {
    match c.argv.len() {
        3 => return srandmember_with_count_command(srv, c),
        n if n > 3 => return c.reply.add_reply_syntax_error(),
        _ => {}
    }
    let dbid = c.db;
    let key = c.argv.get(1);
    match lookup_set(srv, dbid, key, LookupFlags::Read, &mut c.reply) {
        None => {}
        Some(false) => c.reply.add_reply_null(),
        Some(true) => match set_mut(srv, dbid, key).and_then(|s| s.random_element()) {
            Some(m) => m.add_reply(&mut c.reply),
            None => c.reply.add_reply_null(),
        },
    }
}

/// Redis: t_set.c srandmemberWithCountCommand(). A negative count allows repeats.
fn srandmember_with_count_command(srv: &mut Server, c: &mut Client) {
    let Some(l) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), -i64::MAX, i64::MAX, None) else {
        return;
    };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    match lookup_set(srv, dbid, &key, LookupFlags::Read, &mut c.reply) {
        None => return,
        Some(false) => return c.reply.add_reply_array_len(0),
        Some(true) => {}
    }
    if count == 0 {
        return c.reply.add_reply_array_len(0);
    }
    if !uniq || count == 1 {
        // CASE 1: independent draws, in random order.
        return srandmember_with_repeats(srv, c, &key, count);
    }
    let Some(set) = set_mut(srv, dbid, &key) else { return };
    let size = set.len() as u64;
    if count >= size {
        // CASE 2: the whole set.
        c.reply.add_reply_array_len(size as usize);
        set.iter().for_each(|m| m.add_reply(&mut c.reply));
        return;
    }
    let picked = if count.saturating_mul(SRANDMEMBER_SUB_STRATEGY_MUL) > size {
        srandmember_by_removal(set, count)
    } else {
        srandmember_by_sampling(set, count)
    };
    c.reply.add_reply_array_len(picked.len());
    for (k, _) in picked.iter() {
        c.reply.add_reply_bulk(k);
    }
}

/// SRANDMEMBER CASE 1: `count` draws, checking the output buffer limits as Redis's reply
/// path does (and stopping once the client is to be closed).
fn srandmember_with_repeats(srv: &mut Server, c: &mut Client, key: &[u8], count: u64) {
    c.reply.add_reply_array_len(count as usize);
    let mut left = count;
    while left > 0 {
        let batch = left.min(REPLY_LIMIT_CHECK_EVERY);
        let Some(set) = set_mut(srv, c.db, key) else { return };
        for _ in 0..batch {
            match set.random_element() {
                Some(m) => m.add_reply(&mut c.reply),
                None => return,
            }
        }
        left -= batch;
        networking::close_client_on_output_buffer_limit_reached(srv, c);
        if c.flags & CLIENT_CLOSE_ASAP != 0 {
            return;
        }
    }
}

/// SRANDMEMBER CASE 3: copy the set, then drop random members until `count` remain.
fn srandmember_by_removal(set: &SetValue, count: u64) -> Dict<Sds, ()> {
    let mut d: Dict<Sds, ()> = Dict::with_capacity(set.len());
    for m in set.iter() {
        let _ = d.add(m.to_vec().into_boxed_slice(), ());
    }
    while d.len() as u64 > count {
        let Some(victim) = d.fair_random_entry().map(|(k, _)| k.clone()) else { break };
        d.remove(&victim);
    }
    d
}

/// SRANDMEMBER CASE 4: draw until `count` distinct members came up.
fn srandmember_by_sampling(set: &mut SetValue, count: u64) -> Dict<Sds, ()> {
    let mut d: Dict<Sds, ()> = Dict::with_capacity(usize::try_from(count).unwrap_or(0));
    while (d.len() as u64) < count {
        let Some(m) = set.random_element().map(|m| m.to_vec()) else { break };
        let _ = d.add(m.into_boxed_slice(), ());
    }
    d
}

// ----------------------------------------------------------------------------------------
// SINTER, SMEMBERS, SINTERCARD, SINTERSTORE
// ----------------------------------------------------------------------------------------

/// Where sinterGenericCommand()'s result goes.
enum InterTarget {
    Reply,
    Store(Vec<u8>),
    /// SINTERCARD: only the count, stopping at `limit` (0 = no limit).
    Cardinality { limit: u64 },
}

/// Looks every key of `keys` up (lookupKeyRead) as a set. None after replying WRONGTYPE;
/// otherwise whether each exists.
fn lookup_sets(srv: &mut Server, c: &mut Client, keys: std::ops::Range<usize>) -> Option<Vec<bool>> {
    let mut found = Vec::with_capacity(keys.len());
    for j in keys {
        found.push(lookup_set(srv, c.db, c.argv.get(j), LookupFlags::Read, &mut c.reply)?);
    }
    Some(found)
}

/// Redis: t_set.c sinterGenericCommand(). Any missing key makes the result empty.
fn sinter_generic_command(srv: &mut Server, c: &mut Client, keys: std::ops::Range<usize>, target: InterTarget) {
    let dbid = c.db;
    let Some(found) = lookup_sets(srv, c, keys.clone()) else { return };
    if found.contains(&false) {
        return match target {
            InterTarget::Store(dst) => {
                delete_key_if_exists(srv, dbid, &dst);
                c.reply.add_reply_long_long(0);
            }
            InterTarget::Cardinality { .. } => c.reply.add_reply_long_long(0),
            InterTarget::Reply => add_reply_empty_set(&mut c.reply),
        };
    }
    let max = max_intset_entries(srv);
    let db = &srv.db[dbid];
    let mut sets: Vec<&SetValue> = keys.filter_map(|j| set_ref(db, c.argv.get(j))).collect();
    // Smallest first (glibc's qsort is a stable merge sort for this).
    sets.sort_by_key(|s| s.len());
    let Some((&first, rest)) = sets.split_first() else { return add_reply_empty_set(&mut c.reply) };
    let in_all = |m: &SetMember| rest.iter().all(|s| std::ptr::eq(*s, first) || s.contains_member(*m));
    let matches = first.iter().filter(in_all);
    match target {
        InterTarget::Cardinality { limit } => {
            let mut cardinality = 0u64;
            for _ in matches {
                cardinality += 1;
                if limit != 0 && cardinality >= limit {
                    break;
                }
            }
            c.reply.add_reply_long_long(cardinality as i64);
        }
        InterTarget::Reply => {
            let members: Vec<SetMember> = matches.collect();
            c.reply.add_reply_set_len(members.len());
            members.iter().for_each(|m| m.add_reply(&mut c.reply));
        }
        InterTarget::Store(dst) => {
            let mut dstset = SetValue::default();
            for m in matches {
                dstset.add_member(m, max);
            }
            store_result(srv, c, &dst, dstset, "sinterstore");
        }
    }
}

/// The end of the *STORE commands: a non-empty result replaces `dst` (setKey) and notifies
/// `event`, an empty one deletes it; the reply is the result's size, before either event.
fn store_result(srv: &mut Server, c: &mut Client, dst: &[u8], dstset: SetValue, event: &str) {
    let dbid = c.db;
    let len = dstset.len();
    if len > 0 {
        set_key_to_set(srv, dbid, dst, dstset);
        // A "new" event precedes the reply; the store event follows it.
        crate::pubsub::flush_pending_pushes(srv, c);
        c.reply.add_reply_long_long(len as i64);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_SET, event, dst, dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
        srv.dirty += 1;
    } else {
        c.reply.add_reply_long_long(0);
        delete_key_if_exists(srv, dbid, dst);
        crate::pubsub::flush_pending_pushes(srv, c);
    }
}

/// Redis: t_set.c sinterCommand() (SMEMBERS runs it too, with its single key).
pub fn sinter_command(srv: &mut Server, c: &mut Client) {
    let end = c.argv.len();
    sinter_generic_command(srv, c, 1..end, InterTarget::Reply);
}

/// Redis: t_set.c sinterstoreCommand().
pub fn sinterstore_command(srv: &mut Server, c: &mut Client) {
    let (end, dst) = (c.argv.len(), c.argv.get(1).to_vec());
    sinter_generic_command(srv, c, 2..end, InterTarget::Store(dst));
}

/// Redis: t_set.c sinterCardCommand(): SINTERCARD numkeys key [key ...] [LIMIT limit].
pub fn sintercard_command(srv: &mut Server, c: &mut Client) {
    const NUMKEYS_ERR: Option<&str> = Some("numkeys should be greater than 0");
    const LIMIT_ERR: Option<&str> = Some("LIMIT can't be negative");
    let Some(numkeys) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(1), 1, i64::MAX, NUMKEYS_ERR)
    else {
        return;
    };
    let argc = c.argv.len();
    let numkeys = match usize::try_from(numkeys) {
        Ok(n) if n <= argc - 2 => n,
        _ => return c.reply.add_reply_error("Number of keys can't be greater than number of args"),
    };
    let mut limit = 0i64;
    let mut j = 2 + numkeys;
    while j < argc {
        if arg_is(c.argv.get(j), "limit") && j + 1 < argc {
            j += 1;
            let Some(l) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(j), 0, i64::MAX, LIMIT_ERR)
            else {
                return;
            };
            limit = l;
        } else {
            return c.reply.add_reply_syntax_error();
        }
        j += 1;
    }
    sinter_generic_command(srv, c, 2..2 + numkeys, InterTarget::Cardinality { limit: limit as u64 });
}

// ----------------------------------------------------------------------------------------
// SUNION, SDIFF and their STORE forms
// ----------------------------------------------------------------------------------------

/// Redis: SET_OP_UNION / SET_OP_DIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Diff,
}

/// Redis: t_set.c sunionDiffGenericCommand(). The result is built in a set that starts
/// as an intset, so its encoding (and an intset's sorted reply order) follows its members.
fn sunion_diff_generic_command(
    srv: &mut Server,
    c: &mut Client,
    keys: std::ops::Range<usize>,
    dst: Option<Vec<u8>>,
    op: SetOp,
) {
    let dbid = c.db;
    if lookup_sets(srv, c, keys.clone()).is_none() {
        return;
    }
    let max = max_intset_entries(srv);
    let db = &srv.db[dbid];
    let first_key = c.argv.get(keys.start);
    let sets: Vec<Option<&SetValue>> = keys.clone().map(|j| set_ref(db, c.argv.get(j))).collect();
    // A later key naming the first (existing) set: the difference is empty.
    let sameset = sets.first().is_some_and(Option::is_some) && keys.skip(1).any(|j| c.argv.get(j) == first_key);
    let dstset = match op {
        SetOp::Union => union_of(&sets, max),
        SetOp::Diff if sameset => SetValue::default(),
        SetOp::Diff => diff_of(sets, max),
    };
    match dst {
        None => {
            c.reply.add_reply_set_len(dstset.len());
            dstset.iter().for_each(|m| m.add_reply(&mut c.reply));
        }
        Some(dst) => {
            let event = match op {
                SetOp::Union => "sunionstore",
                SetOp::Diff => "sdiffstore",
            };
            store_result(srv, c, &dst, dstset, event);
        }
    }
}

/// Every member of every existing set.
fn union_of(sets: &[Option<&SetValue>], max: usize) -> SetValue {
    let mut dstset = SetValue::default();
    for set in sets.iter().flatten() {
        for m in set.iter() {
            dstset.add_member(m, max);
        }
    }
    dstset
}

/// The members of the first set in none of the others, by the cheaper of Redis's two
/// algorithms (the choice shows in the result's encoding, so it must be Redis's).
fn diff_of(mut sets: Vec<Option<&SetValue>>, max: usize) -> SetValue {
    let Some(Some(first)) = sets.first().copied() else { return SetValue::default() };
    let existing = sets.iter().flatten().count() as u64;
    let algo_one_work = first.len() as u64 * existing / 2;
    let algo_two_work: u64 = sets.iter().flatten().map(|s| s.len() as u64).sum();
    if algo_one_work <= algo_two_work {
        // Largest first, so members are found (and skipped) sooner.
        if let Some(rest) = sets.get_mut(1..) {
            rest.sort_by_key(|s| std::cmp::Reverse(s.map_or(0, SetValue::len)));
        }
        diff_algorithm_one(first, sets.get(1..).unwrap_or(&[]), max)
    } else {
        diff_algorithm_two(&sets, max)
    }
}

/// DIFF algorithm 1: each member of the first set that no other set has.
fn diff_algorithm_one(first: &SetValue, others: &[Option<&SetValue>], max: usize) -> SetValue {
    let mut dstset = SetValue::default();
    for m in first.iter() {
        if !others.iter().flatten().any(|s| s.contains_member(m)) {
            dstset.add_member(m, max);
        }
    }
    dstset
}

/// DIFF algorithm 2: add the first set, remove every other set's members.
fn diff_algorithm_two(sets: &[Option<&SetValue>], max: usize) -> SetValue {
    let mut dstset = SetValue::default();
    for (j, set) in sets.iter().enumerate() {
        let Some(set) = set else { continue };
        for m in set.iter() {
            if j == 0 {
                dstset.add_member(m, max);
            } else {
                m.with_bytes(|b| dstset.remove(b));
            }
        }
        if dstset.is_empty() {
            break;
        }
    }
    dstset
}

/// Redis: t_set.c sunionCommand().
pub fn sunion_command(srv: &mut Server, c: &mut Client) {
    let end = c.argv.len();
    sunion_diff_generic_command(srv, c, 1..end, None, SetOp::Union);
}

/// Redis: t_set.c sunionstoreCommand().
pub fn sunionstore_command(srv: &mut Server, c: &mut Client) {
    let (end, dst) = (c.argv.len(), c.argv.get(1).to_vec());
    sunion_diff_generic_command(srv, c, 2..end, Some(dst), SetOp::Union);
}

/// Redis: t_set.c sdiffCommand().
pub fn sdiff_command(srv: &mut Server, c: &mut Client) {
    let end = c.argv.len();
    sunion_diff_generic_command(srv, c, 1..end, None, SetOp::Diff);
}

/// Redis: t_set.c sdiffstoreCommand().
pub fn sdiffstore_command(srv: &mut Server, c: &mut Client) {
    let (end, dst) = (c.argv.len(), c.argv.get(1).to_vec());
    sunion_diff_generic_command(srv, c, 2..end, Some(dst), SetOp::Diff);
}

// ----------------------------------------------------------------------------------------
// SSCAN
// ----------------------------------------------------------------------------------------

/// Redis: t_set.c sscanCommand() + db.c scanGenericCommand() for a set. An intset is
/// returned whole with cursor 0; a hash table is walked with dictScan().
pub fn sscan_command(srv: &mut Server, c: &mut Client) {
    let Some(cursor) = db::parse_scan_cursor_or_reply(c, 2) else { return };
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    match lookup_set(srv, dbid, &key, LookupFlags::Read, &mut c.reply) {
        None => return,
        Some(false) => return c.reply.add_reply_proto(EMPTY_SCAN),
        Some(true) => {}
    }
    let Some(opts) = db::parse_scan_options(c, 3, false) else { return };
    let Some(set) = set_ref(&srv.db[dbid], &key) else { return c.reply.add_reply_proto(EMPTY_SCAN) };
    let (cursor, mut members) = scan_set(set, cursor, opts.count);
    if let Some(pattern) = &opts.pattern {
        members.retain(|m| util::string_match_len(pattern, m, false));
    }
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk_long_long(cursor as i64);
    c.reply.add_reply_array_len(members.len());
    members.iter().for_each(|m| c.reply.add_reply_bulk(m));
}

/// scanGenericCommand() steps 2: collect until COUNT members or 10*COUNT dictScan calls.
fn scan_set(set: &SetValue, cursor: u64, count: i64) -> (u64, Vec<Vec<u8>>) {
    let d = match set {
        SetValue::Intset(is) => return (0, is.iter().map(|v| util::ll2string(v).as_bytes().to_vec()).collect()),
        SetValue::Hashtable(d) => d,
    };
    let wanted = usize::try_from(count).unwrap_or(usize::MAX);
    let mut maxiterations = count.saturating_mul(10);
    let (mut cursor, mut members) = (cursor, Vec::new());
    loop {
        cursor = d.scan(cursor, |k, _| members.push(k.to_vec()));
        // Redis: `while (cursor && maxiterations-- && listLength(keys) < count)`.
        let more_iterations = maxiterations != 0;
        maxiterations -= 1;
        if cursor == 0 || !more_iterations || members.len() >= wanted {
            break;
        }
    }
    (cursor, members)
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command as run, test_server};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn members(set: &SetValue) -> BTreeSet<Vec<u8>> {
        set.iter().map(|m| m.to_vec()).collect()
    }

    fn encoding(srv: &Server, key: &str) -> &'static str {
        srv.db[0].dict.get(key.as_bytes()).map_or("none", RObj::encoding_name)
    }

    #[test]
    fn create_picks_the_encoding_of_the_first_member() {
        assert_eq!(SetValue::create(b"12").encoding_name(), "intset");
        assert_eq!(SetValue::create(b"-0").encoding_name(), "hashtable");
        assert_eq!(SetValue::create(b"x").encoding_name(), "hashtable");
    }

    #[test]
    fn intset_converts_on_a_string_or_past_the_limit_and_never_back() {
        let mut set = SetValue::create(b"1");
        for v in 1..=4 {
            assert!(set.add(v.to_string().as_bytes(), 4));
        }
        assert!(!set.add(b"4", 4));
        assert_eq!(set.encoding_name(), "intset");
        assert!(set.add(b"5", 4));
        assert_eq!(set.encoding_name(), "hashtable");
        assert!(set.is_member(b"5") && !set.is_member(b"05"));
        for v in 2..=5 {
            assert!(set.remove(v.to_string().as_bytes()));
        }
        assert_eq!(set.encoding_name(), "hashtable");
        let mut set = SetValue::create(b"1");
        set.add(b"1", 512);
        assert!(set.add(b"a", 512));
        assert_eq!(set.encoding_name(), "hashtable");
        assert_eq!(members(&set), [b"1".to_vec(), b"a".to_vec()].into_iter().collect());
    }

    #[test]
    fn intset_iterates_sorted_and_clone_keeps_the_encoding() {
        let mut set = SetValue::default();
        for v in ["30", "-7", "100000", "2"] {
            set.add(v.as_bytes(), 512);
        }
        let order: Vec<Vec<u8>> = set.iter().map(|m| m.to_vec()).collect();
        assert_eq!(order, [b"-7".to_vec(), b"2".to_vec(), b"30".to_vec(), b"100000".to_vec()]);
        assert_eq!(set.clone(), set);
        let mut ht = set.clone();
        ht.convert_to_hashtable();
        assert_eq!(members(&ht), members(&set));
        assert_ne!(ht, set);
        assert_eq!(ht.clone(), ht);
    }

    #[test]
    fn digest_ignores_encoding_and_order() {
        let mut a = SetValue::default();
        let mut b = SetValue::create(b"x");
        for v in ["1", "2", "3"] {
            a.add(v.as_bytes(), 512);
        }
        for v in ["3", "1", "2"] {
            b.add(v.as_bytes(), 512);
        }
        let (mut da, mut db) = ([0u8; 20], [0u8; 20]);
        a.digest_into(&mut da);
        b.digest_into(&mut db);
        assert_eq!(da, db);
        assert_ne!(da, [0u8; 20]);
    }

    #[test]
    fn sizes_follow_redis_formulas() {
        let mut set = SetValue::default();
        for v in ["1", "2", "3"] {
            set.add(v.as_bytes(), 512);
        }
        // 8-byte header + 3 int16 = 14 -> jemalloc 16.
        assert_eq!(set.compute_size(5), 16);
        // One string holding the 14-byte blob: length byte + 14.
        assert_eq!(set.rdb_saved_len(true), 15);
        assert!(set.htstats().is_none());
        set.add(b"abc", 512);
        // len byte, three int8-encoded members (2 each), "abc" (1 + 3).
        assert_eq!(set.rdb_saved_len(true), 1 + 3 * 2 + 4);
        // dict 56 + 4 buckets * 8 + 4 * (24 + 8); zero samples count the dict alone.
        assert_eq!(set.compute_size(u64::MAX), 56 + 32 + 4 * 32);
        assert_eq!(set.compute_size(0), 56 + 32);
        assert!(set.htstats().is_some_and(|s| s.contains("number of elements: 4")));
    }

    #[test]
    fn sadd_srem_scard_smembers() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, sadd_command, &["sadd", "s", "3", "1", "2", "1"]), ":3\r\n");
        assert_eq!(encoding(&srv, "s"), "intset");
        assert_eq!(run(&mut srv, &mut c, sinter_command, &["smembers", "s"]), "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(run(&mut srv, &mut c, scard_command, &["scard", "s"]), ":3\r\n");
        assert_eq!(run(&mut srv, &mut c, sismember_command, &["sismember", "s", "2"]), ":1\r\n");
        assert_eq!(run(&mut srv, &mut c, smismember_command, &["smismember", "s", "2", "9"]), "*2\r\n:1\r\n:0\r\n");
        let dirty = srv.dirty;
        assert_eq!(run(&mut srv, &mut c, srem_command, &["srem", "s", "1", "2", "3", "4"]), ":3\r\n");
        assert_eq!(srv.dirty, dirty + 3);
        assert_eq!(encoding(&srv, "s"), "none");
        assert_eq!(run(&mut srv, &mut c, srem_command, &["srem", "s", "1"]), ":0\r\n");
        crate::db::set_key(&mut srv, 0, b"str", RObj::string_from(b"v", 0), false);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        assert_eq!(run(&mut srv, &mut c, sadd_command, &["sadd", "str", "1"]), wrongtype);
        assert_eq!(run(&mut srv, &mut c, scard_command, &["scard", "str"]), wrongtype);
    }

    #[test]
    fn smove_creates_and_deletes_keys() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, sadd_command, &["sadd", "a", "x"]);
        assert_eq!(run(&mut srv, &mut c, smove_command, &["smove", "a", "a", "x"]), ":1\r\n");
        assert_eq!(run(&mut srv, &mut c, smove_command, &["smove", "a", "b", "y"]), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, smove_command, &["smove", "a", "b", "x"]), ":1\r\n");
        assert_eq!(encoding(&srv, "a"), "none");
        assert_eq!(encoding(&srv, "b"), "hashtable");
        assert_eq!(run(&mut srv, &mut c, smove_command, &["smove", "nokey", "b", "x"]), ":0\r\n");
    }

    #[test]
    fn store_results_start_as_intsets() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, sadd_command, &["sadd", "a", "x", "1", "2", "3"]);
        run(&mut srv, &mut c, sadd_command, &["sadd", "b", "y", "2", "3", "4"]);
        assert_eq!(encoding(&srv, "a"), "hashtable");
        assert_eq!(run(&mut srv, &mut c, sinterstore_command, &["sinterstore", "d", "a", "b"]), ":2\r\n");
        assert_eq!(encoding(&srv, "d"), "intset");
        assert_eq!(run(&mut srv, &mut c, sinter_command, &["smembers", "d"]), "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
        assert_eq!(run(&mut srv, &mut c, sunionstore_command, &["sunionstore", "u", "a", "b"]), ":6\r\n");
        assert_eq!(encoding(&srv, "u"), "hashtable");
        assert_eq!(run(&mut srv, &mut c, sintercard_command, &["sintercard", "2", "a", "b", "limit", "1"]), ":1\r\n");
        // Algorithm 1 (few sets): only integers survive, so an intset.
        run(&mut srv, &mut c, sadd_command, &["sadd", "b2", "x", "2", "3"]);
        assert_eq!(run(&mut srv, &mut c, sdiffstore_command, &["sdiffstore", "d1", "a", "b2"]), ":1\r\n");
        assert_eq!(encoding(&srv, "d1"), "intset");
        // Algorithm 2 (many small sets): the first set goes in whole, strings included.
        run(&mut srv, &mut c, sadd_command, &["sadd", "x", "x"]);
        let args = ["sdiffstore", "d2", "a", "x", "x", "x", "x", "x", "x"];
        assert_eq!(run(&mut srv, &mut c, sdiffstore_command, &args), ":3\r\n");
        assert_eq!(encoding(&srv, "d2"), "hashtable");
        // An empty result deletes the destination.
        assert_eq!(run(&mut srv, &mut c, sdiffstore_command, &["sdiffstore", "d2", "a", "a"]), ":0\r\n");
        assert_eq!(encoding(&srv, "d2"), "none");
        assert_eq!(run(&mut srv, &mut c, sinterstore_command, &["sinterstore", "d", "a", "nokey"]), ":0\r\n");
        assert_eq!(encoding(&srv, "d"), "none");
    }

    #[test]
    fn spop_and_srandmember_counts() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let all: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        let mut args = vec!["sadd", "s"];
        args.extend(all.iter().map(String::as_str));
        run(&mut srv, &mut c, sadd_command, &args);
        for count in ["5", "20", "49"] {
            let out = run(&mut srv, &mut c, srandmember_command, &["srandmember", "s", count]);
            assert!(out.starts_with(&format!("*{}\r\n", count)), "{out}");
            let distinct: BTreeSet<&str> = out.split("\r\n").skip(2).step_by(2).filter(|s| !s.is_empty()).collect();
            assert_eq!(distinct.len().to_string(), count);
        }
        let out = run(&mut srv, &mut c, srandmember_command, &["srandmember", "s", "-100"]);
        assert_eq!(out.matches('$').count(), 100);
        // Pop 2 (case 2), then 40 of 48 (case 3, which rebuilds the kept set).
        run(&mut srv, &mut c, spop_command, &["spop", "s", "2"]);
        run(&mut srv, &mut c, spop_command, &["spop", "s", "40"]);
        assert_eq!(run(&mut srv, &mut c, scard_command, &["scard", "s"]), ":8\r\n");
        assert_eq!(encoding(&srv, "s"), "intset");
        assert!(run(&mut srv, &mut c, spop_command, &["spop", "s", "100"]).starts_with("*8\r\n"));
        assert_eq!(encoding(&srv, "s"), "none");
        assert_eq!(c.argv.get(0), b"DEL");
    }

    #[test]
    fn sscan_intset_whole_and_hashtable_by_cursor() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, sadd_command, &["sadd", "i", "10", "2", "13"]);
        let out = run(&mut srv, &mut c, sscan_command, &["sscan", "i", "0", "match", "1*", "count", "1"]);
        assert_eq!(out, "*2\r\n$1\r\n0\r\n*2\r\n$2\r\n10\r\n$2\r\n13\r\n");
        let names: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
        let mut args = vec!["sadd", "h"];
        args.extend(names.iter().map(String::as_str));
        run(&mut srv, &mut c, sadd_command, &args);
        let Some(set) = set_ref(&srv.db[0], b"h") else { panic!("no set") };
        let (mut cursor, mut seen) = (0, BTreeSet::new());
        loop {
            let (next, batch) = scan_set(set, cursor, 7);
            seen.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 200);
    }

    proptest! {
        #[test]
        fn set_value_matches_a_model(ops in proptest::collection::vec((0u8..3, 0i64..12), 0..120)) {
            let mut set = SetValue::default();
            let mut model: BTreeSet<Vec<u8>> = BTreeSet::new();
            for (op, v) in ops {
                let member = if v >= 10 { format!("s{v}").into_bytes() } else { v.to_string().into_bytes() };
                match op {
                    0 | 1 => prop_assert_eq!(set.add(&member, 6), model.insert(member.clone())),
                    _ => prop_assert_eq!(set.remove(&member), model.remove(&member)),
                }
                prop_assert_eq!(set.len(), model.len());
            }
            prop_assert_eq!(members(&set), model.clone());
            for m in &model {
                prop_assert!(set.is_member(m));
            }
            if set.encoding_name() == "intset" {
                prop_assert!(model.len() <= 6);
                prop_assert!(model.iter().all(|m| util::string2ll(m).is_some()));
            }
        }
    }
}

//! The list type: Redis's t_list.c. A list value is a quicklist of listpack nodes
//! (quicklist.rs, listpack.rs); in Redis 7.0 every list is encoded "quicklist", whatever
//! its size (the "listpack" list encoding only arrived in 7.2), and new lists take their
//! node fill and compress depth from the config when created.
//!
//! Commands run on the event loop like any other. The blocking ones (BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH, BLMPOP) either serve at once or park the client with
//! blocked::block_for_keys; when a push makes a key ready, blocked.rs runs the command again
//! (with `c.reprocessing` set), which then finds the data and replies like the first call
//! would have. Inside MULTI (CLIENT_DENY_BLOCKING) they reply as on a timeout instead.
//! Keyspace events are raised where t_list.c raises them, and flushed to the running
//! client at once so a RESP3 subscriber sees them interleaved with replies as in Redis.
//!
//! API for other modules:
//! ```text
//! ListValue::new(fill, compress) / ListValue::default()   createQuicklistObject + options
//! l.push(s, End) / l.pop(End) -> Option<Vec<u8>>          listTypePush / listTypePop
//! l.len() / l.is_empty() / l.iter() -> LpValue head..tail listTypeLength / iterator
//! l.quicklist() / l.quicklist_mut()                       the nodes (RDB save/load)
//! l.debug_object_extra() -> String                        DEBUG OBJECT's ql_* fields
//! ```

use crate::blocked::{self, BlockType};
use crate::db::{self, LookupFlags};
use crate::debug::{self, Digest};
use crate::listpack::LpValue;
use crate::networking::{Argv, Client, CLIENT_DENY_BLOCKING};
use crate::notify;
use crate::object::{self as obj, AccessClock, RObj, Value, ValueMut};
use crate::pubsub;
use crate::quicklist::{Direction, End, Quicklist};
use crate::reply::Reply;
use crate::server::Server;
use crate::util;

/// sizeof(quicklist) and sizeof(quicklistNode) on 64-bit Redis, for MEMORY USAGE.
const QUICKLIST_STRUCT_SIZE: usize = 40;
const QUICKLIST_NODE_STRUCT_SIZE: usize = 40;
/// sizeof(robj): object_compute_size() adds it around this type's part.
const ROBJ_STRUCT_SIZE: usize = 16;
/// Redis: QUICKLIST_NODE_CONTAINER_PACKED, saved before each node in RDB_TYPE_LIST_QUICKLIST_2.
const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

/// A list value (Redis: an OBJ_LIST robj with OBJ_ENCODING_QUICKLIST).
#[derive(Debug, Clone, PartialEq)]
pub struct ListValue {
    ql: Quicklist,
}

impl Default for ListValue {
    /// The default list-max-listpack-size (-2) and list-compress-depth (0).
    fn default() -> Self {
        ListValue::new(-2, 0)
    }
}

impl ListValue {
    /// Redis: createQuicklistObject() + quicklistSetOptions().
    pub fn new(fill: i32, compress: i32) -> ListValue {
        ListValue { ql: Quicklist::new(fill, compress) }
    }

    /// A new list with the server's current list-max-listpack-size / list-compress-depth.
    pub fn for_server(srv: &Server) -> ListValue {
        ListValue::new(srv.config.list_max_listpack_size, srv.config.list_compress_depth)
    }

    pub fn quicklist(&self) -> &Quicklist {
        &self.ql
    }

    pub fn quicklist_mut(&mut self) -> &mut Quicklist {
        &mut self.ql
    }

    /// Redis: object.c strEncoding(): 7.0 lists are always quicklists.
    pub fn encoding_name(&self) -> &'static str {
        "quicklist"
    }

    /// Redis: listTypeLength().
    pub fn len(&self) -> usize {
        self.ql.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ql.is_empty()
    }

    /// Redis: listTypePush().
    pub fn push(&mut self, s: &[u8], end: End) {
        self.ql.push(end, s);
    }

    /// Redis: listTypePop().
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.ql.pop(end)
    }

    /// The elements head to tail.
    pub fn iter(&self) -> impl Iterator<Item = LpValue<'_>> + '_ {
        self.ql.values_from(Direction::StartHead, 0)
    }

    /// Redis: the OBJ_LIST branch of debug.c xorObjectDigest(): each element's string
    /// form, mixed in order.
    pub fn digest_into(&self, digest: &mut Digest) {
        let mut scratch = Vec::new();
        for v in self.iter() {
            scratch.clear();
            v.write_to(&mut scratch);
            debug::mix_digest(digest, &scratch);
        }
    }

    /// Redis: the OBJ_LIST branch of object.c objectComputeSize(): the quicklist header
    /// plus the average sampled node (struct + listpack allocation) times the node count.
    pub fn compute_size(&self, samples: u64) -> usize {
        let mut elesize = 0usize;
        let mut sampled = 0usize;
        for lp in self.ql.nodes() {
            elesize += QUICKLIST_NODE_STRUCT_SIZE + obj::je_malloc_size(lp.bytes());
            sampled += 1;
            if sampled as u64 >= samples.max(1) {
                break;
            }
        }
        if sampled == 0 {
            return QUICKLIST_STRUCT_SIZE;
        }
        let avg = elesize as f64 / sampled as f64 * self.ql.node_count() as f64;
        // Redis adds the average to sizeof(robj) + sizeof(quicklist) in one double sum and
        // truncates; the robj part is added by the caller, so take it off afterwards.
        let with_robj = (ROBJ_STRUCT_SIZE + QUICKLIST_STRUCT_SIZE) as f64 + avg;
        (with_robj as usize).saturating_sub(ROBJ_STRUCT_SIZE)
    }

    /// Redis: the OBJ_LIST branch of rdb.c rdbSavedObjectLen() (RDB_TYPE_LIST_QUICKLIST_2):
    /// the node count, then per node its container type and its listpack as a string.
    pub fn rdb_saved_len(&self, rdbcompression: bool) -> usize {
        let mut len = debug::rdb_len_size(self.ql.node_count() as u64);
        for lp in self.ql.nodes() {
            len += debug::rdb_len_size(QUICKLIST_NODE_CONTAINER_PACKED);
            len += debug::rdb_saved_raw_string_len(lp.as_bytes(), rdbcompression);
        }
        len
    }

    /// Redis: DEBUG HTSTATS-KEY: lists have no hash table.
    pub fn htstats(&self) -> Option<String> {
        None
    }

    /// Redis: lazyfree.c lazyfreeGetFreeEffort(): the quicklist's node count.
    pub fn free_effort(&self) -> usize {
        self.ql.node_count()
    }

    /// Frees up to `budget` nodes of a list that lazyfree.rs is releasing piecemeal;
    /// returns the nodes freed, 0 when none is left.
    pub fn free_some(&mut self, budget: usize) -> usize {
        self.ql.free_some(budget)
    }

    /// Redis: the quicklist part of debug.c DEBUG OBJECT, appended after `lru_seconds_idle`.
    pub fn debug_object_extra(&self) -> String {
        let nodes = self.ql.node_count();
        let avg = if nodes == 0 { 0.0 } else { self.len() as f64 / nodes as f64 };
        let size: usize = self.ql.nodes().map(|lp| lp.bytes()).sum();
        format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:{} ql_compressed:{} ql_uncompressed_size:{}",
            nodes,
            avg,
            self.ql.fill(),
            (self.ql.compress() != 0) as i32,
            size
        )
    }
}

// ----------------------------------------------------------------------------------------
// Lookup and bookkeeping helpers
// ----------------------------------------------------------------------------------------

/// Redis: checkType() failing for OBJ_LIST (the WRONGTYPE reply is the caller's).
struct WrongType;

/// The list inside a value, if it is one.
fn as_list(o: &mut RObj) -> Option<&mut ListValue> {
    match o.value_mut() {
        ValueMut::List(l) => Some(l),
        ValueMut::Str(_) | ValueMut::Hash(_) | ValueMut::Set(_) | ValueMut::ZSet(_) | ValueMut::Stream(_) => None,
    }
}

/// Redis: lookupKeyRead/Write() + checkType(c, o, OBJ_LIST).
fn lookup_list<'a>(
    srv: &'a mut Server,
    dbid: usize,
    key: &[u8],
    flags: LookupFlags,
) -> Result<Option<&'a mut ListValue>, WrongType> {
    match db::lookup_key(srv, dbid, key, flags) {
        None => Ok(None),
        Some(o) => as_list(o).map(Some).ok_or(WrongType),
    }
}

/// The list at `key` without lookup side effects (after a lookup already happened).
fn list_at<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut ListValue> {
    as_list(srv.db.get_mut(dbid)?.dict.find(key)?)
}

/// Redis: the createQuicklistObject() + dbAdd() of the push paths: a new empty list at
/// `key` in the client's db (dbAdd tells blocked clients the key may be ready).
fn create_list_key(srv: &mut Server, c: &mut Client, key: &[u8]) {
    let list = ListValue::for_server(srv);
    let lru = AccessClock::of(srv).initial_lru();
    db::db_add(srv, c.db, key, RObj::new(Value::List(Box::new(list)), lru));
    pubsub::flush_pending_pushes(srv, c);
}

/// Redis: t_list.c listElementsRemoved(): `count` elements left the list at `key`; an
/// emptied list is deleted. True if the key was deleted.
fn list_elements_removed(srv: &mut Server, c: &mut Client, key: &[u8], end: End, count: usize) -> bool {
    let emptied = list_at(srv, c.db, key).is_some_and(|l| l.is_empty());
    list_elements_removed_emptied(srv, c, key, end, count, emptied)
}

/// listElementsRemoved() for a caller that still held the list and knows whether it is now
/// empty (no second lookup of the key).
fn list_elements_removed_emptied(srv: &mut Server, c: &mut Client, key: &[u8], end: End, count: usize, emptied: bool) -> bool {
    notify_list(srv, c, pop_event(end), key);
    if emptied {
        delete_emptied_list(srv, c, key);
    }
    srv.signal_modified_key(c.db, key);
    srv.dirty += count as u64;
    emptied
}

/// Redis: notifyKeyspaceEvent(NOTIFY_LIST, event, key, dbid). A RESP3 client subscribed
/// to its own events gets them at this point of its reply stream, as in Redis.
fn notify_list(srv: &mut Server, c: &mut Client, event: &str, key: &[u8]) {
    notify::notify_keyspace_event(srv, notify::NOTIFY_LIST, event, key, c.db);
    pubsub::flush_pending_pushes(srv, c);
}

/// Redis: dbDelete() + the "del" event, for a list a command emptied.
fn delete_emptied_list(srv: &mut Server, c: &mut Client, key: &[u8]) {
    srv.db[c.db].db_delete(key);
    notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "del", key, c.db);
    pubsub::flush_pending_pushes(srv, c);
}

fn pop_event(end: End) -> &'static str {
    match end {
        End::Head => "lpop",
        End::Tail => "rpop",
    }
}

fn push_event(end: End) -> &'static str {
    match end {
        End::Head => "lpush",
        End::Tail => "rpush",
    }
}

/// Redis: getListPositionFromObjectOrReply(): LEFT or RIGHT, else a syntax error.
fn get_list_position_or_reply(reply: &mut Reply, arg: &[u8]) -> Option<End> {
    if arg.eq_ignore_ascii_case(b"left") {
        Some(End::Head)
    } else if arg.eq_ignore_ascii_case(b"right") {
        Some(End::Tail)
    } else {
        reply.add_reply_syntax_error();
        None
    }
}

/// Redis: object.c getPositiveLongFromObjectOrReply(): 0..LONG_MAX; any failure answers
/// `msg` or "value is out of range, must be positive".
fn get_positive_long_or_reply(reply: &mut Reply, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    let msg = msg.unwrap_or("value is out of range, must be positive");
    obj::get_range_long_from_object_or_reply(reply, arg, 0, i64::MAX, Some(msg))
}

/// An element as a bulk reply (integers in decimal).
fn add_reply_list_value(reply: &mut Reply, v: LpValue<'_>) {
    match v {
        LpValue::Int(n) => reply.add_reply_bulk_long_long(n),
        LpValue::Str(s) => reply.add_reply_bulk(s),
    }
}

use crate::networking::rewrite_client_command_vector;

// ----------------------------------------------------------------------------------------
// LPUSH, RPUSH, LPUSHX, RPUSHX, LINSERT, LLEN, LINDEX, LSET
// ----------------------------------------------------------------------------------------

/// Redis: t_list.c pushGenericCommand(): `xx` only pushes to an existing list.
fn push_generic_command(srv: &mut Server, c: &mut Client, end: End, xx: bool) {
    // The arguments are lent out while the command runs, so that the key stays borrowed
    // while the client's reply and pushes are written, without a copy of it.
    let argv = std::mem::take(&mut c.argv);
    push_with_args(srv, c, &argv, end, xx);
    c.argv = argv;
}

fn push_with_args(srv: &mut Server, c: &mut Client, argv: &Argv, end: End, xx: bool) {
    let (dbid, key) = (c.db, argv.get(1));
    let list = match lookup_list(srv, dbid, key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) if xx => return c.reply.add_reply_long_long(0),
        Ok(Some(list)) => list,
        Ok(None) => {
            create_list_key(srv, c, key);
            let Some(list) = list_at(srv, dbid, key) else { return };
            list
        }
    };
    for ele in argv.iter().skip(2) {
        list.push(ele, end);
    }
    let len = list.len();
    srv.dirty += argv.len().saturating_sub(2) as u64;
    c.reply.add_reply_long_long(len as i64);
    srv.signal_modified_key(dbid, key);
    notify_list(srv, c, push_event(end), key);
}

/// Redis: t_list.c lpushCommand().
pub fn lpush_command(srv: &mut Server, c: &mut Client) {
    push_generic_command(srv, c, End::Head, false);
}

/// Redis: t_list.c rpushCommand().
pub fn rpush_command(srv: &mut Server, c: &mut Client) {
    push_generic_command(srv, c, End::Tail, false);
}

/// Redis: t_list.c lpushxCommand().
pub fn lpushx_command(srv: &mut Server, c: &mut Client) {
    push_generic_command(srv, c, End::Head, true);
}

/// Redis: t_list.c rpushxCommand().
pub fn rpushx_command(srv: &mut Server, c: &mut Client) {
    push_generic_command(srv, c, End::Tail, true);
}

/// Redis: t_list.c linsertCommand(): inserts before/after the first element equal to the
/// pivot; -1 when there is no pivot, 0 when there is no list.
pub fn linsert_command(srv: &mut Server, c: &mut Client) {
    let after = match c.argv.get(2) {
        w if w.eq_ignore_ascii_case(b"after") => true,
        w if w.eq_ignore_ascii_case(b"before") => false,
        _ => return c.reply.add_reply_syntax_error(),
    };
    let (dbid, key, pivot, ele) = (c.db, c.argv.get(1).to_vec(), c.argv.get(3), c.argv.get(4));
    let list = match lookup_list(srv, dbid, &key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(list)) => list,
    };
    let ql = &mut list.ql;
    let mut it = ql.iter(Direction::StartHead);
    let mut found = None;
    while let Some(entry) = ql.next_entry(&mut it) {
        if ql.compare(entry, pivot) {
            found = Some(entry);
            break;
        }
    }
    let Some(entry) = found else { return c.reply.add_reply_long_long(-1) };
    ql.insert(entry, ele, after);
    let len = ql.len();
    srv.signal_modified_key(dbid, &key);
    notify_list(srv, c, "linsert", &key);
    srv.dirty += 1;
    c.reply.add_reply_long_long(len as i64);
}

/// Redis: t_list.c llenCommand().
pub fn llen_command(srv: &mut Server, c: &mut Client) {
    match lookup_list(srv, c.db, c.argv.get(1), LookupFlags::Read) {
        Err(WrongType) => c.reply.add_reply_wrong_type(),
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(list)) => c.reply.add_reply_long_long(list.len() as i64),
    }
}

/// Redis: t_list.c lindexCommand(): the key is checked before the index is parsed.
pub fn lindex_command(srv: &mut Server, c: &mut Client) {
    let list = match lookup_list(srv, c.db, c.argv.get(1), LookupFlags::Read) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(list)) => list,
    };
    let Some(index) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    match list.ql.index(index) {
        Some(v) => add_reply_list_value(&mut c.reply, v),
        None => c.reply.add_reply_null(),
    }
}

/// Redis: t_list.c lsetCommand().
pub fn lset_command(srv: &mut Server, c: &mut Client) {
    let (dbid, key) = (c.db, c.argv.get(1).to_vec());
    let list = match lookup_list(srv, dbid, &key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) => return c.reply.add_reply_error("no such key"),
        Ok(Some(list)) => list,
    };
    let Some(index) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    if !list.ql.replace_at_index(index, c.argv.get(3)) {
        return c.reply.add_reply_error("index out of range");
    }
    c.reply.add_reply_ok();
    srv.signal_modified_key(dbid, &key);
    notify_list(srv, c, "lset", &key);
    srv.dirty += 1;
}

// ----------------------------------------------------------------------------------------
// LPOP, RPOP, LRANGE, LTRIM, LPOS, LREM
// ----------------------------------------------------------------------------------------

/// Redis: t_list.c addListRangeReply(): the elements from `start` to `end` (inclusive,
/// negative from the tail), as an array; `reverse` walks from `end` back to `start`.
fn add_list_range_reply(reply: &mut Reply, list: &ListValue, start: i64, end: i64, reverse: bool) {
    let Some((start, end)) = clamp_range(list.len() as i64, start, end) else {
        return reply.add_reply_array_len(0);
    };
    let rangelen = (end - start + 1) as usize;
    let (from, dir) = if reverse { (end, Direction::StartTail) } else { (start, Direction::StartHead) };
    reply.add_reply_array_len(rangelen);
    // The quicklistNext() loop of addListRangeReply(), written out: this runs once per
    // element of every LRANGE, and an iterator adapter around it did not always inline.
    let Some(mut it) = list.ql.iter_at_idx(dir, from) else { return };
    for _ in 0..rangelen {
        let value = list.ql.next_entry(&mut it).and_then(|e| list.ql.value(e));
        add_reply_list_value(reply, value.unwrap_or(LpValue::Str(&[])));
    }
}

/// The LRANGE/LTRIM index rules: negative indexes count from the tail, the start is
/// clamped to 0 and the end to the last element. None for an empty range.
fn clamp_range(llen: i64, start: i64, end: i64) -> Option<(i64, i64)> {
    let start = if start < 0 { llen + start } else { start }.max(0);
    let end = if end < 0 { llen + end } else { end };
    if start > end || start >= llen {
        return None;
    }
    Some((start, end.min(llen - 1)))
}

/// Redis: t_list.c popGenericCommand(): one element as a bulk, or with a count an array
/// (7.0 shapes: a missing key answers a null array then, a count of 0 an empty array).
fn pop_generic_command(srv: &mut Server, c: &mut Client, end: End) {
    if c.argv.len() > 3 {
        let name = srv.current_command_name(c);
        return c.reply.add_reply_error_arity(&name);
    }
    let count = match c.argv.len() == 3 {
        true => Some(match get_positive_long_or_reply(&mut c.reply, c.argv.get(2), None) {
            Some(n) => n,
            None => return,
        }),
        false => None,
    };
    // As in push_generic_command(): the key stays borrowed from the lent-out arguments.
    let argv = std::mem::take(&mut c.argv);
    pop_with_args(srv, c, &argv, end, count);
    c.argv = argv;
}

fn pop_with_args(srv: &mut Server, c: &mut Client, argv: &Argv, end: End, count: Option<i64>) {
    let (dbid, key) = (c.db, argv.get(1));
    let list = match lookup_list(srv, dbid, key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) if count.is_some() => return c.reply.add_reply_null_array(),
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(list)) => list,
    };
    let popped = match count {
        Some(0) => return c.reply.add_reply_array_len(0),
        Some(n) => pop_range_and_reply(&mut c.reply, list, end, n),
        None => match list.pop(end) {
            Some(v) => {
                c.reply.add_reply_bulk(&v);
                1
            }
            None => return c.reply.add_reply_null(),
        },
    };
    let emptied = list.is_empty();
    list_elements_removed_emptied(srv, c, key, end, popped, emptied);
}

/// The range half of popGenericCommand() / listPopRangeAndReplyWithKey(): replies with up
/// to `count` elements from `end` (in pop order) and removes them. Returns how many.
fn pop_range_and_reply(reply: &mut Reply, list: &mut ListValue, end: End, count: i64) -> usize {
    let llen = list.len() as i64;
    let rangelen = count.min(llen);
    let (start, stop, reverse) = match end {
        End::Head => (0, rangelen - 1, false),
        End::Tail => (-rangelen, -1, true),
    };
    add_list_range_reply(reply, list, start, stop, reverse);
    list.ql.del_range(start, rangelen);
    rangelen as usize
}

/// Redis: t_list.c lpopCommand().
pub fn lpop_command(srv: &mut Server, c: &mut Client) {
    pop_generic_command(srv, c, End::Head);
}

/// Redis: t_list.c rpopCommand().
pub fn rpop_command(srv: &mut Server, c: &mut Client) {
    pop_generic_command(srv, c, End::Tail);
}

/// Redis: t_list.c lrangeCommand(): the indexes are parsed before the key is looked up.
pub fn lrange_command(srv: &mut Server, c: &mut Client) {
    let Some(start) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    let Some(end) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(3), None) else { return };
    match lookup_list(srv, c.db, c.argv.get(1), LookupFlags::Read) {
        Err(WrongType) => c.reply.add_reply_wrong_type(),
        Ok(None) => c.reply.add_reply_array_len(0),
        Ok(Some(list)) => add_list_range_reply(&mut c.reply, list, start, end, false),
    }
}

/// Redis: t_list.c ltrimCommand().
pub fn ltrim_command(srv: &mut Server, c: &mut Client) {
    let Some(start) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    let Some(end) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(3), None) else { return };
    let (dbid, key) = (c.db, c.argv.get(1).to_vec());
    let list = match lookup_list(srv, dbid, &key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) => return c.reply.add_reply_ok(),
        Ok(Some(list)) => list,
    };
    let llen = list.len() as i64;
    let (ltrim, rtrim) = match clamp_range(llen, start, end) {
        Some((start, end)) => (start, llen - end - 1),
        None => (llen, 0),
    };
    list.ql.del_range(0, ltrim);
    list.ql.del_range(-rtrim, rtrim);
    let emptied = list.is_empty();
    notify_list(srv, c, "ltrim", &key);
    if emptied {
        delete_emptied_list(srv, c, &key);
    }
    srv.signal_modified_key(dbid, &key);
    srv.dirty += (ltrim + rtrim) as u64;
    c.reply.add_reply_ok();
}

/// The options of LPOS (Redis: the locals of lposCommand()).
struct LposOptions {
    rank: i64,
    /// None when COUNT was not given (the reply is then one index or null).
    count: Option<i64>,
    maxlen: i64,
}

/// Redis: the option loop of t_list.c lposCommand().
fn parse_lpos_options(c: &mut Client) -> Option<LposOptions> {
    let mut opts = LposOptions { rank: 1, count: None, maxlen: 0 };
    let mut j = 3;
    while j < c.argv.len() {
        let (opt, moreargs) = (c.argv.get(j), j + 1 < c.argv.len());
        let value = c.argv.get(j + 1);
        if opt.eq_ignore_ascii_case(b"rank") && moreargs {
            opts.rank = obj::get_long_from_object_or_reply(&mut c.reply, value, None)?;
            if opts.rank == 0 {
                c.reply.add_reply_error("RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
                return None;
            }
        } else if opt.eq_ignore_ascii_case(b"count") && moreargs {
            opts.count = Some(get_positive_long_or_reply(&mut c.reply, value, Some("COUNT can't be negative"))?);
        } else if opt.eq_ignore_ascii_case(b"maxlen") && moreargs {
            opts.maxlen = get_positive_long_or_reply(&mut c.reply, value, Some("MAXLEN can't be negative"))?;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 2;
    }
    Some(opts)
}

/// Redis: t_list.c lposCommand(): the index of the rank-th match (negative ranks search
/// from the tail), or with COUNT an array of up to COUNT matches (0 = all); MAXLEN bounds
/// how many elements are compared.
pub fn lpos_command(srv: &mut Server, c: &mut Client) {
    let Some(opts) = parse_lpos_options(c) else { return };
    let list = match lookup_list(srv, c.db, c.argv.get(1), LookupFlags::Read) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) if opts.count.is_some() => return c.reply.add_reply_array_len(0),
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(list)) => list,
    };
    let matches = lpos_matches(list, c.argv.get(2), &opts);
    match opts.count {
        Some(_) => {
            c.reply.add_reply_array_len(matches.len());
            for index in matches {
                c.reply.add_reply_long_long(index);
            }
        }
        None => match matches.first() {
            Some(&index) => c.reply.add_reply_long_long(index),
            None => c.reply.add_reply_null(),
        },
    }
}

/// The matching indexes LPOS reports, in the order it finds them.
fn lpos_matches(list: &ListValue, ele: &[u8], opts: &LposOptions) -> Vec<i64> {
    // Redis negates a negative rank in a C long: LONG_MIN stays LONG_MIN, and every match
    // then counts as past the rank. Wrapping arithmetic keeps that behaviour.
    let (rank, dir) = match opts.rank < 0 {
        true => (opts.rank.wrapping_neg(), Direction::StartTail),
        false => (opts.rank, Direction::StartHead),
    };
    let llen = list.len() as i64;
    let from = if dir == Direction::StartTail { -1 } else { 0 };
    let mut it = list.ql.values_from(dir, from);
    let (mut found, mut matches, mut index) = (Vec::new(), 0i64, 0i64);
    while opts.maxlen == 0 || index < opts.maxlen {
        let Some(v) = it.next() else { break };
        if value_equals(v, ele) {
            matches += 1;
            if matches >= rank {
                found.push(if dir == Direction::StartHead { index } else { llen - index - 1 });
                let done = match opts.count {
                    None => true,
                    Some(count) => count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count,
                };
                if done {
                    break;
                }
            }
        }
        index += 1;
    }
    found
}

/// Redis: lpCompare() on a value already read.
fn value_equals(v: LpValue<'_>, s: &[u8]) -> bool {
    match v {
        LpValue::Str(e) => e == s,
        LpValue::Int(n) => s.len() <= 20 && util::string2ll(s) == Some(n),
    }
}

/// Redis: t_list.c lremCommand(): removes the first `count` matches (from the tail when
/// negative, all when 0).
pub fn lrem_command(srv: &mut Server, c: &mut Client) {
    let Some(toremove) = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else { return };
    let (dbid, key, ele) = (c.db, c.argv.get(1).to_vec(), c.argv.get(3));
    let list = match lookup_list(srv, dbid, &key, LookupFlags::Write) {
        Err(WrongType) => return c.reply.add_reply_wrong_type(),
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(list)) => list,
    };
    // As in Redis's C, LONG_MIN negated stays LONG_MIN, so it never stops early.
    let (toremove, dir) = match toremove < 0 {
        true => (toremove.wrapping_neg(), Direction::StartTail),
        false => (toremove, Direction::StartHead),
    };
    let ql = &mut list.ql;
    let mut it = ql.iter(dir);
    let mut removed = 0i64;
    while let Some(entry) = ql.next_entry(&mut it) {
        if ql.compare(entry, ele) {
            ql.del_entry(&mut it, entry);
            removed += 1;
            if toremove != 0 && removed == toremove {
                break;
            }
        }
    }
    let emptied = ql.is_empty();
    srv.dirty += removed as u64;
    if removed > 0 {
        notify_list(srv, c, "lrem", &key);
    }
    if emptied {
        delete_emptied_list(srv, c, &key);
    }
    if removed > 0 {
        srv.signal_modified_key(dbid, &key);
    }
    c.reply.add_reply_long_long(removed);
}

// ----------------------------------------------------------------------------------------
// LMOVE, RPOPLPUSH, LMPOP
// ----------------------------------------------------------------------------------------

/// Redis: t_list.c lmoveHandlePush(): pushes `value` to the list at `dst` (creating it),
/// then replies with the value.
fn lmove_handle_push(srv: &mut Server, c: &mut Client, dst: &[u8], value: &[u8], end: End) {
    let dbid = c.db;
    if list_at(srv, dbid, dst).is_none() {
        create_list_key(srv, c, dst);
    }
    srv.signal_modified_key(dbid, dst);
    if let Some(list) = list_at(srv, dbid, dst) {
        list.push(value, end);
    }
    notify_list(srv, c, push_event(end), dst);
    c.reply.add_reply_bulk(value);
}

/// Redis: t_list.c lmoveGenericCommand(): pops from argv[1] at `from`, pushes to argv[2]
/// at `to`. The destination's type is checked before anything moves; source and
/// destination may be the same list (a rotation).
fn lmove_generic_command(srv: &mut Server, c: &mut Client, from: End, to: End) -> bool {
    let dbid = c.db;
    let (src, dst) = (c.argv.get(1).to_vec(), c.argv.get(2).to_vec());
    match lookup_list(srv, dbid, &src, LookupFlags::Write) {
        Err(WrongType) => return wrong_type(c),
        Ok(None) => {
            c.reply.add_reply_null();
            return false;
        }
        Ok(Some(_)) => {}
    }
    if let Err(WrongType) = lookup_list(srv, dbid, &dst, LookupFlags::Write) {
        return wrong_type(c);
    }
    let Some(value) = list_at(srv, dbid, &src).and_then(|l| l.pop(from)) else {
        c.reply.add_reply_null();
        return false;
    };
    lmove_handle_push(srv, c, &dst, &value, to);
    notify_list(srv, c, pop_event(from), &src);
    if list_at(srv, dbid, &src).is_some_and(|l| l.is_empty()) {
        delete_emptied_list(srv, c, &src);
    }
    srv.signal_modified_key(dbid, &src);
    srv.dirty += 1;
    true
}

fn wrong_type(c: &mut Client) -> bool {
    c.reply.add_reply_wrong_type();
    false
}

/// Redis: t_list.c lmoveCommand().
pub fn lmove_command(srv: &mut Server, c: &mut Client) {
    let Some(from) = get_list_position_or_reply(&mut c.reply, c.argv.get(3)) else { return };
    let Some(to) = get_list_position_or_reply(&mut c.reply, c.argv.get(4)) else { return };
    lmove_generic_command(srv, c, from, to);
}

/// Redis: t_list.c rpoplpushCommand().
pub fn rpoplpush_command(srv: &mut Server, c: &mut Client) {
    lmove_generic_command(srv, c, End::Tail, End::Head);
}

/// Redis: t_list.c mpopGenericCommand(): pops up to `count` elements from the first
/// non-empty list among `keys`; a null array when there is none.
fn mpop_generic_command(srv: &mut Server, c: &mut Client, keys: &[Vec<u8>], end: End, count: i64) {
    let dbid = c.db;
    for key in keys {
        match lookup_list(srv, dbid, key, LookupFlags::Write) {
            Err(WrongType) => return c.reply.add_reply_wrong_type(),
            Ok(None) => continue,
            Ok(Some(list)) if list.is_empty() => continue,
            Ok(Some(_)) => return pop_range_with_key_and_rewrite(srv, c, key, end, count),
        }
    }
    c.reply.add_reply_null_array();
}

/// Redis: listPopRangeAndReplyWithKey() + the "[LR]POP key count" rewrite of the MPOP paths.
fn pop_range_with_key_and_rewrite(srv: &mut Server, c: &mut Client, key: &[u8], end: End, count: i64) {
    let dbid = c.db;
    let Some(list) = list_at(srv, dbid, key) else { return c.reply.add_reply_null_array() };
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk(key);
    let popped = pop_range_and_reply(&mut c.reply, list, end, count);
    list_elements_removed(srv, c, key, end, popped);
    let count_arg = util::ll2string(popped as i64);
    let name: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
    rewrite_client_command_vector(c, &[name, key, count_arg.as_bytes()]);
}

/// Redis: t_list.c lmpopGenericCommand(): parses `numkeys key... LEFT|RIGHT [COUNT n]`
/// starting at `numkeys_idx`, then pops or (BLMPOP) blocks.
fn lmpop_generic_command(srv: &mut Server, c: &mut Client, numkeys_idx: usize, block: bool) {
    const NUMKEYS_ERR: Option<&str> = Some("numkeys should be greater than 0");
    let numkeys_arg = c.argv.get(numkeys_idx);
    let Some(numkeys) = obj::get_range_long_from_object_or_reply(&mut c.reply, numkeys_arg, 1, i64::MAX, NUMKEYS_ERR)
    else {
        return;
    };
    let where_idx = (numkeys as u64).saturating_add(numkeys_idx as u64 + 1);
    if where_idx >= c.argv.len() as u64 {
        return c.reply.add_reply_syntax_error();
    }
    let where_idx = where_idx as usize;
    let Some(end) = get_list_position_or_reply(&mut c.reply, c.argv.get(where_idx)) else { return };
    let Some(count) = parse_mpop_count(c, where_idx + 1) else { return };
    let keys: Vec<Vec<u8>> = (numkeys_idx + 1..where_idx).map(|i| c.argv.get(i).to_vec()).collect();
    if block {
        blocking_pop_generic_command(srv, c, &keys, end, 1, Some(count));
    } else {
        mpop_generic_command(srv, c, &keys, end, count);
    }
}

/// The `[COUNT n]` tail of LMPOP/BLMPOP (given once, n >= 1); 1 when absent.
fn parse_mpop_count(c: &mut Client, first: usize) -> Option<i64> {
    let mut count = None;
    let mut j = first;
    while j < c.argv.len() {
        let moreargs = j + 1 < c.argv.len();
        if count.is_none() && c.argv.get(j).eq_ignore_ascii_case(b"count") && moreargs {
            let msg = Some("count should be greater than 0");
            count = Some(obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), 1, i64::MAX, msg)?);
            j += 2;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
    }
    Some(count.unwrap_or(1))
}

/// Redis: t_list.c lmpopCommand().
pub fn lmpop_command(srv: &mut Server, c: &mut Client) {
    lmpop_generic_command(srv, c, 1, false);
}

// ----------------------------------------------------------------------------------------
// Blocking commands: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP
// ----------------------------------------------------------------------------------------

/// Redis: t_list.c blockingPopGenericCommand(): pops from the first non-empty list among
/// `keys` (BLPOP/BRPOP reply [key, element]; BLMPOP with `count` replies [key, [elements]]),
/// or blocks on all of them. Inside MULTI it replies a null array instead of blocking.
fn blocking_pop_generic_command(
    srv: &mut Server,
    c: &mut Client,
    keys: &[Vec<u8>],
    end: End,
    timeout_idx: usize,
    count: Option<i64>,
) {
    let Some(timeout) = blocked::get_timeout_from_object_or_reply(c, timeout_idx, true) else { return };
    let dbid = c.db;
    for key in keys {
        match lookup_list(srv, dbid, key, LookupFlags::Write) {
            Err(WrongType) => return c.reply.add_reply_wrong_type(),
            Ok(None) => continue,
            Ok(Some(list)) if list.is_empty() => continue,
            Ok(Some(_)) => {}
        }
        match count {
            Some(count) => return pop_range_with_key_and_rewrite(srv, c, key, end, count),
            None => return serve_single_pop(srv, c, key, end),
        }
    }
    if c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.reply.add_reply_null_array();
    }
    let key_refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    blocked::block_for_keys(srv, c, BlockType::List, &key_refs, timeout);
}

/// The BLPOP/BRPOP answer from a non-empty list: [key, element], replicated as [LR]POP.
fn serve_single_pop(srv: &mut Server, c: &mut Client, key: &[u8], end: End) {
    let dbid = c.db;
    let Some(value) = list_at(srv, dbid, key).and_then(|l| l.pop(end)) else { return };
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk(key);
    c.reply.add_reply_bulk(&value);
    list_elements_removed(srv, c, key, end, 1);
    let name: &[u8] = if end == End::Head { b"LPOP" } else { b"RPOP" };
    rewrite_client_command_vector(c, &[name, key]);
}

/// BLPOP/BRPOP: `key... timeout`.
fn blocking_pop_keys_then_timeout(srv: &mut Server, c: &mut Client, end: End) {
    let last = c.argv.len() - 1;
    let keys: Vec<Vec<u8>> = (1..last).map(|i| c.argv.get(i).to_vec()).collect();
    blocking_pop_generic_command(srv, c, &keys, end, last, None);
}

/// Redis: t_list.c blpopCommand().
pub fn blpop_command(srv: &mut Server, c: &mut Client) {
    blocking_pop_keys_then_timeout(srv, c, End::Head);
}

/// Redis: t_list.c brpopCommand().
pub fn brpop_command(srv: &mut Server, c: &mut Client) {
    blocking_pop_keys_then_timeout(srv, c, End::Tail);
}

/// Redis: t_list.c blmpopCommand(): `timeout numkeys key... LEFT|RIGHT [COUNT n]`.
pub fn blmpop_command(srv: &mut Server, c: &mut Client) {
    lmpop_generic_command(srv, c, 2, true);
}

/// Redis: t_list.c blmoveGenericCommand(): LMOVE at once when the source has elements,
/// else block on the source (inside MULTI: a null reply).
fn blmove_generic_command(srv: &mut Server, c: &mut Client, from: End, to: End, timeout: i64) {
    let (dbid, src) = (c.db, c.argv.get(1).to_vec());
    match lookup_list(srv, dbid, &src, LookupFlags::Write) {
        Err(WrongType) => c.reply.add_reply_wrong_type(),
        Ok(None) if c.flags & CLIENT_DENY_BLOCKING != 0 => c.reply.add_reply_null(),
        Ok(None) => blocked::block_for_keys(srv, c, BlockType::List, &[src.as_slice()], timeout),
        Ok(Some(_)) => {
            if lmove_generic_command(srv, c, from, to) && c.reprocessing {
                rewrite_blocking_move(c, from, to);
            }
        }
    }
}

/// Redis: serveClientBlockedOnList(): a blocked BLMOVE that was served is replicated as
/// LMOVE src dst LEFT|RIGHT LEFT|RIGHT, a BRPOPLPUSH as RPOPLPUSH (one that found data at
/// once goes as the client sent it, as in Redis 7.0).
fn rewrite_blocking_move(c: &mut Client, from: End, to: End) {
    let (src, dst) = (c.argv.get(1).to_vec(), c.argv.get(2).to_vec());
    let side = |end: End| -> &'static [u8] { if end == End::Head { b"LEFT" } else { b"RIGHT" } };
    if c.argv.len() == 4 {
        rewrite_client_command_vector(c, &[b"RPOPLPUSH", &src, &dst]);
    } else {
        rewrite_client_command_vector(c, &[b"LMOVE", &src, &dst, side(from), side(to)]);
    }
}

/// Redis: t_list.c blmoveCommand().
pub fn blmove_command(srv: &mut Server, c: &mut Client) {
    let Some(from) = get_list_position_or_reply(&mut c.reply, c.argv.get(3)) else { return };
    let Some(to) = get_list_position_or_reply(&mut c.reply, c.argv.get(4)) else { return };
    let Some(timeout) = blocked::get_timeout_from_object_or_reply(c, 5, true) else { return };
    blmove_generic_command(srv, c, from, to, timeout);
}

/// Redis: t_list.c brpoplpushCommand().
pub fn brpoplpush_command(srv: &mut Server, c: &mut Client) {
    let Some(timeout) = blocked::get_timeout_from_object_or_reply(c, 3, true) else { return };
    blmove_generic_command(srv, c, End::Tail, End::Head, timeout);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ValueRef;
    use crate::networking::CLIENT_BLOCKED;
    use crate::test_support::{run_command as run, test_server};

    fn rpush_abc(srv: &mut Server, c: &mut Client) {
        assert_eq!(run(srv, c, rpush_command, &["rpush", "l", "a", "b", "c"]), ":3\r\n");
    }

    /// MEMORY USAGE, DEBUG OBJECT and DEBUG DIGEST-VALUE of RPUSH l a b c on redis 7.0.15.
    #[test]
    fn sizes_digest_and_debug_fields_match_redis() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        rpush_abc(&mut srv, &mut c);
        let o = srv.db[0].dict.get(&b"l"[..]).expect("pushed");
        assert_eq!(obj::key_memory_usage(b"l", o, 5), 144);
        assert_eq!(debug::rdb_saved_object_len(o, true), 19);
        let ValueRef::List(list) = o.value() else { panic!("not a list") };
        assert_eq!(list.encoding_name(), "quicklist");
        assert_eq!(
            list.debug_object_extra(),
            " ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:16"
        );
        let mut digest = [0u8; 20];
        debug::xor_object_digest(&srv.db[0], b"l", &mut digest, o);
        assert_eq!(&crate::sha1::digest_to_hex(&digest)[..], &b"8bf72d812571eea9b927f3c11beb0c4165a6ff89"[..]);
    }

    #[test]
    fn pops_reply_in_7_0_shapes_and_delete_the_emptied_key() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        assert_eq!(run(&mut srv, &mut c, lpop_command, &["lpop", "l"]), "$-1\r\n");
        assert_eq!(run(&mut srv, &mut c, lpop_command, &["lpop", "l", "0"]), "*-1\r\n");
        rpush_abc(&mut srv, &mut c);
        assert_eq!(run(&mut srv, &mut c, lpop_command, &["lpop", "l", "0"]), "*0\r\n");
        assert_eq!(run(&mut srv, &mut c, rpop_command, &["rpop", "l", "2"]), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
        let dirty = srv.dirty;
        assert_eq!(run(&mut srv, &mut c, lpop_command, &["lpop", "l"]), "$1\r\na\r\n");
        assert_eq!(srv.dirty, dirty + 1);
        assert_eq!(srv.db[0].size(), 0);
        let err = run(&mut srv, &mut c, lpop_command, &["lpop", "l", "-1"]);
        assert_eq!(err, "-ERR value is out of range, must be positive\r\n");
    }

    #[test]
    fn lmove_rotates_a_single_list_and_checks_the_destination_first() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        rpush_abc(&mut srv, &mut c);
        assert_eq!(run(&mut srv, &mut c, lmove_command, &["lmove", "l", "l", "left", "right"]), "$1\r\na\r\n");
        let all = run(&mut srv, &mut c, lrange_command, &["lrange", "l", "0", "-1"]);
        assert_eq!(all, "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n");
        srv.db[0].db_add(b"s", RObj::string_from(b"x", 0));
        let wrong = run(&mut srv, &mut c, rpoplpush_command, &["rpoplpush", "l", "s"]);
        assert!(wrong.starts_with("-WRONGTYPE"));
        assert_eq!(run(&mut srv, &mut c, llen_command, &["llen", "l"]), ":3\r\n");
    }

    /// C's `-LONG_MIN` stays LONG_MIN: LPOS then takes every match, LREM removes all.
    #[test]
    fn long_min_ranks_and_counts_behave_like_redis() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        run(&mut srv, &mut c, rpush_command, &["rpush", "p", "x", "y", "x", "x"]);
        let min = "-9223372036854775808";
        assert_eq!(run(&mut srv, &mut c, lpos_command, &["lpos", "p", "x", "rank", min]), ":3\r\n");
        let all = run(&mut srv, &mut c, lpos_command, &["lpos", "p", "x", "rank", min, "count", "1"]);
        assert_eq!(all, "*3\r\n:3\r\n:2\r\n:0\r\n");
        assert_eq!(run(&mut srv, &mut c, lrem_command, &["lrem", "p", min, "x"]), ":3\r\n");
        assert_eq!(run(&mut srv, &mut c, lrange_command, &["lrange", "p", "0", "-1"]), "*1\r\n$1\r\ny\r\n");
    }

    #[test]
    fn blocking_pops_block_or_answer_as_on_timeout_when_denied() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        c.flags |= CLIENT_DENY_BLOCKING;
        assert_eq!(run(&mut srv, &mut c, blpop_command, &["blpop", "k", "0"]), "*-1\r\n");
        assert_eq!(run(&mut srv, &mut c, blmove_command, &["blmove", "k", "d", "left", "left", "0"]), "$-1\r\n");
        assert_eq!(run(&mut srv, &mut c, blmpop_command, &["blmpop", "0", "1", "k", "left"]), "*-1\r\n");
        c.flags &= !CLIENT_DENY_BLOCKING;
        assert_eq!(run(&mut srv, &mut c, brpop_command, &["brpop", "k", "k2", "0"]), "");
        assert!(c.flags & CLIENT_BLOCKED != 0);
        assert_eq!(c.bstate.as_ref().map(|b| b.keys.len()), Some(2));
    }

    #[test]
    fn served_blocking_pops_are_rewritten_for_propagation() {
        let (mut srv, mut c) = (test_server(), Client::new(1, None, 0));
        rpush_abc(&mut srv, &mut c);
        assert_eq!(run(&mut srv, &mut c, blpop_command, &["blpop", "x", "l", "0"]), "*2\r\n$1\r\nl\r\n$1\r\na\r\n");
        assert_eq!(c.argv.to_vecs(), [b"LPOP".to_vec(), b"l".to_vec()]);
        let reply = run(&mut srv, &mut c, blmpop_command, &["blmpop", "0", "1", "l", "right", "count", "5"]);
        assert_eq!(reply, "*2\r\n$1\r\nl\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
        assert_eq!(c.argv.to_vecs(), [b"RPOP".to_vec(), b"l".to_vec(), b"2".to_vec()]);
    }
}

//! Stream commands: the command half of Redis's t_stream.c (the data structure is in
//! stream.rs). XADD/XTRIM/XDEL write entries; XRANGE/XREVRANGE/XLEN/XREAD read them;
//! XGROUP/XREADGROUP/XACK/XPENDING/XCLAIM/XAUTOCLAIM/XSETID/XINFO manage consumer groups.
//!
//! Each command runs to completion inside one event-loop turn. The exception is XREAD /
//! XREADGROUP with BLOCK: when nothing can be served the client is parked with
//! blocked.rs (BlockType::Stream) and its command runs again once a write signals one of
//! its keys (XADD, XGROUP DESTROY, a deletion). A `$` ID is rewritten to the stream's last
//! ID before blocking, so the re-run asks for what arrived since. A re-run that still finds
//! nothing blocks again with the original timeout.

use crate::blocked::{self, BlockType};
use crate::db::{self, LookupFlags};
use crate::networking::{rewrite_client_command_argument, Client, CLIENT_DENY_BLOCKING};
use crate::object::{RObj, Value, ValueMut};
use crate::replication::propagate;
use crate::reply::Reply;
use crate::server::Server;
use crate::stream::lp::LpVal;
use crate::stream::{
    AppendError, ConsumerGroup, Entry, NodeLimits, Stream, StreamId, TrimArgs, TrimStrategy,
    SCG_INVALID_ENTRIES_READ,
};
use crate::util;

/// The value type object.rs stores for OBJ_STREAM.
pub type StreamValue = Stream;

const INVALID_ID: &str = "Invalid stream ID specified as stream command argument";
/// Redis: XREAD_BLOCKED_DEFAULT_COUNT: a served blocked XREAD without COUNT gets at most this.
const XREAD_BLOCKED_DEFAULT_COUNT: i64 = 1000;
/// Redis: the attempts_factor of XAUTOCLAIM: PEL entries looked at per COUNT.
const XAUTOCLAIM_ATTEMPTS_FACTOR: i64 = 10;

// ----------------------------------------------------------------------------------------
// Argument helpers
// ----------------------------------------------------------------------------------------

/// The argument as C string functions see it: up to its first NUL.
fn cstr(arg: &[u8]) -> &[u8] {
    match memchr::memchr(0, arg) {
        Some(end) => &arg[..end],
        None => arg,
    }
}

/// Redis: `!strcasecmp(arg, name)`.
fn arg_is(arg: &[u8], name: &str) -> bool {
    util::str_eq_ignore_case(cstr(arg), name.as_bytes())
}

/// Redis: streamGenericParseIDOrReply() without the reply: `<ms>-<seq>`, `<ms>` (seq =
/// `missing_seq`), `-` / `+` unless `strict`, and `<ms>-*` when `seq_auto` (then the flag
/// returned is false: the sequence was not given).
fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, seq_auto: bool) -> Option<(StreamId, bool)> {
    if arg.len() > 127 {
        return None;
    }
    let buf = cstr(arg);
    match buf {
        b"-" | b"+" if strict => None,
        b"-" => Some((StreamId::MIN, true)),
        b"+" => Some((StreamId::MAX, true)),
        _ => {
            let (ms_part, seq_part) = match memchr::memchr(b'-', buf) {
                Some(dash) => (&buf[..dash], Some(&buf[dash + 1..])),
                None => (buf, None),
            };
            let ms = util::string2ull(ms_part)?;
            match seq_part {
                Some(b"*") if seq_auto => Some((StreamId::new(ms, 0), false)),
                Some(seq) => Some((StreamId::new(ms, util::string2ull(seq)?), true)),
                None => Some((StreamId::new(ms, missing_seq), true)),
            }
        }
    }
}

/// Redis: streamParseIDOrReply() (`-` and `+` allowed).
fn parse_id_or_reply(reply: &mut Reply, arg: &[u8], missing_seq: u64) -> Option<StreamId> {
    let parsed = parse_id(arg, missing_seq, false, false).map(|(id, _)| id);
    if parsed.is_none() {
        reply.add_reply_error(INVALID_ID);
    }
    parsed
}

/// Redis: streamParseStrictIDOrReply() without the `<ms>-*` form.
fn parse_strict_id_or_reply(reply: &mut Reply, arg: &[u8], missing_seq: u64) -> Option<StreamId> {
    let parsed = parse_id(arg, missing_seq, true, false).map(|(id, _)| id);
    if parsed.is_none() {
        reply.add_reply_error(INVALID_ID);
    }
    parsed
}

/// Redis: streamParseIntervalIDOrReply() and the increment/decrement of an exclusive
/// bound ("(" prefix) that XRANGE, XPENDING and XAUTOCLAIM apply.
fn parse_range_bound_or_reply(reply: &mut Reply, arg: &[u8], missing_seq: u64, is_start: bool) -> Option<StreamId> {
    let exclusive = arg.len() > 1 && arg.first() == Some(&b'(');
    if !exclusive {
        return parse_id_or_reply(reply, arg, missing_seq);
    }
    let id = parse_strict_id_or_reply(reply, &arg[1..], missing_seq)?;
    let moved = if is_start { id.incr() } else { id.decr() };
    if moved.is_none() {
        reply.add_reply_error(if is_start { "invalid start ID for the interval" } else { "invalid end ID for the interval" });
    }
    moved
}

fn get_long_long_or_reply(reply: &mut Reply, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    crate::object::get_long_long_from_object_or_reply(reply, arg, msg)
}


/// An error text that quotes client bytes (key or group names), C-string style.
fn error_with_names(reply: &mut Reply, parts: &[&[u8]]) {
    let msg: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    reply.add_reply_error_bytes(&msg);
}

fn node_limits(srv: &Server) -> NodeLimits {
    NodeLimits { max_bytes: srv.config.stream_node_max_bytes, max_entries: srv.config.stream_node_max_entries }
}

fn now_ms(srv: &Server) -> i64 {
    srv.cmd_time_snapshot
}

/// Redis: notifyKeyspaceEvent(NOTIFY_STREAM, event, key, dbid).
fn notify_stream(srv: &mut Server, event: &str, key: &[u8], dbid: usize) {
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_STREAM, event, key, dbid);
}

// ----------------------------------------------------------------------------------------
// What consumer-group commands record in the replication stream
// ----------------------------------------------------------------------------------------

/// The key, group and consumer a consumer-group command works on.
#[derive(Debug, Clone, Copy)]
struct GroupNames<'a> {
    key: &'a [u8],
    group: &'a [u8],
    consumer: &'a [u8],
}

/// The commands XREADGROUP, XCLAIM and XAUTOCLAIM record instead of themselves (a replica
/// replaying them would compute idle times and delivery counts from its own clock).
/// They are collected while the stream is borrowed and queued afterwards, in order; when
/// nothing records the stream, nothing is built.
struct GroupOps {
    enabled: bool,
    ops: Vec<Vec<Vec<u8>>>,
}

impl GroupOps {
    fn new(srv: &Server) -> GroupOps {
        GroupOps { enabled: propagate::should_propagate(srv), ops: Vec::new() }
    }

    /// Redis: t_stream.c streamPropagateXCLAIM(): `XCLAIM <key> <group> <owner> 0 <id> TIME
    /// <ms> RETRYCOUNT <n> FORCE JUSTID LASTID <group last id>` sets the pending entry `id`
    /// on the replica exactly as it is here (or drops it there when the entry is gone).
    /// `typed` is the ID as the client wrote it (XCLAIM records that), else the canonical form.
    fn xclaim(&mut self, n: &GroupNames, cg: &ConsumerGroup, id: StreamId, typed: Option<&[u8]>) {
        let Some(nack) = cg.pel.get(&id).filter(|_| self.enabled) else { return };
        let id_arg = typed.map_or_else(|| id.to_bytes(), <[u8]>::to_vec);
        let time = nack.delivery_time.to_string().into_bytes();
        // Redis prints the unsigned counter as a long long.
        let count = (nack.delivery_count as i64).to_string().into_bytes();
        let argv: [&[u8]; 14] = [
            b"XCLAIM", n.key, n.group, &nack.consumer, b"0", &id_arg, b"TIME", &time,
            b"RETRYCOUNT", &count, b"FORCE", b"JUSTID", b"LASTID", &cg.last_id.to_bytes(),
        ];
        self.ops.push(argv.iter().map(|a| a.to_vec()).collect());
    }

    /// Redis: t_stream.c streamPropagateGroupID(): `XGROUP SETID <key> <group> <last id>
    /// ENTRIESREAD <n>`.
    fn group_id(&mut self, n: &GroupNames, cg: &ConsumerGroup) {
        if self.enabled {
            let entries_read = cg.entries_read.to_string().into_bytes();
            let argv: [&[u8]; 7] = [b"XGROUP", b"SETID", n.key, n.group, &cg.last_id.to_bytes(), b"ENTRIESREAD", &entries_read];
            self.ops.push(argv.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Redis: t_stream.c streamPropagateConsumerCreation(): `XGROUP CREATECONSUMER <key>
    /// <group> <consumer>`.
    fn consumer_creation(&mut self, n: &GroupNames) {
        if self.enabled {
            let argv: [&[u8]; 5] = [b"XGROUP", b"CREATECONSUMER", n.key, n.group, n.consumer];
            self.ops.push(argv.iter().map(|a| a.to_vec()).collect());
        }
    }

    /// Redis: the alsoPropagate() of each streamPropagate*() call.
    fn queue(self, srv: &mut Server, dbid: usize) {
        for argv in self.ops {
            propagate::also_propagate(srv, dbid, argv);
        }
    }
}

// ----------------------------------------------------------------------------------------
// Lookups and replies
// ----------------------------------------------------------------------------------------

fn as_stream(obj: &mut RObj) -> Option<&mut Stream> {
    match obj.value_mut() {
        ValueMut::Stream(s) => Some(s),
        ValueMut::Str(_) | ValueMut::List(_) | ValueMut::Hash(_) | ValueMut::Set(_) | ValueMut::ZSet(_) => None,
    }
}

/// Redis: lookupKey*() + checkType(c,o,OBJ_STREAM): Ok(None) when missing, Err once
/// WRONGTYPE was replied.
fn lookup_stream<'a>(
    srv: &'a mut Server,
    dbid: usize,
    key: &[u8],
    reply: &mut Reply,
    flags: LookupFlags,
) -> Result<Option<&'a mut Stream>, ()> {
    match db::lookup_key(srv, dbid, key, flags) {
        None => Ok(None),
        Some(obj) => match as_stream(obj) {
            Some(s) => Ok(Some(s)),
            None => {
                reply.add_reply_wrong_type();
                Err(())
            }
        },
    }
}

/// The stream at `key` if it is one, without replying (blocked re-runs, XGROUP MKSTREAM).
fn stream_at<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut Stream> {
    srv.db.get_mut(dbid)?.dict.find(key).and_then(as_stream)
}

/// Redis: addReplyStreamID().
fn add_reply_stream_id(reply: &mut Reply, id: StreamId) {
    let (text, len) = id.text();
    reply.add_reply_bulk(&text[..len]);
}

fn add_reply_lp_val(reply: &mut Reply, val: LpVal<'_>, scratch: &mut Vec<u8>) {
    reply.add_reply_bulk(val.bytes(scratch));
}

/// One entry as XRANGE shows it: [id, [field, value, ...]].
fn add_reply_entry(reply: &mut Reply, entry: &Entry<'_>, scratch: &mut Vec<u8>) {
    reply.add_reply_array_len(2);
    add_reply_stream_id(reply, entry.id);
    reply.add_reply_array_len(entry.numfields as usize * 2);
    for (field, value) in entry.fields() {
        add_reply_lp_val(reply, field, scratch);
        add_reply_lp_val(reply, value, scratch);
    }
}

/// Redis: streamReplyWithRange() without a group: up to `count` (0: all) entries of the
/// range, as an array unless `raw` (STREAM_RWR_RAWENTRIES). Returns the IDs emitted.
fn reply_with_range(
    reply: &mut Reply,
    s: &Stream,
    range: (Option<StreamId>, Option<StreamId>),
    count: usize,
    rev: bool,
    raw: bool,
) -> Vec<StreamId> {
    let mark = (!raw).then(|| reply.add_reply_deferred_len());
    let mut scratch = Vec::new();
    let mut emitted = Vec::new();
    for entry in s.iter(range.0, range.1, rev) {
        add_reply_entry(reply, &entry, &mut scratch);
        emitted.push(entry.id);
        if count != 0 && emitted.len() == count {
            break;
        }
    }
    if let Some(mark) = mark {
        reply.set_deferred_array_len(mark, emitted.len());
    }
    emitted
}

/// Emits the single entry `id` (raw), or returns false if it does not exist.
fn reply_single_entry(reply: &mut Reply, s: &Stream, id: StreamId) -> bool {
    !reply_with_range(reply, s, (Some(id), Some(id)), 1, false, true).is_empty()
}

// ----------------------------------------------------------------------------------------
// XADD and XTRIM
// ----------------------------------------------------------------------------------------

/// Redis: streamAddTrimArgs (the XADD and XTRIM options).
#[derive(Debug, Clone, Copy)]
struct AddTrimArgs {
    id: StreamId,
    id_given: bool,
    seq_given: bool,
    no_mkstream: bool,
    trim: TrimArgs,
    /// Argument index of the MAXLEN count / MINID id (for rewriting `~`).
    trim_arg_idx: usize,
    /// Where the loop stopped: the ID position for XADD.
    idpos: usize,
}

/// Parses `MAXLEN|MINID [~|=] <arg>` at `i` (the option name). Returns the index of <arg>.
fn parse_trim_strategy(c: &mut Client, args: &mut AddTrimArgs, mut i: usize, maxlen: bool) -> Option<usize> {
    if args.trim.strategy != TrimStrategy::None {
        c.reply.add_reply_error("syntax error, MAXLEN and MINID options at the same time are not compatible");
        return None;
    }
    let moreargs = c.argv.len() - 1 - i;
    args.trim.approx = false;
    let next = cstr(c.argv.get(i + 1));
    if moreargs >= 2 && next == b"~" {
        args.trim.approx = true;
        i += 1;
    } else if moreargs >= 2 && next == b"=" {
        i += 1;
    }
    let arg = c.argv.get(i + 1);
    args.trim.strategy = if maxlen {
        let n = get_long_long_or_reply(&mut c.reply, arg, None)?;
        let Ok(n) = u64::try_from(n) else {
            c.reply.add_reply_error("The MAXLEN argument must be >= 0.");
            return None;
        };
        TrimStrategy::MaxLen(n)
    } else {
        TrimStrategy::MinId(parse_strict_id_or_reply(&mut c.reply, arg, 0)?)
    };
    args.trim_arg_idx = i + 1;
    Some(i + 1)
}

/// Redis: streamParseAddOrTrimArgsOrReply(): the options loop, then the LIMIT rules.
fn parse_add_or_trim_args(srv: &Server, c: &mut Client, xadd: bool) -> Option<AddTrimArgs> {
    let none = TrimArgs { strategy: TrimStrategy::None, approx: false, limit: 0 };
    let mut args = AddTrimArgs {
        id: StreamId::MIN,
        id_given: false,
        seq_given: true,
        no_mkstream: false,
        trim: none,
        trim_arg_idx: 0,
        idpos: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    while i < c.argv.len() {
        let moreargs = c.argv.len() - 1 - i;
        let opt = c.argv.get(i);
        if xadd && cstr(opt) == b"*" {
            break;
        } else if arg_is(opt, "maxlen") && moreargs > 0 {
            i = parse_trim_strategy(c, &mut args, i, true)?;
        } else if arg_is(opt, "minid") && moreargs > 0 {
            i = parse_trim_strategy(c, &mut args, i, false)?;
        } else if arg_is(opt, "limit") && moreargs > 0 {
            args.trim.limit = get_long_long_or_reply(&mut c.reply, c.argv.get(i + 1), None)?;
            if args.trim.limit < 0 {
                c.reply.add_reply_error("The LIMIT argument must be >= 0.");
                return None;
            }
            limit_given = true;
            i += 1;
        } else if xadd && arg_is(opt, "nomkstream") {
            args.no_mkstream = true;
        } else if xadd {
            let Some((id, seq_given)) = parse_id(opt, 0, true, true) else {
                c.reply.add_reply_error(INVALID_ID);
                return None;
            };
            (args.id, args.seq_given, args.id_given) = (id, seq_given, true);
            break;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        i += 1;
    }
    args.idpos = i;
    check_trim_limit(srv, c, &mut args, xadd, limit_given).then_some(args)
}

/// The end of streamParseAddOrTrimArgsOrReply(): LIMIT needs a strategy and `~`; `~`
/// without LIMIT gets 100 nodes' worth of entries.
fn check_trim_limit(srv: &Server, c: &mut Client, args: &mut AddTrimArgs, xadd: bool, limit_given: bool) -> bool {
    let no_strategy = args.trim.strategy == TrimStrategy::None;
    if args.trim.limit != 0 && no_strategy {
        c.reply.add_reply_error("syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return false;
    }
    if !xadd && no_strategy {
        c.reply.add_reply_error("syntax error, XTRIM must be called with a trimming strategy");
        return false;
    }
    if crate::t_string::must_obey_client(c) {
        args.trim.limit = 0;
    } else if limit_given {
        if !args.trim.approx {
            c.reply.add_reply_error("syntax error, LIMIT cannot be used without the special ~ option");
            return false;
        }
    } else if args.trim.approx {
        let limit = srv.config.stream_node_max_entries.saturating_mul(100);
        args.trim.limit = if limit <= 0 { 10000 } else { limit.min(1_000_000) };
    } else {
        args.trim.limit = 0;
    }
    true
}

/// Redis: streamRewriteApproxSpecifier() + streamRewriteTrimArgument(): an approximate trim
/// is propagated as the exact result (`= <length>` or `= <first id>`).
fn rewrite_approx_trim(c: &mut Client, s: &Stream, args: &AddTrimArgs) {
    if !args.trim.approx {
        return;
    }
    let value = match args.trim.strategy {
        TrimStrategy::MaxLen(_) => s.length.to_string().into_bytes(),
        TrimStrategy::MinId(_) | TrimStrategy::None => s.edge_id(true, false).to_bytes(),
    };
    rewrite_client_command_argument(c, args.trim_arg_idx - 1, b"=");
    rewrite_client_command_argument(c, args.trim_arg_idx, &value);
}

/// Redis: t_stream.c xaddCommand().
pub fn xadd_command(srv: &mut Server, c: &mut Client) {
    let Some(args) = parse_add_or_trim_args(srv, c, true) else { return };
    let field_pos = args.idpos + 1;
    let argc = c.argv.len();
    if argc < field_pos + 2 || (argc - field_pos) % 2 == 1 {
        c.reply.add_reply_error_arity("xadd");
        return;
    }
    if args.id_given && args.seq_given && args.id.is_zero() {
        c.reply.add_reply_error("The ID specified in XADD must be greater than 0-0");
        return;
    }
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    if !xadd_create_if_needed(srv, c, &key, args.no_mkstream) {
        return;
    }
    let (now, limits) = (now_ms(srv) as u64, node_limits(srv));
    let Some(s) = stream_at(srv, dbid, &key) else { return };
    let Some(id) = xadd_append(s, c, &args, field_pos, now, limits) else { return };
    let mut trimmed = false;
    if args.trim.strategy != TrimStrategy::None {
        trimmed = s.trim(&args.trim) > 0;
        rewrite_approx_trim(c, s, &args);
    }
    notify_stream(srv, "xadd", &key, dbid);
    srv.dirty += 1;
    if trimmed {
        notify_stream(srv, "xtrim", &key, dbid);
    }
    // XADD replies before it notifies: its pushes follow the reply.
    crate::pubsub::flush_pending_pushes(srv, c);
    srv.signal_modified_key(dbid, &key);
    // Replicas must get the ID this server chose. The rewritten command is only ever read
    // to be propagated (MONITOR and SLOWLOG show what the client sent), so it is skipped
    // when nothing would receive it.
    if (!args.id_given || !args.seq_given) && propagate::should_propagate(srv) {
        rewrite_client_command_argument(c, args.idpos, &id.to_bytes());
    }
    blocked::signal_key_as_ready(srv, dbid, &key);
}

/// Redis: streamTypeLookupWriteOrCreate(): false once a reply (WRONGTYPE, or the null of
/// NOMKSTREAM on a missing key) was given.
fn xadd_create_if_needed(srv: &mut Server, c: &mut Client, key: &[u8], no_create: bool) -> bool {
    match lookup_stream(srv, c.db, key, &mut c.reply, LookupFlags::Write) {
        Err(()) => false,
        Ok(Some(_)) => true,
        Ok(None) if no_create => {
            c.reply.add_reply_null();
            false
        }
        Ok(None) => {
            let obj = RObj::new(Value::Stream(Box::new(Stream::new())), crate::object::AccessClock::of(srv).initial_lru());
            db::db_add(srv, c.db, key, obj);
            // The "new" event comes before the reply.
            crate::pubsub::flush_pending_pushes(srv, c);
            true
        }
    }
}

/// The append step of xaddCommand(): replies the new ID or the error.
fn xadd_append(s: &mut Stream, c: &mut Client, args: &AddTrimArgs, field_pos: usize, now: u64, limits: NodeLimits) -> Option<StreamId> {
    if s.last_id == StreamId::MAX {
        c.reply.add_reply_error("The stream has exhausted the last possible ID, unable to add more items");
        return None;
    }
    let pairs: Vec<&[u8]> = (field_pos..c.argv.len()).map(|i| c.argv.get(i)).collect();
    let use_id = args.id_given.then_some(args.id);
    match s.append_item(&pairs, use_id, args.seq_given, now, limits) {
        Ok(id) => {
            add_reply_stream_id(&mut c.reply, id);
            Some(id)
        }
        Err(AppendError::IdTooSmall) => {
            c.reply.add_reply_error("The ID specified in XADD is equal or smaller than the target stream top item");
            None
        }
        Err(AppendError::TooLarge) => {
            c.reply.add_reply_error("Elements are too large to be stored");
            None
        }
    }
}

/// Redis: t_stream.c xtrimCommand().
pub fn xtrim_command(srv: &mut Server, c: &mut Client) {
    let Some(args) = parse_add_or_trim_args(srv, c, false) else { return };
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let s = match lookup_stream(srv, dbid, &key, &mut c.reply, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(s)) => s,
    };
    let deleted = s.trim(&args.trim);
    if deleted > 0 {
        rewrite_approx_trim(c, s, &args);
        notify_stream(srv, "xtrim", &key, dbid);
        srv.signal_modified_key(dbid, &key);
        srv.dirty += deleted as u64;
    }
    c.reply.add_reply_long_long(deleted);
}

/// Redis: t_stream.c xdelCommand().
pub fn xdel_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let s = match lookup_stream(srv, dbid, c.argv.get(1), &mut c.reply, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(s)) => s,
    };
    let mut ids = Vec::with_capacity(c.argv.len() - 2);
    for j in 2..c.argv.len() {
        let Some(id) = parse_strict_id_or_reply(&mut c.reply, c.argv.get(j), 0) else { return };
        ids.push(id);
    }
    let deleted = s.delete_items(&ids);
    if deleted > 0 {
        srv.signal_modified_key(dbid, c.argv.get(1));
        notify_stream(srv, "xdel", c.argv.get(1), dbid);
        srv.dirty += deleted;
    }
    c.reply.add_reply_long_long(deleted as i64);
}

// ----------------------------------------------------------------------------------------
// XRANGE, XREVRANGE, XLEN
// ----------------------------------------------------------------------------------------

/// Redis: t_stream.c xrangeGenericCommand().
fn xrange_generic_command(srv: &mut Server, c: &mut Client, rev: bool) {
    let (start_idx, end_idx) = if rev { (3, 2) } else { (2, 3) };
    let Some(start) = parse_range_bound_or_reply(&mut c.reply, c.argv.get(start_idx), 0, true) else { return };
    let Some(end) = parse_range_bound_or_reply(&mut c.reply, c.argv.get(end_idx), u64::MAX, false) else { return };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < c.argv.len() {
        let additional = c.argv.len() - j - 1;
        if arg_is(c.argv.get(j), "COUNT") && additional >= 1 {
            let Some(n) = get_long_long_or_reply(&mut c.reply, c.argv.get(j + 1), None) else { return };
            count = n.max(0);
            j += 1;
        } else {
            return c.reply.add_reply_syntax_error();
        }
        j += 1;
    }
    let s = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_array_len(0),
        Ok(Some(s)) => s,
    };
    if count == 0 {
        c.reply.add_reply_null_array();
    } else {
        reply_with_range(&mut c.reply, s, (Some(start), Some(end)), count.max(0) as usize, rev, false);
    }
}

/// Redis: t_stream.c xrangeCommand().
pub fn xrange_command(srv: &mut Server, c: &mut Client) {
    xrange_generic_command(srv, c, false)
}

/// Redis: t_stream.c xrevrangeCommand().
pub fn xrevrange_command(srv: &mut Server, c: &mut Client) {
    xrange_generic_command(srv, c, true)
}

/// Redis: t_stream.c xlenCommand().
pub fn xlen_command(srv: &mut Server, c: &mut Client) {
    match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(s)) => c.reply.add_reply_long_long(s.length as i64),
    }
}

// ----------------------------------------------------------------------------------------
// XREAD and XREADGROUP
// ----------------------------------------------------------------------------------------

/// The options of XREAD / XREADGROUP.
#[derive(Debug, Clone, Copy)]
struct XReadArgs {
    xreadgroup: bool,
    /// Absolute timeout in ms (0: forever) when BLOCK was given.
    timeout: Option<i64>,
    count: i64,
    streams_arg: usize,
    streams_count: usize,
    noack: bool,
    /// Argument index of the group name; the consumer name follows it.
    group_arg: Option<usize>,
}

/// What to do when the IDs could not be resolved.
enum Unresolved {
    /// An error was replied.
    Replied,
    /// A blocked re-run found the key of another type: XREAD keeps waiting (Redis 7.0 only
    /// serves stream keys).
    Reblock,
}

/// The options loop of xreadCommand().
fn parse_xread_args(c: &mut Client, xreadgroup: bool) -> Option<XReadArgs> {
    let mut a = XReadArgs {
        xreadgroup,
        timeout: None,
        count: 0,
        streams_arg: 0,
        streams_count: 0,
        noack: false,
        group_arg: None,
    };
    let argc = c.argv.len();
    let mut i = 1;
    while i < argc {
        let moreargs = argc - i - 1;
        let opt = c.argv.get(i);
        if arg_is(opt, "BLOCK") && moreargs > 0 {
            i += 1;
            a.timeout = Some(blocked::get_timeout_from_object_or_reply(c, i, false)?);
        } else if arg_is(opt, "COUNT") && moreargs > 0 {
            i += 1;
            a.count = get_long_long_or_reply(&mut c.reply, c.argv.get(i), None)?.max(0);
        } else if arg_is(opt, "STREAMS") && moreargs > 0 {
            a.streams_arg = i + 1;
            return xread_check_streams(c, a);
        } else if arg_is(opt, "GROUP") && moreargs >= 2 {
            if !xreadgroup {
                c.reply.add_reply_error("The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            a.group_arg = Some(i + 1);
            i += 2;
        } else if arg_is(opt, "NOACK") {
            if !xreadgroup {
                c.reply.add_reply_error("The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            a.noack = true;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        i += 1;
    }
    // STREAMS is mandatory.
    c.reply.add_reply_syntax_error();
    None
}

/// After STREAMS: a key and an ID for each stream, and GROUP for XREADGROUP.
fn xread_check_streams(c: &mut Client, mut a: XReadArgs) -> Option<XReadArgs> {
    let streams = c.argv.len() - a.streams_arg;
    if !streams.is_multiple_of(2) {
        // Redis 7.0 says XREAD and '$' for XREADGROUP too.
        c.reply.add_reply_error("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
        return None;
    }
    a.streams_count = streams / 2;
    if a.xreadgroup && a.group_arg.is_none() {
        c.reply.add_reply_error("Missing GROUP option for XREADGROUP");
        return None;
    }
    Some(a)
}

/// The ID loop of xreadCommand(): checks types and groups, resolves `$` and `>` (MAX).
fn resolve_xread_ids(srv: &mut Server, c: &mut Client, a: &XReadArgs) -> Result<Vec<StreamId>, Unresolved> {
    let mut ids = Vec::with_capacity(a.streams_count);
    for i in 0..a.streams_count {
        let key_idx = a.streams_arg + i;
        let obj = db::lookup_key(srv, c.db, c.argv.get(key_idx), LookupFlags::Read);
        let s = match obj.map(as_stream) {
            None => None,
            Some(Some(s)) => Some(&*s),
            Some(None) => return Err(xread_wrong_type(c, a)),
        };
        if let Some(g) = a.group_arg {
            if s.and_then(|s| s.lookup_cg(c.argv.get(g))).is_none() {
                xread_no_group(c, key_idx, g, s.is_none());
                return Err(Unresolved::Replied);
            }
        }
        let arg = c.argv.get(key_idx + a.streams_count);
        let id = match cstr(arg) {
            b"$" if a.xreadgroup => {
                c.reply.add_reply_error("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return Err(Unresolved::Replied);
            }
            b"$" => s.map_or(StreamId::MIN, |s| s.last_id),
            b">" if !a.xreadgroup => {
                c.reply.add_reply_error("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return Err(Unresolved::Replied);
            }
            // Redis marks ">" with the maximum ID.
            b">" => StreamId::MAX,
            _ => parse_strict_id_or_reply(&mut c.reply, arg, 0).ok_or(Unresolved::Replied)?,
        };
        ids.push(id);
    }
    Ok(ids)
}

/// A key of another type: WRONGTYPE, or for a blocked re-run what Redis 7.0 does when the
/// stream was replaced (XREADGROUP fails, XREAD waits on).
fn xread_wrong_type(c: &mut Client, a: &XReadArgs) -> Unresolved {
    match (c.reprocessing, a.xreadgroup) {
        (true, false) => Unresolved::Reblock,
        (true, true) => {
            c.reply.add_reply_error("-UNBLOCKED the stream key no longer exists");
            Unresolved::Replied
        }
        (false, _) => {
            c.reply.add_reply_wrong_type();
            Unresolved::Replied
        }
    }
}

/// The NOGROUP errors of XREADGROUP (a blocked re-run gets Redis 7.0's unblock texts).
fn xread_no_group(c: &mut Client, key_idx: usize, group_idx: usize, key_missing: bool) {
    if c.reprocessing && key_missing {
        c.reply.add_reply_error("-UNBLOCKED the stream key no longer exists");
    } else if c.reprocessing {
        c.reply.add_reply_error("-NOGROUP the consumer group this client was blocked on no longer exists");
    } else {
        let (key, group) = (cstr(c.argv.get(key_idx)), cstr(c.argv.get(group_idx)));
        let parts: [&[u8]; 5] = [b"-NOGROUP No such key '", key, b"' or consumer group '", group, b"' in XREADGROUP with GROUP option"];
        error_with_names(&mut c.reply, &parts);
    }
}

/// Redis: t_stream.c xreadCommand() for XREAD.
pub fn xread_command(srv: &mut Server, c: &mut Client) {
    xread_generic_command(srv, c, false)
}

/// Redis: t_stream.c xreadCommand() for XREADGROUP.
pub fn xreadgroup_command(srv: &mut Server, c: &mut Client) {
    xread_generic_command(srv, c, true)
}

fn xread_generic_command(srv: &mut Server, c: &mut Client, xreadgroup: bool) {
    // XREADGROUP's changes are recorded as the ops serve_xread queues, never as itself.
    propagate::prevent_command_propagation(c);
    let Some(mut a) = parse_xread_args(c, xreadgroup) else { return };
    let ids = match resolve_xread_ids(srv, c, &a) {
        Ok(ids) => ids,
        Err(Unresolved::Replied) => return,
        Err(Unresolved::Reblock) => return xread_block(srv, c, &a),
    };
    if c.reprocessing && a.count == 0 {
        a.count = XREAD_BLOCKED_DEFAULT_COUNT;
    }
    if serve_xread(srv, c, &a, &ids) > 0 {
        return;
    }
    if a.timeout.is_some() {
        if c.flags & CLIENT_DENY_BLOCKING != 0 {
            return c.reply.add_reply_null_array();
        }
        // A blocked client runs again when served: `$` must then mean this moment's last ID.
        for (i, id) in ids.iter().enumerate() {
            let idx = a.streams_arg + a.streams_count + i;
            if cstr(c.argv.get(idx)) == b"$" {
                rewrite_client_command_argument(c, idx, &id.to_bytes());
            }
        }
        return xread_block(srv, c, &a);
    }
    c.reply.add_reply_null_array();
}

fn xread_block(srv: &mut Server, c: &mut Client, a: &XReadArgs) {
    let keys: Vec<Vec<u8>> = (0..a.streams_count).map(|i| c.argv.get(a.streams_arg + i).to_vec()).collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    blocked::block_for_keys(srv, c, BlockType::Stream, &refs, a.timeout.unwrap_or(0));
}

/// The synchronous serving loop of xreadCommand(): one [key, entries] element per stream
/// that has something. Returns how many streams were served (the reply is written then).
fn serve_xread(srv: &mut Server, c: &mut Client, a: &XReadArgs, ids: &[StreamId]) -> usize {
    let (dbid, now) = (c.db, now_ms(srv));
    let mut served = 0;
    let mut mark = None;
    let mut dirty = 0;
    let mut created_on = Vec::new();
    let mut ops = GroupOps::new(srv);
    for (i, &id) in ids.iter().enumerate() {
        let key_idx = a.streams_arg + i;
        let Some(s) = db::lookup_key(srv, dbid, c.argv.get(key_idx), LookupFlags::Read).and_then(as_stream) else {
            continue;
        };
        let Some((plan, created)) = plan_stream_read(s, c, a, id, now) else { continue };
        if created {
            created_on.push(key_idx);
            // Redis 7.0 records a consumer created on the way only with NOACK: otherwise
            // the XCLAIMs of its deliveries create it on the replica (and a history read,
            // which records nothing, leaves the replica without it, as Redis does).
            if let Some(names) = a.noack.then(|| xread_group_names(c, a, key_idx)).flatten() {
                ops.consumer_creation(&names);
            }
        }
        served += 1;
        if served == 1 {
            mark = Some(c.reply.add_reply_deferred_len());
        }
        if c.reply.resp == 2 {
            c.reply.add_reply_array_len(2);
        }
        c.reply.add_reply_bulk(c.argv.get(key_idx));
        serve_one_stream(s, c, a, (key_idx, plan), now, &mut ops);
        dirty += u64::from(a.group_arg.is_some());
    }
    ops.queue(srv, dbid);
    srv.dirty += dirty + created_on.len() as u64;
    for key_idx in created_on {
        notify_stream(srv, "xgroup-createconsumer", c.argv.get(key_idx), dbid);
    }
    if let Some(mark) = mark {
        match c.reply.resp {
            2 => c.reply.set_deferred_array_len(mark, served),
            _ => c.reply.set_deferred_map_len(mark, served),
        }
    }
    served
}

/// How one stream is served: entries after `after`, from the stream or (history) from
/// the consumer's own PEL.
#[derive(Debug, Clone, Copy)]
struct ReadPlan {
    after: StreamId,
    history: bool,
}

/// Decides whether the stream can be served now; for XREADGROUP a served consumer is also
/// created or touched (the flag says it was created).
fn plan_stream_read(s: &mut Stream, c: &Client, a: &XReadArgs, id: StreamId, now: i64) -> Option<(ReadPlan, bool)> {
    let maxid = (s.length > 0).then(|| s.last_valid_id());
    let Some(g) = a.group_arg else {
        return maxid.filter(|&m| m > id).map(|_| (ReadPlan { after: id, history: false }, false));
    };
    let cg = s.lookup_cg_mut(c.argv.get(g))?;
    let plan = if id != StreamId::MAX {
        Some(ReadPlan { after: id, history: true })
    } else {
        maxid.filter(|&m| m > cg.last_id).map(|_| ReadPlan { after: cg.last_id, history: false })
    };
    // Redis 7.0 looks the consumer up (creating it) only when it serves it.
    let plan = plan?;
    Some((plan, cg.touch_consumer(c.argv.get(g + 1), now)))
}

/// The names of an XREADGROUP for the stream at `key_idx` (None for XREAD).
fn xread_group_names<'a>(c: &'a Client, a: &XReadArgs, key_idx: usize) -> Option<GroupNames<'a>> {
    let g = a.group_arg?;
    Some(GroupNames { key: c.argv.get(key_idx), group: c.argv.get(g), consumer: c.argv.get(g + 1) })
}

/// Emits one stream's entries (the stream at argument `key_idx`) and applies the group
/// side effects of the delivery.
fn serve_one_stream(s: &mut Stream, c: &mut Client, a: &XReadArgs, (key_idx, plan): (usize, ReadPlan), now: i64, ops: &mut GroupOps) {
    let start = plan.after.incr().unwrap_or(StreamId::MIN);
    let count = usize::try_from(a.count).unwrap_or(usize::MAX);
    let Some(g) = a.group_arg else {
        reply_with_range(&mut c.reply, s, (Some(start), None), count, false, false);
        return;
    };
    let names = GroupNames { key: c.argv.get(key_idx), group: c.argv.get(g), consumer: c.argv.get(g + 1) };
    if plan.history {
        reply_from_consumer_pel(&mut c.reply, s, names.group, names.consumer, start, count, now);
    } else {
        let delivered = reply_with_range(&mut c.reply, s, (Some(start), None), count, false, false);
        deliver_and_record(s, &names, &delivered, a.noack, now, ops);
    }
}

/// The group half of streamReplyWithRange(): each delivered entry moves the group forward
/// and, unless NOACK, becomes pending for the consumer, recorded as an XCLAIM (whose LASTID
/// carries the group's progress). With NOACK only the group's new last ID is recorded.
fn deliver_and_record(s: &mut Stream, n: &GroupNames, ids: &[StreamId], noack: bool, now: i64, ops: &mut GroupOps) {
    let last_before = s.lookup_cg(n.group).map(|cg| cg.last_id);
    for &id in ids {
        s.deliver_to_group(n.group, n.consumer, &[id], noack, now);
        if let Some(cg) = s.lookup_cg(n.group).filter(|_| !noack) {
            ops.xclaim(n, cg, id, None);
        }
    }
    if let Some(cg) = s.lookup_cg(n.group).filter(|cg| noack && Some(cg.last_id) != last_before) {
        ops.group_id(n, cg);
    }
}

/// Redis: streamReplyWithRangeFromConsumerPEL(): the consumer's pending entries from
/// `start`; an entry deleted meanwhile shows as [id, nil]. Re-delivery counts.
fn reply_from_consumer_pel(reply: &mut Reply, s: &mut Stream, group: &[u8], consumer: &[u8], start: StreamId, count: usize, now: i64) {
    let limit = if count == 0 { usize::MAX } else { count };
    let ids: Vec<StreamId> = s
        .lookup_cg(group)
        .and_then(|cg| cg.consumers.get(consumer))
        .map(|owner| owner.pel.range(start..).take(limit).copied().collect())
        .unwrap_or_default();
    reply.add_reply_array_len(ids.len());
    for id in ids {
        if reply_single_entry(reply, s, id) {
            if let Some(nack) = s.lookup_cg_mut(group).and_then(|cg| cg.pel.get_mut(&id)) {
                nack.delivery_time = now;
                nack.delivery_count = nack.delivery_count.wrapping_add(1);
            }
        } else {
            reply.add_reply_array_len(2);
            add_reply_stream_id(reply, id);
            reply.add_reply_null_array();
        }
    }
}

// ----------------------------------------------------------------------------------------
// XGROUP and XSETID
// ----------------------------------------------------------------------------------------

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// The options after `XGROUP CREATE|SETID <key> <group> <id>`.
#[derive(Debug, Clone, Copy)]
struct XGroupOptions {
    mkstream: bool,
    entries_read: i64,
}

fn parse_xgroup_options(c: &mut Client) -> Option<XGroupOptions> {
    let mut o = XGroupOptions { mkstream: false, entries_read: SCG_INVALID_ENTRIES_READ };
    let sub = c.argv.get(1);
    let (create, setid) = (arg_is(sub, "CREATE"), arg_is(sub, "SETID"));
    let mut i = 5;
    while i < c.argv.len() {
        let opt = c.argv.get(i);
        if create && arg_is(opt, "MKSTREAM") {
            o.mkstream = true;
            i += 1;
        } else if (create || setid) && arg_is(opt, "ENTRIESREAD") && i + 1 < c.argv.len() {
            o.entries_read = get_long_long_or_reply(&mut c.reply, c.argv.get(i + 1), None)?;
            if o.entries_read < 0 && o.entries_read != SCG_INVALID_ENTRIES_READ {
                c.reply.add_reply_error("value for ENTRIESREAD must be positive or -1");
                return None;
            }
            i += 2;
        } else {
            c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1));
            return None;
        }
    }
    Some(o)
}

/// The key and group checks of xgroupCommand() every subcommand but HELP goes through.
fn xgroup_check_key_and_group(srv: &mut Server, c: &mut Client, o: &XGroupOptions) -> bool {
    let exists = match lookup_stream(srv, c.db, c.argv.get(2), &mut c.reply, LookupFlags::Write) {
        Err(()) => return false,
        Ok(s) => s.is_some(),
    };
    if o.mkstream {
        return true;
    }
    if !exists {
        c.reply.add_reply_error("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
        return false;
    }
    let sub = c.argv.get(1);
    let needs_group = arg_is(sub, "SETID") || arg_is(sub, "CREATECONSUMER") || arg_is(sub, "DELCONSUMER");
    let has_group = stream_at(srv, c.db, c.argv.get(2)).is_some_and(|s| s.lookup_cg(c.argv.get(3)).is_some());
    if needs_group && !has_group {
        let (group, key) = (cstr(c.argv.get(3)), cstr(c.argv.get(2)));
        let parts: [&[u8]; 5] = [b"-NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"];
        error_with_names(&mut c.reply, &parts);
        return false;
    }
    true
}

/// Redis: t_stream.c xgroupCommand() (every XGROUP subcommand).
pub fn xgroup_command(srv: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let mut o = XGroupOptions { mkstream: false, entries_read: SCG_INVALID_ENTRIES_READ };
    if argc >= 4 {
        let Some(parsed) = parse_xgroup_options(c) else { return };
        o = parsed;
        if !xgroup_check_key_and_group(srv, c, &o) {
            return;
        }
    }
    let sub = c.argv.get(1);
    if argc == 2 && arg_is(sub, "HELP") {
        c.reply.add_reply_help("XGROUP", XGROUP_HELP);
    } else if arg_is(sub, "CREATE") && (5..=8).contains(&argc) {
        xgroup_create(srv, c, &o);
    } else if arg_is(sub, "SETID") && (argc == 5 || argc == 7) {
        xgroup_setid(srv, c, &o);
    } else if arg_is(sub, "DESTROY") && argc == 4 {
        xgroup_destroy(srv, c);
    } else if arg_is(sub, "CREATECONSUMER") && argc == 5 {
        xgroup_createconsumer(srv, c);
    } else if arg_is(sub, "DELCONSUMER") && argc == 5 {
        xgroup_delconsumer(srv, c);
    } else {
        c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1));
    }
}

/// XGROUP CREATE <key> <group> <id|$> [MKSTREAM] [ENTRIESREAD n].
fn xgroup_create(srv: &mut Server, c: &mut Client, o: &XGroupOptions) {
    let dbid = c.db;
    let existing_last = stream_at(srv, dbid, c.argv.get(2)).map(|s| s.last_id);
    let id = match cstr(c.argv.get(4)) {
        b"$" => existing_last.unwrap_or(StreamId::MIN),
        _ => match parse_strict_id_or_reply(&mut c.reply, c.argv.get(4), 0) {
            Some(id) => id,
            None => return,
        },
    };
    if existing_last.is_none() {
        let obj = RObj::new(Value::Stream(Box::new(Stream::new())), crate::object::AccessClock::of(srv).initial_lru());
        db::db_add(srv, dbid, c.argv.get(2), obj);
        srv.signal_modified_key(dbid, c.argv.get(2));
        crate::pubsub::flush_pending_pushes(srv, c);
    }
    let Some(s) = stream_at(srv, dbid, c.argv.get(2)) else { return };
    if s.create_cg(c.argv.get(3), id, o.entries_read).is_some() {
        c.reply.add_reply_ok();
        srv.dirty += 1;
        notify_stream(srv, "xgroup-create", c.argv.get(2), dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
    } else {
        c.reply.add_reply_error("-BUSYGROUP Consumer Group name already exists");
    }
}

/// XGROUP SETID <key> <group> <id|$> [ENTRIESREAD n].
fn xgroup_setid(srv: &mut Server, c: &mut Client, o: &XGroupOptions) {
    let Some(s) = stream_at(srv, c.db, c.argv.get(2)) else { return };
    let id = match cstr(c.argv.get(4)) {
        b"$" => s.last_id,
        _ => match parse_id_or_reply(&mut c.reply, c.argv.get(4), 0) {
            Some(id) => id,
            None => return,
        },
    };
    let Some(cg) = s.lookup_cg_mut(c.argv.get(3)) else { return };
    cg.last_id = id;
    cg.entries_read = o.entries_read;
    c.reply.add_reply_ok();
    srv.dirty += 1;
    notify_stream(srv, "xgroup-setid", c.argv.get(2), c.db);
    crate::pubsub::flush_pending_pushes(srv, c);
}

/// XGROUP DESTROY <key> <group>: blocked XREADGROUP clients of the group get NOGROUP.
fn xgroup_destroy(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let destroyed = stream_at(srv, dbid, c.argv.get(2)).is_some_and(|s| s.destroy_cg(c.argv.get(3)));
    c.reply.add_reply_long_long(i64::from(destroyed));
    if destroyed {
        srv.dirty += 1;
        notify_stream(srv, "xgroup-destroy", c.argv.get(2), dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
        blocked::signal_key_as_ready(srv, dbid, c.argv.get(2));
    }
}

/// XGROUP CREATECONSUMER <key> <group> <consumer>.
fn xgroup_createconsumer(srv: &mut Server, c: &mut Client) {
    let now = now_ms(srv);
    let created = stream_at(srv, c.db, c.argv.get(2))
        .and_then(|s| s.lookup_cg_mut(c.argv.get(3)))
        .is_some_and(|cg| cg.create_consumer(c.argv.get(4), now));
    if created {
        srv.dirty += 1;
        notify_stream(srv, "xgroup-createconsumer", c.argv.get(2), c.db);
    }
    c.reply.add_reply_long_long(i64::from(created));
}

/// XGROUP DELCONSUMER <key> <group> <consumer>: replies how many entries it had pending.
fn xgroup_delconsumer(srv: &mut Server, c: &mut Client) {
    let pending = stream_at(srv, c.db, c.argv.get(2))
        .and_then(|s| s.lookup_cg_mut(c.argv.get(3)))
        .and_then(|cg| cg.del_consumer(c.argv.get(4)));
    if pending.is_some() {
        srv.dirty += 1;
        notify_stream(srv, "xgroup-delconsumer", c.argv.get(2), c.db);
    }
    c.reply.add_reply_long_long(pending.unwrap_or(0) as i64);
}

/// The options of XSETID.
#[derive(Debug, Clone, Copy)]
struct XSetIdArgs {
    id: StreamId,
    entries_added: Option<u64>,
    max_deleted: StreamId,
}

fn parse_xsetid_args(c: &mut Client) -> Option<XSetIdArgs> {
    let id = parse_strict_id_or_reply(&mut c.reply, c.argv.get(2), 0)?;
    let mut a = XSetIdArgs { id, entries_added: None, max_deleted: StreamId::MIN };
    let mut i = 3;
    while i < c.argv.len() {
        let moreargs = c.argv.len() - 1 - i;
        let opt = c.argv.get(i);
        if arg_is(opt, "ENTRIESADDED") && moreargs > 0 {
            let n = get_long_long_or_reply(&mut c.reply, c.argv.get(i + 1), None)?;
            let Ok(n) = u64::try_from(n) else {
                c.reply.add_reply_error("entries_added must be positive");
                return None;
            };
            a.entries_added = Some(n);
        } else if arg_is(opt, "MAXDELETEDID") && moreargs > 0 {
            a.max_deleted = parse_strict_id_or_reply(&mut c.reply, c.argv.get(i + 1), 0)?;
            if a.id < a.max_deleted {
                c.reply.add_reply_error("The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
                return None;
            }
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        i += 2;
    }
    Some(a)
}

/// Redis: t_stream.c xsetidCommand().
pub fn xsetid_command(srv: &mut Server, c: &mut Client) {
    let Some(a) = parse_xsetid_args(c) else { return };
    let s = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_error("no such key"),
        Ok(Some(s)) => s,
    };
    if s.length > 0 {
        if a.id < s.last_valid_id() {
            return c.reply.add_reply_error("The ID specified in XSETID is smaller than the target stream top item");
        }
        if a.entries_added.is_some_and(|n| s.length > n) {
            return c.reply.add_reply_error("The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    s.last_id = a.id;
    if let Some(n) = a.entries_added {
        s.entries_added = n;
    }
    if !a.max_deleted.is_zero() {
        s.max_deleted_entry_id = a.max_deleted;
    }
    c.reply.add_reply_ok();
    srv.dirty += 1;
    notify_stream(srv, "xsetid", c.argv.get(1), c.db);
    crate::pubsub::flush_pending_pushes(srv, c);
}

// ----------------------------------------------------------------------------------------
// XACK, XPENDING
// ----------------------------------------------------------------------------------------

/// Redis: t_stream.c xackCommand(): all IDs are parsed before any is acknowledged.
pub fn xack_command(srv: &mut Server, c: &mut Client) {
    let s = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(s) => s,
    };
    let Some(cg) = s.and_then(|s| s.lookup_cg_mut(c.argv.get(2))) else {
        return c.reply.add_reply_long_long(0);
    };
    let mut ids = Vec::with_capacity(c.argv.len() - 3);
    for j in 3..c.argv.len() {
        let Some(id) = parse_strict_id_or_reply(&mut c.reply, c.argv.get(j), 0) else { return };
        ids.push(id);
    }
    let acknowledged = ids.iter().filter(|&&id| cg.ack(id)).count();
    srv.dirty += acknowledged as u64;
    c.reply.add_reply_long_long(acknowledged as i64);
}

/// The range form of XPENDING: [IDLE min] start end count [consumer].
#[derive(Debug, Clone, Copy)]
struct PendingRange {
    minidle: i64,
    start: StreamId,
    end: StreamId,
    count: i64,
    consumer_idx: Option<usize>,
}

fn parse_xpending_range(c: &mut Client) -> Option<PendingRange> {
    let argc = c.argv.len();
    let mut startidx = 3;
    let mut minidle = 0;
    if arg_is(c.argv.get(3), "IDLE") {
        minidle = get_long_long_or_reply(&mut c.reply, c.argv.get(4), None)?;
        if argc < 8 {
            c.reply.add_reply_syntax_error();
            return None;
        }
        startidx += 2;
    }
    let count = get_long_long_or_reply(&mut c.reply, c.argv.get(startidx + 2), None)?.max(0);
    let start = parse_range_bound_or_reply(&mut c.reply, c.argv.get(startidx), 0, true)?;
    let end = parse_range_bound_or_reply(&mut c.reply, c.argv.get(startidx + 1), u64::MAX, false)?;
    let consumer_idx = (startidx + 3 < argc).then_some(startidx + 3);
    Some(PendingRange { minidle, start, end, count, consumer_idx })
}

/// Redis: t_stream.c xpendingCommand().
pub fn xpending_command(srv: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return c.reply.add_reply_syntax_error();
    }
    let range = if argc >= 6 {
        match parse_xpending_range(c) {
            Some(r) => Some(r),
            None => return,
        }
    } else {
        None
    };
    let now = now_ms(srv);
    let s = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(s) => s,
    };
    let Some(cg) = s.and_then(|s| s.lookup_cg(c.argv.get(2))) else {
        return reply_nogroup(c);
    };
    match range {
        None => xpending_summary(&mut c.reply, cg),
        Some(r) => {
            let consumer = r.consumer_idx.map(|i| c.argv.get(i));
            xpending_range(&mut c.reply, cg, &r, consumer, now);
        }
    }
}

/// "-NOGROUP No such key '<key>' or consumer group '<group>'" (XPENDING, XCLAIM, XAUTOCLAIM).
fn reply_nogroup(c: &mut Client) {
    let (key, group) = (cstr(c.argv.get(1)), cstr(c.argv.get(2)));
    let parts: [&[u8]; 5] = [b"-NOGROUP No such key '", key, b"' or consumer group '", group, b"'"];
    error_with_names(&mut c.reply, &parts);
}

/// XPENDING <key> <group>: count, smallest and greatest pending ID, per-consumer counts.
fn xpending_summary(reply: &mut Reply, cg: &ConsumerGroup) {
    reply.add_reply_array_len(4);
    reply.add_reply_long_long(cg.pel.len() as i64);
    let (Some(first), Some(last)) = (cg.pel.keys().next(), cg.pel.keys().next_back()) else {
        reply.add_reply_null();
        reply.add_reply_null();
        reply.add_reply_null_array();
        return;
    };
    add_reply_stream_id(reply, *first);
    add_reply_stream_id(reply, *last);
    let busy: Vec<_> = cg.consumers.iter().filter(|(_, cons)| !cons.pel.is_empty()).collect();
    reply.add_reply_array_len(busy.len());
    for (name, consumer) in busy {
        reply.add_reply_array_len(2);
        reply.add_reply_bulk(name);
        reply.add_reply_bulk_long_long(consumer.pel.len() as i64);
    }
}

/// XPENDING <key> <group> [IDLE n] <start> <end> <count> [consumer].
fn xpending_range(reply: &mut Reply, cg: &ConsumerGroup, r: &PendingRange, consumer: Option<&[u8]>, now: i64) {
    let ids: Box<dyn Iterator<Item = StreamId> + '_> = match consumer {
        None => Box::new(cg.pel.range(r.start..).map(|(id, _)| *id)),
        Some(name) => match cg.consumers.get(name) {
            Some(owner) => Box::new(owner.pel.range(r.start..).copied()),
            None => return reply.add_reply_array_len(0),
        },
    };
    let mark = reply.add_reply_deferred_len();
    let mut left = r.count;
    let mut emitted = 0;
    for id in ids.take_while(|id| *id <= r.end) {
        if left == 0 {
            break;
        }
        let Some(nack) = cg.pel.get(&id) else { continue };
        if r.minidle != 0 && now.saturating_sub(nack.delivery_time) < r.minidle {
            continue;
        }
        left -= 1;
        emitted += 1;
        reply.add_reply_array_len(4);
        add_reply_stream_id(reply, id);
        reply.add_reply_bulk(&nack.consumer);
        reply.add_reply_long_long(now.saturating_sub(nack.delivery_time).max(0));
        reply.add_reply_long_long(nack.delivery_count as i64);
    }
    reply.set_deferred_array_len(mark, emitted);
}

// ----------------------------------------------------------------------------------------
// XCLAIM, XAUTOCLAIM
// ----------------------------------------------------------------------------------------

/// The options after XCLAIM's IDs.
#[derive(Debug, Clone, Copy)]
struct XClaimOptions {
    /// The min-idle-time argument (negative taken as 0).
    minidle: i64,
    /// Absolute delivery time to set (IDLE/TIME), -1 if not given.
    deliverytime: i64,
    /// RETRYCOUNT, -1 if not given.
    retrycount: i64,
    force: bool,
    justid: bool,
    last_id: StreamId,
}

/// Parses the trailing options of XCLAIM starting at `j` (the first non-ID argument).
fn parse_xclaim_options(c: &mut Client, mut j: usize, now: i64, minidle: i64) -> Option<XClaimOptions> {
    let mut o = XClaimOptions { minidle, deliverytime: -1, retrycount: -1, force: false, justid: false, last_id: StreamId::MIN };
    let argc = c.argv.len();
    while j < argc {
        let moreargs = argc - 1 - j;
        let opt = c.argv.get(j);
        if arg_is(opt, "FORCE") {
            o.force = true;
        } else if arg_is(opt, "JUSTID") {
            o.justid = true;
        } else if arg_is(opt, "IDLE") && moreargs > 0 {
            j += 1;
            let idle = get_long_long_or_reply(&mut c.reply, c.argv.get(j), Some("Invalid IDLE option argument for XCLAIM"))?;
            o.deliverytime = now.wrapping_sub(idle);
        } else if arg_is(opt, "TIME") && moreargs > 0 {
            j += 1;
            o.deliverytime = get_long_long_or_reply(&mut c.reply, c.argv.get(j), Some("Invalid TIME option argument for XCLAIM"))?;
        } else if arg_is(opt, "RETRYCOUNT") && moreargs > 0 {
            j += 1;
            o.retrycount = get_long_long_or_reply(&mut c.reply, c.argv.get(j), Some("Invalid RETRYCOUNT option argument for XCLAIM"))?;
        } else if arg_is(opt, "LASTID") && moreargs > 0 {
            j += 1;
            o.last_id = parse_strict_id_or_reply(&mut c.reply, c.argv.get(j), 0)?;
        } else {
            let parts: [&[u8]; 3] = [b"Unrecognized XCLAIM option '", cstr(opt), b"'"];
            error_with_names(&mut c.reply, &parts);
            return None;
        }
        j += 1;
    }
    // A bogus time (negative or in the future) means "now": clients compute it themselves.
    if o.deliverytime == -1 || o.deliverytime < 0 || o.deliverytime > now {
        o.deliverytime = now;
    }
    Some(o)
}

/// Redis: t_stream.c xclaimCommand().
pub fn xclaim_command(srv: &mut Server, c: &mut Client) {
    let now = now_ms(srv);
    let has_group = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(s) => s.is_some_and(|s| s.lookup_cg(c.argv.get(2)).is_some()),
    };
    if !has_group {
        return reply_nogroup(c);
    }
    let msg = Some("Invalid min-idle-time argument for XCLAIM");
    let Some(minidle) = get_long_long_or_reply(&mut c.reply, c.argv.get(4), msg) else { return };
    let minidle = minidle.max(0);
    // The IDs run until the first argument that is not one; options follow.
    let ids: Vec<StreamId> = (5..c.argv.len()).map_while(|j| parse_id(c.argv.get(j), 0, true, false).map(|(id, _)| id)).collect();
    let Some(o) = parse_xclaim_options(c, 5 + ids.len(), now, minidle) else { return };
    let mut ops = GroupOps::new(srv);
    let Some(s) = stream_at(srv, c.db, c.argv.get(1)) else { return };
    let (dirty, created) = xclaim_ids(s, c, &ids, &o, now, &mut ops);
    srv.dirty += dirty;
    if created {
        notify_stream(srv, "xgroup-createconsumer", c.argv.get(1), c.db);
    }
    ops.queue(srv, c.db);
    propagate::prevent_command_propagation(c);
}

/// The claiming loop of xclaimCommand(); returns the dirty count and whether the consumer
/// was created.
fn xclaim_ids(s: &mut Stream, c: &mut Client, ids: &[StreamId], o: &XClaimOptions, now: i64, ops: &mut GroupOps) -> (u64, bool) {
    let names = GroupNames { key: c.argv.get(1), group: c.argv.get(2), consumer: c.argv.get(3) };
    let (mut dirty, mut created) = (0, false);
    let mut propagate_last_id = false;
    if let Some(cg) = s.lookup_cg_mut(names.group).filter(|cg| o.last_id > cg.last_id) {
        cg.last_id = o.last_id;
        propagate_last_id = true;
    }
    let mark = c.reply.add_reply_deferred_len();
    let mut claimed = 0;
    for (i, &id) in ids.iter().enumerate() {
        let exists = s.entry_exists(id);
        let Some(cg) = s.lookup_cg_mut(names.group) else { break };
        match xclaim_one(cg, exists, &names, (id, c.argv.get(5 + i)), o, now, ops) {
            ClaimStep::Skipped => continue,
            ClaimStep::Dropped => {}
            ClaimStep::Claimed(new_consumer) => {
                created |= new_consumer;
                dirty += u64::from(new_consumer);
                if o.justid {
                    add_reply_stream_id(&mut c.reply, id);
                } else {
                    reply_single_entry(&mut c.reply, s, id);
                }
                claimed += 1;
            }
        }
        dirty += 1;
        // The XCLAIM just recorded carries the group's last ID.
        propagate_last_id = false;
    }
    if let Some(cg) = s.lookup_cg(names.group).filter(|_| propagate_last_id) {
        ops.group_id(&names, cg);
        dirty += 1;
    }
    c.reply.set_deferred_array_len(mark, claimed);
    (dirty, created)
}

/// What XCLAIM did with one of its IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimStep {
    /// Nothing changed: not pending (and not forced), or not idle long enough.
    Skipped,
    /// The entry was deleted from the stream, so its pending entry was dropped too.
    Dropped,
    /// Claimed for the consumer; true when the consumer was created for it.
    Claimed(bool),
}

/// One ID of xclaimCommand() (`typed` as the client wrote it, which is what Redis records).
fn xclaim_one(cg: &mut ConsumerGroup, exists: bool, n: &GroupNames, (id, typed): (StreamId, &[u8]), o: &XClaimOptions, now: i64, ops: &mut GroupOps) -> ClaimStep {
    if !exists {
        // Recorded before the drop: the replica's XCLAIM finds no entry and drops it too.
        ops.xclaim(n, cg, id, Some(typed));
        return if cg.ack(id) { ClaimStep::Dropped } else { ClaimStep::Skipped };
    }
    let Some(counts) = claim_counts(cg, id, o, now) else { return ClaimStep::Skipped };
    let created = cg.touch_consumer(n.consumer, now);
    // FORCE on an ID that is not pending creates its NACK (Redis: streamCreateNACK()).
    cg.pel.entry(id).or_insert_with(|| crate::stream::Nack { delivery_time: now, delivery_count: 1, consumer: n.consumer.into() });
    cg.claim(id, n.consumer, o.deliverytime, counts);
    ops.xclaim(n, cg, id, Some(typed));
    ClaimStep::Claimed(created)
}

/// Whether XCLAIM takes `id` (pending, idle long enough, or forced), and the delivery
/// count to set: RETRYCOUNT, else one more unless JUSTID (None keeps it).
fn claim_counts(cg: &ConsumerGroup, id: StreamId, o: &XClaimOptions, now: i64) -> Option<Option<u64>> {
    let current = match cg.pel.get(&id) {
        Some(nack) => {
            if o.minidle != 0 && now.saturating_sub(nack.delivery_time) < o.minidle {
                return None;
            }
            nack.delivery_count
        }
        // FORCE creates the NACK; its idle time is not checked (Redis: nack->consumer NULL).
        None if o.force => 1,
        None => return None,
    };
    Some(match o.retrycount {
        n if n >= 0 => Some(n as u64),
        _ if !o.justid => Some(current.wrapping_add(1)),
        _ => None,
    })
}

/// The options of XAUTOCLAIM.
#[derive(Debug, Clone, Copy)]
struct XAutoClaimArgs {
    minidle: i64,
    start: StreamId,
    count: i64,
    justid: bool,
}

fn parse_xautoclaim_args(c: &mut Client) -> Option<XAutoClaimArgs> {
    let msg = Some("Invalid min-idle-time argument for XAUTOCLAIM");
    let minidle = get_long_long_or_reply(&mut c.reply, c.argv.get(4), msg)?.max(0);
    let start = parse_range_bound_or_reply(&mut c.reply, c.argv.get(5), 0, true)?;
    let mut a = XAutoClaimArgs { minidle, start, count: 100, justid: false };
    let max_count = i64::MAX / 16;
    let mut j = 6;
    while j < c.argv.len() {
        let moreargs = c.argv.len() - 1 - j;
        let opt = c.argv.get(j);
        if arg_is(opt, "COUNT") && moreargs > 0 {
            let count_msg = Some("COUNT must be > 0");
            a.count = crate::object::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), 1, max_count, count_msg)?;
            j += 1;
        } else if arg_is(opt, "JUSTID") {
            a.justid = true;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    Some(a)
}

/// Redis: t_stream.c xautoclaimCommand(): reply [next cursor, claimed, deleted IDs].
pub fn xautoclaim_command(srv: &mut Server, c: &mut Client) {
    let Some(a) = parse_xautoclaim_args(c) else { return };
    let has_group = match lookup_stream(srv, c.db, c.argv.get(1), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(s) => s.is_some_and(|s| s.lookup_cg(c.argv.get(2)).is_some()),
    };
    if !has_group {
        return reply_nogroup(c);
    }
    // Redis allocates COUNT IDs up front and fails when that can't be done.
    let wanted = (a.count as u128).saturating_mul(16);
    if wanted > crate::zmalloc::get_memory_size() as u128 {
        return c.reply.add_reply_error("Insufficient memory, failed allocating transient memory, COUNT too high.");
    }
    let now = now_ms(srv);
    let mut ops = GroupOps::new(srv);
    let Some(s) = stream_at(srv, c.db, c.argv.get(1)) else { return };
    let (dirty, created) = xautoclaim_scan(s, c, &a, now, &mut ops);
    srv.dirty += dirty;
    if created {
        notify_stream(srv, "xgroup-createconsumer", c.argv.get(1), c.db);
    }
    ops.queue(srv, c.db);
    propagate::prevent_command_propagation(c);
}

/// The PEL scan of xautoclaimCommand(), then the reply; returns the dirty count and
/// whether the consumer was created.
fn xautoclaim_scan(s: &mut Stream, c: &mut Client, a: &XAutoClaimArgs, now: i64, ops: &mut GroupOps) -> (u64, bool) {
    let names = GroupNames { key: c.argv.get(1), group: c.argv.get(2), consumer: c.argv.get(3) };
    let (mut attempts, mut count) = (a.count.saturating_mul(XAUTOCLAIM_ATTEMPTS_FACTOR), a.count);
    let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
    let (mut dirty, mut created) = (0, false);
    let mut cursor = Some(a.start);
    while attempts > 0 && count > 0 {
        let Some(id) = cursor.and_then(|from| next_pending(s, names.group, from)) else { break };
        attempts -= 1;
        cursor = id.incr();
        let exists = s.entry_exists(id);
        let Some(cg) = s.lookup_cg_mut(names.group) else { break };
        match xautoclaim_one(cg, exists, &names, id, a, now, ops) {
            ClaimStep::Skipped => continue,
            ClaimStep::Dropped => deleted.push(id),
            ClaimStep::Claimed(new_consumer) => {
                created |= new_consumer;
                dirty += u64::from(new_consumer);
                claimed.push(id);
            }
        }
        count -= 1;
        dirty += 1;
    }
    let end = cursor.and_then(|from| next_pending(s, names.group, from)).unwrap_or(StreamId::MIN);
    xautoclaim_reply(&mut c.reply, s, end, &claimed, &deleted, a.justid);
    (dirty, created)
}

/// One pending entry of xautoclaimCommand(): dropped when its entry is gone, else claimed
/// if idle long enough; either change is recorded as an XCLAIM.
fn xautoclaim_one(cg: &mut ConsumerGroup, exists: bool, n: &GroupNames, id: StreamId, a: &XAutoClaimArgs, now: i64, ops: &mut GroupOps) -> ClaimStep {
    if !exists {
        // Recorded before the drop: the replica's XCLAIM finds no entry and drops it too.
        ops.xclaim(n, cg, id, None);
        cg.ack(id);
        return ClaimStep::Dropped;
    }
    let idle = cg.pel.get(&id).map_or(0, |nack| now.saturating_sub(nack.delivery_time));
    if a.minidle != 0 && idle < a.minidle {
        return ClaimStep::Skipped;
    }
    let created = cg.touch_consumer(n.consumer, now);
    let counts = cg.pel.get(&id).map(|nack| nack.delivery_count.wrapping_add(1)).filter(|_| !a.justid);
    cg.claim(id, n.consumer, now, counts);
    ops.xclaim(n, cg, id, None);
    ClaimStep::Claimed(created)
}

/// [next cursor, claimed entries (or IDs with JUSTID), deleted IDs]. The stream's entries
/// did not change during the scan, so emitting them afterwards gives Redis's reply.
fn xautoclaim_reply(reply: &mut Reply, s: &Stream, end: StreamId, claimed: &[StreamId], deleted: &[StreamId], justid: bool) {
    reply.add_reply_array_len(3);
    add_reply_stream_id(reply, end);
    reply.add_reply_array_len(claimed.len());
    for &id in claimed {
        if justid {
            add_reply_stream_id(reply, id);
        } else {
            reply_single_entry(reply, s, id);
        }
    }
    reply.add_reply_array_len(deleted.len());
    for &id in deleted {
        add_reply_stream_id(reply, id);
    }
}

/// The first pending ID of the group at or after `from`.
fn next_pending(s: &Stream, group: &[u8], from: StreamId) -> Option<StreamId> {
    s.lookup_cg(group)?.pel.range(from..).next().map(|(id, _)| *id)
}

// ----------------------------------------------------------------------------------------
// XINFO
// ----------------------------------------------------------------------------------------

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

/// Redis: t_stream.c xinfoCommand() (every XINFO subcommand).
pub fn xinfo_command(srv: &mut Server, c: &mut Client) {
    if arg_is(c.argv.get(1), "HELP") {
        return c.reply.add_reply_help("XINFO", XINFO_HELP);
    }
    let now = now_ms(srv);
    let s = match lookup_stream(srv, c.db, c.argv.get(2), &mut c.reply, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_error("no such key"),
        Ok(Some(s)) => s,
    };
    let (sub, argc) = (c.argv.get(1), c.argv.len());
    if arg_is(sub, "CONSUMERS") && argc == 4 {
        xinfo_consumers(s, c, now);
    } else if arg_is(sub, "GROUPS") && argc == 3 {
        xinfo_groups(&mut c.reply, s);
    } else if arg_is(sub, "STREAM") {
        xinfo_stream(s, c);
    } else {
        c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1));
    }
}

/// XINFO CONSUMERS <key> <group>: name, pending and idle of each consumer (7.0 fields).
fn xinfo_consumers(s: &Stream, c: &mut Client, now: i64) {
    let Some(cg) = s.lookup_cg(c.argv.get(3)) else {
        let (group, key) = (cstr(c.argv.get(3)), cstr(c.argv.get(2)));
        let parts: [&[u8]; 5] = [b"-NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"];
        return error_with_names(&mut c.reply, &parts);
    };
    let reply = &mut c.reply;
    reply.add_reply_array_len(cg.consumers.len());
    for (name, consumer) in &cg.consumers {
        reply.add_reply_map_len(3);
        reply.add_reply_bulk(b"name");
        reply.add_reply_bulk(name);
        reply.add_reply_bulk(b"pending");
        reply.add_reply_long_long(consumer.pel.len() as i64);
        reply.add_reply_bulk(b"idle");
        reply.add_reply_long_long(now.saturating_sub(consumer.seen_time).max(0));
    }
}

/// Redis: streamReplyWithCGLag(): the lag, or null when it can't be known.
fn add_reply_group_lag(reply: &mut Reply, s: &Stream, cg: &ConsumerGroup) {
    match s.group_lag(cg) {
        Some(lag) => reply.add_reply_long_long(lag),
        None => reply.add_reply_null(),
    }
}

fn add_reply_entries_read(reply: &mut Reply, cg: &ConsumerGroup) {
    match cg.entries_read {
        SCG_INVALID_ENTRIES_READ => reply.add_reply_null(),
        n => reply.add_reply_long_long(n),
    }
}

/// XINFO GROUPS <key>.
fn xinfo_groups(reply: &mut Reply, s: &Stream) {
    reply.add_reply_array_len(s.cgroups_len());
    for (name, cg) in s.cgroups.iter().flatten() {
        reply.add_reply_map_len(6);
        reply.add_reply_bulk(b"name");
        reply.add_reply_bulk(name);
        reply.add_reply_bulk(b"consumers");
        reply.add_reply_long_long(cg.consumers.len() as i64);
        reply.add_reply_bulk(b"pending");
        reply.add_reply_long_long(cg.pel.len() as i64);
        reply.add_reply_bulk(b"last-delivered-id");
        add_reply_stream_id(reply, cg.last_id);
        reply.add_reply_bulk(b"entries-read");
        add_reply_entries_read(reply, cg);
        reply.add_reply_bulk(b"lag");
        add_reply_group_lag(reply, s, cg);
    }
}

/// The options of XINFO STREAM: None for the short form, Some(count) for FULL.
fn parse_xinfo_stream_options(c: &mut Client) -> Result<Option<i64>, ()> {
    let optc = c.argv.len() - 3;
    if optc == 0 {
        return Ok(None);
    }
    let valid = (optc == 1 || optc == 3)
        && arg_is(c.argv.get(3), "full")
        && (optc == 1 || arg_is(c.argv.get(4), "count"));
    if !valid {
        c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1));
        return Err(());
    }
    if optc == 1 {
        return Ok(Some(10));
    }
    let count = get_long_long_or_reply(&mut c.reply, c.argv.get(5), None).ok_or(())?;
    Ok(Some(if count < 0 { 10 } else { count }))
}

/// Redis: xinfoReplyWithStreamInfo(): XINFO STREAM <key> [FULL [COUNT n]].
fn xinfo_stream(s: &Stream, c: &mut Client) {
    let Ok(full) = parse_xinfo_stream_options(c) else { return };
    let reply = &mut c.reply;
    reply.add_reply_map_len(if full.is_some() { 9 } else { 10 });
    reply.add_reply_bulk(b"length");
    reply.add_reply_long_long(s.length as i64);
    reply.add_reply_bulk(b"radix-tree-keys");
    reply.add_reply_long_long(s.node_count() as i64);
    reply.add_reply_bulk(b"radix-tree-nodes");
    reply.add_reply_long_long(s.rax_node_count() as i64);
    reply.add_reply_bulk(b"last-generated-id");
    add_reply_stream_id(reply, s.last_id);
    reply.add_reply_bulk(b"max-deleted-entry-id");
    add_reply_stream_id(reply, s.max_deleted_entry_id);
    reply.add_reply_bulk(b"entries-added");
    reply.add_reply_long_long(s.entries_added as i64);
    reply.add_reply_bulk(b"recorded-first-entry-id");
    add_reply_stream_id(reply, s.first_id);
    match full {
        None => xinfo_stream_short(reply, s),
        Some(count) => xinfo_stream_full(reply, s, usize::try_from(count).unwrap_or(usize::MAX)),
    }
}

/// The end of the short form: group count, first and last entries.
fn xinfo_stream_short(reply: &mut Reply, s: &Stream) {
    reply.add_reply_bulk(b"groups");
    reply.add_reply_long_long(s.cgroups_len() as i64);
    for (name, rev) in [(&b"first-entry"[..], false), (&b"last-entry"[..], true)] {
        reply.add_reply_bulk(name);
        if reply_with_range(reply, s, (None, None), 1, rev, true).is_empty() {
            reply.add_reply_null();
        }
    }
}

/// The end of the FULL form: up to `count` (0: all) entries, then every group with its
/// PEL and consumers (each PEL also cut at `count`).
fn xinfo_stream_full(reply: &mut Reply, s: &Stream, count: usize) {
    reply.add_reply_bulk(b"entries");
    reply_with_range(reply, s, (None, None), count, false, false);
    reply.add_reply_bulk(b"groups");
    reply.add_reply_array_len(s.cgroups_len());
    let limit = if count == 0 { usize::MAX } else { count };
    for (name, cg) in s.cgroups.iter().flatten() {
        reply.add_reply_map_len(7);
        reply.add_reply_bulk(b"name");
        reply.add_reply_bulk(name);
        reply.add_reply_bulk(b"last-delivered-id");
        add_reply_stream_id(reply, cg.last_id);
        reply.add_reply_bulk(b"entries-read");
        add_reply_entries_read(reply, cg);
        reply.add_reply_bulk(b"lag");
        add_reply_group_lag(reply, s, cg);
        reply.add_reply_bulk(b"pel-count");
        reply.add_reply_long_long(cg.pel.len() as i64);
        reply.add_reply_bulk(b"pending");
        reply.add_reply_array_len(cg.pel.len().min(limit));
        for (id, nack) in cg.pel.iter().take(limit) {
            reply.add_reply_array_len(4);
            add_reply_stream_id(reply, *id);
            reply.add_reply_bulk(&nack.consumer);
            reply.add_reply_long_long(nack.delivery_time);
            reply.add_reply_long_long(nack.delivery_count as i64);
        }
        xinfo_full_consumers(reply, cg, limit);
    }
}

/// The "consumers" part of a group in XINFO STREAM FULL (7.0 fields).
fn xinfo_full_consumers(reply: &mut Reply, cg: &ConsumerGroup, limit: usize) {
    reply.add_reply_bulk(b"consumers");
    reply.add_reply_array_len(cg.consumers.len());
    for (name, consumer) in &cg.consumers {
        reply.add_reply_map_len(4);
        reply.add_reply_bulk(b"name");
        reply.add_reply_bulk(name);
        reply.add_reply_bulk(b"seen-time");
        reply.add_reply_long_long(consumer.seen_time);
        reply.add_reply_bulk(b"pel-count");
        reply.add_reply_long_long(consumer.pel.len() as i64);
        reply.add_reply_bulk(b"pending");
        reply.add_reply_array_len(consumer.pel.len().min(limit));
        for id in consumer.pel.iter().take(limit) {
            let (time, deliveries) = cg.pel.get(id).map_or((0, 0), |n| (n.delivery_time, n.delivery_count));
            reply.add_reply_array_len(3);
            add_reply_stream_id(reply, *id);
            reply.add_reply_long_long(time);
            reply.add_reply_long_long(deliveries as i64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    #[test]
    fn ids_parse_like_strtoull() {
        let ok = |arg: &str, missing: u64| parse_id(arg.as_bytes(), missing, true, true).map(|(id, given)| (id.ms, id.seq, given));
        assert_eq!(ok("5-3", 0), Some((5, 3, true)));
        assert_eq!(ok("5", 7), Some((5, 7, true)));
        assert_eq!(ok("5-*", 0), Some((5, 0, false)));
        assert_eq!(ok("  5-+1", 0), Some((5, 1, true)));
        assert_eq!(ok("007-0", 0), Some((7, 0, true)));
        assert_eq!(ok("1--0", 0), Some((1, 0, true)));
        assert_eq!(ok("18446744073709551615-18446744073709551615", 0), Some((u64::MAX, u64::MAX, true)));
        assert_eq!(ok("5\0junk", 0), Some((5, 0, true)));
        for bad in ["", "-", "+", "-1", "1--1", "1-2-3", "x", "1-", "18446744073709551616", "1-*-", &"1".repeat(128)] {
            assert_eq!(ok(bad, 0), None, "{bad:?}");
        }
        assert_eq!(parse_id(b"-", 0, false, false), Some((StreamId::MIN, true)));
        assert_eq!(parse_id(b"+", 0, false, false), Some((StreamId::MAX, true)));
        assert_eq!(parse_id(b"5-*", 0, true, false), None);
    }

    #[test]
    fn commands_add_read_and_trim() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run_command(&mut srv, &mut c, xadd_command, &["xadd", "s", "1-1", "a", "1"]), "$3\r\n1-1\r\n");
        assert_eq!(run_command(&mut srv, &mut c, xadd_command, &["xadd", "s", "1-*", "b", "x"]), "$3\r\n1-2\r\n");
        // Nothing propagates (no backlog, no replica): the command stays as sent.
        assert_eq!(c.argv.get(2), b"1-*");
        // With a backlog the generated ID replaces `1-*` for propagation.
        srv.repl.backlog = Some(crate::replication::backlog::Backlog::new(1024, 0));
        assert_eq!(run_command(&mut srv, &mut c, xadd_command, &["xadd", "s2", "1-*", "b", "x"]), "$3\r\n1-0\r\n");
        assert_eq!(c.argv.get(2), b"1-0");
        srv.repl.backlog = None;
        assert_eq!(run_command(&mut srv, &mut c, xlen_command, &["xlen", "s"]), ":2\r\n");
        assert_eq!(
            run_command(&mut srv, &mut c, xrange_command, &["xrange", "s", "(1-1", "+"]),
            "*1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\nb\r\n$1\r\nx\r\n"
        );
        assert_eq!(run_command(&mut srv, &mut c, xrevrange_command, &["xrevrange", "s", "+", "-", "COUNT", "0"]), "*-1\r\n");
        let out = run_command(&mut srv, &mut c, xadd_command, &["xadd", "s", "MAXLEN", "~", "0", "2-0", "c", "3"]);
        assert_eq!(out, "$3\r\n2-0\r\n");
        // Approximate trimming is propagated as the exact resulting length.
        assert_eq!((c.argv.get(3), c.argv.get(4)), (&b"="[..], &b"0"[..]));
        assert_eq!(run_command(&mut srv, &mut c, xlen_command, &["xlen", "s"]), ":0\r\n");
        assert_eq!(srv.dirty, 4);
        let err = run_command(&mut srv, &mut c, xadd_command, &["xadd", "s", "LIMIT", "5", "*", "a", "b"]);
        assert_eq!(err, "-ERR syntax error, LIMIT cannot be used without specifying a trimming strategy\r\n");
    }

    #[test]
    fn groups_deliver_pending_and_claim() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        for (i, v) in ["1-0", "2-0", "3-0"].iter().enumerate() {
            run_command(&mut srv, &mut c, xadd_command, &["xadd", "s", v, "f", &i.to_string()]);
        }
        assert_eq!(run_command(&mut srv, &mut c, xgroup_command, &["xgroup", "create", "s", "g", "0"]), "+OK\r\n");
        let out = run_command(&mut srv, &mut c, xreadgroup_command, &["xreadgroup", "group", "g", "a", "count", "2", "streams", "s", ">"]);
        assert!(out.starts_with("*1\r\n*2\r\n$1\r\ns\r\n*2\r\n"), "{out}");
        assert_eq!(run_command(&mut srv, &mut c, xpending_command, &["xpending", "s", "g"]), "*4\r\n:2\r\n$3\r\n1-0\r\n$3\r\n2-0\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n2\r\n");
        let claim = &["xclaim", "s", "g", "b", "0", "2-0", "9-0", "JUSTID", "TIME", "5"];
        assert_eq!(run_command(&mut srv, &mut c, xclaim_command, claim), "*1\r\n$3\r\n2-0\r\n");
        assert_eq!(run_command(&mut srv, &mut c, xack_command, &["xack", "s", "g", "1-0", "2-0", "3-0"]), ":2\r\n");
        let auto = run_command(&mut srv, &mut c, xautoclaim_command, &["xautoclaim", "s", "g", "c", "0", "0"]);
        assert_eq!(auto, "*3\r\n$3\r\n0-0\r\n*0\r\n*0\r\n");
        let nogroup = run_command(&mut srv, &mut c, xreadgroup_command, &["xreadgroup", "group", "x", "a", "streams", "s", ">"]);
        assert_eq!(nogroup, "-NOGROUP No such key 's' or consumer group 'x' in XREADGROUP with GROUP option\r\n");
    }

    // ---- What goes into the replication stream ----

    use crate::test_support::process;

    /// The commands fed to the backlog since `from` (a master_repl_offset), one line each,
    /// with XCLAIM's TIME value as "T" (it is the clock).
    fn recorded_since(srv: &Server, from: i64) -> Vec<String> {
        let b = srv.repl.backlog.as_ref().expect("backlog");
        let bytes = b.range_from(from + 1).map(|r| r.collect::<Vec<_>>().concat()).unwrap_or_default();
        let mut lines = Vec::new();
        let mut rest = &bytes[..];
        while !rest.is_empty() {
            let mut args = Vec::new();
            let (n, after) = resp_header(rest, b'*');
            rest = after;
            for _ in 0..n {
                let (len, after) = resp_header(rest, b'$');
                args.push(String::from_utf8_lossy(&after[..len]).into_owned());
                rest = &after[len + 2..];
            }
            if let Some(t) = args.iter().position(|a| a == "TIME").filter(|_| args[0] == "XCLAIM") {
                args[t + 1] = "T".into();
            }
            lines.push(args.join(" "));
        }
        lines
    }

    fn resp_header(buf: &[u8], kind: u8) -> (usize, &[u8]) {
        assert_eq!(buf[0], kind, "{}", String::from_utf8_lossy(buf));
        let end = buf.windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let n = std::str::from_utf8(&buf[1..end]).expect("utf8").parse().expect("length");
        (n, &buf[end + 2..])
    }

    /// Runs each command through process_command and returns what it recorded.
    fn record(srv: &mut Server, c: &mut Client, cmd: &str) -> Vec<String> {
        let from = srv.repl.master_repl_offset;
        let args: Vec<&str> = cmd.split(' ').collect();
        let reply = process(srv, c, &args);
        assert!(!reply.starts_with('-'), "{cmd}: {reply}");
        recorded_since(srv, from)
    }

    /// s has entries with `ids`, group g at 0; the backlog exists and db 0 is selected in it.
    fn master_with_stream(ids: &[&str]) -> (Server, Client) {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        srv.repl.create_replication_backlog(1 << 20);
        for id in ids {
            let got = record(&mut srv, &mut c, &format!("XADD s {id} f v"));
            assert_eq!(got.last(), Some(&format!("XADD s {id} f v")), "the first comes after SELECT 0");
        }
        assert_eq!(record(&mut srv, &mut c, "XGROUP CREATE s g 0"), ["XGROUP CREATE s g 0"]);
        (srv, c)
    }

    #[test]
    fn xreadgroup_is_recorded_as_one_xclaim_per_delivered_entry() {
        let (mut srv, mut c) = master_with_stream(&["1-1", "2-1", "3-1"]);
        let got = record(&mut srv, &mut c, "XREADGROUP GROUP g alice COUNT 2 STREAMS s >");
        let want = [
            "MULTI",
            "XCLAIM s g alice 0 1-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
            "XCLAIM s g alice 0 2-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 2-1",
            "EXEC",
        ];
        assert_eq!(got, want, "the consumer created on the way is not recorded without NOACK");
        let time = srv.db[0].dict.find(b"s").and_then(as_stream).and_then(|s| s.lookup_cg(b"g")).map(|cg| cg.pel[&StreamId::new(1, 1)].delivery_time);
        let raw = String::from_utf8_lossy(&srv.repl.backlog.as_ref().expect("backlog").range_from(1).map(|r| r.collect::<Vec<_>>().concat()).unwrap_or_default()).into_owned();
        assert!(raw.contains(&format!("TIME\r\n$13\r\n{}\r\n", time.unwrap_or(-1))), "TIME is the NACK's delivery time");
        assert!(record(&mut srv, &mut c, "XREADGROUP GROUP g alice STREAMS s 0").is_empty(), "history reads record nothing");
        assert!(record(&mut srv, &mut c, "XREADGROUP GROUP g bob STREAMS s 0").is_empty());
        assert_eq!(record(&mut srv, &mut c, "XREADGROUP GROUP g alice STREAMS s >"), ["XCLAIM s g alice 0 3-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1"]);
        assert!(record(&mut srv, &mut c, "XREADGROUP GROUP g alice STREAMS s >").is_empty(), "nothing served");
        assert!(record(&mut srv, &mut c, "XREAD STREAMS s 0").is_empty());
    }

    #[test]
    fn xreadgroup_noack_records_the_consumer_and_the_group_id() {
        let (mut srv, mut c) = master_with_stream(&["1-1", "2-1", "3-1"]);
        let got = record(&mut srv, &mut c, "XREADGROUP GROUP g bob NOACK COUNT 2 STREAMS s >");
        assert_eq!(got, ["MULTI", "XGROUP CREATECONSUMER s g bob", "XGROUP SETID s g 2-1 ENTRIESREAD 2", "EXEC"]);
        assert_eq!(record(&mut srv, &mut c, "XREADGROUP GROUP g bob NOACK STREAMS s >"), ["XGROUP SETID s g 3-1 ENTRIESREAD 3"]);
        assert_eq!(record(&mut srv, &mut c, "XREADGROUP GROUP g carol NOACK STREAMS s 0"), ["XGROUP CREATECONSUMER s g carol"]);
        assert!(record(&mut srv, &mut c, "XREADGROUP GROUP g bob NOACK STREAMS s >").is_empty());
    }

    #[test]
    fn xclaim_records_its_effects_with_the_ids_as_typed() {
        let (mut srv, mut c) = master_with_stream(&["1", "2", "3"]);
        record(&mut srv, &mut c, "XREADGROUP GROUP g alice STREAMS s >");
        record(&mut srv, &mut c, "XDEL s 2");
        let got = record(&mut srv, &mut c, "XCLAIM s g bob 0 0001 02 3 9");
        let want = [
            "MULTI",
            "XCLAIM s g bob 0 0001 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 3-0",
            "XCLAIM s g alice 0 02 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-0",
            "XCLAIM s g bob 0 3 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 3-0",
            "EXEC",
        ];
        assert_eq!(got, want, "a deleted entry goes with its old owner and counters");
        let got = record(&mut srv, &mut c, "XCLAIM s g dave 0 1 RETRYCOUNT 9223372036854775807 TIME 12345");
        assert_eq!(got, ["XCLAIM s g dave 0 1 TIME T RETRYCOUNT 9223372036854775807 FORCE JUSTID LASTID 3-0"]);
        assert!(recorded_raw(&srv).contains("TIME\r\n$5\r\n12345\r\n"));
        let got = record(&mut srv, &mut c, "XCLAIM s g dave 0 1");
        assert_eq!(got, ["XCLAIM s g dave 0 1 TIME T RETRYCOUNT -9223372036854775808 FORCE JUSTID LASTID 3-0"], "printed as a long long");
        assert_eq!(record(&mut srv, &mut c, "XCLAIM s g erin 0 77 LASTID 70"), ["XGROUP SETID s g 70-0 ENTRIESREAD 3"]);
        assert!(record(&mut srv, &mut c, "XCLAIM s g erin 0 77 LASTID 5").is_empty());
        assert_eq!(record(&mut srv, &mut c, "XCLAIM s g erin 0 1 LASTID 80 JUSTID").len(), 1, "the XCLAIM carries LASTID");
    }

    fn recorded_raw(srv: &Server) -> String {
        let b = srv.repl.backlog.as_ref().expect("backlog");
        b.range_from(b.first_byte_offset()).map(|r| String::from_utf8_lossy(&r.collect::<Vec<_>>().concat()).into_owned()).unwrap_or_default()
    }

    #[test]
    fn xautoclaim_records_claimed_and_deleted_entries() {
        let (mut srv, mut c) = master_with_stream(&["1-1", "2-1", "3-1"]);
        record(&mut srv, &mut c, "XREADGROUP GROUP g alice STREAMS s >");
        record(&mut srv, &mut c, "XDEL s 2-1");
        let got = record(&mut srv, &mut c, "XAUTOCLAIM s g gina 0 0 COUNT 2");
        let want = [
            "MULTI",
            "XCLAIM s g gina 0 1-1 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 3-1",
            "XCLAIM s g alice 0 2-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1",
            "EXEC",
        ];
        assert_eq!(got, want);
        assert_eq!(record(&mut srv, &mut c, "XAUTOCLAIM s g gina 0 0 JUSTID"), ["MULTI", "XCLAIM s g gina 0 1-1 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 3-1", "XCLAIM s g gina 0 3-1 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 3-1", "EXEC"]);
        assert!(record(&mut srv, &mut c, "XAUTOCLAIM s g gina 1000000 0").is_empty());
    }

    #[test]
    fn writes_are_recorded_as_typed_or_with_the_ids_and_trims_that_happened() {
        let (mut srv, mut c) = master_with_stream(&["1-1", "2-1", "3-1"]);
        assert_eq!(record(&mut srv, &mut c, "XADD s MAXLEN ~ 1 5-* f v"), ["XADD s MAXLEN = 4 5-0 f v"]);
        assert_eq!(record(&mut srv, &mut c, "XTRIM s MAXLEN ~ 0"), ["XTRIM s MAXLEN = 0"]);
        assert!(record(&mut srv, &mut c, "XTRIM s MAXLEN 0").is_empty());
        assert_eq!(record(&mut srv, &mut c, "XGROUP SETID s g $"), ["XGROUP SETID s g $"]);
        assert_eq!(record(&mut srv, &mut c, "XGROUP CREATE s g2 $"), ["XGROUP CREATE s g2 $"]);
        assert_eq!(record(&mut srv, &mut c, "XGROUP CREATECONSUMER s g z"), ["XGROUP CREATECONSUMER s g z"]);
        let added = record(&mut srv, &mut c, "XADD s * f v");
        assert!(added.len() == 1 && added[0].starts_with("XADD s ") && !added[0].contains('*'), "{added:?}");
    }

    #[test]
    fn nothing_is_built_without_a_backlog_or_replicas() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        for cmd in ["XADD s 1-1 f v", "XGROUP CREATE s g 0", "XREADGROUP GROUP g a STREAMS s >", "XCLAIM s g b 0 1-1", "XAUTOCLAIM s g c 0 0"] {
            process(&mut srv, &mut c, &cmd.split(' ').collect::<Vec<_>>());
            assert!(srv.repl.also_propagate.is_empty(), "{cmd}");
        }
        assert_eq!(srv.repl.master_repl_offset, 0);
    }

}

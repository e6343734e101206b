//! String commands: Redis's t_string.c (SET and its family, GET/GETEX/GETDEL/GETSET, MGET,
//! MSET, INCR and friends, APPEND, STRLEN, GETRANGE/SETRANGE and LCS), plus the helpers the
//! bit commands in bitops.rs share with them (type-checked lookups, length limits).
//!
//! Every command runs to completion inside one event-loop turn, so a command reads the key,
//! decides and writes without any other client interleaving. Values keep Redis's encodings
//! (int / embstr / raw) because OBJECT ENCODING shows them: a value set from an argument is
//! encoded like tryObjectEncoding() does, a value changed in place (APPEND, SETRANGE) turns
//! raw. After a write each command signals the key and counts `dirty` exactly as Redis, and
//! rewrites its argv the way Redis does for propagation (SET .. EX becomes SET .. PXAT ...).

use crate::db::{self, LookupFlags};
use crate::networking::{Argv, Client, CLIENT_MASTER};
use crate::object::{RObj, StrValue, Value};
use crate::reply::Reply;
use crate::server::Server;
use crate::util;
use crate::{notify, pubsub};

const NOT_AN_INTEGER: &str = "value is not an integer or out of range";
const STRING_TOO_LONG: &str = "string exceeds maximum allowed size (proto-max-bulk-len)";
/// Redis would abort on a failed allocation; we refuse the command instead.
pub(crate) const OUT_OF_MEMORY: &str = "Insufficient memory, failed allocating the string";

// ----------------------------------------------------------------------------------------
// Helpers shared with bitops.rs
// ----------------------------------------------------------------------------------------

/// Redis: server.c mustObeyClient(): our master's link is never refused for size limits.
pub fn must_obey_client(c: &Client) -> bool {
    c.flags & CLIENT_MASTER != 0
}

/// Whether a string of `size + append` bytes fits within proto-max-bulk-len `max`.
pub fn string_length_allowed(max: i64, size: u64, append: u64) -> bool {
    match size.checked_add(append).and_then(|total| i64::try_from(total).ok()) {
        Some(total) => total <= max,
        None => false,
    }
}

/// Redis: t_string.c checkStringLength(): replies the error when the result would be too long.
pub fn check_string_length(c: &mut Client, max: i64, size: u64, append: u64) -> Result<(), ()> {
    if must_obey_client(c) || string_length_allowed(max, size, append) {
        return Ok(());
    }
    c.reply.add_reply_error(STRING_TOO_LONG);
    Err(())
}

/// Redis: object.c getLongLongFromObjectOrReply() for argument `idx` (`msg` replaces the
/// default error text, as Redis's `msg` parameter does).
pub fn get_long_long_from_object_or_reply(c: &mut Client, idx: usize, msg: Option<&str>) -> Option<i64> {
    let value = util::string2ll(c.argv.get(idx));
    if value.is_none() {
        c.reply.add_reply_error(msg.unwrap_or(NOT_AN_INTEGER));
    }
    value
}

/// Redis: lookupKey*() + checkType(c,o,OBJ_STRING): the string at the key named by argument
/// `idx`, `Ok(None)` when missing, `Err` once WRONGTYPE was replied.
pub fn lookup_string_or_reply<'a>(
    srv: &'a mut Server,
    c: &mut Client,
    idx: usize,
    flags: LookupFlags,
) -> Result<Option<&'a mut StrValue>, ()> {
    match db::lookup_key(srv, c.db, c.argv.get(idx), flags) {
        None => Ok(None),
        Some(obj) => match obj.as_str_mut() {
            Some(value) => Ok(Some(value)),
            None => {
                c.reply.add_reply_wrong_type();
                Err(())
            }
        },
    }
}

/// Redis: networking.c addReplyBulk() of a string object.
pub fn add_reply_bulk_str(reply: &mut Reply, value: &StrValue) {
    match value {
        StrValue::Int(v) => reply.add_reply_bulk_long_long(*v),
        StrValue::Embstr(bytes) => reply.add_reply_bulk(bytes),
        StrValue::Raw(bytes) => reply.add_reply_bulk(bytes),
    }
}

/// Redis: db.c dbAdd() of a string value. The caller knows the key is absent.
pub fn db_add_string(srv: &mut Server, dbid: usize, key: &[u8], value: StrValue) {
    // Redis: createObject() starts the LRU clock, or the LFU counter under an LFU policy.
    let lru = crate::object::AccessClock::of(srv).initial_lru();
    if let Some(db) = srv.db.get_mut(dbid) {
        db.db_add(key, RObj::new(Value::Str(value), lru));
    }
    notify::notify_keyspace_event(srv, notify::NOTIFY_NEW, "new", key, dbid);
}

/// Redis: sds.c sdsgrowzero(): pads `buf` with zero bytes up to `len`; false when the memory
/// cannot be had (Redis would abort).
pub fn grow_zero(buf: &mut Vec<u8>, len: usize) -> bool {
    if buf.len() >= len {
        return true;
    }
    if buf.try_reserve(len - buf.len()).is_err() {
        return false;
    }
    buf.resize(len, 0);
    true
}

/// Redis: createStringObject(): embstr up to 44 bytes, raw above (never int).
fn string_object(bytes: Vec<u8>) -> StrValue {
    StrValue::create_string(bytes)
}

use crate::networking::rewrite_client_command_vector;

fn ascii_ll(v: i64) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    util::write_ll(&mut out, v);
    out
}

// ----------------------------------------------------------------------------------------
// SET / GETEX option parsing
// ----------------------------------------------------------------------------------------

/// Redis: OBJ_EX / OBJ_PX / OBJ_EXAT / OBJ_PXAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl ExpireKind {
    fn from_option(opt: &[u8]) -> Option<ExpireKind> {
        [(b"ex" as &[u8], ExpireKind::Ex), (b"px", ExpireKind::Px), (b"exat", ExpireKind::ExAt), (b"pxat", ExpireKind::PxAt)]
            .into_iter()
            .find(|(name, _)| opt.eq_ignore_ascii_case(name))
            .map(|(_, kind)| kind)
    }

    fn in_seconds(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::ExAt)
    }

    fn is_relative(self) -> bool {
        matches!(self, ExpireKind::Ex | ExpireKind::Px)
    }
}

/// Redis: OBJ_SET_NX / OBJ_SET_XX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetCondition {
    Always,
    IfMissing,
    IfExists,
}

/// What a SET or GETEX does to the key's TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlOption {
    /// SET drops the TTL, GETEX leaves it alone.
    Default,
    KeepTtl,
    Persist,
    /// EX/PX/EXAT/PXAT with the index of its argument.
    Expire { kind: ExpireKind, arg: usize },
}

/// Redis: COMMAND_GET / COMMAND_SET of parseExtendedStringArgumentsOrReply().
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandType {
    Get,
    Set,
}

/// The options of SET (NX XX GET KEEPTTL EX PX EXAT PXAT) or GETEX (EX PX EXAT PXAT PERSIST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StringArgs {
    pub condition: SetCondition,
    pub get: bool,
    pub ttl: TtlOption,
}

impl StringArgs {
    pub const PLAIN: StringArgs = StringArgs { condition: SetCondition::Always, get: false, ttl: TtlOption::Default };
}

/// Redis: t_string.c parseExtendedStringArgumentsOrReply() without the reply: None means
/// "syntax error". Conflicting options (NX with XX, two different expire kinds, KEEPTTL or
/// PERSIST with an expire) are errors; repeating the same option is not.
pub fn parse_extended_string_arguments(argv: &Argv, ctype: CommandType) -> Option<StringArgs> {
    let mut args = StringArgs::PLAIN;
    let is_set = ctype == CommandType::Set;
    let mut j = if is_set { 3 } else { 2 };
    while j < argv.len() {
        let opt = argv.get(j);
        if is_set && opt.eq_ignore_ascii_case(b"nx") && args.condition != SetCondition::IfExists {
            args.condition = SetCondition::IfMissing;
        } else if is_set && opt.eq_ignore_ascii_case(b"xx") && args.condition != SetCondition::IfMissing {
            args.condition = SetCondition::IfExists;
        } else if is_set && opt.eq_ignore_ascii_case(b"get") {
            args.get = true;
        } else if is_set && opt.eq_ignore_ascii_case(b"keepttl") && matches!(args.ttl, TtlOption::Default | TtlOption::KeepTtl) {
            args.ttl = TtlOption::KeepTtl;
        } else if !is_set && opt.eq_ignore_ascii_case(b"persist") && matches!(args.ttl, TtlOption::Default | TtlOption::Persist) {
            args.ttl = TtlOption::Persist;
        } else {
            let kind = ExpireKind::from_option(opt)?;
            let compatible = match args.ttl {
                TtlOption::Default => true,
                TtlOption::Expire { kind: current, .. } => current == kind,
                TtlOption::KeepTtl | TtlOption::Persist => false,
            };
            if !compatible || j + 1 >= argv.len() {
                return None;
            }
            args.ttl = TtlOption::Expire { kind, arg: j + 1 };
            j += 1;
        }
        j += 1;
    }
    Some(args)
}

/// Redis: t_string.c getExpireMillisecondsOrReply() arithmetic: the absolute unix time in
/// ms, or None for "invalid expire time" (not positive, or overflowing).
pub fn expire_to_absolute_ms(value: i64, kind: ExpireKind, now_ms: i64) -> Option<i64> {
    if value <= 0 {
        return None;
    }
    let ms = if kind.in_seconds() { value.checked_mul(1000)? } else { value };
    let when = if kind.is_relative() { ms.checked_add(now_ms)? } else { ms };
    (when > 0).then_some(when)
}

/// Redis: networking.c addReplyErrorExpireTime().
fn add_reply_error_expire_time(srv: &Server, c: &mut Client) {
    let msg = format!("invalid expire time in '{}' command", srv.current_command_name(c));
    c.reply.add_reply_error(&msg);
}

/// Redis: t_string.c getExpireMillisecondsOrReply().
fn get_expire_milliseconds_or_reply(srv: &Server, c: &mut Client, arg: usize, kind: ExpireKind) -> Option<i64> {
    let value = get_long_long_from_object_or_reply(c, arg, None)?;
    let when = expire_to_absolute_ms(value, kind, srv.cmd_time_snapshot);
    if when.is_none() {
        add_reply_error_expire_time(srv, c);
    }
    when
}

// ----------------------------------------------------------------------------------------
// SET family
// ----------------------------------------------------------------------------------------

/// The replies of setGenericCommand()'s `ok_reply` / `abort_reply`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetReplies {
    /// SET, SETEX, PSETEX: +OK, or a null when NX/XX stopped the write.
    OkOrNull,
    /// SETNX: :1 or :0.
    OneOrZero,
}

/// Redis: t_string.c setGenericCommand(). The key is argument 1, the value `val_idx`.
fn set_generic_command(srv: &mut Server, c: &mut Client, args: StringArgs, val_idx: usize, replies: SetReplies) {
    let mut expire_at = None;
    if let TtlOption::Expire { kind, arg } = args.ttl {
        let Some(when) = get_expire_milliseconds_or_reply(srv, c, arg, kind) else { return };
        expire_at = Some((kind, when));
    }
    if args.get && get_generic_command(srv, c).is_err() {
        return;
    }
    let dbid = c.db;
    let found = db::lookup_key_write(srv, dbid, c.argv.get(1)).is_some();
    let stopped = match args.condition {
        SetCondition::Always => false,
        SetCondition::IfMissing => found,
        SetCondition::IfExists => !found,
    };
    if stopped {
        if !args.get {
            match replies {
                SetReplies::OkOrNull => c.reply.add_reply_null(),
                SetReplies::OneOrZero => c.reply.add_reply_long_long(0),
            }
        }
        return;
    }
    let keepttl = args.ttl == TtlOption::KeepTtl || expire_at.is_some();
    let value = RObj::string_from(c.argv.get(val_idx), srv.lru_clock);
    db::set_key(srv, dbid, c.argv.get(1), value, keepttl);
    srv.dirty += 1;
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "set", c.argv.get(1), dbid);
    if let Some((_, when)) = expire_at {
        if let Some(db) = srv.db.get_mut(dbid) {
            db.set_expire(c.argv.get(1), when);
        }
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "expire", c.argv.get(1), dbid);
    }
    // With GET the old value was the reply: the events follow it.
    pubsub::flush_pending_pushes(srv, c);
    if !args.get {
        match replies {
            SetReplies::OkOrNull => c.reply.add_reply_ok(),
            SetReplies::OneOrZero => c.reply.add_reply_long_long(1),
        }
    }
    rewrite_set_for_propagation(c, args, val_idx, expire_at);
}

/// Redis: the end of setGenericCommand(): a relative expire is propagated as PXAT, and GET
/// is dropped since replicas have no client to answer.
fn rewrite_set_for_propagation(c: &mut Client, args: StringArgs, val_idx: usize, expire_at: Option<(ExpireKind, i64)>) {
    match expire_at {
        Some((ExpireKind::PxAt, _)) => {}
        Some((_, when)) => {
            let (key, val, ms) = (c.argv.get(1).to_vec(), c.argv.get(val_idx).to_vec(), ascii_ll(when));
            rewrite_client_command_vector(c, &[b"SET", &key, &val, b"PXAT", &ms]);
        }
        None if args.get => {
            let kept: Vec<Vec<u8>> = c
                .argv
                .iter()
                .enumerate()
                .filter(|(j, arg)| *j < 3 || !arg.eq_ignore_ascii_case(b"get"))
                .map(|(_, arg)| arg.to_vec())
                .collect();
            let refs: Vec<&[u8]> = kept.iter().map(Vec::as_slice).collect();
            rewrite_client_command_vector(c, &refs);
        }
        None => {}
    }
}

/// Redis: t_string.c setCommand().
pub fn set_command(srv: &mut Server, c: &mut Client) {
    let Some(args) = parse_extended_string_arguments(&c.argv, CommandType::Set) else {
        return c.reply.add_reply_syntax_error();
    };
    set_generic_command(srv, c, args, 2, SetReplies::OkOrNull);
}

/// Redis: t_string.c setnxCommand().
pub fn setnx_command(srv: &mut Server, c: &mut Client) {
    let args = StringArgs { condition: SetCondition::IfMissing, ..StringArgs::PLAIN };
    set_generic_command(srv, c, args, 2, SetReplies::OneOrZero);
}

/// Redis: t_string.c setexCommand().
pub fn setex_command(srv: &mut Server, c: &mut Client) {
    let args = StringArgs { ttl: TtlOption::Expire { kind: ExpireKind::Ex, arg: 2 }, ..StringArgs::PLAIN };
    set_generic_command(srv, c, args, 3, SetReplies::OkOrNull);
}

/// Redis: t_string.c psetexCommand().
pub fn psetex_command(srv: &mut Server, c: &mut Client) {
    let args = StringArgs { ttl: TtlOption::Expire { kind: ExpireKind::Px, arg: 2 }, ..StringArgs::PLAIN };
    set_generic_command(srv, c, args, 3, SetReplies::OkOrNull);
}

// ----------------------------------------------------------------------------------------
// GET family
// ----------------------------------------------------------------------------------------

/// Redis: t_string.c getGenericCommand(): replies the value or a null; Err after WRONGTYPE.
fn get_generic_command(srv: &mut Server, c: &mut Client) -> Result<(), ()> {
    match lookup_string_or_reply(srv, c, 1, LookupFlags::Read)? {
        None => c.reply.add_reply_null(),
        Some(value) => add_reply_bulk_str(&mut c.reply, value),
    }
    Ok(())
}

/// Redis: t_string.c getCommand().
pub fn get_command(srv: &mut Server, c: &mut Client) {
    let _ = get_generic_command(srv, c);
}

/// Redis: t_string.c getexCommand(): GET that also sets or removes the TTL.
pub fn getex_command(srv: &mut Server, c: &mut Client) {
    let Some(args) = parse_extended_string_arguments(&c.argv, CommandType::Get) else {
        return c.reply.add_reply_syntax_error();
    };
    match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(_)) => {}
    }
    let mut expire_at = None;
    if let TtlOption::Expire { kind, arg } = args.ttl {
        let Some(when) = get_expire_milliseconds_or_reply(srv, c, arg, kind) else { return };
        expire_at = Some((kind, when));
    }
    // The key was just found, so this second, side-effect free read sees it.
    if let Some(value) = srv.db.get(c.db).and_then(|db| db.dict.get(c.argv.get(1))).and_then(RObj::as_str) {
        add_reply_bulk_str(&mut c.reply, value);
    }
    match (args.ttl, expire_at) {
        (_, Some((kind, when))) => getex_apply_expire(srv, c, kind, when),
        (TtlOption::Persist, None) => getex_apply_persist(srv, c),
        _ => {}
    }
}

/// GETEX EX/PX/EXAT/PXAT after the reply: an absolute time already past deletes the key.
fn getex_apply_expire(srv: &mut Server, c: &mut Client, kind: ExpireKind, when: i64) {
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let absolute = !kind.is_relative();
    if absolute && crate::expire::check_already_expired(srv, when) {
        if let Some(db) = srv.db.get_mut(dbid) {
            db.db_delete(&key);
        }
        let del: &[u8] = if srv.config.lazyfree_lazy_expire { b"UNLINK" } else { b"DEL" };
        rewrite_client_command_vector(c, &[del, &key]);
        srv.signal_modified_key(dbid, &key);
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "del", &key, dbid);
    } else {
        if let Some(db) = srv.db.get_mut(dbid) {
            db.set_expire(&key, when);
        }
        rewrite_client_command_vector(c, &[b"PEXPIREAT", &key, &ascii_ll(when)]);
        srv.signal_modified_key(dbid, &key);
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "expire", &key, dbid);
    }
    pubsub::flush_pending_pushes(srv, c);
    srv.dirty += 1;
}

/// GETEX PERSIST after the reply: only a key that had a TTL counts as a change.
fn getex_apply_persist(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let removed = srv.db.get_mut(dbid).is_some_and(|db| db.remove_expire(&key));
    if removed {
        srv.signal_modified_key(dbid, &key);
        rewrite_client_command_vector(c, &[b"PERSIST", &key]);
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "persist", &key, dbid);
        pubsub::flush_pending_pushes(srv, c);
        srv.dirty += 1;
    }
}

/// Redis: t_string.c getdelCommand().
pub fn getdel_command(srv: &mut Server, c: &mut Client) {
    if get_generic_command(srv, c).is_err() {
        return;
    }
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let deleted = srv.db.get_mut(dbid).and_then(|db| db.db_delete(&key)).is_some();
    if deleted {
        rewrite_client_command_vector(c, &[b"DEL", &key]);
        srv.signal_modified_key(dbid, &key);
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "del", &key, dbid);
        pubsub::flush_pending_pushes(srv, c);
        srv.dirty += 1;
    }
}

/// Redis: t_string.c getsetCommand(): the old value, then a plain SET (the TTL goes).
pub fn getset_command(srv: &mut Server, c: &mut Client) {
    if get_generic_command(srv, c).is_err() {
        return;
    }
    let value = RObj::string_from(c.argv.get(2), srv.lru_clock);
    db::set_key(srv, c.db, c.argv.get(1), value, false);
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "set", c.argv.get(1), c.db);
    pubsub::flush_pending_pushes(srv, c);
    srv.dirty += 1;
    let (key, val) = (c.argv.get(1).to_vec(), c.argv.get(2).to_vec());
    rewrite_client_command_vector(c, &[b"SET", &key, &val]);
}

/// Redis: t_string.c mgetCommand(): a null for missing keys and for non-strings.
pub fn mget_command(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_array_len(c.argv.len() - 1);
    for j in 1..c.argv.len() {
        match db::lookup_key_read(srv, c.db, c.argv.get(j)).and_then(|obj| obj.as_str()) {
            Some(value) => add_reply_bulk_str(&mut c.reply, value),
            None => c.reply.add_reply_null(),
        }
    }
}

/// Redis: t_string.c msetGenericCommand(): MSETNX writes nothing if any key exists.
fn mset_generic_command(srv: &mut Server, c: &mut Client, nx: bool) {
    if c.argv.len().is_multiple_of(2) {
        let name = srv.current_command_name(c);
        return c.reply.add_reply_error_arity(&name);
    }
    let dbid = c.db;
    if nx && (1..c.argv.len()).step_by(2).any(|j| db::lookup_key_write(srv, dbid, c.argv.get(j)).is_some()) {
        return c.reply.add_reply_long_long(0);
    }
    for j in (1..c.argv.len()).step_by(2) {
        let value = RObj::string_from(c.argv.get(j + 1), srv.lru_clock);
        db::set_key(srv, dbid, c.argv.get(j), value, false);
        notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "set", c.argv.get(j), dbid);
    }
    srv.dirty += ((c.argv.len() - 1) / 2) as u64;
    if nx {
        c.reply.add_reply_long_long(1);
    } else {
        c.reply.add_reply_ok();
    }
}

/// Redis: t_string.c msetCommand().
pub fn mset_command(srv: &mut Server, c: &mut Client) {
    mset_generic_command(srv, c, false);
}

/// Redis: t_string.c msetnxCommand().
pub fn msetnx_command(srv: &mut Server, c: &mut Client) {
    mset_generic_command(srv, c, true);
}

// ----------------------------------------------------------------------------------------
// Counters
// ----------------------------------------------------------------------------------------

/// Redis: t_string.c incrDecrCommand(): the result is always int-encoded; the TTL stays.
fn incr_decr_command(srv: &mut Server, c: &mut Client, incr: i64) {
    let dbid = c.db;
    let current = match lookup_string_or_reply(srv, c, 1, LookupFlags::Write) {
        Err(()) => return,
        Ok(current) => current,
    };
    let value = match current.as_deref().map(StrValue::as_i64) {
        None => 0,
        Some(Some(value)) => value,
        Some(None) => return c.reply.add_reply_error(NOT_AN_INTEGER),
    };
    let Some(new) = value.checked_add(incr) else {
        return c.reply.add_reply_error("increment or decrement would overflow");
    };
    match current {
        Some(slot) => *slot = StrValue::Int(new),
        None => db_add_string(srv, dbid, c.argv.get(1), StrValue::Int(new)),
    }
    srv.signal_modified_key(dbid, c.argv.get(1));
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "incrby", c.argv.get(1), dbid);
    srv.dirty += 1;
    c.reply.add_reply_long_long(new);
}

/// Redis: t_string.c incrCommand().
pub fn incr_command(srv: &mut Server, c: &mut Client) {
    incr_decr_command(srv, c, 1);
}

/// Redis: t_string.c decrCommand().
pub fn decr_command(srv: &mut Server, c: &mut Client) {
    incr_decr_command(srv, c, -1);
}

/// Redis: t_string.c incrbyCommand().
pub fn incrby_command(srv: &mut Server, c: &mut Client) {
    let Some(incr) = get_long_long_from_object_or_reply(c, 2, None) else { return };
    incr_decr_command(srv, c, incr);
}

/// Redis: t_string.c decrbyCommand(): -LLONG_MIN does not exist, so it is refused.
pub fn decrby_command(srv: &mut Server, c: &mut Client) {
    let Some(decr) = get_long_long_from_object_or_reply(c, 2, None) else { return };
    let Some(incr) = decr.checked_neg() else {
        return c.reply.add_reply_error("decrement would overflow");
    };
    incr_decr_command(srv, c, incr);
}

/// Redis: t_string.c incrbyfloatCommand(): long double arithmetic, stored as text (embstr or
/// raw, never int) and propagated as SET ... KEEPTTL so replicas need no float maths.
pub fn incrbyfloat_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let current = match lookup_string_or_reply(srv, c, 1, LookupFlags::Write) {
        Err(()) => return,
        Ok(current) => current,
    };
    let mut scratch = Vec::new();
    let old: &[u8] = match current.as_deref() {
        None => b"0",
        Some(value) => value.bytes(&mut scratch),
    };
    let text = match util::incr_float_string(old, c.argv.get(2)) {
        Ok(text) => text,
        Err(err) => return c.reply.add_reply_error(err.message()),
    };
    c.reply.add_reply_bulk(&text);
    match current {
        Some(slot) => *slot = string_object(text.clone()),
        None => db_add_string(srv, dbid, c.argv.get(1), string_object(text.clone())),
    }
    srv.signal_modified_key(dbid, c.argv.get(1));
    // Redis notifies before replying: the pending pushes go ahead of the reply added above.
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "incrbyfloat", c.argv.get(1), dbid);
    srv.dirty += 1;
    let key = c.argv.get(1).to_vec();
    rewrite_client_command_vector(c, &[b"SET", &key, &text, b"KEEPTTL"]);
}

// ----------------------------------------------------------------------------------------
// APPEND, STRLEN, ranges
// ----------------------------------------------------------------------------------------

/// Redis: t_string.c appendCommand(): a new key is encoded like SET; an existing one turns raw.
pub fn append_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let max = srv.config.proto_max_bulk_len;
    let totlen = match lookup_string_or_reply(srv, c, 1, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) => {
            let value = StrValue::encode(c.argv.get(2));
            let len = value.len();
            db_add_string(srv, dbid, c.argv.get(1), value);
            len
        }
        Ok(Some(value)) => {
            if check_string_length(c, max, value.len() as u64, c.argv.get(2).len() as u64).is_err() {
                return;
            }
            let buf = value.make_raw();
            if buf.try_reserve(c.argv.get(2).len()).is_err() {
                return c.reply.add_reply_error(OUT_OF_MEMORY);
            }
            buf.extend_from_slice(c.argv.get(2));
            buf.len()
        }
    };
    srv.signal_modified_key(dbid, c.argv.get(1));
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "append", c.argv.get(1), dbid);
    srv.dirty += 1;
    c.reply.add_reply_long_long(totlen as i64);
}

/// Redis: t_string.c strlenCommand().
pub fn strlen_command(srv: &mut Server, c: &mut Client) {
    match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(value)) => {
            let len = value.len() as i64;
            c.reply.add_reply_long_long(len);
        }
    }
}

/// Writes `data` at `offset`, zero-padding the gap; false when memory can't be had.
fn write_at(buf: &mut Vec<u8>, offset: usize, data: &[u8]) -> bool {
    let Some(end) = offset.checked_add(data.len()) else { return false };
    if !grow_zero(buf, end) {
        return false;
    }
    match buf.get_mut(offset..end) {
        Some(dest) => {
            dest.copy_from_slice(data);
            true
        }
        None => false,
    }
}

/// Redis: t_string.c setrangeCommand(). The length limit is checked before any allocation.
pub fn setrange_command(srv: &mut Server, c: &mut Client) {
    let Some(offset) = get_long_long_from_object_or_reply(c, 2, None) else { return };
    let Ok(offset) = u64::try_from(offset) else {
        return c.reply.add_reply_error("offset is out of range");
    };
    let dbid = c.db;
    let max = srv.config.proto_max_bulk_len;
    let vlen = c.argv.get(3).len() as u64;
    let newlen = match lookup_string_or_reply(srv, c, 1, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) if vlen == 0 => return c.reply.add_reply_long_long(0),
        Ok(Some(value)) if vlen == 0 => {
            let len = value.len() as i64;
            return c.reply.add_reply_long_long(len);
        }
        Ok(existing) => {
            if check_string_length(c, max, offset, vlen).is_err() {
                return;
            }
            match setrange_write(existing, offset as usize, c.argv.get(3)) {
                Ok(SetrangeResult::Updated(len)) => len,
                Ok(SetrangeResult::Created(buf)) => {
                    let len = buf.len();
                    db_add_string(srv, dbid, c.argv.get(1), StrValue::Raw(Box::new(buf)));
                    len
                }
                Err(()) => return c.reply.add_reply_error(OUT_OF_MEMORY),
            }
        }
    };
    srv.signal_modified_key(dbid, c.argv.get(1));
    notify::notify_keyspace_event(srv, notify::NOTIFY_STRING, "setrange", c.argv.get(1), dbid);
    srv.dirty += 1;
    c.reply.add_reply_long_long(newlen as i64);
}

enum SetrangeResult {
    /// The existing (now raw) value was changed; its new length.
    Updated(usize),
    /// The key was missing: the new raw value to add.
    Created(Vec<u8>),
}

fn setrange_write(existing: Option<&mut StrValue>, offset: usize, data: &[u8]) -> Result<SetrangeResult, ()> {
    match existing {
        Some(value) => {
            let buf = value.make_raw();
            write_at(buf, offset, data).then_some(SetrangeResult::Updated(buf.len())).ok_or(())
        }
        None => {
            let mut buf = Vec::new();
            write_at(&mut buf, offset, data).then_some(SetrangeResult::Created(buf)).ok_or(())
        }
    }
}

/// Redis: getrangeCommand()'s index arithmetic: the inclusive byte range to reply for a
/// string of `len` bytes, None when it is empty. Negative indexes count from the end.
pub fn getrange_bounds(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let strlen = i64::try_from(len).ok()?;
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let start = if start < 0 { strlen + start } else { start }.max(0);
    let end = if end < 0 { strlen + end } else { end }.max(0).min(strlen - 1);
    if start > end || strlen == 0 {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(end).ok()?))
}

/// Redis: t_string.c getrangeCommand() (also SUBSTR).
pub fn getrange_command(srv: &mut Server, c: &mut Client) {
    let Some(start) = get_long_long_from_object_or_reply(c, 2, None) else { return };
    let Some(end) = get_long_long_from_object_or_reply(c, 3, None) else { return };
    let value = match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_bulk(b""),
        Ok(Some(value)) => value,
    };
    let mut scratch = Vec::new();
    let bytes = value.bytes(&mut scratch);
    let range = getrange_bounds(start, end, bytes.len()).and_then(|(s, e)| bytes.get(s..=e));
    c.reply.add_reply_bulk(range.unwrap_or(b""));
}

// ----------------------------------------------------------------------------------------
// LCS
// ----------------------------------------------------------------------------------------

/// One common run of LCS IDX: inclusive byte ranges in each string and the run's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LcsMatch {
    pub a: (u32, u32),
    pub b: (u32, u32),
    pub len: u32,
}

/// Redis: the LCS(A,B) table of lcsCommand(): `table[j + (blen+1)*i]` is the LCS length of
/// a[..i] and b[..j]. The caller has checked the size; None if memory can't be had.
pub fn lcs_table(a: &[u8], b: &[u8]) -> Option<Vec<u32>> {
    let width = b.len() + 1;
    let cells = (a.len() + 1).checked_mul(width)?;
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells).ok()?;
    table.resize(cells, 0);
    for (i, &ca) in a.iter().enumerate() {
        // Row i (done) is read while row i+1 is filled; column 0 of every row stays 0.
        let (done, rest) = table.split_at_mut((i + 1) * width);
        let prev = done.get(i * width..)?;
        let row = rest.get_mut(..width)?;
        let mut left = 0u32;
        for ((&cb, pair), cell) in b.iter().zip(prev.windows(2)).zip(row.iter_mut().skip(1)) {
            let value = if ca == cb { pair[0] + 1 } else { pair[1].max(left) };
            *cell = value;
            left = value;
        }
    }
    Some(table)
}

/// Redis: the backward walk of lcsCommand(): the common subsequence and the matched runs
/// (last run first, as Redis emits them) no shorter than `minmatchlen` (0 = all).
pub fn lcs_walk(a: &[u8], b: &[u8], table: &[u32], minmatchlen: u64) -> (Vec<u8>, Vec<LcsMatch>) {
    let width = b.len() + 1;
    let at = |i: usize, j: usize| table.get(i * width + j).copied().unwrap_or(0);
    let mut idx = at(a.len(), b.len()) as usize;
    let mut seq = vec![0u8; idx];
    let mut matches = Vec::new();
    // Current run: (a_start, a_end, b_start, b_end), extended backwards while contiguous.
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j) = (a.len(), b.len());
    while i > 0 && j > 0 {
        let (Some(&ca), Some(&cb)) = (a.get(i - 1), b.get(j - 1)) else { break };
        let mut emit = false;
        if ca == cb {
            if let Some(slot) = seq.get_mut(idx.wrapping_sub(1)) {
                *slot = ca;
            }
            run = match run {
                None => Some((i - 1, i - 1, j - 1, j - 1)),
                Some((sa, ea, sb, eb)) if sa == i && sb == j => Some((sa - 1, ea, sb - 1, eb)),
                Some(r) => {
                    emit = true;
                    Some(r)
                }
            };
            if matches!(run, Some((0, _, _, _)) | Some((_, _, 0, _))) {
                emit = true;
            }
            idx = idx.saturating_sub(1);
            i -= 1;
            j -= 1;
        } else {
            if at(i - 1, j) > at(i, j - 1) {
                i -= 1;
            } else {
                j -= 1;
            }
            emit = run.is_some();
        }
        if emit {
            if let Some((sa, ea, sb, eb)) = run.take() {
                let len = (ea - sa + 1) as u64;
                if minmatchlen == 0 || len >= minmatchlen {
                    matches.push(LcsMatch { a: (sa as u32, ea as u32), b: (sb as u32, eb as u32), len: len as u32 });
                }
            }
        }
    }
    (seq, matches)
}

/// The options of LCS after the two keys.
#[derive(Debug, Default, Clone, Copy)]
struct LcsOptions {
    getlen: bool,
    getidx: bool,
    withmatchlen: bool,
    minmatchlen: u64,
}

/// Redis: the option loop of lcsCommand(); replies the error itself.
fn parse_lcs_options(c: &mut Client) -> Option<LcsOptions> {
    let mut opts = LcsOptions::default();
    let mut j = 3;
    while j < c.argv.len() {
        let opt = c.argv.get(j);
        let moreargs = j + 1 < c.argv.len();
        if opt.eq_ignore_ascii_case(b"idx") {
            opts.getidx = true;
        } else if opt.eq_ignore_ascii_case(b"len") {
            opts.getlen = true;
        } else if opt.eq_ignore_ascii_case(b"withmatchlen") {
            opts.withmatchlen = true;
        } else if opt.eq_ignore_ascii_case(b"minmatchlen") && moreargs {
            let value = get_long_long_from_object_or_reply(c, j + 1, None)?;
            opts.minmatchlen = u64::try_from(value).unwrap_or(0);
            j += 1;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    if opts.getlen && opts.getidx {
        c.reply.add_reply_error("If you want both the length and indexes, please just use IDX.");
        return None;
    }
    Some(opts)
}

/// Redis: the lookups of lcsCommand(): for each key, whether it exists; None after the
/// type error (both keys are looked up first, as Redis does).
fn lcs_lookup_keys(srv: &mut Server, c: &mut Client) -> Option<(bool, bool)> {
    let mut lookup = |idx: usize| match db::lookup_key_read(srv, c.db, c.argv.get(idx)) {
        None => Some(false),
        Some(obj) => obj.as_str().map(|_| true),
    };
    let (a, b) = (lookup(1), lookup(2));
    match (a, b) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            c.reply.add_reply_error("The specified keys must contain string values");
            None
        }
    }
}

/// The bytes of a string key already looked up (a missing key is empty); no side effects.
pub(crate) fn string_bytes<'a>(srv: &'a Server, dbid: usize, key: &[u8], exists: bool, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    let value = srv.db.get(dbid).and_then(|db| db.dict.get(key)).and_then(RObj::as_str);
    match value {
        Some(value) if exists => value.bytes(scratch),
        _ => &[],
    }
}

/// Redis: lcsCommand()'s size checks: the table must fit proto-max-bulk-len.
fn lcs_check_size(c: &mut Client, max: i64, a: &[u8], b: &[u8]) -> Result<(), ()> {
    let limit = (u32::MAX - 1) as usize;
    if a.len() >= limit || b.len() >= limit {
        c.reply.add_reply_error("String too long for LCS");
        return Err(());
    }
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > max.max(0) as u64 {
        c.reply.add_reply_error("Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
        return Err(());
    }
    Ok(())
}

/// Redis: t_string.c lcsCommand(): LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN].
pub fn lcs_command(srv: &mut Server, c: &mut Client) {
    let Some((a_exists, b_exists)) = lcs_lookup_keys(srv, c) else { return };
    let Some(opts) = parse_lcs_options(c) else { return };
    let (mut scratch_a, mut scratch_b) = (Vec::new(), Vec::new());
    let a = string_bytes(srv, c.db, c.argv.get(1), a_exists, &mut scratch_a);
    let b = string_bytes(srv, c.db, c.argv.get(2), b_exists, &mut scratch_b);
    if lcs_check_size(c, srv.config.proto_max_bulk_len, a, b).is_err() {
        return;
    }
    let Some(table) = lcs_table(a, b) else {
        return c.reply.add_reply_error("Insufficient memory, failed allocating transient memory for LCS");
    };
    let total = table.last().copied().unwrap_or(0);
    if opts.getlen {
        return c.reply.add_reply_long_long(i64::from(total));
    }
    let (seq, matches) = lcs_walk(a, b, &table, opts.minmatchlen);
    if !opts.getidx {
        return c.reply.add_reply_bulk(&seq);
    }
    add_reply_lcs_idx(&mut c.reply, &matches, total, opts.withmatchlen);
}

/// The IDX reply: a map {matches: [[[a_start,a_end],[b_start,b_end](,len)]...], len: N}.
fn add_reply_lcs_idx(reply: &mut Reply, matches: &[LcsMatch], total: u32, withmatchlen: bool) {
    reply.add_reply_map_len(2);
    reply.add_reply_bulk(b"matches");
    reply.add_reply_array_len(matches.len());
    for m in matches {
        reply.add_reply_array_len(2 + usize::from(withmatchlen));
        for (start, end) in [m.a, m.b] {
            reply.add_reply_array_len(2);
            reply.add_reply_long_long(i64::from(start));
            reply.add_reply_long_long(i64::from(end));
        }
        if withmatchlen {
            reply.add_reply_long_long(i64::from(m.len));
        }
    }
    reply.add_reply_bulk(b"len");
    reply.add_reply_long_long(i64::from(total));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(args: &[&str]) -> Argv {
        let mut argv = Argv::default();
        for a in args {
            argv.push(a.as_bytes());
        }
        argv
    }

    fn parse_set(args: &[&str]) -> Option<StringArgs> {
        parse_extended_string_arguments(&argv(args), CommandType::Set)
    }

    fn parse_getex(args: &[&str]) -> Option<StringArgs> {
        parse_extended_string_arguments(&argv(args), CommandType::Get)
    }

    #[test]
    fn set_options_parse_like_redis() {
        let a = parse_set(&["set", "k", "v", "NX", "get", "EX", "10"]).unwrap();
        assert_eq!(a.condition, SetCondition::IfMissing);
        assert!(a.get);
        assert_eq!(a.ttl, TtlOption::Expire { kind: ExpireKind::Ex, arg: 6 });
        assert_eq!(parse_set(&["set", "k", "v", "nx", "xx"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "xx", "nx"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "ex", "1", "px", "1"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "ex", "1", "keepttl"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "keepttl", "pxat", "1"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "ex"]), None);
        assert_eq!(parse_set(&["set", "k", "v", "persist"]), None);
        // Repeating the same option is accepted; the last EX value wins.
        let a = parse_set(&["set", "k", "v", "ex", "1", "EX", "2", "nx", "nx", "keepttl"]);
        assert_eq!(a, None, "keepttl after ex conflicts");
        let a = parse_set(&["set", "k", "v", "ex", "1", "EX", "2", "nx", "nx"]).unwrap();
        assert_eq!(a.ttl, TtlOption::Expire { kind: ExpireKind::Ex, arg: 6 });
        assert_eq!(parse_set(&["set", "k", "v", "keepttl", "KEEPTTL"]).unwrap().ttl, TtlOption::KeepTtl);
    }

    #[test]
    fn getex_options_parse_like_redis() {
        assert_eq!(parse_getex(&["getex", "k"]), Some(StringArgs::PLAIN));
        assert_eq!(parse_getex(&["getex", "k", "persist"]).unwrap().ttl, TtlOption::Persist);
        assert_eq!(parse_getex(&["getex", "k", "persist", "ex", "1"]), None);
        assert_eq!(parse_getex(&["getex", "k", "nx"]), None);
        assert_eq!(parse_getex(&["getex", "k", "get"]), None);
        assert_eq!(parse_getex(&["getex", "k", "keepttl"]), None);
        assert_eq!(parse_getex(&["getex", "k", "pxat", "5"]).unwrap().ttl, TtlOption::Expire { kind: ExpireKind::PxAt, arg: 3 });
    }

    #[test]
    fn expire_arithmetic_rejects_non_positive_and_overflow() {
        assert_eq!(expire_to_absolute_ms(10, ExpireKind::Ex, 1_000), Some(11_000));
        assert_eq!(expire_to_absolute_ms(10, ExpireKind::Px, 1_000), Some(1_010));
        assert_eq!(expire_to_absolute_ms(10, ExpireKind::ExAt, 1_000), Some(10_000));
        assert_eq!(expire_to_absolute_ms(10, ExpireKind::PxAt, 1_000), Some(10));
        assert_eq!(expire_to_absolute_ms(0, ExpireKind::PxAt, 1_000), None);
        assert_eq!(expire_to_absolute_ms(-1, ExpireKind::Ex, 1_000), None);
        assert_eq!(expire_to_absolute_ms(i64::MAX / 1000 + 1, ExpireKind::ExAt, 0), None);
        assert_eq!(expire_to_absolute_ms(i64::MAX / 1000, ExpireKind::ExAt, 0), Some(i64::MAX / 1000 * 1000));
        assert_eq!(expire_to_absolute_ms(i64::MAX, ExpireKind::Px, 1), None);
    }

    #[test]
    fn string_length_limit() {
        assert!(string_length_allowed(100, 60, 40));
        assert!(!string_length_allowed(100, 60, 41));
        assert!(!string_length_allowed(100, u64::MAX, 1));
        assert!(!string_length_allowed(i64::MAX, u64::MAX / 2 + 1, 0));
    }

    #[test]
    fn getrange_bounds_match_redis() {
        assert_eq!(getrange_bounds(0, -1, 3), Some((0, 2)));
        assert_eq!(getrange_bounds(-1, -5, 3), None);
        assert_eq!(getrange_bounds(5, 10, 3), None);
        assert_eq!(getrange_bounds(-100, 100, 3), Some((0, 2)));
        assert_eq!(getrange_bounds(1, 1, 3), Some((1, 1)));
        assert_eq!(getrange_bounds(0, -1, 0), None);
        assert_eq!(getrange_bounds(-1, 0, 0), None);
        assert_eq!(getrange_bounds(i64::MIN, i64::MAX, 4), Some((0, 3)));
        assert_eq!(getrange_bounds(-2, i64::MIN, 4), None);
    }

    #[test]
    fn write_at_pads_with_zeros() {
        let mut buf = b"ab".to_vec();
        assert!(write_at(&mut buf, 4, b"xy"));
        assert_eq!(buf, b"ab\0\0xy");
        assert!(write_at(&mut buf, 1, b"Z"));
        assert_eq!(buf, b"aZ\0\0xy");
        assert!(!write_at(&mut buf, usize::MAX, b"x"));
    }

    fn lcs(a: &str, b: &str, min: u64) -> (String, Vec<LcsMatch>, u32) {
        let table = lcs_table(a.as_bytes(), b.as_bytes()).unwrap();
        let (seq, m) = lcs_walk(a.as_bytes(), b.as_bytes(), &table, min);
        (String::from_utf8(seq).unwrap(), m, *table.last().unwrap())
    }

    #[test]
    fn lcs_matches_redis_examples() {
        let (seq, m, len) = lcs("ohmytext", "mynewtext", 0);
        assert_eq!((seq.as_str(), len), ("mytext", 6));
        let expect = vec![
            LcsMatch { a: (4, 7), b: (5, 8), len: 4 },
            LcsMatch { a: (2, 3), b: (0, 1), len: 2 },
        ];
        assert_eq!(m, expect);
        let (_, m, _) = lcs("ohmytext", "mynewtext", 4);
        assert_eq!(m, vec![LcsMatch { a: (4, 7), b: (5, 8), len: 4 }]);
    }

    #[test]
    fn lcs_edge_cases() {
        assert_eq!(lcs("", "abc", 0), (String::new(), vec![], 0));
        assert_eq!(lcs("abc", "xyz", 0), (String::new(), vec![], 0));
        let (seq, m, len) = lcs("abc", "abc", 0);
        assert_eq!((seq.as_str(), len), ("abc", 3));
        assert_eq!(m, vec![LcsMatch { a: (0, 2), b: (0, 2), len: 3 }]);
        let (seq, m, _) = lcs("axbxc", "abc", 0);
        assert_eq!(seq, "abc");
        assert_eq!(m.len(), 3);
        assert!(m.iter().all(|r| r.len == 1));
    }

    mod commands {
        use super::super::*;

        pub use crate::test_support::{run_command as run, test_server};

        fn argv_text(c: &Client) -> String {
            let parts: Vec<String> = c.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
            parts.join(" ")
        }

        #[test]
        fn set_counts_dirty_keeps_ttl_and_rewrites_for_replicas() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            let now = srv.cmd_time_snapshot;
            assert_eq!(run(&mut srv, &mut c, set_command, &["set", "k", "v", "EX", "100"]), "+OK\r\n");
            assert_eq!(srv.dirty, 1);
            assert_eq!(srv.db[0].get_expire(b"k"), now + 100_000);
            assert_eq!(argv_text(&c), format!("SET k v PXAT {}", now + 100_000));
            assert_eq!(run(&mut srv, &mut c, set_command, &["set", "k", "v", "NX"]), "$-1\r\n");
            assert_eq!(srv.dirty, 1, "a SET stopped by NX changes nothing");
            assert_eq!(run(&mut srv, &mut c, set_command, &["set", "k", "w", "KEEPTTL"]), "+OK\r\n");
            assert_eq!(srv.db[0].get_expire(b"k"), now + 100_000);
            assert_eq!(run(&mut srv, &mut c, set_command, &["set", "k", "x", "get", "GET"]), "$1\r\nw\r\n");
            assert_eq!(srv.db[0].get_expire(b"k"), -1, "a plain SET drops the TTL");
            assert_eq!(argv_text(&c), "set k x");
            assert_eq!(run(&mut srv, &mut c, set_command, &["set", "k", "y", "PXAT", "4102444800000"]), "+OK\r\n");
            assert_eq!(argv_text(&c), "set k y PXAT 4102444800000");
            assert_eq!(srv.dirty, 4);
            assert_eq!(run(&mut srv, &mut c, setnx_command, &["setnx", "k", "z"]), ":0\r\n");
            assert_eq!(run(&mut srv, &mut c, mset_command, &["mset", "a", "1", "b", "2"]), "+OK\r\n");
            assert_eq!(srv.dirty, 6);
        }

        #[test]
        fn getex_getdel_getset_dirty_and_rewrites() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            let now = srv.cmd_time_snapshot;
            run(&mut srv, &mut c, set_command, &["set", "k", "v"]);
            let base = srv.dirty;
            assert_eq!(run(&mut srv, &mut c, getex_command, &["getex", "k", "PERSIST"]), "$1\r\nv\r\n");
            assert_eq!(srv.dirty, base, "PERSIST of a key without TTL is no change");
            assert_eq!(run(&mut srv, &mut c, getex_command, &["getex", "k", "PX", "5000"]), "$1\r\nv\r\n");
            assert_eq!(argv_text(&c), format!("PEXPIREAT k {}", now + 5000));
            assert_eq!(run(&mut srv, &mut c, getex_command, &["getex", "k", "persist"]), "$1\r\nv\r\n");
            assert_eq!(argv_text(&c), "PERSIST k");
            assert_eq!(srv.db[0].get_expire(b"k"), -1);
            assert_eq!(srv.dirty, base + 2);
            assert_eq!(run(&mut srv, &mut c, getset_command, &["getset", "k", "w"]), "$1\r\nv\r\n");
            assert_eq!(argv_text(&c), "SET k w");
            assert_eq!(run(&mut srv, &mut c, getdel_command, &["getdel", "k"]), "$1\r\nw\r\n");
            assert_eq!(argv_text(&c), "DEL k");
            assert_eq!(srv.dirty, base + 4);
            assert_eq!(run(&mut srv, &mut c, getdel_command, &["getdel", "k"]), "$-1\r\n");
            assert_eq!(srv.dirty, base + 4);
        }

        #[test]
        fn counters_keep_ttl_and_incrbyfloat_propagates_as_set() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            run(&mut srv, &mut c, setex_command, &["setex", "n", "100", "10"]);
            let when = srv.db[0].get_expire(b"n");
            assert_eq!(run(&mut srv, &mut c, incrby_command, &["incrby", "n", "5"]), ":15\r\n");
            assert_eq!(srv.db[0].get_expire(b"n"), when);
            assert_eq!(srv.db[0].dict.get(b"n" as &[u8]).map(RObj::encoding_name), Some("int"));
            assert_eq!(run(&mut srv, &mut c, incrbyfloat_command, &["incrbyfloat", "n", "0.5"]), "$4\r\n15.5\r\n");
            assert_eq!(argv_text(&c), "SET n 15.5 KEEPTTL");
            assert_eq!(srv.db[0].get_expire(b"n"), when);
            assert_eq!(srv.dirty, 3);
            assert_eq!(run(&mut srv, &mut c, incr_command, &["incr", "n"]), "-ERR value is not an integer or out of range\r\n");
            assert_eq!(srv.dirty, 3);
        }

        #[test]
        fn setrange_and_append_bound_the_size_before_allocating() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            srv.config.proto_max_bulk_len = 1 << 20;
            let err = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
            assert_eq!(run(&mut srv, &mut c, setrange_command, &["setrange", "k", "1048576", "x"]), err);
            assert_eq!(srv.db[0].size(), 0);
            assert_eq!(run(&mut srv, &mut c, setrange_command, &["setrange", "k", "1048575", "x"]), ":1048576\r\n");
            assert_eq!(run(&mut srv, &mut c, append_command, &["append", "k", "x"]), err);
            assert_eq!(run(&mut srv, &mut c, append_command, &["append", "k", ""]), ":1048576\r\n");
            assert_eq!(srv.dirty, 2);
            // Our master is obeyed whatever the limit.
            c.flags |= CLIENT_MASTER;
            assert_eq!(run(&mut srv, &mut c, append_command, &["append", "k", "y"]), ":1048577\r\n");
        }
    }

    #[test]
    fn string_object_encodings() {
        assert!(matches!(string_object(b"11".to_vec()), StrValue::Embstr(_)));
        assert!(matches!(string_object(vec![b'a'; 44]), StrValue::Embstr(_)));
        assert!(matches!(string_object(vec![b'a'; 45]), StrValue::Raw(_)));
    }
}

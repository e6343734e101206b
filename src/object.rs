//! Values of the keyspace: Redis's object.c. A [`RObj`] is what a key maps to: the value and
//! its LRU clock (or LFU counter). Redis's refcount is replaced by ownership; OBJECT REFCOUNT
//! reports what Redis would (shared small integers answer INT_MAX).
//!
//! Strings keep Redis's three encodings because OBJECT ENCODING shows them and RDB and
//! memory behaviour follow them: `int` (a number that fits in i64), `embstr` (short, never
//! modified in place) and `raw` (long, or changed by APPEND/SETRANGE/SETBIT).

use crate::util;

/// Redis: OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
pub const OBJ_ENCODING_EMBSTR_SIZE_LIMIT: usize = 44;
/// Redis: OBJ_SHARED_INTEGERS.
pub const OBJ_SHARED_INTEGERS: i64 = 10000;
/// Redis: OBJ_SHARED_REFCOUNT.
pub const OBJ_SHARED_REFCOUNT: i64 = i32::MAX as i64;

/// Keys are byte strings (Redis: sds).
pub type Sds = Box<[u8]>;

/// Redis: OBJ_STRING with its encodings. Every variant is one word behind the tag (the
/// raw buffer is boxed, an embstr is an [`EmbStr`]) so that a [`Value`] is 16 bytes and an
/// [`RObj`] 24: each key of the keyspace pays for the largest variant in its dict entry.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    Int(i64),
    Embstr(EmbStr),
    /// Keeps its spare capacity (APPEND, SETRANGE grow it as sdsMakeRoomFor does).
    Raw(Box<Vec<u8>>),
}

/// An embstr's bytes (at most 48) in a fixed array of the jemalloc size class that holds
/// them, so the pointer is thin and the length rides in the enum's spare bytes: a 16-byte
/// value takes a 16-byte allocation, as a `Box<[u8]>` did, without its 8-byte length.
#[derive(Clone)]
pub enum EmbStr {
    B8(u8, Box<[u8; 8]>),
    B16(u8, Box<[u8; 16]>),
    B24(u8, Box<[u8; 24]>),
    B32(u8, Box<[u8; 32]>),
    B40(u8, Box<[u8; 40]>),
    B48(u8, Box<[u8; 48]>),
}

/// `bytes` copied into a zero-padded array of N bytes (None if they do not fit).
fn boxed_array<const N: usize>(bytes: &[u8]) -> Option<Box<[u8; N]>> {
    let mut a = Box::new([0u8; N]);
    a.get_mut(..bytes.len())?.copy_from_slice(bytes);
    Some(a)
}

impl EmbStr {
    /// The largest string an EmbStr holds (OBJ_ENCODING_EMBSTR_SIZE_LIMIT fits).
    pub const MAX_LEN: usize = 48;

    /// `bytes` in the smallest array that holds them; None above [`EmbStr::MAX_LEN`].
    pub fn new(bytes: &[u8]) -> Option<EmbStr> {
        if bytes.len() > EmbStr::MAX_LEN {
            return None;
        }
        let n = u8::try_from(bytes.len()).ok()?;
        Some(match bytes.len() {
            0..=8 => EmbStr::B8(n, boxed_array(bytes)?),
            9..=16 => EmbStr::B16(n, boxed_array(bytes)?),
            17..=24 => EmbStr::B24(n, boxed_array(bytes)?),
            25..=32 => EmbStr::B32(n, boxed_array(bytes)?),
            33..=40 => EmbStr::B40(n, boxed_array(bytes)?),
            _ => EmbStr::B48(n, boxed_array(bytes)?),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        let (n, buf): (u8, &[u8]) = match self {
            EmbStr::B8(n, b) => (*n, &b[..]),
            EmbStr::B16(n, b) => (*n, &b[..]),
            EmbStr::B24(n, b) => (*n, &b[..]),
            EmbStr::B32(n, b) => (*n, &b[..]),
            EmbStr::B40(n, b) => (*n, &b[..]),
            EmbStr::B48(n, b) => (*n, &b[..]),
        };
        buf.get(..usize::from(n)).unwrap_or(buf)
    }
}

impl std::ops::Deref for EmbStr {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for EmbStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl std::fmt::Debug for EmbStr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("EmbStr").field(&self.as_bytes()).finish()
    }
}

/// Redis: robj's type + ptr, owned and unpacked: what a value is built as before
/// [`RObj::new`] packs it with its LRU (and what [`RObj::into_value`] gives back). Each
/// aggregate type lives in its own t_*.rs with its encodings.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(StrValue),
    List(Box<crate::t_list::ListValue>),
    /// Unboxed: a [`HashValue`](crate::t_hash::HashValue) is 16 bytes (its listpack's
    /// pointer and length), so it sits in the [`RObj`] with nothing between.
    Hash(crate::t_hash::HashValue),
    Set(Box<crate::t_set::SetValue>),
    /// Unboxed as a hash is (a listpack zset is 16 bytes).
    ZSet(crate::t_zset::ZSetValue),
    Stream(Box<crate::t_stream::StreamValue>),
}

/// Redis: robj. One variant per type, each with the LRU clock (seconds resolution, 24
/// bits) or LFU data, as Redis's `lru` field, beside its payload: with the LRU inside the
/// variants a 16-byte payload (a hash's listpack as pointer + length) fits in 24 bytes,
/// which a struct of `lru` and a 16-byte enum cannot (its tag would make it 32). Every key
/// of the keyspace pays for the largest variant in its dict entry. Read and change the
/// payload through [`RObj::value`] / [`RObj::value_mut`].
#[derive(Debug, Clone, PartialEq)]
pub enum RObj {
    Str { lru: u32, v: StrValue },
    List { lru: u32, v: Box<crate::t_list::ListValue> },
    Hash { lru: u32, v: crate::t_hash::HashValue },
    Set { lru: u32, v: Box<crate::t_set::SetValue> },
    ZSet { lru: u32, v: crate::t_zset::ZSetValue },
    Stream { lru: u32, v: Box<crate::t_stream::StreamValue> },
}

/// A borrowed view of an [`RObj`]'s payload, by type.
#[derive(Debug, Clone, Copy)]
pub enum ValueRef<'a> {
    Str(&'a StrValue),
    List(&'a crate::t_list::ListValue),
    Hash(&'a crate::t_hash::HashValue),
    Set(&'a crate::t_set::SetValue),
    ZSet(&'a crate::t_zset::ZSetValue),
    Stream(&'a crate::t_stream::StreamValue),
}

/// A mutable view of an [`RObj`]'s payload, by type.
#[derive(Debug)]
pub enum ValueMut<'a> {
    Str(&'a mut StrValue),
    List(&'a mut crate::t_list::ListValue),
    Hash(&'a mut crate::t_hash::HashValue),
    Set(&'a mut crate::t_set::SetValue),
    ZSet(&'a mut crate::t_zset::ZSetValue),
    Stream(&'a mut crate::t_stream::StreamValue),
}

impl Value {
    /// The same borrowed view [`RObj::value`] gives.
    pub fn as_view(&self) -> ValueRef<'_> {
        match self {
            Value::Str(v) => ValueRef::Str(v),
            Value::List(v) => ValueRef::List(v),
            Value::Hash(v) => ValueRef::Hash(v),
            Value::Set(v) => ValueRef::Set(v),
            Value::ZSet(v) => ValueRef::ZSet(v),
            Value::Stream(v) => ValueRef::Stream(v),
        }
    }
}

impl RObj {
    pub fn new(value: Value, lru: u32) -> RObj {
        match value {
            Value::Str(v) => RObj::Str { lru, v },
            Value::List(v) => RObj::List { lru, v },
            Value::Hash(v) => RObj::Hash { lru, v },
            Value::Set(v) => RObj::Set { lru, v },
            Value::ZSet(v) => RObj::ZSet { lru, v },
            Value::Stream(v) => RObj::Stream { lru, v },
        }
    }

    /// The payload, unpacked (the LRU is dropped).
    pub fn into_value(self) -> Value {
        match self {
            RObj::Str { v, .. } => Value::Str(v),
            RObj::List { v, .. } => Value::List(v),
            RObj::Hash { v, .. } => Value::Hash(v),
            RObj::Set { v, .. } => Value::Set(v),
            RObj::ZSet { v, .. } => Value::ZSet(v),
            RObj::Stream { v, .. } => Value::Stream(v),
        }
    }

    pub fn value(&self) -> ValueRef<'_> {
        match self {
            RObj::Str { v, .. } => ValueRef::Str(v),
            RObj::List { v, .. } => ValueRef::List(v),
            RObj::Hash { v, .. } => ValueRef::Hash(v),
            RObj::Set { v, .. } => ValueRef::Set(v),
            RObj::ZSet { v, .. } => ValueRef::ZSet(v),
            RObj::Stream { v, .. } => ValueRef::Stream(v),
        }
    }

    pub fn value_mut(&mut self) -> ValueMut<'_> {
        match self {
            RObj::Str { v, .. } => ValueMut::Str(v),
            RObj::List { v, .. } => ValueMut::List(v),
            RObj::Hash { v, .. } => ValueMut::Hash(v),
            RObj::Set { v, .. } => ValueMut::Set(v),
            RObj::ZSet { v, .. } => ValueMut::ZSet(v),
            RObj::Stream { v, .. } => ValueMut::Stream(v),
        }
    }

    /// The LRU clock or LFU data (Redis: robj.lru).
    pub fn lru(&self) -> u32 {
        match *self {
            RObj::Str { lru, .. }
            | RObj::List { lru, .. }
            | RObj::Hash { lru, .. }
            | RObj::Set { lru, .. }
            | RObj::ZSet { lru, .. }
            | RObj::Stream { lru, .. } => lru,
        }
    }

    pub fn set_lru(&mut self, to: u32) {
        match self {
            RObj::Str { lru, .. }
            | RObj::List { lru, .. }
            | RObj::Hash { lru, .. }
            | RObj::Set { lru, .. }
            | RObj::ZSet { lru, .. }
            | RObj::Stream { lru, .. } => *lru = to,
        }
    }

    /// Redis: object.c createStringObject() + tryObjectEncoding(): int, embstr or raw.
    pub fn string_from(bytes: &[u8], lru: u32) -> RObj {
        RObj::new(Value::Str(StrValue::encode(bytes)), lru)
    }

    /// Redis: the TYPE command's names.
    pub fn type_name(&self) -> &'static str {
        match self {
            RObj::Str { .. } => "string",
            RObj::List { .. } => "list",
            RObj::Hash { .. } => "hash",
            RObj::Set { .. } => "set",
            RObj::ZSet { .. } => "zset",
            RObj::Stream { .. } => "stream",
        }
    }

    /// Redis: object.c strEncoding() of this object's encoding.
    pub fn encoding_name(&self) -> &'static str {
        match self.value() {
            ValueRef::Str(StrValue::Int(_)) => "int",
            ValueRef::Str(StrValue::Embstr(_)) => "embstr",
            ValueRef::Str(StrValue::Raw(_)) => "raw",
            ValueRef::List(l) => l.encoding_name(),
            ValueRef::Hash(h) => h.encoding_name(),
            ValueRef::Set(s) => s.encoding_name(),
            ValueRef::ZSet(z) => z.encoding_name(),
            ValueRef::Stream(x) => x.encoding_name(),
        }
    }

    pub fn as_str(&self) -> Option<&StrValue> {
        match self {
            RObj::Str { v, .. } => Some(v),
            RObj::List { .. } | RObj::Hash { .. } | RObj::Set { .. } | RObj::ZSet { .. } | RObj::Stream { .. } => None,
        }
    }

    /// The string value for in-place changes (APPEND, SETRANGE, INCR, SETBIT...).
    pub fn as_str_mut(&mut self) -> Option<&mut StrValue> {
        match self {
            RObj::Str { v, .. } => Some(v),
            RObj::List { .. } | RObj::Hash { .. } | RObj::Set { .. } | RObj::ZSet { .. } | RObj::Stream { .. } => None,
        }
    }

    /// What OBJECT REFCOUNT answers: shared integers are never freed in Redis.
    pub fn refcount(&self, shared_integers_allowed: bool) -> i64 {
        match self {
            RObj::Str { v: StrValue::Int(v), .. }
                if shared_integers_allowed && (0..OBJ_SHARED_INTEGERS).contains(v) =>
            {
                OBJ_SHARED_REFCOUNT
            }
            _ => 1,
        }
    }
}

impl StrValue {
    /// Redis: object.c tryObjectEncoding() on a fresh string.
    pub fn encode(bytes: &[u8]) -> StrValue {
        if bytes.len() <= 20 {
            if let Some(v) = util::string2ll(bytes) {
                return StrValue::Int(v);
            }
        }
        if bytes.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            if let Some(e) = EmbStr::new(bytes) {
                return StrValue::Embstr(e);
            }
        }
        StrValue::Raw(Box::new(bytes.to_vec()))
    }

    /// Redis: object.c createStringObject(): embstr up to 44 bytes, else raw (keeping
    /// `bytes`' buffer); never an integer.
    pub fn create_string(bytes: Vec<u8>) -> StrValue {
        if bytes.len() <= OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
            if let Some(e) = EmbStr::new(&bytes) {
                return StrValue::Embstr(e);
            }
        }
        StrValue::Raw(Box::new(bytes))
    }

    /// Redis: createStringObjectFromLongLong().
    pub fn from_i64(v: i64) -> StrValue {
        StrValue::Int(v)
    }

    /// The string's bytes; integers are rendered into `scratch`.
    pub fn bytes<'a>(&'a self, scratch: &'a mut Vec<u8>) -> &'a [u8] {
        match self {
            StrValue::Int(v) => {
                scratch.clear();
                util::write_ll(scratch, *v);
                scratch
            }
            StrValue::Embstr(b) => b.as_bytes(),
            StrValue::Raw(b) => b.as_slice(),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = Vec::new();
        self.bytes(&mut scratch).to_vec()
    }

    /// Redis: stringObjectLen().
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(v) => util::sdigits10(*v) as usize,
            StrValue::Embstr(b) => b.len(),
            StrValue::Raw(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: getLongLongFromObject(): the value as an integer, if it is one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            StrValue::Int(v) => Some(*v),
            StrValue::Embstr(b) => util::string2ll(b),
            StrValue::Raw(b) => util::string2ll(b),
        }
    }

    /// Redis: dbUnshareStringValue(): a raw buffer the caller may modify in place.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, StrValue::Raw(_)) {
            *self = StrValue::Raw(Box::new(self.to_vec()));
        }
        match self {
            StrValue::Raw(b) => &mut **b,
            _ => unreachable!("converted to raw just above"),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Integer arguments, LRU/LFU access clock, OBJECT and MEMORY commands
// ----------------------------------------------------------------------------------------

use crate::config::MaxmemoryPolicy;
use crate::networking::Client;
use crate::reply::Reply;
use crate::server::{Server, LRU_CLOCK_MAX};

/// Redis: object.c getLongLongFromObjectOrReply(): `msg` replaces the default error.
pub fn get_long_long_from_object_or_reply(reply: &mut Reply, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    let value = util::string2ll(arg);
    if value.is_none() {
        reply.add_reply_error(msg.unwrap_or("value is not an integer or out of range"));
    }
    value
}

/// Redis: object.c getLongFromObjectOrReply() (`long` is 64 bits on Redis's targets).
pub fn get_long_from_object_or_reply(reply: &mut Reply, arg: &[u8], msg: Option<&str>) -> Option<i64> {
    get_long_long_from_object_or_reply(reply, arg, msg)
}

/// Redis: object.c getRangeLongFromObjectOrReply().
pub fn get_range_long_from_object_or_reply(
    reply: &mut Reply,
    arg: &[u8],
    min: i64,
    max: i64,
    msg: Option<&str>,
) -> Option<i64> {
    let value = get_long_from_object_or_reply(reply, arg, msg)?;
    if value < min || value > max {
        match msg {
            Some(msg) => reply.add_reply_error(msg),
            None => reply.add_reply_error(&format!("value is out of range, value must between {} and {}", min, max)),
        }
        return None;
    }
    Some(value)
}

/// Redis: object.c getIntFromObjectOrReply().
pub fn get_int_from_object_or_reply(reply: &mut Reply, arg: &[u8], msg: Option<&str>) -> Option<i32> {
    let value = get_range_long_from_object_or_reply(reply, arg, i32::MIN.into(), i32::MAX.into(), msg)?;
    i32::try_from(value).ok()
}

/// Redis: LFU_INIT_VAL, the counter of a new object under an LFU policy.
pub const LFU_INIT_VAL: u32 = 5;
/// Redis: LRU_CLOCK_RESOLUTION (ms per LRU clock tick).
const LRU_CLOCK_RESOLUTION: u64 = 1000;

/// Redis: `server.maxmemory_policy & MAXMEMORY_FLAG_LFU`.
pub fn lfu_policy_selected(srv: &Server) -> bool {
    matches!(srv.config.maxmemory_policy, MaxmemoryPolicy::VolatileLfu | MaxmemoryPolicy::AllkeysLfu)
}

/// Redis: MAXMEMORY_FLAG_NO_SHARED_INTEGERS: with maxmemory and an LRU/LFU policy, values
/// need their own `lru` field, so small integers are not shared.
pub fn shared_integers_allowed(srv: &Server) -> bool {
    use MaxmemoryPolicy::*;
    let per_object_clock = match srv.config.maxmemory_policy {
        VolatileLru | VolatileLfu | AllkeysLru | AllkeysLfu => true,
        VolatileRandom | VolatileTtl | AllkeysRandom | Noeviction => false,
    };
    srv.config.maxmemory == 0 || !per_object_clock
}

/// The server state the `lru` field of a value is judged against (Redis reads the globals
/// server.lruclock, server.unixtime, lfu-log-factor and lfu-decay-time). Copied out of the
/// server first so a value can be updated while the keyspace is borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessClock {
    pub lfu: bool,
    pub lru_clock: u32,
    pub unixtime: i64,
    pub lfu_log_factor: i32,
    pub lfu_decay_time: i32,
}

impl AccessClock {
    pub fn of(srv: &Server) -> AccessClock {
        AccessClock {
            lfu: lfu_policy_selected(srv),
            lru_clock: srv.lru_clock,
            unixtime: srv.unixtime,
            lfu_log_factor: srv.config.lfu_log_factor,
            lfu_decay_time: srv.config.lfu_decay_time,
        }
    }

    /// Redis: object.c createObject()'s `lru`: the LRU clock, or under LFU the current
    /// minute and LFU_INIT_VAL.
    pub fn initial_lru(&self) -> u32 {
        if self.lfu {
            (self.minutes() << 8) | LFU_INIT_VAL
        } else {
            self.lru_clock
        }
    }

    /// Redis: db.c lookupKey()'s access update: updateLFU() or `lru = LRU_CLOCK()`.
    pub fn touch(&self, o: &mut RObj) {
        let lru = if self.lfu {
            let counter = lfu_log_incr(self.lfu_decr_and_return(o.lru()), self.lfu_log_factor);
            (self.minutes() << 8) | counter
        } else {
            self.lru_clock
        };
        o.set_lru(lru);
    }

    /// Redis: evict.c LFUGetTimeInMinutes(): 16 bits of minutes.
    fn minutes(&self) -> u32 {
        ((self.unixtime / 60) & 65535) as u32
    }

    /// Redis: evict.c LFUDecrAndReturn(): the counter after decaying one step per
    /// lfu-decay-time minutes since the last access (without storing it).
    pub fn lfu_decr_and_return(&self, lru: u32) -> u32 {
        let ldt = lru >> 8;
        let counter = lru & 255;
        let now = self.minutes();
        // Redis: LFUTimeElapsed(), with the 16-bit minute clock wrapping.
        let elapsed = if now >= ldt { now - ldt } else { 65535 - ldt + now };
        let periods = u32::try_from(self.lfu_decay_time).ok().filter(|&d| d > 0).map_or(0, |d| elapsed / d);
        counter.saturating_sub(periods)
    }

    /// Redis: evict.c estimateObjectIdleTime(): ms since the last access, on the 24-bit
    /// LRU clock (which wraps about every 194 days).
    pub fn estimate_object_idle_time(&self, lru: u32) -> u64 {
        let (now, lru) = (u64::from(self.lru_clock), u64::from(lru));
        let ticks = if now >= lru { now - lru } else { (now + u64::from(LRU_CLOCK_MAX)).saturating_sub(lru) };
        ticks * LRU_CLOCK_RESOLUTION
    }
}

/// Redis: evict.c LFULogIncr(): increments with probability 1/((counter-5)*factor+1), so
/// the counter grows with the logarithm of the accesses; saturates at 255.
fn lfu_log_incr(counter: u32, lfu_log_factor: i32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let r = lfu_rand_unit();
    let baseval = f64::from(counter.saturating_sub(LFU_INIT_VAL));
    let p = 1.0 / (baseval * f64::from(lfu_log_factor) + 1.0);
    if r < p {
        counter + 1
    } else {
        counter
    }
}

/// Redis: `(double)rand()/RAND_MAX` of LFULogIncr(): a uniform number in [0, 1) from a
/// xorshift64* generator. It runs on every key access under an LFU policy, where the HMAC
/// generator of util::get_random_bytes would cost more than the rest of a GET.
fn lfu_rand_unit() -> f64 {
    thread_local! {
        static LFU_RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    }
    (LFU_RNG.with(util::xorshift64star) >> 11) as f64 / (1u64 << 53) as f64
}

const OBJECT_HELP: &[&str] = &[
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
];

const LFU_SELECTED_ERR: &str = "An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const LFU_NOT_SELECTED_ERR: &str = "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// C `strcasecmp(arg, lit) == 0` (the argument ends at its first NUL).
fn subcommand_is(arg: &[u8], lit: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg.get(..end).is_some_and(|a| a.eq_ignore_ascii_case(lit.as_bytes()))
}

/// Which OBJECT subcommand runs (Redis compares argv[1] and argc in objectCommand()).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectSub {
    Help,
    Encoding,
    Refcount,
    Idletime,
    Freq,
}

fn object_subcommand(c: &Client) -> Option<ObjectSub> {
    let (sub, argc) = (c.argv.get(1), c.argv.len());
    let table = [
        ("help", 2, ObjectSub::Help),
        ("encoding", 3, ObjectSub::Encoding),
        ("refcount", 3, ObjectSub::Refcount),
        ("idletime", 3, ObjectSub::Idletime),
        ("freq", 3, ObjectSub::Freq),
    ];
    table.iter().find(|(name, n, _)| *n == argc && subcommand_is(sub, name)).map(|&(_, _, s)| s)
}

/// Redis: object.c objectCommand(): every OBJECT subcommand. A missing key answers null;
/// the lookup neither touches the LRU/LFU data nor fires a keymiss event.
pub fn object_command(srv: &mut Server, c: &mut Client) {
    let Some(sub) = object_subcommand(c) else {
        let name = String::from_utf8_lossy(c.argv.get(0)).into_owned();
        return c.reply.add_reply_subcommand_syntax_error(name.as_bytes(), c.argv.get(1));
    };
    if sub == ObjectSub::Help {
        return c.reply.add_reply_help("object", OBJECT_HELP);
    }
    let clock = AccessClock::of(srv);
    let shared_ok = shared_integers_allowed(srv);
    let Some(o) = crate::db::lookup_key(srv, c.db, c.argv.get(2), crate::db::LookupFlags::ReadNoTouch) else {
        return c.reply.add_reply_null();
    };
    match sub {
        ObjectSub::Help => {}
        ObjectSub::Encoding => c.reply.add_reply_bulk(o.encoding_name().as_bytes()),
        ObjectSub::Refcount => c.reply.add_reply_long_long(o.refcount(shared_ok)),
        ObjectSub::Idletime if clock.lfu => c.reply.add_reply_error(LFU_SELECTED_ERR),
        ObjectSub::Idletime => c.reply.add_reply_long_long((clock.estimate_object_idle_time(o.lru()) / 1000) as i64),
        ObjectSub::Freq if !clock.lfu => c.reply.add_reply_error(LFU_NOT_SELECTED_ERR),
        ObjectSub::Freq => c.reply.add_reply_long_long(i64::from(clock.lfu_decr_and_return(o.lru()))),
    }
}

// Memory model for MEMORY USAGE. Redis sums the allocator's real sizes (zmalloc_size) of
// the robj, its sds, the key's sds and the dictEntry. We model the same allocations with
// jemalloc's size classes, so string values and keys report what Redis 7.0.15 (jemalloc
// 5.3, 64-bit) reports; Rust's own allocations are not what is measured.

/// Redis: sizeof(robj) and sizeof(dictEntry) on 64-bit builds.
const ROBJ_SIZE: usize = 16;
const DICT_ENTRY_SIZE: usize = 24;
/// Redis: OBJ_COMPUTE_SIZE_DEF_SAMPLES.
pub const OBJ_COMPUTE_SIZE_DEF_SAMPLES: u64 = 5;

/// jemalloc's usable size for a request of `n` bytes: 8, multiples of 16 up to 128, then
/// four classes per power of two (160, 192, 224, 256, 320 ...).
pub fn je_malloc_size(n: usize) -> usize {
    let step = match n {
        0..=8 => return 8,
        9..=128 => 16,
        _ => {
            let lg = usize::BITS - (n - 1).leading_zeros();
            1usize << (lg - 3)
        }
    };
    n.div_ceil(step).saturating_mul(step)
}

/// Redis: sds.c sdsReqType() + sdsHdrSize(): the header in front of an sds of `alloc`
/// bytes. `allow_type5` is false for buffers that grew (sdsMakeRoomFor never picks it).
fn sds_hdr_size(alloc: usize, allow_type5: bool) -> usize {
    match alloc {
        0..=31 if allow_type5 && alloc > 0 => 1,
        0..=255 => 3,
        256..=65535 => 5,
        _ if alloc as u64 <= u64::from(u32::MAX) => 9,
        _ => 17,
    }
}

/// Redis: sdsZmallocSize() of an sds holding `len` bytes in `alloc` bytes of room.
pub fn sds_zmalloc_size(len: usize, alloc: usize) -> usize {
    let hdr = sds_hdr_size(alloc, alloc == len);
    je_malloc_size(hdr.saturating_add(alloc).saturating_add(1))
}

/// Redis: object.c objectComputeSize(): the value's memory. `_samples` bounds how many
/// elements of an aggregate are sampled (strings need none).
pub fn object_compute_size(o: &RObj, samples: u64) -> usize {
    match o.value() {
        ValueRef::Str(StrValue::Int(_)) => ROBJ_SIZE,
        // robj, sdshdr8, bytes and NUL in one allocation.
        ValueRef::Str(StrValue::Embstr(b)) => je_malloc_size(ROBJ_SIZE + 3 + b.len() + 1),
        ValueRef::Str(StrValue::Raw(b)) => ROBJ_SIZE + sds_zmalloc_size(b.len(), b.capacity()),
        ValueRef::List(l) => ROBJ_SIZE + l.compute_size(samples),
        ValueRef::Hash(h) => ROBJ_SIZE + h.compute_size(samples),
        ValueRef::Set(x) => ROBJ_SIZE + x.compute_size(samples),
        ValueRef::ZSet(z) => ROBJ_SIZE + z.compute_size(samples),
        ValueRef::Stream(x) => ROBJ_SIZE + x.compute_size(samples),
    }
}

/// Redis: the MEMORY USAGE sum: value, key sds and dictEntry (the expires entry shares
/// the key and is not counted, as in Redis).
pub fn key_memory_usage(key: &[u8], o: &RObj, samples: u64) -> usize {
    object_compute_size(o, samples) + sds_zmalloc_size(key.len(), key.len()) + DICT_ENTRY_SIZE
}

const MEMORY_HELP: &[&str] = &[
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
];

/// Redis: the SAMPLES option of MEMORY USAGE (0 means every element).
fn parse_memory_usage_samples(c: &mut Client) -> Option<u64> {
    let mut samples = OBJ_COMPUTE_SIZE_DEF_SAMPLES;
    let mut j = 3;
    while j < c.argv.len() {
        if !(subcommand_is(c.argv.get(j), "samples") && j + 1 < c.argv.len()) {
            c.reply.add_reply_syntax_error();
            return None;
        }
        let n = get_long_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), None)?;
        samples = match u64::try_from(n) {
            Ok(0) => u64::MAX,
            Ok(n) => n,
            Err(_) => {
                c.reply.add_reply_syntax_error();
                return None;
            }
        };
        j += 2;
    }
    Some(samples)
}

/// Redis: object.c memoryCommand(), USAGE and HELP. USAGE finds the key without lazy
/// expiry (a key whose TTL passed still answers until reclaimed), as Redis does.
pub fn memory_command(srv: &mut Server, c: &mut Client) {
    let (sub, argc) = (c.argv.get(1), c.argv.len());
    if argc == 2 && subcommand_is(sub, "help") {
        return c.reply.add_reply_help("memory", MEMORY_HELP);
    }
    if !(argc >= 3 && subcommand_is(sub, "usage")) {
        let name = String::from_utf8_lossy(c.argv.get(0)).into_owned();
        return c.reply.add_reply_subcommand_syntax_error(name.as_bytes(), c.argv.get(1));
    }
    let Some(samples) = parse_memory_usage_samples(c) else { return };
    let key = c.argv.get(2);
    match srv.db.get(c.db).and_then(|db| db.dict.get(key)) {
        Some(o) => c.reply.add_reply_long_long(key_memory_usage(key, o, samples) as i64),
        None => c.reply.add_reply_null(),
    }
}

#[cfg(test)]
mod keyspace_tests {
    use super::*;

    /// The keyspace dict entry (key 16 + RObj + next 8) lands in jemalloc's 48-byte class; a
    /// listpack hash or zset sits inside the RObj (16 bytes) with no box between.
    #[test]
    fn robj_is_24_bytes_with_listpacks_inside() {
        use std::mem::size_of;
        assert_eq!(size_of::<StrValue>(), 16);
        assert_eq!(size_of::<crate::t_hash::HashValue>(), 16);
        assert_eq!(size_of::<crate::t_zset::ZSetValue>(), 16);
        assert_eq!(size_of::<RObj>(), 24);
    }

    #[test]
    fn embstr_keeps_bytes_and_length() {
        for n in 0..=EmbStr::MAX_LEN {
            let bytes: Vec<u8> = (0..n as u8).collect();
            let e = EmbStr::new(&bytes).expect("fits");
            assert_eq!(&*e, &bytes[..]);
            assert_eq!(e.clone(), e);
        }
        assert!(EmbStr::new(&[1; EmbStr::MAX_LEN + 1]).is_none());
        assert_ne!(EmbStr::new(b"ab"), EmbStr::new(b"ab\0"));
        assert!(matches!(StrValue::encode(&[b'a'; 44]), StrValue::Embstr(_)));
        assert!(matches!(StrValue::encode(&[b'a'; 45]), StrValue::Raw(_)));
        // createStringObject never makes an integer.
        let v = StrValue::create_string(b"12".to_vec());
        assert!(matches!(v, StrValue::Embstr(_)));
        assert_eq!(v.to_vec(), b"12");
    }

    #[test]
    fn jemalloc_size_classes() {
        let cases = [(1, 8), (8, 8), (9, 16), (25, 32), (49, 64), (104, 112), (129, 160), (134, 160)];
        for (n, want) in cases {
            assert_eq!(je_malloc_size(n), want, "size {n}");
        }
        assert_eq!(je_malloc_size(1006), 1024);
        assert_eq!(je_malloc_size(40006), 40960);
        assert_eq!(je_malloc_size(70010), 81920);
        assert_eq!(je_malloc_size(usize::MAX), usize::MAX);
    }

    /// Values observed with MEMORY USAGE on redis-server 7.0.15.
    #[test]
    fn memory_usage_matches_redis_for_strings() {
        let usage = |key: &str, val: &[u8]| key_memory_usage(key.as_bytes(), &RObj::string_from(val, 0), 5);
        assert_eq!(usage("b", b"hello"), 64);
        assert_eq!(usage("i", b"123"), 48);
        assert_eq!(usage("big", b"12345678901234567890"), 80);
        assert_eq!(usage("s44", &[b'a'; 44]), 96);
        assert_eq!(usage("s45", &[b'a'; 45]), 112);
        assert_eq!(usage("s100", &[b'a'; 100]), 160);
        assert_eq!(usage("s1000", &[b'a'; 1000]), 1072);
        assert_eq!(usage("s40000", &[b'a'; 40000]), 41008);
        assert_eq!(usage("s70000", &[b'a'; 70000]), 81968);
        // A raw buffer grown by APPEND ("a" + 64 bytes): sdsMakeRoomFor doubled it to 130.
        let mut grown = Vec::with_capacity(130);
        grown.extend_from_slice(&[b'b'; 65]);
        let o = RObj::new(Value::Str(StrValue::Raw(Box::new(grown))), 0);
        assert_eq!(key_memory_usage(b"ap", &o, 5), 208);
    }

    #[test]
    fn int_arguments() {
        let mut r = Reply::default();
        assert_eq!(get_int_from_object_or_reply(&mut r, b"-2147483648", None), Some(i32::MIN));
        assert_eq!(get_int_from_object_or_reply(&mut r, b"2147483648", None), None);
        assert_eq!(get_int_from_object_or_reply(&mut r, b"x", Some("custom")), None);
        assert_eq!(get_long_long_from_object_or_reply(&mut r, b"01", None), None);
        let out = String::from_utf8_lossy(&r.pending()).into_owned();
        assert_eq!(
            out,
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n\
             -ERR custom\r\n-ERR value is not an integer or out of range\r\n"
        );
    }

    #[test]
    fn lfu_and_lru_clock() {
        let clock = AccessClock { lfu: true, lru_clock: 100, unixtime: 600, lfu_log_factor: 10, lfu_decay_time: 1 };
        // Minute 10 now; an object last seen at minute 7 with counter 20 decays by 3.
        assert_eq!(clock.initial_lru(), (10 << 8) | LFU_INIT_VAL);
        assert_eq!(clock.lfu_decr_and_return((7 << 8) | 20), 17);
        assert_eq!(clock.lfu_decr_and_return((7 << 8) | 2), 0);
        // A counter at or below LFU_INIT_VAL always increments on access.
        let mut o = RObj::string_from(b"v", clock.initial_lru());
        clock.touch(&mut o);
        assert_eq!(o.lru(), (10 << 8) | 6);
        let lru = AccessClock { lfu: false, ..clock };
        assert_eq!(lru.estimate_object_idle_time(90), 10_000);
        assert_eq!(lru.estimate_object_idle_time(LRU_CLOCK_MAX), 100_000);
        lru.touch(&mut o);
        assert_eq!(o.lru(), 100);
    }
}

//! The hash type: Redis's t_hash.c. A hash is a listpack (fields and values alternating,
//! in insertion order) while it is small, and a [`Dict`] once a field or value is longer
//! than hash-max-listpack-value or it holds more than hash-max-listpack-entries fields;
//! it never converts back. Commands run to completion on the single-threaded event loop,
//! so a hash is never seen half-converted; the only long loops (HRANDFIELD with a huge
//! negative count) stop when the client passes its output buffer hard limit, as in Redis.
//!
//! The listpack is listpack.rs, Redis's byte format: the same bytes make MEMORY USAGE and
//! DEBUG OBJECT's serializedlength come out as Redis's.

use crate::db::{self, LookupFlags};
use crate::debug::{self, Digest};
use crate::dict::{self, Dict};
use crate::listpack::{self, Listpack, LpBox, LpValue, LpView};
use crate::networking::{self, Client};
use crate::object::{self as obj, RObj, Sds, Value, ValueMut};
use crate::reply::Reply;
use crate::server::Server;
use crate::util;

// ----------------------------------------------------------------------------------------
// Elements and the hash's view of a listpack
// ----------------------------------------------------------------------------------------

/// A field or value: Redis's listpackEntry, a string or the integer a listpack keeps for
/// a canonical decimal string (dict entries are always strings).
pub type Elem<'a> = LpValue<'a>;

/// Redis: hashReplyFromListpackEntry(): a bulk string either way.
fn add_elem_reply(reply: &mut Reply, e: Elem<'_>) {
    match e {
        Elem::Str(s) => reply.add_reply_bulk(s),
        Elem::Int(v) => reply.add_reply_bulk_long_long(v),
    }
}

/// A hash listpack's (field, value) pairs in order.
struct LpPairs<'a>(listpack::Iter<'a>);

impl<'a> Iterator for LpPairs<'a> {
    type Item = (Elem<'a>, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.0.next()?;
        let value = self.0.next()?;
        Some((field, value))
    }
}

/// Redis: lpFind(lp, lpFirst(lp), field, len, skip=1) + lpNext(): the positions of the
/// field and of its value.
fn lp_find_field(lp: LpView<'_>, field: &[u8]) -> Option<(usize, usize)> {
    let fptr = lp.find(lp.first()?, field, 1)?;
    Some((fptr, lp.next(fptr)?))
}

// ----------------------------------------------------------------------------------------
// The hash value and its encodings (Redis: the hashType* API)
// ----------------------------------------------------------------------------------------

/// The hash-max-listpack-* limits in force (Redis reads them from the server globals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl HashLimits {
    pub fn of(srv: &Server) -> HashLimits {
        HashLimits {
            max_entries: srv.config.hash_max_listpack_entries,
            max_value: srv.config.hash_max_listpack_value,
        }
    }
}

#[derive(Debug)]
enum Encoding {
    /// Redis: OBJ_ENCODING_LISTPACK, at rest as pointer + length: the common case sits in
    /// the keyspace entry's [`RObj`] with nothing between.
    Listpack(LpBox),
    /// Redis: OBJ_ENCODING_HT: field sds -> value sds. Boxed so that the encoding stays
    /// 16 bytes instead of a dict's 80.
    Hashtable(Box<Dict<Sds, Sds>>),
}

/// A hash value with its encoding: 16 bytes, held unboxed by [`RObj::Hash`].
#[derive(Debug)]
pub struct HashValue {
    enc: Encoding,
}

impl Default for HashValue {
    fn default() -> Self {
        HashValue::new()
    }
}

/// Redis: hashTypeDup(): a listpack is copied as bytes; a dict is rebuilt, pre-sized for
/// its elements, in iteration order.
impl Clone for HashValue {
    fn clone(&self) -> Self {
        let enc = match &self.enc {
            Encoding::Listpack(lp) => Encoding::Listpack(lp.clone()),
            Encoding::Hashtable(d) => {
                let mut copy = Dict::with_capacity(d.len());
                for (k, v) in d.iter() {
                    let _ = copy.add(k.clone(), v.clone());
                }
                Encoding::Hashtable(Box::new(copy))
            }
        };
        HashValue { enc }
    }
}

/// Same encoding and the same pairs (a listpack's order counts; a dict's does not).
impl PartialEq for HashValue {
    fn eq(&self, other: &Self) -> bool {
        match (&self.enc, &other.enc) {
            (Encoding::Listpack(a), Encoding::Listpack(b)) => a == b,
            (Encoding::Hashtable(a), Encoding::Hashtable(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
            }
            (Encoding::Listpack(_), Encoding::Hashtable(_)) | (Encoding::Hashtable(_), Encoding::Listpack(_)) => false,
        }
    }
}

impl HashValue {
    /// Redis: object.c createHashObject(): an empty listpack.
    pub fn new() -> HashValue {
        HashValue { enc: Encoding::Listpack(LpBox::new(Listpack::new())) }
    }

    /// Redis: object.c strEncoding() for this type.
    pub fn encoding_name(&self) -> &'static str {
        match self.enc {
            Encoding::Listpack(_) => "listpack",
            Encoding::Hashtable(_) => "hashtable",
        }
    }

    pub fn is_listpack(&self) -> bool {
        matches!(self.enc, Encoding::Listpack(_))
    }

    /// Redis: hashTypeLength(): the number of fields.
    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => lp.view().len() / 2,
            Encoding::Hashtable(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: hashTypeGetValue(). A dict lookup takes an incremental rehash step, as
    /// dictFind() does.
    pub fn get(&mut self, field: &[u8]) -> Option<Elem<'_>> {
        match &mut self.enc {
            Encoding::Listpack(lp) => {
                let lp = lp.view();
                let (_, vptr) = lp_find_field(lp, field)?;
                lp.get(vptr)
            }
            Encoding::Hashtable(d) => d.find(field).map(|v| Elem::Str(v)),
        }
    }

    /// Redis: hashTypeExists().
    pub fn exists(&mut self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Redis: hashTypeGetValueLength(): 0 for a missing field.
    pub fn value_len(&mut self, field: &[u8]) -> usize {
        self.get(field).map_or(0, |e| e.str_len())
    }

    /// Redis: hashTypeTryConversion(): before a write of `args` (fields and values), turns
    /// a listpack into a dict if any of them is too long or the listpack would get too big.
    pub fn try_conversion<'a>(&mut self, args: impl IntoIterator<Item = &'a [u8]>, limits: HashLimits) {
        let Encoding::Listpack(lp) = &self.enc else { return };
        let lp = lp.view();
        let mut sum: usize = 0;
        for arg in args {
            if arg.len() > limits.max_value {
                return self.convert_to_hashtable();
            }
            sum = sum.saturating_add(arg.len());
        }
        if !lp.safe_to_add(sum) {
            self.convert_to_hashtable();
        }
    }

    /// Redis: hashTypeSet(): sets `field` to `value`; true when the field existed (an
    /// update). A listpack converts first if either is too long (values computed by
    /// HINCRBY* skip hashTypeTryConversion), and afterwards if it has too many fields.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: HashLimits) -> bool {
        if let Encoding::Listpack(lp) = &self.enc {
            let too_long = field.len() > limits.max_value || value.len() > limits.max_value;
            // Redis would assert past the safety size; converting keeps every write valid.
            if too_long || !lp.view().safe_to_add(field.len() + value.len()) {
                self.convert_to_hashtable();
            }
        }
        match &mut self.enc {
            Encoding::Listpack(lp) => {
                let update = lp.edit(|lp| listpack_set(lp, field, value));
                if self.len() > limits.max_entries {
                    self.convert_to_hashtable();
                }
                update
            }
            // One hash of the field for the search and the insert (Redis: dictAddRaw()).
            Encoding::Hashtable(d) => match d.add_or_existing(field, || field.into(), value.into()) {
                Ok(()) => false,
                Err((value, slot)) => {
                    *slot = value;
                    true
                }
            },
        }
    }

    /// Redis: hashTypeDelete(): true if the field was there. A dict shrinks when it falls
    /// under 10% full (htNeedsResize() + dictResize()).
    pub fn delete(&mut self, field: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Listpack(lp) => match lp_find_field(lp.view(), field) {
                Some((fptr, _)) => {
                    lp.edit(|lp| lp.delete_range_with_entry(fptr, 2));
                    true
                }
                None => false,
            },
            Encoding::Hashtable(d) => {
                let deleted = d.remove(field).is_some();
                if deleted && d.needs_resize() {
                    d.resize();
                }
                deleted
            }
        }
    }

    /// Redis: hashTypeConvertListpack(): a dict sized for the current fields, filled in
    /// listpack order. A dict stays a dict.
    pub fn convert_to_hashtable(&mut self) {
        let Encoding::Listpack(lp) = &self.enc else { return };
        let lp = lp.view();
        let mut d: Dict<Sds, Sds> = Dict::with_capacity(lp.len() / 2);
        for (field, value) in LpPairs(lp.iter()) {
            let _ = d.add(field.to_vec().into(), value.to_vec().into());
        }
        self.enc = Encoding::Hashtable(Box::new(d));
    }

    /// Redis: hashTypeInitIterator() / hashTypeNext(): every (field, value), in listpack
    /// order or dict order (which rehashing never changes mid-iteration here).
    pub fn iter(&self) -> HashIter<'_> {
        match &self.enc {
            Encoding::Listpack(lp) => HashIter(IterInner::Listpack(LpPairs(lp.view().iter()))),
            Encoding::Hashtable(d) => HashIter(IterInner::Hashtable(d.iter())),
        }
    }

    /// Redis: the OBJ_HASH branch of debug.c xorObjectDigest(): each pair's field then
    /// value mixed into its own digest, xored into the total (order-independent).
    pub fn digest_into(&self, digest: &mut Digest) {
        for (field, value) in self.iter() {
            let mut pair: Digest = [0; 20];
            debug::mix_digest(&mut pair, &field.to_vec());
            debug::mix_digest(&mut pair, &value.to_vec());
            debug::xor_digest(digest, &pair);
        }
    }

    /// Redis: the OBJ_HASH branch of object.c objectComputeSize() (without the robj): the
    /// listpack's allocation, or the dict, its buckets and the average sampled entry.
    pub fn compute_size(&self, samples: u64) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => obj::je_malloc_size(lp.view().bytes()),
            Encoding::Hashtable(d) => dict_compute_size(d, samples),
        }
    }

    /// Redis: the OBJ_HASH branch of rdb.c rdbSavedObjectLen() (for DEBUG OBJECT): a
    /// listpack is saved as one string; a dict as its size then each field and value.
    pub fn rdb_saved_len(&self, rdbcompression: bool) -> usize {
        match &self.enc {
            Encoding::Listpack(lp) => debug::rdb_saved_raw_string_len(lp.view().as_bytes(), rdbcompression),
            Encoding::Hashtable(d) => d.iter().fold(debug::rdb_len_size(d.len() as u64), |n, (k, v)| {
                n + debug::rdb_saved_raw_string_len(k, rdbcompression)
                    + debug::rdb_saved_raw_string_len(v, rdbcompression)
            }),
        }
    }

    /// Redis: DEBUG HTSTATS-KEY: the dict stats when hash-table encoded.
    pub fn htstats(&self) -> Option<String> {
        match &self.enc {
            Encoding::Listpack(_) => None,
            Encoding::Hashtable(d) => Some(d.stats()),
        }
    }

    /// Redis: lazyfree.c lazyfreeGetFreeEffort(): a hash table's field count; a listpack
    /// is a single allocation.
    pub fn free_effort(&self) -> usize {
        match &self.enc {
            Encoding::Listpack(_) => 1,
            Encoding::Hashtable(d) => d.len(),
        }
    }

    /// Frees up to `budget` fields of a hash that lazyfree.rs is releasing piecemeal and
    /// returns the work done: 0 once what is left goes at once with the value.
    pub fn free_some(&mut self, budget: usize) -> usize {
        match &mut self.enc {
            Encoding::Listpack(_) => 0,
            Encoding::Hashtable(d) => d.free_some(budget),
        }
    }
}

/// The listpack half of hashTypeSet(): replace the value in place or append the pair.
fn listpack_set(lp: &mut Listpack, field: &[u8], value: &[u8]) -> bool {
    // The edits cannot fail: try_conversion() and set() keep the listpack under 1 GB.
    match lp_find_field(lp.view(), field) {
        Some((_, vptr)) => {
            let _ = lp.replace(vptr, value);
            true
        }
        None => {
            let _ = lp.append(field);
            let _ = lp.append(value);
            false
        }
    }
}

/// Redis: sizeof(dict) and sizeof(dictEntry) on 64-bit builds of 7.0.
const DICT_STRUCT_SIZE: usize = 56;
const DICT_ENTRY_SIZE: usize = 24;

/// objectComputeSize()'s dict estimate: the first `samples` entries' sds allocations and
/// dictEntry, averaged (in floating point, as Redis does) over every entry.
fn dict_compute_size(d: &Dict<Sds, Sds>, samples: u64) -> usize {
    let base = DICT_STRUCT_SIZE + std::mem::size_of::<usize>() * d.slots();
    let sample_size = usize::try_from(samples).unwrap_or(usize::MAX);
    let mut elesize = 0usize;
    let mut sampled = 0usize;
    for (k, v) in d.iter().take(sample_size) {
        elesize += obj::sds_zmalloc_size(k.len(), k.len()) + obj::sds_zmalloc_size(v.len(), v.len());
        elesize += DICT_ENTRY_SIZE;
        sampled += 1;
    }
    if sampled == 0 {
        return base;
    }
    base + (elesize as f64 / sampled as f64 * d.len() as f64) as usize
}

/// Iterator over a hash's (field, value) pairs; see [`HashValue::iter`].
pub struct HashIter<'a>(IterInner<'a>);

enum IterInner<'a> {
    Listpack(LpPairs<'a>),
    Hashtable(dict::Iter<'a, Sds, Sds>),
}

impl<'a> Iterator for HashIter<'a> {
    type Item = (Elem<'a>, Elem<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterInner::Listpack(pairs) => pairs.next(),
            IterInner::Hashtable(it) => it.next().map(|(k, v)| (Elem::Str(k), Elem::Str(v))),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Random sampling (Redis: lpRandomPair(s)(Unique), hashTypeRandomElement())
// ----------------------------------------------------------------------------------------

/// Redis: HRANDFIELD_SUB_STRATEGY_MUL and HRANDFIELD_RANDOM_SAMPLE_LIMIT.
const HRANDFIELD_SUB_STRATEGY_MUL: u64 = 3;
const HRANDFIELD_RANDOM_SAMPLE_LIMIT: u64 = 1000;

/// The random source of HRANDFIELD (Redis calls rand()): SplitMix64, seeded per command
/// from getRandomBytes().
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let mut seed = [0u8; 8];
        util::get_random_bytes(&mut seed);
        Rng(u64::from_le_bytes(seed))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (0 when n is 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % (n.max(1) as u64)) as usize
    }

    /// Uniform in [0, 1].
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / ((1u64 << 53) - 1) as f64
    }
}

/// Redis: lpRandomPairs(): `count` pairs drawn with replacement, in random order. The
/// picks are sorted so the listpack is walked once.
fn lp_random_pairs<'a>(lp: LpView<'a>, count: usize, rng: &mut Rng) -> Vec<(Elem<'a>, Elem<'a>)> {
    let total = lp.len() / 2;
    let mut picks: Vec<(usize, usize)> = (0..count).map(|order| (rng.below(total), order)).collect();
    picks.sort_unstable();
    let mut found: Vec<Option<(Elem<'a>, Elem<'a>)>> = vec![None; count];
    let mut pairs = LpPairs(lp.iter()).enumerate();
    let mut current = pairs.next();
    for (index, order) in picks {
        while current.is_some_and(|(i, _)| i < index) {
            current = pairs.next();
        }
        if let (Some((i, pair)), Some(slot)) = (current, found.get_mut(order)) {
            if i == index {
                *slot = Some(pair);
            }
        }
    }
    found.into_iter().flatten().collect()
}

/// Redis: lpRandomPairsUnique(): `count` distinct pairs (selection sampling), in
/// listpack order.
fn lp_random_pairs_unique<'a>(lp: LpView<'a>, count: usize, rng: &mut Rng) -> Vec<(Elem<'a>, Elem<'a>)> {
    let total = lp.len() / 2;
    let count = count.min(total);
    let mut picked = Vec::with_capacity(count);
    for (index, pair) in LpPairs(lp.iter()).enumerate() {
        if picked.len() == count {
            break;
        }
        let remaining = count - picked.len();
        let threshold = remaining as f64 / (total - index) as f64;
        if rng.unit() <= threshold {
            picked.push(pair);
        }
    }
    picked
}

/// Redis: lpRandomPair(): one pair, uniformly.
fn lp_random_pair<'a>(lp: LpView<'a>, rng: &mut Rng) -> Option<(Elem<'a>, Elem<'a>)> {
    let total = lp.len() / 2;
    LpPairs(lp.iter()).nth(rng.below(total))
}

impl HashValue {
    /// Redis: hashTypeRandomElement(): a random pair (dictGetFairRandomKey() for a dict).
    fn random_pair(&mut self, rng: &mut Rng) -> Option<(Elem<'_>, Elem<'_>)> {
        match &mut self.enc {
            Encoding::Listpack(lp) => lp_random_pair(lp.view(), rng),
            Encoding::Hashtable(d) => d.fair_random_entry().map(|(k, v)| (Elem::Str(k), Elem::Str(v))),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Lookups
// ----------------------------------------------------------------------------------------

/// Redis: checkType(c, o, OBJ_HASH): the hash inside `o`, or None for another type.
fn hash_of(o: &mut RObj) -> Option<&mut HashValue> {
    match o.value_mut() {
        ValueMut::Hash(h) => Some(h),
        ValueMut::Str(_) | ValueMut::List(_) | ValueMut::Set(_) | ValueMut::ZSet(_) | ValueMut::Stream(_) => None,
    }
}

/// Redis: lookupKey*() + checkType() on argv[1]: Ok(None) when missing, Err after
/// replying WRONGTYPE.
fn lookup_hash<'a>(srv: &'a mut Server, c: &mut Client, flags: LookupFlags) -> Result<Option<&'a mut HashValue>, ()> {
    let Some(o) = db::lookup_key(srv, c.db, c.argv.get(1), flags) else { return Ok(None) };
    match hash_of(o) {
        Some(h) => Ok(Some(h)),
        None => {
            c.reply.add_reply_wrong_type();
            Err(())
        }
    }
}

/// Redis: hashTypeLookupWriteOrCreate(): runs `f` on the hash at argv[1], or on a new
/// empty hash added to the db first (its "new" event precedes the reply `f` may add).
/// None after replying WRONGTYPE.
fn with_hash_write_or_create<R>(
    srv: &mut Server,
    c: &mut Client,
    f: impl FnOnce(&mut HashValue, &mut Client) -> R,
) -> Option<R> {
    let dbid = c.db;
    match db::lookup_key_write(srv, dbid, c.argv.get(1)) {
        Some(o) => match hash_of(o) {
            Some(h) => Some(f(h, c)),
            None => {
                c.reply.add_reply_wrong_type();
                None
            }
        },
        None => {
            let lru = obj::AccessClock::of(srv).initial_lru();
            db::db_add(srv, dbid, c.argv.get(1), RObj::new(Value::Hash(HashValue::new()), lru));
            crate::pubsub::flush_pending_pushes(srv, c);
            let h = srv.db.get_mut(dbid)?.dict.find(c.argv.get(1)).and_then(hash_of)?;
            Some(f(h, c))
        }
    }
}

/// C `strcasecmp(arg, lit) == 0` (the argument ends at its first NUL).
fn arg_is(arg: &[u8], lit: &str) -> bool {
    let end = memchr::memchr(0, arg).unwrap_or(arg.len());
    arg.get(..end).is_some_and(|a| a.eq_ignore_ascii_case(lit.as_bytes()))
}

/// Redis: shared.emptyscan (the same bytes in RESP2 and RESP3).
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

// ----------------------------------------------------------------------------------------
// Writing commands
// ----------------------------------------------------------------------------------------

/// Redis: t_hash.c hsetnxCommand().
pub fn hsetnx_command(srv: &mut Server, c: &mut Client) {
    let limits = HashLimits::of(srv);
    let added = with_hash_write_or_create(srv, c, |h, c| {
        let (field, value) = (c.argv.get(2), c.argv.get(3));
        if h.exists(field) {
            return false;
        }
        h.try_conversion([field, value], limits);
        h.set(field, value, limits);
        true
    });
    let Some(added) = added else { return };
    c.reply.add_reply_long_long(i64::from(added));
    if added {
        srv.signal_modified_key(c.db, c.argv.get(1));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_HASH, "hset", c.argv.get(1), c.db);
        crate::pubsub::flush_pending_pushes(srv, c);
        srv.dirty += 1;
    }
}

/// Redis: t_hash.c hsetCommand(), for HSET and HMSET (which answers OK instead of the
/// number of new fields; Redis tells them apart by argv[0][1]).
pub fn hset_command(srv: &mut Server, c: &mut Client) {
    let is_hset = matches!(c.argv.get(0).get(1), Some(b's' | b'S'));
    if c.argv.len() % 2 == 1 {
        return c.reply.add_reply_error_arity(if is_hset { "hset" } else { "hmset" });
    }
    let limits = HashLimits::of(srv);
    let created = with_hash_write_or_create(srv, c, |h, c| {
        h.try_conversion(c.argv.iter().skip(2), limits);
        let mut created = 0;
        for i in (2..c.argv.len()).step_by(2) {
            created += i64::from(!h.set(c.argv.get(i), c.argv.get(i + 1), limits));
        }
        created
    });
    let Some(created) = created else { return };
    if is_hset {
        c.reply.add_reply_long_long(created);
    } else {
        c.reply.add_reply_ok();
    }
    srv.signal_modified_key(c.db, c.argv.get(1));
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_HASH, "hset", c.argv.get(1), c.db);
    crate::pubsub::flush_pending_pushes(srv, c);
    srv.dirty += ((c.argv.len() - 2) / 2) as u64;
}

/// Redis: t_hash.c hincrbyCommand().
pub fn hincrby_command(srv: &mut Server, c: &mut Client) {
    let Some(incr) = obj::get_long_long_from_object_or_reply(&mut c.reply, c.argv.get(3), None) else { return };
    let limits = HashLimits::of(srv);
    let written = with_hash_write_or_create(srv, c, |h, c| hincrby_field(h, c, incr, limits));
    if written == Some(true) {
        srv.signal_modified_key(c.db, c.argv.get(1));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_HASH, "hincrby", c.argv.get(1), c.db);
        crate::pubsub::flush_pending_pushes(srv, c);
        srv.dirty += 1;
    }
}

/// HINCRBY's work on the hash: false after replying an error.
fn hincrby_field(h: &mut HashValue, c: &mut Client, incr: i64, limits: HashLimits) -> bool {
    let field = c.argv.get(2);
    let current = match h.get(field) {
        None => Some(0),
        Some(Elem::Int(v)) => Some(v),
        Some(Elem::Str(s)) => util::string2ll(s),
    };
    let Some(current) = current else {
        c.reply.add_reply_error("hash value is not an integer");
        return false;
    };
    let Some(value) = current.checked_add(incr) else {
        c.reply.add_reply_error("increment or decrement would overflow");
        return false;
    };
    h.set(field, util::ll2string(value).as_bytes(), limits);
    c.reply.add_reply_long_long(value);
    true
}

/// Redis: t_hash.c hincrbyfloatCommand(). The increment is checked before the key; the
/// sum is formatted as a long double (%.17Lg) and replicated as HSET of that text.
pub fn hincrbyfloat_command(srv: &mut Server, c: &mut Client) {
    if let Err(err) = util::hincr_float_string(None, c.argv.get(3)) {
        return c.reply.add_reply_error(err.message());
    }
    let limits = HashLimits::of(srv);
    let written = with_hash_write_or_create(srv, c, |h, c| {
        let field = c.argv.get(2);
        let current = h.get(field).map(|e| e.to_vec());
        match util::hincr_float_string(current.as_deref(), c.argv.get(3)) {
            Ok(text) => {
                h.set(field, &text, limits);
                c.reply.add_reply_bulk(&text);
                Some(text)
            }
            Err(err) => {
                c.reply.add_reply_error(err.message());
                None
            }
        }
    });
    let Some(Some(text)) = written else { return };
    srv.signal_modified_key(c.db, c.argv.get(1));
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_HASH, "hincrbyfloat", c.argv.get(1), c.db);
    crate::pubsub::flush_pending_pushes(srv, c);
    srv.dirty += 1;
    let (key, field) = (c.argv.get(1).to_vec(), c.argv.get(2).to_vec());
    c.argv.replace(&[b"HSET", &key, &field, &text]);
}

/// Redis: t_hash.c hdelCommand(): deletes the key with its last field.
pub fn hdel_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let h = match lookup_hash(srv, c, LookupFlags::Write) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(h)) => h,
    };
    let mut deleted = 0;
    let mut keyremoved = false;
    for j in 2..c.argv.len() {
        if h.delete(c.argv.get(j)) {
            deleted += 1;
            if h.is_empty() {
                keyremoved = true;
                break;
            }
        }
    }
    if keyremoved {
        srv.db[dbid].db_delete(c.argv.get(1));
    }
    if deleted > 0 {
        srv.signal_modified_key(dbid, c.argv.get(1));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_HASH, "hdel", c.argv.get(1), dbid);
        if keyremoved {
            crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", c.argv.get(1), dbid);
        }
        srv.dirty += deleted;
    }
    c.reply.add_reply_long_long(deleted as i64);
}

// ----------------------------------------------------------------------------------------
// Reading commands
// ----------------------------------------------------------------------------------------

/// Redis: t_hash.c addHashFieldToReply(): the value, or null.
fn add_hash_field_to_reply(reply: &mut Reply, h: Option<&mut HashValue>, field: &[u8]) {
    match h.and_then(|h| h.get(field)) {
        Some(value) => add_elem_reply(reply, value),
        None => reply.add_reply_null(),
    }
}

/// Redis: t_hash.c hgetCommand().
pub fn hget_command(srv: &mut Server, c: &mut Client) {
    match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_null(),
        Ok(h) => add_hash_field_to_reply(&mut c.reply, h, c.argv.get(2)),
    }
}

/// Redis: t_hash.c hmgetCommand(): a missing key is an empty hash (all nulls).
pub fn hmget_command(srv: &mut Server, c: &mut Client) {
    let Ok(mut h) = lookup_hash(srv, c, LookupFlags::Read) else { return };
    c.reply.add_reply_array_len(c.argv.len() - 2);
    for i in 2..c.argv.len() {
        add_hash_field_to_reply(&mut c.reply, h.as_deref_mut(), c.argv.get(i));
    }
}

/// Redis: t_hash.c hlenCommand().
pub fn hlen_command(srv: &mut Server, c: &mut Client) {
    match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => {}
        Ok(h) => c.reply.add_reply_long_long(h.map_or(0, |h| h.len() as i64)),
    }
}

/// Redis: t_hash.c hstrlenCommand().
pub fn hstrlen_command(srv: &mut Server, c: &mut Client) {
    match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => {}
        Ok(h) => c.reply.add_reply_long_long(h.map_or(0, |h| h.value_len(c.argv.get(2)) as i64)),
    }
}

/// Redis: t_hash.c hexistsCommand().
pub fn hexists_command(srv: &mut Server, c: &mut Client) {
    match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => {}
        Ok(h) => c.reply.add_reply_long_long(i64::from(h.is_some_and(|h| h.exists(c.argv.get(2))))),
    }
}

/// What genericHgetallCommand() returns of each pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HgetallParts {
    Keys,
    Values,
    Both,
}

/// Redis: t_hash.c genericHgetallCommand(): HGETALL answers a map (an empty map when the
/// key is missing), HKEYS and HVALS a flat array.
fn generic_hgetall_command(srv: &mut Server, c: &mut Client, parts: HgetallParts) {
    let h = match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) if parts == HgetallParts::Both => return c.reply.add_reply_map_len(0),
        Ok(None) => return c.reply.add_reply_array_len(0),
        Ok(Some(h)) => h,
    };
    match parts {
        HgetallParts::Both => c.reply.add_reply_map_len(h.len()),
        HgetallParts::Keys | HgetallParts::Values => c.reply.add_reply_array_len(h.len()),
    }
    for (field, value) in h.iter() {
        if parts != HgetallParts::Values {
            add_elem_reply(&mut c.reply, field);
        }
        if parts != HgetallParts::Keys {
            add_elem_reply(&mut c.reply, value);
        }
    }
}

/// Redis: t_hash.c hkeysCommand().
pub fn hkeys_command(srv: &mut Server, c: &mut Client) {
    generic_hgetall_command(srv, c, HgetallParts::Keys);
}

/// Redis: t_hash.c hvalsCommand().
pub fn hvals_command(srv: &mut Server, c: &mut Client) {
    generic_hgetall_command(srv, c, HgetallParts::Values);
}

/// Redis: t_hash.c hgetallCommand().
pub fn hgetall_command(srv: &mut Server, c: &mut Client) {
    generic_hgetall_command(srv, c, HgetallParts::Both);
}

/// Redis: t_hash.c hscanCommand() + db.c scanGenericCommand(): a listpack is returned
/// whole with cursor 0; a dict is scanned COUNT (doubled: fields and values) at a time.
pub fn hscan_command(srv: &mut Server, c: &mut Client) {
    let Some(cursor) = db::parse_scan_cursor_or_reply(c, 2) else { return };
    let h = match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_proto(EMPTY_SCAN),
        Ok(Some(h)) => h,
    };
    let Some(opts) = db::parse_scan_options(c, 3, false) else { return };
    let (cursor, mut items) = h.scan(cursor, opts.count);
    if let Some(pattern) = &opts.pattern {
        items.retain(|(field, _)| util::string_match_len(pattern, field, false));
    }
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk_long_long(cursor as i64);
    c.reply.add_reply_array_len(items.len() * 2);
    for (field, value) in &items {
        c.reply.add_reply_bulk(field);
        c.reply.add_reply_bulk(value);
    }
}

/// A (field, value) copied out of a hash.
type OwnedPair = (Vec<u8>, Vec<u8>);

impl HashValue {
    /// scanGenericCommand() step 2 on a hash: the next cursor and the pairs collected.
    /// Redis's `long` arithmetic on COUNT wraps (a huge COUNT scans to the end).
    fn scan(&self, cursor: u64, count: i64) -> (u64, Vec<OwnedPair>) {
        let d = match &self.enc {
            Encoding::Listpack(_) => return (0, self.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
            Encoding::Hashtable(d) => d,
        };
        let count = count.wrapping_mul(2);
        let mut maxiterations = count.wrapping_mul(10);
        let mut items = Vec::new();
        let mut cursor = cursor;
        loop {
            cursor = d.scan(cursor, |k, v| items.push((k.to_vec(), v.to_vec())));
            // Redis: `while (cursor && maxiterations-- && listLength(keys) < count)`, with
            // two list nodes per pair.
            if cursor == 0 || maxiterations == 0 {
                break;
            }
            maxiterations = maxiterations.wrapping_sub(1);
            if (items.len() as u64).saturating_mul(2) >= count as u64 {
                break;
            }
        }
        (cursor, items)
    }
}

// ----------------------------------------------------------------------------------------
// HRANDFIELD
// ----------------------------------------------------------------------------------------

/// Redis: t_hash.c hrandfieldCommand(): one random field, or with a count, many.
pub fn hrandfield_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() >= 3 {
        let Some(l) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), -i64::MAX, i64::MAX, None)
        else {
            return;
        };
        let argc = c.argv.len();
        if argc > 4 || (argc == 4 && !arg_is(c.argv.get(3), "withvalues")) {
            return c.reply.add_reply_syntax_error();
        }
        let withvalues = argc == 4;
        if withvalues && !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
            return c.reply.add_reply_error("value is out of range");
        }
        return hrandfield_with_count_command(srv, c, l, withvalues);
    }
    let h = match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_null(),
        Ok(Some(h)) => h,
    };
    match h.random_pair(&mut Rng::new()) {
        Some((field, _)) => add_elem_reply(&mut c.reply, field),
        None => c.reply.add_reply_null(),
    }
}

/// How HRANDFIELD shapes each pair: RESP3 nests [field, value], RESP2 flattens them.
#[derive(Debug, Clone, Copy)]
struct PairShape {
    withvalues: bool,
    resp3: bool,
}

impl PairShape {
    /// The reply's array length for `n` pairs.
    fn array_len(&self, n: u64) -> usize {
        let flat = if self.withvalues && !self.resp3 { n.saturating_mul(2) } else { n };
        usize::try_from(flat).unwrap_or(usize::MAX)
    }

    fn add(&self, reply: &mut Reply, field: Elem<'_>, value: Elem<'_>) {
        if self.withvalues && self.resp3 {
            reply.add_reply_array_len(2);
        }
        add_elem_reply(reply, field);
        if self.withvalues {
            add_elem_reply(reply, value);
        }
    }
}

/// The output buffer hard limit of this client: Redis stops HRANDFIELD's loops once the
/// client is flagged CLIENT_CLOSE_ASAP for passing it.
fn reply_hard_limit(srv: &Server, c: &Client) -> u64 {
    use crate::client::{get_client_type, ClientType};
    let class = match get_client_type(c) {
        ClientType::Master => return 0,
        ClientType::Normal => 0,
        ClientType::Replica => 1,
        ClientType::Pubsub => 2,
    };
    srv.config.client_output_buffer_limit.get(class).map_or(0, |l| l.hard_limit_bytes)
}

fn over_limit(c: &Client, hard: u64) -> bool {
    hard > 0 && networking::get_client_output_buffer_memory_usage(c) >= hard
}

/// Redis: t_hash.c hrandfieldWithCountCommand(). A negative count draws with repetition
/// (CASE 1); otherwise distinct fields: the whole hash (CASE 2), a listpack sample in
/// order (CASE 2.5), a dict minus random fields (CASE 3) or random picks (CASE 4).
fn hrandfield_with_count_command(srv: &mut Server, c: &mut Client, l: i64, withvalues: bool) {
    let hard = reply_hard_limit(srv, c);
    let h = match lookup_hash(srv, c, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_array_len(0),
        Ok(Some(h)) => h,
    };
    let shape = PairShape { withvalues, resp3: c.reply.resp > 2 };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return c.reply.add_reply_array_len(0);
    }
    let mut rng = Rng::new();
    if !uniq || count == 1 {
        c.reply.add_reply_array_len(shape.array_len(count));
        if !hrandfield_with_repeats(h, c, count, shape, hard, &mut rng) {
            networking::close_client_on_output_buffer_limit_reached(srv, c);
        }
        return;
    }
    let size = h.len() as u64;
    c.reply.add_reply_array_len(shape.array_len(count.min(size)));
    if count >= size {
        for (field, value) in h.iter() {
            shape.add(&mut c.reply, field, value);
        }
        return;
    }
    // count < size from here, so it fits in memory alongside the hash.
    let count = count as usize;
    match &mut h.enc {
        Encoding::Listpack(lp) => {
            for (field, value) in lp_random_pairs_unique(lp.view(), count, &mut rng) {
                shape.add(&mut c.reply, field, value);
            }
        }
        Encoding::Hashtable(d) if (count as u64).saturating_mul(HRANDFIELD_SUB_STRATEGY_MUL) > size => {
            hrandfield_dict_subtract(d, &mut c.reply, count, shape, &mut rng)
        }
        Encoding::Hashtable(d) => hrandfield_dict_pick(d, &mut c.reply, count, shape),
    }
}

/// CASE 1: `count` pairs drawn with replacement. False when the client went over its
/// output limit (the reply is then cut short, as Redis's is).
fn hrandfield_with_repeats(h: &mut HashValue, c: &mut Client, count: u64, shape: PairShape, hard: u64, rng: &mut Rng) -> bool {
    match &mut h.enc {
        Encoding::Hashtable(d) => {
            for _ in 0..count {
                let Some((field, value)) = d.fair_random_entry() else { break };
                shape.add(&mut c.reply, Elem::Str(field), Elem::Str(value));
                if over_limit(c, hard) {
                    return false;
                }
            }
        }
        Encoding::Listpack(lp) => {
            let mut left = count;
            while left > 0 {
                let batch = left.min(HRANDFIELD_RANDOM_SAMPLE_LIMIT);
                left -= batch;
                for (field, value) in lp_random_pairs(lp.view(), batch as usize, rng) {
                    shape.add(&mut c.reply, field, value);
                }
                if over_limit(c, hard) {
                    return false;
                }
            }
        }
    }
    true
}

/// CASE 3: every pair, minus random ones until `count` remain.
fn hrandfield_dict_subtract(d: &Dict<Sds, Sds>, reply: &mut Reply, count: usize, shape: PairShape, rng: &mut Rng) {
    let mut pairs: Vec<(&Sds, &Sds)> = d.iter().collect();
    while pairs.len() > count {
        let victim = rng.below(pairs.len());
        pairs.swap_remove(victim);
    }
    for (field, value) in pairs {
        shape.add(reply, Elem::Str(field), Elem::Str(value));
    }
}

/// CASE 4: random pairs until `count` distinct fields were replied.
fn hrandfield_dict_pick(d: &mut Dict<Sds, Sds>, reply: &mut Reply, count: usize, shape: PairShape) {
    let mut seen: std::collections::HashSet<Sds> = std::collections::HashSet::with_capacity(count);
    while seen.len() < count {
        let Some((field, value)) = d.fair_random_entry() else { break };
        if seen.insert(field.clone()) {
            shape.add(reply, Elem::Str(field), Elem::Str(value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command as run, test_server};
    use proptest::prelude::*;

    const SMALL: HashLimits = HashLimits { max_entries: 4, max_value: 8 };
    const DEFAULT: HashLimits = HashLimits { max_entries: 512, max_value: 64 };

    fn hash_of_pairs(pairs: &[(&str, &str)], limits: HashLimits) -> HashValue {
        let mut h = HashValue::new();
        for (f, v) in pairs {
            h.try_conversion([f.as_bytes(), v.as_bytes()], limits);
            h.set(f.as_bytes(), v.as_bytes(), limits);
        }
        h
    }

    fn listpack_bytes(h: &HashValue) -> &[u8] {
        match &h.enc {
            Encoding::Listpack(lp) => lp.view().as_bytes(),
            Encoding::Hashtable(_) => panic!("not a listpack"),
        }
    }

    fn digest_hex(key: &[u8], o: &RObj) -> String {
        let mut digest: Digest = [0; 20];
        debug::xor_object_digest(&crate::db::RedisDb::new(0), key, &mut digest, o);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The listpack of {"f": "v"} as redis-server 7.0.15 writes it in an RDB file.
    #[test]
    fn listpack_bytes_are_redis_bytes() {
        let h = hash_of_pairs(&[("f", "v")], DEFAULT);
        assert_eq!(listpack_bytes(&h), b"\x0d\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff");
    }

    /// MEMORY USAGE, DEBUG OBJECT serializedlength and DEBUG DIGEST-VALUE observed on
    /// redis-server 7.0.15 for the same hashes.
    #[test]
    fn size_and_digest_match_redis_for_a_listpack() {
        let h = hash_of_pairs(&[("a", "1"), ("b", "hello"), ("c", "-5000"), ("d", "123456789012")], DEFAULT);
        assert_eq!(h.rdb_saved_len(true), 43);
        let o = RObj::new(Value::Hash(h), 0);
        assert_eq!(obj::key_memory_usage(b"h", &o, 5), 96);
        assert_eq!(digest_hex(b"h", &o), "22f4e3bffe251c8d58d51011acaa211850ba5eb9");
    }

    #[test]
    fn size_and_digest_match_redis_for_a_hashtable() {
        let mut h = HashValue::new();
        for i in 100..700 {
            h.set(format!("f{i}").as_bytes(), format!("v{i}").as_bytes(), DEFAULT);
        }
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.rdb_saved_len(true), 6002);
        assert!(h.htstats().is_some_and(|s| s.contains("number of elements: 600")));
        let o = RObj::new(Value::Hash(h.clone()), 0);
        assert_eq!(obj::key_memory_usage(b"big", &o, 5), 32296);
        assert_eq!(obj::key_memory_usage(b"big", &o, u64::MAX), 32296);
        assert_eq!(digest_hex(b"big", &o), "9a3e39114bc41a63853c765651bb709919636a5d");
        assert!(h.delete(b"f100") && h.delete(b"f101") && !h.delete(b"f101"));
        assert_eq!(h.rdb_saved_len(true), 5982);
    }

    #[test]
    fn converts_on_entry_count_after_the_write() {
        let mut h = hash_of_pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")], SMALL);
        assert_eq!(h.encoding_name(), "listpack");
        assert!(h.set(b"d", b"44", SMALL));
        assert_eq!(h.encoding_name(), "listpack");
        assert!(!h.set(b"e", b"5", SMALL));
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        // Never back, even down to one small field.
        for f in ["a", "b", "c", "d"] {
            assert!(h.delete(f.as_bytes()));
        }
        assert_eq!((h.encoding_name(), h.len()), ("hashtable", 1));
        assert_eq!(h.get(b"e"), Some(Elem::Str(b"5")));
    }

    #[test]
    fn converts_on_field_or_value_length() {
        let mut h = hash_of_pairs(&[("f", "12345678")], SMALL);
        assert_eq!(h.encoding_name(), "listpack");
        h.try_conversion([&b"g"[..], b"123456789"], SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
        // set() checks lengths itself (HINCRBY* results skip try_conversion).
        let mut h = hash_of_pairs(&[("f", "1")], SMALL);
        h.set(b"f", b"100000000", SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
        let mut h = hash_of_pairs(&[("f", "1")], SMALL);
        h.set(b"123456789", b"1", SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
        // Lengths are of the text: a 9-digit integer is too long even though a listpack
        // would store it in 5 bytes.
        let mut h = HashValue::new();
        h.try_conversion([&b"f"[..], b"-12345678"], SMALL);
        assert_eq!(h.encoding_name(), "hashtable");
    }

    #[test]
    fn integers_round_trip_as_their_text() {
        let values = [
            "0", "-1", "127", "128", "-4096", "4095", "4096", "-32768", "32767", "-8388608", "8388607",
            "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
            "007", "-0", "+5", "", " 1",
        ];
        let mut h = HashValue::new();
        for (i, v) in values.iter().enumerate() {
            h.set(i.to_string().as_bytes(), v.as_bytes(), DEFAULT);
        }
        assert_eq!(h.encoding_name(), "listpack");
        for (i, v) in values.iter().enumerate() {
            let got = h.get(i.to_string().as_bytes()).map(|e| (e.to_vec(), e.str_len()));
            assert_eq!(got, Some((v.as_bytes().to_vec(), v.len())), "value {v:?}");
        }
        // Integer fields are found by their text only.
        assert!(h.exists(b"3") && !h.exists(b"03") && !h.exists(b"+3"));
    }

    #[test]
    fn clones_are_equal_and_independent() {
        let small = hash_of_pairs(&[("a", "1"), ("b", "2")], DEFAULT);
        let mut big = HashValue::new();
        for i in 0..100 {
            big.set(format!("f{i}").as_bytes(), b"v", SMALL);
        }
        for original in [small, big] {
            let mut copy = original.clone();
            assert_eq!(copy, original);
            assert_eq!(copy.encoding_name(), original.encoding_name());
            copy.set(b"new", b"x", DEFAULT);
            assert_ne!(copy, original);
        }
    }

    #[test]
    fn random_samples_have_the_right_shape() {
        let h = hash_of_pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "5")], DEFAULT);
        let Encoding::Listpack(lp) = &h.enc else { panic!("listpack expected") };
        let lp = lp.view();
        let mut rng = super::Rng::new();
        for count in 0..=5 {
            let picked = lp_random_pairs_unique(lp, count, &mut rng);
            assert_eq!(picked.len(), count);
            // Distinct and in listpack order.
            let fields: Vec<Vec<u8>> = picked.iter().map(|(f, _)| f.to_vec()).collect();
            let mut sorted = fields.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(fields, sorted);
            for (f, v) in &picked {
                assert_eq!(f.to_vec()[0] - b'a' + b'1', v.to_vec()[0]);
            }
        }
        let repeated = lp_random_pairs(lp, 50, &mut rng);
        assert_eq!(repeated.len(), 50);
        assert!(lp_random_pair(lp, &mut rng).is_some());
    }

    fn argv(args: &str) -> Vec<&str> {
        args.split(' ').collect()
    }

    #[test]
    fn write_commands_and_their_errors() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let r = |srv: &mut Server, c: &mut Client, f: fn(&mut Server, &mut Client), a: &str| run(srv, c, f, &argv(a));
        assert_eq!(r(&mut srv, &mut c, hset_command, "hset h a 1 b 2"), ":2\r\n");
        assert_eq!(r(&mut srv, &mut c, hset_command, "HMSET h a 3 c 4"), "+OK\r\n");
        assert_eq!(r(&mut srv, &mut c, hset_command, "hset h a"), "-ERR wrong number of arguments for 'hset' command\r\n");
        assert_eq!(r(&mut srv, &mut c, hset_command, "hmset h a 1 b"), "-ERR wrong number of arguments for 'hmset' command\r\n");
        assert_eq!(r(&mut srv, &mut c, hsetnx_command, "hsetnx h a 9"), ":0\r\n");
        assert_eq!(r(&mut srv, &mut c, hsetnx_command, "hsetnx h d 9"), ":1\r\n");
        assert_eq!(r(&mut srv, &mut c, hgetall_command, "hgetall h"), "*8\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n4\r\n$1\r\nd\r\n$1\r\n9\r\n");
        assert_eq!(r(&mut srv, &mut c, hincrby_command, "hincrby h a 9223372036854775800"), ":9223372036854775803\r\n");
        assert_eq!(r(&mut srv, &mut c, hincrby_command, "hincrby h a 5"), "-ERR increment or decrement would overflow\r\n");
        assert_eq!(r(&mut srv, &mut c, hincrby_command, "hincrby h a x"), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(r(&mut srv, &mut c, hincrbyfloat_command, "hincrbyfloat h b 0.5"), "$3\r\n2.5\r\n");
        assert_eq!(c.argv.to_vecs(), vec![b"HSET".to_vec(), b"h".to_vec(), b"b".to_vec(), b"2.5".to_vec()]);
        assert_eq!(r(&mut srv, &mut c, hincrby_command, "hincrby h b 1"), "-ERR hash value is not an integer\r\n");
        assert_eq!(r(&mut srv, &mut c, hincrbyfloat_command, "hincrbyfloat h b inf"), "-ERR value is NaN or Infinity\r\n");
        assert_eq!(r(&mut srv, &mut c, hdel_command, "hdel h a b c x"), ":3\r\n");
        assert_eq!(r(&mut srv, &mut c, hdel_command, "hdel h d"), ":1\r\n");
        assert!(srv.db[0].dict.get(b"h".as_slice()).is_none());
        r(&mut srv, &mut c, crate::t_string::set_command, "set s v");
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        assert_eq!(r(&mut srv, &mut c, hset_command, "hset s a 1"), wrongtype);
        assert_eq!(r(&mut srv, &mut c, hincrbyfloat_command, "hincrbyfloat s a 1"), wrongtype);
        assert_eq!(r(&mut srv, &mut c, hincrbyfloat_command, "hincrbyfloat s a x"), "-ERR value is not a valid float\r\n");
    }

    #[test]
    fn read_commands_in_resp2_and_resp3() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, hset_command, &["hset", "h", "f", "v", "n", "12"]);
        assert_eq!(run(&mut srv, &mut c, hget_command, &["hget", "h", "n"]), "$2\r\n12\r\n");
        assert_eq!(run(&mut srv, &mut c, hmget_command, &["hmget", "nokey", "a"]), "*1\r\n$-1\r\n");
        assert_eq!(run(&mut srv, &mut c, hstrlen_command, &["hstrlen", "h", "n"]), ":2\r\n");
        assert_eq!(run(&mut srv, &mut c, hexists_command, &["hexists", "h", "x"]), ":0\r\n");
        assert_eq!(run(&mut srv, &mut c, hkeys_command, &["hkeys", "h"]), "*2\r\n$1\r\nf\r\n$1\r\nn\r\n");
        assert_eq!(run(&mut srv, &mut c, hrandfield_command, &["hrandfield", "h", "5", "withvalues"]), "*4\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n$2\r\n12\r\n");
        assert_eq!(run(&mut srv, &mut c, hscan_command, &["hscan", "h", "0", "match", "n*"]), "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nn\r\n$2\r\n12\r\n");
        c.reply.resp = 3;
        assert_eq!(run(&mut srv, &mut c, hgetall_command, &["hgetall", "nokey"]), "%0\r\n");
        assert_eq!(run(&mut srv, &mut c, hget_command, &["hget", "h", "x"]), "_\r\n");
        assert_eq!(run(&mut srv, &mut c, hgetall_command, &["hgetall", "h"]), "%2\r\n$1\r\nf\r\n$1\r\nv\r\n$1\r\nn\r\n$2\r\n12\r\n");
        assert_eq!(run(&mut srv, &mut c, hrandfield_command, &["hrandfield", "h", "2", "withvalues"]), "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nn\r\n$2\r\n12\r\n");
    }

    #[test]
    fn hrandfield_counts_on_both_encodings() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, hset_command, &["hset", "small", "a", "1", "b", "2", "c", "3"]);
        for i in 0..600 {
            let f = format!("f{i}");
            run(&mut srv, &mut c, hset_command, &["hset", "big", &f, "v"]);
        }
        let bulks = |reply: &str| reply.matches("\r\n$").count();
        for key in ["small", "big"] {
            assert_eq!(bulks(&run(&mut srv, &mut c, hrandfield_command, &["hrandfield", key, "-2500"])), 2500);
            assert_eq!(bulks(&run(&mut srv, &mut c, hrandfield_command, &["hrandfield", key, "-7", "withvalues"])), 14);
            let out = run(&mut srv, &mut c, hrandfield_command, &["hrandfield", key, "2"]);
            assert!(out.starts_with("*2\r\n") && bulks(&out) == 2, "{out}");
        }
        // CASE 3 (most of the dict) and CASE 4 (a few picks): distinct fields.
        for count in ["500", "20"] {
            let out = run(&mut srv, &mut c, hrandfield_command, &["hrandfield", "big", count]);
            let fields: std::collections::HashSet<&str> = out.split("\r\n").filter(|l| l.starts_with('f')).collect();
            assert_eq!(fields.len().to_string(), count);
        }
    }

    #[test]
    fn hscan_covers_a_hashtable_across_calls() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        for i in 0..600 {
            let f = format!("f{i}");
            run(&mut srv, &mut c, hset_command, &["hset", "big", &f, "v"]);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = "0".to_string();
        loop {
            let out = run(&mut srv, &mut c, hscan_command, &["hscan", "big", &cursor, "count", "7"]);
            let lines: Vec<&str> = out.split("\r\n").collect();
            cursor = lines[2].to_string();
            seen.extend(lines.iter().filter(|l| l.starts_with('f')).map(|l| l.to_string()));
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 600);
    }

    /// One operation of the model test: field index, value.
    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        Delete(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let value = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..12),
            any::<i64>().prop_map(|v| v.to_string().into_bytes()),
        ];
        prop_oneof![
            3 => (0u8..8, value).prop_map(|(f, v)| Op::Set(f, v)),
            1 => (0u8..8).prop_map(Op::Delete),
        ]
    }

    proptest! {
        /// Against an ordered list of pairs: same contents; listpack order is insertion
        /// order; the encoding is a listpack exactly until a limit was once passed.
        #[test]
        fn behaves_like_an_ordered_map(ops in proptest::collection::vec(op(), 0..60)) {
            let limits = HashLimits { max_entries: 5, max_value: 10 };
            let mut h = HashValue::new();
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            let mut converted = false;
            for op in ops {
                match op {
                    Op::Set(f, v) => {
                        let field = vec![b'f', f];
                        h.try_conversion([field.as_slice(), v.as_slice()], limits);
                        let existed = h.set(&field, &v, limits);
                        converted |= v.len() > limits.max_value;
                        match model.iter_mut().find(|(k, _)| *k == field) {
                            Some(slot) => { prop_assert!(existed); slot.1 = v; }
                            None => { prop_assert!(!existed); model.push((field, v)); }
                        }
                        converted |= model.len() > limits.max_entries;
                    }
                    Op::Delete(f) => {
                        let field = vec![b'f', f];
                        let was = model.iter().position(|(k, _)| *k == field);
                        prop_assert_eq!(h.delete(&field), was.is_some());
                        if let Some(i) = was { model.remove(i); }
                    }
                }
                prop_assert_eq!(h.len(), model.len());
                prop_assert_eq!(h.encoding_name(), if converted { "hashtable" } else { "listpack" });
            }
            let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            if converted {
                pairs.sort();
                model.sort();
            }
            prop_assert_eq!(pairs, model);
        }
    }
}

// --- RDB access (save) ---
impl HashValue {
    /// The listpack's bytes when listpack-encoded: rdbSaveObject() writes them as one
    /// string (RDB_TYPE_HASH_LISTPACK); None for a hash table.
    pub fn rdb_listpack_bytes(&self) -> Option<&[u8]> {
        match &self.enc {
            Encoding::Listpack(lp) => Some(lp.view().as_bytes()),
            Encoding::Hashtable(_) => None,
        }
    }
}

// --- RDB access (load) ---
impl HashValue {
    /// A listpack-encoded hash over a listpack the RDB loader built or validated (fields
    /// and values alternating, no duplicate field).
    pub fn from_listpack(lp: Listpack) -> HashValue {
        HashValue { enc: Encoding::Listpack(LpBox::new(lp)) }
    }

    /// A hashtable-encoded hash over a dict the RDB loader filled.
    pub fn from_dict(d: Dict<Sds, Sds>) -> HashValue {
        HashValue { enc: Encoding::Hashtable(Box::new(d)) }
    }
}

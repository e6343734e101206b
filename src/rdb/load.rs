//! The RDB reader: every type and encoding Redis 7.0 can load, old ones included.
//!
//! Redis: rdb.c, the rdbLoad* half. Runs inline at start-up (load_data_from_disk), for DEBUG
//! RELOAD and, later, on a replica after a full sync; RESTORE uses [`rdb_load_object`] on a
//! payload. While a file loads, `srv.loading` is set and, every
//! `loading-process-events-interval-bytes` (2 MB), the event loop is served once
//! (processEventsWhileBlocked) so clients get -LOADING instead of a frozen server; that
//! happens between keys, where the loader holds no borrow of the keyspace.
//!
//! Nothing a file holds is trusted: lengths never size an allocation up front (Rio's
//! rio_read_vec grows as bytes arrive; dict pre-sizing is bounded by what the stream can
//! still hold). Blobs kept as they are (listpacks, intsets, stream nodes) get Redis 7.0's
//! checks: the shallow header checks always, the deep walk of every entry (and the
//! duplicate checks) only when sanitize-dump-payload asks for it
//! ([`deep_integrity_validation`]); blobs that are converted anyway (ziplist, zipmap) are
//! walked deeply, as in Redis. A value that passed only the shallow checks may hold
//! inconsistent entries: the type modules' accessors give wrong data or stop early on
//! them, never panic (Redis asserts and crashes there). Every failure is an [`RdbError`]
//! with the stream offset and Redis's reason text.
//!
//! Layout: primitives (rdbLoadType, rdbLoadLen, strings, doubles), rdbLoadObject and one
//! loader per value type, streams, then rdbLoadRio's opcode loop, rdbLoad and the loading
//! state, then the fuzzing entry point.

use std::collections::{BTreeSet, HashSet};
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::rc::Rc;

use super::*;
use crate::db::RedisDb;
use crate::dict::Dict;
use crate::intset::Intset;
use crate::listpack::{self, Listpack, LpValue};
use crate::lzf::lzf_decompress;
use crate::config::SanitizeDumpPayload;
use crate::object::{AccessClock, RObj, Sds, StrValue, Value, OBJ_ENCODING_EMBSTR_SIZE_LIMIT};
use crate::quicklist::End;
use crate::rio::Rio;
use crate::server::{Server, LRU_CLOCK_MAX};
use crate::stream::{Consumer, ConsumerGroup, Nack, Stream, StreamId, STREAM_ITEM_FLAG_SAMEFIELDS};
use crate::t_hash::{HashLimits, HashValue};
use crate::t_list::ListValue;
use crate::t_set::SetValue;
use crate::t_zset::{ZDictKey, ZSet, ZSetValue, ZsetLimits};
use crate::util;
use crate::ziplist::{self, ZlValue};
use crate::zipmap;
use crate::zset_listpack::ZListpack;

/// Redis: rdbLoad()'s three outcomes.
#[derive(Debug)]
pub enum RdbLoadError {
    /// Redis: RDB_NOT_EXIST: no file (a fresh server starts empty).
    NotExist,
    /// Redis: RDB_FAILED, with the reason for the log.
    Failed(RdbError),
}

/// Redis: DICT_HT_INITIAL_SIZE: rdbLoadObject() pre-sizes dicts only above it.
const DICT_HT_INITIAL_SIZE: u64 = 4;
/// Pre-sizing bound when the stream's total size is unknown (RESTORE payloads).
const PRESIZE_CAP_UNKNOWN_TOTAL: u64 = 1 << 20;
/// Redis: CONFIG_RUN_ID_SIZE, the length of a valid repl-id aux field.
const CONFIG_RUN_ID_SIZE: usize = 40;
/// Redis: RDB_MODULE_OPCODE_UINT, the `when` opcode of a MODULE_AUX record.
const RDB_MODULE_OPCODE_UINT: u64 = 2;
/// Redis: ModuleTypeNameCharSet.
const MODULE_TYPE_NAME_CHARSET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Redis: RDB_LOAD_ERR_EMPTY_KEY warnings are logged for the first 10 empty keys only.
const EMPTY_KEYS_LOGGED: u64 = 10;

// ----------------------------------------------------------------------------------------
// Errors
// ----------------------------------------------------------------------------------------

/// A failed read: the stream ended (a truncated file) or the I/O failed.
fn read_error(offset: u64, err: io::Error) -> RdbError {
    match err.kind() {
        io::ErrorKind::UnexpectedEof => RdbError::ShortRead { offset },
        _ => RdbError::Io { offset, err },
    }
}

/// Redis: rdbReportCorruptRDB(): the reason at the current offset.
fn corrupt<R>(rdb: &Rio<R>, reason: impl Into<String>) -> RdbError {
    RdbError::Corrupt { offset: rdb.processed_bytes, reason: reason.into() }
}

fn unsupported<R>(rdb: &Rio<R>, reason: impl Into<String>) -> RdbError {
    RdbError::Unsupported { offset: rdb.processed_bytes, reason: reason.into() }
}

fn read_array<R: Read, const N: usize>(rdb: &mut Rio<R>) -> Result<[u8; N], RdbError> {
    let mut buf = [0u8; N];
    rdb.rio_read(&mut buf).map_err(|e| read_error(rdb.processed_bytes, e))?;
    Ok(buf)
}

fn read_vec<R: Read>(rdb: &mut Rio<R>, len: u64) -> Result<Vec<u8>, RdbError> {
    let offset = rdb.processed_bytes;
    rdb.rio_read_vec(len).map_err(|e| read_error(offset, e))
}

// ----------------------------------------------------------------------------------------
// Primitives
// ----------------------------------------------------------------------------------------

/// Redis: rdbLoadType(): one byte, an opcode or a value type.
pub fn rdb_load_type<R: Read>(rdb: &mut Rio<R>) -> Result<u8, RdbError> {
    Ok(read_array::<R, 1>(rdb)?[0])
}

/// Redis: rdbLoadTime(): a legacy EXPIRETIME, signed 32-bit seconds.
pub fn rdb_load_time<R: Read>(rdb: &mut Rio<R>) -> Result<i64, RdbError> {
    Ok(i64::from(i32::from_le_bytes(read_array(rdb)?)))
}

/// Redis: rdbLoadMillisecondTime(): signed 64-bit little-endian milliseconds. (Before RDB 9
/// Redis read it in host order, which is the same on the little-endian hosts it runs on.)
pub fn rdb_load_millisecond_time<R: Read>(rdb: &mut Rio<R>) -> Result<i64, RdbError> {
    Ok(i64::from_le_bytes(read_array(rdb)?))
}

/// What a length slot holds (Redis: rdbLoadLenByRef()'s `len` and `isencoded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbLen {
    Len(u64),
    /// RDB_ENCVAL: a special string encoding (RDB_ENC_*) follows.
    Encoded(u8),
}

/// Redis: rdbLoadLenByRef(): the 6-, 14-, 32- and 64-bit forms (big-endian), or a special
/// encoding; any other `10xxxxxx` byte is corruption.
pub fn rdb_load_len_by_ref<R: Read>(rdb: &mut Rio<R>) -> Result<RdbLen, RdbError> {
    let first = rdb_load_type(rdb)?;
    let kind = (first & 0xC0) >> 6;
    Ok(match kind {
        RDB_ENCVAL => RdbLen::Encoded(first & 0x3F),
        RDB_6BITLEN => RdbLen::Len(u64::from(first & 0x3F)),
        RDB_14BITLEN => RdbLen::Len((u64::from(first & 0x3F) << 8) | u64::from(rdb_load_type(rdb)?)),
        _ if first == RDB_32BITLEN => RdbLen::Len(u64::from(u32::from_be_bytes(read_array(rdb)?))),
        _ if first == RDB_64BITLEN => RdbLen::Len(u64::from_be_bytes(read_array(rdb)?)),
        _ => return Err(corrupt(rdb, format!("Unknown length encoding {kind} in rdbLoadLen()"))),
    })
}

/// Redis: rdbLoadLen(rdb, NULL): a length. A special-encoding byte where a length is
/// expected reads as its low 6 bits, as in Redis.
pub fn rdb_load_len<R: Read>(rdb: &mut Rio<R>) -> Result<u64, RdbError> {
    Ok(match rdb_load_len_by_ref(rdb)? {
        RdbLen::Len(len) => len,
        RdbLen::Encoded(enc) => u64::from(enc),
    })
}

/// Redis: rdbLoadIntegerObject(): an INT8/16/32 encoded string's value.
pub fn rdb_load_integer_object<R: Read>(rdb: &mut Rio<R>, enctype: u8) -> Result<i64, RdbError> {
    Ok(match enctype {
        RDB_ENC_INT8 => i64::from(i8::from_le_bytes(read_array(rdb)?)),
        RDB_ENC_INT16 => i64::from(i16::from_le_bytes(read_array(rdb)?)),
        RDB_ENC_INT32 => i64::from(i32::from_le_bytes(read_array(rdb)?)),
        other => return Err(corrupt(rdb, format!("Unknown RDB integer encoding type {other}"))),
    })
}

/// Redis: rdbLoadLzfStringObject(): `<clen> <len> <clen bytes>` decompressed to exactly
/// `len` bytes. Memory follows the bytes really read, never the declared lengths.
pub fn rdb_load_lzf_string_object<R: Read>(rdb: &mut Rio<R>) -> Result<Vec<u8>, RdbError> {
    let clen = rdb_load_len(rdb)?;
    let len = rdb_load_len(rdb)?;
    let compressed = read_vec(rdb, clen)?;
    let max = usize::try_from(len).map_err(|_| corrupt(rdb, "Invalid LZF compressed string"))?;
    match lzf_decompress(&compressed, max) {
        Some(out) if out.len() == max => Ok(out),
        _ => Err(corrupt(rdb, "Invalid LZF compressed string")),
    }
}

/// Redis: rdbGenericLoadStringObject() with RDB_LOAD_PLAIN: the bytes of a raw, integer
/// (as decimal text) or LZF string.
pub fn rdb_generic_load_string_object<R: Read>(rdb: &mut Rio<R>) -> Result<Vec<u8>, RdbError> {
    match rdb_load_len_by_ref(rdb)? {
        RdbLen::Len(len) => read_vec(rdb, len),
        RdbLen::Encoded(enc @ (RDB_ENC_INT8 | RDB_ENC_INT16 | RDB_ENC_INT32)) => {
            Ok(util::ll2string(rdb_load_integer_object(rdb, enc)?).as_bytes().to_vec())
        }
        RdbLen::Encoded(RDB_ENC_LZF) => rdb_load_lzf_string_object(rdb),
        RdbLen::Encoded(other) => Err(corrupt(rdb, format!("Unknown RDB string encoding type {other}"))),
    }
}

/// Redis: rdbLoadDoubleValue(): a text double (RDB_TYPE_ZSET): a length byte, with 253,
/// 254 and 255 meaning NaN, +inf and -inf, then the text, read as sscanf("%lg") would.
pub fn rdb_load_double_value<R: Read>(rdb: &mut Rio<R>) -> Result<f64, RdbError> {
    match rdb_load_type(rdb)? {
        255 => Ok(f64::NEG_INFINITY),
        254 => Ok(f64::INFINITY),
        253 => Ok(f64::NAN),
        len => {
            let text = read_vec(rdb, u64::from(len))?;
            // Redis returns -1 without a report: the loader's caller then treats it as
            // any other failed read ("Short read or OOM loading DB", an EOF report).
            scan_double(&text).ok_or(RdbError::ShortRead { offset: rdb.processed_bytes })
        }
    }
}

/// C sscanf("%lg"): leading blanks, then the longest prefix that is a number (the text
/// ends at its first NUL, as a C string does).
fn scan_double(text: &[u8]) -> Option<f64> {
    let end = memchr::memchr(0, text).unwrap_or(text.len());
    let text = std::str::from_utf8(text.get(..end)?).ok()?.trim_start();
    (1..=text.len()).rev().find_map(|n| text.get(..n)?.parse::<f64>().ok())
}

/// Redis: rdbLoadBinaryDoubleValue(): 8 bytes of IEEE 754, little-endian (RDB ≥ 8).
pub fn rdb_load_binary_double_value<R: Read>(rdb: &mut Rio<R>) -> Result<f64, RdbError> {
    Ok(f64::from_le_bytes(read_array(rdb)?))
}

/// Redis: rdbLoadObjectType(): the next type byte, refused unless it is a value type.
pub fn rdb_load_object_type<R: Read>(rdb: &mut Rio<R>) -> Result<u8, RdbError> {
    let t = rdb_load_type(rdb)?;
    if !rdb_is_object_type(t) {
        return Err(corrupt(rdb, format!("Unknown RDB encoding type {t}")));
    }
    Ok(t)
}

// ----------------------------------------------------------------------------------------
// rdbLoadObject
// ----------------------------------------------------------------------------------------

/// A value type's loader result: the value, or None for an empty aggregate.
type Loaded = Result<Option<Value>, RdbError>;

/// Redis: rdbLoadObject()'s `deep_integrity_validation`: sanitize-dump-payload yes walks
/// every entry of every blob; no checks headers only; clients walks them for a RESTORE
/// from a normal client, not while loading a file (start-up, DEBUG RELOAD, a replica's full
/// sync) nor for our master's RESTOREs. (Redis also skips users with the ACL flag
/// skip-sanitize-payload, which this server's ACL does not have.)
pub fn deep_integrity_validation(srv: &Server) -> bool {
    match srv.config.sanitize_dump_payload {
        SanitizeDumpPayload::Yes => true,
        SanitizeDumpPayload::No => false,
        SanitizeDumpPayload::Clients => {
            !(srv.loading || crate::replication::replica::current_client_is_master(srv))
        }
    }
}

/// Redis: rdbLoadObject(): the value of type `rdbtype`, converted to the encoding this
/// server's config asks for. `Ok(None)` is an empty aggregate Redis skips with a warning.
pub fn rdb_load_object<R: Read>(
    rdbtype: u8,
    rdb: &mut Rio<R>,
    key: &[u8],
    srv: &Server,
) -> Result<Option<RObj>, RdbError> {
    let _ = key; // Redis passes it on to module loaders only.
    let deep = deep_integrity_validation(srv);
    let value = match rdbtype {
        RDB_TYPE_STRING => Some(Value::Str(string_value(rdb_generic_load_string_object(rdb)?))),
        RDB_TYPE_LIST => load_list(rdb, srv)?,
        RDB_TYPE_SET => load_set(rdb, srv)?,
        RDB_TYPE_ZSET | RDB_TYPE_ZSET_2 => load_zset(rdbtype, rdb, srv)?,
        RDB_TYPE_HASH => load_hash(rdb, srv, deep)?,
        RDB_TYPE_LIST_QUICKLIST | RDB_TYPE_LIST_QUICKLIST_2 => load_quicklist(rdbtype, rdb, srv, deep)?,
        RDB_TYPE_HASH_ZIPMAP
        | RDB_TYPE_LIST_ZIPLIST
        | RDB_TYPE_SET_INTSET
        | RDB_TYPE_ZSET_ZIPLIST
        | RDB_TYPE_ZSET_LISTPACK
        | RDB_TYPE_HASH_ZIPLIST
        | RDB_TYPE_HASH_LISTPACK => load_encoded_blob(rdbtype, rdb, srv, deep)?,
        RDB_TYPE_STREAM_LISTPACKS | RDB_TYPE_STREAM_LISTPACKS_2 => Some(load_stream(rdbtype, rdb, StreamCtx { deep, lenient_lens: !srv.loading })?),
        RDB_TYPE_MODULE | RDB_TYPE_MODULE_2 => return Err(module_value_refusal(rdb)),
        other => return Err(corrupt(rdb, format!("Unknown RDB encoding type {other}"))),
    };
    Ok(value.map(|v| RObj::new(v, AccessClock::of(srv).initial_lru())))
}

/// Redis: tryObjectEncoding() of a loaded string: int, embstr or raw; a long string keeps
/// the buffer it was read into.
fn string_value(bytes: Vec<u8>) -> StrValue {
    if bytes.len() > OBJ_ENCODING_EMBSTR_SIZE_LIMIT {
        return StrValue::Raw(Box::new(bytes));
    }
    StrValue::encode(&bytes)
}

/// How many entries a dict read from this stream may be pre-sized for: each needs at least
/// a byte of what is left of the file being loaded (a fixed bound for other streams), so a
/// corrupt count cannot reserve gigabytes.
fn presize_cap<R>(rdb: &Rio<R>, srv: &Server) -> u64 {
    if srv.loading && srv.loading_total_bytes > 0 {
        srv.loading_total_bytes.saturating_sub(rdb.processed_bytes)
    } else {
        PRESIZE_CAP_UNKNOWN_TOTAL
    }
}

/// Redis: dictTryExpand() before loading `len` entries, bounded by presize_cap().
fn presize<K: crate::dict::DictKey + Clone, V: Clone, R>(
    d: &mut Dict<K, V>,
    len: u64,
    rdb: &Rio<R>,
    srv: &Server,
) -> Result<(), RdbError> {
    let hint = usize::try_from(len.min(presize_cap(rdb, srv))).unwrap_or(usize::MAX);
    d.try_expand(hint).map_err(|_| corrupt(rdb, format!("OOM in dictTryExpand {len}")))
}

/// RDB_TYPE_LIST: a linked list of strings, pushed into a quicklist.
fn load_list<R: Read>(rdb: &mut Rio<R>, srv: &Server) -> Loaded {
    let len = rdb_load_len(rdb)?;
    if len == 0 {
        return Ok(None);
    }
    let mut list = ListValue::for_server(srv);
    for _ in 0..len {
        list.push(&rdb_generic_load_string_object(rdb)?, End::Tail);
    }
    Ok(Some(Value::List(Box::new(list))))
}

/// RDB_TYPE_SET: an intset while every member is an integer and the set is small enough
/// (set-max-intset-entries), else a hash table; a repeated member is corruption.
fn load_set<R: Read>(rdb: &mut Rio<R>, srv: &Server) -> Loaded {
    let len = rdb_load_len(rdb)?;
    if len == 0 {
        return Ok(None);
    }
    let max_entries = srv.config.set_max_intset_entries.min(1 << 30) as u64;
    let mut set = SetValue::Intset(Intset::new());
    if len > max_entries {
        set = SetValue::Hashtable(Box::default());
        if len > DICT_HT_INITIAL_SIZE {
            presize_set(&mut set, len, rdb, srv)?;
        }
    }
    for _ in 0..len {
        let ele = rdb_generic_load_string_object(rdb)?;
        if matches!(set, SetValue::Intset(_)) && util::string2ll(&ele).is_none() {
            set.convert_to_hashtable();
            presize_set(&mut set, len, rdb, srv)?;
        }
        let added = match &mut set {
            SetValue::Intset(is) => util::string2ll(&ele).is_some_and(|v| is.add(v)),
            SetValue::Hashtable(d) => d.add(ele.into(), ()).is_ok(),
        };
        if !added {
            return Err(corrupt(rdb, "Duplicate set members detected"));
        }
    }
    Ok(Some(Value::Set(Box::new(set))))
}

fn presize_set<R>(set: &mut SetValue, len: u64, rdb: &Rio<R>, srv: &Server) -> Result<(), RdbError> {
    match set {
        SetValue::Hashtable(d) => presize(d, len, rdb, srv),
        SetValue::Intset(_) => Ok(()),
    }
}

/// RDB_TYPE_ZSET (text scores) and RDB_TYPE_ZSET_2 (binary scores): a skiplist, turned
/// into a listpack afterwards if it is small enough (members are not stored in order).
fn load_zset<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, srv: &Server) -> Loaded {
    let len = rdb_load_len(rdb)?;
    if len == 0 {
        return Ok(None);
    }
    let mut zs = ZSet::default();
    if len > DICT_HT_INITIAL_SIZE {
        presize(&mut zs.dict, len, rdb, srv)?;
    }
    let (mut maxelelen, mut totelelen) = (0usize, 0usize);
    for _ in 0..len {
        let ele = rdb_generic_load_string_object(rdb)?;
        let score = match rdbtype {
            RDB_TYPE_ZSET_2 => rdb_load_binary_double_value(rdb)?,
            _ => rdb_load_double_value(rdb)?,
        };
        if score.is_nan() {
            return Err(corrupt(rdb, "Zset with NAN score detected"));
        }
        maxelelen = maxelelen.max(ele.len());
        totelelen = totelelen.saturating_add(ele.len());
        let ele: Rc<[u8]> = Rc::from(ele);
        if zs.zsl.is_full() || zs.dict.add(ZDictKey(Rc::clone(&ele)), score).is_err() {
            return Err(corrupt(rdb, "Duplicate zset fields detected"));
        }
        zs.zsl.insert(score, ele);
    }
    let mut zset = ZSetValue::SkipList(Box::new(zs));
    zset.convert_to_listpack_if_needed(maxelelen, totelelen, ZsetLimits::of(srv));
    Ok(Some(Value::ZSet(zset)))
}

/// RDB_TYPE_HASH: pairs into a listpack while they fit hash-max-listpack-entries/-value,
/// else (from the start or from the first pair too long) into a dict. A repeated field is
/// caught while in the listpack only with `deep` (Redis's dupSearchDict); a dict always
/// catches it.
fn load_hash<R: Read>(rdb: &mut Rio<R>, srv: &Server, deep: bool) -> Loaded {
    let mut remaining = rdb_load_len(rdb)?;
    if remaining == 0 {
        return Ok(None);
    }
    let limits = HashLimits::of(srv);
    let mut dict: Option<Dict<Sds, Sds>> = (remaining > limits.max_entries as u64).then(Dict::new);
    let mut lp = Listpack::new();
    let mut fields: Option<HashSet<Vec<u8>>> = (dict.is_none() && deep).then(HashSet::new);
    while dict.is_none() && remaining > 0 {
        remaining -= 1;
        let (field, value) = (rdb_generic_load_string_object(rdb)?, rdb_generic_load_string_object(rdb)?);
        if fields.as_mut().is_some_and(|f| !f.insert(field.clone())) {
            return Err(corrupt(rdb, "Hash with dup elements"));
        }
        let too_big = field.len() > limits.max_value || value.len() > limits.max_value;
        if too_big || !lp.safe_to_add(field.len() + value.len()) {
            let mut d = listpack_pairs_to_dict(&lp);
            if d.add(field.into(), value.into()).is_err() {
                return Err(corrupt(rdb, "Duplicate hash fields detected"));
            }
            dict = Some(d);
            break;
        }
        lp.append(&field);
        lp.append(&value);
    }
    let Some(mut d) = dict else {
        return Ok(Some(Value::Hash(HashValue::from_listpack(lp))));
    };
    load_hash_dict_pairs(rdb, srv, &mut d, remaining)?;
    Ok(Some(Value::Hash(HashValue::from_dict(d))))
}

/// The rest of an RDB_TYPE_HASH once it is a dict.
fn load_hash_dict_pairs<R: Read>(rdb: &mut Rio<R>, srv: &Server, d: &mut Dict<Sds, Sds>, len: u64) -> Result<(), RdbError> {
    if len > DICT_HT_INITIAL_SIZE {
        presize(d, len, rdb, srv)?;
    }
    for _ in 0..len {
        let (field, value) = (rdb_generic_load_string_object(rdb)?, rdb_generic_load_string_object(rdb)?);
        if d.add(field.into(), value.into()).is_err() {
            return Err(corrupt(rdb, "Duplicate hash fields detected"));
        }
    }
    Ok(())
}

/// Redis: hashTypeConvertListpack(): a dict pre-sized for the pairs, in listpack order.
fn listpack_pairs_to_dict(lp: &Listpack) -> Dict<Sds, Sds> {
    let mut d: Dict<Sds, Sds> = Dict::with_capacity(lp.len() / 2);
    let mut it = lp.iter();
    while let (Some(f), Some(v)) = (it.next(), it.next()) {
        let _ = d.add(f.to_vec().into(), v.to_vec().into());
    }
    d
}

/// RDB_TYPE_LIST_QUICKLIST (ziplist nodes, converted: always walked) and
/// RDB_TYPE_LIST_QUICKLIST_2 (listpack nodes, kept as they are after lpValidateIntegrity
/// with `deep`, or plain nodes): nodes whose header counts no element are skipped.
fn load_quicklist<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, srv: &Server, deep: bool) -> Loaded {
    let len = rdb_load_len(rdb)?;
    if len == 0 {
        return Ok(None);
    }
    let mut list = ListValue::for_server(srv);
    for _ in 0..len {
        let container = match rdbtype {
            RDB_TYPE_LIST_QUICKLIST_2 => rdb_load_len(rdb)?,
            _ => QUICKLIST_NODE_CONTAINER_PACKED,
        };
        if container != QUICKLIST_NODE_CONTAINER_PACKED && container != QUICKLIST_NODE_CONTAINER_PLAIN {
            return Err(corrupt(rdb, "Quicklist integrity check failed."));
        }
        let data = rdb_generic_load_string_object(rdb)?;
        if data.is_empty() {
            return Err(corrupt(rdb, "Quicklist node with an empty string"));
        }
        let lp = match (container, rdbtype) {
            (QUICKLIST_NODE_CONTAINER_PLAIN, _) => plain_node(&data),
            (_, RDB_TYPE_LIST_QUICKLIST_2) => Listpack::from_bytes_checked(data, deep),
            _ => ziplist_to_listpack(&data),
        };
        let Some(lp) = lp else {
            let what = if rdbtype == RDB_TYPE_LIST_QUICKLIST { "Ziplist" } else { "Listpack" };
            return Err(corrupt(rdb, format!("{what} integrity check failed.")));
        };
        list.quicklist_mut().append_listpack(lp);
    }
    if list.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::List(Box::new(list))))
}

/// Redis: quicklistAppendPlainNode(): one element of its own. This quicklist has no plain
/// nodes, so the element gets a listpack node of its own (same elements, same order).
fn plain_node(element: &[u8]) -> Option<Listpack> {
    let mut lp = Listpack::new();
    lp.append(element)?;
    Some(lp)
}

/// Redis: ziplistValidateIntegrity() with _ziplistEntryConvertAndValidate: the ziplist's
/// entries appended to a new listpack (integers as integers).
fn ziplist_to_listpack(zl: &[u8]) -> Option<Listpack> {
    let mut lp = Listpack::new();
    let mut ok = true;
    let valid = ziplist::ziplist_validate_integrity(zl, true, |v, _| {
        ok &= listpack_append_zl(&mut lp, v);
        ok
    });
    (valid && ok).then_some(lp)
}

fn listpack_append_zl(lp: &mut Listpack, v: ZlValue<'_>) -> bool {
    match v {
        ZlValue::Str(s) => lp.append(s).is_some(),
        ZlValue::Int(i) => lp.append_integer(i).is_some(),
    }
}

// ----------------------------------------------------------------------------------------
// Values stored as one blob (zipmap, ziplist, intset, listpack)
// ----------------------------------------------------------------------------------------

/// What a blob converter returns: the value (None when empty) or the corruption reason.
type Converted = Result<Option<Value>, String>;

/// Redis: the RDB_TYPE_HASH_ZIPMAP ... RDB_TYPE_HASH_LISTPACK branch of rdbLoadObject():
/// one string holding the encoded value, validated, then converted where the config asks.
fn load_encoded_blob<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, srv: &Server, deep: bool) -> Loaded {
    let blob = rdb_generic_load_string_object(rdb)?;
    let converted = match rdbtype {
        RDB_TYPE_HASH_ZIPMAP => hash_from_zipmap(&blob, srv),
        RDB_TYPE_LIST_ZIPLIST => list_from_ziplist(&blob, srv),
        RDB_TYPE_SET_INTSET => set_from_intset(&blob, srv, deep),
        RDB_TYPE_ZSET_ZIPLIST => zset_from_ziplist(&blob, srv),
        RDB_TYPE_ZSET_LISTPACK => zset_from_listpack(blob, srv, deep),
        RDB_TYPE_HASH_ZIPLIST => hash_from_ziplist(&blob, srv),
        _ => hash_from_listpack(blob, srv, deep),
    };
    converted.map_err(|reason| corrupt(rdb, reason))
}

/// A listpack hash, turned into a dict when it has more than hash-max-listpack-entries
/// fields (or, for zipmaps, a field or value longer than hash-max-listpack-value).
fn hash_value(lp: Listpack, srv: &Server, too_long: bool) -> Option<Value> {
    let fields = lp.len() / 2;
    hash_value_of_len(lp, fields, srv, too_long)
}

/// hash_value() deciding on `fields`: Redis's hashTypeLength(), from the header of the
/// listpack as it was read (which decides "empty" and the conversion, as in Redis, even
/// when the value kept is its consistent rebuild).
fn hash_value_of_len(lp: Listpack, fields: usize, srv: &Server, too_long: bool) -> Option<Value> {
    if fields == 0 {
        return None;
    }
    let mut h = HashValue::from_listpack(lp);
    if fields > srv.config.hash_max_listpack_entries || too_long {
        h.convert_to_hashtable();
    }
    Some(Value::Hash(h))
}

/// RDB_TYPE_HASH_ZIPMAP (Redis ≤ 2.4): zipmap pairs into a listpack.
fn hash_from_zipmap(zm: &[u8], srv: &Server) -> Converted {
    if !zipmap::zipmap_validate_integrity(zm, true) {
        return Err("Zipmap integrity check failed.".into());
    }
    let mut lp = Listpack::new();
    let mut fields: HashSet<&[u8]> = HashSet::new();
    let mut maxlen = 0usize;
    for (field, value) in zipmap::zipmap_rewind(zm) {
        maxlen = maxlen.max(field.len()).max(value.len());
        if !fields.insert(field) || !lp.safe_to_add(field.len() + value.len()) {
            return Err(format!("Hash zipmap with dup elements, or big length ({})", field.len()));
        }
        lp.append(field);
        lp.append(value);
    }
    Ok(hash_value(lp, srv, maxlen > srv.config.hash_max_listpack_value))
}

/// RDB_TYPE_LIST_ZIPLIST: every entry pushed into a quicklist (integers as text).
fn list_from_ziplist(zl: &[u8], srv: &Server) -> Converted {
    let mut list = ListValue::for_server(srv);
    let valid = ziplist::ziplist_validate_integrity(zl, true, |v, _| {
        list.push(&v.to_vec(), End::Tail);
        true
    });
    if !valid {
        return Err("List ziplist integrity check failed.".into());
    }
    Ok((!list.is_empty()).then(|| Value::List(Box::new(list))))
}

/// RDB_TYPE_SET_INTSET: the intset as is, or a hash table past set-max-intset-entries.
/// Redis: intsetValidateIntegrity(`deep`): the header, the size and a member at least;
/// with `deep` also strictly ascending members.
fn set_from_intset(blob: &[u8], srv: &Server, deep: bool) -> Converted {
    let is = Intset::from_blob(blob, deep).ok_or("Intset integrity check failed.")?;
    let mut set = SetValue::Intset(is);
    if set.len() > srv.config.set_max_intset_entries {
        set.convert_to_hashtable();
    }
    Ok(Some(Value::Set(Box::new(set))))
}

/// A listpack zset, turned into a skiplist past zset-max-listpack-entries.
fn zset_value(zl: ZListpack, srv: &Server) -> Option<Value> {
    let members = zl.len();
    zset_value_of_len(zl, members, srv)
}

/// zset_value() deciding on `members`, Redis's zsetLength() (see hash_value_of_len()).
fn zset_value_of_len(zl: ZListpack, members: usize, srv: &Server) -> Option<Value> {
    if members == 0 {
        return None;
    }
    let mut z = ZSetValue::Listpack(zl);
    if members > srv.config.zset_max_listpack_entries {
        z.convert_to_skiplist();
    }
    Some(Value::ZSet(z))
}

/// The entry count lpLength() gives for listpack bytes that passed the shallow checks: the
/// header's, or a walk when it says "unknown" (where Redis would assert on a bad entry, the
/// walk stops).
fn lp_length_as_read(blob: &[u8]) -> usize {
    Listpack::from_bytes_checked(blob.to_vec(), false).map_or(0, |lp| lp.len())
}

/// RDB_TYPE_ZSET_ZIPLIST: (member, score) pairs converted to a listpack.
fn zset_from_ziplist(zl: &[u8], srv: &Server) -> Converted {
    let lp = ziplist_pairs_to_listpack(zl).ok_or("Zset ziplist integrity check failed.")?;
    let zl = ZListpack::from_bytes(lp.as_bytes().to_vec()).ok_or("Zset ziplist integrity check failed.")?;
    Ok(zset_value(zl, srv))
}

/// RDB_TYPE_ZSET_LISTPACK: Redis's lpPairsValidateIntegrityAndDups(`deep`): the header;
/// with `deep` every entry, an even count and unique members (scores are not checked:
/// they read as strtod reads them).
/// Without `deep` the value kept is listpack::make_consistent()'s: Redis keeps the bytes
/// and crashes when a command meets an entry that does not decode.
fn zset_from_listpack(blob: Vec<u8>, srv: &Server, deep: bool) -> Converted {
    const BAD: &str = "Zset listpack integrity check failed.";
    if !listpack::validate_integrity(&blob, deep) || (deep && lp_pairs_validate_integrity_and_dups(&blob).is_none()) {
        return Err(BAD.into());
    }
    let members = lp_length_as_read(&blob) / 2;
    let zl = ZListpack::from_bytes_shallow(pairs_made_consistent(blob).ok_or(BAD)?.into_bytes()).ok_or(BAD)?;
    Ok(zset_value_of_len(zl, members, srv))
}

/// RDB_TYPE_HASH_ZIPLIST: (field, value) pairs converted to a listpack.
fn hash_from_ziplist(zl: &[u8], srv: &Server) -> Converted {
    let lp = ziplist_pairs_to_listpack(zl).ok_or("Hash ziplist integrity check failed.")?;
    Ok(hash_value(lp, srv, false))
}

/// RDB_TYPE_HASH_LISTPACK: the listpack as is once validated as
/// lpPairsValidateIntegrityAndDups(`deep`) validates it.
/// Without `deep` the value kept is listpack::make_consistent()'s (as for zsets).
fn hash_from_listpack(blob: Vec<u8>, srv: &Server, deep: bool) -> Converted {
    const BAD: &str = "Hash listpack integrity check failed.";
    if !listpack::validate_integrity(&blob, deep) || (deep && lp_pairs_validate_integrity_and_dups(&blob).is_none()) {
        return Err(BAD.into());
    }
    let fields = lp_length_as_read(&blob) / 2;
    let lp = pairs_made_consistent(blob).ok_or(BAD)?;
    Ok(hash_value_of_len(lp, fields, srv, false))
}

/// listpack::make_consistent() for a listpack of pairs: an odd count (which only the deep
/// check refuses) loses its dangling last entry, so that every field or member has its
/// value or score and a pair walk never ends half way (a zset's ZRANK counted that
/// member past ZCARD).
fn pairs_made_consistent(blob: Vec<u8>) -> Option<Listpack> {
    let mut lp = Listpack::from_bytes_checked(listpack::make_consistent(blob), false)?;
    if lp.len() % 2 == 1 {
        let last = lp.last()?;
        lp.delete(last);
    }
    Some(lp)
}

/// Redis: ziplistPairsConvertAndValidateIntegrity(): a ziplist of pairs as a listpack; an
/// odd count or a repeated key (even entries) is corruption.
fn ziplist_pairs_to_listpack(zl: &[u8]) -> Option<Listpack> {
    let mut lp = Listpack::new();
    let mut keys: HashSet<Vec<u8>> = HashSet::new();
    let mut count = 0usize;
    let valid = ziplist::ziplist_validate_integrity(zl, true, |v, _| {
        let fresh = !count.is_multiple_of(2) || keys.insert(v.to_vec());
        count += 1;
        fresh && listpack_append_zl(&mut lp, v)
    });
    (valid && count.is_multiple_of(2)).then_some(lp)
}

/// Redis: lpPairsValidateIntegrityAndDups() with `deep`: every entry valid, an even
/// count, no repeated key (keys compared as strings, integers in decimal).
fn lp_pairs_validate_integrity_and_dups(blob: &[u8]) -> Option<()> {
    if !listpack::validate_integrity(blob, true) {
        return None;
    }
    let mut keys: HashSet<Vec<u8>> = HashSet::new();
    let mut count = 0usize;
    let mut p = listpack::LP_HDR_SIZE;
    while let Some((value, next)) = listpack::validated_entry_at(blob, p) {
        if count.is_multiple_of(2) && !keys.insert(value.to_vec()) {
            return None;
        }
        count += 1;
        p = next;
    }
    count.is_multiple_of(2).then_some(())
}

// ----------------------------------------------------------------------------------------
// Streams
// ----------------------------------------------------------------------------------------

/// Redis: streamDecodeID(): a 16-byte big-endian (ms, seq).
fn stream_decode_id(raw: &[u8]) -> Option<StreamId> {
    let ms = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(raw.get(8..16)?.try_into().ok()?);
    Some(StreamId::new(ms, seq))
}

/// RDB_TYPE_STREAM_LISTPACKS (v1, before 7.0) and RDB_TYPE_STREAM_LISTPACKS_2: the nodes,
/// the metadata, then the consumer groups with their PELs and consumers. As in Redis the
/// length is only checked against there being nodes at all: the entries are counted
/// nowhere, not even by the deep node check.
fn load_stream<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, ctx: StreamCtx) -> Result<Value, RdbError> {
    let mut s = Stream::new();
    load_stream_nodes(rdb, &mut s, ctx.deep)?;
    load_stream_meta(rdbtype, rdb, &mut s, ctx.lenient_lens)?;
    if s.length != 0 && s.node_count() == 0 {
        return Err(corrupt(rdb, "Stream length inconsistent with rax entries"));
    }
    let groups = rdb_load_len(rdb)?;
    for _ in 0..groups {
        load_stream_cgroup(rdbtype, rdb, &mut s, ctx)?;
    }
    Ok(Value::Stream(Box::new(s)))
}

/// What the stream loader's checks depend on.
#[derive(Debug, Clone, Copy)]
struct StreamCtx {
    /// sanitize-dump-payload asks for deep checks.
    deep: bool,
    /// A RESTORE, not a file: see load_meta_len().
    lenient_lens: bool,
}

/// Redis reads a stream's metadata, its groups' IDs and read counters and the NACKs'
/// delivery counts with rdbLoadLen() and then checks for a short read only: in a RESTORE,
/// where rdbReportCorruptRDB() just logs, an unknown length encoding reads as RDB_LENERR
/// (u64::MAX) and loading goes on. While loading a file it is fatal.
fn load_meta_len<R: Read>(rdb: &mut Rio<R>, lenient: bool) -> Result<u64, RdbError> {
    match rdb_load_len(rdb) {
        Err(RdbError::Corrupt { .. }) if lenient => Ok(u64::MAX),
        other => other,
    }
}

/// The rax nodes: (master ID, listpack) pairs, each checked as
/// streamValidateListpackIntegrity(`deep`) checks it and refused when it has no entry.
fn load_stream_nodes<R: Read>(rdb: &mut Rio<R>, s: &mut Stream, deep: bool) -> Result<(), RdbError> {
    let listpacks = rdb_load_len(rdb)?;
    for _ in 0..listpacks {
        let nodekey = rdb_generic_load_string_object(rdb)?;
        let Some(master_id) = stream_decode_id(&nodekey).filter(|_| nodekey.len() == 16) else {
            return Err(corrupt(rdb, "Stream node key entry is not the size of a stream ID"));
        };
        let lp = rdb_generic_load_string_object(rdb)?;
        if !stream_validate_listpack_integrity(&lp, deep) {
            return Err(corrupt(rdb, "Stream listpack integrity check failed."));
        }
        if lp.get(listpack::LP_HDR_SIZE) == Some(&listpack::LP_EOF) {
            return Err(corrupt(rdb, "Empty listpack inside stream"));
        }
        if !s.rdb_insert_node(master_id, lp) {
            return Err(corrupt(rdb, "Listpack re-added with existing key"));
        }
    }
    Ok(())
}

/// Length, last ID and (v2) first ID, max deleted ID and entries added; v1 streams get
/// them derived as Redis 7.0 does.
fn load_stream_meta<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, s: &mut Stream, lenient: bool) -> Result<(), RdbError> {
    let mut len = || load_meta_len(rdb, lenient);
    s.length = len()?;
    s.last_id = StreamId::new(len()?, len()?);
    if rdbtype == RDB_TYPE_STREAM_LISTPACKS_2 {
        s.first_id = StreamId::new(len()?, len()?);
        s.max_deleted_entry_id = StreamId::new(len()?, len()?);
        s.entries_added = len()?;
    } else {
        s.max_deleted_entry_id = StreamId::MIN;
        s.entries_added = s.length;
        s.first_id = s.edge_id(true, true);
    }
    Ok(())
}

/// One consumer group: name, last delivered ID, (v2) entries read, the global PEL, the
/// consumers and their PELs; with `deep`, every pending entry must have an owner.
fn load_stream_cgroup<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, s: &mut Stream, ctx: StreamCtx) -> Result<(), RdbError> {
    let name = rdb_generic_load_string_object(rdb)?;
    let last_id = StreamId::new(load_meta_len(rdb, ctx.lenient_lens)?, load_meta_len(rdb, ctx.lenient_lens)?);
    let entries_read = match rdbtype {
        // Redis keeps the u64 as a long long: SCG_INVALID_ENTRIES_READ (-1) round-trips.
        RDB_TYPE_STREAM_LISTPACKS_2 => load_meta_len(rdb, ctx.lenient_lens)? as i64,
        _ => s.estimate_distance_from_first_ever_entry(last_id),
    };
    let Some(cg) = s.create_cg(&name, last_id, entries_read) else {
        let reason = format!("Duplicated consumer group name {}", String::from_utf8_lossy(&name));
        return Err(corrupt(rdb, reason));
    };
    load_stream_pel(rdb, cg, ctx.lenient_lens)?;
    load_stream_consumers(rdb, cg, ctx.deep)
}

/// The group's global PEL: raw ID, delivery time, delivery count; owners come later.
fn load_stream_pel<R: Read>(rdb: &mut Rio<R>, cg: &mut ConsumerGroup, lenient: bool) -> Result<(), RdbError> {
    let pel_size = rdb_load_len(rdb)?;
    for _ in 0..pel_size {
        let raw: [u8; 16] = read_array(rdb)?;
        let id = stream_decode_id(&raw).unwrap_or_default();
        let delivery_time = rdb_load_millisecond_time(rdb)?;
        let delivery_count = load_meta_len(rdb, lenient)?;
        if cg.pel.contains_key(&id) {
            return Err(corrupt(rdb, "Duplicated global PEL entry loading stream consumer group"));
        }
        cg.pel.insert(id, Nack { delivery_time, delivery_count, consumer: Box::default() });
    }
    Ok(())
}

/// The consumers: name, seen time and the IDs of the group PEL each one owns. As in Redis
/// an ID twice in one consumer's PEL is corruption, while a second consumer claiming an ID
/// takes the NACK over (the first keeps the ID in its PEL: the stream code tolerates that);
/// NACKs nobody claims are corruption only with `deep`.
fn load_stream_consumers<R: Read>(rdb: &mut Rio<R>, cg: &mut ConsumerGroup, deep: bool) -> Result<(), RdbError> {
    let consumers = rdb_load_len(rdb)?;
    let mut owned: HashSet<StreamId> = HashSet::new();
    for _ in 0..consumers {
        let cname = rdb_generic_load_string_object(rdb)?;
        if cg.consumers.contains_key(cname.as_slice()) {
            return Err(corrupt(rdb, "Duplicate stream consumer detected."));
        }
        let seen_time = rdb_load_millisecond_time(rdb)?;
        let mut consumer = Consumer { seen_time, pel: BTreeSet::new() };
        let pel_size = rdb_load_len(rdb)?;
        for _ in 0..pel_size {
            let raw: [u8; 16] = read_array(rdb)?;
            let id = stream_decode_id(&raw).unwrap_or_default();
            let Some(nack) = cg.pel.get_mut(&id) else {
                return Err(corrupt(rdb, "Consumer entry not found in group global PEL"));
            };
            nack.consumer = cname.as_slice().into();
            owned.insert(id);
            if !consumer.pel.insert(id) {
                return Err(corrupt(rdb, "Duplicated consumer PEL entry  loading a stream consumer group"));
            }
        }
        cg.consumers.insert(cname.into(), consumer);
    }
    if deep && owned.len() != cg.pel.len() {
        return Err(corrupt(rdb, "Stream CG PEL entry without consumer"));
    }
    Ok(())
}

/// Redis: lpGetIntegerIfValid(): an integer entry, or a string that parses as one.
fn lp_integer(v: Option<LpValue<'_>>) -> Option<i64> {
    match v? {
        LpValue::Int(i) => Some(i),
        LpValue::Str(s) => util::string2ll(s),
    }
}

/// Redis: t_stream.c streamValidateListpackIntegrity(): the listpack header; with `deep`
/// also the master entry (count, deleted, fields, 0), then count + deleted entries, each
/// with flags, ID deltas, its fields and values and an lp-count that matches, and nothing
/// after them, every entry validated on the way (but, as in Redis, not the header's element
/// count). Negative counts run no loop iteration, as the C `for` loops; a negative count +
/// deleted can never reach zero there, so it fails.
fn stream_validate_listpack_integrity(lp_bytes: &[u8], deep: bool) -> bool {
    listpack::validate_integrity(lp_bytes, false) && (!deep || stream_validate_entries(lp_bytes).is_some())
}

/// The deep part of stream_validate_listpack_integrity().
fn stream_validate_entries(lp: &[u8]) -> Option<()> {
    let mut it = StreamLpWalk { lp, p: listpack::LP_HDR_SIZE };
    let count = lp_integer(it.next())?;
    let deleted = lp_integer(it.next())?;
    let master_fields = lp_integer(it.next())?;
    for _ in 0..master_fields {
        it.next()?;
    }
    if lp_integer(it.next())? != 0 {
        return None;
    }
    let entries = count.checked_add(deleted).filter(|&n| n >= 0)?;
    for _ in 0..entries {
        stream_validate_entry(&mut it, master_fields)?;
    }
    // Redis's final `if (next) return 0`: the walk ends on the EOF byte.
    (it.p + 1 == lp.len()).then_some(())
}

/// The entries of a listpack, head to tail, each validated as it is read (in place).
struct StreamLpWalk<'a> {
    lp: &'a [u8],
    p: usize,
}

impl<'a> Iterator for StreamLpWalk<'a> {
    type Item = LpValue<'a>;

    fn next(&mut self) -> Option<LpValue<'a>> {
        let (value, next) = listpack::validated_entry_at(self.lp, self.p)?;
        self.p = next;
        Some(value)
    }
}

/// One stream entry of streamValidateListpackIntegrity().
fn stream_validate_entry(it: &mut StreamLpWalk<'_>, master_fields: i64) -> Option<()> {
    let flags = lp_integer(it.next())?;
    lp_integer(it.next())?; // ms delta
    lp_integer(it.next())?; // seq delta
    let (fields, extra) = if flags & STREAM_ITEM_FLAG_SAMEFIELDS == 0 {
        let fields = lp_integer(it.next())?;
        for _ in 0..fields {
            it.next()?;
        }
        (fields, 3i64.checked_add(fields)?.checked_add(1)?)
    } else {
        (master_fields, 3)
    };
    for _ in 0..fields {
        it.next()?;
    }
    (lp_integer(it.next())? == fields.checked_add(extra)?).then_some(())
}

// ----------------------------------------------------------------------------------------
// Modules and functions: refused, this server has neither
// ----------------------------------------------------------------------------------------

/// Redis: moduleTypeNameByID(): the 9-character type name in the high 54 bits.
fn module_type_name_by_id(moduleid: u64) -> String {
    let mut id = moduleid >> 10;
    let mut name = [b'A'; 9];
    for slot in name.iter_mut().rev() {
        *slot = MODULE_TYPE_NAME_CHARSET.get((id & 63) as usize).copied().unwrap_or(b'?');
        id >>= 6;
    }
    String::from_utf8_lossy(&name).into_owned()
}

/// RDB_TYPE_MODULE / RDB_TYPE_MODULE_2: no module type can match here.
fn module_value_refusal<R: Read>(rdb: &mut Rio<R>) -> RdbError {
    match rdb_load_len(rdb) {
        Ok(moduleid) => corrupt(
            rdb,
            format!(
                "The RDB file contains module data I can't load: no matching module type '{}'",
                module_type_name_by_id(moduleid)
            ),
        ),
        Err(e) => e,
    }
}

/// RDB_OPCODE_MODULE_AUX: module data outside the keyspace, which no module here can read.
fn module_aux_refusal<R: Read>(rdb: &mut Rio<R>) -> RdbError {
    let header = (|| Ok::<_, RdbError>((rdb_load_len(rdb)?, rdb_load_len(rdb)?, rdb_load_len(rdb)?)))();
    match header {
        Ok((_, when_opcode, _)) if when_opcode != RDB_MODULE_OPCODE_UINT => corrupt(rdb, "bad when_opcode"),
        Ok((moduleid, _, _)) => unsupported(
            rdb,
            format!(
                "The RDB file contains AUX module data I can't load: no matching module '{}'",
                module_type_name_by_id(moduleid)
            ),
        ),
        Err(e) => e,
    }
}

/// RDB_OPCODE_FUNCTION (7.0-rc format) / RDB_OPCODE_FUNCTION2: the library is read, then
/// refused: this server has no function engine.
fn function_refusal<R: Read>(opcode: u8, rdb: &mut Rio<R>) -> RdbError {
    let read = (|| {
        if opcode == RDB_OPCODE_FUNCTION {
            rdb_generic_load_string_object(rdb)?; // name
            rdb_generic_load_string_object(rdb)?; // engine
            if rdb_load_len(rdb)? != 0 {
                rdb_generic_load_string_object(rdb)?; // description
            }
        }
        rdb_generic_load_string_object(rdb)
    })();
    match read {
        Ok(_) => unsupported(rdb, "Failed loading library, functions are not supported by this server"),
        Err(e) => e,
    }
}

// ----------------------------------------------------------------------------------------
// rdbLoadRio: the opcode loop
// ----------------------------------------------------------------------------------------

/// The loader's state between opcodes (Redis: rdbLoadRioWithLoadingCtx()'s locals).
struct LoadState<'a> {
    rdbflags: u32,
    /// Redis: rdbLoadingCtx.dbarray: None fills the server's databases.
    dbarray: Option<&'a mut Vec<RedisDb>>,
    dbid: usize,
    now_ms: i64,
    lru_clock: u32,
    /// Set by the opcodes before a key, for that key only.
    expiretime: i64,
    lfu_freq: i64,
    lru_idle: i64,
    empty_keys_skipped: u64,
    /// Stream offset of the last progress check (rdbLoadProgressCallback).
    last_progress: u64,
    /// key-load-delay < 0: keys loaded since the last 1 µs sleep.
    delay_counter: u64,
}

/// Redis: rdbLoadRio(): a whole RDB stream into the server's databases.
pub fn rdb_load_rio<R: Read>(
    rdb: &mut Rio<R>,
    srv: &mut Server,
    rdbflags: u32,
    rsi: &mut RdbSaveInfo,
) -> Result<(), RdbError> {
    rdb_load_rio_with_loading_ctx(rdb, srv, rdbflags, rsi, None)
}

/// Redis: rdbLoadRioWithLoadingCtx(): as rdb_load_rio, into `dbarray` when given (a
/// replica's swapdb diskless load fills temp databases while clients, served between
/// keys, keep reading the server's).
pub fn rdb_load_rio_with_loading_ctx<R: Read>(
    rdb: &mut Rio<R>,
    srv: &mut Server,
    rdbflags: u32,
    rsi: &mut RdbSaveInfo,
    dbarray: Option<&mut Vec<RedisDb>>,
) -> Result<(), RdbError> {
    rdb.update_cksum = srv.config.rdbchecksum;
    let magic: [u8; 9] = read_array(rdb).map_err(log_eoferr)?;
    let rdbver = rdb_check_header(rdb, &magic)?;
    srv.update_cached_time();
    let mut st = LoadState {
        rdbflags,
        dbarray,
        dbid: 0,
        now_ms: srv.mstime,
        lru_clock: srv.get_lru_clock(),
        expiretime: -1,
        lfu_freq: -1,
        lru_idle: -1,
        empty_keys_skipped: 0,
        last_progress: rdb.processed_bytes,
        delay_counter: 0,
    };
    rdb_load_opcodes(rdb, srv, &mut st, rsi).map_err(log_eoferr)?;
    if rdbver >= 5 {
        rdb_verify_checksum(rdb, srv)?;
    }
    log_done_loading(srv, &st);
    Ok(())
}

/// Redis: rdbLoadRio()'s `eoferr:` label: a stream that ends early (or fails to read).
fn log_eoferr(err: RdbError) -> RdbError {
    if matches!(err, RdbError::ShortRead { .. } | RdbError::Io { .. }) {
        log::warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
    }
    err
}

/// The magic and version checks. Redis sets errno to EINVAL for both, which is how the
/// caller's "Fatal error loading the DB: Invalid argument" line comes about.
fn rdb_check_header<R>(rdb: &Rio<R>, magic: &[u8; 9]) -> Result<u32, RdbError> {
    let invalid = || RdbError::Io { offset: rdb.processed_bytes, err: io::Error::from_raw_os_error(libc::EINVAL) };
    if &magic[..5] != b"REDIS" {
        log::warn!("Wrong signature trying to load DB from file");
        return Err(invalid());
    }
    let rdbver = c_strtoll(&magic[5..]);
    if !(1..=i64::from(RDB_VERSION)).contains(&rdbver) {
        log::warn!("Can't handle RDB format version {}", rdbver as i32);
        return Err(invalid());
    }
    Ok(rdbver as u32)
}

/// Opcodes and keys up to the EOF opcode.
fn rdb_load_opcodes<R: Read>(
    rdb: &mut Rio<R>,
    srv: &mut Server,
    st: &mut LoadState,
    rsi: &mut RdbSaveInfo,
) -> Result<(), RdbError> {
    loop {
        rdb_load_progress(rdb.processed_bytes, srv, st);
        match rdb_load_type(rdb)? {
            RDB_OPCODE_EXPIRETIME => st.expiretime = rdb_load_time(rdb)? * 1000,
            RDB_OPCODE_EXPIRETIME_MS => st.expiretime = rdb_load_millisecond_time(rdb)?,
            RDB_OPCODE_FREQ => st.lfu_freq = i64::from(rdb_load_type(rdb)?),
            // Redis stores the u64 in a long long: absurd values turn negative, i.e. unset.
            RDB_OPCODE_IDLE => st.lru_idle = rdb_load_len(rdb)? as i64,
            RDB_OPCODE_EOF => return Ok(()),
            RDB_OPCODE_SELECTDB => rdb_select_db(rdb, srv, st)?,
            RDB_OPCODE_RESIZEDB => rdb_resize_db(rdb, srv, st)?,
            RDB_OPCODE_AUX => rdb_load_aux_field(rdb, srv, rsi)?,
            RDB_OPCODE_MODULE_AUX => return Err(module_aux_refusal(rdb)),
            op @ (RDB_OPCODE_FUNCTION | RDB_OPCODE_FUNCTION2) => return Err(function_refusal(op, rdb)),
            rdbtype => rdb_load_key_value(rdbtype, rdb, srv, st)?,
        }
    }
}

/// SELECTDB: a db beyond `databases` is fatal (Redis exits).
fn rdb_select_db<R: Read>(rdb: &mut Rio<R>, srv: &Server, st: &mut LoadState) -> Result<(), RdbError> {
    let dbid = rdb_load_len(rdb)?;
    let dbnum = st.dbarray.as_ref().map_or(srv.db.len(), |dbs| dbs.len());
    match usize::try_from(dbid).ok().filter(|&id| id < dbnum) {
        Some(id) => st.dbid = id,
        None => {
            let reason = format!(
                "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                dbnum
            );
            return Err(unsupported(rdb, reason));
        }
    }
    Ok(())
}

/// RESIZEDB: pre-size the db's dicts for the announced keys (bounded: it is only a hint).
fn rdb_resize_db<R: Read>(rdb: &mut Rio<R>, srv: &mut Server, st: &mut LoadState) -> Result<(), RdbError> {
    let db_size = rdb_load_len(rdb)?;
    let expires_size = rdb_load_len(rdb)?;
    let cap = presize_cap(rdb, srv);
    let hint = |n: u64| usize::try_from(n.min(cap)).unwrap_or(usize::MAX);
    let dbid = st.dbid;
    if let Some(db) = target_dbs(srv, st).get_mut(dbid) {
        // Redis's dictExpand(); a failed allocation only loses the hint here.
        let _ = db.dict.try_expand(hint(db_size));
        let _ = db.expires.try_expand(hint(expires_size));
    }
    Ok(())
}

/// C strtoll() in base 10 as Redis applies it to aux values: blanks, a sign, the leading
/// digits (0 when there are none), saturating on overflow.
fn c_strtoll(s: &[u8]) -> i64 {
    let s = match memchr::memchr(0, s) {
        Some(end) => &s[..end],
        None => s,
    };
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for d in digits.iter().take_while(|d| d.is_ascii_digit()) {
        let d = i64::from(d - b'0');
        v = v.saturating_mul(10).saturating_add(if neg { -d } else { d });
    }
    v
}

/// Redis compares aux keys as C strings, case-insensitively.
fn aux_key_is(key: &[u8], name: &str) -> bool {
    let end = memchr::memchr(0, key).unwrap_or(key.len());
    key.get(..end).is_some_and(|k| k.eq_ignore_ascii_case(name.as_bytes()))
}

/// AUX: replication info goes to `rsi`, version / age / memory are logged, unknown
/// fields are ignored (the AUX contract).
fn rdb_load_aux_field<R: Read>(rdb: &mut Rio<R>, srv: &mut Server, rsi: &mut RdbSaveInfo) -> Result<(), RdbError> {
    let key = rdb_generic_load_string_object(rdb)?;
    let val = rdb_generic_load_string_object(rdb)?;
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if key.first() == Some(&b'%') {
        log::info!("RDB '{}': {}", text(&key), text(&val));
    } else if aux_key_is(&key, "repl-stream-db") {
        rsi.repl_stream_db = c_strtoll(&val) as i32;
    } else if aux_key_is(&key, "repl-id") {
        if let Ok(id) = <[u8; CONFIG_RUN_ID_SIZE]>::try_from(val.as_slice()) {
            rsi.repl_id = id;
            rsi.repl_id_is_set = true;
        }
    } else if aux_key_is(&key, "repl-offset") {
        rsi.repl_offset = c_strtoll(&val);
    } else if aux_key_is(&key, "redis-ver") {
        log::info!("Loading RDB produced by version {}", text(&val));
    } else if aux_key_is(&key, "ctime") {
        let age = util::mstime() / 1000 - c_strtoll(&val);
        log::info!("RDB age {} seconds", age.max(0));
    } else if aux_key_is(&key, "used-mem") {
        let usedmem = c_strtoll(&val);
        log::info!("RDB memory usage when created {:.2} Mb", usedmem as f64 / (1024.0 * 1024.0));
        srv.loading_rdb_used_mem = u64::try_from(usedmem).unwrap_or(0);
    } else if aux_key_is(&key, "aof-preamble") {
        if c_strtoll(&val) != 0 {
            log::info!("RDB has an AOF tail");
        }
    } else if aux_key_is(&key, "aof-base") {
        if c_strtoll(&val) != 0 {
            log::info!("RDB is base AOF");
        }
    } else if !aux_key_is(&key, "lua") && !aux_key_is(&key, "redis-bits") {
        log::trace!("Unrecognized RDB AUX field: '{}'", text(&key));
    }
    Ok(())
}

/// A key and its value: skipped when empty, dropped when already expired (on a master not
/// loading an AOF preamble), otherwise added without notifications (Redis: dbAddRDBLoad).
fn rdb_load_key_value<R: Read>(rdbtype: u8, rdb: &mut Rio<R>, srv: &mut Server, st: &mut LoadState) -> Result<(), RdbError> {
    let key = rdb_generic_load_string_object(rdb)?;
    let val = rdb_load_object(rdbtype, rdb, &key, srv)?;
    let (expiretime, lfu_freq, lru_idle) = (st.expiretime, st.lfu_freq, st.lru_idle);
    (st.expiretime, st.lfu_freq, st.lru_idle) = (-1, -1, -1);
    match val {
        None => {
            if st.empty_keys_skipped < EMPTY_KEYS_LOGGED {
                log::warn!("rdbLoadObject skipping empty key: {}", String::from_utf8_lossy(&key));
            }
            st.empty_keys_skipped += 1;
        }
        Some(_) if key_already_expired(srv, st, expiretime) => srv.rdb_last_load_keys_expired += 1,
        Some(mut val) => {
            object_set_lru_or_lfu(&mut val, lfu_freq, lru_idle, st.lru_clock, &AccessClock::of(srv));
            db_add_rdb_load(rdb, srv, st, key, val, expiretime)?;
            srv.rdb_last_load_keys_loaded += 1;
        }
    }
    debug_delay(srv.config.key_load_delay, &mut st.delay_counter);
    Ok(())
}

/// Redis: `iAmMaster() && !(rdbflags & RDBFLAGS_AOF_PREAMBLE) && expiretime < now`:
/// replicas keep such keys (their master sends the DEL).
fn key_already_expired(srv: &Server, st: &LoadState, expiretime: i64) -> bool {
    srv.masterhost.is_none() && st.rdbflags & RDBFLAGS_AOF_PREAMBLE == 0 && expiretime != -1 && expiretime < st.now_ms
}

/// Redis: dbAddRDBLoad() + setExpire(); a key seen twice is fatal unless RDBFLAGS_ALLOW_DUP
/// (DEBUG RELOAD modes), which replaces the first one.
fn db_add_rdb_load<R>(rdb: &Rio<R>, srv: &mut Server, st: &mut LoadState, key: Vec<u8>, val: RObj, expiretime: i64) -> Result<(), RdbError> {
    let (dbid, rdbflags) = (st.dbid, st.rdbflags);
    let Some(db) = target_dbs(srv, st).get_mut(dbid) else { return Err(unsupported(rdb, "No database to load into")) };
    let key: Sds = key.into();
    let expire_key = (expiretime != -1).then(|| key.clone());
    if let Err((key, val)) = db.dict.add(key, val) {
        if rdbflags & RDBFLAGS_ALLOW_DUP == 0 {
            let reason = format!("RDB has duplicated key '{}' in DB {}", String::from_utf8_lossy(&key), dbid);
            return Err(unsupported(rdb, reason));
        }
        db.db_delete(&key);
        let _ = db.dict.add(key, val);
    }
    if let Some(key) = expire_key {
        db.set_expire(&key, expiretime);
    }
    Ok(())
}

/// Redis: rdbLoadingCtx.dbarray: where keys go: the server's databases, or the temp ones
/// the caller passed (see rdb_load_rio_with_loading_ctx).
fn target_dbs<'s>(srv: &'s mut Server, st: &'s mut LoadState<'_>) -> &'s mut Vec<RedisDb> {
    match st.dbarray.as_deref_mut() {
        Some(dbs) => dbs,
        None => &mut srv.db,
    }
}

/// Redis: object.c objectSetLRUOrLFU(): the FREQ (under an LFU policy) or IDLE (LRU) the
/// file recorded for the key; without them the value keeps its creation clock.
fn object_set_lru_or_lfu(val: &mut RObj, lfu_freq: i64, lru_idle: i64, lru_clock: u32, clock: &AccessClock) {
    if clock.lfu {
        if let Ok(freq) = u32::try_from(lfu_freq) {
            let minutes = ((clock.unixtime / 60) & 65535) as u32;
            val.set_lru((minutes << 8) | freq.min(255));
        }
        return;
    }
    if lru_idle < 0 {
        return;
    }
    // Idle seconds at LRU_CLOCK_RESOLUTION 1000 ms: one tick per second.
    let mut lru_abs = i64::from(lru_clock) - lru_idle;
    if lru_abs < 0 {
        // Past the clock's wrap: half-way around, as Redis does.
        lru_abs = (i64::from(lru_clock) + i64::from(LRU_CLOCK_MAX / 2)) % i64::from(LRU_CLOCK_MAX);
    }
    val.set_lru(lru_abs as u32);
}

/// Redis: debug.c debugDelay() for key-load-delay: µs to sleep after each key; negative
/// values sleep 1 µs every -N keys.
fn debug_delay(usec: i32, counter: &mut u64) {
    let sleep = match usec {
        0 => 0,
        n if n > 0 => n.unsigned_abs(),
        n => {
            *counter += 1;
            u32::from(counter.is_multiple_of(u64::from(n.unsigned_abs())))
        }
    };
    if sleep > 0 {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(sleep)));
    }
}

/// After EOF: the stored CRC-64 must match unless it is 0 (saved with rdbchecksum no) or
/// this server does not check (rdbchecksum no).
fn rdb_verify_checksum<R: Read>(rdb: &mut Rio<R>, srv: &Server) -> Result<(), RdbError> {
    let expected = rdb.cksum;
    let stored = u64::from_le_bytes(read_array(rdb).map_err(log_eoferr)?);
    if !srv.config.rdbchecksum {
        return Ok(());
    }
    if stored == 0 {
        log::warn!("RDB file was saved with checksum disabled: no check performed.");
    } else if stored != expected {
        log::warn!("Wrong RDB checksum expected: ({expected:x}) but got ({stored:x}). Aborting now.");
        return Err(RdbError::Checksum { expected, got: stored });
    }
    Ok(())
}

fn log_done_loading(srv: &Server, st: &LoadState) {
    let (loaded, expired) = (srv.rdb_last_load_keys_loaded, srv.rdb_last_load_keys_expired);
    if st.empty_keys_skipped > 0 {
        log::warn!(
            "Done loading RDB, keys loaded: {loaded}, keys expired: {expired}, empty keys skipped: {}.",
            st.empty_keys_skipped
        );
    } else {
        log::info!("Done loading RDB, keys loaded: {loaded}, keys expired: {expired}.");
    }
}

// ----------------------------------------------------------------------------------------
// Loading state and events served while loading
// ----------------------------------------------------------------------------------------

/// Redis: rdb.c rdbLoadProgressCallback(): each time the stream crosses a multiple of
/// loading-process-events-interval-bytes, record the progress and serve the clients.
fn rdb_load_progress(processed: u64, srv: &mut Server, st: &mut LoadState) {
    let interval = u64::try_from(srv.config.loading_process_events_interval_bytes).unwrap_or(0);
    let crossed = interval > 0 && processed / interval > st.last_progress / interval;
    st.last_progress = processed;
    if crossed && srv.loading {
        // Redis: a replica loading its master's payload pings back so it is not timed out.
        crate::replication::replica_diskless_load::replication_send_newline_to_master(srv);
        loading_abs_progress(srv, processed);
        process_events_while_blocked(srv);
    }
}

/// Redis: rdb.c loadingAbsProgress().
fn loading_abs_progress(srv: &mut Server, pos: u64) {
    srv.loading_loaded_bytes = pos;
    srv.stat_peak_memory = srv.stat_peak_memory.max(crate::zmalloc::used_memory());
}

/// Redis: networking.c processEventsWhileBlocked(): up to four non-blocking turns of the
/// file events (reads, accepts), flushing replies after each, while there is work.
pub fn process_events_while_blocked(srv: &mut Server) {
    srv.update_cached_time();
    for _ in 0..4 {
        let mut events = crate::ae::ae_process_events(srv, crate::ae::AE_FILE_EVENTS | crate::ae::AE_DONT_WAIT);
        events += crate::networking::handle_clients_with_pending_writes(srv);
        crate::networking::free_clients_in_async_free_queue(srv);
        if events == 0 {
            break;
        }
    }
}

/// Redis: rdb.c startLoading(): INFO's loading fields start from here.
pub fn start_loading(srv: &mut Server, size: u64, rdbflags: u32) {
    let _ = rdbflags; // Redis fires the module event of this kind of load.
    srv.loading = true;
    srv.loading_start_time = util::mstime() / 1000;
    srv.loading_loaded_bytes = 0;
    srv.loading_total_bytes = size;
    srv.loading_rdb_used_mem = 0;
    srv.rdb_last_load_keys_expired = 0;
    srv.rdb_last_load_keys_loaded = 0;
}

/// Redis: rdb.c stopLoading().
pub fn stop_loading(srv: &mut Server, success: bool) {
    let _ = success; // Redis fires the module event for it.
    srv.loading = false;
}

/// Redis: rdbLoad(): opens `filename`, wraps it in start_loading/stop_loading and loads it.
/// The reason of a failure is logged here (Redis's rdbReportError); the caller decides
/// what follows (start-up exits).
pub fn rdb_load(srv: &mut Server, filename: &str, rsi: &mut RdbSaveInfo, rdbflags: u32) -> Result<(), RdbLoadError> {
    let file = match File::open(filename) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(RdbLoadError::NotExist),
        Err(err) => return Err(RdbLoadError::Failed(RdbError::Io { offset: 0, err })),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    start_loading(srv, size, rdbflags);
    let mut rdb = Rio::new(BufReader::with_capacity(1 << 16, file));
    let result = rdb_load_rio(&mut rdb, srv, rdbflags, rsi);
    stop_loading(srv, result.is_ok());
    result.map_err(|err| {
        log_file_load_error(srv, &err);
        RdbLoadError::Failed(err)
    })
}

/// rdb.c's lines of the two rdbReportError() calls at the end of rdbLoadRio() (7.0.15).
const LINE_CRC_ERROR: u32 = 3217;
const LINE_UNEXPECTED_EOF: u32 = 3241;

/// Where rdb.c's rdbReportError() reports `err`, and the reason it gives: a corrupt or
/// truncated file. None for what Redis reports otherwise (the magic and version checks, I/O
/// errors, refusals like a duplicated key or too many databases).
fn reported_corruption(err: &RdbError) -> Option<(u32, String)> {
    match err {
        RdbError::ShortRead { .. } => Some((LINE_UNEXPECTED_EOF, "Unexpected EOF reading RDB file".into())),
        RdbError::Checksum { .. } => Some((LINE_CRC_ERROR, "RDB CRC error".into())),
        RdbError::Corrupt { reason, .. } => Some((crate::redis_check_rdb::rdb_c_line(reason).unwrap_or(0), reason.clone())),
        RdbError::Unsupported { reason, .. } => crate::redis_check_rdb::rdb_c_line(reason).map(|line| (line, reason.clone())),
        RdbError::Io { .. } => None,
    }
}

/// Redis: rdbReportError() while a file loads: "Internal error in RDB reading offset N,
/// function at rdb.c:LINE -> REASON", N being the progress loading last recorded (Redis's
/// loading_loaded_bytes, 0 below the first 2 MB). Refusals keep their own line; the magic,
/// version and I/O errors were logged where they happened.
fn log_file_load_error(srv: &Server, err: &RdbError) {
    match (reported_corruption(err), err) {
        (Some((line, reason)), _) => log::warn!(
            "Internal error in RDB reading offset {}, function at rdb.c:{line} -> {reason}",
            srv.loading_loaded_bytes
        ),
        (None, RdbError::Unsupported { .. }) => log::warn!("{err}"),
        (None, _) => {}
    }
}

/// Whether a failed load of a file is one Redis answers by checking the file and exiting
/// ([`rdb_check_then_exit`]): a corrupt or truncated file.
pub fn is_reported_corruption(err: &RdbError) -> bool {
    reported_corruption(err).is_some()
}

/// Redis: the end of rdbReportError() for a file being loaded: redis_check_rdb_main() on it,
/// which prints its report on stdout (where the log goes too unless `logfile` is set) and
/// exits with its verdict; it logs "Terminating server after rdb file reading failure."
/// itself when the check meets a corruption.
pub fn rdb_check_then_exit(filename: &str) -> ! {
    let argv = [std::ffi::OsString::new(), std::ffi::OsString::from(filename)];
    let status = crate::redis_check_rdb::redis_check_rdb_main(&argv, &mut io::stdout().lock());
    std::process::exit(status)
}

// ----------------------------------------------------------------------------------------
// Fuzzing
// ----------------------------------------------------------------------------------------

/// Entry point for a cargo-fuzz target: never panics, whatever `data` holds. Bytes that
/// start with "REDIS" load as a whole RDB stream into a fresh server state (16 dbs);
/// anything else is a type byte and a value, loaded with rdb_load_object as RESTORE does.
/// Whatever loads is then digested and saved again ([`fuzz_rdb_load_into`]).
pub fn fuzz_rdb_load(data: &[u8]) {
    let Ok(mut srv) = crate::server::init_server_config(crate::config::ServerConfig::default(), &[]) else { return };
    srv.db = (0..16).map(crate::db::RedisDb::new).collect();
    fuzz_rdb_load_into(&mut srv, data);
}

/// [`fuzz_rdb_load`] into the caller's server (its config decides validation and
/// encodings; a lone value lands in db 0 as "fuzz"), emptied first. Whatever loads is
/// digested, walking every value, then the whole keyspace is saved to memory (rdbSaveRio),
/// which re-reads every value the way SAVE and BGSAVE do. The caller may then run commands
/// over the values.
pub fn fuzz_rdb_load_into(srv: &mut Server, data: &[u8]) {
    for db in srv.db.iter_mut() {
        db.clear();
    }
    let mut rdb = Rio::new(data);
    if data.starts_with(b"REDIS") {
        let _ = rdb_load_rio(&mut rdb, srv, RDBFLAGS_NONE, &mut RdbSaveInfo::default());
    } else if let Ok(t) = rdb_load_object_type(&mut rdb) {
        if let (Ok(Some(val)), Some(_)) = (rdb_load_object(t, &mut rdb, b"fuzz", srv), srv.db.first()) {
            srv.db[0].db_add(b"fuzz", val);
        }
    }
    let mut digest = [0u8; crate::sha1::DIGEST_LEN];
    for db in &srv.db {
        for (key, val) in db.dict.iter() {
            crate::debug::xor_object_digest(db, key, &mut digest, val);
        }
    }
    let mut out = Rio::new(Vec::new());
    let _ = super::save::rdb_save_rio(&mut out, srv, RDBFLAGS_NONE, None);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::{ValueMut, ValueRef};
    use crate::test_support::test_server;

    const MINI: &[u8] = include_bytes!("../../tests/data/rdb/redis-7.0.15-mini.rdb");
    const ALL_TYPES: &[u8] = include_bytes!("../../tests/data/rdb/redis-7.0.15-all-types.rdb");
    const REPL_SYNC: &[u8] = include_bytes!("../../tests/data/rdb/redis-7.0.15-repl-sync.rdb");

    // --- byte builders (Redis's rdbSave* forms) ---

    fn len(n: u64) -> Vec<u8> {
        match n {
            0..=63 => vec![n as u8],
            64..=16383 => vec![0x40 | (n >> 8) as u8, n as u8],
            16384..=0xFFFF_FFFF => [&[0x80][..], &(n as u32).to_be_bytes()].concat(),
            _ => [&[0x81][..], &n.to_be_bytes()].concat(),
        }
    }

    fn s(bytes: &[u8]) -> Vec<u8> {
        [len(bytes.len() as u64), bytes.to_vec()].concat()
    }

    /// "REDIS0010" + body + EOF + CRC-64.
    fn file(body: &[u8]) -> Vec<u8> {
        let mut out = b"REDIS0010".to_vec();
        out.extend_from_slice(body);
        out.push(RDB_OPCODE_EOF);
        let crc = crate::crc64::crc64(0, &out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    fn listpack(items: &[&[u8]]) -> Vec<u8> {
        let mut lp = Listpack::new();
        for item in items {
            lp.append(item).unwrap();
        }
        lp.as_bytes().to_vec()
    }

    /// A ziplist of strings (each under 64 bytes) and small immediates.
    fn ziplist(items: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let (mut prev, mut tail) = (0usize, 10usize);
        for item in items {
            tail = 10 + body.len();
            let start = body.len();
            body.push(prev as u8);
            match util::string2ll(item).filter(|v| (0..=12).contains(v)) {
                Some(v) => body.push(0xF1 + v as u8),
                None => {
                    body.push(item.len() as u8);
                    body.extend_from_slice(item);
                }
            }
            prev = body.len() - start;
        }
        let total = 10 + body.len() + 1;
        let mut zl = (total as u32).to_le_bytes().to_vec();
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(items.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(0xFF);
        zl
    }

    fn load(t: u8, payload: &[u8], srv: &Server) -> Result<Option<RObj>, RdbError> {
        let mut rdb = Rio::new(payload);
        let out = rdb_load_object(t, &mut rdb, b"k", srv);
        if out.is_ok() {
            assert_eq!(rdb.processed_bytes, payload.len() as u64, "payload fully consumed");
        }
        out
    }

    fn must(t: u8, payload: &[u8], srv: &Server) -> RObj {
        load(t, payload, srv).expect("loads").expect("not empty")
    }

    fn reason(err: RdbError) -> String {
        match err {
            RdbError::Corrupt { reason, .. } | RdbError::Unsupported { reason, .. } => reason,
            other => format!("{other:?}"),
        }
    }

    fn list_items(o: &RObj) -> Vec<Vec<u8>> {
        let ValueRef::List(l) = o.value() else { panic!("not a list") };
        l.iter().map(|v| v.to_vec()).collect()
    }

    fn hash_pairs(o: &RObj) -> Vec<(Vec<u8>, Vec<u8>)> {
        let ValueRef::Hash(h) = o.value() else { panic!("not a hash") };
        let mut pairs: Vec<_> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        pairs.sort();
        pairs
    }

    fn set_members(o: &RObj) -> Vec<Vec<u8>> {
        let ValueRef::Set(set) = o.value() else { panic!("not a set") };
        let mut m: Vec<_> = set.iter().map(|m| m.to_vec()).collect();
        m.sort();
        m
    }

    fn zset_pairs(o: &RObj) -> Vec<(Vec<u8>, f64)> {
        let ValueRef::ZSet(z) = o.value() else { panic!("not a zset") };
        z.to_pairs()
    }

    fn pairs(items: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
        items.iter().map(|(a, b)| (a.as_bytes().to_vec(), b.as_bytes().to_vec())).collect()
    }

    // --- primitives ---

    #[test]
    fn every_length_form_loads() {
        let cases: &[(&[u8], RdbLen)] = &[
            (&[0x00], RdbLen::Len(0)),
            (&[0x3F], RdbLen::Len(63)),
            (&[0x40, 0x40], RdbLen::Len(64)),
            (&[0x7F, 0xFF], RdbLen::Len(16383)),
            (&[0x80, 0x00, 0x00, 0x40, 0x00], RdbLen::Len(16384)),
            (&[0x80, 0xFF, 0xFF, 0xFF, 0xFF], RdbLen::Len(u32::MAX as u64)),
            (&[0x81, 0, 0, 0, 1, 0, 0, 0, 0], RdbLen::Len(1 << 32)),
            (&[0x81, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], RdbLen::Len(u64::MAX)),
            (&[0xC0], RdbLen::Encoded(RDB_ENC_INT8)),
            (&[0xC3], RdbLen::Encoded(RDB_ENC_LZF)),
        ];
        for (bytes, want) in cases {
            let mut rdb = Rio::new(*bytes);
            assert_eq!(rdb_load_len_by_ref(&mut rdb).unwrap(), *want, "{bytes:02x?}");
            assert_eq!(rdb.processed_bytes, bytes.len() as u64);
        }
        for n in [0u64, 1, 63, 64, 16383, 16384, 1 << 31, u32::MAX as u64 + 1] {
            assert_eq!(rdb_load_len(&mut Rio::new(&len(n)[..])).unwrap(), n);
        }
        // A special-encoding byte where a plain length is expected reads as its 6 bits.
        assert_eq!(rdb_load_len(&mut Rio::new(&[0xC2u8][..])).unwrap(), 2);
    }

    #[test]
    fn invalid_and_truncated_lengths_are_errors() {
        let err = rdb_load_len(&mut Rio::new(&[0x82u8][..])).unwrap_err();
        assert!(matches!(&err, RdbError::Corrupt { offset: 1, reason } if reason.contains("Unknown length encoding 2")), "{err:?}");
        assert!(matches!(rdb_load_len(&mut Rio::new(&[0x40u8][..])), Err(RdbError::ShortRead { .. })));
        assert!(matches!(rdb_load_len(&mut Rio::new(&[0x80u8, 0, 0][..])), Err(RdbError::ShortRead { .. })));
        assert!(matches!(rdb_load_len(&mut Rio::new(&[][..])), Err(RdbError::ShortRead { offset: 0 })));
    }

    #[test]
    fn integer_encoded_strings_load_as_decimal_text() {
        let cases: &[(&[u8], &[u8])] = &[
            (&[0xC0, 0x9C], b"-100"),
            (&[0xC0, 0x7F], b"127"),
            (&[0xC1, 0x39, 0x30], b"12345"),
            (&[0xC1, 0x00, 0x80], b"-32768"),
            (&[0xC2, 0xFF, 0xFF, 0xFF, 0x7F], b"2147483647"),
            (&[0xC2, 0x00, 0x00, 0x00, 0x80], b"-2147483648"),
            (&[0x05, b'h', b'e', b'l', b'l', b'o'], b"hello"),
            (&[0x00], b""),
        ];
        for (bytes, want) in cases {
            assert_eq!(rdb_generic_load_string_object(&mut Rio::new(*bytes)).unwrap(), want.to_vec());
        }
        let err = rdb_generic_load_string_object(&mut Rio::new(&[0xC4u8][..])).unwrap_err();
        assert!(reason(err).contains("Unknown RDB string encoding type 4"));
        assert!(matches!(rdb_generic_load_string_object(&mut Rio::new(&[0xC1u8, 0x01][..])), Err(RdbError::ShortRead { .. })));
    }

    /// The interop facts' `str:lzf` example: 26 bytes for 60 a's, "bcdefghij", 31 a's.
    #[test]
    fn lzf_strings_decompress() {
        let bytes: &[u8] = &[
            0xc3, 0x16, 0x40, 0x64, 0x01, 0x61, 0x61, 0xe0, 0x31, 0x00, 0x08, b'b', b'c', b'd', b'e', b'f', b'g', b'h',
            b'i', b'j', 0xe0, 0x14, 0x42, 0x01, 0x61, 0x61,
        ];
        let want = [vec![b'a'; 60], b"bcdefghij".to_vec(), vec![b'a'; 31]].concat();
        let mut rdb = Rio::new(bytes);
        assert_eq!(rdb_generic_load_string_object(&mut rdb).unwrap(), want);
        assert_eq!(rdb.processed_bytes, 26);
        // A declared length that disagrees with the data is corruption.
        let mut wrong = bytes.to_vec();
        wrong[3] = 0x65;
        let err = rdb_generic_load_string_object(&mut Rio::new(&wrong[..])).unwrap_err();
        assert_eq!(reason(err), "Invalid LZF compressed string");
        // Huge declared lengths with little data: a short read, not a huge allocation.
        let huge = [0xc3, 0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 1, 2];
        assert!(matches!(rdb_generic_load_string_object(&mut Rio::new(&huge[..])), Err(RdbError::ShortRead { .. })));
        let huge_out = [0xc3, 0x02, 0x81, 0x7F, 0, 0, 0, 0, 0, 0, 0, 0x00, b'a'];
        assert!(rdb_generic_load_string_object(&mut Rio::new(&huge_out[..])).is_err());
    }

    #[test]
    fn raw_string_longer_than_the_stream_is_a_short_read() {
        let bytes = [0x81, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, b'x'];
        assert!(matches!(rdb_generic_load_string_object(&mut Rio::new(&bytes[..])), Err(RdbError::ShortRead { offset: 9 })));
    }

    #[test]
    fn text_and_binary_doubles_load() {
        let load_text = |b: &[u8]| rdb_load_double_value(&mut Rio::new(b));
        assert_eq!(load_text(&[255]).unwrap(), f64::NEG_INFINITY);
        assert_eq!(load_text(&[254]).unwrap(), f64::INFINITY);
        assert!(load_text(&[253]).unwrap().is_nan());
        assert_eq!(load_text(b"\x031.5").unwrap(), 1.5);
        assert_eq!(load_text(b"\x04-0.1").unwrap(), -0.1);
        assert_eq!(load_text(b"\x0817.25abc").unwrap(), 17.25, "sscanf stops at the first bad char");
        assert_eq!(load_text(b"\x05 1e10").unwrap(), 1e10);
        assert_eq!(load_text(b"\x163.141592653589793e+100").unwrap(), 3.141592653589793e+100);
        assert!(load_text(b"\x03abc").is_err());
        assert!(load_text(b"\x00").is_err());
        assert!(matches!(load_text(b"\x05ab"), Err(RdbError::ShortRead { .. })));
        let bin = |v: f64| rdb_load_binary_double_value(&mut Rio::new(&v.to_le_bytes()[..])).unwrap();
        assert_eq!(bin(2.5), 2.5);
        assert_eq!(bin(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(rdb_load_binary_double_value(&mut Rio::new(&[0u8; 7][..])).is_err());
    }

    #[test]
    fn times_load_little_endian() {
        assert_eq!(rdb_load_time(&mut Rio::new(&[0x10u8, 0, 0, 0][..])).unwrap(), 16);
        assert_eq!(rdb_load_time(&mut Rio::new(&[0xFFu8, 0xFF, 0xFF, 0xFF][..])).unwrap(), -1);
        let ms = 4102444800000i64.to_le_bytes();
        assert_eq!(rdb_load_millisecond_time(&mut Rio::new(&ms[..])).unwrap(), 4102444800000);
    }

    #[test]
    fn object_types_are_checked() {
        for t in [0u8, 7, 9, 19] {
            assert_eq!(rdb_load_object_type(&mut Rio::new(&[t][..])).unwrap(), t);
        }
        for t in [8u8, 20, 244, 255] {
            assert!(rdb_load_object_type(&mut Rio::new(&[t][..])).is_err(), "{t}");
        }
    }

    // --- values ---

    #[test]
    fn strings_get_redis_encodings() {
        let srv = test_server();
        let o = must(RDB_TYPE_STRING, &[0xC0, 0x2A], &srv);
        assert_eq!(o.encoding_name(), "int");
        assert_eq!(o.as_str().unwrap().to_vec(), b"42");
        assert_eq!(must(RDB_TYPE_STRING, &s(b"hello"), &srv).encoding_name(), "embstr");
        assert_eq!(must(RDB_TYPE_STRING, &s(&[b'x'; 45]), &srv).encoding_name(), "raw");
        assert_eq!(must(RDB_TYPE_STRING, &s(b"9223372036854775807"), &srv).encoding_name(), "int");
        assert_eq!(must(RDB_TYPE_STRING, &s(b""), &srv).encoding_name(), "embstr");
    }

    #[test]
    fn linked_list_becomes_a_quicklist() {
        let srv = test_server();
        let payload = [len(3), s(b"a"), vec![0xC0, 0x01], s(b"ccc")].concat();
        let o = must(RDB_TYPE_LIST, &payload, &srv);
        assert_eq!(o.encoding_name(), "quicklist");
        assert_eq!(list_items(&o), vec![b"a".to_vec(), b"1".to_vec(), b"ccc".to_vec()]);
        assert!(load(RDB_TYPE_LIST, &len(0), &srv).unwrap().is_none(), "empty list skipped");
    }

    #[test]
    fn hashtable_set_becomes_intset_or_hashtable() {
        let mut srv = test_server();
        let ints = [len(3), s(b"3"), s(b"-1"), vec![0xC0, 0x02]].concat();
        let o = must(RDB_TYPE_SET, &ints, &srv);
        assert_eq!(o.encoding_name(), "intset");
        assert_eq!(set_members(&o), vec![b"-1".to_vec(), b"2".to_vec(), b"3".to_vec()]);
        let mixed = [len(2), s(b"1"), s(b"x")].concat();
        let o = must(RDB_TYPE_SET, &mixed, &srv);
        assert_eq!(o.encoding_name(), "hashtable");
        assert_eq!(set_members(&o), vec![b"1".to_vec(), b"x".to_vec()]);
        srv.config.set_max_intset_entries = 2;
        assert_eq!(must(RDB_TYPE_SET, &ints, &srv).encoding_name(), "hashtable");
        for dup in [[len(2), s(b"7"), s(b"7")].concat(), [len(3), s(b"a"), s(b"b"), s(b"a")].concat()] {
            assert_eq!(reason(load(RDB_TYPE_SET, &dup, &srv).unwrap_err()), "Duplicate set members detected");
        }
        assert!(load(RDB_TYPE_SET, &len(0), &srv).unwrap().is_none());
    }

    #[test]
    fn zsets_with_text_and_binary_scores() {
        let mut srv = test_server();
        let text = [len(2), s(b"a"), b"\x031.5".to_vec(), s(b"b"), vec![255]].concat();
        let o = must(RDB_TYPE_ZSET, &text, &srv);
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(zset_pairs(&o), vec![(b"b".to_vec(), f64::NEG_INFINITY), (b"a".to_vec(), 1.5)]);
        let bin = [len(2), s(b"x"), 2.0f64.to_le_bytes().to_vec(), s(b"y"), 1.0f64.to_le_bytes().to_vec()].concat();
        assert_eq!(zset_pairs(&must(RDB_TYPE_ZSET_2, &bin, &srv)), vec![(b"y".to_vec(), 1.0), (b"x".to_vec(), 2.0)]);
        srv.config.zset_max_listpack_entries = 1;
        assert_eq!(must(RDB_TYPE_ZSET_2, &bin, &srv).encoding_name(), "skiplist");
        srv.config.zset_max_listpack_entries = 128;
        srv.config.zset_max_listpack_value = 0;
        assert_eq!(must(RDB_TYPE_ZSET_2, &bin, &srv).encoding_name(), "skiplist");
        let nan = [len(1), s(b"a"), vec![253]].concat();
        assert_eq!(reason(load(RDB_TYPE_ZSET, &nan, &srv).unwrap_err()), "Zset with NAN score detected");
        let dup = [len(2), s(b"a"), 1.0f64.to_le_bytes().to_vec(), s(b"a"), 2.0f64.to_le_bytes().to_vec()].concat();
        assert_eq!(reason(load(RDB_TYPE_ZSET_2, &dup, &srv).unwrap_err()), "Duplicate zset fields detected");
        assert!(load(RDB_TYPE_ZSET_2, &len(0), &srv).unwrap().is_none());
    }

    /// Redis 7.0's rdbLoadObject() rules: yes always walks, no never, clients only for a
    /// RESTORE (not while loading a file).
    #[test]
    fn deep_validation_follows_sanitize_dump_payload() {
        let mut srv = test_server();
        assert!(!deep_integrity_validation(&srv), "the default is no");
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        srv.loading = true;
        assert!(deep_integrity_validation(&srv));
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Clients;
        assert!(!deep_integrity_validation(&srv), "clients: not while loading a file");
        srv.loading = false;
        assert!(deep_integrity_validation(&srv), "clients: a client's RESTORE");
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::No;
        assert!(!deep_integrity_validation(&srv));
    }

    #[test]
    fn hashtable_hash_becomes_listpack_or_dict() {
        let mut srv = test_server();
        let small = [len(2), s(b"f1"), s(b"v1"), s(b"f2"), vec![0xC0, 0x7B]].concat();
        let o = must(RDB_TYPE_HASH, &small, &srv);
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(hash_pairs(&o), pairs(&[("f1", "v1"), ("f2", "123")]));
        let long = [len(2), s(b"f1"), s(b"v1"), s(b"f2"), s(&[b'v'; 65])].concat();
        let o = must(RDB_TYPE_HASH, &long, &srv);
        assert_eq!(o.encoding_name(), "hashtable");
        assert_eq!(hash_pairs(&o).len(), 2);
        srv.config.hash_max_listpack_entries = 1;
        let o = must(RDB_TYPE_HASH, &small, &srv);
        assert_eq!(o.encoding_name(), "hashtable");
        assert_eq!(hash_pairs(&o), pairs(&[("f1", "v1"), ("f2", "123")]));
        srv.config.hash_max_listpack_entries = 512;
        let dup = [len(2), s(b"f"), s(b"1"), s(b"f"), s(b"2")].concat();
        // Redis looks for repeated fields of a listpack-bound hash only when sanitizing.
        assert_eq!(hash_pairs(&must(RDB_TYPE_HASH, &dup, &srv)), pairs(&[("f", "1"), ("f", "2")]));
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        assert_eq!(reason(load(RDB_TYPE_HASH, &dup, &srv).unwrap_err()), "Hash with dup elements");
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::No;
        srv.config.hash_max_listpack_entries = 0;
        assert_eq!(reason(load(RDB_TYPE_HASH, &dup, &srv).unwrap_err()), "Duplicate hash fields detected");
        assert!(load(RDB_TYPE_HASH, &len(0), &srv).unwrap().is_none());
    }

    /// The interop facts' zipmap: foo => bar, hello => world.
    #[test]
    fn zipmap_hash_converts() {
        let mut srv = test_server();
        let zm = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";
        let o = must(RDB_TYPE_HASH_ZIPMAP, &s(zm), &srv);
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(hash_pairs(&o), pairs(&[("foo", "bar"), ("hello", "world")]));
        srv.config.hash_max_listpack_value = 3;
        assert_eq!(must(RDB_TYPE_HASH_ZIPMAP, &s(zm), &srv).encoding_name(), "hashtable");
        let dup = b"\x02\x03foo\x03\x00bar\x03foo\x05\x00world\xff";
        assert!(reason(load(RDB_TYPE_HASH_ZIPMAP, &s(dup), &srv).unwrap_err()).starts_with("Hash zipmap with dup elements"));
        let bad = b"\x02\x03foo\x03\x09bar\xff";
        assert_eq!(reason(load(RDB_TYPE_HASH_ZIPMAP, &s(bad), &srv).unwrap_err()), "Zipmap integrity check failed.");
    }

    #[test]
    fn ziplist_list_converts() {
        let srv = test_server();
        let zl = ziplist(&[b"a", b"1", b"hello"]);
        let o = must(RDB_TYPE_LIST_ZIPLIST, &s(&zl), &srv);
        assert_eq!(o.encoding_name(), "quicklist");
        assert_eq!(list_items(&o), vec![b"a".to_vec(), b"1".to_vec(), b"hello".to_vec()]);
        assert!(load(RDB_TYPE_LIST_ZIPLIST, &s(&ziplist(&[])), &srv).unwrap().is_none());
        let mut bad = zl.clone();
        bad[8] = 9;
        assert_eq!(reason(load(RDB_TYPE_LIST_ZIPLIST, &s(&bad), &srv).unwrap_err()), "List ziplist integrity check failed.");
    }

    /// The mini fixture's intset {7, -2}: encoding 2, two members.
    #[test]
    fn intset_blob_loads_and_converts() {
        let mut srv = test_server();
        let blob = [0x02, 0, 0, 0, 0x02, 0, 0, 0, 0xFE, 0xFF, 0x07, 0x00];
        let o = must(RDB_TYPE_SET_INTSET, &s(&blob), &srv);
        assert_eq!(o.encoding_name(), "intset");
        assert_eq!(set_members(&o), vec![b"-2".to_vec(), b"7".to_vec()]);
        srv.config.set_max_intset_entries = 1;
        assert_eq!(must(RDB_TYPE_SET_INTSET, &s(&blob), &srv).encoding_name(), "hashtable");
        let unordered = [0x02, 0, 0, 0, 0x02, 0, 0, 0, 0x07, 0x00, 0xFE, 0xFF];
        // The order is checked only when sanitizing; a size that disagrees always.
        srv.config.set_max_intset_entries = 512;
        assert_eq!(set_members(&must(RDB_TYPE_SET_INTSET, &s(&unordered), &srv)), vec![b"-2".to_vec(), b"7".to_vec()]);
        assert!(load(RDB_TYPE_SET_INTSET, &s(&blob[..10]), &srv).is_err());
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        let err = load(RDB_TYPE_SET_INTSET, &s(&unordered), &srv).unwrap_err();
        assert_eq!(reason(err), "Intset integrity check failed.");
    }

    #[test]
    fn ziplist_zset_converts() {
        let mut srv = test_server();
        let zl = ziplist(&[b"m", b"1.5", b"n", b"2"]);
        let o = must(RDB_TYPE_ZSET_ZIPLIST, &s(&zl), &srv);
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(zset_pairs(&o), vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), 2.0)]);
        srv.config.zset_max_listpack_entries = 1;
        assert_eq!(must(RDB_TYPE_ZSET_ZIPLIST, &s(&zl), &srv).encoding_name(), "skiplist");
        let dup = ziplist(&[b"m", b"1", b"m", b"2"]);
        assert_eq!(reason(load(RDB_TYPE_ZSET_ZIPLIST, &s(&dup), &srv).unwrap_err()), "Zset ziplist integrity check failed.");
        let odd = ziplist(&[b"m", b"1", b"n"]);
        assert!(load(RDB_TYPE_ZSET_ZIPLIST, &s(&odd), &srv).is_err());
        assert!(load(RDB_TYPE_ZSET_ZIPLIST, &s(&ziplist(&[])), &srv).unwrap().is_none());
    }

    #[test]
    fn ziplist_hash_converts() {
        let mut srv = test_server();
        let zl = ziplist(&[b"f", b"v", b"n", b"7"]);
        let o = must(RDB_TYPE_HASH_ZIPLIST, &s(&zl), &srv);
        assert_eq!(o.encoding_name(), "listpack");
        assert_eq!(hash_pairs(&o), pairs(&[("f", "v"), ("n", "7")]));
        srv.config.hash_max_listpack_entries = 1;
        assert_eq!(must(RDB_TYPE_HASH_ZIPLIST, &s(&zl), &srv).encoding_name(), "hashtable");
        let dup = ziplist(&[b"f", b"v", b"f", b"w"]);
        assert_eq!(reason(load(RDB_TYPE_HASH_ZIPLIST, &s(&dup), &srv).unwrap_err()), "Hash ziplist integrity check failed.");
        assert!(load(RDB_TYPE_HASH_ZIPLIST, &s(&ziplist(&[])), &srv).unwrap().is_none());
    }

    #[test]
    fn quicklist_of_ziplists_converts() {
        let srv = test_server();
        let payload = [len(3), s(&ziplist(&[b"a", b"b"])), s(&ziplist(&[])), s(&ziplist(&[b"3"]))].concat();
        let o = must(RDB_TYPE_LIST_QUICKLIST, &payload, &srv);
        assert_eq!(list_items(&o), vec![b"a".to_vec(), b"b".to_vec(), b"3".to_vec()]);
        let ValueRef::List(l) = o.value() else { unreachable!() };
        assert_eq!(l.quicklist().node_count(), 2, "the empty ziplist node is skipped");
        let only_empty = [len(1), s(&ziplist(&[]))].concat();
        assert!(load(RDB_TYPE_LIST_QUICKLIST, &only_empty, &srv).unwrap().is_none());
        let bad = [len(1), s(b"\x01\x02\x03")].concat();
        assert_eq!(reason(load(RDB_TYPE_LIST_QUICKLIST, &bad, &srv).unwrap_err()), "Ziplist integrity check failed.");
    }

    #[test]
    fn quicklist_2_packed_and_plain_nodes() {
        let mut srv = test_server();
        let packed = listpack(&[b"a", b"1"]);
        let payload = [len(2), len(2), s(&packed), len(1), s(b"plain element")].concat();
        let o = must(RDB_TYPE_LIST_QUICKLIST_2, &payload, &srv);
        assert_eq!(list_items(&o), vec![b"a".to_vec(), b"1".to_vec(), b"plain element".to_vec()]);
        let bad_container = [len(1), len(3), s(&packed)].concat();
        assert_eq!(reason(load(RDB_TYPE_LIST_QUICKLIST_2, &bad_container, &srv).unwrap_err()), "Quicklist integrity check failed.");
        let mut bad_lp = packed.clone();
        bad_lp[4] = 3;
        let bad = [len(1), len(2), s(&bad_lp)].concat();
        // Without sanitization only the header is checked: the node counts 3 elements
        // (Redis's LLEN says 3 too); a walk meets the 2 there are, and the third reads as
        // an empty string, so that LRANGE sends as many elements as it announces.
        let o = must(RDB_TYPE_LIST_QUICKLIST_2, &bad, &srv);
        let ValueRef::List(l) = o.value() else { unreachable!() };
        assert_eq!(l.quicklist().len(), 3);
        assert_eq!(list_items(&o), vec![b"a".to_vec(), b"1".to_vec(), b"".to_vec()]);
        let mut truncated = packed.clone();
        truncated[0] = 9;
        let bad_header = [len(1), len(2), s(&truncated)].concat();
        assert_eq!(reason(load(RDB_TYPE_LIST_QUICKLIST_2, &bad_header, &srv).unwrap_err()), "Listpack integrity check failed.");
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        assert_eq!(reason(load(RDB_TYPE_LIST_QUICKLIST_2, &bad, &srv).unwrap_err()), "Listpack integrity check failed.");
        let empty_node = [len(1), len(2), s(&listpack(&[]))].concat();
        assert!(load(RDB_TYPE_LIST_QUICKLIST_2, &empty_node, &srv).unwrap().is_none());
        let empty_string = [len(1), len(2), s(b"")].concat();
        assert!(load(RDB_TYPE_LIST_QUICKLIST_2, &empty_string, &srv).is_err());
    }

    #[test]
    fn listpack_hash_and_zset_validate_and_convert() {
        let mut srv = test_server();
        let h = listpack(&[b"f1", b"v1", b"f2", b"v2"]);
        assert_eq!(hash_pairs(&must(RDB_TYPE_HASH_LISTPACK, &s(&h), &srv)), pairs(&[("f1", "v1"), ("f2", "v2")]));
        let dup = listpack(&[b"f1", b"v1", b"f1", b"v2"]);
        let odd = listpack(&[b"f1", b"v1", b"f2"]);
        // Pairs and repeated fields are looked at only when sanitizing.
        assert_eq!(hash_pairs(&must(RDB_TYPE_HASH_LISTPACK, &s(&dup), &srv)), pairs(&[("f1", "v1"), ("f1", "v2")]));
        assert_eq!(hash_pairs(&must(RDB_TYPE_HASH_LISTPACK, &s(&odd), &srv)), pairs(&[("f1", "v1")]));
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        assert_eq!(reason(load(RDB_TYPE_HASH_LISTPACK, &s(&dup), &srv).unwrap_err()), "Hash listpack integrity check failed.");
        assert!(load(RDB_TYPE_HASH_LISTPACK, &s(&odd), &srv).is_err());
        assert!(load(RDB_TYPE_HASH_LISTPACK, &s(&listpack(&[])), &srv).unwrap().is_none());
        srv.config.hash_max_listpack_entries = 1;
        let o = must(RDB_TYPE_HASH_LISTPACK, &s(&h), &srv);
        assert_eq!(o.encoding_name(), "hashtable", "more entries than hash-max-listpack-entries");
        let z = listpack(&[b"a", b"1", b"b", b"2.5"]);
        assert_eq!(zset_pairs(&must(RDB_TYPE_ZSET_LISTPACK, &s(&z), &srv)), vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)]);
        srv.config.zset_max_listpack_entries = 1;
        assert_eq!(must(RDB_TYPE_ZSET_LISTPACK, &s(&z), &srv).encoding_name(), "skiplist");
        let zdup = listpack(&[b"a", b"1", b"a", b"2"]);
        assert_eq!(reason(load(RDB_TYPE_ZSET_LISTPACK, &s(&zdup), &srv).unwrap_err()), "Zset listpack integrity check failed.");
        // Scores are never checked: they read as strtod reads them.
        let text_scores = listpack(&[b"a", b"1.5x", b"b", b"junk"]);
        srv.config.zset_max_listpack_entries = 128;
        assert_eq!(zset_pairs(&must(RDB_TYPE_ZSET_LISTPACK, &s(&text_scores), &srv)), vec![(b"a".to_vec(), 1.5), (b"b".to_vec(), 0.0)]);
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::No;
        assert_eq!(zset_pairs(&must(RDB_TYPE_ZSET_LISTPACK, &s(&zdup), &srv)).len(), 2);
        assert!(load(RDB_TYPE_ZSET_LISTPACK, &s(&listpack(&[])), &srv).unwrap().is_none());
    }

    /// Fuzz find (restore_payload): a zset listpack with an odd count, accepted by the
    /// shallow checks, had ZRANK place its dangling last member past ZCARD (a usize
    /// underflow). The dangling entry is dropped on load.
    #[test]
    fn shallow_pair_listpacks_lose_a_dangling_entry() {
        let srv = test_server();
        let odd = listpack(&[b"a", b"1", b"c"]);
        let mut o = must(RDB_TYPE_ZSET_LISTPACK, &s(&odd), &srv);
        assert_eq!(zset_pairs(&o), vec![(b"a".to_vec(), 1.0)]);
        let ValueMut::ZSet(z) = o.value_mut() else { panic!("not a zset") };
        assert_eq!(z.len(), 1);
        assert_eq!(z.rank(b"c", false), None);
        assert_eq!(z.rank(b"a", true), Some(0));
        let odd = listpack(&[b"f", b"v", b"g"]);
        assert_eq!(hash_pairs(&must(RDB_TYPE_HASH_LISTPACK, &s(&odd), &srv)), pairs(&[("f", "v")]));
    }

    /// The mini fixture's stream value (type 19): one node, entry 1-1 {k: v}, no groups.
    fn mini_stream_v2() -> Vec<u8> {
        MINI[0xc2..0xfb].to_vec()
    }

    fn stream_of(o: &RObj) -> &Stream {
        let ValueRef::Stream(st) = o.value() else { panic!("not a stream") };
        st
    }

    #[test]
    fn streams_v2_and_v1_load() {
        let srv = test_server();
        let o = must(RDB_TYPE_STREAM_LISTPACKS_2, &mini_stream_v2(), &srv);
        let st = stream_of(&o);
        assert_eq!((st.length, st.last_id, st.first_id, st.entries_added), (1, StreamId::new(1, 1), StreamId::new(1, 1), 1));
        let entries: Vec<_> = st.iter(None, None, false).map(|e| e.id).collect();
        assert_eq!(entries, vec![StreamId::new(1, 1)]);
        // v1: no first ID, max deleted ID or entries added; groups follow the last ID.
        let v1 = [&MINI[0xc2..0xf5], &[0x00][..]].concat();
        let o = must(RDB_TYPE_STREAM_LISTPACKS, &v1, &srv);
        let st = stream_of(&o);
        assert_eq!((st.length, st.first_id, st.max_deleted_entry_id, st.entries_added), (1, StreamId::new(1, 1), StreamId::MIN, 1));
    }

    /// The mini stream with one group "g" (last 1-1, read 1) and `tail` (PEL + consumers).
    fn stream_with_group(tail: &[u8]) -> Vec<u8> {
        let mut v = mini_stream_v2();
        *v.last_mut().unwrap() = 1; // one consumer group
        v.extend_from_slice(&s(b"g"));
        v.extend_from_slice(&[1, 1, 1]);
        v.extend_from_slice(tail);
        v
    }

    fn raw_id(ms: u64, seq: u64) -> Vec<u8> {
        StreamId::new(ms, seq).encode().to_vec()
    }

    #[test]
    fn stream_groups_pel_and_consumers_load() {
        let mut srv = test_server();
        let pel = [len(1), raw_id(1, 1), 1234i64.to_le_bytes().to_vec(), len(2)].concat();
        let consumer = [len(1), s(b"c"), 99i64.to_le_bytes().to_vec(), len(1), raw_id(1, 1)].concat();
        let o = must(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&[pel.clone(), consumer].concat()), &srv);
        let cg = stream_of(&o).lookup_cg(b"g").expect("group");
        assert_eq!((cg.last_id, cg.entries_read), (StreamId::new(1, 1), 1));
        let nack = cg.pel.get(&StreamId::new(1, 1)).expect("pending");
        assert_eq!((nack.delivery_time, nack.delivery_count, &nack.consumer[..]), (1234, 2, &b"c"[..]));
        assert_eq!(cg.consumers.get(&b"c"[..]).map(|c| c.seen_time), Some(99));
        // A pending entry nobody owns is corruption only when sanitizing.
        let orphan = [pel.clone(), len(0)].concat();
        let o = must(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&orphan), &srv);
        assert_eq!(stream_of(&o).lookup_cg(b"g").map(|cg| cg.pel.len()), Some(1));
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        let err = load(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&orphan), &srv).unwrap_err();
        assert_eq!(reason(err), "Stream CG PEL entry without consumer");
        // Two consumers claiming one entry: the last takes it (Redis does the same).
        let two = [pel.clone(), len(2), s(b"c"), vec![0; 8], len(1), raw_id(1, 1), s(b"d"), vec![0; 8], len(1), raw_id(1, 1)].concat();
        let o = must(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&two), &srv);
        let cg = stream_of(&o).lookup_cg(b"g").expect("group");
        assert_eq!(cg.pel.get(&StreamId::new(1, 1)).map(|n| &n.consumer[..]), Some(&b"d"[..]));
        let twice = [pel.clone(), len(1), s(b"c"), vec![0; 8], len(2), raw_id(1, 1), raw_id(1, 1)].concat();
        let err = load(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&twice), &srv).unwrap_err();
        assert_eq!(reason(err), "Duplicated consumer PEL entry  loading a stream consumer group");
        let unknown = [pel.clone(), len(1), s(b"c"), 0i64.to_le_bytes().to_vec(), len(1), raw_id(5, 5)].concat();
        let err = load(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&unknown), &srv).unwrap_err();
        assert_eq!(reason(err), "Consumer entry not found in group global PEL");
        let dup_pel = [len(2), raw_id(1, 1), vec![0; 8], len(1), raw_id(1, 1), vec![0; 8], len(1)].concat();
        let err = load(RDB_TYPE_STREAM_LISTPACKS_2, &stream_with_group(&dup_pel), &srv).unwrap_err();
        assert_eq!(reason(err), "Duplicated global PEL entry loading stream consumer group");
    }

    #[test]
    fn corrupt_streams_are_refused() {
        let mut srv = test_server();
        let good = mini_stream_v2();
        let mut short_key = good.clone();
        short_key[1] = 0x0F;
        assert!(load(RDB_TYPE_STREAM_LISTPACKS_2, &short_key, &srv).is_err());
        // The listpack starts at 0x13 in the value; its master entry's terminator (after
        // the header and count, deleted, num-fields, "k") must be 0.
        let terminator_at = 0x13 + 6 + 9;
        let mut bad_master = good.clone();
        assert_eq!(bad_master[terminator_at], 0x00);
        bad_master[terminator_at] = 0x05;
        // The entry's lp-count (4) must match its layout.
        let mut bad_count = good.clone();
        let lp_count_at = terminator_at + 2 + 6 + 3;
        assert_eq!(bad_count[lp_count_at], 0x04);
        bad_count[lp_count_at] = 0x05;
        // Both are only seen by the deep check; a length that disagrees with the entries
        // is never checked (Redis neither), a length with no node at all always.
        let mut bad_len = good.clone();
        bad_len[0x30] = 2;
        for payload in [&bad_master, &bad_count, &bad_len] {
            assert!(load(RDB_TYPE_STREAM_LISTPACKS_2, payload, &srv).is_ok());
        }
        let no_nodes = [&[0u8][..], &good[0x30..]].concat();
        assert_eq!(reason(load(RDB_TYPE_STREAM_LISTPACKS_2, &no_nodes, &srv).unwrap_err()), "Stream length inconsistent with rax entries");
        srv.config.sanitize_dump_payload = SanitizeDumpPayload::Yes;
        let err = load(RDB_TYPE_STREAM_LISTPACKS_2, &bad_master, &srv).unwrap_err();
        assert_eq!(reason(err), "Stream listpack integrity check failed.");
        assert!(load(RDB_TYPE_STREAM_LISTPACKS_2, &bad_count, &srv).is_err());
        assert!(load(RDB_TYPE_STREAM_LISTPACKS_2, &bad_len, &srv).is_ok());
        // The same node twice.
        let node = &good[1..0x30];
        let twice = [&[2u8][..], node, node, &good[0x30..]].concat();
        assert_eq!(reason(load(RDB_TYPE_STREAM_LISTPACKS_2, &twice, &srv).unwrap_err()), "Listpack re-added with existing key");
    }

    #[test]
    fn module_values_are_refused() {
        let srv = test_server();
        // Name bits all zero ("AAAAAAAAA"), encoding version 1.
        let id = 1;
        for t in [RDB_TYPE_MODULE, RDB_TYPE_MODULE_2] {
            let err = load(t, &len(id), &srv).unwrap_err();
            assert_eq!(reason(err), "The RDB file contains module data I can't load: no matching module type 'AAAAAAAAA'");
        }
        assert_eq!(module_type_name_by_id(u64::MAX), "_________");
    }

    // --- whole streams ---

    fn load_file(bytes: &[u8], srv: &mut Server, flags: u32) -> Result<RdbSaveInfo, RdbError> {
        let mut rsi = RdbSaveInfo::default();
        rdb_load_rio(&mut Rio::new(bytes), srv, flags, &mut rsi).map(|_| rsi)
    }

    fn get<'a>(srv: &'a Server, db: usize, key: &[u8]) -> &'a RObj {
        srv.db[db].dict.get(key).unwrap_or_else(|| panic!("missing {}", String::from_utf8_lossy(key)))
    }

    #[test]
    fn mini_fixture_loads_every_key() {
        let mut srv = test_server();
        load_file(MINI, &mut srv, RDBFLAGS_NONE).unwrap();
        assert_eq!(srv.db[0].dict.len(), 9);
        assert_eq!(srv.db[3].dict.len(), 1);
        assert_eq!((srv.rdb_last_load_keys_loaded, srv.rdb_last_load_keys_expired), (10, 0));
        assert_eq!(get(&srv, 0, b"s").as_str().unwrap().to_vec(), b"hello");
        assert_eq!(get(&srv, 0, b"n").encoding_name(), "int");
        assert_eq!(srv.db[0].get_expire(b"e"), 4102444800000);
        assert_eq!(srv.db[0].get_expire(b"s"), -1);
        assert_eq!(list_items(get(&srv, 0, b"l")), vec![b"a".to_vec(), b"1".to_vec()]);
        assert_eq!(set_members(get(&srv, 0, b"si")), vec![b"-2".to_vec(), b"7".to_vec()]);
        assert_eq!(get(&srv, 0, b"ss").encoding_name(), "hashtable");
        assert_eq!(zset_pairs(get(&srv, 0, b"z")), vec![(b"m".to_vec(), 1.5)]);
        assert_eq!(hash_pairs(get(&srv, 0, b"h")), pairs(&[("f", "v")]));
        assert_eq!(stream_of(get(&srv, 0, b"x")).length, 1);
        assert_eq!(get(&srv, 3, b"d3").as_str().unwrap().to_vec(), b"z");
        assert_eq!(srv.loading_rdb_used_mem, 1166696);
    }

    #[test]
    fn all_types_fixture_loads_with_redis_encodings() {
        let mut srv = test_server();
        load_file(ALL_TYPES, &mut srv, RDBFLAGS_NONE).unwrap();
        assert_eq!((srv.db[0].dict.len(), srv.db[3].dict.len()), (22, 3));
        let enc = |k: &[u8]| get(&srv, 0, k).encoding_name();
        assert_eq!(enc(b"str:lzf"), "raw");
        assert_eq!(enc(b"list:multinode"), "quicklist");
        assert_eq!(enc(b"set:large"), "hashtable");
        assert_eq!(enc(b"zset:large"), "skiplist");
        assert_eq!(enc(b"hash:large"), "hashtable");
        assert_eq!(enc(b"set:intset64"), "intset");
        assert_eq!(list_items(get(&srv, 0, b"list:multinode")).len(), 1000);
        let cg = stream_of(get(&srv, 0, b"stream:s1")).lookup_cg(b"grp1").unwrap();
        assert_eq!((cg.pel.len(), cg.entries_read), (2, 2));
        assert_eq!(cg.consumers.get(&b"consumer1"[..]).unwrap().pel.len(), 2);
        assert_eq!(srv.db[3].get_expire(b"db3:counter"), 4102444800000);
    }

    #[test]
    fn repl_aux_fields_fill_the_save_info() {
        let mut srv = test_server();
        let rsi = load_file(REPL_SYNC, &mut srv, RDBFLAGS_NONE).unwrap();
        assert_eq!(rsi.repl_stream_db, 0);
        assert!(rsi.repl_id_is_set);
        assert_eq!(&rsi.repl_id[..], b"090a8c789eaed6ef05da4458fac54808fd471d8b");
        assert_eq!(rsi.repl_offset, 345);
        assert_eq!((srv.db[2].dict.len(), srv.db[5].dict.len()), (1, 1));
    }

    #[test]
    fn header_and_trailer_errors() {
        let mut srv = test_server();
        let mut bad_magic = MINI.to_vec();
        bad_magic[0] = b'X';
        assert!(matches!(load_file(&bad_magic, &mut srv, 0), Err(RdbError::Io { err, .. }) if err.raw_os_error() == Some(libc::EINVAL)));
        let mut v11 = MINI.to_vec();
        v11[5..9].copy_from_slice(b"0011");
        assert!(matches!(load_file(&v11, &mut srv, 0), Err(RdbError::Io { .. })));
        v11[5..9].copy_from_slice(b"0000");
        assert!(load_file(&v11, &mut srv, 0).is_err());
        let mut bad_sum = MINI.to_vec();
        *bad_sum.last_mut().unwrap() ^= 1;
        let mut srv = test_server();
        assert!(matches!(load_file(&bad_sum, &mut srv, 0), Err(RdbError::Checksum { expected: 0xcd90e206e5a25cf5, .. })));
        let mut zero_sum = MINI.to_vec();
        let n = zero_sum.len();
        zero_sum[n - 8..].fill(0);
        assert!(load_file(&zero_sum, &mut test_server(), 0).is_ok(), "a zero checksum is not checked");
        let mut srv = test_server();
        srv.config.rdbchecksum = false;
        assert!(load_file(&bad_sum, &mut srv, 0).is_ok(), "rdbchecksum no skips the check");
        for cut in [0, 5, 9, 100, n - 9, n - 1] {
            let err = load_file(&MINI[..cut], &mut test_server(), 0).unwrap_err();
            assert!(matches!(err, RdbError::ShortRead { offset } if offset <= cut as u64), "cut {cut}: {err:?}");
        }
        // Version 4 files have no checksum after EOF.
        let v4 = [&b"REDIS0004"[..], &[0x00], &s(b"k"), &s(b"v"), &[0xFF]].concat();
        let mut srv = test_server();
        load_file(&v4, &mut srv, 0).unwrap();
        assert_eq!(get(&srv, 0, b"k").as_str().unwrap().to_vec(), b"v");
    }

    #[test]
    fn expired_keys_are_dropped_on_masters_only() {
        let past = [vec![RDB_OPCODE_EXPIRETIME_MS], 1000i64.to_le_bytes().to_vec(), vec![0], s(b"old"), s(b"v")].concat();
        let legacy = [vec![RDB_OPCODE_EXPIRETIME], 2000000000i32.to_le_bytes().to_vec(), vec![0], s(b"sec"), s(b"v")].concat();
        let body = [past, legacy, vec![0], s(b"new"), s(b"v")].concat();
        let mut srv = test_server();
        load_file(&file(&body), &mut srv, 0).unwrap();
        assert!(srv.db[0].dict.get(&b"old"[..]).is_none());
        assert_eq!(srv.db[0].get_expire(b"sec"), 2000000000000);
        assert_eq!(srv.db[0].get_expire(b"new"), -1);
        assert_eq!((srv.rdb_last_load_keys_loaded, srv.rdb_last_load_keys_expired), (2, 1));
        let mut replica = test_server();
        replica.masterhost = Some("10.0.0.1".into());
        load_file(&file(&body), &mut replica, 0).unwrap();
        assert_eq!(replica.db[0].get_expire(b"old"), 1000);
        let mut aof = test_server();
        load_file(&file(&body), &mut aof, RDBFLAGS_AOF_PREAMBLE).unwrap();
        assert_eq!(aof.db[0].dict.len(), 3);
    }

    #[test]
    fn duplicate_keys_fail_unless_allowed() {
        let body = [vec![0], s(b"k"), s(b"v1"), vec![0], s(b"k"), s(b"v2")].concat();
        let err = load_file(&file(&body), &mut test_server(), 0).unwrap_err();
        assert_eq!(reason(err), "RDB has duplicated key 'k' in DB 0");
        let mut srv = test_server();
        load_file(&file(&body), &mut srv, RDBFLAGS_ALLOW_DUP).unwrap();
        assert_eq!(get(&srv, 0, b"k").as_str().unwrap().to_vec(), b"v2");
    }

    #[test]
    fn selectdb_resizedb_and_empty_keys() {
        let huge_resize = [vec![RDB_OPCODE_RESIZEDB], len(u64::MAX), len(1 << 40)].concat();
        let empty_set = [vec![RDB_TYPE_SET], s(b"empty"), len(0)].concat();
        let body = [vec![RDB_OPCODE_SELECTDB], len(15), huge_resize, empty_set, vec![0], s(b"k"), s(b"v")].concat();
        let mut srv = test_server();
        load_file(&file(&body), &mut srv, 0).unwrap();
        assert_eq!(srv.db[15].dict.len(), 1);
        assert!(srv.db[15].dict.get(&b"empty"[..]).is_none());
        let beyond = [vec![RDB_OPCODE_SELECTDB], len(16)].concat();
        let err = load_file(&file(&beyond), &mut test_server(), 0).unwrap_err();
        assert!(reason(err).contains("configured to handle more than 16 databases"));
    }

    #[test]
    fn idle_and_freq_set_the_access_clock() {
        let body = [vec![RDB_OPCODE_IDLE], len(100), vec![0], s(b"idle"), s(b"v"), vec![RDB_OPCODE_FREQ, 42, 0], s(b"freq"), s(b"v")].concat();
        let mut srv = test_server();
        srv.update_cached_time();
        let clock = srv.get_lru_clock();
        load_file(&file(&body), &mut srv, 0).unwrap();
        let lru = get(&srv, 0, b"idle").lru();
        assert!(clock.saturating_sub(lru) >= 99 && clock.saturating_sub(lru) <= 101, "lru {lru} clock {clock}");
        let mut lfu = test_server();
        lfu.config.maxmemory_policy = crate::config::MaxmemoryPolicy::AllkeysLfu;
        load_file(&file(&body), &mut lfu, 0).unwrap();
        assert_eq!(get(&lfu, 0, b"freq").lru() & 255, 42);
    }

    #[test]
    fn lru_idle_past_the_clock_wraps_half_way() {
        let mut o = RObj::string_from(b"v", 0);
        let clock = AccessClock { lfu: false, lru_clock: 10, unixtime: 0, lfu_log_factor: 10, lfu_decay_time: 1 };
        object_set_lru_or_lfu(&mut o, -1, 20, 10, &clock);
        assert_eq!(o.lru(), 10 + LRU_CLOCK_MAX / 2);
        object_set_lru_or_lfu(&mut o, -1, -1, 10, &clock);
        assert_eq!(o.lru(), 10 + LRU_CLOCK_MAX / 2, "no IDLE: unchanged");
    }

    #[test]
    fn aux_fields_modules_and_functions() {
        let aux = |k: &[u8], v: &[u8]| [vec![RDB_OPCODE_AUX], s(k), s(v)].concat();
        let body = [aux(b"%info", b"x"), aux(b"unknown-field", b"y"), aux(b"REPL-OFFSET", b"77"), aux(b"repl-id", b"short")].concat();
        let mut srv = test_server();
        let rsi = load_file(&file(&body), &mut srv, 0).unwrap();
        assert_eq!(rsi.repl_offset, 77);
        assert!(!rsi.repl_id_is_set, "a repl-id must be 40 characters");
        let module_aux = [vec![RDB_OPCODE_MODULE_AUX], len(1 << 10), len(2), len(2)].concat();
        let err = load_file(&file(&module_aux), &mut test_server(), 0).unwrap_err();
        assert!(reason(err).contains("AUX module data I can't load"));
        let bad_when = [vec![RDB_OPCODE_MODULE_AUX], len(1 << 10), len(5), len(2)].concat();
        assert_eq!(reason(load_file(&file(&bad_when), &mut test_server(), 0).unwrap_err()), "bad when_opcode");
        let function = [vec![RDB_OPCODE_FUNCTION2], s(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)")].concat();
        let err = load_file(&file(&function), &mut test_server(), 0).unwrap_err();
        assert!(reason(err).starts_with("Failed loading library"));
        let unknown_type = [vec![20], s(b"k"), s(b"v")].concat();
        assert_eq!(reason(load_file(&file(&unknown_type), &mut test_server(), 0).unwrap_err()), "Unknown RDB encoding type 20");
    }

    #[test]
    fn c_strtoll_reads_the_leading_number() {
        assert_eq!(c_strtoll(b"0010"), 10);
        assert_eq!(c_strtoll(b" -42abc"), -42);
        assert_eq!(c_strtoll(b"abc"), 0);
        assert_eq!(c_strtoll(b"99999999999999999999"), i64::MAX);
        assert_eq!(c_strtoll(b"12\x0034"), 12);
    }

    #[test]
    fn rdb_load_reports_a_missing_file() {
        let mut srv = test_server();
        let mut rsi = RdbSaveInfo::default();
        let missing = std::env::temp_dir().join(format!("ferredis-load-missing-{}.rdb", std::process::id()));
        assert!(matches!(rdb_load(&mut srv, missing.to_str().unwrap(), &mut rsi, 0), Err(RdbLoadError::NotExist)));
        assert!(!srv.loading);
    }

    #[test]
    fn rdb_load_reads_a_file_and_leaves_loading_state() {
        let path = std::env::temp_dir().join(format!("ferredis-load-mini-{}.rdb", std::process::id()));
        std::fs::write(&path, MINI).unwrap();
        let mut srv = test_server();
        let mut rsi = RdbSaveInfo::default();
        rdb_load(&mut srv, path.to_str().unwrap(), &mut rsi, 0).unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(!srv.loading);
        assert_eq!(srv.loading_total_bytes, MINI.len() as u64);
        assert_eq!(srv.db[0].dict.len(), 9);
    }

    /// Mutated fixtures: every single-byte change and every truncation of the mini file,
    /// and byte flips across the all-types file, load or fail without a panic.
    #[test]
    fn fuzzed_fixtures_never_panic() {
        for i in 0..MINI.len() {
            for delta in [1u8, 0x80, 0xFF] {
                let mut m = MINI.to_vec();
                m[i] = m[i].wrapping_add(delta);
                fuzz_rdb_load(&m);
                fuzz_rdb_load(&m[9..]);
            }
            fuzz_rdb_load(&MINI[..i]);
        }
        for i in (0..ALL_TYPES.len()).step_by(97) {
            let mut m = ALL_TYPES.to_vec();
            m[i] ^= 0x5A;
            fuzz_rdb_load(&m);
        }
    }
}

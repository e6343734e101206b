//! The RDB writer: every value type and encoding as Redis 7.0 writes it.
//!
//! Redis: rdb.c, the rdbSave* half. Runs inline for SAVE and DEBUG RELOAD, in the fork()ed
//! child for BGSAVE, and into a buffer for DUMP; it only reads the keyspace, so whichever
//! of those calls it has the data set to itself until it returns.
//!
//! Layers, bottom up: the primitives (type byte, length, integer / LZF / raw strings,
//! doubles, times), one writer per value type ([`rdb_save_object`]), a key with its
//! expire and LRU/LFU hints ([`rdb_save_key_value_pair`]), a database, the whole stream
//! ([`rdb_save_rio`]) and the file dance of SAVE ([`rdb_save`]). Every value is written
//! straight from its in-memory encoding (listpacks and intsets are already Redis's bytes),
//! so the walkers allocate nothing per element.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use super::*;
use crate::config::MaxmemoryPolicy;
use crate::listpack::LpValue;
use crate::object::{AccessClock, RObj, StrValue, ValueRef};
use crate::quicklist::Quicklist;
use crate::rio::Rio;
use crate::server::Server;
use crate::stream::{Stream, StreamId};
use crate::t_hash::HashValue;
use crate::t_set::SetValue;
use crate::t_zset::ZSetValue;
use crate::util;

/// Redis: REDIS_AUTOSYNC_BYTES: with rdb-save-incremental-fsync, the written file is pushed
/// to disk every 4 MB (strace of redis-server 7.0.15: sync_file_range(fd, 0, 4194304,
/// SYNC_FILE_RANGE_WRITE) once the dump reaches 4 MB), so the final fsync has little left.
const REDIS_AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;
/// Redis: quicklist.c MIN_COMPRESS_BYTES and MIN_COMPRESS_IMPROVE: the rules by which an
/// interior quicklist node is kept LZF-compressed in memory.
const MIN_COMPRESS_BYTES: usize = 48;
const MIN_COMPRESS_IMPROVE: usize = 8;
/// Output buffer of the dump file (stdio's is 4 KB; bigger means fewer write(2) calls).
const FILE_BUFFER_SIZE: usize = 64 * 1024;

// ----------------------------------------------------------------------------------------
// Primitives
// ----------------------------------------------------------------------------------------

/// Redis: rdbWriteRaw().
fn rdb_write_raw<W: Write>(rdb: &mut Rio<W>, buf: &[u8]) -> io::Result<usize> {
    rdb.rio_write(buf)?;
    Ok(buf.len())
}

/// Redis: rdbSaveType(): one type or opcode byte.
pub fn rdb_save_type<W: Write>(rdb: &mut Rio<W>, t: u8) -> io::Result<usize> {
    rdb_write_raw(rdb, &[t])
}

/// Redis: rdbSaveMillisecondTime(): 8 bytes, little-endian.
pub fn rdb_save_millisecond_time<W: Write>(rdb: &mut Rio<W>, t: i64) -> io::Result<usize> {
    rdb_write_raw(rdb, &t.to_le_bytes())
}

/// Redis: rdbSaveLen(): the smallest of the 1, 2, 5 and 9 byte forms (the last two
/// big-endian after their 0x80 / 0x81 prefix).
pub fn rdb_save_len<W: Write>(rdb: &mut Rio<W>, len: u64) -> io::Result<usize> {
    let mut buf = [0u8; 9];
    let n = if len < 1 << 6 {
        buf[0] = (len as u8) | (RDB_6BITLEN << 6);
        1
    } else if len < 1 << 14 {
        buf[0] = ((len >> 8) as u8) | (RDB_14BITLEN << 6);
        buf[1] = len as u8;
        2
    } else if let Ok(len32) = u32::try_from(len) {
        buf[0] = RDB_32BITLEN;
        buf[1..5].copy_from_slice(&len32.to_be_bytes());
        5
    } else {
        buf[0] = RDB_64BITLEN;
        buf[1..9].copy_from_slice(&len.to_be_bytes());
        9
    };
    rdb_write_raw(rdb, &buf[..n])
}

/// Redis: rdbEncodeInteger(): `value` as INT8/16/32 (encoding byte, then little-endian
/// bytes) into `enc`; returns the bytes used, 0 when it needs more than 32 bits.
pub fn rdb_encode_integer(value: i64, enc: &mut [u8; 5]) -> usize {
    let (kind, width) = if i8::try_from(value).is_ok() {
        (RDB_ENC_INT8, 1)
    } else if i16::try_from(value).is_ok() {
        (RDB_ENC_INT16, 2)
    } else if i32::try_from(value).is_ok() {
        (RDB_ENC_INT32, 4)
    } else {
        return 0;
    };
    enc[0] = (RDB_ENCVAL << 6) | kind;
    enc[1..=width].copy_from_slice(&value.to_le_bytes()[..width]);
    width + 1
}

/// Redis: rdbTryIntegerEncoding(): the integer encoding of a string that is the canonical
/// decimal form of an int32 ("12", "-7"; not "+1", "007", " 1" or "-0"); 0 otherwise.
pub fn rdb_try_integer_encoding(s: &[u8], enc: &mut [u8; 5]) -> usize {
    util::string2ll(s).map_or(0, |v| rdb_encode_integer(v, enc))
}

/// Redis: rdbSaveLzfBlob(): an LZF string: the 0xC3 marker, compressed and original
/// lengths, then the compressed bytes.
pub fn rdb_save_lzf_blob<W: Write>(rdb: &mut Rio<W>, data: &[u8], original_len: usize) -> io::Result<usize> {
    let mut n = rdb_save_type(rdb, (RDB_ENCVAL << 6) | RDB_ENC_LZF)?;
    n += rdb_save_len(rdb, data.len() as u64)?;
    n += rdb_save_len(rdb, original_len as u64)?;
    n += rdb_write_raw(rdb, data)?;
    Ok(n)
}

/// Redis: rdbSaveLzfStringObject(): `s` LZF-compressed, only when that saves at least four
/// bytes (the output buffer is `len - 4`); returns 0 (nothing written) otherwise.
pub fn rdb_save_lzf_string_object<W: Write>(rdb: &mut Rio<W>, s: &[u8]) -> io::Result<usize> {
    if s.len() <= 4 {
        return Ok(0);
    }
    match crate::lzf::lzf_compress(s, s.len() - 4) {
        Some(compressed) => rdb_save_lzf_blob(rdb, &compressed, s.len()),
        None => Ok(0),
    }
}

/// Redis: rdbSaveRawString(): an integer encoding for short canonical integers, else LZF
/// (with `rdbcompression`, above 20 bytes, when it pays), else length and bytes.
pub fn rdb_save_raw_string<W: Write>(rdb: &mut Rio<W>, s: &[u8], rdbcompression: bool) -> io::Result<usize> {
    if s.len() <= 11 {
        let mut enc = [0u8; 5];
        let enclen = rdb_try_integer_encoding(s, &mut enc);
        if enclen > 0 {
            return rdb_write_raw(rdb, &enc[..enclen]);
        }
    }
    // Under 21 bytes LZF cannot save the four bytes it must, so Redis does not try.
    if rdbcompression && s.len() > 20 {
        let n = rdb_save_lzf_string_object(rdb, s)?;
        if n > 0 {
            return Ok(n);
        }
    }
    let n = rdb_save_len(rdb, s.len() as u64)?;
    Ok(n + rdb_write_raw(rdb, s)?)
}

/// Redis: rdbSaveLongLongAsStringObject(): an integer encoding, or the decimal digits.
pub fn rdb_save_long_long_as_string_object<W: Write>(rdb: &mut Rio<W>, value: i64) -> io::Result<usize> {
    let mut enc = [0u8; 5];
    let enclen = rdb_encode_integer(value, &mut enc);
    if enclen > 0 {
        return rdb_write_raw(rdb, &enc[..enclen]);
    }
    let digits = util::ll2string(value);
    let n = rdb_save_len(rdb, digits.as_bytes().len() as u64)?;
    Ok(n + rdb_write_raw(rdb, digits.as_bytes())?)
}

/// Redis: rdbSaveStringObject(): an `int`-encoded string goes through
/// rdbSaveLongLongAsStringObject() (never LZF), the others through rdbSaveRawString().
pub fn rdb_save_string_object<W: Write>(rdb: &mut Rio<W>, s: &StrValue, rdbcompression: bool) -> io::Result<usize> {
    match s {
        StrValue::Int(v) => rdb_save_long_long_as_string_object(rdb, *v),
        StrValue::Embstr(b) => rdb_save_raw_string(rdb, b, rdbcompression),
        StrValue::Raw(b) => rdb_save_raw_string(rdb, b, rdbcompression),
    }
}

/// Redis: rdbSaveBinaryDoubleValue(): 8 bytes IEEE 754, little-endian.
pub fn rdb_save_binary_double_value<W: Write>(rdb: &mut Rio<W>, v: f64) -> io::Result<usize> {
    rdb_write_raw(rdb, &v.to_le_bytes())
}

// ----------------------------------------------------------------------------------------
// AUX fields
// ----------------------------------------------------------------------------------------

/// Redis: rdbSaveAuxField(): the AUX opcode, then key and value as strings.
pub fn rdb_save_aux_field<W: Write>(rdb: &mut Rio<W>, key: &[u8], val: &[u8], rdbcompression: bool) -> io::Result<usize> {
    let mut n = rdb_save_type(rdb, RDB_OPCODE_AUX)?;
    n += rdb_save_raw_string(rdb, key, rdbcompression)?;
    n += rdb_save_raw_string(rdb, val, rdbcompression)?;
    Ok(n)
}

/// Redis: rdbSaveAuxFieldStrInt(): the value as decimal text (so usually INT-encoded).
pub fn rdb_save_aux_field_str_int<W: Write>(rdb: &mut Rio<W>, key: &[u8], val: i64, rdbcompression: bool) -> io::Result<usize> {
    rdb_save_aux_field(rdb, key, util::ll2string(val).as_bytes(), rdbcompression)
}

/// Redis: rdbSaveInfoAuxFields(): redis-ver, redis-bits, ctime, used-mem, then the
/// replication fields when `rsi` is given, then aof-base. Redis takes repl-id and
/// repl-offset from server.replid / master_repl_offset; here the caller puts them in `rsi`.
pub fn rdb_save_info_aux_fields<W: Write>(
    rdb: &mut Rio<W>,
    rdbflags: u32,
    rsi: Option<&RdbSaveInfo>,
    rdbcompression: bool,
) -> io::Result<usize> {
    let aof_base = i64::from(rdbflags & RDBFLAGS_AOF_PREAMBLE != 0);
    let ctime = util::ustime() / 1_000_000;
    let used_mem = i64::try_from(crate::zmalloc::used_memory()).unwrap_or(i64::MAX);
    let mut n = rdb_save_aux_field(rdb, b"redis-ver", crate::server::REDIS_VERSION.as_bytes(), rdbcompression)?;
    n += rdb_save_aux_field_str_int(rdb, b"redis-bits", 64, rdbcompression)?;
    n += rdb_save_aux_field_str_int(rdb, b"ctime", ctime, rdbcompression)?;
    n += rdb_save_aux_field_str_int(rdb, b"used-mem", used_mem, rdbcompression)?;
    if let Some(rsi) = rsi {
        n += rdb_save_aux_field_str_int(rdb, b"repl-stream-db", rsi.repl_stream_db.into(), rdbcompression)?;
        n += rdb_save_aux_field(rdb, b"repl-id", &rsi.repl_id, rdbcompression)?;
        n += rdb_save_aux_field_str_int(rdb, b"repl-offset", rsi.repl_offset, rdbcompression)?;
    }
    n += rdb_save_aux_field_str_int(rdb, b"aof-base", aof_base, rdbcompression)?;
    Ok(n)
}

// ----------------------------------------------------------------------------------------
// Values
// ----------------------------------------------------------------------------------------

/// Redis: rdbSaveObjectType()'s choice: the RDB type 7.0 writes for this encoding.
pub fn rdb_object_type(o: &RObj) -> u8 {
    match o.value() {
        ValueRef::Str(_) => RDB_TYPE_STRING,
        ValueRef::List(_) => RDB_TYPE_LIST_QUICKLIST_2,
        ValueRef::Set(s) => match *s {
            SetValue::Intset(_) => RDB_TYPE_SET_INTSET,
            SetValue::Hashtable(_) => RDB_TYPE_SET,
        },
        ValueRef::ZSet(z) => match z {
            ZSetValue::Listpack(_) => RDB_TYPE_ZSET_LISTPACK,
            ZSetValue::SkipList(_) => RDB_TYPE_ZSET_2,
        },
        ValueRef::Hash(h) if h.is_listpack() => RDB_TYPE_HASH_LISTPACK,
        ValueRef::Hash(_) => RDB_TYPE_HASH,
        ValueRef::Stream(_) => RDB_TYPE_STREAM_LISTPACKS_2,
    }
}

/// Redis: rdbSaveObjectType(): the type byte of `o` (RDB_TYPE_*).
pub fn rdb_save_object_type<W: Write>(rdb: &mut Rio<W>, o: &RObj) -> io::Result<()> {
    rdb_save_type(rdb, rdb_object_type(o)).map(|_| ())
}

/// Redis: rdbSaveObject(): the value's payload after its type byte; returns bytes written.
pub fn rdb_save_object<W: Write>(rdb: &mut Rio<W>, o: &RObj, rdbcompression: bool) -> io::Result<usize> {
    let before = rdb.processed_bytes;
    match o.value() {
        ValueRef::Str(s) => rdb_save_string_object(rdb, s, rdbcompression).map(|_| ())?,
        ValueRef::List(l) => rdb_save_quicklist(rdb, l.quicklist(), rdbcompression)?,
        ValueRef::Set(s) => rdb_save_set(rdb, s, rdbcompression)?,
        ValueRef::ZSet(z) => rdb_save_zset(rdb, z, rdbcompression)?,
        ValueRef::Hash(h) => rdb_save_hash(rdb, h, rdbcompression)?,
        ValueRef::Stream(s) => rdb_save_stream(rdb, s, rdbcompression)?,
    }
    Ok((rdb.processed_bytes - before) as usize)
}

/// Redis: rdbSavedObjectLen(): what rdbSaveObject() would write (DEBUG OBJECT's
/// serializedlength), measured by writing into a sink.
pub fn rdb_saved_object_len(o: &RObj, rdbcompression: bool) -> usize {
    let mut sink = Rio::new(io::sink());
    sink.update_cksum = false;
    rdb_save_object(&mut sink, o, rdbcompression).unwrap_or(0)
}

/// The OBJ_LIST branch: the node count, then per node its container and its listpack
/// (RDB_TYPE_LIST_QUICKLIST_2). Nodes are never PLAIN here (see quicklist.rs).
fn rdb_save_quicklist<W: Write>(rdb: &mut Rio<W>, ql: &Quicklist, rdbcompression: bool) -> io::Result<()> {
    let count = ql.node_count();
    let depth = usize::try_from(ql.compress()).unwrap_or(0);
    rdb_save_len(rdb, count as u64)?;
    for (i, lp) in ql.nodes().enumerate() {
        let bytes = lp.as_bytes();
        rdb_save_len(rdb, QUICKLIST_NODE_CONTAINER_PACKED)?;
        match quicklist_node_lzf(bytes, i, count, depth) {
            Some(compressed) => rdb_save_lzf_blob(rdb, &compressed, bytes.len())?,
            None => rdb_save_raw_string(rdb, bytes, rdbcompression)?,
        };
    }
    Ok(())
}

/// With list-compress-depth > 0 Redis keeps every node more than `depth` nodes from both
/// ends LZF-compressed in memory (quicklist.c __quicklistCompress()), and rdbSaveObject()
/// writes such a node's LZF bytes as they are, whatever rdbcompression says. Our
/// quicklist keeps nodes plain, so the compression is redone here by Redis's rules
/// (__quicklistCompressNode(): at least 48 bytes, and at least 8 saved).
fn quicklist_node_lzf(lp: &[u8], index: usize, count: usize, depth: usize) -> Option<Vec<u8>> {
    let interior = depth > 0 && index >= depth && index + depth < count;
    if !interior || lp.len() < MIN_COMPRESS_BYTES {
        return None;
    }
    let compressed = crate::lzf::lzf_compress(lp, lp.len())?;
    (compressed.len() + MIN_COMPRESS_IMPROVE < lp.len()).then_some(compressed)
}

/// The OBJ_SET branch: an intset as one string (its blob), a hash table as its size and
/// each member.
fn rdb_save_set<W: Write>(rdb: &mut Rio<W>, s: &SetValue, rdbcompression: bool) -> io::Result<()> {
    match s {
        SetValue::Intset(is) => rdb_save_raw_string(rdb, &is.to_blob(), rdbcompression).map(|_| ()),
        SetValue::Hashtable(d) => {
            rdb_save_len(rdb, d.len() as u64)?;
            for member in d.keys() {
                rdb_save_raw_string(rdb, member, rdbcompression)?;
            }
            Ok(())
        }
    }
}

/// The OBJ_ZSET branch: a listpack as one string; a skiplist as its length, then each
/// member and binary score from the tail (highest score first), so that loading inserts
/// at the skiplist's head every time.
fn rdb_save_zset<W: Write>(rdb: &mut Rio<W>, z: &ZSetValue, rdbcompression: bool) -> io::Result<()> {
    match z {
        ZSetValue::Listpack(lp) => rdb_save_raw_string(rdb, lp.as_bytes(), rdbcompression).map(|_| ()),
        ZSetValue::SkipList(zs) => {
            let zsl = &zs.zsl;
            rdb_save_len(rdb, zsl.len() as u64)?;
            let mut x = zsl.last();
            while let Some(ele) = zsl.ele_rc(x) {
                rdb_save_raw_string(rdb, ele, rdbcompression)?;
                rdb_save_binary_double_value(rdb, zsl.score(x))?;
                x = zsl.prev(x);
            }
            Ok(())
        }
    }
}

/// The OBJ_HASH branch: a listpack as one string; a hash table as its size, then each
/// field and value.
fn rdb_save_hash<W: Write>(rdb: &mut Rio<W>, h: &HashValue, rdbcompression: bool) -> io::Result<()> {
    if let Some(lp) = h.rdb_listpack_bytes() {
        return rdb_save_raw_string(rdb, lp, rdbcompression).map(|_| ());
    }
    rdb_save_len(rdb, h.len() as u64)?;
    for (field, value) in h.iter() {
        rdb_save_lp_value(rdb, field, rdbcompression)?;
        rdb_save_lp_value(rdb, value, rdbcompression)?;
    }
    Ok(())
}

/// A hash element as a string. Hash-table fields and values are always strings; an
/// integer is written from its digits, as rdbSaveRawString() would see them.
fn rdb_save_lp_value<W: Write>(rdb: &mut Rio<W>, v: LpValue<'_>, rdbcompression: bool) -> io::Result<usize> {
    match v {
        LpValue::Str(s) => rdb_save_raw_string(rdb, s, rdbcompression),
        LpValue::Int(i) => rdb_save_raw_string(rdb, util::ll2string(i).as_bytes(), rdbcompression),
    }
}

/// A stream ID as its two lengths (ms, then seq).
fn rdb_save_stream_id<W: Write>(rdb: &mut Rio<W>, id: StreamId) -> io::Result<()> {
    rdb_save_len(rdb, id.ms)?;
    rdb_save_len(rdb, id.seq).map(|_| ())
}

/// The OBJ_STREAM branch (RDB_TYPE_STREAM_LISTPACKS_2): the nodes (16-byte master ID and
/// listpack, both as strings), the length, last / first / max-deleted IDs, entries added,
/// then the consumer groups.
fn rdb_save_stream<W: Write>(rdb: &mut Rio<W>, s: &Stream, rdbcompression: bool) -> io::Result<()> {
    rdb_save_len(rdb, s.rdb_nodes().count() as u64)?;
    for (master_id, lp) in s.rdb_nodes() {
        rdb_save_raw_string(rdb, &master_id.encode(), rdbcompression)?;
        rdb_save_raw_string(rdb, lp, rdbcompression)?;
    }
    rdb_save_len(rdb, s.length)?;
    rdb_save_stream_id(rdb, s.last_id)?;
    rdb_save_stream_id(rdb, s.first_id)?;
    rdb_save_stream_id(rdb, s.max_deleted_entry_id)?;
    rdb_save_len(rdb, s.entries_added)?;
    rdb_save_len(rdb, s.cgroups_len() as u64)?;
    for (name, cg) in s.cgroups.iter().flatten() {
        rdb_save_raw_string(rdb, name, rdbcompression)?;
        rdb_save_stream_id(rdb, cg.last_id)?;
        // Redis writes the signed counter as an unsigned length: -1 (unknown) takes 9 bytes.
        rdb_save_len(rdb, cg.entries_read as u64)?;
        rdb_save_stream_pel(rdb, cg)?;
        rdb_save_stream_consumers(rdb, cg, rdbcompression)?;
    }
    Ok(())
}

/// Redis: rdbSaveStreamPEL() of a group's PEL: each raw 16-byte ID with its NACK's
/// delivery time and delivery count.
fn rdb_save_stream_pel<W: Write>(rdb: &mut Rio<W>, cg: &crate::stream::ConsumerGroup) -> io::Result<()> {
    rdb_save_len(rdb, cg.pel.len() as u64)?;
    for (id, nack) in &cg.pel {
        rdb_write_raw(rdb, &id.encode())?;
        rdb_save_millisecond_time(rdb, nack.delivery_time)?;
        rdb_save_len(rdb, nack.delivery_count)?;
    }
    Ok(())
}

/// Redis: rdbSaveStreamConsumers(): each consumer's name, seen-time and the raw IDs of its
/// PEL (the NACKs themselves live in the group's PEL).
fn rdb_save_stream_consumers<W: Write>(
    rdb: &mut Rio<W>,
    cg: &crate::stream::ConsumerGroup,
    rdbcompression: bool,
) -> io::Result<()> {
    rdb_save_len(rdb, cg.consumers.len() as u64)?;
    for (name, consumer) in &cg.consumers {
        rdb_save_raw_string(rdb, name, rdbcompression)?;
        rdb_save_millisecond_time(rdb, consumer.seen_time)?;
        rdb_save_len(rdb, consumer.pel.len() as u64)?;
        for id in &consumer.pel {
            rdb_write_raw(rdb, &id.encode())?;
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------------------------
// Keys, databases, the whole file
// ----------------------------------------------------------------------------------------

/// What the rdbSave* functions read from the server globals while writing keys, copied
/// out once per save.
#[derive(Debug, Clone, Copy)]
pub struct SaveOptions {
    pub rdbcompression: bool,
    /// Redis: maxmemory_policy & MAXMEMORY_FLAG_LRU: each key gets an IDLE opcode.
    pub save_lru: bool,
    /// Redis: maxmemory_policy & MAXMEMORY_FLAG_LFU: each key gets a FREQ opcode.
    pub save_lfu: bool,
    pub clock: AccessClock,
    /// Redis: rdb-key-save-delay (microseconds after each key; negative: 1 µs, 1 key in N).
    pub key_save_delay: i32,
}

impl SaveOptions {
    pub fn of(srv: &Server) -> SaveOptions {
        use MaxmemoryPolicy::*;
        let policy = srv.config.maxmemory_policy;
        SaveOptions {
            rdbcompression: srv.config.rdbcompression,
            save_lru: matches!(policy, VolatileLru | AllkeysLru),
            save_lfu: matches!(policy, VolatileLfu | AllkeysLfu),
            clock: AccessClock::of(srv),
            key_save_delay: srv.config.rdb_key_save_delay,
        }
    }
}

/// Redis: rdbSaveKeyValuePair(): [EXPIRETIME_MS] [IDLE] [FREQ], type, key, value.
/// `expiretime` is -1 for a key without TTL.
pub fn rdb_save_key_value_pair<W: Write>(
    rdb: &mut Rio<W>,
    key: &[u8],
    val: &RObj,
    expiretime: i64,
    opts: &SaveOptions,
) -> io::Result<usize> {
    let before = rdb.processed_bytes;
    if expiretime != -1 {
        rdb_save_type(rdb, RDB_OPCODE_EXPIRETIME_MS)?;
        rdb_save_millisecond_time(rdb, expiretime)?;
    }
    if opts.save_lru {
        // Seconds are precise enough and take less room (Redis's comment).
        let idle_secs = opts.clock.estimate_object_idle_time(val.lru()) / 1000;
        rdb_save_type(rdb, RDB_OPCODE_IDLE)?;
        rdb_save_len(rdb, idle_secs)?;
    }
    if opts.save_lfu {
        // The counter only: the decay time restarts at load, which barely matters.
        let counter = opts.clock.lfu_decr_and_return(val.lru()).min(255) as u8;
        rdb_save_type(rdb, RDB_OPCODE_FREQ)?;
        rdb_write_raw(rdb, &[counter])?;
    }
    rdb_save_object_type(rdb, val)?;
    rdb_save_raw_string(rdb, key, opts.rdbcompression)?;
    rdb_save_object(rdb, val, opts.rdbcompression)?;
    if opts.key_save_delay != 0 {
        debug_delay(opts.key_save_delay);
    }
    Ok((rdb.processed_bytes - before) as usize)
}

/// Redis: debug.c debugDelay(): sleeps `usec` µs; a negative value -N sleeps 1 µs one
/// time in N (short sleeps are made statistically, a context switch costs more).
fn debug_delay(usec: i32) {
    let usec = if usec < 0 {
        let mut r = [0u8; 4];
        util::get_random_bytes(&mut r);
        u32::from(u32::from_le_bytes(r) % usec.unsigned_abs() == 0)
    } else {
        usec.unsigned_abs()
    };
    if usec > 0 {
        std::thread::sleep(std::time::Duration::from_micros(u64::from(usec)));
    }
}

/// Redis: rdbSaveDb(): SELECTDB, RESIZEDB (keys, keys with a TTL), then every key in
/// hash-table order. An empty database writes nothing. `key_counter` counts the keys
/// written across databases (the child's progress report).
pub fn rdb_save_db<W: Write>(
    rdb: &mut Rio<W>,
    srv: &Server,
    dbid: usize,
    opts: &SaveOptions,
    key_counter: &mut u64,
) -> io::Result<usize> {
    let Some(db) = srv.db.get(dbid) else { return Ok(0) };
    if db.dict.is_empty() {
        return Ok(0);
    }
    let before = rdb.processed_bytes;
    rdb_save_type(rdb, RDB_OPCODE_SELECTDB)?;
    rdb_save_len(rdb, dbid as u64)?;
    rdb_save_type(rdb, RDB_OPCODE_RESIZEDB)?;
    rdb_save_len(rdb, db.dict.len() as u64)?;
    rdb_save_len(rdb, db.expires.len() as u64)?;
    let has_expires = !db.expires.is_empty();
    for (key, o) in db.dict.iter() {
        let expire = if has_expires { db.get_expire(key) } else { -1 };
        rdb_save_key_value_pair(rdb, key, o, expire, opts)?;
        // Redis: rdbSaveDb(): a fork child tells the parent how far it got every 1024 keys.
        // ("AOF rewrite" when AOF exists).
        crate::childinfo::report_save_progress(srv, *key_counter, "RDB");
        *key_counter += 1;
    }
    Ok((rdb.processed_bytes - before) as usize)
}

/// Redis: rdbSaveRio(): the whole file (magic, aux fields, every db, EOF, checksum).
/// The checksum covers what this call writes: like Redis, which turns the running CRC on
/// here, bytes a caller wrote before (the diskless "$EOF:" preamble) are not part of it.
/// With rdbchecksum off the trailer is 8 zero bytes.
pub fn rdb_save_rio<W: Write>(
    rdb: &mut Rio<W>,
    srv: &Server,
    rdbflags: u32,
    rsi: Option<&RdbSaveInfo>,
) -> io::Result<()> {
    let opts = SaveOptions::of(srv);
    rdb.cksum = 0;
    rdb.update_cksum = srv.config.rdbchecksum;
    rdb_write_raw(rdb, format!("REDIS{:04}", RDB_VERSION).as_bytes())?;
    rdb_save_info_aux_fields(rdb, rdbflags, rsi, opts.rdbcompression)?;
    // Modules and functions (FUNCTION2 opcodes) would come here; neither exists yet.
    let mut key_counter = 0u64;
    for dbid in 0..srv.db.len() {
        rdb_save_db(rdb, srv, dbid, &opts, &mut key_counter)?;
    }
    rdb_save_type(rdb, RDB_OPCODE_EOF)?;
    let cksum = rdb.cksum;
    rdb.rio_write(&cksum.to_le_bytes())
}

// ----------------------------------------------------------------------------------------
// SAVE to a file
// ----------------------------------------------------------------------------------------

/// Redis: rio.c's file backend: stdio-style buffering, and with rdb-save-incremental-fsync
/// (rioSetAutoSync) the file written in `autosync`-byte chunks, each one's writeback
/// started as it completes and the one before it waited for (rioFileWrite).
struct RdbFile {
    out: BufWriter<File>,
    autosync: u64,
    /// Bytes of the current chunk (Redis: io.file.buffered).
    buffered: u64,
    /// Bytes written so far.
    processed: u64,
}

impl RdbFile {
    fn new(file: File, autosync: u64) -> RdbFile {
        RdbFile { out: BufWriter::with_capacity(FILE_BUFFER_SIZE, file), autosync, buffered: 0, processed: 0 }
    }

    /// Redis: the fflush() + fsync() of rdbSave() before the rename.
    fn flush_and_sync(&mut self) -> Result<(), (&'static str, io::Error)> {
        self.out.flush().map_err(|e| ("fflush", e))?;
        self.out.get_ref().sync_all().map_err(|e| ("fsync", e))
    }

    /// A chunk is complete: start its writeback without waiting, then wait for the chunk
    /// before it, so at most two chunks of dirty pages are pending (Redis: the
    /// sync_file_range() pair of rioFileWrite()).
    fn chunk_done(&mut self) -> io::Result<()> {
        self.out.flush()?;
        let chunk = self.autosync;
        sync_file_range(self.out.get_ref(), self.processed - chunk, chunk, libc::SYNC_FILE_RANGE_WRITE)?;
        if self.processed >= chunk * 2 {
            let wait = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
            sync_file_range(self.out.get_ref(), self.processed - chunk * 2, chunk, wait)?;
        }
        self.buffered = 0;
        Ok(())
    }
}

/// sync_file_range(2) on `len` bytes of `file` from `offset`.
fn sync_file_range(file: &File, offset: u64, len: u64, flags: libc::c_uint) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off64_t::try_from(offset), libc::off64_t::try_from(len)) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    // SAFETY: the descriptor belongs to `file`, open for the duration of the call; the call
    // only schedules or waits for writeback and touches no memory of ours.
    let rc = unsafe { libc::sync_file_range(file.as_raw_fd(), offset, len, flags) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

impl Write for RdbFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.autosync == 0 {
            return self.out.write(buf);
        }
        // Never past the end of the current chunk, so chunks fall on autosync boundaries.
        let room = usize::try_from(self.autosync - self.buffered).unwrap_or(usize::MAX);
        let n = self.out.write(buf.get(..room.min(buf.len())).unwrap_or(buf))?;
        self.buffered += n as u64;
        self.processed += n as u64;
        if self.buffered >= self.autosync {
            self.chunk_done()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// libc strerror() text, as Redis logs it ("No space left on device").
fn strerror(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text.get(..cut).unwrap_or(&text).to_string(),
        None => text,
    }
}

/// The working directory for log lines, "unknown" when it cannot be read (Redis: getcwd()).
fn cwd_for_log() -> String {
    std::env::current_dir().map_or_else(|_| "unknown".to_string(), |p| p.display().to_string())
}

/// Redis: util.c fsyncFileDir(): makes the rename durable. Systems that refuse to open or
/// fsync a directory (EISDIR, EBADF, EINVAL) count as success, as in Redis.
fn fsync_file_dir(filename: &str) -> io::Result<()> {
    let dir = match Path::new(filename).parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let refused = |e: &io::Error| matches!(e.raw_os_error(), Some(libc::EISDIR | libc::EBADF | libc::EINVAL));
    // redis_fsync() is fdatasync() on Linux.
    match File::open(dir).and_then(|d| d.sync_data()) {
        Err(e) if !refused(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Redis: rdbSave(): writes temp-<pid>.rdb in the working directory, fsyncs, renames it over
/// `filename`, logs "DB saved on disk" and, on success, resets `dirty` and sets `lastsave`.
pub fn rdb_save(srv: &mut Server, filename: &str, rsi: Option<&RdbSaveInfo>, rdbflags: u32) -> io::Result<()> {
    // getpid() each time: in a BGSAVE child this is the child's pid, as in Redis.
    let tmpfile = format!("temp-{}.rdb", std::process::id());
    let file = File::create(&tmpfile).inspect_err(|e| {
        log::warn!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
            tmpfile,
            cwd_for_log(),
            strerror(e)
        );
    })?;
    let autosync = if srv.config.rdb_save_incremental_fsync { REDIS_AUTOSYNC_BYTES } else { 0 };
    let mut rdb = Rio::new(RdbFile::new(file, autosync));
    let written = rdb_save_rio(&mut rdb, srv, rdbflags, rsi)
        .map_err(|e| ("rdbSaveRio", e))
        .and_then(|()| rdb.get_mut().flush_and_sync());
    // Dropping the writer closes the file (fclose); its buffer is already flushed.
    drop(rdb);
    if let Err((op, e)) = written {
        return Err(write_error(&tmpfile, op, e));
    }
    if let Err(e) = std::fs::rename(&tmpfile, filename) {
        log::warn!(
            "Error moving temp DB file {} on the final destination {} (in server root dir {}): {}",
            tmpfile,
            filename,
            cwd_for_log(),
            strerror(&e)
        );
        let _ = std::fs::remove_file(&tmpfile);
        return Err(e);
    }
    fsync_file_dir(filename).map_err(|e| write_error(&tmpfile, "fsyncFileDir", e))?;
    log::info!("DB saved on disk");
    srv.dirty = 0;
    srv.lastsave = util::ustime() / 1_000_000;
    srv.lastbgsave_status_ok = true;
    Ok(())
}

/// Redis: rdbSave()'s werr path: log which step failed and drop the temp file.
fn write_error(tmpfile: &str, op: &str, e: io::Error) -> io::Error {
    log::warn!("Write error saving DB on disk({}): {}", op, strerror(&e));
    let _ = std::fs::remove_file(tmpfile);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::ValueMut;
    use crate::command_procs::command_proc;
    use crate::networking::Client;
    use crate::test_support::{run_command, test_server};
    use std::path::PathBuf;
    use std::process::Command;

    /// Runs a writer into a buffer; checks the count it returns is what it wrote.
    fn bytes_of(f: impl FnOnce(&mut Rio<Vec<u8>>) -> io::Result<usize>) -> Vec<u8> {
        let mut rio = Rio::new(Vec::new());
        let n = f(&mut rio).unwrap();
        let out = rio.into_inner();
        assert_eq!(n, out.len(), "returned byte count");
        out
    }

    fn raw(s: &[u8], rdbcompression: bool) -> Vec<u8> {
        bytes_of(|r| rdb_save_raw_string(r, s, rdbcompression))
    }

    fn raw_len(n: usize) -> Vec<u8> {
        bytes_of(|r| rdb_save_len(r, n as u64))
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn length_encodings_at_every_boundary() {
        let cases: &[(u64, &[u8])] = &[
            (0, &[0x00]),
            (1, &[0x01]),
            (63, &[0x3f]),
            (64, &[0x40, 0x40]),
            (300, &[0x41, 0x2c]),
            (16383, &[0x7f, 0xff]),
            (16384, &[0x80, 0x00, 0x00, 0x40, 0x00]),
            (u64::from(u32::MAX), &[0x80, 0xff, 0xff, 0xff, 0xff]),
            (u64::from(u32::MAX) + 1, &[0x81, 0, 0, 0, 0x01, 0, 0, 0, 0]),
            (u64::MAX, &[0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ];
        for &(len, want) in cases {
            assert_eq!(bytes_of(|r| rdb_save_len(r, len)), want, "len {len}");
        }
        assert_eq!(bytes_of(|r| rdb_save_millisecond_time(r, 4102444800000)), [0x00, 0xd8, 0xc3, 0x2c, 0xbb, 0x03, 0, 0]);
        assert_eq!(bytes_of(|r| rdb_save_binary_double_value(r, 1.5)), 1.5f64.to_le_bytes());
        assert_eq!(bytes_of(|r| rdb_save_type(r, RDB_OPCODE_EOF)), [0xff]);
    }

    #[test]
    fn integer_string_encodings() {
        let cases: &[(&str, &[u8])] = &[
            ("0", &[0xc0, 0x00]),
            ("-1", &[0xc0, 0xff]),
            ("127", &[0xc0, 0x7f]),
            ("-128", &[0xc0, 0x80]),
            ("128", &[0xc1, 0x80, 0x00]),
            ("-129", &[0xc1, 0x7f, 0xff]),
            ("32767", &[0xc1, 0xff, 0x7f]),
            ("-32768", &[0xc1, 0x00, 0x80]),
            ("32768", &[0xc2, 0x00, 0x80, 0x00, 0x00]),
            ("2147483647", &[0xc2, 0xff, 0xff, 0xff, 0x7f]),
            ("-2147483648", &[0xc2, 0x00, 0x00, 0x00, 0x80]),
        ];
        for &(s, want) in cases {
            assert_eq!(raw(s.as_bytes(), true), want, "{s}");
            // An int-encoded string object takes the same bytes.
            assert_eq!(bytes_of(|r| rdb_save_string_object(r, &StrValue::encode(s.as_bytes()), true)), want, "{s}");
        }
        // Not canonical, or beyond int32: length and the bytes themselves.
        for s in ["2147483648", "-2147483649", "+1", "01", "-0", " 1", "1 ", "1.5", "", "abc"] {
            let mut want = vec![s.len() as u8];
            want.extend_from_slice(s.as_bytes());
            assert_eq!(raw(s.as_bytes(), true), want, "{s:?}");
        }
        let mut want = vec![19u8];
        want.extend_from_slice(b"9223372036854775807");
        assert_eq!(bytes_of(|r| rdb_save_string_object(r, &StrValue::Int(i64::MAX), true)), want);
        assert_eq!(bytes_of(|r| rdb_save_long_long_as_string_object(r, 100000)), [0xc2, 0xa0, 0x86, 0x01, 0x00]);
        let mut enc = [0u8; 5];
        assert_eq!(rdb_encode_integer(i64::from(i32::MAX) + 1, &mut enc), 0);
        assert_eq!(rdb_try_integer_encoding(b"12x", &mut enc), 0);
    }

    #[test]
    fn lzf_only_when_it_saves_four_bytes() {
        // 20 bytes: never tried. 21: compressed.
        assert_eq!(raw(&[b'a'; 20], true)[0], 20);
        let lzf = raw(&[b'a'; 21], true);
        assert_eq!(lzf[0], 0xc3);
        assert_eq!(lzf[2], 21, "original length");
        assert_eq!(raw(&[b'a'; 21], false)[0], 21, "rdbcompression off");
        // The fixture's str:lzf, byte for byte (facts §3.5).
        let mut s = vec![b'a'; 60];
        s.extend_from_slice(b"bcdefghij");
        s.extend_from_slice(&[b'a'; 31]);
        let want = "c3 16 40 64 01 61 61 e0 31 00 08 62 63 64 65 66 67 68 69 6a e0 14 42 01 61 61";
        assert_eq!(hex(&raw(&s, true)), want);
        // A pseudo-random prefix then a run of 'x': the run's length moves the compressed
        // size across the threshold; LZF is used exactly when it is at most len - 4.
        let mut seed = 0x9e37_79b9_u32;
        let noise: Vec<u8> = (0..40)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                seed as u8
            })
            .collect();
        // LZF is used exactly when the compressor fits the output in len - 4 bytes.
        let (mut compressed, mut stored_raw) = (0, 0);
        for run in 0..60 {
            let mut s = noise.clone();
            s.extend(std::iter::repeat_n(b'x', run));
            let out = raw(&s, true);
            match crate::lzf::lzf_compress(&s, s.len() - 4) {
                Some(c) => {
                    assert!(c.len() + 4 <= s.len());
                    assert_eq!(out[0], 0xc3, "run {run}");
                    assert_eq!(out.len(), 1 + raw_len(c.len()).len() + raw_len(s.len()).len() + c.len(), "run {run}");
                    compressed += 1;
                }
                None => {
                    assert_eq!(out.get(1..), Some(&s[..]), "run {run}: stored raw");
                    stored_raw += 1;
                }
            }
        }
        assert!(compressed > 0 && stored_raw > 0, "the sweep covered both sides of the threshold");
    }

    // ------------------------------------------------------------------------------------
    // Values built through the commands, compared with what redis-server 7.0.15 wrote
    // ------------------------------------------------------------------------------------

    fn fixture(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/rdb").join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Runs one command (found by name, or name|subcommand) and insists it succeeded.
    fn run(srv: &mut Server, c: &mut Client, args: &[&str]) {
        let name = args[0].to_ascii_lowercase();
        let sub = args.get(1).map(|s| format!("{name}|{}", s.to_ascii_lowercase()));
        let proc_ = command_proc(&name).or_else(|| sub.and_then(|s| command_proc(&s))).expect("bound command");
        let out = run_command(srv, c, proc_, args);
        assert!(!out.starts_with('-'), "{args:?} -> {out}");
    }

    fn run_line(srv: &mut Server, c: &mut Client, line: &str) {
        run(srv, c, &line.split(' ').collect::<Vec<_>>());
    }

    /// Everything rdbSaveKeyValuePair() writes for one key.
    fn pair_bytes(srv: &Server, dbid: usize, key: &str) -> Vec<u8> {
        let db = &srv.db[dbid];
        let o = db.dict.get(key.as_bytes()).unwrap_or_else(|| panic!("key {key}"));
        let opts = SaveOptions::of(srv);
        bytes_of(|r| rdb_save_key_value_pair(r, key.as_bytes(), o, db.get_expire(key.as_bytes()), &opts))
    }

    /// The key's bytes must appear in the file Redis wrote, whole.
    fn assert_in_fixture(file: &[u8], srv: &Server, dbid: usize, key: &str) {
        let ours = pair_bytes(srv, dbid, key);
        if memchr::memmem::find(file, &ours).is_some() {
            return;
        }
        let head = &ours[..ours.len().min(12)];
        let theirs = memchr::memmem::find(file, head).map_or_else(
            || "(key not found)".to_string(),
            |at| hex(&file[at..(at + ours.len()).min(file.len())]),
        );
        panic!("{key}: ours\n{}\nredis\n{}", hex(&ours), theirs);
    }

    /// The mini fixture's commands (its .txt).
    fn mini_server() -> Server {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        for line in [
            "SET s hello", "SET n 42", "SET e v", "PEXPIREAT e 4102444800000", "RPUSH l a 1", "SADD si 7 -2",
            "SADD ss x", "ZADD z 1.5 m", "HSET h f v", "XADD x 1-1 k v", "SELECT 3", "SET d3 z",
        ] {
            run_line(&mut srv, &mut c, line);
        }
        srv
    }

    #[test]
    fn mini_fixture_keys_are_byte_identical() {
        let file = fixture("redis-7.0.15-mini.rdb");
        let srv = mini_server();
        for key in ["s", "n", "e", "l", "si", "ss", "z", "h", "x"] {
            assert_in_fixture(&file, &srv, 0, key);
        }
        assert_in_fixture(&file, &srv, 3, "d3");
        // Spot checks against the annotated offsets (facts §3.16).
        assert_eq!(pair_bytes(&srv, 0, "n"), file[0x55..0x5a]);
        assert_eq!(pair_bytes(&srv, 0, "e"), file[0x5a..0x68]);
        assert_eq!(pair_bytes(&srv, 0, "si"), file[0x68..0x79]);
        assert_eq!(pair_bytes(&srv, 0, "x"), file[0xbf..0xfb]);
    }

    #[test]
    fn mini_fixture_file_layout() {
        let file = fixture("redis-7.0.15-mini.rdb");
        let srv = mini_server();
        let mut rio = Rio::new(Vec::new());
        rdb_save_rio(&mut rio, &srv, RDBFLAGS_NONE, None).unwrap();
        let ours = rio.into_inner();
        assert_eq!(ours[..0x30], file[..0x30], "magic, redis-ver, redis-bits, ctime's encoding");
        // used-mem differs (and so may its encoding); from aof-base on the layout is Redis's.
        let aof_base = b"\xfa\x08aof-base";
        let (a, b) = (memchr::memmem::find(&ours, aof_base).unwrap(), 0x44);
        assert_eq!(ours[a..a + 0x11], file[b..b + 0x11], "aof-base, SELECTDB 0, RESIZEDB 9 1");
        assert_eq!(ours.len() - a, file.len() - b, "the databases take the same room");
        let tail = ours.len() - 8 - 12;
        assert_eq!(ours[tail..ours.len() - 8], file[0xfb..0x107], "db 3 and EOF");
        let body = &ours[..ours.len() - 8];
        assert_eq!(ours[ours.len() - 8..], crate::crc64::crc64(0, body).to_le_bytes(), "CRC-64 trailer");
    }

    /// The all-types fixture's commands (its .txt), with the stream's clock set to the run's.
    fn all_types_server() -> Server {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        for line in [
            "SET str:small hello", "SET str:int8 -100", "SET str:int16 12345", "SET str:int32 2147483647",
            "SET str:int64 9223372036854775807", "SET str:ttl expiring", "PEXPIREAT str:ttl 4102444800000",
            "RPUSH list:small a b c", "SADD set:intset16 1 2 3", "SADD set:intset32 -5 1 100000",
            "SADD set:intset64 1 5000000000", "SADD set:strings a b c", "ZADD zset:small 1 a 2.5 b -3 c",
            "PEXPIREAT zset:small 4102444800000", "HSET hash:small f1 v1 f2 v2 f3 123",
            "XADD stream:s1 1700000000000-0 name alice age 30", "XADD stream:s1 1700000000001-0 name bob age 25",
            "XADD stream:s1 1700000000002-0 city paris", "XGROUP CREATE stream:s1 grp1 0",
            "XREADGROUP GROUP grp1 consumer1 COUNT 2 STREAMS stream:s1 >",
        ] {
            run_line(&mut srv, &mut c, line);
        }
        run(&mut srv, &mut c, &["SET", "str:empty", ""]);
        let lzf = format!("{}bcdefghij{}", "a".repeat(60), "a".repeat(31));
        run(&mut srv, &mut c, &["SET", "str:lzf", &lzf]);
        let mut push = |key: &str, items: Vec<String>| {
            let mut args = vec!["RPUSH", key];
            args.extend(items.iter().map(String::as_str));
            run(&mut srv, &mut c, &args);
        };
        push("list:200", (0..200).map(|i| format!("item:{i}")).collect());
        let ints = "0 127 128 -1 4095 -4096 4096 32767 -32768 32768 8388607 8388608 2147483647 2147483648 \
                    9223372036854775807 -9223372036854775808";
        let mut items: Vec<String> = ints.split_whitespace().map(str::to_string).collect();
        items.push("x".repeat(100));
        items.push("y".repeat(5000));
        push("list:ints", items);
        push("list:multinode", (0..1000).map(|i| format!("value-{i:04}-{}", "p".repeat(40))).collect());
        let mut many = |cmd: &str, key: &str, items: Vec<String>| {
            let mut args = vec![cmd, key];
            args.extend(items.iter().map(String::as_str));
            run(&mut srv, &mut c, &args);
        };
        many("SADD", "set:large", (0..600).map(|i| format!("member:{i}")).collect());
        let mut zitems: Vec<String> = (0..200).flat_map(|i| [format!("{}", f64::from(i) / 4.0), format!("m{i}")]).collect();
        zitems.extend(["+inf", "pinf", "-inf", "ninf"].map(str::to_string));
        many("ZADD", "zset:large", zitems);
        many("HSET", "hash:large", (0..600).flat_map(|i| [format!("field:{i}"), format!("value:{i}")]).collect());
        for line in ["SELECT 3", "SET db3:str in-db-3", "SET db3:counter 42", "PEXPIREAT db3:counter 4102444800000", "HSET db3:hash a 1"] {
            run_line(&mut srv, &mut c, line);
        }
        set_stream_clock(&mut srv, 0, b"stream:s1", 1795730163388);
        srv
    }

    /// Puts every delivery and seen time of a stream's groups at `ms`.
    fn set_stream_clock(srv: &mut Server, dbid: usize, key: &[u8], ms: i64) {
        let Some(ValueMut::Stream(s)) = srv.db[dbid].dict.find(key).map(|o| o.value_mut()) else { panic!("stream") };
        for cg in s.cgroups.iter_mut().flat_map(|g| g.values_mut()) {
            cg.pel.values_mut().for_each(|n| n.delivery_time = ms);
            cg.consumers.values_mut().for_each(|c| c.seen_time = ms);
        }
    }

    #[test]
    fn all_types_fixture_keys_are_byte_identical() {
        let file = fixture("redis-7.0.15-all-types.rdb");
        let srv = all_types_server();
        let deterministic = [
            "str:small", "str:empty", "str:int8", "str:int16", "str:int32", "str:int64", "str:lzf", "str:ttl",
            "list:small", "list:200", "list:ints", "list:multinode", "set:intset16", "set:intset32",
            "set:intset64", "zset:small", "zset:large", "hash:small", "stream:s1",
        ];
        for key in deterministic {
            assert_in_fixture(&file, &srv, 0, key);
        }
        for key in ["db3:str", "db3:counter", "db3:hash"] {
            assert_in_fixture(&file, &srv, 3, key);
        }
        // Hash tables are written in the order of a randomly seeded table: the same bytes in
        // another order, so the sizes must match Redis's (the fixture's decode listing).
        for (key, want) in [("set:strings", 7), ("set:large", 6492), ("hash:large", 11782)] {
            let o = srv.db[0].dict.get(key.as_bytes()).unwrap();
            assert_eq!(bytes_of(|r| rdb_save_object(r, o, true)).len(), want, "{key}");
            assert_eq!(rdb_saved_object_len(o, true), want, "{key} serializedlength");
        }
        assert_eq!(srv.db[0].dict.len(), 22);
    }

    #[test]
    fn quicklist_interior_nodes_are_lzf_under_compress_depth() {
        let mut srv = test_server();
        srv.config.list_compress_depth = 1;
        srv.config.list_max_listpack_size = 8;
        let mut c = Client::new(1, None, 0);
        let items: Vec<String> = (0..40).map(|i| format!("element-{i:03}-{}", "z".repeat(20))).collect();
        let mut args = vec!["RPUSH", "l"];
        args.extend(items.iter().map(String::as_str));
        run(&mut srv, &mut c, &args);
        let Some(ValueRef::List(l)) = srv.db[0].dict.get(b"l").map(|o| o.value()) else { panic!("list") };
        assert_eq!(l.quicklist().node_count(), 5);
        // rdbcompression off: the three interior nodes are still LZF (Redis keeps them so
        // in memory); the head and tail are plain.
        let o = srv.db[0].dict.get(b"l").unwrap();
        let mut want = vec![5u8];
        for (i, lp) in l.quicklist().nodes().enumerate() {
            let bytes = lp.as_bytes();
            want.push(2);
            if (1..=3).contains(&i) {
                let c = crate::lzf::lzf_compress(bytes, bytes.len()).unwrap();
                assert!(c.len() + 8 < bytes.len(), "node {i} compresses well");
                want.push(0xc3);
                want.extend(raw_len(c.len()));
                want.extend(raw_len(bytes.len()));
                want.extend_from_slice(&c);
            } else {
                want.extend(raw_len(bytes.len()));
                want.extend_from_slice(bytes);
            }
        }
        assert_eq!(bytes_of(|r| rdb_save_object(r, o, false)), want);
        assert_eq!(rdb_saved_object_len(o, false), want.len());
        // Without a compress depth nothing is LZF unless rdbcompression asks for it.
        let mut plain = srv.db[0].dict.get(b"l").unwrap().clone();
        if let ValueMut::List(l) = plain.value_mut() {
            let mut copy = crate::t_list::ListValue::new(8, 0);
            for v in l.iter() {
                copy.push(&v.to_vec(), crate::quicklist::End::Tail);
            }
            *l = copy;
        }
        let out = bytes_of(|r| rdb_save_object(r, &plain, false));
        assert_eq!(out.len(), 1 + l.quicklist().nodes().map(|lp| 1 + 2 + lp.bytes()).sum::<usize>());
    }

    // ------------------------------------------------------------------------------------
    // End to end: whole files checked by the real redis-check-rdb
    // ------------------------------------------------------------------------------------

    /// Every type and encoding, small and large, with TTLs, in three databases; a stream
    /// with several nodes, deletions, two groups, pending entries and an idle consumer.
    fn every_type_server() -> Server {
        let mut srv = all_types_server();
        let mut c = Client::new(1, None, 0);
        for line in [
            "SET 12345 int-looking-key", "SET -7 negative-int-key", "SET big 123456789012", "HSET hint n 42 m -1",
            "ZADD zint 1 1 2 2 3 3", "EXPIRE set:large 100000", "EXPIRE hash:large 100000", "EXPIRE list:200 100000",
            "EXPIRE stream:s1 100000", "XGROUP CREATECONSUMER stream:s1 grp1 idle-consumer",
        ] {
            run_line(&mut srv, &mut c, line);
        }
        run(&mut srv, &mut c, &["SET", "", "empty key"]);
        for i in 1..=350 {
            run(&mut srv, &mut c, &["XADD", "stream:big", &format!("{i}-1"), "f", &format!("value {i}"), "n", &i.to_string()]);
        }
        for line in [
            "XDEL stream:big 10-1 11-1 200-1", "XGROUP CREATE stream:big g1 0", "XGROUP CREATE stream:big g2 $",
            "XREADGROUP GROUP g1 alice COUNT 5 STREAMS stream:big >", "XREADGROUP GROUP g1 bob COUNT 3 STREAMS stream:big >",
        ] {
            run_line(&mut srv, &mut c, line);
        }
        srv.config.list_compress_depth = 2;
        let items: Vec<String> = (0..3000).map(|i| format!("compressed-list-item-{i}")).collect();
        let mut args = vec!["RPUSH", "list:compressed"];
        args.extend(items.iter().map(String::as_str));
        run(&mut srv, &mut c, &args);
        srv.config.list_compress_depth = 0;
        for line in ["SELECT 15", "SET only 1", "SADD s15 a 1 2", "PEXPIRE s15 99999999"] {
            run_line(&mut srv, &mut c, line);
        }
        srv
    }

    /// A scratch directory under target/ (the same file system as the working directory,
    /// where rdb_save() writes its temp file before renaming it).
    fn scratch_dir(name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/tmp").join(format!("rdb-save-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// rdb-save-incremental-fsync: the file is written in whole autosync chunks (writes
    /// split at the boundaries, each chunk's writeback started) and ends up byte-exact.
    #[test]
    fn autosync_writes_whole_chunks_and_every_byte() {
        let dir = scratch_dir("autosync");
        let path = dir.join("chunks.bin");
        let mut f = RdbFile::new(File::create(&path).unwrap(), 4096);
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(3000) {
            f.write_all(piece).unwrap();
            assert!(f.buffered < 4096, "a full chunk is handed over at once");
            assert_eq!(f.processed % 4096, f.buffered, "chunks fall on boundaries");
        }
        assert_eq!(f.processed, 20_000);
        f.flush_and_sync().unwrap();
        drop(f);
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Runs the real redis-check-rdb; None when it is not installed (a failure under CI).
    fn redis_check_rdb(path: &Path) -> Option<String> {
        let Ok(out) = Command::new("redis-check-rdb").arg(path).output() else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("redis-check-rdb is not on PATH and CI=true: run scripts/install-peers.sh");
            }
            eprintln!("*** SKIP: redis-check-rdb is not on PATH ***");
            return None;
        };
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "redis-check-rdb failed:\n{text}");
        Some(text)
    }

    fn assert_check_ok(path: &Path, keys: usize, expires: usize, checksum: bool) {
        let Some(text) = redis_check_rdb(path) else { return };
        assert!(text.contains("\\o/ RDB looks OK! \\o/"), "{text}");
        assert!(text.contains(&format!("[info] {keys} keys read\n")), "{text}");
        assert!(text.contains(&format!("[info] {expires} expires\n")), "{text}");
        assert!(!text.contains("--- RDB ERROR DETECTED ---"), "{text}");
        if checksum {
            assert!(text.contains("Checksum OK"), "{text}");
        } else {
            assert!(text.contains("RDB file was saved with checksum disabled"), "{text}");
        }
    }

    fn key_counts(srv: &Server) -> (usize, usize) {
        srv.db.iter().fold((0, 0), |(k, e), db| (k + db.dict.len(), e + db.expires.len()))
    }

    #[test]
    fn save_writes_a_file_redis_check_rdb_accepts() {
        let dir = scratch_dir("e2e");
        let mut srv = every_type_server();
        srv.dirty = 17;
        srv.lastsave = 0;
        srv.lastbgsave_status_ok = false;
        let path = dir.join("dump.rdb");
        rdb_save(&mut srv, path.to_str().unwrap(), None, RDBFLAGS_NONE).unwrap();
        assert_eq!((srv.dirty, srv.lastbgsave_status_ok), (0, true));
        assert!(srv.lastsave > 1_700_000_000);
        let tmp = format!("temp-{}.rdb", std::process::id());
        assert!(!Path::new(&tmp).exists(), "the temp file was renamed");
        let file = std::fs::read(&path).unwrap();
        assert_eq!(&file[..9], b"REDIS0010");
        let body = &file[..file.len() - 8];
        assert_eq!(file[file.len() - 8..], crate::crc64::crc64(0, body).to_le_bytes());
        let (keys, expires) = key_counts(&srv);
        assert_eq!((keys, expires), (35, 8));
        assert_check_ok(&path, keys, expires, true);

        // A destination that cannot be renamed to: the error is reported, the temp file gone,
        // and the save state untouched.
        srv.dirty = 5;
        let bad = dir.join("no-such-dir").join("dump.rdb");
        assert!(rdb_save(&mut srv, bad.to_str().unwrap(), None, RDBFLAGS_NONE).is_err());
        assert!(!Path::new(&tmp).exists(), "the temp file was removed");
        assert_eq!(srv.dirty, 5);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Writes the whole file through rdb_save_rio() into `path`.
    fn save_to(srv: &Server, path: &Path, rsi: Option<&RdbSaveInfo>) -> Vec<u8> {
        let mut rio = Rio::new(Vec::new());
        rdb_save_rio(&mut rio, srv, RDBFLAGS_NONE, rsi).unwrap();
        let bytes = rio.into_inner();
        std::fs::write(path, &bytes).unwrap();
        bytes
    }

    #[test]
    fn options_change_the_file_as_in_redis() {
        let dir = scratch_dir("options");
        let mut srv = every_type_server();
        let (keys, expires) = key_counts(&srv);

        // LRU policy: an IDLE opcode before every key; LFU: a FREQ opcode.
        srv.config.maxmemory_policy = MaxmemoryPolicy::AllkeysLru;
        let lru = save_to(&srv, &dir.join("lru.rdb"), None);
        assert_check_ok(&dir.join("lru.rdb"), keys, expires, true);
        let opts = SaveOptions::of(&srv);
        let o = srv.db[0].dict.get(&b"str:small"[..]).unwrap();
        let pair = bytes_of(|r| rdb_save_key_value_pair(r, b"str:small", o, -1, &opts));
        assert_eq!(pair[0], RDB_OPCODE_IDLE);
        assert!(memchr::memmem::find(&lru, &pair).is_some());

        srv.config.maxmemory_policy = MaxmemoryPolicy::VolatileLfu;
        let lfu = save_to(&srv, &dir.join("lfu.rdb"), None);
        assert_check_ok(&dir.join("lfu.rdb"), keys, expires, true);
        let opts = SaveOptions::of(&srv);
        let o = srv.db[0].dict.get(&b"str:small"[..]).unwrap();
        let pair = bytes_of(|r| rdb_save_key_value_pair(r, b"str:small", o, -1, &opts));
        assert_eq!(pair[..2], [RDB_OPCODE_FREQ, opts.clock.lfu_decr_and_return(o.lru()) as u8]);
        assert!(memchr::memmem::find(&lfu, &pair).is_some());
        srv.config.maxmemory_policy = MaxmemoryPolicy::Noeviction;

        // rdbchecksum no: eight zero bytes; rdbcompression no: a bigger file, still valid.
        srv.config.rdbchecksum = false;
        srv.config.rdbcompression = false;
        let plain = save_to(&srv, &dir.join("plain.rdb"), None);
        assert_eq!(plain[plain.len() - 8..], [0u8; 8]);
        assert_check_ok(&dir.join("plain.rdb"), keys, expires, false);
        srv.config.rdbchecksum = true;
        srv.config.rdbcompression = true;
        let packed = save_to(&srv, &dir.join("packed.rdb"), None);
        assert!(packed.len() < plain.len());

        // Replication info adds repl-stream-db, repl-id and repl-offset before aof-base.
        let repl_id = *b"8f0e6a5d3c2b1a09f8e7d6c5b4a39281706f5e4d";
        let rsi = RdbSaveInfo { repl_stream_db: 0, repl_id_is_set: true, repl_id, repl_offset: 345 };
        let repl = save_to(&srv, &dir.join("repl.rdb"), Some(&rsi));
        assert_check_ok(&dir.join("repl.rdb"), keys, expires, true);
        let mut want = b"\xfa\x0erepl-stream-db\xc0\x00\xfa\x07repl-id\x28".to_vec();
        want.extend_from_slice(&repl_id);
        want.extend_from_slice(b"\xfa\x0brepl-offset\xc1\x59\x01\xfa\x08aof-base\xc0\x00");
        assert!(memchr::memmem::find(&repl, &want).is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Manual interop check: writes /tmp/ferredis-save-digest/dump.rdb and prints the
    /// DEBUG DIGEST ferredis computes for the same data, to compare with a real
    /// redis-server started on that file. Run with --ignored.
    #[test]
    #[ignore]
    fn manual_digest_dump() {
        let srv = every_type_server();
        let dir = Path::new("/tmp/ferredis-save-digest");
        std::fs::create_dir_all(dir).unwrap();
        save_to(&srv, &dir.join("dump.rdb"), None);
        let digest = crate::debug::compute_dataset_digest(&srv.db);
        let hex = crate::sha1::digest_to_hex(&digest);
        println!("ferredis digest {}", String::from_utf8_lossy(&hex));
        for (dbid, db) in srv.db.iter().enumerate().filter(|(_, db)| !db.dict.is_empty()) {
            println!("db{dbid}: {} keys, {} expires", db.dict.len(), db.expires.len());
        }
        for key in ["str:lzf", "stream:big", "zset:large", "hash:small", "list:multinode", "list:ints", "stream:s1"] {
            let o = srv.db[0].dict.get(key.as_bytes()).unwrap();
            println!("{key} serializedlength:{}", rdb_saved_object_len(o, true));
        }
    }
}

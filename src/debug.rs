//! The DEBUG command: Redis's debug.c, the subcommands Redis's own test suite relies on.
//!
//! DEBUG is a protected command (`enable-debug-command`, checked in process_command). It
//! runs inside `call()` on the event loop like any command; DEBUG SLEEP blocks the whole
//! server on purpose, as in Redis. DEBUG DIGEST computes the same SHA1-based dataset digest
//! as Redis, so two servers holding the same data (ours and Redis, or a master and its
//! replica) report the same 40 hex digits.

use crate::db::{self, RedisDb};
use crate::networking::Client;
use crate::object::{self, AccessClock, RObj, StrValue, Value, ValueRef};
use crate::server::Server;
use crate::sha1::{self, DIGEST_LEN};
use crate::util;

/// A 20-byte SHA1 digest.
pub type Digest = [u8; DIGEST_LEN];

/// Redis: debugCommand()'s help text in 7.0.15 (its subcommands, as `DEBUG HELP` lists them).
const DEBUG_HELP: &[&str] = &[
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
];

/// The subcommands implemented here, each with the argument count Redis accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subcommand {
    Help,
    Log,
    Object,
    Populate,
    Digest,
    DigestValue,
    Protocol,
    Sleep,
    SetActiveExpire,
    SetSkipChecksumValidation,
    HtStats,
    HtStatsKey,
    ConfigRewriteForceAll,
    Reload,
    ReplyBuffer,
}

/// Redis: the `!strcasecmp(...) && c->argc == N` chain of debugCommand().
fn parse_subcommand(name: &[u8], argc: usize) -> Option<Subcommand> {
    use Subcommand::*;
    let name = String::from_utf8_lossy(name).to_ascii_lowercase();
    let (sub, argc_ok) = match name.as_str() {
        "help" => (Help, argc == 2),
        "log" => (Log, argc == 3),
        "object" => (Object, argc == 3),
        "populate" => (Populate, (3..=5).contains(&argc)),
        "digest" => (Digest, argc == 2),
        "digest-value" => (DigestValue, argc >= 2),
        "protocol" => (Protocol, argc == 3),
        "sleep" => (Sleep, argc == 3),
        "set-active-expire" => (SetActiveExpire, argc == 3),
        "set-skip-checksum-validation" => (SetSkipChecksumValidation, argc == 3),
        "htstats" => (HtStats, argc == 3),
        "htstats-key" => (HtStatsKey, argc == 3),
        "config-rewrite-force-all" => (ConfigRewriteForceAll, argc == 2),
        "reload" => (Reload, argc >= 2),
        "replybuffer" => (ReplyBuffer, argc == 4),
        _ => return None,
    };
    argc_ok.then_some(sub)
}

/// Redis: debug.c debugCommand().
pub fn debug_command(srv: &mut Server, c: &mut Client) {
    let Some(sub) = parse_subcommand(c.argv.get(1), c.argv.len()) else {
        return c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1));
    };
    match sub {
        Subcommand::Help => c.reply.add_reply_help("debug", DEBUG_HELP),
        Subcommand::Log => debug_log(c),
        Subcommand::Object => debug_object(srv, c),
        Subcommand::Populate => debug_populate(srv, c),
        Subcommand::Digest => debug_digest(srv, c),
        Subcommand::DigestValue => debug_digest_value(srv, c),
        Subcommand::Protocol => debug_protocol(c),
        Subcommand::Sleep => debug_sleep(c),
        Subcommand::SetActiveExpire => debug_set_active_expire(srv, c),
        Subcommand::SetSkipChecksumValidation => debug_set_skip_checksum_validation(srv, c),
        Subcommand::HtStats => debug_htstats(srv, c),
        Subcommand::HtStatsKey => debug_htstats_key(srv, c),
        Subcommand::ConfigRewriteForceAll => debug_config_rewrite_force_all(srv, c),
        Subcommand::Reload => crate::rdb::background::debug_reload_command(srv, c),
        Subcommand::ReplyBuffer => debug_reply_buffer(srv, c),
    }
}

/// C's atoi(text) != 0: optional spaces and sign, then the leading digits.
fn atoi_is_nonzero(text: &[u8]) -> bool {
    let text = text.trim_ascii_start();
    let digits = text.strip_prefix(b"-").or_else(|| text.strip_prefix(b"+")).unwrap_or(text);
    digits.iter().take_while(|b| b.is_ascii_digit()).any(|&b| b != b'0')
}

/// DEBUG REPLYBUFFER PEAK-RESET-TIME <NEVER|RESET|ms> | RESIZING <0|1>: the knobs of
/// clientsCronResizeOutputBuffer(), for tests.
fn debug_reply_buffer(srv: &mut Server, c: &mut Client) {
    let what = c.argv.get(2).to_ascii_lowercase();
    let value = c.argv.get(3);
    match what.as_slice() {
        b"peak-reset-time" if value.eq_ignore_ascii_case(b"never") => srv.reply_buffer_peak_reset_time = -1,
        b"peak-reset-time" if value.eq_ignore_ascii_case(b"reset") => {
            srv.reply_buffer_peak_reset_time = crate::server::REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME;
        }
        b"peak-reset-time" => match crate::util::string2ll(value) {
            Some(ms) => srv.reply_buffer_peak_reset_time = ms,
            None => return c.reply.add_reply_error("value is not an integer or out of range"),
        },
        // Redis: atoi(), so anything but a non-zero number disables it.
        b"resizing" => srv.reply_buffer_resizing_enabled = atoi_is_nonzero(value),
        _ => return c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1)),
    }
    c.reply.add_reply_ok();
}

/// DEBUG LOG <message>: one warning line in the server log.
fn debug_log(c: &mut Client) {
    log::warn!("DEBUG LOG: {}", String::from_utf8_lossy(c.argv.get(2)));
    c.reply.add_reply_ok();
}

/// DEBUG SLEEP <seconds>: blocks the server, like Redis's nanosleep.
fn debug_sleep(c: &mut Client) {
    let seconds = strtod_prefix(c.argv.get(2));
    let micros = (seconds * 1_000_000.0) as i64;
    if micros > 0 {
        std::thread::sleep(std::time::Duration::from_micros(micros as u64));
    }
    c.reply.add_reply_ok();
}

/// DEBUG SET-ACTIVE-EXPIRE <0|1>: Redis takes atoi() of the argument, so junk means 0.
fn debug_set_active_expire(srv: &mut Server, c: &mut Client) {
    srv.active_expire_enabled = atoi(c.argv.get(2)) != 0;
    c.reply.add_reply_ok();
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION <0|1>: RESTORE then skips the payload CRC (atoi() of
/// the argument, as Redis). Added with DUMP/RESTORE (cluster.rs).
fn debug_set_skip_checksum_validation(srv: &mut Server, c: &mut Client) {
    srv.skip_checksum_validation = atoi(c.argv.get(2)) != 0;
    c.reply.add_reply_ok();
}

// ----------------------------------------------------------------------------------------
// DIGEST, DIGEST-VALUE
// ----------------------------------------------------------------------------------------

/// Redis: debug.c xorDigest(): digest ^= SHA1(data). Order-independent "addition".
pub fn xor_digest(digest: &mut Digest, data: &[u8]) {
    let hash = sha1::sha1(data);
    for (d, h) in digest.iter_mut().zip(hash.iter()) {
        *d ^= h;
    }
}

/// Redis: debug.c mixDigest(): digest = SHA1(digest ^ SHA1(data)). Order-dependent.
pub fn mix_digest(digest: &mut Digest, data: &[u8]) {
    xor_digest(digest, data);
    *digest = sha1::sha1(&digest[..]);
}

/// Redis: OBJ_STRING etc., the type codes mixed into a value's digest.
fn object_type_code(o: &RObj) -> u32 {
    match o.value() {
        ValueRef::Str(_) => 0,
        ValueRef::List(_) => 1,
        ValueRef::Set(_) => 2,
        ValueRef::ZSet(_) => 3,
        ValueRef::Hash(_) => 4,
        ValueRef::Stream(_) => 6,
    }
}

/// Redis: debug.c xorObjectDigest(): mixes the value's type and content into `digest`,
/// then xors in a marker if `key` has a TTL.
pub fn xor_object_digest(db: &RedisDb, key: &[u8], digest: &mut Digest, o: &RObj) {
    mix_digest(digest, &object_type_code(o).to_be_bytes());
    match o.value() {
        ValueRef::Str(s) => {
            let mut scratch = Vec::new();
            mix_digest(digest, s.bytes(&mut scratch));
        }
        ValueRef::List(l) => l.digest_into(digest),
        ValueRef::Hash(h) => h.digest_into(digest),
        ValueRef::Set(x) => x.digest_into(digest),
        ValueRef::ZSet(z) => z.digest_into(digest),
        ValueRef::Stream(x) => x.digest_into(digest),
    }
    if db.get_expire(key) != -1 {
        xor_digest(digest, b"!!expire!!");
    }
}

/// Redis: debug.c computeDatasetDigest(): per non-empty db, mix its id, then xor in one
/// digest per key (so key order does not matter). All zeros for an empty dataset.
pub fn compute_dataset_digest(dbs: &[RedisDb]) -> Digest {
    let mut digest = [0u8; DIGEST_LEN];
    for (j, db) in dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        mix_digest(&mut digest, &(j as u32).to_be_bytes());
        for (key, val) in db.dict.iter() {
            let mut key_digest = [0u8; DIGEST_LEN];
            mix_digest(&mut key_digest, key);
            xor_object_digest(db, key, &mut key_digest, val);
            xor_digest(&mut digest, &key_digest);
        }
    }
    digest
}

fn add_reply_digest(c: &mut Client, digest: &Digest) {
    c.reply.add_reply_status_bytes(&sha1::digest_to_hex(digest));
}

fn debug_digest(srv: &mut Server, c: &mut Client) {
    let digest = compute_dataset_digest(&srv.db);
    add_reply_digest(c, &digest);
}

/// DEBUG DIGEST-VALUE key...: no lookup (a logically expired key still counts); a missing
/// key digests to zeros.
fn debug_digest_value(srv: &mut Server, c: &mut Client) {
    let Some(db) = srv.db.get(c.db) else { return c.reply.add_reply_array_len(0) };
    let digests: Vec<Digest> = c
        .argv
        .iter()
        .skip(2)
        .map(|key| {
            let mut digest = [0u8; DIGEST_LEN];
            if let Some(o) = db.dict.get(key) {
                xor_object_digest(db, key, &mut digest, o);
            }
            digest
        })
        .collect();
    c.reply.add_reply_array_len(digests.len());
    for digest in &digests {
        add_reply_digest(c, digest);
    }
}

// ----------------------------------------------------------------------------------------
// OBJECT, POPULATE
// ----------------------------------------------------------------------------------------

/// DEBUG OBJECT <key>: Redis's one-line summary of the value (no lookup, no expiry).
fn debug_object(srv: &mut Server, c: &mut Client) {
    let clock = AccessClock::of(srv);
    let shared_ok = object::shared_integers_allowed(srv);
    let compression = srv.config.rdbcompression;
    let Some(o) = srv.db.get(c.db).and_then(|db| db.dict.get(c.argv.get(2))) else {
        return c.reply.add_reply_error("no such key");
    };
    let mut line = format!(
        "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        o as *const RObj,
        o.refcount(shared_ok),
        o.encoding_name(),
        crate::rdb::save::rdb_saved_object_len(o, compression),
        o.lru(),
        clock.estimate_object_idle_time(o.lru()) / 1000
    );
    // Redis appends the quicklist's node statistics for lists.
    if let ValueRef::List(l) = o.value() {
        line.push_str(&l.debug_object_extra());
    }
    c.reply.add_reply_status(&line);
}

/// Redis: POPULATE's key buffer is 128 bytes, so longer names are cut to 127.
const POPULATE_KEY_MAX: usize = 127;

/// DEBUG POPULATE <count> [prefix] [size]: keys "prefix:N" = "value:N" (padded with NULs
/// or cut to `size`), skipping keys that exist. Not counted as changes, as in Redis.
fn debug_populate(srv: &mut Server, c: &mut Client) {
    const POSITIVE: Option<&str> = Some("value is out of range, must be positive");
    let Some(count) = object::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), 0, i64::MAX, POSITIVE) else {
        return;
    };
    let dbid = c.db;
    if srv.db.get_mut(dbid).is_none_or(|db| db.dict.try_expand(count as usize).is_err()) {
        return c.reply.add_reply_error("OOM in dictTryExpand");
    }
    let mut size = 0;
    if c.argv.len() == 5 {
        let Some(n) = object::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(4), 0, i64::MAX, POSITIVE) else {
            return;
        };
        size = n as usize;
    }
    let prefix = if c.argv.len() == 3 { b"key".to_vec() } else { c.argv.get(3).to_vec() };
    for j in 0..count {
        if populate_one(srv, dbid, &prefix, j, size).is_err() {
            // Redis would abort on this allocation failure; we refuse the rest instead.
            return c.reply.add_reply_error("OOM in DEBUG POPULATE: value size too large");
        }
    }
    c.reply.add_reply_ok();
}

fn populate_one(srv: &mut Server, dbid: usize, prefix: &[u8], j: i64, size: usize) -> Result<(), ()> {
    let mut key = prefix.to_vec();
    key.extend_from_slice(format!(":{}", j).as_bytes());
    key.truncate(POPULATE_KEY_MAX);
    if db::lookup_key_write(srv, dbid, &key).is_some() {
        return Ok(());
    }
    let mut value = format!("value:{}", j).into_bytes();
    if size > 0 {
        // `size` comes from the client: reserve fallibly before filling.
        value.try_reserve_exact(size.saturating_sub(value.len())).map_err(|_| ())?;
        value.resize(size, 0);
    }
    let lru = AccessClock::of(srv).initial_lru();
    let Some(db) = srv.db.get_mut(dbid) else { return Ok(()) };
    db.db_add(&key, RObj::new(Value::Str(create_string_value(value)), lru));
    srv.signal_modified_key(dbid, &key);
    Ok(())
}

/// Redis: object.c createStringObject(): embstr up to 44 bytes, else raw; never an integer.
fn create_string_value(bytes: Vec<u8>) -> StrValue {
    StrValue::create_string(bytes)
}

// ----------------------------------------------------------------------------------------
// serializedlength: the size rdb.c would write for a value
// ----------------------------------------------------------------------------------------

/// Redis: rdb.c rdbSavedObjectLen() for the value types that exist.
pub fn rdb_saved_object_len(o: &RObj, rdbcompression: bool) -> usize {
    match o.value() {
        ValueRef::Str(s) => rdb_saved_string_len(s, rdbcompression),
        ValueRef::List(l) => l.rdb_saved_len(rdbcompression),
        ValueRef::Hash(h) => h.rdb_saved_len(rdbcompression),
        ValueRef::Set(x) => x.rdb_saved_len(rdbcompression),
        ValueRef::ZSet(z) => z.rdb_saved_len(rdbcompression),
        ValueRef::Stream(x) => x.rdb_saved_len(rdbcompression),
    }
}

/// Redis: rdb.c rdbSaveStringObject(): integers take the 2/3/5-byte integer encodings or
/// their decimal digits; other strings may be stored as integers, LZF-compressed, or as is.
pub fn rdb_saved_string_len(s: &StrValue, rdbcompression: bool) -> usize {
    match s {
        StrValue::Int(v) => rdb_encoded_integer_len(*v).unwrap_or_else(|| {
            let digits = util::sdigits10(*v) as usize;
            rdb_len_size(digits as u64) + digits
        }),
        StrValue::Embstr(b) => rdb_saved_raw_string_len(b, rdbcompression),
        StrValue::Raw(b) => rdb_saved_raw_string_len(b, rdbcompression),
    }
}

/// Redis: rdb.c rdbSaveRawString().
pub fn rdb_saved_raw_string_len(s: &[u8], rdbcompression: bool) -> usize {
    if s.len() <= 11 {
        if let Some(n) = util::string2ll(s).and_then(rdb_encoded_integer_len) {
            return n;
        }
    }
    // Under 21 bytes LZF cannot win, so Redis does not try.
    if rdbcompression && s.len() > 20 {
        if let Some(n) = rdb_saved_lzf_string_len(s) {
            return n;
        }
    }
    rdb_len_size(s.len() as u64) + s.len()
}

/// Redis: rdb.c rdbSaveLzfStringObject(): only when it saves at least 4 bytes.
fn rdb_saved_lzf_string_len(s: &[u8]) -> Option<usize> {
    if s.len() <= 4 {
        return None;
    }
    let compressed = crate::lzf::lzf_compress(s, s.len() - 4)?;
    Some(1 + rdb_len_size(compressed.len() as u64) + rdb_len_size(s.len() as u64) + compressed.len())
}

/// Redis: rdb.c rdbEncodeInteger(): the integer encodings' sizes (type byte included).
fn rdb_encoded_integer_len(v: i64) -> Option<usize> {
    if i8::try_from(v).is_ok() {
        Some(2)
    } else if i16::try_from(v).is_ok() {
        Some(3)
    } else if i32::try_from(v).is_ok() {
        Some(5)
    } else {
        None
    }
}

/// Redis: rdb.c rdbSaveLen(): 1, 2, 5 or 9 bytes.
pub fn rdb_len_size(len: u64) -> usize {
    if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else if len <= u64::from(u32::MAX) {
        5
    } else {
        9
    }
}

// ----------------------------------------------------------------------------------------
// PROTOCOL, HTSTATS, HTSTATS-KEY, CONFIG-REWRITE-FORCE-ALL
// ----------------------------------------------------------------------------------------

/// Redis's sample double: 3.141, not PI (clippy would suggest the constant).
#[allow(clippy::approx_constant)]
const DEBUG_PROTOCOL_DOUBLE: f64 = 3.141;

/// DEBUG PROTOCOL <type>: one sample reply of each RESP type.
fn debug_protocol(c: &mut Client) {
    let name = String::from_utf8_lossy(c.argv.get(2)).to_ascii_lowercase();
    let r = &mut c.reply;
    match name.as_str() {
        "string" => r.add_reply_bulk(b"Hello World"),
        "integer" => r.add_reply_long_long(12345),
        "double" => r.add_reply_double(DEBUG_PROTOCOL_DOUBLE),
        "bignum" => r.add_reply_big_num(b"1234567999999999999999999999999999999"),
        "null" => r.add_reply_null(),
        "array" | "set" => {
            if name == "set" { r.add_reply_set_len(3) } else { r.add_reply_array_len(3) }
            (0..3).for_each(|j| r.add_reply_long_long(j));
        }
        "map" => {
            r.add_reply_map_len(3);
            for j in 0..3 {
                r.add_reply_long_long(j);
                r.add_reply_bool(j == 1);
            }
        }
        "attrib" => debug_protocol_attrib(c),
        "push" => debug_protocol_push(c),
        "verbatim" => r.add_reply_verbatim(b"This is a verbatim\nstring", "txt"),
        "true" => r.add_reply_bool(true),
        "false" => r.add_reply_bool(false),
        _ => r.add_reply_error("Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"),
    }
}

/// An attribute is not a reply by itself: a real reply follows it (RESP2 gets only that).
fn debug_protocol_attrib(c: &mut Client) {
    let r = &mut c.reply;
    if r.resp >= 3 {
        r.add_reply_attribute_len(1);
        r.add_reply_bulk(b"key-popularity");
        r.add_reply_array_len(2);
        r.add_reply_bulk(b"key:123");
        r.add_reply_long_long(90);
    }
    r.add_reply_bulk(b"Some real reply following the attribute");
}

/// A push is out of band, so a normal reply follows it for clients that wait for one.
fn debug_protocol_push(c: &mut Client) {
    let r = &mut c.reply;
    if r.resp < 3 {
        return r.add_reply_error("RESP2 is not supported by this command");
    }
    r.add_reply_push_len(2);
    r.add_reply_bulk(b"server-cpu-usage");
    r.add_reply_long_long(42);
    r.add_reply_bulk(b"Some real reply following the push reply");
}

/// DEBUG HTSTATS <dbid>: dict.c dictGetStats() of the db's main and expires dicts.
fn debug_htstats(srv: &mut Server, c: &mut Client) {
    let Some(dbid) = object::get_long_from_object_or_reply(&mut c.reply, c.argv.get(2), None) else {
        return;
    };
    let Some(db) = usize::try_from(dbid).ok().and_then(|id| srv.db.get(id)) else {
        return c.reply.add_reply_error("Out of range database");
    };
    let mut stats = String::from("[Dictionary HT]\n");
    stats.push_str(&db.dict.stats());
    stats.push_str("[Expires HT]\n");
    stats.push_str(&db.expires.stats());
    c.reply.add_reply_verbatim(stats.as_bytes(), "txt");
}

/// DEBUG HTSTATS-KEY <key>: only hash-table encoded values (big sets, hashes, sorted sets)
/// have stats; strings never do.
fn debug_htstats_key(srv: &mut Server, c: &mut Client) {
    let key = c.argv.get(2).to_vec();
    let Some(o) = db::lookup_key(srv, c.db, &key, db::LookupFlags::NoTouch) else {
        return c.reply.add_reply_error("no such key");
    };
    let stats = match o.value() {
        ValueRef::Str(_) | ValueRef::Stream(_) => None,
        ValueRef::List(l) => l.htstats(),
        ValueRef::Hash(h) => h.htstats(),
        ValueRef::Set(x) => x.htstats(),
        ValueRef::ZSet(z) => z.htstats(),
    };
    match stats {
        Some(text) => c.reply.add_reply_verbatim(text.as_bytes(), "txt"),
        None => c.reply.add_reply_error("The value stored at the specified key is not represented using an hash table"),
    }
}

/// DEBUG CONFIG-REWRITE-FORCE-ALL: CONFIG REWRITE that writes every option. Without a
/// config file Redis fails opening NULL with EFAULT, whose text we reproduce.
fn debug_config_rewrite_force_all(srv: &mut Server, c: &mut Client) {
    let result = match srv.configfile.as_deref() {
        None => Err("Bad address".to_string()),
        Some(path) => crate::config::rewrite_config(&srv.config, path, &[], true).map_err(|e| io_error_text(&e)),
    };
    match result {
        Ok(()) => c.reply.add_reply_ok(),
        Err(why) => c.reply.add_reply_error(&format!("CONFIG-REWRITE-FORCE-ALL failed: {}", why)),
    }
}

/// strerror()'s text for an I/O error (Rust appends " (os error N)").
fn io_error_text(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

// ----------------------------------------------------------------------------------------
// C number parsing as debug.c does it
// ----------------------------------------------------------------------------------------

/// C atoi(): optional blanks and sign, then digits up to the first non-digit; 0 if none.
fn atoi(s: &[u8]) -> i64 {
    let blanks = s.iter().take_while(|b| util::is_c_space(**b)).count();
    let s = s.get(blanks..).unwrap_or(&[]);
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    let value = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |acc, &b| acc.wrapping_mul(10).wrapping_add(i64::from(b - b'0')));
    if neg { value.wrapping_neg() } else { value }
}

/// C strtod() on the longest numeric prefix (so "1.5s" is 1.5 and "abc" is 0).
fn strtod_prefix(s: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(s);
    let text = text.trim_start();
    let candidate_len = text
        .char_indices()
        .take_while(|(_, ch)| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '+' | '-'))
        .last()
        .map_or(0, |(i, ch)| i + ch.len_utf8());
    (1..=candidate_len).rev().find_map(|len| text.get(..len)?.parse::<f64>().ok()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::RObj;

    fn hex(d: &Digest) -> String {
        String::from_utf8_lossy(&sha1::digest_to_hex(d)).into_owned()
    }

    fn put(db: &mut RedisDb, key: &str, val: &str, expire: Option<i64>) {
        db.db_add(key.as_bytes(), RObj::string_from(val.as_bytes(), 0));
        if let Some(when) = expire {
            db.set_expire(key.as_bytes(), when);
        }
    }

    #[test]
    fn empty_dataset_digest_is_zero() {
        let dbs = vec![RedisDb::new(0), RedisDb::new(1)];
        assert_eq!(hex(&compute_dataset_digest(&dbs)), "0".repeat(40));
    }

    #[test]
    fn digests_match_redis() {
        // Expected values observed on redis-server 7.0.15 with the same data
        // (db0: a=1, b=hello, c=<60 x's>, t=v with a TTL; db1: a=1).
        let mut db0 = RedisDb::new(0);
        put(&mut db0, "a", "1", None);
        put(&mut db0, "b", "hello", None);
        put(&mut db0, "c", &"x".repeat(60), None);
        put(&mut db0, "t", "v", Some(i64::MAX / 2));
        let mut db1 = RedisDb::new(1);
        put(&mut db1, "a", "1", None);
        let value_digest = |db: &RedisDb, key: &str| {
            let mut d = [0u8; DIGEST_LEN];
            xor_object_digest(db, key.as_bytes(), &mut d, db.dict.get(key.as_bytes()).expect("key"));
            hex(&d)
        };
        assert_eq!(value_digest(&db0, "a"), EXPECTED_VALUE_A);
        assert_eq!(value_digest(&db0, "t"), EXPECTED_VALUE_T);
        assert_eq!(hex(&compute_dataset_digest(&[db0, db1])), EXPECTED_DATASET);
    }

    const EXPECTED_VALUE_A: &str = "b4fc66738120fba0b5aa500ab5c2bf89cea1c5da";
    const EXPECTED_VALUE_T: &str = "311b17018163335616e089f6b951c82c477335ac";
    const EXPECTED_DATASET: &str = "98835aab2f68fcd9f262070f46d962a6639e33ff";

    #[test]
    fn dataset_digest_ignores_insertion_order_but_not_db() {
        let mut one = RedisDb::new(0);
        put(&mut one, "x", "1", None);
        put(&mut one, "y", "2", None);
        let mut two = RedisDb::new(0);
        put(&mut two, "y", "2", None);
        put(&mut two, "x", "1", None);
        let d1 = compute_dataset_digest(std::slice::from_ref(&one));
        assert_eq!(d1, compute_dataset_digest(std::slice::from_ref(&two)));
        let moved = compute_dataset_digest(&[RedisDb::new(0), one]);
        assert_ne!(d1, moved);
    }

    #[test]
    fn serialized_lengths_match_redis() {
        // DEBUG OBJECT serializedlength observed on redis-server 7.0.15 (rdbcompression yes).
        let len = |v: &str| rdb_saved_string_len(&StrValue::encode(v.as_bytes()), true);
        assert_eq!(len("12345"), 3);
        assert_eq!(len("123456789012"), 13);
        assert_eq!(len("-5"), 2);
        assert_eq!(len("127"), 2);
        assert_eq!(len("128"), 3);
        assert_eq!(len("-129"), 3);
        assert_eq!(len("32768"), 5);
        assert_eq!(len("2147483648"), 11);
        assert_eq!(len(&"a".repeat(88)), 13);
        assert_eq!(len(&"a".repeat(20)), 21);
        assert_eq!(len(&"a".repeat(21)), 9);
        assert_eq!(len("12345678901234567890"), 21);
        assert_eq!(len(""), 1);
        assert_eq!(len("value:1"), 8);
        let padded = |n: usize| {
            let mut v = b"value:0".to_vec();
            v.resize(n, 0);
            rdb_saved_string_len(&create_string_value(v), true)
        };
        assert_eq!(padded(20), 21);
        assert_eq!(padded(50), 18);
        assert_eq!(rdb_saved_string_len(&StrValue::Raw(Box::new(vec![b'a'; 88])), false), 90);
        // A numeric string stored as embstr still gets the integer encoding.
        assert_eq!(rdb_saved_string_len(&create_string_value(b"100".to_vec()), true), 2);
    }

    #[test]
    fn subcommand_arity_is_redis() {
        use Subcommand::*;
        assert_eq!(parse_subcommand(b"HeLp", 2), Some(Help));
        assert_eq!(parse_subcommand(b"help", 3), None);
        assert_eq!(parse_subcommand(b"populate", 2), None);
        assert_eq!(parse_subcommand(b"populate", 5), Some(Populate));
        assert_eq!(parse_subcommand(b"populate", 6), None);
        assert_eq!(parse_subcommand(b"digest-value", 2), Some(DigestValue));
        assert_eq!(parse_subcommand(b"htstats", 4), None);
        assert_eq!(parse_subcommand(b"segfault", 2), None);
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"  -12abc"), -12);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b""), 0);
        assert_eq!(strtod_prefix(b"0.25"), 0.25);
        assert_eq!(strtod_prefix(b"1.5s"), 1.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b" 2e1x"), 20.0);
        assert_eq!(strtod_prefix("é".as_bytes()), 0.0);
    }

    use crate::test_support::test_server;

    fn run(srv: &mut Server, c: &mut Client, args: &[&str]) -> String {
        crate::test_support::run_command(srv, c, debug_command, args)
    }

    #[test]
    fn populate_and_digest_commands() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, &["debug", "digest"]), format!("+{}\r\n", "0".repeat(40)));
        assert_eq!(run(&mut srv, &mut c, &["debug", "populate", "3", "p", "10"]), "+OK\r\n");
        let stored = srv.db[0].dict.get(b"p:2".as_slice()).and_then(|o| o.as_str()).map(|s| s.to_vec());
        assert_eq!(stored.as_deref(), Some(b"value:2\0\0\0".as_slice()));
        assert_eq!(srv.dirty, 0, "POPULATE is not counted as a change");
        let huge = (u64::MAX / 2).to_string();
        let reply = run(&mut srv, &mut c, &["debug", "populate", "1", "h", &huge]);
        assert!(reply.starts_with("-ERR OOM"), "{reply}");
        assert_eq!(srv.db[0].dict.len(), 3);
        let digest = run(&mut srv, &mut c, &["debug", "digest"]);
        assert_eq!(digest.len(), 43);
        assert_ne!(digest, format!("+{}\r\n", "0".repeat(40)));
        let values = run(&mut srv, &mut c, &["debug", "digest-value", "p:0", "nokey"]);
        assert!(values.starts_with("*2\r\n+") && values.ends_with(&format!("+{}\r\n", "0".repeat(40))));
    }

    #[test]
    fn set_active_expire_and_errors() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run(&mut srv, &mut c, &["debug", "set-active-expire", "0"]), "+OK\r\n");
        assert!(!srv.active_expire_enabled);
        assert_eq!(run(&mut srv, &mut c, &["debug", "set-active-expire", "1"]), "+OK\r\n");
        assert!(srv.active_expire_enabled);
        assert_eq!(
            run(&mut srv, &mut c, &["debug", "nosuch"]),
            "-ERR unknown subcommand or wrong number of arguments for 'nosuch'. Try DEBUG HELP.\r\n"
        );
        assert_eq!(run(&mut srv, &mut c, &["debug", "object", "k"]), "-ERR no such key\r\n");
        assert_eq!(run(&mut srv, &mut c, &["debug", "htstats", "99"]), "-ERR Out of range database\r\n");
        assert_eq!(
            run(&mut srv, &mut c, &["debug", "config-rewrite-force-all"]),
            "-ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address\r\n"
        );
    }

    #[test]
    fn io_error_text_is_strerror() {
        let e = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(io_error_text(&e), "No such file or directory");
    }
}

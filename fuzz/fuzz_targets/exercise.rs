//! What both RDB fuzz targets do with a value once it has loaded: run the commands clients
//! would run on it (key "fuzz" in db 0): the reads of its type (LRANGE, HGETALL, SMEMBERS,
//! ZRANGE, XRANGE, XINFO STREAM FULL, XPENDING ...), DEBUG DIGEST-VALUE, OBJECT ENCODING,
//! DUMP, and writes (LPUSH, LINSERT, HSET, SADD, ZADD, XADD, XDEL, XACK ...), some of which
//! convert the encoding. A value loaded without deep sanitization may hold corrupt entries:
//! the commands may answer anything, but must not panic or loop (Redis asserts there).

use ferredis::config::{SanitizeDumpPayload, ServerConfig};
use ferredis::networking::Client;
use ferredis::object::ValueRef;
use ferredis::server::Server;

pub fn new_server() -> Server {
    let config = ServerConfig { save: Vec::new(), ..ServerConfig::default() };
    let mut srv = ferredis::server::init_server_config(config, &[]).expect("server state");
    srv.db = (0..16).map(ferredis::db::RedisDb::new).collect();
    srv.commands = ferredis::command_table::CommandTable::populate(
        ferredis::commands::COMMAND_TABLE,
        ferredis::command_procs::command_proc,
    );
    srv
}

/// Redis's defaults, or thresholds small enough that every aggregate converts on load.
pub fn configure(srv: &mut Server, tiny: bool, sanitize: bool) {
    let d = ServerConfig::default();
    let c = &mut srv.config;
    let pick = |small: usize, default: usize| if tiny { small } else { default };
    c.hash_max_listpack_entries = pick(2, d.hash_max_listpack_entries);
    c.hash_max_listpack_value = pick(4, d.hash_max_listpack_value);
    c.set_max_intset_entries = pick(2, d.set_max_intset_entries);
    c.zset_max_listpack_entries = pick(2, d.zset_max_listpack_entries);
    c.zset_max_listpack_value = pick(4, d.zset_max_listpack_value);
    c.list_max_listpack_size = if tiny { 2 } else { d.list_max_listpack_size };
    c.sanitize_dump_payload = if sanitize { SanitizeDumpPayload::Yes } else { SanitizeDumpPayload::No };
}

/// Commands of every type on key "fuzz"; those of another type answer WRONGTYPE at once.
const COMMANDS: &[&[&str]] = &[
    &["type", "fuzz"],
    &["object", "encoding", "fuzz"],
    &["debug", "digest-value", "fuzz"],
    &["debug", "object", "fuzz"],
    &["memory", "usage", "fuzz", "samples", "0"],
    &["dump", "fuzz"],
    // lists
    &["llen", "fuzz"],
    &["lrange", "fuzz", "0", "-1"],
    &["lrange", "fuzz", "-3", "-1"],
    &["lindex", "fuzz", "0"],
    &["lindex", "fuzz", "-1"],
    &["lindex", "fuzz", "2"],
    &["lpos", "fuzz", "a", "rank", "-1"],
    &["linsert", "fuzz", "before", "a", "x"],
    &["lset", "fuzz", "1", "y"],
    &["lrem", "fuzz", "0", "a"],
    &["lrem", "fuzz", "-1", "1"],
    &["lpush", "fuzz", "p"],
    &["rpush", "fuzz", "q"],
    &["ltrim", "fuzz", "1", "-2"],
    &["lpop", "fuzz"],
    &["rpop", "fuzz", "2"],
    &["lrange", "fuzz", "0", "-1"],
    // hashes
    &["hlen", "fuzz"],
    &["hgetall", "fuzz"],
    &["hkeys", "fuzz"],
    &["hget", "fuzz", "a"],
    &["hexists", "fuzz", "1"],
    &["hstrlen", "fuzz", "a"],
    &["hrandfield", "fuzz", "-5", "withvalues"],
    &["hrandfield", "fuzz", "3"],
    &["hscan", "fuzz", "0"],
    &["hincrby", "fuzz", "n", "1"],
    &["hset", "fuzz", "a", "v"],
    &["hdel", "fuzz", "1"],
    &["hset", "fuzz", "long", "0123456789012345678901234567890123456789012345678901234567890123456789"],
    &["hgetall", "fuzz"],
    // sets
    &["scard", "fuzz"],
    &["smembers", "fuzz"],
    &["sismember", "fuzz", "1"],
    &["smismember", "fuzz", "1", "a"],
    &["srandmember", "fuzz", "-5"],
    &["srandmember", "fuzz", "3"],
    &["sscan", "fuzz", "0"],
    &["sintercard", "1", "fuzz"],
    &["sadd", "fuzz", "5"],
    &["srem", "fuzz", "1"],
    &["spop", "fuzz"],
    &["sadd", "fuzz", "x"],
    &["spop", "fuzz", "2"],
    &["smembers", "fuzz"],
    // sorted sets
    &["zcard", "fuzz"],
    &["zrange", "fuzz", "0", "-1", "withscores"],
    &["zrange", "fuzz", "(1", "5", "byscore"],
    &["zrangebylex", "fuzz", "-", "+"],
    &["zrevrange", "fuzz", "0", "2"],
    &["zrank", "fuzz", "a"],
    &["zrevrank", "fuzz", "1"],
    &["zscore", "fuzz", "a"],
    &["zmscore", "fuzz", "a", "b"],
    &["zcount", "fuzz", "-inf", "+inf"],
    &["zlexcount", "fuzz", "-", "+"],
    &["zrandmember", "fuzz", "-5", "withscores"],
    &["zrandmember", "fuzz", "3"],
    &["zscan", "fuzz", "0"],
    &["zadd", "fuzz", "1.5", "a"],
    &["zincrby", "fuzz", "2", "b"],
    &["zrem", "fuzz", "1"],
    &["zremrangebyscore", "fuzz", "0", "1"],
    &["zremrangebyrank", "fuzz", "0", "0"],
    &["zremrangebylex", "fuzz", "[a", "[c"],
    &["zpopmin", "fuzz"],
    &["zpopmax", "fuzz", "2"],
    &["zadd", "fuzz", "3", "0123456789012345678901234567890123456789012345678901234567890123456789"],
    &["zrange", "fuzz", "0", "-1", "withscores"],
    // streams (group commands run per group below)
    &["xlen", "fuzz"],
    &["xrange", "fuzz", "-", "+"],
    &["xrevrange", "fuzz", "+", "-", "count", "3"],
    &["xinfo", "stream", "fuzz"],
    &["xinfo", "stream", "fuzz", "full"],
    &["xinfo", "groups", "fuzz"],
    &["xread", "count", "2", "streams", "fuzz", "0"],
    &["xdel", "fuzz", "1-1"],
    &["xadd", "fuzz", "*", "f", "v"],
    &["xtrim", "fuzz", "maxlen", "3"],
    &["xsetid", "fuzz", "18446744073709551615-18446744073709551615"],
    &["xrange", "fuzz", "-", "+"],
];

/// Runs one command on key "fuzz" as a client would (the proc of its command table entry,
/// subcommands included) and drops the reply.
fn run(srv: &mut Server, c: &mut Client, args: &[&[u8]]) {
    let Some(first) = args.first() else { return };
    let name = String::from_utf8_lossy(first).to_ascii_lowercase();
    let sub = args.get(1).map(|s| String::from_utf8_lossy(s).to_ascii_lowercase());
    let proc_ = sub
        .and_then(|sub| ferredis::command_procs::command_proc(&format!("{name}|{sub}")))
        .or_else(|| ferredis::command_procs::command_proc(&name));
    let Some(proc_) = proc_ else { return };
    c.argv.clear();
    for arg in args {
        c.argv.push(arg);
    }
    srv.cmd_time_snapshot = ferredis::util::mstime();
    proc_(srv, c);
    let n = c.reply.pending_len();
    c.reply.advance(n);
}

/// The stream's groups and, for each, its consumers (a few of each), as the payload named
/// them.
fn stream_groups(srv: &Server) -> Vec<(Vec<u8>, Vec<Vec<u8>>)> {
    let Some(ValueRef::Stream(s)) = srv.db.first().and_then(|db| db.dict.get(&b"fuzz"[..])).map(|o| o.value()) else {
        return Vec::new();
    };
    let Some(groups) = &s.cgroups else { return Vec::new() };
    groups
        .iter()
        .take(3)
        .map(|(name, cg)| (name.to_vec(), cg.consumers.keys().take(3).map(|c| c.to_vec()).collect()))
        .collect()
}

/// The group commands, for every group and consumer the stream has.
fn exercise_groups(srv: &mut Server, c: &mut Client) {
    for (group, consumers) in stream_groups(srv) {
        let g: &[u8] = &group;
        run(srv, c, &[b"xinfo", b"consumers", b"fuzz", g]);
        run(srv, c, &[b"xpending", b"fuzz", g]);
        run(srv, c, &[b"xpending", b"fuzz", g, b"-", b"+", b"10"]);
        for consumer in consumers.iter().map(Vec::as_slice).chain([&b"newcomer"[..]]) {
            run(srv, c, &[b"xpending", b"fuzz", g, b"-", b"+", b"10", consumer]);
            run(srv, c, &[b"xreadgroup", b"group", g, consumer, b"count", b"2", b"streams", b"fuzz", b"0"]);
            run(srv, c, &[b"xreadgroup", b"group", g, consumer, b"count", b"2", b"streams", b"fuzz", b">"]);
            run(srv, c, &[b"xclaim", b"fuzz", g, consumer, b"0", b"1-1", b"0-1"]);
            run(srv, c, &[b"xautoclaim", b"fuzz", g, consumer, b"0", b"0", b"count", b"3"]);
        }
        run(srv, c, &[b"xack", b"fuzz", g, b"1-1", b"0-1"]);
        if let Some(first) = consumers.first() {
            run(srv, c, &[b"xgroup", b"delconsumer", b"fuzz", g, first]);
        }
        run(srv, c, &[b"xgroup", b"setid", b"fuzz", g, b"0", b"entriesread", b"3"]);
        run(srv, c, &[b"xinfo", b"stream", b"fuzz", b"full"]);
        run(srv, c, &[b"xgroup", b"destroy", b"fuzz", g]);
    }
}

pub fn exercise(srv: &mut Server, c: &mut Client) {
    exercise_groups(srv, c);
    for cmd in COMMANDS {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        run(srv, c, &args);
    }
    run(srv, c, &[b"debug", b"digest-value", b"fuzz"]);
    run(srv, c, &[b"del", b"fuzz"]);
}


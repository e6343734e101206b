//! RDB interoperability with the real redis-server 7.0.15, both ways (issue 4, "Done when").
//!
//! One script of commands (every type and encoding, small and large variants, binary and
//! empty key names, TTLs, databases 0, 3 and 15, streams with deleted entries, consumer
//! groups, PEL and consumers) is sent to a ferredis and a redis-server started with the same
//! settings, so both hold the same dataset (their DEBUG DIGEST must already agree). Each side
//! then saves (SAVE or BGSAVE), and four loaders start on the two files:
//!
//! * redis on ferredis's file and ferredis on redis's file (the interop proper): every key,
//!   its type, value digest, PEXPIRETIME, the stream's XINFO STREAM FULL, DBSIZE per db and
//!   DEBUG DIGEST must equal the writer's;
//! * redis on redis's file and ferredis on ferredis's file (the references): OBJECT ENCODING
//!   and DEBUG OBJECT's layout fields (serializedlength, quicklist nodes and compression) of
//!   every key must be the same whichever server loads a given file, so the encodings
//!   ferredis picks on load are Redis's, and those redis picks for ferredis's file are the
//!   ones it picks for its own.
//!
//! redis-check-rdb must accept every ferredis dump. Variants: default settings, writers with
//! rdbcompression no, writers with rdbchecksum no (loaders keep the default, which accepts a
//! zero checksum), list-compress-depth 1 on writers and loaders, list-compress-depth 1 on the
//! writers only, and BGSAVE instead of SAVE. DEBUG RELOAD must keep everything too.
//! All waits are bounded polls; nothing asserts on time. Under CI=true a missing redis-server
//! or redis-check-rdb is a failure.
mod common;

use common::{encode_command, escape_bytes, require_redis, RawConn, Server};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------------------------
// RESP values
// ---------------------------------------------------------------------------------------------

/// A RESP2 reply, parsed.
#[derive(Clone, Debug, PartialEq)]
enum Resp {
    Str(Vec<u8>),
    Err(String),
    Int(i64),
    Nil,
    Arr(Vec<Resp>),
}

fn parse(buf: &[u8]) -> Resp {
    let mut pos = 0;
    parse_at(buf, &mut pos)
}

fn parse_at(buf: &[u8], pos: &mut usize) -> Resp {
    let end = *pos + buf[*pos..].windows(2).position(|w| w == b"\r\n").expect("CRLF in reply");
    let kind = buf[*pos];
    let line = String::from_utf8_lossy(&buf[*pos + 1..end]).into_owned();
    *pos = end + 2;
    match kind {
        b'+' => Resp::Str(line.into_bytes()),
        b'-' => Resp::Err(line),
        b':' => Resp::Int(line.parse().expect("integer reply")),
        b'$' => {
            let len: i64 = line.parse().expect("bulk length");
            if len < 0 {
                return Resp::Nil;
            }
            let body = buf[*pos..*pos + len as usize].to_vec();
            *pos += len as usize + 2;
            Resp::Str(body)
        }
        b'*' => {
            let len: i64 = line.parse().expect("array length");
            if len < 0 {
                return Resp::Nil;
            }
            Resp::Arr((0..len).map(|_| parse_at(buf, pos)).collect())
        }
        other => panic!("unexpected RESP type {:?} in {}", other as char, escape_bytes(buf)),
    }
}

impl Resp {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Resp::Str(b) => b.clone(),
            Resp::Int(n) => n.to_string().into_bytes(),
            other => panic!("expected a string reply, got {other:?}"),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn int(&self) -> i64 {
        match self {
            Resp::Int(n) => *n,
            other => panic!("expected an integer reply, got {other:?}"),
        }
    }
}

/// Sends `cmds` pipelined (in chunks, so neither side's buffers grow without bound) and
/// returns the parsed replies in order.
fn pipeline(c: &mut RawConn, cmds: &[Vec<Vec<u8>>]) -> Vec<Resp> {
    let mut replies = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(256) {
        let mut batch = Vec::new();
        for cmd in chunk {
            let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
            batch.extend_from_slice(&encode_command(&args));
        }
        c.send(&batch);
        for cmd in chunk {
            let raw = c.read_reply().unwrap_or_else(|e| panic!("{}: {e}", show_cmd(cmd)));
            replies.push(parse(&raw));
        }
    }
    replies
}

fn one(c: &mut RawConn, args: &[&[u8]]) -> Resp {
    parse(&c.cmd(args))
}

fn show_cmd(cmd: &[Vec<u8>]) -> String {
    let parts: Vec<String> = cmd.iter().map(|a| escape_bytes(&a[..a.len().min(60)])).collect();
    parts.join(" ")
}

// ---------------------------------------------------------------------------------------------
// The dataset
// ---------------------------------------------------------------------------------------------

/// Anything usable as one command argument.
trait Arg {
    fn arg(self) -> Vec<u8>;
}
impl Arg for &str {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for String {
    fn arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}
impl Arg for &String {
    fn arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl Arg for Vec<u8> {
    fn arg(self) -> Vec<u8> {
        self
    }
}
impl Arg for &[u8] {
    fn arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl<const N: usize> Arg for &[u8; N] {
    fn arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl Arg for i64 {
    fn arg(self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

macro_rules! cmd {
    ($s:expr, $($a:expr),+ $(,)?) => { $s.push(vec![$(Arg::arg($a)),+]) };
}

/// The command script both servers run.
struct Script {
    cmds: Vec<Vec<Vec<u8>>>,
    rng: u64,
    /// Absolute expiry times are derived from this, so both servers get the same ones.
    expire_base_ms: i64,
}

impl Script {
    fn push(&mut self, cmd: Vec<Vec<u8>>) {
        self.cmds.push(cmd);
    }

    /// `head` followed by `items`, as one command.
    fn variadic(&mut self, head: &[&str], items: impl IntoIterator<Item = Vec<u8>>) {
        let mut cmd: Vec<Vec<u8>> = head.iter().map(|a| a.as_bytes().to_vec()).collect();
        cmd.extend(items);
        self.cmds.push(cmd);
    }

    /// Xorshift: deterministic "random" bytes without a dependency.
    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn random_bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| (self.next() >> 24) as u8).collect()
    }

    fn expire(&mut self, key: impl Arg, offset_ms: i64) {
        let at = self.expire_base_ms + offset_ms;
        cmd!(self, "PEXPIREAT", key, at);
    }
}

fn binary_bytes() -> Vec<u8> {
    (0..=255u8).chain((0..=255u8).rev()).collect()
}

fn dataset(expire_base_ms: i64) -> Vec<Vec<Vec<u8>>> {
    let mut s = Script { cmds: Vec::new(), rng: 0x9e37_79b9_7f4a_7c15, expire_base_ms };
    cmd!(s, "SELECT", "0");
    strings(&mut s);
    lists(&mut s);
    hashes(&mut s);
    sets(&mut s);
    zsets(&mut s);
    streams(&mut s);
    db3(&mut s);
    db15(&mut s);
    cmd!(s, "SELECT", "0");
    s.cmds
}

fn strings(s: &mut Script) {
    let ints = [
        ("str:int:small", "42"),
        ("str:int:zero", "0"),
        ("str:int:neg", "-12345"),
        ("str:int:16", "30000"),
        ("str:int:32", "2000000000"),
        ("str:int:48", "123456789012"),
        ("str:int:max", "9223372036854775807"),
        ("str:int:min", "-9223372036854775808"),
        ("str:notint:plus", "+5"),
        ("str:notint:lead0", "007"),
        ("str:notint:20digits", "99999999999999999999"),
        ("str:float", "3.14159"),
        ("str:embstr", "hello world"),
        ("str:empty", ""),
    ];
    for (k, v) in ints {
        cmd!(s, "SET", k, v);
    }
    cmd!(s, "SET", "str:embstr44", "x".repeat(44));
    cmd!(s, "SET", "str:raw45", "y".repeat(45));
    cmd!(s, "SET", "str:len20", "a".repeat(20));
    cmd!(s, "SET", "str:len21", "a".repeat(21));
    cmd!(s, "SET", "str:lzf", "abc".repeat(1000));
    let random = s.random_bytes(500);
    cmd!(s, "SET", "str:raw:random", random);
    cmd!(s, "SET", "str:binary", binary_bytes().repeat(4));
    cmd!(s, "SET", "str:big", "0123456789".repeat(20_000));
    let big_random = s.random_bytes(100_000);
    cmd!(s, "SET", "str:big:random", big_random);
    cmd!(s, "APPEND", "str:append", "ab");
    cmd!(s, "APPEND", "str:append", "cd");
    for _ in 0..3 {
        cmd!(s, "INCR", "str:incr");
    }
    cmd!(s, "INCRBYFLOAT", "str:incrbyfloat", "1.5");
    cmd!(s, "SETRANGE", "str:setrange", "10", "x");
    cmd!(s, "SET", "", "value of the empty key");
    cmd!(s, "SET", b"\x00bin\xff\r\nkey \"q\"", "binary name");
    cmd!(s, "SET", b"\xff", binary_bytes());
    s.expire("str:embstr", 1);
    s.expire("str:lzf", 1_001);
    s.expire("str:int:max", 17);
    s.expire("", 5);
    s.expire(b"\x00bin\xff\r\nkey \"q\"", 11);
}

fn lists(s: &mut Script) {
    cmd!(s, "RPUSH", "list:small", "a", "b", "c", "1", "2", "3", "");
    let ints = [
        "0", "127", "128", "4095", "-4096", "32767", "-32768", "8388607", "-8388608",
        "2147483647", "-2147483648", "9223372036854775807", "-9223372036854775808",
        "12345678901", "-1",
    ];
    s.variadic(&["RPUSH", "list:ints"], ints.iter().map(|v| v.as_bytes().to_vec()));
    let lens = [63usize, 64, 4095, 4096, 5000];
    s.variadic(&["RPUSH", "list:strlens"], lens.iter().map(|&n| "z".repeat(n).into_bytes()));
    cmd!(s, "RPUSH", "list:binary", binary_bytes(), b"\x00", b"\r\n");
    s.variadic(&["RPUSH", "list:quicklist"], (0..5000).map(|i| format!("elem:{i}").into_bytes()));
    let big: Vec<Vec<u8>> = (0..30).map(|i| format!("{i:05}").repeat(2000).into_bytes()).collect();
    s.variadic(&["RPUSH", "list:bigelems"], big);
    let random: Vec<Vec<u8>> = (0..300).map(|_| s.random_bytes(200)).collect();
    s.variadic(&["RPUSH", "list:random"], random);
    s.variadic(&["RPUSH", "list:mixed"], (0..3000).map(|i| i.to_string().into_bytes()));
    cmd!(s, "LTRIM", "list:mixed", "100", "2800");
    cmd!(s, "LINSERT", "list:mixed", "BEFORE", "500", "inserted");
    cmd!(s, "LREM", "list:mixed", "0", "1000");
    cmd!(s, "LSET", "list:mixed", "5", "set-by-lset");
    cmd!(s, "LPUSH", "list:mixed", "head1", "head2");
    s.variadic(&["RPUSH", "list:tmp"], (0..100).map(|i| i.to_string().into_bytes()));
    cmd!(s, "LMOVE", "list:tmp", "list:moved", "LEFT", "RIGHT");
    s.expire("list:small", 2_000);
    s.expire("list:quicklist", 3_000);
}

fn hashes(s: &mut Script) {
    cmd!(s, "HSET", "hash:small", "f1", "v1", "f2", "2", "f3", "-3", "num", "12345678901",
        "empty", "", "", "empty field");
    cmd!(s, "HINCRBY", "hash:small", "counter", "7");
    cmd!(s, "HINCRBYFLOAT", "hash:small", "fl", "2.5");
    let many = (0..1000).flat_map(|i| [format!("field:{i}").into_bytes(), format!("value:{i}").into_bytes()]);
    s.variadic(&["HSET", "hash:ht:many"], many);
    cmd!(s, "HSET", "hash:ht:longval", "a", "1", "b", "v".repeat(100));
    cmd!(s, "HSET", "hash:ht:longfield", "f".repeat(65), "1");
    let shrunk = (0..200).flat_map(|i| [format!("f{i}").into_bytes(), i.to_string().into_bytes()]);
    s.variadic(&["HSET", "hash:ht:shrunk"], shrunk);
    s.variadic(&["HDEL", "hash:ht:shrunk"], (10..200).map(|i| format!("f{i}").into_bytes()));
    cmd!(s, "HSET", "hash:binary", binary_bytes(), b"\x00\x01", b"\xff\xfe", binary_bytes());
    let big = (0..10).flat_map(|i| [format!("big{i}").into_bytes(), format!("{i}").repeat(2000).into_bytes()]);
    s.variadic(&["HSET", "hash:bigvalues"], big);
    cmd!(s, "HSET", b"\x00hash\xff", "k", "v");
    s.expire("hash:ht:many", 3);
    s.expire("hash:small", 4_321);
}

fn sets(s: &mut Script) {
    cmd!(s, "SADD", "set:is16", "1", "2", "3", "-5", "100", "32767", "-32768");
    cmd!(s, "SADD", "set:is32", "100000", "-70000", "1", "2147483647", "-2147483648");
    cmd!(s, "SADD", "set:is64", "5000000000", "-9223372036854775808", "9223372036854775807", "1");
    s.variadic(&["SADD", "set:is:large"], (0..500).map(|i| i.to_string().into_bytes()));
    s.variadic(&["SADD", "set:is:large64"], (0..500i64).map(|i| (i * 10_000_000_000 - 7).to_string().into_bytes()));
    cmd!(s, "SADD", "set:ht:small", "a", "b", "c", "1");
    s.variadic(&["SADD", "set:ht:ints"], (0..1000).map(|i| i.to_string().into_bytes()));
    s.variadic(&["SADD", "set:ht:many"], (0..2000).map(|i| format!("m:{i}").into_bytes()));
    cmd!(s, "SADD", "set:ht:binary", binary_bytes(), b"\x00", b"", b"\xff\xff");
    s.variadic(&["SADD", "set:ht:intshrunk"], (0..600).map(|i| i.to_string().into_bytes()));
    s.variadic(&["SREM", "set:ht:intshrunk"], (10..600).map(|i| i.to_string().into_bytes()));
    cmd!(s, "SADD", "set:is:tmp", "1", "2", "3");
    cmd!(s, "SMOVE", "set:is:tmp", "set:ht:small", "2");
    s.expire("set:is16", 123_456);
    s.expire("set:ht:many", 8);
}

fn zsets(s: &mut Script) {
    cmd!(s, "ZADD", "zset:small", "1", "a", "2", "b", "1.5", "c", "-inf", "d", "+inf", "e", "0", "f", "-0", "g");
    cmd!(s, "ZINCRBY", "zset:small", "0.25", "a");
    cmd!(s, "ZADD", "zset:scores", "0.1", "a", "-3.25", "b", "1e300", "c", "3.141592653589793", "d",
        "5e-324", "e", "1.7976931348623157e308", "f", "-1.7976931348623157e308", "g", "12345678901", "h",
        "-9223372036854775808", "i", "0.30000000000000004", "j");
    let many = (0..1000i64).flat_map(|i| [format!("{}", i as f64 * 0.37 - 100.0).into_bytes(), format!("m:{i}").into_bytes()]);
    s.variadic(&["ZADD", "zset:sl:many"], many);
    cmd!(s, "ZADD", "zset:sl:many", "-inf", "minus-inf", "+inf", "plus-inf", "-0", "minus-zero", "2.5e-300", "tiny");
    cmd!(s, "ZADD", "zset:sl:longmember", "1", "m".repeat(100), "2", "x");
    let shrunk = (0..200i64).flat_map(|i| [i.to_string().into_bytes(), format!("s{i}").into_bytes()]);
    s.variadic(&["ZADD", "zset:sl:shrunk"], shrunk);
    cmd!(s, "ZREMRANGEBYRANK", "zset:sl:shrunk", "0", "194");
    cmd!(s, "ZADD", "zset:binary", "1", binary_bytes(), "2", b"\x00", "3", b"");
    s.expire("zset:sl:many", 7);
    s.expire("zset:small", 999);
}

/// The ID of stream:big's entry number `i`.
fn sid(i: i64) -> String {
    format!("{}-{}", 1_700_000_000_000 + i * 3, i % 4)
}

fn streams(s: &mut Script) {
    cmd!(s, "XADD", "stream:small", "1-1", "f", "v");
    // 1000 entries over several nodes (100 entries or 4 KB each), field sets that match the
    // master entry and ones that don't, big values, deletions inside and of whole nodes.
    for i in 1..=1000i64 {
        let id = sid(i);
        match i % 7 {
            0 => cmd!(s, "XADD", "stream:big", id, "name", format!("n{i}"), "other", "x"),
            3 => cmd!(s, "XADD", "stream:big", id, "payload", "p".repeat(300 + i as usize)),
            _ => cmd!(s, "XADD", "stream:big", id, "name", format!("n{i}"), "value", i),
        }
    }
    let first_node = (1..=100i64).map(|i| sid(i).into_bytes());
    s.variadic(&["XDEL", "stream:big"], first_node);
    let scattered = (300..700i64).step_by(13).map(|i| sid(i).into_bytes());
    s.variadic(&["XDEL", "stream:big"], scattered);
    cmd!(s, "XGROUP", "CREATE", "stream:big", "g1", "0");
    cmd!(s, "XGROUP", "CREATE", "stream:big", "g2", "$");
    cmd!(s, "XGROUP", "CREATE", "stream:big", "g3", "0", "ENTRIESREAD", "5");
    cmd!(s, "XREADGROUP", "GROUP", "g1", "alice", "COUNT", "50", "STREAMS", "stream:big", ">");
    cmd!(s, "XREADGROUP", "GROUP", "g1", "bob", "COUNT", "30", "STREAMS", "stream:big", ">");
    cmd!(s, "XREADGROUP", "GROUP", "g3", "dave", "NOACK", "COUNT", "10", "STREAMS", "stream:big", ">");
    let acked = (101..=140i64).step_by(2).map(|i| sid(i).into_bytes());
    s.variadic(&["XACK", "stream:big", "g1"], acked);
    cmd!(s, "XGROUP", "CREATECONSUMER", "stream:big", "g1", "carol");
    let claimed = sid(102);
    cmd!(s, "XCLAIM", "stream:big", "g1", "carol", "0", claimed, "TIME", "1700000000123", "RETRYCOUNT", "7", "JUSTID");
    // A pending entry that no longer exists in the stream.
    let gone = sid(104);
    cmd!(s, "XDEL", "stream:big", gone);
    cmd!(s, "XADD", "stream:empty", "5-5", "a", "b");
    cmd!(s, "XDEL", "stream:empty", "5-5");
    cmd!(s, "XGROUP", "CREATE", "stream:groups-only", "g", "$", "MKSTREAM");
    cmd!(s, "XADD", "stream:trimmed", "1-1", "a", "1");
    cmd!(s, "XADD", "stream:trimmed", "2-1", "a", "2");
    cmd!(s, "XADD", "stream:trimmed", "3-1", "a", "3");
    cmd!(s, "XTRIM", "stream:trimmed", "MAXLEN", "1");
    cmd!(s, "XSETID", "stream:trimmed", "99-9", "ENTRIESADDED", "50", "MAXDELETEDID", "2-1");
    s.expire("stream:big", 99);
}

fn db3(s: &mut Script) {
    cmd!(s, "SELECT", "3");
    cmd!(s, "SET", "str:embstr", "same name as in db 0");
    cmd!(s, "SET", "", "empty key in db 3");
    cmd!(s, "RPUSH", "list:db3", "x", "y", "z");
    cmd!(s, "HSET", "hash:db3", "a", "1");
    cmd!(s, "SADD", "set:db3", "7", "8");
    cmd!(s, "ZADD", "zset:db3", "1.25", "m");
    cmd!(s, "XADD", "stream:db3", "10-1", "k", "v");
    cmd!(s, "XGROUP", "CREATE", "stream:db3", "grp", "0");
    cmd!(s, "XREADGROUP", "GROUP", "grp", "c1", "STREAMS", "stream:db3", ">");
    s.expire("str:embstr", 50_000);
    s.expire("hash:db3", 60_001);
}

fn db15(s: &mut Script) {
    cmd!(s, "SELECT", "15");
    for i in 0..3000i64 {
        match i % 3 {
            0 => cmd!(s, "SET", format!("k:{i}"), i * 1_000_003),
            1 => cmd!(s, "SET", format!("k:{i}"), format!("value-{i}")),
            _ => cmd!(s, "SET", format!("k:{i}"), format!("{i}-").repeat(20)),
        }
    }
    for chunk in 0..30i64 {
        s.variadic(&["RPUSH", "big:list"], (0..1000).map(|i| (chunk * 1000 + i).to_string().into_bytes()));
    }
    for chunk in 0..10i64 {
        let fields = (0..1000).flat_map(|i| [format!("f{}", chunk * 1000 + i).into_bytes(), i.to_string().into_bytes()]);
        s.variadic(&["HSET", "big:hash"], fields);
        s.variadic(&["SADD", "big:set"], (0..1000).map(|i| format!("s{}", chunk * 1000 + i).into_bytes()));
        s.variadic(&["SADD", "big:intset"], (0..1000).map(|i| (chunk * 1000 + i).to_string().into_bytes()));
        let members = (0..1000i64).flat_map(|i| [format!("{}", (chunk * 1000 + i) as f64 / 7.0).into_bytes(), format!("z{}", chunk * 1000 + i).into_bytes()]);
        s.variadic(&["ZADD", "big:zset"], members);
    }
    for i in (0..3000i64).step_by(100) {
        s.expire(format!("k:{i}"), 10_000 + i);
    }
    s.expire("big:zset", 77);
}

/// Sends the dataset; every reply must be a non-error.
fn populate(srv: &Server, script: &[Vec<Vec<u8>>]) {
    let mut c = srv.conn();
    let replies = pipeline(&mut c, script);
    let errors: Vec<String> = script
        .iter()
        .zip(&replies)
        .filter_map(|(cmd, reply)| match reply {
            Resp::Err(e) => Some(format!("{} -> {e}", show_cmd(cmd))),
            _ => None,
        })
        .collect();
    assert!(errors.is_empty(), "{} rejected dataset commands:\n{}", srv.kind.name(), errors.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Snapshots of a server's dataset
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default, PartialEq)]
struct KeySnap {
    ty: String,
    encoding: String,
    pexpiretime: i64,
    digest: String,
    /// DEBUG OBJECT's deterministic fields: serializedlength and the quicklist's ql_* ones.
    layout: String,
    /// XINFO STREAM key FULL COUNT 0, raw reply bytes (streams only).
    xinfo: Option<Vec<u8>>,
}

struct Snapshot {
    who: String,
    digest: String,
    dbsize: Vec<i64>,
    keys: Vec<BTreeMap<Vec<u8>, KeySnap>>,
}

const DBS: usize = 16;

fn snapshot(srv: &Server, who: &str) -> Snapshot {
    let mut c = srv.conn();
    let digest = one(&mut c, &[b"DEBUG", b"DIGEST"]).text();
    let mut dbsize = Vec::new();
    let mut keys = Vec::new();
    for db in 0..DBS {
        one(&mut c, &[b"SELECT", db.to_string().as_bytes()]);
        dbsize.push(one(&mut c, &[b"DBSIZE"]).int());
        keys.push(db_keys(&mut c));
    }
    one(&mut c, &[b"SELECT", b"0"]);
    Snapshot { who: who.to_string(), digest, dbsize, keys }
}

fn db_keys(c: &mut RawConn) -> BTreeMap<Vec<u8>, KeySnap> {
    let Resp::Arr(names) = one(c, &[b"KEYS", b"*"]) else { panic!("KEYS * not an array") };
    let names: Vec<Vec<u8>> = names.iter().map(Resp::bytes).collect();
    let mut cmds = Vec::new();
    for k in &names {
        cmds.push(vec![b"TYPE".to_vec(), k.clone()]);
        cmds.push(vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), k.clone()]);
        cmds.push(vec![b"PEXPIRETIME".to_vec(), k.clone()]);
        cmds.push(vec![b"DEBUG".to_vec(), b"DIGEST-VALUE".to_vec(), k.clone()]);
        cmds.push(vec![b"DEBUG".to_vec(), b"OBJECT".to_vec(), k.clone()]);
    }
    let replies = pipeline(c, &cmds);
    let mut out = BTreeMap::new();
    for (k, r) in names.into_iter().zip(replies.chunks(5)) {
        let digest = match &r[3] {
            Resp::Arr(v) if v.len() == 1 => v[0].text(),
            other => panic!("DEBUG DIGEST-VALUE: {other:?}"),
        };
        let ty = r[0].text();
        let xinfo = (ty == "stream").then(|| c.cmd(&[b"XINFO", b"STREAM", &k, b"FULL", b"COUNT", b"0"]));
        let layout = layout(&r[4].text());
        let snap = KeySnap { ty, encoding: r[1].text(), pexpiretime: r[2].int(), digest, layout, xinfo };
        out.insert(k, snap);
    }
    out
}

/// The fields of a DEBUG OBJECT reply that depend only on the value and its encoding (not on
/// addresses, clocks or sharing).
fn layout(debug_object: &str) -> String {
    let fields = debug_object.split(' ').filter(|f| f.starts_with("serializedlength:") || f.starts_with("ql_"));
    fields.collect::<Vec<_>>().join(" ")
}

/// What `compare` looks at besides the content (keys, types, value digests, DBSIZE, DEBUG
/// DIGEST), which is always compared.
#[derive(Clone, Copy)]
struct Aspects {
    /// PEXPIRETIME of every key.
    ttl: bool,
    /// OBJECT ENCODING of every key, and its DEBUG OBJECT layout (quicklist nodes,
    /// compression, serialized length).
    encoding: bool,
    /// XINFO STREAM FULL of every stream (groups, PEL, consumers, delivery times).
    xinfo: bool,
}

const CONTENT: Aspects = Aspects { ttl: true, encoding: false, xinfo: true };
const ENCODING: Aspects = Aspects { ttl: false, encoding: true, xinfo: false };

/// Every difference between two snapshots, as readable lines.
fn compare(a: &Snapshot, b: &Snapshot, what: Aspects) -> Vec<String> {
    let mut out = Vec::new();
    let title = format!("[{} vs {}]", a.who, b.who);
    if !what.encoding && a.digest != b.digest {
        out.push(format!("{title} DEBUG DIGEST {} != {}", a.digest, b.digest));
    }
    for db in 0..DBS {
        if a.dbsize[db] != b.dbsize[db] {
            out.push(format!("{title} db {db}: DBSIZE {} != {}", a.dbsize[db], b.dbsize[db]));
        }
        for (k, ka) in &a.keys[db] {
            let name = escape_bytes(k);
            let Some(kb) = b.keys[db].get(k) else {
                out.push(format!("{title} db {db}: key {name} missing on the right"));
                continue;
            };
            compare_key(&mut out, &format!("{title} db {db} key {name}"), ka, kb, what);
        }
        for k in b.keys[db].keys().filter(|k| !a.keys[db].contains_key(*k)) {
            out.push(format!("{title} db {db}: key {} missing on the left", escape_bytes(k)));
        }
    }
    out
}

fn compare_key(out: &mut Vec<String>, at: &str, a: &KeySnap, b: &KeySnap, what: Aspects) {
    if a.ty != b.ty {
        out.push(format!("{at}: TYPE {} != {}", a.ty, b.ty));
    }
    if what.encoding {
        if a.encoding != b.encoding {
            out.push(format!("{at}: OBJECT ENCODING {} != {}", a.encoding, b.encoding));
        }
        if a.layout != b.layout {
            out.push(format!("{at}: DEBUG OBJECT {:?} != {:?}", a.layout, b.layout));
        }
        return;
    }
    if a.digest != b.digest {
        out.push(format!("{at}: DIGEST-VALUE {} != {}", a.digest, b.digest));
    }
    if what.ttl && a.pexpiretime != b.pexpiretime {
        out.push(format!("{at}: PEXPIRETIME {} != {}", a.pexpiretime, b.pexpiretime));
    }
    if what.xinfo && a.xinfo != b.xinfo {
        let (xa, xb) = (a.xinfo.clone().unwrap_or_default(), b.xinfo.clone().unwrap_or_default());
        out.push(format!("{at}: XINFO STREAM FULL differs {}", first_difference(&xa, &xb)));
    }
}

/// Where two byte strings part, with some context from each.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let at = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
    let from = at.saturating_sub(120);
    let window = |s: &[u8]| escape_bytes(&s[from.min(s.len())..(at + 120).min(s.len())]);
    format!("at byte {at} (of {} and {}):\n  {}\n  {}", a.len(), b.len(), window(a), window(b))
}

/// Guards against a vacuous pass: the writer's dataset must hold every type and encoding
/// this test is about, in the three databases, with TTLs.
fn assert_coverage(snap: &Snapshot) {
    let mut seen = std::collections::BTreeSet::new();
    let mut expires = 0;
    let mut multi_node_lists = 0;
    for db in &snap.keys {
        for k in db.values() {
            seen.insert(format!("{}/{}", k.ty, k.encoding));
            expires += usize::from(k.pexpiretime > 0);
            multi_node_lists += usize::from(k.ty == "list" && !k.layout.contains("ql_nodes:1 "));
            assert!(k.layout.contains("serializedlength:"), "{}: DEBUG OBJECT layout {:?}", snap.who, k.layout);
        }
    }
    assert!(multi_node_lists >= 4, "{}: only {multi_node_lists} lists with several nodes", snap.who);
    let wanted = [
        "string/int", "string/embstr", "string/raw", "list/quicklist", "hash/listpack",
        "hash/hashtable", "set/intset", "set/hashtable", "zset/listpack", "zset/skiplist",
        "stream/stream",
    ];
    let missing: Vec<&str> = wanted.iter().copied().filter(|w| !seen.contains(*w)).collect();
    assert!(missing.is_empty(), "{}: no key with {missing:?}; seen {seen:?}", snap.who);
    for db in [0, 3, 15] {
        assert!(snap.dbsize[db] > 0, "{}: db {db} is empty", snap.who);
    }
    assert!(expires >= 20, "{}: only {expires} keys with a TTL", snap.who);
}

// ---------------------------------------------------------------------------------------------
// Saving, loading, checking
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Save {
    Foreground,
    Background,
}

fn info_field(c: &mut RawConn, name: &str) -> String {
    let info = one(c, &[b"INFO", b"persistence"]).text();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in INFO persistence:\n{info}"))
}

/// Polls `cond` every 20 ms for at most `secs` seconds.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// Saves `srv`'s dataset to `dir`/dump.rdb, in the foreground or in a fork child.
fn save(srv: &Server, how: Save) {
    let mut c = srv.conn();
    match how {
        Save::Foreground => {
            c.set_timeout(Duration::from_secs(30));
            assert_eq!(one(&mut c, &[b"SAVE"]), Resp::Str(b"OK".to_vec()), "{} SAVE", srv.kind.name());
        }
        Save::Background => {
            let reply = one(&mut c, &[b"BGSAVE"]);
            assert_eq!(reply, Resp::Str(b"Background saving started".to_vec()), "{} BGSAVE", srv.kind.name());
            let what = format!("{} rdb_bgsave_in_progress:0", srv.kind.name());
            wait_until(30, &what, || info_field(&mut c, "rdb_bgsave_in_progress") == "0");
            assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok", "{} BGSAVE status", srv.kind.name());
            let log = std::fs::read_to_string(&srv.log).unwrap_or_default();
            assert!(log.contains("Background saving terminated with success"), "{} log:\n{log}", srv.kind.name());
        }
    }
    assert!(srv.dir.join("dump.rdb").exists(), "{} wrote no dump.rdb", srv.kind.name());
}

/// redis-check-rdb must be present under CI=true; elsewhere a missing one skips the check.
fn redis_check_rdb(path: &Path) -> Option<String> {
    let out = match Command::new("redis-check-rdb").arg(path).output() {
        Ok(out) => out,
        Err(e) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "redis-check-rdb is not runnable and CI=true: {e}");
            eprintln!("*** SKIP redis-check-rdb: {e} ***");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let ok = out.status.success() && text.contains("RDB looks OK");
    (!ok).then(|| format!("redis-check-rdb rejects {}:\n{text}", path.display()))
}

/// A loader on `dir`'s dump.rdb, once it answers PING (not -LOADING); Err with the server's
/// output when it refuses the file.
fn start_loader(kind: common::ServerKind, dir: &Path, args: &[&str]) -> Result<Server, String> {
    let dir = dir.to_str().expect("utf-8 dir").to_string();
    let mut all = vec!["--enable-debug-command", "yes", "--dir", dir.as_str()];
    all.extend_from_slice(args);
    let started = catch_unwind(AssertUnwindSafe(|| Server::start(kind, &all)));
    let srv = started.map_err(|panic| {
        let msg = panic.downcast_ref::<String>().cloned().unwrap_or_default();
        format!("{} refused the file in {dir}:\n{msg}", kind.name())
    })?;
    let mut c = srv.conn();
    wait_until(30, "loading to finish", || one(&mut c, &[b"PING"]) == Resp::Str(b"PONG".to_vec()));
    Ok(srv)
}

/// Fails with every collected problem, a bounded number of lines each.
fn report(problems: Vec<String>) {
    if problems.is_empty() {
        return;
    }
    let shown: Vec<&String> = problems.iter().take(80).collect();
    let shown: Vec<String> = shown.iter().map(|p| p.chars().take(3000).collect()).collect();
    panic!("{} problems:\n{}", problems.len(), shown.join("\n"));
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Thirty days from now, so nothing expires during the test and both servers get the same
/// absolute times.
fn expire_base() -> i64 {
    now_ms() + 30 * 24 * 3600 * 1000 + 123
}

// ---------------------------------------------------------------------------------------------
// The round trip
// ---------------------------------------------------------------------------------------------

struct Variant {
    /// Settings of the two writers (and only them).
    writer_args: &'static [&'static str],
    /// Settings of all four loaders and the writers.
    common_args: &'static [&'static str],
    save: Save,
}

/// Both writers get the dataset and save; both files are loaded by both servers; every
/// difference is collected and reported together.
fn round_trip(v: Variant) {
    if !require_redis() {
        return;
    }
    let script = dataset(expire_base());
    let mut writer_args = vec!["--enable-debug-command", "yes"];
    writer_args.extend_from_slice(v.common_args);
    writer_args.extend_from_slice(v.writer_args);
    let fw = Server::start_ferredis(&writer_args);
    let rw = Server::start_redis(&writer_args);
    populate(&fw, &script);
    populate(&rw, &script);
    let f_src = snapshot(&fw, "ferredis writer");
    let r_src = snapshot(&rw, "redis writer");
    assert_coverage(&f_src);
    let mut problems = compare(&f_src, &r_src, Aspects { ttl: true, encoding: false, xinfo: false });
    save(&fw, v.save);
    save(&rw, v.save);
    problems.extend(redis_check_rdb(&fw.dir.join("dump.rdb")));
    problems.extend(check_loaders(&v, &fw, &rw, &f_src, &r_src));
    report(problems);
}

/// Starts the four loaders and compares them with the writers and with each other.
fn check_loaders(v: &Variant, fw: &Server, rw: &Server, f_src: &Snapshot, r_src: &Snapshot) -> Vec<String> {
    use common::ServerKind::{Ferredis, Redis};
    let mut problems = Vec::new();
    let mut load = |kind, writer: &Server, who: &str| match start_loader(kind, &writer.dir, v.common_args) {
        Ok(srv) => {
            let snap = snapshot(&srv, who);
            Some((srv, snap))
        }
        Err(why) => {
            problems.push(why);
            None
        }
    };
    let redis_on_f = load(Redis, fw, "redis loading ferredis's file");
    let ferredis_on_r = load(Ferredis, rw, "ferredis loading redis's file");
    let redis_on_r = load(Redis, rw, "redis loading its own file");
    let ferredis_on_f = load(Ferredis, fw, "ferredis loading its own file");
    fn snap(x: &Option<(Server, Snapshot)>) -> Option<&Snapshot> {
        x.as_ref().map(|(_, s)| s)
    }
    let pairs = [
        (Some(f_src), snap(&redis_on_f), CONTENT),
        (Some(r_src), snap(&ferredis_on_r), CONTENT),
        (Some(f_src), snap(&ferredis_on_f), CONTENT),
        (Some(r_src), snap(&redis_on_r), CONTENT),
        (snap(&redis_on_r), snap(&ferredis_on_r), ENCODING),
        (snap(&redis_on_f), snap(&ferredis_on_f), ENCODING),
        (snap(&redis_on_r), snap(&redis_on_f), ENCODING),
    ];
    for (a, b, what) in pairs {
        if let (Some(a), Some(b)) = (a, b) {
            problems.extend(compare(a, b, what));
        }
    }
    problems
}

#[test]
fn round_trip_default_settings() {
    round_trip(Variant { writer_args: &[], common_args: &[], save: Save::Foreground });
}

#[test]
fn round_trip_writers_without_compression() {
    round_trip(Variant { writer_args: &["--rdbcompression", "no"], common_args: &[], save: Save::Foreground });
}

#[test]
fn round_trip_writers_without_checksum() {
    round_trip(Variant { writer_args: &["--rdbchecksum", "no"], common_args: &[], save: Save::Foreground });
}

#[test]
fn round_trip_list_compress_depth_everywhere() {
    round_trip(Variant { writer_args: &[], common_args: &["--list-compress-depth", "1"], save: Save::Foreground });
}

#[test]
fn round_trip_list_compress_depth_writers_only() {
    round_trip(Variant { writer_args: &["--list-compress-depth", "1"], common_args: &[], save: Save::Foreground });
}

#[test]
fn round_trip_bgsave() {
    round_trip(Variant { writer_args: &[], common_args: &[], save: Save::Background });
}

/// DEBUG RELOAD (save, flush, load) keeps the dataset, TTLs and stream metadata, and the
/// encodings ferredis picks when reloading are the ones redis picks.
#[test]
fn debug_reload_keeps_everything() {
    if !require_redis() {
        return;
    }
    let script = dataset(expire_base());
    let args = ["--enable-debug-command", "yes"];
    let f = Server::start_ferredis(&args);
    let r = Server::start_redis(&args);
    populate(&f, &script);
    populate(&r, &script);
    let before = snapshot(&f, "ferredis before DEBUG RELOAD");
    assert_coverage(&before);
    for srv in [&f, &r] {
        let mut c = srv.conn();
        c.set_timeout(Duration::from_secs(30));
        assert_eq!(one(&mut c, &[b"DEBUG", b"RELOAD"]), Resp::Str(b"OK".to_vec()), "{}", srv.kind.name());
    }
    let f_after = snapshot(&f, "ferredis after DEBUG RELOAD");
    let r_after = snapshot(&r, "redis after DEBUG RELOAD");
    let mut problems = compare(&before, &f_after, CONTENT);
    problems.extend(compare(&r_after, &f_after, ENCODING));
    problems.extend(redis_check_rdb(&f.dir.join("dump.rdb")));
    report(problems);
}

//! DUMP / RESTORE against the real redis-server 7.0.15 (Redis: cluster.c).
//!
//! - Every type and encoding, small and large, is built on one server, DUMPed, RESTOREd on
//!   the other, and must read back with the same DEBUG DIGEST-VALUE and OBJECT ENCODING, in
//!   both directions; where the encoding does not depend on hash-table order the payloads
//!   must be byte-identical too.
//! - Footers that are wrong (a flipped byte, a truncation, a newer version, a byte too many)
//!   get "ERR DUMP payload version or checksum are wrong" and the server keeps running.
//! - Bodies that are wrong under a correct footer (truncated or mutated, CRC recomputed) get
//!   the real server's verdict ("+OK" or "ERR Bad data format"), byte for byte, with
//!   sanitize-dump-payload yes (deep checks; what both accept reads back with the same
//!   digest) and no (header checks only; Redis may then crash reading what it accepted, so
//!   only the verdicts are compared). ferredis never panics, and every value it accepts
//!   survives being read back in full.
mod common;

use common::{escape_bytes, require_redis, RawConn, Server};

const ARGS: &[&str] = &["--enable-debug-command", "yes"];
const BAD_FOOTER: &[u8] = b"-ERR DUMP payload version or checksum are wrong\r\n";
const BAD_DATA: &[u8] = b"-ERR Bad data format\r\n";

/// One key of the data set: its name and the commands that build it.
struct Entry {
    key: String,
    cmds: Vec<Vec<Vec<u8>>>,
    /// The payload bytes depend on hash-table order (hashtable sets and hashes).
    dict_ordered: bool,
}

fn args(parts: &[&str]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.as_bytes().to_vec()).collect()
}

fn cmd_with(prefix: &[&str], rest: impl IntoIterator<Item = String>) -> Vec<Vec<u8>> {
    let mut v = args(prefix);
    v.extend(rest.into_iter().map(String::into_bytes));
    v
}

fn entry(key: &str, cmds: Vec<Vec<Vec<u8>>>) -> Entry {
    Entry {
        key: key.to_string(),
        cmds,
        dict_ordered: false,
    }
}

fn dict_entry(key: &str, cmds: Vec<Vec<Vec<u8>>>) -> Entry {
    Entry {
        key: key.to_string(),
        cmds,
        dict_ordered: true,
    }
}

fn strings() -> Vec<Entry> {
    let lzf = format!("{}bcdefghij{}", "a".repeat(60), "a".repeat(31));
    let big = format!("{}{}", "x".repeat(20000), "y".repeat(20000));
    let mut e = vec![];
    for (key, val) in [
        ("str:embstr", "hello".to_string()),
        ("str:empty", String::new()),
        ("str:int8", "-100".into()),
        ("str:int16", "12345".into()),
        ("str:int32", "2147483647".into()),
        ("str:int64", "9223372036854775807".into()),
        ("str:lzf", lzf),
        ("str:big", big),
        ("str:notint", "007".into()),
    ] {
        e.push(entry(key, vec![cmd_with(&["SET", key], [val])]));
    }
    let binary: Vec<u8> = (0..=255u8).collect();
    e.push(entry(
        "str:binary",
        vec![vec![b"SET".to_vec(), b"str:binary".to_vec(), binary]],
    ));
    e.push(entry(
        "str:appended",
        vec![
            args(&["SET", "str:appended", "abc"]),
            args(&["APPEND", "str:appended", "def"]),
        ],
    ));
    e
}

fn lists() -> Vec<Entry> {
    let ints = [
        "0",
        "127",
        "128",
        "-1",
        "4095",
        "-4096",
        "4096",
        "32767",
        "-32768",
        "32768",
        "8388607",
        "8388608",
        "2147483647",
        "2147483648",
        "9223372036854775807",
        "-9223372036854775808",
    ];
    let mut mixed: Vec<String> = ints.iter().map(|s| s.to_string()).collect();
    mixed.push("x".repeat(100));
    mixed.push("y".repeat(5000));
    vec![
        entry(
            "list:small",
            vec![args(&["RPUSH", "list:small", "a", "b", "c"])],
        ),
        entry("list:ints", vec![cmd_with(&["RPUSH", "list:ints"], mixed)]),
        entry(
            "list:200",
            vec![cmd_with(
                &["RPUSH", "list:200"],
                (0..200).map(|i| format!("item:{i}")),
            )],
        ),
        entry(
            "list:multinode",
            vec![cmd_with(
                &["RPUSH", "list:multinode"],
                (0..1000).map(|i| format!("value-{i:04}-{}", "p".repeat(40))),
            )],
        ),
        entry(
            "list:bigelem",
            vec![cmd_with(
                &["RPUSH", "list:bigelem", "a"],
                ["B".repeat(9000), "c".into()],
            )],
        ),
        entry(
            "list:compressed",
            vec![
                args(&["CONFIG", "SET", "list-compress-depth", "1"]),
                args(&["CONFIG", "SET", "list-max-listpack-size", "4"]),
                cmd_with(
                    &["RPUSH", "list:compressed"],
                    (0..16).map(|i| format!("node{}-{}", i / 4, "c".repeat(60))),
                ),
                args(&["CONFIG", "SET", "list-compress-depth", "0"]),
                args(&["CONFIG", "SET", "list-max-listpack-size", "-2"]),
            ],
        ),
    ]
}

fn sets() -> Vec<Entry> {
    vec![
        entry(
            "set:intset16",
            vec![args(&["SADD", "set:intset16", "1", "2", "3"])],
        ),
        entry(
            "set:intset32",
            vec![args(&["SADD", "set:intset32", "-5", "1", "100000"])],
        ),
        entry(
            "set:intset64",
            vec![args(&["SADD", "set:intset64", "1", "5000000000"])],
        ),
        entry(
            "set:intset-large",
            vec![cmd_with(
                &["SADD", "set:intset-large"],
                (0..400).map(|i| (i * 7919).to_string()),
            )],
        ),
        dict_entry(
            "set:strings",
            vec![args(&["SADD", "set:strings", "a", "b", "c"])],
        ),
        dict_entry(
            "set:large",
            vec![cmd_with(
                &["SADD", "set:large"],
                (0..600).map(|i| format!("member:{i}")),
            )],
        ),
        dict_entry(
            "set:many-ints",
            vec![cmd_with(
                &["SADD", "set:many-ints"],
                (0..600).map(|i| i.to_string()),
            )],
        ),
    ]
}

fn zsets() -> Vec<Entry> {
    let mut large: Vec<String> = (0..200)
        .flat_map(|i| [format!("{}", f64::from(i) / 4.0), format!("m{i}")])
        .collect();
    large.extend(["+inf", "pinf", "-inf", "ninf"].map(String::from));
    vec![
        entry(
            "zset:small",
            vec![args(&[
                "ZADD",
                "zset:small",
                "1",
                "a",
                "2.5",
                "b",
                "-3",
                "c",
            ])],
        ),
        entry("zset:large", vec![cmd_with(&["ZADD", "zset:large"], large)]),
        entry(
            "zset:longmember",
            vec![cmd_with(
                &["ZADD", "zset:longmember", "1", "a", "2"],
                ["m".repeat(100)],
            )],
        ),
        entry(
            "zset:ties",
            vec![cmd_with(
                &["ZADD", "zset:ties"],
                (0..300).flat_map(|i| [(i % 3).to_string(), format!("t{i}")]),
            )],
        ),
    ]
}

fn hashes() -> Vec<Entry> {
    vec![
        entry(
            "hash:small",
            vec![args(&[
                "HSET",
                "hash:small",
                "f1",
                "v1",
                "f2",
                "v2",
                "f3",
                "123",
            ])],
        ),
        dict_entry(
            "hash:large",
            vec![cmd_with(
                &["HSET", "hash:large"],
                (0..600).flat_map(|i| [format!("field:{i}"), format!("value:{i}")]),
            )],
        ),
        dict_entry(
            "hash:longvalue",
            vec![cmd_with(
                &["HSET", "hash:longvalue", "f1", "v1", "f2"],
                ["v".repeat(100)],
            )],
        ),
    ]
}

fn streams() -> Vec<Entry> {
    let s1 = vec![
        args(&[
            "XADD",
            "stream:s1",
            "1700000000000-0",
            "name",
            "alice",
            "age",
            "30",
        ]),
        args(&[
            "XADD",
            "stream:s1",
            "1700000000001-0",
            "name",
            "bob",
            "age",
            "25",
        ]),
        args(&["XADD", "stream:s1", "1700000000002-0", "city", "paris"]),
        args(&["XGROUP", "CREATE", "stream:s1", "grp1", "0"]),
        args(&[
            "XREADGROUP",
            "GROUP",
            "grp1",
            "consumer1",
            "COUNT",
            "2",
            "STREAMS",
            "stream:s1",
            ">",
        ]),
    ];
    let mut multi: Vec<Vec<Vec<u8>>> = (0..250)
        .map(|i| {
            cmd_with(
                &["XADD", "stream:multinode"],
                [format!("{}-0", i + 1), "f".into(), format!("v{i}")],
            )
        })
        .collect();
    multi.push(args(&["XGROUP", "CREATE", "stream:multinode", "g1", "$"]));
    multi.push(args(&["XGROUP", "CREATE", "stream:multinode", "g2", "0"]));
    multi.push(args(&["XDEL", "stream:multinode", "5-0", "6-0", "120-0"]));
    multi.push(args(&[
        "XSETID",
        "stream:multinode",
        "250-0",
        "ENTRIESADDED",
        "300",
        "MAXDELETEDID",
        "120-0",
    ]));
    vec![
        entry("stream:s1", s1),
        entry("stream:multinode", multi),
        entry(
            "stream:empty",
            vec![
                args(&["XADD", "stream:empty", "5-5", "a", "1"]),
                args(&["XDEL", "stream:empty", "5-5"]),
            ],
        ),
    ]
}

fn dataset() -> Vec<Entry> {
    [strings(), lists(), sets(), zsets(), hashes(), streams()]
        .into_iter()
        .flatten()
        .collect()
}

fn refs(v: &[Vec<u8>]) -> Vec<&[u8]> {
    v.iter().map(Vec::as_slice).collect()
}

/// The payload of a bulk reply (`$N\r\n...\r\n`); panics on anything else.
fn bulk(reply: &[u8]) -> Vec<u8> {
    let text_end = reply
        .iter()
        .position(|&b| b == b'\r')
        .unwrap_or_else(|| panic!("not a bulk: {}", escape_bytes(reply)));
    assert_eq!(
        reply.first(),
        Some(&b'$'),
        "not a bulk: {}",
        escape_bytes(reply)
    );
    let len: usize = std::str::from_utf8(&reply[1..text_end])
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("bulk length");
    reply[text_end + 2..text_end + 2 + len].to_vec()
}

fn build(conn: &mut RawConn, entries: &[Entry]) {
    for e in entries {
        for c in &e.cmds {
            let reply = conn.cmd(&refs(c));
            assert_ne!(
                reply.first(),
                Some(&b'-'),
                "{}: {}",
                escape_bytes(&c.join(&b' ')),
                escape_bytes(&reply)
            );
        }
    }
}

fn digest(conn: &mut RawConn, key: &str) -> Vec<u8> {
    conn.cmd(&[b"DEBUG", b"DIGEST-VALUE", key.as_bytes()])
}

fn restore(conn: &mut RawConn, key: &str, payload: &[u8]) -> Vec<u8> {
    conn.cmd(&[b"RESTORE", key.as_bytes(), b"0", payload, b"REPLACE"])
}

/// Builds the data set on `from`, moves every key to `to` with DUMP / RESTORE and compares.
fn transfer_and_compare(from: &mut RawConn, to: &mut RawConn, direction: &str) {
    let entries = dataset();
    build(from, &entries);
    for e in &entries {
        let payload = bulk(&from.cmd(&[b"DUMP", e.key.as_bytes()]));
        assert_eq!(
            restore(to, &e.key, &payload),
            b"+OK\r\n",
            "{direction}: RESTORE {}",
            e.key
        );
        assert_eq!(
            digest(to, &e.key),
            digest(from, &e.key),
            "{direction}: digest of {}",
            e.key
        );
        // The encoding a RESTORE picks (an APPENDed raw string comes back embstr, for one)
        // must be the one the source server picks for the same payload.
        let copy = format!("{}:copy", e.key);
        assert_eq!(
            restore(from, &copy, &payload),
            b"+OK\r\n",
            "{direction}: RESTORE {copy} at the source"
        );
        let encoding = |c: &mut RawConn, k: &str| c.cmd(&[b"OBJECT", b"ENCODING", k.as_bytes()]);
        assert_eq!(
            encoding(to, &e.key),
            encoding(from, &copy),
            "{direction}: encoding of {}",
            e.key
        );
        if !e.dict_ordered {
            let again = bulk(&to.cmd(&[b"DUMP", e.key.as_bytes()]));
            assert!(
                again == payload,
                "{direction}: DUMP of {} differs:\n{}\n{}",
                e.key,
                escape_bytes(&payload),
                escape_bytes(&again)
            );
        }
    }
}

#[test]
fn redis_payloads_restore_in_ferredis() {
    if !require_redis() {
        return;
    }
    let (redis, ferredis) = (Server::start_redis(ARGS), Server::start_ferredis(ARGS));
    transfer_and_compare(&mut redis.conn(), &mut ferredis.conn(), "redis -> ferredis");
}

#[test]
fn ferredis_payloads_restore_in_redis() {
    if !require_redis() {
        return;
    }
    let (redis, ferredis) = (Server::start_redis(ARGS), Server::start_ferredis(ARGS));
    transfer_and_compare(&mut ferredis.conn(), &mut redis.conn(), "ferredis -> redis");
}

/// Payloads of a few small keys of each type, DUMPed by `conn` (the whole data set built).
fn sample_payloads(conn: &mut RawConn) -> Vec<(String, Vec<u8>)> {
    let entries = dataset();
    build(conn, &entries);
    entries
        .iter()
        .map(|e| (e.key.clone(), bulk(&conn.cmd(&[b"DUMP", e.key.as_bytes()]))))
        .collect()
}

fn with_footer(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = ferredis::crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn broken_footers_are_refused_and_the_server_keeps_running() {
    let mut server = Server::start_ferredis(ARGS);
    let mut c = server.conn();
    let payloads = sample_payloads(&mut c);
    for (key, p) in &payloads {
        let body = &p[..p.len() - 10];
        let small = p.len() <= 64;
        // Every single-bit flip of a small payload; a spread of positions of a large one.
        let positions: Vec<usize> = if small {
            (0..p.len()).collect()
        } else {
            (0..p.len()).step_by(p.len() / 37 + 1).collect()
        };
        for &i in &positions {
            let mut bad = p.clone();
            bad[i] ^= 1 << (i % 8);
            assert_eq!(
                restore(&mut c, "x", &bad),
                BAD_FOOTER,
                "{key}: bit flipped at {i}"
            );
        }
        let cuts: Vec<usize> = if small {
            (0..p.len()).collect()
        } else {
            vec![0, 1, 9, 10, p.len() / 2, p.len() - 1]
        };
        for &n in &cuts {
            assert_eq!(
                restore(&mut c, "x", &p[..n]),
                BAD_FOOTER,
                "{key}: truncated to {n}"
            );
        }
        let mut longer = p.clone();
        longer.push(0);
        assert_eq!(
            restore(&mut c, "x", &longer),
            BAD_FOOTER,
            "{key}: a byte appended"
        );
        for version in [11u16, 12, 0x100, 0xffff] {
            assert_eq!(
                restore(&mut c, "x", &with_footer(body, version)),
                BAD_FOOTER,
                "{key}: version {version}"
            );
        }
        assert_eq!(
            restore(&mut c, "x", &with_footer(body, 9)),
            b"+OK\r\n",
            "{key}: an older version is accepted"
        );
    }
    assert_eq!(c.cmd(&[b"EXISTS", b"x"]), b":1\r\n");
    assert_eq!(c.cmd(&[b"PING"]), b"+PONG\r\n");
    server.assert_alive();
}

/// xorshift64*: deterministic mutations, the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A corrupt variant of `body`: a byte changed, a run of bytes removed or a byte inserted.
fn mutate(rng: &mut Rng, body: &[u8]) -> Vec<u8> {
    let mut b = body.to_vec();
    for _ in 0..=rng.below(3) {
        match rng.below(4) {
            0 | 1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            2 if !b.is_empty() => {
                let i = rng.below(b.len());
                let n = 1 + rng.below(4);
                b.drain(i..(i + n).min(b.len()));
            }
            _ => {
                let i = rng.below(b.len() + 1);
                b.insert(i, rng.next() as u8);
            }
        }
    }
    b
}

/// Reads a value back in full the way clients would, so a value the loader accepted but
/// left inconsistent shows up as a panic (a closed connection) here.
fn read_back(c: &mut RawConn, key: &str) {
    let k = key.as_bytes();
    for cmd in [
        &[&b"DEBUG"[..], b"DIGEST-VALUE", k][..],
        &[b"DUMP", k],
        &[b"TYPE", k],
        &[b"OBJECT", b"ENCODING", k],
        &[b"LRANGE", k, b"0", b"-1"],
        &[b"SMEMBERS", k],
        &[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"],
        &[b"HGETALL", k],
        &[b"XRANGE", k, b"-", b"+"],
        &[b"XINFO", b"STREAM", k, b"FULL"],
        &[b"GET", k],
    ] {
        let _ = c.cmd(cmd);
    }
}

/// The corrupt bodies of `payloads`: every truncation of the first 40 bytes and 60 random
/// mutations per payload (the same on every run), each with a correct footer.
fn corrupt_variants(payloads: &[(String, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::new();
    for (key, p) in payloads {
        let body = &p[..p.len() - 10];
        let mut bodies: Vec<Vec<u8>> = (0..body.len().min(40)).map(|n| body[..n].to_vec()).collect();
        bodies.extend((0..60).map(|_| mutate(&mut rng, body)));
        out.extend(bodies.into_iter().map(|b| (key.clone(), with_footer(&b, 10))));
    }
    out
}

/// RESTORE that tolerates the server dying (Redis asserts on some corrupt data it did not
/// sanitize): None when the connection closed.
fn try_restore(c: &mut RawConn, payload: &[u8]) -> Option<Vec<u8>> {
    let cmd = common::encode_command(&[b"RESTORE", b"x", b"0", payload, b"REPLACE"]);
    c.try_send(&cmd).ok()?;
    c.read_reply().ok()
}

fn try_cmd(c: &mut RawConn, args: &[&[u8]]) -> Option<Vec<u8>> {
    c.try_send(&common::encode_command(args)).ok()?;
    c.read_reply().ok()
}

/// What running every corrupt variant through both servers found.
#[derive(Default)]
struct Verdicts {
    mismatches: Vec<String>,
    accepted: usize,
    refused: usize,
    /// Cases where redis-server died (restarted after each).
    redis_crashes: usize,
    /// Accepted by both, DEBUG DIGEST-VALUE answered by both, and the digests differ.
    digest_differs: usize,
}

/// Restores every corrupt variant on both servers with the same sanitize-dump-payload and
/// compares the replies byte for byte. Whatever ferredis accepts is read back in full
/// (read_back) and it must stay up. Redis may die on data it did not sanitize: it is then
/// restarted and the case skipped.
fn compare_corrupt_verdicts(sanitize: &str) -> Verdicts {
    let args = ["--enable-debug-command", "yes", "--sanitize-dump-payload", sanitize];
    let mut redis = Server::start_redis(&args);
    let mut ferredis = Server::start_ferredis(&args);
    let (mut r, mut f) = (redis.conn(), ferredis.conn());
    let payloads = sample_payloads(&mut r);
    let mut v = Verdicts::default();
    for (key, bad) in corrupt_variants(&payloads) {
        let fr = restore(&mut f, "x", &bad);
        assert!(fr == b"+OK\r\n" || fr == BAD_DATA, "{key}: unexpected reply {}", escape_bytes(&fr));
        let redis_reply = try_restore(&mut r, &bad);
        let redis_digest = redis_reply.as_ref().filter(|rr| *rr == b"+OK\r\n").and_then(|_| try_cmd(&mut r, &[b"DEBUG", b"DIGEST-VALUE", b"x"]));
        let ferredis_digest = (fr == b"+OK\r\n").then(|| digest(&mut f, "x"));
        if fr == b"+OK\r\n" {
            read_back(&mut f, "x");
            v.accepted += 1;
        } else {
            v.refused += 1;
        }
        let redis_died = redis_reply.is_none() || (redis_reply.as_deref() == Some(b"+OK\r\n") && redis_digest.is_none());
        if redis_died {
            v.redis_crashes += 1;
            drop(r);
            redis = Server::start_redis(&args);
            r = redis.conn();
        } else if redis_reply.as_deref() != Some(&fr[..]) {
            let rr = redis_reply.unwrap_or_default();
            v.mismatches.push(format!("{key}: ferredis {} redis {} for {}", escape_bytes(&fr), escape_bytes(&rr), escape_bytes(&bad)));
        } else if redis_digest.is_some() && ferredis_digest != redis_digest {
            v.digest_differs += 1;
        }
        let _ = f.cmd(&[b"DEL", b"x"]);
        if !redis_died {
            let _ = try_cmd(&mut r, &[b"DEL", b"x"]);
        }
    }
    ferredis.assert_alive();
    v
}

/// With sanitize-dump-payload yes both servers walk every entry: the same verdicts, and
/// what both accept has the same digest.
#[test]
fn corrupt_bodies_get_redis_verdicts_when_sanitizing() {
    if !require_redis() {
        return;
    }
    let v = compare_corrupt_verdicts("yes");
    assert!(v.mismatches.is_empty(), "{} verdicts differ from Redis:\n{}", v.mismatches.len(), v.mismatches.join("\n"));
    assert_eq!(v.redis_crashes, 0, "Redis sanitized, it must not crash");
    assert_eq!(v.digest_differs, 0, "accepted by both, read back the same");
    assert!(v.accepted > 100 && v.refused > 100, "accepted {} refused {}", v.accepted, v.refused);
}

/// With sanitize-dump-payload no (the default) both check headers only: RESTORE answers as
/// Redis does (a corrupt entry inside a listpack or an unsorted intset is accepted), and
/// ferredis survives reading and writing whatever it accepted, where Redis may assert and
/// crash. What Redis reads back from such data is not compared: it is garbage or a crash.
#[test]
fn corrupt_bodies_get_redis_verdicts_without_sanitizing() {
    if !require_redis() {
        return;
    }
    let v = compare_corrupt_verdicts("no");
    assert!(v.mismatches.is_empty(), "{} verdicts differ from Redis:\n{}", v.mismatches.len(), v.mismatches.join("\n"));
    eprintln!(
        "sanitize-dump-payload no: {} accepted, {} refused, redis-server crashed on {}, digests differ on {}",
        v.accepted, v.refused, v.redis_crashes, v.digest_differs
    );
}

#[test]
fn a_truncated_body_is_bad_data_format() {
    let mut server = Server::start_ferredis(ARGS);
    let mut c = server.conn();
    for body in [
        &b""[..],
        b"\x02",
        b"\x02\x03\x01a",
        b"\x04\x02\x01f",
        b"\x10\x0d\x0d\x00\x00\x00",
        b"\x13\x01\x10\x00\x00",
        b"\x0b\x0c\x02\x00",
    ] {
        assert_eq!(
            restore(&mut c, "k", &with_footer(body, 10)),
            BAD_DATA,
            "{}",
            escape_bytes(body)
        );
    }
    assert_eq!(c.cmd(&[b"EXISTS", b"k"]), b":0\r\n");
    server.assert_alive();
}

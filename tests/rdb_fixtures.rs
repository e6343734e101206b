//! Start-up loading of real RDB files written by redis-server 7.0.15 (tests/data/rdb/).
//!
//! Each fixture is copied as `dump.rdb` into a fresh directory and ferredis is started on it:
//! every key listed in the fixture's .txt must come back with its type, OBJECT ENCODING,
//! value and TTL, in db 0 and db 3, and nothing else; the same checks run against the real
//! redis-server on the same file (so the expectations themselves are Redis's), and DEBUG
//! DIGEST must be equal on both. Damaged files (truncated, a flipped byte, a wrong checksum,
//! bad magic, version 11) must make ferredis exit non-zero with a clear log line, without a
//! panic and without touching the file. A slow load must answer -LOADING meanwhile.
mod common;

use common::{require_redis, RawConn, Server, FERREDIS_BIN};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rdb");
const EXPIRY_2100: &str = "4102444800000";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    fs::read(format!("{DATA}/redis-7.0.15-{name}.rdb")).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// A fresh directory holding `bytes` as dump.rdb; removed on drop.
struct DumpDir(PathBuf);

impl DumpDir {
    fn new(tag: &str, bytes: &[u8]) -> DumpDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ferredis-rdb-fixture-{}-{tag}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("dump.rdb"), bytes).unwrap();
        DumpDir(dir)
    }

    fn dump(&self) -> PathBuf {
        self.0.join("dump.rdb")
    }

    fn arg(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for DumpDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Every bulk, simple, error and integer element of a reply, arrays flattened, in order.
fn items(reply: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut p = 0;
    while p < reply.len() {
        let kind = reply[p];
        let end = p + reply[p..].windows(2).position(|w| w == b"\r\n").expect("CRLF");
        let line = String::from_utf8_lossy(&reply[p + 1..end]).into_owned();
        p = end + 2;
        match kind {
            b'$' => match line.parse::<usize>() {
                Ok(n) => {
                    out.push(String::from_utf8_lossy(&reply[p..p + n]).into_owned());
                    p += n + 2;
                }
                Err(_) => out.push("(nil)".into()),
            },
            b'*' => {}
            _ => out.push(line),
        }
    }
    out
}

fn cmd(c: &mut RawConn, args: &[&str]) -> Vec<String> {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    items(&c.cmd(&args))
}

fn one(c: &mut RawConn, args: &[&str]) -> String {
    let mut all = cmd(c, args);
    assert_eq!(all.len(), 1, "{args:?} -> {all:?}");
    all.remove(0)
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// TYPE, OBJECT ENCODING and PEXPIRETIME of a key.
fn check_key(c: &mut RawConn, key: &str, ty: &str, enc: &str, expire: Option<&str>) {
    assert_eq!(one(c, &["TYPE", key]), ty, "TYPE {key}");
    assert_eq!(one(c, &["OBJECT", "ENCODING", key]), enc, "OBJECT ENCODING {key}");
    assert_eq!(one(c, &["PEXPIRETIME", key]), expire.unwrap_or("-1"), "PEXPIRETIME {key}");
}

fn check_string(c: &mut RawConn, key: &str, enc: &str, value: &str, expire: Option<&str>) {
    check_key(c, key, "string", enc, expire);
    assert_eq!(one(c, &["GET", key]), value, "GET {key}");
}

fn select(c: &mut RawConn, db: &str) {
    assert_eq!(one(c, &["SELECT", db]), "OK");
}

fn keys_of_db(c: &mut RawConn, db: &str) -> Vec<String> {
    select(c, db);
    sorted(cmd(c, &["KEYS", "*"]))
}

/// The server's log, for assertions on start-up lines.
fn log_text(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Expected contents (the fixtures' .txt files)
// ---------------------------------------------------------------------------------------------

fn check_all_types(c: &mut RawConn) {
    let db0 = [
        "hash:large", "hash:small", "list:200", "list:ints", "list:multinode", "list:small", "set:intset16",
        "set:intset32", "set:intset64", "set:large", "set:strings", "str:empty", "str:int16", "str:int32", "str:int64",
        "str:int8", "str:lzf", "str:small", "str:ttl", "stream:s1", "zset:large", "zset:small",
    ];
    assert_eq!(keys_of_db(c, "0"), strings(&db0));
    check_strings_all_types(c);
    check_lists_all_types(c);
    check_sets_all_types(c);
    check_zsets_all_types(c);
    check_hashes_all_types(c);
    check_stream_all_types(c);
    assert_eq!(keys_of_db(c, "3"), strings(&["db3:counter", "db3:hash", "db3:str"]));
    check_string(c, "db3:str", "embstr", "in-db-3", None);
    check_string(c, "db3:counter", "int", "42", Some(EXPIRY_2100));
    check_key(c, "db3:hash", "hash", "listpack", None);
    assert_eq!(cmd(c, &["HGETALL", "db3:hash"]), strings(&["a", "1"]));
    for db in ["1", "2", "4", "15"] {
        assert_eq!(keys_of_db(c, db), Vec::<String>::new(), "db {db}");
    }
    select(c, "0");
}

fn check_strings_all_types(c: &mut RawConn) {
    select(c, "0");
    check_string(c, "str:small", "embstr", "hello", None);
    check_string(c, "str:empty", "embstr", "", None);
    check_string(c, "str:int8", "int", "-100", None);
    check_string(c, "str:int16", "int", "12345", None);
    check_string(c, "str:int32", "int", "2147483647", None);
    check_string(c, "str:int64", "int", "9223372036854775807", None);
    let lzf = format!("{}bcdefghij{}", "a".repeat(60), "a".repeat(31));
    check_string(c, "str:lzf", "raw", &lzf, None);
    check_string(c, "str:ttl", "embstr", "expiring", Some(EXPIRY_2100));
}

fn check_lists_all_types(c: &mut RawConn) {
    check_key(c, "list:small", "list", "quicklist", None);
    assert_eq!(cmd(c, &["LRANGE", "list:small", "0", "-1"]), strings(&["a", "b", "c"]));
    check_key(c, "list:200", "list", "quicklist", None);
    let items200: Vec<String> = (0..200).map(|i| format!("item:{i}")).collect();
    assert_eq!(cmd(c, &["LRANGE", "list:200", "0", "-1"]), items200);
    check_key(c, "list:ints", "list", "quicklist", None);
    let mut ints = strings(&[
        "0", "127", "128", "-1", "4095", "-4096", "4096", "32767", "-32768", "32768", "8388607", "8388608",
        "2147483647", "2147483648", "9223372036854775807", "-9223372036854775808",
    ]);
    ints.push("x".repeat(100));
    ints.push("y".repeat(5000));
    assert_eq!(cmd(c, &["LRANGE", "list:ints", "0", "-1"]), ints);
    check_key(c, "list:multinode", "list", "quicklist", None);
    let multi: Vec<String> = (0..1000).map(|i| format!("value-{i:04}-{}", "p".repeat(40))).collect();
    assert_eq!(cmd(c, &["LRANGE", "list:multinode", "0", "-1"]), multi);
}

fn check_sets_all_types(c: &mut RawConn) {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("set:intset16", "intset", &["1", "2", "3"]),
        ("set:intset32", "intset", &["-5", "1", "100000"]),
        ("set:intset64", "intset", &["1", "5000000000"]),
        ("set:strings", "hashtable", &["a", "b", "c"]),
    ];
    for (key, enc, members) in cases {
        check_key(c, key, "set", enc, None);
        assert_eq!(sorted(cmd(c, &["SMEMBERS", key])), sorted(strings(members)), "{key}");
    }
    check_key(c, "set:large", "set", "hashtable", None);
    let large: Vec<String> = (0..600).map(|i| format!("member:{i}")).collect();
    assert_eq!(sorted(cmd(c, &["SMEMBERS", "set:large"])), sorted(large));
}

fn check_zsets_all_types(c: &mut RawConn) {
    check_key(c, "zset:small", "zset", "listpack", Some(EXPIRY_2100));
    assert_eq!(cmd(c, &["ZRANGE", "zset:small", "0", "-1", "WITHSCORES"]), strings(&["c", "-3", "a", "1", "b", "2.5"]));
    check_key(c, "zset:large", "zset", "skiplist", None);
    let mut large = strings(&["ninf", "-inf"]);
    for i in 0..200 {
        large.push(format!("m{i}"));
        large.push(format!("{}", i as f64 / 4.0));
    }
    large.extend(strings(&["pinf", "inf"]));
    assert_eq!(cmd(c, &["ZRANGE", "zset:large", "0", "-1", "WITHSCORES"]), large);
}

fn check_hashes_all_types(c: &mut RawConn) {
    check_key(c, "hash:small", "hash", "listpack", None);
    assert_eq!(cmd(c, &["HGETALL", "hash:small"]), strings(&["f1", "v1", "f2", "v2", "f3", "123"]));
    check_key(c, "hash:large", "hash", "hashtable", None);
    assert_eq!(one(c, &["HLEN", "hash:large"]), "600");
    for i in [0, 1, 299, 599] {
        assert_eq!(one(c, &["HGET", "hash:large", &format!("field:{i}")]), format!("value:{i}"));
    }
}

fn check_stream_all_types(c: &mut RawConn) {
    check_key(c, "stream:s1", "stream", "stream", None);
    let entries = strings(&[
        "1700000000000-0", "name", "alice", "age", "30", "1700000000001-0", "name", "bob", "age", "25",
        "1700000000002-0", "city", "paris",
    ]);
    assert_eq!(cmd(c, &["XRANGE", "stream:s1", "-", "+"]), entries);
    let groups = strings(&[
        "name", "grp1", "consumers", "1", "pending", "2", "last-delivered-id", "1700000000001-0", "entries-read", "2",
        "lag", "1",
    ]);
    assert_eq!(cmd(c, &["XINFO", "GROUPS", "stream:s1"]), groups);
    let pending = strings(&["2", "1700000000000-0", "1700000000001-0", "consumer1", "2"]);
    assert_eq!(cmd(c, &["XPENDING", "stream:s1", "grp1"]), pending);
    let detail = cmd(c, &["XPENDING", "stream:s1", "grp1", "-", "+", "10"]);
    assert_eq!((detail[0].as_str(), detail[1].as_str(), detail[3].as_str()), ("1700000000000-0", "consumer1", "1"));
    let info = cmd(c, &["XINFO", "STREAM", "stream:s1"]);
    let field = |name: &str| info.iter().position(|f| f == name).map(|i| info[i + 1].clone());
    assert_eq!(field("length").as_deref(), Some("3"));
    assert_eq!(field("last-generated-id").as_deref(), Some("1700000000002-0"));
    assert_eq!(field("entries-added").as_deref(), Some("3"));
    assert_eq!(field("max-deleted-entry-id").as_deref(), Some("0-0"));
}

fn check_mini(c: &mut RawConn) {
    assert_eq!(keys_of_db(c, "0"), strings(&["e", "h", "l", "n", "s", "si", "ss", "x", "z"]));
    check_string(c, "s", "embstr", "hello", None);
    check_string(c, "n", "int", "42", None);
    check_string(c, "e", "embstr", "v", Some(EXPIRY_2100));
    check_key(c, "l", "list", "quicklist", None);
    assert_eq!(cmd(c, &["LRANGE", "l", "0", "-1"]), strings(&["a", "1"]));
    check_key(c, "si", "set", "intset", None);
    assert_eq!(cmd(c, &["SMEMBERS", "si"]), strings(&["-2", "7"]));
    check_key(c, "ss", "set", "hashtable", None);
    assert_eq!(cmd(c, &["SMEMBERS", "ss"]), strings(&["x"]));
    check_key(c, "z", "zset", "listpack", None);
    assert_eq!(cmd(c, &["ZRANGE", "z", "0", "-1", "WITHSCORES"]), strings(&["m", "1.5"]));
    check_key(c, "h", "hash", "listpack", None);
    assert_eq!(cmd(c, &["HGETALL", "h"]), strings(&["f", "v"]));
    check_key(c, "x", "stream", "stream", None);
    assert_eq!(cmd(c, &["XRANGE", "x", "-", "+"]), strings(&["1-1", "k", "v"]));
    assert_eq!(keys_of_db(c, "3"), strings(&["d3"]));
    check_string(c, "d3", "embstr", "z", None);
    select(c, "0");
}

fn check_repl_sync(c: &mut RawConn) {
    assert_eq!(keys_of_db(c, "0"), strings(&["after", "foo", "mylist"]));
    check_key(c, "mylist", "list", "quicklist", None);
    assert_eq!(cmd(c, &["LRANGE", "mylist", "0", "-1"]), strings(&["a", "b", "c"]));
    check_string(c, "foo", "embstr", "bar", None);
    check_string(c, "after", "embstr", "sync", None);
    assert_eq!(keys_of_db(c, "2"), strings(&["k2"]));
    check_string(c, "k2", "embstr", "v2", None);
    assert_eq!(keys_of_db(c, "5"), strings(&["counter"]));
    check_string(c, "counter", "int", "1", None);
    select(c, "0");
}

// ---------------------------------------------------------------------------------------------
// Fixtures load, on ferredis as on Redis
// ---------------------------------------------------------------------------------------------

/// Loads `name` into ferredis (and Redis when present), runs `check` on both, compares
/// DEBUG DIGEST, and returns ferredis's log.
fn load_and_check(name: &str, check: fn(&mut RawConn)) -> String {
    let bytes = fixture(name);
    let dir = DumpDir::new(name, &bytes);
    let args = ["--enable-debug-command", "yes", "--dir", dir.arg()];
    let ours = Server::start_ferredis(&args);
    let mut oc = ours.conn();
    check(&mut oc);
    let digest = one(&mut oc, &["DEBUG", "DIGEST"]);
    assert_ne!(digest, "0".repeat(40));
    if require_redis() {
        let redis = Server::start_redis(&args);
        let mut rc = redis.conn();
        check(&mut rc);
        assert_eq!(digest, one(&mut rc, &["DEBUG", "DIGEST"]), "DEBUG DIGEST of {name}");
    }
    assert_eq!(fs::read(dir.dump()).unwrap(), bytes, "the file is left as it was");
    log_text(&ours.log)
}

#[test]
fn all_types_fixture_loads_exactly() {
    let log = load_and_check("all-types", check_all_types);
    assert!(log.contains("* Loading RDB produced by version 7.0.15"), "{log}");
    assert!(log.contains("* RDB memory usage when created 1.33 Mb"), "{log}");
    assert!(log.contains("* Done loading RDB, keys loaded: 25, keys expired: 0."), "{log}");
    assert!(log.contains("* DB loaded from disk: "), "{log}");
    let done = log.find("DB loaded from disk").unwrap();
    assert!(log[done..].contains("Ready to accept connections"), "loaded before accepting");
}

#[test]
fn mini_fixture_loads_exactly() {
    let log = load_and_check("mini", check_mini);
    assert!(log.contains("Done loading RDB, keys loaded: 10, keys expired: 0."), "{log}");
}

#[test]
fn repl_sync_fixture_loads_exactly() {
    let log = load_and_check("repl-sync", check_repl_sync);
    assert!(log.contains("Done loading RDB, keys loaded: 5, keys expired: 0."), "{log}");
}

#[test]
fn info_persistence_reports_the_last_load() {
    let dir = DumpDir::new("info", &fixture("mini"));
    let ours = Server::start_ferredis(&["--dir", dir.arg()]);
    let info = String::from_utf8_lossy(&ours.conn().cmd_str("INFO persistence")).into_owned();
    assert!(info.contains("\r\nloading:0\r\n"), "{info}");
    assert!(info.contains("rdb_last_load_keys_loaded:10\r\n"), "{info}");
    assert!(info.contains("rdb_last_load_keys_expired:0\r\n"), "{info}");
    assert!(!info.contains("loading_start_time"), "progress fields only while loading: {info}");
}

#[test]
fn no_dump_file_starts_empty() {
    let dir = DumpDir::new("none", b"");
    fs::remove_file(dir.dump()).unwrap();
    let ours = Server::start_ferredis(&["--dir", dir.arg()]);
    assert_eq!(one(&mut ours.conn(), &["DBSIZE"]), "0");
    let log = log_text(&ours.log);
    assert!(!log.contains("Loading RDB") && !log.contains("DB loaded from disk"), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------------------------

/// Runs ferredis on `bytes` as dump.rdb until it exits (10 s at most); returns its log.
fn run_to_failure(tag: &str, bytes: &[u8]) -> String {
    let dir = DumpDir::new(tag, bytes);
    let log = dir.0.join("log");
    let port = common::free_port().to_string();
    let mut child = Command::new(FERREDIS_BIN)
        .args(["--port", &port, "--save", "", "--dir", dir.arg(), "--logfile", log.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferredis");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{tag}: ferredis still running on a damaged file\n{}", log_text(&log));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}{}",
        log_text(&log),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!status.success(), "{tag}: exit status {status}\n{all}");
    assert_eq!(status.code(), Some(1), "{tag}: exit(1), not a crash\n{all}");
    assert!(!all.contains("panicked"), "{tag}: panic\n{all}");
    assert_eq!(fs::read(dir.dump()).unwrap(), bytes, "{tag}: the file is left as it was");
    assert!(!all.contains("Ready to accept connections"), "{tag}\n{all}");
    all
}

#[test]
fn truncated_file_is_a_short_read() {
    let all_types = fixture("all-types");
    let log = run_to_failure("truncated", &all_types[..20000]);
    assert!(log.contains("# Short read or OOM loading DB. Unrecoverable error, aborting now."), "{log}");
    // Then, as Redis 7.0.15 does, the redis-check-rdb report of the file (see
    // tests/persistence.rs for the whole output compared with the real server's).
    assert!(log.contains("# Internal error in RDB reading offset 0, function at rdb.c:3241 -> Unexpected EOF reading RDB file"), "{log}");
    assert!(log.contains("[offset 19878] Unexpected EOF reading RDB file\n"), "{log}");
}

#[test]
fn flipped_byte_inside_a_value_is_corruption() {
    // The mini fixture's list `l`: its listpack's first entry header (0x81, "a") becomes
    // an unused encoding byte. Loading checks listpack headers only (sanitize-dump-payload
    // no), so the checksum catches it; the redis-check-rdb report then names the listpack.
    let mut mini = fixture("mini");
    assert_eq!(mini[0x8e], 0x81);
    mini[0x8e] = 0xf6;
    let log = run_to_failure("flipped", &mini);
    assert!(log.contains("# Internal error in RDB reading offset 0, function at rdb.c:3217 -> RDB CRC error"), "{log}");
    assert!(
        log.contains("[offset 148] Internal error in RDB reading offset 0, function at rdb.c:2071 -> Listpack integrity check failed."),
        "{log}"
    );
    assert!(log.contains("# Terminating server after rdb file reading failure."), "{log}");
}

#[test]
fn wrong_checksum_is_refused() {
    let mut all_types = fixture("all-types");
    let last = all_types.len() - 1;
    all_types[last] ^= 0xff;
    let log = run_to_failure("checksum", &all_types);
    assert!(
        log.contains("# Wrong RDB checksum expected: (f38c88adaee046bb) but got (c8c88adaee046bb). Aborting now."),
        "{log}"
    );
    assert!(log.contains("[offset 28040] RDB CRC error\n[additional info] While doing: check-sum\n"), "{log}");
}

#[test]
fn bad_magic_is_refused() {
    let mut mini = fixture("mini");
    mini[0] = b'X';
    let log = run_to_failure("magic", &mini);
    assert!(log.contains("# Wrong signature trying to load DB from file"), "{log}");
    assert!(log.contains("# Fatal error loading the DB: Invalid argument. Exiting."), "{log}");
}

#[test]
fn version_11_is_refused() {
    let mut mini = fixture("mini");
    mini[5..9].copy_from_slice(b"0011");
    let log = run_to_failure("v11", &mini);
    assert!(log.contains("# Can't handle RDB format version 11"), "{log}");
    assert!(log.contains("# Fatal error loading the DB: Invalid argument. Exiting."), "{log}");
}

// ---------------------------------------------------------------------------------------------
// Clients while loading
// ---------------------------------------------------------------------------------------------

fn rdb_len(n: usize) -> Vec<u8> {
    assert!(n < 16384);
    if n < 64 {
        vec![n as u8]
    } else {
        vec![0x40 | (n >> 8) as u8, n as u8]
    }
}

/// An RDB of `keys` strings of ~100 bytes each in db 0.
fn generated_rdb(keys: usize) -> Vec<u8> {
    let mut out = b"REDIS0010".to_vec();
    out.extend_from_slice(&[0xFE, 0x00]);
    for i in 0..keys {
        let key = format!("key:{i}");
        let value = format!("{i:0100}");
        out.push(0);
        out.extend_from_slice(&rdb_len(key.len()));
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(&rdb_len(value.len()));
        out.extend_from_slice(value.as_bytes());
    }
    out.push(0xFF);
    let crc = ferredis::crc64::crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[test]
fn clients_get_loading_errors_while_the_file_loads() {
    let bytes = generated_rdb(3000);
    let dir = DumpDir::new("slow", &bytes);
    // 1 ms per key: about three seconds of loading, events served every 1024 bytes.
    let args = ["--dir", dir.arg(), "--key-load-delay", "1000", "--loading-process-events-interval-bytes", "1024"];
    let ours = Server::start_ferredis(&args);
    let mut c = ours.conn();
    assert_eq!(c.cmd_str("PING"), b"-LOADING Redis is loading the dataset in memory\r\n");
    assert_eq!(c.cmd_str("GET key:1"), b"-LOADING Redis is loading the dataset in memory\r\n");
    let info = String::from_utf8_lossy(&c.cmd_str("INFO persistence")).into_owned();
    assert!(info.contains("\r\nloading:1\r\n"), "{info}");
    assert!(info.contains(&format!("loading_total_bytes:{}\r\n", bytes.len())), "{info}");
    for field in ["loading_start_time:", "loading_rdb_used_mem:0", "loading_loaded_bytes:", "loading_loaded_perc:", "loading_eta_seconds:"] {
        assert!(info.contains(field), "{field} in {info}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while c.cmd_str("PING") != b"+PONG\r\n" {
        assert!(Instant::now() < deadline, "still loading after 30 s");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(one(&mut c, &["DBSIZE"]), "3000");
    assert_eq!(one(&mut c, &["GET", "key:2999"]), format!("{:0100}", 2999));
    let log = log_text(&ours.log);
    assert!(log.contains("Done loading RDB, keys loaded: 3000, keys expired: 0."), "{log}");
}

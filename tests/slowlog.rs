//! SLOWLOG GET's entries by content, on ferredis and on the real redis-server 7.0.15 when it is
//! on PATH. The differential scripts (tests/diff/slowlog.txt) can only compare entries by
//! type, because each holds a time, a duration and the client's port; here those three are
//! checked for plausibility and masked, and everything else must equal the expected list
//! (observed on redis-server 7.0.15): ids, arguments with their trimming and redaction, which
//! commands are logged at all (EXEC is not, blocked commands once served), client names.
mod common;

use common::{encode_command, require_redis, RawConn, Server, ServerKind};
use redis::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        other => panic!("expected a string, got {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

/// One entry with its time, duration and client port masked: "id|args...|peer|name", where
/// peer is "A" or "B" for the two test connections.
fn normalize(entry: &Value, peers: &[(String, &str)]) -> String {
    let Value::Array(fields) = entry else { panic!("entry is not an array: {entry:?}") };
    assert_eq!(fields.len(), 6, "entry fields: {fields:?}");
    let time = int(&fields[1]);
    assert!((time - now_secs()).abs() < 600, "entry time {time} is not now");
    assert!(int(&fields[2]) >= 0, "negative duration");
    let Value::Array(args) = &fields[3] else { panic!("args not an array: {fields:?}") };
    let args: Vec<String> = args.iter().map(text).collect();
    let peer = text(&fields[4]);
    let who = peers.iter().find(|(addr, _)| *addr == peer).map_or_else(|| format!("?{peer}"), |(_, n)| n.to_string());
    format!("{}|{}|{}|{}", int(&fields[0]), args.join(" "), who, text(&fields[5]))
}

fn cmd(conn: &mut RawConn, args: &[&str]) -> Value {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let bytes = conn.cmd(&args);
    redis::parse_redis_value(&bytes).unwrap_or_else(|e| panic!("parse {bytes:?}: {e}"))
}

/// The client's own "ip:port" as the server sees it (CLIENT INFO's addr=).
fn peer_of(conn: &mut RawConn) -> String {
    let info = text(&cmd(conn, &["CLIENT", "INFO"]));
    info.split(' ').find_map(|f| f.strip_prefix("addr=")).map(str::to_string).expect("addr= in CLIENT INFO")
}

/// The commands of the scenario, on connection A unless noted; replies are not checked here
/// (the differential script does that).
fn run_scenario(server: &Server) -> Vec<String> {
    let (mut a, mut b) = (server.conn(), server.conn());
    let peers = vec![(peer_of(&mut a), "A"), (peer_of(&mut b), "B")];
    cmd(&mut a, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    cmd(&mut a, &["SLOWLOG", "RESET"]);
    cmd(&mut a, &["CLIENT", "SETNAME", "worker"]);
    cmd(&mut a, &["SET", "k", "v"]);
    cmd(&mut a, &["AUTH", "pw"]);
    cmd(&mut a, &["AUTH", "user", "pw"]);
    cmd(&mut a, &["HELLO", "2", "AUTH", "user", "pw", "SETNAME", "x"]);
    cmd(&mut a, &["CONFIG", "SET", "masterauth", "secret", "maxmemory-policy", "noeviction"]);
    cmd(&mut a, &["CONFIG", "SET", "masterauth", "secret", "nosuch", "x"]);
    let long = "x".repeat(150);
    cmd(&mut a, &["SET", "long", &long]);
    cmd(&mut a, &["SET", &"k".repeat(129), "v"]);
    let keys: Vec<String> = (1..=40).map(|i| format!("key{i}")).collect();
    let mut del = vec!["DEL"];
    del.extend(keys.iter().map(String::as_str));
    cmd(&mut a, &del);
    cmd(&mut a, &del[..32]);
    cmd(&mut a, &["MULTI"]);
    cmd(&mut a, &["INCR", "counter"]);
    cmd(&mut a, &["EXEC"]);
    // A blocked BLPOP is logged once, when B's push serves it (after the RPUSH).
    a.send(&encode_command(&[b"BLPOP", b"list", b"0"]));
    wait_for_blocked(&mut b);
    cmd(&mut b, &["RPUSH", "list", "v"]);
    a.read_reply().expect("BLPOP served");
    cmd(&mut b, &["BLPOP", "nolist", "0.01"]);
    let Value::Array(entries) = cmd(&mut a, &["SLOWLOG", "GET", "-1"]) else { panic!("SLOWLOG GET is not an array") };
    entries.iter().map(|e| normalize(e, &peers)).collect()
}

fn wait_for_blocked(ctl: &mut RawConn) {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !text(&cmd(ctl, &["INFO", "clients"])).contains("blocked_clients:1") {
        assert!(std::time::Instant::now() < deadline, "BLPOP never blocked");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What redis-server 7.0.15 logs for the scenario, newest first, without the INFO polls and
/// the served BLPOP (checked separately); the RPUSH's id depends on the number of polls.
fn expected() -> Vec<String> {
    let x128 = "x".repeat(128);
    let k128 = "k".repeat(128);
    let keys30: Vec<String> = (1..=30).map(|i| format!("key{i}")).collect();
    let keys30 = keys30.join(" ");
    vec![
        "*|RPUSH list v|B|".to_string(),
        "14|INCR counter|A|worker".to_string(),
        "13|MULTI|A|worker".to_string(),
        format!("12|DEL {keys30} key31|A|worker"),
        format!("11|DEL {keys30} ... (10 more arguments)|A|worker"),
        format!("10|SET {k128}... (1 more bytes) v|A|worker"),
        format!("9|SET long {x128}... (22 more bytes)|A|worker"),
        "8|CONFIG SET masterauth (redacted) nosuch x|A|worker".to_string(),
        "7|CONFIG SET masterauth (redacted) maxmemory-policy noeviction|A|worker".to_string(),
        "6|HELLO 2 AUTH (redacted) (redacted) SETNAME x|A|worker".to_string(),
        "5|AUTH (redacted) (redacted)|A|worker".to_string(),
        "4|AUTH (redacted)|A|worker".to_string(),
        "3|SET k v|A|worker".to_string(),
        "2|CLIENT SETNAME worker|A|worker".to_string(),
        "1|SLOWLOG RESET|A|".to_string(),
    ]
}

#[test]
fn slowlog_entries_match_redis() {
    for kind in kinds() {
        // Disabled until the scenario enables it, so the set-up commands get no ids.
        let server = Server::start(kind, &["--slowlog-log-slower-than", "-1"]);
        let got = run_scenario(&server);
        let stable: Vec<String> = got.iter().filter(|e| !e.contains("|INFO clients|")).cloned().collect();
        // The served BLPOP is logged once, after the RPUSH that served it (newest first).
        let blpop = stable.iter().position(|e| e.contains("|BLPOP list 0|A|worker"));
        let rpush = stable.iter().position(|e| e.contains("|RPUSH list v|B|"));
        assert!(blpop.is_some() && blpop < rpush, "{}: served BLPOP after RPUSH: {got:#?}", kind.name());
        assert_eq!(stable.iter().filter(|e| e.contains("BLPOP")).count(), 1, "{}: timed-out BLPOP not logged", kind.name());
        let masked: Vec<String> = stable.iter().filter(|e| !e.contains("BLPOP")).map(|e| mask_rpush_id(e)).collect();
        assert_eq!(masked, expected(), "{}", kind.name());
    }
}

/// The RPUSH's id depends on how many INFO polls ran before it.
fn mask_rpush_id(entry: &str) -> String {
    match entry.split_once('|') {
        Some((_, rest)) if rest.starts_with("RPUSH") => format!("*|{rest}"),
        _ => entry.to_string(),
    }
}

#[test]
fn slowlog_max_len_and_threshold_apply_at_once() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut c = server.conn();
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3"]);
        for i in 0..5 {
            cmd(&mut c, &["SET", "k", &i.to_string()]);
        }
        assert_eq!(int(&cmd(&mut c, &["SLOWLOG", "LEN"])), 3, "{}", kind.name());
        let Value::Array(entries) = cmd(&mut c, &["SLOWLOG", "GET", "2"]) else { panic!("not an array") };
        let peers = vec![(peer_of(&mut c), "A")];
        let got: Vec<String> = entries.iter().map(|e| normalize(e, &peers)).collect();
        assert_eq!(got, vec!["6|SLOWLOG LEN|A|", "5|SET k 4|A|"], "{}", kind.name());
        cmd(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "100000000"]);
        cmd(&mut c, &["CONFIG", "SET", "slowlog-max-len", "1"]);
        // Nothing new is slow enough, yet the next command trims the log to one entry.
        assert_eq!(int(&cmd(&mut c, &["SLOWLOG", "LEN"])), 1, "{}", kind.name());
    }
}

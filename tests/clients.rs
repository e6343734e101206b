//! Client-facing features on the real ferredis-server binary, checked against the real
//! redis-server too where it is on PATH: CLIENT PAUSE / UNPAUSE, MONITOR's feed, CLIENT KILL,
//! and the `redis` crate as a typed client.
mod common;

use common::{encode_command, redis_crate_client, require_redis, RawConn, ReplyError, Server, ServerKind};
use redis::Commands;
use std::time::Duration;

fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

/// Asserts that no reply is waiting on `c` right now (after a short grace period).
fn assert_no_reply_yet(c: &mut RawConn, what: &str) {
    c.set_timeout(Duration::from_millis(150));
    match c.read_reply() {
        Err(ReplyError::Timeout(bytes)) if bytes.is_empty() => {}
        other => panic!("{what}: expected no reply yet, got {other:?}"),
    }
    c.set_timeout(common::REPLY_TIMEOUT);
}

fn integer(reply: &[u8]) -> String {
    String::from_utf8_lossy(reply).trim_start_matches(':').trim_end().to_string()
}

// ---------------------------------------------------------------------------------------------
// CLIENT PAUSE
// ---------------------------------------------------------------------------------------------

#[test]
fn client_pause_write_holds_writes_but_not_reads() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut admin, mut writer, mut reader) = (server.conn(), server.conn(), server.conn());
        // Long enough that a slow machine can't see the pause end before the checks.
        assert_eq!(admin.cmd_str("CLIENT PAUSE 2000 WRITE"), b"+OK\r\n");
        let mut pipeline = encode_command(&[b"SET", b"k", b"v"]);
        pipeline.extend(encode_command(&[b"GET", b"k"]));
        writer.send(&pipeline);
        // The read is answered while the write still waits, and saw the old state.
        assert_eq!(reader.cmd_str("GET k"), b"$-1\r\n", "{}", kind.name());
        assert_no_reply_yet(&mut writer, kind.name());
        assert_eq!(reader.cmd_str("PING"), b"+PONG\r\n");
        // Once the pause ends the SET runs, then the GET queued behind it.
        assert_eq!(writer.read_reply().ok(), Some(b"+OK\r\n".to_vec()), "{}", kind.name());
        assert_eq!(writer.read_reply().ok(), Some(b"$1\r\nv\r\n".to_vec()), "{}", kind.name());
        assert_eq!(reader.cmd_str("GET k"), b"$1\r\nv\r\n");
    }
}

#[test]
fn client_unpause_releases_at_once() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut admin, mut writer) = (server.conn(), server.conn());
        // 100 s: a reply within the 5 s reply timeout can only come from UNPAUSE.
        assert_eq!(admin.cmd_str("CLIENT PAUSE 100000 WRITE"), b"+OK\r\n");
        writer.send(&encode_command(&[b"INCR", b"n"]));
        assert_no_reply_yet(&mut writer, kind.name());
        assert_eq!(admin.cmd_str("CLIENT UNPAUSE"), b"+OK\r\n");
        assert_eq!(writer.read_reply().ok(), Some(b":1\r\n".to_vec()), "{}", kind.name());
        assert_eq!(writer.cmd_str("INCR n"), b":2\r\n");
    }
}

#[test]
fn client_pause_all_delays_every_command() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut admin, mut pinger, mut reader) = (server.conn(), server.conn(), server.conn());
        assert_eq!(admin.cmd_str("CLIENT PAUSE 2000 ALL"), b"+OK\r\n");
        pinger.send(&encode_command(&[b"PING"]));
        reader.send(&encode_command(&[b"GET", b"k"]));
        assert_no_reply_yet(&mut pinger, kind.name());
        assert_no_reply_yet(&mut reader, kind.name());
        assert_eq!(pinger.read_reply().ok(), Some(b"+PONG\r\n".to_vec()), "{}", kind.name());
        assert_eq!(reader.read_reply().ok(), Some(b"$-1\r\n".to_vec()), "{}", kind.name());
    }
}

// ---------------------------------------------------------------------------------------------
// MONITOR
// ---------------------------------------------------------------------------------------------

/// Checks `+<secs>.<6 digits usecs> [<db> <addr>] <args>\r\n`.
fn check_monitor_line(line: &[u8], db: u32, addr: &str, args: &str) {
    let text = String::from_utf8_lossy(line);
    let bad = || panic!("monitor line {text:?}, wanted [{db} {addr}] {args}");
    let Some(rest) = text.strip_prefix('+') else { bad() };
    let Some((secs, rest)) = rest.split_once('.') else { bad() };
    let Some((usecs, rest)) = rest.split_once(' ') else { bad() };
    if secs.len() < 10 || !secs.bytes().all(|b| b.is_ascii_digit()) || usecs.len() != 6 || !usecs.bytes().all(|b| b.is_ascii_digit()) {
        bad();
    }
    if rest != format!("[{db} {addr}] {args}\r\n") {
        bad();
    }
}

/// `addr=` of the connection's own CLIENT INFO line.
fn own_addr(c: &mut RawConn) -> String {
    let info = String::from_utf8_lossy(&c.cmd_str("CLIENT INFO")).to_string();
    let field = info.split(' ').find_map(|f| f.strip_prefix("addr=")).unwrap_or_default();
    field.to_string()
}

#[test]
fn monitor_feed_format_and_hidden_commands() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut other = server.conn();
        let addr = own_addr(&mut other);
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        let mut monitor = server.conn();
        assert_eq!(monitor.cmd_str("MONITOR"), b"+OK\r\n");
        assert_eq!(other.cmd_str("SET k v"), b"+OK\r\n");
        assert_eq!(other.cmd_str("CONFIG GET hz"), b"*2\r\n$2\r\nhz\r\n$2\r\n10\r\n");
        other.cmd_str("AUTH secret");
        other.cmd_str("CLIENT LIST");
        assert_eq!(other.cmd(&[b"GET", b"a \"b\"\n"]), b"$-1\r\n");
        assert_eq!(other.cmd_str("SELECT 3"), b"+OK\r\n");
        assert_eq!(other.cmd_str("PING"), b"+PONG\r\n");
        let lines: Vec<Vec<u8>> = (0..5).map(|_| monitor.read_reply().unwrap_or_else(|e| panic!("{}: {e}", kind.name()))).collect();
        check_monitor_line(&lines[0], 0, &addr, "\"SET\" \"k\" \"v\"");
        // Admin commands (CONFIG, CLIENT LIST) are not shown; AUTH is, without its secret.
        check_monitor_line(&lines[1], 0, &addr, "\"AUTH\" \"(redacted)\"");
        check_monitor_line(&lines[2], 0, &addr, "\"GET\" \"a \\\"b\\\"\\n\"");
        check_monitor_line(&lines[3], 3, &addr, "\"SELECT\" \"3\"");
        check_monitor_line(&lines[4], 3, &addr, "\"PING\"");
        assert_no_reply_yet(&mut monitor, kind.name());
    }
}

#[test]
fn monitor_redacts_hello_auth() {
    for kind in kinds() {
        let server = Server::start(kind, &["--requirepass", "pw"]);
        let mut monitor = server.conn();
        assert_eq!(monitor.cmd_str("AUTH pw"), b"+OK\r\n");
        let mut other = server.conn();
        assert_eq!(other.cmd_str("AUTH pw"), b"+OK\r\n");
        let addr = own_addr(&mut other);
        assert_eq!(monitor.cmd_str("MONITOR"), b"+OK\r\n");
        assert_eq!(other.cmd_str("AUTH default wrong").first(), Some(&b'-'));
        assert_eq!(other.cmd_str("HELLO 2 AUTH default pw SETNAME me").first(), Some(&b'*'));
        let first = monitor.read_reply().unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        check_monitor_line(&first, 0, &addr, "\"AUTH\" \"(redacted)\" \"(redacted)\"");
        let second = monitor.read_reply().unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        check_monitor_line(&second, 0, &addr, "\"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\" \"SETNAME\" \"me\"");
    }
}

// ---------------------------------------------------------------------------------------------
// CLIENT KILL
// ---------------------------------------------------------------------------------------------

#[test]
fn client_kill_by_id() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut victim, mut killer) = (server.conn(), server.conn());
        let victim_id = integer(&victim.cmd_str("CLIENT ID"));
        let kill = format!("CLIENT KILL ID {victim_id}");
        assert_eq!(killer.cmd_str(&kill), b":1\r\n", "{}", kind.name());
        victim.read_closed();
        assert_eq!(killer.cmd_str(&kill), b":0\r\n", "{}: already gone", kind.name());
        assert_eq!(killer.cmd_str("CLIENT KILL ID 999999"), b":0\r\n");
        assert_eq!(killer.cmd_str("CLIENT KILL ID 0").first(), Some(&b'-'), "{}", kind.name());
        assert_eq!(killer.cmd_str("PING"), b"+PONG\r\n");
    }
}

#[test]
fn client_kill_skipme() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut me = server.conn();
        let id = integer(&me.cmd_str("CLIENT ID"));
        assert_eq!(me.cmd_str(&format!("CLIENT KILL ID {id}")), b":0\r\n", "{}: SKIPME defaults to yes", kind.name());
        assert_eq!(me.cmd_str(&format!("CLIENT KILL ID {id} SKIPME yes")), b":0\r\n");
        // The reply still arrives; nothing pipelined after it runs.
        let mut pipeline = encode_command(&[b"CLIENT", b"KILL", b"ID", id.as_bytes(), b"SKIPME", b"no"]);
        pipeline.extend(encode_command(&[b"SET", b"after", b"1"]));
        me.send(&pipeline);
        assert_eq!(me.read_reply().ok(), Some(b":1\r\n".to_vec()), "{}", kind.name());
        me.read_closed();
        assert_eq!(server.conn().cmd_str("EXISTS after"), b":0\r\n", "{}", kind.name());
    }
}

// ---------------------------------------------------------------------------------------------
// The redis crate
// ---------------------------------------------------------------------------------------------

#[test]
fn redis_crate_typed_usage() {
    let server = Server::start_ferredis(&[]);
    let mut con = redis_crate_client(server.port);
    let () = con.set("a", 41).unwrap_or_else(|e| panic!("SET: {e}"));
    assert_eq!(con.get::<_, i64>("a").ok(), Some(41));
    assert_eq!(con.incr::<_, _, i64>("a", 1).ok(), Some(42));
    assert_eq!(con.get::<_, String>("a").ok().as_deref(), Some("42"));
    assert_eq!(con.get::<_, Option<String>>("missing").ok(), Some(None));
    assert_eq!(con.expire::<_, i64>("a", 100).ok(), Some(1));
    let ttl: i64 = con.ttl("a").unwrap_or_else(|e| panic!("TTL: {e}"));
    assert!((99..=100).contains(&ttl), "ttl {ttl}");
    assert_eq!(con.ttl::<_, i64>("missing").ok(), Some(-2));
    assert_eq!(con.del::<_, i64>(&["a", "missing"]).ok(), Some(1));
    assert_eq!(con.exists::<_, bool>("a").ok(), Some(false));
    let () = con.set("text", "hello").unwrap_or_else(|e| panic!("SET: {e}"));
    let err = con.incr::<_, _, i64>("text", 1).expect_err("INCR of a non-number fails");
    assert_eq!(err.kind(), redis::ErrorKind::ResponseError);
    assert!(err.to_string().contains("value is not an integer or out of range"), "{err}");
}

#[test]
fn redis_crate_pipelines() {
    let server = Server::start_ferredis(&[]);
    let mut con = redis_crate_client(server.port);
    let (n, x, missing, len): (i64, String, Option<String>, i64) = redis::pipe()
        .set("x", "yz")
        .ignore()
        .incr("n", 5)
        .get("x")
        .get("nothing")
        .strlen("x")
        .query(&mut con)
        .unwrap_or_else(|e| panic!("pipeline: {e}"));
    assert_eq!((n, x.as_str(), missing, len), (5, "yz", None, 2));
    let mut pipe = redis::pipe();
    for i in 0..1000 {
        pipe.incr("counter", i);
    }
    let totals: Vec<i64> = pipe.query(&mut con).unwrap_or_else(|e| panic!("pipeline: {e}"));
    assert_eq!(totals.len(), 1000);
    assert_eq!(totals.last().copied(), Some((0..1000).sum::<i64>()));
    assert!(totals.windows(2).all(|w| w[0] <= w[1]), "replies out of order");
    let values: Vec<Option<String>> = con.mget(&["x", "nothing", "counter"]).unwrap_or_else(|e| panic!("MGET: {e}"));
    assert_eq!(values, vec![Some("yz".to_string()), None, Some("499500".to_string())]);
}

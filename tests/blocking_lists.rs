//! Blocking list commands against a running ferredis: clients blocked on one key are served
//! in the order they blocked, timeouts answer a null array, BLMOVE chains wake each other,
//! a client that disconnects while blocked is forgotten, blocking commands inside MULTI do
//! not block, and redis-benchmark's list tests run clean with and without pipelining.
//!
//! Timing is never asserted, only order: "blocked" is established by polling INFO's
//! blocked_clients, and a timeout is checked by which reply arrives first.
mod common;

use common::{blocked_clients, send_blocking, wait_blocked, RawConn, Server};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

const NULL_ARRAY: &[u8] = b"*-1\r\n";

fn bulk_pair(a: &str, b: &str) -> Vec<u8> {
    format!("*2\r\n${}\r\n{}\r\n${}\r\n{}\r\n", a.len(), a, b.len(), b).into_bytes()
}




/// True if a reply is already waiting (or arrives within a short grace period).
fn has_reply(conn: &mut RawConn) -> bool {
    let _ = conn.poll_closed(Duration::from_millis(50));
    !conn.take_pending().is_empty()
}

#[test]
fn clients_blocked_on_one_key_are_served_in_fifo_order() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut clients: Vec<RawConn> = (0..4).map(|_| server.conn()).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        send_blocking(c, &mut ctl, "BLPOP k 0", i + 1);
    }
    // One push of three elements serves the three oldest waiters, oldest first.
    assert_eq!(ctl.cmd_str("RPUSH k a b c"), b":3\r\n");
    assert_eq!(clients[0].read_reply().unwrap(), bulk_pair("k", "a"));
    assert_eq!(clients[1].read_reply().unwrap(), bulk_pair("k", "b"));
    assert_eq!(clients[2].read_reply().unwrap(), bulk_pair("k", "c"));
    assert!(!has_reply(&mut clients[3]), "the fourth client must still wait");
    wait_blocked(&mut ctl, 1);
    // A client blocked again goes to the back of the queue.
    send_blocking(&mut clients[0], &mut ctl, "BRPOP other k 0", 2);
    assert_eq!(ctl.cmd_str("LPUSH k x"), b":1\r\n");
    assert_eq!(clients[3].read_reply().unwrap(), bulk_pair("k", "x"));
    assert_eq!(ctl.cmd_str("RPUSH k y"), b":1\r\n");
    assert_eq!(clients[0].read_reply().unwrap(), bulk_pair("k", "y"));
    assert_eq!(ctl.cmd_str("EXISTS k"), b":0\r\n");
    wait_blocked(&mut ctl, 0);
}

#[test]
fn blocked_client_is_served_from_the_key_that_received_data() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut c = server.conn();
    send_blocking(&mut c, &mut ctl, "BLMPOP 0 3 k1 k2 k3 RIGHT COUNT 2", 1);
    assert_eq!(ctl.cmd_str("RPUSH k2 a b c"), b":3\r\n");
    assert_eq!(c.read_reply().unwrap(), b"*2\r\n$2\r\nk2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    assert_eq!(ctl.cmd_str("LRANGE k2 0 -1"), b"*1\r\n$1\r\na\r\n");
}

#[test]
fn timeouts_answer_null_arrays_in_deadline_order() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut slow = server.conn();
    let mut fast = server.conn();
    slow.set_timeout(Duration::from_secs(10));
    fast.set_timeout(Duration::from_secs(10));
    send_blocking(&mut slow, &mut ctl, "BLPOP k 2", 1);
    send_blocking(&mut fast, &mut ctl, "BRPOPLPUSH k d 0.05", 2);
    assert_eq!(fast.read_reply().unwrap(), NULL_ARRAY);
    assert!(!has_reply(&mut slow), "the longer timeout must not have fired yet");
    assert_eq!(blocked_clients(&mut ctl), 1);
    assert_eq!(slow.read_reply().unwrap(), NULL_ARRAY);
    wait_blocked(&mut ctl, 0);
    // The connection is usable afterwards, and a push before the deadline wins over it.
    assert_eq!(fast.cmd_str("PING"), b"+PONG\r\n");
    send_blocking(&mut fast, &mut ctl, "BLMPOP 5 1 k LEFT", 1);
    assert_eq!(ctl.cmd_str("RPUSH k v"), b":1\r\n");
    assert_eq!(fast.read_reply().unwrap(), b"*2\r\n$1\r\nk\r\n*1\r\n$1\r\nv\r\n");
}

#[test]
fn blmove_chain_moves_one_element_through_every_list() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut a = server.conn();
    let mut b = server.conn();
    let mut c = server.conn();
    send_blocking(&mut a, &mut ctl, "BLMOVE k1 k2 LEFT RIGHT 0", 1);
    send_blocking(&mut b, &mut ctl, "BRPOPLPUSH k2 k3 0", 2);
    send_blocking(&mut c, &mut ctl, "BRPOP k3 0", 3);
    assert_eq!(ctl.cmd_str("RPUSH k1 v"), b":1\r\n");
    assert_eq!(a.read_reply().unwrap(), b"$1\r\nv\r\n");
    assert_eq!(b.read_reply().unwrap(), b"$1\r\nv\r\n");
    assert_eq!(c.read_reply().unwrap(), bulk_pair("k3", "v"));
    assert_eq!(ctl.cmd_str("DBSIZE"), b":0\r\n");
    wait_blocked(&mut ctl, 0);
}

#[test]
fn blmove_to_a_key_of_the_wrong_type_errors_when_served() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut a = server.conn();
    assert_eq!(ctl.cmd_str("SET str x"), b"+OK\r\n");
    send_blocking(&mut a, &mut ctl, "BLMOVE src str LEFT LEFT 0", 1);
    assert_eq!(ctl.cmd_str("RPUSH src v"), b":1\r\n");
    assert!(a.read_reply().unwrap().starts_with(b"-WRONGTYPE"));
    assert_eq!(ctl.cmd_str("LRANGE src 0 -1"), b"*1\r\n$1\r\nv\r\n");
    wait_blocked(&mut ctl, 0);
}

#[test]
fn a_client_that_disconnects_while_blocked_is_not_served() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut gone = server.conn();
    let mut waiting = server.conn();
    send_blocking(&mut gone, &mut ctl, "BLPOP k 0", 1);
    send_blocking(&mut waiting, &mut ctl, "BLPOP k 0", 2);
    drop(gone);
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd_str("RPUSH k a"), b":1\r\n");
    assert_eq!(waiting.read_reply().unwrap(), bulk_pair("k", "a"));
    // With nobody left waiting, the next element stays in the list.
    let mut gone_too = server.conn();
    send_blocking(&mut gone_too, &mut ctl, "BRPOP k 0", 1);
    drop(gone_too);
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmd_str("RPUSH k b"), b":1\r\n");
    assert_eq!(ctl.cmd_str("LLEN k"), b":1\r\n");
    assert_eq!(ctl.cmd_str("PING"), b"+PONG\r\n");
}

/// MULTI/EXEC: blocking commands queued in a transaction answer at once as on a timeout
/// (BLMOVE/BRPOPLPUSH with a null bulk, as Redis 7.0 does), and pushes made inside EXEC
/// serve clients blocked before it, once the transaction is over.
#[test]
fn multi_exec_does_not_block_and_serves_after_exec() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    assert_eq!(ctl.cmd_str("MULTI"), b"+OK\r\n");
    assert_eq!(ctl.cmd_str("BLPOP nokey 0"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("BLMOVE nokey d LEFT LEFT 0"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("BLMPOP 0 1 nokey LEFT"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("EXEC"), b"*3\r\n*-1\r\n$-1\r\n*-1\r\n");

    let mut waiter = server.conn();
    send_blocking(&mut waiter, &mut ctl, "BLPOP k 0", 1);
    // Pushed and popped inside one transaction: nothing is left to serve.
    assert_eq!(ctl.cmd_str("MULTI"), b"+OK\r\n");
    ctl.cmd_str("RPUSH k x");
    ctl.cmd_str("LPOP k");
    assert_eq!(ctl.cmd_str("EXEC"), b"*2\r\n:1\r\n$1\r\nx\r\n");
    assert!(!has_reply(&mut waiter), "an emptied key must not serve the waiter");
    // Two pushes in one transaction: the waiter gets the first element after EXEC.
    assert_eq!(ctl.cmd_str("MULTI"), b"+OK\r\n");
    ctl.cmd_str("RPUSH k a");
    ctl.cmd_str("RPUSH k b");
    assert_eq!(ctl.cmd_str("EXEC"), b"*2\r\n:1\r\n:2\r\n");
    assert_eq!(waiter.read_reply().unwrap(), bulk_pair("k", "a"));
    assert_eq!(ctl.cmd_str("LRANGE k 0 -1"), b"*1\r\n$1\r\nb\r\n");
}

/// A push pipelined with a pop: Redis 7.0 serves the blocked client right after the push,
/// before the pop of the same pipeline runs, so the waiter gets the element and the pop finds
/// nothing. Checked against the real redis-server as well, so the two are held to one answer.
#[test]
fn pipelined_push_serves_the_waiter_before_the_next_command() {
    for kind in common::server_kinds() {
        let server = Server::start(kind, &[]);
        let mut ctl = server.conn();
        let mut waiter = server.conn();
        send_blocking(&mut waiter, &mut ctl, "BLPOP k 0", 1);
        ctl.send(b"RPUSH k a\r\nLPOP k\r\n");
        assert_eq!(ctl.read_reply().unwrap(), b":1\r\n", "{}", kind.name());
        assert_eq!(ctl.read_reply().unwrap(), b"$-1\r\n", "{}: the waiter comes first", kind.name());
        assert_eq!(waiter.read_reply().unwrap(), bulk_pair("k", "a"), "{}", kind.name());
    }
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark
// ---------------------------------------------------------------------------------------------

/// Like `common::require_redis` for redis-benchmark: a CI failure, a loud skip elsewhere.
fn require_benchmark() -> bool {
    let found = Command::new("redis-benchmark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !found && std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("redis-benchmark is not on PATH and CI=true: run scripts/install-peers.sh");
    }
    if !found {
        let _ = std::io::stderr().write_all(b"\n*** SKIP: redis-benchmark is not on PATH ***\n");
    }
    found
}

#[test]
fn redis_benchmark_list_tests_run_clean() {
    if !require_benchmark() {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    let port = server.port.to_string();
    let tests = "lpush,rpush,lpop,rpop,lrange_100,lrange_300,lrange_500,lrange_600";
    let expect = ["LPUSH", "RPUSH", "LPOP", "RPOP", "LRANGE_100", "LRANGE_300", "LRANGE_500", "LRANGE_600"];
    for extra in [&[][..], &["-P", "16"][..]] {
        let mut args = vec!["-p", port.as_str(), "-q", "-t", tests, "-c", "50", "-n", "20000"];
        args.extend_from_slice(extra);
        let out = Command::new("redis-benchmark")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("redis-benchmark: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "redis-benchmark {args:?} exited with {}:\n{text}", out.status);
        assert!(!text.to_lowercase().contains("error"), "redis-benchmark {args:?} reported errors:\n{text}");
        for test in expect {
            assert!(text.contains(&format!("{test} ")) || text.contains(&format!("{test}:")), "{test} missing:\n{text}");
        }
        server.assert_alive();
        let mut c = server.conn();
        // LPUSH and RPUSH add 20000 each, LPOP and RPOP take them all back, then the LRANGE
        // tests start with 20000 more LPUSHes (as on the real redis-server).
        assert_eq!(c.cmd_str("TYPE mylist"), b"+list\r\n");
        assert_eq!(c.cmd_str("LLEN mylist"), b":20000\r\n");
        assert_eq!(c.cmd_str("DEL mylist"), b":1\r\n");
    }
}

/// INFO's blocked_clients counts every blocked client (keys, WAIT) and
/// clients_in_timeout_table only those waiting with a timeout; the same on both servers.
#[test]
fn info_counts_blocked_clients_and_the_timeout_table_as_redis() {
    for kind in common::server_kinds() {
        let server = Server::start(kind, &[]);
        let mut ctl = server.conn();
        let mut forever = server.conn();
        let mut timed = server.conn();
        let mut wait = server.conn();
        send_blocking(&mut forever, &mut ctl, "BLPOP k 0", 1);
        send_blocking(&mut timed, &mut ctl, "BLPOP k2 100", 2);
        // No replica: WAIT 1 blocks until its timeout.
        send_blocking(&mut wait, &mut ctl, "WAIT 1 100000", 3);
        let fields = |ctl: &mut RawConn| {
            (common::info_num(ctl, "clients", "blocked_clients"), common::info_num(ctl, "clients", "clients_in_timeout_table"))
        };
        assert_eq!(fields(&mut ctl), (3, 2), "{}", kind.name());
        assert_eq!(ctl.cmd_str("RPUSH k2 a"), b":1\r\n");
        assert_eq!(timed.read_reply().unwrap(), bulk_pair("k2", "a"));
        assert_eq!(fields(&mut ctl), (2, 1), "{}", kind.name());
    }
}

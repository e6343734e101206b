//! Blocking sorted-set pops against a running ferredis: BZPOPMIN/BZPOPMAX/BZMPOP clients are
//! served oldest first, from whichever of their keys gets data (including keys written by
//! ZUNIONSTORE/ZRANGESTORE), skip keys turned into another type while they wait (Redis 7.0
//! serves blocked clients only from zsets), time out with a null array, and do not block
//! inside MULTI. The expected bytes were taken from redis-server 7.0.15.
//!
//! Timing is never asserted, only order: "blocked" is established by polling INFO's
//! blocked_clients.
mod common;

use common::{blocked_clients, send_blocking, wait_blocked, RawConn, Server};
use std::time::Duration;

const NULL_ARRAY: &[u8] = b"*-1\r\n";

/// The BZPOPMIN/BZPOPMAX reply: [key, member, score].
fn popped(key: &str, member: &str, score: &str) -> Vec<u8> {
    let bulk = |s: &str| format!("${}\r\n{}\r\n", s.len(), s);
    format!("*3\r\n{}{}{}", bulk(key), bulk(member), bulk(score)).into_bytes()
}




fn has_reply(conn: &mut RawConn) -> bool {
    let _ = conn.poll_closed(Duration::from_millis(50));
    !conn.take_pending().is_empty()
}

#[test]
fn waiters_are_served_oldest_first_one_element_each() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut clients: Vec<RawConn> = (0..4).map(|_| server.conn()).collect();
    let commands = ["BZPOPMIN z 0", "BZPOPMAX z 0", "BZPOPMIN other z 0", "BZPOPMIN z 0"];
    for (i, (c, cmd)) in clients.iter_mut().zip(commands).enumerate() {
        send_blocking(c, &mut ctl, cmd, i + 1);
    }
    assert_eq!(ctl.cmd_str("ZADD z 1 a 2 b 3 c"), b":3\r\n");
    assert_eq!(clients[0].read_reply().unwrap(), popped("z", "a", "1"));
    assert_eq!(clients[1].read_reply().unwrap(), popped("z", "c", "3"));
    assert_eq!(clients[2].read_reply().unwrap(), popped("z", "b", "2"));
    assert!(!has_reply(&mut clients[3]), "the fourth client must still wait");
    assert_eq!(ctl.cmd_str("EXISTS z"), b":0\r\n");
    wait_blocked(&mut ctl, 1);
    assert_eq!(ctl.cmd_str("ZADD z 1.5 x"), b":1\r\n");
    assert_eq!(clients[3].read_reply().unwrap(), popped("z", "x", "1.5"));
    wait_blocked(&mut ctl, 0);
}

#[test]
fn bzmpop_takes_up_to_count_from_the_key_that_got_data() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut c = server.conn();
    send_blocking(&mut c, &mut ctl, "BZMPOP 0 3 k1 k2 k3 MAX COUNT 2", 1);
    assert_eq!(ctl.cmd_str("ZADD k2 1 a 2 b 3 c"), b":3\r\n");
    assert_eq!(c.read_reply().unwrap(), b"*2\r\n$2\r\nk2\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n");
    assert_eq!(ctl.cmd_str("ZRANGE k2 0 -1"), b"*1\r\n$1\r\na\r\n");
    // ZPOPMIN's counterpart keeps working on the connection afterwards.
    assert_eq!(c.cmd_str("ZPOPMIN k2"), b"*2\r\n$1\r\na\r\n$1\r\n1\r\n");
}

#[test]
fn store_commands_wake_waiters_and_other_types_are_skipped() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut a = server.conn();
    let mut b = server.conn();
    send_blocking(&mut a, &mut ctl, "BZPOPMIN s d 0", 1);
    // A string appears under the first key: the waiter keeps waiting for a zset.
    assert_eq!(ctl.cmd_str("SET s x"), b"+OK\r\n");
    assert!(!has_reply(&mut a));
    assert_eq!(ctl.cmd_str("ZADD src 1 q 2 r"), b":2\r\n");
    assert_eq!(ctl.cmd_str("ZUNIONSTORE d 1 src"), b":2\r\n");
    assert_eq!(a.read_reply().unwrap(), popped("d", "q", "1"));
    send_blocking(&mut b, &mut ctl, "BZPOPMAX e 0", 1);
    assert_eq!(ctl.cmd_str("ZRANGESTORE e src 0 -1"), b":2\r\n");
    assert_eq!(b.read_reply().unwrap(), popped("e", "r", "2"));
    assert_eq!(ctl.cmd_str("ZCARD e"), b":1\r\n");
    wait_blocked(&mut ctl, 0);
}

#[test]
fn timeouts_and_errors_answer_at_once() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    let mut c = server.conn();
    c.set_timeout(Duration::from_secs(10));
    send_blocking(&mut c, &mut ctl, "BZPOPMIN k 0.05", 1);
    assert_eq!(c.read_reply().unwrap(), NULL_ARRAY);
    send_blocking(&mut c, &mut ctl, "BZMPOP 0.05 1 k MIN COUNT 3", 1);
    assert_eq!(c.read_reply().unwrap(), NULL_ARRAY);
    wait_blocked(&mut ctl, 0);
    assert_eq!(ctl.cmd_str("SET str x"), b"+OK\r\n");
    assert!(c.cmd_str("BZPOPMIN str 0").starts_with(b"-WRONGTYPE"));
    assert_eq!(c.cmd_str("BZPOPMIN k -1"), b"-ERR timeout is negative\r\n");
    assert_eq!(c.cmd_str("PING"), b"+PONG\r\n");
}

#[test]
fn multi_exec_does_not_block() {
    let server = Server::start_ferredis(&[]);
    let mut ctl = server.conn();
    assert_eq!(ctl.cmd_str("MULTI"), b"+OK\r\n");
    assert_eq!(ctl.cmd_str("BZPOPMIN nokey 0"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("BZMPOP 0 1 nokey MAX"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("ZADD z 1 a"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("BZPOPMAX z 0"), b"+QUEUED\r\n");
    assert_eq!(ctl.cmd_str("EXEC"), b"*4\r\n*-1\r\n*-1\r\n:1\r\n*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n");
    assert_eq!(blocked_clients(&mut ctl), 0);
}

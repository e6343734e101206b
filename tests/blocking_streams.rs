//! Blocking stream reads (XREAD / XREADGROUP BLOCK), run the same way against ferredis and
//! the real redis-server 7.0.15, whose transcripts must match byte for byte: several
//! clients blocked on one stream are all woken by one XADD, consumer-group readers share
//! new entries in the order they blocked, timeouts answer a null array (`*-1`, `_` in
//! RESP3), `$` means "after what is there now", and a stream deleted, replaced or losing
//! its group fails a blocked XREADGROUP with Redis 7.0's texts.
//!
//! Timing is never asserted: "blocked" is established by polling INFO's blocked_clients, and
//! "still blocked" by the absence of a reply during a short grace period.
mod common;

use common::{escape_bytes, send_blocking, wait_blocked, RawConn, Server};
use std::time::Duration;




/// The reply that arrives within a short grace period, or an empty vector.
fn reply_if_any(conn: &mut RawConn) -> Vec<u8> {
    let _ = conn.poll_closed(Duration::from_millis(50));
    conn.take_pending()
}

/// Runs `scenario` on a fresh ferredis and a fresh redis-server and compares transcripts.
fn compare(scenario: fn(&Server) -> Vec<Vec<u8>>) {
    if !common::require_redis() {
        return;
    }
    let ferredis = Server::start_ferredis(&[]);
    let redis = Server::start_redis(&[]);
    let theirs = scenario(&redis);
    let ours = scenario(&ferredis);
    for (i, (a, b)) in theirs.iter().zip(ours.iter()).enumerate() {
        assert_eq!(a, b, "step {i}: redis {} vs ferredis {}", escape_bytes(a), escape_bytes(b));
    }
    assert_eq!(theirs.len(), ours.len());
}

fn fanout_to_every_blocked_reader(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut readers: Vec<RawConn> = (0..3).map(|_| server.conn()).collect();
    let mut out = vec![ctl.cmd_str("XADD s 1-0 old 1")];
    for (i, r) in readers.iter_mut().enumerate() {
        send_blocking(r, &mut ctl, "XREAD BLOCK 0 STREAMS s $", i + 1);
    }
    // One entry wakes all three, each with only what arrived after its `$`.
    out.push(ctl.cmd_str("XADD s 2-0 new 2"));
    for r in readers.iter_mut() {
        out.push(r.read_reply().unwrap());
    }
    wait_blocked(&mut ctl, 0);
    // A reader on two streams gets just the one written to; a MULTI's entries come together.
    send_blocking(&mut readers[0], &mut ctl, "XREAD BLOCK 0 COUNT 5 STREAMS s t $ $", 1);
    send_blocking(&mut readers[1], &mut ctl, "XREAD BLOCK 0 STREAMS nokey 0-0", 2);
    out.push(ctl.cmd_str("MULTI"));
    out.push(ctl.cmd_str("XADD t 7-0 a 1"));
    out.push(ctl.cmd_str("XADD t 8-0 b 2"));
    out.push(ctl.cmd_str("EXEC"));
    out.push(readers[0].read_reply().unwrap());
    out.push(reply_if_any(&mut readers[1]));
    out.push(ctl.cmd_str("XADD nokey 1-1 c 3"));
    out.push(readers[1].read_reply().unwrap());
    wait_blocked(&mut ctl, 0);
    out
}

#[test]
fn one_xadd_wakes_every_blocked_reader() {
    compare(fanout_to_every_blocked_reader);
}

fn timeouts_and_non_blocking_contexts(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut r = server.conn();
    r.set_timeout(Duration::from_secs(10));
    let mut out = vec![ctl.cmd_str("XGROUP CREATE s g $ MKSTREAM")];
    send_blocking(&mut r, &mut ctl, "XREAD BLOCK 100 STREAMS s $", 1);
    out.push(r.read_reply().unwrap());
    send_blocking(&mut r, &mut ctl, "XREADGROUP GROUP g c BLOCK 100 STREAMS s >", 1);
    out.push(r.read_reply().unwrap());
    out.push(r.cmd_str("HELLO 3").get(..1).unwrap_or_default().to_vec());
    send_blocking(&mut r, &mut ctl, "XREAD BLOCK 100 STREAMS s $", 1);
    out.push(r.read_reply().unwrap());
    // Inside MULTI nothing blocks: the timeout reply comes at once.
    out.push(ctl.cmd_str("MULTI"));
    out.push(ctl.cmd_str("XREAD BLOCK 0 STREAMS s $"));
    out.push(ctl.cmd_str("EXEC"));
    wait_blocked(&mut ctl, 0);
    // Data before the deadline wins; the consumer exists only once it was served.
    send_blocking(&mut r, &mut ctl, "XREADGROUP GROUP g c BLOCK 5000 STREAMS s >", 1);
    out.push(ctl.cmd_str("XINFO GROUPS s"));
    out.push(ctl.cmd_str("XADD s 1-0 a 1"));
    out.push(r.read_reply().unwrap());
    out.push(ctl.cmd_str("XINFO GROUPS s"));
    out
}

#[test]
fn timeouts_answer_null_arrays() {
    compare(timeouts_and_non_blocking_contexts);
}

fn group_readers_share_entries(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut a = server.conn();
    let mut b = server.conn();
    let mut out = vec![ctl.cmd_str("XGROUP CREATE s g $ MKSTREAM")];
    send_blocking(&mut a, &mut ctl, "XREADGROUP GROUP g alice BLOCK 0 COUNT 1 STREAMS s >", 1);
    send_blocking(&mut b, &mut ctl, "XREADGROUP GROUP g bob BLOCK 0 NOACK STREAMS s >", 2);
    // The first entry goes to the oldest waiter; the other keeps waiting for the next one.
    out.push(ctl.cmd_str("XADD s 1-0 f 1"));
    out.push(a.read_reply().unwrap());
    out.push(reply_if_any(&mut b));
    out.push(ctl.cmd_str("XADD s 2-0 f 2"));
    out.push(b.read_reply().unwrap());
    out.push(ctl.cmd_str("XPENDING s g"));
    out.push(ctl.cmd_str("XINFO GROUPS s"));
    // A MULTI adding two entries: the one waiter takes both (no COUNT).
    send_blocking(&mut a, &mut ctl, "XREADGROUP GROUP g alice BLOCK 0 STREAMS s >", 1);
    out.push(ctl.cmd_str("MULTI"));
    out.push(ctl.cmd_str("XADD s 3-0 f 3"));
    out.push(ctl.cmd_str("XADD s 4-0 f 4"));
    out.push(ctl.cmd_str("EXEC"));
    out.push(a.read_reply().unwrap());
    out.push(ctl.cmd_str("XPENDING s g"));
    out
}

#[test]
fn group_readers_take_new_entries_in_blocking_order() {
    compare(group_readers_share_entries);
}

fn readgroup_fails_when_its_stream_or_group_goes(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut r = server.conn();
    let mut x = server.conn();
    let mut out = vec![ctl.cmd_str("XGROUP CREATE s g $ MKSTREAM")];
    send_blocking(&mut r, &mut ctl, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", 1);
    send_blocking(&mut x, &mut ctl, "XREAD BLOCK 0 STREAMS s $", 2);
    out.push(ctl.cmd_str("XGROUP DESTROY s g"));
    out.push(r.read_reply().unwrap());
    out.push(ctl.cmd_str("XGROUP CREATE s g $"));
    send_blocking(&mut r, &mut ctl, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", 2);
    out.push(ctl.cmd_str("DEL s"));
    out.push(r.read_reply().unwrap());
    // Plain XREAD keeps waiting through the deletion and a string in the stream's place.
    out.push(reply_if_any(&mut x));
    out.push(ctl.cmd_str("XGROUP CREATE s g $ MKSTREAM"));
    send_blocking(&mut r, &mut ctl, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", 2);
    out.push(ctl.cmd_str("SET s str"));
    out.push(r.read_reply().unwrap());
    out.push(reply_if_any(&mut x));
    out.push(ctl.cmd_str("DEL s"));
    out.push(ctl.cmd_str("XADD s 5-0 back 1"));
    out.push(x.read_reply().unwrap());
    wait_blocked(&mut ctl, 0);
    out
}

#[test]
fn blocked_readgroup_fails_when_stream_or_group_disappears() {
    compare(readgroup_fails_when_its_stream_or_group_goes);
}

/// The reply that arrives within `wait` (for events the server drives itself, like expiry),
/// or an empty vector.
fn reply_within(conn: &mut RawConn, wait: Duration) -> Vec<u8> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        let _ = conn.poll_closed(Duration::from_millis(50));
        let got = conn.take_pending();
        if !got.is_empty() || std::time::Instant::now() >= deadline {
            return got;
        }
    }
}

/// Every way a stream can vanish other than DEL: FLUSHDB, RENAME over it, SWAPDB with a db
/// where it does not exist, and expiry. Each must reach a blocked XREADGROUP as it does in
/// Redis 7.0.
fn readgroup_sees_every_kind_of_deletion(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut r = server.conn();
    let mut out = Vec::new();
    let block = |ctl: &mut RawConn, r: &mut RawConn, out: &mut Vec<Vec<u8>>| {
        out.push(ctl.cmd_str("XGROUP CREATE s g $ MKSTREAM"));
        send_blocking(r, ctl, "XREADGROUP GROUP g c BLOCK 0 STREAMS s >", 1);
    };
    block(&mut ctl, &mut r, &mut out);
    out.push(ctl.cmd_str("FLUSHDB"));
    out.push(reply_within(&mut r, Duration::from_secs(2)));
    block(&mut ctl, &mut r, &mut out);
    out.push(ctl.cmd_str("SET other v"));
    out.push(ctl.cmd_str("RENAME other s"));
    out.push(reply_within(&mut r, Duration::from_secs(2)));
    out.push(ctl.cmd_str("DEL s"));
    block(&mut ctl, &mut r, &mut out);
    out.push(ctl.cmd_str("SWAPDB 0 1"));
    out.push(reply_within(&mut r, Duration::from_secs(2)));
    out.push(ctl.cmd_str("FLUSHALL"));
    block(&mut ctl, &mut r, &mut out);
    out.push(ctl.cmd_str("PEXPIRE s 20"));
    // The active expire cycle deletes it (no client touches the key).
    out.push(reply_within(&mut r, Duration::from_secs(3)));
    out.push(ctl.cmd_str("EXISTS s"));
    out
}

#[test]
fn blocked_readgroup_sees_flush_rename_swapdb_and_expiry() {
    compare(readgroup_sees_every_kind_of_deletion);
}

fn served_reader_gets_at_most_a_thousand(server: &Server) -> Vec<Vec<u8>> {
    let mut ctl = server.conn();
    let mut r = server.conn();
    let mut out = vec![ctl.cmd_str("XADD big 1-0 f 0"), ctl.cmd_str("XDEL big 1-0")];
    send_blocking(&mut r, &mut ctl, "XREAD BLOCK 0 STREAMS big 0-0", 1);
    // 1200 entries in one MULTI: Redis serves a blocked XREAD without COUNT 1000 of them.
    let mut batch = common::encode_command(&[b"MULTI"]);
    for i in 2..1202 {
        let id = format!("{i}-0");
        batch.extend_from_slice(&common::encode_command(&[b"XADD", b"big", id.as_bytes(), b"f", b"v"]));
    }
    batch.extend_from_slice(&common::encode_command(&[b"EXEC"]));
    ctl.send(&batch);
    for _ in 0..1202 {
        ctl.read_reply().unwrap();
    }
    out.push(r.read_reply().unwrap());
    out.push(ctl.cmd_str("XLEN big"));
    out
}

#[test]
fn served_blocked_xread_without_count_gets_a_thousand_entries() {
    compare(served_reader_gets_at_most_a_thousand);
}

//! Pub/Sub between real clients on the ferredis-server binary (and on the real redis-server
//! when it is on PATH, to keep the tests honest): delivery and ordering to channel and pattern
//! subscribers, the `redis` crate's Pub/Sub API, CLIENT LIST / CLIENT KILL TYPE pubsub, and a
//! subscriber that stops reading being cut off by the `pubsub` output buffer limit.
mod common;

use common::{encode_command, redis_crate_client, require_redis, RawConn, ReplyError, Server, ServerKind};
use std::thread;
use std::time::{Duration, Instant};

fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

/// The RESP2 encoding of a message push: `*3 message <channel> <payload>`.
fn message(channel: &str, payload: &str) -> Vec<u8> {
    let mut out = b"*3\r\n".to_vec();
    for part in ["message", channel, payload] {
        out.extend(format!("${}\r\n{}\r\n", part.len(), part).into_bytes());
    }
    out
}

/// `*4 pmessage <pattern> <channel> <payload>`.
fn pmessage(pattern: &str, channel: &str, payload: &str) -> Vec<u8> {
    let mut out = b"*4\r\n".to_vec();
    for part in ["pmessage", pattern, channel, payload] {
        out.extend(format!("${}\r\n{}\r\n", part.len(), part).into_bytes());
    }
    out
}

fn read(c: &mut RawConn) -> Vec<u8> {
    c.read_reply().unwrap_or_else(|e| panic!("reading a reply: {e}"))
}

#[test]
fn publish_reaches_channel_and_pattern_subscribers_in_order() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut chan_sub, mut pat_sub, mut both, mut publisher) = (server.conn(), server.conn(), server.conn(), server.conn());
        assert_eq!(chan_sub.cmd_str("SUBSCRIBE news"), b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
        assert_eq!(pat_sub.cmd_str("PSUBSCRIBE n*"), b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n");
        both.cmd_str("SUBSCRIBE news");
        assert_eq!(both.cmd_str("PSUBSCRIBE ne*"), b"*3\r\n$10\r\npsubscribe\r\n$3\r\nne*\r\n:2\r\n");
        // Pipelined: the replies, then every subscriber's messages, keep publication order.
        let mut pipeline = Vec::new();
        for i in 0..50 {
            pipeline.extend(encode_command(&[b"PUBLISH", b"news", format!("m{i}").as_bytes()]));
        }
        pipeline.extend(encode_command(&[b"PUBLISH", b"nope", b"x"]));
        publisher.send(&pipeline);
        for _ in 0..50 {
            assert_eq!(read(&mut publisher), b":4\r\n", "{}", kind.name());
        }
        assert_eq!(read(&mut publisher), b":1\r\n", "only n* matches nope");
        for i in 0..50 {
            let payload = format!("m{i}");
            assert_eq!(read(&mut chan_sub), message("news", &payload), "{}", kind.name());
            assert_eq!(read(&mut pat_sub), pmessage("n*", "news", &payload));
            // Channel subscribers are served before pattern subscribers.
            assert_eq!(read(&mut both), message("news", &payload));
            assert_eq!(read(&mut both), pmessage("ne*", "news", &payload));
        }
        assert_eq!(read(&mut pat_sub), pmessage("n*", "nope", "x"));
    }
}

#[test]
fn redis_crate_subscriber_receives_messages() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut sub_conn = redis_crate_client(server.port);
        let mut publisher = redis_crate_client(server.port);
        let mut pubsub = sub_conn.as_pubsub();
        pubsub.subscribe("orders").expect("subscribe");
        pubsub.psubscribe("ord*").expect("psubscribe");
        let receivers: i64 = redis::cmd("PUBLISH").arg("orders").arg("42").query(&mut publisher).expect("publish");
        assert_eq!(receivers, 2, "{}", kind.name());
        let first = pubsub.get_message().expect("message");
        assert_eq!(first.get_channel_name(), "orders");
        assert_eq!(first.get_payload::<i64>().expect("payload"), 42);
        assert!(!first.from_pattern());
        let second = pubsub.get_message().expect("pmessage");
        assert!(second.from_pattern());
        assert_eq!(second.get_pattern::<String>().expect("pattern"), "ord*");
        assert_eq!(second.get_payload::<String>().expect("payload"), "42");
        pubsub.unsubscribe("orders").expect("unsubscribe");
        pubsub.punsubscribe("ord*").expect("punsubscribe");
        drop(pubsub);
        // Out of subscriber mode, the connection runs ordinary commands again.
        let pong: String = redis::cmd("PING").query(&mut sub_conn).expect("ping");
        assert_eq!(pong, "PONG");
    }
}

/// Polls `cmd` on `c` until it answers `want` (a freed client is forgotten asynchronously).
fn wait_for_reply(c: &mut RawConn, cmd: &str, want: &[u8]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = c.cmd_str(cmd);
        if got == want || Instant::now() > deadline {
            assert_eq!(common::escape_bytes(&got), common::escape_bytes(want), "{cmd}");
            return;
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn client_list_shows_subscriptions_and_kill_type_pubsub_works() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut sub, mut admin) = (server.conn(), server.conn());
        sub.send(&encode_command(&[b"SUBSCRIBE", b"a", b"b"]));
        read(&mut sub);
        read(&mut sub);
        assert_eq!(sub.cmd_str("PSUBSCRIBE p*"), b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n");
        assert_eq!(sub.cmd_str("SSUBSCRIBE s"), b"*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
        let list = String::from_utf8_lossy(&admin.cmd_str("CLIENT LIST TYPE pubsub")).into_owned();
        let lines: Vec<&str> = list.lines().skip(1).filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 1, "{}: {list}", kind.name());
        assert!(lines[0].contains(" flags=P "), "{list}");
        assert!(lines[0].contains(" sub=2 psub=1 ssub=1 "), "{list}");
        let normal = String::from_utf8_lossy(&admin.cmd_str("CLIENT LIST TYPE normal")).into_owned();
        assert!(normal.contains(" flags=N ") && normal.contains(" sub=0 psub=0 ssub=0 "), "{normal}");
        assert_eq!(admin.cmd_str("PUBSUB NUMSUB a"), b"*2\r\n$1\r\na\r\n:1\r\n");
        let info = String::from_utf8_lossy(&admin.cmd_str("INFO stats")).into_owned();
        for field in ["pubsub_channels:2\r\n", "pubsub_patterns:1\r\n", "pubsubshard_channels:1\r\n"] {
            assert!(info.contains(field), "{}: {field} in {info}", kind.name());
        }
        assert_eq!(admin.cmd_str("CLIENT KILL TYPE pubsub"), b":1\r\n", "{}", kind.name());
        sub.read_closed();
        // The freed client left every channel and pattern.
        wait_for_reply(&mut admin, "PUBSUB NUMSUB a", b"*2\r\n$1\r\na\r\n:0\r\n");
        assert_eq!(admin.cmd_str("PUBSUB NUMPAT"), b":0\r\n");
        assert_eq!(admin.cmd_str("PUBSUB SHARDNUMSUB s"), b"*2\r\n$1\r\ns\r\n:0\r\n");
        assert_eq!(admin.cmd_str("PUBLISH a x"), b":0\r\n");
    }
}

#[test]
fn disconnected_subscriber_is_forgotten() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut sub, mut admin) = (server.conn(), server.conn());
        sub.cmd_str("SUBSCRIBE gone");
        sub.cmd_str("PSUBSCRIBE go*");
        assert_eq!(admin.cmd_str("PUBLISH gone x"), b":2\r\n");
        drop(sub);
        wait_for_reply(&mut admin, "PUBLISH gone x", b":0\r\n");
        assert_eq!(admin.cmd_str("PUBSUB CHANNELS"), b"*0\r\n", "{}", kind.name());
    }
}

const MESSAGE_SIZE: usize = 1000;
const BATCH: usize = 100;
/// An upper bound well beyond what loopback socket buffers can hold (tens of MB).
const MAX_BATCHES: usize = 600;

/// Publishes batches of 1 KB messages on `ch` until a PUBLISH reaches only one receiver
/// (the slow subscriber was cut off); returns how many messages were published.
fn publish_until_one_receiver(publisher: &mut RawConn) -> usize {
    let payload = vec![b'x'; MESSAGE_SIZE];
    let mut batch = Vec::new();
    for _ in 0..BATCH {
        batch.extend(encode_command(&[b"PUBLISH", b"ch", &payload]));
    }
    for round in 0..MAX_BATCHES {
        publisher.send(&batch);
        let replies: Vec<Vec<u8>> = (0..BATCH).map(|_| read(publisher)).collect();
        if replies.iter().any(|r| r == b":1\r\n") {
            return (round + 1) * BATCH;
        }
        assert!(replies.iter().all(|r| r == b":2\r\n"), "unexpected PUBLISH reply {:?}", replies.first());
    }
    panic!("the slow subscriber was never disconnected");
}

/// Reads messages until `stop` arrives; returns how many came before it.
fn drain_until_stop(mut c: RawConn) -> usize {
    let stop = message("ch", "stop");
    let mut count = 0;
    loop {
        match c.read_reply() {
            Ok(reply) if reply == stop => return count,
            Ok(_) => count += 1,
            Err(e) => panic!("healthy subscriber lost its connection after {count} messages: {e}"),
        }
    }
}

#[test]
fn slow_subscriber_is_disconnected_by_the_pubsub_output_limit() {
    for kind in kinds() {
        let server = Server::start(kind, &["--client-output-buffer-limit", "pubsub 64kb 0 0"]);
        let (mut slow, mut healthy, mut publisher) = (server.conn(), server.conn(), server.conn());
        slow.cmd_str("SUBSCRIBE ch");
        healthy.cmd_str("SUBSCRIBE ch");
        let reader = thread::spawn(move || drain_until_stop(healthy));
        let published = publish_until_one_receiver(&mut publisher);
        assert_eq!(publisher.cmd_str("PUBLISH ch stop"), b":1\r\n");
        // A subscriber that reads keeps up: it got every message.
        assert_eq!(reader.join().expect("reader thread"), published, "{}", kind.name());
        // The slow one finds its connection closed once it reads what was sent before.
        slow.set_timeout(Duration::from_secs(10));
        let closed_at = Instant::now() + Duration::from_secs(10);
        loop {
            match slow.read_reply() {
                Ok(_) => {}
                Err(ReplyError::Closed) | Err(ReplyError::Truncated(_)) => break,
                Err(e) => panic!("{}: slow subscriber: {e}", kind.name()),
            }
            assert!(Instant::now() < closed_at, "slow subscriber still connected");
        }
        let log = server.output();
        assert!(log.contains("scheduled to be closed ASAP for overcoming of output buffer limits"), "{log}");
        // The healthy subscriber hung up when its thread ended.
        wait_for_reply(&mut publisher, "PUBSUB NUMSUB ch", b"*2\r\n$2\r\nch\r\n:0\r\n");
    }
}

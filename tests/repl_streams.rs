//! The replication stream of the stream commands, compared between redis-server 7.0.15 and
//! ferredis: the same script runs against a master of each kind while a fake replica on a
//! raw socket (PING, REPLCONF capa psync2, PSYNC ? -1, the disk payload skipped) reads what
//! the master records. XREADGROUP, XCLAIM and XAUTOCLAIM are recorded as their effects
//! (XCLAIM ... FORCE JUSTID LASTID, XGROUP SETID, XGROUP CREATECONSUMER), XADD with its
//! generated ID and exact trims; everything else as typed.
//!
//! The clock can't be the same on two servers: XCLAIM's TIME values and generated stream IDs
//! (any run of 13 digits, and the sequence after one) have those digits masked. Everything else, the
//! framing included, must be equal byte for byte. The master's periodic PINGs are dropped.
//! Under CI=true a missing redis-server fails the comparison (tests/common).
mod common;

use common::{blocked_clients, encode_command, escape_bytes, require_redis, resp_frame_len, wait_blocked, RawConn, Server, ServerKind};
use std::time::{Duration, Instant};

/// The script: one command per line; a line starting with `&` is sent on a connection of
/// its own and must block.
const SCRIPT: &[&str] = &[
    "XADD s 1-1 f 1",
    "XADD s 2-1 f 2",
    "XADD s 3-1 f 3",
    "XADD s 4-1 f 4",
    "XGROUP CREATE s g 0",
    // Deliveries, NOACK, history reads, consumers created on the way.
    "XREADGROUP GROUP g alice COUNT 2 STREAMS s >",
    "XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS s >",
    "XREADGROUP GROUP g alice STREAMS s 0",
    "XREADGROUP GROUP g carol STREAMS s 0",
    "XREADGROUP GROUP g dan NOACK STREAMS s 0",
    "XREADGROUP GROUP g alice STREAMS s >",
    "XREADGROUP GROUP g alice STREAMS s >",
    // XCLAIM: IDs as typed, a deleted pending entry, LASTID alone, FORCE, TIME, IDLE, RETRYCOUNT.
    "XDEL s 2-1",
    "XCLAIM s g dave 0 1 2-1 3-1 99-0 0001 04-1",
    "XCLAIM s g dave 0 1-1 JUSTID LASTID 50-0",
    "XCLAIM s g erin 0 1-1 FORCE JUSTID LASTID 60-0",
    "XCLAIM s g erin 0 77-0 LASTID 70-0",
    "XCLAIM s g erin 0 3-1 FORCE RETRYCOUNT 5 TIME 12345 JUSTID",
    "XCLAIM s g erin 0 3-1 IDLE 10 RETRYCOUNT 9223372036854775807",
    "XCLAIM s g erin 0 3-1",
    "XCLAIM s g erin 3600000 3-1",
    "XADD s 5-1 f 5",
    "XADD s 6-1 f 6",
    "XDEL s 5-1",
    "XGROUP SETID s g 4-1",
    "XREADGROUP GROUP g frank COUNT 1 STREAMS s >",
    "XDEL s 6-1",
    // XAUTOCLAIM: claimed and deleted entries, COUNT, JUSTID, nothing idle enough.
    "XAUTOCLAIM s g gina 0 0 COUNT 2",
    "XAUTOCLAIM s g gina 0 0 COUNT 10",
    "XAUTOCLAIM s g gina 0 0 COUNT 10 JUSTID",
    "XAUTOCLAIM s g gina 3600000 0",
    // XGROUP with $ goes as typed.
    "XGROUP CREATE s g2 $",
    "XGROUP SETID s g2 $",
    "XGROUP SETID s g2 0 ENTRIESREAD 3",
    "XGROUP CREATE t g $ MKSTREAM",
    // Blocked readers served by a write, and by a transaction.
    "&XREADGROUP GROUP g alice BLOCK 0 STREAMS t >",
    "&XREADGROUP GROUP g bob NOACK BLOCK 0 STREAMS t >",
    "&XREADGROUP GROUP g carol BLOCK 0 STREAMS t >",
    "XGROUP CREATECONSUMER t g carol",
    "XADD t 1-1 f 1",
    "XADD t 2-1 f 2",
    "MULTI",
    "XADD t 3-1 f 3",
    "XADD t 4-1 f 4",
    "EXEC",
    "XADD t 5-1 f 5",
    "MULTI",
    "XREADGROUP GROUP g zed STREAMS t s > >",
    "XREADGROUP GROUP g zed NOACK STREAMS t >",
    "EXEC",
    // Generated IDs and approximate trims.
    "XADD auto * f x",
    "XADD auto MAXLEN ~ 2 * f y",
    "XADD auto MINID ~ 0 * f y",
    "XTRIM auto MAXLEN ~ 0",
    "XTRIM auto MAXLEN 1",
    // The rest as typed, or not at all when nothing changed.
    "XSETID s 9999999999999-0",
    "XACK s g 3-1 1-1",
    "XACK s g 3-1",
    "XGROUP CREATECONSUMER s g zed2",
    "XGROUP DELCONSUMER s g zed2",
    "XGROUP DESTROY s g2",
];

const SENTINEL: &str = "SET __end_of_script__ 1";

// ---------------------------------------------------------------------------------------------
// The fake replica
// ---------------------------------------------------------------------------------------------

/// Appends whatever arrives within a short wait to `buf`.
fn pump(c: &mut RawConn, buf: &mut Vec<u8>) {
    let _ = c.poll_closed(Duration::from_millis(50));
    buf.extend_from_slice(&c.take_pending());
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?.windows(2).position(|w| w == b"\r\n").map(|i| from + i)
}

/// Where the command stream starts in what a full sync sent: after `+FULLRESYNC ...`, the
/// keep-alive newlines, `$<len>` and the payload. None while incomplete.
fn stream_start(buf: &[u8]) -> Option<usize> {
    let mut pos = 0;
    loop {
        while buf.get(pos) == Some(&b'\n') {
            pos += 1;
        }
        let end = line_end(buf, pos)?;
        let line = &buf[pos..end];
        if line.starts_with(b"+FULLRESYNC ") {
            pos = end + 2;
            continue;
        }
        assert_eq!(line.first(), Some(&b'$'), "expected the payload: {}", escape_bytes(line));
        let len: usize = std::str::from_utf8(&line[1..]).ok()?.parse().ok()?;
        let start = end + 2 + len;
        return (buf.len() >= start).then_some(start);
    }
}

/// A fake replica after its disk-based full sync, and the stream bytes already received.
fn fake_replica(master: &Server) -> (RawConn, Vec<u8>) {
    let mut f = master.conn();
    assert_eq!(f.cmd_str("PING"), b"+PONG\r\n");
    assert_eq!(f.cmd_str("REPLCONF capa psync2"), b"+OK\r\n");
    f.send(&encode_command(&[b"PSYNC", b"?", b"-1"]));
    let mut buf = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(start) = stream_start(&buf) {
            return (f, buf.split_off(start));
        }
        assert!(Instant::now() < deadline, "no full sync: {}", escape_bytes(&buf));
        pump(&mut f, &mut buf);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading the stream
// ---------------------------------------------------------------------------------------------

/// The arguments of one multibulk frame, which must be written canonically.
fn parse_command(frame: &[u8]) -> Vec<Vec<u8>> {
    let mut args = Vec::new();
    let mut pos = line_end(frame, 0).expect("header") + 2;
    while pos < frame.len() {
        let end = line_end(frame, pos).expect("bulk header");
        let len: usize = std::str::from_utf8(&frame[pos + 1..end]).expect("utf8").parse().expect("bulk length");
        args.push(frame[end + 2..end + 2 + len].to_vec());
        pos = end + 4 + len;
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    assert_eq!(escape_bytes(&encode_command(&refs)), escape_bytes(frame), "not canonical RESP");
    args
}

/// Every complete command in `bytes`.
fn parse_stream(bytes: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut commands = Vec::new();
    let mut pos = 0;
    while let Some(len) = resp_frame_len(&bytes[pos..]).expect("RESP") {
        commands.push(parse_command(&bytes[pos..pos + len]));
        pos += len;
    }
    commands
}

/// Clock digits become X's of the same length: a 13-digit millisecond time and the
/// sequence of a stream ID that starts with one (its sequence depends on how many IDs were
/// generated within that millisecond).
fn mask_clock(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let mut i = 0;
    while i < out.len() {
        let run = out[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if run == 13 {
            out[i..i + run].fill(b'X');
            if out.get(i + run) == Some(&b'-') {
                let seq = out[i + run + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
                out[i + run + 1..i + run + 1 + seq].fill(b'X');
                i += seq + 1;
            }
        }
        i += run.max(1);
    }
    out
}

fn mask_arg(arg: &[u8]) -> String {
    String::from_utf8_lossy(&mask_clock(arg)).into_owned()
}

/// The stream as lines of masked arguments, the master's PINGs left out.
fn masked_lines(commands: &[Vec<Vec<u8>>]) -> Vec<String> {
    commands
        .iter()
        .filter(|args| args.first().map(|a| a.eq_ignore_ascii_case(b"ping")) != Some(true))
        .map(|args| args.iter().map(|a| mask_arg(a)).collect::<Vec<_>>().join(" "))
        .collect()
}

/// What each command of the script replied (blocking ones: nothing) and what the master
/// recorded up to the sentinel.
fn run_script(kind: ServerKind) -> (Vec<String>, Vec<String>) {
    let master = Server::start(kind, &[]);
    let (mut replica, mut stream) = fake_replica(&master);
    let (mut c, mut ctl) = (master.conn(), master.conn());
    let mut parked = Vec::new();
    let mut replies = Vec::new();
    for line in SCRIPT {
        if let Some(blocking) = line.strip_prefix('&') {
            let before = blocked_clients(&mut ctl);
            let mut b = master.conn();
            b.send(&encode_command(&blocking.split(' ').map(str::as_bytes).collect::<Vec<_>>()));
            wait_blocked(&mut ctl, before + 1);
            parked.push(b);
            continue;
        }
        let reply = c.cmd_str(line);
        replies.push(format!("{line} -> {}", escape_bytes(&mask_clock(&reply))));
    }
    assert_eq!(c.cmd_str(SENTINEL), b"+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !masked_lines(&parse_stream(&stream)).iter().any(|l| l == SENTINEL) {
        assert!(Instant::now() < deadline, "{}: no sentinel in {}", kind.name(), escape_bytes(&stream));
        pump(&mut replica, &mut stream);
    }
    (replies, masked_lines(&parse_stream(&stream)))
}

/// Fails at the first differing line, showing both streams around it.
fn assert_same_lines(what: &str, redis: &[String], ferredis: &[String]) {
    let first_diff = redis.iter().zip(ferredis).position(|(r, f)| r != f).unwrap_or(redis.len().min(ferredis.len()));
    if redis.len() == ferredis.len() && first_diff == redis.len() {
        return;
    }
    let from = first_diff.saturating_sub(3);
    panic!(
        "{what} differ at line {first_diff}:\n--- redis ---\n{}\n--- ferredis ---\n{}",
        redis.get(from..).unwrap_or(&[]).iter().take(10).cloned().collect::<Vec<_>>().join("\n"),
        ferredis.get(from..).unwrap_or(&[]).iter().take(10).cloned().collect::<Vec<_>>().join("\n"),
    );
}

#[test]
fn stream_commands_are_recorded_like_redis_7_0() {
    if !require_redis() {
        return;
    }
    let (redis_replies, redis_stream) = run_script(ServerKind::Redis);
    let (ferredis_replies, ferredis_stream) = run_script(ServerKind::Ferredis);
    assert_same_lines("replies", &redis_replies, &ferredis_replies);
    assert_same_lines("replication streams", &redis_stream, &ferredis_stream);
}

#[test]
fn group_reads_and_claims_are_recorded_as_their_effects() {
    let (_, stream) = run_script(ServerKind::Ferredis);
    let has = |needle: &str| stream.iter().any(|l| l.starts_with(needle));
    for typed in ["XREADGROUP", "XAUTOCLAIM", "XCLAIM s g erin 3600000"] {
        assert!(!has(typed), "{typed} recorded as typed:\n{}", stream.join("\n"));
    }
    let alice = "XCLAIM s g alice 0 1-1 TIME XXXXXXXXXXXXX RETRYCOUNT 1 FORCE JUSTID LASTID 1-1";
    for line in [alice, "XGROUP CREATECONSUMER s g bob", "XGROUP SETID s g 3-1 ENTRIESREAD 3", "XADD auto XXXXXXXXXXXXX-X f x"] {
        assert!(has(line), "no {line:?} in:\n{}", stream.join("\n"));
    }
}

//! Networking tests on the real ferredis-server binary: inline commands, big pipelines, big
//! arguments arriving in pieces, protocol errors, the query and output buffer limits,
//! maxclients, idle timeouts, slow readers, and the real redis-cli and redis-benchmark as
//! clients. Where the real redis-server is on PATH, limits are checked on it too.
mod common;

use common::{encode_command, escape_bytes, require_redis, RawConn, Server, ServerKind};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A generous bound for anything that should take well under a second.
const BOUND: Duration = Duration::from_secs(5);

fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

/// Polls `cond` every 20 ms until it holds (true) or `bound` passes (false).
fn poll_until(bound: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + bound;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn log_has(server: &Server, needle: &str) -> bool {
    poll_until(BOUND, || std::fs::read_to_string(&server.log).unwrap_or_default().contains(needle))
}

fn bulk_reply(value: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", value.len()).into_bytes();
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
    out
}

/// Sends `bytes` from another thread on a clone of the stream, so a big write can't
/// deadlock against replies nobody is reading yet.
fn send_in_background(stream: &TcpStream, bytes: Vec<u8>) -> thread::JoinHandle<std::io::Result<()>> {
    let mut writer = stream.try_clone().unwrap_or_else(|e| panic!("clone stream: {e}"));
    thread::spawn(move || writer.write_all(&bytes))
}

/// Reads until `total` bytes arrived, EOF, or `bound` passes.
fn read_bytes(stream: &mut TcpStream, total: usize, bound: Duration) -> Vec<u8> {
    let deadline = Instant::now() + bound;
    let mut buf = Vec::with_capacity(total);
    let mut chunk = vec![0u8; 256 * 1024];
    while buf.len() < total && Instant::now() < deadline {
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    buf
}

fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect {port}: {e}"))
}

/// A value of `len` bytes whose content depends on the position, so a lost, repeated or
/// reordered chunk is noticed.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| b'a' + ((i / 7 + i % 13) % 26) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

#[test]
fn inline_commands_telnet_style() {
    let server = Server::start_ferredis(&[]);
    let mut c = server.conn();
    c.send(b"PING\r\n");
    assert_eq!(c.read_reply().ok(), Some(b"+PONG\r\n".to_vec()));
    c.send(b"SET a \"b c\"\n");
    assert_eq!(c.read_reply().ok(), Some(b"+OK\r\n".to_vec()));
    c.send(b"GET a\r\n");
    assert_eq!(c.read_reply().ok(), Some(bulk_reply(b"b c")));
    // Inline and multibulk mix on one connection; empty lines get no reply.
    c.send(b"\r\n\nECHO 'x y' \"\\x41\\n\"\r\n*1\r\n$4\r\nPING\r\n  PING  \n");
    assert_eq!(c.read_reply().ok(), Some(b"-ERR wrong number of arguments for 'echo' command\r\n".to_vec()));
    assert_eq!(c.read_reply().ok(), Some(b"+PONG\r\n".to_vec()));
    assert_eq!(c.read_reply().ok(), Some(b"+PONG\r\n".to_vec()));
    c.send(b"ECHO \"\\x41\\n\"\n");
    assert_eq!(c.read_reply().ok(), Some(bulk_reply(b"A\n")));
}

#[test]
fn pipeline_of_ten_thousand_commands_in_one_write() {
    let server = Server::start_ferredis(&[]);
    let mut stream = connect(server.port);
    let mut request = Vec::new();
    let mut expected = Vec::new();
    for i in 0..10_000u32 {
        match i % 3 {
            0 => {
                request.extend(encode_command(&[b"INCR", b"n"]));
                expected.extend(format!(":{}\r\n", i / 3 + 1).into_bytes());
            }
            1 => {
                request.extend(format!("SET k{i} v{i}\r\n").into_bytes());
                expected.extend_from_slice(b"+OK\r\n");
            }
            _ => {
                request.extend(encode_command(&[b"GET", format!("k{}", i - 1).as_bytes()]));
                expected.extend(bulk_reply(format!("v{}", i - 1).as_bytes()));
            }
        }
    }
    let writer = send_in_background(&stream, request);
    let got = read_bytes(&mut stream, expected.len(), Duration::from_secs(30));
    assert!(writer.join().map(|r| r.is_ok()).unwrap_or(false), "write failed");
    assert_eq!(got.len(), expected.len(), "reply bytes");
    assert!(got == expected, "replies differ from the expected sequence");
}

#[test]
fn ten_megabyte_argument_in_small_chunks() {
    let server = Server::start_ferredis(&[]);
    let mut c = server.conn();
    let value = pattern(10 * 1024 * 1024);
    let header = format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${}\r\n", value.len());
    // Even the header arrives split, in the middle of the length.
    c.send(&header.as_bytes()[..header.len() - 4]);
    c.send(&header.as_bytes()[header.len() - 4..]);
    for chunk in value.chunks(4093) {
        c.send(chunk);
    }
    c.send(b"\r\n");
    assert_eq!(c.read_reply().ok(), Some(b"+OK\r\n".to_vec()));
    assert_eq!(c.cmd_str("STRLEN big"), format!(":{}\r\n", value.len()).into_bytes());
    c.set_timeout(Duration::from_secs(20));
    let got = c.cmd_str("GET big");
    assert!(got == bulk_reply(&value), "GET big returned other bytes ({} bytes)", got.len());
    assert_eq!(c.cmd_str("PING"), b"+PONG\r\n");
}

/// Every protocol error: the error reply, then the connection closes; nothing after the
/// bad request runs.
#[test]
fn protocol_errors_close_the_connection() {
    let long_inline = vec![b'a'; 70_000];
    let mut long_count = b"*".to_vec();
    long_count.extend(vec![b'1'; 70_000]);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"*abc\r\nSET x 1\r\n".to_vec(), "invalid multibulk length"),
        (b"*2147483648\r\n".to_vec(), "invalid multibulk length"),
        (b"*1\r\n$abc\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$-1\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\n$536870913\r\n".to_vec(), "invalid bulk length"),
        (b"*1\r\nfoo\r\n".to_vec(), "expected '$', got 'f'"),
        (b"SET \"a b\r\n".to_vec(), "unbalanced quotes in request"),
        (b"SET 'a b\r\n".to_vec(), "unbalanced quotes in request"),
        (b"SET \"a\"b c\r\n".to_vec(), "unbalanced quotes in request"),
        (long_inline, "too big inline request"),
        (long_count, "too big mbulk count string"),
    ];
    let server = Server::start_ferredis(&[]);
    for (input, error) in &cases {
        let mut c = server.conn();
        c.send(input);
        let expected = format!("-ERR Protocol error: {error}\r\n").into_bytes();
        let got = c.read_reply().unwrap_or_else(|e| panic!("{}: {e}", escape_bytes(&input[..input.len().min(40)])));
        assert_eq!(escape_bytes(&got), escape_bytes(&expected));
        c.read_closed();
    }
    let mut c = server.conn();
    assert_eq!(c.cmd_str("EXISTS x"), b":0\r\n", "SET after the bad request must not have run");
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[test]
fn query_buffer_limit_closes_without_reply() {
    for kind in kinds() {
        let server = Server::start(kind, &["--client-query-buffer-limit", "1mb"]);
        let mut c = server.conn();
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2000000\r\n");
        // The server may close while we still write: a failed write is expected then.
        for chunk in pattern(1_500_000).chunks(64 * 1024) {
            if c.try_send(chunk).is_err() {
                break;
            }
        }
        c.read_closed();
        assert!(log_has(&server, "Closing client that reached max query buffer length"), "{}", kind.name());
        assert_eq!(server.conn().cmd_str("EXISTS k"), b":0\r\n");
    }
}

#[test]
fn output_buffer_hard_limit_disconnects_a_client_that_does_not_read() {
    for kind in kinds() {
        let mut server = Server::start(kind, &["--client-output-buffer-limit", "normal 1mb 0 0"]);
        let mut setter = server.conn();
        let value = pattern(100 * 1024);
        assert_eq!(setter.cmd(&[b"SET", b"v", &value]), b"+OK\r\n");
        let mut greedy = connect(server.port);
        let gets: Vec<u8> = (0..300).flat_map(|_| encode_command(&[b"GET", b"v"])).collect();
        greedy.write_all(&gets).unwrap_or_else(|e| panic!("write: {e}"));
        let needle = "scheduled to be closed ASAP for overcoming of output buffer limits";
        assert!(log_has(&server, needle), "{}: no {needle:?} in the log", kind.name());
        // Whatever reached the socket before the limit hit, the rest never comes.
        let got = read_bytes(&mut greedy, 300 * value.len(), Duration::from_secs(10));
        assert!(got.len() < 300 * value.len(), "{}: got all {} bytes", kind.name(), got.len());
        assert!(poll_until(BOUND, || greedy.read(&mut [0u8; 1]).map_or(true, |n| n == 0)), "not closed");
        server.assert_alive();
        assert_eq!(setter.cmd_str("PING"), b"+PONG\r\n");
        assert_eq!(server.conn().cmd_str("STRLEN v"), format!(":{}\r\n", value.len()).into_bytes());
    }
}

/// Number of clients in CLIENT LIST, as seen by `conn`.
fn client_count(conn: &mut RawConn) -> usize {
    let list = conn.cmd_str("CLIENT LIST");
    String::from_utf8_lossy(&list).lines().filter(|l| l.contains("id=")).count()
}

#[test]
fn maxclients_rejects_the_extra_connection() {
    for kind in kinds() {
        let server = Server::start(kind, &["--maxclients", "3"]);
        let mut first = server.conn();
        // The harness's readiness probe may still be counted for a moment.
        assert!(poll_until(BOUND, || client_count(&mut first) == 1), "{}: probe lingers", kind.name());
        let mut others: Vec<RawConn> = (0..2).map(|_| server.conn()).collect();
        for c in others.iter_mut() {
            assert_eq!(c.cmd_str("PING"), b"+PONG\r\n");
        }
        let mut extra = server.conn();
        let reply = extra.read_reply().unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
        assert_eq!(reply, b"-ERR max number of clients reached\r\n", "{}", kind.name());
        extra.read_closed();
        assert_eq!(first.cmd_str("PING"), b"+PONG\r\n");
        drop(others);
        assert!(poll_until(BOUND, || client_count(&mut first) == 1), "{}: closed clients linger", kind.name());
        assert_eq!(server.conn().cmd_str("PING"), b"+PONG\r\n", "{}: a slot is free again", kind.name());
    }
}

#[test]
fn idle_timeout_closes_idle_clients_only() {
    let server = Server::start_ferredis(&["--timeout", "1"]);
    let mut idle = server.conn();
    assert_eq!(idle.cmd_str("PING"), b"+PONG\r\n");
    let mut busy = server.conn();
    let started = Instant::now();
    let mut closed = false;
    while !closed && started.elapsed() < Duration::from_secs(10) {
        assert_eq!(busy.cmd_str("PING"), b"+PONG\r\n", "an active client must stay connected");
        closed = idle.poll_closed(Duration::from_millis(300)).unwrap_or(true);
    }
    assert!(closed, "the idle client was not closed within 10 s");
    assert!(idle.take_pending().is_empty(), "no reply is sent to a timed-out client");
    assert_eq!(busy.cmd_str("PING"), b"+PONG\r\n");
}

/// A 50 MB answer to a client that reads nothing for a second: it must come through the
/// writable handler intact and in order.
#[test]
fn slow_reader_gets_every_byte() {
    let server = Server::start_ferredis(&[]);
    let mut c = server.conn();
    let value = pattern(5 * 1024 * 1024);
    assert_eq!(c.cmd(&[b"SET", b"big", &value]), b"+OK\r\n");
    let mut stream = connect(server.port);
    let gets: Vec<u8> = (0..10).flat_map(|_| encode_command(&[b"GET", b"big"])).collect();
    stream.write_all(&gets).unwrap_or_else(|e| panic!("write: {e}"));
    thread::sleep(Duration::from_secs(1));
    assert_eq!(c.cmd_str("PING"), b"+PONG\r\n", "others are served meanwhile");
    let one = bulk_reply(&value);
    let got = read_bytes(&mut stream, 10 * one.len(), Duration::from_secs(60));
    assert_eq!(got.len(), 10 * one.len(), "reply bytes");
    for (i, reply) in got.chunks(one.len()).enumerate() {
        assert!(reply == one.as_slice(), "reply {i} differs");
    }
}

// ---------------------------------------------------------------------------------------------
// Real clients
// ---------------------------------------------------------------------------------------------

/// Like `require_redis` for another peer binary: a CI failure, a loud skip elsewhere.
fn require_tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if found {
        return true;
    }
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("{name} is not on PATH and CI=true: run scripts/install-peers.sh");
    }
    let _ = std::io::stderr().write_all(format!("\n*** SKIP: {name} is not on PATH (run scripts/install-peers.sh) ***\n").as_bytes());
    false
}

fn run_benchmark(port: u16, extra: &[&str]) {
    let port = port.to_string();
    let mut args = vec!["-p", &port, "-q", "-t", "ping,set,get,incr,mset", "-c", "50", "-n", "20000"];
    args.extend_from_slice(extra);
    let out = Command::new("redis-benchmark")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("redis-benchmark: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "redis-benchmark {args:?} exited with {}:\n{text}", out.status);
    assert!(!text.to_lowercase().contains("error"), "redis-benchmark {args:?} reported errors:\n{text}");
    for test in ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"] {
        assert!(text.contains(&format!("{test}: ")), "{test} missing from:\n{text}");
    }
}

#[test]
fn redis_benchmark_runs_clean() {
    if !require_tool("redis-benchmark") {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    run_benchmark(server.port, &[]);
    run_benchmark(server.port, &["-P", "16"]);
    server.assert_alive();
    let mut c = server.conn();
    // Without -r the key names stay literal: one SET/GET/MSET key and one INCR counter.
    assert_eq!(c.cmd_str("DBSIZE"), b":2\r\n");
    assert_eq!(c.cmd_str("GET counter:__rand_int__"), b"$5\r\n40000\r\n", "every INCR of both runs counted");
}

#[test]
fn redis_cli_reads_commands_from_stdin() {
    if !require_tool("redis-cli") {
        return;
    }
    let server = Server::start_ferredis(&[]);
    let mut child = Command::new("redis-cli")
        .args(["-p", &server.port.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("redis-cli: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(b"SET a 1\nGET a\nINCR a\nGET nokey\n").unwrap_or_else(|e| panic!("stdin: {e}"));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("redis-cli: {e}"));
    assert!(out.status.success(), "redis-cli exited with {}", out.status);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "OK\n1\n2\n\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

/// A client whose last command and FIN arrive together (one epoll edge) is still freed: the
/// short read returns the command, the end of file must not be missed. Checked on both
/// servers; the server is stopped while the clients write and close, so both arrive at once.
#[test]
fn clients_closing_right_after_their_last_command_are_freed() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut observer = server.conn();
        server.signal("-STOP");
        let mut closers = Vec::new();
        for i in 0..5 {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
            std::io::Write::write_all(&mut s, format!("SET k{i} v\r\n").as_bytes()).expect("write");
            s.shutdown(std::net::Shutdown::Write).expect("shutdown");
            closers.push(s);
        }
        server.signal("-CONT");
        common::wait_until(20, "the closed clients to be freed", || {
            common::info_num(&mut observer, "clients", "connected_clients") == 1
        });
        assert_eq!(common::cmd_text(&mut observer, "EXISTS k0 k1 k2 k3 k4"), "5", "{}", kind.name());
    }
}

//! Tests of the shared test harness (tests/common) itself: RESP reply framing on hand-made
//! bytes, port reservation, and RawConn / Server against the real redis-server, whose
//! `DEBUG PROTOCOL` emits every RESP3 type. If these fail, failures elsewhere may be the
//! harness's fault rather than ferredis's.
mod common;

use common::{free_port, require_redis, resp_frame_len, RawConn, ReplyError, Server};
use std::collections::HashSet;
use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn frame_len_of_each_type() {
    let complete: &[&[u8]] = &[
        b"+OK\r\n",
        b"-ERR x\r\n",
        b":-12\r\n",
        b"$5\r\nhe\r\no\r\n",
        b"$0\r\n\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"*0\r\n",
        b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n",
        b"%1\r\n$1\r\nk\r\n$1\r\nv\r\n",
        b"~2\r\n:1\r\n:2\r\n",
        b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
        b",1.5\r\n",
        b"#t\r\n",
        b"(123456789012345678901234567890\r\n",
        b"=7\r\ntxt:abc\r\n",
        b"!3\r\nerr\r\n",
        b"_\r\n",
        b"|1\r\n$3\r\nkey\r\n:1\r\n$5\r\nreply\r\n",
    ];
    for reply in complete {
        let mut with_next = reply.to_vec();
        with_next.extend_from_slice(b"+NEXT\r\n");
        assert_eq!(
            resp_frame_len(&with_next),
            Ok(Some(reply.len())),
            "{}",
            common::escape_bytes(reply)
        );
        for cut in 0..reply.len() {
            assert_eq!(
                resp_frame_len(&reply[..cut]),
                Ok(None),
                "prefix {cut} of {}",
                common::escape_bytes(reply)
            );
        }
    }
}

#[test]
fn frame_len_rejects_garbage() {
    for bad in [
        &b"?x\r\n"[..],
        b"$abc\r\n",
        b"$-2\r\n",
        b"%-1\r\n",
        b"$3\r\nabcde\r\n",
        b"*1\r\n@\r\n",
    ] {
        assert!(
            resp_frame_len(bad).is_err(),
            "{}",
            common::escape_bytes(bad)
        );
    }
}

#[test]
fn free_ports_are_distinct_and_bindable() {
    let ports: Vec<u16> = (0..20).map(|_| free_port()).collect();
    let distinct: HashSet<u16> = ports.iter().copied().collect();
    assert_eq!(distinct.len(), ports.len(), "{ports:?}");
    for port in ports {
        assert!(port < 32768, "port {port} is in the ephemeral range");
        TcpListener::bind(("127.0.0.1", port)).unwrap_or_else(|e| panic!("port {port}: {e}"));
    }
}

#[test]
fn raw_conn_reads_one_reply_at_a_time() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let mut conn = server.conn();
    assert_eq!(conn.cmd(&[b"PING"]), b"+PONG\r\n");
    assert_eq!(conn.cmd(&[b"SET", b"k", b"a\r\nb"]), b"+OK\r\n");
    assert_eq!(conn.cmd(&[b"GET", b"k"]), b"$4\r\na\r\nb\r\n");
    assert_eq!(conn.cmd(&[b"GET", b"nokey"]), b"$-1\r\n");
    conn.send(b"PING\r\nECHO two\r\n*2\r\n$4\r\nECHO\r\n$5\r\nthree\r\n");
    assert_eq!(conn.read_reply().unwrap(), b"+PONG\r\n");
    assert_eq!(conn.read_reply().unwrap(), b"$3\r\ntwo\r\n");
    assert_eq!(conn.read_reply().unwrap(), b"$5\r\nthree\r\n");
    let big = vec![b'x'; 300_000];
    assert_eq!(conn.cmd(&[b"SET", b"big", &big]), b"+OK\r\n");
    let reply = conn.cmd(&[b"GET", b"big"]);
    assert_eq!(reply.len(), "$300000\r\n".len() + big.len() + 2);
}

/// `DEBUG PROTOCOL <type>` makes redis emit each RESP3 type; after each one a PING must read
/// back exactly `+PONG`, which proves the frame ended where it should.
#[test]
fn raw_conn_frames_every_resp3_type() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&["--enable-debug-command", "yes"]);
    let mut conn = server.conn();
    assert_eq!(conn.cmd(&[b"HELLO", b"3"])[0], b'%');
    let expected_first_byte = [
        ("string", b'$'),
        ("integer", b':'),
        ("double", b','),
        ("bignum", b'('),
        ("null", b'_'),
        ("array", b'*'),
        ("set", b'~'),
        ("map", b'%'),
        ("attrib", b'|'),
        ("push", b'>'),
        ("verbatim", b'='),
        ("true", b'#'),
        ("false", b'#'),
    ];
    for (kind, first) in expected_first_byte {
        let reply = conn.cmd(&[b"DEBUG", b"PROTOCOL", kind.as_bytes()]);
        assert_eq!(
            reply[0],
            first,
            "DEBUG PROTOCOL {kind}: {}",
            common::escape_bytes(&reply)
        );
        if kind == "push" {
            // A push is out-of-band: redis follows it with the command's real reply.
            let real = conn.read_reply().unwrap();
            assert_eq!(real, b"$40\r\nSome real reply following the push reply\r\n");
        }
        assert_eq!(
            conn.cmd(&[b"PING"]),
            b"+PONG\r\n",
            "after DEBUG PROTOCOL {kind}"
        );
    }
    // The attribute and the reply it annotates come back as one frame.
    let attrib = conn.cmd(&[b"DEBUG", b"PROTOCOL", b"attrib"]);
    assert!(
        attrib.starts_with(b"|1\r\n"),
        "{}",
        common::escape_bytes(&attrib)
    );
    assert!(
        attrib.ends_with(b"$39\r\nSome real reply following the attribute\r\n"),
        "{}",
        common::escape_bytes(&attrib)
    );
}

#[test]
fn read_closed_sees_protocol_error_close_and_quit() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let mut conn = server.conn();
    conn.send(b"*abc\r\n");
    assert_eq!(
        conn.read_reply().unwrap(),
        b"-ERR Protocol error: invalid multibulk length\r\n"
    );
    conn.read_closed();
    assert!(conn.is_closed());
    assert!(matches!(conn.read_reply(), Err(ReplyError::Closed)));
    let mut conn = server.conn();
    assert_eq!(conn.cmd(&[b"QUIT"]), b"+OK\r\n");
    conn.read_closed();
}

#[test]
fn read_closed_fails_on_an_open_connection() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let mut conn = server.conn();
    conn.set_timeout(Duration::from_millis(200));
    let failure = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.read_closed()));
    let message = failure
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("read_closed must panic");
    assert!(message.contains("did not close"), "{message}");
    assert_eq!(
        conn.cmd(&[b"PING"]),
        b"+PONG\r\n",
        "the connection is still usable"
    );
}

#[test]
fn read_reply_times_out_instead_of_hanging() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let mut conn = server.conn();
    conn.set_timeout(Duration::from_millis(300));
    conn.send(b"*2\r\n$4\r\nECHO\r\n$3\r\nab");
    let started = Instant::now();
    assert!(matches!(conn.read_reply(), Err(ReplyError::Timeout(partial)) if partial.is_empty()));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[test]
fn server_drop_kills_the_child_and_removes_its_dir() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let (pid, port, dir) = (server.child.id(), server.port, server.dir.clone());
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    assert!(server.log.exists(), "redis writes its --logfile");
    drop(server);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "pid {pid} still running"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
    assert!(
        RawConn::try_connect(port).is_err(),
        "port {port} still accepting"
    );
}

#[test]
fn failed_start_panics_with_the_server_output() {
    if !require_redis() {
        return;
    }
    let failure = std::panic::catch_unwind(|| Server::start_redis(&["--no-such-option", "1"]));
    let message = failure
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("start must panic with a String");
    assert!(message.contains("exited early"), "{message}");
    assert!(
        message.contains("Bad directive or wrong number of arguments"),
        "{message}"
    );
}

#[test]
fn redis_crate_client_talks_to_the_server() {
    if !require_redis() {
        return;
    }
    let server = Server::start_redis(&[]);
    let mut client = common::redis_crate_client(server.port);
    redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query::<()>(&mut client)
        .unwrap();
    let value: String = redis::cmd("GET").arg("k").query(&mut client).unwrap();
    assert_eq!(value, "v");
}

//! Data types under load: the real redis-benchmark against ferredis for each type's commands
//! (one #[test] per type), with and without pipelining. Each run must finish with no error
//! replies and leave the keyspace as the real redis-server would.
mod common;

use common::Server;
use std::io::Write;
use std::process::{Command, Stdio};

/// Like `common::require_redis` for redis-benchmark: a CI failure, a loud skip elsewhere.
fn require_benchmark() -> bool {
    let found = Command::new("redis-benchmark")
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
        panic!("redis-benchmark is not on PATH and CI=true: run scripts/install-peers.sh");
    }
    let _ = std::io::stderr().write_all(b"\n*** SKIP: redis-benchmark is not on PATH (run scripts/install-peers.sh) ***\n");
    false
}

/// Runs `redis-benchmark -q -t <tests> -c 50 -n 20000 <extra>` and checks that every test in
/// `expect` reported a result and nothing reported an error.
fn run_benchmark(port: u16, tests: &str, extra: &[&str], expect: &[&str]) {
    let port = port.to_string();
    let mut args = vec!["-p", &port, "-q", "-t", tests, "-c", "50", "-n", "20000"];
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
        assert!(text.contains(&format!("{test}: ")), "{test} missing from:\n{text}");
    }
}

#[test]
fn sets_sadd_spop() {
    if !require_benchmark() {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    for extra in [&[][..], &["-P", "16"][..]] {
        run_benchmark(server.port, "sadd,spop", extra, &["SADD", "SPOP"]);
        server.assert_alive();
        let mut c = server.conn();
        // Without -r the member is the literal "element:__rand_int__": SADD made a one-member
        // set, the first SPOP emptied (and deleted) it, every later SPOP answered nil.
        assert_eq!(c.cmd_str("DBSIZE"), b":0\r\n", "benchmark args {extra:?}");
        assert_eq!(c.cmd_str("SADD myset a 1"), b":2\r\n");
        assert_eq!(c.cmd_str("SCARD myset"), b":2\r\n");
        assert_eq!(c.cmd_str("DEL myset"), b":1\r\n");
    }
}

#[test]
fn hashes_hset() {
    if !require_benchmark() {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    for extra in [&[][..], &["-P", "16"][..]] {
        run_benchmark(server.port, "hset", extra, &["HSET"]);
        server.assert_alive();
        let mut c = server.conn();
        // Without -r every HSET wrote the literal field "element:__rand_int__" of "myhash",
        // with -d 3 bytes of data.
        assert_eq!(c.cmd_str("DBSIZE"), b":1\r\n", "benchmark args {extra:?}");
        assert_eq!(c.cmd_str("HLEN myhash"), b":1\r\n");
        assert_eq!(c.cmd_str("HSTRLEN myhash element:__rand_int__"), b":3\r\n");
        assert_eq!(c.cmd_str("OBJECT ENCODING myhash"), b"$8\r\nlistpack\r\n");
        assert_eq!(c.cmd_str("DEL myhash"), b":1\r\n");
    }
}

#[test]
fn zsets_zadd_zpopmin() {
    if !require_benchmark() {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    for extra in [&[][..], &["-P", "16"][..]] {
        run_benchmark(server.port, "zadd,zpopmin", extra, &["ZADD", "ZPOPMIN"]);
        server.assert_alive();
        let mut c = server.conn();
        // Without -r every ZADD wrote the literal member "element:__rand_int__" with score 0
        // into "myzset"; the first ZPOPMIN emptied (and deleted) it, later ones answered [].
        assert_eq!(c.cmd_str("DBSIZE"), b":0\r\n", "benchmark args {extra:?}");
        assert_eq!(c.cmd_str("ZADD myzset 0 element:__rand_int__"), b":1\r\n");
        assert_eq!(c.cmd_str("OBJECT ENCODING myzset"), b"$8\r\nlistpack\r\n");
        assert_eq!(c.cmd_str("ZPOPMIN myzset"), b"*2\r\n$20\r\nelement:__rand_int__\r\n$1\r\n0\r\n");
        assert_eq!(c.cmd_str("EXISTS myzset"), b":0\r\n");
    }
}

#[test]
fn streams_xadd() {
    if !require_benchmark() {
        return;
    }
    let mut server = Server::start_ferredis(&[]);
    let port = server.port.to_string();
    let mut added = 0;
    for extra in [&[][..], &["-P", "16"][..]] {
        // The custom-command form: `XADD mystream * field value` 20000 times.
        let mut args = vec!["-p", &port, "-q", "-c", "50", "-n", "20000"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["XADD", "mystream", "*", "field", "value"]);
        let out = Command::new("redis-benchmark")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("redis-benchmark: {e}"));
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "redis-benchmark {args:?} exited with {}:\n{text}", out.status);
        assert!(!text.to_lowercase().contains("error"), "redis-benchmark {args:?} reported errors:\n{text}");
        assert!(text.contains("XADD mystream * field value: ") && text.contains("requests per second"), "{text}");
        server.assert_alive();
        added += 20000;
        let mut c = server.conn();
        assert_eq!(c.cmd_str("XLEN mystream"), format!(":{added}\r\n").into_bytes(), "benchmark args {extra:?}");
        // Same-field entries of this size fill nodes of 100 (stream-node-max-entries).
        let info = c.cmd_str("XINFO STREAM mystream");
        let keys = format!("$15\r\nradix-tree-keys\r\n:{}\r\n", added / 100);
        assert!(info.windows(keys.len()).any(|w| w == keys.as_bytes()), "{}", String::from_utf8_lossy(&info));
        assert_eq!(c.cmd_str("OBJECT ENCODING mystream"), b"$6\r\nstream\r\n");
    }
}

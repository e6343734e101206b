//! Lazy freeing (src/lazyfree.rs) on a real server: UNLINK of a 1M-member set and a
//! 1M-field hash removes the keys at once and frees them a slice per event-loop turn while
//! a probe connection PINGs every millisecond; the INFO counters and the lazyfree-lazy-*
//! options behave as Redis 7.0's (checked against the real redis-server when present).
//!
//! Latencies are printed, never asserted: the machine is shared and its load is not ours.
mod common;

use common::{encode_command, RawConn, Server, ServerKind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Members or fields per command, and commands sent before their replies are read.
const BATCH: usize = 1000;
const PIPELINE: usize = 50;

/// Sends `cmds` pipelined, PIPELINE at a time, and checks no reply is an error.
fn pipeline(c: &mut RawConn, cmds: impl Iterator<Item = Vec<u8>>) {
    let mut cmds = cmds.peekable();
    while cmds.peek().is_some() {
        let chunk: Vec<Vec<u8>> = cmds.by_ref().take(PIPELINE).collect();
        c.send(&chunk.concat());
        for _ in 0..chunk.len() {
            let reply = c.read_reply().expect("reply");
            assert_ne!(reply.first(), Some(&b'-'), "{}", String::from_utf8_lossy(&reply));
        }
    }
}

/// SADD key member:0 .. member:n-1, in batches.
fn fill_set(c: &mut RawConn, key: &str, n: usize) {
    pipeline(
        c,
        (0..n).step_by(BATCH).map(|start| {
            let members: Vec<String> = (start..(start + BATCH).min(n)).map(|i| format!("member:{i}")).collect();
            let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
            args.extend(members.iter().map(|m| m.as_bytes()));
            encode_command(&args)
        }),
    );
}

/// HSET key field:i value:i for i in 0..n, in batches.
fn fill_hash(c: &mut RawConn, key: &str, n: usize) {
    pipeline(
        c,
        (0..n).step_by(BATCH).map(|start| {
            let pairs: Vec<String> =
                (start..(start + BATCH).min(n)).flat_map(|i| [format!("field:{i}"), format!("value:{i}")]).collect();
            let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
            args.extend(pairs.iter().map(|p| p.as_bytes()));
            encode_command(&args)
        }),
    );
}

/// An integer field of INFO.
fn info_field(c: &mut RawConn, name: &str) -> i64 {
    let reply = String::from_utf8_lossy(&c.cmd_str("INFO")).into_owned();
    let prefix = format!("{name}:");
    reply
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO has no integer {name}"))
}

/// Waits (up to a minute) until nothing is pending, and returns how long that took.
fn wait_lazyfree_done(c: &mut RawConn) -> Duration {
    let start = Instant::now();
    while info_field(c, "lazyfree_pending_objects") != 0 {
        assert!(start.elapsed() < Duration::from_secs(60), "lazy free never finished");
        thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

/// A connection that PINGs every millisecond and records the slowest round trip.
struct Probe {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<(Duration, usize)>,
}

impl Probe {
    fn start(port: u16) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let mut c = RawConn::connect(port);
        c.set_timeout(Duration::from_secs(60));
        let handle = thread::spawn(move || {
            let (mut worst, mut samples) = (Duration::ZERO, 0);
            while !flag.load(Ordering::Relaxed) {
                let start = Instant::now();
                assert_eq!(c.cmd_str("PING"), b"+PONG\r\n");
                worst = worst.max(start.elapsed());
                samples += 1;
                thread::sleep(Duration::from_millis(1));
            }
            (worst, samples)
        });
        // Let it take a first sample, so the window starts with the probe running.
        thread::sleep(Duration::from_millis(20));
        Probe { stop, handle }
    }

    /// The slowest PING and the number of PINGs.
    fn finish(self) -> (Duration, usize) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().expect("probe thread")
    }
}

/// Runs `cmd` (which must delete both keys) with the probe running and waits until the
/// lazy free is over; returns the probe's worst latency, its samples and the free time.
fn delete_under_probe(server: &Server, c: &mut RawConn, cmd: &str) -> (Duration, usize, Duration) {
    let probe = Probe::start(server.port);
    let start = Instant::now();
    assert_eq!(c.cmd_str(cmd), b":2\r\n");
    // The keys are gone for every later command, however long the freeing takes.
    assert_eq!(c.cmd_str("EXISTS bigset bighash"), b":0\r\n");
    wait_lazyfree_done(c);
    let freed_in = start.elapsed();
    let (worst, samples) = probe.finish();
    (worst, samples, freed_in)
}

#[test]
fn unlink_of_million_element_values_frees_incrementally() {
    let server = Server::start_ferredis(&[]);
    let mut c = server.conn();
    c.set_timeout(Duration::from_secs(60));
    let baseline = info_field(&mut c, "used_memory");
    let mut results = Vec::new();
    for cmd in ["UNLINK bigset bighash", "DEL bigset bighash"] {
        fill_set(&mut c, "bigset", 1_000_000);
        fill_hash(&mut c, "bighash", 1_000_000);
        assert_eq!(c.cmd_str("SCARD bigset"), b":1000000\r\n");
        assert_eq!(c.cmd_str("HLEN bighash"), b":1000000\r\n");
        let loaded = info_field(&mut c, "used_memory");
        let freed_before = info_field(&mut c, "lazyfreed_objects");
        let (worst, samples, freed_in) = delete_under_probe(&server, &mut c, cmd);
        let after = info_field(&mut c, "used_memory");
        println!(
            "{cmd:<22} max probe latency {:>8.3} ms over {samples} PINGs; freed in {:.0} ms; used_memory {loaded} -> {after}",
            worst.as_secs_f64() * 1000.0,
            freed_in.as_secs_f64() * 1000.0
        );
        results.push(worst);
        // Two values of 1M elements each went lazily with UNLINK, none with DEL.
        let lazily = if cmd.starts_with("UNLINK") { 2 } else { 0 };
        assert_eq!(info_field(&mut c, "lazyfreed_objects"), freed_before + lazily);
        assert!(after - baseline < (loaded - baseline) / 10, "used_memory {loaded} -> {after} (baseline {baseline})");
    }
    println!("max probe latency: UNLINK {:?} vs DEL {:?} (not asserted)", results[0], results[1]);
}

/// The INFO counters after each lazily freed step of a scenario, in order.
fn lazyfree_scenario(kind: ServerKind) -> Vec<(String, i64, i64)> {
    let server = Server::start(kind, &["--enable-debug-command", "yes"]);
    let mut c = server.conn();
    let mut seen = Vec::new();
    let mut record = |c: &mut RawConn, label: &str| {
        wait_lazyfree_done(c);
        let freed = info_field(c, "lazyfreed_objects");
        let keys = String::from_utf8_lossy(&c.cmd_str("DBSIZE")).trim().trim_start_matches(':').parse().unwrap_or(-1);
        seen.push((label.to_string(), freed, keys));
    };
    let run = |c: &mut RawConn, cmd: &str| {
        let reply = c.cmd_str(cmd);
        assert_ne!(reply.first(), Some(&b'-'), "{cmd}: {}", String::from_utf8_lossy(&reply));
    };
    // Small values (at most 64 allocations) are freed at once and not counted.
    fill_set(&mut c, "small", 64);
    run(&mut c, "UNLINK small");
    record(&mut c, "unlink 64-member set");
    fill_set(&mut c, "big", 65);
    run(&mut c, "UNLINK big");
    record(&mut c, "unlink 65-member set");
    fill_hash(&mut c, "h", 5000);
    run(&mut c, "DEL h");
    record(&mut c, "del (lazyfree-lazy-user-del no)");
    run(&mut c, "CONFIG SET lazyfree-lazy-user-del yes");
    fill_hash(&mut c, "h", 5000);
    run(&mut c, "DEL h");
    record(&mut c, "del (lazyfree-lazy-user-del yes)");
    // Overwriting a big value.
    fill_set(&mut c, "big", 1000);
    run(&mut c, "SET big x");
    record(&mut c, "overwrite (server-del no)");
    run(&mut c, "DEL big");
    run(&mut c, "CONFIG SET lazyfree-lazy-server-del yes");
    fill_set(&mut c, "big", 1000);
    run(&mut c, "SET big x");
    record(&mut c, "overwrite (server-del yes)");
    run(&mut c, "DEL big");
    // Expiry, by EXPIRE in the past and by a lookup after the TTL.
    run(&mut c, "CONFIG SET lazyfree-lazy-expire yes");
    fill_set(&mut c, "big", 1000);
    run(&mut c, "EXPIRE big -1");
    record(&mut c, "expire in the past (lazy-expire yes)");
    fill_set(&mut c, "big", 1000);
    run(&mut c, "PEXPIRE big 1");
    thread::sleep(Duration::from_millis(20));
    run(&mut c, "EXISTS big");
    record(&mut c, "expired on access (lazy-expire yes)");
    // Flushes count every key of the flushed dbs, big values once.
    run(&mut c, "DEBUG POPULATE 10000");
    fill_set(&mut c, "big", 1000);
    run(&mut c, "SELECT 3");
    run(&mut c, "DEBUG POPULATE 500 other");
    run(&mut c, "FLUSHALL ASYNC");
    record(&mut c, "flushall async");
    run(&mut c, "DEBUG POPULATE 300");
    run(&mut c, "FLUSHDB");
    record(&mut c, "flushdb (lazy-user-flush no)");
    run(&mut c, "CONFIG SET lazyfree-lazy-user-flush yes");
    run(&mut c, "DEBUG POPULATE 300");
    run(&mut c, "FLUSHDB");
    record(&mut c, "flushdb (lazy-user-flush yes)");
    run(&mut c, "FLUSHALL SYNC");
    record(&mut c, "flushall sync");
    run(&mut c, "CONFIG RESETSTAT");
    record(&mut c, "config resetstat");
    seen
}

#[test]
fn counters_and_options_match_redis() {
    let ours = lazyfree_scenario(ServerKind::Ferredis);
    let expected_freed = [0, 1, 1, 2, 2, 3, 4, 5, 10_506, 10_506, 10_806, 10_806, 0];
    let got: Vec<i64> = ours.iter().map(|(_, freed, _)| *freed).collect();
    assert_eq!(got, expected_freed, "{ours:#?}");
    assert!(ours.iter().skip(8).all(|(_, _, keys)| *keys == 0), "{ours:#?}");
    if common::require_redis() {
        assert_eq!(lazyfree_scenario(ServerKind::Redis), ours);
    }
}

//! The replica side of replication end to end: the real redis-server 7.0.15 as master and
//! ferredis as its replica, started with --replicaof or turned into one with REPLICAOF:
//! full sync (diskless `$EOF:` and disk `$<len>` payloads) of a dataset of every type,
//! streaming of every kind of write, DEBUG DIGEST equal on both sides; READONLY and
//! MASTERDOWN; partial resync after CLIENT KILL TYPE master and after a restart from the
//! replica's own RDB; the master killed and restarted; REPLICAOF NO ONE; Redis's log lines
//! in order.
//!
//! Times are only polled with bounded loops, never asserted. Under CI=true a missing
//! redis-server fails the tests (tests/common).
mod common;

use common::{accept_within, escape_bytes, read_command, require_redis, RawConn, Server, ServerKind, FERREDIS_BIN};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

use common::{cmd_ok, cmd_text as cmd, log_of, reply_text as text, wait_until};

fn info_field(c: &mut RawConn, name: &str) -> Option<String> {
    common::info_field(c, "all", name)
}

fn info_num(c: &mut RawConn, name: &str) -> i64 {
    common::info_num(c, "all", name)
}

/// Asserts that `lines` appear in the log in this order (each after the previous one),
/// starting at byte `from`; returns where the last one ended.
fn assert_log_in_order(srv: &Server, from: usize, lines: &[&str]) -> usize {
    let log = log_of(srv);
    let mut pos = from.min(log.len());
    for line in lines {
        match log[pos..].find(line) {
            Some(at) => pos += at + line.len(),
            None => panic!("log line {line:?} missing (in order) after byte {from}:\n{}", &log[from.min(log.len())..]),
        }
    }
    pos
}

/// Waits until the replica's link is up and it applied everything the master produced.
fn wait_synced(master: &Server, replica: &Server) {
    let (mut m, mut r) = (master.conn(), replica.conn());
    wait_until(30, "the replica to catch up", || {
        info_field(&mut r, "master_link_status").as_deref() == Some("up")
            && info_num(&mut r, "slave_repl_offset") == info_num(&mut m, "master_repl_offset")
    });
}

fn digest(srv: &Server) -> String {
    cmd(&mut srv.conn(), "DEBUG DIGEST")
}

/// Digests equal once the replica applied everything. The master may expire a key (and
/// send its DEL) between the two digests, so a difference is only final if it persists.
#[track_caller]
fn assert_same_data(master: &Server, replica: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        wait_synced(master, replica);
        let (dm, dr) = (digest(master), digest(replica));
        assert_ne!(dm, "", "DEBUG DIGEST works");
        if dm == dr {
            return;
        }
        assert!(Instant::now() < deadline, "master and replica datasets differ: {dm} vs {dr}");
        thread::sleep(Duration::from_millis(100));
    }
}

fn replicaof_args(master: &Server) -> Vec<String> {
    let mut args: Vec<String> = DEBUG.iter().map(|s| s.to_string()).collect();
    args.extend(["--replicaof".to_string(), "127.0.0.1".to_string(), master.port.to_string()]);
    args
}

fn start_replica_of(master: &Server, extra: &[&str]) -> Server {
    let mut args = replicaof_args(master);
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::start_ferredis(&refs)
}

/// Kills the server (SIGKILL) and starts the same binary again on the same port, in the
/// same directory (so with its RDB), appending to the same log.
fn restart(srv: &mut Server, args: &[&str]) {
    let _ = srv.child.kill();
    let _ = srv.child.wait();
    let program = match srv.kind {
        ServerKind::Ferredis => FERREDIS_BIN,
        ServerKind::Redis => "redis-server",
    };
    let out = File::options().append(true).open(&srv.stdio).expect("stdio file");
    let err = out.try_clone().expect("dup stdio");
    srv.child = Command::new(program)
        .args(["--port", &srv.port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&srv.dir)
        .arg("--logfile")
        .arg(&srv.log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("respawn");
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, srv.port));
    wait_until(10, "the restarted server to accept connections", || {
        TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
    });
}

/// Keys of every type and encoding, in two dbs, some with a TTL.
fn write_dataset(m: &mut RawConn, tag: &str) {
    let many = |prefix: &str, n: usize| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>().join(" ");
    let pairs = |n: usize| (0..n).map(|i| format!("f{i} v{i}")).collect::<Vec<_>>().join(" ");
    let scored = |n: usize| (0..n).map(|i| format!("{i} m{i}")).collect::<Vec<_>>().join(" ");
    for line in [
        format!("SET {tag}:str hello"),
        format!("SET {tag}:int 12345"),
        format!("SET {tag}:raw {}", "x".repeat(300)),
        format!("SETEX {tag}:ttl 1000 v"),
        format!("RPUSH {tag}:list a b c 1 2 3"),
        format!("RPUSH {tag}:biglist {}", many("element-", 300)),
        format!("HSET {tag}:hash f1 v1 f2 v2"),
        format!("HSET {tag}:bighash {}", pairs(600)),
        format!("SADD {tag}:iset 1 2 3 4 5"),
        format!("SADD {tag}:sset a b c d e"),
        format!("SADD {tag}:bigset {}", many("m", 600)),
        format!("ZADD {tag}:zset 1 a 2 b 3 c"),
        format!("ZADD {tag}:bigzset {}", scored(200)),
        format!("XADD {tag}:stream 1-1 f v"),
        format!("XADD {tag}:stream 1-2 g w"),
        format!("XGROUP CREATE {tag}:stream grp 0"),
        format!("SETBIT {tag}:bits 77 1"),
        "SELECT 5".to_string(),
        format!("SET {tag}:in5 five"),
        format!("HSET {tag}:h5 a 1"),
        "SELECT 0".to_string(),
    ] {
        cmd_ok(m, &line);
    }
}

/// Writes whose stream form differs from what the client sent, transactions, db changes
/// and expirations.
fn write_stream_kinds(m: &mut RawConn, tag: &str) {
    for line in [
        format!("SET {tag}:ex v EX 100"),
        format!("SETEX {tag}:setex 100 v"),
        format!("SET {tag}:px v PX 100000"),
        format!("SET {tag}:str2 v"),
        format!("EXPIRE {tag}:str2 500"),
        format!("INCRBYFLOAT {tag}:fl 1.5"),
        format!("INCRBYFLOAT {tag}:fl 0.25"),
        format!("INCR {tag}:cnt"),
        format!("APPEND {tag}:app abc"),
        format!("SADD {tag}:pop a b c d e f"),
        format!("SPOP {tag}:pop"),
        format!("SPOP {tag}:pop 2"),
        format!("LPUSH {tag}:l x y z"),
        format!("LPOP {tag}:l"),
        format!("LMOVE {tag}:l {tag}:l2 LEFT RIGHT"),
        format!("HINCRBY {tag}:h f 3"),
        format!("HSET {tag}:h g 1"),
        format!("HDEL {tag}:h g"),
        format!("ZADD {tag}:z 1 a 2 b"),
        format!("ZINCRBY {tag}:z 5 a"),
        format!("ZPOPMIN {tag}:z"),
        format!("XADD {tag}:s 1-1 a 1"),
        format!("XADD {tag}:s 2-1 b 2"),
        format!("XGROUP CREATE {tag}:s g 0"),
        format!("XREADGROUP GROUP g c1 COUNT 1 STREAMS {tag}:s >"),
        format!("XACK {tag}:s g 1-1"),
        format!("GETEX {tag}:ex PERSIST"),
        format!("RENAME {tag}:cnt {tag}:cnt2"),
        format!("DEL {tag}:app"),
        "MULTI".to_string(),
        format!("SET {tag}:m1 a"),
        format!("INCR {tag}:m2"),
        format!("LPUSH {tag}:m3 x"),
        "EXEC".to_string(),
        "SELECT 3".to_string(),
        format!("SET {tag}:db3 x"),
        format!("LPUSH {tag}:db3l q"),
        "SELECT 0".to_string(),
    ] {
        cmd_ok(m, &line);
    }
    // Expirations: the master deletes and sends DEL (lazily on access, or actively).
    cmd_ok(m, &format!("SET {tag}:short v PX 30"));
    cmd_ok(m, &format!("SET {tag}:short2 v PX 30"));
    thread::sleep(Duration::from_millis(80));
    assert_eq!(cmd(m, &format!("GET {tag}:short")), "", "expired on the master");
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
fn diskless_full_sync_and_streaming_of_every_type_from_redis() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_dataset(&mut m, "before");
    let replica = start_replica_of(&master, &[]);
    assert_same_data(&master, &replica);
    let mut r = replica.conn();
    assert_eq!(cmd(&mut r, "GET before:str"), "hello");
    assert_eq!(cmd(&mut r, "DBSIZE"), cmd(&mut m, "DBSIZE"));
    write_dataset(&mut m, "after");
    write_stream_kinds(&mut m, "w");
    assert_same_data(&master, &replica);
    assert_eq!(cmd(&mut r, "EXISTS w:short"), "0", "the master's DEL arrived");
    assert_eq!(cmd(&mut r, "GET w:fl"), "1.75");
    assert_eq!(cmd(&mut r, "SCARD w:pop"), "3");
    // The master's WAIT gets our ACK (REPLCONF GETACK is answered on the muted link).
    cmd_ok(&mut m, "SET waited 1");
    assert_eq!(cmd(&mut m, "WAIT 1 5000"), "1");
    // The replica refuses writes from its clients, and says who it follows.
    assert_eq!(text(&r.cmd_str("SET x 1")), "READONLY You can't write against a read only replica.");
    let role = String::from_utf8_lossy(&r.cmd_str("ROLE")).into_owned();
    assert!(role.starts_with(&format!("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{}\r\n$9\r\nconnected\r\n:", master.port)), "{role}");
    // FLUSHALL and FLUSHDB reach the replica too.
    cmd_ok(&mut m, "FLUSHALL");
    cmd_ok(&mut m, "SET after:flush 1");
    cmd_ok(&mut m, "SELECT 5");
    cmd_ok(&mut m, "SET in5 x");
    cmd_ok(&mut m, "FLUSHDB");
    assert_same_data(&master, &replica);
    assert_eq!(cmd(&mut r, "DBSIZE"), "1");
    assert_log_in_order(
        &replica,
        0,
        &[
            &format!("Connecting to MASTER 127.0.0.1:{}", master.port),
            "MASTER <-> REPLICA sync started",
            "Non blocking connect for SYNC fired the event.",
            "Master replied to PING, replication can continue...",
            "Partial resynchronization not possible (no cached master)",
            "Full resync from master: ",
            "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
            "MASTER <-> REPLICA sync: Flushing old data",
            "MASTER <-> REPLICA sync: Loading DB in memory",
            "Done loading RDB, keys loaded:",
            "MASTER <-> REPLICA sync: Finished with success",
        ],
    );
    let log = log_of(&replica);
    assert!(log.contains(":S "), "log lines of a replica carry the S role");
    assert!(!log.contains("CRITICAL"), "no command of the stream failed on the replica");
}

#[test]
fn disk_full_sync_after_replicaof_at_runtime_replaces_the_data() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync", "no"]);
    let mut m = master.conn();
    write_dataset(&mut m, "m");
    let replica = Server::start_ferredis(&DEBUG);
    let mut r = replica.conn();
    cmd_ok(&mut r, "SET mine 1");
    let own_id = info_field(&mut r, "master_replid").expect("replid");
    let reply = r.cmd_str(&format!("REPLICAOF 127.0.0.1 {}", master.port));
    assert_eq!(reply, b"+OK\r\n");
    let reply = r.cmd_str(&format!("SLAVEOF 127.0.0.1 {}", master.port));
    assert_eq!(reply, b"+OK Already connected to specified master\r\n");
    assert_same_data(&master, &replica);
    assert_eq!(cmd(&mut r, "EXISTS mine"), "0", "the old data is gone");
    write_stream_kinds(&mut m, "d");
    assert_same_data(&master, &replica);
    assert_log_in_order(
        &replica,
        0,
        &[
            "Before turning into a replica, using my own master parameters to synthesize a cached master",
            &format!("Connecting to MASTER 127.0.0.1:{}", master.port),
            "MASTER <-> REPLICA sync started",
            &format!("REPLICAOF 127.0.0.1:{} enabled (user request from 'id=", master.port),
            "Non blocking connect for SYNC fired the event.",
            "Master replied to PING, replication can continue...",
            // A fresh master offers its own history, offset 0 + 1, as Redis 7.0 does.
            &format!("Trying a partial resynchronization (request {own_id}:1)."),
            "Full resync from master: ",
            "MASTER <-> REPLICA sync: receiving ",
            " bytes from master to disk",
            "Discarding previously cached master state.",
            "MASTER <-> REPLICA sync: Flushing old data",
            "MASTER <-> REPLICA sync: Loading DB in memory",
            "MASTER <-> REPLICA sync: Finished with success",
        ],
    );
    assert!(log_of(&master).contains("Partial resynchronization not accepted: Replication ID mismatch"));
}

#[test]
fn client_kill_type_master_reconnects_with_a_partial_resync() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_dataset(&mut m, "k");
    let replica = start_replica_of(&master, &[]);
    assert_same_data(&master, &replica);
    let (full, partial) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
    let mark = log_of(&replica).len();
    let mut r = replica.conn();
    for round in 0..3 {
        assert_eq!(cmd(&mut r, "CLIENT KILL TYPE master"), "1");
        write_stream_kinds(&mut m, &format!("r{round}"));
        assert_same_data(&master, &replica);
    }
    assert_eq!(info_num(&mut m, "sync_full"), full, "no full sync happened");
    assert_eq!(info_num(&mut m, "sync_partial_ok"), partial + 3);
    assert_log_in_order(
        &replica,
        mark,
        &[
            "Connection with master lost.",
            "Caching the disconnected master state.",
            &format!("Reconnecting to MASTER 127.0.0.1:{}", master.port),
            "MASTER <-> REPLICA sync started",
            "Non blocking connect for SYNC fired the event.",
            "Master replied to PING, replication can continue...",
            "Trying a partial resynchronization (request ",
            "Successful partial resynchronization with master.",
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
        ],
    );
}

#[test]
fn replica_restarted_from_its_rdb_continues_with_a_partial_resync() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_dataset(&mut m, "p");
    let mut replica = start_replica_of(&master, &[]);
    write_stream_kinds(&mut m, "s");
    assert_same_data(&master, &replica);
    let mut r = replica.conn();
    let replid = info_field(&mut r, "master_replid").expect("id");
    assert_eq!(cmd(&mut r, "SAVE"), "OK");
    let (full, partial) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
    drop(r);
    let args = replicaof_args(&master);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mark = log_of(&replica).len();
    restart(&mut replica, &refs);
    // Writes made while it was away come from the backlog.
    write_stream_kinds(&mut m, "while-away");
    assert_same_data(&master, &replica);
    assert_eq!(info_num(&mut m, "sync_full"), full, "no full sync happened");
    assert_eq!(info_num(&mut m, "sync_partial_ok"), partial + 1);
    assert_log_in_order(
        &replica,
        mark,
        &[
            "Before turning into a replica, using my own master parameters to synthesize a cached master",
            &format!("Trying a partial resynchronization (request {replid}:"),
            "Successful partial resynchronization with master.",
        ],
    );
}

#[test]
fn master_killed_and_restarted_is_followed_again() {
    if !require_redis() {
        return;
    }
    let master_args = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"];
    let mut master = Server::start_redis(&master_args);
    let mut m = master.conn();
    write_dataset(&mut m, "a");
    let replica = start_replica_of(&master, &[]);
    assert_same_data(&master, &replica);
    drop(m);
    let mark = log_of(&replica).len();
    let _ = master.child.kill();
    let _ = master.child.wait();
    let mut r = replica.conn();
    wait_until(30, "the replica to see the link down", || info_field(&mut r, "master_link_status").as_deref() == Some("down"));
    assert!(info_num(&mut r, "master_link_down_since_seconds") >= 0);
    assert_eq!(cmd(&mut r, "GET a:str"), "hello", "stale data is served meanwhile");
    restart(&mut master, &master_args);
    let mut m = master.conn();
    write_dataset(&mut m, "b");
    assert_same_data(&master, &replica);
    assert_eq!(cmd(&mut r, "EXISTS a:str"), "0", "the restarted master's (empty) history won");
    assert_log_in_order(&replica, mark, &["Connection with master lost.", "Full resync from master: ", "MASTER <-> REPLICA sync: Finished with success"]);
}

#[test]
fn replicaof_no_one_promotes_keeping_the_old_history_as_replid2() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_dataset(&mut m, "n");
    let replica = start_replica_of(&master, &[]);
    write_stream_kinds(&mut m, "n2");
    assert_same_data(&master, &replica);
    let mut r = replica.conn();
    let (old_id, offset) = (info_field(&mut r, "master_replid").expect("id"), info_num(&mut r, "master_repl_offset"));
    assert_eq!(cmd(&mut r, "REPLICAOF NO ONE"), "OK");
    assert_eq!(info_field(&mut r, "role").as_deref(), Some("master"));
    assert_eq!(info_field(&mut r, "master_replid2"), Some(old_id.clone()));
    assert_eq!(info_num(&mut r, "second_repl_offset"), offset + 1);
    let new_id = info_field(&mut r, "master_replid").expect("id");
    assert_ne!(new_id, old_id);
    assert_eq!(info_num(&mut r, "master_repl_offset"), offset);
    assert_eq!(cmd(&mut r, "SET now writable"), "OK");
    assert_ne!(digest(&replica), digest(&master), "the promoted replica took its own write");
    assert_log_in_order(
        &replica,
        0,
        &[
            "Connection with master lost.",
            "Discarding previously cached master state.",
            &format!("Setting secondary replication ID to {old_id}, valid up to offset: {}. New replication ID is {new_id}", offset + 1),
            "MASTER MODE enabled (user request from 'id=",
        ],
    );
    assert!(log_of(&replica).contains(":M "), "log lines of a master carry the M role");
}

#[test]
fn stale_data_and_info_while_the_master_is_unreachable() {
    let nowhere = common::free_port();
    let replica = Server::start_ferredis(&["--replicaof", "127.0.0.1", &nowhere.to_string(), "--replica-serve-stale-data", "no"]);
    let mut r = replica.conn();
    let masterdown = "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
    assert_eq!(String::from_utf8_lossy(&r.cmd_str("GET k")), masterdown);
    assert_eq!(String::from_utf8_lossy(&r.cmd_str("PING")), masterdown);
    assert_eq!(String::from_utf8_lossy(&r.cmd_str("SET k v")), "-READONLY You can't write against a read only replica.\r\n");
    let info = cmd(&mut r, "INFO replication");
    let want = format!(
        "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:{nowhere}\r\nmaster_link_status:down\r\n\
         master_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\nslave_read_repl_offset:1\r\nslave_repl_offset:1\r\n\
         master_link_down_since_seconds:-1\r\nslave_priority:100\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\n"
    );
    assert!(info.starts_with(&want), "{info}");
    let role = r.cmd_str("ROLE");
    let want = format!("*5\r\n$5\r\nslave\r\n$9\r\n127.0.0.1\r\n:{nowhere}\r\n");
    assert!(role.starts_with(want.as_bytes()), "{}", escape_bytes(&role));
    assert!(role.ends_with(b":-1\r\n"), "{}", escape_bytes(&role));
    wait_until(10, "a second connect attempt", || log_of(&replica).matches("Error condition on socket for SYNC").count() >= 2);
}

#[test]
fn a_silent_master_times_out_and_the_link_resumes_with_a_partial_resync() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0", "--repl-ping-replica-period", "1"]);
    let mut m = master.conn();
    write_dataset(&mut m, "t");
    let replica = start_replica_of(&master, &["--repl-timeout", "2"]);
    assert_same_data(&master, &replica);
    let (full, partial) = (info_num(&mut m, "sync_full"), info_num(&mut m, "sync_partial_ok"));
    let mark = log_of(&replica).len();
    let pid = master.child.id().to_string();
    let signal = |sig: &str| {
        let status = Command::new("kill").args([sig, &pid]).status().expect("kill");
        assert!(status.success(), "kill {sig} {pid}");
    };
    signal("-STOP");
    wait_until(30, "the replica to time the master out", || log_of(&replica)[mark..].contains("Timeout connecting to the MASTER..."));
    signal("-CONT");
    write_stream_kinds(&mut m, "after-stop");
    assert_same_data(&master, &replica);
    assert_eq!(info_num(&mut m, "sync_full"), full, "no full sync happened");
    assert!(info_num(&mut m, "sync_partial_ok") > partial);
    assert_log_in_order(
        &replica,
        mark,
        &[
            "MASTER timeout: no data nor PING received...",
            "Connection with master lost.",
            "Caching the disconnected master state.",
            "Timeout connecting to the MASTER...",
            "Reconnecting to MASTER 127.0.0.1:",
            "Successful partial resynchronization with master.",
        ],
    );
}

#[test]
fn chained_replicas_get_the_stream_proxied_unchanged() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    let mut m = master.conn();
    write_dataset(&mut m, "c1");
    let mid = start_replica_of(&master, &["--repl-diskless-sync-delay", "0"]);
    assert_same_data(&master, &mid);
    let sub_ferredis = start_replica_of(&mid, &[]);
    let mid_port = mid.port.to_string();
    let sub_redis = Server::start_redis(&["--enable-debug-command", "yes", "--replicaof", "127.0.0.1", &mid_port]);
    write_stream_kinds(&mut m, "c2");
    assert_same_data(&master, &mid);
    assert_same_data(&mid, &sub_ferredis);
    assert_same_data(&mid, &sub_redis);
    let mut md = mid.conn();
    assert_eq!(info_num(&mut md, "connected_slaves"), 2);
    assert_eq!(info_field(&mut md, "master_replid"), info_field(&mut m, "master_replid"), "one history down the chain");
    // The middle replica's partial resync keeps its own replicas attached.
    let sub_mark = log_of(&sub_ferredis).len();
    assert_eq!(cmd(&mut md, "CLIENT KILL TYPE master"), "1");
    write_dataset(&mut m, "c3");
    assert_same_data(&master, &mid);
    assert_same_data(&mid, &sub_ferredis);
    assert_same_data(&mid, &sub_redis);
    assert!(!log_of(&sub_ferredis)[sub_mark..].contains("Connection with master lost."), "the sub-replica kept its link");
    let mut s = sub_ferredis.conn();
    assert_eq!(info_num(&mut s, "master_repl_offset"), info_num(&mut m, "master_repl_offset"));
}

#[test]
fn writes_during_the_full_sync_are_not_lost() {
    if !require_redis() {
        return;
    }
    for diskless in ["yes", "no"] {
        let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0"]);
        let mut m = master.conn();
        cmd_ok(&mut m, "DEBUG POPULATE 100000 pop 50");
        let port = master.port;
        let writer = thread::spawn(move || {
            let mut w = RawConn::connect(port);
            let until = Instant::now() + Duration::from_millis(1500);
            let mut i = 0u64;
            while Instant::now() < until {
                for line in [format!("INCR counter"), format!("RPUSH log {i}"), format!("SET k:{} {i}", i % 500), format!("HSET h f{} {i}", i % 50)] {
                    let reply = w.cmd_str(&line);
                    assert!(!reply.starts_with(b"-"), "{line}: {}", escape_bytes(&reply));
                }
                i += 1;
            }
            i
        });
        thread::sleep(Duration::from_millis(100));
        let replica = start_replica_of(&master, &[]);
        let rounds = writer.join().expect("writer");
        assert!(rounds > 0);
        assert_same_data(&master, &replica);
        assert_eq!(cmd(&mut replica.conn(), "GET counter"), rounds.to_string(), "diskless {diskless}");
    }
}

// ---------------------------------------------------------------------------------------------
// A hand-driven fake master: the exact bytes of the replica's side of the protocol
// ---------------------------------------------------------------------------------------------

/// The 254-byte payload a 7.0.15 master sent for a disk-based sync (repl-stream-db 0,
/// repl-offset 345): foo=bar, after=sync, mylist, db2 k2, db5 counter.
const REPL_SYNC_RDB: &[u8] = include_bytes!("data/rdb/redis-7.0.15-repl-sync.rdb");

fn expect_bytes(s: &mut TcpStream, want: &[u8]) {
    use std::io::Read;
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).unwrap_or_else(|e| panic!("reading {}: {e}", escape_bytes(want)));
    assert_eq!(escape_bytes(&got), escape_bytes(want));
}

fn send(s: &mut TcpStream, bytes: &[u8]) {
    use std::io::Write;
    s.write_all(bytes).expect("write to replica");
}

/// Accepts the replica, answers PING and the REPLCONFs (the +OK split across writes), and
/// returns the link with the PSYNC it sent.
fn fake_master_handshake(listener: &std::net::TcpListener, replica_port: u16) -> (TcpStream, Vec<u8>) {
    let mut s = accept_within(listener, 10);
    expect_bytes(&mut s, b"*1\r\n$4\r\nPING\r\n");
    send(&mut s, b"+PONG\r\n");
    let port = replica_port.to_string();
    let mut want = format!("*3\r\n$8\r\nREPLCONF\r\n$14\r\nlistening-port\r\n${}\r\n{port}\r\n", port.len()).into_bytes();
    want.extend_from_slice(b"*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n");
    expect_bytes(&mut s, &want);
    send(&mut s, b"+O");
    thread::sleep(Duration::from_millis(30));
    send(&mut s, b"K\r\n+OK\r\n");
    let psync = read_command(&mut s);
    (s, psync)
}

fn psync_bytes(id: &str, offset: &str) -> Vec<u8> {
    format!("*3\r\n$5\r\nPSYNC\r\n${}\r\n{id}\r\n${}\r\n{offset}\r\n", id.len(), offset.len()).into_bytes()
}

fn ack_bytes(offset: i64) -> Vec<u8> {
    let o = offset.to_string();
    format!("*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n${}\r\n{o}\r\n", o.len()).into_bytes()
}

#[test]
fn the_replica_side_of_the_protocol_byte_by_byte_against_a_fake_master() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let master_port = listener.local_addr().expect("addr").port();
    let replica = Server::start_ferredis(&["--replicaof", "127.0.0.1", &master_port.to_string()]);
    let mut r = replica.conn();

    // A master that is loading: try again later, from scratch.
    let (mut s, psync) = fake_master_handshake(&listener, replica.port);
    assert_eq!(escape_bytes(&psync), escape_bytes(&psync_bytes("?", "-1")));
    send(&mut s, b"-LOADING Redis is loading the dataset in memory\r\n");

    // Full sync: keep-alives before and after +FULLRESYNC, a `$len` payload in pieces,
    // and the stream starting in the same segment as the payload's end.
    let (mut s, psync) = fake_master_handshake(&listener, replica.port);
    assert_eq!(escape_bytes(&psync), escape_bytes(&psync_bytes("?", "-1")));
    let id_a = "a".repeat(40);
    send(&mut s, b"\n\n");
    thread::sleep(Duration::from_millis(30));
    send(&mut s, format!("+FULLRESYNC {id_a} 345\r\n\n").as_bytes());
    thread::sleep(Duration::from_millis(30));
    send(&mut s, format!("\n${}\r\n", REPL_SYNC_RDB.len()).as_bytes());
    for piece in REPL_SYNC_RDB[..200].chunks(37) {
        send(&mut s, piece);
        thread::sleep(Duration::from_millis(5));
    }
    let stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nnew\r\n$1\r\n1\r\n";
    send(&mut s, &[&REPL_SYNC_RDB[200..], &stream[..]].concat());
    let offset = 345 + stream.len() as i64;
    wait_until(10, "the stream after the payload to apply", || cmd(&mut r, "GET new") == "1");
    assert_eq!(cmd(&mut r, "GET foo"), "bar");
    assert_eq!(info_field(&mut r, "master_replid"), Some(id_a.clone()));
    assert_eq!(info_num(&mut r, "slave_repl_offset"), offset);
    // ACKs: the periodic one, and the answer to GETACK with the offset before the GETACK.
    expect_bytes(&mut s, &ack_bytes(offset));
    send(&mut s, b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
    expect_bytes(&mut s, &ack_bytes(offset));
    expect_bytes(&mut s, &ack_bytes(offset + 37));

    // The link drops: PSYNC continues from the next byte; a new id renames our history.
    drop(s);
    let (mut s, psync) = fake_master_handshake(&listener, replica.port);
    assert_eq!(escape_bytes(&psync), escape_bytes(&psync_bytes(&id_a, &(offset + 38).to_string())));
    let id_b = "b".repeat(40);
    let more = b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$8\r\ncontinue\r\n";
    send(&mut s, &[format!("+CONTINUE {id_b}\r\n").as_bytes(), &more[..]].concat());
    wait_until(10, "the stream after +CONTINUE to apply", || cmd(&mut r, "GET after") == "continue");
    assert_eq!(info_field(&mut r, "master_replid"), Some(id_b.clone()));
    assert_eq!(info_field(&mut r, "master_replid2"), Some(id_a.clone()));
    assert_eq!(info_num(&mut r, "second_repl_offset"), offset + 38);
    assert_eq!(info_num(&mut r, "master_repl_offset"), offset + 37 + more.len() as i64);

    // An old master that does not know PSYNC: the replica falls back to SYNC.
    drop(s);
    let (mut s, _) = fake_master_handshake(&listener, replica.port);
    send(&mut s, b"-ERR unknown command 'PSYNC'\r\n");
    expect_bytes(&mut s, b"SYNC\r\n");
    send(&mut s, &[format!("${}\r\n", REPL_SYNC_RDB.len()).as_bytes(), REPL_SYNC_RDB].concat());
    wait_until(10, "the SYNC payload to load", || cmd(&mut r, "GET after") == "sync");
    assert_eq!(cmd(&mut r, "EXISTS new"), "0", "the payload replaced the data");
    assert_eq!(info_field(&mut r, "master_link_status").as_deref(), Some("up"));
    assert_log_in_order(
        &replica,
        0,
        &[
            "Partial resynchronization not possible (no cached master)",
            "Master is currently unable to PSYNC but should be in the future: -LOADING Redis is loading the dataset in memory",
            &format!("Full resync from master: {id_a}:345"),
            "MASTER <-> REPLICA sync: receiving 254 bytes from master to disk",
            "MASTER <-> REPLICA sync: Finished with success",
            "Connection with master lost.",
            "Caching the disconnected master state.",
            &format!("Trying a partial resynchronization (request {id_a}:{}).", offset + 38),
            "Successful partial resynchronization with master.",
            &format!("Master replication ID changed to {id_b}"),
            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.",
            "Master does not support PSYNC or is in error state (reply: -ERR unknown command 'PSYNC')",
            "Retrying with SYNC...",
            "MASTER <-> REPLICA sync: receiving 254 bytes from master to disk",
            "MASTER <-> REPLICA sync: Finished with success",
        ],
    );
}

#[test]
fn masteruser_masterauth_and_the_announced_address() {
    if !require_redis() {
        return;
    }
    let master = Server::start_redis(&["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0", "--requirepass", "topsecret"]);
    let mut m = master.conn();
    assert_eq!(cmd(&mut m, "AUTH topsecret"), "OK");
    cmd_ok(&mut m, "ACL SETUSER repl on >replpass +@all ~*");
    write_dataset(&mut m, "auth");
    let replica = start_replica_of(
        &master,
        &["--masteruser", "repl", "--masterauth", "replpass", "--replica-announce-ip", "10.1.2.3", "--replica-announce-port", "7777"],
    );
    let mut r = replica.conn();
    wait_until(30, "the link to come up", || info_field(&mut r, "master_link_status").as_deref() == Some("up"));
    wait_until(30, "the replica to be listed online", || {
        info_field(&mut m, "slave0").is_some_and(|v| v.starts_with("ip=10.1.2.3,port=7777,state=online"))
    });
    assert_eq!(cmd(&mut r, "GET auth:str"), "hello");
    let wrong = start_replica_of(&master, &["--masterauth", "nope"]);
    wait_until(30, "the refused AUTH to be logged", || log_of(&wrong).contains("Unable to AUTH to MASTER: -WRONGPASS"));
    assert_eq!(info_field(&mut wrong.conn(), "master_link_status").as_deref(), Some("down"));
}

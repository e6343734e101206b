//! FAILOVER end to end (src/replication/failover.rs): a master hands its role to a replica
//! and follows it with a partial resync. Pairings: ferredis -> ferredis, and the interop
//! ones, redis-server 7.0.15 master -> ferredis replica and ferredis master -> redis-server
//! replica. The waiting phase (writes paused, TIMEOUT, ABORT, FORCE) runs on a ferredis
//! pair and, as the reference, on a redis-server pair: the same replies and log lines are
//! expected from both.
//!
//! A replica that must not acknowledge is stopped with SIGSTOP (its process is ours).
//! Times are only polled with bounded loops, never asserted.
mod common;

use common::{cmd_ok, cmd_text as cmd, encode_command, info_field, info_num, log_of, reply_text as text, require_redis, wait_until, RawConn, Server, ServerKind};

const ARGS: [&str; 4] = ["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"];

/// A master and one replica; `m` and `r` talk to them.
struct Pair {
    master: Server,
    replica: Server,
    m: RawConn,
    r: RawConn,
}

impl Pair {
    fn start(master_kind: ServerKind, replica_kind: ServerKind) -> Pair {
        let master = Server::start(master_kind, &ARGS);
        let replica = start_replica_of(replica_kind, &master);
        let (m, r) = (master.conn(), replica.conn());
        let mut pair = Pair { master, replica, m, r };
        wait_link_up(&mut pair.r);
        pair
    }
}

fn start_replica_of(kind: ServerKind, master: &Server) -> Server {
    let port = master.port.to_string();
    let mut args = ARGS.to_vec();
    args.extend_from_slice(&["--replicaof", "127.0.0.1", &port]);
    Server::start(kind, &args)
}

fn wait_link_up(r: &mut RawConn) {
    wait_until(30, "master_link_status:up", || info_field(r, "replication", "master_link_status").as_deref() == Some("up"));
}

/// Waits until `replica` applied everything `master` produced.
fn wait_synced(master: &mut RawConn, replica: &mut RawConn) {
    wait_until(30, "replica offset == master offset", || {
        let want = info_num(master, "replication", "master_repl_offset");
        want > 0 && info_num(replica, "replication", "slave_repl_offset") == want
    });
}

fn failover_state(c: &mut RawConn) -> String {
    info_field(c, "replication", "master_failover_state").unwrap_or_default()
}

fn wait_failover_over(c: &mut RawConn) {
    wait_until(30, "master_failover_state:no-failover", || failover_state(c) == "no-failover");
}

fn role(c: &mut RawConn) -> String {
    let reply = String::from_utf8_lossy(&c.cmd_str("ROLE")).into_owned();
    reply.lines().nth(2).unwrap_or("").to_string()
}

fn wait_log(srv: &Server, needle: &str) {
    wait_until(20, needle, || log_of(srv).contains(needle));
}

fn load_dataset(c: &mut RawConn) {
    for line in [
        "SET str hello", "SET ttl v EX 1000", "RPUSH list a b c 1 2 3", "HSET hash f1 v1 f2 2", "SADD set a b c",
        "ZADD zset 1 a 2.5 b", "XADD stream 1-1 f v", "SELECT 3", "SET in3 x", "SELECT 0", "INCR counter",
    ] {
        cmd_ok(c, line);
    }
}

fn assert_same_digest(a: &mut RawConn, b: &mut RawConn) {
    let (da, db) = (cmd(a, "DEBUG DIGEST"), cmd(b, "DEBUG DIGEST"));
    assert_ne!(da, "0".repeat(40), "the dataset is not empty");
    assert_eq!(da, db, "DEBUG DIGEST differs after the failover");
}

// ---------------------------------------------------------------------------------------------
// A successful failover in each pairing
// ---------------------------------------------------------------------------------------------

/// FAILOVER (to any replica, or TO the replica): the roles swap, the old master follows the
/// new one with a partial resync, the data written before is on both, and writes on the new
/// master reach the old one.
fn failover_swaps_roles(master_kind: ServerKind, replica_kind: ServerKind, to: bool) {
    let mut p = Pair::start(master_kind, replica_kind);
    load_dataset(&mut p.m);
    wait_synced(&mut p.m, &mut p.r);
    let line = if to { format!("FAILOVER TO 127.0.0.1 {} TIMEOUT 20000", p.replica.port) } else { "FAILOVER".to_string() };
    assert_eq!(cmd(&mut p.m, &line), "OK");
    wait_failover_over(&mut p.m);
    wait_until(30, "roles swapped", || role(&mut p.m) == "slave" && role(&mut p.r) == "master");
    wait_link_up(&mut p.m);
    // The new master served the old one from its own history: no full sync.
    assert_eq!(info_num(&mut p.r, "stats", "sync_partial_ok"), 1);
    assert_eq!(info_num(&mut p.r, "stats", "sync_full"), 0);
    assert_eq!(info_field(&mut p.r, "replication", "master_failover_state").as_deref(), Some("no-failover"));
    cmd_ok(&mut p.r, "SET after failover");
    wait_synced(&mut p.r, &mut p.m);
    assert_eq!(cmd(&mut p.m, "GET after"), "failover");
    assert_eq!(cmd(&mut p.m, "GET str"), "hello");
    assert_same_digest(&mut p.m, &mut p.r);
    let target = format!("127.0.0.1:{}", p.replica.port);
    if to {
        wait_log(&p.master, &format!("FAILOVER requested to {target}."));
    } else {
        wait_log(&p.master, "FAILOVER requested to any replica.");
    }
    wait_log(&p.master, &format!("Failover target {target} is synced, failing over."));
    wait_log(&p.replica, "Failover request received for replid ");
    wait_log(&p.replica, "MASTER MODE enabled (failover request from '");
}

#[test]
fn ferredis_master_fails_over_to_ferredis_replica() {
    failover_swaps_roles(ServerKind::Ferredis, ServerKind::Ferredis, false);
}

#[test]
fn ferredis_master_fails_over_to_named_ferredis_replica() {
    failover_swaps_roles(ServerKind::Ferredis, ServerKind::Ferredis, true);
}

#[test]
fn ferredis_master_fails_over_to_redis_replica() {
    if require_redis() {
        failover_swaps_roles(ServerKind::Ferredis, ServerKind::Redis, true);
    }
}

#[test]
fn redis_master_fails_over_to_ferredis_replica() {
    if require_redis() {
        failover_swaps_roles(ServerKind::Redis, ServerKind::Ferredis, false);
    }
}

// ---------------------------------------------------------------------------------------------
// The waiting phase, on both kinds
// ---------------------------------------------------------------------------------------------

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod ferredis_pair {
            $(#[test] fn $name() { super::$name(super::ServerKind::Ferredis) })*
        }
        mod redis_pair {
            $(#[test] fn $name() { if super::require_redis() { super::$name(super::ServerKind::Redis) } })*
        }
    };
}

on_both!(timeout_aborts_and_resumes_writes, abort_resumes_writes, force_fails_over_at_timeout);

/// Sends a write that the failover pause holds; checks it did not run yet.
fn send_paused_write(p: &mut Pair, key: &str) -> RawConn {
    let mut writer = p.master.conn();
    writer.set_timeout(std::time::Duration::from_secs(20));
    writer.send(&encode_command(&[b"SET", key.as_bytes(), b"v"]));
    // A read of the same key answers at once and shows the write waiting.
    assert_eq!(p.m.cmd_str(&format!("GET {key}")), b"$-1\r\n", "the write must wait for the failover");
    writer
}

/// A stopped replica never acknowledges: the TIMEOUT aborts the failover, the held write
/// then runs on the (still) master. Meanwhile SYNC and REPLICAOF are refused.
fn timeout_aborts_and_resumes_writes(kind: ServerKind) {
    let mut p = Pair::start(kind, kind);
    load_dataset(&mut p.m);
    wait_synced(&mut p.m, &mut p.r);
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET moved offset");
    assert_eq!(cmd(&mut p.m, &format!("FAILOVER TO 127.0.0.1 {} TIMEOUT 3000", p.replica.port)), "OK");
    assert_eq!(failover_state(&mut p.m), "waiting-for-sync");
    let mut writer = send_paused_write(&mut p, "held");
    assert_eq!(cmd(&mut p.m, "FAILOVER"), "ERR FAILOVER already in progress.");
    assert_eq!(cmd(&mut p.m, "REPLICAOF no one"), "ERR REPLICAOF not allowed while failing over.");
    assert_eq!(cmd(&mut p.m, "PSYNC ? -1"), "NOMASTERLINK Can't SYNC while failing over");
    let reply = writer.read_reply().expect("the held write is answered after the abort");
    assert_eq!(text(&reply), "OK");
    assert_eq!(failover_state(&mut p.m), "no-failover");
    assert_eq!(role(&mut p.m), "master");
    assert_eq!(cmd(&mut p.m, "GET held"), "v");
    wait_log(&p.master, &format!("FAILOVER to 127.0.0.1:{} aborted: Replica never caught up before timeout", p.replica.port));
    p.replica.signal("-CONT");
    wait_synced(&mut p.m, &mut p.r);
    assert_same_digest(&mut p.m, &mut p.r);
}

/// FAILOVER ABORT while waiting: +OK, the held write runs, and a second ABORT has nothing
/// to abort.
fn abort_resumes_writes(kind: ServerKind) {
    let mut p = Pair::start(kind, kind);
    cmd_ok(&mut p.m, "SET a 1");
    wait_synced(&mut p.m, &mut p.r);
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET moved offset");
    assert_eq!(cmd(&mut p.m, "FAILOVER"), "OK");
    let mut writer = send_paused_write(&mut p, "held");
    assert_eq!(cmd(&mut p.m, "FAILOVER ABORT"), "OK");
    assert_eq!(text(&writer.read_reply().expect("held write")), "OK");
    assert_eq!(failover_state(&mut p.m), "no-failover");
    assert_eq!(cmd(&mut p.m, "FAILOVER ABORT"), "ERR No failover in progress.");
    wait_log(&p.master, "FAILOVER to any replica aborted: Failover manually aborted");
    p.replica.signal("-CONT");
    wait_synced(&mut p.m, &mut p.r);
    assert_same_digest(&mut p.m, &mut p.r);
}

/// TO ... TIMEOUT ... FORCE with a stopped replica: at the timeout the master becomes its
/// replica anyway (failover-in-progress, writes refused as on any replica); once the target
/// wakes up it takes over, and the write held meanwhile is answered READONLY.
fn force_fails_over_at_timeout(kind: ServerKind) {
    let mut p = Pair::start(kind, kind);
    load_dataset(&mut p.m);
    wait_synced(&mut p.m, &mut p.r);
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET moved offset");
    assert_eq!(cmd(&mut p.m, &format!("FAILOVER TO 127.0.0.1 {} TIMEOUT 300 FORCE", p.replica.port)), "OK");
    let mut writer = send_paused_write(&mut p, "held");
    wait_until(20, "failover-in-progress", || failover_state(&mut p.m) == "failover-in-progress");
    assert_eq!(role(&mut p.m), "slave");
    wait_log(&p.master, &format!("FAILOVER to 127.0.0.1:{} time out exceeded, failing over.", p.replica.port));
    p.replica.signal("-CONT");
    wait_failover_over(&mut p.m);
    assert_eq!(text(&writer.read_reply().expect("held write")), "READONLY You can't write against a read only replica.");
    wait_until(30, "roles swapped", || role(&mut p.r) == "master");
    wait_link_up(&mut p.m);
    wait_synced(&mut p.r, &mut p.m);
    assert_eq!(cmd(&mut p.m, "GET held"), "");
    assert_same_digest(&mut p.m, &mut p.r);
}

// ---------------------------------------------------------------------------------------------
// A target that refuses
// ---------------------------------------------------------------------------------------------

/// The target (a redis-server replica that may not run PSYNC) refuses the request: the
/// ferredis master aborts, is a master again, and the held write runs there.
#[test]
fn rejected_psync_aborts_the_failover() {
    if !require_redis() {
        return;
    }
    let mut p = Pair::start(ServerKind::Ferredis, ServerKind::Redis);
    load_dataset(&mut p.m);
    wait_synced(&mut p.m, &mut p.r);
    cmd_ok(&mut p.r, "ACL SETUSER default -psync");
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET moved offset");
    assert_eq!(cmd(&mut p.m, "FAILOVER"), "OK");
    let mut writer = send_paused_write(&mut p, "held");
    p.replica.signal("-CONT");
    wait_log(&p.master, "FAILOVER to 127.0.0.1:");
    wait_log(&p.master, "aborted: Failover target rejected psync request");
    assert_eq!(text(&writer.read_reply().expect("held write")), "OK");
    wait_failover_over(&mut p.m);
    assert_eq!(role(&mut p.m), "master");
    assert_eq!(role(&mut p.r), "slave");
    cmd_ok(&mut p.r, "ACL SETUSER default +psync");
    wait_link_up(&mut p.r);
    wait_synced(&mut p.m, &mut p.r);
    assert_same_digest(&mut p.m, &mut p.r);
}

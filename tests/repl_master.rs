//! The master side of replication end to end: ferredis as the master of the real
//! redis-server 7.0.15 (disk and diskless full sync, streaming of every kind of write,
//! partial resync after CLIENT KILL, WAIT, min-replicas, INFO and ROLE), and a hand-driven
//! fake replica on a raw socket checking the exact bytes of the handshake, of both full
//! sync payloads, of +CONTINUE and of the backlog. Every check runs twice: with ferredis
//! as the master, and with the real redis-server 7.0.15 as the master, which shows the
//! expectations are Redis's own.
//!
//! Times are only polled with bounded loops, never asserted. Under CI=true a missing
//! redis-server fails the tests that need it (tests/common).
mod common;

use common::{cmd_ok, cmd_text as cmd, encode_command, escape_bytes, info_field, info_num, log_of, reply_text as text, require_redis, wait_until, RawConn, Server, ServerKind};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// Each check runs against a ferredis master and, as the reference, a real redis-server
/// 7.0.15 master: the same bytes, replies and log lines are expected from both.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod ferredis_master {
            $(#[test] fn $name() { super::$name(super::ServerKind::Ferredis) })*
        }
        mod redis_master {
            $(#[test] fn $name() { if super::require_redis() { super::$name(super::ServerKind::Redis) } })*
        }
    };
}

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

fn wait_log(srv: &Server, needle: &str) {
    wait_until(20, needle, || log_of(srv).contains(needle));
}

/// A ferredis master and a real redis-server replicating from it.
struct Pair {
    master: Server,
    replica: Server,
    m: RawConn,
    r: RawConn,
}

impl Pair {
    fn start(kind: ServerKind, master_args: &[&str]) -> Pair {
        let mut args = DEBUG.to_vec();
        args.extend_from_slice(master_args);
        let master = Server::start(kind, &args);
        Pair::attach(master)
    }

    fn attach(master: Server) -> Pair {
        let port = master.port.to_string();
        let replica = Server::start_redis(&[
            "--enable-debug-command", "yes", "--replicaof", "127.0.0.1", &port, "--repl-diskless-load", "disabled",
        ]);
        let (m, r) = (master.conn(), replica.conn());
        let mut pair = Pair { master, replica, m, r };
        pair.wait_link_up();
        pair
    }

    fn wait_link_up(&mut self) {
        let r = &mut self.r;
        wait_until(30, "master_link_status:up", || info_field(r, "replication", "master_link_status").as_deref() == Some("up"));
    }

    /// Waits until the replica processed everything the master produced.
    fn wait_synced(&mut self) {
        let (m, r) = (&mut self.m, &mut self.r);
        wait_until(30, "replica offset == master offset", || {
            let want = info_num(m, "replication", "master_repl_offset");
            want > 0 && info_num(r, "replication", "slave_repl_offset") == want
        });
    }

    fn assert_same_digest(&mut self) {
        self.wait_synced();
        let (dm, dr) = (cmd(&mut self.m, "DEBUG DIGEST"), cmd(&mut self.r, "DEBUG DIGEST"));
        assert_ne!(dm, "0".repeat(40), "the dataset is not empty");
        assert_eq!(dm, dr, "DEBUG DIGEST differs between ferredis master and redis replica");
    }
}

/// A dataset with every type and encoding, in several dbs, some keys with a TTL.
fn load_dataset(c: &mut RawConn) {
    for line in [
        "SET str hello", "SET int 12345", "SET big 1234567890123", "SET ttl v EX 1000",
        "RPUSH list a b c 1 2 3", "HSET hash f1 v1 f2 2", "SADD intset 1 2 3", "SADD set a b c",
        "ZADD zset 1 a 2.5 b -3 c", "XADD stream 1-1 f v", "XADD stream 2-1 g w",
        "XGROUP CREATE stream grp 0", "XREADGROUP GROUP grp alice COUNT 1 STREAMS stream >",
        "SELECT 3", "SET in3 x", "HSET h3 a 1", "SELECT 0",
    ] {
        cmd_ok(c, line);
    }
    let long: String = "x".repeat(300);
    cmd_ok(c, &format!("HSET bighash long {long}"));
    for i in 0..200 {
        cmd_ok(c, &format!("ZADD bigzset {i} member{i}"));
        cmd_ok(c, &format!("SADD bigset m{i}"));
        cmd_ok(c, &format!("RPUSH biglist element-{i}"));
    }
}

/// Writes of every kind, including those Redis rewrites for the stream.
fn write_everything(p: &mut Pair) {
    let m = &mut p.m;
    for line in [
        "SET plain v", "SET withex v EX 100", "SETEX sx 100 v", "EXPIRE plain 500", "INCRBYFLOAT fl 1.5",
        "INCR counter", "APPEND str world", "SETRANGE str 1 E", "GETEX int PERSIST", "GETDEL big",
        "SADD spopset a b c d", "SPOP spopset", "SREM set a", "SMOVE set intset b",
        "LPUSH list x", "RPOP list", "LMOVE list list2 LEFT RIGHT", "LSET list 0 first", "LTRIM biglist 0 99",
        "HINCRBY hash f2 5", "HDEL hash f1", "HINCRBYFLOAT hash fl 0.25",
        "ZINCRBY zset 2 a", "ZREM zset c", "ZPOPMIN bigzset 3", "ZUNIONSTORE zu 2 zset bigzset",
        "XADD stream 3-1 h x", "XACK stream grp 1-1", "XTRIM stream MAXLEN 2", "XDEL stream 2-1",
        "RENAME plain renamed", "DEL intset", "UNLINK bigset", "PEXPIREAT renamed 99999999999999",
        "SELECT 5", "SET in5 y", "LPUSH l5 1 2 3", "SELECT 7", "SET in7 z", "FLUSHDB", "SET after7 w",
        "SELECT 0", "PUBLISH chan msg",
    ] {
        cmd_ok(m, line);
    }
    // MULTI/EXEC as one block.
    for line in ["MULTI", "SET m1 a", "INCR m2", "LPUSH m3 x", "EXEC"] {
        cmd_ok(m, line);
    }
    // A served BLPOP is propagated as LPOP.
    let mut blocked = p.master.conn();
    blocked.send(&encode_command(&[b"BLPOP", b"bl", b"0"]));
    wait_until(10, "BLPOP blocked", || info_num(m, "clients", "blocked_clients") == 1);
    cmd_ok(m, "LPUSH bl a b");
    let served = blocked.read_reply().expect("BLPOP reply");
    assert!(text(&served[..]).contains("bl"), "{}", escape_bytes(&served));
    // A key expired by the master reaches the replica as a DEL.
    cmd_ok(m, "SET short v PX 30");
    thread::sleep(Duration::from_millis(80));
    assert_eq!(m.cmd_str("GET short"), b"$-1\r\n");
}

// ---------------------------------------------------------------------------------------------
// A fake replica on a raw socket
// ---------------------------------------------------------------------------------------------

/// Appends whatever arrives within `wait` to `buf`.
fn pump(c: &mut RawConn, buf: &mut Vec<u8>, wait: Duration) {
    let _ = c.poll_closed(wait);
    buf.extend_from_slice(&c.take_pending());
}

/// Reads until `done(buf)` says how many bytes it wants, for at most `secs` seconds.
fn read_until(c: &mut RawConn, buf: &mut Vec<u8>, secs: u64, mut done: impl FnMut(&[u8]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done(buf) {
        assert!(Instant::now() < deadline, "timed out; got {}", escape_bytes(&buf[..buf.len().min(300)]));
        pump(c, buf, Duration::from_millis(50));
    }
}

fn line_end(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// What a full sync sent: the keep-alive newlines before the first line, the replid and
/// offset of +FULLRESYNC (None for the old SYNC), the RDB and the bytes after it.
struct FullSync {
    newlines: usize,
    replid: Option<String>,
    offset: i64,
    rdb: Vec<u8>,
    eof_mark: Option<Vec<u8>>,
    rest: Vec<u8>,
}

/// Reads the answer to SYNC / PSYNC that starts a full sync.
fn read_full_sync(c: &mut RawConn, expect_fullresync: bool) -> FullSync {
    let mut buf = Vec::new();
    let mut newlines = 0;
    let (mut replid, mut offset) = (None, -1);
    loop {
        read_until(c, &mut buf, 30, |b| !b.is_empty());
        if buf[0] == b'\n' {
            newlines += 1;
            buf.remove(0);
            continue;
        }
        read_until(c, &mut buf, 10, |b| line_end(b).is_some());
        let end = line_end(&buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..end]).into_owned();
        if let Some(rest) = line.strip_prefix("+FULLRESYNC ") {
            assert!(expect_fullresync, "SYNC must not get +FULLRESYNC: {line}");
            let (id, off) = rest.split_once(' ').expect("replid and offset");
            replid = Some(id.to_string());
            offset = off.parse().expect("offset");
            buf.drain(..end + 2);
            continue;
        }
        assert!(line.starts_with('$'), "expected the payload, got {line:?}");
        buf.drain(..end + 2);
        if let Some(mark) = line.strip_prefix("$EOF:") {
            let mark = mark.as_bytes().to_vec();
            assert_eq!(mark.len(), 40);
            read_until(c, &mut buf, 30, |b| b.windows(40).any(|w| w == &mark[..]));
            let at = buf.windows(40).position(|w| w == &mark[..]).unwrap();
            let rdb = buf[..at].to_vec();
            let rest = buf[at + 40..].to_vec();
            return FullSync { newlines, replid, offset, rdb, eof_mark: Some(mark), rest };
        }
        let len: usize = line[1..].parse().expect("payload length");
        read_until(c, &mut buf, 30, |b| b.len() >= len);
        let rest = buf.split_off(len);
        return FullSync { newlines, replid, offset, rdb: buf, eof_mark: None, rest };
    }
}

/// The RDB starts with its magic and ends with a CRC-64 of everything before it.
fn assert_valid_rdb(rdb: &[u8]) {
    assert!(rdb.starts_with(b"REDIS0010"), "{}", escape_bytes(&rdb[..rdb.len().min(20)]));
    let (body, trailer) = rdb.split_at(rdb.len() - 8);
    assert_eq!(ferredis::crc64::crc64(0, body).to_le_bytes(), trailer, "RDB checksum");
}

fn multibulk(args: &[&str]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    encode_command(&refs)
}

/// A master for exact-bytes checks: its first replicationCron (which PINGs any replica
/// attached by then) is past and the next PING is an hour away, so the stream holds only
/// what the test writes.
fn start_quiet(kind: ServerKind, args: &[&str]) -> Server {
    let mut all = vec!["--repl-ping-replica-period", "3600"];
    all.extend_from_slice(args);
    let master = Server::start(kind, &all);
    let mut c = master.conn();
    wait_until(10, "uptime_in_seconds >= 1", || info_num(&mut c, "server", "uptime_in_seconds") >= 1);
    master
}

/// A fake replica that went through the handshake and a disk-based full sync.
fn fake_replica_full_sync(master: &Server, capa: &[&str]) -> (RawConn, FullSync) {
    let mut f = master.conn();
    assert_eq!(f.cmd_str("PING"), b"+PONG\r\n");
    assert_eq!(f.cmd_str("REPLCONF listening-port 7777"), b"+OK\r\n");
    let mut capa_cmd = vec!["REPLCONF"];
    for c in capa {
        capa_cmd.extend(["capa", c]);
    }
    assert_eq!(f.cmd_str(&capa_cmd.join(" ")), b"+OK\r\n");
    f.send(&multibulk(&["PSYNC", "?", "-1"]));
    let sync = read_full_sync(&mut f, true);
    (f, sync)
}

// ---------------------------------------------------------------------------------------------
// Tests with the real redis-server as replica
// ---------------------------------------------------------------------------------------------

fn redis_replica_disk_sync_then_streams_every_write(kind: ServerKind) {
    if !require_redis() {
        return;
    }
    let master = Server::start(kind, &["--enable-debug-command", "yes", "--repl-diskless-sync", "no"]);
    load_dataset(&mut master.conn());
    let mut p = Pair::attach(master);
    p.assert_same_digest();
    assert_eq!(cmd(&mut p.r, "GET int"), "12345");
    assert!(cmd(&mut p.r, "XINFO GROUPS stream").contains("grp"));
    write_everything(&mut p);
    p.assert_same_digest();
    assert_eq!(info_num(&mut p.m, "stats", "sync_full"), 1);
    let log = log_of(&p.master);
    assert!(log.contains("Starting BGSAVE for SYNC with target: disk"), "{log}");
    assert!(log.contains(&format!("Synchronization with replica 127.0.0.1:{} succeeded", p.replica.port)), "{log}");
}

fn redis_replica_diskless_sync(kind: ServerKind) {
    if !require_redis() {
        return;
    }
    let master = Server::start(kind, &["--enable-debug-command", "yes", "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "1"]);
    load_dataset(&mut master.conn());
    let mut p = Pair::attach(master);
    p.assert_same_digest();
    write_everything(&mut p);
    p.assert_same_digest();
    let log = log_of(&p.master);
    for line in [
        "Delay next BGSAVE for diskless SYNC",
        "Starting BGSAVE for SYNC with target: replicas sockets",
        "Diskless rdb transfer, done reading from pipe, 1 replicas still up.",
        "Background RDB transfer terminated with success",
        "succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
    ] {
        assert!(log.contains(line), "missing {line:?} in\n{log}");
    }
}

fn client_kill_replica_then_partial_resync(kind: ServerKind) {
    if !require_redis() {
        return;
    }
    let mut p = Pair::start(kind, &["--repl-diskless-sync", "no"]);
    cmd_ok(&mut p.m, "SET before kill");
    p.wait_synced();
    assert_eq!(cmd(&mut p.m, "CLIENT KILL TYPE replica"), "1");
    for i in 0..50 {
        cmd_ok(&mut p.m, &format!("RPUSH during {i}"));
    }
    let m = &mut p.m;
    wait_until(30, "sync_partial_ok:1", || info_num(m, "stats", "sync_partial_ok") == 1);
    p.wait_link_up();
    p.assert_same_digest();
    assert_eq!(info_num(&mut p.m, "stats", "sync_full"), 1, "no second full sync");
    let log = log_of(&p.master);
    let port = p.replica.port;
    assert!(log.contains(&format!("Connection with replica 127.0.0.1:{port} lost.")), "{log}");
    assert!(log.contains(&format!("Partial resynchronization request from 127.0.0.1:{port} accepted.")), "{log}");
}

fn wait_and_min_replicas(kind: ServerKind) {
    if !require_redis() {
        return;
    }
    let mut p = Pair::start(kind, &["--repl-diskless-sync", "no"]);
    // No write of its own: nothing to wait for.
    assert_eq!(cmd(&mut p.m, "WAIT 1 0"), "1");
    cmd_ok(&mut p.m, "SET w 1");
    assert_eq!(cmd(&mut p.m, "WAIT 1 5000"), "1");
    // More replicas than there are: the timeout answers with what acknowledged.
    cmd_ok(&mut p.m, "SET w 2");
    assert_eq!(cmd(&mut p.m, "WAIT 2 300"), "1");
    assert_eq!(p.m.cmd_str("WAIT 1 -1"), b"-ERR timeout is negative\r\n");
    assert_eq!(p.m.cmd_str("WAIT x 1"), b"-ERR value is not an integer or out of range\r\n");
    assert!(p.r.cmd_str("WAIT 1 1").starts_with(b"-ERR WAIT cannot be used with replica instances."));

    cmd_ok(&mut p.m, "CONFIG SET min-replicas-to-write 2");
    assert_eq!(p.m.cmd_str("SET x 1"), b"-NOREPLICAS Not enough good replicas to write.\r\n");
    assert_eq!(cmd(&mut p.m, "GET x"), "", "reads are allowed");
    assert_eq!(info_num(&mut p.m, "replication", "min_slaves_good_slaves"), 1);
    cmd_ok(&mut p.m, "CONFIG SET min-replicas-to-write 1");
    cmd_ok(&mut p.m, "SET x 1");
    cmd_ok(&mut p.m, "CONFIG SET min-replicas-to-write 0");
    assert_eq!(info_field(&mut p.m, "replication", "min_slaves_good_slaves"), None);
}

fn info_replication_and_role_of_a_master(kind: ServerKind) {
    if !require_redis() {
        return;
    }
    let mut p = Pair::start(kind, &["--repl-diskless-sync", "no"]);
    cmd_ok(&mut p.m, "SET k v");
    p.wait_synced();
    // The replica acknowledges once a second.
    let offset = info_num(&mut p.m, "replication", "master_repl_offset");
    let m = &mut p.m;
    wait_until(10, "the replica's ACK", || info_field(m, "replication", "slave0").is_some_and(|s| s.contains(&format!("offset={offset},"))));
    let info = cmd(&mut p.m, "INFO replication");
    let lines: Vec<&str> = info.lines().collect();
    let offset = info_num(&mut p.m, "replication", "master_repl_offset");
    let names: Vec<&str> = lines.iter().skip(1).filter_map(|l| l.split_once(':').map(|(n, _)| n)).collect();
    assert_eq!(
        names,
        [
            "role", "connected_slaves", "slave0", "master_failover_state", "master_replid", "master_replid2",
            "master_repl_offset", "second_repl_offset", "repl_backlog_active", "repl_backlog_size",
            "repl_backlog_first_byte_offset", "repl_backlog_histlen"
        ]
    );
    let want_slave = format!("slave0:ip=127.0.0.1,port={},state=online,offset={offset},lag=", p.replica.port);
    assert!(lines[3].starts_with(&want_slave), "{}", lines[3]);
    assert!(info.contains("\r\nrole:master\r\nconnected_slaves:1\r\n"));
    assert!(info.contains("master_failover_state:no-failover\r\n"));
    assert!(info.contains("master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:"));
    assert!(info.contains(&format!("repl_backlog_active:1\r\nrepl_backlog_size:1048576\r\nrepl_backlog_first_byte_offset:1\r\nrepl_backlog_histlen:{offset}")), "{info}");
    let replid = info_field(&mut p.m, "replication", "master_replid").unwrap();
    assert_eq!(info_field(&mut p.r, "replication", "master_replid").unwrap(), replid);
    let role = p.m.cmd_str("ROLE");
    let port = p.replica.port.to_string();
    let want = format!(
        "*3\r\n$6\r\nmaster\r\n:{offset}\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n${}\r\n{port}\r\n${}\r\n{offset}\r\n",
        port.len(),
        offset.to_string().len()
    );
    assert_eq!(escape_bytes(&role), escape_bytes(want.as_bytes()));
}

// ---------------------------------------------------------------------------------------------
// Fake replica: exact bytes
// ---------------------------------------------------------------------------------------------

fn handshake_replies_and_replconf_errors(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no"]);
    let mut f = master.conn();
    assert_eq!(f.cmd_str("PING"), b"+PONG\r\n");
    assert_eq!(f.cmd_str("REPLCONF listening-port 7777"), b"+OK\r\n");
    assert_eq!(f.cmd_str("REPLCONF capa eof capa psync2"), b"+OK\r\n");
    assert_eq!(f.cmd_str("REPLCONF capa unknown-capa"), b"+OK\r\n");
    assert_eq!(f.cmd_str("REPLCONF ip-address 10.1.2.3"), b"+OK\r\n");
    assert_eq!(f.cmd_str("REPLCONF"), b"+OK\r\n");
    assert_eq!(f.cmd_str("REPLCONF listening-port"), b"-ERR syntax error\r\n");
    assert_eq!(f.cmd_str("REPLCONF foo bar"), b"-ERR Unrecognized REPLCONF option: foo\r\n");
    assert_eq!(f.cmd_str("REPLCONF listening-port abc"), b"-ERR value is not an integer or out of range\r\n");
    assert_eq!(f.cmd_str("REPLCONF rdb-only 2"), b"-ERR value is out of range, value must between 0 and 1\r\n");
    assert_eq!(f.cmd_str("REPLCONF rdb-filter-only foo"), b"-ERR Unsupported rdb-filter-only option: foo\r\n");
    let long = "a".repeat(256);
    assert_eq!(
        f.cmd_str(&format!("REPLCONF ip-address {long}")),
        b"-ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes\r\n"
    );
    // ACK from a client that is no replica: silently ignored, no reply at all.
    f.send(&multibulk(&["REPLCONF", "ACK", "10"]));
    assert_eq!(f.cmd_str("PING"), b"+PONG\r\n");
    assert_eq!(f.cmd_str("PSYNC abc def"), b"-ERR value is not an integer or out of range\r\n");
    assert_eq!(f.cmd_str("SYNC extra"), b"-ERR wrong number of arguments for 'sync' command\r\n");
    assert_eq!(f.cmd_str("PSYNC a 1 FAILOVER"), b"-ERR PSYNC FAILOVER can't be sent to a master.\r\n");
    let mut m = master.conn();
    assert_eq!(m.cmd_str("ROLE"), b"*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n");
    assert_eq!(info_num(&mut m, "replication", "repl_backlog_active"), 0, "no backlog before the first replica");
    wait_log(&master, "asks for synchronization but with a wrong offset");
}

fn fake_replica_disk_full_sync_bytes_then_stream(kind: ServerKind) {
    let master = start_quiet(kind, &["--repl-diskless-sync", "no"]);
    let mut m = master.conn();
    cmd_ok(&mut m, "SET before sync");
    let (mut f, sync) = fake_replica_full_sync(&master, &["psync2"]);
    let replid = sync.replid.clone().expect("+FULLRESYNC");
    assert_eq!(replid.len(), 40);
    assert!(replid.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(sync.offset, 0, "the backlog was created with the sync");
    assert!(sync.eof_mark.is_none(), "no capa eof: a $<len> payload");
    assert_valid_rdb(&sync.rdb);
    let rdb_text = String::from_utf8_lossy(&sync.rdb);
    assert!(rdb_text.contains("repl-id") && rdb_text.contains(&replid) && rdb_text.contains("before"));
    assert!(sync.rest.is_empty(), "{}", escape_bytes(&sync.rest));
    assert_eq!(info_field(&mut m, "replication", "master_replid").as_deref(), Some(replid.as_str()));
    let log = log_of(&master);
    assert!(log.contains("Full resync requested by replica 127.0.0.1:7777"), "{log}");
    assert!(log.contains(&format!("Replication backlog created, my new replication IDs are '{replid}' and '{}'", "0".repeat(40))), "{log}");

    // The stream: SELECT first, then the command as sent.
    cmd_ok(&mut m, "set k v");
    let want = [multibulk(&["SELECT", "0"]), multibulk(&["set", "k", "v"])].concat();
    let mut got = sync.rest;
    read_until(&mut f, &mut got, 10, |b| b.len() >= want.len());
    assert_eq!(escape_bytes(&got), escape_bytes(&want));
    assert_eq!(info_num(&mut m, "replication", "master_repl_offset"), want.len() as i64);
    // REPLCONF ACK is silent and shows in INFO.
    f.send(&multibulk(&["REPLCONF", "ACK", &want.len().to_string()]));
    let acked = format!("offset={},", want.len());
    wait_until(10, "ack in INFO", || info_field(&mut m, "replication", "slave0").is_some_and(|s| s.contains(&acked)));
    assert_eq!(info_field(&mut m, "replication", "slave0").unwrap().split(",lag").next().unwrap(), format!("ip=127.0.0.1,port=7777,state=online,offset={}", want.len()));
    // SYNC/PSYNC from a replica are ignored.
    f.send(&multibulk(&["PSYNC", "?", "-1"]));
    cmd_ok(&mut m, "set k2 v2");
    let want2 = multibulk(&["set", "k2", "v2"]);
    let mut got2 = Vec::new();
    read_until(&mut f, &mut got2, 10, |b| b.len() >= want2.len());
    assert_eq!(escape_bytes(&got2), escape_bytes(&want2));
}

fn old_sync_gets_the_payload_without_fullresync(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no"]);
    cmd_ok(&mut master.conn(), "SET a 1");
    let mut f = master.conn();
    f.send(b"SYNC\r\n");
    let sync = read_full_sync(&mut f, false);
    assert!(sync.replid.is_none());
    assert_valid_rdb(&sync.rdb);
}

fn fake_replica_diskless_eof_payload_and_stream_after_first_ack(kind: ServerKind) {
    let master = start_quiet(kind, &["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "2"]);
    let mut m = master.conn();
    cmd_ok(&mut m, "SET before sync");
    let (mut f, sync) = fake_replica_full_sync(&master, &["eof", "psync2"]);
    assert!(sync.newlines >= 1, "keep-alive newlines while the BGSAVE is delayed");
    assert!(sync.eof_mark.is_some());
    assert_valid_rdb(&sync.rdb);
    assert!(sync.rest.is_empty());
    wait_log(&master, "Waiting for REPLCONF ACK from slave to enable streaming");
    // Nothing may follow the EOF mark before the first ACK.
    cmd_ok(&mut m, "set k v");
    let mut got = Vec::new();
    pump(&mut f, &mut got, Duration::from_millis(300));
    assert!(got.is_empty(), "stream sent before the first ACK: {}", escape_bytes(&got));
    f.send(&multibulk(&["REPLCONF", "ACK", &sync.offset.to_string()]));
    let want = [multibulk(&["SELECT", "0"]), multibulk(&["set", "k", "v"])].concat();
    read_until(&mut f, &mut got, 10, |b| b.len() >= want.len());
    assert_eq!(escape_bytes(&got), escape_bytes(&want));
}

fn psync_continue_sends_the_exact_backlog(kind: ServerKind) {
    let master = start_quiet(kind, &["--repl-diskless-sync", "no"]);
    let mut m = master.conn();
    let (mut f, sync) = fake_replica_full_sync(&master, &["psync2"]);
    let replid = sync.replid.unwrap();
    cmd_ok(&mut m, "set a 1");
    let mut stream = [multibulk(&["SELECT", "0"]), multibulk(&["set", "a", "1"])].concat();
    let mut got = sync.rest;
    read_until(&mut f, &mut got, 10, |b| b.len() >= stream.len());
    drop(f);
    let m2 = &mut m;
    wait_until(10, "connected_slaves:0", || info_num(m2, "replication", "connected_slaves") == 0);
    wait_log(&master, "Connection with replica 127.0.0.1:7777 lost.");
    cmd_ok(&mut m, "set b 2");
    stream.extend(multibulk(&["set", "b", "2"]));
    assert_eq!(info_num(&mut m, "replication", "master_repl_offset"), sync.offset + stream.len() as i64);

    // psync2: +CONTINUE <replid>, then everything after the offset asked for.
    let from = sync.offset + 1;
    let mut g = master.conn();
    assert_eq!(g.cmd_str("REPLCONF capa psync2"), b"+OK\r\n");
    g.send(&multibulk(&["PSYNC", &replid, &from.to_string()]));
    let want = [format!("+CONTINUE {replid}\r\n").into_bytes(), stream.clone()].concat();
    let mut got = Vec::new();
    read_until(&mut g, &mut got, 10, |b| b.len() >= want.len());
    assert_eq!(escape_bytes(&got), escape_bytes(&want));
    wait_log(&master, &format!("Partial resynchronization request from 127.0.0.1:<unknown-replica-port> accepted. Sending {} bytes of backlog starting from offset {from}.", stream.len()));
    drop(g);

    // Without psync2, a plain +CONTINUE; from the middle of the backlog.
    let mut h = master.conn();
    h.send(&multibulk(&["PSYNC", &replid, &(from + 5).to_string()]));
    let want = [b"+CONTINUE\r\n".to_vec(), stream[5..].to_vec()].concat();
    let mut got = Vec::new();
    read_until(&mut h, &mut got, 10, |b| b.len() >= want.len());
    assert_eq!(escape_bytes(&got), escape_bytes(&want));
    // One past the end is accepted with nothing to send.
    let mut e = master.conn();
    let end = sync.offset + stream.len() as i64 + 1;
    e.send(&multibulk(&["PSYNC", &replid, &end.to_string()]));
    let mut got = Vec::new();
    read_until(&mut e, &mut got, 10, |b| b.ends_with(b"\r\n"));
    assert_eq!(got, b"+CONTINUE\r\n");
    assert_eq!(info_num(&mut m, "stats", "sync_partial_ok"), 3);
}

fn psync_with_wrong_replid_or_offset_gets_a_full_resync(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no"]);
    let mut m = master.conn();
    let (_f, sync) = fake_replica_full_sync(&master, &["psync2"]);
    let replid = sync.replid.unwrap();
    cmd_ok(&mut m, "set a 1");

    let wrong = "f".repeat(40);
    let mut g = master.conn();
    assert_eq!(g.cmd_str("REPLCONF listening-port 7001"), b"+OK\r\n");
    g.send(&multibulk(&["PSYNC", &wrong, "1"]));
    let full = read_full_sync(&mut g, true);
    assert_eq!(full.replid.as_deref(), Some(replid.as_str()));
    assert_valid_rdb(&full.rdb);
    wait_log(&master, &format!(
        "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{wrong}', my replication IDs are '{replid}' and '{}')",
        "0".repeat(40)
    ));

    let beyond = info_num(&mut m, "replication", "master_repl_offset") + 10;
    let mut h = master.conn();
    assert_eq!(h.cmd_str("REPLCONF listening-port 7002"), b"+OK\r\n");
    h.send(&multibulk(&["PSYNC", &replid, &beyond.to_string()]));
    let full = read_full_sync(&mut h, true);
    assert_valid_rdb(&full.rdb);
    wait_log(&master, &format!("Unable to partial resync with replica 127.0.0.1:7002 for lack of backlog (Replica request was: {beyond})."));
    wait_log(&master, "Warning: replica 127.0.0.1:7002 tried to PSYNC with an offset that is greater than the master replication offset.");
    assert_eq!(info_num(&mut m, "stats", "sync_partial_err"), 2);
    assert_eq!(info_num(&mut m, "stats", "sync_full"), 3);
    assert_eq!(info_num(&mut m, "replication", "connected_slaves"), 3);
}

fn slow_replica_over_the_hard_limit_is_dropped(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no"]);
    let mut m = master.conn();
    let set = m.cmd(&[&b"CONFIG"[..], b"SET", b"client-output-buffer-limit", b"replica 1mb 0 0"]);
    assert_eq!(set, b"+OK\r\n");
    let (_f, _sync) = fake_replica_full_sync(&master, &["psync2"]);
    // The fake replica reads nothing more: its buffer grows until the limit drops it.
    let value = "v".repeat(100_000);
    for i in 0..300 {
        let key = format!("k{i}");
        let reply = m.cmd(&[&b"SET"[..], key.as_bytes(), value.as_bytes()]);
        assert_eq!(reply, b"+OK\r\n");
        if info_num(&mut m, "replication", "connected_slaves") == 0 {
            break;
        }
    }
    wait_until(10, "connected_slaves:0", || info_num(&mut m, "replication", "connected_slaves") == 0);
    let log = log_of(&master);
    assert!(log.contains("scheduled to be closed ASAP for overcoming of output buffer limits."), "{log}");
    assert!(log.contains("Connection with replica 127.0.0.1:7777 lost."), "{log}");
}

fn master_pings_replicas_and_drops_one_that_never_acks(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no", "--repl-ping-replica-period", "1", "--repl-timeout", "2"]);
    let mut m = master.conn();
    let (mut f, sync) = fake_replica_full_sync(&master, &["psync2"]);
    // The PING is lower-case, needs no SELECT, and counts in the offset.
    let ping = multibulk(&["ping"]);
    let mut got = sync.rest;
    read_until(&mut f, &mut got, 10, |b| b.len() >= ping.len());
    assert_eq!(escape_bytes(&got[..ping.len()]), escape_bytes(&ping));
    assert!(info_num(&mut m, "replication", "master_repl_offset") >= ping.len() as i64);
    // Never acknowledging, it is dropped after repl-timeout.
    wait_log(&master, "Disconnecting timedout replica (streaming sync): 127.0.0.1:7777");
    assert!(f.poll_closed(Duration::from_secs(5)).unwrap_or(false), "the replica's connection is closed");
    assert_eq!(info_num(&mut m, "replication", "connected_slaves"), 0);
}

fn backlog_is_freed_after_repl_backlog_ttl_without_replicas(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no", "--repl-backlog-ttl", "1"]);
    let mut m = master.conn();
    let (f, sync) = fake_replica_full_sync(&master, &["psync2"]);
    let replid = sync.replid.unwrap();
    cmd_ok(&mut m, "SET k v");
    let offset = info_num(&mut m, "replication", "master_repl_offset");
    drop(f);
    wait_log(&master, "Replication backlog freed after 1 seconds without connected replicas.");
    assert_eq!(info_num(&mut m, "replication", "repl_backlog_active"), 0);
    assert_ne!(info_field(&mut m, "replication", "master_replid").unwrap(), replid, "a new history");
    assert_eq!(info_num(&mut m, "replication", "master_repl_offset"), offset);
    // The old history can no longer be continued.
    let mut g = master.conn();
    g.send(&multibulk(&["PSYNC", &replid, &(offset + 1).to_string()]));
    let full = read_full_sync(&mut g, true);
    assert_ne!(full.replid.as_deref(), Some(replid.as_str()));
    assert_eq!(full.offset, offset);
}

fn a_second_replica_attaches_to_the_running_disk_bgsave(kind: ServerKind) {
    // 100 ms per key: the BGSAVE for the first replica lasts about a second.
    let master = start_quiet(kind, &["--repl-diskless-sync", "no", "--rdb-key-save-delay", "100000"]);
    let mut m = master.conn();
    for i in 0..8 {
        cmd_ok(&mut m, &format!("SET key{i} {i}"));
    }
    let mut a = master.conn();
    assert_eq!(a.cmd_str("REPLCONF listening-port 7001"), b"+OK\r\n");
    a.send(&multibulk(&["PSYNC", "?", "-1"]));
    wait_until(10, "wait_bgsave", || info_field(&mut m, "replication", "slave0").is_some_and(|s| s.contains("state=wait_bgsave")));
    // Written during the BGSAVE: buffered for the first replica, copied to the second.
    cmd_ok(&mut m, "SET during bgsave");
    let mut b = master.conn();
    assert_eq!(b.cmd_str("REPLCONF listening-port 7002"), b"+OK\r\n");
    b.send(&multibulk(&["PSYNC", "?", "-1"]));
    wait_log(&master, "Waiting for end of BGSAVE for SYNC");
    let (sa, sb) = (read_full_sync(&mut a, true), read_full_sync(&mut b, true));
    assert_eq!((sa.replid.clone(), sa.offset), (sb.replid.clone(), sb.offset), "one snapshot for both");
    assert_eq!(sa.rdb.len(), sb.rdb.len());
    assert_valid_rdb(&sb.rdb);
    let want = [multibulk(&["SELECT", "0"]), multibulk(&["SET", "during", "bgsave"])].concat();
    for (mut c, sync) in [(a, sa), (b, sb)] {
        let mut got = sync.rest;
        read_until(&mut c, &mut got, 10, |g| g.len() >= want.len());
        assert_eq!(escape_bytes(&got[..want.len()]), escape_bytes(&want));
    }
    assert_eq!(log_of(&master).matches("Starting BGSAVE for SYNC").count(), 1, "{}", log_of(&master));
}

/// Sends the handshake of a fake replica and its PSYNC ? -1, without reading the answer.
fn fake_replica_ask_full_sync(master: &Server, port: u16, capa: &str, filter: Option<&str>) -> RawConn {
    let mut f = master.conn();
    assert_eq!(f.cmd_str(&format!("REPLCONF listening-port {port} {capa}")), b"+OK\r\n");
    if let Some(filter) = filter {
        assert_eq!(f.cmd(&[&b"REPLCONF"[..], b"rdb-filter-only", filter.as_bytes()]), b"+OK\r\n");
    }
    f.send(&multibulk(&["PSYNC", "?", "-1"]));
    f
}

fn diskless_fork_serves_every_waiting_replica_at_max_replicas(kind: ServerKind) {
    // The delay is long: only reaching repl-diskless-sync-max-replicas starts the fork.
    let args = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "60", "--repl-diskless-sync-max-replicas", "2"];
    let master = Server::start(kind, &args);
    cmd_ok(&mut master.conn(), "SET k v");
    let mut a = fake_replica_ask_full_sync(&master, 7001, "capa eof capa psync2", None);
    wait_log(&master, "Delay next BGSAVE for diskless SYNC");
    let mut b = fake_replica_ask_full_sync(&master, 7002, "capa eof capa psync2", None);
    let (sa, sb) = (read_full_sync(&mut a, true), read_full_sync(&mut b, true));
    assert_eq!((sa.replid.clone(), sa.offset), (sb.replid.clone(), sb.offset));
    assert_eq!(sa.rdb, sb.rdb, "one child wrote one payload for both");
    assert_valid_rdb(&sa.rdb);
    wait_log(&master, "Diskless rdb transfer, done reading from pipe, 2 replicas still up.");
    assert_eq!(log_of(&master).matches("Starting BGSAVE for SYNC with target: replicas sockets").count(), 1);
}

fn rdb_filter_only_gets_an_rdb_without_data(kind: ServerKind) {
    let master = Server::start(kind, &["--repl-diskless-sync", "no"]);
    cmd_ok(&mut master.conn(), "SET somekey somevalue");
    let mut f = master.conn();
    assert_eq!(f.cmd(&[&b"REPLCONF"[..], b"rdb-filter-only", b""]), b"+OK\r\n");
    assert_eq!(f.cmd_str("PSYNC ? -1"), b"-ERR Filtered replica requires EOF capability\r\n");
    let mut g = fake_replica_ask_full_sync(&master, 7003, "capa eof", Some(""));
    let sync = read_full_sync(&mut g, true);
    assert!(sync.eof_mark.is_some(), "a filtered RDB always goes to the socket");
    assert_valid_rdb(&sync.rdb);
    assert!(!sync.rdb.windows(7).any(|w| w == b"somekey"), "no data in the payload");
}

fn replica_gone_mid_diskless_transfer_stops_the_child(kind: ServerKind) {
    // 100 ms per key of 8 KB that LZF cannot shrink: the payload trickles out for seconds.
    let args = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--rdb-key-save-delay", "100000"];
    let master = Server::start(kind, &args);
    let mut m = master.conn();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for i in 0..60 {
        let value: String = (0..8192)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'!' + (seed % 90) as u8)
            })
            .collect();
        let key = format!("key{i}");
        assert_eq!(m.cmd(&[&b"SET"[..], key.as_bytes(), value.as_bytes()]), b"+OK\r\n");
    }
    let mut f = fake_replica_ask_full_sync(&master, 7004, "capa eof capa psync2", None);
    let mut got = Vec::new();
    read_until(&mut f, &mut got, 10, |b| b.windows(5).any(|w| w == b"$EOF:"));
    drop(f);
    // The drop is seen at the master's next write to the socket. Redis names the replica by
    // its peer address, which getpeername() may no longer give once the socket is dead:
    // replicationGetSlaveName() then logs "client id #N" instead (CI met both forms).
    let lost_by_addr = "Connection with replica 127.0.0.1:7004 lost.";
    wait_until(90, lost_by_addr, || {
        let log = log_of(&master);
        log.contains(lost_by_addr) || log.lines().any(|l| l.contains("Connection with replica client id #") && l.ends_with(" lost."))
    });
    wait_log(&master, "Diskless rdb transfer, last replica dropped, killing fork child.");
    wait_log(&master, "Background transfer terminated by signal 10");
    wait_until(10, "no child", || info_num(&mut m, "persistence", "rdb_bgsave_in_progress") == 0);
}

/// SHUTDOWN with a lagging replica: writes pause, SHUTDOWN blocks until ABORT (which answers
/// it with an error), then a second SHUTDOWN exits once the replica acknowledged everything.
fn shutdown_waits_for_a_lagging_replica_then_exits(kind: ServerKind) {
    let mut p = Pair::start(kind, &["--save", ""]);
    cmd_ok(&mut p.m, "SET before 1");
    p.wait_synced();
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET lagging 1");
    let (mut shut, mut writer) = (p.master.conn(), p.master.conn());
    shut.send(&encode_command(&[b"SHUTDOWN"]));
    wait_log(&p.master, "Waiting for replicas before shutting down.");
    assert!(info_num(&mut p.m, "server", "shutdown_in_milliseconds") > 0);
    assert_eq!(cmd(&mut p.m, "GET before"), "1", "reads are served");
    writer.send(&encode_command(&[b"SET", b"paused", b"1"]));
    assert_eq!(cmd(&mut p.m, "SHUTDOWN ABORT"), "OK");
    assert_eq!(text(&shut.read_reply().unwrap()), "ERR Errors trying to SHUTDOWN. Check logs.");
    assert_eq!(text(&writer.read_reply().unwrap()), "OK", "the paused write runs after ABORT");
    wait_log(&p.master, "Shutdown manually aborted.");
    assert_eq!(cmd(&mut p.m, "SHUTDOWN ABORT"), "ERR No shutdown in progress.");
    // A new connection: redis-server 7.0.15 leaves the aborted SHUTDOWN's client unreset
    // (unblockClient skips resetClient for BLOCKED_SHUTDOWN), so it would not take another
    // multibulk command.
    let mut shut_again = p.master.conn();
    shut_again.send(&encode_command(&[b"SHUTDOWN"]));
    wait_until(20, "the second shutdown to wait", || log_of(&p.master).matches("Waiting for replicas").count() == 2);
    p.replica.signal("-CONT");
    assert!(p.master.wait_exit(30).success());
    let log = log_of(&p.master);
    assert!(log.contains("1 of 1 replicas are in sync when shutting down."), "{log}");
    assert!(log.contains("is now ready to exit, bye bye..."), "{log}");
    assert_eq!(cmd(&mut p.r, "GET paused"), "1", "the replica got every write before the exit");
}

/// With the replica stopped, the shutdown gives up after shutdown-timeout and names it.
fn shutdown_timeout_exits_with_the_replica_lagging(kind: ServerKind) {
    let mut p = Pair::start(kind, &["--save", "", "--shutdown-timeout", "1"]);
    cmd_ok(&mut p.m, "SET a 1");
    p.wait_synced();
    p.replica.signal("-STOP");
    cmd_ok(&mut p.m, "SET b 2");
    p.master.signal("-TERM");
    assert!(p.master.wait_exit(30).success());
    p.replica.signal("-CONT");
    let log = log_of(&p.master);
    for line in ["Waiting for replicas before shutting down.", "0 of 1 replicas are in sync when shutting down."] {
        assert!(log.contains(line), "{line} missing:\n{log}");
    }
    let lag_line = log.lines().find(|l| l.contains("Lagging replica 127.0.0.1:")).unwrap_or_default();
    assert!(lag_line.contains("behind master, lag=") && lag_line.ends_with("state=online."), "{log}");
}

on_both!(
    shutdown_waits_for_a_lagging_replica_then_exits,
    shutdown_timeout_exits_with_the_replica_lagging,
    redis_replica_disk_sync_then_streams_every_write,
    redis_replica_diskless_sync,
    client_kill_replica_then_partial_resync,
    wait_and_min_replicas,
    info_replication_and_role_of_a_master,
    handshake_replies_and_replconf_errors,
    fake_replica_disk_full_sync_bytes_then_stream,
    old_sync_gets_the_payload_without_fullresync,
    fake_replica_diskless_eof_payload_and_stream_after_first_ack,
    psync_continue_sends_the_exact_backlog,
    psync_with_wrong_replid_or_offset_gets_a_full_resync,
    slow_replica_over_the_hard_limit_is_dropped,
    master_pings_replicas_and_drops_one_that_never_acks,
    backlog_is_freed_after_repl_backlog_ttl_without_replicas,
    a_second_replica_attaches_to_the_running_disk_bgsave,
    diskless_fork_serves_every_waiting_replica_at_max_replicas,
    rdb_filter_only_gets_an_rdb_without_data,
    replica_gone_mid_diskless_transfer_stops_the_child,
);

/// rdb-del-sync-files with no persistence: the master removes the dump it wrote for a
/// disk-based sync once the replica has it, and a disk-loading replica removes the file it
/// received after loading it; each logs Redis's line. All four pairings of the two servers.
#[test]
fn rdb_del_sync_files_removes_the_sync_dumps_on_both_sides() {
    let kinds = common::server_kinds();
    let del = ["--rdb-del-sync-files", "yes"];
    for &master_kind in &kinds {
        for &replica_kind in &kinds {
            let mut m_args = del.to_vec();
            m_args.extend_from_slice(&["--repl-diskless-sync", "no"]);
            let master = Server::start(master_kind, &m_args);
            cmd_ok(&mut master.conn(), "SET k v");
            let port = master.port.to_string();
            let mut r_args = del.to_vec();
            r_args.extend_from_slice(&["--repl-diskless-load", "disabled", "--replicaof", "127.0.0.1", &port]);
            let replica = Server::start(replica_kind, &r_args);
            let pairing = format!("{} master, {} replica", master_kind.name(), replica_kind.name());
            wait_log(&master, "Removing the RDB file used to feed replicas in a persistence-less instance");
            wait_log(&replica, "Removing the RDB file obtained from the master. This replica has persistence disabled");
            assert!(!master.dir.join("dump.rdb").exists(), "{pairing}: the master's dump is still there");
            assert!(!replica.dir.join("dump.rdb").exists(), "{pairing}: the replica's dump is still there");
            assert_eq!(cmd(&mut replica.conn(), "GET k"), "v", "{pairing}");
        }
    }
}

/// INFO memory's replication figures follow Redis 7.0's accounting (the backlog's blocks,
/// what exceeds repl-backlog-size counted as the replicas'): the same stream through a
/// 16kb backlog gives the same figures on both masters, with a caught-up redis replica.
#[test]
fn info_memory_replication_buffers_as_redis_counts_them() {
    if !require_redis() {
        return;
    }
    let fields = ["mem_replication_backlog", "mem_total_replication_buffers", "mem_clients_slaves"];
    let mut seen = Vec::new();
    for kind in [ServerKind::Ferredis, ServerKind::Redis] {
        // No PING into the stream while the test runs: both streams are the same bytes.
        let mut p = Pair::start(kind, &["--repl-backlog-size", "16kb", "--repl-ping-replica-period", "3600"]);
        let value = "x".repeat(300);
        let batch: Vec<u8> = (0..300).flat_map(|i| encode_command(&[b"SET", format!("key:{i}").as_bytes(), value.as_bytes()])).collect();
        p.m.send(&batch);
        for _ in 0..300 {
            assert_eq!(p.m.read_reply().expect("a reply to SET"), b"+OK\r\n");
        }
        p.wait_synced();
        let figures: Vec<i64> = fields.iter().map(|f| info_num(&mut p.m, "memory", f)).collect();
        let histlen = info_num(&mut p.m, "replication", "repl_backlog_histlen");
        seen.push((kind.name(), figures, histlen));
    }
    assert_eq!(seen[0].1, seen[1].1, "{fields:?}: {seen:?}");
    assert_eq!(seen[0].2, seen[1].2, "repl_backlog_histlen: {seen:?}");
    assert!(seen[0].1[2] > 0, "the stream passed the backlog size, so part of it counts as the replica's: {seen:?}");
}

//! repl-diskless-load on a ferredis replica: `on-empty-db` and `swapdb`, against a ferredis
//! master and the real redis-server 7.0.15 (diskless `$EOF:` and disk `$<len>` payloads),
//! and against a fake master sending broken payloads.
//!
//! Checked: which path a sync takes (log lines "to parser" / "to disk"), DEBUG DIGEST equal
//! after, no file written in the replica's dir by a diskless load, -LOADING during a load
//! without shared history, old data served during an async (same history) swapdb load and
//! kept when the master dies mid-transfer, broken payloads keeping the old data with
//! Redis's log lines, and a corrupt payload ending the process as it ends Redis's.
//!
//! Times are only polled with bounded loops, never asserted. Under CI=true a missing
//! redis-server fails the tests (tests/common).
mod common;

use common::{cmd_ok, cmd_text as cmd, encode_command, log_of, wait_until};
use common::{accept_within, read_command, RawConn, Server, ServerKind};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DEBUG: [&str; 2] = ["--enable-debug-command", "yes"];

fn info_field(c: &mut RawConn, name: &str) -> Option<String> {
    common::info_field(c, "all", name)
}

fn info_num(c: &mut RawConn, name: &str) -> i64 {
    common::info_num(c, "all", name)
}

fn digest(srv: &Server) -> String {
    cmd(&mut srv.conn(), "DEBUG DIGEST")
}

/// The masters under test: ferredis always, redis-server when installed.
fn start_master(kind: ServerKind, diskless_sync: bool, extra: &[&str]) -> Server {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-diskless-sync", if diskless_sync { "yes" } else { "no" }, "--repl-diskless-sync-delay", "0"]);
    // Uncompressed, so that a slow save (rdb-key-save-delay) reaches the replica in pieces.
    args.extend(["--rdbcompression", "no"]);
    args.extend(extra);
    Server::start(kind, &args)
}

fn start_replica(load: &str, extra: &[&str]) -> Server {
    let mut args: Vec<&str> = DEBUG.to_vec();
    args.extend(["--repl-diskless-load", load]);
    args.extend(extra);
    Server::start_ferredis(&args)
}

fn replicaof(replica: &Server, port: u16) {
    cmd_ok(&mut replica.conn(), &format!("REPLICAOF 127.0.0.1 {port}"));
}

/// Waits until the replica's link is up and it applied everything the master produced.
fn wait_synced(master: &Server, replica: &Server) {
    let (mut m, mut r) = (master.conn(), replica.conn());
    wait_until(30, "the replica to catch up", || {
        info_field(&mut r, "master_link_status").as_deref() == Some("up")
            && info_num(&mut r, "slave_repl_offset") == info_num(&mut m, "master_repl_offset")
    });
}

/// Digests equal once the replica applied everything (a key expiring on the master in
/// between makes a difference that does not last).
#[track_caller]
fn assert_same_data(master: &Server, replica: &Server) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        wait_synced(master, replica);
        let (dm, dr) = (digest(master), digest(replica));
        if dm == dr {
            return;
        }
        assert!(Instant::now() < deadline, "master and replica datasets differ: {dm} vs {dr}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// Asserts that `lines` appear in the log in this order, starting at byte `from`.
#[track_caller]
fn assert_log_in_order(srv: &Server, from: usize, lines: &[&str]) {
    let log = log_of(srv);
    let mut pos = from.min(log.len());
    for line in lines {
        match log[pos..].find(line) {
            Some(at) => pos += at + line.len(),
            None => panic!("log line {line:?} missing (in order) after byte {from}:\n{}", &log[from.min(log.len())..]),
        }
    }
}

fn wait_log(srv: &Server, from: usize, line: &str) {
    wait_until(20, line, || log_of(srv).get(from..).is_some_and(|l| l.contains(line)));
}

/// Files a sync may leave in the server's dir (anything but the test harness's own).
fn rdb_files(srv: &Server) -> Vec<String> {
    std::fs::read_dir(&srv.dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|name| name != "log" && name != "stdio")
        .collect()
}

/// Keys of every type, in two dbs, some with a TTL.
fn write_dataset(m: &mut RawConn, tag: &str) {
    for line in [
        format!("SET {tag}:str hello"),
        format!("SET {tag}:int 12345"),
        format!("SETEX {tag}:ttl 1000 v"),
        format!("RPUSH {tag}:list a b c 1 2 3"),
        format!("HSET {tag}:hash f1 v1 f2 v2"),
        format!("SADD {tag}:iset 1 2 3"),
        format!("SADD {tag}:sset a b c"),
        format!("ZADD {tag}:zset 1 a 2 b"),
        format!("XADD {tag}:stream 1-1 f v"),
        format!("XGROUP CREATE {tag}:stream grp 0"),
        "SELECT 5".to_string(),
        format!("SET {tag}:in5 five"),
        "SELECT 0".to_string(),
    ] {
        cmd_ok(m, &line);
    }
}

/// `n` SETs of `size`-byte values, pipelined.
fn write_many(m: &mut RawConn, prefix: &str, n: usize, size: usize) {
    let value = "v".repeat(size);
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend(encode_command(&[b"SET", format!("{prefix}{i}").as_bytes(), value.as_bytes()]));
    }
    m.send(&batch);
    for _ in 0..n {
        let reply = m.read_reply().expect("a reply to SET");
        assert_eq!(reply, b"+OK\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// on-empty-db
// ---------------------------------------------------------------------------------------------

#[test]
fn on_empty_db_an_empty_replica_loads_disklessly_from_either_master_and_payload() {
    for kind in common::server_kinds() {
        for diskless_sync in [true, false] {
            let what = format!("{} master, repl-diskless-sync {diskless_sync}", kind.name());
            let master = start_master(kind, diskless_sync, &[]);
            write_dataset(&mut master.conn(), "a");
            let replica = start_replica("on-empty-db", &[]);
            replicaof(&replica, master.port);
            assert_same_data(&master, &replica);
            let header = if diskless_sync {
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser"
            } else {
                "bytes from master to parser"
            };
            assert_log_in_order(
                &replica,
                0,
                &[
                    "Full resync from master",
                    header,
                    "MASTER <-> REPLICA sync: Flushing old data",
                    "MASTER <-> REPLICA sync: Loading DB in memory",
                    "Done loading RDB",
                    "MASTER <-> REPLICA sync: Finished with success",
                ],
            );
            assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{what}: a diskless load writes no file");
            // The stream continues after the load.
            write_dataset(&mut master.conn(), "b");
            assert_same_data(&master, &replica);
            let mut r = replica.conn();
            assert_eq!(info_num(&mut r, "loading"), 0, "{what}");
            assert_eq!(info_num(&mut r, "async_loading"), 0, "{what}");
        }
    }
}

#[test]
fn on_empty_db_a_replica_holding_keys_takes_the_disk_path() {
    for kind in common::server_kinds() {
        let master = start_master(kind, true, &[]);
        write_dataset(&mut master.conn(), "a");
        let replica = start_replica("on-empty-db", &[]);
        cmd_ok(&mut replica.conn(), "SET mine 1");
        replicaof(&replica, master.port);
        assert_same_data(&master, &replica);
        assert_log_in_order(
            &replica,
            0,
            &[
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
                "MASTER <-> REPLICA sync: Flushing old data",
                "MASTER <-> REPLICA sync: Loading DB in memory",
                "MASTER <-> REPLICA sync: Finished with success",
            ],
        );
        assert_eq!(rdb_files(&replica), vec!["dump.rdb".to_string()], "{} master", kind.name());
    }
}

// ---------------------------------------------------------------------------------------------
// swapdb
// ---------------------------------------------------------------------------------------------

#[test]
fn swapdb_without_shared_history_answers_loading_then_swaps_in_the_new_data() {
    for kind in common::server_kinds() {
        let what = format!("{} master", kind.name());
        // A slow transfer: 1500 keys at 1 ms each, flushed by the master as they come.
        let master = start_master(kind, true, &["--rdb-key-save-delay", "1000"]);
        write_dataset(&mut master.conn(), "a");
        write_many(&mut master.conn(), "slow:", 1500, 200);
        let replica = start_replica("swapdb", &[]);
        let mut r = replica.conn();
        cmd_ok(&mut r, "SET old 1");
        replicaof(&replica, master.port);
        wait_until(20, "the load to start", || info_num(&mut r, "loading") == 1);
        assert_eq!(info_num(&mut r, "async_loading"), 0, "{what}");
        assert_eq!(info_num(&mut r, "master_sync_in_progress"), 1, "{what}");
        assert_eq!(cmd(&mut r, "GET old"), "LOADING Redis is loading the dataset in memory", "{what}");
        assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{what}: nothing on disk during the transfer");
        cmd_ok(&mut master.conn(), "CONFIG SET rdb-key-save-delay 0");
        assert_same_data(&master, &replica);
        assert_log_in_order(
            &replica,
            0,
            &[
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser",
                "MASTER <-> REPLICA sync: Loading DB in memory",
                "Done loading RDB",
                "MASTER <-> REPLICA sync: Swapping active DB with loaded DB",
                "MASTER <-> REPLICA sync: Discarding old DB in background",
                "MASTER <-> REPLICA sync: Finished with success",
            ],
        );
        assert!(!log_of(&replica).contains("Flushing old data"), "{what}: swapdb keeps the old data until the swap");
        assert_eq!(cmd(&mut r, "GET old"), "", "{what}: the old data is gone");
        assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn swapdb_with_a_length_prefixed_payload_and_the_stream_that_follows_it() {
    for kind in common::server_kinds() {
        let master = start_master(kind, false, &[]);
        write_dataset(&mut master.conn(), "a");
        let replica = start_replica("swapdb", &[]);
        cmd_ok(&mut replica.conn(), "SET old 1");
        replicaof(&replica, master.port);
        // Writes while the sync runs follow the payload on the same socket.
        write_many(&mut master.conn(), "during:", 200, 20);
        assert_same_data(&master, &replica);
        assert_log_in_order(&replica, 0, &["bytes from master to parser", "Swapping active DB with loaded DB"]);
        assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{} master", kind.name());
    }
}

/// A replica that follows the master's history is forced into a full sync: it is stopped,
/// its link killed and the master's backlog overrun before it comes back.
fn force_full_sync_with_shared_history(master: &Server, replica: &Server) {
    let mut m = master.conn();
    cmd_ok(&mut m, "CONFIG SET repl-backlog-size 16384");
    replica.signal("-STOP");
    cmd_ok(&mut m, "CLIENT KILL TYPE replica");
    write_many(&mut m, "overrun:", 1000, 1000);
    cmd_ok(&mut m, "SET marker new");
    // Slow enough to watch: 2000+ keys at 1 ms each.
    cmd_ok(&mut m, "CONFIG SET rdb-key-save-delay 1000");
    replica.signal("-CONT");
}

#[test]
fn swapdb_async_load_serves_the_old_data_and_keeps_it_when_the_master_dies() {
    for kind in common::server_kinds() {
        let what = format!("{} master", kind.name());
        let mut master = start_master(kind, true, &[]);
        write_dataset(&mut master.conn(), "a");
        write_many(&mut master.conn(), "base:", 1000, 10);
        cmd_ok(&mut master.conn(), "SET marker old");
        let replica = start_replica("swapdb", &[]);
        replicaof(&replica, master.port);
        assert_same_data(&master, &replica);
        let before = digest(&replica);
        let from = log_of(&replica).len();

        force_full_sync_with_shared_history(&master, &replica);
        let mut r = replica.conn();
        wait_until(20, "the async load to start", || info_num(&mut r, "async_loading") == 1);
        // Clients keep reading the data we had; commands flagged no-async-loading wait.
        assert_eq!(info_num(&mut r, "loading"), 0, "{what}");
        assert_eq!(info_num(&mut r, "master_sync_in_progress"), 1, "{what}");
        assert_eq!(cmd(&mut r, "GET marker"), "old", "{what}");
        assert_eq!(cmd(&mut r, "GET a:str"), "hello", "{what}");
        assert_eq!(cmd(&mut r, "BGSAVE"), "LOADING Redis is loading the dataset in memory", "{what}");
        assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{what}: nothing on disk during the transfer");

        // The master dies mid-transfer: the load is dropped, the old data stays.
        let _ = master.child.kill();
        let _ = master.child.wait();
        wait_until(20, "the load to be abandoned", || info_num(&mut r, "async_loading") == 0);
        wait_log(&replica, from, "MASTER <-> REPLICA sync: Discarding temporary DB in background");
        assert_log_in_order(
            &replica,
            from,
            &[
                "Full resync from master",
                "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to parser",
                "MASTER <-> REPLICA sync: Loading DB in memory",
                "Failed trying to load the MASTER synchronization DB from socket",
                "MASTER <-> REPLICA sync: Discarding temporary DB in background",
            ],
        );
        assert_eq!(info_num(&mut r, "loading"), 0, "{what}");
        assert_eq!(digest(&replica), before, "{what}: the old data is intact");
        assert_eq!(cmd(&mut r, "GET marker"), "old", "{what}");
        assert_eq!(rdb_files(&replica), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn swapdb_async_load_completes_with_the_masters_data() {
    // One pairing is enough here: the swap itself is the same whatever the master.
    let master = start_master(ServerKind::Ferredis, true, &[]);
    write_dataset(&mut master.conn(), "a");
    let replica = start_replica("swapdb", &[]);
    replicaof(&replica, master.port);
    assert_same_data(&master, &replica);
    let from = log_of(&replica).len();
    force_full_sync_with_shared_history(&master, &replica);
    let mut r = replica.conn();
    wait_until(20, "the async load to start", || info_num(&mut r, "async_loading") == 1);
    cmd_ok(&mut master.conn(), "CONFIG SET rdb-key-save-delay 0");
    assert_same_data(&master, &replica);
    assert_eq!(cmd(&mut r, "GET marker"), "new");
    assert_log_in_order(
        &replica,
        from,
        &[
            "Loading DB in memory",
            "Discarding previously cached master state.",
            "MASTER <-> REPLICA sync: Swapping active DB with loaded DB",
            "MASTER <-> REPLICA sync: Finished with success",
        ],
    );
    assert_eq!(info_num(&mut r, "async_loading"), 0);
}

// ---------------------------------------------------------------------------------------------
// Broken payloads from a fake master
// ---------------------------------------------------------------------------------------------

const MARK: [u8; 40] = [b'm'; 40];

/// A minimal RDB: `k` = `v` in db 0, then the given 8 checksum bytes (zero: unchecked).
fn rdb(body: &[u8], checksum: [u8; 8]) -> Vec<u8> {
    let mut out = b"REDIS0010".to_vec();
    out.extend_from_slice(body);
    out.push(0xff);
    out.extend_from_slice(&checksum);
    out
}

const GOOD_BODY: &[u8] = b"\xfe\x00\x00\x01k\x01v";

/// `$EOF:<mark>` + payload + mark.
fn eof_framed(payload: &[u8]) -> Vec<u8> {
    let mut out = b"$EOF:".to_vec();
    out.extend_from_slice(&MARK);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(&MARK);
    out
}

fn len_framed(payload: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

/// Answers the handshake up to PSYNC with +FULLRESYNC, then sends `framed`.
fn fake_master_full_sync(listener: &TcpListener, framed: &[u8]) -> TcpStream {
    let mut s = accept_within(listener, 20);
    loop {
        let command = read_command(&mut s);
        // `*N\r\n$len\r\nNAME\r\n...`: the third line is the command's name.
        let name = String::from_utf8_lossy(&command).split("\r\n").nth(2).unwrap_or("").to_ascii_uppercase();
        if name == "PSYNC" || name == "SYNC" {
            break;
        }
        let reply: &[u8] = if name == "PING" { b"+PONG\r\n" } else { b"+OK\r\n" };
        s.write_all(reply).expect("reply");
    }
    s.write_all(format!("+FULLRESYNC {} 0\r\n", "f".repeat(40)).as_bytes()).expect("fullresync");
    s.write_all(framed).expect("payload");
    s
}

#[test]
fn broken_payloads_keep_the_old_data_and_are_logged_as_redis_logs_them() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let replica = start_replica("swapdb", &[]);
    let mut r = replica.conn();
    write_dataset(&mut r, "old");
    let before = digest(&replica);
    replicaof(&replica, port);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an unknown type byte",
            eof_framed(&rdb(b"\xfe\x00\x63\x01k\x01v", [0; 8])),
            "Unknown RDB encoding type 99. Failure loading rdb format from socket, assuming connection error, resuming operation.",
        ),
        (
            "a truncated $len payload",
            len_framed(&rdb(GOOD_BODY, [0; 8])[..10]),
            "Failed trying to load the MASTER synchronization DB from socket: Value too large for defined data type",
        ),
        (
            "a bad signature",
            eof_framed(&[b"XEDIS0010".as_slice(), GOOD_BODY, b"\xff\0\0\0\0\0\0\0\0".as_slice()].concat()),
            "Failed trying to load the MASTER synchronization DB from socket: Invalid argument",
        ),
        (
            "bytes between the RDB and the EOF mark",
            eof_framed(&[rdb(GOOD_BODY, [0; 8]).as_slice(), b"junk".as_slice()].concat()),
            "Replication stream EOF marker is broken",
        ),
    ];
    for (what, framed, line) in cases {
        let from = log_of(&replica).len();
        let _link = fake_master_full_sync(&listener, &framed);
        wait_log(&replica, from, "MASTER <-> REPLICA sync: Discarding temporary DB in background");
        assert_log_in_order(
            &replica,
            from,
            &[
                "to parser",
                "MASTER <-> REPLICA sync: Loading DB in memory",
                line,
                "Reconnecting to MASTER",
                "MASTER <-> REPLICA sync: Discarding temporary DB in background",
            ],
        );
        assert_eq!(info_num(&mut r, "loading"), 0, "{what}");
        assert_eq!(digest(&replica), before, "{what}: the old data is intact");
        assert_eq!(cmd(&mut r, "GET old:str"), "hello", "{what}");
    }
    assert_eq!(rdb_files(&replica), Vec::<String>::new());
}

#[test]
fn a_broken_payload_on_an_empty_replica_leaves_it_empty_and_a_good_one_loads() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let replica = start_replica("on-empty-db", &[]);
    replicaof(&replica, port);
    let from = log_of(&replica).len();
    let _link = fake_master_full_sync(&listener, &len_framed(&rdb(GOOD_BODY, [0; 8])[..12]));
    wait_log(&replica, from, "Failed trying to load the MASTER synchronization DB from socket");
    let mut r = replica.conn();
    wait_until(10, "the load to end", || info_num(&mut r, "loading") == 0);
    assert_eq!(cmd(&mut r, "DBSIZE"), "0");
    // The reconnection gets a good payload: on-empty-db still applies.
    let from = log_of(&replica).len();
    let _link = fake_master_full_sync(&listener, &eof_framed(&rdb(GOOD_BODY, [0; 8])));
    wait_log(&replica, from, "MASTER <-> REPLICA sync: Finished with success");
    assert_log_in_order(&replica, from, &["EOF to parser", "Flushing old data", "Loading DB in memory", "Finished with success"]);
    assert_eq!(cmd(&mut r, "GET k"), "v");
    assert_eq!(rdb_files(&replica), Vec::<String>::new());
}

/// A corrupt payload (a wrong checksum) ends the replica, on both servers: Redis 7.0's
/// rdbReportError() exits on corruption whether the payload is parsed from the socket or
/// loaded from the received file (where the RDB check runs first, rdbFileBeingLoaded
/// being set). `framed` wraps the payload as the master sends it.
fn corrupt_payload_ends_the_replica(load: &str, framed: fn(&[u8]) -> Vec<u8>, log_lines: &[&str]) {
    for kind in common::server_kinds() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut replica = Server::start(kind, &["--repl-diskless-load", load]);
        cmd_ok(&mut replica.conn(), "SET old 1");
        replicaof(&replica, port);
        let _link = fake_master_full_sync(&listener, &framed(&rdb(GOOD_BODY, [1; 8])));
        let status = replica.wait_exit(20);
        assert_eq!(status.code(), Some(1), "{}", kind.name());
        assert_log_in_order(&replica, 0, log_lines);
        assert!(
            !log_of(&replica).contains("Failed trying to load the MASTER synchronization DB"),
            "{}: a corrupt payload is not a retryable failure",
            kind.name()
        );
    }
}

#[test]
fn a_corrupt_payload_terminates_the_replica_as_it_terminates_redis() {
    corrupt_payload_ends_the_replica(
        "swapdb",
        eof_framed,
        &[
            "Loading DB in memory",
            "Wrong RDB checksum expected",
            "RDB CRC error. Failure loading rdb format",
            "Terminating server after rdb file reading failure.",
        ],
    );
}

/// The disk path too: ferredis used to retry the sync forever.
#[test]
fn a_corrupt_disk_payload_terminates_the_replica_as_it_terminates_redis() {
    corrupt_payload_ends_the_replica("disabled", len_framed, &["Loading DB in memory", "Wrong RDB checksum expected"]);
}

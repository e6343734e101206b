//! Persistence end to end: SAVE / BGSAVE / LASTSAVE, save points, the fork child being killed
//! mid-save, SHUTDOWN's final save, DEBUG RELOAD, FLUSHALL's save, MISCONF, INFO persistence.
//!
//! Each test starts its own ferredis (tests/common) in its own directory; a "restart" starts
//! a second server whose `--dir` is the first one's. Times are only ever polled with bounded
//! loops, never asserted. Where a behaviour is checked against the real redis-server 7.0.15,
//! the test runs the same steps on both.
mod common;

use common::{escape_bytes, RawConn, Server};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

use common::cmd_text as cmd;

/// One field of INFO `section`.
fn info_field(c: &mut RawConn, section: &str, name: &str) -> String {
    let info = cmd(c, &format!("INFO {section}"));
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in INFO {section}:\n{info}"))
}

/// Polls `cond` every 20 ms for at most `secs` seconds.
fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

fn wait_bgsave_done(c: &mut RawConn) {
    wait_until(20, "rdb_bgsave_in_progress:0", || info_field(c, "persistence", "rdb_bgsave_in_progress") == "0");
}

fn log_of(srv: &Server) -> String {
    std::fs::read_to_string(&srv.log).unwrap_or_default()
}

fn wait_log(srv: &Server, needle: &str) {
    wait_until(20, needle, || log_of(srv).contains(needle));
}

/// The pid in the last "Background saving started by pid N" line.
fn last_bgsave_pid(srv: &Server) -> i32 {
    let log = log_of(srv);
    log.lines()
        .filter_map(|l| l.split("Background saving started by pid ").nth(1))
        .last()
        .and_then(|pid| pid.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bgsave pid in log:\n{log}"))
}

/// A server on `dir` (a previous server's), with its own log file there too.
fn start_in(dir: &Path, extra: &[&str]) -> Server {
    static RESTARTS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = RESTARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = dir.to_str().expect("utf-8 dir");
    let log = format!("{dir}/log-restart-{n}");
    let mut args = vec!["--dir", dir, "--logfile", log.as_str()];
    args.extend_from_slice(extra);
    let mut srv = Server::start_ferredis(&args);
    srv.log = PathBuf::from(log);
    srv
}

/// Waits for a server process to exit on its own (SHUTDOWN, SIGTERM).
fn wait_exit(srv: &mut Server) {
    wait_until(10, "server exit", || matches!(srv.child.try_wait(), Ok(Some(_))));
}

fn signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started (the server or its fork child).
    unsafe { libc::kill(pid, sig) };
}

fn process_alive(pid: i32) -> bool {
    // A zombie still has /proc/<pid>; its state letter is Z.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// Xorshift: "random" moments without a dependency.
fn next_rand(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn dump_path(srv: &Server) -> PathBuf {
    srv.dir.join("dump.rdb")
}

/// redis-check-rdb (from the real Redis install) must accept the file, when it is present.
fn assert_rdb_ok(path: &Path) {
    let Ok(out) = std::process::Command::new("redis-check-rdb").arg(path).output() else { return };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.contains("RDB looks OK"), "redis-check-rdb {}:\n{text}", path.display());
}

/// Makes every save fail: dump.rdb becomes a directory, so renaming the temp file over it
/// fails. Done once start-up loading is over (a directory there would fail the load).
fn block_dump_file(srv: &Server) {
    wait_log(srv, "Ready to accept connections");
    std::fs::create_dir_all(dump_path(srv).join("block")).expect("mkdir");
}

fn fill(c: &mut RawConn, n: usize, prefix: &str) {
    let mut batch = Vec::new();
    for i in 0..n {
        batch.extend_from_slice(&common::encode_command(&[b"SET", format!("{prefix}{i}").as_bytes(), format!("value-{i}").as_bytes()]));
    }
    c.send(&batch);
    for _ in 0..n {
        let reply = c.read_reply().expect("SET reply");
        assert_eq!(reply, b"+OK\r\n");
    }
}

// ---------------------------------------------------------------------------------------------
// SAVE, LASTSAVE, restart
// ---------------------------------------------------------------------------------------------

#[test]
fn save_writes_dump_and_restart_loads_it() {
    let mut first = Server::start_ferredis(&[]);
    let mut c = first.conn();
    fill(&mut c, 100, "k");
    assert_eq!(cmd(&mut c, "SET str hello"), "OK");
    assert_eq!(info_field(&mut c, "persistence", "rdb_changes_since_last_save"), "101");
    assert_eq!(cmd(&mut c, "SAVE"), "OK");
    assert!(log_of(&first).contains("DB saved on disk"));
    assert_eq!(info_field(&mut c, "persistence", "rdb_changes_since_last_save"), "0");
    assert_eq!(info_field(&mut c, "persistence", "rdb_saves"), "1");
    assert!(dump_path(&first).exists());
    assert_rdb_ok(&dump_path(&first));
    c.send(&common::encode_command(&[b"SHUTDOWN", b"NOSAVE"]));
    c.read_closed();
    wait_exit(&mut first);
    let second = start_in(&first.dir, &[]);
    let mut c2 = second.conn();
    wait_until(10, "loading:0", || info_field(&mut c2, "persistence", "loading") == "0");
    assert_eq!(cmd(&mut c2, "DBSIZE"), "101");
    assert_eq!(cmd(&mut c2, "GET str"), "hello");
    assert_eq!(cmd(&mut c2, "GET k42"), "value-42");
}

#[test]
fn lastsave_is_the_start_time_then_the_last_save() {
    let srv = Server::start_ferredis(&[]);
    let mut c = srv.conn();
    let start: i64 = cmd(&mut c, "LASTSAVE").parse().expect("integer");
    assert_eq!(info_field(&mut c, "persistence", "rdb_last_save_time"), start.to_string());
    // LASTSAVE has a one-second resolution: wait until the clock moved past it.
    wait_until(5, "a new second", || unix_now() > start);
    assert_eq!(cmd(&mut c, "SAVE"), "OK");
    let after: i64 = cmd(&mut c, "LASTSAVE").parse().expect("integer");
    assert!(after > start, "LASTSAVE {after} after SAVE, {start} before");
}

fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

// ---------------------------------------------------------------------------------------------
// BGSAVE
// ---------------------------------------------------------------------------------------------

#[test]
fn bgsave_runs_in_a_child_and_reports_back() {
    // 20 keys with 50 ms after each: the child works for about a second.
    let srv = Server::start_ferredis(&["--rdb-key-save-delay", "50000", "--loglevel", "verbose"]);
    let mut c = srv.conn();
    fill(&mut c, 20, "k");
    let before: i64 = cmd(&mut c, "LASTSAVE").parse().expect("integer");
    wait_until(5, "a new second", || unix_now() > before);
    assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started");
    assert_eq!(info_field(&mut c, "persistence", "rdb_bgsave_in_progress"), "1");
    assert_eq!(info_field(&mut c, "persistence", "current_save_keys_total"), "20");
    assert_ne!(info_field(&mut c, "persistence", "rdb_current_bgsave_time_sec"), "-1");
    assert_eq!(info_field(&mut c, "stats", "total_forks"), "1");
    let fork_usec: u64 = info_field(&mut c, "stats", "latest_fork_usec").parse().expect("usec");
    assert!(fork_usec > 0);
    // One save at a time, whatever asks for it.
    for line in ["BGSAVE", "BGSAVE SCHEDULE", "SAVE"] {
        assert_eq!(c.cmd_str(line), b"-ERR Background save already in progress\r\n", "{line}");
    }
    // Writes during the save stay unsaved afterwards.
    assert_eq!(cmd(&mut c, "SET during save"), "OK");
    let pid = last_bgsave_pid(&srv);
    wait_bgsave_done(&mut c);
    wait_log(&srv, "Background saving terminated with success");
    let log = log_of(&srv);
    assert!(log.contains(&format!("{pid}:C ")), "the child logs with its own pid and role C:\n{log}");
    assert!(log.contains("* DB saved on disk"));
    assert!(log.contains("Fork CoW for RDB: current "));
    let after: i64 = cmd(&mut c, "LASTSAVE").parse().expect("integer");
    assert!(after > before);
    let persistence = cmd(&mut c, "INFO persistence");
    for expected in [
        "rdb_changes_since_last_save:1\r\n",
        "rdb_bgsave_in_progress:0\r\n",
        "rdb_last_bgsave_status:ok\r\n",
        "rdb_current_bgsave_time_sec:-1\r\n",
        "rdb_saves:1\r\n",
        "current_save_keys_total:0\r\n",
    ] {
        assert!(persistence.contains(expected), "{expected} in\n{persistence}");
    }
    assert_ne!(info_field(&mut c, "persistence", "rdb_last_bgsave_time_sec"), "-1");
    assert!(!srv.dir.join(format!("temp-{pid}.rdb")).exists());
    assert_rdb_ok(&dump_path(&srv));
}

#[test]
fn bgsave_inside_exec_is_scheduled_then_started_by_cron() {
    let srv = Server::start_ferredis(&[]);
    let mut c = srv.conn();
    assert_eq!(cmd(&mut c, "SET k v"), "OK");
    assert_eq!(cmd(&mut c, "MULTI"), "OK");
    assert_eq!(cmd(&mut c, "BGSAVE"), "QUEUED");
    assert_eq!(c.cmd_str("EXEC"), b"*1\r\n+Background saving scheduled\r\n");
    wait_log(&srv, "Background saving started by pid");
    wait_log(&srv, "Background saving terminated with success");
    assert_eq!(info_field(&mut c, "persistence", "rdb_saves"), "1");
    assert!(dump_path(&srv).exists());
}

#[test]
fn save_points_trigger_a_background_save() {
    let srv = Server::start_ferredis(&["--save", "1 1"]);
    let mut c = srv.conn();
    let before: i64 = cmd(&mut c, "LASTSAVE").parse().expect("integer");
    assert_eq!(cmd(&mut c, "SET k v"), "OK");
    // "1 change in 1 second": due once more than a second passed since the last save.
    wait_until(10, "LASTSAVE to advance", || cmd(&mut c, "LASTSAVE").parse::<i64>().unwrap_or(0) > before);
    wait_log(&srv, "1 changes in 1 seconds. Saving...");
    wait_log(&srv, "Background saving terminated with success");
    assert_eq!(info_field(&mut c, "persistence", "rdb_changes_since_last_save"), "0");
    assert!(dump_path(&srv).exists());
}

// ---------------------------------------------------------------------------------------------
// Killed mid-save
// ---------------------------------------------------------------------------------------------

/// 20 rounds: a BGSAVE is started and its child SIGKILLed at a random moment. The previous
/// dump.rdb stays byte-identical and valid, the temp file goes, the failure is recorded and,
/// with stop-writes-on-bgsave-error, writes are refused until a save succeeds.
#[test]
fn killing_the_child_mid_save_keeps_the_previous_dump() {
    // 400 keys at 500 µs each: the child needs at least 200 ms; it dies within 150 ms.
    let srv = Server::start_ferredis(&["--rdb-key-save-delay", "500", "--save", "3600 1"]);
    let mut c = srv.conn();
    fill(&mut c, 400, "key:");
    assert_eq!(cmd(&mut c, "SAVE"), "OK");
    let baseline = std::fs::read(dump_path(&srv)).expect("dump.rdb");
    assert_rdb_ok(&dump_path(&srv));
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(std::process::id());
    for round in 0..20 {
        assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started", "round {round}");
        let pid = last_bgsave_pid(&srv);
        thread::sleep(Duration::from_micros(next_rand(&mut rng) % 150_000));
        signal(pid, libc::SIGKILL);
        wait_bgsave_done(&mut c);
        let killed = round + 1;
        wait_until(20, "the kill to be logged", || log_of(&srv).matches("Background saving terminated by signal 9").count() == killed);
        assert_eq!(std::fs::read(dump_path(&srv)).expect("dump.rdb"), baseline, "round {round}");
        assert!(!srv.dir.join(format!("temp-{pid}.rdb")).exists(), "round {round}: temp file left");
        assert_eq!(info_field(&mut c, "persistence", "rdb_last_bgsave_status"), "err");
        let misconf = c.cmd_str("SET x y");
        assert!(misconf.starts_with(b"-MISCONF Redis is configured to save RDB snapshots"), "{}", escape_bytes(&misconf));
        assert_eq!(cmd(&mut c, "GET key:1"), "value-1", "reads still work");
    }
    assert_rdb_ok(&dump_path(&srv));
    // A successful save lifts the write ban.
    assert_eq!(cmd(&mut c, "SAVE"), "OK");
    assert_eq!(cmd(&mut c, "SET x y"), "OK");
}

/// The whole server and its child SIGKILLed at a random moment of a BGSAVE (a crash): the
/// previous dump.rdb is untouched and a restarted server loads it.
#[test]
fn killing_the_server_mid_bgsave_keeps_the_previous_dump() {
    let mut rng = 0x2545_F491_4F6C_DD1Du64 ^ u64::from(std::process::id());
    let first = Server::start_ferredis(&["--rdb-key-save-delay", "500"]);
    let dir = first.dir.clone();
    let mut c = first.conn();
    fill(&mut c, 400, "key:");
    assert_eq!(cmd(&mut c, "SAVE"), "OK");
    let baseline = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
    // Every server of the test, the first (which owns and finally removes `dir`) last.
    let mut servers = vec![first];
    for round in 0..5 {
        let srv = servers.last_mut().expect("a server");
        assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started", "round {round}");
        let child = last_bgsave_pid(srv);
        thread::sleep(Duration::from_micros(next_rand(&mut rng) % 150_000));
        signal(srv.child.id() as i32, libc::SIGKILL);
        signal(child, libc::SIGKILL);
        let _ = srv.child.wait();
        wait_until(10, "child gone", || !process_alive(child));
        assert_eq!(std::fs::read(dir.join("dump.rdb")).expect("dump.rdb"), baseline, "round {round}");
        assert_rdb_ok(&dir.join("dump.rdb"));
        servers.push(start_in(&dir, &["--rdb-key-save-delay", "500"]));
        c = servers.last().expect("restarted").conn();
        wait_until(10, "loading:0", || info_field(&mut c, "persistence", "loading") == "0");
        assert_eq!(cmd(&mut c, "DBSIZE"), "400", "round {round}");
    }
    servers.reverse();
}

// ---------------------------------------------------------------------------------------------
// SHUTDOWN, SIGTERM, FLUSHALL, DEBUG RELOAD
// ---------------------------------------------------------------------------------------------

#[test]
fn shutdown_saves_when_save_points_are_set() {
    let mut first = Server::start_ferredis(&["--save", "3600 1"]);
    let mut c = first.conn();
    assert_eq!(cmd(&mut c, "SET k v"), "OK");
    c.send(&common::encode_command(&[b"SHUTDOWN"]));
    c.read_closed();
    wait_exit(&mut first);
    let log = log_of(&first);
    assert!(log.contains("Saving the final RDB snapshot before exiting."), "{log}");
    assert!(log.contains("DB saved on disk"));
    assert_rdb_ok(&dump_path(&first));
    let second = start_in(&first.dir, &[]);
    let mut c2 = second.conn();
    wait_until(10, "loading:0", || info_field(&mut c2, "persistence", "loading") == "0");
    assert_eq!(cmd(&mut c2, "GET k"), "v");
}

#[test]
fn shutdown_nosave_and_no_save_points_do_not_save() {
    for (args, line) in [(&["--save", "3600 1"][..], "SHUTDOWN NOSAVE"), (&[][..], "SHUTDOWN")] {
        let mut srv = Server::start_ferredis(args);
        let mut c = srv.conn();
        assert_eq!(cmd(&mut c, "SET k v"), "OK");
        c.send(&common::encode_command(&line.split(' ').map(str::as_bytes).collect::<Vec<_>>()));
        c.read_closed();
        wait_exit(&mut srv);
        assert!(!dump_path(&srv).exists(), "{line} saved");
        assert!(!log_of(&srv).contains("Saving the final RDB snapshot"));
    }
}

#[test]
fn shutdown_save_forces_a_save_and_kills_a_running_child() {
    let mut srv = Server::start_ferredis(&["--rdb-key-save-delay", "100000"]);
    let mut c = srv.conn();
    fill(&mut c, 50, "k");
    assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started");
    let child = last_bgsave_pid(&srv);
    assert_eq!(cmd(&mut c, "CONFIG SET rdb-key-save-delay 0"), "OK");
    c.send(&common::encode_command(&[b"SHUTDOWN", b"SAVE"]));
    c.read_closed();
    wait_exit(&mut srv);
    let log = log_of(&srv);
    assert!(log.contains("There is a child saving an .rdb. Killing it!"), "{log}");
    assert!(log.contains("Saving the final RDB snapshot before exiting."));
    wait_until(10, "child gone", || !process_alive(child));
    assert!(!srv.dir.join(format!("temp-{child}.rdb")).exists());
    assert_rdb_ok(&dump_path(&srv));
}

#[test]
fn sigterm_saves_with_save_points() {
    let mut srv = Server::start_ferredis(&["--save", "3600 1"]);
    let mut c = srv.conn();
    assert_eq!(cmd(&mut c, "SET k v"), "OK");
    signal(srv.child.id() as i32, libc::SIGTERM);
    wait_exit(&mut srv);
    let log = log_of(&srv);
    assert!(log.contains("Received SIGTERM scheduling shutdown..."), "{log}");
    assert!(log.contains("Saving the final RDB snapshot before exiting."));
    assert_rdb_ok(&dump_path(&srv));
}

#[test]
fn failed_final_save_refuses_to_exit_unless_forced() {
    let srv = Server::start_ferredis(&["--save", "3600 1"]);
    block_dump_file(&srv);
    let mut c = srv.conn();
    assert_eq!(c.cmd_str("SHUTDOWN"), b"-ERR Errors trying to SHUTDOWN. Check logs.\r\n");
    let log = log_of(&srv);
    assert!(log.contains("Error trying to save the DB, can't exit."), "{log}");
    assert!(log.contains("Errors trying to shut down the server. Check the logs for more information."));
    assert_eq!(cmd(&mut c, "PING"), "PONG");
    c.send(&common::encode_command(&[b"SHUTDOWN", b"FORCE"]));
    c.read_closed();
    wait_log(&srv, "Error trying to save the DB. Exit anyway.");
}

#[test]
fn flushall_with_save_points_saves_the_empty_dataset() {
    let srv = Server::start_ferredis(&["--save", "3600 1"]);
    let mut c = srv.conn();
    fill(&mut c, 10, "k");
    assert_eq!(cmd(&mut c, "FLUSHALL"), "OK");
    assert!(log_of(&srv).contains("DB saved on disk"));
    assert_eq!(info_field(&mut c, "persistence", "rdb_changes_since_last_save"), "0");
    assert_rdb_ok(&dump_path(&srv));
    // Without save points nothing is written and the removed keys count as changes.
    let plain = Server::start_ferredis(&[]);
    let mut p = plain.conn();
    fill(&mut p, 3, "k");
    assert_eq!(cmd(&mut p, "FLUSHALL"), "OK");
    assert_eq!(info_field(&mut p, "persistence", "rdb_changes_since_last_save"), "6");
    assert!(!dump_path(&plain).exists());
}

#[test]
fn debug_reload_keeps_the_data() {
    let srv = Server::start_ferredis(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    fill(&mut c, 50, "k");
    assert_eq!(cmd(&mut c, "EXPIRE k1 1000"), "1");
    let digest = cmd(&mut c, "DEBUG DIGEST");
    assert_eq!(cmd(&mut c, "DEBUG RELOAD"), "OK");
    assert_eq!(cmd(&mut c, "DEBUG DIGEST"), digest);
    assert_eq!(cmd(&mut c, "DBSIZE"), "50");
    assert!(log_of(&srv).contains("DB reloaded by DEBUG RELOAD"));
    // NOSAVE replaces the dataset with the file's.
    assert_eq!(cmd(&mut c, "SET extra 1"), "OK");
    assert_eq!(cmd(&mut c, "DEBUG RELOAD NOSAVE"), "OK");
    assert_eq!(cmd(&mut c, "EXISTS extra"), "0");
    // NOSAVE NOFLUSH MERGE adds the file's keys to what is there.
    assert_eq!(cmd(&mut c, "SET extra 1"), "OK");
    assert_eq!(cmd(&mut c, "DEBUG RELOAD NOSAVE NOFLUSH MERGE"), "OK");
    assert_eq!(cmd(&mut c, "DBSIZE"), "51");
}

// ---------------------------------------------------------------------------------------------
// Against the real server
// ---------------------------------------------------------------------------------------------

/// A failed BGSAVE (dump.rdb is a directory, so the rename fails): the same replies as
/// redis-server 7.0.15, MISCONF included, until a save succeeds again.
#[test]
fn failed_bgsave_gives_misconf_like_redis() {
    if !common::require_redis() {
        return;
    }
    let mut transcripts = Vec::new();
    for kind in [common::ServerKind::Redis, common::ServerKind::Ferredis] {
        let srv = Server::start(kind, &["--save", "3600 1"]);
        block_dump_file(&srv);
        let mut c = srv.conn();
        let mut out = Vec::new();
        out.push(c.cmd_str("SET k v"));
        out.push(c.cmd_str("BGSAVE"));
        wait_log(&srv, "Background saving error");
        wait_bgsave_done(&mut c);
        for line in ["SET k v2", "PING", "GET k", "INCR n", "DEL k", "MULTI", "SET a b", "EXEC", "SAVE"] {
            out.push(c.cmd_str(line));
        }
        out.push(info_field(&mut c, "persistence", "rdb_last_bgsave_status").into_bytes());
        std::fs::remove_dir_all(dump_path(&srv)).expect("rmdir");
        out.push(c.cmd_str("SAVE"));
        out.push(c.cmd_str("SET k v3"));
        out.push(c.cmd_str("PING"));
        transcripts.push(out.iter().map(|r| escape_bytes(r)).collect::<Vec<_>>());
    }
    assert_eq!(transcripts[1], transcripts[0], "ferredis (right) vs redis (left)");
    assert!(transcripts[0].iter().any(|r| r.starts_with("\"-MISCONF")));
}

/// INFO persistence lists the same fields, in the same order, as redis-server 7.0.15.
#[test]
fn info_persistence_fields_match_redis() {
    if !common::require_redis() {
        return;
    }
    let names = |kind| {
        let srv = Server::start(kind, &[]);
        let mut c = srv.conn();
        let info = cmd(&mut c, "INFO persistence");
        info.lines().filter_map(|l| l.split_once(':').map(|(k, _)| k.to_string())).collect::<Vec<_>>()
    };
    assert_eq!(names(common::ServerKind::Ferredis), names(common::ServerKind::Redis));
}

/// Not a check: prints how long fork() takes for a dataset (`cargo test -- --nocapture`).
#[test]
fn fork_time_for_a_populated_dataset() {
    let srv = Server::start_ferredis(&["--enable-debug-command", "yes"]);
    let mut c = srv.conn();
    assert_eq!(cmd(&mut c, "DEBUG POPULATE 200000 key 100"), "OK");
    let used = info_field(&mut c, "memory", "used_memory_human");
    assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started");
    let fork_usec = info_field(&mut c, "stats", "latest_fork_usec");
    wait_bgsave_done(&mut c);
    wait_log(&srv, "Background saving terminated with success");
    println!("fork of a {used} dataset (200000 keys): {fork_usec} µs");
}

// ---------------------------------------------------------------------------------------------
// A corrupt dump at start-up: the loader's line, then redis-check-rdb's report (Redis:
// rdbReportError() -> redis_check_rdb_main()), compared line by line with redis-server 7.0.15
// ---------------------------------------------------------------------------------------------

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/rdb/redis-7.0.15-{name}.rdb", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs `program` on `bytes` as dump.rdb, logging to stdout (`logfile ""`, where Redis's
/// checker writes its report too), until it exits (20 s at most): its exit code and stdout.
fn run_on_corrupt_dump(program: &str, tag: &str, bytes: &[u8]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("ferredis-corrupt-{tag}-{}-{}", std::process::id(), program.len()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("dump.rdb"), bytes).expect("write dump");
    let port = common::free_port().to_string();
    let dir_arg = dir.to_str().expect("utf-8 dir");
    let mut child = std::process::Command::new(program)
        .args(["--port", &port, "--save", "", "--appendonly", "no", "--dir", dir_arg, "--logfile", ""])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{program} still running on the corrupt dump {tag}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    assert_eq!(std::fs::read(dir.join("dump.rdb")).expect("dump"), bytes, "{tag}: the file is left as it was");
    let _ = std::fs::remove_dir_all(&dir);
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// From the first loading line on, without the "pid:role date time " prefixes and the
/// lines that depend on the clock or on the start-up banner.
fn load_failure_lines(out: &str) -> Vec<String> {
    let strip = |line: &str| -> String {
        let mut parts = line.splitn(6, ' ');
        let head = parts.next().unwrap_or("");
        let logged = head.ends_with(":M") || head.ends_with(":C");
        if !logged {
            return line.to_string();
        }
        parts.nth(3); // day, month, year, time
        parts.next().unwrap_or("").to_string()
    };
    out.lines()
        .map(strip)
        .skip_while(|l| !l.contains("Loading RDB produced by version"))
        .filter(|l| !l.contains("RDB age "))
        .collect()
}

#[test]
fn corrupt_dump_at_startup_prints_the_check_rdb_report_like_redis() {
    if !common::require_redis() {
        return;
    }
    let mini = fixture("mini");
    let all_types = fixture("all-types");
    // A byte of the list `l`'s listpack that only a deep check sees (loading checks
    // listpack headers only, so the checksum fails first), a listpack header that is wrong
    // (the loader stops there), a truncation and a wrong checksum.
    let mut deep_only = mini.clone();
    deep_only[0x8e] = 0xf6;
    let mut bad_header = mini.clone();
    bad_header[0x88] ^= 0x40;
    let mut bad_crc = all_types.clone();
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 0xff;
    let cases: [(&str, &[u8], &str); 4] = [
        ("deep-only", &deep_only, "[offset 148] Internal error in RDB reading offset 0, function at rdb.c:2071 -> Listpack integrity check failed."),
        ("bad-header", &bad_header, "# Internal error in RDB reading offset 0, function at rdb.c:2071 -> Listpack integrity check failed."),
        ("truncated", &all_types[..20000], "[offset 19878] Unexpected EOF reading RDB file"),
        ("bad-crc", &bad_crc, "[offset 28040] RDB CRC error"),
    ];
    for (tag, bytes, expected) in cases {
        let (redis_status, redis_out) = run_on_corrupt_dump("redis-server", tag, bytes);
        let (status, out) = run_on_corrupt_dump(common::FERREDIS_BIN, tag, bytes);
        let (redis_lines, lines) = (load_failure_lines(&redis_out), load_failure_lines(&out));
        assert_eq!(lines, redis_lines, "{tag}: ferredis (left) vs redis-server (right)\n{out}\n---\n{redis_out}");
        assert_eq!(status, redis_status, "{tag}: exit status");
        assert_eq!(status, Some(1), "{tag}");
        assert!(lines.iter().any(|l| l == expected), "{tag}: {expected:?} in\n{out}");
        assert!(lines.iter().any(|l| l == "--- RDB ERROR DETECTED ---"), "{tag}\n{out}");
        assert!(lines.iter().any(|l| l.starts_with("[offset 0] Checking RDB file dump.rdb")), "{tag}\n{out}");
        assert!(!out.contains("panicked"), "{tag}\n{out}");
    }
}

// ---------------------------------------------------------------------------------------------
// The BGSAVE child's process title
// ---------------------------------------------------------------------------------------------

/// A BGSAVE slowed down by rdb-key-save-delay: the child is named "ferredis-bgsave" for the
/// kernel (`comm`, what top and `ps -o comm` show). Redis 7.0.15 leaves its child's `comm`
/// at "redis-server" and rewrites its command line to "redis-rdb-bgsave *:<port>"; when the
/// kernel lets ferredis's child rewrite its command line too (CAP_SYS_RESOURCE), it reads
/// "ferredis-rdb-bgsave *:<port>", which `pgrep -f redis-rdb-bgsave` still matches.
#[test]
fn bgsave_child_has_a_process_title() {
    let srv = Server::start_ferredis(&["--enable-debug-command", "yes", "--rdb-key-save-delay", "100000"]);
    let mut c = srv.conn();
    assert_eq!(cmd(&mut c, "DEBUG POPULATE 100"), "OK");
    assert_eq!(cmd(&mut c, "BGSAVE"), "Background saving started");
    wait_log(&srv, "Background saving started by pid");
    let child = last_bgsave_pid(&srv);
    // The parent logs the pid before the child has named itself: poll.
    common::wait_until(10, "the child's comm", || {
        std::fs::read_to_string(format!("/proc/{child}/comm")).is_ok_and(|comm| comm == "ferredis-bgsave\n")
    });
    let cmdline = std::fs::read(format!("/proc/{child}/cmdline")).expect("cmdline");
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !cmdline.contains(common::FERREDIS_BIN) {
        assert_eq!(cmdline, format!("ferredis-rdb-bgsave *:{}\0", srv.port));
    }
    let parent = std::fs::read_to_string(format!("/proc/{}/comm", srv.child.id())).expect("parent comm");
    assert_eq!(parent, "ferredis-server\n", "the parent keeps its name");
    signal(child, libc::SIGUSR1);
    wait_bgsave_done(&mut c);
}

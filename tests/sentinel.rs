//! The real Redis Sentinel 7.0.15 monitoring a ferredis master: Sentinel must see a healthy
//! master (flags "master", a recent INFO, role-reported master, ferredis's run id), ferredis
//! must see Sentinel's two named connections and its hello channel, and Sentinel's hello
//! messages must reach a ferredis subscriber.
//!
//! Waits are bounded polling loops: a check fails only when its condition never held within
//! a generous deadline, never because something took a little longer than usual.
//!
//! Peer: `redis-sentinel` (Debian package redis-sentinel, installed by
//! scripts/install-peers.sh). Under `CI=true` a missing binary is a failure; elsewhere the test
//! falls back to `redis-server <conf> --sentinel`, or prints a SKIP line.
mod common;

use common::{free_port, sentinel_program, RawConn, Server};
use redis::Value;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use std::process::Child;
use std::thread;
use std::time::{Duration, Instant};

/// Far above anything a healthy run needs (Sentinel sends INFO every 10 s, hello every 2 s).
const DEADLINE: Duration = Duration::from_secs(60);

/// A Sentinel child process with its own directory; killed and removed on Drop (its log is
/// printed first when the test is failing).
struct Sentinel {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Sentinel {
    fn start(program: &str, needs_flag: bool, master_port: u16) -> Sentinel {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ferredis-test-sentinel-{}-{port}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        let conf = dir.join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\nlogfile {dir}/sentinel.log\n\
             sentinel monitor m 127.0.0.1 {master_port} 1\n\
             sentinel down-after-milliseconds m 1000\nsentinel failover-timeout m 60000\n",
            dir = dir.display()
        );
        fs::write(&conf, text).unwrap_or_else(|e| panic!("write {}: {e}", conf.display()));
        let child = common::spawn_sentinel(program, needs_flag, &conf);
        let sentinel = Sentinel { child, port, dir };
        sentinel.wait_until_accepting();
        sentinel
    }

    fn wait_until_accepting(&self) {
        let deadline = Instant::now() + DEADLINE;
        while RawConn::try_connect(self.port).is_err() {
            assert!(Instant::now() < deadline, "sentinel never accepted connections on {}", self.port);
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("sentinel.log")).unwrap_or_default()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("--- sentinel log ---\n{}", self.log());
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn cmd(conn: &mut RawConn, args: &[&str]) -> Value {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let bytes = conn.cmd(&args);
    redis::parse_redis_value(&bytes).unwrap_or_else(|e| panic!("parse {bytes:?}: {e}"))
}

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}

/// SENTINEL MASTER's flat [field, value, ...] reply as a map.
fn sentinel_master(conn: &mut RawConn) -> HashMap<String, String> {
    match cmd(conn, &["SENTINEL", "MASTER", "m"]) {
        Value::Array(items) => items.chunks(2).filter_map(|kv| Some((text(kv.first()?), text(kv.get(1)?)))).collect(),
        other => panic!("SENTINEL MASTER m: {other:?}"),
    }
}

/// Polls `probe` until it returns Some, or panics with `what` and the last observation.
fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(last) if Instant::now() >= deadline => panic!("{what} never happened; last seen: {last}"),
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn info_field(conn: &mut RawConn, section: &str, field: &str) -> String {
    let info = text(&cmd(conn, &["INFO", section]));
    let prefix = format!("{field}:");
    info.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map(|v| v.trim().to_string()).unwrap_or_default()
}

#[test]
fn sentinel_monitors_a_ferredis_master() {
    let Some((program, needs_flag)) = sentinel_program("sentinel") else { return };
    let master = Server::start_ferredis(&[]);
    let mut fr = master.conn();
    let run_id = info_field(&mut fr, "server", "run_id");
    assert_eq!(run_id.len(), 40, "INFO run_id");
    let sentinel = Sentinel::start(program, needs_flag, master.port);
    let mut sc = RawConn::connect(sentinel.port);
    let myid = text(&cmd(&mut sc, &["SENTINEL", "MYID"]));
    assert_eq!(myid.len(), 40, "SENTINEL MYID");

    // Sentinel's view: a healthy master whose INFO it parsed recently.
    wait_for("SENTINEL MASTER m healthy", || {
        let m = sentinel_master(&mut sc);
        let refresh: i64 = m.get("info-refresh").and_then(|v| v.parse().ok()).unwrap_or(i64::MAX);
        let healthy = m.get("flags").map(String::as_str) == Some("master")
            && m.get("role-reported").map(String::as_str) == Some("master")
            && m.get("runid") == Some(&run_id)
            && (0..=12_000).contains(&refresh);
        if healthy { Ok(()) } else { Err(format!("{m:?}")) }
    });

    // ferredis's view: the two named links and the subscribed hello channel.
    let id8 = &myid[..8];
    let (cmd_name, pubsub_name) = (format!("name=sentinel-{id8}-cmd "), format!("name=sentinel-{id8}-pubsub "));
    wait_for("sentinel's links in CLIENT LIST", || {
        let list = text(&cmd(&mut fr, &["CLIENT", "LIST"]));
        let seen = list.contains(&cmd_name) && list.contains(&pubsub_name);
        if seen { Ok(()) } else { Err(list) }
    });
    let channels = cmd(&mut fr, &["PUBSUB", "CHANNELS"]);
    assert_eq!(channels, Value::Array(vec![Value::BulkString(b"__sentinel__:hello".to_vec())]));

    // Sentinel's hello, published through ferredis to any subscriber.
    let mut sub = master.conn();
    let confirm = cmd(&mut sub, &["SUBSCRIBE", "__sentinel__:hello"]);
    assert!(matches!(&confirm, Value::Array(v) if v.first().map(text).as_deref() == Some("subscribe")), "{confirm:?}");
    let expected = format!("127.0.0.1,{},{myid},0,m,127.0.0.1,{},0", sentinel.port, master.port);
    sub.set_timeout(Duration::from_secs(5));
    let hello = wait_for("a sentinel hello message", || {
        let bytes = sub.read_reply().map_err(|e| e.to_string())?;
        match redis::parse_redis_value(&bytes) {
            Ok(Value::Array(parts)) if parts.len() == 3 && text(&parts[0]) == "message" => Ok(text(&parts[2])),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(hello, expected);
}

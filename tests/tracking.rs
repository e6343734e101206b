//! Client-side caching scenarios the differential scripts cannot express, run on the
//! ferredis-server binary and (when it is on PATH) on the real redis-server 7.0.15 with the
//! same expectations: REDIRECT (its argument is a client id, and the two servers number
//! clients differently), a redirection target that goes away, the tracking flags and
//! `redir=` of CLIENT LIST / CLIENT INFO, tracking-table-max-keys evicting keys with
//! invalidations, and the INFO counters, including the cleanup when a client closes.
mod common;

use common::{require_redis, RawConn, Server, ServerKind};
use std::thread;
use std::time::{Duration, Instant};

fn kinds() -> Vec<ServerKind> {
    match require_redis() {
        true => vec![ServerKind::Ferredis, ServerKind::Redis],
        false => vec![ServerKind::Ferredis],
    }
}

fn read(c: &mut RawConn) -> Vec<u8> {
    c.read_reply().unwrap_or_else(|e| panic!("reading a reply: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn client_id(c: &mut RawConn) -> u64 {
    let reply = text(&c.cmd_str("CLIENT ID"));
    reply.trim_start_matches(':').trim_end().parse().unwrap_or_else(|_| panic!("CLIENT ID said {reply}"))
}

/// HELLO 3, whose reply (a map holding the id) is only checked for its type.
fn resp3(c: &mut RawConn) {
    assert!(c.cmd_str("HELLO 3").starts_with(b"%7"));
}

/// `>2 invalidate <payload>` as a RESP3 client receives it.
fn push(payload: &str) -> Vec<u8> {
    format!(">2\r\n$10\r\ninvalidate\r\n{payload}").into_bytes()
}

/// The payload naming one key.
fn keys1(key: &str) -> String {
    format!("*1\r\n${}\r\n{key}\r\n", key.len())
}

/// `*3 message __redis__:invalidate <payload>` as a RESP2 subscriber receives it.
fn message(payload: &str) -> Vec<u8> {
    format!("*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n{payload}").into_bytes()
}

/// The value of `field=` in a CLIENT INFO / CLIENT LIST line.
fn info_field(line: &str, field: &str) -> String {
    let prefix = format!("{field}=");
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field}= in {line}"))
        .to_string()
}

/// The value of `name:` in INFO.
fn info_value(c: &mut RawConn, name: &str) -> String {
    let info = text(&c.cmd_str("INFO"));
    let prefix = format!("{name}:");
    info.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in INFO"))
        .to_string()
}

/// Polls `cond` for up to 2 s (a closed connection is freed on the server's next turn).
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn redirect_to_a_resp2_subscriber_sends_pubsub_messages() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut sub, mut tracker, mut writer) = (server.conn(), server.conn(), server.conn());
        let sub_id = client_id(&mut sub);
        sub.cmd_str("SUBSCRIBE __redis__:invalidate");
        let on = format!("CLIENT TRACKING on REDIRECT {sub_id}");
        assert_eq!(tracker.cmd_str(&on), b"+OK\r\n", "{}", kind.name());
        assert_eq!(tracker.cmd_str("CLIENT GETREDIR"), format!(":{sub_id}\r\n").into_bytes());
        tracker.cmd_str("GET r");
        // The tracking client's own write (it is RESP2: the message goes to the target).
        assert_eq!(tracker.cmd_str("SET r 1"), b"+OK\r\n");
        assert_eq!(read(&mut sub), message(&keys1("r")), "{}", kind.name());
        tracker.cmd_str("GET r");
        writer.cmd_str("SET r 2");
        assert_eq!(read(&mut sub), message(&keys1("r")));
        // A flush: a null in the tracking client's RESP version.
        writer.cmd_str("FLUSHDB");
        assert_eq!(read(&mut sub), message("$-1\r\n"), "{}", kind.name());
        assert_eq!(sub.cmd_str("PING"), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", "nothing else arrived");
    }
}

#[test]
fn redirect_target_whose_command_runs_hears_before_its_reply() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut target, mut tracker) = (server.conn(), server.conn());
        resp3(&mut target);
        let target_id = client_id(&mut target);
        tracker.cmd_str(&format!("CLIENT TRACKING on REDIRECT {target_id}"));
        tracker.cmd_str("GET s");
        assert_eq!(target.cmd_str("SET s 1"), push(&keys1("s")), "{}", kind.name());
        assert_eq!(read(&mut target), b"+OK\r\n", "{}", kind.name());
    }
}

#[test]
fn resp2_redirect_target_outside_pubsub_gets_nothing() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut target, mut tracker) = (server.conn(), server.conn());
        let target_id = client_id(&mut target);
        tracker.cmd_str(&format!("CLIENT TRACKING on REDIRECT {target_id}"));
        tracker.cmd_str("GET t");
        tracker.cmd_str("SET t 1");
        assert_eq!(target.cmd_str("PING"), b"+PONG\r\n", "{}", kind.name());
    }
}

#[test]
fn redirect_target_that_disconnects_breaks_the_redirection() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut gone, mut tracker2, mut tracker3, mut ctl) = (server.conn(), server.conn(), server.conn(), server.conn());
        let gone_id = client_id(&mut gone);
        resp3(&mut tracker3);
        for tracker in [&mut tracker2, &mut tracker3] {
            assert_eq!(tracker.cmd_str(&format!("CLIENT TRACKING on REDIRECT {gone_id}")), b"+OK\r\n");
            tracker.cmd_str("GET v");
        }
        drop(gone);
        wait_for("the target to be freed", || ctl.cmd_str(&format!("CLIENT LIST ID {gone_id}")) == b"$0\r\n\r\n");
        // RESP2 tracking client: silently marked broken. The RESP3 one, whose entry for v
        // the write also reaches, is told with a push.
        assert_eq!(tracker2.cmd_str("SET v 1"), b"+OK\r\n");
        let broken = format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{gone_id}\r\n").into_bytes();
        assert_eq!(read(&mut tracker3), broken, "{}", kind.name());
        let info = text(&tracker2.cmd_str("CLIENT INFO"));
        assert_eq!(info_field(&info, "flags"), "tR", "{}", kind.name());
        assert_eq!(info_field(&info, "redir"), gone_id.to_string());
        let expected = format!("*6\r\n$5\r\nflags\r\n*2\r\n$2\r\non\r\n$15\r\nbroken_redirect\r\n$8\r\nredirect\r\n:{gone_id}\r\n$8\r\nprefixes\r\n*0\r\n");
        assert_eq!(text(&tracker2.cmd_str("CLIENT TRACKINGINFO")), expected, "{}", kind.name());
        // Every later invalidation is replaced by the same notice.
        assert_eq!(tracker3.cmd_str("GET w"), b"_\r\n");
        ctl.cmd_str("SET w 1");
        assert_eq!(read(&mut tracker3), broken, "{}", kind.name());
        let info = text(&tracker3.cmd_str("CLIENT INFO"));
        assert_eq!(info_field(&info, "flags"), "tR", "{}", kind.name());
        let again = format!("CLIENT TRACKING on REDIRECT {gone_id}");
        assert_eq!(tracker3.cmd_str(&again), b"-ERR The client ID you want redirect to does not exist\r\n");
    }
}

#[test]
fn client_list_shows_tracking_flags_and_redirection() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut a, mut b) = (server.conn(), server.conn());
        let b_id = client_id(&mut b);
        let flags_and_redir = |c: &mut RawConn| {
            let line = text(&c.cmd_str("CLIENT INFO"));
            (info_field(&line, "flags"), info_field(&line, "redir"))
        };
        assert_eq!(flags_and_redir(&mut a), ("N".to_string(), "-1".to_string()), "{}", kind.name());
        a.cmd_str("CLIENT TRACKING on");
        assert_eq!(flags_and_redir(&mut a), ("t".to_string(), "0".to_string()), "{}", kind.name());
        a.cmd_str(&format!("CLIENT TRACKING on REDIRECT {b_id}"));
        assert_eq!(flags_and_redir(&mut a), ("t".to_string(), b_id.to_string()));
        a.cmd_str("CLIENT TRACKING off");
        a.cmd_str("CLIENT TRACKING on BCAST PREFIX p");
        assert_eq!(flags_and_redir(&mut a), ("tB".to_string(), "0".to_string()), "{}", kind.name());
        let list = text(&b.cmd_str("CLIENT LIST"));
        let a_line = list.lines().filter(|l| l.starts_with("id=")).find(|l| info_field(l, "flags") == "tB").expect("a in CLIENT LIST");
        assert_eq!(info_field(a_line, "redir"), "0");
        a.cmd_str("CLIENT TRACKING off");
        assert_eq!(flags_and_redir(&mut a), ("N".to_string(), "-1".to_string()));
    }
}

/// Reads `n` invalidation pushes of one key each; returns the keys.
fn read_invalidated_keys(c: &mut RawConn, n: usize, kind: ServerKind) -> Vec<String> {
    let mut keys = Vec::new();
    for _ in 0..n {
        let reply = text(&read(c));
        let key = reply.rsplit("\r\n").nth(1).unwrap_or_default().to_string();
        assert_eq!(reply.as_bytes(), push(&keys1(&key)).as_slice(), "{}", kind.name());
        keys.push(key);
    }
    keys.sort();
    keys.dedup();
    keys
}

#[test]
fn tracking_table_max_keys_evicts_with_invalidations() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut a, mut ctl) = (server.conn(), server.conn());
        resp3(&mut a);
        a.cmd_str("CLIENT TRACKING on");
        a.cmd_str("MGET k1 k2 k3 k4 k5");
        assert_eq!(info_value(&mut ctl, "tracking_total_keys"), "5");
        // The limit applies before the next command runs: its invalidations come first.
        ctl.cmd_str("CONFIG SET tracking-table-max-keys 2");
        let first = a.cmd_str("PING");
        let mut keys = vec![text(&first)];
        keys.extend((0..3).map(|_| text(&read(&mut a))));
        let pong = keys.pop().unwrap_or_default();
        // Either the cron or PING's processCommand evicted: both send before +PONG.
        assert_eq!(pong, "+PONG\r\n", "{}", kind.name());
        let mut evicted: Vec<String> = keys.iter().map(|r| r.rsplit("\r\n").nth(1).unwrap_or_default().to_string()).collect();
        for (reply, key) in keys.iter().zip(&evicted) {
            assert_eq!(reply.as_bytes(), push(&keys1(key)).as_slice(), "{}", kind.name());
        }
        evicted.sort();
        evicted.dedup();
        assert_eq!(evicted.len(), 3, "{}: {evicted:?}", kind.name());
        assert_eq!(info_value(&mut ctl, "tracking_total_keys"), "2");
        assert_eq!(info_value(&mut ctl, "tracking_total_items"), "2");
    }
}

#[test]
fn tracking_table_limit_applies_while_idle() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut a, mut ctl) = (server.conn(), server.conn());
        resp3(&mut a);
        a.cmd_str("CLIENT TRACKING on");
        a.cmd_str("MGET x y z");
        ctl.cmd_str("CONFIG SET tracking-table-max-keys 1");
        // serverCron trims the table without a command from `a`.
        let evicted = read_invalidated_keys(&mut a, 2, kind);
        assert_eq!(evicted.len(), 2, "{}", kind.name());
        assert!(evicted.iter().all(|k| ["x", "y", "z"].contains(&k.as_str())));
        assert_eq!(info_value(&mut ctl, "tracking_total_keys"), "1");
    }
}

#[test]
fn info_counts_and_cleanup_on_close() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let (mut a, mut b, mut ctl) = (server.conn(), server.conn(), server.conn());
        assert_eq!(info_value(&mut ctl, "tracking_clients"), "0");
        a.cmd_str("CLIENT TRACKING on BCAST PREFIX p PREFIX q");
        b.cmd_str("CLIENT TRACKING on");
        b.cmd_str("MGET x y x");
        ctl.cmd_str("CLIENT TRACKING on");
        ctl.cmd_str("GET x");
        let counts = |c: &mut RawConn| {
            ["tracking_clients", "tracking_total_keys", "tracking_total_items", "tracking_total_prefixes"]
                .map(|name| info_value(c, name))
        };
        assert_eq!(counts(&mut ctl), ["3", "2", "3", "2"].map(String::from), "{}", kind.name());
        drop(a);
        wait_for("the BCAST client to be freed", || info_value(&mut ctl, "tracking_clients") == "2");
        assert_eq!(info_value(&mut ctl, "tracking_total_prefixes"), "0", "{}", kind.name());
        // Ids of closed clients stay in the table until their keys change.
        drop(b);
        wait_for("the second client to be freed", || info_value(&mut ctl, "tracking_clients") == "1");
        assert_eq!(counts(&mut ctl), ["1", "2", "3", "0"].map(String::from), "{}", kind.name());
        ctl.cmd_str("CLIENT TRACKING off");
        ctl.cmd_str("SET x 1");
        assert_eq!(counts(&mut ctl), ["0", "1", "1", "0"].map(String::from), "{}", kind.name());
        ctl.cmd_str("FLUSHALL");
        assert_eq!(info_value(&mut ctl, "tracking_total_items"), "0");
    }
}

#[test]
fn redis_crate_resp2_client_sees_plain_replies_while_tracking() {
    for kind in kinds() {
        let server = Server::start(kind, &[]);
        let mut con = common::redis_crate_client(server.port);
        let ok: String = redis::cmd("CLIENT").arg("TRACKING").arg("on").arg("OPTIN").query(&mut con).expect("tracking on");
        assert_eq!(ok, "OK");
        let _: () = redis::cmd("CLIENT").arg("CACHING").arg("yes").query(&mut con).expect("caching");
        let _: Option<String> = redis::cmd("GET").arg("k").query(&mut con).expect("get");
        let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).expect("set");
        let v: String = redis::cmd("GET").arg("k").query(&mut con).expect("get again");
        assert_eq!(v, "v", "{}", kind.name());
        let redir: i64 = redis::cmd("CLIENT").arg("GETREDIR").query(&mut con).expect("getredir");
        assert_eq!(redir, 0);
    }
}

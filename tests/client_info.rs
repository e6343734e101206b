//! CLIENT INFO / CLIENT LIST fields against the real redis-server 7.0.15: the same scenario
//! runs on both servers and every field must be equal once the per-connection ones (id,
//! addresses, fd, age, idle) are masked. This covers the buffer figures (qbuf, qbuf-free,
//! rbs, rbp, obl, oll, omem, tot-mem), which follow Redis's query-buffer growth and its
//! reply-buffer resizing in clientsCron.
mod common;

use common::{encode_command, require_redis, wait_until, RawConn, Server, ServerKind};

/// The fields that differ between two servers for reasons other than behaviour.
const MASKED: &[&str] = &["id", "addr", "laddr", "fd", "age", "idle"];

fn masked(line: &str) -> String {
    line.trim_end()
        .split(' ')
        .map(|field| match field.split_once('=') {
            Some((name, _)) if MASKED.contains(&name) => format!("{name}=*"),
            _ => field.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The bulk body of a reply (CLIENT INFO / CLIENT LIST are bulk strings in RESP2, verbatim
/// strings in RESP3).
fn body(reply: &[u8]) -> String {
    let text = String::from_utf8_lossy(reply);
    let rest = text.split_once("\r\n").map_or("", |(_, rest)| rest);
    let rest = rest.strip_prefix("txt:").unwrap_or(rest);
    rest.trim_end_matches("\r\n").to_string()
}

fn field(line: &str, name: &str) -> String {
    line.split(' ').find_map(|f| f.strip_prefix(&format!("{name}="))).unwrap_or("").to_string()
}

/// Runs `scenario` on both servers (each started with `args`) and compares the lines.
fn compare(args: &[&str], scenario: fn(&Server) -> Vec<String>) {
    if !require_redis() {
        return;
    }
    let run = |kind| {
        let srv = Server::start(kind, args);
        scenario(&srv).iter().map(|l| masked(l)).collect::<Vec<_>>()
    };
    let (redis, ferredis) = (run(ServerKind::Redis), run(ServerKind::Ferredis));
    assert_eq!(redis.len(), ferredis.len());
    for (i, (r, f)) in redis.iter().zip(&ferredis).enumerate() {
        assert_eq!(f, r, "line {i} differs\nferredis: {f}\nredis:    {r}");
    }
}

/// Stops the cron's reply-buffer resizing (and peak resets), whose timing a busy machine
/// shifts, for the scenarios that are not about it.
fn freeze_reply_buffers(srv: &Server) {
    let reply = srv.conn().cmd_str("DEBUG REPLYBUFFER RESIZING 0");
    assert_eq!(reply, b"+OK\r\n");
}

fn info(c: &mut RawConn) -> String {
    body(&c.cmd_str("CLIENT INFO"))
}

#[test]
fn fresh_connection_inline_multibulk_and_pipelined() {
    compare(&["--enable-debug-command", "yes"], |srv| {
        freeze_reply_buffers(srv);
        let mut c = srv.conn();
        let mut lines = vec![info(&mut c)];
        c.send(b"CLIENT INFO\r\n");
        lines.push(body(&c.read_reply().unwrap()));
        // Two at once: the first runs while both sit in the query buffer, and the second
        // sees the first's reply still in the reply buffer.
        c.send(&[encode_command(&[b"CLIENT", b"INFO"]), encode_command(&[b"CLIENT", b"INFO"])].concat());
        lines.push(body(&c.read_reply().unwrap()));
        lines.push(body(&c.read_reply().unwrap()));
        lines
    });
}

#[test]
fn reply_buffer_shrinks_when_idle_and_grows_back_when_filled() {
    compare(&["--enable-debug-command", "yes"], |srv| {
        let mut c = srv.conn();
        c.cmd_str("DEBUG REPLYBUFFER PEAK-RESET-TIME 100");
        wait_until(20, "the reply buffer to shrink to 1024", || field(&info(&mut c), "rbs") == "1024");
        // The peak is the previous CLIENT INFO reply, whose length depends on masked fields.
        let shrunk = info(&mut c);
        let shrunk = shrunk.replace(&format!(" rbp={} ", field(&shrunk, "rbp")), " rbp=* ");
        let mut lines = vec![shrunk];
        // With the peak kept, each reply that fills the buffer doubles it at the next cron.
        c.cmd_str("DEBUG REPLYBUFFER PEAK-RESET-TIME NEVER");
        let value = "v".repeat(5000);
        c.cmd_str(&format!("SET k {value}"));
        for size in ["2048", "4096"] {
            c.cmd_str("GET k");
            wait_until(20, "the reply buffer to double", || field(&info(&mut c), "rbs") == size);
            lines.push(info(&mut c));
        }
        let stats = body(&c.cmd_str("INFO stats"));
        lines.extend(stats.lines().filter(|l| l.starts_with("reply_buffer_")).map(str::to_string));
        lines
    });
}

#[test]
fn query_buffer_of_an_idle_client_is_given_back() {
    compare(&["--enable-debug-command", "yes"], |srv| {
        freeze_reply_buffers(srv);
        let (mut idle, mut watcher) = (srv.conn(), srv.conn());
        idle.cmd_str("CLIENT SETNAME idler");
        let line = || {
            let list = body(&watcher.cmd_str("CLIENT LIST"));
            list.lines().find(|l| l.contains("name=idler")).unwrap_or("").to_string()
        };
        let mut watch = line;
        // Right away only the query buffer is compared: whether the cron already restarted
        // the reply-buffer peak depends on timing, in both servers.
        let before = watch();
        let before = format!("qbuf={} qbuf-free={}", field(&before, "qbuf"), field(&before, "qbuf-free"));
        wait_until(20, "the idle client's query buffer to be trimmed", || field(&watch(), "qbuf-free") == "0");
        vec![before, watch()]
    });
}

#[test]
fn multi_queue_big_argument_and_resp3_subscriber() {
    compare(&["--enable-debug-command", "yes"], |srv| {
        freeze_reply_buffers(srv);
        let mut c = srv.conn();
        let mut lines = Vec::new();
        c.cmd_str("MULTI");
        c.cmd_str("SET a 1");
        c.cmd_str("INCR a");
        lines.push(info(&mut c));
        c.cmd_str("EXEC");
        // A 100 KB argument takes the big-argument path of the query buffer.
        let big = vec![b'x'; 100_000];
        c.cmd(&[b"SET", b"big", &big]);
        lines.push(info(&mut c));
        let mut sub = srv.conn();
        sub.cmd_str("HELLO 3");
        // Four channels: a fifth would leave Redis's per-client dict mid-rehash (two tables
        // counted), a state ferredis does not model.
        sub.send(&encode_command(&[b"SUBSCRIBE", b"a", b"b", b"c", b"d"]));
        for _ in 0..4 {
            sub.read_reply().unwrap();
        }
        sub.send(&encode_command(&[b"PSUBSCRIBE", b"p*"]));
        sub.read_reply().unwrap();
        lines.push(info(&mut sub));
        lines
    });
}

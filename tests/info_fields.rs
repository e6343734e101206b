//! INFO against the real redis-server 7.0.15. The values of INFO differ between any two
//! servers (pids, times, memory), so the bytes cannot be compared; instead both servers run
//! the same commands and then:
//! - the section headers and the field names, in order, must be identical (values ignored),
//!   for INFO, INFO all, INFO everything and INFO with explicit sections;
//! - fields whose value is determined by the commands run must have equal values
//!   (keyspace counts, errorstats, cmdstat call counters, dirty counter ...);
//! - unknown sections give an empty text on both, and RESP3 gets a verbatim string.
mod common;

use common::{require_redis, RawConn, Server};
use std::collections::BTreeSet;

/// Field names allowed to differ between the two servers, each with the reason.
/// Empty: ferredis prints every field Redis 7.0.15 prints for a standalone master (module
/// sections are absent on both, and io_threads_active is printed by both).
const ALLOWED_NAME_DIFFERENCES: &[(&str, &str)] = &[];

/// Sections whose field names come from the data (command names, error codes, dbs) rather
/// than from the code; Redis prints commandstats/latencystats in its command dict's hash
/// order, so those two are compared as sets.
const UNORDERED_SECTIONS: &[&str] = &["Commandstats", "Latencystats"];

/// One INFO text, parsed: (section title, [(field name, value)]) in order.
type Parsed = Vec<(String, Vec<(String, String)>)>;

fn info_text(conn: &mut RawConn, args: &str) -> String {
    let reply = conn.cmd_str(&format!("INFO {args}"));
    let text = String::from_utf8(reply).expect("INFO is text");
    let (header, body) = text.split_once("\r\n").expect("bulk header");
    assert!(header.starts_with('$'), "INFO {args}: not a bulk reply: {header}");
    body.strip_suffix("\r\n").expect("bulk trailer").to_string()
}

fn parse(text: &str) -> Parsed {
    let mut out: Parsed = Vec::new();
    for line in text.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if let Some(title) = line.strip_prefix("# ") {
            out.push((title.to_string(), Vec::new()));
            continue;
        }
        let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("bad INFO line {line:?}"));
        let section = out.last_mut().unwrap_or_else(|| panic!("field before any section: {line:?}"));
        section.1.push((name.to_string(), value.to_string()));
    }
    out
}

fn headers(parsed: &Parsed) -> Vec<&str> {
    parsed.iter().map(|(title, _)| title.as_str()).collect()
}

fn allowed(name: &str) -> bool {
    ALLOWED_NAME_DIFFERENCES.iter().any(|(n, _)| *n == name)
}

/// Field names per section, minus the allowlist; unordered sections are sorted.
fn name_layout(parsed: &Parsed) -> Vec<(String, Vec<String>)> {
    parsed
        .iter()
        .map(|(title, fields)| {
            let mut names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).filter(|n| !allowed(n)).collect();
            if UNORDERED_SECTIONS.contains(&title.as_str()) {
                names.sort();
            }
            (title.clone(), names)
        })
        .collect()
}

fn assert_same_layout(what: &str, redis: &Parsed, ours: &Parsed) {
    assert_eq!(headers(ours), headers(redis), "{what}: section headers");
    for ((title, r), (_, o)) in name_layout(redis).iter().zip(name_layout(ours).iter()) {
        assert_eq!(o, r, "{what}: field names of section {title}");
    }
}

fn value<'a>(parsed: &'a Parsed, name: &str) -> &'a str {
    parsed
        .iter()
        .flat_map(|(_, fields)| fields.iter())
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn section<'a>(parsed: &'a Parsed, title: &str) -> &'a [(String, String)] {
    parsed.iter().find(|(t, _)| t == title).map(|(_, f)| f.as_slice()).unwrap_or(&[])
}

/// "calls=3,usec=9,..." -> the listed counters only (timings differ).
fn counters(stat: &str, keep: &[&str]) -> Vec<String> {
    stat.split(',').filter(|kv| keep.iter().any(|k| kv.starts_with(&format!("{k}=")))).map(str::to_string).collect()
}

/// The same commands on both servers; returns (redis conn, ferredis conn).
fn prepared_pair(redis: &Server, ours: &Server) -> (RawConn, RawConn) {
    let mut conns = (redis.conn(), ours.conn());
    for conn in [&mut conns.0, &mut conns.1] {
        for line in [
            "SET a 1", "SET b hello", "SET c v EX 1000", "GET a", "GET nokey", "NOSUCHCOMMAND x",
            "GET", "INCR b", "SELECT 2", "SET k v", "SELECT 0",
        ] {
            conn.cmd_str(line);
        }
    }
    conns
}

#[test]
fn info_fields_match_redis() {
    if !require_redis() {
        return;
    }
    let redis = Server::start_redis(&[]);
    let ours = Server::start_ferredis(&[]);
    let (mut rc, mut oc) = prepared_pair(&redis, &ours);
    for args in ["", "default", "all", "everything", "server clients", "CPU Keyspace modules", "commandstats latencystats"] {
        let r = parse(&info_text(&mut rc, args));
        let o = parse(&info_text(&mut oc, args));
        assert_same_layout(&format!("INFO {args}"), &r, &o);
    }
    let r = parse(&info_text(&mut rc, "everything"));
    let o = parse(&info_text(&mut oc, "everything"));
    assert_eq!(headers(&r).len(), 13, "Redis prints 13 sections for INFO everything");
    assert_determined_values_match(&r, &o);
}

fn assert_determined_values_match(r: &Parsed, o: &Parsed) {
    for name in [
        "redis_version", "redis_mode", "arch_bits", "multiplexing_api",
        "connected_clients", "maxclients", "blocked_clients", "maxmemory", "maxmemory_human",
        "maxmemory_policy", "loading", "rdb_changes_since_last_save", "rdb_last_bgsave_status",
        "aof_enabled", "expired_keys", "keyspace_hits", "keyspace_misses", "total_error_replies",
        "role", "connected_slaves", "master_replid2", "second_repl_offset", "repl_backlog_size",
        "cluster_enabled", "hz", "configured_hz", "total_commands_processed",
    ] {
        assert_eq!(value(o, name), value(r, name), "value of {name}");
    }
    assert_eq!(section(o, "Errorstats"), section(r, "Errorstats"));
    assert_eq!(section(r, "Errorstats"), &[("errorstat_ERR".to_string(), "count=3".to_string())]);
    assert_keyspace_matches(r, o);
    assert_cmdstats_match(r, o);
}

/// 3 keys with one TTL in db0, one key in db2; avg_ttl depends on the expire cycle's samples.
fn assert_keyspace_matches(r: &Parsed, o: &Parsed) {
    let strip_ttl = |fields: &[(String, String)]| -> Vec<(String, String)> {
        fields.iter().map(|(n, v)| (n.clone(), v.split(",avg_ttl=").next().unwrap_or("").to_string())).collect()
    };
    let expected = vec![
        ("db0".to_string(), "keys=3,expires=1".to_string()),
        ("db2".to_string(), "keys=1,expires=0".to_string()),
    ];
    assert_eq!(strip_ttl(section(r, "Keyspace")), expected);
    assert_eq!(strip_ttl(section(o, "Keyspace")), expected);
    for (_, v) in section(o, "Keyspace") {
        let ttl = v.rsplit("avg_ttl=").next().unwrap_or("");
        let ttl: i64 = ttl.parse().unwrap_or_else(|_| panic!("avg_ttl of {v}"));
        assert!((0..=1_000_000).contains(&ttl), "avg_ttl {ttl}");
    }
}

/// Call, rejection and failure counters of every command are equal; so are the names of
/// the commands with latency histograms, and their percentile labels.
fn assert_cmdstats_match(r: &Parsed, o: &Parsed) {
    let keep = ["calls", "rejected_calls", "failed_calls"];
    let stats = |p: &Parsed| -> BTreeSet<(String, Vec<String>)> {
        section(p, "Commandstats").iter().map(|(n, v)| (n.clone(), counters(v, &keep))).collect()
    };
    assert_eq!(stats(o), stats(r));
    let get = section(o, "Commandstats").iter().find(|(n, _)| n == "cmdstat_get").expect("cmdstat_get");
    assert_eq!(counters(&get.1, &keep), vec!["calls=2", "rejected_calls=1", "failed_calls=0"]);
    let labels = |p: &Parsed| -> BTreeSet<(String, Vec<String>)> {
        let fields = section(p, "Latencystats").iter();
        fields.map(|(n, v)| (n.clone(), v.split(',').map(|kv| kv.split('=').next().unwrap_or("").to_string()).collect())).collect()
    };
    assert_eq!(labels(o), labels(r));
    assert!(labels(o).iter().all(|(_, l)| l == &["p50", "p99", "p99.9"]));
}

#[test]
fn unknown_sections_and_resp3() {
    if !require_redis() {
        return;
    }
    let redis = Server::start_redis(&[]);
    let ours = Server::start_ferredis(&[]);
    let (mut rc, mut oc) = (redis.conn(), ours.conn());
    for conn in [&mut rc, &mut oc] {
        assert_eq!(conn.cmd_str("INFO nosuchsection"), b"$0\r\n\r\n");
        assert_eq!(conn.cmd_str("INFO nosuch other"), b"$0\r\n\r\n");
        conn.cmd_str("HELLO 3");
        assert_eq!(conn.cmd_str("INFO nosuchsection"), b"=4\r\ntxt:\r\n");
        let cluster = conn.cmd_str("INFO cluster");
        assert_eq!(cluster, b"=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
        let server = String::from_utf8(conn.cmd_str("INFO server")).expect("text");
        assert!(server.starts_with('=') && server.contains("\r\ntxt:# Server\r\nredis_version:7.0.15\r\n"), "{server}");
    }
}

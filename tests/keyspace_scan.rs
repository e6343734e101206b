//! SCAN's guarantee under a changing keyspace: every key present for the whole iteration is
//! returned at least once, even while other keys are added and deleted between the calls so
//! that the main dict grows and rehashes (dictScan's reverse-binary cursor is what makes
//! this work; see dict.rs `scan` and db.rs `scan_keyspace`).
//!
//! 20k stable keys are inserted (a 32768-bucket table). A second connection then adds 300
//! and deletes 100 churn keys after each SCAN call, so the table crosses 32768 keys and
//! doubles (with incremental rehashing spread over many calls) while the scan is running.
mod common;

use common::{redis_crate_client, Server};
use std::collections::HashSet;

const STABLE_KEYS: usize = 20_000;
const BATCH: usize = 1000;
const ADD_PER_STEP: usize = 300;
const DEL_PER_STEP: usize = 100;

fn stable_key(i: usize) -> String {
    format!("stable:{i}")
}

fn churn_key(i: usize) -> String {
    format!("churn:{i}")
}

/// MSET of `keys` (each key is its own value).
fn mset(conn: &mut redis::Connection, keys: impl Iterator<Item = String>) {
    let mut cmd = redis::cmd("MSET");
    let mut any = false;
    for key in keys {
        cmd.arg(&key).arg(&key);
        any = true;
    }
    if any {
        let _: () = cmd.query(conn).expect("MSET");
    }
}

/// Adds and deletes churn keys on its own connection; `next` is the next key to add and
/// `oldest` the next to delete.
struct Churn {
    conn: redis::Connection,
    next: usize,
    oldest: usize,
}

impl Churn {
    fn step(&mut self) {
        mset(&mut self.conn, (self.next..self.next + ADD_PER_STEP).map(churn_key));
        self.next += ADD_PER_STEP;
        let mut del = redis::cmd("DEL");
        for i in self.oldest..self.oldest + DEL_PER_STEP {
            del.arg(churn_key(i));
        }
        let _: i64 = del.query(&mut self.conn).expect("DEL");
        self.oldest += DEL_PER_STEP;
    }
}

fn dbsize(conn: &mut redis::Connection) -> usize {
    redis::cmd("DBSIZE").query(conn).expect("DBSIZE")
}

#[test]
fn scan_returns_every_stable_key_while_the_table_grows() {
    let server = Server::start_ferredis(&[]);
    let mut scanner = redis_crate_client(server.port);
    let mut churn = Churn { conn: redis_crate_client(server.port), next: 0, oldest: 0 };

    for start in (0..STABLE_KEYS).step_by(BATCH) {
        mset(&mut scanner, (start..start + BATCH).map(stable_key));
    }
    assert_eq!(dbsize(&mut scanner), STABLE_KEYS);

    let mut seen: HashSet<String> = HashSet::new();
    let mut cursor: u64 = 0;
    let mut calls = 0;
    let mut max_dbsize = 0;
    loop {
        let (next, keys): (u64, Vec<String>) =
            redis::cmd("SCAN").arg(cursor).arg("COUNT").arg(100).query(&mut scanner).expect("SCAN");
        seen.extend(keys);
        calls += 1;
        cursor = next;
        if cursor == 0 {
            break;
        }
        churn.step();
        max_dbsize = max_dbsize.max(dbsize(&mut scanner));
        assert!(calls < 100_000, "SCAN did not terminate");
    }

    // The table must really have doubled during the scan (32768 buckets -> 65536).
    assert!(max_dbsize > 32_768, "the keyspace never outgrew its table ({max_dbsize} keys)");
    let missing: Vec<String> = (0..STABLE_KEYS).map(stable_key).filter(|k| !seen.contains(k)).collect();
    assert!(missing.is_empty(), "{} stable keys never returned, e.g. {:?}", missing.len(), &missing[..missing.len().min(5)]);
    // Nothing that never existed is returned.
    let bogus: Vec<&String> = seen.iter().filter(|k| !k.starts_with("stable:") && !k.starts_with("churn:")).collect();
    assert!(bogus.is_empty(), "unexpected keys {bogus:?}");
    eprintln!("{calls} SCAN calls, {} distinct keys, peak {max_dbsize} keys", seen.len());
}

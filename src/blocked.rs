//! Blocking operations: Redis's blocked.c. A command that must wait for data (BLPOP,
//! BZPOPMIN, XREAD BLOCK ...) calls [`block_for_keys`] and returns without a reply; the
//! client stops reading commands and keeps its arguments. When a write makes one of its keys
//! ready ([`signal_key_as_ready`]), [`handle_clients_blocked_on_keys`] runs right after that
//! command (process_command) and again from `before_sleep` (writes done outside a client
//! command: expiry, a client freed mid-transaction ...). It serves the waiting clients in the
//! order they blocked by running their command again (a re-run finds the data and replies
//! as the original call would have). Timeouts
//! are checked by [`handle_blocked_clients_timeout`], also from `before_sleep`.
//!
//! Re-running the command is Redis 7.2's way of serving blocked clients (7.0 had a serving
//! function per type); the replies and the order clients are served in are the same.

use std::collections::{HashMap, VecDeque};

use crate::networking::{self, Client, CLIENT_BLOCKED};
use crate::server::{self, Server};
use crate::util;

/// Redis: BLOCKED_LIST / BLOCKED_ZSET / BLOCKED_STREAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockType {
    List,
    ZSet,
    Stream,
}

/// Redis: client->bstate: what a blocked client waits for.
#[derive(Debug, Clone)]
pub struct BlockState {
    pub btype: BlockType,
    pub db: usize,
    pub keys: Vec<Vec<u8>>,
    /// Absolute unix time in ms; 0 waits forever.
    pub timeout_ms: i64,
}

/// The server-wide indexes of blocked clients (Redis: db->blocking_keys, server.ready_keys).
#[derive(Debug, Default)]
pub struct BlockingIndex {
    /// (db, key) -> client ids, in the order they blocked.
    keys: HashMap<(usize, Vec<u8>), VecDeque<u64>>,
    /// Keys written since the last pass, in order, each once.
    ready: Vec<(usize, Vec<u8>)>,
    /// Clients blocked on keys (Redis: server.blocked_clients for these types).
    pub blocked_clients: usize,
}

impl BlockingIndex {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Redis: listLength(server.ready_keys) != 0.
    pub fn has_ready_keys(&self) -> bool {
        !self.ready.is_empty()
    }
}

/// Redis: raxSize(server.clients_timeout_table), INFO's `clients_in_timeout_table`: the
/// blocked clients that wait with a timeout (on keys, or in WAIT); Redis adds a client to
/// that table when it blocks with a non-zero timeout and removes it when it unblocks.
pub fn clients_in_timeout_table(srv: &Server) -> usize {
    let on_keys = srv.clients.iter().flatten().filter(|c| c.bstate.as_ref().is_some_and(|b| b.timeout_ms != 0)).count();
    let in_wait = srv.repl.master.clients_waiting_acks.iter().filter(|w| w.timeout_ms != 0).count();
    on_keys + in_wait
}

/// Redis: timeout.c getTimeoutFromObjectOrReply(): a number of seconds (parsed as a C long
/// double) or milliseconds turned into an absolute time; 0 means forever. On error the
/// reply is written and None returned.
pub fn get_timeout_from_object_or_reply(c: &mut Client, arg: usize, seconds: bool) -> Option<i64> {
    let text = c.argv.get(arg);
    let tval = if seconds {
        match util::string2ld(text) {
            Some(ld) => long_double_seconds_to_ms(ld),
            None => {
                c.reply.add_reply_error("timeout is not a float or out of range");
                return None;
            }
        }
    } else {
        match util::string2ll(text) {
            Some(ms) => ms,
            None => {
                c.reply.add_reply_error("timeout is not an integer or out of range");
                return None;
            }
        }
    };
    if tval < 0 {
        c.reply.add_reply_error("timeout is negative");
        return None;
    }
    if tval == 0 {
        return Some(0);
    }
    let now = util::mstime();
    match tval.checked_add(now) {
        Some(when) => Some(when),
        None => {
            c.reply.add_reply_error("timeout is out of range");
            None
        }
    }
}

/// `(long long) ceill(seconds * 1000.0)` as x86 computes it: exact on the 64-bit mantissa,
/// and any value outside i64 (or infinite) becomes i64::MIN, the "integer indefinite" the
/// conversion yields — which then reads as a negative timeout, as in Redis.
fn long_double_seconds_to_ms(ld: util::LongDouble) -> i64 {
    let util::LongDouble::Finite { neg, mant, exp } = ld else { return i64::MIN };
    let scaled = u128::from(mant) * 1000;
    let magnitude: Option<u128> = if exp >= 0 {
        u32::try_from(exp).ok().and_then(|e| scaled.checked_shl(e)).filter(|m| m >> exp as u32 == scaled)
    } else {
        let shift = exp.unsigned_abs();
        let (whole, has_fraction) = if shift >= 128 {
            (0, scaled != 0)
        } else {
            (scaled >> shift, scaled & ((1u128 << shift) - 1) != 0)
        };
        // ceil rounds a positive fraction up and a negative one towards zero.
        Some(if !neg && has_fraction { whole + 1 } else { whole })
    };
    match magnitude.and_then(|m| i64::try_from(m).ok()) {
        Some(m) if neg => -m,
        Some(m) => m,
        None => i64::MIN,
    }
}

/// Redis: blocked.c blockForKeys(). The client waits on `keys` of its current db. A client
/// being served again keeps its original timeout.
pub fn block_for_keys(srv: &mut Server, c: &mut Client, btype: BlockType, keys: &[&[u8]], timeout_ms: i64) {
    let timeout_ms = match (&c.bstate, c.reprocessing) {
        (Some(old), true) => old.timeout_ms,
        _ => timeout_ms,
    };
    let owned: Vec<Vec<u8>> = keys.iter().map(|k| k.to_vec()).collect();
    for key in &owned {
        let waiting = srv.blocking.keys.entry((c.db, key.clone())).or_default();
        if !waiting.contains(&c.id) {
            waiting.push_back(c.id);
        }
    }
    c.bstate = Some(BlockState { btype, db: c.db, keys: owned, timeout_ms });
    c.flags |= CLIENT_BLOCKED;
    srv.blocking.blocked_clients += 1;
}

/// Redis: blocked.c signalKeyAsReady(): a write made `key` possibly serve a blocked client.
/// Cheap when nobody is blocked, so every write path may call it.
pub fn signal_key_as_ready(srv: &mut Server, dbid: usize, key: &[u8]) {
    if srv.blocking.keys.is_empty() {
        return;
    }
    let entry = (dbid, key.to_vec());
    if srv.blocking.keys.contains_key(&entry) && !srv.blocking.ready.contains(&entry) {
        srv.blocking.ready.push(entry);
    }
}

/// Redis: db.c scanDatabaseForReadyKeys() / blocked.c scanDatabaseForDeletedStreams(): after
/// a db was emptied or swapped, every key someone waits on in it is worth a look: the
/// serving pass hands data to those who can now have it and fails XREADGROUP on streams
/// that are gone; the others keep waiting.
pub fn scan_database_for_ready_keys(srv: &mut Server, dbid: usize) {
    let waited: Vec<Vec<u8>> =
        srv.blocking.keys.keys().filter(|(db, _)| *db == dbid).map(|(_, key)| key.clone()).collect();
    for key in waited {
        signal_key_as_ready(srv, dbid, &key);
    }
}

/// Redis: blocked.c unblockClient() for key-blocked clients: forget every key it waited on.
pub fn unblock_client(srv: &mut Server, c: &mut Client) {
    let Some(bstate) = c.bstate.take() else { return };
    for key in bstate.keys {
        let slot = (bstate.db, key);
        if let Some(waiting) = srv.blocking.keys.get_mut(&slot) {
            waiting.retain(|&id| id != c.id);
            if waiting.is_empty() {
                srv.blocking.keys.remove(&slot);
            }
        }
    }
    if c.flags & CLIENT_BLOCKED != 0 {
        c.flags &= !CLIENT_BLOCKED;
        srv.blocking.blocked_clients = srv.blocking.blocked_clients.saturating_sub(1);
    }
}

/// Redis: blocked.c handleClientsBlockedOnKeys(): serve the clients waiting on each key
/// made ready, oldest first, by running their command again. Serving may make more keys
/// ready (BLMOVE pushes), so the pass repeats until nothing is left.
pub fn handle_clients_blocked_on_keys(srv: &mut Server) {
    while !srv.blocking.ready.is_empty() {
        let ready = std::mem::take(&mut srv.blocking.ready);
        for slot in ready {
            serve_clients_blocked_on_key(srv, &slot);
        }
    }
}

/// The block type a value can serve: Redis 7.0 serves list keys only to clients blocked
/// for lists, and so on (serveClientsBlockedOnKey()).
fn served_block_type(srv: &Server, slot: &(usize, Vec<u8>)) -> Option<BlockType> {
    use crate::object::ValueRef;
    match srv.db.get(slot.0)?.dict.get(&slot.1)?.value() {
        ValueRef::List(_) => Some(BlockType::List),
        ValueRef::ZSet(_) => Some(BlockType::ZSet),
        ValueRef::Stream(_) => Some(BlockType::Stream),
        ValueRef::Str(_) | ValueRef::Hash(_) | ValueRef::Set(_) => None,
    }
}

fn serve_clients_blocked_on_key(srv: &mut Server, slot: &(usize, Vec<u8>)) {
    let waiting: Vec<u64> = srv.blocking.keys.get(slot).map(|q| q.iter().copied().collect()).unwrap_or_default();
    for id in waiting {
        // Re-checked per client: serving one may have emptied or replaced the key.
        let ready_type = served_block_type(srv, slot);
        let waits_for = srv.client_by_id(id).and_then(|c| c.bstate.as_ref().map(|b| b.btype));
        // Stream readers also run when their stream was deleted or replaced: Redis 7.0 fails
        // a blocked XREADGROUP then (XREAD finds nothing and blocks again).
        let stream_gone = waits_for == Some(BlockType::Stream) && ready_type != Some(BlockType::Stream);
        if ready_type.is_none() && !stream_gone {
            continue;
        }
        if waits_for != ready_type && !stream_gone {
            continue;
        }
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        // Detach from every key, then run again; the command re-blocks if it still can't run.
        let bstate = c.bstate.clone();
        unblock_client(srv, &mut c);
        c.bstate = bstate;
        c.reprocessing = true;
        server::process_command(srv, &mut c);
        c.reprocessing = false;
        if c.flags & CLIENT_BLOCKED != 0 {
            srv.put_client(c);
            continue;
        }
        c.bstate = None;
        resume_client(srv, c);
    }
}

/// Redis: blocked.c replyToBlockedClientTimedOut() + unblock, for every client whose
/// timeout has passed.
pub fn handle_blocked_clients_timeout(srv: &mut Server) {
    if srv.blocking.blocked_clients == 0 {
        return;
    }
    let now = util::mstime();
    let expired: Vec<u64> = srv
        .clients
        .iter()
        .flatten()
        .filter(|c| c.bstate.as_ref().map_or(false, |b| b.timeout_ms != 0 && b.timeout_ms <= now))
        .map(|c| c.id)
        .collect();
    for id in expired {
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        unblock_client(srv, &mut c);
        c.reply.add_reply_null_array();
        resume_client(srv, c);
    }
}

/// Redis: CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked and is now free.
pub fn client_unblock(srv: &mut Server, id: u64, with_error: bool) -> bool {
    let Some(mut c) = srv.take_client_by_id(id) else { return false };
    if c.bstate.is_none() {
        srv.put_client(c);
        return false;
    }
    unblock_client(srv, &mut c);
    if with_error {
        c.reply.add_reply_error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
    } else {
        c.reply.add_reply_null_array();
    }
    resume_client(srv, c);
    true
}

/// After a blocked command finished: forget it and run what else the client sent.
fn resume_client(srv: &mut Server, mut c: Box<Client>) {
    c.reset_client();
    networking::process_input_buffer(srv, &mut c);
    srv.after_client_activity(c);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> i64 {
        long_double_seconds_to_ms(util::string2ld(text.as_bytes()).expect("parses"))
    }

    #[test]
    fn seconds_convert_like_ceill_on_x86() {
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("0.0001"), 1);
        assert_eq!(ms("1e-400"), 1, "a long double keeps tiny values: ceil gives 1 ms");
        assert_eq!(ms("-0.0001"), 0, "ceil(-0.1) is -0: block forever, as Redis");
        assert_eq!(ms("-1"), -1000);
        assert_eq!(ms("inf"), i64::MIN);
        assert_eq!(ms("1e400"), i64::MIN);
        assert_eq!(ms("9.3e15"), i64::MIN);
        assert_eq!(ms("9.2e15"), 9_200_000_000_000_000_000);
    }
}

//! Transactions: Redis's multi.c (MULTI, EXEC, DISCARD, WATCH, UNWATCH).
//!
//! Everything runs on the single-threaded event loop. While a client is in MULTI,
//! `process_command` runs its usual checks and then, instead of `call()`, hands the command
//! to [`queue_multi_command`] (the argv moves into the client's [`MultiState`]). EXEC runs
//! the queue through `call()` one command at a time, inside the EXEC's own call, so all of
//! them see the same command clock and nothing else runs in between.
//!
//! WATCH lives in the server-wide [`WatchIndex`] rather than in the client: writes touch
//! watched keys through `Server::signal_modified_key` while the writing client is taken out
//! of the client table, and that client may be a watcher itself. So the index, keyed by
//! client id, also holds Redis's CLIENT_DIRTY_CAS bit (see [`is_dirty_cas`]).

use std::collections::HashMap;

use crate::db;
use crate::networking::{Argv, Client, CLIENT_DENY_BLOCKING, CLIENT_MULTI};
use crate::server::{self, Server};

/// Redis: CLIENT_DIRTY_EXEC: a command was rejected while queuing; EXEC must fail.
pub const CLIENT_DIRTY_EXEC: u64 = 1 << 12;
/// Redis: CLIENT_DIRTY_CAS. Never set in a client's flags (the state is in the
/// [`WatchIndex`], see [`is_dirty_cas`]); CLIENT LIST uses the bit to place its 'd'.
pub const CLIENT_DIRTY_CAS: u64 = 1 << 5;

/// Redis: shared.execaborterr.
const EXECABORT_ERR: &str = "-EXECABORT Transaction discarded because of previous errors.";
/// Redis: sizeof(robj*), counted per queued argument in multi-mem.
const ROBJ_PTR_SIZE: usize = 8;
/// Redis: sizeof(multiCmd), reserved per slot of the queue.
const MULTI_CMD_SIZE: usize = 24;
/// Redis: sizeof(listNode) + sizeof(watchedKey), per key a client watches.
const WATCHED_KEY_SIZE: usize = 24 + 32;

/// Redis: multiCmd: one queued command.
#[derive(Debug)]
pub struct MultiCmd {
    pub argv: Argv,
    /// Index of the command in the command table.
    pub cmd: usize,
}

/// Redis: multiState: the commands queued since MULTI.
#[derive(Debug, Default)]
pub struct MultiState {
    pub commands: Vec<MultiCmd>,
    /// Union of the flags of the queued commands (EXEC counts as a write if any is one).
    pub cmd_flags: u64,
    /// Union of their complements: a flag absent here is set on every queued command.
    pub cmd_inv_flags: u64,
    /// Argument bytes plus a pointer per argument (CLIENT LIST multi-mem).
    pub argv_len_sums: usize,
    /// Queue slots Redis would have reserved (2, then doubling), for tot-mem.
    alloc_count: usize,
}

impl MultiState {
    pub fn count(&self) -> usize {
        self.commands.len()
    }
}

/// One key a client watches (Redis: watchedKey).
#[derive(Debug, Clone, PartialEq, Eq)]
struct WatchedKey {
    db: usize,
    key: Vec<u8>,
    /// The key had already expired when WATCH ran: its deletion changes nothing.
    expired: bool,
}

/// Redis: client->watched_keys plus the CLIENT_DIRTY_CAS flag.
#[derive(Debug, Default)]
struct ClientWatch {
    keys: Vec<WatchedKey>,
    dirty_cas: bool,
}

/// Redis: every db's `watched_keys` dict (key -> watching clients, in WATCH order) and
/// every client's list of watched keys.
#[derive(Debug, Default)]
pub struct WatchIndex {
    by_db: Vec<HashMap<Vec<u8>, Vec<u64>>>,
    clients: HashMap<u64, ClientWatch>,
}

impl WatchIndex {
    fn watchers(&self, dbid: usize, key: &[u8]) -> Option<&Vec<u64>> {
        self.by_db.get(dbid)?.get(key)
    }

    fn watched_key_mut(&mut self, id: u64, dbid: usize, key: &[u8]) -> Option<&mut WatchedKey> {
        let watch = self.clients.get_mut(&id)?;
        watch.keys.iter_mut().find(|wk| wk.db == dbid && wk.key == key)
    }

    /// Number of keys client `id` watches.
    pub fn watched_count(&self, id: u64) -> usize {
        self.clients.get(&id).map_or(0, |w| w.keys.len())
    }

    /// Number of distinct (db, key) pairs watched by anyone.
    pub fn total_watched_keys(&self) -> usize {
        self.by_db.iter().map(HashMap::len).sum()
    }
}

// ----------------------------------------------------------------------------------------
// MULTI / EXEC
// ----------------------------------------------------------------------------------------

/// The commands processCommand runs at once even inside MULTI (Redis compares `cmd->proc`
/// with execCommand, discardCommand, multiCommand, watchCommand, quitCommand, resetCommand).
pub fn is_queued_in_multi(fullname: &str) -> bool {
    !matches!(fullname, "exec" | "discard" | "multi" | "watch" | "quit" | "reset")
}

/// Whether command `id` is EXEC (rejectCommand answers EXEC with an EXECABORT).
pub fn is_exec_command(srv: &Server, id: usize) -> bool {
    srv.commands.get(id).is_some_and(|cmd| cmd.fullname == "exec")
}

/// Redis: multi.c queueMultiCommand(): moves the command into the queue. Replies +QUEUED
/// (processCommand's part) even when a doomed transaction keeps nothing.
pub fn queue_multi_command(srv: &Server, c: &mut Client, id: usize, cmd_flags: u64) {
    c.lastcmd = Some(id);
    c.reply.add_reply_proto(b"+QUEUED\r\n");
    // No sense in keeping commands of a transaction that can only fail.
    if c.flags & CLIENT_DIRTY_EXEC != 0 || is_dirty_cas(srv, c.id) {
        return;
    }
    let ms = &mut c.mstate;
    if ms.count() == ms.alloc_count {
        ms.alloc_count = if ms.alloc_count == 0 { 2 } else { ms.alloc_count.saturating_mul(2) };
    }
    let argv = std::mem::take(&mut c.argv);
    ms.argv_len_sums += argv.len_sum() + ROBJ_PTR_SIZE * argv.len();
    ms.cmd_flags |= cmd_flags;
    ms.cmd_inv_flags |= !cmd_flags;
    ms.commands.push(MultiCmd { argv, cmd: id });
}

/// Redis: multi.c discardTransaction(): out of MULTI, queue dropped, keys unwatched.
pub fn discard_transaction(srv: &mut Server, c: &mut Client) {
    c.mstate = MultiState::default();
    c.flags &= !(CLIENT_MULTI | CLIENT_DIRTY_EXEC);
    forget_client_watches(srv, c.id);
}

/// Redis: multi.c flagTransaction(): a command rejected inside MULTI dooms the EXEC.
pub fn flag_transaction(c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        c.flags |= CLIENT_DIRTY_EXEC;
    }
}

/// Redis: multi.c multiCommand().
pub fn multi_command(_srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        return c.reply.add_reply_error("MULTI calls can not be nested");
    }
    c.flags |= CLIENT_MULTI;
    c.reply.add_reply_ok();
}

/// Redis: multi.c discardCommand().
pub fn discard_command(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI == 0 {
        return c.reply.add_reply_error("DISCARD without MULTI");
    }
    discard_transaction(srv, c);
    c.reply.add_reply_ok();
}

/// Redis: multi.c execCommandAbort(): EXEC itself was rejected by processCommand (e.g.
/// arity): the transaction ends with `-EXECABORT` and the reason.
pub fn exec_command_abort(srv: &mut Server, c: &mut Client, error: &[u8]) {
    discard_transaction(srv, c);
    let error = error.strip_prefix(b"-").unwrap_or(error);
    let end = error.iter().rposition(|&b| b != b'\r' && b != b'\n').map_or(0, |i| i + 1);
    let mut msg = b"-EXECABORT Transaction discarded because of: ".to_vec();
    msg.extend_from_slice(&error[..end]);
    c.reply.add_reply_error_bytes(&msg);
    // MONITOR saw the MULTI: show the EXEC that ends it, though it never ran.
    if !srv.monitors.is_empty() {
        server::replication_feed_monitors(srv, c);
    }
}

/// Redis: multi.c execCommand().
pub fn exec_command(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI == 0 {
        return c.reply.add_reply_error("EXEC without MULTI");
    }
    if is_watched_key_expired(srv, c.id) {
        set_dirty_cas(srv, c.id);
    }
    if c.flags & CLIENT_DIRTY_EXEC != 0 {
        c.reply.add_reply_error(EXECABORT_ERR);
        return discard_transaction(srv, c);
    }
    if is_dirty_cas(srv, c.id) {
        c.reply.add_reply_null_array();
        return discard_transaction(srv, c);
    }
    // Blocking commands must answer at once inside a transaction (as on a timeout).
    let old_flags = c.flags;
    c.flags |= CLIENT_DENY_BLOCKING;
    unwatch_all_keys(srv, c.id);
    run_queued_commands(srv, c);
    if old_flags & CLIENT_DENY_BLOCKING == 0 {
        c.flags &= !CLIENT_DENY_BLOCKING;
    }
    discard_transaction(srv, c);
}

/// The loop of execCommand(): each queued command goes through call() with its own argv;
/// the EXEC's argv and command are restored afterwards.
fn run_queued_commands(srv: &mut Server, c: &mut Client) {
    let commands = std::mem::take(&mut c.mstate.commands);
    let exec_argv = std::mem::take(&mut c.argv);
    let exec_cmd = c.cmd;
    c.reply.add_reply_array_len(commands.len());
    for queued in commands {
        c.argv = queued.argv;
        server::call(srv, c, queued.cmd);
    }
    c.argv = exec_argv;
    c.cmd = exec_cmd;
}

/// Redis: multi.c multiStateMemOverhead(): queued arguments, queue slots, watched keys.
pub fn multi_state_mem_overhead(srv: &Server, c: &Client) -> usize {
    c.mstate.argv_len_sums
        + c.mstate.alloc_count * MULTI_CMD_SIZE
        + srv.watched_keys.watched_count(c.id) * WATCHED_KEY_SIZE
}

// ----------------------------------------------------------------------------------------
// WATCH
// ----------------------------------------------------------------------------------------

/// Redis: the CLIENT_DIRTY_CAS flag: a watched key was touched since WATCH.
pub fn is_dirty_cas(srv: &Server, id: u64) -> bool {
    srv.watched_keys.clients.get(&id).is_some_and(|w| w.dirty_cas)
}

fn set_dirty_cas(srv: &mut Server, id: u64) {
    srv.watched_keys.clients.entry(id).or_default().dirty_cas = true;
}

/// Marks the client dirty and drops its watches: nothing can make its EXEC succeed now.
fn invalidate_watcher(srv: &mut Server, id: u64) {
    set_dirty_cas(srv, id);
    unwatch_all_keys(srv, id);
}

/// Redis: multi.c watchForKey().
fn watch_for_key(srv: &mut Server, id: u64, dbid: usize, key: &[u8]) {
    if srv.watched_keys.watched_key_mut(id, dbid, key).is_some() {
        return;
    }
    let expired = db::key_is_expired(srv, dbid, key);
    let index = &mut srv.watched_keys;
    if index.by_db.len() <= dbid {
        index.by_db.resize_with(dbid + 1, HashMap::new);
    }
    index.by_db[dbid].entry(key.to_vec()).or_default().push(id);
    let wk = WatchedKey { db: dbid, key: key.to_vec(), expired };
    index.clients.entry(id).or_default().keys.push(wk);
}

/// Redis: multi.c unwatchAllKeys(). The dirty flag is left to the caller.
pub fn unwatch_all_keys(srv: &mut Server, id: u64) {
    let index = &mut srv.watched_keys;
    let Some(watch) = index.clients.get_mut(&id) else { return };
    for wk in std::mem::take(&mut watch.keys) {
        let Some(keys) = index.by_db.get_mut(wk.db) else { continue };
        if let Some(ids) = keys.get_mut(&wk.key) {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                keys.remove(&wk.key);
            }
        }
    }
    if !index.clients.get(&id).is_some_and(|w| w.dirty_cas) {
        index.clients.remove(&id);
    }
}

/// Unwatches every key and clears CLIENT_DIRTY_CAS: the index forgets client `id`
/// (discardTransaction, UNWATCH, and freeClient() for a closed client).
pub fn forget_client_watches(srv: &mut Server, id: u64) {
    unwatch_all_keys(srv, id);
    srv.watched_keys.clients.remove(&id);
}

/// Redis: multi.c isWatchedKeyExpired(): has a watched key expired since WATCH? Keys
/// already expired when watched do not count.
pub fn is_watched_key_expired(srv: &Server, id: u64) -> bool {
    let Some(watch) = srv.watched_keys.clients.get(&id) else { return false };
    watch.keys.iter().any(|wk| !wk.expired && db::key_is_expired(srv, wk.db, &wk.key))
}

/// Redis: multi.c touchWatchedKey(): `key` of `dbid` changed; its watchers' EXEC will fail.
pub fn touch_watched_key(srv: &mut Server, dbid: usize, key: &[u8]) {
    let Some(ids) = srv.watched_keys.watchers(dbid, key).cloned() else { return };
    let present = srv.db.get(dbid).is_some_and(|db| db.dict.get(key).is_some());
    let mut invalidated = Vec::new();
    for id in ids {
        let Some(wk) = srv.watched_keys.watched_key_mut(id, dbid, key) else { continue };
        if wk.expired {
            if !present {
                // The already expired key is now deleted: logically nothing changed.
                wk.expired = false;
                continue;
            }
            // Redis 7.0 leaves the loop here, sparing this watcher and those after it.
            break;
        }
        invalidated.push(id);
    }
    for id in invalidated {
        invalidate_watcher(srv, id);
    }
}

/// Redis: multi.c touchAllWatchedKeysInDb(): `emptied` is flushed (`replaced_with` None)
/// or swapped with `replaced_with`: watchers of keys that exist in either db are
/// invalidated, unless the key stays logically absent (expired) on both sides.
pub fn touch_all_watched_keys_in_db(srv: &mut Server, emptied: usize, replaced_with: Option<usize>) {
    let Some(watched) = srv.watched_keys.by_db.get(emptied).filter(|m| !m.is_empty()) else { return };
    let watched: Vec<(Vec<u8>, Vec<u64>)> = watched.iter().map(|(k, ids)| (k.clone(), ids.clone())).collect();
    for (key, ids) in watched {
        let in_emptied = srv.db.get(emptied).is_some_and(|db| db.dict.get(&key).is_some());
        let replacement = replaced_with.filter(|&r| srv.db.get(r).is_some_and(|db| db.dict.get(&key).is_some()));
        if !in_emptied && replacement.is_none() {
            continue;
        }
        let change = DbChange {
            in_emptied,
            in_replacement: replacement.is_some(),
            replacement_expired: replacement.is_some_and(|r| db::key_is_expired(srv, r, &key)),
        };
        for id in ids {
            // An earlier invalidation in this pass may have dropped the watch already.
            let Some(wk) = srv.watched_keys.watched_key_mut(id, emptied, &key) else { continue };
            if change.invalidates(wk) {
                invalidate_watcher(srv, id);
            }
        }
    }
}

/// Where a watched key stands when its db is flushed or swapped.
struct DbChange {
    in_emptied: bool,
    in_replacement: bool,
    replacement_expired: bool,
}

impl DbChange {
    /// The per-watcher decision of touchAllWatchedKeysInDb(); when the key stays logically
    /// missing, the watcher's "expired" mark is updated instead.
    fn invalidates(&self, wk: &mut WatchedKey) -> bool {
        if wk.expired {
            if !self.in_replacement {
                // The expired key is now deleted: no logical change.
                wk.expired = false;
                return false;
            }
            return !self.replacement_expired;
        }
        if !self.in_emptied && self.replacement_expired {
            // A missing key replaced by an expired one is still logically missing.
            wk.expired = true;
            return false;
        }
        true
    }
}

/// Redis: multi.c watchCommand().
pub fn watch_command(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MULTI != 0 {
        return c.reply.add_reply_error("WATCH inside MULTI is not allowed");
    }
    // No point in watching more once the EXEC is sure to fail.
    if !is_dirty_cas(srv, c.id) {
        for key in c.argv.iter().skip(1) {
            watch_for_key(srv, c.id, c.db, key);
        }
    }
    c.reply.add_reply_ok();
}

/// Redis: multi.c unwatchCommand(): also forgives a past touch (clears CLIENT_DIRTY_CAS).
pub fn unwatch_command(srv: &mut Server, c: &mut Client) {
    forget_client_watches(srv, c.id);
    c.reply.add_reply_ok();
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::command_table::CommandTable;
    use crate::test_support::test_server;

    /// A server whose command table is the live one plus SAVE (a CMD_NO_MULTI command).
    fn server() -> Server {
        let mut srv = test_server();
        srv.commands = CommandTable::populate(crate::commands::COMMAND_TABLE, |name| match name {
            "save" => Some(|_: &mut Server, c: &mut Client| c.reply.add_reply_ok()),
            _ => crate::command_procs::command_proc(name),
        });
        srv
    }

    fn client(srv: &mut Server) -> Client {
        let id = srv.next_client_id();
        Client::new(id, None, 0)
    }

    /// Runs one command line through process_command, as the networking layer would.
    fn run(srv: &mut Server, c: &mut Client, line: &str) -> String {
        c.argv.clear();
        for arg in line.split_whitespace() {
            c.argv.push(arg.as_bytes());
        }
        server::process_command(srv, c);
        c.reset_client();
        let out = String::from_utf8_lossy(&c.reply.pending()).into_owned();
        c.reply.advance(c.reply.pending_len());
        out
    }

    #[test]
    fn queued_commands_run_at_exec_in_order() {
        let mut srv = server();
        let mut c = client(&mut srv);
        assert_eq!(run(&mut srv, &mut c, "MULTI"), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, "SET a 1"), "+QUEUED\r\n");
        assert_eq!(run(&mut srv, &mut c, "INCR a"), "+QUEUED\r\n");
        assert_eq!(run(&mut srv, &mut c, "LPUSH a x"), "+QUEUED\r\n");
        assert_eq!(c.mstate.count(), 3);
        assert_eq!(run(&mut srv, &mut c, "GET a"), "+QUEUED\r\n");
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        assert_eq!(run(&mut srv, &mut c, "EXEC"), format!("*4\r\n+OK\r\n:2\r\n{wrongtype}$1\r\n2\r\n"));
        assert_eq!(c.flags & (CLIENT_MULTI | CLIENT_DENY_BLOCKING | CLIENT_DIRTY_EXEC), 0);
        assert_eq!(c.mstate.count(), 0);
        // CLIENT LIST shows EXEC as the last command, not the last queued one.
        assert_eq!(srv.commands.get(c.lastcmd.unwrap_or(usize::MAX)).map(|cmd| cmd.fullname.as_str()), Some("exec"));
    }

    #[test]
    fn rejected_commands_doom_the_transaction() {
        let mut srv = server();
        let mut c = client(&mut srv);
        for rejected in ["NOSUCH x", "GET", "SAVE"] {
            assert_eq!(run(&mut srv, &mut c, "MULTI"), "+OK\r\n");
            let reply = run(&mut srv, &mut c, rejected);
            assert!(reply.starts_with("-ERR "), "{rejected}: {reply}");
            assert_eq!(c.flags & CLIENT_DIRTY_EXEC, CLIENT_DIRTY_EXEC);
            // Still answered QUEUED, but nothing is kept.
            assert_eq!(run(&mut srv, &mut c, "SET a 1"), "+QUEUED\r\n");
            assert_eq!(c.mstate.count(), 0);
            assert_eq!(run(&mut srv, &mut c, "EXEC"), format!("{EXECABORT_ERR}\r\n"));
        }
        assert_eq!(run(&mut srv, &mut c, "MULTI"), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, "SAVE"), "-ERR Command not allowed inside a transaction\r\n");
        assert_eq!(run(&mut srv, &mut c, "DISCARD"), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, "GET a"), "$-1\r\n");
    }

    #[test]
    fn transaction_commands_run_at_once_and_their_errors() {
        let mut srv = server();
        let mut c = client(&mut srv);
        assert_eq!(run(&mut srv, &mut c, "EXEC"), "-ERR EXEC without MULTI\r\n");
        assert_eq!(run(&mut srv, &mut c, "DISCARD"), "-ERR DISCARD without MULTI\r\n");
        assert_eq!(run(&mut srv, &mut c, "MULTI"), "+OK\r\n");
        assert_eq!(run(&mut srv, &mut c, "MULTI"), "-ERR MULTI calls can not be nested\r\n");
        assert_eq!(run(&mut srv, &mut c, "WATCH k"), "-ERR WATCH inside MULTI is not allowed\r\n");
        assert_eq!(c.flags & CLIENT_DIRTY_EXEC, 0);
        assert_eq!(
            run(&mut srv, &mut c, "EXEC x"),
            "-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n"
        );
        assert_eq!(c.flags & CLIENT_MULTI, 0);
    }

    #[test]
    fn a_touched_watch_makes_exec_answer_null() {
        let mut srv = server();
        let (mut c1, mut c2) = (client(&mut srv), client(&mut srv));
        run(&mut srv, &mut c1, "SET w 1");
        assert_eq!(run(&mut srv, &mut c1, "WATCH w w other"), "+OK\r\n");
        assert_eq!(srv.watched_keys.watched_count(c1.id), 2);
        run(&mut srv, &mut c2, "SET w 2");
        assert!(is_dirty_cas(&srv, c1.id));
        // The touch dropped the watches at once.
        assert_eq!(srv.watched_keys.total_watched_keys(), 0);
        run(&mut srv, &mut c1, "MULTI");
        run(&mut srv, &mut c1, "GET w");
        assert_eq!(run(&mut srv, &mut c1, "EXEC"), "*-1\r\n");
        assert!(!is_dirty_cas(&srv, c1.id));
        // An untouched watch lets EXEC run; EXEC unwatches.
        run(&mut srv, &mut c1, "WATCH w");
        run(&mut srv, &mut c1, "MULTI");
        run(&mut srv, &mut c1, "GET w");
        assert_eq!(run(&mut srv, &mut c1, "EXEC"), "*1\r\n$1\r\n2\r\n");
        assert_eq!(srv.watched_keys.total_watched_keys(), 0);
    }

    #[test]
    fn unwatch_reset_and_free_forget_the_client() {
        let mut srv = server();
        let (mut c1, mut c2) = (client(&mut srv), client(&mut srv));
        run(&mut srv, &mut c1, "WATCH a");
        run(&mut srv, &mut c2, "SET a 1");
        assert_eq!(run(&mut srv, &mut c1, "UNWATCH"), "+OK\r\n");
        assert!(!is_dirty_cas(&srv, c1.id));
        run(&mut srv, &mut c1, "WATCH a b");
        run(&mut srv, &mut c1, "MULTI");
        assert_eq!(run(&mut srv, &mut c1, "RESET"), "+RESET\r\n");
        assert_eq!(c1.flags & CLIENT_MULTI, 0);
        assert_eq!(srv.watched_keys.total_watched_keys(), 0);
        run(&mut srv, &mut c2, "WATCH a");
        forget_client_watches(&mut srv, c2.id);
        assert_eq!(srv.watched_keys.total_watched_keys(), 0);
        assert!(srv.watched_keys.clients.is_empty());
    }

    #[test]
    fn flush_and_swapdb_touch_keys_that_exist_on_either_side() {
        let mut srv = server();
        let (mut c1, mut c2) = (client(&mut srv), client(&mut srv));
        run(&mut srv, &mut c1, "WATCH missing");
        run(&mut srv, &mut c2, "SET other 1");
        run(&mut srv, &mut c2, "FLUSHDB");
        assert!(!is_dirty_cas(&srv, c1.id));
        run(&mut srv, &mut c2, "SELECT 1");
        run(&mut srv, &mut c2, "SET missing 1");
        run(&mut srv, &mut c2, "SWAPDB 0 1");
        assert!(is_dirty_cas(&srv, c1.id));
        run(&mut srv, &mut c1, "UNWATCH");
        run(&mut srv, &mut c1, "WATCH missing");
        run(&mut srv, &mut c2, "FLUSHALL");
        assert!(is_dirty_cas(&srv, c1.id));
    }

    /// Makes `key` of db 0 a key whose TTL has passed but that nothing deleted yet.
    fn set_expired(srv: &mut Server, c: &mut Client, key: &str) {
        run(srv, c, &format!("SET {key} v"));
        if let Some(db) = srv.db.get_mut(0) {
            db.set_expire(key.as_bytes(), 1);
        }
    }

    #[test]
    fn keys_expired_when_watched_stay_missing() {
        let mut srv = server();
        let (mut c1, mut c2) = (client(&mut srv), client(&mut srv));
        set_expired(&mut srv, &mut c2, "e");
        run(&mut srv, &mut c1, "WATCH e");
        assert!(!is_watched_key_expired(&srv, c1.id));
        // The lazy deletion of an expired key is no change...
        assert_eq!(run(&mut srv, &mut c2, "GET e"), "$-1\r\n");
        assert!(!is_dirty_cas(&srv, c1.id));
        // ...but a new value is.
        run(&mut srv, &mut c2, "SET e new");
        assert!(is_dirty_cas(&srv, c1.id));
    }

    #[test]
    fn a_watched_key_that_expires_before_exec_fails_it() {
        let mut srv = server();
        let mut c = client(&mut srv);
        run(&mut srv, &mut c, "SET e v");
        run(&mut srv, &mut c, "WATCH e");
        if let Some(db) = srv.db.get_mut(0) {
            db.set_expire(b"e", 1);
        }
        run(&mut srv, &mut c, "MULTI");
        run(&mut srv, &mut c, "PING");
        assert_eq!(run(&mut srv, &mut c, "EXEC"), "*-1\r\n");
    }

    #[test]
    fn touching_a_present_key_watched_as_expired_stops_like_redis() {
        let mut srv = server();
        let (mut c1, mut c2, mut c3) = (client(&mut srv), client(&mut srv), client(&mut srv));
        set_expired(&mut srv, &mut c3, "k");
        run(&mut srv, &mut c1, "WATCH k");
        if let Some(db) = srv.db.get_mut(0) {
            db.remove_expire(b"k");
        }
        run(&mut srv, &mut c2, "WATCH k");
        // Redis 7.0's touchWatchedKey() leaves its loop at c1's stale "expired" mark.
        srv.signal_modified_key(0, b"k");
        assert!(!is_dirty_cas(&srv, c1.id));
        assert!(!is_dirty_cas(&srv, c2.id));
    }

    #[test]
    fn client_list_shows_the_transaction() {
        let mut srv = server();
        let (mut c1, mut c2) = (client(&mut srv), client(&mut srv));
        run(&mut srv, &mut c1, "MULTI");
        run(&mut srv, &mut c1, "SET a b");
        run(&mut srv, &mut c1, "GET foo");
        // Redis: argument bytes plus a pointer each (29 + 22), two reserved queue slots.
        assert_eq!(c1.mstate.argv_len_sums, 51);
        assert_eq!(multi_state_mem_overhead(&srv, &c1), 51 + 2 * MULTI_CMD_SIZE);
        let line = crate::client::cat_client_info_string(&srv, &c1);
        assert!(line.contains(" flags=x ") && line.contains(" multi=2 ") && line.contains(" multi-mem=51 "), "{line}");
        run(&mut srv, &mut c1, "DISCARD");
        run(&mut srv, &mut c1, "WATCH a");
        assert_eq!(multi_state_mem_overhead(&srv, &c1), WATCHED_KEY_SIZE);
        run(&mut srv, &mut c2, "SET a 1");
        run(&mut srv, &mut c1, "MULTI");
        let line = crate::client::cat_client_info_string(&srv, &c1);
        assert!(line.contains(" flags=xd ") && line.contains(" multi=0 ") && line.contains(" multi-mem=0 "), "{line}");
        let line = crate::client::cat_client_info_string(&srv, &c2);
        assert!(line.contains(" flags=N ") && line.contains(" multi=-1 "), "{line}");
    }
}

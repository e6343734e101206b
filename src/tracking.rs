//! Client-side caching: Redis's tracking.c, plus the TRACKING, CACHING, GETREDIR and
//! TRACKINGINFO branches of networking.c clientCommand().
//!
//! A tracking client's reads fill a table key -> ids of the clients that may cache the key
//! (Redis's TrackingTable radix tree); when a key changes (`Server::signal_modified_key`),
//! every client in its entry gets an invalidation and the entry goes. BCAST clients
//! subscribe to key prefixes instead: changed keys are gathered per prefix and sent from
//! `before_sleep`. FLUSHDB/FLUSHALL send a null ("everything") to every tracking client.
//!
//! Everything runs on the event-loop thread. The per-client state (Redis keeps it in
//! c->flags and c->client_tracking_*) lives here, keyed by client id, so it can be read
//! while the client whose command runs is out of `srv.clients`. That client's own
//! invalidations wait in `pending_keys` until its reply is complete (Redis:
//! trackingHandlePendingKeyInvalidations); a message that must reach it at once (it is
//! someone's redirection target) waits in `undelivered` until `call()` hands the client
//! back, and goes ahead of the command's reply, where Redis would have written it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::command_def::CMD_READONLY;
use crate::dict::Dict;
use crate::networking::{self, Client, CLIENT_BLOCKED, CLIENT_CLOSE_ASAP, CLIENT_MULTI, CLIENT_PUBSUB};
use crate::reply::Reply;
use crate::server::Server;

// Redis: server.h CLIENT_TRACKING* (same bits; kept in `ClientTracking::flags`).
pub const CLIENT_TRACKING: u64 = 1 << 31;
pub const CLIENT_TRACKING_BROKEN_REDIR: u64 = 1 << 32;
pub const CLIENT_TRACKING_BCAST: u64 = 1 << 33;
pub const CLIENT_TRACKING_OPTIN: u64 = 1 << 34;
pub const CLIENT_TRACKING_OPTOUT: u64 = 1 << 35;
pub const CLIENT_TRACKING_CACHING: u64 = 1 << 36;
pub const CLIENT_TRACKING_NOLOOP: u64 = 1 << 37;

/// Redis: TrackingChannelName, where RESP2 redirection targets get their messages.
const TRACKING_CHANNEL: &[u8] = b"__redis__:invalidate";

/// The tracking state of one client (Redis: the CLIENT_TRACKING* bits of c->flags,
/// c->client_tracking_redirection, c->client_tracking_prefixes). Present only while
/// tracking is on, as Redis clears everything in disableTracking().
#[derive(Debug, Default, Clone)]
struct ClientTracking {
    flags: u64,
    redirect: u64,
    prefixes: BTreeSet<Vec<u8>>,
}

/// Redis: bcastState: the keys changed this loop turn under one prefix (each with the
/// client that changed it last, for NOLOOP) and the BCAST clients of that prefix.
#[derive(Debug, Default)]
struct BcastState {
    keys: BTreeMap<Vec<u8>, Option<u64>>,
    clients: BTreeSet<u64>,
}

/// What one client is sent. The encoding depends on the receiver (RESP version, Pub/Sub
/// mode), which is only known once it is in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Message {
    /// `invalidate` with its payload (an array of keys or a null) as protocol bytes;
    /// `redirected` when sent to another client than the tracking one.
    Invalidate { payload: Vec<u8>, redirected: bool },
    /// The redirection target is gone (only RESP3 clients hear it).
    RedirBroken(u64),
}

/// Redis: the globals of tracking.c (TrackingTable, PrefixTable, TrackingTableTotalItems)
/// plus server.tracking_clients and server.tracking_pending_keys.
#[derive(Default)]
pub struct TrackingState {
    table: Dict<Vec<u8>, BTreeSet<u64>>,
    total_items: u64,
    prefixes: BTreeMap<Vec<u8>, BcastState>,
    clients: HashMap<u64, ClientTracking>,
    /// Keys whose invalidation waits for the running command's reply (None: a flush).
    pending_keys: Vec<Option<Vec<u8>>>,
    /// Messages for a client that was out of `srv.clients` when they were sent.
    undelivered: Vec<(u64, Message)>,
    /// Redis: the static timeout_counter of trackingLimitUsedSlots().
    limit_timeout_counter: u32,
}

impl TrackingState {
    /// Redis: server.tracking_clients (INFO tracking_clients).
    pub fn tracking_clients(&self) -> usize {
        self.clients.len()
    }

    /// Redis: trackingGetTotalKeys().
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    /// Redis: trackingGetTotalItems().
    pub fn total_items(&self) -> u64 {
        self.total_items
    }

    /// Redis: trackingGetTotalPrefixes().
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    fn flags(&self, id: u64) -> u64 {
        self.clients.get(&id).map_or(0, |t| t.flags)
    }

    /// The CLIENT_TRACKING* bits of a client, for the flags of CLIENT LIST.
    pub fn client_flags(&self, id: u64) -> u64 {
        self.flags(id)
    }

    /// The `redir=` of CLIENT LIST: the redirection while tracking, else -1.
    pub fn client_redirection(&self, id: u64) -> i64 {
        self.clients.get(&id).map_or(-1, |t| t.redirect as i64)
    }
}

// ----------------------------------------------------------------------------------------
// Enabling and disabling
// ----------------------------------------------------------------------------------------

/// Redis: tracking.c disableTracking(). The ids left in the table are dropped lazily,
/// when their keys are invalidated.
pub fn disable_tracking(srv: &mut Server, id: u64) {
    let Some(t) = srv.tracking.clients.remove(&id) else { return };
    if t.flags & CLIENT_TRACKING_BCAST == 0 {
        return;
    }
    for prefix in &t.prefixes {
        let Some(bs) = srv.tracking.prefixes.get_mut(prefix) else { continue };
        bs.clients.remove(&id);
        if bs.clients.is_empty() {
            srv.tracking.prefixes.remove(prefix);
        }
    }
}

/// What freeClient() does for tracking: disableTracking(), and nothing more is owed to it.
pub fn tracking_client_freed(srv: &mut Server, id: u64) {
    disable_tracking(srv, id);
    srv.tracking.undelivered.retain(|(to, _)| *to != id);
}

/// Redis: tracking.c enableBcastTrackingForPrefix().
fn enable_bcast_tracking_for_prefix(state: &mut TrackingState, id: u64, prefix: &[u8]) {
    let bs = state.prefixes.entry(prefix.to_vec()).or_default();
    if bs.clients.insert(id) {
        if let Some(t) = state.clients.get_mut(&id) {
            t.prefixes.insert(prefix.to_vec());
        }
    }
}

/// Redis: tracking.c enableTracking(). The CACHING bit survives a re-enable, as in Redis.
fn enable_tracking(srv: &mut Server, id: u64, redirect: u64, options: u64, prefixes: &[Vec<u8>]) {
    let state = &mut srv.tracking;
    let t = state.clients.entry(id).or_default();
    t.flags |= CLIENT_TRACKING;
    t.flags &= !(CLIENT_TRACKING_BROKEN_REDIR
        | CLIENT_TRACKING_BCAST
        | CLIENT_TRACKING_OPTIN
        | CLIENT_TRACKING_OPTOUT
        | CLIENT_TRACKING_NOLOOP);
    t.redirect = redirect;
    if options & CLIENT_TRACKING_BCAST != 0 {
        t.flags |= CLIENT_TRACKING_BCAST;
        if prefixes.is_empty() {
            enable_bcast_tracking_for_prefix(state, id, b"");
        }
        for prefix in prefixes {
            enable_bcast_tracking_for_prefix(state, id, prefix);
        }
    }
    if let Some(t) = state.clients.get_mut(&id) {
        t.flags |= options & (CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT | CLIENT_TRACKING_NOLOOP);
    }
}

/// Redis: stringCheckPrefix(): one is a prefix of the other.
fn prefixes_overlap(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a.get(..n) == b.get(..n)
}

/// How checkPrefixCollisionsOrReply() ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrefixCheck {
    Ok,
    /// An error was replied and the command stops.
    Rejected,
    /// An error was replied, yet Redis 7.0 goes on (its `return i` is true for i > 0) and
    /// also enables tracking and replies +OK: two replies, reproduced as is.
    RepliedAndContinue,
}

/// Redis: tracking.c checkPrefixCollisionsOrReply().
fn check_prefix_collisions_or_reply(existing: &BTreeSet<Vec<u8>>, prefixes: &[Vec<u8>], reply: &mut Reply) -> PrefixCheck {
    for (i, prefix) in prefixes.iter().enumerate() {
        if let Some(old) = existing.iter().find(|old| prefixes_overlap(old, prefix)) {
            add_reply_overlap_error(reply, prefix, "an existing", old);
            return PrefixCheck::Rejected;
        }
        let later = prefixes.get(i + 1..).unwrap_or(&[]);
        if let Some(other) = later.iter().find(|other| prefixes_overlap(prefix, other)) {
            add_reply_overlap_error(reply, prefix, "another provided", other);
            return if i == 0 { PrefixCheck::Rejected } else { PrefixCheck::RepliedAndContinue };
        }
    }
    PrefixCheck::Ok
}

fn add_reply_overlap_error(reply: &mut Reply, prefix: &[u8], which: &str, other: &[u8]) {
    let mut msg = b"Prefix '".to_vec();
    msg.extend_from_slice(c_str(prefix));
    msg.extend_from_slice(format!("' overlaps with {which} prefix '").as_bytes());
    msg.extend_from_slice(c_str(other));
    msg.extend_from_slice(b"'. Prefixes for a single client must not overlap.");
    reply.add_reply_error_bytes(&msg);
}

/// A C string's view of bytes (`%s` stops at the first NUL).
fn c_str(bytes: &[u8]) -> &[u8] {
    let end = memchr::memchr(0, bytes).unwrap_or(bytes.len());
    bytes.get(..end).unwrap_or(bytes)
}

// ----------------------------------------------------------------------------------------
// Remembering keys
// ----------------------------------------------------------------------------------------

/// Redis: tracking.c trackingRememberKeys(): after a read-only command, the keys it named
/// go in the table for the client (OPTIN/OPTOUT and CACHING permitting).
fn tracking_remember_keys(srv: &mut Server, c: &Client, cmd_id: usize) {
    let flags = srv.tracking.flags(c.id);
    let optin = flags & CLIENT_TRACKING_OPTIN != 0;
    let optout = flags & CLIENT_TRACKING_OPTOUT != 0;
    let caching_given = flags & CLIENT_TRACKING_CACHING != 0;
    if (optin && !caching_given) || (optout && caching_given) {
        return;
    }
    let Some(cmd) = srv.commands.get(cmd_id) else { return };
    let argv: Vec<&[u8]> = c.argv.iter().collect();
    let refs = crate::keyspec::get_keys_from_command(cmd, &argv);
    for key in refs.iter().filter_map(|r| argv.get(r.pos)) {
        remember_key(&mut srv.tracking, key, c.id);
    }
}

fn remember_key(state: &mut TrackingState, key: &[u8], id: u64) {
    let ids = state.table.find_or_insert_with(key, || key.to_vec(), BTreeSet::new);
    if ids.insert(id) {
        state.total_items += 1;
    }
}

// ----------------------------------------------------------------------------------------
// Sending
// ----------------------------------------------------------------------------------------

/// The payload of a one-key invalidation: an array holding the key.
fn key_payload(key: &[u8]) -> Vec<u8> {
    let mut scratch = Reply::default();
    scratch.add_reply_array_len(1);
    scratch.add_reply_bulk(key);
    scratch.pending().to_vec()
}

/// Redis: shared.null[resp].
fn null_payload(resp: u8) -> Vec<u8> {
    if resp >= 3 { b"_\r\n".to_vec() } else { b"$-1\r\n".to_vec() }
}

/// Writes `msg` for a client speaking `reply.resp`, in Pub/Sub mode or not. Pushes pass
/// CLIENT REPLY OFF/SKIP (Redis: CLIENT_PUSHING).
fn render(msg: &Message, reply: &mut Reply, pubsub: bool) {
    let muted = std::mem::replace(&mut reply.muted, false);
    match msg {
        Message::Invalidate { payload, redirected } => {
            if reply.resp > 2 {
                reply.add_reply_push_len(2);
                reply.add_reply_bulk(b"invalidate");
                reply.add_reply_proto(payload);
            } else if *redirected && pubsub {
                reply.add_reply_push_len(3);
                reply.add_reply_bulk(b"message");
                reply.add_reply_bulk(TRACKING_CHANNEL);
                reply.add_reply_proto(payload);
            }
            // Else RESP2 without a redirection: nothing can carry it.
        }
        Message::RedirBroken(id) if reply.resp > 2 => {
            reply.add_reply_push_len(2);
            reply.add_reply_bulk(b"tracking-redir-broken");
            reply.add_reply_long_long(*id as i64);
        }
        Message::RedirBroken(_) => {}
    }
    reply.muted = muted;
}

fn render_to_client(msg: &Message, c: &mut Client) {
    let pubsub = c.flags & CLIENT_PUBSUB != 0;
    render(msg, &mut c.reply, pubsub);
}

/// Appends `msg` to client `to`: `cur` when that is it, else the client in `srv.clients`
/// (queued for writing, output limits checked as addReply does), else — the client is out
/// of `srv.clients` running a command — kept for `call()` to place.
fn deliver(srv: &mut Server, cur: Option<&mut Client>, to: u64, msg: Message) {
    if let Some(c) = cur.filter(|c| c.id == to) {
        return render_to_client(&msg, c);
    }
    let Some(mut other) = srv.take_client_by_id(to) else {
        if srv.client_fds.contains_key(&to) {
            srv.tracking.undelivered.push((to, msg));
        }
        return;
    };
    // Redis: prepareClientToWrite() refuses a client already scheduled to close.
    if other.flags & CLIENT_CLOSE_ASAP == 0 {
        render_to_client(&msg, &mut other);
        networking::close_client_on_output_buffer_limit_reached(srv, &mut other);
    }
    srv.put_client(other);
    srv.queue_reply_write(to);
}

/// Redis: tracking.c sendTrackingMessage(): `payload` (protocol bytes: an array of keys or
/// a null) goes to the tracking client `id`, or to its redirection target.
fn send_tracking_message(srv: &mut Server, cur: Option<&mut Client>, id: u64, payload: Vec<u8>) {
    let redirect = srv.tracking.clients.get(&id).map_or(0, |t| t.redirect);
    if redirect == 0 {
        return deliver(srv, cur, id, Message::Invalidate { payload, redirected: false });
    }
    // Redis: lookupClientByID() also finds the client whose command is running.
    if srv.client_fds.contains_key(&redirect) {
        return deliver(srv, cur, redirect, Message::Invalidate { payload, redirected: true });
    }
    if let Some(t) = srv.tracking.clients.get_mut(&id) {
        t.flags |= CLIENT_TRACKING_BROKEN_REDIR;
    }
    deliver(srv, cur, id, Message::RedirBroken(redirect));
}

/// Places what was sent to `c` while it was out of `srv.clients`: at `mark`, where its
/// command's reply starts, or at the end when `mark` is None.
fn deliver_undelivered(srv: &mut Server, c: &mut Client, mark: Option<usize>) {
    if !srv.tracking.undelivered.iter().any(|(to, _)| *to == c.id) {
        return;
    }
    let queued = std::mem::take(&mut srv.tracking.undelivered);
    let (mine, others): (Vec<_>, Vec<_>) = queued.into_iter().partition(|(to, _)| *to == c.id);
    srv.tracking.undelivered = others;
    let mut scratch = Reply::default();
    scratch.resp = c.reply.resp;
    let pubsub = c.flags & CLIENT_PUBSUB != 0;
    for (_, msg) in &mine {
        render(msg, &mut scratch, pubsub);
    }
    // Inserted whatever CLIENT REPLY says: these are pushes.
    c.reply.insert_proto_at(mark.unwrap_or(usize::MAX), &scratch.pending());
}

// ----------------------------------------------------------------------------------------
// Invalidation
// ----------------------------------------------------------------------------------------

/// Redis: tracking.c trackingRememberKeyToBroadcast(): the key joins the changed keys of
/// every prefix it starts with, remembering who changed it last.
fn tracking_remember_key_to_broadcast(state: &mut TrackingState, modifier: Option<u64>, key: &[u8]) {
    for (prefix, bs) in state.prefixes.iter_mut() {
        if key.starts_with(prefix) {
            bs.keys.insert(key.to_vec(), modifier);
        }
    }
}

/// Redis: tracking.c trackingInvalidateKey(): every client that may cache `key` is told,
/// and the key leaves the table. `modifier` is the client that changed the key (None for
/// expiry and eviction); `bcast` also queues the key for BCAST clients.
pub fn tracking_invalidate_key(srv: &mut Server, modifier: Option<u64>, key: &[u8], bcast: bool) {
    if bcast && !srv.tracking.prefixes.is_empty() {
        tracking_remember_key_to_broadcast(&mut srv.tracking, modifier, key);
    }
    let Some((_, ids)) = srv.tracking.table.remove(key) else { return };
    srv.tracking.total_items = srv.tracking.total_items.saturating_sub(ids.len() as u64);
    let executing = srv.current_client_id;
    for id in ids {
        let flags = srv.tracking.flags(id);
        // Gone, no longer tracking, or now in BCAST mode: the id was stale.
        if flags & CLIENT_TRACKING == 0 || flags & CLIENT_TRACKING_BCAST != 0 {
            continue;
        }
        let is_current = executing != 0 && id == executing;
        if flags & CLIENT_TRACKING_NOLOOP != 0 && is_current {
            continue;
        }
        // The running client hears about it after its reply.
        if is_current {
            srv.tracking.pending_keys.push(Some(key.to_vec()));
        } else {
            send_tracking_message(srv, None, id, key_payload(key));
        }
    }
}

/// Redis: tracking.c trackingHandlePendingKeyInvalidations(), from afterCommand().
fn tracking_handle_pending_key_invalidations(srv: &mut Server, c: &mut Client) {
    for key in std::mem::take(&mut srv.tracking.pending_keys) {
        let payload = match key {
            Some(key) => key_payload(&key),
            None => null_payload(c.reply.resp),
        };
        let id = c.id;
        send_tracking_message(srv, Some(c), id, payload);
    }
}

/// Redis: tracking.c trackingInvalidateKeysOnFlush(), from signalFlushedDb(): a null to
/// every tracking client (each in its own RESP), then the table is emptied.
pub fn tracking_invalidate_keys_on_flush(srv: &mut Server, _async: bool) {
    let mut ids: Vec<u64> = srv.tracking.clients.keys().copied().collect();
    ids.sort_unstable(); // Redis walks server.clients: creation order.
    for id in ids {
        if srv.current_client_id != 0 && id == srv.current_client_id {
            srv.tracking.pending_keys.push(None);
        } else if let Some(resp) = srv.client_by_id(id).map(|c| c.reply.resp) {
            send_tracking_message(srv, None, id, null_payload(resp));
        }
    }
    srv.tracking.table = Dict::new();
    srv.tracking.total_items = 0;
}

/// Redis: tracking.c trackingLimitUsedSlots(): over tracking-table-max-keys, random keys
/// are invalidated as if modified; the effort grows each time the limit is still missed.
pub fn tracking_limit_used_slots(srv: &mut Server) {
    let max_keys = srv.config.tracking_table_max_keys;
    if max_keys == 0 {
        return;
    }
    if srv.tracking.table.len() <= max_keys {
        srv.tracking.limit_timeout_counter = 0;
        return;
    }
    let mut effort = 100 * (u64::from(srv.tracking.limit_timeout_counter) + 1);
    while effort > 0 {
        effort -= 1;
        let Some(key) = srv.tracking.table.random_entry().map(|(k, _)| k.clone()) else { break };
        tracking_invalidate_key(srv, None, &key, false);
        if srv.tracking.table.len() <= max_keys {
            srv.tracking.limit_timeout_counter = 0;
            return;
        }
    }
    srv.tracking.limit_timeout_counter = srv.tracking.limit_timeout_counter.saturating_add(1);
}

/// Redis: tracking.c trackingBuildBroadcastReply(): the keys as an array, without those
/// `exclude` changed last (NOLOOP); None when that leaves nothing.
fn tracking_build_broadcast_reply(keys: &BTreeMap<Vec<u8>, Option<u64>>, exclude: Option<u64>) -> Option<Vec<u8>> {
    let kept: Vec<&Vec<u8>> = keys.iter().filter(|(_, by)| exclude.is_none() || **by != exclude).map(|(k, _)| k).collect();
    if exclude.is_some() && kept.is_empty() {
        return None;
    }
    let mut scratch = Reply::default();
    scratch.add_reply_array_len(kept.len());
    for key in kept {
        scratch.add_reply_bulk(key);
    }
    Some(scratch.pending().to_vec())
}

/// Redis: tracking.c trackingBroadcastInvalidationMessages(), from beforeSleep(): each
/// prefix's changed keys go to its BCAST clients, then the lists start afresh.
pub fn tracking_broadcast_invalidation_messages(srv: &mut Server) {
    if srv.tracking.clients.is_empty() {
        return;
    }
    let prefixes: Vec<Vec<u8>> = srv.tracking.prefixes.keys().cloned().collect();
    for prefix in prefixes {
        let Some(bs) = srv.tracking.prefixes.get_mut(&prefix) else { continue };
        let keys = std::mem::take(&mut bs.keys);
        if keys.is_empty() {
            continue;
        }
        let clients: Vec<u64> = bs.clients.iter().copied().collect();
        let common = tracking_build_broadcast_reply(&keys, None).unwrap_or_default();
        for id in clients {
            if srv.tracking.flags(id) & CLIENT_TRACKING_NOLOOP == 0 {
                send_tracking_message(srv, None, id, common.clone());
            } else if let Some(adhoc) = tracking_build_broadcast_reply(&keys, Some(id)) {
                send_tracking_message(srv, None, id, adhoc);
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// Hooks of the command path (server.c processCommand(), call(), networking.c resetClient())
// ----------------------------------------------------------------------------------------

/// The tracking part of processCommand(): keep the table within tracking-table-max-keys;
/// what that sends to `c` itself goes before its reply.
#[inline]
pub fn tracking_before_command(srv: &mut Server, c: &mut Client) {
    if srv.tracking.tracking_clients() > 0 {
        tracking_limit_used_slots(srv);
    }
    // Asked here so the common command (nothing queued) makes no call.
    if !srv.tracking.undelivered.is_empty() {
        deliver_undelivered(srv, c, None);
    }
}

/// Appends what was sent to `c` while it was out of `srv.clients` and not running a
/// command (clients blocked on keys were served in the meantime).
pub fn tracking_deliver_late_messages(srv: &mut Server, c: &mut Client) {
    deliver_undelivered(srv, c, None);
}

/// The tracking part of call() once the command ran: messages `c` received meanwhile go
/// before its reply (at `reply_mark`), a read-only command's keys are remembered, and at
/// the top level (Redis: afterCommand()) its own invalidations follow the reply; then the
/// CACHING bit is dropped as resetClient() does.
pub fn tracking_after_call(srv: &mut Server, c: &mut Client, cmd_id: usize, reply_mark: usize, nested: bool) {
    deliver_undelivered(srv, c, Some(reply_mark));
    let flags = srv.commands.get(cmd_id).map_or(0, |cmd| cmd.def.flags);
    let tracking = srv.tracking.flags(c.id);
    if flags & CMD_READONLY != 0 && !is_script_ro(srv, cmd_id) && tracking & CLIENT_TRACKING != 0 && tracking & CLIENT_TRACKING_BCAST == 0 {
        tracking_remember_keys(srv, c, cmd_id);
    }
    if nested {
        return;
    }
    tracking_handle_pending_key_invalidations(srv, c);
    if c.flags & CLIENT_BLOCKED == 0 {
        tracking_reset_caching(srv, c, Some(cmd_id));
    }
}

/// Redis: call() leaves the keys of EVAL_RO / EVALSHA_RO / FCALL_RO to the script's reads.
fn is_script_ro(srv: &Server, cmd_id: usize) -> bool {
    srv.commands.get(cmd_id).is_some_and(|cmd| matches!(cmd.fullname.as_str(), "eval_ro" | "evalsha_ro" | "fcall_ro"))
}

/// Redis: the CACHING part of networking.c resetClient(): CLIENT CACHING applies to the
/// next command only, unless in MULTI or the command was another CLIENT subcommand.
/// `cmd_id` is the command that ran or was rejected (None: unknown command).
pub fn tracking_reset_caching(srv: &mut Server, c: &Client, cmd_id: Option<usize>) {
    if srv.tracking.flags(c.id) & CLIENT_TRACKING_CACHING == 0 || c.flags & CLIENT_MULTI != 0 {
        return;
    }
    let client_cmd = cmd_id.and_then(|id| srv.commands.get(id)).is_some_and(|cmd| cmd.fullname.starts_with("client|"));
    if let Some(t) = srv.tracking.clients.get_mut(&c.id).filter(|_| !client_cmd) {
        t.flags &= !CLIENT_TRACKING_CACHING;
    }
}

// ----------------------------------------------------------------------------------------
// Commands (Redis: networking.c clientCommand())
// ----------------------------------------------------------------------------------------

/// The options of CLIENT TRACKING.
#[derive(Debug, Default)]
struct TrackingOptions {
    redirect: i64,
    options: u64,
    prefixes: Vec<Vec<u8>>,
}

/// The option loop of CLIENT TRACKING; None once an error was replied.
fn parse_tracking_options(srv: &Server, c: &mut Client) -> Option<TrackingOptions> {
    let mut opts = TrackingOptions::default();
    let mut j = 3;
    while j < c.argv.len() {
        let moreargs = j + 1 < c.argv.len();
        let arg = c.argv.get(j).to_ascii_lowercase();
        match arg.as_slice() {
            b"redirect" if moreargs => {
                j += 1;
                opts.redirect = parse_redirect(srv, c, j, opts.redirect)?;
            }
            b"bcast" => opts.options |= CLIENT_TRACKING_BCAST,
            b"optin" => opts.options |= CLIENT_TRACKING_OPTIN,
            b"optout" => opts.options |= CLIENT_TRACKING_OPTOUT,
            b"noloop" => opts.options |= CLIENT_TRACKING_NOLOOP,
            b"prefix" if moreargs => {
                j += 1;
                opts.prefixes.push(c.argv.get(j).to_vec());
            }
            _ => {
                c.reply.add_reply_syntax_error();
                return None;
            }
        }
        j += 1;
    }
    Some(opts)
}

/// REDIRECT <id>: one only, an integer, and a client that exists right now.
fn parse_redirect(srv: &Server, c: &mut Client, j: usize, previous: i64) -> Option<i64> {
    if previous != 0 {
        c.reply.add_reply_error("A client can only redirect to a single other client");
        return None;
    }
    let Some(redir) = crate::util::string2ll(c.argv.get(j)) else {
        c.reply.add_reply_error("value is not an integer or out of range");
        return None;
    };
    if u64::try_from(redir).map_or(true, |id| !srv.client_fds.contains_key(&id)) {
        c.reply.add_reply_error("The client ID you want redirect to does not exist");
        return None;
    }
    Some(redir)
}

/// The checks of CLIENT TRACKING ON against each other and the client's current mode.
fn tracking_on_error(current: u64, options: u64, has_prefixes: bool) -> Option<&'static str> {
    let bcast = options & CLIENT_TRACKING_BCAST != 0;
    let optin = options & CLIENT_TRACKING_OPTIN != 0;
    let optout = options & CLIENT_TRACKING_OPTOUT != 0;
    if !bcast && has_prefixes {
        return Some("PREFIX option requires BCAST mode to be enabled");
    }
    if current & CLIENT_TRACKING != 0 && (current & CLIENT_TRACKING_BCAST != 0) != bcast {
        return Some("You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if bcast && (optin || optout) {
        return Some("OPTIN and OPTOUT are not compatible with BCAST");
    }
    if optin && optout {
        return Some("You can't specify both OPTIN mode and OPTOUT mode");
    }
    if (optin && current & CLIENT_TRACKING_OPTOUT != 0) || (optout && current & CLIENT_TRACKING_OPTIN != 0) {
        return Some("You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    None
}

/// Redis: CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT]
/// [NOLOOP] (networking.c clientCommand()).
pub fn client_tracking_command(srv: &mut Server, c: &mut Client) {
    let Some(opts) = parse_tracking_options(srv, c) else { return };
    let mode = c.argv.get(2).to_ascii_lowercase();
    match mode.as_slice() {
        b"on" => {
            if let Some(msg) = tracking_on_error(srv.tracking.flags(c.id), opts.options, !opts.prefixes.is_empty()) {
                return c.reply.add_reply_error(msg);
            }
            if opts.options & CLIENT_TRACKING_BCAST != 0 {
                let existing = srv.tracking.clients.get(&c.id).map(|t| t.prefixes.clone()).unwrap_or_default();
                if check_prefix_collisions_or_reply(&existing, &opts.prefixes, &mut c.reply) == PrefixCheck::Rejected {
                    return;
                }
            }
            enable_tracking(srv, c.id, opts.redirect as u64, opts.options, &opts.prefixes);
        }
        b"off" => disable_tracking(srv, c.id),
        _ => return c.reply.add_reply_syntax_error(),
    }
    c.reply.add_reply_ok();
}

/// Redis: CLIENT CACHING YES|NO.
pub fn client_caching_command(srv: &mut Server, c: &mut Client) {
    let Some(t) = srv.tracking.clients.get_mut(&c.id) else {
        return c.reply.add_reply_error("CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled");
    };
    let opt = c.argv.get(2).to_ascii_lowercase();
    let (required, msg) = match opt.as_slice() {
        b"yes" => (CLIENT_TRACKING_OPTIN, "CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode."),
        b"no" => (CLIENT_TRACKING_OPTOUT, "CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode."),
        _ => return c.reply.add_reply_syntax_error(),
    };
    if t.flags & required == 0 {
        return c.reply.add_reply_error(msg);
    }
    t.flags |= CLIENT_TRACKING_CACHING;
    c.reply.add_reply_ok();
}

/// Redis: CLIENT GETREDIR: the redirection (0 for none) while tracking, else -1.
pub fn client_getredir_command(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_long_long(srv.tracking.client_redirection(c.id));
}

/// The flag names of CLIENT TRACKINGINFO, in Redis's order.
fn tracking_info_flags(flags: u64) -> Vec<&'static str> {
    let mut names = vec![if flags & CLIENT_TRACKING != 0 { "on" } else { "off" }];
    let caching = flags & CLIENT_TRACKING_CACHING != 0;
    if flags & CLIENT_TRACKING_BCAST != 0 {
        names.push("bcast");
    }
    if flags & CLIENT_TRACKING_OPTIN != 0 {
        names.push("optin");
        if caching {
            names.push("caching-yes");
        }
    }
    if flags & CLIENT_TRACKING_OPTOUT != 0 {
        names.push("optout");
        if caching {
            names.push("caching-no");
        }
    }
    if flags & CLIENT_TRACKING_NOLOOP != 0 {
        names.push("noloop");
    }
    if flags & CLIENT_TRACKING_BROKEN_REDIR != 0 {
        names.push("broken_redirect");
    }
    names
}

/// Redis: CLIENT TRACKINGINFO: flags (a set), redirect, prefixes.
pub fn client_trackinginfo_command(srv: &mut Server, c: &mut Client) {
    let t = srv.tracking.clients.get(&c.id).cloned().unwrap_or_default();
    c.reply.add_reply_map_len(3);
    c.reply.add_reply_bulk(b"flags");
    let names = tracking_info_flags(t.flags);
    c.reply.add_reply_set_len(names.len());
    for name in names {
        c.reply.add_reply_bulk(name.as_bytes());
    }
    c.reply.add_reply_bulk(b"redirect");
    c.reply.add_reply_long_long(srv.tracking.client_redirection(c.id));
    c.reply.add_reply_bulk(b"prefixes");
    c.reply.add_reply_array_len(t.prefixes.len());
    for prefix in &t.prefixes {
        c.reply.add_reply_bulk(prefix);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{process, test_server};

    fn client(srv: &mut Server, resp: u8) -> Client {
        let id = srv.next_client_id();
        let mut c = Client::new(id, None, 0);
        c.reply.resp = resp;
        c
    }

    #[test]
    fn overlap_is_a_prefix_either_way() {
        assert!(prefixes_overlap(b"ab", b"abc"));
        assert!(prefixes_overlap(b"abc", b"ab"));
        assert!(prefixes_overlap(b"", b"x"));
        assert!(!prefixes_overlap(b"ab", b"ac"));
    }

    #[test]
    fn prefix_collisions_follow_redis_including_its_double_reply() {
        let mut reply = Reply::default();
        let existing: BTreeSet<Vec<u8>> = [b"a".to_vec(), b"b".to_vec()].into_iter().collect();
        let check = check_prefix_collisions_or_reply(&existing, &[b"ab".to_vec()], &mut reply);
        assert_eq!(check, PrefixCheck::Rejected);
        assert_eq!(&*reply.pending(), &b"-ERR Prefix 'ab' overlaps with an existing prefix 'a'. Prefixes for a single client must not overlap.\r\n"[..]);
        let mut reply = Reply::default();
        let new = [b"a".to_vec(), b"b".to_vec(), b"bc".to_vec()];
        assert_eq!(check_prefix_collisions_or_reply(&BTreeSet::new(), &new, &mut reply), PrefixCheck::RepliedAndContinue);
        let mut reply = Reply::default();
        let new = [b"x".to_vec(), b"xy".to_vec()];
        assert_eq!(check_prefix_collisions_or_reply(&BTreeSet::new(), &new, &mut reply), PrefixCheck::Rejected);
    }

    #[test]
    fn reads_are_remembered_and_a_write_invalidates_once() {
        let mut srv = test_server();
        let mut a = client(&mut srv, 3);
        let mut b = client(&mut srv, 2);
        assert_eq!(process(&mut srv, &mut a, &["CLIENT", "TRACKING", "on"]), "+OK\r\n");
        assert_eq!(process(&mut srv, &mut a, &["MGET", "k", "j", "k"]), "*3\r\n_\r\n_\r\n_\r\n");
        assert_eq!((srv.tracking.total_keys(), srv.tracking.total_items()), (2, 2));
        // Its own write: the push follows the reply.
        let out = process(&mut srv, &mut a, &["SET", "k", "v"]);
        assert_eq!(out, "+OK\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n");
        assert_eq!(srv.tracking.total_keys(), 1);
        // Another client's write to a key nobody tracks any more: nothing.
        assert_eq!(process(&mut srv, &mut b, &["SET", "k", "w"]), "+OK\r\n");
        assert_eq!(process(&mut srv, &mut a, &["SET", "k", "x"]), "+OK\r\n");
    }

    #[test]
    fn optin_tracks_only_after_caching_yes() {
        let mut srv = test_server();
        let mut a = client(&mut srv, 3);
        process(&mut srv, &mut a, &["CLIENT", "TRACKING", "on", "OPTIN"]);
        process(&mut srv, &mut a, &["GET", "k"]);
        assert_eq!(srv.tracking.total_keys(), 0);
        assert_eq!(process(&mut srv, &mut a, &["CLIENT", "CACHING", "yes"]), "+OK\r\n");
        process(&mut srv, &mut a, &["GET", "k"]);
        process(&mut srv, &mut a, &["GET", "j"]);
        assert_eq!(srv.tracking.total_keys(), 1, "CACHING applies to the next command only");
    }

    #[test]
    fn noloop_skips_own_writes_and_flush_sends_null() {
        let mut srv = test_server();
        let mut a = client(&mut srv, 3);
        process(&mut srv, &mut a, &["CLIENT", "TRACKING", "on", "NOLOOP"]);
        process(&mut srv, &mut a, &["GET", "k"]);
        assert_eq!(process(&mut srv, &mut a, &["SET", "k", "v"]), "+OK\r\n");
        assert_eq!(srv.tracking.total_keys(), 0);
        assert_eq!(process(&mut srv, &mut a, &["FLUSHALL"]), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
    }

    #[test]
    fn bcast_gathers_changed_keys_per_prefix() {
        let mut srv = test_server();
        let mut a = client(&mut srv, 3);
        assert_eq!(process(&mut srv, &mut a, &["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "x", "PREFIX", "y"]), "+OK\r\n");
        assert_eq!(srv.tracking.total_prefixes(), 2);
        tracking_invalidate_key(&mut srv, None, b"x2", true);
        tracking_invalidate_key(&mut srv, None, b"x1", true);
        tracking_invalidate_key(&mut srv, None, b"z", true);
        let keys = &srv.tracking.prefixes[&b"x".to_vec()].keys;
        assert_eq!(tracking_build_broadcast_reply(keys, None).unwrap_or_default(), b"*2\r\n$2\r\nx1\r\n$2\r\nx2\r\n".to_vec());
        assert!(srv.tracking.prefixes[&b"y".to_vec()].keys.is_empty());
        disable_tracking(&mut srv, a.id);
        assert_eq!(srv.tracking.total_prefixes(), 0);
    }

    #[test]
    fn noloop_broadcast_reply_drops_own_keys() {
        let keys: BTreeMap<Vec<u8>, Option<u64>> = [(b"a".to_vec(), Some(7)), (b"b".to_vec(), None)].into_iter().collect();
        assert_eq!(tracking_build_broadcast_reply(&keys, Some(7)), Some(b"*1\r\n$1\r\nb\r\n".to_vec()));
        let only_mine: BTreeMap<Vec<u8>, Option<u64>> = [(b"a".to_vec(), Some(7))].into_iter().collect();
        assert_eq!(tracking_build_broadcast_reply(&only_mine, Some(7)), None);
    }

    #[test]
    fn options_are_checked_like_redis() {
        assert_eq!(tracking_on_error(0, 0, true), Some("PREFIX option requires BCAST mode to be enabled"));
        assert_eq!(tracking_on_error(0, CLIENT_TRACKING_BCAST | CLIENT_TRACKING_OPTIN, false), Some("OPTIN and OPTOUT are not compatible with BCAST"));
        assert_eq!(tracking_on_error(0, CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_OPTOUT, false), Some("You can't specify both OPTIN mode and OPTOUT mode"));
        assert!(tracking_on_error(CLIENT_TRACKING, CLIENT_TRACKING_BCAST, false).is_some_and(|m| m.starts_with("You can't switch BCAST")));
        assert!(tracking_on_error(CLIENT_TRACKING | CLIENT_TRACKING_OPTIN, CLIENT_TRACKING_OPTOUT, false).is_some_and(|m| m.starts_with("You can't switch OPTIN/OPTOUT")));
        assert_eq!(tracking_on_error(CLIENT_TRACKING, CLIENT_TRACKING_NOLOOP, false), None);
    }

    #[test]
    fn trackinginfo_flags_in_redis_order() {
        let flags = CLIENT_TRACKING | CLIENT_TRACKING_OPTIN | CLIENT_TRACKING_CACHING | CLIENT_TRACKING_NOLOOP | CLIENT_TRACKING_BROKEN_REDIR;
        assert_eq!(tracking_info_flags(flags), vec!["on", "optin", "caching-yes", "noloop", "broken_redirect"]);
        assert_eq!(tracking_info_flags(0), vec!["off"]);
    }

    #[test]
    fn render_depends_on_the_receiver() {
        let msg = Message::Invalidate { payload: key_payload(b"k"), redirected: true };
        let mut resp2 = Reply::default();
        render(&msg, &mut resp2, false);
        assert!(resp2.pending().is_empty(), "RESP2 outside Pub/Sub gets nothing");
        render(&msg, &mut resp2, true);
        assert_eq!(resp2.pending(), &b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n"[..]);
        let mut resp3 = Reply::default();
        resp3.resp = 3;
        resp3.muted = true;
        render(&Message::RedirBroken(9), &mut resp3, false);
        assert_eq!(resp3.pending(), &b">2\r\n$21\r\ntracking-redir-broken\r\n:9\r\n"[..]);
        assert!(resp3.muted, "muting is restored");
    }

    #[test]
    fn table_limit_evicts_keys() {
        let mut srv = test_server();
        let mut a = client(&mut srv, 3);
        process(&mut srv, &mut a, &["CLIENT", "TRACKING", "on"]);
        process(&mut srv, &mut a, &["MGET", "a", "b", "c", "d"]);
        srv.config.tracking_table_max_keys = 2;
        tracking_limit_used_slots(&mut srv);
        assert_eq!(srv.tracking.total_keys(), 2);
        assert_eq!(srv.tracking.total_items(), 2);
    }
}

//! Pub/Sub: Redis's pubsub.c. SUBSCRIBE and friends, PUBLISH, SPUBLISH and PUBSUB.
//!
//! The server keeps, per channel (and per pattern, and per shard channel), the ids of the
//! subscribed clients in subscription order ([`PubsubState`], Redis's server.pubsub_*);
//! each client keeps what it subscribed to ([`ClientPubsub`], Redis's c->pubsub_*).
//! Everything runs on the event-loop thread. A message for another client is appended to
//! its reply buffer and the client queued for writing, exactly like any reply; the output
//! buffer limits of the `pubsub` class apply. The client whose command is running is out
//! of `srv.clients` at that moment, so its own messages (RESP3 clients may subscribe and
//! still run commands) wait in [`PubsubState`] until `call()` places them where Redis
//! would have: before the command's reply, or at once through [`flush_pending_pushes`].

use std::collections::{HashMap, HashSet};

use crate::networking::{self, Client, CLIENT_CLOSE_ASAP, CLIENT_DENY_BLOCKING, CLIENT_MULTI, CLIENT_PUBSUB};
use crate::reply::Reply;
use crate::server::Server;
use crate::util;

/// Redis: server.pubsub_channels, pubsub_patterns, pubsubshard_channels: who listens to
/// what, as client ids in subscription order (a list per channel in Redis 7.0).
#[derive(Debug, Default)]
pub struct PubsubState {
    pub channels: HashMap<Vec<u8>, Vec<u64>>,
    pub patterns: HashMap<Vec<u8>, Vec<u64>>,
    pub shard_channels: HashMap<Vec<u8>, Vec<u64>>,
    /// Messages for the client whose command is running (it is out of `srv.clients`).
    pending: Vec<EncodedPush>,
}

/// Redis: c->pubsub_channels (a dict), c->pubsub_patterns (a list in 7.0, hence
/// PUNSUBSCRIBE without arguments goes in subscription order) and c->pubsubshard_channels.
#[derive(Debug, Default)]
pub struct ClientPubsub {
    pub channels: HashSet<Vec<u8>>,
    pub patterns: Vec<Vec<u8>>,
    pub shard_channels: HashSet<Vec<u8>>,
}

impl ClientPubsub {
    /// Redis: clientSubscriptionsCount(): channels plus patterns.
    pub fn subscriptions_count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Redis: clientShardSubscriptionsCount().
    pub fn shard_subscriptions_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// Redis: clientTotalPubSubSubscriptionCount().
    pub fn total_count(&self) -> usize {
        self.subscriptions_count() + self.shard_subscriptions_count()
    }
}

/// Redis: struct pubsubtype: global channels or shard channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubsubType {
    Global,
    Shard,
}

impl PubsubType {
    fn client_channels(self, p: &mut ClientPubsub) -> &mut HashSet<Vec<u8>> {
        match self {
            PubsubType::Global => &mut p.channels,
            PubsubType::Shard => &mut p.shard_channels,
        }
    }

    fn server_channels(self, s: &mut PubsubState) -> &mut HashMap<Vec<u8>, Vec<u64>> {
        match self {
            PubsubType::Global => &mut s.channels,
            PubsubType::Shard => &mut s.shard_channels,
        }
    }

    /// The count a confirmation carries: shard channels are counted apart (Redis 7.0).
    fn subscription_count(self, p: &ClientPubsub) -> usize {
        match self {
            PubsubType::Global => p.subscriptions_count(),
            PubsubType::Shard => p.shard_subscriptions_count(),
        }
    }

    fn subscribe_msg(self) -> &'static [u8] {
        match self {
            PubsubType::Global => b"subscribe",
            PubsubType::Shard => b"ssubscribe",
        }
    }

    fn unsubscribe_msg(self) -> &'static [u8] {
        match self {
            PubsubType::Global => b"unsubscribe",
            PubsubType::Shard => b"sunsubscribe",
        }
    }

    fn message_bulk(self) -> &'static [u8] {
        match self {
            PubsubType::Global => b"message",
            PubsubType::Shard => b"smessage",
        }
    }
}

// ----------------------------------------------------------------------------------------
// Replies: every Pub/Sub reply is a push (Redis sets CLIENT_PUSHING around them), so it
// reaches the client even under CLIENT REPLY OFF/SKIP.
// ----------------------------------------------------------------------------------------

/// A message as bytes: the aggregate length and the bulks after the header. Only the
/// header differs between RESP2 (`*`) and RESP3 (`>`), so one encoding serves every client.
#[derive(Debug, Clone, PartialEq, Eq)]
struct EncodedPush {
    len: usize,
    body: Vec<u8>,
}

impl EncodedPush {
    fn new(parts: &[&[u8]]) -> EncodedPush {
        let mut scratch = Reply::default();
        for part in parts {
            scratch.add_reply_bulk(part);
        }
        EncodedPush { len: parts.len(), body: scratch.pending().to_vec() }
    }
}

/// Runs `add` with the reply unmuted (Redis: the CLIENT_PUSHING flag).
fn with_pushing(reply: &mut Reply, add: impl FnOnce(&mut Reply)) {
    let muted = std::mem::replace(&mut reply.muted, false);
    add(reply);
    reply.muted = muted;
}

fn add_reply_push(reply: &mut Reply, push: &EncodedPush) {
    with_pushing(reply, |r| {
        r.add_reply_push_len(push.len);
        r.add_reply_proto(&push.body);
    });
}

/// The header bytes of a push for a client speaking `resp`.
fn push_header(resp: u8, len: usize) -> Vec<u8> {
    let mut scratch = Reply::default();
    scratch.resp = resp;
    scratch.add_reply_push_len(len);
    scratch.pending().to_vec()
}

/// Redis: addReplyPubsubSubscribed() / addReplyPubsubUnsubscribed() /
/// addReplyPubsubPatSubscribed() / addReplyPubsubPatUnsubscribed(): `kind`, the channel or
/// pattern (a null when a mass unsubscribe found nothing) and the client's count.
fn add_reply_pubsub_notice(reply: &mut Reply, kind: &[u8], name: Option<&[u8]>, count: usize) {
    with_pushing(reply, |r| {
        r.add_reply_push_len(3);
        r.add_reply_bulk(kind);
        match name {
            Some(name) => r.add_reply_bulk(name),
            None => r.add_reply_null(),
        }
        r.add_reply_long_long(count as i64);
    });
}

// ----------------------------------------------------------------------------------------
// Messages for the running client
// ----------------------------------------------------------------------------------------

/// Appends the messages published to `c` while its command ran, now. A command that
/// replies before it notifies (GETDEL, GETSET, SET ... GET, LPOP ...) calls this right
/// after the notification, so the pushes follow its reply as in Redis.
pub fn flush_pending_pushes(srv: &mut Server, c: &mut Client) {
    for push in std::mem::take(&mut srv.pubsub.pending) {
        add_reply_push(&mut c.reply, &push);
    }
}

/// Called by `call()` once the command returned: what is still pending goes at `mark`,
/// where the command's reply starts, since Redis commands mostly notify before replying.
#[inline]
pub fn deliver_pending_pushes(srv: &mut Server, c: &mut Client, mark: usize) {
    // Asked here so the common command (nothing pending) makes no call.
    if !srv.pubsub.pending.is_empty() {
        insert_pending_pushes(srv, c, mark);
    }
}

fn insert_pending_pushes(srv: &mut Server, c: &mut Client, mark: usize) {
    let mut bytes = Vec::new();
    for push in std::mem::take(&mut srv.pubsub.pending) {
        bytes.extend_from_slice(&push_header(c.reply.resp, push.len));
        bytes.extend_from_slice(&push.body);
    }
    c.reply.insert_proto_at(mark, &bytes);
}

/// Queues `push` for client `id`: in its reply buffer, then for writing (Redis:
/// addReplyPubsubMessage() on another client, whose output limits apply at once).
fn deliver(srv: &mut Server, id: u64, push: &EncodedPush) {
    let Some(mut other) = srv.take_client_by_id(id) else {
        if id == srv.current_client_id {
            srv.pubsub.pending.push(push.clone());
        }
        return;
    };
    // Redis: prepareClientToWrite() refuses a client already scheduled to close.
    if other.flags & CLIENT_CLOSE_ASAP == 0 {
        add_reply_push(&mut other.reply, push);
        networking::close_client_on_output_buffer_limit_reached(srv, &mut other);
    }
    srv.put_client(other);
    srv.queue_reply_write(id);
}

// ----------------------------------------------------------------------------------------
// Pub/Sub low level API
// ----------------------------------------------------------------------------------------

/// Redis: pubsub.c serverPubsubSubscriptionCount(): channels plus patterns (INFO).
pub fn server_pubsub_subscription_count(srv: &Server) -> usize {
    srv.pubsub.channels.len() + srv.pubsub.patterns.len()
}

/// Redis: pubsub.c serverPubsubShardSubscriptionCount().
pub fn server_pubsub_shard_subscription_count(srv: &Server) -> usize {
    srv.pubsub.shard_channels.len()
}

/// Redis: pubsub.c pubsubSubscribeChannel(): true if newly subscribed. Confirms either way.
pub fn pubsub_subscribe_channel(srv: &mut Server, c: &mut Client, channel: &[u8], ty: PubsubType) -> bool {
    let added = ty.client_channels(&mut c.pubsub).insert(channel.to_vec());
    if added {
        ty.server_channels(&mut srv.pubsub).entry(channel.to_vec()).or_default().push(c.id);
    }
    let count = ty.subscription_count(&c.pubsub);
    add_reply_pubsub_notice(&mut c.reply, ty.subscribe_msg(), Some(channel), count);
    added
}

/// Removes `id` from the subscribers of `name`, dropping the entry once nobody is left
/// (so PUBSUB CHANNELS and NUMPAT only show live ones).
fn remove_subscriber(map: &mut HashMap<Vec<u8>, Vec<u64>>, name: &[u8], id: u64) {
    let Some(ids) = map.get_mut(name) else { return };
    ids.retain(|&other| other != id);
    if ids.is_empty() {
        map.remove(name);
    }
}

/// Redis: pubsub.c pubsubUnsubscribeChannel(): true if it was subscribed.
pub fn pubsub_unsubscribe_channel(srv: &mut Server, c: &mut Client, channel: &[u8], notify: bool, ty: PubsubType) -> bool {
    let removed = ty.client_channels(&mut c.pubsub).remove(channel);
    if removed {
        remove_subscriber(ty.server_channels(&mut srv.pubsub), channel, c.id);
    }
    if notify {
        let count = ty.subscription_count(&c.pubsub);
        add_reply_pubsub_notice(&mut c.reply, ty.unsubscribe_msg(), Some(channel), count);
    }
    removed
}

/// Redis: pubsub.c pubsubSubscribePattern().
pub fn pubsub_subscribe_pattern(srv: &mut Server, c: &mut Client, pattern: &[u8]) -> bool {
    let added = !c.pubsub.patterns.iter().any(|p| p.as_slice() == pattern);
    if added {
        c.pubsub.patterns.push(pattern.to_vec());
        srv.pubsub.patterns.entry(pattern.to_vec()).or_default().push(c.id);
    }
    let count = c.pubsub.subscriptions_count();
    add_reply_pubsub_notice(&mut c.reply, b"psubscribe", Some(pattern), count);
    added
}

/// Redis: pubsub.c pubsubUnsubscribePattern().
pub fn pubsub_unsubscribe_pattern(srv: &mut Server, c: &mut Client, pattern: &[u8], notify: bool) -> bool {
    let position = c.pubsub.patterns.iter().position(|p| p.as_slice() == pattern);
    if let Some(i) = position {
        c.pubsub.patterns.remove(i);
        remove_subscriber(&mut srv.pubsub.patterns, pattern, c.id);
    }
    if notify {
        let count = c.pubsub.subscriptions_count();
        add_reply_pubsub_notice(&mut c.reply, b"punsubscribe", Some(pattern), count);
    }
    position.is_some()
}

/// Redis: pubsub.c pubsubUnsubscribeAllChannelsInternal(): returns how many there were.
fn pubsub_unsubscribe_all_channels_internal(srv: &mut Server, c: &mut Client, notify: bool, ty: PubsubType) -> usize {
    let channels: Vec<Vec<u8>> = ty.client_channels(&mut c.pubsub).iter().cloned().collect();
    let mut count = 0;
    for channel in &channels {
        count += usize::from(pubsub_unsubscribe_channel(srv, c, channel, notify, ty));
    }
    // Subscribed to nothing? Redis still answers, with a null channel.
    if notify && count == 0 {
        let total = ty.subscription_count(&c.pubsub);
        add_reply_pubsub_notice(&mut c.reply, ty.unsubscribe_msg(), None, total);
    }
    count
}

/// Redis: pubsub.c pubsubUnsubscribeAllChannels().
pub fn pubsub_unsubscribe_all_channels(srv: &mut Server, c: &mut Client, notify: bool) -> usize {
    pubsub_unsubscribe_all_channels_internal(srv, c, notify, PubsubType::Global)
}

/// Redis: pubsub.c pubsubUnsubscribeShardAllChannels().
pub fn pubsub_unsubscribe_shard_all_channels(srv: &mut Server, c: &mut Client, notify: bool) -> usize {
    pubsub_unsubscribe_all_channels_internal(srv, c, notify, PubsubType::Shard)
}

/// Redis: pubsub.c pubsubUnsubscribeAllPatterns(): in subscription order.
pub fn pubsub_unsubscribe_all_patterns(srv: &mut Server, c: &mut Client, notify: bool) -> usize {
    let patterns = c.pubsub.patterns.clone();
    let mut count = 0;
    for pattern in &patterns {
        count += usize::from(pubsub_unsubscribe_pattern(srv, c, pattern, notify));
    }
    if notify && count == 0 {
        let total = c.pubsub.subscriptions_count();
        add_reply_pubsub_notice(&mut c.reply, b"punsubscribe", None, total);
    }
    count
}

/// What freeClient() and RESET (clearClientConnectionState()) do: drop every subscription
/// silently and leave Pub/Sub mode.
pub fn pubsub_unsubscribe_all(srv: &mut Server, c: &mut Client) {
    if c.pubsub.total_count() > 0 {
        pubsub_unsubscribe_all_channels(srv, c, false);
        pubsub_unsubscribe_shard_all_channels(srv, c, false);
        pubsub_unsubscribe_all_patterns(srv, c, false);
    }
    c.flags &= !CLIENT_PUBSUB;
}

/// Redis: pubsub.c pubsubPublishMessage(): delivers to the channel's subscribers, then
/// (not for shard channels) to every client whose pattern matches. Returns the receivers.
pub fn pubsub_publish_message(srv: &mut Server, channel: &[u8], message: &[u8], sharded: bool) -> usize {
    let ty = if sharded { PubsubType::Shard } else { PubsubType::Global };
    let mut receivers = 0;
    if let Some(ids) = ty.server_channels(&mut srv.pubsub).get(channel).cloned() {
        let push = EncodedPush::new(&[ty.message_bulk(), channel, message]);
        for id in ids {
            deliver(srv, id, &push);
            receivers += 1;
        }
    }
    if sharded {
        return receivers; // Shard Pub/Sub ignores patterns.
    }
    let matching: Vec<(Vec<u8>, Vec<u64>)> = srv
        .pubsub
        .patterns
        .iter()
        .filter(|(pattern, _)| util::string_match_len(pattern, channel, false))
        .map(|(pattern, ids)| (pattern.clone(), ids.clone()))
        .collect();
    for (pattern, ids) in matching {
        let push = EncodedPush::new(&[b"pmessage", &pattern, channel, message]);
        for id in ids {
            deliver(srv, id, &push);
            receivers += 1;
        }
    }
    receivers
}

/// Redis: the RESP2 Pub/Sub check of server.c processCommand(): the commands a RESP2
/// client may still send once subscribed.
pub fn allowed_in_resp2_pubsub_context(fullname: &str) -> bool {
    matches!(
        fullname,
        "ping" | "subscribe" | "ssubscribe" | "unsubscribe" | "sunsubscribe" | "psubscribe" | "punsubscribe" | "quit" | "reset"
    )
}

/// The error of that check.
pub fn resp2_pubsub_context_error(fullname: &str) -> String {
    format!(
        "Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
        fullname
    )
}

// ----------------------------------------------------------------------------------------
// Commands
// ----------------------------------------------------------------------------------------

/// A client that expects exactly one reply per command cannot enter Pub/Sub (Redis: the
/// CLIENT_DENY_BLOCKING check; MULTI is let through for backward compatibility, except
/// by SSUBSCRIBE).
fn deny_subscribe(c: &mut Client, name: &str, multi_allowed: bool) -> bool {
    let multi_ok = multi_allowed && c.flags & CLIENT_MULTI != 0;
    if c.flags & CLIENT_DENY_BLOCKING != 0 && !multi_ok {
        c.reply.add_reply_error(&format!("{} isn't allowed for a DENY BLOCKING client", name));
        return true;
    }
    false
}

/// Redis: pubsub.c subscribeCommand(): SUBSCRIBE channel [channel ...].
pub fn subscribe_command(srv: &mut Server, c: &mut Client) {
    if deny_subscribe(c, "SUBSCRIBE", true) {
        return;
    }
    for j in 1..c.argv.len() {
        let channel = c.argv.get(j).to_vec();
        pubsub_subscribe_channel(srv, c, &channel, PubsubType::Global);
    }
    c.flags |= CLIENT_PUBSUB;
}

/// Leaves Pub/Sub mode once nothing is left (the end of every UNSUBSCRIBE variant).
fn unmark_if_unsubscribed(c: &mut Client) {
    if c.pubsub.total_count() == 0 {
        c.flags &= !CLIENT_PUBSUB;
    }
}

/// Redis: pubsub.c unsubscribeCommand(): UNSUBSCRIBE [channel ...], none meaning all.
pub fn unsubscribe_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() == 1 {
        pubsub_unsubscribe_all_channels(srv, c, true);
    } else {
        for j in 1..c.argv.len() {
            let channel = c.argv.get(j).to_vec();
            pubsub_unsubscribe_channel(srv, c, &channel, true, PubsubType::Global);
        }
    }
    unmark_if_unsubscribed(c);
}

/// Redis: pubsub.c psubscribeCommand(): PSUBSCRIBE pattern [pattern ...].
pub fn psubscribe_command(srv: &mut Server, c: &mut Client) {
    if deny_subscribe(c, "PSUBSCRIBE", true) {
        return;
    }
    for j in 1..c.argv.len() {
        let pattern = c.argv.get(j).to_vec();
        pubsub_subscribe_pattern(srv, c, &pattern);
    }
    c.flags |= CLIENT_PUBSUB;
}

/// Redis: pubsub.c punsubscribeCommand(): PUNSUBSCRIBE [pattern ...].
pub fn punsubscribe_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() == 1 {
        pubsub_unsubscribe_all_patterns(srv, c, true);
    } else {
        for j in 1..c.argv.len() {
            let pattern = c.argv.get(j).to_vec();
            pubsub_unsubscribe_pattern(srv, c, &pattern, true);
        }
    }
    unmark_if_unsubscribed(c);
}

/// Redis: pubsub.c publishCommand(): PUBLISH channel message; replies the receivers.
pub fn publish_command(srv: &mut Server, c: &mut Client) {
    let receivers = pubsub_publish_message(srv, c.argv.get(1), c.argv.get(2), false);
    // Replicas' subscribers get the message too (sentinel's hello messages travel this way).
    crate::replication::propagate::force_command_propagation(c);
    flush_pending_pushes(srv, c);
    c.reply.add_reply_long_long(receivers as i64);
}

/// Redis: pubsub.c spublishCommand(): SPUBLISH shardchannel message.
pub fn spublish_command(srv: &mut Server, c: &mut Client) {
    let receivers = pubsub_publish_message(srv, c.argv.get(1), c.argv.get(2), true);
    crate::replication::propagate::force_command_propagation(c);
    flush_pending_pushes(srv, c);
    c.reply.add_reply_long_long(receivers as i64);
}

/// Redis: pubsub.c ssubscribeCommand(): SSUBSCRIBE shardchannel [shardchannel ...].
pub fn ssubscribe_command(srv: &mut Server, c: &mut Client) {
    if deny_subscribe(c, "SSUBSCRIBE", false) {
        return;
    }
    for j in 1..c.argv.len() {
        let channel = c.argv.get(j).to_vec();
        pubsub_subscribe_channel(srv, c, &channel, PubsubType::Shard);
    }
    c.flags |= CLIENT_PUBSUB;
}

/// Redis: pubsub.c sunsubscribeCommand(): SUNSUBSCRIBE [shardchannel ...].
pub fn sunsubscribe_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() == 1 {
        pubsub_unsubscribe_shard_all_channels(srv, c, true);
    } else {
        for j in 1..c.argv.len() {
            let channel = c.argv.get(j).to_vec();
            pubsub_unsubscribe_channel(srv, c, &channel, true, PubsubType::Shard);
        }
    }
    unmark_if_unsubscribed(c);
}

const PUBSUB_HELP: &[&str] = &[
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
];

/// Redis: pubsub.c pubsubCommand(): PUBSUB HELP / CHANNELS / NUMSUB / NUMPAT /
/// SHARDCHANNELS / SHARDNUMSUB. Every subcommand is bound here, as in Redis.
pub fn pubsub_command(srv: &mut Server, c: &mut Client) {
    let sub = c.argv.get(1).to_ascii_lowercase();
    let argc = c.argv.len();
    match sub.as_slice() {
        b"help" if argc == 2 => c.reply.add_reply_help("pubsub", PUBSUB_HELP),
        b"channels" if argc == 2 || argc == 3 => channel_list(c, &srv.pubsub.channels),
        b"numsub" => numsub_reply(c, &srv.pubsub.channels),
        b"numpat" if argc == 2 => c.reply.add_reply_long_long(srv.pubsub.patterns.len() as i64),
        b"shardchannels" if argc == 2 || argc == 3 => channel_list(c, &srv.pubsub.shard_channels),
        b"shardnumsub" => numsub_reply(c, &srv.pubsub.shard_channels),
        _ => c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1)),
    }
}

/// Redis: pubsub.c channelList(): the active channels, filtered by argv[2] if given.
fn channel_list(c: &mut Client, channels: &HashMap<Vec<u8>, Vec<u64>>) {
    let pattern = (c.argv.len() == 3).then(|| c.argv.get(2));
    let names: Vec<&Vec<u8>> =
        channels.keys().filter(|name| pattern.is_none_or(|p| util::string_match_len(p, name, false))).collect();
    c.reply.add_reply_array_len(names.len());
    for name in names {
        c.reply.add_reply_bulk(name);
    }
}

/// PUBSUB NUMSUB / SHARDNUMSUB: each channel of argv[2..] and its subscriber count.
fn numsub_reply(c: &mut Client, channels: &HashMap<Vec<u8>, Vec<u64>>) {
    c.reply.add_reply_array_len((c.argv.len() - 2) * 2);
    for j in 2..c.argv.len() {
        let name = c.argv.get(j);
        c.reply.add_reply_bulk(name);
        c.reply.add_reply_long_long(channels.get(name).map_or(0, Vec::len) as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    /// A fake client that `srv` can reach by id (fd-less clients cannot be linked).
    fn linked_client(srv: &mut Server, id: u64, fake_fd: i32) {
        let mut c = Box::new(Client::new(id, None, 0));
        c.fd = fake_fd;
        srv.link_client(c);
    }

    fn pending_text(srv: &mut Server, id: u64) -> String {
        let c = srv.client_by_id(id).expect("linked");
        let text = String::from_utf8_lossy(&c.reply.pending()).into_owned();
        c.reply.advance(c.reply.pending_len());
        text
    }

    #[test]
    fn subscribe_replies_and_counts() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let out = run_command(&mut srv, &mut c, subscribe_command, &["subscribe", "a", "b", "a"]);
        assert_eq!(
            out,
            "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:2\r\n"
        );
        assert!(c.flags & CLIENT_PUBSUB != 0);
        let out = run_command(&mut srv, &mut c, psubscribe_command, &["psubscribe", "p*"]);
        assert_eq!(out, "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n");
        // Shard channels are counted apart.
        let out = run_command(&mut srv, &mut c, ssubscribe_command, &["ssubscribe", "s"]);
        assert_eq!(out, "*3\r\n$10\r\nssubscribe\r\n$1\r\ns\r\n:1\r\n");
        assert_eq!(srv.pubsub.channels.get(b"a".as_slice()), Some(&vec![1]));
        assert_eq!(server_pubsub_subscription_count(&srv), 3);
        assert_eq!(server_pubsub_shard_subscription_count(&srv), 1);
    }

    #[test]
    fn unsubscribe_with_nothing_answers_null() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        let out = run_command(&mut srv, &mut c, unsubscribe_command, &["unsubscribe"]);
        assert_eq!(out, "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n");
        c.reply.resp = 3;
        let out = run_command(&mut srv, &mut c, punsubscribe_command, &["punsubscribe"]);
        assert_eq!(out, ">3\r\n$12\r\npunsubscribe\r\n_\r\n:0\r\n");
        let out = run_command(&mut srv, &mut c, sunsubscribe_command, &["sunsubscribe", "x"]);
        assert_eq!(out, ">3\r\n$12\r\nsunsubscribe\r\n$1\r\nx\r\n:0\r\n");
    }

    #[test]
    fn punsubscribe_all_goes_in_subscription_order() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run_command(&mut srv, &mut c, psubscribe_command, &["psubscribe", "c", "a", "b"]);
        let out = run_command(&mut srv, &mut c, punsubscribe_command, &["punsubscribe"]);
        assert_eq!(
            out,
            "*3\r\n$12\r\npunsubscribe\r\n$1\r\nc\r\n:2\r\n*3\r\n$12\r\npunsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$12\r\npunsubscribe\r\n$1\r\nb\r\n:0\r\n"
        );
        assert!(c.flags & CLIENT_PUBSUB == 0);
        assert!(srv.pubsub.patterns.is_empty());
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers() {
        let mut srv = test_server();
        linked_client(&mut srv, 7, 50);
        let mut sub = srv.take_client_by_id(7).expect("linked");
        run_command(&mut srv, &mut sub, subscribe_command, &["subscribe", "news"]);
        run_command(&mut srv, &mut sub, psubscribe_command, &["psubscribe", "n*", "x*"]);
        srv.put_client(sub);
        let mut publisher = Client::new(8, None, 0);
        let out = run_command(&mut srv, &mut publisher, publish_command, &["publish", "news", "hi"]);
        assert_eq!(out, ":2\r\n");
        assert_eq!(
            pending_text(&mut srv, 7),
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert!(srv.clients_pending_write.contains(&50));
        let out = run_command(&mut srv, &mut publisher, spublish_command, &["spublish", "news", "hi"]);
        assert_eq!(out, ":0\r\n");
    }

    #[test]
    fn own_messages_wait_for_the_running_command() {
        let mut srv = test_server();
        let mut c = Client::new(3, None, 0);
        c.reply.resp = 3;
        run_command(&mut srv, &mut c, subscribe_command, &["subscribe", "ch"]);
        srv.current_client_id = 3;
        // PUBLISH flushes its own message before the count, as Redis does.
        let out = run_command(&mut srv, &mut c, publish_command, &["publish", "ch", "m"]);
        assert_eq!(out, ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nm\r\n:1\r\n");
        // Left pending: inserted where the reply started.
        c.reply.add_reply_proto(b"+OK\r\n");
        assert_eq!(pubsub_publish_message(&mut srv, b"ch", b"z", false), 1);
        deliver_pending_pushes(&mut srv, &mut c, 0);
        assert_eq!(String::from_utf8_lossy(&c.reply.pending()), ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nz\r\n+OK\r\n");
    }

    #[test]
    fn pushes_ignore_client_reply_off() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        c.reply.muted = true;
        let out = run_command(&mut srv, &mut c, subscribe_command, &["subscribe", "a"]);
        assert_eq!(out, "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n");
        assert!(c.reply.muted);
    }

    #[test]
    fn unsubscribe_all_forgets_the_client() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run_command(&mut srv, &mut c, subscribe_command, &["subscribe", "a", "b"]);
        run_command(&mut srv, &mut c, psubscribe_command, &["psubscribe", "*"]);
        run_command(&mut srv, &mut c, ssubscribe_command, &["ssubscribe", "s"]);
        let mut other = Client::new(2, None, 0);
        run_command(&mut srv, &mut other, subscribe_command, &["subscribe", "a"]);
        pubsub_unsubscribe_all(&mut srv, &mut c);
        assert_eq!(c.pubsub.total_count(), 0);
        assert!(c.flags & CLIENT_PUBSUB == 0);
        assert!(c.reply.pending().is_empty());
        assert_eq!(srv.pubsub.channels.len(), 1);
        assert_eq!(srv.pubsub.channels.get(b"a".as_slice()), Some(&vec![2]));
        assert!(srv.pubsub.patterns.is_empty() && srv.pubsub.shard_channels.is_empty());
    }

    #[test]
    fn pubsub_introspection() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run_command(&mut srv, &mut c, subscribe_command, &["subscribe", "abc"]);
        run_command(&mut srv, &mut c, psubscribe_command, &["psubscribe", "x", "y"]);
        let mut q = Client::new(2, None, 0);
        assert_eq!(run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "numpat"]), ":2\r\n");
        assert_eq!(run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "channels", "a*"]), "*1\r\n$3\r\nabc\r\n");
        assert_eq!(run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "channels", "z*"]), "*0\r\n");
        assert_eq!(
            run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "NUMSUB", "abc", "zz"]),
            "*4\r\n$3\r\nabc\r\n:1\r\n$2\r\nzz\r\n:0\r\n"
        );
        assert_eq!(run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "shardnumsub"]), "*0\r\n");
        assert_eq!(
            run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "channels", "a", "b"]),
            "-ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.\r\n"
        );
        assert!(run_command(&mut srv, &mut q, pubsub_command, &["pubsub", "help"]).starts_with("*14\r\n"));
    }

    #[test]
    fn resp2_context_allows_only_pubsub_commands() {
        for name in ["ping", "subscribe", "punsubscribe", "quit", "reset", "ssubscribe"] {
            assert!(allowed_in_resp2_pubsub_context(name), "{name}");
        }
        for name in ["get", "publish", "config|get", "pubsub|channels"] {
            assert!(!allowed_in_resp2_pubsub_context(name), "{name}");
        }
        assert_eq!(
            resp2_pubsub_context_error("config|get"),
            "Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
    }
}

//! The master side of replication: the replicas attached to us, what they asked for and
//! what we owe them.
//!
//! Redis: replication.c, master half: syncCommand() (SYNC and PSYNC),
//! masterTryPartialResynchronization(), replconfCommand(), the master part of
//! replicationCron(), freeClient()'s replica cleanup, WAIT (waitCommand(),
//! processClientsWaitingReplicas()), ROLE and INFO replication for a master,
//! min-replicas-to-write (refreshGoodSlavesCount(), checkGoodReplicasStatus()). How the
//! snapshot reaches a replica (BGSAVE for replication, the file streamed in chunks, the
//! diskless pipe) is master_transfer.rs.
//!
//! Event loop fit: everything runs on the loop thread, called from a command (SYNC, PSYNC,
//! REPLCONF, WAIT, ROLE), from server_cron ([`replication_server_cron`]) or from
//! before_sleep ([`replication_before_sleep`]). A replica is a normal client with `repl`
//! state: its output buffer receives the stream from the moment its snapshot is taken, and
//! networking.rs holds that buffer back until the replica is ONLINE
//! ([`replica_output_may_flow`]). Replies that must precede the buffered stream
//! (+FULLRESYNC, +CONTINUE, keep-alive newlines) are written straight to the socket, as
//! Redis does with connWrite().

use std::fmt::Write as _;

use crate::command_def::CMD_WRITE;
use crate::networking::{self, Client, CLIENT_BLOCKED, CLIENT_DENY_BLOCKING, CLIENT_MONITOR, CLIENT_SLAVE};
use crate::server::Server;
use crate::util;

use super::master_transfer;
use super::propagate;

/// Redis: SLAVE_CAPA_EOF: the replica parses the diskless `$EOF:<mark>` payload.
pub const SLAVE_CAPA_EOF: u8 = 1 << 0;
/// Redis: SLAVE_CAPA_PSYNC2: the replica understands `+CONTINUE <new replid>`.
pub const SLAVE_CAPA_PSYNC2: u8 = 1 << 1;
/// Redis: SLAVE_REQ_RDB_EXCLUDE_DATA / _FUNCTIONS (REPLCONF rdb-filter-only).
pub const SLAVE_REQ_RDB_EXCLUDE_DATA: u8 = 1 << 0;
pub const SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS: u8 = 1 << 1;
pub const SLAVE_REQ_RDB_MASK: u8 = SLAVE_REQ_RDB_EXCLUDE_DATA | SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS;
/// Redis: NET_HOST_STR_LEN: REPLCONF ip-address must be shorter.
const NET_HOST_STR_LEN: usize = 256;

/// Redis: the SLAVE_STATE_* values of client->replstate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveState {
    /// Needs a snapshot that has not started yet; gets no stream, only newlines.
    WaitBgsaveStart,
    /// Its snapshot is being made (+FULLRESYNC sent); the stream accumulates unsent.
    WaitBgsaveEnd,
    /// The RDB file is being streamed to it (disk-based sync).
    SendBulk,
    /// Streaming.
    Online,
    /// A `REPLCONF rdb-only 1` client got its RDB and is about to be closed.
    RdbTransmitted,
}

impl SlaveState {
    /// Redis: replstateToString(), for INFO's `state=`.
    pub fn info_name(self) -> &'static str {
        match self {
            SlaveState::WaitBgsaveStart | SlaveState::WaitBgsaveEnd => "wait_bgsave",
            SlaveState::SendBulk => "send_bulk",
            SlaveState::Online => "online",
            SlaveState::RdbTransmitted => "rdb_transmitted",
        }
    }
}

/// The replica fields of Redis's struct client. Created by the first REPLCONF (which comes
/// before SYNC), so `state` is None until the client actually asks for a sync.
#[derive(Debug, Default)]
pub struct ReplicaInfo {
    /// Redis: replstate (None = REPL_STATE_NONE).
    pub state: Option<SlaveState>,
    /// Redis: repl_ack_off / repl_ack_time: the last offset the replica acknowledged.
    pub ack_off: i64,
    pub ack_time: i64,
    /// Redis: repl_aof_off (REPLCONF ACK <off> FACK <aofoff>).
    pub aof_off: i64,
    /// Redis: slave_listening_port (a C int).
    pub listening_port: i32,
    /// Redis: slave_addr (REPLCONF ip-address).
    pub addr: Option<String>,
    /// Redis: slave_capa / slave_req.
    pub capa: u8,
    pub req: u8,
    /// Redis: CLIENT_REPL_RDBONLY: the snapshot and nothing after it.
    pub rdb_only: bool,
    /// Redis: CLIENT_PRE_PSYNC: came with the old SYNC (no +FULLRESYNC, no ACKs expected).
    pub pre_psync: bool,
    /// Redis: psync_initial_offset: the offset its snapshot corresponds to.
    pub psync_initial_offset: i64,
    /// Redis: repldbfd / repldboff / repldbsize / replpreamble of a disk-based transfer.
    pub bulk: Option<master_transfer::BulkTransfer>,
    /// Redis: repl_start_cmd_stream_on_ack: after a diskless transfer, the stream waits
    /// for the replica's first ACK so nothing follows the EOF mark.
    pub start_cmd_stream_on_ack: bool,
    /// An ACK arrived while the diskless transfer was finishing: the stream can start as
    /// soon as the child is reaped (Redis re-checks the child from REPLCONF ACK instead).
    pub acked_during_transfer: bool,
    /// Redis: repldboff during a diskless transfer: bytes of the pipe buffer already sent.
    pub pipe_buf_sent: usize,
    /// The diskless write handler is installed on this replica (connHasWriteHandler()).
    pub pipe_writing: bool,
    /// Redis: repl_last_partial_write: when a diskless write last stalled, 0 when none.
    pub last_partial_write: i64,
}

/// A client blocked in WAIT (Redis: client->bpop.timeout / reploffset / numreplicas).
#[derive(Debug, Clone, Copy)]
pub struct WaitingClient {
    pub id: u64,
    /// Absolute unix ms; 0 waits forever.
    pub timeout_ms: i64,
    pub offset: i64,
    pub numreplicas: i64,
}

/// The master-side fields of Redis's server struct that live between events.
#[derive(Debug, Default)]
pub struct MasterSideState {
    /// Redis: server.clients_waiting_acks.
    pub clients_waiting_acks: Vec<WaitingClient>,
    /// Redis: server.get_ack_from_slaves: send GETACK from before_sleep.
    pub get_ack_from_slaves: bool,
    /// Redis: server.repl_good_slaves_count.
    pub good_slaves_count: usize,
    /// Redis: replication_cron_loops (1 Hz ticks).
    pub cron_loops: u64,
    /// The diskless transfer in progress (Redis: rdb_pipe_read, rdb_pipe_conns ...).
    pub rdb_pipe: Option<master_transfer::RdbPipe>,
    /// Redis: RDBGeneratedByReplication: dbfilename was written by a BGSAVE for replicas
    /// while rdb-del-sync-files was on, so it may be removed once they have it.
    pub rdb_generated_by_replication: bool,
}

// ----------------------------------------------------------------------------------------
// Small helpers
// ----------------------------------------------------------------------------------------

/// The replica fields of `c`, created on first use.
pub fn replica_info(c: &mut Client) -> &mut ReplicaInfo {
    c.repl.get_or_insert_with(Default::default)
}

/// Redis: client->replstate.
pub fn slave_state(c: &Client) -> Option<SlaveState> {
    c.repl.as_deref().and_then(|r| r.state)
}

/// Redis: putClientInPendingWriteQueue()'s condition: a replica's output buffer goes to
/// the socket only once it is ONLINE and not waiting for its first ACK.
pub fn replica_output_may_flow(c: &Client) -> bool {
    let Some(r) = c.repl.as_deref() else { return true };
    match r.state {
        None => true,
        Some(SlaveState::Online) => !r.start_cmd_stream_on_ack,
        Some(SlaveState::WaitBgsaveStart | SlaveState::WaitBgsaveEnd | SlaveState::SendBulk | SlaveState::RdbTransmitted) => {
            false
        }
    }
}

/// Redis: canFeedReplicaReplBuffer(): replicas waiting for their BGSAVE to start will get
/// a fresh snapshot instead, and rdb-only clients never get the stream.
pub fn can_feed_replica_repl_buffer(c: &Client) -> bool {
    let Some(r) = c.repl.as_deref() else { return true };
    !r.rdb_only && r.state != Some(SlaveState::WaitBgsaveStart)
}

/// The ip of the peer, from the client's "ip:port" address.
fn peer_ip(c: &Client) -> String {
    c.addr.rsplit_once(':').map_or_else(String::new, |(ip, _)| ip.trim_start_matches('[').trim_end_matches(']').to_string())
}

/// The ip a replica is shown with: its announced ip-address, else the peer address.
pub fn replica_ip(c: &Client) -> String {
    c.repl.as_deref().and_then(|r| r.addr.clone()).unwrap_or_else(|| peer_ip(c))
}

/// Redis: replicationGetSlaveName(): "ip:listening-port" for logs.
pub fn replication_get_slave_name(c: &Client) -> String {
    let ip = replica_ip(c);
    if ip.is_empty() {
        return format!("client id #{}", c.id);
    }
    match c.repl.as_deref().map_or(0, |r| r.listening_port) {
        0 => format!("{}:<unknown-replica-port>", ip),
        port if ip.contains(':') => format!("[{}]:{}", ip, port),
        port => format!("{}:{}", ip, port),
    }
}

/// Redis: connWrite() of a short reply outside the output buffer (+FULLRESYNC,
/// +CONTINUE, newlines). True when every byte was taken by the socket.
pub fn conn_write_all(c: &mut Client, bytes: &[u8]) -> bool {
    let Some(conn) = c.conn.as_mut() else { return false };
    matches!(conn.write(bytes), Ok(n) if n == bytes.len())
}

/// Runs `f` on every replica: those in the client table, and `current`, the client whose
/// command is running (the table lends it out meanwhile). A replica whose output may now
/// flow is queued for writing afterwards.
pub fn for_each_replica(srv: &mut Server, mut current: Option<&mut Client>, mut f: impl FnMut(&mut Server, &mut Client)) {
    for id in srv.repl.slaves.clone() {
        if let Some(cur) = current.as_deref_mut() {
            if cur.id == id {
                f(srv, cur);
                continue;
            }
        }
        let Some(mut replica) = srv.take_client_by_id(id) else { continue };
        f(srv, &mut replica);
        let flows = replica_output_may_flow(&replica);
        srv.put_client(replica);
        if flows {
            srv.queue_reply_write(id);
        }
    }
}

/// As C's `%s` shows the id: up to its first NUL (a replica synced by SYNC has a zeroed id).
fn replid_str(id: &[u8; super::CONFIG_RUN_ID_SIZE]) -> &str {
    let len = memchr::memchr(0, id).unwrap_or(id.len());
    std::str::from_utf8(&id[..len]).unwrap_or("")
}

// ----------------------------------------------------------------------------------------
// SYNC and PSYNC
// ----------------------------------------------------------------------------------------

/// Redis: replication.c syncCommand(): SYNC, and PSYNC <replid> <offset>. A partial
/// resynchronization is served at once; otherwise the client becomes a replica waiting
/// for a snapshot (master_transfer.rs decides which one).
pub fn sync_command(srv: &mut Server, c: &mut Client) {
    // Already a replica (or a MONITOR): ignored.
    if c.flags & CLIENT_SLAVE != 0 {
        return;
    }
    if let Err(err) = super::failover::sync_command_failover_request(srv, c) {
        return c.reply.add_reply_error(err);
    }
    let is_psync = util::str_eq_ignore_case(c.argv.get(0), b"psync");
    if let Some(err) = sync_refusal(srv, c) {
        return c.reply.add_reply_error(err);
    }
    let name = replication_get_slave_name(c);
    log::info!("Replica {} asks for synchronization", name);
    if is_psync {
        let Some(psync_offset) = util::string2ll(c.argv.get(2)) else {
            log::warn!("Replica {} asks for synchronization but with a wrong offset", name);
            return c.reply.add_reply_error("value is not an integer or out of range");
        };
        if master_try_partial_resynchronization(srv, c, psync_offset) {
            srv.repl.stat_sync_partial_ok += 1;
            return;
        }
        // "?" is how replicas ask for a full sync on purpose: not a failed PSYNC.
        if c.argv.get(1).first() != Some(&b'?') {
            srv.repl.stat_sync_partial_err += 1;
        }
    } else {
        replica_info(c).pre_psync = true;
    }
    srv.repl.stat_sync_full += 1;
    attach_replica_for_full_sync(srv, c);
    master_transfer::serve_full_sync(srv, c);
}

/// Redis: syncCommand()'s refusals, in its order.
fn sync_refusal(srv: &Server, c: &Client) -> Option<&'static str> {
    if srv.masterhost.is_some() && !super::replica::master_link_is_up(srv) {
        return Some("-NOMASTERLINK Can't SYNC while not connected with my master");
    }
    // The snapshot's stream must start in an empty output buffer (so it can be copied to
    // replicas attaching to the same BGSAVE).
    if c.client_has_pending_replies() {
        return Some("SYNC and PSYNC are invalid with pending output");
    }
    let r = c.repl.as_deref();
    if r.map_or(0, |r| r.req) & SLAVE_REQ_RDB_MASK != 0 && r.map_or(0, |r| r.capa) & SLAVE_CAPA_EOF == 0 {
        return Some("Filtered replica requires EOF capability");
    }
    None
}

/// Redis: masterTryPartialResynchronization(). True when the replica was answered
/// +CONTINUE and given the backlog from `psync_offset`; false means a full sync is due.
pub fn master_try_partial_resynchronization(srv: &mut Server, c: &mut Client, psync_offset: i64) -> bool {
    if !psync_history_matches(srv, c, psync_offset) {
        return false;
    }
    if !srv.repl.backlog.as_ref().is_some_and(|b| b.covers(psync_offset)) {
        let name = replication_get_slave_name(c);
        log::info!("Unable to partial resync with replica {} for lack of backlog (Replica request was: {}).", name, psync_offset);
        if psync_offset > srv.repl.master_repl_offset {
            log::warn!("Warning: replica {} tried to PSYNC with an offset that is greater than the master replication offset.", name);
        }
        return false;
    }
    c.flags |= CLIENT_SLAVE;
    let info = replica_info(c);
    info.state = Some(SlaveState::Online);
    info.ack_time = srv.unixtime;
    info.start_cmd_stream_on_ack = false;
    let psync2 = info.capa & SLAVE_CAPA_PSYNC2 != 0;
    srv.repl.slaves.push(c.id);
    // The output buffer will carry the backlog, so the reply goes straight to the socket,
    // whose send buffer is empty (no pending output was checked).
    let line = if psync2 { format!("+CONTINUE {}\r\n", replid_str(&srv.repl.replid)) } else { "+CONTINUE\r\n".to_string() };
    if !conn_write_all(c, line.as_bytes()) {
        networking::free_client_async(srv, c);
        return true;
    }
    let sent = add_reply_replication_backlog(srv, c, psync_offset);
    log::info!(
        "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {}.",
        replication_get_slave_name(c),
        sent,
        psync_offset
    );
    // No SELECT is forced: the replica kept its db from the previous link.
    refresh_good_slaves_count(srv);
    true
}

/// Redis: the replication-id half of masterTryPartialResynchronization(): our current id,
/// or our previous one up to the offset where it stopped being ours.
fn psync_history_matches(srv: &Server, c: &Client, psync_offset: i64) -> bool {
    let asked = c.argv.get(1);
    let (id1, id2) = (&srv.repl.replid, &srv.repl.replid2);
    let is_id1 = asked.eq_ignore_ascii_case(id1);
    let is_id2 = asked.eq_ignore_ascii_case(id2);
    if is_id1 || (is_id2 && psync_offset <= srv.repl.second_replid_offset) {
        return true;
    }
    if asked.first() == Some(&b'?') {
        log::info!("Full resync requested by replica {}", replication_get_slave_name(c));
    } else if !is_id1 && !is_id2 {
        log::info!(
            "Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{}', my replication IDs are '{}' and '{}')",
            String::from_utf8_lossy(asked),
            replid_str(id1),
            replid_str(id2)
        );
    } else {
        log::info!(
            "Partial resynchronization not accepted: Requested offset for second ID was {}, but I can reply up to {}",
            psync_offset,
            srv.repl.second_replid_offset
        );
    }
    false
}

/// Redis: addReplyReplicationBacklog(): the backlog from `offset` to its end into the
/// replica's buffer. Returns how many bytes that was.
fn add_reply_replication_backlog(srv: &Server, c: &mut Client, offset: i64) -> usize {
    let Some(blocks) = srv.repl.backlog.as_ref().and_then(|b| b.range_from(offset)) else { return 0 };
    let mut sent = 0;
    for block in blocks {
        c.reply.add_reply_proto(block);
        sent += block.len();
    }
    sent
}

/// The full-sync half of syncCommand(): the client becomes a replica waiting for its
/// BGSAVE; the first replica creates the backlog (with a fresh history: there is no
/// valid past one to continue).
fn attach_replica_for_full_sync(srv: &mut Server, c: &mut Client) {
    replica_info(c).state = Some(SlaveState::WaitBgsaveStart);
    if srv.config.repl_disable_tcp_nodelay {
        if let Some(networking::Conn::Tcp(stream)) = &c.conn {
            // Non critical if it fails, as in Redis.
            let _ = stream.set_nodelay(false);
        }
    }
    c.flags |= CLIENT_SLAVE;
    srv.repl.slaves.push(c.id);
    if srv.repl.slaves.len() == 1 && srv.repl.backlog.is_none() {
        srv.repl.change_replication_id();
        srv.repl.clear_replication_id2();
        let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(1 << 20);
        srv.repl.create_replication_backlog(size);
        log::info!(
            "Replication backlog created, my new replication IDs are '{}' and '{}'",
            replid_str(&srv.repl.replid),
            replid_str(&srv.repl.replid2)
        );
    }
}

// ----------------------------------------------------------------------------------------
// REPLCONF
// ----------------------------------------------------------------------------------------

/// Redis: replication.c replconfCommand(): option/value pairs a replica (or a tool) sends
/// before and during replication. `+OK`, except ACK and GETACK, which never reply.
pub fn replconf_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len().is_multiple_of(2) {
        return c.reply.add_reply_syntax_error();
    }
    let mut j = 1;
    while j < c.argv.len() {
        let option = c.argv.get(j).to_ascii_lowercase();
        let done = match option.as_slice() {
            b"listening-port" => replconf_listening_port(c, j + 1),
            b"ip-address" => replconf_ip_address(c, j + 1),
            b"capa" => {
                replconf_capa(c, j + 1);
                false
            }
            b"ack" => {
                replconf_ack(srv, c, j);
                true
            }
            b"getack" => {
                replconf_getack(srv);
                true
            }
            b"rdb-only" => replconf_rdb_only(c, j + 1),
            b"rdb-filter-only" => replconf_rdb_filter_only(c, j + 1),
            _ => {
                let msg = format!("Unrecognized REPLCONF option: {}", String::from_utf8_lossy(c.argv.get(j)));
                c.reply.add_reply_error(&msg);
                true
            }
        };
        if done {
            return;
        }
        j += 2;
    }
    c.reply.add_reply_ok();
}

/// REPLCONF listening-port <port>. True when it replied an error.
fn replconf_listening_port(c: &mut Client, v: usize) -> bool {
    let Some(port) = util::string2l(c.argv.get(v)) else {
        c.reply.add_reply_error("value is not an integer or out of range");
        return true;
    };
    // Redis stores the long in an int.
    replica_info(c).listening_port = port as i32;
    false
}

/// REPLCONF ip-address <ip>.
fn replconf_ip_address(c: &mut Client, v: usize) -> bool {
    let addr = c.argv.get(v);
    if addr.len() >= NET_HOST_STR_LEN {
        let msg = format!("REPLCONF ip-address provided by replica instance is too long: {} bytes", addr.len());
        c.reply.add_reply_error(&msg);
        return true;
    }
    let addr = String::from_utf8_lossy(addr).into_owned();
    replica_info(c).addr = Some(addr);
    false
}

/// REPLCONF capa <eof|psync2>: capabilities this master does not know are ignored.
fn replconf_capa(c: &mut Client, v: usize) {
    let capa = if util::str_eq_ignore_case(c.argv.get(v), b"eof") {
        SLAVE_CAPA_EOF
    } else if util::str_eq_ignore_case(c.argv.get(v), b"psync2") {
        SLAVE_CAPA_PSYNC2
    } else {
        0
    };
    replica_info(c).capa |= capa;
}

/// REPLCONF ACK <offset> [FACK <aofoffset>]: how much of the stream a replica processed.
/// Only registered replicas are heard; never a reply.
fn replconf_ack(srv: &mut Server, c: &mut Client, j: usize) {
    if c.flags & CLIENT_SLAVE == 0 {
        return;
    }
    let Some(offset) = util::string2ll(c.argv.get(j + 1)) else { return };
    let fack = c.argv.len() > j + 3 && util::str_eq_ignore_case(c.argv.get(j + 2), b"fack");
    let aof_off = if fack { util::string2ll(c.argv.get(j + 3)) } else { None };
    let info = replica_info(c);
    info.ack_off = info.ack_off.max(offset);
    if fack {
        let Some(aof_off) = aof_off else { return };
        info.aof_off = info.aof_off.max(aof_off);
    }
    info.ack_time = srv.unixtime;
    match info.state {
        // Only a replica that loaded its snapshot ACKs: the stream may follow the EOF
        // mark as soon as the transfer is wrapped up.
        Some(SlaveState::WaitBgsaveEnd) => info.acked_during_transfer = true,
        // Redis: replicaStartCommandStream(); after_client_activity() queues the write.
        Some(SlaveState::Online) => info.start_cmd_stream_on_ack = false,
        Some(SlaveState::WaitBgsaveStart | SlaveState::SendBulk | SlaveState::RdbTransmitted) | None => {}
    }
}

/// REPLCONF GETACK *: an ACK on our master link, if we have one (Redis:
/// replicationSendAck()). The GETACK our master itself sends is answered by
/// replica_stream.rs with the offset before it.
fn replconf_getack(srv: &mut Server) {
    if srv.masterhost.is_some() {
        super::replica::replication_send_ack(srv);
    }
}

/// REPLCONF rdb-only <0|1>.
fn replconf_rdb_only(c: &mut Client, v: usize) -> bool {
    let value = match util::string2l(c.argv.get(v)) {
        Some(n @ 0..=1) => n,
        Some(_) => {
            c.reply.add_reply_error("value is out of range, value must between 0 and 1");
            return true;
        }
        None => {
            c.reply.add_reply_error("value is not an integer or out of range");
            return true;
        }
    };
    replica_info(c).rdb_only = value == 1;
    false
}

/// REPLCONF rdb-filter-only <filters>: "" (no data, no functions) or "functions".
fn replconf_rdb_filter_only(c: &mut Client, v: usize) -> bool {
    let Ok(filters) = util::sds_split_args(c.argv.get(v)) else {
        c.reply.add_reply_error("Missing rdb-filter-only values");
        return true;
    };
    let info = replica_info(c);
    info.req |= SLAVE_REQ_RDB_EXCLUDE_DATA | SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS;
    for filter in &filters {
        if !util::str_eq_ignore_case(filter, b"functions") {
            let msg = format!("Unsupported rdb-filter-only option: {}", String::from_utf8_lossy(filter));
            c.reply.add_reply_error(&msg);
            return true;
        }
        info.req &= !SLAVE_REQ_RDB_EXCLUDE_FUNCTIONS;
    }
    false
}

// ----------------------------------------------------------------------------------------
// Losing a replica
// ----------------------------------------------------------------------------------------

/// Redis: freeClient()'s replica cleanup: forget the replica (and its part in a transfer);
/// with no replica left, start counting towards repl-backlog-ttl.
pub fn replication_free_replica(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_SLAVE == 0 || c.flags & CLIENT_MONITOR != 0 || !srv.repl.slaves.contains(&c.id) {
        return;
    }
    log::warn!("Connection with replica {} lost.", replication_get_slave_name(c));
    master_transfer::replica_freed_during_transfer(srv, c);
    srv.repl.slaves.retain(|&id| id != c.id);
    if srv.repl.slaves.is_empty() {
        srv.repl.repl_no_slaves_since = srv.unixtime;
    }
    refresh_good_slaves_count(srv);
}

// ----------------------------------------------------------------------------------------
// replicationCron (master part)
// ----------------------------------------------------------------------------------------

/// The replication duties of server_cron: the once-a-second replicationCron() and,
/// every tick, a pending replication BGSAVE (Redis starts one right after a child is
/// reaped, in checkChildrenDone()).
pub fn replication_server_cron(srv: &mut Server) {
    if crate::server::run_with_period(srv, super::failover::replication_cron_period(srv)) {
        replication_cron_master(srv);
    }
    master_transfer::replication_start_pending_fork(srv);
}

/// Redis: the master part of replicationCron(), in its order: PING into the stream,
/// newlines to replicas waiting for a snapshot, replica timeouts, the backlog's TTL, the
/// good-replica count.
pub fn replication_cron_master(srv: &mut Server) {
    let period = u64::try_from(srv.config.repl_ping_replica_period.max(1)).unwrap_or(1);
    let pings_due = srv.repl.master.cron_loops.is_multiple_of(period) && !srv.repl.slaves.is_empty();
    if pings_due && !super::failover::replica_pings_suspended(srv) {
        replication_ping_replicas(srv);
    }
    send_presync_newlines(srv);
    disconnect_timedout_replicas(srv);
    free_backlog_after_ttl(srv);
    refresh_good_slaves_count(srv);
    master_transfer::remove_rdb_used_to_sync_replicas(srv);
    srv.repl.master.cron_loops += 1;
}

/// The master's PING, fed in the stream's current db (no SELECT) so replicas can time
/// out a silent master. Only a top-level master pings; a replica proxies its master's.
fn replication_ping_replicas(srv: &mut Server) {
    if srv.masterhost.is_some() {
        return;
    }
    let mut bytes = Vec::new();
    propagate::encode_multibulk(&mut bytes, &[b"ping"]);
    propagate::feed_replication_buffer(srv, &bytes);
}

/// A newline (outside the stream, not counted in offsets) to replicas waiting for their
/// snapshot, so they do not time us out. A diskless transfer's replicas are receiving
/// the RDB itself.
fn send_presync_newlines(srv: &mut Server) {
    let socket_target = master_transfer::rdb_child_has_socket_target(srv);
    for id in srv.repl.slaves.clone() {
        let Some(replica) = srv.client_by_id(id) else { continue };
        let presync = match slave_state(replica) {
            Some(SlaveState::WaitBgsaveStart) => true,
            Some(SlaveState::WaitBgsaveEnd) => !socket_target,
            _ => false,
        };
        if presync {
            let _ = conn_write_all(replica, b"\n");
        }
    }
}

/// Redis: replicationCron()'s "Disconnect timedout slaves".
fn disconnect_timedout_replicas(srv: &mut Server) {
    let socket_target = master_transfer::rdb_child_has_socket_target(srv);
    let timeout = i64::from(srv.config.repl_timeout);
    let now = srv.unixtime;
    for id in srv.repl.slaves.clone() {
        let Some(replica) = srv.client_by_id(id) else { continue };
        let Some(r) = replica.repl.as_deref() else { continue };
        let kind = match r.state {
            Some(SlaveState::Online) if !r.pre_psync && now - r.ack_time > timeout => "streaming sync",
            Some(SlaveState::WaitBgsaveEnd)
                if socket_target && r.last_partial_write != 0 && now - r.last_partial_write > timeout =>
            {
                "full sync"
            }
            _ => continue,
        };
        log::warn!("Disconnecting timedout replica ({}): {}", kind, replication_get_slave_name(replica));
        if let Some(replica) = srv.take_client_by_id(id) {
            networking::free_client(srv, replica);
        }
    }
}

/// Redis: replicationCron()'s backlog TTL: a master alone for repl-backlog-ttl seconds
/// frees its backlog, and starts a new history so no stale PSYNC can match it.
fn free_backlog_after_ttl(srv: &mut Server) {
    let ttl = srv.config.repl_backlog_ttl;
    if !srv.repl.slaves.is_empty() || ttl == 0 || srv.repl.backlog.is_none() || srv.masterhost.is_some() {
        return;
    }
    if srv.unixtime - srv.repl.repl_no_slaves_since > ttl {
        srv.repl.change_replication_id();
        srv.repl.clear_replication_id2();
        srv.repl.free_replication_backlog();
        log::info!("Replication backlog freed after {} seconds without connected replicas.", ttl);
    }
}

/// Redis: refreshGoodSlavesCount(): ONLINE replicas whose last ACK is at most
/// min-replicas-max-lag seconds old (only kept while min-replicas is configured).
pub fn refresh_good_slaves_count(srv: &mut Server) {
    let (min, max_lag) = (srv.config.min_replicas_to_write, i64::from(srv.config.min_replicas_max_lag));
    if min == 0 || max_lag == 0 {
        return;
    }
    let now = srv.unixtime;
    let mut good = 0;
    for id in srv.repl.slaves.clone() {
        let Some(r) = srv.client_by_id(id).and_then(|c| c.repl.as_deref()) else { continue };
        if r.state == Some(SlaveState::Online) && now - r.ack_time <= max_lag {
            good += 1;
        }
    }
    srv.repl.master.good_slaves_count = good;
}

// ----------------------------------------------------------------------------------------
// min-replicas-to-write
// ----------------------------------------------------------------------------------------

/// Redis: checkGoodReplicasStatus(): may this master accept writes? The count is
/// refreshed first, so a CONFIG SET of the min-replicas options applies at once.
pub fn check_good_replicas_status(srv: &mut Server) -> bool {
    if srv.masterhost.is_some() || srv.config.min_replicas_max_lag == 0 || srv.config.min_replicas_to_write == 0 {
        return true;
    }
    refresh_good_slaves_count(srv);
    srv.repl.master.good_slaves_count >= usize::try_from(srv.config.min_replicas_to_write).unwrap_or(usize::MAX)
}

/// Redis: processCommand()'s NOREPLICAS check: the error for a write (or an EXEC that
/// queued one) while there are not enough good replicas.
pub fn deny_write_for_min_replicas(srv: &mut Server, c: &Client, id: usize, flags: u64) -> Option<&'static str> {
    let exec_writes = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_flags & CMD_WRITE != 0;
    if flags & CMD_WRITE == 0 && !exec_writes {
        return None;
    }
    (!check_good_replicas_status(srv)).then_some("-NOREPLICAS Not enough good replicas to write.")
}

// ----------------------------------------------------------------------------------------
// WAIT
// ----------------------------------------------------------------------------------------

/// Redis: replicationCountAcksByOffset(): ONLINE replicas that acknowledged `offset`.
pub fn replication_count_acks_by_offset(srv: &mut Server, offset: i64) -> i64 {
    let mut count = 0;
    for id in srv.repl.slaves.clone() {
        let Some(r) = srv.client_by_id(id).and_then(|c| c.repl.as_deref()) else { continue };
        if r.state == Some(SlaveState::Online) && r.ack_off >= offset {
            count += 1;
        }
    }
    count
}

/// Redis: replication.c waitCommand(): WAIT numreplicas timeout: blocks until that many
/// replicas acknowledged this client's last write, or the timeout; replies the count.
pub fn wait_command(srv: &mut Server, c: &mut Client) {
    if srv.masterhost.is_some() {
        return c.reply.add_reply_error("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
    }
    let Some(numreplicas) = util::string2l(c.argv.get(1)) else {
        return c.reply.add_reply_error("value is not an integer or out of range");
    };
    let Some(timeout_ms) = crate::blocked::get_timeout_from_object_or_reply(c, 2, false) else { return };
    let acked = replication_count_acks_by_offset(srv, c.woff);
    if acked >= numreplicas || c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.reply.add_reply_long_long(acked);
    }
    // Redis: blockForReplication(); the reply comes from before_sleep.
    c.flags |= CLIENT_BLOCKED;
    srv.repl.master.clients_waiting_acks.push(WaitingClient { id: c.id, timeout_ms, offset: c.woff, numreplicas });
    // Redis: replicationRequestAckFromSlaves().
    srv.repl.master.get_ack_from_slaves = true;
}

/// The replication duties of before_sleep: answer the WAITs that are satisfied or timed
/// out (Redis: processClientsWaitingReplicas() and the WAIT case of the blocked-client
/// timeouts), then send GETACK if a WAIT blocked during this turn (never while clients
/// are paused: it would grow the stream).
pub fn replication_before_sleep(srv: &mut Server) {
    if !srv.repl.master.clients_waiting_acks.is_empty() {
        process_clients_waiting_replicas(srv);
    }
    if srv.repl.master.get_ack_from_slaves && !srv.clients_are_paused() {
        send_getack_to_replicas(srv);
        srv.repl.master.get_ack_from_slaves = false;
    }
}

/// Redis: processClientsWaitingReplicas() plus the WAIT timeouts.
fn process_clients_waiting_replicas(srv: &mut Server) {
    let now = util::mstime();
    let waiting = std::mem::take(&mut srv.repl.master.clients_waiting_acks);
    let mut still = Vec::with_capacity(waiting.len());
    for w in waiting {
        if !srv.client_fds.contains_key(&w.id) {
            continue; // freed meanwhile
        }
        let acked = replication_count_acks_by_offset(srv, w.offset);
        if acked >= w.numreplicas || (w.timeout_ms != 0 && w.timeout_ms <= now) {
            unblock_waiting_client(srv, w.id, acked);
        } else {
            still.push(w);
        }
    }
    still.append(&mut srv.repl.master.clients_waiting_acks);
    srv.repl.master.clients_waiting_acks = still;
}

/// Replies WAIT's count and lets the client run what else it sent (Redis:
/// unblockClient() + addReplyLongLong()).
fn unblock_waiting_client(srv: &mut Server, id: u64, acked: i64) {
    let Some(mut c) = srv.take_client_by_id(id) else { return };
    c.flags &= !CLIENT_BLOCKED;
    c.reply.add_reply_long_long(acked);
    c.reset_client();
    networking::process_input_buffer(srv, &mut c);
    srv.after_client_activity(c);
}

/// Redis: sendGetackToReplicas(): REPLCONF GETACK * in the stream's current db.
pub fn send_getack_to_replicas(srv: &mut Server) {
    if srv.masterhost.is_some() {
        return;
    }
    let mut bytes = Vec::new();
    propagate::encode_multibulk(&mut bytes, &[b"REPLCONF", b"GETACK", b"*"]);
    propagate::feed_replication_buffer(srv, &bytes);
}

// ----------------------------------------------------------------------------------------
// ROLE and INFO
// ----------------------------------------------------------------------------------------

/// Redis: replication.c roleCommand().
pub fn role_command(srv: &mut Server, c: &mut Client) {
    if srv.masterhost.is_none() {
        role_command_master(srv, c);
    } else {
        super::replica::role_command_replica(srv, c);
    }
}

/// Redis: replication.c roleCommand(), for a master: ["master", offset, [[ip, port,
/// acked offset], ...]] listing the ONLINE replicas. A replica's answer is replica.rs's.
pub fn role_command_master(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_array_len(3);
    c.reply.add_reply_bulk(b"master");
    c.reply.add_reply_long_long(srv.repl.master_repl_offset);
    let mark = c.reply.add_reply_deferred_len();
    let mut listed = 0;
    for id in srv.repl.slaves.clone() {
        let Some(replica) = srv.client_by_id(id) else { continue };
        let Some(r) = replica.repl.as_deref() else { continue };
        if r.state != Some(SlaveState::Online) {
            continue;
        }
        let (ip, port, ack) = (replica_ip(replica), r.listening_port, r.ack_off);
        c.reply.add_reply_array_len(3);
        c.reply.add_reply_bulk(ip.as_bytes());
        c.reply.add_reply_bulk(port.to_string().as_bytes());
        c.reply.add_reply_bulk(ack.to_string().as_bytes());
        listed += 1;
    }
    c.reply.set_deferred_array_len(mark, listed);
}

/// Redis: the part of genRedisInfoString("replication") every role prints, from
/// connected_slaves to repl_backlog_histlen (the replica-only block comes before it).
pub fn gen_replication_info_master(srv: &mut Server, out: &mut String) {
    let _ = write!(out, "connected_slaves:{}\r\n", srv.repl.slaves.len());
    if srv.config.min_replicas_to_write != 0 && srv.config.min_replicas_max_lag != 0 {
        let _ = write!(out, "min_slaves_good_slaves:{}\r\n", srv.repl.master.good_slaves_count);
    }
    write_replica_lines(srv, out);
    let backlog = srv.repl.backlog.as_ref();
    let _ = write!(
        out,
        "master_failover_state:{}\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\nmaster_repl_offset:{}\r\n\
         second_repl_offset:{}\r\nrepl_backlog_active:{}\r\nrepl_backlog_size:{}\r\n\
         repl_backlog_first_byte_offset:{}\r\nrepl_backlog_histlen:{}\r\n",
        super::failover::get_failover_state_string(srv),
        replid_str(&srv.repl.replid),
        replid_str(&srv.repl.replid2),
        srv.repl.master_repl_offset,
        srv.repl.second_replid_offset,
        u8::from(backlog.is_some()),
        srv.config.repl_backlog_size,
        backlog.map_or(0, |b| b.first_byte_offset()),
        backlog.map_or(0, |b| b.histlen()),
    );
}

/// INFO's `slave<n>:ip=,port=,state=,offset=,lag=` lines; lag counts only once online.
fn write_replica_lines(srv: &mut Server, out: &mut String) {
    let now = util::ustime() / 1_000_000;
    let mut n = 0;
    for id in srv.repl.slaves.clone() {
        let Some(replica) = srv.client_by_id(id) else { continue };
        let Some(r) = replica.repl.as_deref() else { continue };
        let Some(state) = r.state else { continue };
        let lag = if state == SlaveState::Online { now - r.ack_time } else { 0 };
        let _ = write!(
            out,
            "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
            n,
            replica_ip(replica),
            r.listening_port,
            state.info_name(),
            r.ack_off,
            lag
        );
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{process, run_command, test_server};

    fn client(id: u64) -> Client {
        let mut c = Client::new(id, None, 0);
        c.addr = "127.0.0.1:5555".to_string();
        c
    }

    #[test]
    fn replconf_options_fill_the_replica_fields() {
        let mut srv = test_server();
        let mut c = client(1);
        let ok = "+OK\r\n";
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "listening-port", "6380", "capa", "eof"]), ok);
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "CAPA", "psync2", "capa", "x"]), ok);
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "rdb-only", "1"]), ok);
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "rdb-filter-only", "functions"]), ok);
        let r = c.repl.as_deref().expect("replica fields");
        assert_eq!((r.listening_port, r.capa, r.rdb_only), (6380, SLAVE_CAPA_EOF | SLAVE_CAPA_PSYNC2, true));
        assert_eq!(r.req, SLAVE_REQ_RDB_EXCLUDE_DATA);
        assert_eq!(r.state, None, "REPLCONF does not make a replica");
        assert_eq!(replication_get_slave_name(&c), "127.0.0.1:6380");
        run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "ip-address", "::1"]);
        assert_eq!(replication_get_slave_name(&c), "[::1]:6380");
        let mut d = client(2);
        assert_eq!(replication_get_slave_name(&d), "127.0.0.1:<unknown-replica-port>");
        // ACK from a non-replica and GETACK: no reply.
        assert_eq!(run_command(&mut srv, &mut d, replconf_command, &["REPLCONF", "ack", "5"]), "");
        assert_eq!(run_command(&mut srv, &mut d, replconf_command, &["REPLCONF", "getack", "*"]), "");
        assert!(d.repl.is_none());
    }

    #[test]
    fn ack_keeps_the_highest_offset_and_starts_a_waiting_stream() {
        let mut srv = test_server();
        srv.unixtime = 1000;
        let mut c = client(1);
        c.flags |= CLIENT_SLAVE;
        let info = replica_info(&mut c);
        info.state = Some(SlaveState::Online);
        info.start_cmd_stream_on_ack = true;
        assert!(!replica_output_may_flow(&c));
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "ACK", "50", "FACK", "40"]), "");
        assert_eq!(run_command(&mut srv, &mut c, replconf_command, &["REPLCONF", "ACK", "20"]), "");
        let r = c.repl.as_deref().expect("replica");
        assert_eq!((r.ack_off, r.aof_off, r.ack_time), (50, 40, 1000));
        assert!(replica_output_may_flow(&c));
    }

    #[test]
    fn output_is_held_and_stream_fed_according_to_the_state() {
        let mut c = client(1);
        assert!(replica_output_may_flow(&c) && can_feed_replica_repl_buffer(&c));
        let cases = [
            (SlaveState::WaitBgsaveStart, false, false),
            (SlaveState::WaitBgsaveEnd, false, true),
            (SlaveState::SendBulk, false, true),
            (SlaveState::Online, true, true),
        ];
        for (state, flows, fed) in cases {
            replica_info(&mut c).state = Some(state);
            assert_eq!((replica_output_may_flow(&c), can_feed_replica_repl_buffer(&c)), (flows, fed), "{state:?}");
        }
        replica_info(&mut c).rdb_only = true;
        assert!(!can_feed_replica_repl_buffer(&c));
    }

    /// A master whose history is replid "a..." since offset 100, after replid "b..." which
    /// was valid up to offset 150, with a backlog holding offsets 101..=200.
    fn master_with_history() -> Server {
        let mut srv = test_server();
        srv.repl.master_repl_offset = 100;
        srv.repl.create_replication_backlog(1 << 20);
        propagate::feed_replication_buffer(&mut srv, &[b'x'; 100]);
        srv.repl.replid = [b'a'; 40];
        srv.repl.replid2 = [b'b'; 40];
        srv.repl.second_replid_offset = 150;
        srv
    }

    fn try_psync(srv: &mut Server, replid: &str, offset: i64) -> bool {
        let mut c = client(7);
        c.argv.push(b"PSYNC");
        c.argv.push(replid.as_bytes());
        c.argv.push(offset.to_string().as_bytes());
        let accepted = master_try_partial_resynchronization(srv, &mut c, offset);
        if accepted {
            assert_eq!(slave_state(&c), Some(SlaveState::Online));
            assert!(srv.repl.slaves.contains(&7));
            srv.repl.slaves.clear();
        }
        accepted
    }

    #[test]
    fn psync_acceptance_follows_redis_rules() {
        let mut srv = master_with_history();
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        assert!(try_psync(&mut srv, &a, 101), "the oldest byte held");
        assert!(try_psync(&mut srv, &a.to_uppercase(), 150), "ids compare case-insensitively");
        assert!(try_psync(&mut srv, &a, 201), "one past the end: nothing to send");
        assert!(!try_psync(&mut srv, &a, 202), "beyond the end");
        assert!(!try_psync(&mut srv, &a, 100), "before the backlog");
        assert!(try_psync(&mut srv, &b, 150), "the old id up to its last offset");
        assert!(!try_psync(&mut srv, &b, 151), "the old id past the switch");
        assert!(!try_psync(&mut srv, &"c".repeat(40), 150));
        assert!(!try_psync(&mut srv, "?", -1));
        srv.repl.free_replication_backlog();
        assert!(!try_psync(&mut srv, &a, 150), "no backlog, no partial resync");
    }

    #[test]
    fn continue_carries_the_backlog_tail() {
        let mut srv = master_with_history();
        propagate::feed_replication_buffer(&mut srv, b"yz");
        let mut c = client(3);
        assert_eq!(add_reply_replication_backlog(&srv, &mut c, 199), 4);
        assert_eq!(&*c.reply.pending(), b"xxyz");
        assert_eq!(add_reply_replication_backlog(&srv, &mut c, 203), 0);
    }

    #[test]
    fn sync_is_refused_while_output_is_pending_or_the_link_is_down() {
        let mut srv = test_server();
        let mut c = client(1);
        c.reply.add_reply_ok();
        assert_eq!(
            run_command(&mut srv, &mut c, sync_command, &["PSYNC", "?", "-1"]),
            "+OK\r\n-ERR SYNC and PSYNC are invalid with pending output\r\n"
        );
        srv.masterhost = Some("127.0.0.1".to_string());
        assert_eq!(
            run_command(&mut srv, &mut c, sync_command, &["SYNC"]),
            "-NOMASTERLINK Can't SYNC while not connected with my master\r\n"
        );
        let mut r = client(2);
        replica_info(&mut r).req = SLAVE_REQ_RDB_EXCLUDE_DATA;
        srv.masterhost = None;
        assert_eq!(run_command(&mut srv, &mut r, sync_command, &["SYNC"]), "-ERR Filtered replica requires EOF capability\r\n");
        assert!(srv.repl.slaves.is_empty() && srv.repl.backlog.is_none());
    }

    #[test]
    fn info_without_replicas_and_min_replicas_line() {
        let mut srv = test_server();
        srv.repl.replid = [b'c'; 40];
        let mut out = String::new();
        gen_replication_info_master(&mut srv, &mut out);
        let want = format!(
            "connected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:{}\r\nmaster_replid2:{}\r\n\
             master_repl_offset:0\r\nsecond_repl_offset:-1\r\nrepl_backlog_active:0\r\nrepl_backlog_size:1048576\r\n\
             repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n",
            "c".repeat(40),
            "0".repeat(40)
        );
        assert_eq!(out, want);
        srv.config.min_replicas_to_write = 1;
        let mut out = String::new();
        gen_replication_info_master(&mut srv, &mut out);
        assert!(out.starts_with("connected_slaves:0\r\nmin_slaves_good_slaves:0\r\nmaster_failover_state"));
    }

    #[test]
    fn min_replicas_rejects_writes_only() {
        let mut srv = test_server();
        let mut c = client(1);
        srv.config.min_replicas_to_write = 1;
        assert_eq!(process(&mut srv, &mut c, &["SET", "k", "v"]), "-NOREPLICAS Not enough good replicas to write.\r\n");
        assert_eq!(process(&mut srv, &mut c, &["GET", "k"]), "$-1\r\n");
        srv.config.min_replicas_max_lag = 0;
        assert_eq!(process(&mut srv, &mut c, &["SET", "k", "v"]), "+OK\r\n", "max-lag 0 disables the check");
    }

    #[test]
    fn wait_answers_at_once_without_blocking_cases() {
        let mut srv = test_server();
        let mut c = client(1);
        assert_eq!(run_command(&mut srv, &mut c, wait_command, &["WAIT", "0", "0"]), ":0\r\n");
        c.flags |= CLIENT_DENY_BLOCKING;
        c.woff = 10;
        assert_eq!(run_command(&mut srv, &mut c, wait_command, &["WAIT", "1", "0"]), ":0\r\n");
        assert!(srv.repl.master.clients_waiting_acks.is_empty());
        c.flags &= !CLIENT_DENY_BLOCKING;
        assert_eq!(run_command(&mut srv, &mut c, wait_command, &["WAIT", "1", "0"]), "");
        assert!(c.flags & CLIENT_BLOCKED != 0 && srv.repl.master.get_ack_from_slaves);
        assert_eq!(srv.repl.master.clients_waiting_acks.len(), 1);
    }

    #[test]
    fn backlog_is_freed_after_its_ttl_with_a_new_history() {
        let mut srv = test_server();
        srv.repl.create_replication_backlog(1 << 20);
        srv.repl.replid2 = [b'b'; 40];
        srv.repl.second_replid_offset = 5;
        let old = srv.repl.replid;
        srv.unixtime = 10_000;
        srv.repl.repl_no_slaves_since = 10_000 - 3600;
        free_backlog_after_ttl(&mut srv);
        assert!(srv.repl.backlog.is_some(), "not yet past the ttl");
        srv.repl.repl_no_slaves_since -= 1;
        free_backlog_after_ttl(&mut srv);
        assert!(srv.repl.backlog.is_none());
        assert_ne!(srv.repl.replid, old);
        assert_eq!((srv.repl.replid2, srv.repl.second_replid_offset), ([b'0'; 40], -1));
    }
}

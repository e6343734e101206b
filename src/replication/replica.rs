//! The replica side of replication: following a master.
//!
//! Redis: replication.c, replica half. This file owns the replica's state
//! ([`ReplicaSideState`], Redis's `server.repl_state`, `server.master`,
//! `server.cached_master`, `server.repl_down_since` ...), REPLICAOF / SLAVEOF, becoming a
//! replica or a master again (replicationSetMaster(), replicationUnsetMaster()), the
//! master-client cache that makes PSYNC possible after a link drop, the replica part of
//! replicationCron(), ROLE and INFO replication for a replica and the checks
//! processCommand() makes on a replica (READONLY, MASTERDOWN). The link itself lives in
//! siblings: the non-blocking connect and handshake in replica_handshake.rs, the RDB
//! download and load in replica_transfer.rs (a diskless load in replica_diskless_load.rs),
//! the master's command stream in replica_stream.rs.
//!
//! Event loop fit: everything runs on the loop thread. The link is a state machine
//! ([`ReplState`]) advanced only by readiness callbacks of the master socket and by the
//! once-a-second [`replication_cron_replica`]; nothing here blocks, sleeps or spawns.

use std::fmt::Write as _;

use crate::command_def::{CMD_STALE, CMD_WRITE};
use crate::networking::{self, Client, CLIENT_BLOCKED, CLIENT_CLOSE_AFTER_REPLY, CLIENT_MASTER, CLIENT_PROTOCOL_ERROR, CLIENT_SLAVE};
use crate::rdb::RdbSaveInfo;
use crate::server::Server;
use crate::util;

use super::replica_handshake::{self, TransferLink};
use super::replica_stream;
use super::CONFIG_RUN_ID_SIZE;

/// Redis: REPL_STATE_* (server.repl_state). The handshake states are the contiguous range
/// ReceivePingReply ..= ReceivePsyncReply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReplState {
    /// Not a replica.
    #[default]
    None,
    /// Must (re)connect: replicationCron() starts the connect.
    Connect,
    /// Non-blocking connect in progress.
    Connecting,
    ReceivePingReply,
    /// Transient: AUTH and the REPLCONFs are written back to back.
    SendHandshake,
    ReceiveAuthReply,
    ReceivePortReply,
    ReceiveIpReply,
    ReceiveCapaReply,
    /// Transient: PSYNC is written.
    SendPsync,
    ReceivePsyncReply,
    /// Receiving the RDB payload.
    Transfer,
    /// Streaming: the master client exists.
    Connected,
}

impl ReplState {
    /// Redis: slaveIsInHandshakeState().
    pub fn is_handshake(self) -> bool {
        match self {
            ReplState::ReceivePingReply
            | ReplState::SendHandshake
            | ReplState::ReceiveAuthReply
            | ReplState::ReceivePortReply
            | ReplState::ReceiveIpReply
            | ReplState::ReceiveCapaReply
            | ReplState::SendPsync
            | ReplState::ReceivePsyncReply => true,
            ReplState::None | ReplState::Connect | ReplState::Connecting | ReplState::Transfer | ReplState::Connected => {
                false
            }
        }
    }

    /// The link-state word of ROLE (Redis: roleCommand()).
    pub fn role_name(self) -> &'static str {
        if self.is_handshake() {
            return "handshake";
        }
        match self {
            ReplState::None => "none",
            ReplState::Connect => "connect",
            ReplState::Connecting => "connecting",
            ReplState::Transfer => "sync",
            ReplState::Connected => "connected",
            _ => "unknown",
        }
    }
}

/// Redis: the replication fields of server.master, the client our master's stream
/// arrives on. The client itself sits in the client table under `client_id`.
#[derive(Debug)]
pub struct MasterLink {
    pub client_id: u64,
    /// Redis: master->replid: the history the stream belongs to.
    pub replid: [u8; CONFIG_RUN_ID_SIZE],
    /// Redis: master->reploff: stream bytes fully applied.
    pub reploff: i64,
    /// Redis: master->read_reploff: stream bytes read.
    pub read_reploff: i64,
    /// Redis: master->lastinteraction (unix seconds of the last byte from the master).
    pub lastinteraction: i64,
    /// Redis: CLIENT_PRE_PSYNC: an old master (SYNC) that expects no ACKs.
    pub pre_psync: bool,
    /// The bytes read but not yet applied (offsets reploff+1 ..= read_reploff), kept apart
    /// from the query buffer because the parser compacts that one: an applied command is
    /// proxied from here, byte for byte, to our backlog and sub-replicas.
    pub unapplied: Vec<u8>,
    pub unapplied_pos: usize,
}

/// Redis: server.cached_master: what is left of a master link that dropped, enough to
/// ask for `PSYNC <replid> <reploff + 1>` and to resume in the same db.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedMaster {
    pub replid: [u8; CONFIG_RUN_ID_SIZE],
    pub reploff: i64,
    pub db: usize,
    pub pre_psync: bool,
}

/// The replica-side fields of Redis's server struct.
#[derive(Debug)]
pub struct ReplicaSideState {
    /// Redis: server.repl_state.
    pub state: ReplState,
    /// Redis: server.master.
    pub master: Option<MasterLink>,
    /// Redis: server.cached_master.
    pub cached_master: Option<CachedMaster>,
    /// Redis: server.repl_transfer_s and the repl_transfer_* fields of the download.
    pub transfer: Option<TransferLink>,
    /// Redis: server.repl_transfer_lastio (unix seconds): handshake and transfer timeouts.
    pub transfer_lastio: i64,
    /// Redis: server.master_replid / master_initial_offset, from +FULLRESYNC.
    pub master_replid: [u8; CONFIG_RUN_ID_SIZE],
    pub master_initial_offset: i64,
    /// Redis: server.repl_down_since (unix seconds), 0 when the link never went down.
    pub repl_down_since: i64,
}

impl Default for ReplicaSideState {
    fn default() -> Self {
        ReplicaSideState {
            state: ReplState::None,
            master: None,
            cached_master: None,
            transfer: None,
            transfer_lastio: 0,
            master_replid: [0; CONFIG_RUN_ID_SIZE],
            master_initial_offset: -1,
            repl_down_since: 0,
        }
    }
}

// ----------------------------------------------------------------------------------------
// Small helpers
// ----------------------------------------------------------------------------------------

/// Redis: `server.repl_state == REPL_STATE_CONNECTED`: the master link is up.
pub fn master_link_is_up(srv: &Server) -> bool {
    srv.repl.replica.state == ReplState::Connected
}

/// Redis: `server.current_client == server.master`: the running command came from our
/// master (expiry then leaves keys alone: the master sends its own DELs).
pub fn current_client_is_master(srv: &Server) -> bool {
    srv.current_client_id != 0 && srv.repl.replica.master.as_ref().is_some_and(|m| m.client_id == srv.current_client_id)
}

/// Redis: server.masterport.
pub fn masterport(srv: &Server) -> u16 {
    srv.config.replicaof.as_ref().map_or(0, |r| r.port)
}

/// "host:port" of the master for log lines.
pub fn master_addr(srv: &Server) -> String {
    format!("{}:{}", srv.masterhost.as_deref().unwrap_or(""), masterport(srv))
}

/// C strerror() of an I/O error: Rust's text without its " (os error N)" suffix.
pub(crate) fn strerror(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

/// The id as C's `%s` shows it: up to its first NUL. A blank id (after a SYNC fallback or
/// a malformed +FULLRESYNC) is the empty string, in the log and in the next PSYNC.
pub(crate) fn replid_text(id: &[u8; CONFIG_RUN_ID_SIZE]) -> String {
    let len = memchr::memchr(0, id).unwrap_or(id.len());
    String::from_utf8_lossy(&id[..len]).into_owned()
}

/// The log lines' role character follows masterhost, as serverLogRaw() does.
fn update_log_role(srv: &Server) {
    crate::server_log::set_role_char(if srv.masterhost.is_some() { b'S' } else { b'M' });
}

// ----------------------------------------------------------------------------------------
// REPLICAOF / SLAVEOF
// ----------------------------------------------------------------------------------------

/// Redis: replication.c replicaofCommand(): REPLICAOF host port | NO ONE (also SLAVEOF).
pub fn replicaof_command(srv: &mut Server, c: &mut Client) {
    if srv.config.cluster_enabled {
        return c.reply.add_reply_error("REPLICAOF not allowed in cluster mode.");
    }
    if srv.repl.failover.state != super::failover::FailoverState::NoFailover {
        return c.reply.add_reply_error("REPLICAOF not allowed while failing over.");
    }
    if util::str_eq_ignore_case(c.argv.get(1), b"no") && util::str_eq_ignore_case(c.argv.get(2), b"one") {
        if srv.masterhost.is_some() {
            replication_unset_master(srv);
            let info = crate::client::cat_client_info_string(srv, c);
            log::info!("MASTER MODE enabled (user request from '{}')", info);
        }
        return c.reply.add_reply_ok();
    }
    if c.flags & CLIENT_SLAVE != 0 {
        return c.reply.add_reply_error("Command is not valid when client is a replica.");
    }
    let Some(port) = util::string2l(c.argv.get(2)).and_then(|p| u16::try_from(p).ok()) else {
        return c.reply.add_reply_error("Invalid master port");
    };
    let host = String::from_utf8_lossy(c.argv.get(1)).into_owned();
    let same_host = srv.masterhost.as_deref().is_some_and(|h| h.eq_ignore_ascii_case(&host));
    if same_host && masterport(srv) == port {
        log::info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        return c.reply.add_reply_proto(b"+OK Already connected to specified master\r\n");
    }
    replication_set_master(srv, &host, port);
    let info = crate::client::cat_client_info_string(srv, c);
    log::info!("REPLICAOF {} enabled (user request from '{}')", master_addr(srv), info);
    c.reply.add_reply_ok();
}

/// Redis: replicationSetMaster(): follow `host:port` from now on. A master first turns
/// its own history into a cached master, so the new master may accept a PSYNC from it.
pub fn replication_set_master(srv: &mut Server, host: &str, port: u16) {
    let was_master = srv.masterhost.is_none();
    srv.masterhost = None;
    free_master_client(srv);
    disconnect_all_blocked_clients(srv);
    srv.masterhost = Some(host.to_string());
    srv.config.replicaof = Some(crate::config::ReplicaOf { host: host.to_string(), port });
    update_log_role(srv);
    // Our own replicas stay: they may be able to continue with us after our sync.
    replica_handshake::cancel_replication_handshake(srv, false);
    if was_master {
        replication_discard_cached_master(srv);
        replication_cache_master_using_myself(srv);
    }
    srv.repl.replica.state = ReplState::Connect;
    log::info!("Connecting to MASTER {}", master_addr(srv));
    replica_handshake::connect_with_master(srv);
}

/// Redis: replicationUnsetMaster(): become a master. Our history so far becomes replid2
/// (valid up to the next byte) so our former siblings can PSYNC from us.
pub fn replication_unset_master(srv: &mut Server) {
    if srv.masterhost.is_none() {
        return;
    }
    // masterhost first: freeing the master client must not reconnect.
    srv.masterhost = None;
    srv.config.replicaof = None;
    // Redis picks the log role character per line from masterhost.
    update_log_role(srv);
    free_master_client(srv);
    replication_discard_cached_master(srv);
    replica_handshake::cancel_replication_handshake(srv, false);
    srv.repl.shift_replication_id();
    // LL_WARNING in Redis ('#'): a promotion is worth seeing at any verbosity.
    log::warn!(
        "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
        replid_text(&srv.repl.replid2),
        srv.repl.second_replid_offset,
        replid_text(&srv.repl.replid)
    );
    // Our replicas must learn the new id; they will PSYNC back at once.
    disconnect_slaves(srv);
    let st = &mut srv.repl.replica;
    st.state = ReplState::None;
    st.repl_down_since = 0;
    srv.repl.slaveseldb = -1;
    srv.repl.repl_no_slaves_since = srv.unixtime;
    update_log_role(srv);
}

/// Redis: `if (server.master) freeClient(server.master)`: the link is cached (or, with no
/// masterhost, not reconnected) by [`replication_free_master`].
fn free_master_client(srv: &mut Server) {
    let Some(id) = srv.repl.replica.master.as_ref().map(|m| m.client_id) else { return };
    match srv.take_client_by_id(id) {
        Some(c) => networking::free_client(srv, c),
        // The master client is running a command: it is freed when it returns.
        None => srv.clients_to_close.push(id),
    }
}

/// Redis: disconnectSlaves(): our replicas must sync again (our history changed).
pub fn disconnect_slaves(srv: &mut Server) {
    for id in srv.repl.slaves.clone() {
        if let Some(replica) = srv.take_client_by_id(id) {
            networking::free_client(srv, replica);
        }
    }
}

/// Redis: disconnectAllBlockedClients(): a master turning replica answers its blocked
/// clients (BLPOP ..., WAIT) with -UNBLOCKED and closes them. Postponed (paused) clients
/// are left alone: their command has not started.
fn disconnect_all_blocked_clients(srv: &mut Server) {
    let waiting: Vec<u64> = srv.repl.master.clients_waiting_acks.drain(..).map(|w| w.id).collect();
    let blocked: Vec<u64> = srv
        .clients
        .iter()
        .flatten()
        .filter(|c| c.flags & CLIENT_BLOCKED != 0 && (c.bstate.is_some() || waiting.contains(&c.id)))
        .map(|c| c.id)
        .collect();
    for id in blocked {
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        c.reply.add_reply_error("-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
        crate::blocked::unblock_client(srv, &mut c);
        c.flags &= !CLIENT_BLOCKED;
        c.flags |= CLIENT_CLOSE_AFTER_REPLY;
        srv.after_client_activity(c);
    }
}

// ----------------------------------------------------------------------------------------
// The master client cache (PSYNC after a link drop)
// ----------------------------------------------------------------------------------------

/// Redis: freeClient()'s master cleanup, called by networking::free_client for every
/// client: when it is our master link, its state is cached for a partial resync (unless
/// the link broke on a protocol error) and the replica reconnects at once.
pub fn replication_free_master(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_MASTER == 0 || !srv.repl.replica.master.as_ref().is_some_and(|m| m.client_id == c.id) {
        return;
    }
    log::warn!("Connection with master lost.");
    if c.flags & (CLIENT_PROTOCOL_ERROR | CLIENT_BLOCKED) == 0 {
        replication_cache_master(srv, c);
    } else {
        srv.repl.replica.master = None;
    }
    replication_handle_master_disconnection(srv);
}

/// Redis: replicationCacheMaster(): keep the applied offset, id and db; whatever was read
/// but not applied (a partial command, an unfinished MULTI) is dropped and asked again.
fn replication_cache_master(srv: &mut Server, c: &mut Client) {
    log::info!("Caching the disconnected master state.");
    let Some(link) = srv.repl.replica.master.take() else { return };
    if c.flags & crate::networking::CLIENT_MULTI != 0 {
        crate::multi::discard_transaction(srv, c);
    }
    srv.repl.replica.cached_master =
        Some(CachedMaster { replid: link.replid, reploff: link.reploff, db: c.db, pre_psync: link.pre_psync });
}

/// Redis: replicationHandleMasterDisconnection(): back to CONNECT, and reconnect right
/// away (waiting for the cron could let the master's backlog move past us).
fn replication_handle_master_disconnection(srv: &mut Server) {
    let st = &mut srv.repl.replica;
    st.master = None;
    st.state = ReplState::Connect;
    st.repl_down_since = srv.unixtime;
    if srv.masterhost.is_some() {
        log::info!("Reconnecting to MASTER {}", master_addr(srv));
        replica_handshake::connect_with_master(srv);
    }
}

/// Redis: replicationCacheMasterUsingMyself(): a master becoming a replica offers its own
/// history (replid, offset) to the new master, which accepts it if it was our replica.
pub fn replication_cache_master_using_myself(srv: &mut Server) {
    log::info!("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
    srv.repl.replica.cached_master =
        Some(CachedMaster { replid: srv.repl.replid, reploff: srv.repl.master_repl_offset, db: 0, pre_psync: false });
}

/// Redis: replicationDiscardCachedMaster().
pub fn replication_discard_cached_master(srv: &mut Server) {
    if srv.repl.replica.cached_master.take().is_some() {
        log::info!("Discarding previously cached master state.");
    }
}

// ----------------------------------------------------------------------------------------
// Start-up
// ----------------------------------------------------------------------------------------

/// Redis: the `replicaof` directive (config.c): the server starts as a replica in
/// CONNECT state; the first connect comes from the cron. Call before loading the data,
/// so the load keeps expired keys as a replica's must.
pub fn replication_setup_from_config(srv: &mut Server) {
    let Some(of) = srv.config.replicaof.clone() else { return };
    srv.masterhost = Some(of.host);
    srv.repl.replica.state = ReplState::Connect;
    update_log_role(srv);
}

/// Redis: loadDataFromDisk()'s replica case: the RDB's repl-id / repl-offset become our
/// history and a cached master in the RDB's stream db, so the first PSYNC may continue.
pub fn replication_restore_from_rdb(srv: &mut Server) {
    if srv.masterhost.is_none() {
        return;
    }
    let Some(rsi) = srv.loaded_rsi.clone() else { return };
    srv.repl.replid = rsi.repl_id;
    srv.repl.master_repl_offset = rsi.repl_offset;
    replication_cache_master_using_myself(srv);
    if let Some(cached) = srv.repl.replica.cached_master.as_mut() {
        cached.db = usize::try_from(rsi.repl_stream_db).unwrap_or(0);
    }
}

/// Redis: rdbPopulateSaveInfo() for a replica: the db of the master link (live or
/// cached) is the stream's db; the id and offset are ours (the master's history).
pub fn rdb_populate_save_info_replica(srv: &Server) -> Option<RdbSaveInfo> {
    let st = &srv.repl.replica;
    let db = match (&st.master, &st.cached_master) {
        (Some(link), _) => master_client_db(srv, link.client_id)?,
        (None, Some(cached)) => cached.db,
        (None, None) => return None,
    };
    Some(RdbSaveInfo {
        repl_stream_db: i32::try_from(db).unwrap_or(0),
        repl_id_is_set: true,
        repl_id: srv.repl.replid,
        repl_offset: srv.repl.master_repl_offset,
    })
}

/// The db the master client has selected (Redis: server.master->db->id).
fn master_client_db(srv: &Server, id: u64) -> Option<usize> {
    let fd = usize::try_from(*srv.client_fds.get(&id)?).ok()?;
    srv.clients.get(fd)?.as_ref().map(|c| c.db)
}

// ----------------------------------------------------------------------------------------
// replicationCron (replica part)
// ----------------------------------------------------------------------------------------

/// Redis: the replica part of replicationCron(), once a second: handshake, transfer and
/// link timeouts, the connect attempt in CONNECT state, and the periodic REPLCONF ACK.
pub fn replication_cron_replica(srv: &mut Server) {
    let timeout = i64::from(srv.config.repl_timeout);
    let now = srv.unixtime;
    let st = &srv.repl.replica;
    if srv.masterhost.is_some() {
        let since_io = now - st.transfer_lastio;
        if (st.state == ReplState::Connecting || st.state.is_handshake()) && since_io > timeout {
            log::warn!("Timeout connecting to the MASTER...");
            replica_handshake::cancel_replication_handshake(srv, true);
        } else if st.state == ReplState::Transfer && since_io > timeout {
            log::warn!("Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value.");
            replica_handshake::cancel_replication_handshake(srv, true);
        } else if st.state == ReplState::Connected && st.master.as_ref().is_some_and(|m| now - m.lastinteraction > timeout) {
            log::warn!("MASTER timeout: no data nor PING received...");
            free_master_client(srv);
        }
    }
    if srv.repl.replica.state == ReplState::Connect && srv.masterhost.is_some() {
        log::info!("Connecting to MASTER {}", master_addr(srv));
        replica_handshake::connect_with_master(srv);
    }
    // Masters that only know SYNC have no offsets to acknowledge.
    if srv.masterhost.is_some() && srv.repl.replica.master.as_ref().is_some_and(|m| !m.pre_psync) {
        replication_send_ack(srv);
    }
}

/// Redis: replicationSendAck(): REPLCONF ACK <applied offset> on the master link, through
/// the master client's output buffer (the only reply that client ever sends).
pub fn replication_send_ack(srv: &mut Server) {
    let Some((id, reploff)) = srv.repl.replica.master.as_ref().map(|m| (m.client_id, m.reploff)) else { return };
    let Some(c) = srv.client_by_id(id) else { return };
    replica_stream::add_reply_ack(c, reploff);
    srv.queue_reply_write(id);
}

// ----------------------------------------------------------------------------------------
// processCommand() checks on a replica
// ----------------------------------------------------------------------------------------

/// Redis: processCommand()'s read-only replica check: writes (or an EXEC that queued one)
/// from anyone but our master get READONLY.
pub fn deny_write_on_read_only_replica(srv: &Server, c: &Client, id: usize, flags: u64) -> Option<&'static str> {
    if srv.masterhost.is_none() || !srv.config.replica_read_only || c.flags & CLIENT_MASTER != 0 {
        return None;
    }
    let exec_writes = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_flags & CMD_WRITE != 0;
    (flags & CMD_WRITE != 0 || exec_writes).then_some("-READONLY You can't write against a read only replica.")
}

/// Redis: processCommand()'s stale-data check: with replica-serve-stale-data no and the
/// link down, only commands flagged STALE run (an EXEC only if all its commands are).
pub fn deny_stale_command(srv: &Server, c: &Client, id: usize, flags: u64) -> Option<&'static str> {
    if srv.masterhost.is_none() || master_link_is_up(srv) || srv.config.replica_serve_stale_data {
        return None;
    }
    let exec_denied = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_inv_flags & CMD_STALE != 0;
    (flags & CMD_STALE == 0 || exec_denied)
        .then_some("-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.")
}

// ----------------------------------------------------------------------------------------
// ROLE and INFO
// ----------------------------------------------------------------------------------------

/// Redis: roleCommand() for a replica: ["slave", host, port, link state, applied offset
/// or -1 without a master client].
pub fn role_command_replica(srv: &mut Server, c: &mut Client) {
    let st = &srv.repl.replica;
    c.reply.add_reply_array_len(5);
    c.reply.add_reply_bulk(b"slave");
    c.reply.add_reply_bulk(srv.masterhost.as_deref().unwrap_or("").as_bytes());
    c.reply.add_reply_long_long(i64::from(masterport(srv)));
    c.reply.add_reply_bulk(st.state.role_name().as_bytes());
    c.reply.add_reply_long_long(st.master.as_ref().map_or(-1, |m| m.reploff));
}

/// Redis: genRedisInfoString()'s replica-only block of the replication section, from
/// master_host to replica_announced (the caller prints role before and the common part
/// after).
pub fn gen_replication_info_replica(srv: &mut Server, out: &mut String) {
    let st = &srv.repl.replica;
    let now = srv.unixtime;
    // With neither a live nor a cached master, Redis prints the literal 1.
    let (applied, read) = match (&st.master, &st.cached_master) {
        (Some(m), _) => (m.reploff, m.read_reploff),
        (None, Some(cached)) => (cached.reploff, cached.reploff),
        (None, None) => (1, 1),
    };
    let _ = write!(
        out,
        "master_host:{}\r\nmaster_port:{}\r\nmaster_link_status:{}\r\nmaster_last_io_seconds_ago:{}\r\n\
         master_sync_in_progress:{}\r\nslave_read_repl_offset:{}\r\nslave_repl_offset:{}\r\n",
        srv.masterhost.as_deref().unwrap_or(""),
        masterport(srv),
        if st.state == ReplState::Connected { "up" } else { "down" },
        st.master.as_ref().map_or(-1, |m| now - m.lastinteraction),
        u8::from(st.state == ReplState::Transfer),
        read,
        applied
    );
    if st.state == ReplState::Transfer {
        write_sync_progress(srv, out);
    }
    let st = &srv.repl.replica;
    if st.state != ReplState::Connected {
        let down = if st.repl_down_since != 0 { now - st.repl_down_since } else { -1 };
        let _ = write!(out, "master_link_down_since_seconds:{}\r\n", down);
    }
    let _ = write!(
        out,
        "slave_priority:{}\r\nslave_read_only:{}\r\nreplica_announced:{}\r\n",
        srv.config.replica_priority,
        u8::from(srv.config.replica_read_only),
        u8::from(srv.config.replica_announced)
    );
}

/// The master_sync_* lines printed while the RDB is being received.
fn write_sync_progress(srv: &Server, out: &mut String) {
    let (size, read) = srv.repl.replica.transfer.as_ref().map_or((-1, 0), TransferLink::progress);
    let perc = if size != 0 { read as f64 / size as f64 * 100.0 } else { 0.0 };
    let _ = write!(
        out,
        "master_sync_total_bytes:{}\r\nmaster_sync_read_bytes:{}\r\nmaster_sync_left_bytes:{}\r\n\
         master_sync_perc:{:.2}\r\nmaster_sync_last_io_seconds_ago:{}\r\n",
        size,
        read,
        size - read,
        perc,
        srv.unixtime - srv.repl.replica.transfer_lastio
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{process, test_server};

    #[test]
    fn a_blank_replid_shows_as_the_empty_string() {
        assert_eq!(replid_text(&[0; CONFIG_RUN_ID_SIZE]), "");
        assert_eq!(replid_text(&[b'a'; CONFIG_RUN_ID_SIZE]), "a".repeat(CONFIG_RUN_ID_SIZE));
    }

    #[test]
    fn handshake_states_are_the_contiguous_range_and_role_names_follow_redis() {
        assert!(!ReplState::Connecting.is_handshake());
        assert!(ReplState::ReceivePingReply.is_handshake());
        assert!(ReplState::ReceivePsyncReply.is_handshake());
        assert!(!ReplState::Transfer.is_handshake());
        assert_eq!(ReplState::ReceiveCapaReply.role_name(), "handshake");
        assert_eq!(ReplState::Transfer.role_name(), "sync");
        assert_eq!(ReplState::Connect.role_name(), "connect");
        assert_eq!(ReplState::Connected.role_name(), "connected");
    }

    #[test]
    fn replicaof_errors_and_no_one_on_a_master() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "127.0.0.1", "abc"]), "-ERR Invalid master port\r\n");
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "127.0.0.1", "70000"]), "-ERR Invalid master port\r\n");
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "127.0.0.1", "-1"]), "-ERR Invalid master port\r\n");
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "no", "one"]), "+OK\r\n");
        assert!(srv.masterhost.is_none());
    }

    #[test]
    fn becoming_a_replica_synthesizes_a_cached_master_and_no_one_shifts_the_history() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        srv.repl.master_repl_offset = 41;
        let own = srv.repl.replid;
        // Port 1 on loopback: the connect is refused or pending, never blocking.
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "127.0.0.1", "1"]), "+OK\r\n");
        assert_eq!(srv.masterhost.as_deref(), Some("127.0.0.1"));
        let cached = srv.repl.replica.cached_master.clone().expect("synthesized");
        assert_eq!((cached.replid, cached.reploff), (own, 41));
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "127.0.0.1", "1"]), "+OK Already connected to specified master\r\n");
        assert_eq!(process(&mut srv, &mut c, &["SET", "k", "v"]), "-READONLY You can't write against a read only replica.\r\n");
        let mut info = String::new();
        gen_replication_info_replica(&mut srv, &mut info);
        assert!(info.starts_with("master_host:127.0.0.1\r\nmaster_port:1\r\nmaster_link_status:down\r\n"), "{info}");
        assert!(info.contains("slave_repl_offset:41\r\n") && info.contains("master_link_down_since_seconds:-1\r\n"), "{info}");
        assert_eq!(process(&mut srv, &mut c, &["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
        assert_eq!(srv.repl.replid2, own);
        assert_eq!(srv.repl.second_replid_offset, 42);
        assert_ne!(srv.repl.replid, own);
        assert_eq!(srv.repl.replica.state, ReplState::None);
        assert!(srv.repl.replica.cached_master.is_none() && srv.repl.replica.transfer.is_none());
        assert_eq!(process(&mut srv, &mut c, &["SET", "k", "v"]), "+OK\r\n");
    }

    #[test]
    fn stale_commands_are_refused_only_with_serve_stale_data_no() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        srv.masterhost = Some("127.0.0.1".into());
        srv.repl.replica.state = ReplState::Connect;
        assert_eq!(process(&mut srv, &mut c, &["GET", "k"]), "$-1\r\n");
        srv.config.replica_serve_stale_data = false;
        let masterdown = "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n";
        assert_eq!(process(&mut srv, &mut c, &["GET", "k"]), masterdown);
        assert_eq!(process(&mut srv, &mut c, &["PING"]), masterdown);
        assert!(process(&mut srv, &mut c, &["INFO", "replication"]).starts_with('$'));
        srv.repl.replica.state = ReplState::Connected;
        assert_eq!(process(&mut srv, &mut c, &["GET", "k"]), "$-1\r\n");
    }
}

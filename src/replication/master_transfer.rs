//! How a replica that needs a full sync gets its snapshot: the BGSAVE that serves it, the
//! disk-based transfer (the RDB file streamed in chunks) and the diskless one (the fork
//! child writes the RDB into a pipe, the parent copies it to the replicas' sockets).
//!
//! Redis: replication.c startBgsaveForReplication(), replicationSetupSlaveForFullResync(),
//! replicationStartPendingFork(), updateSlavesWaitingBgsave(), sendBulkToSlave(),
//! replicaPutOnline(), replicaStartCommandStream(), the attach-to-a-running-BGSAVE cases of
//! syncCommand(); rdb.c rdbSaveToSlavesSockets(), rdbSaveRioWithEOFMark(),
//! rdbPipeReadHandler(), rdbPipeWriteHandler(), backgroundSaveDoneHandlerSocket().
//!
//! Event loop fit: the fork is childinfo.rs's; the parent learns the end of a BGSAVE in
//! server_cron (background_save_done_handler calls [`update_slaves_waiting_bgsave`]). The
//! file is sent by the writable handler [`send_bulk_to_slave`], a few 16 KiB chunks per
//! event; the diskless payload by [`rdb_pipe_read_handler`] (readable pipe) and
//! [`rdb_pipe_write_handler`] (replica sockets that could not take a whole chunk: the pipe
//! is not read again until every replica has its copy). Nothing blocks the loop.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::io::{AsRawFd, RawFd};

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::childinfo::{self, ChildInfoType, ChildType, Forked};
use crate::db::RedisDb;
use crate::networking::{self, Client, CLIENT_CLOSE_AFTER_REPLY, CLIENT_SLAVE, PROTO_IOBUF_LEN};
use crate::rdb::background::{self, RdbChildType};
use crate::rdb::{save, RdbSaveInfo, RDBFLAGS_NONE};
use crate::rio::Rio;
use crate::server::Server;
use crate::util;

use super::master::{
    conn_write_all, for_each_replica, refresh_good_slaves_count, replica_info,
    replication_get_slave_name, slave_state, SlaveState, SLAVE_CAPA_EOF, SLAVE_REQ_RDB_EXCLUDE_DATA, SLAVE_REQ_RDB_MASK,
};

/// Redis: RDB_EOF_MARK_SIZE.
pub const RDB_EOF_MARK_SIZE: usize = 40;
/// PROTO_IOBUF_LEN chunks one writable event sends before yielding to other clients
/// (Redis sends one per event of its level-triggered loop).
const BULK_CHUNKS_PER_EVENT: usize = 16;

/// Redis: repldbfd / repldboff / repldbsize / replpreamble: the RDB file being sent.
#[derive(Debug)]
pub struct BulkTransfer {
    file: File,
    /// "$<size>\r\n", sent first.
    preamble: Vec<u8>,
    preamble_sent: usize,
    off: u64,
    size: u64,
}

/// Redis: rdb_pipe_read, rdb_child_exit_pipe, rdb_pipe_conns, rdb_pipe_buff ...: the
/// diskless transfer the parent relays.
#[derive(Debug)]
pub struct RdbPipe {
    read: io::PipeReader,
    /// Closing it tells the child every byte was relayed, so it may exit.
    exit_write: Option<io::PipeWriter>,
    /// The replicas fed (client ids); None once one is gone.
    conns: Vec<Option<u64>>,
    buf: Vec<u8>,
    buflen: usize,
    /// Replicas still writing the current chunk (Redis: rdb_pipe_numconns_writing).
    numconns_writing: usize,
    eof: bool,
}

/// Is the running child a diskless transfer? (Redis: rdb_child_type == SOCKET.)
pub fn rdb_child_has_socket_target(srv: &Server) -> bool {
    srv.child_type == Some(ChildType::Rdb) && srv.rdb_child_type == Some(RdbChildType::Socket)
}

fn capa_req(c: &Client) -> (u8, u8) {
    c.repl.as_deref().map_or((0, 0), |r| (r.capa, r.req))
}

// ----------------------------------------------------------------------------------------
// Which BGSAVE serves a replica
// ----------------------------------------------------------------------------------------

/// The end of syncCommand(): attach the new replica to a running disk BGSAVE when it
/// can, wait for the next one when it cannot, or start one now (diskless waits for
/// repl-diskless-sync-delay, in replication_start_pending_fork).
pub fn serve_full_sync(srv: &mut Server, c: &mut Client) {
    let rdb_child = srv.child_type == Some(ChildType::Rdb);
    match (rdb_child, srv.rdb_child_type) {
        (true, Some(RdbChildType::Disk)) => attach_to_disk_bgsave(srv, c),
        (true, Some(RdbChildType::Socket)) => {
            log::info!("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC");
        }
        _ => {
            let (capa, req) = capa_req(c);
            if srv.config.repl_diskless_sync && capa & SLAVE_CAPA_EOF != 0 && srv.config.repl_diskless_sync_delay != 0 {
                log::info!("Delay next BGSAVE for diskless SYNC");
            } else if !srv.has_active_child() {
                start_bgsave_for_replication(srv, capa, req, Some(c));
            } else {
                log::info!("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed");
            }
        }
    }
}

/// syncCommand()'s CASE 1: a disk BGSAVE runs and another replica registers the stream
/// since its fork: with compatible capabilities the newcomer copies that buffer and
/// shares the file.
fn attach_to_disk_bgsave(srv: &mut Server, c: &mut Client) {
    let rdb_only = c.repl.as_deref().is_some_and(|r| r.rdb_only);
    let mut donor = None;
    for id in srv.repl.slaves.clone() {
        let Some(other) = srv.client_by_id(id).filter(|o| o.id != c.id) else { continue };
        let Some(r) = other.repl.as_deref() else { continue };
        if r.state == Some(SlaveState::WaitBgsaveEnd) && (!r.rdb_only || rdb_only) {
            donor = Some((r.capa, r.req, r.psync_initial_offset, other.reply.pending().to_vec()));
            break;
        }
    }
    let (capa, req) = capa_req(c);
    match donor {
        Some((dcapa, dreq, offset, stream)) if capa & dcapa == dcapa && req == dreq => {
            if !rdb_only {
                c.reply.add_reply_proto(&stream);
            }
            replication_setup_slave_for_full_resync(srv, c, offset);
            log::info!("Waiting for end of BGSAVE for SYNC");
        }
        _ => log::info!("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC"),
    }
}

/// Redis: replicationSetupSlaveForFullResync(): the replica's snapshot is the one at
/// `offset`; from now on its buffer accumulates the stream, which restarts with a SELECT.
/// +FULLRESYNC goes straight to the socket (not to SYNC clients). False if it failed.
pub fn replication_setup_slave_for_full_resync(srv: &mut Server, c: &mut Client, offset: i64) -> bool {
    let info = replica_info(c);
    info.psync_initial_offset = offset;
    info.state = Some(SlaveState::WaitBgsaveEnd);
    let pre_psync = info.pre_psync;
    srv.repl.slaveseldb = -1;
    if pre_psync {
        return true;
    }
    let replid = String::from_utf8_lossy(&srv.repl.replid).into_owned();
    let line = format!("+FULLRESYNC {} {}\r\n", replid, offset);
    if !conn_write_all(c, line.as_bytes()) {
        networking::free_client_async(srv, c);
        return false;
    }
    true
}

/// Redis: startBgsaveForReplication(): one BGSAVE for every replica waiting with the
/// requirements `req`: to their sockets when they all take the EOF format and diskless
/// sync is on (or a filtered RDB is asked for), else to disk. On failure they are told
/// and dropped. `current` is the client whose SYNC runs (lent out of the table).
pub fn start_bgsave_for_replication(srv: &mut Server, mincapa: u8, req: u8, mut current: Option<&mut Client>) -> bool {
    let socket_target = (srv.config.repl_diskless_sync || req & SLAVE_REQ_RDB_MASK != 0) && mincapa & SLAVE_CAPA_EOF != 0;
    log::info!("Starting BGSAVE for SYNC with target: {}", if socket_target { "replicas sockets" } else { "disk" });
    let started = match background::rdb_populate_save_info(srv) {
        Some(rsi) if socket_target => rdb_save_to_slaves_sockets(srv, req, &rsi, current.as_deref_mut()).is_ok(),
        Some(rsi) => {
            let filename = srv.config.dbfilename.clone();
            let started = background::rdb_save_background(srv, &filename, Some(&rsi), RDBFLAGS_NONE).is_ok();
            // Set only while the feature is on, so that it is never left set for nothing.
            if started && srv.config.rdb_del_sync_files {
                srv.repl.master.rdb_generated_by_replication = true;
            }
            started
        }
        None => {
            log::warn!("BGSAVE for replication: replication information not available, can't generate the RDB file right now. Try later.");
            false
        }
    };
    if !started {
        log::warn!("BGSAVE for replication failed");
        drop_replicas_waiting_bgsave_start(srv, current);
        return false;
    }
    if !socket_target {
        let offset = srv.repl.master_repl_offset;
        for_each_replica(srv, current, |srv, r| {
            if slave_state(r) == Some(SlaveState::WaitBgsaveStart) && capa_req(r).1 == req {
                replication_setup_slave_for_full_resync(srv, r, offset);
            }
        });
    }
    true
}

/// The failure branch of startBgsaveForReplication(): replicas still waiting are no
/// longer replicas; they get an error and are closed once it is written.
fn drop_replicas_waiting_bgsave_start(srv: &mut Server, current: Option<&mut Client>) {
    for_each_replica(srv, current, |srv, r| {
        if slave_state(r) != Some(SlaveState::WaitBgsaveStart) {
            return;
        }
        replica_info(r).state = None;
        r.flags &= !CLIENT_SLAVE;
        srv.repl.slaves.retain(|&id| id != r.id);
        r.reply.add_reply_error("BGSAVE failed, replication can't continue");
        r.flags |= CLIENT_CLOSE_AFTER_REPLY;
    });
}

/// Redis: replicationStartPendingFork(): with no child running, replicas waiting for a
/// snapshot get one: at once for disk sync, after repl-diskless-sync-delay seconds (or
/// repl-diskless-sync-max-replicas waiting) for diskless, so one fork serves several.
/// Replicas with the first one's requirements are served together.
pub fn replication_start_pending_fork(srv: &mut Server) {
    if srv.has_active_child() || srv.repl.slaves.is_empty() || srv.repl.master.rdb_pipe.is_some() {
        return;
    }
    let now = srv.unixtime;
    let (mut waiting, mut max_idle, mut mincapa, mut req) = (0i64, 0i64, 0u8, None);
    for id in srv.repl.slaves.clone() {
        let Some(r) = srv.client_by_id(id) else { continue };
        let idle = now - r.last_interaction;
        let Some(info) = r.repl.as_deref().filter(|i| i.state == Some(SlaveState::WaitBgsaveStart)) else { continue };
        match req {
            None => {
                req = Some(info.req);
                mincapa = info.capa;
            }
            Some(first) if first != info.req => continue,
            Some(_) => mincapa &= info.capa,
        }
        max_idle = max_idle.max(idle);
        waiting += 1;
    }
    let Some(req) = req else { return };
    let max_replicas = i64::from(srv.config.repl_diskless_sync_max_replicas);
    let due = !srv.config.repl_diskless_sync
        || (max_replicas > 0 && waiting >= max_replicas)
        || max_idle >= i64::from(srv.config.repl_diskless_sync_delay);
    if due {
        start_bgsave_for_replication(srv, mincapa, req, None);
    }
}

// ----------------------------------------------------------------------------------------
// The end of the BGSAVE
// ----------------------------------------------------------------------------------------

/// Redis: updateSlavesWaitingBgsave(): the BGSAVE replicas were waiting for ended. On
/// error they are dropped; after a diskless transfer they are online but get the stream
/// only after their first ACK; after a disk save the file is streamed to them.
pub fn update_slaves_waiting_bgsave(srv: &mut Server, ok: bool, socket: bool) {
    for_each_replica(srv, None, |srv, r| {
        if slave_state(r) != Some(SlaveState::WaitBgsaveEnd) {
            return;
        }
        if !ok {
            networking::free_client_async(srv, r);
            log::warn!("SYNC failed. BGSAVE child returned an error");
        } else if socket {
            finish_diskless_transfer(srv, r);
        } else {
            start_bulk_transfer(srv, r);
        }
    });
}

/// The socket case of updateSlavesWaitingBgsave(): nothing may follow the EOF mark until
/// the replica's first ACK (which may already have come).
fn finish_diskless_transfer(srv: &mut Server, r: &mut Client) {
    log::info!(
        "Streamed RDB transfer with replica {} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming",
        replication_get_slave_name(r)
    );
    if !replica_put_online(srv, r) {
        networking::free_client_async(srv, r);
        return;
    }
    let info = replica_info(r);
    info.start_cmd_stream_on_ack = !info.acked_during_transfer;
    info.acked_during_transfer = false;
}

/// The disk case of updateSlavesWaitingBgsave(): open the file and install the writer.
fn start_bulk_transfer(srv: &mut Server, r: &mut Client) {
    let opened = File::open(&srv.config.dbfilename).and_then(|f| f.metadata().map(|m| (f, m.len())));
    let (file, size) = match opened {
        Ok(x) => x,
        Err(err) => {
            networking::free_client_async(srv, r);
            log::warn!("SYNC failed. Can't open/stat DB after BGSAVE: {}", childinfo::util_strerror(&err));
            return;
        }
    };
    let preamble = format!("${}\r\n", size).into_bytes();
    let info = replica_info(r);
    info.bulk = Some(BulkTransfer { file, preamble, preamble_sent: 0, off: 0, size });
    info.state = Some(SlaveState::SendBulk);
    srv.el.ae_delete_file_event(r.fd, AE_WRITABLE);
    if srv.el.ae_create_file_event(r.fd, AE_WRITABLE, send_bulk_to_slave).is_err() {
        networking::free_client_async(srv, r);
        return;
    }
    srv.el.ae_set_ready(r.fd, AE_WRITABLE);
}

/// How far one writable event got.
enum BulkProgress {
    Done,
    /// The socket is full: wait for it to drain.
    Blocked,
    /// Stopped by choice to serve other clients: run again next turn.
    Yielded,
}

/// Redis: sendBulkToSlave(): the writable handler of a SEND_BULK replica: the preamble,
/// then the file in PROTO_IOBUF_LEN chunks; at the end the replica goes online and its
/// buffered stream follows.
pub fn send_bulk_to_slave(srv: &mut Server, fd: RawFd, _mask: u8) {
    let Some(mut c) = srv.take_client(fd) else { return };
    match send_bulk_chunks(srv, &mut c) {
        Ok(BulkProgress::Done) => finish_bulk(srv, c),
        Ok(BulkProgress::Blocked) => srv.put_client(c),
        Ok(BulkProgress::Yielded) => {
            srv.el.ae_set_ready(fd, AE_WRITABLE);
            srv.put_client(c);
        }
        Err(msg) => {
            log::warn!("{}", msg);
            networking::free_client(srv, c);
        }
    }
}

fn send_bulk_chunks(srv: &mut Server, c: &mut Client) -> Result<BulkProgress, String> {
    let conn = c.conn.as_mut().ok_or("Write error sending DB to replica: no connection")?;
    let Some(bulk) = c.repl.as_deref_mut().and_then(|r| r.bulk.as_mut()) else { return Ok(BulkProgress::Done) };
    while bulk.preamble_sent < bulk.preamble.len() {
        match conn.write(bulk.preamble.get(bulk.preamble_sent..).unwrap_or(&[])) {
            Ok(n) => bulk.preamble_sent += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(BulkProgress::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("Write error sending RDB preamble to replica: {}", childinfo::util_strerror(&e))),
        }
    }
    let mut chunk = [0u8; PROTO_IOBUF_LEN];
    for _ in 0..BULK_CHUNKS_PER_EVENT {
        let left = bulk.size.saturating_sub(bulk.off);
        if left == 0 {
            return Ok(BulkProgress::Done);
        }
        let want = usize::try_from(left).map_or(PROTO_IOBUF_LEN, |l| l.min(PROTO_IOBUF_LEN));
        let n = match bulk.file.read_at(&mut chunk[..want], bulk.off) {
            Ok(0) => return Err("Read error sending DB to replica: premature EOF".to_string()),
            Ok(n) => n,
            Err(e) => return Err(format!("Read error sending DB to replica: {}", childinfo::util_strerror(&e))),
        };
        match conn.write(&chunk[..n]) {
            Ok(w) => {
                bulk.off += w as u64;
                srv.repl.stat_net_repl_output_bytes += w as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(BulkProgress::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("Write error sending DB to replica: {}", childinfo::util_strerror(&e))),
        }
    }
    Ok(if bulk.off >= bulk.size { BulkProgress::Done } else { BulkProgress::Yielded })
}

/// The end of sendBulkToSlave(): close the file, put the replica online and let its
/// buffered stream go (Redis: replicaStartCommandStream()).
fn finish_bulk(srv: &mut Server, mut c: Box<Client>) {
    replica_info(&mut c).bulk = None;
    srv.el.ae_delete_file_event(c.fd, AE_WRITABLE);
    if !replica_put_online(srv, &mut c) {
        return networking::free_client(srv, c);
    }
    replica_info(&mut c).start_cmd_stream_on_ack = false;
    let id = c.id;
    srv.put_client(c);
    srv.queue_reply_write(id);
}

/// Redis: replicaPutOnline(). An rdb-only client is done instead (false: close it).
pub fn replica_put_online(srv: &mut Server, c: &mut Client) -> bool {
    let now = srv.unixtime;
    let info = replica_info(c);
    if info.rdb_only {
        info.state = Some(SlaveState::RdbTransmitted);
        log::info!("RDB transfer completed, rdb only replica ({}) should be disconnected asap", replication_get_slave_name(c));
        return false;
    }
    info.state = Some(SlaveState::Online);
    // Counted from now, so the transfer's length is no timeout.
    info.ack_time = now;
    refresh_good_slaves_count(srv);
    log::info!("Synchronization with replica {} succeeded", replication_get_slave_name(c));
    true
}

/// Redis: anyOtherSlaveWaitRdb().
fn any_other_slave_wait_rdb(srv: &mut Server, except: u64) -> bool {
    srv.repl.slaves.clone().into_iter().filter(|&id| id != except).any(|id| {
        srv.client_by_id(id).is_some_and(|c| slave_state(c) == Some(SlaveState::WaitBgsaveEnd))
    })
}

/// Redis: replication.c removeRDBUsedToSyncReplicas(): with rdb-del-sync-files and no
/// persistence, the dump a replication BGSAVE wrote goes once no replica still waits for
/// it or reads it. (Redis unlinks it from a thread; this server has none, and an unlink
/// is one system call.)
pub fn remove_rdb_used_to_sync_replicas(srv: &mut Server) {
    if !srv.config.rdb_del_sync_files {
        srv.repl.master.rdb_generated_by_replication = false;
        return;
    }
    if !srv.all_persistence_disabled() || !srv.repl.master.rdb_generated_by_replication {
        return;
    }
    let mut still_needed = false;
    for id in srv.repl.slaves.clone() {
        let state = srv.client_by_id(id).and_then(|r| slave_state(r));
        still_needed |= matches!(state, Some(SlaveState::WaitBgsaveStart | SlaveState::WaitBgsaveEnd | SlaveState::SendBulk));
    }
    if still_needed || std::fs::symlink_metadata(&srv.config.dbfilename).is_err() {
        return;
    }
    srv.repl.master.rdb_generated_by_replication = false;
    log::info!("Removing the RDB file used to feed replicas in a persistence-less instance");
    let _ = std::fs::remove_file(&srv.config.dbfilename);
}

/// A replica is being freed: Redis's freeClient() stops a disk BGSAVE nobody waits for any
/// more (unless save points want it), and unlinkClient() takes the replica out of the
/// diskless transfer.
pub fn replica_freed_during_transfer(srv: &mut Server, c: &mut Client) {
    if slave_state(c) != Some(SlaveState::WaitBgsaveEnd) {
        return;
    }
    let disk_child = srv.child_type == Some(ChildType::Rdb) && srv.rdb_child_type == Some(RdbChildType::Disk);
    if srv.config.save.is_empty() && disk_child && !any_other_slave_wait_rdb(srv, c.id) {
        background::kill_rdb_child(srv);
    }
    if let Some(pipe) = srv.repl.master.rdb_pipe.as_mut() {
        for slot in pipe.conns.iter_mut().filter(|slot| **slot == Some(c.id)) {
            *slot = None;
        }
        rdb_pipe_write_handler_conn_removed(srv, c);
    }
}

// ----------------------------------------------------------------------------------------
// Diskless: the child writes into a pipe, the parent copies to the sockets
// ----------------------------------------------------------------------------------------

/// Redis: rdbSaveToSlavesSockets(): every replica waiting with requirements `req` is
/// set up for this snapshot, then the child writes `$EOF:<mark>\r\n<RDB><mark>` into a
/// pipe that the parent relays.
fn rdb_save_to_slaves_sockets(srv: &mut Server, req: u8, rsi: &RdbSaveInfo, mut current: Option<&mut Client>) -> Result<(), ()> {
    if srv.has_active_child() || srv.repl.master.rdb_pipe.is_some() {
        return Err(());
    }
    let (read, write) = io::pipe().map_err(|_| ())?;
    let (exit_read, exit_write) = io::pipe().map_err(|_| ())?;
    set_nonblocking(read.as_raw_fd()).map_err(|_| ())?;
    let offset = srv.repl.master_repl_offset;
    let mut conns = Vec::new();
    for_each_replica(srv, current.as_deref_mut(), |srv, r| {
        if slave_state(r) == Some(SlaveState::WaitBgsaveStart) && capa_req(r).1 == req {
            let info = replica_info(r);
            (info.pipe_buf_sent, info.pipe_writing, info.last_partial_write, info.acked_during_transfer) = (0, false, 0, false);
            conns.push(Some(r.id));
            replication_setup_slave_for_full_resync(srv, r, offset);
        }
    });
    match childinfo::redis_fork(srv, ChildType::Rdb) {
        Ok(Forked::Child) => {
            childinfo::redis_set_proc_title(srv, childinfo::ChildTitle::RdbToSlaves);
            drop(read);
            drop(exit_write);
            rdb_save_to_pipe_child(srv, write, exit_read, req, rsi)
        }
        Ok(Forked::Parent(pid)) => {
            drop(write);
            drop(exit_read);
            log::info!("Background RDB transfer started by pid {}", pid);
            srv.rdb_save_time_start = util::ustime() / 1_000_000;
            srv.rdb_child_type = Some(RdbChildType::Socket);
            let fd = read.as_raw_fd();
            let buf = vec![0; PROTO_IOBUF_LEN];
            let pipe = RdbPipe { read, exit_write: Some(exit_write), conns, buf, buflen: 0, numconns_writing: 0, eof: false };
            srv.repl.master.rdb_pipe = Some(pipe);
            if srv.el.ae_create_file_event(fd, AE_READABLE, rdb_pipe_read_handler).is_err() {
                log::warn!("Unrecoverable error creating server.rdb_pipe_read file event.");
                background::kill_rdb_child(srv);
            }
            Ok(())
        }
        Err(err) => {
            log::warn!("Can't save in background: fork: {}", childinfo::util_strerror(&err));
            // Undo the setup: the caller drops the replicas still waiting to start.
            for_each_replica(srv, current, |_, r| {
                if slave_state(r) == Some(SlaveState::WaitBgsaveEnd) {
                    replica_info(r).state = Some(SlaveState::WaitBgsaveStart);
                }
            });
            Err(())
        }
    }
}

fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl(2) F_GETFL/F_SETFL on a pipe fd this process owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    // SAFETY: as above, adding O_NONBLOCK to the flags just read.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The child of rdbSaveToSlavesSockets(): write the payload, then wait until the parent
/// closes the exit pipe (it relayed everything) before exiting.
fn rdb_save_to_pipe_child(srv: &mut Server, write: io::PipeWriter, exit_read: io::PipeReader, req: u8, rsi: &RdbSaveInfo) -> ! {
    if req & SLAVE_REQ_RDB_EXCLUDE_DATA != 0 {
        // This process's dataset is a private copy: swap in empty dbs and leak the old
        // ones (freeing them would touch, and so copy, every page).
        let empty: Vec<RedisDb> = (0..srv.db.len()).map(RedisDb::new).collect();
        std::mem::forget(std::mem::replace(&mut srv.db, empty));
    }
    let saved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rdb_save_rio_with_eof_mark(srv, &write, rsi).is_ok()));
    let ok = saved.unwrap_or(false);
    if ok {
        childinfo::send_child_cow_info(srv, ChildInfoType::RdbCowSize, "RDB");
    }
    drop(write);
    let mut byte = [0u8; 1];
    let _ = (&exit_read).read(&mut byte);
    childinfo::exit_from_child(if ok { 0 } else { 1 })
}

/// Redis: rdbSaveRioWithEOFMark(): `$EOF:<40 random hex>\r\n`, the RDB, the mark again
/// (the replica finds the end by matching the last 40 bytes).
pub fn rdb_save_rio_with_eof_mark<W: Write>(srv: &Server, out: W, rsi: &RdbSaveInfo) -> io::Result<()> {
    let mark = util::get_random_hex_chars(RDB_EOF_MARK_SIZE);
    let mut rdb = Rio::new(BufWriter::with_capacity(4 * PROTO_IOBUF_LEN, out));
    rdb.rio_write(b"$EOF:")?;
    rdb.rio_write(&mark)?;
    rdb.rio_write(b"\r\n")?;
    save::rdb_save_rio(&mut rdb, srv, RDBFLAGS_NONE, Some(rsi))?;
    rdb.rio_write(&mark)?;
    rdb.rio_flush()
}

/// Redis: rdbPipeReadHandler(): read a chunk of the payload and give it to every
/// replica; one that cannot take it all gets a write handler, and the pipe is not read
/// again until all of them have it.
pub fn rdb_pipe_read_handler(srv: &mut Server, _fd: RawFd, _mask: u8) {
    loop {
        let Some(pipe) = srv.repl.master.rdb_pipe.as_mut() else { return };
        let n = match pipe.read.read(&mut pipe.buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                log::warn!("Diskless rdb transfer, read error sending DB to replicas: {}", childinfo::util_strerror(&e));
                free_pipe_replicas(srv);
                background::kill_rdb_child(srv);
                return;
            }
        };
        if n == 0 {
            return rdb_pipe_eof(srv);
        }
        pipe.buflen = n;
        let alive = write_pipe_chunk_to_replicas(srv);
        if alive == 0 {
            log::warn!("Diskless rdb transfer, last replica dropped, killing fork child.");
            background::kill_rdb_child(srv);
        }
        let Some(pipe) = srv.repl.master.rdb_pipe.as_ref() else { return };
        if pipe.numconns_writing > 0 || alive == 0 {
            let fd = pipe.read.as_raw_fd();
            srv.el.ae_delete_file_event(fd, AE_READABLE);
            return;
        }
    }
}

/// The write end was closed: the child wrote everything and every replica has it.
fn rdb_pipe_eof(srv: &mut Server) {
    let Some(pipe) = srv.repl.master.rdb_pipe.as_mut() else { return };
    let fd = pipe.read.as_raw_fd();
    let still_up = pipe.conns.iter().flatten().count();
    pipe.exit_write = None;
    pipe.eof = true;
    srv.el.ae_delete_file_event(fd, AE_READABLE);
    log::warn!("Diskless rdb transfer, done reading from pipe, {} replicas still up.", still_up);
}

/// Redis: the read-error branch of rdbPipeReadHandler(): every replica of the transfer
/// is closed.
fn free_pipe_replicas(srv: &mut Server) {
    let ids: Vec<u64> = srv.repl.master.rdb_pipe.as_mut().map_or_else(Vec::new, |p| p.conns.drain(..).flatten().collect());
    for id in ids {
        if let Some(c) = srv.take_client_by_id(id) {
            networking::free_client(srv, c);
        }
    }
}

/// What one replica's write of the current chunk came to.
enum ChunkWrite {
    Wrote(usize),
    Failed(io::Error),
}

/// The per-replica loop of rdbPipeReadHandler(). Returns how many replicas are alive.
fn write_pipe_chunk_to_replicas(srv: &mut Server) -> usize {
    let conns: Vec<(usize, u64)> = match srv.repl.master.rdb_pipe.as_ref() {
        Some(pipe) => pipe.conns.iter().enumerate().filter_map(|(i, id)| id.map(|id| (i, id))).collect(),
        None => return 0,
    };
    let mut alive = 0;
    for (slot, id) in conns {
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        let Some(pipe) = srv.repl.master.rdb_pipe.as_mut() else { return alive };
        let data = pipe.buf.get(..pipe.buflen).unwrap_or(&[]);
        let outcome = match c.conn.as_mut().map(|conn| conn.write(data)) {
            Some(Ok(n)) => ChunkWrite::Wrote(n),
            Some(Err(e)) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => ChunkWrite::Wrote(0),
            Some(Err(e)) => ChunkWrite::Failed(e),
            None => ChunkWrite::Failed(io::Error::from(io::ErrorKind::NotConnected)),
        };
        let buflen = pipe.buflen;
        match outcome {
            ChunkWrite::Failed(e) => {
                if let Some(s) = pipe.conns.get_mut(slot) {
                    *s = None;
                }
                log::warn!("Diskless rdb transfer, write error sending DB to replica: {}", childinfo::util_strerror(&e));
                networking::free_client(srv, c);
                continue;
            }
            ChunkWrite::Wrote(n) => {
                srv.repl.stat_net_repl_output_bytes += n as u64;
                if n != buflen {
                    pipe.numconns_writing += 1;
                    let info = replica_info(&mut c);
                    (info.pipe_buf_sent, info.pipe_writing, info.last_partial_write) = (n, true, srv.unixtime);
                    if srv.el.ae_create_file_event(c.fd, AE_WRITABLE, rdb_pipe_write_handler).is_err() {
                        log::warn!("Diskless rdb transfer, can't install the replica's write handler");
                    }
                }
            }
        }
        alive += 1;
        srv.put_client(c);
    }
    alive
}

/// Redis: rdbPipeWriteHandler(): the rest of the current chunk to a replica whose
/// socket was full.
pub fn rdb_pipe_write_handler(srv: &mut Server, fd: RawFd, _mask: u8) {
    let Some(mut c) = srv.take_client(fd) else { return };
    loop {
        let sent = c.repl.as_deref().map_or(0, |r| r.pipe_buf_sent);
        let Some(pipe) = srv.repl.master.rdb_pipe.as_ref() else { return srv.put_client(c) };
        let (buflen, data) = (pipe.buflen, pipe.buf.get(sent..pipe.buflen).unwrap_or(&[]));
        if sent >= buflen {
            break;
        }
        let result = match c.conn.as_mut() {
            Some(conn) => conn.write(data),
            None => Err(io::Error::from(io::ErrorKind::NotConnected)),
        };
        match result {
            Ok(n) => {
                srv.repl.stat_net_repl_output_bytes += n as u64;
                replica_info(&mut c).pipe_buf_sent += n;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                replica_info(&mut c).last_partial_write = srv.unixtime;
                return srv.put_client(c);
            }
            Err(e) => {
                log::warn!("Write error sending DB to replica: {}", childinfo::util_strerror(&e));
                return networking::free_client(srv, c);
            }
        }
    }
    rdb_pipe_write_handler_conn_removed(srv, &mut c);
    srv.put_client(c);
}

/// Redis: rdbPipeWriteHandlerConnRemoved(): a replica has the whole chunk (or is gone);
/// when none is left writing, the pipe is read again.
fn rdb_pipe_write_handler_conn_removed(srv: &mut Server, c: &mut Client) {
    let Some(info) = c.repl.as_deref_mut().filter(|r| r.pipe_writing) else { return };
    info.pipe_writing = false;
    info.last_partial_write = 0;
    srv.el.ae_delete_file_event(c.fd, AE_WRITABLE);
    let Some(pipe) = srv.repl.master.rdb_pipe.as_mut() else { return };
    pipe.numconns_writing = pipe.numconns_writing.saturating_sub(1);
    if pipe.numconns_writing == 0 && !pipe.eof {
        let fd = pipe.read.as_raw_fd();
        if srv.el.ae_create_file_event(fd, AE_READABLE, rdb_pipe_read_handler).is_ok() {
            // Data may be waiting already: no new edge would announce it.
            srv.el.ae_set_ready(fd, AE_READABLE);
        }
    }
}

/// Redis: rdb.c backgroundSaveDoneHandlerSocket(): the diskless child was reaped; the
/// pipe goes away (update_slaves_waiting_bgsave follows).
pub fn background_save_done_handler_socket(srv: &mut Server, exitcode: i32, bysignal: i32) {
    if bysignal == 0 && exitcode == 0 {
        log::info!("Background RDB transfer terminated with success");
    } else if bysignal == 0 {
        log::warn!("Background transfer error");
    } else {
        log::warn!("Background transfer terminated by signal {}", bysignal);
    }
    if let Some(pipe) = srv.repl.master.rdb_pipe.take() {
        srv.el.ae_delete_file_event(pipe.read.as_raw_fd(), AE_READABLE);
        for id in pipe.conns.iter().flatten() {
            if let Some(c) = srv.client_by_id(*id) {
                if let Some(info) = c.repl.as_deref_mut().filter(|r| r.pipe_writing) {
                    info.pipe_writing = false;
                    let fd = c.fd;
                    srv.el.ae_delete_file_event(fd, AE_WRITABLE);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crc64::crc64;

    #[test]
    fn eof_mark_payload_frames_a_valid_rdb() {
        let srv = crate::test_support::test_server();
        let mut out = Vec::new();
        let mut repl_id = [0u8; 40];
        repl_id.copy_from_slice(&util::get_random_hex_chars(40));
        let rsi = RdbSaveInfo { repl_stream_db: 0, repl_id_is_set: true, repl_id, repl_offset: 7 };
        rdb_save_rio_with_eof_mark(&srv, &mut out, &rsi).expect("in-memory write");
        assert!(out.starts_with(b"$EOF:"));
        let mark = out[5..45].to_vec();
        assert!(mark.iter().all(u8::is_ascii_hexdigit));
        assert_eq!(&out[45..47], b"\r\n");
        assert!(out.ends_with(&mark));
        let rdb = &out[47..out.len() - 40];
        assert!(rdb.starts_with(b"REDIS0010"));
        let (body, trailer) = rdb.split_at(rdb.len() - 8);
        assert_eq!(crc64(0, body).to_le_bytes(), trailer, "the checksum covers the RDB only");
        let text = String::from_utf8_lossy(rdb);
        let id = String::from_utf8_lossy(&repl_id).into_owned();
        assert!(text.contains("repl-id") && text.contains(&id) && text.contains("repl-offset"));
    }
}

//! The replica's full synchronization: the RDB payload from the master, received into a
//! temp file (or, for a diskless load, into memory), then loaded in place of the dataset.
//!
//! Redis: replication.c readSyncBulkPayload(), replicationAttachToNewMaster(),
//! replicationAbortSyncTransfer(). With repl-diskless-load `disabled` (or `on-empty-db`
//! while we hold keys) the payload goes to `temp-<unixtime>.<pid>.rdb`, which then replaces
//! dbfilename and is loaded; otherwise it goes to the parser: see
//! replica_diskless_load.rs, which this file hands the payload's chunks and its end to.
//!
//! Event loop fit: [`read_sync_bulk_payload`] is what the master socket's readable handler
//! runs in TRANSFER state. Each call takes one chunk (from what came with the PSYNC reply,
//! else one read of the socket) and appends it to the file or the in-memory payload; the
//! first line (`$<len>` or `$EOF:<mark>`, after any keep-alive newlines) is read the same
//! way. Only the final load runs long, as in Redis (it serves clients between keys); the
//! socket's read handler is removed during it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::{AsRawFd, RawFd};

use crate::ae::AE_READABLE;
use crate::rdb::{RdbSaveInfo, RDBFLAGS_REPLICATION};
use crate::server::Server;

use super::replica::{self, replid_text, strerror, ReplState};
use super::replica_diskless_load::{self as diskless, DisklessLoad};
use super::replica_handshake::{self, TransferLink};
use super::replica_stream;
use super::CONFIG_RUN_ID_SIZE;

/// Redis: REPL_MAX_WRITTEN_BEFORE_FSYNC: the file is pushed to disk every 8 MB so the
/// final fsync is short.
const REPL_MAX_WRITTEN_BEFORE_FSYNC: i64 = 8 * 1024 * 1024;
/// Redis: the buffer readSyncBulkPayload() reads into.
const READ_CHUNK: usize = 16 * 1024;

/// The download in progress (Redis: repl_transfer_size, repl_transfer_read, and the
/// static eofmark / lastbytes / usemark of readSyncBulkPayload()).
#[derive(Debug)]
pub struct BulkTransfer {
    sink: Sink,
    /// -1 until the `$` line arrived; 0 for an EOF-marked payload (size unknown).
    pub size: i64,
    /// Redis: repl_transfer_read: bytes written to the temp file. A diskless load leaves
    /// it at 0, as Redis's INFO shows (its socket reads bypass the counter).
    pub read: i64,
    /// The diskless transfer's end mark, and the last bytes received to match it against.
    eofmark: Option<[u8; CONFIG_RUN_ID_SIZE]>,
    lastbytes: [u8; CONFIG_RUN_ID_SIZE],
}

/// Where the payload goes.
#[derive(Debug)]
enum Sink {
    /// Redis: repl_transfer_fd / repl_transfer_tmpfile.
    Disk(TempFile),
    /// Redis: useDisklessLoad(): to the parser (here: to memory, then the parser).
    Memory(DisklessLoad),
}

#[derive(Debug)]
struct TempFile {
    file: File,
    tmpfile: String,
    /// Redis: repl_transfer_last_fsync_off.
    last_fsync_off: i64,
}

impl TempFile {
    /// Redis: the temp file syncWithMaster() opens before the transfer.
    fn create(unixtime: i64) -> Result<TempFile, ()> {
        let tmpfile = format!("temp-{}.{}.rdb", unixtime, std::process::id());
        let file = OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmpfile).map_err(|err| {
            log::warn!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {}", strerror(&err));
        })?;
        Ok(TempFile { file, tmpfile, last_fsync_off: 0 })
    }

    /// Redis: replicationAbortSyncTransfer()'s file part: the half-received file goes away.
    fn remove(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.tmpfile);
    }
}

impl BulkTransfer {
    /// Redis: syncWithMaster() after +FULLRESYNC: the temp file, unless the payload will
    /// go to the parser (useDisklessLoad()).
    #[allow(clippy::result_unit_err)] // The failure is logged here; callers only abort.
    pub fn create(srv: &Server) -> Result<BulkTransfer, ()> {
        let sink = match diskless::use_diskless_load(srv) {
            Some(mode) => Sink::Memory(DisklessLoad::new(mode)),
            None => Sink::Disk(TempFile::create(srv.unixtime)?),
        };
        Ok(BulkTransfer { sink, size: -1, read: 0, eofmark: None, lastbytes: [0; CONFIG_RUN_ID_SIZE] })
    }

    /// Payload bytes taken from the link so far.
    fn received(&self) -> i64 {
        match &self.sink {
            Sink::Disk(_) => self.read,
            Sink::Memory(load) => load.received(),
        }
    }

    fn is_diskless(&self) -> bool {
        matches!(self.sink, Sink::Memory(_))
    }

    /// Slides the last 40 bytes received; true when they are the end mark.
    fn eof_mark_reached(&mut self, data: &[u8]) -> bool {
        let Some(mark) = self.eofmark else { return false };
        let n = CONFIG_RUN_ID_SIZE;
        if data.len() >= n {
            self.lastbytes.copy_from_slice(&data[data.len() - n..]);
        } else {
            self.lastbytes.copy_within(data.len().., 0);
            self.lastbytes[n - data.len()..].copy_from_slice(data);
        }
        self.lastbytes == mark
    }
}

/// Redis: replicationAbortSyncTransfer()'s download part: a half-received file goes away;
/// a diskless load that began is undone.
pub fn discard_bulk_file(srv: &mut Server, bulk: Option<BulkTransfer>) {
    match bulk.map(|b| b.sink) {
        Some(Sink::Disk(temp)) => temp.remove(),
        Some(Sink::Memory(load)) => diskless::abort_diskless_load(srv, load),
        None => {}
    }
}

/// The diskless load of the transfer in progress, with the payload's end mark and size.
pub(super) fn transfer_diskless_load(srv: &mut Server) -> Option<(&mut DisklessLoad, Option<[u8; CONFIG_RUN_ID_SIZE]>, i64)> {
    let bulk = srv.repl.replica.transfer.as_mut()?.bulk.as_mut()?;
    match &mut bulk.sink {
        Sink::Memory(load) => Some((load, bulk.eofmark, bulk.size)),
        Sink::Disk(_) => None,
    }
}

/// What the `$...` line announced.
#[derive(Debug, PartialEq, Eq)]
enum BulkHeader {
    /// A newline: the master is still preparing the snapshot.
    KeepAlive,
    /// `$EOF:<40 chars>`: diskless payload ending with the mark.
    EofMark([u8; CONFIG_RUN_ID_SIZE]),
    /// `$<len>`.
    Size(i64),
    /// `-...`: the master gave up.
    Aborted(String),
    /// Anything else.
    BadProtocol(String),
}

fn parse_bulk_header(line: &[u8]) -> BulkHeader {
    let text = || String::from_utf8_lossy(line).into_owned();
    match line.first() {
        None => BulkHeader::KeepAlive,
        Some(b'-') => BulkHeader::Aborted(String::from_utf8_lossy(&line[1..]).into_owned()),
        Some(b'$') => match line[1..].strip_prefix(b"EOF:") {
            Some(mark) if mark.len() >= CONFIG_RUN_ID_SIZE => {
                let mut m = [0; CONFIG_RUN_ID_SIZE];
                m.copy_from_slice(&mark[..CONFIG_RUN_ID_SIZE]);
                BulkHeader::EofMark(m)
            }
            _ => BulkHeader::Size(strtol(&line[1..])),
        },
        Some(_) => BulkHeader::BadProtocol(text()),
    }
}

/// strtol() of the length: leading digits, 0 when none.
fn strtol(s: &[u8]) -> i64 {
    s.iter().take_while(|b| b.is_ascii_digit()).fold(0i64, |v, &b| v.saturating_mul(10).saturating_add(i64::from(b - b'0')))
}

/// Redis: readSyncBulkPayload(): one step of the download (the header line, or one chunk
/// of payload); once the payload is complete, the load.
pub fn read_sync_bulk_payload(srv: &mut Server) {
    let header_pending = srv.repl.replica.transfer.as_ref().and_then(|t| t.bulk.as_ref()).map(|b| b.size == -1);
    let outcome = match header_pending {
        None => Err(()),
        Some(true) => read_bulk_header(srv).map(|()| false),
        Some(false) => read_bulk_chunk(srv),
    };
    match outcome {
        Ok(false) => {}
        Ok(true) => finish_full_sync(srv),
        Err(()) => abort_sync_transfer(srv),
    }
}

/// Redis: readSyncBulkPayload()'s error exits: cancelReplicationHandshake(1). A diskless
/// load is undone once the reconnect started, the order of Redis's log lines.
fn abort_sync_transfer(srv: &mut Server) {
    let bulk = srv.repl.replica.transfer.as_mut().and_then(|link| link.bulk.take());
    replica_handshake::cancel_replication_handshake(srv, true);
    discard_bulk_file(srv, bulk);
}

/// The `$<len>` / `$EOF:<mark>` line (after keep-alive newlines). The socket is read on
/// every call (see replica_handshake::receive_synchronous_response).
fn read_bulk_header(srv: &mut Server) -> Result<(), ()> {
    let read = replica_handshake::fill_inbuf(srv);
    let unixtime = srv.unixtime;
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(()) };
    let Some(line) = link.take_line() else {
        if let Err(err) = read {
            log::warn!("I/O error reading bulk count from MASTER: {}", err);
            return Err(());
        }
        return Ok(());
    };
    if !link.inbuf.is_empty() {
        srv.el.ae_set_ready(link.fd, AE_READABLE);
    }
    srv.repl.replica.transfer_lastio = unixtime;
    let Some(bulk) = link.bulk.as_mut() else { return Err(()) };
    let target = if bulk.is_diskless() { "to parser" } else { "to disk" };
    match parse_bulk_header(&line) {
        BulkHeader::KeepAlive => {}
        BulkHeader::EofMark(mark) => {
            bulk.eofmark = Some(mark);
            bulk.size = 0;
            log::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {}", target);
        }
        BulkHeader::Size(size) => {
            bulk.size = size;
            if let Sink::Memory(load) = &mut bulk.sink {
                load.expect_size(size);
            }
            log::info!("MASTER <-> REPLICA sync: receiving {} bytes from master {}", size, target);
        }
        BulkHeader::Aborted(msg) => {
            log::warn!("MASTER aborted replication with an error: {}", msg);
            return Err(());
        }
        BulkHeader::BadProtocol(got) => {
            log::warn!("Bad protocol from MASTER, the first byte is not '$' (we received '{}'), are you sure the host and port are right?", got);
            return Err(());
        }
    }
    Ok(())
}

/// One chunk of payload to the temp file or the in-memory payload. Ok(true) when the
/// payload is complete.
fn read_bulk_chunk(srv: &mut Server) -> Result<bool, ()> {
    diskless::begin_diskless_load(srv);
    let chunk = take_chunk(srv).map_err(|failure| report_read_failure(srv, failure))?;
    if chunk.is_empty() {
        return Ok(false);
    }
    srv.repl.replica.transfer_lastio = srv.unixtime;
    let Some(bulk) = srv.repl.replica.transfer.as_mut().and_then(|t| t.bulk.as_mut()) else { return Err(()) };
    let mark_reached = bulk.eof_mark_reached(&chunk);
    match &mut bulk.sink {
        Sink::Disk(temp) => {
            write_chunk_to_disk(temp, &chunk, bulk.read, mark_reached)?;
            bulk.read += chunk.len() as i64;
        }
        // The mark stays: the parse checks it follows the RDB, as Redis reads it after.
        Sink::Memory(load) => load.append(&chunk)?,
    }
    Ok(mark_reached || (bulk.eofmark.is_none() && bulk.received() == bulk.size))
}

/// The disk path of a chunk: written at `offset`, the end mark cut off the file once
/// reached, the written range pushed to disk every 8 MB.
fn write_chunk_to_disk(temp: &mut TempFile, chunk: &[u8], offset: i64, mark_reached: bool) -> Result<(), ()> {
    if let Err(err) = temp.file.write_all(chunk) {
        log::warn!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {}", strerror(&err));
        return Err(());
    }
    let written = offset + chunk.len() as i64;
    if mark_reached {
        // The mark is not part of the RDB.
        if let Err(err) = temp.file.set_len((written - CONFIG_RUN_ID_SIZE as i64).max(0) as u64) {
            log::warn!("Error truncating the RDB file received from the master for SYNC: {}", strerror(&err));
            return Err(());
        }
    }
    flush_written_range(temp, written);
    Ok(())
}

/// Why the payload stopped arriving.
enum ReadFailure {
    /// The master closed the link.
    Lost,
    Io(std::io::Error),
}

/// The log lines of a broken transfer: the disk path's, or (the load having begun) the
/// diskless load's short read.
fn report_read_failure(srv: &Server, failure: ReadFailure) {
    let diskless = srv.repl.replica.transfer.as_ref().and_then(|t| t.bulk.as_ref()).is_some_and(BulkTransfer::is_diskless);
    match (failure, diskless) {
        (ReadFailure::Lost, false) => log::warn!("I/O error trying to sync with MASTER: connection lost"),
        (ReadFailure::Io(err), false) => log::warn!("I/O error trying to sync with MASTER: {}", strerror(&err)),
        // Redis 7.0 leaves EAGAIN in errno when the master closes during a diskless load.
        (ReadFailure::Lost, true) => diskless::log_transfer_failure(srv, "Resource temporarily unavailable"),
        (ReadFailure::Io(err), true) => diskless::log_transfer_failure(srv, &strerror(&err)),
    }
}

/// The next bytes of payload: first what is buffered, else one read of the socket; never
/// past the announced size, so the stream that follows a `$<len>` payload stays unread.
fn take_chunk(srv: &mut Server) -> Result<Vec<u8>, ReadFailure> {
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(ReadFailure::Lost) };
    let Some(bulk) = link.bulk.as_ref() else { return Err(ReadFailure::Lost) };
    let want = if bulk.eofmark.is_some() { READ_CHUNK } else { usize::try_from(bulk.size - bulk.received()).unwrap_or(0).min(READ_CHUNK) };
    if link.inbuf.is_empty() {
        return read_socket_chunk(srv, want);
    }
    let n = want.min(link.inbuf.len());
    let chunk: Vec<u8> = link.inbuf.drain(..n).collect();
    // The socket was not read this time: come back for it (the event that brought us here
    // may have been new data, which an edge-triggered poller announces once).
    srv.el.ae_set_ready(link.fd, AE_READABLE);
    Ok(chunk)
}

fn read_socket_chunk(srv: &mut Server, want: usize) -> Result<Vec<u8>, ReadFailure> {
    use std::io::Read;
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(ReadFailure::Lost) };
    let mut buf = vec![0u8; want];
    match link.stream.read(&mut buf) {
        Ok(0) if want > 0 => Err(ReadFailure::Lost),
        Ok(n) => {
            buf.truncate(n);
            // Even a short read re-arms: a FIN that came with these bytes was announced by
            // the same edge, and only a read that returns 0 shows it.
            if n > 0 {
                srv.el.ae_set_ready(link.fd, AE_READABLE);
            }
            srv.stat_net_input_bytes += n as u64;
            Ok(buf)
        }
        Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => Ok(Vec::new()),
        Err(err) => Err(ReadFailure::Io(err)),
    }
}

/// Redis: rdb_fsync_range() every REPL_MAX_WRITTEN_BEFORE_FSYNC bytes: start writing the
/// range out without waiting for it.
fn flush_written_range(temp: &mut TempFile, written: i64) {
    if written < temp.last_fsync_off + REPL_MAX_WRITTEN_BEFORE_FSYNC {
        return;
    }
    let len = written - temp.last_fsync_off;
    // SAFETY: sync_file_range() on the fd of a file we own, with a byte range inside it;
    // SYNC_FILE_RANGE_WRITE only starts write-out.
    unsafe {
        libc::sync_file_range(temp.file.as_raw_fd(), temp.last_fsync_off, len, libc::SYNC_FILE_RANGE_WRITE);
    }
    temp.last_fsync_off += len;
}

// ----------------------------------------------------------------------------------------
// Loading what was received
// ----------------------------------------------------------------------------------------

/// Redis: the end of readSyncBulkPayload(): the new data set is loaded (from the file, or
/// from memory for a diskless load) and the socket becomes our master client.
fn finish_full_sync(srv: &mut Server) {
    let Some(link) = srv.repl.replica.transfer.as_ref() else { return };
    let fd = link.fd;
    let Some(bulk) = link.bulk.as_ref() else { return };
    let usemark = bulk.eofmark.is_some();
    let rsi = if bulk.is_diskless() { diskless::finish_diskless_load(srv, fd) } else { load_from_disk(srv, fd) };
    let Some(rsi) = rsi else { return };
    let st = &mut srv.repl.replica;
    let Some(mut link) = st.transfer.take() else { return };
    // The temp file is dbfilename now (or the payload was parsed): only the handle goes.
    link.bulk = None;
    st.state = ReplState::Connected;
    st.repl_down_since = 0;
    replication_create_synced_master(srv, link, rsi.repl_stream_db);
    log::info!("MASTER <-> REPLICA sync: Finished with success");
    // After a diskless transfer the master waits for this ACK to start the stream.
    if usemark {
        replica::replication_send_ack(srv);
    }
}

/// The disk-load path: the old data goes, the file replaces dbfilename and loads. The
/// RDB's replication info, or None after a failure (logged, sync retried).
fn load_from_disk(srv: &mut Server, fd: RawFd) -> Option<RdbSaveInfo> {
    if srv.child_type == Some(crate::childinfo::ChildType::Rdb) {
        log::info!(
            "Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race",
            srv.child_pid.unwrap_or(-1)
        );
        crate::rdb::background::kill_rdb_child(srv);
    }
    replication_attach_to_new_master(srv);
    log::info!("MASTER <-> REPLICA sync: Flushing old data");
    let lazy = srv.config.replica_lazy_flush;
    crate::db::empty_data(srv, None, lazy);
    // rdb_load serves events while it runs: this socket must wait.
    srv.el.ae_delete_file_event(fd, AE_READABLE);
    log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let rsi = install_and_load(srv);
    if rsi.is_none() {
        replica_handshake::cancel_replication_handshake(srv, true);
    }
    rsi
}

/// fsync, rename over dbfilename, load. The RDB's replication info, or None on failure
/// (logged).
fn install_and_load(srv: &mut Server) -> Option<RdbSaveInfo> {
    let bulk = srv.repl.replica.transfer.as_ref()?.bulk.as_ref()?;
    let Sink::Disk(temp) = &bulk.sink else { return None };
    if let Err(err) = temp.file.sync_all() {
        log::warn!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}", strerror(&err));
        return None;
    }
    let dbfilename = srv.config.dbfilename.clone();
    if let Err(err) = std::fs::rename(&temp.tmpfile, &dbfilename) {
        log::warn!("Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {}", dbfilename, strerror(&err));
        return None;
    }
    // Redis: fsyncFileDir(): the rename itself must survive a crash.
    if let Err(err) = File::open(".").and_then(|dir| dir.sync_all()) {
        log::warn!("Failed trying to sync DB directory {} in MASTER <-> REPLICA synchronization: {}", dbfilename, strerror(&err));
        return None;
    }
    let mut rsi = RdbSaveInfo::default();
    let loaded = crate::rdb::load::rdb_load(srv, &dbfilename, &mut rsi, RDBFLAGS_REPLICATION);
    // Redis: rdbReportError() with rdbFileBeingLoaded set: a corrupt or truncated sync
    // file is checked by redis-check-rdb and the process exits, as at start-up.
    if let Err(crate::rdb::load::RdbLoadError::Failed(e)) = &loaded {
        if crate::rdb::load::is_reported_corruption(e) {
            crate::rdb::load::rdb_check_then_exit(&dbfilename);
        }
    }
    if let Err(err) = &loaded {
        let why = match err {
            crate::rdb::load::RdbLoadError::NotExist => "No such file or directory".to_string(),
            crate::rdb::load::RdbLoadError::Failed(crate::rdb::RdbError::Io { err, .. }) => strerror(err),
            crate::rdb::load::RdbLoadError::Failed(other) => other.to_string(),
        };
        log::warn!("Failed trying to load the MASTER synchronization DB from disk: {}", why);
    }
    // Redis: readSyncBulkPayload()'s cleanup, after a load that worked or failed alike.
    if srv.config.rdb_del_sync_files && srv.all_persistence_disabled() {
        log::info!("Removing the RDB file obtained from the master. This replica has persistence disabled");
        let _ = std::fs::remove_file(&dbfilename);
    }
    loaded.ok().map(|()| rsi)
}

/// The master client of a fully synced link, and our history becomes the master's.
fn replication_create_synced_master(srv: &mut Server, link: TransferLink, repl_stream_db: i32) {
    let st = &srv.repl.replica;
    let cached = replica::CachedMaster {
        replid: st.master_replid,
        reploff: st.master_initial_offset,
        db: usize::try_from(repl_stream_db).unwrap_or(0),
        pre_psync: st.master_initial_offset == -1,
    };
    replica_stream::replication_create_master_client(srv, link, &cached);
    srv.repl.replid = cached.replid;
    srv.repl.master_repl_offset = cached.reploff;
    srv.repl.clear_replication_id2();
    log::debug!("Replication ID set to {}", replid_text(&srv.repl.replid));
    // Replicas keep a backlog whether or not they have replicas: they may be promoted.
    if srv.repl.backlog.is_none() {
        let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(1 << 20);
        srv.repl.create_replication_backlog(size);
    }
}

/// Redis: replicationAttachToNewMaster(): the new dataset has a history of its own, so
/// neither our cached master nor our sub-replicas (nor our backlog) can continue.
pub(super) fn replication_attach_to_new_master(srv: &mut Server) {
    replica::replication_discard_cached_master(srv);
    replica::disconnect_slaves(srv);
    srv.repl.free_replication_backlog();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_headers_as_redis_reads_them() {
        let mark = [b'e'; 40];
        let mut line = b"$EOF:".to_vec();
        line.extend_from_slice(&mark);
        assert_eq!(parse_bulk_header(&line), BulkHeader::EofMark(mark));
        assert_eq!(parse_bulk_header(b"$254"), BulkHeader::Size(254));
        assert_eq!(parse_bulk_header(b"$EOF:short"), BulkHeader::Size(0));
        assert_eq!(parse_bulk_header(b""), BulkHeader::KeepAlive);
        assert_eq!(parse_bulk_header(b"-ERR nope"), BulkHeader::Aborted("ERR nope".into()));
        assert_eq!(parse_bulk_header(b"+FULLRESYNC"), BulkHeader::BadProtocol("+FULLRESYNC".into()));
    }

    fn memory_transfer(mark: [u8; 40]) -> BulkTransfer {
        let load = DisklessLoad::new(diskless::DisklessMode::Swapdb);
        BulkTransfer { sink: Sink::Memory(load), size: 0, read: 0, eofmark: Some(mark), lastbytes: [0; 40] }
    }

    #[test]
    fn the_eof_mark_is_found_across_chunk_boundaries() {
        let mark = *b"0123456789012345678901234567890123456789";
        let mut b = memory_transfer(mark);
        assert!(!b.eof_mark_reached(b"REDIS0010 payload 0123456789"));
        assert!(!b.eof_mark_reached(b"0123456789"));
        let mut whole = b"xx".to_vec();
        whole.extend_from_slice(&mark);
        assert!(b.eof_mark_reached(&whole));
        assert!(b.eof_mark_reached(b""), "nothing new: the last bytes still match");
        let mut split = memory_transfer(mark);
        assert!(!split.eof_mark_reached(&mark[..25]));
        assert!(split.eof_mark_reached(&mark[25..]), "the mark split over two reads");
    }

    #[test]
    fn a_diskless_transfer_counts_received_bytes_apart_from_info_read() {
        let mut b = memory_transfer([b'm'; 40]);
        assert!(b.is_diskless());
        if let Sink::Memory(load) = &mut b.sink {
            load.append(b"REDIS0010").expect("append");
        }
        assert_eq!((b.received(), b.read), (9, 0));
    }
}

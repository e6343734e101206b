//! The replica's full synchronization: the RDB payload from the master, written to a temp
//! file, then loaded in place of the dataset.
//!
//! Redis: replication.c readSyncBulkPayload() (the disk-load path),
//! replicationAttachToNewMaster(), replicationAbortSyncTransfer(). repl-diskless-load is
//! treated as `disabled` whatever its value: the payload always goes through the temp file.
//!
//! Event loop fit: [`read_sync_bulk_payload`] is what the master socket's readable handler
//! runs in TRANSFER state. Each call takes one chunk (from what came with the PSYNC reply,
//! else one read of the socket) and appends it to `temp-<unixtime>.<pid>.rdb`; the first
//! line (`$<len>` or `$EOF:<mark>`, after any keep-alive newlines) is read the same way.
//! Only the final load runs long, as in Redis (rdb_load serves clients with -LOADING
//! meanwhile); the socket's read handler is removed during it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;

use crate::ae::AE_READABLE;
use crate::rdb::{RdbSaveInfo, RDBFLAGS_REPLICATION};
use crate::server::Server;

use super::replica::{self, replid_text, strerror, ReplState};
use super::replica_handshake::{self, TransferLink};
use super::replica_stream;
use super::CONFIG_RUN_ID_SIZE;

/// Redis: REPL_MAX_WRITTEN_BEFORE_FSYNC: the file is pushed to disk every 8 MB so the
/// final fsync is short.
const REPL_MAX_WRITTEN_BEFORE_FSYNC: i64 = 8 * 1024 * 1024;
/// Redis: the buffer readSyncBulkPayload() reads into.
const READ_CHUNK: usize = 16 * 1024;

/// The download in progress (Redis: repl_transfer_fd, repl_transfer_tmpfile,
/// repl_transfer_size, repl_transfer_read, repl_transfer_last_fsync_off, and the static
/// eofmark / lastbytes / usemark of readSyncBulkPayload()).
#[derive(Debug)]
pub struct BulkTransfer {
    file: File,
    tmpfile: String,
    /// -1 until the `$` line arrived; 0 for an EOF-marked payload (size unknown).
    pub size: i64,
    pub read: i64,
    last_fsync_off: i64,
    /// The diskless transfer's end mark, and the last bytes received to match it against.
    eofmark: Option<[u8; CONFIG_RUN_ID_SIZE]>,
    lastbytes: [u8; CONFIG_RUN_ID_SIZE],
}

impl BulkTransfer {
    /// Redis: the temp file syncWithMaster() opens before the transfer.
    pub fn create(unixtime: i64) -> Result<BulkTransfer, ()> {
        let tmpfile = format!("temp-{}.{}.rdb", unixtime, std::process::id());
        let file = OpenOptions::new().write(true).create_new(true).mode(0o644).open(&tmpfile).map_err(|err| {
            log::warn!("Opening the temp file needed for MASTER <-> REPLICA synchronization: {}", strerror(&err));
        })?;
        Ok(BulkTransfer { file, tmpfile, size: -1, read: 0, last_fsync_off: 0, eofmark: None, lastbytes: [0; CONFIG_RUN_ID_SIZE] })
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

/// Redis: replicationAbortSyncTransfer()'s file part: the half-received file goes away.
pub fn discard_bulk_file(bulk: Option<BulkTransfer>) {
    if let Some(bulk) = bulk {
        drop(bulk.file);
        let _ = std::fs::remove_file(&bulk.tmpfile);
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
        Err(()) => {
            replica_handshake::cancel_replication_handshake(srv, true);
        }
    }
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
    match parse_bulk_header(&line) {
        BulkHeader::KeepAlive => {}
        BulkHeader::EofMark(mark) => {
            bulk.eofmark = Some(mark);
            bulk.size = 0;
            log::info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk");
        }
        BulkHeader::Size(size) => {
            bulk.size = size;
            log::info!("MASTER <-> REPLICA sync: receiving {} bytes from master to disk", size);
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

/// One chunk of payload to the temp file. Ok(true) when the payload is complete.
fn read_bulk_chunk(srv: &mut Server) -> Result<bool, ()> {
    let chunk = take_chunk(srv)?;
    if chunk.is_empty() {
        return Ok(false);
    }
    srv.repl.replica.transfer_lastio = srv.unixtime;
    let Some(bulk) = srv.repl.replica.transfer.as_mut().and_then(|t| t.bulk.as_mut()) else { return Err(()) };
    let mark_reached = bulk.eof_mark_reached(&chunk);
    if let Err(err) = bulk.file.write_all(&chunk) {
        log::warn!("Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA synchronization: {}", strerror(&err));
        return Err(());
    }
    bulk.read += chunk.len() as i64;
    if mark_reached {
        // The mark is not part of the RDB.
        if let Err(err) = bulk.file.set_len((bulk.read - CONFIG_RUN_ID_SIZE as i64).max(0) as u64) {
            log::warn!("Error truncating the RDB file received from the master for SYNC: {}", strerror(&err));
            return Err(());
        }
    }
    flush_written_range(bulk);
    Ok(mark_reached || (bulk.eofmark.is_none() && bulk.read == bulk.size))
}

/// The next bytes of payload: first what is buffered, else one read of the socket; never
/// past the announced size, so the stream that follows a `$<len>` payload stays unread.
fn take_chunk(srv: &mut Server) -> Result<Vec<u8>, ()> {
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(()) };
    let Some(bulk) = link.bulk.as_ref() else { return Err(()) };
    let want = if bulk.eofmark.is_some() { READ_CHUNK } else { usize::try_from(bulk.size - bulk.read).unwrap_or(0).min(READ_CHUNK) };
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

fn read_socket_chunk(srv: &mut Server, want: usize) -> Result<Vec<u8>, ()> {
    use std::io::Read;
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(()) };
    let mut buf = vec![0u8; want];
    match link.stream.read(&mut buf) {
        Ok(0) if want > 0 => {
            log::warn!("I/O error trying to sync with MASTER: connection lost");
            Err(())
        }
        Ok(n) => {
            buf.truncate(n);
            if n == want && n > 0 {
                srv.el.ae_set_ready(link.fd, AE_READABLE);
            }
            srv.stat_net_input_bytes += n as u64;
            Ok(buf)
        }
        Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => Ok(Vec::new()),
        Err(err) => {
            log::warn!("I/O error trying to sync with MASTER: {}", strerror(&err));
            Err(())
        }
    }
}

/// Redis: rdb_fsync_range() every REPL_MAX_WRITTEN_BEFORE_FSYNC bytes: start writing the
/// range out without waiting for it.
fn flush_written_range(bulk: &mut BulkTransfer) {
    if bulk.read < bulk.last_fsync_off + REPL_MAX_WRITTEN_BEFORE_FSYNC {
        return;
    }
    let len = bulk.read - bulk.last_fsync_off;
    // SAFETY: sync_file_range() on the fd of a file we own, with a byte range inside it;
    // SYNC_FILE_RANGE_WRITE only starts write-out.
    unsafe {
        libc::sync_file_range(bulk.file.as_raw_fd(), bulk.last_fsync_off, len, libc::SYNC_FILE_RANGE_WRITE);
    }
    bulk.last_fsync_off += len;
}

// ----------------------------------------------------------------------------------------
// Loading what was received
// ----------------------------------------------------------------------------------------

/// Redis: the end of readSyncBulkPayload(): the file replaces dbfilename, the old data
/// goes, the new loads, and the socket becomes our master client.
fn finish_full_sync(srv: &mut Server) {
    if srv.child_type == Some(crate::childinfo::ChildType::Rdb) {
        log::info!(
            "Replica is about to load the RDB file received from the master, but there is a pending RDB child running. Killing process {} and removing its temp file to avoid any race",
            srv.child_pid.unwrap_or(-1)
        );
        crate::rdb::background::kill_rdb_child(srv);
    }
    let Some(link) = srv.repl.replica.transfer.as_ref() else { return };
    let fd = link.fd;
    let usemark = link.bulk.as_ref().is_some_and(|b| b.eofmark.is_some());
    replication_attach_to_new_master(srv);
    log::info!("MASTER <-> REPLICA sync: Flushing old data");
    let lazy = srv.config.replica_lazy_flush;
    crate::db::empty_data(srv, None, lazy);
    // rdb_load serves events while it runs: this socket must wait.
    srv.el.ae_delete_file_event(fd, AE_READABLE);
    log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    let Some(rsi) = install_and_load(srv) else {
        replica_handshake::cancel_replication_handshake(srv, true);
        return;
    };
    let st = &mut srv.repl.replica;
    let Some(mut link) = st.transfer.take() else { return };
    // The temp file is dbfilename now: only its handle goes.
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

/// fsync, rename over dbfilename, load. The RDB's replication info, or None on failure
/// (logged).
fn install_and_load(srv: &mut Server) -> Option<RdbSaveInfo> {
    let bulk = srv.repl.replica.transfer.as_ref()?.bulk.as_ref()?;
    if let Err(err) = bulk.file.sync_all() {
        log::warn!("Failed trying to sync the temp DB to disk in MASTER <-> REPLICA synchronization: {}", strerror(&err));
        return None;
    }
    let dbfilename = srv.config.dbfilename.clone();
    if let Err(err) = std::fs::rename(&bulk.tmpfile, &dbfilename) {
        log::warn!("Failed trying to rename the temp DB into {} in MASTER <-> REPLICA synchronization: {}", dbfilename, strerror(&err));
        return None;
    }
    // Redis: fsyncFileDir(): the rename itself must survive a crash.
    if let Err(err) = File::open(".").and_then(|dir| dir.sync_all()) {
        log::warn!("Failed trying to sync DB directory {} in MASTER <-> REPLICA synchronization: {}", dbfilename, strerror(&err));
        return None;
    }
    let mut rsi = RdbSaveInfo::default();
    if let Err(err) = crate::rdb::load::rdb_load(srv, &dbfilename, &mut rsi, RDBFLAGS_REPLICATION) {
        let why = match err {
            crate::rdb::load::RdbLoadError::NotExist => "No such file or directory".to_string(),
            crate::rdb::load::RdbLoadError::Failed(crate::rdb::RdbError::Io { err, .. }) => strerror(&err),
            crate::rdb::load::RdbLoadError::Failed(other) => other.to_string(),
        };
        log::warn!("Failed trying to load the MASTER synchronization DB from disk: {}", why);
        return None;
    }
    Some(rsi)
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
fn replication_attach_to_new_master(srv: &mut Server) {
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

    #[test]
    fn the_eof_mark_is_found_across_chunk_boundaries() {
        let dir = std::env::temp_dir().join(format!("ferredis-bulk-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let file = File::create(dir.join("t.rdb")).expect("create");
        let mark = *b"0123456789012345678901234567890123456789";
        let mut b = BulkTransfer { file, tmpfile: String::new(), size: 0, read: 0, last_fsync_off: 0, eofmark: Some(mark), lastbytes: [0; 40] };
        assert!(!b.eof_mark_reached(b"REDIS0010 payload 0123456789"));
        assert!(!b.eof_mark_reached(b"0123456789"));
        let mut whole = b"xx".to_vec();
        whole.extend_from_slice(&mark);
        assert!(b.eof_mark_reached(&whole));
        assert!(b.eof_mark_reached(b"") , "nothing new: the last bytes still match");
        let mut split = BulkTransfer { eofmark: Some(mark), lastbytes: [0; 40], ..b };
        assert!(!split.eof_mark_reached(&mark[..25]));
        assert!(split.eof_mark_reached(&mark[25..]), "the mark split over two reads");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

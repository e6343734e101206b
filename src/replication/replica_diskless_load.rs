//! The replica's diskless load: repl-diskless-load `on-empty-db` (when we hold no key) and
//! `swapdb`, where the master's payload never touches the disk.
//!
//! Redis: replication.c useDisklessLoad(), disklessLoadInitTempDb(),
//! disklessLoadDiscardTempDb(), replicationSendNewlineToMaster() and the diskless branch of
//! readSyncBulkPayload(); db.c swapMainDbWithTempDb(); rdb.c rdbReportError()'s diskless
//! cases.
//!
//! Event loop fit: Redis turns the socket blocking and parses the payload as it arrives,
//! serving clients between keys. ferredis never blocks on the socket: the readable handler
//! (replica_transfer.rs) appends each chunk to an in-memory payload ([`DisklessLoad`]);
//! once the payload is complete, it is parsed in one go by the RDB loader
//! (rdb_load_rio_with_loading_ctx over the buffer), which serves clients every
//! loading-process-events-interval-bytes as any load does. The load state starts with the
//! first event after the `$` header, as Redis's does:
//!
//! - `on-empty-db`: the (empty) dataset is flushed, `loading` is set, clients get -LOADING
//!   until the parse ends; keys go straight into the server's databases.
//! - `swapdb`: keys go into temp databases, swapped in at the end; on failure the old data
//!   stays. When our history is the master's (same replid: a full sync of a data set we
//!   already follow) the load is *async*: `async_loading` is set and clients keep reading
//!   the old data during the transfer and the parse (only NO_ASYNC_LOADING commands get
//!   -LOADING); otherwise they get -LOADING as with on-empty-db.
//!
//! The buffer grows only as bytes arrive (a `$<len>` header pre-sizes it up to
//! [`PREALLOC_CAP`]); a failed allocation fails the sync instead of aborting.

use std::io::Write as _;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::ae::AE_READABLE;
use crate::db::RedisDb;
use crate::rdb::load::{rdb_load_rio_with_loading_ctx, start_loading, stop_loading};
use crate::rdb::{RdbError, RdbSaveInfo, RDBFLAGS_REPLICATION};
use crate::rio::Rio;
use crate::server::Server;

use super::replica::{strerror, ReplState};
use super::replica_handshake;
use super::replica_transfer;
use super::CONFIG_RUN_ID_SIZE;

/// The most a `$<len>` header may pre-size the payload buffer by; past it the buffer grows
/// with what really arrives.
pub const PREALLOC_CAP: usize = 64 * 1024 * 1024;

/// Redis: REPL_DISKLESS_LOAD_WHEN_DB_EMPTY / REPL_DISKLESS_LOAD_SWAPDB, once chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisklessMode {
    OnEmptyDb,
    Swapdb,
}

/// Where a diskless load stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the first event after the header: nothing to undo yet.
    Waiting,
    /// The load began (loading state set; with on-empty-db the old data is flushed); the
    /// payload accumulates.
    Receiving,
    /// The payload is being parsed; the parse undoes what it must on failure.
    Parsing,
}

/// A diskless load in progress: the payload received so far (an EOF mark included).
pub struct DisklessLoad {
    mode: DisklessMode,
    phase: Phase,
    payload: Vec<u8>,
}

impl std::fmt::Debug for DisklessLoad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DisklessLoad({:?}, {:?}, {} bytes)", self.mode, self.phase, self.payload.len())
    }
}

impl DisklessLoad {
    pub fn new(mode: DisklessMode) -> DisklessLoad {
        DisklessLoad { mode, phase: Phase::Waiting, payload: Vec::new() }
    }

    /// Payload bytes received so far.
    pub fn received(&self) -> i64 {
        i64::try_from(self.payload.len()).unwrap_or(i64::MAX)
    }

    /// A `$<len>` header: room for the payload, up to PREALLOC_CAP (the length is the
    /// master's word, not a promise).
    pub fn expect_size(&mut self, size: i64) {
        let want = usize::try_from(size).unwrap_or(0).min(PREALLOC_CAP);
        let _ = self.payload.try_reserve_exact(want);
    }

    /// One chunk of payload; a failed allocation is logged and fails the sync.
    #[allow(clippy::result_unit_err)] // The failure is logged here; callers only abort.
    pub fn append(&mut self, chunk: &[u8]) -> Result<(), ()> {
        if self.payload.try_reserve(chunk.len()).is_err() {
            log::warn!(
                "Out of memory buffering the MASTER synchronization DB ({} bytes received)",
                self.payload.len()
            );
            return Err(());
        }
        self.payload.extend_from_slice(chunk);
        Ok(())
    }
}

/// Redis: replication.c useDisklessLoad(): swapdb always, on-empty-db while no db holds
/// a key. (Redis also refuses when modules cannot handle it; ferredis has none.)
pub fn use_diskless_load(srv: &Server) -> Option<DisklessMode> {
    use crate::config::ReplDisklessLoad;
    match srv.config.repl_diskless_load {
        ReplDisklessLoad::Swapdb => Some(DisklessMode::Swapdb),
        ReplDisklessLoad::OnEmptyDb if db_total_server_key_count(srv) == 0 => Some(DisklessMode::OnEmptyDb),
        ReplDisklessLoad::OnEmptyDb | ReplDisklessLoad::Disabled => None,
    }
}

/// Redis: db.c dbTotalServerKeyCount().
fn db_total_server_key_count(srv: &Server) -> usize {
    srv.db.iter().map(|db| db.dict.len()).sum()
}

// ----------------------------------------------------------------------------------------
// The transfer
// ----------------------------------------------------------------------------------------

/// Redis: readSyncBulkPayload()'s first call after the header, diskless: stop our RDB
/// child, flush (on-empty-db; swapdb keeps the data), "Loading DB in memory" and
/// startLoading(), async with swapdb when we already follow the master's history.
/// Nothing happens past the first call.
pub fn begin_diskless_load(srv: &mut Server) {
    let Some((load, _, size)) = replica_transfer::transfer_diskless_load(srv) else { return };
    if load.phase != Phase::Waiting {
        return;
    }
    load.phase = Phase::Receiving;
    let mode = load.mode;
    kill_rdb_child_if_running(srv);
    if mode == DisklessMode::OnEmptyDb {
        replica_transfer::replication_attach_to_new_master(srv);
        log::info!("MASTER <-> REPLICA sync: Flushing old data");
        let lazy = srv.config.replica_lazy_flush;
        crate::db::empty_data(srv, None, lazy);
    }
    log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
    // Same history: the old data is an earlier point of the data set being received.
    let async_loading = mode == DisklessMode::Swapdb && srv.repl.replid == srv.repl.replica.master_replid;
    start_loading(srv, u64::try_from(size).unwrap_or(0), RDBFLAGS_REPLICATION);
    srv.async_loading = async_loading;
}

/// Redis: `if (server.child_type == CHILD_TYPE_RDB) killRDBChild()` (silently, unlike the
/// disk path): a save racing the load, and copy-on-write, are avoided.
fn kill_rdb_child_if_running(srv: &Server) {
    if srv.child_type == Some(crate::childinfo::ChildType::Rdb) {
        crate::rdb::background::kill_rdb_child(srv);
    }
}

/// Redis: the diskless load failing on a read while the payload is still arriving (the
/// master went away, or the link broke): rdbLoadRio()'s `eoferr:` lines and
/// readSyncBulkPayload()'s. `why` is the errno text.
pub fn log_transfer_failure(srv: &Server, why: &str) {
    log::warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
    log_unexpected_eof(srv);
    log::warn!("Failed trying to load the MASTER synchronization DB from socket: {}", why);
}

/// Redis: replicationAbortSyncTransfer() of a diskless load that began (the link broke,
/// or the transfer timed out): the load state ends and, after on-empty-db, what was
/// flushed stays flushed. The old data of a swapdb load was never touched.
pub fn abort_diskless_load(srv: &mut Server, load: DisklessLoad) {
    if load.phase != Phase::Receiving {
        return;
    }
    end_loading(srv, false);
    discard_what_was_loaded(srv, load.mode, None);
}

/// Redis: replicationSendNewlineToMaster(), from the loader's progress callback: while
/// loading the master's payload, a newline (valid protocol, one indivisible byte) at most
/// once a second tells the master we are alive. Best effort.
pub fn replication_send_newline_to_master(srv: &mut Server) {
    static NEWLINE_SENT: AtomicI64 = AtomicI64::new(0);
    if srv.masterhost.is_none() || srv.repl.replica.state != ReplState::Transfer {
        return;
    }
    let now = crate::util::mstime() / 1000;
    if NEWLINE_SENT.swap(now, Ordering::Relaxed) == now {
        return;
    }
    if let Some(link) = srv.repl.replica.transfer.as_mut() {
        let _ = link.stream.write(b"\n");
    }
}

// ----------------------------------------------------------------------------------------
// The load
// ----------------------------------------------------------------------------------------

/// Why a complete payload did not load.
#[derive(Debug)]
enum LoadFailure {
    Rdb(RdbError),
    /// Redis: "Replication stream EOF marker is broken".
    EofMarkBroken,
}

/// Redis: readSyncBulkPayload()'s diskless branch once the payload is complete: the
/// parse into the temp databases (swapdb) or the server's (on-empty-db), the EOF mark
/// check, then the swap, or, on failure, the old data kept (swapdb) or the half-loaded
/// data flushed (on-empty-db) and a new sync attempt. The RDB's replication info on
/// success; None when the failure was handled.
pub fn finish_diskless_load(srv: &mut Server, fd: std::os::unix::io::RawFd) -> Option<RdbSaveInfo> {
    let (mode, payload, eofmark) = {
        let (load, eofmark, _) = replica_transfer::transfer_diskless_load(srv)?;
        load.phase = Phase::Parsing;
        (load.mode, std::mem::take(&mut load.payload), eofmark)
    };
    // A BGSAVE the cron started during the transfer would save the old data over ours.
    kill_rdb_child_if_running(srv);
    // The loader serves events between keys: this socket must wait.
    srv.el.ae_delete_file_event(fd, AE_READABLE);
    let mut temp = (mode == DisklessMode::Swapdb).then(|| diskless_load_init_temp_db(srv));
    let result = rdb_load_payload(srv, &payload, eofmark, temp.as_mut());
    drop(payload);
    match result {
        Ok(rsi) => {
            diskless_load_succeeded(srv, temp);
            Some(rsi)
        }
        Err(failure) => {
            report_load_failure(srv, &failure, eofmark.is_some());
            end_loading(srv, false);
            replica_handshake::cancel_replication_handshake(srv, true);
            discard_what_was_loaded(srv, mode, temp);
            None
        }
    }
}

/// Redis: rdbLoadRioWithLoadingCtx() over the connection, then the end mark: with one, the
/// 40 bytes right after the RDB must be it.
fn rdb_load_payload(
    srv: &mut Server,
    payload: &[u8],
    eofmark: Option<[u8; CONFIG_RUN_ID_SIZE]>,
    dbarray: Option<&mut Vec<RedisDb>>,
) -> Result<RdbSaveInfo, LoadFailure> {
    let mut rsi = RdbSaveInfo::default();
    let mut rdb = Rio::new(payload);
    rdb_load_rio_with_loading_ctx(&mut rdb, srv, RDBFLAGS_REPLICATION, &mut rsi, dbarray).map_err(LoadFailure::Rdb)?;
    if let Some(mark) = eofmark {
        let end = usize::try_from(rdb.processed_bytes).unwrap_or(usize::MAX);
        let after = end.checked_add(CONFIG_RUN_ID_SIZE).and_then(|stop| payload.get(end..stop));
        if after != Some(&mark[..]) {
            log::warn!("Replication stream EOF marker is broken");
            return Err(LoadFailure::EofMarkBroken);
        }
    }
    Ok(rsi)
}

/// Redis: the success half of the diskless branch: with swapdb our history gives way to
/// the master's (replicationAttachToNewMaster()) and the loaded databases replace ours;
/// then dirty++ (no save happened) and stopLoading(1).
fn diskless_load_succeeded(srv: &mut Server, temp: Option<Vec<RedisDb>>) {
    if let Some(temp) = temp {
        replica_transfer::replication_attach_to_new_master(srv);
        log::info!("MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
        let old = swap_main_db_with_temp_db(srv, temp);
        diskless_load_discard_temp_db(srv, old);
        log::info!("MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    srv.dirty += 1;
    end_loading(srv, true);
}

/// Redis: the failure half: swapdb drops the temp databases, on-empty-db flushes what
/// was half loaded into the server's.
fn discard_what_was_loaded(srv: &mut Server, mode: DisklessMode, temp: Option<Vec<RedisDb>>) {
    match mode {
        DisklessMode::Swapdb => {
            if let Some(temp) = temp {
                diskless_load_discard_temp_db(srv, temp);
            }
            log::info!("MASTER <-> REPLICA sync: Discarding temporary DB in background");
        }
        DisklessMode::OnEmptyDb => {
            let lazy = srv.config.replica_lazy_flush;
            crate::db::empty_data(srv, None, lazy);
        }
    }
}

/// Redis: stopLoading(), which also ends async loading.
fn end_loading(srv: &mut Server, success: bool) {
    stop_loading(srv, success);
    srv.async_loading = false;
}

/// Redis: replication.c disklessLoadInitTempDb(): empty databases, one per server db.
fn diskless_load_init_temp_db(srv: &Server) -> Vec<RedisDb> {
    (0..srv.db.len()).map(RedisDb::new).collect()
}

/// Redis: db.c swapMainDbWithTempDb(): the loaded databases become the server's. Clients
/// stay in their db: what SWAPDB does for them (WATCHed keys touched, blocked clients
/// re-checked) happens per db, and tracking clients learn everything changed. Returns the
/// old databases.
fn swap_main_db_with_temp_db(srv: &mut Server, temp: Vec<RedisDb>) -> Vec<RedisDb> {
    let dbnum = srv.db.len();
    // The temp databases sit behind the server's only while this runs, so that SWAPDB's
    // machinery, which works on db indices, can swap each pair.
    srv.db.extend(temp);
    for id in 0..dbnum {
        let _ = crate::db::db_swap_databases(srv, id, dbnum + id);
    }
    let old = srv.db.split_off(dbnum);
    crate::tracking::tracking_invalidate_keys_on_flush(srv, true);
    old
}

/// Redis: disklessLoadDiscardTempDb() -> discardTempDb(dbs, async): databases no longer
/// used are freed in the background (lazyfree.rs, a slice per loop turn).
fn diskless_load_discard_temp_db(srv: &mut Server, dbs: Vec<RedisDb>) {
    let dbnum = srv.db.len();
    // As in swap_main_db_with_temp_db: the lazy free works on db indices.
    srv.db.extend(dbs);
    for id in dbnum..srv.db.len() {
        crate::lazyfree::empty_db_async(srv, id);
    }
    srv.db.truncate(dbnum);
}

// ----------------------------------------------------------------------------------------
// Failures, as Redis 7.0 reports them
// ----------------------------------------------------------------------------------------

/// Redis 7.0's errno after a diskless load stops short: the read limit of a `$<len>`
/// payload (EOVERFLOW), or what a closed connection leaves behind (EAGAIN).
fn short_read_errno(usemark: bool) -> std::io::Error {
    std::io::Error::from_raw_os_error(if usemark { libc::EAGAIN } else { libc::EOVERFLOW })
}

/// Redis: rdbReportError() in a diskless load, then readSyncBulkPayload()'s line. Read
/// errors (a stream that ends early, an unknown type byte, a bad header) are logged and
/// the sync is retried; corruption ends the process, as Redis 7.0 does.
fn report_load_failure(srv: &Server, failure: &LoadFailure, usemark: bool) {
    let err = match failure {
        LoadFailure::EofMarkBroken => return,
        LoadFailure::Rdb(err) => err,
    };
    let why = match err {
        // The loader logged "Short read or OOM loading DB ...".
        RdbError::ShortRead { .. } => {
            log_unexpected_eof(srv);
            strerror(&short_read_errno(usemark))
        }
        // A bad signature or version (EINVAL), already logged.
        RdbError::Io { err, .. } => strerror(err),
        RdbError::Corrupt { reason, .. } if reason.starts_with("Unknown RDB encoding type") => {
            log::warn!(
                "Internal error in RDB reading offset {}, function at rdb.c:2673 -> {}. Failure loading rdb format from socket, assuming connection error, resuming operation.",
                srv.loading_loaded_bytes,
                reason
            );
            log::warn!("Short read or OOM loading DB. Unrecoverable error, aborting now.");
            log_unexpected_eof(srv);
            strerror(&std::io::Error::from_raw_os_error(libc::EINPROGRESS))
        }
        RdbError::Corrupt { .. } => terminate(&format!("{err}. Failure loading rdb format")),
        RdbError::Checksum { .. } => terminate(&format!(
            "Internal error in RDB reading offset {}, function at rdb.c:3217 -> RDB CRC error. Failure loading rdb format",
            srv.loading_loaded_bytes
        )),
        RdbError::Unsupported { reason, .. } => {
            log::warn!("{}", reason);
            std::process::exit(1);
        }
    };
    log::warn!("Failed trying to load the MASTER synchronization DB from socket: {}", why);
}

/// rdbLoadRio()'s `eoferr:` report in a diskless load.
fn log_unexpected_eof(srv: &Server) {
    log::warn!(
        "Internal error in RDB reading offset {}, function at rdb.c:3241 -> Unexpected EOF reading RDB file. Failure loading rdb format from socket, assuming connection error, resuming operation.",
        srv.loading_loaded_bytes
    );
}

/// Redis: rdbReportError()'s corruption exit.
fn terminate(line: &str) -> ! {
    log::warn!("{}", line);
    log::warn!("Terminating server after rdb file reading failure.");
    std::process::exit(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ReplDisklessLoad;
    use crate::object::{RObj, StrValue, Value};
    use crate::test_support::test_server;

    fn set(srv: &mut Server, db: usize, key: &str, val: &str) {
        srv.db[db].db_add(key.as_bytes(), RObj::new(Value::Str(StrValue::encode(val.as_bytes())), 0));
    }

    /// An RDB of `srv`'s data, as a master would send it.
    fn rdb_of(srv: &Server) -> Vec<u8> {
        let mut rio = Rio::new(Vec::new());
        crate::rdb::save::rdb_save_rio(&mut rio, srv, 0, None).expect("save");
        rio.into_inner()
    }

    #[test]
    fn the_mode_follows_the_config_and_on_empty_db_needs_an_empty_server() {
        let mut srv = test_server();
        assert_eq!(use_diskless_load(&srv), None);
        srv.config.repl_diskless_load = ReplDisklessLoad::OnEmptyDb;
        assert_eq!(use_diskless_load(&srv), Some(DisklessMode::OnEmptyDb));
        set(&mut srv, 3, "k", "v");
        assert_eq!(use_diskless_load(&srv), None, "a key in any db means the disk path");
        srv.config.repl_diskless_load = ReplDisklessLoad::Swapdb;
        assert_eq!(use_diskless_load(&srv), Some(DisklessMode::Swapdb));
    }

    #[test]
    fn the_buffer_is_presized_only_up_to_the_cap_and_grows_with_data() {
        let mut load = DisklessLoad::new(DisklessMode::Swapdb);
        load.expect_size(i64::MAX);
        assert!(load.payload.capacity() <= PREALLOC_CAP);
        load.expect_size(-5);
        load.append(b"REDIS").expect("append");
        load.append(b"0010").expect("append");
        assert_eq!(load.received(), 9);
        assert_eq!(format!("{load:?}"), "DisklessLoad(Swapdb, Waiting, 9 bytes)");
    }

    #[test]
    fn a_payload_loads_into_temp_dbs_and_the_swap_keeps_db_indices() {
        let mut master = test_server();
        set(&mut master, 0, "a", "1");
        set(&mut master, 5, "b", "2");
        let payload = rdb_of(&master);
        let mut srv = test_server();
        set(&mut srv, 0, "old", "x");
        let mut temp = diskless_load_init_temp_db(&srv);
        let rsi = rdb_load_payload(&mut srv, &payload, None, Some(&mut temp)).expect("loads");
        assert_eq!(rsi.repl_stream_db, -1);
        assert!(srv.db[0].dict.get(&b"old"[..]).is_some(), "clients still see the old data");
        assert_eq!((temp[0].dict.len(), temp[5].dict.len()), (1, 1));
        let old = swap_main_db_with_temp_db(&mut srv, temp);
        assert_eq!(srv.db.len(), old.len());
        assert!(srv.db[0].dict.get(&b"a"[..]).is_some() && srv.db[5].dict.get(&b"b"[..]).is_some());
        assert!(srv.db[0].dict.get(&b"old"[..]).is_none());
        assert!(srv.db.iter().enumerate().all(|(i, db)| db.id == i));
        assert!(old[0].dict.get(&b"old"[..]).is_some());
        diskless_load_discard_temp_db(&mut srv, old);
        assert_eq!(srv.db.len(), 16);
    }

    #[test]
    fn the_eof_mark_must_follow_the_rdb_exactly() {
        let master = test_server();
        let rdb = rdb_of(&master);
        let mark = [b'z'; CONFIG_RUN_ID_SIZE];
        let mut good = rdb.clone();
        good.extend_from_slice(&mark);
        let mut srv = test_server();
        assert!(rdb_load_payload(&mut srv, &good, Some(mark), None).is_ok());
        let mut trailing = rdb.clone();
        trailing.extend_from_slice(b"junk");
        trailing.extend_from_slice(&mark);
        assert!(matches!(rdb_load_payload(&mut srv, &trailing, Some(mark), None), Err(LoadFailure::EofMarkBroken)));
        assert!(matches!(rdb_load_payload(&mut srv, &rdb, Some(mark), None), Err(LoadFailure::EofMarkBroken)));
    }

    #[test]
    fn a_truncated_payload_is_a_short_read_and_the_old_data_stays() {
        let mut master = test_server();
        set(&mut master, 0, "a", "1");
        let payload = rdb_of(&master);
        let mut srv = test_server();
        set(&mut srv, 0, "old", "x");
        let mut temp = diskless_load_init_temp_db(&srv);
        let cut = &payload[..payload.len() - 12];
        let err = rdb_load_payload(&mut srv, cut, None, Some(&mut temp)).expect_err("truncated");
        assert!(matches!(err, LoadFailure::Rdb(RdbError::ShortRead { .. })), "{err:?}");
        assert!(srv.db[0].dict.get(&b"old"[..]).is_some());
        assert_eq!(strerror(&short_read_errno(false)), "Value too large for defined data type");
        assert_eq!(strerror(&short_read_errno(true)), "Resource temporarily unavailable");
    }
}

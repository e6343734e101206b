//! The RDB reader: every type and encoding Redis 7.0 can load, old ones included.
//!
//! Redis: rdb.c, the rdbLoad* half. Runs inline at start-up (load_data_from_disk), for DEBUG
//! RELOAD and, later, on a replica after a full sync; the event loop is served every 2 MB so
//! clients get -LOADING instead of a frozen server.
//!
//! CONTRACT (being implemented): the signatures below are what background.rs, cluster.rs
//! (RESTORE), startup.rs and replication build on.

use std::io::Read;

use super::{RdbError, RdbSaveInfo};
use crate::object::RObj;
use crate::rio::Rio;
use crate::server::Server;

/// Redis: rdbLoad()'s three outcomes.
#[derive(Debug)]
pub enum RdbLoadError {
    /// Redis: RDB_NOT_EXIST: no file (a fresh server starts empty).
    NotExist,
    /// Redis: RDB_FAILED, with the reason for the log.
    Failed(RdbError),
}

/// Redis: rdbLoadObjectType(): the next type byte, refused unless it is a value type.
pub fn rdb_load_object_type<R: Read>(rdb: &mut Rio<R>) -> Result<u8, RdbError> {
    let _ = rdb;
    Err(RdbError::Unsupported { offset: 0, reason: "rdb loader not yet built".into() })
}

/// Redis: rdbLoadObject(): the value of type `rdbtype`, converted to the encoding this
/// server's config asks for. `Ok(None)` is an empty aggregate Redis skips with a warning.
pub fn rdb_load_object<R: Read>(
    rdbtype: u8,
    rdb: &mut Rio<R>,
    key: &[u8],
    srv: &Server,
) -> Result<Option<RObj>, RdbError> {
    let _ = (rdbtype, rdb, key, srv);
    Err(RdbError::Unsupported { offset: 0, reason: "rdb loader not yet built".into() })
}

/// Redis: rdbLoadRio(): a whole RDB stream into the server's databases.
pub fn rdb_load_rio<R: Read>(
    rdb: &mut Rio<R>,
    srv: &mut Server,
    rdbflags: u32,
    rsi: &mut RdbSaveInfo,
) -> Result<(), RdbError> {
    let _ = (rdb, srv, rdbflags, rsi);
    Err(RdbError::Unsupported { offset: 0, reason: "rdb loader not yet built".into() })
}

/// Redis: rdbLoad(): opens `filename`, wraps it in start_loading/stop_loading and loads it.
pub fn rdb_load(srv: &mut Server, filename: &str, rsi: &mut RdbSaveInfo, rdbflags: u32) -> Result<(), RdbLoadError> {
    let _ = (srv, filename, rsi, rdbflags);
    Err(RdbLoadError::Failed(RdbError::Unsupported { offset: 0, reason: "rdb loader not yet built".into() }))
}

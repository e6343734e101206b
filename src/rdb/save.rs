//! The RDB writer: every value type and encoding as Redis 7.0 writes it.
//!
//! Redis: rdb.c, the rdbSave* half. Runs inline for SAVE and DEBUG RELOAD, in the fork()ed
//! child for BGSAVE, and into a buffer for DUMP.
//!
//! CONTRACT (being implemented): the signatures below are what background.rs, cluster.rs
//! (DUMP) and replication build on.

use std::io::{self, Write};

use super::RdbSaveInfo;
use crate::object::RObj;
use crate::rio::Rio;
use crate::server::Server;

/// Redis: rdbSaveObjectType(): the type byte of `o` (RDB_TYPE_*).
pub fn rdb_save_object_type<W: Write>(rdb: &mut Rio<W>, o: &RObj) -> io::Result<()> {
    let _ = (rdb, o);
    Err(io::Error::new(io::ErrorKind::Unsupported, "rdb writer not yet built"))
}

/// Redis: rdbSaveObject(): the value's payload after its type byte; returns bytes written.
pub fn rdb_save_object<W: Write>(rdb: &mut Rio<W>, o: &RObj, rdbcompression: bool) -> io::Result<usize> {
    let _ = (rdb, o, rdbcompression);
    Err(io::Error::new(io::ErrorKind::Unsupported, "rdb writer not yet built"))
}

/// Redis: rdbSaveRio(): the whole file (magic, aux fields, every db, EOF, checksum).
pub fn rdb_save_rio<W: Write>(
    rdb: &mut Rio<W>,
    srv: &Server,
    rdbflags: u32,
    rsi: Option<&RdbSaveInfo>,
) -> io::Result<()> {
    let _ = (rdb, srv, rdbflags, rsi);
    Err(io::Error::new(io::ErrorKind::Unsupported, "rdb writer not yet built"))
}

/// Redis: rdbSave(): writes temp-<pid>.rdb in the working directory, fsyncs, renames it over
/// `filename`, logs "DB saved on disk" and, on success, resets `dirty` and sets `lastsave`.
pub fn rdb_save(srv: &mut Server, filename: &str, rsi: Option<&RdbSaveInfo>, rdbflags: u32) -> io::Result<()> {
    let _ = (srv, filename, rsi, rdbflags);
    Err(io::Error::new(io::ErrorKind::Unsupported, "rdb writer not yet built"))
}

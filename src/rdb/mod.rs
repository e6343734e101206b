//! RDB persistence: the file format shared by SAVE, BGSAVE, start-up loading, DUMP/RESTORE
//! and the replication full sync.
//!
//! Redis: rdb.c / rdb.h, split by concern:
//! - this file: the format's constants (opcodes, value types, length and string encodings,
//!   the flags callers pass) and the error type the loader returns;
//! - [`save`]: the writer (rdbSave*, rdbSaveRio, rdbSave to a file);
//! - [`load`]: the reader (rdbLoad*, rdbLoadRio, rdbLoad from a file), including the legacy
//!   encodings Redis 7.0 still reads (ziplist, zipmap, quicklist v1, stream listpacks v1);
//! - [`background`]: SAVE / BGSAVE / LASTSAVE, the fork()ed child and how the parent learns
//!   its fate from server_cron (rdbSaveBackground, backgroundSaveDoneHandler, checkChildrenDone).
//!
//! The bytes go through [`crate::rio::Rio`], which keeps the CRC-64 the file ends with.

pub mod background;
pub mod load;
pub mod save;

use std::fmt;

/// Redis: RDB_VERSION. Loaders accept 1..=RDB_VERSION.
pub const RDB_VERSION: u32 = 10;

// Value types (Redis: RDB_TYPE_*). 7.0 writes STRING, SET, HASH, ZSET_2, SET_INTSET,
// HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 and STREAM_LISTPACKS_2; it reads them all.
pub const RDB_TYPE_STRING: u8 = 0;
pub const RDB_TYPE_LIST: u8 = 1;
pub const RDB_TYPE_SET: u8 = 2;
pub const RDB_TYPE_ZSET: u8 = 3;
pub const RDB_TYPE_HASH: u8 = 4;
pub const RDB_TYPE_ZSET_2: u8 = 5;
pub const RDB_TYPE_MODULE: u8 = 6;
pub const RDB_TYPE_MODULE_2: u8 = 7;
pub const RDB_TYPE_HASH_ZIPMAP: u8 = 9;
pub const RDB_TYPE_LIST_ZIPLIST: u8 = 10;
pub const RDB_TYPE_SET_INTSET: u8 = 11;
pub const RDB_TYPE_ZSET_ZIPLIST: u8 = 12;
pub const RDB_TYPE_HASH_ZIPLIST: u8 = 13;
pub const RDB_TYPE_LIST_QUICKLIST: u8 = 14;
pub const RDB_TYPE_STREAM_LISTPACKS: u8 = 15;
pub const RDB_TYPE_HASH_LISTPACK: u8 = 16;
pub const RDB_TYPE_ZSET_LISTPACK: u8 = 17;
pub const RDB_TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const RDB_TYPE_STREAM_LISTPACKS_2: u8 = 19;

/// Redis: rdbIsObjectType().
pub fn rdb_is_object_type(t: u8) -> bool {
    t <= 7 || (9..=19).contains(&t)
}

// Opcodes (Redis: RDB_OPCODE_*).
pub const RDB_OPCODE_FUNCTION2: u8 = 245;
pub const RDB_OPCODE_FUNCTION: u8 = 246;
pub const RDB_OPCODE_MODULE_AUX: u8 = 247;
pub const RDB_OPCODE_IDLE: u8 = 248;
pub const RDB_OPCODE_FREQ: u8 = 249;
pub const RDB_OPCODE_AUX: u8 = 250;
pub const RDB_OPCODE_RESIZEDB: u8 = 251;
pub const RDB_OPCODE_EXPIRETIME_MS: u8 = 252;
pub const RDB_OPCODE_EXPIRETIME: u8 = 253;
pub const RDB_OPCODE_SELECTDB: u8 = 254;
pub const RDB_OPCODE_EOF: u8 = 255;

// Length encoding (Redis: RDB_6BITLEN ... RDB_ENCVAL).
pub const RDB_6BITLEN: u8 = 0;
pub const RDB_14BITLEN: u8 = 1;
pub const RDB_32BITLEN: u8 = 0x80;
pub const RDB_64BITLEN: u8 = 0x81;
pub const RDB_ENCVAL: u8 = 3;

// Special string encodings after an RDB_ENCVAL byte (Redis: RDB_ENC_*).
pub const RDB_ENC_INT8: u8 = 0;
pub const RDB_ENC_INT16: u8 = 1;
pub const RDB_ENC_INT32: u8 = 2;
pub const RDB_ENC_LZF: u8 = 3;

// Quicklist 2 node containers (Redis: QUICKLIST_NODE_CONTAINER_*).
pub const QUICKLIST_NODE_CONTAINER_PLAIN: u64 = 1;
pub const QUICKLIST_NODE_CONTAINER_PACKED: u64 = 2;

// Redis: RDBFLAGS_*: why a save or load runs (it changes logging and expiry handling).
pub const RDBFLAGS_NONE: u32 = 0;
pub const RDBFLAGS_AOF_PREAMBLE: u32 = 1 << 0;
pub const RDBFLAGS_REPLICATION: u32 = 1 << 1;
pub const RDBFLAGS_ALLOW_DUP: u32 = 1 << 2;
pub const RDBFLAGS_KEEP_CACHE: u32 = 1 << 3;

/// Redis: rdbSaveInfo: the replication state stored in (and restored from) the aux fields
/// repl-stream-db, repl-id and repl-offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdbSaveInfo {
    /// The db selected in the replication stream, or -1 when unknown.
    pub repl_stream_db: i32,
    /// Whether repl_id / repl_offset were found in (or are to be written to) the file.
    pub repl_id_is_set: bool,
    pub repl_id: [u8; 40],
    pub repl_offset: i64,
}

impl Default for RdbSaveInfo {
    /// Redis: RDB_SAVE_INFO_INIT.
    fn default() -> Self {
        RdbSaveInfo { repl_stream_db: -1, repl_id_is_set: false, repl_id: [b'0'; 40], repl_offset: -1 }
    }
}

/// Why loading failed. Every variant says what the log line will say; `offset` is how far
/// into the stream the loader had read.
#[derive(Debug)]
pub enum RdbError {
    /// The file or payload ended early (Redis: "Short read or OOM loading DB").
    ShortRead { offset: u64 },
    /// I/O failed for another reason.
    Io { offset: u64, err: std::io::Error },
    /// The bytes are not a valid RDB (bad magic, unknown type, bad encoding, failed
    /// integrity check ...). `reason` is the human text of the log line.
    Corrupt { offset: u64, reason: String },
    /// Redis: "Wrong RDB checksum expected: (%llx) but got (%llx)".
    Checksum { expected: u64, got: u64 },
    /// Valid, but something this server refuses (module data, functions, a db index beyond
    /// `databases`, a duplicated key ...).
    Unsupported { offset: u64, reason: String },
}

impl fmt::Display for RdbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RdbError::ShortRead { offset } => {
                write!(f, "Short read or OOM loading DB (at offset {offset})")
            }
            RdbError::Io { offset, err } => write!(f, "I/O error at offset {offset}: {err}"),
            RdbError::Corrupt { offset, reason } => {
                write!(f, "Internal error in RDB reading offset {offset}: {reason}")
            }
            RdbError::Checksum { expected, got } => {
                write!(f, "Wrong RDB checksum expected: ({expected:x}) but got ({got:x})")
            }
            RdbError::Unsupported { offset, reason } => write!(f, "{reason} (at offset {offset})"),
        }
    }
}

impl std::error::Error for RdbError {}

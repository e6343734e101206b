//! The shape of a command table entry: Redis's `struct redisCommand` and its key specs
//! (server.h). The table itself is generated data in `commands.rs`; the functions that run
//! each command are bound to it by name in `command_procs.rs`.

use crate::networking::Client;
use crate::server::Server;

/// Redis: server.h redisCommandProc.
pub type CommandProc = fn(&mut Server, &mut Client);

// Redis: server.h CMD_* command flags. The bit values are ours; COMMAND INFO prints the names
// in Redis's order (see `command.rs`).
pub const CMD_WRITE: u64 = 1 << 0;
pub const CMD_READONLY: u64 = 1 << 1;
pub const CMD_DENYOOM: u64 = 1 << 2;
pub const CMD_MODULE: u64 = 1 << 3;
pub const CMD_ADMIN: u64 = 1 << 4;
pub const CMD_PUBSUB: u64 = 1 << 5;
pub const CMD_NOSCRIPT: u64 = 1 << 6;
pub const CMD_BLOCKING: u64 = 1 << 8;
pub const CMD_LOADING: u64 = 1 << 9;
pub const CMD_STALE: u64 = 1 << 10;
pub const CMD_SKIP_MONITOR: u64 = 1 << 11;
pub const CMD_SKIP_SLOWLOG: u64 = 1 << 12;
pub const CMD_ASKING: u64 = 1 << 13;
pub const CMD_FAST: u64 = 1 << 14;
pub const CMD_NO_AUTH: u64 = 1 << 15;
pub const CMD_MAY_REPLICATE: u64 = 1 << 16;
pub const CMD_SENTINEL: u64 = 1 << 17;
pub const CMD_ONLY_SENTINEL: u64 = 1 << 18;
pub const CMD_NO_MANDATORY_KEYS: u64 = 1 << 19;
pub const CMD_PROTECTED: u64 = 1 << 20;
pub const CMD_MODULE_GETKEYS: u64 = 1 << 21;
pub const CMD_MODULE_NO_CLUSTER: u64 = 1 << 22;
pub const CMD_NO_ASYNC_LOADING: u64 = 1 << 23;
pub const CMD_NO_MULTI: u64 = 1 << 24;
pub const CMD_MOVABLE_KEYS: u64 = 1 << 25;
pub const CMD_ALLOW_BUSY: u64 = 1 << 26;
pub const CMD_MODULE_GETCHANNELS: u64 = 1 << 27;

// Redis: server.h ACL_CATEGORY_* (bit order = acl.c ACLCommandCategories order).
pub const ACL_CATEGORY_KEYSPACE: u64 = 1 << 0;
pub const ACL_CATEGORY_READ: u64 = 1 << 1;
pub const ACL_CATEGORY_WRITE: u64 = 1 << 2;
pub const ACL_CATEGORY_SET: u64 = 1 << 3;
pub const ACL_CATEGORY_SORTEDSET: u64 = 1 << 4;
pub const ACL_CATEGORY_LIST: u64 = 1 << 5;
pub const ACL_CATEGORY_HASH: u64 = 1 << 6;
pub const ACL_CATEGORY_STRING: u64 = 1 << 7;
pub const ACL_CATEGORY_BITMAP: u64 = 1 << 8;
pub const ACL_CATEGORY_HYPERLOGLOG: u64 = 1 << 9;
pub const ACL_CATEGORY_GEO: u64 = 1 << 10;
pub const ACL_CATEGORY_STREAM: u64 = 1 << 11;
pub const ACL_CATEGORY_PUBSUB: u64 = 1 << 12;
pub const ACL_CATEGORY_ADMIN: u64 = 1 << 13;
pub const ACL_CATEGORY_FAST: u64 = 1 << 14;
pub const ACL_CATEGORY_SLOW: u64 = 1 << 15;
pub const ACL_CATEGORY_BLOCKING: u64 = 1 << 16;
pub const ACL_CATEGORY_DANGEROUS: u64 = 1 << 17;
pub const ACL_CATEGORY_CONNECTION: u64 = 1 << 18;
pub const ACL_CATEGORY_TRANSACTION: u64 = 1 << 19;
pub const ACL_CATEGORY_SCRIPTING: u64 = 1 << 20;

// Redis: server.h CMD_KEY_* key-spec flags.
pub const CMD_KEY_RO: u64 = 1 << 0;
pub const CMD_KEY_RW: u64 = 1 << 1;
pub const CMD_KEY_OW: u64 = 1 << 2;
pub const CMD_KEY_RM: u64 = 1 << 3;
pub const CMD_KEY_ACCESS: u64 = 1 << 4;
pub const CMD_KEY_UPDATE: u64 = 1 << 5;
pub const CMD_KEY_INSERT: u64 = 1 << 6;
pub const CMD_KEY_DELETE: u64 = 1 << 7;
pub const CMD_KEY_NOT_KEY: u64 = 1 << 8;
pub const CMD_KEY_INCOMPLETE: u64 = 1 << 9;
pub const CMD_KEY_VARIABLE_FLAGS: u64 = 1 << 10;

/// Redis: server.h keySpec begin_search.
#[derive(Debug, Clone, Copy)]
pub enum BeginSearch {
    Index(i32),
    Keyword { keyword: &'static str, startfrom: i32 },
    Unknown,
}

/// Redis: server.h keySpec find_keys.
#[derive(Debug, Clone, Copy)]
pub enum FindKeys {
    Range { lastkey: i32, keystep: i32, limit: i32 },
    Keynum { keynumidx: i32, firstkey: i32, keystep: i32 },
    Unknown,
}

/// Redis: server.h keySpec.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub notes: &'static str,
    pub flags: u64,
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

/// Redis: server.h struct redisCommand, the static part (what commands.c holds).
#[derive(Debug)]
pub struct CommandDef {
    /// Lower case; a subcommand's own name (e.g. "get" under "config").
    pub name: &'static str,
    pub group: &'static str,
    pub since: &'static str,
    pub arity: i32,
    pub flags: u64,
    pub acl_categories: u64,
    pub tips: &'static [&'static str],
    pub key_specs: &'static [KeySpec],
    pub subcommands: &'static [CommandDef],
}

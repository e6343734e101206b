//! ferredis: a Redis 7.0-compatible server whose modules mirror Redis's source files.
//!
//! Layout (each module names its Redis counterpart in its header; docs/architecture.md has
//! the full map):
//! - `ae` — the event loop (ae.c), `anet` — sockets (anet.c)
//! - `server`, `startup`, `server_cmds` — global state, main(), cron, dispatch (server.c)
//! - `networking`, `reply`, `client` — clients, query parsing, replies (networking.c)
//! - `command_def`, `commands`, `command_table`, `command_procs`, `command` — the command
//!   table (server.h, commands.c) and the COMMAND command
//! - `config` — configuration (config.c)
//! - `dict`, `siphash` — the hash table (dict.c, siphash.c)
//! - `db`, `expire`, `object` — keyspace, expiry, values (db.c, expire.c, object.c)
//! - `t_string`, `bitops` — strings (t_string.c, bitops.c)
//! - `util`, `sha1`, `zmalloc`, `server_log` — helpers (util.c, sha1.c, zmalloc.c, serverLog)

pub mod ae;
pub mod anet;
pub mod bitops;
pub mod blocked;
pub mod command;
pub mod command_def;
pub mod command_procs;
pub mod command_table;
pub mod commands;
pub mod config;
pub mod config_command;
pub mod db;
pub mod debug;
pub mod dict;
pub mod expire;
pub mod info;
pub mod keyspec;
pub mod lzf;
pub mod networking;
pub mod object;
pub mod reply;
pub mod server;
pub mod server_cmds;
pub mod server_log;
pub mod sha1;
pub mod siphash;
pub mod startup;
pub mod t_hash;
pub mod t_list;
pub mod t_set;
pub mod t_stream;
pub mod t_string;
pub mod t_zset;
#[cfg(test)]
pub mod test_support;
pub mod util;
pub mod zmalloc;
pub mod client;
pub mod hdr_histogram;

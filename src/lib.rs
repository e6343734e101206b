//! ferredis: a Redis 7.0-compatible server whose modules mirror Redis's source files.
//!
//! Layout (each module names its Redis counterpart in its header; docs/architecture.md has
//! the full map):
//! - `ae` — the event loop (ae.c), `anet` — sockets (anet.c)
//! - `startup` — main() (server.c); `server`, `server_cmds` — global state, cron, dispatch,
//!   server commands (server.c); `info` — INFO (server.c genRedisInfoString)
//! - `networking`, `reply`, `client` — clients, query parsing, replies, CLIENT (networking.c)
//! - `blocked` — blocking operations (blocked.c); `multi` — transactions (multi.c)
//! - `pubsub`, `notify` — Pub/Sub and keyspace events (pubsub.c, notify.c)
//! - `tracking` — client-side caching: CLIENT TRACKING and invalidations (tracking.c)
//! - `command_def`, `commands`, `command_table`, `command_procs`, `command`, `keyspec` — the
//!   command table (server.h, commands.c), COMMAND and key extraction (server.c, db.c)
//! - `config`, `config_command` — configuration and CONFIG (config.c)
//! - `dict`, `siphash` — the hash table (dict.c, siphash.c)
//! - `db`, `expire`, `object` — keyspace, expiry, values, OBJECT/MEMORY (db.c, expire.c, object.c)
//! - `lazyfree` — UNLINK / FLUSHALL ASYNC values freed a slice per loop turn (lazyfree.c)
//! - `t_string`, `bitops`, `t_list`, `t_hash`, `t_set`, `t_zset`, `t_stream` — the data types
//!   (t_*.c, bitops.c) and their encodings (listpack.c, intset.c, ...); `stream` — the
//!   stream's nodes, iterator and consumer groups (stream.h, the low half of t_stream.c)
//! - `sort` — SORT / SORT_RO (sort.c, pqsort.c)
//! - `rdb`, `rio`, `crc64` — RDB files: writer, loader, SAVE/BGSAVE (rdb.c, rio.c, crc64.c)
//! - `replication` — the write stream, backlog and replication (replication.c)
//! - `debug` — DEBUG (debug.c); `lzf`, `hdr_histogram` — helpers of debug and INFO
//! - `util`, `sha1`, `zmalloc`, `server_log` — helpers (util.c, sha1.c, zmalloc.c, serverLog)

pub mod ae;
pub mod anet;
pub mod bitops;
pub mod blocked;
pub mod childinfo;
pub mod cluster;
pub mod command;
pub mod command_def;
pub mod command_procs;
pub mod command_table;
pub mod commands;
pub mod config;
pub mod config_command;
pub mod crc64;
pub mod db;
pub mod debug;
pub mod dict;
pub mod evict;
pub mod expire;
pub mod info;
pub mod intset;
pub mod keyspec;
pub mod latency;
pub mod lazyfree;
pub mod listpack;
pub mod lzf;
pub mod multi;
pub mod networking;
pub mod notify;
pub mod object;
pub mod quicklist;
pub mod pubsub;
pub mod rdb;
pub mod redis_check_rdb;
pub mod replication;
pub mod reply;
pub mod rio;
pub mod sds;
pub mod server;
pub mod shutdown;
pub mod server_cmds;
pub mod server_log;
pub mod sha1;
pub mod siphash;
pub mod slowlog;
pub mod sort;
pub mod sparkline;
pub mod startup;
pub mod stream;
pub mod t_hash;
pub mod t_list;
pub mod t_set;
pub mod t_stream;
pub mod t_string;
pub mod t_zset;
pub mod tracking;
#[cfg(test)]
pub mod test_support;
pub mod util;
pub mod zmalloc;
pub mod zset_listpack;
pub mod zskiplist;
pub mod client;
pub mod hdr_histogram;
pub mod ziplist;
pub mod zipmap;

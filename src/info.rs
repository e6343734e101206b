//! The INFO command: Redis's server.c genRedisInfoString() and infoCommand().
//!
//! INFO builds one text of `# Section` blocks of `field:value` lines (CRLF line ends, a blank
//! line between blocks) with the field names, order and number formats of Redis 7.0.15, so
//! tools that parse Redis's INFO parse ours. Features this server does not have yet (RDB,
//! AOF, replicas, scripting, modules) print what Redis prints for an instance that never
//! saved, has no replicas and runs no scripts. Runs inside the command, on the event loop
//! thread; it only reads state (plus Redis's peak-memory refresh).

use std::collections::HashSet;
use std::fmt::{Display, Write as _};
use std::sync::OnceLock;

use crate::networking::{Client, CLIENT_BLOCKED, CLIENT_MONITOR, CLIENT_SLAVE};
use crate::server::{self, Metric, Server, REDIS_VERSION};
use crate::zmalloc;

/// Redis: genInfoSectionDict()'s default_sections: what INFO and INFO default show.
const DEFAULT_SECTIONS: &[&str] = &[
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "module_list",
    "errorstats", "cluster", "keyspace",
];

/// Redis's sizes behind getMemoryOverheadData()'s estimates (64-bit build).
const SIZEOF_DICT_ENTRY: usize = 24;
const SIZEOF_POINTER: usize = 8;
const SIZEOF_ROBJ: usize = 16;

/// Redis: the section dict plus the all/everything flags of genInfoSectionDict().
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InfoSections {
    /// Requested section names, lower-cased (Redis's section dict is case-insensitive).
    pub names: HashSet<String>,
    pub all: bool,
    pub everything: bool,
}

impl InfoSections {
    fn wants(&self, section: &str) -> bool {
        if self.all {
            return true;
        }
        match section {
            // The Modules header answers to both names (Redis: "module_list" is the default).
            "modules" => self.names.contains("modules") || self.names.contains("module_list"),
            name => self.names.contains(name),
        }
    }
}

/// Redis: server.c genInfoSectionDict(). No argument means the default sections; "default",
/// "all" and "everything" are keywords; any other word names a section (unknown ones simply
/// match nothing).
pub fn gen_info_section_dict(args: &[&[u8]]) -> InfoSections {
    let mut sections = InfoSections::default();
    let defaults = || DEFAULT_SECTIONS.iter().map(|s| s.to_string());
    if args.is_empty() {
        sections.names.extend(defaults());
        return sections;
    }
    for arg in args {
        let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
        match name.as_str() {
            "default" => sections.names.extend(defaults()),
            "all" => sections.all = true,
            "everything" => {
                sections.everything = true;
                sections.all = true;
            }
            _ => {
                sections.names.insert(name);
            }
        }
    }
    sections
}

/// Redis: server.c infoCommand(): the text as a verbatim string ("txt") in RESP3.
pub fn info_command(srv: &mut Server, c: &mut Client) {
    let args: Vec<&[u8]> = c.argv.iter().skip(1).collect();
    let sections = gen_info_section_dict(&args);
    let text = gen_redis_info_string(srv, &sections);
    c.reply.add_reply_verbatim(text.as_bytes(), "txt");
}

type SectionWriter = fn(&mut Server, &mut String);

/// The sections in the order Redis prints them.
const SECTIONS: &[(&str, SectionWriter)] = &[
    ("server", section_server),
    ("clients", section_clients),
    ("memory", section_memory),
    ("persistence", section_persistence),
    ("stats", section_stats),
    ("replication", section_replication),
    ("cpu", section_cpu),
    ("modules", section_modules),
    ("commandstats", section_commandstats),
    ("errorstats", section_errorstats),
    ("latencystats", section_latencystats),
    ("cluster", section_cluster),
    ("keyspace", section_keyspace),
];

/// Redis: server.c genRedisInfoString(). Module-provided sections would follow for
/// "everything"; there are no modules, so there is nothing more to add.
pub fn gen_redis_info_string(srv: &mut Server, sections: &InfoSections) -> String {
    let mut out = String::new();
    let mut written = 0;
    for (name, write_section) in SECTIONS {
        if !sections.wants(name) {
            continue;
        }
        if written > 0 {
            out.push_str("\r\n");
        }
        written += 1;
        write_section(srv, &mut out);
    }
    out
}

/// One `name:value` line.
fn field(out: &mut String, name: &str, value: impl Display) {
    let _ = write!(out, "{}:{}\r\n", name, value);
}

/// `%.2f` of a value Redis computes in single precision.
fn f2(value: f32) -> String {
    format!("{:.2}", value)
}

fn header(out: &mut String, title: &str) {
    let _ = write!(out, "# {}\r\n", title);
}

// ----------------------------------------------------------------------------------------
// Server, Clients
// ----------------------------------------------------------------------------------------

fn section_server(srv: &mut Server, out: &mut String) {
    let uptime = srv.unixtime - srv.stat_starttime;
    header(out, "Server");
    field(out, "redis_version", REDIS_VERSION);
    field(out, "redis_git_sha1", "00000000");
    field(out, "redis_git_dirty", 0);
    field(out, "redis_build_id", build_id());
    field(out, "redis_mode", if srv.config.cluster_enabled { "cluster" } else { "standalone" });
    field(out, "os", uname_string());
    field(out, "arch_bits", usize::BITS);
    field(out, "monotonic_clock", "POSIX clock_gettime");
    field(out, "multiplexing_api", "epoll");
    field(out, "atomicvar_api", "c11-builtin");
    // Redis prints 0.0.0 when not built by GCC, which is our case.
    field(out, "gcc_version", "0.0.0");
    field(out, "process_id", srv.pid);
    // Supervision (systemd/upstart notifications) is not implemented: never supervised.
    field(out, "process_supervised", "no");
    field(out, "run_id", &srv.runid);
    field(out, "tcp_port", srv.config.port);
    field(out, "server_time_usec", srv.ustime);
    field(out, "uptime_in_seconds", uptime);
    field(out, "uptime_in_days", uptime / (3600 * 24));
    field(out, "hz", srv.hz);
    field(out, "configured_hz", srv.config.hz);
    field(out, "lru_clock", srv.lru_clock);
    field(out, "executable", &srv.executable);
    field(out, "config_file", srv.configfile.as_deref().unwrap_or(""));
    field(out, "io_threads_active", 0);
    if srv.shutdown.initiated() {
        field(out, "shutdown_in_milliseconds", srv.shutdown.deadline_ms - srv.mstime);
    }
}

/// Redis: redisBuildIdString(), a hex digest of the build. Ours hashes the crate version
/// (FNV-1a): stable for one build, different across versions, as Redis's is.
fn build_id() -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in concat!("ferredis-", env!("CARGO_PKG_VERSION")).bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:x}", hash)
}

/// "sysname release machine" from uname(2), computed once as Redis caches it.
fn uname_string() -> &'static str {
    static UNAME: OnceLock<String> = OnceLock::new();
    UNAME.get_or_init(|| {
        // SAFETY: utsname is plain old data; uname fills it or fails leaving it zeroed.
        let mut name: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: `name` is a valid, writable utsname.
        unsafe { libc::uname(&mut name) };
        let text = |field: &[libc::c_char]| -> String {
            let bytes: Vec<u8> = field.iter().take_while(|&&b| b != 0).map(|&b| b as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        };
        format!("{} {} {}", text(&name.sysname), text(&name.release), text(&name.machine))
    })
}

fn section_clients(srv: &mut Server, out: &mut String) {
    let (max_in, max_out) = expansive_clients_info(srv);
    let blocked = srv.clients.iter().flatten().filter(|c| c.flags & CLIENT_BLOCKED != 0).count();
    header(out, "Clients");
    field(out, "connected_clients", srv.clients_count().saturating_sub(connected_replicas(srv)));
    field(out, "cluster_connections", 0);
    field(out, "maxclients", srv.config.maxclients);
    field(out, "client_recent_max_input_buffer", max_in);
    field(out, "client_recent_max_output_buffer", max_out);
    field(out, "blocked_clients", blocked);
    field(out, "tracking_clients", srv.tracking.tracking_clients());
    field(out, "clients_in_timeout_table", crate::blocked::clients_in_timeout_table(srv));
}

/// Redis: getExpansiveClientsInfo(). Redis keeps the peaks of the last seconds from
/// clientsCron; without that history we report the largest buffers held right now.
fn expansive_clients_info(srv: &Server) -> (usize, usize) {
    srv.clients.iter().flatten().fold((0, 0), |(max_in, max_out), c| {
        // Redis: clientsCronTrackExpansiveClients()'s sums.
        let input = crate::sds::sds_zmalloc_size(c.querybuf.len()) + c.argv.len_sum();
        (max_in.max(input), max_out.max(c.reply.output_buffer_memory_usage()))
    })
}

// ----------------------------------------------------------------------------------------
// Memory
// ----------------------------------------------------------------------------------------

/// Redis: object.c struct redisMemOverhead, the parts INFO memory prints.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MemOverhead {
    pub startup_allocated: usize,
    pub repl_backlog: usize,
    pub clients_slaves: usize,
    /// Redis: server.repl_buffer_mem (mem_total_replication_buffers).
    pub replication_buffers: usize,
    pub clients_normal: usize,
    pub overhead_total: usize,
    pub dataset: usize,
    pub peak_perc: f32,
    pub dataset_perc: f32,
}

/// Redis: object.c getMemoryOverheadData(): memory that is not the dataset itself, with
/// Redis's per-entry estimates for the keyspace dicts.
pub fn get_memory_overhead_data(srv: &Server) -> MemOverhead {
    let used = zmalloc::used_memory();
    let mut mh = MemOverhead { startup_allocated: srv.initial_memory_usage, ..MemOverhead::default() };
    replication_buffers_overhead(srv, &mut mh);
    mh.clients_normal = srv
        .clients
        .iter()
        .flatten()
        .filter(|c| c.flags & crate::networking::CLIENT_SLAVE == 0)
        .map(|c| crate::client::get_client_memory_usage(srv, c).0)
        .sum();
    let dbs: usize = srv.db.iter().map(|db| {
        let main = db.dict.len() * (SIZEOF_DICT_ENTRY + SIZEOF_ROBJ) + db.dict.slots() * SIZEOF_POINTER;
        let expires = db.expires.len() * SIZEOF_DICT_ENTRY + db.expires.slots() * SIZEOF_POINTER;
        if db.dict.is_empty() { 0 } else { main + expires }
    }).sum();
    mh.overhead_total = mh.startup_allocated + mh.repl_backlog + mh.clients_slaves + mh.clients_normal + dbs;
    mh.dataset = used.saturating_sub(mh.overhead_total);
    mh.peak_perc = used as f32 * 100.0 / srv.stat_peak_memory.max(1) as f32;
    let net_usage = if used > mh.startup_allocated { used - mh.startup_allocated } else { 1 };
    mh.dataset_perc = mh.dataset as f32 * 100.0 / net_usage as f32;
    mh
}

/// The replication half of getMemoryOverheadData(). Redis 7.0 shares one chain of blocks
/// between the backlog and the replicas (server.repl_buffer_mem) and counts what exceeds
/// repl-backlog-size as the replicas' memory; here the backlog's blocks plus what each
/// replica has not yet been sent (its own copy) stand for that chain, which gives Redis's
/// figures whenever the replicas keep up. Redis adds an estimate of the rax that indexes
/// every 64th block: 4 bytes (one raxNode) while it is empty, a few bytes more per 64
/// blocks after that (not modelled).
fn replication_buffers_overhead(srv: &Server, mh: &mut MemOverhead) {
    let backlog = srv.repl.backlog.as_ref().map_or(0, |b| b.mem_usage());
    let replicas: usize = srv
        .clients
        .iter()
        .flatten()
        .filter(|c| c.flags & crate::networking::CLIENT_SLAVE != 0)
        .map(|c| c.reply.output_buffer_memory_usage())
        .sum();
    mh.replication_buffers = backlog + replicas;
    let backlog_size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(0);
    if !srv.repl.slaves.is_empty() && mh.replication_buffers > backlog_size {
        mh.clients_slaves = mh.replication_buffers - backlog_size;
        mh.repl_backlog = backlog_size;
    } else {
        mh.repl_backlog = mh.replication_buffers;
    }
    const EMPTY_RAX_NODE: usize = 4;
    if srv.repl.backlog.is_some() {
        mh.repl_backlog += EMPTY_RAX_NODE;
    }
}

/// Redis: server.c bytesToHuman(): "100B", "1.02K", "3.50M" ... two decimals from 1K on.
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u32, char); 5] = [(1, 'K'), (2, 'M'), (3, 'G'), (4, 'T'), (5, 'P')];
    if n < 1024 {
        return format!("{}B", n);
    }
    for (power, unit) in UNITS {
        if u128::from(n) < 1u128 << (10 * (power + 1)) {
            return format!("{:.2}{}", n as f64 / (1u64 << (10 * power)) as f64, unit);
        }
    }
    format!("{}B", n)
}

fn human(n: usize) -> String {
    bytes_to_human(n as u64)
}

fn section_memory(srv: &mut Server, out: &mut String) {
    let used = zmalloc::used_memory();
    // Redis refreshes the peak here so that it is never below the current usage.
    srv.stat_peak_memory = srv.stat_peak_memory.max(used);
    let mh = get_memory_overhead_data(srv);
    let rss = zmalloc::get_rss();
    let system = zmalloc::get_memory_size();
    header(out, "Memory");
    field(out, "used_memory", used);
    field(out, "used_memory_human", human(used));
    field(out, "used_memory_rss", rss);
    field(out, "used_memory_rss_human", human(rss));
    field(out, "used_memory_peak", srv.stat_peak_memory);
    field(out, "used_memory_peak_human", human(srv.stat_peak_memory));
    field(out, "used_memory_peak_perc", format!("{}%", f2(mh.peak_perc)));
    field(out, "used_memory_overhead", mh.overhead_total);
    field(out, "used_memory_startup", mh.startup_allocated);
    field(out, "used_memory_dataset", mh.dataset);
    field(out, "used_memory_dataset_perc", format!("{}%", f2(mh.dataset_perc)));
    write_allocator_totals(out, used, rss);
    field(out, "total_system_memory", system);
    field(out, "total_system_memory_human", human(system));
    write_scripting_memory(out);
    field(out, "maxmemory", srv.config.maxmemory);
    field(out, "maxmemory_human", bytes_to_human(srv.config.maxmemory));
    field(out, "maxmemory_policy", srv.config.maxmemory_policy.name());
    write_fragmentation(out, used, rss);
    write_memory_tail(out, &mh, &srv.lazyfree, crate::evict::free_memory_get_not_counted_memory(srv));
}

/// The libc allocator gives no statistics: like Redis's cron, allocated falls back to
/// used_memory and active/resident to the RSS.
fn write_allocator_totals(out: &mut String, used: usize, rss: usize) {
    field(out, "allocator_allocated", used);
    field(out, "allocator_active", rss);
    field(out, "allocator_resident", rss);
}

/// No Lua VM and no functions exist yet, so all of their memory is zero.
fn write_scripting_memory(out: &mut String) {
    for name in ["used_memory_lua", "used_memory_vm_eval"] {
        field(out, name, 0);
    }
    field(out, "used_memory_lua_human", human(0));
    for name in [
        "used_memory_scripts_eval", "number_of_cached_scripts", "number_of_functions",
        "number_of_libraries", "used_memory_vm_functions", "used_memory_vm_total",
    ] {
        field(out, name, 0);
    }
    field(out, "used_memory_vm_total_human", human(0));
    field(out, "used_memory_functions", 0);
    field(out, "used_memory_scripts", 0);
    field(out, "used_memory_scripts_human", human(0));
}

/// Redis: the ratios of getMemoryOverheadData() with allocator active = resident = RSS.
fn write_fragmentation(out: &mut String, used: usize, rss: usize) {
    let ratio = |a: usize, b: usize| f2(a as f32 / b.max(1) as f32);
    let diff = |a: usize, b: usize| a as i64 - b as i64;
    field(out, "allocator_frag_ratio", ratio(rss, used));
    // Redis prints this difference with %zu: a negative one wraps, as there.
    field(out, "allocator_frag_bytes", diff(rss, used) as u64);
    field(out, "allocator_rss_ratio", ratio(rss, rss));
    field(out, "allocator_rss_bytes", 0);
    field(out, "rss_overhead_ratio", ratio(rss, rss));
    field(out, "rss_overhead_bytes", 0);
    field(out, "mem_fragmentation_ratio", ratio(rss, used));
    field(out, "mem_fragmentation_bytes", diff(rss, used));
}

fn write_memory_tail(out: &mut String, mh: &MemOverhead, lazyfree: &crate::lazyfree::LazyFree, not_counted: usize) {
    field(out, "mem_not_counted_for_evict", not_counted);
    field(out, "mem_replication_backlog", mh.repl_backlog);
    field(out, "mem_total_replication_buffers", mh.replication_buffers);
    field(out, "mem_clients_slaves", mh.clients_slaves);
    field(out, "mem_clients_normal", mh.clients_normal);
    field(out, "mem_cluster_links", 0);
    field(out, "mem_aof_buffer", 0);
    field(out, "mem_allocator", crate::zmalloc::allocator_name());
    field(out, "active_defrag_running", 0);
    field(out, "lazyfree_pending_objects", lazyfree.pending_objects());
    field(out, "lazyfreed_objects", lazyfree.freed_objects());
}

// ----------------------------------------------------------------------------------------
// Persistence, Stats
// ----------------------------------------------------------------------------------------

/// An instance that never saved: Redis counts the start as the last save (initServer sets
/// lastsave to the start time) and every other figure is at its initial value.
fn section_persistence(srv: &mut Server, out: &mut String) {
    header(out, "Persistence");
    // Redis: an async load (replica, swapdb) is not reported as loading.
    field(out, "loading", u8::from(srv.loading && !srv.async_loading));
    field(out, "async_loading", u8::from(srv.async_loading));
    write_rdb_save_fields(srv, out);
    field(out, "rdb_last_load_keys_expired", srv.rdb_last_load_keys_expired);
    field(out, "rdb_last_load_keys_loaded", srv.rdb_last_load_keys_loaded);
    field(out, "aof_enabled", u8::from(srv.config.appendonly));
    field(out, "aof_rewrite_in_progress", 0);
    field(out, "aof_rewrite_scheduled", 0);
    field(out, "aof_last_rewrite_time_sec", -1);
    field(out, "aof_current_rewrite_time_sec", -1);
    field(out, "aof_last_bgrewrite_status", "ok");
    field(out, "aof_rewrites", 0);
    field(out, "aof_rewrites_consecutive_failures", 0);
    field(out, "aof_last_write_status", "ok");
    for name in ["aof_last_cow_size", "module_fork_in_progress", "module_fork_last_cow_size"] {
        field(out, name, 0);
    }
    if srv.loading {
        write_loading_fields(srv, out);
    }
}

/// Redis: genRedisInfoString()'s loading progress block, shown only while loading. The
/// percentage is over the file size, or over the used-mem the file recorded when the size
/// is unknown; the ETA extrapolates the time spent so far.
fn write_loading_fields(srv: &Server, out: &mut String) {
    let loaded = srv.loading_loaded_bytes as i64;
    let (mut perc, mut remaining): (f64, i64) = (0.0, 1);
    if srv.loading_total_bytes > 0 {
        perc = loaded as f64 / srv.loading_total_bytes as f64 * 100.0;
        remaining = srv.loading_total_bytes as i64 - loaded;
    } else if srv.loading_rdb_used_mem > 0 {
        perc = (loaded as f64 / srv.loading_rdb_used_mem as f64 * 100.0).min(99.99);
        remaining = (srv.loading_rdb_used_mem as i64 - loaded).max(1);
    }
    let elapsed = crate::util::mstime() / 1000 - srv.loading_start_time;
    let eta = if elapsed == 0 { 1 } else { elapsed.saturating_mul(remaining) / loaded.saturating_add(1) };
    field(out, "loading_start_time", srv.loading_start_time);
    field(out, "loading_total_bytes", srv.loading_total_bytes);
    field(out, "loading_rdb_used_mem", srv.loading_rdb_used_mem);
    field(out, "loading_loaded_bytes", srv.loading_loaded_bytes);
    field(out, "loading_loaded_perc", format!("{perc:.2}"));
    field(out, "loading_eta_seconds", eta);
}

/// The fork child and RDB save lines of the Persistence section (rdb/background.rs,
/// childinfo.rs keep the figures).
fn write_rdb_save_fields(srv: &Server, out: &mut String) {
    let ci = &srv.child_info;
    let rdb_child = srv.child_type == Some(crate::childinfo::ChildType::Rdb);
    field(out, "current_cow_peak", ci.stat_current_cow_peak);
    field(out, "current_cow_size", ci.stat_current_cow_bytes);
    field(out, "current_cow_size_age", ci.cow_size_age_secs());
    field(out, "current_fork_perc", format!("{:.2}", ci.fork_perc()));
    field(out, "current_save_keys_processed", ci.stat_current_save_keys_processed);
    field(out, "current_save_keys_total", ci.stat_current_save_keys_total);
    field(out, "rdb_changes_since_last_save", srv.dirty);
    field(out, "rdb_bgsave_in_progress", u8::from(rdb_child));
    field(out, "rdb_last_save_time", srv.lastsave);
    field(out, "rdb_last_bgsave_status", if srv.lastbgsave_status_ok { "ok" } else { "err" });
    field(out, "rdb_last_bgsave_time_sec", srv.rdb_save_time_last);
    let current = if rdb_child { srv.unixtime - srv.rdb_save_time_start } else { -1 };
    field(out, "rdb_current_bgsave_time_sec", current);
    field(out, "rdb_saves", srv.stat_rdb_saves);
    field(out, "rdb_last_cow_size", srv.stat_rdb_cow_bytes);
}

fn section_stats(srv: &mut Server, out: &mut String) {
    let kbps = |metric| f2(server::get_instantaneous_metric(srv, metric) as f32 / 1024.0);
    header(out, "Stats");
    field(out, "total_connections_received", srv.stat_numconnections);
    field(out, "total_commands_processed", srv.stat_numcommands);
    field(out, "instantaneous_ops_per_sec", server::get_instantaneous_metric(srv, Metric::Command));
    field(out, "total_net_input_bytes", srv.stat_net_input_bytes);
    field(out, "total_net_output_bytes", srv.stat_net_output_bytes);
    field(out, "total_net_repl_input_bytes", 0);
    field(out, "total_net_repl_output_bytes", srv.repl.stat_net_repl_output_bytes);
    field(out, "instantaneous_input_kbps", kbps(Metric::NetInput));
    field(out, "instantaneous_output_kbps", kbps(Metric::NetOutput));
    field(out, "instantaneous_input_repl_kbps", "0.00");
    field(out, "instantaneous_output_repl_kbps", "0.00");
    field(out, "rejected_connections", srv.stat_rejected_conn);
    field(out, "sync_full", srv.repl.stat_sync_full);
    field(out, "sync_partial_ok", srv.repl.stat_sync_partial_ok);
    field(out, "sync_partial_err", srv.repl.stat_sync_partial_err);
    field(out, "expired_keys", srv.stat_expiredkeys);
    field(out, "expired_stale_perc", format!("{:.2}", srv.stat_expired_stale_perc * 100.0));
    field(out, "expired_time_cap_reached_count", srv.stat_expired_time_cap_reached_count);
    // The expire cycle does not measure its CPU time yet.
    field(out, "expire_cycle_cpu_milliseconds", 0);
    field(out, "evicted_keys", srv.stat_evictedkeys);
    write_stats_tail(srv, out);
}

fn write_stats_tail(srv: &Server, out: &mut String) {
    field(out, "evicted_clients", 0);
    field(out, "total_eviction_exceeded_time", srv.evict.total_exceeded_time_us() / 1000);
    field(out, "current_eviction_exceeded_time", srv.evict.current_exceeded_time_us() / 1000);
    field(out, "keyspace_hits", srv.stat_keyspace_hits);
    field(out, "keyspace_misses", srv.stat_keyspace_misses);
    field(out, "pubsub_channels", srv.pubsub.channels.len());
    field(out, "pubsub_patterns", srv.pubsub.patterns.len());
    field(out, "pubsubshard_channels", srv.pubsub.shard_channels.len());
    field(out, "latest_fork_usec", srv.stat_fork_time);
    field(out, "total_forks", srv.stat_total_forks);
    for name in [
        "migrate_cached_sockets", "slave_expires_tracked_keys",
        "active_defrag_hits", "active_defrag_misses", "active_defrag_key_hits",
        "active_defrag_key_misses", "total_active_defrag_time", "current_active_defrag_time",
    ] {
        field(out, name, 0);
    }
    field(out, "tracking_total_keys", srv.tracking.total_keys());
    field(out, "tracking_total_items", srv.tracking.total_items());
    field(out, "tracking_total_prefixes", srv.tracking.total_prefixes());
    field(out, "unexpected_error_replies", srv.stat_unexpected_error_replies);
    field(out, "total_error_replies", srv.stat_total_error_replies);
    field(out, "dump_payload_sanitizations", 0);
    field(out, "total_reads_processed", srv.stat_total_reads_processed);
    field(out, "total_writes_processed", srv.stat_total_writes_processed);
    // No I/O threads: the server has one thread (fork safety).
    field(out, "io_threaded_reads_processed", 0);
    field(out, "io_threaded_writes_processed", 0);
    field(out, "reply_buffer_shrinks", srv.stat_reply_buffer_shrinks);
    field(out, "reply_buffer_expands", srv.stat_reply_buffer_expands);
}

// ----------------------------------------------------------------------------------------
// Replication, CPU, Modules, Cluster
// ----------------------------------------------------------------------------------------

/// Redis: genRedisInfoString()'s replication section: the role, the replica-only block
/// (replica.rs), then what every role prints (replication/master.rs).
fn section_replication(srv: &mut Server, out: &mut String) {
    header(out, "Replication");
    field(out, "role", if srv.masterhost.is_some() { "slave" } else { "master" });
    if srv.masterhost.is_some() {
        crate::replication::replica::gen_replication_info_replica(srv, out);
    }
    crate::replication::master::gen_replication_info_master(srv, out);
}

/// Redis: listLength(server.slaves). MONITOR clients carry the SLAVE flag but are not
/// replicas.
fn connected_replicas(srv: &Server) -> usize {
    srv.clients.iter().flatten().filter(|c| c.flags & CLIENT_SLAVE != 0 && c.flags & CLIENT_MONITOR == 0).count()
}

/// CPU time of `who` (RUSAGE_SELF, _CHILDREN or _THREAD) as (system, user) "s.uuuuuu".
fn rusage(who: libc::c_int) -> (String, String) {
    // SAFETY: rusage is plain old data; getrusage fills it or fails leaving it zeroed.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage and `who` one of the documented targets.
    unsafe { libc::getrusage(who, &mut ru) };
    let fmt = |tv: libc::timeval| format!("{}.{:06}", tv.tv_sec, tv.tv_usec);
    (fmt(ru.ru_stime), fmt(ru.ru_utime))
}

fn section_cpu(_srv: &mut Server, out: &mut String) {
    let (sys, user) = rusage(libc::RUSAGE_SELF);
    let (sys_children, user_children) = rusage(libc::RUSAGE_CHILDREN);
    let (sys_main, user_main) = rusage(libc::RUSAGE_THREAD);
    header(out, "CPU");
    field(out, "used_cpu_sys", sys);
    field(out, "used_cpu_user", user);
    field(out, "used_cpu_sys_children", sys_children);
    field(out, "used_cpu_user_children", user_children);
    field(out, "used_cpu_sys_main_thread", sys_main);
    field(out, "used_cpu_user_main_thread", user_main);
}

/// Redis lists loaded modules here; there are none.
fn section_modules(_srv: &mut Server, out: &mut String) {
    header(out, "Modules");
}

fn section_cluster(srv: &mut Server, out: &mut String) {
    header(out, "Cluster");
    field(out, "cluster_enabled", u8::from(srv.config.cluster_enabled));
}

// ----------------------------------------------------------------------------------------
// Commandstats, Errorstats, Latencystats, Keyspace
// ----------------------------------------------------------------------------------------

/// Redis: getSafeInfoString(): `#`, `:`, CR and LF would break the line format.
pub fn get_safe_info_string(name: &str) -> String {
    name.chars().map(|ch| if matches!(ch, '#' | ':' | '\n' | '\r') { '_' } else { ch }).collect()
}

/// Redis: genRedisInfoStringCommandStats(): every command (and subcommand) ever called or
/// rejected, parents before their subcommands.
fn section_commandstats(srv: &mut Server, out: &mut String) {
    header(out, "Commandstats");
    for cmd in &srv.commands.cmds {
        let s = &cmd.stats;
        if s.calls == 0 && s.failed_calls == 0 && s.rejected_calls == 0 {
            continue;
        }
        // Redis divides in single precision.
        let per_call = if s.calls == 0 { 0.0 } else { s.microseconds as f32 / s.calls as f32 };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={},rejected_calls={},failed_calls={}\r\n",
            get_safe_info_string(&cmd.fullname), s.calls, s.microseconds, f2(per_call), s.rejected_calls, s.failed_calls
        );
    }
}

/// Error codes in byte order, as Redis's rax of errors iterates them.
fn section_errorstats(srv: &mut Server, out: &mut String) {
    header(out, "Errorstats");
    let mut errors: Vec<(&Vec<u8>, &u64)> = srv.errors.iter().collect();
    errors.sort();
    for (code, count) in errors {
        let name = get_safe_info_string(&String::from_utf8_lossy(code));
        let _ = write!(out, "errorstat_{}:count={}\r\n", name, count);
    }
}

/// Redis: genRedisInfoStringLatencyStats(), when latency-tracking is on.
fn section_latencystats(srv: &mut Server, out: &mut String) {
    header(out, "Latencystats");
    if !srv.config.latency_tracking {
        return;
    }
    let percentiles = &srv.config.latency_tracking_info_percentiles;
    for cmd in &srv.commands.cmds {
        if let Some(histogram) = cmd.stats.latency_histogram.as_deref() {
            fill_percentile_distribution(out, &cmd.fullname, histogram, percentiles);
        }
    }
}

/// Redis: fillPercentileDistributionLatencies(): `p50=1.003,p99=...` in microseconds.
fn fill_percentile_distribution(
    out: &mut String,
    name: &str,
    histogram: &crate::hdr_histogram::HdrHistogram,
    percentiles: &[f64],
) {
    let _ = write!(out, "latency_percentiles_usec_{}:", get_safe_info_string(name));
    for (i, &p) in percentiles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let value_us = histogram.value_at_percentile(p) as f64 / 1000.0;
        let _ = write!(out, "p{}={:.3}", trim_double_string(&format!("{:.6}", p)), value_us);
    }
    out.push_str("\r\n");
}

/// Redis: util.c trimDoubleString(): "99.900000" -> "99.9", "50.000000" -> "50".
pub fn trim_double_string(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

fn section_keyspace(srv: &mut Server, out: &mut String) {
    header(out, "Keyspace");
    for (j, db) in srv.db.iter().enumerate() {
        let (keys, expires) = (db.dict.len(), db.expires.len());
        if keys > 0 || expires > 0 {
            let _ = write!(out, "db{}:keys={},expires={},avg_ttl={}\r\n", j, keys, expires, db.avg_ttl);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &InfoSections) -> Vec<String> {
        let mut v: Vec<String> = s.names.iter().cloned().collect();
        v.sort();
        v
    }

    #[test]
    fn section_dict_follows_redis_keywords() {
        let none = gen_info_section_dict(&[]);
        assert_eq!(none.names.len(), DEFAULT_SECTIONS.len());
        assert!(!none.all && !none.everything);
        assert!(none.wants("modules") && none.wants("errorstats") && !none.wants("commandstats"));
        assert!(!none.wants("latencystats"));

        let default = gen_info_section_dict(&[b"DEFAULT"]);
        assert_eq!(names(&default), names(&none));

        let all = gen_info_section_dict(&[b"all"]);
        assert!(all.all && !all.everything && all.wants("commandstats"));

        let every = gen_info_section_dict(&[b"EveryThing"]);
        assert!(every.all && every.everything);

        let several = gen_info_section_dict(&[b"Server", b"CPU", b"server", b"nosuch"]);
        assert_eq!(names(&several), vec!["cpu", "nosuch", "server"]);
        assert!(several.wants("cpu") && !several.wants("memory"));
    }

    #[test]
    fn bytes_to_human_matches_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(990808), "967.59K");
        assert_eq!(bytes_to_human(1441896), "1.38M");
        assert_eq!(bytes_to_human(12398592), "11.82M");
        assert_eq!(bytes_to_human(25276514304), "23.54G");
        assert_eq!(bytes_to_human(3 << 40), "3.00T");
        assert_eq!(bytes_to_human(5 << 50), "5.00P");
        assert_eq!(bytes_to_human(u64::MAX), format!("{}B", u64::MAX));
    }

    #[test]
    fn percentile_names_and_safe_strings() {
        assert_eq!(trim_double_string("50.000000"), "50");
        assert_eq!(trim_double_string("99.900000"), "99.9");
        assert_eq!(trim_double_string("100"), "100");
        assert_eq!(get_safe_info_string("a#b:c\r\nd|e"), "a_b_c__d|e");
        let mut h = crate::hdr_histogram::HdrHistogram::default();
        h.record_value(8000);
        let mut out = String::new();
        fill_percentile_distribution(&mut out, "get", &h, &[50.0, 99.0, 99.9]);
        assert_eq!(out, "latency_percentiles_usec_get:p50=8.031,p99=8.031,p99.9=8.031\r\n");
    }

    use crate::test_support::test_server;

    #[test]
    fn text_layout_is_redis() {
        let mut srv = test_server();
        srv.db[0].db_add(b"k", crate::object::RObj::string_from(b"v", 0));
        srv.db[0].set_expire(b"k", i64::MAX);
        srv.dirty = 7;
        let text = gen_redis_info_string(&mut srv, &gen_info_section_dict(&[b"keyspace", b"persistence", b"cluster"]));
        assert!(text.starts_with("# Persistence\r\nloading:0\r\n"), "{text}");
        assert!(text.contains("\r\nrdb_changes_since_last_save:7\r\n"));
        assert!(text.contains("module_fork_last_cow_size:0\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n\r\n# Keyspace\r\n"));
        assert!(text.ends_with("# Keyspace\r\ndb0:keys=1,expires=1,avg_ttl=0\r\n"), "{text}");
        assert!(!text.contains("\n\n") && text.split("\r\n").all(|line| !line.contains('\n')));
        assert_eq!(gen_redis_info_string(&mut srv, &gen_info_section_dict(&[b"nosuch"])), "");
        let all = gen_redis_info_string(&mut srv, &gen_info_section_dict(&[b"all"]));
        let headers: Vec<&str> = all.split("\r\n").filter(|l| l.starts_with('#')).collect();
        assert_eq!(headers.len(), 13);
        assert_eq!(headers.first(), Some(&"# Server"));
        assert_eq!(headers.last(), Some(&"# Keyspace"));
    }

    #[test]
    fn stats_sections_reflect_counters() {
        let mut srv = test_server();
        srv.errors.insert(b"WRONGTYPE".to_vec(), 2);
        srv.errors.insert(b"ERR".to_vec(), 5);
        let mut out = String::new();
        section_errorstats(&mut srv, &mut out);
        assert_eq!(out, "# Errorstats\r\nerrorstat_ERR:count=5\r\nerrorstat_WRONGTYPE:count=2\r\n");
        srv.commands = crate::command_table::CommandTable::populate(
            crate::commands::COMMAND_TABLE,
            crate::command_procs::command_proc,
        );
        let info = srv.commands.lookup_by_name(b"info").expect("INFO is bound");
        let stats = &mut srv.commands.cmds[info].stats;
        stats.calls = 3;
        stats.microseconds = 59;
        stats.rejected_calls = 1;
        crate::hdr_histogram::record_latency_ns(&mut stats.latency_histogram, 8000);
        let mut out = String::new();
        section_commandstats(&mut srv, &mut out);
        assert_eq!(
            out,
            "# Commandstats\r\ncmdstat_info:calls=3,usec=59,usec_per_call=19.67,rejected_calls=1,failed_calls=0\r\n"
        );
        let mut out = String::new();
        section_latencystats(&mut srv, &mut out);
        assert_eq!(out, "# Latencystats\r\nlatency_percentiles_usec_info:p50=8.031,p99=8.031,p99.9=8.031\r\n");
        srv.config.latency_tracking = false;
        let mut out = String::new();
        section_latencystats(&mut srv, &mut out);
        assert_eq!(out, "# Latencystats\r\n");
    }

    #[test]
    fn per_call_average_is_single_precision() {
        // Observed: calls=3,usec=59 -> usec_per_call=19.67; calls=22,usec=367 -> 16.68.
        assert_eq!(f2(59.0f32 / 3.0), "19.67");
        assert_eq!(f2(367.0f32 / 22.0), "16.68");
        assert_eq!(f2(1.0f32 / 2.0), "0.50");
    }
}

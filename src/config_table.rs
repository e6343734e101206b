//! The directive table of config.c: every value Redis 7.0.15 knows (`ServerConfig`, with
//! Redis's defaults), the enums behind its enum directives, and `static_configs[]` — one
//! `StandardConfig` per directive that tells config.rs how to parse, render and rewrite it.
//!
//! This is a child module of config.rs (`config::table`); config.rs re-exports the public
//! types. Nothing here runs on its own: the event loop only reaches it through CONFIG
//! GET/SET/REWRITE and start-up loading, all of which are config.rs's.

use super::{
    c_strtoll, mem_to_ull, rewrite_config_format_memory, rewrite_config_string_option,
    sds_repr, strerror, BoolSpec, ConfigKind, EnumSpec, NumFormat, NumSpec, RewriteState,
    SetContext, SetOutcome, SpecialSpec, StandardConfig, StrSpec, DEBUG, DENY_LOADING, HIDDEN,
    IMMUTABLE, MODIFIABLE, MULTI_ARG, PROTECTED, SENSITIVE,
};
use std::path::{Path, PathBuf};

/*-----------------------------------------------------------------------------
 * Enum types
 *----------------------------------------------------------------------------*/

/// Declares a config enum and its `configEnum` name table. A variant may have several
/// spellings (`yes | relative`); the first one is what CONFIG GET shows, as in Redis.
macro_rules! config_enum {
    ($(#[$meta:meta])* pub enum $name:ident {
        $($variant:ident => $first:literal $(| $more:literal)*),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Redis's configEnum table: every accepted spelling with its code.
            pub const CONFIG_NAMES: &'static [(&'static str, i32)] =
                &[$(($first, $name::$variant as i32) $(, ($more, $name::$variant as i32))*),+];

            pub const fn code(self) -> i32 {
                self as i32
            }

            pub fn from_code(code: i32) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.code() == code)
            }

            /// The name CONFIG GET and INFO show (Redis configEnumGetName()).
            pub fn name(self) -> &'static str {
                Self::CONFIG_NAMES
                    .iter()
                    .find(|(_, code)| *code == self.code())
                    .map_or("unknown", |(name, _)| name)
            }
        }
    };
}

config_enum! {
    /// Redis: loglevel_enum (LL_DEBUG .. LL_WARNING).
    pub enum LogLevel { Debug => "debug", Verbose => "verbose", Notice => "notice", Warning => "warning" }
}

config_enum! {
    /// Redis: maxmemory_policy_enum.
    pub enum MaxmemoryPolicy {
        VolatileLru => "volatile-lru", VolatileLfu => "volatile-lfu",
        VolatileRandom => "volatile-random", VolatileTtl => "volatile-ttl",
        AllkeysLru => "allkeys-lru", AllkeysLfu => "allkeys-lfu",
        AllkeysRandom => "allkeys-random", Noeviction => "noeviction",
    }
}

config_enum! {
    /// Redis: syslog_facility_enum.
    pub enum SyslogFacility {
        User => "user", Local0 => "local0", Local1 => "local1", Local2 => "local2",
        Local3 => "local3", Local4 => "local4", Local5 => "local5", Local6 => "local6",
        Local7 => "local7",
    }
}

config_enum! {
    /// Redis: supervised_mode_enum.
    pub enum SupervisedMode { Upstart => "upstart", Systemd => "systemd", Auto => "auto", No => "no" }
}

config_enum! {
    /// Redis: aof_fsync_enum.
    pub enum AppendFsync { Everysec => "everysec", Always => "always", No => "no" }
}

config_enum! {
    /// Redis: repl_diskless_load_enum.
    pub enum ReplDisklessLoad { Disabled => "disabled", OnEmptyDb => "on-empty-db", Swapdb => "swapdb" }
}

config_enum! {
    /// Redis: tls_auth_clients_enum.
    pub enum TlsAuthClients { No => "no", Yes => "yes", Optional => "optional" }
}

config_enum! {
    /// Redis: oom_score_adj_enum; "yes" is the old spelling of "relative" and wins on GET.
    pub enum OomScoreAdj { No => "no", Relative => "yes" | "relative", Absolute => "absolute" }
}

config_enum! {
    /// Redis: acl_pubsub_default_enum.
    pub enum AclPubsubDefault { AllChannels => "allchannels", ResetChannels => "resetchannels" }
}

config_enum! {
    /// Redis: sanitize_dump_payload_enum.
    pub enum SanitizeDumpPayload { No => "no", Yes => "yes", Clients => "clients" }
}

config_enum! {
    /// Redis: protected_action_enum, for enable-debug-command, enable-module-command and
    /// enable-protected-configs.
    pub enum ProtectedConfig { No => "no", Yes => "yes", Local => "local" }
}

config_enum! {
    /// Redis: cluster_preferred_endpoint_type_enum.
    pub enum ClusterPreferredEndpointType {
        Ip => "ip", Hostname => "hostname", UnknownEndpoint => "unknown-endpoint",
    }
}

config_enum! {
    /// Redis: propagation_error_behavior_enum.
    pub enum PropagationErrorBehavior {
        Ignore => "ignore", Panic => "panic", PanicOnReplicas => "panic-on-replicas",
    }
}

/// shutdown-on-sigint / shutdown-on-sigterm bits (Redis SHUTDOWN_SAVE ... SHUTDOWN_FORCE).
pub const SHUTDOWN_SAVE: u32 = 1;
pub const SHUTDOWN_NOSAVE: u32 = 2;
pub const SHUTDOWN_NOW: u32 = 4;
pub const SHUTDOWN_FORCE: u32 = 8;
/// Redis: shutdown_on_sig_enum, a bit-flag enum (several names may be given at once).
const SHUTDOWN_ON_SIG_NAMES: &[(&str, i32)] = &[
    ("default", 0),
    ("save", SHUTDOWN_SAVE as i32),
    ("nosave", SHUTDOWN_NOSAVE as i32),
    ("now", SHUTDOWN_NOW as i32),
    ("force", SHUTDOWN_FORCE as i32),
];

/*-----------------------------------------------------------------------------
 * Keyspace notification classes (notify.c's flags, parsed and rendered here)
 *----------------------------------------------------------------------------*/

pub const NOTIFY_KEYSPACE: u32 = 1 << 0; // K
pub const NOTIFY_KEYEVENT: u32 = 1 << 1; // E
pub const NOTIFY_GENERIC: u32 = 1 << 2; // g
pub const NOTIFY_STRING: u32 = 1 << 3; // $
pub const NOTIFY_LIST: u32 = 1 << 4; // l
pub const NOTIFY_SET: u32 = 1 << 5; // s
pub const NOTIFY_HASH: u32 = 1 << 6; // h
pub const NOTIFY_ZSET: u32 = 1 << 7; // z
pub const NOTIFY_EXPIRED: u32 = 1 << 8; // x
pub const NOTIFY_EVICTED: u32 = 1 << 9; // e
pub const NOTIFY_STREAM: u32 = 1 << 10; // t
pub const NOTIFY_KEY_MISS: u32 = 1 << 11; // m (not part of 'A')
pub const NOTIFY_LOADED: u32 = 1 << 12; // module only, no letter
pub const NOTIFY_MODULE: u32 = 1 << 13; // d
pub const NOTIFY_NEW: u32 = 1 << 14; // n (not part of 'A')
/// 'A': every class except key-miss and new-key events.
pub const NOTIFY_ALL: u32 = NOTIFY_GENERIC
    | NOTIFY_STRING
    | NOTIFY_LIST
    | NOTIFY_SET
    | NOTIFY_HASH
    | NOTIFY_ZSET
    | NOTIFY_EXPIRED
    | NOTIFY_EVICTED
    | NOTIFY_STREAM
    | NOTIFY_MODULE;

/// Redis: notify.c keyspaceEventsStringToFlags(). None on an unknown class character.
pub fn keyspace_events_string_to_flags(classes: &[u8]) -> Option<u32> {
    classes.iter().try_fold(0u32, |flags, c| {
        let bit = match c {
            b'A' => NOTIFY_ALL,
            b'g' => NOTIFY_GENERIC,
            b'$' => NOTIFY_STRING,
            b'l' => NOTIFY_LIST,
            b's' => NOTIFY_SET,
            b'h' => NOTIFY_HASH,
            b'z' => NOTIFY_ZSET,
            b'x' => NOTIFY_EXPIRED,
            b'e' => NOTIFY_EVICTED,
            b'K' => NOTIFY_KEYSPACE,
            b'E' => NOTIFY_KEYEVENT,
            b't' => NOTIFY_STREAM,
            b'm' => NOTIFY_KEY_MISS,
            b'd' => NOTIFY_MODULE,
            b'n' => NOTIFY_NEW,
            _ => return None,
        };
        Some(flags | bit)
    })
}

/// Redis: notify.c keyspaceEventsFlagsToString(). Note that 'n' is dropped when 'A' is
/// shown, exactly as Redis 7.0 does.
pub fn keyspace_events_flags_to_string(flags: u32) -> String {
    let mut res = String::new();
    if flags & NOTIFY_ALL == NOTIFY_ALL {
        res.push('A');
    } else {
        let classes = [
            (NOTIFY_GENERIC, 'g'),
            (NOTIFY_STRING, '$'),
            (NOTIFY_LIST, 'l'),
            (NOTIFY_SET, 's'),
            (NOTIFY_HASH, 'h'),
            (NOTIFY_ZSET, 'z'),
            (NOTIFY_EXPIRED, 'x'),
            (NOTIFY_EVICTED, 'e'),
            (NOTIFY_STREAM, 't'),
            (NOTIFY_MODULE, 'd'),
            (NOTIFY_NEW, 'n'),
        ];
        res.extend(classes.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, c)| c));
    }
    for (bit, c) in [(NOTIFY_KEYSPACE, 'K'), (NOTIFY_KEYEVENT, 'E'), (NOTIFY_KEY_MISS, 'm')] {
        if flags & bit != 0 {
            res.push(c);
        }
    }
    res
}

/*-----------------------------------------------------------------------------
 * Value types of the special directives
 *----------------------------------------------------------------------------*/

/// One class of client-output-buffer-limit (Redis clientBufferLimitsConfig).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientBufferLimit {
    pub hard_limit_bytes: u64,
    pub soft_limit_bytes: u64,
    pub soft_limit_seconds: i64,
}

/// Index into `client_output_buffer_limit` (Redis CLIENT_TYPE_NORMAL/SLAVE/PUBSUB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientClass {
    Normal = 0,
    Replica = 1,
    Pubsub = 2,
}

impl ClientClass {
    /// Redis getClientTypeByName(); "master" is a class there but has no output limit.
    fn from_name(name: &[u8]) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        match lower.as_slice() {
            b"normal" => Some(ClientClass::Normal),
            b"slave" | b"replica" => Some(ClientClass::Replica),
            b"pubsub" => Some(ClientClass::Pubsub),
            _ => None,
        }
    }
}

/// Redis: clientBufferLimitsDefaults.
pub const CLIENT_BUFFER_LIMIT_DEFAULTS: [ClientBufferLimit; 3] = [
    ClientBufferLimit { hard_limit_bytes: 0, soft_limit_bytes: 0, soft_limit_seconds: 0 },
    ClientBufferLimit {
        hard_limit_bytes: 256 << 20,
        soft_limit_bytes: 64 << 20,
        soft_limit_seconds: 60,
    },
    ClientBufferLimit {
        hard_limit_bytes: 32 << 20,
        soft_limit_bytes: 8 << 20,
        soft_limit_seconds: 60,
    },
];

/// maxmemory-clients: Redis stores a percentage of maxmemory as a negative number; here
/// the two meanings are spelled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryOrPercent {
    Bytes(u64),
    Percent(u8),
}

/// The master a replica follows (Redis server.masterhost / masterport).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaOf {
    pub host: String,
    pub port: u16,
}

/// A line the loader accepted but whose meaning belongs to another module (rename-command
/// to the command table, user to ACL, loadmodule to modules). Its position is kept so the
/// owner can report a fatal error exactly where Redis would (see `ConfigError::at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeferredLine {
    pub line_no: usize,
    pub line: String,
    pub argv: Vec<Vec<u8>>,
}

/// Directives that are not standard configs (loadServerConfigFromString's else-branch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeferredDirectives {
    pub rename_commands: Vec<DeferredLine>,
    pub users: Vec<DeferredLine>,
    pub loadmodules: Vec<DeferredLine>,
    /// `module.name value` lines (Redis server.module_configs_queue; last one wins).
    pub module_configs: Vec<(Vec<u8>, Vec<u8>)>,
}

/*-----------------------------------------------------------------------------
 * ServerConfig: every directive's value
 *----------------------------------------------------------------------------*/

/// Every Redis 7.0.15 directive, named as the snake_case of the directive. Numeric fields
/// use the width of Redis's C type; `Option<String>` marks EMPTY_STRING_IS_NULL strings.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    // Networking.
    pub bind: Vec<String>,
    pub bind_source_addr: Option<String>,
    pub port: u16,
    pub tcp_backlog: i32,
    pub unixsocket: Option<String>,
    /// Octal permission bits.
    pub unixsocketperm: u32,
    pub socket_mark_id: u32,
    pub timeout: i32,
    pub tcp_keepalive: i32,
    pub protected_mode: bool,
    pub maxclients: u32,
    // Process.
    pub daemonize: bool,
    pub supervised: SupervisedMode,
    pub pidfile: Option<String>,
    pub loglevel: LogLevel,
    pub logfile: String,
    pub syslog_enabled: bool,
    pub syslog_ident: String,
    pub syslog_facility: SyslogFacility,
    pub crash_log_enabled: bool,
    pub crash_memcheck_enabled: bool,
    pub use_exit_on_panic: bool,
    pub databases: i32,
    pub always_show_logo: bool,
    pub set_proc_title: bool,
    pub proc_title_template: String,
    pub disable_thp: bool,
    pub oom_score_adj: OomScoreAdj,
    /// master, replica, background child.
    pub oom_score_adj_values: [i32; 3],
    pub server_cpulist: Option<String>,
    pub bio_cpulist: Option<String>,
    pub aof_rewrite_cpulist: Option<String>,
    pub bgsave_cpulist: Option<String>,
    pub ignore_warnings: String,
    pub jemalloc_bg_thread: bool,
    pub io_threads: i32,
    pub io_threads_do_reads: bool,
    pub shutdown_on_sigint: u32,
    pub shutdown_on_sigterm: u32,
    pub shutdown_timeout: i32,
    pub enable_protected_configs: ProtectedConfig,
    pub enable_debug_command: ProtectedConfig,
    pub enable_module_command: ProtectedConfig,
    pub watchdog_period: i32,
    // Cron.
    /// The configured hz, clamped to 1..=500 after loading and on CONFIG SET.
    pub hz: i32,
    pub dynamic_hz: bool,
    pub active_expire_effort: i32,
    pub activerehashing: bool,
    // RDB.
    /// (seconds, changes) pairs.
    pub save: Vec<(i64, i64)>,
    pub stop_writes_on_bgsave_error: bool,
    pub rdbcompression: bool,
    pub rdbchecksum: bool,
    pub dbfilename: String,
    pub rdb_del_sync_files: bool,
    pub rdb_save_incremental_fsync: bool,
    pub rdb_key_save_delay: i32,
    pub key_load_delay: i32,
    pub loading_process_events_interval_bytes: i64,
    pub sanitize_dump_payload: SanitizeDumpPayload,
    /// Absolute working directory. The server must chdir() into it after loading and
    /// after CONFIG SET dir (Redis chdirs inside the setter; this module keeps no
    /// process-wide state).
    pub dir: String,
    // AOF.
    pub appendonly: bool,
    pub appendfilename: String,
    pub appenddirname: String,
    pub appendfsync: AppendFsync,
    pub no_appendfsync_on_rewrite: bool,
    pub auto_aof_rewrite_percentage: i32,
    pub auto_aof_rewrite_min_size: i64,
    pub aof_load_truncated: bool,
    pub aof_use_rdb_preamble: bool,
    pub aof_timestamp_enabled: bool,
    pub aof_rewrite_incremental_fsync: bool,
    pub aof_disable_auto_gc: bool,
    // Replication.
    pub replicaof: Option<ReplicaOf>,
    pub masterauth: Option<Vec<u8>>,
    pub masteruser: Option<String>,
    pub replica_serve_stale_data: bool,
    pub replica_read_only: bool,
    pub repl_diskless_sync: bool,
    pub repl_diskless_sync_delay: i32,
    pub repl_diskless_sync_max_replicas: i32,
    pub repl_diskless_load: ReplDisklessLoad,
    pub repl_ping_replica_period: i32,
    pub repl_timeout: i32,
    pub repl_disable_tcp_nodelay: bool,
    /// Bytes; raised to 16 KiB on CONFIG SET like Redis's resizeReplicationBacklog().
    pub repl_backlog_size: i64,
    pub repl_backlog_ttl: i64,
    pub replica_priority: i32,
    pub replica_announced: bool,
    pub replica_announce_ip: Option<String>,
    pub replica_announce_port: u16,
    pub replica_lazy_flush: bool,
    pub replica_ignore_maxmemory: bool,
    pub replica_ignore_disk_write_errors: bool,
    pub min_replicas_to_write: i32,
    pub min_replicas_max_lag: i32,
    pub propagation_error_behavior: PropagationErrorBehavior,
    // Security.
    pub requirepass: Option<Vec<u8>>,
    pub aclfile: String,
    pub acllog_max_len: u64,
    pub acl_pubsub_default: AclPubsubDefault,
    // Memory.
    pub maxmemory: u64,
    pub maxmemory_policy: MaxmemoryPolicy,
    pub maxmemory_samples: i32,
    pub maxmemory_eviction_tenacity: i32,
    pub maxmemory_clients: MemoryOrPercent,
    pub lazyfree_lazy_eviction: bool,
    pub lazyfree_lazy_expire: bool,
    pub lazyfree_lazy_server_del: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    pub lfu_log_factor: i32,
    pub lfu_decay_time: i32,
    pub activedefrag: bool,
    pub active_defrag_ignore_bytes: usize,
    pub active_defrag_threshold_lower: i32,
    pub active_defrag_threshold_upper: i32,
    pub active_defrag_cycle_min: i32,
    pub active_defrag_cycle_max: i32,
    pub active_defrag_max_scan_fields: u64,
    // Clients and protocol.
    pub client_output_buffer_limit: [ClientBufferLimit; 3],
    pub client_query_buffer_limit: usize,
    pub proto_max_bulk_len: i64,
    pub busy_reply_threshold: i64,
    pub tracking_table_max_keys: usize,
    // Encodings.
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub list_max_listpack_size: i32,
    pub list_compress_depth: i32,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub hll_sparse_max_bytes: usize,
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: i64,
    // Observability.
    pub notify_keyspace_events: u32,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: u64,
    pub latency_monitor_threshold: i64,
    pub latency_tracking: bool,
    pub latency_tracking_info_percentiles: Vec<f64>,
    // Cluster (accepted and stored; ferredis runs standalone).
    pub cluster_enabled: bool,
    pub cluster_config_file: String,
    pub cluster_node_timeout: i64,
    pub cluster_port: u16,
    pub cluster_announce_ip: Option<String>,
    pub cluster_announce_hostname: Option<String>,
    pub cluster_announce_port: u16,
    pub cluster_announce_bus_port: u16,
    pub cluster_announce_tls_port: u16,
    pub cluster_preferred_endpoint_type: ClusterPreferredEndpointType,
    pub cluster_replica_validity_factor: i32,
    pub cluster_migration_barrier: i32,
    pub cluster_allow_replica_migration: bool,
    pub cluster_require_full_coverage: bool,
    pub cluster_replica_no_failover: bool,
    pub cluster_allow_reads_when_down: bool,
    pub cluster_allow_pubsubshard_when_down: bool,
    pub cluster_link_sendbuf_limit: u64,
    // TLS (accepted and stored; the Debian binary is built with TLS).
    pub tls_port: u16,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    pub tls_key_file_pass: Option<String>,
    pub tls_client_cert_file: Option<String>,
    pub tls_client_key_file: Option<String>,
    pub tls_client_key_file_pass: Option<String>,
    pub tls_dh_params_file: Option<String>,
    pub tls_ca_cert_file: Option<String>,
    pub tls_ca_cert_dir: Option<String>,
    pub tls_protocols: Option<String>,
    pub tls_ciphers: Option<String>,
    pub tls_ciphersuites: Option<String>,
    pub tls_auth_clients: TlsAuthClients,
    pub tls_replication: bool,
    pub tls_cluster: bool,
    pub tls_prefer_server_ciphers: bool,
    pub tls_session_caching: bool,
    pub tls_session_cache_size: i32,
    pub tls_session_cache_timeout: i32,
    /// rename-command, user, loadmodule and module-config lines, for their owners.
    pub deferred: DeferredDirectives,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ServerConfig {
    /// Redis initConfigValues() plus the special configs' initial values. CONFIG REWRITE
    /// compares against a fresh instance to decide what is "default".
    pub fn new() -> Self {
        Self {
            bind: vec!["*".to_string(), "-::*".to_string()],
            bind_source_addr: None,
            port: 6379,
            tcp_backlog: 511,
            unixsocket: None,
            unixsocketperm: 0,
            socket_mark_id: 0,
            timeout: 0,
            tcp_keepalive: 300,
            protected_mode: true,
            maxclients: 10000,
            daemonize: false,
            supervised: SupervisedMode::No,
            pidfile: None,
            loglevel: LogLevel::Notice,
            logfile: String::new(),
            syslog_enabled: false,
            syslog_ident: "redis".to_string(),
            syslog_facility: SyslogFacility::Local0,
            crash_log_enabled: true,
            crash_memcheck_enabled: true,
            use_exit_on_panic: false,
            databases: 16,
            always_show_logo: false,
            set_proc_title: true,
            proc_title_template: "{title} {listen-addr} {server-mode}".to_string(),
            disable_thp: true,
            oom_score_adj: OomScoreAdj::No,
            oom_score_adj_values: [0, 200, 800],
            server_cpulist: None,
            bio_cpulist: None,
            aof_rewrite_cpulist: None,
            bgsave_cpulist: None,
            ignore_warnings: String::new(),
            jemalloc_bg_thread: true,
            io_threads: 1,
            io_threads_do_reads: false,
            shutdown_on_sigint: 0,
            shutdown_on_sigterm: 0,
            shutdown_timeout: 10,
            enable_protected_configs: ProtectedConfig::No,
            enable_debug_command: ProtectedConfig::No,
            enable_module_command: ProtectedConfig::No,
            watchdog_period: 0,
            hz: 10,
            dynamic_hz: true,
            active_expire_effort: 1,
            activerehashing: true,
            save: vec![(3600, 1), (300, 100), (60, 10000)],
            stop_writes_on_bgsave_error: true,
            rdbcompression: true,
            rdbchecksum: true,
            dbfilename: "dump.rdb".to_string(),
            rdb_del_sync_files: false,
            rdb_save_incremental_fsync: true,
            rdb_key_save_delay: 0,
            key_load_delay: 0,
            loading_process_events_interval_bytes: 2 << 20,
            sanitize_dump_payload: SanitizeDumpPayload::No,
            dir: current_dir_string(),
            appendonly: false,
            appendfilename: "appendonly.aof".to_string(),
            appenddirname: "appendonlydir".to_string(),
            appendfsync: AppendFsync::Everysec,
            no_appendfsync_on_rewrite: false,
            auto_aof_rewrite_percentage: 100,
            auto_aof_rewrite_min_size: 64 << 20,
            aof_load_truncated: true,
            aof_use_rdb_preamble: true,
            aof_timestamp_enabled: false,
            aof_rewrite_incremental_fsync: true,
            aof_disable_auto_gc: false,
            replicaof: None,
            masterauth: None,
            masteruser: None,
            replica_serve_stale_data: true,
            replica_read_only: true,
            repl_diskless_sync: true,
            repl_diskless_sync_delay: 5,
            repl_diskless_sync_max_replicas: 0,
            repl_diskless_load: ReplDisklessLoad::Disabled,
            repl_ping_replica_period: 10,
            repl_timeout: 60,
            repl_disable_tcp_nodelay: false,
            repl_backlog_size: 1 << 20,
            repl_backlog_ttl: 3600,
            replica_priority: 100,
            replica_announced: true,
            replica_announce_ip: None,
            replica_announce_port: 0,
            replica_lazy_flush: false,
            replica_ignore_maxmemory: true,
            replica_ignore_disk_write_errors: false,
            min_replicas_to_write: 0,
            min_replicas_max_lag: 10,
            propagation_error_behavior: PropagationErrorBehavior::Ignore,
            requirepass: None,
            aclfile: String::new(),
            acllog_max_len: 128,
            acl_pubsub_default: AclPubsubDefault::ResetChannels,
            maxmemory: 0,
            maxmemory_policy: MaxmemoryPolicy::Noeviction,
            maxmemory_samples: 5,
            maxmemory_eviction_tenacity: 10,
            maxmemory_clients: MemoryOrPercent::Bytes(0),
            lazyfree_lazy_eviction: false,
            lazyfree_lazy_expire: false,
            lazyfree_lazy_server_del: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            activedefrag: false,
            active_defrag_ignore_bytes: 100 << 20,
            active_defrag_threshold_lower: 10,
            active_defrag_threshold_upper: 100,
            active_defrag_cycle_min: 1,
            active_defrag_cycle_max: 25,
            active_defrag_max_scan_fields: 1000,
            client_output_buffer_limit: CLIENT_BUFFER_LIMIT_DEFAULTS,
            client_query_buffer_limit: 1 << 30,
            proto_max_bulk_len: 512 << 20,
            busy_reply_threshold: 5000,
            tracking_table_max_keys: 1_000_000,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: 0,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            hll_sparse_max_bytes: 3000,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
            notify_keyspace_events: 0,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            latency_monitor_threshold: 0,
            latency_tracking: true,
            latency_tracking_info_percentiles: vec![50.0, 99.0, 99.9],
            cluster_enabled: false,
            cluster_config_file: "nodes.conf".to_string(),
            cluster_node_timeout: 15000,
            cluster_port: 0,
            cluster_announce_ip: None,
            cluster_announce_hostname: None,
            cluster_announce_port: 0,
            cluster_announce_bus_port: 0,
            cluster_announce_tls_port: 0,
            cluster_preferred_endpoint_type: ClusterPreferredEndpointType::Ip,
            cluster_replica_validity_factor: 10,
            cluster_migration_barrier: 1,
            cluster_allow_replica_migration: true,
            cluster_require_full_coverage: true,
            cluster_replica_no_failover: false,
            cluster_allow_reads_when_down: false,
            cluster_allow_pubsubshard_when_down: true,
            cluster_link_sendbuf_limit: 0,
            tls_port: 0,
            tls_cert_file: None,
            tls_key_file: None,
            tls_key_file_pass: None,
            tls_client_cert_file: None,
            tls_client_key_file: None,
            tls_client_key_file_pass: None,
            tls_dh_params_file: None,
            tls_ca_cert_file: None,
            tls_ca_cert_dir: None,
            tls_protocols: None,
            tls_ciphers: None,
            tls_ciphersuites: None,
            tls_auth_clients: TlsAuthClients::Yes,
            tls_replication: false,
            tls_cluster: false,
            tls_prefer_server_ciphers: false,
            tls_session_caching: true,
            tls_session_cache_size: 20 * 1024,
            tls_session_cache_timeout: 300,
            deferred: DeferredDirectives::default(),
        }
    }
}

fn current_dir_string() -> String {
    std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

/*-----------------------------------------------------------------------------
 * Table-building macros (config.c's createBoolConfig() & co.)
 *----------------------------------------------------------------------------*/

fn lossy(v: &[u8]) -> String {
    String::from_utf8_lossy(v).into_owned()
}

macro_rules! bool_cfg {
    ($name:literal, $alias:expr, $flags:expr, $field:ident) => {
        bool_cfg!($name, $alias, $flags, $field, None)
    };
    ($name:literal, $alias:expr, $flags:expr, $field:ident, $valid:expr) => {
        StandardConfig {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: ConfigKind::Bool(BoolSpec {
                get: |c| c.$field,
                set: |c, v| c.$field = v,
                validate: $valid,
            }),
        }
    };
}

/// `null` fields are `Option<String>` (EMPTY_STRING_IS_NULL); `empty` fields are `String`.
macro_rules! str_cfg {
    ($name:literal, $alias:expr, $flags:expr, null $field:ident) => {
        str_cfg!($name, $alias, $flags, null $field, None)
    };
    ($name:literal, $alias:expr, $flags:expr, null $field:ident, $valid:expr) => {
        StandardConfig {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: ConfigKind::Str(StrSpec {
                get: |c| c.$field.as_deref().map(str::as_bytes),
                set: |c, v| c.$field = v.map(lossy),
                empty_is_null: true,
                validate: $valid,
            }),
        }
    };
    ($name:literal, $alias:expr, $flags:expr, empty $field:ident) => {
        str_cfg!($name, $alias, $flags, empty $field, None)
    };
    ($name:literal, $alias:expr, $flags:expr, empty $field:ident, $valid:expr) => {
        StandardConfig {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: ConfigKind::Str(StrSpec {
                get: |c| Some(c.$field.as_bytes()),
                set: |c, v| c.$field = lossy(v.unwrap_or_default()),
                empty_is_null: false,
                validate: $valid,
            }),
        }
    };
}

/// Binary-safe strings (Redis createSDSConfig), stored as `Option<Vec<u8>>`.
macro_rules! sds_cfg {
    ($name:literal, $flags:expr, $field:ident) => {
        StandardConfig {
            name: $name,
            alias: None,
            flags: $flags,
            kind: ConfigKind::Str(StrSpec {
                get: |c| c.$field.as_deref(),
                set: |c, v| c.$field = v.map(<[u8]>::to_vec),
                empty_is_null: true,
                validate: None,
            }),
        }
    };
}

macro_rules! enum_cfg {
    ($name:literal, $flags:expr, $field:ident: $ty:ident) => {
        StandardConfig {
            name: $name,
            alias: None,
            flags: $flags,
            kind: ConfigKind::Enum(EnumSpec {
                names: $ty::CONFIG_NAMES,
                get: |c| c.$field.code(),
                set: |c, v| {
                    if let Some(x) = $ty::from_code(v) {
                        c.$field = x;
                    }
                },
                validate: None,
            }),
        }
    };
}

/// Numeric configs. The value travels as Redis's `long long`; `as` casts mirror C's
/// conversions (bounds have been checked before a value is stored).
macro_rules! num_cfg {
    ($name:literal, $alias:expr, $flags:expr, $field:ident: $ty:ty,
     $lower:expr, $upper:expr, $format:ident, $unsigned:expr) => {
        StandardConfig {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: ConfigKind::Num(NumSpec {
                format: NumFormat::$format,
                unsigned: $unsigned,
                lower: $lower,
                upper: $upper,
                get: |c| c.$field as i64,
                set: |c, v| c.$field = v as $ty,
            }),
        }
    };
}

macro_rules! special_cfg {
    ($name:literal, $alias:expr, $flags:expr, $set:ident, $get:ident, $rewrite:ident) => {
        StandardConfig {
            name: $name,
            alias: $alias,
            flags: $flags,
            kind: ConfigKind::Special(SpecialSpec { set: $set, get: $get, rewrite: $rewrite }),
        }
    };
}

macro_rules! shutdown_cfg {
    ($name:literal, $field:ident) => {
        StandardConfig {
            name: $name,
            alias: None,
            flags: MODIFIABLE | MULTI_ARG,
            kind: ConfigKind::Enum(EnumSpec {
                names: SHUTDOWN_ON_SIG_NAMES,
                get: |c| c.$field as i32,
                set: |c, v| c.$field = v as u32,
                validate: Some(is_valid_shutdown_on_sig_flags),
            }),
        }
    };
}

const INT_MIN: i64 = i32::MIN as i64;
const INT_MAX: i64 = i32::MAX as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const LLONG_MAX: i64 = i64::MAX;
/// ULLONG_MAX seen through a `long long`, as Redis stores the bound.
const ULLONG_MAX: i64 = -1;
const SIGNED: bool = false;
const UNSIGNED: bool = true;

/*-----------------------------------------------------------------------------
 * static_configs[]
 *----------------------------------------------------------------------------*/

/// Redis: config.c static_configs[], in Redis's order (CONFIG REWRITE appends in it).
pub static CONFIGS: &[StandardConfig] = &[
    // Bool configs.
    bool_cfg!("rdbchecksum", None, IMMUTABLE, rdbchecksum),
    bool_cfg!("daemonize", None, IMMUTABLE, daemonize),
    bool_cfg!("io-threads-do-reads", None, DEBUG | IMMUTABLE, io_threads_do_reads),
    bool_cfg!("always-show-logo", None, IMMUTABLE, always_show_logo),
    bool_cfg!("protected-mode", None, MODIFIABLE, protected_mode),
    bool_cfg!("rdbcompression", None, MODIFIABLE, rdbcompression),
    bool_cfg!("rdb-del-sync-files", None, MODIFIABLE, rdb_del_sync_files),
    bool_cfg!("activerehashing", None, MODIFIABLE, activerehashing),
    bool_cfg!("stop-writes-on-bgsave-error", None, MODIFIABLE, stop_writes_on_bgsave_error),
    bool_cfg!("set-proc-title", None, IMMUTABLE, set_proc_title),
    bool_cfg!("dynamic-hz", None, MODIFIABLE, dynamic_hz),
    bool_cfg!("lazyfree-lazy-eviction", None, DEBUG, lazyfree_lazy_eviction),
    bool_cfg!("lazyfree-lazy-expire", None, DEBUG, lazyfree_lazy_expire),
    bool_cfg!("lazyfree-lazy-server-del", None, DEBUG, lazyfree_lazy_server_del),
    bool_cfg!("lazyfree-lazy-user-del", None, DEBUG, lazyfree_lazy_user_del),
    bool_cfg!("lazyfree-lazy-user-flush", None, DEBUG, lazyfree_lazy_user_flush),
    bool_cfg!("repl-disable-tcp-nodelay", None, MODIFIABLE, repl_disable_tcp_nodelay),
    bool_cfg!("repl-diskless-sync", None, DEBUG, repl_diskless_sync),
    bool_cfg!("aof-rewrite-incremental-fsync", None, MODIFIABLE, aof_rewrite_incremental_fsync),
    bool_cfg!("no-appendfsync-on-rewrite", None, MODIFIABLE, no_appendfsync_on_rewrite),
    bool_cfg!("cluster-require-full-coverage", None, MODIFIABLE, cluster_require_full_coverage),
    bool_cfg!("rdb-save-incremental-fsync", None, MODIFIABLE, rdb_save_incremental_fsync),
    bool_cfg!("aof-load-truncated", None, MODIFIABLE, aof_load_truncated),
    bool_cfg!("aof-use-rdb-preamble", None, MODIFIABLE, aof_use_rdb_preamble),
    bool_cfg!("aof-timestamp-enabled", None, MODIFIABLE, aof_timestamp_enabled),
    bool_cfg!("cluster-replica-no-failover", Some("cluster-slave-no-failover"), MODIFIABLE, cluster_replica_no_failover),
    bool_cfg!("replica-lazy-flush", Some("slave-lazy-flush"), MODIFIABLE, replica_lazy_flush),
    bool_cfg!("replica-serve-stale-data", Some("slave-serve-stale-data"), MODIFIABLE, replica_serve_stale_data),
    bool_cfg!("replica-read-only", Some("slave-read-only"), DEBUG, replica_read_only),
    bool_cfg!("replica-ignore-maxmemory", Some("slave-ignore-maxmemory"), MODIFIABLE, replica_ignore_maxmemory),
    bool_cfg!("jemalloc-bg-thread", None, MODIFIABLE, jemalloc_bg_thread),
    bool_cfg!("activedefrag", None, DEBUG, activedefrag, Some(is_valid_active_defrag)),
    bool_cfg!("syslog-enabled", None, IMMUTABLE, syslog_enabled),
    bool_cfg!("cluster-enabled", None, IMMUTABLE, cluster_enabled),
    bool_cfg!("appendonly", None, DENY_LOADING, appendonly),
    bool_cfg!("cluster-allow-reads-when-down", None, MODIFIABLE, cluster_allow_reads_when_down),
    bool_cfg!("cluster-allow-pubsubshard-when-down", None, MODIFIABLE, cluster_allow_pubsubshard_when_down),
    bool_cfg!("crash-log-enabled", None, MODIFIABLE, crash_log_enabled),
    bool_cfg!("crash-memcheck-enabled", None, MODIFIABLE, crash_memcheck_enabled),
    bool_cfg!("use-exit-on-panic", None, HIDDEN, use_exit_on_panic),
    bool_cfg!("disable-thp", None, IMMUTABLE, disable_thp),
    bool_cfg!("cluster-allow-replica-migration", None, MODIFIABLE, cluster_allow_replica_migration),
    bool_cfg!("replica-announced", None, MODIFIABLE, replica_announced),
    bool_cfg!("latency-tracking", None, MODIFIABLE, latency_tracking),
    bool_cfg!("aof-disable-auto-gc", None, MODIFIABLE, aof_disable_auto_gc),
    bool_cfg!("replica-ignore-disk-write-errors", None, MODIFIABLE, replica_ignore_disk_write_errors),
    // String configs.
    str_cfg!("aclfile", None, IMMUTABLE, empty aclfile),
    str_cfg!("unixsocket", None, IMMUTABLE, null unixsocket),
    str_cfg!("pidfile", None, IMMUTABLE, null pidfile),
    str_cfg!("replica-announce-ip", Some("slave-announce-ip"), MODIFIABLE, null replica_announce_ip),
    str_cfg!("masteruser", None, SENSITIVE, null masteruser),
    str_cfg!("cluster-announce-ip", None, MODIFIABLE, null cluster_announce_ip),
    str_cfg!("cluster-config-file", None, IMMUTABLE, empty cluster_config_file),
    str_cfg!("cluster-announce-hostname", None, MODIFIABLE, null cluster_announce_hostname, Some(is_valid_announced_hostname)),
    str_cfg!("syslog-ident", None, IMMUTABLE, empty syslog_ident),
    str_cfg!("dbfilename", None, PROTECTED, empty dbfilename, Some(is_valid_db_filename)),
    str_cfg!("appendfilename", None, IMMUTABLE, empty appendfilename, Some(is_valid_aof_filename)),
    str_cfg!("appenddirname", None, IMMUTABLE, empty appenddirname, Some(is_valid_aof_dirname)),
    str_cfg!("server_cpulist", None, IMMUTABLE, null server_cpulist),
    str_cfg!("bio_cpulist", None, IMMUTABLE, null bio_cpulist),
    str_cfg!("aof_rewrite_cpulist", None, IMMUTABLE, null aof_rewrite_cpulist),
    str_cfg!("bgsave_cpulist", None, IMMUTABLE, null bgsave_cpulist),
    str_cfg!("ignore-warnings", None, MODIFIABLE, empty ignore_warnings),
    str_cfg!("proc-title-template", None, MODIFIABLE, empty proc_title_template, Some(is_valid_proc_title_template)),
    str_cfg!("bind-source-addr", None, MODIFIABLE, null bind_source_addr),
    str_cfg!("logfile", None, IMMUTABLE, empty logfile),
    // SDS configs.
    sds_cfg!("masterauth", SENSITIVE, masterauth),
    sds_cfg!("requirepass", SENSITIVE, requirepass),
    // Enum configs.
    enum_cfg!("supervised", IMMUTABLE, supervised: SupervisedMode),
    enum_cfg!("syslog-facility", IMMUTABLE, syslog_facility: SyslogFacility),
    enum_cfg!("repl-diskless-load", DEBUG | DENY_LOADING, repl_diskless_load: ReplDisklessLoad),
    enum_cfg!("loglevel", MODIFIABLE, loglevel: LogLevel),
    enum_cfg!("maxmemory-policy", MODIFIABLE, maxmemory_policy: MaxmemoryPolicy),
    enum_cfg!("appendfsync", MODIFIABLE, appendfsync: AppendFsync),
    enum_cfg!("oom-score-adj", MODIFIABLE, oom_score_adj: OomScoreAdj),
    enum_cfg!("acl-pubsub-default", MODIFIABLE, acl_pubsub_default: AclPubsubDefault),
    enum_cfg!("sanitize-dump-payload", DEBUG, sanitize_dump_payload: SanitizeDumpPayload),
    enum_cfg!("enable-protected-configs", IMMUTABLE, enable_protected_configs: ProtectedConfig),
    enum_cfg!("enable-debug-command", IMMUTABLE, enable_debug_command: ProtectedConfig),
    enum_cfg!("enable-module-command", IMMUTABLE, enable_module_command: ProtectedConfig),
    enum_cfg!("cluster-preferred-endpoint-type", MODIFIABLE, cluster_preferred_endpoint_type: ClusterPreferredEndpointType),
    enum_cfg!("propagation-error-behavior", MODIFIABLE, propagation_error_behavior: PropagationErrorBehavior),
    shutdown_cfg!("shutdown-on-sigint", shutdown_on_sigint),
    shutdown_cfg!("shutdown-on-sigterm", shutdown_on_sigterm),
    // Integer configs.
    num_cfg!("databases", None, IMMUTABLE, databases: i32, 1, INT_MAX, Integer, SIGNED),
    num_cfg!("port", None, MODIFIABLE, port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("io-threads", None, DEBUG | IMMUTABLE, io_threads: i32, 1, 128, Integer, SIGNED),
    num_cfg!("auto-aof-rewrite-percentage", None, MODIFIABLE, auto_aof_rewrite_percentage: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("cluster-replica-validity-factor", Some("cluster-slave-validity-factor"), MODIFIABLE, cluster_replica_validity_factor: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("list-max-listpack-size", Some("list-max-ziplist-size"), MODIFIABLE, list_max_listpack_size: i32, INT_MIN, INT_MAX, Integer, SIGNED),
    num_cfg!("tcp-keepalive", None, MODIFIABLE, tcp_keepalive: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("cluster-migration-barrier", None, MODIFIABLE, cluster_migration_barrier: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("active-defrag-cycle-min", None, MODIFIABLE, active_defrag_cycle_min: i32, 1, 99, Integer, SIGNED),
    num_cfg!("active-defrag-cycle-max", None, MODIFIABLE, active_defrag_cycle_max: i32, 1, 99, Integer, SIGNED),
    num_cfg!("active-defrag-threshold-lower", None, MODIFIABLE, active_defrag_threshold_lower: i32, 0, 1000, Integer, SIGNED),
    num_cfg!("active-defrag-threshold-upper", None, MODIFIABLE, active_defrag_threshold_upper: i32, 0, 1000, Integer, SIGNED),
    num_cfg!("lfu-log-factor", None, MODIFIABLE, lfu_log_factor: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("lfu-decay-time", None, MODIFIABLE, lfu_decay_time: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("replica-priority", Some("slave-priority"), MODIFIABLE, replica_priority: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("repl-diskless-sync-delay", None, MODIFIABLE, repl_diskless_sync_delay: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("maxmemory-samples", None, MODIFIABLE, maxmemory_samples: i32, 1, INT_MAX, Integer, SIGNED),
    num_cfg!("maxmemory-eviction-tenacity", None, MODIFIABLE, maxmemory_eviction_tenacity: i32, 0, 100, Integer, SIGNED),
    num_cfg!("timeout", None, MODIFIABLE, timeout: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("replica-announce-port", Some("slave-announce-port"), MODIFIABLE, replica_announce_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("tcp-backlog", None, IMMUTABLE, tcp_backlog: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("cluster-port", None, IMMUTABLE, cluster_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("cluster-announce-bus-port", None, MODIFIABLE, cluster_announce_bus_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("cluster-announce-port", None, MODIFIABLE, cluster_announce_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("cluster-announce-tls-port", None, MODIFIABLE, cluster_announce_tls_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("repl-timeout", None, MODIFIABLE, repl_timeout: i32, 1, INT_MAX, Integer, SIGNED),
    num_cfg!("repl-ping-replica-period", Some("repl-ping-slave-period"), MODIFIABLE, repl_ping_replica_period: i32, 1, INT_MAX, Integer, SIGNED),
    num_cfg!("list-compress-depth", None, DEBUG, list_compress_depth: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("rdb-key-save-delay", None, HIDDEN, rdb_key_save_delay: i32, INT_MIN, INT_MAX, Integer, SIGNED),
    num_cfg!("key-load-delay", None, HIDDEN, key_load_delay: i32, INT_MIN, INT_MAX, Integer, SIGNED),
    num_cfg!("active-expire-effort", None, MODIFIABLE, active_expire_effort: i32, 1, 10, Integer, SIGNED),
    num_cfg!("hz", None, MODIFIABLE, hz: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("min-replicas-to-write", Some("min-slaves-to-write"), MODIFIABLE, min_replicas_to_write: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("min-replicas-max-lag", Some("min-slaves-max-lag"), MODIFIABLE, min_replicas_max_lag: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("watchdog-period", None, HIDDEN, watchdog_period: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("shutdown-timeout", None, MODIFIABLE, shutdown_timeout: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("repl-diskless-sync-max-replicas", None, MODIFIABLE, repl_diskless_sync_max_replicas: i32, 0, INT_MAX, Integer, SIGNED),
    // Unsigned int configs.
    num_cfg!("maxclients", None, MODIFIABLE, maxclients: u32, 1, UINT_MAX, Integer, UNSIGNED),
    num_cfg!("unixsocketperm", None, IMMUTABLE, unixsocketperm: u32, 0, 0o777, Octal, UNSIGNED),
    num_cfg!("socket-mark-id", None, IMMUTABLE, socket_mark_id: u32, 0, UINT_MAX, Integer, UNSIGNED),
    // Unsigned long configs (bounds-checked as signed, like Redis).
    num_cfg!("active-defrag-max-scan-fields", None, MODIFIABLE, active_defrag_max_scan_fields: u64, 1, LONG_MAX, Integer, SIGNED),
    num_cfg!("slowlog-max-len", None, MODIFIABLE, slowlog_max_len: u64, 0, LONG_MAX, Integer, SIGNED),
    num_cfg!("acllog-max-len", None, MODIFIABLE, acllog_max_len: u64, 0, LONG_MAX, Integer, SIGNED),
    // Long long configs.
    num_cfg!("busy-reply-threshold", Some("lua-time-limit"), MODIFIABLE, busy_reply_threshold: i64, 0, LONG_MAX, Integer, SIGNED),
    num_cfg!("cluster-node-timeout", None, MODIFIABLE, cluster_node_timeout: i64, 0, LLONG_MAX, Integer, SIGNED),
    num_cfg!("slowlog-log-slower-than", None, MODIFIABLE, slowlog_log_slower_than: i64, -1, LLONG_MAX, Integer, SIGNED),
    num_cfg!("latency-monitor-threshold", None, MODIFIABLE, latency_monitor_threshold: i64, 0, LLONG_MAX, Integer, SIGNED),
    num_cfg!("proto-max-bulk-len", None, DEBUG, proto_max_bulk_len: i64, 1 << 20, LONG_MAX, Memory, SIGNED),
    num_cfg!("stream-node-max-entries", None, MODIFIABLE, stream_node_max_entries: i64, 0, LLONG_MAX, Integer, SIGNED),
    num_cfg!("repl-backlog-size", None, MODIFIABLE, repl_backlog_size: i64, 1, LLONG_MAX, Memory, SIGNED),
    // Unsigned long long configs.
    num_cfg!("maxmemory", None, MODIFIABLE, maxmemory: u64, 0, ULLONG_MAX, Memory, UNSIGNED),
    num_cfg!("cluster-link-sendbuf-limit", None, MODIFIABLE, cluster_link_sendbuf_limit: u64, 0, ULLONG_MAX, Memory, UNSIGNED),
    // Size_t configs.
    num_cfg!("hash-max-listpack-entries", Some("hash-max-ziplist-entries"), MODIFIABLE, hash_max_listpack_entries: usize, 0, LONG_MAX, Integer, UNSIGNED),
    num_cfg!("set-max-intset-entries", None, MODIFIABLE, set_max_intset_entries: usize, 0, LONG_MAX, Integer, UNSIGNED),
    num_cfg!("zset-max-listpack-entries", Some("zset-max-ziplist-entries"), MODIFIABLE, zset_max_listpack_entries: usize, 0, LONG_MAX, Integer, UNSIGNED),
    num_cfg!("active-defrag-ignore-bytes", None, MODIFIABLE, active_defrag_ignore_bytes: usize, 1, LLONG_MAX, Memory, UNSIGNED),
    num_cfg!("hash-max-listpack-value", Some("hash-max-ziplist-value"), MODIFIABLE, hash_max_listpack_value: usize, 0, LONG_MAX, Memory, UNSIGNED),
    num_cfg!("stream-node-max-bytes", None, MODIFIABLE, stream_node_max_bytes: usize, 0, LONG_MAX, Memory, UNSIGNED),
    num_cfg!("zset-max-listpack-value", Some("zset-max-ziplist-value"), MODIFIABLE, zset_max_listpack_value: usize, 0, LONG_MAX, Memory, UNSIGNED),
    num_cfg!("hll-sparse-max-bytes", None, MODIFIABLE, hll_sparse_max_bytes: usize, 0, LONG_MAX, Memory, UNSIGNED),
    num_cfg!("tracking-table-max-keys", None, MODIFIABLE, tracking_table_max_keys: usize, 0, LONG_MAX, Integer, UNSIGNED),
    num_cfg!("client-query-buffer-limit", None, DEBUG, client_query_buffer_limit: usize, 1 << 20, LONG_MAX, Memory, UNSIGNED),
    StandardConfig {
        name: "maxmemory-clients",
        alias: None,
        flags: MODIFIABLE,
        kind: ConfigKind::Num(NumSpec {
            format: NumFormat::MemoryOrPercent,
            unsigned: SIGNED,
            lower: -100,
            upper: i64::MAX,
            get: get_maxmemory_clients,
            set: set_maxmemory_clients,
        }),
    },
    // Other numeric configs.
    num_cfg!("repl-backlog-ttl", None, MODIFIABLE, repl_backlog_ttl: i64, 0, LONG_MAX, Integer, SIGNED),
    num_cfg!("auto-aof-rewrite-min-size", None, MODIFIABLE, auto_aof_rewrite_min_size: i64, 0, LLONG_MAX, Memory, SIGNED),
    num_cfg!("loading-process-events-interval-bytes", None, HIDDEN, loading_process_events_interval_bytes: i64, 1024, INT_MAX, Integer, SIGNED),
    // TLS configs.
    num_cfg!("tls-port", None, MODIFIABLE, tls_port: u16, 0, 65535, Integer, SIGNED),
    num_cfg!("tls-session-cache-size", None, MODIFIABLE, tls_session_cache_size: i32, 0, INT_MAX, Integer, SIGNED),
    num_cfg!("tls-session-cache-timeout", None, MODIFIABLE, tls_session_cache_timeout: i32, 0, INT_MAX, Integer, SIGNED),
    bool_cfg!("tls-cluster", None, MODIFIABLE, tls_cluster),
    bool_cfg!("tls-replication", None, MODIFIABLE, tls_replication),
    enum_cfg!("tls-auth-clients", MODIFIABLE, tls_auth_clients: TlsAuthClients),
    bool_cfg!("tls-prefer-server-ciphers", None, MODIFIABLE, tls_prefer_server_ciphers),
    bool_cfg!("tls-session-caching", None, MODIFIABLE, tls_session_caching),
    str_cfg!("tls-cert-file", None, MODIFIABLE, null tls_cert_file),
    str_cfg!("tls-key-file", None, MODIFIABLE, null tls_key_file),
    str_cfg!("tls-key-file-pass", None, MODIFIABLE, null tls_key_file_pass),
    str_cfg!("tls-client-cert-file", None, MODIFIABLE, null tls_client_cert_file),
    str_cfg!("tls-client-key-file", None, MODIFIABLE, null tls_client_key_file),
    str_cfg!("tls-client-key-file-pass", None, MODIFIABLE, null tls_client_key_file_pass),
    str_cfg!("tls-dh-params-file", None, MODIFIABLE, null tls_dh_params_file),
    str_cfg!("tls-ca-cert-file", None, MODIFIABLE, null tls_ca_cert_file),
    str_cfg!("tls-ca-cert-dir", None, MODIFIABLE, null tls_ca_cert_dir),
    str_cfg!("tls-protocols", None, MODIFIABLE, null tls_protocols),
    str_cfg!("tls-ciphers", None, MODIFIABLE, null tls_ciphers),
    str_cfg!("tls-ciphersuites", None, MODIFIABLE, null tls_ciphersuites),
    // Special configs.
    special_cfg!("dir", None, PROTECTED | DENY_LOADING, set_dir, get_dir, rewrite_dir),
    special_cfg!("save", None, MULTI_ARG, set_save, get_save, rewrite_save),
    special_cfg!("client-output-buffer-limit", None, MULTI_ARG, set_client_output_buffer_limit, get_client_output_buffer_limit, rewrite_client_output_buffer_limit),
    special_cfg!("oom-score-adj-values", None, MULTI_ARG, set_oom_score_adj_values, get_oom_score_adj_values, rewrite_oom_score_adj_values),
    special_cfg!("notify-keyspace-events", None, MODIFIABLE, set_notify_keyspace_events, get_notify_keyspace_events, rewrite_notify_keyspace_events),
    special_cfg!("bind", None, MULTI_ARG, set_bind, get_bind, rewrite_bind),
    special_cfg!("replicaof", Some("slaveof"), IMMUTABLE | MULTI_ARG, set_replicaof, get_replicaof, rewrite_replicaof),
    special_cfg!("latency-tracking-info-percentiles", None, MULTI_ARG, set_latency_percentiles, get_latency_percentiles, rewrite_latency_percentiles),
];

/*-----------------------------------------------------------------------------
 * Validators (config.c isValid*())
 *----------------------------------------------------------------------------*/

/// The Debian 7.0.15 binary is built without HAVE_DEFRAG, and neither is ferredis.
fn is_valid_active_defrag(enabled: bool) -> Result<(), &'static str> {
    if enabled {
        return Err("Active defragmentation cannot be enabled: it requires a Redis server \
                    compiled with a modified Jemalloc like the one shipped by default with \
                    the Redis source distribution");
    }
    Ok(())
}

/// Redis: util.c pathIsBaseName().
fn path_is_base_name(val: &[u8]) -> bool {
    !val.contains(&b'/') && !val.contains(&b'\\')
}

fn is_valid_db_filename(val: &[u8]) -> Result<(), &'static str> {
    if !path_is_base_name(val) {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn is_valid_aof_filename(val: &[u8]) -> Result<(), &'static str> {
    if val.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if !path_is_base_name(val) {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn is_valid_aof_dirname(val: &[u8]) -> Result<(), &'static str> {
    if val.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if !path_is_base_name(val) {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn is_valid_announced_hostname(val: &[u8]) -> Result<(), &'static str> {
    if val.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !val.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.') {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

/// Redis: server.c validateProcTitleTemplate(): the template must expand (sdstemplate()
/// rules, known variables only) to something other than blanks. Variables whose value
/// depends on runtime state count as empty except the always-present address and ports.
fn is_valid_proc_title_template(val: &[u8]) -> Result<(), &'static str> {
    const ERR: &str = "template format is invalid or contains unknown variables";
    let mut visible = false;
    let mut rest = val;
    while let Some(open) = rest.iter().position(|&c| c == b'{') {
        visible |= rest[..open].iter().any(|&c| c != b' ');
        let after = rest.get(open + 1..).filter(|a| !a.is_empty()).ok_or(ERR)?;
        if after[0] == b'{' {
            visible = true;
            rest = &after[1..];
            continue;
        }
        let close = after.iter().position(|&c| c == b'}').ok_or(ERR)?;
        match &after[..close] {
            b"listen-addr" | b"port" | b"tls-port" => visible = true,
            b"title" | b"server-mode" | b"unixsocket" | b"config-file" => {}
            _ => return Err(ERR),
        }
        rest = &after[close + 1..];
    }
    visible |= rest.iter().any(|&c| c != b' ');
    if visible {
        Ok(())
    } else {
        Err(ERR)
    }
}

fn is_valid_shutdown_on_sig_flags(val: i32) -> Result<(), &'static str> {
    let flags = val as u32;
    if flags & SHUTDOWN_NOSAVE != 0 && flags & SHUTDOWN_SAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
    Ok(())
}


fn get_maxmemory_clients(c: &ServerConfig) -> i64 {
    match c.maxmemory_clients {
        MemoryOrPercent::Bytes(b) => b as i64,
        MemoryOrPercent::Percent(p) => -i64::from(p),
    }
}

fn set_maxmemory_clients(c: &mut ServerConfig, v: i64) {
    c.maxmemory_clients = if v < 0 {
        MemoryOrPercent::Percent(u8::try_from(-v).unwrap_or(100))
    } else {
        MemoryOrPercent::Bytes(v as u64)
    };
}

/*-----------------------------------------------------------------------------
 * Special configs: set / get / rewrite
 *----------------------------------------------------------------------------*/

const WRONG_ARGS: &str = "wrong number of arguments";

/// C strtol()/strtoll() with the "whole string must be a number" check Redis adds.
fn strtoll_whole(arg: &[u8]) -> Option<i64> {
    let (value, consumed, overflow) = c_strtoll(arg, 10);
    (consumed == arg.len() && !overflow).then_some(value)
}

/// Like `strtoll_whole`, but with strtoll's saturation on overflow, which Redis does not
/// check for `save` and the buffer-limit seconds.
fn strtoll_saturating(arg: &[u8]) -> Option<i64> {
    let (value, consumed, _) = c_strtoll(arg, 10);
    (consumed == arg.len()).then_some(value)
}

/// Redis: setConfigDirOption(). Redis chdir()s here; we only check that chdir() would
/// succeed and keep the absolute path (see `ServerConfig::dir`).
fn set_dir(cfg: &mut ServerConfig, argv: &[&[u8]], _: &mut SetContext) -> Result<SetOutcome, String> {
    let [arg] = argv else { return Err(WRONG_ARGS.to_string()) };
    if arg.is_empty() {
        return Err(strerror(libc::ENOENT));
    }
    let path = Path::new(std::str::from_utf8(arg).map_err(|_| strerror(libc::ENOENT))?);
    let absolute: PathBuf = Path::new(&cfg.dir).join(path);
    let canonical = std::fs::canonicalize(&absolute)
        .map_err(|e| strerror(e.raw_os_error().unwrap_or(libc::ENOENT)))?;
    if !canonical.is_dir() {
        return Err(strerror(libc::ENOTDIR));
    }
    super::check_access(&canonical, libc::X_OK)?;
    cfg.dir = canonical.to_string_lossy().into_owned();
    Ok(SetOutcome::Changed)
}

fn get_dir(cfg: &ServerConfig) -> Vec<u8> {
    cfg.dir.as_bytes().to_vec()
}

fn rewrite_dir(cfg: &ServerConfig, _: &ServerConfig, name: &'static str, state: &mut RewriteState) {
    rewrite_config_string_option(state, name, Some(cfg.dir.as_bytes()), None);
}

/// Redis: setConfigSaveOption(). The first `save` line of a config file replaces the
/// defaults; later ones add to the list.
fn set_save(cfg: &mut ServerConfig, argv: &[&[u8]], ctx: &mut SetContext) -> Result<SetOutcome, String> {
    const INVALID: &str = "Invalid save parameters";
    let argv = if argv.len() == 1 && argv[0].is_empty() { &[][..] } else { argv };
    if !argv.len().is_multiple_of(2) {
        return Err(INVALID.to_string());
    }
    let mut points = Vec::with_capacity(argv.len() / 2);
    for pair in argv.chunks_exact(2) {
        let seconds = strtoll_saturating(pair[0]).filter(|s| *s >= 1).ok_or(INVALID)?;
        let changes = strtoll_saturating(pair[1]).filter(|c| *c >= 0).ok_or(INVALID)?;
        // Redis keeps `changes` in an int.
        points.push((seconds, i64::from(changes as i32)));
    }
    if !ctx.reading_config_file || !ctx.save_loaded {
        ctx.save_loaded |= ctx.reading_config_file;
        cfg.save.clear();
    }
    cfg.save.extend(points);
    Ok(SetOutcome::Changed)
}

fn get_save(cfg: &ServerConfig) -> Vec<u8> {
    let parts: Vec<String> = cfg.save.iter().map(|(s, c)| format!("{s} {c}")).collect();
    parts.join(" ").into_bytes()
}

fn rewrite_save(cfg: &ServerConfig, _: &ServerConfig, name: &'static str, state: &mut RewriteState) {
    if cfg.save.is_empty() {
        state.rewrite_line(name, b"save \"\"".to_vec(), true);
    }
    for (seconds, changes) in &cfg.save {
        state.rewrite_line(name, format!("save {seconds} {changes}").into_bytes(), true);
    }
    state.mark_as_processed(name);
}

/// Redis: updateClientOutputBufferLimit(): all classes are checked before any is set.
fn set_client_output_buffer_limit(
    cfg: &mut ServerConfig,
    argv: &[&[u8]],
    _: &mut SetContext,
) -> Result<SetOutcome, String> {
    if !argv.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.".to_string());
    }
    let mut updates = Vec::with_capacity(argv.len() / 4);
    for group in argv.chunks_exact(4) {
        let class = ClientClass::from_name(group[0])
            .ok_or("Invalid client class specified in buffer limit configuration.")?;
        let bad = "Error in hard, soft or soft_seconds setting in buffer limit configuration.";
        let hard = mem_to_ull(group[1]).ok_or(bad)?;
        let soft = mem_to_ull(group[2]).ok_or(bad)?;
        // Redis keeps soft_seconds in an int before the sign check.
        let seconds = strtoll_saturating(group[3]).map(|s| s as i32).filter(|s| *s >= 0).ok_or(bad)?;
        let limit = ClientBufferLimit {
            hard_limit_bytes: hard,
            soft_limit_bytes: soft,
            soft_limit_seconds: i64::from(seconds),
        };
        updates.push((class, limit));
    }
    for (class, limit) in updates {
        cfg.client_output_buffer_limit[class as usize] = limit;
    }
    Ok(SetOutcome::Changed)
}

const CLIENT_CLASS_NAMES: [&str; 3] = ["normal", "slave", "pubsub"];

fn get_client_output_buffer_limit(cfg: &ServerConfig) -> Vec<u8> {
    let parts: Vec<String> = CLIENT_CLASS_NAMES
        .iter()
        .zip(cfg.client_output_buffer_limit.iter())
        .map(|(class, l)| {
            format!("{class} {} {} {}", l.hard_limit_bytes, l.soft_limit_bytes, l.soft_limit_seconds)
        })
        .collect();
    parts.join(" ").into_bytes()
}

fn rewrite_client_output_buffer_limit(
    cfg: &ServerConfig,
    _: &ServerConfig,
    name: &'static str,
    state: &mut RewriteState,
) {
    let classes = ["normal", "replica", "pubsub"];
    for (j, class) in classes.iter().enumerate() {
        let limit = cfg.client_output_buffer_limit[j];
        let force = limit != CLIENT_BUFFER_LIMIT_DEFAULTS[j];
        let line = format!(
            "{name} {class} {} {} {}",
            rewrite_config_format_memory(limit.hard_limit_bytes as i64),
            rewrite_config_format_memory(limit.soft_limit_bytes as i64),
            limit.soft_limit_seconds
        );
        state.rewrite_line(name, line.into_bytes(), force);
    }
}

/// Redis: setConfigOOMScoreAdjValuesOption().
fn set_oom_score_adj_values(
    cfg: &mut ServerConfig,
    argv: &[&[u8]],
    _: &mut SetContext,
) -> Result<SetOutcome, String> {
    if argv.len() != 3 {
        return Err(WRONG_ARGS.to_string());
    }
    let mut values = [0i32; 3];
    for (slot, arg) in values.iter_mut().zip(argv) {
        let v = strtoll_saturating(arg).filter(|v| (-2000..=2000).contains(v)).ok_or(
            "Invalid oom-score-adj-values, elements must be between -2000 and 2000.",
        )?;
        *slot = v as i32;
    }
    if values == cfg.oom_score_adj_values {
        return Ok(SetOutcome::Unchanged);
    }
    cfg.oom_score_adj_values = values;
    Ok(SetOutcome::Changed)
}

fn get_oom_score_adj_values(cfg: &ServerConfig) -> Vec<u8> {
    let [a, b, c] = cfg.oom_score_adj_values;
    format!("{a} {b} {c}").into_bytes()
}

fn rewrite_oom_score_adj_values(
    cfg: &ServerConfig,
    defaults: &ServerConfig,
    name: &'static str,
    state: &mut RewriteState,
) {
    let force = cfg.oom_score_adj_values != defaults.oom_score_adj_values;
    let line = format!("{name} {}", String::from_utf8_lossy(&get_oom_score_adj_values(cfg)));
    state.rewrite_line(name, line.into_bytes(), force);
}

fn set_notify_keyspace_events(
    cfg: &mut ServerConfig,
    argv: &[&[u8]],
    _: &mut SetContext,
) -> Result<SetOutcome, String> {
    let [arg] = argv else { return Err(WRONG_ARGS.to_string()) };
    cfg.notify_keyspace_events = keyspace_events_string_to_flags(arg)
        .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")?;
    Ok(SetOutcome::Changed)
}

fn get_notify_keyspace_events(cfg: &ServerConfig) -> Vec<u8> {
    keyspace_events_flags_to_string(cfg.notify_keyspace_events).into_bytes()
}

fn rewrite_notify_keyspace_events(
    cfg: &ServerConfig,
    _: &ServerConfig,
    name: &'static str,
    state: &mut RewriteState,
) {
    let flags = keyspace_events_flags_to_string(cfg.notify_keyspace_events);
    let line = format!("{name} {}", sds_repr(flags.as_bytes()));
    state.rewrite_line(name, line.into_bytes(), cfg.notify_keyspace_events != 0);
}

/// Redis: CONFIG_BINDADDR_MAX.
const BINDADDR_MAX: usize = 16;

fn set_bind(cfg: &mut ServerConfig, argv: &[&[u8]], _: &mut SetContext) -> Result<SetOutcome, String> {
    if argv.len() > BINDADDR_MAX {
        return Err("Too many bind addresses specified.".to_string());
    }
    let argv = if argv.len() == 1 && argv[0].is_empty() { &[][..] } else { argv };
    cfg.bind = argv.iter().map(|a| lossy(a)).collect();
    Ok(SetOutcome::Changed)
}

fn get_bind(cfg: &ServerConfig) -> Vec<u8> {
    cfg.bind.join(" ").into_bytes()
}

fn rewrite_bind(cfg: &ServerConfig, defaults: &ServerConfig, name: &'static str, state: &mut RewriteState) {
    if cfg.bind == defaults.bind {
        state.mark_as_processed(name);
        return;
    }
    let addresses = if cfg.bind.is_empty() { "\"\"".to_string() } else { cfg.bind.join(" ") };
    state.rewrite_line(name, format!("{name} {addresses}").into_bytes(), true);
}

/// Redis: setConfigReplicaOfOption(). The server moves to REPL_STATE_CONNECT itself.
fn set_replicaof(cfg: &mut ServerConfig, argv: &[&[u8]], _: &mut SetContext) -> Result<SetOutcome, String> {
    let [host, port] = argv else { return Err(WRONG_ARGS.to_string()) };
    cfg.replicaof = None;
    if host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one") {
        return Ok(SetOutcome::Changed);
    }
    let port = strtoll_whole(port)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or("Invalid master port")?;
    cfg.replicaof = Some(ReplicaOf { host: lossy(host), port });
    Ok(SetOutcome::Changed)
}

fn get_replicaof(cfg: &ServerConfig) -> Vec<u8> {
    match &cfg.replicaof {
        Some(master) => format!("{} {}", master.host, master.port).into_bytes(),
        None => Vec::new(),
    }
}

fn rewrite_replicaof(cfg: &ServerConfig, _: &ServerConfig, name: &'static str, state: &mut RewriteState) {
    match &cfg.replicaof {
        Some(master) if !cfg.cluster_enabled => {
            let line = format!("{name} {} {}", master.host, master.port);
            state.rewrite_line(name, line.into_bytes(), true);
        }
        _ => state.mark_as_processed(name),
    }
}

/// Redis: util.c string2d(): strtod over the whole string, no leading space, no NaN.
fn string2d(s: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(s).ok()?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| !v.is_nan())
}

fn set_latency_percentiles(
    cfg: &mut ServerConfig,
    argv: &[&[u8]],
    _: &mut SetContext,
) -> Result<SetOutcome, String> {
    let argv = if argv.len() == 1 && argv[0].is_empty() { &[][..] } else { argv };
    let mut values = Vec::with_capacity(argv.len());
    for arg in argv {
        let p = string2d(arg).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
        if !(0.0..=100.0).contains(&p) {
            return Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                .to_string());
        }
        values.push(p);
    }
    cfg.latency_tracking_info_percentiles = values;
    Ok(SetOutcome::Changed)
}

/// printf("%f") followed by Redis's trimDoubleString().
fn format_percentile(p: f64) -> String {
    let s = format!("{p:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn get_latency_percentiles(cfg: &ServerConfig) -> Vec<u8> {
    let parts: Vec<String> =
        cfg.latency_tracking_info_percentiles.iter().map(|p| format_percentile(*p)).collect();
    parts.join(" ").into_bytes()
}

fn rewrite_latency_percentiles(
    cfg: &ServerConfig,
    _: &ServerConfig,
    name: &'static str,
    state: &mut RewriteState,
) {
    let values = if cfg.latency_tracking_info_percentiles.is_empty() {
        "\"\"".to_string()
    } else {
        String::from_utf8_lossy(&get_latency_percentiles(cfg)).into_owned()
    };
    state.rewrite_line(name, format!("{name} {values}").into_bytes(), true);
}

#[cfg(test)]
mod tests {
    use super::super::{config_get, config_names, config_set};
    use super::*;

    /// `CONFIG GET *` of the Debian redis-server 7.0.15, started as
    /// `redis-server --port P --dir D` (port shown as 6379, `dir` left out).
    const OBSERVED_DEFAULTS: &str = "acl-pubsub-default=resetchannels;aclfile=;acllog-max-len=128;active-defrag-cycle-max=25;\
        active-defrag-cycle-min=1;active-defrag-ignore-bytes=104857600;\
        active-defrag-max-scan-fields=1000;active-defrag-threshold-lower=10;\
        active-defrag-threshold-upper=100;active-expire-effort=1;activedefrag=no;\
        activerehashing=yes;always-show-logo=no;aof-disable-auto-gc=no;aof-load-truncated=yes;\
        aof-rewrite-incremental-fsync=yes;aof-timestamp-enabled=no;aof-use-rdb-preamble=yes;\
        aof_rewrite_cpulist=;appenddirname=appendonlydir;appendfilename=appendonly.aof;\
        appendfsync=everysec;appendonly=no;auto-aof-rewrite-min-size=67108864;\
        auto-aof-rewrite-percentage=100;bgsave_cpulist=;bind=* -::*;bind-source-addr=;\
        bio_cpulist=;busy-reply-threshold=5000;\
        client-output-buffer-limit=normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60;\
        client-query-buffer-limit=1073741824;cluster-allow-pubsubshard-when-down=yes;\
        cluster-allow-reads-when-down=no;cluster-allow-replica-migration=yes;\
        cluster-announce-bus-port=0;cluster-announce-hostname=;cluster-announce-ip=;\
        cluster-announce-port=0;cluster-announce-tls-port=0;cluster-config-file=nodes.conf;\
        cluster-enabled=no;cluster-link-sendbuf-limit=0;cluster-migration-barrier=1;\
        cluster-node-timeout=15000;cluster-port=0;cluster-preferred-endpoint-type=ip;\
        cluster-replica-no-failover=no;cluster-replica-validity-factor=10;\
        cluster-require-full-coverage=yes;cluster-slave-no-failover=no;\
        cluster-slave-validity-factor=10;crash-log-enabled=yes;crash-memcheck-enabled=yes;\
        daemonize=no;databases=16;dbfilename=dump.rdb;disable-thp=yes;dynamic-hz=yes;\
        enable-debug-command=no;enable-module-command=no;enable-protected-configs=no;\
        hash-max-listpack-entries=512;hash-max-listpack-value=64;hash-max-ziplist-entries=512;\
        hash-max-ziplist-value=64;hll-sparse-max-bytes=3000;hz=10;ignore-warnings=;io-threads=1;\
        io-threads-do-reads=no;jemalloc-bg-thread=yes;latency-monitor-threshold=0;\
        latency-tracking=yes;latency-tracking-info-percentiles=50 99 99.9;\
        lazyfree-lazy-eviction=no;lazyfree-lazy-expire=no;lazyfree-lazy-server-del=no;\
        lazyfree-lazy-user-del=no;lazyfree-lazy-user-flush=no;lfu-decay-time=1;lfu-log-factor=10;\
        list-compress-depth=0;list-max-listpack-size=-2;list-max-ziplist-size=-2;logfile=;\
        loglevel=notice;lua-time-limit=5000;masterauth=;masteruser=;maxclients=10000;maxmemory=0;\
        maxmemory-clients=0;maxmemory-eviction-tenacity=10;maxmemory-policy=noeviction;\
        maxmemory-samples=5;min-replicas-max-lag=10;min-replicas-to-write=0;min-slaves-max-lag=10;\
        min-slaves-to-write=0;no-appendfsync-on-rewrite=no;notify-keyspace-events=;\
        oom-score-adj=no;oom-score-adj-values=0 200 800;pidfile=;port=6379;\
        proc-title-template={title} {listen-addr} {server-mode};propagation-error-behavior=ignore;\
        protected-mode=yes;proto-max-bulk-len=536870912;rdb-del-sync-files=no;\
        rdb-save-incremental-fsync=yes;rdbchecksum=yes;rdbcompression=yes;\
        repl-backlog-size=1048576;repl-backlog-ttl=3600;repl-disable-tcp-nodelay=no;\
        repl-diskless-load=disabled;repl-diskless-sync=yes;repl-diskless-sync-delay=5;\
        repl-diskless-sync-max-replicas=0;repl-ping-replica-period=10;repl-ping-slave-period=10;\
        repl-timeout=60;replica-announce-ip=;replica-announce-port=0;replica-announced=yes;\
        replica-ignore-disk-write-errors=no;replica-ignore-maxmemory=yes;replica-lazy-flush=no;\
        replica-priority=100;replica-read-only=yes;replica-serve-stale-data=yes;replicaof=;\
        requirepass=;sanitize-dump-payload=no;save=3600 1 300 100 60 10000;server_cpulist=;\
        set-max-intset-entries=512;set-proc-title=yes;shutdown-on-sigint=default;\
        shutdown-on-sigterm=default;shutdown-timeout=10;slave-announce-ip=;slave-announce-port=0;\
        slave-ignore-maxmemory=yes;slave-lazy-flush=no;slave-priority=100;slave-read-only=yes;\
        slave-serve-stale-data=yes;slaveof=;slowlog-log-slower-than=10000;slowlog-max-len=128;\
        socket-mark-id=0;stop-writes-on-bgsave-error=yes;stream-node-max-bytes=4096;\
        stream-node-max-entries=100;supervised=no;syslog-enabled=no;syslog-facility=local0;\
        syslog-ident=redis;tcp-backlog=511;tcp-keepalive=300;timeout=0;tls-auth-clients=yes;\
        tls-ca-cert-dir=;tls-ca-cert-file=;tls-cert-file=;tls-ciphers=;tls-ciphersuites=;\
        tls-client-cert-file=;tls-client-key-file=;tls-client-key-file-pass=;tls-cluster=no;\
        tls-dh-params-file=;tls-key-file=;tls-key-file-pass=;tls-port=0;\
        tls-prefer-server-ciphers=no;tls-protocols=;tls-replication=no;\
        tls-session-cache-size=20480;tls-session-cache-timeout=300;tls-session-caching=yes;\
        tracking-table-max-keys=1000000;unixsocket=;unixsocketperm=0;\
        zset-max-listpack-entries=128;zset-max-listpack-value=64;zset-max-ziplist-entries=128;\
        zset-max-ziplist-value=64;";

    #[test]
    fn defaults_match_config_get_star_of_redis_7_0_15() {
        let cfg = ServerConfig::new();
        let mut ours: Vec<(String, String)> = config_get(&cfg, &[b"*"])
            .into_iter()
            .filter(|(name, _)| name != "dir")
            .map(|(name, value)| (name, String::from_utf8(value).unwrap()))
            .collect();
        ours.sort();
        let observed: Vec<(String, String)> = OBSERVED_DEFAULTS
            .split(';')
            .filter(|e| !e.is_empty())
            .map(|e| {
                let (name, value) = e.split_once('=').unwrap();
                (name.to_string(), value.to_string())
            })
            .collect();
        assert_eq!(observed.len(), 191);
        assert_eq!(ours, observed);
    }

    #[test]
    fn every_alias_of_redis_7_0_15_is_known() {
        let aliases: Vec<(&str, &str)> = CONFIGS.iter().filter_map(|e| e.alias.map(|a| (a, e.name))).collect();
        let expected = [
            ("cluster-slave-no-failover", "cluster-replica-no-failover"),
            ("slave-lazy-flush", "replica-lazy-flush"),
            ("slave-serve-stale-data", "replica-serve-stale-data"),
            ("slave-read-only", "replica-read-only"),
            ("slave-ignore-maxmemory", "replica-ignore-maxmemory"),
            ("slave-announce-ip", "replica-announce-ip"),
            ("cluster-slave-validity-factor", "cluster-replica-validity-factor"),
            ("list-max-ziplist-size", "list-max-listpack-size"),
            ("slave-priority", "replica-priority"),
            ("slave-announce-port", "replica-announce-port"),
            ("repl-ping-slave-period", "repl-ping-replica-period"),
            ("min-slaves-to-write", "min-replicas-to-write"),
            ("min-slaves-max-lag", "min-replicas-max-lag"),
            ("lua-time-limit", "busy-reply-threshold"),
            ("hash-max-ziplist-entries", "hash-max-listpack-entries"),
            ("zset-max-ziplist-entries", "zset-max-listpack-entries"),
            ("hash-max-ziplist-value", "hash-max-listpack-value"),
            ("zset-max-ziplist-value", "zset-max-listpack-value"),
            ("slaveof", "replicaof"),
        ];
        assert_eq!(aliases.len(), expected.len());
        for pair in expected {
            assert!(aliases.contains(&pair), "{pair:?}");
        }
        // 173 visible primary names + 19 aliases = the 192 of CONFIG GET *, plus 5 hidden.
        assert_eq!(config_names().len(), 192 + 5);
    }

    #[test]
    fn hidden_configs_answer_only_to_their_exact_name() {
        let cfg = ServerConfig::new();
        for (name, value) in [
            ("use-exit-on-panic", "no"),
            ("rdb-key-save-delay", "0"),
            ("key-load-delay", "0"),
            ("watchdog-period", "0"),
            ("loading-process-events-interval-bytes", "2097152"),
        ] {
            assert_eq!(config_get(&cfg, &[name.as_bytes()]), vec![(name.to_string(), value.as_bytes().to_vec())]);
            assert!(config_get(&cfg, &[b"*"]).iter().all(|(n, _)| n != name));
        }
    }

    #[test]
    fn keyspace_event_flags_parse_and_render_like_redis() {
        // Observed: CONFIG SET notify-keyspace-events X; CONFIG GET notify-keyspace-events.
        for (set, get) in [
            ("KEA", "AKE"),
            ("Ag$lshzxetdmnKE", "AKEm"),
            ("g$lshzxetd", "A"),
            ("nmdtexzhsl$gEK", "AKEm"),
            ("x", "x"),
            ("KEx", "xKE"),
            ("", ""),
        ] {
            let flags = keyspace_events_string_to_flags(set.as_bytes()).unwrap();
            assert_eq!(keyspace_events_flags_to_string(flags), get, "{set}");
        }
        assert_eq!(keyspace_events_string_to_flags(b"Q"), None);
        assert_eq!(keyspace_events_string_to_flags(b"a b"), None);
        assert_eq!(keyspace_events_string_to_flags(b"gn"), Some(NOTIFY_GENERIC | NOTIFY_NEW));
    }

    #[test]
    fn enum_names_follow_redis_tables() {
        assert_eq!(OomScoreAdj::Relative.name(), "yes");
        assert_eq!(MaxmemoryPolicy::AllkeysLru.name(), "allkeys-lru");
        assert_eq!(LogLevel::from_code(LogLevel::Warning.code()), Some(LogLevel::Warning));
        let mut cfg = ServerConfig::new();
        config_set(&mut cfg, &[(b"oom-score-adj", b"relative")]).unwrap();
        assert_eq!(cfg.oom_score_adj, OomScoreAdj::Relative);
        assert_eq!(config_get(&cfg, &[b"oom-score-adj"])[0].1, b"yes");
        config_set(&mut cfg, &[(b"shutdown-on-sigint", b"force now save")]).unwrap();
        assert_eq!(cfg.shutdown_on_sigint, SHUTDOWN_SAVE | SHUTDOWN_NOW | SHUTDOWN_FORCE);
        assert_eq!(config_get(&cfg, &[b"shutdown-on-sigint"])[0].1, b"save now force");
    }

    #[test]
    fn proc_title_templates_are_validated() {
        assert!(is_valid_proc_title_template(b"{title} {listen-addr} {server-mode}").is_ok());
        assert!(is_valid_proc_title_template(b"{{literal}} {port}").is_ok());
        assert!(is_valid_proc_title_template(b"{bogus}").is_err());
        assert!(is_valid_proc_title_template(b"{title}").is_err());
        assert!(is_valid_proc_title_template(b"{port").is_err());
        assert!(is_valid_proc_title_template(b"x{").is_err());
    }
}

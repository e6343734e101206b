//! The server: Redis's server.c. Owns the global state ([`Server`], Redis's `server`
//! struct), its initialisation (init_server_config, init_server; the start-up sequence of
//! `main()` itself is in startup.rs), the cron ([`server_cron`], a time event run `hz` times
//! a second), the work done before each wait ([`before_sleep`]) and the command dispatch
//! ([`process_command`] then [`call`]).

use std::collections::HashMap;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

use crate::ae::{self, AeHost, EventLoop, AE_READABLE};
use crate::command_def::*;
use crate::command_table::{CommandTable, Lookup};
use crate::config::ServerConfig;
use crate::db::RedisDb;
use crate::networking::{self, Client, ParseLimits, CLIENT_CLOSE_AFTER_REPLY, CLIENT_PENDING_WRITE};
use crate::util;

pub const REDIS_VERSION: &str = "7.0.15";
/// Redis: CONFIG_MIN_RESERVED_FDS + the extra fds the listeners use.
const CONFIG_MIN_RESERVED_FDS: usize = 32;
/// Redis: LRU_CLOCK_RESOLUTION (ms) and LRU_CLOCK_MAX.
const LRU_CLOCK_RESOLUTION: i64 = 1000;
pub const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Redis: STATS_METRIC_SAMPLES.
const STATS_METRIC_SAMPLES: usize = 16;

/// Set by the SIGTERM/SIGINT handler, acted on by server_cron (Redis: server.shutdown_asap).
static SHUTDOWN_ASAP: AtomicBool = AtomicBool::new(false);
static LAST_SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Redis: STATS_METRIC_COMMAND / NET_INPUT / NET_OUTPUT.
#[derive(Debug, Clone, Copy)]
pub enum Metric {
    Command = 0,
    NetInput = 1,
    NetOutput = 2,
}

/// Redis: server.inst_metric[]: a 16-sample window of per-second rates.
#[derive(Debug, Default, Clone)]
pub struct InstMetric {
    last_sample_time_ms: i64,
    last_sample_count: u64,
    samples: [u64; STATS_METRIC_SAMPLES],
    idx: usize,
}

/// Redis: struct redisServer (the fields this server has so far).
pub struct Server {
    pub el: EventLoop<Server>,
    pub config: ServerConfig,
    pub configfile: Option<String>,
    pub executable: String,
    pub exec_argv: Vec<String>,
    pub db: Vec<RedisDb>,
    pub commands: CommandTable,
    /// Clients indexed by fd. A client is taken out while one of its commands runs.
    pub clients: Vec<Option<Box<Client>>>,
    pub client_fds: HashMap<u64, RawFd>,
    pub numclients: usize,
    pub next_client_id: u64,
    pub clients_pending_write: Vec<RawFd>,
    pub clients_to_close: Vec<u64>,
    pub monitors: Vec<u64>,
    /// The client whose command is running (Redis: server.current_client).
    pub current_client_id: u64,
    pub tcp_listeners: Vec<std::net::TcpListener>,
    pub unix_listener: Option<std::os::unix::net::UnixListener>,
    pub runid: String,
    pub pid: u32,
    pub start_instant: Instant,
    pub stat_starttime: i64,
    pub hz: i32,
    pub cronloops: u64,
    pub unixtime: i64,
    pub mstime: i64,
    pub ustime: i64,
    /// The time keys are judged against while a command runs (Redis: fixed_time_expire).
    pub cmd_time_snapshot: i64,
    pub lru_clock: u32,
    pub dirty: u64,
    pub loading: bool,
    /// Redis: server.async_loading: a replica's swapdb diskless load keeps serving the old
    /// data meanwhile (`loading` is set too); see replication/replica_diskless_load.rs.
    pub async_loading: bool,
    /// Redis: startLoading()'s progress fields, shown by INFO persistence while loading.
    pub loading_start_time: i64,
    pub loading_total_bytes: u64,
    pub loading_rdb_used_mem: u64,
    pub loading_loaded_bytes: u64,
    /// Redis: rdb_last_load_keys_loaded / rdb_last_load_keys_expired of the last load.
    pub rdb_last_load_keys_loaded: u64,
    pub rdb_last_load_keys_expired: u64,
    /// The replication info (repl-id, offset, stream db) of the RDB loaded at start-up,
    /// when the file had all three, kept for replication to resume from (Redis restores
    /// it in loadDataFromDisk()).
    pub loaded_rsi: Option<crate::rdb::RdbSaveInfo>,
    pub masterhost: Option<String>,
    pub child_pid: Option<i32>,
    pub shutdown_asap: bool,
    /// A SHUTDOWN waiting for the replicas (shutdown.rs).
    pub shutdown: crate::shutdown::ShutdownState,
    pub paused_until_ms: i64,
    pub pause_writes_only: bool,
    /// Clients whose command waits for the end of a CLIENT PAUSE (Redis: paused_clients).
    pub postponed_clients: Vec<u64>,
    /// Clients to resume in before_sleep (Redis: unblocked_clients).
    pub unblocked_clients: Vec<u64>,
    // Stats (Redis: server.stat_*).
    pub stat_numcommands: u64,
    pub stat_numconnections: u64,
    pub stat_rejected_conn: u64,
    pub stat_expiredkeys: u64,
    pub stat_expired_stale_perc: f64,
    pub stat_expired_time_cap_reached_count: u64,
    pub stat_evictedkeys: u64,
    pub stat_keyspace_hits: u64,
    pub stat_keyspace_misses: u64,
    pub stat_net_input_bytes: u64,
    pub stat_net_output_bytes: u64,
    /// Redis: stat_total_reads_processed / stat_total_writes_processed: read and write
    /// handler calls.
    pub stat_total_reads_processed: u64,
    pub stat_total_writes_processed: u64,
    /// Redis: stat_reply_buffer_shrinks / expands (clientsCronResizeOutputBuffer).
    pub stat_reply_buffer_shrinks: u64,
    pub stat_reply_buffer_expands: u64,
    /// Redis: reply_buffer_peak_reset_time (ms; -1 never) and reply_buffer_resizing_enabled,
    /// set by DEBUG REPLYBUFFER.
    pub reply_buffer_peak_reset_time: i64,
    pub reply_buffer_resizing_enabled: bool,
    /// Where clients_cron resumes its round over the clients (Redis rotates its list).
    pub clients_cron_cursor: usize,
    pub stat_unexpected_error_replies: u64,
    pub stat_total_error_replies: u64,
    pub stat_peak_memory: usize,
    /// used_memory once start-up finished (Redis: initial_memory_usage, INFO used_memory_startup).
    pub initial_memory_usage: usize,
    pub errors: HashMap<Vec<u8>, u64>,
    pub inst_metric: [InstMetric; 3],
    pub active_expire_enabled: bool,
    /// Clients blocked on keys and the keys made ready (Redis: blocking_keys, ready_keys).
    pub blocking: crate::blocked::BlockingIndex,
    pub expire_state: crate::expire::ActiveExpireState,
    /// WATCHed keys of every db and client (Redis: db->watched_keys, c->watched_keys).
    pub watched_keys: crate::multi::WatchIndex,
    /// Depth of call() (Redis: server.in_nested_call): EXEC runs its commands nested.
    pub in_nested_call: u32,
    /// Channel and pattern subscribers (Redis: pubsub_channels, pubsub_patterns ...).
    pub pubsub: crate::pubsub::PubsubState,
    /// Values and flushed dbs being freed a slice per loop turn (Redis: the lazyfree thread).
    pub lazyfree: crate::lazyfree::LazyFree,
    /// Client-side caching: the tracking table, BCAST prefixes, per-client modes (tracking.c).
    pub tracking: crate::tracking::TrackingState,
    /// SLOWLOG's entries (Redis: server.slowlog, slowlog_entry_id).
    pub slowlog: crate::slowlog::Slowlog,
    /// The latency monitor's events (Redis: server.latency_events).
    pub latency_events: crate::latency::LatencyMonitor,
    /// Replication ids, offsets, backlog, replicas, pending propagation (Redis: repl_*).
    pub repl: crate::replication::ReplicationState,
    /// The eviction pool and maxmemory statistics (Redis: evict.c statics, stat_*eviction*).
    pub evict: crate::evict::EvictionState,
    /// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE skips the payload's CRC-64 check
    /// (Redis: server.skip_checksum_validation).
    pub skip_checksum_validation: bool,
    // Persistence (Redis: lastsave, lastbgsave_status, child_type, rdb_* ...): owned by
    // rdb/background.rs (SAVE/BGSAVE, save points) and childinfo.rs (fork children).
    /// Unix time of the last successful save (Redis: server.lastsave).
    pub lastsave: i64,
    /// Redis: server.lastbgsave_status == C_OK.
    pub lastbgsave_status_ok: bool,
    /// Unix time of the last BGSAVE attempt (Redis: lastbgsave_try).
    pub lastbgsave_try: i64,
    /// What the fork child in `child_pid` does (Redis: child_type).
    pub child_type: Option<crate::childinfo::ChildType>,
    /// Where an RDB child writes (Redis: rdb_child_type).
    pub rdb_child_type: Option<crate::rdb::background::RdbChildType>,
    /// BGSAVE SCHEDULE is pending (Redis: rdb_bgsave_scheduled).
    pub rdb_bgsave_scheduled: bool,
    /// Seconds the last BGSAVE took, -1 before any (Redis: rdb_save_time_last).
    pub rdb_save_time_last: i64,
    /// Unix time the running BGSAVE started, -1 when none (Redis: rdb_save_time_start).
    pub rdb_save_time_start: i64,
    /// `dirty` when the running BGSAVE forked (Redis: dirty_before_bgsave).
    pub dirty_before_bgsave: u64,
    /// Microseconds the last fork() took (Redis: stat_fork_time, INFO latest_fork_usec).
    pub stat_fork_time: i64,
    pub stat_total_forks: u64,
    pub stat_rdb_saves: u64,
    /// Copy-on-write bytes of the last RDB child (Redis: stat_rdb_cow_bytes).
    pub stat_rdb_cow_bytes: usize,
    /// The pipe the child reports through and what it reported (Redis: child_info_pipe,
    /// stat_current_cow_*, stat_current_save_keys_*).
    pub child_info: crate::childinfo::ChildInfo,
}

impl AeHost for Server {
    fn event_loop(&mut self) -> &mut EventLoop<Server> {
        &mut self.el
    }
}

impl Server {
    pub fn take_client(&mut self, fd: RawFd) -> Option<Box<Client>> {
        self.clients.get_mut(usize::try_from(fd).ok()?)?.take()
    }

    /// Puts a client taken with [`Server::take_client`] back into its (empty) slot. Every
    /// read event ends here: the case that would drop a client (an fd out of range, a slot
    /// already filled) is kept out of line, so the common path carries no `Client` drop code
    /// and its register saves.
    #[inline]
    pub fn put_client(&mut self, c: Box<Client>) {
        match usize::try_from(c.fd).ok().and_then(|fd| self.clients.get_mut(fd)) {
            Some(slot) if slot.is_none() => *slot = Some(c),
            _ => self.put_client_displacing(c),
        }
    }

    #[cold]
    #[inline(never)]
    fn put_client_displacing(&mut self, c: Box<Client>) {
        if let Some(slot) = usize::try_from(c.fd).ok().and_then(|fd| self.clients.get_mut(fd)) {
            *slot = Some(c);
        }
    }

    pub fn take_client_by_id(&mut self, id: u64) -> Option<Box<Client>> {
        let fd = *self.client_fds.get(&id)?;
        self.take_client(fd)
    }

    pub fn client_by_id(&mut self, id: u64) -> Option<&mut Client> {
        let fd = *self.client_fds.get(&id)?;
        self.clients.get_mut(usize::try_from(fd).ok()?)?.as_deref_mut()
    }

    /// Redis: networking.c linkClient().
    pub fn link_client(&mut self, c: Box<Client>) {
        let Ok(fd) = usize::try_from(c.fd) else { return };
        if self.clients.len() <= fd {
            self.clients.resize_with(fd + 1, || None);
        }
        self.client_fds.insert(c.id, c.fd);
        self.numclients += 1;
        self.clients[fd] = Some(c);
    }

    /// Redis: networking.c unlinkClient(): forgets every reference to the client.
    pub fn unlink_client(&mut self, c: &mut Client) {
        if self.client_fds.remove(&c.id).is_some() {
            self.numclients = self.numclients.saturating_sub(1);
        }
        if c.flags & CLIENT_PENDING_WRITE != 0 {
            self.clients_pending_write.retain(|&fd| fd != c.fd);
        }
        self.monitors.retain(|&id| id != c.id);
        self.postponed_clients.retain(|&id| id != c.id);
        crate::blocked::unblock_client(self, c);
        // Redis: freeClient() unwatches all keys.
        crate::multi::forget_client_watches(self, c.id);
        // Redis: freeClient() unsubscribes from every channel and pattern.
        crate::pubsub::pubsub_unsubscribe_all(self, c);
        // Redis: freeClient() -> disableTracking().
        crate::tracking::tracking_client_freed(self, c.id);
    }

    pub fn clients_count(&self) -> usize {
        self.numclients
    }

    pub fn next_client_id(&mut self) -> u64 {
        self.next_client_id += 1;
        self.next_client_id
    }

    /// True when clients must AUTH before running commands (requirepass is set).
    pub fn auth_required(&self) -> bool {
        self.config.requirepass.is_some()
    }

    pub fn parse_limits(&self, c: &Client) -> ParseLimits {
        ParseLimits {
            proto_max_bulk_len: self.config.proto_max_bulk_len,
            unauthenticated: !c.authenticated,
            is_master: c.flags & networking::CLIENT_MASTER != 0,
        }
    }

    /// Redis: networking.c pauseClients(): until `end_ms`, all commands (or only writes) of
    /// normal clients wait. A stronger or longer pause already in effect is kept.
    pub fn pause_clients(&mut self, end_ms: i64, writes_only: bool) {
        let active = self.paused_until_ms > self.mstime;
        self.pause_writes_only = writes_only && (!active || self.pause_writes_only);
        self.paused_until_ms = if active { self.paused_until_ms.max(end_ms) } else { end_ms };
    }

    /// Redis: networking.c areClientsPaused(): by CLIENT PAUSE, by a FAILOVER or by a
    /// SHUTDOWN waiting for its replicas (the last two pause writes only).
    #[inline]
    pub fn clients_are_paused(&self) -> bool {
        self.paused_until_ms > self.mstime || self.repl.failover.pauses_writes() || self.shutdown.initiated()
    }

    /// Redis: networking.c unblockPostponedClients(): the postponed clients run again from
    /// before_sleep; those a remaining pause still holds are postponed again.
    pub fn release_postponed_clients(&mut self) {
        let postponed = std::mem::take(&mut self.postponed_clients);
        self.unblocked_clients.extend(postponed);
    }

    /// Redis: networking.c unpauseClients(): the postponed clients run again from
    /// before_sleep (processUnblockedClients).
    pub fn unpause_clients(&mut self) {
        self.paused_until_ms = 0;
        self.pause_writes_only = false;
        let postponed = std::mem::take(&mut self.postponed_clients);
        self.unblocked_clients.extend(postponed);
    }

    /// Redis: the pause check of server.c processCommand(): must this command wait?
    #[inline]
    fn command_is_paused(&self, c: &Client, flags: u64) -> bool {
        if !self.clients_are_paused() || c.flags & (networking::CLIENT_SLAVE | networking::CLIENT_MASTER) != 0 {
            return false;
        }
        // A FAILOVER pauses writes only (Redis: the strongest pause of all purposes wins).
        let pause_all = self.paused_until_ms > self.mstime && !self.pause_writes_only;
        pause_all || flags & (CMD_WRITE | CMD_MAY_REPLICATE) != 0
    }

    pub fn over_maxmemory(&self) -> bool {
        self.config.maxmemory > 0 && crate::zmalloc::used_memory() > self.config.maxmemory as usize
    }

    /// Redis: server.c allPersistenceDisabled(): no save point and no AOF.
    pub fn all_persistence_disabled(&self) -> bool {
        self.config.save.is_empty() && !self.config.appendonly
    }

    /// Redis: server.c hasActiveChildProcess().
    pub fn has_active_child(&self) -> bool {
        self.child_pid.is_some()
    }

    /// Redis: db.c signalModifiedKey(): the hook WATCH and client tracking attach to.
    pub fn signal_modified_key(&mut self, dbid: usize, key: &[u8]) {
        crate::multi::touch_watched_key(self, dbid, key);
        let modifier = Some(self.current_client_id).filter(|&id| id != 0);
        crate::tracking::tracking_invalidate_key(self, modifier, key, true);
    }

    /// Redis: signalModifiedKey(NULL, db, key): a change no client made (expiry, eviction),
    /// so BCAST NOLOOP clients hear about it even from inside their own command.
    pub fn signal_modified_key_no_client(&mut self, dbid: usize, key: &[u8]) {
        crate::multi::touch_watched_key(self, dbid, key);
        crate::tracking::tracking_invalidate_key(self, None, key, true);
    }

    /// Redis: multi.c touchAllWatchedKeysInDb(): FLUSHDB/FLUSHALL (`replaced_with` None)
    /// and SWAPDB invalidate WATCHes on keys of `emptied`.
    pub fn touch_all_watched_keys_in_db(&mut self, emptied: usize, replaced_with: Option<usize>) {
        crate::multi::touch_all_watched_keys_in_db(self, emptied, replaced_with);
    }

    /// Redis: db.c propagateDeletion(): the DEL/UNLINK an expiry sends to replicas. Outside
    /// a command (the active expire cycle) it is emitted at once, inside one it joins the
    /// command's unit.
    pub fn propagate_deletion(&mut self, dbid: usize, key: &[u8], lazy: bool) {
        use crate::replication::propagate;
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        propagate::also_propagate(self, dbid, vec![cmd.to_vec(), key.to_vec()]);
        if self.in_nested_call == 0 {
            propagate::propagate_pending_commands(self);
        }
    }

    /// After a client's input was handled: queue its replies for writing, or close it.
    pub fn after_client_activity(&mut self, mut c: Box<Client>) {
        if c.reply.has_pending() && c.flags & CLIENT_PENDING_WRITE == 0 {
            c.flags |= CLIENT_PENDING_WRITE;
            self.clients_pending_write.push(c.fd);
        }
        if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 && !c.reply.has_pending() {
            return networking::free_client(self, c);
        }
        self.put_client(c);
    }

    /// Marks another client as having replies to write (used when a command writes to a
    /// client other than its own, e.g. MONITOR feeds).
    pub fn queue_reply_write(&mut self, id: u64) {
        let Some(fd) = self.client_fds.get(&id).copied() else { return };
        let Some(c) = self.clients.get_mut(fd as usize).and_then(|s| s.as_deref_mut()) else { return };
        if c.flags & CLIENT_PENDING_WRITE == 0 && c.reply.has_pending() {
            c.flags |= CLIENT_PENDING_WRITE;
            self.clients_pending_write.push(fd);
        }
    }

    /// Redis: server.c updateCachedTime().
    pub fn update_cached_time(&mut self) {
        self.ustime = util::ustime();
        self.mstime = self.ustime / 1000;
        self.unixtime = self.mstime / 1000;
    }

    /// Redis: evict.c getLRUClock().
    pub fn get_lru_clock(&self) -> u32 {
        ((self.mstime / LRU_CLOCK_RESOLUTION) as u32) & LRU_CLOCK_MAX
    }

    /// The full name ("get", "config|set") of the command `c` is running.
    pub fn current_command_name(&self, c: &Client) -> String {
        c.cmd.and_then(|id| self.commands.get(id)).map_or_else(String::new, |cmd| cmd.fullname.clone())
    }

    pub fn uptime_secs(&self) -> i64 {
        self.start_instant.elapsed().as_secs() as i64
    }
}

/// Redis: server.c initServerConfig() + the parts of main() before the config is read.
pub fn init_server_config(config: ServerConfig, argv: &[String]) -> std::io::Result<Server> {
    let setsize = config.maxclients as usize + CONFIG_MIN_RESERVED_FDS + 96;
    let now = util::ustime();
    let runid_bytes = util::get_random_hex_chars(40);
    Ok(Server {
        el: EventLoop::ae_create_event_loop(setsize)?,
        hz: config.hz,
        config,
        configfile: None,
        executable: argv.first().cloned().unwrap_or_default(),
        exec_argv: argv.to_vec(),
        db: Vec::new(),
        commands: CommandTable::default(),
        clients: Vec::new(),
        client_fds: HashMap::new(),
        numclients: 0,
        // Redis 7.0 creates two clients without a connection at start-up (the Lua
        // clients of scripting and of functions: ids 1 and 2), so the first connection
        // gets id 3; CLIENT ID and CLIENT LIST agree with it.
        next_client_id: 2,
        clients_pending_write: Vec::new(),
        clients_to_close: Vec::new(),
        monitors: Vec::new(),
        current_client_id: 0,
        tcp_listeners: Vec::new(),
        unix_listener: None,
        runid: String::from_utf8_lossy(&runid_bytes).into_owned(),
        pid: std::process::id(),
        start_instant: Instant::now(),
        stat_starttime: now / 1_000_000,
        cronloops: 0,
        unixtime: now / 1_000_000,
        mstime: now / 1000,
        ustime: now,
        cmd_time_snapshot: now / 1000,
        lru_clock: 0,
        dirty: 0,
        loading: false,
        async_loading: false,
        loading_start_time: 0,
        loading_total_bytes: 0,
        loading_rdb_used_mem: 0,
        loading_loaded_bytes: 0,
        rdb_last_load_keys_loaded: 0,
        rdb_last_load_keys_expired: 0,
        loaded_rsi: None,
        masterhost: None,
        child_pid: None,
        shutdown_asap: false,
        shutdown: Default::default(),
        paused_until_ms: 0,
        pause_writes_only: false,
        postponed_clients: Vec::new(),
        unblocked_clients: Vec::new(),
        stat_numcommands: 0,
        stat_numconnections: 0,
        stat_rejected_conn: 0,
        stat_expiredkeys: 0,
        stat_expired_stale_perc: 0.0,
        stat_expired_time_cap_reached_count: 0,
        stat_evictedkeys: 0,
        stat_keyspace_hits: 0,
        stat_keyspace_misses: 0,
        stat_net_input_bytes: 0,
        stat_net_output_bytes: 0,
        stat_total_reads_processed: 0,
        stat_total_writes_processed: 0,
        stat_reply_buffer_shrinks: 0,
        stat_reply_buffer_expands: 0,
        reply_buffer_peak_reset_time: REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME,
        reply_buffer_resizing_enabled: true,
        clients_cron_cursor: 0,
        stat_unexpected_error_replies: 0,
        stat_total_error_replies: 0,
        stat_peak_memory: 0,
        initial_memory_usage: 0,
        errors: HashMap::new(),
        inst_metric: Default::default(),
        active_expire_enabled: true,
        blocking: Default::default(),
        expire_state: Default::default(),
        watched_keys: Default::default(),
        in_nested_call: 0,
        pubsub: Default::default(),
        lazyfree: Default::default(),
        tracking: Default::default(),
        slowlog: Default::default(),
        latency_events: Default::default(),
        repl: crate::replication::ReplicationState::new(now / 1_000_000),
        evict: Default::default(),
        skip_checksum_validation: false,
        // Redis: initServer() counts the start as the last save.
        lastsave: now / 1_000_000,
        lastbgsave_status_ok: true,
        lastbgsave_try: 0,
        child_type: None,
        rdb_child_type: None,
        rdb_bgsave_scheduled: false,
        rdb_save_time_last: -1,
        rdb_save_time_start: -1,
        dirty_before_bgsave: 0,
        stat_fork_time: 0,
        stat_total_forks: 0,
        stat_rdb_saves: 0,
        stat_rdb_cow_bytes: 0,
        child_info: Default::default(),
    })
}

/// Redis: server.c populateCommandTable(), then config.c's rename-command lines in file
/// order (Redis applies them while it reads the file, with the table already built).
pub fn populate_command_table(config: &ServerConfig) -> Result<CommandTable, crate::config::ConfigError> {
    let mut table = CommandTable::populate(crate::commands::COMMAND_TABLE, crate::command_procs::command_proc);
    for line in &config.deferred.rename_commands {
        let (Some(from), Some(to)) = (line.argv.get(1), line.argv.get(2)) else { continue };
        table
            .rename_command(from, to)
            .map_err(|msg| crate::config::ConfigError::at(line.line_no, &line.line, msg))?;
    }
    Ok(table)
}

/// Redis: server.c initServer(): signals, databases, listeners, the cron time event.
pub fn init_server(srv: &mut Server) -> Result<(), String> {
    setup_signal_handlers();
    // The renames were checked when the config was loaded (startup.rs), so this cannot fail.
    srv.commands = populate_command_table(&srv.config).map_err(|err| err.report())?;
    srv.db = (0..srv.config.databases.max(1) as usize).map(RedisDb::new).collect();
    srv.update_cached_time();
    srv.lru_clock = srv.get_lru_clock();
    listen_to_port(srv)?;
    listen_to_unix_socket(srv)?;
    srv.el.ae_create_time_event(1, server_cron);
    srv.initial_memory_usage = crate::zmalloc::used_memory();
    Ok(())
}

/// Redis: server.c listenToPort(): one listener per `bind` address.
fn listen_to_port(srv: &mut Server) -> Result<(), String> {
    let port = srv.config.port;
    if port == 0 {
        return Ok(());
    }
    let addrs: Vec<String> = srv.config.bind.clone();
    for addr in &addrs {
        let (optional, addr) = match addr.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, addr.as_str()),
        };
        match crate::anet::anet_tcp_server(port, addr, srv.config.tcp_backlog) {
            Ok(listener) => {
                let fd = listener.as_raw_fd();
                srv.el
                    .ae_create_file_event(fd, AE_READABLE, networking::accept_tcp_handler)
                    .map_err(|e| format!("Unrecoverable error creating TCP socket accept handler: {}", e))?;
                srv.tcp_listeners.push(listener);
            }
            Err(err) if optional && is_unsupported_address(&err) => continue,
            Err(err) => {
                // Redis's anet error text: "bind: " and strerror() (no Rust "(os error N)").
                let text = err.to_string();
                let text = text.rfind(" (os error ").map_or(text.as_str(), |cut| &text[..cut]);
                log::warn!("Warning: Could not create server TCP listening socket {}:{}: bind: {}", addr, port, text);
                return Err(format!("Failed listening on port {} (TCP), aborting.", port));
            }
        }
    }
    Ok(())
}

fn is_unsupported_address(err: &std::io::Error) -> bool {
    matches!(err.raw_os_error(), Some(libc::EADDRNOTAVAIL) | Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT))
}

fn listen_to_unix_socket(srv: &mut Server) -> Result<(), String> {
    let Some(path) = srv.config.unixsocket.clone() else { return Ok(()) };
    let perm = srv.config.unixsocketperm;
    let listener = crate::anet::anet_unix_server(&path, perm, srv.config.tcp_backlog)
        .map_err(|e| format!("Failed opening Unix socket: {}", e))?;
    srv.el
        .ae_create_file_event(listener.as_raw_fd(), AE_READABLE, networking::accept_unix_handler)
        .map_err(|e| format!("Unrecoverable error creating Unix socket accept handler: {}", e))?;
    srv.unix_listener = Some(listener);
    Ok(())
}

/// Redis: server.c setupSignalHandlers().
fn setup_signal_handlers() {
    let handler = sig_shutdown_handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: sigaction with a zeroed struct, our handler and an empty mask; the handler
        // only stores atomics and calls write(2), both async-signal-safe.
        unsafe {
            let mut act: libc::sigaction = std::mem::zeroed();
            act.sa_sigaction = handler;
            libc::sigemptyset(&mut act.sa_mask);
            libc::sigaction(sig, &act, std::ptr::null_mut());
        }
    }
    // SAFETY: ignoring SIGPIPE so a write to a closed socket returns EPIPE instead.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// Redis: server.c sigShutdownHandler(). A second SIGINT while shutting down exits at once.
extern "C" fn sig_shutdown_handler(sig: libc::c_int) {
    let msg: &[u8] = if sig == libc::SIGINT {
        b"Received SIGINT scheduling shutdown..."
    } else {
        b"Received SIGTERM scheduling shutdown..."
    };
    if SHUTDOWN_ASAP.load(Ordering::SeqCst) && sig == libc::SIGINT {
        crate::server_log::server_log_from_handler(b"You insist... exiting now.");
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(1) };
    }
    crate::server_log::server_log_from_handler(msg);
    LAST_SIGNAL.store(sig, Ordering::SeqCst);
    SHUTDOWN_ASAP.store(true, Ordering::SeqCst);
}

/// Redis: server.c serverCron(): the periodic work, `hz` times a second.
pub fn server_cron(srv: &mut Server, _id: i64) -> i64 {
    srv.update_cached_time();
    srv.lru_clock = srv.get_lru_clock();
    if run_with_period(srv, 100) {
        track_instantaneous_metric(srv, Metric::Command, srv.stat_numcommands);
        track_instantaneous_metric(srv, Metric::NetInput, srv.stat_net_input_bytes);
        track_instantaneous_metric(srv, Metric::NetOutput, srv.stat_net_output_bytes);
    }
    srv.stat_peak_memory = srv.stat_peak_memory.max(crate::zmalloc::used_memory());
    // Redis leaves this to jemalloc's background thread; ferredis runs no threads.
    crate::zmalloc::decay_dirty_pages();
    // Redis: a signal's shutdown starts here, outside the handler; a shutdown waiting
    // for its replicas ends here.
    if (shutdown_signal_pending() || srv.shutdown_asap) && !srv.shutdown.initiated() {
        if crate::shutdown::prepare_for_shutdown(srv, shutdown_flags_for_signal(srv)).is_ok() {
            std::process::exit(0);
        }
        if !srv.shutdown.initiated() {
            clear_shutdown_signal();
            srv.shutdown_asap = false;
        }
    } else if crate::shutdown::shutdown_cron(srv) {
        std::process::exit(0);
    }
    if run_with_period(srv, 5000) {
        log_databases_stats(srv);
    }
    if srv.paused_until_ms != 0 && srv.paused_until_ms <= srv.mstime {
        srv.unpause_clients();
    }
    clients_cron(srv);
    databases_cron(srv);
    // Redis: also here, so a CONFIG SET of tracking-table-max-keys applies when idle.
    if srv.tracking.tracking_clients() > 0 {
        crate::tracking::tracking_limit_used_slots(srv);
    }
    crate::rdb::background::persistence_cron(srv);
    if run_with_period(srv, crate::replication::failover::replication_cron_period(srv)) {
        crate::replication::failover::update_failover_status(srv);
        crate::replication::replica::replication_cron_replica(srv);
    }
    crate::replication::master::replication_server_cron(srv);
    crate::lazyfree::lazyfree_step(srv);
    srv.cronloops += 1;
    (1000 / srv.hz.clamp(1, 500)) as i64
}

/// Redis: server.h run_with_period(): true on the cron ticks where `ms` have elapsed.
pub fn run_with_period(srv: &Server, ms: i64) -> bool {
    let period = 1000 / srv.hz.clamp(1, 500) as i64;
    ms <= period || srv.cronloops % ((ms / period).max(1) as u64) == 0
}

/// The verbose "DB n: k keys (v volatile) in s slots HT." lines of serverCron.
fn log_databases_stats(srv: &Server) {
    for db in &srv.db {
        let (size, slots, vkeys) = (db.dict.len(), db.dict.slots(), db.expires.len());
        if size > 0 || vkeys > 0 {
            log::debug!("DB {}: {} keys ({} volatile) in {} slots HT.", db.id, size, vkeys, slots);
        }
    }
}

/// Redis: server.c trackInstantaneousMetric().
fn track_instantaneous_metric(srv: &mut Server, metric: Metric, current: u64) {
    let now = srv.mstime;
    let m = &mut srv.inst_metric[metric as usize];
    if m.last_sample_time_ms > 0 {
        let elapsed = (now - m.last_sample_time_ms).max(1) as u64;
        let ops = current.saturating_sub(m.last_sample_count);
        m.samples[m.idx] = ops * 1000 / elapsed;
        m.idx = (m.idx + 1) % STATS_METRIC_SAMPLES;
    }
    m.last_sample_time_ms = now;
    m.last_sample_count = current;
}

/// Redis: server.c getInstantaneousMetric(): the mean of the samples.
pub fn get_instantaneous_metric(srv: &Server, metric: Metric) -> u64 {
    let m = &srv.inst_metric[metric as usize];
    m.samples.iter().sum::<u64>() / STATS_METRIC_SAMPLES as u64
}

/// Redis: REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME (ms).
pub const REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME: i64 = 5000;
/// Redis: CLIENTS_CRON_MIN_ITERATIONS.
const CLIENTS_CRON_MIN_ITERATIONS: usize = 5;

/// Redis: server.c clientsCron(): visits numclients/hz clients per call (at least a few),
/// so each is seen about once a second: idle timeouts, then the query and reply buffers
/// resized to what the client recently needed.
fn clients_cron(srv: &mut Server) {
    let numclients = srv.client_fds.len();
    let mut iterations = numclients / srv.config.hz.max(1) as usize;
    if iterations < CLIENTS_CRON_MIN_ITERATIONS {
        iterations = numclients.min(CLIENTS_CRON_MIN_ITERATIONS);
    }
    let slots = srv.clients.len();
    let mut idle = Vec::new();
    let mut visited = 0;
    let mut scanned = 0;
    while visited < iterations && scanned < slots {
        let slot = srv.clients_cron_cursor % slots;
        srv.clients_cron_cursor = slot + 1;
        scanned += 1;
        let Some(mut c) = srv.clients.get_mut(slot).and_then(Option::take) else { continue };
        visited += 1;
        if clients_cron_handle_timeout(srv, &c) {
            idle.push(c.id);
        }
        clients_cron_resize_buffers(srv, &mut c);
        if let Some(place) = srv.clients.get_mut(slot) {
            *place = Some(c);
        }
    }
    for id in idle {
        if let Some(c) = srv.take_client_by_id(id) {
            log::debug!("Closing idle client");
            networking::free_client(srv, c);
        }
    }
}

/// Redis: timeout.c clientsCronHandleTimeout() for clients that are not blocked: true when
/// the client was idle for longer than `timeout`.
fn clients_cron_handle_timeout(srv: &Server, c: &networking::Client) -> bool {
    // Redis exempts replicas, the master link, blocked clients and Pub/Sub subscribers.
    let exempt = networking::CLIENT_SLAVE | networking::CLIENT_MASTER | networking::CLIENT_BLOCKED | networking::CLIENT_PUBSUB;
    srv.config.timeout != 0 && c.flags & exempt == 0 && srv.unixtime - c.last_interaction > srv.config.timeout as i64
}

/// Redis: server.c clientsCronResizeQueryBuffer() and clientsCronResizeOutputBuffer().
fn clients_cron_resize_buffers(srv: &mut Server, c: &mut networking::Client) {
    c.clients_cron_resize_query_buffer(srv.unixtime);
    if !srv.reply_buffer_resizing_enabled {
        return;
    }
    match c.reply.clients_cron_resize_output_buffer(srv.mstime, srv.reply_buffer_peak_reset_time) {
        Some(crate::reply::BufferResize::Shrunk) => srv.stat_reply_buffer_shrinks += 1,
        Some(crate::reply::BufferResize::Expanded) => srv.stat_reply_buffer_expands += 1,
        None => {}
    }
}

/// Redis: server.c databasesCron(): active expiry, then resizing and rehashing.
fn databases_cron(srv: &mut Server) {
    if srv.active_expire_enabled && srv.masterhost.is_none() {
        crate::expire::active_expire_cycle(srv, crate::expire::ExpireCycle::Slow);
    }
    if srv.has_active_child() {
        return;
    }
    for db in srv.db.iter_mut() {
        if db.dict.needs_resize() {
            db.dict.resize();
        }
        if db.expires.needs_resize() {
            db.expires.resize();
        }
    }
    if srv.config.activerehashing {
        for db in srv.db.iter_mut() {
            if db.dict.is_rehashing() {
                db.dict.rehash_milliseconds(1);
                break;
            }
            if db.expires.is_rehashing() {
                db.expires.rehash_milliseconds(1);
                break;
            }
        }
    }
}

/// Redis: server.c beforeSleep(): the work done before each wait for events.
pub fn before_sleep(srv: &mut Server) {
    srv.update_cached_time();
    if srv.active_expire_enabled && srv.masterhost.is_none() {
        crate::expire::active_expire_cycle(srv, crate::expire::ExpireCycle::Fast);
    }
    crate::blocked::handle_blocked_clients_timeout(srv);
    process_unblocked_clients(srv);
    // WAIT's satisfied clients, then GETACK if one blocked this turn.
    crate::replication::master::replication_before_sleep(srv);
    // Replicas' ACKs may have completed a FAILOVER's wait (Redis: updateFailoverStatus()).
    crate::replication::failover::update_failover_status(srv);
    crate::blocked::handle_clients_blocked_on_keys(srv);
    crate::tracking::tracking_broadcast_invalidation_messages(srv);
    networking::handle_clients_with_pending_writes(srv);
    networking::free_clients_in_async_free_queue(srv);
    // Last, once replies are on their way: a slice of lazy freeing (Redis: bio thread).
    crate::lazyfree::lazyfree_step(srv);
}

/// Redis: server.c processCommand(): lookup, the checks of §1.6 of the interop facts, then
/// call(). The client's command is in `c.argv`.
pub fn process_command(srv: &mut Server, c: &mut Client) {
    let name = c.argv.get(0);
    // The client's previous command, when this one has the same name: a command name is
    // neither "post" nor "host:", so the security check cannot fire and is skipped too.
    let hint = c.lastcmd.filter(|&id| srv.commands.is_plain_command_named(id, name));
    if hint.is_none() && (util::str_eq_ignore_case(name, b"post") || util::str_eq_ignore_case(name, b"host:")) {
        return security_warning_command(srv, c);
    }
    let arg1 = (c.argv.len() > 1).then(|| c.argv.get(1));
    let lookup = match hint {
        Some(id) => Lookup::Found(id),
        None => srv.commands.lookup_command(name, arg1),
    };
    let id = match lookup {
        Lookup::Found(id) => {
            c.lastcmd = Some(id);
            id
        }
        Lookup::UnknownSubcommand(parent) => {
            c.lastcmd = None;
            let sub = c.argv.get(1);
            let mut msg = b"unknown subcommand '".to_vec();
            msg.extend_from_slice(&sub[..sub.len().min(128)]);
            let parent_name = srv.commands.cmds[parent].fullname.to_uppercase();
            msg.extend_from_slice(format!("'. Try {} HELP.", parent_name).as_bytes());
            return reject_command_bytes(srv, c, None, &msg);
        }
        Lookup::Unknown => {
            // Redis: c->cmd = c->lastcmd = lookupCommand(...): CLIENT LIST then says cmd=NULL.
            c.lastcmd = None;
            let msg = unknown_command_error(c);
            return reject_command_bytes(srv, c, None, &msg);
        }
    };
    let (arity, flags) = (srv.commands.cmds[id].def.arity, srv.commands.cmds[id].def.flags);
    let argc = c.argv.len() as i32;
    if (arity > 0 && arity != argc) || argc < -arity {
        let msg = format!("wrong number of arguments for '{}' command", srv.commands.cmds[id].fullname);
        return reject_command(srv, c, Some(id), &msg);
    }
    if flags & CMD_PROTECTED != 0 && !protected_command_allowed(srv, c) {
        return reject_command(srv, c, Some(id), PROTECTED_DEBUG_ERR);
    }
    if srv.auth_required() && !c.authenticated && flags & CMD_NO_AUTH == 0 {
        return reject_command(srv, c, Some(id), "-NOAUTH Authentication required.");
    }
    let in_multi = c.flags & networking::CLIENT_MULTI != 0;
    if in_multi && flags & CMD_NO_MULTI != 0 {
        return reject_command(srv, c, Some(id), "Command not allowed inside a transaction");
    }
    if srv.config.maxmemory > 0 && crate::evict::process_command_must_reject_oom(srv, c, id, flags) {
        return reject_command(srv, c, Some(id), crate::evict::OOM_ERR);
    }
    crate::tracking::tracking_before_command(srv, c);
    // The next checks refuse nothing while their feature is off; each asks the condition
    // its check starts with before calling it, so the common command makes no call: a
    // failed last BGSAVE (MISCONF), min-replicas-to-write (NOREPLICAS), a master (READONLY,
    // MASTERDOWN).
    if !srv.lastbgsave_status_ok {
        if let Some(msg) = crate::rdb::background::deny_write_on_disk_error(srv, c, id, flags) {
            return reject_command(srv, c, Some(id), msg);
        }
    }
    if srv.config.min_replicas_to_write != 0 {
        if let Some(msg) = crate::replication::master::deny_write_for_min_replicas(srv, c, id, flags) {
            return reject_command(srv, c, Some(id), msg);
        }
    }
    let has_master = srv.masterhost.is_some();
    if has_master {
        if let Some(msg) = crate::replication::replica::deny_write_on_read_only_replica(srv, c, id, flags) {
            return reject_command(srv, c, Some(id), msg);
        }
    }
    // Only a subset of commands in the context of Pub/Sub in RESP2; RESP3 has no limits.
    if c.flags & networking::CLIENT_PUBSUB != 0 && c.reply.resp == 2 {
        let fullname = &srv.commands.cmds[id].fullname;
        if !crate::pubsub::allowed_in_resp2_pubsub_context(fullname) {
            let msg = crate::pubsub::resp2_pubsub_context_error(fullname);
            return reject_command(srv, c, Some(id), &msg);
        }
    }
    if has_master {
        if let Some(msg) = crate::replication::replica::deny_stale_command(srv, c, id, flags) {
            return reject_command(srv, c, Some(id), msg);
        }
    }
    // Redis: while loading, only commands flagged CMD_LOADING run (an EXEC only if every
    // queued command is one).
    if srv.loading && !srv.async_loading && !command_allowed_while_loading(srv, c, id, flags) {
        return reject_command(srv, c, Some(id), "-LOADING Redis is loading the dataset in memory");
    }
    // Redis: during async loading only commands flagged NO_ASYNC_LOADING are refused.
    if srv.async_loading && command_denied_while_async_loading(srv, c, id, flags) {
        return reject_command(srv, c, Some(id), "-LOADING Redis is loading the dataset in memory");
    }
    // An EXEC counts as a write when one of its queued commands is.
    let pause_flags = if in_multi && crate::multi::is_exec_command(srv, id) { flags | c.mstate.cmd_flags } else { flags };
    if srv.command_is_paused(c, pause_flags) {
        // Redis: blockPostponeClient(). The parsed command stays in argv until resumed.
        c.flags |= networking::CLIENT_BLOCKED;
        srv.postponed_clients.push(c.id);
        return;
    }
    if in_multi && crate::multi::is_queued_in_multi(&srv.commands.cmds[id].fullname) {
        return crate::multi::queue_multi_command(srv, c, id, flags);
    }
    call(srv, c, id);
    // Redis 7.0 serves clients blocked on the keys this command fed before the next command
    // of the pipeline runs (a pipelined LPUSH; LPOP hands the element to a waiting BLPOP
    // first). A re-run of a blocked command is already inside that pass, which loops until
    // no key is left ready.
    if !c.reprocessing && srv.blocking.has_ready_keys() {
        crate::blocked::handle_clients_blocked_on_keys(srv);
        // What those commands invalidated for `c`, out of `srv.clients` meanwhile.
        crate::tracking::tracking_deliver_late_messages(srv, c);
    }
}

/// Redis: blocked.c processUnblockedClients(): runs the waiting command of each resumed
/// client, then whatever else its query buffer holds.
pub fn process_unblocked_clients(srv: &mut Server) {
    let ids = std::mem::take(&mut srv.unblocked_clients);
    for id in ids {
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        c.flags &= !networking::CLIENT_BLOCKED;
        process_command(srv, &mut c);
        if c.flags & networking::CLIENT_BLOCKED == 0 {
            c.reset_client();
            networking::process_input_buffer(srv, &mut c);
        }
        srv.after_client_activity(c);
    }
}

const PROTECTED_DEBUG_ERR: &str = "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

/// Redis: the "unknown command" text: the name and up to 128 bytes of arguments, each as
/// `'arg' `, the last one cut to fit (byte counts, as the C `%.*s` does).
fn unknown_command_error(c: &Client) -> Vec<u8> {
    let name = c.argv.get(0);
    let mut msg = b"unknown command '".to_vec();
    msg.extend_from_slice(&name[..name.len().min(128)]);
    msg.extend_from_slice(b"', with args beginning with: ");
    let mut args: Vec<u8> = Vec::new();
    for arg in c.argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(&arg[..arg.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    msg.extend_from_slice(&args);
    msg
}

/// Redis: server.c mustObeyClient()-free part of the enable-debug-command check.
fn protected_command_allowed(srv: &Server, c: &Client) -> bool {
    use crate::config::ProtectedConfig;
    match srv.config.enable_debug_command {
        ProtectedConfig::Yes => true,
        ProtectedConfig::No => false,
        ProtectedConfig::Local => is_local_client(c),
    }
}

/// Redis: networking.c islocalClient(): unix socket or a loopback address.
pub fn is_local_client(c: &Client) -> bool {
    let ip = c.addr.rsplit_once(':').map_or(c.addr.as_str(), |(ip, _port)| ip);
    c.flags & networking::CLIENT_UNIX_SOCKET != 0 || ip == "127.0.0.1" || ip == "::1"
}

/// Redis: processCommand()'s is_denyloading_command, negated.
fn command_allowed_while_loading(srv: &Server, c: &Client, id: usize, flags: u64) -> bool {
    let exec_of_denied = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_inv_flags & CMD_LOADING != 0;
    flags & CMD_LOADING != 0 && !exec_of_denied
}

/// Redis: processCommand()'s is_deny_async_loading_command: the command (or a command an
/// EXEC would run) is flagged NO_ASYNC_LOADING.
fn command_denied_while_async_loading(srv: &Server, c: &Client, id: usize, flags: u64) -> bool {
    let exec_of_denied = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_flags & CMD_NO_ASYNC_LOADING != 0;
    flags & CMD_NO_ASYNC_LOADING != 0 || exec_of_denied
}

/// Redis: server.c rejectCommand(): the error reply plus rejected-call statistics.
fn reject_command(srv: &mut Server, c: &mut Client, id: Option<usize>, msg: &str) {
    reject_command_bytes(srv, c, id, msg.as_bytes());
}

fn reject_command_bytes(srv: &mut Server, c: &mut Client, id: Option<usize>, msg: &[u8]) {
    crate::multi::flag_transaction(c);
    crate::tracking::tracking_reset_caching(srv, c, id);
    if let Some(cmd) = id.and_then(|id| srv.commands.cmds.get_mut(id)) {
        cmd.stats.rejected_calls += 1;
    }
    if id.is_some_and(|id| crate::multi::is_exec_command(srv, id)) {
        crate::multi::exec_command_abort(srv, c, msg);
    } else {
        c.reply.add_reply_error_bytes(msg);
    }
    record_error_replies(srv, c);
}

/// Redis: networking.c afterErrorReply(): INFO errorstats and total_error_replies.
#[inline]
fn record_error_replies(srv: &mut Server, c: &mut Client) -> bool {
    if c.reply.errors.is_empty() {
        return false;
    }
    for code in c.reply.errors.drain(..) {
        srv.stat_total_error_replies += 1;
        *srv.errors.entry(code).or_insert(0) += 1;
    }
    true
}

/// Redis: server.c securityWarningCommand().
fn security_warning_command(srv: &mut Server, c: &mut Client) {
    let _ = srv;
    log::warn!("Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: commands to Redis. This is likely due to an attacker attempting to use Cross Protocol Scripting to compromise your Redis instance. Connection aborted.");
    c.flags |= networking::CLIENT_CLOSE_ASAP | CLIENT_CLOSE_AFTER_REPLY;
    c.reply.discard();
}

/// The client flags one call() sets for itself (Redis: CLIENT_FORCE_REPL,
/// CLIENT_PREVENT_REPL_PROP).
const PROPAGATION_OVERRIDES: u64 =
    crate::replication::propagate::CLIENT_FORCE_REPL | crate::replication::propagate::CLIENT_PREVENT_REPL_PROP;

/// Redis: server.c call(): runs the command, keeps its statistics and queues its write for
/// the replication stream.
pub fn call(srv: &mut Server, c: &mut Client, id: usize) {
    let Some(proc_) = srv.commands.cmds.get(id).and_then(|cmd| cmd.proc_) else { return };
    c.cmd = Some(id);
    // The commands of an EXEC run nested: they keep the EXEC's clock (Redis:
    // fixed_time_expire), its cmd= in CLIENT LIST and its reply-skip state.
    let nested = srv.in_nested_call > 0;
    if !nested {
        // Redis sets lastcmd before the call: CLIENT LIST shows the running command as cmd=.
        c.lastcmd = Some(id);
        srv.current_client_id = c.id;
        srv.cmd_time_snapshot = util::mstime();
    }
    c.reply.muted = c.flags & (networking::CLIENT_REPLY_OFF | networking::CLIENT_REPLY_SKIP) != 0;
    let start_us = util::monotonic_us();
    let tracking_before = srv.tracking.tracking_clients();
    let reply_mark = c.reply.add_reply_deferred_len();
    let dirty_before = srv.dirty;
    let repl_offset_before = srv.repl.master_repl_offset;
    // Redis: call() clears the propagation overrides for this command and restores the
    // caller's afterwards (an EXEC's commands each decide for themselves).
    let prop_flags = c.flags & PROPAGATION_OVERRIDES;
    c.flags &= !PROPAGATION_OVERRIDES;
    srv.in_nested_call += 1;
    proc_(srv, c);
    srv.in_nested_call -= 1;
    let dirty = srv.dirty.saturating_sub(dirty_before);
    let is_exec = crate::multi::is_exec_command(srv, id);
    // Redis: alsoPropagate() returns at once when nothing would receive the op. Asked here
    // first, so that a write does not copy its arguments for nobody.
    if crate::replication::propagate::should_propagate(srv) {
        crate::replication::propagate::propagate_after_call(srv, c, dirty, is_exec);
    }
    c.flags = (c.flags & !PROPAGATION_OVERRIDES) | prop_flags;
    // Redis: afterCommand() -> propagatePendingCommands(): the unit is complete (nothing to
    // do, and no call, when the command queued nothing).
    if !nested && !srv.repl.also_propagate.is_empty() {
        crate::replication::propagate::propagate_pending_commands(srv);
    }
    // Redis: c->woff, the offset WAIT waits for: right after this client's last write.
    if !nested && srv.repl.master_repl_offset != repl_offset_before {
        c.woff = srv.repl.master_repl_offset;
    }
    crate::pubsub::deliver_pending_pushes(srv, c, reply_mark);
    if tracking_may_have_work(srv, tracking_before, is_exec) {
        crate::tracking::tracking_after_call(srv, c, id, reply_mark, nested);
    }
    let duration = util::monotonic_us().saturating_sub(start_us);
    // Most commands reply no error: the bookkeeping call only when there is one.
    let failed = !c.reply.errors.is_empty() && record_error_replies(srv, c);
    // A command that blocked is counted once, when it is finally served (Redis:
    // updateStatsOnUnblock()); MONITOR sees it once, when it first arrived.
    let blocked = c.flags & networking::CLIENT_BLOCKED != 0;
    let flags = srv.commands.cmds.get(id).map_or(0, |cmd| cmd.def.flags);
    if !blocked {
        update_command_stats(srv, id, duration, failed);
        srv.stat_numcommands += 1;
        log_command_latency(srv, c, flags, duration);
    }
    // With no reply block queued and no soft-limit timer running the check is a no-op
    // (Redis makes it only when a reply block is added).
    if c.reply.list_len() > 0 || c.obuf_soft_limit_reached_time != 0 {
        networking::close_client_on_output_buffer_limit_reached(srv, c);
    }
    if !nested {
        srv.current_client_id = 0;
        update_reply_skip_flags(c);
    }
    if !srv.monitors.is_empty() && !c.reprocessing && flags & (CMD_SKIP_MONITOR | CMD_ADMIN) == 0 {
        replication_feed_monitors(srv, c);
    }
}

/// Whether call() must run the tracking step. Its work (invalidations for the caller,
/// messages that reached it while it ran, keys to remember, CACHING reset) exists only if
/// some client tracked keys before or after the command: only a CLIENT TRACKING command
/// turns tracking on, so a single command that starts and ends with no tracking client had
/// none in between. An EXEC may switch it on and off again among its commands.
fn tracking_may_have_work(srv: &Server, tracking_before: usize, is_exec: bool) -> bool {
    is_exec || tracking_before > 0 || srv.tracking.tracking_clients() > 0
}

/// Redis: the latency monitor and slow log part of call(): the "fast-command" event for
/// CMD_FAST commands, "command" for the others, then the slow log. A command that blocked
/// is logged once, when its re-run finally serves it (Redis: updateStatsOnUnblock()).
fn log_command_latency(srv: &mut Server, c: &Client, flags: u64, duration_us: u64) {
    // latencyAddSampleIfNeeded() records nothing while the monitor is off (threshold 0).
    if srv.config.latency_monitor_threshold != 0 {
        let event = if flags & CMD_FAST != 0 { "fast-command" } else { "command" };
        crate::latency::latency_add_sample_if_needed(srv, event, (duration_us / 1000) as i64);
    }
    if slowlog_may_change(srv, duration_us) {
        crate::slowlog::slowlog_push_current_command(srv, c, flags, duration_us);
    }
}

/// Whether slowlogPushEntryIfNeeded() would change the slow log: the command is slow
/// enough to be logged, or the log is longer than slowlog-max-len (lowered by CONFIG SET),
/// which it trims after every command. Otherwise the call is skipped, a fast command's
/// common case.
#[inline]
fn slowlog_may_change(srv: &Server, duration_us: u64) -> bool {
    let slower_than = srv.config.slowlog_log_slower_than;
    let logged = slower_than >= 0 && i64::try_from(duration_us).unwrap_or(i64::MAX) >= slower_than;
    logged || srv.slowlog.len() as u64 > srv.config.slowlog_max_len
}

/// The per-command counters of call(): INFO commandstats and latencystats.
fn update_command_stats(srv: &mut Server, id: usize, duration_us: u64, failed: bool) {
    let tracking = srv.config.latency_tracking;
    let Some(cmd) = srv.commands.cmds.get_mut(id) else { return };
    cmd.stats.calls += 1;
    cmd.stats.microseconds += duration_us;
    cmd.stats.failed_calls += u64::from(failed);
    if tracking {
        crate::hdr_histogram::record_latency_ns(&mut cmd.stats.latency_histogram, duration_us * 1000);
    }
}

/// Redis: the CLIENT_REPLY_SKIP(_NEXT) bookkeeping of resetClient(): SKIP mutes exactly
/// the command after CLIENT REPLY SKIP.
fn update_reply_skip_flags(c: &mut Client) {
    c.flags &= !networking::CLIENT_REPLY_SKIP;
    if c.flags & networking::CLIENT_REPLY_SKIP_NEXT != 0 {
        c.flags |= networking::CLIENT_REPLY_SKIP;
        c.flags &= !networking::CLIENT_REPLY_SKIP_NEXT;
    }
    c.reply.muted = false;
}

/// Redis: replication.c replicationFeedMonitors(): `+<time> [<db> <addr>] "arg" ...`.
pub(crate) fn replication_feed_monitors(srv: &mut Server, c: &Client) {
    let now = util::ustime();
    let mut line = format!("+{}.{:06} ", now / 1_000_000, now % 1_000_000).into_bytes();
    if c.flags & networking::CLIENT_UNIX_SOCKET != 0 {
        let path = srv.config.unixsocket.clone().unwrap_or_default();
        line.extend_from_slice(format!("[{} unix:{}] ", c.db, path).as_bytes());
    } else {
        line.extend_from_slice(format!("[{} {}] ", c.db, c.addr).as_bytes());
    }
    for (i, arg) in c.argv.original().iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        util::sds_cat_repr(&mut line, arg);
    }
    line.extend_from_slice(b"\r\n");
    for id in srv.monitors.clone() {
        let Some(mut m) = srv.take_client_by_id(id) else { continue };
        m.reply.add_reply_proto(&line);
        networking::close_client_on_output_buffer_limit_reached(srv, &mut m);
        srv.put_client(m);
        srv.queue_reply_write(id);
    }
}

/// Redis: server.c resetServerStats(): what CONFIG RESETSTAT clears.
pub fn reset_server_stats(srv: &mut Server) {
    srv.stat_numcommands = 0;
    srv.stat_numconnections = 0;
    srv.stat_expiredkeys = 0;
    srv.stat_expired_stale_perc = 0.0;
    srv.stat_expired_time_cap_reached_count = 0;
    srv.stat_evictedkeys = 0;
    srv.stat_keyspace_hits = 0;
    srv.stat_keyspace_misses = 0;
    srv.stat_rejected_conn = 0;
    srv.stat_net_input_bytes = 0;
    srv.stat_net_output_bytes = 0;
    srv.stat_total_reads_processed = 0;
    srv.stat_total_writes_processed = 0;
    srv.stat_reply_buffer_shrinks = 0;
    srv.stat_reply_buffer_expands = 0;
    srv.repl.stat_sync_full = 0;
    srv.repl.stat_sync_partial_ok = 0;
    srv.repl.stat_sync_partial_err = 0;
    srv.repl.stat_net_repl_output_bytes = 0;
    srv.stat_unexpected_error_replies = 0;
    srv.stat_total_error_replies = 0;
    srv.errors.clear();
    srv.lazyfree.reset_stats();
    srv.evict.reset_stats();
    srv.stat_fork_time = 0;
    srv.stat_total_forks = 0;
    srv.stat_rdb_saves = 0;
    srv.inst_metric = Default::default();
    for cmd in srv.commands.cmds.iter_mut() {
        cmd.stats = Default::default();
    }
}

/// Redis: server.c flags of prepareForShutdown().
#[derive(Debug, Default, Clone, Copy)]
pub struct ShutdownFlags {
    pub nosave: bool,
    pub save: bool,
    /// Do not wait for lagging replicas.
    pub now: bool,
    /// Exit even when the final save fails.
    pub force: bool,
}

impl ShutdownFlags {
    /// The SHUTDOWN_* bits of `shutdown-on-sigterm` / `shutdown-on-sigint`.
    pub fn from_config_bits(bits: u32) -> ShutdownFlags {
        use crate::config::{SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE};
        ShutdownFlags {
            nosave: bits & SHUTDOWN_NOSAVE != 0,
            save: bits & SHUTDOWN_SAVE != 0,
            now: bits & SHUTDOWN_NOW != 0,
            force: bits & SHUTDOWN_FORCE != 0,
        }
    }
}

/// Redis 7.0 serverCron(): the flags a SIGTERM / SIGINT shutdown uses.
fn shutdown_flags_for_signal(srv: &Server) -> ShutdownFlags {
    let bits = match LAST_SIGNAL.load(Ordering::SeqCst) {
        libc::SIGINT => srv.config.shutdown_on_sigint,
        libc::SIGTERM => srv.config.shutdown_on_sigterm,
        _ => 0,
    };
    ShutdownFlags::from_config_bits(bits)
}

/// A SIGTERM or SIGINT is waiting for server_cron (Redis: server.shutdown_asap).
pub fn shutdown_signal_pending() -> bool {
    SHUTDOWN_ASAP.load(Ordering::SeqCst)
}

/// Forgets the signal's request (SHUTDOWN ABORT, or a shutdown that failed).
pub fn clear_shutdown_signal() {
    SHUTDOWN_ASAP.store(false, Ordering::SeqCst);
}

/// Redis: server.c, ae_main with our hooks: set before_sleep, then loop until stopped.
pub fn run(srv: &mut Server) {
    srv.el.ae_set_before_sleep_proc(Some(before_sleep));
    ae::ae_main(srv);
}

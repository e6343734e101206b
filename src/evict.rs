//! Maxmemory and eviction: Redis's evict.c. When `maxmemory` is set, processCommand calls
//! [`perform_evictions`] before every command (CONFIG SET maxmemory starts the time event
//! instead); it deletes keys chosen by the `maxmemory-policy` until used memory is back
//! under the limit, or until its time slice (from `maxmemory-eviction-tenacity`) runs out,
//! in which case a zero-delay time event ([`eviction_time_proc`]) keeps evicting a slice
//! per event-loop turn. Commands flagged `denyoom` (and everything queued in MULTI) are
//! refused with -OOM while nothing more can be evicted.
//!
//! The LRU/LFU policies keep Redis's eviction pool: 16 candidates sorted by score (idle
//! time, inverted frequency or expire time), refilled by sampling `maxmemory-samples` keys
//! of every db per eviction, so the approximation quality matches Redis's. The per-object
//! clock helpers (LRU_CLOCK, estimateObjectIdleTime, LFUDecrAndReturn, LFULogIncr) live on
//! [`crate::object::AccessClock`], next to OBJECT FREQ / IDLETIME that read them.

use std::time::{Duration, Instant};

use crate::ae::AE_NOMORE;
use crate::command_def::CMD_DENYOOM;
use crate::config::MaxmemoryPolicy;
use crate::db::RedisDb;
use crate::networking::{Client, CLIENT_MULTI};
use crate::object::AccessClock;
use crate::server::Server;

/// Redis: EVPOOL_SIZE.
pub const EVPOOL_SIZE: usize = 16;
/// Redis: EVPOOL_CACHED_SDS_SIZE: keys up to this length reuse their pool slot's buffer.
const EVPOOL_CACHED_SDS_SIZE: usize = 255;
/// Redis: shared.oomerr.
pub const OOM_ERR: &str = "-OOM command not allowed when used memory > 'maxmemory'.";
/// While evicting lazily, every this many keys the loop checks the memory again.
const KEYS_PER_CHECK: u64 = 16;

/// Redis: EVICT_OK / EVICT_RUNNING / EVICT_FAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictResult {
    /// Under the limit, or evictions are not allowed right now.
    Ok,
    /// Over the limit; the eviction time event goes on freeing.
    Running,
    /// Over the limit with nothing left to evict (or the policy forbids it).
    Fail,
}

/// What getMaxmemoryState() reports when the limit is exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverLimit {
    /// zmalloc_used_memory().
    pub total: usize,
    /// `total` minus the memory not counted for eviction.
    pub logical: usize,
    /// How much must be freed to get back under maxmemory.
    pub tofree: usize,
}

/// Redis: struct evictionPoolEntry. `filled` replaces the NULL key; `key` keeps its buffer
/// across uses (Redis's `cached` sds).
#[derive(Debug, Clone)]
struct PoolEntry {
    idle: u64,
    filled: bool,
    key: Vec<u8>,
    dbid: usize,
}

/// Redis: EvictionPoolLRU. Filled entries form a prefix, ascending by score: the best
/// candidate is the rightmost.
#[derive(Debug)]
pub struct EvictionPool {
    entries: Vec<PoolEntry>,
}

/// The eviction state Redis keeps in statics and server fields.
#[derive(Debug)]
pub struct EvictionState {
    pool: EvictionPool,
    /// Redis: the static `next_db` of the random policies.
    next_db: usize,
    /// Redis: isEvictionProcRunning.
    proc_running: bool,
    /// Redis: server.stat_total_eviction_exceeded_time (microseconds).
    pub stat_total_eviction_exceeded_time: u64,
    /// Redis: server.stat_last_eviction_exceeded_time: since when memory is over the limit.
    pub stat_last_eviction_exceeded_time: Option<Instant>,
}

impl Default for EvictionState {
    fn default() -> Self {
        EvictionState {
            pool: EvictionPool::new(),
            next_db: 0,
            proc_running: false,
            stat_total_eviction_exceeded_time: 0,
            stat_last_eviction_exceeded_time: None,
        }
    }
}

impl EvictionState {
    /// Redis: the eviction part of resetServerStats() (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.stat_total_eviction_exceeded_time = 0;
        self.stat_last_eviction_exceeded_time = None;
    }

    /// INFO current_eviction_exceeded_time, in microseconds.
    pub fn current_exceeded_time_us(&self) -> u64 {
        self.stat_last_eviction_exceeded_time.map_or(0, |t| t.elapsed().as_micros() as u64)
    }

    /// INFO total_eviction_exceeded_time, in microseconds (the current episode included).
    pub fn total_exceeded_time_us(&self) -> u64 {
        self.stat_total_eviction_exceeded_time + self.current_exceeded_time_us()
    }
}

// ----------------------------------------------------------------------------------------
// Policies
// ----------------------------------------------------------------------------------------

/// How a policy scores a candidate: higher is evicted first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Score {
    /// Redis: MAXMEMORY_FLAG_LRU: the idle time.
    Lru,
    /// Redis: MAXMEMORY_FLAG_LFU: 255 minus the decayed frequency.
    Lfu,
    /// Redis: MAXMEMORY_VOLATILE_TTL: the sooner the expire the better.
    Ttl,
}

/// How a policy picks its victims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    NoEviction,
    /// The eviction pool, sampling every key (`allkeys`) or only the volatile ones.
    Pool { score: Score, allkeys: bool },
    /// A random key of the next non-empty db.
    Random { allkeys: bool },
}

fn strategy(policy: MaxmemoryPolicy) -> Strategy {
    use MaxmemoryPolicy::*;
    match policy {
        Noeviction => Strategy::NoEviction,
        AllkeysLru => Strategy::Pool { score: Score::Lru, allkeys: true },
        VolatileLru => Strategy::Pool { score: Score::Lru, allkeys: false },
        AllkeysLfu => Strategy::Pool { score: Score::Lfu, allkeys: true },
        VolatileLfu => Strategy::Pool { score: Score::Lfu, allkeys: false },
        VolatileTtl => Strategy::Pool { score: Score::Ttl, allkeys: false },
        AllkeysRandom => Strategy::Random { allkeys: true },
        VolatileRandom => Strategy::Random { allkeys: false },
    }
}

// ----------------------------------------------------------------------------------------
// Memory state
// ----------------------------------------------------------------------------------------

/// Redis: evict.c freeMemoryGetNotCountedMemory(): memory eviction must not count, since
/// evicting feeds it DELs: the replicas' output buffers and the AOF buffer. Redis 7.0
/// counts the part of its shared replication buffer beyond the backlog; here each replica
/// has its own output buffer next to the backlog, all of it replica-only memory, so their
/// sum is excluded (Redis 6's accounting). There is no AOF buffer yet.
pub fn free_memory_get_not_counted_memory(srv: &Server) -> usize {
    let replicas: u64 = srv
        .repl
        .slaves
        .iter()
        .filter_map(|id| srv.client_fds.get(id))
        .filter_map(|&fd| srv.clients.get(usize::try_from(fd).ok()?)?.as_deref())
        .map(crate::networking::get_client_output_buffer_memory_usage)
        .sum();
    usize::try_from(replicas).unwrap_or(usize::MAX)
}

/// Redis: evict.c getMaxmemoryState(): Ok(used memory) when within the limit (or there is
/// none), else what is over it.
pub fn get_maxmemory_state(srv: &Server) -> Result<usize, OverLimit> {
    let reported = crate::zmalloc::used_memory();
    let maxmemory = usize::try_from(srv.config.maxmemory).unwrap_or(usize::MAX);
    if maxmemory == 0 || reported <= maxmemory {
        return Ok(reported);
    }
    maxmemory_state(maxmemory, reported, free_memory_get_not_counted_memory(srv))
}

/// The arithmetic of getMaxmemoryState() for an exceeded `reported` figure.
fn maxmemory_state(maxmemory: usize, reported: usize, not_counted: usize) -> Result<usize, OverLimit> {
    let logical = reported.saturating_sub(not_counted);
    if logical <= maxmemory {
        return Ok(reported);
    }
    Err(OverLimit { total: reported, logical, tofree: logical - maxmemory })
}

/// Redis: evict.c evictionTimeLimitUs(): tenacity 0..10 is linear up to 500us, then a 15%
/// geometric progression (about 2 minutes at 99), and 100 means no limit.
pub fn eviction_time_limit_us(tenacity: i32) -> u64 {
    let tenacity = tenacity.clamp(0, 100);
    if tenacity <= 10 {
        return 50 * tenacity as u64;
    }
    if tenacity < 100 {
        return (500.0 * 1.15f64.powi(tenacity - 10)) as u64;
    }
    u64::MAX
}

// ----------------------------------------------------------------------------------------
// The eviction pool
// ----------------------------------------------------------------------------------------

impl EvictionPool {
    /// Redis: evict.c evictionPoolAlloc(): every slot starts with a cached key buffer.
    fn new() -> EvictionPool {
        let entry = PoolEntry { idle: 0, filled: false, key: Vec::with_capacity(EVPOOL_CACHED_SDS_SIZE), dbid: 0 };
        EvictionPool { entries: vec![entry; EVPOOL_SIZE] }
    }

    /// The insertion step of evictionPoolPopulate(): keeps the pool sorted ascending by
    /// score; when full, the worst candidate makes room unless the new one is worse still.
    fn insert(&mut self, idle: u64, key: &[u8], dbid: usize) {
        let pool = &mut self.entries;
        let last = EVPOOL_SIZE - 1;
        let mut k = 0;
        while k < EVPOOL_SIZE && pool[k].filled && pool[k].idle < idle {
            k += 1;
        }
        if k == 0 && pool[last].filled {
            return;
        }
        if k < EVPOOL_SIZE && !pool[k].filled {
            // An empty slot: nothing to move.
        } else if !pool[last].filled {
            // Room on the right: shift k.. one step right (the empty last slot comes to k).
            pool[k..].rotate_right(1);
        } else {
            // Full: drop the worst (leftmost) by shifting ..k one step left.
            k -= 1;
            pool[..=k].rotate_left(1);
        }
        let entry = &mut pool[k];
        entry.key.clear();
        if key.len() > EVPOOL_CACHED_SDS_SIZE {
            entry.key = key.to_vec();
        } else {
            entry.key.extend_from_slice(key);
        }
        entry.idle = idle;
        entry.dbid = dbid;
        entry.filled = true;
    }

    /// Empties slot `k` (a long key gives its buffer back, as Redis frees its sdsdup).
    fn clear(&mut self, k: usize) {
        let Some(entry) = self.entries.get_mut(k) else { return };
        entry.filled = false;
        entry.idle = 0;
        if entry.key.capacity() > EVPOOL_CACHED_SDS_SIZE {
            entry.key = Vec::with_capacity(EVPOOL_CACHED_SDS_SIZE);
        }
    }

    /// The best-first scan of performEvictions(): each candidate leaves the pool; the
    /// first that still exists (in the sampled dict) is the victim, the others are ghosts.
    fn take_best(&mut self, dbs: &[RedisDb], allkeys: bool) -> Option<(usize, Vec<u8>)> {
        for k in (0..EVPOOL_SIZE).rev() {
            let Some(entry) = self.entries.get(k).filter(|e| e.filled) else { continue };
            let dbid = entry.dbid;
            let exists = dbs.get(dbid).is_some_and(|db| {
                if allkeys {
                    db.dict.contains_key(&entry.key)
                } else {
                    db.expires.contains_key(&entry.key)
                }
            });
            let key = exists.then(|| entry.key.clone());
            self.clear(k);
            if let Some(key) = key {
                return Some((dbid, key));
            }
        }
        None
    }
}

/// Redis: evict.c evictionPoolPopulate(): samples `samples` keys of one db (all keys or
/// the volatile ones) and offers each to the pool with the policy's score.
fn eviction_pool_populate(pool: &mut EvictionPool, db: &mut RedisDb, score: Score, allkeys: bool, clock: &AccessClock, samples: usize) {
    let dbid = db.id;
    if allkeys {
        for (key, o) in db.dict.some_entries(samples) {
            pool.insert(object_score(score, o.lru(), clock), key, dbid);
        }
        return;
    }
    let RedisDb { dict, expires, .. } = db;
    for (key, &when) in expires.some_entries(samples) {
        let idle = match score {
            Score::Ttl => u64::MAX - when as u64,
            Score::Lru | Score::Lfu => {
                // The value lives in the main dict; skip a key missing there.
                let Some(o) = dict.get(key) else { continue };
                object_score(score, o.lru(), clock)
            }
        };
        pool.insert(idle, key, dbid);
    }
}

/// The "idle" score of evictionPoolPopulate() for an object's `lru` field.
fn object_score(score: Score, lru: u32, clock: &AccessClock) -> u64 {
    match score {
        Score::Lru => clock.estimate_object_idle_time(lru),
        Score::Lfu => 255 - u64::from(clock.lfu_decr_and_return(lru)),
        // Only reached for allkeys policies, which never score by TTL.
        Score::Ttl => 0,
    }
}

/// The pool branch of performEvictions(): refills the pool from every db until a
/// candidate that still exists comes out; None when there is no key to evict.
fn select_from_pool(srv: &mut Server, score: Score, allkeys: bool) -> Option<(usize, Vec<u8>)> {
    let clock = AccessClock::of(srv);
    let samples = usize::try_from(srv.config.maxmemory_samples).unwrap_or(1).max(1);
    loop {
        let mut total_keys = 0;
        let Server { db: dbs, evict, .. } = &mut *srv;
        for db in dbs.iter_mut() {
            let keys = if allkeys { db.dict.len() } else { db.expires.len() };
            if keys != 0 {
                eviction_pool_populate(&mut evict.pool, db, score, allkeys, &clock, samples);
                total_keys += keys;
            }
        }
        if total_keys == 0 {
            return None;
        }
        if let Some(victim) = evict.pool.take_best(dbs, allkeys) {
            return Some(victim);
        }
    }
}

/// The random branch of performEvictions(): a random key of the next db that has one,
/// visiting the dbs in turn across calls.
fn select_random(srv: &mut Server, allkeys: bool) -> Option<(usize, Vec<u8>)> {
    let dbnum = srv.db.len();
    for _ in 0..dbnum {
        srv.evict.next_db = srv.evict.next_db.wrapping_add(1);
        let j = srv.evict.next_db % dbnum;
        let db = srv.db.get_mut(j)?;
        let key = if allkeys {
            db.dict.random_entry().map(|(k, _)| k.to_vec())
        } else {
            db.expires.random_entry().map(|(k, _)| k.to_vec())
        };
        if let Some(key) = key {
            return Some((j, key));
        }
    }
    None
}

// ----------------------------------------------------------------------------------------
// performEvictions
// ----------------------------------------------------------------------------------------

/// Redis: evict.c isPerformEvictions(): not while loading, not on a replica that ignores
/// maxmemory, not while clients are paused (the dataset must stay still).
fn is_perform_evictions(srv: &Server) -> bool {
    if srv.loading {
        return false;
    }
    if srv.masterhost.is_some() && srv.config.replica_ignore_maxmemory {
        return false;
    }
    !srv.clients_are_paused()
}

/// Redis: evict.c performEvictions(): evicts until used memory is under maxmemory or the
/// time limit is reached (then the eviction time event carries on).
pub fn perform_evictions(srv: &mut Server) -> EvictResult {
    // Skipped as if eviction was never needed: no metrics either.
    if !is_perform_evictions(srv) {
        return EvictResult::Ok;
    }
    let result = match get_maxmemory_state(srv) {
        Ok(_) => EvictResult::Ok,
        Err(_) if srv.config.maxmemory_policy == MaxmemoryPolicy::Noeviction => EvictResult::Fail,
        Err(over) => evict_until_freed(srv, over.tofree),
    };
    update_eviction_metrics(srv, result);
    result
}

/// The eviction part of performEvictions(), timed as the "eviction-cycle" latency event.
fn evict_until_freed(srv: &mut Server, tofree: usize) -> EvictResult {
    let monitor = latency_start_monitor(srv);
    let result = eviction_loop(srv, tofree);
    latency_end_monitor(srv, "eviction-cycle", monitor);
    result
}

/// The loop of performEvictions(): deletes victims until `tofree` bytes were released,
/// nothing is left to evict, or the time slice is used up.
fn eviction_loop(srv: &mut Server, tofree: usize) -> EvictResult {
    let strategy = strategy(srv.config.maxmemory_policy);
    let limit = Duration::from_micros(eviction_time_limit_us(srv.config.maxmemory_eviction_tenacity));
    let lazy = srv.config.lazyfree_lazy_eviction;
    let start = Instant::now();
    let mut last_check = start;
    let mut mem_freed: i64 = 0;
    let mut keys_freed: u64 = 0;
    while mem_freed < tofree as i64 {
        let victim = match strategy {
            Strategy::Pool { score, allkeys } => select_from_pool(srv, score, allkeys),
            Strategy::Random { allkeys } => select_random(srv, allkeys),
            Strategy::NoEviction => None,
        };
        let Some((dbid, key)) = victim else {
            return wait_for_lazyfree(srv, start, limit);
        };
        mem_freed += evict_key(srv, dbid, &key, lazy);
        keys_freed += 1;
        if !keys_freed.is_multiple_of(KEYS_PER_CHECK) {
            continue;
        }
        if lazy {
            // Redis's lazyfree thread frees meanwhile: give our queue the same time.
            let now = Instant::now();
            srv.lazyfree.free_for(now - last_check);
            last_check = now;
            if get_maxmemory_state(srv).is_ok() {
                break;
            }
        }
        if start.elapsed() > limit {
            start_eviction_time_proc(srv);
            break;
        }
    }
    if srv.evict.proc_running {
        EvictResult::Running
    } else {
        EvictResult::Ok
    }
}

/// Deletes one victim the way Redis's eviction does (dbSyncDelete / dbAsyncDelete, then
/// the stats, WATCH, the "evicted" event and the DEL propagation); returns the bytes the
/// deletion itself released (negative if it grew memory).
fn evict_key(srv: &mut Server, dbid: usize, key: &[u8], lazy: bool) -> i64 {
    let before = crate::zmalloc::used_memory() as i64;
    let monitor = latency_start_monitor(srv);
    crate::db::db_generic_delete(srv, dbid, key, lazy);
    latency_end_monitor(srv, "eviction-del", monitor);
    let freed = before - crate::zmalloc::used_memory() as i64;
    srv.stat_evictedkeys += 1;
    // Redis: signalModifiedKey(NULL, ...): no client made this change.
    srv.signal_modified_key_no_client(dbid, key);
    crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_EVICTED, "evicted", key, dbid);
    srv.propagate_deletion(dbid, key, lazy);
    freed
}

/// The cant_free path of performEvictions(): nothing is left to evict, but values queued
/// for lazy freeing may still bring memory under the limit within the time slice.
fn wait_for_lazyfree(srv: &mut Server, start: Instant, limit: Duration) -> EvictResult {
    let monitor = latency_start_monitor(srv);
    let mut result = EvictResult::Fail;
    while !srv.lazyfree.is_idle() && start.elapsed() < limit {
        let step = (limit - start.elapsed()).min(Duration::from_millis(1));
        srv.lazyfree.free_for(step);
        if get_maxmemory_state(srv).is_ok() {
            result = EvictResult::Ok;
            break;
        }
    }
    latency_end_monitor(srv, "eviction-lazyfree", monitor);
    result
}

/// Redis: latencyStartMonitor(): the clock is read only when the latency monitor is on.
fn latency_start_monitor(srv: &Server) -> Option<Instant> {
    (srv.config.latency_monitor_threshold > 0).then(Instant::now)
}

/// Redis: latencyEndMonitor() + latencyAddSampleIfNeeded().
fn latency_end_monitor(srv: &mut Server, event: &str, monitor: Option<Instant>) {
    if let Some(start) = monitor {
        let ms = i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
        crate::latency::latency_add_sample_if_needed(srv, event, ms);
    }
}

/// Redis: the update_metrics tail of performEvictions(): times how long memory stays over
/// the limit (INFO total/current_eviction_exceeded_time).
fn update_eviction_metrics(srv: &mut Server, result: EvictResult) {
    let state = &mut srv.evict;
    match result {
        EvictResult::Running | EvictResult::Fail => {
            state.stat_last_eviction_exceeded_time.get_or_insert_with(Instant::now);
        }
        EvictResult::Ok => {
            if let Some(since) = state.stat_last_eviction_exceeded_time.take() {
                state.stat_total_eviction_exceeded_time += since.elapsed().as_micros() as u64;
            }
        }
    }
}

/// Redis: evict.c startEvictionTimeProc().
fn start_eviction_time_proc(srv: &mut Server) {
    if !srv.evict.proc_running {
        srv.evict.proc_running = true;
        srv.el.ae_create_time_event(0, eviction_time_proc);
    }
}

/// Redis: evict.c evictionTimeProc(): one eviction slice per event-loop turn until memory
/// is fine or nothing is left to evict.
pub fn eviction_time_proc(srv: &mut Server, _id: i64) -> i64 {
    if perform_evictions(srv) == EvictResult::Running {
        return 0;
    }
    srv.evict.proc_running = false;
    AE_NOMORE
}

// ----------------------------------------------------------------------------------------
// Callers: processCommand, CONFIG SET maxmemory, start-up
// ----------------------------------------------------------------------------------------

/// Redis: the maxmemory block of server.c processCommand(): evicts, then tells whether the
/// command must be refused with [`OOM_ERR`]: a `denyoom` command (or an EXEC queuing one),
/// or anything but EXEC/DISCARD/QUIT/RESET inside MULTI, while memory cannot be freed.
pub fn process_command_must_reject_oom(srv: &mut Server, c: &mut Client, id: usize, flags: u64) -> bool {
    // Redis has server.current_client set here: the running client (out of srv.clients)
    // gets its evicted-key events as pending pushes, placed before its reply, and a
    // NOLOOP tracking client is not told about the keys evicted on its behalf.
    let prev_client = std::mem::replace(&mut srv.current_client_id, c.id);
    let out_of_memory = perform_evictions(srv) == EvictResult::Fail;
    srv.current_client_id = prev_client;
    crate::pubsub::flush_pending_pushes(srv, c);
    if !out_of_memory {
        return false;
    }
    let name = srv.commands.cmds.get(id).map_or("", |cmd| cmd.fullname.as_str());
    let is_exec = name == "exec";
    let denyoom = flags & CMD_DENYOOM != 0 || (is_exec && c.mstate.cmd_flags & CMD_DENYOOM != 0);
    let queues_in_multi = c.flags & CLIENT_MULTI != 0 && !matches!(name, "exec" | "discard" | "quit" | "reset");
    denyoom || queues_in_multi
}

/// Redis: config.c updateMaxmemory(), the apply function of CONFIG SET maxmemory: warns
/// when the new limit is below the current usage, then starts the eviction time event, so
/// keys go from the next event-loop turn on (after the command's reply, as in 7.0).
pub fn update_maxmemory(srv: &mut Server) {
    if srv.config.maxmemory == 0 {
        return;
    }
    let used = crate::zmalloc::used_memory().saturating_sub(free_memory_get_not_counted_memory(srv));
    if srv.config.maxmemory < used as u64 {
        log::warn!("WARNING: the new maxmemory value set via CONFIG SET ({}) is smaller than the current memory usage ({}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy.", srv.config.maxmemory, used);
    }
    start_eviction_time_proc(srv);
}

/// Redis: the maxmemory warning of server.c main(), logged just before the event loop.
pub fn warn_suspicious_maxmemory(srv: &Server) {
    let maxmemory = srv.config.maxmemory;
    if maxmemory > 0 && maxmemory < 1024 * 1024 {
        log::warn!("WARNING: You specified a maxmemory value that is less than 1MB (current value is {} bytes). Are you sure this is what you really want?", maxmemory);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::RObj;
    use crate::test_support::test_server;

    fn keys_of(pool: &EvictionPool) -> Vec<(u64, String)> {
        pool.entries
            .iter()
            .filter(|e| e.filled)
            .map(|e| (e.idle, String::from_utf8_lossy(&e.key).into_owned()))
            .collect()
    }

    #[test]
    fn time_limit_follows_tenacity() {
        assert_eq!(eviction_time_limit_us(0), 0);
        assert_eq!(eviction_time_limit_us(10), 500);
        assert_eq!(eviction_time_limit_us(11), 575);
        assert_eq!(eviction_time_limit_us(20), (500.0 * 1.15f64.powi(10)) as u64);
        assert!(eviction_time_limit_us(99) > 100_000_000 && eviction_time_limit_us(99) < 150_000_000);
        assert_eq!(eviction_time_limit_us(100), u64::MAX);
    }

    #[test]
    fn memory_state_subtracts_not_counted_memory() {
        assert_eq!(maxmemory_state(100, 150, 0), Err(OverLimit { total: 150, logical: 150, tofree: 50 }));
        assert_eq!(maxmemory_state(100, 150, 60), Ok(150));
        assert_eq!(maxmemory_state(100, 150, 20), Err(OverLimit { total: 150, logical: 130, tofree: 30 }));
        assert_eq!(maxmemory_state(100, 150, 500), Ok(150));
    }

    #[test]
    fn pool_keeps_the_best_sixteen_in_ascending_order() {
        let mut pool = EvictionPool::new();
        for (i, idle) in [5u64, 1, 9, 3].iter().enumerate() {
            pool.insert(*idle, format!("k{i}").as_bytes(), 0);
        }
        assert_eq!(keys_of(&pool), [(1, "k1".into()), (3, "k3".into()), (5, "k0".into()), (9, "k2".into())]);
        for idle in 100..120u64 {
            pool.insert(idle, format!("h{idle}").as_bytes(), 1);
        }
        let kept = keys_of(&pool);
        assert_eq!(kept.len(), EVPOOL_SIZE);
        assert_eq!(kept.first(), Some(&(104, "h104".to_string())));
        assert_eq!(kept.last(), Some(&(119, "h119".to_string())));
        // Worse than everything in a full pool: not taken.
        pool.insert(2, b"low", 0);
        assert!(!keys_of(&pool).iter().any(|(_, k)| k == "low"));
        // Better than the worst: the worst goes.
        pool.insert(110, b"mid", 0);
        let kept = keys_of(&pool);
        assert_eq!(kept.first(), Some(&(105, "h105".to_string())));
        assert!(kept.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(kept.iter().any(|(_, k)| k == "mid"));
    }

    #[test]
    fn long_keys_do_not_keep_big_buffers() {
        let mut pool = EvictionPool::new();
        let long = vec![b'x'; 1000];
        pool.insert(7, &long, 0);
        assert_eq!(pool.entries[0].key, long);
        pool.clear(0);
        assert!(pool.entries[0].key.capacity() <= EVPOOL_CACHED_SDS_SIZE);
    }

    #[test]
    fn take_best_skips_ghosts_and_empties_them() {
        let mut srv = test_server();
        srv.db[0].db_add(b"live", RObj::string_from(b"v", 0));
        let mut pool = EvictionPool::new();
        pool.insert(1, b"live", 0);
        pool.insert(5, b"ghost", 0);
        assert_eq!(pool.take_best(&srv.db, true), Some((0, b"live".to_vec())));
        assert!(keys_of(&pool).is_empty());
        // A volatile policy only takes keys that have a TTL.
        pool.insert(1, b"live", 0);
        assert_eq!(pool.take_best(&srv.db, false), None);
    }

    #[test]
    fn lru_pool_prefers_the_idlest_keys() {
        let mut srv = test_server();
        srv.lru_clock = 10_000;
        for i in 0..200u32 {
            // Key i was last touched i seconds ago.
            srv.db[0].db_add(format!("k{i}").as_bytes(), RObj::string_from(b"v", 10_000 - i));
        }
        let mut victims = Vec::new();
        for _ in 0..20 {
            let (dbid, key) = select_from_pool(&mut srv, Score::Lru, true).expect("a victim");
            srv.db[dbid].db_delete(&key);
            victims.push(String::from_utf8(key).unwrap_or_default()[1..].parse::<u32>().unwrap_or(0));
        }
        // Sampling 5 of 200 per round with a pool of 16: the victims are old keys.
        let mean = victims.iter().sum::<u32>() / victims.len() as u32;
        assert!(mean > 120, "victims {victims:?}");
    }

    #[test]
    fn volatile_policies_only_pick_keys_with_a_ttl() {
        let mut srv = test_server();
        for i in 0..50 {
            let key = format!("k{i}");
            srv.db[3].db_add(key.as_bytes(), RObj::string_from(b"v", 0));
            if i % 2 == 0 {
                srv.db[3].set_expire(key.as_bytes(), 1_000_000 + i);
            }
        }
        for strategy in [Strategy::Random { allkeys: false }, Strategy::Pool { score: Score::Lru, allkeys: false }] {
            let pick = match strategy {
                Strategy::Random { allkeys } => select_random(&mut srv, allkeys),
                Strategy::Pool { score, allkeys } => select_from_pool(&mut srv, score, allkeys),
                Strategy::NoEviction => None,
            };
            let (dbid, key) = pick.expect("a volatile key");
            assert_eq!(dbid, 3);
            assert!(srv.db[3].get_expire(&key) > 0, "{strategy:?}");
        }
    }

    #[test]
    fn volatile_ttl_picks_the_soonest_expire() {
        let mut srv = test_server();
        for i in 0..8i64 {
            let key = format!("k{i}");
            srv.db[0].db_add(key.as_bytes(), RObj::string_from(b"v", 0));
            srv.db[0].set_expire(key.as_bytes(), 5_000_000 - i * 1000);
        }
        // With 8 keys and 5 samples a round, a few rounds see them all; the pool keeps the best.
        srv.config.maxmemory_samples = 64;
        let (_, key) = select_from_pool(&mut srv, Score::Ttl, false).expect("a victim");
        assert_eq!(key, b"k7");
    }

    #[test]
    fn nothing_to_evict_when_empty() {
        let mut srv = test_server();
        assert_eq!(select_from_pool(&mut srv, Score::Lfu, true), None);
        assert_eq!(select_random(&mut srv, true), None);
        srv.db[0].db_add(b"persistent", RObj::string_from(b"v", 0));
        assert_eq!(select_from_pool(&mut srv, Score::Ttl, false), None);
        assert_eq!(select_random(&mut srv, false), None);
    }

    #[test]
    fn every_policy_has_a_strategy() {
        use MaxmemoryPolicy::*;
        assert_eq!(strategy(Noeviction), Strategy::NoEviction);
        assert_eq!(strategy(AllkeysLfu), Strategy::Pool { score: Score::Lfu, allkeys: true });
        assert_eq!(strategy(VolatileTtl), Strategy::Pool { score: Score::Ttl, allkeys: false });
        assert_eq!(strategy(VolatileRandom), Strategy::Random { allkeys: false });
    }

    #[test]
    fn lfu_counter_grows_logarithmically() {
        // Redis's table for lfu-log-factor 10: about 10 after 100 hits, 18 after 1000. One
        // counter is a random walk (single runs range over several units), so the test
        // follows 64 of them and bounds their mean.
        let clock = AccessClock { lfu: true, lru_clock: 0, unixtime: 6000, lfu_log_factor: 10, lfu_decay_time: 1 };
        let mut objects: Vec<RObj> = (0..64).map(|_| RObj::string_from(b"v", clock.initial_lru())).collect();
        let counter = |o: &RObj| o.lru() & 255;
        let mean = |objects: &[RObj]| objects.iter().map(|o| f64::from(counter(o))).sum::<f64>() / objects.len() as f64;
        for o in objects.iter_mut() {
            for _ in 0..100 {
                clock.touch(o);
            }
        }
        let after_100 = mean(&objects);
        assert!((9.0..=12.0).contains(&after_100), "mean counter after 100 hits: {after_100}");
        for o in objects.iter_mut() {
            for _ in 0..900 {
                clock.touch(o);
            }
        }
        let after_1000 = mean(&objects);
        assert!((16.5..=20.5).contains(&after_1000), "mean counter after 1000 hits: {after_1000}");
        let o = &objects[0];
        // Two minutes later with lfu-decay-time 1, the counter has decayed by 2.
        let later = AccessClock { unixtime: 6000 + 120, ..clock };
        assert_eq!(later.lfu_decr_and_return(o.lru()), counter(o) - 2);
        assert_eq!(object_score(Score::Lfu, o.lru(), &later), 255 - u64::from(counter(o) - 2));
    }

    #[test]
    fn exceeded_time_metrics_accumulate() {
        let mut srv = test_server();
        update_eviction_metrics(&mut srv, EvictResult::Fail);
        let since = srv.evict.stat_last_eviction_exceeded_time.expect("started");
        update_eviction_metrics(&mut srv, EvictResult::Running);
        assert_eq!(srv.evict.stat_last_eviction_exceeded_time, Some(since));
        std::thread::sleep(Duration::from_millis(2));
        update_eviction_metrics(&mut srv, EvictResult::Ok);
        assert!(srv.evict.stat_last_eviction_exceeded_time.is_none());
        assert!(srv.evict.stat_total_eviction_exceeded_time >= 2000);
        srv.evict.reset_stats();
        assert_eq!(srv.evict.total_exceeded_time_us(), 0);
    }
}

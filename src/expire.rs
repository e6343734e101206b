//! Key expiry: Redis's expire.c. The active expire cycle samples the expires dicts from
//! server_cron (the slow cycle, 25% of a tick at most) and from before_sleep (the fast
//! cycle, 1 ms, only when the last run hit its time limit or many keys look stale); lazy
//! expiry on access lives in db.rs. The EXPIRE/TTL family of commands is at the bottom.

use std::time::Instant;

use crate::db::{self, LookupFlags};
use crate::networking::{rewrite_client_command_argument, rewrite_client_command_vector, Client};
use crate::server::Server;
use crate::util;

/// Redis: ACTIVE_EXPIRE_CYCLE_* base values (effort 1).
const KEYS_PER_LOOP: u64 = 20;
const FAST_DURATION_US: u64 = 1000;
const SLOW_TIME_PERC: u64 = 25;
const ACCEPTABLE_STALE: u64 = 10;
/// Redis: CRON_DBS_PER_CALL.
const CRON_DBS_PER_CALL: usize = 16;

/// Redis: ACTIVE_EXPIRE_CYCLE_FAST / _SLOW.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpireCycle {
    Fast,
    Slow,
}

/// The statics of activeExpireCycle(), kept in the server instead.
#[derive(Debug, Default)]
pub struct ActiveExpireState {
    current_db: usize,
    timelimit_exit: bool,
    last_fast_cycle_us: i64,
}

/// The cycle's tuning at the configured active-expire-effort (Redis scales each by effort).
struct CycleParams {
    keys_per_loop: u64,
    fast_duration_us: u64,
    slow_time_perc: u64,
    acceptable_stale: u64,
}

impl CycleParams {
    fn for_effort(effort: i32) -> CycleParams {
        let e = (effort.clamp(1, 10) - 1) as u64;
        CycleParams {
            keys_per_loop: KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * e,
            fast_duration_us: FAST_DURATION_US + FAST_DURATION_US / 4 * e,
            slow_time_perc: SLOW_TIME_PERC + 2 * e,
            acceptable_stale: ACCEPTABLE_STALE - e,
        }
    }
}

/// Redis: expire.c activeExpireCycle().
pub fn active_expire_cycle(srv: &mut Server, cycle: ExpireCycle) {
    if srv.clients_are_paused() {
        return;
    }
    let params = CycleParams::for_effort(srv.config.active_expire_effort);
    let start_us = util::ustime();
    if cycle == ExpireCycle::Fast {
        // Redis compares the stale *fraction* with the percentage, so in practice only a
        // cycle that hit its time limit starts a fast cycle. Kept as Redis does it.
        let stale = srv.stat_expired_stale_perc;
        if !srv.expire_state.timelimit_exit && stale < params.acceptable_stale as f64 {
            return;
        }
        if start_us < srv.expire_state.last_fast_cycle_us + params.fast_duration_us as i64 * 2 {
            return;
        }
        srv.expire_state.last_fast_cycle_us = start_us;
    }
    let dbnum = srv.db.len();
    let dbs_per_call = if srv.expire_state.timelimit_exit { dbnum } else { CRON_DBS_PER_CALL.min(dbnum) };
    let timelimit_us = match cycle {
        ExpireCycle::Fast => params.fast_duration_us,
        ExpireCycle::Slow => (params.slow_time_perc * 1_000_000 / srv.hz.clamp(1, 500) as u64 / 100).max(1),
    };
    srv.expire_state.timelimit_exit = false;
    let started = Instant::now();
    let (mut total_sampled, mut total_expired) = (0u64, 0u64);
    for _ in 0..dbs_per_call {
        if srv.expire_state.timelimit_exit || dbnum == 0 {
            break;
        }
        let dbid = srv.expire_state.current_db % dbnum;
        srv.expire_state.current_db = srv.expire_state.current_db.wrapping_add(1);
        let (sampled, expired) = expire_db(srv, dbid, &params, started, timelimit_us);
        total_sampled += sampled;
        total_expired += expired;
    }
    let elapsed_ms = (started.elapsed().as_micros() / 1000) as i64;
    crate::latency::latency_add_sample_if_needed(srv, "expire-cycle", elapsed_ms);
    let current_perc = if total_sampled > 0 { total_expired as f64 / total_sampled as f64 } else { 0.0 };
    srv.stat_expired_stale_perc = current_perc * 0.05 + srv.stat_expired_stale_perc * 0.95;
}

/// One db of the cycle: sample until few sampled keys were expired or time is up.
fn expire_db(srv: &mut Server, dbid: usize, p: &CycleParams, started: Instant, limit_us: u64) -> (u64, u64) {
    let (mut total_sampled, mut total_expired, mut iteration) = (0u64, 0u64, 0u64);
    while let Some(db) = srv.db.get(dbid) {
        let num = db.expires.len() as u64;
        if num == 0 {
            srv.db[dbid].avg_ttl = 0;
            break;
        }
        iteration += 1;
        let (sampled, expired) = expire_sample(srv, dbid, num.min(p.keys_per_loop));
        total_sampled += sampled;
        total_expired += expired;
        if iteration.is_multiple_of(16) && started.elapsed().as_micros() as u64 > limit_us {
            srv.expire_state.timelimit_exit = true;
            srv.stat_expired_time_cap_reached_count += 1;
            break;
        }
        if sampled != 0 && expired * 100 / sampled <= p.acceptable_stale {
            break;
        }
    }
    (total_sampled, total_expired)
}

/// Samples up to `num` keys from the expires dict, continuing its scan cursor, and deletes
/// the expired ones. Visits at most `num * 20` buckets, as Redis does.
fn expire_sample(srv: &mut Server, dbid: usize, num: u64) -> (u64, u64) {
    let now = util::mstime();
    let mut expired_keys: Vec<Vec<u8>> = Vec::new();
    let (mut sampled, mut ttl_sum, mut ttl_samples) = (0u64, 0i64, 0i64);
    let Some(db) = srv.db.get_mut(dbid) else { return (0, 0) };
    let mut buckets = 0;
    while sampled < num && buckets < num * 20 {
        db.expires_cursor = db.expires.scan(db.expires_cursor, |key, when| {
            sampled += 1;
            // Redis: activeExpireCycleTryExpire(): expired once `now > when`, like keyIsExpired().
            if *when < now {
                expired_keys.push(key.to_vec());
            } else {
                ttl_sum = ttl_sum.wrapping_add(*when - now); // as C long long: TTLs near i64::MAX wrap
                ttl_samples += 1;
            }
        });
        buckets += 1;
        if db.expires_cursor == 0 {
            break;
        }
    }
    if ttl_samples > 0 {
        let avg = ttl_sum / ttl_samples;
        db.avg_ttl = if db.avg_ttl == 0 { avg } else { (db.avg_ttl / 50) * 49 + avg / 50 };
    }
    let expired = expired_keys.len() as u64;
    for key in expired_keys {
        db::delete_expired_key_and_propagate(srv, dbid, &key);
    }
    (sampled, expired)
}

// ----------------------------------------------------------------------------------------
// Expire commands
// ----------------------------------------------------------------------------------------

const EXPIRE_NX: u8 = 1;
const EXPIRE_XX: u8 = 2;
const EXPIRE_GT: u8 = 4;
const EXPIRE_LT: u8 = 8;

/// Redis: expire.c parseExtendedExpireArgumentsOrReply().
fn parse_expire_flags(c: &mut Client) -> Option<u8> {
    let mut flags = 0u8;
    for i in 3..c.argv.len() {
        // Redis compares with strcasecmp() and prints with %s: the argument ends at a NUL.
        let arg = c.argv.get(i);
        let arg = &arg[..memchr::memchr(0, arg).unwrap_or(arg.len())];
        let bit = match arg.to_ascii_lowercase().as_slice() {
            b"nx" => EXPIRE_NX,
            b"xx" => EXPIRE_XX,
            b"gt" => EXPIRE_GT,
            b"lt" => EXPIRE_LT,
            _ => {
                let mut msg = b"Unsupported option ".to_vec();
                msg.extend_from_slice(arg);
                c.reply.add_reply_error_bytes(&msg);
                return None;
            }
        };
        flags |= bit;
    }
    if flags & EXPIRE_NX != 0 && flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT) != 0 {
        c.reply.add_reply_error("NX and XX, GT or LT options at the same time are not compatible");
        return None;
    }
    if flags & EXPIRE_GT != 0 && flags & EXPIRE_LT != 0 {
        c.reply.add_reply_error("GT and LT options at the same time are not compatible");
        return None;
    }
    Some(flags)
}

/// Whether the new expire time passes the NX/XX/GT/LT condition against the current one.
fn expire_condition_holds(flags: u8, current: i64, when: i64) -> bool {
    if flags & EXPIRE_NX != 0 && current != -1 {
        return false;
    }
    if flags & EXPIRE_XX != 0 && current == -1 {
        return false;
    }
    // A key without TTL counts as an infinite TTL for GT and LT.
    if flags & EXPIRE_GT != 0 && (current == -1 || when <= current) {
        return false;
    }
    if flags & EXPIRE_LT != 0 && current != -1 && when >= current {
        return false;
    }
    true
}

/// Redis: the end of expireGenericCommand(): every form is propagated as PEXPIREAT with an
/// absolute time in ms (its NX/XX/GT/LT option kept), so replicas agree on the deadline.
fn rewrite_expire_as_pexpireat(c: &mut Client, basetime_ms: i64, unit_seconds: bool, when: i64) {
    if !c.argv.get(0).eq_ignore_ascii_case(b"pexpireat") {
        rewrite_client_command_argument(c, 0, b"PEXPIREAT");
    }
    if basetime_ms != 0 || unit_seconds {
        rewrite_client_command_argument(c, 2, when.to_string().as_bytes());
    }
}

/// Redis: expire.c expireGenericCommand(). `basetime_ms` is 0 for the *AT forms.
fn expire_generic_command(srv: &mut Server, c: &mut Client, basetime_ms: i64, unit_seconds: bool) {
    let Some(flags) = parse_expire_flags(c) else { return };
    let Some(mut when) = util::string2ll(c.argv.get(2)) else {
        return c.reply.add_reply_error("value is not an integer or out of range");
    };
    let fullname = srv.current_command_name(c);
    let invalid = format!("invalid expire time in '{}' command", fullname);
    if unit_seconds {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return c.reply.add_reply_error(&invalid),
        }
    }
    let Some(when) = when.checked_add(basetime_ms) else { return c.reply.add_reply_error(&invalid) };
    let dbid = c.db;
    if db::lookup_key_write(srv, dbid, c.argv.get(1)).is_none() {
        return c.reply.add_reply_long_long(0);
    }
    let current = srv.db[dbid].get_expire(c.argv.get(1));
    if flags != 0 && !expire_condition_holds(flags, current, when) {
        return c.reply.add_reply_long_long(0);
    }
    let deleted = check_already_expired(srv, when);
    if deleted {
        let lazy = srv.config.lazyfree_lazy_expire;
        db::db_generic_delete(srv, dbid, c.argv.get(1), lazy);
        // Replicas get the deletion itself, not a TTL in the past.
        let key = c.argv.get(1).to_vec();
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        rewrite_client_command_vector(c, &[cmd, &key]);
    } else {
        srv.db[dbid].set_expire(c.argv.get(1), when);
        rewrite_expire_as_pexpireat(c, basetime_ms, unit_seconds, when);
    }
    srv.signal_modified_key(dbid, c.argv.get(1));
    srv.dirty += 1;
    // Redis notifies a deletion before its reply, but a new TTL after it.
    if deleted {
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", c.argv.get(1), dbid);
    }
    c.reply.add_reply_long_long(1);
    if !deleted {
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "expire", c.argv.get(1), dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
    }
}

/// Redis: expire.c checkAlreadyExpired(): a time in the past deletes the key at once,
/// except while loading and on replicas (which wait for their master's DEL).
pub fn check_already_expired(srv: &Server, when_ms: i64) -> bool {
    when_ms <= srv.cmd_time_snapshot && !srv.loading && srv.masterhost.is_none()
}

/// Redis: expire.c expireCommand().
pub fn expire_command(srv: &mut Server, c: &mut Client) {
    expire_generic_command(srv, c, srv.cmd_time_snapshot, true);
}

/// Redis: expire.c expireatCommand().
pub fn expireat_command(srv: &mut Server, c: &mut Client) {
    expire_generic_command(srv, c, 0, true);
}

/// Redis: expire.c pexpireCommand().
pub fn pexpire_command(srv: &mut Server, c: &mut Client) {
    expire_generic_command(srv, c, srv.cmd_time_snapshot, false);
}

/// Redis: expire.c pexpireatCommand().
pub fn pexpireat_command(srv: &mut Server, c: &mut Client) {
    expire_generic_command(srv, c, 0, false);
}

/// Redis: expire.c ttlGenericCommand(): -2 missing key, -1 no TTL, else the (remaining or
/// absolute) time in ms or rounded seconds.
fn ttl_generic_command(srv: &mut Server, c: &mut Client, output_ms: bool, output_abs: bool) {
    let dbid = c.db;
    if db::lookup_key(srv, dbid, c.argv.get(1), LookupFlags::ReadNoTouch).is_none() {
        return c.reply.add_reply_long_long(-2);
    }
    let expire = srv.db[dbid].get_expire(c.argv.get(1));
    if expire == -1 {
        return c.reply.add_reply_long_long(-1);
    }
    // Redis clamps at 0 in both forms (an absolute time can be negative on a replica).
    let ttl = if output_abs { expire } else { expire.saturating_sub(srv.cmd_time_snapshot) }.max(0);
    // Rounded without overflow: for a time near i64::MAX Redis answers the exact quotient.
    let secs = ((i128::from(ttl) + 500) / 1000) as i64;
    c.reply.add_reply_long_long(if output_ms { ttl } else { secs });
}

/// Redis: expire.c ttlCommand().
pub fn ttl_command(srv: &mut Server, c: &mut Client) {
    ttl_generic_command(srv, c, false, false);
}

/// Redis: expire.c pttlCommand().
pub fn pttl_command(srv: &mut Server, c: &mut Client) {
    ttl_generic_command(srv, c, true, false);
}

/// Redis: expire.c expiretimeCommand().
pub fn expiretime_command(srv: &mut Server, c: &mut Client) {
    ttl_generic_command(srv, c, false, true);
}

/// Redis: expire.c pexpiretimeCommand().
pub fn pexpiretime_command(srv: &mut Server, c: &mut Client) {
    ttl_generic_command(srv, c, true, true);
}

/// Redis: expire.c persistCommand().
pub fn persist_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    if db::lookup_key_write(srv, dbid, c.argv.get(1)).is_none() {
        return c.reply.add_reply_long_long(0);
    }
    if srv.db[dbid].remove_expire(c.argv.get(1)) {
        srv.signal_modified_key(dbid, c.argv.get(1));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "persist", c.argv.get(1), dbid);
        srv.dirty += 1;
        c.reply.add_reply_long_long(1);
    } else {
        c.reply.add_reply_long_long(0);
    }
}

//! The coordinated failover: FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms], and the
//! PSYNC ... FAILOVER request that hands the master role to a replica.
//!
//! Redis: replication.c failoverCommand(), updateFailoverStatus(), abortFailover(),
//! clearFailoverState(), findReplica(), getFailoverStateString(), and the failover parts of
//! syncCommand() (the receiving side) and of syncWithMaster() (the PSYNC reply on the old
//! master's side, hooked in replica_handshake.rs).
//!
//! The sequence, on the master that runs FAILOVER: writes are paused (`pauses_writes`, read
//! by server.rs processCommand's pause check) and the state becomes WaitingForSync;
//! [`update_failover_status`], called from before_sleep and from the replication cron
//! (which runs at 10 Hz while a failover is on, [`replication_cron_period`]), waits for the
//! target's REPLCONF ACK to reach master_repl_offset (or the TIMEOUT: abort, or with FORCE
//! go anyway); then the master becomes a replica of the target (InProgress) and its
//! handshake sends `PSYNC <replid> <offset> FAILOVER`. The target, on that request
//! ([`sync_command_failover_request`]), becomes a master and answers +CONTINUE; the old
//! master then clears the state and resumes its paused clients, whose writes now meet a
//! read-only replica. Everything runs on the event loop thread; nothing here blocks.

use crate::networking::Client;
use crate::server::Server;
use crate::util;

use super::master::replica_ip;
use super::replica;

/// Redis: failover_state (NO_FAILOVER, FAILOVER_WAIT_FOR_SYNC, FAILOVER_IN_PROGRESS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailoverState {
    #[default]
    NoFailover,
    /// Writes are paused; waiting for a replica to acknowledge our whole stream.
    WaitForSync,
    /// We are a replica of the target, asking it (PSYNC ... FAILOVER) to take over.
    InProgress,
}

/// The replica a failover hands over to (Redis: target_replica_host / _port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverTarget {
    pub host: String,
    pub port: i32,
}

/// Redis: the failover fields of struct redisServer.
#[derive(Debug, Default)]
pub struct Failover {
    pub state: FailoverState,
    /// Given with TO, or the first replica found synced.
    pub target: Option<FailoverTarget>,
    /// Redis: failover_end_time (unix ms), from TIMEOUT.
    pub end_time_ms: Option<i64>,
    /// Redis: force_failover: at the timeout, fail over anyway.
    pub force: bool,
}

impl Failover {
    /// Redis: the PAUSE_DURING_FAILOVER write pause lasts from FAILOVER to clearFailoverState().
    pub fn pauses_writes(&self) -> bool {
        self.state != FailoverState::NoFailover
    }
}

/// A parsed `FAILOVER [TO host port [FORCE]] [TIMEOUT ms]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct FailoverRequest {
    to: Option<(Vec<u8>, i64)>,
    timeout_ms: i64,
    force: bool,
}

/// Redis: getFailoverStateString(), INFO's master_failover_state.
pub fn get_failover_state_string(srv: &Server) -> &'static str {
    match srv.repl.failover.state {
        FailoverState::NoFailover => "no-failover",
        FailoverState::WaitForSync => "waiting-for-sync",
        FailoverState::InProgress => "failover-in-progress",
    }
}

/// Redis: serverCron's `run_with_period(100) replicationCron()` while failing over, so the
/// handshake with the target makes progress quickly; once a second otherwise.
pub fn replication_cron_period(srv: &Server) -> i64 {
    if srv.repl.failover.state == FailoverState::NoFailover {
        1000
    } else {
        100
    }
}

/// Redis: replicationCron()'s manual_failover_in_progress: no PING to the replicas while a
/// failover with a TIMEOUT holds the writes (a PING would move the offset they must reach).
pub fn replica_pings_suspended(srv: &Server) -> bool {
    srv.repl.failover.end_time_ms.is_some() && srv.clients_are_paused()
}

// ----------------------------------------------------------------------------------------
// FAILOVER
// ----------------------------------------------------------------------------------------

/// Redis: replication.c failoverCommand(): checks the request, pauses writes and enters
/// WaitForSync; the rest happens in [`update_failover_status`].
pub fn failover_command(srv: &mut Server, c: &mut Client) {
    if srv.config.cluster_enabled {
        return c.reply.add_reply_error("FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.");
    }
    if c.argv.len() == 2 && util::str_eq_ignore_case(c.argv.get(1), b"abort") {
        if srv.repl.failover.state == FailoverState::NoFailover {
            return c.reply.add_reply_error("No failover in progress.");
        }
        abort_failover(srv, "Failover manually aborted");
        return c.reply.add_reply_ok();
    }
    let req = match parse_failover_args(c) {
        Ok(req) => req,
        Err(err) => return c.reply.add_reply_error(err),
    };
    let target = match failover_refusal(srv, &req) {
        Ok(target) => target,
        Err(err) => return c.reply.add_reply_error(err),
    };
    match &target {
        Some(t) => log::info!("FAILOVER requested to {}:{}.", t.host, t.port),
        None => log::info!("FAILOVER requested to any replica."),
    }
    let fo = &mut srv.repl.failover;
    fo.target = target;
    fo.end_time_ms = (req.timeout_ms != 0).then(|| util::mstime().saturating_add(req.timeout_ms));
    fo.force = req.force;
    // Redis: pauseClients(PAUSE_DURING_FAILOVER, LLONG_MAX, CLIENT_PAUSE_WRITE).
    fo.state = FailoverState::WaitForSync;
    c.reply.add_reply_ok();
}

const SYNTAX_ERR: &str = "syntax error";
const NOT_AN_INTEGER: &str = "value is not an integer or out of range";

/// failoverCommand()'s argument loop: each option at most once, in any order; a bad
/// number is reported where it is met.
fn parse_failover_args(c: &Client) -> Result<FailoverRequest, &'static str> {
    let mut req = FailoverRequest::default();
    let argc = c.argv.len();
    let mut j = 1;
    while j < argc {
        let opt = c.argv.get(j);
        if util::str_eq_ignore_case(opt, b"timeout") && j + 1 < argc && req.timeout_ms == 0 {
            req.timeout_ms = util::string2l(c.argv.get(j + 1)).ok_or(NOT_AN_INTEGER)?;
            if req.timeout_ms <= 0 {
                return Err("FAILOVER timeout must be greater than 0");
            }
            j += 2;
        } else if util::str_eq_ignore_case(opt, b"to") && j + 2 < argc && req.to.is_none() {
            let port = util::string2l(c.argv.get(j + 2)).ok_or(NOT_AN_INTEGER)?;
            req.to = Some((c.argv.get(j + 1).to_vec(), port));
            j += 3;
        } else if util::str_eq_ignore_case(opt, b"force") && !req.force {
            req.force = true;
            j += 1;
        } else {
            return Err(SYNTAX_ERR);
        }
    }
    Ok(req)
}

/// failoverCommand()'s state checks, in Redis's order; the target when TO names an online
/// replica.
fn failover_refusal(srv: &mut Server, req: &FailoverRequest) -> Result<Option<FailoverTarget>, &'static str> {
    if srv.repl.failover.state != FailoverState::NoFailover {
        return Err("FAILOVER already in progress.");
    }
    if srv.masterhost.is_some() {
        return Err("FAILOVER is not valid when server is a replica.");
    }
    if srv.repl.slaves.is_empty() {
        return Err("FAILOVER requires connected replicas.");
    }
    if req.force && (req.timeout_ms == 0 || req.to.is_none()) {
        return Err("FAILOVER with force option requires both a timeout and target HOST and IP.");
    }
    let Some((host, port)) = &req.to else { return Ok(None) };
    let Some(id) = find_replica(srv, host, *port) else {
        return Err("FAILOVER target HOST and PORT is not a replica.");
    };
    let online = srv.client_by_id(id).is_some_and(|r| super::master::slave_state(r) == Some(super::master::SlaveState::Online));
    if !online {
        return Err("FAILOVER target replica is not online.");
    }
    // A port that matched a replica's listening port fits its C int.
    let port = i32::try_from(*port).unwrap_or(0);
    Ok(Some(FailoverTarget { host: String::from_utf8_lossy(host).into_owned(), port }))
}

/// Redis: findReplica(): the replica announcing (or connected from) `host` with listening
/// port `port`; the host compares case-insensitively.
fn find_replica(srv: &mut Server, host: &[u8], port: i64) -> Option<u64> {
    for id in srv.repl.slaves.clone() {
        let Some(r) = srv.client_by_id(id) else { continue };
        let ip = replica_ip(r);
        let listening = r.repl.as_deref().map_or(0, |info| info.listening_port);
        if !ip.is_empty() && ip.as_bytes().eq_ignore_ascii_case(host) && i64::from(listening) == port {
            return Some(id);
        }
    }
    None
}

// ----------------------------------------------------------------------------------------
// Progress, abort, end
// ----------------------------------------------------------------------------------------

/// Redis: updateFailoverStatus(), from before_sleep and the replication cron: in
/// WaitForSync, give up (or force) at the timeout, else fail over as soon as the target
/// (or any replica) acknowledged our whole stream.
pub fn update_failover_status(srv: &mut Server) {
    if srv.repl.failover.state != FailoverState::WaitForSync {
        return;
    }
    if srv.repl.failover.end_time_ms.is_some_and(|end| end <= srv.mstime) {
        return failover_timed_out(srv);
    }
    let synced = match srv.repl.failover.target.clone() {
        Some(t) => find_replica(srv, t.host.as_bytes(), i64::from(t.port)).is_some_and(|id| replica_is_synced(srv, id)),
        None => adopt_synced_replica(srv),
    };
    if !synced {
        return;
    }
    let Some(target) = srv.repl.failover.target.clone() else { return };
    srv.repl.failover.state = FailoverState::InProgress;
    log::info!("Failover target {}:{} is synced, failing over.", target.host, target.port);
    replica::replication_set_master(srv, &target.host, target_port(&target));
}

/// The TIMEOUT passed: with FORCE hand over anyway, otherwise give up.
fn failover_timed_out(srv: &mut Server) {
    let target = srv.repl.failover.target.clone();
    match target {
        Some(t) if srv.repl.failover.force => {
            log::info!("FAILOVER to {}:{} time out exceeded, failing over.", t.host, t.port);
            srv.repl.failover.state = FailoverState::InProgress;
            replica::replication_set_master(srv, &t.host, target_port(&t));
        }
        _ => abort_failover(srv, "Replica never caught up before timeout"),
    }
}

/// REPLICAOF takes a u16; a listening port outside it can only fail to connect, as the
/// C connect to that int would.
fn target_port(t: &FailoverTarget) -> u16 {
    u16::try_from(t.port).unwrap_or(0)
}

/// Redis: `replica->repl_ack_off == server.master_repl_offset`.
fn replica_is_synced(srv: &mut Server, id: u64) -> bool {
    let offset = srv.repl.master_repl_offset;
    srv.client_by_id(id).and_then(|r| r.repl.as_deref()).is_some_and(|info| info.ack_off == offset)
}

/// FAILOVER with no TO: the first replica that acknowledged everything becomes the target.
fn adopt_synced_replica(srv: &mut Server) -> bool {
    for id in srv.repl.slaves.clone() {
        if !replica_is_synced(srv, id) {
            continue;
        }
        let Some(r) = srv.client_by_id(id) else { continue };
        let host = replica_ip(r);
        if host.is_empty() {
            continue;
        }
        let port = r.repl.as_deref().map_or(0, |info| info.listening_port);
        srv.repl.failover.target = Some(FailoverTarget { host, port });
        return true;
    }
    false
}

/// Redis: abortFailover(): back to a plain master (undoing the switch when we already
/// became the target's replica), writes resumed.
pub fn abort_failover(srv: &mut Server, err: &str) {
    let state = srv.repl.failover.state;
    if state == FailoverState::NoFailover {
        return;
    }
    match &srv.repl.failover.target {
        Some(t) => log::info!("FAILOVER to {}:{} aborted: {}", t.host, t.port, err),
        None => log::info!("FAILOVER to any replica aborted: {}", err),
    }
    if state == FailoverState::InProgress {
        replica::replication_unset_master(srv);
    }
    clear_failover_state(srv);
}

/// Redis: clearFailoverState(): no failover, and unpauseClients(PAUSE_DURING_FAILOVER):
/// the postponed clients run again from before_sleep (those a CLIENT PAUSE still holds
/// are postponed again by processCommand).
pub fn clear_failover_state(srv: &mut Server) {
    srv.repl.failover = Failover::default();
    srv.release_postponed_clients();
}

/// Redis: the FAILOVER_IN_PROGRESS check after slaveTryPartialResynchronization() read
/// the PSYNC reply, in syncWithMaster(): +CONTINUE or +FULLRESYNC means the target took
/// over; anything else aborts. False when the failover was aborted (the link is gone).
pub fn psync_reply_received(srv: &mut Server, accepted: bool) -> bool {
    if srv.repl.failover.state != FailoverState::InProgress {
        return true;
    }
    if accepted {
        clear_failover_state(srv);
        return true;
    }
    abort_failover(srv, "Failover target rejected psync request");
    false
}

/// Redis: slaveTryPartialResynchronization()'s extra PSYNC argument: during a failover
/// the old master asks the target to become the master.
pub fn psync_extra_arg(srv: &Server) -> Option<&'static [u8]> {
    (srv.repl.failover.state == FailoverState::InProgress).then_some(b"FAILOVER".as_slice())
}

// ----------------------------------------------------------------------------------------
// The receiving side
// ----------------------------------------------------------------------------------------

/// Redis: the failover part of syncCommand(): a `PSYNC <replid> <offset> FAILOVER` from our
/// master makes us a master (its PSYNC then continues from our previous history, now our
/// replid2), and no replica may sync with us while we are failing over ourselves.
pub fn sync_command_failover_request(srv: &mut Server, c: &Client) -> Result<(), &'static str> {
    let is_psync = util::str_eq_ignore_case(c.argv.get(0), b"psync");
    if is_psync && c.argv.len() > 3 && util::str_eq_ignore_case(c.argv.get(3), b"failover") {
        log::warn!("Failover request received for replid {}.", String::from_utf8_lossy(c.argv.get(1)));
        if srv.masterhost.is_none() {
            return Err("PSYNC FAILOVER can't be sent to a master.");
        }
        if !c.argv.get(1).eq_ignore_ascii_case(&srv.repl.replid) {
            return Err("PSYNC FAILOVER replid must match my replid.");
        }
        replica::replication_unset_master(srv);
        let info = crate::client::cat_client_info_string(srv, c);
        log::info!("MASTER MODE enabled (failover request from '{}')", info);
    }
    if srv.repl.failover.state != FailoverState::NoFailover {
        return Err("-NOMASTERLINK Can't SYNC while failing over");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};

    fn client(id: u64) -> Client {
        let mut c = Client::new(id, None, 0);
        c.addr = "127.0.0.1:5555".to_string();
        c
    }

    fn parse(args: &[&str]) -> Result<FailoverRequest, &'static str> {
        let mut c = client(1);
        for a in args {
            c.argv.push(a.as_bytes());
        }
        parse_failover_args(&c)
    }

    #[test]
    fn options_parse_once_each_in_any_order() {
        let req = parse(&["FAILOVER", "timeout", "50", "TO", "h", "7", "force"]).expect("valid");
        assert_eq!(req, FailoverRequest { to: Some((b"h".to_vec(), 7)), timeout_ms: 50, force: true });
        assert_eq!(parse(&["FAILOVER"]), Ok(FailoverRequest::default()));
        assert_eq!(parse(&["FAILOVER", "TO", "h"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "TIMEOUT"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "FORCE", "FORCE"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "TIMEOUT", "5", "TIMEOUT", "6"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "TO", "h", "1", "TO", "h", "1"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "ABORT", "TIMEOUT", "5"]), Err(SYNTAX_ERR));
        assert_eq!(parse(&["FAILOVER", "TIMEOUT", "0"]), Err("FAILOVER timeout must be greater than 0"));
        assert_eq!(parse(&["FAILOVER", "TIMEOUT", "-3"]), Err("FAILOVER timeout must be greater than 0"));
        assert_eq!(parse(&["FAILOVER", "TIMEOUT", "1.5"]), Err(NOT_AN_INTEGER));
        // The bad port is reported before the unknown option after it.
        assert_eq!(parse(&["FAILOVER", "TO", "h", "x", "bogus"]), Err(NOT_AN_INTEGER));
    }

    #[test]
    fn command_errors_follow_redis_order() {
        let mut srv = test_server();
        let mut c = client(1);
        let err = |s: &str| format!("-ERR {}\r\n", s);
        assert_eq!(run_command(&mut srv, &mut c, failover_command, &["FAILOVER"]), err("FAILOVER requires connected replicas."));
        assert_eq!(run_command(&mut srv, &mut c, failover_command, &["FAILOVER", "ABORT"]), err("No failover in progress."));
        assert_eq!(
            run_command(&mut srv, &mut c, failover_command, &["FAILOVER", "FORCE"]),
            err("FAILOVER requires connected replicas.")
        );
        srv.masterhost = Some("h".into());
        assert_eq!(
            run_command(&mut srv, &mut c, failover_command, &["FAILOVER"]),
            err("FAILOVER is not valid when server is a replica.")
        );
        srv.repl.failover.state = FailoverState::WaitForSync;
        assert_eq!(run_command(&mut srv, &mut c, failover_command, &["FAILOVER"]), err("FAILOVER already in progress."));
        assert!(srv.clients_are_paused(), "a failover pauses writes");
        assert_eq!(get_failover_state_string(&srv), "waiting-for-sync");
        assert_eq!(replication_cron_period(&srv), 100);
    }

    #[test]
    fn abort_resumes_postponed_clients_and_clears_everything() {
        let mut srv = test_server();
        let mut c = client(1);
        srv.repl.failover = Failover {
            state: FailoverState::WaitForSync,
            target: Some(FailoverTarget { host: "h".into(), port: 1 }),
            end_time_ms: Some(5),
            force: false,
        };
        srv.postponed_clients = vec![7, 8];
        assert_eq!(run_command(&mut srv, &mut c, failover_command, &["FAILOVER", "abort"]), "+OK\r\n");
        assert_eq!(srv.repl.failover.state, FailoverState::NoFailover);
        assert_eq!((srv.repl.failover.target.clone(), srv.repl.failover.end_time_ms), (None, None));
        assert!(srv.postponed_clients.is_empty());
        assert_eq!(srv.unblocked_clients, vec![7, 8]);
        assert!(!srv.clients_are_paused());
        assert_eq!(get_failover_state_string(&srv), "no-failover");
    }

    #[test]
    fn timeout_without_force_aborts() {
        let mut srv = test_server();
        srv.repl.failover =
            Failover { state: FailoverState::WaitForSync, target: None, end_time_ms: Some(srv.mstime - 1), force: false };
        update_failover_status(&mut srv);
        assert_eq!(srv.repl.failover.state, FailoverState::NoFailover);
    }

    #[test]
    fn psync_failover_request_refusals() {
        let mut srv = test_server();
        let mut c = client(1);
        for a in ["PSYNC", "abc", "5", "FAILOVER"] {
            c.argv.push(a.as_bytes());
        }
        assert_eq!(sync_command_failover_request(&mut srv, &c), Err("PSYNC FAILOVER can't be sent to a master."));
        srv.masterhost = Some("h".into());
        assert_eq!(sync_command_failover_request(&mut srv, &c), Err("PSYNC FAILOVER replid must match my replid."));
        srv.masterhost = None;
        c.argv.clear();
        for a in ["PSYNC", "abc", "5"] {
            c.argv.push(a.as_bytes());
        }
        assert_eq!(sync_command_failover_request(&mut srv, &c), Ok(()));
        srv.repl.failover.state = FailoverState::InProgress;
        assert_eq!(sync_command_failover_request(&mut srv, &c), Err("-NOMASTERLINK Can't SYNC while failing over"));
        assert_eq!(psync_extra_arg(&srv), Some(b"FAILOVER".as_slice()));
    }
}

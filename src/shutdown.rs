//! Shutting down: SHUTDOWN (db.c shutdownCommand) and server.c's prepareForShutdown(),
//! isReadyToShutdown(), finishShutdown() and abortShutdown().
//!
//! As in Redis 7.0, a master with replicas that have not acknowledged everything does not
//! exit at once: it pauses writes, asks the replicas for an ACK, and lets server_cron
//! finish the shutdown once they caught up or `shutdown-timeout` seconds passed. The
//! SHUTDOWN client stays blocked meanwhile (Redis: BLOCKED_SHUTDOWN) and SHUTDOWN ABORT
//! cancels it. SIGTERM and SIGINT take the same path from server_cron.

use crate::networking::{Client, CLIENT_BLOCKED, CLIENT_DENY_BLOCKING, CLIENT_SLAVE};
use crate::server::{Server, ShutdownFlags};

/// Redis: the shutdown fields of struct redisServer.
#[derive(Debug, Default)]
pub struct ShutdownState {
    /// Redis: server.shutdown_mstime: when a waiting shutdown gives up on the replicas;
    /// 0 when no shutdown is in progress.
    pub deadline_ms: i64,
    /// Redis: server.shutdown_flags.
    pub flags: ShutdownFlags,
    /// Clients blocked in SHUTDOWN (Redis: BLOCKED_SHUTDOWN).
    pub blocked: Vec<u64>,
}

impl ShutdownState {
    /// Redis: isShutdownInitiated().
    pub fn initiated(&self) -> bool {
        self.deadline_ms != 0
    }
}

/// Redis: db.c shutdownCommand(): [NOSAVE|SAVE] [NOW] [FORCE] [ABORT].
pub fn shutdown_command(srv: &mut Server, c: &mut Client) {
    let mut flags = ShutdownFlags::default();
    let mut abort = false;
    for arg in c.argv.iter().skip(1) {
        match arg.to_ascii_lowercase().as_slice() {
            b"nosave" => flags.nosave = true,
            b"save" => flags.save = true,
            b"now" => flags.now = true,
            b"force" => flags.force = true,
            b"abort" => abort = true,
            _ => return c.reply.add_reply_syntax_error(),
        }
    }
    if (abort && c.argv.len() != 2) || (flags.nosave && flags.save) {
        return c.reply.add_reply_syntax_error();
    }
    if abort {
        return match abort_shutdown(srv) {
            Ok(()) => c.reply.add_reply_ok(),
            Err(()) => c.reply.add_reply_error("No shutdown in progress."),
        };
    }
    if !flags.now && c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.reply.add_reply_error("SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client");
    }
    c.flags |= CLIENT_BLOCKED;
    srv.shutdown.blocked.push(c.id);
    if prepare_for_shutdown(srv, flags).is_ok() {
        std::process::exit(0);
    }
    // Still blocked while the shutdown waits for the replicas; answered if it failed.
    if !srv.shutdown.initiated() {
        reply_to_client_blocked_on_shutdown(c);
    }
}

/// Redis: server.c prepareForShutdown(): exits at once (Ok: the caller exits) unless
/// replicas lag, in which case writes pause and server_cron finishes the job later.
pub fn prepare_for_shutdown(srv: &mut Server, mut flags: ShutdownFlags) -> Result<(), ()> {
    if srv.shutdown.initiated() {
        return Err(());
    }
    if srv.loading {
        flags = ShutdownFlags { nosave: true, save: false, ..flags };
    }
    srv.shutdown.flags = flags;
    log::warn!("User requested shutdown...");
    if !flags.now && srv.config.shutdown_timeout != 0 && !is_ready_to_shutdown(srv) {
        srv.shutdown.deadline_ms = srv.mstime + srv.config.shutdown_timeout as i64 * 1000;
        if !srv.clients_are_paused() {
            crate::replication::master::send_getack_to_replicas(srv);
        }
        log::info!("Waiting for replicas before shutting down.");
        return Err(());
    }
    finish_shutdown(srv)
}

/// Redis: server.c isReadyToShutdown(): every replica acknowledged the whole stream.
fn is_ready_to_shutdown(srv: &Server) -> bool {
    replicas(srv).all(|(_, ack_off)| ack_off == srv.repl.master_repl_offset)
}

/// Each replica client with the offset it last acknowledged.
fn replicas(srv: &Server) -> impl Iterator<Item = (&Client, i64)> + '_ {
    srv.repl.slaves.iter().filter_map(|&id| client_ref(srv, id)).filter(|c| c.flags & CLIENT_SLAVE != 0).map(|c| {
        let ack_off = c.repl.as_deref().map_or(0, |r| r.ack_off);
        (c, ack_off)
    })
}

fn client_ref(srv: &Server, id: u64) -> Option<&Client> {
    let fd = *srv.client_fds.get(&id)?;
    srv.clients.get(usize::try_from(fd).ok()?)?.as_deref()
}

/// Redis: server.c finishShutdown(): logs the lagging replicas, saves, removes the pid file
/// and the unix socket, gives the replicas what is still buffered for them.
pub fn finish_shutdown(srv: &mut Server) -> Result<(), ()> {
    log_lagging_replicas(srv);
    let flags = srv.shutdown.flags;
    if crate::rdb::background::shutdown_persistence(srv, flags).is_err() {
        log::warn!("Errors trying to shut down the server. Check the logs for more information.");
        cancel_shutdown(srv);
        return Err(());
    }
    if let Some(pidfile) = srv.config.pidfile.as_deref().filter(|p| !p.is_empty()) {
        log::info!("Removing the pid file.");
        let _ = std::fs::remove_file(pidfile);
    }
    crate::networking::flush_slaves_output_buffers(srv);
    if let Some(path) = srv.config.unixsocket.as_deref() {
        log::info!("Removing the unix socket file.");
        if let Err(err) = std::fs::remove_file(path) {
            log::warn!("Error removing the unix socket file: {}", err);
        }
    }
    log::warn!("Redis is now ready to exit, bye bye...");
    Ok(())
}

/// Redis: the replica report at the start of finishShutdown().
fn log_lagging_replicas(srv: &Server) {
    let (mut total, mut lagging) = (0, 0);
    for (c, ack_off) in replicas(srv) {
        total += 1;
        if ack_off == srv.repl.master_repl_offset {
            continue;
        }
        lagging += 1;
        let info = c.repl.as_deref();
        let online = info.and_then(|r| r.state) == Some(crate::replication::master::SlaveState::Online);
        let lag = if online { srv.unixtime - info.map_or(0, |r| r.ack_time) } else { 0 };
        let state = info.and_then(|r| r.state).map_or("none", |s| s.info_name());
        log::warn!(
            "Lagging replica {} reported offset {} behind master, lag={}, state={}.",
            crate::replication::master::replication_get_slave_name(c),
            srv.repl.master_repl_offset - ack_off,
            lag,
            state
        );
    }
    if total > 0 {
        log::info!("{} of {} replicas are in sync when shutting down.", total - lagging, total);
    }
}

/// Redis: the shutdown part of serverCron(): a waiting shutdown ends once the replicas
/// caught up or the timeout passed. True when the process must exit.
pub fn shutdown_cron(srv: &mut Server) -> bool {
    if !srv.shutdown.initiated() {
        return false;
    }
    (srv.mstime >= srv.shutdown.deadline_ms || is_ready_to_shutdown(srv)) && finish_shutdown(srv).is_ok()
}

/// Redis: server.c abortShutdown(): SHUTDOWN ABORT.
pub fn abort_shutdown(srv: &mut Server) -> Result<(), ()> {
    if srv.shutdown.initiated() {
        cancel_shutdown(srv);
    } else if srv.shutdown_asap || crate::server::shutdown_signal_pending() {
        // A signal asked for a shutdown that server_cron has not started yet.
        srv.shutdown_asap = false;
        crate::server::clear_shutdown_signal();
    } else {
        return Err(());
    }
    log::info!("Shutdown manually aborted.");
    Ok(())
}

/// Redis: server.c cancelShutdown(): writes resume and the SHUTDOWN clients get an error.
fn cancel_shutdown(srv: &mut Server) {
    srv.shutdown_asap = false;
    srv.shutdown.deadline_ms = 0;
    srv.shutdown.flags = ShutdownFlags::default();
    crate::server::clear_shutdown_signal();
    for id in std::mem::take(&mut srv.shutdown.blocked) {
        if let Some(mut c) = srv.take_client_by_id(id) {
            reply_to_client_blocked_on_shutdown(&mut c);
            srv.after_client_activity(c);
        }
    }
    srv.release_postponed_clients();
}

/// Redis: blocked.c replyToClientsBlockedOnShutdown() for one client.
fn reply_to_client_blocked_on_shutdown(c: &mut Client) {
    c.reply.add_reply_error("Errors trying to SHUTDOWN. Check logs.");
    c.flags &= !CLIENT_BLOCKED;
}

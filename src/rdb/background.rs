//! SAVE, BGSAVE and LASTSAVE; the fork()ed child that writes the RDB and how the parent learns
//! its result; the other places persistence hooks into (save points in server_cron, MISCONF
//! in process_command, the final save of SHUTDOWN, FLUSHALL's save, DEBUG RELOAD).
//!
//! Redis: rdb.c rdbSaveBackground(), backgroundSaveDoneHandler(), killRDBChild(),
//! rdbRemoveTempFile(), saveCommand(), bgsaveCommand(), lastsaveCommand(); the persistence
//! parts of server.c serverCron(), processCommand() (writeCommandsDeniedByDiskError) and
//! finishShutdown(); db.c flushAllDataAndResetRDB(); debug.c DEBUG RELOAD.
//! Everything here runs on the event loop; only `rdb_bgsave_child` runs in the fork child,
//! which writes the file with save.rs and `_exit`s. The fork itself and the reaping are
//! in childinfo.rs.

use super::{load, save, RdbSaveInfo, RDBFLAGS_ALLOW_DUP, RDBFLAGS_NONE};
use crate::childinfo::{self, ChildInfoType, ChildType, Forked};
use crate::command_def::CMD_WRITE;
use crate::networking::Client;
use crate::server::{Server, ShutdownFlags};
use crate::util;

/// Redis: RDB_CHILD_TYPE_DISK / _SOCKET (sockets come with replication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RdbChildType {
    Disk,
    /// A diskless replication transfer (replication/master_transfer.rs).
    Socket,
}

/// Redis: CONFIG_BGSAVE_RETRY_DELAY: after a failed BGSAVE, save points wait this long
/// (seconds) before trying again.
pub const CONFIG_BGSAVE_RETRY_DELAY: i64 = 5;

/// Redis: shared.bgsaveerr.
pub const MISCONF_ERR: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

const BGSAVE_IN_PROGRESS_ERR: &str = "Background save already in progress";

/// Redis: time(NULL).
fn unix_now() -> i64 {
    util::ustime() / 1_000_000
}

/// Redis: rdb.c rdbPopulateSaveInfo(): the replication info to store in the file (repl-id,
/// repl-offset and the stream's selected db), so a restarted master can still accept a
/// PSYNC. Only a master with a backlog has any; the replica cases (master or cached master
/// link) come with the replica side of replication.
pub fn rdb_populate_save_info(srv: &Server) -> Option<RdbSaveInfo> {
    if srv.masterhost.is_some() {
        return crate::replication::replica::rdb_populate_save_info_replica(srv);
    }
    if srv.repl.backlog.is_none() {
        return None;
    }
    // -1 (no write since the last full sync) is stored as 0: the next write SELECTs anyway.
    let repl_stream_db = if srv.repl.slaveseldb == -1 { 0 } else { i32::try_from(srv.repl.slaveseldb).unwrap_or(0) };
    Some(RdbSaveInfo { repl_stream_db, repl_id_is_set: true, repl_id: srv.repl.replid, repl_offset: srv.repl.master_repl_offset })
}

/// Redis: server.rdb_filename (the `dbfilename` config, relative to `dir`, the cwd).
fn rdb_filename(srv: &Server) -> String {
    srv.config.dbfilename.clone()
}

/// A foreground save of the whole dataset to `dbfilename` (Redis: rdbSave(server.rdb_filename,
/// rdbPopulateSaveInfo())), used by SAVE, SHUTDOWN, FLUSHALL and DEBUG RELOAD.
fn rdb_save_now(srv: &mut Server) -> std::io::Result<()> {
    let rsi = rdb_populate_save_info(srv);
    let filename = rdb_filename(srv);
    save::rdb_save(srv, &filename, rsi.as_ref(), RDBFLAGS_NONE)
}

// ----------------------------------------------------------------------------------------
// BGSAVE: the child and its end
// ----------------------------------------------------------------------------------------

/// Redis: rdb.c rdbSaveBackground(): forks a child that writes `filename`. Err when a child
/// already runs or fork() failed (then logged and remembered as a failed BGSAVE).
pub fn rdb_save_background(srv: &mut Server, filename: &str, rsi: Option<&RdbSaveInfo>, rdbflags: u32) -> Result<(), ()> {
    if srv.has_active_child() {
        return Err(());
    }
    srv.stat_rdb_saves += 1;
    srv.dirty_before_bgsave = srv.dirty;
    srv.lastbgsave_try = unix_now();
    match childinfo::redis_fork(srv, ChildType::Rdb) {
        Ok(Forked::Child) => rdb_bgsave_child(srv, filename, rsi, rdbflags),
        Ok(Forked::Parent(pid)) => {
            log::info!("Background saving started by pid {}", pid);
            srv.rdb_save_time_start = unix_now();
            srv.rdb_child_type = Some(RdbChildType::Disk);
            Ok(())
        }
        Err(err) => {
            srv.lastbgsave_status_ok = false;
            log::warn!("Can't save in background: fork: {}", childinfo::util_strerror(&err));
            Err(())
        }
    }
}

/// The child of rdbSaveBackground(): writes the file, reports its copy-on-write size and
/// exits 0 or 1. A panic must not unwind back into the copy of the event loop.
fn rdb_bgsave_child(srv: &mut Server, filename: &str, rsi: Option<&RdbSaveInfo>, rdbflags: u32) -> ! {
    childinfo::redis_set_proc_title(srv, childinfo::ChildTitle::RdbBgsave);
    let saved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| save::rdb_save(srv, filename, rsi, rdbflags).is_ok()));
    let ok = saved.unwrap_or(false);
    if ok {
        childinfo::send_child_cow_info(srv, ChildInfoType::RdbCowSize, "RDB");
    }
    childinfo::exit_from_child(if ok { 0 } else { 1 })
}

/// Redis: rdb.c backgroundSaveDoneHandler(): called by check_children_done with how the
/// RDB child ended (exit code, or the signal that killed it).
pub fn background_save_done_handler(srv: &mut Server, exitcode: i32, bysignal: i32) {
    let child_type = srv.rdb_child_type;
    match srv.rdb_child_type {
        Some(RdbChildType::Disk) | None => background_save_done_handler_disk(srv, exitcode, bysignal),
        Some(RdbChildType::Socket) => crate::replication::master_transfer::background_save_done_handler_socket(srv, exitcode, bysignal),
    }
    srv.rdb_child_type = None;
    srv.rdb_save_time_last = unix_now() - srv.rdb_save_time_start;
    srv.rdb_save_time_start = -1;
    // Redis: replicas may wait for this BGSAVE (the first stage of a full sync).
    crate::replication::master_transfer::update_slaves_waiting_bgsave(srv, bysignal == 0 && exitcode == 0, child_type == Some(RdbChildType::Socket));
}

/// Redis: rdb.c backgroundSaveDoneHandlerDisk().
fn background_save_done_handler_disk(srv: &mut Server, exitcode: i32, bysignal: i32) {
    if bysignal == 0 && exitcode == 0 {
        log::info!("Background saving terminated with success");
        // Writes that arrived during the save are still unsaved.
        srv.dirty = srv.dirty.saturating_sub(srv.dirty_before_bgsave);
        srv.lastsave = unix_now();
        srv.lastbgsave_status_ok = true;
    } else if bysignal == 0 {
        log::warn!("Background saving error");
        srv.lastbgsave_status_ok = false;
    } else {
        log::warn!("Background saving terminated by signal {}", bysignal);
        if let Some(pid) = srv.child_pid {
            rdb_remove_temp_file(pid);
        }
        // SIGUSR1 is how the server itself stops a child: not an error.
        if bysignal != libc::SIGUSR1 {
            srv.lastbgsave_status_ok = false;
        }
    }
}

/// Redis: rdb.c rdbRemoveTempFile(): the half-written temp-<pid>.rdb of a dead child.
pub fn rdb_remove_temp_file(childpid: i32) {
    let _ = std::fs::remove_file(format!("temp-{}.rdb", childpid));
}

/// Redis: rdb.c killRDBChild(): SIGUSR1, so the child's end is not counted as an error; the
/// cleanup (temp file, child state) happens when server_cron reaps it.
pub fn kill_rdb_child(srv: &Server) {
    if let Some(pid) = srv.child_pid {
        // SAFETY: kill(2) on the pid of our own child process.
        unsafe { libc::kill(pid, libc::SIGUSR1) };
    }
}

// ----------------------------------------------------------------------------------------
// server_cron and process_command hooks
// ----------------------------------------------------------------------------------------

/// Redis: the persistence part of serverCron(): with a child, read its reports once a second
/// and reap it when done; without one, start a BGSAVE when a save point is reached. Then a
/// BGSAVE SCHEDULE'd earlier starts once no child runs.
pub fn persistence_cron(srv: &mut Server) {
    if srv.has_active_child() {
        if crate::server::run_with_period(srv, 1000) {
            childinfo::receive_child_info(srv);
        }
        childinfo::check_children_done(srv);
    } else {
        check_save_points(srv);
    }
    start_scheduled_bgsave(srv);
}

/// A failed BGSAVE is retried only after CONFIG_BGSAVE_RETRY_DELAY seconds.
fn bgsave_retry_allowed(srv: &Server) -> bool {
    srv.unixtime - srv.lastbgsave_try > CONFIG_BGSAVE_RETRY_DELAY || srv.lastbgsave_status_ok
}

/// Redis: serverCron()'s loop over `save <seconds> <changes>`: the first point with enough
/// changes and enough time since the last save starts a BGSAVE.
fn check_save_points(srv: &mut Server) {
    let due = srv.config.save.iter().copied().find(|&(seconds, changes)| {
        srv.dirty >= changes.max(0) as u64 && srv.unixtime - srv.lastsave > seconds && bgsave_retry_allowed(srv)
    });
    if let Some((seconds, changes)) = due {
        log::info!("{} changes in {} seconds. Saving...", changes, seconds);
        let rsi = rdb_populate_save_info(srv);
        let filename = rdb_filename(srv);
        let _ = rdb_save_background(srv, &filename, rsi.as_ref(), RDBFLAGS_NONE);
    }
}

/// Redis: serverCron()'s rdb_bgsave_scheduled block.
fn start_scheduled_bgsave(srv: &mut Server) {
    if srv.has_active_child() || !srv.rdb_bgsave_scheduled || !bgsave_retry_allowed(srv) {
        return;
    }
    let rsi = rdb_populate_save_info(srv);
    let filename = rdb_filename(srv);
    if rdb_save_background(srv, &filename, rsi.as_ref(), RDBFLAGS_NONE).is_ok() {
        srv.rdb_bgsave_scheduled = false;
    }
}

/// Redis: server.c writeCommandsDeniedByDiskError(), the RDB case (AOF comes with AOF).
pub fn write_commands_denied_by_disk_error(srv: &Server) -> bool {
    srv.config.stop_writes_on_bgsave_error && !srv.config.save.is_empty() && !srv.lastbgsave_status_ok
}

/// Redis: processCommand()'s disk-error check: on a master whose last BGSAVE failed, writes
/// (an EXEC counts as one when it queued a write) and PING get the MISCONF error.
pub fn deny_write_on_disk_error(srv: &Server, c: &Client, id: usize, flags: u64) -> Option<&'static str> {
    if srv.masterhost.is_some() || !write_commands_denied_by_disk_error(srv) {
        return None;
    }
    let exec_writes = crate::multi::is_exec_command(srv, id) && c.mstate.cmd_flags & CMD_WRITE != 0;
    let is_ping = srv.commands.cmds.get(id).is_some_and(|cmd| cmd.fullname == "ping");
    (flags & CMD_WRITE != 0 || exec_writes || is_ping).then_some(MISCONF_ERR)
}

// ----------------------------------------------------------------------------------------
// SHUTDOWN, FLUSHALL, DEBUG RELOAD
// ----------------------------------------------------------------------------------------

/// Redis: the persistence steps of server.c finishShutdown(): a saving child is killed (its
/// snapshot would be stale), then the final save when save points are set and NOSAVE was
/// not given, or SAVE was. Err: the save failed and FORCE was not given, so no exit.
pub fn shutdown_persistence(srv: &mut Server, flags: ShutdownFlags) -> Result<(), ()> {
    if srv.child_type == Some(ChildType::Rdb) {
        log::warn!("There is a child saving an .rdb. Killing it!");
        kill_rdb_child(srv);
        if let Some(pid) = srv.child_pid {
            rdb_remove_temp_file(pid);
        }
    }
    if (!srv.config.save.is_empty() && !flags.nosave) || flags.save {
        log::info!("Saving the final RDB snapshot before exiting.");
        if rdb_save_now(srv).is_err() {
            if !flags.force {
                log::warn!("Error trying to save the DB, can't exit.");
                return Err(());
            }
            log::warn!("Error trying to save the DB. Exit anyway.");
        }
    }
    Ok(())
}

/// Redis: the RDB part of db.c flushAllDataAndResetRDB(): a running BGSAVE would write the
/// old data, so it is killed; with save points the now empty dataset is saved at once
/// (which, on 7.0.15, also resets `dirty`).
pub fn flush_reset_rdb(srv: &mut Server) {
    if srv.child_type == Some(ChildType::Rdb) {
        kill_rdb_child(srv);
    }
    if !srv.config.save.is_empty() {
        let _ = rdb_save_now(srv);
    }
}

/// DEBUG RELOAD's options (Redis: debug.c).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReloadOptions {
    flush: bool,
    save: bool,
    rdbflags: u32,
}

fn parse_reload_options(args: &[&[u8]]) -> Option<ReloadOptions> {
    let mut opts = ReloadOptions { flush: true, save: true, rdbflags: RDBFLAGS_NONE };
    for arg in args {
        match arg.to_ascii_lowercase().as_slice() {
            b"merge" => opts.rdbflags |= RDBFLAGS_ALLOW_DUP,
            b"noflush" => opts.flush = false,
            b"nosave" => opts.save = false,
            _ => return None,
        }
    }
    Some(opts)
}

/// Redis: debug.c DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save (unless NOSAVE), empty the
/// dataset (unless NOFLUSH), load the file back.
pub fn debug_reload_command(srv: &mut Server, c: &mut Client) {
    let args: Vec<&[u8]> = c.argv.iter().skip(2).collect();
    let Some(opts) = parse_reload_options(&args) else {
        return c.reply.add_reply_error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
    };
    if opts.save && rdb_save_now(srv).is_err() {
        return c.reply.add_reply_error("-ERR");
    }
    if opts.flush {
        crate::db::empty_data(srv, None, false);
    }
    let filename = rdb_filename(srv);
    let mut rsi = RdbSaveInfo::default();
    if load::rdb_load(srv, &filename, &mut rsi, opts.rdbflags).is_err() {
        return c.reply.add_reply_error("Error trying to load the RDB dump");
    }
    log::warn!("DB reloaded by DEBUG RELOAD");
    c.reply.add_reply_ok();
}

// ----------------------------------------------------------------------------------------
// Commands
// ----------------------------------------------------------------------------------------

/// Redis: rdb.c saveCommand().
pub fn save_command(srv: &mut Server, c: &mut Client) {
    if srv.child_type == Some(ChildType::Rdb) {
        return c.reply.add_reply_error(BGSAVE_IN_PROGRESS_ERR);
    }
    srv.stat_rdb_saves += 1;
    match rdb_save_now(srv) {
        Ok(()) => c.reply.add_reply_ok(),
        // Redis: addReplyErrorObject(c, shared.err): a bare "-ERR".
        Err(_) => c.reply.add_reply_error("-ERR"),
    }
}

/// Inside EXEC (Redis: server.in_exec) a fork would happen mid-transaction, so BGSAVE is
/// scheduled instead. call() counts the nesting: the EXEC is level 1, its commands level 2.
fn in_exec(srv: &Server) -> bool {
    srv.in_nested_call > 1
}

/// Redis: rdb.c bgsaveCommand(): BGSAVE [SCHEDULE].
pub fn bgsave_command(srv: &mut Server, c: &mut Client) {
    let schedule = match c.argv.len() {
        1 => false,
        2 if util::str_eq_ignore_case(c.argv.get(1), b"schedule") => true,
        _ => return c.reply.add_reply_syntax_error(),
    };
    if srv.child_type == Some(ChildType::Rdb) {
        return c.reply.add_reply_error(BGSAVE_IN_PROGRESS_ERR);
    }
    if srv.has_active_child() || in_exec(srv) {
        if !(schedule || in_exec(srv)) {
            return c.reply.add_reply_error("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
        }
        srv.rdb_bgsave_scheduled = true;
        return c.reply.add_reply_status("Background saving scheduled");
    }
    let rsi = rdb_populate_save_info(srv);
    let filename = rdb_filename(srv);
    match rdb_save_background(srv, &filename, rsi.as_ref(), RDBFLAGS_NONE) {
        Ok(()) => c.reply.add_reply_status("Background saving started"),
        Err(()) => c.reply.add_reply_error("-ERR"),
    }
}

/// Redis: rdb.c lastsaveCommand().
pub fn lastsave_command(srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_long_long(srv.lastsave);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_info_only_for_a_master_with_a_backlog() {
        let mut srv = crate::test_support::test_server();
        assert_eq!(rdb_populate_save_info(&srv), None);
        srv.repl.backlog = Some(crate::replication::backlog::Backlog::new(1024, 0));
        srv.repl.master_repl_offset = 77;
        let rsi = rdb_populate_save_info(&srv).expect("master with backlog");
        assert_eq!((rsi.repl_stream_db, rsi.repl_offset, rsi.repl_id), (0, 77, srv.repl.replid));
        srv.repl.slaveseldb = 3;
        assert_eq!(rdb_populate_save_info(&srv).map(|r| r.repl_stream_db), Some(3));
        srv.masterhost = Some("127.0.0.1".into());
        assert_eq!(rdb_populate_save_info(&srv), None);
    }

    #[test]
    fn reload_options_parse_like_redis() {
        let parse = |args: &[&str]| parse_reload_options(&args.iter().map(|a| a.as_bytes()).collect::<Vec<_>>());
        assert_eq!(parse(&[]), Some(ReloadOptions { flush: true, save: true, rdbflags: RDBFLAGS_NONE }));
        assert_eq!(
            parse(&["NoSave", "noflush", "MERGE"]),
            Some(ReloadOptions { flush: false, save: false, rdbflags: RDBFLAGS_ALLOW_DUP })
        );
        assert_eq!(parse(&["nosave", "bogus"]), None);
    }

    #[test]
    fn misconf_needs_save_points_a_failed_bgsave_and_the_option() {
        let mut srv = crate::test_support::test_server();
        srv.config.save = vec![(3600, 1)];
        assert!(!write_commands_denied_by_disk_error(&srv));
        srv.lastbgsave_status_ok = false;
        assert!(write_commands_denied_by_disk_error(&srv));
        srv.config.stop_writes_on_bgsave_error = false;
        assert!(!write_commands_denied_by_disk_error(&srv));
        srv.config.stop_writes_on_bgsave_error = true;
        srv.config.save.clear();
        assert!(!write_commands_denied_by_disk_error(&srv));
    }

    #[test]
    fn save_points_respect_changes_time_and_retry_delay() {
        let mut srv = crate::test_support::test_server();
        srv.config.save = vec![(10, 5)];
        srv.unixtime = 1_000;
        srv.lastsave = 995;
        srv.dirty = 5;
        // Not enough time since the last save: nothing to do (and no fork in a unit test).
        check_save_points(&mut srv);
        assert_eq!(srv.stat_rdb_saves, 0);
        srv.lastbgsave_status_ok = false;
        srv.lastbgsave_try = 998;
        assert!(!bgsave_retry_allowed(&srv));
        srv.lastbgsave_try = 994;
        assert!(bgsave_retry_allowed(&srv));
    }

    #[test]
    fn done_handler_accounts_dirty_status_and_time() {
        let mut srv = crate::test_support::test_server();
        srv.rdb_child_type = Some(RdbChildType::Disk);
        srv.rdb_save_time_start = unix_now() - 3;
        srv.dirty = 10;
        srv.dirty_before_bgsave = 7;
        srv.lastsave = 0;
        background_save_done_handler(&mut srv, 0, 0);
        assert_eq!(srv.dirty, 3);
        assert!(srv.lastsave > 0 && srv.lastbgsave_status_ok);
        assert!((3..=4).contains(&srv.rdb_save_time_last));
        assert_eq!((srv.rdb_save_time_start, srv.rdb_child_type), (-1, None));
        background_save_done_handler(&mut srv, 1, 0);
        assert!(!srv.lastbgsave_status_ok);
        srv.lastbgsave_status_ok = true;
        background_save_done_handler(&mut srv, 1, libc::SIGUSR1);
        assert!(srv.lastbgsave_status_ok, "SIGUSR1 is not an error");
        background_save_done_handler(&mut srv, -1, libc::SIGKILL);
        assert!(!srv.lastbgsave_status_ok);
    }
}

//! The CONFIG command: the command half of Redis's config.c (configGetCommand,
//! configSetCommand, configResetStatCommand, configRewriteCommand). The directive table,
//! parsing and rendering live in config.rs; this file runs them for a client and applies a
//! changed value to the running server (Redis's per-config apply functions).

use crate::config::{self, ConfigSetOptions};
use crate::networking::Client;
use crate::server::{self, Server};

const CONFIG_HELP: &[&str] = &[
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
];

/// Redis: config.c configHelpCommand().
pub fn config_help_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_help("config", CONFIG_HELP);
}

/// Redis: config.c configGetCommand(): a map of name -> value.
pub fn config_get_command(srv: &mut Server, c: &mut Client) {
    let patterns: Vec<&[u8]> = c.argv.iter().skip(2).collect();
    let pairs = config::config_get(&srv.config, &patterns);
    c.reply.add_reply_map_len(pairs.len());
    for (name, value) in &pairs {
        c.reply.add_reply_bulk(name.as_bytes());
        c.reply.add_reply_bulk(value);
    }
}

/// Redis: config.c configSetCommand(): all pairs or none, then each change applied.
pub fn config_set_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() % 2 != 0 {
        return c.reply.add_reply_syntax_error();
    }
    // Redis redacts every sensitive value (requirepass, masterauth...) for the slow log and
    // MONITOR before anything else, even when the command then fails.
    for i in (3..c.argv.len()).step_by(2) {
        if config::config_is_sensitive(c.argv.get(i - 1)) {
            c.argv.redact(i);
        }
    }
    let pairs: Vec<(&[u8], &[u8])> = (2..c.argv.len()).step_by(2).map(|i| (c.argv.get(i), c.argv.get(i + 1))).collect();
    let opts = ConfigSetOptions { local_client: server::is_local_client(c), loading: srv.loading };
    let backup = srv.config.clone();
    let changed = match config::config_set_with(&mut srv.config, &pairs, opts) {
        Ok(changed) => changed,
        Err(msg) => return c.reply.add_reply_error(msg.strip_prefix("ERR ").unwrap_or(&format!("-{}", msg))),
    };
    for name in &changed {
        if let Err(why) = apply_config(srv, name) {
            srv.config = backup;
            let msg = format!("CONFIG SET failed (possibly related to argument '{}') - {}", name, why);
            return c.reply.add_reply_error(&msg);
        }
    }
    c.reply.add_reply_ok();
}

/// Redis: the `apply` functions of config.c's table: make a changed value take effect.
fn apply_config(srv: &mut Server, name: &str) -> Result<(), String> {
    match name {
        "dir" => std::env::set_current_dir(&srv.config.dir).map_err(|e| e.to_string()),
        "hz" => {
            srv.hz = srv.config.hz;
            Ok(())
        }
        "loglevel" | "logfile" => {
            crate::startup::apply_logging_config(&srv.config);
            Ok(())
        }
        "maxmemory" => {
            crate::evict::update_maxmemory(srv);
            Ok(())
        }
        // Redis: resizeReplicationBacklog() (the newest history is kept).
        "repl-backlog-size" => {
            let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(usize::MAX);
            if let Some(backlog) = srv.repl.backlog.as_mut() {
                backlog.resize(size);
            }
            Ok(())
        }
        // Redis: updateGoodSlaves().
        "min-replicas-to-write" | "min-replicas-max-lag" => {
            crate::replication::master::refresh_good_slaves_count(srv);
            Ok(())
        }
        "maxclients" => {
            let setsize = srv.config.maxclients as usize + 32 + 96;
            srv.el.ae_resize_set_size(setsize).map_err(|_| "The event loop API used by Redis is not able to handle the specified number of clients".to_string())
        }
        _ => Ok(()),
    }
}

/// Redis: config.c configResetStatCommand() -> server.c resetServerStats().
pub fn config_resetstat_command(srv: &mut Server, c: &mut Client) {
    server::reset_server_stats(srv);
    c.reply.add_reply_ok();
}

/// Redis: config.c configRewriteCommand().
pub fn config_rewrite_command(srv: &mut Server, c: &mut Client) {
    let Some(path) = srv.configfile.clone() else {
        return c.reply.add_reply_error("The server is running without a config file");
    };
    // config_rewrite words the failure as Redis does (strerror text, no "(os error N)").
    match config::config_rewrite(&srv.config, &path, &[]) {
        Ok(()) => {
            // Redis logs this at LL_WARNING ('#'), like every CONFIG REWRITE outcome.
            log::warn!("CONFIG REWRITE executed with success.");
            c.reply.add_reply_ok();
        }
        Err(msg) => {
            let reason = msg.strip_prefix("ERR Rewriting config file: ").unwrap_or(&msg);
            log::warn!("CONFIG REWRITE failed: {}", reason);
            c.reply.add_reply_error(msg.strip_prefix("ERR ").unwrap_or(&msg));
        }
    }
}

//! Helpers shared by the unit tests of command procs: a server with the default databases and
//! a way to run one command on a fake client and take its reply. Test-only.

use crate::config::ServerConfig;
use crate::db::RedisDb;
use crate::networking::Client;
use crate::server::Server;

/// A server as init_server leaves it, minus the listeners: databases, the command table and
/// a command clock.
pub fn test_server() -> Server {
    // No save points: a unit test must not write dump.rdb into the working directory
    // (FLUSHALL saves when save points are set).
    let config = ServerConfig { save: Vec::new(), ..ServerConfig::default() };
    let mut srv = crate::server::init_server_config(config, &[]).expect("event loop"); // ok: test-only
    srv.db = (0..16).map(RedisDb::new).collect();
    srv.commands = crate::command_table::CommandTable::populate(
        crate::commands::COMMAND_TABLE,
        crate::command_procs::command_proc,
    );
    srv.cmd_time_snapshot = crate::util::mstime();
    srv
}

/// Runs `proc_` with `args` as the client's command; returns the reply bytes as text and
/// leaves the (maybe rewritten) arguments in `c.argv`.
pub fn run_command(srv: &mut Server, c: &mut Client, proc_: fn(&mut Server, &mut Client), args: &[&str]) -> String {
    c.argv.clear();
    for arg in args {
        c.argv.push(arg.as_bytes());
    }
    proc_(srv, c);
    let out = String::from_utf8_lossy(&c.reply.pending()).into_owned();
    c.reply.advance(c.reply.pending_len());
    out
}

/// Runs `args` through process_command (lookup, arity and state checks, call(),
/// propagation), as the query parser hands a command over; returns the reply as text.
pub fn process(srv: &mut Server, c: &mut Client, args: &[&str]) -> String {
    c.argv.clear();
    for arg in args {
        c.argv.push(arg.as_bytes());
    }
    crate::server::process_command(srv, c);
    let out = String::from_utf8_lossy(&c.reply.pending()).into_owned();
    c.reply.advance(c.reply.pending_len());
    out
}

//! Helpers shared by the unit tests of command procs: a server with the default databases and
//! a way to run one command on a fake client and take its reply. Test-only.

use crate::config::ServerConfig;
use crate::db::RedisDb;
use crate::networking::Client;
use crate::server::Server;

/// A server as init_server leaves it, minus the listeners: databases and a command clock.
pub fn test_server() -> Server {
    let mut srv = crate::server::init_server_config(ServerConfig::default(), &[]).expect("event loop"); // ok: test-only
    srv.db = (0..16).map(RedisDb::new).collect();
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
    let out = String::from_utf8_lossy(c.reply.pending()).into_owned();
    c.reply.advance(c.reply.pending_len());
    out
}

//! Binds command names to the functions that run them: the role of the "function" field of
//! Redis's src/commands/*.json. `commands.rs` (generated) says what each command is;
//! this file says which Rust function runs it. A command missing here is not in the live
//! table, so the server answers it as an unknown command instead of pretending.

use crate::command_def::CommandProc;
use crate::{db, expire, server_cmds};

/// Redis: the `function` of each command's JSON, keyed by the command's full name.
pub fn command_proc(fullname: &str) -> Option<CommandProc> {
    let proc_: CommandProc = match fullname {
        // server_cmds.rs (Redis: server.c / networking.c)
        "ping" => server_cmds::ping_command,
        "echo" => server_cmds::echo_command,
        "quit" => server_cmds::quit_command,
        "select" => db::select_command,
        // expire.rs
        "expire" => expire::expire_command,
        "pexpire" => expire::pexpire_command,
        "expireat" => expire::expireat_command,
        "pexpireat" => expire::pexpireat_command,
        "ttl" => expire::ttl_command,
        "pttl" => expire::pttl_command,
        "expiretime" => expire::expiretime_command,
        "pexpiretime" => expire::pexpiretime_command,
        "persist" => expire::persist_command,
        _ => return None,
    };
    Some(proc_)
}

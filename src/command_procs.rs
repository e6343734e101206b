//! Binds command names to the functions that run them: the role of the "function" field of
//! Redis's src/commands/*.json. `commands.rs` (generated) says what each command is;
//! this file says which Rust function runs it. A command missing here is not in the live
//! table, so the server answers it as an unknown command instead of pretending.

use crate::command_def::CommandProc;
use crate::{client, command, config_command, db, expire, server_cmds};

/// Redis: the `function` of each command's JSON, keyed by the command's full name.
pub fn command_proc(fullname: &str) -> Option<CommandProc> {
    let proc_: CommandProc = match fullname {
        // server_cmds.rs (Redis: server.c / networking.c)
        "ping" => server_cmds::ping_command,
        "echo" => server_cmds::echo_command,
        "quit" => server_cmds::quit_command,
        "select" => db::select_command,
        "time" => server_cmds::time_command,
        "auth" => server_cmds::auth_command,
        "hello" => server_cmds::hello_command,
        "reset" => server_cmds::reset_command,
        "monitor" => server_cmds::monitor_command,
        "shutdown" => server_cmds::shutdown_command,
        // config_command.rs (Redis: config.c)
        "config|help" => config_command::config_help_command,
        "config|get" => config_command::config_get_command,
        "config|set" => config_command::config_set_command,
        "config|resetstat" => config_command::config_resetstat_command,
        "config|rewrite" => config_command::config_rewrite_command,
        // client.rs (Redis: networking.c clientCommand)
        "client|help" => client::client_help_command,
        "client|id" => client::client_id_command,
        "client|info" => client::client_info_command,
        "client|list" => client::client_list_command,
        "client|setname" => client::client_setname_command,
        "client|getname" => client::client_getname_command,
        "client|reply" => client::client_reply_command,
        "client|no-evict" => client::client_no_evict_command,
        "client|pause" => client::client_pause_command,
        "client|unpause" => client::client_unpause_command,
        "client|kill" => client::client_kill_command,
        "client|unblock" => client::client_unblock_command,
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
        // keyspace begin (db.rs and object.rs, Redis: db.c and object.c)
        "del" => db::del_command,
        "unlink" => db::unlink_command,
        "exists" => db::exists_command,
        "type" => db::type_command,
        "keys" => db::keys_command,
        "scan" => db::scan_command,
        "randomkey" => db::randomkey_command,
        "rename" => db::rename_command,
        "renamenx" => db::renamenx_command,
        "move" => db::move_command,
        "copy" => db::copy_command,
        "touch" => db::touch_command,
        "dbsize" => db::dbsize_command,
        "flushdb" => db::flushdb_command,
        "flushall" => db::flushall_command,
        "swapdb" => db::swapdb_command,
        "object|encoding" => crate::object::object_command,
        "object|refcount" => crate::object::object_command,
        "object|idletime" => crate::object::object_command,
        "object|freq" => crate::object::object_command,
        "object|help" => crate::object::object_command,
        "memory|usage" => crate::object::memory_command,
        "memory|help" => crate::object::memory_command,
        // keyspace end
        // command begin (command.rs, Redis: server.c commandCommand and subcommands)
        "command" => command::command_command,
        "command|count" => command::command_count_command,
        "command|info" => command::command_info_command,
        "command|docs" => command::command_docs_command,
        "command|getkeys" => command::command_get_keys_command,
        "command|getkeysandflags" => command::command_get_keys_and_flags_command,
        "command|list" => command::command_list_command,
        "command|help" => command::command_help_command,
        // command end
        // strings begin (t_string.rs and bitops.rs, Redis: t_string.c and bitops.c)
        "set" => crate::t_string::set_command,
        "setnx" => crate::t_string::setnx_command,
        "setex" => crate::t_string::setex_command,
        "psetex" => crate::t_string::psetex_command,
        "get" => crate::t_string::get_command,
        "getex" => crate::t_string::getex_command,
        "getdel" => crate::t_string::getdel_command,
        "getset" => crate::t_string::getset_command,
        "mget" => crate::t_string::mget_command,
        "mset" => crate::t_string::mset_command,
        "msetnx" => crate::t_string::msetnx_command,
        "append" => crate::t_string::append_command,
        "strlen" => crate::t_string::strlen_command,
        "incr" => crate::t_string::incr_command,
        "decr" => crate::t_string::decr_command,
        "incrby" => crate::t_string::incrby_command,
        "decrby" => crate::t_string::decrby_command,
        "incrbyfloat" => crate::t_string::incrbyfloat_command,
        "getrange" => crate::t_string::getrange_command,
        "substr" => crate::t_string::getrange_command,
        "setrange" => crate::t_string::setrange_command,
        "lcs" => crate::t_string::lcs_command,
        "setbit" => crate::bitops::setbit_command,
        "getbit" => crate::bitops::getbit_command,
        "bitcount" => crate::bitops::bitcount_command,
        "bitpos" => crate::bitops::bitpos_command,
        "bitop" => crate::bitops::bitop_command,
        "bitfield" => crate::bitops::bitfield_command,
        "bitfield_ro" => crate::bitops::bitfield_ro_command,
        // strings end
        // info-debug begin (info.rs, debug.rs)
        "info" => crate::info::info_command,
        "debug" => crate::debug::debug_command,
        // info-debug end
        _ => return None,
    };
    Some(proc_)
}

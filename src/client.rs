//! Client introspection and the CLIENT command: the client half of Redis's networking.c
//! (catClientInfoString, clientCommand) and the protected-mode gate of acceptCommonHandler.

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::networking::*;
use crate::server::Server;

/// Redis: networking.c getClientTypeName()-style flag letters of CLIENT LIST.
fn client_flags_string(c: &Client, dirty_cas: bool, tracking: u64) -> String {
    // CLIENT_DIRTY_CAS is kept in the WATCH index, the CLIENT_TRACKING* bits in
    // tracking.rs, not in the client's flags.
    let cas = if dirty_cas { crate::multi::CLIENT_DIRTY_CAS } else { 0 };
    let bits = c.flags | cas | tracking;
    let mut flags = String::new();
    if c.flags & CLIENT_SLAVE != 0 {
        flags.push(if c.flags & CLIENT_MONITOR != 0 { 'O' } else { 'S' });
    }
    let letters = [
        (CLIENT_MASTER, 'M'),
        (CLIENT_PUBSUB, 'P'),
        (CLIENT_MULTI, 'x'),
        (CLIENT_BLOCKED, 'b'),
        (crate::tracking::CLIENT_TRACKING, 't'),
        (crate::tracking::CLIENT_TRACKING_BROKEN_REDIR, 'R'),
        (crate::tracking::CLIENT_TRACKING_BCAST, 'B'),
        (crate::multi::CLIENT_DIRTY_CAS, 'd'),
        (CLIENT_CLOSE_AFTER_REPLY, 'c'),
        (CLIENT_CLOSE_ASAP, 'A'),
        (CLIENT_UNIX_SOCKET, 'U'),
        (CLIENT_NO_EVICT, 'e'),
    ];
    for (bit, letter) in letters {
        if bits & bit != 0 {
            flags.push(letter);
        }
    }
    if flags.is_empty() {
        flags.push('N');
    }
    flags
}

/// Redis: networking.c catClientInfoString(): one CLIENT LIST line, without the newline.
pub fn cat_client_info_string(srv: &Server, c: &Client) -> String {
    let mask = srv.el.ae_get_file_events(c.fd);
    let mut events = String::new();
    if mask & AE_READABLE != 0 {
        events.push('r');
    }
    if mask & AE_WRITABLE != 0 {
        events.push('w');
    }
    let cmd = c.lastcmd.and_then(|id| srv.commands.get(id)).map_or("NULL", |cmd| cmd.fullname.as_str());
    // Redis: sdslen/sdsavail of the query buffer, which still holds the running command.
    let qbuf = c.qb_len;
    let qbuf_free = c.querybuf.len() - c.qb_len;
    let (tot_mem, omem) = get_client_memory_usage(srv, c);
    // Redis: the number of queued commands while in MULTI, else -1.
    let multi = if c.flags & CLIENT_MULTI != 0 { c.mstate.count() as i64 } else { -1 };
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events={} cmd={} user={} redir={} resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(c.name.as_deref().unwrap_or(b"")),
        srv.unixtime - c.ctime,
        srv.unixtime - c.last_interaction,
        client_flags_string(c, crate::multi::is_dirty_cas(srv, c.id), srv.tracking.client_flags(c.id)),
        c.db,
        c.pubsub.channels.len(),
        c.pubsub.patterns.len(),
        c.pubsub.shard_channels.len(),
        multi,
        qbuf,
        qbuf_free,
        c.argv.len_sum(),
        c.mstate.argv_len_sums,
        c.reply.buf_usable_size(),
        c.reply.buf_peak(),
        c.reply.bufpos(),
        c.reply.list_len(),
        omem,
        tot_mem,
        events,
        cmd,
        c.user,
        srv.tracking.client_redirection(c.id),
        c.reply.resp
    )
}

/// Redis: networking.c getClientMemoryUsage(): (total, output buffers). The same sum as
/// Redis's: reply list, query buffer allocation, the client structure, the fixed reply
/// buffer, the arguments, MULTI's queue and Pub/Sub's per-client entries.
pub fn get_client_memory_usage(srv: &Server, c: &Client) -> (usize, usize) {
    let obuf = c.reply.output_buffer_memory_usage();
    let mut mem = obuf + crate::sds::sds_zmalloc_size(c.querybuf.len());
    mem += crate::zmalloc::good_size(std::mem::size_of::<Client>()) + c.reply.buf_usable_size();
    mem += c.argv.len_sum() + std::mem::size_of::<usize>() * c.argv.len();
    mem += crate::multi::multi_state_mem_overhead(srv, c);
    mem += pubsub_mem_overhead(c);
    (mem, obuf)
}

/// Redis: pubsub.c pubsubMemOverhead(): a list node per pattern, a dict entry and bucket
/// per channel, with the table sizes Redis's dict would have.
fn pubsub_mem_overhead(c: &Client) -> usize {
    const LIST_NODE: usize = 24;
    const DICT_ENTRY: usize = 24;
    let dict = |n: usize| if n == 0 { 0 } else { n * DICT_ENTRY + n.max(4).next_power_of_two() * 8 };
    c.pubsub.patterns.len() * LIST_NODE + dict(c.pubsub.channels.len()) + dict(c.pubsub.shard_channels.len())
}

const PROTECTED_MODE_DENIED: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Redis: the protected-mode part of networking.c acceptCommonHandler(): with no password
/// for the default user, only loopback and unix-socket clients are served.
pub fn protected_mode_check(srv: &mut Server, c: &mut Client) {
    if !srv.config.protected_mode || srv.config.requirepass.is_some() || crate::server::is_local_client(c) {
        return;
    }
    c.reply.add_reply_proto(PROTECTED_MODE_DENIED.as_bytes());
    c.flags |= CLIENT_CLOSE_AFTER_REPLY;
}

// ----------------------------------------------------------------------------------------
// The CLIENT command
// ----------------------------------------------------------------------------------------

const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
];

/// Redis: CLIENT_TYPE_NORMAL / SLAVE / PUBSUB / MASTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

/// Redis: networking.c getClientType().
pub fn get_client_type(c: &Client) -> ClientType {
    if c.flags & CLIENT_MASTER != 0 {
        ClientType::Master
    } else if c.flags & CLIENT_SLAVE != 0 && c.flags & CLIENT_MONITOR == 0 {
        ClientType::Replica
    } else if c.flags & CLIENT_PUBSUB != 0 {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

/// Redis: networking.c getClientTypeByName().
fn get_client_type_by_name(name: &[u8]) -> Option<ClientType> {
    match name.to_ascii_lowercase().as_slice() {
        b"normal" => Some(ClientType::Normal),
        b"slave" | b"replica" => Some(ClientType::Replica),
        b"pubsub" => Some(ClientType::Pubsub),
        b"master" => Some(ClientType::Master),
        _ => None,
    }
}

/// Every client, the running one included, in creation order.
fn all_clients<'a>(srv: &'a Server, me: &'a Client) -> Vec<&'a Client> {
    let mut list: Vec<&Client> = srv.clients.iter().flatten().map(|b| b.as_ref()).collect();
    list.push(me);
    list.sort_by_key(|c| c.id);
    list
}

/// Redis: networking.c clientCommand(): dispatch on the subcommand (bound one by one).
pub fn client_help_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_help("client", CLIENT_HELP);
}

/// Redis: CLIENT ID.
pub fn client_id_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_long_long(c.id as i64);
}

/// Redis: CLIENT INFO.
pub fn client_info_command(srv: &mut Server, c: &mut Client) {
    let mut line = cat_client_info_string(srv, c);
    line.push('\n');
    c.reply.add_reply_verbatim(line.as_bytes(), "txt");
}

/// Redis: CLIENT LIST [TYPE type] [ID id ...].
pub fn client_list_command(srv: &mut Server, c: &mut Client) {
    let mut type_filter = None;
    let mut ids: Option<Vec<u64>> = None;
    if c.argv.len() == 4 && c.argv.get(2).eq_ignore_ascii_case(b"type") {
        match get_client_type_by_name(c.argv.get(3)) {
            Some(t) => type_filter = Some(t),
            None => {
                let msg = format!("Unknown client type '{}'", String::from_utf8_lossy(c.argv.get(3)));
                return c.reply.add_reply_error(&msg);
            }
        }
    } else if c.argv.len() > 3 && c.argv.get(2).eq_ignore_ascii_case(b"id") {
        let mut list = Vec::new();
        for arg in c.argv.iter().skip(3) {
            match crate::util::string2ll(arg) {
                Some(id) => list.push(id as u64),
                None => return c.reply.add_reply_error("Invalid client ID"),
            }
        }
        ids = Some(list);
    } else if c.argv.len() != 2 {
        return c.reply.add_reply_syntax_error();
    }
    let mut text = String::new();
    for other in all_clients(srv, c) {
        if type_filter.map_or(false, |t| get_client_type(other) != t) {
            continue;
        }
        if ids.as_ref().map_or(false, |ids| !ids.contains(&other.id)) {
            continue;
        }
        text.push_str(&cat_client_info_string(srv, other));
        text.push('\n');
    }
    c.reply.add_reply_verbatim(text.as_bytes(), "txt");
}

/// Redis: CLIENT SETNAME (networking.c clientSetNameOrReply()).
pub fn client_setname_command(_srv: &mut Server, c: &mut Client) {
    if client_set_name_or_reply(c, 2) {
        c.reply.add_reply_ok();
    }
}

/// Redis: networking.c clientSetNameOrReply(): names may not hold spaces or control bytes.
pub fn client_set_name_or_reply(c: &mut Client, arg: usize) -> bool {
    let name = c.argv.get(arg);
    if name.is_empty() {
        c.name = None;
        return true;
    }
    if name.iter().any(|&b| b < b'!' || b > b'~') {
        c.reply.add_reply_error("Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    c.name = Some(name.to_vec());
    true
}

/// Redis: CLIENT GETNAME.
pub fn client_getname_command(_srv: &mut Server, c: &mut Client) {
    match c.name.clone() {
        Some(name) => c.reply.add_reply_bulk(&name),
        None => c.reply.add_reply_null(),
    }
}

/// Redis: CLIENT REPLY ON|OFF|SKIP.
pub fn client_reply_command(_srv: &mut Server, c: &mut Client) {
    match c.argv.get(2).to_ascii_lowercase().as_slice() {
        b"on" => {
            c.flags &= !(CLIENT_REPLY_SKIP | CLIENT_REPLY_OFF);
            c.reply.muted = false;
            c.reply.add_reply_ok();
        }
        b"off" => c.flags |= CLIENT_REPLY_OFF,
        b"skip" => {
            if c.flags & CLIENT_REPLY_OFF == 0 {
                c.flags |= CLIENT_REPLY_SKIP_NEXT;
            }
        }
        _ => c.reply.add_reply_syntax_error(),
    }
}

/// Redis: CLIENT NO-EVICT ON|OFF.
pub fn client_no_evict_command(_srv: &mut Server, c: &mut Client) {
    match c.argv.get(2).to_ascii_lowercase().as_slice() {
        b"on" => c.flags |= CLIENT_NO_EVICT,
        b"off" => c.flags &= !CLIENT_NO_EVICT,
        _ => return c.reply.add_reply_syntax_error(),
    }
    c.reply.add_reply_ok();
}

/// Redis: CLIENT PAUSE timeout [WRITE|ALL].
pub fn client_pause_command(srv: &mut Server, c: &mut Client) {
    let Some(timeout) = crate::util::string2ll(c.argv.get(2)) else {
        return c.reply.add_reply_error("timeout is not an integer or out of range");
    };
    if timeout < 0 {
        return c.reply.add_reply_error("timeout is negative");
    }
    let writes_only = match c.argv.len() {
        3 => false,
        4 if c.argv.get(3).eq_ignore_ascii_case(b"write") => true,
        4 if c.argv.get(3).eq_ignore_ascii_case(b"all") => false,
        4 => return c.reply.add_reply_error("CLIENT PAUSE mode must be WRITE or ALL"),
        _ => return c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1)),
    };
    srv.pause_clients(srv.mstime.saturating_add(timeout), writes_only);
    c.reply.add_reply_ok();
}

/// Redis: CLIENT UNPAUSE.
pub fn client_unpause_command(srv: &mut Server, c: &mut Client) {
    srv.unpause_clients();
    c.reply.add_reply_ok();
}

/// The filters of the new CLIENT KILL form.
#[derive(Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<Vec<u8>>,
    laddr: Option<Vec<u8>>,
    ctype: Option<ClientType>,
    user: Option<Vec<u8>>,
    skipme: bool,
}

impl KillFilter {
    fn matches(&self, c: &Client, me: u64) -> bool {
        self.id.map_or(true, |id| c.id == id)
            && self.addr.as_deref().map_or(true, |a| a == c.addr.as_bytes())
            && self.laddr.as_deref().map_or(true, |a| a == c.laddr.as_bytes())
            && self.ctype.map_or(true, |t| get_client_type(c) == t)
            && self.user.as_deref().map_or(true, |u| u == c.user.as_bytes())
            && !(self.skipme && c.id == me)
    }
}

/// Parses `CLIENT KILL <option> <value> ...`; on error the reply is written.
fn parse_kill_filter(c: &mut Client) -> Option<KillFilter> {
    let mut filter = KillFilter { skipme: true, ..KillFilter::default() };
    if c.argv.len() % 2 != 0 {
        c.reply.add_reply_syntax_error();
        return None;
    }
    for i in (2..c.argv.len()).step_by(2) {
        let (opt, val) = (c.argv.get(i).to_ascii_lowercase(), c.argv.get(i + 1));
        match opt.as_slice() {
            b"id" => match crate::util::string2ll(val).filter(|&id| id > 0) {
                Some(id) => filter.id = Some(id as u64),
                None => {
                    c.reply.add_reply_error("client-id should be greater than 0");
                    return None;
                }
            },
            b"type" => match get_client_type_by_name(val) {
                Some(t) => filter.ctype = Some(t),
                None => {
                    let msg = format!("Unknown client type '{}'", String::from_utf8_lossy(val));
                    c.reply.add_reply_error(&msg);
                    return None;
                }
            },
            b"addr" => filter.addr = Some(val.to_vec()),
            b"laddr" => filter.laddr = Some(val.to_vec()),
            b"user" if val != b"default" => {
                let msg = format!("No such user '{}'", String::from_utf8_lossy(val));
                c.reply.add_reply_error(&msg);
                return None;
            }
            b"user" => filter.user = Some(val.to_vec()),
            b"skipme" => match val.to_ascii_lowercase().as_slice() {
                b"yes" => filter.skipme = true,
                b"no" => filter.skipme = false,
                _ => {
                    c.reply.add_reply_syntax_error();
                    return None;
                }
            },
            _ => {
                c.reply.add_reply_syntax_error();
                return None;
            }
        }
    }
    Some(filter)
}

/// Redis: CLIENT KILL, old form `CLIENT KILL addr` and new form with filters.
pub fn client_kill_command(srv: &mut Server, c: &mut Client) {
    let old_form = c.argv.len() == 3;
    let filter = if old_form {
        KillFilter { addr: Some(c.argv.get(2).to_vec()), ..KillFilter::default() }
    } else {
        match parse_kill_filter(c) {
            Some(filter) => filter,
            None => return,
        }
    };
    let victims: Vec<u64> = all_clients(srv, c).iter().filter(|o| filter.matches(o, c.id)).map(|o| o.id).collect();
    for &id in &victims {
        if id == c.id {
            c.flags |= CLIENT_CLOSE_AFTER_REPLY;
        } else if let Some(other) = srv.take_client_by_id(id) {
            free_client(srv, other);
        }
    }
    match (old_form, victims.is_empty()) {
        (true, true) => c.reply.add_reply_error("No such client"),
        (true, false) => c.reply.add_reply_ok(),
        (false, _) => c.reply.add_reply_long_long(victims.len() as i64),
    }
}

/// Redis: CLIENT UNBLOCK <id> [TIMEOUT|ERROR].
pub fn client_unblock_command(srv: &mut Server, c: &mut Client) {
    let Some(id) = crate::util::string2ll(c.argv.get(2)) else {
        return c.reply.add_reply_error("value is not an integer or out of range");
    };
    let with_error = match c.argv.len() {
        3 => false,
        4 if c.argv.get(3).eq_ignore_ascii_case(b"timeout") => false,
        4 if c.argv.get(3).eq_ignore_ascii_case(b"error") => true,
        4 => return c.reply.add_reply_error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
        _ => return c.reply.add_reply_subcommand_syntax_error(c.argv.get(0), c.argv.get(1)),
    };
    let unblocked = id as u64 != c.id && crate::blocked::client_unblock(srv, id as u64, with_error);
    c.reply.add_reply_long_long(i64::from(unblocked));
}

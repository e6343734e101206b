//! Client introspection and the CLIENT command: the client half of Redis's networking.c
//! (catClientInfoString, clientCommand) and the protected-mode gate of acceptCommonHandler.

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::networking::*;
use crate::server::Server;

/// Redis: networking.c getClientTypeName()-style flag letters of CLIENT LIST.
fn client_flags_string(c: &Client) -> String {
    let mut flags = String::new();
    let letters = [
        (CLIENT_SLAVE, 'S'),
        (CLIENT_MASTER, 'M'),
        (CLIENT_MONITOR, 'O'),
        (CLIENT_MULTI, 'x'),
        (CLIENT_BLOCKED, 'b'),
        (CLIENT_CLOSE_AFTER_REPLY, 'c'),
        (CLIENT_UNIX_SOCKET, 'U'),
        (CLIENT_CLOSE_ASAP, 'A'),
        (CLIENT_NO_EVICT, 'e'),
    ];
    for (bit, letter) in letters {
        if c.flags & bit != 0 {
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
    let qbuf = c.qb_len - c.qb_pos;
    let qbuf_free = c.querybuf.len() - c.qb_len;
    let obl = c.reply.pending_len();
    let omem = c.reply.allocated();
    let tot_mem = c.querybuf.len() + omem + c.argv.len_sum() + std::mem::size_of::<Client>();
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll=0 omem={} tot-mem={} events={} cmd={} user={} redir=-1 resp={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        String::from_utf8_lossy(c.name.as_deref().unwrap_or(b"")),
        srv.unixtime - c.ctime,
        srv.unixtime - c.last_interaction,
        client_flags_string(c),
        c.db,
        qbuf,
        qbuf_free,
        c.argv.len_sum(),
        c.querybuf.len(),
        c.querybuf_peak,
        obl,
        omem,
        tot_mem,
        events,
        cmd,
        c.user,
        c.reply.resp
    )
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

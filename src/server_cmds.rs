//! The connection and server commands Redis keeps in server.c and networking.c: PING, ECHO,
//! QUIT, ... Each runs inside `call()` like any other command.

use crate::networking::{Client, CLIENT_CLOSE_AFTER_REPLY};
use crate::server::Server;

/// Redis: server.c pingCommand().
pub fn ping_command(_srv: &mut Server, c: &mut Client) {
    if c.argv.len() > 2 {
        return c.reply.add_reply_error_arity("ping");
    }
    // A RESP2 subscriber can only read pushes, so PING answers in that shape.
    if c.flags & crate::networking::CLIENT_PUBSUB != 0 && c.reply.resp == 2 {
        c.reply.add_reply_array_len(2);
        c.reply.add_reply_bulk(b"pong");
        return c.reply.add_reply_bulk(c.argv.get(1));
    }
    match c.argv.len() {
        1 => c.reply.add_reply_proto(b"+PONG\r\n"),
        _ => c.reply.add_reply_bulk(c.argv.get(1)),
    }
}

/// Redis: server.c echoCommand().
pub fn echo_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_bulk(c.argv.get(1));
}

/// Redis: networking.c quitCommand(): +OK, then the connection closes once it is written.
pub fn quit_command(_srv: &mut Server, c: &mut Client) {
    c.reply.add_reply_ok();
    c.flags |= CLIENT_CLOSE_AFTER_REPLY;
}

/// Redis: server.c timeCommand().
pub fn time_command(_srv: &mut Server, c: &mut Client) {
    let now = crate::util::ustime();
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk_long_long(now / 1_000_000);
    c.reply.add_reply_bulk_long_long(now % 1_000_000);
}

/// Redis: acl.c checkPasswordBasedAuth() for the only user this server has, "default".
fn check_password(srv: &Server, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match &srv.config.requirepass {
        Some(expected) => expected.as_slice() == pass,
        None => true,
    }
}

/// Redis: acl.c authCommand().
pub fn auth_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() > 3 {
        return c.reply.add_reply_syntax_error();
    }
    // Redis redacts the secrets before anything else, so MONITOR never shows them.
    let (user, pass) = if c.argv.len() == 2 { (b"default".to_vec(), c.argv.get(1).to_vec()) } else { (c.argv.get(1).to_vec(), c.argv.get(2).to_vec()) };
    redact_client_command_argument(c, 1);
    if c.argv.len() == 3 {
        redact_client_command_argument(c, 2);
    }
    if c.argv.len() == 2 && srv.config.requirepass.is_none() {
        return c.reply.add_reply_error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
    }
    if check_password(srv, &user, &pass) {
        c.authenticated = true;
        c.reply.add_reply_ok();
    } else {
        c.reply.add_reply_error("-WRONGPASS invalid username-password pair or user is disabled.");
    }
}

/// Redis: networking.c redactClientCommandArgument(): a secret argument is shown to
/// MONITOR as "(redacted)".
fn redact_client_command_argument(c: &mut Client, i: usize) {
    c.argv.redact(i);
}

/// Redis: networking.c helloCommand().
pub fn hello_command(srv: &mut Server, c: &mut Client) {
    let mut ver = 0;
    let mut next = 1;
    if c.argv.len() >= 2 {
        match crate::util::string2ll(c.argv.get(1)) {
            Some(v) => ver = v,
            None => return c.reply.add_reply_error("Protocol version is not an integer or out of range"),
        }
        next = 2;
        if !(2..=3).contains(&ver) {
            return c.reply.add_reply_error("-NOPROTO unsupported protocol version");
        }
    }
    let mut auth: Option<(Vec<u8>, Vec<u8>)> = None;
    let mut setname: Option<usize> = None;
    let mut j = next;
    while j < c.argv.len() {
        let more = c.argv.len() - j - 1;
        let opt = c.argv.get(j).to_ascii_lowercase();
        if opt == b"auth" && more >= 2 {
            auth = Some((c.argv.get(j + 1).to_vec(), c.argv.get(j + 2).to_vec()));
            redact_client_command_argument(c, j + 1);
            redact_client_command_argument(c, j + 2);
            j += 3;
        } else if opt == b"setname" && more >= 1 {
            setname = Some(j + 1);
            j += 2;
        } else {
            let msg = format!("Syntax error in HELLO option '{}'", String::from_utf8_lossy(c.argv.get(j)));
            return c.reply.add_reply_error(&msg);
        }
    }
    if let Some((user, pass)) = auth {
        if !check_password(srv, &user, &pass) {
            return c.reply.add_reply_error("-WRONGPASS invalid username-password pair or user is disabled.");
        }
        c.authenticated = true;
    }
    if srv.auth_required() && !c.authenticated {
        return c.reply.add_reply_error("-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(arg) = setname {
        if !crate::client::client_set_name_or_reply(c, arg) {
            return;
        }
    }
    if ver != 0 {
        c.reply.resp = ver as u8;
    }
    add_hello_reply(srv, c);
}

fn add_hello_reply(srv: &Server, c: &mut Client) {
    let role: &[u8] = if srv.masterhost.is_some() { b"replica" } else { b"master" };
    c.reply.add_reply_map_len(7);
    c.reply.add_reply_bulk(b"server");
    c.reply.add_reply_bulk(b"redis");
    c.reply.add_reply_bulk(b"version");
    c.reply.add_reply_bulk(crate::server::REDIS_VERSION.as_bytes());
    c.reply.add_reply_bulk(b"proto");
    c.reply.add_reply_long_long(c.reply.resp as i64);
    c.reply.add_reply_bulk(b"id");
    c.reply.add_reply_long_long(c.id as i64);
    c.reply.add_reply_bulk(b"mode");
    c.reply.add_reply_bulk(b"standalone");
    c.reply.add_reply_bulk(b"role");
    c.reply.add_reply_bulk(role);
    c.reply.add_reply_bulk(b"modules");
    c.reply.add_reply_array_len(0);
}

/// Redis: networking.c resetCommand() / clearClientConnectionState().
pub fn reset_command(srv: &mut Server, c: &mut Client) {
    use crate::networking::*;
    c.db = 0;
    c.reply.resp = 2;
    // Redis: discardTransaction(): out of MULTI, keys unwatched, CLIENT_DIRTY_CAS cleared.
    crate::multi::discard_transaction(srv, c);
    c.name = None;
    c.flags &= !(CLIENT_REPLY_OFF | CLIENT_REPLY_SKIP | CLIENT_REPLY_SKIP_NEXT | CLIENT_NO_EVICT);
    c.reply.muted = false;
    if c.flags & CLIENT_MONITOR != 0 {
        c.flags &= !(CLIENT_MONITOR | CLIENT_SLAVE);
        srv.monitors.retain(|&id| id != c.id);
    }
    crate::pubsub::pubsub_unsubscribe_all(srv, c);
    // Redis: clearClientConnectionState() -> disableTracking().
    crate::tracking::disable_tracking(srv, c.id);
    c.authenticated = !srv.auth_required();
    c.reply.add_reply_status("RESET");
}

/// Redis: server.c monitorCommand().
pub fn monitor_command(srv: &mut Server, c: &mut Client) {
    use crate::networking::*;
    if c.flags & CLIENT_SLAVE != 0 {
        return;
    }
    c.flags |= CLIENT_SLAVE | CLIENT_MONITOR;
    srv.monitors.push(c.id);
    c.reply.add_reply_ok();
}


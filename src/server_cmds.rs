//! The connection and server commands Redis keeps in server.c and networking.c: PING, ECHO,
//! QUIT, ... Each runs inside `call()` like any other command.

use crate::networking::{Client, CLIENT_CLOSE_AFTER_REPLY};
use crate::server::Server;

/// Redis: server.c pingCommand().
pub fn ping_command(_srv: &mut Server, c: &mut Client) {
    if c.argv.len() > 2 {
        return c.reply.add_reply_error_arity("ping");
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

//! The master's command stream on a replica: the master client.
//!
//! Redis: replication.c replicationCreateMasterClient() and replicationSendAck(); the
//! CLIENT_MASTER parts of networking.c readQueryFromClient(), processInputBuffer() and
//! commandProcessed() (read_reploff vs reploff, replicationFeedStreamFromMasterStream()).
//!
//! Event loop fit: the master client is an ordinary entry of the client table whose
//! socket's readable handler is [`read_query_from_master`]: one read per event (re-armed
//! when the chunk was full), then every complete command runs through process_command as
//! a client's would, with its reply thrown away (a master hears nothing back but REPLCONF
//! ACK). After each command that completes a unit (a MULTI counts once, at its EXEC) the
//! applied offset advances by exactly the bytes of that unit, and those same bytes go on,
//! unchanged, to our backlog and our own replicas (chained replication). ACKs are queued in
//! the client's output buffer and written by before_sleep like any reply.

use std::io::Read;
use std::os::unix::io::RawFd;

use crate::ae::AE_READABLE;
use crate::networking::{self, Client, Conn, CLIENT_BLOCKED, CLIENT_CLOSE_AFTER_REPLY, CLIENT_CLOSE_ASAP, CLIENT_MASTER, CLIENT_MULTI, CLIENT_PROTOCOL_ERROR, PROTO_IOBUF_LEN};
use crate::reply::Reply;
use crate::server::{self, Server};
use crate::util;

use super::propagate;
use super::replica::{strerror, CachedMaster, MasterLink};
use super::replica_handshake::TransferLink;

/// Redis: PROTO_MBULK_BIG_ARG: a bulk this big is read in one piece.
const PROTO_MBULK_BIG_ARG: i64 = 32 * 1024;
/// Applied bytes are dropped from the front of the unapplied copy once this many piled up.
const UNAPPLIED_COMPACT_AT: usize = 64 * 1024;

/// Redis: replicationCreateMasterClient(): the link's socket becomes the master client,
/// starting at `from`'s offset and db. Bytes already received (the stream that followed
/// the payload or +CONTINUE) are its first input.
pub fn replication_create_master_client(srv: &mut Server, link: TransferLink, from: &CachedMaster) {
    let TransferLink { stream, fd, inbuf, .. } = link;
    let id = srv.next_client_id();
    let mut c = Box::new(Client::new(id, Some(Conn::Tcp(stream)), srv.unixtime));
    c.flags |= CLIENT_MASTER;
    c.authenticated = true;
    c.db = if from.db < srv.db.len() { from.db } else { 0 };
    c.qb_len = inbuf.len();
    c.querybuf = inbuf.clone();
    let pending = inbuf.len() as i64;
    srv.repl.replica.master = Some(MasterLink {
        client_id: id,
        replid: from.replid,
        reploff: from.reploff,
        read_reploff: from.reploff + pending,
        lastinteraction: srv.unixtime,
        pre_psync: from.pre_psync,
        unapplied: inbuf,
        unapplied_pos: 0,
    });
    if let Err(err) = srv.el.ae_create_file_event(fd, AE_READABLE, read_query_from_master) {
        log::warn!("Error resurrecting the cached master, impossible to add the readable handler: {}", strerror(&err));
        networking::free_client_async(srv, &mut c);
    }
    srv.link_client(c);
    // Read at once even with nothing buffered: the socket's last edge may have come while
    // another handler owned it (the transfer, the load), e.g. a FIN right after the payload.
    srv.el.ae_set_ready(fd, AE_READABLE);
}

/// Redis: readQueryFromClient() for the master link: read, then run what is complete.
pub fn read_query_from_master(srv: &mut Server, fd: RawFd, _mask: u8) {
    let Some(mut c) = srv.take_client(fd) else { return };
    if let Err(why) = read_master_chunk(srv, &mut c) {
        log::debug!("Reading from master: {}", why);
        return networking::free_client(srv, c);
    }
    process_master_input(srv, &mut c);
    if c.flags & CLIENT_PROTOCOL_ERROR != 0 {
        return networking::free_client(srv, c);
    }
    srv.after_client_activity(c);
}

/// One read into the query buffer, and into the unapplied copy kept for proxying.
fn read_master_chunk(srv: &mut Server, c: &mut Client) -> Result<usize, String> {
    let readlen = read_length(c);
    if c.qb_pos > 0 {
        // Complete arguments are in argv already: the parsed prefix is not needed.
        c.querybuf.copy_within(c.qb_pos..c.qb_len, 0);
        c.qb_len -= c.qb_pos;
        c.qb_pos = 0;
    }
    let end = c.qb_len.checked_add(readlen).ok_or("query buffer overflow")?;
    if c.querybuf.len() < end {
        c.querybuf.resize(end, 0);
    }
    let target = &mut c.querybuf[c.qb_len..end];
    let result = match c.conn.as_mut() {
        Some(Conn::Tcp(s)) => s.read(target),
        Some(Conn::Unix(s)) => s.read(target),
        None => return Err("no connection".into()),
    };
    let n = match result {
        Ok(0) => return Err("connection closed".into()),
        Ok(n) => n,
        Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => return Ok(0),
        Err(err) => return Err(strerror(&err)),
    };
    let Some(link) = srv.repl.replica.master.as_mut().filter(|m| m.client_id == c.id) else {
        return Err("not our master".into());
    };
    link.unapplied.extend_from_slice(&c.querybuf[c.qb_len..c.qb_len + n]);
    link.read_reploff += n as i64;
    link.lastinteraction = srv.unixtime;
    c.qb_len += n;
    c.last_interaction = srv.unixtime;
    srv.stat_net_input_bytes += n as u64;
    // Even a short read re-arms: a FIN that came with these bytes was announced by the same
    // edge, and only a read that returns 0 shows it (else the link would wait for
    // repl-timeout).
    srv.el.ae_set_ready(c.fd, AE_READABLE);
    Ok(n)
}

/// Redis: readQueryFromClient()'s read length: the rest of a big bulk in one go.
fn read_length(c: &Client) -> usize {
    if c.reqtype == networking::ReqType::Multibulk && c.multibulklen > 0 && c.bulklen >= PROTO_MBULK_BIG_ARG {
        let have = c.qb_len - c.qb_pos;
        let remaining = usize::try_from(c.bulklen).unwrap_or(0).saturating_add(2).saturating_sub(have);
        if remaining > 0 {
            return remaining;
        }
    }
    PROTO_IOBUF_LEN
}

/// Redis: processInputBuffer() + commandProcessed() for the master: every complete
/// command runs; each finished unit advances the applied offset and is proxied.
fn process_master_input(srv: &mut Server, c: &mut Client) {
    let mut scratch = Reply::default();
    while c.qb_pos < c.qb_len {
        if c.flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED) != 0 {
            break;
        }
        let limits = srv.parse_limits(c);
        match networking::parse_next_command(c, limits) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                let info = crate::client::cat_client_info_string(srv, c);
                log::warn!("Protocol error ({}) from client: {}.", String::from_utf8_lossy(&err.message()), info);
                c.flags |= CLIENT_PROTOCOL_ERROR;
                break;
            }
        }
        if c.argv.is_empty() {
            c.reset_client();
            continue;
        }
        run_master_command(srv, c, &mut scratch);
        if c.flags & CLIENT_BLOCKED == 0 {
            c.reset_client();
            if c.flags & CLIENT_MULTI == 0 {
                apply_processed(srv, c);
            }
        }
    }
}

/// One command of the stream through process_command. Its reply is discarded (an error
/// means master and replica disagree: logged as Redis does); REPLCONF GETACK is answered
/// with the offset applied before it.
fn run_master_command(srv: &mut Server, c: &mut Client, scratch: &mut Reply) {
    let getack = util::str_eq_ignore_case(c.argv.get(0), b"replconf") && util::str_eq_ignore_case(c.argv.get(1), b"getack");
    std::mem::swap(&mut c.reply, scratch);
    server::process_command(srv, c);
    std::mem::swap(&mut c.reply, scratch);
    if scratch.pending().first() == Some(&b'-') {
        let err = String::from_utf8_lossy(&scratch.pending()).into_owned();
        let err = err.trim_start_matches('-').lines().next().unwrap_or("").to_string();
        let cmd = c.lastcmd.and_then(|id| srv.commands.cmds.get(id)).map_or("<unknown>", |cmd| cmd.fullname.as_str());
        log::warn!("== CRITICAL == This replica is sending an error to its master: '{}' after processing the command '{}'", err, cmd);
    }
    scratch.discard();
    if getack {
        if let Some(reploff) = srv.repl.replica.master.as_ref().filter(|m| m.client_id == c.id).map(|m| m.reploff) {
            add_reply_ack(c, reploff);
        }
    }
}

/// Redis: commandProcessed()'s offset update and replicationFeedStreamFromMasterStream():
/// everything consumed from the query buffer is now applied; those bytes, exactly as
/// received, go to our backlog and replicas (which advances master_repl_offset too).
fn apply_processed(srv: &mut Server, c: &Client) {
    let unparsed = (c.qb_len - c.qb_pos) as i64;
    let Some(link) = srv.repl.replica.master.as_mut().filter(|m| m.client_id == c.id) else { return };
    let applied = link.read_reploff - unparsed - link.reploff;
    let start = link.unapplied_pos;
    let Some(end) = usize::try_from(applied).ok().filter(|&n| n > 0).and_then(|n| start.checked_add(n)) else { return };
    let end = end.min(link.unapplied.len());
    link.reploff += applied;
    link.unapplied_pos = end;
    let bytes = std::mem::take(&mut link.unapplied);
    propagate::feed_replication_buffer(srv, &bytes[start..end]);
    let Some(link) = srv.repl.replica.master.as_mut() else { return };
    link.unapplied = bytes;
    if link.unapplied_pos == link.unapplied.len() {
        link.unapplied.clear();
        link.unapplied_pos = 0;
    } else if link.unapplied_pos >= UNAPPLIED_COMPACT_AT {
        link.unapplied.drain(..link.unapplied_pos);
        link.unapplied_pos = 0;
    }
}

/// Redis: replicationSendAck()'s reply: `REPLCONF ACK <offset>`.
pub fn add_reply_ack(c: &mut Client, reploff: i64) {
    let mut bytes = Vec::new();
    let offset = reploff.to_string();
    propagate::encode_multibulk(&mut bytes, &[b"REPLCONF", b"ACK", offset.as_bytes()]);
    c.reply.add_reply_proto(&bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::test_server;

    /// A master link over a loopback connection; returns (server, the master's end).
    fn linked_replica(db: usize) -> (Server, std::net::TcpStream, RawFd) {
        use std::os::unix::io::AsRawFd;
        let mut srv = test_server();
        srv.masterhost = Some("127.0.0.1".into());
        srv.repl.replica.state = super::super::replica::ReplState::Connected;
        srv.repl.master_repl_offset = 100;
        srv.repl.create_replication_backlog(1 << 16);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let ours = std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (theirs, _) = listener.accept().expect("accept");
        ours.set_nonblocking(true).expect("nonblocking");
        let fd = ours.as_raw_fd();
        let link = TransferLink { stream: ours, fd, inbuf: Vec::new(), bulk: None };
        let from = CachedMaster { replid: [b'a'; 40], reploff: 100, db, pre_psync: false };
        replication_create_master_client(&mut srv, link, &from);
        (srv, theirs, fd)
    }

    fn feed(srv: &mut Server, master: &mut std::net::TcpStream, fd: RawFd, bytes: &[u8]) {
        use std::io::Write;
        master.write_all(bytes).expect("write");
        std::thread::sleep(std::time::Duration::from_millis(20));
        read_query_from_master(srv, fd, AE_READABLE);
    }

    #[test]
    fn stream_is_applied_in_whole_units_and_proxied_byte_for_byte() {
        let (mut srv, mut master, fd) = linked_replica(3);
        let set = b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";
        feed(&mut srv, &mut master, fd, &set[..10]);
        assert_eq!(srv.repl.replica.master.as_ref().map(|m| (m.reploff, m.read_reploff)), Some((100, 110)));
        feed(&mut srv, &mut master, fd, &set[10..]);
        let n = set.len() as i64;
        assert_eq!(srv.repl.replica.master.as_ref().map(|m| (m.reploff, m.read_reploff)), Some((100 + n, 100 + n)));
        assert_eq!(srv.repl.master_repl_offset, 100 + n);
        assert!(srv.db[3].dict.get(&b"k"[..]).is_some(), "applied in the link's db");
        let multi = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nincr\r\n$1\r\nc\r\n";
        feed(&mut srv, &mut master, fd, multi);
        assert_eq!(srv.repl.replica.master.as_ref().map(|m| m.reploff), Some(100 + n), "a MULTI counts at its EXEC");
        feed(&mut srv, &mut master, fd, b"*1\r\n$4\r\nEXEC\r\n");
        let total = n + multi.len() as i64 + 14;
        assert_eq!(srv.repl.master_repl_offset, 100 + total);
        let backlog = srv.repl.backlog.as_ref().expect("backlog");
        let blocks: Vec<&[u8]> = backlog.range_from(101).expect("covered").collect();
        let mut want = set.to_vec();
        want.extend_from_slice(multi);
        want.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
        assert_eq!(blocks.concat(), want, "the backlog holds the master's bytes unchanged");
    }

    #[test]
    fn getack_is_answered_with_the_offset_before_it_and_nothing_else_is() {
        let (mut srv, mut master, fd) = linked_replica(0);
        feed(&mut srv, &mut master, fd, b"*2\r\n$3\r\nGET\r\n$1\r\nx\r\n*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
        let id = srv.repl.replica.master.as_ref().map(|m| m.client_id).expect("link");
        let c = srv.client_by_id(id).expect("client");
        assert_eq!(String::from_utf8_lossy(&c.reply.pending()), "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$3\r\n120\r\n");
    }
}

//! The replica's link to its master up to the RDB transfer: the non-blocking connect, the
//! handshake (PING, AUTH, REPLCONF listening-port / ip-address / capa) and PSYNC.
//!
//! Redis: replication.c connectWithMaster(), syncWithMaster(),
//! slaveTryPartialResynchronization(), replicationResurrectCachedMaster(),
//! cancelReplicationHandshake(), undoConnectWithMaster().
//!
//! Event loop fit: [`connect_with_master`] starts a mio (non-blocking) connect and
//! registers [`sync_with_master`] for the socket's writability; from then on that handler
//! is the socket's only driver. Each call advances the state machine by one step: a reply
//! line is taken from what the socket had (a partial line waits for the next readable
//! event), and when a whole line is still buffered the handler re-arms itself with
//! `ae_set_ready`, as a level-triggered loop would call it again. Where Redis reads with a
//! 5 s blocking timeout, this waits for readiness and relies on repl-timeout (checked by
//! the cron) instead. Bytes that arrive after the PSYNC reply (the RDB, or the backlog after
//! +CONTINUE) stay in the link's buffer for the next phase.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, RawFd};

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::server::Server;

use super::propagate::encode_multibulk;
use super::replica::{self, master_addr, replid_text, strerror, ReplState};
use super::replica_stream;
use super::replica_transfer::{self, BulkTransfer};
use super::CONFIG_RUN_ID_SIZE;

/// Redis: PROTO_IOBUF_LEN: what one read takes at most.
const READ_CHUNK: usize = 16 * 1024;
/// Longest reply line accepted during the handshake (Redis reads into 256 / 1024 bytes).
const MAX_LINE: usize = 64 * 1024;

/// Redis: server.repl_transfer_s plus what the download keeps (repl_transfer_fd,
/// repl_transfer_size, repl_transfer_read ...).
#[derive(Debug)]
pub struct TransferLink {
    pub stream: TcpStream,
    pub fd: RawFd,
    /// Bytes received and not yet consumed (a partial reply line, or payload that came in
    /// the same segment as the PSYNC reply).
    pub inbuf: Vec<u8>,
    /// The RDB download, from the PSYNC reply on.
    pub bulk: Option<BulkTransfer>,
}

impl TransferLink {
    /// INFO's (master_sync_total_bytes, master_sync_read_bytes).
    pub fn progress(&self) -> (i64, i64) {
        self.bulk.as_ref().map_or((-1, 0), |b| (b.size, b.read))
    }

    /// Takes one reply line (without its CRLF) when a whole one is buffered.
    pub fn take_line(&mut self) -> Option<Vec<u8>> {
        let nl = memchr::memchr(b'\n', &self.inbuf)?;
        let mut line: Vec<u8> = self.inbuf.drain(..=nl).collect();
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        Some(line)
    }
}

/// Why a handshake step failed; each kind ends in its own log line before the error path.
enum Failure {
    /// Already logged.
    Logged,
    /// Redis's `no_response_error`: the master closed the link or errored while we waited.
    NoResponse(String),
    /// Redis's `write_error`.
    Write(String),
}

// ----------------------------------------------------------------------------------------
// Connecting
// ----------------------------------------------------------------------------------------

/// Redis: connectWithMaster(): starts a non-blocking connect and waits for writability.
/// On failure the state stays CONNECT and the cron tries again.
pub fn connect_with_master(srv: &mut Server) -> bool {
    let stream = match start_connect(srv) {
        Ok(stream) => stream,
        Err(err) => {
            log::warn!("Unable to connect to MASTER: {}", err);
            return false;
        }
    };
    let fd = stream.as_raw_fd();
    if let Err(err) = srv.el.ae_create_file_event(fd, AE_WRITABLE, sync_with_master) {
        log::warn!("Unable to connect to MASTER: {}", strerror(&err));
        return false;
    }
    let st = &mut srv.repl.replica;
    st.transfer = Some(TransferLink { stream, fd, inbuf: Vec::new(), bulk: None });
    st.transfer_lastio = srv.unixtime;
    st.state = ReplState::Connecting;
    log::info!("MASTER <-> REPLICA sync started");
    true
}

/// The connect itself: the first address of masterhost that accepts a connect() call.
/// (The name lookup blocks, as Redis's getaddrinfo() does; an IP address needs none.)
fn start_connect(srv: &Server) -> Result<TcpStream, String> {
    let host = srv.masterhost.as_deref().unwrap_or("");
    let addrs: Vec<SocketAddr> =
        (host, replica::masterport(srv)).to_socket_addrs().map_err(|e| strerror(&e))?.collect();
    let mut last = String::from("no address");
    for addr in addrs {
        match crate::anet::anet_tcp_non_block_connect(&addr) {
            Ok(stream) => return Ok(stream),
            Err(err) => last = strerror(&err),
        }
    }
    Err(last)
}

/// Redis: undoConnectWithMaster(): closes the link, whatever its phase.
fn undo_connect_with_master(srv: &mut Server) {
    if let Some(link) = srv.repl.replica.transfer.take() {
        srv.el.ae_delete_file_event(link.fd, AE_READABLE | AE_WRITABLE);
        replica_transfer::discard_bulk_file(srv, link.bulk);
    }
}

/// Redis: cancelReplicationHandshake(): abort a connect, handshake or transfer in
/// progress (back to CONNECT) and, with `reconnect`, start again right away. False when
/// nothing was in progress.
pub fn cancel_replication_handshake(srv: &mut Server, reconnect: bool) -> bool {
    let state = srv.repl.replica.state;
    if state != ReplState::Transfer && state != ReplState::Connecting && !state.is_handshake() {
        return false;
    }
    undo_connect_with_master(srv);
    srv.repl.replica.state = ReplState::Connect;
    if reconnect && srv.masterhost.is_some() {
        log::info!("Reconnecting to MASTER {} after failure", master_addr(srv));
        connect_with_master(srv);
    }
    true
}

/// Redis: syncWithMaster()'s `error:` label: close the link, CONNECT again (the cron
/// reconnects).
fn sync_error(srv: &mut Server) {
    undo_connect_with_master(srv);
    srv.repl.replica.state = ReplState::Connect;
}

// ----------------------------------------------------------------------------------------
// The handshake state machine
// ----------------------------------------------------------------------------------------

/// Redis: syncWithMaster(), the handler of the master socket until the RDB transfer
/// starts (then it hands over to replica_transfer.rs). One step per event.
pub fn sync_with_master(srv: &mut Server, fd: RawFd, _mask: u8) {
    if srv.repl.replica.transfer.as_ref().map(|t| t.fd) != Some(fd) {
        return; // A socket we already closed.
    }
    let result = match srv.repl.replica.state {
        ReplState::Connecting => connect_fired(srv),
        ReplState::Transfer => return replica_transfer::read_sync_bulk_payload(srv),
        state if state.is_handshake() => handshake_step(srv),
        state => {
            log::warn!("syncWithMaster(): state machine error, state should be RECEIVE_PSYNC but is {:?}", state);
            Err(Failure::Logged)
        }
    };
    match result {
        Ok(()) => {}
        Err(Failure::Logged) => sync_error(srv),
        Err(Failure::NoResponse(why)) => {
            log::warn!("Failed to read response from the server: {}", why);
            log::warn!("Master did not respond to command during SYNC handshake");
            sync_error(srv);
        }
        Err(Failure::Write(err)) => {
            log::warn!("Sending command to master in replication handshake: {}", err);
            sync_error(srv);
        }
    }
}

/// CONNECTING and writable: the connect finished (or failed). Send PING and wait for
/// its reply on readability.
fn connect_fired(srv: &mut Server) -> Result<(), Failure> {
    let Some(link) = srv.repl.replica.transfer.as_ref() else { return Err(Failure::Logged) };
    if let Some(err) = link.stream.take_error().ok().flatten() {
        log::warn!("Error condition on socket for SYNC: {}", strerror(&err));
        return Err(Failure::Logged);
    }
    match link.stream.peer_addr() {
        Ok(_) => {}
        // Woken before the connect completed: the next writable event is the real one.
        Err(err) if err.kind() == std::io::ErrorKind::NotConnected => return Ok(()),
        Err(err) => {
            log::warn!("Error condition on socket for SYNC: {}", strerror(&err));
            return Err(Failure::Logged);
        }
    }
    let fd = link.fd;
    log::info!("Non blocking connect for SYNC fired the event.");
    crate::anet::anet_enable_tcp_no_delay(&link.stream);
    srv.el.ae_delete_file_event(fd, AE_WRITABLE);
    srv.el.ae_create_file_event(fd, AE_READABLE, sync_with_master).map_err(|e| Failure::Write(strerror(&e)))?;
    srv.repl.replica.state = ReplState::ReceivePingReply;
    send_command(srv, &[b"PING"]).map_err(Failure::Write)
}

/// One handshake step: the reply expected in the current state, then what it leads to.
fn handshake_step(srv: &mut Server) -> Result<(), Failure> {
    skip_replies_not_asked(srv);
    let state = srv.repl.replica.state;
    if state == ReplState::ReceivePsyncReply {
        return receive_psync_reply(srv);
    }
    let Some(line) = receive_synchronous_response(srv)? else { return Ok(()) };
    let next = match state {
        ReplState::ReceivePingReply => {
            check_ping_reply(&line)?;
            send_handshake(srv).map_err(Failure::Write)?;
            ReplState::ReceiveAuthReply
        }
        ReplState::ReceiveAuthReply => {
            if line.first() == Some(&b'-') {
                log::warn!("Unable to AUTH to MASTER: {}", String::from_utf8_lossy(&line));
                return Err(Failure::Logged);
            }
            ReplState::ReceivePortReply
        }
        ReplState::ReceivePortReply => {
            log_non_critical(&line, "listening-port");
            ReplState::ReceiveIpReply
        }
        ReplState::ReceiveIpReply => {
            log_non_critical(&line, "ip-address");
            ReplState::ReceiveCapaReply
        }
        ReplState::ReceiveCapaReply => {
            log_non_critical(&line, "capa");
            srv.repl.replica.state = ReplState::SendPsync;
            slave_try_partial_resynchronization_write(srv).map_err(Failure::Write)?;
            ReplState::ReceivePsyncReply
        }
        other => {
            log::warn!("syncWithMaster(): state machine error, state should be RECEIVE_PSYNC but is {:?}", other);
            return Err(Failure::Logged);
        }
    };
    srv.repl.replica.state = next;
    Ok(())
}

/// The replies we never asked for: AUTH without masterauth, ip-address without
/// replica-announce-ip.
fn skip_replies_not_asked(srv: &mut Server) {
    let st = &mut srv.repl.replica;
    if st.state == ReplState::ReceiveAuthReply && srv.config.masterauth.is_none() {
        st.state = ReplState::ReceivePortReply;
    }
    if st.state == ReplState::ReceiveIpReply && srv.config.replica_announce_ip.is_none() {
        st.state = ReplState::ReceiveCapaReply;
    }
}

/// Redis accepts +anything, or the errors of a master that wants AUTH first (the AUTH we
/// send next); older versions said "operation not permitted".
fn check_ping_reply(line: &[u8]) -> Result<(), Failure> {
    let ok = line.first() == Some(&b'+')
        || line.starts_with(b"-NOAUTH")
        || line.starts_with(b"-NOPERM")
        || line.starts_with(b"-ERR operation not permitted");
    if !ok {
        log::warn!("Error reply to PING from master: '{}'", String::from_utf8_lossy(line));
        return Err(Failure::Logged);
    }
    log::info!("Master replied to PING, replication can continue...");
    Ok(())
}

fn log_non_critical(line: &[u8], what: &str) {
    if line.first() == Some(&b'-') {
        log::info!("(Non critical) Master does not understand REPLCONF {}: {}", what, String::from_utf8_lossy(line));
    }
}

/// SEND_HANDSHAKE: AUTH (with masterauth), REPLCONF listening-port, REPLCONF ip-address
/// (with replica-announce-ip) and REPLCONF capa, written back to back.
fn send_handshake(srv: &mut Server) -> Result<(), String> {
    srv.repl.replica.state = ReplState::SendHandshake;
    if let Some(pass) = srv.config.masterauth.clone() {
        let user = srv.config.masteruser.clone();
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(user) = user.as_deref() {
            args.push(user.as_bytes());
        }
        args.push(&pass);
        send_command(srv, &args)?;
    }
    let port = match srv.config.replica_announce_port {
        0 => srv.config.port,
        announced => announced,
    };
    send_command(srv, &[b"REPLCONF", b"listening-port", port.to_string().as_bytes()])?;
    if let Some(ip) = srv.config.replica_announce_ip.clone() {
        send_command(srv, &[b"REPLCONF", b"ip-address", ip.as_bytes()])?;
    }
    send_command(srv, &[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
}

// ----------------------------------------------------------------------------------------
// PSYNC
// ----------------------------------------------------------------------------------------

/// Redis: the PSYNC replies slaveTryPartialResynchronization() tells apart.
#[derive(Debug, PartialEq, Eq)]
enum PsyncReply {
    /// +FULLRESYNC <replid> <offset>; None when malformed.
    FullResync(Option<([u8; CONFIG_RUN_ID_SIZE], i64)>),
    /// +CONTINUE [<new replid>].
    Continue(Option<[u8; CONFIG_RUN_ID_SIZE]>),
    /// -NOMASTERLINK / -LOADING: try again later.
    TryLater,
    /// Any other error (or garbage): an old master, fall back to SYNC.
    NotSupported,
}

/// Redis: slaveTryPartialResynchronization(read_reply = 0): PSYNC with the cached
/// master's id and next offset, or `PSYNC ? -1` to ask for a full sync.
fn slave_try_partial_resynchronization_write(srv: &mut Server) -> Result<(), String> {
    let st = &mut srv.repl.replica;
    st.master_initial_offset = -1;
    let (id, offset) = match &st.cached_master {
        Some(cached) => {
            let (id, offset) = (replid_text(&cached.replid), (cached.reploff + 1).to_string());
            log::info!("Trying a partial resynchronization (request {}:{}).", id, offset);
            (id, offset)
        }
        None => {
            log::info!("Partial resynchronization not possible (no cached master)");
            ("?".to_string(), "-1".to_string())
        }
    };
    let mut args: Vec<&[u8]> = vec![b"PSYNC", id.as_bytes(), offset.as_bytes()];
    // During a FAILOVER the old master asks its target to take over.
    args.extend(super::failover::psync_extra_arg(srv));
    send_command(srv, &args).map_err(|err| {
        log::warn!("Unable to send PSYNC to master: {}", err);
        super::failover::abort_failover(srv, "Write error to failover target");
        "Write error sending the PSYNC command.".to_string()
    })
}

/// Parses the reply line to PSYNC.
fn parse_psync_reply(line: &[u8]) -> PsyncReply {
    if let Some(rest) = line.strip_prefix(b"+FULLRESYNC") {
        let mut parts = rest.splitn(3, |&b| b == b' ').skip(1);
        let (id, offset) = (parts.next(), parts.next());
        let parsed = match (id, offset) {
            (Some(id), Some(offset)) => <[u8; CONFIG_RUN_ID_SIZE]>::try_from(id).ok().map(|id| (id, c_strtoll(offset))),
            _ => None,
        };
        return PsyncReply::FullResync(parsed);
    }
    if let Some(rest) = line.strip_prefix(b"+CONTINUE") {
        let id = rest.strip_prefix(b" ").and_then(|id| <[u8; CONFIG_RUN_ID_SIZE]>::try_from(id).ok());
        return PsyncReply::Continue(id);
    }
    if line.starts_with(b"-NOMASTERLINK") || line.starts_with(b"-LOADING") {
        return PsyncReply::TryLater;
    }
    PsyncReply::NotSupported
}

/// strtoll(): leading digits (with a sign), 0 when there are none.
fn c_strtoll(s: &[u8]) -> i64 {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -v
    } else {
        v
    }
}

/// RECEIVE_PSYNC_REPLY: the master's newlines keep the link alive until it answers.
fn receive_psync_reply(srv: &mut Server) -> Result<(), Failure> {
    let line = match receive_synchronous_response(srv) {
        Ok(Some(line)) => line,
        Ok(None) => return Ok(()),
        Err(Failure::NoResponse(_)) => {
            log::warn!("Master did not reply to PSYNC, will try later");
            return Err(Failure::Logged);
        }
        Err(other) => return Err(other),
    };
    if line.is_empty() {
        return Ok(());
    }
    let text = String::from_utf8_lossy(&line).into_owned();
    match parse_psync_reply(&line) {
        PsyncReply::FullResync(parsed) => {
            super::failover::psync_reply_received(srv, true);
            full_resync(srv, parsed, false)
        }
        PsyncReply::Continue(new_id) => {
            super::failover::psync_reply_received(srv, true);
            partial_resync_accepted(srv, new_id)
        }
        PsyncReply::TryLater => {
            log::info!("Master is currently unable to PSYNC but should be in the future: {}", text);
            if !super::failover::psync_reply_received(srv, false) {
                return Ok(()); // The failover was aborted: we are a master again.
            }
            Err(Failure::Logged)
        }
        PsyncReply::NotSupported => {
            if line.starts_with(b"-ERR") {
                log::info!("Master does not support PSYNC or is in error state (reply: {})", text);
            } else {
                log::warn!("Unexpected reply to PSYNC from master: {}", text);
            }
            if !super::failover::psync_reply_received(srv, false) {
                return Ok(());
            }
            log::info!("Retrying with SYNC...");
            write_raw(srv, b"SYNC\r\n").map_err(|err| {
                log::warn!("I/O error writing to MASTER: {}", err);
                Failure::Logged
            })?;
            full_resync(srv, None, true)
        }
    }
}

/// +FULLRESYNC (or the SYNC fallback): record the master's id and offset, open the temp
/// file and switch to TRANSFER.
fn full_resync(srv: &mut Server, parsed: Option<([u8; CONFIG_RUN_ID_SIZE], i64)>, sync_fallback: bool) -> Result<(), Failure> {
    let st = &mut srv.repl.replica;
    match parsed {
        Some((id, offset)) => {
            st.master_replid = id;
            st.master_initial_offset = offset;
            log::info!("Full resync from master: {}:{}", replid_text(&id), offset);
        }
        None if !sync_fallback => {
            log::warn!("Master replied with wrong +FULLRESYNC syntax.");
            // Blank id: no later PSYNC can match this history.
            st.master_replid = [0; CONFIG_RUN_ID_SIZE];
        }
        None => {}
    }
    let bulk = BulkTransfer::create(srv).map_err(|_| Failure::Logged)?;
    let st = &mut srv.repl.replica;
    st.state = ReplState::Transfer;
    st.transfer_lastio = srv.unixtime;
    let Some(link) = st.transfer.as_mut() else { return Err(Failure::Logged) };
    link.bulk = Some(bulk);
    if !link.inbuf.is_empty() {
        srv.el.ae_set_ready(link.fd, AE_READABLE);
    }
    Ok(())
}

/// +CONTINUE [<id>]: the stream continues from our cached master's offset. A new id means
/// the master's history was renamed (a failover): ours becomes replid2 up to here.
fn partial_resync_accepted(srv: &mut Server, new_id: Option<[u8; CONFIG_RUN_ID_SIZE]>) -> Result<(), Failure> {
    log::info!("Successful partial resynchronization with master.");
    let Some(cached) = srv.repl.replica.cached_master.clone() else {
        log::warn!("syncWithMaster(): +CONTINUE without a cached master");
        return Err(Failure::Logged);
    };
    if let Some(id) = new_id.filter(|id| *id != cached.replid) {
        log::warn!("Master replication ID changed to {}", replid_text(&id));
        srv.repl.replid2 = cached.replid;
        srv.repl.second_replid_offset = srv.repl.master_repl_offset + 1;
        srv.repl.replid = id;
        if let Some(c) = srv.repl.replica.cached_master.as_mut() {
            c.replid = id;
        }
        replica::disconnect_slaves(srv);
    }
    replication_resurrect_cached_master(srv);
    if srv.repl.backlog.is_none() {
        let size = usize::try_from(srv.config.repl_backlog_size).unwrap_or(1 << 20);
        srv.repl.create_replication_backlog(size);
    }
    log::info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    Ok(())
}

/// Redis: replicationResurrectCachedMaster(): the cached master becomes the live master
/// client again, on the new socket, with what followed +CONTINUE as its first input.
fn replication_resurrect_cached_master(srv: &mut Server) {
    let st = &mut srv.repl.replica;
    let (Some(cached), Some(link)) = (st.cached_master.take(), st.transfer.take()) else { return };
    st.state = ReplState::Connected;
    st.repl_down_since = 0;
    replica_stream::replication_create_master_client(srv, link, &cached);
}

// ----------------------------------------------------------------------------------------
// Reading and writing on the link
// ----------------------------------------------------------------------------------------

/// Redis: receiveSynchronousResponse(), without blocking: one read of what the socket has,
/// then a whole line if one is buffered. Ok(None): wait for more.
///
/// The socket is read on every call, even with a line already buffered: the event that
/// brought us here may be new data, and an edge-triggered poller does not announce it
/// twice. While whole lines remain buffered the handler re-arms itself.
fn receive_synchronous_response(srv: &mut Server) -> Result<Option<Vec<u8>>, Failure> {
    let read = fill_inbuf(srv);
    let unixtime = srv.unixtime;
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err(Failure::Logged) };
    let Some(line) = link.take_line() else {
        read.map_err(Failure::NoResponse)?;
        if link.inbuf.len() > MAX_LINE {
            return Err(Failure::NoResponse("line too long".into()));
        }
        return Ok(None);
    };
    if !link.inbuf.is_empty() {
        srv.el.ae_set_ready(link.fd, AE_READABLE);
    }
    srv.repl.replica.transfer_lastio = unixtime;
    Ok(Some(line))
}

/// One read of what the socket has into the link's buffer. A full chunk means more may be
/// waiting: the handler is re-armed.
pub fn fill_inbuf(srv: &mut Server) -> Result<usize, String> {
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err("no link".into()) };
    let mut chunk = [0u8; READ_CHUNK];
    match link.stream.read(&mut chunk) {
        Ok(0) => Err("connection lost".into()),
        Ok(n) => {
            link.inbuf.extend_from_slice(&chunk[..n]);
            // Even a short read re-arms: a FIN that came with these bytes was announced by
            // the same edge, and only a read that returns 0 shows it.
            srv.el.ae_set_ready(link.fd, AE_READABLE);
            srv.stat_net_input_bytes += n as u64;
            Ok(n)
        }
        Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted) => Ok(0),
        Err(err) => Err(strerror(&err)),
    }
}

/// Redis: sendCommand() / sendCommandArgv(): one command as a RESP array.
fn send_command(srv: &mut Server, args: &[&[u8]]) -> Result<(), String> {
    let mut bytes = Vec::new();
    encode_multibulk(&mut bytes, args);
    write_raw(srv, &bytes)
}

/// Redis: sendCommandRaw(). The handshake commands are a few hundred bytes on a socket
/// whose send buffer is empty, so one write takes them whole; a short write would mean a
/// broken link and is treated as a write error rather than waited for.
fn write_raw(srv: &mut Server, bytes: &[u8]) -> Result<(), String> {
    let Some(link) = srv.repl.replica.transfer.as_mut() else { return Err("-Writing to master: no link".into()) };
    match link.stream.write(bytes) {
        Ok(n) if n == bytes.len() => {
            srv.stat_net_output_bytes += n as u64;
            Ok(())
        }
        Ok(_) => Err("-Writing to master: short write".into()),
        Err(err) => Err(format!("-Writing to master: {}", strerror(&err))),
    }
}

/// Whether `line` is the master asking us to authenticate first (for tests).
#[cfg(test)]
fn ping_reply_ok(line: &[u8]) -> bool {
    check_ping_reply(line).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psync_replies_are_told_apart() {
        let id = [b'a'; 40];
        let full = b"+FULLRESYNC aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 107";
        assert_eq!(parse_psync_reply(full), PsyncReply::FullResync(Some((id, 107))));
        assert_eq!(parse_psync_reply(b"+FULLRESYNC abc 107"), PsyncReply::FullResync(None));
        assert_eq!(parse_psync_reply(b"+FULLRESYNC"), PsyncReply::FullResync(None));
        assert_eq!(parse_psync_reply(b"+CONTINUE"), PsyncReply::Continue(None));
        let cont = b"+CONTINUE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(parse_psync_reply(cont), PsyncReply::Continue(Some(id)));
        assert_eq!(parse_psync_reply(b"-NOMASTERLINK Can't SYNC while not connected with my master"), PsyncReply::TryLater);
        assert_eq!(parse_psync_reply(b"-LOADING Redis is loading"), PsyncReply::TryLater);
        assert_eq!(parse_psync_reply(b"-ERR unknown command 'PSYNC'"), PsyncReply::NotSupported);
        assert_eq!(c_strtoll(b"-12x"), -12);
        assert_eq!(c_strtoll(b"x"), 0);
    }

    #[test]
    fn ping_replies_accepted_as_redis_does() {
        assert!(ping_reply_ok(b"+PONG"));
        assert!(ping_reply_ok(b"-NOAUTH Authentication required."));
        assert!(ping_reply_ok(b"-NOPERM this user has no permissions"));
        assert!(ping_reply_ok(b"-ERR operation not permitted"));
        assert!(!ping_reply_ok(b"-ERR something else"));
        assert!(!ping_reply_ok(b""));
    }

    #[test]
    fn lines_are_cut_at_newlines_and_partial_lines_wait() {
        // A TcpStream is needed for the struct: a loopback listener gives one.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let stream = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let fd = stream.as_raw_fd();
        let mut link = TransferLink { stream, fd, inbuf: b"+OK\r\n\n+PART".to_vec(), bulk: None };
        assert_eq!(link.take_line().as_deref(), Some(&b"+OK"[..]));
        assert_eq!(link.take_line().as_deref(), Some(&b""[..]), "a keep-alive newline is an empty line");
        assert_eq!(link.take_line(), None);
        assert_eq!(link.inbuf, b"+PART");
        assert_eq!(link.progress(), (-1, 0));
    }
}

//! How a write becomes bytes of the replication stream.
//!
//! Redis: server.c alsoPropagate(), propagatePendingCommands(), propagateNow() and the
//! propagation step of call(); replication.c replicationFeedSlaves() and
//! feedReplicationBuffer(). A command that changed the dataset (`dirty` moved) is queued
//! with its final argv (commands rewrite theirs for determinism: SET .. EX becomes PXAT,
//! EXPIRE becomes PEXPIREAT ...); commands that want a different record queue their own
//! ops and prevent their own. When the outermost call() returns, the queue is emitted as
//! one unit: a lone op as is, several (EXEC, a lazy expiry plus the write that found it)
//! wrapped in MULTI ... EXEC. Emitting means: a SELECT when the db differs from the
//! stream's, then the command as a RESP array, appended to the backlog and to every
//! replica's output buffer, and `master_repl_offset` advanced by exactly those bytes.

use crate::networking::{Client, CLIENT_SLAVE};
use crate::server::Server;

use super::PropagatedOp;

/// Redis: CLIENT_FORCE_REPL: propagate this command even if it changed nothing (PUBLISH).
pub const CLIENT_FORCE_REPL: u64 = 1 << 15;
/// Redis: CLIENT_PREVENT_REPL_PROP: the command queued its own ops (SPOP's SREMs ...).
pub const CLIENT_PREVENT_REPL_PROP: u64 = 1 << 20;

/// Redis: shouldPropagate() for PROPAGATE_REPL: only a master with somewhere to send the
/// stream records it (a replica proxies its master's stream instead), and never while
/// loading a dataset.
pub fn should_propagate(srv: &Server) -> bool {
    !srv.loading && srv.masterhost.is_none() && (srv.repl.backlog.is_some() || !srv.repl.slaves.is_empty())
}

/// Redis: alsoPropagate(): queue one op for the end of the current execution unit.
pub fn also_propagate(srv: &mut Server, dbid: usize, argv: Vec<Vec<u8>>) {
    if should_propagate(srv) {
        srv.repl.also_propagate.push(PropagatedOp { dbid, argv });
    }
}

/// Redis: forceCommandPropagation(c, PROPAGATE_REPL).
pub fn force_command_propagation(c: &mut Client) {
    c.flags |= CLIENT_FORCE_REPL;
}

/// Redis: preventCommandPropagation() (the replication half).
pub fn prevent_command_propagation(c: &mut Client) {
    c.flags |= CLIENT_PREVENT_REPL_PROP;
}

/// The propagation step of call(): the command as it now reads is queued if it changed
/// the dataset (or was forced) and did not queue its own record. EXEC is never queued
/// itself: its commands were, one by one, during its call.
pub fn propagate_after_call(srv: &mut Server, c: &Client, dirty: u64, is_exec: bool) {
    // should_propagate() first: copying argv for a server with no stream (a replica, a
    // master with no backlog) cost ~8 % of a replica's CPU for nothing.
    if is_exec || c.flags & CLIENT_PREVENT_REPL_PROP != 0 || !should_propagate(srv) {
        return;
    }
    if dirty > 0 || c.flags & CLIENT_FORCE_REPL != 0 {
        let argv = c.argv.iter().map(<[u8]>::to_vec).collect();
        also_propagate(srv, c.db, argv);
    }
}

/// Redis: propagatePendingCommands(): emit the queued ops as one unit. Several ops are
/// wrapped in MULTI/EXEC; MULTI takes the first op's db (so any SELECT comes before it) and
/// EXEC the last op's (so none comes between).
pub fn propagate_pending_commands(srv: &mut Server) {
    let ops = std::mem::take(&mut srv.repl.also_propagate);
    let (Some(first), Some(last)) = (ops.first(), ops.last()) else { return };
    let transaction = ops.len() > 1;
    let (first_db, last_db) = (first.dbid, last.dbid);
    if transaction {
        replication_feed_slaves(srv, first_db, &[b"MULTI"]);
    }
    for op in &ops {
        let args: Vec<&[u8]> = op.argv.iter().map(Vec::as_slice).collect();
        replication_feed_slaves(srv, op.dbid, &args);
    }
    if transaction {
        replication_feed_slaves(srv, last_db, &[b"EXEC"]);
    }
}

/// Redis: replicationFeedSlaves(): SELECT if needed, then the command, into the backlog
/// and every replica's buffer.
pub fn replication_feed_slaves(srv: &mut Server, dbid: usize, argv: &[&[u8]]) {
    if srv.masterhost.is_some() || (srv.repl.backlog.is_none() && srv.repl.slaves.is_empty()) {
        return;
    }
    let mut bytes = Vec::new();
    if srv.repl.slaveseldb != dbid as i64 {
        let db = dbid.to_string();
        encode_multibulk(&mut bytes, &[b"SELECT", db.as_bytes()]);
        srv.repl.slaveseldb = dbid as i64;
    }
    encode_multibulk(&mut bytes, argv);
    feed_replication_buffer(srv, &bytes);
}

/// Redis: feedReplicationBuffer(): raw stream bytes (commands, PINGs, GETACKs, or a
/// replica's proxied master stream) to the backlog and to the replicas that take the
/// stream now (one waiting for its BGSAVE to start will get a fresh snapshot instead).
pub fn feed_replication_buffer(srv: &mut Server, bytes: &[u8]) {
    let Some(backlog) = srv.repl.backlog.as_mut() else { return };
    backlog.feed(bytes);
    srv.repl.master_repl_offset += bytes.len() as i64;
    let slaves = srv.repl.slaves.clone();
    for id in slaves {
        let Some(mut replica) = srv.take_client_by_id(id) else { continue };
        if replica.flags & CLIENT_SLAVE != 0 && replica_takes_stream(&replica) {
            replica.reply.add_reply_proto(bytes);
            // Redis: a replica over client-output-buffer-limit replica is dropped.
            crate::networking::close_client_on_output_buffer_limit_reached(srv, &mut replica);
        }
        // Redis: prepareReplicasToWrite(): only an online replica's buffer is written out.
        let flows = crate::replication::master::replica_output_may_flow(&replica);
        srv.put_client(replica);
        if flows {
            srv.queue_reply_write(id);
        }
    }
}

/// Redis: canFeedReplicaReplBuffer(): a replica waiting for its BGSAVE to start will get
/// a snapshot taken later (the stream so far is in it), an rdb-only client no stream.
fn replica_takes_stream(replica: &Client) -> bool {
    crate::replication::master::can_feed_replica_repl_buffer(replica)
}

/// A command as RESP: `*<argc>` then `$<len>` bulk strings (what replicas parse).
/// Sized up front and with stack-formatted lengths: on every write of a master, growing
/// the Vec and allocating each length's text cost more than the copy itself.
pub fn encode_multibulk(out: &mut Vec<u8>, argv: &[&[u8]]) {
    // Each element's overhead: `$`, at most 20 digits, two CRLFs.
    let size = argv.iter().fold(24usize, |n, arg| n.saturating_add(arg.len()).saturating_add(25));
    out.reserve(size);
    push_length_line(out, b'*', argv.len());
    for arg in argv {
        push_length_line(out, b'$', arg.len());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `<prefix><n>\r\n`.
fn push_length_line(out: &mut Vec<u8>, prefix: u8, n: usize) {
    out.push(prefix);
    out.extend_from_slice(crate::util::ull2string(n as u64).as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::networking::Client;
    use crate::test_support::{process, test_server};

    fn stream_of(srv: &Server) -> String {
        let b = srv.repl.backlog.as_ref().expect("backlog");
        let blocks: Vec<&[u8]> = b.range_from(b.first_byte_offset()).expect("covered").collect();
        String::from_utf8(blocks.concat()).expect("utf8")
    }

    fn run(srv: &mut Server, c: &mut Client, cmds: &[&[&str]]) {
        for cmd in cmds {
            let reply = process(srv, c, cmd);
            assert!(!reply.starts_with('-'), "{cmd:?}: {reply}");
        }
    }

    #[test]
    fn multibulk_lengths_of_several_digits_and_empty_arguments() {
        let long = [b'x'; 1234];
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"", &long];
        args.extend(std::iter::repeat(&b"e"[..]).take(9));
        let mut out = b"prefix".to_vec();
        encode_multibulk(&mut out, &args);
        let mut want = b"prefix*12\r\n$5\r\nRPUSH\r\n$0\r\n\r\n$1234\r\n".to_vec();
        want.extend_from_slice(&long);
        want.extend_from_slice(b"\r\n");
        want.extend_from_slice(&b"$1\r\ne\r\n".repeat(9));
        assert_eq!(out, want);
    }

    #[test]
    fn nothing_is_recorded_without_a_backlog() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, &[&["SET", "k", "v"]]);
        assert_eq!(srv.repl.master_repl_offset, 0);
        assert!(srv.repl.also_propagate.is_empty());
    }

    #[test]
    fn writes_are_recorded_with_select_and_rewritten_argv() {
        let mut srv = test_server();
        srv.repl.create_replication_backlog(1 << 20);
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, &[&["set", "k", "v"], &["GET", "k"], &["DEL", "nosuch"], &["EXPIRE", "k", "100"]]);
        let s = stream_of(&srv);
        assert!(s.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n"), "{s:?}");
        assert!(s.contains("*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n"), "{s:?}");
        assert!(!s.contains("GET") && !s.contains("nosuch"), "reads and no-ops are not recorded: {s:?}");
        assert_eq!(srv.repl.master_repl_offset as usize, s.len());
        run(&mut srv, &mut c, &[&["SELECT", "3"], &["SET", "x", "1"], &["SET", "y", "2"]]);
        let s = stream_of(&srv);
        assert_eq!(s.matches("SELECT").count(), 2, "one SELECT per change of db: {s:?}");
    }

    #[test]
    fn exec_with_several_writes_is_wrapped_and_a_single_write_is_not() {
        let mut srv = test_server();
        srv.repl.create_replication_backlog(1 << 20);
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, &[&["MULTI"], &["SET", "a", "1"], &["INCR", "a"], &["EXEC"]]);
        let want = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n\
                    *2\r\n$4\r\nINCR\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n";
        assert_eq!(stream_of(&srv), want);
        run(&mut srv, &mut c, &[&["MULTI"], &["INCR", "a"], &["GET", "a"], &["EXEC"]]);
        assert_eq!(&stream_of(&srv)[want.len()..], "*2\r\n$4\r\nINCR\r\n$1\r\na\r\n");
    }

    #[test]
    fn random_and_forced_commands_are_recorded_as_their_effects() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, &[&["SADD", "s", "a", "b", "c", "d", "e"]]);
        srv.repl.create_replication_backlog(1 << 20);
        run(&mut srv, &mut c, &[&["SPOP", "s", "2"], &["PUBLISH", "ch", "hi"], &["SPOP", "s"]]);
        let s = stream_of(&srv);
        assert!(!s.contains("SPOP"), "{s:?}");
        assert_eq!(s.matches("SREM").count(), 3, "{s:?}");
        assert_eq!(s.matches("MULTI").count(), 1, "the two SREMs of one SPOP form a unit: {s:?}");
        assert!(s.contains("*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$2\r\nhi\r\n"), "{s:?}");
        run(&mut srv, &mut c, &[&["SET", "t", "v", "PX", "1"]]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        srv.cmd_time_snapshot = crate::util::mstime();
        run(&mut srv, &mut c, &[&["GET", "t"]]);
        assert!(stream_of(&srv).ends_with("*2\r\n$3\r\nDEL\r\n$1\r\nt\r\n"), "a lazily expired key goes as DEL");
    }
}

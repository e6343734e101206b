//! Replication: the master's write stream, its backlog and (as they land) both sides of the
//! link.
//!
//! Redis: replication.c, split by concern:
//! - this file: the replication state the server keeps whatever its role (replication ids,
//!   offsets, the backlog, the replicas), Redis's `server.repl_*` / `server.master_*` fields;
//! - [`propagate`]: how a write becomes stream bytes (server.c alsoPropagate(),
//!   propagatePendingCommands(), propagateNow(); replication.c replicationFeedSlaves());
//! - [`backlog`]: the last repl-backlog-size bytes of the stream, as a list of blocks, that PSYNC continues from.
//!
//! Everything runs on the event loop thread: writes are appended to the backlog and to each
//! replica's output buffer as commands run, and go out when the replica's socket is writable.

pub mod backlog;
pub mod failover;
pub mod master;
pub mod master_transfer;
pub mod propagate;
pub mod replica;
pub mod replica_diskless_load;
pub mod replica_handshake;
pub mod replica_stream;
pub mod replica_transfer;

use backlog::Backlog;

/// Redis: CONFIG_RUN_ID_SIZE: replication ids are 40 hex characters.
pub const CONFIG_RUN_ID_SIZE: usize = 40;

/// Redis: the replication fields of struct redisServer.
#[derive(Debug)]
pub struct ReplicationState {
    /// Redis: server.replid: the history this server's stream belongs to.
    pub replid: [u8; CONFIG_RUN_ID_SIZE],
    /// Redis: server.replid2: the history we inherited from our former master.
    pub replid2: [u8; CONFIG_RUN_ID_SIZE],
    /// Redis: server.master_repl_offset: bytes of stream produced (or, on a replica,
    /// received) so far.
    pub master_repl_offset: i64,
    /// Redis: server.second_replid_offset: replid2 is valid up to this offset, -1 if none.
    pub second_replid_offset: i64,
    /// Redis: server.repl_backlog; created when the first replica connects.
    pub backlog: Option<Backlog>,
    /// Redis: server.slaveseldb: the db the stream last SELECTed, -1 to force a SELECT.
    pub slaveseldb: i64,
    /// Redis: server.slaves: the client ids of the replicas attached to us.
    pub slaves: Vec<u64>,
    /// Redis: server.also_propagate: the writes of the command (or transaction) running
    /// now, emitted as one unit when the outermost call() returns.
    pub also_propagate: Vec<PropagatedOp>,
    /// Redis: server.repl_no_slaves_since (unix seconds), for repl-backlog-ttl.
    pub repl_no_slaves_since: i64,
    /// Redis: server.stat_sync_full / stat_sync_partial_ok / stat_sync_partial_err.
    pub stat_sync_full: u64,
    pub stat_sync_partial_ok: u64,
    pub stat_sync_partial_err: u64,
    /// Redis: server.stat_net_repl_output_bytes: bytes sent to replicas (stream, RDB).
    pub stat_net_repl_output_bytes: u64,
    /// What the master side keeps between events: WAIT's clients, the good-replica count,
    /// the diskless transfer's pipe (master.rs, master_transfer.rs).
    pub master: master::MasterSideState,
    /// The replica side: the link to our master, its cached state, the download
    /// (replica.rs and its siblings).
    pub replica: replica::ReplicaSideState,
    /// Redis: failover_state and the target, timeout and FORCE of a FAILOVER (failover.rs).
    pub failover: failover::Failover,
}

/// Redis: redisOp: one command waiting in also_propagate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropagatedOp {
    pub dbid: usize,
    pub argv: Vec<Vec<u8>>,
}

impl ReplicationState {
    /// Redis: the replication part of initServer(): a fresh random replid, no replid2.
    pub fn new(now_secs: i64) -> ReplicationState {
        let mut st = ReplicationState {
            replid: [b'0'; CONFIG_RUN_ID_SIZE],
            replid2: [b'0'; CONFIG_RUN_ID_SIZE],
            master_repl_offset: 0,
            second_replid_offset: -1,
            backlog: None,
            slaveseldb: -1,
            slaves: Vec::new(),
            also_propagate: Vec::new(),
            repl_no_slaves_since: now_secs,
            stat_sync_full: 0,
            stat_sync_partial_ok: 0,
            stat_sync_partial_err: 0,
            stat_net_repl_output_bytes: 0,
            master: Default::default(),
            replica: Default::default(),
            failover: Default::default(),
        };
        st.change_replication_id();
        st
    }

    /// Redis: changeReplicationId(): a new history starts (a new master, a failover).
    pub fn change_replication_id(&mut self) {
        let hex = crate::util::get_random_hex_chars(CONFIG_RUN_ID_SIZE);
        self.replid.copy_from_slice(&hex[..CONFIG_RUN_ID_SIZE]);
    }

    /// Redis: clearReplicationId2().
    pub fn clear_replication_id2(&mut self) {
        self.replid2 = [b'0'; CONFIG_RUN_ID_SIZE];
        self.second_replid_offset = -1;
    }

    /// Redis: shiftReplicationId(): the current history becomes the second one (valid up to
    /// the next byte) and a new one starts, so former siblings can still PSYNC from us.
    pub fn shift_replication_id(&mut self) {
        self.replid2 = self.replid;
        self.second_replid_offset = self.master_repl_offset + 1;
        self.change_replication_id();
    }

    /// Redis: createReplicationBacklog(): the stream is recorded from now on.
    pub fn create_replication_backlog(&mut self, size: usize) {
        self.backlog = Some(Backlog::new(size, self.master_repl_offset));
        // A new backlog starts with a SELECT so a replica continuing from it knows its db.
        self.slaveseldb = -1;
    }

    /// Redis: freeReplicationBacklog(); called by replicationCron after repl-backlog-ttl
    /// with no replicas.
    pub fn free_replication_backlog(&mut self) {
        self.backlog = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_forty_hex_chars_and_shift_keeps_the_old_one() {
        let mut st = ReplicationState::new(0);
        assert!(st.replid.iter().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(st.second_replid_offset, -1);
        st.master_repl_offset = 500;
        let old = st.replid;
        st.shift_replication_id();
        assert_eq!(st.replid2, old);
        assert_ne!(st.replid, old);
        assert_eq!(st.second_replid_offset, 501);
        st.clear_replication_id2();
        assert_eq!(st.replid2, [b'0'; 40]);
    }
}

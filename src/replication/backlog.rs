//! The replication backlog: the last `repl-backlog-size` bytes of the write stream, kept so a
//! replica that lost its link can continue from its offset (PSYNC) instead of a full sync.
//!
//! Redis: replication.c createReplicationBacklog(), resizeReplicationBacklog(),
//! feedReplicationBuffer() (the backlog half), incrementalTrimReplicationBacklog() and
//! addReplyReplicationBacklog(). As in Redis 7.0 the stream is a list of blocks of at
//! least PROTO_REPLY_CHUNK_BYTES, appended at the tail and dropped whole from the head:
//! nothing already written is ever copied again, however large the backlog grows (one
//! growing buffer stalled the event loop on every doubling). Redis 7.0 shares the blocks
//! with the replicas' output buffers; here each replica gets its own copy of the stream in
//! its output buffer. The offsets, the accepted PSYNC ranges, the block boundaries and so
//! the INFO fields are Redis's. Fed from propagate.rs on the event loop thread.

use std::collections::VecDeque;

use crate::reply::PROTO_REPLY_CHUNK_BYTES;

/// Redis: sizeof(replBufBlock), the header allocated in front of each block's bytes; the
/// block takes the rest of the allocator's size class, as zmalloc_usable() gives it.
const REPL_BUF_BLOCK_HEADER: usize = 40;

/// Redis: sizeof(listNode), counted in repl_buffer_mem for each block.
const LIST_NODE_BYTES: usize = 24;

/// Redis: REPL_BACKLOG_TRIM_BLOCKS_PER_CALL: freeing many blocks at once (after a shrink)
/// would stall the loop, so each call frees at most this many.
const REPL_BACKLOG_TRIM_BLOCKS_PER_CALL: usize = 64;

/// Redis: replBufBlock. Only the tail block has room left: a block is full before the next
/// one is created.
#[derive(Debug)]
struct Block {
    /// Master offset of `buf[0]` (Redis: repl_offset).
    start: i64,
    /// Allocated once with its final capacity; appends never reallocate it.
    buf: Vec<u8>,
}

impl Block {
    fn room(&self) -> usize {
        self.buf.capacity() - self.buf.len()
    }
}

/// Redis: replBacklog. `offset` is the master offset of the first byte held
/// (repl_backlog_first_byte_offset, always the start of the first block); bytes
/// `[offset, offset + histlen)` are available.
#[derive(Debug)]
pub struct Backlog {
    blocks: VecDeque<Block>,
    /// repl-backlog-size: history beyond it is trimmed, a whole block at a time.
    size: usize,
    /// The least capacity of a new block (PROTO_REPLY_CHUNK_BYTES; smaller in tests).
    block_bytes: usize,
    histlen: usize,
    offset: i64,
}

/// The bytes of the backlog from an offset to its end, block by block (Redis hands a PSYNC
/// replica the same blocks by reference).
#[derive(Debug, Clone)]
pub struct BacklogRange<'a> {
    blocks: std::collections::vec_deque::Iter<'a, Block>,
    /// Bytes of the first block before the requested offset.
    skip: usize,
}

impl<'a> Iterator for BacklogRange<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        loop {
            let block = self.blocks.next()?;
            let from = std::mem::take(&mut self.skip);
            match block.buf.get(from..) {
                Some(bytes) if !bytes.is_empty() => return Some(bytes),
                _ => continue,
            }
        }
    }
}

impl Backlog {
    /// Redis: createReplicationBacklog(): empty; the first byte fed will have offset
    /// `master_repl_offset + 1`.
    pub fn new(size: usize, master_repl_offset: i64) -> Backlog {
        Backlog::with_block_bytes(size, master_repl_offset, PROTO_REPLY_CHUNK_BYTES)
    }

    fn with_block_bytes(size: usize, master_repl_offset: i64, block_bytes: usize) -> Backlog {
        Backlog { blocks: VecDeque::new(), size: size.max(1), block_bytes, histlen: 0, offset: master_repl_offset + 1 }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    /// Redis: repl_backlog->histlen. Once the stream passed `size` it stays between `size`
    /// and `size` plus the first block, since only whole blocks are dropped.
    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Redis: repl_backlog->offset (INFO repl_backlog_first_byte_offset).
    pub fn first_byte_offset(&self) -> i64 {
        self.offset
    }

    /// Redis: server.repl_buffer_mem (INFO mem_total_replication_buffers): each block's
    /// allocation (header and bytes) plus its list node, as Redis counts them.
    pub fn mem_usage(&self) -> usize {
        let per_block = REPL_BUF_BLOCK_HEADER + LIST_NODE_BYTES;
        self.blocks.iter().map(|b| b.buf.capacity() + per_block).sum()
    }

    /// Redis: the backlog half of feedReplicationBuffer(): fill the tail block, put the rest
    /// in one new block (at least PROTO_REPLY_CHUNK_BYTES), then drop old blocks.
    pub fn feed(&mut self, data: &[u8]) {
        let end = self.offset + self.histlen as i64;
        let copied = match self.blocks.back_mut() {
            Some(tail) => {
                let n = tail.room().min(data.len());
                tail.buf.extend_from_slice(&data[..n]);
                n
            }
            None => 0,
        };
        let rest = &data[copied..];
        if !rest.is_empty() {
            self.blocks.push_back(self.new_block(end + copied as i64, rest));
        }
        self.histlen += data.len();
        self.incremental_trim(REPL_BACKLOG_TRIM_BLOCKS_PER_CALL);
    }

    /// A block holding `bytes`, with the room of the allocator size class it lands in.
    fn new_block(&self, start: i64, bytes: &[u8]) -> Block {
        let want = bytes.len().max(self.block_bytes);
        let usable = crate::zmalloc::good_size(want.saturating_add(REPL_BUF_BLOCK_HEADER))
            .saturating_sub(REPL_BUF_BLOCK_HEADER)
            .max(want);
        let mut buf = Vec::with_capacity(usable);
        buf.extend_from_slice(bytes);
        Block { start, buf }
    }

    /// Redis: incrementalTrimReplicationBacklog(): drop head blocks while the history
    /// without the first block would still exceed `size`; never the last block.
    fn incremental_trim(&mut self, max_blocks: usize) {
        for _ in 0..max_blocks {
            if self.blocks.len() <= 1 {
                break;
            }
            let Some(first) = self.blocks.front().map(|b| b.buf.len()) else { break };
            if self.histlen <= self.size || self.histlen - first <= self.size {
                break;
            }
            self.blocks.pop_front();
            self.histlen -= first;
            self.offset += first as i64;
        }
    }

    /// Redis: the range check of masterTryPartialResynchronization(): can a replica that
    /// has everything before `psync_offset` continue from the backlog?
    pub fn covers(&self, psync_offset: i64) -> bool {
        psync_offset >= self.offset && psync_offset <= self.offset + self.histlen as i64
    }

    /// Redis: addReplyReplicationBacklog(): the bytes from `from_offset` to the end, block
    /// by block (empty when `from_offset` is the next byte). None when not covered.
    pub fn range_from(&self, from_offset: i64) -> Option<BacklogRange<'_>> {
        if !self.covers(from_offset) {
            return None;
        }
        // The block holding from_offset: the last one starting at or before it (Redis
        // seeks its rax index of blocks the same way).
        let idx = self.blocks.partition_point(|b| b.start <= from_offset).saturating_sub(1);
        let skip = match self.blocks.get(idx) {
            Some(block) => usize::try_from(from_offset - block.start).ok()?,
            None => 0,
        };
        Some(BacklogRange { blocks: self.blocks.range(idx..), skip })
    }

    /// Redis: resizeReplicationBacklog(): a larger size keeps everything and lets the
    /// history grow; a smaller one trims old blocks, at most
    /// REPL_BACKLOG_TRIM_BLOCKS_PER_CALL now and the rest as the stream is fed.
    pub fn resize(&mut self, new_size: usize) {
        self.size = new_size.max(1);
        self.incremental_trim(REPL_BACKLOG_TRIM_BLOCKS_PER_CALL);
    }
}

#[cfg(test)]
mod tests {
    use super::{Backlog, REPL_BACKLOG_TRIM_BLOCKS_PER_CALL};

    fn joined(b: &Backlog, from: i64) -> Option<Vec<u8>> {
        b.range_from(from).map(|r| r.collect::<Vec<_>>().concat())
    }

    fn block_lens(b: &Backlog) -> Vec<usize> {
        b.range_from(b.first_byte_offset()).map(|r| r.map(<[u8]>::len).collect()).unwrap_or_default()
    }

    /// Blocks of 4056 bytes: with the 40-byte header they fill jemalloc's 4096 class.
    fn small(size: usize, offset: i64) -> Backlog {
        Backlog::with_block_bytes(size, offset, 4096 - super::REPL_BUF_BLOCK_HEADER)
    }

    #[test]
    fn blocks_take_their_allocation_size_class_as_redis_does() {
        let mut b = Backlog::new(1 << 20, 0);
        b.feed(b"x");
        // zmalloc_usable(16384 + sizeof(replBufBlock)) is jemalloc's 20480 class.
        assert_eq!(b.blocks[0].buf.capacity(), 20480 - 40);
        b.feed(&[b'y'; 20440]);
        // Redis 7.0.15 reports mem_total_replication_buffers:41008 for these two blocks.
        assert_eq!(b.mem_usage(), 2 * (20480 + 24));
    }

    #[test]
    fn info_figures_match_redis_for_the_same_stream() {
        // Redis 7.0.15, repl-backlog-size 16kb, one replica, 131416 bytes of stream in
        // commands of under 1 KB: repl_backlog_first_byte_offset:102201,
        // repl_backlog_histlen:29216; after CONFIG SET repl-backlog-size 20000 and 27 more
        // bytes: 102201 and 29243 (nothing trimmed).
        let mut b = Backlog::new(16384, 0);
        let mut fed = 0;
        while fed < 131416 {
            let n = (131416 - fed).min(fed % 900 + 1);
            b.feed(&vec![b'x'; n]);
            fed += n;
        }
        assert_eq!((b.first_byte_offset(), b.histlen()), (102201, 29216));
        b.resize(20000);
        b.feed(&[b'y'; 27]);
        assert_eq!((b.first_byte_offset(), b.histlen()), (102201, 29243));
    }

    #[test]
    fn offsets_follow_the_stream_and_whole_blocks_are_dropped() {
        let mut b = small(5000, 100);
        assert_eq!(b.first_byte_offset(), 101);
        assert_eq!(joined(&b, 101).unwrap(), b"", "empty: only the next offset is covered");
        b.feed(&[b'a'; 3000]);
        b.feed(&[b'b'; 3000]);
        assert_eq!(block_lens(&b), [4056, 1944]);
        assert_eq!(b.histlen(), 6000, "6000 - 4056 <= 5000: the first block stays");
        assert_eq!(joined(&b, 106).unwrap().len(), 5995);
        assert_eq!(joined(&b, 6101).unwrap(), b"", "the next offset is covered: nothing to send");
        assert!(joined(&b, 6102).is_none());
        b.feed(&[b'c'; 4000]);
        assert_eq!(b.histlen(), 10000 - 4056, "10000 - 4056 > 5000: the first block goes");
        assert_eq!(b.first_byte_offset(), 101 + 4056);
        assert!(joined(&b, 4156).is_none());
        let tail = joined(&b, 4157).unwrap();
        assert_eq!(tail.len(), 5944);
        assert_eq!(&tail[..1944], &[b'b'; 1944][..]);
        assert_eq!(&tail[1944..], &[b'c'; 4000][..]);
    }

    #[test]
    fn a_write_larger_than_a_block_gets_a_block_of_its_own_size() {
        let mut b = small(100, 0);
        b.feed(b"ab");
        b.feed(&[b'z'; 10000]);
        assert_eq!(block_lens(&b), [5946], "the full first block went; the last one never does");
        assert_eq!(b.histlen(), 5946, "Redis keeps at least one block, even beyond the size");
        assert_eq!(b.first_byte_offset(), 1 + 4056);
        assert_eq!(joined(&b, 4057).unwrap(), [b'z'; 5946]);
    }

    #[test]
    fn a_huge_configured_size_costs_only_the_bytes_fed() {
        let mut b = Backlog::new(1 << 40, 0);
        b.feed(b"hello");
        assert_eq!(b.size(), 1 << 40);
        assert_eq!(joined(&b, 1).unwrap(), b"hello");
        assert!(b.mem_usage() < 1 << 20);
    }

    #[test]
    fn resize_trims_old_blocks_incrementally() {
        let mut b = small(1 << 30, 0);
        for _ in 0..100 {
            b.feed(&[b'q'; 4056]);
        }
        assert_eq!(b.histlen(), 100 * 4056);
        b.resize(4056);
        assert_eq!(b.histlen(), (100 - REPL_BACKLOG_TRIM_BLOCKS_PER_CALL) * 4056, "64 blocks per call");
        b.feed(b"r");
        assert_eq!(b.histlen(), 4057, "the next feed trims the rest");
        assert_eq!(joined(&b, b.first_byte_offset()).unwrap().len(), 4057);
        b.resize(1 << 20);
        b.feed(&[b's'; 8000]);
        assert_eq!(b.histlen(), 12057, "growing keeps everything");
    }

    proptest::proptest! {
        /// Against a model that keeps the whole stream: whatever the feeds, the history is
        /// a suffix of the stream cut at a block start, every covered offset yields exactly
        /// the stream's tail from there, and the trim follows Redis's rules: at least `size`
        /// bytes are kept, and the first block goes as soon as the rest exceeds `size`.
        #[test]
        fn matches_a_model_of_the_whole_stream(
            size in 1usize..300,
            block in 1usize..64,
            feeds in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..100), 0..40),
        ) {
            let mut b = Backlog::with_block_bytes(size, 0, block);
            let mut stream = Vec::new();
            for f in &feeds {
                b.feed(f);
                stream.extend_from_slice(f);
            }
            let histlen = b.histlen();
            proptest::prop_assert!(histlen <= stream.len());
            proptest::prop_assert!(histlen >= stream.len().min(size), "never below the size");
            proptest::prop_assert_eq!(b.first_byte_offset(), (stream.len() - histlen) as i64 + 1);
            let lens = block_lens(&b);
            proptest::prop_assert_eq!(lens.iter().sum::<usize>(), histlen);
            if lens.len() > 1 {
                proptest::prop_assert!(histlen - lens[0] <= size, "the first block should have gone");
                proptest::prop_assert!(lens[..lens.len() - 1].iter().all(|&n| n >= block), "only the tail has room");
            }
            proptest::prop_assert!(b.range_from(b.first_byte_offset() - 1).is_none());
            proptest::prop_assert!(b.range_from(stream.len() as i64 + 2).is_none());
            for from in b.first_byte_offset()..=stream.len() as i64 + 1 {
                let want = &stream[(from - 1) as usize..];
                proptest::prop_assert_eq!(joined(&b, from).unwrap(), want.to_vec());
            }
        }
    }
}

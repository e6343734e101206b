//! The replication backlog: the last `repl-backlog-size` bytes of the write stream, kept so a
//! replica that lost its link can continue from its offset (PSYNC) instead of a full sync.
//!
//! Redis: replication.c createReplicationBacklog(), resizeReplicationBacklog(),
//! feedReplicationBuffer() (the backlog half) and addReplyReplicationBacklog(). Redis 7.0
//! shares one chain of buffer blocks between the backlog and the replicas' output buffers;
//! here the backlog is a plain ring of bytes and each replica gets its own copy of the stream
//! in its output buffer. The offsets, the accepted PSYNC ranges and the INFO fields are the
//! same. Fed from propagate.rs on the event loop thread.

/// Redis: replBacklog. `offset` is the master offset of the first byte held
/// (repl_backlog_first_byte_offset); bytes `[offset, offset + histlen)` are available.
#[derive(Debug)]
pub struct Backlog {
    /// Grows with the stream up to `size`, then is used as a ring: a large repl-backlog-size
    /// costs memory only as the stream fills it (Redis 7.0's block list behaves the same).
    buf: Vec<u8>,
    size: usize,
    /// Where the next byte goes.
    idx: usize,
    histlen: usize,
    offset: i64,
}

impl Backlog {
    /// Redis: createReplicationBacklog(): empty; the first byte fed will have offset
    /// `master_repl_offset + 1`.
    pub fn new(size: usize, master_repl_offset: i64) -> Backlog {
        Backlog { buf: Vec::new(), size: size.max(1), idx: 0, histlen: 0, offset: master_repl_offset + 1 }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    pub fn histlen(&self) -> usize {
        self.histlen
    }

    /// Redis: repl_backlog->offset (INFO repl_backlog_first_byte_offset).
    pub fn first_byte_offset(&self) -> i64 {
        self.offset
    }

    /// Appends stream bytes, dropping the oldest when full.
    pub fn feed(&mut self, mut data: &[u8]) {
        let size = self.size;
        if data.len() > size {
            // Only the tail can be kept; the skipped bytes still count as history passed.
            let skip = data.len() - size;
            self.offset += skip as i64;
            data = &data[skip..];
        }
        if self.buf.len() < size {
            // Still growing: nothing has wrapped, so the history is the whole buffer.
            let n = (size - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..n]);
            self.histlen = self.buf.len();
            self.idx = self.buf.len() % size;
            data = &data[n..];
            if data.is_empty() {
                return;
            }
        }
        let first = (size - self.idx).min(data.len());
        self.buf[self.idx..self.idx + first].copy_from_slice(&data[..first]);
        let rest = &data[first..];
        self.buf[..rest.len()].copy_from_slice(rest);
        self.idx = (self.idx + data.len()) % size;
        let total = self.histlen + data.len();
        if total > size {
            self.offset += (total - size) as i64;
        }
        self.histlen = total.min(size);
    }

    /// Redis: the range check of masterTryPartialResynchronization(): can a replica that
    /// has everything before `psync_offset` continue from the backlog?
    pub fn covers(&self, psync_offset: i64) -> bool {
        psync_offset >= self.offset && psync_offset <= self.offset + self.histlen as i64
    }

    /// Redis: addReplyReplicationBacklog(): the bytes from `from_offset` to the end, as at
    /// most two slices (the ring may wrap). None when the offset is not covered.
    pub fn range_from(&self, from_offset: i64) -> Option<(&[u8], &[u8])> {
        if !self.covers(from_offset) {
            return None;
        }
        let skip = usize::try_from(from_offset - self.offset).ok()?;
        let len = self.histlen - skip;
        let size = self.buf.len();
        if len == 0 {
            return Some((&[], &[]));
        }
        let start = (self.idx + size - self.histlen + skip) % size;
        let first = (size - start).min(len);
        Some((&self.buf[start..start + first], &self.buf[..len - first]))
    }

    /// Redis: resizeReplicationBacklog(): a new size keeps the newest history that fits.
    pub fn resize(&mut self, new_size: usize) {
        let new_size = new_size.max(1);
        if new_size == self.size {
            return;
        }
        let end = self.offset + self.histlen as i64;
        let keep = self.histlen.min(new_size);
        let kept: Vec<u8> = match self.range_from(end - keep as i64) {
            Some((a, b)) => a.iter().chain(b.iter()).copied().collect(),
            None => Vec::new(),
        };
        *self = Backlog { buf: Vec::new(), size: new_size, idx: 0, histlen: 0, offset: end - kept.len() as i64 };
        self.feed(&kept);
    }
}

#[cfg(test)]
mod tests {
    use super::Backlog;

    fn joined(b: &Backlog, from: i64) -> Option<Vec<u8>> {
        b.range_from(from).map(|(x, y)| [x, y].concat())
    }

    #[test]
    fn offsets_follow_the_stream_and_wrap() {
        let mut b = Backlog::new(8, 100);
        assert_eq!(b.first_byte_offset(), 101);
        b.feed(b"abcde");
        assert_eq!(joined(&b, 101).unwrap(), b"abcde");
        assert_eq!(joined(&b, 104).unwrap(), b"de");
        assert_eq!(joined(&b, 106).unwrap(), b"", "the next offset is covered: nothing to send");
        assert!(joined(&b, 107).is_none());
        b.feed(b"fghij");
        assert_eq!(b.histlen(), 8);
        assert_eq!(b.first_byte_offset(), 103);
        assert_eq!(joined(&b, 103).unwrap(), b"cdefghij");
        assert!(joined(&b, 102).is_none());
        b.feed(b"0123456789xyz");
        assert_eq!(b.first_byte_offset(), 116);
        assert_eq!(joined(&b, 116).unwrap(), b"56789xyz");
    }

    #[test]
    fn a_huge_configured_size_costs_only_the_bytes_fed() {
        let mut b = Backlog::new(1 << 40, 0);
        b.feed(b"hello");
        assert_eq!(b.size(), 1 << 40);
        assert_eq!(joined(&b, 1).unwrap(), b"hello");
        assert!(b.buf.capacity() < 1 << 20);
    }

    #[test]
    fn resize_keeps_the_newest_history() {
        let mut b = Backlog::new(8, 0);
        b.feed(b"abcdefghij");
        b.resize(4);
        assert_eq!(b.first_byte_offset(), 7);
        assert_eq!(joined(&b, 7).unwrap(), b"ghij");
        b.resize(16);
        assert_eq!(joined(&b, 7).unwrap(), b"ghij");
        b.feed(b"kl");
        assert_eq!(joined(&b, 9).unwrap(), b"ijkl");
    }

    proptest::proptest! {
        /// Against a model that keeps the whole stream: whatever the feeds, every covered
        /// offset yields exactly the stream's tail from there.
        #[test]
        fn matches_a_model_of_the_whole_stream(
            size in 1usize..64,
            feeds in proptest::collection::vec(proptest::collection::vec(0u8..255, 0..100), 0..20),
        ) {
            let mut b = Backlog::new(size, 0);
            let mut stream = Vec::new();
            for f in &feeds {
                b.feed(f);
                stream.extend_from_slice(f);
            }
            let kept = stream.len().min(size);
            proptest::prop_assert_eq!(b.histlen(), kept);
            proptest::prop_assert_eq!(b.first_byte_offset(), (stream.len() - kept) as i64 + 1);
            for from in b.first_byte_offset()..=stream.len() as i64 + 1 {
                let want = &stream[(from - 1) as usize..];
                proptest::prop_assert_eq!(joined(&b, from).unwrap(), want.to_vec());
            }
        }
    }
}

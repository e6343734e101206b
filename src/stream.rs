//! The stream data structure: Redis's stream.h and the low-level half of t_stream.c (the
//! commands live in t_stream.rs).
//!
//! A stream is an ordered map from a node's master ID to a listpack holding up to
//! stream-node-max-entries entries (Redis keeps the same nodes in a rax). The listpacks use
//! Redis's exact byte layout, so node boundaries (which decide what approximate trimming
//! removes), MEMORY USAGE, DEBUG OBJECT and a future RDB writer all see what Redis sees.
//! Deleting an entry only flags it in its node; a node goes away when its last live entry
//! does. Consumer groups keep their pending entries (PEL) in ordered maps, as Redis's raxes.
//!
//! Everything here runs inside one command on the single-threaded event loop: a command
//! borrows the stream, reads or changes it, and replies; nothing is kept across calls except
//! the stream itself.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound::{Excluded, Unbounded};

use crate::debug::Digest;

/// Redis: STREAM_ITEM_FLAG_DELETED: the entry is a tombstone.
pub const STREAM_ITEM_FLAG_DELETED: i64 = 1 << 0;
/// Redis: STREAM_ITEM_FLAG_SAMEFIELDS: the entry has the master entry's field names.
pub const STREAM_ITEM_FLAG_SAMEFIELDS: i64 = 1 << 1;
/// Redis: STREAM_LISTPACK_MAX_PRE_ALLOCATE: bytes reserved for a new node.
const STREAM_LISTPACK_MAX_PRE_ALLOCATE: usize = 4096;
/// Redis: STREAM_LISTPACK_MAX_SIZE: a node never grows past this, whatever the config says.
pub const STREAM_LISTPACK_MAX_SIZE: usize = 1 << 30;
/// Redis: SCG_INVALID_ENTRIES_READ: a group's read counter is unknown.
pub const SCG_INVALID_ENTRIES_READ: i64 = -1;

// ----------------------------------------------------------------------------------------
// Stream IDs
// ----------------------------------------------------------------------------------------

/// Redis: streamID. The derived order (ms, then seq) is Redis's streamCompareID().
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// Redis: streamIncrID(): the next ID, None past the last possible one.
    pub fn incr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// Redis: streamDecrID(): the previous ID, None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// Redis: streamIDEqZero().
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// Redis: streamEncodeID(): 128-bit big endian, so IDs sort as byte strings.
    pub fn encode(self) -> [u8; 16] {
        let mut buf = [0u8; 16];
        buf[..8].copy_from_slice(&self.ms.to_be_bytes());
        buf[8..].copy_from_slice(&self.seq.to_be_bytes());
        buf
    }

    /// Redis: createStreamIDString(): "<ms>-<seq>".
    pub fn to_bytes(self) -> Vec<u8> {
        let (buf, len) = self.text();
        buf[..len].to_vec()
    }

    /// "<ms>-<seq>" in a stack buffer (at most 20 + 1 + 20 bytes) and its length: the reply
    /// of every XADD, without an allocation.
    pub fn text(self) -> ([u8; 41], usize) {
        let mut buf = [0u8; 41];
        let (ms, seq) = (crate::util::ull2string(self.ms), crate::util::ull2string(self.seq));
        let (ms, seq) = (ms.as_bytes(), seq.as_bytes());
        buf[..ms.len()].copy_from_slice(ms);
        buf[ms.len()] = b'-';
        buf[ms.len() + 1..ms.len() + 1 + seq.len()].copy_from_slice(seq);
        (buf, ms.len() + 1 + seq.len())
    }
}

// ----------------------------------------------------------------------------------------
// Listpack: the subset of Redis's listpack.c a stream node needs
// ----------------------------------------------------------------------------------------

/// Redis's listpack byte format: a 6-byte header (total bytes, element count), elements each
/// made of encoding+data and a backwards length, and a 0xFF terminator. Positions are byte
/// offsets; every read is bounds-checked, so a malformed buffer ends iteration instead of
/// panicking.
pub mod lp {
    use crate::util;

    const HDR_SIZE: usize = 6;
    const EOF: u8 = 0xFF;
    const NUMELE_UNKNOWN: u16 = u16::MAX;

    /// One element: listpacks store integer-looking strings as integers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LpVal<'a> {
        Int(i64),
        Str(&'a [u8]),
    }

    impl LpVal<'_> {
        /// Redis: lpGetInteger(): stream metadata is always stored as integers.
        pub fn as_int(self) -> i64 {
            match self {
                LpVal::Int(v) => v,
                LpVal::Str(s) => util::string2ll(s).unwrap_or(0),
            }
        }

        /// The element's text, integers rendered into `scratch`.
        pub fn bytes<'b>(&'b self, scratch: &'b mut Vec<u8>) -> &'b [u8] {
            match self {
                LpVal::Int(v) => {
                    scratch.clear();
                    util::write_ll(scratch, *v);
                    scratch
                }
                LpVal::Str(s) => s,
            }
        }

        /// Whether the element's text equals `other` (Redis: lpGet + memcmp).
        pub fn eq_bytes(&self, other: &[u8]) -> bool {
            let mut scratch = Vec::new();
            self.bytes(&mut scratch) == other
        }
    }

    /// Redis: lpNew().
    pub fn new() -> Vec<u8> {
        let mut lp = vec![0u8; HDR_SIZE];
        lp.push(EOF);
        set_total_bytes(&mut lp);
        lp
    }

    fn set_total_bytes(lp: &mut [u8]) {
        let total = u32::try_from(lp.len()).unwrap_or(u32::MAX).to_le_bytes();
        if let Some(hdr) = lp.get_mut(0..4) {
            hdr.copy_from_slice(&total);
        }
    }

    fn byte(lp: &[u8], p: usize) -> Option<usize> {
        lp.get(p).map(|&b| usize::from(b))
    }

    /// Redis: lpCurrentEncodedSizeUnsafe(): encoding and data bytes of the element at `p`.
    fn encoded_len(lp: &[u8], p: usize) -> Option<usize> {
        let b = *lp.get(p)?;
        Some(match b {
            0x00..=0x7F => 1,
            0x80..=0xBF => 1 + usize::from(b & 0x3F),
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 2 + ((usize::from(b & 0x0F) << 8) | byte(lp, p + 1)?),
            0xF0 => 5 + u32::from_le_bytes(lp.get(p + 1..p + 5)?.try_into().ok()?) as usize,
            0xF1 => 3,
            0xF2 => 4,
            0xF3 => 5,
            0xF4 => 9,
            _ => return None,
        })
    }

    /// Redis: lpEncodeBacklen() without writing: bytes needed to store `len` backwards.
    fn backlen_size(len: usize) -> usize {
        match len {
            0..=127 => 1,
            128..=16382 => 2,
            16383..=2097150 => 3,
            2097151..=268435454 => 4,
            _ => 5,
        }
    }

    /// Whole size of the element at `p`, backlen included.
    fn element_size(lp: &[u8], p: usize) -> Option<usize> {
        let len = encoded_len(lp, p)?;
        Some(len + backlen_size(len))
    }

    /// Redis: lpFirst().
    pub fn first(lp: &[u8]) -> Option<usize> {
        (*lp.get(HDR_SIZE)? != EOF).then_some(HDR_SIZE)
    }

    /// Redis: lpNext().
    pub fn next(lp: &[u8], p: usize) -> Option<usize> {
        let q = p.checked_add(element_size(lp, p)?)?;
        (*lp.get(q)? != EOF).then_some(q)
    }

    /// Redis: lpPrev(): decodes the backlen that ends just before `p`.
    pub fn prev(lp: &[u8], p: usize) -> Option<usize> {
        if p <= HDR_SIZE {
            return None;
        }
        let mut len = 0usize;
        let mut q = p - 1;
        for shift in (0..35).step_by(7) {
            let b = *lp.get(q)?;
            len |= usize::from(b & 127) << shift;
            if b & 128 == 0 {
                break;
            }
            q = q.checked_sub(1)?;
        }
        let start = p.checked_sub(len + backlen_size(len))?;
        (start >= HDR_SIZE).then_some(start)
    }

    /// Redis: lpLast().
    pub fn last(lp: &[u8]) -> Option<usize> {
        prev(lp, lp.len().checked_sub(1)?)
    }

    /// Redis: lpGet(): the element at `p`.
    pub fn get(lp: &[u8], p: usize) -> LpVal<'_> {
        decode(lp, p).unwrap_or(LpVal::Int(0))
    }

    fn uint_le(lp: &[u8], from: usize, n: usize) -> Option<u64> {
        let bytes = lp.get(from..from + n)?;
        Some(bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Sign-extends the low `bits` bits of `v`.
    fn signed(v: u64, bits: u32) -> i64 {
        let shift = 64 - bits;
        ((v << shift) as i64) >> shift
    }

    fn decode(lp: &[u8], p: usize) -> Option<LpVal<'_>> {
        let b = *lp.get(p)?;
        let str_at = |from: usize, len: usize| lp.get(from..from + len).map(LpVal::Str);
        match b {
            0x00..=0x7F => Some(LpVal::Int(i64::from(b))),
            0x80..=0xBF => str_at(p + 1, usize::from(b & 0x3F)),
            0xC0..=0xDF => Some(LpVal::Int(signed((u64::from(b & 0x1F) << 8) | uint_le(lp, p + 1, 1)?, 13))),
            0xE0..=0xEF => str_at(p + 2, (usize::from(b & 0x0F) << 8) | byte(lp, p + 1)?),
            0xF0 => str_at(p + 5, uint_le(lp, p + 1, 4)? as usize),
            0xF1 => Some(LpVal::Int(signed(uint_le(lp, p + 1, 2)?, 16))),
            0xF2 => Some(LpVal::Int(signed(uint_le(lp, p + 1, 3)?, 24))),
            0xF3 => Some(LpVal::Int(signed(uint_le(lp, p + 1, 4)?, 32))),
            0xF4 => Some(LpVal::Int(uint_le(lp, p + 1, 8)? as i64)),
            _ => None,
        }
    }

    /// Redis: lpEncodeIntegerGetType() + the integer branch of lpEncodeString(): the
    /// encoding of `v` in `buf`; its length (1 to 9 bytes).
    fn int_encoding(buf: &mut [u8; 9], v: i64) -> usize {
        let le = v.to_le_bytes();
        let (head, data): (u8, &[u8]) = match v {
            0..=127 => {
                buf[0] = v as u8;
                return 1;
            }
            -4096..=4095 => {
                let u = (v as u64) & 0x1FFF;
                buf[0] = 0xC0 | (u >> 8) as u8;
                buf[1] = u as u8;
                return 2;
            }
            -32768..=32767 => (0xF1, &le[..2]),
            -8388608..=8388607 => (0xF2, &le[..3]),
            -2147483648..=2147483647 => (0xF3, &le[..4]),
            _ => (0xF4, &le[..]),
        };
        buf[0] = head;
        buf[1..=data.len()].copy_from_slice(data);
        1 + data.len()
    }

    fn encode_int(out: &mut Vec<u8>, v: i64) {
        let mut buf = [0u8; 9];
        let n = int_encoding(&mut buf, v);
        out.extend_from_slice(&buf[..n]);
    }

    /// Redis: lpEncodeString() for strings that are not integers.
    fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
        let len = s.len();
        if len < 64 {
            out.push(0x80 | len as u8);
        } else if len < 4096 {
            out.extend_from_slice(&[0xE0 | (len >> 8) as u8, len as u8]);
        } else {
            out.push(0xF0);
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_le_bytes());
        }
        out.extend_from_slice(s);
    }

    /// Redis: lpEncodeBacklen().
    fn encode_backlen(out: &mut Vec<u8>, len: usize) {
        let n = backlen_size(len);
        for i in (0..n).rev() {
            let chunk = ((len >> (7 * i)) & 127) as u8;
            // Every byte but the first (read last when walking backwards) has the high bit.
            out.push(if i == n - 1 { chunk } else { chunk | 128 });
        }
    }

    /// Appends one element's bytes to `out`: encoding, data, backlen.
    fn encode_element_into(out: &mut Vec<u8>, val: LpVal<'_>) {
        let start = out.len();
        match val {
            LpVal::Int(v) => encode_int(out, v),
            LpVal::Str(s) => match util::string2ll(s) {
                Some(v) => encode_int(out, v),
                None => encode_str(out, s),
            },
        }
        let len = out.len() - start;
        encode_backlen(out, len);
    }

    fn bump_numele(lp: &mut [u8]) {
        let Some(hdr) = lp.get_mut(4..6) else { return };
        let n = u16::from_le_bytes([hdr[0], hdr[1]]);
        if n != NUMELE_UNKNOWN {
            hdr.copy_from_slice(&(n + 1).to_le_bytes());
        }
    }

    /// Redis: lpAppend() (strings that look like integers are stored as integers). The
    /// element is encoded in place of the terminator, which then follows it again.
    pub fn append(lp: &mut Vec<u8>, val: LpVal<'_>) {
        if lp.last() == Some(&EOF) {
            lp.pop();
        }
        encode_element_into(lp, val);
        lp.push(EOF);
        bump_numele(lp);
        set_total_bytes(lp);
    }

    /// Redis: lpReplaceInteger(): the element at `p` becomes `v`; later positions shift by
    /// the size difference (none when the encoding keeps its size: a counter's usual case).
    pub fn replace_int(lp: &mut Vec<u8>, p: usize, v: i64) {
        let Some(old) = element_size(lp, p) else { return };
        let mut element = [0u8; 10];
        let new = encode_int_element(&mut element, v);
        let (Some(replacement), Some(target)) = (element.get(..new), lp.get_mut(p..p + old)) else { return };
        if new == old {
            target.copy_from_slice(replacement);
        } else {
            lp.splice(p..p + old, replacement.iter().copied());
            set_total_bytes(lp);
        }
    }

    /// An integer element in `buf`: its encoding (at most 9 bytes) and a one-byte backlen;
    /// the element's length.
    fn encode_int_element(buf: &mut [u8; 10], v: i64) -> usize {
        let mut encoding = [0u8; 9];
        let n = int_encoding(&mut encoding, v);
        buf[..n].copy_from_slice(&encoding[..n]);
        buf[n] = n as u8;
        n + 1
    }
}

use lp::LpVal;

// ----------------------------------------------------------------------------------------
// Nodes and the stream
// ----------------------------------------------------------------------------------------

/// The node limits from the config (stream-node-max-bytes / -entries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: i64,
}

/// One rax node: a listpack and the allocation Redis would hold for it (MEMORY USAGE
/// counts allocations; new nodes are preallocated and shrunk when the next node starts).
#[derive(Debug, PartialEq)]
struct Node {
    lp: Vec<u8>,
    alloc: usize,
}

impl Clone for Node {
    /// Redis: streamDup() copies each listpack into an allocation of its exact size.
    fn clone(&self) -> Node {
        Node { lp: self.lp.clone(), alloc: crate::object::je_malloc_size(self.lp.len()) }
    }
}

/// The master entry at the head of a node's listpack.
#[derive(Debug, Clone, Copy)]
struct Master {
    count: i64,
    deleted: i64,
    numfields: u64,
    /// Position of the first master field name.
    fields: Option<usize>,
    /// Position of the master entry's terminating 0 (the "lp-count" before the first entry).
    terminator: Option<usize>,
}

impl Node {
    fn new(prealloc: usize) -> Node {
        Node { lp: lp::new(), alloc: crate::object::je_malloc_size(prealloc.max(7)) }
    }

    /// Redis: the realloc calls inside lpInsert(): grow to the exact size when the
    /// allocation is too small, shrink to it whenever the listpack got smaller.
    fn track_alloc(&mut self, old_bytes: usize) {
        let bytes = self.lp.len();
        if (bytes > old_bytes && bytes > self.alloc) || bytes < old_bytes {
            self.alloc = crate::object::je_malloc_size(bytes);
        }
    }

    fn append(&mut self, val: LpVal<'_>) {
        let old = self.lp.len();
        lp::append(&mut self.lp, val);
        self.track_alloc(old);
    }

    fn replace_int(&mut self, p: usize, v: i64) {
        let old = self.lp.len();
        lp::replace_int(&mut self.lp, p, v);
        self.track_alloc(old);
    }

    /// Redis: lpShrinkToFit().
    fn shrink_to_fit(&mut self) {
        if self.alloc > self.lp.len() {
            self.alloc = crate::object::je_malloc_size(self.lp.len());
        }
        self.lp.shrink_to_fit();
    }

    fn master(&self) -> Option<Master> {
        let lp = &self.lp;
        let count_pos = lp::first(lp)?;
        let deleted_pos = lp::next(lp, count_pos)?;
        let numfields_pos = lp::next(lp, deleted_pos)?;
        let numfields = u64::try_from(lp::get(lp, numfields_pos).as_int()).ok()?;
        let fields = lp::next(lp, numfields_pos);
        let mut terminator = fields;
        // A node loaded without deep sanitization may claim any count: stop at the end.
        for _ in 0..numfields {
            let Some(p) = terminator else { break };
            terminator = lp::next(lp, p);
        }
        let count = lp::get(lp, count_pos).as_int();
        let deleted = lp::get(lp, deleted_pos).as_int();
        Some(Master { count, deleted, numfields, fields, terminator })
    }

    /// Rewrites the live counter of the master entry (Redis: streamAppendItem()).
    fn set_count(&mut self, count: i64) {
        if let Some(count_pos) = lp::first(&self.lp) {
            self.replace_int(count_pos, count);
        }
    }

    /// Rewrites the live/deleted counters of the master entry.
    fn set_counters(&mut self, count: i64, deleted: i64) {
        let Some(count_pos) = lp::first(&self.lp) else { return };
        self.replace_int(count_pos, count);
        if let Some(deleted_pos) = lp::next(&self.lp, count_pos) {
            self.replace_int(deleted_pos, deleted);
        }
    }
}

/// Redis: streamCG: a consumer group.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerGroup {
    /// Last ID delivered to a consumer of the group.
    pub last_id: StreamId,
    /// Logical read counter of `last_id`, or SCG_INVALID_ENTRIES_READ.
    pub entries_read: i64,
    /// Pending (delivered, not acknowledged) entries of the whole group.
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

/// Redis: streamNACK: a pending entry. Redis points at the consumer; the name serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Nack {
    /// Unix time in ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Box<[u8]>,
}

/// Redis: streamConsumer. Its PEL holds IDs whose NACKs live in the group's PEL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer {
    /// Unix time in ms the consumer last did something (XINFO idle).
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

/// Redis: struct stream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    /// Nodes by master ID (Redis: s->rax).
    nodes: BTreeMap<StreamId, Node>,
    /// Live entries.
    pub length: u64,
    pub last_id: StreamId,
    /// First live entry's ID, 0-0 when empty.
    pub first_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added (Redis: entries_added).
    pub entries_added: u64,
    /// Created on first use, as Redis does (None and empty differ in MEMORY USAGE only).
    pub cgroups: Option<BTreeMap<Box<[u8]>, ConsumerGroup>>,
}

/// Why XADD could not append (Redis: streamAppendItem()'s errno).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendError {
    /// EDOM: the ID is not greater than the last one.
    IdTooSmall,
    /// ERANGE: the fields and values would not fit a listpack.
    TooLarge,
}

/// Redis: TRIM_STRATEGY_*.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrimStrategy {
    None,
    MaxLen(u64),
    MinId(StreamId),
}

/// The trimming part of Redis's streamAddTrimArgs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrimArgs {
    pub strategy: TrimStrategy,
    /// Only whole nodes are removed (`~`).
    pub approx: bool,
    /// Most entries to remove; 0 means no limit.
    pub limit: i64,
}

impl Stream {
    /// Redis: streamNew().
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Number of nodes (Redis: raxSize(s->rax), XINFO radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Redis: s->rax->numnodes, XINFO radix-tree-nodes.
    pub fn rax_node_count(&self) -> usize {
        rax_numnodes(self.nodes.keys().copied())
    }

    /// Redis: streamNextID() + the use_id rules of streamAppendItem().
    fn next_append_id(&self, use_id: Option<StreamId>, seq_given: bool, now_ms: u64) -> Result<StreamId, AppendError> {
        let last = self.last_id;
        match use_id {
            Some(id) if seq_given => Ok(id),
            Some(id) if id.ms == last.ms => last.incr().filter(|_| last.seq != u64::MAX).ok_or(AppendError::IdTooSmall),
            Some(id) => Ok(id),
            None if now_ms > last.ms => Ok(StreamId::new(now_ms, 0)),
            None => Ok(last.incr().unwrap_or(StreamId::MIN)),
        }
    }

    /// Redis: streamAppendItem(). `pairs` alternates field and value (at least one pair).
    pub fn append_item(
        &mut self,
        pairs: &[&[u8]],
        use_id: Option<StreamId>,
        seq_given: bool,
        now_ms: u64,
        limits: NodeLimits,
    ) -> Result<StreamId, AppendError> {
        let id = self.next_append_id(use_id, seq_given, now_ms)?;
        if id <= self.last_id {
            return Err(AppendError::IdTooSmall);
        }
        let totelelen = pairs.iter().fold(0usize, |acc, e| acc.saturating_add(e.len()));
        if totelelen > STREAM_LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let (master_id, samefields) = self.tail_node_for(id, pairs, totelelen, limits);
        if let Some(node) = self.nodes.get_mut(&master_id) {
            write_entry(node, id, master_id, pairs, samefields);
        }
        // C's uint64_t increments: the counters come from the RDB payload unchecked, as in
        // Redis, and may already be at the top.
        self.length = self.length.wrapping_add(1);
        self.entries_added = self.entries_added.wrapping_add(1);
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Picks the node the new entry goes to: the tail node if it has room (its live count
    /// bumped), else a fresh node keyed by `id`. Returns its key and whether the entry's
    /// fields equal the master fields.
    fn tail_node_for(&mut self, id: StreamId, pairs: &[&[u8]], totelelen: usize, limits: NodeLimits) -> (StreamId, bool) {
        if let Some((&key, node)) = self.nodes.iter_mut().next_back() {
            let master = node.master();
            if !node_is_full(node, master.as_ref(), totelelen, limits) {
                let Some(master) = master else { return (key, false) };
                let same = same_fields(&node.lp, &master, pairs);
                node.set_count(master.count.saturating_add(1));
                return (key, same);
            }
            node.shrink_to_fit();
        }
        let prealloc = match limits.max_bytes {
            n if n > 0 && n < STREAM_LISTPACK_MAX_PRE_ALLOCATE => n,
            _ => STREAM_LISTPACK_MAX_PRE_ALLOCATE,
        };
        let mut node = Node::new(prealloc);
        node.append(LpVal::Int(1));
        node.append(LpVal::Int(0));
        node.append(LpVal::Int((pairs.len() / 2) as i64));
        for field in pairs.iter().step_by(2) {
            node.append(LpVal::Str(field));
        }
        node.append(LpVal::Int(0));
        self.nodes.insert(id, node);
        (id, true)
    }
}

/// The node-full test of streamAppendItem(): bytes (with the new data) or entries (live and
/// deleted) at the configured limits.
fn node_is_full(node: &Node, master: Option<&Master>, totelelen: usize, limits: NodeLimits) -> bool {
    let max_bytes = match limits.max_bytes {
        0 => STREAM_LISTPACK_MAX_SIZE,
        n => n.min(STREAM_LISTPACK_MAX_SIZE),
    };
    if node.lp.len().saturating_add(totelelen) >= max_bytes {
        return true;
    }
    if limits.max_entries == 0 {
        return false;
    }
    master.is_none_or(|m| m.count.saturating_add(m.deleted) >= limits.max_entries)
}

/// Whether the entry's field names are the master entry's, in order.
fn same_fields(lp: &[u8], master: &Master, pairs: &[&[u8]]) -> bool {
    if master.numfields != (pairs.len() / 2) as u64 {
        return false;
    }
    let mut p = master.fields;
    for field in pairs.iter().step_by(2) {
        match p {
            Some(pos) if lp::get(lp, pos).eq_bytes(field) => p = lp::next(lp, pos),
            _ => return false,
        }
    }
    true
}

/// Appends one entry: flags, ID deltas, [numfields, fields,] values, lp-count.
fn write_entry(node: &mut Node, id: StreamId, master: StreamId, pairs: &[&[u8]], samefields: bool) {
    let numfields = (pairs.len() / 2) as i64;
    let flags = if samefields { STREAM_ITEM_FLAG_SAMEFIELDS } else { 0 };
    node.append(LpVal::Int(flags));
    // The deltas are unsigned differences stored as int64, as Redis does.
    node.append(LpVal::Int(id.ms.wrapping_sub(master.ms) as i64));
    node.append(LpVal::Int(id.seq.wrapping_sub(master.seq) as i64));
    if !samefields {
        node.append(LpVal::Int(numfields));
    }
    for pair in pairs.chunks(2) {
        if !samefields {
            node.append(LpVal::Str(pair[0]));
        }
        node.append(LpVal::Str(pair.get(1).copied().unwrap_or_default()));
    }
    let lp_count = if samefields { numfields + 3 } else { numfields * 2 + 4 };
    node.append(LpVal::Int(lp_count));
}

// ----------------------------------------------------------------------------------------
// Iteration
// ----------------------------------------------------------------------------------------

/// One entry met by a [`StreamIter`]. Its fields are read lazily from the node.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub flags: i64,
    pub numfields: u64,
    lp: &'a [u8],
    node_key: StreamId,
    flags_pos: usize,
    master_fields: Option<usize>,
    fields: Option<usize>,
    /// Position of the entry's lp-count element.
    lp_count_pos: Option<usize>,
}

impl<'a> Entry<'a> {
    fn samefields(&self) -> bool {
        self.flags & STREAM_ITEM_FLAG_SAMEFIELDS != 0
    }

    /// Redis: streamIteratorGetField() for every field: (field, value) pairs.
    pub fn fields(&self) -> Fields<'a> {
        Fields { entry: *self, master: self.master_fields, cur: self.fields, left: self.numfields }
    }
}

/// The field/value pairs of one entry.
pub struct Fields<'a> {
    entry: Entry<'a>,
    master: Option<usize>,
    cur: Option<usize>,
    left: u64,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (LpVal<'a>, LpVal<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let lp = self.entry.lp;
        let field_pos = if self.entry.samefields() {
            let p = self.master?;
            self.master = lp::next(lp, p);
            p
        } else {
            let p = self.cur?;
            self.cur = lp::next(lp, p);
            p
        };
        let value_pos = self.cur?;
        self.cur = lp::next(lp, value_pos);
        Some((lp::get(lp, field_pos), lp::get(lp, value_pos)))
    }
}

/// Decodes the entry whose flags element is at `flags_pos`.
fn decode_entry<'a>(lp: &'a [u8], key: StreamId, master: &Master, flags_pos: usize) -> Option<Entry<'a>> {
    let flags = lp::get(lp, flags_pos).as_int();
    let ms_pos = lp::next(lp, flags_pos)?;
    let seq_pos = lp::next(lp, ms_pos)?;
    let id = StreamId::new(
        key.ms.wrapping_add(lp::get(lp, ms_pos).as_int() as u64),
        key.seq.wrapping_add(lp::get(lp, seq_pos).as_int() as u64),
    );
    let mut p = lp::next(lp, seq_pos);
    let samefields = flags & STREAM_ITEM_FLAG_SAMEFIELDS != 0;
    let numfields = if samefields {
        master.numfields
    } else {
        let n = u64::try_from(lp::get(lp, p?).as_int()).ok()?;
        p = lp::next(lp, p?);
        n
    };
    let fields = p;
    let skip = if samefields { numfields } else { numfields.checked_mul(2)? };
    for _ in 0..skip {
        p = lp::next(lp, p?);
    }
    Some(Entry { id, flags, numfields, lp, node_key: key, flags_pos, master_fields: master.fields, fields, lp_count_pos: p })
}

/// The node an iterator walks, with its cursor.
struct NodeCursor<'a> {
    key: StreamId,
    lp: &'a [u8],
    master: Master,
    /// Forward: the next entry's flags. Backward: the lp-count of the next entry to visit.
    pos: Option<usize>,
}

/// Redis: streamIterator: entries between `start` and `end` (inclusive), forwards or
/// backwards, tombstones skipped unless asked for.
pub struct StreamIter<'a> {
    nodes: &'a BTreeMap<StreamId, Node>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    skip_tombstones: bool,
    cur: Option<NodeCursor<'a>>,
    started: bool,
    done: bool,
}

impl<'a> StreamIter<'a> {
    /// Redis: the raxSeek() of streamIteratorStart() and the raxNext()/raxPrev() after it.
    fn next_node(&mut self) -> Option<(&'a StreamId, &'a Node)> {
        let nodes = self.nodes;
        let prev_key = self.cur.as_ref().map(|c| c.key);
        match (prev_key, self.rev) {
            (Some(k), false) => nodes.range((Excluded(k), Unbounded)).next(),
            (Some(k), true) => nodes.range(..k).next_back(),
            (None, _) if self.started => None,
            (None, false) if !self.start.is_zero() => nodes.range(..=self.start).next_back().or_else(|| nodes.iter().next()),
            (None, false) => nodes.iter().next(),
            (None, true) if !self.end.is_zero() => nodes.range(..=self.end).next_back().or_else(|| nodes.iter().next_back()),
            (None, true) => nodes.iter().next_back(),
        }
    }

    fn enter_node(&mut self) -> bool {
        let found = self.next_node();
        self.started = true;
        let Some((&key, node)) = found else {
            self.done = true;
            return false;
        };
        let Some(master) = node.master() else {
            self.done = true;
            return false;
        };
        let lp = &node.lp[..];
        let pos = if self.rev { lp::last(lp) } else { master.terminator.and_then(|t| lp::next(lp, t)) };
        self.cur = Some(NodeCursor { key, lp, master, pos });
        true
    }

    /// The next entry of the current node in the iteration's direction, if any.
    fn step(&mut self) -> Option<Entry<'a>> {
        let cur = self.cur.as_mut()?;
        let lp = cur.lp;
        let pos = cur.pos?;
        if self.rev {
            let lp_count = lp::get(lp, pos).as_int();
            let mut flags_pos = Some(pos);
            for _ in 0..lp_count.max(0) {
                let Some(p) = flags_pos else { break };
                flags_pos = lp::prev(lp, p);
            }
            // An lp-count of 0 is the master entry's terminator: the node is done.
            let flags_pos = flags_pos.filter(|_| lp_count > 0)?;
            let entry = decode_entry(lp, cur.key, &cur.master, flags_pos)?;
            cur.pos = lp::prev(lp, flags_pos);
            Some(entry)
        } else {
            let entry = decode_entry(lp, cur.key, &cur.master, pos)?;
            cur.pos = entry.lp_count_pos.and_then(|p| lp::next(lp, p));
            Some(entry)
        }
    }

    /// Whether `e` is emitted; Some(false) ends the iteration (past the range).
    fn judge(&self, e: &Entry<'_>) -> Option<bool> {
        let visible = !self.skip_tombstones || e.flags & STREAM_ITEM_FLAG_DELETED == 0;
        if self.rev {
            if e.id <= self.end && visible {
                return if e.id < self.start { Some(false) } else { Some(true) };
            }
        } else if e.id >= self.start && visible {
            return if e.id > self.end { Some(false) } else { Some(true) };
        }
        None
    }
}

impl<'a> Iterator for StreamIter<'a> {
    type Item = Entry<'a>;

    /// Redis: streamIteratorGetID().
    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            let Some(entry) = self.step() else {
                if !self.enter_node() {
                    return None;
                }
                continue;
            };
            match self.judge(&entry) {
                Some(true) => return Some(entry),
                Some(false) => self.done = true,
                None => {}
            }
        }
        None
    }
}

impl Stream {
    /// Redis: streamIteratorStart(): entries from `start` to `end` (None: unbounded).
    pub fn iter(&self, start: Option<StreamId>, end: Option<StreamId>, rev: bool) -> StreamIter<'_> {
        StreamIter {
            nodes: &self.nodes,
            start: start.unwrap_or(StreamId::MIN),
            end: end.unwrap_or(StreamId::MAX),
            rev,
            skip_tombstones: true,
            cur: None,
            started: false,
            done: false,
        }
    }

    /// Like [`Stream::iter`] but tombstones are met too (Redis: skip_tombstones = 0).
    pub fn iter_with_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>, rev: bool) -> StreamIter<'_> {
        let mut it = self.iter(start, end, rev);
        it.skip_tombstones = false;
        it
    }

    /// Redis: streamEntryExists().
    pub fn entry_exists(&self, id: StreamId) -> bool {
        self.iter(Some(id), Some(id), false).next().is_some()
    }

    /// Redis: streamGetEdgeID(): the first or last entry's ID; with no entry, MAX for the
    /// first and 0-0 for the last.
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut it = self.iter(None, None, !first);
        it.skip_tombstones = skip_tombstones;
        match it.next() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::MIN,
        }
    }

    /// Redis: streamLastValidID(): the last live entry's ID (0-0 when empty).
    pub fn last_valid_id(&self) -> StreamId {
        self.iter(None, None, true).next().map_or(StreamId::MIN, |e| e.id)
    }
}

// ----------------------------------------------------------------------------------------
// Deletion and trimming
// ----------------------------------------------------------------------------------------

impl Stream {
    /// Redis: streamDeleteItem() / streamIteratorRemoveEntry(): flags the entry deleted and
    /// drops its node when it was the node's last live entry.
    pub fn delete_item(&mut self, id: StreamId) -> bool {
        let found = self.iter(Some(id), Some(id), false).next().map(|e| (e.node_key, e.flags_pos, e.flags));
        let Some((key, flags_pos, flags)) = found else { return false };
        let Some(node) = self.nodes.get_mut(&key) else { return false };
        node.replace_int(flags_pos, flags | STREAM_ITEM_FLAG_DELETED);
        let Some(master) = node.master() else { return false };
        if master.count == 1 {
            self.nodes.remove(&key);
        } else {
            node.set_counters(master.count.saturating_sub(1), master.deleted.saturating_add(1));
        }
        // Saturating: a payload loaded without deep sanitization may hold more entries
        // than its length says (Redis checks neither).
        self.length = self.length.saturating_sub(1);
        true
    }

    /// The deletion loop of xdelCommand(): deletes what exists of `ids`, keeping first_id
    /// and max_deleted_entry_id up to date. Returns how many were deleted.
    pub fn delete_items(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_entry = false;
        for &id in ids {
            if self.delete_item(id) {
                first_entry |= id == self.first_id;
                if id > self.max_deleted_entry_id {
                    self.max_deleted_entry_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_entry {
                self.first_id = self.edge_id(true, true);
            }
        }
        deleted
    }

    /// Redis: streamTrim(): removes entries from the head per `args`; returns how many.
    pub fn trim(&mut self, args: &TrimArgs) -> i64 {
        if args.strategy == TrimStrategy::None {
            return 0;
        }
        let mut deleted: i64 = 0;
        while let Some((&key, node)) = self.nodes.iter().next() {
            if matches!(args.strategy, TrimStrategy::MaxLen(maxlen) if self.length <= maxlen) {
                break;
            }
            let Some(master) = node.master() else { break };
            let entries = master.count.max(0);
            if args.limit != 0 && deleted.saturating_add(entries) > args.limit {
                break;
            }
            if self.can_remove_node(key, node, entries, args.strategy) {
                self.nodes.remove(&key);
                self.length = self.length.saturating_sub(entries as u64);
                deleted = deleted.saturating_add(entries);
                continue;
            }
            if !args.approx {
                deleted += self.trim_inside_node(key, args.strategy);
            }
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Whether trimming may drop the whole node: MAXLEN keeps enough entries without it,
    /// MINID finds its last entry (tombstone or not) below the minimum.
    fn can_remove_node(&self, key: StreamId, node: &Node, entries: i64, strategy: TrimStrategy) -> bool {
        match strategy {
            TrimStrategy::MaxLen(maxlen) => self.length.saturating_sub(entries as u64) >= maxlen,
            TrimStrategy::MinId(minid) => node_last_id(node, key).unwrap_or(StreamId::MIN) < minid,
            TrimStrategy::None => false,
        }
    }

    /// The exact-trim walk of streamTrim() inside the first node: flags entries deleted
    /// until the strategy is satisfied, then fixes the node counters.
    fn trim_inside_node(&mut self, key: StreamId, strategy: TrimStrategy) -> i64 {
        let mut length = self.length;
        let Some(node) = self.nodes.get_mut(&key) else { return 0 };
        let Some(master) = node.master() else { return 0 };
        let mut pos = master.terminator.and_then(|t| lp::next(&node.lp, t));
        let mut deleted_here: i64 = 0;
        while let Some(p) = pos {
            let Some(e) = decode_entry(&node.lp, key, &master, p) else { break };
            let stop = match strategy {
                TrimStrategy::MaxLen(maxlen) => length <= maxlen,
                TrimStrategy::MinId(minid) => e.id >= minid,
                TrimStrategy::None => true,
            };
            if stop {
                break;
            }
            let next_offset = e.lp_count_pos.and_then(|q| lp::next(&node.lp, q)).map(|q| q - p);
            if e.flags & STREAM_ITEM_FLAG_DELETED == 0 {
                node.replace_int(p, e.flags | STREAM_ITEM_FLAG_DELETED);
                deleted_here += 1;
                length = length.saturating_sub(1);
            }
            // The flags rewrite keeps its size (0..3 all take one byte), so offsets hold.
            pos = next_offset.map(|off| p + off);
        }
        node.set_counters(master.count.saturating_sub(deleted_here), master.deleted.saturating_add(deleted_here));
        self.length = length;
        deleted_here
    }
}

/// Redis: lpGetEdgeStreamID(lp, 0, ...): the node's last entry ID, tombstones included.
fn node_last_id(node: &Node, key: StreamId) -> Option<StreamId> {
    let lp = &node.lp[..];
    let master = node.master()?;
    let mut p = lp::last(lp)?;
    let lp_count = lp::get(lp, p).as_int();
    if lp_count <= 0 {
        return None;
    }
    for _ in 0..lp_count {
        p = lp::prev(lp, p)?;
    }
    decode_entry(lp, key, &master, p).map(|e| e.id)
}

// ----------------------------------------------------------------------------------------
// Consumer group bookkeeping (Redis 7.0's logical read counters)
// ----------------------------------------------------------------------------------------

impl Stream {
    /// Redis: streamRangeHasTombstones(): whether a deleted entry may lie in the range.
    pub fn range_has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        let start = start.unwrap_or(StreamId::MIN);
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// Redis: streamEstimateDistanceFromFirstEverEntry(): the logical read counter of `id`,
    /// or SCG_INVALID_ENTRIES_READ when it can't be known.
    pub fn estimate_distance_from_first_ever_entry(&self, id: StreamId) -> i64 {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        if id == self.last_id {
            return added;
        } else if id > self.last_id {
            return SCG_INVALID_ENTRIES_READ;
        }
        let no_fragmentation = self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id;
        if no_fragmentation {
            if id < self.first_id {
                return added.wrapping_sub(self.length as i64);
            } else if id == self.first_id {
                return added.wrapping_sub(self.length as i64).wrapping_add(1);
            }
        }
        SCG_INVALID_ENTRIES_READ
    }

    /// Redis: streamReplyWithCGLag()'s computation: None when the lag can't be known.
    pub fn group_lag(&self, cg: &ConsumerGroup) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        let added = self.entries_added as i64;
        if cg.entries_read != SCG_INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(cg.last_id), None) {
            return Some(added.wrapping_sub(cg.entries_read));
        }
        match self.estimate_distance_from_first_ever_entry(cg.last_id) {
            SCG_INVALID_ENTRIES_READ => None,
            read => Some(added.wrapping_sub(read)),
        }
    }

    /// The group updates of streamReplyWithRange() for entries just delivered: the last
    /// delivered ID and read counter move forward, and (unless NOACK) each entry becomes
    /// pending for `consumer`, taken from whichever consumer held it.
    pub fn deliver_to_group(&mut self, group: &[u8], consumer: &[u8], ids: &[StreamId], noack: bool, now: i64) {
        for &id in ids {
            let counter = self.next_entries_read(group, id);
            let Some(cg) = self.cgroups.as_mut().and_then(|g| g.get_mut(group)) else { return };
            if let Some(entries_read) = counter {
                cg.entries_read = entries_read;
                cg.last_id = id;
            }
            if !noack {
                cg.deliver(id, consumer, now);
            }
        }
    }

    /// The group's new read counter when `id` is delivered past its last ID, else None.
    fn next_entries_read(&self, group: &[u8], id: StreamId) -> Option<i64> {
        let cg = self.lookup_cg(group)?;
        if id <= cg.last_id {
            return None;
        }
        if cg.entries_read != SCG_INVALID_ENTRIES_READ && !self.range_has_tombstones(Some(id), None) {
            Some(cg.entries_read.wrapping_add(1))
        } else if self.entries_added != 0 {
            Some(self.estimate_distance_from_first_ever_entry(id))
        } else {
            Some(cg.entries_read)
        }
    }

    /// Redis: streamLookupCG().
    pub fn lookup_cg(&self, name: &[u8]) -> Option<&ConsumerGroup> {
        self.cgroups.as_ref()?.get(name)
    }

    pub fn lookup_cg_mut(&mut self, name: &[u8]) -> Option<&mut ConsumerGroup> {
        self.cgroups.as_mut()?.get_mut(name)
    }

    /// Redis: streamCreateCG(): None if the group exists.
    pub fn create_cg(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> Option<&mut ConsumerGroup> {
        let groups = self.cgroups.get_or_insert_with(BTreeMap::new);
        if groups.contains_key(name) {
            return None;
        }
        let cg = ConsumerGroup { last_id, entries_read, pel: BTreeMap::new(), consumers: BTreeMap::new() };
        Some(groups.entry(name.into()).or_insert(cg))
    }

    /// XGROUP DESTROY: whether the group existed.
    pub fn destroy_cg(&mut self, name: &[u8]) -> bool {
        self.cgroups.as_mut().is_some_and(|g| g.remove(name).is_some())
    }

    pub fn cgroups_len(&self) -> usize {
        self.cgroups.as_ref().map_or(0, |g| g.len())
    }
}

impl ConsumerGroup {
    /// Redis: streamCreateConsumer(): false if it exists.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(name.into(), Consumer { seen_time: now, pel: BTreeSet::new() });
        true
    }

    /// Looks the consumer up, creating it if needed (the lookup-then-create pattern of
    /// XREADGROUP / XCLAIM); marks it seen. Returns whether it was created.
    pub fn touch_consumer(&mut self, name: &[u8], now: i64) -> bool {
        let created = self.create_consumer(name, now);
        if let Some(consumer) = self.consumers.get_mut(name) {
            consumer.seen_time = now;
        }
        created
    }

    /// Redis: streamDelConsumer(): drops the consumer and its pending entries; returns how
    /// many were pending, None if there was no such consumer.
    pub fn del_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let consumer = self.consumers.remove(name)?;
        for id in &consumer.pel {
            self.pel.remove(id);
        }
        Some(consumer.pel.len())
    }

    /// XACK of one ID: removes it from the group and owner PELs.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(nack) = self.pel.remove(&id) else { return false };
        if let Some(owner) = self.consumers.get_mut(&nack.consumer) {
            owner.pel.remove(&id);
        }
        true
    }

    /// The PEL part of streamReplyWithRange(): a new NACK, or an existing one handed to
    /// `consumer` with its delivery counter restarted.
    fn deliver(&mut self, id: StreamId, consumer: &[u8], now: i64) {
        let nack = Nack { delivery_time: now, delivery_count: 1, consumer: consumer.into() };
        if let Some(old) = self.pel.insert(id, nack) {
            if let Some(owner) = self.consumers.get_mut(&old.consumer) {
                owner.pel.remove(&id);
            }
        }
        if let Some(owner) = self.consumers.get_mut(consumer) {
            owner.pel.insert(id);
        }
    }

    /// XCLAIM/XAUTOCLAIM: moves the pending entry `id` (which must exist) to `consumer`.
    pub fn claim(&mut self, id: StreamId, consumer: &[u8], delivery_time: i64, delivery_count: Option<u64>) {
        let Some(nack) = self.pel.get_mut(&id) else { return };
        let old_owner = std::mem::replace(&mut nack.consumer, consumer.into());
        nack.delivery_time = delivery_time;
        if let Some(count) = delivery_count {
            nack.delivery_count = count;
        }
        if *old_owner != *consumer {
            if let Some(owner) = self.consumers.get_mut(&old_owner) {
                owner.pel.remove(&id);
            }
        }
        if let Some(owner) = self.consumers.get_mut(consumer) {
            owner.pel.insert(id);
        }
    }
}

// ----------------------------------------------------------------------------------------
// The value interface shared code uses (object.rs, debug.rs): encoding, digest, sizes
// ----------------------------------------------------------------------------------------

/// Redis: rax numnodes for a set of 16-byte keys: one node per compressed run, per branch
/// point and per key end, plus the root. Redis's rax stays in this canonical shape for the
/// append-and-trim-at-the-head patterns streams and PELs produce.
fn rax_numnodes(keys: impl Iterator<Item = StreamId>) -> usize {
    let encoded: Vec<[u8; 16]> = keys.map(StreamId::encode).collect();
    if encoded.is_empty() {
        return 1;
    }
    subtree_nodes(&encoded, 0)
}

/// Nodes below (and including) the node reached after `depth` bytes shared by `keys`.
fn subtree_nodes(keys: &[[u8; 16]], depth: usize) -> usize {
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else { return 0 };
    if depth >= 16 {
        return 1;
    }
    let lcp = (depth..16).take_while(|&i| first[i] == last[i]).count();
    if lcp > 0 {
        // A compressed node holding the shared bytes, then what follows them.
        return 1 + subtree_nodes(keys, depth + lcp);
    }
    let mut total = 1;
    let mut rest = keys;
    while let Some(head) = rest.first() {
        let split = rest.iter().position(|k| k[depth] != head[depth]).unwrap_or(rest.len());
        total += subtree_nodes(&rest[..split], depth + 1);
        rest = &rest[split..];
    }
    total
}

/// Redis: streamRadixTreeMemoryUsage() (its sizeof(*rax) term is overwritten in Redis too).
fn rax_memory_usage(numele: usize, numnodes: usize) -> usize {
    const RAX_NODE_HEADER: usize = 4;
    numele * 16 + numnodes * RAX_NODE_HEADER + numnodes * 8 * 30
}

/// sizeof(stream), sizeof(streamCG), sizeof(streamNACK), sizeof(streamConsumer) in 7.0.
const STREAM_STRUCT_SIZE: usize = 80;
const STREAM_CG_SIZE: usize = 40;
const STREAM_NACK_SIZE: usize = 24;
const STREAM_CONSUMER_SIZE: usize = 24;

impl Stream {
    /// Redis: object.c strEncoding(OBJ_ENCODING_STREAM).
    pub fn encoding_name(&self) -> &'static str {
        "stream"
    }

    /// Live entries (Redis: streamLength()).
    pub fn len(&self) -> usize {
        self.length as usize
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Redis: the OBJ_STREAM branch of debug.c xorObjectDigest(): each live entry's
    /// "<ms>.<seq>", then its fields and values, mixed in order. Groups are not part of it.
    pub fn digest_into(&self, digest: &mut Digest) {
        let mut scratch = Vec::new();
        for entry in self.iter(None, None, false) {
            let mut itemid = Vec::with_capacity(41);
            crate::util::write_ull(&mut itemid, entry.id.ms);
            itemid.push(b'.');
            crate::util::write_ull(&mut itemid, entry.id.seq);
            crate::debug::mix_digest(digest, &itemid);
            for (field, value) in entry.fields() {
                crate::debug::mix_digest(digest, field.bytes(&mut scratch));
                crate::debug::mix_digest(digest, value.bytes(&mut scratch));
            }
        }
    }

    /// Redis: the OBJ_STREAM branch of object.c objectComputeSize() (without the robj):
    /// the first `samples` nodes are measured and extrapolated, plus the groups' PELs.
    pub fn compute_size(&self, samples: u64) -> usize {
        let mut size = STREAM_STRUCT_SIZE + rax_memory_usage(self.nodes.len(), self.rax_node_count());
        let sample_count = usize::try_from(samples).unwrap_or(usize::MAX);
        let sampled: Vec<usize> = self.nodes.values().take(sample_count).map(|n| n.alloc).collect();
        let lpsize: usize = sampled.iter().sum();
        if self.nodes.len() <= sampled.len() {
            size += lpsize;
        } else {
            let average = if sampled.is_empty() { 0 } else { lpsize / sampled.len() };
            size += average * (self.nodes.len() - 1);
            size += self.nodes.values().next_back().map_or(0, |n| n.alloc);
        }
        size + self.groups_memory_usage()
    }

    fn groups_memory_usage(&self) -> usize {
        let Some(groups) = &self.cgroups else { return 0 };
        let mut size = 0;
        for cg in groups.values() {
            size += STREAM_CG_SIZE;
            size += rax_memory_usage(cg.pel.len(), rax_numnodes(cg.pel.keys().copied()));
            size += STREAM_NACK_SIZE * cg.pel.len();
            for (name, consumer) in &cg.consumers {
                size += STREAM_CONSUMER_SIZE + name.len();
                size += rax_memory_usage(consumer.pel.len(), rax_numnodes(consumer.pel.iter().copied()));
            }
        }
        size
    }

    /// Redis: what rdbSaveObject() writes for RDB_TYPE_STREAM_LISTPACKS_2 (DEBUG OBJECT's
    /// serializedlength). Exact, since the node listpacks are Redis's own bytes.
    pub fn rdb_saved_len(&self, rdbcompression: bool) -> usize {
        let mut size = rdb_len_size(self.nodes.len() as u64);
        for node in self.nodes.values() {
            size += rdb_raw_string_len(&[0u8; 16], rdbcompression);
            size += rdb_raw_string_len(&node.lp, rdbcompression);
        }
        let ids = [self.last_id, self.first_id, self.max_deleted_entry_id];
        size += rdb_len_size(self.length);
        size += ids.iter().map(|id| rdb_len_size(id.ms) + rdb_len_size(id.seq)).sum::<usize>();
        size += rdb_len_size(self.entries_added) + rdb_len_size(self.cgroups_len() as u64);
        for (name, cg) in self.cgroups.iter().flatten() {
            size += rdb_raw_string_len(name, rdbcompression);
            size += rdb_len_size(cg.last_id.ms) + rdb_len_size(cg.last_id.seq);
            size += rdb_len_size(cg.entries_read as u64);
            size += rdb_len_size(cg.pel.len() as u64);
            size += cg.pel.values().map(|n| 16 + 8 + rdb_len_size(n.delivery_count)).sum::<usize>();
            size += rdb_len_size(cg.consumers.len() as u64);
            for (cname, consumer) in &cg.consumers {
                size += rdb_raw_string_len(cname, rdbcompression) + 8;
                size += rdb_len_size(consumer.pel.len() as u64) + 16 * consumer.pel.len();
            }
        }
        size
    }

    /// Redis: the OBJ_STREAM branch of lazyfree.c lazyfreeGetFreeEffort(): one per rax node,
    /// plus each group and (estimated from the first group) its PEL.
    pub fn free_effort(&self) -> usize {
        let groups = self.cgroups.as_ref();
        let first_pel = groups.and_then(|g| g.values().next()).map_or(0, |cg| cg.pel.len());
        self.rax_node_count() + groups.map_or(0, |g| g.len() * (1 + first_pel))
    }

    /// Frees up to `budget` nodes (then groups) of a stream lazyfree.rs releases piecemeal;
    /// returns how many were freed, 0 once nothing is left.
    pub fn free_some(&mut self, budget: usize) -> usize {
        let mut freed = 0;
        while freed < budget && self.nodes.pop_first().is_some() {
            freed += 1;
        }
        while freed < budget && self.cgroups.as_mut().and_then(|g| g.pop_first()).is_some() {
            freed += 1;
        }
        freed
    }

    /// Redis: DEBUG HTSTATS-KEY: streams have no dict.
    pub fn htstats(&self) -> Option<String> {
        None
    }
}

/// Redis: rdb.c rdbSaveLen() sizes.
fn rdb_len_size(len: u64) -> usize {
    match len {
        0..=63 => 1,
        64..=16383 => 2,
        _ if len <= u64::from(u32::MAX) => 5,
        _ => 9,
    }
}

/// Redis: rdb.c rdbSaveRawString() sizes (integer and LZF encodings included).
fn rdb_raw_string_len(s: &[u8], rdbcompression: bool) -> usize {
    crate::debug::rdb_saved_string_len(&crate::object::StrValue::Raw(Box::new(s.to_vec())), rdbcompression)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIMITS: NodeLimits = NodeLimits { max_bytes: 4096, max_entries: 100 };

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn add(s: &mut Stream, at: StreamId, pairs: &[&str], limits: NodeLimits) -> Result<StreamId, AppendError> {
        let pairs: Vec<&[u8]> = pairs.iter().map(|p| p.as_bytes()).collect();
        s.append_item(&pairs, Some(at), true, 0, limits)
    }

    #[test]
    fn listpack_bytes_follow_the_listpack_format() {
        // Header (total bytes, count), elements with their backlens, 0xFF: what Redis's
        // lpAppend() writes for 7, "ab", 1000 and 70000.
        let mut lp = lp::new();
        for v in [LpVal::Int(7), LpVal::Str(b"ab"), LpVal::Int(1000), LpVal::Int(70000)] {
            lp::append(&mut lp, v);
        }
        let expected: &[u8] = &[
            21, 0, 0, 0, 4, 0, 0x07, 1, 0x82, b'a', b'b', 3, 0xC3, 0xE8, 2, 0xF2, 0x70, 0x11, 0x01, 4, 0xFF,
        ];
        assert_eq!(lp, expected);
        assert_eq!(StreamId::new(1526919030474, 55).text().1, 16);
        assert_eq!(StreamId::new(1526919030474, 55).to_bytes(), b"1526919030474-55");
        assert_eq!(StreamId::MAX.to_bytes(), b"18446744073709551615-18446744073709551615");
    }

    fn text(v: LpVal<'_>) -> String {
        let mut scratch = Vec::new();
        String::from_utf8_lossy(v.bytes(&mut scratch)).into_owned()
    }

    fn all_elements(lp: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let mut p = lp::first(lp);
        while let Some(pos) = p {
            out.push(text(lp::get(lp, pos)));
            p = lp::next(lp, pos);
        }
        out
    }

    fn ids(it: StreamIter<'_>) -> Vec<StreamId> {
        it.map(|e| e.id).collect()
    }

    #[test]
    fn node_bytes_equal_the_listpack_redis_saved() {
        // The node of `XADD x 1-1 k v` as it appears in shared/fixtures/redis-7.0.15-mini.rdb.
        let mut s = Stream::new();
        add(&mut s, id(1, 1), &["k", "v"], LIMITS).unwrap();
        let expected = "1d0000000a00010100010101816b0200010201000100018176020401ff";
        let got: String = s.nodes[&id(1, 1)].lp.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn node_elements_follow_redis_layout() {
        // Fixture stream:s1 of redis-7.0.15-all-types: master fields, SAMEFIELDS entries, and
        // an entry with its own fields; integer-looking values are stored as integers.
        let mut s = Stream::new();
        add(&mut s, id(1700000000000, 0), &["name", "alice", "age", "30"], LIMITS).unwrap();
        add(&mut s, id(1700000000001, 0), &["name", "bob", "age", "25"], LIMITS).unwrap();
        add(&mut s, id(1700000000002, 0), &["city", "paris"], LIMITS).unwrap();
        let lp = &s.nodes[&id(1700000000000, 0)].lp;
        let expected = "3 0 2 name age 0 2 0 0 alice 30 5 2 1 0 bob 25 5 0 2 0 1 city paris 6";
        assert_eq!(all_elements(lp).join(" "), expected);
        assert!(matches!(lp::get(lp, lp::first(lp).unwrap()), LpVal::Int(3)));
        let e: Vec<_> = s.iter(None, None, true).next().unwrap().fields().map(|(f, v)| (text(f), text(v))).collect();
        assert_eq!(e, vec![("city".to_string(), "paris".to_string())]);
    }

    #[test]
    fn listpack_round_trips_every_encoding() {
        let ints = [0i64, 127, 128, -1, -4096, 4095, 4096, -4097, 32767, -32768, 32768, 8388607, -8388608, 8388608];
        let more = [2147483647i64, -2147483648, 2147483648, i64::MAX, i64::MIN];
        let strs = ["", "a", &"x".repeat(63), &"y".repeat(64), &"z".repeat(4095), &"w".repeat(4096), "007", "-0", " 1"];
        let mut lp = lp::new();
        for v in ints.iter().chain(more.iter()) {
            lp::append(&mut lp, LpVal::Int(*v));
        }
        for s in strs {
            lp::append(&mut lp, LpVal::Str(s.as_bytes()));
        }
        let expected: Vec<String> = ints.iter().chain(more.iter()).map(|v| v.to_string()).chain(strs.iter().map(|s| s.to_string())).collect();
        assert_eq!(all_elements(&lp), expected);
        // Walking backwards meets the same elements.
        let mut back = Vec::new();
        let mut p = lp::last(&lp);
        while let Some(pos) = p {
            back.push(text(lp::get(&lp, pos)));
            p = lp::prev(&lp, pos);
        }
        back.reverse();
        assert_eq!(back, expected);
        assert_eq!(u32::from_le_bytes(lp[0..4].try_into().unwrap()) as usize, lp.len());
        assert_eq!(u16::from_le_bytes([lp[4], lp[5]]) as usize, expected.len());
    }

    #[test]
    fn listpack_replace_changes_sizes_and_keeps_neighbours() {
        let mut lp = lp::new();
        for v in [1i64, 2, 3] {
            lp::append(&mut lp, LpVal::Int(v));
        }
        let second = lp::next(&lp, lp::first(&lp).unwrap()).unwrap();
        lp::replace_int(&mut lp, second, 1_000_000_000_000);
        assert_eq!(all_elements(&lp), ["1", "1000000000000", "3"]);
        lp::replace_int(&mut lp, second, -2);
        assert_eq!(all_elements(&lp), ["1", "-2", "3"]);
        assert_eq!(lp.len(), 7 + 2 + 3 + 2);
        assert_eq!(text(lp::get(&lp, lp::last(&lp).unwrap())), "3");
    }

    #[test]
    fn malformed_listpacks_end_iteration_without_panicking() {
        for bad in [vec![], vec![0u8; 3], vec![7, 0, 0, 0, 0, 0, 0xF5, 0xFF], vec![9, 0, 0, 0, 1, 0, 0xE0, 0xFF]] {
            assert!(lp::first(&bad).is_none_or(|p| lp::next(&bad, p).is_none()));
            let _ = lp::last(&bad).map(|p| lp::get(&bad, p));
        }
    }

    #[test]
    fn append_checks_ids_like_redis() {
        let mut s = Stream::new();
        assert_eq!(add(&mut s, id(5, 5), &["a", "1"], LIMITS), Ok(id(5, 5)));
        assert_eq!(add(&mut s, id(5, 5), &["a", "1"], LIMITS), Err(AppendError::IdTooSmall));
        assert_eq!(add(&mut s, id(4, 9), &["a", "1"], LIMITS), Err(AppendError::IdTooSmall));
        // <ms>-*: the next sequence of the same ms, 0 for a later ms, refused for an earlier.
        let pairs: Vec<&[u8]> = vec![b"a", b"1"];
        assert_eq!(s.append_item(&pairs, Some(id(5, 0)), false, 0, LIMITS), Ok(id(5, 6)));
        assert_eq!(s.append_item(&pairs, Some(id(7, 0)), false, 0, LIMITS), Ok(id(7, 0)));
        assert_eq!(s.append_item(&pairs, Some(id(6, 0)), false, 0, LIMITS), Err(AppendError::IdTooSmall));
        // `*`: the clock, or one more than the last ID when the clock is behind.
        assert_eq!(s.append_item(&pairs, None, true, 100, LIMITS), Ok(id(100, 0)));
        assert_eq!(s.append_item(&pairs, None, true, 50, LIMITS), Ok(id(100, 1)));
        s.last_id = id(100, u64::MAX);
        assert_eq!(s.append_item(&pairs, None, true, 50, LIMITS), Ok(id(101, 0)));
        s.last_id = id(101, u64::MAX);
        assert_eq!(s.append_item(&pairs, Some(id(101, 0)), false, 0, LIMITS), Err(AppendError::IdTooSmall));
        assert_eq!((s.length, s.entries_added, s.first_id), (6, 6, id(5, 5)));
    }

    #[test]
    fn nodes_split_by_entry_count_and_by_bytes() {
        let mut s = Stream::new();
        let small = NodeLimits { max_bytes: 4096, max_entries: 3 };
        for i in 1..=10 {
            add(&mut s, id(i, 0), &["f", "v"], small).unwrap();
        }
        assert_eq!(s.node_count(), 4);
        assert_eq!(s.nodes.keys().copied().collect::<Vec<_>>(), [id(1, 0), id(4, 0), id(7, 0), id(10, 0)]);
        // Tombstones count toward fullness too.
        s.delete_item(id(10, 0));
        assert_eq!(s.node_count(), 3);
        let mut t = Stream::new();
        let bytes = NodeLimits { max_bytes: 100, max_entries: 0 };
        for i in 1..=6 {
            add(&mut t, id(i, 0), &["field", &"x".repeat(30)], bytes).unwrap();
        }
        assert!(t.nodes.values().all(|n| n.lp.len() < 100 + 40));
        assert_eq!(t.node_count(), 3);
        // The closed node is shrunk to its size class; the open one keeps its preallocation.
        assert_eq!(t.nodes.values().next().unwrap().alloc, crate::object::je_malloc_size(t.nodes.values().next().unwrap().lp.len()));
        assert_eq!(t.nodes.values().next_back().unwrap().alloc, crate::object::je_malloc_size(100));
    }

    #[test]
    fn iteration_crosses_nodes_and_skips_tombstones() {
        let mut s = Stream::new();
        let small = NodeLimits { max_bytes: 4096, max_entries: 2 };
        for i in 1..=9 {
            add(&mut s, id(i, 0), &["f", &i.to_string()], small).unwrap();
        }
        for d in [2, 3, 6] {
            assert!(s.delete_item(id(d, 0)));
        }
        assert!(!s.delete_item(id(2, 0)));
        let live = [1u64, 4, 5, 7, 8, 9].map(|m| id(m, 0));
        assert_eq!(ids(s.iter(None, None, false)), live);
        assert_eq!(ids(s.iter(None, None, true)), live.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(ids(s.iter(Some(id(2, 0)), Some(id(7, 0)), false)), [4, 5, 7].map(|m| id(m, 0)));
        assert_eq!(ids(s.iter(Some(id(2, 0)), Some(id(7, 0)), true)), [7, 5, 4].map(|m| id(m, 0)));
        assert_eq!(ids(s.iter_with_tombstones(Some(id(2, 0)), Some(id(3, 0)), false)), [id(2, 0), id(3, 0)]);
        assert!(ids(s.iter(Some(id(100, 0)), None, false)).is_empty());
        assert_eq!(s.last_valid_id(), id(9, 0));
        assert_eq!(s.edge_id(true, true), id(1, 0));
        assert!(s.entry_exists(id(8, 0)) && !s.entry_exists(id(6, 0)));
    }

    #[test]
    fn trimming_exact_and_approximate() {
        let small = NodeLimits { max_bytes: 4096, max_entries: 4 };
        let mut s = Stream::new();
        for i in 1..=10 {
            add(&mut s, id(i, 0), &["f", "v"], small).unwrap();
        }
        let approx = |strategy, limit| TrimArgs { strategy, approx: true, limit };
        let exact = |strategy| TrimArgs { strategy, approx: false, limit: 0 };
        assert_eq!(s.trim(&approx(TrimStrategy::MaxLen(7), 0)), 0);
        assert_eq!(s.trim(&approx(TrimStrategy::MaxLen(6), 0)), 4);
        assert_eq!(s.trim(&approx(TrimStrategy::MaxLen(0), 3)), 0);
        assert_eq!(s.trim(&exact(TrimStrategy::MaxLen(5))), 1);
        assert_eq!(ids(s.iter(None, None, false)).first(), Some(&id(6, 0)));
        assert_eq!(s.first_id, id(6, 0));
        assert_eq!(s.trim(&exact(TrimStrategy::MinId(id(9, 0)))), 3);
        assert_eq!((s.length, s.first_id), (2, id(9, 0)));
        assert_eq!(s.trim(&approx(TrimStrategy::MinId(id(100, 0)), 0)), 2);
        assert_eq!((s.length, s.first_id, s.node_count()), (0, StreamId::MIN, 0));
    }

    #[test]
    fn lazy_freeing_goes_node_by_node() {
        let mut s = Stream::new();
        let small = NodeLimits { max_bytes: 4096, max_entries: 2 };
        for i in 1..=9 {
            add(&mut s, id(i, 0), &["f", "v"], small).unwrap();
        }
        s.create_cg(b"g", StreamId::MIN, 0);
        assert_eq!(s.free_effort(), s.rax_node_count() + 1);
        assert_eq!(s.free_some(3), 3);
        assert_eq!(s.free_some(10), 3);
        assert_eq!(s.free_some(10), 0);
    }

    #[test]
    fn rax_node_counts_match_redis() {
        assert_eq!(rax_numnodes(std::iter::empty()), 1);
        assert_eq!(rax_numnodes([id(1, 1)].into_iter()), 2);
        // 150 entries from 1-1 in nodes of 100 (observed: radix-tree-nodes 6).
        assert_eq!(rax_numnodes([id(1, 1), id(101, 0)].into_iter()), 6);
        assert_eq!(rax_numnodes([id(1, 0), id(2, 0), id(3, 0)].into_iter()), 1 + 1 + 3 * 2);
    }

    #[test]
    fn group_pels_stay_consistent() {
        let mut s = Stream::new();
        for i in 1..=4 {
            add(&mut s, id(i, 0), &["f", "v"], LIMITS).unwrap();
        }
        let cg = s.create_cg(b"g", StreamId::MIN, 0).unwrap();
        assert!(cg.touch_consumer(b"a", 1) && cg.touch_consumer(b"b", 1) && !cg.touch_consumer(b"a", 2));
        s.deliver_to_group(b"g", b"a", &[id(1, 0), id(2, 0), id(3, 0)], false, 10);
        assert!(s.create_cg(b"g", StreamId::MIN, 0).is_none());
        let cg = s.lookup_cg_mut(b"g").unwrap();
        assert_eq!((cg.last_id, cg.entries_read, cg.pel.len()), (id(3, 0), 3, 3));
        cg.claim(id(2, 0), b"b", 20, Some(5));
        cg.deliver(id(3, 0), b"b", 30);
        assert_eq!(cg.consumers[&b"a"[..]].pel.iter().copied().collect::<Vec<_>>(), [id(1, 0)]);
        assert_eq!(cg.consumers[&b"b"[..]].pel.len(), 2);
        assert_eq!((cg.pel[&id(2, 0)].delivery_count, cg.pel[&id(3, 0)].delivery_count), (5, 1));
        assert!(cg.ack(id(2, 0)) && !cg.ack(id(2, 0)));
        assert_eq!(cg.del_consumer(b"b"), Some(1));
        assert_eq!(cg.pel.keys().copied().collect::<Vec<_>>(), [id(1, 0)]);
        assert_eq!(s.group_lag(s.lookup_cg(b"g").unwrap()), Some(1));
        assert!(s.destroy_cg(b"g") && !s.destroy_cg(b"g"));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u64, u8),
        Del(usize),
        MaxLen(u64, bool),
        MinId(usize, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u64..5, 0u8..4).prop_map(|(gap, f)| Op::Add(gap, f)),
            2 => (0usize..64).prop_map(Op::Del),
            1 => (0u64..40, any::<bool>()).prop_map(|(n, a)| Op::MaxLen(n, a)),
            1 => (0usize..64, any::<bool>()).prop_map(|(i, a)| Op::MinId(i, a)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// replace_int, in place or resized, leaves the bytes a fresh build would have.
        #[test]
        fn replace_int_equals_a_fresh_listpack(before in any::<i64>(), after in any::<i64>(), tail in "[a-z0-9]{0,8}") {
            let mut lp = lp::new();
            lp::append(&mut lp, LpVal::Int(before));
            lp::append(&mut lp, LpVal::Str(tail.as_bytes()));
            let first = lp::first(&lp).expect("one element");
            lp::replace_int(&mut lp, first, after);
            let mut fresh = lp::new();
            lp::append(&mut fresh, LpVal::Int(after));
            lp::append(&mut fresh, LpVal::Str(tail.as_bytes()));
            prop_assert_eq!(lp, fresh);
        }

        /// Random adds, deletions and trims against a map of live entries: exact trims agree
        /// with the model, approximate ones remove a prefix without going below the target.
        #[test]
        fn stream_matches_a_simple_model(ops in proptest::collection::vec(op(), 1..120), max_entries in 1i64..6) {
            let limits = NodeLimits { max_bytes: 4096, max_entries };
            let mut s = Stream::new();
            let mut model: BTreeMap<StreamId, Vec<String>> = BTreeMap::new();
            let mut next_ms = 0;
            for op in ops {
                apply(&mut s, &mut model, &mut next_ms, op, limits);
                let live: Vec<StreamId> = model.keys().copied().collect();
                prop_assert_eq!(ids(s.iter(None, None, false)), live.clone());
                prop_assert_eq!(ids(s.iter(None, None, true)), live.iter().rev().copied().collect::<Vec<_>>());
                prop_assert_eq!(s.length as usize, model.len());
                prop_assert_eq!(s.first_id, live.first().copied().unwrap_or(StreamId::MIN));
                for e in s.iter(None, None, false) {
                    let fields: Vec<String> = e.fields().flat_map(|(f, v)| [text(f), text(v)]).collect();
                    prop_assert_eq!(&fields, &model[&e.id]);
                }
            }
        }
    }

    fn apply(s: &mut Stream, model: &mut BTreeMap<StreamId, Vec<String>>, next_ms: &mut u64, op: Op, limits: NodeLimits) {
        let keys: Vec<StreamId> = model.keys().copied().collect();
        match op {
            Op::Add(gap, f) => {
                *next_ms += gap;
                let fields = vec![format!("f{f}"), next_ms.to_string(), "g".to_string(), "x".repeat(f as usize)];
                let refs: Vec<&str> = fields.iter().map(|x| x.as_str()).collect();
                let at = id(*next_ms, u64::from(f));
                assert_eq!(add(s, at, &refs, limits), Ok(at));
                model.insert(at, fields);
            }
            Op::Del(i) => {
                if let Some(&k) = keys.get(i % keys.len().max(1)) {
                    assert_eq!(s.delete_items(&[k, k]), 1);
                    model.remove(&k);
                }
            }
            Op::MaxLen(n, approx) => {
                let removed = s.trim(&TrimArgs { strategy: TrimStrategy::MaxLen(n), approx, limit: 0 });
                let target = if approx { (keys.len() as u64).saturating_sub(removed as u64) } else { n.min(keys.len() as u64) };
                assert!(target >= n.min(keys.len() as u64));
                while model.len() as u64 > target {
                    model.pop_first();
                }
            }
            Op::MinId(i, approx) => {
                let minid = keys.get(i % keys.len().max(1)).copied().unwrap_or(StreamId::MIN);
                let removed = s.trim(&TrimArgs { strategy: TrimStrategy::MinId(minid), approx, limit: 0 });
                let below = keys.iter().filter(|&&k| k < minid).count() as i64;
                assert!(removed <= below && (approx || removed == below));
                for _ in 0..removed {
                    model.pop_first();
                }
            }
        }
    }
}

// --- RDB access (save) ---
impl Stream {
    /// The rax as rdbSaveObject() walks it: each node's master ID and listpack bytes, in
    /// ID order (which is the rax's byte order of the big-endian keys).
    pub fn rdb_nodes(&self) -> impl Iterator<Item = (StreamId, &[u8])> + '_ {
        self.nodes.iter().map(|(id, node)| (*id, node.lp.as_slice()))
    }
}

// --- RDB access (load) ---
impl Stream {
    /// Redis: rdbLoadObject()'s raxTryInsert() of a node read from an RDB file, its
    /// listpack already validated (streamValidateListpackIntegrity()). False when a node
    /// with this master ID is already there.
    pub fn rdb_insert_node(&mut self, master_id: StreamId, lp: Vec<u8>) -> bool {
        if self.nodes.contains_key(&master_id) {
            return false;
        }
        let alloc = crate::object::je_malloc_size(lp.len());
        self.nodes.insert(master_id, Node { lp, alloc });
        true
    }
}

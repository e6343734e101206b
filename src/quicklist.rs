//! Quicklist: Redis's quicklist.c. A list stored as a sequence of listpack nodes, each
//! filled up to `list-max-listpack-size` (negative: a byte limit of 4/8/16/32/64 KB;
//! positive: an element count, with an 8 KB safety cap). The node-level decisions (when a
//! push opens a new node, when LINSERT splits a node and merges neighbours, how ranges are
//! deleted) follow Redis's exactly, because DEBUG OBJECT (ql_nodes), MEMORY USAGE and the
//! RDB layout expose them. Everything runs inside one command on the event loop.
//!
//! Not emulated: LZF compression of interior nodes (`list-compress-depth` is stored and
//! reported, nothing is compressed) and PLAIN nodes for elements of 1 GB or more (the
//! default proto-max-bulk-len of 512 MB cannot send such elements).
//!
//! API:
//! ```text
//! Quicklist::new(fill, compress)                     quicklistNew
//! ql.len() / ql.node_count() / ql.fill() / ql.compress()
//! ql.nodes() -> impl Iterator<Item = &Listpack>     (RDB save, MEMORY USAGE)
//! ql.append_listpack(lp)                             quicklistAppendListpack (RDB load)
//! ql.push(where, s)                                  quicklistPush
//! ql.pop(where) -> Option<Vec<u8>>                   quicklistPop
//! ql.index(i) -> Option<LpValue>                     quicklistGetIteratorEntryAtIdx
//! ql.iter_at_idx(dir, i) -> Option<QlIter>; ql.iter(dir) -> QlIter
//! ql.next_entry(&mut it) -> Option<Entry>           quicklistNext
//! ql.values_from(dir, i) -> impl Iterator<Item = LpValue>
//! ql.value(entry) -> Option<LpValue>; ql.compare(entry, s) -> bool
//! ql.del_entry(&mut it, entry)                       quicklistDelEntry
//! ql.insert(entry, s, after)                         quicklistInsertBefore/After
//! ql.replace_at_index(i, s) -> bool                  quicklistReplaceAtIndex
//! ql.del_range(start, count) -> bool                 quicklistDelRange
//! ```

use std::collections::VecDeque;

use crate::listpack::{Listpack, LpValue, Where};

/// Redis: optimization_level[]: the byte limits of fill -1 .. -5.
const OPTIMIZATION_LEVEL: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// Redis: SIZE_SAFETY_LIMIT: the byte cap of a count-limited node.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// Redis: SIZE_ESTIMATE_OVERHEAD: what one new entry is assumed to add beyond its bytes.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// Redis: FILL_MAX ((1 << (QL_FILL_BITS-1)) - 1) and COMPRESS_MAX.
const FILL_MAX: i32 = (1 << 15) - 1;
const COMPRESS_MAX: i32 = (1 << 16) - 1;
/// Redis: the "- 11" of _quicklistNodeAllowMerge (one header/trailer less after merging).
const MERGE_OVERHEAD: usize = 11;

/// Redis: QUICKLIST_HEAD / QUICKLIST_TAIL (and LIST_HEAD / LIST_TAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// Redis: AL_START_HEAD (walk towards the tail) / AL_START_TAIL (walk towards the head).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    StartHead,
    StartTail,
}

/// Redis: quicklistNode (packed container, never compressed here).
#[derive(Debug, Clone, PartialEq, Default)]
struct Node {
    lp: Listpack,
    count: usize,
}

impl Node {
    fn sz(&self) -> usize {
        self.lp.bytes()
    }

    fn refresh(&mut self) {
        self.count = self.lp.len();
    }
}

/// Redis: struct quicklist.
#[derive(Debug, Clone, PartialEq)]
pub struct Quicklist {
    nodes: VecDeque<Node>,
    count: usize,
    fill: i32,
    compress: i32,
}

/// Redis: quicklistIter: a node, a position in it (`zi`) and the element offset in the node
/// (negative offsets count from the node's tail, as Redis keeps them for backward walks).
#[derive(Debug, Clone, Copy)]
pub struct QlIter {
    dir: Direction,
    node: Option<usize>,
    zi: Option<usize>,
    offset: i64,
}

/// Redis: quicklistEntry: where one element lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    node: usize,
    p: usize,
    offset: i64,
}

/// Redis: _quicklistNodeSizeMeetsOptimizationRequirement().
fn size_meets_optimization_requirement(sz: usize, fill: i32) -> bool {
    if fill >= 0 {
        return false;
    }
    let level = (-(fill as i64) - 1) as usize;
    OPTIMIZATION_LEVEL.get(level).is_some_and(|&limit| sz <= limit)
}

/// Redis: _quicklistNodeAllowInsert(): may `node` take one more element of `sz` bytes?
fn node_allow_insert(node: Option<&Node>, fill: i32, sz: usize) -> bool {
    let Some(node) = node else { return false };
    let new_sz = node.sz() + sz + SIZE_ESTIMATE_OVERHEAD;
    if size_meets_optimization_requirement(new_sz, fill) {
        return true;
    }
    new_sz <= SIZE_SAFETY_LIMIT && (node.count as i64) < fill as i64
}

/// Redis: _quicklistNodeAllowMerge().
fn node_allow_merge(a: Option<&Node>, b: Option<&Node>, fill: i32) -> bool {
    let (Some(a), Some(b)) = (a, b) else { return false };
    let merge_sz = (a.sz() + b.sz()).saturating_sub(MERGE_OVERHEAD);
    if size_meets_optimization_requirement(merge_sz, fill) {
        return true;
    }
    merge_sz <= SIZE_SAFETY_LIMIT && (a.count + b.count) as i64 <= fill as i64
}

fn node_with(s: &[u8]) -> Node {
    let mut lp = Listpack::new();
    lp.prepend(s);
    Node { lp, count: 1 }
}

impl Quicklist {
    /// Redis: quicklistNew() with quicklistSetOptions()'s clamping.
    pub fn new(fill: i32, compress: i32) -> Quicklist {
        Quicklist {
            nodes: VecDeque::new(),
            count: 0,
            fill: fill.clamp(-5, FILL_MAX),
            compress: compress.clamp(0, COMPRESS_MAX),
        }
    }

    /// Redis: quicklistCount().
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Redis: quicklist->len, the number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Drops up to `n` whole nodes from the head (one listpack allocation each), for a
    /// list that lazyfree.rs releases piecemeal; returns the nodes dropped.
    pub fn free_some(&mut self, n: usize) -> usize {
        let k = n.min(self.nodes.len());
        for node in self.nodes.drain(..k) {
            self.count = self.count.saturating_sub(node.count);
        }
        k
    }

    pub fn fill(&self) -> i32 {
        self.fill
    }

    pub fn compress(&self) -> i32 {
        self.compress
    }

    /// The nodes' listpacks, head to tail.
    pub fn nodes(&self) -> impl Iterator<Item = &Listpack> + '_ {
        self.nodes.iter().map(|n| &n.lp)
    }

    /// Redis: quicklistAppendListpack(): a whole node from an RDB file. Empty ones are
    /// dropped, as the loader does.
    pub fn append_listpack(&mut self, lp: Listpack) {
        let count = lp.len();
        if count > 0 {
            self.count += count;
            self.nodes.push_back(Node { lp, count });
        }
    }

    // ------------------------------------------------------------------------------------
    // Push and pop
    // ------------------------------------------------------------------------------------

    /// Redis: quicklistPush().
    pub fn push(&mut self, end: End, s: &[u8]) {
        match end {
            End::Head => self.push_head(s),
            End::Tail => self.push_tail(s),
        }
    }

    /// Redis: quicklistPushHead().
    fn push_head(&mut self, s: &[u8]) {
        match self.nodes.front_mut() {
            Some(head) if node_allow_insert(Some(head), self.fill, s.len()) => {
                head.lp.prepend(s);
                head.count += 1;
            }
            _ => {
                self.reserve_first_node();
                self.nodes.push_front(node_with(s));
            }
        }
        self.count += 1;
    }

    /// Redis: quicklistPushTail().
    fn push_tail(&mut self, s: &[u8]) {
        match self.nodes.back_mut() {
            Some(tail) if node_allow_insert(Some(tail), self.fill, s.len()) => {
                tail.lp.append(s);
                tail.count += 1;
            }
            _ => {
                self.reserve_first_node();
                self.nodes.push_back(node_with(s));
            }
        }
        self.count += 1;
    }

    /// Most lists are one node: give the first node one slot (32 bytes, as Redis's one
    /// quicklistNode) instead of the four a VecDeque starts with; later nodes double it.
    fn reserve_first_node(&mut self) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
    }

    /// Redis: quicklistPop(): the element at one end, as a string.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        let node_idx = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get(node_idx)?;
        let p = match end {
            End::Head => node.lp.first()?,
            End::Tail => node.lp.last()?,
        };
        let value = node.lp.get(p)?.to_vec();
        self.del_index(node_idx, p);
        Some(value)
    }

    /// Redis: quicklistDelIndex(): removes one element; true if its node went away.
    fn del_index(&mut self, node_idx: usize, p: usize) -> bool {
        let Some(node) = self.nodes.get_mut(node_idx) else { return false };
        node.lp.delete(p);
        node.count = node.count.saturating_sub(1);
        self.count = self.count.saturating_sub(1);
        if node.count == 0 {
            self.nodes.remove(node_idx);
            return true;
        }
        false
    }

    // ------------------------------------------------------------------------------------
    // Iteration and lookup
    // ------------------------------------------------------------------------------------

    /// Redis: quicklistGetIterator().
    pub fn iter(&self, dir: Direction) -> QlIter {
        let (node, offset) = match dir {
            Direction::StartHead => ((!self.nodes.is_empty()).then_some(0), 0),
            Direction::StartTail => (self.nodes.len().checked_sub(1), -1),
        };
        QlIter { dir, node, zi: None, offset }
    }

    /// Redis: quicklistGetIteratorAtIdx(): an iterator whose first element is at `idx`
    /// (negative from the tail), walking from the nearer end to find its node.
    pub fn iter_at_idx(&self, dir: Direction, idx: i64) -> Option<QlIter> {
        let forward = idx >= 0;
        let index = if forward { idx as u64 } else { (-(idx + 1)) as u64 };
        let count = self.count as u64;
        if index >= count {
            return None;
        }
        let (node, accum) = self.seek_node(index, forward)?;
        let offset = if forward { (index - accum) as i64 } else { -((index - accum) as i64) - 1 };
        Some(QlIter { dir, node: Some(node), zi: None, offset })
    }

    /// The node holding the `index`-th element from the head (`forward`) or tail, and how
    /// many elements precede that node on that side.
    fn seek_node(&self, index: u64, forward: bool) -> Option<(usize, u64)> {
        let count = self.count as u64;
        let seek_forward = if index > (count - 1) / 2 { !forward } else { forward };
        let seek_index = if seek_forward != forward { count - 1 - index } else { index };
        let mut accum = 0u64;
        let last = self.nodes.len().checked_sub(1)?;
        for step in 0..=last {
            let i = if seek_forward { step } else { last - step };
            let n = self.nodes.get(i)?.count as u64;
            if accum + n > seek_index {
                // Seen from the other side, the elements before this node are the rest.
                // (Checked: a node loaded without deep sanitization may hold fewer
                // elements than its header, and the totals then disagree.)
                let accum = if seek_forward != forward { count.checked_sub(n)?.checked_sub(accum)? } else { accum };
                return Some((i, accum));
            }
            accum += n;
        }
        None
    }

    /// Redis: quicklistNext(): the next element of the walk, None when done.
    pub fn next_entry(&self, it: &mut QlIter) -> Option<Entry> {
        loop {
            let node_idx = it.node?;
            let node = self.nodes.get(node_idx)?;
            match it.zi {
                None => it.zi = node.lp.seek(it.offset),
                Some(zi) => {
                    let (next, step) = match it.dir {
                        Direction::StartHead => (node.lp.next(zi), 1),
                        Direction::StartTail => (node.lp.prev(zi), -1),
                    };
                    it.zi = next;
                    it.offset += step;
                }
            }
            if let Some(p) = it.zi {
                return Some(Entry { node: node_idx, p, offset: it.offset });
            }
            // This node is done: continue at the start of the next one.
            let (next_node, offset) = match it.dir {
                Direction::StartHead => (Some(node_idx + 1), 0),
                Direction::StartTail => (node_idx.checked_sub(1), -1),
            };
            it.node = next_node;
            it.offset = offset;
        }
    }

    /// The elements from `idx` on (negative from the tail), walking in `dir`; empty when
    /// `idx` is out of range. Always as many as the counts promise (what LRANGE announces):
    /// a node loaded without deep sanitization may hold fewer elements than its header
    /// says, and the missing ones then read as empty strings (Redis asserts there).
    pub fn values_from(&self, dir: Direction, idx: i64) -> Values<'_> {
        let count = self.count as i64;
        let index = if idx < 0 { count.saturating_add(idx) } else { idx };
        let left = match dir {
            Direction::StartHead => count.saturating_sub(index),
            Direction::StartTail => index.saturating_add(1),
        };
        let it = self.iter_at_idx(dir, idx);
        let left = if it.is_some() { usize::try_from(left).unwrap_or(0) } else { 0 };
        Values { ql: self, it, left }
    }

    /// The element at `entry`.
    pub fn value(&self, entry: Entry) -> Option<LpValue<'_>> {
        self.nodes.get(entry.node)?.lp.get(entry.p)
    }

    /// Redis: quicklistCompare().
    pub fn compare(&self, entry: Entry, s: &[u8]) -> bool {
        self.nodes.get(entry.node).is_some_and(|n| n.lp.compare(entry.p, s))
    }

    /// Redis: quicklistGetIteratorEntryAtIdx(): the element at `idx`.
    pub fn index(&self, idx: i64) -> Option<LpValue<'_>> {
        let mut it = self.iter_at_idx(Direction::StartTail, idx)?;
        let entry = self.next_entry(&mut it)?;
        self.value(entry)
    }

    /// Redis: quicklistDelEntry(): deletes the element the iterator just returned; the
    /// iterator continues with the element after it in its direction.
    pub fn del_entry(&mut self, it: &mut QlIter, entry: Entry) {
        let node_gone = self.del_index(entry.node, entry.p);
        it.zi = None;
        if node_gone {
            match it.dir {
                // The next node moved into the deleted one's slot.
                Direction::StartHead => (it.node, it.offset) = (Some(entry.node), 0),
                Direction::StartTail => (it.node, it.offset) = (entry.node.checked_sub(1), -1),
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // Insert, replace, delete ranges
    // ------------------------------------------------------------------------------------

    /// Redis: _quicklistInsert(): `s` goes before or after `entry`. Iterators are invalid
    /// afterwards.
    pub fn insert(&mut self, entry: Entry, s: &[u8], after: bool) {
        let fill = self.fill;
        let Some(node) = self.nodes.get(entry.node) else { return };
        let full = !node_allow_insert(Some(node), fill, s.len());
        let at_tail = after && node.lp.next(entry.p).is_none();
        let at_head = !after && node.lp.prev(entry.p).is_none();
        let neighbour = if after { entry.node.checked_add(1) } else { entry.node.checked_sub(1) };
        let neighbour_node = neighbour.and_then(|i| self.nodes.get(i));
        let avail_neighbour = (at_tail || at_head) && node_allow_insert(neighbour_node, fill, s.len());
        let place = if after { Where::After } else { Where::Before };
        if !full {
            if let Some(node) = self.nodes.get_mut(entry.node) {
                node.lp.insert(entry.p, s, place);
                node.count += 1;
            }
        } else if (at_tail || at_head) && avail_neighbour {
            self.insert_into_neighbour(neighbour, s, after);
        } else if at_tail || at_head {
            let at = if after { entry.node + 1 } else { entry.node };
            self.nodes.insert(at, node_with(s));
        } else {
            self.split_and_insert(entry, s, after);
        }
        self.count += 1;
    }

    /// A full node's neighbour takes the element at its near end.
    fn insert_into_neighbour(&mut self, neighbour: Option<usize>, s: &[u8], after: bool) {
        let Some(node) = neighbour.and_then(|i| self.nodes.get_mut(i)) else { return };
        if after {
            node.lp.prepend(s);
        } else {
            node.lp.append(s);
        }
        node.count += 1;
    }

    /// The full-node case of _quicklistInsert(): split at the entry, put the element at
    /// the cut, then let neighbours merge (Redis: _quicklistSplitNode + _quicklistMergeNodes).
    fn split_and_insert(&mut self, entry: Entry, s: &[u8], after: bool) {
        let Some(node) = self.nodes.get_mut(entry.node) else { return };
        let offset = if entry.offset < 0 { node.count as i64 + entry.offset } else { entry.offset };
        let offset = offset.max(0) as usize;
        let mut new_node = node.clone();
        if after {
            node.lp.delete_range(offset as i64 + 1, usize::MAX);
            new_node.lp.delete_range(0, offset + 1);
            new_node.lp.prepend(s);
        } else {
            node.lp.delete_range(0, offset);
            new_node.lp.delete_range(offset as i64, usize::MAX);
            new_node.lp.append(s);
        }
        node.refresh();
        new_node.refresh();
        let (at, center) = if after { (entry.node + 1, entry.node) } else { (entry.node, entry.node + 1) };
        self.nodes.insert(at, new_node);
        self.merge_nodes(center);
    }

    /// Redis: _quicklistMergeNodes(): tries (prev_prev, prev), (next, next_next),
    /// (prev, center) and then (center, next).
    fn merge_nodes(&mut self, mut center: usize) {
        let fill = self.fill;
        if center >= 2 && node_allow_merge(self.nodes.get(center - 1), self.nodes.get(center - 2), fill) {
            self.merge_pair(center - 2);
            center -= 1;
        }
        if node_allow_merge(self.nodes.get(center + 1), self.nodes.get(center + 2), fill) {
            self.merge_pair(center + 1);
        }
        let mut target = center;
        if center >= 1 && node_allow_merge(self.nodes.get(center), self.nodes.get(center - 1), fill) {
            self.merge_pair(center - 1);
            target = center - 1;
        }
        if node_allow_merge(self.nodes.get(target), self.nodes.get(target + 1), fill) {
            self.merge_pair(target);
        }
    }

    /// Redis: _quicklistListpackMerge(): nodes `left` and `left + 1` become one at `left`.
    fn merge_pair(&mut self, left: usize) {
        let Some(right) = self.nodes.remove(left + 1) else { return };
        let Some(node) = self.nodes.get_mut(left) else { return };
        let first = std::mem::take(&mut node.lp);
        node.lp = Listpack::merge(first, right.lp);
        node.refresh();
    }

    /// Redis: quicklistReplaceAtIndex(): the element at `idx` becomes `s`, in place (Redis
    /// 7.0 lets the node grow past its fill limit here). False if out of range.
    pub fn replace_at_index(&mut self, idx: i64, s: &[u8]) -> bool {
        let Some(mut it) = self.iter_at_idx(Direction::StartTail, idx) else { return false };
        let Some(entry) = self.next_entry(&mut it) else { return false };
        match self.nodes.get_mut(entry.node) {
            Some(node) => node.lp.replace(entry.p, s).is_some(),
            None => false,
        }
    }

    /// Redis: quicklistDelRange(): deletes `count` elements from `start` (negative from
    /// the tail), node by node. True if anything was deleted.
    pub fn del_range(&mut self, start: i64, count: i64) -> bool {
        if count <= 0 {
            return false;
        }
        let mut extent = count as u64;
        if start >= 0 && extent > (self.count as u64).saturating_sub(start as u64) {
            extent = (self.count as u64).saturating_sub(start as u64);
        } else if start < 0 && extent > start.unsigned_abs() {
            extent = start.unsigned_abs();
        }
        let Some(it) = self.iter_at_idx(Direction::StartTail, start) else { return false };
        let (Some(mut node_idx), mut offset) = (it.node, it.offset) else { return false };
        while extent > 0 {
            let Some(node) = self.nodes.get_mut(node_idx) else { break };
            let ncount = node.count as u64;
            let del = range_del_count(offset, extent, ncount);
            if offset == 0 && del == ncount {
                self.nodes.remove(node_idx);
            } else {
                node.lp.delete_range(offset, del as usize);
                node.count = node.count.saturating_sub(del as usize);
                if node.count == 0 {
                    self.nodes.remove(node_idx);
                } else {
                    node_idx += 1;
                }
            }
            self.count = self.count.saturating_sub(del as usize);
            extent = extent.saturating_sub(del);
            offset = 0;
        }
        true
    }
}

/// An element walk (Redis: a quicklistNext() loop), `left` elements long.
pub struct Values<'a> {
    ql: &'a Quicklist,
    it: Option<QlIter>,
    left: usize,
}

impl<'a> Iterator for Values<'a> {
    type Item = LpValue<'a>;

    fn next(&mut self) -> Option<LpValue<'a>> {
        self.left = self.left.checked_sub(1)?;
        let value = self.it.as_mut().and_then(|it| self.ql.next_entry(it)).and_then(|e| self.ql.value(e));
        Some(value.unwrap_or(LpValue::Str(&[])))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// How many elements of a node quicklistDelRange() deletes, starting at `offset`.
fn range_del_count(offset: i64, extent: u64, ncount: u64) -> u64 {
    if offset == 0 && extent >= ncount {
        ncount
    } else if offset >= 0 && extent + offset as u64 >= ncount {
        ncount - offset as u64
    } else if offset < 0 {
        offset.unsigned_abs().min(extent)
    } else {
        extent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn contents(ql: &Quicklist) -> Vec<Vec<u8>> {
        let mut it = ql.iter(Direction::StartHead);
        let mut out = Vec::new();
        while let Some(e) = ql.next_entry(&mut it) {
            out.push(ql.value(e).unwrap().to_vec());
        }
        out
    }

    fn check_invariants(ql: &Quicklist) {
        assert_eq!(ql.count, ql.nodes.iter().map(|n| n.count).sum::<usize>());
        for n in &ql.nodes {
            assert!(n.count > 0);
            assert_eq!(n.count, n.lp.len());
        }
    }

    fn pushed(fill: i32, n: usize, elem: &[u8]) -> Quicklist {
        let mut ql = Quicklist::new(fill, 0);
        for _ in 0..n {
            ql.push(End::Tail, elem);
        }
        ql
    }

    /// Elements per node observed on redis-server 7.0.15 (DEBUG OBJECT ql_nodes) for
    /// RPUSH of equal strings with the default fill of -2.
    #[test]
    fn node_fill_matches_redis_size_limits() {
        for (size, per_node) in [(1usize, 2726usize), (8, 817), (22, 340), (78, 100), (85, 92), (500, 16), (4000, 2), (5000, 1)] {
            let ql = pushed(-2, per_node + 1, &vec![b'x'; size]);
            assert_eq!(ql.node_count(), 2, "size {}", size);
            assert_eq!(ql.nodes.front().unwrap().count, per_node, "size {}", size);
        }
    }

    #[test]
    fn count_fill_and_clamping() {
        let ql = pushed(3, 10, b"a");
        assert_eq!(ql.nodes.iter().map(|n| n.count).collect::<Vec<_>>(), [3, 3, 3, 1]);
        assert_eq!(pushed(0, 3, b"a").node_count(), 3);
        assert_eq!(Quicklist::new(-100, -1).fill(), -5);
        assert_eq!(Quicklist::new(100_000, 1 << 20).fill(), FILL_MAX);
        assert_eq!(Quicklist::new(1, 1 << 20).compress(), COMPRESS_MAX);
    }

    #[test]
    fn push_pop_both_ends() {
        let mut ql = Quicklist::new(2, 0);
        for s in [&b"1"[..], b"2", b"3"] {
            ql.push(End::Head, s);
        }
        ql.push(End::Tail, b"x");
        assert_eq!(contents(&ql), [&b"3"[..], b"2", b"1", b"x"]);
        assert_eq!(ql.pop(End::Tail).unwrap(), b"x");
        assert_eq!(ql.pop(End::Head).unwrap(), b"3");
        assert_eq!(ql.len(), 2);
        check_invariants(&ql);
        ql.pop(End::Head);
        ql.pop(End::Head);
        assert_eq!(ql.pop(End::Head), None);
        assert_eq!(ql.node_count(), 0);
    }

    #[test]
    fn index_from_both_ends() {
        let mut ql = Quicklist::new(2, 0);
        for i in 0..9 {
            ql.push(End::Tail, i.to_string().as_bytes());
        }
        for i in 0..9i64 {
            assert_eq!(ql.index(i), Some(LpValue::Int(i)));
            assert_eq!(ql.index(i - 9), Some(LpValue::Int(i)));
        }
        assert_eq!(ql.index(9), None);
        assert_eq!(ql.index(-10), None);
        assert_eq!(ql.index(i64::MIN), None);
    }

    #[test]
    fn delete_while_iterating_both_ways() {
        let mut ql = Quicklist::new(2, 0);
        for s in ["a", "b", "a", "a", "c", "a"] {
            ql.push(End::Tail, s.as_bytes());
        }
        let mut it = ql.iter(Direction::StartTail);
        let mut removed = 0;
        while let Some(e) = ql.next_entry(&mut it) {
            if ql.compare(e, b"a") && removed < 3 {
                ql.del_entry(&mut it, e);
                removed += 1;
            }
        }
        assert_eq!(contents(&ql), [&b"a"[..], b"b", b"c"]);
        check_invariants(&ql);
    }

    #[test]
    fn insert_splits_full_nodes_and_merges() {
        let mut ql = pushed(4, 8, b"x");
        let mut it = ql.iter_at_idx(Direction::StartHead, 1).unwrap();
        let e = ql.next_entry(&mut it).unwrap();
        ql.insert(e, b"new", true);
        assert_eq!(ql.nodes.iter().map(|n| n.count).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(ql.index(2).map(|v| v.to_vec()), Some(b"new".to_vec()));
        check_invariants(&ql);
    }

    #[test]
    fn del_range_spans_nodes() {
        let mut ql = Quicklist::new(3, 0);
        for i in 0..10 {
            ql.push(End::Tail, i.to_string().as_bytes());
        }
        assert!(ql.del_range(2, 5));
        assert_eq!(contents(&ql), [&b"0"[..], b"1", b"7", b"8", b"9"]);
        assert!(ql.del_range(-2, 100));
        assert_eq!(contents(&ql), [&b"0"[..], b"1", b"7"]);
        assert!(!ql.del_range(5, 1));
        check_invariants(&ql);
    }

    proptest! {
        #[test]
        fn behaves_like_a_deque(fill in -3i32..5, ops in proptest::collection::vec((0u8..7, any::<i16>(), "[a-c]{1,2}|[0-9]{1,3}|y{90,110}"), 1..120)) {
            let mut ql = Quicklist::new(fill, 0);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            for (op, n, s) in ops {
                let s = s.into_bytes();
                let len = model.len() as i64;
                let idx = if len == 0 { 0 } else { (n as i64).rem_euclid(len) };
                match op {
                    0 => { ql.push(End::Head, &s); model.push_front(s); }
                    1 => { ql.push(End::Tail, &s); model.push_back(s); }
                    2 => { prop_assert_eq!(ql.pop(End::Head), model.pop_front()); }
                    3 if len > 0 => {
                        let after = n % 2 == 0;
                        let mut it = ql.iter_at_idx(Direction::StartHead, idx).unwrap();
                        let e = ql.next_entry(&mut it).unwrap();
                        ql.insert(e, &s, after);
                        model.insert(idx as usize + after as usize, s);
                    }
                    4 if len > 0 => { prop_assert!(ql.replace_at_index(idx - len, &s)); model[idx as usize] = s; }
                    5 if len > 0 => {
                        let cnt = (n.unsigned_abs() % 4) as i64;
                        ql.del_range(idx, cnt);
                        for _ in 0..cnt.min(len - idx) { model.remove(idx as usize); }
                    }
                    6 => {
                        let mut it = ql.iter(Direction::StartHead);
                        while let Some(e) = ql.next_entry(&mut it) { if ql.compare(e, &s) { ql.del_entry(&mut it, e); } }
                        model.retain(|m| m != &s);
                    }
                    _ => {}
                }
                check_invariants(&ql);
            }
            prop_assert_eq!(contents(&ql), model.iter().cloned().collect::<Vec<_>>());
        }
    }
}

//! The node store of a skiplist (zskiplist.rs): where Redis mallocs each zskiplistNode with
//! its level array at the end, here nodes live in six arenas (`Vec`s) by level count, each
//! node holding *all* its levels inline right after its member and score. A search step
//! then reads the node it stands on (already in cache: its score was just compared) and
//! the next node, one cache miss, as in Redis; a separate level pool cost a second
//! dependent miss per step. Runs inside commands on the single event-loop thread.
//!
//! A node handle is a `u32`: the arena (size class) in the top 3 bits, the slot below.
//! Level 0's span is not stored: it is 1 whenever level 0 links somewhere (Redis keeps it
//! at 1, or 0 at the tail where it is never read), which keeps a level-1 node at 32 bytes.

use super::{ZEle, NIL};

/// Redis: struct zskiplistLevel (32-bit links and spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Level {
    pub forward: u32,
    pub span: u32,
}

pub(super) const UNLINKED: Level = Level { forward: NIL as u32, span: 0 };

const INDEX_BITS: u32 = 29;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// Slots per arena. NIL (u32::MAX) falls in class 7, which has no arena, so every slot
/// index of classes 0-5 is usable.
pub(super) const CLASS_CAPACITY: usize = 1 << INDEX_BITS;
/// The header: slot 0 of the 9-32-level class (it has every level).
pub(super) const HEADER: usize = 5 << INDEX_BITS;

/// The arena for a node of `level` levels: 1, 2, 3, 4 exactly, then 5-8 and 9-32 (3/4 of
/// nodes have one level, 1 in 256 more than four).
#[inline]
fn class_of(level: usize) -> usize {
    match level {
        0 | 1 => 0,
        2 => 1,
        3 => 2,
        4 => 3,
        5..=8 => 4,
        _ => 5,
    }
}

/// Redis: zskiplistNode. `repr(C)` keeps member and score first, so a 32-byte level-1
/// node is one aligned half cache line and the levels follow the score.
#[repr(C)]
#[derive(Debug, Clone)]
struct Node<U> {
    ele: Option<ZEle>,
    score: f64,
    backward: u32,
    /// Level 0's forward link (its span is implied, see the module comment).
    forward0: u32,
    /// Levels 1 and up.
    upper: U,
}

/// Inline storage for a node's levels above 0.
trait Upper: Clone {
    fn with_levels(count: usize) -> Self;
    fn levels(&self) -> &[Level];
    fn levels_mut(&mut self) -> &mut [Level];
}

/// Exactly K upper levels (the classes of 1 to 4 levels).
impl<const K: usize> Upper for [Level; K] {
    #[inline]
    fn with_levels(_count: usize) -> Self {
        [UNLINKED; K]
    }
    #[inline]
    fn levels(&self) -> &[Level] {
        self
    }
    #[inline]
    fn levels_mut(&mut self) -> &mut [Level] {
        self
    }
}

/// Up to K upper levels, `used` of them in use (the 5-8 and 9-32 classes).
#[derive(Debug, Clone)]
struct Counted<const K: usize> {
    used: u8,
    levels: [Level; K],
}

impl<const K: usize> Upper for Counted<K> {
    #[inline]
    fn with_levels(count: usize) -> Self {
        Counted { used: count.min(K) as u8, levels: [UNLINKED; K] }
    }
    #[inline]
    fn levels(&self) -> &[Level] {
        let used = usize::from(self.used).min(K);
        &self.levels[..used]
    }
    #[inline]
    fn levels_mut(&mut self) -> &mut [Level] {
        let used = usize::from(self.used).min(K);
        &mut self.levels[..used]
    }
}

impl<U: Upper> Node<U> {
    fn new(level: usize, score: f64, ele: Option<ZEle>) -> Self {
        let upper = U::with_levels(level.saturating_sub(1));
        Node { ele, score, backward: NIL as u32, forward0: NIL as u32, upper }
    }

    #[inline(always)]
    fn view(&self) -> NodeRef<'_> {
        let Node { ele, score, backward, forward0, upper } = self;
        NodeRef { ele: ele.as_ref(), score: *score, backward: *backward, forward0: *forward0, upper: upper.levels() }
    }

    #[inline(always)]
    fn view_mut(&mut self) -> NodeMut<'_> {
        let Node { ele, score, backward, forward0, upper } = self;
        NodeMut { ele, score, backward, forward0, upper: upper.levels_mut() }
    }
}

/// A node read in place (Redis: a zskiplistNode *).
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeRef<'a> {
    pub ele: Option<&'a ZEle>,
    pub score: f64,
    pub backward: u32,
    forward0: u32,
    upper: &'a [Level],
}

impl<'a> NodeRef<'a> {
    /// Redis: x->level[i].
    #[inline(always)]
    pub fn level(&self, i: usize) -> Option<Level> {
        match i.checked_sub(1) {
            None => Some(Level { forward: self.forward0, span: u32::from(self.forward0 != NIL as u32) }),
            Some(up) => self.upper.get(up).copied(),
        }
    }

    /// How many levels the node has.
    #[inline]
    pub fn levels(&self) -> usize {
        1 + self.upper.len()
    }

    /// The member bytes (empty for the header).
    #[inline(always)]
    pub fn ele_bytes(&self) -> &'a [u8] {
        self.ele.map_or(&[], |e| &e[..])
    }
}

/// A node open for writing.
pub(super) struct NodeMut<'a> {
    pub ele: &'a mut Option<ZEle>,
    pub score: &'a mut f64,
    pub backward: &'a mut u32,
    forward0: &'a mut u32,
    upper: &'a mut [Level],
}

impl NodeMut<'_> {
    /// Sets x->level[i]; level 0 keeps only the link (its span is implied).
    #[inline]
    pub fn set_level(&mut self, i: usize, level: Level) {
        match i.checked_sub(1) {
            None => *self.forward0 = level.forward,
            Some(up) => {
                if let Some(l) = self.upper.get_mut(up) {
                    *l = level;
                }
            }
        }
    }
}

/// One size class: its nodes and the slots freed for reuse.
#[derive(Debug, Clone)]
struct Arena<U> {
    nodes: Vec<Node<U>>,
    free: Vec<u32>,
}

impl<U: Upper> Arena<U> {
    fn new() -> Self {
        Arena { nodes: Vec::new(), free: Vec::new() }
    }

    /// A slot for `node`: a freed one when there is one; None when the class is full.
    fn alloc(&mut self, node: Node<U>) -> Option<usize> {
        if let Some(slot) = self.free.pop() {
            if let Some(n) = self.nodes.get_mut(slot as usize) {
                *n = node;
                return Some(slot as usize);
            }
        }
        if self.nodes.len() >= CLASS_CAPACITY {
            return None;
        }
        super::reserve_gently(&mut self.nodes, 1);
        self.nodes.push(node);
        Some(self.nodes.len() - 1)
    }

    /// Frees a slot for reuse; returns the member it held.
    fn release(&mut self, slot: usize) -> Option<ZEle> {
        let ele = self.nodes.get_mut(slot)?.ele.take();
        self.free.push(slot as u32);
        ele
    }

    /// Drops up to `n` nodes from the end, keeping at least `keep`, and gives the memory
    /// back (shrinking reallocates in place); returns how many were dropped.
    fn drop_tail(&mut self, n: usize, keep: usize) -> usize {
        let dropped = n.min(self.nodes.len().saturating_sub(keep));
        if dropped > 0 {
            self.nodes.truncate(self.nodes.len() - dropped);
            self.nodes.shrink_to_fit();
        }
        self.free = Vec::new();
        dropped
    }
}

/// Applies `$body` to the arena of class `$class` of `$nodes` (a `&Nodes` or `&mut Nodes`:
/// the binding follows), or evaluates `$none` for a class without an arena.
macro_rules! by_class {
    ($nodes:expr, $class:expr, $a:ident => $body:expr, $none:expr) => {
        match ($class, $nodes) {
            (0, Nodes { c1: $a, .. }) => $body,
            (1, Nodes { c2: $a, .. }) => $body,
            (2, Nodes { c3: $a, .. }) => $body,
            (3, Nodes { c4: $a, .. }) => $body,
            (4, Nodes { c8: $a, .. }) => $body,
            (5, Nodes { c32: $a, .. }) => $body,
            _ => $none,
        }
    };
}

/// Every node of one skiplist, the header included.
#[derive(Debug, Clone)]
pub(super) struct Nodes {
    c1: Arena<[Level; 0]>,
    c2: Arena<[Level; 1]>,
    c3: Arena<[Level; 2]>,
    c4: Arena<[Level; 3]>,
    c8: Arena<Counted<7>>,
    c32: Arena<Counted<31>>,
}

impl Nodes {
    /// Only the header, with every level unlinked.
    pub fn new() -> Nodes {
        let mut c32 = Arena::new();
        c32.nodes.push(Node::new(super::ZSKIPLIST_MAXLEVEL, 0.0, None));
        Nodes { c1: Arena::new(), c2: Arena::new(), c3: Arena::new(), c4: Arena::new(), c8: Arena::new(), c32 }
    }

    #[inline(always)]
    pub fn get(&self, x: usize) -> Option<NodeRef<'_>> {
        let slot = x & INDEX_MASK;
        by_class!(self, x >> INDEX_BITS, a => a.nodes.get(slot).map(Node::view), None)
    }

    #[inline(always)]
    pub fn get_mut(&mut self, x: usize) -> Option<NodeMut<'_>> {
        let slot = x & INDEX_MASK;
        by_class!(self, x >> INDEX_BITS, a => a.nodes.get_mut(slot).map(Node::view_mut), None)
    }

    /// Redis: zslCreateNode(); None when the node's class is full.
    pub fn create(&mut self, level: usize, score: f64, ele: ZEle) -> Option<usize> {
        let class = class_of(level);
        let slot = by_class!(self, class, a => a.alloc(Node::new(level, score, Some(ele))), None)?;
        Some(class << INDEX_BITS | slot)
    }

    /// Redis: zslFreeNode(): the slot is kept for reuse; returns the member.
    pub fn release(&mut self, x: usize) -> Option<ZEle> {
        let slot = x & INDEX_MASK;
        by_class!(self, x >> INDEX_BITS, a => a.release(slot), None)
    }

    /// Slots in use or free, header included.
    pub fn slots(&self) -> usize {
        self.class_slots().iter().sum()
    }

    /// Slots per class, smallest class first.
    pub fn class_slots(&self) -> [usize; 6] {
        [self.c1.nodes.len(), self.c2.nodes.len(), self.c3.nodes.len(), self.c4.nodes.len(),
            self.c8.nodes.len(), self.c32.nodes.len()]
    }

    /// Drops up to `n` nodes from the arenas' ends (never the header) and forgets the free
    /// slots; the caller has unlinked everything first. Returns how many were dropped.
    pub fn drop_some(&mut self, n: usize) -> usize {
        let mut left = n;
        left -= self.c1.drop_tail(left, 0);
        left -= self.c2.drop_tail(left, 0);
        left -= self.c3.drop_tail(left, 0);
        left -= self.c4.drop_tail(left, 0);
        left -= self.c8.drop_tail(left, 0);
        left -= self.c32.drop_tail(left, 1);
        n - left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::size_of;

    #[test]
    fn node_sizes_match_the_memory_budget() {
        // Redis's nodes are 24 + 16 per level; these are 32 + 8 per level above the first.
        assert_eq!(size_of::<Node<[Level; 0]>>(), 32);
        assert_eq!(size_of::<Node<[Level; 1]>>(), 40);
        assert_eq!(size_of::<Node<[Level; 2]>>(), 48);
        assert_eq!(size_of::<Node<[Level; 3]>>(), 56);
        assert_eq!(size_of::<Node<Counted<7>>>(), 96);
        assert_eq!(size_of::<Node<Counted<31>>>(), 288);
    }

    #[test]
    fn classes_hold_their_levels_and_reuse_slots() {
        let mut nodes = Nodes::new();
        for level in 1..=32 {
            let x = nodes.create(level, level as f64, std::rc::Rc::from(&b"m"[..])).unwrap_or(NIL);
            let n = nodes.get(x).map(|n| (n.levels(), n.score));
            assert_eq!(n, Some((level, level as f64)), "level {level}");
            assert_eq!(nodes.get(x).and_then(|n| n.level(level)), None, "no level past the top");
        }
        assert_eq!(nodes.class_slots(), [1, 1, 1, 1, 4, 25]);
        let three = 2 << INDEX_BITS;
        assert_eq!(nodes.release(three).as_deref(), Some(&b"m"[..]));
        let again = nodes.create(3, 0.5, std::rc::Rc::from(&b"n"[..]));
        assert_eq!(again, Some(three));
        assert_eq!(nodes.slots(), 33);
        assert_eq!(nodes.drop_some(100), 32);
        assert_eq!(nodes.class_slots(), [0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn level_zero_span_follows_its_link() {
        let mut nodes = Nodes::new();
        let h = nodes.get(HEADER).and_then(|n| n.level(0));
        assert_eq!(h, Some(UNLINKED));
        if let Some(mut n) = nodes.get_mut(HEADER) {
            n.set_level(0, Level { forward: 7, span: 99 });
            n.set_level(31, Level { forward: 3, span: 5 });
        }
        let n = nodes.get(HEADER);
        assert_eq!(n.and_then(|n| n.level(0)), Some(Level { forward: 7, span: 1 }));
        assert_eq!(n.and_then(|n| n.level(31)), Some(Level { forward: 3, span: 5 }));
    }
}

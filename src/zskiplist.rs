//! The skiplist of large sorted sets: the zsl* half of Redis's t_zset.c (and the zrangespec /
//! zlexrangespec types of server.h).
//!
//! A skiplist keeps (score, member) pairs ordered by score, then by member bytes, with a
//! backward link at level 0 for reverse walks and a *span* on every forward link (how many
//! level-0 steps it jumps), so the rank of an element and the element at a rank are found
//! in O(log n). Redis links nodes with pointers; here nodes live in arenas (`Vec`s, one per
//! size class, see zskiplist/arena.rs) and link by 32-bit handle, each node holding its
//! levels inline as Redis's do, so a search step touches one node; there is no `unsafe` and
//! a clone of the whole list is a plain `Vec` clone. The member bytes are an `Rc<[u8]>`
//! shared with the zset's dict, as Redis shares one sds between its dict and skiplist.
//!
//! Everything here runs inside a command on the single event-loop thread; the level
//! generator's state is thread-local only because statics must be `Sync`.

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

mod arena;
use arena::{Level, Nodes, CLASS_CAPACITY, HEADER};

/// Redis: ZSKIPLIST_MAXLEVEL (enough for 2^64 elements with P = 1/4).
pub const ZSKIPLIST_MAXLEVEL: usize = 32;
/// Redis: ZSKIPLIST_P, the chance that a node also gets the next level.
const ZSKIPLIST_P: f64 = 0.25;
/// "No node" (Redis: NULL). Node handles and spans are stored in 32 bits to keep nodes
/// small (Redis's are 64-bit pointers and counts).
pub const NIL: usize = u32::MAX as usize;
/// The most elements a list can hold: each size class has 2^29 slots (the header takes
/// one of its class's), so no class can run out first; callers refuse to add more.
pub const ZSKIPLIST_MAX_LEN: usize = CLASS_CAPACITY - 2;

/// A member of a sorted set, shared by the skiplist node and the dict entry.
pub type ZEle = Rc<[u8]>;

/// Redis: zrangespec, a score interval with open or closed ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZRangeSpec {
    pub min: f64,
    pub max: f64,
    /// The ends are exclusive ("(1.5").
    pub minex: bool,
    pub maxex: bool,
}

impl ZRangeSpec {
    /// Redis: zslValueGteMin().
    pub fn value_gte_min(&self, value: f64) -> bool {
        if self.minex {
            value > self.min
        } else {
            value >= self.min
        }
    }

    /// Redis: zslValueLteMax().
    pub fn value_lte_max(&self, value: f64) -> bool {
        if self.maxex {
            value < self.max
        } else {
            value <= self.max
        }
    }

    /// The test at the top of zslIsInRange(): ranges that can never hold anything.
    pub fn is_always_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lex range: "-" and "+" (Redis: shared.minstring / shared.maxstring) or
/// a member after "[" / "(".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    Min,
    Max,
    Value(Vec<u8>),
}

/// Redis: sdscmplex(): the infinities compare below/above everything, and an infinity
/// equals itself (Redis compares the shared pointers).
fn cmp_lex_bounds(a: &LexBound, b: &LexBound) -> Ordering {
    match (a, b) {
        (LexBound::Min, LexBound::Min) | (LexBound::Max, LexBound::Max) => Ordering::Equal,
        (LexBound::Min, _) | (_, LexBound::Max) => Ordering::Less,
        (LexBound::Max, _) | (_, LexBound::Min) => Ordering::Greater,
        (LexBound::Value(x), LexBound::Value(y)) => x.as_slice().cmp(y.as_slice()),
    }
}

/// sdscmplex() of a member against a bound.
fn cmp_value_to_bound(value: &[u8], bound: &LexBound) -> Ordering {
    match bound {
        LexBound::Min => Ordering::Greater,
        LexBound::Max => Ordering::Less,
        LexBound::Value(b) => value.cmp(b.as_slice()),
    }
}

/// Redis: zlexrangespec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZLexRangeSpec {
    pub min: LexBound,
    pub max: LexBound,
    pub minex: bool,
    pub maxex: bool,
}

impl ZLexRangeSpec {
    /// Redis: zslLexValueGteMin().
    pub fn value_gte_min(&self, value: &[u8]) -> bool {
        let cmp = cmp_value_to_bound(value, &self.min);
        if self.minex {
            cmp == Ordering::Greater
        } else {
            cmp != Ordering::Less
        }
    }

    /// Redis: zslLexValueLteMax().
    pub fn value_lte_max(&self, value: &[u8]) -> bool {
        let cmp = cmp_value_to_bound(value, &self.max);
        if self.maxex {
            cmp == Ordering::Less
        } else {
            cmp != Ordering::Greater
        }
    }

    /// The test at the top of zslIsInLexRange().
    pub fn is_always_empty(&self) -> bool {
        let cmp = cmp_lex_bounds(&self.min, &self.max);
        cmp == Ordering::Greater || (cmp == Ordering::Equal && (self.minex || self.maxex))
    }
}

/// Redis: zskiplist. Its nodes are in `arena.rs` (all levels inline, by size class).
#[derive(Debug, Clone)]
pub struct ZSkipList {
    nodes: Nodes,
    tail: usize,
    length: usize,
    /// Levels in use (at least 1).
    level: usize,
}

impl Default for ZSkipList {
    fn default() -> Self {
        Self::new()
    }
}

thread_local! {
    static LEVEL_RNG: Cell<u64> = const { Cell::new(0) };
}

/// xorshift64* seeded once from the OS; stands in for Redis's random() in zslRandomLevel.
fn next_random() -> u64 {
    LEVEL_RNG.with(crate::util::xorshift64star)
}

/// Redis: zslRandomLevel(): 1 with probability 3/4, 2 with 3/16, ... up to the maximum.
fn zsl_random_level() -> usize {
    let threshold = (ZSKIPLIST_P * f64::from(0xFFFF_u32)) as u64;
    let mut level = 1;
    while level < ZSKIPLIST_MAXLEVEL && (next_random() >> 16) & 0xFFFF < threshold {
        level += 1;
    }
    level
}

/// The node order: score, then member bytes (Redis: the `score < || (== && sdscmp < 0)` test).
fn node_before(node_score: f64, node_ele: &[u8], score: f64, ele: &[u8]) -> bool {
    node_score < score || (node_score == score && node_ele < ele)
}

/// Grows `v` by an eighth instead of doubling, so the slack of the arenas stays close to
/// what Redis's exact per-node allocations cost.
fn reserve_gently<T>(v: &mut Vec<T>, more: usize) {
    if v.capacity() - v.len() < more {
        v.reserve_exact(more.max(v.len() / 8 + 16));
    }
}

impl ZSkipList {
    /// Redis: zslCreate().
    pub fn new() -> ZSkipList {
        ZSkipList { nodes: Nodes::new(), tail: NIL, length: 0, level: 1 }
    }

    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// The level of node `x` (how many forward links it has).
    pub fn node_level(&self, x: usize) -> usize {
        self.nodes.get(x).map_or(0, |n| n.levels())
    }

    /// Node x's level i (Redis: x->level[i]).
    fn level_at(&self, x: usize, i: usize) -> Option<Level> {
        self.nodes.get(x)?.level(i)
    }

    fn forward(&self, x: usize, i: usize) -> usize {
        self.level_at(x, i).map_or(NIL, |l| l.forward as usize)
    }

    fn span(&self, x: usize, i: usize) -> usize {
        self.level_at(x, i).map_or(0, |l| l.span as usize)
    }

    fn set_level(&mut self, x: usize, i: usize, level: Level) {
        if let Some(mut n) = self.nodes.get_mut(x) {
            n.set_level(i, level);
        }
    }

    /// The member of node `x` (empty for the header or NIL).
    pub fn ele(&self, x: usize) -> &[u8] {
        self.nodes.get(x).map_or(&[], |n| n.ele_bytes())
    }

    /// The shared member of node `x`.
    pub fn ele_rc(&self, x: usize) -> Option<&ZEle> {
        self.nodes.get(x).and_then(|n| n.ele)
    }

    pub fn score(&self, x: usize) -> f64 {
        self.nodes.get(x).map_or(0.0, |n| n.score)
    }

    /// The lowest element (Redis: zsl->header->level[0].forward).
    pub fn first(&self) -> usize {
        self.forward(HEADER, 0)
    }

    /// The highest element (Redis: zsl->tail).
    pub fn last(&self) -> usize {
        self.tail
    }

    /// Redis: x->level[0].forward.
    pub fn next(&self, x: usize) -> usize {
        self.forward(x, 0)
    }

    /// Redis: x->backward.
    pub fn prev(&self, x: usize) -> usize {
        self.nodes.get(x).map_or(NIL, |n| n.backward as usize)
    }

    /// Elements in order from the lowest.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> + '_ {
        let mut x = self.first();
        std::iter::from_fn(move || {
            let node = self.nodes.get(x)?;
            x = node.level(0).map_or(NIL, |l| l.forward as usize);
            Some((node.ele_bytes(), node.score))
        })
    }

    /// Redis: zslFreeNode(): the slot is kept for reuse; returns the member.
    fn free_node(&mut self, x: usize) -> Option<ZEle> {
        let ele = self.nodes.release(x);
        self.shrink_arena_if_idle();
        ele
    }

    /// Gives memory back once the list is empty (Redis frees each node as it goes).
    fn shrink_arena_if_idle(&mut self) {
        if self.length == 0 && self.nodes.slots() > 1 {
            *self = ZSkipList::new();
        }
    }

    /// Whether another element would overflow a node class (see ZSKIPLIST_MAX_LEN).
    pub fn is_full(&self) -> bool {
        self.length >= ZSKIPLIST_MAX_LEN
    }

    /// The nodes after which (score, ele) would go, per level, plus the rank crossed to
    /// reach each of them (the search loop of zslInsert/zslDelete). The node stood on is
    /// kept as a view, so each step loads only the next node.
    fn find_update(&self, score: f64, ele: &[u8]) -> ([usize; ZSKIPLIST_MAXLEVEL], [usize; ZSKIPLIST_MAXLEVEL]) {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut rank = [0usize; ZSKIPLIST_MAXLEVEL];
        let (mut x, Some(mut xn)) = (HEADER, self.nodes.get(HEADER)) else { return (update, rank) };
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            while let Some(l) = xn.level(i) {
                let Some(next) = self.nodes.get(l.forward as usize) else { break };
                if !node_before(next.score, next.ele_bytes(), score, ele) {
                    break;
                }
                rank[i] += l.span as usize;
                (x, xn) = (l.forward as usize, next);
            }
            update[i] = x;
        }
        (update, rank)
    }

    /// Redis: zslInsert(). The element must not be in the list already (the dict says so).
    pub fn insert(&mut self, score: f64, ele: ZEle) -> usize {
        debug_assert!(!score.is_nan());
        if self.is_full() {
            return NIL;
        }
        let (mut update, mut rank) = self.find_update(score, &ele);
        let level = zsl_random_level();
        let Some(x) = self.nodes.create(level, score, ele) else { return NIL };
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEADER;
                self.set_level(HEADER, i, Level { forward: NIL as u32, span: self.length as u32 });
            }
            self.level = level;
        }
        for i in 0..level {
            let Some(prev) = self.level_at(update[i], i) else { continue };
            let crossed = (rank[0] - rank[i]) as u32;
            self.set_level(x, i, Level { forward: prev.forward, span: prev.span.wrapping_sub(crossed) });
            self.set_level(update[i], i, Level { forward: x as u32, span: crossed + 1 });
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            if let Some(l) = self.level_at(u, i) {
                self.set_level(u, i, Level { forward: l.forward, span: l.span + 1 });
            }
        }
        self.link_backward(x, if update[0] == HEADER { NIL } else { update[0] });
        self.length += 1;
        x
    }

    /// Sets x's backward link and its successor's (or the tail).
    fn link_backward(&mut self, x: usize, backward: usize) {
        if let Some(n) = self.nodes.get_mut(x) {
            *n.backward = backward as u32;
        }
        let next = self.forward(x, 0);
        match self.nodes.get_mut(next) {
            Some(n) => *n.backward = x as u32,
            None => self.tail = x,
        }
    }

    /// Redis: zslDeleteNode(): unlinks x given its predecessors.
    fn delete_node(&mut self, x: usize, update: &[usize; ZSKIPLIST_MAXLEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let Some(l) = self.level_at(u, i) else { continue };
            // x's own level i is read only when u links to x (x then has that level).
            let relinked = match self.level_at(x, i) {
                Some(xl) if l.forward as usize == x => Level { forward: xl.forward, span: (l.span + xl.span).saturating_sub(1) },
                _ => Level { forward: l.forward, span: l.span.saturating_sub(1) },
            };
            self.set_level(u, i, relinked);
        }
        let (next, back) = (self.forward(x, 0), self.prev(x));
        match self.nodes.get_mut(next) {
            Some(n) => *n.backward = back as u32,
            None => self.tail = back,
        }
        while self.level > 1 && self.forward(HEADER, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.length -= 1;
    }

    /// Redis: zslDelete(): removes (score, ele); returns the member if it was there.
    pub fn delete(&mut self, score: f64, ele: &[u8]) -> Option<ZEle> {
        let (update, _) = self.find_update(score, ele);
        let x = self.forward(update[0], 0);
        if x == NIL || self.score(x) != score || self.ele(x) != ele {
            return None;
        }
        self.delete_node(x, &update);
        self.free_node(x)
    }

    /// Redis: zslUpdateScore(): moves an existing element to `newscore`, in place when
    /// its neighbours allow. Returns the node now holding it.
    pub fn update_score(&mut self, curscore: f64, ele: &[u8], newscore: f64) -> usize {
        let (update, _) = self.find_update(curscore, ele);
        let x = self.forward(update[0], 0);
        debug_assert!(x != NIL && self.score(x) == curscore && self.ele(x) == ele);
        let (back, next) = (self.prev(x), self.forward(x, 0));
        let fits_back = back == NIL || self.score(back) < newscore;
        let fits_next = next == NIL || self.score(next) > newscore;
        if fits_back && fits_next {
            if let Some(n) = self.nodes.get_mut(x) {
                *n.score = newscore;
            }
            return x;
        }
        self.delete_node(x, &update);
        let Some(ele) = self.nodes.get_mut(x).and_then(|n| n.ele.take()) else { return NIL };
        // Reinsert before freeing the slot, so the arena never empties in between.
        let newnode = self.insert(newscore, ele);
        self.free_node(x);
        newnode
    }

    /// Redis: zslIsInRange().
    pub fn is_in_range(&self, range: &ZRangeSpec) -> bool {
        if range.is_always_empty() || self.tail == NIL || !range.value_gte_min(self.score(self.tail)) {
            return false;
        }
        let first = self.first();
        first != NIL && range.value_lte_max(self.score(first))
    }

    /// Redis: zslFirstInRange().
    pub fn first_in_range(&self, range: &ZRangeSpec) -> usize {
        if !self.is_in_range(range) {
            return NIL;
        }
        let x = self.skip_while(|zsl, fw| !range.value_gte_min(zsl.score(fw)));
        let x = self.forward(x, 0);
        if x == NIL || !range.value_lte_max(self.score(x)) {
            return NIL;
        }
        x
    }

    /// Redis: zslLastInRange().
    pub fn last_in_range(&self, range: &ZRangeSpec) -> usize {
        if !self.is_in_range(range) {
            return NIL;
        }
        let x = self.skip_while(|zsl, fw| range.value_lte_max(zsl.score(fw)));
        if x == HEADER || !range.value_gte_min(self.score(x)) {
            return NIL;
        }
        x
    }

    /// Redis: zslIsInLexRange().
    pub fn is_in_lex_range(&self, range: &ZLexRangeSpec) -> bool {
        if range.is_always_empty() || self.tail == NIL || !range.value_gte_min(self.ele(self.tail)) {
            return false;
        }
        let first = self.first();
        first != NIL && range.value_lte_max(self.ele(first))
    }

    /// Redis: zslFirstInLexRange().
    pub fn first_in_lex_range(&self, range: &ZLexRangeSpec) -> usize {
        if !self.is_in_lex_range(range) {
            return NIL;
        }
        let x = self.skip_while(|zsl, fw| !range.value_gte_min(zsl.ele(fw)));
        let x = self.forward(x, 0);
        if x == NIL || !range.value_lte_max(self.ele(x)) {
            return NIL;
        }
        x
    }

    /// Redis: zslLastInLexRange().
    pub fn last_in_lex_range(&self, range: &ZLexRangeSpec) -> usize {
        if !self.is_in_lex_range(range) {
            return NIL;
        }
        let x = self.skip_while(|zsl, fw| range.value_lte_max(zsl.ele(fw)));
        if x == HEADER || !range.value_gte_min(self.ele(x)) {
            return NIL;
        }
        x
    }

    /// Walks down from the top level, going forward while `go(next)` holds; returns the
    /// last node passed (the header if none).
    fn skip_while(&self, go: impl Fn(&ZSkipList, usize) -> bool) -> usize {
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let fw = self.forward(x, i);
                if fw == NIL || !go(self, fw) {
                    break;
                }
                x = fw;
            }
        }
        x
    }

    /// Like skip_while, also recording the predecessors for a deletion.
    fn update_while(&self, go: impl Fn(&ZSkipList, usize) -> bool) -> [usize; ZSKIPLIST_MAXLEVEL] {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            loop {
                let fw = self.forward(x, i);
                if fw == NIL || !go(self, fw) {
                    break;
                }
                x = fw;
            }
            update[i] = x;
        }
        update
    }

    /// Deletes nodes from update[0]'s successor on while `keep_going(node)`; returns the
    /// removed members (the caller drops them from its dict).
    fn delete_run(
        &mut self,
        update: &[usize; ZSKIPLIST_MAXLEVEL],
        mut keep_going: impl FnMut(&ZSkipList, usize) -> bool,
    ) -> Vec<ZEle> {
        let mut removed = Vec::new();
        let mut x = self.forward(update[0], 0);
        while x != NIL && keep_going(self, x) {
            let next = self.forward(x, 0);
            self.delete_node(x, update);
            if let Some(ele) = self.free_node(x) {
                removed.push(ele);
            }
            x = next;
        }
        removed
    }

    /// Redis: zslDeleteRangeByScore().
    pub fn delete_range_by_score(&mut self, range: &ZRangeSpec) -> Vec<ZEle> {
        let update = self.update_while(|zsl, fw| !range.value_gte_min(zsl.score(fw)));
        self.delete_run(&update, |zsl, x| range.value_lte_max(zsl.score(x)))
    }

    /// Redis: zslDeleteRangeByLex().
    pub fn delete_range_by_lex(&mut self, range: &ZLexRangeSpec) -> Vec<ZEle> {
        let update = self.update_while(|zsl, fw| !range.value_gte_min(zsl.ele(fw)));
        self.delete_run(&update, |zsl, x| range.value_lte_max(zsl.ele(x)))
    }

    /// Redis: zslDeleteRangeByRank(): 1-based, inclusive.
    pub fn delete_range_by_rank(&mut self, start: usize, end: usize) -> Vec<ZEle> {
        let mut update = [HEADER; ZSKIPLIST_MAXLEVEL];
        let mut traversed = 0;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL && traversed + self.span(x, i) < start {
                traversed += self.span(x, i);
                x = self.forward(x, i);
            }
            update[i] = x;
        }
        let mut rank = traversed + 1;
        self.delete_run(&update, move |_, _| {
            let go = rank <= end;
            rank += 1;
            go
        })
    }

    /// Redis: zslGetRank(): the 1-based rank of (score, ele), 0 when absent.
    pub fn get_rank(&self, score: f64, ele: &[u8]) -> usize {
        let mut rank = 0;
        let (mut x, Some(mut xn)) = (HEADER, self.nodes.get(HEADER)) else { return 0 };
        for i in (0..self.level).rev() {
            while let Some(l) = xn.level(i) {
                let Some(next) = self.nodes.get(l.forward as usize) else { break };
                if !(next.score < score || (next.score == score && next.ele_bytes() <= ele)) {
                    break;
                }
                rank += l.span as usize;
                (x, xn) = (l.forward as usize, next);
            }
            if x != HEADER && xn.score == score && xn.ele_bytes() == ele {
                return rank;
            }
        }
        0
    }

    /// Redis: zslGetElementByRank(): the node at 1-based `rank`, or NIL.
    pub fn get_element_by_rank(&self, rank: usize) -> usize {
        let mut traversed = 0;
        let mut x = HEADER;
        for i in (0..self.level).rev() {
            while self.forward(x, i) != NIL && traversed + self.span(x, i) <= rank {
                traversed += self.span(x, i);
                x = self.forward(x, i);
            }
            if traversed == rank {
                return if x == HEADER { NIL } else { x };
            }
        }
        NIL
    }

    /// Bytes this list's nodes would take in Redis: a zskiplistNode of 24 bytes plus 16
    /// per level for node `x` (used by MEMORY USAGE's sampling).
    pub fn redis_node_size(&self, x: usize) -> usize {
        24 + 16 * self.node_level(x)
    }

    /// Checks every invariant (ordering, spans, backward links, length); tests only.
    #[cfg(test)]
    pub fn check_invariants(&self) {
        let mut count = 0;
        let mut x = self.first();
        let mut prev = NIL;
        while x != NIL {
            count += 1;
            assert_eq!(self.prev(x), prev, "backward link");
            if prev != NIL {
                assert!(node_before(self.score(prev), self.ele(prev), self.score(x), self.ele(x)));
            }
            prev = x;
            x = self.next(x);
        }
        assert_eq!(count, self.length);
        assert_eq!(self.tail, prev);
        for i in 0..self.level {
            let (mut x, mut rank) = (HEADER, 0);
            while self.forward(x, i) != NIL {
                rank += self.span(x, i);
                x = self.forward(x, i);
                assert_eq!(self.get_rank(self.score(x), self.ele(x)), rank, "span at level {i}");
            }
        }
    }
}

/// Piecemeal release, for a zset that lazyfree.rs frees a slice per event-loop turn.
impl ZSkipList {
    /// Redis: zslFree() cut into steps. The first call empties the list (as `new` leaves
    /// it) but leaves the old nodes in the arenas; each call then drops up to `n` of them
    /// from the arenas' ends and shrinks the arenas by as much, so no call frees a big
    /// array at once. Returns the nodes dropped; 0 once the list is exactly as `new`
    /// makes it.
    pub fn free_some(&mut self, n: usize) -> usize {
        if self.length > 0 || self.tail != NIL {
            self.forget_nodes();
        }
        self.nodes.drop_some(n.max(1))
    }

    /// An empty list, whose header links nowhere; the arenas keep the old nodes (now
    /// unreachable) for `free_some` to drop.
    fn forget_nodes(&mut self) {
        for i in 0..ZSKIPLIST_MAXLEVEL {
            self.set_level(HEADER, i, arena::UNLINKED);
        }
        self.tail = NIL;
        self.length = 0;
        self.level = 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ele(s: &str) -> ZEle {
        Rc::from(s.as_bytes())
    }

    fn build(items: &[(f64, &str)]) -> ZSkipList {
        let mut zsl = ZSkipList::new();
        for &(score, name) in items {
            zsl.insert(score, ele(name));
        }
        zsl.check_invariants();
        zsl
    }

    fn names(zsl: &ZSkipList) -> Vec<String> {
        zsl.iter().map(|(e, _)| String::from_utf8_lossy(e).into_owned()).collect()
    }

    #[test]
    fn insert_orders_by_score_then_member() {
        let zsl = build(&[(2.0, "b"), (1.0, "z"), (2.0, "a"), (-1.0, "m")]);
        assert_eq!(names(&zsl), ["m", "z", "a", "b"]);
        assert_eq!(zsl.get_rank(2.0, b"a"), 3);
        assert_eq!(zsl.get_rank(2.0, b"x"), 0);
        assert_eq!(zsl.ele(zsl.get_element_by_rank(4)), b"b");
        assert_eq!(zsl.get_element_by_rank(5), NIL);
        assert_eq!(zsl.get_element_by_rank(0), NIL);
        assert_eq!(zsl.ele(zsl.last()), b"b");
        assert_eq!(zsl.ele(zsl.prev(zsl.last())), b"a");
    }

    #[test]
    fn delete_and_update_keep_invariants() {
        let mut zsl = build(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]);
        assert!(zsl.delete(2.0, b"b").is_some());
        assert!(zsl.delete(2.0, b"b").is_none());
        assert!(zsl.delete(3.0, b"a").is_none());
        zsl.check_invariants();
        zsl.update_score(1.0, b"a", 1.5); // stays in place
        zsl.update_score(4.0, b"d", 0.0); // moves to the front
        zsl.check_invariants();
        assert_eq!(names(&zsl), ["d", "a", "c"]);
        assert_eq!(zsl.score(zsl.first()), 0.0);
    }

    #[test]
    fn ranges_by_score_and_lex() {
        let zsl = build(&[(1.0, "a"), (2.0, "b"), (3.0, "c"), (4.0, "d")]);
        let r = ZRangeSpec { min: 2.0, max: 4.0, minex: true, maxex: false };
        assert_eq!(zsl.ele(zsl.first_in_range(&r)), b"c");
        assert_eq!(zsl.ele(zsl.last_in_range(&r)), b"d");
        let empty = ZRangeSpec { min: 3.0, max: 3.0, minex: true, maxex: false };
        assert_eq!(zsl.first_in_range(&empty), NIL);
        let lex = ZLexRangeSpec { min: LexBound::Value(b"b".to_vec()), max: LexBound::Max, minex: false, maxex: true };
        assert_eq!(zsl.ele(zsl.first_in_lex_range(&lex)), b"b");
        assert_eq!(zsl.ele(zsl.last_in_lex_range(&lex)), b"d");
        let none = ZLexRangeSpec { min: LexBound::Min, max: LexBound::Min, minex: true, maxex: true };
        assert!(none.is_always_empty());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Inserts, deletions, score updates and range deletions in any order keep every
        /// invariant, reuse freed slots, and agree with a sorted model.
        #[test]
        fn random_operations_keep_invariants(ops in proptest::collection::vec((0u8..5, 0u8..30, -5i8..5), 1..150)) {
            let mut zsl = ZSkipList::new();
            let mut model: std::collections::BTreeMap<Vec<u8>, f64> = Default::default();
            for (kind, id, score) in ops {
                let (name, score) = (format!("e{id}").into_bytes(), f64::from(score));
                match (kind, model.get(&name).copied()) {
                    (0 | 1, None) => {
                        zsl.insert(score, Rc::from(name.as_slice()));
                        model.insert(name, score);
                    }
                    (0, Some(cur)) => {
                        zsl.update_score(cur, &name, score);
                        model.insert(name, score);
                    }
                    (1 | 2, Some(cur)) => {
                        proptest::prop_assert!(zsl.delete(cur, &name).is_some());
                        model.remove(&name);
                    }
                    (3, _) => {
                        let range = ZRangeSpec { min: score, max: score + 1.0, minex: false, maxex: true };
                        let removed = zsl.delete_range_by_score(&range);
                        model.retain(|_, s| !(range.value_gte_min(*s) && range.value_lte_max(*s)));
                        proptest::prop_assert_eq!(zsl.len(), model.len(), "removed {}", removed.len());
                    }
                    (4, _) if !model.is_empty() => {
                        let start = usize::from(id) % model.len() + 1;
                        let removed = zsl.delete_range_by_rank(start, start + 1);
                        for ele in removed {
                            model.remove(&ele[..]);
                        }
                    }
                    _ => {}
                }
                zsl.check_invariants();
                proptest::prop_assert_eq!(zsl.len(), model.len());
            }
            let mut want: Vec<(Vec<u8>, f64)> = model.into_iter().collect();
            want.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            let got: Vec<(Vec<u8>, f64)> = zsl.iter().map(|(e, s)| (e.to_vec(), s)).collect();
            proptest::prop_assert_eq!(got, want);
            let per_class = zsl.nodes.class_slots();
            proptest::prop_assert!(per_class.iter().all(|&n| n <= 31), "freed slots are reused: {:?}", per_class);
        }
    }

    #[test]
    fn range_deletions() {
        let items: Vec<(f64, String)> = (0..200).map(|i| (f64::from(i % 50), format!("m{i:03}"))).collect();
        let mut zsl = ZSkipList::new();
        for (s, n) in &items {
            zsl.insert(*s, Rc::from(n.as_bytes()));
        }
        let removed = zsl.delete_range_by_score(&ZRangeSpec { min: 10.0, max: 19.0, minex: false, maxex: false });
        assert_eq!(removed.len(), 40);
        zsl.check_invariants();
        let removed = zsl.delete_range_by_rank(1, 10);
        assert_eq!(removed.len(), 10);
        zsl.check_invariants();
        assert_eq!(zsl.len(), 150);
        let all = ZLexRangeSpec { min: LexBound::Min, max: LexBound::Max, minex: true, maxex: true };
        assert_eq!(zsl.delete_range_by_lex(&all).len(), 150);
        assert!(zsl.is_empty());
        assert_eq!(zsl.first(), NIL);
        assert_eq!(zsl.last(), NIL);
    }

    /// Thousands of nodes fill every size class (a node of 5+ levels comes once in 256, so
    /// 5000 nodes all staying below that has odds of about e^-19); ties on the score make
    /// every step compare members, as ZADD myzset 0 member does.
    #[test]
    fn large_list_with_tied_scores_uses_every_class() {
        let mut zsl = ZSkipList::new();
        for i in 0..5000 {
            zsl.insert(f64::from(i % 3), ele(&format!("m{:05}", (i * 7919) % 5000)));
        }
        zsl.check_invariants();
        let per_class = zsl.nodes.class_slots();
        assert!(per_class.iter().all(|&n| n > 0), "{per_class:?}");
        assert_eq!(per_class.iter().sum::<usize>(), 5001);
        for i in (0..5000).step_by(3) {
            let name = format!("m{:05}", (i * 7919) % 5000);
            assert!(zsl.delete(f64::from(i % 3), name.as_bytes()).is_some(), "{name}");
        }
        for i in (1..5000).step_by(3) {
            zsl.update_score(f64::from(i % 3), format!("m{:05}", (i * 7919) % 5000).as_bytes(), -1.0);
        }
        zsl.check_invariants();
        assert_eq!(zsl.len(), 5000 - 1667);
        assert_eq!(zsl.score(zsl.first()), -1.0);
        assert_eq!(zsl.get_rank(zsl.score(zsl.last()), zsl.ele(zsl.last())), zsl.len());
    }

    #[test]
    fn free_some_tears_down_to_a_fresh_list() {
        let mut zsl = ZSkipList::new();
        for i in 0..5000 {
            zsl.insert(f64::from(i), ele(&format!("m{i}")));
        }
        let mut calls = 0;
        while zsl.free_some(100) > 0 {
            calls += 1;
            assert_eq!(zsl.nodes.slots(), 5001 - 100 * calls.min(50));
        }
        assert!(calls >= 50);
        assert_eq!((zsl.nodes.slots(), zsl.len(), zsl.level), (1, 0, 1));
        // It is a working empty list again.
        zsl.insert(1.0, ele("a"));
        zsl.check_invariants();
        assert_eq!(names(&zsl), ["a"]);
    }
}

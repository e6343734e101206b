//! Lazy freeing without threads: Redis's lazyfree.c. Redis hands big values and flushed
//! databases to a bio thread; ferredis has no threads (a fork must find a consistent heap),
//! so the event loop frees them itself, a slice at a time.
//!
//! UNLINK, FLUSHDB/FLUSHALL ASYNC and the lazyfree-lazy-* options detach the value (or the
//! db's tables) from the keyspace at once, so the key is gone for every later command, and
//! queue it in [`LazyFree`] (`srv.lazyfree`). [`lazyfree_step`] runs from before_sleep and
//! serverCron and frees queued elements for about [`STEP_BUDGET`], looking at the clock
//! every few hundred elements, then lets the loop serve clients again; while work is left
//! the loop polls without sleeping. A 10M-member set (seconds of work) thus goes in
//! thousands of slices, and no client waits much more than a slice for its turn. Values
//! whose free effort is at most [`LAZYFREE_THRESHOLD`] are freed on the spot, as Redis does.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::dict::Dict;
use crate::object::{RObj, Sds, Value, ValueRef};
use crate::server::Server;

/// Redis: LAZYFREE_THRESHOLD: values with more allocations than this are freed lazily.
pub const LAZYFREE_THRESHOLD: usize = 64;
/// The freeing work one call of [`lazyfree_step`] may do before yielding to clients.
pub const STEP_BUDGET: Duration = Duration::from_micros(1000);
/// Elements of a value freed between two looks at the clock (a few microseconds of work).
const VALUE_CHUNK: usize = 256;
/// Keys of a flushed db freed between two looks at the clock: each may take a value of up
/// to LAZYFREE_THRESHOLD elements with it (bigger ones are queued on their own).
const DB_CHUNK: usize = 16;
/// An allocation size glibc serves from its large bins (above the tcache and small-bin
/// sizes, below the mmap threshold): asking for it merges the fastbins first.
#[cfg(not(feature = "jemalloc"))]
const MERGE_TRIGGER_BYTES: usize = 4096;

/// Something detached from the keyspace whose memory is still to be released.
enum Pending {
    /// Redis: a lazyfreeFreeObject job.
    Value(Value),
    /// Redis: a lazyfreeFreeDatabase job: a flushed db's main and expires tables.
    Db { dict: Dict<Sds, RObj>, expires: Dict<Sds, i64> },
}

/// The queue of detached values and tables (Redis: the BIO_LAZY_FREE job list) and its
/// counters.
#[derive(Default)]
pub struct LazyFree {
    queue: VecDeque<Pending>,
    /// Redis: lazyfree_objects: values and keys still queued (INFO lazyfree_pending_objects).
    pending_objects: usize,
    /// Redis: lazyfreed_objects: values and keys freed so far (INFO lazyfreed_objects).
    freed_objects: usize,
}

impl LazyFree {
    /// Redis: lazyfree.c lazyfreeGetPendingObjectsCount().
    pub fn pending_objects(&self) -> usize {
        self.pending_objects
    }

    /// Redis: lazyfree.c lazyfreeGetFreedObjectsCount().
    pub fn freed_objects(&self) -> usize {
        self.freed_objects
    }

    /// Redis: lazyfree.c lazyfreeResetStats() (CONFIG RESETSTAT).
    pub fn reset_stats(&mut self) {
        self.freed_objects = 0;
    }

    /// Nothing left to free.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a value detached from the keyspace.
    fn push_value(&mut self, value: Value) {
        self.pending_objects += 1;
        self.queue.push_back(Pending::Value(value));
    }

    /// Frees queued work for about `budget`; true while work is left.
    pub fn free_for(&mut self, budget: Duration) -> bool {
        let start = Instant::now();
        while let Some(mut item) = self.queue.pop_front() {
            let more = self.free_chunk(&mut item);
            merge_freed_chunks();
            if more {
                self.queue.push_front(item);
            } else {
                self.retire(item);
            }
            if start.elapsed() >= budget {
                break;
            }
        }
        !self.queue.is_empty()
    }

    /// Frees one clock-check's worth of `item`; false when only its shell is left.
    fn free_chunk(&mut self, item: &mut Pending) -> bool {
        match item {
            Pending::Value(value) => value_free_some(value, VALUE_CHUNK) > 0,
            Pending::Db { dict, .. } if !dict.is_empty() => {
                self.free_db_keys(dict);
                true
            }
            // Then the expires entries and both tables' bucket arrays.
            Pending::Db { dict, expires } => expires.free_some(VALUE_CHUNK) > 0 || dict.free_some(VALUE_CHUNK) > 0,
        }
    }

    /// Frees a few keys of a flushed db; a big value among them is queued on its own, so
    /// it too is freed piecemeal (and counted when it is).
    fn free_db_keys(&mut self, dict: &mut Dict<Sds, RObj>) {
        let mut big = Vec::new();
        let unlinked = dict.unlink_some(DB_CHUNK, |_key, val| {
            if free_effort(val.value()) > LAZYFREE_THRESHOLD {
                big.push(val.into_value());
            }
        });
        self.pending_objects = self.pending_objects.saturating_sub(unlinked);
        self.freed_objects += unlinked - big.len();
        for value in big {
            self.push_value(value);
        }
    }

    /// Drops what is left of a finished item and counts a value as freed.
    fn retire(&mut self, item: Pending) {
        if let Pending::Value(_) = item {
            self.pending_objects = self.pending_objects.saturating_sub(1);
            self.freed_objects += 1;
        }
        drop(item);
    }
}

/// glibc's malloc keeps small freed chunks in "fastbins" and merges them only when a large
/// request comes; after millions of frees with no such request, that one merge walks them
/// all, a stall of seconds in whichever call makes it. A large allocation after each
/// chunk makes the allocator merge as we go, a chunk's worth at a time. jemalloc (the
/// default build) has no such deferred merge, so there it does nothing.
fn merge_freed_chunks() {
    #[cfg(not(feature = "jemalloc"))]
    drop(std::hint::black_box(Vec::<u8>::with_capacity(MERGE_TRIGGER_BYTES)));
}

/// Redis: lazyfree.c lazyfreeGetFreeEffort(): the allocations freeing the value takes, as
/// the element count of the aggregate encodings (nodes for lists); 1 for strings and the
/// single-allocation encodings (listpack, intset).
pub fn free_effort(value: ValueRef<'_>) -> usize {
    match value {
        ValueRef::Str(_) => 1,
        ValueRef::List(l) => l.free_effort(),
        ValueRef::Hash(h) => h.free_effort(),
        ValueRef::Set(s) => s.free_effort(),
        ValueRef::ZSet(z) => z.free_effort(),
        ValueRef::Stream(x) => x.free_effort(),
    }
}

/// Frees up to `budget` elements of a queued value; 0 when only its shell is left.
fn value_free_some(value: &mut Value, budget: usize) -> usize {
    match value {
        Value::Str(_) => 0,
        Value::List(l) => l.free_some(budget),
        Value::Hash(h) => h.free_some(budget),
        Value::Set(s) => s.free_some(budget),
        Value::ZSet(z) => z.free_some(budget),
        Value::Stream(x) => x.free_some(budget),
    }
}

/// Redis: lazyfree.c freeObjAsync(): a big value is queued, a small one freed now.
pub fn free_obj_async(srv: &mut Server, obj: RObj) {
    if free_effort(obj.value()) > LAZYFREE_THRESHOLD {
        srv.lazyfree.push_value(obj.into_value());
    } else {
        drop(obj);
    }
}

/// Redis: lazyfree.c emptyDbAsync(): the db gets fresh tables at once and the old ones are
/// queued. Returns the number of keys removed.
pub fn empty_db_async(srv: &mut Server, dbid: usize) -> usize {
    let Some(db) = srv.db.get_mut(dbid) else { return 0 };
    let dict = std::mem::take(&mut db.dict);
    let expires = std::mem::take(&mut db.expires);
    db.avg_ttl = 0;
    db.expires_cursor = 0;
    let removed = dict.len();
    srv.lazyfree.pending_objects += removed;
    srv.lazyfree.queue.push_back(Pending::Db { dict, expires });
    removed
}

/// The event loop's share of the freeing (Redis has a thread for it): called from
/// before_sleep and serverCron. While work is left the loop polls without sleeping, so
/// the next slice comes as soon as the clients that are ready have been served.
pub fn lazyfree_step(srv: &mut Server) {
    if srv.lazyfree.is_idle() {
        return;
    }
    let more = srv.lazyfree.free_for(STEP_BUDGET);
    srv.el.ae_set_dont_wait(more);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::StrValue;
    use crate::t_hash::{HashLimits, HashValue};
    use crate::t_list::ListValue;
    use crate::t_set::SetValue;
    use crate::test_support::test_server;

    fn effort(v: &Value) -> usize {
        free_effort(v.as_view())
    }

    fn big_set(n: usize) -> Value {
        let mut s = SetValue::create(b"m0");
        for i in 0..n {
            s.add(format!("m{i}").as_bytes(), 512);
        }
        Value::Set(Box::new(s))
    }

    fn intset(n: usize) -> Value {
        let mut s = SetValue::create(b"0");
        for i in 0..n {
            s.add(i.to_string().as_bytes(), 512);
        }
        Value::Set(Box::new(s))
    }

    fn big_hash(n: usize) -> Value {
        let limits = HashLimits { max_entries: 0, max_value: 0 };
        let mut h = HashValue::new();
        for i in 0..n {
            h.set(format!("f{i}").as_bytes(), b"v", limits);
        }
        Value::Hash(h)
    }

    fn big_list(n: usize) -> Value {
        let mut l = ListValue::new(-2, 0);
        for i in 0..n {
            l.push(format!("element-{i:08}").as_bytes(), crate::quicklist::End::Tail);
        }
        Value::List(Box::new(l))
    }

    fn big_zset(n: usize) -> Value {
        let limits = crate::t_zset::ZsetLimits { max_entries: 128, max_value: 64 };
        let mut z = crate::t_zset::ZSetValue::new_skiplist();
        for i in 0..n {
            let added = z.add(i as f64, format!("z{i}").as_bytes(), Default::default(), limits);
            assert!(added.is_ok());
        }
        Value::ZSet(z)
    }

    fn big_stream(entries: u64) -> Value {
        let mut s = crate::stream::Stream::new();
        let limits = crate::stream::NodeLimits { max_bytes: 4096, max_entries: 10 };
        for i in 1..=entries {
            let at = crate::stream::StreamId::new(i, 0);
            assert!(s.append_item(&[b"f", b"v"], Some(at), true, 0, limits).is_ok());
        }
        Value::Stream(Box::new(s))
    }

    /// Frees `value` through value_free_some and returns the number of calls it took.
    fn free_in_chunks(mut value: Value, chunk: usize) -> usize {
        let mut calls = 0;
        while value_free_some(&mut value, chunk) > 0 {
            calls += 1;
            assert!(calls < 1_000_000);
        }
        calls
    }

    #[test]
    fn effort_follows_lazyfree_get_free_effort() {
        assert_eq!(effort(&Value::Str(StrValue::Raw(Box::new(vec![0; 1000])))), 1);
        assert_eq!(effort(&intset(500)), 1, "an intset is one allocation");
        assert_eq!(effort(&big_set(1000)), 1000);
        assert_eq!(effort(&big_hash(100)), 100);
        let list = big_list(100_000);
        let Value::List(l) = &list else { unreachable!() };
        assert_eq!(effort(&list), l.quicklist().node_count());
        assert!(effort(&list) > LAZYFREE_THRESHOLD);
    }

    #[test]
    fn values_free_piecemeal_down_to_their_shell() {
        assert!(free_in_chunks(big_set(10_000), 100) >= 100);
        assert!(free_in_chunks(big_hash(10_000), 100) >= 100);
        let list = big_list(20_000);
        let nodes = effort(&list);
        assert_eq!(free_in_chunks(list, 1), nodes);
        assert_eq!(free_in_chunks(intset(500), 100), 0);
        let zset = big_zset(10_000);
        assert_eq!(effort(&zset), 10_000);
        // The dict's entries, its bucket arrays, then the skiplist's nodes and arenas.
        assert!(free_in_chunks(zset, 100) >= 200);
        let stream = big_stream(1000);
        assert!(effort(&stream) > 100, "one per node at least");
        assert!(free_in_chunks(stream, 10) >= 10);
    }

    #[test]
    fn unlink_queues_big_values_and_frees_small_ones_now() {
        let mut srv = test_server();
        free_obj_async(&mut srv, RObj::new(big_set(1000), 0));
        free_obj_async(&mut srv, RObj::new(big_set(64), 0));
        free_obj_async(&mut srv, RObj::string_from(b"x", 0));
        assert_eq!(srv.lazyfree.pending_objects(), 1);
        let mut turns = 0;
        while srv.lazyfree.free_for(Duration::ZERO) {
            turns += 1;
        }
        assert!(turns >= 1000 / VALUE_CHUNK, "{turns}");
        assert_eq!((srv.lazyfree.pending_objects(), srv.lazyfree.freed_objects()), (0, 1));
        srv.lazyfree.reset_stats();
        assert_eq!(srv.lazyfree.freed_objects(), 0);
    }

    #[test]
    fn flushed_db_counts_keys_and_queues_big_values_apart() {
        let mut srv = test_server();
        for i in 0..100 {
            let key = format!("k{i}");
            srv.db[0].db_add(key.as_bytes(), RObj::string_from(b"v", 0));
            srv.db[0].set_expire(key.as_bytes(), i64::MAX);
        }
        srv.db[0].db_add(b"big", RObj::new(big_set(5000), 0));
        assert_eq!(empty_db_async(&mut srv, 0), 101);
        assert_eq!(srv.db[0].size(), 0);
        assert_eq!(srv.db[0].expires.len(), 0);
        assert_eq!(srv.lazyfree.pending_objects(), 101);
        // One slice of keys: the pending count falls as keys go.
        srv.lazyfree.free_for(Duration::ZERO);
        let pending = srv.lazyfree.pending_objects();
        assert!((101 - DB_CHUNK..101).contains(&pending), "{pending}");
        while srv.lazyfree.free_for(Duration::ZERO) {}
        assert!(srv.lazyfree.is_idle());
        assert_eq!((srv.lazyfree.pending_objects(), srv.lazyfree.freed_objects()), (0, 101));
    }

    #[test]
    fn step_frees_within_its_budget_and_keeps_the_loop_awake() {
        let mut srv = test_server();
        free_obj_async(&mut srv, RObj::new(big_set(200_000), 0));
        lazyfree_step(&mut srv);
        // 200k members take far longer than one slice.
        assert!(!srv.lazyfree.is_idle());
        let Some(Pending::Value(Value::Set(s))) = srv.lazyfree.queue.front() else { panic!("queued set") };
        assert!(s.len() <= 200_000);
        let mut steps = 1;
        while !srv.lazyfree.is_idle() {
            lazyfree_step(&mut srv);
            steps += 1;
            assert!(steps < 1_000_000);
        }
        assert_eq!((srv.lazyfree.pending_objects(), srv.lazyfree.freed_objects()), (0, 1));
    }
}

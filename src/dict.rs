//! Chained hash table with incremental rehashing (Redis: dict.c).
//!
//! Holds the keyspace, the expires table and the hash/set/zset encodings. Tables are
//! powers of two; when one must grow or shrink, a second table is allocated and the
//! entries migrate a bucket at a time — one step on each lookup/insert/delete plus
//! `rehash_milliseconds` from serverCron — so no single call of the single-threaded
//! event loop ever walks the whole keyspace. Rust's borrow rules replace Redis's
//! "safe iterator" pause: iteration borrows the dict, so nothing can rehash meanwhile.

use crate::siphash::dict_gen_hash_function;
use std::collections::TryReserveError;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// Redis: dict.h DICT_HT_INITIAL_SIZE
const DICT_HT_INITIAL_SIZE: usize = 4;
/// Grow even while resizing is disabled once elements/buckets exceeds this.
const DICT_FORCE_RESIZE_RATIO: usize = 5;
/// Redis: server.h HASHTABLE_MIN_FILL — below this percentage a table should shrink.
const HASHTABLE_MIN_FILL: usize = 10;
/// Redis: dict.c DICT_STATS_VECTLEN
const DICT_STATS_VECTLEN: usize = 50;
/// Redis: dict.c GETFAIR_NUM_ENTRIES
const GETFAIR_NUM_ENTRIES: usize = 15;
/// Buckets `free_some` gives back per unit of its budget once the entries are gone:
/// 64 buckets = 512 bytes, so a budget of 256 frees 128 KB of bucket array per call.
const BUCKETS_RELEASED_PER_UNIT: usize = 64;

/// Redis: dict.c dict_can_resize — off while a fork child exists (copy-on-write).
static DICT_CAN_RESIZE: AtomicBool = AtomicBool::new(true);

/// Redis: dict.c dictEnableResize() / dictDisableResize()
pub fn set_resize_enabled(enabled: bool) {
    DICT_CAN_RESIZE.store(enabled, Ordering::Relaxed);
}

/// Whether dicts may grow at the normal 1:1 fill and shrink (see `set_resize_enabled`).
pub fn resize_enabled() -> bool {
    DICT_CAN_RESIZE.load(Ordering::Relaxed)
}

/// Redis: dictType hashFunction/keyCompare — a key stored in a dict, probed by bytes.
pub trait DictKey: Eq {
    fn key_bytes(&self) -> &[u8];

    /// Redis: dictType.hashFunction (dictSdsHash by default).
    fn hash_bytes(bytes: &[u8]) -> u64 {
        dict_gen_hash_function(bytes)
    }

    /// Redis: dictType.keyCompare; must agree with `hash_bytes`.
    fn bytes_match(stored: &[u8], probe: &[u8]) -> bool {
        stored == probe
    }
}

impl DictKey for Vec<u8> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

impl DictKey for Box<[u8]> {
    fn key_bytes(&self) -> &[u8] {
        self
    }
}

/// Optional per-dict veto on growing (Redis: dictType.expandAllowed), called with the
/// bytes the new bucket array needs and the current elements/buckets ratio.
pub type ExpandAllowedFn = fn(more_mem: usize, used_ratio: f64) -> bool;

/// Redis: dict.c struct dictEntry
#[derive(Clone)]
struct DictEntry<K, V> {
    key: K,
    val: V,
    next: Chain<K, V>,
}

type Chain<K, V> = Option<Box<DictEntry<K, V>>>;

/// Where an entry sits: table, bucket, and position in the bucket's chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    table: usize,
    bucket: usize,
    depth: usize,
}

/// Splitmix64 over a global counter, mixed with the hash seed so that separate
/// processes sample differently. Stands in for Redis's random()/genrand64.
fn dict_rand() -> u64 {
    const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = crate::siphash::hash_seed();
    let salt = u64::from_le_bytes([
        seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7],
    ]);
    let mut z = STATE
        .fetch_add(GOLDEN, Ordering::Relaxed)
        .wrapping_add(GOLDEN)
        ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniformly-ish random index below `n` (n > 0).
fn rand_below(n: usize) -> usize {
    (dict_rand() % (n.max(1) as u64)) as usize
}

/// Redis: dict.c _dictNextExp() — the power of two ≥ size (at least 4), or None when
/// the bucket array could not even be addressed.
fn next_table_size(size: usize) -> Option<usize> {
    let buckets = size.max(DICT_HT_INITIAL_SIZE).checked_next_power_of_two()?;
    let bytes = buckets.checked_mul(std::mem::size_of::<Chain<(), ()>>())?;
    (bytes <= isize::MAX as usize).then_some(buckets)
}

/// Drops a chain front to back, so a long chain cannot overflow the stack.
fn drop_chain<K, V>(mut chain: Chain<K, V>) {
    while let Some(mut entry) = chain {
        chain = entry.next.take();
    }
}

/// Follows `depth` links down a chain.
fn link_at<K, V>(mut link: &mut Chain<K, V>, depth: usize) -> &mut Chain<K, V> {
    for _ in 0..depth {
        match link {
            Some(entry) => link = &mut entry.next,
            None => break,
        }
    }
    link
}

fn entry_at<K, V>(head: Option<&DictEntry<K, V>>, depth: usize) -> Option<&DictEntry<K, V>> {
    let mut cur = head;
    for _ in 0..depth {
        cur = cur?.next.as_deref();
    }
    cur
}

/// Redis: dict.h dictht (ht_table/ht_size_exp/ht_used of one table).
struct HashTable<K, V> {
    buckets: Box<[Chain<K, V>]>,
    used: usize,
}

impl<K, V> HashTable<K, V> {
    fn unallocated() -> Self {
        HashTable {
            buckets: Box::new([]),
            used: 0,
        }
    }

    /// Redis: zcalloc() of the bucket array. `vec![None; n]` of `Option<Box<_>>` is allocated
    /// zeroed (calloc: fresh zero pages), not written bucket by bucket, so growing to 8M
    /// buckets does not stall the loop for the 64 MB it would otherwise write. (The Clone
    /// bound only satisfies `vec!`; no entry is cloned.)
    fn with_size(size: usize) -> Self
    where
        K: Clone,
        V: Clone,
    {
        let buckets: Vec<Chain<K, V>> = vec![None; size];
        HashTable {
            buckets: buckets.into_boxed_slice(),
            used: 0,
        }
    }

    fn try_with_size(size: usize) -> Result<Self, TryReserveError> {
        let mut buckets = Vec::new();
        buckets.try_reserve_exact(size)?;
        buckets.resize_with(size, || None);
        Ok(HashTable {
            buckets: buckets.into_boxed_slice(),
            used: 0,
        })
    }

    fn size(&self) -> usize {
        self.buckets.len()
    }

    fn mask(&self) -> usize {
        self.size().wrapping_sub(1)
    }

    fn bucket_of(&self, hash: u64) -> Option<usize> {
        (self.size() > 0).then(|| (hash as usize) & self.mask())
    }

    fn head(&self, bucket: usize) -> Option<&DictEntry<K, V>> {
        self.buckets.get(bucket)?.as_deref()
    }

    /// Redis: dict.c _dictClear() for one table.
    fn clear_chains(&mut self) {
        if self.used == 0 {
            return; // finished rehash sources are all-empty: skip the O(size) walk
        }
        for bucket in self.buckets.iter_mut() {
            drop_chain(bucket.take());
        }
        self.used = 0;
    }

    /// Calls `f` on every entry of one bucket (dictScan's emit step).
    fn emit_bucket(&self, bucket: usize, f: &mut impl FnMut(&K, &V)) {
        let mut cur = self.head(bucket);
        while let Some(entry) = cur {
            f(&entry.key, &entry.val);
            cur = entry.next.as_deref();
        }
    }

    /// Redis: dict.c _dictGetStatsHt()
    fn write_stats(&self, htidx: usize, out: &mut String) {
        let name = if htidx == 0 {
            "main hash table"
        } else {
            "rehashing target"
        };
        let _ = writeln!(out, "Hash table {htidx} stats ({name}):");
        if self.used == 0 {
            out.push_str("No stats available for empty dictionaries\n");
            return;
        }
        let chains = ChainStats::collect(self);
        chains.write(self.size(), self.used, out);
    }
}

impl<K, V> Drop for HashTable<K, V> {
    fn drop(&mut self) {
        self.clear_chains();
    }
}

/// Chain-length figures behind DEBUG HTSTATS.
struct ChainStats {
    slots: usize,
    max_len: usize,
    total_len: usize,
    histogram: [usize; DICT_STATS_VECTLEN],
}

impl ChainStats {
    fn collect<K, V>(table: &HashTable<K, V>) -> Self {
        let mut stats = ChainStats {
            slots: 0,
            max_len: 0,
            total_len: 0,
            histogram: [0; DICT_STATS_VECTLEN],
        };
        for bucket in table.buckets.iter() {
            let mut len = 0;
            let mut cur = bucket.as_deref();
            while let Some(entry) = cur {
                len += 1;
                cur = entry.next.as_deref();
            }
            stats.histogram[len.min(DICT_STATS_VECTLEN - 1)] += 1;
            if len > 0 {
                stats.slots += 1;
                stats.max_len = stats.max_len.max(len);
                stats.total_len += len;
            }
        }
        stats
    }

    /// Redis computes these ratios in single precision; so do we, to print the same digits.
    fn write(&self, size: usize, used: usize, out: &mut String) {
        let slots = self.slots as f32;
        let _ = write!(
            out,
            " table size: {size}\n number of elements: {used}\n different slots: {}\n \
             max chain length: {}\n avg chain length (counted): {:.2}\n \
             avg chain length (computed): {:.2}\n Chain length distribution:\n",
            self.slots,
            self.max_len,
            self.total_len as f32 / slots,
            used as f32 / slots,
        );
        // Like Redis, the last histogram cell (chains of 49 or more) is never printed.
        for (len, &count) in self
            .histogram
            .iter()
            .enumerate()
            .take(DICT_STATS_VECTLEN - 1)
        {
            if count == 0 {
                continue;
            }
            let percent = (count as f32 / size as f32) * 100.0;
            let _ = writeln!(out, "   {len}: {count} ({percent:.2}%)");
        }
    }
}

/// Redis: dict.h struct dict — two tables and the incremental rehash cursor.
pub struct Dict<K, V> {
    ht: [HashTable<K, V>; 2],
    /// Next ht[0] bucket to migrate; None when not rehashing (Redis: rehashidx == -1).
    rehashidx: Option<usize>,
    expand_allowed: Option<ExpandAllowedFn>,
    /// Where `free_some` resumes: a bucket index over ht[0] then ht[1] (lazyfree.rs).
    free_cursor: usize,
}

impl<K: DictKey + Clone, V: Clone> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Redis: dict.c dictCreate()
    pub fn new() -> Self {
        Dict {
            ht: [HashTable::unallocated(), HashTable::unallocated()],
            rehashidx: None,
            expand_allowed: None,
            free_cursor: 0,
        }
    }

    /// A dict already expanded for `n` elements. `n` must not come from a client: use
    /// `try_expand` for sizes read from the network or a file.
    pub fn with_capacity(n: usize) -> Self {
        let mut dict = Self::new();
        dict.expand(n);
        dict
    }

    /// Installs a dictType.expandAllowed-style veto (the keyspace checks maxmemory).
    pub fn set_expand_allowed(&mut self, check: ExpandAllowedFn) {
        self.expand_allowed = Some(check);
    }

    /// Redis: dict.h dictSize()
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: dict.h dictSlots() — buckets in both tables.
    pub fn slots(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }

    /// Redis: dict.h dictIsRehashing()
    pub fn is_rehashing(&self) -> bool {
        self.rehashidx.is_some()
    }

    /// Redis: server.c htNeedsResize() — more than 4 buckets and under 10% full.
    pub fn needs_resize(&self) -> bool {
        let size = self.slots();
        size > DICT_HT_INITIAL_SIZE && self.len().saturating_mul(100) / size < HASHTABLE_MIN_FILL
    }
}

/// Growing, shrinking and incremental rehashing.
impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Redis: dict.c dictResize()
    /// Shrinks (or grows) to the smallest power of two holding every element; false
    /// when resizing is disabled, a rehash is running, or the size would not change.
    pub fn resize(&mut self) -> bool {
        self.resize_with_policy(resize_enabled())
    }

    fn resize_with_policy(&mut self, can_resize: bool) -> bool {
        if !can_resize || self.is_rehashing() {
            return false;
        }
        self.expand(self.ht[0].used.max(DICT_HT_INITIAL_SIZE))
    }

    /// Redis: dict.c dictExpand()
    /// Starts a rehash into a table for `size` elements (or creates the first table);
    /// false if skipped. Aborts on out-of-memory like zmalloc: for sizes a client or a
    /// file chose, use `try_expand`.
    pub fn expand(&mut self, size: usize) -> bool {
        match self.expand_target(size) {
            Some(buckets) => {
                self.install_table(HashTable::with_size(buckets));
                true
            }
            None => false,
        }
    }

    /// Redis: dict.c dictTryExpand()
    /// Like `expand` but reports an allocation failure instead of aborting. A skipped
    /// expansion (too small, already rehashing, absurd size) is still Ok, as in Redis.
    pub fn try_expand(&mut self, size: usize) -> Result<(), TryReserveError> {
        if let Some(buckets) = self.expand_target(size) {
            self.install_table(HashTable::try_with_size(buckets)?);
        }
        Ok(())
    }

    /// Redis: dict.c _dictExpand() checks: the bucket count to allocate, if any.
    fn expand_target(&self, size: usize) -> Option<usize> {
        if self.is_rehashing() || self.ht[0].used > size {
            return None;
        }
        let buckets = next_table_size(size)?;
        (buckets != self.ht[0].size()).then_some(buckets)
    }

    fn install_table(&mut self, table: HashTable<K, V>) {
        if self.ht[0].size() == 0 {
            self.ht[0] = table; // first allocation: nothing to migrate
        } else {
            self.ht[1] = table;
            self.rehashidx = Some(0);
        }
    }

    /// Redis: dict.c _dictExpandIfNeeded()
    fn expand_if_needed(&mut self) {
        self.expand_if_needed_with_policy(resize_enabled());
    }

    fn expand_if_needed_with_policy(&mut self, can_resize: bool) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].size();
        if size == 0 {
            self.expand(DICT_HT_INITIAL_SIZE);
            return;
        }
        let used = self.ht[0].used;
        let may_grow = can_resize || used / size > DICT_FORCE_RESIZE_RATIO;
        if used >= size && may_grow && self.type_expand_allowed() {
            self.expand(used + 1);
        }
    }

    /// Redis: dict.c dictTypeExpandAllowed()
    fn type_expand_allowed(&self) -> bool {
        let Some(check) = self.expand_allowed else {
            return true;
        };
        let used = self.ht[0].used;
        let buckets = next_table_size(used.saturating_add(1)).unwrap_or(usize::MAX);
        let more_mem = buckets.saturating_mul(std::mem::size_of::<Chain<K, V>>());
        check(more_mem, used as f64 / self.ht[0].size().max(1) as f64)
    }

    /// Redis: dict.c dictRehash()
    /// Migrates up to `n` non-empty buckets, visiting at most 10*n empty ones; returns
    /// true while entries remain to move.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehashidx else {
            return false;
        };
        let mut empty_visits = n.saturating_mul(10);
        for _ in 0..n {
            if self.ht[0].used == 0 {
                break;
            }
            while matches!(self.ht[0].buckets.get(idx), Some(None)) {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehashidx = Some(idx);
                    return true;
                }
            }
            if idx >= self.ht[0].size() {
                debug_assert!(
                    false,
                    "ht[0].used is {} past its last bucket",
                    self.ht[0].used
                );
                break;
            }
            self.move_bucket(idx);
            idx += 1;
        }
        self.rehashidx = Some(idx);
        if self.ht[0].used == 0 {
            self.finish_rehash();
            return false;
        }
        true
    }

    /// Moves one ht[0] chain into ht[1], each entry to the head of its new bucket.
    fn move_bucket(&mut self, idx: usize) {
        let [old, new] = &mut self.ht;
        let shrinking = new.size() < old.size();
        let mut chain = old.buckets.get_mut(idx).and_then(Option::take);
        while let Some(mut entry) = chain {
            chain = entry.next.take();
            // Shrinking keeps the low bits, so the old index already names the bucket.
            let dest = if shrinking {
                idx & new.mask()
            } else {
                (K::hash_bytes(entry.key.key_bytes()) as usize) & new.mask()
            };
            if let Some(head) = new.buckets.get_mut(dest) {
                entry.next = head.take();
                *head = Some(entry);
                old.used -= 1;
                new.used += 1;
            }
        }
    }

    fn finish_rehash(&mut self) {
        self.ht[0] = std::mem::replace(&mut self.ht[1], HashTable::unallocated());
        self.rehashidx = None;
    }

    /// Redis: dict.c _dictRehashStep()
    fn rehash_step(&mut self) {
        if self.is_rehashing() {
            self.rehash(1);
        }
    }

    /// Redis: dict.c dictRehashMilliseconds()
    /// Rehashes 100 buckets at a time until done or `ms` has passed; returns the
    /// number of steps attempted (in hundreds, as Redis counts them).
    pub fn rehash_milliseconds(&mut self, ms: u64) -> usize {
        let start = Instant::now();
        let mut rehashes = 0;
        while self.rehash(100) {
            rehashes += 100;
            if start.elapsed().as_millis() > u128::from(ms) {
                break;
            }
        }
        rehashes
    }
}

/// Lookup, insertion and removal.
impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Finds `key` given its hash, in ht[0] and (while rehashing) ht[1].
    fn search(&self, hash: u64, key: &[u8]) -> Option<(Slot, &DictEntry<K, V>)> {
        let tables = if self.is_rehashing() { 2 } else { 1 };
        for (table, ht) in self.ht.iter().enumerate().take(tables) {
            let Some(bucket) = ht.bucket_of(hash) else {
                continue;
            };
            let mut cur = ht.head(bucket);
            let mut depth = 0;
            while let Some(entry) = cur {
                if K::bytes_match(entry.key.key_bytes(), key) {
                    return Some((
                        Slot {
                            table,
                            bucket,
                            depth,
                        },
                        entry,
                    ));
                }
                cur = entry.next.as_deref();
                depth += 1;
            }
        }
        None
    }

    fn search_slot(&self, hash: u64, key: &[u8]) -> Option<Slot> {
        self.search(hash, key).map(|(slot, _)| slot)
    }

    fn link_mut(&mut self, slot: Slot) -> Option<&mut Chain<K, V>> {
        let head = self.ht.get_mut(slot.table)?.buckets.get_mut(slot.bucket)?;
        Some(link_at(head, slot.depth))
    }

    fn entry(&self, slot: Slot) -> Option<&DictEntry<K, V>> {
        entry_at(self.ht.get(slot.table)?.head(slot.bucket), slot.depth)
    }

    /// Links a new entry at the head of its bucket in the table new keys go to.
    /// The caller has run `expand_if_needed`, so that table has buckets.
    fn insert_new(&mut self, hash: u64, key: K, val: V) -> &mut DictEntry<K, V> {
        let target = usize::from(self.is_rehashing());
        let table = &mut self.ht[target];
        let bucket = (hash as usize) & table.mask();
        table.used += 1;
        let head = &mut table.buckets[bucket];
        let next = head.take();
        head.insert(Box::new(DictEntry { key, val, next }))
    }

    /// Redis: dict.c dictFetchValue() without the rehash step, for shared borrows.
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.get_key_value(key).map(|(_, v)| v)
    }

    pub fn get_key_value(&self, key: &[u8]) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let (_, entry) = self.search(K::hash_bytes(key), key)?;
        Some((&entry.key, &entry.val))
    }

    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.get_key_value(key).is_some()
    }

    /// Redis: dict.c dictFind()
    /// Looks `key` up after one incremental rehash step.
    pub fn find(&mut self, key: &[u8]) -> Option<&mut V> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let slot = self.search_slot(K::hash_bytes(key), key)?;
        let entry = self.link_mut(slot)?.as_deref_mut()?;
        Some(&mut entry.val)
    }

    /// Redis: dict.c dictAdd()
    /// Inserts a new key; gives key and value back if the key is already present.
    pub fn add(&mut self, key: K, val: V) -> Result<(), (K, V)> {
        self.rehash_step();
        let hash = K::hash_bytes(key.key_bytes());
        self.expand_if_needed();
        if self.search(hash, key.key_bytes()).is_some() {
            return Err((key, val));
        }
        self.insert_new(hash, key, val);
        Ok(())
    }

    /// Redis: dict.c dictReplace()
    /// Inserts or overwrites; returns the previous value. An existing entry keeps its
    /// original key object (the passed key is dropped), as in Redis.
    pub fn insert(&mut self, key: K, val: V) -> Option<V> {
        self.rehash_step();
        let hash = K::hash_bytes(key.key_bytes());
        self.expand_if_needed();
        if let Some(slot) = self.search_slot(hash, key.key_bytes()) {
            if let Some(entry) = self.link_mut(slot).and_then(|l| l.as_deref_mut()) {
                return Some(std::mem::replace(&mut entry.val, val));
            }
        }
        self.insert_new(hash, key, val);
        None
    }

    /// Redis: dict.c dictAddOrFind()
    /// The value stored under `key`, inserting `make_key()`/`make_val()` if absent.
    pub fn find_or_insert_with(
        &mut self,
        key: &[u8],
        make_key: impl FnOnce() -> K,
        make_val: impl FnOnce() -> V,
    ) -> &mut V {
        self.rehash_step();
        let hash = K::hash_bytes(key);
        self.expand_if_needed();
        match self.search_slot(hash, key) {
            Some(slot) => {
                let table = &mut self.ht[slot.table];
                let link = link_at(&mut table.buckets[slot.bucket], slot.depth);
                // `search` just found the entry here, so the closure never runs.
                let entry = link.get_or_insert_with(|| {
                    table.used += 1;
                    Box::new(DictEntry {
                        key: make_key(),
                        val: make_val(),
                        next: None,
                    })
                });
                &mut entry.val
            }
            None => &mut self.insert_new(hash, make_key(), make_val()).val,
        }
    }

    /// Redis: dict.c dictAddRaw() with its `existing` out-parameter: "insert, or give me the
    /// stored value" with one hash and one search (a SET of a new key used to pay a find and
    /// then an add). Inserts `val` under `make_key()` when `key` is absent; else hands `val`
    /// back together with the stored value.
    pub fn add_or_existing(&mut self, key: &[u8], make_key: impl FnOnce() -> K, val: V) -> Result<(), (V, &mut V)> {
        self.rehash_step();
        let hash = K::hash_bytes(key);
        let Some(slot) = self.search_slot(hash, key) else {
            self.expand_if_needed();
            self.insert_new(hash, make_key(), val);
            return Ok(());
        };
        let table = &mut self.ht[slot.table];
        let link = link_at(&mut table.buckets[slot.bucket], slot.depth);
        match link {
            Some(entry) => Err((val, &mut entry.val)),
            // `search` just found the entry here: not reached.
            None => {
                table.used += 1;
                *link = Some(Box::new(DictEntry { key: make_key(), val, next: None }));
                Ok(())
            }
        }
    }

    /// Redis: dict.c dictUnlink() / dictDelete()
    /// Removes `key`, handing back the stored key and value.
    pub fn remove(&mut self, key: &[u8]) -> Option<(K, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let slot = self.search_slot(K::hash_bytes(key), key)?;
        let link = self.link_mut(slot)?;
        let mut entry = link.take()?;
        *link = entry.next.take();
        self.ht[slot.table].used -= 1;
        let DictEntry { key, val, .. } = *entry;
        Some((key, val))
    }

    /// Redis: dict.c dictEmpty()
    pub fn clear(&mut self) {
        self.ht = [HashTable::unallocated(), HashTable::unallocated()];
        self.rehashidx = None;
        self.free_cursor = 0;
    }
}

/// Piecemeal release, for lazyfree.rs: a big dict is emptied a few entries per event-loop
/// turn instead of in one dictRelease() that would stall every client.
impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Redis: dict.c _dictClear() cut into steps (lazyfree.c runs it on a thread instead).
    /// Drops up to `n` entries (see `unlink_some`); once none is left, gives back the
    /// bucket arrays `n` * BUCKETS_RELEASED_PER_UNIT buckets at a time, since freeing a
    /// 128 MB array in one go takes tens of milliseconds. Returns the work done: the
    /// entries dropped, or 1 for a call that only walked empty buckets or shrank an array;
    /// 0 when the dict is empty and has no table left (as after `new`).
    pub fn free_some(&mut self, n: usize) -> usize {
        if !self.is_empty() {
            return self.unlink_some(n, |_key, _val| ()).max(1);
        }
        usize::from(self.release_buckets_some(n.saturating_mul(BUCKETS_RELEASED_PER_UNIT)))
    }

    /// Shrinks the (empty) bucket arrays by up to `buckets`, ht[1] first; false when both
    /// are gone. In between, sizes are not powers of two: lookups stay in bounds (the mask
    /// is below the size) but the dict is meant only to be dropped or freed further.
    fn release_buckets_some(&mut self, buckets: usize) -> bool {
        let step = buckets.max(1);
        for t in [1, 0] {
            let size = self.ht[t].size();
            if size == 0 {
                continue;
            }
            if size <= step {
                self.ht[t] = HashTable::unallocated();
            } else {
                let mut kept = std::mem::take(&mut self.ht[t].buckets).into_vec();
                kept.truncate(size - step);
                // Shrinking reallocates in place (mremap for big arrays): cost ~ bytes freed.
                self.ht[t].buckets = kept.into_boxed_slice();
            }
            return true;
        }
        self.rehashidx = None;
        self.free_cursor = 0;
        false
    }

    /// Unlinks up to `n` entries bucket by bucket, resuming where the last call stopped,
    /// and hands each to `f`. No rehash step is taken: the dict is being taken apart. At
    /// most 10*n empty buckets are visited (as dictRehash() bounds its walk), so a call is
    /// O(n) even in a sparse table; it may then return 0 before the dict is empty, which
    /// `is_empty` tells. The bucket arrays go when the dict is dropped.
    pub fn unlink_some(&mut self, n: usize, mut f: impl FnMut(K, V)) -> usize {
        let mut unlinked = 0;
        let mut empty_visits = n.saturating_mul(10).max(1);
        while unlinked < n && !self.is_empty() && empty_visits > 0 {
            let size0 = self.ht[0].size();
            let (t, b) = match self.free_cursor.checked_sub(size0) {
                None => (0, self.free_cursor),
                Some(b1) => (1, b1),
            };
            let table = &mut self.ht[t];
            let Some(head) = table.buckets.get_mut(b) else {
                // Past both tables: entries were added behind the cursor. Start over.
                self.free_cursor = 0;
                empty_visits -= 1;
                continue;
            };
            match head.take() {
                Some(mut entry) => {
                    *head = entry.next.take();
                    table.used -= 1;
                    let DictEntry { key, val, .. } = *entry;
                    f(key, val);
                    unlinked += 1;
                }
                None => {
                    self.free_cursor += 1;
                    empty_visits -= 1;
                }
            }
        }
        if self.is_empty() {
            self.free_cursor = 0;
        }
        unlinked
    }
}

/// Random sampling.
impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Redis: dict.c dictGetRandomKey()
    /// A random bucket that is not empty, then a random entry of its chain.
    pub fn random_entry(&mut self) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step();
        let this: &Self = self;
        let head = this.random_nonempty_bucket()?;
        let mut len = 0;
        let mut cur = Some(head);
        while let Some(entry) = cur {
            len += 1;
            cur = entry.next.as_deref();
        }
        let entry = entry_at(Some(head), rand_below(len))?;
        Some((&entry.key, &entry.val))
    }

    /// Probes random buckets until one has entries. While rehashing, ht[0] below
    /// rehashidx is known empty, so the probe spans [rehashidx, slots) of both tables.
    fn random_nonempty_bucket(&self) -> Option<&DictEntry<K, V>> {
        if self.is_empty() {
            return None;
        }
        loop {
            let head = match self.rehashidx {
                Some(first) => {
                    let h = first + rand_below(self.slots() - first);
                    let s0 = self.ht[0].size();
                    if h >= s0 {
                        self.ht[1].head(h - s0)
                    } else {
                        self.ht[0].head(h)
                    }
                }
                None => self.ht[0].head((dict_rand() as usize) & self.ht[0].mask()),
            };
            if head.is_some() {
                return head;
            }
        }
    }

    /// Redis: dict.c dictGetSomeKeys()
    /// Up to `count` entries from a run of buckets starting at a random spot, visiting
    /// at most 10*count buckets: fast sampling, neither uniform nor duplicate-free.
    pub fn some_entries(&mut self, count: usize) -> Vec<(&K, &V)> {
        let slots = self.sample_slots(count);
        let this: &Self = self;
        slots
            .into_iter()
            .filter_map(|slot| this.entry(slot))
            .map(|e| (&e.key, &e.val))
            .collect()
    }

    /// Redis: dict.c dictGetFairRandomKey()
    /// Picks among a `some_entries` sample, which evens out chain-length bias; falls
    /// back to `random_entry` when the sample came back empty.
    pub fn fair_random_entry(&mut self) -> Option<(&K, &V)> {
        let slots = self.sample_slots(GETFAIR_NUM_ENTRIES);
        let Some(&slot) = slots.get(rand_below(slots.len())) else {
            return self.random_entry();
        };
        let entry = self.entry(slot)?;
        Some((&entry.key, &entry.val))
    }

    /// dictGetSomeKeys' walk, yielding positions so callers can borrow afterwards.
    fn sample_slots(&mut self, count: usize) -> Vec<Slot> {
        let count = count.min(self.len());
        // Rehash work proportional to the sample, as Redis does.
        for _ in 0..count {
            if !self.is_rehashing() {
                break;
            }
            self.rehash_step();
        }
        SampleWalk::new(self, count).run()
    }
}

/// State of one dictGetSomeKeys() walk.
struct SampleWalk<'a, K, V> {
    dict: &'a Dict<K, V>,
    count: usize,
    maxsizemask: usize,
    emptylen: usize,
    found: Vec<Slot>,
}

impl<'a, K: DictKey + Clone, V: Clone> SampleWalk<'a, K, V> {
    fn new(dict: &'a Dict<K, V>, count: usize) -> Self {
        let mut maxsizemask = dict.ht[0].mask();
        if dict.is_rehashing() {
            maxsizemask = maxsizemask.max(dict.ht[1].mask());
        }
        SampleWalk {
            dict,
            count,
            maxsizemask,
            emptylen: 0,
            found: Vec::with_capacity(count),
        }
    }

    fn run(self) -> Vec<Slot> {
        if self.count == 0 {
            return self.found;
        }
        let start = (dict_rand() as usize) & self.maxsizemask;
        if self.dict.is_rehashing() {
            self.run_tables(start)
        } else {
            self.run_one_table(start)
        }
    }

    /// The walk from bucket `start` over both tables of a rehashing dict.
    fn run_tables(mut self, start: usize) -> Vec<Slot> {
        let tables = if self.dict.is_rehashing() { 2 } else { 1 };
        let mut i = start;
        let mut maxsteps = self.count.saturating_mul(10);
        while self.found.len() < self.count && maxsteps > 0 {
            maxsteps -= 1;
            for table in 0..tables {
                i = match self.visit(table, i) {
                    Visit::Full => return self.found,
                    Visit::Next(next_i) => next_i,
                };
            }
            i = (i + 1) & self.maxsizemask;
        }
        self.found
    }

    /// The same walk over a dict that is not rehashing: one table and no rehash index, so
    /// each step is a bucket load (SPOP and SRANDMEMBER walk dozens of empty buckets of a
    /// sparse set per call).
    fn run_one_table(mut self, start: usize) -> Vec<Slot> {
        let dict = self.dict;
        let buckets = &dict.ht[0].buckets;
        let mut i = start;
        let mut maxsteps = self.count.saturating_mul(10);
        while self.found.len() < self.count && maxsteps > 0 {
            maxsteps -= 1;
            match buckets.get(i).and_then(|head| head.as_deref()) {
                None => {
                    self.emptylen += 1;
                    if self.emptylen >= 5 && self.emptylen > self.count {
                        i = (dict_rand() as usize) & self.maxsizemask;
                        self.emptylen = 0;
                    }
                }
                Some(head) => {
                    self.emptylen = 0;
                    if self.take_chain(i, head) {
                        return self.found;
                    }
                }
            }
            i = (i + 1) & self.maxsizemask;
        }
        self.found
    }

    /// Records the entries of the chain at bucket `i` of ht[0]; true once `count` are found.
    fn take_chain(&mut self, i: usize, head: &DictEntry<K, V>) -> bool {
        let mut cur = Some(head);
        let mut depth = 0;
        while let Some(entry) = cur {
            self.found.push(Slot { table: 0, bucket: i, depth });
            if self.found.len() == self.count {
                return true;
            }
            cur = entry.next.as_deref();
            depth += 1;
        }
        false
    }

    /// Examines bucket `i` of `table`; returns the (possibly jumped) cursor.
    fn visit(&mut self, table: usize, mut i: usize) -> Visit {
        let dict = self.dict;
        if let (0, Some(ridx)) = (table, dict.rehashidx) {
            // ht[0] is empty below rehashidx; if ht[1] is also out of range there,
            // nothing lives below rehashidx at all, so jump to it.
            if i < ridx && i < dict.ht[1].size() {
                return Visit::Next(i);
            }
            i = i.max(ridx);
        }
        let ht = &dict.ht[table];
        if i >= ht.size() {
            return Visit::Next(i);
        }
        let mut cur = ht.head(i);
        if cur.is_none() {
            self.emptylen += 1;
            if self.emptylen >= 5 && self.emptylen > self.count {
                i = (dict_rand() as usize) & self.maxsizemask;
                self.emptylen = 0;
            }
            return Visit::Next(i);
        }
        self.emptylen = 0;
        let mut depth = 0;
        while let Some(entry) = cur {
            self.found.push(Slot {
                table,
                bucket: i,
                depth,
            });
            if self.found.len() == self.count {
                return Visit::Full;
            }
            cur = entry.next.as_deref();
            depth += 1;
        }
        Visit::Next(i)
    }
}

enum Visit {
    Full,
    Next(usize),
}

/// Scanning, iteration and statistics.
impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
    /// Redis: dict.c dictScan()
    /// Emits the bucket(s) under `cursor` and returns the next cursor (0 = done).
    /// The cursor advances on its reversed bits, so every entry present for the whole
    /// scan is reported at least once even if the table grows, shrinks or rehashes
    /// between calls; entries may be reported more than once.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        if !self.is_rehashing() {
            let t0 = &self.ht[0];
            let m0 = t0.mask() as u64;
            t0.emit_bucket((v & m0) as usize, &mut f);
            return next_cursor(v, m0);
        }
        let (small, large) = if self.ht[0].size() > self.ht[1].size() {
            (&self.ht[1], &self.ht[0])
        } else {
            (&self.ht[0], &self.ht[1])
        };
        let (m0, m1) = (small.mask() as u64, large.mask() as u64);
        small.emit_bucket((v & m0) as usize, &mut f);
        // Then every bucket of the larger table that expands the small table's index.
        loop {
            large.emit_bucket((v & m1) as usize, &mut f);
            v = next_cursor(v, m1);
            if v & (m0 ^ m1) == 0 {
                return v;
            }
        }
    }

    /// Redis: dict.c dictGetIterator()/dictNext() — every entry, table 0 then table 1.
    pub fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            buckets: self.ht[0].buckets.iter().chain(self.ht[1].buckets.iter()),
            cur: None,
            remaining: self.len(),
        }
    }

    /// Every entry with its value mutable (keys must stay put: they decide the bucket).
    pub fn iter_mut(&mut self) -> IterMut<'_, K, V> {
        let remaining = self.len();
        let [t0, t1] = &mut self.ht;
        IterMut {
            buckets: t0.buckets.iter_mut().chain(t1.buckets.iter_mut()),
            cur: None,
            remaining,
        }
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.iter().map(|(_, v)| v)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.iter_mut().map(|(_, v)| v)
    }

    /// Empties the dict, yielding its entries by value.
    pub fn drain(&mut self) -> IntoIter<K, V> {
        std::mem::take(self).into_iter()
    }

    /// Redis: dict.c dictGetStats()
    /// The DEBUG HTSTATS text for this dict (the "[Dictionary HT]"-style title line is
    /// the caller's, as in debug.c). ht[1] is reported only while rehashing.
    pub fn stats(&self) -> String {
        let mut out = String::new();
        self.ht[0].write_stats(0, &mut out);
        if self.is_rehashing() {
            self.ht[1].write_stats(1, &mut out);
        }
        out
    }
}

/// dictScan's cursor step: set the bits above `mask`, then add one on reversed bits.
fn next_cursor(v: u64, mask: u64) -> u64 {
    (v | !mask).reverse_bits().wrapping_add(1).reverse_bits()
}

/// Both tables' buckets, ht[0] first.
type BucketsIter<'a, K, V> =
    std::iter::Chain<std::slice::Iter<'a, Chain<K, V>>, std::slice::Iter<'a, Chain<K, V>>>;
type BucketsIterMut<'a, K, V> =
    std::iter::Chain<std::slice::IterMut<'a, Chain<K, V>>, std::slice::IterMut<'a, Chain<K, V>>>;

/// Borrowing iterator over (key, value); see `Dict::iter`.
pub struct Iter<'a, K, V> {
    buckets: BucketsIter<'a, K, V>,
    cur: Option<&'a DictEntry<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        while self.remaining > 0 {
            if let Some(entry) = self.cur {
                self.cur = entry.next.as_deref();
                self.remaining -= 1;
                return Some((&entry.key, &entry.val));
            }
            self.cur = self.buckets.next()?.as_deref();
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for Iter<'_, K, V> {}

/// Iterator over (key, mutable value); see `Dict::iter_mut`.
pub struct IterMut<'a, K, V> {
    buckets: BucketsIterMut<'a, K, V>,
    cur: Option<&'a mut DictEntry<K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for IterMut<'a, K, V> {
    type Item = (&'a K, &'a mut V);

    fn next(&mut self) -> Option<Self::Item> {
        while self.remaining > 0 {
            if let Some(entry) = self.cur.take() {
                let DictEntry { key, val, next } = entry;
                self.cur = next.as_deref_mut();
                self.remaining -= 1;
                return Some((&*key, val));
            }
            self.cur = self.buckets.next()?.as_deref_mut();
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<K, V> ExactSizeIterator for IterMut<'_, K, V> {}

/// Owning iterator; unlinks one entry per call so dropping it midway stays iterative.
pub struct IntoIter<K, V> {
    dict: Dict<K, V>,
    table: usize,
    bucket: usize,
}

impl<K, V> Iterator for IntoIter<K, V> {
    type Item = (K, V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let table = self.dict.ht.get_mut(self.table)?;
            let Some(head) = table
                .buckets
                .get_mut(self.bucket)
                .filter(|_| table.used > 0)
            else {
                self.table += 1;
                self.bucket = 0;
                continue;
            };
            match head.take() {
                Some(mut entry) => {
                    *head = entry.next.take();
                    table.used -= 1;
                    let DictEntry { key, val, .. } = *entry;
                    return Some((key, val));
                }
                None => self.bucket += 1,
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.dict.ht[0].used + self.dict.ht[1].used;
        (left, Some(left))
    }
}

impl<K: DictKey + Clone, V: Clone> IntoIterator for Dict<K, V> {
    type Item = (K, V);
    type IntoIter = IntoIter<K, V>;

    fn into_iter(self) -> IntoIter<K, V> {
        IntoIter {
            dict: self,
            table: 0,
            bucket: 0,
        }
    }
}

impl<'a, K: DictKey + Clone, V: Clone> IntoIterator for &'a Dict<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = Iter<'a, K, V>;

    fn into_iter(self) -> Iter<'a, K, V> {
        self.iter()
    }
}

impl<K: DictKey + Clone + std::fmt::Debug, V: Clone + std::fmt::Debug> std::fmt::Debug for Dict<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{HashMap, HashSet};

    type TestDict = Dict<Vec<u8>, u64>;

    fn key(i: u64) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    /// Structural invariants every public operation must preserve.
    fn check_invariants<K: DictKey, V>(d: &Dict<K, V>) {
        for ht in &d.ht {
            let counted: usize = ht
                .buckets
                .iter()
                .map(|b| {
                    let mut n = 0;
                    let mut cur = b.as_deref();
                    while let Some(e) = cur {
                        n += 1;
                        cur = e.next.as_deref();
                    }
                    n
                })
                .sum();
            assert_eq!(counted, ht.used, "used counter out of sync");
            assert!(ht.size() == 0 || ht.size().is_power_of_two());
        }
        match d.rehashidx {
            Some(idx) => {
                assert!(d.ht[1].size() > 0);
                assert!(d.ht[0].buckets.iter().take(idx).all(Option::is_none));
            }
            None => assert_eq!(d.ht[1].size(), 0),
        }
        // Every entry lives in the bucket its hash names.
        for ht in &d.ht {
            for (b, chain) in ht.buckets.iter().enumerate() {
                let mut cur = chain.as_deref();
                while let Some(e) = cur {
                    assert_eq!((K::hash_bytes(e.key.key_bytes()) as usize) & ht.mask(), b);
                    cur = e.next.as_deref();
                }
            }
        }
    }

    #[test]
    fn free_some_empties_in_bounded_steps() {
        let mut d = rehashing_dict();
        let total = d.len();
        let mut calls = 0;
        while !d.is_empty() {
            let before = d.len();
            assert!(d.free_some(100) > 0);
            assert!(before - d.len() <= 100);
            check_invariants(&d);
            calls += 1;
            assert!(calls < 1000, "free_some does not progress");
        }
        assert!(calls >= total / 100);
        // Then the bucket arrays go, a slice per call.
        assert!(d.slots() > 0);
        while d.free_some(1) > 0 {
            calls += 1;
            assert!(calls < 2000, "bucket arrays are not released");
        }
        assert_eq!((d.slots(), d.is_rehashing()), (0, false));
        assert_eq!(d.free_some(100), 0);
        // What is left is a fresh dict.
        assert!(d.add(key(1), 1).is_ok());
        check_invariants(&d);
    }

    #[test]
    fn unlink_some_hands_over_every_entry_once() {
        let mut d = TestDict::new();
        for i in 0..5000 {
            assert!(d.add(key(i), i).is_ok());
        }
        let mut seen = HashSet::new();
        while !d.is_empty() {
            d.unlink_some(7, |k, v| {
                assert_eq!(k, key(v));
                assert!(seen.insert(v));
            });
        }
        assert_eq!(seen.len(), 5000);
    }

    #[test]
    fn free_some_walk_is_bounded_in_a_sparse_table() {
        let mut d = TestDict::with_capacity(1 << 16);
        // One entry, in whichever bucket its hash names: reaching it may take many calls,
        // each visiting at most 10 empty buckets.
        assert!(d.add(key(1), 1).is_ok());
        let mut calls = 0;
        while d.unlink_some(1, |_, _| ()) == 0 {
            calls += 1;
            assert!(calls <= (1 << 16) / 10 + 1);
        }
        assert!(d.is_empty());
        // Entries added behind the cursor are still found (the walk wraps around).
        let mut d = TestDict::new();
        for i in 0..100 {
            assert!(d.add(key(i), i).is_ok());
        }
        d.free_some(50);
        for i in 100..120 {
            assert!(d.add(key(i), i).is_ok());
        }
        while !d.is_empty() {
            d.free_some(10);
        }
        assert!(d.add(key(7), 7).is_ok());
        assert_eq!(d.get(&key(7)), Some(&7));
    }

    /// Keys that all hash alike, to build long chains.
    #[derive(Clone, PartialEq, Eq, Debug)]
    struct Colliding(Vec<u8>);

    impl DictKey for Colliding {
        fn key_bytes(&self) -> &[u8] {
            &self.0
        }
        fn hash_bytes(_: &[u8]) -> u64 {
            7
        }
    }

    /// A dict caught in the middle of growing from 1024 to 2048 buckets.
    fn rehashing_dict() -> TestDict {
        let mut d = TestDict::with_capacity(1024);
        for i in 0..1024 {
            d.insert_new(TestDict::hash_of(&key(i)), key(i), i);
        }
        assert!(!d.is_rehashing());
        assert!(d.add(key(1024), 1024).is_ok());
        assert!(d.is_rehashing());
        assert_eq!(d.ht[1].size(), 2048);
        d
    }

    impl<K: DictKey + Clone, V: Clone> Dict<K, V> {
        fn hash_of(k: &[u8]) -> u64 {
            K::hash_bytes(k)
        }
    }

    #[test]
    fn add_find_replace_delete_across_rehashes() {
        let mut d = TestDict::new();
        assert!(d.is_empty() && d.slots() == 0 && d.find(b"x").is_none());
        let mut saw_rehash = false;
        for i in 0..5000 {
            assert!(d.add(key(i), i).is_ok());
            saw_rehash |= d.is_rehashing();
            if i % 97 == 0 {
                check_invariants(&d);
            }
        }
        assert!(saw_rehash);
        assert_eq!(d.len(), 5000);
        assert_eq!(d.add(key(10), 99), Err((key(10), 99)));
        for i in 0..5000 {
            assert_eq!(d.get(&key(i)), Some(&i));
            assert_eq!(d.find(&key(i)).copied(), Some(i));
        }
        assert_eq!(d.insert(key(3), 33), Some(3));
        assert_eq!(d.insert(key(9000), 9), None);
        *d.find(&key(4)).unwrap() += 40;
        assert_eq!(d.get(&key(4)), Some(&44));
        for i in (0..5000).step_by(2) {
            assert_eq!(
                d.remove(&key(i)).map(|(_, v)| v),
                Some(if i == 4 { 44 } else { i })
            );
            assert!(d.remove(&key(i)).is_none());
        }
        check_invariants(&d);
        assert_eq!(d.len(), 2501);
        assert!(d.get(&key(2)).is_none() && d.get(&key(3)) == Some(&33));
        assert_eq!(d.get_key_value(&key(5)), Some((&key(5), &5)));
        assert!(d.contains_key(&key(9000)) && !d.contains_key(b"nope"));
        d.clear();
        assert!(d.is_empty() && d.slots() == 0 && !d.is_rehashing());
        assert!(d.add(key(1), 1).is_ok());
        assert_eq!(d.slots(), DICT_HT_INITIAL_SIZE);
    }

    #[test]
    fn growth_follows_redis_sizes() {
        let mut d = TestDict::new();
        assert!(d.add(key(0), 0).is_ok());
        assert_eq!(d.slots(), 4);
        for i in 1..4 {
            assert!(d.add(key(i), i).is_ok());
        }
        assert_eq!(
            d.slots(),
            4,
            "expansion waits for used >= size at the next add"
        );
        d.expand_if_needed_with_policy(true);
        assert!(d.is_rehashing());
        assert_eq!(
            d.ht[1].size(),
            8,
            "dictExpand(used + 1) rounds to a power of two"
        );
        while d.rehash(1) {}
        assert_eq!((d.slots(), d.len()), (8, 4));
    }

    #[test]
    fn disabled_resize_only_grows_past_force_ratio() {
        let mut d = TestDict::with_capacity(4);
        for i in 0..23 {
            d.insert_new(TestDict::hash_of(&key(i)), key(i), i);
            d.expand_if_needed_with_policy(false);
            assert!(!d.is_rehashing(), "grew at {} elements", i + 1);
        }
        d.insert_new(TestDict::hash_of(&key(23)), key(23), 23);
        d.expand_if_needed_with_policy(false); // 24 / 4 = 6 > 5
        assert!(d.is_rehashing());
        assert_eq!(d.ht[1].size(), 32, "dictExpand(used + 1)");
        while d.rehash(100) {}
        check_invariants(&d);
        assert_eq!(d.len(), 24);
    }

    #[test]
    fn resize_shrinks_sparse_tables() {
        let mut d = TestDict::new();
        for i in 0..1000 {
            assert!(d.add(key(i), i).is_ok());
        }
        while d.rehash(100) {}
        assert!(!d.needs_resize());
        for i in 0..990 {
            assert!(d.remove(&key(i)).is_some());
        }
        assert!(d.needs_resize());
        assert!(!d.resize_with_policy(false));
        assert!(d.resize_with_policy(true));
        assert!(!d.resize_with_policy(true), "no resize while rehashing");
        assert_eq!(d.ht[1].size(), 16);
        assert!(d.rehash_milliseconds(1000) > 0 || !d.is_rehashing());
        while d.rehash(100) {}
        check_invariants(&d);
        assert_eq!((d.slots(), d.len()), (16, 10));
        for i in 990..1000 {
            assert_eq!(d.get(&key(i)), Some(&i));
        }
        assert!(!d.needs_resize());
        assert!(!d.resize_with_policy(true), "already minimal");
    }

    #[test]
    fn rehash_step_moves_one_bucket_and_bounds_empty_visits() {
        let mut d = rehashing_dict();
        let mut ops = 0u64;
        while d.is_rehashing() {
            let before = d.rehashidx.unwrap_or(0);
            let occupied: Vec<bool> = d.ht[0].buckets.iter().map(Option::is_some).collect();
            // Alternate the operations that take a rehash step.
            match ops % 3 {
                0 => assert!(d.find(&key(ops % 1000)).is_some()),
                1 => assert!(d.add(key(100_000 + ops), ops).is_ok()),
                _ => assert!(d.remove(&key(100_000 + ops - 1)).is_some()),
            }
            ops += 1;
            let after = d.rehashidx.unwrap_or(occupied.len());
            assert!(
                after - before <= 11,
                "visited {} buckets in one step",
                after - before
            );
            let nonempty = occupied[before..after].iter().filter(|&&o| o).count();
            assert!(nonempty <= 1, "moved {nonempty} buckets in one step");
        }
        check_invariants(&d);
        assert!(
            ops > 100,
            "a 1024-bucket table must take many steps, took {ops}"
        );
    }

    #[test]
    fn rehash_n_visits_at_most_ten_empty_buckets_per_step() {
        let mut d = TestDict::with_capacity(4096);
        for i in 0..3 {
            d.insert_new(TestDict::hash_of(&key(i)), key(i), i);
        }
        assert!(d.expand(8));
        assert!(d.is_rehashing(), "shrinking 4096 -> 8 rehashes");
        let mut steps = 0;
        while d.rehash(1) {
            steps += 1;
            assert!(steps < 4096);
        }
        assert!(
            steps >= 4096 / 11 - 3,
            "a step visited too many empty buckets ({steps} steps)"
        );
        check_invariants(&d);
        assert_eq!(d.slots(), 8);
    }

    #[test]
    fn rehash_milliseconds_finishes_a_rehash() {
        let mut d = rehashing_dict();
        assert!(d.rehash_milliseconds(10_000) >= 100);
        assert!(!d.is_rehashing());
        assert_eq!(d.rehash_milliseconds(1), 0);
        check_invariants(&d);
        assert_eq!(d.len(), 1025);
    }

    #[test]
    fn expand_and_try_expand_reject_bad_sizes() {
        let mut d = TestDict::new();
        for i in 0..10 {
            assert!(d.add(key(i), i).is_ok());
        }
        while d.rehash(100) {}
        let slots = d.slots();
        assert!(!d.expand(5), "smaller than the element count");
        assert!(!d.expand(slots), "same size");
        assert!(!d.expand(usize::MAX));
        assert!(
            d.try_expand(usize::MAX).is_ok(),
            "skipped, as dictTryExpand reports"
        );
        assert!(
            d.try_expand(1 << 58).is_err(),
            "allocation failure is reported"
        );
        assert_eq!(d.slots(), slots);
        assert!(d.try_expand(100).is_ok());
        assert_eq!(d.ht[1].size(), 128);
        assert!(!d.expand(1000), "already rehashing");
    }

    #[test]
    fn find_or_insert_with_inserts_once() {
        let mut d = TestDict::new();
        *d.find_or_insert_with(b"a", || b"a".to_vec(), || 1) += 10;
        let v = d.find_or_insert_with(b"a", || unreachable!(), || unreachable!());
        assert_eq!(*v, 11);
        for i in 0..100 {
            *d.find_or_insert_with(&key(i), || key(i), || 0) += i;
        }
        for i in 0..100 {
            *d.find_or_insert_with(&key(i), || key(i), || 0) += 1;
        }
        assert_eq!(d.len(), 101);
        assert_eq!(d.get(&key(42)), Some(&43));
        check_invariants(&d);
    }

    #[test]
    fn colliding_keys_survive_growth_and_removal() {
        let mut d: Dict<Colliding, u64> = Dict::new();
        for i in 0..300 {
            assert!(d.add(Colliding(key(i)), i).is_ok());
        }
        while d.rehash(100) {}
        check_invariants(&d);
        let stats = d.stats();
        assert!(stats.contains(" max chain length: 300\n"), "{stats}");
        for i in (0..300).rev().step_by(3) {
            assert_eq!(d.remove(&key(i)).map(|(k, v)| (k.0, v)), Some((key(i), i)));
        }
        assert_eq!(d.len(), 200);
        assert_eq!(d.find(&key(1)).copied(), Some(1));
        check_invariants(&d);
    }

    #[test]
    fn new_entries_go_to_the_chain_head() {
        let mut d: Dict<Colliding, u64> = Dict::new();
        for i in 0..3 {
            assert!(d.add(Colliding(key(i)), i).is_ok());
        }
        let order: Vec<u64> = d.values().copied().collect();
        assert_eq!(order, vec![2, 1, 0]);
    }

    #[test]
    fn long_chain_drops_without_recursion() {
        let mut d: Dict<Colliding, u64> = Dict::with_capacity(4);
        let n = 1_000_000;
        let mut chain: Chain<Colliding, u64> = None;
        for i in 0..n {
            chain = Some(Box::new(DictEntry {
                key: Colliding(Vec::new()),
                val: i,
                next: chain,
            }));
        }
        d.ht[0].buckets[0] = chain;
        d.ht[0].used = n as usize;
        let partial: Vec<u64> = d.into_iter().take(3).map(|(_, v)| v).collect();
        assert_eq!(partial, vec![n - 1, n - 2, n - 3]); // the rest drops with the iterator
        let mut t: HashTable<Colliding, u64> = HashTable::with_size(4);
        for i in 0..n {
            let next = t.buckets[1].take();
            t.buckets[1] = Some(Box::new(DictEntry {
                key: Colliding(Vec::new()),
                val: i,
                next,
            }));
        }
        t.used = n as usize;
        drop(t);
    }

    #[test]
    fn iterators_visit_every_entry_once() {
        let mut d = rehashing_dict();
        let seen: HashSet<u64> = d.iter().map(|(_, v)| *v).collect();
        assert_eq!(seen.len(), 1025);
        assert_eq!(d.iter().len(), 1025);
        assert_eq!((&d).into_iter().count(), 1025);
        assert_eq!(d.keys().count(), 1025);
        for (k, v) in d.iter_mut() {
            assert_eq!(*k, key(*v));
            *v += 1;
        }
        for v in d.values_mut() {
            *v *= 2;
        }
        assert_eq!(d.get(&key(7)), Some(&16));
        let drained: HashMap<Vec<u8>, u64> = d.drain().collect();
        assert_eq!(drained.len(), 1025);
        assert!(d.is_empty() && d.slots() == 0);
        assert!(d.add(key(1), 1).is_ok());
        let owned: Vec<(Vec<u8>, u64)> = d.into_iter().collect();
        assert_eq!(owned, vec![(key(1), 1)]);
    }

    #[test]
    fn random_entry_reaches_every_key() {
        for rehashing in [false, true] {
            let mut d = if rehashing {
                rehashing_dict()
            } else {
                TestDict::new()
            };
            if !rehashing {
                for i in 0..40 {
                    assert!(d.add(key(i), i).is_ok());
                }
            }
            let wanted: HashSet<u64> = d.values().copied().take(40).collect();
            let mut seen = HashSet::new();
            let mut fair_seen = HashSet::new();
            for _ in 0..200_000 {
                if seen.is_superset(&wanted) && fair_seen.is_superset(&wanted) {
                    break;
                }
                let (k, v) = d.random_entry().expect("non-empty");
                assert_eq!(*k, key(*v));
                seen.insert(*v);
                let (_, v) = d.fair_random_entry().expect("non-empty");
                fair_seen.insert(*v);
            }
            assert!(seen.is_superset(&wanted), "random_entry missed keys");
            assert!(
                fair_seen.is_superset(&wanted),
                "fair_random_entry missed keys"
            );
        }
        let mut empty = TestDict::with_capacity(64);
        assert!(empty.random_entry().is_none() && empty.fair_random_entry().is_none());
    }

    #[test]
    fn random_entry_works_mid_rehash() {
        let mut d = rehashing_dict();
        d.rehash(300);
        assert!(d.is_rehashing());
        let idx = d.rehashidx.unwrap_or(0);
        // Sampling in a fixed state: take the entries without further steps.
        let mut seen = HashSet::new();
        for _ in 0..20_000 {
            if let Some(e) = d.random_nonempty_bucket() {
                seen.insert(e.val);
            }
        }
        assert!(seen.len() > 500, "only {} distinct heads", seen.len());
        assert_eq!(d.rehashidx, Some(idx));
    }

    #[test]
    fn one_table_walk_matches_the_general_walk() {
        // A dense table (no run of 5 empty buckets, so no random jump): from the same
        // start, the single-table walk and the general one pick the same slots.
        let mut d = TestDict::new();
        for i in 0..1000 {
            assert!(d.add(key(i), i).is_ok());
        }
        while d.is_rehashing() {
            d.rehash(100);
        }
        for start in [0, 1, 77, d.ht[0].mask()] {
            for count in [1, 15, 40] {
                let fast = SampleWalk::new(&d, count).run_one_table(start);
                let general = SampleWalk::new(&d, count).run_tables(start);
                assert_eq!(fast, general, "start {start} count {count}");
                assert_eq!(fast.len(), count);
            }
        }
    }

    #[test]
    fn add_or_existing_inserts_once_and_hands_back_the_stored_value() {
        let mut d = TestDict::new();
        let mut made = 0;
        for i in 0..200u64 {
            let k = key(i % 100);
            match d.add_or_existing(&k, || { made += 1; k.clone() }, i) {
                Ok(()) => assert!(i < 100),
                Err((val, stored)) => {
                    assert!(i >= 100);
                    assert_eq!((val, *stored), (i, i - 100));
                    *stored = val;
                }
            }
            check_invariants(&d);
        }
        assert_eq!((made, d.len()), (100, 100));
        assert!((0..100).all(|i| d.get(&key(i)) == Some(&(i + 100))));
    }

    #[test]
    fn some_entries_samples_existing_keys() {
        for rehashing in [true, false] {
            let mut d = rehashing_dict();
            if !rehashing {
                while d.rehash(100) {}
            }
            for count in [0, 1, 5, 20, 5000] {
                let sample: Vec<(Vec<u8>, u64)> = d
                    .some_entries(count)
                    .into_iter()
                    .map(|(k, v)| (k.clone(), *v))
                    .collect();
                assert!(sample.len() <= count.min(1025));
                // 10 probes per wanted entry: an empty sample is possible for tiny
                // counts (Redis says so), not for 20+ on a table this full.
                assert!(count < 20 || !sample.is_empty(), "count {count}");
                for (k, v) in sample {
                    assert_eq!(k, key(v));
                    assert_eq!(d.get(&k), Some(&v));
                }
            }
        }
        let mut small = TestDict::new();
        for i in 0..3 {
            assert!(small.add(key(i), i).is_ok());
        }
        let got: HashSet<u64> = small
            .some_entries(10)
            .into_iter()
            .map(|(_, v)| *v)
            .collect();
        assert!(!got.is_empty() && got.len() <= 3);
    }

    #[test]
    fn scan_cursor_matches_redis_reverse_increment() {
        // Size 8 (mask 0b111) visits 0,4,2,6,1,5,3,7 then wraps to 0.
        let mut v = 0u64;
        let mut order = Vec::new();
        loop {
            order.push(v);
            v = next_cursor(v, 7);
            if v == 0 {
                break;
            }
        }
        assert_eq!(order, vec![0, 4, 2, 6, 1, 5, 3, 7]);
    }

    #[test]
    fn scan_covers_a_quiet_dict_exactly_once() {
        let mut d = TestDict::new();
        assert_eq!(d.scan(0, |_, _| panic!("empty")), 0);
        for i in 0..500 {
            assert!(d.add(key(i), i).is_ok());
        }
        while d.rehash(100) {}
        let mut seen = Vec::new();
        let mut cursor = 0;
        loop {
            cursor = d.scan(cursor, |_, v| seen.push(*v));
            if cursor == 0 {
                break;
            }
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..500).collect::<Vec<_>>());
    }

    #[test]
    fn stats_match_redis_format() {
        let mut d = TestDict::new();
        assert_eq!(
            d.stats(),
            "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
        );
        assert!(d.add(key(1), 1).is_ok());
        assert_eq!(
            d.stats(),
            "Hash table 0 stats (main hash table):\n table size: 4\n number of elements: 1\n \
             different slots: 1\n max chain length: 1\n avg chain length (counted): 1.00\n \
             avg chain length (computed): 1.00\n Chain length distribution:\n   0: 3 (75.00%)\n   \
             1: 1 (25.00%)\n"
        );
        let d = rehashing_dict();
        let s = d.stats();
        let second = s.find("Hash table 1 stats (rehashing target):\n table size: 2048\n");
        assert!(second.is_some(), "{s}");
        let hist_total: usize = s
            .lines()
            .take_while(|l| !l.starts_with("Hash table 1"))
            .filter_map(|l| {
                l.trim()
                    .split_once(": ")
                    .filter(|(n, _)| n.parse::<u32>().is_ok())
            })
            .map(|(_, rest)| {
                rest.split(' ')
                    .next()
                    .and_then(|c| c.parse::<usize>().ok())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(hist_total, 1024, "ht[0] histogram covers every bucket");
    }

    #[test]
    fn resize_flag_round_trips() {
        // Only ever set the default here: other tests share the global.
        set_resize_enabled(true);
        assert!(resize_enabled());
    }

    #[test]
    fn expand_allowed_veto_blocks_growth() {
        fn deny(_: usize, _: f64) -> bool {
            false
        }
        let mut d = TestDict::new();
        d.set_expand_allowed(deny);
        for i in 0..100 {
            assert!(d.add(key(i), i).is_ok());
        }
        assert_eq!(
            d.slots(),
            4,
            "veto applies to growth, not to the first table"
        );
        check_invariants(&d);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u16),
        Insert(u16),
        Remove(u16),
        Find(u16),
        Resize,
        Rehash(u8),
        Random,
        Sample(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u16..400).prop_map(Op::Add),
            2 => (0u16..400).prop_map(Op::Insert),
            3 => (0u16..400).prop_map(Op::Remove),
            2 => (0u16..400).prop_map(Op::Find),
            1 => Just(Op::Resize),
            1 => any::<u8>().prop_map(Op::Rehash),
            1 => Just(Op::Random),
            1 => any::<u8>().prop_map(Op::Sample),
        ]
    }

    fn apply(d: &mut TestDict, model: &mut HashMap<Vec<u8>, u64>, op: &Op, tick: u64) {
        match *op {
            Op::Add(k) => {
                let fresh = !model.contains_key(&key(k.into()));
                assert_eq!(d.add(key(k.into()), tick).is_ok(), fresh);
                model.entry(key(k.into())).or_insert(tick);
            }
            Op::Insert(k) => {
                assert_eq!(
                    d.insert(key(k.into()), tick),
                    model.insert(key(k.into()), tick)
                );
            }
            Op::Remove(k) => {
                let got = d.remove(&key(k.into())).map(|(_, v)| v);
                assert_eq!(got, model.remove(&key(k.into())));
            }
            Op::Find(k) => {
                assert_eq!(
                    d.find(&key(k.into())).copied(),
                    model.get(&key(k.into())).copied()
                );
            }
            Op::Resize => {
                if d.needs_resize() {
                    d.resize_with_policy(true);
                }
            }
            Op::Rehash(n) => {
                d.rehash(n.into());
            }
            Op::Random => {
                let got = d.random_entry().map(|(k, v)| (k.clone(), *v));
                assert_eq!(got.is_some(), !model.is_empty());
                if let Some((k, v)) = got {
                    assert_eq!(model.get(&k), Some(&v));
                }
            }
            Op::Sample(n) => {
                for (k, v) in d.some_entries(n.into()) {
                    assert_eq!(model.get(k), Some(v));
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum ScanOp {
        AddOthers(u16, u16),
        RemoveOthers(u16, u16),
        Resize,
        Rehash(u8),
    }

    fn scan_op() -> impl Strategy<Value = ScanOp> {
        prop_oneof![
            (0u16..3000, 1u16..400).prop_map(|(a, n)| ScanOp::AddOthers(a, n)),
            (0u16..3000, 1u16..800).prop_map(|(a, n)| ScanOp::RemoveOthers(a, n)),
            Just(ScanOp::Resize),
            any::<u8>().prop_map(ScanOp::Rehash),
        ]
    }

    fn other(i: u16) -> Vec<u8> {
        format!("other:{i}").into_bytes()
    }

    fn apply_scan_op(d: &mut TestDict, op: &ScanOp) {
        match *op {
            ScanOp::AddOthers(start, n) => {
                for i in start..start.saturating_add(n) {
                    let _ = d.add(other(i), u64::MAX);
                }
            }
            ScanOp::RemoveOthers(start, n) => {
                for i in start.saturating_sub(n)..start {
                    d.remove(&other(i));
                }
            }
            ScanOp::Resize => {
                if d.needs_resize() {
                    d.resize_with_policy(true);
                }
            }
            ScanOp::Rehash(n) => {
                d.rehash(n.into());
            }
        }
    }

    proptest! {
        // Debug builds hash slowly; 128 cases keep each property under a few seconds.
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn dict_agrees_with_a_hashmap(ops in prop::collection::vec(op(), 1..600)) {
            let mut d = TestDict::new();
            let mut model = HashMap::new();
            for (tick, op) in ops.iter().enumerate() {
                apply(&mut d, &mut model, op, tick as u64);
                prop_assert_eq!(d.len(), model.len());
            }
            check_invariants(&d);
            for (k, v) in &model {
                prop_assert_eq!(d.get(k), Some(v));
            }
            prop_assert_eq!(d.iter().count(), model.len());
        }

        #[test]
        fn scan_returns_every_key_present_throughout(
            stable in prop::collection::hash_set(0u64..5000, 0..300),
            prefill in 0u16..2000,
            ops in prop::collection::vec(scan_op(), 0..120),
            ops_per_call in 1usize..4,
        ) {
            let mut d = TestDict::new();
            for &i in &stable {
                prop_assert!(d.add(key(i), i).is_ok());
            }
            apply_scan_op(&mut d, &ScanOp::AddOthers(0, prefill));
            let mut pending = ops.iter();
            let mut seen = HashSet::new();
            let mut cursor = 0;
            let mut calls = 0;
            loop {
                cursor = d.scan(cursor, |k, v| {
                    if *v != u64::MAX {
                        seen.insert(k.clone());
                    }
                });
                calls += 1;
                if cursor == 0 {
                    break;
                }
                prop_assert!(calls < 1_000_000, "scan does not terminate");
                for op in pending.by_ref().take(ops_per_call) {
                    apply_scan_op(&mut d, op);
                }
            }
            for &i in &stable {
                prop_assert!(seen.contains(&key(i)), "scan missed key {}", i);
            }
            check_invariants(&d);
        }
    }
}

//! The sorted set type: Redis's t_zset.c (the value and its generic API, the range
//! parsers, and every Z* command).
//!
//! A zset is a listpack (zset_listpack.rs) while it has at most zset-max-listpack-entries
//! members of at most zset-max-listpack-value bytes, and otherwise a skiplist (zskiplist.rs)
//! plus a dict from member to score, exactly where Redis 7.0 converts: on the add that
//! crosses a threshold, and back to a listpack only for the results of ZUNIONSTORE /
//! ZINTERSTORE / ZDIFFSTORE (zsetConvertToListpackIfNeeded). Every command runs to the end
//! on the single event-loop thread; BZPOPMIN/BZPOPMAX/BZMPOP block through blocked.rs and
//! are served by running the command again once a write signals their key.

use crate::db::{self, LookupFlags};
use crate::debug::{mix_digest, xor_digest, Digest};
use crate::dict::{Dict, DictKey};
use crate::networking::Client;
use crate::notify::{self, NOTIFY_GENERIC, NOTIFY_ZSET};
use crate::pubsub;
use crate::object::{self as obj, je_malloc_size, RObj, StrValue, Value, ValueRef, ValueMut};
use crate::server::Server;
use crate::util;
use crate::zset_listpack::{LpValue, ZListpack};
use crate::zskiplist::{LexBound, ZEle, ZLexRangeSpec, ZRangeSpec, ZSkipList, NIL};
use std::rc::Rc;

// ----------------------------------------------------------------------------------------
// The value: encodings and the generic zset API (zsetAdd, zsetDel, zsetScore, zsetRank...)
// ----------------------------------------------------------------------------------------

/// A member as the skiplist encoding's dict key; the bytes are shared with the skiplist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZDictKey(pub ZEle);

impl DictKey for ZDictKey {
    fn key_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Redis: struct zset: the dict (member -> score) and the skiplist of the same elements.
#[derive(Debug, Default)]
pub struct ZSet {
    pub dict: Dict<ZDictKey, f64>,
    pub zsl: ZSkipList,
}

impl Clone for ZSet {
    /// Redis: zsetDup() for skiplists: a presized dict, elements inserted from the tail.
    fn clone(&self) -> Self {
        let mut copy = ZSet { dict: Dict::with_capacity(self.dict.len()), zsl: ZSkipList::new() };
        let mut x = self.zsl.last();
        while let Some(ele) = self.zsl.ele_rc(x) {
            copy.insert_shared(self.zsl.score(x), Rc::clone(ele));
            x = self.zsl.prev(x);
        }
        copy
    }
}

impl ZSet {
    /// Redis: the skiplist branch of zsetDel() / zsetRemoveFromSkiplist().
    fn remove(&mut self, ele: &[u8]) -> bool {
        let Some((_, score)) = self.dict.remove(ele) else { return false };
        self.zsl.delete(score, ele);
        true
    }

    /// Redis: zslInsert() + dictAdd() of a new element.
    fn insert_new(&mut self, score: f64, ele: &[u8]) {
        self.insert_shared(score, Rc::from(ele));
    }

    /// Adds a new element whose bytes are already shared; a full list takes nothing.
    fn insert_shared(&mut self, score: f64, ele: ZEle) {
        if self.zsl.is_full() {
            return;
        }
        self.zsl.insert(score, Rc::clone(&ele));
        let _ = self.dict.add(ZDictKey(ele), score);
    }

    /// Redis: `if (htNeedsResize(dict)) dictResize(dict)` after deletions.
    fn shrink_dict_if_needed(&mut self) {
        if self.dict.needs_resize() {
            self.dict.resize();
        }
    }
}

/// A zset value with its encoding (Redis: OBJ_ZSET with OBJ_ENCODING_LISTPACK / _SKIPLIST).
#[derive(Debug, Clone)]
pub enum ZSetValue {
    Listpack(ZListpack),
    SkipList(Box<ZSet>),
}

impl Default for ZSetValue {
    /// Redis: createZsetListpackObject().
    fn default() -> Self {
        ZSetValue::Listpack(ZListpack::new())
    }
}

impl PartialEq for ZSetValue {
    /// Same encoding and the same (member, score) sequence.
    fn eq(&self, other: &Self) -> bool {
        self.encoding_name() == other.encoding_name()
            && self.len() == other.len()
            && self.to_pairs().into_iter().eq(other.to_pairs())
    }
}

/// Piecemeal release, for a zset that lazyfree.rs frees a slice per event-loop turn.
impl ZSetValue {
    /// Redis: lazyfree.c lazyfreeGetFreeEffort(): the skiplist's length; a listpack is a
    /// single allocation.
    pub fn free_effort(&self) -> usize {
        match self {
            ZSetValue::Listpack(_) => 1,
            ZSetValue::SkipList(zs) => zs.zsl.len(),
        }
    }

    /// Frees up to `budget` elements (the dict's entries, then the skiplist's nodes) and
    /// returns the work done: 0 once what is left goes at once with the value.
    pub fn free_some(&mut self, budget: usize) -> usize {
        match self {
            ZSetValue::Listpack(_) => 0,
            ZSetValue::SkipList(zs) => match zs.dict.free_some(budget) {
                0 => zs.zsl.free_some(budget),
                work => work,
            },
        }
    }
}

/// The listpack thresholds in force (Redis: server.zset_max_listpack_entries / _value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZsetLimits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl ZsetLimits {
    pub fn of(srv: &Server) -> ZsetLimits {
        ZsetLimits {
            max_entries: srv.config.zset_max_listpack_entries,
            max_value: srv.config.zset_max_listpack_value,
        }
    }
}

/// Redis: the ZADD_IN_* flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ZAddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// Redis: the ZADD_OUT_* flags, with the new score where there is one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ZAddOutcome {
    Added(f64),
    Updated(f64),
    /// The element exists and its score did not change.
    Unchanged(f64),
    /// Nothing was done (NX on an existing element, XX on a missing one, GT/LT refused).
    Nop,
}

/// Redis: ZADD_OUT_NAN: the resulting score would be NaN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZAddNan;

/// A position inside a zset while walking it (Redis: eptr for listpacks, a node pointer
/// for skiplists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZPos {
    Lp(usize),
    Sl(usize),
}

impl ZSetValue {
    /// Redis: createZsetObject(): an empty skiplist-encoded zset.
    pub fn new_skiplist() -> ZSetValue {
        ZSetValue::SkipList(Box::default())
    }

    /// Redis: the choice zaddGenericCommand() makes for a new key from its first member.
    pub fn new_for_first_member(first: &[u8], limits: ZsetLimits) -> ZSetValue {
        if limits.max_entries == 0 || limits.max_value < first.len() {
            ZSetValue::new_skiplist()
        } else {
            ZSetValue::default()
        }
    }

    /// Redis: object.c strEncoding() for this type.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            ZSetValue::Listpack(_) => "listpack",
            ZSetValue::SkipList(_) => "skiplist",
        }
    }

    /// Redis: zsetLength().
    pub fn len(&self) -> usize {
        match self {
            ZSetValue::Listpack(lp) => lp.len(),
            ZSetValue::SkipList(zs) => zs.zsl.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every (member, score) in order, owned (tests, comparisons, RDB writers).
    pub fn to_pairs(&self) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(self.len());
        self.for_each(|m, s| out.push((m.to_vec(), s)));
        out
    }

    /// Calls `f` on every (member, score) from the lowest score up.
    pub fn for_each(&self, mut f: impl FnMut(LpValue<'_>, f64)) {
        match self {
            ZSetValue::Listpack(lp) => lp.iter().for_each(|(m, s)| f(m, s)),
            ZSetValue::SkipList(zs) => zs.zsl.iter().for_each(|(m, s)| f(LpValue::Str(m), s)),
        }
    }

    /// Redis: zsetConvert(zobj, OBJ_ENCODING_SKIPLIST).
    pub fn convert_to_skiplist(&mut self) {
        let ZSetValue::Listpack(lp) = self else { return };
        let mut zs = ZSet::default();
        for (member, score) in lp.iter() {
            member.with_bytes(|m| zs.insert_new(score, m));
        }
        *self = ZSetValue::SkipList(Box::new(zs));
    }

    /// Redis: zsetConvert(zobj, OBJ_ENCODING_LISTPACK).
    pub fn convert_to_listpack(&mut self) {
        let ZSetValue::SkipList(zs) = self else { return };
        let mut lp = ZListpack::new();
        for (member, score) in zs.zsl.iter() {
            lp.insert_at(None, member, score);
        }
        *self = ZSetValue::Listpack(lp);
    }

    /// Redis: zsetConvertToListpackIfNeeded(): for the results of the *STORE commands.
    pub fn convert_to_listpack_if_needed(&mut self, maxelelen: usize, totelelen: usize, limits: ZsetLimits) {
        let fits = self.len() <= limits.max_entries
            && maxelelen <= limits.max_value
            && totelelen <= crate::zset_listpack::LISTPACK_MAX_SAFETY_SIZE;
        if matches!(self, ZSetValue::SkipList(_)) && fits {
            self.convert_to_listpack();
        }
    }

    /// Redis: zsetScore().
    pub fn score(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp.find(member).map(|(_, s)| s),
            ZSetValue::SkipList(zs) => zs.dict.find(member).copied(),
        }
    }

    /// zsetScore() through a shared borrow (no incremental rehash step).
    pub fn score_of(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSetValue::Listpack(lp) => lp.find(member).map(|(_, s)| s),
            ZSetValue::SkipList(zs) => zs.dict.get(member).copied(),
        }
    }

    /// Redis: zsetAdd(): adds or updates one element under the ZADD flags, converting
    /// to a skiplist when the listpack would cross a threshold.
    pub fn add(&mut self, score: f64, ele: &[u8], flags: ZAddFlags, limits: ZsetLimits) -> Result<ZAddOutcome, ZAddNan> {
        if score.is_nan() {
            return Err(ZAddNan);
        }
        if let ZSetValue::Listpack(lp) = self {
            match lp.find(ele) {
                Some((eptr, cur)) => return listpack_update(lp, eptr, cur, score, ele, flags),
                None if flags.xx => return Ok(ZAddOutcome::Nop),
                None if lp.len() + 1 > limits.max_entries
                    || ele.len() > limits.max_value
                    || !lp.safe_to_add(ele.len()) =>
                {
                    self.convert_to_skiplist()
                }
                None => {
                    lp.insert_sorted(ele, score);
                    return Ok(ZAddOutcome::Added(score));
                }
            }
        }
        match self {
            ZSetValue::SkipList(zs) => skiplist_add(zs, score, ele, flags),
            ZSetValue::Listpack(_) => Ok(ZAddOutcome::Nop),
        }
    }

    /// Redis: zsetDel().
    pub fn del(&mut self, ele: &[u8]) -> bool {
        match self {
            ZSetValue::Listpack(lp) => match lp.find(ele) {
                Some((eptr, _)) => {
                    lp.delete(eptr);
                    true
                }
                None => false,
            },
            ZSetValue::SkipList(zs) => {
                let removed = zs.remove(ele);
                if removed {
                    zs.shrink_dict_if_needed();
                }
                removed
            }
        }
    }

    /// Redis: zsetRank(): the 0-based rank of `ele`, from the top when `reverse`.
    pub fn rank(&mut self, ele: &[u8], reverse: bool) -> Option<usize> {
        let llen = self.len();
        let rank = match self {
            ZSetValue::Listpack(lp) => lp.rank(ele)? + 1,
            ZSetValue::SkipList(zs) => {
                let score = *zs.dict.find(ele)?;
                zs.zsl.get_rank(score, ele)
            }
        };
        // Checked: a corrupt listpack accepted without deep validation may rank past the end.
        if reverse { llen.checked_sub(rank) } else { rank.checked_sub(1) }
    }
}

/// The listpack branch of zsetAdd() for an element that exists.
fn listpack_update(
    lp: &mut ZListpack,
    eptr: usize,
    cur: f64,
    score: f64,
    ele: &[u8],
    flags: ZAddFlags,
) -> Result<ZAddOutcome, ZAddNan> {
    let Some(score) = existing_element_score(cur, score, flags)? else { return Ok(ZAddOutcome::Nop) };
    if score == cur {
        return Ok(ZAddOutcome::Unchanged(score));
    }
    lp.delete(eptr);
    lp.insert_sorted(ele, score);
    Ok(ZAddOutcome::Updated(score))
}

/// The skiplist branch of zsetAdd().
fn skiplist_add(zs: &mut ZSet, score: f64, ele: &[u8], flags: ZAddFlags) -> Result<ZAddOutcome, ZAddNan> {
    let Some(cur) = zs.dict.find(ele).copied() else {
        // A list at its 32-bit capacity (about 4 billion elements) takes no more.
        if flags.xx || zs.zsl.is_full() {
            return Ok(ZAddOutcome::Nop);
        }
        zs.insert_new(score, ele);
        return Ok(ZAddOutcome::Added(score));
    };
    let Some(score) = existing_element_score(cur, score, flags)? else { return Ok(ZAddOutcome::Nop) };
    if score == cur {
        return Ok(ZAddOutcome::Unchanged(score));
    }
    zs.zsl.update_score(cur, ele, score);
    if let Some(slot) = zs.dict.find(ele) {
        *slot = score;
    }
    Ok(ZAddOutcome::Updated(score))
}

/// The flag logic zsetAdd() applies to an existing element: None when NX/GT/LT refuse.
fn existing_element_score(cur: f64, score: f64, flags: ZAddFlags) -> Result<Option<f64>, ZAddNan> {
    if flags.nx {
        return Ok(None);
    }
    let score = if flags.incr { score + cur } else { score };
    if score.is_nan() {
        return Err(ZAddNan);
    }
    if (flags.lt && score >= cur) || (flags.gt && score <= cur) {
        return Ok(None);
    }
    Ok(Some(score))
}

// Walking a zset in either encoding.
impl ZSetValue {
    /// The element at 0-based `rank` from the bottom, or from the top when `reverse`
    /// (Redis: lpSeek(2*start) / lpSeek(-2-2*start), zslGetElementByRank()).
    fn pos_at_rank(&self, rank: usize, reverse: bool) -> Option<ZPos> {
        match self {
            ZSetValue::Listpack(lp) => {
                let index = 2 * rank as i64;
                lp.seek(if reverse { -2 - index } else { index }).map(ZPos::Lp)
            }
            ZSetValue::SkipList(zs) => {
                let r = if reverse { zs.zsl.len().checked_sub(rank)? } else { rank + 1 };
                Some(zs.zsl.get_element_by_rank(r)).filter(|&x| x != NIL).map(ZPos::Sl)
            }
        }
    }

    /// Redis: zzlFirstInRange()/zzlLastInRange(), zslFirstInRange()/zslLastInRange().
    fn pos_in_range(&self, range: &ZRangeSpec, reverse: bool) -> Option<ZPos> {
        match (self, reverse) {
            (ZSetValue::Listpack(lp), false) => lp.first_in_range(range).map(ZPos::Lp),
            (ZSetValue::Listpack(lp), true) => lp.last_in_range(range).map(ZPos::Lp),
            (ZSetValue::SkipList(zs), false) => sl_pos(zs.zsl.first_in_range(range)),
            (ZSetValue::SkipList(zs), true) => sl_pos(zs.zsl.last_in_range(range)),
        }
    }

    /// The lex-range counterparts.
    fn pos_in_lex_range(&self, range: &ZLexRangeSpec, reverse: bool) -> Option<ZPos> {
        match (self, reverse) {
            (ZSetValue::Listpack(lp), false) => lp.first_in_lex_range(range).map(ZPos::Lp),
            (ZSetValue::Listpack(lp), true) => lp.last_in_lex_range(range).map(ZPos::Lp),
            (ZSetValue::SkipList(zs), false) => sl_pos(zs.zsl.first_in_lex_range(range)),
            (ZSetValue::SkipList(zs), true) => sl_pos(zs.zsl.last_in_lex_range(range)),
        }
    }

    /// Redis: zzlNext()/zzlPrev(), ln->level[0].forward / ln->backward.
    fn pos_step(&self, pos: ZPos, reverse: bool) -> Option<ZPos> {
        match (self, pos) {
            (ZSetValue::Listpack(lp), ZPos::Lp(e)) => {
                let next = if reverse { lp.zzl_prev(e) } else { lp.zzl_next(e) };
                next.map(ZPos::Lp)
            }
            (ZSetValue::SkipList(zs), ZPos::Sl(x)) => sl_pos(if reverse { zs.zsl.prev(x) } else { zs.zsl.next(x) }),
            _ => None,
        }
    }

    fn pos_member(&self, pos: ZPos) -> LpValue<'_> {
        match (self, pos) {
            (ZSetValue::Listpack(lp), ZPos::Lp(e)) => lp.get(e),
            (ZSetValue::SkipList(zs), ZPos::Sl(x)) => LpValue::Str(zs.zsl.ele(x)),
            _ => LpValue::Str(&[]),
        }
    }

    fn pos_score(&self, pos: ZPos) -> f64 {
        match (self, pos) {
            (ZSetValue::Listpack(lp), ZPos::Lp(e)) => lp.score_ptr(e).map_or(0.0, |s| lp.score_at(s)),
            (ZSetValue::SkipList(zs), ZPos::Sl(x)) => zs.zsl.score(x),
            _ => 0.0,
        }
    }
}

fn sl_pos(x: usize) -> Option<ZPos> {
    (x != NIL).then_some(ZPos::Sl(x))
}

// DEBUG DIGEST, MEMORY USAGE, DEBUG OBJECT, DEBUG HTSTATS-KEY.
impl ZSetValue {
    /// Redis: the OBJ_ZSET branch of debug.c xorObjectDigest(): per element, the digest
    /// of member then "%.17g" score, xored together (order-independent).
    pub fn digest_into(&self, digest: &mut Digest) {
        let mut score_text = Vec::with_capacity(32);
        self.for_each(|member, score| {
            let mut eledigest: Digest = [0; 20];
            member.with_bytes(|m| mix_digest(&mut eledigest, m));
            score_text.clear();
            util::write_double_g17(&mut score_text, score);
            mix_digest(&mut eledigest, &score_text);
            xor_digest(digest, &eledigest);
        });
    }

    /// Redis: the OBJ_ZSET branch of object.c objectComputeSize() (without the robj):
    /// the listpack's allocation, or the skiplist's structures plus sampled elements.
    pub fn compute_size(&self, samples: u64) -> usize {
        match self {
            ZSetValue::Listpack(lp) => je_malloc_size(lp.bytes()),
            ZSetValue::SkipList(zs) => skiplist_compute_size(zs, samples),
        }
    }

    /// Redis: the OBJ_ZSET branch of rdb.c rdbSavedObjectLen(): a listpack is one raw
    /// string (maybe LZF-compressed); a skiplist is its length, then per element the
    /// member string and an 8-byte binary score.
    pub fn rdb_saved_len(&self, rdbcompression: bool) -> usize {
        let raw = |b: &[u8]| crate::debug::rdb_saved_string_len(&StrValue::Raw(Box::new(b.to_vec())), rdbcompression);
        match self {
            ZSetValue::Listpack(lp) => raw(lp.as_bytes()),
            ZSetValue::SkipList(zs) => {
                let members: usize = zs.zsl.iter().map(|(m, _)| raw(m) + 8).sum();
                rdb_len_size(zs.zsl.len()) + members
            }
        }
    }

    /// Redis: DEBUG HTSTATS-KEY: the dict stats when skiplist encoded.
    pub fn htstats(&self) -> Option<String> {
        match self {
            ZSetValue::Listpack(_) => None,
            ZSetValue::SkipList(zs) => Some(zs.dict.stats()),
        }
    }
}

/// Redis: rdb.c rdbSaveLen()'s size.
fn rdb_len_size(len: usize) -> usize {
    match len as u64 {
        0..=63 => 1,
        64..=16383 => 2,
        16384..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// Redis: sizeof(zset), sizeof(zskiplist), sizeof(dict), sizeof(dictEntry) on 64-bit 7.0.
const ZSET_STRUCT_SIZE: usize = 16;
const ZSKIPLIST_STRUCT_SIZE: usize = 32;
const DICT_STRUCT_SIZE: usize = 56;
const DICT_ENTRY_SIZE: usize = 24;

/// The skiplist part of objectComputeSize(): fixed structures, the bucket arrays and
/// the header node, then the average sampled element times the element count.
fn skiplist_compute_size(zs: &ZSet, samples: u64) -> usize {
    let header = je_malloc_size(zs.zsl_header_size());
    let mut asize = ZSET_STRUCT_SIZE + ZSKIPLIST_STRUCT_SIZE + DICT_STRUCT_SIZE + 8 * zs.dict.slots() + header;
    let (mut elesize, mut sampled) = (0usize, 0u64);
    let mut x = zs.zsl.first();
    while x != NIL && sampled < samples {
        elesize += sds_zmalloc_size(zs.zsl.ele(x).len());
        elesize += DICT_ENTRY_SIZE + je_malloc_size(zs.zsl.redis_node_size(x));
        sampled += 1;
        x = zs.zsl.next(x);
    }
    if sampled > 0 {
        asize = (asize as f64 + elesize as f64 / sampled as f64 * zs.dict.len() as f64) as usize;
    }
    asize
}

impl ZSet {
    /// Redis: the header node has ZSKIPLIST_MAXLEVEL levels.
    fn zsl_header_size(&self) -> usize {
        24 + 16 * crate::zskiplist::ZSKIPLIST_MAXLEVEL
    }
}

/// Redis: sdsZmallocSize() of an sds made by sdsnewlen(): type 5 headers for 1..31 bytes.
fn sds_zmalloc_size(len: usize) -> usize {
    let hdr = match len {
        1..=31 => 1,
        0..=255 => 3,
        256..=65535 => 5,
        _ if len as u64 <= u64::from(u32::MAX) => 9,
        _ => 17,
    };
    je_malloc_size(hdr + len + 1)
}

// ----------------------------------------------------------------------------------------
// Argument parsing: score and lex ranges, option names
// ----------------------------------------------------------------------------------------

use crate::reply::Reply;

/// C `strcasecmp(arg, lit) == 0`: the argument ends at its first NUL.
fn arg_is(arg: &[u8], lit: &str) -> bool {
    util::c_str_eq_ignore_case(arg, lit.as_bytes())
}

/// C `strtod(s, &eptr)` followed by `eptr[0] == '\0'`: the text up to the first NUL must
/// parse entirely (leading whitespace, "inf", hex floats and overflow to ±inf are all
/// accepted, as zslParseRange() accepts them). An empty text parses as 0.
fn strtod_whole(text: &[u8]) -> Option<f64> {
    let text = &text[..memchr::memchr(0, text).unwrap_or(text.len())];
    let mut buf = Vec::new();
    buf.try_reserve_exact(text.len() + 1).ok()?;
    buf.extend_from_slice(text);
    buf.push(0);
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and lives across the call; strtod reads up to the
    // NUL and stores in `end` a pointer into `buf`.
    let value = unsafe { libc::strtod(buf.as_ptr().cast(), &mut end) };
    let consumed = (end as usize).checked_sub(buf.as_ptr() as usize)?;
    (consumed == text.len()).then_some(value)
}

/// One end of a score range: "(" makes it exclusive; NaN is refused.
fn parse_range_item(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, exclusive) = match arg.split_first() {
        Some((b'(', rest)) => (rest, true),
        _ => (arg, false),
    };
    strtod_whole(text).filter(|v| !v.is_nan()).map(|v| (v, exclusive))
}

/// Redis: zslParseRange(): "1.5", "(1.5", "-inf", "+inf" ...
pub fn zsl_parse_range(min: &[u8], max: &[u8]) -> Option<ZRangeSpec> {
    let (min, minex) = parse_range_item(min)?;
    let (max, maxex) = parse_range_item(max)?;
    Some(ZRangeSpec { min, max, minex, maxex })
}

/// Redis: zslParseLexRangeItem(): "-", "+", "[member" or "(member".
fn parse_lex_item(arg: &[u8]) -> Option<(LexBound, bool)> {
    let alone = arg.get(1).is_none_or(|&b| b == 0);
    match arg.split_first() {
        Some((b'+', _)) if alone => Some((LexBound::Max, true)),
        Some((b'-', _)) if alone => Some((LexBound::Min, true)),
        Some((b'(', rest)) => Some((LexBound::Value(rest.to_vec()), true)),
        Some((b'[', rest)) => Some((LexBound::Value(rest.to_vec()), false)),
        _ => None,
    }
}

/// Redis: zslParseLexRange().
pub fn zsl_parse_lex_range(min: &[u8], max: &[u8]) -> Option<ZLexRangeSpec> {
    let (min, minex) = parse_lex_item(min)?;
    let (max, maxex) = parse_lex_item(max)?;
    Some(ZLexRangeSpec { min, max, minex, maxex })
}

const FLOAT_RANGE_ERR: &str = "min or max is not a float";
const LEX_RANGE_ERR: &str = "min or max not valid string range item";
/// Redis: shared.emptyscan.
const EMPTY_SCAN: &[u8] = b"*2\r\n$1\r\n0\r\n*0\r\n";

/// lookupKey*() + checkType(): Ok(None) for a missing key, Err after replying WRONGTYPE.
fn lookup_zset<'a>(
    srv: &'a mut Server,
    dbid: usize,
    key: &[u8],
    flags: LookupFlags,
    reply: &mut Reply,
) -> Result<Option<&'a mut ZSetValue>, ()> {
    let Some(o) = db::lookup_key(srv, dbid, key, flags) else { return Ok(None) };
    match o.value_mut() {
        ValueMut::ZSet(z) => Ok(Some(z)),
        ValueMut::Str(_) | ValueMut::List(_) | ValueMut::Hash(_) | ValueMut::Set(_) | ValueMut::Stream(_) => {
            reply.add_reply_wrong_type();
            Err(())
        }
    }
}

/// Deletes a key whose zset became empty (Redis: dbDelete() after the last element).
fn delete_key(srv: &mut Server, dbid: usize, key: &[u8]) -> bool {
    srv.db.get_mut(dbid).and_then(|db| db.db_delete(key)).is_some()
}

/// A new zset object with the current LRU/LFU clock.
fn new_zset_object(srv: &Server, z: ZSetValue) -> RObj {
    RObj::new(Value::ZSet(z), obj::AccessClock::of(srv).initial_lru())
}

/// Redis: notifyKeyspaceEvent() for the key at argument `key_arg`. With `after_reply` the
/// command has replied already, so the pushes to a subscribed RESP3 client are appended
/// now and follow that reply, as in Redis; otherwise call() puts them before the reply.
fn notify_event(srv: &mut Server, c: &mut Client, class: u32, event: &str, key_arg: usize, after_reply: bool) {
    if srv.config.notify_keyspace_events & class == 0 {
        return;
    }
    let key = c.argv.get(key_arg).to_vec();
    notify::notify_keyspace_event(srv, class, event, &key, c.db);
    if after_reply {
        pubsub::flush_pending_pushes(srv, c);
    }
}

/// Redis: addReplyBulkLongLong() or addReplyBulkCBuffer() of a member.
fn add_reply_member(reply: &mut Reply, member: LpValue<'_>) {
    match member {
        LpValue::Int(v) => reply.add_reply_bulk_long_long(v),
        LpValue::Str(s) => reply.add_reply_bulk(s),
    }
}

// ----------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM, ZREMRANGEBY*
// ----------------------------------------------------------------------------------------

/// The ZADD options before the score/member pairs (Redis: the first loop of
/// zaddGenericCommand()). Returns the flags, CH, and the index of the first score.
fn parse_zadd_options(c: &Client, mut flags: ZAddFlags) -> (ZAddFlags, bool, usize) {
    let mut ch = false;
    let mut scoreidx = 2;
    while scoreidx < c.argv.len() {
        let opt = c.argv.get(scoreidx);
        match () {
            _ if arg_is(opt, "nx") => flags.nx = true,
            _ if arg_is(opt, "xx") => flags.xx = true,
            _ if arg_is(opt, "ch") => ch = true,
            _ if arg_is(opt, "incr") => flags.incr = true,
            _ if arg_is(opt, "gt") => flags.gt = true,
            _ if arg_is(opt, "lt") => flags.lt = true,
            _ => break,
        }
        scoreidx += 1;
    }
    (flags, ch, scoreidx)
}

/// The checks zaddGenericCommand() makes before touching the key; the scores on success.
fn check_zadd_args(c: &mut Client, flags: ZAddFlags, scoreidx: usize) -> Option<Vec<f64>> {
    let elements = c.argv.len() - scoreidx;
    if !elements.is_multiple_of(2) || elements == 0 {
        c.reply.add_reply_syntax_error();
        return None;
    }
    let err = if flags.nx && flags.xx {
        Some("XX and NX options at the same time are not compatible")
    } else if ((flags.gt || flags.lt) && flags.nx) || (flags.gt && flags.lt) {
        Some("GT, LT, and/or NX options at the same time are not compatible")
    } else if flags.incr && elements > 2 {
        Some("INCR option supports a single increment-element pair")
    } else {
        None
    };
    if let Some(err) = err {
        c.reply.add_reply_error(err);
        return None;
    }
    let mut scores = Vec::with_capacity(elements / 2);
    for j in 0..elements / 2 {
        let Some(score) = util::string2d(c.argv.get(scoreidx + 2 * j)) else {
            c.reply.add_reply_error("value is not a valid float");
            return None;
        };
        scores.push(score);
    }
    Some(scores)
}

/// What zaddGenericCommand() counts while adding.
#[derive(Debug, Default, Clone, Copy)]
struct ZAddTally {
    added: usize,
    updated: usize,
    processed: usize,
    score: f64,
    nan: bool,
}

/// The adding loop of zaddGenericCommand(); stops at a NaN result.
fn zadd_apply(z: &mut ZSetValue, c: &Client, scoreidx: usize, scores: &[f64], flags: ZAddFlags, limits: ZsetLimits) -> ZAddTally {
    let mut tally = ZAddTally::default();
    for (j, &score) in scores.iter().enumerate() {
        let ele = c.argv.get(scoreidx + 1 + 2 * j);
        let outcome = match z.add(score, ele, flags, limits) {
            Ok(outcome) => outcome,
            Err(ZAddNan) => {
                tally.nan = true;
                break;
            }
        };
        match outcome {
            ZAddOutcome::Nop => continue,
            ZAddOutcome::Added(s) => (tally.added, tally.score) = (tally.added + 1, s),
            ZAddOutcome::Updated(s) => (tally.updated, tally.score) = (tally.updated + 1, s),
            ZAddOutcome::Unchanged(s) => tally.score = s,
        }
        tally.processed += 1;
    }
    tally
}

/// Redis: t_zset.c zaddGenericCommand(): ZADD and ZINCRBY.
fn zadd_generic_command(srv: &mut Server, c: &mut Client, flags: ZAddFlags) {
    let (flags, ch, scoreidx) = parse_zadd_options(c, flags);
    let Some(scores) = check_zadd_args(c, flags, scoreidx) else { return };
    let limits = ZsetLimits::of(srv);
    let dbid = c.db;
    let key = c.argv.get(1);
    let tally = match lookup_zset(srv, dbid, key, LookupFlags::Write, &mut c.reply) {
        Err(()) => return,
        Ok(Some(z)) => zadd_apply(z, c, scoreidx, &scores, flags, limits),
        Ok(None) if flags.xx => ZAddTally::default(),
        Ok(None) => {
            let mut z = ZSetValue::new_for_first_member(c.argv.get(scoreidx + 1), limits);
            let tally = zadd_apply(&mut z, c, scoreidx, &scores, flags, limits);
            let o = new_zset_object(srv, z);
            db::db_add(srv, dbid, key, o);
            tally
        }
    };
    if tally.nan {
        c.reply.add_reply_error("resulting score is not a number (NaN)");
    } else {
        srv.dirty += (tally.added + tally.updated) as u64;
        zadd_reply(&mut c.reply, flags, ch, &tally);
    }
    if tally.added + tally.updated > 0 {
        srv.signal_modified_key(dbid, c.argv.get(1));
        let event = if flags.incr { "zincr" } else { "zadd" };
        notify_event(srv, c, NOTIFY_ZSET, event, 1, true);
    }
}

fn zadd_reply(reply: &mut Reply, flags: ZAddFlags, ch: bool, tally: &ZAddTally) {
    if flags.incr {
        if tally.processed > 0 {
            reply.add_reply_double(tally.score);
        } else {
            reply.add_reply_null();
        }
    } else {
        let n = if ch { tally.added + tally.updated } else { tally.added };
        reply.add_reply_long_long(n as i64);
    }
}

/// Redis: t_zset.c zaddCommand().
pub fn zadd_command(srv: &mut Server, c: &mut Client) {
    zadd_generic_command(srv, c, ZAddFlags::default());
}

/// Redis: t_zset.c zincrbyCommand().
pub fn zincrby_command(srv: &mut Server, c: &mut Client) {
    zadd_generic_command(srv, c, ZAddFlags { incr: true, ..ZAddFlags::default() });
}

/// Redis: t_zset.c zremCommand().
pub fn zrem_command(srv: &mut Server, c: &mut Client) {
    let dbid = c.db;
    let key = c.argv.get(1);
    let z = match lookup_zset(srv, dbid, key, LookupFlags::Write, &mut c.reply) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(z)) => z,
    };
    let mut deleted = 0;
    for j in 2..c.argv.len() {
        deleted += usize::from(z.del(c.argv.get(j)));
        if z.is_empty() {
            break;
        }
    }
    let keyremoved = z.is_empty();
    if keyremoved {
        delete_key(srv, dbid, key);
    }
    if deleted > 0 {
        srv.signal_modified_key(dbid, key);
        srv.dirty += deleted as u64;
        notify_event(srv, c, NOTIFY_ZSET, "zrem", 1, false);
        if keyremoved {
            notify_event(srv, c, NOTIFY_GENERIC, "del", 1, false);
        }
    }
    c.reply.add_reply_long_long(deleted as i64);
}

/// The range of a ZREMRANGEBY* / ZRANGE* command.
#[derive(Debug, Clone, PartialEq)]
enum ZRangeArgs {
    Rank(i64, i64),
    Score(ZRangeSpec),
    Lex(ZLexRangeSpec),
}

/// Redis: t_zset.c zremrangeGenericCommand().
fn zremrange_generic_command(srv: &mut Server, c: &mut Client, rangetype: ZRangeType) {
    let Some(range) = parse_zrange_args(&mut c.reply, c.argv.get(2), c.argv.get(3), rangetype) else { return };
    let dbid = c.db;
    let key = c.argv.get(1);
    let z = match lookup_zset(srv, dbid, key, LookupFlags::Write, &mut c.reply) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(z)) => z,
    };
    let deleted = match range {
        ZRangeArgs::Rank(start, end) => match sanitize_rank_range(start, end, z.len()) {
            Some((start, end)) => zset_delete_range_by_rank(z, start + 1, end + 1),
            None => return c.reply.add_reply_long_long(0),
        },
        ZRangeArgs::Score(spec) => zset_delete_range_by_score(z, &spec),
        ZRangeArgs::Lex(spec) => zset_delete_range_by_lex(z, &spec),
    };
    let keyremoved = z.is_empty();
    if keyremoved {
        delete_key(srv, dbid, key);
    }
    if deleted > 0 {
        srv.signal_modified_key(dbid, key);
        let event = match rangetype {
            ZRangeType::Score => "zremrangebyscore",
            ZRangeType::Lex => "zremrangebylex",
            ZRangeType::Auto | ZRangeType::Rank => "zremrangebyrank",
        };
        notify_event(srv, c, NOTIFY_ZSET, event, 1, false);
        if keyremoved {
            notify_event(srv, c, NOTIFY_GENERIC, "del", 1, false);
        }
    }
    srv.dirty += deleted as u64;
    c.reply.add_reply_long_long(deleted as i64);
}

/// Parses min/max for a range of `rangetype`, replying the error Redis gives.
fn parse_zrange_args(reply: &mut Reply, min: &[u8], max: &[u8], rangetype: ZRangeType) -> Option<ZRangeArgs> {
    match rangetype {
        ZRangeType::Auto | ZRangeType::Rank => {
            let start = obj::get_long_from_object_or_reply(reply, min, None)?;
            let end = obj::get_long_from_object_or_reply(reply, max, None)?;
            Some(ZRangeArgs::Rank(start, end))
        }
        ZRangeType::Score => match zsl_parse_range(min, max) {
            Some(spec) => Some(ZRangeArgs::Score(spec)),
            None => {
                reply.add_reply_error(FLOAT_RANGE_ERR);
                None
            }
        },
        ZRangeType::Lex => match zsl_parse_lex_range(min, max) {
            Some(spec) => Some(ZRangeArgs::Lex(spec)),
            None => {
                reply.add_reply_error(LEX_RANGE_ERR);
                None
            }
        },
    }
}

/// Redis's rank sanitizing: negative ranks count from the end; None when empty.
fn sanitize_rank_range(start: i64, end: i64, llen: usize) -> Option<(usize, usize)> {
    let llen = llen as i64;
    let start = if start < 0 { llen + start } else { start }.max(0);
    let end = if end < 0 { llen + end } else { end };
    if start > end || start >= llen {
        return None;
    }
    Some((start as usize, end.min(llen - 1) as usize))
}

/// zzlDeleteRangeByRank() / zslDeleteRangeByRank() with the dict cleanup.
fn zset_delete_range_by_rank(z: &mut ZSetValue, start: usize, end: usize) -> usize {
    match z {
        ZSetValue::Listpack(lp) => lp.delete_range_by_rank(start, end),
        ZSetValue::SkipList(zs) => {
            let removed = zs.zsl.delete_range_by_rank(start, end);
            drop_from_dict(zs, removed)
        }
    }
}

fn zset_delete_range_by_score(z: &mut ZSetValue, range: &ZRangeSpec) -> usize {
    match z {
        ZSetValue::Listpack(lp) => lp.delete_range_by_score(range),
        ZSetValue::SkipList(zs) => {
            let removed = zs.zsl.delete_range_by_score(range);
            drop_from_dict(zs, removed)
        }
    }
}

fn zset_delete_range_by_lex(z: &mut ZSetValue, range: &ZLexRangeSpec) -> usize {
    match z {
        ZSetValue::Listpack(lp) => lp.delete_range_by_lex(range),
        ZSetValue::SkipList(zs) => {
            let removed = zs.zsl.delete_range_by_lex(range);
            drop_from_dict(zs, removed)
        }
    }
}

/// The dictDelete() half of the zslDeleteRangeBy*() functions, then dictResize().
fn drop_from_dict(zs: &mut ZSet, removed: Vec<ZEle>) -> usize {
    for ele in &removed {
        zs.dict.remove(ele);
    }
    zs.shrink_dict_if_needed();
    removed.len()
}

/// Redis: t_zset.c zremrangebyrankCommand().
pub fn zremrangebyrank_command(srv: &mut Server, c: &mut Client) {
    zremrange_generic_command(srv, c, ZRangeType::Rank);
}

/// Redis: t_zset.c zremrangebyscoreCommand().
pub fn zremrangebyscore_command(srv: &mut Server, c: &mut Client) {
    zremrange_generic_command(srv, c, ZRangeType::Score);
}

/// Redis: t_zset.c zremrangebylexCommand().
pub fn zremrangebylex_command(srv: &mut Server, c: &mut Client) {
    zremrange_generic_command(srv, c, ZRangeType::Lex);
}

// ----------------------------------------------------------------------------------------
// ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZLEXCOUNT
// ----------------------------------------------------------------------------------------

/// Redis: t_zset.c zcardCommand().
pub fn zcard_command(srv: &mut Server, c: &mut Client) {
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(z)) => c.reply.add_reply_long_long(z.len() as i64),
    }
}

/// Redis: t_zset.c zscoreCommand().
pub fn zscore_command(srv: &mut Server, c: &mut Client) {
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_null(),
        Ok(Some(z)) => match z.score(c.argv.get(2)) {
            Some(score) => c.reply.add_reply_double(score),
            None => c.reply.add_reply_null(),
        },
    }
}

/// Redis: t_zset.c zmscoreCommand(): a missing key answers a null per member.
pub fn zmscore_command(srv: &mut Server, c: &mut Client) {
    let mut z = match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => return,
        Ok(z) => z,
    };
    c.reply.add_reply_array_len(c.argv.len() - 2);
    for j in 2..c.argv.len() {
        match z.as_deref_mut().and_then(|z| z.score(c.argv.get(j))) {
            Some(score) => c.reply.add_reply_double(score),
            None => c.reply.add_reply_null(),
        }
    }
}

/// Redis: t_zset.c zrankGenericCommand() (7.0: no WITHSCORE option).
fn zrank_generic_command(srv: &mut Server, c: &mut Client, reverse: bool) {
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_null(),
        Ok(Some(z)) => match z.rank(c.argv.get(2), reverse) {
            Some(rank) => c.reply.add_reply_long_long(rank as i64),
            None => c.reply.add_reply_null(),
        },
    }
}

/// Redis: t_zset.c zrankCommand().
pub fn zrank_command(srv: &mut Server, c: &mut Client) {
    zrank_generic_command(srv, c, false);
}

/// Redis: t_zset.c zrevrankCommand().
pub fn zrevrank_command(srv: &mut Server, c: &mut Client) {
    zrank_generic_command(srv, c, true);
}

/// Redis: t_zset.c zcountCommand().
pub fn zcount_command(srv: &mut Server, c: &mut Client) {
    let Some(range) = zsl_parse_range(c.argv.get(2), c.argv.get(3)) else {
        return c.reply.add_reply_error(FLOAT_RANGE_ERR);
    };
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(z)) => {
            let first = z.pos_in_range(&range, false);
            let last = || z.pos_in_range(&range, true);
            let count = zset_count_between(z, first, last, |p| range.value_lte_max(z.pos_score(p)));
            c.reply.add_reply_long_long(count as i64);
        }
    }
}

/// Redis: t_zset.c zlexcountCommand().
pub fn zlexcount_command(srv: &mut Server, c: &mut Client) {
    let Some(range) = zsl_parse_lex_range(c.argv.get(2), c.argv.get(3)) else {
        return c.reply.add_reply_error(LEX_RANGE_ERR);
    };
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_long_long(0),
        Ok(Some(z)) => {
            let first = z.pos_in_lex_range(&range, false);
            let last = || z.pos_in_lex_range(&range, true);
            let count = zset_count_between(z, first, last, |p| z.pos_member(p).with_bytes(|m| range.value_lte_max(m)));
            c.reply.add_reply_long_long(count as i64);
        }
    }
}

/// The counting of ZCOUNT/ZLEXCOUNT: a listpack is walked from the first element in range
/// while `in_range`; a skiplist subtracts the ranks of the first and last in range.
fn zset_count_between(
    z: &ZSetValue,
    first: Option<ZPos>,
    last: impl FnOnce() -> Option<ZPos>,
    in_range: impl Fn(ZPos) -> bool,
) -> usize {
    let Some(first) = first else { return 0 };
    match z {
        ZSetValue::Listpack(_) => {
            let (mut count, mut pos) = (0, Some(first));
            while let Some(p) = pos.filter(|&p| in_range(p)) {
                count += 1;
                pos = z.pos_step(p, false);
            }
            count
        }
        ZSetValue::SkipList(zs) => {
            let rank_of = |p: ZPos| match p {
                ZPos::Sl(x) => zs.zsl.get_rank(zs.zsl.score(x), zs.zsl.ele(x)),
                ZPos::Lp(_) => 0,
            };
            let len = zs.zsl.len();
            let mut count = len - (rank_of(first).saturating_sub(1));
            if let Some(last) = last() {
                count -= len - rank_of(last);
            }
            count
        }
    }
}

// ----------------------------------------------------------------------------------------
// ZRANGE, ZRANGESTORE, ZREVRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE, ZRANGEBYLEX, ZREVRANGEBYLEX
// ----------------------------------------------------------------------------------------

/// Redis: zrange_type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZRangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis: zrange_direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZRangeDirection {
    Auto,
    Forward,
    Reverse,
}

/// Where a range's elements go (Redis: zrange_result_handler): to the client, or into a
/// new zset for ZRANGESTORE.
#[derive(Debug)]
enum RangeSink {
    Client { withscores: bool, deferred: Option<usize> },
    Store { dst: ZSetValue, limits: ZsetLimits },
}

impl RangeSink {
    /// Redis: zrangeResultBeginClient() / zrangeResultBeginStore(); None = length unknown.
    fn begin(&mut self, reply: &mut Reply, length: Option<usize>) {
        match self {
            RangeSink::Client { withscores, deferred } => match length {
                Some(n) if n > 0 => {
                    let per = if *withscores && reply.resp == 2 { 2 } else { 1 };
                    reply.add_reply_array_len(n * per);
                }
                _ => *deferred = Some(reply.add_reply_deferred_len()),
            },
            RangeSink::Store { dst, limits } => {
                if length.is_some_and(|n| n > limits.max_entries) {
                    *dst = ZSetValue::new_skiplist();
                }
            }
        }
    }

    /// Redis: zrangeResultEmit*ToClient() / zrangeResultEmit*ForStore().
    fn emit(&mut self, reply: &mut Reply, member: LpValue<'_>, score: f64) {
        match self {
            RangeSink::Client { withscores, .. } => {
                if *withscores && reply.resp > 2 {
                    reply.add_reply_array_len(2);
                }
                add_reply_member(reply, member);
                if *withscores {
                    reply.add_reply_double(score);
                }
            }
            RangeSink::Store { dst, limits } => {
                let limits = *limits;
                member.with_bytes(|m| dst.add(score, m, ZAddFlags::default(), limits).ok());
            }
        }
    }

    /// Redis: zrangeResultFinalizeClient(); the store half is finish_zrangestore().
    fn finalize_client(&mut self, reply: &mut Reply, count: usize) {
        if let RangeSink::Client { withscores, deferred: Some(mark) } = *self {
            let per = if withscores && reply.resp == 2 { 2 } else { 1 };
            reply.set_deferred_array_len(mark, count * per);
        }
    }
}

/// The parsed options of zrangeGenericCommand().
#[derive(Debug, Clone, Copy)]
struct ZRangeOpts {
    rangetype: ZRangeType,
    reverse: bool,
    withscores: bool,
    offset: i64,
    limit: i64,
}

/// The option loop of zrangeGenericCommand(); None after replying an error.
fn parse_zrange_opts(c: &mut Client, argc_start: usize, store: bool, rangetype: ZRangeType, direction: ZRangeDirection) -> Option<ZRangeOpts> {
    let (mut rangetype, mut direction) = (rangetype, direction);
    let (mut withscores, mut offset, mut limit) = (false, 0, -1);
    let mut j = argc_start + 3;
    while j < c.argv.len() {
        let leftargs = c.argv.len() - j - 1;
        let arg = c.argv.get(j);
        if !store && arg_is(arg, "withscores") {
            withscores = true;
        } else if arg_is(arg, "limit") && leftargs >= 2 {
            offset = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), None)?;
            limit = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 2), None)?;
            j += 2;
        } else if direction == ZRangeDirection::Auto && arg_is(arg, "rev") {
            direction = ZRangeDirection::Reverse;
        } else if rangetype == ZRangeType::Auto && arg_is(arg, "bylex") {
            rangetype = ZRangeType::Lex;
        } else if rangetype == ZRangeType::Auto && arg_is(arg, "byscore") {
            rangetype = ZRangeType::Score;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    if rangetype == ZRangeType::Auto {
        rangetype = ZRangeType::Rank;
    }
    if limit != -1 && rangetype == ZRangeType::Rank {
        c.reply.add_reply_error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return None;
    }
    if withscores && rangetype == ZRangeType::Lex {
        c.reply.add_reply_error("syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    let reverse = direction == ZRangeDirection::Reverse;
    Some(ZRangeOpts { rangetype, reverse, withscores, offset, limit })
}

/// Redis: t_zset.c zrangeGenericCommand(): every ZRANGE-like command. `argc_start` is the
/// source key's index; `store` is set for ZRANGESTORE (destination at argv[1]).
fn zrange_generic_command(srv: &mut Server, c: &mut Client, argc_start: usize, store: bool, rangetype: ZRangeType, direction: ZRangeDirection) {
    let Some(opts) = parse_zrange_opts(c, argc_start, store, rangetype, direction) else { return };
    let (mut minidx, mut maxidx) = (argc_start + 1, argc_start + 2);
    if opts.reverse && matches!(opts.rangetype, ZRangeType::Score | ZRangeType::Lex) {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let Some(range) = parse_zrange_args(&mut c.reply, c.argv.get(minidx), c.argv.get(maxidx), opts.rangetype) else {
        return;
    };
    let limits = ZsetLimits::of(srv);
    let mut sink = if store {
        RangeSink::Store { dst: ZSetValue::default(), limits }
    } else {
        RangeSink::Client { withscores: opts.withscores, deferred: None }
    };
    let withscores = opts.withscores || store;
    let count = match lookup_zset(srv, c.db, c.argv.get(argc_start), LookupFlags::Read, &mut c.reply) {
        Err(()) => return,
        Ok(None) if !store => return c.reply.add_reply_proto(b"*0\r\n"),
        Ok(None) => {
            sink.begin(&mut c.reply, None);
            0
        }
        Ok(Some(z)) => match &range {
            ZRangeArgs::Rank(start, end) => {
                zrange_by_rank(z, &mut sink, &mut c.reply, *start, *end, opts.reverse)
            }
            ZRangeArgs::Score(spec) => zrange_by_score(z, &mut sink, &mut c.reply, spec, &opts),
            ZRangeArgs::Lex(spec) => zrange_by_lex(z, &mut sink, &mut c.reply, spec, &opts, withscores),
        },
    };
    match sink {
        RangeSink::Store { dst, .. } => finish_zrangestore(srv, c, dst, count),
        client => {
            let mut client = client;
            client.finalize_client(&mut c.reply, count);
        }
    }
}

/// Redis: genericZrangebyrankCommand().
fn zrange_by_rank(z: &ZSetValue, sink: &mut RangeSink, reply: &mut Reply, start: i64, end: i64, reverse: bool) -> usize {
    let Some((start, end)) = sanitize_rank_range(start, end, z.len()) else {
        sink.begin(reply, Some(0));
        return 0;
    };
    let rangelen = end - start + 1;
    sink.begin(reply, Some(rangelen));
    let mut pos = z.pos_at_rank(start, reverse);
    for _ in 0..rangelen {
        let Some(p) = pos else { break };
        sink.emit(reply, z.pos_member(p), z.pos_score(p));
        pos = z.pos_step(p, reverse);
    }
    rangelen
}

/// Redis's `while (eptr && offset--)`: a negative offset skips everything.
fn skip_offset(z: &ZSetValue, mut pos: Option<ZPos>, offset: i64, reverse: bool) -> Option<ZPos> {
    if offset < 0 {
        return None;
    }
    let mut left = offset;
    while let Some(p) = pos {
        if left == 0 {
            break;
        }
        left -= 1;
        pos = z.pos_step(p, reverse);
    }
    pos
}

/// Emits from `pos` while `in_range` and the LIMIT allows (a negative limit is none).
fn emit_range(
    z: &ZSetValue,
    sink: &mut RangeSink,
    reply: &mut Reply,
    mut pos: Option<ZPos>,
    opts: &ZRangeOpts,
    in_range: impl Fn(ZPos, f64) -> bool,
    withscores: bool,
) -> usize {
    let (mut count, mut limit) = (0, opts.limit);
    while let Some(p) = pos {
        if limit == 0 {
            break;
        }
        limit = limit.saturating_sub(1);
        let score = if withscores { z.pos_score(p) } else { 0.0 };
        if !in_range(p, score) {
            break;
        }
        sink.emit(reply, z.pos_member(p), score);
        count += 1;
        pos = z.pos_step(p, opts.reverse);
    }
    count
}

/// Redis: genericZrangebyscoreCommand().
fn zrange_by_score(z: &ZSetValue, sink: &mut RangeSink, reply: &mut Reply, range: &ZRangeSpec, opts: &ZRangeOpts) -> usize {
    sink.begin(reply, None);
    if opts.offset > 0 && opts.offset as u64 >= z.len() as u64 {
        return 0;
    }
    let pos = skip_offset(z, z.pos_in_range(range, opts.reverse), opts.offset, opts.reverse);
    let in_range = |_: ZPos, score: f64| {
        if opts.reverse {
            range.value_gte_min(score)
        } else {
            range.value_lte_max(score)
        }
    };
    emit_range(z, sink, reply, pos, opts, in_range, true)
}

/// Redis: genericZrangebylexCommand().
fn zrange_by_lex(
    z: &ZSetValue,
    sink: &mut RangeSink,
    reply: &mut Reply,
    range: &ZLexRangeSpec,
    opts: &ZRangeOpts,
    withscores: bool,
) -> usize {
    sink.begin(reply, None);
    let pos = skip_offset(z, z.pos_in_lex_range(range, opts.reverse), opts.offset, opts.reverse);
    let in_range = |p: ZPos, _: f64| {
        z.pos_member(p).with_bytes(|m| if opts.reverse { range.value_gte_min(m) } else { range.value_lte_max(m) })
    };
    emit_range(z, sink, reply, pos, opts, in_range, withscores)
}

/// Redis: zrangeResultFinalizeStore(): store a non-empty result, or delete the target.
fn finish_zrangestore(srv: &mut Server, c: &mut Client, dst: ZSetValue, count: usize) {
    let dstkey = c.argv.get(1);
    if count > 0 {
        let o = new_zset_object(srv, dst);
        db::set_key(srv, c.db, dstkey, o, false);
        c.reply.add_reply_long_long(count as i64);
        notify_event(srv, c, NOTIFY_ZSET, "zrangestore", 1, true);
        srv.dirty += 1;
    } else {
        c.reply.add_reply_long_long(0);
        if delete_key(srv, c.db, dstkey) {
            srv.signal_modified_key(c.db, dstkey);
            notify_event(srv, c, NOTIFY_GENERIC, "del", 1, true);
            srv.dirty += 1;
        }
    }
}

/// Redis: t_zset.c zrangestoreCommand().
pub fn zrangestore_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 2, true, ZRangeType::Auto, ZRangeDirection::Auto);
}

/// Redis: t_zset.c zrangeCommand().
pub fn zrange_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Auto, ZRangeDirection::Auto);
}

/// Redis: t_zset.c zrevrangeCommand().
pub fn zrevrange_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Rank, ZRangeDirection::Reverse);
}

/// Redis: t_zset.c zrangebyscoreCommand().
pub fn zrangebyscore_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Score, ZRangeDirection::Forward);
}

/// Redis: t_zset.c zrevrangebyscoreCommand().
pub fn zrevrangebyscore_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Score, ZRangeDirection::Reverse);
}

/// Redis: t_zset.c zrangebylexCommand().
pub fn zrangebylex_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Lex, ZRangeDirection::Forward);
}

/// Redis: t_zset.c zrevrangebylexCommand().
pub fn zrevrangebylex_command(srv: &mut Server, c: &mut Client) {
    zrange_generic_command(srv, c, 1, false, ZRangeType::Lex, ZRangeDirection::Reverse);
}

// ----------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their *STORE forms, ZINTERCARD (sets count with score 1)
// ----------------------------------------------------------------------------------------

use crate::t_set::{SetMember, SetValue};

/// Redis: SET_OP_UNION / SET_OP_INTER / SET_OP_DIFF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

/// Redis: REDIS_AGGR_SUM / _MIN / _MAX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// An input of a set operation (Redis: zsetopsrc): a zset, a set, or a missing key.
#[derive(Debug, Clone, Copy)]
enum OpSubject<'a> {
    Missing,
    Set(&'a SetValue),
    ZSet(&'a ZSetValue),
}

#[derive(Debug, Clone, Copy)]
struct OpSrc<'a> {
    subject: OpSubject<'a>,
    weight: f64,
}

impl OpSrc<'_> {
    /// Redis: zuiLength().
    fn len(&self) -> usize {
        match self.subject {
            OpSubject::Missing => 0,
            OpSubject::Set(s) => s.len(),
            OpSubject::ZSet(z) => z.len(),
        }
    }

    /// `src[j].subject == src[0].subject`: the same key given twice.
    fn same_subject(&self, other: &OpSrc<'_>) -> bool {
        match (self.subject, other.subject) {
            (OpSubject::Set(a), OpSubject::Set(b)) => std::ptr::eq(a, b),
            (OpSubject::ZSet(a), OpSubject::ZSet(b)) => std::ptr::eq(a, b),
            (OpSubject::Missing, OpSubject::Missing) => true,
            _ => false,
        }
    }

    /// Redis: zuiInitIterator()/zuiNext(): sets in their order with score 1, zsets from
    /// the highest score down. `f` returns false to stop.
    fn for_each(&self, mut f: impl FnMut(LpValue<'_>, f64) -> bool) {
        match self.subject {
            OpSubject::Missing => {}
            OpSubject::Set(s) => {
                for m in s.iter() {
                    let member = match m {
                        SetMember::Int(v) => LpValue::Int(v),
                        SetMember::Str(b) => LpValue::Str(b),
                    };
                    if !f(member, 1.0) {
                        break;
                    }
                }
            }
            OpSubject::ZSet(z) => {
                let mut pos = z.pos_at_rank(0, true);
                while let Some(p) = pos {
                    if !f(z.pos_member(p), z.pos_score(p)) {
                        break;
                    }
                    pos = z.pos_step(p, true);
                }
            }
        }
    }

    /// Redis: zuiFind(): the member's score (1 for set members).
    fn find(&self, member: LpValue<'_>) -> Option<f64> {
        match self.subject {
            OpSubject::Missing => None,
            OpSubject::Set(s) => {
                let m = match member {
                    LpValue::Int(v) => SetMember::Int(v),
                    LpValue::Str(b) => SetMember::Str(b),
                };
                s.contains_member(m).then_some(1.0)
            }
            OpSubject::ZSet(z) => member.with_bytes(|m| z.score_of(m)),
        }
    }
}

/// Redis: zunionInterAggregate().
fn zunion_inter_aggregate(target: &mut f64, val: f64, aggregate: Aggregate) {
    match aggregate {
        Aggregate::Sum => {
            *target += val;
            // The sum of +inf and -inf is NaN: Redis makes it 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => *target = if val < *target { val } else { *target },
        Aggregate::Max => *target = if val > *target { val } else { *target },
    }
}

/// The options after the keys of zunionInterDiffGenericCommand().
#[derive(Debug, Clone)]
struct SetOpOpts {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    limit: i64,
}

/// The option loop of zunionInterDiffGenericCommand(); None after replying an error.
fn parse_setop_opts(c: &mut Client, first: usize, setnum: usize, op: SetOp, store: bool, cardinality_only: bool) -> Option<SetOpOpts> {
    let mut opts = SetOpOpts { weights: None, aggregate: Aggregate::Sum, withscores: false, limit: 0 };
    let mut j = first;
    while j < c.argv.len() {
        let remaining = c.argv.len() - j;
        let arg = c.argv.get(j);
        let combinable = op != SetOp::Diff && !cardinality_only;
        if combinable && remaining > setnum && arg_is(arg, "weights") {
            let mut weights = Vec::with_capacity(setnum);
            for i in 0..setnum {
                let Some(w) = util::string2d(c.argv.get(j + 1 + i)) else {
                    c.reply.add_reply_error("weight value is not a float");
                    return None;
                };
                weights.push(w);
            }
            opts.weights = Some(weights);
            j += setnum + 1;
        } else if combinable && remaining >= 2 && arg_is(arg, "aggregate") {
            let value = c.argv.get(j + 1);
            opts.aggregate = match () {
                _ if arg_is(value, "sum") => Aggregate::Sum,
                _ if arg_is(value, "min") => Aggregate::Min,
                _ if arg_is(value, "max") => Aggregate::Max,
                _ => {
                    c.reply.add_reply_syntax_error();
                    return None;
                }
            };
            j += 2;
        } else if remaining >= 1 && !store && !cardinality_only && arg_is(arg, "withscores") {
            opts.withscores = true;
            j += 1;
        } else if cardinality_only && remaining >= 2 && arg_is(arg, "limit") {
            let msg = Some("LIMIT can't be negative");
            opts.limit = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), 0, i64::MAX, msg)?;
            j += 2;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
    }
    Some(opts)
}

/// The numkeys argument and the key lookups (with their WRONGTYPE check, done before the
/// options are parsed, as Redis does). Returns the number of keys.
fn setop_lookup_keys(srv: &mut Server, c: &mut Client, numkeys_idx: usize) -> Option<usize> {
    let setnum = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(numkeys_idx), None)?;
    if setnum < 1 {
        let name = srv.current_command_name(c);
        c.reply.add_reply_error(&format!("at least 1 input key is needed for '{}' command", name));
        return None;
    }
    let available = c.argv.len() - (numkeys_idx + 1);
    if setnum as u64 > available as u64 {
        c.reply.add_reply_syntax_error();
        return None;
    }
    let setnum = setnum as usize;
    for j in numkeys_idx + 1..=numkeys_idx + setnum {
        let Some(o) = db::lookup_key_read(srv, c.db, c.argv.get(j)) else { continue };
        match o.value() {
            ValueRef::ZSet(_) | ValueRef::Set(_) => {}
            ValueRef::Str(_) | ValueRef::List(_) | ValueRef::Hash(_) | ValueRef::Stream(_) => {
                c.reply.add_reply_wrong_type();
                return None;
            }
        }
    }
    Some(setnum)
}

/// The result of a set operation before it is replied or stored.
#[derive(Debug, Default)]
struct SetOpResult {
    dst: ZSet,
    maxelelen: usize,
    totelelen: usize,
    cardinality: usize,
}

impl SetOpResult {
    fn add(&mut self, member: LpValue<'_>, score: f64) {
        let len = member.str_len();
        self.maxelelen = self.maxelelen.max(len);
        self.totelelen += len;
        member.with_bytes(|m| self.dst.insert_new(score, m));
    }
}

/// Redis: the SET_OP_INTER branch of zunionInterDiffGenericCommand(). `src` is sorted
/// by cardinality; with `limit` only the cardinality is counted.
fn zinter(src: &[OpSrc<'_>], aggregate: Aggregate, cardinality_only: bool, limit: i64) -> SetOpResult {
    let mut out = SetOpResult::default();
    let Some(first) = src.first().filter(|s| s.len() > 0) else { return out };
    first.for_each(|member, zscore| {
        let mut score = first.weight * zscore;
        if score.is_nan() {
            score = 0.0;
        }
        for other in &src[1..] {
            let value = if other.same_subject(first) { Some(zscore) } else { other.find(member) };
            let Some(value) = value else { return true };
            zunion_inter_aggregate(&mut score, value * other.weight, aggregate);
        }
        if cardinality_only {
            out.cardinality += 1;
            return !(limit > 0 && out.cardinality as u64 >= limit as u64);
        }
        out.add(member, score);
        true
    });
    out
}

/// Redis: the SET_OP_UNION branch: an accumulator dict, then the skiplist.
fn zunion(src: &[OpSrc<'_>], aggregate: Aggregate) -> SetOpResult {
    let mut out = SetOpResult::default();
    let mut acc: Dict<Box<[u8]>, f64> = Dict::with_capacity(src.last().map_or(0, OpSrc::len));
    for s in src.iter().filter(|s| s.len() > 0) {
        s.for_each(|member, zscore| {
            let mut score = s.weight * zscore;
            if score.is_nan() {
                score = 0.0;
            }
            member.with_bytes(|m| match acc.find(m) {
                Some(existing) => zunion_inter_aggregate(existing, score, aggregate),
                None => {
                    out.totelelen += m.len();
                    out.maxelelen = out.maxelelen.max(m.len());
                    let _ = acc.add(m.into(), score);
                }
            });
            true
        });
    }
    let _ = out.dst.dict.expand(acc.len());
    for (member, score) in acc.drain() {
        out.dst.insert_shared(score, Rc::from(member));
    }
    out
}

/// Redis: zsetChooseDiffAlgorithm(): 0 when a key is subtracted from itself.
fn zset_choose_diff_algorithm(src: &[OpSrc<'_>]) -> u8 {
    let (mut one, mut two) = (0u64, 0u64);
    for (j, s) in src.iter().enumerate() {
        if j > 0 && s.same_subject(&src[0]) {
            return 0;
        }
        one += src[0].len() as u64;
        two += s.len() as u64;
    }
    if one / 2 <= two {
        1
    } else {
        2
    }
}

/// Redis: zdiff() with zdiffAlgorithm1() / zdiffAlgorithm2().
fn zdiff(src: &mut [OpSrc<'_>]) -> SetOpResult {
    let mut out = SetOpResult::default();
    if src.first().map_or(0, OpSrc::len) == 0 {
        return out;
    }
    match zset_choose_diff_algorithm(src) {
        1 => zdiff_algorithm1(src, &mut out),
        2 => zdiff_algorithm2(src, &mut out),
        _ => {}
    }
    out
}

/// Redis: zdiffAlgorithm1(): each element of the first input, looked up in the others
/// (largest first).
fn zdiff_algorithm1(src: &mut [OpSrc<'_>], out: &mut SetOpResult) {
    if let Some(rest) = src.get_mut(1..) {
        rest.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
    let first = src[0];
    first.for_each(|member, score| {
        let exists = src[1..].iter().any(|s| s.same_subject(&first) || s.find(member).is_some());
        if !exists {
            out.add(member, score);
        }
        true
    });
}

/// Redis: zdiffAlgorithm2(): add the first input, remove every other one's elements.
fn zdiff_algorithm2(src: &[OpSrc<'_>], out: &mut SetOpResult) {
    let mut cardinality = 0usize;
    for (j, s) in src.iter().enumerate() {
        if s.len() == 0 {
            continue;
        }
        s.for_each(|member, score| {
            if j == 0 {
                member.with_bytes(|m| out.dst.insert_new(score, m));
                cardinality += 1;
            } else if member.with_bytes(|m| out.dst.remove(m)) {
                cardinality -= 1;
            }
            cardinality != 0
        });
        if cardinality == 0 {
            break;
        }
    }
    out.dst.shrink_dict_if_needed();
    for (member, _) in out.dst.zsl.iter() {
        out.maxelelen = out.maxelelen.max(member.len());
        out.totelelen += member.len();
    }
}

/// Redis: t_zset.c zunionInterDiffGenericCommand().
fn zunion_inter_diff_generic_command(srv: &mut Server, c: &mut Client, store: bool, numkeys_idx: usize, op: SetOp, cardinality_only: bool) {
    let Some(setnum) = setop_lookup_keys(srv, c, numkeys_idx) else { return };
    let first_opt = numkeys_idx + 1 + setnum;
    let Some(opts) = parse_setop_opts(c, first_opt, setnum, op, store, cardinality_only) else { return };
    let result = {
        let Some(db) = srv.db.get(c.db) else { return };
        let mut src: Vec<OpSrc<'_>> = (0..setnum)
            .map(|i| {
                let subject = match db.dict.get(c.argv.get(numkeys_idx + 1 + i)).map(|o| o.value()) {
                    Some(ValueRef::ZSet(z)) => OpSubject::ZSet(z),
                    Some(ValueRef::Set(s)) => OpSubject::Set(s),
                    _ => OpSubject::Missing,
                };
                let weight = opts.weights.as_ref().and_then(|w| w.get(i).copied()).unwrap_or(1.0);
                OpSrc { subject, weight }
            })
            .collect();
        if op != SetOp::Diff {
            src.sort_by_key(OpSrc::len);
        }
        match op {
            SetOp::Inter => zinter(&src, opts.aggregate, cardinality_only, opts.limit),
            SetOp::Union => zunion(&src, opts.aggregate),
            SetOp::Diff => zdiff(&mut src),
        }
    };
    if store {
        finish_setop_store(srv, c, result, op);
    } else if cardinality_only {
        c.reply.add_reply_long_long(result.cardinality as i64);
    } else {
        reply_setop_result(&mut c.reply, &result.dst, opts.withscores);
    }
}

/// The reply of ZUNION/ZINTER/ZDIFF: members in order, with scores if asked.
fn reply_setop_result(reply: &mut Reply, dst: &ZSet, withscores: bool) {
    let len = dst.zsl.len();
    reply.add_reply_array_len(if withscores && reply.resp == 2 { len * 2 } else { len });
    for (member, score) in dst.zsl.iter() {
        if withscores && reply.resp > 2 {
            reply.add_reply_array_len(2);
        }
        reply.add_reply_bulk(member);
        if withscores {
            reply.add_reply_double(score);
        }
    }
}

/// The dstkey branch of zunionInterDiffGenericCommand().
fn finish_setop_store(srv: &mut Server, c: &mut Client, result: SetOpResult, op: SetOp) {
    let dstkey = c.argv.get(1);
    let len = result.dst.zsl.len();
    if len > 0 {
        let mut z = ZSetValue::SkipList(Box::new(result.dst));
        z.convert_to_listpack_if_needed(result.maxelelen, result.totelelen, ZsetLimits::of(srv));
        let o = new_zset_object(srv, z);
        db::set_key(srv, c.db, dstkey, o, false);
        c.reply.add_reply_long_long(len as i64);
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        notify_event(srv, c, NOTIFY_ZSET, event, 1, true);
        srv.dirty += 1;
    } else {
        c.reply.add_reply_long_long(0);
        if delete_key(srv, c.db, dstkey) {
            srv.signal_modified_key(c.db, dstkey);
            notify_event(srv, c, NOTIFY_GENERIC, "del", 1, true);
            srv.dirty += 1;
        }
    }
}

/// Redis: t_zset.c zunionstoreCommand().
pub fn zunionstore_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, true, 2, SetOp::Union, false);
}

/// Redis: t_zset.c zinterstoreCommand().
pub fn zinterstore_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, true, 2, SetOp::Inter, false);
}

/// Redis: t_zset.c zdiffstoreCommand().
pub fn zdiffstore_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, true, 2, SetOp::Diff, false);
}

/// Redis: t_zset.c zunionCommand().
pub fn zunion_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, false, 1, SetOp::Union, false);
}

/// Redis: t_zset.c zinterCommand().
pub fn zinter_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, false, 1, SetOp::Inter, false);
}

/// Redis: t_zset.c zinterCardCommand().
pub fn zintercard_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, false, 1, SetOp::Inter, true);
}

/// Redis: t_zset.c zdiffCommand().
pub fn zdiff_command(srv: &mut Server, c: &mut Client) {
    zunion_inter_diff_generic_command(srv, c, false, 1, SetOp::Diff, false);
}

// ----------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP and the blocking BZPOPMIN, BZPOPMAX, BZMPOP
// ----------------------------------------------------------------------------------------

use crate::blocked::{self, BlockType};
use crate::networking::CLIENT_DENY_BLOCKING;

/// Which end a pop takes from (Redis: ZSET_MIN / ZSET_MAX).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ZWhere {
    Min,
    Max,
}

impl ZWhere {
    /// Redis: shared.zpopmin / shared.zpopmax, what the pop is propagated as.
    fn pop_command(self) -> &'static [u8] {
        match self {
            ZWhere::Min => b"ZPOPMIN",
            ZWhere::Max => b"ZPOPMAX",
        }
    }
}

/// How genericZpopCommand() shapes its reply.
#[derive(Debug, Clone, Copy)]
struct ZPopReply {
    /// The key comes first (ZMPOP, BZPOPMIN ...).
    emitkey: bool,
    /// [member, score] pairs as arrays (RESP3 with a count, ZMPOP).
    nested: bool,
    /// A null array when no key exists (ZMPOP) instead of an empty one.
    nil_when_empty: bool,
}

/// Pops up to `count` elements from one end (Redis: the do/while of genericZpopCommand()).
fn zset_pop(z: &mut ZSetValue, whence: ZWhere, count: usize) -> Vec<(Vec<u8>, f64)> {
    let mut popped = Vec::with_capacity(count.min(z.len()));
    while popped.len() < count {
        let Some(pos) = z.pos_at_rank(0, whence == ZWhere::Max) else { break };
        let member = z.pos_member(pos).to_vec();
        let score = z.pos_score(pos);
        z.del(&member);
        popped.push((member, score));
    }
    popped
}

/// The array headers of a pop's reply (genericZpopCommand()), written before the
/// elements.
fn reply_popped_header(reply: &mut Reply, key: &[u8], n: usize, shape: ZPopReply) {
    match (shape.nested, shape.emitkey) {
        (false, false) => reply.add_reply_array_len(n * 2),
        (true, false) => reply.add_reply_array_len(n),
        (false, true) => {
            reply.add_reply_array_len(n * 2 + 1);
            reply.add_reply_bulk(key);
        }
        (true, true) => {
            reply.add_reply_array_len(2);
            reply.add_reply_bulk(key);
            reply.add_reply_array_len(n);
        }
    }
}

/// The popped elements of a pop's reply.
fn reply_popped_elements(reply: &mut Reply, popped: &[(Vec<u8>, f64)], shape: ZPopReply) {
    for (member, score) in popped {
        if shape.nested {
            reply.add_reply_array_len(2);
        }
        reply.add_reply_bulk(member);
        reply.add_reply_double(*score);
    }
}

/// Redis: t_zset.c genericZpopCommand(): pops from the first existing key of `keys`
/// (argument indexes). `count` is None without a COUNT. Returns the key popped from and
/// the number of elements (for the propagation rewrite).
fn generic_zpop_command(
    srv: &mut Server,
    c: &mut Client,
    keys: &[usize],
    whence: ZWhere,
    count: Option<i64>,
    shape: ZPopReply,
) -> Option<(Vec<u8>, usize)> {
    let dbid = c.db;
    for &idx in keys {
        let key = c.argv.get(idx);
        let z = match lookup_zset(srv, dbid, key, LookupFlags::Write, &mut c.reply) {
            Err(()) => return None,
            Ok(None) => continue,
            Ok(Some(z)) => z,
        };
        if count == Some(0) {
            c.reply.add_reply_proto(b"*0\r\n");
            return None;
        }
        let want = usize::try_from(count.unwrap_or(1)).unwrap_or(usize::MAX);
        let popped = zset_pop(z, whence, want);
        let now_empty = z.is_empty();
        reply_popped_header(&mut c.reply, key, popped.len(), shape);
        srv.dirty += popped.len() as u64;
        srv.signal_modified_key(dbid, key);
        // Redis 7.0 notifies after writing the headers and before the first element, so a
        // subscribed RESP3 client gets the push right there.
        let event = match whence {
            ZWhere::Min => "zpopmin",
            ZWhere::Max => "zpopmax",
        };
        notify_event(srv, c, NOTIFY_ZSET, event, idx, true);
        reply_popped_elements(&mut c.reply, &popped, shape);
        if now_empty {
            delete_key(srv, dbid, c.argv.get(idx));
            notify_event(srv, c, NOTIFY_GENERIC, "del", idx, true);
        }
        return Some((c.argv.get(idx).to_vec(), popped.len()));
    }
    if shape.nil_when_empty {
        c.reply.add_reply_null_array();
    } else {
        c.reply.add_reply_proto(b"*0\r\n");
    }
    None
}

/// Redis: t_zset.c zpopMinMaxCommand().
fn zpop_min_max_command(srv: &mut Server, c: &mut Client, whence: ZWhere) {
    if c.argv.len() > 3 {
        return c.reply.add_reply_syntax_error();
    }
    let mut count = None;
    if c.argv.len() == 3 {
        let msg = Some("value is out of range, must be positive");
        count = Some(match obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), 0, i64::MAX, msg) {
            Some(n) => n,
            None => return,
        });
    }
    let shape = ZPopReply { emitkey: false, nested: c.reply.resp > 2 && count.is_some(), nil_when_empty: false };
    generic_zpop_command(srv, c, &[1], whence, count, shape);
}

/// Redis: t_zset.c zpopminCommand().
pub fn zpopmin_command(srv: &mut Server, c: &mut Client) {
    zpop_min_max_command(srv, c, ZWhere::Min);
}

/// Redis: t_zset.c zpopmaxCommand().
pub fn zpopmax_command(srv: &mut Server, c: &mut Client) {
    zpop_min_max_command(srv, c, ZWhere::Max);
}

/// Redis: rewriteClientCommandVector() to ZPOPMIN/ZPOPMAX key [count], as the pop is
/// propagated to replicas and the AOF.
fn rewrite_as_pop(c: &mut Client, whence: ZWhere, key: &[u8], count: Option<usize>) {
    let count_text = count.map(|n| util::ll2string(n as i64));
    match &count_text {
        Some(n) => c.argv.replace(&[whence.pop_command(), key, n.as_bytes()]),
        None => c.argv.replace(&[whence.pop_command(), key]),
    }
}

/// Redis: t_zset.c blockingGenericZpopCommand(): pops from the first non-empty key, or
/// blocks on all of them. A client being served again skips keys of another type (Redis
/// 7.0 serves a blocked client only from zset keys).
fn blocking_generic_zpop_command(srv: &mut Server, c: &mut Client, keys: &[usize], whence: ZWhere, timeout_idx: usize, count: Option<i64>, shape: ZPopReply) {
    let Some(timeout) = blocked::get_timeout_from_object_or_reply(c, timeout_idx, true) else { return };
    for &idx in keys {
        let found = match db::lookup_key_write(srv, c.db, c.argv.get(idx)) {
            None => continue,
            Some(o) => match o.value() {
                ValueRef::ZSet(z) => !z.is_empty(),
                ValueRef::Str(_) | ValueRef::List(_) | ValueRef::Hash(_) | ValueRef::Set(_) | ValueRef::Stream(_) => {
                    if c.reprocessing {
                        continue;
                    }
                    return c.reply.add_reply_wrong_type();
                }
            },
        };
        if !found {
            continue;
        }
        if let Some((key, n)) = generic_zpop_command(srv, c, &[idx], whence, count, shape) {
            rewrite_as_pop(c, whence, &key, count.map(|_| n));
        }
        return;
    }
    if c.flags & CLIENT_DENY_BLOCKING != 0 {
        return c.reply.add_reply_null_array();
    }
    let owned: Vec<Vec<u8>> = keys.iter().map(|&i| c.argv.get(i).to_vec()).collect();
    let refs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
    blocked::block_for_keys(srv, c, BlockType::ZSet, &refs, timeout);
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout.
fn bzpop_min_max_command(srv: &mut Server, c: &mut Client, whence: ZWhere) {
    let timeout_idx = c.argv.len() - 1;
    let keys: Vec<usize> = (1..timeout_idx).collect();
    let shape = ZPopReply { emitkey: true, nested: false, nil_when_empty: false };
    blocking_generic_zpop_command(srv, c, &keys, whence, timeout_idx, None, shape);
}

/// Redis: t_zset.c bzpopminCommand().
pub fn bzpopmin_command(srv: &mut Server, c: &mut Client) {
    bzpop_min_max_command(srv, c, ZWhere::Min);
}

/// Redis: t_zset.c bzpopmaxCommand().
pub fn bzpopmax_command(srv: &mut Server, c: &mut Client) {
    bzpop_min_max_command(srv, c, ZWhere::Max);
}

/// The arguments of ZMPOP/BZMPOP after numkeys: the keys, MIN|MAX and COUNT.
fn parse_zmpop_args(c: &mut Client, numkeys_idx: usize) -> Option<(Vec<usize>, ZWhere, i64)> {
    let msg = Some("numkeys should be greater than 0");
    let numkeys = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(numkeys_idx), 1, i64::MAX, msg)?;
    let where_idx = usize::try_from(numkeys).ok().and_then(|n| n.checked_add(numkeys_idx + 1));
    let Some(where_idx) = where_idx.filter(|&w| w < c.argv.len()) else {
        c.reply.add_reply_syntax_error();
        return None;
    };
    let whence = match c.argv.get(where_idx) {
        w if arg_is(w, "min") => ZWhere::Min,
        w if arg_is(w, "max") => ZWhere::Max,
        _ => {
            c.reply.add_reply_syntax_error();
            return None;
        }
    };
    let mut count = -1;
    let mut j = where_idx + 1;
    while j < c.argv.len() {
        let moreargs = c.argv.len() - 1 - j;
        if count == -1 && arg_is(c.argv.get(j), "count") && moreargs > 0 {
            let msg = Some("count should be greater than 0");
            count = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), 1, i64::MAX, msg)?;
            j += 2;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
    }
    Some(((numkeys_idx + 1..where_idx).collect(), whence, if count == -1 { 1 } else { count }))
}

/// Redis: t_zset.c zmpopGenericCommand().
fn zmpop_generic_command(srv: &mut Server, c: &mut Client, numkeys_idx: usize, is_block: bool) {
    let Some((keys, whence, count)) = parse_zmpop_args(c, numkeys_idx) else { return };
    let shape = ZPopReply { emitkey: true, nested: true, nil_when_empty: true };
    if is_block {
        blocking_generic_zpop_command(srv, c, &keys, whence, 1, Some(count), shape);
    } else if let Some((key, n)) = generic_zpop_command(srv, c, &keys, whence, Some(count), shape) {
        rewrite_as_pop(c, whence, &key, Some(n));
    }
}

/// Redis: t_zset.c zmpopCommand().
pub fn zmpop_command(srv: &mut Server, c: &mut Client) {
    zmpop_generic_command(srv, c, 1, false);
}

/// Redis: t_zset.c bzmpopCommand().
pub fn bzmpop_command(srv: &mut Server, c: &mut Client) {
    zmpop_generic_command(srv, c, 2, true);
}

// ----------------------------------------------------------------------------------------
// ZRANDMEMBER
// ----------------------------------------------------------------------------------------

/// Redis: ZRANDMEMBER_SUB_STRATEGY_MUL.
const ZRANDMEMBER_SUB_STRATEGY_MUL: u64 = 3;
/// How many random members are emitted between output-buffer limit checks (Redis checks
/// CLIENT_CLOSE_ASAP after each one).
const REPLY_LIMIT_CHECK_EVERY: u64 = 1024;

thread_local! {
    static PICK_RNG: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A random index below `n` (n > 0); xorshift64* seeded from the OS.
fn random_below(n: usize) -> usize {
    let r = PICK_RNG.with(util::xorshift64star);
    (r % n.max(1) as u64) as usize
}

/// Redis: zsetTypeRandomElement(): a fair random element of a non-empty zset.
fn zset_random_element(z: &mut ZSetValue) -> Option<(Vec<u8>, f64)> {
    match z {
        ZSetValue::Listpack(lp) => {
            let eptr = lp.seek(2 * random_below(lp.len()) as i64)?;
            lp.pair(eptr).map(|(m, s)| (m.to_vec(), s))
        }
        ZSetValue::SkipList(zs) => zs.dict.fair_random_entry().map(|(k, &s)| (k.0.to_vec(), s)),
    }
}

/// One ZRANDMEMBER element: [member, score] as an array in RESP3 with scores.
fn reply_random_member(reply: &mut Reply, member: LpValue<'_>, score: f64, withscores: bool) {
    if withscores && reply.resp > 2 {
        reply.add_reply_array_len(2);
    }
    add_reply_member(reply, member);
    if withscores {
        reply.add_reply_double(score);
    }
}

/// Redis: t_zset.c zrandmemberCommand().
pub fn zrandmember_command(srv: &mut Server, c: &mut Client) {
    if c.argv.len() >= 3 {
        // 7.0.15 refuses LONG_MIN, whose negation would overflow.
        let Some(l) = obj::get_range_long_from_object_or_reply(&mut c.reply, c.argv.get(2), -i64::MAX, i64::MAX, None)
        else {
            return;
        };
        let withscores = c.argv.len() == 4;
        if c.argv.len() > 4 || (withscores && !arg_is(c.argv.get(3), "withscores")) {
            return c.reply.add_reply_syntax_error();
        }
        if withscores && !(i64::MIN / 2..=i64::MAX / 2).contains(&l) {
            return c.reply.add_reply_error("value is out of range");
        }
        return zrandmember_with_count_command(srv, c, l, withscores);
    }
    match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => {}
        Ok(None) => c.reply.add_reply_null(),
        Ok(Some(z)) => match zset_random_element(z) {
            Some((member, _)) => c.reply.add_reply_bulk(&member),
            None => c.reply.add_reply_null(),
        },
    }
}

/// Redis: t_zset.c zrandmemberWithCountCommand(): its four strategies.
fn zrandmember_with_count_command(srv: &mut Server, c: &mut Client, l: i64, withscores: bool) {
    let z = match lookup_zset(srv, c.db, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_proto(b"*0\r\n"),
        Ok(Some(z)) => z,
    };
    let (count, uniq) = (l.unsigned_abs(), l >= 0);
    if count == 0 {
        return c.reply.add_reply_proto(b"*0\r\n");
    }
    let size = z.len() as u64;
    let per = if withscores && c.reply.resp == 2 { 2 } else { 1 };
    if !uniq || count == 1 {
        // Case 1: repetitions allowed; the reply length is promised up front.
        c.reply.add_reply_array_len(usize::try_from(count.saturating_mul(per)).unwrap_or(usize::MAX));
        return zrandmember_with_repetitions(srv, c, count, withscores);
    }
    c.reply.add_reply_array_len((count.min(size) * per) as usize);
    if count >= size {
        // Case 2: the whole zset, in zuiNext() order (from the highest score down).
        let src = OpSrc { subject: OpSubject::ZSet(z), weight: 1.0 };
        return src.for_each(|m, s| {
            reply_random_member(&mut c.reply, m, s, withscores);
            true
        });
    }
    if count * ZRANDMEMBER_SUB_STRATEGY_MUL > size {
        // Case 3: copy everything, then remove random elements until `count` are left.
        let mut all = z.to_pairs();
        while all.len() as u64 > count {
            all.swap_remove(random_below(all.len()));
        }
        for (m, s) in &all {
            reply_random_member(&mut c.reply, LpValue::Str(m), *s, withscores);
        }
        return;
    }
    // Case 4: count is small compared to the size: pick distinct random elements.
    zrandmember_distinct(z, c, count as usize, withscores);
}

/// Case 1 of zrandmemberWithCountCommand(): `count` independent picks, checking the
/// output buffer limits between batches as Redis's reply path does (and stopping once
/// the client is to be closed).
fn zrandmember_with_repetitions(srv: &mut Server, c: &mut Client, count: u64, withscores: bool) {
    let mut left = count;
    while left > 0 {
        let batch = left.min(REPLY_LIMIT_CHECK_EVERY);
        let Some(z) = zset_mut(srv, c.db, c.argv.get(1)) else { return };
        for _ in 0..batch {
            let Some((member, score)) = zset_random_element(z) else { return };
            reply_random_member(&mut c.reply, LpValue::Str(&member), score, withscores);
        }
        left -= batch;
        crate::networking::close_client_on_output_buffer_limit_reached(srv, c);
        if c.flags & crate::networking::CLIENT_CLOSE_ASAP != 0 {
            return;
        }
    }
}

/// The zset at `key` without a lookup's side effects (the command already looked it up).
fn zset_mut<'a>(srv: &'a mut Server, dbid: usize, key: &[u8]) -> Option<&'a mut ZSetValue> {
    match srv.db.get_mut(dbid)?.dict.find(key)?.value_mut() {
        ValueMut::ZSet(z) => Some(z),
        ValueMut::Str(_) | ValueMut::List(_) | ValueMut::Hash(_) | ValueMut::Set(_) | ValueMut::Stream(_) => None,
    }
}

/// Case 4: distinct random elements (Redis: lpRandomPairsUnique() for listpacks, keeping
/// listpack order; a dict of seen members for skiplists, in pick order).
fn zrandmember_distinct(z: &mut ZSetValue, c: &mut Client, count: usize, withscores: bool) {
    match z {
        ZSetValue::Listpack(lp) => {
            let total = lp.len();
            let (mut picked, mut eptr) = (0, lp.first());
            for seen in 0..total {
                let Some(e) = eptr else { break };
                // Selection sampling: each element is taken with probability needed/left.
                if random_below(total - seen) < count - picked {
                    if let Some((m, s)) = lp.pair(e) {
                        reply_random_member(&mut c.reply, m, s, withscores);
                    }
                    picked += 1;
                }
                eptr = lp.zzl_next(e);
            }
        }
        ZSetValue::SkipList(zs) => {
            let mut seen: Dict<Box<[u8]>, ()> = Dict::with_capacity(count);
            while seen.len() < count {
                let Some((member, score)) = zs.dict.fair_random_entry().map(|(k, &s)| (k.0.clone(), s)) else { break };
                if seen.add(member.to_vec().into_boxed_slice(), ()).is_ok() {
                    reply_random_member(&mut c.reply, LpValue::Str(&member), score, withscores);
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// ZSCAN
// ----------------------------------------------------------------------------------------

/// Redis: t_zset.c zscanCommand() + the zset parts of db.c scanGenericCommand(). A
/// listpack is returned whole (scores as stored); a skiplist's dict is scanned.
pub fn zscan_command(srv: &mut Server, c: &mut Client) {
    let Some(cursor) = db::parse_scan_cursor_or_reply(c, 2) else { return };
    let dbid = c.db;
    let exists = match lookup_zset(srv, dbid, c.argv.get(1), LookupFlags::Read, &mut c.reply) {
        Err(()) => return,
        Ok(z) => z.is_some(),
    };
    if !exists {
        return c.reply.add_reply_proto(EMPTY_SCAN);
    }
    let Some(opts) = db::parse_scan_options(c, 3, false) else { return };
    let Some(ValueRef::ZSet(z)) = srv.db.get(dbid).and_then(|db| db.dict.get(c.argv.get(1))).map(|o| o.value()) else {
        return c.reply.add_reply_proto(EMPTY_SCAN);
    };
    let (cursor, mut items) = zscan_collect(z, cursor, opts.count);
    if let Some(pattern) = &opts.pattern {
        items.retain(|(member, _)| util::string_match_len(pattern, member, false));
    }
    c.reply.add_reply_array_len(2);
    c.reply.add_reply_bulk_long_long(cursor as i64);
    c.reply.add_reply_array_len(items.len() * 2);
    for (member, score) in &items {
        c.reply.add_reply_bulk(member);
        c.reply.add_reply_bulk(score);
    }
}

/// A ZSCAN item: the member and its score as text.
type ScanItem = (Vec<u8>, Vec<u8>);

/// scanGenericCommand()'s collection step for a zset: (member, score text) pairs.
fn zscan_collect(z: &ZSetValue, cursor: u64, count: i64) -> (u64, Vec<ScanItem>) {
    let mut items = Vec::new();
    match z {
        ZSetValue::Listpack(lp) => {
            let mut eptr = lp.first();
            while let Some(e) = eptr {
                let Some(sptr) = lp.next(e) else { break };
                items.push((lp.get(e).to_vec(), lp.get(sptr).to_vec()));
                eptr = lp.next(sptr);
            }
            (0, items)
        }
        ZSetValue::SkipList(zs) => {
            // Redis counts list nodes, two per element, against COUNT.
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            let mut maxiterations = count.saturating_mul(10);
            let mut cursor = cursor;
            loop {
                cursor = zs.dict.scan(cursor, |k, &score| {
                    let mut text = Vec::with_capacity(24);
                    util::write_double_g17(&mut text, score);
                    items.push((k.0.to_vec(), text));
                });
                let more = maxiterations != 0;
                maxiterations = maxiterations.saturating_sub(1);
                if cursor == 0 || !more || items.len() * 2 >= count {
                    break;
                }
            }
            (cursor, items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command, test_server};
    use proptest::prelude::*;
    use std::cmp::Ordering;

    const SMALL: ZsetLimits = ZsetLimits { max_entries: 8, max_value: 6 };

    /// The reference model: member -> score, ordered on demand like a zset.
    fn model_sorted(model: &std::collections::HashMap<Vec<u8>, f64>) -> Vec<(Vec<u8>, f64)> {
        let mut v: Vec<(Vec<u8>, f64)> = model.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
        v
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(i8, u8, bool, bool),
        Del(u8),
        DelScoreRange(i8, i8),
        DelRankRange(u8, u8),
        Pop(bool, u8),
    }

    fn member(id: u8) -> Vec<u8> {
        // Short numeric members, words, and members longer than SMALL.max_value.
        match id % 3 {
            0 => util::ll2string(i64::from(id)).as_bytes().to_vec(),
            1 => format!("m{id}").into_bytes(),
            _ => format!("member-{id:03}").into_bytes(),
        }
    }

    fn op_strategy() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<i8>(), 0u8..40, any::<bool>(), any::<bool>()).prop_map(|(s, m, gt, incr)| Op::Add(s, m, gt, incr)),
            2 => (0u8..40).prop_map(Op::Del),
            1 => (any::<i8>(), any::<i8>()).prop_map(|(a, b)| Op::DelScoreRange(a, b)),
            1 => (0u8..10, 0u8..10).prop_map(|(a, b)| Op::DelRankRange(a, b)),
            1 => (any::<bool>(), 0u8..4).prop_map(|(max, n)| Op::Pop(max, n)),
        ]
    }

    fn apply(z: &mut ZSetValue, model: &mut std::collections::HashMap<Vec<u8>, f64>, op: &Op) {
        match *op {
            Op::Add(score, id, gt, incr) => {
                let (m, score) = (member(id), f64::from(score) / 4.0);
                let flags = ZAddFlags { gt, incr, ..ZAddFlags::default() };
                let out = z.add(score, &m, flags, SMALL).expect("finite scores");
                let cur = model.get(&m).copied();
                let want = match cur {
                    None => Some(score),
                    Some(c) => {
                        let s = if incr { c + score } else { score };
                        (!gt || s > c).then_some(s)
                    }
                };
                match (out, want) {
                    (ZAddOutcome::Nop, None) => {}
                    (ZAddOutcome::Added(s) | ZAddOutcome::Updated(s) | ZAddOutcome::Unchanged(s), Some(w)) => {
                        assert_eq!(s, w);
                        model.insert(m, w);
                    }
                    other => panic!("{op:?}: {other:?}"),
                }
            }
            Op::Del(id) => assert_eq!(z.del(&member(id)), model.remove(&member(id)).is_some()),
            Op::DelScoreRange(a, b) => {
                let range = ZRangeSpec { min: f64::from(a) / 4.0, max: f64::from(b) / 4.0, minex: false, maxex: true };
                let n = zset_delete_range_by_score(z, &range);
                let before = model.len();
                model.retain(|_, s| !(range.value_gte_min(*s) && range.value_lte_max(*s)));
                assert_eq!(n, before - model.len());
            }
            Op::DelRankRange(a, b) => {
                let Some((start, end)) = sanitize_rank_range(i64::from(a), i64::from(b), z.len()) else { return };
                let doomed: Vec<Vec<u8>> = model_sorted(model)[start..=end].iter().map(|(m, _)| m.clone()).collect();
                assert_eq!(zset_delete_range_by_rank(z, start + 1, end + 1), doomed.len());
                doomed.iter().for_each(|m| {
                    model.remove(m);
                });
            }
            Op::Pop(max, n) => {
                let popped = zset_pop(z, if max { ZWhere::Max } else { ZWhere::Min }, usize::from(n));
                let mut sorted = model_sorted(model);
                if max {
                    sorted.reverse();
                }
                let want: Vec<(Vec<u8>, f64)> = sorted.into_iter().take(usize::from(n)).collect();
                assert_eq!(popped, want);
                want.iter().for_each(|(m, _)| {
                    model.remove(m);
                });
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Both encodings agree with a plain map through adds, removals, range deletions
        /// and pops, and the encoding changes exactly where Redis changes it.
        #[test]
        fn zset_matches_model(ops in proptest::collection::vec(op_strategy(), 1..120)) {
            let mut z = ZSetValue::default();
            let mut model = std::collections::HashMap::new();
            let mut converted = false;
            for op in &ops {
                let adds_new = matches!(op, Op::Add(..));
                let would_overflow = match op {
                    Op::Add(_, id, _, _) => !model.contains_key(&member(*id))
                        && (model.len() + 1 > SMALL.max_entries || member(*id).len() > SMALL.max_value),
                    _ => false,
                };
                apply(&mut z, &mut model, op);
                converted |= adds_new && would_overflow;
                prop_assert_eq!(z.encoding_name(), if converted { "skiplist" } else { "listpack" });
                prop_assert_eq!(z.len(), model.len());
            }
            prop_assert_eq!(z.to_pairs(), model_sorted(&model));
            if let ZSetValue::SkipList(zs) = &z {
                zs.zsl.check_invariants();
                prop_assert_eq!(zs.dict.len(), model.len());
            }
            for (rank, (m, s)) in model_sorted(&model).iter().enumerate() {
                prop_assert_eq!(z.score(m), Some(*s));
                prop_assert_eq!(z.rank(m, false), Some(rank));
                prop_assert_eq!(z.rank(m, true), Some(model.len() - 1 - rank));
            }
        }

        /// Score ranges walk the same elements forwards and backwards in both encodings.
        #[test]
        fn score_ranges_agree_across_encodings(
            scores in proptest::collection::vec(-8i8..8, 0..40),
            min in -10i8..10, max in -10i8..10, minex: bool, maxex: bool,
        ) {
            let mut lp = ZSetValue::default();
            let big = ZsetLimits { max_entries: 1000, max_value: 64 };
            for (i, s) in scores.iter().enumerate() {
                lp.add(f64::from(*s), format!("e{i}").as_bytes(), ZAddFlags::default(), big).unwrap();
            }
            let mut sl = lp.clone();
            sl.convert_to_skiplist();
            let range = ZRangeSpec { min: f64::from(min), max: f64::from(max), minex, maxex };
            for reverse in [false, true] {
                let walk = |z: &ZSetValue| {
                    let mut out = Vec::new();
                    let mut pos = z.pos_in_range(&range, reverse);
                    while let Some(p) = pos {
                        let s = z.pos_score(p);
                        if !(range.value_gte_min(s) && range.value_lte_max(s)) { break; }
                        out.push(z.pos_member(p).to_vec());
                        pos = z.pos_step(p, reverse);
                    }
                    out
                };
                prop_assert_eq!(walk(&lp), walk(&sl));
            }
            let (first_lp, first_sl) = (lp.pos_in_range(&range, false), sl.pos_in_range(&range, false));
            let count_lp = zset_count_between(&lp, first_lp, || lp.pos_in_range(&range, true), |p| range.value_lte_max(lp.pos_score(p)));
            let count_sl = zset_count_between(&sl, first_sl, || sl.pos_in_range(&range, true), |p| range.value_lte_max(sl.pos_score(p)));
            prop_assert_eq!(count_lp, count_sl);
            let mut lp_digest = [0u8; 20];
            let mut sl_digest = [0u8; 20];
            lp.digest_into(&mut lp_digest);
            sl.digest_into(&mut sl_digest);
            prop_assert_eq!(lp_digest, sl_digest);
        }
    }

    #[test]
    fn conversions_round_trip_and_keep_minus_zero_rules() {
        let limits = ZsetLimits { max_entries: 128, max_value: 64 };
        let mut z = ZSetValue::default();
        z.add(-0.0, b"a", ZAddFlags::default(), limits).unwrap();
        z.add(1.1, b"b", ZAddFlags::default(), limits).unwrap();
        z.add(f64::NEG_INFINITY, b"c", ZAddFlags::default(), limits).unwrap();
        // A listpack stores -0 as the integer 0.
        assert!(z.score(b"a").unwrap().is_sign_positive());
        z.convert_to_skiplist();
        assert_eq!(z.encoding_name(), "skiplist");
        let copy = z.clone();
        assert_eq!(copy, z);
        z.convert_to_listpack();
        assert_eq!(z.to_pairs(), copy.to_pairs());
        assert_eq!(z.add(f64::NAN, b"x", ZAddFlags::default(), limits), Err(ZAddNan));
        let incr = ZAddFlags { incr: true, ..ZAddFlags::default() };
        assert_eq!(z.add(f64::INFINITY, b"c", incr, limits), Err(ZAddNan));
        // Results of *STORE shrink back only within both limits.
        let mut big = ZSetValue::new_skiplist();
        big.add(1.0, b"abc", ZAddFlags::default(), limits).unwrap();
        big.convert_to_listpack_if_needed(65, 65, limits);
        assert_eq!(big.encoding_name(), "skiplist");
        big.convert_to_listpack_if_needed(3, 3, limits);
        assert_eq!(big.encoding_name(), "listpack");
    }

    #[test]
    fn range_parsing_follows_strtod_rules() {
        let r = zsl_parse_range(b"(1.5", b"+inf").unwrap();
        assert!(r.minex && !r.maxex && r.min == 1.5 && r.max == f64::INFINITY);
        assert_eq!(zsl_parse_range(b"", b" 2").map(|r| (r.min, r.max)), Some((0.0, 2.0)));
        assert_eq!(zsl_parse_range(b"0x10", b"1e999").map(|r| (r.min, r.max)), Some((16.0, f64::INFINITY)));
        assert_eq!(zsl_parse_range(b"1\0junk", b"2").map(|r| r.min), Some(1.0));
        assert!(zsl_parse_range(b"nan", b"1").is_none());
        assert!(zsl_parse_range(b"1 ", b"2").is_none());
        assert!(zsl_parse_range(b"((1", b"2").is_none());
        let lex = zsl_parse_lex_range(b"-", b"(b").unwrap();
        assert_eq!((lex.min, lex.max, lex.minex, lex.maxex), (LexBound::Min, LexBound::Value(b"b".to_vec()), true, true));
        assert!(zsl_parse_lex_range(b"+x", b"+").is_none());
        assert!(zsl_parse_lex_range(b"a", b"+").is_none());
        assert!(zsl_parse_lex_range(b"", b"+").is_none());
        assert!(zsl_parse_lex_range(b"+\0x", b"[").is_some());
    }

    #[test]
    fn commands_reply_like_redis() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        assert_eq!(run_command(&mut srv, &mut c, zadd_command, &["zadd", "z", "1", "a", "2.5", "b"]), ":2\r\n");
        assert_eq!(run_command(&mut srv, &mut c, zadd_command, &["zadd", "z", "INCR", "1", "a"]), "$1\r\n2\r\n");
        assert_eq!(
            run_command(&mut srv, &mut c, zrange_command, &["zrange", "z", "0", "-1", "withscores"]),
            "*4\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
        );
        assert_eq!(run_command(&mut srv, &mut c, zcount_command, &["zcount", "z", "(2", "+inf"]), ":1\r\n");
        assert_eq!(
            run_command(&mut srv, &mut c, zunion_command, &["zunion", "0", "z"]),
            "-ERR at least 1 input key is needed for '' command\r\n"
        );
        assert_eq!(
            run_command(&mut srv, &mut c, zpopmax_command, &["zpopmax", "z", "5"]),
            "*4\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\na\r\n$1\r\n2\r\n"
        );
        assert!(srv.db[0].dict.get(b"z").is_none(), "an emptied zset is deleted");
        assert_eq!(run_command(&mut srv, &mut c, zadd_command, &["zadd", "z", "1", "a", "x"]), "-ERR syntax error\r\n");
        c.reply.resp = 3;
        assert_eq!(run_command(&mut srv, &mut c, zincrby_command, &["zincrby", "z", "1.5", "m"]), ",1.5\r\n");
        assert_eq!(
            run_command(&mut srv, &mut c, zrange_command, &["zrange", "z", "0", "-1", "withscores"]),
            "*1\r\n*2\r\n$1\r\nm\r\n,1.5\r\n"
        );
    }
}

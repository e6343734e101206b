//! Small sorted sets as a listpack: the subset of Redis's listpack.c a zset needs plus the
//! zzl* functions of t_zset.c.
//!
//! The bytes are a real listpack (header, entries with back-lengths, 0xFF end), holding
//! member, score, member, score ... sorted by (score, member). Keeping Redis's exact bytes
//! makes memory per element what Redis uses, MEMORY USAGE and DEBUG OBJECT's
//! serializedlength computable as Redis computes them, and an RDB writer able to dump the
//! buffer as is. Positions are byte offsets into the buffer ("eptr"/"sptr" in Redis); any
//! insert or delete invalidates offsets after the change, as it does in C.
//!
//! Scores are stored as Redis stores them: as listpack integers when integral (so -0.0
//! reads back as 0), otherwise as their d2string text.

use crate::listpack::LpBox;
use crate::util;
use crate::zmalloc;
use crate::zskiplist::{ZLexRangeSpec, ZRangeSpec};

/// Redis: LP_HDR_SIZE (total bytes u32 + element count u16).
const LP_HDR_SIZE: usize = 6;
/// Redis: LP_EOF.
const LP_EOF: u8 = 0xFF;
/// Redis: LP_HDR_NUMELE_UNKNOWN, stored once the count no longer fits 16 bits.
const LP_HDR_NUMELE_UNKNOWN: usize = 65535;
/// Redis: LISTPACK_MAX_SAFETY_SIZE (lpSafeToAdd()).
pub const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

/// A listpack entry's value (Redis: lpGetValue()'s string-or-integer result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpValue<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpValue<'_> {
    /// The value as bytes (integers in decimal), as lpGetObject() builds an sds.
    pub fn to_vec(self) -> Vec<u8> {
        match self {
            LpValue::Int(v) => util::ll2string(v).as_bytes().to_vec(),
            LpValue::Str(s) => s.to_vec(),
        }
    }

    /// Runs `f` on the value's bytes without allocating.
    pub fn with_bytes<R>(self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            LpValue::Int(v) => f(util::ll2string(v).as_bytes()),
            LpValue::Str(s) => f(s),
        }
    }

    /// Length as a string (sdslen of lpGetObject()).
    pub fn str_len(self) -> usize {
        match self {
            LpValue::Int(v) => util::sdigits10(v) as usize,
            LpValue::Str(s) => s.len(),
        }
    }

    /// Redis: zzlStrtod()/zzlGetScore(): a score entry as a double.
    pub fn as_score(self) -> f64 {
        match self {
            LpValue::Int(v) => v as f64,
            LpValue::Str(s) => parse_stored_score(s),
        }
    }
}

/// Scores in a listpack were written by d2string(), so they normally parse whole; "inf"
/// and "-inf" included. Anything else (a payload loaded without deep sanitization, which
/// does not look at scores) reads as Redis's zzlStrtod() reads it: strtod() of the first
/// 127 bytes, i.e. the longest numeric prefix, 0 without one. Except NaN ("nan" text),
/// read as 0 so that no NaN reaches the sorted structures (Redis would assert later).
fn parse_stored_score(s: &[u8]) -> f64 {
    if let Some(v) = util::string2d(s) {
        return v;
    }
    let v = util::strtod_prefix(s.get(..127).unwrap_or(s));
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// What an insert writes: Redis's lpInsertString() turns integer-looking strings into
/// integer entries; lpInsertInteger() writes an integer.
#[derive(Debug, Clone, Copy)]
enum LpInput<'a> {
    Int(i64),
    Str(&'a [u8]),
}

/// Redis: lpEncodeBacklen(): how many bytes the back-length of an `l`-byte entry takes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Redis: lpEncodeBacklen(): most significant 7-bit group first; every byte after the
/// first has its high bit set, so the reader can walk it from the right.
fn write_backlen(out: &mut Vec<u8>, l: usize) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// Redis: lpEncodeIntegerGetType() + lpEncodeString(): the encoding and data bytes.
fn encode_entry(out: &mut Vec<u8>, value: LpInput<'_>) {
    let value = match value {
        LpInput::Str(s) if s.len() < 21 => util::string2ll(s).map_or(value, LpInput::Int),
        other => other,
    };
    match value {
        LpInput::Int(v) => encode_int(out, v),
        LpInput::Str(s) => encode_str(out, s),
    }
}

fn encode_int(out: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u64) & 0x1FFF;
        out.extend_from_slice(&[0xC0 | (u >> 8) as u8, (u & 0xFF) as u8]);
    } else if let Ok(v16) = i16::try_from(v) {
        out.push(0xF1);
        out.extend_from_slice(&v16.to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(0xF2);
        out.extend_from_slice(&v.to_le_bytes()[..3]);
    } else if let Ok(v32) = i32::try_from(v) {
        out.push(0xF3);
        out.extend_from_slice(&v32.to_le_bytes());
    } else {
        out.push(0xF4);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn encode_str(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 64 {
        out.push(0x80 | len as u8);
    } else if len < 4096 {
        out.extend_from_slice(&[0xE0 | (len >> 8) as u8, (len & 0xFF) as u8]);
    } else {
        out.push(0xF0);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// A zset's listpack (Redis: the `unsigned char *zl` of an OBJ_ENCODING_LISTPACK zset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZListpack {
    /// The only field, pointer + length, so that a small zset's value is 16 bytes and sits
    /// in its keyspace entry unboxed (object.rs): the listpack at rest in the size class it
    /// grew into, as a hash's ([`LpBox`]: equal and cloned by its bytes, not its slack).
    lp: LpBox,
}

/// Sets the header's total bytes (the buffer's length) and entry count.
fn write_header(lp: &mut [u8], entries: usize) {
    let total = (lp.len() as u32).to_le_bytes();
    let count = (entries.min(LP_HDR_NUMELE_UNKNOWN) as u16).to_le_bytes();
    if let Some(h) = lp.get_mut(..LP_HDR_SIZE) {
        h[..4].copy_from_slice(&total);
        h[4..].copy_from_slice(&count);
    }
}

impl Default for ZListpack {
    fn default() -> Self {
        Self::new()
    }
}

impl ZListpack {
    /// Redis: lpNew(0).
    pub fn new() -> ZListpack {
        ZListpack::at_rest(vec![(LP_HDR_SIZE + 1) as u8, 0, 0, 0, 0, 0, LP_EOF])
    }

    /// A zset listpack from raw bytes after only the shallow checks of Redis's
    /// lpValidateIntegrity(deep = 0): the header's total matches the size and the last
    /// byte is the EOF. The entries may be anything: every accessor below stays
    /// panic-free on them (an entry that does not decode ends a walk; scores read as
    /// strtod reads them).
    pub fn from_bytes_shallow(lp: Vec<u8>) -> Option<ZListpack> {
        let total = u32::from_le_bytes(lp.get(..4)?.try_into().ok()?) as usize;
        if total != lp.len() || total < LP_HDR_SIZE + 1 || lp.last() != Some(&LP_EOF) {
            return None;
        }
        Some(ZListpack::at_rest(lp))
    }

    /// `lp` kept in its allocation, spare capacity zeroed (no realloc).
    fn at_rest(lp: Vec<u8>) -> ZListpack {
        ZListpack { lp: LpBox::from_vec(lp) }
    }

    /// Runs the edit `f` on the listpack's bytes as a `Vec` in the same allocation, which
    /// moves only when an edit outgrows it.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        self.lp.edit_bytes(f)
    }

    /// A zset listpack from raw bytes (an RDB payload, RESTORE) after the deep checks of
    /// Redis 7.0's lpPairsValidateIntegrityAndDups(): the header must give the length,
    /// every entry must decode with a matching back-length, the entries must pair up
    /// (member, score) and members must be unique. Scores are not checked, as in Redis.
    pub fn from_bytes(lp: Vec<u8>) -> Option<ZListpack> {
        let total = u32::from_le_bytes(lp.get(..4)?.try_into().ok()?) as usize;
        if total != lp.len() || total < LP_HDR_SIZE + 1 || lp.last() != Some(&LP_EOF) {
            return None;
        }
        let zl = ZListpack::at_rest(lp);
        let mut entries = 0usize;
        let mut members = std::collections::HashSet::new();
        let mut p = LP_HDR_SIZE;
        while zl.byte(p) != LP_EOF {
            let (value, len) = zl.decode(p)?;
            if entries % 2 == 0 && !members.insert(value.to_vec()) {
                return None;
            }
            let end = p.checked_add(len + backlen_size(len))?;
            if end >= zl.bytes() || zl.prev(end) != Some(p) {
                return None;
            }
            entries += 1;
            p = end;
        }
        let header_count = usize::from(u16::from_le_bytes([zl.byte(4), zl.byte(5)]));
        let count_ok = header_count == entries.min(LP_HDR_NUMELE_UNKNOWN);
        (count_ok && p == zl.bytes() - 1 && entries.is_multiple_of(2)).then_some(zl)
    }

    /// The raw listpack (Redis: lpBytes() bytes at zobj->ptr).
    pub fn as_bytes(&self) -> &[u8] {
        self.lp.view().as_bytes()
    }

    /// Redis: lpBytes(): the header's total (the allocation may be longer).
    pub fn bytes(&self) -> usize {
        self.lp.view().bytes()
    }

    /// The bytes allocated, slack included (what used_memory counts).
    pub fn allocated(&self) -> usize {
        self.lp.allocated()
    }

    /// Redis: zzlLength(): members.
    pub fn len(&self) -> usize {
        self.entries() / 2
    }

    pub fn is_empty(&self) -> bool {
        self.byte(LP_HDR_SIZE) == LP_EOF
    }

    /// Redis: lpLength(): entries (members + scores), from the header while they fit its
    /// 16 bits, else counted (only with a zset-max-listpack-entries above 32767).
    fn entries(&self) -> usize {
        let count = usize::from(u16::from_le_bytes([self.byte(4), self.byte(5)]));
        if count < LP_HDR_NUMELE_UNKNOWN {
            return count;
        }
        let mut n = 0;
        let mut p = self.first();
        while let Some(q) = p {
            n += 1;
            p = self.next(q);
        }
        n
    }

    /// Redis: lpSafeToAdd().
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.bytes().saturating_add(add) <= LISTPACK_MAX_SAFETY_SIZE
    }


    fn byte(&self, p: usize) -> u8 {
        self.lp.as_slice().get(p).copied().unwrap_or(LP_EOF)
    }

    /// Decodes the entry at `p`: its value and the size of its encoding + data.
    fn decode(&self, p: usize) -> Option<(LpValue<'_>, usize)> {
        let b = *self.lp.as_slice().get(p)?;
        let le = |from: usize, n: usize| -> Option<u64> {
            let bytes = self.lp.as_slice().get(p + from..p + from + n)?;
            Some(bytes.iter().rev().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
        };
        let string = |skip: usize, len: usize| -> Option<(LpValue<'_>, usize)> {
            let s = self.lp.as_slice().get(p + skip..p + skip + len)?;
            Some((LpValue::Str(s), skip + len))
        };
        match b {
            0x00..=0x7F => Some((LpValue::Int(i64::from(b)), 1)),
            0x80..=0xBF => string(1, usize::from(b & 0x3F)),
            0xC0..=0xDF => {
                let u = (i64::from(b & 0x1F) << 8) | i64::from(self.byte(p + 1));
                Some((LpValue::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2))
            }
            0xE0..=0xEF => string(2, (usize::from(b & 0x0F) << 8) | usize::from(self.byte(p + 1))),
            0xF0 => string(5, usize::try_from(le(1, 4)?).ok()?),
            0xF1 => Some((LpValue::Int(i64::from(le(1, 2)? as u16 as i16)), 3)),
            0xF2 => Some((LpValue::Int(((le(1, 3)? << 40) as i64) >> 40), 4)),
            0xF3 => Some((LpValue::Int(i64::from(le(1, 4)? as u32 as i32)), 5)),
            0xF4 => Some((LpValue::Int(le(1, 8)? as i64), 9)),
            _ => None,
        }
    }

    /// Redis: lpGetValue(): the value of the entry at `p`.
    pub fn get(&self, p: usize) -> LpValue<'_> {
        self.decode(p).map_or(LpValue::Str(&[]), |(v, _)| v)
    }

    /// Redis: lpFirst().
    pub fn first(&self) -> Option<usize> {
        (self.byte(LP_HDR_SIZE) != LP_EOF).then_some(LP_HDR_SIZE)
    }

    /// Redis: lpNext().
    pub fn next(&self, p: usize) -> Option<usize> {
        let (_, len) = self.decode(p)?;
        let q = p + len + backlen_size(len);
        (self.byte(q) != LP_EOF).then_some(q)
    }

    /// Redis: lpPrev().
    pub fn prev(&self, p: usize) -> Option<usize> {
        if p <= LP_HDR_SIZE {
            return None;
        }
        let mut q = p - 1;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = *self.lp.as_slice().get(q)?;
            len |= usize::from(b & 127) << shift;
            if b & 128 == 0 {
                break;
            }
            shift += 7;
            q = q.checked_sub(1)?;
            if shift > 28 {
                return None;
            }
        }
        p.checked_sub(len + backlen_size(len))
    }

    /// Redis: lpLast().
    pub fn last(&self) -> Option<usize> {
        self.prev(self.bytes().checked_sub(1)?)
    }

    /// Redis: lpSeek(): entry `index`, negative from the end.
    pub fn seek(&self, index: i64) -> Option<usize> {
        let n = self.entries() as i64;
        let index = if index < 0 { n + index } else { index };
        if index < 0 || index >= n {
            return None;
        }
        if index < n / 2 {
            let mut p = self.first()?;
            for _ in 0..index {
                p = self.next(p)?;
            }
            Some(p)
        } else {
            let mut p = self.last()?;
            for _ in index + 1..n {
                p = self.prev(p)?;
            }
            Some(p)
        }
    }

    /// Inserts an entry before `p` (None appends). Returns the new entry's offset.
    fn insert(&mut self, p: Option<usize>, value: LpInput<'_>) -> usize {
        let mut entry = Vec::with_capacity(16);
        encode_entry(&mut entry, value);
        let len = entry.len();
        write_backlen(&mut entry, len);
        let eof = self.bytes().saturating_sub(1);
        let at = p.unwrap_or(eof).min(eof);
        let entries = self.entries() + 1;
        self.edit(|lp| {
            if entry.len() > lp.capacity() - lp.len() {
                // Redis reallocs to the exact size, which the allocator rounds up to a
                // size class: take the whole class.
                lp.reserve_exact(zmalloc::good_size(lp.len() + entry.len()) - lp.len());
            }
            lp.splice(at..at, entry);
            write_header(lp, entries);
        });
        at
    }

    /// Redis: lpDeleteRangeWithEntry(): deletes `n` entries from `p` on.
    fn delete_entries(&mut self, p: usize, n: usize) {
        let mut end = p;
        let mut deleted = 0;
        let entries = self.entries();
        while deleted < n {
            let Some((_, len)) = self.decode(end) else { break };
            end += len + backlen_size(len);
            deleted += 1;
        }
        self.edit(|lp| {
            if let Some(range) = lp.get(p..end).map(|_| p..end) {
                lp.drain(range);
            }
            // Redis reallocs to the exact size; the allocator keeps the size class.
            lp.shrink_to(zmalloc::good_size(lp.len()));
            write_header(lp, entries.saturating_sub(deleted));
        });
    }

    // ------------------------------------------------------------------------------------
    // zzl*: the zset on top of the listpack
    // ------------------------------------------------------------------------------------

    /// Redis: zzlGetScore() of the score entry at `sptr`.
    pub fn score_at(&self, sptr: usize) -> f64 {
        self.get(sptr).as_score()
    }

    /// The score entry of the member at `eptr`.
    pub fn score_ptr(&self, eptr: usize) -> Option<usize> {
        self.next(eptr)
    }

    /// The member at `eptr` and its score.
    pub fn pair(&self, eptr: usize) -> Option<(LpValue<'_>, f64)> {
        let sptr = self.next(eptr)?;
        Some((self.get(eptr), self.score_at(sptr)))
    }

    /// Redis: zzlNext(): the next member entry.
    pub fn zzl_next(&self, eptr: usize) -> Option<usize> {
        self.next(self.next(eptr)?)
    }

    /// Redis: zzlPrev(): the previous member entry.
    pub fn zzl_prev(&self, eptr: usize) -> Option<usize> {
        self.prev(self.prev(eptr)?)
    }

    /// Iterates (member, score) from the lowest score.
    pub fn iter(&self) -> impl Iterator<Item = (LpValue<'_>, f64)> + '_ {
        let mut eptr = self.first();
        std::iter::from_fn(move || {
            let e = eptr?;
            let sptr = self.next(e)?;
            eptr = self.next(sptr);
            Some((self.get(e), self.score_at(sptr)))
        })
    }

    /// Redis: zzlCompareElements() == 0 / lpCompare(): does the entry equal `ele`?
    fn entry_equals(&self, eptr: usize, ele: &[u8], ele_int: Option<i64>) -> bool {
        match self.get(eptr) {
            LpValue::Int(v) => ele_int == Some(v),
            LpValue::Str(s) => s == ele,
        }
    }

    /// Redis: zzlFind(): the member's entry and its score.
    pub fn find(&self, ele: &[u8]) -> Option<(usize, f64)> {
        let ele_int = if ele.len() < 21 { util::string2ll(ele) } else { None };
        let mut eptr = self.first();
        while let Some(e) = eptr {
            let sptr = self.next(e)?;
            if self.entry_equals(e, ele, ele_int) {
                return Some((e, self.score_at(sptr)));
            }
            eptr = self.next(sptr);
        }
        None
    }

    /// Redis: zzlDelete(): removes the member at `eptr` and its score.
    pub fn delete(&mut self, eptr: usize) {
        self.delete_entries(eptr, 2);
    }

    /// Redis: zzlInsertAt(): writes (ele, score) before `eptr` (None appends).
    pub fn insert_at(&mut self, eptr: Option<usize>, ele: &[u8], score: f64) {
        let mut text = Vec::new();
        let score_entry = match util::double2ll(score) {
            Some(v) => LpInput::Int(v),
            None => {
                util::d2string(&mut text, score);
                LpInput::Str(&text)
            }
        };
        let e = self.insert(eptr, LpInput::Str(ele));
        let sptr = self.next_raw(e);
        self.insert(Some(sptr), score_entry);
    }

    /// The offset right after the entry at `p` (the EOF byte's offset for the last one).
    fn next_raw(&self, p: usize) -> usize {
        self.decode(p).map_or(self.bytes().saturating_sub(1), |(_, len)| p + len + backlen_size(len))
    }

    /// Redis: zzlInsert(): inserts keeping the (score, member) order. `ele` must be absent.
    pub fn insert_sorted(&mut self, ele: &[u8], score: f64) {
        let mut eptr = self.first();
        while let Some(e) = eptr {
            let Some(sptr) = self.next(e) else { break };
            let s = self.score_at(sptr);
            if s > score || (s == score && self.get(e).with_bytes(|b| b > ele)) {
                return self.insert_at(Some(e), ele, score);
            }
            eptr = self.next(sptr);
        }
        self.insert_at(None, ele, score);
    }

    /// Redis: zzlIsInRange().
    fn is_in_range(&self, range: &ZRangeSpec) -> bool {
        if range.is_always_empty() {
            return false;
        }
        let (Some(last), Some(first)) = (self.seek(-1), self.seek(1)) else { return false };
        range.value_gte_min(self.score_at(last)) && range.value_lte_max(self.score_at(first))
    }

    /// Redis: zzlFirstInRange().
    pub fn first_in_range(&self, range: &ZRangeSpec) -> Option<usize> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut eptr = self.first();
        while let Some(e) = eptr {
            let sptr = self.next(e)?;
            let score = self.score_at(sptr);
            if range.value_gte_min(score) {
                return range.value_lte_max(score).then_some(e);
            }
            eptr = self.next(sptr);
        }
        None
    }

    /// Redis: zzlLastInRange().
    pub fn last_in_range(&self, range: &ZRangeSpec) -> Option<usize> {
        if !self.is_in_range(range) {
            return None;
        }
        let mut eptr = self.seek(-2);
        while let Some(e) = eptr {
            let score = self.score_at(self.next(e)?);
            if range.value_lte_max(score) {
                return range.value_gte_min(score).then_some(e);
            }
            eptr = self.zzl_prev(e);
        }
        None
    }

    /// Redis: zzlLexValueGteMin() / zzlLexValueLteMax().
    pub fn lex_gte_min(&self, p: usize, range: &ZLexRangeSpec) -> bool {
        self.get(p).with_bytes(|b| range.value_gte_min(b))
    }

    pub fn lex_lte_max(&self, p: usize, range: &ZLexRangeSpec) -> bool {
        self.get(p).with_bytes(|b| range.value_lte_max(b))
    }

    /// Redis: zzlIsInLexRange().
    fn is_in_lex_range(&self, range: &ZLexRangeSpec) -> bool {
        if range.is_always_empty() {
            return false;
        }
        let (Some(last), Some(first)) = (self.seek(-2), self.seek(0)) else { return false };
        self.lex_gte_min(last, range) && self.lex_lte_max(first, range)
    }

    /// Redis: zzlFirstInLexRange().
    pub fn first_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<usize> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut eptr = self.first();
        while let Some(e) = eptr {
            if self.lex_gte_min(e, range) {
                return self.lex_lte_max(e, range).then_some(e);
            }
            eptr = self.zzl_next(e);
        }
        None
    }

    /// Redis: zzlLastInLexRange().
    pub fn last_in_lex_range(&self, range: &ZLexRangeSpec) -> Option<usize> {
        if !self.is_in_lex_range(range) {
            return None;
        }
        let mut eptr = self.seek(-2);
        while let Some(e) = eptr {
            if self.lex_lte_max(e, range) {
                return self.lex_gte_min(e, range).then_some(e);
            }
            eptr = self.zzl_prev(e);
        }
        None
    }

    /// Redis: zzlDeleteRangeByScore(): returns how many members went.
    pub fn delete_range_by_score(&mut self, range: &ZRangeSpec) -> usize {
        let mut deleted = 0;
        let Some(eptr) = self.first_in_range(range) else { return 0 };
        while let Some(sptr) = self.next(eptr) {
            if !range.value_lte_max(self.score_at(sptr)) {
                break;
            }
            self.delete(eptr);
            deleted += 1;
            if self.byte(eptr) == LP_EOF {
                break;
            }
        }
        deleted
    }

    /// Redis: zzlDeleteRangeByLex().
    pub fn delete_range_by_lex(&mut self, range: &ZLexRangeSpec) -> usize {
        let mut deleted = 0;
        let Some(eptr) = self.first_in_lex_range(range) else { return 0 };
        while self.next(eptr).is_some() {
            if !self.lex_lte_max(eptr, range) {
                break;
            }
            self.delete(eptr);
            deleted += 1;
            if self.byte(eptr) == LP_EOF {
                break;
            }
        }
        deleted
    }

    /// Redis: zzlDeleteRangeByRank(): 1-based inclusive ranks.
    pub fn delete_range_by_rank(&mut self, start: usize, end: usize) -> usize {
        let num = end + 1 - start;
        if let Some(p) = self.seek(2 * (start as i64 - 1)) {
            self.delete_entries(p, 2 * num);
        }
        num
    }

    /// Redis: zsetRank() on a listpack: the 0-based rank of `ele`.
    pub fn rank(&self, ele: &[u8]) -> Option<usize> {
        let ele_int = if ele.len() < 21 { util::string2ll(ele) } else { None };
        let mut rank = 0;
        let mut eptr = self.first();
        while let Some(e) = eptr {
            if self.entry_equals(e, ele, ele_int) {
                return Some(rank);
            }
            rank += 1;
            eptr = self.zzl_next(e);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(lp: &ZListpack) -> String {
        lp.as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The slack of the allocation is kept for growth and never read as the listpack.
    #[test]
    fn slack_is_kept_and_unseen() {
        let mut a = ZListpack::new();
        a.insert_sorted(b"m", 1.0);
        a.insert_sorted(b"n", 2.0);
        let before = a.allocated();
        assert_eq!((a.bytes(), before), (17, zmalloc::good_size(17)));
        a.insert_sorted(b"o", 3.0);
        assert_eq!(a.allocated(), before, "growth inside the class needs no realloc");
        assert_eq!(a.as_bytes().len(), a.bytes());
        assert_eq!(a.as_bytes().last(), Some(&LP_EOF));
        let b = ZListpack::from_bytes(a.as_bytes().to_vec()).expect("valid");
        assert_eq!(a, b);
        let pairs: Vec<(Vec<u8>, f64)> = b.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(pairs, vec![(b"m".to_vec(), 1.0), (b"n".to_vec(), 2.0), (b"o".to_vec(), 3.0)]);
        a.delete(a.first().expect("m"));
        assert_eq!(a.len(), 2);
        assert_eq!(a.last().map(|p| a.score_at(p)), Some(3.0));
    }

    #[test]
    fn empty_listpack_is_seven_bytes() {
        let lp = ZListpack::new();
        assert_eq!(hex(&lp), "070000000000ff");
        assert_eq!(lp.first(), None);
        assert_eq!(lp.last(), None);
    }

    #[test]
    fn integer_and_string_encodings_round_trip() {
        let mut lp = ZListpack::new();
        let values: [i64; 12] = [0, 127, 128, -1, 4095, -4096, 4096, 32767, -32768, 8388607, 2147483647, i64::MIN];
        for v in values {
            lp.insert(None, LpInput::Int(v));
        }
        let long = vec![b'y'; 5000];
        lp.insert(None, LpInput::Str(&long));
        lp.insert(None, LpInput::Str(b"hello"));
        lp.insert(None, LpInput::Str(b"-17"));
        let mut got = Vec::new();
        let mut p = lp.first();
        while let Some(q) = p {
            got.push(lp.get(q));
            p = lp.next(q);
        }
        let mut want: Vec<LpValue> = values.iter().map(|&v| LpValue::Int(v)).collect();
        want.extend([LpValue::Str(&long), LpValue::Str(b"hello"), LpValue::Int(-17)]);
        assert_eq!(got, want);
        // Backwards too.
        let mut back = Vec::new();
        let mut p = lp.last();
        while let Some(q) = p {
            back.push(lp.get(q));
            p = lp.prev(q);
        }
        back.reverse();
        assert_eq!(back, want);
        assert_eq!(u32::from_le_bytes(lp.as_bytes()[..4].try_into().unwrap()) as usize, lp.bytes());
    }

    #[test]
    fn observed_entry_bytes() {
        // From the fixture table of the interop facts (§3.9): entry bytes + backlen.
        let cases: [(i64, &str); 5] =
            [(128, "c08002"), (-1, "dfff02"), (4096, "f1001003"), (32768, "f200800004"), (2147483648, "f4000000800000000009")];
        for (v, want) in cases {
            let mut lp = ZListpack::new();
            lp.insert(None, LpInput::Int(v));
            let h = hex(&lp);
            assert_eq!(&h[12..h.len() - 2], want, "value {v}");
        }
        let mut lp = ZListpack::new();
        lp.insert(None, LpInput::Str(&[b'x'; 100]));
        assert_eq!(&hex(&lp)[12..16], "e064");
        assert!(hex(&lp).ends_with("66ff"));
    }

    #[test]
    fn from_bytes_accepts_only_well_formed_zset_listpacks() {
        let mut lp = ZListpack::new();
        lp.insert_sorted(b"a", 1.5);
        lp.insert_sorted(&[b'x'; 200], -3.0);
        let copy = ZListpack::from_bytes(lp.as_bytes().to_vec()).expect("valid");
        assert_eq!(copy, lp);
        let bytes = lp.as_bytes().to_vec();
        for cut in 0..bytes.len() {
            assert!(ZListpack::from_bytes(bytes[..cut].to_vec()).is_none(), "truncated at {cut}");
        }
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            if let Some(z) = ZListpack::from_bytes(bad) {
                assert_eq!(z.len() * 2, z.entries());
            }
        }
        let mut odd = ZListpack::new();
        odd.insert(None, LpInput::Str(b"lonely"));
        assert!(ZListpack::from_bytes(odd.as_bytes().to_vec()).is_none());
        // Scores are not checked (Redis neither): they read as zzlStrtod() reads them.
        let mut text = ZListpack::new();
        for (member, score) in [(&b"m"[..], &b"nan"[..]), (b"n", b"2.5abc"), (b"o", b"junk"), (b"p", b" 1e400")] {
            text.insert(None, LpInput::Str(member));
            text.insert(None, LpInput::Str(score));
        }
        let text = ZListpack::from_bytes(text.as_bytes().to_vec()).expect("scores are not validated");
        let scores: Vec<f64> = text.iter().map(|(_, s)| s).collect();
        assert_eq!(scores, [0.0, 2.5, 0.0, f64::INFINITY]);
        let mut dup = ZListpack::new();
        dup.insert_at(None, b"7", 1.0);
        dup.insert_at(None, b"7", 2.0);
        assert!(ZListpack::from_bytes(dup.as_bytes().to_vec()).is_none());
    }

    /// What a payload loaded without deep sanitization may hold: every accessor answers
    /// something (or nothing) without panicking or looping.
    #[test]
    fn shallow_listpacks_never_panic() {
        let mut lp = ZListpack::new();
        for (i, m) in [&b"a"[..], b"bb", &[b'c'; 70], b"12", b"-5000"].iter().enumerate() {
            lp.insert_sorted(m, i as f64 - 1.5);
        }
        let bytes = lp.as_bytes().to_vec();
        let range = ZRangeSpec { min: -10.0, max: 10.0, minex: false, maxex: false };
        for i in 6..bytes.len() - 1 {
            for flip in [0x01u8, 0x40, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[i] ^= flip;
                let Some(mut z) = ZListpack::from_bytes_shallow(bad) else { continue };
                let _ = (z.len(), z.iter().count(), z.find(b"bb"), z.rank(b"12"), z.seek(-1));
                let _ = (z.first_in_range(&range), z.last_in_range(&range));
                z.insert_sorted(b"new", 0.25);
                if let Some(e) = z.first() {
                    z.delete(e);
                }
                let _ = z.delete_range_by_score(&range);
                let _ = z.delete_range_by_rank(0, 1);
                let _ = z.iter().count();
            }
        }
    }

    #[test]
    fn entry_count_past_16_bits_is_counted_then_stored_again() {
        let mut lp = ZListpack::new();
        for i in 0..35_000 {
            lp.insert(None, LpInput::Int(i));
            lp.insert(None, LpInput::Int(1));
        }
        assert_eq!(lp.len(), 35_000);
        assert_eq!(&lp.as_bytes()[4..6], &[0xff, 0xff], "header count unknown past 65534");
        let first = lp.first().expect("not empty");
        lp.delete_entries(first, 2 * 3_000);
        assert_eq!(lp.len(), 32_000);
        assert_eq!(u16::from_le_bytes([lp.as_bytes()[4], lp.as_bytes()[5]]), 64_000);
        assert_eq!(lp.seek(0).and_then(|p| lp.decode(p)).map(|(v, _)| v), Some(LpValue::Int(3_000)));
    }

    #[test]
    fn sorted_inserts_and_scores() {
        let mut lp = ZListpack::new();
        lp.insert_sorted(b"b", 2.0);
        lp.insert_sorted(b"a", 2.0);
        lp.insert_sorted(b"c", 1.5);
        lp.insert_sorted(b"10", -0.0);
        lp.insert_sorted(b"inf", f64::INFINITY);
        let items: Vec<(Vec<u8>, f64)> = lp.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(items[0], (b"10".to_vec(), 0.0));
        assert!(items[0].1.is_sign_positive(), "-0 is stored as the integer 0");
        assert_eq!(items[1], (b"c".to_vec(), 1.5));
        assert_eq!(items[2].0, b"a");
        assert_eq!(items[4], (b"inf".to_vec(), f64::INFINITY));
        assert_eq!(lp.len(), 5);
        assert_eq!(lp.find(b"10").map(|(_, s)| s), Some(0.0));
        assert_eq!(lp.rank(b"b"), Some(3));
        assert_eq!(lp.rank(b"zz"), None);
        let range = ZRangeSpec { min: 1.5, max: 2.0, minex: true, maxex: false };
        assert_eq!(lp.first_in_range(&range).map(|p| lp.get(p).to_vec()), Some(b"a".to_vec()));
        assert_eq!(lp.delete_range_by_score(&range), 2);
        assert_eq!(lp.delete_range_by_rank(1, 2), 2);
        assert_eq!(lp.len(), 1);
        assert_eq!(lp.seek(0).map(|p| lp.get(p).to_vec()), Some(b"inf".to_vec()));
    }
}

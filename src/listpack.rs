//! Listpack: Redis's listpack.c. A compact, self-describing sequence of strings and integers
//! in one byte buffer; the storage of quicklist nodes (lists), small hashes and small sorted
//! sets, and the byte format RDB v10 writes for them. Operations are plain in-memory edits,
//! run inside a command on the single-threaded event loop.
//!
//! Layout (interop facts §3.9): `<total bytes u32 LE> <count u16 LE> <entry>* <0xFF>`, each
//! entry `<encoding+data> <backlen>`, where backlen (1..5 bytes, read right to left) is the
//! size of encoding+data so the list can be walked from the tail. Strings that are canonical
//! int64 are stored as integers, as Redis does. The count is 65535 when unknown.
//!
//! API (positions `p` are byte offsets of entries, as Redis's `unsigned char *p`; a position
//! is valid until the next edit, and edits return the position to continue from):
//! ```text
//! Listpack::new() -> Listpack                                  lpNew
//! Listpack::from_bytes(Vec<u8>) -> Option<Listpack>            lpValidateIntegrity (deep)
//! validate_integrity(&[u8], deep) -> bool                      lpValidateIntegrity
//! lp.as_bytes() -> &[u8]; lp.bytes() -> usize                  lpBytes
//! lp.len() -> usize; lp.is_empty()                             lpLength
//! lp.first() / lp.last() -> Option<usize>                      lpFirst / lpLast
//! lp.next(p) / lp.prev(p) -> Option<usize>                     lpNext / lpPrev
//! lp.seek(index: i64) -> Option<usize>  (negative = from tail) lpSeek
//! lp.get(p) -> Option<LpValue<'_>>  (Int(i64) | Str(&[u8]))    lpGet
//! lp.compare(p, s) -> bool                                     lpCompare
//! lp.find(p, s, skip) -> Option<usize>                         lpFind
//! lp.append(s) / lp.prepend(s) / lp.append_integer(v)          lpAppend / lpPrepend / lpAppendInteger
//! lp.insert(p, s, Where::{Before,After}) -> Option<usize>      lpInsertString (position of the new entry)
//! lp.insert_integer(p, v, Where) -> Option<usize>              lpInsertInteger
//! lp.replace(p, s) -> Option<usize> / replace_integer(p, v)    lpReplace / lpReplaceInteger
//! lp.delete(p) -> Option<usize>  (the entry that followed)     lpDelete
//! lp.delete_range(index, num)                                  lpDeleteRange
//! lp.delete_range_with_entry(p, num)                           lpDeleteRangeWithEntry
//! Listpack::merge(first, second) -> Listpack                   lpMerge
//! lp.iter() -> impl DoubleEndedIterator<Item = LpValue>        lpFirst/lpNext loop
//! lp.safe_to_add(extra_bytes) -> bool                          lpSafeToAdd
//! ```
//! Insertions that would make the buffer exceed u32::MAX bytes leave it unchanged and
//! return None (Redis asserts); callers keep far below that (LISTPACK_MAX_SAFETY_SIZE).

use crate::util;
use crate::zmalloc;

/// Redis: LP_HDR_SIZE: total bytes (u32) + element count (u16).
pub const LP_HDR_SIZE: usize = 6;
/// Redis: LP_HDR_NUMELE_UNKNOWN.
pub const LP_HDR_NUMELE_UNKNOWN: u16 = u16::MAX;
/// Redis: LP_EOF.
pub const LP_EOF: u8 = 0xFF;
/// Redis: LISTPACK_MAX_SAFETY_SIZE: callers keep listpacks below 1 GB.
pub const LISTPACK_MAX_SAFETY_SIZE: usize = 1 << 30;

const ENC_7BIT_UINT_MASK: u8 = 0x80;
const ENC_6BIT_STR: u8 = 0x80;
const ENC_13BIT_INT: u8 = 0xC0;
const ENC_12BIT_STR: u8 = 0xE0;
const ENC_32BIT_STR: u8 = 0xF0;
const ENC_16BIT_INT: u8 = 0xF1;
const ENC_24BIT_INT: u8 = 0xF2;
const ENC_32BIT_INT: u8 = 0xF3;
const ENC_64BIT_INT: u8 = 0xF4;

/// An element read from a listpack (Redis: lpGet's string-or-integer result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LpValue<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpValue<'_> {
    /// The element as Redis would reply it: integers in decimal.
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            LpValue::Int(v) => util::ll2string(v).as_bytes().to_vec(),
            LpValue::Str(s) => s.to_vec(),
        }
    }

    /// Appends the element's string form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match *self {
            LpValue::Int(v) => util::write_ll(out, v),
            LpValue::Str(s) => out.extend_from_slice(s),
        }
    }

    /// Length of the string form (Redis: the `sz` lpGet reports, digits for integers).
    pub fn str_len(&self) -> usize {
        match *self {
            LpValue::Int(v) => util::sdigits10(v) as usize,
            LpValue::Str(s) => s.len(),
        }
    }
}

/// Redis: LP_BEFORE / LP_AFTER.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Before,
    After,
}

/// A listpack buffer, always well formed.
#[derive(Clone, PartialEq, Eq)]
pub struct Listpack {
    buf: Vec<u8>,
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Listpack {
    fn default() -> Self {
        Listpack::new()
    }
}

// ----------------------------------------------------------------------------------------
// Entry encoding and decoding
// ----------------------------------------------------------------------------------------

/// What one element becomes: an integer or a string encoding (Redis: lpEncodeGetType).
enum Encoded<'a> {
    Int(i64),
    Str(&'a [u8]),
}

fn encode_type(s: &[u8]) -> Encoded<'_> {
    match lp_string_to_int64(s) {
        Some(v) => Encoded::Int(v),
        None => Encoded::Str(s),
    }
}

/// Redis: lpStringToInt64(): the canonical decimal form of an int64 (no sign on zero, no
/// leading zeros or spaces), exactly what string2ll accepts.
fn lp_string_to_int64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    util::string2ll(s)
}

/// Redis: lpEncodeIntegerGetType() + the integer writers: the smallest integer encoding.
fn encode_int(v: i64, out: &mut Vec<u8>) {
    if (0..=127).contains(&v) {
        out.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u16) & 0x1FFF;
        out.push(ENC_13BIT_INT | (u >> 8) as u8);
        out.push((u & 0xFF) as u8);
    } else if (-32768..=32767).contains(&v) {
        out.push(ENC_16BIT_INT);
        out.extend_from_slice(&(v as i16).to_le_bytes());
    } else if (-8_388_608..=8_388_607).contains(&v) {
        out.push(ENC_24BIT_INT);
        out.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        out.push(ENC_32BIT_INT);
        out.extend_from_slice(&(v as i32).to_le_bytes());
    } else {
        out.push(ENC_64BIT_INT);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// Redis: lpEncodeString(): 6-bit, 12-bit (big-endian length) or 32-bit length header.
fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    let len = s.len();
    if len < 64 {
        out.push(ENC_6BIT_STR | len as u8);
    } else if len < 4096 {
        out.push(ENC_12BIT_STR | (len >> 8) as u8);
        out.push((len & 0xFF) as u8);
    } else {
        out.push(ENC_32BIT_STR);
        out.extend_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(s);
}

/// Redis: lpEncodeBacklen(): `l` in 7-bit groups, most significant first; every byte but
/// the first has its high bit set, so a reader going left knows where to stop.
fn encode_backlen(l: usize, out: &mut Vec<u8>) {
    let n = backlen_size(l);
    for i in (0..n).rev() {
        let group = ((l >> (7 * i)) & 127) as u8;
        out.push(if i == n - 1 { group } else { group | 128 });
    }
}

/// Bytes the backlen of an entry of `l` bytes takes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    }
}

/// A complete entry (encoding, data, backlen) for one element.
/// `buf[at..at + old_len]` becomes `entry`: the tail moves once (memmove), where
/// `Vec::splice` went through its iterator machinery on every push. `at + old_len` is
/// within `buf` (the caller checked); capacity is reserved by the caller when growing.
fn replace_range(buf: &mut Vec<u8>, at: usize, old_len: usize, entry: &[u8]) {
    let (tail, old_total) = (at + old_len, buf.len());
    if entry.len() >= old_len {
        buf.resize(old_total + (entry.len() - old_len), 0);
        buf.copy_within(tail..old_total, at + entry.len());
    } else {
        buf.copy_within(tail..old_total, at + entry.len());
        buf.truncate(old_total - (old_len - entry.len()));
    }
    if let Some(dst) = buf.get_mut(at..at + entry.len()) {
        dst.copy_from_slice(entry);
    }
}

fn build_entry(enc: &Encoded<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match *enc {
        Encoded::Int(v) => encode_int(v, &mut out),
        Encoded::Str(s) => encode_str(s, &mut out),
    }
    encode_backlen(out.len(), &mut out);
    out
}

/// Size of encoding+data of the entry starting with bytes `b` (Redis:
/// lpCurrentEncodedSizeBytes + lpCurrentEncodedSizeUnsafe). None for an invalid encoding
/// or when `b` is too short to tell.
fn encoded_size(b: &[u8]) -> Option<usize> {
    let first = *b.first()?;
    let size = if first & ENC_7BIT_UINT_MASK == 0 {
        1
    } else if first & 0xC0 == ENC_6BIT_STR {
        1 + (first & 0x3F) as usize
    } else if first & 0xE0 == ENC_13BIT_INT {
        2
    } else if first & 0xF0 == ENC_12BIT_STR {
        2 + ((((first & 0x0F) as usize) << 8) | *b.get(1)? as usize)
    } else {
        match first {
            ENC_16BIT_INT => 3,
            ENC_24BIT_INT => 4,
            ENC_32BIT_INT => 5,
            ENC_64BIT_INT => 9,
            ENC_32BIT_STR => 5 + le_u32(b.get(1..5)?) as usize,
            _ => return None,
        }
    };
    Some(size)
}

fn le_u32(b: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    for (dst, src) in word.iter_mut().zip(b) {
        *dst = *src;
    }
    u32::from_le_bytes(word)
}

/// Redis: lpGet() on the entry whose encoding+data is `e`.
fn decode(e: &[u8]) -> Option<LpValue<'_>> {
    let first = *e.first()?;
    let value = if first & ENC_7BIT_UINT_MASK == 0 {
        LpValue::Int((first & 0x7F) as i64)
    } else if first & 0xC0 == ENC_6BIT_STR {
        LpValue::Str(e.get(1..1 + (first & 0x3F) as usize)?)
    } else if first & 0xE0 == ENC_13BIT_INT {
        let u = (((first & 0x1F) as i64) << 8) | *e.get(1)? as i64;
        LpValue::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
    } else if first & 0xF0 == ENC_12BIT_STR {
        let len = (((first & 0x0F) as usize) << 8) | *e.get(1)? as usize;
        LpValue::Str(e.get(2..2 + len)?)
    } else {
        decode_wide(first, e)?
    };
    Some(value)
}

/// The encodings that start with a full 0xF? byte.
fn decode_wide(first: u8, e: &[u8]) -> Option<LpValue<'_>> {
    let int_of = |n: usize| -> Option<i64> {
        let bytes = e.get(1..1 + n)?;
        let mut word = [0u8; 8];
        word[..n].copy_from_slice(bytes);
        let shift = 64 - 8 * n as u32;
        Some(i64::from_le_bytes(word) << shift >> shift)
    };
    let value = match first {
        ENC_16BIT_INT => LpValue::Int(int_of(2)?),
        ENC_24BIT_INT => LpValue::Int(int_of(3)?),
        ENC_32BIT_INT => LpValue::Int(int_of(4)?),
        ENC_64BIT_INT => LpValue::Int(int_of(8)?),
        ENC_32BIT_STR => {
            let len = le_u32(e.get(1..5)?) as usize;
            LpValue::Str(e.get(5..5usize.checked_add(len)?)?)
        }
        _ => return None,
    };
    Some(value)
}

/// Redis: lpDecodeBacklen(): reads the backlen that ends just before `end` (exclusive);
/// returns (encoded size, bytes the backlen took).
fn decode_backlen(buf: &[u8], end: usize) -> Option<(usize, usize)> {
    let mut value = 0usize;
    let mut shift = 0;
    for taken in 1..=5 {
        let byte = *buf.get(end.checked_sub(taken)?)?;
        value |= ((byte & 127) as usize) << shift;
        if byte & 128 == 0 {
            return Some((value, taken));
        }
        shift += 7;
    }
    None
}

// ----------------------------------------------------------------------------------------
// The listpack
// ----------------------------------------------------------------------------------------

impl Listpack {
    /// Redis: lpNew(): an empty listpack (7 bytes).
    pub fn new() -> Listpack {
        let mut buf = Vec::with_capacity(LP_HDR_SIZE + 1);
        buf.extend_from_slice(&((LP_HDR_SIZE + 1) as u32).to_le_bytes());
        buf.extend_from_slice(&0u16.to_le_bytes());
        buf.push(LP_EOF);
        Listpack { buf }
    }

    /// A listpack from bytes read from outside (RDB, RESTORE), after a deep validation.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Listpack> {
        Listpack::from_bytes_checked(buf, true)
    }

    /// A listpack from outside bytes after lpValidateIntegrity(`deep`): with `deep` false
    /// only the header and the EOF byte are checked, as Redis does unless
    /// sanitize-dump-payload asks for more. Every accessor below stays panic-free on the
    /// entries such a listpack may hold (an entry that does not decode ends a walk).
    pub fn from_bytes_checked(buf: Vec<u8>, deep: bool) -> Option<Listpack> {
        validate_integrity(&buf, deep).then_some(Listpack { buf })
    }

    /// The bytes, as RDB stores them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes, given up (for a type that keeps them in its own wrapper).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The read-only view every reader below delegates to.
    pub fn view(&self) -> LpView<'_> {
        LpView { buf: &self.buf }
    }

    /// Redis: lpBytes().
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// Redis: lpSafeToAdd(): may `add` more bytes be inserted and stay under 1 GB?
    pub fn safe_to_add(&self, add: usize) -> bool {
        self.view().safe_to_add(add)
    }

    /// Memory held by the buffer (for MEMORY USAGE estimates).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Redis: lpLength(): the header count, or a walk when it is unknown.
    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.view().is_empty()
    }

    fn stored_count(&self) -> u16 {
        self.view().stored_count()
    }

    fn set_stored_count(&mut self, n: u16) {
        if let Some(b) = self.buf.get_mut(4..6) {
            b.copy_from_slice(&n.to_le_bytes());
        }
    }

    fn set_total_bytes(&mut self) {
        let total = (self.buf.len() as u32).to_le_bytes();
        if let Some(b) = self.buf.get_mut(0..4) {
            b.copy_from_slice(&total);
        }
    }

    /// Offset of the EOF byte.
    fn eof(&self) -> usize {
        self.view().eof()
    }

    fn entry_size(&self, p: usize) -> Option<usize> {
        self.view().entry_size(p)
    }

    /// Redis: lpFirst().
    pub fn first(&self) -> Option<usize> {
        self.view().first()
    }

    /// Redis: lpLast().
    pub fn last(&self) -> Option<usize> {
        self.view().last()
    }

    /// Redis: lpNext().
    pub fn next(&self, p: usize) -> Option<usize> {
        self.view().next(p)
    }

    /// Redis: lpPrev().
    pub fn prev(&self, p: usize) -> Option<usize> {
        self.view().prev(p)
    }

    /// Redis: lpGet().
    pub fn get(&self, p: usize) -> Option<LpValue<'_>> {
        self.view().get(p)
    }

    /// Redis: lpSeek().
    pub fn seek(&self, index: i64) -> Option<usize> {
        self.view().seek(index)
    }

    /// Redis: lpCompare().
    pub fn compare(&self, p: usize, s: &[u8]) -> bool {
        self.view().compare(p, s)
    }

    /// Redis: lpFind().
    pub fn find(&self, p: usize, s: &[u8], skip: usize) -> Option<usize> {
        self.view().find(p, s, skip)
    }

    /// Iterates the elements head to tail (`.rev()` for tail to head).
    pub fn iter(&self) -> Iter<'_> {
        self.view().iter()
    }

    // ------------------------------------------------------------------------------------
    // Edits
    // ------------------------------------------------------------------------------------

    /// Redis: lpInsert(): replaces the `old_len` bytes at `at` with `entry` and fixes the
    /// header (`delta` elements added or removed). None if the result would be too large.
    fn splice_entry(&mut self, at: usize, old_len: usize, entry: &[u8], delta: i32) -> Option<usize> {
        // An entry of a listpack loaded without deep validation may claim to run past
        // the end: refuse the edit rather than splice outside the buffer.
        if at.checked_add(old_len).is_none_or(|end| end > self.eof()) {
            return None;
        }
        let new_total = (self.buf.len() - old_len).checked_add(entry.len())?;
        if new_total > u32::MAX as usize {
            return None;
        }
        let grow = entry.len().saturating_sub(old_len);
        if grow > self.buf.capacity() - self.buf.len() {
            // Redis reallocs a listpack to its exact size, which the allocator rounds up to
            // a size class: take that whole class, so pushes that still fit need no realloc.
            self.buf.reserve_exact(zmalloc::good_size(new_total) - self.buf.len());
        }
        replace_range(&mut self.buf, at, old_len, entry);
        self.set_total_bytes();
        let count = self.stored_count();
        if count != LP_HDR_NUMELE_UNKNOWN {
            self.set_stored_count((count as i32 + delta).clamp(0, LP_HDR_NUMELE_UNKNOWN as i32) as u16);
        }
        if entry.len() < old_len {
            self.maybe_shrink();
        }
        Some(at)
    }

    /// Gives memory back after deletions, as Redis's lpInsert reallocs down, without
    /// reallocating on every small pop.
    fn maybe_shrink(&mut self) {
        let (len, cap) = (self.buf.len(), self.buf.capacity());
        if cap - len > 64 && cap > len + len / 4 {
            self.buf.shrink_to(zmalloc::good_size(len));
        }
    }

    fn insert_encoded(&mut self, p: usize, enc: Encoded<'_>, place: Where) -> Option<usize> {
        let at = match place {
            Where::Before => p,
            Where::After => p + self.entry_size(p).unwrap_or(0),
        };
        self.splice_entry(at, 0, &build_entry(&enc), 1)
    }

    /// Redis: lpInsertString(): inserts `s` before or after the entry at `p` (`p` may be
    /// the EOF offset with Before, to append). Returns the new entry's position.
    pub fn insert(&mut self, p: usize, s: &[u8], place: Where) -> Option<usize> {
        self.insert_encoded(p, encode_type(s), place)
    }

    /// Redis: lpInsertInteger().
    pub fn insert_integer(&mut self, p: usize, v: i64, place: Where) -> Option<usize> {
        self.insert_encoded(p, Encoded::Int(v), place)
    }

    /// Redis: lpAppend().
    pub fn append(&mut self, s: &[u8]) -> Option<usize> {
        let eof = self.eof();
        self.insert(eof, s, Where::Before)
    }

    /// Redis: lpAppendInteger().
    pub fn append_integer(&mut self, v: i64) -> Option<usize> {
        let eof = self.eof();
        self.insert_integer(eof, v, Where::Before)
    }

    /// Redis: lpPrepend().
    pub fn prepend(&mut self, s: &[u8]) -> Option<usize> {
        self.insert(LP_HDR_SIZE, s, Where::Before)
    }

    /// Redis: lpPrependInteger().
    pub fn prepend_integer(&mut self, v: i64) -> Option<usize> {
        self.insert_integer(LP_HDR_SIZE, v, Where::Before)
    }

    fn replace_encoded(&mut self, p: usize, enc: Encoded<'_>) -> Option<usize> {
        let old = self.entry_size(p)?;
        self.splice_entry(p, old, &build_entry(&enc), 0)
    }

    /// Redis: lpReplace(): the element at `p` becomes `s`; returns its position.
    pub fn replace(&mut self, p: usize, s: &[u8]) -> Option<usize> {
        self.replace_encoded(p, encode_type(s))
    }

    /// Redis: lpReplaceInteger().
    pub fn replace_integer(&mut self, p: usize, v: i64) -> Option<usize> {
        self.replace_encoded(p, Encoded::Int(v))
    }

    /// Redis: lpDelete(): removes the entry at `p`; returns the position of the entry that
    /// followed it (None if it was the last).
    pub fn delete(&mut self, p: usize) -> Option<usize> {
        let old = self.entry_size(p)?;
        self.splice_entry(p, old, &[], -1)?;
        (p < self.eof()).then_some(p)
    }

    /// Redis: lpDeleteRangeWithEntry(): removes up to `num` entries starting at `p`.
    pub fn delete_range_with_entry(&mut self, p: usize, num: usize) {
        let mut end = p;
        let mut deleted = 0;
        while deleted < num {
            match self.entry_size(end) {
                Some(size) => end += size,
                None => break,
            }
            deleted += 1;
        }
        if deleted > 0 {
            self.splice_entry(p, end - p, &[], -(deleted.min(i32::MAX as usize) as i32));
            self.fix_count_after_bulk_delete(deleted);
        }
    }

    /// Redis: lpDeleteRange(): removes `num` entries from `index` (negative from the tail).
    pub fn delete_range(&mut self, index: i64, num: usize) {
        if num == 0 {
            return;
        }
        if let Some(p) = self.seek(index) {
            self.delete_range_with_entry(p, num);
        }
    }

    /// A bulk delete of 65535+ entries cannot be expressed as an i32 delta safely; recount.
    fn fix_count_after_bulk_delete(&mut self, deleted: usize) {
        if deleted > i32::MAX as usize || self.stored_count() == LP_HDR_NUMELE_UNKNOWN {
            let n = self.len();
            if n < LP_HDR_NUMELE_UNKNOWN as usize {
                self.set_stored_count(n as u16);
            }
        }
    }

    /// Redis: lpMerge(): `first` followed by `second` in one listpack, growing the larger
    /// of the two as Redis does.
    pub fn merge(mut first: Listpack, mut second: Listpack) -> Listpack {
        let count = first.len() + second.len();
        let merged = if first.bytes() >= second.bytes() {
            let tail = second.buf.get(LP_HDR_SIZE..second.eof()).unwrap_or(&[]);
            let eof = first.eof();
            first.buf.splice(eof..eof, tail.iter().copied());
            first
        } else {
            let head = first.buf.get(LP_HDR_SIZE..first.eof()).unwrap_or(&[]);
            second.buf.splice(LP_HDR_SIZE..LP_HDR_SIZE, head.iter().copied());
            second
        };
        let mut merged = merged;
        merged.set_total_bytes();
        merged.set_stored_count(count.min(LP_HDR_NUMELE_UNKNOWN as usize) as u16);
        merged
    }
}

/// A listpack's bytes, borrowed for reading: from a [`Listpack`], or from bytes kept at
/// rest in a larger allocation ([`LpBox`]), cut to the total the header gives.
#[derive(Debug, Clone, Copy)]
pub struct LpView<'a> {
    buf: &'a [u8],
}

impl<'a> LpView<'a> {
    /// The listpack at the start of `bytes`: its header's total bytes (Redis: lpBytes)
    /// bound the view; bytes past them are slack of the allocation.
    pub fn new(bytes: &'a [u8]) -> LpView<'a> {
        let total = bytes.get(..4).map_or(0, le_u32) as usize;
        LpView { buf: bytes.get(..total).unwrap_or(bytes) }
    }

    /// The listpack's bytes (without slack), as RDB stores them.
    pub fn as_bytes(self) -> &'a [u8] {
        self.buf
    }

    /// Redis: lpBytes().
    pub fn bytes(self) -> usize {
        self.buf.len()
    }

    /// Redis: lpSafeToAdd(): may `add` more bytes be inserted and stay under 1 GB?
    pub fn safe_to_add(self, add: usize) -> bool {
        self.buf.len().saturating_add(add) <= LISTPACK_MAX_SAFETY_SIZE
    }

    /// Redis: lpLength(): the header count, or a walk when it is unknown.
    pub fn len(self) -> usize {
        let stored = self.stored_count();
        if stored != LP_HDR_NUMELE_UNKNOWN {
            return stored as usize;
        }
        let mut n = 0;
        let mut p = self.first();
        while let Some(pos) = p {
            n += 1;
            p = self.next(pos);
        }
        n
    }

    pub fn is_empty(self) -> bool {
        self.buf.get(LP_HDR_SIZE).is_none_or(|&b| b == LP_EOF)
    }

    pub(crate) fn stored_count(self) -> u16 {
        match self.buf.get(4..6) {
            Some(b) => u16::from_le_bytes([b[0], b[1]]),
            None => 0,
        }
    }

    /// Offset of the EOF byte.
    pub(crate) fn eof(self) -> usize {
        self.buf.len().saturating_sub(1)
    }

    /// Total size (encoding, data, backlen) of the entry at `p`; None at EOF.
    pub(crate) fn entry_size(self, p: usize) -> Option<usize> {
        let rest = self.buf.get(p..)?;
        if rest.first() == Some(&LP_EOF) {
            return None;
        }
        let enc = encoded_size(rest)?;
        Some(enc + backlen_size(enc))
    }

    /// Redis: lpFirst().
    pub fn first(self) -> Option<usize> {
        (!self.is_empty()).then_some(LP_HDR_SIZE)
    }

    /// Redis: lpLast().
    pub fn last(self) -> Option<usize> {
        self.prev(self.eof())
    }

    /// Redis: lpNext(): the entry after `p`, None at the end.
    pub fn next(self, p: usize) -> Option<usize> {
        let next = p + self.entry_size(p)?;
        (next < self.eof()).then_some(next)
    }

    /// Redis: lpPrev(): the entry before `p` (`p` may be the EOF), None before the first.
    pub fn prev(self, p: usize) -> Option<usize> {
        if p <= LP_HDR_SIZE {
            return None;
        }
        // As lpPrev(): the entry is as long as its size says (a backlen may read with more
        // bytes than its canonical encoding, e.g. 0x81 after a 0x00).
        let (enc, _) = decode_backlen(self.buf, p)?;
        p.checked_sub(enc + backlen_size(enc)).filter(|&start| start >= LP_HDR_SIZE)
    }

    /// Redis: lpGet(): the element at `p`.
    pub fn get(self, p: usize) -> Option<LpValue<'a>> {
        let rest = self.buf.get(p..)?;
        if rest.first() == Some(&LP_EOF) {
            return None;
        }
        decode(rest)
    }

    /// Redis: lpSeek(): the entry at `index` (negative counts from the tail), walking from
    /// the nearer end.
    pub fn seek(self, index: i64) -> Option<usize> {
        let count = self.len() as i64;
        let index = if index < 0 { count.checked_add(index)? } else { index };
        if index < 0 || index >= count {
            return None;
        }
        if index > count / 2 {
            let mut p = self.last()?;
            for _ in 0..(count - 1 - index) {
                p = self.prev(p)?;
            }
            return Some(p);
        }
        let mut p = self.first()?;
        for _ in 0..index {
            p = self.next(p)?;
        }
        Some(p)
    }

    /// Redis: lpCompare(): does the element at `p` equal the string `s`?
    pub fn compare(self, p: usize, s: &[u8]) -> bool {
        match self.get(p) {
            Some(LpValue::Str(e)) => e == s,
            Some(LpValue::Int(v)) => lp_string_to_int64(s) == Some(v),
            None => false,
        }
    }

    /// Redis: lpFind(): from `p`, the first entry equal to `s`, comparing one entry then
    /// skipping `skip` (1 for the fields of field/value pairs).
    pub fn find(self, p: usize, s: &[u8], skip: usize) -> Option<usize> {
        let as_int = lp_string_to_int64(s);
        let mut pos = Some(p);
        while let Some(cur) = pos {
            let hit = match self.get(cur)? {
                LpValue::Str(e) => e == s,
                LpValue::Int(v) => as_int == Some(v),
            };
            if hit {
                return Some(cur);
            }
            pos = self.next(cur);
            for _ in 0..skip {
                pos = pos.and_then(|q| self.next(q));
            }
        }
        None
    }

    /// Iterates the elements head to tail (`.rev()` for tail to head).
    pub fn iter(self) -> Iter<'a> {
        Iter { lp: self, front: self.first(), back: self.last(), left: self.len() }
    }

}

/// A listpack at rest: its bytes in a boxed slice as long as their allocation (the
/// jemalloc size class the listpack grew into), the header giving the listpack's own
/// total (Redis: lpBytes). Pointer and length are 16 bytes against a `Vec`'s 24, which
/// lets a small hash sit in its keyspace entry with no box between (object.rs). Reads go
/// through [`LpBox::view`]; an edit borrows the bytes back as a [`Listpack`] without
/// copying them, and the slack stays allocated, so growth within a size class still
/// needs no realloc.
#[derive(Debug)]
pub struct LpBox(Box<[u8]>);

impl LpBox {
    /// `lp` at rest: its spare capacity is zeroed and kept (no realloc).
    pub fn new(lp: Listpack) -> LpBox {
        LpBox::from_vec(lp.buf)
    }

    /// Listpack bytes at rest, whatever encoder wrote them (zset_listpack.rs has its own).
    pub fn from_vec(mut buf: Vec<u8>) -> LpBox {
        buf.resize(buf.capacity(), 0);
        LpBox(buf.into_boxed_slice())
    }

    /// The whole allocation, slack included: for byte readers that stop at the EOF byte.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    pub fn view(&self) -> LpView<'_> {
        LpView::new(&self.0)
    }

    /// The listpack again, in the same allocation.
    pub fn into_listpack(self) -> Listpack {
        let total = self.view().bytes();
        let mut buf = Vec::from(self.0);
        buf.truncate(total);
        Listpack { buf }
    }

    /// Runs the edit `f` on the listpack, in place (the allocation moves only when an
    /// edit outgrows it, as for a [`Listpack`]).
    pub fn edit<R>(&mut self, f: impl FnOnce(&mut Listpack) -> R) -> R {
        self.edit_bytes(|buf| {
            let mut lp = Listpack { buf: std::mem::take(buf) };
            let result = f(&mut lp);
            *buf = lp.buf;
            result
        })
    }

    /// [`LpBox::edit`] on the bytes: a `Vec` holding just the listpack, in the same
    /// allocation.
    pub fn edit_bytes<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let mut buf = LpBox(std::mem::take(&mut self.0)).into_listpack().buf;
        let result = f(&mut buf);
        *self = LpBox::from_vec(buf);
        result
    }

    /// The bytes allocated, slack included (what used_memory counts).
    pub fn allocated(&self) -> usize {
        self.0.len()
    }
}

/// A copy holds just the listpack's bytes (Redis: lpDup of lpBytes).
impl Clone for LpBox {
    fn clone(&self) -> Self {
        LpBox(self.view().as_bytes().into())
    }
}

/// Equal listpacks, whatever slack each allocation has.
impl PartialEq for LpBox {
    fn eq(&self, other: &Self) -> bool {
        self.view().as_bytes() == other.view().as_bytes()
    }
}

impl Eq for LpBox {}

/// Iterator over a listpack's elements, from both ends.
pub struct Iter<'a> {
    lp: LpView<'a>,
    front: Option<usize>,
    back: Option<usize>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = LpValue<'a>;

    fn next(&mut self) -> Option<LpValue<'a>> {
        if self.left == 0 {
            return None;
        }
        let p = self.front?;
        self.left -= 1;
        self.front = self.lp.next(p);
        self.lp.get(p)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let p = self.back?;
        self.left -= 1;
        self.back = self.lp.prev(p);
        self.lp.get(p)
    }
}

// ----------------------------------------------------------------------------------------
// Validation (for bytes from RDB / RESTORE)
// ----------------------------------------------------------------------------------------

/// Redis: lpValidateIntegrity(): the header matches the buffer and ends with EOF; with
/// `deep`, every entry's encoding, length and backlen are consistent and the stored count
/// (when known) matches.
pub fn validate_integrity(buf: &[u8], deep: bool) -> bool {
    if buf.len() < LP_HDR_SIZE + 1 || le_u32(&buf[..4]) as usize != buf.len() || buf.last() != Some(&LP_EOF) {
        return false;
    }
    if !deep {
        return true;
    }
    let mut p = LP_HDR_SIZE;
    let mut count = 0usize;
    let eof = buf.len() - 1;
    while p < eof {
        match validate_entry(buf, p, eof) {
            Some(next) => p = next,
            None => return false,
        }
        count += 1;
    }
    let stored = u16::from_le_bytes([buf[4], buf[5]]);
    p == eof && (stored == LP_HDR_NUMELE_UNKNOWN || stored as usize == count)
}

/// The bytes of a listpack that passed the shallow checks, made consistent: unchanged when
/// they pass the deep check too; otherwise rebuilt from the entries a forward walk reaches
/// (each decoding within the buffer), with sizes, backlens and count that agree. Redis
/// keeps such bytes as they are and asserts (crashes) when a command walks them; here the
/// value keeps what can be read, so that every walk, forwards or backwards, meets the
/// same entries and a reply announcing `len()` elements sends that many.
pub fn make_consistent(buf: Vec<u8>) -> Vec<u8> {
    if validate_integrity(&buf, true) {
        return buf;
    }
    let mut out = Vec::with_capacity(buf.len());
    out.extend_from_slice(&[0; LP_HDR_SIZE]);
    let (mut p, eof) = (LP_HDR_SIZE, buf.len().saturating_sub(1));
    let mut count = 0usize;
    while let Some(rest) = buf.get(p..eof).filter(|r| !r.is_empty()) {
        let Some(enc) = encoded_size(rest) else { break };
        let Some(value) = rest.get(..enc).and_then(decode) else { break };
        let entry = match value {
            LpValue::Int(v) => build_entry(&Encoded::Int(v)),
            LpValue::Str(s) => build_entry(&Encoded::Str(s)),
        };
        out.extend_from_slice(&entry);
        count += 1;
        p += enc + backlen_size(enc);
    }
    out.push(LP_EOF);
    let total = u32::try_from(out.len()).unwrap_or(u32::MAX).to_le_bytes();
    out[..4].copy_from_slice(&total);
    out[4..6].copy_from_slice(&(count.min(LP_HDR_NUMELE_UNKNOWN as usize) as u16).to_le_bytes());
    out
}

/// Redis: lpValidateNext() then lpGet(): the entry at `p` if it is valid (it fits before
/// the EOF byte and its backlen matches its size) and the offset after it; None at the EOF
/// byte or on an invalid entry. Lets a validator walk bytes it has not copied into a
/// Listpack (the header checked by validate_integrity(buf, false)).
pub fn validated_entry_at(buf: &[u8], p: usize) -> Option<(LpValue<'_>, usize)> {
    let eof = buf.len().checked_sub(1)?;
    let next = validate_entry(buf, p, eof)?;
    let value = decode(buf.get(p..next)?)?;
    Some((value, next))
}

/// Redis: lpValidateNext(): the entry at `p` fits before `eof` and its backlen matches its
/// size; returns the next offset. (An entry whose size checks out always decodes.) The
/// common short entries take the first branch: this walk runs over every listpack loaded.
#[inline]
fn validate_entry(buf: &[u8], p: usize, eof: usize) -> Option<usize> {
    let first = *buf.get(p)?;
    let enc = if first < 0xC0 {
        // 7-bit integers and 6-bit strings.
        if first & ENC_7BIT_UINT_MASK == 0 { 1 } else { 1 + (first & 0x3F) as usize }
    } else {
        encoded_size(buf.get(p..eof)?)?
    };
    let end = p.checked_add(enc)?.checked_add(backlen_size(enc))?;
    if end > eof {
        return None;
    }
    if enc < 128 && usize::from(*buf.get(end - 1)?) == enc {
        // The usual one-byte backlen: the size itself.
        return Some(end);
    }
    // Read back as lpDecodeBacklen() reads it: a high bit continues into the byte before,
    // which the entry's own bytes provide (0x81 after a 0x00 still reads 1).
    let (back, _) = decode_backlen(buf, end)?;
    (back == enc).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// At rest the slack of the size class stays allocated and out of sight: reads and
    /// equality see the listpack's own bytes, and growth inside the class keeps the
    /// allocation.
    #[test]
    fn lp_box_keeps_its_size_class() {
        let mut lp = Listpack::new();
        lp.append(b"field").expect("small");
        let own = lp.as_bytes().to_vec();
        let mut boxed = LpBox::new(lp);
        assert_eq!(boxed.view().as_bytes(), &own[..]);
        assert_eq!(boxed.allocated(), zmalloc::good_size(own.len()));
        assert_eq!(boxed.view().iter().map(|v| v.to_vec()).collect::<Vec<_>>(), vec![b"field".to_vec()]);
        let before = boxed.allocated();
        boxed.edit(|lp| lp.append(b"1")).expect("fits");
        assert_eq!(boxed.allocated(), before, "a 2-byte entry fits the class");
        assert_eq!(boxed.view().len(), 2);
        assert_eq!(boxed.view().last().and_then(|p| boxed.view().get(p)), Some(LpValue::Int(1)));
        let copy = boxed.clone();
        assert_eq!(copy, boxed);
        assert_eq!(copy.view().as_bytes(), boxed.view().as_bytes());
        let back = boxed.into_listpack();
        assert_eq!(back.len(), 2);
        assert_eq!(back.bytes(), copy.view().bytes());
    }

    fn elements(lp: &Listpack) -> Vec<Vec<u8>> {
        lp.iter().map(|v| v.to_vec()).collect()
    }

    fn from(items: &[&[u8]]) -> Listpack {
        let mut lp = Listpack::new();
        for item in items {
            lp.append(item).expect("small listpack");
        }
        lp
    }

    #[test]
    fn empty_listpack_is_seven_bytes() {
        let lp = Listpack::new();
        assert_eq!(lp.as_bytes(), &[7, 0, 0, 0, 0, 0, 0xFF]);
        assert_eq!(lp.len(), 0);
        assert!(lp.is_empty());
        assert_eq!(lp.first(), None);
        assert_eq!(lp.last(), None);
        assert_eq!(lp.seek(0), None);
    }

    /// The entry bytes observed in the interop facts' fixture (§3.9).
    #[test]
    fn integer_and_string_encodings_match_redis() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"0", &[0x00, 0x01]),
            (b"127", &[0x7f, 0x01]),
            (b"128", &[0xc0, 0x80, 0x02]),
            (b"-1", &[0xdf, 0xff, 0x02]),
            (b"4095", &[0xcf, 0xff, 0x02]),
            (b"-4096", &[0xd0, 0x00, 0x02]),
            (b"4096", &[0xf1, 0x00, 0x10, 0x03]),
            (b"-32768", &[0xf1, 0x00, 0x80, 0x03]),
            (b"32768", &[0xf2, 0x00, 0x80, 0x00, 0x04]),
            (b"8388608", &[0xf3, 0x00, 0x00, 0x80, 0x00, 0x05]),
            (b"2147483648", &[0xf4, 0, 0, 0, 0x80, 0, 0, 0, 0, 0x09]),
            (b"a", &[0x81, b'a', 0x02]),
            (b"012", &[0x83, b'0', b'1', b'2', 0x04]),
        ];
        for (input, bytes) in cases {
            let lp = from(&[input]);
            assert_eq!(&lp.as_bytes()[LP_HDR_SIZE..lp.bytes() - 1], *bytes, "{:?}", input);
            assert_eq!(lp.get(LP_HDR_SIZE).map(|v| v.to_vec()), Some(input.to_vec()));
        }
    }

    #[test]
    fn long_strings_use_wider_headers_and_backlens() {
        let x100 = vec![b'x'; 100];
        let lp = from(&[&x100]);
        assert_eq!(&lp.as_bytes()[6..8], &[0xe0, 0x64]);
        assert_eq!(lp.as_bytes()[lp.bytes() - 2], 0x66);
        let y5000 = vec![b'y'; 5000];
        let lp = from(&[&y5000]);
        assert_eq!(&lp.as_bytes()[6..11], &[0xf0, 0x88, 0x13, 0x00, 0x00]);
        assert_eq!(&lp.as_bytes()[lp.bytes() - 3..lp.bytes() - 1], &[0x27, 0x8d]);
        assert_eq!(lp.last(), Some(LP_HDR_SIZE));
        assert!(validate_integrity(lp.as_bytes(), true));
    }

    #[test]
    fn extreme_integers_round_trip() {
        for v in [i64::MIN, i64::MAX, -8_388_609, 8_388_607, -8_388_608, i32::MIN as i64, -4097, 0] {
            let lp = from(&[v.to_string().as_bytes()]);
            assert_eq!(lp.get(LP_HDR_SIZE), Some(LpValue::Int(v)));
        }
        let lp = from(&[b"-0", b"+1", b" 1", b"9223372036854775808"]);
        assert!(lp.iter().all(|v| matches!(v, LpValue::Str(_))));
    }

    #[test]
    fn seek_next_prev_walk_both_ways() {
        let lp = from(&[b"a", b"1", b"hello", b"-70000"]);
        let forward = elements(&lp);
        let mut backward: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
        backward.reverse();
        assert_eq!(forward, backward);
        assert_eq!(lp.get(lp.seek(-1).unwrap()), Some(LpValue::Int(-70000)));
        assert_eq!(lp.get(lp.seek(2).unwrap()), Some(LpValue::Str(b"hello")));
        assert_eq!(lp.seek(4), None);
        assert_eq!(lp.seek(-5), None);
        assert_eq!(lp.seek(i64::MIN), None);
    }

    #[test]
    fn insert_replace_delete() {
        let mut lp = from(&[b"a", b"c"]);
        let c = lp.seek(1).unwrap();
        let b = lp.insert(c, b"b", Where::Before).unwrap();
        assert_eq!(lp.get(b), Some(LpValue::Str(b"b")));
        let last = lp.last().unwrap();
        lp.insert(last, b"d", Where::After).unwrap();
        lp.prepend(b"0").unwrap();
        assert_eq!(elements(&lp), [&b"0"[..], b"a", b"b", b"c", b"d"]);
        let p = lp.seek(2).unwrap();
        let p = lp.replace(p, &[b'B'; 300]).unwrap();
        assert_eq!(lp.get(p).map(|v| v.str_len()), Some(300));
        let next = lp.delete(p).unwrap();
        assert_eq!(lp.get(next), Some(LpValue::Str(b"c")));
        assert_eq!(lp.delete(lp.last().unwrap()), None);
        assert_eq!(elements(&lp), [&b"0"[..], b"a", b"c"]);
        assert_eq!(lp.len(), 3);
        assert!(validate_integrity(lp.as_bytes(), true));
    }

    #[test]
    fn delete_ranges_and_find() {
        let mut lp = from(&[b"f1", b"v1", b"f2", b"2", b"f3", b"v3"]);
        assert_eq!(lp.find(LP_HDR_SIZE, b"f3", 1), lp.seek(4));
        assert_eq!(lp.find(LP_HDR_SIZE, b"v1", 1), None);
        assert_eq!(lp.find(lp.seek(1).unwrap(), b"2", 1), lp.seek(3));
        assert!(lp.compare(lp.seek(3).unwrap(), b"2"));
        assert!(!lp.compare(lp.seek(3).unwrap(), b"02"));
        lp.delete_range(-2, 10);
        assert_eq!(lp.len(), 4);
        lp.delete_range(1, 2);
        assert_eq!(elements(&lp), [&b"f1"[..], b"2"]);
        assert!(validate_integrity(lp.as_bytes(), true));
    }

    #[test]
    fn merge_keeps_order_either_way() {
        let small = from(&[b"a"]);
        let big = from(&[b"b", &[b'x'; 200], b"c"]);
        let m = Listpack::merge(small.clone(), big.clone());
        assert_eq!(elements(&m)[0], b"a");
        assert_eq!(m.len(), 4);
        let m = Listpack::merge(big, small);
        assert_eq!(elements(&m)[3], b"a");
        assert!(validate_integrity(m.as_bytes(), true));
    }

    #[test]
    fn validation_rejects_corruption() {
        let lp = from(&[b"abc", b"12345"]);
        let mut bad = lp.as_bytes().to_vec();
        bad[6] = 0xF7;
        assert!(!validate_integrity(&bad, true));
        let mut bad = lp.as_bytes().to_vec();
        bad[4] = 9;
        assert!(!validate_integrity(&bad, true));
        assert!(Listpack::from_bytes(lp.as_bytes()[..5].to_vec()).is_none());
        assert!(Listpack::from_bytes(lp.as_bytes().to_vec()).is_some());
    }

    #[test]
    fn make_consistent_keeps_valid_bytes_and_rebuilds_the_walkable_rest() {
        let lp = from(&[b"abc", b"12345", &[b'x'; 200], b"-7"]);
        assert_eq!(make_consistent(lp.as_bytes().to_vec()), lp.as_bytes());
        // A wrong count: the same entries, the count fixed.
        let mut bad = lp.as_bytes().to_vec();
        bad[4] = 9;
        let fixed = Listpack::from_bytes(make_consistent(bad)).expect("consistent");
        assert_eq!(elements(&fixed), elements(&lp));
        // An undecodable entry: the entries before it are kept.
        let mut bad = lp.as_bytes().to_vec();
        let third = lp.seek(2).unwrap();
        bad[third] = 0xF7;
        let fixed = Listpack::from_bytes(make_consistent(bad)).expect("consistent");
        assert_eq!(elements(&fixed), [&b"abc"[..], b"12345"]);
        // A backlen that lies: forward and backward walks agree again.
        let mut bad = lp.as_bytes().to_vec();
        let last = bad.len() - 2;
        bad[last] = 1;
        let fixed = Listpack::from_bytes(make_consistent(bad)).expect("consistent");
        let backward: Vec<_> = fixed.iter().rev().map(|v| v.to_vec()).collect();
        assert_eq!(backward.len(), fixed.len());
        // Every single-byte corruption gives a listpack the deep check accepts.
        for i in LP_HDR_SIZE..lp.bytes() - 1 {
            for flip in [0x01u8, 0x3f, 0x80, 0xff] {
                let mut bad = lp.as_bytes().to_vec();
                bad[i] ^= flip;
                assert!(validate_integrity(&make_consistent(bad), true), "byte {i} ^ {flip:#x}");
            }
        }
    }

    /// What a listpack loaded without deep sanitization may hold: every accessor answers
    /// something (or nothing) without panicking or looping.
    #[test]
    fn shallow_listpacks_never_panic() {
        let lp = from(&[b"abc", b"12345", &[b'x'; 200], b"-7", b"z"]);
        for i in LP_HDR_SIZE..lp.bytes() - 1 {
            for flip in [0x01u8, 0x40, 0x80, 0xff] {
                let mut bad = lp.as_bytes().to_vec();
                bad[i] ^= flip;
                let Some(mut l) = Listpack::from_bytes_checked(bad, false) else { continue };
                let _ = (l.len(), l.iter().count(), l.iter().rev().count(), l.seek(-1), l.seek(3), l.last());
                let _ = l.find(LP_HDR_SIZE, b"z", 1);
                if let Some(p) = l.seek(1) {
                    let _ = l.replace(p, b"replaced");
                    let _ = l.insert(p, b"before", Where::Before);
                }
                if let Some(p) = l.last() {
                    let _ = l.insert(p, b"after", Where::After);
                    let _ = l.delete(p);
                }
                l.delete_range(1, 3);
                let _ = l.append(b"tail");
                let _ = l.prepend(b"head");
                let _ = (l.iter().count(), l.iter().rev().count());
            }
        }
    }

    #[test]
    fn count_becomes_unknown_past_65534() {
        let mut lp = Listpack::new();
        lp.buf.reserve(140_000);
        for _ in 0..65536 {
            lp.append(b"1");
        }
        assert_eq!(lp.stored_count(), LP_HDR_NUMELE_UNKNOWN);
        assert_eq!(lp.len(), 65536);
        lp.delete_range(0, 10);
        assert_eq!(lp.len(), 65526);
        assert!(validate_integrity(lp.as_bytes(), true));
    }

    proptest! {
        #[test]
        fn behaves_like_a_vec(ops in proptest::collection::vec((0u8..5, any::<i16>(), "[a-z0-9-]{0,3}|[0-9]{1,19}|x{60,70}"), 1..60)) {
            let mut lp = Listpack::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (op, idx, s) in ops {
                let s = s.into_bytes();
                let i = if model.is_empty() { 0 } else { (idx as i64).rem_euclid(model.len() as i64) as usize };
                match op {
                    0 => { lp.append(&s); model.push(s); }
                    1 => { lp.prepend(&s); model.insert(0, s); }
                    2 if !model.is_empty() => { let p = lp.seek(i as i64).unwrap(); lp.insert(p, &s, Where::After); model.insert(i + 1, s); }
                    3 if !model.is_empty() => { let p = lp.seek(i as i64).unwrap(); lp.replace(p, &s); model[i] = s; }
                    4 if !model.is_empty() => { let p = lp.seek(-(i as i64) - 1).unwrap(); lp.delete(p); model.remove(model.len() - 1 - i); }
                    _ => {}
                }
                prop_assert_eq!(lp.len(), model.len());
            }
            prop_assert_eq!(elements(&lp), model.clone());
            let back: Vec<Vec<u8>> = lp.iter().rev().map(|v| v.to_vec()).collect();
            prop_assert_eq!(back.into_iter().rev().collect::<Vec<_>>(), model);
            prop_assert!(validate_integrity(lp.as_bytes(), true));
        }
    }
}

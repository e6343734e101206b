//! Bit commands on strings: Redis's bitops.c (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO).
//!
//! A string is a bitmap whose bit 0 is the most significant bit of its first byte. Reads treat
//! the string as zero-padded on the right; writes first grow it (with zero bytes, bounded by
//! proto-max-bulk-len before anything is allocated) and turn it raw. Like every command they
//! run whole inside one event-loop turn; writes signal the key and count `dirty` only when
//! the bitmap really changed, as Redis does.

use crate::db::{self, LookupFlags};
use crate::networking::Client;
use crate::object::{RObj, StrValue, Value};
use crate::reply::Reply;
use crate::server::Server;
use crate::t_string::{self, get_long_long_from_object_or_reply, lookup_string_or_reply, must_obey_client};
use crate::util;

const BIT_OFFSET_ERR: &str = "bit offset is not an integer or out of range";
const BIT_VALUE_ERR: &str = "bit is not an integer or out of range";
const BITFIELD_TYPE_ERR: &str =
    "Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

// ----------------------------------------------------------------------------------------
// Low level bit functions
// ----------------------------------------------------------------------------------------

/// Redis: bitops.c redisPopcount(): the number of set bits.
pub fn redis_popcount(s: &[u8]) -> i64 {
    let words = s.chunks_exact(8);
    let tail: u64 = words.remainder().iter().map(|b| u64::from(b.count_ones())).sum();
    let body: u64 = words.map(|w| <[u8; 8]>::try_from(w).map_or(0, |w| u64::from(u64::from_ne_bytes(w).count_ones()))).sum();
    (body + tail) as i64
}

/// Redis: bitops.c redisBitpos(): the first bit equal to `bit`. Looking for a 0 in a string
/// of ones answers the first bit past the end (the string is zero-padded); looking for a 1
/// that is not there answers -1.
pub fn redis_bitpos(s: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match s.iter().position(|&b| b != skip) {
        Some(i) => {
            let byte = s.get(i).copied().unwrap_or(skip);
            let inside = if bit { byte.leading_zeros() } else { (!byte).leading_zeros() };
            (i as i64) * 8 + i64::from(inside)
        }
        None if bit => -1,
        None => (s.len() as i64) * 8,
    }
}

fn bit_at(p: &[u8], offset: u64) -> u64 {
    let byte = usize::try_from(offset >> 3).ok().and_then(|i| p.get(i)).copied().unwrap_or(0);
    u64::from((byte >> (7 - (offset & 7))) & 1)
}

/// Redis: bitops.c getUnsignedBitfield(); bits past the end of `p` read as zero.
pub fn get_unsigned_bitfield(p: &[u8], offset: u64, bits: u32) -> u64 {
    (0..u64::from(bits)).fold(0, |value, j| (value << 1) | bit_at(p, offset + j))
}

/// Redis: bitops.c getSignedBitfield(): two's complement of width `bits`.
pub fn get_signed_bitfield(p: &[u8], offset: u64, bits: u32) -> i64 {
    let mut value = get_unsigned_bitfield(p, offset, bits);
    if bits < 64 && value & (1u64 << (bits - 1)) != 0 {
        value |= u64::MAX << bits;
    }
    value as i64
}

/// Redis: bitops.c setUnsignedBitfield(): stores the low `bits` bits of `value`. The caller
/// grew `p` to cover the field; bits outside it are skipped.
pub fn set_unsigned_bitfield(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..u64::from(bits) {
        let bitval = (value >> (u64::from(bits) - 1 - j)) & 1;
        let pos = offset + j;
        let shift = 7 - (pos & 7);
        if let Some(byte) = usize::try_from(pos >> 3).ok().and_then(|i| p.get_mut(i)) {
            *byte = (*byte & !(1u8 << shift)) | ((bitval as u8) << shift);
        }
    }
}

// ----------------------------------------------------------------------------------------
// Bitfield overflow arithmetic
// ----------------------------------------------------------------------------------------

/// Redis: BFOVERFLOW_WRAP / _SAT / _FAIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// The outcome of an overflow check: the value fits, must be replaced (wrapped or
/// saturated), or the operation is refused (FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checked<T> {
    Fits,
    Limited(T),
    Failed,
}

/// Redis: bitops.c checkUnsignedBitfieldOverflow(), with the same wrapping arithmetic so the
/// odd corners (SET of a negative value to an unsigned field) answer what Redis answers.
pub fn check_unsigned_bitfield_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Checked<u64> {
    let max = if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let upward = if value > max || (incr > 0 && incr > maxincr) {
        true
    } else if incr < 0 && incr < minincr {
        false
    } else {
        return Checked::Fits;
    };
    match ow {
        Overflow::Wrap => {
            let mask = if bits >= 64 { 0 } else { u64::MAX << bits };
            Checked::Limited(value.wrapping_add(incr as u64) & !mask)
        }
        Overflow::Sat => Checked::Limited(if upward { max } else { 0 }),
        Overflow::Fail => Checked::Failed,
    }
}

/// Redis: bitops.c checkSignedBitfieldOverflow().
pub fn check_signed_bitfield_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Checked<i64> {
    let max = if bits >= 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let narrow = bits != 64;
    let upward = if value > max || (narrow && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        true
    } else if value < min || (narrow && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        false
    } else {
        return Checked::Fits;
    };
    match ow {
        Overflow::Wrap => Checked::Limited(wrap_signed(value, incr, bits)),
        Overflow::Sat => Checked::Limited(if upward { max } else { min }),
        Overflow::Fail => Checked::Failed,
    }
}

/// The WRAP result of a signed field: the sum's low bits, sign-extended from bit `bits-1`.
fn wrap_signed(value: i64, incr: i64, bits: u32) -> i64 {
    let mut sum = (value as u64).wrapping_add(incr as u64);
    if bits < 64 {
        let mask = u64::MAX << bits;
        let msb = 1u64 << (bits - 1);
        if sum & msb != 0 {
            sum |= mask;
        } else {
            sum &= !mask;
        }
    }
    sum as i64
}

/// A BITFIELD write: SET stores the value (replying the old one), INCRBY adds (replying the
/// new one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldWrite {
    Set(i64),
    IncrBy(i64),
}

/// One write to an unsigned field holding `old`: (value to store, value to reply), or None
/// when OVERFLOW FAIL refuses it.
pub fn unsigned_field_write(old: u64, write: FieldWrite, bits: u32, ow: Overflow) -> Option<(u64, u64)> {
    match write {
        FieldWrite::IncrBy(incr) => {
            let new = match check_unsigned_bitfield_overflow(old, incr, bits, ow) {
                Checked::Fits => old.wrapping_add(incr as u64),
                Checked::Limited(limit) => limit,
                Checked::Failed => return None,
            };
            Some((new, new))
        }
        FieldWrite::Set(value) => match check_unsigned_bitfield_overflow(value as u64, 0, bits, ow) {
            Checked::Fits => Some((value as u64, old)),
            Checked::Limited(limit) => Some((limit, old)),
            Checked::Failed => None,
        },
    }
}

/// One write to a signed field holding `old`: (value to store, value to reply), or None when
/// OVERFLOW FAIL refuses it.
pub fn signed_field_write(old: i64, write: FieldWrite, bits: u32, ow: Overflow) -> Option<(i64, i64)> {
    match write {
        FieldWrite::IncrBy(incr) => {
            let new = match check_signed_bitfield_overflow(old, incr, bits, ow) {
                Checked::Fits => old.wrapping_add(incr),
                Checked::Limited(limit) => limit,
                Checked::Failed => return None,
            };
            Some((new, new))
        }
        FieldWrite::Set(value) => match check_signed_bitfield_overflow(value, 0, bits, ow) {
            Checked::Fits => Some((value, old)),
            Checked::Limited(limit) => Some((limit, old)),
            Checked::Failed => None,
        },
    }
}

// ----------------------------------------------------------------------------------------
// Argument parsing
// ----------------------------------------------------------------------------------------

/// Redis: getBitOffsetFromArgument() arithmetic. With `hash_bits`, `#N` means N * bits
/// (BITFIELD). `limit` is proto-max-bulk-len in bytes, None for a client we must obey.
pub fn parse_bit_offset(arg: &[u8], hash_bits: Option<u32>, limit: Option<i64>) -> Option<u64> {
    let (multiplier, digits) = match (arg.split_first(), hash_bits) {
        (Some((b'#', rest)), Some(bits)) if bits > 0 => (Some(bits), rest),
        _ => (None, arg),
    };
    let mut offset = util::string2ll(digits)?;
    if let Some(bits) = multiplier {
        // Redis multiplies without an overflow check; a wrapped negative is refused below.
        offset = offset.wrapping_mul(i64::from(bits));
    }
    if offset < 0 || limit.is_some_and(|max| (offset >> 3) >= max) {
        return None;
    }
    Some(offset as u64)
}

/// Redis: bitops.c getBitOffsetFromArgument(): argument `idx` as a bit offset, or the error.
fn get_bit_offset_from_argument(srv: &Server, c: &mut Client, idx: usize, hash_bits: Option<u32>) -> Option<u64> {
    let limit = (!must_obey_client(c)).then_some(srv.config.proto_max_bulk_len);
    let offset = parse_bit_offset(c.argv.get(idx), hash_bits, limit);
    if offset.is_none() {
        c.reply.add_reply_error(BIT_OFFSET_ERR);
    }
    offset
}

/// Redis: bitops.c getBitfieldTypeFromArgument(): `i1`..`i64` or `u1`..`u63` as
/// (signed, bits). Like Redis, the digits end at a NUL byte.
pub fn parse_bitfield_type(arg: &[u8]) -> Option<(bool, u32)> {
    let (signed, rest) = match arg.split_first() {
        Some((b'i', rest)) => (true, rest),
        Some((b'u', rest)) => (false, rest),
        _ => return None,
    };
    let digits = rest.split(|&b| b == 0).next().unwrap_or(&[]);
    let bits = util::string2ll(digits)?;
    let widest = if signed { 64 } else { 63 };
    (1..=widest).contains(&bits).then_some((signed, bits as u32))
}

// ----------------------------------------------------------------------------------------
// Shared write path
// ----------------------------------------------------------------------------------------

/// Redis: bitops.c lookupStringForBitCommand(): the raw buffer of the key (argument 1),
/// created or zero-padded so bit `maxbit` exists, and whether its length changed.
fn lookup_string_for_bit_command<'a>(srv: &'a mut Server, c: &mut Client, maxbit: u64) -> Result<(&'a mut Vec<u8>, bool), ()> {
    let Some(len) = usize::try_from(maxbit >> 3).ok().and_then(|byte| byte.checked_add(1)) else {
        c.reply.add_reply_error(t_string::OUT_OF_MEMORY);
        return Err(());
    };
    let dbid = c.db;
    let exists = lookup_string_or_reply(srv, c, 1, LookupFlags::Write)?.is_some();
    if !exists {
        let mut buf = Vec::new();
        if !t_string::grow_zero(&mut buf, len) {
            c.reply.add_reply_error(t_string::OUT_OF_MEMORY);
            return Err(());
        }
        t_string::db_add_string(srv, dbid, c.argv.get(1), StrValue::Raw(Box::new(buf)));
    }
    let value = srv.db.get_mut(dbid).and_then(|db| db.dict.find(c.argv.get(1))).and_then(RObj::as_str_mut);
    let Some(value) = value else {
        c.reply.add_reply_error(t_string::OUT_OF_MEMORY);
        return Err(());
    };
    let buf = value.make_raw();
    let oldlen = buf.len();
    if !t_string::grow_zero(buf, len) {
        c.reply.add_reply_error(t_string::OUT_OF_MEMORY);
        return Err(());
    }
    let grown = !exists || buf.len() != oldlen;
    Ok((buf, grown))
}

// ----------------------------------------------------------------------------------------
// SETBIT, GETBIT
// ----------------------------------------------------------------------------------------

/// Redis: bitops.c setbitCommand(): replies the bit's previous value.
pub fn setbit_command(srv: &mut Server, c: &mut Client) {
    let Some(bitoffset) = get_bit_offset_from_argument(srv, c, 2, None) else { return };
    let Some(on) = get_long_long_from_object_or_reply(c, 3, Some(BIT_VALUE_ERR)) else { return };
    if on & !1 != 0 {
        return c.reply.add_reply_error(BIT_VALUE_ERR);
    }
    let dbid = c.db;
    let Ok((buf, grown)) = lookup_string_for_bit_command(srv, c, bitoffset) else { return };
    let shift = 7 - (bitoffset & 7);
    let Some(byte) = usize::try_from(bitoffset >> 3).ok().and_then(|i| buf.get_mut(i)) else {
        return c.reply.add_reply_error(t_string::OUT_OF_MEMORY);
    };
    let old = (*byte >> shift) & 1;
    let changed = grown || i64::from(old) != on;
    if changed {
        *byte = (*byte & !(1u8 << shift)) | ((on as u8) << shift);
        srv.signal_modified_key(dbid, c.argv.get(1));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_STRING, "setbit", c.argv.get(1), dbid);
        srv.dirty += 1;
    }
    c.reply.add_reply_long_long(i64::from(old));
}

/// Redis: bitops.c getbitCommand().
pub fn getbit_command(srv: &mut Server, c: &mut Client) {
    let Some(bitoffset) = get_bit_offset_from_argument(srv, c, 2, None) else { return };
    let value = match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(value)) => value,
    };
    let mut scratch = Vec::new();
    let bit = bit_at(value.bytes(&mut scratch), bitoffset);
    c.reply.add_reply_long_long(bit as i64);
}

// ----------------------------------------------------------------------------------------
// BITOP
// ----------------------------------------------------------------------------------------

/// Redis: BITOP_AND / _OR / _XOR / _NOT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

impl BitOp {
    fn parse(name: &[u8]) -> Option<BitOp> {
        [(b"and" as &[u8], BitOp::And), (b"or", BitOp::Or), (b"xor", BitOp::Xor), (b"not", BitOp::Not)]
            .into_iter()
            .find(|(n, _)| name.eq_ignore_ascii_case(n))
            .map(|(_, op)| op)
    }
}

/// Redis: the computation of bitopCommand(): as long as the longest source, shorter sources
/// padded with zero bytes. NOT uses the first source only.
pub fn bitop<S: AsRef<[u8]>>(op: BitOp, srcs: &[S]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.as_ref().len()).max().unwrap_or(0);
    let byte_of = |src: &S, j: usize| src.as_ref().get(j).copied().unwrap_or(0);
    (0..maxlen)
        .map(|j| {
            let first = srcs.first().map_or(0, |s| byte_of(s, j));
            let rest = srcs.iter().skip(1).map(|s| byte_of(s, j));
            match op {
                BitOp::And => rest.fold(first, |acc, b| acc & b),
                BitOp::Or => rest.fold(first, |acc, b| acc | b),
                BitOp::Xor => rest.fold(first, |acc, b| acc ^ b),
                BitOp::Not => !first,
            }
        })
        .collect()
}

/// Redis: the source lookups of bitopCommand(): whether each source key exists; None
/// after WRONGTYPE was replied.
fn bitop_lookup_sources(srv: &mut Server, c: &mut Client) -> Option<Vec<bool>> {
    let mut exists = Vec::with_capacity(c.argv.len().saturating_sub(3));
    for j in 3..c.argv.len() {
        exists.push(lookup_string_or_reply(srv, c, j, LookupFlags::Read).ok()?.is_some());
    }
    Some(exists)
}

/// BITOP over the sources already looked up, reading them in place (integers rendered).
fn bitop_compute(srv: &Server, c: &Client, op: BitOp, exists: &[bool]) -> Vec<u8> {
    let mut scratches = vec![Vec::new(); exists.len()];
    let srcs: Vec<&[u8]> = scratches
        .iter_mut()
        .zip(exists)
        .enumerate()
        .map(|(i, (scratch, &found))| t_string::string_bytes(srv, c.db, c.argv.get(i + 3), found, scratch))
        .collect();
    bitop(op, &srcs)
}

/// Redis: bitops.c bitopCommand(): BITOP op destkey key [key ...]; replies the result's
/// length. An empty result deletes the destination.
pub fn bitop_command(srv: &mut Server, c: &mut Client) {
    let Some(op) = BitOp::parse(c.argv.get(1)) else {
        return c.reply.add_reply_syntax_error();
    };
    if op == BitOp::Not && c.argv.len() != 4 {
        return c.reply.add_reply_error("BITOP NOT must be called with a single source key.");
    }
    let Some(exists) = bitop_lookup_sources(srv, c) else { return };
    let result = bitop_compute(srv, c, op, &exists);
    let maxlen = result.len();
    let dbid = c.db;
    if maxlen > 0 {
        let value = RObj::new(Value::Str(StrValue::Raw(Box::new(result))), srv.lru_clock);
        db::set_key(srv, dbid, c.argv.get(2), value, false);
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_STRING, "set", c.argv.get(2), dbid);
        srv.dirty += 1;
    } else if srv.db.get_mut(dbid).and_then(|db| db.db_delete(c.argv.get(2))).is_some() {
        srv.signal_modified_key(dbid, c.argv.get(2));
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_GENERIC, "del", c.argv.get(2), dbid);
        srv.dirty += 1;
    }
    c.reply.add_reply_long_long(maxlen as i64);
}

// ----------------------------------------------------------------------------------------
// BITCOUNT, BITPOS
// ----------------------------------------------------------------------------------------

/// A byte range of BITCOUNT/BITPOS, with (in BIT mode) the masks of the bits of the edge
/// bytes that lie outside the requested bit range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRange {
    pub start: usize,
    pub end: usize,
    pub first_mask: u8,
    pub last_mask: u8,
}

/// The index conversion BITCOUNT and BITPOS share: negative indexes count from the end,
/// indexes are clamped, and in BIT mode they are turned into bytes plus edge masks. None when
/// the range is empty.
pub fn convert_range(start: i64, end: i64, strlen: usize, isbit: bool) -> Option<BitRange> {
    let bytes = i64::try_from(strlen).ok()?;
    let totlen = if isbit { bytes.checked_mul(8)? } else { bytes };
    let start = if start < 0 { totlen + start } else { start }.max(0);
    let end = if end < 0 { totlen + end } else { end }.max(0).min(totlen - 1);
    if start > end {
        return None;
    }
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    let (mut start, mut end) = (start, end);
    if isbit {
        first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
        last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
        start >>= 3;
        end >>= 3;
    }
    Some(BitRange { start: start as usize, end: end as usize, first_mask, last_mask })
}

/// Redis: the counting of bitcountCommand() over a converted range.
pub fn bitcount_range(p: &[u8], r: BitRange) -> i64 {
    let Some(slice) = p.get(r.start..=r.end) else { return 0 };
    let mut count = redis_popcount(slice);
    let first = slice.first().copied().unwrap_or(0) & r.first_mask;
    let last = slice.last().copied().unwrap_or(0) & r.last_mask;
    count -= redis_popcount(&[first, last]);
    count
}

/// Parses BYTE|BIT (argument `idx`); replies the syntax error itself.
fn parse_bit_unit(c: &mut Client, idx: usize) -> Option<bool> {
    let unit = c.argv.get(idx);
    if unit.eq_ignore_ascii_case(b"bit") {
        Some(true)
    } else if unit.eq_ignore_ascii_case(b"byte") {
        Some(false)
    } else {
        c.reply.add_reply_syntax_error();
        None
    }
}

/// Redis: bitops.c bitcountCommand(): BITCOUNT key [start end [BYTE|BIT]]. As in 7.0 the key
/// is looked up first, so a missing key answers 0 whatever the arguments.
pub fn bitcount_command(srv: &mut Server, c: &mut Client) {
    let argc = c.argv.len();
    let value = match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(0),
        Ok(Some(value)) => value,
    };
    let mut scratch = Vec::new();
    let p = value.bytes(&mut scratch);
    let range = match argc {
        2 => convert_range(0, -1, p.len(), false),
        4 | 5 => {
            let Some(start) = get_long_long_from_object_or_reply(c, 2, None) else { return };
            let Some(end) = get_long_long_from_object_or_reply(c, 3, None) else { return };
            if start < 0 && end < 0 && start > end {
                return c.reply.add_reply_long_long(0);
            }
            let isbit = if argc == 5 {
                let Some(isbit) = parse_bit_unit(c, 4) else { return };
                isbit
            } else {
                false
            };
            convert_range(start, end, p.len(), isbit)
        }
        _ => return c.reply.add_reply_syntax_error(),
    };
    c.reply.add_reply_long_long(range.map_or(0, |r| bitcount_range(p, r)));
}

/// Where a search of BITPOS ended: the position found (relative to `start`, or -1), and the
/// byte where the last searched segment began and how many bytes were left from there.
struct BitposScan {
    pos: i64,
    start: usize,
    bytes: usize,
}

/// Redis: the search of bitposCommand() over a converted range: the first (masked) edge
/// byte, the whole bytes between, then the last (masked) edge byte.
fn bitpos_scan(p: &[u8], bit: bool, r: BitRange) -> BitposScan {
    let byte_at = |i: usize| p.get(i).copied().unwrap_or(0);
    let mask_in = |byte: u8, mask: u8| if bit { byte & !mask } else { byte | mask };
    let (mut start, mut bytes) = (r.start, r.end - r.start + 1);
    if r.first_mask != 0 {
        let mut edge = mask_in(byte_at(start), r.first_mask);
        if r.last_mask != 0 && bytes == 1 {
            edge = mask_in(edge, r.last_mask);
        }
        let pos = redis_bitpos(&[edge], bit);
        if bytes == 1 || (pos != -1 && pos != 8) {
            return BitposScan { pos, start, bytes };
        }
        start += 1;
        bytes -= 1;
    }
    let middle = bytes - usize::from(r.last_mask != 0);
    if middle > 0 {
        let pos = redis_bitpos(p.get(start..start + middle).unwrap_or(&[]), bit);
        if bytes == middle || (pos != -1 && pos != (middle as i64) * 8) {
            return BitposScan { pos, start, bytes };
        }
        start += middle;
        bytes -= middle;
    }
    let pos = redis_bitpos(&[mask_in(byte_at(r.end), r.last_mask)], bit);
    BitposScan { pos, start, bytes }
}

/// Redis: bitposCommand()'s answer for a range: with an explicit end, a 0 searched past the
/// range is not found (-1) rather than assumed from the zero padding.
pub fn bitpos_range(p: &[u8], bit: bool, r: BitRange, end_given: bool) -> i64 {
    let scan = bitpos_scan(p, bit, r);
    if end_given && !bit && scan.pos == (scan.bytes as i64) * 8 {
        return -1;
    }
    if scan.pos == -1 {
        return -1;
    }
    scan.pos + (scan.start as i64) * 8
}

/// The range arguments of BITPOS (start [end [BYTE|BIT]]) as (range, end_given); the
/// outer None means an error was replied.
fn parse_bitpos_range(c: &mut Client, strlen: usize) -> Option<(Option<BitRange>, bool)> {
    let argc = c.argv.len();
    if argc == 3 {
        return Some((convert_range(0, -1, strlen, false), false));
    }
    if !(4..=6).contains(&argc) {
        c.reply.add_reply_syntax_error();
        return None;
    }
    let start = get_long_long_from_object_or_reply(c, 3, None)?;
    let isbit = if argc == 6 { parse_bit_unit(c, 5)? } else { false };
    let end = if argc >= 5 { get_long_long_from_object_or_reply(c, 4, None)? } else { strlen as i64 - 1 };
    Some((convert_range(start, end, strlen, isbit), argc >= 5))
}

/// Redis: bitops.c bitposCommand(): BITPOS key bit [start [end [BYTE|BIT]]]. A missing key
/// is an endless run of zeros.
pub fn bitpos_command(srv: &mut Server, c: &mut Client) {
    let Some(bit) = get_long_long_from_object_or_reply(c, 2, None) else { return };
    if bit != 0 && bit != 1 {
        return c.reply.add_reply_error("The bit argument must be 1 or 0.");
    }
    let bit = bit == 1;
    let value = match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(None) => return c.reply.add_reply_long_long(if bit { -1 } else { 0 }),
        Ok(Some(value)) => value,
    };
    let mut scratch = Vec::new();
    let p = value.bytes(&mut scratch);
    let Some((range, end_given)) = parse_bitpos_range(c, p.len()) else { return };
    let pos = range.map_or(-1, |r| bitpos_range(p, bit, r, end_given));
    c.reply.add_reply_long_long(pos);
}

// ----------------------------------------------------------------------------------------
// BITFIELD
// ----------------------------------------------------------------------------------------

/// Redis: BITFIELDOP_GET / _SET / _INCRBY with their argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldOp {
    Get,
    Write(FieldWrite),
}

/// Redis: struct bitfieldOp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitfieldOp {
    pub offset: u64,
    pub op: FieldOp,
    pub overflow: Overflow,
    pub bits: u32,
    pub signed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SubcommandKind {
    Get,
    Set,
    IncrBy,
}

/// Redis: the OVERFLOW argument of BITFIELD.
fn parse_overflow(arg: &[u8]) -> Option<Overflow> {
    [(b"wrap" as &[u8], Overflow::Wrap), (b"sat", Overflow::Sat), (b"fail", Overflow::Fail)]
        .into_iter()
        .find(|(name, _)| arg.eq_ignore_ascii_case(name))
        .map(|(_, ow)| ow)
}

/// Redis: the parsing loop of bitfieldGeneric(); replies the first error itself.
fn parse_bitfield_ops(srv: &Server, c: &mut Client) -> Option<Vec<BitfieldOp>> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < c.argv.len() {
        let remargs = c.argv.len() - j - 1;
        let sub = c.argv.get(j);
        let kind = if sub.eq_ignore_ascii_case(b"get") && remargs >= 2 {
            SubcommandKind::Get
        } else if sub.eq_ignore_ascii_case(b"set") && remargs >= 3 {
            SubcommandKind::Set
        } else if sub.eq_ignore_ascii_case(b"incrby") && remargs >= 3 {
            SubcommandKind::IncrBy
        } else if sub.eq_ignore_ascii_case(b"overflow") && remargs >= 1 {
            let Some(ow) = parse_overflow(c.argv.get(j + 1)) else {
                c.reply.add_reply_error("Invalid OVERFLOW type specified");
                return None;
            };
            overflow = ow;
            j += 2;
            continue;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        };
        let Some((signed, bits)) = parse_bitfield_type(c.argv.get(j + 1)) else {
            c.reply.add_reply_error(BITFIELD_TYPE_ERR);
            return None;
        };
        let offset = get_bit_offset_from_argument(srv, c, j + 2, Some(bits))?;
        let op = match kind {
            SubcommandKind::Get => FieldOp::Get,
            SubcommandKind::Set => FieldOp::Write(FieldWrite::Set(get_long_long_from_object_or_reply(c, j + 3, None)?)),
            SubcommandKind::IncrBy => FieldOp::Write(FieldWrite::IncrBy(get_long_long_from_object_or_reply(c, j + 3, None)?)),
        };
        ops.push(BitfieldOp { offset, op, overflow, bits, signed });
        j += if kind == SubcommandKind::Get { 3 } else { 4 };
    }
    Some(ops)
}

/// Redis: the GET of bitfieldGeneric(): bits past the end of the string read as zero.
fn bitfield_get(p: &[u8], op: &BitfieldOp) -> i64 {
    if op.signed {
        get_signed_bitfield(p, op.offset, op.bits)
    } else {
        get_unsigned_bitfield(p, op.offset, op.bits) as i64
    }
}

/// One SET/INCRBY on the grown buffer: (reply, whether the stored bits changed), or None
/// when OVERFLOW FAIL refused it (nothing written).
pub fn bitfield_write(buf: &mut [u8], op: &BitfieldOp, write: FieldWrite) -> Option<(i64, bool)> {
    if op.signed {
        let old = get_signed_bitfield(buf, op.offset, op.bits);
        let (new, reply) = signed_field_write(old, write, op.bits, op.overflow)?;
        set_unsigned_bitfield(buf, op.offset, op.bits, new as u64);
        Some((reply, old != new))
    } else {
        let old = get_unsigned_bitfield(buf, op.offset, op.bits);
        let (new, reply) = unsigned_field_write(old, write, op.bits, op.overflow)?;
        set_unsigned_bitfield(buf, op.offset, op.bits, new);
        Some((reply as i64, old != new))
    }
}

/// BITFIELD with GET operations only: a read lookup, nothing is created.
fn bitfield_read_only(srv: &mut Server, c: &mut Client, ops: &[BitfieldOp]) {
    let value = match lookup_string_or_reply(srv, c, 1, LookupFlags::Read) {
        Err(()) => return,
        Ok(value) => value,
    };
    let mut scratch = Vec::new();
    let p: &[u8] = value.map_or(&[], |v| v.bytes(&mut scratch));
    c.reply.add_reply_array_len(ops.len());
    for op in ops {
        c.reply.add_reply_long_long(bitfield_get(p, op));
    }
}

/// Runs every operation on the key's grown buffer; returns how many changed the bitmap.
fn bitfield_run_writes(buf: &mut [u8], grown: bool, ops: &[BitfieldOp], reply: &mut Reply) -> u64 {
    reply.add_reply_array_len(ops.len());
    let mut changes = 0;
    for op in ops {
        match op.op {
            FieldOp::Get => reply.add_reply_long_long(bitfield_get(buf, op)),
            FieldOp::Write(write) => match bitfield_write(buf, op, write) {
                Some((value, changed)) => {
                    reply.add_reply_long_long(value);
                    changes += u64::from(grown || changed);
                }
                None => reply.add_reply_null(),
            },
        }
    }
    changes
}

/// Redis: bitops.c bitfieldGeneric(): BITFIELD and (with `readonly_cmd`) BITFIELD_RO.
fn bitfield_generic(srv: &mut Server, c: &mut Client, readonly_cmd: bool) {
    let Some(ops) = parse_bitfield_ops(srv, c) else { return };
    let highest_write = ops
        .iter()
        .filter(|op| op.op != FieldOp::Get)
        .map(|op| op.offset + u64::from(op.bits) - 1)
        .max();
    let Some(highest_write) = highest_write else {
        return bitfield_read_only(srv, c, &ops);
    };
    if readonly_cmd {
        return c.reply.add_reply_error("BITFIELD_RO only supports the GET subcommand");
    }
    let dbid = c.db;
    let Ok((buf, grown)) = lookup_string_for_bit_command(srv, c, highest_write) else { return };
    let changes = bitfield_run_writes(buf, grown, &ops, &mut c.reply);
    if changes > 0 {
        srv.signal_modified_key(dbid, c.argv.get(1));
        // The replies were written op by op: the event follows them, as in Redis.
        crate::notify::notify_keyspace_event(srv, crate::notify::NOTIFY_STRING, "setbit", c.argv.get(1), dbid);
        crate::pubsub::flush_pending_pushes(srv, c);
        srv.dirty += changes;
    }
}

/// Redis: bitops.c bitfieldCommand().
pub fn bitfield_command(srv: &mut Server, c: &mut Client) {
    bitfield_generic(srv, c, false);
}

/// Redis: bitops.c bitfieldroCommand().
pub fn bitfield_ro_command(srv: &mut Server, c: &mut Client) {
    bitfield_generic(srv, c, true);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_counts_every_bit() {
        assert_eq!(redis_popcount(b""), 0);
        assert_eq!(redis_popcount(b"foobar"), 26);
        let long: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let expect: i64 = long.iter().map(|b| i64::from(b.count_ones())).sum();
        assert_eq!(redis_popcount(&long), expect);
    }

    #[test]
    fn bitpos_finds_first_bit() {
        assert_eq!(redis_bitpos(b"\xff\xf0\x00", false), 12);
        assert_eq!(redis_bitpos(b"\x00\xff\xf0", true), 8);
        assert_eq!(redis_bitpos(b"\x00\x00", true), -1);
        assert_eq!(redis_bitpos(b"\xff\xff", false), 16);
        assert_eq!(redis_bitpos(b"", false), 0);
        assert_eq!(redis_bitpos(b"", true), -1);
    }

    #[test]
    fn bitfield_get_set_roundtrip() {
        // Redis's doc example: u5 = 23 at offset 7 of zeroes gives 00000001|01110000.
        let mut p = vec![0u8; 2];
        set_unsigned_bitfield(&mut p, 7, 5, 23);
        assert_eq!(p, vec![0b0000_0001, 0b0111_0000]);
        assert_eq!(get_unsigned_bitfield(&p, 7, 5), 23);
        assert_eq!(get_signed_bitfield(&p, 7, 5), 23 - 32);
        assert_eq!(get_unsigned_bitfield(&p, 100, 8), 0, "reads past the end are zero");
        let mut q = vec![0u8; 8];
        set_unsigned_bitfield(&mut q, 0, 64, (-2i64) as u64);
        assert_eq!(get_signed_bitfield(&q, 0, 64), -2);
    }

    #[test]
    fn unsigned_overflow_modes() {
        use FieldWrite::*;
        assert_eq!(unsigned_field_write(250, IncrBy(10), 8, Overflow::Wrap), Some((4, 4)));
        assert_eq!(unsigned_field_write(250, IncrBy(10), 8, Overflow::Sat), Some((255, 255)));
        assert_eq!(unsigned_field_write(250, IncrBy(10), 8, Overflow::Fail), None);
        assert_eq!(unsigned_field_write(5, IncrBy(-10), 8, Overflow::Wrap), Some((251, 251)));
        assert_eq!(unsigned_field_write(5, IncrBy(-10), 8, Overflow::Sat), Some((0, 0)));
        assert_eq!(unsigned_field_write(5, IncrBy(-10), 8, Overflow::Fail), None);
        assert_eq!(unsigned_field_write(5, IncrBy(-5), 8, Overflow::Fail), Some((0, 0)));
        // SET replies the old value; a value too wide is wrapped or clamped.
        assert_eq!(unsigned_field_write(7, Set(256 + 3), 8, Overflow::Wrap), Some((3, 7)));
        assert_eq!(unsigned_field_write(7, Set(256 + 3), 8, Overflow::Sat), Some((255, 7)));
        // A negative SET on an unsigned field counts as too large (Redis compares unsigned).
        assert_eq!(unsigned_field_write(7, Set(-1), 8, Overflow::Sat), Some((255, 7)));
        assert_eq!(unsigned_field_write(7, Set(-1), 8, Overflow::Wrap), Some((255, 7)));
        assert_eq!(unsigned_field_write(0, IncrBy(i64::MAX), 63, Overflow::Fail), Some((i64::MAX as u64, i64::MAX as u64)));
        assert_eq!(unsigned_field_write(1, IncrBy(i64::MAX), 63, Overflow::Sat), Some((i64::MAX as u64, i64::MAX as u64)));
    }

    #[test]
    fn signed_overflow_modes() {
        use FieldWrite::*;
        assert_eq!(signed_field_write(100, IncrBy(100), 8, Overflow::Wrap), Some((-56, -56)));
        assert_eq!(signed_field_write(100, IncrBy(100), 8, Overflow::Sat), Some((127, 127)));
        assert_eq!(signed_field_write(100, IncrBy(100), 8, Overflow::Fail), None);
        assert_eq!(signed_field_write(-100, IncrBy(-100), 8, Overflow::Wrap), Some((56, 56)));
        assert_eq!(signed_field_write(-100, IncrBy(-100), 8, Overflow::Sat), Some((-128, -128)));
        assert_eq!(signed_field_write(-100, IncrBy(-28), 8, Overflow::Fail), Some((-128, -128)));
        assert_eq!(signed_field_write(i64::MAX, IncrBy(1), 64, Overflow::Wrap), Some((i64::MIN, i64::MIN)));
        assert_eq!(signed_field_write(i64::MAX, IncrBy(1), 64, Overflow::Sat), Some((i64::MAX, i64::MAX)));
        assert_eq!(signed_field_write(i64::MIN, IncrBy(-1), 64, Overflow::Sat), Some((i64::MIN, i64::MIN)));
        assert_eq!(signed_field_write(3, Set(200), 8, Overflow::Wrap), Some((-56, 3)));
        assert_eq!(signed_field_write(3, Set(-200), 8, Overflow::Sat), Some((-128, 3)));
        assert_eq!(signed_field_write(0, IncrBy(-1), 1, Overflow::Fail), Some((-1, -1)));
        assert_eq!(signed_field_write(0, IncrBy(1), 1, Overflow::Sat), Some((0, 0)));
    }

    #[test]
    fn bitfield_types_and_offsets() {
        assert_eq!(parse_bitfield_type(b"i64"), Some((true, 64)));
        assert_eq!(parse_bitfield_type(b"u63"), Some((false, 63)));
        assert_eq!(parse_bitfield_type(b"u64"), None);
        assert_eq!(parse_bitfield_type(b"i0"), None);
        assert_eq!(parse_bitfield_type(b"I8"), None);
        assert_eq!(parse_bitfield_type(b"i08"), None);
        assert_eq!(parse_bitfield_type(b""), None);
        assert_eq!(parse_bitfield_type(b"u8\0junk"), Some((false, 8)));
        assert_eq!(parse_bit_offset(b"#3", Some(8), Some(1 << 29)), Some(24));
        assert_eq!(parse_bit_offset(b"#3", None, Some(1 << 29)), None);
        assert_eq!(parse_bit_offset(b"-1", None, Some(1 << 29)), None);
        assert_eq!(parse_bit_offset(b"4294967295", None, Some(1 << 29)), Some(4294967295));
        assert_eq!(parse_bit_offset(b"4294967296", None, Some(1 << 29)), None);
        assert_eq!(parse_bit_offset(b"4294967296", None, None), Some(4294967296));
        assert_eq!(parse_bit_offset(b"#-1", Some(8), None), None);
    }

    #[test]
    fn bitop_pads_short_sources() {
        let srcs = vec![b"\xff\x0f".to_vec(), b"\xf0".to_vec()];
        assert_eq!(bitop(BitOp::And, &srcs), b"\xf0\x00");
        assert_eq!(bitop(BitOp::Or, &srcs), b"\xff\x0f");
        assert_eq!(bitop(BitOp::Xor, &srcs), b"\x0f\x0f");
        assert_eq!(bitop(BitOp::Not, &srcs[..1]), b"\x00\xf0");
        assert_eq!(bitop(BitOp::Or, &[Vec::new(), Vec::new()]), b"");
    }

    #[test]
    fn ranges_in_bytes_and_bits() {
        let p = b"\xff\xf0\x00";
        assert_eq!(bitcount_range(p, convert_range(0, -1, 3, false).unwrap()), 12);
        assert_eq!(bitcount_range(p, convert_range(5, 30, 3, true).unwrap()), 7);
        assert_eq!(bitcount_range(p, convert_range(1, 1, 3, true).unwrap()), 1);
        assert_eq!(convert_range(2, 1, 3, false), None);
        assert_eq!(convert_range(0, -1, 0, false), None);
        assert_eq!(bitpos_range(p, false, convert_range(0, -1, 3, false).unwrap(), false), 12);
        assert_eq!(bitpos_range(p, true, convert_range(2, -1, 3, false).unwrap(), true), -1);
        assert_eq!(bitpos_range(b"\xff\xff", false, convert_range(0, -1, 2, false).unwrap(), false), 16);
        assert_eq!(bitpos_range(b"\xff\xff", false, convert_range(0, -1, 2, false).unwrap(), true), -1);
        assert_eq!(bitpos_range(b"\x00\xff", true, convert_range(3, 12, 2, true).unwrap(), true), 8);
        assert_eq!(bitpos_range(b"\xff\xfe", false, convert_range(3, 14, 2, true).unwrap(), true), -1);
        assert_eq!(bitpos_range(b"\xff\xfe", false, convert_range(3, 15, 2, true).unwrap(), true), 15);
    }

    mod commands {
        use super::super::*;

        use crate::test_support::{run_command as run, test_server};

        #[test]
        fn setbit_counts_only_real_changes() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            assert_eq!(run(&mut srv, &mut c, setbit_command, &["setbit", "k", "7", "0"]), ":0\r\n");
            assert_eq!(srv.dirty, 1, "creating the key is a change");
            assert_eq!(run(&mut srv, &mut c, setbit_command, &["setbit", "k", "7", "0"]), ":0\r\n");
            assert_eq!(srv.dirty, 1);
            assert_eq!(run(&mut srv, &mut c, setbit_command, &["setbit", "k", "7", "1"]), ":0\r\n");
            assert_eq!(run(&mut srv, &mut c, setbit_command, &["setbit", "k", "15", "0"]), ":0\r\n");
            assert_eq!(srv.dirty, 3, "growing the string is a change");
            assert_eq!(srv.db[0].dict.get(b"k" as &[u8]).map(RObj::encoding_name), Some("raw"));
        }

        #[test]
        fn bitfield_and_bitop_dirty() {
            let mut srv = test_server();
            let mut c = Client::new(1, None, 0);
            let out = run(&mut srv, &mut c, bitfield_command, &["bitfield", "k", "SET", "u8", "0", "5", "SET", "u8", "0", "5", "GET", "u8", "0"]);
            assert_eq!(out, "*3\r\n:0\r\n:5\r\n:5\r\n");
            assert_eq!(srv.dirty, 2, "every write to a grown string counts");
            let out = run(&mut srv, &mut c, bitfield_command, &["bitfield", "k", "SET", "u8", "0", "5", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"]);
            assert_eq!(out, "*2\r\n:5\r\n$-1\r\n");
            assert_eq!(srv.dirty, 2);
            assert_eq!(run(&mut srv, &mut c, bitfield_ro_command, &["bitfield_ro", "k", "SET", "u8", "0", "1"]),
                "-ERR BITFIELD_RO only supports the GET subcommand\r\n");
            assert_eq!(run(&mut srv, &mut c, bitop_command, &["bitop", "not", "dest", "k"]), ":1\r\n");
            assert_eq!(srv.dirty, 3);
            assert_eq!(run(&mut srv, &mut c, bitop_command, &["bitop", "or", "dest", "nokey"]), ":0\r\n");
            assert_eq!(srv.dirty, 4, "deleting the destination is a change");
            assert_eq!(run(&mut srv, &mut c, bitop_command, &["bitop", "or", "dest", "nokey"]), ":0\r\n");
            assert_eq!(srv.dirty, 4);
        }
    }
}

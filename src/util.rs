//! Number/string conversions, glob matching, argument splitting, random ids and clocks:
//! Redis's util.c plus the few sds.c helpers (sdssplitargs, sdscatrepr) the server needs.
//!
//! Everything here is a pure function of its input (or of the process clock / entropy
//! seed), runs synchronously on the single-threaded event loop and never blocks, except
//! that the random generator reads /dev/urandom once on first use. Input from clients,
//! files and peers is treated as hostile: nothing here panics or allocates a size taken
//! from the input. Parsing and formatting follow Redis 7.0.15's C code bit for bit,
//! including its quirks (documented at each function).
//!
//! `long double` (x87 80-bit extended precision, which INCRBYFLOAT and HINCRBYFLOAT use)
//! has no Rust counterpart, so [`LongDouble`] emulates it in software with exact
//! big-integer arithmetic: parsing rounds like glibc's strtold, addition rounds like the
//! x87 FPU, and formatting prints like glibc's `%.17Lf` / `%.17Lg`.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::sha1::{Sha1, DIGEST_LEN};

/// Redis: util.h MAX_LONG_DOUBLE_CHARS — the buffer string2ld copies into; longer
/// inputs are rejected.
pub const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Redis: util.h LONG_STR_SIZE — bytes for a long as text plus the NUL.
pub const LONG_STR_SIZE: usize = 21;

/// C `isspace` in the "C" locale (Redis never changes LC_CTYPE).
pub fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// C `isprint` in the "C" locale.
fn is_c_print(c: u8) -> bool {
    (0x20..0x7f).contains(&c)
}

/// Bytes up to (not including) the first NUL: what a C function sees of a C string.
fn c_str(s: &[u8]) -> &[u8] {
    match memchr::memchr(0, s) {
        Some(n) => &s[..n],
        None => s,
    }
}

// ---------------------------------------------------------------------------
// Integers
// ---------------------------------------------------------------------------

const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Redis: util.c digits10()
/// Number of decimal digits of `v`.
pub fn digits10(v: u64) -> u32 {
    v.checked_ilog10().map_or(1, |d| d + 1)
}

/// Redis: util.c sdigits10()
/// Like digits10, counting the '-' of negative values.
pub fn sdigits10(v: i64) -> u32 {
    digits10(v.unsigned_abs()) + u32::from(v < 0)
}

/// A formatted integer living on the stack (at most 20 bytes: u64::MAX or i64::MIN).
#[derive(Clone, Copy)]
pub struct IntBuf {
    buf: [u8; 20],
    start: u8,
}

impl IntBuf {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[usize::from(self.start)..]
    }

    pub fn len(&self) -> usize {
        self.buf.len() - usize::from(self.start)
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Writes the digits of `v` right-aligned into `buf`, two at a time; returns the start.
fn format_u64_digits(buf: &mut [u8; 20], mut v: u64) -> usize {
    let mut pos = buf.len();
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v < 10 {
        pos -= 1;
        buf[pos] = b'0' + v as u8;
    } else {
        let pair = v as usize * 2;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    pos
}

/// Redis: util.c ull2string()
/// Decimal text of an unsigned 64-bit value.
pub fn ull2string(v: u64) -> IntBuf {
    let mut buf = [0u8; 20];
    let start = format_u64_digits(&mut buf, v);
    IntBuf {
        buf,
        start: start as u8,
    }
}

/// Redis: util.c ll2string()
/// Decimal text of a signed 64-bit value (i64::MIN included).
pub fn ll2string(v: i64) -> IntBuf {
    let mut buf = [0u8; 20];
    let mut start = format_u64_digits(&mut buf, v.unsigned_abs());
    if v < 0 {
        // |i64::MIN| has 19 digits, so there is always room for the sign.
        start -= 1;
        buf[start] = b'-';
    }
    IntBuf {
        buf,
        start: start as u8,
    }
}

/// Appends the decimal text of `v` (reply hot path: no allocation besides `out`'s).
pub fn write_ll(out: &mut Vec<u8>, v: i64) {
    out.extend_from_slice(ll2string(v).as_bytes());
}

/// Appends the decimal text of `v`.
pub fn write_ull(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(ull2string(v).as_bytes());
}

/// Redis: util.c string2ll()
/// Strict integer parse: optional '-', no '+', no spaces, no leading zeros
/// ("0" is fine, "-0" and "01" are not), no overflow.
pub fn string2ll(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() >= LONG_STR_SIZE {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if negative {
        0i64.checked_sub_unsigned(v)
    } else {
        i64::try_from(v).ok()
    }
}

/// Redis: util.c string2l()
/// Same as string2ll: `long` is 64 bits on the platforms Redis targets.
pub fn string2l(s: &[u8]) -> Option<i64> {
    string2ll(s)
}

/// Redis: util.c string2ull()
/// Tries string2ll (rejecting negatives), then falls back to strtoull's looser grammar:
/// leading whitespace, '+' or '-' sign, leading zeros; "-N" wraps like strtoull does.
pub fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = string2ll(s) {
        return u64::try_from(v).ok();
    }
    strtoull_whole(s)
}

/// C strtoull(s, &end, 10) that must consume the whole (non-empty) string and not
/// overflow.
fn strtoull_whole(s: &[u8]) -> Option<u64> {
    let start = s.iter().position(|&c| !is_c_space(c)).unwrap_or(s.len());
    let rest = &s[start..];
    let (negative, digits) = match rest.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, rest),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    Some(if negative { v.wrapping_neg() } else { v })
}

/// C `strcasecmp(a, b) == 0` on byte strings (ASCII case folding only).
pub fn str_eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Redis: `!strcasecmp(arg, lit)`: `arg` up to its first NUL equals `lit` (which holds no
/// NUL), ignoring ASCII case. Looks at `lit.len() + 1` bytes at most instead of scanning
/// the whole argument for a NUL first: option parsing (ZADD's NX/XX/CH ...) runs on every
/// command.
pub fn c_str_eq_ignore_case(arg: &[u8], lit: &[u8]) -> bool {
    match arg.get(..lit.len()) {
        Some(head) => head.eq_ignore_ascii_case(lit) && arg.get(lit.len()).is_none_or(|&b| b == 0),
        None => false,
    }
}

/// Redis: util.c yesnotoi()
/// "yes" -> Some(true), "no" -> Some(false), case-insensitive; anything else None.
pub fn yesnotoi(s: &[u8]) -> Option<bool> {
    if s.eq_ignore_ascii_case(b"yes") {
        Some(true)
    } else if s.eq_ignore_ascii_case(b"no") {
        Some(false)
    } else {
        None
    }
}

/// Redis: util.c memtoull()
/// Memory amount with an optional unit: b, k (1000), kb (1024), m, mb, g, gb —
/// case-insensitive. Rejects a leading '-'. Like Redis, an empty number counts as 0,
/// an overflowing number saturates (strtoull) and the unit multiply wraps.
#[allow(clippy::result_unit_err)]
pub fn memtoull(s: &[u8]) -> Result<u64, ()> {
    let s = c_str(s);
    if s.first() == Some(&b'-') {
        return Err(());
    }
    let digits_end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    let mul: u64 = match unit.to_ascii_lowercase().as_slice() {
        b"" | b"b" => 1,
        b"k" => 1000,
        b"kb" => 1024,
        b"m" => 1000 * 1000,
        b"mb" => 1024 * 1024,
        b"g" => 1000 * 1000 * 1000,
        b"gb" => 1024 * 1024 * 1024,
        _ => return Err(()),
    };
    if digits.len() >= 128 {
        return Err(());
    }
    let val = digits.iter().fold(0u64, |acc, &c| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .unwrap_or(u64::MAX)
    });
    Ok(val.wrapping_mul(mul))
}

/// memtoull's result as the `long long` config.c stores it (values above i64::MAX
/// wrap to negative, exactly as the C assignment does).
#[allow(clippy::result_unit_err)]
pub fn memtoll(s: &[u8]) -> Result<i64, ()> {
    memtoull(s).map(|v| v as i64)
}

// ---------------------------------------------------------------------------
// Doubles
// ---------------------------------------------------------------------------

/// Redis: util.c string2d() (and object.c getDoubleFromObject(), same rules)
/// strtod over the whole string: no leading whitespace, nothing left over, no NaN,
/// no overflow to ±HUGE_VAL and no underflow to zero. "inf", "-inf", "+inf",
/// "infinity", hex floats ("0x1p3") and denormals are accepted, as strtod does.
pub fn string2d(s: &[u8]) -> Option<f64> {
    let first = *s.first()?;
    if is_c_space(first) {
        return None;
    }
    if let Some(v) = small_decimal_integer(s) {
        return Some(v);
    }
    let (value, consumed, erange) = c_strtod(s)?;
    let overflow_or_underflow = erange && (value.is_infinite() || value == 0.0);
    if consumed != s.len() || overflow_or_underflow || value.is_nan() {
        return None;
    }
    Some(value)
}

/// `[-]digits` with at most 15 digits (leading zeros allowed), the usual score: below 2^53,
/// so the conversion is exact and equals strtod's, without a C call and a copy. "-0" gives
/// -0.0, as strtod does.
fn small_decimal_integer(s: &[u8]) -> Option<f64> {
    let (negative, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')) as f64;
    Some(if negative { -v } else { v })
}

/// C `strtod(s, NULL)` with `s` read as a C string: the value of its longest numeric prefix
/// (after blanks), 0 when it has none (Redis: the call in t_zset.c zzlStrtod()).
pub fn strtod_prefix(s: &[u8]) -> f64 {
    c_strtod(s).map_or(0.0, |(value, _, _)| value)
}

/// Calls libc strtod on a NUL-terminated copy; returns (value, bytes consumed, ERANGE).
fn c_strtod(s: &[u8]) -> Option<(f64, usize, bool)> {
    let mut stack = [0u8; 64];
    let heap;
    let buf: &[u8] = if s.len() < stack.len() {
        stack[..s.len()].copy_from_slice(s);
        &stack[..=s.len()]
    } else {
        let mut v = Vec::new();
        v.try_reserve_exact(s.len() + 1).ok()?;
        v.extend_from_slice(s);
        v.push(0);
        heap = v;
        &heap
    };
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod only reads up to the
    // NUL and stores a pointer into `buf` (or its start) in `end`. errno is thread-local.
    let (value, erange) = unsafe {
        *libc::__errno_location() = 0;
        let value = libc::strtod(buf.as_ptr().cast(), &mut end);
        (value, *libc::__errno_location() == libc::ERANGE)
    };
    let consumed = (end as usize).checked_sub(buf.as_ptr() as usize)?;
    Some((value, consumed, erange))
}

/// Redis: util.c double2ll()
/// The integer equal to `d` when |d| <= 2^62 and d has no fractional part.
pub fn double2ll(d: f64) -> Option<i64> {
    let limit = (i64::MAX / 2) as f64;
    if d.is_nan() || d < -limit || d > limit {
        return None;
    }
    let ll = d as i64;
    (ll as f64 == d).then_some(ll)
}

/// Redis: util.c d2string()
/// Double as stored in listpacks / AOF: "nan", "inf", "-inf", integral values in
/// ±2^62 as plain integers (so -0.0 gives "0"), everything else "%.17g".
pub fn d2string(out: &mut Vec<u8>, value: f64) {
    if value.is_nan() {
        out.extend_from_slice(b"nan");
    } else if value.is_infinite() {
        out.extend_from_slice(if value < 0.0 { b"-inf" } else { b"inf" });
    } else if let Some(ll) = double2ll(value) {
        write_ll(out, ll);
    } else {
        write_double_g17(out, value);
    }
}

/// A fixed stack buffer for `write!` (avoids a heap String per formatted double).
/// Where the number formatters write: a growing `Vec`, or a [`DoubleBuf`] on the stack.
pub trait ByteOut {
    fn put(&mut self, bytes: &[u8]);
}

impl ByteOut for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// Text of one number on the stack (40 bytes: %.17g needs at most 24); what does not fit
/// is dropped, which the formatters' bounded output never causes.
pub struct DoubleBuf {
    buf: [u8; 40],
    len: usize,
}

impl DoubleBuf {
    fn new() -> DoubleBuf {
        DoubleBuf { buf: [0; 40], len: 0 }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }
}

impl ByteOut for DoubleBuf {
    fn put(&mut self, bytes: &[u8]) {
        let end = (self.len + bytes.len()).min(self.buf.len());
        let n = end - self.len;
        if let (Some(dst), Some(src)) = (self.buf.get_mut(self.len..end), bytes.get(..n)) {
            dst.copy_from_slice(src);
            self.len = end;
        }
    }
}

impl std::fmt::Write for DoubleBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len.checked_add(s.len()).ok_or(std::fmt::Error)?;
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `printf("%.17g", value)` on the stack: the text of addReplyDouble() without an allocation.
pub fn d2string_g17(value: f64) -> DoubleBuf {
    let mut out = DoubleBuf::new();
    write_double_g17(&mut out, value);
    out
}

/// C `printf("%.17g", value)` exactly as glibc prints it (addReplyDouble in RESP2/3).
pub fn write_double_g17<O: ByteOut>(out: &mut O, value: f64) {
    let negative = value.is_sign_negative();
    if value.is_nan() {
        out.put(if negative { b"-nan" } else { b"nan" });
        return;
    }
    if value.is_infinite() || value == 0.0 {
        if negative {
            out.put(&[b'-']);
        }
        out.put(if value == 0.0 { b"0" } else { b"inf" });
        return;
    }
    // An integral value below 2^53 has at most 16 digits, so %.17g prints exactly its
    // integer digits (the usual sorted-set score) without the exact decimal expansion.
    if value == value.trunc() && value.abs() < 9_007_199_254_740_992.0 {
        if negative {
            out.put(&[b'-']);
        }
        out.put(ull2string(value.abs() as u64).as_bytes());
        return;
    }
    // Rust's exact `{:.16e}` gives the 17 correctly rounded (ties-to-even) significant
    // digits glibc uses; only the %g layout is left to do.
    let mut w = DoubleBuf::new();
    if write!(w, "{:.16e}", value.abs()).is_err() {
        return;
    }
    let text = w.as_bytes();
    let Some(e_pos) = text.iter().position(|&c| c == b'e') else {
        return;
    };
    let mut digits = [0u8; 17];
    let mantissa = text[..e_pos].iter().filter(|c| c.is_ascii_digit());
    for (d, &c) in digits.iter_mut().zip(mantissa) {
        *d = c;
    }
    let exp = std::str::from_utf8(&text[e_pos + 1..])
        .ok()
        .and_then(|e| e.parse::<i32>().ok())
        .unwrap_or(0);
    format_g(out, negative, &digits, exp);
}

/// Lays out 17 significant digits (`d.dddd × 10^exp`) the way C's %.17g does: plain
/// notation when -4 <= exp < 17, else d.ddde±XX; trailing zeros removed.
fn format_g<O: ByteOut>(out: &mut O, negative: bool, digits: &[u8; 17], exp: i32) {
    if negative {
        out.put(&[b'-']);
    }
    let significant = digits.len() - digits.iter().rev().take_while(|&&c| c == b'0').count();
    let significant = significant.max(1);
    if !(-4..17).contains(&exp) {
        out.put(&[digits[0]]);
        if significant > 1 {
            out.put(&[b'.']);
            out.put(&digits[1..significant]);
        }
        out.put(&[b'e']);
        out.put(&[if exp < 0 { b'-' } else { b'+' }]);
        let abs = exp.unsigned_abs();
        if abs < 10 {
            out.put(&[b'0']);
        }
        out.put(ull2string(u64::from(abs)).as_bytes());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        out.put(&digits[..int_len]);
        if significant > int_len {
            out.put(&[b'.']);
            out.put(&digits[int_len..significant]);
        }
    } else {
        out.put(b"0.");
        for _ in 0..(-exp - 1) {
            out.put(b"0");
        }
        out.put(&digits[..significant]);
    }
}

// ---------------------------------------------------------------------------
// Big unsigned integers (only what exact long double arithmetic needs)
// ---------------------------------------------------------------------------

/// Little-endian u32 limbs without high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BigUint {
    limbs: Vec<u32>,
}

impl BigUint {
    fn from_u128(mut v: u128) -> Self {
        let mut limbs = Vec::with_capacity(4);
        while v != 0 {
            limbs.push(v as u32);
            v >>= 32;
        }
        BigUint { limbs }
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(top) => self.limbs.len() as u64 * 32 - u64::from(top.leading_zeros()),
        }
    }

    fn bit(&self, i: u64) -> bool {
        let limb = usize::try_from(i / 32).ok().and_then(|n| self.limbs.get(n));
        limb.is_some_and(|l| (l >> (i % 32)) & 1 == 1)
    }

    /// Whether any of bits 0..i is set.
    fn any_bit_below(&self, i: u64) -> bool {
        let full = usize::try_from(i / 32)
            .unwrap_or(usize::MAX)
            .min(self.limbs.len());
        if self.limbs[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = (i % 32) as u32;
        rem != 0
            && self
                .limbs
                .get(full)
                .is_some_and(|&l| l & ((1u32 << rem) - 1) != 0)
    }

    fn to_u128(&self) -> Option<u128> {
        if self.limbs.len() > 4 {
            return None;
        }
        Some(
            self.limbs
                .iter()
                .rev()
                .fold(0u128, |acc, &l| (acc << 32) | u128::from(l)),
        )
    }

    /// The low 128 bits of `self >> shift`.
    fn shr_u128(&self, shift: u64) -> u128 {
        let shifted = self.shifted_right(shift);
        let low = &shifted.limbs[..shifted.limbs.len().min(4)];
        low.iter()
            .rev()
            .fold(0u128, |acc, &l| (acc << 32) | u128::from(l))
    }

    fn shifted_left(&self, n: u64) -> Self {
        if self.is_zero() {
            return self.clone();
        }
        let limb_shift = (n / 32) as usize;
        let bit_shift = (n % 32) as u32;
        let mut limbs = vec![0u32; limb_shift];
        limbs.reserve(self.limbs.len() + 1);
        let mut carry = 0u32;
        for &l in &self.limbs {
            let wide = (u64::from(l) << bit_shift) | u64::from(carry);
            limbs.push(wide as u32);
            carry = (wide >> 32) as u32;
        }
        limbs.push(carry);
        let mut r = BigUint { limbs };
        r.trim();
        r
    }

    fn shifted_right(&self, n: u64) -> Self {
        let limb_shift = usize::try_from(n / 32).unwrap_or(usize::MAX);
        if limb_shift >= self.limbs.len() {
            return BigUint { limbs: Vec::new() };
        }
        let bit_shift = (n % 32) as u32;
        let src = &self.limbs[limb_shift..];
        let mut limbs = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let next = src.get(i + 1).copied().unwrap_or(0);
            let wide = (u64::from(next) << 32) | u64::from(l);
            limbs.push((wide >> bit_shift) as u32);
        }
        let mut r = BigUint { limbs };
        r.trim();
        r
    }

    /// self mod 2^n.
    fn low_bits(&self, n: u64) -> Self {
        let keep = usize::try_from(n.div_ceil(32))
            .unwrap_or(usize::MAX)
            .min(self.limbs.len());
        let mut limbs = self.limbs[..keep].to_vec();
        let rem = (n % 32) as u32;
        if rem != 0 && keep as u64 == n.div_ceil(32) {
            if let Some(top) = limbs.last_mut() {
                *top &= (1u32 << rem) - 1;
            }
        }
        let mut r = BigUint { limbs };
        r.trim();
        r
    }

    fn mul_small_add(&mut self, m: u32, add: u32) {
        let mut carry = u64::from(add);
        for l in self.limbs.iter_mut() {
            let wide = u64::from(*l) * u64::from(m) + carry;
            *l = wide as u32;
            carry = wide >> 32;
        }
        if carry != 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    fn mul_pow(&mut self, base: u32, mut k: u64) {
        // Largest power of `base` (5 or 10) that fits in a u32 limb multiplier.
        let (chunk, chunk_exp) = if base == 5 {
            (5u32.pow(13), 13)
        } else {
            (10u32.pow(9), 9)
        };
        while k >= chunk_exp {
            self.mul_small_add(chunk, 0);
            k -= chunk_exp;
        }
        self.mul_small_add(base.pow(k as u32), 0);
    }

    fn plus(&self, other: &Self) -> Self {
        let (long, short) = if self.limbs.len() >= other.limbs.len() {
            (self, other)
        } else {
            (other, self)
        };
        let mut limbs = Vec::with_capacity(long.limbs.len() + 1);
        let mut carry = 0u64;
        for (i, &l) in long.limbs.iter().enumerate() {
            let wide = u64::from(l) + u64::from(short.limbs.get(i).copied().unwrap_or(0)) + carry;
            limbs.push(wide as u32);
            carry = wide >> 32;
        }
        limbs.push(carry as u32);
        let mut r = BigUint { limbs };
        r.trim();
        r
    }

    /// self -= other; requires self >= other.
    fn sub_assign(&mut self, other: &Self) {
        let mut borrow = 0i64;
        for (i, l) in self.limbs.iter_mut().enumerate() {
            let diff = i64::from(*l) - i64::from(other.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(diff < 0);
            *l = diff.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }

    fn cmp_big(&self, other: &Self) -> Ordering {
        self.limbs
            .len()
            .cmp(&other.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(other.limbs.iter().rev()))
    }

    /// self = self * 2 + bit.
    fn shl1_with(&mut self, bit: bool) {
        let mut carry = u32::from(bit);
        for l in self.limbs.iter_mut() {
            let next = *l >> 31;
            *l = (*l << 1) | carry;
            carry = next;
        }
        if carry != 0 {
            self.limbs.push(carry);
        }
    }

    /// self /= d, returning the remainder.
    fn div_rem_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.limbs.iter_mut().rev() {
            let wide = (rem << 32) | u64::from(*l);
            *l = (wide / u64::from(d)) as u32;
            rem = wide % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    fn write_decimal(&self, out: &mut Vec<u8>) {
        if let Some(v) = self.to_u128() {
            write_u128(out, v);
            return;
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.div_rem_small(1_000_000_000));
        }
        let mut iter = chunks.iter().rev();
        if let Some(first) = iter.next() {
            write_ull(out, u64::from(*first));
        }
        for chunk in iter {
            let text = ull2string(u64::from(*chunk));
            out.extend(std::iter::repeat_n(b'0', 9 - text.len()));
            out.extend_from_slice(text.as_bytes());
        }
    }
}

fn write_u128(out: &mut Vec<u8>, v: u128) {
    match u64::try_from(v) {
        Ok(small) => write_ull(out, small),
        Err(_) => {
            const TEN19: u128 = 10_000_000_000_000_000_000;
            write_u128(out, v / TEN19);
            let low = ull2string((v % TEN19) as u64);
            out.extend(std::iter::repeat_n(b'0', 19 - low.len()));
            out.extend_from_slice(low.as_bytes());
        }
    }
}

/// num / den when the quotient is known to fit in 128 bits: returns (quotient,
/// remainder). Long division only over the quotient's bits, so huge operands stay cheap.
fn div_small_quotient(num: &BigUint, den: &BigUint) -> (u128, BigUint) {
    let q_bits = (num.bit_len() + 1).saturating_sub(den.bit_len()).min(128);
    let mut rem = num.shifted_right(q_bits);
    let mut q = 0u128;
    for i in (0..q_bits).rev() {
        rem.shl1_with(num.bit(i));
        q <<= 1;
        if rem.cmp_big(den) != Ordering::Less {
            rem.sub_assign(den);
            q |= 1;
        }
    }
    (q, rem)
}

// ---------------------------------------------------------------------------
// long double (x87 80-bit extended precision), emulated exactly
// ---------------------------------------------------------------------------

/// Mantissa bits of the x87 extended format (explicit integer bit included).
const LD_MANT_BITS: u64 = 64;
/// Exponent of the least significant bit of the smallest denormal: 2^-16445.
const LD_MIN_LSB_EXP: i64 = -16445;
/// Largest exponent of the most significant bit of a finite value (max < 2^16384).
const LD_MAX_MSB_EXP: i64 = 16383;

/// A C `long double` as x87 hardware holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LongDouble {
    /// (-1)^neg × mant × 2^exp; `mant == 0` is a (signed) zero.
    Finite {
        neg: bool,
        mant: u64,
        exp: i32,
    },
    Infinite {
        neg: bool,
    },
    NaN,
}

impl LongDouble {
    pub const ZERO: LongDouble = LongDouble::Finite {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// `(long double)v`: exact, the mantissa has 64 bits.
    pub fn from_i64(v: i64) -> Self {
        round_to_extended(
            v < 0,
            &BigUint::from_u128(u128::from(v.unsigned_abs())),
            0,
            false,
        )
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, LongDouble::Finite { .. })
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;

    /// `a + b` rounded to nearest-even in 64 mantissa bits, as the x87 FPU does it.
    fn add(self, other: LongDouble) -> LongDouble {
        use LongDouble::*;
        match (self, other) {
            (NaN, _) | (_, NaN) => NaN,
            (Infinite { neg: a }, Infinite { neg: b }) if a != b => NaN,
            (Infinite { neg }, _) | (_, Infinite { neg }) => Infinite { neg },
            (
                Finite {
                    neg: na,
                    mant: ma,
                    exp: ea,
                },
                Finite {
                    neg: nb,
                    mant: mb,
                    exp: eb,
                },
            ) => add_finite((na, ma, ea), (nb, mb, eb)),
        }
    }
}

fn add_finite(a: (bool, u64, i32), b: (bool, u64, i32)) -> LongDouble {
    let ((na, ma, ea), (nb, mb, eb)) = (a, b);
    if ma == 0 && mb == 0 {
        // IEEE: -0 + -0 = -0, any other zero sum is +0 in round-to-nearest.
        return LongDouble::Finite {
            neg: na && nb,
            mant: 0,
            exp: 0,
        };
    }
    if ma == 0 {
        return LongDouble::Finite {
            neg: nb,
            mant: mb,
            exp: eb,
        };
    }
    if mb == 0 {
        return LongDouble::Finite {
            neg: na,
            mant: ma,
            exp: ea,
        };
    }
    let base = ea.min(eb);
    let big_a = BigUint::from_u128(u128::from(ma)).shifted_left((ea - base) as u64);
    let big_b = BigUint::from_u128(u128::from(mb)).shifted_left((eb - base) as u64);
    let (neg, sum) = if na == nb {
        (na, big_a.plus(&big_b))
    } else {
        match big_a.cmp_big(&big_b) {
            Ordering::Equal => return LongDouble::ZERO,
            Ordering::Greater => (na, sub(big_a, &big_b)),
            Ordering::Less => (nb, sub(big_b, &big_a)),
        }
    };
    round_to_extended(neg, &sum, i64::from(base), false)
}

fn sub(mut a: BigUint, b: &BigUint) -> BigUint {
    a.sub_assign(b);
    a
}

/// Rounds (-1)^neg × big × 2^exp (plus `sticky`: some nonzero bits below big's last
/// bit) to the nearest extended value, ties to even, with gradual underflow and
/// overflow to infinity. `sticky` requires big to have more than 65 bits.
fn round_to_extended(neg: bool, big: &BigUint, exp: i64, sticky: bool) -> LongDouble {
    let len = big.bit_len() as i64;
    if len == 0 {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    let shift = (len - LD_MANT_BITS as i64).max(LD_MIN_LSB_EXP.saturating_sub(exp));
    let (mut mant, mut out_exp) = if shift <= 0 {
        let m = big.to_u128().unwrap_or(0) << (-shift).min(127);
        (m as u64, exp + shift)
    } else {
        let ushift = shift as u64;
        let kept = big.shr_u128(ushift) as u64;
        let half = big.bit(ushift - 1);
        let rest = sticky || big.any_bit_below(ushift - 1);
        let round_up = half && (rest || kept & 1 == 1);
        let (m, e) = (
            u128::from(kept) + u128::from(round_up),
            exp.saturating_add(shift),
        );
        if m >> 64 != 0 {
            ((m >> 1) as u64, e + 1)
        } else {
            (m as u64, e)
        }
    };
    if mant == 0 {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    if out_exp + 63 - i64::from(mant.leading_zeros()) > LD_MAX_MSB_EXP {
        return LongDouble::Infinite { neg };
    }
    // Canonical form (top mantissa bit set unless denormal), so that == compares values.
    let normalize = i64::from(mant.leading_zeros())
        .min(out_exp - LD_MIN_LSB_EXP)
        .max(0);
    mant <<= normalize;
    out_exp -= normalize;
    LongDouble::Finite {
        neg,
        mant,
        exp: out_exp as i32,
    }
}

/// A syntactically valid strtold number, before rounding.
enum ParsedNumber {
    Infinity {
        neg: bool,
    },
    /// (-1)^neg × digits × 10^exp10 (decimal) or × 2^exp2 (hex).
    Decimal {
        neg: bool,
        digits: BigUint,
        ndigits: i64,
        exp10: i64,
    },
    Hex {
        neg: bool,
        mantissa: BigUint,
        exp2: i64,
    },
    Zero {
        neg: bool,
    },
}

/// Parses a whole string with C strtold's grammar; None if any byte is left over, or
/// for NaN (Redis rejects it anyway).
fn parse_c_float(s: &[u8]) -> Option<ParsedNumber> {
    let (neg, body) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(ParsedNumber::Infinity { neg });
    }
    if body.len() > 2 && body[0] == b'0' && (body[1] | 0x20) == b'x' {
        if let Some(hex) = parse_hex_body(neg, &body[2..]) {
            return Some(hex);
        }
    }
    parse_decimal_body(neg, body)
}

/// Splits "ddd.ddd" (either side may be empty, not both) at the first byte not part
/// of it; returns (integer digits, fraction digits, rest).
fn split_mantissa(s: &[u8], is_digit: fn(&u8) -> bool) -> Option<(&[u8], &[u8], &[u8])> {
    let int_len = s.iter().take_while(|c| is_digit(c)).count();
    let (int, rest) = s.split_at(int_len);
    let (frac, rest) = match rest.split_first() {
        Some((b'.', after)) => {
            let frac_len = after.iter().take_while(|c| is_digit(c)).count();
            after.split_at(frac_len)
        }
        _ => (&rest[..0], rest),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    Some((int, frac, rest))
}

/// An exponent "[+-]digits" that must be the whole of `s`; saturates far beyond any
/// representable range.
fn parse_exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits.iter().fold(0i64, |acc, &c| {
        (acc * 10 + i64::from(c - b'0')).min(1_000_000_000_000)
    });
    Some(if neg { -v } else { v })
}

fn parse_decimal_body(neg: bool, body: &[u8]) -> Option<ParsedNumber> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_digit)?;
    let exp = match rest.split_first() {
        None => 0,
        Some((b'e' | b'E', e)) => parse_exponent(e)?,
        Some(_) => return None,
    };
    let all = int.iter().chain(frac.iter());
    let leading = all.clone().take_while(|&&c| c == b'0').count();
    let total = int.len() + frac.len();
    if leading == total {
        return Some(ParsedNumber::Zero { neg });
    }
    let trailing = all.clone().rev().take_while(|&&c| c == b'0').count();
    let significant = all.skip(leading).take(total - leading - trailing);
    let significant: Vec<u8> = significant.copied().collect();
    let digits = big_from_digits(&significant, 10, 9);
    let ndigits = significant.len() as i64;
    let exp10 = exp - frac.len() as i64 + trailing as i64;
    Some(ParsedNumber::Decimal {
        neg,
        digits,
        ndigits,
        exp10,
    })
}

fn parse_hex_body(neg: bool, body: &[u8]) -> Option<ParsedNumber> {
    let (int, frac, rest) = split_mantissa(body, u8::is_ascii_hexdigit)?;
    let exp = match rest.split_first() {
        None => 0,
        Some((b'p' | b'P', e)) => parse_exponent(e)?,
        Some(_) => return None,
    };
    let all: Vec<u8> = int.iter().chain(frac.iter()).copied().collect();
    let mantissa = big_from_digits(&all, 16, 7);
    if mantissa.is_zero() {
        return Some(ParsedNumber::Zero { neg });
    }
    Some(ParsedNumber::Hex {
        neg,
        mantissa,
        exp2: exp - 4 * frac.len() as i64,
    })
}

/// The integer written by ASCII `digits` in `radix`, consumed `chunk` digits per
/// limb multiplication (radix^chunk must fit in a u32).
fn big_from_digits(digits: &[u8], radix: u32, chunk: usize) -> BigUint {
    let mut big = BigUint { limbs: Vec::new() };
    for group in digits.chunks(chunk) {
        let value = group.iter().fold(0u32, |acc, &c| {
            acc * radix + (c as char).to_digit(radix).unwrap_or(0)
        });
        big.mul_small_add(radix.pow(group.len() as u32), value);
    }
    big
}

/// Correctly rounded digits × 10^exp10 (digits nonzero, `ndigits` decimal digits).
fn decimal_to_extended(neg: bool, digits: &BigUint, ndigits: i64, exp10: i64) -> LongDouble {
    // LDBL_MAX ~ 1.19e4932; half the smallest denormal ~ 1.8e-4951.
    if ndigits - 1 + exp10 > 4933 {
        return LongDouble::Infinite { neg };
    }
    if ndigits + exp10 < -4952 {
        return LongDouble::Finite {
            neg,
            mant: 0,
            exp: 0,
        };
    }
    if exp10 >= 0 {
        // digits × 10^k = (digits × 5^k) × 2^k
        let mut big = digits.clone();
        big.mul_pow(5, exp10 as u64);
        return round_to_extended(neg, &big, exp10, false);
    }
    // digits / 10^k = (digits / 5^k) × 2^-k, with the quotient scaled to 66..67 bits so
    // that rounding sees 64 bits, the round bit and a sticky bit.
    let mut den = BigUint::from_u128(1);
    den.mul_pow(5, exp10.unsigned_abs());
    let shift = den.bit_len() as i64 + 66 - digits.bit_len() as i64;
    let (num, den) = if shift >= 0 {
        (digits.shifted_left(shift as u64), den)
    } else {
        (digits.clone(), den.shifted_left(shift.unsigned_abs()))
    };
    let (q, rem) = div_small_quotient(&num, &den);
    round_to_extended(neg, &BigUint::from_u128(q), exp10 - shift, !rem.is_zero())
}

/// Redis: util.c string2ld()
/// strtold over the whole string with string2d's rules: no leading space, nothing
/// left over, no NaN, no overflow to infinity, no underflow to zero; "inf" is fine.
/// Inputs of MAX_LONG_DOUBLE_CHARS bytes or more are rejected like Redis does.
pub fn string2ld(s: &[u8]) -> Option<LongDouble> {
    if s.is_empty() || s.len() >= MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    let value = match parse_c_float(s)? {
        ParsedNumber::Infinity { neg } => return Some(LongDouble::Infinite { neg }),
        ParsedNumber::Zero { neg } => {
            return Some(LongDouble::Finite {
                neg,
                mant: 0,
                exp: 0,
            })
        }
        ParsedNumber::Decimal {
            neg,
            digits,
            ndigits,
            exp10,
        } => decimal_to_extended(neg, &digits, ndigits, exp10),
        ParsedNumber::Hex {
            neg,
            mantissa,
            exp2,
        } => round_to_extended(neg, &mantissa, exp2, false),
    };
    match value {
        // The input was a nonzero finite number: infinity is overflow, zero underflow.
        LongDouble::Finite { mant: 0, .. } | LongDouble::Infinite { .. } | LongDouble::NaN => None,
        finite => Some(finite),
    }
}

/// Redis: util.h ld2string_mode (LD_STR_HEX, used only for module RDB, is not needed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LdStrMode {
    /// "%.17Lg"
    Auto,
    /// "%.17Lf" with trailing zeros (and a trailing '.') removed; "-0" becomes "0".
    Human,
}

/// Redis: util.c ld2string()
/// Formats a long double; infinities print as "inf"/"-inf". NaN (which Redis never
/// formats: callers reject it first) prints "nan".
pub fn ld2string(out: &mut Vec<u8>, value: LongDouble, mode: LdStrMode) {
    let (neg, mant, exp) = match value {
        LongDouble::NaN => return out.extend_from_slice(b"nan"),
        LongDouble::Infinite { neg } => {
            return out.extend_from_slice(if neg { b"-inf" } else { b"inf" });
        }
        LongDouble::Finite { neg, mant, exp } => (neg, mant, exp),
    };
    match mode {
        LdStrMode::Human => {
            let start = out.len();
            write_fixed17(out, neg, mant, exp);
            trim_human(out, start);
        }
        LdStrMode::Auto => write_ld_g17(out, neg, mant, exp),
    }
}

/// LD_STR_HUMAN post-processing of the "%.17Lf" text written from `start`.
fn trim_human(out: &mut Vec<u8>, start: usize) {
    // %.17Lf always prints a '.', so trailing zeros are always fractional.
    while out.len() > start && out.last() == Some(&b'0') {
        out.pop();
    }
    if out.last() == Some(&b'.') {
        out.pop();
    }
    if &out[start..] == b"-0" {
        out.truncate(start);
        out.push(b'0');
    }
}

const TEN17: u128 = 100_000_000_000_000_000;

/// glibc `printf("%.17Lf")` of (-1)^neg × mant × 2^exp: exact digits, ties to even.
fn write_fixed17(out: &mut Vec<u8>, neg: bool, mant: u64, exp: i32) {
    if neg {
        out.push(b'-');
    }
    let (int_part, frac17) = if exp >= 0 {
        (
            BigUint::from_u128(u128::from(mant)).shifted_left(exp as u64),
            0u128,
        )
    } else {
        split_fraction(mant, u64::from(exp.unsigned_abs()))
    };
    int_part.write_decimal(out);
    out.push(b'.');
    let frac = ull2string(frac17 as u64);
    out.extend(std::iter::repeat_n(b'0', 17 - frac.len()));
    out.extend_from_slice(frac.as_bytes());
}

/// mant / 2^k as (integer part, 17 fractional decimal digits rounded half-to-even).
fn split_fraction(mant: u64, k: u64) -> (BigUint, u128) {
    let big = BigUint::from_u128(u128::from(mant));
    let mut int_part = big.shifted_right(k);
    let mut scaled = big.low_bits(k);
    scaled.mul_pow(10, 17);
    let mut q = scaled.shifted_right(k).to_u128().unwrap_or(0);
    let half_bit = scaled.bit(k - 1);
    let below_half = scaled.any_bit_below(k - 1);
    if half_bit && (below_half || q & 1 == 1) {
        q += 1;
    }
    if q == TEN17 {
        q = 0;
        int_part = int_part.plus(&BigUint::from_u128(1));
    }
    (int_part, q)
}

/// glibc `printf("%.17Lg")` of a finite long double.
fn write_ld_g17(out: &mut Vec<u8>, neg: bool, mant: u64, exp: i32) {
    if mant == 0 {
        out.extend_from_slice(if neg { b"-0" } else { b"0" });
        return;
    }
    let (q, exp10) = round_to_17_digits(mant, exp);
    let mut digits = [0u8; 17];
    digits.copy_from_slice(ull2string(q as u64).as_bytes());
    format_g(out, neg, &digits, exp10);
}

/// mant × 2^exp as q × 10^(exp10 - 16) with 10^16 <= q < 10^17, rounded half-to-even.
fn round_to_17_digits(mant: u64, exp: i32) -> (u128, i32) {
    let estimate = (mant as f64).log10() + f64::from(exp) * std::f64::consts::LOG10_2;
    let mut exp10 = estimate.floor() as i32;
    loop {
        let scale = 16 - exp10;
        let mut num = BigUint::from_u128(u128::from(mant));
        let mut den = BigUint::from_u128(1);
        if exp >= 0 {
            num = num.shifted_left(exp as u64);
        } else {
            den = den.shifted_left(u64::from(exp.unsigned_abs()));
        }
        if scale >= 0 {
            num.mul_pow(10, scale as u64);
        } else {
            den.mul_pow(10, u64::from(scale.unsigned_abs()));
        }
        let (mut q, rem) = div_small_quotient(&num, &den);
        if q < TEN17 / 10 {
            exp10 -= 1;
            continue;
        }
        if q >= TEN17 {
            exp10 += 1;
            continue;
        }
        match rem.shifted_left(1).cmp_big(&den) {
            Ordering::Greater => q += 1,
            Ordering::Equal if q & 1 == 1 => q += 1,
            _ => {}
        }
        if q == TEN17 {
            return (TEN17 / 10, exp10 + 1);
        }
        return (q, exp10);
    }
}

/// Why INCRBYFLOAT / HINCRBYFLOAT refused; `message()` is the error text after "ERR ".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatIncrError {
    /// Either operand of INCRBYFLOAT, or HINCRBYFLOAT's increment, is not a float.
    NotAValidFloat,
    /// HINCRBYFLOAT: the field's current value is not a float.
    HashValueNotFloat,
    /// HINCRBYFLOAT: the increment itself is infinite.
    IncrNotFinite,
    /// The sum is infinite or NaN.
    WouldProduceNanOrInfinity,
}

impl FloatIncrError {
    pub fn message(self) -> &'static str {
        match self {
            FloatIncrError::NotAValidFloat => "value is not a valid float",
            FloatIncrError::HashValueNotFloat => "hash value is not a float",
            FloatIncrError::IncrNotFinite => "value is NaN or Infinity",
            FloatIncrError::WouldProduceNanOrInfinity => "increment would produce NaN or Infinity",
        }
    }
}

fn human_string(value: LongDouble) -> Result<Vec<u8>, FloatIncrError> {
    if !value.is_finite() {
        return Err(FloatIncrError::WouldProduceNanOrInfinity);
    }
    let mut out = Vec::new();
    ld2string(&mut out, value, LdStrMode::Human);
    Ok(out)
}

/// Redis: t_string.c incrbyfloatCommand() arithmetic
/// Returns the new value's text (what is stored, replied and propagated). Pass b"0"
/// when the key does not exist. Checks in Redis's order: current, increment, sum.
pub fn incr_float_string(current: &[u8], incr: &[u8]) -> Result<Vec<u8>, FloatIncrError> {
    let value = string2ld(current).ok_or(FloatIncrError::NotAValidFloat)?;
    let incr = string2ld(incr).ok_or(FloatIncrError::NotAValidFloat)?;
    human_string(value + incr)
}

/// Redis: t_hash.c hincrbyfloatCommand() arithmetic
/// Like incr_float_string with HINCRBYFLOAT's order and messages: the increment is
/// checked first (and must be finite), then the field's value (None: field missing).
pub fn hincr_float_string(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatIncrError> {
    let incr = string2ld(incr).ok_or(FloatIncrError::NotAValidFloat)?;
    if !incr.is_finite() {
        return Err(FloatIncrError::IncrNotFinite);
    }
    let value = match current {
        None => LongDouble::ZERO,
        Some(text) => string2ld(text).ok_or(FloatIncrError::HashValueNotFloat)?,
    };
    human_string(value + incr)
}

// ---------------------------------------------------------------------------
// Glob-style matching
// ---------------------------------------------------------------------------

/// Redis's recursion guard for patterns like "*a*a*a*...".
const MAX_GLOB_NESTING: u32 = 1000;

/// Pattern byte at `i`, or the C string terminator past the end.
fn byte_at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// C `tolower` in the C locale on a (signed) char promoted to int.
fn c_tolower(c: i32) -> i32 {
    if (i32::from(b'A')..=i32::from(b'Z')).contains(&c) {
        c + 32
    } else {
        c
    }
}

fn glob_byte_eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

/// Redis: util.c stringmatchlen()
/// Glob match of the whole of `s`: `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes.
/// Quirks kept from Redis 7.0.15: an empty string matches no pattern (not even "*"),
/// an unterminated '[' class ends at the pattern's last byte, ranges compare signed
/// chars and may be written backwards ("[z-a]"), and matching gives up (no match)
/// past 1000 nested '*'.
pub fn string_match_len(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer_matches = false;
    glob_match(pattern, s, nocase, &mut skip_longer_matches, 0)
}

/// Alias named after Redis's stringmatch() (which takes C strings).
pub fn string_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    string_match_len(pattern, s, nocase)
}

/// Redis: util.c stringmatchlen_impl()
/// `skip_longer` is set once the rest of a pattern after a '*' matched nowhere in the
/// remaining string: then no earlier '*' can help either, which keeps it polynomial.
fn glob_match(pat: &[u8], s: &[u8], nocase: bool, skip_longer: &mut bool, nesting: u32) -> bool {
    if nesting > MAX_GLOB_NESTING {
        return false;
    }
    let (mut p, mut si) = (0usize, 0usize);
    while p < pat.len() && si < s.len() {
        let c = s[si];
        match pat[p] {
            b'*' => return glob_star(pat, p, &s[si..], nocase, skip_longer, nesting),
            b'?' => {}
            b'[' => {
                let (matched, end) = glob_class(pat, p + 1, c, nocase);
                if !matched {
                    return false;
                }
                p = end;
            }
            b'\\' => {
                if pat.len() - p >= 2 {
                    p += 1;
                }
                if !glob_byte_eq(pat[p], c, nocase) {
                    return false;
                }
            }
            literal => {
                if !glob_byte_eq(literal, c, nocase) {
                    return false;
                }
            }
        }
        p += 1;
        si += 1;
        if si == s.len() {
            while byte_at(pat, p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p == pat.len() && si == s.len()
}

/// The '*' at `pat[p]`, with `s` (non-empty) still to match.
fn glob_star(
    pat: &[u8],
    mut p: usize,
    s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    while byte_at(pat, p + 1) == b'*' {
        p += 1;
    }
    if pat.len() - p == 1 {
        return true;
    }
    for start in 0..s.len() {
        if glob_match(&pat[p + 1..], &s[start..], nocase, skip_longer, nesting + 1) {
            return true;
        }
        if *skip_longer {
            return false;
        }
    }
    *skip_longer = true;
    false
}

/// A `[...]` class whose body starts at `pat[p]`, tested against `c`. Returns whether it
/// matched and the index of its closing ']' (or of the pattern's last byte when the
/// class is unterminated).
fn glob_class(pat: &[u8], mut p: usize, c: u8, nocase: bool) -> (bool, usize) {
    let negate = byte_at(pat, p) == b'^';
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        let remaining = pat.len() - p;
        if byte_at(pat, p) == b'\\' && remaining >= 2 {
            p += 1;
            matched |= pat[p] == c;
        } else if byte_at(pat, p) == b']' {
            break;
        } else if remaining == 0 {
            p -= 1;
            break;
        } else if remaining >= 3 && pat[p + 1] == b'-' {
            matched |= glob_range(pat[p], pat[p + 2], c, nocase);
            p += 2;
        } else {
            matched |= glob_byte_eq(pat[p], c, nocase);
        }
        p += 1;
    }
    (matched != negate, p)
}

/// `[a-z]` test with C semantics: bytes are signed chars, bounds may come in either
/// order (swapped before case folding, as Redis does).
fn glob_range(start: u8, end: u8, c: u8, nocase: bool) -> bool {
    let (mut lo, mut hi, mut c) = (
        i32::from(start as i8),
        i32::from(end as i8),
        i32::from(c as i8),
    );
    if lo > hi {
        std::mem::swap(&mut lo, &mut hi);
    }
    if nocase {
        lo = c_tolower(lo);
        hi = c_tolower(hi);
        c = c_tolower(c);
    }
    (lo..=hi).contains(&c)
}

// ---------------------------------------------------------------------------
// sds.c helpers
// ---------------------------------------------------------------------------

fn hex_digit_value(c: u8) -> u8 {
    (c as char).to_digit(16).unwrap_or(0) as u8
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Double,
    Single,
}

/// Redis: sds.c sdssplitargs()
/// Splits an inline command / config line into arguments: blanks separate them,
/// "double quotes" understand \n \r \t \b \a \xHH and \<any>, 'single quotes' only \'.
/// A closing quote must be followed by a blank or the end. Err on unbalanced quotes.
/// Like the C code, the line ends at its first NUL byte.
#[allow(clippy::result_unit_err)]
pub fn sds_split_args(line: &[u8]) -> Result<Vec<Vec<u8>>, ()> {
    let line = c_str(line);
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_c_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(args);
        }
        let (arg, next) = split_one_arg(line, p)?;
        args.push(arg);
        p = next;
    }
}

/// One argument starting at `line[p]`; returns it and where scanning resumes.
fn split_one_arg(line: &[u8], mut p: usize) -> Result<(Vec<u8>, usize), ()> {
    let mut arg = Vec::new();
    let mut quoting = Quoting::None;
    loop {
        let c = byte_at(line, p);
        let next = byte_at(line, p + 1);
        match quoting {
            Quoting::Double => {
                if c == b'\\'
                    && next == b'x'
                    && byte_at(line, p + 2).is_ascii_hexdigit()
                    && byte_at(line, p + 3).is_ascii_hexdigit()
                {
                    arg.push(hex_digit_value(line[p + 2]) * 16 + hex_digit_value(line[p + 3]));
                    p += 3;
                } else if c == b'\\' && next != 0 {
                    p += 1;
                    arg.push(unescape_double_quoted(next));
                } else if c == b'"' {
                    return closing_quote(line, p, arg);
                } else if c == 0 {
                    return Err(());
                } else {
                    arg.push(c);
                }
            }
            Quoting::Single => {
                if c == b'\\' && next == b'\'' {
                    p += 1;
                    arg.push(b'\'');
                } else if c == b'\'' {
                    return closing_quote(line, p, arg);
                } else if c == 0 {
                    return Err(());
                } else {
                    arg.push(c);
                }
            }
            Quoting::None => match c {
                b' ' | b'\n' | b'\r' | b'\t' => return Ok((arg, p + 1)),
                0 => return Ok((arg, p)),
                b'"' => quoting = Quoting::Double,
                b'\'' => quoting = Quoting::Single,
                _ => arg.push(c),
            },
        }
        p += 1;
    }
}

/// A closing quote at `line[p]` ends the argument only if a blank or the end follows.
fn closing_quote(line: &[u8], p: usize, arg: Vec<u8>) -> Result<(Vec<u8>, usize), ()> {
    let next = byte_at(line, p + 1);
    if next != 0 && !is_c_space(next) {
        return Err(());
    }
    Ok((arg, p + 1))
}

fn unescape_double_quoted(c: u8) -> u8 {
    match c {
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'b' => 0x08,
        b'a' => 0x07,
        other => other,
    }
}

/// Redis: sds.c sdscatrepr()
/// Appends `s` double-quoted with \\ \" \n \r \t \a \b escapes and \xHH (lowercase)
/// for other non-printable bytes — the form sds_split_args reads back.
pub fn sds_cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => out.extend_from_slice(&[b'\\', c]),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            c if is_c_print(c) => out.push(c),
            c => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
        }
    }
    out.push(b'"');
}

// ---------------------------------------------------------------------------
// Random bytes
// ---------------------------------------------------------------------------

/// Seed and counter of the HMAC-SHA1 counter-mode generator.
struct RandomState {
    seed: [u8; 64],
    counter: u64,
    /// False when /dev/urandom could not be read: then, like Redis, reseed every call.
    seeded: bool,
}

thread_local! {
    static RANDOM_STATE: RefCell<RandomState> =
        const { RefCell::new(RandomState { seed: [0; 64], counter: 0, seeded: false }) };
}

fn seed_from_urandom(seed: &mut [u8; 64]) -> bool {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(seed))
        .is_ok()
}

/// Weak fallback seed: wall clock and pid, as Redis does without /dev/urandom.
fn seed_from_clock(seed: &mut [u8; 64]) {
    let mix = (ustime() as u64) ^ (u64::from(std::process::id()) << 32) ^ monotonic_us();
    for (i, b) in seed.iter_mut().enumerate() {
        *b = (mix >> ((i % 8) * 8)) as u8 ^ (i as u8);
    }
}

/// HMAC-SHA1(seed, counter) — one block of generator output.
fn hmac_block(seed: &[u8; 64], counter: u64) -> [u8; DIGEST_LEN] {
    let mut inner_key = *seed;
    inner_key.iter_mut().for_each(|b| *b ^= 0x36);
    let mut inner = Sha1::new();
    inner.update(&inner_key);
    inner.update(&counter.to_le_bytes());
    let inner_digest = inner.finalize();
    let mut outer_key = *seed;
    outer_key.iter_mut().for_each(|b| *b ^= 0x5c);
    let mut outer = Sha1::new();
    outer.update(&outer_key);
    outer.update(&inner_digest);
    outer.finalize()
}

/// One xorshift64* step of the generator whose state is `state`, seeded from
/// get_random_bytes() on first use: the cheap generator of the hot paths where Redis calls
/// rand() or random() (LFU increments, skiplist levels, random picks), for which the HMAC
/// generator below would cost more than the command itself.
pub fn xorshift64star(state: &std::cell::Cell<u64>) -> u64 {
    let mut x = state.get();
    if x == 0 {
        let mut seed = [0u8; 8];
        get_random_bytes(&mut seed);
        x = u64::from_le_bytes(seed) | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.set(x);
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// Redis: util.c getRandomBytes()
/// Fills `buf` from a generator seeded once from /dev/urandom (HMAC in counter mode:
/// unpredictable enough for run ids and cluster node names, not for cryptography).
pub fn get_random_bytes(buf: &mut [u8]) {
    RANDOM_STATE.with(|cell| {
        let mut state = cell.borrow_mut();
        if !state.seeded {
            state.seeded = seed_from_urandom(&mut state.seed);
            if !state.seeded {
                seed_from_clock(&mut state.seed);
            }
        }
        for chunk in buf.chunks_mut(DIGEST_LEN) {
            let block = hmac_block(&state.seed, state.counter);
            state.counter = state.counter.wrapping_add(1);
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
    });
}

/// Redis: util.c getRandomHexChars()
/// `n` random lowercase hex characters (run ids are 40 of them).
pub fn get_random_hex_chars(n: usize) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = vec![0u8; n];
    get_random_bytes(&mut buf);
    buf.iter_mut()
        .for_each(|b| *b = HEX[usize::from(*b & 0x0f)]);
    buf
}

// ---------------------------------------------------------------------------
// Clocks
// ---------------------------------------------------------------------------

/// Redis: server.c ustime()
/// Wall-clock microseconds since the Unix epoch. Read with clock_gettime(2) directly, as
/// gettimeofday() is in Redis: call() reads it for every command, and SystemTime's
/// Duration arithmetic cost three times as many instructions.
pub fn ustime() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_REALTIME always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec.wrapping_mul(1_000_000).wrapping_add(ts.tv_nsec / 1000)
}

/// Redis: server.c mstime()
/// Wall-clock milliseconds since the Unix epoch.
pub fn mstime() -> i64 {
    ustime() / 1000
}

/// Redis: monotonic.c getMonotonicUs()
/// CLOCK_MONOTONIC in microseconds (never goes backwards; unrelated to wall time).
pub fn monotonic_us() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000)
        .wrapping_add(ts.tv_nsec as u64 / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xorshift64star_steps_its_state_and_seeds_a_zero_one() {
        // From state 1: 1 ^ 1 << 25 = 0x2000001, times the xorshift64* multiplier.
        let state = std::cell::Cell::new(1);
        assert_eq!(xorshift64star(&state), 0x47E4_CE4B_896C_DD1D);
        assert_eq!(state.get(), 0x0000_0000_0200_0001 ^ (0x0200_0001 >> 27));
        let fresh = std::cell::Cell::new(0);
        xorshift64star(&fresh);
        assert_ne!(fresh.get(), 0, "seeded from the OS, never stuck at zero");
    }
    use proptest::prelude::*;

    fn s(v: &[u8]) -> String {
        String::from_utf8_lossy(v).into_owned()
    }

    // ---- integers ----

    #[test]
    fn string2ll_accepts_and_rejects_like_redis() {
        let ok: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"99", 99),
            (b"-99", -99),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ];
        for (text, v) in ok {
            assert_eq!(string2ll(text), Some(*v), "{}", s(text));
            assert_eq!(string2l(text), Some(*v));
        }
        let bad: &[&[u8]] = &[
            b"",
            b"-",
            b"+1",
            b" 1",
            b"1 ",
            b"01",
            b"-0",
            b"00",
            b"-01",
            b"1a",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"99999999999999999999999",
            b"1.0",
            b"1e3",
            b"\x001",
            b"1\x00",
        ];
        for text in bad {
            assert_eq!(string2ll(text), None, "{:?}", s(text));
        }
    }

    #[test]
    fn ll2string_and_ull2string_edges() {
        assert_eq!(ll2string(0).as_bytes(), b"0");
        assert_eq!(ll2string(-7).as_bytes(), b"-7");
        assert_eq!(ll2string(10).as_bytes(), b"10");
        assert_eq!(ll2string(-100).as_bytes(), b"-100");
        assert_eq!(ll2string(i64::MIN).as_bytes(), b"-9223372036854775808");
        assert_eq!(ll2string(i64::MAX).as_bytes(), b"9223372036854775807");
        assert_eq!(ull2string(u64::MAX).as_bytes(), b"18446744073709551615");
        assert_eq!(ull2string(u64::MAX).len(), 20);
        let mut out = b"x".to_vec();
        write_ll(&mut out, -12345);
        write_ull(&mut out, 678);
        assert_eq!(out, b"x-12345678");
    }

    #[test]
    fn digits10_counts() {
        assert_eq!(digits10(0), 1);
        assert_eq!(digits10(9), 1);
        assert_eq!(digits10(10), 2);
        assert_eq!(digits10(999_999_999_999), 12);
        assert_eq!(digits10(u64::MAX), 20);
        assert_eq!(sdigits10(-1), 2);
        assert_eq!(sdigits10(i64::MIN), 20);
        assert_eq!(sdigits10(0), 1);
    }

    #[test]
    fn string2ull_uses_strtoull_fallback() {
        assert_eq!(string2ull(b"0"), Some(0));
        assert_eq!(string2ull(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(string2ull(b"18446744073709551616"), None);
        assert_eq!(string2ull(b"-1"), None);
        assert_eq!(string2ull(b"007"), Some(7));
        assert_eq!(string2ull(b"+5"), Some(5));
        assert_eq!(string2ull(b" 12"), Some(12));
        assert_eq!(string2ull(b" -1"), Some(u64::MAX));
        assert_eq!(string2ull(b""), None);
        assert_eq!(string2ull(b"12 "), None);
        assert_eq!(string2ull(b"+"), None);
    }

    proptest! {
        #[test]
        fn string2ll_round_trips_every_i64(v in any::<i64>()) {
            let mut out = Vec::new();
            write_ll(&mut out, v);
            prop_assert_eq!(s(&out), v.to_string());
            prop_assert_eq!(string2ll(&out), Some(v));
        }

        #[test]
        fn ull2string_matches_std(v in any::<u64>()) {
            prop_assert_eq!(s(ull2string(v).as_bytes()), v.to_string());
            prop_assert_eq!(digits10(v) as usize, v.to_string().len());
        }

        #[test]
        fn string2ll_accepts_exactly_canonical_text(text in "[-+0-9 ]{0,21}") {
            let canonical = text.parse::<i64>().ok().filter(|v| v.to_string() == text);
            prop_assert_eq!(string2ll(text.as_bytes()), canonical);
        }
    }

    #[test]
    fn memtoull_units_and_errors() {
        // Outcomes observed with CONFIG SET maxmemory-clients on redis-server 7.0.15.
        assert_eq!(memtoull(b""), Ok(0));
        assert_eq!(memtoull(b"k"), Ok(0));
        assert_eq!(memtoull(b"0b"), Ok(0));
        assert_eq!(memtoull(b"1kb"), Ok(1024));
        assert_eq!(memtoull(b"1KB"), Ok(1024));
        assert_eq!(memtoull(b"10Kb"), Ok(10240));
        assert_eq!(memtoull(b"5k"), Ok(5000));
        assert_eq!(memtoull(b"5m"), Ok(5_000_000));
        assert_eq!(memtoull(b"700mb"), Ok(700 * 1024 * 1024));
        assert_eq!(memtoull(b"1g"), Ok(1_000_000_000));
        assert_eq!(memtoull(b"1gb"), Ok(1_073_741_824));
        assert_eq!(memtoull(b"99999999999999999999"), Ok(u64::MAX));
        assert_eq!(memtoll(b"99999999999999999999"), Ok(-1));
        assert_eq!(memtoll(b"2gb"), Ok(2_147_483_648));
        for bad in [
            &b"-1"[..],
            b"1 ",
            b" 1",
            b"+1",
            b"1.5mb",
            b"1t",
            b"1kbb",
            b"gb1",
        ] {
            assert_eq!(memtoull(bad), Err(()), "{}", s(bad));
        }
        assert_eq!(memtoull(&[b'1'; 128]), Err(()));
        assert_eq!(memtoull(&[b'0'; 127]), Ok(0));
    }

    #[test]
    fn case_insensitive_helpers() {
        assert!(str_eq_ignore_case(b"GET", b"get"));
        assert!(str_eq_ignore_case(b"", b""));
        assert!(!str_eq_ignore_case(b"get", b"gets"));
        assert!(!str_eq_ignore_case(b"\xe9", b"\xc9"));
        assert_eq!(yesnotoi(b"YES"), Some(true));
        assert_eq!(yesnotoi(b"no"), Some(false));
        assert_eq!(yesnotoi(b"y"), None);
    }

    // ---- doubles ----

    #[test]
    fn string2d_follows_strtod_rules() {
        // Accepted / rejected as ZADD did on redis-server 7.0.15.
        assert_eq!(string2d(b"1e17"), Some(1e17));
        assert_eq!(string2d(b"0x10"), Some(16.0));
        assert_eq!(string2d(b"inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(string2d(b"+inf"), Some(f64::INFINITY));
        assert_eq!(string2d(b"Infinity"), Some(f64::INFINITY));
        assert_eq!(string2d(b"+1.5"), Some(1.5));
        assert_eq!(string2d(b"1."), Some(1.0));
        assert_eq!(string2d(b".5"), Some(0.5));
        assert_eq!(string2d(b"1e-310"), Some(1e-310));
        assert!(string2d(b"-0").is_some_and(|v| v == 0.0 && v.is_sign_negative()));
        for bad in [
            &b"1e400"[..],
            b"1e-400",
            b" 1",
            b"1 ",
            b"nan",
            b"-nan",
            b"",
            b"abc",
            b"1e",
            b"1\x00",
            b".",
        ] {
            assert_eq!(string2d(bad), None, "{}", s(bad));
        }
        let long = format!("{}1", "0".repeat(200));
        assert_eq!(string2d(long.as_bytes()), Some(1.0));
    }

    fn d2s(v: f64) -> String {
        let mut out = Vec::new();
        d2string(&mut out, v);
        s(&out)
    }

    fn g17(v: f64) -> String {
        let mut out = Vec::new();
        write_double_g17(&mut out, v);
        s(&out)
    }

    #[test]
    fn d2string_matches_listpack_storage() {
        // Score strings found in DUMP of a listpack zset on redis-server 7.0.15.
        assert_eq!(d2s(1e17), "100000000000000000");
        assert_eq!(d2s(1e18), "1000000000000000000");
        assert_eq!(d2s(4503599627370497.0), "4503599627370497");
        assert_eq!(d2s(0.1), "0.10000000000000001");
        assert_eq!(d2s(2.5), "2.5");
        assert_eq!(d2s(-0.0), "0");
        assert_eq!(d2s(1e300), "1.0000000000000001e+300");
        assert_eq!(d2s(1e-310), "9.9999999999999694e-311");
        assert_eq!(d2s(f64::INFINITY), "inf");
        assert_eq!(d2s(f64::NEG_INFINITY), "-inf");
        assert_eq!(d2s(f64::NAN), "nan");
        assert_eq!(d2s(4611686018427387904.0), "4611686018427387904");
        assert_eq!(d2s(9223372036854775808.0), "9.2233720368547758e+18");
        assert_eq!(double2ll(-4611686018427387904.0), Some(i64::MIN / 2));
        assert_eq!(double2ll(0.5), None);
        assert_eq!(double2ll(f64::NAN), None);
    }

    #[test]
    fn g17_matches_zscore_replies() {
        // ZSCORE replies observed on redis-server 7.0.15 (addReplyDouble uses %.17g).
        assert_eq!(g17(1e17), "1e+17");
        assert_eq!(g17(4503599627370496.0), "4503599627370496");
        assert_eq!(g17(0.1), "0.10000000000000001");
        assert_eq!(g17(3.0), "3");
        assert_eq!(g17(1e300), "1.0000000000000001e+300");
        assert_eq!(g17(16.0), "16");
        assert_eq!(g17(1e-310), "9.9999999999999694e-311");
        assert_eq!(g17(f64::INFINITY), "inf");
        assert_eq!(g17(-0.0), "-0");
        assert_eq!(g17(1e-5), "1.0000000000000001e-05");
        assert_eq!(g17(0.0001), "0.0001");
        assert_eq!(g17(1e16), "10000000000000000");
        assert_eq!(g17(2f64.powi(-25)), "2.9802322387695312e-08");
    }

    fn libc_g17(v: f64) -> String {
        let mut buf = [0u8; 64];
        // SAFETY: the format takes exactly one double; snprintf writes at most buf.len()
        // bytes including the NUL.
        let n = unsafe { libc::snprintf(buf.as_mut_ptr().cast(), buf.len(), c"%.17g".as_ptr(), v) };
        s(&buf[..n as usize])
    }

    proptest! {
        #[test]
        fn g17_equals_glibc_printf(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assert_eq!(g17(v), libc_g17(v));
        }

        #[test]
        fn g17_of_integral_values_equals_glibc_printf(v in -(1i64 << 54)..(1i64 << 54)) {
            // Both sides of the 2^53 bound of the integer fast path.
            prop_assert_eq!(g17(v as f64), libc_g17(v as f64));
        }

        #[test]
        fn string2d_of_decimal_integers_equals_strtod(digits in "-?[0-9]{1,17}") {
            // The fast path (up to 15 digits) and strtod agree, bit for bit (-0 included).
            let fast = string2d(digits.as_bytes()).map(f64::to_bits);
            let slow = c_strtod(digits.as_bytes()).map(|(v, _, _)| v.to_bits());
            prop_assert_eq!(fast, slow);
        }

        #[test]
        fn c_str_eq_ignore_case_is_strcasecmp(arg in proptest::collection::vec(prop_oneof![Just(0u8), Just(b'n'), Just(b'X'), Just(b'x'), any::<u8>()], 0..5)) {
            let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
            for lit in [&b"nx"[..], b"xx", b"", b"incr"] {
                prop_assert_eq!(c_str_eq_ignore_case(&arg, lit), arg[..end].eq_ignore_ascii_case(lit));
            }
        }

        #[test]
        fn g17_equals_glibc_printf_for_short_decimals(m in -100000i64..100000, e in -30i32..30) {
            let v = m as f64 * 10f64.powi(e);
            prop_assert_eq!(g17(v), libc_g17(v));
        }

        #[test]
        fn d2string_output_parses_back(bits in any::<u64>()) {
            let v = f64::from_bits(bits);
            prop_assume!(!v.is_nan());
            let text = d2s(v);
            let back = string2d(text.as_bytes());
            // Denormals under ~2.2e-308 still parse (strtod's ERANGE with nonzero result).
            prop_assert_eq!(back.map(f64::to_bits), Some(if v == 0.0 { 0 } else { v.to_bits() }));
        }
    }

    // ---- long double ----

    #[test]
    fn incrbyfloat_matches_real_redis() {
        // (current value, increment, reply) observed with INCRBYFLOAT on redis-server 7.0.15;
        // "0" stands for a missing key.
        type Case = (
            &'static [u8],
            &'static [u8],
            Result<&'static [u8], FloatIncrError>,
        );
        let cases: &[Case] = &[
            (b"10.5", b"0.1", Ok(&b"10.6"[..])),
            (b"0", b"3.0e3", Ok(&b"3000"[..])),
            (b"1.1", b"2.2", Ok(&b"3.3"[..])),
            (b"0", b"1e-5", Ok(&b"0.00001"[..])),
            (b"1e17", b"1", Ok(&b"100000000000000001"[..])),
            (b"-5", b"2.5", Ok(&b"-2.5"[..])),
            (b"5.0e3", b"0", Ok(&b"5000"[..])),
            (b"0", b"-1e-20", Ok(&b"0"[..])),
            (b"0", b"1e-18", Ok(&b"0"[..])),
            (b"0.1", b"0.2", Ok(&b"0.3"[..])),
            (
                b"1e4932",
                b"1e4932",
                Err(FloatIncrError::WouldProduceNanOrInfinity),
            ),
            (b"0", b"inf", Err(FloatIncrError::WouldProduceNanOrInfinity)),
            (b"abc", b"1", Err(FloatIncrError::NotAValidFloat)),
            (b"3", b"0x10", Ok(&b"19"[..])),
            (b"0", b"1e5000", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"1e-5000", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"  1", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"+1.5", Ok(&b"1.5"[..])),
            (b"0", b"1.", Ok(&b"1"[..])),
            (b"0", b".5", Ok(&b"0.5"[..])),
            (b"0", b"-0", Ok(&b"0"[..])),
            (b"0", b"nan", Err(FloatIncrError::NotAValidFloat)),
            (
                b"9223372036854775807",
                b"1",
                Ok(&b"9223372036854775808"[..]),
            ),
            (b"0.1", b"0", Ok(&b"0.1"[..])),
            (
                b"1.23456789012345678",
                b"0",
                Ok(&b"1.23456789012345678"[..]),
            ),
            (
                b"3.14159265358979323846",
                b"0",
                Ok(&b"3.14159265358979324"[..]),
            ),
            (b"1e-17", b"0", Ok(&b"0.00000000000000001"[..])),
            (b"5e-18", b"0", Ok(&b"0"[..])),
            (
                b"12345678901234567890",
                b"0.5",
                Ok(&b"12345678901234567890"[..]),
            ),
            (b"0", b"1e20", Ok(&b"100000000000000000000"[..])),
            (b"-1.5", b"1.5", Ok(&b"0"[..])),
            (b"0", b"1e", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"", Err(FloatIncrError::NotAValidFloat)),
            (b"123", b"1e2", Ok(&b"223"[..])),
            (
                b"2.5",
                b"-inf",
                Err(FloatIncrError::WouldProduceNanOrInfinity),
            ),
            (
                b"infinity",
                b"1",
                Err(FloatIncrError::WouldProduceNanOrInfinity),
            ),
            (b"0", b"0x1p-16445", Ok(&b"0"[..])),
            (b"0", b"1e-4950", Ok(&b"0"[..])),
            (b"0", b"1e-4940", Ok(&b"0"[..])),
            (b"0", b"0X1.8P1", Ok(&b"3"[..])),
            (b"0", b"1e+3", Ok(&b"1000"[..])),
            (b"0", b"1E3", Ok(&b"1000"[..])),
            (b"0", b".", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"1.5 ", Err(FloatIncrError::NotAValidFloat)),
            (b"0", b"0x", Err(FloatIncrError::NotAValidFloat)),
            (b"1.5", b"-2.5", Ok(&b"-1"[..])),
            (b"0", b"-1e-18", Ok(&b"0"[..])),
            (b"0", b"1e-19", Ok(&b"0"[..])),
            (b"100", b"-100.000000000000000001", Ok(&b"0"[..])),
            (b"0", b"0.1e-300", Ok(&b"0"[..])),
            (
                b"0",
                b"18446744073709551616",
                Ok(&b"18446744073709551616"[..]),
            ),
            (b"0", b"3.0000000000000000001", Ok(&b"3"[..])),
            (b"0", b"2.99999999999999999999", Ok(&b"3"[..])),
            (b"0", b"256.319", Ok(&b"256.31900000000000001"[..])),
        ];
        for (current, incr, expected) in cases {
            let got = incr_float_string(current, incr);
            assert_eq!(
                got.as_deref(),
                expected.as_deref(),
                "{} + {}",
                s(current),
                s(incr)
            );
        }
    }

    #[test]
    fn incrbyfloat_large_values_match_real_redis() {
        // Long replies observed on redis-server 7.0.15: (current, incr, length, SHA1).
        // 1e300 + 1 prints the exact binary value of the 64-bit-mantissa sum.
        let cases: &[(&[u8], &[u8], usize, &str)] = &[
            (
                b"1e300",
                b"1",
                301,
                "8dbb5db3189cfe6e2d2d14897c6a55271efed845",
            ),
            (
                b"1e308",
                b"1e308",
                309,
                "347172c5cfd7ea1ea1d0b5371aeab161e1006135",
            ),
            (
                b"0",
                b"1e300",
                301,
                "8dbb5db3189cfe6e2d2d14897c6a55271efed845",
            ),
            (
                b"0",
                b"1.7976931348623157e308",
                309,
                "00920f2075447aea78698a2bdd3d43a1de093736",
            ),
            (
                b"1e4932",
                b"1e4931",
                4933,
                "a93010a3975c01b4a982010b0e92d8cfe048600f",
            ),
            (
                b"0",
                b"1e4931",
                4932,
                "bb3fa33b52d51addbf7fdedefa81336be2244be0",
            ),
        ];
        for (current, incr, len, digest) in cases {
            let got = incr_float_string(current, incr).expect("finite sum");
            assert_eq!(got.len(), *len, "{} + {}", s(current), s(incr));
            let hex = crate::sha1::digest_to_hex(&crate::sha1::sha1(&got));
            assert_eq!(s(&hex), *digest, "{} + {}", s(current), s(incr));
        }
        let got = incr_float_string(b"1e300", b"1").expect("finite");
        assert!(
            got.starts_with(b"10000000000000000000089973240795591938705239442732907479382600823")
        );
    }

    #[test]
    fn hincrbyfloat_checks_in_redis_order() {
        // Replies observed with HINCRBYFLOAT on redis-server 7.0.15.
        let err = |e: FloatIncrError| Err::<Vec<u8>, _>(e);
        assert_eq!(
            hincr_float_string(Some(b"abc"), b"1"),
            err(FloatIncrError::HashValueNotFloat)
        );
        assert_eq!(
            hincr_float_string(Some(b"abc"), b"x"),
            err(FloatIncrError::NotAValidFloat)
        );
        assert_eq!(
            hincr_float_string(None, b"inf"),
            err(FloatIncrError::IncrNotFinite)
        );
        assert_eq!(
            hincr_float_string(None, b"nan"),
            err(FloatIncrError::NotAValidFloat)
        );
        assert_eq!(
            hincr_float_string(Some(b"1e4932"), b"1e4932"),
            err(FloatIncrError::WouldProduceNanOrInfinity)
        );
        assert_eq!(hincr_float_string(Some(b"5"), b"0.5"), Ok(b"5.5".to_vec()));
        assert_eq!(hincr_float_string(None, b"1"), Ok(b"1".to_vec()));
        assert_eq!(
            FloatIncrError::HashValueNotFloat.message(),
            "hash value is not a float"
        );
        assert_eq!(
            FloatIncrError::IncrNotFinite.message(),
            "value is NaN or Infinity"
        );
    }

    fn ld_auto(text: &[u8]) -> String {
        let mut out = Vec::new();
        ld2string(&mut out, string2ld(text).expect("valid"), LdStrMode::Auto);
        s(&out)
    }

    #[test]
    fn ld2string_auto_matches_glibc_percent_17lg() {
        // Outputs of glibc printf("%.17Lg", strtold(text)).
        assert_eq!(ld_auto(b"0.1"), "0.1");
        assert_eq!(ld_auto(b"1e17"), "1e+17");
        assert_eq!(ld_auto(b"-1e-5"), "-1e-05");
        assert_eq!(ld_auto(b"123.456"), "123.456");
        assert_eq!(ld_auto(b"1e300"), "1e+300");
        assert_eq!(ld_auto(b"0x1p-16445"), "3.6451995318824746e-4951");
        assert_eq!(ld_auto(b"-0"), "-0");
        assert_eq!(ld_auto(b"1e-4950"), "1.0935598595647424e-4950");
        assert_eq!(ld_auto(b"5e-5"), "5e-05");
        assert_eq!(ld_auto(b"12345678901234567890"), "1.2345678901234568e+19");
        assert_eq!(ld_auto(b"1.5e16"), "15000000000000000");
    }

    #[test]
    fn long_double_arithmetic_edges() {
        let one = LongDouble::from_i64(1);
        // 1 + 2^-64 is exactly halfway between 1 and the next long double: ties to even.
        let tiny = string2ld(b"0x1p-64").expect("valid");
        assert_eq!(one + tiny, one);
        let three_halves_ulp = string2ld(b"0x3p-65").expect("valid");
        assert_eq!(
            one + three_halves_ulp,
            LongDouble::Finite {
                neg: false,
                mant: (1 << 63) + 1,
                exp: -63
            }
        );
        assert_eq!(
            LongDouble::from_i64(i64::MIN),
            LongDouble::Finite {
                neg: true,
                mant: 1 << 63,
                exp: 0
            }
        );
        let inf = LongDouble::Infinite { neg: false };
        assert_eq!(inf + LongDouble::Infinite { neg: true }, LongDouble::NaN);
        assert_eq!(inf + one, inf);
        let neg_zero = LongDouble::Finite {
            neg: true,
            mant: 0,
            exp: 0,
        };
        assert_eq!(neg_zero + neg_zero, neg_zero);
        assert_eq!(neg_zero + LongDouble::ZERO, LongDouble::ZERO);
        assert_eq!(string2ld(&vec![b'1'; MAX_LONG_DOUBLE_CHARS]), None);
        assert!(
            string2ld(&vec![b'1'; MAX_LONG_DOUBLE_CHARS - 1]).is_none(),
            "1e5118 overflows"
        );
        let mut long_zeros = b"0.".to_vec();
        long_zeros.extend(std::iter::repeat_n(b'0', 4000));
        long_zeros.push(b'1');
        assert!(string2ld(&long_zeros).is_some(), "1e-4001 is representable");
        let mut out = Vec::new();
        ld2string(
            &mut out,
            LongDouble::Infinite { neg: true },
            LdStrMode::Human,
        );
        assert_eq!(out, b"-inf");
    }

    proptest! {
        #[test]
        fn long_double_integers_add_exactly(a in -(1i64 << 40)..(1i64 << 40), b in -(1i64 << 40)..(1i64 << 40)) {
            let got = incr_float_string(a.to_string().as_bytes(), b.to_string().as_bytes());
            prop_assert_eq!(got, Ok((a + b).to_string().into_bytes()));
        }

        #[test]
        fn short_decimals_print_back_unchanged(int in 0u64..128, frac in 1u64..1000) {
            // Below 128 half an ulp (2^-58) is under 5e-18, so %.17Lf rounds back to what
            // the user typed. (Above, Redis prints e.g. 256.319 as 256.31900000000000001.)
            let text = format!("{int}.{frac:03}");
            let expected = text.trim_end_matches('0').to_string();
            prop_assert_eq!(incr_float_string(b"0", text.as_bytes()), Ok(expected.into_bytes()));
        }
    }

    // ---- glob ----

    #[test]
    fn string_match_agrees_with_redis_keys() {
        // (pattern, key, matched) sampled from KEYS runs against redis-server 7.0.15.
        let cases: &[(&[u8], &[u8], bool)] = &[
            (b"[a*", b"a", true),
            (b"*?", b"]", true),
            (b"*?*", b"[a", true),
            (b"*^*", b"]b^", true),
            (b"?*", b"\xe9\\?bbb", true),
            (b"*[^", b"\\A\xe9", true),
            (b"^", b"^", true),
            (b"[[bzA[[?", b"?", true),
            (b"*?*", b"a", true),
            (b"***?", b"b\\", true),
            (b"[A\\[z", b"[", true),
            (b"*[\xe9\\[^\xe9*", b"\xe9b[", true),
            (b"*[^[aa", b"]^z", true),
            (b"]", b"]", true),
            (b"*b^", b"Aab^", true),
            (b"**[^", b"]*\\a", true),
            (b"*[bb", b"-b", true),
            (b"[^?*a?[^", b"A", true),
            (b"[^", b"\xe9", true),
            (b"*?[^*^", b"^a*b", true),
            (b"?", b"?", true),
            (b"[^", b"]", true),
            (b"?*?", b"b[", true),
            (b"*[b\\**", b"a\\*", true),
            (b"*[^", b"z-[", true),
            (b"*?", b"\\\\b", true),
            (b"**", b"-*a?", true),
            (b"*[^", b"aaAa-", true),
            (b"*a", b"Aaa", true),
            (b"[zb?a-", b"b", true),
            (b"?*", b"b^\\", true),
            (b"]^", b"]^", true),
            (b"***", b"]zza", true),
            (b"b*", b"b]a[\\*", true),
            (b"?*", b"bba", true),
            (b"*[*^", b"b]a[\\*", true),
            (b"*[^b", b"a", true),
            (b"?*", b"*", true),
            (b"*?", b"\\a-b^", true),
            (b"*?", b"\xe9*-*bz", true),
            (b"*[\xe9*-zb", b"\\\\b", true),
            (b"*b*", b"z--ab", true),
            (b"?[^zA?]", b"a-", true),
            (b"*[\xe9*-zb", b"a?a", true),
            (b"?*", b"-^-b", true),
            (b"*a-*", b"\xe9\xe9a-", true),
            (b"*?abz", b"babz", true),
            (b"*[^^^\xe9?[", b"\\\\z[^b", true),
            (b"*[^^^\xe9?[", b"aaa^^A", true),
            (b"*?*", b"\xe9*a^", true),
            (b"**", b"AaA\\-\\", true),
            (b"**", b"^]\xe9?*?", true),
            (b"[^*b*\\A*", b"\xe9", true),
            (b"*?*", b"]b*^A\xe9", true),
            (b"*?", b"[]abz\\", true),
            (b"[^]", b"\\", true),
            (b"*]", b"z^\\A*]", true),
            (b"**[^", b"^a", true),
            (b"?*", b"\\b", true),
            (b"[a-^", b"^", true),
            (b"***", b"a*b]", true),
            (b"*[^", b"\\\\[??b", true),
            (b"*?", b"\\b][a", true),
            (b"*[^", b"\\\\]*z-", true),
            (b"*?", b"Aab^", true),
            (b"[^a[aaZa", b"z", true),
            (b"-[^-z", b"-a", true),
            (b"*[^a*[a*", b"\xe9b", true),
            (b"[^a-", b"*", true),
            (b"*?", b"-b", true),
            (b"\xe9[z", b"[^[z[", false),
            (b"\x00z?\\", b"b^-^", false),
            (b"?", b"abA*", false),
            (b"a-?\\\\]", b"a?", false),
            (b"^[][", b"aA[", false),
            (b"z*\x00\x00baz", b"^A", false),
            (b"A", b"-]\xe9[\\", false),
            (b"?\x00]Z]\x00Z", b"^b", false),
            (b"?]??aaa", b"-\\]*?A", false),
            (b"?\x00*][a[^a", b"\\b", false),
            (b"z\xe9", b"?a-b?", false),
            (b"b", b"^b", false),
            (b"\xe9z?^A", b"AA\\", false),
            (b"Z", b"baa\\a-", false),
            (b"b]b?\x00", b"-*]\\z", false),
            (b"-\xe9Aa?\x00A", b"[-b^aa", false),
            (b"?*]?", b"a-", false),
            (b"*Z", b"b?", false),
            (b"A\x00?A\xe9[*", b"baza]a", false),
            (b"\x00\xe9\xe9a[z\\", b"\\a", false),
            (b"?za-?\\]\xe9", b"Ab][b", false),
            (b"Az\x00", b"^a", false),
            (b"Z\x00?", b"\xe9?^", false),
            (b"-\x00\xe9b\xe9\\", b"^]A*[]", false),
            (b"?", b"-*]\\z", false),
            (b"b[]a-b", b"aa[]\xe9", false),
            (b"\\\x00]", b"bz]-", false),
            (b"[^]^[?", b"a-\\*^", false),
            (b"\x00]\x00]z\\z", b"]a", false),
            (b"b??^b^", b"\\A\xe9", false),
            (b"z", b"z^-*bA", false),
            (b"^Z]]", b"Ab", false),
            (b"a-a", b"zba?\\z", false),
            (b"\xe9b\\a-b", b"\\]*", false),
            (b"Z\\", b"z^A*a", false),
            (b"[[\xe9", b"b]\xe9", false),
            (b"?]zA*\xe9[]", b"a*[a\\\\", false),
            (b"*^*]", b"b^[^", false),
            (b"-AA", b"aAA", false),
            (b"][a?z", b"aaa^^A", false),
            (b"-?aa", b"[b?^", false),
            (b"ZaAzA**", b"b?]A[", false),
            (b"[^Z?]?A?", b"*z*", false),
            (b"Z\x00", b"-bb][b", false),
            (b"zA", b"\xe9\\Aa", false),
            (b"?*Z*[A*a", b"zb]", false),
            (b"Z?A-", b"\xe9a", false),
            (b"^-?", b"bAa?bz", false),
            (b"Zaa-\x00", b"^?\xe9*", false),
            (b"a[zA*Z*", b"*z*", false),
            (b"[^", b"z", true),
            (b"\\\xe9[^", b"\xe9*", true),
            (b"[a[a*b[^]*", b"a*", true),
            (b"*?[^*^", b"^b", true),
            (b"[^A", b"]", true),
            (b"[^\x00*", b"^", true),
            (b"*[^*?", b"Aa", true),
            (b"*[^", b"b", true),
            (b"[^*[^a-", b"z", true),
            (b"*[^AZ", b"a]?[zb", true),
            (b"[^?]", b"[", true),
            (b"[^*aaA", b"z", true),
            (b"*[^aZ-", b"*]", true),
            (b"*?[^?", b"*]", true),
            (b"[^za]?", b"Aa", true),
            (b"*[^AZ", b"ba^z\\", true),
            (b"*[^", b"babz", true),
            (b"**[^", b"a]\xe9b", true),
            (b"-*[^b", b"-b]", true),
            (b"*[^^", b"^--*", true),
            (b"*[^a\xe9", b"bb", true),
            (b"*[\xe9\\[^\xe9*", b"z-[", true),
            (b"[^\xe9", b"^", true),
            (b"*[^b", b"^A", true),
            (b"]*[^b^", b"]\\zA\\\xe9", true),
            (b"[^?*]", b"\\", true),
            (b"*[^?[[", b"b^-^", true),
            (b"*[^aZ-", b"\\\\z[^b", true),
            (b"*[^a*[a*", b"A\\", true),
            (b"[^*\xe9*[a[^", b"\\", true),
            (b"z[^\x00abb\x00", b"bb*z[", false),
            (b"\xe9?\\", b"b?", false),
            (b"\\Z[", b"[\\]\\*", false),
            (b"\\Z[", b"**", false),
            (b"b[^-", b"]?-", false),
            (b"]\x00[^]\\", b"*", false),
            (b"a-b-?[", b"]", false),
            (b"azZ[^?*", b"A*\xe9a-?", false),
            (b"\\", b"??-zA", false),
            (b"A[^z[Z]a-", b"**", false),
        ];
        for (pattern, key, expected) in cases {
            assert_eq!(
                string_match_len(pattern, key, false),
                *expected,
                "{:?} ~ {:?}",
                s(pattern),
                s(key)
            );
        }
    }

    #[test]
    fn string_match_basics() {
        assert!(string_match_len(b"h?llo", b"hello", false));
        assert!(string_match_len(b"h*llo", b"heeeello", false));
        assert!(string_match_len(b"h[ae]llo", b"hallo", false));
        assert!(!string_match_len(b"h[^e]llo", b"hello", false));
        assert!(string_match_len(b"h[a-b]llo", b"hbllo", false));
        assert!(
            string_match_len(b"h[b-a]llo", b"hbllo", false),
            "reversed range"
        );
        assert!(string_match_len(b"h\\*llo", b"h*llo", false));
        assert!(!string_match_len(b"h\\*llo", b"hello", false));
        assert!(string_match_len(b"HELLO", b"hello", true));
        assert!(!string_match_len(b"HELLO", b"hello", false));
        assert!(string_match_len(b"[A-Z]", b"q", true));
        assert!(
            !string_match_len(b"[Z-a]", b"q", true),
            "swap happens before folding"
        );
        assert!(
            string_match_len(b"[a-\xff]", b"0", false),
            "signed char range -1..=97"
        );
        assert!(!string_match_len(b"[a-\xff]", b"b", false));
        // Empty subjects match nothing, not even "*" (PUBLISH "" reached no PSUBSCRIBE "*").
        assert!(!string_match_len(b"*", b"", false));
        assert!(string_match_len(b"", b"", false));
        assert!(string_match_len(b"a*", b"a", false));
    }

    #[test]
    fn string_match_nesting_guard_matches_redis() {
        // KEYS on redis-server 7.0.15 with a key of 1200 'a': "*a" x1000 matches,
        // x1001 does not; "a*" x1001 matches, x1002 does not.
        let key = vec![b'a'; 1200];
        assert!(string_match_len(&b"*a".repeat(1000), &key, false));
        assert!(!string_match_len(&b"*a".repeat(1001), &key, false));
        assert!(string_match_len(&b"a*".repeat(1001), &key, false));
        assert!(!string_match_len(&b"a*".repeat(1002), &key, false));
    }

    #[test]
    fn string_match_abusive_pattern_is_fast() {
        let subject = vec![b'a'; 5000];
        let start = std::time::Instant::now();
        assert!(!string_match_len(
            b"*a*a*a*a*a*a*a*a*a*a*a*a*b",
            &subject,
            false
        ));
        assert!(!string_match_len(
            &b"*a"
                .repeat(200)
                .into_iter()
                .chain(*b"b")
                .collect::<Vec<u8>>(),
            &subject,
            false
        ));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    proptest! {
        #[test]
        fn star_matches_every_nonempty_string(subject in proptest::collection::vec(any::<u8>(), 1..64)) {
            prop_assert!(string_match_len(b"*", &subject, false));
            prop_assert!(string_match_len(b"**", &subject, true));
        }

        #[test]
        fn escaped_literal_matches_itself(subject in proptest::collection::vec(any::<u8>(), 1..32)) {
            let mut pattern = Vec::new();
            for &c in &subject {
                pattern.extend_from_slice(&[b'\\', c]);
            }
            prop_assert!(string_match_len(&pattern, &subject, false));
        }

        #[test]
        fn random_patterns_never_panic(p in proptest::collection::vec(prop::sample::select(b"*?[]^-\\ab".to_vec()), 0..16),
                                       t in proptest::collection::vec(prop::sample::select(b"ab[]-^\\*".to_vec()), 0..16)) {
            let _ = string_match_len(&p, &t, false);
            let _ = string_match_len(&p, &t, true);
        }
    }

    // ---- sds helpers ----

    fn split(line: &[u8]) -> Result<Vec<String>, ()> {
        sds_split_args(line).map(|args| args.iter().map(|a| s(a)).collect())
    }

    #[test]
    fn split_args_cases() {
        assert_eq!(
            split(b"set foo bar"),
            Ok(vec!["set".into(), "foo".into(), "bar".into()])
        );
        assert_eq!(split(b"  \t\r\n"), Ok(vec![]));
        assert_eq!(split(b""), Ok(vec![]));
        assert_eq!(
            split(b"a\"b c\" d"),
            Ok(vec!["ab c".into(), "d".into()]),
            "quote inside a word"
        );
        assert_eq!(
            split(b"\"\\n\\r\\t\\b\\a\\\\\\\"\\q\""),
            Ok(vec!["\n\r\t\x08\x07\\\"q".into()])
        );
        assert_eq!(
            sds_split_args(b"\"\\x41\\xff\\x4\""),
            Ok(vec![vec![b'A', 0xff, b'x', b'4']])
        );
        assert_eq!(
            split(b"'it\\'s' '\\n'"),
            Ok(vec!["it's".into(), "\\n".into()])
        );
        assert_eq!(split(b"\"\" ''"), Ok(vec!["".into(), "".into()]));
        assert_eq!(
            split(b"a\x0bb"),
            Ok(vec!["a\x0bb".into()]),
            "\\v separates only before a word"
        );
        assert_eq!(split(b"\x0b a"), Ok(vec!["a".into()]));
        assert_eq!(
            split(b"a b\0c d"),
            Ok(vec!["a".into(), "b".into()]),
            "C string ends at NUL"
        );
        assert_eq!(split(b"\"a\"\tb"), Ok(vec!["a".into(), "b".into()]));
        for bad in [
            &b"\"foo\"bar"[..],
            b"'foo'bar",
            b"\"foo",
            b"'foo",
            b"\"foo\\",
            b"'a\\'",
        ] {
            assert_eq!(split(bad), Err(()), "{}", s(bad));
        }
    }

    #[test]
    fn cat_repr_cases() {
        let mut out = Vec::new();
        sds_cat_repr(&mut out, b"a\\b\"c\n\r\t\x07\x08\x00\x7f\xff ~");
        assert_eq!(s(&out), "\"a\\\\b\\\"c\\n\\r\\t\\a\\b\\x00\\x7f\\xff ~\"");
        let mut empty = Vec::new();
        sds_cat_repr(&mut empty, b"");
        assert_eq!(empty, b"\"\"");
    }

    proptest! {
        #[test]
        fn split_args_reads_back_cat_repr(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..24), 0..6)) {
            let mut line = Vec::new();
            for arg in &args {
                sds_cat_repr(&mut line, arg);
                line.push(b' ');
            }
            prop_assert_eq!(sds_split_args(&line), Ok(args));
        }

        #[test]
        fn split_args_never_panics(line in proptest::collection::vec(prop::sample::select(b"ab \"'\\x0f\t".to_vec()), 0..40)) {
            let _ = sds_split_args(&line);
        }
    }

    // ---- random, clocks ----

    #[test]
    fn random_hex_chars_are_hex_and_differ() {
        let a = get_random_hex_chars(40);
        let b = get_random_hex_chars(40);
        assert_eq!(a.len(), 40);
        assert!(a
            .iter()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_ne!(a, b);
        assert!(get_random_hex_chars(0).is_empty());
        let mut bytes = [0u8; 45];
        get_random_bytes(&mut bytes);
        assert!(bytes.iter().any(|&b| b != 0));
    }

    #[test]
    fn hmac_blocks_depend_on_counter_and_seed() {
        let seed = [7u8; 64];
        assert_ne!(hmac_block(&seed, 0), hmac_block(&seed, 1));
        assert_ne!(hmac_block(&seed, 0), hmac_block(&[8u8; 64], 0));
        assert_eq!(hmac_block(&seed, 3), hmac_block(&seed, 3));
    }

    #[test]
    fn clocks_are_sane() {
        use std::time::{SystemTime, UNIX_EPOCH};
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after epoch")
            .as_millis() as i64;
        assert!((mstime() - wall).abs() < 1000);
        assert!((ustime() / 1000 - wall).abs() < 1000);
        let a = monotonic_us();
        let b = monotonic_us();
        assert!(a > 0 && b >= a);
    }
}

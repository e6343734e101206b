//! SORT and SORT_RO: Redis's sort.c (with pqsort.c, the partial quicksort SORT ... BY ...
//! LIMIT uses). A SORT runs to completion on the single-threaded event loop: it copies the
//! elements of the list, set or sorted set out of the keyspace, looks up the BY weights and
//! GET values through the keyspace (lookupKeyRead, so lazy expiry and hit/miss stats apply),
//! sorts, then replies or stores a new list. Nothing else runs in between, so the copy is
//! consistent and STORE may safely overwrite the sorted key or any looked-up key.
//!
//! Comparison follows Redis exactly: numeric sorting compares the strtod() weights and breaks
//! ties with the elements' bytes; ALPHA compares with strcoll() when replying and with
//! memcmp() when storing (so replicas agree). Redis calls setlocale(LC_COLLATE, ""), but in
//! the C, POSIX and C.UTF-8 locales (glibc >= 2.35 collates C.UTF-8 by code point) strcoll()
//! is strcmp(): bytes up to the first NUL, which is what [`c_strcmp`] does. The full sort is
//! glibc's qsort(), a stable merge sort, mirrored by the stable `sort_by`; the LIMIT case
//! ports pqsort so that ties come out in the same order as Redis's.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::db;
use crate::networking::Client;
use crate::notify;
use crate::object::{self as obj, RObj, Value, ValueMut};
use crate::quicklist::{Direction, End};
use crate::server::Server;
use crate::t_list::ListValue;
use crate::t_set::SetValue;
use crate::t_zset::ZSetValue;
use crate::zskiplist::NIL;

/// Redis: the error sortCommandGeneric() gives when a weight is not a number.
const SCORE_CONVERSION_ERR: &str = "One or more scores can't be converted into double";

/// One element being sorted (Redis: redisSortObject): the element, its numeric weight and,
/// for ALPHA BY, the looked-up string to compare (None when the weight key is missing).
#[derive(Debug, Clone, PartialEq)]
struct SortObject {
    obj: Vec<u8>,
    score: f64,
    cmpobj: Option<Vec<u8>>,
}

impl SortObject {
    fn new(obj: Vec<u8>) -> SortObject {
        SortObject { obj, score: 0.0, cmpobj: None }
    }
}

/// The options of one SORT (Redis: the locals sortCommandGeneric() parses into).
#[derive(Debug, Clone, PartialEq)]
struct SortOptions {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    storekey: Option<Vec<u8>>,
    sortby: Option<Vec<u8>>,
    /// BY with a pattern holding no '*': keep the native order. Never reset by a later BY.
    dontsort: bool,
    /// The GET patterns in order (Redis: the SORT_OP_GET operations list).
    gets: Vec<Vec<u8>>,
}

impl Default for SortOptions {
    fn default() -> Self {
        SortOptions {
            desc: false,
            alpha: false,
            limit_start: 0,
            limit_count: -1,
            storekey: None,
            sortby: None,
            dontsort: false,
            gets: Vec::new(),
        }
    }
}

/// How sortCompare() compares (Redis: server.sort_desc / sort_alpha / sort_bypattern /
/// sort_store).
#[derive(Debug, Clone, Copy)]
struct SortParams {
    desc: bool,
    alpha: bool,
    bypattern: bool,
    store: bool,
}

impl SortParams {
    /// Redis: sort.c sortCompare().
    fn compare(&self, a: &SortObject, b: &SortObject) -> Ordering {
        let cmp = if !self.alpha {
            match a.score.partial_cmp(&b.score) {
                Some(Ordering::Greater) => Ordering::Greater,
                Some(Ordering::Less) => Ordering::Less,
                // Equal weights: the elements' bytes make the order deterministic.
                Some(Ordering::Equal) | None => a.obj.cmp(&b.obj),
            }
        } else if self.bypattern {
            match (&a.cmpobj, &b.cmpobj) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => self.compare_strings(x, y),
            }
        } else {
            self.compare_strings(&a.obj, &b.obj)
        };
        if self.desc {
            cmp.reverse()
        } else {
            cmp
        }
    }

    /// compareStringObjects() (memcmp) when storing, strcoll() when replying.
    fn compare_strings(&self, a: &[u8], b: &[u8]) -> Ordering {
        if self.store {
            a.cmp(b)
        } else {
            c_strcmp(a, b)
        }
    }
}

/// The bytes a C string function sees: everything before the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    s.iter().position(|&b| b == 0).map_or(s, |nul| s.get(..nul).unwrap_or(s))
}

/// C strcmp() (and strcoll() in the C / C.UTF-8 locales): unsigned bytes up to the first NUL.
fn c_strcmp(a: &[u8], b: &[u8]) -> Ordering {
    c_str(a).cmp(c_str(b))
}

/// C `strcasecmp(arg, name) == 0`: an argument matches an option up to its first NUL.
fn option_is(arg: &[u8], name: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(name.as_bytes())
}

// ----------------------------------------------------------------------------------------
// Patterns: BY and GET
// ----------------------------------------------------------------------------------------

/// How a pattern names what to fetch (the parsing half of lookupKeyByPattern()).
#[derive(Debug, Clone, PartialEq)]
enum PatternTarget<'p> {
    /// "#": the element itself.
    Element,
    /// No '*': nothing (fetching a fixed key makes no sense).
    Nothing,
    /// A key made of prefix + element + postfix, and the hash field after "->" if any.
    Key { prefix: &'p [u8], postfix: &'p [u8], field: Option<&'p [u8]> },
}

/// Redis: the pattern parsing of lookupKeyByPattern(). Like the C code, "#", '*' and "->"
/// are found with C string functions (nothing after an embedded NUL counts), while the
/// field and postfix lengths come from the full pattern length.
fn parse_pattern(pattern: &[u8]) -> PatternTarget<'_> {
    if pattern.first() == Some(&b'#') && pattern.get(1).is_none_or(|&b| b == 0) {
        return PatternTarget::Element;
    }
    let cpat = c_str(pattern);
    let Some(star) = cpat.iter().position(|&b| b == b'*') else { return PatternTarget::Nothing };
    let after_star = cpat.get(star + 1..).unwrap_or(&[]);
    // strstr(p+1, "->") with a non-empty C string after the arrow.
    let arrow = after_star
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < cpat.len());
    let prefix = pattern.get(..star).unwrap_or(&[]);
    let (postfix, field) = match arrow {
        Some(f) => (pattern.get(star + 1..f).unwrap_or(&[]), pattern.get(f + 2..)),
        None => (pattern.get(star + 1..).unwrap_or(&[]), None),
    };
    PatternTarget::Key { prefix, postfix, field }
}

/// Redis: sort.c lookupKeyByPattern(): the string the pattern names for element `subst`:
/// the element for "#", a string key's value, or a hash field's value; None when the key
/// is missing or of the wrong type, the field is missing, or the pattern has no '*'.
fn lookup_key_by_pattern<'s>(srv: &mut Server, dbid: usize, pattern: &[u8], subst: &'s [u8]) -> Option<Cow<'s, [u8]>> {
    let (prefix, postfix, field) = match parse_pattern(pattern) {
        PatternTarget::Element => return Some(Cow::Borrowed(subst)),
        PatternTarget::Nothing => return None,
        PatternTarget::Key { prefix, postfix, field } => (prefix, postfix, field),
    };
    let mut key = Vec::new();
    key.try_reserve_exact(prefix.len() + subst.len() + postfix.len()).ok()?;
    key.extend_from_slice(prefix);
    key.extend_from_slice(subst);
    key.extend_from_slice(postfix);
    let o = db::lookup_key_read(srv, dbid, &key)?;
    match (o.value_mut(), field) {
        (ValueMut::Hash(h), Some(field)) => h.get(field).map(|e| Cow::Owned(e.to_vec())),
        (ValueMut::Str(s), None) => Some(Cow::Owned(s.to_vec())),
        _ => None,
    }
}

/// Redis: the strtod() weight check of sortCommandGeneric(): the value must parse up to a
/// NUL (its end or an embedded one; the empty string is 0), without ERANGE and not NaN.
/// Leading whitespace, hex floats and "inf" are accepted, as strtod() does.
fn parse_weight(bytes: &[u8]) -> Option<f64> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(bytes.len() + 1).ok()?;
    buf.extend_from_slice(bytes);
    buf.push(0);
    let mut end: *mut libc::c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated and outlives the call; strtod reads up to that NUL at
    // most and stores a pointer into `buf` in `end`. errno is thread-local; Redis does not
    // clear it first, but it is never left at ERANGE between commands in practice.
    let (value, erange) = unsafe {
        *libc::__errno_location() = 0;
        let value = libc::strtod(buf.as_ptr().cast(), &mut end);
        (value, *libc::__errno_location() == libc::ERANGE)
    };
    let consumed = (end as usize).checked_sub(buf.as_ptr() as usize)?;
    let stops_at_nul = buf.get(consumed) == Some(&0);
    (stops_at_nul && !erange && !value.is_nan()).then_some(value)
}

// ----------------------------------------------------------------------------------------
// pqsort: Redis's partial quicksort (NetBSD qsort, Bentley & McIlroy), ported to indices
// ----------------------------------------------------------------------------------------

/// Redis: pqsort.c pqsort(): sorts `v` enough that positions `lrange..=rrange` hold what a
/// full sort would put there; partitions entirely outside that range are left unsorted.
/// Equal elements end up in the same places as with Redis's C code.
fn pqsort<T>(v: &mut [T], lrange: i64, rrange: i64, cmp: &impl Fn(&T, &T) -> Ordering) {
    pqsort_part(v, 0, lrange, rrange, cmp);
}

/// The element comparison of the port (positions are always in range by construction).
fn cmp_at<T>(a: &[T], i: usize, j: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> Ordering {
    match (a.get(i), a.get(j)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => Ordering::Equal,
    }
}

fn swap_at<T>(a: &mut [T], i: usize, j: usize) {
    if i < a.len() && j < a.len() {
        a.swap(i, j);
    }
}

/// Redis: pqsort.c vecswap(): swaps the `n` elements at `i` with those at `j`, in order.
fn vecswap<T>(a: &mut [T], i: usize, j: usize, n: usize) {
    for k in 0..n {
        swap_at(a, i + k, j + k);
    }
}

/// Redis: pqsort.c med3(): the index of the median of three.
fn med3<T>(a: &[T], x: usize, y: usize, z: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp_at(a, x, y, cmp) == Ordering::Less {
        if cmp_at(a, y, z, cmp) == Ordering::Less {
            y
        } else if cmp_at(a, x, z, cmp) == Ordering::Less {
            z
        } else {
            x
        }
    } else if cmp_at(a, y, z, cmp) == Ordering::Greater {
        y
    } else if cmp_at(a, x, z, cmp) == Ordering::Less {
        x
    } else {
        z
    }
}

/// The insertion sort pqsort uses for short or already-partitioned runs.
fn insertion_sort<T>(a: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in 1..a.len() {
        let mut l = m;
        while l > 0 && cmp_at(a, l - 1, l, cmp) == Ordering::Greater {
            swap_at(a, l, l - 1);
            l -= 1;
        }
    }
}

/// Whether the run of `n` elements starting at absolute position `base` meets the range
/// (Redis's `!((lrange < _l && rrange < _l) || (lrange > _r && rrange > _r))`).
fn run_meets_range(base: i64, n: usize, lrange: i64, rrange: i64) -> bool {
    let end = base + n as i64;
    !((lrange < base && rrange < base) || (lrange >= end && rrange >= end))
}

/// Redis: pqsort.c _pqsort() on `a`, which starts at absolute position `base`.
fn pqsort_part<T>(mut a: &mut [T], mut base: i64, lrange: i64, rrange: i64, cmp: &impl Fn(&T, &T) -> Ordering) {
    loop {
        let n = a.len();
        if n < 7 {
            insertion_sort(a, cmp);
            return;
        }
        let Some((pa, pb, pc, pd)) = partition(a, cmp) else {
            insertion_sort(a, cmp);
            return;
        };
        let r = pa.min(pb - pa);
        vecswap(a, 0, pb - r, r);
        let r = (pd - pc).min(n - pd - 1);
        vecswap(a, pb, n - r, r);
        let left = pb - pa;
        if left > 1 && run_meets_range(base, left, lrange, rrange) {
            if let Some(run) = a.get_mut(..left) {
                pqsort_part(run, base, lrange, rrange, cmp);
            }
        }
        let right = pd - pc;
        if right <= 1 || !run_meets_range(base + (n - right) as i64, right, lrange, rrange) {
            return;
        }
        // Iterate rather than recurse on the right part, as Redis does.
        let whole = a;
        let Some(run) = whole.get_mut(n - right..) else { return };
        a = run;
        base += (n - right) as i64;
    }
}

/// The pivot choice of _pqsort(): the middle element, the median of three for n > 7, the
/// median of three medians (ninther) for n > 40.
fn pqsort_pivot<T>(a: &[T], cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    let n = a.len();
    let mut pm = n / 2;
    if n > 7 {
        let (mut pl, mut pn) = (0, n - 1);
        if n > 40 {
            let d = n / 8;
            pl = med3(a, pl, pl + d, pl + 2 * d, cmp);
            pm = med3(a, pm - d, pm, pm + d, cmp);
            pn = med3(a, pn - 2 * d, pn - d, pn, cmp);
        }
        pm = med3(a, pl, pm, pn, cmp);
    }
    pm
}

/// Redis: the Bentley-McIlroy 3-way partition loop of _pqsort() (n >= 7): the pivot goes to
/// position 0 and elements equal to it gather at both ends. Returns pa, pb, pc, pd, or None
/// when nothing was swapped (Redis then switches to insertion sort).
fn partition<T>(a: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) -> Option<(usize, usize, usize, usize)> {
    let pm = pqsort_pivot(a, cmp);
    swap_at(a, 0, pm);
    let (mut pa, mut pb) = (1usize, 1usize);
    let (mut pc, mut pd) = (a.len() - 1, a.len() - 1);
    let mut swapped = false;
    loop {
        while pb <= pc {
            let r = cmp_at(a, pb, 0, cmp);
            if r == Ordering::Greater {
                break;
            }
            if r == Ordering::Equal {
                swapped = true;
                swap_at(a, pa, pb);
                pa += 1;
            }
            pb += 1;
        }
        while pb <= pc {
            let r = cmp_at(a, pc, 0, cmp);
            if r == Ordering::Less {
                break;
            }
            if r == Ordering::Equal {
                swapped = true;
                swap_at(a, pc, pd);
                pd -= 1;
            }
            pc -= 1;
        }
        if pb > pc {
            break;
        }
        swap_at(a, pb, pc);
        swapped = true;
        pb += 1;
        pc -= 1;
    }
    swapped.then_some((pa, pb, pc, pd))
}

// ----------------------------------------------------------------------------------------
// SORT / SORT_RO
// ----------------------------------------------------------------------------------------

/// Redis: sort.c sortCommand().
pub fn sort_command(srv: &mut Server, c: &mut Client) {
    sort_command_generic(srv, c, false);
}

/// Redis: sort.c sortroCommand(): SORT without STORE (STORE is then a syntax error).
pub fn sort_ro_command(srv: &mut Server, c: &mut Client) {
    sort_command_generic(srv, c, true);
}

/// Redis: the option parsing of sortCommandGeneric(): None after replying with the error
/// (syntax error, or LIMIT's integer error).
fn parse_sort_options(c: &mut Client, readonly: bool) -> Option<SortOptions> {
    let mut o = SortOptions::default();
    let argc = c.argv.len();
    let mut j = 2;
    while j < argc {
        let leftargs = argc - j - 1;
        let arg = c.argv.get(j);
        if option_is(arg, "asc") {
            o.desc = false;
        } else if option_is(arg, "desc") {
            o.desc = true;
        } else if option_is(arg, "alpha") {
            o.alpha = true;
        } else if option_is(arg, "limit") && leftargs >= 2 {
            o.limit_start = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 1), None)?;
            o.limit_count = obj::get_long_from_object_or_reply(&mut c.reply, c.argv.get(j + 2), None)?;
            j += 2;
        } else if !readonly && option_is(arg, "store") && leftargs >= 1 {
            o.storekey = Some(c.argv.get(j + 1).to_vec());
            j += 1;
        } else if option_is(arg, "by") && leftargs >= 1 {
            let pattern = c.argv.get(j + 1);
            // A pattern without '*' is constant: nothing to sort, no weights to look up.
            if !c_str(pattern).contains(&b'*') {
                o.dontsort = true;
            }
            o.sortby = Some(pattern.to_vec());
            j += 1;
        } else if option_is(arg, "get") && leftargs >= 1 {
            o.gets.push(c.argv.get(j + 1).to_vec());
            j += 1;
        } else {
            c.reply.add_reply_syntax_error();
            return None;
        }
        j += 1;
    }
    Some(o)
}

/// Redis: the LIMIT sanity checks of sortCommandGeneric(), clamped to the length first (so
/// no overflow): the inclusive output range, (len-1, len-2) when it is empty past the end.
fn limit_range(limit_start: i64, limit_count: i64, vectorlen: i64) -> (i64, i64) {
    let mut start = limit_start.max(0).min(vectorlen);
    let count = limit_count.max(-1).min(vectorlen);
    let mut end = if count < 0 { vectorlen - 1 } else { start + count - 1 };
    if start >= vectorlen {
        start = vectorlen - 1;
        end = vectorlen - 2;
    }
    if end >= vectorlen {
        end = vectorlen - 1;
    }
    (start, end)
}

/// The elements to sort and the output range within them.
struct Loaded {
    vector: Vec<SortObject>,
    start: i64,
    end: i64,
}

/// Loads the elements of the key to sort (Redis: the lookup, type check, ZSET conversion,
/// LIMIT checks and vector loading of sortCommandGeneric()). Err(()) for a wrong type. A
/// missing key sorts like an empty list.
fn load_sort_vector(srv: &mut Server, dbid: usize, key: &[u8], o: &mut SortOptions) -> Result<Loaded, ()> {
    let Some(sortval) = db::lookup_key_read(srv, dbid, key) else {
        return Ok(Loaded { vector: Vec::new(), start: -1, end: -2 });
    };
    match sortval.value_mut() {
        ValueMut::List(l) => Ok(load_list(l, o)),
        ValueMut::Set(s) => Ok(load_set(s, o)),
        ValueMut::ZSet(z) => {
            // Redis: "Destructively convert encoded sorted sets for SORT."
            z.convert_to_skiplist();
            Ok(load_zset(z, o))
        }
        ValueMut::Str(_) | ValueMut::Hash(_) | ValueMut::Stream(_) => Err(()),
    }
}

/// A list: with dontsort only the LIMIT range is loaded, in list order (from the tail for
/// DESC), and the output range is rebased to it.
fn load_list(l: &ListValue, o: &SortOptions) -> Loaded {
    let len = l.len() as i64;
    let (start, end) = limit_range(o.limit_start, o.limit_count, len);
    if !o.dontsort {
        let vector = l.iter().map(|v| SortObject::new(v.to_vec())).collect();
        return Loaded { vector, start, end };
    }
    if end < start {
        return Loaded { vector: Vec::new(), start, end };
    }
    let (dir, idx) = if o.desc { (Direction::StartTail, len - start - 1) } else { (Direction::StartHead, start) };
    let take = (end - start + 1) as usize;
    let vector = l.quicklist().values_from(dir, idx).take(take).map(|v| SortObject::new(v.to_vec())).collect();
    Loaded { vector, start: 0, end: end - start }
}

/// A set: all members in iteration order. With dontsort and STORE the output must not
/// depend on the set's internal order, so Redis forces an ALPHA sort of the members.
fn load_set(s: &SetValue, o: &mut SortOptions) -> Loaded {
    if o.dontsort && o.storekey.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.sortby = None;
    }
    let (start, end) = limit_range(o.limit_start, o.limit_count, s.len() as i64);
    let vector = s.iter().map(|m| SortObject::new(m.to_vec())).collect();
    Loaded { vector, start, end }
}

/// A sorted set (already a skiplist): with dontsort only the LIMIT range is loaded, in
/// score order (from the highest for DESC), and the output range is rebased to it.
fn load_zset(z: &ZSetValue, o: &SortOptions) -> Loaded {
    let (start, end) = limit_range(o.limit_start, o.limit_count, z.len() as i64);
    let ZSetValue::SkipList(zs) = z else {
        // Not reached (converted just before); the listpack order is the same anyway.
        let mut vector = Vec::new();
        z.for_each(|m, _| vector.push(SortObject::new(m.to_vec())));
        return Loaded { vector, start, end };
    };
    let zsl = &zs.zsl;
    if !o.dontsort {
        let vector = zsl.iter().map(|(m, _)| SortObject::new(m.to_vec())).collect();
        return Loaded { vector, start, end };
    }
    let len = zsl.len() as i64;
    let mut ln = match (o.desc, start > 0) {
        (true, true) => zsl.get_element_by_rank((len - start) as usize),
        (true, false) => zsl.last(),
        (false, true) => zsl.get_element_by_rank((start + 1) as usize),
        (false, false) => zsl.first(),
    };
    let rangelen = (end - start + 1).max(0) as usize;
    let mut vector = Vec::with_capacity(rangelen.min(zsl.len()));
    while vector.len() < rangelen && ln != NIL {
        vector.push(SortObject::new(zsl.ele(ln).to_vec()));
        ln = if o.desc { zsl.prev(ln) } else { zsl.next(ln) };
    }
    Loaded { vector, start: 0, end: end - start }
}

/// Redis: the weight loading of sortCommandGeneric(): BY values (or the elements) become
/// numeric scores, or ALPHA comparison strings. Returns whether a score failed to parse.
fn load_weights(srv: &mut Server, dbid: usize, vector: &mut [SortObject], o: &SortOptions) -> bool {
    let mut conversion_error = false;
    for so in vector.iter_mut() {
        let SortObject { obj, score, cmpobj } = so;
        let byval = match &o.sortby {
            Some(pattern) => match lookup_key_by_pattern(srv, dbid, pattern, obj) {
                Some(v) => v,
                None => continue,
            },
            None => Cow::Borrowed(obj.as_slice()),
        };
        if o.alpha {
            if o.sortby.is_some() {
                *cmpobj = Some(byval.into_owned());
            }
        } else {
            match parse_weight(&byval) {
                Some(v) => *score = v,
                None => conversion_error = true,
            }
        }
    }
    conversion_error
}

/// The elements of the output range (empty when end < start).
fn output_range(vector: &[SortObject], start: i64, end: i64) -> &[SortObject] {
    if start < 0 || end < start {
        return &[];
    }
    vector.get(start as usize..=end as usize).unwrap_or(&[])
}

/// Redis: sort.c sortCommandGeneric().
fn sort_command_generic(srv: &mut Server, c: &mut Client, readonly: bool) {
    let Some(mut o) = parse_sort_options(c, readonly) else { return };
    let dbid = c.db;
    let key = c.argv.get(1).to_vec();
    let Ok(Loaded { mut vector, start, end }) = load_sort_vector(srv, dbid, &key, &mut o) else {
        c.reply.add_reply_wrong_type();
        return;
    };
    if !o.dontsort {
        let conversion_error = load_weights(srv, dbid, &mut vector, &o);
        if conversion_error {
            // Redis sorts anyway before replying with the error; the order is never seen.
            c.reply.add_reply_error(SCORE_CONVERSION_ERR);
            return;
        }
        sort_vector(&mut vector, &o, start, end);
    }
    let rows = output_range(&vector, start, end);
    match o.storekey.take() {
        None => reply_sorted(srv, c, rows, &o.gets),
        Some(dst) => store_sorted(srv, c, rows, &o.gets, &dst),
    }
}

/// Redis: the qsort()/pqsort() step: a partial sort when BY is given and LIMIT narrows the
/// output, a full (stable, like glibc's merge sort) sort otherwise.
fn sort_vector(vector: &mut [SortObject], o: &SortOptions, start: i64, end: i64) {
    let params = SortParams { desc: o.desc, alpha: o.alpha, bypattern: o.sortby.is_some(), store: o.storekey.is_some() };
    let cmp = |a: &SortObject, b: &SortObject| params.compare(a, b);
    let vectorlen = vector.len() as i64;
    if o.sortby.is_some() && (start != 0 || end != vectorlen - 1) {
        pqsort(vector, start, end, &cmp);
    } else {
        vector.sort_by(cmp);
    }
}

/// How many values the output holds: one per GET per element, or the elements themselves.
fn output_len(rows: &[SortObject], gets: &[Vec<u8>]) -> usize {
    rows.len() * gets.len().max(1)
}

/// The reply: the elements, or for each one the value of every GET pattern (nil if none).
fn reply_sorted(srv: &mut Server, c: &mut Client, rows: &[SortObject], gets: &[Vec<u8>]) {
    let dbid = c.db;
    c.reply.add_reply_array_len(output_len(rows, gets));
    for so in rows {
        if gets.is_empty() {
            c.reply.add_reply_bulk(&so.obj);
        }
        for pattern in gets {
            match lookup_key_by_pattern(srv, dbid, pattern, &so.obj) {
                Some(v) => c.reply.add_reply_bulk(&v),
                None => c.reply.add_reply_null(),
            }
        }
    }
}

/// STORE: the output as a new list at `dst` (GET misses stored as empty strings); an empty
/// output deletes `dst` instead. Replies with the output length.
fn store_sorted(srv: &mut Server, c: &mut Client, rows: &[SortObject], gets: &[Vec<u8>], dst: &[u8]) {
    let dbid = c.db;
    let outputlen = output_len(rows, gets);
    let mut list = ListValue::for_server(srv);
    for so in rows {
        if gets.is_empty() {
            list.push(&so.obj, End::Tail);
        }
        for pattern in gets {
            let v = lookup_key_by_pattern(srv, dbid, pattern, &so.obj);
            list.push(v.as_deref().unwrap_or(b""), End::Tail);
        }
    }
    if outputlen > 0 {
        db::set_key(srv, dbid, dst, RObj::new(Value::List(Box::new(list)), 0), false);
        notify::notify_keyspace_event(srv, notify::NOTIFY_LIST, "sortstore", dst, dbid);
        srv.dirty += outputlen as u64;
    } else if srv.db.get_mut(dbid).and_then(|db| db.db_delete(dst)).is_some() {
        srv.signal_modified_key(dbid, dst);
        notify::notify_keyspace_event(srv, notify::NOTIFY_GENERIC, "del", dst, dbid);
        srv.dirty += 1;
    }
    c.reply.add_reply_long_long(outputlen as i64);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{run_command as run, test_server};

    fn push(srv: &mut Server, c: &mut Client, key: &str, items: &[&str]) {
        let mut args = vec!["rpush", key];
        args.extend_from_slice(items);
        run(srv, c, crate::t_list::rpush_command, &args);
    }

    fn bulks(items: &[&str]) -> String {
        let mut out = format!("*{}\r\n", items.len());
        for i in items {
            out.push_str(&format!("${}\r\n{}\r\n", i.len(), i));
        }
        out
    }

    #[test]
    fn patterns_parse_like_the_c_string_functions() {
        assert_eq!(parse_pattern(b"#"), PatternTarget::Element);
        assert_eq!(parse_pattern(b"#\0junk"), PatternTarget::Element);
        assert_eq!(parse_pattern(b"##"), PatternTarget::Nothing);
        assert_eq!(parse_pattern(b"nostar"), PatternTarget::Nothing);
        assert_eq!(parse_pattern(b"a\0*"), PatternTarget::Nothing);
        let key = |prefix: &'static [u8], postfix: &'static [u8], field: Option<&'static [u8]>| PatternTarget::Key {
            prefix,
            postfix,
            field,
        };
        assert_eq!(parse_pattern(b"w_*"), key(b"w_", b"", None));
        assert_eq!(parse_pattern(b"w_*_*"), key(b"w_", b"_*", None));
        assert_eq!(parse_pattern(b"h_*x->f"), key(b"h_", b"x", Some(b"f")));
        assert_eq!(parse_pattern(b"*->a->b"), key(b"", b"", Some(b"a->b")));
        // An empty field makes "->" part of the key; an arrow before the '*' is just bytes.
        assert_eq!(parse_pattern(b"h_*->"), key(b"h_", b"->", None));
        assert_eq!(parse_pattern(b"x->*"), key(b"x->", b"", None));
        // The field runs to the end of the pattern, past an embedded NUL.
        assert_eq!(parse_pattern(b"h_*->na\0me"), key(b"h_", b"", Some(b"na\0me")));
    }

    #[test]
    fn limits_are_clamped_like_redis() {
        assert_eq!(limit_range(0, -1, 5), (0, 4));
        assert_eq!(limit_range(1, 2, 5), (1, 2));
        assert_eq!(limit_range(-3, 2, 5), (0, 1));
        assert_eq!(limit_range(3, 100, 5), (3, 4));
        assert_eq!(limit_range(5, 1, 5), (4, 3));
        assert_eq!(limit_range(2, 0, 5), (2, 1));
        assert_eq!(limit_range(i64::MAX, i64::MAX, 5), (4, 3));
        assert_eq!(limit_range(1, i64::MAX, 5), (1, 4));
        assert_eq!(limit_range(i64::MIN, i64::MIN, 5), (0, 4));
        assert_eq!(limit_range(0, -1, 0), (-1, -2));
    }

    #[test]
    fn weights_follow_the_strtod_check() {
        assert_eq!(parse_weight(b"1.5"), Some(1.5));
        assert_eq!(parse_weight(b" 7"), Some(7.0));
        assert_eq!(parse_weight(b""), Some(0.0));
        assert_eq!(parse_weight(b"0x10"), Some(16.0));
        assert_eq!(parse_weight(b"3\0xyz"), Some(3.0));
        assert_eq!(parse_weight(b"-inf"), Some(f64::NEG_INFINITY));
        for bad in [&b"1 "[..], b"abc", b"  ", b"nan", b"1e400", b"1e-310"] {
            assert_eq!(parse_weight(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn string_comparison_stops_at_nul_unless_storing() {
        assert_eq!(c_strcmp(b"a\0b", b"a\0a"), Ordering::Equal);
        assert_eq!(c_strcmp(b"ab", b"abc"), Ordering::Less);
        assert_eq!(c_strcmp(b"\xff", b"z"), Ordering::Greater);
        let p = SortParams { desc: false, alpha: true, bypattern: false, store: true };
        let (a, b) = (SortObject::new(b"a\0b".to_vec()), SortObject::new(b"a\0a".to_vec()));
        assert_eq!(p.compare(&a, &b), Ordering::Greater);
        assert_eq!(SortParams { store: false, ..p }.compare(&a, &b), Ordering::Equal);
        assert!(option_is(b"DeSc\0x", "desc") && !option_is(b"descx", "desc"));
    }

    #[test]
    fn numeric_ties_break_on_bytes_and_missing_alpha_weights_sort_first() {
        let p = SortParams { desc: false, alpha: false, bypattern: false, store: false };
        let mut v: Vec<SortObject> = ["2.0", "02", "2", "1"].iter().map(|s| SortObject::new(s.as_bytes().to_vec())).collect();
        for so in v.iter_mut() {
            so.score = parse_weight(&so.obj).unwrap_or(f64::NAN);
        }
        v.sort_by(|a, b| p.compare(a, b));
        let order: Vec<&[u8]> = v.iter().map(|s| s.obj.as_slice()).collect();
        assert_eq!(order, [&b"1"[..], b"02", b"2", b"2.0"]);
        let p = SortParams { desc: true, alpha: true, bypattern: true, store: false };
        let missing = SortObject::new(b"m".to_vec());
        let weighted = SortObject { cmpobj: Some(b"a".to_vec()), ..SortObject::new(b"w".to_vec()) };
        assert_eq!(p.compare(&missing, &weighted), Ordering::Greater);
        assert_eq!(p.compare(&missing, &missing.clone()), Ordering::Equal);
    }

    /// A small deterministic generator for the pqsort checks.
    fn lcg(state: &mut u64) -> u64 {
        *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        *state >> 33
    }

    #[test]
    fn pqsort_puts_the_requested_range_in_order() {
        let mut seed = 42u64;
        for n in [0usize, 1, 6, 7, 8, 40, 41, 100, 333] {
            for _ in 0..20 {
                let mut v: Vec<(u64, usize)> = (0..n).map(|i| (lcg(&mut seed) % 10, i)).collect();
                let mut full: Vec<u64> = v.iter().map(|e| e.0).collect();
                full.sort_unstable();
                let l = (lcg(&mut seed) % (n as u64 + 1)) as i64;
                let r = (l + (lcg(&mut seed) % 12) as i64).min(n as i64 - 1);
                pqsort(&mut v, l, r, &|a: &(u64, usize), b: &(u64, usize)| a.0.cmp(&b.0));
                for i in l.max(0)..=r {
                    assert_eq!(v[i as usize].0, full[i as usize], "n={} l={} r={}", n, l, r);
                }
                let mut ids: Vec<usize> = v.iter().map(|e| e.1).collect();
                ids.sort_unstable();
                assert!(ids.iter().copied().eq(0..n), "a permutation");
            }
        }
    }

    #[test]
    fn pqsort_keeps_redis_tie_order() {
        // From the real server: SORT t12 BY none_* ALPHA LIMIT 0 5 on l k j ... a.
        let mut v: Vec<u8> = b"lkjihgfedcba".to_vec();
        pqsort(&mut v, 0, 4, &|_: &u8, _: &u8| Ordering::Equal);
        assert_eq!(&v[..5], b"akjih");
    }

    #[test]
    fn sort_lists_with_limit_by_and_get() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        push(&mut srv, &mut c, "l", &["3", "1", "2", "10"]);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l"]), bulks(&["1", "2", "3", "10"]));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "alpha", "desc"]), bulks(&["3", "2", "10", "1"]));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "limit", "1", "2"]), bulks(&["2", "3"]));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "by", "nosort", "desc", "limit", "0", "2"]), bulks(&["10", "2"]));
        run(&mut srv, &mut c, crate::t_hash::hset_command, &["hset", "h_1", "f", "one"]);
        run(&mut srv, &mut c, crate::t_hash::hset_command, &["hset", "h_3", "f", "three"]);
        let reply = run(&mut srv, &mut c, sort_command, &["sort", "l", "get", "#", "get", "h_*->f", "limit", "0", "3"]);
        assert_eq!(reply, "*6\r\n$1\r\n1\r\n$3\r\none\r\n$1\r\n2\r\n$-1\r\n$1\r\n3\r\n$5\r\nthree\r\n");
        let err = "-ERR One or more scores can't be converted into double\r\n";
        push(&mut srv, &mut c, "bad", &["1", "x"]);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "bad"]), err);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "limit", "x", "1"]), "-ERR value is not an integer or out of range\r\n");
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "limit", "1"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn store_writes_a_list_or_deletes_the_destination() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        push(&mut srv, &mut c, "l", &["b", "a"]);
        let dirty = srv.dirty;
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "l", "alpha", "get", "#", "get", "no_*", "store", "d"]), ":4\r\n");
        assert_eq!(srv.dirty, dirty + 4);
        let stored = run(&mut srv, &mut c, crate::t_list::lrange_command, &["lrange", "d", "0", "-1"]);
        assert_eq!(stored, bulks(&["a", "", "b", ""]));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "nokey", "store", "d"]), ":0\r\n");
        assert!(srv.db[0].dict.get(b"d".as_slice()).is_none());
        assert_eq!(srv.dirty, dirty + 5);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "nokey", "store", "d"]), ":0\r\n");
        assert_eq!(srv.dirty, dirty + 5);
        assert_eq!(run(&mut srv, &mut c, sort_ro_command, &["sort_ro", "l", "store", "d"]), "-ERR syntax error\r\n");
    }

    #[test]
    fn sets_zsets_and_wrong_types() {
        let mut srv = test_server();
        let mut c = Client::new(1, None, 0);
        run(&mut srv, &mut c, crate::t_set::sadd_command, &["sadd", "s", "10", "2", "1"]);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "s", "by", "nosort", "desc"]), bulks(&["1", "2", "10"]));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "s", "by", "nosort", "store", "d"]), ":3\r\n");
        let stored = run(&mut srv, &mut c, crate::t_list::lrange_command, &["lrange", "d", "0", "-1"]);
        assert_eq!(stored, bulks(&["1", "10", "2"]), "forced ALPHA");
        run(&mut srv, &mut c, crate::t_zset::zadd_command, &["zadd", "z", "2", "a", "1", "b", "3", "c"]);
        assert_eq!(run(&mut srv, &mut c, sort_ro_command, &["sort_ro", "z", "alpha"]), bulks(&["a", "b", "c"]));
        let enc = |srv: &Server| srv.db[0].dict.get(b"z".as_slice()).map(|o| o.encoding_name());
        assert_eq!(enc(&srv), Some("skiplist"));
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "z", "by", "nosort", "desc", "limit", "1", "5"]), bulks(&["a", "b"]));
        crate::db::set_key(&mut srv, 0, b"str", RObj::string_from(b"v", 0), false);
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "str"]), wrongtype);
        assert_eq!(run(&mut srv, &mut c, sort_command, &["sort", "str", "bad"]), "-ERR syntax error\r\n");
    }
}

//! Sorted sets of integers: Redis's intset.c, the compact encoding of small all-integer
//! sets (OBJECT ENCODING "intset"). Members are kept sorted and unique in an array of the
//! narrowest width that holds every one of them (16, 32 or 64 bits); adding a wider value
//! upgrades the whole array, and nothing ever downgrades it. Lookups are binary searches.
//!
//! The array grows and shrinks by exactly one element per change, as Redis's zrealloc does,
//! so the memory held is the blob size. Like the rest of a value it is touched only by the
//! command running on the single-threaded event loop.

use std::cell::Cell;

/// Redis: INTSET_ENC_INT16 / INT32 / INT64: the width of each member in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IntsetEncoding {
    Int16 = 2,
    Int32 = 4,
    Int64 = 8,
}

/// Redis: intset.h struct intset, one typed array per encoding. Boxed slices (24 bytes,
/// not a Vec's 32) since the array is always exactly as long as the set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intset {
    Int16(Box<[i16]>),
    Int32(Box<[i32]>),
    Int64(Box<[i64]>),
}

/// Redis: sizeof(intset), the header before the members (encoding and length, u32 each).
pub const INTSET_HEADER_SIZE: usize = 8;

/// Redis: intset.c _intsetValueEncoding(): the narrowest encoding holding `v`.
pub fn intset_value_encoding(v: i64) -> IntsetEncoding {
    if i16::try_from(v).is_ok() {
        IntsetEncoding::Int16
    } else if i32::try_from(v).is_ok() {
        IntsetEncoding::Int32
    } else {
        IntsetEncoding::Int64
    }
}

/// The member types of the three encodings.
trait Member: Copy + Ord + Into<i64> + TryFrom<i64> {}
impl Member for i16 {}
impl Member for i32 {}
impl Member for i64 {}

/// Redis: intset.c intsetSearch(): Ok(position) when found, Err(insert position) when not.
/// The ends are checked first, as Redis does, so appends and prepends skip the search.
fn search<T: Member>(members: &[T], value: i64) -> Result<usize, usize> {
    let (Some(&first), Some(&last)) = (members.first(), members.last()) else { return Err(0) };
    if value > last.into() {
        return Err(members.len());
    }
    if value < first.into() {
        return Err(0);
    }
    // Between the ends, so it fits this encoding.
    let Ok(v) = T::try_from(value) else { return Err(0) };
    members.binary_search(&v)
}

/// Inserts in order, growing the array by exactly one member (Redis: intsetResize()).
fn insert<T: Member>(members: &mut Box<[T]>, value: i64) -> bool {
    let Ok(v) = T::try_from(value) else { return false };
    match search(members, value) {
        Ok(_) => false,
        Err(pos) => {
            let mut grown = std::mem::take(members).into_vec();
            grown.reserve_exact(1);
            grown.insert(pos, v);
            *members = grown.into_boxed_slice();
            true
        }
    }
}

/// Removes and shrinks the array to its new length.
fn delete<T: Member>(members: &mut Box<[T]>, value: i64) -> bool {
    match search(members, value) {
        Ok(pos) => {
            let mut shrunk = std::mem::take(members).into_vec();
            shrunk.remove(pos);
            *members = shrunk.into_boxed_slice();
            true
        }
        Err(_) => false,
    }
}

/// Redis: the copy loop of intsetUpgradeAndAdd(): every member widened, plus `value`,
/// which lies beyond all of them: first when negative, last otherwise.
fn widened_with<T: Member, U: Member + From<T>>(members: &[T], value: U) -> Box<[U]> {
    let mut wide = Vec::with_capacity(members.len() + 1);
    let prepend = value.into() < 0;
    if prepend {
        wide.push(value);
    }
    wide.extend(members.iter().map(|&m| U::from(m)));
    if !prepend {
        wide.push(value);
    }
    wide.into_boxed_slice()
}

impl Default for Intset {
    fn default() -> Self {
        Intset::new()
    }
}

impl Intset {
    /// Redis: intset.c intsetNew(): empty, 16-bit.
    pub fn new() -> Intset {
        Intset::Int16(Box::default())
    }

    /// The current member width.
    pub fn encoding(&self) -> IntsetEncoding {
        match self {
            Intset::Int16(_) => IntsetEncoding::Int16,
            Intset::Int32(_) => IntsetEncoding::Int32,
            Intset::Int64(_) => IntsetEncoding::Int64,
        }
    }

    /// Redis: intset.c intsetLen().
    pub fn len(&self) -> usize {
        match self {
            Intset::Int16(v) => v.len(),
            Intset::Int32(v) => v.len(),
            Intset::Int64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Redis: intset.c intsetAdd(): true when `value` was not there and is now.
    pub fn add(&mut self, value: i64) -> bool {
        if intset_value_encoding(value) > self.encoding() {
            self.upgrade_and_add(value);
            return true;
        }
        match self {
            Intset::Int16(v) => insert(v, value),
            Intset::Int32(v) => insert(v, value),
            Intset::Int64(v) => insert(v, value),
        }
    }

    /// Redis: intset.c intsetUpgradeAndAdd(): `value` needs a wider encoding than the
    /// current one, so it is outside the range of every member.
    fn upgrade_and_add(&mut self, value: i64) {
        let upgraded = match (&*self, intset_value_encoding(value)) {
            (Intset::Int16(v), IntsetEncoding::Int32) => i32::try_from(value).ok().map(|x| Intset::Int32(widened_with(v, x))),
            (Intset::Int16(v), IntsetEncoding::Int64) => Some(Intset::Int64(widened_with(v, value))),
            (Intset::Int32(v), IntsetEncoding::Int64) => Some(Intset::Int64(widened_with(v, value))),
            // Not wider: callers only come here after comparing encodings.
            (_, _) => None,
        };
        if let Some(upgraded) = upgraded {
            *self = upgraded;
        }
    }

    /// Redis: intset.c intsetRemove(): true when `value` was a member. The encoding stays.
    pub fn remove(&mut self, value: i64) -> bool {
        if intset_value_encoding(value) > self.encoding() {
            return false;
        }
        match self {
            Intset::Int16(v) => delete(v, value),
            Intset::Int32(v) => delete(v, value),
            Intset::Int64(v) => delete(v, value),
        }
    }

    /// Redis: intset.c intsetFind().
    pub fn find(&self, value: i64) -> bool {
        if intset_value_encoding(value) > self.encoding() {
            return false;
        }
        match self {
            Intset::Int16(v) => search(v, value).is_ok(),
            Intset::Int32(v) => search(v, value).is_ok(),
            Intset::Int64(v) => search(v, value).is_ok(),
        }
    }

    /// Redis: intset.c intsetGet(): the member at `pos` in ascending order.
    pub fn get(&self, pos: usize) -> Option<i64> {
        match self {
            Intset::Int16(v) => v.get(pos).map(|&m| m.into()),
            Intset::Int32(v) => v.get(pos).map(|&m| m.into()),
            Intset::Int64(v) => v.get(pos).copied(),
        }
    }

    /// Redis: intset.c intsetRandom(): a uniformly chosen member, None when empty.
    pub fn random(&self) -> Option<i64> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        self.get(random_below(len))
    }

    /// Members in ascending order (Redis: setTypeNext() over an intset).
    pub fn iter(&self) -> IntsetIter<'_> {
        IntsetIter { is: self, pos: 0 }
    }

    /// Redis: intset.c intsetBlobLen(): header plus members.
    pub fn blob_len(&self) -> usize {
        INTSET_HEADER_SIZE + self.len() * self.encoding() as usize
    }

    /// The serialized intset (little-endian header and members) that RDB stores as a string.
    pub fn to_blob(&self) -> Vec<u8> {
        let mut blob = Vec::with_capacity(self.blob_len());
        blob.extend_from_slice(&(self.encoding() as u32).to_le_bytes());
        blob.extend_from_slice(&(self.len() as u32).to_le_bytes());
        match self {
            Intset::Int16(v) => v.iter().for_each(|m| blob.extend_from_slice(&m.to_le_bytes())),
            Intset::Int32(v) => v.iter().for_each(|m| blob.extend_from_slice(&m.to_le_bytes())),
            Intset::Int64(v) => v.iter().for_each(|m| blob.extend_from_slice(&m.to_le_bytes())),
        }
        blob
    }

    /// Redis: intset.c intsetValidateIntegrity() + load: parses a blob from a file or a
    /// peer. The header must be sound, the size exact and the set non-empty; with `deep`
    /// the members must also be strictly ascending. None when any check fails.
    pub fn from_blob(blob: &[u8], deep: bool) -> Option<Intset> {
        let header = |at: usize| blob.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes);
        let (encoding, count) = (header(0)?, header(4)?);
        let width = match encoding {
            2 | 4 | 8 => encoding as usize,
            _ => return None,
        };
        let count = usize::try_from(count).ok().filter(|&n| n > 0)?;
        if count.checked_mul(width)?.checked_add(INTSET_HEADER_SIZE)? != blob.len() {
            return None;
        }
        let body = blob.get(INTSET_HEADER_SIZE..)?;
        let is = match width {
            2 => Intset::Int16(body.chunks_exact(2).map(|c| i16::from_le_bytes([c[0], c[1]])).collect()),
            4 => Intset::Int32(body.chunks_exact(4).filter_map(|c| c.try_into().ok()).map(i32::from_le_bytes).collect()),
            _ => Intset::Int64(body.chunks_exact(8).filter_map(|c| c.try_into().ok()).map(i64::from_le_bytes).collect()),
        };
        if is.len() != count || (deep && !is.is_strictly_ascending()) {
            return None;
        }
        Some(is)
    }

    fn is_strictly_ascending(&self) -> bool {
        let mut prev: Option<i64> = None;
        for m in self.iter() {
            if prev.is_some_and(|p| m <= p) {
                return false;
            }
            prev = Some(m);
        }
        true
    }
}

/// Ascending iteration over an intset's members.
#[derive(Debug, Clone)]
pub struct IntsetIter<'a> {
    is: &'a Intset,
    pos: usize,
}

impl Iterator for IntsetIter<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let v = self.is.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.is.len().saturating_sub(self.pos);
        (left, Some(left))
    }
}

thread_local! {
    /// xorshift64* state for intsetRandom() (Redis uses libc rand()); 0 = not seeded yet.
    static RAND_STATE: Cell<u64> = const { Cell::new(0) };
}

/// A random index below `n` (n > 0), from a generator seeded once by getRandomBytes().
pub fn random_below(n: usize) -> usize {
    let mut x = RAND_STATE.with(Cell::get);
    while x == 0 {
        let mut seed = [0u8; 8];
        crate::util::get_random_bytes(&mut seed);
        x = u64::from_le_bytes(seed);
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    RAND_STATE.with(|s| s.set(x));
    let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d);
    (r % (n.max(1) as u64)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn value_encodings() {
        assert_eq!(intset_value_encoding(-32768), IntsetEncoding::Int16);
        assert_eq!(intset_value_encoding(32767), IntsetEncoding::Int16);
        assert_eq!(intset_value_encoding(-32769), IntsetEncoding::Int32);
        assert_eq!(intset_value_encoding(32768), IntsetEncoding::Int32);
        assert_eq!(intset_value_encoding(i32::MIN.into()), IntsetEncoding::Int32);
        assert_eq!(intset_value_encoding(i32::MAX.into()), IntsetEncoding::Int32);
        assert_eq!(intset_value_encoding(i64::from(i32::MIN) - 1), IntsetEncoding::Int64);
        assert_eq!(intset_value_encoding(i64::from(i32::MAX) + 1), IntsetEncoding::Int64);
        assert_eq!(intset_value_encoding(i64::MIN), IntsetEncoding::Int64);
    }

    #[test]
    fn basic_add_find_remove() {
        let mut is = Intset::new();
        assert!(is.add(5));
        assert!(is.add(6));
        assert!(is.add(4));
        assert!(!is.add(4));
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![4, 5, 6]);
        assert!(is.find(5) && !is.find(7) && !is.find(1 << 40));
        assert!(is.remove(5));
        assert!(!is.remove(5));
        assert!(!is.remove(1 << 40));
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![4, 6]);
        assert_eq!(is.blob_len(), 8 + 2 * 2);
    }

    #[test]
    fn upgrades_append_or_prepend_and_never_downgrade() {
        let mut is = Intset::new();
        is.add(32);
        is.add(65535);
        assert_eq!(is.encoding(), IntsetEncoding::Int32);
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![32, 65535]);
        is.add(-4_294_967_295);
        assert_eq!(is.encoding(), IntsetEncoding::Int64);
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![-4_294_967_295, 32, 65535]);
        assert!(is.remove(-4_294_967_295));
        assert_eq!(is.encoding(), IntsetEncoding::Int64);
        let mut is = Intset::new();
        is.add(-1);
        is.add(-32769);
        assert_eq!(is.iter().collect::<Vec<_>>(), vec![-32769, -1]);
    }

    #[test]
    fn blob_matches_redis_layout() {
        // The mini fixture {7,-2} of the interop notes.
        let mut is = Intset::new();
        is.add(7);
        is.add(-2);
        let blob = is.to_blob();
        assert_eq!(blob, [2, 0, 0, 0, 2, 0, 0, 0, 0xfe, 0xff, 7, 0]);
        assert_eq!(Intset::from_blob(&blob, true), Some(is));
        let mut wide = Intset::new();
        wide.add(1);
        wide.add(5_000_000_000);
        assert_eq!(wide.to_blob().len(), 8 + 16);
        assert_eq!(Intset::from_blob(&wide.to_blob(), true), Some(wide));
    }

    #[test]
    fn from_blob_rejects_corrupt_input() {
        assert_eq!(Intset::from_blob(&[], false), None);
        assert_eq!(Intset::from_blob(&[2, 0, 0, 0, 0, 0, 0, 0], false), None); // empty
        assert_eq!(Intset::from_blob(&[3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], false), None); // encoding
        assert_eq!(Intset::from_blob(&[2, 0, 0, 0, 2, 0, 0, 0, 1, 0], false), None); // short
        assert_eq!(Intset::from_blob(&[2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0], false), None);
        let unordered = [2, 0, 0, 0, 2, 0, 0, 0, 7, 0, 1, 0];
        assert!(Intset::from_blob(&unordered, false).is_some());
        assert_eq!(Intset::from_blob(&unordered, true), None);
        let dup = [2, 0, 0, 0, 2, 0, 0, 0, 7, 0, 7, 0];
        assert_eq!(Intset::from_blob(&dup, true), None);
    }

    #[test]
    fn random_covers_every_member() {
        let mut is = Intset::new();
        for v in [-100_000, 3, 9] {
            is.add(v);
        }
        let mut seen = BTreeSet::new();
        for _ in 0..300 {
            seen.insert(is.random().unwrap_or(0));
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![-100_000, 3, 9]);
        assert_eq!(Intset::new().random(), None);
    }

    fn any_value() -> impl Strategy<Value = i64> {
        prop_oneof![-40i64..40, any::<i16>().prop_map(i64::from), any::<i32>().prop_map(i64::from), any::<i64>()]
    }

    proptest! {
        #[test]
        fn behaves_like_a_sorted_set(ops in proptest::collection::vec((any::<bool>(), any_value()), 0..200)) {
            let mut is = Intset::new();
            let mut model = BTreeSet::new();
            for (add, v) in ops {
                if add {
                    prop_assert_eq!(is.add(v), model.insert(v));
                } else {
                    prop_assert_eq!(is.remove(v), model.remove(&v));
                }
                prop_assert_eq!(is.len(), model.len());
            }
            prop_assert_eq!(is.iter().collect::<Vec<_>>(), model.iter().copied().collect::<Vec<_>>());
            let needed = model.iter().map(|&v| intset_value_encoding(v)).max().unwrap_or(IntsetEncoding::Int16);
            prop_assert!(is.encoding() >= needed);
            for v in &model {
                prop_assert!(is.find(*v));
            }
            if !model.is_empty() {
                prop_assert_eq!(Intset::from_blob(&is.to_blob(), true), Some(is.clone()));
            }
        }
    }
}

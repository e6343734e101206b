//! Ziplist, read-only: the decoding half of Redis's ziplist.c.
//!
//! Redis 7.0 no longer builds ziplists, but RDB files written before 7.0 hold them
//! (RDB_TYPE_LIST_ZIPLIST, RDB_TYPE_ZSET_ZIPLIST, RDB_TYPE_HASH_ZIPLIST and the nodes of
//! RDB_TYPE_LIST_QUICKLIST), and the loader converts them to listpacks as it reads. Nothing
//! here keeps state: the loader calls [`ziplist_validate_integrity`] on a blob read from the
//! file (inline, on the event loop thread, like every RDB load) and gets each entry through
//! its callback. Every read is bounds-checked: a corrupt blob is refused, never a panic.
//!
//! Layout (interop facts §3.11): `<zlbytes u32 LE> <zltail u32 LE> <zllen u16 LE> <entry>*
//! <0xFF>`, each entry `<prevlen> <encoding> <data>`; prevlen is 1 byte (< 254) or 0xFE and a
//! u32 LE; string lengths in the encoding are big-endian.

/// Redis: ZIPLIST_HEADER_SIZE (zlbytes, zltail, zllen).
pub const ZIPLIST_HEADER_SIZE: usize = 10;
/// Redis: ZIPLIST_END_SIZE.
const ZIPLIST_END_SIZE: usize = 1;
/// Redis: ZIP_END.
const ZIP_END: u8 = 0xFF;
/// Redis: ZIP_BIG_PREVLEN: a prevlen byte this large announces a 4-byte prevlen.
const ZIP_BIG_PREVLEN: u8 = 0xFE;
/// Redis: ZIP_STR_MASK and the string encodings (top two bits).
const ZIP_STR_MASK: u8 = 0xC0;
const ZIP_STR_06B: u8 = 0x00;
const ZIP_STR_14B: u8 = 0x40;
const ZIP_STR_32B: u8 = 0x80;
/// Redis: the integer encodings.
const ZIP_INT_16B: u8 = 0xC0;
const ZIP_INT_32B: u8 = 0xD0;
const ZIP_INT_64B: u8 = 0xE0;
const ZIP_INT_24B: u8 = 0xF0;
const ZIP_INT_8B: u8 = 0xFE;
const ZIP_INT_IMM_MIN: u8 = 0xF1;
const ZIP_INT_IMM_MAX: u8 = 0xFD;
/// Redis: UINT16_MAX in zllen: the count is unknown (walk to count).
const ZIPLIST_LEN_UNKNOWN: u16 = u16::MAX;

/// An entry's value (Redis: ziplistGet()'s string-or-integer result).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZlValue<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl ZlValue<'_> {
    /// The string form (integers in decimal), as Redis's ll2string().
    pub fn to_vec(&self) -> Vec<u8> {
        match *self {
            ZlValue::Str(s) => s.to_vec(),
            ZlValue::Int(v) => v.to_string().into_bytes(),
        }
    }

    /// Length of the string form.
    pub fn str_len(&self) -> usize {
        match *self {
            ZlValue::Str(s) => s.len(),
            ZlValue::Int(v) => crate::util::sdigits10(v) as usize,
        }
    }
}

/// Redis: zlentry, the fields decoding needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ZlEntry {
    prevrawlen: usize,
    /// prevlen bytes + encoding bytes.
    headersize: usize,
    /// Data bytes after the header.
    len: usize,
    encoding: u8,
}

fn le_u32(zl: &[u8], at: usize) -> Option<u32> {
    zl.get(at..at.checked_add(4)?)?.try_into().ok().map(u32::from_le_bytes)
}

fn be_u32(zl: &[u8], at: usize) -> Option<u32> {
    zl.get(at..at.checked_add(4)?)?.try_into().ok().map(u32::from_be_bytes)
}

/// Redis: ZIP_DECODE_PREVLEN(): (prevlen bytes, previous entry's size).
fn decode_prevlen(zl: &[u8], p: usize) -> Option<(usize, usize)> {
    let first = *zl.get(p)?;
    if first < ZIP_BIG_PREVLEN {
        Some((1, usize::from(first)))
    } else {
        Some((5, le_u32(zl, p + 1)? as usize))
    }
}

/// Redis: ZIP_ENTRY_ENCODING() + ZIP_DECODE_LENGTH(): (encoding, encoding bytes, data
/// length); None for an invalid encoding byte.
fn decode_length(zl: &[u8], p: usize) -> Option<(u8, usize, usize)> {
    let mut encoding = *zl.get(p)?;
    if encoding < ZIP_STR_MASK {
        encoding &= ZIP_STR_MASK;
    }
    let (lensize, len) = match encoding {
        ZIP_STR_06B => (1, usize::from(zl.get(p)? & 0x3F)),
        ZIP_STR_14B => (2, (usize::from(zl.get(p)? & 0x3F) << 8) | usize::from(*zl.get(p + 1)?)),
        ZIP_STR_32B => (5, be_u32(zl, p + 1)? as usize),
        ZIP_INT_8B => (1, 1),
        ZIP_INT_16B => (1, 2),
        ZIP_INT_24B => (1, 3),
        ZIP_INT_32B => (1, 4),
        ZIP_INT_64B => (1, 8),
        ZIP_INT_IMM_MIN..=ZIP_INT_IMM_MAX => (1, 0),
        _ => return None,
    };
    Some((encoding, lensize, len))
}

/// Redis: zipEntrySafe(): the entry at `p`, if its header and data lie inside the ziplist
/// and its prevlen does not point before the first entry.
fn zip_entry_safe(zl: &[u8], p: usize) -> Option<ZlEntry> {
    let zllast = zl.len().checked_sub(ZIPLIST_END_SIZE)?;
    let in_range = |at: usize| (ZIPLIST_HEADER_SIZE..=zllast).contains(&at);
    if !in_range(p) {
        return None;
    }
    let (prevrawlensize, prevrawlen) = decode_prevlen(zl, p)?;
    let (encoding, lensize, len) = decode_length(zl, p.checked_add(prevrawlensize)?)?;
    let headersize = prevrawlensize + lensize;
    let next = p.checked_add(headersize)?.checked_add(len)?;
    if !in_range(next) || !p.checked_sub(prevrawlen).is_some_and(in_range) {
        return None;
    }
    Some(ZlEntry { prevrawlen, headersize, len, encoding })
}

/// Redis: zipLoadInteger(): the integer stored with `encoding` at `at`.
fn load_integer(zl: &[u8], at: usize, encoding: u8) -> Option<i64> {
    let bytes = |n: usize| zl.get(at..at.checked_add(n)?);
    Some(match encoding {
        ZIP_INT_8B => i64::from(*bytes(1)?.first()? as i8),
        ZIP_INT_16B => i64::from(i16::from_le_bytes(bytes(2)?.try_into().ok()?)),
        ZIP_INT_24B => {
            let b = bytes(3)?;
            // Sign-extend from 24 bits, as Redis's `i32 >> 8` over the bytes shifted up.
            i64::from(i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8)
        }
        ZIP_INT_32B => i64::from(i32::from_le_bytes(bytes(4)?.try_into().ok()?)),
        ZIP_INT_64B => i64::from_le_bytes(bytes(8)?.try_into().ok()?),
        ZIP_INT_IMM_MIN..=ZIP_INT_IMM_MAX => i64::from(encoding & 0x0F) - 1,
        _ => return None,
    })
}

/// Redis: ziplistGet(): the value of a decoded entry.
fn entry_value<'a>(zl: &'a [u8], p: usize, e: &ZlEntry) -> Option<ZlValue<'a>> {
    let data = p.checked_add(e.headersize)?;
    if e.encoding < ZIP_STR_MASK {
        return zl.get(data..data.checked_add(e.len)?).map(ZlValue::Str);
    }
    load_integer(zl, data, e.encoding).map(ZlValue::Int)
}

/// Redis: ziplistValidateIntegrity(). The header must match the blob's size, end with
/// 0xFF and have its tail offset inside; with `deep`, every entry must decode inside the
/// blob with a correct prevlen, the tail offset must point at the last entry and the count
/// (when known) must match. `entry_cb` sees each entry with the header's count and may
/// refuse it (Redis: ziplistValidateEntryCB).
pub fn ziplist_validate_integrity(
    zl: &[u8],
    deep: bool,
    mut entry_cb: impl FnMut(ZlValue<'_>, u16) -> bool,
) -> bool {
    let size = zl.len();
    if size < ZIPLIST_HEADER_SIZE + ZIPLIST_END_SIZE
        || le_u32(zl, 0).map(|b| b as usize) != Some(size)
        || zl.last() != Some(&ZIP_END)
        || le_u32(zl, 4).is_none_or(|tail| tail as usize > size - ZIPLIST_END_SIZE)
    {
        return false;
    }
    if !deep {
        return true;
    }
    let header_count = u16::from_le_bytes([zl[8], zl[9]]);
    walk_entries(zl, header_count, &mut entry_cb)
}

/// The deep half of ziplistValidateIntegrity(): every entry, then the trailer checks.
fn walk_entries(zl: &[u8], header_count: u16, entry_cb: &mut impl FnMut(ZlValue<'_>, u16) -> bool) -> bool {
    let mut p = ZIPLIST_HEADER_SIZE;
    let mut prev: Option<usize> = None;
    let mut prev_raw_size = 0usize;
    let mut count = 0usize;
    while zl.get(p).is_some_and(|&b| b != ZIP_END) {
        let Some(e) = zip_entry_safe(zl, p) else { return false };
        if e.prevrawlen != prev_raw_size {
            return false;
        }
        match entry_value(zl, p, &e) {
            Some(v) if entry_cb(v, header_count) => {}
            _ => return false,
        }
        prev_raw_size = e.headersize + e.len;
        prev = Some(p);
        p += prev_raw_size;
        count += 1;
    }
    let tail = le_u32(zl, 4).map(|t| t as usize);
    p == zl.len() - ZIPLIST_END_SIZE
        && prev.is_none_or(|last| Some(last) == tail)
        && (header_count == ZIPLIST_LEN_UNKNOWN || count == usize::from(header_count))
}

/// Every entry of a ziplist after a deep validation, or None if it is corrupt.
pub fn ziplist_entries(zl: &[u8]) -> Option<Vec<ZlValue<'_>>> {
    let mut out = Vec::new();
    let mut p = ZIPLIST_HEADER_SIZE;
    let ok = ziplist_validate_integrity(zl, true, |_, _| true);
    while ok && zl.get(p).is_some_and(|&b| b != ZIP_END) {
        let e = zip_entry_safe(zl, p)?;
        out.push(entry_value(zl, p, &e)?);
        p += e.headersize + e.len;
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a ziplist from raw entries (encoding + data), computing prevlens and header.
    fn build(entries: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut prev_size = 0usize;
        let mut tail = ZIPLIST_HEADER_SIZE;
        for e in entries {
            tail = ZIPLIST_HEADER_SIZE + body.len();
            let start = body.len();
            if prev_size < 254 {
                body.push(prev_size as u8);
            } else {
                body.push(0xFE);
                body.extend_from_slice(&(prev_size as u32).to_le_bytes());
            }
            body.extend_from_slice(e);
            prev_size = body.len() - start;
        }
        let total = ZIPLIST_HEADER_SIZE + body.len() + 1;
        let mut zl = Vec::new();
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&(tail as u32).to_le_bytes());
        zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(ZIP_END);
        zl
    }

    fn values(zl: &[u8]) -> Vec<Vec<u8>> {
        ziplist_entries(zl).expect("valid ziplist").iter().map(|v| v.to_vec()).collect()
    }

    #[test]
    fn every_string_encoding_decodes() {
        let long14 = [b'y'; 300];
        let mut enc14 = vec![0x40 | (300 >> 8) as u8, (300 & 0xFF) as u8];
        enc14.extend_from_slice(&long14);
        let mut enc32 = vec![0x80, 0, 0, 0x40, 0];
        enc32.extend_from_slice(&[b'z'; 0x4000]);
        let zl = build(&[b"\x03foo", &enc14, &enc32, b"\x00"]);
        let got = values(&zl);
        assert_eq!(got[0], b"foo");
        assert_eq!(got[1], long14.to_vec());
        assert_eq!(got[2], vec![b'z'; 0x4000]);
        assert_eq!(got[3], b"");
    }

    #[test]
    fn every_integer_encoding_decodes() {
        let zl = build(&[
            &[0xFE, 0x80],                         // int8 -128
            &[0xC0, 0x39, 0x30],                   // int16 12345
            &[0xF0, 0xFF, 0xFF, 0x7F],             // int24 8388607
            &[0xF0, 0x00, 0x00, 0x80],             // int24 -8388608
            &[0xD0, 0x00, 0x00, 0x00, 0x80],       // int32 i32::MIN
            &[0xE0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F], // int64 MAX
            &[0xF1],                               // immediate 0
            &[0xFD],                               // immediate 12
        ]);
        let got: Vec<ZlValue> = ziplist_entries(&zl).unwrap();
        assert_eq!(
            got,
            vec![
                ZlValue::Int(-128),
                ZlValue::Int(12345),
                ZlValue::Int(8388607),
                ZlValue::Int(-8388608),
                ZlValue::Int(i64::from(i32::MIN)),
                ZlValue::Int(i64::MAX),
                ZlValue::Int(0),
                ZlValue::Int(12),
            ]
        );
    }

    /// The ziplist Redis 6.2 writes for RPUSH l a 1: [a, 1] with 1 as an immediate.
    #[test]
    fn redis_written_ziplist_decodes() {
        let zl = [16, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0x00, 0x01, b'a', 0x03, 0xf2, 0xff];
        assert_eq!(values(&zl), vec![b"a".to_vec(), b"1".to_vec()]);
        assert_eq!(build(&[b"\x01a", &[0xF2]]), zl.to_vec());
    }

    #[test]
    fn big_prevlen_is_followed() {
        let big = {
            let mut e = vec![0x40 | 1, 44]; // 14-bit string of 300 bytes
            e.extend_from_slice(&[b'q'; 300]);
            e
        };
        let zl = build(&[&big, b"\x01x"]);
        assert_eq!(values(&zl)[1], b"x");
        // The second entry's prevlen is the 5-byte form.
        let second = ZIPLIST_HEADER_SIZE + 1 + big.len();
        assert_eq!(zl[second], 0xFE);
    }

    #[test]
    fn corrupt_ziplists_are_refused() {
        let good = build(&[b"\x03foo", &[0xF2]]);
        assert!(ziplist_validate_integrity(&good, true, |_, _| true));
        let mut bad_total = good.clone();
        bad_total[0] += 1;
        assert!(!ziplist_validate_integrity(&bad_total, false, |_, _| true));
        let mut no_end = good.clone();
        *no_end.last_mut().unwrap() = 0;
        assert!(!ziplist_validate_integrity(&no_end, false, |_, _| true));
        let mut bad_count = good.clone();
        bad_count[8] = 3;
        assert!(!ziplist_validate_integrity(&bad_count, true, |_, _| true));
        let mut unknown_count = good.clone();
        unknown_count[8] = 0xFF;
        unknown_count[9] = 0xFF;
        assert!(ziplist_validate_integrity(&unknown_count, true, |_, _| true));
        let mut bad_tail = good.clone();
        bad_tail[4] = 10;
        assert!(!ziplist_validate_integrity(&bad_tail, true, |_, _| true));
        let mut bad_prevlen = good.clone();
        bad_prevlen[ZIPLIST_HEADER_SIZE + 5] = 4;
        assert!(!ziplist_validate_integrity(&bad_prevlen, true, |_, _| true));
        let mut bad_encoding = good.clone();
        bad_encoding[ZIPLIST_HEADER_SIZE + 6] = 0xC5;
        assert!(!ziplist_validate_integrity(&bad_encoding, true, |_, _| true));
        let mut too_long = good.clone();
        too_long[ZIPLIST_HEADER_SIZE + 1] = 0x3F;
        assert!(!ziplist_validate_integrity(&too_long, true, |_, _| true));
        assert!(!ziplist_validate_integrity(&good[..5], false, |_, _| true));
        assert!(!ziplist_validate_integrity(&good, true, |_, _| false), "callback refusal");
        assert_eq!(ziplist_entries(&bad_prevlen), None);
    }

    #[test]
    fn callback_sees_header_count_and_values() {
        let zl = build(&[b"\x01k", b"\x01v"]);
        let mut seen = Vec::new();
        assert!(ziplist_validate_integrity(&zl, true, |v, n| {
            seen.push((v.to_vec(), n));
            true
        }));
        assert_eq!(seen, vec![(b"k".to_vec(), 2), (b"v".to_vec(), 2)]);
    }

    #[test]
    fn empty_ziplist_is_valid() {
        let zl = build(&[]);
        assert_eq!(zl.len(), 11);
        assert_eq!(values(&zl), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let mut seed = 0x1234_5678_u64;
        for len in 0..200usize {
            let mut blob: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    (seed >> 33) as u8
                })
                .collect();
            if blob.len() >= 11 {
                let n = blob.len() as u32;
                blob[..4].copy_from_slice(&n.to_le_bytes());
                *blob.last_mut().unwrap() = 0xFF;
            }
            let _ = ziplist_entries(&blob);
        }
    }
}

//! Zipmap, read-only: the decoding half of Redis's zipmap.c.
//!
//! Zipmaps were the small-hash encoding of Redis 2.4 and earlier; Redis 7.0 still loads
//! them from old RDB files (RDB_TYPE_HASH_ZIPMAP) and converts them to listpack or hash
//! table hashes at once. The loader validates a blob read from the file with
//! [`zipmap_validate_integrity`], then walks its pairs with [`ZipmapIter`]; both run inline
//! while loading, on the event loop thread, and every read is bounds-checked.
//!
//! Layout (interop facts §3.12): `<zmlen: 1 byte, the count if < 254> (<len> key <len>
//! <free: 1 byte> value <free unused bytes>)* <0xFF>`; a len is 1 byte if < 254, else 0xFE
//! (or 0xFF) followed by a u32 in host order (little-endian in practice).

/// Redis: ZIPMAP_BIGLEN: the length byte that announces a 4-byte length.
const ZIPMAP_BIGLEN: u8 = 254;
/// Redis: ZIPMAP_END.
const ZIPMAP_END: u8 = 255;

/// Redis: zipmapGetEncodedLengthSize(): 1 or 5 bytes.
fn encoded_length_size(first: u8) -> usize {
    if first < ZIPMAP_BIGLEN {
        1
    } else {
        5
    }
}

/// Redis: zipmapDecodeLength(): (length, bytes it took) of the length at `p`.
fn decode_length(zm: &[u8], p: usize) -> Option<(usize, usize)> {
    let first = *zm.get(p)?;
    if first < ZIPMAP_BIGLEN {
        return Some((usize::from(first), 1));
    }
    let raw: [u8; 4] = zm.get(p.checked_add(1)?..p.checked_add(5)?)?.try_into().ok()?;
    Some((u32::from_le_bytes(raw) as usize, 5))
}

/// Redis: zipmapValidateIntegrity(). The blob must end with 0xFF; with `deep`, every
/// key, value and free area must lie inside it, there must be at least one pair, and the
/// count byte (unless 254, "too many to count") must match.
pub fn zipmap_validate_integrity(zm: &[u8], deep: bool) -> bool {
    if zm.len() < 2 || zm.last() != Some(&ZIPMAP_END) {
        return false;
    }
    if !deep {
        return true;
    }
    match count_pairs(zm) {
        Some(0) | None => false,
        Some(count) => zm[0] == ZIPMAP_BIGLEN || usize::from(zm[0]) == count,
    }
}

/// The deep walk of zipmapValidateIntegrity(): the number of pairs, None if any part of
/// an entry would lie outside the blob (Redis: OUT_OF_RANGE, p in [zm+2, zm+size-1]).
fn count_pairs(zm: &[u8]) -> Option<usize> {
    let last = zm.len() - 1;
    let in_range = |p: usize| (2..=last).contains(&p);
    let mut p = 1usize;
    let mut count = 0usize;
    while *zm.get(p)? != ZIPMAP_END {
        let s = encoded_length_size(zm[p]);
        if !in_range(p + s) {
            return None;
        }
        let (klen, _) = decode_length(zm, p)?;
        p = p.checked_add(s)?.checked_add(klen)?;
        if !in_range(p) {
            return None;
        }
        let s = encoded_length_size(zm[p]);
        if !in_range(p + s) {
            return None;
        }
        let (vlen, _) = decode_length(zm, p)?;
        p += s;
        let free = usize::from(*zm.get(p)?);
        p = p.checked_add(1)?.checked_add(vlen)?.checked_add(free)?;
        count += 1;
        if !in_range(p) {
            return None;
        }
    }
    Some(count)
}

/// Redis: zipmapRewind() + zipmapNext(): the (key, value) pairs in order. Stops (returns
/// None) at the end marker or at anything out of bounds.
pub struct ZipmapIter<'a> {
    zm: &'a [u8],
    p: usize,
}

/// Redis: zipmapRewind(): an iterator at the first pair.
pub fn zipmap_rewind(zm: &[u8]) -> ZipmapIter<'_> {
    ZipmapIter { zm, p: 1 }
}

impl<'a> Iterator for ZipmapIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    /// Redis: zipmapNext().
    fn next(&mut self) -> Option<Self::Item> {
        let zm = self.zm;
        if *zm.get(self.p)? == ZIPMAP_END {
            return None;
        }
        let (klen, ks) = decode_length(zm, self.p)?;
        let kstart = self.p.checked_add(ks)?;
        let key = zm.get(kstart..kstart.checked_add(klen)?)?;
        let vpos = kstart + klen;
        let (vlen, vs) = decode_length(zm, vpos)?;
        let free = usize::from(*zm.get(vpos.checked_add(vs)?)?);
        let vstart = vpos + vs + 1;
        let value = zm.get(vstart..vstart.checked_add(vlen)?)?;
        self.p = vstart.checked_add(vlen)?.checked_add(free)?;
        Some((key, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The interop facts' example: foo => bar, hello => world.
    const EXAMPLE: &[u8] = b"\x02\x03foo\x03\x00bar\x05hello\x05\x00world\xff";

    #[test]
    fn facts_example_decodes() {
        assert!(zipmap_validate_integrity(EXAMPLE, true));
        let pairs: Vec<(&[u8], &[u8])> = zipmap_rewind(EXAMPLE).collect();
        assert_eq!(pairs, vec![(&b"foo"[..], &b"bar"[..]), (&b"hello"[..], &b"world"[..])]);
    }

    #[test]
    fn free_space_and_big_lengths_are_skipped() {
        // key "k" -> value "v" with 2 free bytes, then a 300-byte value with a 5-byte length.
        let mut zm = vec![0x02, 0x01, b'k', 0x01, 0x02, b'v', 0xAA, 0xBB];
        zm.extend_from_slice(&[0x01, b'z', 0xFE]);
        zm.extend_from_slice(&300u32.to_le_bytes());
        zm.push(0);
        zm.extend_from_slice(&[b'w'; 300]);
        zm.push(0xFF);
        assert!(zipmap_validate_integrity(&zm, true));
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = zipmap_rewind(&zm).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(pairs, vec![(b"k".to_vec(), b"v".to_vec()), (b"z".to_vec(), vec![b'w'; 300])]);
    }

    #[test]
    fn count_byte_254_means_unknown() {
        let mut zm = EXAMPLE.to_vec();
        zm[0] = 254;
        assert!(zipmap_validate_integrity(&zm, true));
        zm[0] = 3;
        assert!(!zipmap_validate_integrity(&zm, true));
    }

    #[test]
    fn corrupt_zipmaps_are_refused() {
        assert!(!zipmap_validate_integrity(b"", false));
        assert!(!zipmap_validate_integrity(b"\x00", false));
        assert!(!zipmap_validate_integrity(b"\x00\xff", true), "empty zipmaps are invalid");
        let mut no_end = EXAMPLE.to_vec();
        *no_end.last_mut().unwrap() = 0;
        assert!(!zipmap_validate_integrity(&no_end, false));
        let mut long_key = EXAMPLE.to_vec();
        long_key[1] = 200;
        assert!(!zipmap_validate_integrity(&long_key, true));
        let mut big_free = EXAMPLE.to_vec();
        big_free[6] = 100;
        assert!(!zipmap_validate_integrity(&big_free, true));
        let mut huge = EXAMPLE.to_vec();
        huge[1] = 0xFE; // a 4-byte length of "foo\x03"
        assert!(!zipmap_validate_integrity(&huge, true));
    }

    #[test]
    fn iterator_stops_on_truncated_input() {
        let cut = &EXAMPLE[..10];
        let pairs: Vec<_> = zipmap_rewind(cut).collect();
        assert_eq!(pairs.len(), 1);
    }
}

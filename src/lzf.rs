//! LZF compression: Redis's lzf_c.c (liblzf 3.6, as configured by Redis's lzfP.h: HLOG 16,
//! VERY_FAST, a zeroed hash table). RDB strings longer than 20 bytes are stored LZF-compressed
//! when `rdbcompression` is on, and DEBUG OBJECT's serializedlength reports that size, so the
//! compressor must make the same choices as Redis's byte for byte. Pure computation; it runs
//! inside whichever command or save needs it.
//!
//! Output format (the decompressor's contract):
//! - `000LLLLL` then L+1 literal bytes;
//! - `LLLooooo oooooooo`: copy L+2 bytes from `offset + 1` bytes back (L in 1..=6);
//! - `111ooooo LLLLLLLL oooooooo`: the same with a length of L+9.

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The hash table, kept between calls so that a compression does not first clear 512 KB
/// (RDB saves call this once per long value). Entries are positions plus the `base` of the
/// call that stored them; anything below the current call's base reads as the zeroed
/// slot of a fresh table, so every call behaves exactly as with a zeroed table.
struct HashTable {
    slots: Vec<u64>,
    base: u64,
}

impl HashTable {
    fn get(&self, slot: usize) -> usize {
        let stored = self.slots.get(slot).copied().unwrap_or(0);
        stored.checked_sub(self.base).map_or(0, |pos| pos as usize)
    }

    fn set(&mut self, slot: usize, pos: usize) -> usize {
        let old = self.get(slot);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = self.base + pos as u64;
        }
        old
    }
}

thread_local! {
    static HTAB: std::cell::RefCell<HashTable> =
        std::cell::RefCell::new(HashTable { slots: Vec::new(), base: 1 });
}

/// Redis: lzf_c.c FRST(): the first two bytes of a hash window.
fn first(input: &[u8], ip: usize) -> u32 {
    (u32::from(byte(input, ip)) << 8) | u32::from(byte(input, ip + 1))
}

/// Redis: lzf_c.c NEXT(): slides the hash window one byte (the third byte enters).
fn next(hval: u32, input: &[u8], ip: usize) -> u32 {
    (hval << 8) | u32::from(byte(input, ip + 2))
}

/// Every position read is in bounds by the loop conditions; `get` keeps that a non-panic.
fn byte(input: &[u8], at: usize) -> u8 {
    input.get(at).copied().unwrap_or(0)
}

/// Redis: lzf_c.c IDX() with VERY_FAST.
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The output buffer with the currently open literal run (Redis's `op` and `lit`).
struct Output {
    buf: Vec<u8>,
    cap: usize,
    /// Where the open run's header byte sits, and how many literals it holds.
    run_start: usize,
    lit: usize,
}

impl Output {
    fn new(cap: usize) -> Output {
        Output { buf: vec![0], cap, run_start: 0, lit: 0 }
    }

    /// Closes the open literal run, dropping its header if it holds nothing.
    fn stop_run(&mut self) {
        if self.lit == 0 {
            self.buf.pop();
        } else if let Some(header) = self.buf.get_mut(self.run_start) {
            *header = (self.lit - 1) as u8;
        }
    }

    fn start_run(&mut self) {
        self.lit = 0;
        self.run_start = self.buf.len();
        self.buf.push(0);
    }

    fn push_literal(&mut self, byte: u8) {
        self.lit += 1;
        self.buf.push(byte);
        if self.lit == MAX_LIT {
            self.stop_run();
            self.start_run();
        }
    }

    /// Redis's checks are on `op`, the position after the open run's header.
    fn op(&self) -> usize {
        self.buf.len()
    }
}

/// Redis: lzf_c.c lzf_compress(). The compressed bytes, or None when they would not fit in
/// `out_len` bytes (Redis returns 0 and the caller stores the string uncompressed).
pub fn lzf_compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    if input.is_empty() || out_len == 0 {
        return None;
    }
    HTAB.with(|cell| {
        let mut htab = cell.borrow_mut();
        if htab.slots.is_empty() {
            htab.slots = vec![0; HSIZE];
        }
        let result = compress_with(input, out_len, &mut htab);
        // The next call's positions all lie above this call's.
        htab.base += input.len() as u64 + 1;
        result
    })
}

fn compress_with(input: &[u8], out_len: usize, htab: &mut HashTable) -> Option<Vec<u8>> {
    let in_end = input.len();
    let mut out = Output::new(out_len);
    let mut ip = 0usize;
    let mut hval = if in_end >= 2 { first(input, 0) } else { 0 };
    while ip + 2 < in_end {
        hval = next(hval, input, ip);
        let slot = idx(hval);
        let reference = htab.set(slot, ip);
        match match_at(input, ip, reference) {
            Some(off) => {
                ip = emit_backref(&mut out, input, ip, reference, off)?;
                if ip + 2 >= in_end {
                    break;
                }
                hval = rehash_after_match(htab, input, &mut ip);
            }
            None => {
                if out.op() >= out.cap {
                    return None;
                }
                out.push_literal(byte(input, ip));
                ip += 1;
            }
        }
    }
    finish(out, input, ip)
}

/// The backreference offset when `reference` starts a usable 3-byte match for `ip`.
fn match_at(input: &[u8], ip: usize, reference: usize) -> Option<usize> {
    // A zeroed table slot (position 0) never matches, as `ref > in_data` in Redis.
    if reference == 0 || reference >= ip {
        return None;
    }
    let off = ip - reference - 1;
    let same = input.get(reference..reference + 3) == input.get(ip..ip + 3);
    (off < MAX_OFF && same).then_some(off)
}

/// Writes one backreference and returns the input position after the match.
fn emit_backref(out: &mut Output, input: &[u8], ip: usize, reference: usize, off: usize) -> Option<usize> {
    let maxlen = (input.len() - ip - 2).min(MAX_REF);
    let header_len = usize::from(out.lit != 0);
    if out.op() + 3 + 1 >= out.cap && out.op() - 1 + header_len + 3 + 1 >= out.cap {
        return None;
    }
    out.stop_run();
    let len = match_length(input, ip, reference, maxlen) - 2;
    let off_high = (off >> 8) as u8;
    if len < 7 {
        out.buf.push(off_high + ((len as u8) << 5));
    } else {
        out.buf.push(off_high + (7 << 5));
        out.buf.push((len - 7) as u8);
    }
    out.buf.push(off as u8);
    out.start_run();
    Some(ip + 1 + len + 1)
}

/// How many bytes at `reference` equal those at `ip` (at least 3, already checked).
/// Redis first compares up to 16 more bytes unrolled, without the `maxlen` bound, when
/// `maxlen > 16`; that can run a match up to the end of the input, so it is kept as is.
fn match_length(input: &[u8], ip: usize, reference: usize, maxlen: usize) -> usize {
    let mut len = 2;
    if maxlen > 16 {
        for _ in 0..16 {
            len += 1;
            if input.get(reference + len) != input.get(ip + len) {
                return len;
            }
        }
    }
    loop {
        len += 1;
        if len >= maxlen || input.get(reference + len) != input.get(ip + len) {
            return len;
        }
    }
}

/// Redis (VERY_FAST): after a match only the two positions before the new `ip` are hashed.
fn rehash_after_match(htab: &mut HashTable, input: &[u8], ip: &mut usize) -> u32 {
    *ip -= 2;
    let mut hval = first(input, *ip);
    for _ in 0..2 {
        hval = next(hval, input, *ip);
        htab.set(idx(hval), *ip);
        *ip += 1;
    }
    hval
}

/// Copies the last bytes as literals and closes the final run.
fn finish(mut out: Output, input: &[u8], ip: usize) -> Option<Vec<u8>> {
    if out.op() + 3 > out.cap {
        return None;
    }
    for &b in input.get(ip..).unwrap_or(&[]) {
        out.push_literal(b);
    }
    out.stop_run();
    Some(out.buf)
}

/// Redis: lzf_d.c lzf_decompress(). None on corrupt input or when the output would exceed
/// `max_len` bytes.
pub fn lzf_decompress(input: &[u8], max_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::new();
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(byte(input, ip));
        ip += 1;
        if ctrl < MAX_LIT {
            let run = input.get(ip..ip + ctrl + 1)?;
            if out.len() + run.len() > max_len {
                return None;
            }
            out.extend_from_slice(run);
            ip += ctrl + 1;
            continue;
        }
        let mut len = ctrl >> 5;
        if len == 7 {
            len += usize::from(*input.get(ip)?);
            ip += 1;
        }
        let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(ip)?) + 1;
        ip += 1;
        let start = out.len().checked_sub(back)?;
        if out.len() + len + 2 > max_len {
            return None;
        }
        // Byte by byte: the source may overlap what is being written (runs).
        for i in start..start + len + 2 {
            let b = *out.get(i)?;
            out.push(b);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(data: &[u8]) -> Option<usize> {
        let packed = lzf_compress(data, data.len().saturating_sub(4))?;
        assert_eq!(lzf_decompress(&packed, data.len()).as_deref(), Some(data));
        Some(packed.len())
    }

    #[test]
    fn compressed_sizes_match_redis() {
        // serializedlength from redis-server 7.0.15 DEBUG OBJECT, minus the RDB header
        // bytes (1 type byte, then each length in 1 byte, or 2 from 64 on): 21 'a' -> 9-3,
        // 88 'a' -> 13-4, "value:0" padded with NULs to 50 bytes -> 18-3.
        assert_eq!(roundtrip(&[b'a'; 21]), Some(6));
        assert_eq!(roundtrip(&[b'a'; 88]), Some(9));
        let mut padded = b"value:0".to_vec();
        padded.resize(50, 0);
        assert_eq!(roundtrip(&padded), Some(15));
    }

    #[test]
    fn incompressible_input_is_refused() {
        let data: Vec<u8> = (0u32..64).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        assert_eq!(lzf_compress(&data, data.len() - 4), None);
        assert_eq!(lzf_compress(b"", 10), None);
        assert_eq!(lzf_compress(b"abc", 0), None);
    }

    #[test]
    fn roundtrips_mixed_data() {
        let mut data = Vec::new();
        for i in 0..2000u32 {
            data.extend_from_slice(format!("key:{}:{} ", i % 37, i % 5).as_bytes());
        }
        let packed = lzf_compress(&data, data.len()).expect("repetitive data compresses");
        assert!(packed.len() < data.len() / 2);
        assert_eq!(lzf_decompress(&packed, data.len()), Some(data.clone()));
        assert_eq!(lzf_decompress(&packed, data.len() - 1), None);
        assert_eq!(lzf_decompress(&[0x20, 0x00], 100), None, "backreference before the start");
        assert_eq!(lzf_decompress(&[0x05, b'a'], 100), None, "truncated literal run");
    }
}

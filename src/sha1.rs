//! SHA-1 (FIPS 180-1), mirroring Redis's sha1.c.
//!
//! Used where Redis uses SHA1: DEBUG DIGEST / DEBUG DIGEST-VALUE (whose output
//! must equal real Redis's byte for byte) and the counter-mode random generator in
//! util.rs. Pure computation on caller-provided buffers: no I/O, no allocation, so it
//! can run inline on the single-threaded event loop.

/// Size in bytes of a SHA-1 digest.
pub const DIGEST_LEN: usize = 20;

const BLOCK_LEN: usize = 64;

/// Streaming SHA-1 state.
///
/// Redis: sha1.c `SHA1_CTX`.
#[derive(Clone)]
pub struct Sha1 {
    state: [u32; 5],
    /// Total number of message bytes fed so far (the padding needs the bit length).
    length: u64,
    block: [u8; BLOCK_LEN],
    /// Bytes currently buffered in `block`.
    filled: usize,
}

impl Default for Sha1 {
    fn default() -> Self {
        Self::new()
    }
}

impl Sha1 {
    /// Redis: sha1.c SHA1Init()
    /// Starts a new digest with the FIPS 180-1 initial hash values.
    pub fn new() -> Self {
        Sha1 {
            state: [
                0x6745_2301,
                0xEFCD_AB89,
                0x98BA_DCFE,
                0x1032_5476,
                0xC3D2_E1F0,
            ],
            length: 0,
            block: [0; BLOCK_LEN],
            filled: 0,
        }
    }

    /// Redis: sha1.c SHA1Update()
    /// Feeds more message bytes; may be called any number of times.
    pub fn update(&mut self, mut data: &[u8]) {
        self.length = self.length.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let take = (BLOCK_LEN - self.filled).min(data.len());
            let (head, rest) = data.split_at(take);
            self.block[self.filled..self.filled + take].copy_from_slice(head);
            self.filled += take;
            data = rest;
            if self.filled < BLOCK_LEN {
                return;
            }
            let block = self.block;
            sha1_transform(&mut self.state, &block);
            self.filled = 0;
        }
        let mut chunks = data.chunks_exact(BLOCK_LEN);
        for chunk in &mut chunks {
            let mut block = [0u8; BLOCK_LEN];
            block.copy_from_slice(chunk);
            sha1_transform(&mut self.state, &block);
        }
        let tail = chunks.remainder();
        self.block[..tail.len()].copy_from_slice(tail);
        self.filled = tail.len();
    }

    /// Redis: sha1.c SHA1Final()
    /// Appends the padding and the 64-bit big-endian bit length, returns the digest.
    pub fn finalize(mut self) -> [u8; DIGEST_LEN] {
        let bit_len = self.length.wrapping_mul(8);
        // Padding: one 0x80 byte, zeros until 8 bytes remain in a block, then the length.
        let pad_len = if self.filled < 56 {
            56 - self.filled
        } else {
            120 - self.filled
        };
        let mut padding = [0u8; BLOCK_LEN + 8];
        padding[0] = 0x80;
        padding[pad_len..pad_len + 8].copy_from_slice(&bit_len.to_be_bytes());
        // `update` would add the padding to `length`; that no longer matters here.
        self.update(&padding[..pad_len + 8]);
        let mut digest = [0u8; DIGEST_LEN];
        for (out, word) in digest.chunks_exact_mut(4).zip(self.state.iter()) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        digest
    }
}

/// One-shot SHA-1 of `data`.
pub fn sha1(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut ctx = Sha1::new();
    ctx.update(data);
    ctx.finalize()
}

/// Lowercase hex rendering of a digest (how DEBUG DIGEST prints it).
pub fn digest_to_hex(digest: &[u8; DIGEST_LEN]) -> [u8; DIGEST_LEN * 2] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; DIGEST_LEN * 2];
    for (pair, byte) in out.chunks_exact_mut(2).zip(digest.iter()) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0x0f)];
    }
    out
}

/// Redis: sha1.c SHA1Transform()
/// Hashes one 512-bit block into the state (80 rounds).
fn sha1_transform(state: &mut [u32; 5], block: &[u8; BLOCK_LEN]) {
    let mut w = [0u32; 80];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    for i in 16..80 {
        w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
    }
    let [mut a, mut b, mut c, mut d, mut e] = *state;
    for (i, word) in w.iter().enumerate() {
        let (f, k) = match i {
            0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
            20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
            40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
            _ => (b ^ c ^ d, 0xCA62_C1D6),
        };
        let temp = a
            .rotate_left(5)
            .wrapping_add(f)
            .wrapping_add(e)
            .wrapping_add(k)
            .wrapping_add(*word);
        e = d;
        d = c;
        c = b.rotate_left(30);
        b = a;
        a = temp;
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e]) {
        *s = s.wrapping_add(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: [u8; DIGEST_LEN]) -> String {
        String::from_utf8(digest_to_hex(&d).to_vec()).unwrap()
    }

    #[test]
    fn standard_vectors() {
        assert_eq!(
            hex(sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    #[test]
    fn million_a() {
        let mut ctx = Sha1::new();
        let chunk = [b'a'; 1000];
        for _ in 0..1000 {
            ctx.update(&chunk);
        }
        assert_eq!(
            hex(ctx.finalize()),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
    }

    #[test]
    fn streaming_equals_one_shot_for_every_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        let whole = sha1(&data);
        for split in 0..data.len() {
            let mut ctx = Sha1::new();
            ctx.update(&data[..split]);
            ctx.update(&data[split..]);
            assert_eq!(ctx.finalize(), whole, "split at {split}");
        }
    }

    #[test]
    fn padding_boundaries() {
        // Lengths around the 55/56/64-byte padding edges, checked against sha1sum.
        assert_eq!(
            hex(sha1(&[b'a'; 55])),
            "c1c8bbdc22796e28c0e15163d20899b65621d65a"
        );
        assert_eq!(
            hex(sha1(&[b'a'; 56])),
            "c2db330f6083854c99d4b5bfb6e8f29f201be699"
        );
        assert_eq!(
            hex(sha1(&[b'a'; 64])),
            "0098ba824b5c16427bd7a1122a5a442a25ec644d"
        );
    }
}

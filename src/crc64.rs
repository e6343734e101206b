//! CRC-64/Jones, the checksum at the end of every RDB file and of every DUMP payload.
//!
//! Redis: crc64.c. Polynomial 0xad93d23594c935a9, reflected in and out, initial value 0, no
//! final xor. Redis computes it with a slice-by-8 table; so does this file: the RDB writer and
//! loader feed every byte through it, so it sits on the SAVE and load paths.

const POLY_REFLECTED: u64 = 0x95ac_9329_ac4b_c9b5;

/// Eight 256-entry tables: table[0] is the classic byte-at-a-time table, table[k] advances
/// the CRC over k further zero bytes, which lets eight input bytes be folded per step.
static TABLES: [[u64; 256]; 8] = build_tables();

const fn build_tables() -> [[u64; 256]; 8] {
    let mut t = [[0u64; 256]; 8];
    let mut n = 0;
    while n < 256 {
        let mut crc = n as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ POLY_REFLECTED } else { crc >> 1 };
            bit += 1;
        }
        t[0][n] = crc;
        n += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut n = 0;
        while n < 256 {
            let prev = t[k - 1][n];
            t[k][n] = t[0][(prev & 0xff) as usize] ^ (prev >> 8);
            n += 1;
        }
        k += 1;
    }
    t
}

/// Redis: crc64.c crc64(): continues `crc` over `data`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = crc ^ u64::from_le_bytes(word);
        crc = TABLES[7][(x & 0xff) as usize]
            ^ TABLES[6][((x >> 8) & 0xff) as usize]
            ^ TABLES[5][((x >> 16) & 0xff) as usize]
            ^ TABLES[4][((x >> 24) & 0xff) as usize]
            ^ TABLES[3][((x >> 32) & 0xff) as usize]
            ^ TABLES[2][((x >> 40) & 0xff) as usize]
            ^ TABLES[1][((x >> 48) & 0xff) as usize]
            ^ TABLES[0][(x >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = TABLES[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::crc64;

    fn bitwise(data: &[u8]) -> u64 {
        let mut crc = 0u64;
        for &b in data {
            crc ^= b as u64;
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ super::POLY_REFLECTED } else { crc >> 1 };
            }
        }
        crc
    }

    #[test]
    fn check_value_of_123456789() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6_d914_c4b8_d9ca);
    }

    #[test]
    fn sliced_equals_bitwise_at_every_length_and_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(crc64(0, &data[..len]), bitwise(&data[..len]), "len {len}");
        }
        let whole = crc64(0, &data);
        for split in 0..data.len() {
            assert_eq!(crc64(crc64(0, &data[..split]), &data[split..]), whole);
        }
    }

    #[test]
    fn mini_fixture_checksum_matches_its_trailer() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rdb/redis-7.0.15-mini.rdb");
        let rdb = std::fs::read(path).expect("fixture present in the repository");
        let (body, trailer) = rdb.split_at(rdb.len() - 8);
        let mut want = [0u8; 8];
        want.copy_from_slice(trailer);
        assert_eq!(crc64(0, body), u64::from_le_bytes(want));
    }
}

//! DEBUG OBJECT against the real redis-server 7.0.15. Its text holds a memory address and
//! LRU clocks, so it is not in the byte-for-byte scripts; here the deterministic parts —
//! refcount, encoding and serializedlength (the RDB size, hence Redis's LZF compressor and
//! integer encodings) — are compared for many kinds of strings, with rdbcompression on and
//! off.
mod common;

use common::{require_redis, RawConn, Server};

/// A small deterministic generator (xorshift), so both servers get the same strings.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// Numbers, short strings, and long strings of every compressibility.
fn samples() -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = ["0", "-1", "127", "128", "-32769", "2147483647", "2147483648", "-9223372036854775808",
        "9223372036854775807", "9223372036854775808", "007", "1e3", "", " 1", "12345678901"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut g = Gen(0x9e37_79b9_7f4a_7c15);
    let alphabets: [&[u8]; 4] = [b"ab", b"abcd", b"key:value ", b"0123456789abcdefghijklmnopqrstuvwxyz"];
    for i in 0..160 {
        let len = 20 + g.below(if i % 10 == 0 { 20_000 } else { 600 });
        let alphabet = alphabets[i % alphabets.len()];
        let bytes: Vec<u8> = match i % 4 {
            0 => (0..len).map(|_| alphabet[g.below(alphabet.len() as u64)]).collect(),
            1 => {
                let words: Vec<Vec<u8>> = (0..1 + g.below(12)).map(|_| (0..1 + g.below(9)).map(|_| alphabet[g.below(alphabet.len() as u64)]).collect()).collect();
                (0..len).flat_map(|_| words[g.below(words.len() as u64)].clone()).take(len).collect()
            }
            2 => {
                let half: Vec<u8> = (0..len / 2 + 1).map(|_| g.next() as u8).collect();
                half.iter().chain(half.iter()).copied().take(len).collect()
            }
            _ => (0..len).map(|_| g.next() as u8).collect(),
        };
        out.push(bytes);
    }
    out
}

/// "refcount:1 encoding:raw serializedlength:13" from the DEBUG OBJECT status line.
fn stable_fields(conn: &mut RawConn, key: &[u8]) -> String {
    let reply = conn.cmd(&[b"DEBUG", b"OBJECT", key]);
    let text = String::from_utf8_lossy(&reply).into_owned();
    assert!(text.starts_with("+Value at:"), "DEBUG OBJECT: {text}");
    text.split(' ')
        .filter(|f| ["refcount:", "encoding:", "serializedlength:"].iter().any(|p| f.starts_with(p)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn debug_object_fields_match_redis() {
    if !require_redis() {
        return;
    }
    let args = ["--enable-debug-command", "yes"];
    let redis = Server::start_redis(&args);
    let ours = Server::start_ferredis(&args);
    let (mut rc, mut oc) = (redis.conn(), ours.conn());
    let values = samples();
    for compression in ["yes", "no"] {
        for conn in [&mut rc, &mut oc] {
            assert_eq!(conn.cmd(&[b"CONFIG", b"SET", b"rdbcompression", compression.as_bytes()]), b"+OK\r\n");
        }
        for (i, value) in values.iter().enumerate() {
            let key = format!("k{i}");
            for conn in [&mut rc, &mut oc] {
                assert_eq!(conn.cmd(&[b"SET", key.as_bytes(), value]), b"+OK\r\n");
            }
            let expected = stable_fields(&mut rc, key.as_bytes());
            let got = stable_fields(&mut oc, key.as_bytes());
            assert_eq!(got, expected, "rdbcompression {compression}, value #{i} of {} bytes", value.len());
        }
    }
    // POPULATE creates strings without integer encoding, padded with NULs.
    for conn in [&mut rc, &mut oc] {
        assert_eq!(conn.cmd_str("DEBUG POPULATE 3 pop 100"), b"+OK\r\n");
        assert_eq!(conn.cmd_str("DEBUG POPULATE 3 small"), b"+OK\r\n");
    }
    for key in ["pop:0", "pop:2", "small:1"] {
        assert_eq!(stable_fields(&mut oc, key.as_bytes()), stable_fields(&mut rc, key.as_bytes()), "{key}");
    }
}

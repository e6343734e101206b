//! Tests of the request parsers: multibulk and inline framing, partial input, and each
//! protocol error with Redis's text.

use super::*;

fn limits() -> ParseLimits {
    ParseLimits { proto_max_bulk_len: 512 * 1024 * 1024, unauthenticated: false, is_master: false }
}

fn feed(c: &mut Client, bytes: &[u8]) {
    reserve_query_space(c, bytes.len(), false);
    c.querybuf[c.qb_len..c.qb_len + bytes.len()].copy_from_slice(bytes);
    c.qb_len += bytes.len();
}

/// Parses everything in `input`, fed `chunk` bytes at a time; returns each request's args.
fn parse_all(input: &[u8], chunk: usize) -> Result<Vec<Vec<Vec<u8>>>, ProtoError> {
    let mut c = Client::new(1, None, 0);
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        feed(&mut c, piece);
        while c.qb_pos < c.qb_len {
            if !parse_next_command(&mut c, limits())? {
                break;
            }
            if !c.argv.is_empty() {
                out.push(c.argv.to_vecs());
            }
            c.reset_client();
        }
        compact_query_buffer(&mut c);
    }
    Ok(out)
}

#[test]
fn multibulk_parses_whole_and_byte_by_byte() {
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n";
    let want = vec![
        vec![b"SET".to_vec(), b"k".to_vec(), b"hello".to_vec()],
        vec![b"PING".to_vec()],
    ];
    assert_eq!(parse_all(input, 1000).expect("parse"), want);
    assert_eq!(parse_all(input, 1).expect("parse"), want);
    assert_eq!(parse_all(input, 7).expect("parse"), want);
}

#[test]
fn empty_multibulk_is_ignored() {
    let got = parse_all(b"*0\r\n*-1\r\nPING\r\n", 100).expect("parse");
    assert_eq!(got, vec![vec![b"PING".to_vec()]]);
}

#[test]
fn inline_commands_split_like_a_shell() {
    let got = parse_all(b"SET \"a b\" 'c d'\r\nECHO \"a\\x41\\n\"\nPING\n\r\n\n", 3).expect("parse");
    assert_eq!(
        got,
        vec![
            vec![b"SET".to_vec(), b"a b".to_vec(), b"c d".to_vec()],
            vec![b"ECHO".to_vec(), b"aA\n".to_vec()],
            vec![b"PING".to_vec()],
        ]
    );
}

#[test]
fn protocol_errors_carry_redis_texts() {
    let cases: [(&[u8], &str); 7] = [
        (b"*abc\r\n", "Protocol error: invalid multibulk length"),
        (b"*2147483648\r\n", "Protocol error: invalid multibulk length"),
        (b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\nfoo\r\n", "Protocol error: expected '$', got 'f'"),
        (b"SET \"a b\r\n", "Protocol error: unbalanced quotes in request"),
    ];
    for (input, text) in cases {
        let err = parse_all(input, 1000).expect_err("must fail");
        assert_eq!(err.message(), text.as_bytes(), "input {:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn expected_dollar_quotes_the_raw_byte_and_waits_for_the_line() {
    assert_eq!(parse_all(b"*1\r\n\xe9x\r\n", 100).expect_err("bad prefix").message(), b"Protocol error: expected '$', got '\xe9'");
    assert!(parse_all(b"*1\r\nfoo\r", 100).expect("waits for the newline").is_empty());
}

#[test]
fn oversized_lines_are_refused() {
    let mut inline = vec![b'a'; 70000];
    assert_eq!(parse_all(&inline, 100000).expect_err("too big"), ProtoError::TooBigInline);
    inline.truncate(65536);
    assert!(parse_all(&inline, 100000).expect("waits").is_empty(), "64 KiB without newline still waits");
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat(b'1').take(70000));
    assert_eq!(parse_all(&count, 100000).expect_err("too big"), ProtoError::TooBigMbulkCount);
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat(b'1').take(70000));
    assert_eq!(parse_all(&bulk, 100000).expect_err("too big"), ProtoError::TooBigBulkCount);
}

#[test]
fn unauthenticated_limits_apply() {
    let mut c = Client::new(1, None, 0);
    let strict = ParseLimits { unauthenticated: true, ..limits() };
    feed(&mut c, b"*11\r\n");
    assert_eq!(parse_next_command(&mut c, strict), Err(ProtoError::UnauthenticatedMultibulkLength));
    let mut c = Client::new(1, None, 0);
    feed(&mut c, b"*1\r\n$16385\r\n");
    assert_eq!(parse_next_command(&mut c, strict), Err(ProtoError::UnauthenticatedBulkLength));
}

#[test]
fn big_bulk_arrives_in_pieces() {
    let value = vec![b'v'; 100_000];
    let mut input = format!("*2\r\n$4\r\nECHO\r\n${}\r\n", value.len()).into_bytes();
    input.extend_from_slice(&value);
    input.extend_from_slice(b"\r\n");
    let got = parse_all(&input, 4096).expect("parse");
    assert_eq!(got, vec![vec![b"ECHO".to_vec(), value]]);
}

#[test]
fn fuzz_entry_point_counts_commands() {
    assert_eq!(fuzz_parse_requests(b"*1\r\n$4\r\nPING\r\nPING\r\n", 1024), 2);
    assert_eq!(fuzz_parse_requests(b"*1\r\n$9999\r\nPING\r\n", 1024), 0);
}

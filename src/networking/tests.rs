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

/// Every request of `input`, fed `chunk` bytes at a time, through `parse`: the arguments of
/// each command, then the first error, then the bytes left unparsed.
fn trace_with(
    input: &[u8],
    chunk: usize,
    lim: ParseLimits,
    parse: fn(&mut Client, ParseLimits) -> Result<bool, ProtoError>,
) -> (Vec<Vec<Vec<u8>>>, Option<ProtoError>, Vec<u8>) {
    let mut c = Client::new(1, None, 0);
    c.reqtype = ReqType::Multibulk;
    let mut out = Vec::new();
    for piece in input.chunks(chunk.max(1)) {
        feed(&mut c, piece);
        while c.qb_pos < c.qb_len {
            match parse(&mut c, lim) {
                Ok(true) => {}
                Ok(false) => break,
                Err(err) => return (out, Some(err), c.unparsed().to_vec()),
            }
            out.push(c.argv.to_vecs());
            c.reset_client();
            c.reqtype = ReqType::Multibulk;
        }
        compact_query_buffer(&mut c);
    }
    (out, None, c.unparsed().to_vec())
}

/// The one-pass parser of whole commands answers exactly as the line-by-line parser does:
/// the same arguments, errors and leftovers, whole or in pieces, with or without AUTH.
#[test]
fn whole_command_fast_path_matches_the_general_parser() {
    let big = format!("*2\r\n$4\r\nECHO\r\n$40000\r\n{}\r\n", "x".repeat(40000));
    let inputs: Vec<&[u8]> = vec![
        b"*3\r\n$3\r\nSET\r\n$16\r\nkey:000000012345\r\n$3\r\nxxx\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        b"*1\r\n$0\r\n\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n",
        b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n",
        b"*01\r\n$4\r\nPING\r\n",
        b"*1\r\n$04\r\nPING\r\n",
        b"*1\r\n$00\r\n\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$+4\r\nPING\r\n",
        b"*+1\r\n$4\r\nPING\r\n",
        b"*1\n$4\r\nPING\r\n",
        b"*1\r\n$4\nPING\r\n",
        b"*1\rX$4\rXPINGXX*1\r\n$4\r\nPING\r\n",
        b"*1\r\nfoo\r\n",
        b"*2\r\n$3\r\nGET\r\nxyz\r\n",
        b"*1234567890\r\n$1\r\na\r\n",
        b"*999999999\r\n$1\r\na\r\n",
        b"*11\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n",
        b"*1\r\n$16385\r\n",
        b"*1\r\n$20000\r\n",
        b"*1\r\n$1000000000\r\n",
        b"*1\r\n$5\r\nab",
        b"*2\r\n$3\r\nGET\r\n$1\r\nk\r",
        big.as_bytes(),
    ];
    let strict = ParseLimits { unauthenticated: true, ..limits() };
    let small_max = ParseLimits { proto_max_bulk_len: 3, ..limits() };
    let master = ParseLimits { proto_max_bulk_len: 3, is_master: true, ..limits() };
    for input in inputs {
        for lim in [limits(), strict, small_max, master] {
            for chunk in [1, 2, 5, 13, input.len()] {
                let fast = trace_with(input, chunk, lim, process_multibulk_buffer);
                let general = trace_with(input, chunk, lim, process_multibulk_buffer_general);
                assert_eq!(fast, general, "input {:?} chunk {chunk} {lim:?}", String::from_utf8_lossy(input));
            }
        }
    }
}

#[test]
fn fast_path_takes_whole_plain_commands_only() {
    let mut c = Client::new(1, None, 0);
    feed(&mut c, b"*2\r\n$3\r\nGET\r\n$10\r\nkey:000001\r\n*1\r\n$4\r\nPI");
    assert!(parse_whole_multibulk(&mut c, limits()));
    assert_eq!(c.argv.to_vecs(), vec![b"GET".to_vec(), b"key:000001".to_vec()]);
    assert_eq!(c.unparsed(), b"*1\r\n$4\r\nPI");
    c.reset_client();
    assert!(!parse_whole_multibulk(&mut c, limits()), "a partial command is left to the general parser");
    assert_eq!((c.unparsed(), c.multibulklen, c.bulklen), (&b"*1\r\n$4\r\nPI"[..], 0, -1));
    assert_eq!(parse_plain_count_line(b"*12\r\n", 0, b'*'), Some((12, 5)));
    assert_eq!(parse_plain_count_line(b"$0\r\n", 0, b'$'), Some((0, 4)));
    assert_eq!(parse_plain_count_line(b"*0\r\n", 0, b'*'), None);
    assert_eq!(parse_plain_count_line(b"$123456789\r\n", 0, b'$'), Some((123_456_789, 12)));
    assert_eq!(parse_plain_count_line(b"$1234567890\r\n", 0, b'$'), None);
    assert_eq!(parse_plain_count_line(b"$12\r", 0, b'$'), None, "the byte after \\r has not arrived");
}

//! Differential tests: every script in tests/diff/*.txt runs against ferredis and against the
//! real redis-server 7.0.15, and each reply must match byte for byte.
//!
//! How a script runs: both servers start on their own free ports with identical arguments,
//! both get FLUSHALL, then each line is sent to both and the replies compared. All mismatches
//! of a script are collected (script, line number, line, both replies escaped) and reported
//! together at the end. One #[test] per script (listed in `diff_tests!` below, checked against
//! the directory by `every_script_is_listed`), so scripts run in parallel.
//!
//! Script format, one item per line:
//! - `# ...` comment; blank lines are ignored.
//! - `COMMAND arg "quoted arg" 'single'` a command, split like redis-cli / sdssplitargs:
//!   whitespace separates; in "double quotes" `\n \r \t \b \a \\ \" \xHH` are escapes; in
//!   'single quotes' only `\'`. Sent as a multibulk; exactly one reply is read.
//! - `!args --opt value ...` (first directive only): extra server arguments for both servers.
//! - `!raw <bytes>`: sends the rest of the line as raw bytes and reads one reply. Escapes:
//!   `\r \n \t \0 \\ \" \xHH`, and `\{N}c` for N copies of the byte c (c itself may be an
//!   escape), e.g. `\{70000}a`. Meant for inline commands and protocol errors.
//! - `!rawn N <bytes>`: like `!raw` but reads N replies (N may be 0). With no bytes
//!   (`!rawn 1`) it sends nothing and reads N replies that arrive unasked, such as the push
//!   another connection's command caused; no stray-data check precedes such a line.
//! - `!replies N COMMAND ...`: a command (split like any command line) whose N replies are
//!   read and compared together, e.g. `SUBSCRIBE a b` (one confirmation per channel) or a
//!   RESP3 command that also brings Pub/Sub pushes (keyspace notifications).
//! - `!resp3`: sends HELLO 3 to both; only the reply types are compared (the map has ids).
//! - `!ignore COMMAND ...`: sends the command to both and reads the replies, comparing only
//!   their RESP type byte (for replies holding ids, times, memory sizes...).
//! - `!sleep <ms>`: pauses (keep rare: scripts should be fast and deterministic).
//! - `!reconnect`: drops both connections and opens new ones.
//! - `!conn <n>`: later lines talk through connection number n of each side (opened on first
//!   use; the script starts on connection 1); the other connections stay open meanwhile, so a
//!   script can play two clients (WATCH on one, a write on the other). `!reconnect` drops all.
//!
//! Closed connections: after a reply starting with `-ERR Protocol error` or to QUIT the harness
//! waits (up to 1 s) for the server to close the connection; whether each side closed is part
//! of what is compared. A closed side is reconnected transparently before the next line (the
//! new connection is a fresh client: RESP2, db 0). A line whose connection closes without a
//! reply compares as "closed". A side that times out 3 times, or whose process exits, ends
//! the script.
//!
//! Self-test: with FERREDIS_DIFF_SELFTEST=1 the "ferredis" side is a second real redis-server,
//! which validates the harness and the scripts themselves (all scripts must pass that way).
//! `FERREDIS_DIFF_SELFTEST=1 cargo test --test differential`
//!
//! Tracing: FERREDIS_DIFF_TRACE=1 prints every line and both outcomes (use `-- --nocapture`).
mod common;

use common::{escape_bytes, RawConn, ReplyError, Server};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::thread;
use std::time::Duration;

macro_rules! diff_tests {
    ($($name:ident => $file:literal),* $(,)?) => {
        $( #[test] fn $name() { run_script($file) } )*
        /// Every script file a test was generated for.
        const SCRIPTS: &[&str] = &[$($file),*];
    };
}

diff_tests! {
    diff_basic => "basic.txt",
    diff_protocol => "protocol.txt",
    diff_protocol_auth => "protocol_auth.txt",
    diff_keyspace => "keyspace.txt",
    diff_expire => "expire.txt",
    diff_keyspace_lfu => "keyspace_lfu.txt",
    diff_keyspace_expired => "keyspace_expired.txt",
    diff_strings => "strings.txt",
    diff_strings_limits => "strings_limits.txt",
    diff_strings_encoding => "strings_encoding.txt",
    diff_bitops => "bitops.txt",
    diff_debug => "debug.txt",
    diff_server => "server.txt",
    diff_auth => "auth.txt",
    diff_command => "command.txt",
    diff_lists => "lists.txt",
    diff_lists_encoding => "lists_encoding.txt",
    diff_lists_notify => "lists_notify.txt",
    diff_hashes => "hashes.txt",
    diff_hashes_encoding => "hashes_encoding.txt",
    diff_hashes_notify => "hashes_notify.txt",
    diff_sets => "sets.txt",
    diff_sets_encoding => "sets_encoding.txt",
    diff_sets_notify => "sets_notify.txt",
    diff_pubsub => "pubsub.txt",
    diff_notify => "notify.txt",
    diff_streams => "streams.txt",
    diff_streams_groups => "streams_groups.txt",
    diff_streams_nodes => "streams_nodes.txt",
    diff_streams_notify => "streams_notify.txt",
    diff_zsets => "zsets.txt",
    diff_zsets_encoding => "zsets_encoding.txt",
    diff_zsets_notify => "zsets_notify.txt",
    diff_multi => "multi.txt",
    diff_sort => "sort.txt",
    diff_dump_restore => "dump_restore.txt",
    diff_dump_restore_notify => "dump_restore_notify.txt",
    diff_dump_restore_debug => "dump_restore_debug.txt",
    diff_tracking => "tracking.txt",
    diff_slowlog => "slowlog.txt",
    diff_latency => "latency.txt",
    diff_persistence => "persistence.txt",
    diff_evict => "evict.txt",
    diff_replication_master => "replication_master.txt",
    diff_failover => "failover.txt",
}

/// How long to wait for a close that a reply announces (protocol error, QUIT).
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// A side that times out this many times is presumed hung: the script stops there.
const MAX_TIMEOUTS: usize = 3;
/// Largest `\{N}` repeat accepted in a `!raw` payload.
const MAX_REPEAT: usize = 16 * 1024 * 1024;

fn scripts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("diff")
}

fn trace() -> bool {
    std::env::var("FERREDIS_DIFF_TRACE")
        .map(|v| v == "1")
        .unwrap_or(false)
}

fn selftest() -> bool {
    std::env::var("FERREDIS_DIFF_SELFTEST")
        .map(|v| v == "1")
        .unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// Scripts
// ---------------------------------------------------------------------------------------------

/// One parsed script line.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// A command sent as a multibulk; its reply compared exactly.
    Command(Vec<Vec<u8>>),
    /// Raw bytes sent as they are, then this many replies read and compared.
    Raw {
        bytes: Vec<u8>,
        replies: usize,
    },
    /// A command whose replies are compared by RESP type only.
    Ignore(Vec<Vec<u8>>),
    /// HELLO 3 on both sides, compared by type only.
    Resp3,
    Sleep(Duration),
    Reconnect,
    /// Switch to connection number n (`!conn n`).
    Conn(u32),
}

struct Line {
    number: usize,
    text: String,
    step: Step,
}

struct Script {
    server_args: Vec<String>,
    lines: Vec<Line>,
}

/// Parses a script; a malformed line panics with its location (a bug in the script).
fn parse_script(name: &str, text: &str) -> Script {
    let mut script = Script {
        server_args: Vec::new(),
        lines: Vec::new(),
    };
    for (index, raw_line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw_line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(rest) = directive(trimmed, "!args") {
            assert!(
                script.lines.is_empty(),
                "{name}:{number}: !args must come before every other line"
            );
            let args = split_args(rest).unwrap_or_else(|e| panic!("{name}:{number}: {e}"));
            script.server_args = args
                .into_iter()
                .map(|a| String::from_utf8_lossy(&a).into_owned())
                .collect();
            continue;
        }
        let step =
            parse_step(trimmed).unwrap_or_else(|e| panic!("{name}:{number}: {e}: {raw_line}"));
        script.lines.push(Line {
            number,
            text: trimmed.to_string(),
            step,
        });
    }
    script
}

/// The rest of `line` if it is the directive `name` (alone or followed by a space).
fn directive<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(name)?;
    if rest.is_empty() {
        return Some(rest);
    }
    rest.strip_prefix(' ')
}

fn parse_step(line: &str) -> Result<Step, String> {
    if let Some(rest) = directive(line, "!raw") {
        return Ok(Step::Raw {
            bytes: unescape_raw(rest)?,
            replies: 1,
        });
    }
    if let Some(rest) = directive(line, "!rawn") {
        let (count, payload) = rest.split_once(' ').unwrap_or((rest, ""));
        let replies = count
            .parse()
            .map_err(|_| format!("bad reply count {count:?}"))?;
        return Ok(Step::Raw {
            bytes: unescape_raw(payload)?,
            replies,
        });
    }
    if let Some(rest) = directive(line, "!replies") {
        let (count, command) = rest.split_once(' ').unwrap_or((rest, ""));
        let replies = count
            .parse()
            .map_err(|_| format!("bad reply count {count:?}"))?;
        return Ok(Step::Raw {
            bytes: encode_args(&non_empty_args(command)?),
            replies,
        });
    }
    if let Some(rest) = directive(line, "!ignore") {
        return Ok(Step::Ignore(non_empty_args(rest)?));
    }
    if let Some(rest) = directive(line, "!sleep") {
        let ms: u64 = rest
            .trim()
            .parse()
            .map_err(|_| format!("bad milliseconds {rest:?}"))?;
        return Ok(Step::Sleep(Duration::from_millis(ms)));
    }
    if directive(line, "!resp3") == Some("") {
        return Ok(Step::Resp3);
    }
    if directive(line, "!reconnect") == Some("") {
        return Ok(Step::Reconnect);
    }
    if let Some(rest) = directive(line, "!conn") {
        let n = rest
            .trim()
            .parse()
            .map_err(|_| format!("bad connection number {rest:?}"))?;
        return Ok(Step::Conn(n));
    }
    if line.starts_with('!') {
        return Err("unknown directive".to_string());
    }
    Ok(Step::Command(non_empty_args(line)?))
}

fn non_empty_args(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let args = split_args(text)?;
    if args.is_empty() {
        return Err("no command".to_string());
    }
    Ok(args)
}

/// Splits a line into arguments the way redis-cli does (sdssplitargs).
fn split_args(line: &str) -> Result<Vec<Vec<u8>>, String> {
    let bytes = line.as_bytes();
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        while bytes.get(pos).is_some_and(u8::is_ascii_whitespace) {
            pos += 1;
        }
        if pos >= bytes.len() {
            return Ok(args);
        }
        let (arg, next) = split_one(bytes, pos)?;
        args.push(arg);
        pos = next;
    }
}

/// Reads one argument starting at `pos`; returns it and the position after it.
fn split_one(bytes: &[u8], mut pos: usize) -> Result<(Vec<u8>, usize), String> {
    let mut arg = Vec::new();
    loop {
        match bytes.get(pos) {
            None => return Ok((arg, pos)),
            Some(c) if c.is_ascii_whitespace() => return Ok((arg, pos)),
            Some(b'"') => pos = read_double_quoted(bytes, pos + 1, &mut arg)?,
            Some(b'\'') => pos = read_single_quoted(bytes, pos + 1, &mut arg)?,
            Some(&c) => {
                arg.push(c);
                pos += 1;
            }
        }
    }
}

/// Reads a "..." body starting after the quote; returns the position after the closing quote,
/// which must be followed by whitespace or the end of the line.
fn read_double_quoted(bytes: &[u8], mut pos: usize, arg: &mut Vec<u8>) -> Result<usize, String> {
    loop {
        match bytes.get(pos) {
            None => return Err("unbalanced double quotes".to_string()),
            Some(b'"') => return closing_quote_ok(bytes, pos + 1),
            Some(b'\\')
                if bytes.get(pos + 1) == Some(&b'x') && hex_pair(bytes, pos + 2).is_some() =>
            {
                arg.push(hex_pair(bytes, pos + 2).unwrap_or_default());
                pos += 4;
            }
            Some(b'\\') if pos + 1 < bytes.len() => {
                arg.push(match bytes[pos + 1] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                pos += 2;
            }
            Some(&c) => {
                arg.push(c);
                pos += 1;
            }
        }
    }
}

fn read_single_quoted(bytes: &[u8], mut pos: usize, arg: &mut Vec<u8>) -> Result<usize, String> {
    loop {
        match bytes.get(pos) {
            None => return Err("unbalanced single quotes".to_string()),
            Some(b'\'') => return closing_quote_ok(bytes, pos + 1),
            Some(b'\\') if bytes.get(pos + 1) == Some(&b'\'') => {
                arg.push(b'\'');
                pos += 2;
            }
            Some(&c) => {
                arg.push(c);
                pos += 1;
            }
        }
    }
}

fn closing_quote_ok(bytes: &[u8], pos: usize) -> Result<usize, String> {
    match bytes.get(pos) {
        None => Ok(pos),
        Some(c) if c.is_ascii_whitespace() => Ok(pos),
        Some(_) => Err("closing quote must be followed by a space".to_string()),
    }
}

fn hex_pair(bytes: &[u8], pos: usize) -> Option<u8> {
    let text = std::str::from_utf8(bytes.get(pos..pos + 2)?).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// Decodes a `!raw` payload: the text as is, except `\r \n \t \0 \\ \" \xHH` and the
/// repeat `\{N}c`. Any other escape is an error, to catch typos in scripts.
fn unescape_raw(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        if bytes.get(pos..pos + 2) == Some(b"\\{") {
            let close = bytes[pos..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or("unclosed \\{N}")?
                + pos;
            let count: usize = std::str::from_utf8(&bytes[pos + 2..close])
                .ok()
                .and_then(|n| n.parse().ok())
                .filter(|&n| n <= MAX_REPEAT)
                .ok_or("bad repeat count in \\{N}")?;
            let (byte, next) = raw_byte(bytes, close + 1)?;
            out.resize(out.len() + count, byte);
            pos = next;
        } else {
            let (byte, next) = raw_byte(bytes, pos)?;
            out.push(byte);
            pos = next;
        }
    }
    Ok(out)
}

/// One byte of a `!raw` payload at `pos`, possibly escaped; returns it and the next position.
fn raw_byte(bytes: &[u8], pos: usize) -> Result<(u8, usize), String> {
    let &first = bytes.get(pos).ok_or("missing byte after \\{N}")?;
    if first != b'\\' {
        return Ok((first, pos + 1));
    }
    let &escaped = bytes.get(pos + 1).ok_or("dangling backslash")?;
    let byte = match escaped {
        b'r' => b'\r',
        b'n' => b'\n',
        b't' => b'\t',
        b'0' => 0,
        b'\\' => b'\\',
        b'"' => b'"',
        b'x' => {
            return hex_pair(bytes, pos + 2)
                .map(|b| (b, pos + 4))
                .ok_or_else(|| "bad \\xHH".to_string())
        }
        other => return Err(format!("unknown escape \\{}", other as char)),
    };
    Ok((byte, pos + 2))
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

/// What one side answered to one line.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    /// The reply bytes (several replies concatenated for `!rawn`).
    Reply(Vec<u8>),
    /// The connection closed before the replies were complete; the bytes received.
    Closed(Vec<u8>),
    /// No complete reply in time; the bytes received.
    Timeout(Vec<u8>),
    /// Not RESP, or an I/O or connect error.
    Broken(String),
}

impl Outcome {
    fn describe(&self) -> String {
        match self {
            Outcome::Reply(bytes) => escape_bytes(bytes),
            Outcome::Closed(bytes) if bytes.is_empty() => {
                "<connection closed, no reply>".to_string()
            }
            Outcome::Closed(bytes) => format!("<connection closed after {}>", escape_bytes(bytes)),
            Outcome::Timeout(bytes) => format!("<timeout after {}>", escape_bytes(bytes)),
            Outcome::Broken(why) => format!("<{why}>"),
        }
    }

    /// The RESP type byte, for lines compared by type only.
    fn shape(&self) -> Outcome {
        match self {
            Outcome::Reply(bytes) => Outcome::Reply(bytes.iter().take(1).copied().collect()),
            other => other.clone(),
        }
    }
}

/// One server under test and the connection the script talks to it through.
struct Side {
    label: &'static str,
    server: Server,
    conn: Option<RawConn>,
    timeouts: usize,
    /// The number of `conn` (`!conn`), and the other connections, kept open by number.
    current: u32,
    parked: std::collections::HashMap<u32, RawConn>,
}

impl Side {
    fn new(label: &'static str, server: Server) -> Side {
        let conn = RawConn::try_connect(server.port).ok();
        Side {
            label,
            server,
            conn,
            timeouts: 0,
            current: 1,
            parked: std::collections::HashMap::new(),
        }
    }

    /// `!conn n`: parks the current connection and resumes (or later opens) number n.
    fn switch_conn(&mut self, n: u32) {
        if n == self.current {
            return;
        }
        if let Some(conn) = self.conn.take() {
            self.parked.insert(self.current, conn);
        }
        self.conn = self.parked.remove(&n);
        self.current = n;
    }

    /// The live connection, reconnecting if the last one is gone.
    fn conn(&mut self) -> Result<&mut RawConn, String> {
        if self.conn.is_none() {
            let conn = RawConn::try_connect(self.server.port)
                .map_err(|e| format!("reconnect failed: {e}"))?;
            self.conn = Some(conn);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| "no connection".to_string())
    }

    /// Sends `bytes` and reads `replies` replies.
    fn exchange(&mut self, bytes: &[u8], replies: usize) -> Outcome {
        let outcome = match self.conn() {
            Ok(conn) => exchange_on(conn, bytes, replies),
            Err(why) => Outcome::Broken(why),
        };
        if matches!(outcome, Outcome::Timeout(_)) {
            self.timeouts += 1;
        }
        if !matches!(outcome, Outcome::Reply(_)) {
            self.conn = None; // Closed, hung or confused: the next line starts afresh.
        }
        outcome
    }

    /// "<label> exited with <status>" once the server process has died.
    fn exit_status(&mut self) -> Option<String> {
        let status = self.server.child.try_wait().ok()??;
        Some(format!("{} exited with {status}", self.label))
    }

    /// Waits up to `wait` for the server to close the connection; drops it if so.
    fn closed_after(&mut self, wait: Duration) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return true;
        };
        let closed = conn.poll_closed(wait).unwrap_or(true);
        if closed {
            self.conn = None;
        }
        closed
    }

    /// Bytes that arrived unasked since the last reply, and whether the server has closed
    /// the connection meanwhile (then it is dropped).
    fn stray(&mut self) -> (Vec<u8>, bool) {
        let Some(conn) = self.conn.as_mut() else {
            return (Vec::new(), false);
        };
        let closed = conn.poll_closed(Duration::ZERO).unwrap_or(true);
        let pending = conn.take_pending();
        if closed {
            self.conn = None;
        }
        (pending, closed)
    }
}

fn exchange_on(conn: &mut RawConn, bytes: &[u8], replies: usize) -> Outcome {
    if let Err(e) = conn.try_send(bytes) {
        // The server may close while a long payload is still being written.
        return match conn.read_reply() {
            Ok(reply) if replies == 1 => Outcome::Reply(reply),
            Err(ReplyError::Closed) => Outcome::Closed(Vec::new()),
            _ => Outcome::Broken(format!("send failed: {e}")),
        };
    }
    let mut got = Vec::new();
    for _ in 0..replies {
        match conn.read_reply() {
            Ok(reply) => got.extend_from_slice(&reply),
            Err(ReplyError::Closed) => return Outcome::Closed(got),
            Err(ReplyError::Truncated(rest)) => return Outcome::Closed([got, rest].concat()),
            Err(ReplyError::Timeout(rest)) => return Outcome::Timeout([got, rest].concat()),
            Err(e) => return Outcome::Broken(e.to_string()),
        }
    }
    Outcome::Reply(got)
}

/// How every protocol error reply starts; Redis closes the connection after sending one.
const PROTOCOL_ERROR: &[u8] = b"-ERR Protocol error:";

/// A reply after which Redis closes the connection.
fn announces_close(step: &Step, outcome: &Outcome) -> bool {
    let is_quit = |args: &Vec<Vec<u8>>| {
        args.first()
            .is_some_and(|a| a.eq_ignore_ascii_case(b"quit"))
    };
    match (step, outcome) {
        (Step::Command(args), _) if is_quit(args) => true,
        (_, Outcome::Reply(bytes)) => bytes
            .windows(PROTOCOL_ERROR.len())
            .any(|w| w == PROTOCOL_ERROR),
        _ => false,
    }
}

/// Runs a step against both sides; returns a description of the difference, if any.
fn run_step(step: &Step, sides: &mut [Side; 2]) -> Option<String> {
    let (bytes, replies, by_type) = match step {
        Step::Command(args) => (encode_args(args), 1, false),
        Step::Ignore(args) => (encode_args(args), 1, true),
        Step::Resp3 => (encode_args(&[b"HELLO".to_vec(), b"3".to_vec()]), 1, true),
        Step::Raw { bytes, replies } => (bytes.clone(), *replies, false),
        Step::Sleep(duration) => {
            thread::sleep(*duration);
            return None;
        }
        Step::Reconnect => {
            sides.iter_mut().for_each(|side| {
                side.conn = None;
                side.parked.clear();
            });
            return None;
        }
        Step::Conn(n) => {
            sides.iter_mut().for_each(|side| side.switch_conn(*n));
            return None;
        }
    };
    let outcomes = sides.each_mut().map(|side| side.exchange(&bytes, replies));
    let wait = if outcomes.iter().any(|o| announces_close(step, o)) {
        CLOSE_WAIT
    } else {
        Duration::ZERO
    };
    let closed = sides.each_mut().map(|side| side.closed_after(wait));
    if trace() {
        for (side, (outcome, closed)) in sides.iter().zip(outcomes.iter().zip(closed)) {
            eprintln!(
                "    {:9} {} closed={closed}",
                format!("{}:", side.label),
                outcome.describe()
            );
        }
    }
    let [a, b] = if by_type {
        outcomes.each_ref().map(Outcome::shape)
    } else {
        outcomes.clone()
    };
    if a == b && closed[0] == closed[1] {
        return None;
    }
    let mut report = String::new();
    for (i, side) in sides.iter().enumerate() {
        let after = if closed[i] { " (then closed)" } else { "" };
        let _ = write!(
            report,
            "\n    {:9} {}{after}",
            format!("{}:", side.label),
            outcomes[i].describe()
        );
    }
    Some(report)
}

fn encode_args(args: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    common::encode_command(&refs)
}

/// Unasked bytes or closes seen before a line; a difference between the sides is reported.
fn check_stray(sides: &mut [Side; 2]) -> Option<String> {
    let [(bytes_a, closed_a), (bytes_b, closed_b)] = sides.each_mut().map(Side::stray);
    if bytes_a.is_empty() && bytes_b.is_empty() && closed_a == closed_b {
        return None;
    }
    let mut report = String::from(" (before this line: unexpected data or close)");
    for (side, bytes, closed) in [
        (&sides[0], bytes_a, closed_a),
        (&sides[1], bytes_b, closed_b),
    ] {
        let _ = write!(
            report,
            "\n    {:9} {} closed={closed}",
            format!("{}:", side.label),
            escape_bytes(&bytes)
        );
    }
    Some(report)
}

fn start_sides(args: &[&str]) -> [Side; 2] {
    let redis = Side::new("redis", Server::start_redis(args));
    let other = if selftest() {
        Side::new("redis#2", Server::start_redis(args))
    } else {
        Side::new("ferredis", Server::start_ferredis(args))
    };
    [redis, other]
}

fn run_script(file: &str) {
    if !common::require_redis() {
        return;
    }
    let path = scripts_dir().join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let script = parse_script(file, &text);
    let args: Vec<&str> = script.server_args.iter().map(String::as_str).collect();
    let mut sides = start_sides(&args);
    // Compared like a script line: with --requirepass both answer NOAUTH, and that is fine.
    let flushall = Step::Command(vec![b"FLUSHALL".to_vec()]);
    let mut mismatches: Vec<String> = run_step(&flushall, &mut sides)
        .map(|report| format!("  before line 1: FLUSHALL{report}"))
        .into_iter()
        .collect();
    mismatches.extend(run_lines(&script, &mut sides));
    if !mismatches.is_empty() {
        panic!(
            "{file}: {} mismatching line(s) between {} and {}:\n{}",
            mismatches.len(),
            sides[0].label,
            sides[1].label,
            mismatches.join("\n")
        );
    }
    eprintln!(
        "{file}: {} lines match ({} vs {})",
        script.lines.len(),
        sides[0].label,
        sides[1].label
    );
}

fn run_lines(script: &Script, sides: &mut [Side; 2]) -> Vec<String> {
    let mut mismatches = Vec::new();
    for line in &script.lines {
        let where_ = format!("  line {}: {}", line.number, line.text);
        if trace() {
            eprintln!("{where_}");
        }
        // Checking for stray data would swallow the pushes a `!rawn N` without bytes reads.
        let reads_unasked = matches!(&line.step, Step::Raw { bytes, .. } if bytes.is_empty());
        if let Some(report) = (!reads_unasked).then(|| check_stray(sides)).flatten() {
            mismatches.push(format!("{where_}{report}"));
        }
        if let Some(report) = run_step(&line.step, sides) {
            mismatches.push(format!("{where_}{report}"));
        }
        if let Some(hung) = sides.iter().find(|side| side.timeouts >= MAX_TIMEOUTS) {
            mismatches.push(format!(
                "{where_}\n    stopping: {} timed out {MAX_TIMEOUTS} times",
                hung.label
            ));
            break;
        }
        if let Some(death) = sides.iter_mut().find_map(Side::exit_status) {
            mismatches.push(format!(
                "{where_}\n    stopping: {death} (its log follows the panic)"
            ));
            break;
        }
    }
    mismatches
}

// ---------------------------------------------------------------------------------------------
// Tests of the harness itself (no server needed)
// ---------------------------------------------------------------------------------------------

#[test]
fn every_script_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(scripts_dir())
        .expect("tests/diff exists")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".txt"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "tests/diff/*.txt and the diff_tests! list must match"
    );
}

#[test]
fn every_script_parses() {
    for file in SCRIPTS {
        let text = std::fs::read_to_string(scripts_dir().join(file)).expect("script readable");
        let script = parse_script(file, &text);
        assert!(!script.lines.is_empty(), "{file} has no lines");
    }
}

#[test]
fn split_args_follows_sdssplitargs() {
    let split = |s: &str| split_args(s).expect("valid line");
    assert_eq!(
        split("  SET  k   v "),
        vec![b"SET".to_vec(), b"k".to_vec(), b"v".to_vec()]
    );
    assert_eq!(
        split(r#"ECHO "a b\x41\n\"\\""#),
        vec![b"ECHO".to_vec(), b"a bA\n\"\\".to_vec()]
    );
    assert_eq!(
        split(r#"ECHO 'it\'s \n'"#),
        vec![b"ECHO".to_vec(), b"it's \\n".to_vec()]
    );
    assert_eq!(split(r#"ECHO """#), vec![b"ECHO".to_vec(), Vec::new()]);
    assert_eq!(
        split(r"ECHO a\nb"),
        vec![b"ECHO".to_vec(), b"a\\nb".to_vec()]
    );
    assert_eq!(
        split(r#"ECHO "\xzz""#),
        vec![b"ECHO".to_vec(), b"xzz".to_vec()]
    );
    assert!(split_args(r#"SET "a b"#).is_err());
    assert!(split_args("SET 'a b").is_err());
    assert!(split_args(r#"SET "a"b c"#).is_err());
}

#[test]
fn raw_payloads_unescape() {
    assert_eq!(
        unescape_raw(r"*1\r\n$4\r\nPING\r\n").unwrap(),
        b"*1\r\n$4\r\nPING\r\n"
    );
    assert_eq!(
        unescape_raw(r#"ECHO "a\\x41"\n"#).unwrap(),
        b"ECHO \"a\\x41\"\n"
    );
    assert_eq!(unescape_raw(r"\x00\xff\0").unwrap(), b"\x00\xff\x00");
    assert_eq!(unescape_raw(r"*\{3}1\r\n").unwrap(), b"*111\r\n");
    assert_eq!(unescape_raw(r"\{2}\r").unwrap(), b"\r\r");
    assert!(unescape_raw(r"\q").is_err());
    assert!(unescape_raw(r"\{3").is_err());
    assert!(unescape_raw(r"\{x}a").is_err());
}

#[test]
fn steps_parse() {
    assert_eq!(
        parse_step("!raw PING\\r\\n"),
        Ok(Step::Raw {
            bytes: b"PING\r\n".to_vec(),
            replies: 1
        })
    );
    assert_eq!(
        parse_step("!rawn 2 a\\nb\\n"),
        Ok(Step::Raw {
            bytes: b"a\nb\n".to_vec(),
            replies: 2
        })
    );
    assert_eq!(
        parse_step("!rawn 0"),
        Ok(Step::Raw {
            bytes: Vec::new(),
            replies: 0
        })
    );
    assert_eq!(
        parse_step("!sleep 5"),
        Ok(Step::Sleep(Duration::from_millis(5)))
    );
    assert_eq!(parse_step("!resp3"), Ok(Step::Resp3));
    assert_eq!(parse_step("!conn 2"), Ok(Step::Conn(2)));
    assert!(parse_step("!conn x").is_err());
    assert_eq!(
        parse_step("!ignore CLIENT ID"),
        Ok(Step::Ignore(vec![b"CLIENT".to_vec(), b"ID".to_vec()]))
    );
    assert_eq!(
        parse_step("GET k"),
        Ok(Step::Command(vec![b"GET".to_vec(), b"k".to_vec()]))
    );
    assert_eq!(
        parse_step("!replies 2 SUBSCRIBE a b"),
        Ok(Step::Raw {
            bytes: b"*3\r\n$9\r\nSUBSCRIBE\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec(),
            replies: 2
        })
    );
    assert!(parse_step("!replies 2").is_err());
    assert!(parse_step("!rawx 1").is_err());
    assert!(parse_step("!resp3 now").is_err());
    let script = parse_script("t", "# c\n!args --requirepass 'a b'\n\nPING\n");
    assert_eq!(
        script.server_args,
        vec!["--requirepass".to_string(), "a b".to_string()]
    );
    assert_eq!(script.lines.len(), 1);
    assert_eq!(script.lines[0].number, 4);
}

#[test]
fn protocol_error_replies_announce_a_close() {
    let reply = |b: &[u8]| Outcome::Reply(b.to_vec());
    let get = Step::Command(vec![b"GET".to_vec()]);
    assert!(announces_close(
        &get,
        &reply(b"-ERR Protocol error: invalid bulk length\r\n")
    ));
    assert!(!announces_close(
        &get,
        &reply(b"-ERR wrong number of arguments for 'get' command\r\n")
    ));
    assert!(announces_close(
        &Step::Command(vec![b"quit".to_vec()]),
        &reply(b"+OK\r\n")
    ));
}

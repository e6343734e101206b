//! Shared harness for ferredis's integration tests: free loopback ports, ferredis or the real
//! redis-server as child processes, and a raw RESP connection that returns each reply's bytes
//! exactly as they came off the wire (so tests can compare byte for byte).
//!
//! Every test binary compiles its own copy of this module (`mod common;`), so not every
//! binary uses every item.
//!
//! Peers: `require_redis()` decides what a test does when the real redis-server is not on
//! PATH. Under `CI=true` that is a test failure; elsewhere the test prints a SKIP line and
//! returns early.
#![allow(dead_code)]

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// How long a server may take to accept connections before the test panics.
pub const SERVER_START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long `RawConn::read_reply` waits for one complete reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// Path of the ferredis binary Cargo built for this test run.
pub const FERREDIS_BIN: &str = env!("CARGO_BIN_EXE_ferredis-server");

// ---------------------------------------------------------------------------------------------
// Ports
// ---------------------------------------------------------------------------------------------

/// Ports are handed out from below Linux's ephemeral range (32768-60999), so a port we pick
/// can't be taken meanwhile as the source port of some outgoing connection.
const PORT_FIRST: u16 = 20000;
const PORT_COUNT: u32 = 12000;

static NEXT_PORT_OFFSET: AtomicU32 = AtomicU32::new(0);
/// Lock files of the ports this process reserved; kept open (so locked) until the process exits.
static PORT_LOCKS: Mutex<Vec<File>> = Mutex::new(Vec::new());

/// Returns a loopback port that nothing listens on and that no other test process reserved.
///
/// Tests run in parallel, within one process (cargo test) and across processes (nextest runs
/// each test in its own). Within a process an atomic offset never hands out a port twice;
/// across processes each port is reserved with an flock on a lock file under the temp dir,
/// which the kernel releases when the process dies, so there are no stale reservations. The
/// starting point is spread by pid. Finally the port must be bindable right now.
pub fn free_port() -> u16 {
    let start = std::process::id().wrapping_mul(7919) % PORT_COUNT;
    for _ in 0..PORT_COUNT {
        let offset = NEXT_PORT_OFFSET.fetch_add(1, Ordering::Relaxed);
        let port = PORT_FIRST + ((start + offset) % PORT_COUNT) as u16;
        if let Some(lock) = reserve_port(port) {
            if port_is_bindable(port) {
                PORT_LOCKS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(lock);
                return port;
            }
        }
    }
    panic!(
        "free_port: no free port in {PORT_FIRST}..{}",
        PORT_FIRST as u32 + PORT_COUNT
    );
}

fn reserve_port(port: u16) -> Option<File> {
    let dir = std::env::temp_dir().join("ferredis-test-ports");
    fs::create_dir_all(&dir).ok()?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(format!("{port}.lock")))
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// Redis binds the wildcard address by default, so the wildcard must be free too.
fn port_is_bindable(port: u16) -> bool {
    TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
        && TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).is_ok()
}

// ---------------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------------

/// True when a redis-server binary on PATH answers `--version`.
pub fn redis_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    })
}

/// Call first in every test that needs the real redis-server: `if !require_redis() { return; }`.
/// Under `CI=true` a missing peer panics (a failure, never a skip); otherwise it prints a loud
/// SKIP line and returns false.
pub fn require_redis() -> bool {
    if redis_available() {
        return true;
    }
    let test = thread::current().name().unwrap_or("?").to_string();
    if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
        panic!("redis-server is not on PATH and CI=true: run scripts/install-peers.sh ({test})");
    }
    // Written to the stderr handle directly: libtest captures eprintln! of passing tests.
    let line = format!(
        "\n*** SKIP {test}: redis-server is not on PATH (run scripts/install-peers.sh) ***\n"
    );
    let _ = io::stderr().write_all(line.as_bytes());
    false
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// Which binary a `Server` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Ferredis,
    Redis,
}

impl ServerKind {
    fn program(self) -> &'static str {
        match self {
            ServerKind::Ferredis => FERREDIS_BIN,
            ServerKind::Redis => "redis-server",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ServerKind::Ferredis => "ferredis",
            ServerKind::Redis => "redis",
        }
    }
}

/// A server child process on its own port and its own directory; killed (and its directory
/// removed) on Drop. If the test is panicking, the tail of the server's log is printed first.
pub struct Server {
    pub child: Child,
    pub kind: ServerKind,
    pub port: u16,
    /// Unique scratch directory: the server's `dir` (RDB files land here) and its logs.
    pub dir: PathBuf,
    /// The server's `--logfile`.
    pub log: PathBuf,
    /// Where the child's stdout and stderr go (panics, config errors before logging starts).
    pub stdio: PathBuf,
}

/// How many times a start is retried when another process grabbed the port first.
const START_ATTEMPTS: u32 = 3;

impl Server {
    /// Starts the ferredis binary of this crate with the standard test arguments plus `args`.
    pub fn start_ferredis(args: &[&str]) -> Server {
        Server::start(ServerKind::Ferredis, args)
    }

    /// Starts the real redis-server from PATH with the standard test arguments plus `args`.
    pub fn start_redis(args: &[&str]) -> Server {
        Server::start(ServerKind::Redis, args)
    }

    /// Both kinds get the same standard arguments, so their configs (and CONFIG GET) match:
    /// `--port P --save "" --appendonly no --dir <dir> --logfile <dir>/log` then `args`.
    pub fn start(kind: ServerKind, args: &[&str]) -> Server {
        let mut attempt = 1;
        loop {
            match Server::try_start(kind, args) {
                Ok(server) => return server,
                Err(failure) if failure.port_taken && attempt < START_ATTEMPTS => attempt += 1,
                Err(failure) => panic!("{}", failure.report),
            }
        }
    }

    fn try_start(kind: ServerKind, args: &[&str]) -> Result<Server, StartFailure> {
        let port = free_port();
        let dir = unique_dir(kind, port);
        let log = dir.join("log");
        let stdio = dir.join("stdio");
        let child = spawn(kind, port, &dir, &log, &stdio, args);
        let mut server = Server {
            child,
            kind,
            port,
            dir,
            log,
            stdio,
        };
        match server.wait_until_accepting() {
            Ok(()) => Ok(server),
            Err(why) => {
                let output = server.output();
                let port_taken = output.contains("Address already in use");
                let report = format!(
                    "{} failed to start on port {port} ({why}); args {args:?}\n{output}",
                    kind.name()
                );
                Err(StartFailure { port_taken, report })
            }
        }
    }

    fn wait_until_accepting(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + SERVER_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited early with {status}"));
            }
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!("not accepting after {SERVER_START_TIMEOUT:?}"));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// "127.0.0.1:<port>".
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A new raw connection to this server.
    pub fn conn(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// The server's log file followed by its captured stdout/stderr.
    pub fn output(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let stdio = fs::read_to_string(&self.stdio).unwrap_or_default();
        format!(
            "--- {} log ---\n{log}--- {} stdout/stderr ---\n{stdio}",
            self.kind.name(),
            self.kind.name()
        )
    }

    /// Panics (with the server's output) if the server process has exited.
    pub fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "{} on port {} exited with {status}\n{}",
                self.kind.name(),
                self.port,
                self.output()
            );
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("{}", tail(&self.output(), 60));
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

struct StartFailure {
    port_taken: bool,
    report: String,
}

fn spawn(
    kind: ServerKind,
    port: u16,
    dir: &Path,
    log: &Path,
    stdio: &Path,
    args: &[&str],
) -> Child {
    let out = File::create(stdio).unwrap_or_else(|e| panic!("create {}: {e}", stdio.display()));
    let err = out
        .try_clone()
        .unwrap_or_else(|e| panic!("dup stdio file: {e}"));
    Command::new(kind.program())
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot spawn {}: {e}", kind.program()))
}

/// A fresh directory under the system temp dir; unique per process, call and port.
fn unique_dir(kind: ServerKind, port: u16) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = format!(
        "ferredis-test-{}-{}-{n}-{port}",
        kind.name(),
        std::process::id()
    );
    let dir = std::env::temp_dir().join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------------------------
// RESP framing
// ---------------------------------------------------------------------------------------------

/// Encodes a command as a RESP multibulk request.
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Length of the first complete RESP2/RESP3 reply in `buf`: `Ok(Some(len))` when complete,
/// `Ok(None)` when more bytes are needed, `Err` when the bytes are not RESP.
///
/// Walks the reply iteratively: `pending` counts values still to read, and each aggregate
/// header adds its children to it. An attribute (`|`) adds its key/value pairs plus the real
/// reply that follows, so both are returned together.
pub fn resp_frame_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let mut pos = 0usize;
    let mut pending: u64 = 1;
    while pending > 0 {
        let Some(line_end) = find_crlf(buf, pos) else {
            return Ok(None);
        };
        let kind = buf[pos];
        let line = &buf[pos + 1..line_end];
        pos = line_end + 2;
        pending -= 1;
        match kind {
            b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => {}
            b'$' | b'!' | b'=' => {
                let len = parse_len(line, kind)?;
                if len < 0 {
                    continue; // $-1: the RESP2 null bulk.
                }
                let end = pos
                    .checked_add(len as usize + 2)
                    .ok_or("bulk length overflow")?;
                if buf.len() < end {
                    return Ok(None);
                }
                if &buf[end - 2..end] != b"\r\n" {
                    return Err(format!("bulk of {len} bytes not followed by CRLF"));
                }
                pos = end;
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let count = parse_len(line, kind)?;
                pending += children(kind, count)?;
            }
            other => return Err(format!("unknown RESP type byte {:?}", other as char)),
        }
    }
    Ok(Some(pos))
}

/// How many values an aggregate header announces (`*-1` is the RESP2 null array: none).
fn children(kind: u8, count: i64) -> Result<u64, String> {
    if count < 0 {
        return Ok(0);
    }
    let count = count as u64;
    Ok(match kind {
        b'%' => count * 2,
        b'|' => count * 2 + 1,
        _ => count,
    })
}

fn parse_len(line: &[u8], kind: u8) -> Result<i64, String> {
    let text = std::str::from_utf8(line)
        .map_err(|_| format!("non-UTF-8 length after {:?}", kind as char))?;
    let len: i64 = text
        .parse()
        .map_err(|_| format!("bad length {text:?} after {:?}", kind as char))?;
    let null_allowed = kind == b'$' || kind == b'*';
    if len < -1 || (len == -1 && !null_allowed) || len > i32::MAX as i64 {
        return Err(format!(
            "length {len} out of range after {:?}",
            kind as char
        ));
    }
    Ok(len)
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    rest.windows(2).position(|w| w == b"\r\n").map(|i| from + i)
}

/// Renders bytes for failure messages: printable ASCII as is, `\r \n \t \" \\` escaped,
/// anything else as `\xHH`, inside double quotes; very long inputs are cut.
pub fn escape_bytes(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 2000;
    let mut out = String::from("\"");
    for &b in bytes.iter().take(MAX_SHOWN) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    if bytes.len() > MAX_SHOWN {
        out.push_str(&format!("... ({} bytes in all)", bytes.len()));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Raw connections
// ---------------------------------------------------------------------------------------------

/// Why `read_reply` returned no reply.
#[derive(Debug)]
pub enum ReplyError {
    /// The server closed the connection (EOF or reset) before sending any byte of a reply.
    Closed,
    /// The server closed the connection in the middle of a reply; the bytes it did send.
    Truncated(Vec<u8>),
    /// No complete reply within the timeout; the bytes received so far.
    Timeout(Vec<u8>),
    /// The bytes are not RESP.
    Malformed(String),
    Io(io::Error),
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Closed => write!(f, "connection closed before a reply"),
            ReplyError::Truncated(b) => {
                write!(f, "connection closed mid-reply after {}", escape_bytes(b))
            }
            ReplyError::Timeout(b) => {
                write!(f, "timed out waiting for a reply; got {}", escape_bytes(b))
            }
            ReplyError::Malformed(why) => write!(f, "malformed reply: {why}"),
            ReplyError::Io(e) => write!(f, "I/O error: {e}"),
        }
    }
}

/// A plain TCP connection speaking RESP by hand. Replies are returned as raw bytes; bytes
/// that arrive after a reply stay buffered for the next `read_reply`.
pub struct RawConn {
    stream: TcpStream,
    /// Received bytes not yet returned as a reply.
    buf: Vec<u8>,
    /// The server closed its side (EOF or reset was seen).
    eof: bool,
    timeout: Duration,
}

impl RawConn {
    /// Connects to 127.0.0.1:`port`, panicking on failure.
    pub fn connect(port: u16) -> RawConn {
        RawConn::try_connect(port).unwrap_or_else(|e| panic!("connect to 127.0.0.1:{port}: {e}"))
    }

    pub fn try_connect(port: u16) -> io::Result<RawConn> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let stream = TcpStream::connect_timeout(&addr, REPLY_TIMEOUT)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(REPLY_TIMEOUT))?;
        Ok(RawConn {
            stream,
            buf: Vec::new(),
            eof: false,
            timeout: REPLY_TIMEOUT,
        })
    }

    /// Changes how long `read_reply` waits (e.g. longer for blocking commands).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Sends raw bytes, panicking on failure.
    pub fn send(&mut self, bytes: &[u8]) {
        self.try_send(bytes)
            .unwrap_or_else(|e| panic!("send {}: {e}", escape_bytes(bytes)));
    }

    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)?;
        self.stream.flush()
    }

    /// Sends `args` as a multibulk and returns the raw bytes of the one reply; panics with
    /// the command if no complete reply arrives.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode_command(args));
        self.read_reply()
            .unwrap_or_else(|e| panic!("{}: {e}", escape_bytes(&args.join(&b' '))))
    }

    /// Like `cmd`, with the arguments as a string split on spaces: `c.cmd_str("SET k v")`.
    pub fn cmd_str(&mut self, line: &str) -> Vec<u8> {
        let args: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.cmd(&args)
    }

    /// Reads exactly one complete reply (any RESP2/RESP3 type) and returns its bytes.
    pub fn read_reply(&mut self) -> Result<Vec<u8>, ReplyError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match resp_frame_len(&self.buf) {
                Ok(Some(len)) => return Ok(self.buf.drain(..len).collect()),
                Ok(None) => {}
                Err(why) => {
                    return Err(ReplyError::Malformed(format!(
                        "{why} in {}",
                        escape_bytes(&self.buf)
                    )))
                }
            }
            if self.eof {
                return Err(self.closed_error());
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ReplyError::Timeout(std::mem::take(&mut self.buf)));
            }
            self.fill(deadline - now).map_err(ReplyError::Io)?;
        }
    }

    fn closed_error(&mut self) -> ReplyError {
        if self.buf.is_empty() {
            ReplyError::Closed
        } else {
            ReplyError::Truncated(std::mem::take(&mut self.buf))
        }
    }

    /// Reads whatever arrives within `wait` (zero: only what is already there) into the
    /// buffer. Timeouts are not errors; EOF and connection resets set `eof`.
    fn fill(&mut self, wait: Duration) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        if wait.is_zero() {
            self.stream.set_nonblocking(true)?;
        } else {
            self.stream.set_read_timeout(Some(wait))?;
        }
        let result = self.stream.read(&mut chunk);
        if wait.is_zero() {
            self.stream.set_nonblocking(false)?;
        }
        match result {
            Ok(0) => self.eof = true,
            Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            Err(e) if is_reset(&e) => self.eof = true,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Waits up to `wait` for the server to close the connection, buffering any bytes that
    /// arrive meanwhile (see `take_pending`). Returns true once EOF or a reset was seen.
    pub fn poll_closed(&mut self, wait: Duration) -> io::Result<bool> {
        let deadline = Instant::now() + wait;
        loop {
            let before = self.buf.len();
            self.fill(deadline.saturating_duration_since(Instant::now()))?;
            if self.eof {
                return Ok(true);
            }
            let got_data = self.buf.len() > before;
            if !got_data && Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }

    /// Asserts that the server closes the connection within the reply timeout, with no
    /// bytes left unread.
    pub fn read_closed(&mut self) {
        let closed = self
            .poll_closed(self.timeout)
            .unwrap_or_else(|e| panic!("read_closed: {e}"));
        assert!(
            self.buf.is_empty(),
            "expected the connection to close, got {}",
            escape_bytes(&self.buf)
        );
        assert!(
            closed,
            "server did not close the connection within {:?}",
            self.timeout
        );
    }

    /// Takes the bytes received but not yet returned as a reply.
    pub fn take_pending(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// True once the server's EOF or reset has been seen.
    pub fn is_closed(&self) -> bool {
        self.eof
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe
    )
}

/// A `redis` crate client connected to 127.0.0.1:`port`, with 5 s read/write timeouts.
pub fn redis_crate_client(port: u16) -> redis::Connection {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap_or_else(|e| panic!("redis client for port {port}: {e}"));
    let conn = client
        .get_connection_with_timeout(REPLY_TIMEOUT)
        .unwrap_or_else(|e| panic!("redis crate connect to port {port}: {e}"));
    conn.set_read_timeout(Some(REPLY_TIMEOUT))
        .unwrap_or_else(|e| panic!("set_read_timeout: {e}"));
    conn.set_write_timeout(Some(REPLY_TIMEOUT))
        .unwrap_or_else(|e| panic!("set_write_timeout: {e}"));
    conn
}

// ---- Blocking-command helpers shared by tests/blocking_*.rs ----

/// INFO's blocked_clients as seen by `ctl`.
pub fn blocked_clients(ctl: &mut RawConn) -> usize {
    let info = String::from_utf8_lossy(&ctl.cmd_str("INFO clients")).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix("blocked_clients:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no blocked_clients in {info}"))
}

/// Waits until exactly `n` clients are blocked (the server has processed their commands).
pub fn wait_blocked(ctl: &mut RawConn, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while blocked_clients(ctl) != n {
        assert!(
            Instant::now() < deadline,
            "blocked_clients never reached {n}"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

/// Sends a command without reading its reply, then waits until `blocked` clients block.
pub fn send_blocking(conn: &mut RawConn, ctl: &mut RawConn, line: &str, blocked: usize) {
    conn.send(&encode_command(
        &line
            .split_whitespace()
            .map(str::as_bytes)
            .collect::<Vec<_>>(),
    ));
    wait_blocked(ctl, blocked);
}

/// The text of a simple, error or integer reply (`+OK` -> "OK"), or of a bulk string.
pub fn reply_text(reply: &[u8]) -> String {
    let s = String::from_utf8_lossy(reply).into_owned();
    match s.as_bytes().first() {
        Some(b'$') => s.split_once("\r\n").map_or(String::new(), |(_, body)| body.trim_end_matches("\r\n").to_string()),
        _ => s.get(1..).unwrap_or("").trim_end_matches("\r\n").to_string(),
    }
}

/// Sends an inline command and returns its reply as [`reply_text`].
pub fn cmd_text(c: &mut RawConn, line: &str) -> String {
    reply_text(&c.cmd_str(line))
}

/// Asserts the command did not answer with an error.
#[track_caller]
pub fn cmd_ok(c: &mut RawConn, line: &str) {
    let reply = c.cmd_str(line);
    assert!(!reply.starts_with(b"-"), "{line}: {}", escape_bytes(&reply));
}

/// One `name:value` field of `INFO <section>` (`all` searches every section).
pub fn info_field(c: &mut RawConn, section: &str, name: &str) -> Option<String> {
    let info = cmd_text(c, &format!("INFO {section}"));
    info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(|v| v.trim().to_string())
}

/// A numeric INFO field, or `i64::MIN` when it is missing or not a number.
pub fn info_num(c: &mut RawConn, section: &str, name: &str) -> i64 {
    info_field(c, section, name).and_then(|v| v.parse().ok()).unwrap_or(i64::MIN)
}

/// Polls `cond` every 20 ms for at most `secs` seconds (no timed assertion: the bound only
/// turns a hang into a failure).
#[track_caller]
pub fn wait_until(secs: u64, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// The server's log file so far.
pub fn log_of(srv: &Server) -> String {
    fs::read_to_string(&srv.log).unwrap_or_default()
}

impl Server {
    /// Sends `sig` ("-STOP", "-CONT", "-KILL", "-TERM" ...) to this server's own process.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args([sig, &pid]).status().is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid} failed");
    }

    /// Waits (bounded) for the process to exit by itself; its exit status.
    pub fn wait_exit(&mut self, secs: u64) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "{} did not exit within {secs} s", self.kind.name());
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Accepts the one connection a server under test makes to a fake peer (a fake master), within
/// `secs`; the stream comes back blocking with a 10 s read timeout.
pub fn accept_within(listener: &TcpListener, secs: u64) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking listener");
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking stream");
                s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the server under test did not connect");
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// How to start a Sentinel: the program and whether it needs `--sentinel`. redis-sentinel
/// when installed; under CI=true its absence is a failure; otherwise redis-server --sentinel,
/// or None (the caller's test prints SKIP naming `test`).
pub fn sentinel_program(test: &str) -> Option<(&'static str, bool)> {
    let works = |prog: &str| {
        Command::new(prog)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("redis-sentinel") {
        return Some(("redis-sentinel", false));
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("redis-sentinel is not on PATH and CI=true: run scripts/install-peers.sh");
    }
    let fallback = works("redis-server").then_some(("redis-server", true));
    if fallback.is_none() {
        eprintln!("\n*** SKIP {test}: neither redis-sentinel nor redis-server is on PATH ***\n");
    }
    fallback
}

/// The servers a comparison test runs against: ferredis, and redis-server when it is
/// installed (require_redis(): under CI=true its absence fails the test).
pub fn server_kinds() -> Vec<ServerKind> {
    let mut kinds = vec![ServerKind::Ferredis];
    if require_redis() {
        kinds.push(ServerKind::Redis);
    }
    kinds
}

/// Reads one RESP array a server under test sent to a fake peer (a replica's handshake
/// command), byte by byte so nothing past it is consumed.
pub fn read_command(s: &mut TcpStream) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if let Ok(Some(len)) = resp_frame_len(&buf) {
            assert_eq!(len, buf.len());
            return buf;
        }
        s.read_exact(&mut byte).expect("a command from the server under test");
        buf.push(byte[0]);
    }
}

/// Starts a Sentinel on the config file `conf` (`needs_flag`: the program is redis-server,
/// which needs `--sentinel`), its output discarded (it logs to the file the config names).
pub fn spawn_sentinel(program: &str, needs_flag: bool, conf: &Path) -> Child {
    let mut cmd = Command::new(program);
    cmd.arg(conf);
    if needs_flag {
        cmd.arg("--sentinel");
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"))
}

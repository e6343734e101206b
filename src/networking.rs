//! Clients and their sockets: Redis's networking.c, minus the reply builders (reply.rs).
//!
//! The event loop calls [`accept_tcp_handler`] when a listener is readable and
//! [`read_query_from_client`] when a client is. The reader appends to the client's query
//! buffer, and [`process_input_buffer`] cuts it into commands (RESP multibulk or inline) and
//! hands each to `process_command`. Replies are only buffered during a command; they are
//! written once per loop turn by [`handle_clients_with_pending_writes`] from `before_sleep`,
//! which installs [`send_reply_to_client`] as a writable handler only for a socket that could
//! not take everything.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;

use crate::ae::{AE_READABLE, AE_WRITABLE};
use crate::anet;
use crate::reply::Reply;
use crate::server::{self, Server};
use crate::util;

/// Redis: PROTO_IOBUF_LEN. What one read takes at most.
pub const PROTO_IOBUF_LEN: usize = 16 * 1024;
/// Redis: PROTO_INLINE_MAX_SIZE. Longest inline request or count line.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis: PROTO_MBULK_BIG_ARG. From this size on, a bulk is read in one piece.
const PROTO_MBULK_BIG_ARG: i64 = 32 * 1024;
/// Redis: PROTO_RESIZE_THRESHOLD. Above this size an oversized query buffer is trimmed
/// even while the client is active.
const PROTO_RESIZE_THRESHOLD: usize = 32 * 1024;
/// Redis: MAX_ACCEPTS_PER_CALL.
const MAX_ACCEPTS_PER_CALL: usize = 1000;
/// Redis: NET_MAX_WRITES_PER_EVENT.
const NET_MAX_WRITES_PER_EVENT: usize = 64 * 1024;

// Redis: server.h CLIENT_* flags (the subset this server uses).
pub const CLIENT_SLAVE: u64 = 1 << 0;
pub const CLIENT_MASTER: u64 = 1 << 1;
pub const CLIENT_MONITOR: u64 = 1 << 2;
pub const CLIENT_MULTI: u64 = 1 << 3;
pub const CLIENT_BLOCKED: u64 = 1 << 4;
pub const CLIENT_CLOSE_AFTER_REPLY: u64 = 1 << 6;
pub const CLIENT_UNIX_SOCKET: u64 = 1 << 11;
pub const CLIENT_CLOSE_ASAP: u64 = 1 << 10;
/// Subscribed to some channel or pattern (Redis: CLIENT_PUBSUB).
pub const CLIENT_PUBSUB: u64 = 1 << 18;
pub const CLIENT_PENDING_WRITE: u64 = 1 << 21;
pub const CLIENT_REPLY_OFF: u64 = 1 << 22;
pub const CLIENT_REPLY_SKIP_NEXT: u64 = 1 << 23;
pub const CLIENT_REPLY_SKIP: u64 = 1 << 24;
pub const CLIENT_PROTECTED: u64 = 1 << 28;
pub const CLIENT_NO_EVICT: u64 = 1 << 43;
pub const CLIENT_PROTOCOL_ERROR: u64 = 1 << 39;
pub const CLIENT_CLOSE_AFTER_COMMAND: u64 = 1 << 40;
/// Blocking commands answer at once instead of blocking (inside MULTI, scripts).
pub const CLIENT_DENY_BLOCKING: u64 = 1 << 41;

/// Redis: client->reqtype.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReqType {
    Unknown,
    Inline,
    Multibulk,
}

/// The socket under a client.
#[derive(Debug)]
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn fd(&self) -> RawFd {
        match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::Unix(s) => s.as_raw_fd(),
        }
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Unix(s) => s.read(buf),
        }
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Unix(s) => s.write(buf),
        }
    }

    /// One writev(2) of several buffers.
    pub fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write_vectored(bufs),
            Conn::Unix(s) => s.write_vectored(bufs),
        }
    }
}

/// The arguments of the command being run: one buffer and the bounds of each argument, so a
/// command costs no allocation per argument once the buffers have grown.
#[derive(Debug, Default, Clone)]
pub struct Argv {
    data: Vec<u8>,
    bounds: Vec<(usize, usize)>,
    /// The arguments as the client sent them, kept once a command rewrites or redacts its
    /// arguments (Redis: client->original_argv); MONITOR shows these.
    original: Option<Box<Argv>>,
}

impl Argv {
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Argument `i`; empty when out of range, so no input can turn into an index panic.
    /// Command procs only read positions their arity guarantees.
    #[inline]
    pub fn get(&self, i: usize) -> &[u8] {
        match self.bounds.get(i) {
            Some(&(start, end)) => self.data.get(start..end).unwrap_or(&[]),
            None => &[],
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    pub fn push(&mut self, arg: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(arg);
        self.bounds.push((start, self.data.len()));
    }

    pub fn clear(&mut self) {
        self.data.clear();
        self.bounds.clear();
        self.original = None;
    }

    /// Bytes held by the arguments (Redis: client->argv_len_sum).
    pub fn len_sum(&self) -> usize {
        self.data.len()
    }

    /// Replaces all arguments, keeping the client's own (Redis: replaceClientCommandVector()
    /// with retainOriginalCommandVector()).
    pub fn replace(&mut self, args: &[&[u8]]) {
        self.retain_original();
        self.data.clear();
        self.bounds.clear();
        for arg in args {
            self.push(arg);
        }
    }

    /// Redis: networking.c retainOriginalCommandVector().
    fn retain_original(&mut self) {
        if self.original.is_none() {
            let mut copy = self.clone();
            copy.original = None;
            self.original = Some(Box::new(copy));
        }
    }

    /// Redis: networking.c redactClientCommandArgument(): MONITOR shows "(redacted)".
    pub fn redact(&mut self, i: usize) {
        self.retain_original();
        if let Some(original) = self.original.as_mut() {
            let mut args = original.to_vecs();
            if let Some(arg) = args.get_mut(i) {
                *arg = b"(redacted)".to_vec();
            }
            original.data.clear();
            original.bounds.clear();
            for arg in &args {
                original.push(arg);
            }
        }
    }

    /// The arguments as the client sent them (or redacted), for MONITOR.
    pub fn original(&self) -> &Argv {
        self.original.as_deref().unwrap_or(self)
    }

    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|a| a.to_vec()).collect()
    }
}

/// Redis: networking.c rewriteClientCommandVector(): the command as replicas will see it
/// (MONITOR keeps showing what the client sent).
pub fn rewrite_client_command_vector(c: &mut Client, args: &[&[u8]]) {
    c.argv.replace(args);
}

/// Redis: networking.c rewriteClientCommandArgument(): one argument replaced (or appended
/// when `idx` is the argument count).
pub fn rewrite_client_command_argument(c: &mut Client, idx: usize, value: &[u8]) {
    let mut args = c.argv.to_vecs();
    match idx.cmp(&args.len()) {
        std::cmp::Ordering::Less => args[idx] = value.to_vec(),
        std::cmp::Ordering::Equal => args.push(value.to_vec()),
        std::cmp::Ordering::Greater => return,
    }
    let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    c.argv.replace(&refs);
}

/// Redis: server.h struct client (the fields this server needs so far).
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub conn: Option<Conn>,
    pub fd: RawFd,
    pub flags: u64,
    pub db: usize,
    pub name: Option<Vec<u8>>,
    pub authenticated: bool,
    /// Query buffer: `querybuf[..qb_len]` holds read bytes, `qb_pos` the first unparsed one.
    /// The vector's length is its usable capacity, so reads need no zeroing each time.
    pub querybuf: Vec<u8>,
    pub qb_pos: usize,
    pub qb_len: usize,
    pub querybuf_peak: usize,
    pub reqtype: ReqType,
    pub multibulklen: i64,
    pub bulklen: i64,
    pub argv: Argv,
    pub reply: Reply,
    /// Index of the command being run and of the last one run, in the command table.
    pub cmd: Option<usize>,
    pub lastcmd: Option<usize>,
    pub ctime: i64,
    pub last_interaction: i64,
    pub obuf_soft_limit_reached_time: i64,
    pub addr: String,
    pub laddr: String,
    pub user: &'static str,
    /// What the client waits for while CLIENT_BLOCKED on keys (Redis: client->bstate).
    pub bstate: Option<crate::blocked::BlockState>,
    /// The command runs again to serve a blocked client (Redis: CLIENT_REPROCESSING_COMMAND).
    pub reprocessing: bool,
    /// Commands queued since MULTI (Redis: client->mstate).
    pub mstate: crate::multi::MultiState,
    /// Channels, patterns and shard channels subscribed to (Redis: c->pubsub_*).
    pub pubsub: crate::pubsub::ClientPubsub,
    /// The master-side replication state of a client that is (or is about to become) one of
    /// our replicas: REPLCONF options, replstate, ACKs, the RDB being sent (Redis:
    /// replstate, repl_ack_off, slave_capa ... of struct client). None for other clients.
    pub repl: Option<Box<crate::replication::master::ReplicaInfo>>,
    /// The master offset right after this client's last propagated write, what WAIT waits
    /// for (Redis: client->woff).
    pub woff: i64,
}

impl Client {
    /// Redis: networking.c createClient(). `conn` is None for a fake client.
    pub fn new(id: u64, conn: Option<Conn>, now: i64) -> Client {
        let fd = conn.as_ref().map_or(-1, Conn::fd);
        let (addr, laddr) = match &conn {
            Some(Conn::Tcp(s)) => (anet::format_peer(s), anet::format_sock(s)),
            Some(Conn::Unix(_)) => (String::from("/unixsocket:0"), String::from("/unixsocket:0")),
            None => (String::new(), String::new()),
        };
        Client {
            id,
            conn,
            fd,
            flags: 0,
            db: 0,
            name: None,
            authenticated: false,
            querybuf: vec![0; crate::sds::sds_empty_alloc()],
            qb_pos: 0,
            qb_len: 0,
            querybuf_peak: 0,
            reqtype: ReqType::Unknown,
            multibulklen: 0,
            bulklen: -1,
            argv: Argv::default(),
            reply: Reply::default(),
            cmd: None,
            lastcmd: None,
            ctime: now,
            last_interaction: now,
            obuf_soft_limit_reached_time: 0,
            addr,
            laddr,
            user: "default",
            bstate: None,
            reprocessing: false,
            mstate: Default::default(),
            pubsub: Default::default(),
            repl: None,
            woff: 0,
        }
    }

    pub fn unparsed(&self) -> &[u8] {
        self.querybuf.get(self.qb_pos..self.qb_len).unwrap_or(&[])
    }

    /// Redis: networking.c resetClient() (the parsing half).
    pub fn reset_client(&mut self) {
        self.argv.clear();
        self.reqtype = ReqType::Unknown;
        self.multibulklen = 0;
        self.bulklen = -1;
        self.cmd = None;
    }

    /// Redis: networking.c clientHasPendingReplies().
    pub fn client_has_pending_replies(&self) -> bool {
        self.reply.has_pending()
    }
}

/// Why a request could not be parsed. The text is Redis's, after "Protocol error: ".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
}

impl ProtoError {
    /// The error text, as bytes: Redis puts the offending byte of "expected '$'" in raw.
    pub fn message(self) -> Vec<u8> {
        let text = match self {
            ProtoError::TooBigInline => "too big inline request",
            ProtoError::UnbalancedQuotes => "unbalanced quotes in request",
            ProtoError::TooBigMbulkCount => "too big mbulk count string",
            ProtoError::InvalidMultibulkLength => "invalid multibulk length",
            ProtoError::UnauthenticatedMultibulkLength => "unauthenticated multibulk length",
            ProtoError::TooBigBulkCount => "too big bulk count string",
            ProtoError::InvalidBulkLength => "invalid bulk length",
            ProtoError::UnauthenticatedBulkLength => "unauthenticated bulk length",
            ProtoError::ExpectedDollar(got) => {
                let mut msg = b"Protocol error: expected '$', got '".to_vec();
                msg.extend_from_slice(&[got, b'\'']);
                return msg;
            }
        };
        format!("Protocol error: {}", text).into_bytes()
    }
}

/// What the parsers need to know about limits.
#[derive(Debug, Clone, Copy)]
pub struct ParseLimits {
    pub proto_max_bulk_len: i64,
    /// The client must still authenticate: Redis then caps argc and bulk sizes.
    pub unauthenticated: bool,
    /// The link from our master is exempt from proto-max-bulk-len.
    pub is_master: bool,
}

/// Redis: networking.c processInlineBuffer(). Ok(true) when a command is in `argv`.
pub fn process_inline_buffer(c: &mut Client) -> Result<bool, ProtoError> {
    let unparsed = c.unparsed();
    let Some(newline) = memchr::memchr(b'\n', unparsed) else {
        if unparsed.len() > PROTO_INLINE_MAX_SIZE {
            return Err(ProtoError::TooBigInline);
        }
        return Ok(false);
    };
    let mut line = &unparsed[..newline];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    let args = util::sds_split_args(line).map_err(|_| ProtoError::UnbalancedQuotes)?;
    c.qb_pos += newline + 1;
    c.argv.clear();
    for arg in &args {
        c.argv.push(arg);
    }
    Ok(true)
}

/// Redis: networking.c processMultibulkBuffer(). Ok(true) when every argument has arrived.
/// Partial input is kept in the client's parsing state for the next read.
pub fn process_multibulk_buffer(c: &mut Client, limits: ParseLimits) -> Result<bool, ProtoError> {
    if c.multibulklen == 0 && parse_whole_multibulk(c, limits) {
        return Ok(true);
    }
    process_multibulk_buffer_general(c, limits)
}

/// The line-by-line parser of processMultibulkBuffer(): any input, partial commands kept in
/// `multibulklen`/`bulklen` across reads, every protocol error.
fn process_multibulk_buffer_general(c: &mut Client, limits: ParseLimits) -> Result<bool, ProtoError> {
    if c.multibulklen == 0 {
        let Some(count) = read_count_line(c, b'*', ProtoError::TooBigMbulkCount)? else {
            return Ok(false);
        };
        let count = util::string2ll(count).filter(|&n| n <= i32::MAX as i64);
        let Some(count) = count else { return Err(ProtoError::InvalidMultibulkLength) };
        if limits.unauthenticated && count > 10 {
            return Err(ProtoError::UnauthenticatedMultibulkLength);
        }
        if count <= 0 {
            return Ok(true);
        }
        c.multibulklen = count;
        c.argv.clear();
    }
    while c.multibulklen > 0 {
        if c.bulklen == -1 && !read_bulk_header(c, limits)? {
            return Ok(false);
        }
        let need = c.bulklen as usize + 2;
        let unparsed = c.unparsed();
        if unparsed.len() < need {
            return Ok(false);
        }
        let arg_end = c.qb_pos + c.bulklen as usize;
        let Some(arg) = c.querybuf.get(c.qb_pos..arg_end) else { return Ok(false) };
        c.argv.push(arg);
        c.qb_pos += need;
        c.bulklen = -1;
        c.multibulklen -= 1;
    }
    Ok(true)
}

/// The common case of processMultibulkBuffer() in one pass: a whole command already in the
/// buffer, its count and lengths in their plain form (1 to 9 digits, no leading zero) and
/// every bulk small (below PROTO_MBULK_BIG_ARG) and within the limits. It skips the memchr
/// and string2ll of each line, about a third of the parse. Anything else returns false
/// with the parse state untouched (only `argv` may hold arguments, and the general parser
/// clears it before it fills it): that parser then reads the same bytes from the start
/// and gives every error, limit and partial-input answer exactly as before.
fn parse_whole_multibulk(c: &mut Client, limits: ParseLimits) -> bool {
    let Some(buf) = c.querybuf.get(c.qb_pos..c.qb_len) else { return false };
    let Some((count, mut pos)) = parse_plain_count_line(buf, 0, b'*') else { return false };
    if limits.unauthenticated && count > 10 {
        return false;
    }
    let max_len = fast_bulk_max_len(limits);
    c.argv.clear();
    for _ in 0..count {
        let Some((len, start)) = parse_plain_count_line(buf, pos, b'$') else { return false };
        let end = start + len;
        if len > max_len || buf.len() < end + 2 {
            return false;
        }
        let Some(arg) = buf.get(start..end) else { return false };
        c.argv.push(arg);
        // Like Redis, the two bytes after the bulk are skipped unchecked.
        pos = end + 2;
    }
    c.qb_pos += pos;
    true
}

/// The longest bulk [`parse_whole_multibulk`] takes: below PROTO_MBULK_BIG_ARG (a big
/// argument moves the buffer), within proto-max-bulk-len (the master is exempt) and, before
/// AUTH, within 16 KB.
fn fast_bulk_max_len(limits: ParseLimits) -> usize {
    let mut max = PROTO_MBULK_BIG_ARG - 1;
    if !limits.is_master {
        max = max.min(limits.proto_max_bulk_len);
    }
    if limits.unauthenticated {
        max = max.min(16384);
    }
    usize::try_from(max).unwrap_or(0)
}

/// A `<prefix><digits>\r` line at `buf[pos..]` followed by at least one byte, with 1 to 9
/// digits and no leading zero (a lone 0 only as a length): the value and the position
/// after the line. None for anything else, complete or not: count lines of another form
/// (a sign, leading zeros, `*0`, garbage) are left to string2ll in the general parser.
#[inline]
fn parse_plain_count_line(buf: &[u8], pos: usize, prefix: u8) -> Option<(usize, usize)> {
    let line = buf.get(pos..)?;
    if *line.first()? != prefix {
        return None;
    }
    let mut value = usize::from(line.get(1)?.wrapping_sub(b'0'));
    if value > 9 || (value == 0 && prefix == b'*') {
        return None;
    }
    let mut i = 2;
    loop {
        let digit = usize::from(line.get(i)?.wrapping_sub(b'0'));
        if digit > 9 {
            break;
        }
        if value == 0 || i > 9 {
            return None;
        }
        value = value * 10 + digit;
        i += 1;
    }
    // `line[i]` exists (the loop read it); Redis wants `\r` and one more byte.
    (line.get(i) == Some(&b'\r') && line.len() > i + 1).then_some((value, pos + i + 2))
}

/// Reads the `$<len>` line of the next bulk into `c.bulklen`. Ok(false) when incomplete.
fn read_bulk_header(c: &mut Client, limits: ParseLimits) -> Result<bool, ProtoError> {
    let Some(first) = c.unparsed().first().copied() else { return Ok(false) };
    if first != b'$' {
        // Redis looks for the whole line (\r and the byte after it) before it checks the
        // prefix: an incomplete line waits even with a bad prefix.
        match memchr::memchr(b'\r', c.unparsed()) {
            None if c.unparsed().len() > PROTO_INLINE_MAX_SIZE => return Err(ProtoError::TooBigBulkCount),
            None => return Ok(false),
            Some(cr) if cr + 1 >= c.unparsed().len() => return Ok(false),
            Some(_) => return Err(ProtoError::ExpectedDollar(first)),
        }
    }
    let Some(len) = read_count_line(c, b'$', ProtoError::TooBigBulkCount)? else {
        return Ok(false);
    };
    let max = if limits.is_master { i64::MAX } else { limits.proto_max_bulk_len };
    let bulklen = util::string2ll(len).filter(|&n| n >= 0 && n <= max);
    let Some(bulklen) = bulklen else { return Err(ProtoError::InvalidBulkLength) };
    if limits.unauthenticated && bulklen > 16384 {
        return Err(ProtoError::UnauthenticatedBulkLength);
    }
    // Redis: a big argument should end up alone at the start of the buffer, which then
    // grows (not greedily) to hold exactly it.
    let need = bulklen as usize + 2;
    if bulklen >= PROTO_MBULK_BIG_ARG && c.qb_len - c.qb_pos <= need {
        compact_query_buffer(c);
        reserve_query_space(c, need - c.qb_len, false);
    }
    c.bulklen = bulklen;
    Ok(true)
}

/// Reads a `<prefix><digits>\r\n` line at the parse position and returns the digits.
/// Ok(None) while the line is incomplete. Like Redis, the byte after `\r` is not checked.
fn read_count_line(c: &mut Client, prefix: u8, too_big: ProtoError) -> Result<Option<&[u8]>, ProtoError> {
    let unparsed = c.unparsed();
    let Some(cr) = memchr::memchr(b'\r', unparsed) else {
        if unparsed.len() > PROTO_INLINE_MAX_SIZE {
            return Err(too_big);
        }
        return Ok(None);
    };
    if cr + 1 >= unparsed.len() {
        return Ok(None);
    }
    debug_assert_eq!(unparsed.first(), Some(&prefix));
    let start = c.qb_pos + 1;
    let end = c.qb_pos + cr;
    c.qb_pos += cr + 2;
    Ok(Some(c.querybuf.get(start..end).unwrap_or(&[])))
}

/// Redis: sdsMakeRoomFor() / sdsMakeRoomForNonGreedy() on the query buffer: after moving
/// the unparsed tail to the front, grows the buffer to the size Redis's sds would reach, so
/// the buffer holds what Redis's holds. Returns the free bytes after the data.
fn reserve_query_space(c: &mut Client, extra: usize, greedy: bool) -> usize {
    compact_query_buffer(c);
    let alloc = crate::sds::sds_make_room_for(c.qb_len, c.querybuf.len(), extra, greedy);
    if c.querybuf.len() < alloc && c.qb_len == 0 {
        // Nothing to keep (a new or drained client): a zeroed allocation (calloc) lets the
        // allocator skip zeroing memory it knows is zero; resize() always writes the zeros.
        c.querybuf = vec![0; alloc];
    } else if c.querybuf.len() < alloc {
        c.querybuf.resize(alloc, 0);
    }
    c.querybuf.len() - c.qb_len
}

impl Client {
    /// Redis: server.c clientsCronResizeQueryBuffer(): gives the free space of the query
    /// buffer back when the client has been idle for more than 2 s, or when the buffer is
    /// large and more than twice its recent peak; then restarts the peak.
    pub fn clients_cron_resize_query_buffer(&mut self, unixtime: i64) {
        compact_query_buffer(self);
        let alloc = self.querybuf.len();
        let bulk = usize::try_from(self.bulklen).ok();
        if alloc - self.qb_len > 4096 {
            if unixtime - self.last_interaction > 2 {
                self.resize_query_buffer(self.qb_len);
            } else if alloc > PROTO_RESIZE_THRESHOLD && alloc / 2 > self.querybuf_peak {
                let keep = self.qb_len.max(self.querybuf_peak).max(bulk.unwrap_or(0));
                self.resize_query_buffer(keep);
            }
        }
        self.querybuf_peak = self.qb_len.max(bulk.unwrap_or(0));
    }

    /// Redis: sds.c sdsResize(): the allocation becomes exactly `size` bytes (never below
    /// the data).
    fn resize_query_buffer(&mut self, size: usize) {
        self.querybuf.truncate(size.max(self.qb_len));
        self.querybuf.shrink_to_fit();
    }
}

/// Redis: the sdsrange() at the end of processInputBuffer(): drops the parsed prefix.
fn compact_query_buffer(c: &mut Client) {
    if c.qb_pos == 0 {
        return;
    }
    // Complete arguments are copied into argv as soon as they arrive, so the parsed prefix
    // is never referenced again, even in the middle of a multibulk.
    c.querybuf.copy_within(c.qb_pos..c.qb_len, 0);
    c.qb_len -= c.qb_pos;
    c.qb_pos = 0;
}

/// Redis: networking.c acceptTcpHandler(): accepts up to MAX_ACCEPTS_PER_CALL connections.
pub fn accept_tcp_handler(srv: &mut Server, fd: RawFd, _mask: u8) {
    for _ in 0..MAX_ACCEPTS_PER_CALL {
        match anet::anet_tcp_accept(fd) {
            Ok(Some(stream)) => {
                let peer = anet::format_peer(&stream);
                log::debug!("Accepted {}", peer);
                accept_common_handler(srv, Conn::Tcp(stream), 0);
            }
            Ok(None) => return,
            Err(err) => {
                log::warn!("Accepting client connection: {}", err);
                return;
            }
        }
    }
    // More may be waiting: come back next turn, as the level-triggered ae would.
    srv.el.ae_set_ready(fd, AE_READABLE);
}

/// Redis: networking.c acceptUnixHandler().
pub fn accept_unix_handler(srv: &mut Server, fd: RawFd, _mask: u8) {
    for _ in 0..MAX_ACCEPTS_PER_CALL {
        match anet::anet_unix_accept(fd) {
            Ok(Some(stream)) => {
                log::debug!("Accepted connection to {}", srv.config.unixsocket.as_deref().unwrap_or(""));
                accept_common_handler(srv, Conn::Unix(stream), CLIENT_UNIX_SOCKET);
            }
            Ok(None) => return,
            Err(err) => {
                log::warn!("Accepting client connection: {}", err);
                return;
            }
        }
    }
    srv.el.ae_set_ready(fd, AE_READABLE);
}

/// Redis: networking.c acceptCommonHandler(): maxclients, then createClient().
fn accept_common_handler(srv: &mut Server, mut conn: Conn, flags: u64) {
    if srv.clients_count() >= srv.config.maxclients as usize {
        // Best effort: the socket is non-blocking and about to be closed.
        let _ = conn.write(b"-ERR max number of clients reached\r\n");
        srv.stat_rejected_conn += 1;
        return;
    }
    if let Conn::Tcp(stream) = &conn {
        anet::anet_enable_tcp_no_delay(stream);
        if srv.config.tcp_keepalive > 0 {
            anet::anet_keep_alive(stream, srv.config.tcp_keepalive as i32);
        }
    }
    let fd = conn.fd();
    let id = srv.next_client_id();
    let mut c = Box::new(Client::new(id, Some(conn), srv.unixtime));
    c.flags |= flags;
    if flags & CLIENT_UNIX_SOCKET != 0 {
        // Redis 7.0 shows the socket path as both ends of a unix connection.
        let path = srv.config.unixsocket.as_deref().unwrap_or("");
        c.addr = format!("{}:0", path);
        c.laddr = c.addr.clone();
    }
    c.authenticated = !srv.auth_required();
    if srv.el.ae_create_file_event(fd, AE_READABLE, read_query_from_client).is_err() {
        log::warn!("Error registering fd event for the new client: fd {}", fd);
        return;
    }
    srv.stat_numconnections += 1;
    crate::client::protected_mode_check(srv, &mut c);
    srv.link_client(c);
    srv.queue_reply_write(id);
}

/// Redis: networking.c readQueryFromClient(): one read, then parse and run what arrived.
pub fn read_query_from_client(srv: &mut Server, fd: RawFd, _mask: u8) {
    let Some(mut c) = srv.take_client(fd) else { return };
    srv.stat_total_reads_processed += 1;
    match read_into_query_buffer(srv, &mut c) {
        ReadOutcome::Closed => return free_client(srv, c),
        ReadOutcome::Nothing => return srv.put_client(c),
        ReadOutcome::Read { filled } => {
            // A full read may have left data; a short one may have left the peer's close.
            if filled || srv.el.ae_read_closed(fd) {
                srv.el.ae_set_ready(fd, AE_READABLE);
            }
        }
    }
    if query_buffer_over_limit(srv, &c) {
        let mut info = crate::client::cat_client_info_string(srv, &c);
        info.push_str(" (qbuf initial bytes: ");
        let mut head = Vec::new();
        util::sds_cat_repr(&mut head, &c.querybuf[..c.qb_len.min(64)]);
        info.push_str(&String::from_utf8_lossy(&head));
        log::warn!("Closing client that reached max query buffer length: {})", info);
        return free_client(srv, c);
    }
    process_input_buffer(srv, &mut c);
    srv.after_client_activity(c);
}

enum ReadOutcome {
    Read { filled: bool },
    Nothing,
    Closed,
}

fn read_into_query_buffer(srv: &mut Server, c: &mut Client) -> ReadOutcome {
    let mut readlen = PROTO_IOBUF_LEN;
    let big_arg = c.reqtype == ReqType::Multibulk && c.multibulklen > 0 && c.bulklen >= PROTO_MBULK_BIG_ARG;
    if big_arg {
        // Read just the rest of the big argument, so it ends the buffer (Redis hopes to
        // use the buffer itself as the argument then). A master's stream reads on.
        let remaining = (c.bulklen as usize + 2).saturating_sub(c.qb_len - c.qb_pos);
        if remaining > 0 {
            readlen = remaining;
        }
        if c.flags & CLIENT_MASTER != 0 {
            readlen = readlen.max(PROTO_IOBUF_LEN);
        }
    }
    // Redis: a first allocation and a big argument grow the buffer just enough; otherwise
    // it grows greedily and a read takes all the free space, saving read(2) calls.
    let not_master = c.flags & CLIENT_MASTER == 0;
    if not_master && (big_arg || c.querybuf.len() < PROTO_IOBUF_LEN) {
        reserve_query_space(c, readlen, false);
    } else {
        readlen = reserve_query_space(c, readlen, true);
    }
    let Some(conn) = c.conn.as_mut() else { return ReadOutcome::Closed };
    let Some(target) = c.querybuf.get_mut(c.qb_len..c.qb_len + readlen) else {
        return ReadOutcome::Closed;
    };
    match conn.read(target) {
        Ok(0) => {
            log::debug!("Client closed connection id={} addr={}", c.id, c.addr);
            ReadOutcome::Closed
        }
        Ok(n) => {
            c.qb_len += n;
            c.querybuf_peak = c.querybuf_peak.max(c.qb_len);
            c.last_interaction = srv.unixtime;
            srv.stat_net_input_bytes += n as u64;
            ReadOutcome::Read { filled: n == readlen }
        }
        Err(err) if err.kind() == io::ErrorKind::WouldBlock || err.kind() == io::ErrorKind::Interrupted => {
            ReadOutcome::Nothing
        }
        Err(err) => {
            log::debug!("Reading from client: {}", err);
            ReadOutcome::Closed
        }
    }
}

/// Redis: the client-query-buffer-limit check of readQueryFromClient().
fn query_buffer_over_limit(srv: &Server, c: &Client) -> bool {
    if c.flags & CLIENT_MASTER != 0 {
        return false;
    }
    let limit = srv.config.client_query_buffer_limit as usize;
    c.qb_len - c.qb_pos > limit || c.argv.len_sum() > limit
}

/// Redis: networking.c processInputBuffer(): parses and runs every complete command.
pub fn process_input_buffer(srv: &mut Server, c: &mut Client) {
    while c.qb_pos < c.qb_len {
        if c.flags & (CLIENT_CLOSE_AFTER_REPLY | CLIENT_CLOSE_ASAP | CLIENT_BLOCKED) != 0 {
            break;
        }
        let limits = srv.parse_limits(c);
        match parse_next_command(c, limits) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                set_protocol_error(srv, c, err);
                break;
            }
        }
        if c.argv.is_empty() {
            // Redis: an empty line from a replica is its keep-alive while it loads our
            // RDB (processInlineBuffer() refreshes repl_ack_time), so it is not timed out.
            if c.flags & CLIENT_SLAVE != 0 {
                if let Some(r) = c.repl.as_deref_mut() {
                    r.ack_time = srv.unixtime;
                }
            }
            c.reset_client();
            continue;
        }
        server::process_command(srv, c);
        if c.flags & CLIENT_BLOCKED == 0 {
            c.reset_client();
        }
    }
    compact_query_buffer(c);
}

/// The request-type choice of processInputBuffer(): `*` starts a multibulk, anything else is
/// an inline command; then the matching parser. Ok(true) when `argv` holds a request.
pub fn parse_next_command(c: &mut Client, limits: ParseLimits) -> Result<bool, ProtoError> {
    if c.reqtype == ReqType::Unknown {
        c.reqtype = if c.unparsed().first() == Some(&b'*') { ReqType::Multibulk } else { ReqType::Inline };
    }
    match c.reqtype {
        ReqType::Inline => process_inline_buffer(c),
        _ => process_multibulk_buffer(c, limits),
    }
}

/// Redis: networking.c setProtocolError(): reply with the error, then close after writing.
fn set_protocol_error(srv: &mut Server, c: &mut Client, err: ProtoError) {
    let msg = err.message();
    if log::log_enabled!(log::Level::Debug) {
        let info = crate::client::cat_client_info_string(srv, c);
        let text = String::from_utf8_lossy(&msg);
        log::debug!("Protocol error ({}) from client: {}. Query buffer during protocol error: ...", text, info);
    }
    c.reply.add_reply_error_bytes(&msg);
    c.flags |= CLIENT_CLOSE_AFTER_REPLY | CLIENT_PROTOCOL_ERROR;
    c.qb_pos = c.qb_len;
}

/// How a write pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Everything pending was written.
    Done,
    /// The socket is full: wait for epoll to say it is writable again.
    WouldBlock,
    /// Stopped at NET_MAX_WRITES_PER_EVENT to let other clients run; more can be written now.
    Capped,
}

/// Buffers handed to one writev(2): the fixed buffer and the first list blocks. Redis 7.0
/// writes them one write(2) each; one call for all is the same bytes in fewer syscalls.
const WRITEV_MAX_BUFFERS: usize = 16;

/// Redis: networking.c writeToClient().
pub fn write_to_client(srv: &mut Server, c: &mut Client) -> io::Result<WriteOutcome> {
    srv.stat_total_writes_processed += 1;
    // Redis: putClientInPendingWriteQueue() / clientHasPendingReplies(): a replica's buffer
    // accumulates the stream while it waits for (or receives) its RDB.
    if !crate::replication::master::replica_output_may_flow(c) {
        return Ok(WriteOutcome::Done);
    }
    let mut total = 0;
    let mut outcome = WriteOutcome::Done;
    while c.reply.has_pending() {
        let Some(conn) = c.conn.as_mut() else { break };
        let mut slices = [io::IoSlice::new(&[]); WRITEV_MAX_BUFFERS];
        let count = c.reply.pending_slices(&mut slices);
        match conn.write_vectored(&slices[..count]) {
            Ok(0) => {
                outcome = WriteOutcome::WouldBlock;
                break;
            }
            Ok(n) => {
                c.reply.advance(n);
                total += n;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                outcome = WriteOutcome::WouldBlock;
                break;
            }
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        }
        // Redis stops after NET_MAX_WRITES_PER_EVENT to serve other clients, except
        // when memory is above maxmemory and the buffer must drain, and for a replica,
        // whose buffer would otherwise keep growing under a fast write load.
        let capped = total > NET_MAX_WRITES_PER_EVENT && !srv.over_maxmemory() && c.flags & CLIENT_SLAVE == 0;
        if c.reply.has_pending() && capped {
            outcome = WriteOutcome::Capped;
            break;
        }
    }
    // Redis: a replica's stream is counted apart (INFO total_net_repl_output_bytes).
    if c.flags & CLIENT_SLAVE != 0 && c.flags & CLIENT_MONITOR == 0 {
        srv.repl.stat_net_repl_output_bytes += total as u64;
    } else {
        srv.stat_net_output_bytes += total as u64;
    }
    if total > 0 && c.flags & CLIENT_MASTER == 0 {
        c.last_interaction = srv.unixtime;
    }
    Ok(outcome)
}

/// Redis: networking.c flushSlavesOutputBuffers(): a best-effort write of what each replica
/// still has buffered, before the process exits.
pub fn flush_slaves_output_buffers(srv: &mut Server) {
    for id in srv.repl.slaves.clone() {
        let Some(mut c) = srv.take_client_by_id(id) else { continue };
        let _ = write_to_client(srv, &mut c);
        srv.put_client(c);
    }
}

/// Redis: networking.c sendReplyToClient(): the writable handler. It re-arms itself only
/// when it stopped by choice (Capped); a full socket waits for epoll's next edge.
pub fn send_reply_to_client(srv: &mut Server, fd: RawFd, _mask: u8) {
    let Some(mut c) = srv.take_client(fd) else { return };
    match write_to_client(srv, &mut c) {
        Err(err) => {
            log::debug!("Error writing to client: {}", err);
            free_client(srv, c);
        }
        Ok(WriteOutcome::Done) => {
            srv.el.ae_delete_file_event(fd, AE_WRITABLE);
            if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 {
                return free_client(srv, c);
            }
            srv.put_client(c);
        }
        Ok(WriteOutcome::Capped) => {
            srv.el.ae_set_ready(fd, AE_WRITABLE);
            srv.put_client(c);
        }
        Ok(WriteOutcome::WouldBlock) => srv.put_client(c),
    }
}

/// Redis: networking.c handleClientsWithPendingWrites(): called from before_sleep, writes
/// each pending client directly and installs a writable handler only if some is left.
pub fn handle_clients_with_pending_writes(srv: &mut Server) -> usize {
    let pending = std::mem::take(&mut srv.clients_pending_write);
    let processed = pending.len();
    for fd in pending.iter().copied() {
        let Some(mut c) = srv.take_client(fd) else { continue };
        c.flags &= !CLIENT_PENDING_WRITE;
        if c.flags & CLIENT_CLOSE_ASAP != 0 {
            srv.put_client(c);
            continue;
        }
        match write_to_client(srv, &mut c) {
            Err(_) => free_client(srv, c),
            Ok(WriteOutcome::Done) if c.flags & CLIENT_CLOSE_AFTER_REPLY != 0 => free_client(srv, c),
            Ok(WriteOutcome::Done) => srv.put_client(c),
            Ok(WriteOutcome::WouldBlock | WriteOutcome::Capped) => {
                if srv.el.ae_create_file_event(fd, AE_WRITABLE, send_reply_to_client).is_err() {
                    free_client(srv, c);
                } else {
                    srv.put_client(c);
                }
            }
        }
    }
    let mut reuse = pending;
    reuse.clear();
    if srv.clients_pending_write.is_empty() {
        srv.clients_pending_write = reuse;
    }
    processed
}

/// Redis: networking.c freeClient(): unregisters the socket and drops the client.
pub fn free_client(srv: &mut Server, mut c: Box<Client>) {
    // Redis: freeClient()'s master cleanup: our master link is cached for a PSYNC.
    crate::replication::replica::replication_free_master(srv, &mut c);
    // Redis: freeClient()'s "master/slave cleanup" of a replica.
    crate::replication::master::replication_free_replica(srv, &mut c);
    if c.fd >= 0 {
        srv.el.ae_delete_file_event(c.fd, AE_READABLE | AE_WRITABLE);
    }
    srv.unlink_client(&mut c);
    // Dropping the connection closes the socket.
    drop(c);
}

/// Redis: networking.c freeClientAsync(): the client is closed from before_sleep.
pub fn free_client_async(srv: &mut Server, c: &mut Client) {
    if c.flags & CLIENT_CLOSE_ASAP != 0 {
        return;
    }
    c.flags |= CLIENT_CLOSE_ASAP;
    srv.clients_to_close.push(c.id);
}

/// Redis: networking.c freeClientsInAsyncFreeQueue().
pub fn free_clients_in_async_free_queue(srv: &mut Server) {
    let ids = std::mem::take(&mut srv.clients_to_close);
    for id in ids {
        if let Some(c) = srv.take_client_by_id(id) {
            free_client(srv, c);
        }
    }
}

/// Parses `data`, split into a few chunks, with the real query-buffer parser; returns the
/// number of commands it produced. Exists for the fuzz target (fuzz/fuzz_targets).
pub fn fuzz_parse_requests(data: &[u8], proto_max_bulk_len: i64) -> usize {
    let mut c = Client::new(0, None, 0);
    let limits = ParseLimits { proto_max_bulk_len, unauthenticated: false, is_master: false };
    let mut commands = 0;
    for chunk in data.chunks(data.len() / 3 + 1) {
        reserve_query_space(&mut c, chunk.len(), false);
        c.querybuf[c.qb_len..c.qb_len + chunk.len()].copy_from_slice(chunk);
        c.qb_len += chunk.len();
        while c.qb_pos < c.qb_len {
            match parse_next_command(&mut c, limits) {
                Ok(true) => {
                    commands += usize::from(!c.argv.is_empty());
                    c.reset_client();
                }
                Ok(false) => break,
                Err(_) => return commands,
            }
        }
        compact_query_buffer(&mut c);
    }
    commands
}

#[cfg(test)]
mod tests;

/// Redis: networking.c getClientOutputBufferMemoryUsage(): the reply list, not the fixed
/// buffer. (Redis counts a replica's share of the shared replication buffer; a ferredis
/// replica's stream sits in its own reply list, counted the same way.)
pub fn get_client_output_buffer_memory_usage(c: &Client) -> u64 {
    c.reply.output_buffer_memory_usage() as u64
}

/// Redis: networking.c checkClientOutputBufferLimits(): over the hard limit, or over the
/// soft limit for longer than its seconds.
pub fn check_client_output_buffer_limits(srv: &Server, c: &mut Client) -> bool {
    use crate::client::{get_client_type, ClientType};
    let class = match get_client_type(c) {
        ClientType::Master => return false,
        ClientType::Normal => 0,
        ClientType::Replica => 1,
        ClientType::Pubsub => 2,
    };
    let Some(limit) = srv.config.client_output_buffer_limit.get(class) else { return false };
    let used = get_client_output_buffer_memory_usage(c);
    let hard = limit.hard_limit_bytes > 0 && used >= limit.hard_limit_bytes;
    let over_soft = limit.soft_limit_bytes > 0 && used >= limit.soft_limit_bytes;
    if !over_soft {
        c.obuf_soft_limit_reached_time = 0;
        return hard;
    }
    if c.obuf_soft_limit_reached_time == 0 {
        c.obuf_soft_limit_reached_time = srv.unixtime;
        return hard;
    }
    hard || srv.unixtime - c.obuf_soft_limit_reached_time > limit.soft_limit_seconds
}

/// Redis: networking.c closeClientOnOutputBufferLimitReached(c, async=1).
pub fn close_client_on_output_buffer_limit_reached(srv: &mut Server, c: &mut Client) -> bool {
    if c.flags & CLIENT_CLOSE_ASAP != 0 || !check_client_output_buffer_limits(srv, c) {
        return false;
    }
    let info = crate::client::cat_client_info_string(srv, c);
    log::warn!("Client {} scheduled to be closed ASAP for overcoming of output buffer limits.", info);
    c.reply.discard();
    free_client_async(srv, c);
    true
}

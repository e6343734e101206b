//! The reply path: the `addReply*` family of Redis's networking.c.
//!
//! Every client owns a [`Reply`]: the bytes produced for it and not yet written, plus the
//! protocol version that decides how nulls, maps, sets, doubles and pushes are encoded.
//! Commands append to it; `before_sleep` writes it out (handleClientsWithPendingWrites). It is
//! a field of the client apart from the arguments, so a command can borrow an argument and
//! append a reply at the same time: `c.reply.add_reply_bulk(c.argv.get(1))`.

use crate::util;

/// Redis: PROTO_REPLY_CHUNK_BYTES, the size of a client's fixed reply buffer. A drained
/// buffer larger than this is given back.
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;

/// Redis: the reply fields of `client` (buf, bufpos, sentlen, reply list) plus `resp`.
#[derive(Debug)]
pub struct Reply {
    buf: Vec<u8>,
    /// Bytes of `buf` already written to the socket.
    pub sentlen: usize,
    /// RESP version: 2 or 3.
    pub resp: u8,
    /// Replies are discarded instead of buffered (CLIENT REPLY OFF/SKIP, fake clients).
    pub muted: bool,
    /// Error codes replied during the current command, for INFO errorstats (afterErrorReply).
    pub errors: Vec<Vec<u8>>,
}

impl Default for Reply {
    fn default() -> Self {
        Reply { buf: Vec::new(), sentlen: 0, resp: 2, muted: false, errors: Vec::new() }
    }
}

impl Reply {
    /// Bytes produced and not yet written.
    pub fn pending(&self) -> &[u8] {
        self.buf.get(self.sentlen..).unwrap_or(&[])
    }

    pub fn pending_len(&self) -> usize {
        self.buf.len() - self.sentlen
    }

    pub fn has_pending(&self) -> bool {
        self.buf.len() > self.sentlen
    }

    /// Records that `n` more bytes reached the socket; a fully written buffer is reset.
    pub fn advance(&mut self, n: usize) {
        self.sentlen = (self.sentlen + n).min(self.buf.len());
        if self.sentlen == self.buf.len() {
            self.buf.clear();
            self.sentlen = 0;
            if self.buf.capacity() > PROTO_REPLY_CHUNK_BYTES {
                self.buf.shrink_to(PROTO_REPLY_CHUNK_BYTES);
            }
        }
    }

    /// Drops everything not yet written (used when a client is being closed).
    pub fn discard(&mut self) {
        self.buf.clear();
        self.sentlen = 0;
    }

    /// Memory held by the reply buffer, for CLIENT LIST omem and output limits.
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// Redis: networking.c _addReplyToBufferOrList(). Every reply byte goes through here.
    #[inline]
    pub fn add_reply_proto(&mut self, bytes: &[u8]) {
        if !self.muted {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Redis: addReply(c, shared.ok).
    pub fn add_reply_ok(&mut self) {
        self.add_reply_proto(b"+OK\r\n");
    }

    /// Redis: networking.c addReplyStatus().
    pub fn add_reply_status(&mut self, status: &str) {
        self.add_reply_status_bytes(status.as_bytes());
    }

    /// Redis: networking.c addReplyStatusLength(); newlines become spaces, as for errors.
    pub fn add_reply_status_bytes(&mut self, status: &[u8]) {
        self.add_reply_proto(b"+");
        self.add_sanitized_line(status);
        self.add_reply_proto(b"\r\n");
    }

    /// Redis: networking.c addReplyError(). A message without its own `-CODE` gets `ERR `.
    pub fn add_reply_error(&mut self, msg: &str) {
        self.add_reply_error_bytes(msg.as_bytes());
    }

    /// Redis: networking.c addReplyErrorLength() + afterErrorReply()'s bookkeeping.
    pub fn add_reply_error_bytes(&mut self, msg: &[u8]) {
        let body = msg.strip_prefix(b"-").unwrap_or(msg);
        let has_code = msg.first() == Some(&b'-');
        if has_code {
            self.add_reply_proto(b"-");
        } else {
            self.add_reply_proto(b"-ERR ");
        }
        self.add_sanitized_line(body);
        self.add_reply_proto(b"\r\n");
        let code = if has_code { body.split(|&b| b == b' ').next().unwrap_or(b"ERR") } else { b"ERR" };
        self.errors.push(code.to_vec());
    }

    /// Redis: networking.c addReplyErrorArity().
    pub fn add_reply_error_arity(&mut self, fullname: &str) {
        self.add_reply_error(&format!("wrong number of arguments for '{}' command", fullname));
    }

    /// Redis: addReplyErrorObject(c, shared.wrongtypeerr).
    pub fn add_reply_wrong_type(&mut self) {
        self.add_reply_error("-WRONGTYPE Operation against a key holding the wrong kind of value");
    }

    /// Redis: addReplyErrorObject(c, shared.syntaxerr).
    pub fn add_reply_syntax_error(&mut self) {
        self.add_reply_error("syntax error");
    }

    fn add_sanitized_line(&mut self, text: &[u8]) {
        if memchr::memchr2(b'\r', b'\n', text).is_none() {
            self.add_reply_proto(text);
            return;
        }
        let clean: Vec<u8> = text.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect();
        self.add_reply_proto(&clean);
    }

    /// Redis: networking.c addReplyLongLong().
    pub fn add_reply_long_long(&mut self, value: i64) {
        match value {
            0 => self.add_reply_proto(b":0\r\n"),
            1 => self.add_reply_proto(b":1\r\n"),
            _ => self.add_reply_long_long_with_prefix(b':', value),
        }
    }

    /// Redis: networking.c _addReplyLongLongWithPrefix().
    fn add_reply_long_long_with_prefix(&mut self, prefix: u8, value: i64) {
        if self.muted {
            return;
        }
        self.buf.push(prefix);
        util::write_ll(&mut self.buf, value);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Redis: networking.c addReplyArrayLen().
    pub fn add_reply_array_len(&mut self, len: usize) {
        self.add_reply_aggregate_len(b'*', len);
    }

    /// Redis: networking.c addReplyMapLen(): `%` in RESP3, a flat array of 2*len in RESP2.
    pub fn add_reply_map_len(&mut self, len: usize) {
        if self.resp >= 3 {
            self.add_reply_aggregate_len(b'%', len);
        } else {
            self.add_reply_aggregate_len(b'*', len * 2);
        }
    }

    /// Redis: networking.c addReplySetLen().
    pub fn add_reply_set_len(&mut self, len: usize) {
        let prefix = if self.resp >= 3 { b'~' } else { b'*' };
        self.add_reply_aggregate_len(prefix, len);
    }

    /// Redis: networking.c addReplyAttributeLen() (RESP3 only; callers check).
    pub fn add_reply_attribute_len(&mut self, len: usize) {
        self.add_reply_aggregate_len(b'|', len);
    }

    /// Redis: networking.c addReplyPushLen().
    pub fn add_reply_push_len(&mut self, len: usize) {
        let prefix = if self.resp >= 3 { b'>' } else { b'*' };
        self.add_reply_aggregate_len(prefix, len);
    }

    fn add_reply_aggregate_len(&mut self, prefix: u8, len: usize) {
        self.add_reply_long_long_with_prefix(prefix, len as i64);
    }

    /// Redis: networking.c addReplyBulkCBuffer().
    pub fn add_reply_bulk(&mut self, data: &[u8]) {
        if self.muted {
            return;
        }
        self.add_reply_long_long_with_prefix(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Redis: networking.c addReplyBulkLongLong().
    pub fn add_reply_bulk_long_long(&mut self, value: i64) {
        let mut digits = Vec::with_capacity(20);
        util::write_ll(&mut digits, value);
        self.add_reply_bulk(&digits);
    }

    /// Redis: networking.c addReplyNull(): `$-1` in RESP2, `_` in RESP3.
    pub fn add_reply_null(&mut self) {
        if self.resp >= 3 {
            self.add_reply_proto(b"_\r\n");
        } else {
            self.add_reply_proto(b"$-1\r\n");
        }
    }

    /// Redis: networking.c addReplyNullArray(): `*-1` in RESP2, `_` in RESP3.
    pub fn add_reply_null_array(&mut self) {
        if self.resp >= 3 {
            self.add_reply_proto(b"_\r\n");
        } else {
            self.add_reply_proto(b"*-1\r\n");
        }
    }

    /// Redis: networking.c addReplyBool().
    pub fn add_reply_bool(&mut self, value: bool) {
        match (self.resp >= 3, value) {
            (true, true) => self.add_reply_proto(b"#t\r\n"),
            (true, false) => self.add_reply_proto(b"#f\r\n"),
            (false, v) => self.add_reply_long_long(v as i64),
        }
    }

    /// Redis: networking.c addReplyDouble(): a bulk string in RESP2, `,` in RESP3.
    pub fn add_reply_double(&mut self, value: f64) {
        let mut text = Vec::with_capacity(32);
        util::write_double_g17(&mut text, value);
        if self.resp >= 3 {
            self.add_reply_proto(b",");
            self.add_reply_proto(&text);
            self.add_reply_proto(b"\r\n");
        } else {
            self.add_reply_bulk(&text);
        }
    }

    /// Redis: networking.c addReplyBigNum().
    pub fn add_reply_big_num(&mut self, digits: &[u8]) {
        if self.resp >= 3 {
            self.add_reply_proto(b"(");
            self.add_reply_proto(digits);
            self.add_reply_proto(b"\r\n");
        } else {
            self.add_reply_bulk(digits);
        }
    }

    /// Redis: networking.c addReplyVerbatim(): `=len\r\ntxt:...` in RESP3, a bulk in RESP2.
    pub fn add_reply_verbatim(&mut self, text: &[u8], ext: &str) {
        if self.resp < 3 {
            self.add_reply_bulk(text);
            return;
        }
        let header = format!("={}\r\n{}:", text.len() + 4, ext);
        self.add_reply_proto(header.as_bytes());
        self.add_reply_proto(text);
        self.add_reply_proto(b"\r\n");
    }

    /// Redis: networking.c addReplyHelp(): the HELP reply of container commands.
    pub fn add_reply_help(&mut self, command: &str, lines: &[&str]) {
        // The header, the lines, then "HELP" and its description.
        self.add_reply_array_len(lines.len() + 3);
        let first = format!("{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", command.to_uppercase());
        self.add_reply_status(&first);
        for line in lines {
            self.add_reply_status(line);
        }
        self.add_reply_status("HELP");
        // Redis 7.0.15 says "Prints" (observed on the wire).
        self.add_reply_status("    Prints this help.");
    }

    /// Redis: networking.c addReplySubcommandSyntaxError(): `command` is argv[0] and `sub`
    /// argv[1], both as the client typed them.
    pub fn add_reply_subcommand_syntax_error(&mut self, command: &[u8], sub: &[u8]) {
        let mut msg = b"unknown subcommand or wrong number of arguments for '".to_vec();
        msg.extend_from_slice(&sub[..sub.len().min(128)]);
        msg.extend_from_slice(b"'. Try ");
        msg.extend_from_slice(&command.to_ascii_uppercase());
        msg.extend_from_slice(b" HELP.");
        self.add_reply_error_bytes(&msg);
    }

    /// Redis: networking.c addReplyDeferredLen(). Returns a mark for [`Self::set_deferred_len`].
    pub fn add_reply_deferred_len(&mut self) -> usize {
        self.buf.len()
    }

    /// Redis: setDeferredArrayLen(): inserts `*len` (or map/set headers) at the mark.
    pub fn set_deferred_array_len(&mut self, mark: usize, len: usize) {
        self.set_deferred_len(mark, b'*', len);
    }

    /// Redis: setDeferredMapLen().
    pub fn set_deferred_map_len(&mut self, mark: usize, len: usize) {
        match self.resp >= 3 {
            true => self.set_deferred_len(mark, b'%', len),
            false => self.set_deferred_len(mark, b'*', len * 2),
        }
    }

    /// Redis: setDeferredSetLen().
    pub fn set_deferred_set_len(&mut self, mark: usize, len: usize) {
        let prefix = if self.resp >= 3 { b'~' } else { b'*' };
        self.set_deferred_len(mark, prefix, len);
    }

    /// Inserts protocol bytes at a mark from [`Self::add_reply_deferred_len`] whatever
    /// `muted` says (appends if the mark is past the end): Pub/Sub pushes produced while a
    /// command ran go ahead of its reply, as in Redis.
    pub fn insert_proto_at(&mut self, mark: usize, bytes: &[u8]) {
        let at = mark.min(self.buf.len());
        self.buf.splice(at..at, bytes.iter().copied());
    }

    fn set_deferred_len(&mut self, mark: usize, prefix: u8, len: usize) {
        if self.muted || mark > self.buf.len() {
            return;
        }
        let mut header = vec![prefix];
        util::write_ll(&mut header, len as i64);
        header.extend_from_slice(b"\r\n");
        self.buf.splice(mark..mark, header);
    }
}

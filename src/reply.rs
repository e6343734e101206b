//! The reply path: the `addReply*` family of Redis's networking.c.
//!
//! Every client owns a [`Reply`]: the bytes produced for it and not yet written, plus the
//! protocol version that decides how nulls, maps, sets, doubles and pushes are encoded.
//! Commands append to it; `before_sleep` writes it out (handleClientsWithPendingWrites). It is
//! a field of the client apart from the arguments, so a command can borrow an argument and
//! append a reply at the same time: `c.reply.add_reply_bulk(c.argv.get(1))`.

use crate::{util, zmalloc};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::IoSlice;

/// Redis: PROTO_REPLY_CHUNK_BYTES: the fixed buffer's first size, its largest, and the
/// smallest block of the reply list.
pub const PROTO_REPLY_CHUNK_BYTES: usize = 16 * 1024;
/// Redis: PROTO_REPLY_MIN_BYTES: the smallest the fixed buffer shrinks to.
pub const PROTO_REPLY_MIN_BYTES: usize = 1024;
/// Redis: sizeof(clientReplyBlock), the header that shares a list block's allocation.
const REPLY_BLOCK_HEADER: usize = 16;
/// Redis: sizeof(listNode) + sizeof(clientReplyBlock), counted per block by
/// getClientOutputBufferMemoryUsage(); counted the same here so that
/// client-output-buffer-limit trips at the same sizes as in Redis.
const REPLY_BLOCK_OVERHEAD: usize = 24 + REPLY_BLOCK_HEADER;

/// Redis: the reply fields of `client` (buf, bufpos, buf_usable_size, buf_peak, sentlen,
/// reply, reply_bytes) plus `resp`.
///
/// As in Redis, replies go to a fixed buffer while it has room and nothing waits in the
/// list, and to a list of blocks of at least 16 KiB after that; the cron resizes the fixed
/// buffer to what the client recently needed (clientsCronResizeOutputBuffer). The fixed
/// buffer is allocated on first use rather than with the client.
#[derive(Debug)]
pub struct Reply {
    /// Redis: c->buf; its length is c->bufpos.
    buf: Vec<u8>,
    /// Redis: c->buf_usable_size.
    buf_usable_size: usize,
    /// Redis: c->buf_peak, the largest bufpos since the last reset.
    buf_peak: usize,
    /// Redis: c->buf_peak_last_reset_time (ms).
    buf_peak_last_reset_time: i64,
    /// Redis: c->reply, the blocks after the fixed buffer; a block's capacity is its size.
    list: VecDeque<Vec<u8>>,
    /// Redis: c->reply_bytes, the sum of the blocks' sizes.
    reply_bytes: usize,
    /// Bytes held by the blocks.
    list_used: usize,
    /// Redis: c->sentlen: bytes of the head (the fixed buffer while it holds data, else the
    /// first block) already written.
    sentlen: usize,
    /// Bytes written and dropped since the client was created. Marks are absolute
    /// positions, so they stay valid whichever buffer their bytes are in.
    dropped: usize,
    /// RESP version: 2 or 3.
    pub resp: u8,
    /// Replies are discarded instead of buffered (CLIENT REPLY OFF/SKIP, fake clients).
    pub muted: bool,
    /// Error codes replied during the current command, for INFO errorstats (afterErrorReply).
    pub errors: Vec<Vec<u8>>,
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            buf: Vec::new(),
            buf_usable_size: PROTO_REPLY_CHUNK_BYTES,
            // Redis: createClient() starts the peak at the buffer's size.
            buf_peak: PROTO_REPLY_CHUNK_BYTES,
            // Redis stores server.unixtime (seconds) here and compares it with milliseconds,
            // so the first cron visit always resets the peak; zero does the same.
            buf_peak_last_reset_time: 0,
            list: VecDeque::new(),
            reply_bytes: 0,
            list_used: 0,
            sentlen: 0,
            dropped: 0,
            resp: 2,
            muted: false,
            errors: Vec::new(),
        }
    }
}

/// What clientsCronResizeOutputBuffer() did, for INFO reply_buffer_shrinks/expands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferResize {
    Shrunk,
    Expanded,
}

// ----------------------------------------------------------------------------------------
// The buffers: appending, writing out, sizing
// ----------------------------------------------------------------------------------------

impl Reply {
    /// Every byte produced and not yet written, in order: borrowed when one buffer holds
    /// them, gathered otherwise (fake clients, tests, copying a replica's stream).
    pub fn pending(&self) -> Cow<'_, [u8]> {
        let mut slices = [IoSlice::new(&[]); 2];
        match self.pending_slices(&mut slices) {
            0 => Cow::Borrowed(&[]),
            1 if self.list.len() <= usize::from(self.buf.is_empty()) => {
                let head = if self.buf.is_empty() { self.list.front() } else { Some(&self.buf) };
                Cow::Borrowed(head.and_then(|b| b.get(self.sentlen..)).unwrap_or(&[]))
            }
            _ => {
                let mut all = Vec::with_capacity(self.pending_len());
                let head = (!self.buf.is_empty()).then_some(&self.buf);
                for (i, part) in head.into_iter().chain(self.list.iter()).enumerate() {
                    all.extend_from_slice(part.get(if i == 0 { self.sentlen } else { 0 }..).unwrap_or(&[]));
                }
                Cow::Owned(all)
            }
        }
    }

    /// Every unwritten buffer in order, for one writev(2): fills `out`, returns how many.
    pub fn pending_slices<'a>(&'a self, out: &mut [IoSlice<'a>]) -> usize {
        let head = (!self.buf.is_empty()).then_some(&self.buf);
        let mut n = 0;
        for (i, part) in head.into_iter().chain(self.list.iter()).enumerate() {
            let Some(slot) = out.get_mut(n) else { break };
            let from = if i == 0 { self.sentlen } else { 0 };
            *slot = IoSlice::new(part.get(from..).unwrap_or(&[]));
            n += 1;
        }
        n
    }

    pub fn pending_len(&self) -> usize {
        self.buf.len() + self.list_used - self.sentlen
    }

    pub fn has_pending(&self) -> bool {
        self.buf.len() > self.sentlen || !self.list.is_empty()
    }

    /// Records that `n` more bytes reached the socket; written buffers are dropped (the
    /// fixed one emptied, blocks freed), as _writeToClient() does.
    pub fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let head_len = match self.buf.is_empty() {
                false => self.buf.len(),
                true => match self.list.front() {
                    Some(block) => block.len(),
                    None => return,
                },
            };
            let step = n.min(head_len - self.sentlen);
            self.sentlen += step;
            n -= step;
            if self.sentlen == head_len {
                self.drop_head();
            }
        }
    }

    fn drop_head(&mut self) {
        self.dropped += self.sentlen;
        self.sentlen = 0;
        if !self.buf.is_empty() {
            self.buf.clear();
        } else if let Some(block) = self.list.pop_front() {
            self.list_used -= block.len();
            self.reply_bytes -= block.capacity();
        }
    }

    /// Drops everything not yet written (used when a client is being closed).
    pub fn discard(&mut self) {
        self.dropped += self.pending_len() + self.sentlen;
        self.buf.clear();
        self.list.clear();
        self.sentlen = 0;
        self.list_used = 0;
        self.reply_bytes = 0;
    }

    /// Redis: networking.c getClientOutputBufferMemoryUsage() for a client that is not a
    /// replica: the reply list only (the fixed buffer is not counted), for CLIENT LIST omem
    /// and client-output-buffer-limit.
    pub fn output_buffer_memory_usage(&self) -> usize {
        self.reply_bytes + REPLY_BLOCK_OVERHEAD * self.list.len()
    }

    /// CLIENT LIST `rbs`, `rbp`, `obl`, `oll`.
    pub fn buf_usable_size(&self) -> usize {
        self.buf_usable_size
    }

    pub fn buf_peak(&self) -> usize {
        self.buf_peak
    }

    pub fn bufpos(&self) -> usize {
        self.buf.len()
    }

    pub fn list_len(&self) -> usize {
        self.list.len()
    }

    /// Redis: networking.c _addReplyToBufferOrList(). Every reply byte goes through here.
    #[inline]
    pub fn add_reply_proto(&mut self, bytes: &[u8]) {
        if self.muted {
            return;
        }
        if !self.try_append(&[bytes]) {
            self.add_reply_to_buffer_or_list(bytes);
        }
    }

    /// The fast path of every builder: appends `parts` in one go when they all fit in the
    /// spare capacity of the buffer they go to: the fixed buffer while the list is empty,
    /// else the list's last block. False (nothing written) otherwise; the caller then
    /// takes the piecewise slow path, which splits blocks exactly as before. The caller
    /// checks `muted`.
    #[inline(always)]
    fn try_append(&mut self, parts: &[&[u8]]) -> bool {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        let in_list = !self.list.is_empty();
        let target = self.list.back_mut().unwrap_or(&mut self.buf);
        if n > target.capacity() - target.len() {
            return false;
        }
        for part in parts {
            target.extend_from_slice(part);
        }
        match in_list {
            true => self.list_used += n,
            false => self.note_buf_peak(),
        }
        true
    }

    #[inline]
    fn note_buf_peak(&mut self) {
        if self.buf.len() > self.buf_peak {
            self.buf_peak = self.buf.len();
        }
    }

    /// The slow half of add_reply_proto(): the fixed buffer is full, not yet allocated, or
    /// the list already holds data.
    fn add_reply_to_buffer_or_list(&mut self, bytes: &[u8]) {
        let taken = self.add_reply_to_buffer(bytes);
        if let Some(rest) = bytes.get(taken..).filter(|rest| !rest.is_empty()) {
            self.add_reply_proto_to_list(rest);
        }
    }

    /// Redis: networking.c _addReplyToBuffer(): copies what fits in the fixed buffer,
    /// unless the list already holds data (which must go out first).
    fn add_reply_to_buffer(&mut self, bytes: &[u8]) -> usize {
        if !self.list.is_empty() {
            return 0;
        }
        if self.buf.capacity() < self.buf_usable_size {
            self.buf.reserve_exact(self.buf_usable_size - self.buf.len());
        }
        let available = self.buf_usable_size.saturating_sub(self.buf.len());
        let taken = bytes.len().min(available);
        self.buf.extend_from_slice(&bytes[..taken]);
        self.note_buf_peak();
        taken
    }

    /// Redis: networking.c _addReplyProtoToList(): fills the last block, then adds one of
    /// at least PROTO_REPLY_CHUNK_BYTES, taking over the allocator's rounding.
    fn add_reply_proto_to_list(&mut self, mut bytes: &[u8]) {
        if let Some(tail) = self.list.back_mut() {
            let copy = bytes.len().min(tail.capacity() - tail.len());
            tail.extend_from_slice(&bytes[..copy]);
            self.list_used += copy;
            bytes = &bytes[copy..];
        }
        if bytes.is_empty() {
            return;
        }
        let size = bytes.len().max(PROTO_REPLY_CHUNK_BYTES);
        let usable = zmalloc::good_size(size + REPLY_BLOCK_HEADER) - REPLY_BLOCK_HEADER;
        let mut block = Vec::with_capacity(usable);
        block.extend_from_slice(bytes);
        self.list_used += block.len();
        self.reply_bytes += block.capacity();
        self.list.push_back(block);
    }

    /// Inserts `bytes` at absolute position `mark` (never before what was written), in
    /// whichever buffer holds that position. Past the end, it appends.
    fn insert_at(&mut self, mark: usize, bytes: &[u8]) {
        let mut offset = mark.saturating_sub(self.dropped).max(self.sentlen);
        let buf_is_head = !self.buf.is_empty() || self.list.is_empty();
        if buf_is_head && offset <= self.buf.len() {
            self.buf.splice(offset..offset, bytes.iter().copied());
            self.spill_buf_overflow();
            return;
        }
        offset -= self.buf.len();
        for block in self.list.iter_mut() {
            if offset <= block.len() {
                let before = block.capacity();
                block.splice(offset..offset, bytes.iter().copied());
                self.reply_bytes += block.capacity() - before;
                self.list_used += bytes.len();
                return;
            }
            offset -= block.len();
        }
        let muted = std::mem::replace(&mut self.muted, false);
        self.add_reply_proto(bytes);
        self.muted = muted;
    }

    /// After an insertion into the fixed buffer: what no longer fits moves to the front of
    /// the list, so the buffer keeps its size and the byte order is unchanged.
    fn spill_buf_overflow(&mut self) {
        if self.buf.len() > self.buf_usable_size {
            let overflow = self.buf.split_off(self.buf_usable_size);
            self.list_used += overflow.len();
            self.reply_bytes += overflow.capacity();
            self.list.push_front(overflow);
        }
        if self.buf.capacity() > self.buf_usable_size {
            self.resize_buf(self.buf_usable_size);
        }
        self.note_buf_peak();
    }

    /// Redis: server.c clientsCronResizeOutputBuffer(): doubles the fixed buffer when the
    /// recent peak filled it, halves it towards the peak when under half was used, and
    /// restarts the peak every `peak_reset_ms` (negative: never).
    pub fn clients_cron_resize_output_buffer(&mut self, now_ms: i64, peak_reset_ms: i64) -> Option<BufferResize> {
        let shrink_target = self.buf_usable_size / 2;
        let expand_target = self.buf_usable_size * 2;
        let mut resize = None;
        if shrink_target >= PROTO_REPLY_MIN_BYTES && self.buf_peak < shrink_target {
            resize = Some((PROTO_REPLY_MIN_BYTES.max(self.buf_peak + 1), BufferResize::Shrunk));
        } else if expand_target < PROTO_REPLY_CHUNK_BYTES * 2 && self.buf_peak == self.buf_usable_size {
            resize = Some((PROTO_REPLY_CHUNK_BYTES.min(expand_target), BufferResize::Expanded));
        }
        if peak_reset_ms >= 0 && now_ms - self.buf_peak_last_reset_time >= peak_reset_ms {
            self.buf_peak = self.buf.len();
            self.buf_peak_last_reset_time = now_ms;
        }
        let (size, kind) = resize?;
        self.resize_buf(zmalloc::good_size(size.max(self.buf.len())));
        Some(kind)
    }

    fn resize_buf(&mut self, usable: usize) {
        self.buf_usable_size = usable;
        if self.buf.capacity() == 0 {
            return;
        }
        let mut buf = Vec::with_capacity(usable);
        buf.extend_from_slice(&self.buf);
        self.buf = buf;
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
        let digits = util::ll2string(value);
        let digits = digits.as_bytes();
        if self.try_append(&[&[prefix], digits, b"\r\n"]) {
            return;
        }
        self.add_reply_proto(&[prefix]);
        self.add_reply_proto(digits);
        self.add_reply_proto(b"\r\n");
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
        let len = util::ll2string(data.len() as i64);
        if self.try_append(&[b"$", len.as_bytes(), b"\r\n", data, b"\r\n"]) {
            return;
        }
        self.add_reply_long_long_with_prefix(b'$', data.len() as i64);
        self.add_reply_proto(data);
        self.add_reply_proto(b"\r\n");
    }

    /// Redis: networking.c addReplyBulkLongLong().
    pub fn add_reply_bulk_long_long(&mut self, value: i64) {
        self.add_reply_bulk(util::ll2string(value).as_bytes());
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
        if self.muted {
            return;
        }
        let text = util::d2string_g17(value);
        let text = text.as_bytes();
        if self.resp < 3 {
            self.add_reply_bulk(text);
        } else if !self.try_append(&[b",", text, b"\r\n"]) {
            self.add_reply_proto(b",");
            self.add_reply_proto(text);
            self.add_reply_proto(b"\r\n");
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

    /// Redis: networking.c addReplyDeferredLen(). Returns a mark for [`Self::set_deferred_len`]:
    /// the absolute position where the length goes.
    pub fn add_reply_deferred_len(&mut self) -> usize {
        self.dropped + self.sentlen + self.pending_len()
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
        self.insert_at(mark, bytes);
    }

    /// Redis: setDeferredReply(). Redis puts the header in a placeholder list node; here it
    /// goes into whichever buffer holds the mark, which sends the same bytes.
    fn set_deferred_len(&mut self, mark: usize, prefix: u8, len: usize) {
        if self.muted || mark > self.add_reply_deferred_len() {
            return;
        }
        let mut header = vec![prefix];
        util::write_ll(&mut header, len as i64);
        header.extend_from_slice(b"\r\n");
        self.insert_at(mark, &header);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything pending, as writev would send it.
    fn drain(r: &mut Reply) -> Vec<u8> {
        let mut out = Vec::new();
        while r.has_pending() {
            let mut slices = [IoSlice::new(&[]); 4];
            let n = r.pending_slices(&mut slices);
            let bytes: Vec<u8> = slices[..n].iter().flat_map(|s| s.iter().copied()).collect();
            // Write in odd-sized pieces to cross buffer boundaries.
            let step = bytes.len().min(7_777);
            out.extend_from_slice(&bytes[..step]);
            r.advance(step);
        }
        out
    }

    #[test]
    fn small_replies_stay_in_the_fixed_buffer() {
        let mut r = Reply::default();
        r.add_reply_ok();
        r.add_reply_long_long(42);
        assert_eq!((r.bufpos(), r.list_len(), r.output_buffer_memory_usage()), (10, 0, 0));
        assert_eq!(drain(&mut r), b"+OK\r\n:42\r\n");
    }

    #[test]
    fn overflow_goes_to_blocks_counted_like_redis() {
        let mut r = Reply::default();
        let big = vec![b'x'; 40_000];
        r.add_reply_bulk(&big);
        assert_eq!(r.bufpos(), PROTO_REPLY_CHUNK_BYTES);
        assert_eq!(r.list_len(), 1);
        // One block of the remaining 23,625 bytes (+16 header) in jemalloc's 24 KiB class.
        assert_eq!(r.output_buffer_memory_usage(), 24_576 - 16 + 40);
        r.add_reply_ok();
        let mut want = b"$40000\r\n".to_vec();
        want.extend_from_slice(&big);
        want.extend_from_slice(b"\r\n+OK\r\n");
        assert_eq!(drain(&mut r), want);
        assert_eq!((r.bufpos(), r.list_len(), r.output_buffer_memory_usage()), (0, 0, 0));
    }

    #[test]
    fn nothing_goes_back_to_the_fixed_buffer_while_blocks_wait() {
        let mut r = Reply::default();
        r.add_reply_proto(&vec![b'a'; PROTO_REPLY_CHUNK_BYTES + 10]);
        r.advance(PROTO_REPLY_CHUNK_BYTES);
        assert_eq!(r.bufpos(), 0);
        r.add_reply_proto(b"b");
        assert_eq!(r.bufpos(), 0, "the list still holds data: order first");
        assert_eq!(drain(&mut r), b"aaaaaaaaaab");
    }

    #[test]
    fn deferred_lengths_land_at_their_mark_in_either_buffer() {
        let mut r = Reply::default();
        r.add_reply_proto(&vec![b'p'; PROTO_REPLY_CHUNK_BYTES - 3]);
        let first = r.add_reply_deferred_len();
        r.add_reply_bulk(b"one");
        let second = r.add_reply_deferred_len();
        r.add_reply_bulk(b"two");
        r.set_deferred_array_len(second, 1);
        r.set_deferred_array_len(first, 2);
        let out = drain(&mut r);
        let tail = &out[PROTO_REPLY_CHUNK_BYTES - 3..];
        assert_eq!(tail, b"*2\r\n$3\r\none\r\n*1\r\n$3\r\ntwo\r\n");
    }

    #[test]
    fn marks_survive_partial_writes() {
        let mut r = Reply::default();
        r.add_reply_ok();
        let mark = r.add_reply_deferred_len();
        r.add_reply_bulk(b"x");
        r.advance(3);
        r.set_deferred_array_len(mark, 1);
        assert_eq!(drain(&mut r), b"\r\n*1\r\n$1\r\nx\r\n");
    }

    #[test]
    fn pushes_inserted_at_a_mark_ignore_muting() {
        let mut r = Reply::default();
        let mark = r.add_reply_deferred_len();
        r.muted = true;
        r.add_reply_ok();
        r.insert_proto_at(mark, b">1\r\n$1\r\nm\r\n");
        assert_eq!(drain(&mut r), b">1\r\n$1\r\nm\r\n");
    }

    /// Bytes held by the blocks and their total size, recomputed from the blocks.
    fn list_totals(r: &Reply) -> (usize, usize) {
        (r.list.iter().map(Vec::len).sum(), r.list.iter().map(Vec::capacity).sum())
    }

    #[test]
    fn replies_after_the_fixed_buffer_fill_the_last_block_then_open_one() {
        let mut r = Reply::default();
        r.add_reply_proto(&vec![b'a'; PROTO_REPLY_CHUNK_BYTES + 1]);
        let mut want = vec![b'a'; PROTO_REPLY_CHUNK_BYTES + 1];
        // Enough small replies to fill the first block and spill into a second one.
        for i in 0..1000i64 {
            r.add_reply_bulk(b"xyz");
            r.add_reply_long_long(i);
            r.add_reply_bulk_long_long(-i);
            want.extend_from_slice(format!("$3\r\nxyz\r\n:{i}\r\n${}\r\n{}\r\n", (-i).to_string().len(), -i).as_bytes());
        }
        assert!(r.list_len() >= 2);
        let (used, size) = list_totals(&r);
        assert_eq!((r.list_used, r.reply_bytes), (used, size));
        // Every block but the last is full, as Redis's _addReplyProtoToList() leaves them.
        let first = &r.list[0];
        assert_eq!(first.len(), first.capacity());
        assert_eq!(r.output_buffer_memory_usage(), size + r.list_len() * REPLY_BLOCK_OVERHEAD);
        assert_eq!(drain(&mut r), want);
    }

    #[test]
    fn a_reply_that_does_not_fit_the_last_block_splits_as_before() {
        let mut r = Reply::default();
        r.add_reply_proto(&vec![b'a'; PROTO_REPLY_CHUNK_BYTES + 1]);
        let spare = r.list[0].capacity() - r.list[0].len();
        r.add_reply_proto(&vec![b'b'; spare - 3]);
        r.add_reply_bulk(b"hello");
        assert_eq!(r.list_len(), 2);
        assert_eq!(r.list[0].len(), r.list[0].capacity(), "the tail is filled first");
        assert_eq!(r.list[1].as_slice(), b"\nhello\r\n");
        assert_eq!((r.list_used, r.reply_bytes), list_totals(&r));
    }

    #[test]
    fn doubles_in_resp2_and_resp3_wherever_the_reply_goes() {
        let cases: [(f64, &[u8]); 4] = [
            (0.0, b"0"),
            (-2.5, b"-2.5"),
            (0.1, b"0.10000000000000001"),
            (-2.2250738585072014e-308, b"-2.2250738585072014e-308"),
        ];
        for list_in_use in [false, true] {
            for (value, text) in cases {
                let mut r = Reply::default();
                if list_in_use {
                    r.add_reply_proto(&vec![b'a'; PROTO_REPLY_CHUNK_BYTES + 1]);
                }
                let before = r.output_buffer_memory_usage();
                r.add_reply_double(value);
                r.resp = 3;
                r.add_reply_double(value);
                assert_eq!(r.output_buffer_memory_usage(), before, "formatting reallocated nothing");
                assert_eq!((r.list_used, r.reply_bytes), list_totals(&r));
                let out = drain(&mut r);
                let mut want = format!("${}\r\n", text.len()).into_bytes();
                want.extend_from_slice(text);
                want.extend_from_slice(b"\r\n,");
                want.extend_from_slice(text);
                want.extend_from_slice(b"\r\n");
                assert!(out.ends_with(&want), "{value}: {:?}", String::from_utf8_lossy(&out));
            }
        }
    }

    #[test]
    fn muted_replies_add_nothing() {
        let mut r = Reply::default();
        r.muted = true;
        r.add_reply_double(1.5);
        r.add_reply_bulk(b"x");
        r.add_reply_long_long(7);
        r.add_reply_array_len(3);
        assert!(!r.has_pending());
    }

    #[test]
    fn cron_shrinks_an_idle_buffer_then_doubles_a_full_one() {
        let mut r = Reply::default();
        // The first visit only restarts the peak (Redis's start time is in seconds).
        assert_eq!(r.clients_cron_resize_output_buffer(1_000_000, 5000), None);
        assert_eq!(r.clients_cron_resize_output_buffer(1_000_100, 5000), Some(BufferResize::Shrunk));
        assert_eq!(r.buf_usable_size(), PROTO_REPLY_MIN_BYTES);
        r.add_reply_proto(&vec![b'z'; 3000]);
        assert_eq!((r.bufpos(), r.buf_peak()), (1024, 1024));
        assert_eq!(r.clients_cron_resize_output_buffer(1_000_200, -1), Some(BufferResize::Expanded));
        assert_eq!(r.buf_usable_size(), 2048);
        assert_eq!(drain(&mut r), vec![b'z'; 3000]);
    }
}

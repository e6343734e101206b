//! rio: the byte stream the RDB code writes to and reads from.
//!
//! Redis: rio.c. One interface over several backends (a file, an in-memory buffer for DUMP /
//! RESTORE, later a replication socket), which keeps a running CRC-64 of every byte that
//! passes (the RDB trailer and the DUMP footer) and counts the bytes (loading progress, the
//! child's progress report). In Rust the backend is any `Write` or `Read`; rio adds the
//! checksum and the count. Everything here runs inline on the event loop thread (SAVE, load)
//! or in the BGSAVE child.

use std::io::{self, Read, Write};

use crate::crc64::crc64;

/// Redis: rio: a backend plus the running checksum and byte count.
pub struct Rio<T> {
    inner: T,
    /// Redis: rio.cksum, updated only while `update_cksum` is on (rioGenericUpdateChecksum).
    pub cksum: u64,
    pub update_cksum: bool,
    /// Redis: rio.processed_bytes.
    pub processed_bytes: u64,
}

impl<T> Rio<T> {
    /// A rio that checksums from its first byte.
    pub fn new(inner: T) -> Rio<T> {
        Rio { inner, cksum: 0, update_cksum: true, processed_bytes: 0 }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    pub fn into_inner(self) -> T {
        self.inner
    }

    fn account(&mut self, bytes: &[u8]) {
        if self.update_cksum {
            self.cksum = crc64(self.cksum, bytes);
        }
        self.processed_bytes += bytes.len() as u64;
    }
}

impl<W: Write> Rio<W> {
    /// Redis: rio.h rioWrite(): all of `buf` or an error.
    pub fn rio_write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.account(buf);
        self.inner.write_all(buf)
    }

    /// Redis: rio.h rioFlush().
    pub fn rio_flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Rio<R> {
    /// Redis: rio.h rioRead(): exactly `buf.len()` bytes or an error (a short read is
    /// `UnexpectedEof`, which the loader reports as a truncated file).
    pub fn rio_read(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)?;
        self.account(buf);
        Ok(())
    }

    /// Reads `len` bytes into a new vector without trusting `len` for the allocation: the
    /// vector grows only as bytes really arrive, so a corrupt length in a file or payload
    /// cannot make the server allocate gigabytes up front.
    pub fn rio_read_vec(&mut self, len: u64) -> io::Result<Vec<u8>> {
        const CHUNK: u64 = 1 << 20;
        let mut out = Vec::with_capacity(len.min(CHUNK) as usize);
        let mut remaining = len;
        while remaining > 0 {
            let step = remaining.min(CHUNK) as usize;
            let start = out.len();
            out.resize(start + step, 0);
            self.rio_read(&mut out[start..])?;
            remaining -= step as u64;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Rio;
    use crate::crc64::crc64;

    #[test]
    fn write_counts_and_checksums_every_byte() {
        let mut rio = Rio::new(Vec::new());
        rio.rio_write(b"1234").unwrap();
        rio.rio_write(b"56789").unwrap();
        assert_eq!(rio.processed_bytes, 9);
        assert_eq!(rio.cksum, crc64(0, b"123456789"));
        assert_eq!(rio.into_inner(), b"123456789");
    }

    #[test]
    fn short_read_is_an_error_and_huge_lengths_do_not_preallocate() {
        let mut rio = Rio::new(&b"abc"[..]);
        assert!(rio.rio_read_vec(u64::MAX).is_err());
        let mut rio = Rio::new(&b"abcdef"[..]);
        assert_eq!(rio.rio_read_vec(4).unwrap(), b"abcd");
        assert_eq!(rio.processed_bytes, 4);
        assert_eq!(rio.cksum, crc64(0, b"abcd"));
    }

    #[test]
    fn checksum_can_be_paused() {
        let mut rio = Rio::new(Vec::new());
        rio.rio_write(b"ab").unwrap();
        rio.update_cksum = false;
        rio.rio_write(b"zz").unwrap();
        assert_eq!(rio.cksum, crc64(0, b"ab"));
        assert_eq!(rio.processed_bytes, 4);
    }
}

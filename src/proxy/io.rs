//! Timed socket reads and writes over monoio's owned-buffer API. Buffers make a round
//! trip through the kernel; when a timeout fires, the in-flight operation (and its
//! buffer) is cancelled and an empty buffer is returned, because the connection is
//! closed anyway. Timeouts are the worker's coarse deadlines (one tick of
//! resolution), not a monoio timer per operation.

use std::io;
use std::time::Duration;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};

use super::coarse_timers::timed;

/// How a timed operation failed.
#[derive(Debug)]
pub enum IoFail {
    /// No progress within the timeout.
    Timeout,
    /// The peer closed before the expected bytes arrived.
    Eof,
    /// Reset or other socket error.
    Io(io::Error),
}

/// Read once, appending to `buf` (up to its capacity). Returns the bytes read; 0 is
/// reported as `Eof`.
// HOT PATH: no alloc, no lock, no blocking call.
pub async fn read_append<S: AsyncReadRent>(
    s: &mut S,
    buf: Vec<u8>,
    timeout: Duration,
) -> (Result<usize, IoFail>, Vec<u8>) {
    let len = buf.len();
    let mut buf = buf;
    if len == buf.capacity() {
        buf.reserve(len.max(4096));
    }
    let cap = buf.capacity();
    match timed(timeout, s.read(buf.slice_mut(len..cap))).await {
        Some((Ok(0), slice)) => (Err(IoFail::Eof), slice.into_inner()),
        Some((Ok(n), slice)) => (Ok(n), slice.into_inner()),
        Some((Err(e), slice)) => (Err(IoFail::Io(e)), slice.into_inner()),
        None => (Err(IoFail::Timeout), Vec::new()),
    }
}

/// Write `buf[range]` completely.
// HOT PATH: no alloc, no lock, no blocking call.
pub async fn write_range<S: AsyncWriteRent>(
    s: &mut S,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    timeout: Duration,
) -> (Result<(), IoFail>, Vec<u8>) {
    if start >= end {
        return (Ok(()), buf);
    }
    match timed(timeout, s.write_all(buf.slice(start..end))).await {
        Some((Ok(_), slice)) => (Ok(()), slice.into_inner()),
        Some((Err(e), slice)) => (Err(IoFail::Io(e)), slice.into_inner()),
        None => (Err(IoFail::Timeout), Vec::new()),
    }
}

/// Write all of `buf`.
pub async fn write_all<S: AsyncWriteRent>(
    s: &mut S,
    buf: Vec<u8>,
    timeout: Duration,
) -> (Result<(), IoFail>, Vec<u8>) {
    let end = buf.len();
    write_range(s, buf, 0, end, timeout).await
}

/// Drop the first `n` bytes of `buf`, keeping what follows (pipelined data).
#[inline]
pub fn consume(buf: &mut Vec<u8>, n: usize) {
    if n >= buf.len() {
        buf.clear();
    } else {
        buf.copy_within(n.., 0);
        buf.truncate(buf.len() - n);
    }
}

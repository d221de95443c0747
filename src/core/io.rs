//! Timed socket reads and writes over monoio's owned-buffer API. Buffers make a round
//! trip through the kernel; when a timeout fires, the in-flight operation (and its
//! buffer) is cancelled and an empty buffer is returned, because the connection is
//! closed anyway. Timeouts are the worker's coarse deadlines (one tick of
//! resolution), not a monoio timer per operation.

use std::future::Future;
use std::io;

use monoio::buf::{IoBuf, IoBufMut};
use monoio::io::{AsyncReadRent, AsyncWriteRent};
use monoio::net::TcpStream;

use super::timers::Timeout;

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
    timeout: Timeout<'_>,
) -> (Result<usize, IoFail>, Vec<u8>) {
    let len = buf.len();
    let mut buf = buf;
    if len == buf.capacity() {
        buf.reserve(len.max(4096));
    }
    let cap = buf.capacity();
    match timeout.run(s.read(buf.slice_mut(len..cap))).await {
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
    timeout: Timeout<'_>,
) -> (Result<(), IoFail>, Vec<u8>) {
    // One send per step (a small one completes at once); the timeout bounds each
    // step, i.e. it fires when the peer accepts nothing for that long.
    let mut buf = buf;
    let mut at = start;
    while at < end {
        match timeout.run(s.write(buf.slice(at..end))).await {
            Some((Ok(0), slice)) => {
                return (
                    Err(IoFail::Io(io::ErrorKind::WriteZero.into())),
                    slice.into_inner(),
                );
            }
            Some((Ok(n), slice)) => {
                buf = slice.into_inner();
                at += n;
            }
            Some((Err(e), slice)) => return (Err(IoFail::Io(e)), slice.into_inner()),
            None => return (Err(IoFail::Timeout), Vec::new()),
        }
    }
    (Ok(()), buf)
}

/// Write all of `buf`.
pub async fn write_all<S: AsyncWriteRent>(
    s: &mut S,
    buf: Vec<u8>,
    timeout: Timeout<'_>,
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

/// A byte stream the data path relays through: a plain socket, or a client
/// connection that may be TLS. Relays are generic over it, so the plain path is
/// monomorphised (no dynamic dispatch) and splices when both ends are sockets.
pub trait ByteStream {
    /// As `read_append`.
    fn read_some(
        &mut self,
        buf: Vec<u8>,
        timeout: Timeout<'_>,
    ) -> impl Future<Output = (Result<usize, IoFail>, Vec<u8>)>;

    /// As `write_range`.
    fn write_some(
        &mut self,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        timeout: Timeout<'_>,
    ) -> impl Future<Output = (Result<(), IoFail>, Vec<u8>)>;

    /// The socket to splice to or from, when bytes pass through unchanged.
    fn splice_socket(&mut self) -> Option<&mut TcpStream>;

    /// As `write_all`.
    fn write_whole(
        &mut self,
        buf: Vec<u8>,
        timeout: Timeout<'_>,
    ) -> impl Future<Output = (Result<(), IoFail>, Vec<u8>)> {
        let end = buf.len();
        self.write_some(buf, 0, end, timeout)
    }
}

impl ByteStream for TcpStream {
    #[inline]
    fn read_some(
        &mut self,
        buf: Vec<u8>,
        timeout: Timeout<'_>,
    ) -> impl Future<Output = (Result<usize, IoFail>, Vec<u8>)> {
        read_append(self, buf, timeout)
    }

    #[inline]
    fn write_some(
        &mut self,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        timeout: Timeout<'_>,
    ) -> impl Future<Output = (Result<(), IoFail>, Vec<u8>)> {
        write_range(self, buf, start, end, timeout)
    }

    #[inline]
    fn splice_socket(&mut self) -> Option<&mut TcpStream> {
        Some(self)
    }
}

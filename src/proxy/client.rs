//! The client side of one connection: its stream (a plain socket or TLS), the bytes
//! read from it and not yet consumed, and its peer address. Shared by the
//! connection loop, request reading and the exchange, so none of them depends on
//! another for it.
//!
//! `ClientStream` is an enum, not a trait object: the plain path costs one branch
//! per I/O call and no allocation, and relays stay generic (`core::io::ByteStream`),
//! splicing when the client is a plain socket. TLS bytes are copied through user
//! space (rustls encrypts them), never spliced.

use std::io;
use std::net::SocketAddr;

use monoio::buf::IoBufMut;
use monoio::io::{CancelHandle, CancelableAsyncReadRent};
use monoio::net::TcpStream;

use crate::core::io::{ByteStream, IoFail, read_append, write_range};
use crate::core::timers::Timeout;
use crate::tls::{HandshakeInfo, TlsStream};

/// Plaintext encrypted and sent per timed step on a TLS connection (four full
/// records).
const TLS_WRITE_STEP: usize = 64 * 1024;

/// The client side of a connection.
pub struct ClientConn {
    /// The stream.
    pub stream: ClientStream,
    /// Bytes read and not yet consumed (empty with no capacity while idle).
    pub buf: Vec<u8>,
    /// The peer address.
    pub peer: SocketAddr,
}

/// A client stream: plain TCP or TLS over TCP.
pub enum ClientStream {
    /// A plain socket.
    Plain(TcpStream),
    /// A TLS connection whose handshake finished (boxed: rustls' state is large, and
    /// an idle plain connection's future should not carry room for it).
    Tls(Box<TlsStream>),
}

impl ClientStream {
    /// The TLS connection, if this is one.
    #[inline]
    pub fn tls(&self) -> Option<&TlsStream> {
        match self {
            ClientStream::Plain(_) => None,
            ClientStream::Tls(t) => Some(t),
        }
    }

    /// What the handshake agreed (TLS connections only).
    pub fn tls_info(&self) -> Option<HandshakeInfo> {
        self.tls().map(TlsStream::info)
    }

    /// Wait until a read can make progress without a buffer (TLS: plaintext or
    /// ciphertext already buffered counts).
    pub async fn readable(&mut self) -> io::Result<()> {
        match self {
            ClientStream::Plain(s) => s.readable(false).await,
            ClientStream::Tls(t) => t.readable().await,
        }
    }

    /// Before an idle wait: give back buffers the stream holds (TLS ciphertext).
    pub fn idle(&mut self) {
        if let ClientStream::Tls(t) = self {
            t.release_idle_buffers();
        }
    }

    /// Read once into `buf` (empty, with capacity); the read can be cancelled
    /// through `c` (`ECANCELED`, with no byte lost).
    pub async fn cancelable_read(
        &mut self,
        buf: Vec<u8>,
        c: CancelHandle,
    ) -> (io::Result<usize>, Vec<u8>) {
        match self {
            ClientStream::Plain(s) => {
                let cap = buf.capacity();
                let (r, slice) = s.cancelable_read(buf.slice_mut(0..cap), c).await;
                (r, slice.into_inner())
            }
            ClientStream::Tls(t) => {
                let mut buf = buf;
                let r = t.read_append(&mut buf, Some(c)).await;
                (r, buf)
            }
        }
    }

    /// End the connection: TLS sends close_notify (within `timeout`); a plain
    /// socket just closes when dropped.
    pub async fn close(&mut self, timeout: Timeout<'_>) {
        if let ClientStream::Tls(t) = self {
            let _ = timeout.run(t.close()).await;
        }
    }
}

impl ByteStream for ClientStream {
    // HOT PATH: no alloc, no lock, no blocking call (plain; TLS allocates in rustls).
    async fn read_some(
        &mut self,
        buf: Vec<u8>,
        timeout: Timeout<'_>,
    ) -> (Result<usize, IoFail>, Vec<u8>) {
        match self {
            ClientStream::Plain(s) => read_append(s, buf, timeout).await,
            ClientStream::Tls(t) => {
                let mut buf = buf;
                if buf.len() == buf.capacity() {
                    buf.reserve(buf.len().max(4096));
                }
                let r = match timeout.run(t.read_append(&mut buf, None)).await {
                    Some(Ok(0)) => Err(IoFail::Eof),
                    Some(Ok(n)) => Ok(n),
                    Some(Err(e)) => Err(IoFail::Io(e)),
                    None => Err(IoFail::Timeout),
                };
                (r, buf)
            }
        }
    }

    // HOT PATH: no alloc, no lock, no blocking call (plain; TLS allocates in rustls).
    async fn write_some(
        &mut self,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        timeout: Timeout<'_>,
    ) -> (Result<(), IoFail>, Vec<u8>) {
        match self {
            ClientStream::Plain(s) => write_range(s, buf, start, end, timeout).await,
            ClientStream::Tls(t) => {
                // The timeout bounds each step, as for a socket: it fires when the
                // client takes nothing for that long.
                let mut at = start;
                while at < end {
                    let stop = end.min(at + TLS_WRITE_STEP);
                    match timeout.run(t.write_all(&buf[at..stop])).await {
                        Some(Ok(())) => at = stop,
                        Some(Err(e)) => return (Err(IoFail::Io(e)), buf),
                        None => return (Err(IoFail::Timeout), buf),
                    }
                }
                (Ok(()), buf)
            }
        }
    }

    #[inline]
    fn splice_socket(&mut self) -> Option<&mut TcpStream> {
        match self {
            ClientStream::Plain(s) => Some(s),
            ClientStream::Tls(_) => None,
        }
    }
}

//! sluice's own adaptor from rustls to monoio: a `ServerConnection` driven through
//! its buffered API (`read_tls` / `process_new_packets` / `reader` / `writer` /
//! `write_tls`) over a monoio `TcpStream`'s owned-buffer reads and writes. The
//! decrypting half is sans-I/O (`session`); this file adds the socket.
//!
//! Why not `monoio-rustls`: it is lightly maintained and its `into_parts` drops
//! ciphertext it had buffered; here the two ciphertext buffers belong to this
//! struct, nothing is dropped (bytes read past the handshake's last record stay in
//! `rbuf` or in rustls until the request reader takes them as plaintext), and
//! `close` sends close_notify. rustls' unbuffered API would let sluice hand its
//! own buffers to rustls and is the route to kTLS later; this kernel has no kTLS
//! (`CONFIG_TLS` unset), so the buffered API, the simplest correct one, is used.
//!
//! Every method keeps rustls' state consistent between awaits: a buffer in flight
//! is taken out of the struct and put back when the kernel returns it. If a caller
//! drops a future mid-operation (its timeout fired), the buffer is lost and the
//! connection must be closed, which every caller does.

use std::io::{self, Write};
use std::sync::Arc;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncWriteRentExt, CancelHandle, CancelableAsyncReadRent};
use monoio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

use super::session::{Session, tls_err};

/// Ciphertext read size: two full TLS records.
const CIPHER_READ: usize = 2 * (16 * 1024 + 256);

/// What a finished handshake agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeInfo {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: &'static str,
    /// The IANA name of the cipher suite (`TLS13_AES_128_GCM_SHA256`).
    pub cipher: &'static str,
}

/// A server-side TLS connection over a monoio socket.
pub struct TlsStream {
    io: TcpStream,
    /// rustls and the ciphertext read from the socket, not yet processed.
    s: Session,
    /// Ciphertext on its way to the socket (empty between calls).
    wbuf: Vec<u8>,
}

impl TlsStream {
    /// Run the server handshake on `io`. Ciphertext read past the handshake (the
    /// client's first request often shares a segment with its Finished) is kept.
    pub async fn accept(io: TcpStream, config: Arc<ServerConfig>) -> io::Result<TlsStream> {
        let tls = ServerConnection::new(config).map_err(tls_err)?;
        let mut t = TlsStream {
            io,
            s: Session::new(tls),
            wbuf: Vec::new(),
        };
        while t.s.tls.is_handshaking() {
            t.flush().await?;
            if !t.s.tls.is_handshaking() {
                break;
            }
            if !t.s.has_ciphertext() {
                if t.s.eof {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                t.fill(None).await?;
                continue;
            }
            if let Err(e) = t.s.feed() {
                // Send the alert rustls queued, then give up.
                let _ = t.flush().await;
                return Err(e);
            }
        }
        // The last flight and TLS 1.3 session tickets.
        t.flush().await?;
        Ok(t)
    }

    /// The agreed version and cipher suite.
    pub fn info(&self) -> HandshakeInfo {
        let version = match self.s.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let cipher = self
            .s
            .tls
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("unknown");
        HandshakeInfo { version, cipher }
    }

    /// The SNI the client sent (lower-cased by rustls), if any.
    pub fn sni(&self) -> Option<&str> {
        self.s.tls.server_name()
    }

    /// The ALPN protocol agreed, if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.s.tls.alpn_protocol()
    }

    /// Whether a read could make progress without the socket (plaintext or
    /// unprocessed ciphertext buffered, or EOF seen).
    pub fn has_buffered(&mut self) -> bool {
        self.s.has_buffered()
    }

    /// Wait until a read could make progress.
    pub async fn readable(&mut self) -> io::Result<()> {
        if self.has_buffered() {
            return Ok(());
        }
        self.io.readable(false).await
    }

    /// Give the ciphertext buffers back while the connection idles (nothing is
    /// buffered in them then; a partial record stays in rustls).
    pub fn release_idle_buffers(&mut self) {
        if !self.s.has_ciphertext() {
            self.s.rbuf = Vec::new();
            self.s.rpos = 0;
        }
        self.wbuf = Vec::new();
    }

    /// Append plaintext to `out` (up to its capacity; grown when full); with `cancel`, the socket read waiting for ciphertext can be
    /// cancelled (`ECANCELED`, nothing lost). Returns the bytes appended; 0 = EOF.
    pub async fn read_append(
        &mut self,
        out: &mut Vec<u8>,
        cancel: Option<CancelHandle>,
    ) -> io::Result<usize> {
        loop {
            if let Some(n) = self.s.take_plain(out)? {
                return Ok(n);
            }
            // Answers rustls owes the peer (a key update, an alert) go out first.
            self.flush().await?;
            self.fill(cancel.clone()).await?;
        }
    }

    /// Read ciphertext from the socket into `rbuf`; 0 bytes marks EOF.
    async fn fill(&mut self, cancel: Option<CancelHandle>) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.s.rbuf);
        if self.s.rpos > 0 {
            buf.drain(..self.s.rpos);
            self.s.rpos = 0;
        }
        if buf.capacity() - buf.len() < CIPHER_READ / 2 {
            buf.reserve(CIPHER_READ);
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let (r, slice) = match cancel {
            Some(c) => self.io.cancelable_read(buf.slice_mut(len..cap), c).await,
            None => monoio::io::AsyncReadRent::read(&mut self.io, buf.slice_mut(len..cap)).await,
        };
        self.s.rbuf = slice.into_inner();
        if r? == 0 {
            self.s.eof = true;
        }
        Ok(())
    }

    /// Encrypt and send all of `data`.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut at = 0;
        while at < data.len() {
            let n = self.s.tls.writer().write(&data[at..])?;
            if n == 0 && !self.s.tls.wants_write() {
                // Nothing taken and nothing to send (close_notify already sent).
                return Err(io::ErrorKind::WriteZero.into());
            }
            at += n;
            self.flush().await?;
        }
        Ok(())
    }

    /// Send everything rustls has queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        while self.s.tls.wants_write() {
            let mut buf = std::mem::take(&mut self.wbuf);
            buf.clear();
            while self.s.tls.wants_write() {
                self.s.tls.write_tls(&mut buf)?;
            }
            let (r, b) = self.io.write_all(buf).await;
            self.wbuf = b;
            self.wbuf.clear();
            r?;
        }
        Ok(())
    }

    /// Send close_notify (and anything still queued). The socket closes on drop.
    pub async fn close(&mut self) -> io::Result<()> {
        self.s.tls.send_close_notify();
        self.flush().await
    }

    /// The socket, e.g. for its options.
    pub fn socket(&self) -> &TcpStream {
        &self.io
    }
}

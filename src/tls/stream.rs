//! sluice's own adaptor from rustls to monoio: a `ServerConnection` driven through
//! its buffered API (`read_tls` / `process_new_packets` / `reader` / `writer` /
//! `write_tls`) over a monoio `TcpStream`'s owned-buffer reads and writes.
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

use std::io::{self, Read, Write};
use std::sync::Arc;

use monoio::buf::IoBufMut;
use monoio::io::{AsyncWriteRentExt, CancelHandle, CancelableAsyncReadRent};
use monoio::net::TcpStream;
use rustls::{ServerConfig, ServerConnection};

/// Ciphertext read size: two full TLS records.
const CIPHER_READ: usize = 2 * (16 * 1024 + 256);
/// rustls refuses more ciphertext once this much plaintext waits (its default
/// received-plaintext limit); feeding stops short of it.
const PLAINTEXT_HIGH: usize = 16 * 1024;

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
    tls: ServerConnection,
    /// Ciphertext read from the socket; `rbuf[rpos..]` not yet given to rustls.
    rbuf: Vec<u8>,
    rpos: usize,
    /// Ciphertext on its way to the socket (empty between calls).
    wbuf: Vec<u8>,
    /// The socket reached EOF.
    eof: bool,
}

fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl TlsStream {
    /// Run the server handshake on `io`. Ciphertext read past the handshake (the
    /// client's first request often shares a segment with its Finished) is kept.
    pub async fn accept(io: TcpStream, config: Arc<ServerConfig>) -> io::Result<TlsStream> {
        let tls = ServerConnection::new(config).map_err(tls_err)?;
        let mut s = TlsStream {
            io,
            tls,
            rbuf: Vec::new(),
            rpos: 0,
            wbuf: Vec::new(),
            eof: false,
        };
        while s.tls.is_handshaking() {
            s.flush().await?;
            if !s.tls.is_handshaking() {
                break;
            }
            if s.rpos == s.rbuf.len() {
                if s.eof {
                    return Err(io::ErrorKind::UnexpectedEof.into());
                }
                s.fill(None).await?;
                continue;
            }
            if let Err(e) = s.feed() {
                // Send the alert rustls queued, then give up.
                let _ = s.flush().await;
                return Err(e);
            }
        }
        // The last flight and TLS 1.3 session tickets.
        s.flush().await?;
        Ok(s)
    }

    /// The agreed version and cipher suite.
    pub fn info(&self) -> HandshakeInfo {
        let version = match self.tls.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "unknown",
        };
        let cipher = self
            .tls
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("unknown");
        HandshakeInfo { version, cipher }
    }

    /// The SNI the client sent (lower-cased by rustls), if any.
    pub fn sni(&self) -> Option<&str> {
        self.tls.server_name()
    }

    /// The ALPN protocol agreed, if any.
    pub fn alpn(&self) -> Option<&[u8]> {
        self.tls.alpn_protocol()
    }

    /// Whether a read could make progress without the socket (plaintext or
    /// unprocessed ciphertext buffered, or EOF seen).
    pub fn has_buffered(&mut self) -> bool {
        self.rpos < self.rbuf.len()
            || self.eof
            || self
                .tls
                .process_new_packets()
                .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
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
        if self.rpos == self.rbuf.len() {
            self.rbuf = Vec::new();
            self.rpos = 0;
        }
        self.wbuf = Vec::new();
    }

    /// Append plaintext to `out` (up to its capacity, which must exceed its
    /// length); with `cancel`, the socket read waiting for ciphertext can be
    /// cancelled (`ECANCELED`, nothing lost). Returns the bytes appended; 0 = EOF.
    pub async fn read_append(
        &mut self,
        out: &mut Vec<u8>,
        cancel: Option<CancelHandle>,
    ) -> io::Result<usize> {
        debug_assert!(out.capacity() > out.len());
        loop {
            if let Some(n) = self.take_plain(out)? {
                return Ok(n);
            }
            // Answers rustls owes the peer (a key update, an alert) go out first.
            self.flush().await?;
            self.fill(cancel.clone()).await?;
        }
    }

    /// Plaintext already decrypted or decryptable from buffered ciphertext:
    /// `Some(n)` appended (0 = EOF), `None` = the socket must be read.
    fn take_plain(&mut self, out: &mut Vec<u8>) -> io::Result<Option<usize>> {
        loop {
            let len = out.len();
            out.resize(out.capacity(), 0);
            let r = self.tls.reader().read(&mut out[len..]);
            let n = *r.as_ref().unwrap_or(&0);
            out.truncate(len + n);
            match r {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
            if self.rpos < self.rbuf.len() {
                self.feed()?;
            } else if self.eof {
                return Ok(Some(0));
            } else {
                return Ok(None);
            }
        }
    }

    /// Give buffered ciphertext to rustls and decrypt it, stopping while a full
    /// plaintext buffer waits to be read.
    fn feed(&mut self) -> io::Result<()> {
        while self.rpos < self.rbuf.len() {
            let mut rest = &self.rbuf[self.rpos..];
            let n = self.tls.read_tls(&mut rest)?;
            if n == 0 {
                // close_notify was received: nothing after it means anything.
                self.rpos = self.rbuf.len();
                break;
            }
            self.rpos += n;
            let state = self.tls.process_new_packets().map_err(tls_err)?;
            if state.plaintext_bytes_to_read() >= PLAINTEXT_HIGH || state.peer_has_closed() {
                break;
            }
        }
        if self.rpos == self.rbuf.len() {
            self.rbuf.clear();
            self.rpos = 0;
        }
        Ok(())
    }

    /// Read ciphertext from the socket into `rbuf`; 0 bytes marks EOF.
    async fn fill(&mut self, cancel: Option<CancelHandle>) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.rbuf);
        if self.rpos > 0 {
            buf.drain(..self.rpos);
            self.rpos = 0;
        }
        if buf.capacity() - buf.len() < CIPHER_READ / 2 {
            buf.reserve(CIPHER_READ);
        }
        let (len, cap) = (buf.len(), buf.capacity());
        let (r, slice) = match cancel {
            Some(c) => self.io.cancelable_read(buf.slice_mut(len..cap), c).await,
            None => monoio::io::AsyncReadRent::read(&mut self.io, buf.slice_mut(len..cap)).await,
        };
        self.rbuf = slice.into_inner();
        if r? == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Encrypt and send all of `data`.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let mut at = 0;
        while at < data.len() {
            at += self.tls.writer().write(&data[at..])?;
            self.flush().await?;
        }
        Ok(())
    }

    /// Send everything rustls has queued.
    pub async fn flush(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            let mut buf = std::mem::take(&mut self.wbuf);
            buf.clear();
            while self.tls.wants_write() {
                self.tls.write_tls(&mut buf)?;
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
        self.tls.send_close_notify();
        self.flush().await
    }

    /// The socket, e.g. for its options.
    pub fn socket(&self) -> &TcpStream {
        &self.io
    }
}

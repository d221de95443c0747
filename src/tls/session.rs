//! The sans-I/O half of a server TLS connection: rustls' `ServerConnection` plus
//! the ciphertext read from the peer and not yet given to it. It turns buffered
//! ciphertext into plaintext and says when more must be read; `stream` adds the
//! socket. Being free of I/O, it is what the TLS-to-HTTP fuzz target drives with
//! an in-memory client.

use std::io::{self, Read};

use rustls::ServerConnection;

/// rustls refuses more ciphertext once this much plaintext waits (its default
/// received-plaintext limit); feeding stops short of it.
const PLAINTEXT_HIGH: usize = 16 * 1024;

/// A server TLS connection and its unprocessed ciphertext.
pub struct Session {
    /// rustls' state.
    pub tls: ServerConnection,
    /// Ciphertext from the peer; `rbuf[rpos..]` not yet given to rustls.
    pub rbuf: Vec<u8>,
    /// See `rbuf`.
    pub rpos: usize,
    /// The peer's side reached EOF.
    pub eof: bool,
}

/// rustls' error as an I/O error.
pub fn tls_err(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl Session {
    /// A session around a new `ServerConnection`.
    pub fn new(tls: ServerConnection) -> Self {
        Session {
            tls,
            rbuf: Vec::new(),
            rpos: 0,
            eof: false,
        }
    }

    /// Ciphertext is buffered and not yet given to rustls.
    #[inline]
    pub fn has_ciphertext(&self) -> bool {
        self.rpos < self.rbuf.len()
    }

    /// Append ciphertext received by other means (in-memory tests and fuzzing).
    pub fn push_ciphertext(&mut self, bytes: &[u8]) {
        self.rbuf.extend_from_slice(bytes);
    }

    /// Whether a read could make progress without more ciphertext.
    pub fn has_buffered(&mut self) -> bool {
        self.has_ciphertext()
            || self.eof
            || self
                .tls
                .process_new_packets()
                .is_ok_and(|s| s.plaintext_bytes_to_read() > 0)
    }

    /// Give buffered ciphertext to rustls and decrypt it, stopping while a full
    /// plaintext buffer waits to be read. An error is fatal to the connection
    /// (rustls has queued the alert to send).
    pub fn feed(&mut self) -> io::Result<()> {
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

    /// Append decrypted plaintext to `out` (up to its capacity, grown first when
    /// full, so 0 always means EOF): `Some(n)` appended (0 = EOF), `None` = more
    /// ciphertext needed.
    pub fn take_plain(&mut self, out: &mut Vec<u8>) -> io::Result<Option<usize>> {
        if out.capacity() == out.len() {
            out.reserve(4096);
        }
        loop {
            // Zero-fill only what rustls can hand over now (at least one byte, so a
            // read of 0 means EOF), not the whole spare capacity.
            let avail = self
                .tls
                .process_new_packets()
                .map_err(tls_err)?
                .plaintext_bytes_to_read();
            let len = out.len();
            out.resize(len + (out.capacity() - len).min(avail.max(1)), 0);
            let r = self.tls.reader().read(&mut out[len..]);
            let n = *r.as_ref().unwrap_or(&0);
            out.truncate(len + n);
            match r {
                Ok(n) => return Ok(Some(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(Some(0)),
                Err(e) => return Err(e),
            }
            if self.has_ciphertext() {
                self.feed()?;
            } else if self.eof {
                return Ok(Some(0));
            } else {
                return Ok(None);
            }
        }
    }
}

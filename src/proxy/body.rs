//! Relaying message bodies between two sockets: by exact length (spliced when
//! large), chunked (forwarded verbatim or de-chunked), or until the sender closes.
//!
//! Both ends are `ByteStream`s: sockets, or a client stream that may be TLS (then
//! bodies are copied through user space instead of spliced).
//!
//! Every function starts from bytes already buffered (`buf[..]`, which belong to the
//! body up to its end) and reads the rest from the source socket.

use crate::core::io::{ByteStream, IoFail, consume};
use crate::core::timers::Timeout;
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::upstream::splice::{PipePool, SPLICE_MIN_BODY, SpliceFail, splice_exact};

/// Timeouts for one relay: reading the source, writing the destination.
#[derive(Clone, Copy)]
pub struct RelayTimeouts<'t> {
    /// Longest wait for source bytes.
    pub read: Timeout<'t>,
    /// Longest wait for the destination to accept bytes.
    pub write: Timeout<'t>,
}

/// Why a relay stopped early.
#[derive(Debug)]
pub enum RelayError {
    /// Reading the source failed (the source side is at fault).
    Source(IoFail),
    /// Writing the destination failed.
    Dest(IoFail),
    /// The chunked framing was invalid.
    BadChunked,
    /// The chunked body's data went over its limit (`max_body`); nothing past
    /// the limit was written.
    TooLarge,
    /// No pipe could be had for splicing.
    NoPipe,
}

/// How a chunked body is relayed.
#[derive(Debug, Clone, Copy)]
pub struct ChunkedRelay {
    /// Write only the chunk data (for an HTTP/1.0 client; the connection is then
    /// closed to delimit the body).
    pub dechunk: bool,
    /// Most chunk data accepted (`max_body` for request bodies); 0 = unlimited.
    pub max_data: u64,
}

/// Relay exactly `len` body bytes. `buf` holds bytes read ahead from `src`; on
/// success the body's bytes are removed from it and anything after (pipelined data)
/// stays. Returns the bytes written (`len`), like the other relays.
pub async fn relay_length<S: ByteStream, D: ByteStream>(
    src: &mut S,
    dst: &mut D,
    mut buf: Vec<u8>,
    len: u64,
    pipes: &std::cell::RefCell<PipePool>,
    t: RelayTimeouts<'_>,
) -> (Result<u64, RelayError>, Vec<u8>) {
    let buffered = (buf.len() as u64).min(len) as usize;
    let (r, b) = dst.write_some(buf, 0, buffered, t.write).await;
    buf = b;
    if let Err(e) = r {
        return (Err(RelayError::Dest(e)), buf);
    }
    consume(&mut buf, buffered);
    let mut left = len - buffered as u64;
    // Splice only socket to socket: TLS bytes are encrypted in user space.
    if left >= SPLICE_MIN_BODY
        && let (Some(src), Some(dst)) = (src.splice_socket(), dst.splice_socket())
    {
        let pipe = pipes.borrow_mut().take();
        let mut pipe = match pipe {
            Ok(p) => p,
            Err(_) => return (Err(RelayError::NoPipe), buf),
        };
        let (read, write) = (|| t.read.expiry(), || t.write.expiry());
        return match splice_exact(src, dst, &mut pipe, left, read, write).await {
            Ok(()) => {
                pipes.borrow_mut().put(pipe);
                (Ok(len), buf)
            }
            Err(SpliceFail::Source(e)) => (Err(RelayError::Source(IoFail::Io(e))), buf),
            Err(SpliceFail::Dest(e)) => (Err(RelayError::Dest(IoFail::Io(e))), buf),
            Err(SpliceFail::SourceTimeout) => (Err(RelayError::Source(IoFail::Timeout)), buf),
            Err(SpliceFail::DestTimeout) => (Err(RelayError::Dest(IoFail::Timeout)), buf),
        };
    }
    while left > 0 {
        debug_assert!(buf.is_empty());
        let (r, b) = src.read_some(buf, t.read).await;
        buf = b;
        let n = match r {
            Ok(n) => n,
            Err(e) => return (Err(RelayError::Source(e)), buf),
        };
        let take = (n as u64).min(left) as usize;
        let (r, b) = dst.write_some(buf, 0, take, t.write).await;
        buf = b;
        if let Err(e) = r {
            return (Err(RelayError::Dest(e)), buf);
        }
        consume(&mut buf, take);
        left -= take as u64;
    }
    (Ok(len), buf)
}

/// Relay a chunked body (see `ChunkedRelay`). Each batch of input is checked by
/// the decoder before any of it is written, so a malformed or over-limit body is
/// cut before its bad part. Returns the body bytes written to `dst` (the chunked
/// framing included unless de-chunking).
pub async fn relay_chunked<S: ByteStream, D: ByteStream>(
    src: &mut S,
    dst: &mut D,
    mut buf: Vec<u8>,
    how: ChunkedRelay,
    t: RelayTimeouts<'_>,
) -> (Result<u64, RelayError>, Vec<u8>) {
    let dechunk = how.dechunk;
    let mut decoder = ChunkedDecoder::with_limit(how.max_data);
    let mut written = 0u64;
    // De-chunking (rare: HTTP/1.0 clients only) gathers the data in a second buffer.
    let mut data = Vec::new();
    loop {
        if !buf.is_empty() {
            let fed = if dechunk {
                data.clear();
                decoder.feed(&buf, |r| data.extend_from_slice(&buf[r]))
            } else {
                decoder.feed(&buf, |_| {})
            };
            let used = match fed {
                Ok(used) => used,
                Err(ChunkError::TooLarge) => return (Err(RelayError::TooLarge), buf),
                Err(_) => return (Err(RelayError::BadChunked), buf),
            };
            let (r, n) = if dechunk {
                let n = data.len();
                let (r, d) = dst
                    .write_some(std::mem::take(&mut data), 0, n, t.write)
                    .await;
                data = d;
                (r, n)
            } else {
                let (r, b) = dst.write_some(buf, 0, used, t.write).await;
                buf = b;
                (r, used)
            };
            if let Err(e) = r {
                return (Err(RelayError::Dest(e)), buf);
            }
            written += n as u64;
            consume(&mut buf, used);
            if decoder.is_done() {
                return (Ok(written), buf);
            }
        }
        let (r, b) = src.read_some(buf, t.read).await;
        buf = b;
        if let Err(e) = r {
            return (Err(RelayError::Source(e)), buf);
        }
    }
}

/// Relay until `src` closes (close-delimited response bodies). Returns the body
/// bytes written to `dst`.
pub async fn relay_until_eof<S: ByteStream, D: ByteStream>(
    src: &mut S,
    dst: &mut D,
    mut buf: Vec<u8>,
    t: RelayTimeouts<'_>,
) -> (Result<u64, RelayError>, Vec<u8>) {
    let mut written = 0u64;
    loop {
        let end = buf.len();
        let (r, b) = dst.write_some(buf, 0, end, t.write).await;
        buf = b;
        if let Err(e) = r {
            return (Err(RelayError::Dest(e)), buf);
        }
        written += end as u64;
        buf.clear();
        let (r, b) = src.read_some(buf, t.read).await;
        buf = b;
        match r {
            Ok(_) => {}
            Err(IoFail::Eof) => return (Ok(written), buf),
            Err(e) => return (Err(RelayError::Source(e)), buf),
        }
    }
}

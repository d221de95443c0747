//! Incremental, strict decoder for the chunked transfer coding (RFC 9112 §7.1).
//!
//! The proxy forwards chunked bodies verbatim and uses this decoder only to find where
//! the message ends and to reject malformed framing; when a client cannot take chunked
//! (HTTP/1.0) it also reports the data ranges so the body can be de-chunked.

use std::ops::Range;

/// Longest chunk-size accepted, in hex digits (2^60 bytes is plenty and cannot overflow).
const MAX_SIZE_DIGITS: u8 = 15;
/// Longest chunk extension or trailer line accepted.
const MAX_LINE: u32 = 4096;
/// Most chunk-extension bytes accepted over a whole body: extensions carry nothing a
/// proxy needs, and a peer sending a 4 KiB extension per one-byte chunk would
/// otherwise make us scan and forward far more than the body.
const MAX_EXTENSIONS_TOTAL: u32 = 16 * 1024;
/// Most trailer-section bytes accepted (all trailer lines together).
const MAX_TRAILERS_TOTAL: u32 = 16 * 1024;

/// Why a chunked body was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkError {
    /// Not a hex chunk-size, or too long (RFC 9112 §7.1).
    InvalidSize,
    /// A CR not followed by LF, or a missing CRLF after chunk data.
    BadLineEnding,
    /// A chunk extension or trailer line longer than we accept, or more extension
    /// or trailer bytes in the body than we accept.
    LineTooLong,
    /// The chunk data would exceed the decoder's body limit (`max_body`).
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    SizeStart,
    Size { digits: u8 },
    Ext { len: u32 },
    SizeLf { last: bool },
    Data,
    DataCr,
    DataLf,
    TrailerStart,
    TrailerLine { len: u32 },
    TrailerLf,
    EndLf,
    Done,
}

/// Tracks one chunked message body across arbitrarily split input.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    remaining: u64,
    /// Chunk data announced so far (sizes of the chunks begun).
    data: u64,
    /// Largest `data` accepted; 0 = unlimited.
    max_data: u64,
    /// Chunk-extension bytes seen so far.
    extensions: u32,
    /// Trailer-section bytes seen so far.
    trailers: u32,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder {
            state: State::SizeStart,
            remaining: 0,
            data: 0,
            max_data: 0,
            extensions: 0,
            trailers: 0,
        }
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder that refuses (`TooLarge`) a body whose chunk data exceeds
    /// `max_data` bytes (0 = unlimited). The check is made on each chunk's size line,
    /// before any byte of that chunk is accepted, so a caller that forwards only what
    /// `feed` accepted never forwards more than the limit.
    pub fn with_limit(max_data: u64) -> Self {
        ChunkedDecoder {
            max_data,
            ..Self::default()
        }
    }

    /// Chunk data bytes announced by the size lines seen so far.
    pub fn data_len(&self) -> u64 {
        self.data
    }

    /// Whether the final chunk and trailer section have been seen.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Feed input. Returns how many bytes belong to this body (all of `input` unless the
    /// body ended inside it). `on_data` receives the ranges of `input` holding chunk
    /// data, in order.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn feed(
        &mut self,
        input: &[u8],
        mut on_data: impl FnMut(Range<usize>),
    ) -> Result<usize, ChunkError> {
        let mut i = 0;
        while i < input.len() {
            let b = input[i];
            self.state = match self.state {
                State::Done => return Ok(i),
                State::Data => {
                    let take = (input.len() - i).min(self.remaining as usize);
                    on_data(i..i + take);
                    i += take;
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    continue;
                }
                State::DataCr if b == b'\r' => State::DataLf,
                State::DataLf if b == b'\n' => State::SizeStart,
                State::DataCr | State::DataLf => return Err(ChunkError::BadLineEnding),
                State::SizeStart => {
                    let d = hex(b).ok_or(ChunkError::InvalidSize)?;
                    self.remaining = u64::from(d);
                    State::Size { digits: 1 }
                }
                State::Size { digits } => match (b, hex(b)) {
                    (_, Some(d)) => {
                        if digits >= MAX_SIZE_DIGITS {
                            return Err(ChunkError::InvalidSize);
                        }
                        self.remaining = self.remaining * 16 + u64::from(d);
                        State::Size { digits: digits + 1 }
                    }
                    (b';' | b' ' | b'\t', _) => State::Ext { len: 0 },
                    (b'\r', _) => State::SizeLf {
                        last: self.remaining == 0,
                    },
                    _ => return Err(ChunkError::InvalidSize),
                },
                State::Ext { len } => self.extension(b, len)?,
                State::SizeLf { last } => self.size_lf(b, last)?,
                State::TrailerStart => self.trailer_start(b)?,
                State::TrailerLine { len } => self.trailer_line(b, len)?,
                State::TrailerLf if b == b'\n' => State::TrailerStart,
                State::EndLf if b == b'\n' => State::Done,
                State::TrailerLf | State::EndLf => return Err(ChunkError::BadLineEnding),
            };
            i += 1;
            if self.state == State::Data && self.remaining == 0 {
                self.state = State::DataCr;
            }
        }
        Ok(i)
    }

    // The less frequent transitions on byte `b` (RFC 9112 §7.1): a chunk
    // extension, the LF ending a chunk-size line, the trailer section. One function
    // per state, each returning the next state. The per-chunk ones (size digits,
    // the CRLF after data) stay inline in `feed`: fewer instructions per byte.
    // HOT PATH: no alloc, no lock, no blocking call.

    #[inline]
    fn extension(&mut self, b: u8, len: u32) -> Result<State, ChunkError> {
        Ok(match b {
            b'\r' => State::SizeLf {
                last: self.remaining == 0,
            },
            b'\n' => return Err(ChunkError::BadLineEnding),
            _ if len >= MAX_LINE || self.extensions >= MAX_EXTENSIONS_TOTAL => {
                return Err(ChunkError::LineTooLong);
            }
            _ => {
                self.extensions += 1;
                State::Ext { len: len + 1 }
            }
        })
    }

    #[inline]
    fn size_lf(&mut self, b: u8, last: bool) -> Result<State, ChunkError> {
        Ok(match (b, last) {
            (b'\n', true) => State::TrailerStart,
            (b'\n', false) => {
                self.data += self.remaining;
                if self.max_data > 0 && self.data > self.max_data {
                    return Err(ChunkError::TooLarge);
                }
                State::Data
            }
            _ => return Err(ChunkError::BadLineEnding),
        })
    }

    #[inline]
    fn trailer_start(&mut self, b: u8) -> Result<State, ChunkError> {
        Ok(match b {
            b'\r' => State::EndLf,
            b'\n' => return Err(ChunkError::BadLineEnding),
            _ if self.trailers >= MAX_TRAILERS_TOTAL => return Err(ChunkError::LineTooLong),
            _ => {
                self.trailers += 1;
                State::TrailerLine { len: 1 }
            }
        })
    }

    #[inline]
    fn trailer_line(&mut self, b: u8, len: u32) -> Result<State, ChunkError> {
        Ok(match b {
            b'\r' => State::TrailerLf,
            b'\n' => return Err(ChunkError::BadLineEnding),
            _ if len >= MAX_LINE || self.trailers >= MAX_TRAILERS_TOTAL => {
                return Err(ChunkError::LineTooLong);
            }
            _ => {
                self.trailers += 1;
                State::TrailerLine { len: len + 1 }
            }
        })
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_split(input: &[u8], split: usize) -> Result<(usize, Vec<u8>, bool), ChunkError> {
        let mut d = ChunkedDecoder::new();
        let mut data = Vec::new();
        let mut used = 0;
        for part in [&input[..split], &input[split..]] {
            let n = d.feed(part, |r| data.extend_from_slice(&part[r]))?;
            used += n;
            if d.is_done() {
                break;
            }
        }
        Ok((used, data, d.is_done()))
    }

    #[test]
    fn decodes_at_every_split_point() {
        let body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for split in 0..=body.len() {
            let (used, data, done) = decode_split(body, split).unwrap();
            assert!(done, "split {split}");
            assert_eq!(data, b"hello world");
            assert_eq!(used, body.len() - 4, "split {split}");
        }
    }

    #[test]
    fn rejects_bad_sizes_and_endings() {
        for bad in [
            &b"g\r\n"[..],
            b"-1\r\n",
            b"\r\n",
            b"5\nhello",
            b"5\r\nhelloX",
            b"1234567890abcdef0\r\n",
            b"0\r\n\n",
            b"5\r\nhello\r\n0\r\nbad\n",
            b"5 \n",
        ] {
            let mut d = ChunkedDecoder::new();
            assert!(
                d.feed(bad, |_| {}).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn data_limit_is_checked_on_the_size_line() {
        let mut d = ChunkedDecoder::with_limit(8);
        assert_eq!(d.feed(b"5\r\nhello\r\n", |_| {}), Ok(10));
        assert_eq!(d.feed(b"3\r\nabc\r\n", |_| {}), Ok(8));
        // A fourth... ninth byte is refused before any of its data is accepted.
        let mut seen = 0;
        assert_eq!(
            d.feed(b"1\r\nX\r\n0\r\n\r\n", |r| seen += r.len()),
            Err(ChunkError::TooLarge)
        );
        assert_eq!(seen, 0);
        let mut d = ChunkedDecoder::with_limit(8);
        assert_eq!(
            d.feed(b"5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n", |_| {}),
            Ok(23)
        );
        assert!(d.is_done());
        assert_eq!(d.data_len(), 8);
    }

    #[test]
    fn extension_and_trailer_totals_are_capped() {
        // Many chunks, each under the per-line cap, together over the body cap.
        let ext = "x".repeat(1000);
        let mut body = String::new();
        for _ in 0..20 {
            body.push_str(&format!("1;{ext}\r\na\r\n"));
        }
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(body.as_bytes(), |_| {}),
            Err(ChunkError::LineTooLong)
        );
        let mut trailers = String::from("0\r\n");
        for i in 0..20 {
            trailers.push_str(&format!("X-T{i}: {ext}\r\n"));
        }
        trailers.push_str("\r\n");
        let mut d = ChunkedDecoder::new();
        assert_eq!(
            d.feed(trailers.as_bytes(), |_| {}),
            Err(ChunkError::LineTooLong)
        );
    }

    #[test]
    fn zero_length_body() {
        let mut d = ChunkedDecoder::new();
        assert_eq!(d.feed(b"0\r\n\r\n", |_| {}), Ok(5));
        assert!(d.is_done());
    }
}

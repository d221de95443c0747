//! HTTP/1.1 pieces with no I/O: parsing, framing, path normalisation, head rewriting,
//! canned answers. Everything here works on byte slices and is unit-tested at every
//! split point; the proxy owns the sockets.

pub mod answers;
pub mod chunked;
pub mod fields;
pub mod headers;
pub mod ip_text;
pub mod path;
pub mod request;
pub mod response;
pub mod rewrite;

/// Storage for the parsed headers of one head, left uninitialised: httparse fills
/// only the slots it uses, so a parse does not first write all `N` empty headers
/// (3.2 KB for 100 slots, twice per proxied request).
pub fn header_slots<'b, const N: usize>() -> [std::mem::MaybeUninit<httparse::Header<'b>>; N] {
    [const { std::mem::MaybeUninit::uninit() }; N]
}

/// How a message body is delimited (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Until the sender closes (responses only).
    Close,
}

/// A request that sluice refuses itself, mapped to its status by `answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// 400; the token is sent as `x-sluice-error`.
    BadRequest(&'static str),
    /// 431: head over `max_header_bytes`.
    HeaderTooLarge,
    /// 431: more than `max_headers` fields.
    TooManyHeaders,
    /// 414: request line alone over the limit.
    UriTooLong,
    /// 413: body over `max_body`.
    BodyTooLarge,
}

impl HttpError {
    /// The answer sluice sends for this error.
    pub fn answer(self) -> answers::Answer {
        use answers::Answer;
        match self {
            HttpError::BadRequest(token) => Answer::new(400, token),
            HttpError::HeaderTooLarge => Answer::new(431, "header_too_large"),
            HttpError::TooManyHeaders => Answer::new(431, "too_many_headers"),
            HttpError::UriTooLong => Answer::new(414, "uri_too_long"),
            HttpError::BodyTooLarge => Answer::new(413, "body_too_large"),
        }
    }
}

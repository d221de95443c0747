//! Response head parsing (RFC 9112 §4, §6.3): status, body framing and whether the
//! upstream connection may be reused.

use std::mem::MaybeUninit;

use super::BodyKind;
use super::headers::{ConnectionTokens, eq_ignore_case, list_items, parse_content_length};

/// Headers parsed per upstream response at most.
pub const MAX_RESPONSE_HEADERS: usize = 100;

/// A parsed response head, borrowing the upstream buffer.
#[derive(Debug)]
pub struct ResponseHead<'h, 'b> {
    /// Status code.
    pub status: u16,
    /// Reason phrase as sent.
    pub reason: &'b str,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Bytes of the head including the final CRLF.
    pub head_len: usize,
    /// Header fields in order.
    pub headers: &'h [httparse::Header<'b>],
    /// Tokens of its `Connection` headers (what forwarding must drop).
    pub connection: ConnectionTokens<'h, 'b>,
    /// How the body is framed (already `None` for HEAD, 1xx, 204, 304).
    pub body: BodyKind,
    /// Whether the upstream connection can carry another request afterwards.
    pub reusable: bool,
}

impl ResponseHead<'_, '_> {
    /// 1xx other than 101: more heads follow before the final response.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }
}

/// Why an upstream response head was refused (answered 502).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseError {
    /// httparse refused it, or a field made no sense.
    Malformed,
    /// More header bytes than we buffer.
    TooLarge,
}

/// Parse an upstream response head. `Ok(None)` means more bytes are needed.
/// `request_was_head` suppresses the body (RFC 9110 §9.3.2).
// HOT PATH: no alloc, no lock, no blocking call.
pub fn parse_response<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [MaybeUninit<httparse::Header<'b>>],
    request_was_head: bool,
    max_head: usize,
) -> Result<Option<ResponseHead<'h, 'b>>, ResponseError> {
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, buf, headers);
    let head_len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() >= max_head => {
            return Err(ResponseError::TooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(ResponseError::Malformed),
    };
    let (Some(status), Some(minor_version)) = (resp.code, resp.version) else {
        return Err(ResponseError::Malformed);
    };
    // RFC 9110 §15: status codes are 100..=599. httparse takes any three digits;
    // `000` would be relayed as `HTTP/1.1 0`, which no client can parse (found by
    // the request_head fuzz target).
    if !(100..=599).contains(&status) {
        return Err(ResponseError::Malformed);
    }
    let reason = resp.reason.unwrap_or("");
    let headers: &'h [httparse::Header<'b>] = resp.headers;
    let (content_length, chunked) = framing_fields(headers)?;
    let connection = ConnectionTokens::of(headers);
    // `Connection` naming a framing field would have forwarding strip it while the
    // body still follows: the client would frame the rest of the stream differently.
    if connection.names(b"content-length") || connection.names(b"transfer-encoding") {
        return Err(ResponseError::Malformed);
    }
    let body = body_kind(status, request_was_head, content_length, chunked);
    let keep = match minor_version {
        1 => !connection.names(b"close"),
        _ => connection.names(b"keep-alive"),
    };
    let reusable = keep && body != BodyKind::Close && status != 101;
    Ok(Some(ResponseHead {
        status,
        reason,
        minor_version,
        head_len,
        headers,
        connection,
        body,
        reusable,
    }))
}

/// The response's `Content-Length`, and whether `chunked` is its final transfer
/// coding (`None` without `Transfer-Encoding`).
// HOT PATH: no alloc, no lock, no blocking call.
#[inline]
fn framing_fields(
    headers: &[httparse::Header<'_>],
) -> Result<(Option<u64>, Option<bool>), ResponseError> {
    let mut content_length = None;
    let mut chunked = None;
    for h in headers {
        let name = h.name.as_bytes();
        if eq_ignore_case(name, b"content-length") {
            let n = parse_content_length(h.value).ok_or(ResponseError::Malformed)?;
            if content_length.is_some_and(|p| p != n) {
                return Err(ResponseError::Malformed);
            }
            content_length = Some(n);
        } else if eq_ignore_case(name, b"transfer-encoding") {
            // RFC 9112 §6.3 (4): chunked as the final coding frames the body; any
            // other final coding means the body runs to connection close.
            chunked = Some(
                list_items(h.value)
                    .last()
                    .is_some_and(|c| eq_ignore_case(c, b"chunked")),
            );
        }
    }
    // RFC 9112 §6.1: a sender must not send both; a proxy that let TE win would
    // hand the client a message a later hop may frame differently (response
    // splitting). Refused, as a request with both is.
    if chunked.is_some() && content_length.is_some() {
        return Err(ResponseError::Malformed);
    }
    Ok((content_length, chunked))
}

/// How the response body is framed.
#[inline]
fn body_kind(
    status: u16,
    request_was_head: bool,
    content_length: Option<u64>,
    chunked: Option<bool>,
) -> BodyKind {
    // RFC 9112 §6.3 (1)–(4): no body for HEAD, 1xx, 204, 304; then TE, then CL.
    if request_was_head || (100..200).contains(&status) || status == 204 || status == 304 {
        return BodyKind::None;
    }
    match (chunked, content_length) {
        (Some(true), _) => BodyKind::Chunked,
        (Some(false), _) => BodyKind::Close,
        (None, Some(0)) => BodyKind::None,
        (None, Some(n)) => BodyKind::Length(n),
        (None, None) => BodyKind::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::header_slots;

    fn parse(buf: &[u8], head: bool) -> Option<(u16, BodyKind, bool)> {
        let mut hs = header_slots::<MAX_RESPONSE_HEADERS>();
        parse_response(buf, &mut hs, head, 65536)
            .unwrap()
            .map(|r| (r.status, r.body, r.reusable))
    }

    #[test]
    fn framing_cases() {
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", false),
            Some((200, BodyKind::Length(5), true))
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", true),
            Some((200, BodyKind::None, true))
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false
            ),
            Some((200, BodyKind::Chunked, true))
        );
        assert_eq!(
            parse(b"HTTP/1.1 200 OK\r\n\r\n", false),
            Some((200, BodyKind::Close, false))
        );
        assert_eq!(
            parse(b"HTTP/1.1 204 No Content\r\n\r\n", false),
            Some((204, BodyKind::None, true))
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false
            ),
            Some((304, BodyKind::None, true))
        );
        assert_eq!(
            parse(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", false),
            Some((200, BodyKind::Length(1), false))
        );
        assert_eq!(
            parse(
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
                false
            ),
            Some((200, BodyKind::Length(1), false))
        );
        assert_eq!(
            parse(b"HTTP/1.1 100 Continue\r\n\r\n", false),
            Some((100, BodyKind::None, true))
        );
        assert_eq!(parse(b"HTTP/1.1 200 OK\r\nContent-Len", false), None);
    }

    #[test]
    fn malformed_is_refused() {
        let mut hs = header_slots::<MAX_RESPONSE_HEADERS>();
        assert!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                &mut hs,
                false,
                65536
            )
            .is_err()
        );
        let mut hs = header_slots::<MAX_RESPONSE_HEADERS>();
        assert!(parse_response(b"SMTP hello\r\n\r\n", &mut hs, false, 65536).is_err());
    }

    #[test]
    fn both_framings_or_connection_naming_framing_is_refused() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 000 OK\r\n\r\n",
            b"HTTP/1.1 099 OK\r\n\r\n",
            b"HTTP/1.1 600 OK\r\n\r\n",
        ] {
            let mut hs = header_slots::<MAX_RESPONSE_HEADERS>();
            assert_eq!(
                parse_response(bad, &mut hs, false, 65536).unwrap_err(),
                ResponseError::Malformed,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}

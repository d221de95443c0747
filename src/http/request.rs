//! Request head parsing with strict framing (RFC 9112 §2–§6): httparse does the
//! syntax, this module decides the body length, keep-alive and the smuggling checks.

use std::mem::MaybeUninit;

use super::headers::{
    ConnectionTokens, eq_ignore_case, list_items, parse_content_length, trim_ows,
};
use super::{BodyKind, HttpError};

/// Headers parsed per request at most; `server.limits.max_headers` may lower it.
pub const MAX_HEADERS: usize = 100;

/// A parsed request head, borrowing the connection buffer and the header array.
#[derive(Debug)]
pub struct RequestHead<'h, 'b> {
    /// Method token, e.g. `GET`.
    pub method: &'b str,
    /// Path part of the request-target as sent (not normalised), without the query.
    pub path: &'b [u8],
    /// Query string without `?` (empty when none).
    pub query: &'b [u8],
    /// Host without port: from the absolute-form target or the `Host` header.
    pub host: &'b [u8],
    /// The `Host` header value as sent (with port), empty when absent.
    pub host_header: &'b [u8],
    /// The `Host` the backend receives: the absolute-form target's authority when
    /// there is one (RFC 9112 §3.2.2), else the `Host` header (with port).
    pub forward_host: &'b [u8],
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Bytes of the head including the final CRLF.
    pub head_len: usize,
    /// The header fields in order.
    pub headers: &'h [httparse::Header<'b>],
    /// Tokens of its `Connection` headers (what forwarding must drop).
    pub connection: ConnectionTokens<'h, 'b>,
    /// How the body is framed.
    pub body: BodyKind,
    /// Whether the client wants the connection kept open after this exchange.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent.
    pub expect_continue: bool,
    /// `Connection: upgrade` with an `Upgrade` header offering `websocket`, the only
    /// protocol tunnelled.
    pub upgrade: bool,
    /// Whether a `Range` header is present.
    pub has_range: bool,
}

/// Limits that apply while parsing a head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Request line plus headers, in bytes.
    pub max_header_bytes: usize,
    /// Number of header fields.
    pub max_headers: usize,
    /// Largest body accepted; 0 = unlimited.
    pub max_body: u64,
}

/// Parse a request head from `buf`. `Ok(None)` means more bytes are needed.
// HOT PATH: no alloc, no lock, no blocking call.
pub fn parse_request<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [MaybeUninit<httparse::Header<'b>>],
    limits: &HeadLimits,
) -> Result<Option<RequestHead<'h, 'b>>, HttpError> {
    let Some((req, head_len)) = parse_syntax(buf, headers, limits)? else {
        return Ok(None);
    };
    let (Some(method), Some(target), Some(minor_version)) = (req.method, req.path, req.version)
    else {
        return Err(HttpError::BadRequest("bad_request_line"));
    };
    let headers: &'h [httparse::Header<'b>] = req.headers;
    let (authority, path, query) = split_target(target.as_bytes())?;
    let framing = Framing::scan(headers, minor_version)?;
    let (host_header, forward_host) = hosts(authority, framing.host, minor_version)?;
    let host = strip_port(forward_host);
    if let BodyKind::Length(n) = framing.body
        && limits.max_body > 0
        && n > limits.max_body
    {
        return Err(HttpError::BodyTooLarge);
    }
    let connection = ConnectionTokens::of(headers);
    // RFC 9110 §7.6.1: `Connection` names hop-by-hop fields, which a proxy removes.
    // Naming a framing field (or Host) would strip it from the forwarded head while
    // the body still follows: the backend would read that body as a request of its
    // own. Refused, like the other smuggling vectors.
    if connection_names_protected(&connection) {
        return Err(HttpError::BadRequest("connection_names_framing_header"));
    }
    let keep_alive = match minor_version {
        1 => !connection.names(b"close"),
        _ => connection.names(b"keep-alive"),
    };
    // Only WebSocket is tunnelled (SPEC §4): other upgrade tokens (h2c, ...) are
    // dropped with the Upgrade header and the request is served as plain HTTP/1.1.
    let upgrade = framing.websocket && connection.names(b"upgrade");
    Ok(Some(RequestHead {
        method,
        path,
        query,
        host,
        host_header,
        forward_host,
        minor_version,
        head_len,
        headers,
        connection,
        body: framing.body,
        keep_alive,
        expect_continue: framing.expect_continue && minor_version == 1,
        upgrade,
        has_range: framing.has_range,
    }))
}

/// The request line and header fields (httparse), within the limits, and the
/// head's length. `Ok(None)` means more bytes are needed.
// HOT PATH: no alloc, no lock, no blocking call.
#[inline]
fn parse_syntax<'h, 'b>(
    buf: &'b [u8],
    headers: &'h mut [MaybeUninit<httparse::Header<'b>>],
    limits: &HeadLimits,
) -> Result<Option<(httparse::Request<'h, 'b>, usize)>, HttpError> {
    let max_headers = limits.max_headers.min(headers.len());
    let mut req = httparse::Request::new(&mut []);
    let head_len = match req.parse_with_uninit_headers(buf, &mut headers[..max_headers]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            if buf.len() >= limits.max_header_bytes {
                return Err(too_large(buf, limits.max_header_bytes));
            }
            return Ok(None);
        }
        Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
        Err(_) => return Err(HttpError::BadRequest("bad_request")),
    };
    if head_len > limits.max_header_bytes {
        return Err(too_large(buf, limits.max_header_bytes));
    }
    Ok(Some((req, head_len)))
}

/// The `Host` header as sent (empty when absent) and the host the backend
/// receives, both checked.
// HOT PATH: no alloc, no lock, no blocking call.
#[inline]
fn hosts<'b>(
    authority: Option<&'b [u8]>,
    host: Option<&'b [u8]>,
    minor_version: u8,
) -> Result<(&'b [u8], &'b [u8]), HttpError> {
    let host_header = host.unwrap_or(b"");
    // RFC 9112 §3.2: an HTTP/1.1 request without exactly one Host is a 400.
    if minor_version == 1 && host.is_none() {
        return Err(HttpError::BadRequest("missing_host"));
    }
    // RFC 9112 §3.2 / RFC 9110 §7.2: a Host that is not `uri-host [":" port]` is a 400.
    if !valid_authority(host_header) {
        return Err(HttpError::BadRequest("invalid_host"));
    }
    // RFC 9112 §3.2.2: with an absolute-form target the authority is the host and
    // the `Host` field is replaced by it; one that disagrees is refused rather than
    // letting the router and the backend see two different hosts.
    let forward_host = match authority {
        Some(auth) => {
            if !valid_authority(auth) {
                return Err(HttpError::BadRequest("bad_target"));
            }
            if host.is_some() && !same_authority(auth, host_header) {
                return Err(HttpError::BadRequest("host_mismatch"));
            }
            auth
        }
        None => host_header,
    };
    Ok((host_header, forward_host))
}

/// 414 when the request line alone is over the limit, else 431.
fn too_large(buf: &[u8], limit: usize) -> HttpError {
    match buf.iter().position(|&b| b == b'\n') {
        Some(line_end) if line_end < limit => HttpError::HeaderTooLarge,
        _ => HttpError::UriTooLong,
    }
}

/// What the header scan learned about framing and routing-relevant headers.
struct Framing<'b> {
    body: BodyKind,
    host: Option<&'b [u8]>,
    expect_continue: bool,
    websocket: bool,
    has_range: bool,
}

impl<'b> Framing<'b> {
    fn scan(headers: &[httparse::Header<'b>], minor_version: u8) -> Result<Self, HttpError> {
        let mut content_length: Option<u64> = None;
        let mut transfer_encoding = 0u32;
        let mut chunked = false;
        let mut f = Framing {
            body: BodyKind::None,
            host: None,
            expect_continue: false,
            websocket: false,
            has_range: false,
        };
        for h in headers {
            let name = h.name.as_bytes();
            if eq_ignore_case(name, b"content-length") {
                // RFC 9112 §6.3 (5): differing or invalid Content-Length is unrecoverable.
                let n = parse_content_length(h.value)
                    .ok_or(HttpError::BadRequest("invalid_content_length"))?;
                if content_length.is_some_and(|prev| prev != n) {
                    return Err(HttpError::BadRequest("conflicting_content_length"));
                }
                content_length = Some(n);
            } else if eq_ignore_case(name, b"transfer-encoding") {
                // RFC 9112 §6.1: we accept exactly one coding, `chunked`; anything
                // else (identity, xchunked, "chunked, identity", repeats) is a 400.
                transfer_encoding += 1;
                let mut items = list_items(h.value);
                chunked = matches!((items.next(), items.next()), (Some(c), None) if eq_ignore_case(c, b"chunked"));
                if !chunked || transfer_encoding > 1 {
                    return Err(HttpError::BadRequest("bad_transfer_encoding"));
                }
            } else if eq_ignore_case(name, b"host") {
                // RFC 9112 §3.2: more than one Host field is a 400.
                if f.host.is_some() {
                    return Err(HttpError::BadRequest("duplicate_host"));
                }
                f.host = Some(trim_ows(h.value));
            } else if eq_ignore_case(name, b"expect") {
                f.expect_continue = eq_ignore_case(trim_ows(h.value), b"100-continue");
            } else if eq_ignore_case(name, b"upgrade") {
                f.websocket |= list_items(h.value).any(|p| eq_ignore_case(p, b"websocket"));
            } else if eq_ignore_case(name, b"range") {
                f.has_range = true;
            }
        }
        f.body = body_kind(content_length, chunked, minor_version)?;
        Ok(f)
    }
}

/// The body's framing from the request's `Content-Length` and whether it is
/// chunked.
#[inline]
fn body_kind(
    content_length: Option<u64>,
    chunked: bool,
    minor_version: u8,
) -> Result<BodyKind, HttpError> {
    Ok(match (content_length, chunked) {
        // RFC 9112 §6.1: a message with both CL and TE may be an attempt to
        // smuggle; we refuse it instead of letting TE win.
        (Some(_), true) => {
            return Err(HttpError::BadRequest(
                "content_length_with_transfer_encoding",
            ));
        }
        // RFC 9112 §6.1: TE in an HTTP/1.0 request is to be treated as faulty.
        (None, true) if minor_version == 0 => {
            return Err(HttpError::BadRequest("transfer_encoding_in_http10"));
        }
        (None, true) => BodyKind::Chunked,
        (Some(0), false) | (None, false) => BodyKind::None,
        (Some(n), false) => BodyKind::Length(n),
    })
}

/// Split a request-target into (authority, path, query). Origin-form and
/// absolute-form (`http://host/path`) are accepted (RFC 9112 §3.2); others are 400.
/// A request-target split into (authority, path, query).
type TargetParts<'a> = (Option<&'a [u8]>, &'a [u8], &'a [u8]);

fn split_target(target: &[u8]) -> Result<TargetParts<'_>, HttpError> {
    let (authority, rest) = if target.first() == Some(&b'/') {
        (None, target)
    } else if target.len() > 7 && target[..7].eq_ignore_ascii_case(b"http://") {
        let after = &target[7..];
        let end = after
            .iter()
            .position(|&b| b == b'/' || b == b'?')
            .unwrap_or(after.len());
        let (auth, rest) = after.split_at(end);
        if auth.is_empty() || auth.contains(&b'@') {
            return Err(HttpError::BadRequest("bad_target"));
        }
        (Some(auth), if rest.is_empty() { &b"/"[..] } else { rest })
    } else {
        return Err(HttpError::BadRequest("bad_target"));
    };
    let (path, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (&rest[..q], &rest[q + 1..]),
        None => (rest, &b""[..]),
    };
    if path.first() != Some(&b'/') {
        return Err(HttpError::BadRequest("bad_target"));
    }
    Ok((authority, path, query))
}

/// Fields a `Connection` header may not name: removing them as hop-by-hop would
/// change how the message is framed or where it goes.
fn connection_names_protected(connection: &ConnectionTokens<'_, '_>) -> bool {
    [&b"content-length"[..], b"transfer-encoding", b"host"]
        .iter()
        .any(|name| connection.names(name))
}

/// Whether `v` is `uri-host [":" port]` (RFC 3986 §3.2.2–3.2.3): a reg-name of
/// unreserved, percent-encoded and sub-delim characters, or a bracketed IP literal,
/// then an optional decimal port. Empty is valid (RFC 9112 §3.2).
fn valid_authority(v: &[u8]) -> bool {
    let (host, port) = if v.first() == Some(&b'[') {
        let Some(end) = v.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &v[1..end];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
        {
            return false;
        }
        match &v[end + 1..] {
            [] => return true,
            [b':', port @ ..] => (&b""[..], Some(port)),
            _ => return false,
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(c) => (&v[..c], Some(&v[c + 1..])),
            None => (v, None),
        }
    };
    let host_ok = host.iter().all(|&b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'%'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
            )
    });
    let port_ok = port.is_none_or(|p| p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    host_ok && port_ok
}

/// Whether an absolute-form authority and a `Host` value name the same host and
/// port (host case-insensitively; a missing port is 80, the `http` default).
fn same_authority(a: &[u8], b: &[u8]) -> bool {
    fn split(v: &[u8]) -> (&[u8], &[u8]) {
        let host = strip_port(v);
        let port = match &v[host.len()..] {
            [b':', p @ ..] if !p.is_empty() => p,
            _ => b"80",
        };
        let port = match port.iter().position(|&d| d != b'0') {
            Some(i) => &port[i..],
            None => b"0",
        };
        (host, port)
    }
    let ((ha, pa), (hb, pb)) = (split(a), split(b));
    ha.eq_ignore_ascii_case(hb) && pa == pb
}

/// Drop a `:port` suffix from a host (keeping IPv6 literals whole).
fn strip_port(host: &[u8]) -> &[u8] {
    if host.first() == Some(&b'[') {
        return match host.iter().position(|&b| b == b']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.iter().rposition(|&b| b == b':') {
        Some(c) => &host[..c],
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::header_slots;

    const LIMITS: HeadLimits = HeadLimits {
        max_header_bytes: 16384,
        max_headers: 100,
        max_body: 0,
    };

    fn parse(buf: &[u8]) -> Result<Option<(BodyKind, bool, usize)>, HttpError> {
        let mut hs = header_slots::<MAX_HEADERS>();
        parse_request(buf, &mut hs, &LIMITS).map(|o| o.map(|r| (r.body, r.keep_alive, r.head_len)))
    }

    #[test]
    fn complete_at_every_split_point() {
        let req = b"POST /a?b=1 HTTP/1.1\r\nHost: x.example:80\r\nContent-Length: 3\r\n\r\nabc";
        let head = req.len() - 3;
        for split in 0..head {
            assert!(matches!(parse(&req[..split]), Ok(None)), "split {split}");
        }
        assert_eq!(parse(req).unwrap(), Some((BodyKind::Length(3), true, head)));
    }

    #[test]
    fn fields_are_extracted() {
        let buf = b"GET http://Media.Example:8080/live/x.m3u8?q=1 HTTP/1.0\r\nHost: media.example:8080\r\nRange: bytes=0-1\r\nConnection: keep-alive\r\n\r\n";
        let mut hs = header_slots::<MAX_HEADERS>();
        let r = parse_request(buf, &mut hs, &LIMITS).unwrap().unwrap();
        assert_eq!(r.host, b"Media.Example");
        assert_eq!(r.path, b"/live/x.m3u8");
        assert_eq!(r.query, b"q=1");
        assert!(r.keep_alive && r.has_range);
        assert_eq!(r.minor_version, 0);
    }

    #[test]
    fn smuggling_vectors_are_400() {
        for bad in [
            &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"GET * HTTP/1.1\r\nHost: a\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        ] {
            assert!(
                matches!(parse(bad), Err(HttpError::BadRequest(_))),
                "{:?} -> {:?}",
                String::from_utf8_lossy(bad),
                parse(bad)
            );
        }
    }

    #[test]
    fn connection_naming_framing_or_host_is_400() {
        for bad in [
            &b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: content-length\r\nContent-Length: 35\r\n\r\n"[..],
            b"POST /a HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: HOST\r\n\r\n",
        ] {
            assert_eq!(
                parse(bad),
                Err(HttpError::BadRequest("connection_names_framing_header")),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn host_rules() {
        let ok = |buf: &[u8]| {
            let mut hs = header_slots::<MAX_HEADERS>();
            let r = parse_request(buf, &mut hs, &LIMITS).unwrap().unwrap();
            (r.host.to_vec(), r.forward_host.to_vec())
        };
        assert_eq!(
            ok(b"GET http://A.example:8080/x HTTP/1.1\r\nHost: a.EXAMPLE:8080\r\n\r\n"),
            (b"A.example".to_vec(), b"A.example:8080".to_vec())
        );
        assert_eq!(
            ok(b"GET http://a.example/x HTTP/1.1\r\nHost: a.example:80\r\n\r\n").1,
            b"a.example"
        );
        assert_eq!(
            ok(b"GET http://a.example/x HTTP/1.0\r\n\r\n").1,
            b"a.example"
        );
        assert_eq!(
            ok(b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n").0,
            b"[::1]"
        );
        for (bad, why) in [
            (
                &b"GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n"[..],
                "host_mismatch",
            ),
            (
                b"GET http://a.example:81/x HTTP/1.1\r\nHost: a.example\r\n\r\n",
                "host_mismatch",
            ),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "invalid_host"),
            (b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", "invalid_host"),
            (b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", "invalid_host"),
            (b"GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", "invalid_host"),
            (
                b"GET / HTTP/1.1\r\nHost: a:99999999\r\n\r\n",
                "invalid_host",
            ),
            (b"GET / HTTP/1.1\r\nHost: [zz]\r\n\r\n", "invalid_host"),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n",
                "duplicate_host",
            ),
        ] {
            assert_eq!(
                parse(bad),
                Err(HttpError::BadRequest(why)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn only_websocket_is_an_upgrade() {
        let upgrade = |buf: &[u8]| {
            let mut hs = header_slots::<MAX_HEADERS>();
            parse_request(buf, &mut hs, &LIMITS)
                .unwrap()
                .unwrap()
                .upgrade
        };
        assert!(upgrade(
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\r\n"
        ));
        assert!(!upgrade(
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n"
        ));
        assert!(!upgrade(
            b"GET / HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n\r\n"
        ));
    }

    #[test]
    fn chunked_and_identical_lengths_accepted() {
        let c = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n";
        assert_eq!(parse(c).unwrap().map(|r| r.0), Some(BodyKind::Chunked));
        let l = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n";
        assert_eq!(parse(l).unwrap().map(|r| r.0), Some(BodyKind::Length(4)));
    }

    #[test]
    fn limits() {
        let small = HeadLimits {
            max_header_bytes: 64,
            max_headers: 2,
            max_body: 10,
        };
        let mut hs = header_slots::<MAX_HEADERS>();
        let long_uri = [b'a'; 80];
        assert_eq!(
            parse_request(&long_uri, &mut hs, &small).unwrap_err(),
            HttpError::UriTooLong
        );
        let long_head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(
            parse_request(long_head, &mut hs, &small).unwrap_err(),
            HttpError::HeaderTooLarge
        );
        let many = b"GET / HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\n\r\n";
        assert_eq!(
            parse_request(many, &mut hs, &small).unwrap_err(),
            HttpError::TooManyHeaders
        );
        let body = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n";
        assert_eq!(
            parse_request(body, &mut hs, &small).unwrap_err(),
            HttpError::BodyTooLarge
        );
    }
}

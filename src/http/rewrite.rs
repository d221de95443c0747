//! Head rewriting in both directions: the request head sent upstream (normalised path,
//! hop-by-hop headers removed, X-Forwarded-* added) and the response head sent to the
//! client (hop-by-hop removed, connection disposition stated).

use super::headers::{eq_ignore_case, is_dropped_on_forward, push_decimal, push_header};
use super::request::RequestHead;
use super::response::ResponseHead;

/// Write the request head for the upstream into `out` (cleared first).
/// `path` is the normalised path that was routed; `client_ip` is the peer address
/// as text; `https` when the client came over TLS (`X-Forwarded-Proto: https`).
// HOT PATH: no alloc (out is reused), no lock, no blocking call.
pub fn write_upstream_request(
    out: &mut Vec<u8>,
    req: &RequestHead<'_, '_>,
    path: &[u8],
    client_ip: &[u8],
    https: bool,
) {
    out.clear();
    out.extend_from_slice(req.method.as_bytes());
    out.push(b' ');
    out.extend_from_slice(path);
    if !req.query.is_empty() {
        out.push(b'?');
        out.extend_from_slice(req.query);
    }
    out.extend_from_slice(b" HTTP/1.1\r\n");
    // RFC 9112 §3.2.2: the Host sent on is the target's authority when the client
    // used absolute form (the parser refused a disagreeing Host field), else the
    // client's Host field; one Host, first.
    push_header(out, b"Host", req.forward_host);
    let mut forwarded_for: Option<&[u8]> = None;
    for h in req.headers {
        let name = h.name.as_bytes();
        if is_dropped_on_forward(name, &req.connection)
            || eq_ignore_case(name, b"host")
            || eq_ignore_case(name, b"x-forwarded-proto")
            || eq_ignore_case(name, b"x-forwarded-host")
            || (req.expect_continue && eq_ignore_case(name, b"expect"))
        {
            continue;
        }
        if eq_ignore_case(name, b"x-forwarded-for") {
            // Several X-Forwarded-For fields: keep the last; proxies append to one.
            forwarded_for = Some(h.value);
            continue;
        }
        push_header(out, name, h.value);
    }
    out.extend_from_slice(b"X-Forwarded-For: ");
    if let Some(prev) = forwarded_for {
        out.extend_from_slice(prev);
        out.extend_from_slice(b", ");
    }
    out.extend_from_slice(client_ip);
    out.extend_from_slice(if https {
        b"\r\nX-Forwarded-Proto: https\r\n".as_slice()
    } else {
        b"\r\nX-Forwarded-Proto: http\r\n".as_slice()
    });
    if !req.forward_host.is_empty() {
        push_header(out, b"X-Forwarded-Host", req.forward_host);
    }
    if req.upgrade {
        // Only WebSocket is tunnelled: other offered protocols (h2c, ...) are not
        // passed on, so the backend cannot switch to them.
        out.extend_from_slice(b"Upgrade: websocket\r\nConnection: upgrade\r\n");
    } else if req.minor_version == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// How the client connection continues after this response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientDisposition {
    /// HTTP/1.1 keep-alive: nothing to say.
    KeepAlive,
    /// HTTP/1.0 keep-alive: must be stated.
    KeepAlive10,
    /// Close after the body: `Connection: close`.
    Close,
    /// 101 Switching Protocols: `Connection: upgrade`.
    Upgrade,
}

/// Write the response head for the client into `out` (cleared first). When
/// `dechunk` is set the body will be de-chunked for an HTTP/1.0 client, so
/// `Transfer-Encoding` is dropped.
// HOT PATH: no alloc (out is reused), no lock, no blocking call.
pub fn write_client_response(
    out: &mut Vec<u8>,
    resp: &ResponseHead<'_, '_>,
    disposition: ClientDisposition,
    dechunk: bool,
) {
    out.clear();
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(resp.status));
    out.push(b' ');
    out.extend_from_slice(resp.reason.as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in resp.headers {
        let name = h.name.as_bytes();
        if disposition == ClientDisposition::Upgrade && eq_ignore_case(name, b"upgrade") {
            push_header(out, name, h.value);
            continue;
        }
        if is_dropped_on_forward(name, &resp.connection)
            || (dechunk && eq_ignore_case(name, b"transfer-encoding"))
        {
            continue;
        }
        push_header(out, name, h.value);
    }
    out.extend_from_slice(match disposition {
        ClientDisposition::KeepAlive => b"\r\n".as_slice(),
        ClientDisposition::KeepAlive10 => b"Connection: keep-alive\r\n\r\n",
        ClientDisposition::Close => b"Connection: close\r\n\r\n",
        ClientDisposition::Upgrade => b"Connection: upgrade\r\n\r\n",
    });
}

#[cfg(test)]
mod tests {
    use super::super::request::{HeadLimits, MAX_HEADERS, parse_request};
    use super::super::response::{MAX_RESPONSE_HEADERS, parse_response};
    use super::*;
    use crate::http::header_slots;

    const LIMITS: HeadLimits = HeadLimits {
        max_header_bytes: 16384,
        max_headers: 100,
        max_body: 0,
    };

    #[test]
    fn request_rewrite_strips_hop_by_hop_and_adds_forwarded() {
        let buf = b"GET /a/../b?x=1 HTTP/1.1\r\nHost: media.example:8080\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Connection: x\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nAccept: */*\r\n\r\n";
        let mut hs = header_slots::<MAX_HEADERS>();
        let req = parse_request(buf, &mut hs, &LIMITS).unwrap().unwrap();
        let mut out = Vec::new();
        write_upstream_request(&mut out, &req, b"/b", b"127.0.0.1", false);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "GET /b?x=1 HTTP/1.1\r\nHost: media.example:8080\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: media.example:8080\r\n\r\n"
        );
    }

    #[test]
    fn response_rewrite() {
        let buf = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n";
        let mut hs = header_slots::<MAX_RESPONSE_HEADERS>();
        let resp = parse_response(buf, &mut hs, false, 65536).unwrap().unwrap();
        let mut out = Vec::new();
        write_client_response(&mut out, &resp, ClientDisposition::KeepAlive, false);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n"
        );
        write_client_response(&mut out, &resp, ClientDisposition::Close, true);
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n"
        );
    }
}

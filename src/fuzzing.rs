//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the seed-corpus test
//! (`tests/fuzz_corpus.rs`): each feeds arbitrary bytes to one parser and checks its
//! invariants. Nothing here panics except the `assert!`s that state those invariants.

mod tls_handoff;

pub use tls_handoff::tls_handoff;

use crate::config::Config;
use crate::http::BodyKind;
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::http::header_slots;
use crate::http::headers::{connection_has, eq_ignore_case, parse_content_length};
use crate::http::path::normalize_path;
use crate::http::request::{HeadLimits, MAX_HEADERS, RequestHead, parse_request};
use crate::http::response::{MAX_RESPONSE_HEADERS, parse_response};
use crate::http::rewrite::{ClientDisposition, write_client_response, write_upstream_request};
use crate::router::{Classifier, RequestView};

/// What sluice is configured with while fuzzing: the defaults' shape, a 1 MiB body cap.
const LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 16384,
    max_headers: 100,
    max_body: 1 << 20,
};

/// A backend is more lenient than sluice: it must read whatever sluice forwards.
const BACKEND_LIMITS: HeadLimits = HeadLimits {
    max_header_bytes: 1 << 24,
    max_headers: BACKEND_HEADERS,
    max_body: 0,
};

/// Header slots of the backend's parse: sluice accepts up to `LIMITS.max_headers`
/// and the rewrite adds a handful (Host, X-Forwarded-*, Upgrade, Connection).
const BACKEND_HEADERS: usize = 256;

/// The peer address sluice writes into `X-Forwarded-For`.
const CLIENT_IP: &[u8] = b"127.0.0.1";

/// Header names a `Connection` header may not name in a message sluice accepts: it
/// would drop them as hop-by-hop while still forwarding the body (issue 10, item 1).
const PROTECTED: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"host"];

/// A request that parsed never has a `Connection` header naming a framing field or
/// `Host`, checked on the raw headers (not through the parser's own token list).
fn assert_no_protected_connection_tokens(headers: &[httparse::Header<'_>]) {
    for name in PROTECTED {
        assert!(
            !connection_has(headers, name),
            "a head whose Connection names {} parsed",
            String::from_utf8_lossy(name)
        );
    }
}

/// Request head parsing, framing checks and head rewriting; a head that parses at
/// all must parse identically when split at any point (here: in half), and its
/// rewritten head must parse back, as a backend would, to the same framing and the
/// same forwarded `Host`, ending exactly where sluice's head ended. Then the same
/// bytes as an upstream response head: one that parses has one framing, and the head
/// sent to the client frames the body the same way. A trailing `H` in the input
/// stands for a response to `HEAD`.
pub fn request_head(data: &[u8]) {
    let mut headers = header_slots::<MAX_HEADERS>();
    let full = parse_request(data, &mut headers, &LIMITS);
    if let Ok(Some(head)) = &full {
        assert!(head.head_len <= data.len());
        assert_no_protected_connection_tokens(head.headers);
        let mut out = Vec::new();
        let mut path = Vec::new();
        if normalize_path(head.path, &mut path).is_ok() {
            write_upstream_request(&mut out, head, &path, CLIENT_IP, false);
            // The rewritten head is itself a valid request head with the same framing.
            let mut again = header_slots::<BACKEND_HEADERS>();
            let reparsed = parse_request(&out, &mut again, &BACKEND_LIMITS);
            let Ok(Some(r)) = reparsed else {
                panic!("forwarded head does not parse: {reparsed:?}");
            };
            assert_eq!(r.head_len, out.len(), "forwarded head ends early");
            assert_eq!(r.body, head.body);
            assert_eq!(r.forward_host, head.forward_host);
        }
        let half = &data[..head.head_len / 2];
        let mut h2 = header_slots::<MAX_HEADERS>();
        assert!(matches!(
            parse_request(half, &mut h2, &LIMITS),
            Ok(None) | Err(_)
        ));
    }
    response_head(data);
}

/// The response half of `request_head`.
fn response_head(data: &[u8]) {
    let was_head = data.last() == Some(&b'H');
    let mut rh = header_slots::<MAX_RESPONSE_HEADERS>();
    let Ok(Some(resp)) = parse_response(data, &mut rh, was_head, 65536) else {
        return;
    };
    assert!(resp.head_len <= data.len());
    // Issue 10, item 10: never both framings, never a Connection naming one.
    let has = |name: &[u8]| {
        resp.headers
            .iter()
            .any(|h| eq_ignore_case(h.name.as_bytes(), name))
    };
    assert!(!(has(b"content-length") && has(b"transfer-encoding")));
    for name in [&b"content-length"[..], b"transfer-encoding"] {
        assert!(!connection_has(resp.headers, name));
    }
    let disposition = if resp.status == 101 {
        ClientDisposition::Upgrade
    } else if resp.reusable {
        ClientDisposition::KeepAlive
    } else {
        ClientDisposition::Close
    };
    let mut out = Vec::new();
    write_client_response(&mut out, &resp, disposition, false);
    let mut again = header_slots::<BACKEND_HEADERS>();
    let reparsed = parse_response(&out, &mut again, was_head, 1 << 24);
    let Ok(Some(r)) = reparsed else {
        panic!("head sent to the client does not parse: {reparsed:?}");
    };
    assert_eq!(r.head_len, out.len(), "client head ends early");
    assert_eq!(r.status, resp.status);
    assert_eq!(r.body, resp.body);
}

/// The body sluice forwards after `head`, taken from `rest` (the bytes after the head)
/// exactly as the proxy relays it: Content-Length, the next `n` bytes verbatim;
/// chunked, the bytes a `max_body`-limited `ChunkedDecoder` accepts, verbatim, up to
/// where it says the body ends. Also returns the decoded body. `None` when the body
/// is not all in `rest`, or is refused.
fn forwarded_body<'a>(head: &RequestHead<'_, '_>, rest: &'a [u8]) -> Option<(&'a [u8], Vec<u8>)> {
    match head.body {
        BodyKind::None => Some((&[], Vec::new())),
        BodyKind::Length(n) => {
            assert!(LIMITS.max_body == 0 || n <= LIMITS.max_body);
            let n = usize::try_from(n).ok()?;
            let body = rest.get(..n)?;
            Some((body, body.to_vec()))
        }
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::with_limit(LIMITS.max_body);
            let mut decoded = Vec::new();
            let fed = decoder.feed(rest, |r| decoded.extend_from_slice(&rest[r]));
            // Whatever the verdict, no more data than the limit was accepted.
            assert!(decoded.len() as u64 <= LIMITS.max_body);
            match fed {
                Ok(used) if decoder.is_done() => {
                    assert_eq!(decoder.data_len(), decoded.len() as u64);
                    Some((&rest[..used], decoded))
                }
                _ => None,
            }
        }
        BodyKind::Close => panic!("a request body framed by connection close"),
    }
}

/// Differential check of what sluice forwards (issue 10: "for any input that parses,
/// what sluice forwards re-parses to the same method, target, framing and body").
/// For an input that parses as a request head, whose path normalises and whose body
/// is all there and valid, build the forwarded bytes (rewritten head, then the body as
/// relayed) and parse them as a backend would. The backend must see one request, with
/// the same method, normalised path and query, framing, decoded body and forwarded
/// `Host`, ending exactly at the end of the forwarded bytes: nothing is left over to
/// be read as a second, smuggled request.
pub fn forward(data: &[u8]) {
    forward_checked(data);
}

/// `forward`, telling whether the input got as far as the backend's side (for the
/// unit tests: seeds that are meant to reach the comparison do).
fn forward_checked(data: &[u8]) -> bool {
    let mut headers = header_slots::<MAX_HEADERS>();
    let Ok(Some(head)) = parse_request(data, &mut headers, &LIMITS) else {
        return false;
    };
    assert_no_protected_connection_tokens(head.headers);
    let mut path = Vec::new();
    if normalize_path(head.path, &mut path).is_err() {
        return false;
    }
    let Some((body, decoded)) = forwarded_body(&head, &data[head.head_len..]) else {
        return false;
    };
    let mut sent = Vec::new();
    write_upstream_request(&mut sent, &head, &path, CLIENT_IP, false);
    let sent_head_len = sent.len();
    sent.extend_from_slice(body);

    // The backend's side.
    let mut again = header_slots::<BACKEND_HEADERS>();
    let parsed = parse_request(&sent, &mut again, &BACKEND_LIMITS);
    let Ok(Some(b)) = parsed else {
        panic!("the backend cannot parse what sluice forwards: {parsed:?}");
    };
    assert_eq!(b.head_len, sent_head_len, "forwarded head ends elsewhere");
    assert_backend_sees_the_same_head(&head, &b, &path);
    let b_rest = &sent[b.head_len..];
    let b_decoded = backend_body(&b, b_rest);
    assert!(
        b.body != BodyKind::None || b_rest.is_empty(),
        "bytes after a forwarded request without body"
    );
    assert_eq!(b_decoded, decoded, "the backend reads a different body");
    true
}

/// What the backend parses (`b`) is the request sluice parsed (`head`), with the
/// normalised `path`: method, target, framing, forwarded Host, upgrade, and the
/// framing headers unchanged and not named by `Connection`.
fn assert_backend_sees_the_same_head(
    head: &RequestHead<'_, '_>,
    b: &RequestHead<'_, '_>,
    path: &[u8],
) {
    assert_eq!(b.method, head.method);
    assert_eq!(b.path, path);
    assert_eq!(b.query, head.query);
    let mut b_path = Vec::new();
    assert!(normalize_path(b.path, &mut b_path).is_ok());
    assert_eq!(b_path, path, "the backend would route a different path");
    assert_eq!(b.body, head.body, "framing changed");
    assert_eq!(b.host_header, head.forward_host);
    assert_eq!(b.forward_host, head.forward_host);
    assert_eq!(b.upgrade, head.upgrade, "upgrade changed");
    if !head.upgrade {
        // Only websocket is tunnelled: no other offer reaches the backend.
        assert!(
            !b.headers
                .iter()
                .any(|h| eq_ignore_case(h.name.as_bytes(), b"upgrade"))
        );
    }
    // The framing headers pass unchanged, and are not named by Connection.
    assert_no_protected_connection_tokens(b.headers);
    let lengths = |hs: &[httparse::Header<'_>]| -> Vec<Option<u64>> {
        hs.iter()
            .filter(|h| eq_ignore_case(h.name.as_bytes(), b"content-length"))
            .map(|h| parse_content_length(h.value))
            .collect()
    };
    assert_eq!(lengths(b.headers), lengths(head.headers));
}

/// The body the backend reads from `rest`, the bytes after the forwarded head
/// `b`; all of them belong to it.
fn backend_body(b: &RequestHead<'_, '_>, rest: &[u8]) -> Vec<u8> {
    match b.body {
        BodyKind::None => Vec::new(),
        BodyKind::Length(n) => {
            assert_eq!(rest.len() as u64, n, "bytes after the forwarded body");
            rest.to_vec()
        }
        BodyKind::Chunked => {
            let mut decoder = ChunkedDecoder::new();
            let mut out = Vec::new();
            let fed = decoder.feed(rest, |r| out.extend_from_slice(&rest[r]));
            assert_eq!(fed, Ok(rest.len()), "bytes after the forwarded body");
            assert!(decoder.is_done(), "forwarded chunked body unfinished");
            out
        }
        BodyKind::Close => panic!("a forwarded request framed by connection close"),
    }
}

/// One run of the chunked decoder over `data`, whole or split at `split` (the part
/// after `split` is fed only if the body has not ended before it).
struct ChunkRun {
    verdict: Result<usize, ChunkError>,
    data: Vec<u8>,
    done: bool,
    announced: u64,
}

fn chunk_run(data: &[u8], split: usize, limit: u64) -> ChunkRun {
    let mut decoder = ChunkedDecoder::with_limit(limit);
    let mut decoded = Vec::new();
    let mut used = 0;
    let mut verdict = Ok(0);
    for part in [&data[..split], &data[split..]] {
        match decoder.feed(part, |r| decoded.extend_from_slice(&part[r])) {
            Ok(n) => used += n,
            Err(e) => {
                verdict = Err(e);
                break;
            }
        }
        verdict = Ok(used);
        if decoder.is_done() {
            break;
        }
    }
    ChunkRun {
        verdict,
        data: decoded,
        done: decoder.is_done(),
        announced: decoder.data_len(),
    }
}

/// The chunked decoder: the same verdict and data whether fed whole or split, with
/// and without a data limit (here a quarter of the input, so it is reachable); a
/// limited decoder never accepts more data than its limit, refuses with `TooLarge`
/// exactly when the unlimited one announces more, and otherwise agrees with it.
/// A finished body delivered all the data it announced.
pub fn chunked(data: &[u8]) {
    let split = data.len() / 3;
    let limit = (data.len() / 4) as u64 + 1;
    let mut runs = Vec::with_capacity(2);
    for max in [0, limit] {
        let whole = chunk_run(data, data.len(), max);
        let parts = chunk_run(data, split, max);
        assert_eq!(whole.verdict, parts.verdict);
        assert_eq!(whole.data, parts.data);
        assert_eq!(whole.done, parts.done);
        assert_eq!(whole.announced, parts.announced);
        if max > 0 {
            assert!(whole.data.len() as u64 <= max, "accepted past the limit");
        }
        assert!(whole.announced >= whole.data.len() as u64);
        if whole.done {
            assert_eq!(whole.announced, whole.data.len() as u64);
        }
        runs.push(whole);
    }
    let (free, limited) = (&runs[0], &runs[1]);
    assert_eq!(
        limited.verdict == Err(ChunkError::TooLarge),
        free.announced > limit,
        "TooLarge without the data over the limit, or the other way round"
    );
    if limited.verdict != Err(ChunkError::TooLarge) {
        assert_eq!(limited.verdict, free.verdict);
        assert_eq!(limited.data, free.data);
        assert_eq!(limited.done, free.done);
    }
}

/// Path normalisation: idempotent, never climbs, never leaves dot segments.
pub fn path(data: &[u8]) {
    let mut out = Vec::new();
    if normalize_path(data, &mut out).is_ok() {
        assert!(out.starts_with(b"/"));
        let mut again = Vec::new();
        assert!(normalize_path(&out, &mut again).is_ok());
        assert_eq!(out, again);
        assert!(
            !out.split(|&b| b == b'/')
                .any(|seg| seg == b".." || seg == b".")
        );
    }
}

/// The router on arbitrary requests: classification never panics.
pub fn router(data: &[u8]) {
    thread_local! {
        static CLASSIFIER: Option<Classifier> = Config::from_toml_str(ROUTER_CONFIG).ok().map(|c| Classifier::compile(&c));
    }
    let mut headers = header_slots::<MAX_HEADERS>();
    let Ok(Some(head)) = parse_request(data, &mut headers, &LIMITS) else {
        return;
    };
    let mut path = Vec::new();
    if normalize_path(head.path, &mut path).is_err() {
        return;
    }
    let view = RequestView {
        method: head.method.as_bytes(),
        host: head.host,
        path: &path,
        query: head.query,
        headers: head.headers,
        has_range: head.has_range,
        tls: false,
        sni: b"",
    };
    CLASSIFIER.with(|c| {
        if let Some(c) = c {
            let _ = c.classify(&view);
        }
    });
}

const ROUTER_CONFIG: &str = r#"
[[pool]]
name = "a"
servers = ["127.0.0.1:1"]
[[pool]]
name = "b"
servers = ["127.0.0.1:2"]
[[route]]
name = "live"
pool = "a"
[route.match]
preset = "hls"
host = "*.example.com"
[[route]]
name = "vod"
pool = "b"
[route.match]
preset = "range_download"
path_regex = "^/vod/[a-z0-9/-]+$"
cookie = { name = "plan", regex = "^p" }
[[route]]
name = "q"
pool = "a"
[route.match]
query = [{ name = "quality", value = "4k" }, { name = "x", present = true }]
header = { name = "x-tier", value = "gold" }
user_agent = "(?i)exo"
methods = ["GET", "HEAD"]
path_suffix = [".json", ".m3u8"]
[default]
pool = "b"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_reaches_the_backend_side() {
        for req in [
            &b"GET /a/../b?x=1 HTTP/1.1\r\nHost: t\r\n\r\n"[..],
            b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 35\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /next HTTP/1.1\r\n",
            b"GET http://a.example:8080/x HTTP/1.1\r\nHost: A.example:8080\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n",
            b"POST /a HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
        ] {
            assert!(forward_checked(req), "{}", String::from_utf8_lossy(req));
        }
        for stop in [
            // Body not all there, refused head, refused path, refused chunked body.
            &b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nabc"[..],
            b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: content-length\r\nContent-Length: 3\r\n\r\nabc",
            b"GET /../a HTTP/1.1\r\nHost: t\r\n\r\n",
            b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r",
            b"POST /a HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n",
        ] {
            assert!(!forward_checked(stop), "{}", String::from_utf8_lossy(stop));
        }
    }
}

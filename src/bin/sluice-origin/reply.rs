//! Building an origin's answer for a request (kinds api, live, vod) and writing it
//! with the framing a test asks for.

use std::io::{self, Write};
use std::net::TcpStream;

use crate::content::{PERIOD, RangeReq, parse_range, vod_size};
use crate::request::Request;
use sluice::json::string;

/// Which behaviour a listener has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Api,
    Live,
    Vod,
}

/// A response body.
pub enum Body {
    Bytes(Vec<u8>),
    /// `len` content bytes starting at content offset `start`.
    Content {
        start: u64,
        len: u64,
    },
}

impl Body {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Content { len, .. } => *len,
        }
    }
}

/// A response to write.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Body,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: Body) -> Reply {
        Reply {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
        }
    }

    pub fn text(status: u16, text: &str) -> Reply {
        Reply::new(status, "text/plain", Body::Bytes(text.as_bytes().to_vec()))
    }
}

/// The answer of a listener of `kind` named `name`.
pub fn answer(kind: Kind, name: &str, req: &Request, seg_size: u64) -> Reply {
    let path = req.path();
    if path == "/healthz" {
        return Reply::text(200, "ok");
    }
    if path == "/echo-body" {
        return Reply::new(
            200,
            "application/octet-stream",
            Body::Bytes(req.body.clone()),
        );
    }
    match kind {
        Kind::Api => {
            if let Some(n) = req
                .header("x-origin-body-size")
                .and_then(|v| v.trim().parse().ok())
            {
                return Reply::new(
                    200,
                    "application/octet-stream",
                    Body::Content { start: 0, len: n },
                );
            }
            let headers: Vec<String> = req
                .headers
                .iter()
                .map(|(k, v)| format!("[{},{}]", string(k), string(v)))
                .collect();
            let json = format!(
                "{{\"origin\":{},\"method\":{},\"path\":{},\"headers\":[{}],\"body_len\":{}}}",
                string(name),
                string(&req.method),
                string(&req.target),
                headers.join(","),
                req.body.len()
            );
            Reply::new(200, "application/json", Body::Bytes(json.into_bytes()))
        }
        Kind::Live => live(path, seg_size),
        Kind::Vod => vod(path, req),
    }
}

fn live(path: &str, seg_size: u64) -> Reply {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let ["live", channel, file] = parts.as_slice() else {
        return Reply::text(404, "not found");
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let seq = now / 2;
    if *file == "index.m3u8" {
        let mut p = format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{seq}\n"
        );
        for n in seq..seq + 6 {
            p.push_str(&format!("#EXTINF:2.000,\nseg{n}.ts\n"));
        }
        return Reply::new(
            200,
            "application/vnd.apple.mpegurl",
            Body::Bytes(p.into_bytes()),
        );
    }
    if *file == "manifest.mpd" {
        let mpd = format!(
            "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"dynamic\" minimumUpdatePeriod=\"PT2S\" profiles=\"urn:mpeg:dash:profile:isoff-live:2011\"><Period id=\"{channel}\"><AdaptationSet mimeType=\"video/mp4\"><SegmentTemplate media=\"seg$Number$.m4s\" duration=\"2\" startNumber=\"{seq}\"/><Representation id=\"v\" bandwidth=\"2000000\"/></AdaptationSet></Period></MPD>\n"
        );
        return Reply::new(200, "application/dash+xml", Body::Bytes(mpd.into_bytes()));
    }
    let is_segment = file
        .strip_prefix("seg")
        .and_then(|r| r.split('.').next())
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ext = file.rsplit('.').next().unwrap_or("");
    if is_segment && ["ts", "m4s", "aac"].contains(&ext) {
        let ctype = if ext == "ts" {
            "video/mp2t"
        } else {
            "video/iso.segment"
        };
        return Reply::new(
            200,
            ctype,
            Body::Content {
                start: 0,
                len: seg_size,
            },
        );
    }
    Reply::text(404, "not found")
}

fn vod(path: &str, req: &Request) -> Reply {
    if !path.starts_with("/vod/") {
        return Reply::text(404, "not found");
    }
    let total = vod_size(path);
    let mut reply = match req
        .header("range")
        .map(|r| parse_range(r, total))
        .unwrap_or(RangeReq::Whole)
    {
        RangeReq::Whole => Reply::new(
            200,
            "video/mp4",
            Body::Content {
                start: 0,
                len: total,
            },
        ),
        RangeReq::Part(s, e) => {
            let mut r = Reply::new(
                206,
                "video/mp4",
                Body::Content {
                    start: s,
                    len: e - s + 1,
                },
            );
            r.headers
                .push(("Content-Range", format!("bytes {s}-{e}/{total}")));
            r
        }
        RangeReq::Unsatisfiable => {
            let mut r = Reply::text(416, "range not satisfiable");
            r.headers
                .push(("Content-Range", format!("bytes */{total}")));
            r
        }
    };
    reply.headers.push(("Accept-Ranges", "bytes".into()));
    reply
}

/// How the body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Length,
    Chunked,
    Close,
}

/// How a reply goes on the wire.
pub struct Wire<'a> {
    /// How the body is delimited.
    pub framing: Framing,
    /// A HEAD request: the head only.
    pub head_only: bool,
    /// The connection stays open after this reply.
    pub keep: bool,
    /// Headers added to the reply's own.
    pub extra: &'a [(&'static str, String)],
    /// The content block bodies are cut from.
    pub block: &'a [u8],
    /// Cut the body after this many bytes (reset-mid-body).
    pub stop_after: Option<u64>,
}

/// Write `reply` as `wire` says.
pub fn write_reply(s: &mut TcpStream, reply: &Reply, wire: &Wire<'_>) -> io::Result<()> {
    let no_body = reply.status == 204 || reply.status == 304 || (100..200).contains(&reply.status);
    let head = reply_head(reply, wire.framing, no_body, wire.keep, wire.extra);
    if wire.head_only || no_body {
        return s.write_all(head.as_bytes());
    }
    let bytes = head.into_bytes();
    write_body(s, bytes, reply, wire.framing, wire.block, wire.stop_after)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn reply_head(
    reply: &Reply,
    framing: Framing,
    no_body: bool,
    keep: bool,
    extra: &[(&'static str, String)],
) -> String {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nServer: sluice-origin\r\n",
        reply.status,
        reason(reply.status)
    );
    for (k, v) in reply.headers.iter().chain(extra.iter()) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !no_body {
        match framing {
            Framing::Length => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
            Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
            Framing::Close => {}
        }
    }
    if !keep || framing == Framing::Close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    head
}

/// Write `out` (the head) and the body after it, in pieces; chunked framing uses
/// one chunk per piece plus one small chunk with an extension at the start.
fn write_body(
    s: &mut TcpStream,
    mut out: Vec<u8>,
    reply: &Reply,
    framing: Framing,
    block: &[u8],
    stop_after: Option<u64>,
) -> io::Result<()> {
    let limit = stop_after.unwrap_or(u64::MAX).min(reply.body.len());
    let mut sent = 0u64;
    let mut first = true;
    while sent < limit {
        let piece = if first && framing == Framing::Chunked {
            5.min(limit - sent)
        } else {
            (limit - sent).min(256 * 1024)
        };
        let bytes = body_bytes(&reply.body, sent, piece, block);
        if framing == Framing::Chunked {
            out.extend_from_slice(
                format!("{:x}{}\r\n", bytes.len(), if first { ";ext=1" } else { "" }).as_bytes(),
            );
            out.extend_from_slice(&bytes);
            out.extend_from_slice(b"\r\n");
        } else {
            out.extend_from_slice(&bytes);
        }
        first = false;
        sent += piece;
        s.write_all(&out)?;
        out.clear();
    }
    if framing == Framing::Chunked && stop_after.is_none() {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    s.write_all(&out)
}

/// Bytes `sent..sent + piece` of `body`.
fn body_bytes(body: &Body, sent: u64, piece: u64, block: &[u8]) -> Vec<u8> {
    match body {
        Body::Bytes(b) => b[sent as usize..(sent + piece) as usize].to_vec(),
        Body::Content { start, .. } => {
            let mut v = Vec::with_capacity(piece as usize);
            let mut off = start + sent;
            let mut left = piece as usize;
            while left > 0 {
                let at = (off % PERIOD as u64) as usize;
                let take = left.min(PERIOD - at);
                v.extend_from_slice(&block[at..at + take]);
                off += take as u64;
                left -= take;
            }
            v
        }
    }
}

//! A strict little HTTP/1.1 client over std sockets, for asserting exact behaviour,
//! and the assertions tests make on its responses.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub head: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// A header holding a number (`x-origin-req`, `x-origin-conn`, ...); panics
    /// showing the head when it is missing or not a number.
    #[track_caller]
    pub fn header_num(&self, name: &str) -> u64 {
        self.header(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric {name} in:\n{}", self.head))
    }

    /// The origin that answered (sluice-origin's `x-origin`), or `<none>`.
    pub fn origin(&self) -> &str {
        self.header("x-origin").unwrap_or("<none>")
    }

    /// sluice's reason for an answer of its own (`x-sluice-error`).
    pub fn error(&self) -> Option<&str> {
        self.header("x-sluice-error")
    }
}

/// Assert an answer of sluice's own: its status and `x-sluice-error` reason.
#[track_caller]
pub fn assert_status(r: &Response, status: u16, error: &str) {
    assert_eq!(
        (r.status, r.error()),
        (status, Some(error)),
        "answer:\n{}{}",
        r.head,
        r.text()
    );
}

/// A client connection with a read buffer (so pipelined answers can be read in turn),
/// over a plain socket or any other byte stream (a TLS client, `Conn::over`).
pub struct Conn<S = TcpStream> {
    pub stream: S,
    buf: Vec<u8>,
}

impl<S: Read + Write> Conn<S> {
    /// A connection over an established stream (e.g. a TLS client).
    pub fn over(stream: S) -> Conn<S> {
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Send `GET path` (keep-alive) with `Host: host` and read the answer.
    pub fn get(&mut self, host: &str, path: &str) -> Option<Response> {
        self.send(format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        self.read_response(false)
    }
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok();
        stream.set_nodelay(true).ok();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// Whether the server closed the connection (EOF within the read timeout).
    pub fn is_closed(&mut self) -> bool {
        self.stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .ok();
        let closed = self.buf.is_empty() && !self.fill();
        self.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .ok();
        closed
    }
}

impl<S: Read + Write> Conn<S> {
    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("send");
        self.stream.flush().expect("flush");
    }

    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Read one response; `head_request` means no body follows.
    pub fn read_response(&mut self, head_request: bool) -> Option<Response> {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return None;
            }
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end);
        let mut lines = head.split("\r\n");
        let status_line = lines.next()?;
        let status: u16 = status_line.split(' ').nth(1)?.parse().ok()?;
        let headers: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                l.split_once(':')
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            })
            .collect();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        let mut resp = Response {
            status,
            head,
            headers: headers.clone(),
            body: Vec::new(),
        };
        if (100..200).contains(&status) {
            return Some(resp);
        }
        if head_request || status == 204 || status == 304 {
            return Some(resp);
        }
        if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
            resp.body = self.read_chunked()?;
        } else if let Some(len) = get("content-length") {
            let len: usize = len.parse().ok()?;
            while self.buf.len() < len {
                if !self.fill() {
                    return None;
                }
            }
            resp.body = self.buf.drain(..len).collect();
        } else {
            while self.fill() {}
            resp.body = std::mem::take(&mut self.buf);
        }
        Some(resp)
    }

    fn read_chunked(&mut self) -> Option<Vec<u8>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                if !self.fill() {
                    return None;
                }
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            self.buf.drain(..line_end + 2);
            if size == 0 {
                // Trailer section: lines until an empty one.
                loop {
                    let end = loop {
                        if let Some(i) = find(&self.buf, b"\r\n") {
                            break i;
                        }
                        if !self.fill() {
                            return None;
                        }
                    };
                    self.buf.drain(..end + 2);
                    if end == 0 {
                        return Some(body);
                    }
                }
            }
            while self.buf.len() < size + 2 {
                if !self.fill() {
                    return None;
                }
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Send raw `bytes` on a fresh connection: the status answered and whether sluice
/// then closed the connection.
pub fn exchange(addr: SocketAddr, bytes: &[u8]) -> (u16, bool) {
    let mut c = Conn::open(addr);
    c.send(bytes);
    let r = c.read_response(false).expect("an answer");
    (r.status, c.is_closed())
}

/// One request on a fresh connection.
pub fn request(addr: SocketAddr, raw: &str) -> Response {
    let mut c = Conn::open(addr);
    c.send(raw.as_bytes());
    c.read_response(raw.starts_with("HEAD "))
        .unwrap_or_else(|| panic!("no response to {raw:?}"))
}

/// `GET path` with Host `h`, on a fresh connection.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    request(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n\r\n"),
    )
}

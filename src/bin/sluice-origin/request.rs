//! Reading requests off a blocking socket: head (httparse), then the body by
//! Content-Length or chunked, honouring `Expect: 100-continue`.

use std::io::{self, Read, Write};
use std::net::TcpStream;

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// A request, owned.
pub struct Request {
    pub method: String,
    pub target: String,
    pub minor: u8,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// First header value by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Path without the query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    /// Whether the client wants the connection kept.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        if self.minor == 0 {
            conn.contains("keep-alive")
        } else {
            !conn.contains("close")
        }
    }
}

/// Outcome of reading one request.
pub enum ReadOutcome {
    Request(Request),
    /// Clean EOF between requests.
    Closed,
    /// Garbage: answer 400 and close.
    Bad,
}

/// A connection's read side with its buffer (pipelined bytes stay for the next call).
pub struct Reader {
    pub buf: Vec<u8>,
}

impl Reader {
    pub fn new() -> Reader {
        Reader {
            buf: Vec::with_capacity(8192),
        }
    }

    fn fill(&mut self, s: &mut TcpStream) -> io::Result<usize> {
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk)?;
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Read the next request.
    pub fn next(&mut self, s: &mut TcpStream) -> io::Result<ReadOutcome> {
        let mut req = match self.read_head(s)? {
            ReadOutcome::Request(req) => req,
            other => return Ok(other),
        };
        let chunked = req
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let length: Option<usize> = match req.header("content-length") {
            Some(v) => match v.trim().parse() {
                Ok(n) => Some(n),
                Err(_) => return Ok(ReadOutcome::Bad),
            },
            None => None,
        };
        let has_body = chunked || length.unwrap_or(0) > 0;
        if has_body
            && req
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
            && self.buf.is_empty()
        {
            s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        }
        if chunked {
            match self.read_chunked(s)? {
                Some(body) => req.body = body,
                None => return Ok(ReadOutcome::Bad),
            }
        } else if let Some(n) = length {
            while self.buf.len() < n {
                if self.fill(s)? == 0 {
                    return Ok(ReadOutcome::Bad);
                }
            }
            req.body = self.buf.drain(..n).collect();
        }
        Ok(ReadOutcome::Request(req))
    }

    /// Read until the buffer holds a whole head, and take it off the buffer.
    fn read_head(&mut self, s: &mut TcpStream) -> io::Result<ReadOutcome> {
        loop {
            if !self.buf.is_empty() {
                match parse_head(&self.buf) {
                    Ok(Some((req, n))) => {
                        self.buf.drain(..n);
                        return Ok(ReadOutcome::Request(req));
                    }
                    Ok(None) if self.buf.len() < MAX_HEAD => {}
                    _ => return Ok(ReadOutcome::Bad),
                }
            }
            if self.fill(s)? == 0 {
                return Ok(if self.buf.is_empty() {
                    ReadOutcome::Closed
                } else {
                    ReadOutcome::Bad
                });
            }
        }
    }

    fn line(&mut self, s: &mut TcpStream) -> io::Result<Option<String>> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line = String::from_utf8_lossy(&self.buf[..i]).into_owned();
                self.buf.drain(..i + 2);
                return Ok(Some(line));
            }
            if self.buf.len() > MAX_HEAD || self.fill(s)? == 0 {
                return Ok(None);
            }
        }
    }

    fn read_chunked(&mut self, s: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
        let mut body = Vec::new();
        loop {
            let Some(line) = self.line(s)? else {
                return Ok(None);
            };
            let Ok(size) = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            else {
                return Ok(None);
            };
            if size == 0 {
                loop {
                    match self.line(s)? {
                        Some(l) if l.is_empty() => return Ok(Some(body)),
                        Some(_) => {}
                        None => return Ok(None),
                    }
                }
            }
            while self.buf.len() < size + 2 {
                if self.fill(s)? == 0 {
                    return Ok(None);
                }
            }
            body.extend(self.buf.drain(..size));
            if self.buf.drain(..2).as_slice() != b"\r\n" {
                return Ok(None);
            }
        }
    }
}

/// The request head at the start of `buf` and its length; `Ok(None)` while it
/// is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(Request, usize)>, httparse::Error> {
    let mut hs = [httparse::EMPTY_HEADER; 128];
    let mut r = httparse::Request::new(&mut hs);
    let httparse::Status::Complete(n) = r.parse(buf)? else {
        return Ok(None);
    };
    let req = Request {
        method: r.method.unwrap_or("").to_string(),
        target: r.path.unwrap_or("").to_string(),
        minor: r.version.unwrap_or(1),
        headers: r
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    Ok(Some((req, n)))
}

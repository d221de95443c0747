//! A deliberately small HTTP/1.1 layer for the admin API, on bytes only (the socket
//! side is `conn`): parse one request head, decide its body framing, serialize an
//! answer. One request per connection (`Connection: close`); the admin plane is
//! low-traffic, so simplicity beats speed here.

/// Largest admin request body (a config file).
pub const MAX_BODY: usize = 1 << 20;
/// Largest request head (request line and headers).
pub const MAX_HEAD: usize = 16 * 1024;
/// Most header fields in a request head.
const MAX_HEADERS: usize = 64;

/// One admin request.
#[derive(Debug)]
pub struct Request {
    pub method: String,
    /// The target as sent (query string included).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// First header by name, case-insensitive.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// How many fields carry this name.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .count()
    }

    /// The target without its query string.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }
}

/// An answer.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(status: u16, body: String) -> Response {
        Response {
            status,
            content_type: "application/json",
            body: body.into_bytes(),
        }
    }

    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }

    /// `{"error": why}` with `status`.
    pub fn error(status: u16, why: &str) -> Response {
        Response::json(
            status,
            format!("{{\"error\":{}}}", crate::json::string(why)),
        )
    }

    /// The whole answer as bytes: status line, headers, body. Every answer closes
    /// the connection, must not be cached or framed by another site.
    pub fn to_bytes(&self) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            411 => "Length Required",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            _ => "Error",
        };
        let mut head = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\nContent-Security-Policy: frame-ancestors 'none'\r\nConnection: close\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        if self.status == 401 {
            head.push_str("WWW-Authenticate: Bearer realm=\"sluice\"\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Outcome of parsing the bytes received so far.
#[derive(Debug)]
pub enum Head {
    /// The head is not complete yet: read more.
    Partial,
    /// A whole head (`body` still empty) and the number of bytes it took.
    Complete(Request, usize),
    /// Malformed or too large: answer this and close.
    Reject(Response),
}

/// Parse a request head from `buf`.
pub fn parse_head(buf: &[u8]) -> Head {
    let mut hs = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Request::new(&mut hs);
    match r.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let (Some(method), Some(path)) = (r.method, r.path) else {
                return Head::Reject(Response::error(400, "malformed request line"));
            };
            let req = Request {
                method: method.to_string(),
                path: path.to_string(),
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
            Head::Complete(req, len)
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => Head::Partial,
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            Head::Reject(Response::error(431, "request head too large"))
        }
        Err(_) => Head::Reject(Response::error(400, "malformed request head")),
    }
}

/// The body length of `req`, or the answer refusing it. `needs_body` says whether
/// the endpoint reads a body (then a `Content-Length` is required).
///
/// Transfer-Encoding is never accepted: the admin API reads only `Content-Length`
/// bodies, and a chunked body it did not decode must not be applied as an empty one
/// (RFC 9110 §15.5.12: 411 asks for a Content-Length).
pub fn body_length(req: &Request, needs_body: bool) -> Result<usize, Response> {
    if req.count("transfer-encoding") > 0 {
        return Err(Response::error(
            411,
            "Transfer-Encoding is not accepted here: send the body with a Content-Length",
        ));
    }
    let mut lengths = req
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.trim());
    let len = match (lengths.next(), needs_body) {
        (None, true) => return Err(Response::error(411, "a Content-Length is required")),
        (None, false) => return Ok(0),
        (Some(v), _) => v,
    };
    // RFC 9112 §6.3: several differing Content-Lengths are unrecoverable; sluice
    // refuses repeats altogether.
    if lengths.next().is_some() {
        return Err(Response::error(400, "more than one Content-Length"));
    }
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Response::error(400, "invalid Content-Length"));
    }
    match len.parse::<usize>() {
        Ok(n) if n <= MAX_BODY => Ok(n),
        _ => Err(Response::error(413, "body too large (at most 1 MiB)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> Request {
        match parse_head(raw.as_bytes()) {
            Head::Complete(r, n) => {
                assert_eq!(n, raw.len());
                r
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partial_complete_and_rejected_heads() {
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nHo"), Head::Partial));
        let r = head("PUT /api/v1/config?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n");
        assert_eq!((r.method.as_str(), r.route()), ("PUT", "/api/v1/config"));
        assert!(matches!(
            parse_head(b"GET / HTTP/1.1\r\nBad Header: x\r\n\r\n"),
            Head::Reject(Response { status: 400, .. })
        ));
        let big = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
        assert!(matches!(
            parse_head(big.as_bytes()),
            Head::Reject(Response { status: 431, .. })
        ));
    }

    #[test]
    fn framing() {
        let status = |raw: &str, needs: bool| body_length(&head(raw), needs).map_err(|r| r.status);
        let base = "PUT /api/v1/config HTTP/1.1\r\nHost: a\r\n";
        assert_eq!(
            status(&format!("{base}Content-Length: 12\r\n\r\n"), true),
            Ok(12)
        );
        assert_eq!(status(&format!("{base}\r\n"), true), Err(411));
        assert_eq!(status(&format!("{base}\r\n"), false), Ok(0));
        assert_eq!(
            status(&format!("{base}Transfer-Encoding: chunked\r\n\r\n"), true),
            Err(411)
        );
        assert_eq!(
            status(&format!("{base}Transfer-Encoding: chunked\r\n\r\n"), false),
            Err(411)
        );
        assert_eq!(
            status(
                &format!("{base}Content-Length: 1\r\nContent-Length: 1\r\n\r\n"),
                true
            ),
            Err(400)
        );
        assert_eq!(
            status(&format!("{base}Content-Length: +1\r\n\r\n"), true),
            Err(400)
        );
        assert_eq!(
            status(&format!("{base}Content-Length: 2000000\r\n\r\n"), true),
            Err(413)
        );
    }

    #[test]
    fn answers_close_and_forbid_framing() {
        let bytes = Response::error(403, "no").to_bytes();
        let text = String::from_utf8(bytes).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{text}");
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.contains("X-Frame-Options: DENY\r\n"));
        assert!(text.ends_with("\r\n\r\n{\"error\":\"no\"}"));
    }
}

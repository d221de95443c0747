//! Header-level helpers shared by request and response handling: token lists,
//! hop-by-hop detection and strict Content-Length parsing.

/// Case-insensitive ASCII comparison of a header name or token.
#[inline]
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Strip optional whitespace (SP / HTAB) around a field value or list element.
#[inline]
pub fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Iterate the non-empty elements of a comma-separated list value (RFC 9110 §5.6.1).
pub fn list_items(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|s| !s.is_empty())
}

/// Whether `token` appears in any `Connection` header among `headers`.
pub fn connection_has(headers: &[httparse::Header<'_>], token: &[u8]) -> bool {
    headers
        .iter()
        .filter(|h| eq_ignore_case(h.name.as_bytes(), b"connection"))
        .any(|h| list_items(h.value).any(|t| eq_ignore_case(t, token)))
}

/// Headers that describe one hop and never cross the proxy (RFC 9110 §7.6.1), apart
/// from `Transfer-Encoding` and `Upgrade`, which callers treat on their own.
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    const HOP: [&[u8]; 5] = [
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
    ];
    HOP.iter().any(|h| eq_ignore_case(name, h))
}

/// Most `Connection` tokens one message is expected to carry; more are still
/// honoured, by rescanning the message.
const MAX_CONNECTION_TOKENS: usize = 8;

/// The tokens of a message's `Connection` headers, gathered once when the head is
/// parsed: keep-alive, upgrade and every forwarded header are then checked against
/// them without rescanning the message (rescanning per forwarded header made
/// forwarding quadratic in the number of headers).
#[derive(Debug)]
pub struct ConnectionTokens<'a, 'h> {
    headers: &'a [httparse::Header<'h>],
    tokens: [&'h [u8]; MAX_CONNECTION_TOKENS],
    len: usize,
    overflow: bool,
}

impl<'a, 'h> ConnectionTokens<'a, 'h> {
    /// Gather the `Connection` tokens of `headers`.
    pub fn of(headers: &'a [httparse::Header<'h>]) -> Self {
        let mut t = ConnectionTokens {
            headers,
            tokens: [&[]; MAX_CONNECTION_TOKENS],
            len: 0,
            overflow: false,
        };
        for h in headers {
            if eq_ignore_case(h.name.as_bytes(), b"connection") {
                for token in list_items(h.value) {
                    if t.len < MAX_CONNECTION_TOKENS {
                        t.tokens[t.len] = token;
                        t.len += 1;
                    } else {
                        t.overflow = true;
                    }
                }
            }
        }
        t
    }

    /// Whether `name` is one of the tokens.
    pub fn names(&self, name: &[u8]) -> bool {
        if self.overflow {
            return connection_has(self.headers, name);
        }
        self.tokens[..self.len]
            .iter()
            .any(|t| eq_ignore_case(t, name))
    }
}

/// Whether a header must be dropped when forwarding: hop-by-hop, or named by a
/// `Connection` header of the same message (`connection` gathered by
/// `ConnectionTokens::of` from that message).
pub fn is_dropped_on_forward(name: &[u8], connection: &ConnectionTokens<'_, '_>) -> bool {
    is_hop_by_hop(name) || eq_ignore_case(name, b"upgrade") || connection.names(name)
}

/// Parse a Content-Length value: one or more comma-separated copies of the same
/// decimal number (RFC 9110 §8.6). `None` when malformed or when the copies differ.
pub fn parse_content_length(v: &[u8]) -> Option<u64> {
    let mut found: Option<u64> = None;
    for item in v.split(|&b| b == b',') {
        let item = trim_ows(item);
        if item.is_empty() || item.len() > 19 || !item.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = item
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        match found {
            Some(prev) if prev != n => return None,
            _ => found = Some(n),
        }
    }
    found
}

/// Append `name: value\r\n`.
#[inline]
pub fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Append a decimal number without going through `fmt`.
pub fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_forms() {
        assert_eq!(parse_content_length(b"42"), Some(42));
        assert_eq!(parse_content_length(b" 7 "), Some(7));
        assert_eq!(parse_content_length(b"5, 5"), Some(5));
        assert_eq!(parse_content_length(b"5, 6"), None);
        assert_eq!(parse_content_length(b"-1"), None);
        assert_eq!(parse_content_length(b"+1"), None);
        assert_eq!(parse_content_length(b""), None);
        assert_eq!(parse_content_length(b"1 2"), None);
        assert_eq!(parse_content_length(b"99999999999999999999"), None);
    }

    #[test]
    fn connection_tokens() {
        let hs = [httparse::Header {
            name: "Connection",
            value: b"keep-alive, X-Foo",
        }];
        assert!(connection_has(&hs, b"x-foo"));
        let tokens = ConnectionTokens::of(&hs);
        assert!(is_dropped_on_forward(b"X-FOO", &tokens));
        assert!(is_dropped_on_forward(b"TE", &tokens));
        assert!(!is_dropped_on_forward(b"Host", &tokens));
    }

    #[test]
    fn decimal() {
        let mut v = Vec::new();
        push_decimal(&mut v, 0);
        v.push(b' ');
        push_decimal(&mut v, 18446744073709551615);
        assert_eq!(v, b"0 18446744073709551615");
    }

    #[test]
    fn many_connection_tokens_are_all_honoured() {
        let value = b"a, b, c, d, e, f, g, h, i, j";
        let hs = [httparse::Header {
            name: "Connection",
            value,
        }];
        let tokens = ConnectionTokens::of(&hs);
        for name in [&b"A"[..], b"h", b"i", b"J"] {
            assert!(is_dropped_on_forward(name, &tokens), "{name:?}");
        }
        assert!(!is_dropped_on_forward(b"k", &tokens));
    }
}

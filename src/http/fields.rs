//! Looking up one value in a request without allocating: a header, a cookie from
//! `Cookie` headers (RFC 6265 §5.4 `a=b; c=d`), or a query parameter (`a=b&c=d`).

use super::headers::{eq_ignore_case, trim_ows};

/// First value of header `name` (case-insensitive).
pub fn header_value<'b>(headers: &[httparse::Header<'b>], name: &[u8]) -> Option<&'b [u8]> {
    headers
        .iter()
        .find(|h| eq_ignore_case(h.name.as_bytes(), name))
        .map(|h| h.value)
}

/// Value of cookie `name` (case-sensitive, as cookies are) in any `Cookie` header.
pub fn cookie_value<'b>(headers: &[httparse::Header<'b>], name: &[u8]) -> Option<&'b [u8]> {
    headers
        .iter()
        .filter(|h| eq_ignore_case(h.name.as_bytes(), b"cookie"))
        .flat_map(|h| h.value.split(|&b| b == b';'))
        .find_map(|pair| {
            let pair = trim_ows(pair);
            let eq = pair.iter().position(|&b| b == b'=')?;
            (trim_ows(&pair[..eq]) == name).then(|| trim_ows(&pair[eq + 1..]))
        })
}

/// Raw value of query parameter `name` (no percent-decoding); `Some(b"")` for `?name`.
pub fn query_value<'q>(query: &'q [u8], name: &[u8]) -> Option<&'q [u8]> {
    query
        .split(|&b| b == b'&')
        .find_map(|pair| match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq] == name).then(|| &pair[eq + 1..]),
            None => (pair == name).then_some(&b""[..]),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_queries() {
        let hs = [
            httparse::Header {
                name: "Cookie",
                value: b"a=1; plan=premium",
            },
            httparse::Header {
                name: "cookie",
                value: b"  b = 2 ;junk",
            },
        ];
        assert_eq!(cookie_value(&hs, b"plan"), Some(&b"premium"[..]));
        assert_eq!(cookie_value(&hs, b"b"), Some(&b"2"[..]));
        assert_eq!(cookie_value(&hs, b"junk"), None);
        assert_eq!(cookie_value(&hs, b"Plan"), None);
        assert_eq!(
            query_value(b"a=1&quality=4k&flag", b"quality"),
            Some(&b"4k"[..])
        );
        assert_eq!(query_value(b"a=1&flag", b"flag"), Some(&b""[..]));
        assert_eq!(query_value(b"", b"a"), None);
        assert_eq!(
            header_value(&hs, b"COOKIE"),
            Some(&b"a=1; plan=premium"[..])
        );
    }
}

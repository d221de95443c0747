//! The request as the classifier sees it: borrowed parts of a parsed head.

/// What the classifier looks at; all borrowed from the parsed request.
pub struct RequestView<'a> {
    /// Method token.
    pub method: &'a [u8],
    /// Host without port, as sent; may be empty.
    pub host: &'a [u8],
    /// The normalised path, no query.
    pub path: &'a [u8],
    /// Raw query string without `?`.
    pub query: &'a [u8],
    /// Header fields.
    pub headers: &'a [httparse::Header<'a>],
    /// A `Range` header is present (`http::RequestHead::has_range`, found by the
    /// parser's one pass over the headers).
    pub has_range: bool,
    /// The connection came in on a TLS listener.
    pub tls: bool,
    /// The TLS SNI, lower-cased; empty on plain connections or without SNI.
    pub sni: &'a [u8],
}

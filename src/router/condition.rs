//! One compiled match condition and its test against a request.

use regex::bytes::Regex;

use crate::config::{Preset, ValueTest};
use crate::http::fields::{cookie_value, query_value};
use crate::http::headers::eq_ignore_case;

use super::view::RequestView;

/// Whether `v` passes `test`.
// HOT PATH: no alloc, no lock, no blocking call.
fn passes(test: &ValueTest, v: &[u8]) -> bool {
    match test {
        ValueTest::Exact(want) => want.as_bytes() == v,
        ValueTest::Regex(re) => re.is_match(v),
        ValueTest::Present => true,
    }
}

/// `name` ends with `suffix` (`.example.com`) and has at least one byte before it.
#[inline]
fn ends_with_suffix(name: &[u8], suffix: &[u8]) -> bool {
    name.len() > suffix.len() && eq_ignore_case(&name[name.len() - suffix.len()..], suffix)
}

/// A compiled condition. Cheap ones are ordered first within a route.
#[derive(Debug, Clone)]
pub enum Condition {
    /// Host equal, case-insensitive (pattern stored lower-case).
    HostExact(Box<[u8]>),
    /// Host ending with `.suffix` (pattern stored as `.example.com`).
    HostWildcard(Box<[u8]>),
    /// Method in the list.
    Methods(Box<[Box<[u8]>]>),
    /// Path starts with.
    PathPrefix(Box<[u8]>),
    /// Path equals.
    PathExact(Box<[u8]>),
    /// Path ends with any of these.
    PathSuffix(Box<[Box<[u8]>]>),
    /// Media class.
    Preset(Preset),
    /// A header (any field of that name) satisfies the test.
    Header(Box<[u8]>, ValueTest),
    /// A cookie satisfies the test.
    Cookie(Box<[u8]>, ValueTest),
    /// A query parameter satisfies the test.
    Query(Box<[u8]>, ValueTest),
    /// Regex on the normalised path.
    PathRegex(Regex),
    /// Regex on the User-Agent header (absent = no match).
    UserAgent(Regex),
    /// The connection is TLS (`true`) or plain (`false`).
    Tls(bool),
    /// TLS SNI equal, case-insensitive (stored lower-case).
    SniExact(Box<[u8]>),
    /// TLS SNI ending with `.suffix`.
    SniWildcard(Box<[u8]>),
}

/// Facts about a request computed once per classification.
pub struct Facts<'a> {
    /// Lower-cased extension of the last segment.
    pub ext: &'a [u8],
}

impl Condition {
    /// Relative cost, for ordering (lower runs first).
    pub fn cost(&self) -> u8 {
        match self {
            Condition::Methods(_)
            | Condition::PathExact(_)
            | Condition::PathPrefix(_)
            | Condition::Tls(_) => 0,
            Condition::HostExact(_)
            | Condition::HostWildcard(_)
            | Condition::Preset(_)
            | Condition::PathSuffix(_)
            | Condition::SniExact(_)
            | Condition::SniWildcard(_) => 1,
            Condition::Header(..) | Condition::Cookie(..) | Condition::Query(..) => 2,
            Condition::PathRegex(_) | Condition::UserAgent(_) => 3,
        }
    }

    /// Whether the request satisfies this condition.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn holds(&self, r: &RequestView<'_>, facts: &Facts<'_>) -> bool {
        match self {
            Condition::HostExact(h) => eq_ignore_case(r.host, h),
            Condition::HostWildcard(suffix) => ends_with_suffix(r.host, suffix),
            Condition::Tls(want) => r.tls == *want,
            Condition::SniExact(h) => eq_ignore_case(r.sni, h),
            Condition::SniWildcard(suffix) => ends_with_suffix(r.sni, suffix),
            Condition::Methods(ms) => ms.iter().any(|m| **m == *r.method),
            Condition::PathPrefix(p) => r.path.starts_with(p),
            Condition::PathExact(p) => **p == *r.path,
            Condition::PathSuffix(list) => list.iter().any(|s| r.path.ends_with(s)),
            Condition::Preset(p) => p.matches(facts.ext, r.has_range),
            Condition::Header(name, test) => r
                .headers
                .iter()
                .any(|h| eq_ignore_case(h.name.as_bytes(), name) && passes(test, h.value)),
            Condition::Cookie(name, test) => {
                cookie_value(r.headers, name).is_some_and(|v| passes(test, v))
            }
            Condition::Query(name, test) => {
                query_value(r.query, name).is_some_and(|v| passes(test, v))
            }
            Condition::PathRegex(re) => re.is_match(r.path),
            Condition::UserAgent(re) => r
                .headers
                .iter()
                .find(|h| eq_ignore_case(h.name.as_bytes(), b"user-agent"))
                .is_some_and(|h| re.is_match(h.value)),
        }
    }
}

//! The classifier: routes compiled once per config generation (per worker) into
//! condition lists tried in file order; the first route whose conditions all hold
//! names the pool, else the `[default]` pool, else none (404).
//!
//! Classification allocates nothing: conditions compare borrowed request bytes, the
//! path extension is lower-cased into a stack buffer, and cookie/query values are
//! found by scanning in place.

mod condition;
mod presets;

pub use condition::{Condition, ValueTest};
pub use presets::Preset;

use std::fmt;

use regex::bytes::Regex;

use crate::config::{Config, RawKv, RawMatch};
use condition::Facts;

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
}

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// Index into `config.routes`; `None` = the default pool.
    pub route: Option<u16>,
    /// Index into `config.pools`.
    pub pool: u16,
}

/// A route that failed to compile (should not happen after validation).
#[derive(Debug, Clone)]
pub struct RouterError {
    /// Key path, e.g. `route[3] ("x").match.path_regex`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for RouterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for RouterError {}

#[derive(Debug, Clone)]
struct CompiledRoute {
    pool: u16,
    /// Quick reject: the first (up to) 8 bytes any matching path must start with,
    /// as (value, mask) over the path's first 8 bytes read as a little-endian word.
    quick: (u64, u64),
    conditions: Box<[Condition]>,
}

/// The first (up to) 8 bytes of `b` as a little-endian word, zero-padded.
#[inline]
fn head_word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    let n = b.len().min(8);
    w[..n].copy_from_slice(&b[..n]);
    u64::from_le_bytes(w)
}

/// (value, mask) requiring a path to start with `prefix`'s first 8 bytes.
fn quick_reject(conditions: &[Condition]) -> (u64, u64) {
    let prefix = conditions.iter().find_map(|c| match c {
        Condition::PathPrefix(p) | Condition::PathExact(p) => Some(p),
        _ => None,
    });
    match prefix {
        Some(p) => {
            let n = p.len().min(8);
            let mask = if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            };
            (head_word(p) & mask, mask)
        }
        None => (0, 0),
    }
}

/// Routes compiled for fast, allocation-free classification.
#[derive(Debug, Clone)]
pub struct Classifier {
    routes: Box<[CompiledRoute]>,
    default_pool: Option<u16>,
    needs_range: bool,
}

impl Classifier {
    /// Compile the routes of `config`.
    pub fn compile(config: &Config) -> Result<Classifier, RouterError> {
        let mut routes = Vec::with_capacity(config.routes.len());
        for (i, r) in config.routes.iter().enumerate() {
            let at = format!("route[{i}] ({:?}).match", r.name);
            let mut conditions = compile_match(&r.matcher, &at)?;
            conditions.sort_by_key(Condition::cost);
            let pool = u16::try_from(r.pool).map_err(|_| RouterError {
                path: at.clone(),
                message: "too many pools".into(),
            })?;
            let quick = quick_reject(&conditions);
            routes.push(CompiledRoute {
                pool,
                quick,
                conditions: conditions.into_boxed_slice(),
            });
        }
        let needs_range = routes.iter().any(|r| {
            r.conditions
                .iter()
                .any(|c| matches!(c, Condition::Preset(Preset::RangeDownload)))
        });
        Ok(Classifier {
            routes: routes.into_boxed_slice(),
            default_pool: config.default_pool.and_then(|p| u16::try_from(p).ok()),
            needs_range,
        })
    }

    /// First matching route, else the default pool; `None` → answer 404.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn classify(&self, req: &RequestView<'_>) -> Option<Classified> {
        let mut ext_buf = [0u8; 8];
        let facts = Facts {
            ext: presets::extension(req.path, &mut ext_buf),
            has_range: self.needs_range
                && req
                    .headers
                    .iter()
                    .any(|h| h.name.eq_ignore_ascii_case("range")),
        };
        let word = head_word(req.path);
        for (i, route) in self.routes.iter().enumerate() {
            if word & route.quick.1 != route.quick.0 {
                continue;
            }
            if route.conditions.iter().all(|c| c.holds(req, &facts)) {
                return Some(Classified {
                    route: Some(i as u16),
                    pool: route.pool,
                });
            }
        }
        self.default_pool
            .map(|pool| Classified { route: None, pool })
    }

    /// Number of compiled routes.
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }
}

fn bytes(s: &str) -> Box<[u8]> {
    s.as_bytes().into()
}

fn regex(at: &str, key: &str, pattern: &str) -> Result<Regex, RouterError> {
    Regex::new(pattern).map_err(|e| RouterError {
        path: format!("{at}.{key}"),
        message: e.to_string(),
    })
}

fn compile_match(m: &RawMatch, at: &str) -> Result<Vec<Condition>, RouterError> {
    let mut out = Vec::new();
    if let Some(p) = &m.preset {
        let preset = Preset::from_name(p).ok_or_else(|| RouterError {
            path: format!("{at}.preset"),
            message: format!("unknown preset {p:?}"),
        })?;
        out.push(Condition::Preset(preset));
    }
    if let Some(h) = &m.host {
        let lower = h.to_ascii_lowercase();
        out.push(match lower.strip_prefix('*') {
            Some(suffix) => Condition::HostWildcard(bytes(suffix)),
            None => Condition::HostExact(bytes(&lower)),
        });
    }
    if let Some(p) = &m.path_prefix {
        out.push(Condition::PathPrefix(bytes(p)));
    }
    if let Some(p) = &m.path_exact {
        out.push(Condition::PathExact(bytes(p)));
    }
    if let Some(s) = &m.path_suffix {
        out.push(Condition::PathSuffix(
            s.as_slice().iter().map(|x| bytes(x)).collect(),
        ));
    }
    if let Some(r) = &m.path_regex {
        out.push(Condition::PathRegex(regex(at, "path_regex", r)?));
    }
    if let Some(ms) = &m.methods {
        out.push(Condition::Methods(ms.iter().map(|x| bytes(x)).collect()));
    }
    for (key, kvs) in [
        ("header", &m.header),
        ("cookie", &m.cookie),
        ("query", &m.query),
    ] {
        let Some(kvs) = kvs else { continue };
        for kv in kvs.as_slice() {
            let test = value_test(at, key, kv)?;
            let name = if key == "header" {
                bytes(&kv.name.to_ascii_lowercase())
            } else {
                bytes(&kv.name)
            };
            out.push(match key {
                "header" => Condition::Header(name, test),
                "cookie" => Condition::Cookie(name, test),
                _ => Condition::Query(name, test),
            });
        }
    }
    if let Some(ua) = &m.user_agent {
        out.push(Condition::UserAgent(regex(at, "user_agent", ua)?));
    }
    Ok(out)
}

fn value_test(at: &str, key: &str, kv: &RawKv) -> Result<ValueTest, RouterError> {
    Ok(match (&kv.value, &kv.regex) {
        (Some(v), _) => ValueTest::Exact(bytes(v)),
        (None, Some(r)) => ValueTest::Regex(regex(at, &format!("{key}.regex"), r)?),
        (None, None) => ValueTest::Present,
    })
}

#[cfg(test)]
mod tests;

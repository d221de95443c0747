//! The classifier: the routes `config` validated and built, compiled once per config
//! generation (per worker, infallibly) into condition lists tried in file order; the
//! first route whose conditions all hold names the pool, else the `[default]` pool,
//! else none (404). Regexes are the ones validation compiled (clones share them).
//!
//! Classification allocates nothing: conditions compare borrowed request bytes, the
//! path extension is lower-cased into a stack buffer, and cookie/query values are
//! found by scanning in place.
//!
//! No import cycle: `view` and `presets` import no sibling, `condition` imports
//! `view`, and this file imports them all.

mod condition;
mod presets;
mod view;

pub use crate::config::{Preset, ValueTest};
pub use condition::Condition;
pub use view::RequestView;

use crate::config::{Config, FieldMatch, HostPattern, Match};
use condition::Facts;

/// Where a request goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classified {
    /// Index into `config.routes`; `None` = the default pool.
    pub route: Option<u16>,
    /// Index into `config.pools`.
    pub pool: u16,
}

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
}

/// A pool or route index as the classifier stores it. Validation bounds both
/// counts (`config::MAX_POOLS`, `config::MAX_ROUTES`) to fit.
fn index(i: usize) -> u16 {
    debug_assert!(i <= usize::from(u16::MAX), "index {i} passed validation");
    i as u16
}

impl Classifier {
    /// Compile the routes of `config`. Cannot fail: validation built every matcher
    /// (regexes compiled, presets and hosts parsed) and bounded every index.
    pub fn compile(config: &Config) -> Classifier {
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let mut conditions = conditions(&r.matcher);
                conditions.sort_by_key(Condition::cost);
                CompiledRoute {
                    pool: index(r.pool),
                    quick: quick_reject(&conditions),
                    conditions: conditions.into_boxed_slice(),
                }
            })
            .collect();
        Classifier {
            routes,
            default_pool: config.default_pool.map(index),
        }
    }

    /// First matching route, else the default pool; `None` → answer 404.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn classify(&self, req: &RequestView<'_>) -> Option<Classified> {
        let mut ext_buf = [0u8; 8];
        let facts = Facts {
            ext: presets::extension(req.path, &mut ext_buf),
        };
        let word = head_word(req.path);
        for (i, route) in self.routes.iter().enumerate() {
            if word & route.quick.1 != route.quick.0 {
                continue;
            }
            if route.conditions.iter().all(|c| c.holds(req, &facts)) {
                return Some(Classified {
                    route: Some(index(i)),
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

/// The conditions of one validated match, unordered. The match is destructured
/// whole, so a new kind of condition cannot be left out silently.
fn conditions(m: &Match) -> Vec<Condition> {
    let Match {
        preset,
        host,
        path_prefix,
        path_exact,
        path_suffix,
        path_regex,
        methods,
        headers,
        cookies,
        queries,
        user_agent,
        tls,
        sni,
    } = m;
    let list = |v: &[String]| v.iter().map(|x| bytes(x)).collect();
    let field = |f: &FieldMatch| (bytes(&f.name), f.test.clone());
    let mut out = Vec::new();
    out.extend(preset.map(Condition::Preset));
    out.extend(host.as_ref().map(|h| match h {
        HostPattern::Exact(h) => Condition::HostExact(bytes(h)),
        HostPattern::Wildcard(suffix) => Condition::HostWildcard(bytes(suffix)),
    }));
    out.extend(path_prefix.as_deref().map(bytes).map(Condition::PathPrefix));
    out.extend(path_exact.as_deref().map(bytes).map(Condition::PathExact));
    if !path_suffix.is_empty() {
        out.push(Condition::PathSuffix(list(path_suffix)));
    }
    out.extend(path_regex.clone().map(Condition::PathRegex));
    if !methods.is_empty() {
        out.push(Condition::Methods(list(methods)));
    }
    let (h, c, q) = (headers.iter(), cookies.iter(), queries.iter());
    out.extend(h.map(field).map(|(n, t)| Condition::Header(n, t)));
    out.extend(c.map(field).map(|(n, t)| Condition::Cookie(n, t)));
    out.extend(q.map(field).map(|(n, t)| Condition::Query(n, t)));
    out.extend(user_agent.clone().map(Condition::UserAgent));
    out.extend(tls.map(Condition::Tls));
    out.extend(sni.as_ref().map(|h| match h {
        HostPattern::Exact(h) => Condition::SniExact(bytes(h)),
        HostPattern::Wildcard(suffix) => Condition::SniWildcard(bytes(suffix)),
    }));
    out
}

#[cfg(test)]
mod tests;

//! Turning a parsed request head into a forwarding plan: normalise the path, classify
//! it, and write the upstream head. Synchronous, so the borrowed head and header array
//! never live across an `.await`.

use crate::config::{Balance, HashOn};
use crate::hashring::{stable_hash, stable_hash_ignore_case};
use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::fields::{cookie_value, header_value, query_value};
use crate::http::path::{PathError, normalize_path};
use crate::http::request::RequestHead;
use crate::http::rewrite::write_upstream_request;
use crate::router::RequestView;

use crate::core::ctx::WorkerView;

/// Everything the exchange needs to know about one request, owned.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Bytes of the request head in the client buffer.
    pub head_len: usize,
    /// Request body framing.
    pub body: BodyKind,
    /// Client wants keep-alive.
    pub keep_alive: bool,
    /// 0 = HTTP/1.0 client.
    pub minor_version: u8,
    /// HEAD request: the response has no body.
    pub is_head: bool,
    /// Client sent `Expect: 100-continue`.
    pub expect_continue: bool,
    /// Client asked for a protocol upgrade.
    pub upgrade: bool,
    /// Safe to send twice (RFC 9110 §9.2.2) — used for retries.
    pub idempotent: bool,
    /// Pool index.
    pub pool: usize,
    /// Route index; `None` = the default pool.
    pub route: Option<usize>,
    /// Hash of the pool's `hash_on` key (consistent_hash pools only, else 0).
    pub hash: u64,
}

/// A request sluice answers itself instead of forwarding it.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// What to answer.
    pub answer: Answer,
    /// When the connection may go on afterwards (a bodiless keep-alive request that
    /// no route took): the head's length, to consume. `None`: close after answering.
    pub go_on_after: Option<usize>,
}

impl Refusal {
    /// Answer and close.
    pub fn closing(answer: Answer) -> Self {
        Refusal {
            answer,
            go_on_after: None,
        }
    }
}

/// Build the plan and write the upstream request head into `out`. `tls` is the
/// connection's SNI (empty without one) when it is TLS. `path` is a reused
/// scratch buffer for the normalised path. An `Err` is the answer to send instead.
// HOT PATH: no alloc (buffers are reused), no lock, no blocking call.
pub fn prepare(
    head: &RequestHead<'_, '_>,
    view: &WorkerView,
    client_ip: &[u8],
    tls: Option<&[u8]>,
    path: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<Plan, Refusal> {
    normalize_path(head.path, path).map_err(|e| {
        Refusal::closing(match e {
            PathError::ClimbsAboveRoot => Answer::new(400, "path_above_root"),
            PathError::BadPercent => Answer::new(400, "bad_path_encoding"),
            PathError::NotOrigin => Answer::new(400, "bad_target"),
        })
    })?;
    let request = RequestView {
        method: head.method.as_bytes(),
        host: head.host,
        path,
        query: head.query,
        headers: head.headers,
        has_range: head.has_range,
        tls: tls.is_some(),
        sni: tls.unwrap_or_default(),
    };
    let Some(class) = view.classifier.classify(&request) else {
        // Nothing of the request is left unread when it has no body: go on.
        let go_on = head.body == BodyKind::None && head.keep_alive;
        return Err(Refusal {
            answer: Answer::new(404, "no_route"),
            go_on_after: go_on.then_some(head.head_len),
        });
    };
    write_upstream_request(out, head, path, client_ip, tls.is_some());
    let pool = &view.snapshot.config.pools[usize::from(class.pool)];
    let hash = match pool.balance {
        Balance::ConsistentHash => hash_key(&pool.hash_on, head, path, client_ip),
        _ => 0,
    };
    let method = head.method.as_bytes();
    Ok(Plan {
        head_len: head.head_len,
        body: head.body,
        keep_alive: head.keep_alive,
        minor_version: head.minor_version,
        is_head: method == b"HEAD",
        expect_continue: head.expect_continue,
        upgrade: head.upgrade,
        idempotent: matches!(
            method,
            b"GET" | b"HEAD" | b"OPTIONS" | b"PUT" | b"DELETE" | b"TRACE"
        ),
        pool: usize::from(class.pool),
        route: class.route.map(usize::from),
        hash,
    })
}

/// Hash the request's `hash_on` key; a missing header/cookie/parameter hashes as
/// empty, so such requests still stick together.
fn hash_key(on: &HashOn, head: &RequestHead<'_, '_>, path: &[u8], client_ip: &[u8]) -> u64 {
    let key: &[u8] = match on {
        HashOn::Path => path,
        HashOn::PathDir => match path.iter().rposition(|&b| b == b'/') {
            Some(i) => &path[..=i],
            None => path,
        },
        // Host names compare case-insensitively: hash them that way.
        HashOn::Host => return stable_hash_ignore_case(head.host),
        HashOn::ClientIp => client_ip,
        HashOn::Header(name) => header_value(head.headers, name.as_bytes()).unwrap_or_default(),
        HashOn::Cookie(name) => cookie_value(head.headers, name.as_bytes()).unwrap_or_default(),
        HashOn::Query(name) => query_value(head.query, name.as_bytes()).unwrap_or_default(),
    };
    stable_hash(key)
}

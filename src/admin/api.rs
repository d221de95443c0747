//! Admin endpoints (SPEC §6). `GET /healthz` and the dashboard shell `GET /` are
//! open; every data and action endpoint needs the bearer token, checked on the head
//! (`authorize`) before a body is read. Handlers run on the admin's handler pool.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::config::{Config, ConfigErrors, Pool};
use crate::control::stats::now_ms;
use crate::control::{ServerStats, Snapshot};
use crate::metrics::WorkerMetrics;
use crate::plane::{ControlPlane, ServerAction, parse_config};

use super::access::secret_eq;
use super::http::{Request, Response};
use super::prom;
use crate::json::{number, string};

/// The dashboard page (self-contained: HTML, CSS and JS inline).
const DASHBOARD: &str = include_str!("dashboard.html");
/// How long a metrics read waits for the workers.
const COLLECT_TIMEOUT: Duration = Duration::from_millis(300);

/// `GET /healthz`: answered on the event loop, before any other check.
pub fn is_health(req: &Request) -> bool {
    req.method == "GET" && req.route() == "/healthz"
}

/// `GET /`: the dashboard shell, which holds no data (it asks for the token).
pub fn is_dashboard(req: &Request) -> bool {
    req.method == "GET" && req.route() == "/"
}

/// The answer to an open endpoint (`is_health` or `is_dashboard`).
pub fn answer_open(req: &Request) -> Response {
    if is_health(req) {
        return Response::text(200, "ok\n");
    }
    Response {
        status: 200,
        content_type: "text/html; charset=utf-8",
        body: DASHBOARD.as_bytes().to_vec(),
    }
}

/// Whether this endpoint reads a body (which then needs a `Content-Length`).
pub fn takes_body(req: &Request) -> bool {
    matches!(
        (req.method.as_str(), req.route()),
        ("PUT", "/api/v1/config") | ("POST", "/api/v1/config/validate")
    )
}

/// The bearer-token check, on the head (before any body is read): `Err(401)` when
/// a token is configured and the request does not carry it.
pub fn authorize(snap: &Snapshot, req: &Request) -> Result<(), Response> {
    let Some(token) = &snap.config.admin.token else {
        return Ok(());
    };
    let given = req
        .header("authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if secret_eq(given.trim().as_bytes(), token.as_bytes()) {
        Ok(())
    } else {
        Err(Response::json(
            401,
            "{\"error\":\"missing or wrong bearer token\"}".into(),
        ))
    }
}

/// Route one admitted request (Host, Origin, framing and token already checked).
/// Runs on a handler thread: it may wait for the workers or the disk.
pub fn handle(plane: &ControlPlane, req: &Request) -> Response {
    let path = req.route();
    let snap = plane.snapshot();
    match (req.method.as_str(), path) {
        ("GET", "/api/v1/status") => Response::json(200, status(plane)),
        ("GET", "/metrics") => {
            let m = plane.collect_metrics(COLLECT_TIMEOUT);
            Response {
                status: 200,
                content_type: "text/plain; version=0.0.4",
                body: prom::render(&snap, &m, plane.client_connections()).into_bytes(),
            }
        }
        ("GET", "/api/v1/config") => Response {
            status: 200,
            content_type: "application/toml",
            body: snap.config.to_toml().into_bytes(),
        },
        ("POST", "/api/v1/config/validate") => match std::str::from_utf8(&req.body) {
            Ok(text) => match parse_config(text, &crate::config::config_dir(&plane.config_path)) {
                Ok(_) => Response::json(200, "{\"valid\":true,\"errors\":[]}".into()),
                Err(e) => Response::json(400, errors_json(&e)),
            },
            Err(_) => not_utf8(),
        },
        ("PUT", "/api/v1/config") => match std::str::from_utf8(&req.body) {
            Ok(text) => match plane.apply_text(text, true) {
                Ok(generation) => Response::json(200, format!("{{\"generation\":{generation}}}")),
                Err(e) => Response::json(400, errors_json(&e)),
            },
            Err(_) => not_utf8(),
        },
        ("POST", p) if p.starts_with("/api/v1/pools/") => server_action(plane, p),
        (
            _,
            "/"
            | "/healthz"
            | "/api/v1/status"
            | "/metrics"
            | "/api/v1/config"
            | "/api/v1/config/validate",
        ) => Response::json(405, "{\"error\":\"method not allowed\"}".into()),
        _ => Response::json(404, "{\"error\":\"not found\"}".into()),
    }
}

fn not_utf8() -> Response {
    Response::json(
        400,
        "{\"valid\":false,\"errors\":[{\"path\":\"\",\"message\":\"body is not UTF-8\",\"text\":\"body is not UTF-8\"}]}"
            .into(),
    )
}

fn errors_json(e: &ConfigErrors) -> String {
    let items: Vec<String> =
        e.0.iter()
            .map(|x| {
                format!(
                    "{{\"path\":{},\"message\":{},\"text\":{}}}",
                    string(&x.path),
                    string(&x.message),
                    string(&x.to_string())
                )
            })
            .collect();
    format!("{{\"valid\":false,\"errors\":[{}]}}", items.join(","))
}

/// `/api/v1/pools/{pool}/servers/{addr}/{drain|disable|enable}`.
fn server_action(plane: &ControlPlane, path: &str) -> Response {
    let parts: Vec<&str> = path
        .trim_start_matches("/api/v1/pools/")
        .split('/')
        .collect();
    let [pool, "servers", addr, action] = parts.as_slice() else {
        return Response::json(404, "{\"error\":\"not found\"}".into());
    };
    let action = match *action {
        "drain" => ServerAction::Drain,
        "disable" => ServerAction::Disable,
        "enable" => ServerAction::Enable,
        _ => return Response::json(404, "{\"error\":\"unknown action\"}".into()),
    };
    let (pool, addr) = (percent_decode(pool), percent_decode(addr));
    let pool = pool.as_str();
    let Ok(addr) = addr.parse::<SocketAddr>() else {
        return Response::json(404, "{\"error\":\"no such server\"}".into());
    };
    if plane.server_action(pool, addr, action) {
        Response::json(200, "{\"ok\":true}".into())
    } else {
        Response::json(404, "{\"error\":\"no such pool or server\"}".into())
    }
}

/// Decode `%XX` escapes in a path segment (browsers escape `:` in addresses).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percentile_ms(h: Option<&Histogram<u64>>, q: f64) -> f64 {
    match h {
        Some(h) if !h.is_empty() => h.value_at_quantile(q) as f64 / 1000.0,
        _ => f64::NAN,
    }
}

/// `/api/v1/status`.
fn status(plane: &ControlPlane) -> String {
    let snap = plane.snapshot();
    let m = plane.collect_metrics(COLLECT_TIMEOUT);
    let c = &snap.config;
    let mut o = String::new();
    let _ = write!(
        o,
        "{{\"version\":{},\"uptime_s\":{},\"workers\":{},\"generation\":{},\"worker_generations\":{:?},\"pools\":[",
        string(env!("CARGO_PKG_VERSION")),
        plane.started.elapsed().as_secs(),
        plane.workers,
        snap.generation,
        plane.worker_generations()
    );
    let now = now_ms();
    for (pi, (pool, stats)) in c.pools.iter().zip(&snap.servers).enumerate() {
        if pi > 0 {
            o.push(',');
        }
        pool_status(&mut o, pool, stats, now);
    }
    o.push_str("],\"routes\":[");
    for slot in 0..c.routes.len() + 1 {
        if slot > 0 {
            o.push(',');
        }
        route_status(&mut o, c, &m, slot);
    }
    o.push_str("],\"certs\":");
    certs_status(&mut o, c);
    o.push('}');
    o
}

/// `certs` in `/api/v1/status`: each `[[tls.cert]]` entry's names and expiry
/// (an empty list without `[tls]`).
fn certs_status(o: &mut String, c: &Config) {
    o.push('[');
    let now = crate::tls::certs::unix_now();
    let certs = c.tls.as_ref().map_or(&[][..], |t| &t.certs[..]);
    for (i, cert) in certs.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        let names: Vec<String> = cert.names.iter().map(|n| string(n)).collect();
        let _ = write!(
            o,
            "{{\"names\":[{}],\"not_after\":{},\"expires_in_s\":{}}}",
            names.join(","),
            string(&crate::tls::certs::rfc3339(cert.not_after)),
            cert.not_after - now
        );
    }
    o.push(']');
}

/// One pool in `/api/v1/status`, with its servers.
fn pool_status(o: &mut String, pool: &Pool, stats: &[Arc<ServerStats>], now: u64) {
    let _ = write!(
        o,
        "{{\"name\":{},\"balance\":{},\"servers\":[",
        string(&pool.name),
        string(pool.balance.as_str())
    );
    for (si, s) in stats.iter().enumerate() {
        if si > 0 {
            o.push(',');
        }
        let last = s.last_check_ms.load(Ordering::Relaxed);
        let last_check = if last == 0 {
            "null".to_string()
        } else {
            format!(
                "{{\"ok\":{},\"ago_ms\":{}}}",
                s.last_check_ok.load(Ordering::Relaxed),
                now.saturating_sub(last)
            )
        };
        let _ = write!(
            o,
            "{{\"addr\":\"{}\",\"weight\":{},\"state\":\"{}\",\"in_flight\":{},\"requests\":{},\"errors\":{},\"last_check\":{}}}",
            s.addr,
            pool.servers.get(si).map_or(1, |b| b.weight),
            s.state().as_str(),
            s.in_flight.load(Ordering::Relaxed),
            s.requests.load(Ordering::Relaxed),
            s.errors.load(Ordering::Relaxed),
            last_check
        );
    }
    o.push_str("]}");
}

/// One route in `/api/v1/status` (slot 0 is the default route): its answers by
/// status class and its latency over all pools.
fn route_status(o: &mut String, c: &Config, m: &WorkerMetrics, slot: usize) {
    let (name, pool) = if slot == 0 {
        (
            "default".to_string(),
            c.default_pool
                .map(|p| c.pools[p].name.clone())
                .unwrap_or_default(),
        )
    } else {
        let r = &c.routes[slot - 1];
        (r.name.clone(), c.pools[r.pool].name.clone())
    };
    let mut counts = [0u64; 5];
    for server in 0..=m.servers {
        let x = m.requests_at(slot, server);
        for k in 0..5 {
            counts[k] += x[k];
        }
    }
    let mut merged: Option<Histogram<u64>> = None;
    for p in 0..c.pools.len() {
        if let Some(h) = m.latency_at(slot, p) {
            match merged.as_mut() {
                Some(acc) => {
                    let _ = acc.add(h);
                }
                None => merged = Some(h.clone()),
            }
        }
    }
    let _ = write!(
        o,
        "{{\"name\":{},\"pool\":{},\"requests\":{},\"errors\":{},\"status\":{{\"1xx\":{},\"2xx\":{},\"3xx\":{},\"4xx\":{},\"5xx\":{}}},\"p50_ms\":{},\"p99_ms\":{}}}",
        string(&name),
        string(&pool),
        counts.iter().sum::<u64>(),
        counts[4],
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        number(percentile_ms(merged.as_ref(), 0.5)),
        number(percentile_ms(merged.as_ref(), 0.99))
    );
}

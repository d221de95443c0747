//! Checks of `[[pool]]` entries: servers and weights, balancing, limits, the queue,
//! active health checks and passive ejection, each against `bounds`.

use std::collections::HashSet;

use super::bounds::*;
use super::errors::{Errors, entry};
use super::schema::{RawHealth, RawPassive, RawPool, RawServerEntry};
use super::types::{Backend, Balance, HashOn, Health, Passive, Pool, StatusRange};

pub(super) fn check_pool(i: usize, p: &RawPool, names: &[&str], e: &mut Errors) -> Pool {
    let at = entry("pool", i, &p.name);
    if p.name.is_empty() {
        e.push(format!("{at}.name"), "must not be empty");
    } else if names[..i].contains(&p.name.as_str()) {
        e.push(
            format!("{at}.name"),
            format!("duplicate pool name {:?}", p.name),
        );
    }
    let balance = check_balance(&at, &p.balance, e);
    let servers = check_servers(&at, &p.servers, e);
    let (hash_on, hash_balance_factor) = check_hashing(&at, p, balance, &servers, e);
    let max_conns_per_server = e.range(
        &format!("{at}.max_conns_per_server"),
        p.max_conns_per_server,
        1,
        MAX_CONNS_PER_SERVER,
    );
    let max_idle_per_server = match p.max_idle_per_server {
        Some(n) => e.range(
            &format!("{at}.max_idle_per_server"),
            n,
            0,
            MAX_IDLE_PER_SERVER,
        ),
        None => max_conns_per_server,
    };
    Pool {
        name: p.name.clone(),
        balance,
        servers,
        max_conns_per_server: max_conns_per_server as u32,
        max_idle_per_server: max_idle_per_server as u32,
        queue_timeout: e.duration(&format!("{at}.queue_timeout"), &p.queue_timeout),
        max_queue: e.range(&format!("{at}.max_queue"), p.max_queue, 0, MAX_MAX_QUEUE) as usize,
        retries: e.range(&format!("{at}.retries"), p.retries, 0, MAX_RETRIES) as u32,
        fallback: check_fallback(&at, p, names, e),
        hash_on,
        hash_balance_factor,
        health: p
            .health
            .as_ref()
            .map(|h| check_health(&format!("{at}.health"), h, e)),
        passive: p
            .passive
            .as_ref()
            .map(|x| check_passive(&format!("{at}.passive"), x, e)),
    }
}

fn check_balance(at: &str, b: &str, e: &mut Errors) -> Balance {
    match b {
        "round_robin" => Balance::RoundRobin,
        "least_conn" => Balance::LeastConn,
        "p2c" => Balance::P2c,
        "consistent_hash" => Balance::ConsistentHash,
        "random" => Balance::Random,
        other => {
            e.push(
                format!("{at}.balance"),
                format!(
                    "{other:?} is not one of round_robin, least_conn, p2c, consistent_hash, random"
                ),
            );
            Balance::RoundRobin
        }
    }
}

/// `servers`: at least one, each a distinct address with a weight in bounds.
fn check_servers(at: &str, list: &[RawServerEntry], e: &mut Errors) -> Vec<Backend> {
    if list.is_empty() {
        e.push(format!("{at}.servers"), "at least one server is required");
    }
    let mut seen = HashSet::new();
    let mut servers = Vec::new();
    for (j, s) in list.iter().enumerate() {
        let path = format!("{at}.servers[{j}]");
        let (addr, weight) = match s {
            RawServerEntry::Addr(a) => (a.as_str(), 1),
            RawServerEntry::Table(t) => (t.addr.as_str(), t.weight),
        };
        let weight = e.range(&format!("{path}.weight"), weight, 1, MAX_WEIGHT) as u32;
        if let Some(addr) = e.addr(&path, addr) {
            if !seen.insert(addr) {
                e.push(&path, format!("duplicate server {addr}"));
            }
            servers.push(Backend { addr, weight });
        }
    }
    servers
}

/// `fallback`: another pool, by index.
fn check_fallback(at: &str, p: &RawPool, names: &[&str], e: &mut Errors) -> Option<usize> {
    let f = p.fallback.as_ref()?;
    if *f == p.name {
        e.push(
            format!("{at}.fallback"),
            "a pool cannot fall back to itself",
        );
        return None;
    }
    let found = names.iter().position(|n| n == f);
    if found.is_none() {
        e.push(format!("{at}.fallback"), format!("no pool named {f:?}"));
    }
    found
}

/// `hash_on`, `hash_balance_factor` and the ring size: consistent hashing only.
fn check_hashing(
    at: &str,
    p: &RawPool,
    balance: Balance,
    servers: &[Backend],
    e: &mut Errors,
) -> (HashOn, Option<f64>) {
    let hashing = balance == Balance::ConsistentHash;
    for (key, given) in [
        ("hash_on", p.hash_on.is_some()),
        ("hash_balance_factor", p.hash_balance_factor.is_some()),
    ] {
        if given && !hashing {
            e.push(
                format!("{at}.{key}"),
                "only allowed with balance = \"consistent_hash\"",
            );
        }
    }
    let hash_on = check_hash_on(at, p.hash_on.as_deref(), e);
    let total: i64 = servers.iter().map(|s| i64::from(s.weight)).sum();
    if hashing && total > MAX_RING_WEIGHT {
        e.push(
            format!("{at}.servers"),
            format!(
                "weights sum to {total}, above {MAX_RING_WEIGHT} for consistent_hash (each unit of weight adds ring points on every worker)"
            ),
        );
    }
    let factor = p.hash_balance_factor;
    if let Some(f) = factor.filter(|f| !(f.is_finite() && *f > 1.0)) {
        let why = if f.is_finite() {
            format!("{f} must be greater than 1.0")
        } else {
            format!("{f} must be a finite number greater than 1.0")
        };
        e.push(format!("{at}.hash_balance_factor"), why);
    }
    (hash_on, factor)
}

fn check_hash_on(at: &str, h: Option<&str>, e: &mut Errors) -> HashOn {
    match h {
        None | Some("path_dir") => HashOn::PathDir,
        Some("path") => HashOn::Path,
        Some("host") => HashOn::Host,
        Some("client_ip") => HashOn::ClientIp,
        Some(other) => match other.split_once(':') {
            Some(("header", n)) if !n.is_empty() => HashOn::Header(n.to_string()),
            Some(("cookie", n)) if !n.is_empty() => HashOn::Cookie(n.to_string()),
            Some(("query", n)) if !n.is_empty() => HashOn::Query(n.to_string()),
            _ => {
                e.push(format!("{at}.hash_on"), format!("{other:?} is not one of path, path_dir, host, client_ip, header:NAME, cookie:NAME, query:NAME"));
                HashOn::PathDir
            }
        },
    }
}

fn check_passive(at: &str, x: &RawPassive, e: &mut Errors) -> Passive {
    Passive {
        consecutive_failures: e.range(
            &format!("{at}.consecutive_failures"),
            x.consecutive_failures,
            1,
            MAX_CONSECUTIVE_FAILURES,
        ) as u32,
        eject_for: e.positive_duration(&format!("{at}.eject_for"), &x.eject_for),
        count_5xx: x.count_5xx,
    }
}

fn check_health(at: &str, h: &RawHealth, e: &mut Errors) -> Health {
    if !h.path.starts_with('/') {
        e.push(
            format!("{at}.path"),
            format!("{:?} must start with /", h.path),
        );
    }
    if h.path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        e.push(
            format!("{at}.path"),
            format!("{:?} must not contain spaces or control characters", h.path),
        );
    }
    let expect_status = parse_status_range(&h.expect_status).unwrap_or_else(|| {
        e.push(
            format!("{at}.expect_status"),
            format!(
                "{:?} is not a status pattern (want \"2xx\", \"200\" or \"200-399\")",
                h.expect_status
            ),
        );
        StatusRange { lo: 200, hi: 299 }
    });
    Health {
        path: h.path.clone(),
        interval: e.duration_at_least(&format!("{at}.interval"), &h.interval, MIN_HEALTH_INTERVAL),
        timeout: e.positive_duration(&format!("{at}.timeout"), &h.timeout),
        rise: e.range(&format!("{at}.rise"), h.rise, 1, MAX_RISE_FALL) as u32,
        fall: e.range(&format!("{at}.fall"), h.fall, 1, MAX_RISE_FALL) as u32,
        expect_status,
    }
}

/// `"2xx"`, `"200"` or `"200-399"`.
fn parse_status_range(s: &str) -> Option<StatusRange> {
    let code = |t: &str| t.parse::<u16>().ok().filter(|c| (100..=599).contains(c));
    let b = s.as_bytes();
    if b.len() == 3 && b[1..].eq_ignore_ascii_case(b"xx") && (b'1'..=b'5').contains(&b[0]) {
        let lo = u16::from(b[0] - b'0') * 100;
        return Some(StatusRange { lo, hi: lo + 99 });
    }
    if let Some((lo, hi)) = s.split_once('-') {
        let (lo, hi) = (code(lo.trim())?, code(hi.trim())?);
        return (lo <= hi).then_some(StatusRange { lo, hi });
    }
    code(s).map(|c| StatusRange { lo: c, hi: c })
}

//! `RawConfig` → `Config`: every check of SPEC §3, with every error collected and
//! named by its key path (`route[2] ("vod").pool: no pool named "vodd"`).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::units::{parse_duration, parse_size};
use super::validate_admin::check_admin;
use super::validate_routes::check_routes;
use super::*;

/// Most header fields a request may be allowed to carry (`server.limits.max_headers`).
pub const MAX_MAX_HEADERS: i64 = 1000;
/// Most retries a pool may ask for.
pub const MAX_RETRIES: i64 = 5;
/// Largest accepted `max_header_bytes` (the head must fit one buffer).
pub const MAX_HEADER_BYTES_LIMIT: u64 = 1 << 20;

/// Collects errors while checking.
#[derive(Default)]
pub(super) struct Errors(pub(super) Vec<ConfigError>);

impl Errors {
    pub(super) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(ConfigError {
            path: path.into(),
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, v: &str) -> std::time::Duration {
        parse_duration(v).unwrap_or_else(|e| {
            self.push(path, e);
            std::time::Duration::ZERO
        })
    }

    fn positive_duration(&mut self, path: &str, v: &str) -> std::time::Duration {
        match parse_duration(v) {
            Ok(d) if d.is_zero() => {
                self.push(path, format!("{v:?} must be greater than zero"));
                d
            }
            Ok(d) => d,
            Err(e) => {
                self.push(path, e);
                std::time::Duration::ZERO
            }
        }
    }

    fn size(&mut self, path: &str, v: &str) -> u64 {
        parse_size(v).unwrap_or_else(|e| {
            self.push(path, e);
            0
        })
    }

    pub(super) fn addr(&mut self, path: &str, v: &str) -> Option<SocketAddr> {
        match v.parse() {
            Ok(a) => Some(a),
            Err(_) => {
                self.push(
                    path,
                    format!(
                        "{v:?} is not a socket address (want host:port, e.g. \"127.0.0.1:8080\")"
                    ),
                );
                None
            }
        }
    }

    fn range(&mut self, path: &str, v: i64, lo: i64, hi: i64) -> i64 {
        if v < lo || v > hi {
            self.push(path, format!("{v} is out of range ({lo}..={hi})"));
            return v.clamp(lo, hi);
        }
        v
    }

    pub(super) fn regex(&mut self, path: &str, v: &str) {
        if let Err(e) = regex::bytes::Regex::new(v) {
            let first = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("invalid")
                .trim()
                .to_string();
            self.push(path, format!("{v:?} is not a valid regex: {first}"));
        }
    }
}

/// Label of a named entry: `pool[1] ("live")`.
pub(super) fn entry(kind: &str, i: usize, name: &str) -> String {
    if name.is_empty() {
        format!("{kind}[{i}]")
    } else {
        format!("{kind}[{i}] ({name:?})")
    }
}

/// Check `raw` completely; `Ok` only when nothing is wrong.
pub fn validate(raw: RawConfig) -> Result<Config, ConfigErrors> {
    let mut e = Errors::default();
    let server = check_server(&raw.server, &mut e);
    let admin = check_admin(&raw.admin, &mut e);
    let log = check_log(&raw.log, &mut e);
    let pool_names: Vec<&str> = raw.pools.iter().map(|p| p.name.as_str()).collect();
    let pools: Vec<Pool> = raw
        .pools
        .iter()
        .enumerate()
        .map(|(i, p)| check_pool(i, p, &pool_names, &mut e))
        .collect();
    let routes = check_routes(&raw.routes, &pool_names, &mut e);
    let default_pool = raw.default.as_ref().and_then(|d| {
        let found = pool_names.iter().position(|n| *n == d.pool);
        if found.is_none() {
            e.push("default.pool", format!("no pool named {:?}", d.pool));
        }
        found
    });
    if !e.0.is_empty() {
        return Err(ConfigErrors(e.0));
    }
    Ok(Config {
        server,
        admin,
        log,
        pools,
        routes,
        default_pool,
        raw,
    })
}

fn check_server(s: &RawServer, e: &mut Errors) -> Server {
    if s.listen.is_empty() {
        e.push("server.listen", "at least one address is required");
    }
    let listen = s
        .listen
        .iter()
        .enumerate()
        .filter_map(|(i, a)| e.addr(&format!("server.listen[{i}]"), a))
        .collect();
    let workers = e.range("server.workers", s.workers, 0, 1024) as usize;
    let max_connections =
        e.range("server.max_connections", s.max_connections, 1, 10_000_000) as usize;
    let t = &s.timeouts;
    let timeouts = Timeouts {
        client_header: e.positive_duration("server.timeouts.client_header", &t.client_header),
        client_idle: e.positive_duration("server.timeouts.client_idle", &t.client_idle),
        upstream_connect: e
            .positive_duration("server.timeouts.upstream_connect", &t.upstream_connect),
        upstream_response: e
            .positive_duration("server.timeouts.upstream_response", &t.upstream_response),
        upstream_idle: e.positive_duration("server.timeouts.upstream_idle", &t.upstream_idle),
    };
    let l = &s.limits;
    let mut max_header_bytes = e.size("server.limits.max_header_bytes", &l.max_header_bytes);
    if !(256..=MAX_HEADER_BYTES_LIMIT).contains(&max_header_bytes)
        && parse_size(&l.max_header_bytes).is_ok()
    {
        e.push(
            "server.limits.max_header_bytes",
            format!("{:?} is out of range (256B..=1MiB)", l.max_header_bytes),
        );
        max_header_bytes = max_header_bytes.clamp(256, MAX_HEADER_BYTES_LIMIT);
    }
    let limits = Limits {
        max_header_bytes: max_header_bytes as usize,
        max_headers: e.range(
            "server.limits.max_headers",
            l.max_headers,
            1,
            MAX_MAX_HEADERS,
        ) as usize,
        max_body: e.size("server.limits.max_body", &l.max_body),
    };
    Server {
        listen,
        workers,
        pin_cores: s.pin_cores,
        max_connections,
        shutdown_timeout: e.duration("server.shutdown_timeout", &s.shutdown_timeout),
        timeouts,
        limits,
    }
}

fn check_log(l: &RawLog, e: &mut Errors) -> Log {
    let access = match l.access.as_str() {
        "off" => AccessLog::Off,
        "stdout" => AccessLog::Stdout,
        "" => {
            e.push("log.access", "must be \"off\", \"stdout\" or a file path");
            AccessLog::Off
        }
        path => AccessLog::File(PathBuf::from(path)),
    };
    let level = match l.level.as_str() {
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        other => {
            e.push(
                "log.level",
                format!("{other:?} is not one of error, warn, info, debug"),
            );
            LogLevel::Info
        }
    };
    Log { access, level }
}

fn check_pool(i: usize, p: &RawPool, names: &[&str], e: &mut Errors) -> Pool {
    let at = entry("pool", i, &p.name);
    if p.name.is_empty() {
        e.push(format!("{at}.name"), "must not be empty");
    } else if names[..i].contains(&p.name.as_str()) {
        e.push(
            format!("{at}.name"),
            format!("duplicate pool name {:?}", p.name),
        );
    }
    let balance = match p.balance.as_str() {
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
    };
    if p.servers.is_empty() {
        e.push(format!("{at}.servers"), "at least one server is required");
    }
    let mut seen = HashSet::new();
    let mut servers = Vec::new();
    for (j, s) in p.servers.iter().enumerate() {
        let path = format!("{at}.servers[{j}]");
        let (addr, weight) = match s {
            RawServerEntry::Addr(a) => (a.as_str(), 1),
            RawServerEntry::Table(t) => (t.addr.as_str(), t.weight),
        };
        let weight = if !(1..=1000).contains(&weight) {
            e.push(
                format!("{path}.weight"),
                format!("{weight} is out of range (1..=1000)"),
            );
            1
        } else {
            weight as u32
        };
        if let Some(addr) = e.addr(&path, addr) {
            if !seen.insert(addr) {
                e.push(&path, format!("duplicate server {addr}"));
            }
            servers.push(Backend { addr, weight });
        }
    }
    let fallback = p.fallback.as_ref().and_then(|f| {
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
    });
    let hashing = balance == Balance::ConsistentHash;
    if !hashing && p.hash_on.is_some() {
        e.push(
            format!("{at}.hash_on"),
            "only allowed with balance = \"consistent_hash\"",
        );
    }
    if !hashing && p.hash_balance_factor.is_some() {
        e.push(
            format!("{at}.hash_balance_factor"),
            "only allowed with balance = \"consistent_hash\"",
        );
    }
    let hash_on = match p.hash_on.as_deref() {
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
    };
    if let Some(f) = p.hash_balance_factor
        && !(f > 1.0 && f.is_finite())
    {
        e.push(
            format!("{at}.hash_balance_factor"),
            format!("{f} must be greater than 1.0"),
        );
    }
    let health = p
        .health
        .as_ref()
        .map(|h| check_health(&format!("{at}.health"), h, e));
    let passive = p.passive.as_ref().map(|x| Passive {
        consecutive_failures: e.range(
            &format!("{at}.passive.consecutive_failures"),
            x.consecutive_failures,
            1,
            1000,
        ) as u32,
        eject_for: e.positive_duration(&format!("{at}.passive.eject_for"), &x.eject_for),
        count_5xx: x.count_5xx,
    });
    Pool {
        name: p.name.clone(),
        balance,
        servers,
        max_conns_per_server: e.range(
            &format!("{at}.max_conns_per_server"),
            p.max_conns_per_server,
            1,
            1_000_000,
        ) as u32,
        max_idle_per_server: e.range(
            &format!("{at}.max_idle_per_server"),
            p.max_idle_per_server,
            0,
            100_000,
        ) as u32,
        queue_timeout: e.duration(&format!("{at}.queue_timeout"), &p.queue_timeout),
        retries: e.range(&format!("{at}.retries"), p.retries, 0, MAX_RETRIES) as u32,
        fallback,
        hash_on,
        hash_balance_factor: p.hash_balance_factor,
        health,
        passive,
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
        interval: e.positive_duration(&format!("{at}.interval"), &h.interval),
        timeout: e.positive_duration(&format!("{at}.timeout"), &h.timeout),
        rise: e.range(&format!("{at}.rise"), h.rise, 1, 100) as u32,
        fall: e.range(&format!("{at}.fall"), h.fall, 1, 100) as u32,
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

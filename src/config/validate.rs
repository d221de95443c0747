//! `RawConfig` → `Config`: every check of SPEC §3, with every error collected and
//! named by its key path (`route[2] ("vod").pool: no pool named "vodd"`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::units::{parse_duration, parse_size};
use super::validate_admin::check_admin;
use super::validate_pool::check_pool;
use super::validate_routes::check_routes;
use super::*;

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

    /// A duration of 0..=365 days.
    pub(super) fn duration(&mut self, path: &str, v: &str) -> Duration {
        parse_duration(v).unwrap_or_else(|e| {
            self.push(path, e);
            Duration::ZERO
        })
    }

    /// A duration greater than zero and at most 365 days.
    pub(super) fn positive_duration(&mut self, path: &str, v: &str) -> Duration {
        self.duration_at_least(path, v, Duration::from_nanos(1))
    }

    /// A duration of `min..=365 days` (`min` > 0).
    pub(super) fn duration_at_least(&mut self, path: &str, v: &str, min: Duration) -> Duration {
        match parse_duration(v) {
            Ok(d) if d.is_zero() => {
                self.push(path, format!("{v:?} must be greater than zero"));
                min
            }
            Ok(d) if d < min => {
                self.push(path, format!("{v:?} is shorter than the minimum {min:?}"));
                min
            }
            Ok(d) => d,
            Err(e) => {
                self.push(path, e);
                min
            }
        }
    }

    pub(super) fn size(&mut self, path: &str, v: &str) -> u64 {
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

    pub(super) fn range(&mut self, path: &str, v: i64, lo: i64, hi: i64) -> i64 {
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
    let workers = e.range("server.workers", s.workers, 0, MAX_WORKERS) as usize;
    let max_connections = e.range(
        "server.max_connections",
        s.max_connections,
        1,
        MAX_CONNECTIONS,
    ) as usize;
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
    if !(MIN_HEADER_BYTES..=MAX_HEADER_BYTES_LIMIT).contains(&max_header_bytes)
        && parse_size(&l.max_header_bytes).is_ok()
    {
        e.push(
            "server.limits.max_header_bytes",
            format!(
                "{:?} is out of range (256B..=1MiB; each connection reading a head holds a buffer this size)",
                l.max_header_bytes
            ),
        );
        max_header_bytes = max_header_bytes.clamp(MIN_HEADER_BYTES, MAX_HEADER_BYTES_LIMIT);
    }
    // Above the parser's fixed array the limit would be capped silently: an error.
    let max_headers = if l.max_headers > MAX_MAX_HEADERS {
        e.push(
            "server.limits.max_headers",
            format!(
                "{} is above the parser's capacity of {MAX_MAX_HEADERS} header fields",
                l.max_headers
            ),
        );
        MAX_MAX_HEADERS
    } else {
        e.range(
            "server.limits.max_headers",
            l.max_headers,
            1,
            MAX_MAX_HEADERS,
        )
    };
    let limits = Limits {
        max_header_bytes: max_header_bytes as usize,
        max_headers: max_headers as usize,
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

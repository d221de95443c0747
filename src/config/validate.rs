//! `RawConfig` → `Config`: every check of SPEC §3, with every error collected and
//! named by its key path (`route[2] ("vod").pool: no pool named "vodd"`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::bounds::*;
use super::errors::{ConfigErrors, Errors};
use super::schema::{RawConfig, RawLimits, RawLog, RawServer, RawTimeouts};
use super::types::{AccessLog, Config, Limits, Log, LogLevel, Pool, Server, Timeouts};
use super::units::parse_size;
use super::validate_admin::check_admin;
use super::validate_pool::check_pool;
use super::validate_routes::check_routes;
use super::validate_tls::check_tls;

/// Check `raw` completely; `Ok` only when nothing is wrong. Files the config names
/// (certificates) are read relative to `base`.
pub fn validate(raw: RawConfig, base: &Path) -> Result<Config, ConfigErrors> {
    let mut e = Errors::default();
    let server = check_server(&raw.server, &mut e);
    let admin = check_admin(&raw.admin, &mut e);
    let log = check_log(&raw.log, &mut e);
    if raw.pools.len() > MAX_POOLS {
        e.push(
            "pool",
            format!("{} pools, above the most ({MAX_POOLS})", raw.pools.len()),
        );
    }
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
    let tls = raw.tls.as_ref().map(|t| check_tls(t, base, &mut e));
    if !e.0.is_empty() {
        return Err(ConfigErrors(e.0));
    }
    Ok(Config {
        tls,
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
    let timeouts = check_timeouts(&s.timeouts, e);
    let limits = check_limits(&s.limits, e);
    Server {
        listen,
        workers,
        pin_cores: s.pin_cores,
        max_connections,
        shutdown_timeout: e.duration("server.shutdown_timeout", &s.shutdown_timeout),
        busy_poll: check_busy_poll(&s.busy_poll, e),
        timeouts,
        limits,
    }
}

fn check_busy_poll(v: &str, e: &mut Errors) -> Duration {
    let d = e.duration("server.busy_poll", v);
    if d > MAX_BUSY_POLL {
        e.push(
            "server.busy_poll",
            format!("{v:?} is longer than the most a worker may spin, {MAX_BUSY_POLL:?}"),
        );
        return MAX_BUSY_POLL;
    }
    d
}

fn check_timeouts(t: &RawTimeouts, e: &mut Errors) -> Timeouts {
    let mut at = |key: &str, v: &str| e.positive_duration(&format!("server.timeouts.{key}"), v);
    Timeouts {
        client_header: at("client_header", &t.client_header),
        client_idle: at("client_idle", &t.client_idle),
        upstream_connect: at("upstream_connect", &t.upstream_connect),
        upstream_response: at("upstream_response", &t.upstream_response),
        upstream_idle: at("upstream_idle", &t.upstream_idle),
    }
}

fn check_limits(l: &RawLimits, e: &mut Errors) -> Limits {
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
    Limits {
        max_header_bytes: max_header_bytes as usize,
        max_headers: max_headers as usize,
        max_body: e.size("server.limits.max_body", &l.max_body),
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

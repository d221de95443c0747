//! The validated configuration: typed values the data path reads directly.
//!
//! Built only by `validate` from a `RawConfig`, so every value here has passed its
//! checks (addresses parse, pools referenced by name exist and are stored as indexes,
//! durations and sizes are typed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::schema::{RawConfig, RawMatch};

/// A whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Server,
    pub admin: Admin,
    pub log: Log,
    pub pools: Vec<Pool>,
    pub routes: Vec<Route>,
    /// Index into `pools` for requests no route matched; `None` answers 404.
    pub default_pool: Option<usize>,
    /// The file as parsed, kept to serve it back as TOML and to persist it.
    pub raw: RawConfig,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct Server {
    pub listen: Vec<SocketAddr>,
    /// 0 = one per available core.
    pub workers: usize,
    pub pin_cores: bool,
    pub max_connections: usize,
    pub shutdown_timeout: Duration,
    pub timeouts: Timeouts,
    pub limits: Limits,
}

/// `[server.timeouts]`.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub client_header: Duration,
    pub client_idle: Duration,
    pub upstream_connect: Duration,
    pub upstream_response: Duration,
    pub upstream_idle: Duration,
}

/// `[server.limits]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// 0 = unlimited.
    pub max_body: u64,
}

/// `[admin]`, with `token_env` already resolved into `token`.
#[derive(Debug, Clone)]
pub struct Admin {
    pub listen: SocketAddr,
    pub token: Option<String>,
    /// Lower-cased host names (or IP literals, IPv6 in brackets) accepted in `Host`
    /// and `Origin` besides the built-in loopback names; any port.
    pub allowed_hosts: Vec<String>,
}

/// Where access-log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLog {
    Off,
    Stdout,
    File(PathBuf),
}

/// `[log]`.
#[derive(Debug, Clone)]
pub struct Log {
    pub access: AccessLog,
    pub level: LogLevel,
}

/// `log.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// `pool.balance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Balance {
    RoundRobin,
    LeastConn,
    P2c,
    ConsistentHash,
    Random,
}

impl Balance {
    /// The name used in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Balance::RoundRobin => "round_robin",
            Balance::LeastConn => "least_conn",
            Balance::P2c => "p2c",
            Balance::ConsistentHash => "consistent_hash",
            Balance::Random => "random",
        }
    }
}

/// `pool.hash_on`: what a consistent-hash pool hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashOn {
    Path,
    PathDir,
    Host,
    ClientIp,
    Header(String),
    Cookie(String),
    Query(String),
}

/// One backend server of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backend {
    pub addr: SocketAddr,
    /// At least 1.
    pub weight: u32,
}

/// `[[pool]]`.
#[derive(Debug, Clone)]
pub struct Pool {
    pub name: String,
    pub balance: Balance,
    pub servers: Vec<Backend>,
    pub max_conns_per_server: u32,
    pub max_idle_per_server: u32,
    pub queue_timeout: Duration,
    pub retries: u32,
    /// Index into `Config::pools`.
    pub fallback: Option<usize>,
    /// Defaults to `PathDir` when not given.
    pub hash_on: HashOn,
    /// `None` = unbounded consistent hashing.
    pub hash_balance_factor: Option<f64>,
    pub health: Option<Health>,
    pub passive: Option<Passive>,
}

/// Accepted status codes of a health check, inclusive range (`"2xx"` = 200..=299).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    pub lo: u16,
    pub hi: u16,
}

/// `[pool.health]`.
#[derive(Debug, Clone)]
pub struct Health {
    pub path: String,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
    pub expect_status: StatusRange,
}

/// `[pool.passive]`.
#[derive(Debug, Clone, Copy)]
pub struct Passive {
    pub consecutive_failures: u32,
    pub eject_for: Duration,
    pub count_5xx: bool,
}

/// `[[route]]`; the matcher is checked (regexes compile, preset known) but compiled
/// into a classifier by `router`.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    /// Index into `Config::pools`.
    pub pool: usize,
    pub matcher: RawMatch,
}

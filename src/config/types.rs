//! The validated configuration: typed values the data path reads directly.
//!
//! Built only by `validate` from a `RawConfig`, so every value here has passed its
//! checks (addresses parse, pools referenced by name exist and are stored as indexes,
//! durations and sizes are typed).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::matcher::Match;
use super::schema::RawConfig;

/// A whole validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: Server,
    pub admin: Admin,
    pub log: Log,
    pub pools: Vec<Pool>,
    pub routes: Vec<Route>,
    /// Index into `pools` for requests no route matched; `None` answers 404. Fits a
    /// `u16`, as `Route::pool` does.
    pub default_pool: Option<usize>,
    /// `[tls]` with its certificates loaded; `None` when absent.
    pub tls: Option<Tls>,
    /// The file as parsed, kept to serve it back as TOML and to persist it.
    pub raw: RawConfig,
}

/// `[tls]`, its certificate files read and checked as pairs.
#[derive(Debug, Clone)]
pub struct Tls {
    /// TLS listeners (may be empty: certificates loaded, nothing listening).
    pub listen: Vec<SocketAddr>,
    /// Lowest protocol version offered.
    pub min_version: crate::tls::MinVersion,
    /// ALPN protocol ids in preference order.
    pub alpn: Vec<String>,
    /// Refuse a handshake whose SNI matches no certificate.
    pub strict_sni: bool,
    /// `[[tls.cert]]` in file order; the first is the fallback. Non-empty.
    pub certs: Vec<crate::tls::CertEntry>,
}

/// `[server]`.
#[derive(Debug, Clone)]
pub struct Server {
    /// Proxy addresses; at least one.
    pub listen: Vec<SocketAddr>,
    /// 0 = one per available core; at most `MAX_WORKERS`.
    pub workers: usize,
    /// Pin each worker to its own core.
    pub pin_cores: bool,
    /// Client connections, whole process: 1..=`MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// How long in-flight requests may finish after SIGTERM; 0..=365 days.
    pub shutdown_timeout: Duration,
    /// How long a worker keeps polling for I/O after its last event before it
    /// sleeps; zero never spins. 0..=`MAX_BUSY_POLL`.
    pub busy_poll: Duration,
    /// `[server.timeouts]`.
    pub timeouts: Timeouts,
    /// `[server.limits]`.
    pub limits: Limits,
}

/// `[server.timeouts]`: each greater than zero and at most 365 days
/// (`MAX_DURATION`), so adding one to an `Instant` or a monoio timer cannot overflow.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// The whole request head must arrive within this.
    pub client_header: Duration,
    /// Keep-alive idle time between requests.
    pub client_idle: Duration,
    /// Connecting to a server.
    pub upstream_connect: Duration,
    /// Time to the first response byte.
    pub upstream_response: Duration,
    /// Lifetime of an idle pooled upstream connection.
    pub upstream_idle: Duration,
}

/// `[server.limits]`.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line + headers: `MIN_HEADER_BYTES..=MAX_HEADER_BYTES_LIMIT` (each
    /// connection's head buffer is this size plus one).
    pub max_header_bytes: usize,
    /// Header fields per request: 1..=`MAX_MAX_HEADERS`, the parser's capacity.
    pub max_headers: usize,
    /// 0 = unlimited; any `u64` (it is only compared with byte counts).
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
    /// The server's address.
    pub addr: SocketAddr,
    /// 1..=`MAX_WEIGHT`.
    pub weight: u32,
}

/// `[[pool]]`.
#[derive(Debug, Clone)]
pub struct Pool {
    /// Unique, non-empty.
    pub name: String,
    /// How a server is chosen.
    pub balance: Balance,
    /// At least one; for `consistent_hash` their weights sum to at most
    /// `MAX_RING_WEIGHT`.
    pub servers: Vec<Backend>,
    /// Upstream connections per server, whole process: 1..=`MAX_CONNS_PER_SERVER`.
    pub max_conns_per_server: u32,
    /// Pooled idle connections per server, per worker: 0..=`MAX_IDLE_PER_SERVER`;
    /// defaults to `max_conns_per_server`.
    pub max_idle_per_server: u32,
    /// How long a request may wait for a free slot, then 503; 0..=365 days.
    pub queue_timeout: Duration,
    /// Requests that may wait for a free slot at once, whole pool (all workers):
    /// 0..=`MAX_MAX_QUEUE`, default `DEFAULT_MAX_QUEUE`. Beyond it a request is
    /// answered 503 at once; 0 = never wait (503 as soon as every server is full).
    pub max_queue: usize,
    /// Retries of idempotent requests on another server: 0..=`MAX_RETRIES`.
    pub retries: u32,
    /// Index into `Config::pools`.
    pub fallback: Option<usize>,
    /// Defaults to `PathDir` when not given.
    pub hash_on: HashOn,
    /// `None` = unbounded consistent hashing; otherwise finite and greater than 1.
    pub hash_balance_factor: Option<f64>,
    /// Active checks, if configured.
    pub health: Option<Health>,
    /// Passive outlier ejection, if configured.
    pub passive: Option<Passive>,
}

/// Accepted status codes of a health check, inclusive range (`"2xx"` = 200..=299).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusRange {
    /// Lowest accepted status.
    pub lo: u16,
    /// Highest accepted status.
    pub hi: u16,
}

/// `[pool.health]`.
#[derive(Debug, Clone)]
pub struct Health {
    /// Request path, starting with `/`.
    pub path: String,
    /// Pause between checks of one server: `MIN_HEALTH_INTERVAL..=365 days`.
    pub interval: Duration,
    /// One check's deadline: greater than zero, at most 365 days.
    pub timeout: Duration,
    /// Consecutive passes to mark a server up: 1..=`MAX_RISE_FALL`.
    pub rise: u32,
    /// Consecutive failures to mark a server down: 1..=`MAX_RISE_FALL`.
    pub fall: u32,
    /// Statuses that pass.
    pub expect_status: StatusRange,
}

/// `[pool.passive]`.
#[derive(Debug, Clone, Copy)]
pub struct Passive {
    /// Failures in a row that eject a server: 1..=`MAX_CONSECUTIVE_FAILURES`.
    pub consecutive_failures: u32,
    /// How long an ejection lasts: greater than zero, at most 365 days.
    pub eject_for: Duration,
    /// Whether 5xx answers count as failures.
    pub count_5xx: bool,
}

/// `[[route]]`, with its match built: `router` turns it into classifier conditions
/// without any check left that could fail.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    /// Index into `Config::pools` (fewer than `MAX_POOLS`, so it fits a `u16`).
    pub pool: usize,
    pub matcher: Match,
}

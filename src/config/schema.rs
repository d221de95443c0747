//! The raw `config.toml` schema (SPEC §3) as serde types.
//!
//! Every table denies unknown keys. Durations and sizes stay strings here and are
//! turned into typed values by `validate`, which reports every bad value with its key
//! path; nothing downstream reads these strings.

use serde::{Deserialize, Serialize};

/// Default listen address of the proxy.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:8080";
/// Default `server.busy_poll`: how long a worker spins after its last I/O event
/// (the measurements behind it are in bench/LATENCY.md).
pub const DEFAULT_BUSY_POLL: &str = "50us";
/// Default admin listen address (loopback, so no token is required).
pub const DEFAULT_ADMIN_LISTEN: &str = "127.0.0.1:9901";
/// Default `pool.max_conns_per_server`.
pub const DEFAULT_MAX_CONNS_PER_SERVER: i64 = 512;
/// Default `pool.max_queue`: requests that may wait for a free slot, whole pool.
pub const DEFAULT_MAX_QUEUE: usize = 1024;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub admin: RawAdmin,
    #[serde(default)]
    pub log: RawLog,
    #[serde(default, rename = "pool", skip_serializing_if = "Vec::is_empty")]
    pub pools: Vec<RawPool>,
    #[serde(default, rename = "route", skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RawRoute>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<RawDefault>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawTls>,
}

/// `[tls]` (SPEC §10).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    pub listen: Vec<String>,
    pub min_version: String,
    pub alpn: Vec<String>,
    pub strict_sni: bool,
    #[serde(rename = "cert", skip_serializing_if = "Vec::is_empty")]
    pub certs: Vec<RawCert>,
}

impl Default for RawTls {
    fn default() -> Self {
        RawTls {
            listen: Vec::new(),
            min_version: "1.2".into(),
            alpn: vec!["http/1.1".into()],
            strict_sni: false,
            certs: Vec::new(),
        }
    }
}

/// `[[tls.cert]]`: paths relative to the config file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawCert {
    pub cert: String,
    pub key: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    pub listen: Vec<String>,
    pub workers: i64,
    pub pin_cores: bool,
    pub max_connections: i64,
    pub shutdown_timeout: String,
    pub busy_poll: String,
    pub timeouts: RawTimeouts,
    pub limits: RawLimits,
}

impl Default for RawServer {
    fn default() -> Self {
        RawServer {
            listen: vec![DEFAULT_LISTEN.to_string()],
            workers: 0,
            pin_cores: true,
            max_connections: 100_000,
            shutdown_timeout: "30s".into(),
            busy_poll: DEFAULT_BUSY_POLL.into(),
            timeouts: RawTimeouts::default(),
            limits: RawLimits::default(),
        }
    }
}

/// `[server.timeouts]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTimeouts {
    pub client_header: String,
    pub client_idle: String,
    pub upstream_connect: String,
    pub upstream_response: String,
    pub upstream_idle: String,
}

impl Default for RawTimeouts {
    fn default() -> Self {
        RawTimeouts {
            client_header: "10s".into(),
            client_idle: "60s".into(),
            upstream_connect: "2s".into(),
            upstream_response: "30s".into(),
            upstream_idle: "60s".into(),
        }
    }
}

/// `[server.limits]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLimits {
    pub max_header_bytes: String,
    pub max_headers: i64,
    pub max_body: String,
}

impl Default for RawLimits {
    fn default() -> Self {
        RawLimits {
            max_header_bytes: "16KiB".into(),
            max_headers: 100,
            max_body: "0".into(),
        }
    }
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAdmin {
    pub listen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// Extra `Host` names the admin API answers to (besides its listen address,
    /// `localhost`, `127.0.0.1` and `[::1]`), e.g. a name a reverse proxy uses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
}

impl Default for RawAdmin {
    fn default() -> Self {
        RawAdmin {
            listen: DEFAULT_ADMIN_LISTEN.into(),
            token: None,
            token_env: None,
            allowed_hosts: Vec::new(),
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLog {
    pub access: String,
    pub level: String,
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            access: "off".into(),
            level: "info".into(),
        }
    }
}

/// One entry of `pool.servers`: a bare address or a table with a weight.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RawServerEntry {
    Addr(String),
    Table(RawServerTable),
}

/// `{ addr = "...", weight = N }`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawServerTable {
    pub addr: String,
    #[serde(default = "default_weight")]
    pub weight: i64,
}

fn default_weight() -> i64 {
    1
}

/// `[[pool]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub name: String,
    #[serde(default = "default_balance")]
    pub balance: String,
    pub servers: Vec<RawServerEntry>,
    #[serde(default = "default_max_conns")]
    pub max_conns_per_server: i64,
    /// Absent = `max_conns_per_server` (SPEC §3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_idle_per_server: Option<i64>,
    #[serde(default = "default_queue_timeout")]
    pub queue_timeout: String,
    #[serde(default = "default_max_queue")]
    pub max_queue: i64,
    #[serde(default = "default_retries")]
    pub retries: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_on: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_balance_factor: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<RawHealth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passive: Option<RawPassive>,
}

fn default_balance() -> String {
    "round_robin".into()
}
fn default_max_conns() -> i64 {
    DEFAULT_MAX_CONNS_PER_SERVER
}
fn default_max_queue() -> i64 {
    DEFAULT_MAX_QUEUE as i64
}
fn default_queue_timeout() -> String {
    "1s".into()
}
fn default_retries() -> i64 {
    1
}

/// `[pool.health]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHealth {
    pub path: String,
    pub interval: String,
    pub timeout: String,
    pub rise: i64,
    pub fall: i64,
    pub expect_status: String,
}

impl Default for RawHealth {
    fn default() -> Self {
        RawHealth {
            path: "/healthz".into(),
            interval: "1s".into(),
            timeout: "500ms".into(),
            rise: 2,
            fall: 3,
            expect_status: "2xx".into(),
        }
    }
}

/// `[pool.passive]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPassive {
    pub consecutive_failures: i64,
    pub eject_for: String,
    pub count_5xx: bool,
}

impl Default for RawPassive {
    fn default() -> Self {
        RawPassive {
            consecutive_failures: 5,
            eject_for: "10s".into(),
            count_5xx: false,
        }
    }
}

/// `[[route]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: String,
    pub pool: String,
    #[serde(default, rename = "match")]
    pub matcher: RawMatch,
}

/// A string or a list of strings (`path_suffix`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The entries as a slice, whichever form was written.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t),
            OneOrMany::Many(v) => v,
        }
    }
}

/// `[route.match]`: every given condition must hold.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_suffix: Option<OneOrMany<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<OneOrMany<RawKv>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<OneOrMany<RawKv>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<OneOrMany<RawKv>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Only requests on TLS listeners (`true`) or plain ones (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// The TLS SNI, exact or `*.example.com` (never matches a plain connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

/// `{ name = "...", value = "..." | regex = "..." | present = true }`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawKv {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
}

/// `[default]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefault {
    pub pool: String,
}

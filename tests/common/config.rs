//! A config builder for the tests, in the style of linkerd's test proxies: it
//! writes `config.toml` text whose listeners are all on `127.0.0.1:0`, with one
//! worker, no core pinning and a 2 s `upstream_response`, and typed setters for what
//! tests change:
//!
//! ```ignore
//! Sluice::builder()
//!     .pool("p", |p| p.server(addr).max_conns(1).queue_timeout("300ms"))
//!     .route("live", "p", |m| m.preset("hls"))
//!     .default_pool("p")
//!     .timeouts(|t| t.client_header("1s"))
//!     .limits(|l| l.max_body("1KiB"))
//!     .start()
//! ```
//!
//! Every section also takes `raw("key = value")` lines for keys without a setter, and
//! `tables(..)` appends whole tables, so no test edits config text by hand. A typed
//! setter replaces an earlier value of the same key; `toml()` is deterministic, so
//! two equal builders give byte-identical text.
#![allow(dead_code)]

use std::fmt::{Display, Write};

use super::Sluice;

/// `s` as a TOML basic string (quotes and backslashes escaped).
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `["a", "b"]`.
fn string_array<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s.as_ref())).collect();
    format!("[{}]", quoted.join(", "))
}

// === impl Table ===

/// One table's lines in the order given: `key = value` pairs (a later set of the
/// same key replaces the value in place) and raw lines.
#[derive(Debug, Clone, Default)]
struct Table {
    lines: Vec<Line>,
}

#[derive(Debug, Clone)]
enum Line {
    Key(String, String),
    Raw(String),
}

impl Table {
    fn set(&mut self, key: &str, value: impl Display) {
        let value = value.to_string();
        for line in &mut self.lines {
            if let Line::Key(k, v) = line
                && k == key
            {
                *v = value;
                return;
            }
        }
        self.lines.push(Line::Key(key.to_string(), value));
    }

    fn set_str(&mut self, key: &str, value: &str) {
        self.set(key, quote(value));
    }

    fn raw(&mut self, text: &str) {
        self.lines
            .push(Line::Raw(text.trim_end_matches('\n').to_string()));
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// `header` (unless empty), then every line.
    fn write(&self, out: &mut String, header: &str) {
        if !header.is_empty() {
            out.push_str(header);
            out.push('\n');
        }
        for line in &self.lines {
            match line {
                Line::Key(k, v) => {
                    let _ = writeln!(out, "{k} = {v}");
                }
                Line::Raw(text) => {
                    out.push_str(text);
                    out.push('\n');
                }
            }
        }
    }
}

/// Defines a section builder: a `Table` newtype with `raw` and typed setters.
macro_rules! section {
    ($(#[$doc:meta])* $name:ident { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name(Table);

        impl $name {
            /// A raw line (or lines) of this table, for keys without a setter.
            pub fn raw(mut self, line: &str) -> Self {
                self.0.raw(line);
                self
            }
            $($body)*
        }
    };
}

/// A setter writing a quoted string (durations, sizes, names).
macro_rules! str_key {
    ($(#[$doc:meta])* $fn:ident) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: &str) -> Self {
            self.0.set_str(stringify!($fn), value);
            self
        }
    };
    ($(#[$doc:meta])* $fn:ident = $key:literal) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: &str) -> Self {
            self.0.set_str($key, value);
            self
        }
    };
}

/// A setter writing a bare value (integers, booleans).
macro_rules! int_key {
    ($(#[$doc:meta])* $fn:ident) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: i64) -> Self {
            self.0.set(stringify!($fn), value);
            self
        }
    };
    ($(#[$doc:meta])* $fn:ident = $key:literal) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: i64) -> Self {
            self.0.set($key, value);
            self
        }
    };
}

// === sections ===

section!(
    /// `[server.timeouts]` (the builder starts with `upstream_response = "2s"`).
    Timeouts {
        str_key!(client_header);
        str_key!(client_idle);
        str_key!(upstream_connect);
        str_key!(upstream_response);
        str_key!(upstream_idle);
    }
);

section!(
    /// `[server.limits]`.
    Limits {
        str_key!(max_header_bytes);
        int_key!(max_headers);
        str_key!(max_body);
    }
);

section!(
    /// `[admin]` (the builder starts with `listen = "127.0.0.1:0"`).
    Admin {
        str_key!(token);
        /// `allowed_hosts = [...]`.
        pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
            self.0.set("allowed_hosts", string_array(hosts));
            self
        }
    }
);

section!(
    /// `[log]`.
    Log {
        /// `access = "PATH"`.
        pub fn access(mut self, path: impl Display) -> Self {
            self.0.set_str("access", &path.to_string());
            self
        }
        str_key!(level);
    }
);

section!(
    /// `[pool.health]` of one pool (every key has a default).
    Health {
        str_key!(path);
        str_key!(interval);
        str_key!(timeout);
        int_key!(rise);
        int_key!(fall);
        str_key!(expect_status);
    }
);

section!(
    /// `[pool.passive]` of one pool.
    Passive {
        int_key!(consecutive_failures);
        str_key!(eject_for);
        /// `count_5xx = ..`.
        pub fn count_5xx(mut self, on: bool) -> Self {
            self.0.set("count_5xx", on);
            self
        }
    }
);

section!(
    /// `[route.match]`: every condition given must hold.
    Match {
        str_key!(preset);
        str_key!(host);
        str_key!(path_prefix);
        str_key!(path_exact);
        str_key!(path_regex);
        str_key!(user_agent);
        /// `path_suffix = [...]`.
        pub fn path_suffix(mut self, suffixes: &[&str]) -> Self {
            self.0.set("path_suffix", string_array(suffixes));
            self
        }
        /// `methods = [...]`.
        pub fn methods(mut self, methods: &[&str]) -> Self {
            self.0.set("methods", string_array(methods));
            self
        }
        /// `header = { name = .., value = .. }`.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.0.set("header", kv(name, value));
            self
        }
        /// `cookie = { name = .., value = .. }`.
        pub fn cookie(mut self, name: &str, value: &str) -> Self {
            self.0.set("cookie", kv(name, value));
            self
        }
        /// `query = { name = .., value = .. }`.
        pub fn query(mut self, name: &str, value: &str) -> Self {
            self.0.set("query", kv(name, value));
            self
        }
    }
);

fn kv(name: &str, value: &str) -> String {
    format!("{{ name = {}, value = {} }}", quote(name), quote(value))
}

// === impl Pool ===

/// One `[[pool]]`, with its optional `[pool.health]` and `[pool.passive]`.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    table: Table,
    servers: Vec<String>,
    health: Option<Health>,
    passive: Option<Passive>,
}

impl Pool {
    fn new(name: &str) -> Self {
        let mut table = Table::default();
        table.set_str("name", name);
        Pool {
            table,
            ..Pool::default()
        }
    }

    fn push_server(mut self, item: String) -> Self {
        self.servers.push(item);
        self.table
            .set("servers", format!("[{}]", self.servers.join(", ")));
        self
    }

    /// One more server, by address (a `SocketAddr` or any `host:port` text).
    pub fn server(self, addr: impl Display) -> Self {
        self.push_server(quote(&addr.to_string()))
    }

    /// Several servers, in order.
    pub fn servers<A: Display>(self, addrs: impl IntoIterator<Item = A>) -> Self {
        addrs.into_iter().fold(self, Pool::server)
    }

    /// One more server as `{ addr = .., weight = .. }`.
    pub fn weighted(self, addr: impl Display, weight: i64) -> Self {
        let item = format!(
            "{{ addr = {}, weight = {weight} }}",
            quote(&addr.to_string())
        );
        self.push_server(item)
    }

    /// `balance = ..` (round_robin, p2c, least_conn, consistent_hash).
    pub fn balance(mut self, how: &str) -> Self {
        self.table.set_str("balance", how);
        self
    }

    /// `max_conns_per_server = ..`.
    pub fn max_conns(mut self, n: i64) -> Self {
        self.table.set("max_conns_per_server", n);
        self
    }

    /// `max_idle_per_server = ..`.
    pub fn max_idle(mut self, n: i64) -> Self {
        self.table.set("max_idle_per_server", n);
        self
    }

    /// `max_queue = ..`.
    pub fn max_queue(mut self, n: i64) -> Self {
        self.table.set("max_queue", n);
        self
    }

    /// `queue_timeout = ".."`.
    pub fn queue_timeout(mut self, d: &str) -> Self {
        self.table.set_str("queue_timeout", d);
        self
    }

    /// `retries = ..`.
    pub fn retries(mut self, n: i64) -> Self {
        self.table.set("retries", n);
        self
    }

    /// `fallback = ".."`.
    pub fn fallback(mut self, pool: &str) -> Self {
        self.table.set_str("fallback", pool);
        self
    }

    /// `hash_on = ".."`.
    pub fn hash_on(mut self, on: &str) -> Self {
        self.table.set_str("hash_on", on);
        self
    }

    /// `hash_balance_factor = ..` (finite values; `raw` for anything else).
    pub fn hash_balance_factor(mut self, f: f64) -> Self {
        self.table.set("hash_balance_factor", format!("{f:?}"));
        self
    }

    /// A raw line of the `[[pool]]` table.
    pub fn raw(mut self, line: &str) -> Self {
        self.table.raw(line);
        self
    }

    /// `[pool.health]`, written even when `f` sets nothing (checks on, defaults).
    pub fn health(mut self, f: impl FnOnce(Health) -> Health) -> Self {
        self.health = Some(f(self.health.take().unwrap_or_default()));
        self
    }

    /// `[pool.passive]`, written even when `f` sets nothing.
    pub fn passive(mut self, f: impl FnOnce(Passive) -> Passive) -> Self {
        self.passive = Some(f(self.passive.take().unwrap_or_default()));
        self
    }

    fn write(&self, out: &mut String) {
        self.table.write(out, "[[pool]]");
        if let Some(h) = &self.health {
            h.0.write(out, "[pool.health]");
        }
        if let Some(p) = &self.passive {
            p.0.write(out, "[pool.passive]");
        }
    }
}

// === impl SluiceConfig ===

/// The whole config; see the module docs.
#[derive(Debug, Clone)]
pub struct SluiceConfig {
    server: Table,
    timeouts: Timeouts,
    limits: Limits,
    admin: Admin,
    log: Log,
    pools: Vec<Pool>,
    routes: Vec<(Table, Match)>,
    tables: Vec<String>,
    default_pool: Option<String>,
}

impl Default for SluiceConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl SluiceConfig {
    /// Loopback on port 0 (proxy and admin), one worker, no pinning, a 2 s
    /// `upstream_response`; no pools.
    pub fn new() -> Self {
        let mut server = Table::default();
        server.set("listen", string_array(&["127.0.0.1:0"]));
        server.set("workers", 1);
        server.set("pin_cores", false);
        let mut admin = Table::default();
        admin.set_str("listen", "127.0.0.1:0");
        SluiceConfig {
            server,
            timeouts: Timeouts::default().upstream_response("2s"),
            limits: Limits::default(),
            admin: Admin(admin),
            log: Log::default(),
            pools: Vec::new(),
            routes: Vec::new(),
            tables: Vec::new(),
            default_pool: None,
        }
    }

    /// `server.workers`.
    pub fn workers(mut self, n: i64) -> Self {
        self.server.set("workers", n);
        self
    }

    /// `server.listen`, one address (e.g. `[::]:0`, or a bound port kept over a reload).
    pub fn listen(mut self, addr: impl Display) -> Self {
        self.server.set("listen", string_array(&[addr.to_string()]));
        self
    }

    /// `server.max_connections`.
    pub fn max_connections(mut self, n: i64) -> Self {
        self.server.set("max_connections", n);
        self
    }

    /// `server.shutdown_timeout`.
    pub fn shutdown_timeout(mut self, d: &str) -> Self {
        self.server.set_str("shutdown_timeout", d);
        self
    }

    /// A raw line of `[server]`.
    pub fn server(mut self, line: &str) -> Self {
        self.server.raw(line);
        self
    }

    /// `[server.timeouts]`.
    pub fn timeouts(mut self, f: impl FnOnce(Timeouts) -> Timeouts) -> Self {
        self.timeouts = f(self.timeouts);
        self
    }

    /// `[server.limits]`.
    pub fn limits(mut self, f: impl FnOnce(Limits) -> Limits) -> Self {
        self.limits = f(self.limits);
        self
    }

    /// `[admin]`.
    pub fn admin(mut self, f: impl FnOnce(Admin) -> Admin) -> Self {
        self.admin = f(self.admin);
        self
    }

    /// `admin.token`.
    pub fn token(self, token: &str) -> Self {
        self.admin(|a| a.token(token))
    }

    /// `[log]`.
    pub fn log(mut self, f: impl FnOnce(Log) -> Log) -> Self {
        self.log = f(self.log);
        self
    }

    /// `log.access`: the JSON access log's path.
    pub fn access_log(self, path: impl Display) -> Self {
        self.log(|l| l.access(path))
    }

    /// One more `[[pool]]` named `name`.
    pub fn pool(mut self, name: &str, f: impl FnOnce(Pool) -> Pool) -> Self {
        self.pools.push(f(Pool::new(name)));
        self
    }

    /// One more `[[route]]` to `pool`, matching what `f` sets.
    pub fn route(mut self, name: &str, pool: &str, f: impl FnOnce(Match) -> Match) -> Self {
        let mut table = Table::default();
        table.set_str("name", name);
        table.set_str("pool", pool);
        self.routes.push((table, f(Match::default())));
        self
    }

    /// `[default] pool = ..`.
    pub fn default_pool(mut self, pool: &str) -> Self {
        self.default_pool = Some(pool.to_string());
        self
    }

    /// Whole tables of raw TOML, written after the routes (before `[default]`).
    pub fn tables(mut self, text: &str) -> Self {
        self.tables.push(text.to_string());
        self
    }

    /// The config as TOML text.
    pub fn toml(&self) -> String {
        let mut out = String::new();
        self.server.write(&mut out, "[server]");
        self.timeouts.0.write(&mut out, "[server.timeouts]");
        if !self.limits.0.is_empty() {
            self.limits.0.write(&mut out, "[server.limits]");
        }
        self.admin.0.write(&mut out, "[admin]");
        if !self.log.0.is_empty() {
            self.log.0.write(&mut out, "[log]");
        }
        for pool in &self.pools {
            pool.write(&mut out);
        }
        for (route, matcher) in &self.routes {
            route.write(&mut out, "[[route]]");
            if !matcher.0.is_empty() {
                matcher.0.write(&mut out, "[route.match]");
            }
        }
        for text in &self.tables {
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
        }
        if let Some(pool) = &self.default_pool {
            let _ = writeln!(out, "[default]\npool = {}", quote(pool));
        }
        out
    }

    /// Write the config to a temp file and start sluice on it.
    pub fn start(&self) -> Sluice {
        Sluice::start(&self.toml())
    }
}

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

mod pool;
mod sections;
mod table;

use std::fmt::{Display, Write};

use table::{Table, string_array};
#[allow(unused_imports)] // each test binary uses a different part of the kit
pub use {
    pool::Pool,
    sections::{Admin, Health, Limits, Log, Match, Passive, Timeouts},
    table::quote,
};

use super::Sluice;

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

//! One `[[pool]]` with its optional `[pool.health]` and `[pool.passive]`.

use std::fmt::Display;

use super::sections::{Health, Passive};
use super::table::{Table, quote};

/// One `[[pool]]`, with its optional `[pool.health]` and `[pool.passive]`.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    table: Table,
    servers: Vec<String>,
    health: Option<Health>,
    passive: Option<Passive>,
}

impl Pool {
    pub(super) fn new(name: &str) -> Self {
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

    pub(super) fn write(&self, out: &mut String) {
        self.table.write(out, "[[pool]]");
        if let Some(h) = &self.health {
            h.0.write(out, "[pool.health]");
        }
        if let Some(p) = &self.passive {
            p.0.write(out, "[pool.passive]");
        }
    }
}

//! Per-worker request metrics as plain fields (no atomics on the request path),
//! merged on read: the admin thread asks every worker for a copy over its control
//! channel and adds them up.
//!
//! Indexes follow the worker's config generation: route slot 0 is the default pool,
//! slot r+1 is `config.routes[r]`; servers are numbered across pools in config
//! order. A new generation starts new counters (Prometheus `rate()` handles resets).

use hdrhistogram::Histogram;

use crate::config::Config;

/// Status classes counted: 1xx..5xx.
pub const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
/// Why a request failed at a server: the `kind` label of
/// `sluice_upstream_errors_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    /// Connecting was refused or failed.
    ConnectFailed,
    /// Connecting took longer than `upstream_connect`.
    ConnectTimeout,
    /// Writing the request failed.
    SendFailed,
    /// The server closed or reset the connection.
    Reset,
    /// The server did not answer, or stalled, within `upstream_response`.
    Timeout,
    /// The answer was malformed or refused (framing).
    BadResponse,
}

impl UpstreamFailure {
    /// Every kind, in label order.
    pub const ALL: [UpstreamFailure; 6] = [
        UpstreamFailure::ConnectFailed,
        UpstreamFailure::ConnectTimeout,
        UpstreamFailure::SendFailed,
        UpstreamFailure::Reset,
        UpstreamFailure::Timeout,
        UpstreamFailure::BadResponse,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            UpstreamFailure::ConnectFailed => "connect_failed",
            UpstreamFailure::ConnectTimeout => "connect_timeout",
            UpstreamFailure::SendFailed => "send_failed",
            UpstreamFailure::Reset => "reset",
            UpstreamFailure::Timeout => "timeout",
            UpstreamFailure::BadResponse => "bad_response",
        }
    }
}

/// Latency histogram range, microseconds.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// One worker's counters for one config generation.
#[derive(Clone)]
pub struct WorkerMetrics {
    /// Config generation these indexes belong to.
    pub generation: u64,
    /// First global server index of each pool.
    pub pool_offsets: Vec<usize>,
    /// Servers across all pools.
    pub servers: usize,
    /// `[route_slot][server or servers (= answered by sluice)][class]`, flattened.
    pub requests: Vec<[u64; 5]>,
    /// Request body bytes per route slot.
    pub bytes_in: Vec<u64>,
    /// Response bytes per route slot.
    pub bytes_out: Vec<u64>,
    /// Latency per `[route_slot][pool]`, created on first use.
    pub latency: Vec<Option<Histogram<u64>>>,
    /// Requests that failed at each server, by `UpstreamFailure` kind.
    pub upstream_errors: Vec<[u64; UpstreamFailure::ALL.len()]>,
    /// TLS handshakes: `[ok, error]` (`sluice_tls_handshakes_total{result}`).
    pub tls_handshakes: [u64; 2],
    pools: usize,
}

/// What one finished request contributes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    /// Route index, `None` = default pool / no route.
    pub route: Option<usize>,
    /// Pool that served (after any fallback); `None` when none was chosen.
    pub pool: Option<usize>,
    /// Server index within `pool`.
    pub server: Option<usize>,
    /// Status sent to the client.
    pub status: u16,
    /// Request and response body bytes.
    pub bytes_in: u64,
    /// Response bytes.
    pub bytes_out: u64,
    /// Time from complete head to end of answer.
    pub micros: u64,
}

impl WorkerMetrics {
    /// Empty counters shaped for `config`.
    pub fn new(config: &Config, generation: u64) -> Self {
        let mut pool_offsets = Vec::with_capacity(config.pools.len());
        let mut servers = 0;
        for p in &config.pools {
            pool_offsets.push(servers);
            servers += p.servers.len();
        }
        let slots = config.routes.len() + 1;
        WorkerMetrics {
            generation,
            pool_offsets,
            servers,
            requests: vec![[0; 5]; slots * (servers + 1)],
            bytes_in: vec![0; slots],
            bytes_out: vec![0; slots],
            latency: vec![None; slots * config.pools.len().max(1)],
            upstream_errors: vec![[0; UpstreamFailure::ALL.len()]; servers],
            tls_handshakes: [0; 2],
            pools: config.pools.len().max(1),
        }
    }

    /// Route slot of a route index.
    pub fn slot(route: Option<usize>) -> usize {
        route.map_or(0, |r| r + 1)
    }

    /// Count one request.
    // HOT PATH: no alloc after the first request of a (route, pool), no lock.
    pub fn record(&mut self, s: &Sample) {
        let slot = Self::slot(s.route);
        if slot >= self.bytes_in.len() {
            return;
        }
        let server = match (s.pool, s.server) {
            (Some(p), Some(i)) if p < self.pool_offsets.len() => self.pool_offsets[p] + i,
            _ => self.servers,
        };
        let class = usize::from((s.status / 100).clamp(1, 5)) - 1;
        if let Some(row) = self.requests.get_mut(slot * (self.servers + 1) + server) {
            row[class] += 1;
        }
        self.bytes_in[slot] += s.bytes_in;
        self.bytes_out[slot] += s.bytes_out;
        if let Some(pool) = s.pool
            && let Some(h) = self.latency.get_mut(slot * self.pools + pool)
        {
            let h = h.get_or_insert_with(|| {
                Histogram::new_with_bounds(1, MAX_LATENCY_US, 2)
                    .unwrap_or_else(|_| unreachable!("valid bounds"))
            });
            let _ = h.record(s.micros.clamp(1, MAX_LATENCY_US));
        }
    }

    /// Count an upstream failure of `kind` at a server.
    pub fn upstream_error(&mut self, pool: usize, server: usize, kind: UpstreamFailure) {
        if let Some(off) = self.pool_offsets.get(pool)
            && let Some(e) = self.upstream_errors.get_mut(off + server)
        {
            e[kind as usize] += 1;
        }
    }

    /// Count a finished TLS handshake.
    pub fn tls_handshake(&mut self, ok: bool) {
        self.tls_handshakes[usize::from(!ok)] += 1;
    }

    /// Failures of `kind` counted at global server index `server`.
    pub fn upstream_errors_at(&self, server: usize, kind: UpstreamFailure) -> u64 {
        self.upstream_errors
            .get(server)
            .map_or(0, |e| e[kind as usize])
    }

    /// Add another worker's counters of the same generation.
    pub fn merge(&mut self, o: &WorkerMetrics) {
        if o.generation != self.generation || o.requests.len() != self.requests.len() {
            return;
        }
        for (a, b) in self.requests.iter_mut().zip(&o.requests) {
            for k in 0..5 {
                a[k] += b[k];
            }
        }
        for (a, b) in self.tls_handshakes.iter_mut().zip(&o.tls_handshakes) {
            *a += b;
        }
        for (a, b) in self.bytes_in.iter_mut().zip(&o.bytes_in) {
            *a += b;
        }
        for (a, b) in self.bytes_out.iter_mut().zip(&o.bytes_out) {
            *a += b;
        }
        for (a, b) in self.upstream_errors.iter_mut().zip(&o.upstream_errors) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.latency.iter_mut().zip(&o.latency) {
            match (a.as_mut(), b) {
                (Some(a), Some(b)) => {
                    let _ = a.add(b);
                }
                (None, Some(b)) => *a = Some(b.clone()),
                _ => {}
            }
        }
    }

    /// Requests per class for a route slot and global server (`servers` = sluice).
    pub fn requests_at(&self, slot: usize, server: usize) -> [u64; 5] {
        self.requests
            .get(slot * (self.servers + 1) + server)
            .copied()
            .unwrap_or_default()
    }

    /// Latency histogram of a route slot and pool.
    pub fn latency_at(&self, slot: usize, pool: usize) -> Option<&Histogram<u64>> {
        self.latency
            .get(slot * self.pools + pool)
            .and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_and_merge() {
        let c = Config::from_toml_str("[[pool]]\nname = \"a\"\nservers = [\"127.0.0.1:1\", \"127.0.0.1:2\"]\n[[route]]\nname = \"r\"\npool = \"a\"\n").unwrap();
        let mut a = WorkerMetrics::new(&c, 1);
        let mut b = WorkerMetrics::new(&c, 1);
        let s = Sample {
            route: Some(0),
            pool: Some(0),
            server: Some(1),
            status: 200,
            bytes_in: 0,
            bytes_out: 10,
            micros: 500,
        };
        a.record(&s);
        b.record(&s);
        b.record(&Sample {
            status: 404,
            route: None,
            pool: None,
            server: None,
            ..s
        });
        a.merge(&b);
        assert_eq!(a.requests_at(1, 1), [0, 2, 0, 0, 0]);
        assert_eq!(a.requests_at(0, 2), [0, 0, 0, 1, 0]);
        assert_eq!(a.bytes_out[1], 20);
        assert_eq!(a.latency_at(1, 0).map(|h| h.len()), Some(2));
    }
}

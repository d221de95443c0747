//! Shared control state and the channels that carry it to workers.
//!
//! A `Snapshot` is an immutable view of one config generation, replaced whole (STYLE
//! habit 9). Per-server live figures (`crate::stats::ServerStats`, re-exported here)
//! are atomics shared by every worker and the control plane; they survive reloads
//! for servers that stay. Workers
//! receive `Command`s on an unbounded crossbeam channel (`Inbox`) and poll it with
//! `try_recv` between requests, so the request path never blocks on the control
//! plane and no config generation or shutdown is ever dropped.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Sender;

use crate::config::Config;

pub mod inbox;
pub mod queue;
/// `ServerStats` lives below `balance` (STYLE §2 line 1), which reads it; these
/// re-exports keep the `control::` paths working.
pub use crate::stats::{self, AdminState, ServerState, ServerStats};
pub use inbox::Inbox;
pub use queue::SlotQueue;

/// One config generation with the live stats of each pool's servers.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one per applied config.
    pub generation: u64,
    /// The validated config.
    pub config: Arc<Config>,
    /// `servers[pool][i]` matches `config.pools[pool].servers[i]`.
    pub servers: Vec<Vec<Arc<ServerStats>>>,
    /// `queues[pool]`: requests waiting for a free slot in that pool (all workers).
    pub queues: Vec<Arc<SlotQueue>>,
    /// This generation's rustls config (`[tls]` with certificates), for connections
    /// accepted on TLS listeners while it is current; established connections keep
    /// the one they were accepted with.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Build the rustls config of `config`'s `[tls]`, if it has certificates.
fn tls_config(config: &Config) -> Option<Arc<rustls::ServerConfig>> {
    let t = config.tls.as_ref().filter(|t| !t.certs.is_empty())?;
    let settings = crate::tls::Settings {
        certs: &t.certs,
        min_version: t.min_version,
        alpn: &t.alpn,
        strict_sni: t.strict_sni,
    };
    match crate::tls::server_config(&settings) {
        Ok(c) => Some(c),
        Err(e) => {
            crate::log_error!("tls: {e}; TLS connections are refused");
            None
        }
    }
}

impl Snapshot {
    /// Build a snapshot, reusing the stats of servers (same pool name and address)
    /// that exist in `previous`, so counters and states survive a reload.
    pub fn new(generation: u64, config: Arc<Config>, previous: Option<&Snapshot>) -> Self {
        let mut old: HashMap<(&str, SocketAddr), &Arc<ServerStats>> = HashMap::new();
        let mut old_queues: HashMap<&str, &Arc<SlotQueue>> = HashMap::new();
        if let Some(prev) = previous {
            for ((pool, stats), queue) in prev
                .config
                .pools
                .iter()
                .zip(&prev.servers)
                .zip(&prev.queues)
            {
                for s in stats {
                    old.insert((pool.name.as_str(), s.addr), s);
                }
                old_queues.insert(pool.name.as_str(), queue);
            }
        }
        // A pool that stays keeps its queue: requests waiting on the old generation
        // are woken by slots freed on the new one.
        let queues = config
            .pools
            .iter()
            .map(|pool| match old_queues.get(pool.name.as_str()) {
                Some(q) => Arc::clone(q),
                None => Arc::new(SlotQueue::new()),
            })
            .collect();
        let servers = config
            .pools
            .iter()
            .map(|pool| {
                pool.servers
                    .iter()
                    .map(|b| match old.get(&(pool.name.as_str(), b.addr)) {
                        Some(s) => Arc::clone(s),
                        None => Arc::new(ServerStats::new(b.addr)),
                    })
                    .collect()
            })
            .collect();
        Snapshot {
            generation,
            tls: tls_config(&config),
            config,
            servers,
            queues,
        }
    }

    /// Find a server by pool name and address.
    pub fn server(&self, pool: &str, addr: SocketAddr) -> Option<&Arc<ServerStats>> {
        let p = self.config.pools.iter().position(|p| p.name == pool)?;
        self.servers[p].iter().find(|s| s.addr == addr)
    }
}

/// A message to every worker.
#[derive(Debug, Clone)]
pub enum Command {
    /// Switch to this generation between requests.
    Apply(Arc<Snapshot>),
    /// Close pooled upstream connections to this address (drain/disable).
    CloseIdle(SocketAddr),
    /// Stop accepting, finish in-flight requests, exit.
    Shutdown,
    /// Send a copy of this worker's metrics (admin reads; never blocks the worker).
    CollectMetrics(Sender<crate::metrics::WorkerMetrics>),
}

/// Best-effort messages (`CollectMetrics`) are not queued for a worker that has
/// this many messages waiting already: it is behind, and the read would time out.
pub const BEST_EFFORT_BACKLOG: usize = 64;

/// The control plane's end of the worker channels.
#[derive(Debug, Clone)]
pub struct Fanout {
    senders: Vec<Sender<Command>>,
    /// The config generation each worker runs, published by its `Inbox`.
    running: Arc<[AtomicU64]>,
}

impl Fanout {
    /// One unbounded channel per worker, all workers starting on `generation`;
    /// returns the fan-out and each worker's inbox.
    pub fn new(workers: usize, generation: u64) -> (Fanout, Vec<Inbox>) {
        let running: Arc<[AtomicU64]> = (0..workers).map(|_| AtomicU64::new(generation)).collect();
        let (senders, inboxes) = (0..workers)
            .map(|w| {
                let (tx, rx) = crossbeam_channel::unbounded();
                (tx, Inbox::new(rx, Arc::clone(&running), w))
            })
            .unzip();
        (Fanout { senders, running }, inboxes)
    }

    /// Send `cmd` to every worker without ever blocking. `Apply`, `Shutdown` and
    /// `CloseIdle` change state and are always queued (the channels are unbounded;
    /// a worker drains its channel every tick and coalesces generations, so the
    /// queue stays short). `CollectMetrics` is skipped for a worker with
    /// `BEST_EFFORT_BACKLOG` messages waiting. `false` when some worker did not get
    /// `cmd` (skipped, or its thread has ended).
    pub fn broadcast(&self, cmd: &Command) -> bool {
        let mut all = true;
        for s in &self.senders {
            if matches!(cmd, Command::CollectMetrics(_)) && s.len() >= BEST_EFFORT_BACKLOG {
                all = false;
                continue;
            }
            if s.send(cmd.clone()).is_err() {
                all = false;
            }
        }
        all
    }

    /// The generation each worker runs now, by worker index.
    pub fn running(&self) -> Vec<u64> {
        self.running
            .iter()
            .map(|g| g.load(Ordering::Acquire))
            .collect()
    }
}

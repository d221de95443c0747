//! Shared control state and the channels that carry it to workers.
//!
//! A `Snapshot` is an immutable view of one config generation, replaced whole (STYLE
//! habit 9). Per-server live figures (`ServerStats`) are atomics shared by every
//! worker and the control plane; they survive reloads for servers that stay. Workers
//! receive `Command`s on a crossbeam channel and poll it with `try_recv` between
//! requests, so the request path never blocks on the control plane.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::config::Config;

pub mod queue;
pub mod stats;
pub use queue::SlotQueue;
pub use stats::{AdminState, ServerState, ServerStats};

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

/// The control plane's end of the worker channels.
#[derive(Debug, Clone)]
pub struct Fanout {
    senders: Vec<Sender<Command>>,
}

impl Fanout {
    /// Make one bounded channel per worker; returns the fan-out and the receivers.
    pub fn new(workers: usize) -> (Fanout, Vec<Receiver<Command>>) {
        let (senders, receivers) = (0..workers).map(|_| crossbeam_channel::bounded(64)).unzip();
        (Fanout { senders }, receivers)
    }

    /// Send `cmd` to every worker. A full channel means the worker is behind: the
    /// command is dropped for that worker and `false` returned, never blocking.
    pub fn broadcast(&self, cmd: &Command) -> bool {
        let mut all = true;
        for s in &self.senders {
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                s.try_send(cmd.clone())
            {
                all = false;
            }
        }
        all
    }
}

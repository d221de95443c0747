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
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::config::Config;

/// Administrative/health state of one server (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ServerState {
    /// Takes new requests.
    Up = 0,
    /// Failed health checks or was ejected: no new requests.
    Down = 1,
    /// Operator drain: no new requests, pooled connections closed.
    Draining = 2,
    /// Operator disable: like drain, shown as `disabled`.
    Disabled = 3,
}

impl ServerState {
    /// The name used by the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerState::Up => "up",
            ServerState::Down => "down",
            ServerState::Draining => "draining",
            ServerState::Disabled => "disabled",
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            0 => ServerState::Up,
            1 => ServerState::Down,
            2 => ServerState::Draining,
            _ => ServerState::Disabled,
        }
    }
}

/// Live figures of one server, shared by all workers (relaxed atomics only).
#[derive(Debug)]
pub struct ServerStats {
    /// The server's address.
    pub addr: SocketAddr,
    state: AtomicU8,
    /// Requests currently being served by this server, all workers together.
    pub in_flight: AtomicU32,
    /// Upstream connections open to this server, all workers together.
    pub open_conns: AtomicU32,
    /// Requests sent to this server.
    pub requests: AtomicU64,
    /// Requests that failed at this server (connect, reset, timeout, bad response).
    pub errors: AtomicU64,
}

impl ServerStats {
    /// A fresh server, `up`.
    pub fn new(addr: SocketAddr) -> Self {
        ServerStats {
            addr,
            state: AtomicU8::new(ServerState::Up as u8),
            in_flight: AtomicU32::new(0),
            open_conns: AtomicU32::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Current state.
    #[inline]
    pub fn state(&self) -> ServerState {
        ServerState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Change the state.
    pub fn set_state(&self, s: ServerState) {
        self.state.store(s as u8, Ordering::Relaxed);
    }

    /// Whether new requests may go here.
    #[inline]
    pub fn is_up(&self) -> bool {
        self.state() == ServerState::Up
    }
}

/// One config generation with the live stats of each pool's servers.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one per applied config.
    pub generation: u64,
    /// The validated config.
    pub config: Arc<Config>,
    /// `servers[pool][i]` matches `config.pools[pool].servers[i]`.
    pub servers: Vec<Vec<Arc<ServerStats>>>,
}

impl Snapshot {
    /// Build a snapshot, reusing the stats of servers (same pool name and address)
    /// that exist in `previous`, so counters and states survive a reload.
    pub fn new(generation: u64, config: Arc<Config>, previous: Option<&Snapshot>) -> Self {
        let mut old: HashMap<(&str, SocketAddr), &Arc<ServerStats>> = HashMap::new();
        if let Some(prev) = previous {
            for (pool, stats) in prev.config.pools.iter().zip(&prev.servers) {
                for s in stats {
                    old.insert((pool.name.as_str(), s.addr), s);
                }
            }
        }
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

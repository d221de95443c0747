//! Per-worker keep-alive pools of idle upstream connections, keyed by server address.
//!
//! Owned by one worker (`RefCell` in its context), so no locks. A connection is
//! reused newest-first (its TCP state is warmest), dropped after `upstream_idle`, and
//! — when it has been idle for more than `PROBE_AFTER` — probed with a non-blocking
//! peek so one the origin closed is not handed out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use super::connect::UpstreamConn;
use super::sys::{IdleProbe, probe_idle};

/// Connections idle at least this long are probed before reuse.
pub const PROBE_AFTER: Duration = Duration::from_millis(100);

struct Idle {
    conn: UpstreamConn,
    since: Instant,
}

/// Idle upstream connections of one worker.
#[derive(Default)]
pub struct IdlePool {
    by_server: HashMap<SocketAddr, Vec<Idle>>,
}

impl IdlePool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take a reusable idle connection to `addr`, discarding stale or closed ones.
    // HOT PATH: no alloc, no lock, no blocking call (one non-blocking peek).
    pub fn lease(
        &mut self,
        addr: SocketAddr,
        now: Instant,
        max_idle_time: Duration,
    ) -> Option<UpstreamConn> {
        let list = self.by_server.get_mut(&addr)?;
        while let Some(idle) = list.pop() {
            if now.duration_since(idle.since) >= max_idle_time {
                continue;
            }
            // A connection used moments ago is handed out unprobed: the probe is a
            // syscall per request, and the rare origin close in that window is
            // caught by the exchange's retry on a fresh connection.
            let recent = now.duration_since(idle.since) < PROBE_AFTER;
            if recent || probe_idle(idle.conn.stream.as_raw_fd()) == IdleProbe::Quiet {
                return Some(idle.conn);
            }
        }
        None
    }

    /// Return a connection after a complete exchange; dropped when the server
    /// already has `max_idle` idle connections on this worker.
    pub fn release(&mut self, conn: UpstreamConn, now: Instant, max_idle: usize) {
        let addr = conn.open.server().addr;
        let list = self.by_server.entry(addr).or_default();
        if list.len() < max_idle {
            list.push(Idle { conn, since: now });
        }
    }

    /// Close every idle connection to `addr` (drain/disable/removal).
    pub fn close_server(&mut self, addr: SocketAddr) {
        self.by_server.remove(&addr);
    }

    /// Drop connections idle longer than `max_idle_time`; returns how many.
    pub fn sweep(&mut self, now: Instant, max_idle_time: Duration) -> usize {
        let mut dropped = 0;
        for list in self.by_server.values_mut() {
            let before = list.len();
            list.retain(|i| now.duration_since(i.since) < max_idle_time);
            dropped += before - list.len();
        }
        dropped
    }

    /// Idle connections held, all servers.
    pub fn len(&self) -> usize {
        self.by_server.values().map(Vec::len).sum()
    }

    /// Whether no idle connection is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

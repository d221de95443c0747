//! Live figures and state of one server, shared by every worker, the health checker
//! and the admin API as relaxed atomics (no locks). The effective state combines the
//! operator's word (drain/disable), the active health verdict and passive ejection.
//!
//! Pure data on STYLE §2's line 1 (it imports nothing from the crate): `balance`
//! (line 2) reads it on every pick, `control` (line 3) holds it in snapshots and
//! re-exports it as `control::{stats, ServerStats, ...}`.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

/// What the admin API shows for a server (SPEC §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Takes new requests.
    Up,
    /// Failed health checks or ejected by passive checks: no new requests.
    Down,
    /// Operator drain: no new requests, pooled connections closed.
    Draining,
    /// Operator disable: like drain, for an operator's reason.
    Disabled,
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
}

/// The operator's override.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum AdminState {
    /// Health-checked service.
    Enabled = 0,
    /// `drain`.
    Draining = 1,
    /// `disable`.
    Disabled = 2,
}

/// Milliseconds since the first call in this process (a monotonic clock that fits an
/// atomic).
pub fn now_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Live figures of one server, shared by all workers.
#[derive(Debug)]
pub struct ServerStats {
    /// The server's address.
    pub addr: SocketAddr,
    admin: AtomicU8,
    healthy: AtomicBool,
    /// Passive ejection ends at this `now_ms()`; 0 = not ejected.
    ejected_until: AtomicU64,
    /// Consecutive failures seen by live traffic (any worker).
    pub consecutive_failures: AtomicU32,
    /// Requests currently being served by this server, all workers together.
    pub in_flight: AtomicU32,
    /// Upstream connections open to this server, all workers together.
    pub open_conns: AtomicU32,
    /// Upstream connections ever opened to this server (`sluice_upstream_connects_total`):
    /// at a steady load it stays still, as idle connections are reused.
    pub connects: AtomicU64,
    /// Requests sent to this server.
    pub requests: AtomicU64,
    /// Requests that failed at this server (connect, reset, timeout, bad response).
    pub errors: AtomicU64,
    /// `now_ms()` of the last active check; 0 = never.
    pub last_check_ms: AtomicU64,
    /// Whether the last active check passed.
    pub last_check_ok: AtomicBool,
}

impl ServerStats {
    /// A fresh server: enabled and healthy.
    pub fn new(addr: SocketAddr) -> Self {
        ServerStats {
            addr,
            admin: AtomicU8::new(AdminState::Enabled as u8),
            healthy: AtomicBool::new(true),
            ejected_until: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            open_conns: AtomicU32::new(0),
            connects: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            last_check_ms: AtomicU64::new(0),
            last_check_ok: AtomicBool::new(false),
        }
    }

    /// The operator's override.
    pub fn admin(&self) -> AdminState {
        match self.admin.load(Ordering::Relaxed) {
            0 => AdminState::Enabled,
            1 => AdminState::Draining,
            _ => AdminState::Disabled,
        }
    }

    /// Set the operator's override.
    pub fn set_admin(&self, s: AdminState) {
        self.admin.store(s as u8, Ordering::Relaxed);
    }

    /// Record the active health verdict.
    pub fn set_healthy(&self, up: bool) {
        self.healthy.store(up, Ordering::Relaxed);
    }

    /// The active health verdict.
    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Eject from rotation until `until_ms` (`now_ms()` scale).
    pub fn eject_until(&self, until_ms: u64) {
        self.ejected_until.store(until_ms, Ordering::Relaxed);
    }

    /// Whether a passive ejection is in force.
    #[inline]
    pub fn is_ejected(&self) -> bool {
        let until = self.ejected_until.load(Ordering::Relaxed);
        until != 0 && now_ms() < until
    }

    /// The effective state.
    pub fn state(&self) -> ServerState {
        match self.admin() {
            AdminState::Draining => ServerState::Draining,
            AdminState::Disabled => ServerState::Disabled,
            AdminState::Enabled if !self.is_healthy() || self.is_ejected() => ServerState::Down,
            AdminState::Enabled => ServerState::Up,
        }
    }

    /// Whether new requests may go here.
    // HOT PATH: relaxed loads only.
    #[inline]
    pub fn is_up(&self) -> bool {
        self.admin.load(Ordering::Relaxed) == AdminState::Enabled as u8
            && self.is_healthy()
            && !self.is_ejected()
    }

    /// Count a live-traffic failure; returns true when it reached `threshold`
    /// consecutive failures (and resets the run).
    pub fn record_failure(&self, threshold: u32) -> bool {
        let n = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if threshold > 0 && n >= threshold {
            self.consecutive_failures.store(0, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Count a live-traffic success (ends a failure run).
    #[inline]
    pub fn record_success(&self) {
        if self.consecutive_failures.load(Ordering::Relaxed) != 0 {
            self.consecutive_failures.store(0, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_state() {
        let s = ServerStats::new("127.0.0.1:1".parse().unwrap());
        assert_eq!(s.state(), ServerState::Up);
        s.set_healthy(false);
        assert_eq!(s.state(), ServerState::Down);
        s.set_admin(AdminState::Draining);
        assert_eq!(s.state(), ServerState::Draining);
        s.set_admin(AdminState::Disabled);
        assert_eq!(s.state(), ServerState::Disabled);
        s.set_admin(AdminState::Enabled);
        s.set_healthy(true);
        s.eject_until(now_ms() + 60_000);
        assert!(!s.is_up());
        s.eject_until(0);
        assert!(s.is_up());
    }

    #[test]
    fn failure_runs() {
        let s = ServerStats::new("127.0.0.1:1".parse().unwrap());
        assert!(!s.record_failure(3));
        assert!(!s.record_failure(3));
        s.record_success();
        assert!(!s.record_failure(3));
        assert!(!s.record_failure(3));
        assert!(s.record_failure(3));
    }
}

//! A reserved request slot on one upstream server: process-wide in-flight counting
//! (the `max_conns_per_server` limit, taken by compare-and-swap, no lock), the
//! outcome fed to passive outlier detection, and the wake-up of the pool's oldest
//! queued request when the slot frees.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::config::Passive;
use crate::control::stats::now_ms;
use crate::control::{ServerStats, SlotQueue};

use crate::core::ctx::Ctx;

/// A reserved slot on a server: counts the request in flight (all workers) for as
/// long as it lives, and reports the outcome to passive outlier detection.
pub(super) struct InFlight<'a> {
    server: &'a ServerStats,
    queue: &'a SlotQueue,
    passive: Option<Passive>,
}

impl<'a> InFlight<'a> {
    /// Reserve a slot unless the server already has `max` requests in flight
    /// (`max_conns_per_server`, process-wide, compare-and-swap: no lock).
    pub fn try_start(
        server: &'a ServerStats,
        queue: &'a SlotQueue,
        max: u32,
        passive: Option<Passive>,
    ) -> Option<Self> {
        server
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        server.requests.fetch_add(1, Ordering::Relaxed);
        Some(InFlight {
            server,
            queue,
            passive,
        })
    }

    /// Keep the slot for as long as an upgraded connection's tunnel lives: a
    /// tunnel occupies the server like a request does (`max_conns_per_server`).
    pub fn into_tunnel(self, server: Arc<ServerStats>, queue: Arc<SlotQueue>) -> TunnelSlot {
        debug_assert!(std::ptr::eq(self.server, &*server));
        std::mem::forget(self);
        TunnelSlot { server, queue }
    }

    /// A transport-level failure at this server.
    pub fn failed(&self, ctx: &Ctx) {
        self.server.errors.fetch_add(1, Ordering::Relaxed);
        self.passive_failure(ctx);
    }

    /// Count toward passive ejection; eject when the run reaches the threshold.
    fn passive_failure(&self, ctx: &Ctx) {
        if let Some(p) = self.passive
            && self.server.record_failure(p.consecutive_failures)
        {
            self.server
                .eject_until(now_ms() + p.eject_for.as_millis() as u64);
            ctx.idle.borrow_mut().close_server(self.server.addr);
            crate::log_warn!(
                "passive: {} ejected for {:?}",
                self.server.addr,
                p.eject_for
            );
        }
    }

    /// A response was relayed: `status` counts as a failure when `count_5xx` asks.
    pub fn finished(&self, ctx: &Ctx, status: u16) {
        match self.passive {
            Some(p) if p.count_5xx && status >= 500 => self.passive_failure(ctx),
            Some(_) => self.server.record_success(),
            None => {}
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        release(self.server, self.queue);
    }
}

/// A slot held by a tunnel (owned: the tunnel outlives the request's snapshot borrow).
pub struct TunnelSlot {
    server: Arc<ServerStats>,
    queue: Arc<SlotQueue>,
}

impl Drop for TunnelSlot {
    fn drop(&mut self) {
        release(&self.server, &self.queue);
    }
}

/// Free a slot, then wake the pool's oldest waiter. The decrement is a locked
/// read-modify-write and the queue reads its waiter count after it (see
/// `control::queue` for why no wake-up is lost).
// HOT PATH: one atomic decrement and one load.
#[inline]
fn release(server: &ServerStats, queue: &SlotQueue) {
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    queue.notify_one();
}

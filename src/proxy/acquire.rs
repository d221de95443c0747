//! Getting a slot on a server for one try of a request: pick a server in the pool,
//! reserve a slot on it, follow `fallback` when nobody is up, and wait in the pool's
//! queue when every usable server is full (woken when a slot frees, no polling; at
//! most `max_queue` waiters, at most `queue_timeout` of waiting).

use std::sync::Arc;
use std::time::Instant;

use crate::balance::{Pick, Tried};
use crate::config::Pool;
use crate::control::SlotQueue;
use crate::control::queue::Waiter;
use crate::core::ctx::{Ctx, WorkerView};

use super::error::{Kind, ProxyError};
use super::slot::InFlight;

/// How far `fallback` pools are followed.
const MAX_FALLBACK_HOPS: u32 = 4;

/// Where a request is being sent: the pool (it changes when falling back) and the
/// servers of that pool it already tried.
pub(super) struct Target {
    /// Index of the pool in the config.
    pub pool: usize,
    /// Servers of `pool` already tried.
    pub tried: Tried,
    hops: u32,
}

impl Target {
    /// Start at `pool`.
    pub fn new(pool: usize) -> Self {
        Target {
            pool,
            tried: Tried::new(),
            hops: 0,
        }
    }
}

/// Reserve a slot for the next try. `last_failure` is the failure of an earlier try:
/// with nobody left to try, the client gets that rather than a 503.
pub(super) async fn acquire<'v>(
    ctx: &Ctx,
    view: &'v WorkerView,
    target: &mut Target,
    hash: u64,
    mut last_failure: Option<ProxyError>,
) -> Result<(usize, InFlight<'v>), ProxyError> {
    let mut queued = Queued {
        waiter: None,
        until: None,
    };
    loop {
        match try_slot(view, target, hash, queued.waiter.is_some()) {
            Slot::Got(idx, flight) => {
                if let Some(w) = queued.waiter.take() {
                    w.served();
                }
                return Ok((idx, flight));
            }
            Slot::NoneUp => {
                fall_back(view, target, last_failure.take())?;
                queued.waiter = None;
            }
            Slot::Full => {
                let pool = &view.snapshot.config.pools[target.pool];
                let queue = &view.snapshot.queues[target.pool];
                queued.wait_turn(ctx, queue, pool).await?;
            }
        }
    }
}

/// What one look at the pool found.
enum Slot<'v> {
    /// A slot on this server.
    Got(usize, InFlight<'v>),
    /// Every usable server is at `max_conns_per_server`, or others wait already.
    Full,
    /// No server is up.
    NoneUp,
}

/// Pick a server and reserve a slot on it, unless requests already wait for one
/// (`queued`: this request is one of them, so it may pick).
// HOT PATH: no alloc, no lock, no blocking call.
fn try_slot<'v>(view: &'v WorkerView, target: &Target, hash: u64, queued: bool) -> Slot<'v> {
    let snap = &view.snapshot;
    let pool = &snap.config.pools[target.pool];
    let servers = &snap.servers[target.pool];
    let queue = &snap.queues[target.pool];
    // Requests already waiting get the slots that free before a newcomer does.
    if !queued && queue.waiting() > 0 {
        return Slot::Full;
    }
    let max = pool.max_conns_per_server;
    match view.balancers.borrow_mut()[target.pool].pick(servers, &target.tried, hash, max) {
        // Another worker may take the last slot between the pick and the
        // reservation: the pool is full then, and the request waits.
        Pick::Server(idx) => InFlight::try_start(&servers[idx], queue, max, pool.passive)
            .map_or(Slot::Full, |flight| Slot::Got(idx, flight)),
        Pick::Full => Slot::Full,
        Pick::NoneUp => Slot::NoneUp,
    }
}

/// Nobody in the pool is up: move to its `fallback` pool, or fail (with an earlier
/// try's failure when there was one).
fn fall_back(
    view: &WorkerView,
    target: &mut Target,
    last_failure: Option<ProxyError>,
) -> Result<(), ProxyError> {
    if let Some(failure) = last_failure {
        return Err(failure);
    }
    match view.snapshot.config.pools[target.pool].fallback {
        Some(fallback) if target.hops < MAX_FALLBACK_HOPS => {
            target.hops += 1;
            target.pool = fallback;
            target.tried.clear();
            Ok(())
        }
        _ => Err(Kind::NoHealthyServer.into()),
    }
}

/// A request's place in its pool's queue, and when its wait ends.
struct Queued {
    waiter: Option<Waiter>,
    until: Option<Instant>,
}

impl Queued {
    /// Wait for a freed slot (then the caller picks again), joining the queue
    /// first. Errors when the queue is full or `queue_timeout` passed.
    async fn wait_turn(
        &mut self,
        ctx: &Ctx,
        queue: &Arc<SlotQueue>,
        pool: &Pool,
    ) -> Result<(), ProxyError> {
        let w = match self.waiter.as_mut() {
            Some(w) => {
                // Woken, but the slot went elsewhere: back in the queue.
                w.requeue().await;
                w
            }
            None => {
                let w = queue.join(pool.max_queue).await.ok_or(Kind::QueueFull)?;
                let first = w.first();
                let w = self.waiter.insert(w);
                if first {
                    // Pick again now that the ticket is filed: a slot freed before
                    // it was would otherwise wake nobody.
                    return Ok(());
                }
                w
            }
        };
        let now = ctx.timers.coarse_now();
        let until = *self.until.get_or_insert(now + pool.queue_timeout);
        let left = until.saturating_duration_since(now);
        if left.is_zero() {
            return Err(Kind::QueueTimeout.into());
        }
        let expiry = ctx.timers.after(left).expiry();
        monoio::select! {
            _ = w.sleep() => Ok(()),
            _ = expiry => Err(Kind::QueueTimeout.into()),
        }
    }
}

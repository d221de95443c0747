//! Getting a slot on a server for one try of a request: pick a server in the pool,
//! reserve a slot on it, follow `fallback` when nobody is up, and wait in the pool's
//! queue when every usable server is full (woken when a slot frees, no polling; at
//! most `max_queue` waiters, at most `queue_timeout` of waiting).

use std::time::Instant;

use crate::balance::{Pick, Tried};
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
    last_failure: Option<ProxyError>,
) -> Result<(usize, InFlight<'v>), ProxyError> {
    let snap = &view.snapshot;
    let mut waiter: Option<Waiter> = None;
    let mut queued_until: Option<Instant> = None;
    loop {
        let pool = &snap.config.pools[target.pool];
        let servers = &snap.servers[target.pool];
        let queue = &snap.queues[target.pool];
        // Requests already waiting get the slots that free before a newcomer does.
        let picked = if waiter.is_none() && queue.waiting() > 0 {
            Pick::Full
        } else {
            view.balancers.borrow_mut()[target.pool].pick(
                servers,
                &target.tried,
                hash,
                pool.max_conns_per_server,
            )
        };
        match picked {
            Pick::Server(idx) => {
                if let Some(flight) = InFlight::try_start(
                    &servers[idx],
                    queue,
                    pool.max_conns_per_server,
                    pool.passive,
                ) {
                    if let Some(w) = waiter.take() {
                        w.served();
                    }
                    return Ok((idx, flight));
                }
                // Another worker took the last slot between the pick and the
                // reservation: the pool is full, wait like any other request.
            }
            Pick::Full => {}
            Pick::NoneUp => {
                if let Some(failure) = last_failure {
                    return Err(failure);
                }
                match pool.fallback {
                    Some(fallback) if target.hops < MAX_FALLBACK_HOPS => {
                        target.hops += 1;
                        target.pool = fallback;
                        target.tried.clear();
                        waiter = None;
                        continue;
                    }
                    _ => return Err(Kind::NoHealthyServer.into()),
                }
            }
        }
        // Every usable server is at max_conns_per_server (or others wait already).
        let w = match waiter.as_mut() {
            Some(w) => {
                // Woken, but the slot went elsewhere: back in the queue.
                w.requeue().await;
                w
            }
            None => {
                let Some(w) = queue.join(pool.max_queue).await else {
                    return Err(Kind::QueueFull.into());
                };
                let first = w.first();
                let w = waiter.insert(w);
                if first {
                    // Pick again now that the ticket is filed: a slot freed before
                    // it was would otherwise wake nobody.
                    continue;
                }
                w
            }
        };
        let now = ctx.timers.coarse_now();
        let until = *queued_until.get_or_insert_with(|| now + pool.queue_timeout);
        let left = until.saturating_duration_since(now);
        if left.is_zero() {
            return Err(Kind::QueueTimeout.into());
        }
        let expiry = ctx.timers.after(left).expiry();
        let woken = monoio::select! {
            _ = w.sleep() => true,
            _ = expiry => false,
        };
        if !woken {
            return Err(Kind::QueueTimeout.into());
        }
    }
}

//! Gathered wake-ups. With many requests in flight, a worker that parks for the
//! first completion is woken, runs one connection and sleeps again, once per packet:
//! each wake-up costs it a kernel entry and a runtime turn, and costs the peer whose
//! packet woke it an inter-processor interrupt. While several requests are in flight
//! the worker instead parks for a few completions (one per `PER_COMPLETION` requests
//! in flight, at most `MOST`) with a short minimum wait: the kernel lets it sleep
//! until that many are ready, or until `MIN_WAIT` has passed and at least one is.
//! One wake-up then serves several connections. Below `PER_COMPLETION` requests in
//! flight (one request at a time, the latency case `server.busy_poll` serves) the
//! park is monoio's own, and an idle worker sleeps as before: the minimum wait only
//! ever delays a ready completion, never wakes an idle thread.
//!
//! The park is sluice's extension to monoio (`vendor/monoio`, `batch.rs`, and why in
//! `vendor/monoio/SLUICE.md`). Measured in bench/PROFILE.md.

use std::rc::{Rc, Weak};
use std::time::Duration;

use super::ctx::Ctx;

/// Requests in flight per completion waited for.
const PER_COMPLETION: usize = 4;
/// Most completions one park waits for.
const MOST: usize = 16;
/// Longest a ready completion waits for others (measured against 100 us and 1 to 2
/// requests per completion in bench/PROFILE.md: no better, and more latency).
const MIN_WAIT: Duration = Duration::from_micros(50);

/// Completions to wait for with `in_flight` requests in flight.
pub fn wanted(in_flight: usize) -> u32 {
    (in_flight / PER_COMPLETION).clamp(1, MOST) as u32
}

/// Install the worker's park hint (on the worker's thread). The hint holds the
/// context weakly: it outlives nothing.
pub fn install(ctx: &Rc<Ctx>) {
    let ctx: Weak<Ctx> = Rc::downgrade(ctx);
    monoio::set_park_batch(move || monoio::ParkBatch {
        min_complete: ctx.upgrade().map_or(1, |c| wanted(c.busy.get())),
        min_wait: MIN_WAIT,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_at_a_time_parks_as_monoio_does() {
        assert_eq!(wanted(0), 1);
        assert_eq!(wanted(1), 1);
        assert_eq!(wanted(PER_COMPLETION - 1), 1);
    }

    #[test]
    fn many_in_flight_wait_for_a_bounded_few() {
        assert_eq!(wanted(PER_COMPLETION * 2), 2);
        assert_eq!(wanted(64), 16);
        assert_eq!(wanted(100_000), MOST as u32);
    }
}

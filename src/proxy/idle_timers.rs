//! Coarse per-worker deadlines for idle keep-alive connections.
//!
//! monoio's `Sleep` is 640 bytes; an idle connection waiting with it would cost more
//! than the connection itself. Instead each idle connection registers a deadline
//! here (one small slot) and awaits an `Expiry`; the worker's tick (every 50 ms)
//! wakes the connections whose deadline passed. Resolution is one tick.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

struct Slot {
    deadline: Instant,
    waker: Option<Waker>,
    fired: bool,
}

/// The deadlines of one worker's idle connections.
#[derive(Default)]
pub struct IdleTimers {
    slots: RefCell<Vec<Option<Slot>>>,
    free: RefCell<Vec<usize>>,
}

impl IdleTimers {
    /// Register a deadline; the returned future completes once it has passed (as
    /// seen by `fire_expired`). Dropping the future frees the slot.
    pub fn expiry(&self, deadline: Instant) -> Expiry<'_> {
        let slot = Slot {
            deadline,
            waker: None,
            fired: false,
        };
        let mut slots = self.slots.borrow_mut();
        let key = match self.free.borrow_mut().pop() {
            Some(k) => {
                slots[k] = Some(slot);
                k
            }
            None => {
                slots.push(Some(slot));
                slots.len() - 1
            }
        };
        Expiry { timers: self, key }
    }

    /// Wake every registration whose deadline is at or before `now`.
    pub fn fire_expired(&self, now: Instant) {
        for slot in self.slots.borrow_mut().iter_mut().flatten() {
            if !slot.fired && slot.deadline <= now {
                slot.fired = true;
                if let Some(w) = slot.waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Registrations currently held.
    pub fn len(&self) -> usize {
        self.slots.borrow().iter().filter(|s| s.is_some()).count()
    }

    /// Whether no registration is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Completes when its deadline has been fired.
pub struct Expiry<'a> {
    timers: &'a IdleTimers,
    key: usize,
}

impl Future for Expiry<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut slots = self.timers.slots.borrow_mut();
        match slots.get_mut(self.key).and_then(Option::as_mut) {
            Some(slot) if slot.fired => Poll::Ready(()),
            Some(slot) => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            None => Poll::Ready(()),
        }
    }
}

impl Drop for Expiry<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.timers.slots.borrow_mut().get_mut(self.key) {
            *s = None;
            self.timers.free.borrow_mut().push(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn fires_only_expired_and_reuses_slots() {
        let t = IdleTimers::default();
        let now = Instant::now();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut soon = t.expiry(now);
        let mut later = t.expiry(now + Duration::from_secs(60));
        assert!(Pin::new(&mut soon).poll(&mut cx).is_pending());
        t.fire_expired(now + Duration::from_millis(1));
        assert!(Pin::new(&mut soon).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        drop(soon);
        assert_eq!(t.len(), 1);
        let _again = t.expiry(now);
        assert_eq!(t.slots.borrow().len(), 2, "freed slot reused");
    }
}

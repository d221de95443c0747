//! Coarse per-worker deadlines and the worker's clock: the one way the data path
//! reaches time. Every timed operation (socket reads and writes, connects, splice
//! waits, queue waits, idle keep-alive waits) takes a `Timeout` made from its
//! worker's `CoarseTimers`, passed down explicitly.
//!
//! monoio's `Sleep` is 640 bytes, moved several times and put in a timer wheel for
//! each timed operation; an idle connection waiting with one would cost more than
//! the connection itself. Instead each wait registers a deadline here (one small
//! slot) and awaits an `Expiry`; the worker's tick (every `TICK`) wakes the waits
//! whose deadline passed. Deadlines are counted in ticks, so registering one reads
//! no clock; ticks are at least `TICK` apart, so a wait never ends early, and at
//! most about a tick late (more only while the worker is overloaded). That
//! resolution is ample for timeouts of a second or more. Measurements behind this
//! design are in bench/PROFILE.md.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How often the worker fires expired deadlines (their resolution); the same tick
/// polls its control channel and sweeps idle upstream connections.
pub const TICK: Duration = Duration::from_millis(50);

/// A timeout on one worker's coarse timers: what every timed operation takes.
#[derive(Clone, Copy)]
pub struct Timeout<'t> {
    timers: &'t CoarseTimers,
    after: Duration,
}

impl<'t> Timeout<'t> {
    /// How long it allows.
    pub fn duration(&self) -> Duration {
        self.after
    }

    /// Start counting: completes once the timeout has passed.
    pub fn expiry(&self) -> Expiry<'t> {
        self.timers.expiry(self.after)
    }

    /// Run `fut` for at most about this long (at most one tick late); `None` when
    /// it timed out (`fut` is then dropped).
    pub async fn run<F: Future>(self, fut: F) -> Option<F::Output> {
        // Raced by reference: the operation's future is not moved again.
        let mut fut = std::pin::pin!(fut);
        let expiry = self.expiry();
        monoio::select! {
            out = &mut fut => Some(out),
            _ = expiry => None,
        }
    }
}

struct Slot {
    /// The tick count at which it fires.
    deadline: u64,
    /// The waiting task, until the deadline's tick wakes it.
    waker: Option<Waker>,
}

/// The deadlines of one worker, and its clock as of the last tick.
pub struct CoarseTimers {
    slots: RefCell<Vec<Option<Slot>>>,
    free: RefCell<Vec<usize>>,
    /// Ticks counted so far.
    ticks: Cell<u64>,
    /// The time at the last tick (or creation).
    now: Cell<Instant>,
}

impl Default for CoarseTimers {
    fn default() -> Self {
        Self::new()
    }
}

impl CoarseTimers {
    /// An empty set whose clock starts now.
    pub fn new() -> Self {
        CoarseTimers {
            slots: RefCell::default(),
            free: RefCell::default(),
            ticks: Cell::new(0),
            now: Cell::new(Instant::now()),
        }
    }

    /// The time as of the last tick: up to one tick old, and read without a system
    /// call. For timestamps that only need tick resolution (idle upstream
    /// connections' ages).
    pub fn coarse_now(&self) -> Instant {
        self.now.get()
    }

    /// A timeout of `after` on these timers.
    pub fn after(&self, after: Duration) -> Timeout<'_> {
        Timeout {
            timers: self,
            after,
        }
    }

    /// Tick every `TICK` forever: for runtimes that are not a worker (tests, tools),
    /// whose timers nothing else drives.
    pub async fn drive(&self) {
        loop {
            monoio::time::sleep(TICK).await;
            self.tick();
        }
    }

    /// Register a wait of at least `after`; the returned future completes once it
    /// has passed (as seen by `tick`). Dropping the future frees the slot.
    pub fn expiry(&self, after: Duration) -> Expiry<'_> {
        // Whole ticks covering `after`, plus one for the tick already under way.
        let ticks = after.as_nanos().div_ceil(TICK.as_nanos()) as u64 + 1;
        let slot = Slot {
            deadline: self.ticks.get() + ticks,
            waker: None,
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

    /// Count one tick (call every `TICK`) and wake every registration whose
    /// deadline it reached.
    pub fn tick(&self) {
        let now = self.ticks.get() + 1;
        self.ticks.set(now);
        self.now.set(Instant::now());
        for slot in self.slots.borrow_mut().iter_mut().flatten() {
            if slot.deadline <= now
                && let Some(w) = slot.waker.take()
            {
                w.wake();
            }
        }
    }

    /// Registrations currently held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.borrow().iter().filter(|s| s.is_some()).count()
    }
}

/// Completes once the tick count reaches its deadline.
pub struct Expiry<'a> {
    timers: &'a CoarseTimers,
    key: usize,
}

impl Future for Expiry<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let now = self.timers.ticks.get();
        let mut slots = self.timers.slots.borrow_mut();
        match slots.get_mut(self.key).and_then(Option::as_mut) {
            Some(slot) if slot.deadline <= now => Poll::Ready(()),
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
    fn fires_after_enough_ticks_never_before_and_reuses_slots() {
        let t = CoarseTimers::new();
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        // 120 ms = 3 ticks of 50 ms, plus the tick under way: fires on the 4th.
        let mut soon = t.expiry(Duration::from_millis(120));
        let mut later = t.expiry(Duration::from_secs(60));
        for _ in 0..3 {
            t.tick();
            assert!(Pin::new(&mut soon).poll(&mut cx).is_pending());
        }
        t.tick();
        assert!(Pin::new(&mut soon).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        drop(soon);
        assert_eq!(t.len(), 1);
        let mut zero = t.expiry(Duration::ZERO);
        assert_eq!(t.slots.borrow().len(), 2, "freed slot reused");
        assert!(
            Pin::new(&mut zero).poll(&mut cx).is_pending(),
            "not within this tick"
        );
        t.tick();
        assert!(Pin::new(&mut zero).poll(&mut cx).is_ready());
    }
}

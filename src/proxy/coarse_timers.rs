//! Coarse per-worker deadlines: idle keep-alive connections and the timeout of
//! every socket read and write on the request path.
//!
//! monoio's `Sleep` is 640 bytes, moved several times and put in a timer wheel for
//! each timed operation (6 % of the worker's user time in small-request runs, in
//! `memmove` alone); an idle connection waiting with one would cost more than the
//! connection itself. Instead each wait registers a deadline here (one small slot)
//! and awaits an `Expiry`; the worker's tick (every `TICK`) wakes the waits whose
//! deadline passed. Deadlines are counted in ticks, so registering one reads no
//! clock; ticks are at least `TICK` apart, so a wait never ends early, and at most
//! about a tick late (more only while the worker is overloaded). That resolution is
//! ample for timeouts of a second or more.
//! Each worker thread owns one set (reached by `current`), so the I/O helpers need
//! no context passed down.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How often the worker fires expired deadlines (their resolution); the same tick
/// polls its control channel and sweeps idle upstream connections.
pub const TICK: Duration = Duration::from_millis(50);

thread_local! {
    static CURRENT: Cell<Option<&'static CoarseTimers>> = const { Cell::new(None) };
}

/// This thread's timers, if it is a worker.
pub fn current() -> Option<&'static CoarseTimers> {
    CURRENT.with(Cell::get)
}

/// Run `fut` for at most about `timeout` (at most one tick late); `None` when it
/// timed out (`fut` is then dropped). Outside a worker thread, monoio's timer.
pub async fn timed<F: Future>(timeout: Duration, fut: F) -> Option<F::Output> {
    match current() {
        Some(timers) => {
            // Raced by reference: the operation's future is not moved again.
            let mut fut = std::pin::pin!(fut);
            let expiry = timers.expiry(timeout);
            monoio::select! {
                out = &mut fut => Some(out),
                _ = expiry => None,
            }
        }
        // Not reached on the request path (workers always have timers). Boxed so
        // monoio's 640-byte timer is not part of every timed operation's state.
        None => Box::pin(monoio::time::timeout(timeout, fut)).await.ok(),
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

    /// A set for the calling (worker) thread, reachable from it by `current`. It
    /// lives as long as the process: a worker thread runs until the process exits.
    pub fn for_this_thread() -> &'static CoarseTimers {
        let timers: &'static CoarseTimers = Box::leak(Box::new(CoarseTimers::new()));
        CURRENT.with(|c| c.set(Some(timers)));
        timers
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

    #[test]
    fn each_thread_reaches_only_its_own_timers() {
        std::thread::spawn(|| {
            assert!(current().is_none(), "not a worker yet");
            let mine = CoarseTimers::for_this_thread();
            assert!(current().is_some_and(|t| std::ptr::eq(t, mine)));
            std::thread::spawn(|| assert!(current().is_none(), "another thread"))
                .join()
                .expect("inner thread");
        })
        .join()
        .expect("worker-like thread");
    }
}

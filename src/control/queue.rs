//! The wait queue of one pool: requests that found every usable server at
//! `max_conns_per_server` wait here, across all workers, until a slot frees
//! (SPEC §4: no polling, arrival order, at most `max_queue` waiting).
//!
//! A waiter files a `Ticket` holding its task's waker in a FIFO channel and sleeps;
//! whoever frees a slot (any worker) pops tickets until one is still waiting and
//! wakes it. The woken waiter picks again; if another request took the slot first it
//! files a new ticket. A ticket abandoned on timeout stays in the channel until a
//! notifier pops it, or a leaving waiter sweeps it when too many pile up.
//!
//! The free path costs one load of `waiting` when nobody waits. Ordering: a waiter
//! files its ticket, then raises `waiting`, then picks again; a releaser lowers the
//! server's in-flight count (a locked read-modify-write), then reads `waiting`. With
//! both sides sequentially consistent, either the waiter's second pick sees the
//! free slot or the releaser sees the waiter: no wake-up is lost.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};

use crossbeam_channel::{Receiver, Sender};

/// Ticket states.
const WAITING: u8 = 0;
const WOKEN: u8 = 1;
const GONE: u8 = 2;

/// Abandoned tickets tolerated in the channel beyond the live waiters before a
/// leaving waiter sweeps them.
const SWEEP_SLACK: usize = 64;

/// One waiter's place in the queue.
#[derive(Debug)]
struct Ticket {
    state: AtomicU8,
    waker: Waker,
}

/// A pool's process-wide wait queue.
#[derive(Debug)]
pub struct SlotQueue {
    /// Requests waiting (filed a ticket and not yet left), all workers.
    waiting: AtomicUsize,
    tx: Sender<Arc<Ticket>>,
    rx: Receiver<Arc<Ticket>>,
}

impl Default for SlotQueue {
    fn default() -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        SlotQueue {
            waiting: AtomicUsize::new(0),
            tx,
            rx,
        }
    }
}

impl SlotQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests waiting now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A slot was freed: wake the oldest waiter still waiting, if any.
    // HOT PATH: one atomic load when nobody waits.
    #[inline]
    pub fn notify_one(&self) {
        if self.waiting.load(Ordering::SeqCst) == 0 {
            return;
        }
        self.wake_oldest();
    }

    #[cold]
    fn wake_oldest(&self) {
        while let Ok(ticket) = self.rx.try_recv() {
            if ticket
                .state
                .compare_exchange(WAITING, WOKEN, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                ticket.waker.wake_by_ref();
                return;
            }
        }
    }

    /// Join the queue with `max` waiters at most (`max_queue`). `None` when it is
    /// full: answer 503 at once. A waiter that joined an empty queue must pick
    /// again right after joining (`Waiter::first`): a slot freed just before its
    /// ticket was filed woke nobody. Later ones sleep at once; the slots that free
    /// go to the waiters before them first (no barging).
    pub async fn join(self: &Arc<Self>, max: usize) -> Option<Waiter> {
        let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let ticket = self.file(waker);
        let ahead = self.waiting.fetch_add(1, Ordering::SeqCst);
        if ahead >= max {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            ticket.state.store(GONE, Ordering::Release);
            return None;
        }
        Some(Waiter {
            queue: Arc::clone(self),
            ticket,
            first: ahead == 0,
        })
    }

    fn file(&self, waker: Waker) -> Arc<Ticket> {
        let ticket = Arc::new(Ticket {
            state: AtomicU8::new(WAITING),
            waker,
        });
        // An unbounded channel whose receiver this queue holds: send cannot fail.
        let _ = self.tx.send(Arc::clone(&ticket));
        ticket
    }

    /// Drop abandoned tickets when they far outnumber the waiters (timeouts with no
    /// slot ever freeing would otherwise pile them up). Live ones go to the back.
    #[cold]
    fn sweep(&self) {
        let live = self.waiting.load(Ordering::Relaxed);
        let mut budget = self.rx.len();
        if budget <= live + SWEEP_SLACK {
            return;
        }
        while budget > 0 {
            budget -= 1;
            let Ok(ticket) = self.rx.try_recv() else {
                return;
            };
            if ticket.state.load(Ordering::Acquire) == WAITING {
                let _ = self.tx.send(ticket);
            }
        }
    }
}

/// A request's membership of the queue, from `join` until dropped.
#[derive(Debug)]
pub struct Waiter {
    queue: Arc<SlotQueue>,
    ticket: Arc<Ticket>,
    first: bool,
}

impl Waiter {
    /// Whether it joined an empty queue (and so must pick again before sleeping).
    pub fn first(&self) -> bool {
        self.first
    }

    /// Leave the queue holding the slot its wake-up was for: the wake-up is used,
    /// not passed on.
    pub fn served(self) {
        self.ticket.state.store(GONE, Ordering::Release);
    }

    /// Sleep until a freed slot wakes this waiter. Lose the race for it and call
    /// `requeue` before sleeping again.
    pub fn sleep(&self) -> impl Future<Output = ()> + '_ {
        Woken(&self.ticket)
    }

    /// After a wake-up whose slot another request took: file a new ticket (at the
    /// back of the queue) and return `true`, so the caller picks again before
    /// sleeping. `false` (nothing to do) while the ticket is still waiting.
    pub async fn requeue(&mut self) -> bool {
        if self.ticket.state.load(Ordering::Acquire) == WAITING {
            return false;
        }
        let waker = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        self.ticket = self.queue.file(waker);
        true
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.queue.waiting.fetch_sub(1, Ordering::SeqCst);
        let was = self.ticket.state.swap(GONE, Ordering::AcqRel);
        if was == WOKEN {
            // Woken but leaving without the slot (timed out, gave up): the slot
            // that woke it may still be free, so the next waiter tries for it.
            self.queue.notify_one();
        } else {
            self.queue.sweep();
        }
    }
}

/// Resolves once the ticket was woken.
struct Woken<'a>(&'a Ticket);

impl Future for Woken<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        // The ticket's waker is this task's (taken when it was filed): no re-register.
        if self.0.state.load(Ordering::Acquire) == WOKEN {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize as Count;
    use std::task::Wake;

    struct Counter(Count);
    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn join_now(q: &Arc<SlotQueue>, max: usize, waker: &Waker) -> Option<Waiter> {
        let mut cx = Context::from_waker(waker);
        let mut fut = std::pin::pin!(q.join(max));
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(w) => w,
            Poll::Pending => unreachable!("join never waits"),
        }
    }

    #[test]
    fn wakes_in_arrival_order_and_caps_the_queue() {
        let q = Arc::new(SlotQueue::new());
        let counters: Vec<Arc<Counter>> =
            (0..3).map(|_| Arc::new(Counter(Count::new(0)))).collect();
        let wakers: Vec<Waker> = counters
            .iter()
            .map(|c| Waker::from(Arc::clone(c)))
            .collect();
        let a = join_now(&q, 2, &wakers[0]).expect("room");
        let b = join_now(&q, 2, &wakers[1]).expect("room");
        assert!(join_now(&q, 2, &wakers[2]).is_none(), "over max_queue");
        assert_eq!(q.waiting(), 2);
        assert!(a.first() && !b.first());
        q.notify_one();
        assert_eq!(counters[0].0.load(Ordering::SeqCst), 1);
        assert_eq!(counters[1].0.load(Ordering::SeqCst), 0);
        // a took the slot it was woken for: b stays asleep.
        a.served();
        assert_eq!(counters[1].0.load(Ordering::SeqCst), 0);
        // b is woken, then gives up: the wake-up passes on to the next (none).
        q.notify_one();
        assert_eq!(counters[1].0.load(Ordering::SeqCst), 1);
        drop(b);
        assert_eq!(q.waiting(), 0);
        q.notify_one();
        assert_eq!(
            counters[2].0.load(Ordering::SeqCst),
            0,
            "the refused one never waits"
        );
    }

    #[test]
    fn abandoned_tickets_are_skipped_and_swept() {
        let q = Arc::new(SlotQueue::new());
        let c = Arc::new(Counter(Count::new(0)));
        let w = Waker::from(Arc::clone(&c));
        for _ in 0..(SWEEP_SLACK * 3) {
            drop(join_now(&q, 10, &w));
        }
        assert!(q.rx.len() <= SWEEP_SLACK + 1, "{} tickets left", q.rx.len());
        let live = join_now(&q, 10, &w).expect("room");
        q.notify_one();
        assert_eq!(c.0.load(Ordering::SeqCst), 1, "the live waiter is found");
        drop(live);
    }
}

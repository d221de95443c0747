//! Adaptive busy polling (`server.busy_poll`). At ordinary load most of what one hop
//! adds is the worker sleeping in the kernel and being woken for each packet. While
//! I/O events keep coming, the spinner task keeps the worker awake instead: it runs
//! the ring's deferred completions (`os::reap_deferred`) and yields, so the runtime
//! reaps them and runs the woken connection tasks at once. When the budget passes
//! after the last event with nothing new, it sleeps as before, so an idle worker
//! costs nothing. A `Policy` turns spinning off while it mostly misses (at a steady
//! low rate the next request comes after the budget, so spinning would only burn
//! CPU) and tries again later. Every 10 ms of continuous spinning the spinner steps
//! aside for one runtime turn so monoio's timers run.

use std::cell::Cell;
use std::future::{Future, poll_fn};
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// Longest stretch of continuous spinning before the spinner lets the runtime park
/// once: monoio fires its timers only when it parks. The worker's own timers tick
/// every 50 ms, so 10 ms late is harmless, while each rest costs the request in
/// flight one wake-up (2 ms rests added about 10 us to the mean hop at one request
/// in flight; 10 ms, about 2).
const REST_EVERY: Duration = Duration::from_millis(10);
/// How often a worker with spinning switched off by config re-reads it.
const RECHECK_CONFIG: Duration = Duration::from_secs(1);

/// The worker's I/O event counter and the sleeping spinner's waker. Each poll of a
/// connection task counts as one event: a task is only polled when a completion
/// (or a new connection) woke it.
#[derive(Default)]
pub struct Activity {
    events: Cell<u64>,
    sleeper: Cell<Option<Waker>>,
}

impl Activity {
    /// Count one event and wake the spinner if it sleeps.
    #[inline]
    pub fn note(&self) {
        self.events.set(self.events.get().wrapping_add(1));
        if let Some(w) = self.sleeper.take() {
            w.wake();
        }
    }

    /// Events so far.
    pub fn events(&self) -> u64 {
        self.events.get()
    }

    /// Resolve at the next event.
    fn next_event(&self) -> impl Future<Output = ()> + '_ {
        let start = self.events.get();
        poll_fn(move |cx| {
            if self.events.get() != start {
                return Poll::Ready(());
            }
            self.sleeper.set(Some(cx.waker().clone()));
            Poll::Pending
        })
    }
}

pin_project_lite::pin_project! {
    /// A connection task whose every poll counts as an event of its worker.
    pub struct Noted<F> {
        #[pin]
        inner: F,
        activity: Rc<Activity>,
    }
}

impl<F> Noted<F> {
    /// Wrap `inner`.
    pub fn new(inner: F, activity: Rc<Activity>) -> Self {
        Noted { inner, activity }
    }
}

impl<F: Future> Future for Noted<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        this.activity.note();
        this.inner.poll(cx)
    }
}

/// Decides whether to spin, from how recent spins ended: a wait that an event ended
/// was caught, one the budget ended was missed. When more than a quarter of the
/// waits missed in two windows in a row (a low, steady rate: each answer is followed
/// by a long wait; at one request in flight fewer than 1 in 8 miss), spinning is off for a back-off that doubles while it keeps
/// missing (100 ms up to 1.6 s), then it is tried again; probing costs at most a
/// window of misses per back-off.
#[derive(Debug)]
pub struct Policy {
    caught: u32,
    missed: u32,
    /// Whether the previous window was already mostly missed.
    bad_before: bool,
    off_until: Option<Instant>,
    backoff: Duration,
}

/// Waits judged together.
const WINDOW: u32 = 32;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const LONGEST_BACKOFF: Duration = Duration::from_millis(1600);

impl Default for Policy {
    fn default() -> Self {
        Policy {
            caught: 0,
            missed: 0,
            bad_before: false,
            off_until: None,
            backoff: FIRST_BACKOFF,
        }
    }
}

impl Policy {
    /// When spinning is off, until when.
    pub fn off_until(&self, now: Instant) -> Option<Instant> {
        self.off_until.filter(|t| *t > now)
    }

    /// An event ended a wait while spinning.
    pub fn caught(&mut self, now: Instant) {
        self.caught += 1;
        self.judge(now);
    }

    /// The budget ended a wait.
    pub fn missed(&mut self, now: Instant) {
        self.missed += 1;
        self.judge(now);
    }

    fn judge(&mut self, now: Instant) {
        let total = self.caught + self.missed;
        if total < WINDOW {
            return;
        }
        let bad = self.missed * 4 > total;
        // Two bad windows in a row: one alone is a passing stall of the peers (at one
        // request in flight a window with a third missed turned spinning off for
        // 100 ms, about 5 % of a run, and made the whole slow tail).
        let off = bad && self.bad_before;
        self.bad_before = bad;
        if off {
            crate::log_debug!(
                "busy poll off for {:?}: {} of {} waits outlasted the budget",
                self.backoff,
                self.missed,
                total
            );
            self.off_until = Some(now + self.backoff);
            self.backoff = (self.backoff * 2).min(LONGEST_BACKOFF);
        } else {
            self.off_until = None;
            self.backoff = FIRST_BACKOFF;
        }
        self.caught = 0;
        self.missed = 0;
    }
}

/// The spinner task of one worker: `ring` is the worker's own ring, `budget` reads
/// `server.busy_poll` from the current config. Runs until the runtime ends.
pub async fn spinner(
    activity: Rc<Activity>,
    ring: RawFd,
    budget: impl Fn() -> Duration,
    in_flight: impl Fn() -> usize,
) {
    let mut policy = Policy::default();
    let bounce = Rc::new(Bounce::default());
    monoio::spawn(Rc::clone(&bounce).run());
    loop {
        let now = Instant::now();
        if budget().is_zero() {
            monoio::time::sleep(RECHECK_CONFIG).await;
            continue;
        }
        if let Some(until) = policy.off_until(now) {
            monoio::time::sleep(until - now).await;
        }
        activity.next_event().await;
        let turn = Spin {
            activity: &activity,
            bounce: &bounce,
            ring,
            budget: budget(),
            in_flight: &in_flight,
        };
        match turn.run(&mut policy).await {
            Ok(Ended::Waited) => {}
            Ok(Ended::Busy) => monoio::time::sleep(STEP_ASIDE).await,
            Err(e) => {
                crate::log_warn!("busy polling stopped: cannot enter the worker's ring: {e}");
                return;
            }
        }
    }
}

/// How a stretch of spinning ended.
enum Ended {
    /// The budget passed without an event, it was time to rest, or spinning was
    /// switched off.
    Waited,
    /// More than `SPIN_IN_FLIGHT` requests were in flight on the worker.
    Busy,
}

/// Most requests in flight on a worker for spinning to pay. With more, each wake-up
/// already serves several of them and their own queueing outweighs a wake-up, while
/// on a machine where the proxy is not the bottleneck every idle gap spun through
/// is CPU spent for nothing (measured: +10-20 % CPU per request under wrk at 64
/// connections, +30 % at 10k req/s over 64 connections).
const SPIN_IN_FLIGHT: usize = 1;
/// How long the spinner stays out of a busy worker's way (monoio rounds it up to
/// the next millisecond tick).
const STEP_ASIDE: Duration = Duration::from_millis(1);

/// Spin until the budget passes without an event, spinning turns off, it is time
/// to rest, or the worker has more than `SPIN_IN_FLIGHT` requests in flight. A wait
/// that an event ends counts as caught only if at least one turn before it found
/// nothing (else the worker was busy, not waiting).
struct Spin<'a, F> {
    activity: &'a Activity,
    bounce: &'a Bounce,
    ring: RawFd,
    budget: Duration,
    in_flight: &'a F,
}

impl<F: Fn() -> usize> Spin<'_, F> {
    async fn run(&self, policy: &mut Policy) -> std::io::Result<Ended> {
        let Spin {
            activity,
            bounce,
            ring,
            budget,
            in_flight,
        } = *self;
        let start = Instant::now();
        let mut last_event = start;
        let mut seen = activity.events();
        let mut found_nothing = false;
        loop {
            if in_flight() > SPIN_IN_FLIGHT {
                return Ok(Ended::Busy);
            }
            // No sched_yield here: measured, it added 10-40 us to a hop at one request in
            // flight (bench/LATENCY.md); a thread woken on this core preempts the spinner
            // anyway, which has used its share of the core.
            crate::os::reap_deferred(ring)?;
            bounce.yield_now().await;
            let now = Instant::now();
            let events = activity.events();
            if events != seen {
                seen = events;
                last_event = now;
                if found_nothing {
                    policy.caught(now);
                }
                found_nothing = false;
            } else if now - last_event >= budget {
                policy.missed(now);
                return Ok(Ended::Waited);
            } else {
                found_nothing = true;
            }
            if now - start >= REST_EVERY || policy.off_until(now).is_some() {
                return Ok(Ended::Waited);
            }
        }
    }
}

/// A task that wakes whoever hands it a waker. monoio puts a task that wakes itself
/// while it runs at the front of the run queue, so a plain yield would run the
/// spinner again before any task its completions woke; a waker woken by another
/// task goes to the back, behind them.
#[derive(Default)]
struct Bounce {
    waiting: Cell<Option<Waker>>,
    bouncer: Cell<Option<Waker>>,
}

impl Bounce {
    /// The bouncer task: wake the waiting task each time it is polled.
    fn run(self: Rc<Self>) -> impl Future<Output = ()> {
        poll_fn(move |cx| {
            if let Some(w) = self.waiting.take() {
                w.wake();
            }
            self.bouncer.set(Some(cx.waker().clone()));
            Poll::<()>::Pending
        })
    }

    /// Let every other ready task run (and the runtime reap completions) once.
    fn yield_now(&self) -> impl Future<Output = ()> + '_ {
        let mut yielded = false;
        poll_fn(move |cx| {
            if yielded {
                return Poll::Ready(());
            }
            yielded = true;
            self.waiting.set(Some(cx.waker().clone()));
            // Without a bouncer waker it has not run yet: it wakes us when it does.
            if let Some(b) = self.bouncer.take() {
                b.wake();
            }
            Poll::Pending
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mostly_caught_keeps_spinning() {
        let mut p = Policy::default();
        let t = Instant::now();
        for i in 0..(WINDOW * 10) {
            if i % 8 == 0 {
                p.missed(t);
            } else {
                p.caught(t);
            }
        }
        assert_eq!(p.off_until(t), None);
    }

    #[test]
    fn mostly_missed_turns_off_with_a_growing_backoff_then_retries() {
        let mut p = Policy::default();
        let t = Instant::now();
        for i in 0..WINDOW {
            if i % 3 != 0 {
                p.missed(t);
            } else {
                p.caught(t);
            }
        }
        assert_eq!(p.off_until(t), None, "one bad window is a passing stall");
        for _ in 0..WINDOW {
            p.missed(t);
        }
        assert_eq!(p.off_until(t), Some(t + FIRST_BACKOFF));
        assert_eq!(p.off_until(t + FIRST_BACKOFF), None, "tried again");
        let t2 = t + FIRST_BACKOFF;
        for _ in 0..WINDOW {
            p.missed(t2);
        }
        assert_eq!(p.off_until(t2), Some(t2 + FIRST_BACKOFF * 2), "doubled");
        for _ in 0..20 {
            for _ in 0..WINDOW {
                p.missed(t2);
            }
        }
        assert_eq!(p.off_until(t2), Some(t2 + LONGEST_BACKOFF), "capped");
        for _ in 0..WINDOW {
            p.caught(t2);
        }
        assert_eq!(p.off_until(t2), None, "a good window resets it");
        for _ in 0..(2 * WINDOW) {
            p.missed(t2);
        }
        assert_eq!(p.off_until(t2), Some(t2 + FIRST_BACKOFF), "back-off reset");
    }

    #[test]
    fn a_poll_of_a_noted_task_counts_and_wakes_the_sleeper() {
        let activity = Rc::new(Activity::default());
        let mut cx = Context::from_waker(Waker::noop());
        let mut sleeper = std::pin::pin!(activity.next_event());
        assert_eq!(sleeper.as_mut().poll(&mut cx), Poll::Pending);
        let mut task = std::pin::pin!(Noted::new(std::future::pending::<()>(), activity.clone()));
        assert_eq!(task.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(activity.events(), 1);
        assert_eq!(sleeper.as_mut().poll(&mut cx), Poll::Ready(()));
    }
}

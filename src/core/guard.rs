//! Panic isolation for connection tasks. monoio does not catch a panicking task: the
//! panic would unwind through the worker's runtime and take every other connection
//! of that core down with it. Each connection future is wrapped here; a panic is
//! caught at the task boundary, logged, and only that connection (its sockets and
//! buffers are dropped) is lost. Release builds keep `panic = "unwind"` for this.

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use super::ctx::Ctx;

pin_project_lite::pin_project! {
    /// Runs `F`, turning a panic of it into `Err(())`, and hands the outcome to
    /// `on_end` (which logs and releases the connection slot). The guarded future is
    /// held inline (pinned in place, no extra allocation, no wrapping `async` block
    /// duplicating its captures): it is the bulk of an idle connection's memory.
    pub struct CatchPanic<F, D> {
        #[pin]
        inner: F,
        on_end: Option<D>,
    }
}

impl<F: Future<Output = ()>, D: FnOnce(Result<(), ()>)> CatchPanic<F, D> {
    /// Guard `inner`; `on_end` is called once with how it ended.
    pub fn new(inner: F, on_end: D) -> Self {
        CatchPanic {
            inner,
            on_end: Some(on_end),
        }
    }
}

impl<F: Future<Output = ()>, D: FnOnce(Result<(), ()>)> Future for CatchPanic<F, D> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.on_end.is_none() {
            // Already ended (and, after a panic, never polled again).
            return Poll::Ready(());
        }
        let inner = this.inner;
        // The inner future is never polled again after a panic, so no broken
        // invariant of it can be observed: asserting unwind safety is sound.
        let outcome = match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(())) => Ok(()),
            Err(_) => Err(()),
        };
        if let Some(on_end) = this.on_end.take() {
            on_end(outcome);
        }
        Poll::Ready(())
    }
}

/// Counts one piece of in-flight work (a request, a tunnel) in the worker's `busy`
/// figure, which shutdown waits on, for as long as it lives. A guard rather than a
/// pair of calls: when the work panics, unwinding drops it too, so a caught panic
/// cannot leave the count raised and SIGTERM waiting out the whole timeout.
pub struct Busy<'a>(&'a Cell<usize>);

impl<'a> Busy<'a> {
    /// Count one more piece of work on `ctx`'s worker.
    pub fn enter(ctx: &'a Ctx) -> Self {
        Self::count(&ctx.busy)
    }

    fn count(busy: &'a Cell<usize>) -> Self {
        busy.set(busy.get() + 1);
        Busy(busy)
    }
}

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_panic_becomes_an_error() {
        use std::cell::Cell;
        let mut cx = Context::from_waker(Waker::noop());
        let seen = Cell::new(None);
        let mut bad = std::pin::pin!(CatchPanic::new(async { panic!("boom") }, |r| {
            seen.set(Some(r))
        }));
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = bad.as_mut().poll(&mut cx);
        std::panic::set_hook(prev);
        assert_eq!(r, Poll::Ready(()));
        assert_eq!(seen.take(), Some(Err(())));
        assert_eq!(
            bad.as_mut().poll(&mut cx),
            Poll::Ready(()),
            "ended stays ended"
        );
        let mut good = std::pin::pin!(CatchPanic::new(async {}, |r| seen.set(Some(r))));
        assert_eq!(good.as_mut().poll(&mut cx), Poll::Ready(()));
        assert_eq!(seen.take(), Some(Ok(())));
    }

    /// Item 10 of the hardening round: a request that panics while counted busy
    /// must not leave the count raised (SIGTERM waits for it to reach zero).
    #[test]
    fn a_caught_panic_releases_the_busy_count() {
        let busy = Cell::new(0usize);
        let mut cx = Context::from_waker(Waker::noop());
        let mut yielded = false;
        let work = std::future::poll_fn(|_| {
            if yielded {
                panic!("request handler bug")
            }
            yielded = true;
            Poll::<()>::Pending
        });
        let mut guarded = std::pin::pin!(CatchPanic::new(
            async {
                let _busy = Busy::count(&busy);
                work.await;
            },
            |_| {}
        ));
        assert_eq!(guarded.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(busy.get(), 1, "counted while in flight");
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = guarded.as_mut().poll(&mut cx);
        std::panic::set_hook(prev);
        assert_eq!(r, Poll::Ready(()));
        assert_eq!(busy.get(), 0, "released by the unwinding");
    }
}

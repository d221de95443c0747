//! Panic isolation for connection tasks. monoio does not catch a panicking task: the
//! panic would unwind through the worker's runtime and take every other connection
//! of that core down with it. Each connection future is wrapped here; a panic is
//! caught at the task boundary, logged, and only that connection (its sockets and
//! buffers are dropped) is lost. Release builds keep `panic = "unwind"` for this.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

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
}

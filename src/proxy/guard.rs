//! Panic isolation for connection tasks. monoio does not catch a panicking task: the
//! panic would unwind through the worker's runtime and take every other connection
//! of that core down with it. Each connection future is wrapped here; a panic is
//! caught at the task boundary, logged, and only that connection (its sockets and
//! buffers are dropped) is lost. Release builds keep `panic = "unwind"` for this.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that turns a panic of `F` into `Err(())`.
pub struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future<Output = ()>> CatchPanic<F> {
    /// Guard `inner`.
    pub fn new(inner: F) -> Self {
        CatchPanic {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future<Output = ()>> Future for CatchPanic<F> {
    type Output = Result<(), ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // The inner future is dropped right after a panic and never polled again, so
        // no broken invariant of it can be observed: asserting unwind safety is sound.
        match catch_unwind(AssertUnwindSafe(|| self.inner.as_mut().poll(cx))) {
            Ok(Poll::Ready(())) => Poll::Ready(Ok(())),
            Ok(Poll::Pending) => Poll::Pending,
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    #[test]
    fn a_panic_becomes_an_error() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut bad = std::pin::pin!(CatchPanic::new(async { panic!("boom") }));
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let r = bad.as_mut().poll(&mut cx);
        std::panic::set_hook(prev);
        assert_eq!(r, Poll::Ready(Err(())));
        let mut good = std::pin::pin!(CatchPanic::new(async {}));
        assert_eq!(good.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    }
}

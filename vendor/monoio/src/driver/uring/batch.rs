//! sluice's extension to monoio 0.2.4 (not upstream): a park that gathers
//! completions instead of waking for each one.
//!
//! The runtime's owner installs a per-thread hint with [`set_park_batch`]. When the
//! hint asks for more than one completion, the uring driver's park enters the ring
//! with `min_complete = n` and the kernel's minimum wait (`min_wait_usec` in
//! `io_uring_getevents_arg`, Linux 6.12+): the thread sleeps until `n` completions
//! are ready, or until `min_wait` has passed and at least one is, or until the
//! runtime's own timeout. On a `DEFER_TASKRUN` ring the kernel then does not wake the
//! thread for each completion in between, so one wake-up and one pass of the run
//! queue serve many connections. A kernel without the minimum wait refuses the
//! argument (`EINVAL`); the hint is then ignored for the rest of the thread's life
//! and parks are monoio's own.

use std::{cell::Cell, cell::RefCell, io, os::unix::io::RawFd, time::Duration};

/// How the next park may gather completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParkBatch {
    /// Completions to wait for; 0 or 1 means park as monoio does.
    pub min_complete: u32,
    /// Longest wait for more than one completion once one is ready.
    pub min_wait: Duration,
}

type Hint = Box<dyn Fn() -> ParkBatch>;

thread_local! {
    static HINT: RefCell<Option<Hint>> = const { RefCell::new(None) };
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// Install this thread's park hint, asked once per park of the uring driver.
pub fn set_park_batch(hint: impl Fn() -> ParkBatch + 'static) {
    HINT.with(|h| *h.borrow_mut() = Some(Box::new(hint)));
}

/// The batch to park with, if the hint asks for more than one completion.
pub(crate) fn wanted() -> Option<ParkBatch> {
    if REFUSED.with(Cell::get) {
        return None;
    }
    HINT.with(|h| {
        let b = (h.borrow().as_ref()?)();
        (b.min_complete > 1).then_some(b)
    })
}

/// Longest sleep when the runtime has no timer due: a bound only, every completion
/// still ends the wait once `min_wait` has passed.
const NO_TIMER_BOUND: Duration = Duration::from_secs(1);

/// `struct __kernel_timespec`.
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// `struct io_uring_getevents_arg` (Linux 6.12+ layout).
#[repr(C)]
struct GetEventsArg {
    sigmask: u64,
    sigmask_sz: u32,
    min_wait_usec: u32,
    ts: u64,
}

const ENTER_GETEVENTS: u32 = 1;
const ENTER_EXT_ARG: u32 = 1 << 3;

/// Submit `to_submit` entries and wait as `batch` says, at most `timeout`. Returns
/// `Ok(false)` when the kernel refused the minimum wait (nothing was submitted; the
/// caller parks the ordinary way).
pub(crate) fn enter(
    fd: RawFd,
    to_submit: u32,
    batch: ParkBatch,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let limit = timeout.unwrap_or(NO_TIMER_BOUND);
    let ts = KernelTimespec {
        tv_sec: limit.as_secs() as i64,
        tv_nsec: limit.subsec_nanos() as i64,
    };
    let arg = GetEventsArg {
        sigmask: 0,
        sigmask_sz: 0,
        min_wait_usec: batch.min_wait.as_micros().clamp(1, u32::MAX as u128) as u32,
        ts: &ts as *const _ as u64,
    };
    // SAFETY: `arg` and `ts` live across the call; the kernel only reads them.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            fd,
            to_submit,
            batch.min_complete,
            ENTER_GETEVENTS | ENTER_EXT_ARG,
            &arg as *const GetEventsArg,
            std::mem::size_of::<GetEventsArg>(),
        )
    };
    if r >= 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL) => {
            REFUSED.with(|c| c.set(true));
            Ok(false)
        }
        // The timeout passed, a signal came, or the completion queue is full: the
        // caller's tick drains what is there.
        Some(libc::ETIME) | Some(libc::EINTR) | Some(libc::EBUSY) | Some(libc::EAGAIN) => {
            Ok(true)
        }
        _ => Err(e),
    }
}

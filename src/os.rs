//! Process-level OS knobs that need raw calls: giving freed memory back to the
//! kernel, and raising the open-files limit.
#![allow(unsafe_code)]

/// Ask mimalloc to purge this thread's free pages now. mimalloc purges freed pages
/// lazily, on later allocations of the same thread; a worker that just went quiet
/// would otherwise keep the buffers of its last burst resident. Workers call this
/// only when idle and after activity.
pub fn release_free_memory() {
    // SAFETY: mi_collect takes no pointers and only walks the calling thread's own
    // heap; it is safe to call at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// Raise the soft open-files limit to the hard limit (each client and upstream
/// connection is a descriptor; the default soft limit of 1024 is far too low for
/// a load balancer). Returns the limit now in force.
pub fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the valid, local `lim`.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return None;
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: setrlimit reads the valid, local `lim`.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
            return None;
        }
    }
    Some(lim.rlim_cur)
}

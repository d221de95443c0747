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

/// mimalloc settings for a server holding many idle connections: commit memory on
/// demand and purge freed pages at once, so RSS follows the live connections (the
/// measurement is in bench/PROFILE.md).
const ALLOCATOR_ENV: [(&str, &str); 3] = [
    ("MIMALLOC_EAGER_COMMIT", "0"),
    ("MIMALLOC_ARENA_EAGER_COMMIT", "0"),
    ("MIMALLOC_PURGE_DELAY", "0"),
];

/// mimalloc reads these options only when it initialises, before `main`; setting
/// them later (mi_option_set) leaves the first arenas eagerly committed. So when they
/// are not in the environment yet, re-execute this same program (same PID, same
/// arguments) with them added. An operator's own values are kept. Call first thing
/// in `main`; returns only when no re-exec happened or it failed. (That runs before
/// `log::init`, so its one message goes straight to stderr.)
pub fn configure_allocator() {
    use std::os::unix::process::CommandExt;
    if ALLOCATOR_ENV
        .iter()
        .all(|(k, _)| std::env::var_os(k).is_some())
    {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1));
    for (k, v) in ALLOCATOR_ENV {
        if std::env::var_os(k).is_none() {
            cmd.env(k, v);
        }
    }
    let err = cmd.exec();
    crate::log_warn!("could not re-execute with allocator settings ({err}); continuing");
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

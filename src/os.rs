//! Process-level OS knobs that need raw calls: giving freed memory back to the
//! kernel, raising the open-files limit, and finding and entering a worker's own
//! io_uring instance for busy polling.
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

/// Held while a thread creates an io_uring instance, so that the ring a thread
/// finds new in its descriptor table is its own (every ring sluice makes is made
/// under it: workers and the health checker). Startup only, never the request path.
#[allow(clippy::disallowed_types)]
static RING_BIRTH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Run `build` (which creates one io_uring instance, e.g. a monoio runtime) and
/// return what it made with the descriptor of the ring it created, if exactly one
/// appeared. monoio 0.2.4 does not expose its ring; busy polling needs it to run
/// the ring's deferred completions without waiting (`reap_deferred`).
pub fn with_new_ring<T>(build: impl FnOnce() -> T) -> (T, Option<std::os::fd::RawFd>) {
    let _birth = RING_BIRTH.lock().unwrap_or_else(|p| p.into_inner());
    let before = ring_fds();
    let made = build();
    let mut born = ring_fds().into_iter().filter(|fd| !before.contains(fd));
    let fd = match (born.next(), born.next()) {
        (Some(fd), None) => Some(fd),
        _ => None,
    };
    (made, fd)
}

/// The descriptors of this process that are io_uring instances.
fn ring_fds() -> Vec<std::os::fd::RawFd> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[io_uring]")
        })
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// `IORING_ENTER_GETEVENTS`.
const ENTER_GETEVENTS: libc::c_uint = 1;

/// Enter ring `fd` asking for completions without waiting for any
/// (`io_uring_enter(fd, 0, 0, GETEVENTS)`): on a `DEFER_TASKRUN` ring this runs the
/// completion work the kernel deferred to the owning thread, so finished receives
/// appear in the completion queue for the runtime to reap; it never sleeps. monoio
/// itself enters with GETEVENTS only when it parks. Fails with `EEXIST` when called
/// from a thread that does not own a `DEFER_TASKRUN` ring.
pub fn reap_deferred(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: io_uring_enter takes only integers here (no submission, no argument
    // pointer: NULL with size 0); on a descriptor that is not a ring it fails with
    // EOPNOTSUPP/EBADF and touches no memory.
    let r = unsafe {
        libc::syscall(
            libc::SYS_io_uring_enter,
            fd,
            0u32,
            0u32,
            ENTER_GETEVENTS,
            std::ptr::null::<libc::c_void>(),
            0usize,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

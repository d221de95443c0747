//! The one raw syscall the upstream layer needs that monoio does not wrap: a
//! non-blocking peek telling whether a pooled connection was closed by the origin.
#![allow(unsafe_code)]

use std::os::fd::RawFd;

/// What a non-blocking peek saw on an idle pooled connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdleProbe {
    /// Nothing to read: the connection is open and quiet, safe to reuse.
    Quiet,
    /// The origin closed it (EOF) or it errored.
    Closed,
    /// Unsolicited bytes are waiting: not safe to reuse.
    Dirty,
}

/// Peek at `fd` without blocking or consuming anything.
pub fn probe_idle(fd: RawFd) -> IdleProbe {
    let mut byte = 0u8;
    // SAFETY: `fd` is an open socket owned by the caller for the duration of the call;
    // the buffer is one valid, writable byte; MSG_PEEK|MSG_DONTWAIT neither blocks
    // nor consumes data.
    let n = unsafe {
        libc::recv(
            fd,
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    match n {
        0 => IdleProbe::Closed,
        n if n > 0 => IdleProbe::Dirty,
        _ => match std::io::Error::last_os_error().kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted => IdleProbe::Quiet,
            _ => IdleProbe::Closed,
        },
    }
}

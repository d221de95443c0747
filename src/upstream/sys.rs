//! The raw syscalls the upstream layer needs that monoio does not wrap, each behind
//! a safe function: a non-blocking peek telling whether a pooled connection was
//! closed by the origin, and what splicing needs (pipes of a chosen size,
//! non-blocking splice, non-blocking sockets, the receive low-water mark). This is
//! the only file of the data path with `unsafe`; Linux only.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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

/// A non-blocking, close-on-exec pipe `(read, write, capacity)` whose capacity
/// was raised towards `size` (64 KiB when the kernel refuses).
pub fn new_pipe(size: libc::c_int) -> io::Result<(OwnedFd, OwnedFd, usize)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 writes two fds into the valid two-element array.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created by pipe2 and are owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: F_SETPIPE_SZ on our own pipe fd takes an int and touches no memory.
    let got = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, size) };
    let capacity = if got > 0 { got as usize } else { 64 * 1024 };
    Ok((read, write, capacity))
}

/// One non-blocking splice of up to `len` bytes from `from` to `to`.
pub fn splice_nb(from: RawFd, to: RawFd, len: usize) -> io::Result<usize> {
    // SAFETY: both fds are open for the duration of the call (owned by the caller's
    // streams and pipe); null offsets mean "current position", as required for
    // sockets and pipes; no memory of ours is touched.
    let n = unsafe {
        libc::splice(
            from,
            std::ptr::null_mut(),
            to,
            std::ptr::null_mut(),
            len,
            libc::SPLICE_F_MOVE | libc::SPLICE_F_NONBLOCK,
        )
    };
    if n < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(n as usize)
    }
}

/// Put a socket in non-blocking mode (sockets accepted through io_uring start
/// blocking; splice then must not sleep in the kernel).
pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on an open fd take and return plain ints.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        if flags & libc::O_NONBLOCK == 0
            && libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Set a socket's receive low-water mark (SO_RCVLOWAT) to `bytes`.
pub fn set_rcvlowat(fd: RawFd, bytes: usize) -> io::Result<()> {
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: SO_RCVLOWAT on an open socket reads one c_int from the valid `v`.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&v as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

//! Response bodies are counted, not kept: they are discarded inside the kernel
//! (`recv` with `MSG_TRUNC` on a TCP socket drops the bytes without copying them to
//! user space). The generator shares a core with the origins in the METHOD.md
//! set-up; copying every body byte out would make it, not the proxy under test, the
//! bottleneck of large-body runs. Every proxy is measured with the same generator.

use std::io;
use std::os::fd::AsRawFd;

use monoio::net::TcpStream;

/// Discard up to `max` bytes waiting on `s`, waiting for some if none are there.
/// Returns how many were discarded; 0 means the peer closed.
pub async fn discard(s: &mut TcpStream, max: u64) -> io::Result<usize> {
    let len = usize::try_from(max).unwrap_or(usize::MAX);
    loop {
        // SAFETY: the descriptor is an open TCP socket owned by `s` for the whole call;
        // with MSG_TRUNC a null buffer is never written (the kernel discards instead),
        // and MSG_DONTWAIT keeps the call from blocking.
        #[allow(unsafe_code)]
        let n = unsafe {
            libc::recv(
                s.as_raw_fd(),
                std::ptr::null_mut(),
                len,
                libc::MSG_TRUNC | libc::MSG_DONTWAIT,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let err = io::Error::last_os_error();
        match err.kind() {
            io::ErrorKind::WouldBlock => s.readable(false).await?,
            io::ErrorKind::Interrupted => {}
            _ => return Err(err),
        }
    }
}

//! Zero-copy body forwarding: socket → pipe → socket with splice(2).
//!
//! Transfers are bounded (`splice_exact`): monoio's `zero_copy` runs to EOF, which
//! would swallow the next request on a keep-alive connection. The splices are
//! non-blocking syscalls driven by readiness from the runtime (an io_uring poll,
//! or epoll): io_uring's own splice op is always handed to a kernel worker thread
//! (io-wq) because splice cannot be issued non-blocking there (measured in
//! bench/PROFILE.md). Pipes
//! are created here (so their size can be raised to 1 MiB) and pooled per worker,
//! because creating one costs syscalls; a pipe is returned only when empty.

use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use monoio::net::TcpStream;

use super::sys;

/// Bodies at least this long are spliced; shorter ones are copied. A spliced body
/// pays fixed syscalls (non-blocking mode, receive low-water mark, pipe in and out)
/// that only long bodies earn back: media-mix (200 KiB live segments) cost
/// 1.09–1.19 × HAProxy's CPU per request with a 64 KiB threshold and 0.94–0.95 ×
/// with this one, while 1 MiB bodies stay spliced.
pub const SPLICE_MIN_BODY: u64 = 512 * 1024;
/// Pipe buffer asked of the kernel: fewer, larger splices per body.
const PIPE_SIZE: i32 = 1024 * 1024;
/// Pipes kept per worker.
const MAX_POOLED_PIPES: usize = 64;
/// While a long body is waited for, the source socket wakes the worker only once
/// this much is buffered (SO_RCVLOWAT; less near the body's end). One wake-up and
/// two splices per 256 KiB instead of per arriving segment: each wake-up of an idle
/// core costs an inter-processor interrupt, paid by the origin's core.
const BODY_RCVLOWAT: u64 = 256 * 1024;

/// A pipe's read and write ends and its capacity.
pub struct PipePair {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

/// Per-worker pool of empty pipes.
#[derive(Default)]
pub struct PipePool {
    free: Vec<PipePair>,
}

impl PipePool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pipe, pooled or new.
    pub fn take(&mut self) -> io::Result<PipePair> {
        if let Some(p) = self.free.pop() {
            return Ok(p);
        }
        let (read, write, capacity) = sys::new_pipe(PIPE_SIZE)?;
        Ok(PipePair {
            read,
            write,
            capacity,
        })
    }

    /// Give back a pipe that is known to be empty.
    pub fn put(&mut self, pipe: PipePair) {
        if self.free.len() < MAX_POOLED_PIPES {
            self.free.push(pipe);
        }
    }
}

/// Which side a splice failed on.
#[derive(Debug)]
pub enum SpliceFail {
    /// Reading the source failed or it closed early.
    Source(io::Error),
    /// Writing the destination failed.
    Dest(io::Error),
    /// The source sent nothing for its wait limit.
    SourceTimeout,
    /// The destination took nothing for its wait limit.
    DestTimeout,
}

/// Sets a socket's receive low-water mark, and puts the default (1) back when
/// dropped so a pooled connection's next response head wakes the worker at once.
struct RcvLowat {
    fd: RawFd,
    current: usize,
}

impl RcvLowat {
    fn new(fd: RawFd) -> Self {
        RcvLowat { fd, current: 1 }
    }

    /// Ask for `bytes` (at least 1) before the socket reads as ready.
    fn set(&mut self, bytes: usize) {
        let bytes = bytes.max(1);
        if bytes == self.current {
            return;
        }
        let r = sys::set_rcvlowat(self.fd, bytes);
        if r.is_ok() {
            self.current = bytes;
        }
    }
}

impl Drop for RcvLowat {
    fn drop(&mut self) {
        self.set(1);
    }
}

/// `ready` unless `limit` completes first (`None`).
async fn ready_within<R: Future<Output = io::Result<()>>, W: Future<Output = ()>>(
    ready: R,
    limit: W,
) -> Option<io::Result<()>> {
    let ready = std::pin::pin!(ready);
    monoio::select! {
        r = ready => Some(r),
        _ = limit => None,
    }
}

/// Move exactly `len` bytes from `src` to `dst` through `pipe`, waiting for
/// readiness whenever the kernel says EAGAIN; each wait for the source is bounded
/// by a fresh `read_limit()`, each wait for the destination by `write_limit()`
/// (the caller's timers: the worker's coarse deadlines). On success the pipe is
/// empty again; on error its contents are unknown and it must be dropped.
pub async fn splice_exact<R: Future<Output = ()>, W: Future<Output = ()>>(
    src: &TcpStream,
    dst: &TcpStream,
    pipe: &mut PipePair,
    len: u64,
    read_limit: impl Fn() -> R,
    write_limit: impl Fn() -> W,
) -> Result<(), SpliceFail> {
    let (sfd, dfd) = (src.as_raw_fd(), dst.as_raw_fd());
    sys::set_nonblocking(sfd).map_err(SpliceFail::Source)?;
    sys::set_nonblocking(dfd).map_err(SpliceFail::Dest)?;
    let mut lowat = RcvLowat::new(sfd);
    let mut left = len;
    while left > 0 {
        let want = (left as usize).min(pipe.capacity);
        let got = loop {
            match sys::splice_nb(sfd, pipe.write.as_raw_fd(), want) {
                Ok(0) => return Err(SpliceFail::Source(io::ErrorKind::UnexpectedEof.into())),
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Never more than what is still due: the last bytes must wake us.
                    lowat.set(left.min(BODY_RCVLOWAT) as usize);
                    match ready_within(src.readable(false), read_limit()).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => return Err(SpliceFail::Source(e)),
                        None => return Err(SpliceFail::SourceTimeout),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SpliceFail::Source(e)),
            }
        };
        let mut pending = got;
        while pending > 0 {
            match sys::splice_nb(pipe.read.as_raw_fd(), dfd, pending) {
                Ok(0) => return Err(SpliceFail::Dest(io::ErrorKind::WriteZero.into())),
                Ok(n) => pending -= n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    match ready_within(dst.writable(false), write_limit()).await {
                        Some(Ok(())) => {}
                        Some(Err(e)) => return Err(SpliceFail::Dest(e)),
                        None => return Err(SpliceFail::DestTimeout),
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(SpliceFail::Dest(e)),
            }
        }
        left -= got as u64;
    }
    Ok(())
}

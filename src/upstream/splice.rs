//! Zero-copy body forwarding: socket → pipe → socket with splice(2), submitted
//! through monoio (io_uring or the legacy driver).
//!
//! Transfers are bounded (`splice_exact`): monoio's `zero_copy` runs to EOF, which
//! would swallow the next request on a keep-alive connection. Pipes are pooled per
//! worker because creating one costs syscalls; a pipe is returned only when empty.

use std::io;
use std::time::Duration;

use monoio::io::as_fd::{AsReadFd, AsWriteFd};
use monoio::io::splice::{SpliceDestination, SpliceSource};
use monoio::net::Pipe;

/// Bodies at least this long are spliced; shorter ones are copied (the copy is
/// cheaper than the extra pipe round trip).
pub const SPLICE_MIN_BODY: u64 = 64 * 1024;
/// The kernel's default pipe buffer (16 pages). monoio's `Pipe` hides its fd, so
/// the size cannot be raised with F_SETPIPE_SZ; each splice moves at most this much.
pub const PIPE_CAPACITY: u32 = 64 * 1024;
/// Pipes kept per worker.
const MAX_POOLED_PIPES: usize = 64;

/// A pipe's read and write ends.
pub struct PipePair {
    read: Pipe,
    write: Pipe,
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
        let (read, write) = monoio::net::unix::new_pipe()?;
        Ok(PipePair { read, write })
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
    /// No progress within the timeout.
    Timeout,
}

/// Move exactly `len` bytes from `src` to `dst` through `pipe`, each kernel operation
/// bounded by `timeout`. On success the pipe is empty again; on error its contents are
/// unknown and it must be dropped.
pub async fn splice_exact<S: AsReadFd, D: AsWriteFd>(
    src: &mut S,
    dst: &mut D,
    pipe: &mut PipePair,
    len: u64,
    timeout: Duration,
) -> Result<(), SpliceFail> {
    let mut left = len;
    while left > 0 {
        let want = left.min(u64::from(PIPE_CAPACITY)) as u32;
        let got =
            match monoio::time::timeout(timeout, src.splice_to_pipe(&mut pipe.write, want)).await {
                Ok(Ok(0)) => return Err(SpliceFail::Source(io::ErrorKind::UnexpectedEof.into())),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(SpliceFail::Source(e)),
                Err(_) => return Err(SpliceFail::Timeout),
            };
        let mut pending = got;
        while pending > 0 {
            match monoio::time::timeout(timeout, dst.splice_from_pipe(&mut pipe.read, pending))
                .await
            {
                Ok(Ok(0)) => return Err(SpliceFail::Dest(io::ErrorKind::WriteZero.into())),
                Ok(Ok(n)) => pending -= n,
                Ok(Err(e)) => return Err(SpliceFail::Dest(e)),
                Err(_) => return Err(SpliceFail::Timeout),
            }
        }
        left -= u64::from(got);
    }
    Ok(())
}

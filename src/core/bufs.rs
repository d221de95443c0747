//! Per-worker pool of I/O buffers. A connection holds a buffer only while a request
//! is in progress, so idle keep-alive connections pin no buffer memory.

/// Size of pooled relay buffers (upstream responses, small bodies).
pub const BUF_SIZE: usize = 32 * 1024;
/// Size of a client connection's read buffer: most request heads fit; it grows (up
/// to `max_header_bytes`) for the rest. Small, because a keep-alive connection holds
/// it while its next request is expected.
pub const HEAD_BUF_SIZE: usize = 4 * 1024;
/// Relay buffers kept per worker while busy: two per request in flight, so 128
/// requests in flight at once allocate nothing. Trimmed when the worker goes quiet.
pub const MAX_POOLED_BUFS: usize = 256;
/// Head buffers kept per worker while busy (a hot read and an upstream head per
/// request in flight).
pub const MAX_POOLED_HEADS: usize = 512;
/// Buffers a quiet worker keeps (the rest go back to the allocator, which returns
/// their pages to the kernel).
pub const KEPT_WHEN_QUIET: usize = 8;

/// Free buffers of one worker.
pub struct BufPool {
    free: Vec<Vec<u8>>,
    size: usize,
    max: usize,
}

impl BufPool {
    /// A pool handing out buffers with at least `size` bytes of capacity and
    /// keeping at most `max` free ones.
    pub fn new(size: usize, max: usize) -> Self {
        BufPool {
            free: Vec::new(),
            size,
            max,
        }
    }

    /// Free all but `keep` pooled buffers (called when the worker goes quiet).
    pub fn trim(&mut self, keep: usize) {
        self.free.truncate(keep);
        self.free.shrink_to(keep);
    }

    /// An empty buffer with the pool's capacity.
    // HOT PATH: allocates only when the pool is empty.
    pub fn take(&mut self) -> Vec<u8> {
        self.free
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(self.size))
    }

    /// Return a buffer; its contents are discarded.
    pub fn put(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() >= self.size && self.free.len() < self.max {
            buf.clear();
            self.free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_out_its_own_size_and_keeps_only_big_enough_buffers() {
        let mut heads = BufPool::new(HEAD_BUF_SIZE, 4);
        let b = heads.take();
        assert_eq!(b.capacity(), HEAD_BUF_SIZE);
        heads.put(Vec::with_capacity(16));
        heads.put(b);
        assert_eq!(heads.free.len(), 1, "a too-small buffer is not pooled");
        let mut relay = BufPool::new(BUF_SIZE, 2);
        assert_eq!(relay.take().capacity(), BUF_SIZE);
        for _ in 0..3 {
            relay.put(Vec::with_capacity(BUF_SIZE));
        }
        assert_eq!(relay.free.len(), 2, "at most `max` kept");
        relay.trim(1);
        assert_eq!(relay.free.len(), 1);
    }
}

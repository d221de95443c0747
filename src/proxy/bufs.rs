//! Per-worker pool of I/O buffers. A connection holds a buffer only while a request
//! is in progress, so idle keep-alive connections pin no buffer memory.

/// Size of pooled relay buffers (upstream responses, small bodies).
pub const BUF_SIZE: usize = 32 * 1024;
/// Size of a client connection's read buffer: most request heads fit; it grows (up
/// to `max_header_bytes`) for the rest. Small, because a keep-alive connection holds
/// it while its next request is expected.
pub const HEAD_BUF_SIZE: usize = 4 * 1024;
/// Buffers kept per worker; extra ones are freed.
const MAX_POOLED: usize = 64;

/// Free buffers of one worker.
#[derive(Default)]
pub struct BufPool {
    free: Vec<Vec<u8>>,
    size: usize,
}

impl BufPool {
    /// A pool handing out buffers with at least `size` bytes of capacity.
    pub fn new(size: usize) -> Self {
        BufPool {
            free: Vec::new(),
            size: size.max(BUF_SIZE),
        }
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
        if buf.capacity() >= self.size && self.free.len() < MAX_POOLED {
            buf.clear();
            self.free.push(buf);
        }
    }
}

//! Giving freed memory back to the kernel. mimalloc purges freed pages lazily, on
//! later allocations of the same thread; a worker that just went quiet (its
//! connections idle) would otherwise keep the buffers of the last burst resident.
#![allow(unsafe_code)]

/// Ask mimalloc to purge this thread's free pages now. Workers call it only when
/// they are idle and have freed memory since the last call.
pub fn release_free_memory() {
    // SAFETY: mi_collect takes no pointers and only walks the calling thread's own
    // heap; it is safe to call at any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

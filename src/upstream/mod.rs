//! Upstream side of the data path: timed connects, per-worker keep-alive pools and
//! zero-copy body forwarding by splice.

pub mod connect;
pub mod pool;
pub mod splice;
#[cfg(target_os = "linux")]
pub mod sys;

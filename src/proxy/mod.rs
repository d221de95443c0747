//! The per-connection data path: read a request, plan it, exchange it with an
//! upstream server, relay the answer, repeat while keep-alive holds.
//!
//! No locks and no blocking calls: per-worker state is `Rc`/`RefCell` (never
//! borrowed across `.await`), cross-worker figures are relaxed atomics, and control
//! messages are taken with `try_recv` between requests.

pub mod acquire;
pub mod body;
pub mod client;
pub mod conn;
pub mod error;
pub mod exchange;
pub mod plan;
pub mod request;
pub mod slot;
pub mod tunnel;

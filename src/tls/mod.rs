//! TLS termination with rustls (SPEC §10): certificate entries checked as pairs
//! (`certs`), the SNI resolver (`sni`), one rustls `ServerConfig` per config
//! generation sharing the process's ticketer and session cache (`setup`), the
//! sans-I/O decrypting half of a connection (`session`), and sluice's own adaptor
//! from rustls to monoio's owned-buffer sockets (`stream`).
//!
//! Depends on no other sluice module: `config` loads certificates through it, and
//! `control`, `proxy` and `worker` use its config and stream.

pub mod certs;
pub mod session;
pub mod setup;
pub mod sni;
pub mod stream;

pub use certs::{CertEntry, PairError, load_pair};
pub use setup::{MinVersion, Settings, server_config};
pub use stream::{HandshakeInfo, TlsStream};

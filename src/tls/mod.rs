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

/// Whether the kernel offers kTLS, from the TCP upper-layer protocols it has
/// registered (`/proc/sys/net/ipv4/tcp_available_ulp` lists `tls` once the `tls`
/// module is loaded). Only probed and reported: sluice never assumes kTLS, and
/// bodies to TLS clients are copied through user space either way.
pub fn ktls_probe() -> String {
    match std::fs::read_to_string("/proc/sys/net/ipv4/tcp_available_ulp") {
        Ok(list) if list.split_whitespace().any(|u| u == "tls") => {
            "the kernel offers kTLS (TCP ULP \"tls\"); sluice does not use it yet".into()
        }
        Ok(list) => format!(
            "no kTLS in this kernel (TCP ULPs: {:?}); TLS bodies are copied through user space",
            list.trim()
        ),
        Err(e) => format!("kTLS not probed ({e}); TLS bodies are copied through user space"),
    }
}

//! sluice: a thread-per-core Layer-7 HTTP load balancer for media-streaming farms.
//!
//! # Layout
//! - `tls`: rustls termination: certificate pairs, the SNI resolver, one `ServerConfig` per generation, a monoio stream adaptor.
//! - `config`: `config.toml` → validated `Config`; errors name their key path.
//! - `json`: hand-written JSON output helpers.
//! - `http`: request/response heads, framing, chunked decoding, head rewriting, canned answers (no I/O).
//! - `metrics`: per-worker counters and latency histograms, merged on read.
//! - `hashring`: consistent-hash ring with bounded loads (deterministic from the config).
//! - `stats`: per-server live state and counters as atomics, shared by workers, health and admin.
//! - `router`: routes compiled into a per-worker classifier (match kinds, media presets).
//! - `balance`: per-worker choice of a server inside a pool.
//! - `control`: shared snapshots, per-server atomics, crossbeam fan-out to workers and their inboxes.
//! - `health`: active checks on their own thread; rise/fall hysteresis.
//! - `log`: diagnostics at `log.level` (`log_warn!` etc.), written by its own thread; no caller blocks on stderr.
//! - `access_log`: JSON access log written by its own thread; workers never block on it.
//! - `upstream`: timed connects, per-worker keep-alive pools, splice.
//! - `core`: the per-core runtime: worker context, coarse timers and clock (passed explicitly), buffer pools, timed I/O, panic and busy guards.
//! - `proxy`: one client connection (phases, request reading and planning) and one request's `Exchange` (acquire, send, response, relay), with one error type.
//! - `os`: process knobs needing raw calls (mimalloc purge, open-files limit).
//! - `worker`: pinned threads, monoio runtimes, SO_REUSEPORT listeners, accept loops.
//! - `fuzzing`: entry points shared by the fuzz targets and the corpus test.
//! - `plane`: the control plane's shared state: apply (one at a time) and persist (0600) configs, server admin states, metrics collection.
//! - `admin`: admin API, Prometheus metrics and dashboard on their own thread: one event loop, Host/Origin checks, a handler pool.
//! - `server`: process start-up, bound-address line, signals, reload, shutdown.
//!
//! Layers, lowest first. A module may use only modules on earlier lines (and
//! itself), never one on its own line or a later one, and the files of one module
//! never import each other in a cycle; `scripts/check-layers.sh` checks both.
//! 1. `json`, `http`, `hashring`, `stats`, `tls`
//! 2. `config`
//! 3. `metrics`, `router`, `log` (with its macros `log_error`, `log_warn`, `log_info`, `log_debug`)
//! 4. `balance`, `os`
//! 5. `control`
//! 6. `health`, `upstream`, `access_log`
//! 7. `core`: the per-core runtime (context, timers, buffer pools, panic guard)
//! 8. `proxy`
//! 9. `worker`, `plane`, `fuzzing`
//! 10. `admin`
//! 11. `server`
//! 12. `bin/*`: the binaries
#![deny(unsafe_code)]

// io_uring, splice(2) and the raw socket options sluice relies on are Linux's
// (SPEC §1): say so at build time rather than fail in odd ways at run time.
#[cfg(not(target_os = "linux"))]
compile_error!("sluice runs on Linux only (io_uring, splice)");

pub mod access_log;
pub mod admin;
pub mod balance;
pub mod config;
pub mod control;
pub mod core;
pub mod fuzzing;
pub mod hashring;
pub mod health;
pub mod http;
pub mod json;
pub mod log;
pub mod metrics;
#[cfg(target_os = "linux")]
pub mod os;
pub mod plane;
pub mod proxy;
pub mod router;
pub mod server;
pub mod stats;
pub mod tls;
pub mod upstream;
pub mod worker;

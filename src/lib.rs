//! sluice: a thread-per-core Layer-7 HTTP load balancer for media-streaming farms.
//!
//! # Layout
//! - `config`: `config.toml` → validated `Config`; errors name their key path.
//! - `http`: request/response heads, framing, chunked decoding, head rewriting, canned answers (no I/O).
#![deny(unsafe_code)]

pub mod config;
pub mod http;

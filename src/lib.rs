//! sluice: a thread-per-core Layer-7 HTTP load balancer for media-streaming farms.
//!
//! # Layout
//! - `config`: `config.toml` → validated `Config`; errors name their key path.
#![deny(unsafe_code)]

pub mod config;

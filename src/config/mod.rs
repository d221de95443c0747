//! Configuration: `config.toml` (SPEC §3) parsed into `schema` types, then checked
//! once by `validate` into typed `Config` values. Every error names its key path, and
//! all errors are reported together. Routes come out built (`matcher`): presets as
//! an enum, host patterns, compiled regexes, so `router` compiles them infallibly.
//!
//! Files import downwards only: `units`, `bounds`, `schema`, `matcher` → `types`,
//! `errors` → `validate_admin`, `validate_pool`, `validate_routes`, `validate_tls` →
//! `validate` → `load`. `[tls]` certificates are read and checked here (through
//! `crate::tls`), so a reload re-reads them and a bad pair is a config error. This file only declares and re-exports.

mod bounds;
#[cfg(test)]
mod bounds_tests;
mod errors;
mod load;
mod matcher;
mod schema;
#[cfg(test)]
mod tests;
mod types;
mod units;
mod validate;
mod validate_admin;
mod validate_pool;
mod validate_routes;
mod validate_tls;

pub use bounds::*;
pub use errors::{ConfigError, ConfigErrors};
pub use load::config_dir;
pub use matcher::{FieldMatch, HostPattern, Match, Preset, ValueTest};
pub use schema::*;
pub use types::*;
pub use units::{MAX_DURATION, parse_duration, parse_size};
pub use validate_tls::EXPIRY_WARNING_SECS;

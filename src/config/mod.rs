//! Configuration: `config.toml` (SPEC §3) parsed into `schema` types, then checked
//! once by `validate` into typed `Config` values. Every error names its key path, and
//! all errors are reported together. Routes come out built (`matcher`): presets as
//! an enum, host patterns, compiled regexes, so `router` compiles them infallibly.
//!
//! Files import downwards only: `units`, `bounds`, `schema`, `matcher` → `types`,
//! `errors` → `validate_admin`, `validate_pool`, `validate_routes` → `validate` →
//! `load`. This file only declares and re-exports.

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

pub use bounds::*;
pub use errors::{ConfigError, ConfigErrors};
pub use matcher::{FieldMatch, HostPattern, Match, Preset, ValueTest};
pub use schema::*;
pub use types::*;
pub use units::{MAX_DURATION, parse_duration, parse_size};

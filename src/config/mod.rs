//! Configuration: `config.toml` (SPEC §3) parsed into `schema` types, then checked
//! once by `validate` into typed `Config` values. Every error names its key path, and
//! all errors are reported together.

mod bounds;
#[cfg(test)]
mod bounds_tests;
mod load;
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
pub use schema::*;
pub use types::*;
pub use units::{MAX_DURATION, parse_duration, parse_size};

use std::fmt;

/// One configuration problem, located by its key path, e.g.
/// `route[2] ("vod").pool: no pool named "vodd"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// 0-based key path with the entry's name where it has one.
    pub path: String,
    /// What is wrong, with the offending value.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one configuration, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

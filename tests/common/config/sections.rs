//! The section builders: `[server.timeouts]`, `[server.limits]`, `[admin]`, `[log]`,
//! `[pool.health]`, `[pool.passive]` and `[route.match]`.

use std::fmt::Display;

use super::table::{Table, quote, string_array};

/// Defines a section builder: a `Table` newtype with `raw` and typed setters.
macro_rules! section {
    ($(#[$doc:meta])* $name:ident { $($body:tt)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default)]
        pub struct $name(pub(super) Table);

        impl $name {
            /// A raw line (or lines) of this table, for keys without a setter.
            pub fn raw(mut self, line: &str) -> Self {
                self.0.raw(line);
                self
            }
            $($body)*
        }
    };
}

/// A setter writing a quoted string (durations, sizes, names).
macro_rules! str_key {
    ($(#[$doc:meta])* $fn:ident) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: &str) -> Self {
            self.0.set_str(stringify!($fn), value);
            self
        }
    };
    ($(#[$doc:meta])* $fn:ident = $key:literal) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: &str) -> Self {
            self.0.set_str($key, value);
            self
        }
    };
}

/// A setter writing a bare value (integers, booleans).
macro_rules! int_key {
    ($(#[$doc:meta])* $fn:ident) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: i64) -> Self {
            self.0.set(stringify!($fn), value);
            self
        }
    };
    ($(#[$doc:meta])* $fn:ident = $key:literal) => {
        $(#[$doc])*
        pub fn $fn(mut self, value: i64) -> Self {
            self.0.set($key, value);
            self
        }
    };
}

section!(
    /// `[server.timeouts]` (the builder starts with `upstream_response = "2s"`).
    Timeouts {
        str_key!(client_header);
        str_key!(client_idle);
        str_key!(upstream_connect);
        str_key!(upstream_response);
        str_key!(upstream_idle);
    }
);

section!(
    /// `[server.limits]`.
    Limits {
        str_key!(max_header_bytes);
        int_key!(max_headers);
        str_key!(max_body);
    }
);

section!(
    /// `[admin]` (the builder starts with `listen = "127.0.0.1:0"`).
    Admin {
        str_key!(token);
        /// `allowed_hosts = [...]`.
        pub fn allowed_hosts(mut self, hosts: &[&str]) -> Self {
            self.0.set("allowed_hosts", string_array(hosts));
            self
        }
    }
);

section!(
    /// `[log]`.
    Log {
        /// `access = "PATH"`.
        pub fn access(mut self, path: impl Display) -> Self {
            self.0.set_str("access", &path.to_string());
            self
        }
        str_key!(level);
    }
);

section!(
    /// `[pool.health]` of one pool (every key has a default).
    Health {
        str_key!(path);
        str_key!(interval);
        str_key!(timeout);
        int_key!(rise);
        int_key!(fall);
        str_key!(expect_status);
    }
);

section!(
    /// `[pool.passive]` of one pool.
    Passive {
        int_key!(consecutive_failures);
        str_key!(eject_for);
        /// `count_5xx = ..`.
        pub fn count_5xx(mut self, on: bool) -> Self {
            self.0.set("count_5xx", on);
            self
        }
    }
);

section!(
    /// `[route.match]`: every condition given must hold.
    Match {
        str_key!(preset);
        str_key!(host);
        str_key!(path_prefix);
        str_key!(path_exact);
        str_key!(path_regex);
        str_key!(user_agent);
        /// `path_suffix = [...]`.
        pub fn path_suffix(mut self, suffixes: &[&str]) -> Self {
            self.0.set("path_suffix", string_array(suffixes));
            self
        }
        /// `methods = [...]`.
        pub fn methods(mut self, methods: &[&str]) -> Self {
            self.0.set("methods", string_array(methods));
            self
        }
        /// `header = { name = .., value = .. }`.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.0.set("header", kv(name, value));
            self
        }
        /// `cookie = { name = .., value = .. }`.
        pub fn cookie(mut self, name: &str, value: &str) -> Self {
            self.0.set("cookie", kv(name, value));
            self
        }
        /// `query = { name = .., value = .. }`.
        pub fn query(mut self, name: &str, value: &str) -> Self {
            self.0.set("query", kv(name, value));
            self
        }
    }
);

fn kv(name: &str, value: &str) -> String {
    format!("{{ name = {}, value = {} }}", quote(name), quote(value))
}

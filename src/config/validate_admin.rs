//! `[admin]` checks (listen address, token, `allowed_hosts`) and the warnings
//! `sluice check` prints for a valid but exposed admin API.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use super::errors::Errors;
use super::schema::RawAdmin;
use super::types::{Admin, Config};

/// Longest DNS name (RFC 1035 §2.3.4).
const MAX_HOST_NAME: usize = 253;

pub(super) fn check_admin(a: &RawAdmin, e: &mut Errors) -> Admin {
    let listen = e
        .addr("admin.listen", &a.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
    let token = match (&a.token, &a.token_env) {
        (Some(_), Some(_)) => {
            e.push("admin", "token and token_env must not both be given");
            None
        }
        (Some(t), None) if t.is_empty() => {
            e.push("admin.token", "must not be empty");
            None
        }
        (Some(t), None) => Some(t.clone()),
        (None, Some(var)) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => {
                e.push(
                    "admin.token_env",
                    format!("environment variable {var:?} is not set or empty"),
                );
                None
            }
        },
        (None, None) => None,
    };
    if token.is_none() && !listen.ip().is_loopback() && a.token.is_none() && a.token_env.is_none() {
        e.push(
            "admin.token",
            format!(
                "required because admin.listen {} is not a loopback address",
                a.listen
            ),
        );
    }
    let mut allowed_hosts = Vec::with_capacity(a.allowed_hosts.len());
    for (i, h) in a.allowed_hosts.iter().enumerate() {
        match check_host_name(h) {
            Ok(name) => allowed_hosts.push(name),
            Err(why) => e.push(format!("admin.allowed_hosts[{i}]"), format!("{h:?}: {why}")),
        }
    }
    Admin {
        listen,
        token,
        allowed_hosts,
    }
}

/// A host as it appears in `Host` without the port: a DNS name, an IPv4 literal or
/// a bracketed IPv6 literal. Returned lower-cased.
fn check_host_name(h: &str) -> Result<String, &'static str> {
    let h = h.to_ascii_lowercase();
    if h.is_empty() {
        return Err("must not be empty");
    }
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return match inner.parse::<Ipv6Addr>() {
            Ok(_) => Ok(h),
            Err(_) => Err("not an IPv6 address inside the brackets"),
        };
    }
    if h.parse::<Ipv6Addr>().is_ok() {
        return Err("write an IPv6 address in brackets, as in a Host header: \"[::1]\"");
    }
    if h.contains(':') {
        return Err("give the host without a port (any port is accepted)");
    }
    if h.contains("://") || h.contains('/') {
        return Err("give a host name, not a URL");
    }
    if h.parse::<Ipv4Addr>().is_ok() {
        return Ok(h);
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if h.len() > MAX_HOST_NAME || !h.split('.').all(label_ok) {
        return Err(
            "not a host name (letters, digits, '-' and '_' in dot-separated labels; no wildcards)",
        );
    }
    Ok(h)
}

impl Config {
    /// Problems that do not make the config invalid but that an operator should
    /// see (`sluice check` prints them on stderr and still exits 0).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.admin.token.is_none() {
            w.push(format!(
                "admin.token: not set, so any process that can reach {} can read the config and change it through the admin API; set admin.token or admin.token_env",
                self.admin.listen
            ));
        }
        if let Some(tls) = &self.tls {
            w.extend(tls.expiry_warnings(crate::tls::certs::unix_now()));
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::check_host_name;
    use crate::config::Config;

    #[test]
    fn host_names() {
        assert_eq!(
            check_host_name("Admin.Example.COM").as_deref(),
            Ok("admin.example.com")
        );
        assert_eq!(check_host_name("10.0.0.5").as_deref(), Ok("10.0.0.5"));
        assert_eq!(check_host_name("[fd00::1]").as_deref(), Ok("[fd00::1]"));
        assert_eq!(
            check_host_name("sluice-admin").as_deref(),
            Ok("sluice-admin")
        );
        for bad in [
            "",
            "fd00::1",
            "a.example:9901",
            "*.example.com",
            "http://a",
            "a..b",
            "-a",
            "[x]",
        ] {
            assert!(check_host_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn allowed_hosts_errors_name_the_entry() {
        let err = Config::from_toml_str("[admin]\nallowed_hosts = [\"ok.example\", \"bad:1\"]\n")
            .expect_err("a port is refused");
        assert_eq!(err.0.len(), 1, "{err}");
        assert!(err.0[0].path == "admin.allowed_hosts[1]", "{err}");
        let c =
            Config::from_toml_str("[admin]\nallowed_hosts = [\"OK.example\"]\n").expect("valid");
        assert_eq!(c.admin.allowed_hosts, vec!["ok.example".to_string()]);
        assert!(c.to_toml().contains("allowed_hosts"));
    }

    #[test]
    fn warns_without_token() {
        let open = Config::from_toml_str("").expect("defaults are valid");
        assert!(
            open.warnings()
                .iter()
                .any(|w| w.starts_with("admin.token: not set"))
        );
        let closed = Config::from_toml_str("[admin]\ntoken = \"t\"\n").expect("valid");
        assert!(closed.warnings().is_empty());
    }
}

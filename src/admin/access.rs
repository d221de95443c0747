//! Who may talk to the admin API at all, token or not (SPEC §6): the `Host` must
//! name this admin (DNS-rebinding defence) and a browser request must come from the
//! admin's own origin (CSRF defence). Pure: decided on the request head alone.
//!
//! - `Host` (exactly one) must be `localhost`, `127.0.0.1`, `[::1]`, the IP of
//!   `admin.listen`, or a name in `admin.allowed_hosts`, with any port. When
//!   `admin.listen` is a wildcard (`0.0.0.0`, `[::]`) any IP literal is accepted
//!   too: a probe or a script reaching the pod by IP sends its IP, while a DNS
//!   rebinding attack always sends the attacker's *name*.
//! - `Origin`, when present, must be `http(s)://` plus the request's own `Host`
//!   (same origin), or name a host in `admin.allowed_hosts`; `null` is refused.
//! - `Sec-Fetch-Site: cross-site` is refused, except for a top-level navigation to
//!   the dashboard shell `GET /` (a bookmark or a link from a wiki; it holds no data
//!   and cannot be framed).
//!
//! `GET /healthz` is checked by none of these (see `conn`): it holds no data and
//! changes nothing, and a readiness probe must never fail on its `Host`.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use super::http::{Request, Response};

/// Names every admin accepts in `Host`, besides its listen IP and `allowed_hosts`.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// `Ok` when `req` may proceed, else the 400/403 answer.
pub fn check(req: &Request, listen: SocketAddr, allowed_hosts: &[String]) -> Result<(), Response> {
    if req.count("host") != 1 {
        return Err(Response::error(400, "exactly one Host header is required"));
    }
    let host_value = req.header("host").unwrap_or("").trim();
    let host_ok = host_part(host_value).is_some_and(|h| host_allowed(&h, listen, allowed_hosts));
    if !host_ok {
        return Err(Response::error(
            403,
            &format!(
                "Host {host_value:?} is not this admin API (add the name to admin.allowed_hosts to use it)"
            ),
        ));
    }
    let navigation = req.method == "GET"
        && req.route() == "/"
        && req
            .header("sec-fetch-mode")
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("navigate"))
        && req
            .header("sec-fetch-dest")
            .is_none_or(|d| d.trim().eq_ignore_ascii_case("document"));
    let cross_site = req
        .header("sec-fetch-site")
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site"));
    if cross_site && !navigation {
        return Err(Response::error(403, "cross-site requests are refused"));
    }
    if let Some(origin) = req.header("origin")
        && !origin_allowed(origin.trim(), host_value, allowed_hosts)
    {
        return Err(Response::error(
            403,
            &format!("Origin {:?} is not this admin API", origin.trim()),
        ));
    }
    Ok(())
}

/// The host of a `Host` value or an origin's authority, lower-cased, port removed
/// (IPv6 keeps its brackets). `None` when malformed.
fn host_part(authority: &str) -> Option<String> {
    let a = authority.to_ascii_lowercase();
    let (host, port) = if a.starts_with('[') {
        let end = a.find(']')?;
        let (h, rest) = a.split_at(end + 1);
        (
            h.to_string(),
            rest.strip_prefix(':').or(rest.is_empty().then_some(""))?,
        )
    } else {
        match a.split_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (a.clone(), ""),
        }
    };
    let sane = !host.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && !host
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'/' || b == b'@');
    sane.then_some(host)
}

/// An IP literal as written in `Host` (`1.2.3.4` or `[::1]`).
fn ip_literal(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

fn host_allowed(host: &str, listen: SocketAddr, allowed_hosts: &[String]) -> bool {
    if LOOPBACK_NAMES.contains(&host) || allowed_hosts.iter().any(|a| a == host) {
        return true;
    }
    match ip_literal(host) {
        Some(ip) => ip == listen.ip() || listen.ip().is_unspecified(),
        None => false,
    }
}

fn origin_allowed(origin: &str, host_value: &str, allowed_hosts: &[String]) -> bool {
    let Some(authority) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false; // `null`, file:, extensions, anything else
    };
    if authority.is_empty() || authority.contains('/') {
        return false;
    }
    authority.eq_ignore_ascii_case(host_value)
        || host_part(authority).is_some_and(|h| allowed_hosts.contains(&h))
}

/// Constant-time equality of two secrets (length leaks, content does not).
pub fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    fn status(r: &Request, listen: &str, allowed: &[&str]) -> u16 {
        let allowed: Vec<String> = allowed.iter().map(|s| s.to_string()).collect();
        match check(r, listen.parse().expect("addr"), &allowed) {
            Ok(()) => 200,
            Err(resp) => resp.status,
        }
    }

    #[test]
    fn hosts() {
        let lo = "127.0.0.1:9901";
        for ok in [
            "localhost",
            "LOCALHOST:9901",
            "127.0.0.1:1",
            "[::1]:9901",
            "[::1]",
        ] {
            assert_eq!(
                status(&req("GET", "/metrics", &[("Host", ok)]), lo, &[]),
                200,
                "{ok}"
            );
        }
        for bad in [
            "evil.example",
            "evil.example:9901",
            "127.0.0.2",
            "localhost.",
            "a@localhost",
            "[::1",
            "",
        ] {
            assert_eq!(
                status(&req("GET", "/metrics", &[("Host", bad)]), lo, &[]),
                403,
                "{bad}"
            );
        }
        assert_eq!(status(&req("GET", "/metrics", &[]), lo, &[]), 400);
        let two = req("GET", "/", &[("Host", "localhost"), ("Host", "localhost")]);
        assert_eq!(status(&two, lo, &[]), 400);
        // allowed_hosts, and the listen IP.
        let named = req("GET", "/metrics", &[("Host", "admin.internal:80")]);
        assert_eq!(status(&named, lo, &["admin.internal"]), 200);
        let by_ip = req("GET", "/metrics", &[("Host", "10.1.2.3:9901")]);
        assert_eq!(status(&by_ip, "10.1.2.3:9901", &[]), 200);
        assert_eq!(status(&by_ip, "10.9.9.9:9901", &[]), 403);
        // A wildcard listen accepts IP literals (probes by pod IP), never names.
        assert_eq!(status(&by_ip, "0.0.0.0:9901", &[]), 200);
        let v6 = req("GET", "/metrics", &[("Host", "[fd00::7]:9901")]);
        assert_eq!(status(&v6, "[::]:9901", &[]), 200);
        let name = req("GET", "/metrics", &[("Host", "rebind.evil.example:9901")]);
        assert_eq!(status(&name, "0.0.0.0:9901", &[]), 403);
    }

    #[test]
    fn origins_and_fetch_metadata() {
        let lo = "127.0.0.1:9901";
        let with = |h: &[(&str, &str)]| {
            let mut all = vec![("Host", "127.0.0.1:9901")];
            all.extend_from_slice(h);
            status(&req("PUT", "/api/v1/config", &all), lo, &["admin.internal"])
        };
        assert_eq!(with(&[("Origin", "http://127.0.0.1:9901")]), 200);
        assert_eq!(with(&[("Origin", "https://admin.internal")]), 200);
        assert_eq!(with(&[("Origin", "http://localhost:9901")]), 403);
        assert_eq!(with(&[("Origin", "http://127.0.0.1:3000")]), 403);
        assert_eq!(with(&[("Origin", "http://evil.example")]), 403);
        assert_eq!(with(&[("Origin", "null")]), 403);
        assert_eq!(with(&[("Sec-Fetch-Site", "cross-site")]), 403);
        assert_eq!(with(&[("Sec-Fetch-Site", "same-origin")]), 200);
        // A link to the dashboard shell from another site still opens it.
        let nav = [
            ("Host", "127.0.0.1:9901"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "document"),
        ];
        assert_eq!(status(&req("GET", "/", &nav), lo, &[]), 200);
        assert_eq!(status(&req("GET", "/api/v1/config", &nav), lo, &[]), 403);
        let framed = [
            ("Host", "127.0.0.1:9901"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-Dest", "iframe"),
        ];
        assert_eq!(status(&req("GET", "/", &framed), lo, &[]), 403);
    }

    #[test]
    fn secret_eq_compares_whole_secrets() {
        assert!(super::secret_eq(b"abc", b"abc"));
        assert!(!super::secret_eq(b"abc", b"abd"));
        assert!(!super::secret_eq(b"abc", b"ab"));
    }
}

//! Issue 10, item 9 (config bounds) through the real binary: durations above 365
//! days, `max_headers` above the parser's capacity and the other numeric bounds are
//! config errors naming their key path — from `sluice check`, at start-up and on a
//! SIGHUP reload — never a panic in a worker, the health thread or shutdown; the
//! edge values themselves run.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::client::get;
use common::config::SluiceConfig;
use common::{Origins, Proc, Sluice, TempDir, server_field, wait_until};

/// Run `sluice check -c FILE` on `config`; (exit code, stdout + stderr).
fn check(config: &str) -> (i32, String) {
    let c = common::check(config);
    (c.code, c.stdout + &c.stderr)
}

/// Start `sluice -c FILE` on a config it must refuse; (exit code, stderr).
fn start_refused(config: &str) -> (i32, String) {
    let dir = TempDir::new();
    let path = dir.0.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let log_path = dir.0.join("stderr.log");
    let child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("start sluice");
    let mut proc = Proc {
        child,
        stdout: None,
    };
    let code = proc.wait_exit(Duration::from_secs(10));
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let code = code.unwrap_or_else(|| panic!("sluice started on a bad config:\n{log}"));
    (code, log)
}

/// One pool `p` on `origin` (the default); nothing listens on the origin of
/// `check`-only configs.
fn one_pool(origin: &str) -> SluiceConfig {
    Sluice::builder()
        .pool("p", |p| p.server(origin))
        .default_pool("p")
}

const NOWHERE: &str = "127.0.0.1:9";

#[test]
fn item9_huge_duration_is_a_config_error_naming_the_key() {
    // "9999999999999h" passed `sluice check` at 1b5d9aa; as upstream_connect it made
    // monoio's timer panic in the worker on the first request.
    for key in ["client_idle", "upstream_connect"] {
        let text = one_pool(NOWHERE)
            .timeouts(|t| t.raw(&format!("{key} = \"9999999999999h\"")))
            .toml();
        let want = format!("server.timeouts.{key}: \"9999999999999h\" is longer than 365 days");
        let (code, out) = check(&text);
        assert_eq!(code, 1, "sluice check accepted {key}:\n{out}");
        assert!(out.contains(&want), "{out}");
        let (code, log) = start_refused(&text);
        assert_ne!(code, 0, "{log}");
        assert!(log.contains(&want), "{log}");
        assert!(!log.contains("panicked"), "{log}");
    }
    // Every other duration key too, all reported at once, including values that
    // overflow when multiplied out to seconds or nanoseconds.
    let text = Sluice::builder()
        .shutdown_timeout("18446744073709551615s")
        .timeouts(|t| t.client_header("366d"))
        .pool("p", |p| {
            p.server(NOWHERE)
                .queue_timeout("99999999999999999999h")
                .health(|h| h.interval("8761h").timeout("9999999999999h"))
                .passive(|p| p.eject_for("31536001s"))
        })
        .default_pool("p")
        .toml();
    let (code, out) = check(&text);
    assert_eq!(code, 1, "{out}");
    for key in [
        "server.shutdown_timeout",
        "server.timeouts.client_header",
        "pool[0] (\"p\").queue_timeout",
        "pool[0] (\"p\").health.interval",
        "pool[0] (\"p\").health.timeout",
        "pool[0] (\"p\").passive.eject_for",
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with(key) && l.contains("is longer than 365 days")),
            "{key} missing in:\n{out}"
        );
    }
}

#[test]
fn item9_max_headers_above_capacity_is_an_error() {
    let with = |n: i64| one_pool(NOWHERE).limits(|l| l.max_headers(n)).toml();
    // At 1b5d9aa anything up to 1000 was accepted and silently capped at 100.
    for n in [101, 1000] {
        let (code, out) = check(&with(n));
        assert_eq!(code, 1, "max_headers = {n} accepted:\n{out}");
        assert!(
            out.contains(&format!(
                "server.limits.max_headers: {n} is above the parser's capacity of 100"
            )),
            "{out}"
        );
    }
    let (code, out) = check(&with(0));
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("server.limits.max_headers: 0 is out of range"),
        "{out}"
    );
    let (code, out) = check(&with(100));
    assert_eq!(code, 0, "{out}");
}

#[test]
fn item9_duration_at_365_days_is_accepted_and_runs() {
    let o = Origins::start(&["api=127.0.0.1:0,name=a"]);
    let text = Sluice::builder()
        .shutdown_timeout("365d")
        .timeouts(|t| {
            t.client_header("8760h")
                .client_idle("365d")
                .upstream_connect("8760h")
                .upstream_response("365d")
                .upstream_idle("525600m")
        })
        .pool("p", |p| {
            p.server(o.addr("a"))
                .queue_timeout("365d")
                .health(|h| h.path("/").interval("365d").timeout("8760h").rise(1))
                .passive(|p| p.consecutive_failures(1).eject_for("365d"))
        })
        .default_pool("p")
        .toml();
    let (code, out) = check(&text);
    assert_eq!(code, 0, "{out}");
    let mut s = Sluice::start(&text);
    // The health thread has checked (interval 365 d: one check, then a long sleep).
    wait_until(Duration::from_secs(5), "the first health check", || {
        server_field(&s.status(""), o.addr("a"), "last_check") != "null"
    });
    for _ in 0..3 {
        assert_eq!(get(s.addr, "/x").status, 200, "{}", s.stderr());
    }
    s.proc.signal("TERM");
    assert_eq!(
        s.proc.wait_exit(Duration::from_secs(10)),
        Some(0),
        "{}",
        s.stderr()
    );
    let log = s.stderr();
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn item9_reload_with_huge_duration_is_refused() {
    let o = Origins::start(&["api=127.0.0.1:0,name=a"]);
    // No idle upstream connections: every request connects, under upstream_connect
    // (which, applied at 1b5d9aa, made monoio's timer panic in the worker).
    let no_idle = Sluice::builder()
        .pool("p", |p| p.server(o.addr("a")).max_idle(0))
        .default_pool("p");
    let s = no_idle.start();
    assert_eq!(get(s.addr, "/x").status, 200);
    // Keep the bound port so the reload changes nothing but the timeout.
    let bad = no_idle
        .listen(s.addr)
        .timeouts(|t| t.upstream_connect("9999999999999h"))
        .toml();
    std::fs::write(&s.config_path, bad).unwrap();
    s.proc.signal("HUP");
    wait_until(Duration::from_secs(5), "the reload is refused", || {
        s.stderr().contains("reload refused")
    });
    for _ in 0..3 {
        assert_eq!(get(s.addr, "/x").status, 200, "{}", s.stderr());
    }
    let log = s.stderr();
    assert!(
        log.contains("reload refused")
            && log.contains(
                "server.timeouts.upstream_connect: \"9999999999999h\" is longer than 365 days"
            ),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn item9_other_numeric_bounds_are_config_errors_reported_together() {
    let text = Sluice::builder()
        .workers(5000)
        .limits(|l| l.max_header_bytes("10GiB").max_body("99999999999999GiB"))
        .pool("api", |p| {
            p.server("127.0.0.1:1")
                .max_queue(-1)
                .max_conns(0)
                .retries(6)
                .health(|h| h.interval("1ms").rise(0))
                .passive(|p| p.consecutive_failures(0).eject_for("0"))
        })
        .pool("hash", |p| {
            (1..=11).fold(
                p.balance("consistent_hash")
                    .raw("hash_balance_factor = nan"),
                |p, port| p.weighted(format!("127.0.0.1:{port}"), 1000),
            )
        })
        .toml();
    let (code, out) = check(&text);
    assert_eq!(code, 1, "{out}");
    for want in [
        "server.workers: 5000 is out of range (0..=1024)",
        "server.limits.max_header_bytes: \"10GiB\" is out of range (256B..=1MiB",
        "server.limits.max_body: \"99999999999999GiB\" is too large",
        "pool[0] (\"api\").max_queue: -1 is out of range (0..=10000000)",
        "pool[0] (\"api\").max_conns_per_server: 0 is out of range",
        "pool[0] (\"api\").retries: 6 is out of range (0..=5)",
        "pool[0] (\"api\").health.interval: \"1ms\" is shorter than the minimum 10ms",
        "pool[0] (\"api\").health.rise: 0 is out of range",
        "pool[0] (\"api\").passive.consecutive_failures: 0 is out of range",
        "pool[0] (\"api\").passive.eject_for: \"0\" must be greater than zero",
        "pool[1] (\"hash\").servers: weights sum to 11000, above 10000 for consistent_hash",
        "pool[1] (\"hash\").hash_balance_factor: NaN must be a finite number greater than 1.0",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(want)),
            "missing {want:?} in:\n{out}"
        );
    }
    // max_queue is a pool key: 0 (never wait) is accepted.
    let (code, out) = check(
        &Sluice::builder()
            .pool("api", |p| p.server("127.0.0.1:1").max_queue(0))
            .toml(),
    );
    assert_eq!(code, 0, "{out}");
}

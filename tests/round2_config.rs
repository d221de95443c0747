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
use common::{Origins, Proc, Sluice, TempDir};

/// Run `sluice check -c FILE` on `config`; (exit code, stdout + stderr).
fn check(config: &str) -> (i32, String) {
    let dir = TempDir::new();
    let path = dir.0.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("check")
        .arg("-c")
        .arg(&path)
        .output()
        .expect("run sluice check");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
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

/// Loopback server section (one worker) with `timeouts` lines, and one pool `p` on
/// `origin` with `pool` lines and `tables` after it.
fn config(server: &str, timeouts: &str, origin: &str, pool: &str, tables: &str) -> String {
    format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 1\npin_cores = false\n{server}\n\
         [server.timeouts]\n{timeouts}\n[admin]\nlisten = \"127.0.0.1:0\"\n\
         [[pool]]\nname = \"p\"\nservers = [\"{origin}\"]\n{pool}\n{tables}\n\
         [default]\npool = \"p\"\n"
    )
}

#[test]
fn item9_huge_duration_is_a_config_error_naming_the_key() {
    // "9999999999999h" passed `sluice check` at 1b5d9aa; as upstream_connect it made
    // monoio's timer panic in the worker on the first request.
    for key in ["client_idle", "upstream_connect"] {
        let text = config(
            "",
            &format!("{key} = \"9999999999999h\""),
            "127.0.0.1:9",
            "",
            "",
        );
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
    let text = config(
        "shutdown_timeout = \"18446744073709551615s\"",
        "client_header = \"366d\"",
        "127.0.0.1:9",
        "queue_timeout = \"99999999999999999999h\"",
        "[pool.health]\ninterval = \"8761h\"\ntimeout = \"9999999999999h\"\n\
         [pool.passive]\neject_for = \"31536001s\"\n",
    );
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
    let with = |n: i64| {
        config(
            &format!("[server.limits]\nmax_headers = {n}"),
            "",
            "127.0.0.1:9",
            "",
            "",
        )
    };
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
    let text = config(
        "shutdown_timeout = \"365d\"",
        "client_header = \"8760h\"\nclient_idle = \"365d\"\nupstream_connect = \"8760h\"\n\
         upstream_response = \"365d\"\nupstream_idle = \"525600m\"",
        &o.addr("a").to_string(),
        "queue_timeout = \"365d\"",
        "[pool.health]\npath = \"/\"\ninterval = \"365d\"\ntimeout = \"8760h\"\nrise = 1\n\
         [pool.passive]\nconsecutive_failures = 1\neject_for = \"365d\"\n",
    );
    let (code, out) = check(&text);
    assert_eq!(code, 0, "{out}");
    let mut s = Sluice::start(&text);
    // The health thread has checked (interval 365 d: one check, then a long sleep).
    std::thread::sleep(Duration::from_millis(300));
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
    let origin = o.addr("a").to_string();
    // No idle upstream connections: every request connects, under upstream_connect
    // (which, applied at 1b5d9aa, made monoio's timer panic in the worker).
    let no_idle = "max_idle_per_server = 0";
    let s = Sluice::start(&config("", "", &origin, no_idle, ""));
    assert_eq!(get(s.addr, "/x").status, 200);
    // Keep the bound port so the reload changes nothing but the timeout.
    let bad = config(
        "",
        "upstream_connect = \"9999999999999h\"",
        &origin,
        no_idle,
        "",
    )
    .replace("127.0.0.1:0\"]", &format!("127.0.0.1:{}\"]", s.addr.port()));
    std::fs::write(&s.config_path, bad).unwrap();
    s.proc.signal("HUP");
    std::thread::sleep(Duration::from_millis(400));
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
    let ring: Vec<String> = (1..=11)
        .map(|p| format!("{{ addr = \"127.0.0.1:{p}\", weight = 1000 }}"))
        .collect();
    let text = format!(
        "[server]\nlisten = [\"127.0.0.1:0\"]\nworkers = 5000\n\
         [server.limits]\nmax_header_bytes = \"10GiB\"\nmax_body = \"99999999999999GiB\"\n\
         [[pool]]\nname = \"api\"\nservers = [\"127.0.0.1:1\"]\nmax_queue = -1\n\
         max_conns_per_server = 0\nretries = 6\n\
         [pool.health]\ninterval = \"1ms\"\nrise = 0\n\
         [pool.passive]\nconsecutive_failures = 0\neject_for = \"0\"\n\
         [[pool]]\nname = \"hash\"\nbalance = \"consistent_hash\"\nhash_balance_factor = nan\n\
         servers = [{}]\n",
        ring.join(", ")
    );
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
    let (code, out) =
        check("[[pool]]\nname = \"api\"\nservers = [\"127.0.0.1:1\"]\nmax_queue = 0\n");
    assert_eq!(code, 0, "{out}");
}

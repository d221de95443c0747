//! Tests of the numeric bounds (`bounds`, `units::MAX_DURATION`): each out-of-range
//! value is an error naming its key path, each edge value is accepted.

use std::time::Duration;

use super::*;

fn errors(text: &str) -> Vec<String> {
    match Config::from_toml_str(text) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

/// Assert `text` fails with an error starting with `want`.
#[track_caller]
fn rejects(text: &str, want: &str) {
    let errs = errors(text);
    assert!(
        errs.iter().any(|e| e.starts_with(want)),
        "missing {want:?} in {errs:?}\nfor\n{text}"
    );
}

/// A one-pool config with `pool` lines added to the pool table and `tables` after it.
fn pool(pool: &str, tables: &str) -> String {
    format!("[[pool]]\nname = \"api\"\nservers = [\"127.0.0.1:1\"]\n{pool}\n{tables}")
}

/// Every duration key set to `v`.
fn every_duration(v: &str) -> String {
    format!(
        "[server]\nshutdown_timeout = \"{v}\"\n[server.timeouts]\nclient_header = \"{v}\"\nclient_idle = \"{v}\"\nupstream_connect = \"{v}\"\nupstream_response = \"{v}\"\nupstream_idle = \"{v}\"\n{}",
        pool(
            &format!("queue_timeout = \"{v}\""),
            &format!(
                "[pool.health]\ninterval = \"{v}\"\ntimeout = \"{v}\"\n[pool.passive]\neject_for = \"{v}\"\n"
            ),
        )
    )
}

const DURATION_KEYS: [&str; 10] = [
    "server.shutdown_timeout",
    "server.timeouts.client_header",
    "server.timeouts.client_idle",
    "server.timeouts.upstream_connect",
    "server.timeouts.upstream_response",
    "server.timeouts.upstream_idle",
    "pool[0] (\"api\").queue_timeout",
    "pool[0] (\"api\").health.interval",
    "pool[0] (\"api\").health.timeout",
    "pool[0] (\"api\").passive.eject_for",
];

#[test]
fn every_duration_key_accepts_365_days() {
    for v in ["365d", "8760h"] {
        let c = Config::from_toml_str(&every_duration(v)).unwrap();
        let year = Duration::from_secs(365 * 86_400);
        let t = c.server.timeouts;
        assert_eq!(c.server.shutdown_timeout, year);
        for d in [
            t.client_header,
            t.client_idle,
            t.upstream_connect,
            t.upstream_response,
            t.upstream_idle,
        ] {
            assert_eq!(d, year);
        }
        let p = &c.pools[0];
        assert_eq!(p.queue_timeout, year);
        assert_eq!(p.health.as_ref().unwrap().interval, year);
        assert_eq!(p.health.as_ref().unwrap().timeout, year);
        assert_eq!(p.passive.unwrap().eject_for, year);
    }
}

#[test]
fn every_duration_key_refuses_more_than_365_days_all_at_once() {
    for v in ["366d", "8761h", "9999999999999h", "18446744073709551615s"] {
        let errs = errors(&every_duration(v));
        assert_eq!(errs.len(), DURATION_KEYS.len(), "{v}: {errs:#?}");
        for key in DURATION_KEYS {
            let want = format!("{key}: \"{v}\" is longer than 365 days");
            assert!(
                errs.iter().any(|e| e.starts_with(&want)),
                "{want} in {errs:#?}"
            );
        }
    }
}

#[test]
fn max_headers_is_bounded_by_the_parser_capacity() {
    assert_eq!(
        MAX_MAX_HEADERS as usize,
        crate::http::request::MAX_HEADERS,
        "config bound and parser capacity must agree"
    );
    let with = |n: i64| format!("[server.limits]\nmax_headers = {n}\n");
    assert_eq!(
        Config::from_toml_str(&with(100))
            .unwrap()
            .server
            .limits
            .max_headers,
        100
    );
    assert_eq!(
        Config::from_toml_str(&with(1))
            .unwrap()
            .server
            .limits
            .max_headers,
        1
    );
    rejects(
        &with(101),
        "server.limits.max_headers: 101 is above the parser's capacity of 100",
    );
    rejects(
        &with(1000),
        "server.limits.max_headers: 1000 is above the parser's capacity",
    );
    rejects(
        &with(0),
        "server.limits.max_headers: 0 is out of range (1..=100)",
    );
    rejects(&with(-5), "server.limits.max_headers: -5 is out of range");
}

#[test]
fn sizes_are_bounded_and_never_wrap() {
    let limits = |k: &str, v: &str| format!("[server.limits]\n{k} = \"{v}\"\n");
    let c = Config::from_toml_str(&limits("max_header_bytes", "1MiB")).unwrap();
    assert_eq!(c.server.limits.max_header_bytes, 1 << 20);
    for v in ["10GiB", "1025KiB", "255B"] {
        rejects(
            &limits("max_header_bytes", v),
            &format!("server.limits.max_header_bytes: \"{v}\" is out of range (256B..=1MiB"),
        );
    }
    rejects(
        &limits("max_header_bytes", "99999999999999GiB"),
        "server.limits.max_header_bytes: \"99999999999999GiB\" is too large",
    );
    let c = Config::from_toml_str(&limits("max_body", "16GiB")).unwrap();
    assert_eq!(c.server.limits.max_body, 16 << 30);
    rejects(
        &limits("max_body", "99999999999999GiB"),
        "server.limits.max_body: \"99999999999999GiB\" is too large",
    );
}

#[test]
fn server_counts_are_bounded() {
    let server = |k: &str, v: i64| format!("[server]\n{k} = {v}\n");
    assert!(errors(&server("workers", 1024)).is_empty());
    rejects(
        &server("workers", 1025),
        "server.workers: 1025 is out of range (0..=1024)",
    );
    assert!(errors(&server("max_connections", 10_000_000)).is_empty());
    rejects(
        &server("max_connections", 0),
        "server.max_connections: 0 is out of range",
    );
    rejects(
        &server("max_connections", 10_000_001),
        "server.max_connections: 10000001 is out of range",
    );
}

#[test]
fn pool_counts_are_bounded() {
    let at = "pool[0] (\"api\")";
    let p = |line: &str| pool(line, "");
    rejects(
        &p("max_conns_per_server = 0"),
        &format!("{at}.max_conns_per_server: 0 is out of range (1..=1000000)"),
    );
    rejects(
        &p("max_idle_per_server = -1"),
        &format!("{at}.max_idle_per_server: -1 is out of range"),
    );
    rejects(
        &p("max_idle_per_server = 1000001"),
        &format!("{at}.max_idle_per_server: 1000001 is out of range"),
    );
    rejects(
        &p("retries = 6"),
        &format!("{at}.retries: 6 is out of range (0..=5)"),
    );
    rejects(
        &p("retries = -1"),
        &format!("{at}.retries: -1 is out of range"),
    );
    let c = Config::from_toml_str(&p("max_idle_per_server = 0\nretries = 5")).unwrap();
    assert_eq!((c.pools[0].max_idle_per_server, c.pools[0].retries), (0, 5));
}

#[test]
fn max_idle_per_server_defaults_to_max_conns_per_server() {
    let c = Config::from_toml_str(&pool("max_conns_per_server = 77", "")).unwrap();
    assert_eq!(c.pools[0].max_idle_per_server, 77);
    let c = Config::from_toml_str(&pool("", "")).unwrap();
    assert_eq!(c.pools[0].max_conns_per_server, 512);
    assert_eq!(c.pools[0].max_idle_per_server, 512);
    // An explicit value wins, and the default is not written back by to_toml.
    let c = Config::from_toml_str(&pool("max_idle_per_server = 8", "")).unwrap();
    assert_eq!(c.pools[0].max_idle_per_server, 8);
    let c = Config::from_toml_str(&pool("", "")).unwrap();
    assert!(
        !c.to_toml().contains("max_idle_per_server"),
        "{}",
        c.to_toml()
    );
}

#[test]
fn max_queue_defaults_to_1024_allows_0_and_is_bounded() {
    let at = "pool[0] (\"api\")";
    let c = Config::from_toml_str(&pool("", "")).unwrap();
    assert_eq!(c.pools[0].max_queue, DEFAULT_MAX_QUEUE);
    assert_eq!(DEFAULT_MAX_QUEUE, 1024);
    let c = Config::from_toml_str(&pool("max_queue = 0", "")).unwrap();
    assert_eq!(c.pools[0].max_queue, 0);
    let c = Config::from_toml_str(&pool("max_queue = 10000000", "")).unwrap();
    assert_eq!(c.pools[0].max_queue, 10_000_000);
    rejects(
        &pool("max_queue = -1", ""),
        &format!("{at}.max_queue: -1 is out of range (0..=10000000)"),
    );
    rejects(
        &pool("max_queue = 10000001", ""),
        &format!("{at}.max_queue: 10000001 is out of range"),
    );
    // Round trip keeps it.
    let c = Config::from_toml_str(&pool("max_queue = 7", "")).unwrap();
    let again = Config::from_toml_str(&c.to_toml()).unwrap();
    assert_eq!(again.pools[0].max_queue, 7);
}

#[test]
fn health_and_passive_are_bounded() {
    let at = "pool[0] (\"api\")";
    let health = |line: &str| pool("", &format!("[pool.health]\n{line}\n"));
    let passive = |line: &str| pool("", &format!("[pool.passive]\n{line}\n"));
    rejects(
        &health("interval = \"0\""),
        &format!("{at}.health.interval: \"0\" must be greater than zero"),
    );
    rejects(
        &health("interval = \"1ms\""),
        &format!("{at}.health.interval: \"1ms\" is shorter than the minimum 10ms"),
    );
    rejects(
        &health("interval = \"500us\""),
        &format!("{at}.health.interval: \"500us\" is shorter than the minimum"),
    );
    let c = Config::from_toml_str(&health("interval = \"10ms\"")).unwrap();
    assert_eq!(
        c.pools[0].health.as_ref().unwrap().interval,
        MIN_HEALTH_INTERVAL
    );
    rejects(
        &health("timeout = \"0s\""),
        &format!("{at}.health.timeout: \"0s\" must be greater than zero"),
    );
    rejects(
        &health("rise = 0"),
        &format!("{at}.health.rise: 0 is out of range (1..=100)"),
    );
    rejects(
        &health("fall = 101"),
        &format!("{at}.health.fall: 101 is out of range (1..=100)"),
    );
    rejects(
        &passive("consecutive_failures = 0"),
        &format!("{at}.passive.consecutive_failures: 0 is out of range (1..=1000)"),
    );
    rejects(
        &passive("eject_for = \"0\""),
        &format!("{at}.passive.eject_for: \"0\" must be greater than zero"),
    );
}

#[test]
fn hash_balance_factor_must_be_finite_and_above_one() {
    let at = "pool[0] (\"api\").hash_balance_factor";
    let f = |v: &str| {
        pool(
            &format!("balance = \"consistent_hash\"\nhash_balance_factor = {v}"),
            "",
        )
    };
    rejects(&f("nan"), &format!("{at}: NaN must be a finite number"));
    rejects(&f("inf"), &format!("{at}: inf must be a finite number"));
    rejects(&f("-inf"), &format!("{at}: -inf must be a finite number"));
    rejects(&f("1.0"), &format!("{at}: 1 must be greater than 1.0"));
    rejects(&f("-3.0"), &format!("{at}: -3 must be greater than 1.0"));
    let c = Config::from_toml_str(&f("1.0001")).unwrap();
    assert_eq!(c.pools[0].hash_balance_factor, Some(1.0001));
}

#[test]
fn weights_are_bounded_and_hash_rings_stay_small() {
    let servers = |list: &str, balance: &str| {
        format!("[[pool]]\nname = \"api\"\nbalance = \"{balance}\"\nservers = [{list}]\n")
    };
    let at = "pool[0] (\"api\")";
    rejects(
        &servers("{ addr = \"127.0.0.1:1\", weight = 0 }", "round_robin"),
        &format!("{at}.servers[0].weight: 0 is out of range (1..=1000)"),
    );
    rejects(
        &servers("{ addr = \"127.0.0.1:1\", weight = 1001 }", "round_robin"),
        &format!("{at}.servers[0].weight: 1001 is out of range (1..=1000)"),
    );
    // 11 servers at the largest weight: fine for round robin, too big a ring.
    let eleven: Vec<String> = (1..=11)
        .map(|p| format!("{{ addr = \"127.0.0.1:{p}\", weight = 1000 }}"))
        .collect();
    let eleven = eleven.join(", ");
    assert!(errors(&servers(&eleven, "round_robin")).is_empty());
    rejects(
        &servers(&eleven, "consistent_hash"),
        &format!("{at}.servers: weights sum to 11000, above 10000 for consistent_hash"),
    );
    let ten: Vec<String> = (1..=10)
        .map(|p| format!("{{ addr = \"127.0.0.1:{p}\", weight = 1000 }}"))
        .collect();
    assert!(errors(&servers(&ten.join(", "), "consistent_hash")).is_empty());
    // The bound keeps a worker's ring at most 1.6 M points (16 bytes each).
    let points = MAX_RING_WEIGHT as u64 * u64::from(crate::hashring::POINTS_PER_WEIGHT);
    assert!(points * 16 <= 32 << 20, "{points} points");
}

#[test]
fn pool_and_route_counts_fit_the_classifier() {
    let pools = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[pool]]\nname = \"p{i}\"\nservers = [\"127.0.0.1:1\"]\n"))
            .collect()
    };
    let routes = |n: usize| -> String {
        (0..n)
            .map(|i| format!("[[route]]\nname = \"r{i}\"\npool = \"p0\"\n"))
            .collect()
    };
    let at_most = pools(MAX_POOLS) + &routes(MAX_ROUTES);
    let c = Config::from_toml_str(&at_most).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((c.pools.len(), c.routes.len()), (MAX_POOLS, MAX_ROUTES));
    assert!(MAX_POOLS <= usize::from(u16::MAX) && MAX_ROUTES <= usize::from(u16::MAX));
    rejects(
        &pools(MAX_POOLS + 1),
        "pool: 4097 pools, above the most (4096)",
    );
    rejects(
        &(pools(1) + &routes(MAX_ROUTES + 1)),
        "route: 4097 routes, above the most (4096)",
    );
}

#[test]
fn busy_poll_defaults_to_50us_accepts_zero_and_caps_at_10ms() {
    let c = Config::from_toml_str(&pool("", "")).unwrap();
    assert_eq!(c.server.busy_poll, Duration::from_micros(50));
    for (v, want) in [
        ("0", Duration::ZERO),
        ("10ms", MAX_BUSY_POLL),
        ("200us", Duration::from_micros(200)),
    ] {
        let c = Config::from_toml_str(&format!("[server]\nbusy_poll = \"{v}\"\n{}", pool("", "")))
            .unwrap();
        assert_eq!(c.server.busy_poll, want, "{v}");
    }
    for v in ["11ms", "1s", "fast", "-1us"] {
        rejects(
            &format!("[server]\nbusy_poll = \"{v}\"\n{}", pool("", "")),
            "server.busy_poll: ",
        );
    }
}

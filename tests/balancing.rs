//! Balancing, health and overload protection through the real binaries (SPEC §5).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::client::{Conn, Response, get, request};
use common::{Origins, Sluice, server_section};

fn pool_toml(name: &str, balance: &str, addrs: &[SocketAddr], extra: &str) -> String {
    let servers: Vec<String> = addrs.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "[[pool]]\nname = \"{name}\"\nbalance = \"{balance}\"\nservers = [{}]\n{extra}\n",
        servers.join(", ")
    )
}

fn origin_of(r: &Response) -> String {
    r.header("x-origin").unwrap_or("<none>").to_string()
}

/// `n` origins named `{prefix}{i}` in one process.
fn origins(prefix: &str, n: usize, opts: &str) -> Origins {
    let specs: Vec<String> = (0..n)
        .map(|i| format!("api=127.0.0.1:0,name={prefix}{i}{opts}"))
        .collect();
    let refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    Origins::start(&refs)
}

fn addrs(o: &Origins) -> Vec<SocketAddr> {
    o.list.iter().map(|x| x.2).collect()
}

fn count(s: &Sluice, paths: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut c = Conn::open(s.addr);
    let mut counts = HashMap::new();
    for p in paths {
        c.send(format!("GET {p} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
        let r = c.read_response(false).expect("response");
        assert_eq!(r.status, 200, "{p}");
        *counts.entry(origin_of(&r)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn p2c_spreads_within_15_percent() {
    let o = origins("p", 3, "");
    let s = Sluice::start(
        &(server_section(1) + &pool_toml("p", "p2c", &addrs(&o), "") + "[default]\npool = \"p\"\n"),
    );
    let counts = count(&s, (0..600).map(|i| format!("/api/{i}")));
    for i in 0..3 {
        let n = counts.get(&format!("p{i}")).copied().unwrap_or(0);
        assert!((170..=230).contains(&n), "{counts:?}");
    }
}

/// Send `n` requests at once, each on its own connection; returns the answers.
fn concurrent(addr: SocketAddr, n: usize, path: &str) -> Vec<Response> {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let path = path.replace("{i}", &i.to_string());
            std::thread::spawn(move || get(addr, &path))
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("client thread"))
        .collect()
}

#[test]
fn least_conn_sends_new_requests_away_from_a_slow_server() {
    let slow = Origins::start(&["api=127.0.0.1:0,name=slow,latency=400ms"]);
    let fast = Origins::start(&["api=127.0.0.1:0,name=fast,latency=20ms"]);
    let servers = [slow.addr("slow"), fast.addr("fast")];
    let s = Sluice::start(
        &(server_section(1)
            + &pool_toml("p", "least_conn", &servers, "")
            + "[default]\npool = \"p\"\n"),
    );
    // A steady stream of requests (one every 10 ms, each on its own connection):
    // the slow server's in-flight count stays up, so new requests go to the fast one.
    let handles: Vec<_> = (0..40)
        .map(|i| {
            std::thread::sleep(Duration::from_millis(10));
            let addr = s.addr;
            std::thread::spawn(move || get(addr, &format!("/api/{i}")))
        })
        .collect();
    let answers: Vec<Response> = handles
        .into_iter()
        .map(|h| h.join().expect("client"))
        .collect();
    let to_slow = answers.iter().filter(|r| origin_of(r) == "slow").count();
    assert!(answers.iter().all(|r| r.status == 200));
    assert!(to_slow <= 4, "{to_slow} of 40 went to the slow server");
}

fn hash_config(servers: &[SocketAddr], factor: Option<f64>) -> String {
    let extra = match factor {
        Some(f) => format!("hash_on = \"path_dir\"\nhash_balance_factor = {f}\n"),
        None => "hash_on = \"path_dir\"\n".to_string(),
    };
    server_section(1)
        + &pool_toml("live", "consistent_hash", servers, &extra)
        + "[default]\npool = \"live\"\n"
}

fn key_map(s: &Sluice, keys: usize) -> Vec<String> {
    let mut c = Conn::open(s.addr);
    (0..keys)
        .map(|k| {
            c.send(format!("GET /live/ch{k}/seg1.ts HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
            origin_of(&c.read_response(false).expect("response"))
        })
        .collect()
}

#[test]
fn consistent_hash_is_sticky_deterministic_and_moves_only_the_removed_servers_keys() {
    let o = origins("h", 4, "");
    let all = addrs(&o);
    let a = Sluice::start(&hash_config(&all, None));
    let b = Sluice::start(&hash_config(&all, None));
    let map_a = key_map(&a, 1000);
    // Sticky: the same key again lands on the same server.
    assert_eq!(key_map(&a, 1000), map_a);
    // Two processes with the same config agree on every key.
    assert_eq!(key_map(&b, 1000), map_a);
    let used: std::collections::HashSet<_> = map_a.iter().collect();
    assert_eq!(used.len(), 4);
    // Without h3, only h3's keys move.
    let three = Sluice::start(&hash_config(&all[..3], None));
    let map_3 = key_map(&three, 1000);
    for (k, (before, after)) in map_a.iter().zip(&map_3).enumerate() {
        if before != "h3" {
            assert_eq!(before, after, "key {k} moved");
        }
    }
    assert!(map_3.iter().all(|x| x != "h3"));
}

#[test]
fn bounded_load_keeps_every_server_under_factor_times_average() {
    let o = origins("b", 4, ",latency=300ms");
    let s = Sluice::start(&hash_config(&addrs(&o), Some(1.25)));
    // One very hot key, 40 requests at once.
    let answers = concurrent(s.addr, 40, "/live/hot/seg{i}.ts");
    assert!(answers.iter().all(|r| r.status == 200));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &answers {
        *counts.entry(origin_of(r)).or_insert(0) += 1;
    }
    // ceil(1.25 × 40 / 4) = 13 in flight at most per server.
    assert!(counts.values().all(|&n| n <= 13), "{counts:?}");
    assert!(counts.len() >= 3, "{counts:?}");
}

fn health_pool(servers: &[SocketAddr], extra: &str) -> String {
    server_section(1)
        + &pool_toml("p", "round_robin", servers, extra)
        + "[pool.health]\npath = \"/healthz\"\ninterval = \"200ms\"\ntimeout = \"200ms\"\nrise = 2\nfall = 2\n[default]\npool = \"p\"\n"
}

#[test]
fn dead_origin_leaves_rotation_without_client_errors_and_returns_after_rise() {
    let a = Origins::start(&["api=127.0.0.1:0,name=a"]);
    let mut b = Origins::start(&["api=127.0.0.1:0,name=b"]);
    let b_addr = b.addr("b");
    let s = Sluice::start(&health_pool(&[a.addr("a"), b_addr], ""));
    assert_eq!(count(&s, (0..10).map(|i| format!("/{i}"))).len(), 2);
    b.proc.child.kill().ok();
    b.proc.child.wait().ok();
    // Requests during detection still succeed (GETs are retried on the other server).
    let start = Instant::now();
    let mut seen_b_late = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        let r = get(s.addr, "/x");
        assert_eq!(r.status, 200, "a client saw {}", r.status);
        if start.elapsed() > Duration::from_millis(900) && origin_of(&r) == "b" {
            seen_b_late += 1;
        }
    }
    assert_eq!(seen_b_late, 0);
    // Restart b on the same port: traffic returns after `rise` passing checks.
    let _b2 = Origins::start(&[&format!("api={b_addr},name=b")]);
    std::thread::sleep(Duration::from_millis(900));
    let counts = count(&s, (0..10).map(|i| format!("/{i}")));
    assert_eq!(counts.get("b"), Some(&5), "{counts:?}");
}

#[test]
fn all_down_is_503_with_retry_after_and_fallback_pool_is_used() {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=main,fault=500",
        "api=127.0.0.1:0,name=spare",
    ]);
    let health = "[pool.health]\ninterval = \"100ms\"\ntimeout = \"100ms\"\nfall = 1\n";
    let plain = server_section(1)
        + &pool_toml("p", "round_robin", &[o.addr("main")], health)
        + "[default]\npool = \"p\"\n";
    let s = Sluice::start(&plain);
    std::thread::sleep(Duration::from_millis(500));
    let r = get(s.addr, "/x");
    assert_eq!(r.status, 503);
    assert_eq!(r.header("x-sluice-error"), Some("no_healthy_server"));
    assert!(r.header("retry-after").is_some());
    let with_fallback = server_section(1)
        + &pool_toml(
            "p",
            "round_robin",
            &[o.addr("main")],
            &format!("fallback = \"spare\"\n{health}"),
        )
        + &pool_toml("spare", "round_robin", &[o.addr("spare")], "")
        + "[default]\npool = \"p\"\n";
    let s = Sluice::start(&with_fallback);
    std::thread::sleep(Duration::from_millis(500));
    let r = get(s.addr, "/x");
    assert_eq!((r.status, origin_of(&r).as_str()), (200, "spare"));
}

#[test]
fn passive_ejection_takes_a_failing_server_out() {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=bad,fault=500",
        "api=127.0.0.1:0,name=good",
    ]);
    let passive =
        "[pool.passive]\nconsecutive_failures = 2\neject_for = \"5s\"\ncount_5xx = true\n";
    let s = Sluice::start(
        &(server_section(1)
            + &pool_toml(
                "p",
                "round_robin",
                &[o.addr("bad"), o.addr("good")],
                passive,
            )
            + "[default]\npool = \"p\"\n"),
    );
    let mut c = Conn::open(s.addr);
    let mut bad = 0;
    for _ in 0..20 {
        c.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.read_response(false).unwrap();
        if origin_of(&r) == "bad" {
            bad += 1;
        }
    }
    assert_eq!(bad, 2, "the failing server kept getting traffic");
}

#[test]
fn get_is_retried_after_a_refused_connect_but_post_is_not() {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=dead,fault=refuse",
        "api=127.0.0.1:0,name=live",
    ]);
    let s = Sluice::start(
        &(server_section(1)
            + &pool_toml(
                "p",
                "round_robin",
                &[o.addr("dead"), o.addr("live")],
                "retries = 1",
            )
            + "[default]\npool = \"p\"\n"),
    );
    for _ in 0..6 {
        let r = get(s.addr, "/x");
        assert_eq!((r.status, origin_of(&r).as_str()), (200, "live"));
    }
    let statuses: Vec<u16> = (0..4)
        .map(|_| {
            request(
                s.addr,
                "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
            )
            .status
        })
        .collect();
    assert!(statuses.contains(&502), "{statuses:?}");
    assert!(statuses.contains(&200), "{statuses:?}");
}

#[test]
fn a_full_server_queues_then_answers_503_queue_timeout() {
    let o = Origins::start(&["api=127.0.0.1:0,name=one,latency=1s"]);
    let s = Sluice::start(
        &(server_section(1)
            + &pool_toml(
                "p",
                "round_robin",
                &[o.addr("one")],
                "max_conns_per_server = 1\nqueue_timeout = \"200ms\"",
            )
            + "[default]\npool = \"p\"\n"),
    );
    let answers = concurrent(s.addr, 3, "/x{i}");
    let rejected: Vec<&Response> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(rejected.len(), 2);
    assert!(
        rejected
            .iter()
            .all(|r| r.header("x-sluice-error") == Some("queue_timeout")
                && r.header("retry-after").is_some())
    );
}

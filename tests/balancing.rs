//! Balancing, health and overload protection through the real binaries (SPEC §5).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::client::{Conn, Response, assert_status, get, request};
use common::config::{Health, Pool};
use common::{Origins, Sluice, wait_until};

/// One pool `p`, the default, set up by `pool`.
fn one_pool(pool: impl FnOnce(Pool) -> Pool) -> Sluice {
    Sluice::builder().pool("p", pool).default_pool("p").start()
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
        *counts.entry(r.origin().to_string()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn p2c_spreads_within_15_percent() {
    let o = origins("p", 3, "");
    let s = one_pool(|p| p.balance("p2c").servers(addrs(&o)));
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
    let s = one_pool(|p| p.balance("least_conn").servers(servers));
    // A steady stream of requests (one every 10 ms, each on its own connection):
    // the slow server's in-flight count stays up, so new requests go to the fast one.
    let handles: Vec<_> = (0..40)
        .map(|i| {
            // The scenario: a steady stream, not a burst.
            std::thread::sleep(Duration::from_millis(10));
            let addr = s.addr;
            std::thread::spawn(move || get(addr, &format!("/api/{i}")))
        })
        .collect();
    let answers: Vec<Response> = handles
        .into_iter()
        .map(|h| h.join().expect("client"))
        .collect();
    let to_slow = answers.iter().filter(|r| r.origin() == "slow").count();
    assert!(answers.iter().all(|r| r.status == 200));
    assert!(to_slow <= 4, "{to_slow} of 40 went to the slow server");
}

/// A consistent-hash pool `live` on the path's directory, the default.
fn hash_sluice(servers: &[SocketAddr], factor: Option<f64>) -> Sluice {
    Sluice::builder()
        .pool("live", |p| {
            let p = p
                .balance("consistent_hash")
                .servers(servers)
                .hash_on("path_dir");
            match factor {
                Some(f) => p.hash_balance_factor(f),
                None => p,
            }
        })
        .default_pool("live")
        .start()
}

fn key_map(s: &Sluice, keys: usize) -> Vec<String> {
    let mut c = Conn::open(s.addr);
    (0..keys)
        .map(|k| {
            c.send(format!("GET /live/ch{k}/seg1.ts HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
            c.read_response(false)
                .expect("response")
                .origin()
                .to_string()
        })
        .collect()
}

#[test]
fn consistent_hash_is_sticky_deterministic_and_moves_only_the_removed_servers_keys() {
    let o = origins("h", 4, "");
    let all = addrs(&o);
    let a = hash_sluice(&all, None);
    let b = hash_sluice(&all, None);
    let map_a = key_map(&a, 1000);
    // Sticky: the same key again lands on the same server.
    assert_eq!(key_map(&a, 1000), map_a);
    // Two processes with the same config agree on every key.
    assert_eq!(key_map(&b, 1000), map_a);
    let used: std::collections::HashSet<_> = map_a.iter().collect();
    assert_eq!(used.len(), 4);
    // Without h3, only h3's keys move.
    let three = hash_sluice(&all[..3], None);
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
    let s = hash_sluice(&addrs(&o), Some(1.25));
    // One very hot key, 40 requests at once.
    let answers = concurrent(s.addr, 40, "/live/hot/seg{i}.ts");
    assert!(answers.iter().all(|r| r.status == 200));
    let mut counts: HashMap<String, usize> = HashMap::new();
    for r in &answers {
        *counts.entry(r.origin().to_string()).or_insert(0) += 1;
    }
    // ceil(1.25 × 40 / 4) = 13 in flight at most per server.
    assert!(counts.values().all(|&n| n <= 13), "{counts:?}");
    assert!(counts.len() >= 3, "{counts:?}");
}

#[test]
fn dead_origin_leaves_rotation_without_client_errors_and_returns_after_rise() {
    let a = Origins::start(&["api=127.0.0.1:0,name=a"]);
    let mut b = Origins::start(&["api=127.0.0.1:0,name=b"]);
    let b_addr = b.addr("b");
    let s = one_pool(|p| {
        p.balance("round_robin")
            .servers([a.addr("a"), b_addr])
            .health(|h| {
                h.path("/healthz")
                    .interval("200ms")
                    .timeout("200ms")
                    .rise(2)
                    .fall(2)
            })
    });
    assert_eq!(count(&s, (0..10).map(|i| format!("/{i}"))).len(), 2);
    b.proc.child.kill().ok();
    b.proc.child.wait().ok();
    // Requests during detection still succeed (GETs are retried on the other server).
    // The scenario: 1.5 s of traffic, in which b must be out after 900 ms (fall 2 at
    // a 200 ms interval, plus slack).
    let start = Instant::now();
    let mut seen_b_late = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        let r = get(s.addr, "/x");
        assert_eq!(r.status, 200, "a client saw {}", r.status);
        if start.elapsed() > Duration::from_millis(900) && r.origin() == "b" {
            seen_b_late += 1;
        }
    }
    assert_eq!(seen_b_late, 0);
    // Restart b on the same port: traffic returns after `rise` passing checks.
    let _b2 = Origins::start(&[&format!("api={b_addr},name=b")]);
    wait_until(Duration::from_secs(5), "b is back in rotation", || {
        get(s.addr, "/x").origin() == "b"
    });
    let counts = count(&s, (0..10).map(|i| format!("/{i}")));
    assert_eq!(counts.get("b"), Some(&5), "{counts:?}");
}

#[test]
fn all_down_is_503_with_retry_after_and_fallback_pool_is_used() {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=main,fault=500",
        "api=127.0.0.1:0,name=spare",
    ]);
    let health = |h: Health| h.interval("100ms").timeout("100ms").fall(1);
    let s = one_pool(|p| {
        p.balance("round_robin")
            .server(o.addr("main"))
            .health(health)
    });
    wait_until(Duration::from_secs(5), "main is found down", || {
        get(s.addr, "/x").status == 503
    });
    let r = get(s.addr, "/x");
    assert_status(&r, 503, "no_healthy_server");
    assert!(r.header("retry-after").is_some());
    let s = Sluice::builder()
        .pool("p", |p| {
            p.balance("round_robin")
                .server(o.addr("main"))
                .fallback("spare")
                .health(health)
        })
        .pool("spare", |p| {
            p.balance("round_robin").server(o.addr("spare"))
        })
        .default_pool("p")
        .start();
    wait_until(Duration::from_secs(5), "main is found down", || {
        get(s.addr, "/x").origin() == "spare"
    });
    let r = get(s.addr, "/x");
    assert_eq!((r.status, r.origin()), (200, "spare"));
}

#[test]
fn passive_ejection_takes_a_failing_server_out() {
    let o = Origins::start(&[
        "api=127.0.0.1:0,name=bad,fault=500",
        "api=127.0.0.1:0,name=good",
    ]);
    let s = one_pool(|p| {
        p.balance("round_robin")
            .servers([o.addr("bad"), o.addr("good")])
            .passive(|p| p.consecutive_failures(2).eject_for("5s").count_5xx(true))
    });
    let mut c = Conn::open(s.addr);
    let mut bad = 0;
    for _ in 0..20 {
        c.send(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.read_response(false).unwrap();
        if r.origin() == "bad" {
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
    let s = one_pool(|p| {
        p.balance("round_robin")
            .servers([o.addr("dead"), o.addr("live")])
            .retries(1)
    });
    for _ in 0..6 {
        let r = get(s.addr, "/x");
        assert_eq!((r.status, r.origin()), (200, "live"));
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
    let s = one_pool(|p| {
        p.balance("round_robin")
            .server(o.addr("one"))
            .max_conns(1)
            .queue_timeout("200ms")
    });
    let answers = concurrent(s.addr, 3, "/x{i}");
    let rejected: Vec<&Response> = answers.iter().filter(|r| r.status == 503).collect();
    assert_eq!(answers.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(rejected.len(), 2);
    for r in rejected {
        assert_status(r, 503, "queue_timeout");
        assert!(r.header("retry-after").is_some());
    }
}

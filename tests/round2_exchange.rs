//! Hardening round 2, exchange items (issue 10 items 4, 5, 6, 7 and the retry and
//! hashing parts of 10), through the real binaries with the exact bytes on the
//! wire. Each test is named for its item.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::client::{Conn, request};
use common::config::{Pool, SluiceConfig};
use common::raw::{Action, RawBackend};
use common::{Origins, Sluice, server_field, wait_until};

/// One pool `p` (the default) on `servers`, set up further by `pool`.
fn pool_config(servers: &[SocketAddr], pool: impl FnOnce(Pool) -> Pool) -> SluiceConfig {
    Sluice::builder()
        .pool("p", |p| pool(p.servers(servers)))
        .default_pool("p")
}

/// Wait until `server` has `n` requests in flight (holds `n` slots), per the admin
/// status.
fn wait_in_flight(s: &Sluice, server: SocketAddr, n: u32) {
    wait_until(
        Duration::from_secs(5),
        &format!("{server} has {n} in flight"),
        || server_field(&s.status(""), server, "in_flight") == n.to_string(),
    );
}

fn send_get(
    addr: SocketAddr,
    path: &str,
    extra: &str,
) -> std::thread::JoinHandle<(u16, String, Duration)> {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}Connection: close\r\n\r\n");
    std::thread::spawn(move || {
        let started = Instant::now();
        let r = request(addr, &raw);
        let err = r.header("x-sluice-error").unwrap_or("").to_string();
        (r.status, err, started.elapsed())
    })
}

/// User plus system CPU time of a process so far, in clock ticks (1/100 s).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn item4_a_post_whose_reused_connection_closes_after_the_write_is_sent_once_and_502() {
    let backend = RawBackend::start(|_, head| {
        if head.starts_with("POST") {
            Action::Close
        } else {
            Action::Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec())
        }
    });
    let s = pool_config(&[backend.addr], |p| p).start();
    let mut c = Conn::open(s.addr);
    c.send(b"GET /warm HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(c.read_response(false).expect("warm-up").status, 200);
    // The pooled connection is reused for the POST; the backend reads it and closes.
    c.send(b"POST /pay HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\namount=10");
    let r = c.read_response(false).expect("answer");
    assert_eq!(r.status, 502);
    let seen = backend.all_text();
    assert_eq!(
        seen.matches("POST /pay").count(),
        1,
        "the POST was replayed:\n{seen}"
    );
}

#[test]
fn item5_past_max_queue_a_request_gets_503_at_once() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = pool_config(&[o.addr("o")], |p| {
        p.max_conns(1).max_queue(1).queue_timeout("5s")
    })
    .start();
    let holder = send_get(s.addr, "/hold", "x-origin-delay: 1500ms\r\n");
    wait_in_flight(&s, o.addr("o"), 1);
    let queued = send_get(s.addr, "/queued", "");
    // Let it join the queue (the queue's length is not observable from outside).
    std::thread::sleep(Duration::from_millis(300));
    let (status, err, took) = send_get(s.addr, "/refused", "").join().expect("client");
    assert_eq!((status, err.as_str()), (503, "queue_full"));
    assert!(took < Duration::from_millis(500), "503 took {took:?}");
    assert_eq!(holder.join().expect("holder").0, 200);
    assert_eq!(
        queued.join().expect("queued").0,
        200,
        "the queued one is served"
    );
}

#[test]
fn item5_waiting_requests_sleep_without_cpu_and_are_served_in_arrival_order() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = pool_config(&[o.addr("o")], |p| p.max_conns(1).queue_timeout("10s"))
        .timeouts(|t| t.upstream_response("10s"))
        .start();
    let pid = s.proc.child.id();
    let holder = send_get(s.addr, "/hold", "x-origin-delay: 3s\r\n");
    wait_in_flight(&s, o.addr("o"), 1);
    // Twenty in a known order, then 280 more: 300 requests wait for the one slot.
    let mut ordered = Vec::new();
    for i in 0..20 {
        let mut c = Conn::open(s.addr);
        c.send(format!("GET /q{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes());
        ordered.push(c);
        // The scenario: a known arrival order.
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut rest = Vec::new();
    for i in 0..280 {
        let mut c = Conn::open(s.addr);
        c.send(format!("GET /r{i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes());
        rest.push(c);
    }
    // Let them all join the queue (its length is not observable from outside), then
    // the scenario: 1.5 s of waiting, measured.
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(1500));
    let used = cpu_ticks(pid) - before;
    assert!(
        used <= 8,
        "300 waiting requests used {used} ticks (1/100 s) of CPU in 1.5 s"
    );
    assert_eq!(holder.join().expect("holder").0, 200);
    // Served one at a time on the one upstream connection, oldest first.
    let mut last = 0;
    for (i, c) in ordered.iter_mut().enumerate() {
        let r = c.read_response(false).expect("answer");
        assert_eq!(r.status, 200, "request {i}");
        let n = r.header_num("x-origin-req");
        assert!(
            n > last,
            "request {i} was served out of order ({n} after {last})"
        );
        last = n;
    }
    for c in &mut rest {
        assert_eq!(c.read_response(false).expect("answer").status, 200);
    }
}

#[test]
fn item6_other_upgrade_tokens_such_as_h2c_are_stripped_and_never_get_101() {
    let backend = RawBackend::start(|_, head| {
        if head.to_ascii_lowercase().contains("upgrade:") {
            Action::Reply(
                b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                    .to_vec(),
            )
        } else {
            Action::Reply(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain".to_vec())
        }
    });
    let s = pool_config(&[backend.addr], |p| p).start();
    let r = request(
        s.addr,
        "GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "plain"));
    let seen = backend.all_text().to_ascii_lowercase();
    assert!(
        !seen.contains("upgrade") && !seen.contains("http2-settings"),
        "the backend was offered the upgrade:\n{seen}"
    );
}

/// Open a WebSocket tunnel through sluice to sluice-origin's echo.
fn open_tunnel(addr: SocketAddr) -> Conn {
    let mut c = Conn::open(addr);
    c.send(b"GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n");
    assert_eq!(c.read_response(true).expect("101").status, 101);
    c
}

fn echo(c: &mut Conn, msg: &[u8]) -> std::io::Result<()> {
    c.stream.write_all(msg)?;
    let mut got = vec![0u8; msg.len()];
    c.stream.read_exact(&mut got)?;
    assert_eq!(got, msg);
    Ok(())
}

#[test]
fn item6_a_tunnel_holds_its_server_slot_until_it_closes() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = pool_config(&[o.addr("o")], |p| p.max_conns(1).queue_timeout("300ms")).start();
    let mut tunnel = open_tunnel(s.addr);
    echo(&mut tunnel, b"hello").expect("echo");
    let (status, err, _) = send_get(s.addr, "/while-tunnelled", "")
        .join()
        .expect("client");
    assert_eq!((status, err.as_str()), (503, "queue_timeout"));
    drop(tunnel);
    wait_in_flight(&s, o.addr("o"), 0);
    let (status, _, _) = send_get(s.addr, "/after", "").join().expect("client");
    assert_eq!(status, 200, "the slot came back when the tunnel closed");
}

#[test]
fn item6_sigterm_lets_an_open_tunnel_finish_like_a_request() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let mut s = pool_config(&[o.addr("o")], |p| p)
        .shutdown_timeout("10s")
        .start();
    let mut tunnel = open_tunnel(s.addr);
    echo(&mut tunnel, b"before").expect("echo");
    s.proc.signal("TERM");
    wait_until(Duration::from_secs(5), "sluice stops accepting", || {
        TcpStream::connect(s.addr).is_err()
    });
    echo(&mut tunnel, b"after SIGTERM").expect("the tunnel still carries bytes while draining");
    let closed_at = Instant::now();
    drop(tunnel);
    let code = s.proc.wait_exit(Duration::from_secs(5));
    assert_eq!(code, Some(0), "exit after the last tunnel closed");
    assert!(closed_at.elapsed() < Duration::from_secs(3));
}

#[test]
fn item7_a_client_pipelining_without_reading_does_not_grow_memory() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = pool_config(&[o.addr("o")], |p| p).start();
    let pid = s.proc.child.id();
    assert_eq!(
        request(
            s.addr,
            "GET /warm HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        .status,
        200
    );
    let baseline = rss_kib(pid);
    let req = b"GET /p HTTP/1.1\r\nHost: t\r\n\r\n";
    let c = TcpStream::connect(s.addr).expect("connect");
    let reader = c.try_clone().expect("clone");
    c.set_nonblocking(true).expect("nonblocking");
    let mut w = &c;
    // Write until sluice stops taking bytes for a whole second (or 20,000 requests).
    let (mut sent, mut blocked_since) = (0usize, None::<Instant>);
    while sent < req.len() * 20_000 {
        let at = sent % req.len();
        match w.write(&req[at..]) {
            Ok(n) => {
                sent += n;
                blocked_since = None;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let since = *blocked_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(1) {
                    break;
                }
                // (Waiting for sluice to take more: the scenario.)
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("send: {e}"),
        }
    }
    let grown = rss_kib(pid).saturating_sub(baseline);
    assert!(
        grown < 4096,
        "sluice grew by {grown} KiB while {} requests were pipelined unread",
        sent / req.len()
    );
    // Every request is still answered, in order, once the client reads. (Blocking
    // again first: `reader` is a dup of `c` and shares its O_NONBLOCK, so a reader
    // started before this could see WouldBlock and stop counting early.)
    c.set_nonblocking(false).expect("blocking");
    let requests = sent.div_ceil(req.len());
    let counter = std::thread::spawn(move || {
        let mut reader = reader;
        reader.set_read_timeout(Some(Duration::from_secs(20))).ok();
        let mut seen = 0usize;
        let mut tail: Vec<u8> = Vec::new();
        let mut chunk = vec![0u8; 1 << 16];
        while seen < requests {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    tail.extend_from_slice(&chunk[..n]);
                    let marker = b"HTTP/1.1 200 OK\r\n";
                    seen += tail.windows(marker.len()).filter(|w| *w == marker).count();
                    let keep = tail.len().min(marker.len() - 1);
                    tail.drain(..tail.len() - keep);
                }
            }
        }
        seen
    });
    let at = sent % req.len();
    if at != 0 {
        (&c).write_all(&req[at..]).expect("finish the last request");
    }
    assert_eq!(counter.join().expect("reader"), requests);
}

#[test]
fn item10_retries_never_pick_a_tried_server_again_in_a_pool_of_70() {
    let backends: Vec<RawBackend> = (0..70)
        .map(|_| RawBackend::start(|_, _| Action::Close))
        .collect();
    let addrs: Vec<SocketAddr> = backends.iter().map(|b| b.addr).collect();
    let s = pool_config(&addrs, |p| {
        p.balance("consistent_hash").hash_on("path").retries(5)
    })
    .start();
    for k in 0..40 {
        let before: Vec<usize> = backends.iter().map(RawBackend::connections).collect();
        let r = request(
            s.addr,
            &format!("GET /key{k} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
        );
        assert_eq!(r.status, 502, "key {k}");
        // The backends count a connection when their accept thread gets to it.
        let tried = || {
            backends
                .iter()
                .zip(&before)
                .map(|(b, n)| b.connections() - n)
                .sum::<usize>()
        };
        wait_until(Duration::from_secs(5), "the backends saw six tries", || {
            tried() >= 6
        });
        let tries: Vec<(usize, usize)> = backends
            .iter()
            .enumerate()
            .map(|(i, b)| (i, b.connections() - before[i]))
            .filter(|&(_, n)| n > 0)
            .collect();
        assert!(
            tries.iter().all(|&(_, n)| n == 1),
            "key {k}: a server was tried twice: {tries:?}"
        );
        assert_eq!(
            tries.len(),
            6,
            "key {k}: one try and five retries: {tries:?}"
        );
    }
}

/// Eight api origins named o0..o7, and their addresses.
fn eight_origins() -> (Origins, Vec<SocketAddr>) {
    let specs: Vec<String> = (0..8)
        .map(|i| format!("api=127.0.0.1:0,name=o{i}"))
        .collect();
    let spec_refs: Vec<&str> = specs.iter().map(String::as_str).collect();
    let o = Origins::start(&spec_refs);
    let addrs = (0..8).map(|i| o.addr(&format!("o{i}"))).collect();
    (o, addrs)
}

#[test]
fn item10_consistent_hash_on_host_ignores_case() {
    let (_origins, addrs) = eight_origins();
    let s = pool_config(&addrs, |p| p.balance("consistent_hash").hash_on("host")).start();
    let origin_for = |host: &str| {
        let r = request(
            s.addr,
            &format!("GET /x HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        );
        r.header("x-origin").expect("x-origin").to_string()
    };
    for host in [
        "media.example.com",
        "edge7.cdn.test",
        "login.example.org",
        "a.b.c.d",
    ] {
        assert_eq!(
            origin_for(host),
            origin_for(&host.to_ascii_uppercase()),
            "{host} and its upper case went to different servers"
        );
    }
}

#[test]
fn item10_ipv4_mapped_clients_are_forwarded_and_hashed_as_ipv4() {
    let (_origins, addrs) = eight_origins();
    let config = pool_config(&addrs, |p| {
        p.balance("consistent_hash").hash_on("client_ip")
    });
    let plain = config.start();
    // A dual-stack listener sees the same client as ::ffff:127.0.0.1.
    let dual = config.listen("[::]:0").start();
    let dual_v4: SocketAddr = format!("127.0.0.1:{}", dual.addr.port())
        .parse()
        .expect("addr");
    let raw = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    let via_plain = request(plain.addr, raw);
    let via_dual = request(dual_v4, raw);
    assert!(
        via_dual
            .text()
            .contains(r#"["X-Forwarded-For","127.0.0.1"]"#),
        "forwarded for: {}",
        via_dual.text()
    );
    assert_eq!(via_plain.header("x-origin"), via_dual.header("x-origin"));
}

//! The upstream idle policy (SPEC §3), watched from the origin's side of real
//! sockets: an idle pooled connection is reused newest-first, so under a light
//! steady load one connection carries it and the others age out after
//! `upstream_idle`; `max_idle_per_server` caps what a worker keeps.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::client::{Conn, get};
use common::raw::{Action, RawBackend};
use common::{Sluice, wait_until};

/// A backend that answers each request with its connection's number (`/slow`
/// after 300 ms), so the client sees which upstream connection carried it.
fn numbering_origin() -> RawBackend {
    RawBackend::start(|conn, head| {
        if head.contains(" /slow") {
            thread::sleep(Duration::from_millis(300));
        }
        let body = conn.to_string();
        Action::Reply(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes(),
        )
    })
}

/// Connections the origin saw closed so far.
fn closed(origin: &RawBackend) -> BTreeSet<usize> {
    origin.closed().into_iter().map(|c| c.0).collect()
}

/// When connection `id` was closed, if it was.
fn closed_at(origin: &RawBackend, id: usize) -> Option<Instant> {
    origin.closed().into_iter().find(|c| c.0 == id).map(|c| c.1)
}

/// Four requests at once, so the worker holds four upstream connections.
fn four_at_once(sluice: SocketAddr) -> BTreeSet<usize> {
    let clients: Vec<_> = (0..4)
        .map(|_| thread::spawn(move || get(sluice, "/slow")))
        .collect();
    clients
        .into_iter()
        .map(|c| {
            let r = c.join().expect("client");
            assert_eq!(r.status, 200);
            r.text().parse().expect("connection number")
        })
        .collect()
}

#[test]
fn the_newest_idle_connection_carries_a_light_load_and_the_rest_age_out() {
    let origin = numbering_origin();
    let s = Sluice::builder()
        .timeouts(|t| t.upstream_idle("1s"))
        .pool("p", |p| p.server(origin.addr))
        .default_pool("p")
        .start();
    assert_eq!(four_at_once(s.addr).len(), 4, "four upstream connections");

    // A light steady load for 3.5 s (the unused ones are stale after about 1.3 s and
    // swept within a second of that): one request every 50 ms, one at a time.
    let mut client = Conn::open(s.addr);
    let mut used = BTreeSet::new();
    let mut last_request = Instant::now();
    let load_start = Instant::now();
    while load_start.elapsed() < Duration::from_millis(3500) {
        let r = client.get("t", "/").expect("answer");
        assert_eq!(r.status, 200);
        used.insert(r.text().parse::<usize>().expect("connection number"));
        last_request = Instant::now();
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(used.len(), 1, "one connection carried the load: {used:?}");
    let carrier = *used.first().expect("one");
    let others: BTreeSet<usize> = (0..4).filter(|i| *i != carrier).collect();
    assert_eq!(
        closed(&origin),
        others,
        "the three unused connections aged out while the used one stayed open"
    );

    // Quiet now: the last one goes too, after upstream_idle (swept once a second).
    wait_until(Duration::from_secs(5), "the last connection closes", || {
        closed_at(&origin, carrier).is_some()
    });
    let idle_for = closed_at(&origin, carrier).expect("closed") - last_request;
    assert!(
        idle_for >= Duration::from_millis(900),
        "closed after {idle_for:?} idle, before upstream_idle"
    );
}

#[test]
fn max_idle_per_server_caps_the_connections_a_worker_keeps() {
    let origin = numbering_origin();
    let s = Sluice::builder()
        .pool("p", |p| p.server(origin.addr).max_idle(1))
        .default_pool("p")
        .start();
    assert_eq!(four_at_once(s.addr).len(), 4, "four upstream connections");
    wait_until(
        Duration::from_secs(2),
        "three of the four are closed on return",
        || closed(&origin).len() == 3,
    );
    // The one kept serves the next request, and nothing else closes.
    let r = get(s.addr, "/");
    let kept: usize = r.text().parse().expect("connection number");
    assert!(
        !closed(&origin).contains(&kept),
        "the kept connection served it"
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(closed(&origin).len(), 3);
}

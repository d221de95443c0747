//! The upstream idle policy (SPEC §3), watched from the origin's side of real
//! sockets: an idle pooled connection is reused newest-first, so under a light
//! steady load one connection carries it and the others age out after
//! `upstream_idle`; `max_idle_per_server` caps what a worker keeps.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely
#![allow(clippy::disallowed_types)] // the test origin's threads share a close log

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::client::{Conn, get};
use common::{Sluice, wait_until};

/// When the origin saw each of its connections end, by connection number.
type Closes = Arc<Mutex<Vec<(usize, Instant)>>>;

/// An origin that numbers its connections, answers each request with that number
/// (`/slow` after 300 ms), and notes when a connection's peer closes it.
struct CountingOrigin {
    addr: SocketAddr,
    closes: Closes,
}

impl CountingOrigin {
    fn start() -> CountingOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let closes: Closes = Arc::default();
        let noted = Arc::clone(&closes);
        thread::spawn(move || {
            for (id, stream) in listener.incoming().enumerate() {
                let Ok(stream) = stream else { return };
                let noted = Arc::clone(&noted);
                thread::spawn(move || serve(stream, id, &noted));
            }
        });
        CountingOrigin { addr, closes }
    }

    /// Connections the peer has closed so far.
    fn closed(&self) -> BTreeSet<usize> {
        self.closes
            .lock()
            .expect("lock")
            .iter()
            .map(|c| c.0)
            .collect()
    }

    /// When connection `id` was closed, if it was.
    fn closed_at(&self, id: usize) -> Option<Instant> {
        let closes = self.closes.lock().expect("lock");
        closes.iter().find(|c| c.0 == id).map(|c| c.1)
    }
}

fn serve(mut stream: TcpStream, id: usize, closes: &Closes) {
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..end + 4);
            if head.contains(" /slow") {
                thread::sleep(Duration::from_millis(300));
            }
            let body = id.to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nx-conn: {id}\r\n\r\n{body}",
                body.len()
            );
            if stream.write_all(answer.as_bytes()).is_err() {
                break;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
        }
    }
    closes.lock().expect("lock").push((id, Instant::now()));
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
    let origin = CountingOrigin::start();
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
        origin.closed(),
        others,
        "the three unused connections aged out while the used one stayed open"
    );

    // Quiet now: the last one goes too, after upstream_idle (swept once a second).
    wait_until(Duration::from_secs(5), "the last connection closes", || {
        origin.closed_at(carrier).is_some()
    });
    let idle_for = origin.closed_at(carrier).expect("closed") - last_request;
    assert!(
        idle_for >= Duration::from_millis(900),
        "closed after {idle_for:?} idle, before upstream_idle"
    );
}

#[test]
fn max_idle_per_server_caps_the_connections_a_worker_keeps() {
    let origin = CountingOrigin::start();
    let s = Sluice::builder()
        .pool("p", |p| p.server(origin.addr).max_idle(1))
        .default_pool("p")
        .start();
    assert_eq!(four_at_once(s.addr).len(), 4, "four upstream connections");
    wait_until(
        Duration::from_secs(2),
        "three of the four are closed on return",
        || origin.closed().len() == 3,
    );
    // The one kept serves the next request, and nothing else closes.
    let r = get(s.addr, "/");
    let kept: usize = r.text().parse().expect("connection number");
    assert!(
        !origin.closed().contains(&kept),
        "the kept connection served it"
    );
    thread::sleep(Duration::from_millis(300));
    assert_eq!(origin.closed().len(), 3);
}

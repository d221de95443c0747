//! Memory of an idle keep-alive connection (issue 12: at most 1 KiB each), as
//! `../shared/bench/idle-conns.py` measures it: the sluice process's RSS growth per
//! connection, one second after each of many connections got one answer. What an
//! idle connection holds is its task (the connection future, kept inline) and its
//! socket; a large future held across any await of the request loop sizes every
//! idle connection for it (a 752 B close future did, and made it 1.4 KB).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::time::Duration;

use common::client::Conn;
use common::{Origins, Sluice, raise_nofile};

/// Resident set of process `pid` in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS");
    kib * 1024
}

#[test]
fn an_idle_keep_alive_connection_costs_at_most_a_kibibyte() {
    raise_nofile();
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = Sluice::builder()
        .workers(1)
        .pool("p", |p| p.server(o.addr("o")))
        .default_pool("p")
        .start();
    let pid = s.proc.child.id();
    // Warm up: buffers, pools and the upstream connection exist before the baseline.
    let mut warm = Conn::open(s.addr);
    for _ in 0..50 {
        warm.send(b"GET /w HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_eq!(warm.read_response(false).expect("warm-up").status, 200);
    }
    std::thread::sleep(Duration::from_millis(500));
    let before = rss(pid);
    let n = 4000;
    let mut conns: Vec<Conn> = (0..n).map(|_| Conn::open(s.addr)).collect();
    // In batches, so the pool's queue never fills: what is measured is idle
    // connections, not a burst.
    for batch in conns.chunks_mut(200) {
        for c in batch.iter_mut() {
            c.send(b"GET /first HTTP/1.1\r\nHost: t\r\n\r\n");
        }
        for c in batch.iter_mut() {
            assert_eq!(c.read_response(false).expect("answer").status, 200);
        }
    }
    std::thread::sleep(Duration::from_secs(1));
    let per_conn = rss(pid).saturating_sub(before) / n;
    assert!(
        per_conn <= 1024,
        "{per_conn} B of RSS per idle keep-alive connection ({n} connections)"
    );
}

//! Upstream connection reuse on the shipped defaults (issue 12, SPEC §3): at a steady
//! load no upstream connection is closed and reopened, so 64 concurrent keep-alive
//! clients cost about 64 upstream connections, whatever the request count; and the
//! open connections show as `sluice_connections{side}`.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::client::Conn;
use common::{Origins, Sluice};

/// Sum of every sample of `metric` (exact name, any labels) in Prometheus text.
fn metric_sum(text: &str, metric: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(metric) && l[metric.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn metrics(admin: SocketAddr) -> String {
    let mut s = TcpStream::connect(admin).expect("admin");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let req = format!("GET /metrics HTTP/1.1\r\nHost: {admin}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "metrics: {out}");
    out
}

#[test]
fn sixty_four_keep_alive_clients_open_about_sixty_four_upstream_connections() {
    for workers in [1, 2] {
        sixty_four_clients(workers);
    }
}

fn sixty_four_clients(workers: usize) {
    // A few milliseconds per answer keep all 64 requests in flight at once.
    let o = Origins::start(&["api=127.0.0.1:0,name=o,latency=5ms"]);
    // Shipped defaults: no max_idle_per_server.
    let s = Sluice::builder()
        .workers(workers as i64)
        .pool("p", |p| p.server(o.addr("o")))
        .default_pool("p")
        .start();
    let addr = s.addr;
    let clients: Vec<_> = (0..64)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = Conn::open(addr);
                let mut highest_origin_conn = 0u32;
                for n in 0..40 {
                    c.send(format!("GET /c{i}/r{n} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes());
                    let r = c.read_response(false).expect("answer");
                    assert_eq!(r.status, 200);
                    let conn_serial = r.header("x-origin-conn").and_then(|v| v.parse().ok());
                    highest_origin_conn = highest_origin_conn.max(conn_serial.unwrap_or(0));
                }
                (c, highest_origin_conn)
            })
        })
        .collect();
    let (open, serials): (Vec<Conn>, Vec<u32>) = clients
        .into_iter()
        .map(|t| t.join().expect("client"))
        .unzip();
    // The origin numbers the connections it accepted: seen from outside, the
    // number of upstream connections sluice opened.
    let accepted = serials.into_iter().max().unwrap_or(0);
    assert!(
        (1..=68).contains(&accepted),
        "the origin accepted {accepted} connections for 64 clients x 40 requests"
    );
    let text = metrics(s.admin);
    let connects = metric_sum(&text, "sluice_upstream_connects_total");
    assert!(
        (1.0..=68.0).contains(&connects),
        "{connects} upstream connects for 64 clients x 40 requests"
    );
    assert_eq!(metric_sum(&text, "sluice_requests_total"), 64.0 * 40.0);
    let client_side = text
        .lines()
        .find(|l| l.starts_with("sluice_connections{side=\"client\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
    assert_eq!(client_side, Some(64.0), "the 64 clients are still open");
    let upstream_side = text
        .lines()
        .find(|l| l.starts_with("sluice_connections{side=\"upstream\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .expect("upstream gauge");
    assert!(
        upstream_side >= 1.0 && upstream_side <= connects,
        "{upstream_side} upstream connections open, {connects} opened"
    );
    drop(open);
}

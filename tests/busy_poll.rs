//! Adaptive busy polling (`server.busy_poll`, issue 13): while answers keep coming a
//! worker spins instead of sleeping, and with no traffic it costs nothing. Measured
//! as the sluice process's CPU time from /proc (user + system ticks).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::time::{Duration, Instant};

use common::client::Conn;
use common::{Origins, Sluice, cpu_ticks, ticks_per_s};

/// Send requests one at a time on one keep-alive connection for `d`; returns how many.
fn one_at_a_time(s: &Sluice, d: Duration) -> u64 {
    let mut c = Conn::open(s.addr);
    let end = Instant::now() + d;
    let mut n = 0;
    while Instant::now() < end {
        c.send(b"GET /api/x HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.read_response(false).expect("answer");
        assert_eq!(r.status, 200);
        n += 1;
    }
    n
}

/// Fraction of one core the process used while `f` ran.
fn core_share(pid: u32, f: impl FnOnce()) -> f64 {
    let (t0, w0) = (cpu_ticks(pid), Instant::now());
    f();
    let (t1, w1) = (cpu_ticks(pid), Instant::now());
    (t1 - t0) as f64 / ticks_per_s() as f64 / (w1 - w0).as_secs_f64()
}

fn start(origin: &Origins, busy_poll: &str, workers: i64) -> Sluice {
    Sluice::builder()
        .workers(workers)
        .server(&format!("busy_poll = \"{busy_poll}\""))
        .pool("p", |p| p.server(origin.addr("o")))
        .default_pool("p")
        .start()
}

#[test]
fn a_worker_spins_while_answers_keep_coming_and_sleeps_without_them() {
    // The origin answers after 1 ms: a 5 ms budget catches every answer, so the
    // worker never sleeps while the client keeps asking; with "0" it sleeps through
    // each millisecond.
    let o = Origins::start(&["api=127.0.0.1:0,name=o,latency=1ms"]);
    let spin = start(&o, "5ms", 1);
    let still = start(&o, "0", 1);
    let d = Duration::from_secs(2);
    let spinning = core_share(spin.proc.child.id(), || {
        one_at_a_time(&spin, d);
    });
    let sleeping = core_share(still.proc.child.id(), || {
        one_at_a_time(&still, d);
    });
    assert!(
        spinning > 0.5 && spinning > 3.0 * sleeping,
        "busy_poll 5ms used {:.0} % of a core, busy_poll 0 {:.0} %",
        spinning * 100.0,
        sleeping * 100.0
    );
    // No traffic: both sleep (the spinner stops once the budget passes).
    std::thread::sleep(Duration::from_millis(300));
    let idle = core_share(spin.proc.child.id(), || {
        std::thread::sleep(Duration::from_secs(3))
    });
    assert!(
        idle < 0.03,
        "idle with busy_poll 5ms: {:.1} % of a core",
        idle * 100.0
    );
}

#[test]
fn the_shipped_default_costs_nothing_when_idle_with_two_workers() {
    let o = Origins::start(&["api=127.0.0.1:0,name=o"]);
    let s = Sluice::builder()
        .workers(2)
        .pool("p", |p| p.server(o.addr("o")))
        .default_pool("p")
        .start();
    let served = one_at_a_time(&s, Duration::from_secs(1));
    assert!(served > 100, "only {served} answers in 1 s");
    std::thread::sleep(Duration::from_millis(300));
    let idle = core_share(s.proc.child.id(), || {
        std::thread::sleep(Duration::from_secs(3))
    });
    assert!(idle < 0.03, "idle: {:.1} % of a core", idle * 100.0);
}

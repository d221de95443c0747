//! `sluice-load` against in-test origins: coordinated omission is corrected in open
//! mode (a stall shows in every request it delayed), the requested rate is held, and
//! an unreachable target ends the run with exit 1.
#![allow(clippy::disallowed_methods)] // tests block and sleep freely

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::TempDir;

/// A keep-alive origin answering `200` with 2 bytes; the first request after
/// `stall_after` waits `stall` before answering (once).
fn origin(stall_after: Duration, stall: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let started = Instant::now();
    let stalled = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let stalled = Arc::clone(&stalled);
            std::thread::spawn(move || serve(s, started, stall_after, stall, &stalled));
        }
    });
    addr
}

fn serve(
    mut s: TcpStream,
    started: Instant,
    stall_after: Duration,
    stall: Duration,
    stalled: &AtomicBool,
) {
    s.set_nodelay(true).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            if started.elapsed() >= stall_after && !stalled.swap(true, Ordering::Relaxed) {
                std::thread::sleep(stall);
            }
            if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .is_err()
            {
                return;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn profile(dir: &TempDir, mode: &str, rate: u32, connections: u32) -> std::path::PathBuf {
    let path = dir.0.join(format!("{mode}.toml"));
    std::fs::write(
        &path,
        format!("duration = \"3s\"\nmode = \"{mode}\"\nrate = {rate}\nconnections = {connections}\n[[class]]\nname = \"c\"\npath = \"/x\"\n"),
    )
    .unwrap();
    path
}

/// Run sluice-load; returns (exit code, JSON text).
fn load(target: SocketAddr, profile: &std::path::Path, dir: &TempDir) -> (i32, String) {
    let json = dir.0.join("out.json");
    let _ = std::fs::remove_file(&json);
    let status = Command::new(env!("CARGO_BIN_EXE_sluice-load"))
        .arg("-p")
        .arg(profile)
        .args(["--target", &format!("http://{target}"), "--quiet", "--json"])
        .arg(&json)
        .output()
        .expect("run sluice-load");
    (
        status.status.code().unwrap_or(-1),
        std::fs::read_to_string(&json).unwrap_or_default(),
    )
}

/// A number after `"key":` within the `"total"` object.
fn total_field(json: &str, key: &str) -> f64 {
    let total = json.split("\"total\":").nth(1).expect("total in JSON");
    let pat = format!("\"{key}\":");
    let at = total
        .find(&pat)
        .unwrap_or_else(|| panic!("{key} in {total}"))
        + pat.len();
    total[at..]
        .split([',', '}'])
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn open_loop_counts_the_stall_in_every_delayed_request() {
    let dir = TempDir::new();
    // One connection at 100 req/s; the origin stalls 500 ms once, 1 s into the run.
    let open_origin = origin(Duration::from_millis(1000), Duration::from_millis(500));
    let (code, json) = load(open_origin, &profile(&dir, "open", 100, 1), &dir);
    assert_eq!(code, 0, "{json}");
    let p90 = total_field(&json, "p90");
    let max = total_field(&json, "max");
    // ~50 requests were due during the stall: their latency counts from when they were due.
    assert!(
        p90 >= 100_000.0,
        "open-loop p90 {p90} µs hides the stall: {json}"
    );
    assert!(max >= 450_000.0, "{json}");
    // The same stall measured closed-loop hides behind one slow request.
    let closed_origin = origin(Duration::from_millis(1000), Duration::from_millis(500));
    let (code, json) = load(closed_origin, &profile(&dir, "closed", 100, 1), &dir);
    assert_eq!(code, 0);
    let closed_p90 = total_field(&json, "p90");
    assert!(
        closed_p90 < 20_000.0,
        "closed-loop p90 {closed_p90}: {json}"
    );
    assert!(total_field(&json, "max") >= 450_000.0);
}

#[test]
fn a_fast_origin_gets_the_requested_rate_without_errors() {
    let dir = TempDir::new();
    let fast = origin(Duration::from_secs(3600), Duration::ZERO);
    let (code, json) = load(fast, &profile(&dir, "open", 500, 8), &dir);
    assert_eq!(code, 0);
    assert_eq!(total_field(&json, "error_total"), 0.0, "{json}");
    let rps = total_field(&json, "rps");
    assert!((400.0..=600.0).contains(&rps), "rps {rps}: {json}");
}

#[test]
fn an_unreachable_target_exits_1_in_bounded_time() {
    let dir = TempDir::new();
    // Bind then drop: nothing listens on this port.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let start = Instant::now();
    let (code, _) = load(dead, &profile(&dir, "closed", 100, 2), &dir);
    assert_eq!(code, 1);
    assert!(start.elapsed() < Duration::from_secs(10));
}

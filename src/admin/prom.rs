//! `GET /metrics` in the Prometheus text format (0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use crate::control::{ServerState, Snapshot};
use crate::metrics::{CLASSES, UpstreamFailure, WorkerMetrics};

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Render all metrics.
pub fn render(snap: &Snapshot, m: &WorkerMetrics, client_connections: u64) -> String {
    let c = &snap.config;
    let mut o = String::new();
    let route_name = |slot: usize| {
        if slot == 0 {
            "default".to_string()
        } else {
            c.routes[slot - 1].name.clone()
        }
    };
    let slots = c.routes.len() + 1;
    let _ = writeln!(
        o,
        "# HELP sluice_requests_total Requests answered, by route, pool, server and status class."
    );
    let _ = writeln!(o, "# TYPE sluice_requests_total counter");
    for slot in 0..slots {
        for (pi, pool) in c.pools.iter().enumerate() {
            for (si, server) in pool.servers.iter().enumerate() {
                let counts = m.requests_at(slot, m.pool_offsets[pi] + si);
                for (k, n) in counts.iter().enumerate() {
                    if *n > 0 {
                        let _ = writeln!(
                            o,
                            "sluice_requests_total{{route=\"{}\",pool=\"{}\",server=\"{}\",code_class=\"{}\"}} {n}",
                            label(&route_name(slot)),
                            label(&pool.name),
                            server.addr,
                            CLASSES[k]
                        );
                    }
                }
            }
        }
        let own = m.requests_at(slot, m.servers);
        for (k, n) in own.iter().enumerate() {
            if *n > 0 {
                let _ = writeln!(
                    o,
                    "sluice_requests_total{{route=\"{}\",pool=\"\",server=\"sluice\",code_class=\"{}\"}} {n}",
                    label(&route_name(slot)),
                    CLASSES[k]
                );
            }
        }
    }
    let _ = writeln!(
        o,
        "# HELP sluice_request_duration_seconds Time from complete request head to end of answer."
    );
    let _ = writeln!(o, "# TYPE sluice_request_duration_seconds histogram");
    for slot in 0..slots {
        for (pi, pool) in c.pools.iter().enumerate() {
            let Some(h) = m.latency_at(slot, pi) else {
                continue;
            };
            let labels = format!(
                "route=\"{}\",pool=\"{}\"",
                label(&route_name(slot)),
                label(&pool.name)
            );
            for b in BUCKETS {
                let n = h.count_between(0, (b * 1e6) as u64);
                let _ = writeln!(
                    o,
                    "sluice_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {n}"
                );
            }
            let _ = writeln!(
                o,
                "sluice_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.len()
            );
            let sum: f64 = h
                .iter_recorded()
                .map(|v| v.value_iterated_to() as f64 * v.count_at_value() as f64)
                .sum::<f64>()
                / 1e6;
            let _ = writeln!(o, "sluice_request_duration_seconds_sum{{{labels}}} {sum}");
            let _ = writeln!(
                o,
                "sluice_request_duration_seconds_count{{{labels}}} {}",
                h.len()
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP sluice_bytes_total Body bytes by route and direction."
    );
    let _ = writeln!(o, "# TYPE sluice_bytes_total counter");
    for slot in 0..slots {
        let _ = writeln!(
            o,
            "sluice_bytes_total{{route=\"{}\",direction=\"in\"}} {}",
            label(&route_name(slot)),
            m.bytes_in[slot]
        );
        let _ = writeln!(
            o,
            "sluice_bytes_total{{route=\"{}\",direction=\"out\"}} {}",
            label(&route_name(slot)),
            m.bytes_out[slot]
        );
    }
    let _ = writeln!(
        o,
        "# HELP sluice_upstream_errors_total Failures talking to a server."
    );
    let _ = writeln!(o, "# TYPE sluice_upstream_errors_total counter");
    let _ = writeln!(
        o,
        "# HELP sluice_in_flight Requests in flight per server, all workers."
    );
    let _ = writeln!(o, "# TYPE sluice_in_flight gauge");
    let _ = writeln!(
        o,
        "# HELP sluice_server_up 1 when a server takes new requests."
    );
    let _ = writeln!(o, "# TYPE sluice_server_up gauge");
    for (pi, (pool, stats)) in c.pools.iter().zip(&snap.servers).enumerate() {
        for (si, s) in stats.iter().enumerate() {
            let l = format!("pool=\"{}\",server=\"{}\"", label(&pool.name), s.addr);
            for kind in UpstreamFailure::ALL {
                let errs = m.upstream_errors_at(m.pool_offsets[pi] + si, kind);
                let _ = writeln!(
                    o,
                    "sluice_upstream_errors_total{{{l},kind=\"{}\"}} {errs}",
                    kind.label()
                );
            }
            let _ = writeln!(
                o,
                "sluice_in_flight{{{l}}} {}",
                s.in_flight.load(std::sync::atomic::Ordering::Relaxed)
            );
            let _ = writeln!(
                o,
                "sluice_server_up{{{l}}} {}",
                u8::from(s.state() == ServerState::Up)
            );
        }
    }
    connections(&mut o, snap, client_connections);
    o
}

/// `sluice_upstream_connects_total` per server, and `sluice_connections{side}`: open
/// client connections (the accept loops' count) and open upstream connections
/// (pooled or in use, all servers of the running config).
fn connections(o: &mut String, snap: &Snapshot, client: u64) {
    let _ = writeln!(
        o,
        "# HELP sluice_upstream_connects_total Upstream connections opened (reuse keeps it still)."
    );
    let _ = writeln!(o, "# TYPE sluice_upstream_connects_total counter");
    let mut upstream = 0u64;
    for (pool, stats) in snap.config.pools.iter().zip(&snap.servers) {
        for s in stats {
            upstream += u64::from(s.open_conns.load(Ordering::Relaxed));
            let _ = writeln!(
                o,
                "sluice_upstream_connects_total{{pool=\"{}\",server=\"{}\"}} {}",
                label(&pool.name),
                s.addr,
                s.connects.load(Ordering::Relaxed)
            );
        }
    }
    let _ = writeln!(o, "# HELP sluice_connections Open connections by side.");
    let _ = writeln!(o, "# TYPE sluice_connections gauge");
    let _ = writeln!(o, "sluice_connections{{side=\"client\"}} {client}");
    let _ = writeln!(o, "sluice_connections{{side=\"upstream\"}} {upstream}");
}

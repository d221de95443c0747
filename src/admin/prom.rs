//! `GET /metrics` in the Prometheus text format (0.0.4).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use hdrhistogram::Histogram;

use crate::config::Config;
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
    let mut o = String::new();
    requests(&mut o, &snap.config, m);
    durations(&mut o, &snap.config, m);
    bytes(&mut o, &snap.config, m);
    servers(&mut o, snap, m);
    connections(&mut o, snap, client_connections);
    tls(&mut o, snap, m);
    o
}

/// `sluice_tls_handshakes_total{result}` and `sluice_tls_cert_expiry_seconds{name}`
/// (per name of each certificate; seconds left, negative once expired). Only
/// with `[tls]` configured.
fn tls(o: &mut String, snap: &Snapshot, m: &WorkerMetrics) {
    let Some(t) = &snap.config.tls else {
        return;
    };
    help(
        o,
        "sluice_tls_handshakes_total",
        "counter",
        "TLS handshakes on TLS listeners, by result.",
    );
    let [ok, error] = m.tls_handshakes;
    let _ = writeln!(o, "sluice_tls_handshakes_total{{result=\"ok\"}} {ok}");
    let _ = writeln!(o, "sluice_tls_handshakes_total{{result=\"error\"}} {error}");
    help(
        o,
        "sluice_tls_cert_expiry_seconds",
        "gauge",
        "Seconds until a certificate expires, per name it serves.",
    );
    let now = crate::tls::certs::unix_now();
    let mut seen: Vec<&str> = Vec::new();
    for c in &t.certs {
        // A name listed twice is served by its first entry: one series for it.
        for name in &c.names {
            if seen.contains(&name.as_str()) {
                continue;
            }
            seen.push(name);
            let _ = writeln!(
                o,
                "sluice_tls_cert_expiry_seconds{{name=\"{}\"}} {}",
                label(name),
                c.not_after - now
            );
        }
    }
}

/// A metric's `# HELP` and `# TYPE` lines.
fn help(o: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(o, "# HELP {name} {text}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

/// The route counted in `slot`: 0 is the default route, then the routes in order.
fn route_name(c: &Config, slot: usize) -> String {
    if slot == 0 {
        "default".to_string()
    } else {
        c.routes[slot - 1].name.clone()
    }
}

/// `sluice_requests_total`: per route, pool and server, then the answers sluice
/// gave itself (`server="sluice"`).
fn requests(o: &mut String, c: &Config, m: &WorkerMetrics) {
    help(
        o,
        "sluice_requests_total",
        "counter",
        "Requests answered, by route, pool, server and status class.",
    );
    for slot in 0..c.routes.len() + 1 {
        let route = label(&route_name(c, slot));
        for (pi, pool) in c.pools.iter().enumerate() {
            for (si, server) in pool.servers.iter().enumerate() {
                let counts = m.requests_at(slot, m.pool_offsets[pi] + si);
                for (k, n) in counts.iter().enumerate() {
                    if *n > 0 {
                        let _ = writeln!(
                            o,
                            "sluice_requests_total{{route=\"{route}\",pool=\"{}\",server=\"{}\",code_class=\"{}\"}} {n}",
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
                    "sluice_requests_total{{route=\"{route}\",pool=\"\",server=\"sluice\",code_class=\"{}\"}} {n}",
                    CLASSES[k]
                );
            }
        }
    }
}

/// `sluice_request_duration_seconds`: a histogram per route and pool.
fn durations(o: &mut String, c: &Config, m: &WorkerMetrics) {
    help(
        o,
        "sluice_request_duration_seconds",
        "histogram",
        "Time from complete request head to end of answer.",
    );
    for slot in 0..c.routes.len() + 1 {
        for (pi, pool) in c.pools.iter().enumerate() {
            let Some(h) = m.latency_at(slot, pi) else {
                continue;
            };
            let labels = format!(
                "route=\"{}\",pool=\"{}\"",
                label(&route_name(c, slot)),
                label(&pool.name)
            );
            histogram(o, &labels, h);
        }
    }
}

/// One histogram's buckets, sum and count, from microsecond samples.
fn histogram(o: &mut String, labels: &str, h: &Histogram<u64>) {
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

/// `sluice_bytes_total`: body bytes per route, in and out.
fn bytes(o: &mut String, c: &Config, m: &WorkerMetrics) {
    help(
        o,
        "sluice_bytes_total",
        "counter",
        "Body bytes by route and direction.",
    );
    for slot in 0..c.routes.len() + 1 {
        let route = label(&route_name(c, slot));
        let _ = writeln!(
            o,
            "sluice_bytes_total{{route=\"{route}\",direction=\"in\"}} {}",
            m.bytes_in[slot]
        );
        let _ = writeln!(
            o,
            "sluice_bytes_total{{route=\"{route}\",direction=\"out\"}} {}",
            m.bytes_out[slot]
        );
    }
}

/// Per server: `sluice_upstream_errors_total`, `sluice_in_flight` and
/// `sluice_server_up`.
fn servers(o: &mut String, snap: &Snapshot, m: &WorkerMetrics) {
    help(
        o,
        "sluice_upstream_errors_total",
        "counter",
        "Failures talking to a server.",
    );
    help(
        o,
        "sluice_in_flight",
        "gauge",
        "Requests in flight per server, all workers.",
    );
    help(
        o,
        "sluice_server_up",
        "gauge",
        "1 when a server takes new requests.",
    );
    for (pi, (pool, stats)) in snap.config.pools.iter().zip(&snap.servers).enumerate() {
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
}

/// `sluice_upstream_connects_total` per server, and `sluice_connections{side}`: open
/// client connections (the accept loops' count) and open upstream connections
/// (pooled or in use, all servers of the running config).
fn connections(o: &mut String, snap: &Snapshot, client: u64) {
    help(
        o,
        "sluice_upstream_connects_total",
        "counter",
        "Upstream connections opened (reuse keeps it still).",
    );
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
    help(
        o,
        "sluice_connections",
        "gauge",
        "Open connections by side.",
    );
    let _ = writeln!(o, "sluice_connections{{side=\"client\"}} {client}");
    let _ = writeln!(o, "sluice_connections{{side=\"upstream\"}} {upstream}");
}

//! Criterion micro-benchmarks of the per-request pure work: request parse, path
//! normalisation, classification with 5 and 50 routes, balancer pick.
//! Run: `cargo bench --bench hot_path` (METHOD.md target: ≤ 100 ns per
//! classification with 50 routes).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use sluice::balance::Balancer;
use sluice::config::Config;
use sluice::control::ServerStats;
use sluice::http::header_slots;
use sluice::http::path::normalize_path;
use sluice::http::request::{HeadLimits, MAX_HEADERS, parse_request};
use sluice::router::{Classifier, RequestView};

const REQUEST: &[u8] = b"GET /live/ch17/seg123456.ts?token=abc HTTP/1.1\r\nHost: edge.cdn.example\r\nUser-Agent: AppleCoreMedia/1.0.0.20E247 (iPhone; U; CPU OS 16_4 like Mac OS X)\r\nAccept: */*\r\nAccept-Encoding: identity\r\nX-Playback-Session-Id: 3F0C6A4E-5C1B-4B7E-9E2A-6C4D2B1A0F9E\r\nCookie: session=abc123; plan=premium\r\nConnection: keep-alive\r\n\r\n";

fn config(routes: usize) -> Config {
    let mut text = String::from(
        "[[pool]]\nname = \"api\"\nservers = [\"127.0.0.1:1\"]\n[[pool]]\nname = \"live\"\nbalance = \"consistent_hash\"\nservers = [\"127.0.0.1:2\", \"127.0.0.1:3\", \"127.0.0.1:4\", \"127.0.0.1:5\"]\n[[pool]]\nname = \"vod\"\nservers = [\"127.0.0.1:6\"]\n",
    );
    for i in 0..routes - 1 {
        text += &format!(
            "[[route]]\nname = \"svc{i}\"\npool = \"api\"\n[route.match]\npath_prefix = \"/svc{i}/\"\nmethods = [\"GET\", \"POST\"]\n"
        );
    }
    // The request matches the last route.
    text += "[[route]]\nname = \"live\"\npool = \"live\"\n[route.match]\npreset = \"hls\"\nhost = \"*.cdn.example\"\npath_prefix = \"/live/\"\n[default]\npool = \"api\"\n";
    Config::from_toml_str(&text).expect("bench config")
}

fn benches(c: &mut Criterion) {
    let limits = HeadLimits {
        max_header_bytes: 16384,
        max_headers: 100,
        max_body: 0,
    };
    c.bench_function("parse_request", |b| {
        b.iter(|| {
            let mut headers = header_slots::<MAX_HEADERS>();
            let head = parse_request(black_box(REQUEST), &mut headers, &limits);
            black_box(head.map(|h| h.map(|h| h.head_len)).ok());
        })
    });
    let mut out = Vec::with_capacity(256);
    c.bench_function("normalize_path", |b| {
        b.iter(|| {
            let r = normalize_path(black_box(b"/live/ch17/./%73eg123456.ts"), &mut out);
            black_box(r.is_ok());
        })
    });
    let mut headers = header_slots::<MAX_HEADERS>();
    let head = parse_request(REQUEST, &mut headers, &limits)
        .expect("parses")
        .expect("complete");
    for routes in [5, 50] {
        let classifier = Classifier::compile(&config(routes));
        let view = RequestView {
            method: head.method.as_bytes(),
            host: head.host,
            path: head.path,
            query: head.query,
            headers: head.headers,
            has_range: head.has_range,
            tls: false,
            sni: b"",
        };
        c.bench_function(&format!("classify_{routes}_routes"), |b| {
            b.iter(|| black_box(classifier.classify(black_box(&view))))
        });
    }
    let cfg = config(5);
    for (name, pool) in [("pick_round_robin", 0usize), ("pick_consistent_hash", 1)] {
        let stats: Vec<Arc<ServerStats>> = cfg.pools[pool]
            .servers
            .iter()
            .map(|s| Arc::new(ServerStats::new(s.addr)))
            .collect();
        let mut balancer = Balancer::new(&cfg.pools[pool], 1);
        c.bench_function(name, |b| {
            b.iter(|| {
                black_box(balancer.pick(
                    &stats,
                    &sluice::balance::Tried::new(),
                    black_box(0xdead_beef),
                    u32::MAX,
                ))
            })
        });
    }
}

criterion_group!(hot_path, benches);
criterion_main!(hot_path);

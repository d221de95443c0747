//! `sluice-origin`: demo and test origin servers (SPEC §8).
//!
//! `sluice-origin [--threads N] KIND=ADDR[,name=S][,latency=DUR][,seg_size=SIZE][,fault=MODE] ...`
//! with KIND `api`, `live` or `vod`. After binding it prints one JSON line
//! `{"origins":[{"kind":…,"name":…,"addr":…},…]}` and serves until SIGTERM/SIGINT.
//!
//! Every response carries `x-origin` (the name), `x-origin-conn` (connection serial
//! on that listener) and `x-origin-req` (request number on the connection).
//! Steering request headers: `x-origin-delay: DUR`, `x-origin-fault:
//! reset|reset-mid-body|close`, `x-origin-status: N` (103 sends Early Hints first),
//! `x-origin-framing: length|chunked|close`, `x-origin-body-size: N` (api).
//! Server-wide faults (`fault=` or `POST /_origin/fault?mode=M`): `none`,
//! `slow:DUR`, `reset`, `reset-mid-body`, `500`, `refuse` (connections reset on
//! accept; set at start with `fault=refuse` it binds no listener at all).

// A test origin with a thread per connection: blocking calls and a fault-mode
// mutex are fine here, far from the proxy's workers.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod content;
mod reply;
mod request;
mod server;

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use content::{parse_duration, parse_size};
use reply::Kind;
use server::{Fault, Origin};

const USAGE: &str = "usage: sluice-origin [--threads N] KIND=ADDR[,name=S][,latency=DUR][,seg_size=SIZE][,fault=MODE] ...\n  KIND: api | live | vod;  MODE: none | slow:DUR | reset | reset-mid-body | 500 | refuse";

struct Spec {
    kind: Kind,
    addr: String,
    name: Option<String>,
    latency: Duration,
    seg_size: u64,
    fault: Fault,
}

fn parse_spec(arg: &str) -> Result<Spec, String> {
    let mut parts = arg.split(',');
    let first = parts.next().unwrap_or("");
    let (kind, addr) = first
        .split_once('=')
        .ok_or_else(|| format!("{arg:?}: want KIND=ADDR"))?;
    let kind = match kind {
        "api" => Kind::Api,
        "live" => Kind::Live,
        "vod" => Kind::Vod,
        k => return Err(format!("{k:?}: kind must be api, live or vod")),
    };
    let mut spec = Spec {
        kind,
        addr: addr.to_string(),
        name: None,
        latency: Duration::ZERO,
        seg_size: 200 << 10,
        fault: Fault::None,
    };
    for opt in parts {
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| format!("{opt:?}: want key=value"))?;
        match k {
            "name" => spec.name = Some(v.to_string()),
            "latency" => {
                spec.latency =
                    parse_duration(v).ok_or_else(|| format!("latency={v:?}: want e.g. 5ms"))?
            }
            "seg_size" => {
                spec.seg_size =
                    parse_size(v).ok_or_else(|| format!("seg_size={v:?}: want e.g. 200KiB"))?
            }
            "fault" => {
                spec.fault = Fault::parse(v).ok_or_else(|| format!("fault={v:?}: unknown mode"))?
            }
            _ => return Err(format!("unknown option {k:?}")),
        }
    }
    Ok(spec)
}

fn main() -> ExitCode {
    let specs = match parse_args() {
        Ok(specs) => specs,
        Err(code) => return code,
    };
    let block = Arc::new(content::block());
    let mut line = Vec::new();
    let mut to_serve = Vec::new();
    for spec in specs {
        match bind(spec, &block) {
            Ok((entry, serve)) => {
                line.push(entry);
                to_serve.extend(serve);
            }
            Err(e) => {
                eprintln!("sluice-origin: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{{\"origins\":[{}]}}", line.join(","));
    for (listener, origin) in to_serve {
        std::thread::spawn(move || server::serve(listener, origin));
    }
    wait_for_signal()
}

/// The origins to start; `Err` is the exit code when there is nothing to run
/// (`--help`, or a bad argument, already reported).
fn parse_args() -> Result<Vec<Spec>, ExitCode> {
    let mut specs = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Err(ExitCode::SUCCESS);
            }
            "--threads" => {
                // Accepted for compatibility: connections get their own threads.
                let _ = args.next();
            }
            _ => match parse_spec(&a) {
                Ok(s) => specs.push(s),
                Err(e) => {
                    eprintln!("sluice-origin: {e}\n{USAGE}");
                    return Err(ExitCode::from(2));
                }
            },
        }
    }
    if specs.is_empty() {
        eprintln!("sluice-origin: no origin given\n{USAGE}");
        return Err(ExitCode::from(2));
    }
    Ok(specs)
}

/// A bound listener and the origin it serves.
type ToServe = (TcpListener, Arc<Origin>);

/// Bind one origin: its entry in the bound-address line, and its listener unless
/// it starts refusing (then nothing listens on the port).
fn bind(spec: Spec, block: &Arc<Vec<u8>>) -> Result<(String, Option<ToServe>), String> {
    let listener = TcpListener::bind(&spec.addr).map_err(|e| format!("bind {}: {e}", spec.addr))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let kind = match spec.kind {
        Kind::Api => "api",
        Kind::Live => "live",
        Kind::Vod => "vod",
    };
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| format!("{kind}@{addr}"));
    let entry = format!("{{\"kind\":\"{kind}\",\"name\":\"{name}\",\"addr\":\"{addr}\"}}");
    let refuse = spec.fault == Fault::Refuse;
    let origin = Arc::new(Origin {
        kind: spec.kind,
        name,
        seg_size: spec.seg_size,
        latency: spec.latency,
        fault: Mutex::new(spec.fault),
        conns: AtomicU64::new(0),
        block: Arc::clone(block),
    });
    if refuse {
        // Started refusing: nothing listens on the port.
        drop(listener);
        return Ok((entry, None));
    }
    Ok((entry, Some((listener, origin))))
}

/// Serve until SIGTERM or SIGINT.
fn wait_for_signal() -> ExitCode {
    let signals = signal_hook::iterator::Signals::new([
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
    ]);
    match signals {
        Ok(mut s) => {
            let _ = s.forever().next();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sluice-origin: signals: {e}");
            ExitCode::FAILURE
        }
    }
}

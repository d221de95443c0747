//! `sluice-load`: load generator for media traffic mixes (SPEC §9).
//!
//! `sluice-load -p PROFILE.toml [--target URL] [--duration D] [--warmup D] [--rate N]
//! [--connections N] [--threads N] [--mode open|closed] [--json FILE] [--seed N]
//! [--quiet]` — flags override the profile. Prints a per-class table (requests,
//! errors, req/s, MB/s, p50/p90/p99/p99.9/max from HDR histograms) and writes the
//! same as JSON with `--json`. Exit 0 when the run completed (even with errors), 1
//! when the target could never be reached, 2 on bad arguments or profile.

mod client;
mod discard;
mod profile;
mod report;
mod stats;
mod zipf;

use std::cell::RefCell;
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use client::{ClassGen, Live, Plan, run_connection};
use profile::{Mode, Profile, duration, size};
use stats::ClassStats;
use zipf::Zipf;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: sluice-load -p PROFILE.toml [--target http://HOST:PORT] [--duration 10s] [--warmup 1s] [--rate N] [--connections N] [--threads N] [--mode open|closed] [--json OUT.json] [--seed N] [--quiet]";

struct Args {
    profile: Profile,
    json: Option<String>,
    quiet: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let mut path = None;
    let mut overrides: Vec<(String, String)> = Vec::new();
    let mut json = None;
    let mut quiet = false;
    while let Some(a) = it.next() {
        match a.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "-p" | "--profile" => path = it.next(),
            "--json" => json = it.next(),
            "--quiet" => quiet = true,
            "--target" | "--duration" | "--warmup" | "--rate" | "--connections" | "--threads"
            | "--mode" | "--seed" => {
                let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
                overrides.push((a.trim_start_matches("--").to_string(), v));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let path = path.ok_or("-p PROFILE is required")?;
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    let mut profile: Profile =
        toml::from_str(&text).map_err(|e| format!("{path}: {}", e.message()))?;
    for (k, v) in overrides {
        let bad = || format!("--{k}: {v:?} is not valid");
        match k.as_str() {
            "target" => profile.target = v,
            "duration" => profile.duration = v,
            "warmup" => profile.warmup = Some(v),
            "rate" => profile.rate = v.parse().map_err(|_| bad())?,
            "connections" => profile.connections = v.parse().map_err(|_| bad())?,
            "threads" => profile.threads = v.parse().map_err(|_| bad())?,
            "seed" => profile.seed = v.parse().map_err(|_| bad())?,
            _ => {
                profile.mode = match v.as_str() {
                    "open" => Mode::Open,
                    "closed" => Mode::Closed,
                    _ => return Err(format!("--mode: {v:?} is not open or closed")),
                }
            }
        }
    }
    profile.check()?;
    Ok(Args {
        profile,
        json,
        quiet,
    })
}

fn target_addr(target: &str) -> Result<(SocketAddr, String), String> {
    let hostport = target
        .strip_prefix("http://")
        .ok_or_else(|| format!("target {target:?}: want http://HOST:PORT"))?;
    let hostport = hostport.trim_end_matches('/');
    let addr = hostport
        .to_socket_addrs()
        .map_err(|e| format!("target {target:?}: {e}"))?
        .next()
        .ok_or("target: no address")?;
    Ok((addr, hostport.to_string()))
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sluice-load: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice-load: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<ExitCode, String> {
    let p = args.profile;
    let (addr, hostport) = target_addr(&p.target)?;
    let host = p.host.clone().unwrap_or(hostport);
    let run_for = duration("duration", &p.duration)?;
    let warmup = p
        .warmup
        .as_deref()
        .map(|w| duration("warmup", w))
        .transpose()?
        .unwrap_or_default();
    let timeout = duration("timeout", &p.timeout)?;
    let t0 = Instant::now() + Duration::from_millis(50);
    let mut cumulative = Vec::new();
    let mut acc = 0;
    let mut gens = Vec::new();
    for (i, c) in p.classes.iter().enumerate() {
        acc += c.weight;
        cumulative.push(acc);
        let range = match (&c.range_size, &c.file_size) {
            (Some(r), f) => Some((
                size(&format!("class[{i}].range_size"), r)?,
                f.as_deref()
                    .map(|f| size("file_size", f))
                    .transpose()?
                    .unwrap_or(64 << 20),
            )),
            _ => None,
        };
        gens.push((
            c.method.clone(),
            c.path.clone(),
            c.users,
            c.channels,
            c.zipf_s,
            range,
        ));
    }
    let live = Arc::new(Live::default());
    let threads = p.threads.min(p.connections);
    let names: Vec<String> = p.classes.iter().map(|c| c.name.clone()).collect();
    let mut handles = Vec::new();
    for t in 0..threads {
        let gens = gens.clone();
        let cumulative = cumulative.clone();
        let live = Arc::clone(&live);
        let host = host.clone();
        let (mode, rate, connections, seed) = (p.mode, p.rate, p.connections, p.seed);
        let n_classes = names.len();
        handles.push(std::thread::spawn(move || -> Vec<ClassStats> {
            let classes = gens
                .into_iter()
                .map(|(method, path, users, channels, s, range)| ClassGen {
                    method,
                    path,
                    users,
                    zipf: Zipf::new(channels, s),
                    range,
                })
                .collect();
            let plan = Rc::new(Plan {
                addr,
                host,
                classes,
                cumulative,
                mode,
                rate,
                connections,
                timeout,
                t0,
                measure_from: t0 + warmup,
                end: t0 + warmup + run_for,
            });
            let stats = Rc::new(RefCell::new(
                (0..n_classes)
                    .map(|_| ClassStats::new())
                    .collect::<Vec<_>>(),
            ));
            let rt = monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                .enable_timer()
                .build();
            let Ok(mut rt) = rt else { return Vec::new() };
            let st = Rc::clone(&stats);
            rt.block_on(async move {
                let mut tasks = Vec::new();
                for id in (t..connections).step_by(threads) {
                    tasks.push(monoio::spawn(run_connection(
                        id,
                        Rc::clone(&plan),
                        Rc::clone(&st),
                        Arc::clone(&live),
                        seed,
                    )));
                }
                for task in tasks {
                    task.await;
                }
            });
            stats.borrow().clone()
        }));
    }
    // Progress once a second while the workers run (bounded by the run's end).
    let started = Instant::now();
    let hard_stop = warmup + run_for + timeout.min(Duration::from_secs(2)) + Duration::from_secs(1);
    let mut last = 0;
    while handles.iter().any(|h| !h.is_finished()) && started.elapsed() < hard_stop {
        #[allow(clippy::disallowed_methods)] // the main thread only reports progress
        std::thread::sleep(Duration::from_millis(100));
        let secs = started.elapsed().as_secs();
        if secs > last {
            last = secs;
            if !args.quiet {
                eprintln!(
                    "[{secs:>3}s] requests {} ({:.0}/s) errors {}",
                    live.requests.load(Ordering::Relaxed),
                    live.requests.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
                    live.errors.load(Ordering::Relaxed)
                );
            }
        }
    }
    let mut merged: Vec<ClassStats> = names.iter().map(|_| ClassStats::new()).collect();
    for h in handles {
        if h.is_finished()
            && let Ok(per_class) = h.join()
        {
            for (m, s) in merged.iter_mut().zip(per_class.iter()) {
                m.merge(s);
            }
        }
    }
    let mut total = ClassStats::new();
    for m in &merged {
        total.merge(m);
    }
    let secs = run_for.as_secs_f64();
    let rows: Vec<report::Row<'_>> = names
        .iter()
        .zip(&merged)
        .map(|(n, s)| report::Row { name: n, stats: s })
        .collect();
    let total_row = report::Row {
        name: "total",
        stats: &total,
    };
    let mut all = rows
        .iter()
        .map(|r| report::Row {
            name: r.name,
            stats: r.stats,
        })
        .collect::<Vec<_>>();
    all.push(report::Row {
        name: "total",
        stats: &total,
    });
    print!("{}", report::table(&all, secs));
    if let Some(path) = &args.json {
        let mode = if p.mode == Mode::Open {
            "open"
        } else {
            "closed"
        };
        std::fs::write(
            path,
            report::json(&rows, &total_row, mode, p.rate, secs, p.connections),
        )
        .map_err(|e| format!("{path}: {e}"))?;
    }
    if live.connected.load(Ordering::Relaxed) == 0 {
        eprintln!("sluice-load: could not connect to {addr}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

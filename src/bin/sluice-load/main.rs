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
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use client::{ClassGen, Live, Plan, run_connection};
use profile::{Class, Mode, Profile, duration, size};
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
    let p = &args.profile;
    let job = Job::new(p)?;
    let live = Arc::new(Live::default());
    let threads = p.threads.min(p.connections);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (job, live) = (job.clone(), Arc::clone(&live));
            std::thread::spawn(move || worker(job, t, threads, live))
        })
        .collect();
    let hard_stop =
        job.warmup + job.run_for + job.timeout.min(Duration::from_secs(2)) + Duration::from_secs(1);
    show_progress(&handles, &live, hard_stop, args.quiet);
    let merged = merge(handles, p.classes.len());
    print_report(p, &merged, job.run_for.as_secs_f64(), args.json.as_deref())?;
    if live.connected.load(Ordering::Relaxed) == 0 {
        eprintln!("sluice-load: could not connect to {}", job.addr);
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A traffic class as a worker thread receives it: each thread builds its own
/// Zipf table from `channels` and `zipf_s`.
#[derive(Clone)]
struct ClassSpec {
    method: String,
    path: String,
    users: u64,
    channels: usize,
    zipf_s: f64,
    range: Option<(u64, u64)>,
}

impl ClassSpec {
    fn new(i: usize, c: &Class) -> Result<ClassSpec, String> {
        let range = match &c.range_size {
            Some(r) => Some((
                size(&format!("class[{i}].range_size"), r)?,
                c.file_size
                    .as_deref()
                    .map(|f| size("file_size", f))
                    .transpose()?
                    .unwrap_or(64 << 20),
            )),
            None => None,
        };
        Ok(ClassSpec {
            method: c.method.clone(),
            path: c.path.clone(),
            users: c.users,
            channels: c.channels,
            zipf_s: c.zipf_s,
            range,
        })
    }

    fn build(self) -> ClassGen {
        ClassGen {
            method: self.method,
            path: self.path,
            users: self.users,
            zipf: Zipf::new(self.channels, self.zipf_s),
            range: self.range,
        }
    }
}

/// Everything a worker thread needs; each thread gets a clone.
#[derive(Clone)]
struct Job {
    addr: SocketAddr,
    host: String,
    classes: Vec<ClassSpec>,
    cumulative: Vec<u32>,
    mode: Mode,
    rate: f64,
    connections: usize,
    seed: u64,
    timeout: Duration,
    t0: Instant,
    warmup: Duration,
    run_for: Duration,
}

impl Job {
    fn new(p: &Profile) -> Result<Job, String> {
        let (addr, hostport) = target_addr(&p.target)?;
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
        let mut classes = Vec::new();
        for (i, c) in p.classes.iter().enumerate() {
            acc += c.weight;
            cumulative.push(acc);
            classes.push(ClassSpec::new(i, c)?);
        }
        Ok(Job {
            addr,
            host: p.host.clone().unwrap_or(hostport),
            classes,
            cumulative,
            mode: p.mode,
            rate: p.rate,
            connections: p.connections,
            seed: p.seed,
            timeout,
            t0,
            warmup,
            run_for,
        })
    }

    fn plan(self) -> Plan {
        Plan {
            addr: self.addr,
            host: self.host,
            classes: self.classes.into_iter().map(ClassSpec::build).collect(),
            cumulative: self.cumulative,
            mode: self.mode,
            rate: self.rate,
            connections: self.connections,
            timeout: self.timeout,
            t0: self.t0,
            measure_from: self.t0 + self.warmup,
            end: self.t0 + self.warmup + self.run_for,
        }
    }
}

/// One worker thread: connections `first`, `first + threads`, … on its own
/// runtime. Returns its per-class figures.
fn worker(job: Job, first: usize, threads: usize, live: Arc<Live>) -> Vec<ClassStats> {
    let (connections, seed, n_classes) = (job.connections, job.seed, job.classes.len());
    let plan = Rc::new(job.plan());
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
        for id in (first..connections).step_by(threads) {
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
}

/// Progress once a second while the workers run (bounded by `hard_stop`).
fn show_progress<T>(handles: &[JoinHandle<T>], live: &Live, hard_stop: Duration, quiet: bool) {
    let started = Instant::now();
    let mut last = 0;
    while handles.iter().any(|h| !h.is_finished()) && started.elapsed() < hard_stop {
        #[allow(clippy::disallowed_methods)] // the main thread only reports progress
        std::thread::sleep(Duration::from_millis(100));
        let secs = started.elapsed().as_secs();
        if secs > last {
            last = secs;
            if !quiet {
                eprintln!(
                    "[{secs:>3}s] requests {} ({:.0}/s) errors {}",
                    live.requests.load(Ordering::Relaxed),
                    live.requests.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64(),
                    live.errors.load(Ordering::Relaxed)
                );
            }
        }
    }
}

/// Per-class figures summed over the workers that finished.
fn merge(handles: Vec<JoinHandle<Vec<ClassStats>>>, n_classes: usize) -> Vec<ClassStats> {
    let mut merged: Vec<ClassStats> = (0..n_classes).map(|_| ClassStats::new()).collect();
    for h in handles {
        if h.is_finished()
            && let Ok(per_class) = h.join()
        {
            for (m, s) in merged.iter_mut().zip(per_class.iter()) {
                m.merge(s);
            }
        }
    }
    merged
}

/// The table on stdout, and the JSON document in `json` if given.
fn print_report(
    p: &Profile,
    merged: &[ClassStats],
    secs: f64,
    json: Option<&str>,
) -> Result<(), String> {
    let mut total = ClassStats::new();
    for m in merged {
        total.merge(m);
    }
    let mut rows: Vec<report::Row<'_>> = p
        .classes
        .iter()
        .zip(merged)
        .map(|(c, s)| report::Row {
            name: &c.name,
            stats: s,
        })
        .collect();
    rows.push(report::Row {
        name: "total",
        stats: &total,
    });
    print!("{}", report::table(&rows, secs));
    if let Some(path) = json {
        let (classes, total_row) = rows.split_at(rows.len() - 1);
        let mode = if p.mode == Mode::Open {
            "open"
        } else {
            "closed"
        };
        std::fs::write(
            path,
            report::json(classes, &total_row[0], mode, p.rate, secs, p.connections),
        )
        .map_err(|e| format!("{path}: {e}"))?;
    }
    Ok(())
}

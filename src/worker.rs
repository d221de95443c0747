//! Worker threads: one per core, pinned, each with its own monoio runtime (io_uring
//! when the kernel allows), its own SO_REUSEPORT listener per `server.listen` and
//! `tls.listen` address, and its own `Ctx`. The accept loop never ends on an error: it logs, backs off and
//! continues. Above `server.max_connections` it stops accepting, leaving new
//! connections in the kernel backlog.

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::os::fd::RawFd;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use monoio::io::Canceller;
use monoio::net::TcpListener;
use socket2::{Domain, Protocol, Socket, Type};

use crate::control::{Inbox, Snapshot};
use crate::core::bufs::KEPT_WHEN_QUIET;
use crate::core::ctx::{Ctx, WorkerView};
use crate::core::guard::CatchPanic;
use crate::core::spin::{Noted, spinner};
use crate::core::timers::TICK;
use crate::proxy::conn::{serve, serve_tls};

/// Kernel accept backlog per listener.
const BACKLOG: i32 = 4096;
/// io_uring submission queue entries per worker.
const RING_ENTRIES: u32 = 1024;

/// Bind one SO_REUSEPORT socket per worker for each address. Port 0 is resolved by
/// the first bind and reused for the other workers, so all share one port.
/// Returns `sockets[worker][address]` and the concrete addresses.
pub fn bind_all(
    addrs: &[SocketAddr],
    workers: usize,
) -> io::Result<(Vec<Vec<StdListener>>, Vec<SocketAddr>)> {
    let mut per_worker: Vec<Vec<StdListener>> = (0..workers).map(|_| Vec::new()).collect();
    let mut bound = Vec::with_capacity(addrs.len());
    for &addr in addrs {
        let first = reuseport_listener(addr)?;
        let actual = first.local_addr()?;
        bound.push(actual);
        per_worker[0].push(first);
        for list in per_worker.iter_mut().skip(1) {
            list.push(reuseport_listener(actual)?);
        }
    }
    Ok((per_worker, bound))
}

fn reuseport_listener(addr: SocketAddr) -> io::Result<StdListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("bind {addr}: {e}")))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// Ring setup for a thread-per-core worker: completions' task work (finishing a
/// receive once data is there) runs when the worker next enters the kernel to wait,
/// in one batch, instead of interrupting it with an inter-processor signal each
/// time; the ring is only ever used by its own thread (single issuer).
fn deferred_task_run() -> io_uring::Builder {
    let mut b = io_uring::IoUring::builder();
    b.setup_single_issuer().setup_defer_taskrun();
    b
}

/// What a worker thread needs to start.
pub struct WorkerSpec {
    /// Worker index.
    pub id: usize,
    /// Core to pin to, if pinning.
    pub core: Option<core_affinity::CoreId>,
    /// This worker's plain listeners.
    pub listeners: Vec<StdListener>,
    /// This worker's TLS listeners.
    pub tls_listeners: Vec<StdListener>,
    /// The initial config generation.
    pub snapshot: Arc<Snapshot>,
    /// Control messages for this worker.
    pub commands: Inbox,
    /// Client connections open in the whole process.
    pub connections: Arc<AtomicUsize>,
}

/// Start a worker thread.
pub fn spawn(spec: WorkerSpec) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sluice-w{}", spec.id))
        .spawn(move || {
            if let Some(core) = spec.core
                && !core_affinity::set_for_current(core)
            {
                crate::log_warn!("worker {}: could not pin to core {}", spec.id, core.id);
            }
            let (runtime, ring) = crate::os::with_new_ring(|| {
                monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                    .with_entries(RING_ENTRIES)
                    .uring_builder(deferred_task_run())
                    .enable_timer()
                    .build()
            });
            // Kernels before 6.1 lack DEFER_TASKRUN: a plain ring, without busy
            // polling.
            let runtime = runtime.or_else(|_| {
                monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                    .with_entries(RING_ENTRIES)
                    .enable_timer()
                    .build()
            });
            match runtime {
                Ok(mut rt) => rt.block_on(run(spec, ring)),
                Err(e) => crate::log_error!("worker {}: cannot start runtime: {e}", spec.id),
            }
        })
}

async fn run(spec: WorkerSpec, ring: Option<RawFd>) {
    let view = WorkerView::build(Arc::clone(&spec.snapshot), spec.id);
    let ctx = Rc::new(Ctx::new(spec.id, view, spec.commands));
    start_spinner(&ctx, ring);
    crate::core::gather::install(&ctx);
    let max_connections = spec.snapshot.config.server.max_connections;
    let canceller = Canceller::new();
    let plain = spec.listeners.into_iter().map(|l| (l, false));
    let tls = spec.tls_listeners.into_iter().map(|l| (l, true));
    for (std_listener, tls) in plain.chain(tls) {
        match TcpListener::from_std(std_listener) {
            Ok(listener) => {
                let accept = Accept {
                    ctx: Rc::clone(&ctx),
                    cancel: canceller.handle(),
                    connections: Arc::clone(&spec.connections),
                    max_connections,
                    tls,
                };
                monoio::spawn(accept_loop(listener, accept));
            }
            Err(e) => crate::log_error!("worker {}: listener: {e}", spec.id),
        }
    }
    // The worker's one clock is its timers' (read at each tick): no other clock here.
    let mut last_sweep = ctx.timers.coarse_now();
    let mut last_collected = 0u64;
    let mut last_tick_activity = 0u64;
    while !ctx.shutting_down.get() {
        monoio::time::sleep(TICK).await;
        ctx.poll_commands();
        ctx.timers.tick();
        let now = ctx.timers.coarse_now();
        if now.duration_since(last_sweep) >= Duration::from_secs(1) {
            let idle = ctx.view().snapshot.config.server.timeouts.upstream_idle;
            ctx.idle.borrow_mut().sweep(now, idle);
            last_sweep = now;
        }
        // Once the worker has been quiet for a whole tick after activity, shrink the
        // buffer pools and return freed pages to the kernel (never under load: a
        // purge there would only be faulted back in by the next requests).
        let activity = ctx.activity.get();
        if activity == last_tick_activity && activity != last_collected && ctx.busy.get() == 0 {
            ctx.bufs.borrow_mut().trim(KEPT_WHEN_QUIET);
            ctx.heads.borrow_mut().trim(KEPT_WHEN_QUIET);
            crate::os::release_free_memory();
            last_collected = activity;
        }
        last_tick_activity = activity;
    }
    // Stop accepting; let requests in progress finish within shutdown_timeout.
    let _cancelled = canceller.cancel();
    let deadline = ctx.timers.coarse_now() + ctx.view().snapshot.config.server.shutdown_timeout;
    // Keep ticking: the requests still running rely on the coarse timeouts.
    while ctx.busy.get() > 0 && ctx.timers.coarse_now() < deadline {
        monoio::time::sleep(TICK).await;
        ctx.timers.tick();
    }
    crate::log_info!(
        "worker {} stopped; it accepted {} connections",
        ctx.worker_id,
        ctx.accepted.get()
    );
}

/// Start the busy-poll spinner on the worker's own ring; without one (no io_uring,
/// or its descriptor not found) the worker sleeps between events as before.
fn start_spinner(ctx: &Rc<Ctx>, ring: Option<RawFd>) {
    let Some(ring) = ring else {
        crate::log_info!(
            "worker {}: no ring of its own found; no busy polling",
            ctx.worker_id
        );
        return;
    };
    let view_of = Rc::clone(ctx);
    let budget = move || view_of.view().snapshot.config.server.busy_poll;
    let busy_of = Rc::clone(ctx);
    let in_flight = move || busy_of.busy.get();
    monoio::spawn(spinner(Rc::clone(&ctx.io_events), ring, budget, in_flight));
}

/// What an accept loop needs besides its listener.
struct Accept {
    ctx: Rc<Ctx>,
    cancel: monoio::io::CancelHandle,
    connections: Arc<AtomicUsize>,
    max_connections: usize,
    /// A TLS listener: connections start with a handshake.
    tls: bool,
}

async fn accept_loop(listener: TcpListener, a: Accept) {
    let Accept {
        ctx,
        cancel,
        connections,
        max_connections,
        tls,
    } = a;
    let mut backoff = Duration::from_millis(5);
    loop {
        if connections.load(Ordering::Relaxed) >= max_connections {
            // Leave new connections in the backlog until some close.
            monoio::time::sleep(Duration::from_millis(5)).await;
            if ctx.shutting_down.get() {
                return;
            }
            continue;
        }
        match listener.cancelable_accept(cancel.clone()).await {
            Ok((stream, peer)) => {
                backoff = Duration::from_millis(5);
                connections.fetch_add(1, Ordering::Relaxed);
                ctx.accepted.set(ctx.accepted.get() + 1);
                let ctx = Rc::clone(&ctx);
                let conns = Arc::clone(&connections);
                let id = ctx.worker_id;
                let events = Rc::clone(&ctx.io_events);
                let done = move |outcome: Result<(), ()>| {
                    if outcome.is_err() {
                        crate::log_error!(
                            "worker {id}: a connection from {peer} panicked; closed it, others unaffected"
                        );
                    }
                    conns.fetch_sub(1, Ordering::Relaxed);
                };
                if tls {
                    let task = Noted::new(serve_tls(stream, peer, ctx), events);
                    monoio::spawn(CatchPanic::new(task, done));
                } else {
                    let task = Noted::new(serve(stream, peer, ctx), events);
                    monoio::spawn(CatchPanic::new(task, done));
                }
            }
            Err(_) if ctx.shutting_down.get() => return,
            Err(e) => {
                crate::log_warn!("worker {}: accept: {e}", ctx.worker_id);
                monoio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

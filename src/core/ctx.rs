//! One worker's context, shared by its connection tasks through `Rc` (never across
//! threads): the current config view, the keep-alive pool, pipes, buffers and the
//! control channel. Fields are `Cell`/`RefCell`; no borrow is held across `.await`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use crate::balance::Balancer;
use crate::control::{Command, Inbox, Snapshot};
use crate::http::request::HeadLimits;
use crate::metrics::WorkerMetrics;
use crate::router::Classifier;
use crate::upstream::pool::IdlePool;
use crate::upstream::splice::PipePool;

use super::bufs::{BUF_SIZE, BufPool, HEAD_BUF_SIZE, MAX_POOLED_BUFS, MAX_POOLED_HEADS};
use super::spin::Activity;
use super::timers::CoarseTimers;

/// A config generation compiled for this worker: its own classifier copy and
/// balancer state.
pub struct WorkerView {
    /// The shared snapshot this view was built from.
    pub snapshot: Arc<Snapshot>,
    /// This worker's copy of the compiled router.
    pub classifier: Classifier,
    /// Balancer state per pool (this worker only).
    pub balancers: RefCell<Vec<Balancer>>,
    /// Head limits from `server.limits`.
    pub limits: HeadLimits,
}

impl WorkerView {
    /// Compile `snapshot` for worker `worker_id` (cannot fail: the config was
    /// validated and its routes built).
    pub fn build(snapshot: Arc<Snapshot>, worker_id: usize) -> Self {
        let config = &snapshot.config;
        let classifier = Classifier::compile(config);
        let balancers = config
            .pools
            .iter()
            .enumerate()
            .map(|(i, p)| {
                Balancer::new(
                    p,
                    0x9E37_79B9_7F4A_7C15 ^ ((worker_id as u64) << 32) ^ i as u64,
                )
            })
            .collect();
        let l = &config.server.limits;
        let limits = HeadLimits {
            max_header_bytes: l.max_header_bytes,
            max_headers: l.max_headers,
            max_body: l.max_body,
        };
        WorkerView {
            snapshot,
            classifier,
            balancers: RefCell::new(balancers),
            limits,
        }
    }
}

/// Everything one worker's connection tasks share.
pub struct Ctx {
    /// Index of this worker.
    pub worker_id: usize,
    view: RefCell<Rc<WorkerView>>,
    /// Idle upstream connections.
    pub idle: RefCell<IdlePool>,
    /// Empty pipes for splice.
    pub pipes: RefCell<PipePool>,
    /// This worker's coarse deadlines and clock (every timeout of its data path).
    pub timers: CoarseTimers,
    /// Relay buffers (upstream responses, small bodies).
    pub bufs: RefCell<BufPool>,
    /// Client read buffers and request/answer heads.
    pub heads: RefCell<BufPool>,
    commands: Inbox,
    /// Set once shutdown began: connections finish their current request and close.
    pub shutting_down: Cell<bool>,
    /// Client connections open on this worker.
    pub open_connections: Cell<usize>,
    /// Requests in progress on this worker (shutdown waits for zero).
    pub busy: Cell<usize>,
    /// Connections this worker accepted since start.
    pub accepted: Cell<u64>,
    /// This worker's request metrics for the current generation.
    pub metrics: RefCell<WorkerMetrics>,
    /// Bumped whenever buffers were used or released (requests, idle transitions),
    /// so the worker knows when it has memory to give back.
    pub activity: Cell<u64>,
    /// I/O events (polls of connection tasks), watched by the busy-poll spinner.
    pub io_events: Rc<Activity>,
}

impl Ctx {
    /// A context starting on `view`.
    pub fn new(worker_id: usize, view: WorkerView, commands: Inbox) -> Self {
        let buf_size = view.limits.max_header_bytes + 1;
        let metrics = WorkerMetrics::new(&view.snapshot.config, view.snapshot.generation);
        Ctx {
            worker_id,
            view: RefCell::new(Rc::new(view)),
            idle: RefCell::new(IdlePool::new()),
            pipes: RefCell::new(PipePool::new()),
            timers: CoarseTimers::new(),
            bufs: RefCell::new(BufPool::new(buf_size.max(BUF_SIZE), MAX_POOLED_BUFS)),
            heads: RefCell::new(BufPool::new(HEAD_BUF_SIZE, MAX_POOLED_HEADS)),
            commands,
            shutting_down: Cell::new(false),
            open_connections: Cell::new(0),
            busy: Cell::new(0),
            accepted: Cell::new(0),
            activity: Cell::new(0),
            io_events: Rc::new(Activity::default()),
            metrics: RefCell::new(metrics),
        }
    }

    /// Note buffer use (see `activity`).
    #[inline]
    pub fn touch(&self) {
        self.activity.set(self.activity.get().wrapping_add(1));
    }

    /// The current view (cheap `Rc` clone). Requests keep the view they started with.
    pub fn view(&self) -> Rc<WorkerView> {
        Rc::clone(&self.view.borrow())
    }

    /// Apply pending control commands without blocking (`try_recv` only). Queued
    /// generations are coalesced into the newest.
    pub fn poll_commands(&self) {
        for cmd in self.commands.drain() {
            match cmd {
                Command::Apply(snapshot) => {
                    let view = WorkerView::build(snapshot, self.worker_id);
                    let generation = view.snapshot.generation;
                    *self.metrics.borrow_mut() =
                        WorkerMetrics::new(&view.snapshot.config, generation);
                    *self.view.borrow_mut() = Rc::new(view);
                    self.commands.applied(generation);
                }
                Command::CloseIdle(addr) => self.idle.borrow_mut().close_server(addr),
                Command::Shutdown => self.shutting_down.set(true),
                Command::CollectMetrics(reply) => {
                    let _ = reply.try_send(self.metrics.borrow().clone());
                }
            }
        }
    }
}

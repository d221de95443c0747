//! Active health checks, off the worker cores (STYLE habit 10).
//!
//! One `sluice-health` thread runs its own monoio runtime with a task per checked
//! server. Each task probes every `interval`, feeds the result through rise/fall
//! hysteresis and publishes the verdict in the server's shared `ServerStats` (a
//! relaxed atomic every worker reads on its next pick, so a verdict reaches all
//! workers well within one interval); when a server goes down, workers are told over
//! their crossbeam channels to drop its pooled connections. A new config generation
//! arrives on this thread's own channel and replaces the set of tasks.

mod hysteresis;
mod probe;

pub use hysteresis::Hysteresis;

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::config::Health;
use crate::control::{Command, Fanout, ServerStats, Snapshot, stats::now_ms};

/// How often the checker looks for a new snapshot.
const POLL: Duration = Duration::from_millis(50);

/// Handle to the health thread.
pub struct HealthChecker {
    snapshots: Sender<Arc<Snapshot>>,
}

impl HealthChecker {
    /// Start the thread checking the pools of `snapshot`.
    pub fn start(snapshot: Arc<Snapshot>, fanout: Fanout) -> std::io::Result<HealthChecker> {
        let (tx, rx) = crossbeam_channel::unbounded();
        let _ = tx.send(snapshot);
        std::thread::Builder::new()
            .name("sluice-health".into())
            .spawn(move || {
                // Made under the ring-birth lock so a worker never takes this
                // thread's ring for its own (see `os::with_new_ring`).
                let (rt, _) = crate::os::with_new_ring(|| {
                    monoio::RuntimeBuilder::<monoio::FusionDriver>::new()
                        .enable_timer()
                        .build()
                });
                match rt {
                    Ok(mut rt) => rt.block_on(run(rx, fanout)),
                    Err(e) => crate::log_error!("health checker cannot start: {e}"),
                }
            })?;
        Ok(HealthChecker { snapshots: tx })
    }

    /// Check the pools of a new config generation from now on.
    pub fn update(&self, snapshot: Arc<Snapshot>) {
        let _ = self.snapshots.send(snapshot);
    }
}

async fn run(snapshots: Receiver<Arc<Snapshot>>, fanout: Fanout) {
    let fanout = Rc::new(fanout);
    // Tasks of an older generation see the counter move and stop.
    let generation = Rc::new(Cell::new(0u64));
    loop {
        let mut latest = None;
        while let Ok(s) = snapshots.try_recv() {
            latest = Some(s);
        }
        if let Some(snapshot) = latest {
            generation.set(snapshot.generation);
            for (pool, servers) in snapshot.config.pools.iter().zip(&snapshot.servers) {
                match &pool.health {
                    Some(health) => {
                        for server in servers {
                            let task = check_loop(
                                Arc::clone(server),
                                health.clone(),
                                snapshot.generation,
                                Rc::clone(&generation),
                                Rc::clone(&fanout),
                            );
                            monoio::spawn(task);
                        }
                    }
                    // Without active checks a server is healthy unless ejected.
                    None => servers.iter().for_each(|s| s.set_healthy(true)),
                }
            }
        }
        monoio::time::sleep(POLL).await;
    }
}

async fn check_loop(
    server: Arc<ServerStats>,
    health: Health,
    mine: u64,
    current: Rc<Cell<u64>>,
    fanout: Rc<Fanout>,
) {
    let mut verdict = Hysteresis::new(health.rise, health.fall, server.is_healthy());
    while current.get() == mine {
        let passed = probe::check(
            server.addr,
            &health.path,
            health.timeout,
            health.expect_status,
        )
        .await;
        if current.get() != mine {
            return;
        }
        server
            .last_check_ms
            .store(now_ms().max(1), Ordering::Relaxed);
        server.last_check_ok.store(passed, Ordering::Relaxed);
        if let Some(up) = verdict.observe(passed) {
            server.set_healthy(up);
            if up {
                crate::log_info!("health: {} is up", server.addr);
            } else {
                crate::log_warn!("health: {} is down", server.addr);
                fanout.broadcast(&Command::CloseIdle(server.addr));
            }
        }
        monoio::time::sleep(health.interval).await;
    }
}

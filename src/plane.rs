//! The control plane's shared state: the running snapshot, the channels to the
//! workers and the health checker, and the config file. Used by the admin thread
//! and the signal thread (never by a worker), so a mutex is fine here: the
//! snapshot slot is locked only to read or replace an `Arc`, and the apply lock
//! serializes whole config applies.
#![allow(clippy::disallowed_types)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError, ConfigErrors};
use crate::health::HealthChecker;
use crate::metrics::WorkerMetrics;

use crate::control::{AdminState, Command, Fanout, Snapshot};

pub mod persist;

/// Parse and validate config text received by the admin API or read on SIGHUP:
/// an empty text (nothing but blanks and comments) is refused rather than taken as
/// "all defaults". Validation builds the routes, so every worker can build the
/// generation that is answered 200.
/// Relative file paths in it (certificates) start at `base`, the config file's
/// directory.
pub fn parse_config(text: &str, base: &std::path::Path) -> Result<Config, ConfigErrors> {
    let blank = text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if blank {
        return Err(ConfigErrors(vec![ConfigError {
            path: String::new(),
            message: "empty config: the text holds no settings (refused rather than replacing every pool and route with defaults)".into(),
        }]));
    }
    Config::from_toml_str_in(text, base)
}

/// Shared by the admin API, SIGHUP handling and shutdown.
pub struct ControlPlane {
    /// Where the running config lives (persisted on a config PUT).
    pub config_path: PathBuf,
    snapshot: Mutex<Arc<Snapshot>>,
    /// Serializes applies (PUT and SIGHUP); see `reload_file`.
    apply: Mutex<()>,
    fanout: Fanout,
    health: HealthChecker,
    /// Worker threads.
    pub workers: usize,
    /// Process start.
    pub started: Instant,
    /// Client connections open in the whole process (the workers' accept count).
    clients: OnceLock<Arc<AtomicUsize>>,
}

/// An admin action on one server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerAction {
    /// No new requests; pooled connections closed.
    Drain,
    /// Like drain, shown as disabled.
    Disable,
    /// Back to health-checked service.
    Enable,
}

impl ControlPlane {
    /// Wrap the running state.
    pub fn new(
        config_path: PathBuf,
        snapshot: Arc<Snapshot>,
        fanout: Fanout,
        health: HealthChecker,
        workers: usize,
    ) -> Self {
        ControlPlane {
            config_path,
            snapshot: Mutex::new(snapshot),
            apply: Mutex::new(()),
            fanout,
            health,
            workers,
            started: Instant::now(),
            clients: OnceLock::new(),
        }
    }

    /// Share the workers' count of open client connections (set once, at start).
    pub fn count_clients(&self, counter: Arc<AtomicUsize>) {
        let _ = self.clients.set(counter);
    }

    /// Client connections open now.
    pub fn client_connections(&self) -> u64 {
        self.clients
            .get()
            .map_or(0, |c| c.load(Ordering::Relaxed) as u64)
    }

    /// The running generation.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.lock() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Validate `text` and, when valid, apply it to every worker and the health
    /// checker; with `persist`, also write it to the config file (owner-only temp
    /// file, fsync, rename, previous kept as `.bak`). Returns the new generation.
    pub fn apply_text(&self, text: &str, persist: bool) -> Result<u64, ConfigErrors> {
        let _apply = self.lock_apply();
        self.apply_locked(text, persist)
    }

    /// Re-read the config file and apply it (SIGHUP). The file is read under the
    /// apply lock, so a PUT that persisted newer text before this read is what this
    /// reload applies, and one that comes later waits: the newest text always wins.
    pub fn reload_file(&self) -> Result<u64, ConfigErrors> {
        let _apply = self.lock_apply();
        let text = std::fs::read_to_string(&self.config_path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                path: String::new(),
                message: format!("cannot read {}: {e}", self.config_path.display()),
            }])
        })?;
        self.apply_locked(&text, false)
    }

    /// One apply at a time, from validation to the last worker message: PUTs and
    /// SIGHUP reloads are serialized (see `reload_file`). Held on the admin's handler
    /// threads or the signal thread only, never on a worker.
    fn lock_apply(&self) -> MutexGuard<'_, ()> {
        match self.apply.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn apply_locked(&self, text: &str, persist: bool) -> Result<u64, ConfigErrors> {
        let config = parse_config(text, &crate::config::config_dir(&self.config_path))?;
        let current = self.snapshot();
        let tls_listen = |c: &Config| c.tls.as_ref().map(|t| t.listen.clone()).unwrap_or_default();
        if config.server.listen != current.config.server.listen
            || config.admin.listen != current.config.admin.listen
            || tls_listen(&config) != tls_listen(&current.config)
        {
            crate::log_warn!("listen addresses change only on restart");
        }
        if persist {
            persist::persist(&self.config_path, text).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    path: String::new(),
                    message: format!("cannot write {}: {e}", self.config_path.display()),
                }])
            })?;
        }
        let level = config.log.level;
        let next = Arc::new(Snapshot::new(
            current.generation + 1,
            Arc::new(config),
            Some(&current),
        ));
        self.fanout.broadcast(&Command::Apply(Arc::clone(&next)));
        self.health.update(Arc::clone(&next));
        let generation = next.generation;
        match self.snapshot.lock() {
            Ok(mut g) => *g = next,
            Err(p) => *p.into_inner() = next,
        }
        crate::log::set_level(level);
        Ok(generation)
    }

    /// Change one server's admin state; `false` when the pool or server is unknown.
    pub fn server_action(&self, pool: &str, addr: SocketAddr, action: ServerAction) -> bool {
        let snap = self.snapshot();
        let Some(server) = snap.server(pool, addr) else {
            return false;
        };
        match action {
            ServerAction::Drain => server.set_admin(AdminState::Draining),
            ServerAction::Disable => server.set_admin(AdminState::Disabled),
            ServerAction::Enable => server.set_admin(AdminState::Enabled),
        }
        if action != ServerAction::Enable {
            self.fanout.broadcast(&Command::CloseIdle(addr));
        }
        true
    }

    /// Every worker's metrics for the running generation, merged; workers answer
    /// from their 50 ms tick, so this waits at most `timeout`.
    pub fn collect_metrics(&self, timeout: Duration) -> WorkerMetrics {
        let snap = self.snapshot();
        let mut merged = WorkerMetrics::new(&snap.config, snap.generation);
        let (tx, rx) = crossbeam_channel::bounded(self.workers.max(1) * 2);
        self.fanout.broadcast(&Command::CollectMetrics(tx));
        let deadline = Instant::now() + timeout;
        for _ in 0..self.workers {
            match rx.recv_deadline(deadline) {
                Ok(m) => merged.merge(&m),
                Err(_) => break,
            }
        }
        merged
    }

    /// The config generation each worker runs now (a worker behind the running
    /// generation has not reached its next tick yet; building one cannot fail).
    pub fn worker_generations(&self) -> Vec<u64> {
        self.fanout.running()
    }

    /// Tell workers to stop accepting and drain.
    pub fn shutdown(&self) {
        self.fanout.broadcast(&Command::Shutdown);
    }
}

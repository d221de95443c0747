//! The control plane's shared state: the running snapshot, the channels to the
//! workers and the health checker, and the config file. Used by the admin thread
//! and the signal thread (never by a worker), so a mutex is fine here.
#![allow(clippy::disallowed_types)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::config::{Config, ConfigError, ConfigErrors};
use crate::health::HealthChecker;
use crate::metrics::WorkerMetrics;

use crate::control::{AdminState, Command, Fanout, Snapshot};

/// Shared by the admin API, SIGHUP handling and shutdown.
pub struct ControlPlane {
    /// Where the running config lives (persisted on a config PUT).
    pub config_path: PathBuf,
    snapshot: Mutex<Arc<Snapshot>>,
    fanout: Fanout,
    health: HealthChecker,
    /// Worker threads.
    pub workers: usize,
    /// Process start.
    pub started: Instant,
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
            fanout,
            health,
            workers,
            started: Instant::now(),
        }
    }

    /// The running generation.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.lock() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Validate `text` and, when valid, apply it to every worker and the health
    /// checker; with `persist`, also write it to the config file (temp file, fsync,
    /// rename, previous kept as `.bak`). Returns the new generation.
    pub fn apply_text(&self, text: &str, persist: bool) -> Result<u64, ConfigErrors> {
        let config = Config::from_toml_str(text)?;
        let mut guard = match self.snapshot.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if config.server.listen != guard.config.server.listen
            || config.admin.listen != guard.config.admin.listen
        {
            eprintln!("sluice: note: listen addresses change only on restart");
        }
        if persist {
            self.persist(text).map_err(|e| {
                ConfigErrors(vec![ConfigError {
                    path: String::new(),
                    message: format!("cannot write {}: {e}", self.config_path.display()),
                }])
            })?;
        }
        let next = Arc::new(Snapshot::new(
            guard.generation + 1,
            Arc::new(config),
            Some(&guard),
        ));
        self.fanout.broadcast(&Command::Apply(Arc::clone(&next)));
        self.health.update(Arc::clone(&next));
        let generation = next.generation;
        *guard = next;
        Ok(generation)
    }

    /// Re-read the config file and apply it (SIGHUP).
    pub fn reload_file(&self) -> Result<u64, ConfigErrors> {
        let text = std::fs::read_to_string(&self.config_path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                path: String::new(),
                message: format!("cannot read {}: {e}", self.config_path.display()),
            }])
        })?;
        self.apply_text(&text, false)
    }

    fn persist(&self, text: &str) -> std::io::Result<()> {
        let dir = self
            .config_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        let name = self
            .config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "config.toml".into());
        let tmp = dir.join(format!(".{name}.tmp"));
        {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
        }
        if self.config_path.exists() {
            std::fs::copy(&self.config_path, dir.join(format!("{name}.bak")))?;
        }
        std::fs::rename(&tmp, &self.config_path)?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
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

    /// Tell workers to stop accepting and drain.
    pub fn shutdown(&self) {
        self.fanout.broadcast(&Command::Shutdown);
    }
}

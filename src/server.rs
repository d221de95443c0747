//! The process: load the config, bind every worker's listeners and the admin
//! listener, start the workers, the health checker and the admin thread, print the
//! bound addresses as one JSON line, then serve signals — SIGHUP reloads the config
//! file through the same path as a config PUT, SIGTERM/SIGINT drain and exit.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::admin::Admin;
use crate::config::Config;
use crate::control::{Fanout, Inbox, Snapshot};
use crate::health::HealthChecker;
use crate::plane::ControlPlane;
use crate::worker::{WorkerSpec, bind_all, spawn};

/// A running sluice.
pub struct Server {
    plane: Arc<ControlPlane>,
    workers: Vec<JoinHandle<()>>,
    /// Registered before the bound-address line is printed, so a SIGHUP sent as
    /// soon as that line appears reloads instead of killing the process.
    signals: Signals,
}

/// Number of workers for `config`: `server.workers`, or one per available core.
pub fn worker_count(config: &Config) -> usize {
    match config.server.workers {
        0 => std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        n => n,
    }
}

/// Start one worker per listener set, pinned to cores when the config asks;
/// `connections` counts the client connections of them all.
fn start_workers(
    listeners: Vec<Vec<std::net::TcpListener>>,
    tls_listeners: Vec<Vec<std::net::TcpListener>>,
    inboxes: Vec<Inbox>,
    snapshot: &Arc<Snapshot>,
    connections: &Arc<AtomicUsize>,
) -> Result<Vec<JoinHandle<()>>, String> {
    let cores = if snapshot.config.server.pin_cores {
        core_affinity::get_core_ids().unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut handles = Vec::with_capacity(listeners.len());
    let per_worker = listeners.into_iter().zip(tls_listeners).zip(inboxes);
    for (id, ((listeners, tls_listeners), commands)) in per_worker.enumerate() {
        let spec = WorkerSpec {
            id,
            core: (!cores.is_empty()).then(|| cores[id % cores.len()]),
            listeners,
            tls_listeners,
            snapshot: Arc::clone(snapshot),
            commands,
            connections: Arc::clone(connections),
        };
        handles.push(spawn(spec).map_err(|e| format!("cannot start worker {id}: {e}"))?);
    }
    Ok(handles)
}

impl Server {
    /// Start everything for the config at `path`. Prints
    /// `{"listening":{"proxy":["ADDR",...],"tls":["ADDR",...],"workers":N,"admin":"ADDR"}}`
    /// on stdout once every socket is bound (`tls` is empty without TLS listeners).
    pub fn start(path: &Path) -> Result<Server, String> {
        let config = Config::load(path).map_err(|e| e.to_string())?;
        // From here on diagnostics go through the log thread (before, `log` writes
        // them straight to stderr); `main` flushes it before printing a fatal error.
        crate::log::init(config.log.level).map_err(|e| format!("cannot start log: {e}"))?;
        for w in config.warnings() {
            crate::log_warn!("{w}");
        }
        if !monoio::utils::detect_uring() {
            crate::log_warn!(
                "io_uring is unavailable on this kernel; falling back to the epoll driver"
            );
        }
        if config.tls.as_ref().is_some_and(|t| !t.listen.is_empty()) {
            crate::log_info!("tls: {}", crate::tls::ktls_probe());
        }
        crate::os::raise_fd_limit();
        crate::access_log::AccessLogger::start(&config.log.access)
            .map_err(|e| format!("log.access: {e}"))?;
        let workers = worker_count(&config);
        let (listeners, bound) =
            bind_all(&config.server.listen, workers).map_err(|e| e.to_string())?;
        let tls_listen = config.tls.as_ref().map_or(&[][..], |t| &t.listen[..]);
        let (tls_listeners, tls_bound) =
            bind_all(tls_listen, workers).map_err(|e| format!("tls.listen: {e}"))?;
        let admin_listener = std::net::TcpListener::bind(config.admin.listen)
            .map_err(|e| format!("admin listen {}: {e}", config.admin.listen))?;
        let admin_addr = admin_listener.local_addr().map_err(|e| e.to_string())?;
        let snapshot = Arc::new(Snapshot::new(1, Arc::new(config), None));
        let (fanout, receivers) = Fanout::new(workers, snapshot.generation);
        let connections = Arc::new(AtomicUsize::new(0));
        let handles = start_workers(listeners, tls_listeners, receivers, &snapshot, &connections)?;
        let health = HealthChecker::start(Arc::clone(&snapshot), fanout.clone())
            .map_err(|e| format!("cannot start health checker: {e}"))?;
        let plane = Arc::new(ControlPlane::new(
            path.to_path_buf(),
            snapshot,
            fanout,
            health,
            workers,
        ));
        plane.count_clients(connections);
        Admin::start(admin_listener, Arc::clone(&plane))
            .map_err(|e| format!("cannot start admin: {e}"))?;
        let signals = Signals::new([SIGHUP, SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
        let quoted = |list: &[std::net::SocketAddr]| {
            let all: Vec<String> = list.iter().map(|a| format!("\"{a}\"")).collect();
            all.join(",")
        };
        println!(
            "{{\"listening\":{{\"proxy\":[{}],\"tls\":[{}],\"workers\":{workers},\"admin\":\"{admin_addr}\"}}}}",
            quoted(&bound),
            quoted(&tls_bound)
        );
        Ok(Server {
            plane,
            workers: handles,
            signals,
        })
    }

    /// Block on signals until SIGTERM/SIGINT, then drain and return.
    pub fn serve_signals(mut self) -> Result<(), String> {
        for signal in self.signals.forever() {
            if signal == SIGHUP {
                match self.plane.reload_file() {
                    Ok(generation) => crate::log_info!("config reloaded (generation {generation})"),
                    Err(e) => {
                        crate::log_error!("config reload refused, keeping the running config:\n{e}")
                    }
                }
                continue;
            }
            break;
        }
        self.shutdown();
        Ok(())
    }

    /// Tell workers to stop accepting and finish in-flight requests; wait for them
    /// up to `shutdown_timeout` (plus a small margin). Runs on the main thread,
    /// never on a worker, so it may sleep.
    #[allow(clippy::disallowed_methods)]
    pub fn shutdown(self) {
        self.plane.shutdown();
        let deadline = Instant::now()
            + self.plane.snapshot().config.server.shutdown_timeout
            + Duration::from_secs(1);
        for handle in self.workers {
            while !handle.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
        crate::log::flush();
    }
}

//! The admin API and dashboard (SPEC §6) on their own thread and runtime, never on
//! a worker's: a slow dashboard cannot delay an accept. One event loop reads every
//! request (`conn`), Host/Origin checks guard against DNS rebinding and CSRF
//! (`access`), the bearer token is compared in constant time, and handlers that
//! wait (metrics from the workers, a config apply) run on a small thread pool, so
//! `/healthz` is answered at once whatever other admin clients do.

mod access;
mod api;
mod conn;
mod http;
mod prom;
mod slots;

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use crate::plane::ControlPlane;

use slots::Slots;

/// Handle to the admin thread.
pub struct Admin;

/// Threads running admin handlers (status, metrics, config apply); requests beyond
/// them queue on the event loop, each still holding only its connection slot.
const HANDLER_THREADS: usize = 4;

impl Admin {
    /// Serve `listener` on a new thread. If its event loop ever panics, the runtime
    /// (and every connection on it, with its slot) is dropped and a new one serves
    /// the same listening socket.
    pub fn start(listener: TcpListener, plane: Arc<ControlPlane>) -> std::io::Result<Admin> {
        let bound = listener.local_addr()?;
        let slots = Slots::new(conn::MAX_OPEN);
        std::thread::Builder::new()
            .name("sluice-admin".into())
            .spawn(move || {
                loop {
                    let run = AssertUnwindSafe(|| run_loop(&listener, bound, &plane, &slots));
                    match std::panic::catch_unwind(run) {
                        Ok(Ok(())) => return,
                        Ok(Err(e)) => {
                            crate::log_error!("admin: cannot run: {e}");
                            return;
                        }
                        Err(_) => {
                            crate::log_error!("admin: event loop panicked; restarting it");
                            pause_before_restart();
                        }
                    }
                }
            })?;
        Ok(Admin)
    }
}

/// One event loop on a clone of the listening socket, until it ends or panics.
fn run_loop(
    listener: &TcpListener,
    bound: std::net::SocketAddr,
    plane: &Arc<ControlPlane>,
    slots: &Slots,
) -> std::io::Result<()> {
    let listener = listener.try_clone()?;
    // monoio's legacy driver expects a non-blocking socket (a blocking accept
    // would stall the whole loop).
    listener.set_nonblocking(true)?;
    // The admin plane is low-traffic: epoll is plenty and needs no ring.
    let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
        .enable_timer()
        .attach_thread_pool(Box::new(monoio::blocking::DefaultThreadPool::new(
            HANDLER_THREADS,
        )))
        .build()?;
    let plane = Arc::clone(plane);
    let slots = slots.clone();
    rt.block_on(async move {
        let listener = monoio::net::TcpListener::from_std(listener)?;
        conn::serve(listener, bound, plane, slots).await;
        Ok(())
    })
}

/// The admin thread is not a worker: it may sleep.
#[allow(clippy::disallowed_methods)]
fn pause_before_restart() {
    std::thread::sleep(Duration::from_secs(1));
}

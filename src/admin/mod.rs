//! The admin API and dashboard (SPEC §6) on their own thread, never on a worker's
//! runtime: a slow dashboard cannot delay an accept. Bearer-token auth compared in
//! constant time; every endpoint but `GET /healthz` requires it when a token is
//! configured (a loopback-only admin without a token is open to local callers).

mod api;
mod http;
mod prom;

use std::net::TcpListener;
use std::sync::Arc;

use crate::plane::ControlPlane;

/// Handle to the admin thread.
pub struct Admin;

/// At most this many admin connections are served at once.
const MAX_CONCURRENT: usize = 32;

impl Admin {
    /// Serve `listener` on a new thread.
    pub fn start(listener: TcpListener, plane: Arc<ControlPlane>) -> std::io::Result<Admin> {
        let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        std::thread::Builder::new()
            .name("sluice-admin".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    let Ok(mut stream) = stream else { continue };
                    if active.load(std::sync::atomic::Ordering::Relaxed) >= MAX_CONCURRENT {
                        continue;
                    }
                    active.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let plane = Arc::clone(&plane);
                    let active = Arc::clone(&active);
                    let spawned = std::thread::Builder::new()
                        .name("sluice-admin-conn".into())
                        .spawn(move || {
                            if let Some(req) = http::read_request(&mut stream) {
                                let resp = api::handle(&plane, &req);
                                http::write_response(&mut stream, &resp);
                            }
                            active.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                        });
                    if spawned.is_err() {
                        eprintln!("sluice: admin: cannot start a connection thread");
                    }
                }
            })?;
        Ok(Admin)
    }
}

/// Constant-time equality of two secrets (length leaks, content does not).
pub fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_eq() {
        assert!(super::secret_eq(b"abc", b"abc"));
        assert!(!super::secret_eq(b"abc", b"abd"));
        assert!(!super::secret_eq(b"abc", b"ab"));
    }
}

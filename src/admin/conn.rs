//! The admin's event loop: accept, read each request on the loop itself (so a slow
//! client costs a slot and a few KiB, never a thread), answer what needs no work at
//! once (`/healthz`, the dashboard shell, refusals), and run the real handlers on a
//! small fixed pool of threads.
//!
//! Bounds: at most `MAX_OPEN` connections (beyond it they wait in the listen
//! backlog), a request head of 16 KiB, a body only after the caller passed the
//! Host/Origin checks and the token, and every request must arrive whole within
//! `REQUEST_DEADLINE` (a deadline for the request, not per read: a client sending
//! one byte every 4 s is cut at 5 s). Answers are written within `WRITE_TIMEOUT`.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use monoio::io::{AsyncReadRent, AsyncWriteRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};
use monoio::time::{Instant, sleep, timeout, timeout_at};

use crate::plane::ControlPlane;

use super::api;
use super::http::{Head, Request, Response, body_length, parse_head};
use super::slots::{Slot, Slots};

/// Connections served at once; past it new ones wait in the backlog.
pub const MAX_OPEN: usize = 512;
/// A request (head and body) must arrive within this after the connection opens.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// The answer must be written within this.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// After answering, unread client bytes are drained this long before closing (so
/// the close is not an RST that could destroy the answer in flight).
const LINGER: Duration = Duration::from_millis(500);
/// How often a full accept loop looks for a freed slot.
const SLOT_POLL: Duration = Duration::from_millis(5);
const READ_CHUNK: usize = 4096;
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What arrived on a connection.
enum Received {
    /// The peer closed or failed before a whole request arrived.
    Closed,
    /// Answered without a handler (health, dashboard, refusals).
    Answer(Response),
    /// A whole admitted request for a handler.
    Request(Request),
}

/// Accept on `listener` (bound to `bound`) until the runtime ends.
pub async fn serve(
    listener: TcpListener,
    bound: SocketAddr,
    plane: Arc<ControlPlane>,
    slots: Slots,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let slot = loop {
            match slots.try_take() {
                Some(s) => break s,
                None => sleep(SLOT_POLL).await,
            }
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(5);
                let _ = stream.set_nodelay(true);
                monoio::spawn(connection(stream, bound, Arc::clone(&plane), slot));
            }
            Err(e) => {
                // EMFILE and friends: log, back off, keep serving.
                crate::log_warn!("admin: accept: {e}");
                sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Serve one connection; `_slot` is given back however this ends.
async fn connection(
    mut stream: TcpStream,
    bound: SocketAddr,
    plane: Arc<ControlPlane>,
    _slot: Slot,
) {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let resp = match timeout_at(deadline, receive(&mut stream, bound, &plane)).await {
        Err(_) => Response::error(408, "the request did not arrive within 5 s"),
        Ok(Received::Closed) => return,
        Ok(Received::Answer(resp)) => resp,
        Ok(Received::Request(req)) => run_handler(plane, req).await,
    };
    if let Ok((Ok(_), _)) = timeout(WRITE_TIMEOUT, stream.write_all(resp.to_bytes())).await {
        linger(&mut stream).await;
    }
}

/// Read a head, admit it, then read its body.
async fn receive(stream: &mut TcpStream, bound: SocketAddr, plane: &ControlPlane) -> Received {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = Vec::with_capacity(READ_CHUNK);
    let (mut req, head_len) = loop {
        match read_some(stream, chunk).await {
            (Some(n), c) => {
                buf.extend_from_slice(&c[..n]);
                chunk = c;
            }
            (None, _) => return Received::Closed,
        }
        match parse_head(&buf) {
            Head::Partial => {}
            Head::Reject(resp) => return Received::Answer(resp),
            Head::Complete(req, len) => break (req, len),
        }
    };
    let len = match admit(&req, bound, plane) {
        Ok(Some(len)) => len,
        Ok(None) => return Received::Answer(api::answer_open(&req)),
        Err(resp) => return Received::Answer(resp),
    };
    let mut body = buf.split_off(head_len);
    let expects = req
        .header("expect")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("100-continue"));
    if expects && body.len() < len {
        // curl asks before sending a config file; say go on (RFC 9110 §10.1.1).
        let (res, _) = stream.write_all(CONTINUE).await;
        if res.is_err() {
            return Received::Closed;
        }
    }
    while body.len() < len {
        match read_some(stream, chunk).await {
            (Some(n), c) => {
                body.extend_from_slice(&c[..n]);
                chunk = c;
            }
            (None, _) => return Received::Closed,
        }
    }
    body.truncate(len);
    req.body = body;
    Received::Request(req)
}

/// Decide on the head alone: `Ok(None)` for an open endpoint answered at once,
/// `Ok(Some(len))` to read a body of `len` bytes and run a handler, or the refusal.
/// `/healthz` skips the Host/Origin checks: it holds no data, changes nothing, and
/// a readiness probe must never fail on the `Host` it happens to send.
fn admit(
    req: &Request,
    bound: SocketAddr,
    plane: &ControlPlane,
) -> Result<Option<usize>, Response> {
    if api::is_health(req) {
        return Ok(None);
    }
    let snap = plane.snapshot();
    super::access::check(req, bound, &snap.config.admin.allowed_hosts)?;
    if api::is_dashboard(req) {
        return Ok(None);
    }
    let len = body_length(req, api::takes_body(req))?;
    api::authorize(&snap, req)?;
    Ok(Some(len))
}

/// Read once into `chunk` (cleared first); the count, or `None` at EOF or error.
async fn read_some(stream: &mut TcpStream, mut chunk: Vec<u8>) -> (Option<usize>, Vec<u8>) {
    chunk.clear();
    let (res, chunk) = stream.read(chunk).await;
    match res {
        Ok(n) if n > 0 => (Some(n), chunk),
        _ => (None, chunk),
    }
}

/// Run `api::handle` on the handler pool; a panic there is a 500, never a lost
/// connection slot or a dead admin thread.
async fn run_handler(plane: Arc<ControlPlane>, req: Request) -> Response {
    let joined = monoio::spawn_blocking(move || {
        std::panic::catch_unwind(AssertUnwindSafe(|| api::handle(&plane, &req)))
    })
    .await;
    match joined {
        Ok(Ok(resp)) => resp,
        Ok(Err(_)) | Err(_) => Response::error(500, "the admin handler failed; see the log"),
    }
}

/// Half-close after the answer, then drop what the client still sends for a moment.
async fn linger(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let until = Instant::now() + LINGER;
    let mut chunk = Vec::with_capacity(READ_CHUNK);
    loop {
        match timeout_at(until, read_some(stream, chunk)).await {
            Ok((Some(_), c)) => chunk = c,
            _ => return,
        }
    }
}

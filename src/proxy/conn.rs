//! One client connection: wait for a request without holding a buffer, read and plan
//! its head, run the exchange, answer errors, and loop while keep-alive holds.
//! Pipelined requests are answered in order because each request is finished before
//! the next head is parsed from the bytes left in the buffer.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

use monoio::buf::IoBufMut;
use monoio::io::{CancelableAsyncReadRent, Canceller};
use monoio::net::TcpStream;

use crate::access_log::{AccessLogger, Record};
use crate::http::BodyKind;
use crate::http::answers::{Answer, write_answer};
use crate::http::header_slots;
use crate::http::ip_text::IpText;
use crate::http::request::{MAX_HEADERS, parse_request};
use crate::metrics::Sample;

use super::ctx::{Ctx, WorkerView};
use super::exchange::{Next, exchange};
use super::guard::Busy;
use super::io::{IoFail, read_append, write_all};
use super::plan::{Plan, prepare};
use super::slot::TunnelSlot;
use super::tunnel::tunnel;

/// How long a read stays posted (with a buffer) waiting for a keep-alive client's
/// next request before the connection is treated as idle.
const HOT_WAIT: Duration = Duration::from_millis(250);
/// errno for a cancelled operation.
const ECANCELED: i32 = 125;

/// The client side of a connection.
pub struct ClientConn {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes read and not yet consumed (empty with no capacity while idle).
    pub buf: Vec<u8>,
    /// The peer address.
    pub peer: SocketAddr,
}

/// State of a connection's active period only (dropped while it idles).
struct Scratch {
    /// The peer address as text, for X-Forwarded-For and `client_ip` hashing.
    ip: IpText,
    /// The normalised path of the current request.
    path: Vec<u8>,
}

/// Keeps the worker's open-connection count.
struct Open(Rc<Ctx>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0
            .open_connections
            .set(self.0.open_connections.get() - 1);
    }
}

/// Serve one accepted client connection until it closes.
///
/// The connection alternates between two phases. Active: requests are read and
/// answered back to back (boxed, allocated once per active period rather than per
/// request, so a busy keep-alive connection allocates nothing per request). Cold:
/// no request within the hot window, so the active state is dropped and the task
/// waits for readability with no buffer; this is the state an idle keep-alive
/// connection sits in, so it is kept small.
///
/// A plain function returning the future (not an `async fn`) so the connection
/// state is built once and captured, rather than kept twice in the future (as
/// parameters and as locals): every idle connection carries this future.
pub fn serve(stream: TcpStream, peer: SocketAddr, ctx: Rc<Ctx>) -> impl Future<Output = ()> {
    ctx.open_connections.set(ctx.open_connections.get() + 1);
    let open = Open(ctx);
    let _ = stream.set_nodelay(true);
    let mut conn = ClientConn {
        stream,
        buf: Vec::new(),
        peer,
    };
    async move {
        let ctx = &open.0;
        // While the first request is awaited: when the connection was accepted. Its
        // head must be complete within `client_header` of that moment, however the
        // time is split between silence and slow bytes.
        let mut first = Some(Instant::now());
        loop {
            let phase = Box::pin(active(&mut conn, ctx, &mut first)).await;
            // Only the cold wait's remaining time survives this match: the phase
            // itself is not held across the (long) idle await below.
            let left = match phase {
                Phase::Cold(left) => left,
                Phase::Close => break,
                Phase::Upgrade(upgraded) => {
                    // A tunnel is in-flight work: SIGTERM lets it finish (up to
                    // `shutdown_timeout`) like a request, and it keeps its slot on
                    // the server until it ends.
                    let _busy = Busy::enter(ctx);
                    let Upgraded {
                        up,
                        upbuf,
                        idle,
                        slot,
                    } = *upgraded;
                    let client_buf = std::mem::take(&mut conn.buf);
                    Box::pin(tunnel(conn.stream, up, client_buf, upbuf, idle)).await;
                    drop(slot);
                    return;
                }
            };
            // Raced inline rather than through `coarse_timers::timed`: this is the
            // state every idle connection sits in, and the generic helper's future
            // is larger (measured 726 vs 996 B per idle connection).
            let expiry = ctx.timers.expiry(left);
            let ready = monoio::select! {
                r = conn.stream.readable(false) => r.is_ok(),
                _ = expiry => false,
            };
            if !ready {
                break;
            }
            conn.buf = ctx.heads.borrow_mut().take();
        }
        if conn.buf.capacity() > 0 {
            ctx.heads.borrow_mut().put(conn.buf);
        }
    }
}

/// How an active period of a connection ended.
enum Phase {
    /// No request within the hot window; wait this much longer for one.
    Cold(Duration),
    /// Close the connection.
    Close,
    /// Tunnel (boxed: rare, and every idle connection's future would otherwise
    /// carry room for it).
    Upgrade(Box<Upgraded>),
}

/// A connection switched to a tunnel after `101 Switching Protocols`.
struct Upgraded {
    /// The upstream connection.
    up: TcpStream,
    /// Bytes the upstream already sent past its response head.
    upbuf: Vec<u8>,
    /// Idle timeout of the tunnel.
    idle: Duration,
    /// The server slot the tunnel holds.
    slot: TunnelSlot,
}

/// Serve requests back to back while they keep arriving within the hot window.
async fn active(conn: &mut ClientConn, ctx: &Rc<Ctx>, first: &mut Option<Instant>) -> Phase {
    // One canceller for every hot read of this period: monoio allocates for a new
    // one and for its first associated read, not for later reads.
    let mut canceller = Canceller::new();
    let mut scratch = Scratch {
        // An IPv4 client on a dual-stack listener is `::ffff:a.b.c.d`: shown and
        // hashed as the IPv4 address it is.
        ip: IpText::new(conn.peer.ip().to_canonical()),
        path: Vec::new(),
    };
    loop {
        ctx.poll_commands();
        if ctx.shutting_down.get() {
            return Phase::Close;
        }
        if conn.buf.is_empty() {
            let idle_limit = {
                let t = &ctx.view().snapshot.config.server.timeouts;
                match *first {
                    Some(accepted) => t.client_header.saturating_sub(accepted.elapsed()),
                    None => t.client_idle,
                }
            };
            match hot_read(conn, ctx, &mut canceller, HOT_WAIT.min(idle_limit)).await {
                Hot::Got => {}
                Hot::Close => return Phase::Close,
                Hot::Cold => return Phase::Cold(idle_limit.saturating_sub(HOT_WAIT)),
            }
        }
        let header_deadline = first
            .take()
            .map(|accepted| accepted + ctx.view().snapshot.config.server.timeouts.client_header);
        let busy = Busy::enter(ctx);
        let view = ctx.view();
        let next = handle_request(conn, ctx, &view, &mut scratch, header_deadline).await;
        drop(busy);
        ctx.touch();
        match next {
            Next::KeepAlive => {}
            Next::Close | Next::Answer(_) => return Phase::Close,
            Next::Upgrade(up, upbuf, slot) => {
                let idle = view.snapshot.config.server.timeouts.client_idle;
                return Phase::Upgrade(Box::new(Upgraded {
                    up,
                    upbuf,
                    idle,
                    slot,
                }));
            }
        }
    }
}

/// How a hot read ended. A keep-alive client usually sends its next request soon
/// after its last answer, so a read is posted with a buffer for `HOT_WAIT`; after
/// that the read is cancelled (keeping any bytes it got) and the buffer goes back to
/// the pool, so an idle connection pins no buffer.
enum Hot {
    /// Bytes arrived (in `conn.buf`).
    Got,
    /// EOF or error.
    Close,
    /// Nothing within the window; the buffer was returned.
    Cold,
}

async fn hot_read(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    canceller: &mut Canceller,
    window: Duration,
) -> Hot {
    let buf = if conn.buf.capacity() > 0 {
        std::mem::take(&mut conn.buf)
    } else {
        ctx.heads.borrow_mut().take()
    };
    let cap = buf.capacity();
    // The window ends on the worker's coarse idle deadline (one tick of resolution),
    // not a monoio timer: no timer-wheel entry per request.
    let expiry = ctx.timers.expiry(window);
    let (r, slice) = {
        let read = conn
            .stream
            .cancelable_read(buf.slice_mut(0..cap), canceller.handle());
        let mut read = std::pin::pin!(read);
        monoio::select! {
            done = &mut read => done,
            _ = expiry => {
                // `cancel` consumes the canceller and hands back a fresh one.
                *canceller = std::mem::take(canceller).cancel();
                read.await
            }
        }
    };
    let buf = slice.into_inner();
    match r {
        Ok(0) => {
            ctx.heads.borrow_mut().put(buf);
            Hot::Close
        }
        Ok(_) => {
            conn.buf = buf;
            Hot::Got
        }
        Err(e) if e.raw_os_error() == Some(ECANCELED) => {
            ctx.heads.borrow_mut().put(buf);
            ctx.touch();
            Hot::Cold
        }
        Err(_) => {
            ctx.heads.borrow_mut().put(buf);
            Hot::Close
        }
    }
}

/// Read, plan and serve one request. Errors sluice answers itself are written here.
/// The head must be complete by `header_deadline` when given (the first request:
/// counted from accept), else within `client_header` of its first byte (later
/// requests, whose wait for that byte is bounded by `client_idle`).
async fn handle_request(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    view: &Rc<WorkerView>,
    scratch: &mut Scratch,
    header_deadline: Option<Instant>,
) -> Next {
    let t = view.snapshot.config.server.timeouts;
    let started = Instant::now();
    let deadline = header_deadline.unwrap_or(started + t.client_header);
    let mut up_head = ctx.heads.borrow_mut().take();
    let mut method = [0u8; 16];
    let planned = loop {
        if !conn.buf.is_empty() {
            let mut headers = header_slots::<MAX_HEADERS>();
            match parse_request(&conn.buf, &mut headers, &view.limits) {
                Ok(Some(head)) => {
                    let n = head.method.len().min(15);
                    method[..n].copy_from_slice(&head.method.as_bytes()[..n]);
                    break prepare(
                        &head,
                        view,
                        scratch.ip.as_bytes(),
                        &mut scratch.path,
                        &mut up_head,
                    );
                }
                Ok(None) => {}
                Err(e) => break Err(e.answer()),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let buf = std::mem::take(&mut conn.buf);
        let (r, b) = read_append(&mut conn.stream, buf, left.max(Duration::from_millis(1))).await;
        conn.buf = b;
        match r {
            Ok(_) => {}
            Err(IoFail::Timeout) => break Err(Answer::new(408, "header_timeout")),
            Err(_) => {
                ctx.heads.borrow_mut().put(up_head);
                return Next::Close;
            }
        }
    };
    let plan: Plan = match planned {
        Ok(p) => p,
        Err(answer) => {
            let sample = Sample {
                status: answer.status,
                micros: started.elapsed().as_micros() as u64,
                ..Sample::default()
            };
            ctx.metrics.borrow_mut().record(&sample);
            if let Some(log) = AccessLogger::get() {
                log.log(access_record(
                    conn,
                    &scratch.path,
                    view,
                    &method,
                    None,
                    &sample,
                ));
            }
            // 400-class framing errors close; 404 on a bodiless request keeps going.
            let keep = answer.status == 404 && request_has_no_body(conn, view);
            let next = answer_client(conn, ctx, answer, !keep, t.client_idle).await;
            ctx.heads.borrow_mut().put(up_head);
            return if keep { next } else { Next::Close };
        }
    };
    let mut sample = Sample {
        route: plan.route,
        ..Sample::default()
    };
    if let BodyKind::Length(n) = plan.body {
        sample.bytes_in = n;
    }
    let (next, up_head) = exchange(conn, ctx, view, &plan, up_head, &mut sample).await;
    ctx.heads.borrow_mut().put(up_head);
    if let Next::Answer(a) = &next {
        sample.status = a.status;
    }
    sample.micros = started.elapsed().as_micros() as u64;
    if sample.status != 0 {
        ctx.metrics.borrow_mut().record(&sample);
        if let Some(log) = AccessLogger::get() {
            log.log(access_record(
                conn,
                &scratch.path,
                view,
                &plan.method,
                plan.route,
                &sample,
            ));
        }
    }
    match next {
        Next::Answer(answer) => {
            // The request body may still be unread: only a bodiless request keeps the connection.
            let keep = plan.keep_alive && plan.body == BodyKind::None;
            let n = answer_client(conn, ctx, answer, !keep, t.client_idle).await;
            if keep { n } else { Next::Close }
        }
        other => other,
    }
}

/// The access-log record of a finished request (built only when logging is on).
fn access_record(
    conn: &ClientConn,
    path: &[u8],
    view: &WorkerView,
    method: &[u8; 16],
    route: Option<usize>,
    s: &Sample,
) -> Record {
    let c = &view.snapshot.config;
    let len = method.iter().position(|&b| b == 0).unwrap_or(method.len());
    Record {
        time: SystemTime::now(),
        client: conn.peer.ip(),
        method: String::from_utf8_lossy(&method[..len]).into_owned(),
        path: String::from_utf8_lossy(path).into_owned(),
        route: route.and_then(|r| c.routes.get(r)).map(|r| r.name.clone()),
        pool: s.pool.and_then(|p| c.pools.get(p)).map(|p| p.name.clone()),
        server: s
            .pool
            .zip(s.server)
            .and_then(|(p, i)| c.pools.get(p)?.servers.get(i))
            .map(|b| b.addr.to_string()),
        status: s.status,
        bytes_in: s.bytes_in,
        bytes_out: s.bytes_out,
        duration_us: s.micros,
    }
}

/// Whether the buffered request (already known complete) has no body.
fn request_has_no_body(conn: &mut ClientConn, view: &WorkerView) -> bool {
    let mut headers = header_slots::<MAX_HEADERS>();
    match parse_request(&conn.buf, &mut headers, &view.limits) {
        Ok(Some(head)) if head.body == BodyKind::None && head.keep_alive => {
            let n = head.head_len;
            super::io::consume(&mut conn.buf, n);
            true
        }
        _ => false,
    }
}

/// Write an error answer. Returns `KeepAlive` when the connection can go on.
async fn answer_client(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    answer: Answer,
    close: bool,
    timeout: Duration,
) -> Next {
    let mut out = ctx.heads.borrow_mut().take();
    write_answer(&mut out, &answer, close);
    let (r, out) = write_all(&mut conn.stream, out, timeout).await;
    ctx.heads.borrow_mut().put(out);
    match (r, close) {
        (Ok(()), false) => Next::KeepAlive,
        _ => Next::Close,
    }
}

//! One client connection: wait for a request without holding a buffer, read and plan
//! its head, run the exchange, answer errors, and loop while keep-alive holds.
//! Pipelined requests are answered in order because each request is finished before
//! the next head is parsed from the bytes left in the buffer.

use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use monoio::io::Canceller;
use monoio::net::TcpStream;

use crate::access_log::{AccessLogger, Record};
use crate::core::ctx::{Ctx, WorkerView};
use crate::core::guard::Busy;
use crate::core::io::{ByteStream, consume};
use crate::http::BodyKind;
use crate::http::answers::write_answer;
use crate::http::ip_text::IpText;
use crate::metrics::Sample;
use crate::tls::TlsStream;
use crate::upstream::connect::UpstreamConn;

use super::client::{ClientConn, ClientStream};
use super::exchange::{Exchange, Next};
use super::plan::Refusal;
use super::request::{Read, Scratch, read_request};
use super::slot::TunnelSlot;
use super::tunnel::tunnel;

/// How long a read stays posted (with a buffer) waiting for a keep-alive client's
/// next request before the connection is treated as idle.
const HOT_WAIT: Duration = Duration::from_millis(250);
/// How long a TLS connection's close_notify may take to send.
const CLOSE_NOTIFY_WAIT: Duration = Duration::from_secs(1);
/// errno for a cancelled operation.
const ECANCELED: i32 = 125;

/// Keeps the worker's open-connection count.
struct Open(Rc<Ctx>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0
            .open_connections
            .set(self.0.open_connections.get() - 1);
    }
}

/// Serve one accepted plain client connection until it closes.
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
    let conn = ClientConn {
        stream: ClientStream::Plain(stream),
        buf: Vec::new(),
        peer,
    };
    requests(conn, open)
}

/// Serve one accepted connection on a TLS listener: the handshake (with the rustls
/// config current at accept, finished within `client_header`), then requests as on
/// a plain connection. A failed or stalled handshake closes this connection only.
pub fn serve_tls(stream: TcpStream, peer: SocketAddr, ctx: Rc<Ctx>) -> impl Future<Output = ()> {
    ctx.open_connections.set(ctx.open_connections.get() + 1);
    let open = Open(ctx);
    let _ = stream.set_nodelay(true);
    async move {
        let ctx = &open.0;
        let view = ctx.view();
        let Some(config) = view.snapshot.tls.clone() else {
            // The running generation has no `[tls]` (removed by a reload; the
            // listener stays until a restart): refused, counted as a failure.
            ctx.metrics.borrow_mut().tls_handshake(false);
            return;
        };
        let wait = ctx
            .timers
            .after(view.snapshot.config.server.timeouts.client_header);
        drop(view);
        // Boxed: the handshake's state is large and short-lived, and this future
        // lives as long as the connection.
        // The stream is boxed as it comes out: inline, the 1.3 KB `TlsStream` would
        // size this task for the connection's whole life.
        let accept = async move { TlsStream::accept(stream, config).await.map(Box::new) };
        let accepted = wait.run(Box::pin(accept)).await;
        let ok = matches!(accepted, Some(Ok(_)));
        ctx.metrics.borrow_mut().tls_handshake(ok);
        let Some(Ok(tls)) = accepted else {
            return;
        };
        let conn = ClientConn {
            stream: ClientStream::Tls(tls),
            buf: Vec::new(),
            peer,
        };
        Box::pin(requests(conn, open)).await;
    }
}

/// The request loop of a connection (see `serve`). A plain function returning an
/// `async move` block: an `async fn` keeps its parameters twice (as arguments and as
/// locals), 144 B more in every idle connection's task.
#[allow(clippy::manual_async_fn)] // deliberate: see above
fn requests(mut conn: ClientConn, open: Open) -> impl Future<Output = ()> {
    async move {
        let ctx = &open.0;
        // While the first request is awaited: when the connection was accepted. Its
        // head must be complete within `client_header` of that moment, however the
        // time is split between silence and slow bytes.
        let mut first = Some(ctx.timers.coarse_now());
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
                    let idle = ctx.timers.after(idle);
                    Box::pin(tunnel(conn.stream, up, client_buf, upbuf, idle)).await;
                    drop(slot);
                    return;
                }
            };
            conn.stream.idle();
            // Raced inline rather than through `Timeout::run`: this is the state
            // every idle connection sits in, and the generic helper's future is
            // larger (bench/PROFILE.md).
            let expiry = ctx.timers.after(left).expiry();
            let ready = monoio::select! {
                r = conn.stream.readable() => r.is_ok(),
                _ = expiry => false,
            };
            if !ready {
                break;
            }
            conn.buf = ctx.heads.borrow_mut().take();
        }
        if conn.buf.capacity() > 0 {
            ctx.heads.borrow_mut().put(std::mem::take(&mut conn.buf));
        }
        if conn.stream.tls().is_some() {
            // Boxed: the close_notify future is large (752 B) and inline it sized every
            // idle connection's task for it (1.1 KB instead of 0.5).
            Box::pin(conn.stream.close(ctx.timers.after(CLOSE_NOTIFY_WAIT))).await;
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
    up: UpstreamConn,
    /// Bytes the upstream already sent past its response head.
    upbuf: Vec<u8>,
    /// Idle timeout of the tunnel.
    idle: Duration,
    /// The server slot the tunnel holds.
    slot: TunnelSlot,
}

/// Serve requests back to back while they keep arriving within the hot window.
async fn active(conn: &mut ClientConn, ctx: &Ctx, first: &mut Option<Instant>) -> Phase {
    // One canceller for every hot read of this period: monoio allocates for a new
    // one and for its first associated read, not for later reads.
    let mut canceller = Canceller::new();
    // An IPv4 client on a dual-stack listener is `::ffff:a.b.c.d`: shown and
    // hashed as the IPv4 address it is.
    let mut scratch = Scratch::new(IpText::new(conn.peer.ip().to_canonical()));
    loop {
        ctx.poll_commands();
        if ctx.shutting_down.get() {
            return Phase::Close;
        }
        if conn.buf.is_empty() {
            let idle_limit = {
                let t = &ctx.view().snapshot.config.server.timeouts;
                match *first {
                    Some(accepted) => (accepted + t.client_header)
                        .saturating_duration_since(ctx.timers.coarse_now()),
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
    ctx: &Ctx,
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
    let expiry = ctx.timers.after(window).expiry();
    let (r, buf) = {
        let read = conn.stream.cancelable_read(buf, canceller.handle());
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
    debug_assert!(buf.capacity() >= cap);
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

/// Read, plan and serve one request; answer what sluice refuses itself. The head
/// must be complete by `header_deadline` when given (the first request: counted
/// from accept), else within `client_header` of its first byte (later requests,
/// whose wait for that byte is bounded by `client_idle`).
async fn handle_request(
    conn: &mut ClientConn,
    ctx: &Ctx,
    view: &WorkerView,
    scratch: &mut Scratch,
    header_deadline: Option<Instant>,
) -> Next {
    let t = &view.snapshot.config.server.timeouts;
    // The latency figure is a measurement, not a stamp: a precise clock.
    let started = Instant::now();
    let deadline = header_deadline.unwrap_or(ctx.timers.coarse_now() + t.client_header);
    let mut up_head = ctx.heads.borrow_mut().take();
    let read = read_request(conn, ctx, view, scratch, &mut up_head, deadline).await;
    let plan = match read {
        Read::Plan(plan) => plan,
        Read::Refused(refusal) => {
            ctx.heads.borrow_mut().put(up_head);
            let sample = Sample {
                status: refusal.answer.status,
                ..Sample::default()
            };
            report(conn, ctx, view, scratch, None, sample, started);
            return refuse(conn, ctx, view, refusal).await;
        }
        Read::Gone => {
            ctx.heads.borrow_mut().put(up_head);
            return Next::Close;
        }
    };
    let (next, sample) = Exchange::new(conn, ctx, view, &plan, up_head).run().await;
    report(conn, ctx, view, scratch, plan.route, sample, started);
    match next {
        Next::Answer(answer) => {
            // The request body may still be unread: only a bodiless request keeps the connection.
            let go_on = (plan.keep_alive && plan.body == BodyKind::None).then_some(0);
            refuse(
                conn,
                ctx,
                view,
                Refusal {
                    answer,
                    go_on_after: go_on,
                },
            )
            .await
        }
        other => other,
    }
}

/// Count a finished request in this worker's metrics and the access log.
fn report(
    conn: &ClientConn,
    ctx: &Ctx,
    view: &WorkerView,
    scratch: &Scratch,
    route: Option<usize>,
    mut sample: Sample,
    started: Instant,
) {
    if sample.status == 0 {
        return;
    }
    sample.route = route;
    sample.micros = started.elapsed().as_micros() as u64;
    ctx.metrics.borrow_mut().record(&sample);
    if let Some(log) = AccessLogger::get() {
        let client = conn.peer.ip().to_canonical();
        let config = &view.snapshot.config;
        log.log(Record::of(
            config,
            client,
            &scratch.method,
            &scratch.path,
            &sample,
            conn.stream.tls_info(),
        ));
    }
}

/// Write an answer of sluice's own. The connection goes on (`KeepAlive`) only when
/// the refusal allows it (its head consumed) and the write succeeded.
async fn refuse(conn: &mut ClientConn, ctx: &Ctx, view: &WorkerView, refusal: Refusal) -> Next {
    let close = refusal.go_on_after.is_none();
    let mut out = ctx.heads.borrow_mut().take();
    write_answer(&mut out, &refusal.answer, close);
    let wait = ctx
        .timers
        .after(view.snapshot.config.server.timeouts.client_idle);
    let (r, out) = conn.stream.write_whole(out, wait).await;
    ctx.heads.borrow_mut().put(out);
    match (r, refusal.go_on_after) {
        (Ok(()), Some(head_len)) => {
            consume(&mut conn.buf, head_len);
            Next::KeepAlive
        }
        _ => Next::Close,
    }
}

//! One request/response exchange with an upstream server: pick, lease or connect,
//! send head and body, read the response head (forwarding interim 1xx), relay the
//! response, and return the upstream connection to the pool when it is reusable.
//!
//! Retries, only for idempotent requests whose body is fully buffered (RFC 9110
//! §9.2.2: anything else is sent once, and a failure after it was written is a
//! 502): a reused pooled connection that fails before any response byte is retried
//! on a fresh connection (the origin closed it while idle); connect failures and
//! resets before any response byte are retried on another server up to the pool's
//! `retries`, never on a server this request already tried.

use std::rc::Rc;
use std::sync::Arc;

use monoio::net::TcpStream;

use crate::control::ServerStats;
use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::metrics::Sample;
use crate::upstream::connect::{ConnectError, connect};

use super::acquire::{Target, acquire};
use super::body::{ChunkedRelay, RelayError, RelayTimeouts, relay_chunked, relay_length};
use super::conn::ClientConn;
use super::ctx::{Ctx, WorkerView};
use super::io::{consume, write_all, write_range};
use super::plan::Plan;
use super::respond::respond;
use super::slot::TunnelSlot;

/// How the client connection goes on after an exchange.
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close the client connection.
    Close,
    /// Answer this error (nothing was sent to the client yet), then go on or close.
    Answer(Answer),
    /// 101 sent: tunnel bytes both ways with this upstream connection; the buffer
    /// holds upstream bytes already read past the response head; the slot keeps
    /// the tunnel counted against the server's `max_conns_per_server`.
    Upgrade(TcpStream, Vec<u8>, TunnelSlot),
}

/// What went wrong on one attempt, before anything reached the client.
pub(super) enum AttemptError {
    /// Can be retried: nothing of the response was seen. `stale` = it was a reused
    /// pooled connection.
    Retryable { stale: bool, answer: Answer },
    /// The server failed: answer the client with this.
    Fatal(Answer),
    /// The client's request is refused (e.g. its body is over `max_body`); the
    /// server is not at fault.
    Refused(Answer),
    /// The client is gone or the response was cut off after it started: close.
    Close,
}

/// Run the exchange for `plan`. `up_head` holds the rewritten request head.
pub async fn exchange(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    view: &WorkerView,
    plan: &Plan,
    up_head: Vec<u8>,
    report: &mut Sample,
) -> (Next, Vec<u8>) {
    let snap = &view.snapshot;
    consume(&mut conn.buf, plan.head_len);
    // A body fully in the buffer can be sent again, so the request can be retried.
    let replayable = match plan.body {
        BodyKind::None => true,
        BodyKind::Length(n) => conn.buf.len() as u64 >= n,
        BodyKind::Chunked | BodyKind::Close => false,
    };
    // A chunked body whose buffered start is already malformed or over `max_body`
    // is refused before anything is sent upstream, so none of it reaches a backend.
    if plan.body == BodyKind::Chunked {
        match ChunkedDecoder::with_limit(view.limits.max_body).feed(&conn.buf, |_| {}) {
            Ok(_) => {}
            Err(ChunkError::TooLarge) => {
                return (Next::Answer(Answer::new(413, "body_too_large")), up_head);
            }
            Err(_) => return (Next::Answer(Answer::new(400, "bad_chunked_body")), up_head),
        }
    }
    // RFC 9110 §9.2.2: only an idempotent request may be sent twice; anything
    // else that failed after it was written is answered, never replayed.
    let resendable = plan.idempotent && replayable;
    let mut target = Target::new(plan.pool);
    let mut retries_left = if resendable {
        snap.config.pools[plan.pool].retries
    } else {
        0
    };
    let mut stale_retries_left = 2u32;
    let mut up_head = up_head;
    let mut sent_continue = false;
    let mut last_failure: Option<Answer> = None;
    loop {
        let (idx, flight) = match acquire(ctx, view, &mut target, plan.hash, last_failure).await {
            Ok(slot) => slot,
            Err(answer) => return (Next::Answer(answer), up_head),
        };
        let pool_idx = target.pool;
        let server = &snap.servers[pool_idx][idx];
        report.pool = Some(pool_idx);
        report.server = Some(idx);
        let try_ = Try {
            plan,
            pool_idx,
            server,
            replayable,
        };
        let result = attempt(conn, ctx, view, &try_, &mut up_head, &mut sent_continue).await;
        match result {
            Ok((next, status, bytes)) => {
                flight.finished(ctx, status);
                report.status = status;
                report.bytes_out = bytes;
                let next = match next {
                    Done::Next(next) => next,
                    Done::Upgraded(up, upbuf) => {
                        let slot = flight
                            .into_tunnel(Arc::clone(server), Arc::clone(&snap.queues[pool_idx]));
                        Next::Upgrade(up, upbuf, slot)
                    }
                };
                return (next, up_head);
            }
            Err(AttemptError::Retryable { stale: true, .. })
                if stale_retries_left > 0 && resendable =>
            {
                stale_retries_left -= 1;
                // The origin closed idle connections (restart?): the others are suspect too.
                ctx.idle.borrow_mut().close_server(server.addr);
            }
            Err(AttemptError::Retryable { answer, .. }) => {
                flight.failed(ctx);
                ctx.metrics.borrow_mut().upstream_error(pool_idx, idx);
                if retries_left == 0 {
                    return (Next::Answer(answer), up_head);
                }
                retries_left -= 1;
                last_failure = Some(answer);
                target.tried.insert(idx);
            }
            Err(AttemptError::Fatal(answer)) => {
                flight.failed(ctx);
                ctx.metrics.borrow_mut().upstream_error(pool_idx, idx);
                return (Next::Answer(answer), up_head);
            }
            Err(AttemptError::Refused(answer)) => return (Next::Answer(answer), up_head),
            Err(AttemptError::Close) => return (Next::Close, up_head),
        }
    }
}

/// One try: the request, the server chosen for it, and whether its body can be sent
/// again from the buffer.
struct Try<'a> {
    plan: &'a Plan,
    pool_idx: usize,
    server: &'a ServerStats,
    replayable: bool,
}

/// How a successful try ended.
enum Done {
    /// The response was relayed; the client connection goes on like this.
    Next(Next),
    /// 101 was relayed: tunnel with this upstream connection (and the upstream
    /// bytes already read past the response head).
    Upgraded(TcpStream, Vec<u8>),
}

/// One try against one server.
async fn attempt(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    view: &WorkerView,
    try_: &Try<'_>,
    up_head: &mut Vec<u8>,
    sent_continue: &mut bool,
) -> Result<(Done, u16, u64), AttemptError> {
    let Try {
        plan,
        pool_idx,
        server,
        replayable,
    } = *try_;
    let config = &view.snapshot.config;
    let t = config.server.timeouts;
    let pool = &config.pools[pool_idx];
    let addr = server.addr;
    let leased = ctx
        .idle
        .borrow_mut()
        .lease(addr, ctx.timers.coarse_now(), t.upstream_idle);
    let reused = leased.is_some();
    let mut up = match leased {
        Some(s) => s,
        None => match connect(addr, t.upstream_connect).await {
            Ok(s) => s,
            Err(ConnectError::Failed(_)) => {
                return Err(AttemptError::Retryable {
                    stale: false,
                    answer: Answer::new(502, "upstream_connect_failed"),
                });
            }
            Err(ConnectError::TimedOut) => {
                return Err(AttemptError::Retryable {
                    stale: false,
                    answer: Answer::new(504, "upstream_connect_timeout"),
                });
            }
        },
    };
    let relay_up = RelayTimeouts {
        read: t.client_idle,
        write: t.upstream_response,
    };
    // Expect: 100-continue is answered by sluice once it has somewhere to send the
    // body (RFC 9110 §10.1.1); the upstream never sees the Expect header.
    if plan.expect_continue && plan.body != BodyKind::None && !*sent_continue {
        *sent_continue = true;
        let (r, _) = write_all(
            &mut conn.stream,
            b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
            t.client_idle,
        )
        .await;
        if r.is_err() {
            return Err(AttemptError::Close);
        }
    }
    // Request head, then body.
    let head = std::mem::take(up_head);
    let (r, h) = write_all(&mut up, head, t.upstream_response).await;
    *up_head = h;
    if r.is_err() {
        return Err(AttemptError::Retryable {
            stale: reused,
            answer: Answer::new(502, "upstream_send_failed"),
        });
    }
    match plan.body {
        BodyKind::None | BodyKind::Close => {}
        BodyKind::Length(n) if replayable => {
            let buf = std::mem::take(&mut conn.buf);
            let (r, b) = write_range(&mut up, buf, 0, n as usize, t.upstream_response).await;
            conn.buf = b;
            if r.is_err() {
                return Err(AttemptError::Retryable {
                    stale: reused,
                    answer: Answer::new(502, "upstream_send_failed"),
                });
            }
        }
        BodyKind::Length(n) => {
            let buf = std::mem::take(&mut conn.buf);
            let (r, b) =
                relay_length(&mut conn.stream, &mut up, buf, n, &ctx.pipes, relay_up).await;
            conn.buf = b;
            body_sent(r)?;
        }
        BodyKind::Chunked => {
            let buf = std::mem::take(&mut conn.buf);
            let framing = ChunkedRelay {
                dechunk: false,
                max_data: view.limits.max_body,
            };
            let (r, b) = relay_chunked(&mut conn.stream, &mut up, buf, framing, relay_up).await;
            conn.buf = b;
            body_sent(r)?;
        }
    }
    let upbuf = ctx.bufs.borrow_mut().take();
    let outcome = respond(conn, ctx, view, plan, &mut up, upbuf, reused).await?;
    if let (BodyKind::Length(n), true) = (plan.body, replayable) {
        consume(&mut conn.buf, n as usize);
    }
    if outcome.upgraded {
        return Ok((Done::Upgraded(up, outcome.upbuf), 101, 0));
    }
    if outcome.reusable && outcome.upbuf.is_empty() && server.is_up() {
        ctx.idle.borrow_mut().release(
            addr,
            up,
            ctx.timers.coarse_now(),
            pool.max_idle_per_server as usize,
        );
    }
    ctx.bufs.borrow_mut().put(outcome.upbuf);
    let next = if outcome.keep {
        Next::KeepAlive
    } else {
        Next::Close
    };
    Ok((Done::Next(next), outcome.status, outcome.bytes))
}

/// Map a request-body relay failure.
fn body_sent(r: Result<u64, RelayError>) -> Result<(), AttemptError> {
    match r {
        Ok(_) => Ok(()),
        Err(RelayError::BadChunked) => {
            Err(AttemptError::Refused(Answer::new(400, "bad_chunked_body")))
        }
        Err(RelayError::TooLarge) => Err(AttemptError::Refused(Answer::new(413, "body_too_large"))),
        Err(RelayError::Source(_)) => Err(AttemptError::Close),
        Err(RelayError::Dest(_)) => Err(AttemptError::Fatal(Answer::new(
            502,
            "upstream_send_failed",
        ))),
    }
}

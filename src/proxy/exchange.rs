//! One request/response exchange with an upstream server: pick, lease or connect,
//! send head and body, read the response head (forwarding interim 1xx), relay the
//! response, and return the upstream connection to the pool when it is reusable.
//!
//! Retries: a reused pooled connection that fails before any response byte is
//! retried on a fresh connection (the origin closed it while idle). Connect failures
//! and resets before any response byte are retried on another server up to the
//! pool's `retries`, for idempotent requests whose body is fully buffered.

use std::rc::Rc;
use std::time::Instant;

use monoio::net::TcpStream;

use crate::balance::Pick;
use crate::control::ServerStats;
use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::chunked::ChunkedDecoder;
use crate::metrics::Sample;
use crate::upstream::connect::{ConnectError, connect};

use super::body::{RelayError, RelayTimeouts, relay_chunked, relay_length};
use super::conn::ClientConn;
use super::ctx::{Ctx, WorkerView};
use super::io::{consume, write_all, write_range};
use super::plan::Plan;
use super::respond::respond;
use super::slot::InFlight;

/// How the client connection goes on after an exchange.
pub enum Next {
    /// Read the next request.
    KeepAlive,
    /// Close the client connection.
    Close,
    /// Answer this error (nothing was sent to the client yet), then go on or close.
    Answer(Answer),
    /// 101 sent: tunnel bytes both ways with this upstream connection; the buffer
    /// holds upstream bytes already read past the response head.
    Upgrade(TcpStream, Vec<u8>),
}

/// How far `fallback` pools are followed.
const MAX_FALLBACK_HOPS: u32 = 4;
/// Poll interval while queued for a free slot.
const QUEUE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// What went wrong on one attempt, before anything reached the client.
pub(super) enum AttemptError {
    /// Can be retried: nothing of the response was seen. `stale` = it was a reused
    /// pooled connection.
    Retryable { stale: bool, answer: Answer },
    /// Answer the client with this.
    Fatal(Answer),
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
    // A chunked body whose buffered start is already malformed is refused before
    // anything is sent upstream (RFC 9112 §7.1), so none of it reaches a backend.
    if plan.body == BodyKind::Chunked && ChunkedDecoder::new().feed(&conn.buf, |_| {}).is_err() {
        return (Next::Answer(Answer::new(400, "bad_chunked_body")), up_head);
    }
    let mut pool_idx = plan.pool;
    let mut retries_left = if plan.idempotent && replayable {
        snap.config.pools[pool_idx].retries
    } else {
        0
    };
    let mut stale_retries_left = 2u32;
    let mut exclude = 0u64;
    let mut hops = 0;
    let mut queued_until: Option<Instant> = None;
    let mut up_head = up_head;
    let mut sent_continue = false;
    let mut last_failure: Option<Answer> = None;
    loop {
        let pool = &snap.config.pools[pool_idx];
        let servers = &snap.servers[pool_idx];
        let picked = view.balancers.borrow_mut()[pool_idx].pick(
            servers,
            exclude,
            plan.hash,
            pool.max_conns_per_server,
        );
        let flight = match picked {
            Pick::Server(idx) => {
                match InFlight::try_start(&servers[idx], pool.max_conns_per_server, pool.passive) {
                    Some(f) => (idx, f),
                    // Another worker took the last slot first: go round again.
                    None => {
                        monoio::time::sleep(QUEUE_POLL).await;
                        continue;
                    }
                }
            }
            Pick::Full => {
                // Every usable server is at max_conns_per_server: wait for a slot.
                let until =
                    *queued_until.get_or_insert_with(|| Instant::now() + pool.queue_timeout);
                if Instant::now() >= until {
                    let answer = Answer {
                        status: 503,
                        error: "queue_timeout",
                        retry_after: Some(1),
                    };
                    return (Next::Answer(answer), up_head);
                }
                monoio::time::sleep(QUEUE_POLL).await;
                continue;
            }
            Pick::NoneUp => {
                if let Some(answer) = last_failure {
                    // A failed try with nobody left to retry on: report that failure.
                    return (Next::Answer(answer), up_head);
                }
                if let Some(fallback) = pool.fallback
                    && hops < MAX_FALLBACK_HOPS
                {
                    hops += 1;
                    pool_idx = fallback;
                    exclude = 0;
                    continue;
                }
                let answer = Answer {
                    status: 503,
                    error: "no_healthy_server",
                    retry_after: Some(1),
                };
                return (Next::Answer(answer), up_head);
            }
        };
        let (idx, flight) = flight;
        let server = &servers[idx];
        report.pool = Some(pool_idx);
        report.server = Some(idx);
        let result = attempt(
            conn,
            ctx,
            view,
            plan,
            pool_idx,
            server,
            &mut up_head,
            replayable,
            &mut sent_continue,
        )
        .await;
        match result {
            Ok((next, status, bytes)) => {
                flight.finished(ctx, status);
                report.status = status;
                report.bytes_out = bytes;
                return (next, up_head);
            }
            Err(AttemptError::Retryable { stale: true, .. })
                if stale_retries_left > 0 && replayable =>
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
                if idx < 64 {
                    exclude |= 1 << idx;
                }
            }
            Err(AttemptError::Fatal(answer)) => {
                flight.failed(ctx);
                ctx.metrics.borrow_mut().upstream_error(pool_idx, idx);
                return (Next::Answer(answer), up_head);
            }
            Err(AttemptError::Close) => return (Next::Close, up_head),
        }
    }
}

/// One try against one server.
#[allow(clippy::too_many_arguments)]
async fn attempt(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    view: &WorkerView,
    plan: &Plan,
    pool_idx: usize,
    server: &ServerStats,
    up_head: &mut Vec<u8>,
    replayable: bool,
    sent_continue: &mut bool,
) -> Result<(Next, u16, u64), AttemptError> {
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
            let (r, b) = relay_chunked(&mut conn.stream, &mut up, buf, false, relay_up).await;
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
        return Ok((Next::Upgrade(up, outcome.upbuf), 101, 0));
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
    Ok((next, outcome.status, outcome.bytes))
}

/// Map a request-body relay failure.
fn body_sent(r: Result<u64, RelayError>) -> Result<(), AttemptError> {
    match r {
        Ok(_) => Ok(()),
        Err(RelayError::BadChunked) => {
            Err(AttemptError::Fatal(Answer::new(400, "bad_chunked_body")))
        }
        Err(RelayError::Source(_)) => Err(AttemptError::Close),
        Err(RelayError::Dest(_)) => Err(AttemptError::Fatal(Answer::new(
            502,
            "upstream_send_failed",
        ))),
    }
}

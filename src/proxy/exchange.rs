//! One request/response exchange with an upstream server: pick, lease or connect,
//! send head and body, read the response head (forwarding interim 1xx), relay the
//! response, and return the upstream connection to the pool when it is reusable.
//!
//! Retries: a reused pooled connection that fails before any response byte is
//! retried on a fresh connection (the origin closed it while idle). Connect failures
//! and resets before any response byte are retried on another server up to the
//! pool's `retries`, for idempotent requests whose body is fully buffered.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use monoio::net::TcpStream;

use crate::balance::Pick;
use crate::config::Passive;
use crate::control::ServerStats;
use crate::control::stats::now_ms;
use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::chunked::ChunkedDecoder;
use crate::http::response::{MAX_RESPONSE_HEADERS, parse_response};
use crate::http::rewrite::{ClientDisposition, write_client_response};
use crate::metrics::Sample;
use crate::upstream::connect::{ConnectError, connect};

use super::body::{RelayError, RelayTimeouts, relay_chunked, relay_length, relay_until_eof};
use super::conn::ClientConn;
use super::ctx::{Ctx, WorkerView};
use super::io::{IoFail, consume, read_append, write_all, write_range};
use super::plan::Plan;

/// Largest upstream response head we buffer.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

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

/// A reserved slot on a server: counts the request in flight (all workers) for as
/// long as it lives, and reports the outcome to passive outlier detection.
struct InFlight<'a> {
    server: &'a ServerStats,
    passive: Option<Passive>,
}

impl<'a> InFlight<'a> {
    /// Reserve a slot unless the server already has `max` requests in flight
    /// (`max_conns_per_server`, process-wide, compare-and-swap: no lock).
    fn try_start(server: &'a ServerStats, max: u32, passive: Option<Passive>) -> Option<Self> {
        server
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        server.requests.fetch_add(1, Ordering::Relaxed);
        Some(InFlight { server, passive })
    }

    /// A transport-level failure at this server.
    fn failed(&self, ctx: &Ctx) {
        self.server.errors.fetch_add(1, Ordering::Relaxed);
        self.passive_failure(ctx);
    }

    /// Count toward passive ejection; eject when the run reaches the threshold.
    fn passive_failure(&self, ctx: &Ctx) {
        if let Some(p) = self.passive
            && self.server.record_failure(p.consecutive_failures)
        {
            self.server
                .eject_until(now_ms() + p.eject_for.as_millis() as u64);
            ctx.idle.borrow_mut().close_server(self.server.addr);
            eprintln!(
                "sluice: passive: {} ejected for {:?}",
                self.server.addr, p.eject_for
            );
        }
    }

    /// A response was relayed: `status` counts as a failure when `count_5xx` asks.
    fn finished(&self, ctx: &Ctx, status: u16) {
        match self.passive {
            Some(p) if p.count_5xx && status >= 500 => self.passive_failure(ctx),
            Some(_) => self.server.record_success(),
            None => {}
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.server.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How far `fallback` pools are followed.
const MAX_FALLBACK_HOPS: u32 = 4;
/// Poll interval while queued for a free slot.
const QUEUE_POLL: std::time::Duration = std::time::Duration::from_millis(1);

/// What went wrong on one attempt, before anything reached the client.
enum AttemptError {
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
        .lease(addr, Instant::now(), t.upstream_idle);
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
        ctx.idle
            .borrow_mut()
            .release(addr, up, Instant::now(), pool.max_idle_per_server as usize);
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
fn body_sent(r: Result<(), RelayError>) -> Result<(), AttemptError> {
    match r {
        Ok(()) => Ok(()),
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

/// How a response went, for the caller to decide about both connections.
struct Outcome {
    /// The client connection may carry another request.
    keep: bool,
    /// The upstream connection may carry another request (if `upbuf` is empty).
    reusable: bool,
    /// 101 was sent: tunnel from now on.
    upgraded: bool,
    /// Upstream bytes read past the response.
    upbuf: Vec<u8>,
    /// Final status.
    status: u16,
    /// Response body bytes when the length was known.
    bytes: u64,
}

/// Read the response head (forwarding interim answers), send it, relay the body.
async fn respond(
    conn: &mut ClientConn,
    ctx: &Rc<Ctx>,
    view: &WorkerView,
    plan: &Plan,
    up: &mut TcpStream,
    mut upbuf: Vec<u8>,
    reused: bool,
) -> Result<Outcome, AttemptError> {
    let t = view.snapshot.config.server.timeouts;
    let mut out = ctx.bufs.borrow_mut().take();
    let mut seen_bytes = false;
    let mut need_read = true;
    let client_keep = plan.keep_alive && !ctx.shutting_down.get();
    loop {
        let r = if need_read {
            let (r, b) = read_append(up, upbuf, t.upstream_response).await;
            upbuf = b;
            r
        } else {
            Ok(upbuf.len())
        };
        need_read = true;
        match r {
            Ok(_) => seen_bytes = true,
            Err(IoFail::Timeout) => {
                return Err(AttemptError::Fatal(Answer::new(504, "upstream_timeout")));
            }
            Err(IoFail::Eof | IoFail::Io(_)) if !seen_bytes => {
                return Err(AttemptError::Retryable {
                    stale: reused,
                    answer: Answer::new(502, "upstream_reset"),
                });
            }
            Err(_) => {
                return Err(AttemptError::Fatal(Answer::new(
                    502,
                    "upstream_bad_response",
                )));
            }
        }
        // Parse in a block so the header array is not held across an await.
        let parsed = {
            let mut headers = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            match parse_response(&upbuf, &mut headers, plan.is_head, MAX_RESPONSE_HEAD) {
                Ok(None) => None,
                Err(_) => {
                    return Err(AttemptError::Fatal(Answer::new(
                        502,
                        "upstream_bad_response",
                    )));
                }
                Ok(Some(resp)) => {
                    let interim = resp.is_interim();
                    let upgrade = resp.status == 101;
                    if upgrade && !plan.upgrade {
                        return Err(AttemptError::Fatal(Answer::new(
                            502,
                            "upstream_bad_response",
                        )));
                    }
                    let dechunk = resp.body == BodyKind::Chunked && plan.minor_version == 0;
                    let keep = client_keep && resp.body != BodyKind::Close && !dechunk;
                    let disposition = match (upgrade, keep, plan.minor_version) {
                        (true, _, _) => ClientDisposition::Upgrade,
                        (false, true, 0) => ClientDisposition::KeepAlive10,
                        (false, true, _) => ClientDisposition::KeepAlive,
                        (false, false, _) => ClientDisposition::Close,
                    };
                    if interim {
                        write_client_response(&mut out, &resp, ClientDisposition::KeepAlive, false);
                    } else {
                        write_client_response(&mut out, &resp, disposition, dechunk);
                    }
                    Some((
                        resp.head_len,
                        resp.status,
                        resp.body,
                        resp.reusable,
                        interim,
                        upgrade,
                        keep,
                        dechunk,
                    ))
                }
            }
        };
        let Some((head_len, status, body, reusable, interim, upgrade, keep, dechunk)) = parsed
        else {
            continue;
        };
        consume(&mut upbuf, head_len);
        if interim {
            // 100 Continue was already answered by sluice; other 1xx go to HTTP/1.1 clients.
            if status != 100 && plan.minor_version == 1 {
                let (r, o) = write_all(&mut conn.stream, out, t.client_idle).await;
                out = o;
                if r.is_err() {
                    return Err(AttemptError::Close);
                }
            }
            // Bytes already buffered are parsed before reading again.
            need_read = upbuf.is_empty();
            continue;
        }
        if upgrade {
            let (r, o) = write_all(&mut conn.stream, out, t.client_idle).await;
            ctx.bufs.borrow_mut().put(o);
            if r.is_err() {
                return Err(AttemptError::Close);
            }
            return Ok(Outcome {
                keep: false,
                reusable: false,
                upgraded: true,
                upbuf,
                status,
                bytes: 0,
            });
        }
        let relay_down = RelayTimeouts {
            read: t.upstream_response,
            write: t.client_idle,
        };
        // Small bodies already read go out with the head in one write.
        let (r, body_result) = match body {
            BodyKind::Length(n) if (upbuf.len() as u64) >= n => {
                out.extend_from_slice(&upbuf[..n as usize]);
                consume(&mut upbuf, n as usize);
                let (r, o) = write_all(&mut conn.stream, out, t.client_idle).await;
                out = o;
                (r, Ok(()))
            }
            _ => {
                let (r, o) = write_all(&mut conn.stream, out, t.client_idle).await;
                out = o;
                if r.is_err() {
                    (r, Ok(()))
                } else {
                    let (br, b) = match body {
                        BodyKind::None => (Ok(()), upbuf),
                        BodyKind::Length(n) => {
                            relay_length(up, &mut conn.stream, upbuf, n, &ctx.pipes, relay_down)
                                .await
                        }
                        BodyKind::Chunked => {
                            relay_chunked(up, &mut conn.stream, upbuf, dechunk, relay_down).await
                        }
                        BodyKind::Close => {
                            relay_until_eof(up, &mut conn.stream, upbuf, relay_down).await
                        }
                    };
                    upbuf = b;
                    (Ok(()), br)
                }
            }
        };
        ctx.bufs.borrow_mut().put(out);
        if r.is_err() {
            return Err(AttemptError::Close);
        }
        return match body_result {
            Ok(()) => Ok(Outcome {
                keep,
                reusable,
                upgraded: false,
                upbuf,
                status,
                bytes: if let BodyKind::Length(n) = body { n } else { 0 },
            }),
            // The response already started: the only honest signal left is a close.
            Err(_) => Err(AttemptError::Close),
        };
    }
}

//! One request's exchange with an upstream server, once its head was read and
//! planned (`proxy::request`). `Exchange` is request-scoped: it owns the request's
//! pooled buffers and gives them back when dropped, whatever way the exchange ends.
//! Its steps are short functions returning values:
//! acquire a slot (`proxy::acquire`: pick, queue, fallback) → send the request
//! (`send`: lease or connect, head, body) → read the response head (`response`,
//! forwarding interim answers) → relay the response body and give the upstream
//! connection back to the idle pool when it can carry another request.
//!
//! Failures are `ProxyError` values; `run` asks them whether to try again
//! (`ProxyError::retry`: only idempotent requests whose body is fully buffered are
//! ever sent twice) and counts those at the server's door.

mod response;
mod send;

use std::sync::Arc;

use crate::control::ServerStats;
use crate::core::ctx::{Ctx, WorkerView};
use crate::core::io::consume;
use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::chunked::{ChunkError, ChunkedDecoder};
use crate::metrics::Sample;
use crate::upstream::connect::UpstreamConn;

use super::acquire::{Target, acquire};
use super::client::ClientConn;
use super::error::{Kind, ProxyError, Retry};
use super::plan::Plan;
use super::slot::{InFlight, TunnelSlot};

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
    Upgrade(UpstreamConn, Vec<u8>, TunnelSlot),
}

/// How a successful try ended (its status and bytes are in the report).
enum Done {
    /// The response was relayed; the client connection may carry another request
    /// when `keep`.
    Relayed { keep: bool },
    /// 101 was relayed: tunnel with this upstream connection (and the upstream
    /// bytes already read past the response head).
    Upgraded(UpstreamConn, Vec<u8>),
}

/// How often a request whose pooled connection turned out closed is tried again
/// on a fresh connection to the same server (not counted as retries).
const FRESH_CONNECTION_TRIES: u32 = 2;

/// One request in flight, from its planned head to its relayed answer.
pub(super) struct Exchange<'a> {
    conn: &'a mut ClientConn,
    ctx: &'a Ctx,
    view: &'a WorkerView,
    plan: &'a Plan,
    /// The rewritten request head (sent again on a retry).
    up_head: Vec<u8>,
    /// Upstream bytes read and not yet relayed.
    upbuf: Vec<u8>,
    /// The response head for the client (with the start of a small body).
    out: Vec<u8>,
    /// The request body is wholly in `conn.buf`, so it can be sent again.
    replayable: bool,
    /// `100 Continue` was already sent to the client.
    sent_continue: bool,
    /// Figures for metrics and the access log.
    report: Sample,
}

impl Drop for Exchange<'_> {
    fn drop(&mut self) {
        self.ctx
            .heads
            .borrow_mut()
            .put(std::mem::take(&mut self.up_head));
        let mut bufs = self.ctx.bufs.borrow_mut();
        bufs.put(std::mem::take(&mut self.upbuf));
        bufs.put(std::mem::take(&mut self.out));
    }
}

impl<'a> Exchange<'a> {
    /// Start the exchange of `plan`, whose rewritten head is `up_head`; the client
    /// buffer still starts with the request head.
    pub fn new(
        conn: &'a mut ClientConn,
        ctx: &'a Ctx,
        view: &'a WorkerView,
        plan: &'a Plan,
        up_head: Vec<u8>,
    ) -> Self {
        consume(&mut conn.buf, plan.head_len);
        let replayable = match plan.body {
            BodyKind::None => true,
            BodyKind::Length(n) => conn.buf.len() as u64 >= n,
            BodyKind::Chunked | BodyKind::Close => false,
        };
        let report = Sample {
            route: plan.route,
            bytes_in: match plan.body {
                BodyKind::Length(n) => n,
                _ => 0,
            },
            ..Sample::default()
        };
        Exchange {
            conn,
            ctx,
            view,
            plan,
            up_head,
            upbuf: Vec::new(),
            out: Vec::new(),
            replayable,
            sent_continue: false,
            report,
        }
    }

    /// Run to the end: how the client connection goes on, and the figures.
    pub async fn run(mut self) -> (Next, Sample) {
        let next = match self.tries().await {
            Ok(done) => done,
            Err(e) => {
                if let Some(answer) = e.answer() {
                    self.report.status = answer.status;
                    Next::Answer(answer)
                } else {
                    Next::Close
                }
            }
        };
        (next, self.report)
    }

    /// Try servers until one answers or nothing may be tried again.
    async fn tries(&mut self) -> Result<Next, ProxyError> {
        self.check_buffered_chunked()?;
        let snap = &self.view.snapshot;
        let resendable = self.plan.idempotent && self.replayable;
        let mut target = Target::new(self.plan.pool);
        let mut retries_left = if resendable {
            snap.config.pools[self.plan.pool].retries
        } else {
            0
        };
        let mut fresh_left = FRESH_CONNECTION_TRIES;
        let mut last_failure = None;
        loop {
            let (idx, flight) = acquire(
                self.ctx,
                self.view,
                &mut target,
                self.plan.hash,
                last_failure,
            )
            .await?;
            let pool = target.pool;
            let server = &snap.servers[pool][idx];
            self.report.pool = Some(pool);
            self.report.server = Some(idx);
            let e = match self.attempt(pool, server).await {
                Ok(done) => return Ok(self.finished(done, flight, pool, idx)),
                Err(e) => e,
            };
            match e.retry(resendable) {
                Retry::FreshConnection if fresh_left > 0 => {
                    fresh_left -= 1;
                    // The origin closed idle connections (restart?): the others are suspect too.
                    self.ctx.idle.borrow_mut().close_server(server.addr);
                    continue;
                }
                retry => {
                    self.failed_at(&e, &flight, pool, idx);
                    if retry == Retry::No || retries_left == 0 {
                        return Err(e);
                    }
                }
            }
            retries_left -= 1;
            last_failure = Some(e);
            target.tried.insert(idx);
        }
    }

    /// A chunked body whose buffered start is already malformed or over `max_body`
    /// is refused before anything is sent upstream, so none of it reaches a backend.
    fn check_buffered_chunked(&self) -> Result<(), ProxyError> {
        if self.plan.body != BodyKind::Chunked {
            return Ok(());
        }
        match ChunkedDecoder::with_limit(self.view.limits.max_body).feed(&self.conn.buf, |_| {}) {
            Ok(_) => Ok(()),
            Err(ChunkError::TooLarge) => Err(Kind::BodyTooLarge.into()),
            Err(_) => Err(Kind::BadChunkedBody.into()),
        }
    }

    /// One try against one server.
    async fn attempt(
        &mut self,
        pool: usize,
        server: &Arc<ServerStats>,
    ) -> Result<Done, ProxyError> {
        let (mut up, reused) = self.upstream(server).await?;
        self.send_request(&mut up, reused).await?;
        let head = self.response_head(&mut up.stream, reused).await?;
        let relayed = self.relay_response(&mut up.stream, &head).await?;
        if let (BodyKind::Length(n), true) = (self.plan.body, self.replayable) {
            consume(&mut self.conn.buf, n as usize);
        }
        let Some(keep) = relayed else {
            return Ok(Done::Upgraded(up, std::mem::take(&mut self.upbuf)));
        };
        if head.reusable && self.upbuf.is_empty() && server.is_up() {
            let max_idle = self.view.snapshot.config.pools[pool].max_idle_per_server;
            let now = self.ctx.timers.coarse_now();
            let mut idle = self.ctx.idle.borrow_mut();
            idle.release(up, now, max_idle as usize);
        }
        Ok(Done::Relayed { keep })
    }

    /// A try succeeded: report it, and turn an upgrade into a tunnel holding the slot.
    fn finished(&mut self, done: Done, flight: InFlight<'_>, pool: usize, idx: usize) -> Next {
        flight.finished(self.ctx, self.report.status);
        match done {
            Done::Relayed { keep: true } => Next::KeepAlive,
            Done::Relayed { keep: false } => Next::Close,
            Done::Upgraded(up, upbuf) => {
                let snap = &self.view.snapshot;
                let slot = flight.into_tunnel(
                    Arc::clone(&snap.servers[pool][idx]),
                    Arc::clone(&snap.queues[pool]),
                );
                Next::Upgrade(up, upbuf, slot)
            }
        }
    }

    /// Count a failed try against the server when it was the server's fault.
    fn failed_at(&mut self, e: &ProxyError, flight: &InFlight<'_>, pool: usize, idx: usize) {
        if let Some(kind) = e.upstream_failure() {
            flight.failed(self.ctx);
            self.ctx
                .metrics
                .borrow_mut()
                .upstream_error(pool, idx, kind);
        }
    }
}

//! Sending the request: an upstream connection (an idle pooled one, or a new one
//! within `upstream_connect`), `100 Continue` to the client when it asked, then the
//! rewritten head and the body.

use std::sync::Arc;

use crate::control::ServerStats;
use crate::core::io::{ByteStream, write_all, write_range};
use crate::http::BodyKind;
use crate::upstream::connect::{UpstreamConn, connect};

use super::super::body::{ChunkedRelay, RelayError, RelayTimeouts, relay_chunked, relay_length};
use super::super::error::{Kind, ProxyError};
use super::Exchange;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl Exchange<'_> {
    /// An upstream connection to `server`, and whether it came from the idle pool.
    // HOT PATH: a pooled connection is handed out without a syscall when recent.
    pub(super) async fn upstream(
        &mut self,
        server: &Arc<ServerStats>,
    ) -> Result<(UpstreamConn, bool), ProxyError> {
        let t = &self.view.snapshot.config.server.timeouts;
        let now = self.ctx.timers.coarse_now();
        let leased = self
            .ctx
            .idle
            .borrow_mut()
            .lease(server.addr, now, t.upstream_idle);
        if let Some(up) = leased {
            return Ok((up, true));
        }
        let wait = self.ctx.timers.after(t.upstream_connect);
        match wait.run(connect(server)).await {
            Some(Ok(up)) => Ok((up, false)),
            Some(Err(_)) => Err(Kind::ConnectFailed.into()),
            None => Err(Kind::ConnectTimeout.into()),
        }
    }

    /// Send the head and the body. Expect: 100-continue is answered by sluice once
    /// it has somewhere to send the body (RFC 9110 §10.1.1); the upstream never sees
    /// the Expect header.
    pub(super) async fn send_request(
        &mut self,
        up: &mut UpstreamConn,
        reused: bool,
    ) -> Result<(), ProxyError> {
        let t = &self.view.snapshot.config.server.timeouts;
        if self.plan.expect_continue && self.plan.body != BodyKind::None && !self.sent_continue {
            self.sent_continue = true;
            let mut msg = self.ctx.heads.borrow_mut().take();
            msg.extend_from_slice(CONTINUE);
            let to_client = self.ctx.timers.after(t.client_idle);
            let (r, msg) = self.conn.stream.write_whole(msg, to_client).await;
            self.ctx.heads.borrow_mut().put(msg);
            r.map_err(|_| ProxyError::from(Kind::ClientGone))?;
        }
        let to_origin = self.ctx.timers.after(t.upstream_response);
        let head = std::mem::take(&mut self.up_head);
        let (r, head) = write_all(&mut up.stream, head, to_origin).await;
        self.up_head = head;
        r.map_err(|_| ProxyError::writing_origin(reused))?;
        self.send_body(&mut up.stream, reused).await
    }

    /// The request body: from the buffer when it is all there (and kept for a
    /// retry), else relayed from the client as it comes.
    async fn send_body(
        &mut self,
        up: &mut monoio::net::TcpStream,
        reused: bool,
    ) -> Result<(), ProxyError> {
        let timers = &self.ctx.timers;
        let t = &self.view.snapshot.config.server.timeouts;
        let relay_up = RelayTimeouts {
            read: timers.after(t.client_idle),
            write: timers.after(t.upstream_response),
        };
        let buf = std::mem::take(&mut self.conn.buf);
        let (r, buf) = match self.plan.body {
            BodyKind::None | BodyKind::Close => (Ok(0), buf),
            BodyKind::Length(n) if self.replayable => {
                let (r, b) = write_range(up, buf, 0, n as usize, relay_up.write).await;
                (r.map(|()| n).map_err(RelayError::Dest), b)
            }
            BodyKind::Length(n) => {
                let pipes = &self.ctx.pipes;
                relay_length(&mut self.conn.stream, up, buf, n, pipes, relay_up).await
            }
            BodyKind::Chunked => {
                let how = ChunkedRelay {
                    dechunk: false,
                    max_data: self.view.limits.max_body,
                };
                relay_chunked(&mut self.conn.stream, up, buf, how, relay_up).await
            }
        };
        self.conn.buf = buf;
        r.map(|_| ()).map_err(|e| request_body_failed(e, reused))
    }
}

/// A request-body relay failure: the client's side (its body, or it went away) or
/// the server's (it stopped taking the body).
fn request_body_failed(e: RelayError, reused: bool) -> ProxyError {
    match e {
        RelayError::BadChunked => Kind::BadChunkedBody.into(),
        RelayError::TooLarge => Kind::BodyTooLarge.into(),
        RelayError::Source(_) => Kind::ClientGone.into(),
        RelayError::Dest(_) => ProxyError::writing_origin(reused),
        RelayError::NoPipe => Kind::Resources.into(),
    }
}

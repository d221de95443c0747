//! The response half of a try: read the upstream head (forwarding interim 1xx
//! answers to HTTP/1.1 clients), then send the rewritten head and relay the body.

use monoio::net::TcpStream;

use crate::core::io::{ByteStream, consume, read_append};
use crate::http::BodyKind;
use crate::http::header_slots;
use crate::http::response::{MAX_RESPONSE_HEADERS, ResponseHead, parse_response};
use crate::http::rewrite::{ClientDisposition, write_client_response};

use super::super::body::{
    ChunkedRelay, RelayError, RelayTimeouts, relay_chunked, relay_length, relay_until_eof,
};
use super::super::error::{Kind, ProxyError};
use super::super::plan::Plan;
use super::Exchange;

/// Largest upstream response head we buffer.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// What the final response head said, once parsed and rewritten into `out`.
pub(super) struct Head {
    /// Status code.
    pub status: u16,
    /// Body framing.
    pub body: BodyKind,
    /// The upstream connection can carry another request after this response.
    pub reusable: bool,
    /// 101: the connection becomes a tunnel.
    pub upgrade: bool,
    /// The client connection can carry another request.
    pub keep: bool,
    /// A chunked body de-chunked for an HTTP/1.0 client.
    pub dechunk: bool,
    /// The whole (`Content-Length`) body was read with the head and is in `out`.
    pub body_in_out: bool,
}

/// One parsed head: final, or interim (1xx other than 101).
enum Parsed {
    Final(Head),
    Interim { status: u16 },
}

impl Exchange<'_> {
    /// Read until the final response head, forwarding interim ones. The final head
    /// is left rewritten in `out` and consumed from `upbuf`.
    pub(super) async fn response_head(
        &mut self,
        up: &mut TcpStream,
        reused: bool,
    ) -> Result<Head, ProxyError> {
        let t = &self.view.snapshot.config.server.timeouts;
        let wait = self.ctx.timers.after(t.upstream_response);
        // A fresh start on every try: a failed one may have left bytes behind, or
        // lost its buffer to a cancelled read. `out` is taken only once a head has
        // arrived (`parse_head`): taken now, it would wait out the origin's answer and
        // be cold by then, where the pool's most recently returned buffer is hot.
        if self.upbuf.capacity() == 0 {
            self.upbuf = self.ctx.bufs.borrow_mut().take();
        }
        self.upbuf.clear();
        self.out.clear();
        let mut seen_bytes = false;
        loop {
            match self.parse_head()? {
                Some(Parsed::Final(head)) => return Ok(head),
                Some(Parsed::Interim { status }) => {
                    self.forward_interim(status).await?;
                    continue;
                }
                None => {}
            }
            let (r, b) = read_append(up, std::mem::take(&mut self.upbuf), wait).await;
            self.upbuf = b;
            if let Err(e) = r {
                // A close or reset before any byte may be a stale pooled connection;
                // after some bytes the answer is just broken.
                let e = ProxyError::reading_origin(&e, reused);
                return Err(match (seen_bytes, e.kind) {
                    (true, Kind::Reset) => Kind::BadResponse.into(),
                    _ => e,
                });
            }
            seen_bytes = true;
        }
    }

    /// Parse what `upbuf` holds: `None` when the head is not complete yet. The
    /// header array lives only in this (synchronous) call.
    // HOT PATH: no alloc, no lock, no blocking call.
    fn parse_head(&mut self) -> Result<Option<Parsed>, ProxyError> {
        let mut headers = header_slots::<MAX_RESPONSE_HEADERS>();
        let resp = match parse_response(
            &self.upbuf,
            &mut headers,
            self.plan.is_head,
            MAX_RESPONSE_HEAD,
        ) {
            Ok(Some(resp)) => resp,
            Ok(None) => return Ok(None),
            Err(_) => return Err(Kind::BadResponse.into()),
        };
        let mut used = resp.head_len;
        if self.out.capacity() == 0 {
            self.out = self.ctx.bufs.borrow_mut().take();
        }
        let parsed = if resp.is_interim() {
            write_client_response(&mut self.out, &resp, ClientDisposition::KeepAlive, false);
            Parsed::Interim {
                status: resp.status,
            }
        } else {
            let client_keep = self.plan.keep_alive && !self.ctx.shutting_down.get();
            let mut head = rewrite_final(self.plan, client_keep, &resp, &mut self.out)?;
            // A small body already read goes out with the head in one write, copied
            // once from where it was read (not first moved to the buffer's start).
            if let BodyKind::Length(n) = head.body
                && let Some(body) = usize::try_from(n)
                    .ok()
                    .and_then(|n| self.upbuf.get(used..)?.get(..n))
            {
                self.out.extend_from_slice(body);
                used += body.len();
                head.body_in_out = true;
            }
            Parsed::Final(head)
        };
        consume(&mut self.upbuf, used);
        Ok(Some(parsed))
    }

    /// Send an interim answer on: 100 Continue was already answered by sluice;
    /// other 1xx (103 Early Hints, ...) go to HTTP/1.1 clients.
    async fn forward_interim(&mut self, status: u16) -> Result<(), ProxyError> {
        if status == 100 || self.plan.minor_version != 1 {
            return Ok(());
        }
        self.send_out().await
    }

    /// Write `out` (a head, maybe with a small body) to the client.
    async fn send_out(&mut self) -> Result<(), ProxyError> {
        let t = &self.view.snapshot.config.server.timeouts;
        let to_client = self.ctx.timers.after(t.client_idle);
        let out = std::mem::take(&mut self.out);
        let (r, out) = self.conn.stream.write_whole(out, to_client).await;
        self.out = out;
        r.map_err(|_| ProxyError::from(Kind::ClientGone))
    }

    /// Send the final head (with a body already read, in one write) and relay the
    /// rest of the body. `Some(keep)`: relayed, the client connection goes on when
    /// `keep`; `None`: 101 was sent, the upstream connection becomes a tunnel.
    pub(super) async fn relay_response(
        &mut self,
        up: &mut TcpStream,
        head: &Head,
    ) -> Result<Option<bool>, ProxyError> {
        self.send_out()
            .await
            .map_err(ProxyError::after_response_began)?;
        self.report.status = head.status;
        if head.upgrade {
            return Ok(None);
        }
        self.report.bytes_out = match head.body {
            BodyKind::Length(n) if head.body_in_out => n,
            _ => self.relay_body(up, head).await?,
        };
        Ok(Some(head.keep))
    }

    /// Relay the response body after its head went out.
    async fn relay_body(&mut self, up: &mut TcpStream, head: &Head) -> Result<u64, ProxyError> {
        let t = &self.view.snapshot.config.server.timeouts;
        let timers = &self.ctx.timers;
        let relay_down = RelayTimeouts {
            read: timers.after(t.upstream_response),
            write: timers.after(t.client_idle),
        };
        let client = &mut self.conn.stream;
        let buf = std::mem::take(&mut self.upbuf);
        let (r, buf) = match head.body {
            BodyKind::None => (Ok(0), buf),
            BodyKind::Length(n) => {
                relay_length(up, client, buf, n, &self.ctx.pipes, relay_down).await
            }
            BodyKind::Chunked => {
                let how = ChunkedRelay {
                    dechunk: head.dechunk,
                    max_data: 0,
                };
                relay_chunked(up, client, buf, how, relay_down).await
            }
            BodyKind::Close => relay_until_eof(up, client, buf, relay_down).await,
        };
        self.upbuf = buf;
        r.map_err(|e| response_body_failed(e).after_response_began())
    }
}

/// Decide both connections' fate from the final head and rewrite it into `out`.
/// `client_keep`: the client asked for keep-alive and sluice is not shutting down.
fn rewrite_final(
    plan: &Plan,
    client_keep: bool,
    resp: &ResponseHead<'_, '_>,
    out: &mut Vec<u8>,
) -> Result<Head, ProxyError> {
    let upgrade = resp.status == 101;
    if upgrade && !plan.upgrade {
        return Err(Kind::BadResponse.into());
    }
    let dechunk = resp.body == BodyKind::Chunked && plan.minor_version == 0;
    let keep = client_keep && resp.body != BodyKind::Close && !dechunk;
    let disposition = match (upgrade, keep, plan.minor_version) {
        (true, _, _) => ClientDisposition::Upgrade,
        (false, true, 0) => ClientDisposition::KeepAlive10,
        (false, true, _) => ClientDisposition::KeepAlive,
        (false, false, _) => ClientDisposition::Close,
    };
    write_client_response(out, resp, disposition, dechunk);
    Ok(Head {
        status: resp.status,
        body: resp.body,
        reusable: resp.reusable,
        upgrade,
        keep,
        dechunk,
        body_in_out: false,
    })
}

/// A response-body relay failure: the server's side (it stopped, reset or broke
/// the framing) or the client's (it went away).
fn response_body_failed(e: RelayError) -> ProxyError {
    match e {
        RelayError::Source(e) => ProxyError::reading_origin(&e, false),
        RelayError::BadChunked | RelayError::TooLarge => Kind::BadResponse.into(),
        RelayError::Dest(_) => Kind::ClientGone.into(),
        RelayError::NoPipe => Kind::Resources.into(),
    }
}

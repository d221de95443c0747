//! The response half of an exchange: read the upstream head (forwarding interim
//! 1xx answers), send the rewritten head to the client, relay the body.

use std::rc::Rc;

use monoio::net::TcpStream;

use crate::http::BodyKind;
use crate::http::answers::Answer;
use crate::http::header_slots;
use crate::http::response::{MAX_RESPONSE_HEADERS, parse_response};
use crate::http::rewrite::{ClientDisposition, write_client_response};

use super::body::{ChunkedRelay, RelayTimeouts, relay_chunked, relay_length, relay_until_eof};
use super::conn::ClientConn;
use super::ctx::{Ctx, WorkerView};
use super::exchange::AttemptError;
use super::io::{IoFail, consume, read_append, write_all};
use super::plan::Plan;

/// Largest upstream response head we buffer.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// How a response went, for the caller to decide about both connections.
pub(super) struct Outcome {
    /// The client connection may carry another request.
    pub keep: bool,
    /// The upstream connection may carry another request (if `upbuf` is empty).
    pub reusable: bool,
    /// 101 was sent: tunnel from now on.
    pub upgraded: bool,
    /// Upstream bytes read past the response.
    pub upbuf: Vec<u8>,
    /// Final status.
    pub status: u16,
    /// Response body bytes sent to the client (as relayed: chunked framing counts).
    pub bytes: u64,
}

/// Read the response head (forwarding interim answers), send it, relay the body.
pub(super) async fn respond(
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
            let mut headers = header_slots::<MAX_RESPONSE_HEADERS>();
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
                (r, Ok(n))
            }
            _ => {
                let (r, o) = write_all(&mut conn.stream, out, t.client_idle).await;
                out = o;
                if r.is_err() {
                    (r, Ok(0))
                } else {
                    let (br, b) = match body {
                        BodyKind::None => (Ok(0), upbuf),
                        BodyKind::Length(n) => {
                            relay_length(up, &mut conn.stream, upbuf, n, &ctx.pipes, relay_down)
                                .await
                        }
                        BodyKind::Chunked => {
                            let how = ChunkedRelay {
                                dechunk,
                                max_data: 0,
                            };
                            relay_chunked(up, &mut conn.stream, upbuf, how, relay_down).await
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
            Ok(bytes) => Ok(Outcome {
                keep,
                reusable,
                upgraded: false,
                upbuf,
                status,
                bytes,
            }),
            // The response already started: the only honest signal left is a close.
            Err(_) => Err(AttemptError::Close),
        };
    }
}

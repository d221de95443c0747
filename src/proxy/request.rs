//! Reading one request head and planning it: parse what the client buffer holds,
//! read more until the head is complete (by the head deadline), then normalise,
//! route and rewrite it (`plan::prepare`) — or refuse it with the answer to send.

use std::time::{Duration, Instant};

use crate::core::ctx::{Ctx, WorkerView};
use crate::core::io::{ByteStream, IoFail};
use crate::http::answers::Answer;
use crate::http::header_slots;
use crate::http::ip_text::IpText;
use crate::http::request::{MAX_HEADERS, parse_request};

use super::client::ClientConn;
use super::plan::{Plan, Refusal, prepare};

/// State of a connection's active period only (dropped while it idles), reset per
/// request where it describes the request.
pub(super) struct Scratch {
    /// The peer address as text, for X-Forwarded-For and `client_ip` hashing.
    pub ip: IpText,
    /// The normalised path of the current request (empty until it is known).
    pub path: Vec<u8>,
    /// The current request's method (cut at 15 bytes; empty until it is known).
    pub method: [u8; 16],
}

impl Scratch {
    /// Scratch for a client at `ip`.
    pub fn new(ip: IpText) -> Self {
        Scratch {
            ip,
            path: Vec::new(),
            method: [0; 16],
        }
    }

    /// Forget the previous request (its path and method must not be logged for
    /// this one).
    fn reset(&mut self) {
        self.path.clear();
        self.method = [0; 16];
    }
}

/// How reading a request ended.
pub(super) enum Read {
    /// A forwardable request; its rewritten head is in the caller's buffer.
    Plan(Plan),
    /// Answer this instead.
    Refused(Refusal),
    /// The client went away.
    Gone,
}

/// Read and plan the next request from `conn`, whose head must be complete by
/// `deadline`. `up_head` receives the rewritten head.
pub(super) async fn read_request(
    conn: &mut ClientConn,
    ctx: &Ctx,
    view: &WorkerView,
    scratch: &mut Scratch,
    up_head: &mut Vec<u8>,
    deadline: Instant,
) -> Read {
    scratch.reset();
    loop {
        if !conn.buf.is_empty()
            && let Some(read) = plan_buffered(conn, view, scratch, up_head)
        {
            return read;
        }
        let left = deadline.saturating_duration_since(ctx.timers.coarse_now());
        let wait = ctx.timers.after(left.max(Duration::from_millis(1)));
        let (r, b) = conn
            .stream
            .read_some(std::mem::take(&mut conn.buf), wait)
            .await;
        conn.buf = b;
        match r {
            Ok(_) => {}
            Err(IoFail::Timeout) => {
                return Read::Refused(Refusal::closing(Answer::new(408, "header_timeout")));
            }
            Err(_) => return Read::Gone,
        }
    }
}

/// Plan the buffered request if its head is complete (`None`: read more). The
/// header array lives only in this synchronous call.
// HOT PATH: no alloc, no lock, no blocking call.
fn plan_buffered(
    conn: &ClientConn,
    view: &WorkerView,
    scratch: &mut Scratch,
    up_head: &mut Vec<u8>,
) -> Option<Read> {
    let mut headers = header_slots::<MAX_HEADERS>();
    let head = match parse_request(&conn.buf, &mut headers, &view.limits) {
        Ok(Some(head)) => head,
        Ok(None) => return None,
        Err(e) => return Some(Read::Refused(Refusal::closing(e.answer()))),
    };
    let n = head.method.len().min(15);
    scratch.method[..n].copy_from_slice(&head.method.as_bytes()[..n]);
    Some(
        match prepare(
            &head,
            view,
            scratch.ip.as_bytes(),
            conn.stream
                .tls()
                .map(|t| t.sni().unwrap_or_default().as_bytes()),
            &mut scratch.path,
            up_head,
        ) {
            Ok(plan) => Read::Plan(plan),
            Err(refusal) => Read::Refused(refusal),
        },
    )
}

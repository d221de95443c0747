//! The one error currency of an exchange (after pingora's `fail_to_proxy`): what
//! failed (`Kind`, which fixes the side at fault), whether the upstream connection
//! had been reused, and whether any response byte already reached the client. The
//! answer sent, the retry verdict (RFC 9110 §9.2.2: only what may be sent twice is
//! sent twice), the metric `kind` label and the passive-health verdict all come from
//! here and nowhere else.

use crate::http::answers::Answer;
use crate::metrics::UpstreamFailure;

use crate::core::io::IoFail;

/// Who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The client: it went away, stalled, or sent a request sluice refuses.
    Client,
    /// The server.
    Origin,
    /// sluice itself: no server to send to, no slot, no resources.
    Internal,
}

/// What failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The client closed, reset or stalled in the middle of the exchange.
    ClientGone,
    /// The request's chunked body broke its framing.
    BadChunkedBody,
    /// The request body went over `max_body`.
    BodyTooLarge,
    /// Connecting to the server failed.
    ConnectFailed,
    /// Connecting took longer than `upstream_connect`.
    ConnectTimeout,
    /// Writing the request to the server failed.
    SendFailed,
    /// The server closed or reset the connection.
    Reset,
    /// The server sent nothing (or stalled) for `upstream_response`.
    Timeout,
    /// The server's answer was malformed or refused (framing, status).
    BadResponse,
    /// No server of the pool (nor of its fallbacks) is up.
    NoHealthyServer,
    /// No slot freed within `queue_timeout`.
    QueueTimeout,
    /// `max_queue` requests were already waiting.
    QueueFull,
    /// A resource of sluice's own (a splice pipe) could not be had.
    Resources,
}

impl Kind {
    /// The side at fault.
    pub fn side(self) -> Side {
        match self {
            Kind::ClientGone | Kind::BadChunkedBody | Kind::BodyTooLarge => Side::Client,
            Kind::ConnectFailed
            | Kind::ConnectTimeout
            | Kind::SendFailed
            | Kind::Reset
            | Kind::Timeout
            | Kind::BadResponse => Side::Origin,
            Kind::NoHealthyServer | Kind::QueueTimeout | Kind::QueueFull | Kind::Resources => {
                Side::Internal
            }
        }
    }
}

/// What may be tried again after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Nothing: answer (or close).
    No,
    /// The same server on a fresh connection: a pooled one turned out closed.
    FreshConnection,
    /// Another server of the pool.
    OtherServer,
}

/// One failed exchange or try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyError {
    /// What failed.
    pub kind: Kind,
    /// The upstream connection came from the idle pool.
    pub reused: bool,
    /// Some of the response already reached the client: only a close is left.
    pub response_started: bool,
}

impl From<Kind> for ProxyError {
    fn from(kind: Kind) -> Self {
        ProxyError {
            kind,
            reused: false,
            response_started: false,
        }
    }
}

impl ProxyError {
    /// A failure on an upstream connection that was (`reused`) or was not pooled.
    pub fn on(kind: Kind, reused: bool) -> Self {
        ProxyError {
            reused,
            ..kind.into()
        }
    }

    /// The same failure, after the response began.
    pub fn after_response_began(self) -> Self {
        ProxyError {
            response_started: true,
            ..self
        }
    }

    /// The side at fault.
    pub fn side(&self) -> Side {
        self.kind.side()
    }

    /// The answer to send, or `None` when only closing is left (the client is gone
    /// or its response already began).
    pub fn answer(&self) -> Option<Answer> {
        if self.response_started {
            return None;
        }
        Some(match self.kind {
            Kind::ClientGone => return None,
            Kind::BadChunkedBody => Answer::new(400, "bad_chunked_body"),
            Kind::BodyTooLarge => Answer::new(413, "body_too_large"),
            Kind::ConnectFailed => Answer::new(502, "upstream_connect_failed"),
            Kind::ConnectTimeout => Answer::new(504, "upstream_connect_timeout"),
            Kind::SendFailed => Answer::new(502, "upstream_send_failed"),
            Kind::Reset => Answer::new(502, "upstream_reset"),
            Kind::Timeout => Answer::new(504, "upstream_timeout"),
            Kind::BadResponse => Answer::new(502, "upstream_bad_response"),
            Kind::NoHealthyServer => Answer::unavailable("no_healthy_server"),
            Kind::QueueTimeout => Answer::unavailable("queue_timeout"),
            Kind::QueueFull => Answer::unavailable("queue_full"),
            Kind::Resources => Answer::new(500, "internal"),
        })
    }

    /// Whether to try again. `resendable`: the request is idempotent and its body
    /// is fully buffered (RFC 9110 §9.2.2; anything else is sent once). Only
    /// failures before any response byte qualify: connect failures, and a reset or
    /// failed send — on a fresh connection to the same server when the connection
    /// was a pooled one (the origin closed it while idle), else on another server.
    pub fn retry(&self, resendable: bool) -> Retry {
        if !resendable || self.response_started {
            return Retry::No;
        }
        match self.kind {
            Kind::Reset | Kind::SendFailed if self.reused => Retry::FreshConnection,
            Kind::ConnectFailed | Kind::ConnectTimeout | Kind::Reset | Kind::SendFailed => {
                Retry::OtherServer
            }
            _ => Retry::No,
        }
    }

    /// The `sluice_upstream_errors_total` kind, for failures at the server (these
    /// also count toward its passive ejection); `None` for the others.
    pub fn upstream_failure(&self) -> Option<UpstreamFailure> {
        Some(match self.kind {
            Kind::ConnectFailed => UpstreamFailure::ConnectFailed,
            Kind::ConnectTimeout => UpstreamFailure::ConnectTimeout,
            Kind::SendFailed => UpstreamFailure::SendFailed,
            Kind::Reset => UpstreamFailure::Reset,
            Kind::Timeout => UpstreamFailure::Timeout,
            Kind::BadResponse => UpstreamFailure::BadResponse,
            _ => return None,
        })
    }

    /// A read from the server failed.
    pub fn reading_origin(e: &IoFail, reused: bool) -> Self {
        let kind = match e {
            IoFail::Timeout => Kind::Timeout,
            IoFail::Eof | IoFail::Io(_) => Kind::Reset,
        };
        ProxyError::on(kind, reused)
    }

    /// A write to the server failed.
    pub fn writing_origin(reused: bool) -> Self {
        ProxyError::on(Kind::SendFailed, reused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_sides_and_labels() {
        let e = ProxyError::on(Kind::Reset, false);
        assert_eq!(e.side(), Side::Origin);
        assert_eq!(
            e.answer().map(|a| (a.status, a.error)),
            Some((502, "upstream_reset"))
        );
        assert_eq!(e.upstream_failure(), Some(UpstreamFailure::Reset));
        assert_eq!(
            e.after_response_began().answer(),
            None,
            "only a close is left"
        );
        let q = ProxyError::from(Kind::QueueFull);
        assert_eq!((q.side(), q.upstream_failure()), (Side::Internal, None));
        assert_eq!(q.answer().and_then(|a| a.retry_after), Some(1));
        let c = ProxyError::from(Kind::ClientGone);
        assert_eq!((c.side(), c.answer()), (Side::Client, None));
    }

    #[test]
    fn only_resendable_requests_are_sent_twice() {
        let stale = ProxyError::on(Kind::Reset, true);
        assert_eq!(stale.retry(true), Retry::FreshConnection);
        assert_eq!(stale.retry(false), Retry::No, "a POST is sent once");
        assert_eq!(
            ProxyError::on(Kind::ConnectFailed, false).retry(true),
            Retry::OtherServer
        );
        assert_eq!(ProxyError::on(Kind::Timeout, false).retry(true), Retry::No);
        assert_eq!(stale.after_response_began().retry(true), Retry::No);
    }
}

//! Responses sluice answers itself (SPEC §4): a short text body and an
//! `x-sluice-error` header naming the reason.

use super::headers::push_decimal;

/// One error answer: status, reason phrase, and the `x-sluice-error` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Machine-readable reason, sent as `x-sluice-error`.
    pub error: &'static str,
    /// Seconds for `Retry-After` (503 only).
    pub retry_after: Option<u32>,
}

impl Answer {
    /// An answer without Retry-After.
    pub const fn new(status: u16, error: &'static str) -> Self {
        Answer {
            status,
            error,
            retry_after: None,
        }
    }

    /// A 503 with `Retry-After: 1` (no healthy server, queue full or timed out).
    pub const fn unavailable(error: &'static str) -> Self {
        Answer {
            status: 503,
            error,
            retry_after: Some(1),
        }
    }
}

/// Standard reason phrase for the statuses sluice produces.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    }
}

/// Write the full answer (head and body) into `out` (cleared first). `close` adds
/// `Connection: close`.
pub fn write_answer(out: &mut Vec<u8>, answer: &Answer, close: bool) {
    out.clear();
    let reason = reason_phrase(answer.status);
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(answer.status));
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\nServer: sluice\r\nContent-Type: text/plain\r\nx-sluice-error: ");
    out.extend_from_slice(answer.error.as_bytes());
    if let Some(secs) = answer.retry_after {
        out.extend_from_slice(b"\r\nRetry-After: ");
        push_decimal(out, u64::from(secs));
    }
    let body_len = 3 + 1 + reason.len() + 2 + answer.error.len() + 1;
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_decimal(out, body_len as u64);
    if close {
        out.extend_from_slice(b"\r\nConnection: close");
    }
    out.extend_from_slice(b"\r\n\r\n");
    push_decimal(out, u64::from(answer.status));
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(answer.error.as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_bytes_are_exact() {
        let mut out = Vec::new();
        write_answer(
            &mut out,
            &Answer {
                status: 503,
                error: "no_healthy_server",
                retry_after: Some(1),
            },
            true,
        );
        let text = String::from_utf8(out).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert_eq!(
            head,
            "HTTP/1.1 503 Service Unavailable\r\nServer: sluice\r\nContent-Type: text/plain\r\nx-sluice-error: no_healthy_server\r\nRetry-After: 1\r\nContent-Length: 43\r\nConnection: close"
        );
        assert_eq!(body, "503 Service Unavailable: no_healthy_server\n");
        assert_eq!(body.len(), 43);
    }
}

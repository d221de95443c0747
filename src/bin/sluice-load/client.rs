//! One load connection: builds requests from the classes, sends them on a keep-alive
//! connection (reconnecting when the target closes), reads answers with correct
//! framing, and records latency.
//!
//! Open loop with coordinated-omission correction: connection `c` of `C` sends its
//! `k`-th request at the intended time `t0 + (c + k·C) / rate`; when an answer is
//! late the next request goes out as soon as possible, but its latency is still
//! measured from its intended time, so a stall shows up in every request it delayed
//! (as in wrk2). Closed loop measures from the actual send.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use monoio::buf::IoBufMut;
use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::TcpStream;

use crate::discard::discard;
use crate::profile::Mode;
use crate::stats::ClassStats;
use crate::zipf::{Rng, Zipf};

/// Counters the progress line reads.
#[derive(Default)]
pub struct Live {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub connected: AtomicU64,
}

/// A class ready to generate requests.
pub struct ClassGen {
    pub method: String,
    pub path: String,
    pub users: u64,
    pub zipf: Zipf,
    pub range: Option<(u64, u64)>,
}

/// What every connection of a run shares (read-only).
pub struct Plan {
    pub addr: SocketAddr,
    pub host: String,
    pub classes: Vec<ClassGen>,
    pub cumulative: Vec<u32>,
    pub mode: Mode,
    pub rate: f64,
    pub connections: usize,
    pub timeout: Duration,
    pub t0: Instant,
    pub measure_from: Instant,
    pub end: Instant,
}

impl Plan {
    fn pick(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1).max(1);
        let x = rng.below(u64::from(total)) as u32;
        self.cumulative.partition_point(|&c| c <= x)
    }

    fn write_request(&self, class: usize, rng: &mut Rng, out: &mut Vec<u8>) {
        let c = &self.classes[class];
        out.clear();
        out.extend_from_slice(c.method.as_bytes());
        out.push(b' ');
        let mut rest = c.path.as_str();
        while let Some(open) = rest.find('{') {
            out.extend_from_slice(&rest.as_bytes()[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let name = &rest[open + 1..open + close];
            let value = match name {
                "user" => rng.below(c.users),
                "channel" => c.zipf.sample(rng.unit()) as u64,
                "segment" => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    now / 2 + rng.below(6)
                }
                _ => rng.below(1_000_000),
            };
            out.extend_from_slice(value.to_string().as_bytes());
            rest = &rest[open + close + 1..];
        }
        out.extend_from_slice(rest.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nUser-Agent: sluice-load\r\n");
        if let Some((range, file)) = c.range {
            let start = rng.below(file.saturating_sub(range).max(1));
            out.extend_from_slice(
                format!("Range: bytes={start}-{}\r\n", start + range - 1).as_bytes(),
            );
        }
        out.extend_from_slice(b"\r\n");
    }
}

enum Outcome {
    /// Status and body bytes; `keep` = the connection may be reused.
    Done {
        status: u16,
        bytes: u64,
        keep: bool,
    },
    Fail(usize),
}

const E_CONNECT: usize = 0;
const E_TIMEOUT: usize = 1;
const E_RESET: usize = 2;
const E_PARSE: usize = 5;

/// Run one connection until the end of the run.
pub async fn run_connection(
    id: usize,
    plan: Rc<Plan>,
    stats: Rc<RefCell<Vec<ClassStats>>>,
    live: Arc<Live>,
    seed: u64,
) {
    let mut rng = Rng::new(seed ^ (id as u64).wrapping_mul(0x9E37_79B9));
    let mut req = Vec::with_capacity(512);
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    let mut stream: Option<TcpStream> = None;
    let interval = Duration::from_secs_f64(plan.connections as f64 / plan.rate.max(0.001));
    let phase = Duration::from_secs_f64(id as f64 / plan.rate.max(0.001));
    let mut k: u32 = 0;
    loop {
        let intended = match plan.mode {
            Mode::Open => plan.t0 + phase + interval * k,
            Mode::Closed => Instant::now(),
        };
        k = k.saturating_add(1);
        if intended >= plan.end {
            return;
        }
        let now = Instant::now();
        let on_time = intended > now;
        if on_time {
            monoio::time::sleep(intended - now).await;
        }
        let class = plan.pick(&mut rng);
        plan.write_request(class, &mut rng, &mut req);
        let sent_at = Instant::now();
        // Open loop counts from the intended instant when the connection fell behind
        // (the target's slowness delayed this request: coordinated omission), but from
        // the send when it waited for its slot: monoio's timers round a sleep up to
        // the next millisecond, and that lateness is the generator's, not the target's.
        let start = if plan.mode == Mode::Open && !on_time {
            intended
        } else {
            sent_at
        };
        let limit = plan
            .timeout
            .min((plan.end + Duration::from_secs(2)).saturating_duration_since(sent_at));
        let (outcome, b, s) =
            exchange(stream.take(), plan.addr, req, buf, limit, &live.connected).await;
        (req, buf) = b;
        let latency_us = Instant::now().duration_since(start).as_micros() as u64;
        let counted = start >= plan.measure_from;
        if matches!(outcome, Outcome::Done { keep: true, .. }) {
            stream = s;
        }
        let latency_us = counted.then_some(latency_us);
        record(&outcome, &mut stats.borrow_mut()[class], &live, latency_us);
        if matches!(outcome, Outcome::Fail(E_CONNECT)) {
            // Do not spin on a target that refuses connections.
            monoio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Count one request in the live counters and, when it falls in the measured
/// window (`latency_us` is given), in its class's figures.
fn record(outcome: &Outcome, cs: &mut ClassStats, live: &Live, latency_us: Option<u64>) {
    let failed = match *outcome {
        Outcome::Done { status, bytes, .. } => {
            if let Some(us) = latency_us {
                cs.requests += 1;
                cs.bytes += bytes;
                cs.record(us);
                match status {
                    400..=499 => cs.error(3),
                    500..=599 => cs.error(4),
                    _ => {}
                }
            }
            status >= 400
        }
        Outcome::Fail(kind) => {
            if let Some(us) = latency_us {
                cs.requests += 1;
                cs.error(kind);
                cs.record(us);
            }
            true
        }
    };
    live.requests.fetch_add(1, Ordering::Relaxed);
    if failed {
        live.errors.fetch_add(1, Ordering::Relaxed);
    }
}

type Bufs = (Vec<u8>, Vec<u8>);

async fn exchange(
    stream: Option<TcpStream>,
    addr: SocketAddr,
    req: Vec<u8>,
    buf: Vec<u8>,
    limit: Duration,
    connected: &AtomicU64,
) -> (Outcome, Bufs, Option<TcpStream>) {
    let fut = async {
        let mut s = match stream {
            Some(s) => s,
            None => match TcpStream::connect_addr(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    connected.fetch_add(1, Ordering::Relaxed);
                    s
                }
                Err(_) => return (Outcome::Fail(E_CONNECT), (req, buf), None),
            },
        };
        let (r, req) = s.write_all(req).await;
        if r.is_err() {
            return (Outcome::Fail(E_RESET), (req, buf), None);
        }
        let (o, buf) = read_response(&mut s, buf).await;
        (o, (req, buf), Some(s))
    };
    match monoio::time::timeout(limit, fut).await {
        Ok(x) => x,
        Err(_) => (
            Outcome::Fail(E_TIMEOUT),
            (Vec::with_capacity(512), Vec::with_capacity(64 * 1024)),
            None,
        ),
    }
}

async fn read_more(s: &mut TcpStream, mut buf: Vec<u8>) -> (std::io::Result<usize>, Vec<u8>) {
    if buf.len() == buf.capacity() {
        buf.reserve(64 * 1024);
    }
    let (len, cap) = (buf.len(), buf.capacity());
    let (r, slice) = s.read(buf.slice_mut(len..cap)).await;
    (r, slice.into_inner())
}

async fn read_response(s: &mut TcpStream, mut buf: Vec<u8>) -> (Outcome, Vec<u8>) {
    buf.clear();
    let (head, buf) = read_head(s, buf).await;
    let head = match head {
        Ok(head) => head,
        Err(kind) => return (Outcome::Fail(kind), buf),
    };
    let have = (buf.len() - head.len) as u64;
    match head.framing {
        Framing::Length(len) => (length_body(s, &head, len, have).await, buf),
        Framing::Close => (close_body(s, head.status, have).await, buf),
        Framing::Chunked => chunked_body(s, &head, buf).await,
    }
}

/// A response head: status, length in bytes, body framing, whether the
/// connection may be reused.
struct Head {
    status: u16,
    len: usize,
    framing: Framing,
    keep: bool,
}

/// Read into `buf` until it holds a whole response head; the error is the
/// failure kind.
async fn read_head(s: &mut TcpStream, mut buf: Vec<u8>) -> (Result<Head, usize>, Vec<u8>) {
    loop {
        let (r, b) = read_more(s, buf).await;
        buf = b;
        match r {
            Ok(0) | Err(_) => return (Err(E_RESET), buf),
            Ok(_) => {}
        }
        match parse_head(&buf) {
            Ok(Some(head)) => return (Ok(head), buf),
            Ok(None) => {}
            Err(()) => return (Err(E_PARSE), buf),
        }
    }
}

/// The head at the start of `buf`: `None` while incomplete, an error when it is
/// malformed or its `Content-Length` is not a number.
fn parse_head(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut hs = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut hs);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let status = resp.code.unwrap_or(0);
    let mut framing = Framing::Close;
    let mut keep = resp.version == Some(1);
    for h in resp.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
            framing = Framing::Length(v.ok_or(())?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            framing = Framing::Chunked;
        } else if h.name.eq_ignore_ascii_case("connection")
            && h.value.eq_ignore_ascii_case(b"close")
        {
            keep = false;
        }
    }
    if status == 204 || status == 304 || (100..200).contains(&status) {
        framing = Framing::Length(0);
    }
    Ok(Some(Head {
        status,
        len,
        framing,
        keep,
    }))
}

/// Discard a `Content-Length` body of which `have` bytes came with the head.
async fn length_body(s: &mut TcpStream, head: &Head, len: u64, mut have: u64) -> Outcome {
    while have < len {
        match discard(s, len - have).await {
            Ok(0) | Err(_) => return Outcome::Fail(E_RESET),
            Ok(n) => have += n as u64,
        }
    }
    Outcome::Done {
        status: head.status,
        bytes: len,
        keep: head.keep && have == len,
    }
}

/// Discard a body delimited by the close of the connection.
async fn close_body(s: &mut TcpStream, status: u16, mut have: u64) -> Outcome {
    loop {
        match discard(s, u64::MAX).await {
            Ok(0) => break,
            Ok(n) => have += n as u64,
            Err(_) => return Outcome::Fail(E_RESET),
        }
    }
    Outcome::Done {
        status,
        bytes: have,
        keep: false,
    }
}

/// Consume a chunked body until the terminating chunk; counts the body's wire
/// bytes.
async fn chunked_body(s: &mut TcpStream, head: &Head, mut buf: Vec<u8>) -> (Outcome, Vec<u8>) {
    let mut data: Vec<u8> = buf[head.len..].to_vec();
    loop {
        if let Some(end) = chunked_end(&data) {
            let done = Outcome::Done {
                status: head.status,
                bytes: end as u64,
                keep: head.keep && end == data.len(),
            };
            return (done, buf);
        }
        buf.clear();
        let (r, b) = read_more(s, buf).await;
        buf = b;
        match r {
            Ok(0) | Err(_) => return (Outcome::Fail(E_RESET), buf),
            Ok(_) => data.extend_from_slice(&buf),
        }
    }
}

enum Framing {
    Length(u64),
    Chunked,
    Close,
}

/// Where a complete chunked body ends in `data`, if it does.
fn chunked_end(data: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let line_end = data[i..].windows(2).position(|w| w == b"\r\n")? + i;
        let size_text = std::str::from_utf8(&data[i..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        i = line_end + 2;
        if size == 0 {
            // Trailers until an empty line.
            loop {
                let e = data[i..].windows(2).position(|w| w == b"\r\n")? + i;
                let empty = e == i;
                i = e + 2;
                if empty {
                    return Some(i);
                }
            }
        }
        if data.len() < i + size + 2 {
            return None;
        }
        i += size + 2;
    }
}

//! One origin listener: accept loop and the per-connection request loop, applying
//! the per-request steering headers and the server-wide fault mode.

use std::io::Write;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::content::parse_duration;
use crate::reply::{Framing, Kind, Reply, Wire, answer, write_reply};
use crate::request::{ReadOutcome, Reader, Request};

/// A server-wide fault mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    None,
    Slow(Duration),
    Reset,
    ResetMidBody,
    Status500,
    /// Accepted connections are reset at once (the listener stays bound).
    Refuse,
}

impl Fault {
    pub fn parse(s: &str) -> Option<Fault> {
        Some(match s {
            "none" => Fault::None,
            "reset" => Fault::Reset,
            "reset-mid-body" => Fault::ResetMidBody,
            "500" => Fault::Status500,
            "refuse" => Fault::Refuse,
            other => Fault::Slow(parse_duration(other.strip_prefix("slow:")?)?),
        })
    }

    fn name(&self) -> String {
        match self {
            Fault::None => "none".into(),
            Fault::Slow(d) => format!("slow:{}ms", d.as_millis()),
            Fault::Reset => "reset".into(),
            Fault::ResetMidBody => "reset-mid-body".into(),
            Fault::Status500 => "500".into(),
            Fault::Refuse => "refuse".into(),
        }
    }
}

/// One listener's shared state.
pub struct Origin {
    pub kind: Kind,
    pub name: String,
    pub seg_size: u64,
    pub latency: Duration,
    pub fault: Mutex<Fault>,
    pub conns: AtomicU64,
    pub block: Arc<Vec<u8>>,
}

/// Accept forever, a thread per connection.
pub fn serve(listener: TcpListener, origin: Arc<Origin>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let origin = Arc::clone(&origin);
        let _ = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || connection(stream, &origin));
    }
}

fn reset(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
    let _ = s.shutdown(Shutdown::Both);
}

fn connection(mut s: TcpStream, o: &Origin) {
    let conn_id = o.conns.fetch_add(1, Ordering::Relaxed) + 1;
    let fault = o.fault.lock().map(|f| f.clone()).unwrap_or(Fault::None);
    if fault == Fault::Refuse {
        reset(&s);
        return;
    }
    let _ = s.set_nodelay(true);
    let mut reader = Reader::new();
    let mut n = 0u64;
    loop {
        let req = match reader.next(&mut s) {
            Ok(ReadOutcome::Request(r)) => r,
            Ok(ReadOutcome::Bad) => {
                let _ = s.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
            _ => return,
        };
        n += 1;
        if !handle(&mut s, o, &req, conn_id, n) {
            return;
        }
    }
}

/// Serve one request; false = close the connection.
fn handle(s: &mut TcpStream, o: &Origin, req: &Request, conn_id: u64, n: u64) -> bool {
    if req.path() == "/_origin/fault" {
        return fault_endpoint(s, o, req, conn_id, n);
    }
    let fault = o.fault.lock().map(|f| f.clone()).unwrap_or(Fault::None);
    let steer = req.header("x-origin-fault").unwrap_or("");
    if fault == Fault::Reset || steer == "reset" || fault == Fault::Refuse {
        reset(s);
        return false;
    }
    if steer == "close" {
        let _ = s.shutdown(Shutdown::Both);
        return false;
    }
    let delay = delay(o, &fault, req);
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
    if req.path() == "/ws"
        && req
            .header("upgrade")
            .is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
    {
        return upgrade(s, o);
    }
    let mut reply = answer(o.kind, &o.name, req, o.seg_size);
    if fault == Fault::Status500 {
        reply = Reply::text(500, "fault 500");
    }
    steer_status(s, req, &mut reply);
    if fault == Fault::ResetMidBody || steer == "reset-mid-body" {
        reset_mid_body(s, o, &reply, conn_id, n);
        return false;
    }
    send(s, o, req, reply, conn_id, n)
}

/// `/_origin/fault`: a POST sets the mode (`?mode=M`); both methods answer with
/// the mode in force.
fn fault_endpoint(s: &mut TcpStream, o: &Origin, req: &Request, conn_id: u64, n: u64) -> bool {
    if req.method == "POST" {
        let mode = req.target.split("mode=").nth(1).unwrap_or("");
        match Fault::parse(mode) {
            Some(f) => {
                if let Ok(mut g) = o.fault.lock() {
                    *g = f;
                }
            }
            None => return send(s, o, req, Reply::text(400, "bad mode"), conn_id, n),
        }
    }
    let name = o.fault.lock().map(|f| f.name()).unwrap_or_default();
    let reply = Reply::text(200, &format!("mode {name}"));
    send(s, o, req, reply, conn_id, n)
}

/// The listener's latency, plus a `slow:` fault and `x-origin-delay`.
fn delay(o: &Origin, fault: &Fault, req: &Request) -> Duration {
    let mut delay = o.latency;
    if let Fault::Slow(d) = fault {
        delay += *d;
    }
    if let Some(d) = req.header("x-origin-delay").and_then(parse_duration) {
        delay += d;
    }
    delay
}

/// `x-origin-status: N`: 103 sends Early Hints before the reply, any other code
/// replaces it.
fn steer_status(s: &mut TcpStream, req: &Request, reply: &mut Reply) {
    let Some(code) = req
        .header("x-origin-status")
        .and_then(|v| v.trim().parse::<u16>().ok())
    else {
        return;
    };
    if code == 103 {
        let _ = s.write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
    } else {
        *reply = Reply::text(code, &format!("status {code}"));
        reply.status = code;
    }
}

/// Send the head and half the body, then reset the connection.
fn reset_mid_body(s: &mut TcpStream, o: &Origin, reply: &Reply, conn_id: u64, n: u64) {
    let half = match &reply.body {
        crate::reply::Body::Bytes(b) => b.len() as u64 / 2,
        crate::reply::Body::Content { len, .. } => len / 2,
    };
    let wire = Wire {
        framing: Framing::Length,
        head_only: false,
        keep: true,
        extra: &ids(o, conn_id, n),
        block: &o.block,
        stop_after: Some(half),
    };
    let _ = write_reply(s, reply, &wire);
    reset(s);
}

fn ids(o: &Origin, conn_id: u64, n: u64) -> Vec<(&'static str, String)> {
    vec![
        ("x-origin", o.name.clone()),
        ("x-origin-conn", conn_id.to_string()),
        ("x-origin-req", n.to_string()),
    ]
}

fn send(s: &mut TcpStream, o: &Origin, req: &Request, reply: Reply, conn_id: u64, n: u64) -> bool {
    let framing = match req.header("x-origin-framing") {
        Some("chunked") => Framing::Chunked,
        Some("close") => Framing::Close,
        _ => Framing::Length,
    };
    let keep = req.keep_alive() && framing != Framing::Close;
    let mut extra = ids(o, conn_id, n);
    if keep && req.minor == 0 {
        extra.push(("Connection", "keep-alive".into()));
    }
    let wire = Wire {
        framing,
        head_only: req.method == "HEAD",
        keep,
        extra: &extra,
        block: &o.block,
        stop_after: None,
    };
    let ok = write_reply(s, &reply, &wire).is_ok();
    ok && keep
}

/// `101 Switching Protocols`, then echo every byte back until EOF.
fn upgrade(s: &mut TcpStream, o: &Origin) -> bool {
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nx-origin: {}\r\n\r\n",
        o.name
    );
    if s.write_all(head.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 16384];
    loop {
        match std::io::Read::read(s, &mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(k) => {
                if s.write_all(&buf[..k]).is_err() {
                    return false;
                }
            }
        }
    }
}

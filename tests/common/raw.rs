//! A scripted backend on a real loopback socket, for the cases `sluice-origin` is
//! too well-behaved for: it records every byte each connection sent, and answers
//! each request (head plus Content-Length body) as a closure decides — with bytes
//! of any shape, or by closing the connection — and notes when the peer closed each
//! connection.

#![allow(clippy::disallowed_types)] // a test backend: a mutex for its record is fine

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the backend does with one request.
pub enum Action {
    /// Write these bytes and keep the connection.
    Reply(Vec<u8>),
    /// Close the connection without answering.
    Close,
}

type Script = dyn Fn(usize, &str) -> Action + Send + Sync;

/// What one connection's thread records into.
struct Record {
    index: usize,
    received: Arc<Mutex<Vec<Vec<u8>>>>,
    closes: Arc<Mutex<Vec<(usize, Instant)>>>,
}

/// A running scripted backend; stops accepting when dropped.
pub struct RawBackend {
    pub addr: SocketAddr,
    /// Bytes received, per accepted connection, in accept order.
    pub received: Arc<Mutex<Vec<Vec<u8>>>>,
    /// Connections the peer closed, by index, with when.
    closes: Arc<Mutex<Vec<(usize, Instant)>>>,
    stop: Arc<AtomicBool>,
}

impl RawBackend {
    /// Start on 127.0.0.1:0. `script(connection_index, request_head)` answers each
    /// request.
    pub fn start(script: impl Fn(usize, &str) -> Action + Send + Sync + 'static) -> RawBackend {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind raw backend");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let closes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let (rec, cl, st) = (
            Arc::clone(&received),
            Arc::clone(&closes),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if st.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let index = {
                    let mut r = rec.lock().unwrap();
                    r.push(Vec::new());
                    r.len() - 1
                };
                let record = Record {
                    index,
                    received: Arc::clone(&rec),
                    closes: Arc::clone(&cl),
                };
                let script = Arc::clone(&script);
                std::thread::spawn(move || serve(stream, &record, &*script));
            }
        });
        RawBackend {
            addr,
            received,
            closes,
            stop,
        }
    }

    /// Every byte received, all connections, as text.
    pub fn all_text(&self) -> String {
        let r = self.received.lock().unwrap();
        r.iter()
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join("\n--- next connection ---\n")
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    /// Connections (by index) the peer has closed so far, with when.
    pub fn closed(&self) -> Vec<(usize, Instant)> {
        self.closes.lock().unwrap().clone()
    }
}

impl Drop for RawBackend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(mut s: TcpStream, record: &Record, script: &Script) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // One request: its head, then a Content-Length body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if !read_more(&mut s, &mut buf, record) {
                return;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let body_len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < head_end + body_len {
            if !read_more(&mut s, &mut buf, record) {
                return;
            }
        }
        buf.drain(..head_end + body_len);
        match script(record.index, &head) {
            Action::Reply(bytes) => {
                if s.write_all(&bytes).is_err() {
                    return;
                }
            }
            Action::Close => return,
        }
    }
}

/// Read what comes next onto `buf`; false when the connection ended (a close by
/// the peer is noted with its time).
fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>, record: &Record) -> bool {
    let mut chunk = [0u8; 16384];
    match s.read(&mut chunk) {
        Ok(0) => {
            let at = Instant::now();
            record.closes.lock().unwrap().push((record.index, at));
            false
        }
        Err(_) => false,
        Ok(n) => {
            record.received.lock().unwrap()[record.index].extend_from_slice(&chunk[..n]);
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

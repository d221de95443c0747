//! The access log (SPEC §7): one JSON object per request, written by a dedicated
//! thread. Workers hand a finished record over a bounded crossbeam channel with
//! `try_send`; when the writer falls behind (a slow disk), records are dropped and
//! counted rather than ever blocking a worker.

use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::config::{AccessLog, Config};
use crate::json::string;
use crate::log::rfc3339;
use crate::metrics::Sample;
use crate::tls::HandshakeInfo;

/// Records waiting for the writer, at most.
const QUEUE: usize = 65_536;

/// One finished request.
#[derive(Debug, Clone)]
pub struct Record {
    pub time: SystemTime,
    pub client: IpAddr,
    pub method: String,
    pub path: String,
    pub route: Option<String>,
    pub pool: Option<String>,
    pub server: Option<String>,
    pub status: u16,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub duration_us: u64,
    /// The TLS version and cipher on TLS connections; the field is absent otherwise.
    pub tls: Option<HandshakeInfo>,
}

impl Record {
    /// The record of a finished request: `method` (NUL-padded) and `path` as
    /// routed; route, pool and server named from `config`; `tls` on TLS connections.
    pub fn of(
        config: &Config,
        client: IpAddr,
        method: &[u8],
        path: &[u8],
        s: &Sample,
        tls: Option<HandshakeInfo>,
    ) -> Record {
        let len = method.iter().position(|&b| b == 0).unwrap_or(method.len());
        Record {
            time: SystemTime::now(),
            client,
            method: String::from_utf8_lossy(&method[..len]).into_owned(),
            path: String::from_utf8_lossy(path).into_owned(),
            route: s
                .route
                .and_then(|r| config.routes.get(r))
                .map(|r| r.name.clone()),
            pool: s
                .pool
                .and_then(|p| config.pools.get(p))
                .map(|p| p.name.clone()),
            server: s
                .pool
                .zip(s.server)
                .and_then(|(p, i)| config.pools.get(p)?.servers.get(i))
                .map(|b| b.addr.to_string()),
            status: s.status,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            duration_us: s.micros,
            tls,
        }
    }
}

/// The workers' end of the log.
#[derive(Clone)]
pub struct AccessLogger {
    tx: Sender<Record>,
    dropped: Arc<AtomicU64>,
}

static GLOBAL: OnceLock<AccessLogger> = OnceLock::new();

impl AccessLogger {
    /// Start the writer thread for `target` (nothing for `Off`) and make it the
    /// process's logger.
    pub fn start(target: &AccessLog) -> std::io::Result<()> {
        let out: Box<dyn Write + Send> = match target {
            AccessLog::Off => return Ok(()),
            AccessLog::Stdout => Box::new(std::io::stdout()),
            AccessLog::File(p) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(p)?,
            ),
        };
        let (tx, rx) = crossbeam_channel::bounded(QUEUE);
        let dropped = Arc::new(AtomicU64::new(0));
        let logger = AccessLogger {
            tx,
            dropped: Arc::clone(&dropped),
        };
        std::thread::Builder::new()
            .name("sluice-accesslog".into())
            .spawn(move || write_loop(rx, out, dropped))?;
        let _ = GLOBAL.set(logger);
        Ok(())
    }

    /// The process's logger, when access logging is on.
    pub fn get() -> Option<&'static AccessLogger> {
        GLOBAL.get()
    }

    /// Hand over a record; never blocks.
    pub fn log(&self, r: Record) {
        if let Err(TrySendError::Full(_)) = self.tx.try_send(r) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[allow(clippy::disallowed_methods)] // the writer thread is the one place allowed to block
fn write_loop(rx: Receiver<Record>, out: Box<dyn Write + Send>, dropped: Arc<AtomicU64>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    let mut reported = 0;
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(r) => {
                let _ = out.write_all(line(&r).as_bytes());
                while let Ok(r) = rx.try_recv() {
                    let _ = out.write_all(line(&r).as_bytes());
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
        let d = dropped.load(Ordering::Relaxed);
        if d != reported {
            crate::log_warn!(
                "access log: {} records dropped (writer too slow)",
                d - reported
            );
            reported = d;
        }
        let _ = out.flush();
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or("null".to_string(), string)
}

/// One JSON line.
pub fn line(r: &Record) -> String {
    let tls = r.tls.map_or(String::new(), |t| {
        format!(
            ",\"tls\":{{\"version\":{},\"cipher\":{}}}",
            string(t.version),
            string(t.cipher)
        )
    });
    format!(
        "{{\"time\":\"{}\",\"client\":\"{}\",\"method\":{},\"path\":{},\"route\":{},\"pool\":{},\"server\":{},\"status\":{},\"bytes_in\":{},\"bytes_out\":{},\"duration_us\":{}{tls}}}\n",
        rfc3339(r.time),
        r.client,
        string(&r.method),
        string(&r.path),
        opt(&r.route),
        opt(&r.pool),
        opt(&r.server),
        r.status,
        r.bytes_in,
        r.bytes_out,
        r.duration_us
    )
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    #[test]
    fn time_and_line() {
        let r = Record {
            time: UNIX_EPOCH,
            client: "127.0.0.1".parse().unwrap(),
            method: "GET".into(),
            path: "/a\"b".into(),
            route: Some("r".into()),
            pool: None,
            server: None,
            status: 200,
            bytes_in: 0,
            bytes_out: 5,
            duration_us: 7,
            tls: None,
        };
        assert_eq!(
            line(&r),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":\"127.0.0.1\",\"method\":\"GET\",\"path\":\"/a\\\"b\",\"route\":\"r\",\"pool\":null,\"server\":null,\"status\":200,\"bytes_in\":0,\"bytes_out\":5,\"duration_us\":7}\n"
        );
    }
}

//! Diagnostics (`log.level`): one line per event on stderr, written by a dedicated
//! thread so no caller ever blocks on stderr. Callers hand a formatted line to a
//! bounded crossbeam channel with `try_send`; when the writer falls behind, lines
//! are dropped and counted (the writer reports the count), as `access_log` does.
//!
//! # API
//! - `crate::log_error!`, `crate::log_warn!`, `crate::log_info!`, `crate::log_debug!`:
//!   `format!` arguments. They never block and never panic; the arguments are
//!   formatted (one `String`) only when the level is enabled. On a worker:
//!   ```ignore
//!   crate::log_warn!("worker {}: accept: {e}", ctx.worker_id);
//!   ```
//!   Write the message without the `sluice:` prefix or a level word: the line gets
//!   both (`2025-11-24T16:00:00.123Z WARN sluice: worker 0: accept: ...`).
//! - `log::enabled(level)`: ask first when building the message costs more than
//!   formatting it.
//! - `log::init(level)`: start the writer (`Server::start`, once). Before it (start-up,
//!   `sluice check`, unit tests) lines go straight to stderr, blocking: nothing that
//!   runs before it is a worker.
//! - `log::set_level(level)`: the control plane calls it with every applied config,
//!   so a reload changes the level at once on every thread (one relaxed atomic).
//! - `log::flush()`: wait, boundedly, until queued lines are written; for exit paths
//!   on the main thread. Never on a worker.
//! - `log::dropped()`: lines dropped so far because the writer was behind.
//!
//! Levels, most severe first: `error` (something failed: a thread could not start,
//! a reload was refused), `warn` (a server went down, an accept failed, a setting
//! will not take effect), `info` (reloads, servers back up, workers stopping),
//! `debug` (detail for chasing a problem). `log.level` shows its level and the more
//! severe ones.

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

pub use crate::config::LogLevel as Level;

/// Lines waiting for the writer, at most.
const QUEUE: usize = 4096;

/// How often the writer reports dropped lines while it has nothing else to write.
const REPORT_EVERY: Duration = Duration::from_millis(500);

/// How long `flush` waits for the writer.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

enum Msg {
    Line(SystemTime, Level, String),
    Flush(Sender<()>),
}

/// A writer thread and the senders' end of its queue.
pub struct Logger {
    level: AtomicU8,
    tx: Sender<Msg>,
    dropped: Arc<AtomicU64>,
}

impl Logger {
    /// Start a writer thread writing lines to `out`, holding at most `capacity`.
    pub fn start(
        level: Level,
        out: Box<dyn Write + Send>,
        capacity: usize,
    ) -> std::io::Result<Logger> {
        let (tx, rx) = crossbeam_channel::bounded(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name("sluice-log".into())
            .spawn(move || write_loop(rx, out, counter))?;
        Ok(Logger {
            level: AtomicU8::new(level as u8),
            tx,
            dropped,
        })
    }

    /// Whether lines of `level` are written.
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        level as u8 <= self.level.load(Ordering::Relaxed)
    }

    /// Show `level` and the more severe levels from now on.
    pub fn set_level(&self, level: Level) {
        self.level.store(level as u8, Ordering::Relaxed);
    }

    /// Queue one line; never blocks (a full queue drops it and counts the drop).
    pub fn log(&self, level: Level, args: fmt::Arguments<'_>) {
        if !self.enabled(level) {
            return;
        }
        let msg = Msg::Line(SystemTime::now(), level, args.to_string());
        if let Err(TrySendError::Full(_)) = self.tx.try_send(msg) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Wait up to `wait` until every line queued before this call is written;
    /// `false` when that did not happen in time. Blocks: not for workers.
    #[allow(clippy::disallowed_methods)] // exit paths of control threads only
    pub fn flush(&self, wait: Duration) -> bool {
        let (done, finished) = crossbeam_channel::bounded(1);
        self.tx.send_timeout(Msg::Flush(done), wait).is_ok() && finished.recv_timeout(wait).is_ok()
    }

    /// Lines dropped so far because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[allow(clippy::disallowed_methods)] // the writer thread is the one place allowed to block
fn write_loop(rx: Receiver<Msg>, mut out: Box<dyn Write + Send>, dropped: Arc<AtomicU64>) {
    let mut reported = 0;
    loop {
        match rx.recv_timeout(REPORT_EVERY) {
            Ok(Msg::Line(time, level, text)) => {
                let _ = out.write_all(line(time, level, &text).as_bytes());
            }
            Ok(Msg::Flush(done)) => {
                report_drops(&mut out, &dropped, &mut reported);
                let _ = out.flush();
                let _ = done.try_send(());
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        report_drops(&mut out, &dropped, &mut reported);
    }
}

fn report_drops(out: &mut Box<dyn Write + Send>, dropped: &AtomicU64, reported: &mut u64) {
    let d = dropped.load(Ordering::Relaxed);
    if d != *reported {
        let text = format!("{} log lines dropped (stderr too slow)", d - *reported);
        let _ = out.write_all(line(SystemTime::now(), Level::Warn, &text).as_bytes());
        *reported = d;
    }
}

/// One line as written: `2025-11-24T16:00:00.123Z WARN sluice: text\n`.
pub fn line(time: SystemTime, level: Level, text: &str) -> String {
    let name = match level {
        Level::Error => "ERROR",
        Level::Warn => "WARN",
        Level::Info => "INFO",
        Level::Debug => "DEBUG",
    };
    format!("{} {name} sluice: {text}\n", rfc3339(time))
}

static GLOBAL: OnceLock<Logger> = OnceLock::new();

/// The level in force before `init` (and the one `init` starts with).
static EARLY_LEVEL: AtomicU8 = AtomicU8::new(Level::Info as u8);

/// Start the process's writer thread on stderr at `level`; a later call only sets
/// the level.
pub fn init(level: Level) -> std::io::Result<()> {
    set_level(level);
    if GLOBAL.get().is_none() {
        let logger = Logger::start(level, Box::new(std::io::stderr()), QUEUE)?;
        // Lost a race with another `init`: this logger's thread ends with it.
        let _ = GLOBAL.set(logger);
    }
    Ok(())
}

/// Show `level` and the more severe levels from now on (every thread at once).
pub fn set_level(level: Level) {
    EARLY_LEVEL.store(level as u8, Ordering::Relaxed);
    if let Some(g) = GLOBAL.get() {
        g.set_level(level);
    }
}

/// Whether lines of `level` are written now.
#[inline]
pub fn enabled(level: Level) -> bool {
    match GLOBAL.get() {
        Some(g) => g.enabled(level),
        None => level as u8 <= EARLY_LEVEL.load(Ordering::Relaxed),
    }
}

/// What the `log_*!` macros call: queue the line (written directly to stderr before
/// `init`).
pub fn emit(level: Level, args: fmt::Arguments<'_>) {
    match GLOBAL.get() {
        Some(g) => g.log(level, args),
        None if enabled(level) => {
            let text = line(SystemTime::now(), level, &args.to_string());
            let _ = std::io::stderr().write_all(text.as_bytes());
        }
        None => {}
    }
}

/// Wait (at most a second) until every line queued so far is written. For exit
/// paths on the main thread; never call it on a worker.
pub fn flush() -> bool {
    GLOBAL.get().is_none_or(|g| g.flush(FLUSH_WAIT))
}

/// Lines dropped so far because the writer was behind.
pub fn dropped() -> u64 {
    GLOBAL.get().map_or(0, Logger::dropped)
}

/// Log at `error`: something failed. `format!` arguments; never blocks.
#[macro_export]
macro_rules! log_error {
    ($($arg:tt)+) => {
        $crate::log::emit($crate::log::Level::Error, ::std::format_args!($($arg)+))
    };
}

/// Log at `warn`: something is wrong but sluice carries on. Never blocks.
#[macro_export]
macro_rules! log_warn {
    ($($arg:tt)+) => {
        $crate::log::emit($crate::log::Level::Warn, ::std::format_args!($($arg)+))
    };
}

/// Log at `info`: a notable event (reload, server back up). Never blocks.
#[macro_export]
macro_rules! log_info {
    ($($arg:tt)+) => {
        $crate::log::emit($crate::log::Level::Info, ::std::format_args!($($arg)+))
    };
}

/// Log at `debug`: detail for chasing a problem. Never blocks.
#[macro_export]
macro_rules! log_debug {
    ($($arg:tt)+) => {
        $crate::log::emit($crate::log::Level::Debug, ::std::format_args!($($arg)+))
    };
}

/// UTC RFC 3339 with milliseconds (civil-from-days, H. Hinnant's algorithm).
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests wait for the writer thread
mod tests {
    use super::*;

    /// Hands every write to the test; with a gate, the first write waits for it.
    struct Out {
        bytes: Sender<Vec<u8>>,
        gate: Option<(Sender<()>, Receiver<()>)>,
    }

    impl Write for Out {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if let Some((entered, open)) = self.gate.take() {
                let _ = entered.send(());
                let _ = open.recv();
            }
            let _ = self.bytes.send(b.to_vec());
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn text(rx: &Receiver<Vec<u8>>) -> String {
        String::from_utf8(rx.try_iter().flatten().collect()).expect("utf-8")
    }

    #[test]
    fn levels_filter_and_a_new_level_takes_effect_at_once() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let out = Out {
            bytes: tx,
            gate: None,
        };
        let log = Logger::start(Level::Warn, Box::new(out), 16).expect("thread");
        log.log(Level::Info, format_args!("hidden {}", 1));
        log.log(Level::Warn, format_args!("shown {}", 2));
        log.log(Level::Error, format_args!("shown {}", 3));
        log.set_level(Level::Debug);
        log.log(Level::Debug, format_args!("now shown {}", 4));
        assert!(log.flush(Duration::from_secs(5)));
        let all = text(&rx);
        let lines: Vec<&str> = all.lines().map(|l| l.split_once(' ').unwrap().1).collect();
        assert_eq!(
            lines,
            [
                "WARN sluice: shown 2",
                "ERROR sluice: shown 3",
                "DEBUG sluice: now shown 4"
            ]
        );
        assert_eq!(log.dropped(), 0);
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_blocking() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let (entered_tx, entered) = crossbeam_channel::bounded(1);
        let (open, open_rx) = crossbeam_channel::bounded(1);
        let out = Out {
            bytes: tx,
            gate: Some((entered_tx, open_rx)),
        };
        let log = Logger::start(Level::Info, Box::new(out), 2).expect("thread");
        log.log(Level::Warn, format_args!("first"));
        // The writer holds "first" and is stuck writing it.
        entered
            .recv_timeout(Duration::from_secs(5))
            .expect("writer");
        for i in 0..7 {
            log.log(Level::Warn, format_args!("queued or dropped {i}"));
        }
        assert_eq!(log.dropped(), 5, "two queued, five dropped");
        open.send(()).unwrap();
        assert!(log.flush(Duration::from_secs(5)));
        let all = text(&rx);
        assert!(all.contains("queued or dropped 1") && !all.contains("dropped 2\n"));
        assert!(all.contains("WARN sluice: 5 log lines dropped"), "{all}");
    }

    #[test]
    fn global_level_before_init() {
        set_level(Level::Error);
        assert!(enabled(Level::Error) && !enabled(Level::Warn));
        set_level(Level::Debug);
        assert!(enabled(Level::Debug));
        set_level(Level::Info);
        assert!(enabled(Level::Info) && !enabled(Level::Debug));
    }

    #[test]
    fn line_format_and_time() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        assert_eq!(rfc3339(t), "2025-11-24T16:00:00.123Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            line(t, Level::Info, "config reloaded (generation 2)"),
            "2025-11-24T16:00:00.123Z INFO sluice: config reloaded (generation 2)\n"
        );
    }
}

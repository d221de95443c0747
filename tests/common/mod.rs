//! Test harness: start the real `sluice` and `sluice-origin` binaries on 127.0.0.1
//! with free ports, learn their bound addresses from the one JSON line each prints,
//! and kill them when the guard drops. Configs come from a builder (`config`), and
//! tests wait for observable state with `wait_until` rather than fixed sleeps. Plus a
//! small raw HTTP/1.1 client (`client`) and a scripted backend (`raw`).
#![allow(clippy::disallowed_methods)] // tests block and sleep freely
#![allow(dead_code)]

pub mod client;
pub mod config;
pub mod raw;
pub mod tls;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use client::{Response, request};
use config::SluiceConfig;

/// User + system clock ticks of process `pid` so far (`/proc/PID/stat`).
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<&str> = after_name.split(' ').collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    f[11].parse::<u64>().expect("utime") + f[12].parse::<u64>().expect("stime")
}

/// Clock ticks per second (`getconf CLK_TCK`).
pub fn ticks_per_s() -> u64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK")
}

/// Raise this test process's open-files limit to its hard limit, at most 20,000
/// (children inherit it).
pub fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(20_000);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

/// Poll `cond` every 10 ms until it holds; panic naming `what` once `timeout` has
/// passed without it. For state that settles asynchronously (admin status, health
/// verdicts, log lines, a released slot): the test goes on as soon as it holds.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    loop {
        if cond() {
            return;
        }
        if start.elapsed() >= timeout {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A child process killed (and reaped) on drop.
pub struct Proc {
    pub child: Child,
    pub stdout: Option<BufReader<ChildStdout>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Send a signal by PID (this process started the child).
    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status();
    }

    /// Wait up to `limit` for exit; returns the exit code if it exited.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Read the first stdout line of a freshly started child, with a deadline.
fn first_line(proc: &mut Proc, what: &str) -> String {
    let mut reader = proc.stdout.take().expect("stdout piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        // Keep draining so the child never blocks on a full pipe.
        let mut sink = Vec::new();
        let _ = reader.read_to_end(&mut sink);
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(line) if !line.is_empty() => line,
        _ => panic!("{what} printed no start-up line"),
    }
}

/// Every `"127.0.0.1:PORT"`-looking quoted string in `line`, in order.
fn quoted_addrs(line: &str) -> Vec<SocketAddr> {
    line.split('"').filter_map(|s| s.parse().ok()).collect()
}

/// A running `sluice-origin` process.
pub struct Origins {
    pub proc: Proc,
    /// (kind, name, addr) per origin, in argument order.
    pub list: Vec<(String, String, SocketAddr)>,
}

impl Origins {
    /// Start origins from specs like `api=127.0.0.1:0,name=a1`.
    pub fn start(specs: &[&str]) -> Origins {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice-origin"))
            .args(specs)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start sluice-origin");
        let stdout = child.stdout.take().map(BufReader::new);
        let mut proc = Proc { child, stdout };
        let line = first_line(&mut proc, "sluice-origin");
        let mut list = Vec::new();
        for entry in line.split('{').skip(2) {
            let field = |key: &str| -> String {
                let pat = format!("\"{key}\":\"");
                let start = entry
                    .find(&pat)
                    .map(|i| i + pat.len())
                    .unwrap_or_else(|| panic!("no {key} in {line}"));
                entry[start..]
                    .split('"')
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            let addr = field("addr").parse().expect("origin addr");
            list.push((field("kind"), field("name"), addr));
        }
        assert_eq!(list.len(), specs.len(), "origin line: {line}");
        Origins { proc, list }
    }

    /// Address of the origin named `name`.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.list
            .iter()
            .find(|o| o.1 == name)
            .map(|o| o.2)
            .unwrap_or_else(|| panic!("no origin {name}"))
    }
}

static DIRS: AtomicUsize = AtomicUsize::new(0);

/// A scratch directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new() -> TempDir {
        let n = DIRS.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sluice-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `sluice check` said of a config.
pub struct Checked {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run `sluice check -c FILE` on `config` (TOML text).
pub fn check(config: &str) -> Checked {
    let dir = TempDir::new();
    let path = dir.0.join("config.toml");
    std::fs::write(&path, config).expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("check")
        .arg("-c")
        .arg(&path)
        .output()
        .expect("run sluice check");
    Checked {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A running `sluice` with its config file.
pub struct Sluice {
    pub proc: Proc,
    pub addr: SocketAddr,
    /// The admin API's address.
    pub admin: SocketAddr,
    /// The TLS listeners' addresses (`tls.listen`), in config order.
    pub tls: Vec<SocketAddr>,
    pub dir: TempDir,
    pub config_path: PathBuf,
}

impl Sluice {
    /// Write `config` (TOML) to a temp file and start sluice on it. The config should
    /// listen on `127.0.0.1:0`.
    pub fn start(config: &str) -> Sluice {
        let dir = TempDir::new();
        let config_path = dir.0.join("config.toml");
        std::fs::write(&config_path, config).expect("write config");
        let log = std::fs::File::create(dir.0.join("stderr.log")).expect("stderr log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("-c")
            .arg(&config_path)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start sluice");
        let stdout = child.stdout.take().map(BufReader::new);
        let mut proc = Proc { child, stdout };
        let line = first_line(&mut proc, "sluice");
        let addrs = quoted_addrs(&line);
        let addr = *addrs
            .first()
            .unwrap_or_else(|| panic!("no address in {line}"));
        let admin = *addrs
            .last()
            .unwrap_or_else(|| panic!("no admin address in {line}"));
        let tls = line
            .split_once("\"tls\":[")
            .and_then(|(_, rest)| rest.split(']').next())
            .map(quoted_addrs)
            .unwrap_or_default();
        Sluice {
            proc,
            addr,
            admin,
            tls,
            dir,
            config_path,
        }
    }

    /// What sluice wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("stderr.log")).unwrap_or_default()
    }
}

impl Sluice {
    /// A config builder (see `config`): loopback, port 0, one worker.
    pub fn builder() -> SluiceConfig {
        SluiceConfig::new()
    }

    /// One admin API call with `Host: 127.0.0.1` on a fresh connection. `headers` are
    /// extra lines ("Name: value\r\n" each; see `bearer`); `body` goes with a
    /// Content-Length.
    pub fn admin(&self, method: &str, path: &str, headers: &str, body: &str) -> Response {
        self.admin_as("127.0.0.1", method, path, headers, body)
    }

    /// `admin` with another `Host`.
    pub fn admin_as(
        &self,
        host: &str,
        method: &str,
        path: &str,
        headers: &str,
        body: &str,
    ) -> Response {
        request(
            self.admin,
            &format!(
                "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
    }

    /// The `/api/v1/status` JSON text; `headers` as for `admin`.
    pub fn status(&self, headers: &str) -> String {
        self.admin("GET", "/api/v1/status", headers, "").text()
    }
}

/// The `Authorization` line for an admin token.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

/// The value of `key` (up to the next `,` or `}`) in the status JSON object of the
/// server `addr`.
pub fn server_field(status: &str, addr: SocketAddr, key: &str) -> String {
    let at = status
        .find(&format!("\"addr\":\"{addr}\""))
        .unwrap_or_else(|| panic!("no server {addr} in {status}"));
    let server = &status[at..];
    let pat = format!("\"{key}\":");
    let from = server
        .find(&pat)
        .unwrap_or_else(|| panic!("no {key} for {addr} in {status}"))
        + pat.len();
    server[from..]
        .split([',', '}'])
        .next()
        .unwrap_or_default()
        .to_string()
}

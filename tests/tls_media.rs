//! Media over TLS (SPEC §10, issue 14): a 64 MiB body arrives byte-identical over
//! TLS (copied through user space, not spliced), an upload relays through TLS, and
//! ffmpeg — a real client no one here wrote — pulls an HLS stream through sluice
//! over HTTPS.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tls::{TestCa, curl, https, section};
use common::{Origins, Proc, Sluice, TempDir, wait_until};

const BIG: u64 = 64 << 20;

#[test]
fn a_64_mib_body_over_tls_is_byte_identical_and_uploads_relay() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let a = ca.leaf(&dir.0, "a", &["a.test"], 90);
    let o = Origins::start(&["vod=127.0.0.1:0,name=v1", "api=127.0.0.1:0,name=a1"]);
    let s = Sluice::builder()
        .pool("vod", |p| p.server(o.addr("v1")))
        .pool("api", |p| p.server(o.addr("a1")))
        .route("echo", "api", |m| m.path_exact("/echo-body"))
        .default_pool("vod")
        .tables(&section("", &[&a]))
        .start();
    let path = "/vod/movie-64MiB.mp4";
    let over_tls = dir.0.join("tls.bin");
    let direct = dir.0.join("direct.bin");
    let mut args = vec!["-o".to_string(), over_tls.display().to_string()];
    args.extend(https(s.tls[0], "a.test", &ca, path));
    let out = curl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let url = format!("http://{}{path}", o.addr("v1"));
    let out = curl(&["-o", &direct.display().to_string(), &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (got, want) = (
        std::fs::read(&over_tls).unwrap(),
        std::fs::read(&direct).unwrap(),
    );
    assert_eq!(want.len() as u64, BIG);
    assert_eq!(got.len(), want.len());
    assert!(got == want, "the body over TLS differs from the origin's");
    // An upload (client → origin through TLS) comes back unchanged.
    let body: Vec<u8> = (0..(3u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let upload = dir.0.join("upload.bin");
    std::fs::write(&upload, &body).unwrap();
    let mut args = vec![
        "--data-binary".to_string(),
        format!("@{}", upload.display()),
        "-H".into(),
        "Content-Type: application/octet-stream".into(),
    ];
    args.extend(https(s.tls[0], "a.test", &ca, "/echo-body"));
    let out = curl(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout == body,
        "upload echoed back differs ({} bytes)",
        out.stdout.len()
    );
}

/// Make a short real HLS stream (MPEG-2 video in MPEG-TS segments) under
/// `root/live/ch1/`.
fn make_hls(root: &std::path::Path) {
    let ch = root.join("live/ch1");
    std::fs::create_dir_all(&ch).unwrap();
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-f", "lavfi"])
        .args(["-i", "testsrc=size=160x90:rate=10", "-t", "6"])
        .args(["-c:v", "mpeg2video", "-f", "hls", "-hls_time", "2"])
        .args(["-hls_playlist_type", "vod", "-hls_segment_filename"])
        .arg(ch.join("seg%d.ts"))
        .arg(ch.join("index.m3u8"))
        .status()
        .expect("ffmpeg is installed (.ci/run installs it)");
    assert!(status.success(), "ffmpeg could not make the test stream");
}

/// Serve `root` over HTTP with Python's `http.server` on a free port.
fn file_origin(root: &std::path::Path) -> (Proc, SocketAddr) {
    let mut child = Command::new("python3")
        .args([
            "-u",
            "-m",
            "http.server",
            "0",
            "--bind",
            "127.0.0.1",
            "--directory",
        ])
        .arg(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("http.server start-up line");
    let port: u16 = line
        .split(" port ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"));
    (
        Proc {
            child,
            stdout: Some(out),
        },
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
}

#[test]
fn ffmpeg_pulls_an_hls_stream_through_sluice_over_https() {
    let dir = TempDir::new();
    let ca = TestCa::new(&dir.0);
    let leaf = ca.leaf(&dir.0, "localhost", &["localhost"], 90);
    let root = dir.0.join("www");
    make_hls(&root);
    let (_origin, origin) = file_origin(&root);
    let log = dir.0.join("access.log");
    let s = Sluice::builder()
        .pool("media", |p| p.server(origin))
        .default_pool("media")
        .access_log(log.display())
        .tables(&section("", &[&leaf]))
        .start();
    let url = format!("https://localhost:{}/live/ch1/index.m3u8", s.tls[0].port());
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-tls_verify",
            "1",
            "-ca_file",
        ])
        .arg(&ca.pem)
        .args(["-i", &url, "-c", "copy", "-f", "null", "-"])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The playlist and its segments went through sluice, over TLS.
    wait_until(
        Duration::from_secs(5),
        "the segments in the access log",
        || {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            text.lines()
                .filter(|l| {
                    l.contains("/live/ch1/seg")
                        && l.contains("\"status\":200")
                        && l.contains("\"tls\":{")
                })
                .count()
                >= 3
        },
    );
}

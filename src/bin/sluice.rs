//! `sluice`: the load balancer. CLI parsing only; the work is in the library.
//!
//! `sluice [-c FILE]` runs; `sluice check [-c FILE]` validates and exits 0/1
//! (warnings, such as an admin API without a token, go to stderr and keep 0).

use std::path::PathBuf;
use std::process::ExitCode;

use sluice::config::Config;
use sluice::server::Server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: sluice [-c FILE]        run the load balancer (FILE defaults to ./config.toml)\n       sluice check [-c FILE]  validate FILE, print every error with its key path";

fn main() -> ExitCode {
    sluice::os::configure_allocator();
    let mut args = std::env::args().skip(1);
    let mut check = false;
    let mut path = PathBuf::from("config.toml");
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "check" => check = true,
            "-c" | "--config" => match args.next() {
                Some(p) => path = PathBuf::from(p),
                None => return usage_error("-c needs a file"),
            },
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    if check {
        return match Config::load(&path) {
            Ok(config) => {
                for w in config.warnings() {
                    eprintln!("sluice: warning: {w}");
                }
                println!("{}: ok", path.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        };
    }
    let server = match Server::start(&path) {
        Ok(s) => s,
        Err(e) => {
            sluice::log::flush();
            eprintln!("sluice: {e}");
            return ExitCode::FAILURE;
        }
    };
    match server.serve_signals() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("sluice: {msg}\n{USAGE}");
    ExitCode::from(2)
}

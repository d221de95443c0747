//! Per-class results: HDR latency histograms (µs, 3 significant digits), byte counts
//! and errors by kind; merged across connections and threads at the end.

use hdrhistogram::Histogram;

/// Kinds of failure counted separately.
pub const ERROR_KINDS: [&str; 6] = [
    "connect",
    "timeout",
    "reset",
    "status_4xx",
    "status_5xx",
    "parse",
];

/// Results of one class.
#[derive(Clone)]
pub struct ClassStats {
    pub latency_us: Histogram<u64>,
    pub requests: u64,
    pub bytes: u64,
    pub errors: [u64; ERROR_KINDS.len()],
}

impl ClassStats {
    pub fn new() -> ClassStats {
        ClassStats {
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
                Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfig is valid"))
            }),
            requests: 0,
            bytes: 0,
            errors: [0; ERROR_KINDS.len()],
        }
    }

    pub fn record(&mut self, micros: u64) {
        let _ = self.latency_us.record(micros.max(1));
    }

    pub fn error(&mut self, kind: usize) {
        self.errors[kind] += 1;
    }

    pub fn merge(&mut self, other: &ClassStats) {
        let _ = self.latency_us.add(&other.latency_us);
        self.requests += other.requests;
        self.bytes += other.bytes;
        for (a, b) in self.errors.iter_mut().zip(other.errors) {
            *a += b;
        }
    }

    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }
}

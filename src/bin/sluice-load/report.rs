//! The results table (stdout) and the same figures as JSON.

use std::fmt::Write as _;

use crate::stats::{ClassStats, ERROR_KINDS};

/// One row of the report.
pub struct Row<'a> {
    pub name: &'a str,
    pub stats: &'a ClassStats,
}

fn pct(s: &ClassStats, q: f64) -> u64 {
    if s.latency_us.is_empty() {
        0
    } else {
        s.latency_us.value_at_quantile(q)
    }
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

/// The table.
pub fn table(rows: &[Row<'_>], secs: f64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<16} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "class",
        "requests",
        "errors",
        "req/s",
        "MB/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms"
    );
    for r in rows {
        let s = r.stats;
        let _ = writeln!(
            out,
            "{:<16} {:>9} {:>7} {:>10.1} {:>9.2} {:>9} {:>9} {:>9} {:>9} {:>9}",
            r.name,
            s.requests,
            s.total_errors(),
            s.requests as f64 / secs,
            s.bytes as f64 / secs / 1e6,
            ms(pct(s, 0.5)),
            ms(pct(s, 0.9)),
            ms(pct(s, 0.99)),
            ms(pct(s, 0.999)),
            ms(if s.latency_us.is_empty() {
                0
            } else {
                s.latency_us.max()
            }),
        );
        let errs: Vec<String> = ERROR_KINDS
            .iter()
            .zip(s.errors)
            .filter(|(_, n)| *n > 0)
            .map(|(k, n)| format!("{k}={n}"))
            .collect();
        if !errs.is_empty() {
            let _ = writeln!(out, "{:<16} errors: {}", "", errs.join(" "));
        }
    }
    out
}

fn json_entry(r: &Row<'_>, secs: f64) -> String {
    let s = r.stats;
    let errors: Vec<String> = ERROR_KINDS
        .iter()
        .zip(s.errors)
        .map(|(k, n)| format!("\"{k}\":{n}"))
        .collect();
    format!(
        "{{\"name\":\"{}\",\"requests\":{},\"errors\":{{{}}},\"error_total\":{},\"rps\":{:.3},\"bytes_per_s\":{:.1},\"latency_us\":{{\"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{},\"max\":{}}}}}",
        r.name.replace('"', "'"),
        s.requests,
        errors.join(","),
        s.total_errors(),
        s.requests as f64 / secs,
        s.bytes as f64 / secs,
        pct(s, 0.5),
        pct(s, 0.9),
        pct(s, 0.99),
        pct(s, 0.999),
        if s.latency_us.is_empty() {
            0
        } else {
            s.latency_us.max()
        },
    )
}

/// The JSON document.
pub fn json(
    classes: &[Row<'_>],
    total: &Row<'_>,
    mode: &str,
    rate: f64,
    secs: f64,
    connections: usize,
) -> String {
    let cls: Vec<String> = classes.iter().map(|r| json_entry(r, secs)).collect();
    format!(
        "{{\"mode\":\"{mode}\",\"rate\":{rate},\"duration_s\":{secs:.3},\"connections\":{connections},\"classes\":[{}],\"total\":{}}}\n",
        cls.join(","),
        json_entry(total, secs)
    )
}

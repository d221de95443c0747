//! `sluice`: the load balancer binary (CLI parsing only).
fn main() {}

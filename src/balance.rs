//! Picking a server inside a pool. Each worker owns one `Balancer` per pool (plain
//! fields, no atomics, no locks); server health comes from the shared `ServerStats`.
//!
//! `round_robin` is smooth weighted round robin (the nginx algorithm): every pick adds
//! each server's weight to its current score, takes the highest, and subtracts the
//! total, which interleaves weights evenly (1:2 gives a b b a b b, not a a b b).

use std::sync::Arc;

use crate::config::{Balance, Pool};
use crate::control::ServerStats;

/// Per-worker selection state for one pool.
#[derive(Debug, Clone)]
pub struct Balancer {
    kind: Balance,
    weights: Vec<i64>,
    current: Vec<i64>,
    rng: u64,
}

impl Balancer {
    /// State for `pool`; `seed` varies per worker so random picks differ.
    pub fn new(pool: &Pool, seed: u64) -> Self {
        let weights: Vec<i64> = pool
            .servers
            .iter()
            .map(|s| i64::from(s.weight.max(1)))
            .collect();
        Balancer {
            kind: pool.balance,
            current: vec![0; weights.len()],
            weights,
            rng: seed | 1,
        }
    }

    /// Choose a server that is up, skipping those in `exclude` (a bitmask of indexes
    /// already tried). `None` when no server qualifies.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn pick(&mut self, servers: &[Arc<ServerStats>], exclude: u64) -> Option<usize> {
        let usable = |i: usize| servers[i].is_up() && (i >= 64 || exclude & (1 << i) == 0);
        match self.kind {
            Balance::Random => {
                let n = servers.len();
                if n == 0 {
                    return None;
                }
                let start = (self.next_random() % n as u64) as usize;
                (0..n).map(|k| (start + k) % n).find(|&i| usable(i))
            }
            // The other kinds fall back to smooth weighted round robin on this worker
            // until the cross-worker balancers take over.
            _ => self.smooth_wrr(usable),
        }
    }

    fn smooth_wrr(&mut self, usable: impl Fn(usize) -> bool) -> Option<usize> {
        let mut total = 0;
        let mut best: Option<usize> = None;
        for i in 0..self.weights.len() {
            if !usable(i) {
                continue;
            }
            self.current[i] += self.weights[i];
            total += self.weights[i];
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] -= total;
        Some(b)
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*: fast, good enough to spread load.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Backend, HashOn};
    use crate::control::ServerState;
    use std::time::Duration;

    fn pool(kind: Balance, weights: &[u32]) -> (Pool, Vec<Arc<ServerStats>>) {
        let servers: Vec<Backend> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| Backend {
                addr: format!("127.0.0.1:{}", 7000 + i).parse().unwrap(),
                weight: w,
            })
            .collect();
        let stats = servers
            .iter()
            .map(|b| Arc::new(ServerStats::new(b.addr)))
            .collect();
        let p = Pool {
            name: "p".into(),
            balance: kind,
            servers,
            max_conns_per_server: 10,
            max_idle_per_server: 1,
            queue_timeout: Duration::from_secs(1),
            retries: 0,
            fallback: None,
            hash_on: HashOn::PathDir,
            hash_balance_factor: None,
            health: None,
            passive: None,
        };
        (p, stats)
    }

    #[test]
    fn smooth_weights_interleave() {
        let (p, stats) = pool(Balance::RoundRobin, &[1, 2]);
        let mut b = Balancer::new(&p, 1);
        let picks: Vec<usize> = (0..6).map(|_| b.pick(&stats, 0).unwrap()).collect();
        assert_eq!(picks, [1, 0, 1, 1, 0, 1]);
    }

    #[test]
    fn skips_down_and_excluded() {
        let (p, stats) = pool(Balance::RoundRobin, &[1, 1, 1]);
        stats[1].set_state(ServerState::Down);
        let mut b = Balancer::new(&p, 1);
        for _ in 0..10 {
            let i = b.pick(&stats, 0b001).unwrap();
            assert_eq!(i, 2);
        }
        stats[2].set_state(ServerState::Draining);
        assert_eq!(b.pick(&stats, 0b001), None);
    }

    #[test]
    fn random_spreads() {
        let (p, stats) = pool(Balance::Random, &[1, 1, 1]);
        let mut b = Balancer::new(&p, 42);
        let mut counts = [0; 3];
        for _ in 0..3000 {
            counts[b.pick(&stats, 0).unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }
}

//! Picking a server inside a pool. Each worker owns one `Balancer` per pool (plain
//! fields, no locks); server state and in-flight counts come from the shared
//! `ServerStats` atomics, read with relaxed loads — so `least_conn`, `p2c` and bounded
//! `consistent_hash` see the load of every worker without any lock.
//!
//! - `round_robin`: smooth weighted round robin (the nginx algorithm): every pick adds
//!   each server's weight to its score, takes the highest and subtracts the total,
//!   interleaving weights evenly (1:2 gives b a b b a b, not a a b b).
//! - `least_conn`: fewest in-flight requests per unit of weight; ties rotate.
//! - `p2c`: two random servers, the less loaded one (per unit of weight).
//! - `consistent_hash`: see `hashring`; bounded by `hash_balance_factor` when set.
//! - `random`: uniform among servers that are up.

use std::sync::Arc;

use std::sync::atomic::Ordering;

use crate::config::{Balance, Pool};
use crate::hashring::{Ring, load_bound};
use crate::stats::ServerStats;

/// The outcome of a pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// Use this server (index into the pool's servers).
    Server(usize),
    /// Servers are up but every one is at its in-flight limit: queue.
    Full,
    /// No server is up (or all were tried).
    NoneUp,
}

impl Pick {
    /// The server, if one was picked.
    pub fn server(self) -> Option<usize> {
        match self {
            Pick::Server(i) => Some(i),
            _ => None,
        }
    }
}

/// Servers one request already tried, so its retries never pick them again. Any
/// pool size: indexes below 64 in a bitmask, higher ones in a short list (a request
/// makes at most `MAX_RETRIES + 1` tries, far fewer than the list holds).
#[derive(Debug, Clone, Copy, Default)]
pub struct Tried {
    low: u64,
    high: [u32; Tried::HIGH],
    high_len: u8,
}

impl Tried {
    const HIGH: usize = 8;

    /// Nothing tried yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record server `i` as tried. Should the list of high indexes ever fill, every
    /// high index counts as tried: never picking a failed server again wins over
    /// trying every server.
    pub fn insert(&mut self, i: usize) {
        if i < 64 {
            self.low |= 1 << i;
        } else if usize::from(self.high_len) < Self::HIGH {
            self.high[usize::from(self.high_len)] = i as u32;
            self.high_len += 1;
        } else {
            self.high_len = u8::MAX;
        }
    }

    /// Whether server `i` was tried.
    #[inline]
    pub fn contains(&self, i: usize) -> bool {
        if i < 64 {
            return self.low & (1 << i) != 0;
        }
        if self.high_len == u8::MAX {
            return true;
        }
        self.high[..usize::from(self.high_len)]
            .iter()
            .any(|&h| h as usize == i)
    }

    /// Forget everything (a fallback pool starts afresh).
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Spread a caller's key hash over the ring (keys may be raw hashes of short strings).
#[inline]
fn mix_key(key: u64) -> u64 {
    crate::hashring::mix(key)
}

/// Per-worker selection state for one pool.
#[derive(Debug, Clone)]
pub struct Balancer {
    kind: Balance,
    weights: Vec<i64>,
    current: Vec<i64>,
    rng: u64,
    ring: Option<Ring>,
    bound_factor: Option<f64>,
    rotate: usize,
}

impl Balancer {
    /// State for `pool`; `seed` varies per worker so random picks differ.
    pub fn new(pool: &Pool, seed: u64) -> Self {
        let weights: Vec<i64> = pool
            .servers
            .iter()
            .map(|s| i64::from(s.weight.max(1)))
            .collect();
        let ring = (pool.balance == Balance::ConsistentHash).then(|| {
            Ring::new(
                &pool
                    .servers
                    .iter()
                    .map(|s| (s.addr, s.weight))
                    .collect::<Vec<_>>(),
            )
        });
        Balancer {
            kind: pool.balance,
            current: vec![0; weights.len()],
            weights,
            rng: seed | 1,
            ring,
            bound_factor: pool.hash_balance_factor,
            rotate: 0,
        }
    }

    /// Choose a server that is up, below `max_in_flight` requests, and not in
    /// `exclude` (the servers this request already tried). `key` is the request's hash for
    /// `consistent_hash` (ignored by the others).
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn pick(
        &mut self,
        servers: &[Arc<ServerStats>],
        exclude: &Tried,
        key: u64,
        max_in_flight: u32,
    ) -> Pick {
        let live = |i: usize| servers[i].is_up() && !exclude.contains(i);
        match self.choose(
            servers,
            |i| live(i) && servers[i].in_flight.load(Ordering::Relaxed) < max_in_flight,
            key,
        ) {
            Some(i) => Pick::Server(i),
            None if (0..servers.len()).any(live) => Pick::Full,
            None => Pick::NoneUp,
        }
    }

    fn choose(
        &mut self,
        servers: &[Arc<ServerStats>],
        usable: impl Fn(usize) -> bool,
        key: u64,
    ) -> Option<usize> {
        let n = servers.len();
        if n == 0 {
            return None;
        }
        match self.kind {
            Balance::RoundRobin => self.smooth_wrr(usable),
            Balance::Random => {
                let start = (self.next_random() % n as u64) as usize;
                (0..n).map(|k| (start + k) % n).find(|&i| usable(i))
            }
            Balance::LeastConn => self.least_conn(servers, usable),
            Balance::P2c => self.p2c(servers, usable),
            Balance::ConsistentHash => self.consistent_hash(servers, usable, key),
        }
    }

    /// The usable server with the lowest load per weight, scanning from a rotating
    /// start so that ties spread.
    // HOT PATH: no alloc, no lock, no blocking call.
    #[inline]
    fn least_conn(
        &mut self,
        servers: &[Arc<ServerStats>],
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let n = servers.len();
        self.rotate = (self.rotate + 1) % n;
        let mut best: Option<(usize, u64)> = None;
        for k in 0..n {
            let i = (self.rotate + k) % n;
            if !usable(i) {
                continue;
            }
            let score = self.load_score(servers, i);
            if best.is_none_or(|(_, b)| score < b) {
                best = Some((i, score));
            }
        }
        best.map(|(i, _)| i)
    }

    /// The less loaded of two random servers (power of two choices).
    // HOT PATH: no alloc, no lock, no blocking call.
    #[inline]
    fn p2c(
        &mut self,
        servers: &[Arc<ServerStats>],
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let n = servers.len();
        let a = (self.next_random() % n as u64) as usize;
        let b = (a + 1 + (self.next_random() % (n as u64 - 1).max(1)) as usize) % n;
        match (usable(a), usable(b) && a != b) {
            (true, true) => Some(
                if self.load_score(servers, b) < self.load_score(servers, a) {
                    b
                } else {
                    a
                },
            ),
            (true, false) => Some(a),
            (false, true) => Some(b),
            // Both unusable: fall back to a scan from a random start.
            (false, false) => (0..n).map(|k| (a + k) % n).find(|&i| usable(i)),
        }
    }

    /// The ring's server for `key`, skipping servers over the load bound when the
    /// pool has one.
    // HOT PATH: no alloc, no lock, no blocking call.
    #[inline]
    fn consistent_hash(
        &self,
        servers: &[Arc<ServerStats>],
        usable: impl Fn(usize) -> bool,
        key: u64,
    ) -> Option<usize> {
        let ring = self.ring.as_ref()?;
        let Some(factor) = self.bound_factor else {
            return ring.find(mix_key(key), usable);
        };
        let (mut total, mut up) = (0u64, 0usize);
        for (i, s) in servers.iter().enumerate() {
            if usable(i) {
                total += u64::from(s.in_flight.load(Ordering::Relaxed));
                up += 1;
            }
        }
        let bound = load_bound(factor, total, up);
        ring.find(mix_key(key), |i| {
            usable(i) && u64::from(servers[i].in_flight.load(Ordering::Relaxed)) < bound
        })
    }

    /// In-flight requests per unit of weight, scaled to stay integral.
    fn load_score(&self, servers: &[Arc<ServerStats>], i: usize) -> u64 {
        let load = u64::from(servers[i].in_flight.load(Ordering::Relaxed));
        load * 1_000_000 / self.weights[i].max(1) as u64
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
            max_queue: 1024,
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
        let picks: Vec<usize> = (0..6)
            .map(|_| b.pick(&stats, &Tried::new(), 0, u32::MAX).server().unwrap())
            .collect();
        assert_eq!(picks, [1, 0, 1, 1, 0, 1]);
    }

    #[test]
    fn skips_down_and_excluded() {
        let (p, stats) = pool(Balance::RoundRobin, &[1, 1, 1]);
        stats[1].set_healthy(false);
        let mut b = Balancer::new(&p, 1);
        let mut tried = Tried::new();
        tried.insert(0);
        for _ in 0..10 {
            let i = b.pick(&stats, &tried, 0, u32::MAX).server().unwrap();
            assert_eq!(i, 2);
        }
        stats[2].set_admin(crate::stats::AdminState::Draining);
        assert_eq!(b.pick(&stats, &tried, 0, u32::MAX), Pick::NoneUp);
    }

    #[test]
    fn tried_servers_beyond_64_are_never_picked_again() {
        let weights = [1u32; 100];
        let (p, stats) = pool(Balance::RoundRobin, &weights);
        let mut b = Balancer::new(&p, 1);
        // A request that failed on 64 of them (as many retries as a bitmask holds)
        // and then on five more above index 63.
        let mut tried = Tried::new();
        for i in (0..64).chain([64, 65, 70, 80, 99]) {
            tried.insert(i);
        }
        for _ in 0..200 {
            let i = b.pick(&stats, &tried, 0, u32::MAX).server().unwrap();
            assert!(i >= 64 && !tried.contains(i), "picked tried server {i}");
        }
        let mut few = Tried::new();
        for i in [64, 65, 99, 70] {
            few.insert(i);
            assert!(few.contains(i));
        }
        assert!(!few.contains(66) && !few.contains(1));
    }

    #[test]
    fn random_spreads() {
        let (p, stats) = pool(Balance::Random, &[1, 1, 1]);
        let mut b = Balancer::new(&p, 42);
        let mut counts = [0; 3];
        for _ in 0..3000 {
            counts[b.pick(&stats, &Tried::new(), 0, u32::MAX).server().unwrap()] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }

    #[test]
    fn least_conn_avoids_the_busy_server() {
        let (p, stats) = pool(Balance::LeastConn, &[1, 1, 1]);
        let mut b = Balancer::new(&p, 1);
        stats[0].in_flight.store(5, Ordering::Relaxed);
        for _ in 0..8 {
            let i = b.pick(&stats, &Tried::new(), 0, u32::MAX).server().unwrap();
            assert_ne!(i, 0);
            stats[i].in_flight.fetch_add(1, Ordering::Relaxed);
        }
        // 8 picks on two idle servers beside one at 5: the two end level, below 5.
        let (l1, l2) = (
            stats[1].in_flight.load(Ordering::Relaxed),
            stats[2].in_flight.load(Ordering::Relaxed),
        );
        assert!(l1.abs_diff(l2) <= 1, "{l1} {l2}");
    }

    #[test]
    fn p2c_spreads_within_15_percent() {
        let (p, stats) = pool(Balance::P2c, &[1, 1, 1]);
        let mut b = Balancer::new(&p, 7);
        let mut counts = [0u32; 3];
        for _ in 0..3000 {
            counts[b.pick(&stats, &Tried::new(), 0, u32::MAX).server().unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (850..=1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn consistent_hash_is_sticky_and_bounded() {
        let (mut p, stats) = pool(Balance::ConsistentHash, &[1, 1, 1, 1]);
        let mut b = Balancer::new(&p, 1);
        let key = crate::hashring::stable_hash(b"/live/ch7/");
        let first = b
            .pick(&stats, &Tried::new(), key, u32::MAX)
            .server()
            .unwrap();
        for _ in 0..20 {
            assert_eq!(
                b.pick(&stats, &Tried::new(), key, u32::MAX),
                Pick::Server(first)
            );
        }
        // Bounded: one very hot key whose requests pile up never pushes a server past
        // ceil(1.25 x average).
        p.hash_balance_factor = Some(1.25);
        let mut b = Balancer::new(&p, 1);
        for n in 1..=400u64 {
            let i = b
                .pick(&stats, &Tried::new(), key, u32::MAX)
                .server()
                .unwrap();
            stats[i].in_flight.fetch_add(1, Ordering::Relaxed);
            let max = stats
                .iter()
                .map(|s| u64::from(s.in_flight.load(Ordering::Relaxed)))
                .max()
                .unwrap();
            assert!(
                max as f64 <= (1.25 * n as f64 / 4.0).ceil() + 1.0,
                "after {n}: max {max}"
            );
        }
    }
}

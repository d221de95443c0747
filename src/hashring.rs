//! Consistent-hash ring with bounded loads ("Consistent Hashing with Bounded Loads",
//! Mirrokni, Thorup, Zadimoghaddam, 2016).
//!
//! The ring is a sorted array of virtual-node points, each derived only from the
//! server's address and a replica number, so two sluice processes with the same
//! servers build the same ring and send a key to the same server (cache affinity
//! survives ECMP in front of a fleet). Removing one of N servers moves only the keys
//! it owned (~1/N). With a balance factor c, a server is skipped while its in-flight
//! load is at or above ceil(c × average); the walk continues clockwise.

use std::net::SocketAddr;

/// Virtual nodes per unit of weight.
pub const POINTS_PER_WEIGHT: u32 = 160;

/// A stable 64-bit hash (FNV-1a with a splitmix64 finaliser for avalanche); stable
/// across processes, builds and platforms, unlike `std`'s `DefaultHasher`.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    fnv1a(bytes.iter().copied())
}

/// `stable_hash` of the ASCII-lower-cased bytes, without copying them (host names
/// compare case-insensitively, so `Example.COM` and `example.com` hash alike).
pub fn stable_hash_ignore_case(bytes: &[u8]) -> u64 {
    fnv1a(bytes.iter().map(u8::to_ascii_lowercase))
}

fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// splitmix64 finaliser.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A ring over a pool's servers.
#[derive(Debug, Clone)]
pub struct Ring {
    points: Vec<(u64, u32)>,
}

impl Ring {
    /// Build from (address, weight) pairs; indexes in the ring are positions in `servers`.
    pub fn new(servers: &[(SocketAddr, u32)]) -> Ring {
        let mut points = Vec::new();
        for (idx, (addr, weight)) in servers.iter().enumerate() {
            let base = stable_hash(addr.to_string().as_bytes());
            for replica in 0..POINTS_PER_WEIGHT * (*weight).max(1) {
                points.push((mix(base ^ mix(u64::from(replica) + 1)), idx as u32));
            }
        }
        points.sort_unstable();
        Ring { points }
    }

    /// Walk clockwise from `key` and return the first server index accepted by
    /// `eligible`, visiting each point at most once.
    // HOT PATH: no alloc, no lock, no blocking call.
    pub fn find(&self, key: u64, mut eligible: impl FnMut(usize) -> bool) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let start = self.points.partition_point(|&(h, _)| h < key);
        let n = self.points.len();
        let mut last = u32::MAX;
        for k in 0..n {
            let (_, idx) = self.points[(start + k) % n];
            // Neighbouring points often belong to the same server: test it once.
            if idx != last {
                if eligible(idx as usize) {
                    return Some(idx as usize);
                }
                last = idx;
            }
        }
        None
    }
}

/// Largest in-flight load a server may have and still take a new request under
/// bounded loads: ceil(factor × (total + 1) / servers_up).
pub fn load_bound(factor: f64, total_in_flight: u64, servers_up: usize) -> u64 {
    if servers_up == 0 {
        return 0;
    }
    let avg = (total_in_flight + 1) as f64 / servers_up as f64;
    (factor * avg).ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(n: usize) -> Vec<(SocketAddr, u32)> {
        (0..n)
            .map(|i| (format!("10.0.0.{}:80", i + 1).parse().unwrap(), 1))
            .collect()
    }

    #[test]
    fn same_servers_same_ring() {
        let a = Ring::new(&addrs(4));
        let b = Ring::new(&addrs(4));
        for k in 0..1000u64 {
            let key = stable_hash(format!("/live/ch{k}/").as_bytes());
            assert_eq!(a.find(key, |_| true), b.find(key, |_| true));
        }
    }

    #[test]
    fn removing_one_server_moves_only_its_keys() {
        let four = addrs(4);
        let ring4 = Ring::new(&four);
        let three: Vec<_> = four[..3].to_vec();
        let ring3 = Ring::new(&three);
        let mut moved = 0;
        for k in 0..10_000u64 {
            let key = stable_hash(format!("key{k}").as_bytes());
            let before = ring4.find(key, |_| true).unwrap();
            let after = ring3.find(key, |_| true).unwrap();
            if before != 3 {
                assert_eq!(before, after, "key {k} moved though its server stayed");
            } else {
                moved += 1;
            }
        }
        assert!((1500..3500).contains(&moved), "moved {moved} of 10000");
    }

    #[test]
    fn spread_is_even() {
        let ring = Ring::new(&addrs(4));
        let mut counts = [0u32; 4];
        for k in 0..40_000u64 {
            counts[ring.find(stable_hash(&k.to_le_bytes()), |_| true).unwrap()] += 1;
        }
        assert!(
            counts.iter().all(|&c| (8_000..12_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn bound() {
        assert_eq!(load_bound(1.25, 0, 4), 1);
        assert_eq!(load_bound(1.25, 99, 4), 32);
        assert_eq!(load_bound(2.0, 10, 0), 0);
    }
}

//! The bounds of every numeric key, and why each is where it is. A value outside them
//! is a config error naming its key; inside them nothing downstream can overflow,
//! panic or allocate without limit. Durations are bounded by
//! `units::MAX_DURATION` (365 days).

use std::time::Duration;

/// Most worker threads (`server.workers`). Each is a thread with its own runtime,
/// io_uring ring and buffer pools; more than this is a typo, not a machine.
pub const MAX_WORKERS: i64 = 1024;

/// Most client connections (`server.max_connections`), whole process: beyond the
/// open-files limit of any real host.
pub const MAX_CONNECTIONS: i64 = 10_000_000;

/// Smallest `server.limits.max_header_bytes`: a request line and a `Host` header
/// must fit.
pub const MIN_HEADER_BYTES: u64 = 256;

/// Largest `server.limits.max_header_bytes`: 1 MiB. Every connection reading a head
/// holds a buffer of this size plus one from its worker's pool, so the value is
/// multiplied by the connections in flight (10 000 of them at 1 MiB is already
/// 10 GiB); heads of real clients are a few KiB, and servers commonly cap them at
/// 8–64 KiB.
pub const MAX_HEADER_BYTES_LIMIT: u64 = 1 << 20;

/// Most header fields per request (`server.limits.max_headers`): the parser's
/// fixed capacity, `http::request::MAX_HEADERS` (a unit test keeps the two equal).
/// A larger value would be capped silently, so it is an error instead.
pub const MAX_MAX_HEADERS: i64 = 100;

/// Most upstream connections per server (`pool.max_conns_per_server`); the in-flight
/// count is a `u32`.
pub const MAX_CONNS_PER_SERVER: i64 = 1_000_000;

/// Most pooled idle connections per server and worker (`pool.max_idle_per_server`).
pub const MAX_IDLE_PER_SERVER: i64 = 1_000_000;

/// Most requests waiting for a slot in one pool (`pool.max_queue`). Each waiting
/// request holds a client connection, so more than `MAX_CONNECTIONS` can never wait.
pub const MAX_MAX_QUEUE: i64 = MAX_CONNECTIONS;

/// Most retries a pool may ask for (`pool.retries`).
pub const MAX_RETRIES: i64 = 5;

/// Largest server weight. Smooth weighted round robin adds weights into `i64`
/// counters, far from overflow at this size.
pub const MAX_WEIGHT: i64 = 1000;

/// Largest sum of server weights in a `consistent_hash` pool. Each worker builds a
/// ring of `hashring::POINTS_PER_WEIGHT` (160; a unit test keeps it so) points per unit of weight: 10 000 is
/// 1.6 M points, about 25 MiB per worker, and a walk of the ring stays bounded by
/// that. Without the bound, 1000 servers at weight 1000 would ask for 2.5 GiB per
/// worker.
pub const MAX_RING_WEIGHT: i64 = 10_000;

/// Shortest `pool.health.interval`: each interval opens a connection to every
/// server, so a near-zero interval is a probe flood and a busy health thread.
pub const MIN_HEALTH_INTERVAL: Duration = Duration::from_millis(10);

/// Most consecutive results `pool.health.rise` / `fall` may require.
pub const MAX_RISE_FALL: i64 = 100;

/// Most failures in a row `pool.passive.consecutive_failures` may require.
pub const MAX_CONSECUTIVE_FAILURES: i64 = 1000;

/// Most `[[pool]]` entries. Far beyond a real farm (tens of pools), and it keeps two
/// things cheap: validation looks names up linearly (pool names, fallbacks, each
/// route's pool), and the classifier names a pool by a `u16`, so compiling routes
/// cannot fail.
pub const MAX_POOLS: usize = 4096;

/// Most `[[route]]` entries. A request tries routes in file order, so a real config
/// has tens; the bound also keeps a route index in a `u16` (`Classified::route`).
pub const MAX_ROUTES: usize = 4096;

/// Longest `server.busy_poll`: 10 ms. Spinning only pays while the next event is
/// closer than a sleep and wake-up (tens of microseconds); a budget in milliseconds
/// only burns a core, and a longer one delays the worker's own timers, which the
/// spin loop lets run about once a millisecond.
pub const MAX_BUSY_POLL: Duration = Duration::from_millis(10);

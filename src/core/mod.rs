//! The per-core runtime layer, below both `proxy` and `worker`: one worker's
//! context (`Ctx`: its config view, pools and counters), its coarse timers and clock
//! (the only way the data path reaches time, passed explicitly), its buffer pools,
//! the timed socket helpers built on them, and the guards that isolate a panicking
//! connection and count in-flight work, the adaptive busy-poll spinner, and the
//! park hint that gathers completions while many requests are in flight.

pub mod bufs;
pub mod ctx;
pub mod gather;
pub mod guard;
pub mod io;
pub mod spin;
pub mod timers;

//! The admin's connection slots: at most `limit` connections open at once, each
//! slot held by a guard that gives it back on drop, so a connection that ends by
//! error, by timeout or by a panic unwinding through its handler never leaks one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A counter of slots in use, shared by the admin's tasks.
#[derive(Debug, Clone)]
pub struct Slots {
    used: Arc<AtomicUsize>,
    limit: usize,
}

/// One slot; released when dropped.
#[derive(Debug)]
pub struct Slot {
    used: Arc<AtomicUsize>,
}

impl Slots {
    /// `limit` slots, none in use.
    pub fn new(limit: usize) -> Slots {
        Slots {
            used: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Take a slot, or `None` when all are in use.
    pub fn try_take(&self) -> Option<Slot> {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.limit).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot {
                used: Arc::clone(&self.used),
            })
    }

    /// Slots in use.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::Slots;

    #[test]
    fn limit_and_release() {
        let slots = Slots::new(2);
        let a = slots.try_take().expect("first");
        let _b = slots.try_take().expect("second");
        assert!(slots.try_take().is_none());
        drop(a);
        assert_eq!(slots.in_use(), 1);
        assert!(slots.try_take().is_some());
    }

    #[test]
    fn a_panicking_handler_gives_its_slot_back() {
        let slots = Slots::new(1);
        let held = slots.clone();
        let joined = std::thread::spawn(move || {
            let _slot = held.try_take().expect("free");
            panic!("handler bug");
        })
        .join();
        assert!(joined.is_err(), "the handler panicked");
        assert_eq!(slots.in_use(), 0);
        assert!(slots.try_take().is_some(), "slot leaked by the panic");
    }
}

//! A worker's end of its control channel. Config generations and shutdown are never
//! dropped (the channel is unbounded; see `Fanout::broadcast`), several queued
//! generations are coalesced into the newest one, and a generation the worker could
//! not build is kept and retried, so a worker never stays on an old generation
//! silently: the generation each worker runs is published for the control plane.
//!
//! Worker-thread only, and never blocking: `try_recv` and `Cell`s.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::{Command, Snapshot};

/// Wait this long before building a generation that failed once again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// One worker's control messages.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Command>,
    /// The generation each worker runs (this one writes `running[worker]`).
    running: Arc<[AtomicU64]>,
    worker: usize,
    /// The newest generation received and not built yet.
    pending: RefCell<Option<Arc<Snapshot>>>,
    /// When a failed `pending` may be tried again.
    retry_at: Cell<Option<Instant>>,
    /// The last generation whose failure was logged (once per generation).
    warned: Cell<u64>,
}

/// Commands ready now: every non-`Apply` message in arrival order, then at most one
/// `Apply` carrying the newest generation.
pub struct Drain<'a> {
    inbox: &'a Inbox,
    apply_given: bool,
}

impl Inbox {
    pub(super) fn new(rx: Receiver<Command>, running: Arc<[AtomicU64]>, worker: usize) -> Inbox {
        Inbox {
            rx,
            running,
            worker,
            pending: RefCell::new(None),
            retry_at: Cell::new(None),
            warned: Cell::new(0),
        }
    }

    /// Take what arrived (never blocks).
    pub fn drain(&self) -> Drain<'_> {
        Drain {
            inbox: self,
            apply_given: false,
        }
    }

    /// This worker now serves `generation`.
    pub fn applied(&self, generation: u64) {
        if let Some(slot) = self.running.get(self.worker) {
            slot.fetch_max(generation, Ordering::Release);
        }
    }

    /// Building `snapshot` failed with `why`: keep it (unless a newer generation
    /// arrived meanwhile) and try again after `RETRY_AFTER`. Logged once per
    /// generation; the published running generation shows the lag.
    pub fn failed(&self, snapshot: Arc<Snapshot>, why: &str) {
        if self.warned.get() != snapshot.generation {
            self.warned.set(snapshot.generation);
            crate::log_error!(
                "worker {}: config generation {} not applied yet (retrying every {:?}): {why}",
                self.worker,
                snapshot.generation,
                RETRY_AFTER
            );
        }
        let mut pending = self.pending.borrow_mut();
        if pending
            .as_ref()
            .is_none_or(|p| p.generation <= snapshot.generation)
        {
            *pending = Some(snapshot);
            self.retry_at.set(Some(Instant::now() + RETRY_AFTER));
        }
    }

    fn keep_newest(&self, snapshot: Arc<Snapshot>) {
        let mut pending = self.pending.borrow_mut();
        if pending
            .as_ref()
            .is_none_or(|p| p.generation < snapshot.generation)
        {
            *pending = Some(snapshot);
            self.retry_at.set(None);
        }
    }

    fn take_due(&self) -> Option<Arc<Snapshot>> {
        if self.retry_at.get().is_some_and(|t| Instant::now() < t) {
            return None;
        }
        self.retry_at.set(None);
        self.pending.borrow_mut().take()
    }
}

impl Iterator for Drain<'_> {
    type Item = Command;

    fn next(&mut self) -> Option<Command> {
        loop {
            match self.inbox.rx.try_recv() {
                Ok(Command::Apply(s)) => self.inbox.keep_newest(s),
                Ok(other) => return Some(other),
                Err(_) => break,
            }
        }
        if self.apply_given {
            return None;
        }
        self.apply_given = true;
        self.inbox.take_due().map(Command::Apply)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::{Command, Fanout, Snapshot};
    use crate::config::Config;

    fn snap(generation: u64) -> Arc<Snapshot> {
        let config = Config::from_toml_str("").expect("defaults");
        Arc::new(Snapshot::new(generation, Arc::new(config), None))
    }

    fn applies(cmds: &[Command]) -> Vec<u64> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Apply(s) => Some(s.generation),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn nothing_is_dropped_behind_a_flood_and_generations_coalesce() {
        let (fanout, mut inboxes) = Fanout::new(1, 1);
        let inbox = inboxes.remove(0);
        for i in 0..1000u16 {
            assert!(fanout.broadcast(&Command::CloseIdle(([127, 0, 0, 1], i).into())));
        }
        assert!(fanout.broadcast(&Command::Apply(snap(2))));
        assert!(fanout.broadcast(&Command::Apply(snap(3))));
        assert!(fanout.broadcast(&Command::Shutdown));
        let got: Vec<Command> = inbox.drain().collect();
        assert_eq!(got.len(), 1002, "1000 CloseIdle, Shutdown, one Apply");
        assert!(matches!(got[1000], Command::Shutdown));
        assert_eq!(
            applies(&got),
            vec![3],
            "only the newest generation is built"
        );
        inbox.applied(3);
        assert_eq!(fanout.running(), vec![3]);
    }

    #[test]
    fn a_failed_generation_is_retried_until_built_or_superseded() {
        let (fanout, mut inboxes) = Fanout::new(1, 1);
        let inbox = inboxes.remove(0);
        fanout.broadcast(&Command::Apply(snap(2)));
        let first: Vec<Command> = inbox.drain().collect();
        assert_eq!(applies(&first), vec![2]);
        inbox.failed(snap(2), "test");
        // Not retried within RETRY_AFTER, nor twice in one drain.
        assert!(inbox.drain().next().is_none());
        inbox.retry_at.set(Some(std::time::Instant::now()));
        assert_eq!(applies(&inbox.drain().collect::<Vec<_>>()), vec![2]);
        inbox.failed(snap(2), "test");
        // A newer generation is tried at once.
        fanout.broadcast(&Command::Apply(snap(3)));
        assert_eq!(applies(&inbox.drain().collect::<Vec<_>>()), vec![3]);
        assert_eq!(fanout.running(), vec![1], "still running generation 1");
    }
}

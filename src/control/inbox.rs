//! A worker's end of its control channel. Config generations and shutdown are never
//! dropped (the channel is unbounded; see `Fanout::broadcast`) and several queued
//! generations are coalesced into the newest one. Building a generation cannot fail
//! (validation compiled everything), so a worker always ends on the newest one; the
//! generation each worker runs is published for the control plane.
//!
//! Worker-thread only, and never blocking: `try_recv` and `Cell`s.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crossbeam_channel::Receiver;

use super::{Command, Snapshot};

/// One worker's control messages.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Command>,
    /// The generation each worker runs (this one writes `running[worker]`).
    running: Arc<[AtomicU64]>,
    worker: usize,
    /// The newest generation received and not built yet.
    pending: RefCell<Option<Arc<Snapshot>>>,
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

    fn keep_newest(&self, snapshot: Arc<Snapshot>) {
        let mut pending = self.pending.borrow_mut();
        if pending
            .as_ref()
            .is_none_or(|p| p.generation < snapshot.generation)
        {
            *pending = Some(snapshot);
        }
    }

    fn take_newest(&self) -> Option<Arc<Snapshot>> {
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
        self.inbox.take_newest().map(Command::Apply)
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
}

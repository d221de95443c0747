//! Rise/fall hysteresis for active health checks (HAProxy semantics): a server that
//! is up goes down after `fall` consecutive failures; one that is down comes back
//! after `rise` consecutive passes. Pure and clock-free.

/// The verdict tracker of one server.
#[derive(Debug, Clone, Copy)]
pub struct Hysteresis {
    rise: u32,
    fall: u32,
    up: bool,
    run: u32,
}

impl Hysteresis {
    /// Start in `up` state (servers start up, SPEC §5).
    pub fn new(rise: u32, fall: u32, up: bool) -> Self {
        Hysteresis {
            rise: rise.max(1),
            fall: fall.max(1),
            up,
            run: 0,
        }
    }

    /// Current verdict.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Record one check result; returns the new verdict when it changed.
    pub fn observe(&mut self, passed: bool) -> Option<bool> {
        if passed == self.up {
            self.run = 0;
            return None;
        }
        self.run += 1;
        let needed = if self.up { self.fall } else { self.rise };
        if self.run >= needed {
            self.up = passed;
            self.run = 0;
            return Some(passed);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_after_fall_failures_and_rises_after_rise_passes() {
        let mut h = Hysteresis::new(2, 3, true);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None); // a pass breaks the run
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(false), Some(false));
        assert!(!h.is_up());
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(false), None);
        assert_eq!(h.observe(true), None);
        assert_eq!(h.observe(true), Some(true));
        assert!(h.is_up());
    }
}

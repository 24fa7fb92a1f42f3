//! The engine's notion of now: wall clock in live mode, a simulated clock in paper replays.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// A source of "now" in ms since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Now.
    fn now_ms(&self) -> i64;
    /// Whether this is simulated time (waits are skipped, not slept).
    fn is_simulated(&self) -> bool;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
    fn is_simulated(&self) -> bool {
        false
    }
}

/// A clock the replay driver moves forward.
#[derive(Clone, Debug, Default)]
pub struct SimClock(Arc<AtomicI64>);

impl SimClock {
    /// Starts at `ms`.
    pub fn new(ms: i64) -> Self {
        SimClock(Arc::new(AtomicI64::new(ms)))
    }
    /// Moves to `ms` (never backwards).
    pub fn advance_to(&self, ms: i64) {
        self.0.fetch_max(ms, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn is_simulated(&self) -> bool {
        true
    }
}

//! Reconnect delays: exponential with "equal jitter" (half the step fixed, half random), so a
//! fleet of connections that dropped together does not reconnect in lockstep, and no delay is
//! ever zero.

use std::time::Duration;

/// Exponential backoff with jitter.
#[derive(Clone, Debug)]
pub struct Backoff {
    base_ms: u64,
    max_ms: u64,
    attempt: u32,
}

impl Backoff {
    /// Starts at `base_ms`, doubles per failed attempt, never above `max_ms`.
    pub fn new(base_ms: u64, max_ms: u64) -> Backoff {
        Backoff {
            base_ms: base_ms.max(1),
            max_ms: max_ms.max(base_ms.max(1)),
            attempt: 0,
        }
    }

    /// The delay before the next attempt; `random` is any random number (tests pass fixed
    /// ones).
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let step = self
            .base_ms
            .saturating_mul(1u64 << self.attempt.min(20))
            .min(self.max_ms);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        Duration::from_millis(step - half + random % (half + 1))
    }

    /// A connection stayed up: the next failure starts from `base_ms` again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_stay_jittered_within_bounds_and_reset() {
        let mut b = Backoff::new(100, 1_000);
        let lows: Vec<u64> = (0..6).map(|_| b.next_delay(0).as_millis() as u64).collect();
        assert_eq!(lows, vec![50, 100, 200, 400, 500, 500]);
        let mut b = Backoff::new(100, 1_000);
        let highs: Vec<u64> = (0..6)
            .map(|_| b.next_delay(u64::MAX).as_millis() as u64)
            .collect();
        for (lo, hi) in lows.iter().zip(&highs) {
            assert!(hi >= lo && *hi <= 2 * lo, "{lo} {hi}");
        }
        b.reset();
        assert_eq!(b.next_delay(0), Duration::from_millis(50));
    }
}

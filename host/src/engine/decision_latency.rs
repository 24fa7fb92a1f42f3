//! Decision-to-wire latency of live trades: from the last book response of the poll that
//! decided a trade arriving at the host to the later of its two order writes being handed to
//! the transport. Kept as the most recent samples (bounded), for the bench and the API.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many recent samples are kept.
const KEEP: usize = 4096;

/// Recent decision-to-wire samples.
#[derive(Default)]
pub(super) struct DecisionLatency {
    samples: Mutex<VecDeque<Duration>>,
}

impl DecisionLatency {
    /// Records one trade: `book_at` when the deciding book arrived, `writes` when each leg's
    /// order write left. A trade with a leg that never reached the wire (refused before
    /// sending) is not a sample.
    pub(super) fn record(&self, book_at: Option<Instant>, writes: [Option<Instant>; 2]) {
        let (Some(t0), [Some(a), Some(b)]) = (book_at, writes) else {
            return;
        };
        let d = a.max(b).saturating_duration_since(t0);
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() == KEEP {
            s.pop_front();
        }
        s.push_back(d);
        tracing::debug!(micros = d.as_micros() as u64, "decision to wire");
    }

    /// The kept samples, oldest first.
    pub(super) fn samples(&self) -> Vec<Duration> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect()
    }
}

impl super::setup::Engine {
    /// Recent decision-to-wire times of live trades (both legs sent), oldest first.
    pub fn decision_to_wire(&self) -> Vec<Duration> {
        self.decision_latency.samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_runs_to_the_later_write_and_needs_both() {
        let l = DecisionLatency::default();
        let t0 = Instant::now();
        let a = t0 + Duration::from_micros(300);
        let b = t0 + Duration::from_micros(700);
        l.record(Some(t0), [Some(b), Some(a)]);
        l.record(Some(t0), [Some(a), None]);
        l.record(None, [Some(a), Some(b)]);
        assert_eq!(l.samples(), vec![Duration::from_micros(700)]);
    }

    #[test]
    fn only_the_most_recent_are_kept() {
        let l = DecisionLatency::default();
        let t0 = Instant::now();
        for i in 0..(KEEP as u64 + 10) {
            let w = t0 + Duration::from_micros(i);
            l.record(Some(t0), [Some(w), Some(w)]);
        }
        let s = l.samples();
        assert_eq!(s.len(), KEEP);
        assert_eq!(s[0], Duration::from_micros(10));
    }
}

//! Decision-to-wire latency of live trades: from the book that decided a trade arriving at
//! the host (the last REST book response of the poll, or the websocket frame) to the later of
//! its two order writes being handed to the transport. Kept as the most recent samples
//! (bounded), for the bench and the API, each with where its time went ([`Stamps`]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many recent samples are kept.
const KEEP: usize = 4096;

/// The stages a decision passes on its way to the wire, in order. A stage's time is the span
/// from the previous stamped stage to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// The venue plugin parsed the frame (streams only).
    Parsed,
    /// The stream driver took the update off its queue (streams only).
    Dequeued,
    /// Books applied and the strategy answered.
    Decided,
    /// The risk gate admitted the trade (reservation, trade id).
    Admitted,
    /// The trade runner picked the trade up.
    Started,
    /// Both orders built (signed) for the venues.
    Prepared,
    /// The trade and both orders journaled (one transaction; on live venues one row, its
    /// intent, committed without waiting for the disk, see
    /// `executor::journal_unsynced_then_send`).
    Journaled,
    /// The later of the two order writes handed to the transport.
    Wire,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 8] = [
        Stage::Parsed,
        Stage::Dequeued,
        Stage::Decided,
        Stage::Admitted,
        Stage::Started,
        Stage::Prepared,
        Stage::Journaled,
        Stage::Wire,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Parsed => "parsed",
            Stage::Dequeued => "dequeued",
            Stage::Decided => "decided",
            Stage::Admitted => "admitted",
            Stage::Started => "started",
            Stage::Prepared => "prepared",
            Stage::Journaled => "journaled",
            Stage::Wire => "wire",
        }
    }
}

/// When one decision passed each stage; `book` is when the deciding book arrived.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stamps {
    /// The deciding book's arrival (frame read off the socket, or REST response).
    pub book: Option<Instant>,
    at: [Option<Instant>; Stage::ALL.len()],
}

impl Stamps {
    /// Stamps starting at the deciding book's arrival.
    pub fn from_book(book: Option<Instant>) -> Self {
        Stamps {
            book,
            ..Default::default()
        }
    }

    /// Marks `stage` as passed now.
    pub fn stamp(&mut self, stage: Stage) {
        self.at[stage as usize] = Some(Instant::now());
    }

    /// Marks `stage` as passed at `t`.
    pub fn stamp_at(&mut self, stage: Stage, t: Instant) {
        self.at[stage as usize] = Some(t);
    }
}

/// One trade's decision-to-wire time and its stages (`None`: not passed on this path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// When the deciding book arrived (so a bench can line samples up with what it saw on
    /// the wire).
    pub book: Instant,
    /// Book arrival to the later write.
    pub total: Duration,
    /// Per stage, the span since the previous stamped stage (or the book).
    pub stages: [Option<Duration>; Stage::ALL.len()],
}

/// The `q` quantile (0..=1) of `sorted` durations, nearest rank; `sorted` must not be empty.
/// The one rule the bench report and `/metrics` both use.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Recent decision-to-wire samples.
#[derive(Default)]
pub(super) struct DecisionLatency {
    samples: Mutex<VecDeque<Sample>>,
}

impl DecisionLatency {
    /// Records one trade: `stamps` from the deciding book on, `writes` when each leg's order
    /// write left. A trade with a leg that never reached the wire (refused before sending) is
    /// not a sample.
    pub(super) fn record(&self, mut stamps: Stamps, writes: [Option<Instant>; 2]) {
        let (Some(t0), [Some(a), Some(b)]) = (stamps.book, writes) else {
            return;
        };
        stamps.stamp_at(Stage::Wire, a.max(b));
        let mut stages = [None; Stage::ALL.len()];
        let mut prev = t0;
        for (i, at) in stamps.at.iter().enumerate() {
            if let Some(t) = *at {
                stages[i] = Some(t.saturating_duration_since(prev));
                prev = prev.max(t);
            }
        }
        let total = a.max(b).saturating_duration_since(t0);
        let mut s = self.samples.lock().unwrap_or_else(|p| p.into_inner());
        if s.len() == KEEP {
            s.pop_front();
        }
        s.push_back(Sample {
            book: t0,
            total,
            stages,
        });
        tracing::debug!(micros = total.as_micros() as u64, "decision to wire");
    }

    /// The kept samples, oldest first.
    pub(super) fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }
}

impl super::setup::Engine {
    /// Recent decision-to-wire times of live trades (both legs sent), oldest first.
    pub fn decision_to_wire(&self) -> Vec<Duration> {
        self.decision_latency
            .samples()
            .into_iter()
            .map(|s| s.total)
            .collect()
    }

    /// The same samples with where each one's time went, oldest first.
    pub fn decision_to_wire_stages(&self) -> Vec<Sample> {
        self.decision_latency.samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(l: &DecisionLatency) -> Vec<Duration> {
        l.samples().into_iter().map(|s| s.total).collect()
    }

    #[test]
    fn a_sample_runs_to_the_later_write_and_needs_both() {
        let l = DecisionLatency::default();
        let t0 = Instant::now();
        let a = t0 + Duration::from_micros(300);
        let b = t0 + Duration::from_micros(700);
        l.record(Stamps::from_book(Some(t0)), [Some(b), Some(a)]);
        l.record(Stamps::from_book(Some(t0)), [Some(a), None]);
        l.record(Stamps::from_book(None), [Some(a), Some(b)]);
        assert_eq!(totals(&l), vec![Duration::from_micros(700)]);
    }

    #[test]
    fn stages_split_the_total_and_skipped_ones_are_none() {
        let l = DecisionLatency::default();
        let t0 = Instant::now();
        let us = |n| t0 + Duration::from_micros(n);
        let mut st = Stamps::from_book(Some(t0));
        st.stamp_at(Stage::Decided, us(100));
        st.stamp_at(Stage::Journaled, us(600));
        l.record(st, [Some(us(650)), Some(us(900))]);
        let s = &l.samples()[0];
        assert_eq!(s.total, Duration::from_micros(900));
        let d = |n| Some(Duration::from_micros(n));
        assert_eq!(s.stages[Stage::Parsed as usize], None);
        assert_eq!(s.stages[Stage::Decided as usize], d(100));
        assert_eq!(s.stages[Stage::Journaled as usize], d(500));
        assert_eq!(s.stages[Stage::Wire as usize], d(300));
        let sum: Duration = s.stages.iter().flatten().sum();
        assert_eq!(sum, s.total);
    }

    #[test]
    fn only_the_most_recent_are_kept() {
        let l = DecisionLatency::default();
        let t0 = Instant::now();
        for i in 0..(KEEP as u64 + 10) {
            let w = t0 + Duration::from_micros(i);
            l.record(Stamps::from_book(Some(t0)), [Some(w), Some(w)]);
        }
        let s = totals(&l);
        assert_eq!(s.len(), KEEP);
        assert_eq!(s[0], Duration::from_micros(10));
    }
}

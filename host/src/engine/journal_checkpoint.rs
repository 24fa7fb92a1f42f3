//! Which orders may be out at a venue without a journal record on disk, and since when.
//!
//! A live trade whose two legs are both built ahead commits its journal without waiting for
//! the disk and sends them (`executor::journal_unsynced_then_send`); the fsync comes with the
//! next synced write. A power cut in between leaves orders a venue holds that the ledger
//! lacks; restart adopts them (`adopt_orders`). To bound what restart must list, the ledger
//! keeps a checkpoint: every order sent before it is journaled on disk. It is the admission
//! time of the oldest trade not yet known synced, or the time it was written when there is
//! none, and is rewritten every [`EVERY`] (one small synced write, off the trading path).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use super::setup::{Engine, EngineError};

/// How often the checkpoint is rewritten while trading.
const EVERY: Duration = Duration::from_secs(5);

/// The ledger key of the checkpoint: `"<since ms> <written ms>"` (ms since the Unix epoch,
/// engine clock; see [`Checkpoint`]).
pub(super) const KEY: &str = "journal_checkpoint_ms";

/// Trades of this process whose journal may not be on disk yet, with when each was admitted.
/// (Their journal is committed before any of their orders leaves, so the ledger already knows
/// their orders: only the checkpoint needs them.)
#[derive(Default)]
pub(super) struct Unjournaled {
    admitted_ms: Mutex<BTreeMap<String, i64>>,
}

impl Unjournaled {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, i64>> {
        self.admitted_ms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a trade before any of its orders leaves. `now_ms` is read under the lock, so
    /// a checkpoint computed at the same time either sees the trade or is earlier than it.
    pub(super) fn begin(&self, trade_id: &str, now_ms: impl FnOnce() -> i64) {
        let mut m = self.lock();
        let at = now_ms();
        m.insert(trade_id.to_string(), at);
    }

    /// The trade's journal is on disk (a synced write followed its commit).
    pub(super) fn done(&self, trade_id: &str) {
        self.lock().remove(trade_id);
    }

    /// Every order sent before the returned time (ms) is journaled on disk.
    pub(super) fn checkpoint(&self, now_ms: impl FnOnce() -> i64) -> i64 {
        let m = self.lock();
        let now = now_ms();
        m.values().copied().min().unwrap_or(now).min(now)
    }
}

/// The checkpoint as the last run left it: every order sent before `since_ms` is journaled on
/// disk, and the run was alive at `written_ms` (it rewrites the checkpoint every [`EVERY`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Checkpoint {
    pub since_ms: i64,
    pub written_ms: i64,
}

impl Checkpoint {
    /// The venue times (ms) between which a fill can belong to an order the last run sent
    /// unjournaled: from the checkpoint, to the latest the run can have died ([`EVERY`] after
    /// its last write) plus the time a venue may take to book an order (`appear_ms`), each
    /// widened by the venues' clock skew (`skew_ms`). A fill after that is someone else's
    /// (an operator trading by hand while the engine was down), never adopted.
    pub(super) fn window(self, appear_ms: i64, skew_ms: i64) -> (i64, i64) {
        let until = self
            .written_ms
            .saturating_add(EVERY.as_millis() as i64)
            .saturating_add(appear_ms)
            .saturating_add(skew_ms);
        (self.since_ms.saturating_sub(skew_ms), until)
    }

    fn encode(self) -> String {
        format!("{} {}", self.since_ms, self.written_ms)
    }

    fn decode(v: &str) -> Option<Checkpoint> {
        let (a, b) = v.split_once(' ')?;
        Some(Checkpoint {
            since_ms: a.parse().ok()?,
            written_ms: b.parse().ok()?,
        })
    }
}

impl Engine {
    /// Writes the checkpoint now.
    pub(super) fn write_journal_checkpoint(&self) -> Result<(), EngineError> {
        let mut written_ms = 0;
        let since_ms = self.unjournaled.checkpoint(|| {
            written_ms = self.clock.now_ms();
            written_ms
        });
        let c = Checkpoint {
            since_ms,
            written_ms,
        };
        self.ledger.set_kv(KEY, &c.encode())?;
        Ok(())
    }

    /// The checkpoint the last run left, if it left one: `None` on a ledger no live trade has
    /// been sent from since checkpoints exist. A value that does not read is bad input, named.
    pub(super) fn read_journal_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        match self.ledger.get_kv(KEY)? {
            None => Ok(None),
            Some(v) => Checkpoint::decode(&v).map(Some).ok_or_else(|| {
                EngineError::Setup(format!(
                    "ledger {}: key {KEY} holds {v:?}, not \"<since ms> <written ms>\"",
                    self.ledger.path().display()
                ))
            }),
        }
    }

    /// After `adopt_late` (orders the last run sent that a venue books late are adopted),
    /// keeps the checkpoint fresh until `stop`. The checkpoint is not moved before adoption is
    /// done: a second stop meanwhile must still find the first stop's orders.
    pub(super) async fn drive_journal_checkpoint(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
        adopt_late: Option<(Checkpoint, Duration)>,
    ) -> Result<(), EngineError> {
        if !self.live_ok || self.simulated.iter().all(|&s| s) {
            return Ok(());
        }
        if let Some((last, after)) = adopt_late {
            // Until every venue could be read.
            let mut wait = after;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return Ok(()),
                }
                if self.adopt_unjournaled(last).await? {
                    break;
                }
                wait = EVERY;
            }
        }
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() {
            self.write_journal_checkpoint()?;
            tokio::select! {
                _ = tick.tick() => {}
                r = stop.changed() => {
                    if r.is_err() {
                        tick.tick().await;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_is_the_oldest_unjournaled_admission_or_now() {
        let u = Unjournaled::default();
        assert_eq!(u.checkpoint(|| 1_000), 1_000);
        u.begin("t1", || 400);
        u.begin("t2", || 700);
        assert_eq!(u.checkpoint(|| 1_000), 400);
        u.done("t1");
        assert_eq!(u.checkpoint(|| 1_000), 700);
        u.done("t2");
        assert_eq!(u.checkpoint(|| 1_200), 1_200);
    }

    #[test]
    fn the_window_ends_when_the_last_run_can_have_sent_its_last_order_and_it_booked() {
        let c = Checkpoint {
            since_ms: 100_000,
            written_ms: 104_000,
        };
        assert_eq!(Checkpoint::decode(&c.encode()), Some(c));
        assert_eq!(Checkpoint::decode("100000"), None);
        assert_eq!(Checkpoint::decode("x 1"), None);
        // Alive at 104 s, so dead by 109 s; a venue may book up to 60 s later; 2 s of skew.
        assert_eq!(c.window(60_000, 2_000), (98_000, 171_000));
    }
}

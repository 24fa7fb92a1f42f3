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

/// The ledger key of the checkpoint (ms since the Unix epoch, engine clock).
pub(super) const KEY: &str = "journal_checkpoint_ms";

/// Trades of this process whose journal may not be on disk yet.
#[derive(Default)]
pub(super) struct Unjournaled {
    inner: Mutex<BTreeMap<String, Pending>>,
}

/// One such trade.
struct Pending {
    admitted_ms: i64,
    /// Its orders' client ids and the venue ids known before sending (Polymarket's digest).
    ids: Vec<String>,
}

impl Unjournaled {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Pending>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a trade before any of its orders leaves. `now_ms` is read under the lock, so
    /// a checkpoint computed at the same time either sees the trade or is earlier than it.
    pub(super) fn begin(&self, trade_id: &str, ids: Vec<String>, now_ms: impl FnOnce() -> i64) {
        let mut m = self.lock();
        let admitted_ms = now_ms();
        m.insert(trade_id.to_string(), Pending { admitted_ms, ids });
    }

    /// The trade's journal is on disk (a synced write followed its commit).
    pub(super) fn done(&self, trade_id: &str) {
        self.lock().remove(trade_id);
    }

    /// Whether `id` (a client order id or a venue order id) belongs to an order of this
    /// process whose journal may not be on disk yet.
    pub(super) fn holds(&self, id: &str) -> bool {
        self.lock().values().any(|p| p.ids.iter().any(|i| i == id))
    }

    /// Every order sent before the returned time (ms) is journaled on disk.
    pub(super) fn checkpoint(&self, now_ms: impl FnOnce() -> i64) -> i64 {
        let m = self.lock();
        let now = now_ms();
        m.values()
            .map(|p| p.admitted_ms)
            .min()
            .unwrap_or(now)
            .min(now)
    }
}

impl Engine {
    /// Writes the checkpoint now.
    pub(super) fn write_journal_checkpoint(&self) -> Result<(), EngineError> {
        let at = self.unjournaled.checkpoint(|| self.clock.now_ms());
        self.ledger.set_kv(KEY, &at.to_string())?;
        Ok(())
    }

    /// The checkpoint the last run left, if it left one: `None` on a ledger no overlapped
    /// trade has ever been sent from. A value that is not a number is bad input, named.
    pub(super) fn read_journal_checkpoint(&self) -> Result<Option<i64>, EngineError> {
        match self.ledger.get_kv(KEY)? {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| {
                EngineError::Setup(format!(
                    "ledger {}: key {KEY} holds {v:?}, not a time in ms",
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
        adopt_late: Option<(i64, Duration)>,
    ) -> Result<(), EngineError> {
        if !self.live_ok || self.simulated.iter().all(|&s| s) {
            return Ok(());
        }
        if let Some((since_ms, after)) = adopt_late {
            // Until every venue could be read.
            let mut wait = after;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => return Ok(()),
                }
                if self.adopt_unjournaled(since_ms).await? {
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
        u.begin("t1", vec!["pmx-t1-a0".into(), "0xabc".into()], || 400);
        u.begin("t2", vec!["pmx-t2-a0".into()], || 700);
        assert_eq!(u.checkpoint(|| 1_000), 400);
        assert!(u.holds("0xabc") && u.holds("pmx-t2-a0") && !u.holds("pmx-t3-a0"));
        u.done("t1");
        assert_eq!(u.checkpoint(|| 1_000), 700);
        assert!(!u.holds("0xabc"));
        u.done("t2");
        assert_eq!(u.checkpoint(|| 1_200), 1_200);
    }
}

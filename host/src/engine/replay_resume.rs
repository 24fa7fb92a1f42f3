//! Resuming a killed paper replay (see `store/replay_position.rs` and paper-sim's `resume`).
//!
//! At start the simulators have rebuilt their accounts from their journals, each up to its
//! own last order operation; the ledger's last write is the last step of the killed run whose
//! effects are durable. The engine brings every simulator to that time and takes in what they
//! produced on the way (books, fills, resolutions) *without trading on it*: that step's
//! decisions were already taken and journaled. Reconciliation then finds the killed run's
//! orders by client order id, and the replay goes on from the next scenario event.
//!
//! A run started again on a data dir whose replay already reached its end does the same: it
//! rebuilds, finds nothing left to trade, and prints the same summary (trades and fees come from
//! the ledger, see [`Engine::resumed_stats`]).

use plugin_api::{CallCtx, Usd};
use std::collections::BTreeSet;

use super::setup::{Engine, EngineError};
use crate::store::Ledger;

/// The simulated time a replay on this ledger resumes at: the ledger's last write, if any.
pub fn resume_point(ledger: &Ledger) -> Result<Option<i64>, crate::store::LedgerError> {
    ledger.last_write_ms()
}

impl Engine {
    /// Brings the simulators to the resume point `at` and applies their output without
    /// trading on it.
    pub(super) async fn resume_replay(&self, at: i64) -> Result<(), EngineError> {
        let mut seen = BTreeSet::new();
        for (vi, v) in self.venues.iter().enumerate() {
            let ctx = CallCtx {
                now_ms: at,
                random: [0; 32],
            };
            match v
                .handle()
                .call_async("poll_events", move |h| h.poll_events(ctx))
                .await
            {
                Ok(events) => self.apply_events(vi, events, &mut seen),
                Err(e) => self.error(None, v.name(), &format!("poll_events: {e}")),
            }
        }
        tracing::info!(at_ms = at, "paper replay resumed from its journals and ledger");
        Ok(())
    }

    /// After a resumed replay: the counters that must cover the whole run (trades, fees) from
    /// the ledger, since this process only saw its own part.
    pub fn resumed_stats(&self) -> Result<(), EngineError> {
        let t = self.ledger.totals()?;
        self.stat(|s| {
            s.trades = t.trades;
            s.fees = Usd(t.fees);
        });
        Ok(())
    }
}

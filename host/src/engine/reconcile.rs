//! Bringing trades in flight to a known state from the venues' records: at start-up (what a
//! crash left) and on a timer while running (orders whose fate was unknown). Orders are
//! looked up, never re-sent.

use super::setup::{Engine, EngineError};
use crate::store::state;

impl Engine {
    /// Restart: brings every in-flight trade to a known state from the venues' records
    /// (looked up by order id or client order id, never re-sent) before any new trade.
    pub async fn reconcile(&self) -> Result<(), EngineError> {
        self.reconcile_and_adopt().await.map(|_| ())
    }

    /// [`Self::reconcile`], and on live venues the orders the last run sent but never
    /// journaled are adopted (`adopt_orders`) before trading begins. Returns the journal
    /// checkpoint they were looked for from, for a second look once orders that venues book
    /// late have appeared (`None`: nothing to look for).
    pub(super) async fn reconcile_and_adopt(
        &self,
    ) -> Result<Option<super::journal_checkpoint::Checkpoint>, EngineError> {
        self.set_phase(Phase::Reconciling);
        let open = self.ledger.trades_in(state::IN_FLIGHT)?;
        let n = open.len();
        for t in open {
            tracing::warn!(trade_id = %t.id, state = %t.state, "reconciling trade left in flight");
            self.reconcile_trade(&t, true).await?;
        }
        let since = if self.live_ok && self.simulated.iter().any(|&s| !s) {
            match self.read_journal_checkpoint()? {
                Some(last) => {
                    self.adopt_unjournaled(last).await?;
                    Some(last)
                }
                None => {
                    // No run has sent from this ledger yet: start the record.
                    self.write_journal_checkpoint()?;
                    None
                }
            }
        } else {
            None
        };
        // Trades still unresolved keep their instruments out of new trades.
        self.refresh_unresolved()?;
        tracing::info!(
            trades = n,
            "start-up reconciliation finished; trading begins"
        );
        self.set_phase(Phase::Trading);
        Ok(since)
    }

    /// One sweep over in-flight trades with an order whose fate is not known yet: each such
    /// order is looked up again, and a trade whose orders are all known is resolved (hedged,
    /// unwound or failed). Runs on a timer in live mode, so no trade stays in flight for good.
    pub async fn reconcile_pending(&self) -> Result<(), EngineError> {
        for t in self.ledger.trades_in(state::IN_FLIGHT)? {
            if !self.claim(&t.id) {
                // Its own future (or a stream report) is running it.
                continue;
            }
            let r = self.reconcile_trade(&t, false).await;
            self.release(&t.id);
            r?;
        }
        self.refresh_unresolved()?;
        Ok(())
    }

    /// Looks up `t`'s unresolved orders; resolves the trade when none is left unresolved (or,
    /// at start-up, always: its legs may be known but never acted on).
    pub(super) async fn reconcile_trade(
        &self,
        t: &crate::store::TradeRow,
        at_start: bool,
    ) -> Result<(), EngineError> {
        let mut orders = self.ledger.orders_of(&t.id)?;
        let mut looked = false;
        for o in orders.iter_mut().filter(|o| o.state.is_unresolved()) {
            let Some(vi) = self.vidx(&o.venue) else {
                continue;
            };
            self.lookup(o, vi).await?;
            self.ledger.update_order(o)?;
            looked = true;
        }
        if !at_start && (!looked || orders.iter().any(|o| o.state.is_unresolved())) {
            return Ok(());
        }
        if at_start {
            self.ledger.transition(
                &t.id,
                t.state,
                "reconciled after restart",
                self.clock.now_ms(),
            )?;
        }
        self.resolve_legs(t, &orders).await
    }
}

/// Where the engine is in its life: an operator (and a test) can see when start-up
/// reconciliation is over and trading has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Built, not yet reconciling.
    Starting,
    /// Bringing trades left in flight to a known state; no new trades.
    Reconciling,
    /// Trading.
    Trading,
}

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

use plugin_api::{CallCtx, ErrorKind, Usd, VenueOp};
use std::collections::BTreeSet;

use super::setup::{Engine, EngineError};
use crate::store::{state, Ledger, OrderRow, OrderState, Purpose};

/// The ledger key set when a replay reached its scenario's end.
pub const REPLAY_DONE_KEY: &str = "paper_replay_done_ms";

/// Whether a replay on this ledger already reached its scenario's end.
pub fn replay_done(ledger: &Ledger) -> Result<bool, crate::store::LedgerError> {
    Ok(ledger.get_kv(REPLAY_DONE_KEY)?.is_some())
}

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
        self.check_accounts_kept().await?;
        self.send_legs_never_arrived(at).await?;
        tracing::info!(
            at_ms = at,
            "paper replay resumed from its journals and ledger"
        );
        Ok(())
    }

    /// A simulator whose journal is gone (deleted, or a data dir from a build that kept none)
    /// restarts its account from the scenario while the ledger holds the killed run's trades:
    /// reconciliation would call them `not_found` and the summary would mix two runs. So each
    /// venue is asked for the last order the ledger saw it fill; a venue that does not know it
    /// stops the run with one line saying how to start afresh.
    async fn check_accounts_kept(&self) -> Result<(), EngineError> {
        let mut last: Vec<Option<OrderRow>> = vec![None; self.venues.len()];
        for t in self.ledger.trades_in(&[])? {
            for o in self.ledger.orders_of(&t.id)? {
                if o.order_id.is_none() || o.filled_qty.0 <= 0 {
                    continue;
                }
                if let Some(vi) = self.vidx(&o.venue) {
                    last[vi] = Some(o);
                }
            }
        }
        for (vi, o) in last.into_iter().enumerate() {
            let Some(o) = o else { continue };
            let op = VenueOp::GetOrder {
                order_id: o.order_id.clone(),
                client_order_id: Some(o.client_order_id.clone()),
                instrument: o.instrument.clone(),
            };
            if let Err(e) = self.venues[vi].run(&op).await {
                let not_found = matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("not_found"));
                if not_found {
                    return Err(EngineError::Safety(format!(
                        "paper venue `{}` does not know order {} that the ledger {} recorded filled: its paper account was not kept (journal deleted, or written by an older build); run `polymix reset --config <this config>` to start afresh",
                        self.venues[vi].name(),
                        o.client_order_id,
                        self.ledger.path().display()
                    )));
                }
            }
        }
        Ok(())
    }

    /// The kill may fall between the ledger's write of a trade (both legs `sent`, one
    /// transaction) and the simulators' journal lines for its orders: then a leg never reached
    /// its simulator. For a simulator with a kept account, "not found" is definitive (it
    /// journals and syncs every order before applying it), so this is not an order whose
    /// outcome is unknown: it never arrived, and sending it now, at the same simulated time
    /// (the resume point is that step) and under the same client order id, is its first and
    /// only arrival, exactly as the killed run was doing. Start-up reconciliation then resolves
    /// the trade with both legs known. Only legs of the resume step on simulated venues;
    /// anything else is left to reconciliation (looked up, never re-sent).
    async fn send_legs_never_arrived(&self, at: i64) -> Result<(), EngineError> {
        for t in self.ledger.trades_in(state::IN_FLIGHT)? {
            for mut o in self.ledger.orders_of(&t.id)? {
                if o.state != OrderState::Sent || o.order_id.is_some() || o.created_ms != at {
                    continue;
                }
                let Some(vi) = self.vidx(&o.venue).filter(|&vi| self.simulated[vi]) else {
                    continue;
                };
                let op = VenueOp::GetOrder {
                    order_id: None,
                    client_order_id: Some(o.client_order_id.clone()),
                    instrument: o.instrument.clone(),
                };
                match self.venues[vi].run(&op).await {
                    Err(e) if matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("not_found")) =>
                    {
                        tracing::warn!(client_order_id = %o.client_order_id, venue = %o.venue, "leg never reached its simulator before the kill; sending it now at the same simulated time");
                        self.place(&mut o, None).await?;
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The killed engine took its own entry fills off its copy of the asks, until the venue's
    /// next book replaced it (see `executor`); the simulators' books in their output do not show
    /// that. Take off again every entry fill that the latest book of its instrument predates
    /// (a book at the trade's own time came before it: events are applied before trading), so
    /// the view is the one the killed engine had and it decides the same.
    pub(super) fn consume_journaled_fills(&self) -> Result<(), EngineError> {
        let mut fills = Vec::new();
        for t in self.ledger.trades_in(&[])? {
            for o in self.ledger.orders_of(&t.id)? {
                if o.purpose != Purpose::Entry || o.filled_qty.0 <= 0 {
                    continue;
                }
                let Some(vi) = self.vidx(&o.venue) else {
                    continue;
                };
                let book_ts = self
                    .market
                    .with_books(|b| b.get(vi, &o.instrument).map(|b| b.ts_ms));
                if book_ts.is_some_and(|ts| ts <= t.created_ms) {
                    fills.push((vi, o.instrument, o.filled_qty));
                }
            }
        }
        self.market.consume(fills);
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

//! Fill and order reports, from the REST settle sweep and from the venues' user streams, go
//! through here: the one place that records what a venue booked per fill and decides what a
//! fill that later failed (a Polymarket ghost fill) means for its trade.
//!
//! Never twice: fills are rows keyed by venue and fill id (`store::fills`), and a trade's
//! failed shares are recomputed from those rows and compared with what its orders already
//! carry (`failed_qty`, persisted). Whichever source reports a failure first books it; the
//! other then finds nothing new. The comparison and the write happen without an `await` in
//! between, so the stream driver and the settle sweep cannot interleave inside it.

use plugin_api::{Fill, FillStatus, OrderStatus, Qty, Usd};
use std::collections::BTreeSet;

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::store::{state, FillSource, Purpose};

/// What reviewing one trade's fills found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Review {
    /// Every entry fill is final and none failed: no more checks needed.
    pub all_confirmed: bool,
    /// A ghost fill was booked and the trade was re-resolved.
    pub ghost: bool,
    /// The trade is running (its own future decides); look again when it is done.
    pub deferred: bool,
}

impl Engine {
    /// Records `fills` reported by venue `vi`; returns the trades they belong to.
    pub(super) fn record_fill_reports(
        &self,
        vi: VenueIdx,
        fills: &[Fill],
        source: FillSource,
    ) -> Result<BTreeSet<String>, EngineError> {
        let venue = self.venues[vi].name();
        self.ledger
            .record_fills(venue, fills, source, self.clock.now_ms())?;
        let mut trades = BTreeSet::new();
        for f in fills {
            if let Some(t) = self.ledger.trade_of_order(
                venue,
                Some(&f.order_id),
                f.client_order_id.as_deref(),
            )? {
                trades.insert(t);
            }
        }
        Ok(trades)
    }

    /// Decides a hedged trade's entry fills from the recorded fills: shares whose fill failed
    /// are booked as failed (the venue refunded them) and the trade is resolved again, which
    /// unwinds the now unhedged leg. The one decision point for ghost fills.
    pub(super) async fn review_fills(&self, trade_id: &str) -> Result<Review, EngineError> {
        if !self.claim(trade_id) {
            return Ok(Review {
                deferred: true,
                ..Review::default()
            });
        }
        let r = self.review_claimed(trade_id).await;
        self.release(trade_id);
        r
    }

    async fn review_claimed(&self, trade_id: &str) -> Result<Review, EngineError> {
        let Some(t) = self.ledger.trade(trade_id)? else {
            return Ok(Review::default());
        };
        if t.state != state::HEDGED || t.settled_ms.is_some() {
            return Ok(Review::default());
        }
        let mut orders = self.ledger.orders_of(&t.id)?;
        let mut changed = false;
        let mut all_confirmed = true;
        for o in orders
            .iter_mut()
            .filter(|o| o.purpose == Purpose::Entry && o.filled_qty.0 > 0)
        {
            let Some(oid) = o.order_id.clone() else {
                all_confirmed = false;
                continue;
            };
            let mine = self.ledger.fills_of_order(&o.venue, &oid)?;
            if mine.is_empty() || mine.iter().any(|f| f.status != FillStatus::Confirmed) {
                all_confirmed = false;
            }
            let failed: Qty = mine
                .iter()
                .filter(|f| f.status == FillStatus::Failed)
                .map(|f| f.qty)
                .sum();
            if failed > o.failed_qty {
                let newly = failed - o.failed_qty;
                o.failed_qty = failed;
                o.updated_ms = self.clock.now_ms();
                self.ledger.update_order(o)?;
                self.stat(|s| s.ghost_fills += 1);
                crate::metrics::inc("polymix_ghost_fills_total", &[]);
                self.error(
                    Some(&t.id),
                    "settlement",
                    &format!(
                        "ghost fill: {newly} shares of {} on {} matched then failed",
                        o.instrument, o.venue
                    ),
                );
                changed = true;
            }
        }
        if all_confirmed && !changed {
            self.confirmed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(t.id.clone());
        }
        if changed {
            let gone: Usd = orders
                .iter()
                .filter(|o| o.failed_qty.0 > 0)
                .map(|o| {
                    super::avg_cost::pro_rata(
                        o.filled_notional + o.fees,
                        o.failed_qty,
                        o.filled_qty,
                    )
                })
                .sum();
            // The venue refunded the failed fill's cash.
            self.gate.settle(gone, &[]);
            // The unwind that follows sells into the pair's books: no new trade is decided on
            // them meanwhile, as while a trade runs (freed by the claim's release).
            self.hold_for_unwind(&t);
            self.resolve_legs(&t, &orders).await?;
            // Still unresolved (a leg's outcome unknown): its instruments stay busy.
            self.refresh_unresolved()?;
        }
        Ok(Review {
            all_confirmed: all_confirmed && !changed,
            ghost: changed,
            deferred: false,
        })
    }

    /// An order report from a user stream: what the venue's record of the order says now
    /// (the contract of `StreamEvent::Order` is the booked fills, notional and fees). An
    /// order of ours whose outcome the ledger does not know yet (a lost answer) takes it, as
    /// a lookup's answer would (`apply_status`, the lookup's own step), and its trade is
    /// resolved once no order is left unknown, as the reconcile sweep does — now instead of
    /// at the next sweep. An order whose outcome is known is left alone (the executor's
    /// record of it is final). Returns the report back when its trade is running now.
    pub(super) async fn on_order_report(
        &self,
        vi: VenueIdx,
        order: OrderStatus,
    ) -> Result<Option<OrderStatus>, EngineError> {
        let venue = self.venues[vi].name().to_string();
        let Some(trade_id) = self.ledger.trade_of_order(
            &venue,
            Some(&order.order_id),
            order.client_order_id.as_deref(),
        )?
        else {
            return Ok(None);
        };
        if !self.claim(&trade_id) {
            return Ok(Some(order));
        }
        let r = self.apply_order_report(&trade_id, &venue, &order).await;
        self.release(&trade_id);
        r.map(|()| None)
    }

    async fn apply_order_report(
        &self,
        trade_id: &str,
        venue: &str,
        order: &OrderStatus,
    ) -> Result<(), EngineError> {
        let Some(t) = self.ledger.trade(trade_id)? else {
            return Ok(());
        };
        if !state::IN_FLIGHT.contains(&t.state) {
            return Ok(());
        }
        let mut orders = self.ledger.orders_of(&t.id)?;
        let Some(o) = orders.iter_mut().find(|o| {
            o.venue == venue
                && (o.order_id.as_deref() == Some(order.order_id.as_str())
                    || order.client_order_id.as_deref() == Some(o.client_order_id.as_str()))
        }) else {
            return Ok(());
        };
        if !o.state.is_unresolved() {
            return Ok(());
        }
        tracing::warn!(trade_id = %t.id, client_order_id = %o.client_order_id, order_id = %order.order_id, filled = %order.filled_qty, "order whose outcome was unknown reported on the user stream; adopting it");
        Self::apply_status(o, order, self.clock.now_ms());
        self.ledger.update_order(o)?;
        if orders.iter().any(|o| o.state.is_unresolved()) {
            return Ok(());
        }
        self.resolve_legs(&t, &orders).await
    }
}

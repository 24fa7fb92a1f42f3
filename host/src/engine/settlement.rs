//! Settlement and fill confirmation: resolutions pay out held shares; fills that later fail
//! (Polymarket ghost fills) turn a hedged trade into a partial one, which is then unwound.

use plugin_api::{OpResult, Qty, Resolution, Usd, VenueOp};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::store::{state, FillSource, Leg, OrderRow, Purpose, Side, TradeRow};

/// Shares a leg holds now: bought − failed − sold.
pub(super) fn held(orders: &[OrderRow], leg: Leg) -> Qty {
    orders
        .iter()
        .filter(|o| o.leg == leg)
        .map(|o| {
            let q = o.filled_qty - o.failed_qty;
            if o.side == Side::Sell {
                -q
            } else {
                q
            }
        })
        .sum()
}

/// Cash that left (negative) or came back for a trade's orders, failed fills refunded.
fn net_cash(orders: &[OrderRow]) -> Usd {
    orders
        .iter()
        .map(|o| {
            if o.filled_qty.0 == 0 {
                return -o.fees;
            }
            // Failed shares' money came back: only what the kept shares carry counts.
            if o.side == Side::Sell {
                super::avg_cost::kept(o.filled_notional - o.fees, o)
            } else {
                -super::avg_cost::kept(o.filled_notional + o.fees, o)
            }
        })
        .sum()
}

impl Engine {
    /// Remembers a resolution.
    pub(super) fn on_resolution(&self, venue: VenueIdx, r: Resolution) {
        self.market.record_resolution(venue, r);
    }

    fn resolution(&self, venue: VenueIdx, instrument: &str) -> Option<Resolution> {
        self.market.resolution(venue, instrument)
    }

    /// Live mode: asks venues whether the instruments of open trades resolved.
    pub async fn poll_resolutions(&self) -> Result<(), EngineError> {
        for t in self
            .ledger
            .trades_in(&[state::HEDGED, state::UNWOUND, state::NAKED])?
        {
            if t.settled_ms.is_some() {
                continue;
            }
            for (v, inst) in [(&t.venue_a, &t.instrument_a), (&t.venue_b, &t.instrument_b)] {
                let Some(vi) = self.vidx(v) else { continue };
                if self.resolution(vi, inst).is_some() {
                    continue;
                }
                if let Ok(OpResult::Resolution { resolution }) = self.venues[vi]
                    .run(&VenueOp::Resolution {
                        instrument: inst.clone(),
                    })
                    .await
                {
                    self.on_resolution(vi, resolution);
                }
            }
        }
        Ok(())
    }

    /// Settles every open trade whose held instruments have resolved.
    pub async fn settle_ready(&self) -> Result<u32, EngineError> {
        let mut n = 0;
        if !self.market.take_settle_dirty() {
            return Ok(0);
        }
        self.audit_pairs();
        for t in self
            .ledger
            .trades_in(&[state::HEDGED, state::UNWOUND, state::NAKED])?
        {
            if t.settled_ms.is_some() || self.is_in_flight(&t.id) {
                continue;
            }
            let orders = self.ledger.orders_of(&t.id)?;
            if self.settle_one(&t, &orders)? {
                n += 1;
            }
        }
        Ok(n)
    }

    fn settle_one(&self, t: &TradeRow, orders: &[OrderRow]) -> Result<bool, EngineError> {
        let mut payout = Usd::ZERO;
        let mut credits = Vec::new();
        for (leg, v, inst) in [
            (Leg::A, &t.venue_a, &t.instrument_a),
            (Leg::B, &t.venue_b, &t.instrument_b),
        ] {
            let q = held(orders, leg);
            if q.0 == 0 {
                continue;
            }
            let Some(vi) = self.vidx(v) else {
                return Ok(false);
            };
            let Some(r) = self.resolution(vi, inst) else {
                return Ok(false);
            };
            let p = q.payout(r.payout);
            payout += p;
            credits.push((v.clone(), p));
        }
        let total = net_cash(orders) + payout;
        // Unwind losses were booked when they happened; the rest is booked now.
        let settle_part = total + t.unwind_loss;
        let now = self.clock.now_ms();
        self.ledger
            .settle(&t.id, &t.day, payout, total, settle_part, now)?;
        self.gate.add_loss(-settle_part);
        let exposure: Usd = -net_cash(orders);
        self.gate.settle(exposure.max(Usd::ZERO), &credits);
        self.stat(|s| {
            s.settled += 1;
            s.realized_pnl += total;
        });
        crate::metrics::inc("polymix_settlements_total", &[]);
        tracing::info!(trade_id = %t.id, payout = %payout, pnl = %total, "trade settled");
        self.notify(
            crate::notify::Kind::Settlement,
            format!(
                "trade {} on {} settled: payout ${}, P&L ${}",
                t.id,
                t.pair_id,
                payout.to_decimal(2),
                total.to_decimal(2)
            ),
            Some(&t.id),
        );
        Ok(true)
    }

    /// The slow reconciliation sweep over unconfirmed hedged trades: asks the venues for their
    /// entry orders' fills, records them and lets the one decision point
    /// ([`Engine::review_fills`]) book any that failed. A user stream reports the same fills
    /// as they happen through the same point, so a fill both see is booked once.
    pub async fn check_fills(&self) -> Result<(), EngineError> {
        for t in self.ledger.trades_in(&[state::HEDGED])? {
            if t.settled_ms.is_some() || self.is_in_flight(&t.id) {
                continue;
            }
            if self
                .confirmed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .contains(&t.id)
            {
                continue;
            }
            let orders = self.ledger.orders_of(&t.id)?;
            for o in orders
                .iter()
                .filter(|o| o.purpose == Purpose::Entry && o.filled_qty.0 > 0)
            {
                let (Some(oid), Some(vi)) = (o.order_id.as_deref(), self.vidx(&o.venue)) else {
                    continue;
                };
                let fills = match self.venues[vi]
                    .run(&VenueOp::Fills {
                        instrument: Some(o.instrument.clone()),
                        since_ms: Some(o.created_ms),
                    })
                    .await
                {
                    Ok(OpResult::Fills { fills }) => fills,
                    _ => continue,
                };
                let mine: Vec<_> = fills.into_iter().filter(|f| f.order_id == oid).collect();
                self.record_fill_reports(vi, &mine, FillSource::Rest)?;
            }
            self.review_fills(&t.id).await?;
        }
        Ok(())
    }
}

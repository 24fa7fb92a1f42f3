//! Unwinding: selling a leg's excess shares back down a price ladder, and booking what the
//! sales lost. The loss is computed from the orders themselves, so an unwind interrupted by a
//! stop is booked in full when the trade is reconciled.

use plugin_api::{client_order_id, OpResult, Price, Qty, Rounding, Usd, VenueOp};

use super::avg_cost::avg_entry_cost;
use super::setup::{Engine, EngineError};
use crate::notify::Kind;
use crate::store::{state, Leg, OrderRow, OrderState, Purpose, Side, Tif, TradeRow};

/// What every unwind sale of a trade lost: entry cost of the shares sold minus what they
/// brought in after fees (positive = loss).
pub(super) fn unwind_loss(orders: &[OrderRow]) -> Usd {
    orders
        .iter()
        .filter(|o| o.purpose == Purpose::Unwind && o.side == Side::Sell && o.filled_qty.0 > 0)
        .map(|o| avg_entry_cost(orders, o.leg, o.filled_qty) - (o.filled_notional - o.fees))
        .sum()
}

/// What `qty` at `price` is worth, if that is below the venue's smallest marketable order
/// (`min_notional`, zero = none). Computed wide, so no size wraps.
fn below_minimum(qty: Qty, price: Price, min_notional: Usd) -> Option<Usd> {
    if min_notional.0 <= 0 {
        return None;
    }
    let worth = qty.0 as i128 * price.0 as i128 / plugin_api::money::SHARE as i128;
    (worth < min_notional.0 as i128).then_some(Usd(worth as i64))
}

impl Engine {
    /// Books the trade's unwind loss as its orders show it, minus what is already booked, on
    /// the trade, the day and the risk gate. Idempotent: safe to call after every sale and on
    /// every reconciliation. Returns the trade's total unwind loss.
    pub(super) fn book_unwind_loss(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
    ) -> Result<Usd, EngineError> {
        let total = unwind_loss(orders);
        let booked = self
            .ledger
            .trade(&trade.id)?
            .map(|t| t.unwind_loss)
            .unwrap_or(trade.unwind_loss);
        let delta = total - booked;
        if delta != Usd::ZERO {
            self.ledger.add_unwind_loss(&trade.id, &trade.day, delta)?;
            self.gate.add_loss(delta);
        }
        Ok(total)
    }

    /// Sells `excess` shares of `leg` back down a price ladder with a floor and a time cap.
    pub(super) async fn unwind(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
        leg: Leg,
        excess: Qty,
    ) -> Result<(), EngineError> {
        let start = self.clock.now_ms();
        self.ledger.transition(
            &trade.id,
            state::UNWINDING,
            &format!("selling {excess} on leg {leg}"),
            start,
        )?;
        let (venue, instrument) = if leg == Leg::A {
            (trade.venue_a.clone(), trade.instrument_a.clone())
        } else {
            (trade.venue_b.clone(), trade.instrument_b.clone())
        };
        let vi = self
            .vidx(&venue)
            .ok_or_else(|| EngineError::Setup(format!("unknown venue {venue}")))?;
        let rules = self.market.rules_of(vi, &instrument);
        let tick = rules.map(|r| r.tick).unwrap_or(Price(10_000));
        // The venue's smallest marketable order (Polymarket: $1, from the plugin's rules).
        let min_notional = rules.map(|r| r.min_notional).unwrap_or(Usd::ZERO);
        // Orders go out in the venue's size step; what is held can be finer (a FOK BUY's
        // surplus of 0.3571 share). Only whole steps can be sold.
        let step = rules.map(|r| r.qty_step).unwrap_or(Qty::ZERO);
        let cost_of = |q: Qty| avg_entry_cost(orders, leg, q);
        self.gate.add_unhedged(cost_of(excess));
        let best_bid = match self.venues[vi]
            .run(&VenueOp::Book {
                instrument: instrument.clone(),
            })
            .await
        {
            Ok(OpResult::Book { book }) => book.best_bid().map(|l| l.price),
            _ => None,
        };
        let mut left = excess;
        let mut proceeds = Usd::ZERO;
        // Why shares are left, if they are: said in the trade's note and the notification.
        let mut why = if best_bid.is_none() {
            "no bids".to_string()
        } else {
            "the price floor or the time cap was reached".to_string()
        };
        let attempts_done = orders
            .iter()
            .filter(|o| o.leg == leg && o.purpose == Purpose::Unwind)
            .count() as u32;
        if let Some(bid) = best_bid {
            let max_ticks = self.cfg.engine.unwind_max_ticks as i64;
            let floor = Price((bid.0 - max_ticks * tick.0).max(tick.0));
            let mut k = 0i64;
            while left.0 > 0 && k <= max_ticks {
                if self.clock.now_ms() - start > self.cfg.engine.unwind_time_cap_ms as i64 {
                    break;
                }
                let price = Price((bid.0 - k * tick.0).max(floor.0));
                let sellable = left.round_to_step(step, Rounding::Down);
                if sellable.0 <= 0 {
                    break; // less than one size step: said below
                }
                if let Some(worth) = below_minimum(sellable, price, min_notional) {
                    // The venue refuses such an order whatever its price, and every lower rung
                    // is worth less still: none is sent.
                    why = format!(
                        "{sellable} shares at {price} are worth {worth}, below the venue's \
                         minimum marketable order of {min_notional}"
                    );
                    break;
                }
                let attempt = attempts_done + k as u32 + 1;
                let now = self.clock.now_ms();
                let mut o = OrderRow {
                    client_order_id: client_order_id(&trade.id, leg.letter(), attempt),
                    trade_id: trade.id.clone(),
                    leg,
                    purpose: Purpose::Unwind,
                    venue: venue.clone(),
                    instrument: instrument.clone(),
                    side: Side::Sell,
                    price,
                    qty: sellable,
                    tif: Tif::Ioc,
                    // Journaled `sent` at once: one write before it leaves, as for entries.
                    state: OrderState::Sent,
                    order_id: None,
                    filled_qty: Qty::ZERO,
                    filled_notional: Usd::ZERO,
                    fees: Usd::ZERO,
                    failed_qty: Qty::ZERO,
                    reason: None,
                    created_ms: now,
                    updated_ms: now,
                };
                self.ledger.insert_order(&o)?;
                self.place(&mut o, None).await?;
                if o.state.is_unresolved() {
                    // The sale's outcome is unknown: another sale of the same shares could
                    // sell them twice. Stop here; reconciliation finds this order and then
                    // resolves the legs again, which unwinds whatever is still in excess.
                    let all = self.ledger.orders_of(&trade.id)?;
                    self.book_unwind_loss(trade, &all)?;
                    self.gate.add_unhedged(-cost_of(excess));
                    self.ledger.transition(
                        &trade.id,
                        state::UNWINDING,
                        &format!(
                            "unwind order {} outcome unknown; reconciling before selling more",
                            o.client_order_id
                        ),
                        self.clock.now_ms(),
                    )?;
                    return Ok(());
                }
                if o.state == OrderState::Rejected {
                    why = format!(
                        "last sale refused: {}",
                        o.reason.as_deref().unwrap_or("no reason given")
                    );
                }
                left -= o.filled_qty;
                proceeds += o.filled_notional - o.fees;
                self.stat(|s| s.fees += o.fees);
                // Proceeds come back as cash and leave the open exposure.
                let back = o.filled_notional - o.fees;
                self.gate.settle(back, &[(venue.clone(), back)]);
                if price == floor {
                    break;
                }
                k += 1;
            }
        }
        if left.0 > 0 && left < step {
            why = format!("{left} shares are less than the venue's size step of {step}");
        }
        let sold = excess - left;
        let all = self.ledger.orders_of(&trade.id)?;
        let loss = self.book_unwind_loss(trade, &all)?;
        self.gate.add_unhedged(-cost_of(sold));
        let now = self.clock.now_ms();
        if left.0 > 0 {
            self.stat(|s| s.naked += 1);
            crate::metrics::inc("polymix_naked_legs_total", &[]);
            // Unsold shares stay held: they pay out at resolution with the trade's settlement.
            self.ledger.transition(
                &trade.id,
                state::NAKED,
                &format!(
                    "{left} shares on leg {leg} could not be sold ({why}); held to resolution, \
                     they settle with the trade; operator must clear"
                ),
                now,
            )?;
            self.notify(
                Kind::NakedLeg,
                format!(
                    "NAKED: trade {}: {left} shares of {instrument} on {venue} could not be sold: {why}",
                    trade.id
                ),
                Some(&trade.id),
            );
            self.error(
                Some(&trade.id),
                "unwind",
                &format!("NAKED: {left} shares of {instrument} on {venue} left unhedged"),
            );
        } else {
            let hedged_left =
                super::settlement::held(&all, Leg::A).min(super::settlement::held(&all, Leg::B));
            let to = if hedged_left.0 > 0 {
                state::HEDGED
            } else {
                state::UNWOUND
            };
            self.ledger.transition(
                &trade.id,
                to,
                &format!("unwound {sold} for {proceeds}, loss {loss}"),
                now,
            )?;
        }
        Ok(())
    }
}

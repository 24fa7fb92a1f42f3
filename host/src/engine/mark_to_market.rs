//! Unrealized P&L: what the positions of open trades would fetch at the best bid now, against
//! what was paid for them. Exit fees are not deducted: the mark is the bid, as on the venues'
//! own position screens.

use plugin_api::{Price, Qty, Rounding, Usd};
use serde::Serialize;

use super::settlement::held;
use super::setup::Engine;
use crate::store::{state, LedgerError, Leg, OrderRow, TradeRow};

/// One leg that still holds shares, marked to the best bid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LegMark {
    /// `a` or `b`.
    pub leg: String,
    /// Venue instance.
    pub venue: String,
    /// Instrument held.
    pub instrument: String,
    /// Shares held now (bought − failed − sold).
    pub held: Qty,
    /// What those shares cost, fees included (average entry cost × held).
    pub cost: Usd,
    /// Best bid in the book cache; `None` when the book has no bid (marked at 0).
    pub bid: Option<Price>,
    /// `held × bid`.
    pub value: Usd,
    /// `value − cost`.
    pub pnl: Usd,
}

/// One trade's marks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TradeMark {
    /// Sum of the legs' P&L.
    pub pnl: Usd,
    /// Legs that hold shares.
    pub legs: Vec<LegMark>,
}

impl TradeMark {
    /// Legs marked at 0 because their instrument has no bid.
    pub fn unmarked(&self) -> impl Iterator<Item = &LegMark> {
        self.legs.iter().filter(|l| l.bid.is_none())
    }
}

/// Marks a trade's held legs to `bid_of(venue, instrument)`.
pub fn mark_trade(
    trade: &TradeRow,
    orders: &[OrderRow],
    bid_of: impl Fn(&str, &str) -> Option<Price>,
) -> TradeMark {
    let mut legs = Vec::new();
    for (leg, venue, instrument) in [
        (Leg::A, &trade.venue_a, &trade.instrument_a),
        (Leg::B, &trade.venue_b, &trade.instrument_b),
    ] {
        let q = held(orders, leg);
        if q.0 <= 0 {
            continue;
        }
        let cost = super::avg_cost::avg_entry_cost(orders, leg, q);
        let bid = bid_of(venue, instrument);
        let value = bid.map_or(Usd::ZERO, |b| q.notional(b, Rounding::Down));
        legs.push(LegMark {
            leg: leg.to_string(),
            venue: venue.clone(),
            instrument: instrument.clone(),
            held: q,
            cost,
            bid,
            value,
            pnl: value - cost,
        });
    }
    TradeMark {
        pnl: legs.iter().map(|l| l.pnl).sum(),
        legs,
    }
}

impl Engine {
    /// Best bid of an instrument in the book cache.
    pub fn best_bid(&self, venue: &str, instrument: &str) -> Option<Price> {
        let vi = self.vidx(venue)?;
        self.market
            .with_books(|b| b.get(vi, instrument)?.best_bid().map(|l| l.price))
    }

    /// Best ask of an instrument in the book cache.
    pub fn best_ask(&self, venue: &str, instrument: &str) -> Option<Price> {
        let vi = self.vidx(venue)?;
        self.market
            .with_books(|b| b.get(vi, instrument)?.best_ask().map(|l| l.price))
    }

    /// Marks one trade's held legs to the current best bids.
    pub fn mark(&self, trade: &TradeRow, orders: &[OrderRow]) -> TradeMark {
        mark_trade(trade, orders, |v, i| self.best_bid(v, i))
    }

    /// Open (unsettled) trades with their orders and marks.
    pub fn open_marks(&self) -> Result<Vec<(TradeRow, Vec<OrderRow>, TradeMark)>, LedgerError> {
        let mut out = Vec::new();
        for t in self.ledger.trades_in(state::OPEN)? {
            if t.settled_ms.is_some() {
                continue;
            }
            let orders = self.ledger.orders_of(&t.id)?;
            let m = self.mark(&t, &orders);
            out.push((t, orders, m));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OrderState, Purpose, Side};

    fn order(
        leg: &str,
        side: &str,
        filled: i64,
        notional: i64,
        fees: i64,
        failed: i64,
    ) -> OrderRow {
        OrderRow {
            client_order_id: format!("{leg}-{side}-{filled}"),
            trade_id: "t1".into(),
            leg: Leg::parse(leg).expect("leg"),
            purpose: if side == "buy" {
                Purpose::Entry
            } else {
                Purpose::Unwind
            },
            venue: if leg == "a" { "pm" } else { "ks" }.into(),
            instrument: if leg == "a" { "A-YES" } else { "B-NO" }.into(),
            side: Side::parse(side).expect("side"),
            price: Price(0),
            qty: hundredths(filled),
            tif: crate::store::Tif::Ioc,
            state: OrderState::Filled,
            order_id: None,
            filled_qty: hundredths(filled),
            filled_notional: Usd(notional),
            fees: Usd(fees),
            failed_qty: hundredths(failed),
            reason: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    /// `n` hundredths of a share (the helpers below count in them).
    fn hundredths(n: i64) -> Qty {
        Qty(n * (plugin_api::money::SHARE / 100))
    }

    fn trade() -> TradeRow {
        TradeRow {
            id: "t1".into(),
            pair_id: "p".into(),
            direction: "yes_a_no_b".into(),
            qty: Qty::shares(100),
            state: state::NAKED,
            venue_a: "pm".into(),
            venue_b: "ks".into(),
            instrument_a: "A-YES".into(),
            instrument_b: "B-NO".into(),
            limit_a: Price(0),
            limit_b: Price(0),
            expected_cost: Usd::ZERO,
            expected_profit: Usd::ZERO,
            reserved_a: Usd::ZERO,
            reserved_b: Usd::ZERO,
            unwind_loss: Usd::ZERO,
            realized_pnl: None,
            note: String::new(),
            day: "2026-11-24".into(),
            created_ms: 0,
            updated_ms: 0,
            settled_ms: None,
        }
    }

    #[test]
    fn marks_held_shares_to_the_bid_against_their_average_cost() {
        // Leg a: bought 100 shares at $0.40 ($40.00) + $0.50 fees, sold 40 back: holds 60,
        //   cost 60/100 × $40.50 = $24.30; bid $0.45 → value $27.00; P&L +$2.70.
        // Leg b: bought 100 at $0.55 ($55.00) + $1.00 fees, 20 of them failed (ghost fill):
        //   good cost 80/100 × $56.00 = $44.80 for 80 shares; holds 80; no bid → value $0,
        //   P&L −$44.80, flagged unmarked.
        let orders = vec![
            order("a", "buy", 10_000, 40_000_000, 500_000, 0),
            order("a", "sell", 4_000, 17_600_000, 200_000, 0),
            order("b", "buy", 10_000, 55_000_000, 1_000_000, 2_000),
        ];
        let m = mark_trade(&trade(), &orders, |v, i| {
            (v == "pm" && i == "A-YES").then_some(Price(450_000))
        });
        assert_eq!(m.legs.len(), 2);
        let a = &m.legs[0];
        assert_eq!(
            (a.held, a.cost, a.bid),
            (Qty::shares(60), Usd(24_300_000), Some(Price(450_000)))
        );
        assert_eq!((a.value, a.pnl), (Usd(27_000_000), Usd(2_700_000)));
        let b = &m.legs[1];
        assert_eq!(
            (b.held, b.cost, b.bid, b.value),
            (Qty::shares(80), Usd(44_800_000), None, Usd(0))
        );
        assert_eq!(b.pnl, Usd(-44_800_000));
        assert_eq!(m.pnl, Usd(2_700_000 - 44_800_000));
        assert_eq!(
            m.unmarked().map(|l| l.leg.as_str()).collect::<Vec<_>>(),
            ["b"]
        );
    }

    #[test]
    fn a_trade_holding_nothing_has_no_marks() {
        let orders = vec![
            order("a", "buy", 500, 2_000_000, 0, 0),
            order("a", "sell", 500, 1_900_000, 0, 0),
        ];
        let m = mark_trade(&trade(), &orders, |_, _| Some(Price(500_000)));
        assert!(m.legs.is_empty());
        assert_eq!(m.pnl, Usd::ZERO);
    }

    #[test]
    fn rounding_is_half_up_on_cost_and_down_on_value() {
        // 3.01 shares bought for $1.000001 (fees included), all held: cost $1.000001.
        // Value at a $0.333333 bid: 333_333 × 301 / 100 = 1_003_332.33 µ$ → 1_003_332 (down).
        let orders = vec![order("a", "buy", 301, 1_000_000, 1, 0)];
        let m = mark_trade(&trade(), &orders, |_, _| Some(Price(333_333)));
        let a = &m.legs[0];
        assert_eq!(
            (a.held, a.cost),
            (Qty::parse("3.01").unwrap(), Usd(1_000_001))
        );
        assert_eq!(a.value, Usd(1_003_332));
        assert_eq!(a.pnl, Usd(3_331));
    }
}

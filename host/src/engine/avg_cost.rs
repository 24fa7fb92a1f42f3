//! The one average-cost rule: what a leg's shares cost on entry, fees included. Unwinding
//! prices its loss with it and mark-to-market values held shares against it. With it, the one
//! rule for splitting an order's money by shares ([`pro_rata`], [`kept`]), which a ghost
//! fill's refund and a settlement's cash use too, so the parts of an order add up to it.

use plugin_api::money::div_round;
use plugin_api::{Qty, Rounding, Usd};

use crate::store::{Leg, OrderRow, Side};

/// The part of `total` that `part` of an order's `filled` shares carry, rounded half up; zero
/// when nothing filled.
pub(super) fn pro_rata(total: Usd, part: Qty, filled: Qty) -> Usd {
    if filled.0 <= 0 {
        return Usd::ZERO;
    }
    Usd(div_round(
        total.0 as i128 * part.0 as i128,
        filled.0 as i128,
        Rounding::HalfUp,
    ) as i64)
}

/// The part of `total` (an order's money) its shares that did not fail carry: `total` less the
/// failed shares' [`pro_rata`] part, so what is kept and what is refunded add up to `total`.
pub(super) fn kept(total: Usd, o: &OrderRow) -> Usd {
    total - pro_rata(total, o.failed_qty, o.filled_qty)
}

/// What `q` shares of `leg` cost at the leg's average entry price: the money and fees paid for
/// its bought shares that did not fail (ghost fills are refunded), over those shares, times `q`.
/// Rounded half up; zero when the leg bought nothing.
pub(super) fn avg_entry_cost(orders: &[OrderRow], leg: Leg, q: Qty) -> Usd {
    let (mut bought, mut paid) = (0i128, 0i128);
    for o in orders
        .iter()
        .filter(|o| o.leg == leg && o.side == Side::Buy && o.filled_qty.0 > 0)
    {
        bought += (o.filled_qty - o.failed_qty).0 as i128;
        paid += kept(o.filled_notional + o.fees, o).0 as i128;
    }
    if bought <= 0 {
        return Usd::ZERO;
    }
    Usd(div_round(paid * q.0 as i128, bought, Rounding::HalfUp) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{OrderState, Purpose, Tif};

    fn buy(filled: Qty, notional: Usd, fees: Usd, failed: Qty) -> OrderRow {
        OrderRow {
            client_order_id: "c".into(),
            trade_id: "t".into(),
            leg: Leg::A,
            purpose: Purpose::Entry,
            venue: "pm".into(),
            instrument: "A".into(),
            side: Side::Buy,
            price: plugin_api::Price(0),
            qty: filled,
            tif: Tif::Ioc,
            state: OrderState::Filled,
            order_id: None,
            filled_qty: filled,
            filled_notional: notional,
            fees,
            failed_qty: failed,
            reason: None,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn what_is_kept_and_what_is_refunded_add_up_to_the_order() {
        // 3 of 7 shares failed on $1.000001 + $0.000002 fees: neither part divides evenly
        // (the refund is 0.4285717… of a dollar); truncating both parts lost micro-dollars.
        let filled = Qty::shares(7);
        let failed = Qty::shares(3);
        let o = buy(filled, Usd(1_000_001), Usd(2), failed);
        let total = o.filled_notional + o.fees;
        let refunded = pro_rata(total, failed, filled);
        assert_eq!(refunded, Usd(428_573));
        assert_eq!(kept(total, &o) + refunded, total);
        // Nothing failed: everything is kept, to the micro-dollar.
        let whole = buy(filled, Usd(1_000_001), Usd(2), Qty::ZERO);
        assert_eq!(kept(total, &whole), total);
        assert_eq!(pro_rata(total, failed, Qty::ZERO), Usd::ZERO);
    }

    #[test]
    fn average_cost_leaves_out_failed_shares() {
        // 10 shares for $4.00 + $0.10 fees, 4 of them failed (refunded): the 6 kept cost
        // $2.46, so each $0.41.
        let o = buy(
            Qty::shares(10),
            Usd(4_000_000),
            Usd(100_000),
            Qty::shares(4),
        );
        assert_eq!(
            avg_entry_cost(std::slice::from_ref(&o), Leg::A, Qty::shares(6)),
            Usd(2_460_000)
        );
        assert_eq!(avg_entry_cost(&[o], Leg::A, Qty::shares(1)), Usd(410_000));
        assert_eq!(avg_entry_cost(&[], Leg::A, Qty::shares(1)), Usd::ZERO);
    }
}

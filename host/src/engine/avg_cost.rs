//! The one average-cost rule: what a leg's shares cost on entry, fees included. Unwinding
//! prices its loss with it and mark-to-market values held shares against it.

use plugin_api::money::div_round;
use plugin_api::{Qty, Rounding, Usd};

use crate::store::{Leg, OrderRow, Side};

/// What `q` shares of `leg` cost at the leg's average entry price: the money and fees paid for
/// its bought shares that did not fail (ghost fills are refunded), over those shares, times `q`.
/// Rounded half up; zero when the leg bought nothing.
pub(super) fn avg_entry_cost(orders: &[OrderRow], leg: Leg, q: Qty) -> Usd {
    let (mut bought, mut paid) = (0i128, 0i128);
    for o in orders
        .iter()
        .filter(|o| o.leg == leg && o.side == Side::Buy && o.filled_qty.0 > 0)
    {
        let good = (o.filled_qty - o.failed_qty).0 as i128;
        bought += good;
        paid += div_round(
            (o.filled_notional + o.fees).0 as i128 * good,
            o.filled_qty.0 as i128,
            Rounding::HalfUp,
        );
    }
    if bought <= 0 {
        return Usd::ZERO;
    }
    Usd(div_round(paid * q.0 as i128, bought, Rounding::HalfUp) as i64)
}

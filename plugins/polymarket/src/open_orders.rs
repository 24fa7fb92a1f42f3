//! The open-orders listing books what the venue booked: each listed order that matched
//! something gets its fills read (`GET /data/trades`, as a single order read back does), so its
//! notional is the sum over fills at the maker's price and its fee the sum of the per-fill fees
//! at the market's own rate. An order that matched nothing has no fill and no fee. The listing
//! is a read: if a matched order's trades cannot be read it fails (the host may retry it)
//! rather than show that order with a fee it made up.

use plugin_api::{CallCtx, OpResult, OrderStatus, PluginResult, Step};
use serde::{Deserialize, Serialize};

use crate::state::TradesOf;
use crate::venue::{done, PolymarketVenue};

/// A listing whose matched orders get their fills read one after another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ListingFills {
    /// Every listed order, in the venue's order.
    pub orders: Vec<OrderStatus>,
    /// Each order's creation time (unix s), to bound its trades query.
    pub after: Vec<Option<i64>>,
    /// Which order is being read.
    pub index: usize,
}

impl PolymarketVenue {
    /// Reads the fills of the listed orders from `from` on; then the listing.
    pub(crate) fn listing_fills(
        &self,
        orders: Vec<OrderStatus>,
        after: Vec<Option<i64>>,
        from: usize,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        let next = orders
            .iter()
            .enumerate()
            .skip(from)
            .find(|(_, o)| o.filled_qty.0 > 0)
            .map(|(i, o)| (i, o.clone()));
        match next {
            None => done(OpResult::Orders { orders }),
            Some((index, order)) => {
                let after_s = after.get(index).copied().flatten();
                let order = self.estimate_fee(order)?;
                let mut q = TradesOf::new(order, after_s, true);
                q.listing = Some(ListingFills {
                    orders,
                    after,
                    index,
                });
                self.order_trades(q, None, ctx)
            }
        }
    }

    /// One listed order's fills are in: it takes its place and the next is read.
    pub(crate) fn listed_order_done(
        &self,
        mut l: ListingFills,
        order: OrderStatus,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if let Some(slot) = l.orders.get_mut(l.index) {
            *slot = order;
        }
        self.listing_fills(l.orders, l.after, l.index + 1, ctx)
    }
}

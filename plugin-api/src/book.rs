//! Order books as the engine and strategies see them.

use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::money::{Price, Qty};

/// One price level: `qty` shares available at `price`.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Price per share.
    pub price: Price,
    /// Shares available at that price.
    pub qty: Qty,
}

/// A full book for one instrument. Bids are sorted best (highest) first, asks best (lowest)
/// first, whatever order the venue sends; venue plugins normalise.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// The venue's instrument id.
    pub instrument: String,
    /// Buy orders, highest price first.
    pub bids: Vec<Level>,
    /// Sell orders, lowest price first.
    pub asks: Vec<Level>,
    /// Venue timestamp of the book, in ms since the Unix epoch.
    pub ts_ms: i64,
}

impl Book {
    /// Best (lowest) ask, if any.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first().copied()
    }

    /// Best (highest) bid, if any.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.first().copied()
    }

    /// Whether the levels are sorted best first with positive sizes and prices within (0, 1).
    pub fn is_well_formed(&self) -> bool {
        let ok_level = |l: &Level| l.qty.0 > 0 && l.price.0 > 0 && l.price < Price::ONE;
        self.bids.iter().all(ok_level)
            && self.asks.iter().all(ok_level)
            && self.bids.windows(2).all(|w| w[0].price > w[1].price)
            && self.asks.windows(2).all(|w| w[0].price < w[1].price)
    }
}

/// Walks a ladder of asks (best first) to buy `qty`, returning `(filled, worst price, levels)`
/// where `levels` is each `(price, qty)` consumed. Stops at `limit` if given.
pub fn walk(levels: &[Level], qty: Qty, limit: Option<Price>) -> (Qty, Price, Vec<Level>) {
    let mut left = qty;
    let mut worst = Price::ZERO;
    let mut used = Vec::new();
    for l in levels {
        if left.0 <= 0 {
            break;
        }
        if let Some(lim) = limit {
            if l.price > lim {
                break;
            }
        }
        let take = l.qty.min(left);
        used.push(Level {
            price: l.price,
            qty: take,
        });
        worst = l.price;
        left -= take;
    }
    (qty - left, worst, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(p: i64, q: i64) -> Level {
        Level {
            price: Price(p),
            qty: Qty(q),
        }
    }

    #[test]
    fn walk_consumes_levels_in_order_and_respects_limit() {
        let asks = [lv(400_000, 500), lv(410_000, 1_000), lv(450_000, 10_000)];
        let (f, worst, used) = walk(&asks, Qty(1_200), None);
        assert_eq!(f, Qty(1_200));
        assert_eq!(worst, Price(410_000));
        assert_eq!(used, vec![lv(400_000, 500), lv(410_000, 700)]);
        let (f, worst, _) = walk(&asks, Qty(5_000), Some(Price(420_000)));
        assert_eq!(f, Qty(1_500));
        assert_eq!(worst, Price(410_000));
    }
}

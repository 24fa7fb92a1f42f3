//! Orders, fills and account state, in the venue-neutral form every venue plugin speaks.

use serde::{Deserialize, Serialize};

use crate::fees::FeeModel;
use crate::money::{Price, Qty, Usd};

/// Buy or sell an instrument (an outcome token, or one side of a binary market).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Buy shares.
    Buy,
    /// Sell shares already held.
    Sell,
}

crate::tag_first::tag_first_enum! {
    /// How long an order may rest.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum TimeInForce tagged "tif" {
        /// Fill completely at once or not at all.
        Fok,
        /// Fill what is available at once, cancel the rest (Polymarket calls it FAK).
        Ioc,
        /// Rest until filled or cancelled.
        Gtc,
        /// Rest until the given time (ms since the Unix epoch).
        Gtd {
            /// Expiry, ms since the Unix epoch.
            expires_ms: i64,
        },
    }
}

/// An order the engine wants placed. `client_order_id` is derived from the trade id, so a
/// retried submit can be recognised by the venue and never buys twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderRequest {
    /// Idempotency key, unique per leg and attempt.
    pub client_order_id: String,
    /// The venue's instrument id.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit price per share.
    pub price: Price,
    /// Shares.
    pub qty: Qty,
    /// Time in force.
    pub tif: TimeInForce,
    /// Refuse to take liquidity.
    #[serde(default)]
    pub post_only: bool,
}

/// Lifecycle of an order at the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OrderState {
    /// Resting, nothing filled.
    Open,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled (possibly after a partial fill; see `filled_qty`).
    Cancelled,
    /// Refused by the venue.
    Rejected,
    /// Expired (GTD).
    Expired,
}

impl OrderState {
    /// Whether the order can no longer change.
    pub fn is_final(self) -> bool {
        !matches!(self, OrderState::Open | OrderState::PartiallyFilled)
    }
}

/// What the venue says about one order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStatus {
    /// The venue's order id.
    pub order_id: String,
    /// Our idempotency key, when the venue echoes it.
    pub client_order_id: Option<String>,
    /// The venue's instrument id.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Limit price.
    pub price: Price,
    /// Shares ordered.
    pub qty: Qty,
    /// Shares filled so far.
    pub filled_qty: Qty,
    /// Money paid (buy) or received (sell) for the filled shares, before fees.
    pub filled_notional: Usd,
    /// Fees charged so far.
    pub fees: Usd,
    /// Lifecycle state.
    pub state: OrderState,
    /// Venue's reason for a rejection or cancellation.
    pub reason: Option<String>,
}

/// Settlement status of a fill. Polymarket reports MATCHED → MINED → CONFIRMED, or FAILED when
/// the on-chain settlement reverts (a "ghost fill").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FillStatus {
    /// Matched by the venue, settlement pending.
    Matched,
    /// Settlement transaction mined.
    Mined,
    /// Final.
    Confirmed,
    /// Settlement failed; the fill did not happen.
    Failed,
}

/// One execution.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fill {
    /// The venue's fill or trade id.
    pub fill_id: String,
    /// The order it belongs to.
    pub order_id: String,
    /// Our idempotency key, when known.
    pub client_order_id: Option<String>,
    /// The venue's instrument id.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// Execution price.
    pub price: Price,
    /// Shares.
    pub qty: Qty,
    /// Fee charged.
    pub fee: Usd,
    /// Venue time, ms since the Unix epoch.
    pub ts_ms: i64,
    /// Settlement status.
    pub status: FillStatus,
}

/// Cash at a venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Balance {
    /// Spendable now.
    pub available: Usd,
    /// Available plus what open orders hold.
    pub total: Usd,
}

/// Shares held in one instrument.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The venue's instrument id.
    pub instrument: String,
    /// Shares held (negative is not used: both venues are long-only per outcome).
    pub qty: Qty,
    /// Total paid for them, fees excluded.
    pub cost: Usd,
}

/// Whether and how an instrument resolved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The venue's instrument id.
    pub instrument: String,
    /// True once the outcome is final and positions pay out.
    pub resolved: bool,
    /// What one share pays: $1 for the winner, $0 for the loser (between for scalar markets).
    pub payout: Price,
}

/// A settled market as the venue's portfolio records it (Kalshi `GET /portfolio/settlements`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The venue's market id (for Kalshi the ticker; both outcome instruments settle together).
    pub market: String,
    /// The venue's result string, e.g. `yes`, `no`, `scalar`.
    pub result: String,
    /// YES shares held at settlement.
    pub yes_qty: Qty,
    /// NO shares held at settlement.
    pub no_qty: Qty,
    /// What was paid for the YES shares.
    pub yes_cost: Usd,
    /// What was paid for the NO shares.
    pub no_cost: Usd,
    /// What the settlement paid out.
    pub revenue: Usd,
    /// Fees charged on settlement.
    pub fee: Usd,
    /// When it settled, ms since the Unix epoch.
    pub settled_ms: i64,
}

/// Trading rules for one instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRules {
    /// Smallest price increment.
    pub tick: Price,
    /// Smallest order size.
    pub min_qty: Qty,
    /// Smallest size increment of an order (Polymarket and Kalshi: 0.01 share). Orders are
    /// sized in multiples of it; fills may be finer ([`Qty`] counts micro-shares).
    pub qty_step: Qty,
    /// Smallest marketable order value (Polymarket: $1), zero if none.
    pub min_notional: Usd,
    /// Taker fee.
    pub taker_fee: FeeModel,
    /// Polymarket: whether the market is a neg-risk market (its orders are signed for the
    /// neg-risk exchange). `None` where the venue has no such notion or did not say. Plugins
    /// built before this field existed send none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_risk: Option<bool>,
}

/// A market (or outcome) listing for discovery and operator commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketInfo {
    /// The venue's instrument id to trade.
    pub instrument: String,
    /// The venue's market or event id it belongs to.
    pub market: String,
    /// Human title, e.g. "Lakers vs Celtics: Lakers".
    pub title: String,
    /// Venue status string (open, closed, settled, ...).
    pub status: String,
    /// Close time, ms since the Unix epoch, if known.
    pub close_ms: Option<i64>,
}

/// Derives the client order id of one leg attempt from the trade id. Deterministic, so a retry
/// after a crash sends the same id and the venue refuses a duplicate.
///
/// `leg` is `a` or `b`; `attempt` is 0 for the entry order and 1.. for unwind orders.
pub fn client_order_id(trade_id: &str, leg: char, attempt: u32) -> String {
    format!("pmx-{trade_id}-{leg}{attempt}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_order_ids_are_deterministic_and_distinct() {
        assert_eq!(
            client_order_id("t42", 'a', 0),
            client_order_id("t42", 'a', 0)
        );
        assert_ne!(
            client_order_id("t42", 'a', 0),
            client_order_id("t42", 'b', 0)
        );
        assert_ne!(
            client_order_id("t42", 'a', 0),
            client_order_id("t42", 'a', 1)
        );
    }

    #[test]
    fn tif_json_shape() {
        let j = serde_json::to_string(&TimeInForce::Gtd { expires_ms: 5 }).unwrap();
        assert_eq!(j, r#"{"tif":"gtd","expires_ms":5}"#);
    }
}

//! Continuations of multi-step operations, carried in the opaque `state` string of a
//! [`plugin_api::Step`].

use plugin_api::{Fill, OrderRequest, OrderStatus, VenueOp};
use serde::{Deserialize, Serialize};

/// Where an operation is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "s", rename_all = "snake_case")]
pub(crate) enum St {
    /// `POST /auth/api-key` sent; then run `op`.
    L1Create {
        op: Box<VenueOp>,
    },
    /// `GET /auth/derive-api-key` sent; then run `op`.
    L1Derive {
        op: Box<VenueOp>,
    },
    Markets,
    /// Gamma `/events/keyset` sent for structured listings.
    Listings {
        filter: plugin_api::ListingFilter,
    },
    /// `POST /books` sent.
    Books,
    Book {
        instrument: String,
    },
    RulesTick {
        instrument: String,
    },
    RulesBook {
        instrument: String,
        tick: i64,
    },
    RulesFee {
        instrument: String,
        tick: i64,
        min_size: i64,
    },
    /// `GET /book` for tick/neg-risk/min size before signing.
    PlaceMeta {
        order: OrderRequest,
    },
    /// `GET /neg-risk` for the exchange contract before signing.
    PlaceNegRisk {
        order: OrderRequest,
    },
    /// `GET /neg-risk` for an order of a batch.
    BatchNegRisk {
        orders: Vec<OrderRequest>,
        instrument: String,
    },
    /// `POST /order` sent; `digest` is the expected order id.
    PlaceSubmit {
        order: OrderRequest,
        digest: String,
        market: bool,
        tick_retry: bool,
    },
    /// Tick-size refresh after a tick error.
    PlaceTick {
        order: OrderRequest,
        error: String,
    },
    /// Ambiguous submit: looking the expected order id up.
    PlaceLookup {
        order: OrderRequest,
        digest: String,
    },
    /// Balance cache refresh after a balance error; then fail with `error`.
    PlaceBalanceUpdate {
        code: String,
        error: String,
    },
    Cancel {
        order_id: String,
        instrument: String,
    },
    CancelLookup {
        order_id: String,
        instrument: String,
        canceled: bool,
        reason: Option<String>,
    },
    GetOrder {
        order_id: String,
        client_order_id: Option<String>,
    },
    OpenOrders {
        instrument: Option<String>,
        acc: Vec<OrderStatus>,
        /// Each listed order's creation time (unix s), for its trades query.
        #[serde(default)]
        after: Vec<Option<i64>>,
        pages: u32,
    },
    Fills {
        instrument: Option<String>,
        since_ms: Option<i64>,
        acc: Vec<Fill>,
        pages: u32,
    },
    Balance,
    /// `GET /ok` (CLOB health check) for the exchange status.
    ExchangeStatus,
    Positions,
    /// `GET /closed-positions` (Data API) pages for the settlements.
    Settlements(crate::settlements::Walk),
    ResToken {
        instrument: String,
    },
    ResMarket {
        instrument: String,
    },
    /// `GET /book` for an order of a batch that has no metadata yet.
    BatchMeta {
        orders: Vec<OrderRequest>,
        instrument: String,
    },
    /// `POST /orders` sent.
    BatchSubmit {
        orders: Vec<OrderRequest>,
        slots: Vec<crate::batch::Slot>,
    },
    /// `DELETE /orders`, `/cancel-all` or `/cancel-market-orders` sent.
    CancelMany,
    /// `GET /data/trades` for the fills of an order (fees and notional per fill).
    OrderTrades(TradesOf),
}

/// Collecting the fills of one order from `GET /data/trades` pages.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TradesOf {
    /// The order, with its estimated notional and fee until the fills replace them.
    pub order: OrderStatus,
    /// Only trades at or after this time (unix s).
    pub after_s: Option<i64>,
    /// A failed listing is an error (reads) rather than keeping the estimate (place, cancel).
    pub strict: bool,
    /// The order's fills so far.
    pub acc: Vec<Fill>,
    /// Pages read so far.
    pub pages: u32,
    /// When the order is one of a batch placement: the batch's results and this order's
    /// place in them; the next matched order of the batch is read after this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<BatchFills>,
    /// When the order is one of an open-orders listing: the listing and this order's place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<crate::open_orders::ListingFills>,
}

/// A batch placement whose matched orders get their fills read one after another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BatchFills {
    /// One outcome per order, in request order.
    pub results: Vec<plugin_api::PlaceOutcome>,
    /// Which result the current order is.
    pub index: usize,
}

impl TradesOf {
    pub fn new(order: OrderStatus, after_s: Option<i64>, strict: bool) -> TradesOf {
        TradesOf {
            order,
            after_s,
            strict,
            acc: Vec::new(),
            pages: 0,
            batch: None,
            listing: None,
        }
    }
}

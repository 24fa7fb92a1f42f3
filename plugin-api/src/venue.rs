//! Venue adapters: the trait a venue plugin implements, and the operations it serves.
//!
//! A venue plugin never opens a socket. For each [`VenueOp`] it returns a [`Step`]: either a
//! request for the host to send ([`Step::Http`]), after which the host calls
//! [`Venue::resume`] with the response, or the final [`OpResult`]. Multi-step flows (derive
//! credentials, then sign) keep their progress in the opaque `state` string they hand back.

use serde::{Deserialize, Serialize};

use crate::book::Book;
use crate::error::PluginResult;
use crate::http::{HttpRequest, HttpResponse};
use crate::listing::{Listing, ListingFilter};
use crate::order::{
    Balance, Fill, InstrumentRules, MarketInfo, OrderRequest, OrderStatus, Position, Resolution,
    Settlement,
};
use crate::secret::Secrets;
use crate::stream::{StreamChannel, StreamFrame, StreamRequest, StreamSpec};

/// What the host passes into every call: the clock and randomness, so signing is deterministic
/// under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCtx {
    /// Current time, ms since the Unix epoch (simulated time in paper replays).
    pub now_ms: i64,
    /// Fresh random bytes (salts, nonces).
    pub random: [u8; 32],
}

/// Which venue's rules a plugin follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum VenueRules {
    /// Polymarket CLOB.
    Polymarket,
    /// Kalshi Trade API v2.
    Kalshi,
    /// Something else.
    Other,
}

/// What a venue plugin is and can do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueInfo {
    /// Plugin name, e.g. `kalshi`.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Whose rules it follows (for paper-sim: the venue it imitates).
    pub rules: VenueRules,
    /// True for simulators. The host only routes orders to a non-simulated venue in live mode.
    pub simulated: bool,
    /// Operation names it supports, e.g. `["book", "place_order", ...]`.
    pub capabilities: Vec<String>,
    /// Requests per second per rate class (`read`, `write`) the venue allows this account, when
    /// the plugin knows them (e.g. from the Kalshi tier). The host paces each class at this rate
    /// unless the config sets a lower one. Plugins built before this field existed send none.
    #[serde(default)]
    pub rate_limits: std::collections::BTreeMap<String, u32>,
}

/// Everything a venue instance is created with.
#[derive(Clone, Debug)]
pub struct VenueConfig {
    /// The instance name from config (one plugin can serve several instances).
    pub instance: String,
    /// The instance's `settings` table from config, as JSON.
    pub settings: serde_json::Value,
    /// Secrets the config named for this instance.
    pub secrets: Secrets,
}

/// Market listing filter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarketFilter {
    /// Venue series or category, e.g. `KXNBAGAME` or `nba`.
    pub series: Option<String>,
    /// Venue status filter, e.g. `open`.
    pub status: Option<String>,
    /// Pagination cursor from a previous page.
    pub cursor: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

crate::tag_first::tag_first_enum! {
    /// An operation the host asks a venue plugin to perform. New variants may be added; a plugin
    /// that does not know one answers [`crate::ErrorKind::Unsupported`].
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum VenueOp tagged "op" {
        /// List markets (one page).
        Markets {
            /// Filter.
            filter: MarketFilter,
        },
        /// Order book of one instrument.
        Book {
            /// Instrument id.
            instrument: String,
        },
        /// Order books of several instruments in one request, where the venue has a batch
        /// endpoint (capability `books`). Instruments the venue does not know are left out of the
        /// result.
        Books {
            /// Instrument ids.
            instruments: Vec<String>,
        },
        /// Tick, size and fee rules of one instrument.
        Rules {
            /// Instrument id.
            instrument: String,
        },
        /// Place an order.
        PlaceOrder {
            /// The order.
            order: OrderRequest,
        },
        /// Cancel an order.
        CancelOrder {
            /// Venue order id.
            order_id: String,
            /// Instrument id (some venues need it).
            instrument: String,
        },
        /// Look an order up by venue id or by client order id.
        GetOrder {
            /// Venue order id, if known.
            order_id: Option<String>,
            /// Client order id, if the venue id is unknown (e.g. after a timed-out submit).
            client_order_id: Option<String>,
            /// Instrument id.
            instrument: String,
        },
        /// Resting orders.
        OpenOrders {
            /// Only this instrument.
            instrument: Option<String>,
        },
        /// Fills since a time.
        Fills {
            /// Only this instrument.
            instrument: Option<String>,
            /// Only fills at or after this time (ms).
            since_ms: Option<i64>,
        },
        /// Cash balance.
        Balance,
        /// Positions held.
        Positions,
        /// Whether an instrument has resolved, and its payout.
        Resolution {
            /// Instrument id.
            instrument: String,
        },
        /// Settled markets from the venue's portfolio records.
        Settlements {
            /// Only this market (venue market id).
            market: Option<String>,
            /// Only settlements at or after this time (ms).
            since_ms: Option<i64>,
        },
        /// Place several orders in one request where the venue has a batch endpoint. Each order
        /// succeeds or fails on its own; the result lists one status per order, in order.
        PlaceOrders {
            /// The orders.
            orders: Vec<OrderRequest>,
        },
        /// Cancel several orders in one request.
        CancelOrders {
            /// Venue order ids.
            order_ids: Vec<String>,
        },
        /// Cancel every resting order (optionally of one instrument): the operator's kill switch.
        CancelAll {
            /// Only this instrument.
            instrument: Option<String>,
        },
        /// Whether the exchange is open for trading now. The host stops trading a venue that says
        /// no, and resumes when it says yes again.
        ExchangeStatus,
        /// Off the hot path: precompute what the next orders need (e.g. a request signature that
        /// does not cover the body). The host calls it periodically in live runs; a plugin with
        /// nothing to prepare answers [`crate::ErrorKind::Unsupported`] and is not asked again.
        Prepare,
        /// Off the hot path, never sent: build what [`VenueOp::PlaceOrder`] with `order`
        /// would send, so that the code and data of the path to the wire are in the CPU's
        /// caches when a real order comes. Between two orders whatever else the machine runs
        /// evicts them, and an order's build then costs several times its warm time
        /// (BENCHMARKS.md, "Rehearsed orders"). The host asks only when configured to
        /// (`[engine] rehearse_every_us`), as often as every few hundred microseconds.
        ///
        /// Answer with the step a `PlaceOrder` begins with (its [`Step::Http`]): the host reads
        /// it and frames its request as for a real order, then drops it. The host never sends
        /// a rehearsal (its step driver refuses to). Even so, nothing in it may be something a
        /// venue would accept: sign with a throwaway key, or put a placeholder where a
        /// signature goes. And a rehearsal must have no effect: nothing remembered or logged,
        /// nothing prepared for the next real order used up (a prepared signature or nonce
        /// stays where it is). Answer [`OpResult::Prepared`] when there is nothing to build
        /// yet (e.g. the market's rules are not known: learning them would be a request). A
        /// plugin that answers an error, e.g. [`crate::ErrorKind::Unsupported`] as a plugin
        /// built before this operation does, is not asked again.
        Rehearse {
            /// A representative order (the size and price of a real one; its client order id
            /// is not one the host will use).
            order: OrderRequest,
        },
        /// Markets described by their structure, for pair discovery (one page; capability
        /// `listings`). See [`crate::listing`].
        Listings {
            /// Filter.
            filter: ListingFilter,
        },
        /// Simulators only: live market data from a feed (see [`crate::feed`]).
        Ingest {
            /// What the feed delivered.
            snapshot: crate::feed::FeedSnapshot,
        },
    }
}

impl VenueOp {
    /// Short name for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            VenueOp::Markets { .. } => "markets",
            VenueOp::Book { .. } => "book",
            VenueOp::Books { .. } => "books",
            VenueOp::Rules { .. } => "rules",
            VenueOp::PlaceOrder { .. } => "place_order",
            VenueOp::CancelOrder { .. } => "cancel_order",
            VenueOp::GetOrder { .. } => "get_order",
            VenueOp::OpenOrders { .. } => "open_orders",
            VenueOp::Fills { .. } => "fills",
            VenueOp::Balance => "balance",
            VenueOp::Positions => "positions",
            VenueOp::Resolution { .. } => "resolution",
            VenueOp::Settlements { .. } => "settlements",
            VenueOp::PlaceOrders { .. } => "place_orders",
            VenueOp::CancelOrders { .. } => "cancel_orders",
            VenueOp::CancelAll { .. } => "cancel_all",
            VenueOp::ExchangeStatus => "exchange_status",
            VenueOp::Prepare => "prepare",
            VenueOp::Rehearse { .. } => "rehearse",
            VenueOp::Listings { .. } => "listings",
            VenueOp::Ingest { .. } => "ingest",
        }
    }
}

crate::tag_first::tag_first_enum! {
    /// The result of a finished operation.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum OpResult tagged "result" {
        /// One page of markets.
        Markets {
            /// The markets.
            markets: Vec<MarketInfo>,
            /// Cursor for the next page, if any.
            next_cursor: Option<String>,
        },
        /// An order book.
        Book {
            /// The book.
            book: Book,
        },
        /// Several order books.
        Books {
            /// The books, one per instrument the venue knew.
            books: Vec<Book>,
        },
        /// Instrument rules.
        Rules {
            /// The rules.
            rules: InstrumentRules,
        },
        /// One order (place, cancel and get all answer with the order's state).
        Order {
            /// The order.
            order: OrderStatus,
        },
        /// Several orders.
        Orders {
            /// The orders.
            orders: Vec<OrderStatus>,
        },
        /// Fills.
        Fills {
            /// The fills.
            fills: Vec<Fill>,
        },
        /// Cash.
        Balance {
            /// The balance.
            balance: Balance,
        },
        /// Positions.
        Positions {
            /// The positions.
            positions: Vec<Position>,
        },
        /// Resolution state.
        Resolution {
            /// The resolution.
            resolution: Resolution,
        },
        /// Settlements.
        Settlements {
            /// The settlements.
            settlements: Vec<Settlement>,
        },
        /// The outcome of a batch placement: one entry per order, in request order.
        Placed {
            /// Each order's status, or the venue's reason for refusing it.
            results: Vec<PlaceOutcome>,
        },
        /// The outcome of a cancel request for several orders.
        Cancelled {
            /// Venue ids of orders now cancelled.
            cancelled: Vec<String>,
            /// Orders that were not cancelled, with the venue's reason.
            not_cancelled: Vec<NotCancelled>,
        },
        /// Whether the exchange is trading.
        ExchangeStatus {
            /// Orders can be placed now.
            trading: bool,
            /// The venue's words on why not, or when it resumes, if it said.
            detail: Option<String>,
        },
        /// Preparation (or a rehearsal) done; nothing to report.
        Prepared,
        /// One page of structured listings.
        Listings {
            /// The listings.
            listings: Vec<Listing>,
            /// Cursor for the next page, if any.
            next_cursor: Option<String>,
        },
        /// A simulator took a feed snapshot (see [`crate::feed`]).
        Ingested {
            /// What it did with it.
            report: crate::feed::IngestReport,
        },
    }
}

crate::tag_first::tag_first_enum! {
    /// One order of a batch placement.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum PlaceOutcome tagged "outcome" {
        /// The venue took the order.
        Accepted {
            /// Its state.
            order: OrderStatus,
        },
        /// The venue refused it.
        Refused {
            /// Our client order id.
            client_order_id: String,
            /// The venue's error, typed like single-order errors (`code: message`).
            error: String,
        },
    }
}

/// An order a cancel request did not cancel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCancelled {
    /// Venue order id.
    pub order_id: String,
    /// Why (e.g. already matched).
    pub reason: String,
}

crate::tag_first::tag_first_enum! {
    /// The next step of an operation.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum Step tagged "step" {
        /// Send this request, then call [`Venue::resume`] with the response and `state`.
        Http {
            /// The request.
            request: HttpRequest,
            /// Opaque continuation, handed back unchanged.
            state: String,
        },
        /// Wait `ms` milliseconds (of the host's clock), then call [`Venue::resume`] with an empty
        /// response (status 0) and `state`. Simulators use it to inject latency.
        Wait {
            /// How long.
            ms: u64,
            /// Opaque continuation.
            state: String,
        },
        /// Finished.
        Done {
            /// The result.
            result: OpResult,
        },
    }
}

crate::tag_first::tag_first_enum! {
    /// Something that happened at a venue without being asked: a book update, a resolution, an
    /// outage. Simulators produce these from their scenario; live adapters from websocket frames.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum VenueEvent tagged "event" {
        /// A new full book.
        Book {
            /// The book.
            book: Book,
        },
        /// An instrument resolved.
        Resolved {
            /// The resolution.
            resolution: Resolution,
        },
        /// The venue stopped or resumed trading.
        Status {
            /// Whether trading is possible.
            trading: bool,
        },
    }
}

/// A venue adapter. Implement this, then export it with [`crate::export_venue!`].
///
/// Every method takes `&self` and may be called from several host threads; keep mutable state
/// behind a lock. Methods must not block on I/O: return a [`Step::Http`] instead.
pub trait Venue: Send + Sync + 'static {
    /// Creates an instance, validating its settings and secrets. A bad setting or a malformed
    /// key is an [`crate::ErrorKind::InvalidInput`] or [`crate::ErrorKind::Auth`] error naming it.
    fn create(config: VenueConfig) -> PluginResult<Self>
    where
        Self: Sized;

    /// What this plugin is.
    fn info(&self) -> VenueInfo;

    /// Starts an operation.
    fn begin(&self, op: VenueOp, ctx: CallCtx) -> PluginResult<Step>;

    /// Continues an operation after the host performed the request of a [`Step::Http`].
    fn resume(&self, state: String, response: HttpResponse, ctx: CallCtx) -> PluginResult<Step> {
        let _ = (state, response, ctx);
        Err(crate::PluginError::unsupported("resume"))
    }

    /// Events that happened up to `now_ms` (simulators: scenario events due by then).
    fn poll_events(&self, ctx: CallCtx) -> PluginResult<Vec<VenueEvent>> {
        let _ = ctx;
        Ok(Vec::new())
    }

    /// When the next scheduled event is due (simulators), so a replay can jump its clock.
    fn next_event_ms(&self) -> Option<i64> {
        None
    }

    /// How to connect to a stream (see [`crate::stream`]); called before every (re)connect,
    /// so a signed handshake is signed fresh. Default: unsupported (the host polls REST).
    fn stream_spec(&self, channel: StreamChannel, ctx: CallCtx) -> PluginResult<StreamSpec> {
        let _ = (channel, ctx);
        Err(crate::PluginError::unsupported("stream_spec"))
    }

    /// The text messages that carry out `request` on a connection (see [`crate::stream`]).
    fn stream_messages(&self, request: StreamRequest) -> PluginResult<Vec<String>> {
        let _ = request;
        Err(crate::PluginError::unsupported("stream_messages"))
    }

    /// One received text frame as typed events (see [`crate::stream`]). A malformed frame is
    /// an error naming the field.
    fn stream_parse(
        &self,
        channel: StreamChannel,
        frame: &str,
        ctx: CallCtx,
    ) -> PluginResult<StreamFrame> {
        let _ = (channel, frame, ctx);
        Err(crate::PluginError::unsupported("stream_parse"))
    }
}

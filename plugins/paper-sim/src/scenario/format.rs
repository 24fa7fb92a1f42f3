//! The in-memory form of a scenario. See `config/scenarios/README.md` for the file format.

use plugin_api::{FeeModel, Level, Price, Qty};
use serde::{Deserialize, Serialize};

/// The scenario format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// Which venue's rules a scenario venue follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RulesKind {
    /// Polymarket CLOB: outcome tokens, bids and asks, 5-share minimum, $1 marketable minimum.
    Polymarket,
    /// Kalshi: binary markets, bids-only books (YES bids and NO bids), 1-contract minimum.
    Kalshi,
}

impl RulesKind {
    /// The name used in files and settings.
    pub fn as_str(self) -> &'static str {
        match self {
            RulesKind::Polymarket => "polymarket",
            RulesKind::Kalshi => "kalshi",
        }
    }

    /// Parses `polymarket` or `kalshi`.
    pub fn parse(s: &str) -> Option<RulesKind> {
        match s {
            "polymarket" => Some(RulesKind::Polymarket),
            "kalshi" => Some(RulesKind::Kalshi),
            _ => None,
        }
    }

    /// Default price tick.
    pub fn default_tick(self) -> Price {
        Price(10_000)
    }

    /// Default minimum order size.
    pub fn default_min_size(self) -> Qty {
        match self {
            RulesKind::Polymarket => Qty::shares(5),
            RulesKind::Kalshi => Qty::shares(1),
        }
    }

    /// The venue's own taker fee formula at `rate_ppm` (Polymarket `C·rate·p·(1−p)` to 5 dp;
    /// Kalshi `ceil_to_cent(rate·C·P·(1−P))`).
    pub fn fee_at_rate(self, rate_ppm: u32) -> FeeModel {
        match self {
            RulesKind::Polymarket => FeeModel::polymarket(rate_ppm),
            RulesKind::Kalshi => FeeModel::kalshi(rate_ppm),
        }
    }

    /// The rate at which `fee` is this venue's own formula, if it is (what a scenario writes as
    /// `fee_rate_ppm`).
    pub fn rate_of(self, fee: &FeeModel) -> Option<u32> {
        match fee.terms() {
            [t] if self.fee_at_rate(t.ppm) == *fee => Some(t.ppm),
            _ => None,
        }
    }

    /// Default taker fee rate in parts per million (Polymarket sports 0.05, Kalshi 0.07).
    pub fn default_fee_rate_ppm(self) -> u32 {
        match self {
            RulesKind::Polymarket => 50_000,
            RulesKind::Kalshi => 70_000,
        }
    }
}

/// One venue a scenario simulates, identified by its `key` (a paper-sim instance's `venue_key`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueDef {
    /// Key the events and markets refer to, e.g. `polymarket`.
    pub key: String,
    /// Whose rules it follows.
    pub rules: RulesKind,
}

/// The first line of a scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// Scenario name.
    pub name: String,
    /// Generator seed, if generated.
    pub seed: Option<u64>,
    /// Start of simulated time (ms since the Unix epoch).
    pub start_ms: i64,
    /// End of simulated time: every event is at or before it.
    pub end_ms: i64,
    /// The venues.
    pub venues: Vec<VenueDef>,
}

/// One binary market at one venue: two instruments, `instruments[0]` paying if the market's
/// proposition is true ("yes") and `instruments[1]` if not.
///
/// Polymarket: the two outcome tokens of one condition (for a two-way game: team A, team B).
/// Kalshi: one market ticker `T` with instruments `T:yes` and `T:no`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketDef {
    /// Index into [`Header::venues`].
    pub venue: usize,
    /// Venue market id (Polymarket condition id, Kalshi ticker).
    pub id: String,
    /// Venue event id (Polymarket event slug, Kalshi event ticker).
    pub event: String,
    /// Series or category used by market filters (e.g. `nba`, `KXNBAGAME`).
    pub series: String,
    /// Human title.
    pub title: String,
    /// When the game (or whatever the market is about) starts (ms), if known. Pair discovery
    /// needs it on both venues to prove two listings are the same game.
    pub start_ms: Option<i64>,
    /// When trading stops (ms); orders after it are refused.
    pub close_ms: Option<i64>,
    /// Price tick.
    pub tick: Price,
    /// Minimum order size.
    pub min_size: Qty,
    /// The market's taker fee schedule. Written as `fee_rate_ppm` when it is the venue rules'
    /// own formula at a rate ([`RulesKind::fee_at_rate`]), else as `fee` (the schedule as data).
    pub fee: FeeModel,
    /// Instrument ids: `[yes, no]`.
    pub instruments: [String; 2],
    /// Outcome names: `[yes, no]` (Polymarket: the token outcomes, e.g. team names).
    pub outcomes: [String; 2],
}

/// One venue's side of a pair, as written in a scenario.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairSide {
    /// Venue key (see [`VenueDef::key`]).
    pub venue: String,
    /// Instrument paying $1 if the proposition is true.
    pub yes: String,
    /// Instrument paying $1 if it is false.
    pub no: String,
}

/// A cross-venue pair (one proposition, explicit polarity on both venues).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairDef {
    /// Pair id, e.g. `nba-2026-11-24-lal-bos-lal`.
    pub id: String,
    /// Human title, e.g. `Lakers beat Celtics (2026-11-24)`.
    pub title: String,
    /// Venue A (Polymarket in generated scenarios).
    pub a: PairSide,
    /// Venue B (Kalshi in generated scenarios).
    pub b: PairSide,
}

/// What a fault applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultTarget {
    /// The next order placed at the venue, whatever its instrument.
    NextOrder,
    /// The next order on this instrument.
    Instrument(String),
}

/// An injected fault, applied to order placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum FaultKind {
    /// The order is delayed by `ms` of simulated time ([`plugin_api::Step::Wait`]); it then
    /// executes against the book of that later time.
    Latency {
        /// Added delay.
        ms: u64,
    },
    /// The order is refused with `PluginError::rejected(code)`.
    Reject {
        /// The reject code.
        code: String,
    },
    /// Only `fraction` (0..1) of the order's size may fill; the rest is cancelled, whatever
    /// the time in force (so a FOK can come back partly filled: a misbehaving venue).
    Partial {
        /// Fraction of the order size that may fill.
        fraction: Price,
    },
    /// The call fails with `ErrorKind::Timeout`. If `placed`, the order was in fact accepted
    /// and executed, so the host must reconcile by client order id.
    Timeout {
        /// Whether the order was placed despite the timeout.
        placed: bool,
    },
    /// A matched-then-failed settlement: the order's fills are reported `Matched`, and
    /// `fail_after_ms` later they become `Failed`: shares removed, cash refunded.
    Ghost {
        /// Delay before the fills fail.
        fail_after_ms: u64,
    },
}

/// A fault armed for `count` matching orders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpec {
    /// Which orders it hits.
    pub target: FaultTarget,
    /// What happens.
    pub kind: FaultKind,
    /// How many orders it hits.
    pub count: u32,
}

/// What happens at one time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A full new book for market `market` (index into [`Scenario::markets`]), in terms of its
    /// yes instrument: bids best (highest) first, asks best (lowest) first. (A Kalshi line's
    /// NO bids are converted: a NO bid at q is a YES ask at 1 − q.)
    Book {
        /// Market index.
        market: u32,
        /// YES bids, best first.
        bids: Vec<Level>,
        /// YES asks, best first.
        asks: Vec<Level>,
    },
    /// Market resolved; `yes_won` says which instrument pays $1.
    Resolve {
        /// Market index.
        market: u32,
        /// Whether the yes instrument (`instruments[0]`) won.
        yes_won: bool,
    },
    /// A venue stopped (`false`) or resumed (`true`) trading.
    Status {
        /// Venue index.
        venue: usize,
        /// Whether trading is possible.
        trading: bool,
    },
    /// A fault is armed at a venue from this time on.
    Fault {
        /// Venue index.
        venue: usize,
        /// The fault.
        fault: FaultSpec,
    },
}

/// A timed event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When, ms since the Unix epoch (simulated).
    pub ts_ms: i64,
    /// What.
    pub kind: EventKind,
}

impl Event {
    /// The venue index this event belongs to.
    pub fn venue(&self, markets: &[MarketDef]) -> usize {
        match &self.kind {
            EventKind::Book { market, .. } | EventKind::Resolve { market, .. } => {
                markets[*market as usize].venue
            }
            EventKind::Status { venue, .. } | EventKind::Fault { venue, .. } => *venue,
        }
    }
}

/// A whole scenario in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// The header.
    pub header: Header,
    /// Markets, in file order (events refer to them by index).
    pub markets: Vec<MarketDef>,
    /// Pairs.
    pub pairs: Vec<PairDef>,
    /// Events, in time order.
    pub events: Vec<Event>,
}

impl Scenario {
    /// Index of the venue with `key`.
    pub fn venue_index(&self, key: &str) -> Option<usize> {
        self.header.venues.iter().position(|v| v.key == key)
    }
}

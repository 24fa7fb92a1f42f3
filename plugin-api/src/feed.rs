//! Live market data handed to a simulator: paper trading on live markets.
//!
//! A venue instance declared `role = "market-data"` serves public data only. A simulator
//! instance (e.g. paper-sim) can name it as its feed; the host then polls the feed's books,
//! rules, resolutions and exchange status through its normal I/O path and hands them to the
//! simulator with [`crate::VenueOp::Ingest`]. The simulator fills its own orders against what it
//! was handed, under the imitated venue's rules. Only simulators support the operation (they
//! list the capability [`INGEST_CAPABILITY`]); any other plugin answers
//! [`crate::ErrorKind::Unsupported`].

use serde::{Deserialize, Serialize};

use crate::book::Book;
use crate::order::{InstrumentRules, Resolution};

/// The capability a simulator lists when it accepts [`crate::VenueOp::Ingest`].
pub const INGEST_CAPABILITY: &str = "ingest";

/// The rules of one instrument as its feed reported them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedRules {
    /// Instrument id (the live venue's own id).
    pub instrument: String,
    /// Tick, sizes, minimum notional and the market's own fee schedule.
    pub rules: InstrumentRules,
}

/// What one poll of a feed delivered. Every part is optional: a poll may bring only books,
/// and the rules arrive before the first book of an instrument.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedSnapshot {
    /// The market-data instance it came from.
    pub source: String,
    /// When the host received it (ms since the Unix epoch, the host's clock). The simulator
    /// stamps the books with this time: its matching never runs on the venue's clock.
    pub received_ms: i64,
    /// Rules of instruments (new ones, or changed ones).
    #[serde(default)]
    pub rules: Vec<FeedRules>,
    /// Full books, each replacing the simulator's previous book of that instrument
    /// (and whatever the simulator's own fills had taken from it).
    #[serde(default)]
    pub books: Vec<Book>,
    /// Resolution states; a resolved one settles the simulator's positions at its payout.
    #[serde(default)]
    pub resolutions: Vec<Resolution>,
    /// Whether the live exchange is trading, when the feed said.
    #[serde(default)]
    pub trading: Option<bool>,
}

/// What a simulator did with a [`FeedSnapshot`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Books applied.
    pub books: u32,
    /// Instruments whose data was ignored because their rules never arrived.
    #[serde(default)]
    pub unknown: Vec<String>,
    /// Instruments that resolved with this snapshot.
    #[serde(default)]
    pub resolved: Vec<String>,
}

//! # PolyMix plugin API
//!
//! The one crate a third party needs to write a PolyMix plugin. There are three kinds:
//!
//! * **Venue adapters** ([`Venue`]) are *sans-IO*: they turn operations ([`VenueOp`]) into fully
//!   signed HTTP requests ([`Step::Http`]) and responses into typed results ([`OpResult`]). The
//!   host does all networking, timeouts, rate limits and retries, and passes the clock and
//!   randomness in ([`CallCtx`]). Each instrument's [`InstrumentRules`] carry the venue's taker
//!   fee as data ([`FeeModel`]: terms and rounding), so a venue with its own schedule needs
//!   nothing from the host.
//! * **Risk policies** ([`RiskPolicy`]) approve, reject or shrink a proposed trade. A reason
//!   that stops trading for the day says so ([`RiskReason::halts`]); the host alerts on it.
//! * **Strategies** ([`Strategy`]) look at a pair's books and propose trades, with each leg's
//!   expected fee ([`Proposal::fee_a`], [`Proposal::fee_b`]).
//!
//! Venue adapters may also stream books over websockets, still sans-IO: see [`stream`].
//!
//! Implement the plain Rust trait, then export it with [`export_venue!`], [`export_risk!`] or
//! [`export_strategy!`]. The macros build an `abi_stable` root module and catch every panic
//! inside the plugin, so a bug becomes [`ErrorKind::Panic`] instead of killing the host.
//!
//! ```toml
//! [lib]
//! crate-type = ["cdylib", "rlib"]
//! name = "polymix_venue_myvenue"   # polymix_<kind>_<name>
//! [dependencies]
//! polymix-plugin-api = "0.2"
//! abi_stable = "=0.11.3"           # the export macro expands to ::abi_stable paths
//! ```
//!
//! Money never uses floats: see [`Price`], [`Qty`] and [`Usd`].
//!
//! Compatibility: the host accepts a plugin built against the same `major.minor` of this crate
//! (while on 0.y), checked with `semver` before abi_stable's layout check. 0.2.0 broke 0.1:
//! fee schedules became data, proposals carry per-leg fees, risk reasons declare whether they
//! halt. Within 0.2.0, before its release, [`Qty`] changed unit from hundredths of a share to
//! micro-shares (1e-6 share, [`money::SHARE`] per share), so fills finer than a hundredth are
//! booked exactly; the layout (an `i64`) is unchanged, the meaning is not, so build plugins
//! with [`Qty::shares`] / [`Qty::parse`] rather than raw integers.
//! Within 0.2, plugins may declare the well-known host settings and environment secrets
//! they take ([`declare`]): an optional root-module field, so a plugin built without it loads
//! and declares nothing.
#![warn(missing_docs)]
// abi_stable's derives emit impls that rustc ≥ 1.80 flags as non-local.
#![allow(non_local_definitions)]

pub mod book;
pub mod declare;
pub mod error;
pub mod export;
pub mod feed;
pub mod fees;
pub mod ffi;
pub mod http;
pub mod info;
pub mod listing;
pub mod log;
pub mod money;
pub mod order;
pub mod pair;
pub mod risk;
pub mod secret;
pub mod settings;
pub mod strategy;
pub mod stream;
mod tag_first;
#[cfg(feature = "testing")]
pub mod testing;
pub mod venue;

pub use book::{Book, Level};
pub use declare::{Declaration, Declared, HostSetting, SecretDecl, SettingDecl, SettingKind};
pub use error::{ErrorKind, PluginError, PluginResult};
pub use feed::{FeedRules, FeedSnapshot, IngestReport};
pub use fees::{FeeBasis, FeeError, FeeModel, FeeRounding, FeeShape, FeeTerm};
pub use http::{HttpRequest, HttpResponse};
pub use info::{PluginInfo, PluginKind};
pub use listing::{
    Listing, ListingFilter, ListingOutcome, ListingStatus, OutcomeSide, Subject, Threshold,
    ThresholdDirection,
};
pub use money::{Price, Qty, Rounding, Usd};
pub use order::{
    client_order_id, Balance, Fill, FillStatus, InstrumentRules, MarketInfo, OrderRequest,
    OrderState, OrderStatus, Position, Resolution, Settlement, Side, TimeInForce,
};
pub use pair::{Direction, PairLeg, PairSpec};
pub use risk::{Mode, RiskDecision, RiskPolicy, RiskProposal, RiskReason, RiskSnapshot, VenueCash};
pub use secret::{Secret, Secrets};
pub use strategy::{EvalCtx, PairBooks, Proposal, Strategy, StrategyConfig};
pub use stream::{
    BookSide, KeepAlive, LevelChange, StreamChannel, StreamCommand, StreamEvent, StreamFrame,
    StreamRequest, StreamSeq, StreamSpec,
};
pub use venue::{
    CallCtx, MarketFilter, NotCancelled, OpResult, PlaceOutcome, Step, Venue, VenueConfig,
    VenueEvent, VenueInfo, VenueOp, VenueRules,
};

/// The version of this crate, which is the plugin API version.
pub const API_VERSION: &str = env!("CARGO_PKG_VERSION");

//! Pair discovery: the same proposition on two venues, with polarity proven from each venue's
//! structured listings (`VenueOp::Listings`), hard vetoes, and a price-sum flag for a likely
//! inversion. The registry that stores candidates and their approval lives in
//! `store::pair_registry`; the CLI in `cli/pairs.rs`.
//!
//! * [`leagues`]: where each venue lists a league, and whether its games can be drawn.
//! * [`aliases`]: the maintained team alias table.
//! * [`normalize`]: text normalisation, ranking similarity, dates.
//! * [`polarity`]: which instrument pays when P holds, and the fields that say so.
//! * [`vetoes`]: hard vetoes and flags.
//! * [`matcher`]: games matched by league, teams and start time, into candidates.
//! * [`duplicates`]: a candidate on instruments a registered pair already trades is flagged.
//! * [`run`]: one discovery pass into the registry (the CLI and paper auto-approval share it).
//! * [`trading_venue`]: a candidate listed on a feed is registered under the simulator it feeds.

pub mod aliases;
pub mod duplicates;
pub mod fetch;
pub mod leagues;
pub mod matcher;
pub mod normalize;
pub mod polarity;
pub mod run;
pub mod trading_venue;
pub mod vetoes;

pub use matcher::{discover, Candidate, Discovery, Unmatched, VenueListings};
pub use polarity::{Complement, Proposition, VenueSide};
pub use vetoes::{Flag, MatchParams, Veto};
#[cfg(test)]
mod tests;

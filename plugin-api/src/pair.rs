//! Pairs: one proposition traded on two venues, with explicit polarity.

use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::order::InstrumentRules;

/// One venue's side of a pair: the instrument that pays if the proposition P is true
/// (`yes`) and the one that pays if it is false (`no`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairLeg {
    /// Venue instance name from config.
    pub venue: String,
    /// Instrument paying $1 if P.
    pub yes: String,
    /// Instrument paying $1 if not P.
    pub no: String,
    /// Rules of `yes`.
    pub yes_rules: InstrumentRules,
    /// Rules of `no`.
    pub no_rules: InstrumentRules,
}

/// A pair as the strategy sees it. `index` is how the host refers to it in hot-path calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairSpec {
    /// Position in the host's pair table.
    pub index: u32,
    /// Pair id from config.
    pub id: String,
    /// Venue A.
    pub a: PairLeg,
    /// Venue B.
    pub b: PairLeg,
}

/// Which two instruments an arbitrage buys.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Buy P (`yes`) on venue A and not-P (`no`) on venue B.
    YesANoB = 0,
    /// Buy not-P (`no`) on venue A and P (`yes`) on venue B.
    NoAYesB = 1,
}

impl Direction {
    /// Both directions.
    pub const ALL: [Direction; 2] = [Direction::YesANoB, Direction::NoAYesB];

    /// The instruments bought on A and B, in that order.
    pub fn instruments<'a>(&self, pair: &'a PairSpec) -> (&'a str, &'a str) {
        match self {
            Direction::YesANoB => (&pair.a.yes, &pair.b.no),
            Direction::NoAYesB => (&pair.a.no, &pair.b.yes),
        }
    }

    /// Rules of the instruments bought on A and B.
    pub fn rules(&self, pair: &PairSpec) -> (InstrumentRules, InstrumentRules) {
        match self {
            Direction::YesANoB => (pair.a.yes_rules, pair.b.no_rules),
            Direction::NoAYesB => (pair.a.no_rules, pair.b.yes_rules),
        }
    }
}

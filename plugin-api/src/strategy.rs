//! Strategies: given a pair's books, propose trades. Called on every book update, so the call
//! passes borrowed slices and allocates nothing unless it proposes.

use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::book::Level;
use crate::error::PluginResult;
use crate::info::PluginInfo;
use crate::money::{Price, Qty, Usd};
use crate::pair::{Direction, PairSpec};

/// The four ask ladders of a pair, best ask first. A strategy buys, so asks are what it needs.
#[derive(Clone, Copy, Debug)]
pub struct PairBooks<'a> {
    /// Asks for P on venue A.
    pub a_yes: &'a [Level],
    /// Asks for not-P on venue A.
    pub a_no: &'a [Level],
    /// Asks for P on venue B.
    pub b_yes: &'a [Level],
    /// Asks for not-P on venue B.
    pub b_no: &'a [Level],
}

impl<'a> PairBooks<'a> {
    /// The ask ladders bought on A and B in `direction`.
    pub fn for_direction(&self, direction: Direction) -> (&'a [Level], &'a [Level]) {
        match direction {
            Direction::YesANoB => (self.a_yes, self.b_no),
            Direction::NoAYesB => (self.a_no, self.b_yes),
        }
    }
}

/// Per-call context.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalCtx {
    /// Current (possibly simulated) time, ms since the Unix epoch.
    pub now_ms: i64,
    /// Cash the engine could still commit on venue A (after reservations).
    pub available_a: Usd,
    /// Cash the engine could still commit on venue B.
    pub available_b: Usd,
}

/// A proposed two-leg trade: buy `qty` shares on each venue at no worse than the limits.
/// Costs and fees are per leg, so the host reserves and checks each venue's cash with what
/// that venue will charge.
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Pair index.
    pub pair: u32,
    /// Which instruments.
    pub direction: Direction,
    /// Shares on each leg (equal shares, never equal dollars).
    pub qty: Qty,
    /// Limit price on venue A (the worst level the walk reached, plus slippage allowance).
    pub limit_a: Price,
    /// Limit price on venue B.
    pub limit_b: Price,
    /// Expected cost on A, fees excluded.
    pub cost_a: Usd,
    /// Expected cost on B, fees excluded.
    pub cost_b: Usd,
    /// Expected taker fees on A (the sum of A's per-fill fees over the levels walked).
    pub fee_a: Usd,
    /// Expected taker fees on B.
    pub fee_b: Usd,
    /// Expected profit at settlement: `qty × $1 − costs − fees − slippage buffer`.
    pub profit: Usd,
    /// `profit / (costs + fees)` in parts per million.
    pub roi_ppm: i64,
}

impl Proposal {
    /// Expected fees, both legs.
    pub fn fees(&self) -> Usd {
        self.fee_a + self.fee_b
    }

    /// Total expected outlay, fees included.
    pub fn total_cost(&self) -> Usd {
        self.cost_a + self.cost_b + self.fees()
    }
}

/// Everything a strategy instance is created with.
#[derive(Clone, Debug)]
pub struct StrategyConfig {
    /// Instance name from config.
    pub instance: String,
    /// The `[strategy].settings` table, as JSON.
    pub settings: serde_json::Value,
    /// Every pair the engine watches, with each instrument's rules. A pair's `index` never
    /// changes while the engine runs; pairs approved later get higher indexes (see
    /// [`Strategy::create`]).
    pub pairs: Vec<PairSpec>,
}

/// A strategy. Implement this, then export it with [`crate::export_strategy!`].
pub trait Strategy: Send + Sync + 'static {
    /// Creates an instance, validating settings.
    ///
    /// When a pair is approved while the engine runs, the host creates a new instance over
    /// the longer pair list (every earlier pair keeps its index, the new ones come after) and
    /// replaces the old instance with it. So a strategy must keep no state it cannot rebuild
    /// from its settings and pairs; a strategy that refuses the longer list (returns an error)
    /// keeps the old instance running and the new pair is not traded.
    fn create(config: StrategyConfig) -> PluginResult<Self>
    where
        Self: Sized;

    /// What this plugin is.
    fn info(&self) -> PluginInfo;

    /// Looks at one pair's books and appends any proposals to `out`.
    fn evaluate(&self, pair: u32, books: &PairBooks<'_>, ctx: &EvalCtx, out: &mut Vec<Proposal>);
}

//! Risk policies: approve, reject or shrink a proposed trade given the engine's state.
//! The host reserves the proposal's cash only if its totals are still the snapshot the
//! policies judged (and asks again if not), so a policy's answer is always about the exact
//! state the trade is admitted in. See [`RiskPolicy::check`].

use serde::{Deserialize, Serialize};

use crate::error::PluginResult;
use crate::info::PluginInfo;
use crate::money::{Qty, Usd};

/// Trading mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Simulated venues only.
    Paper,
    /// Real money.
    Live,
}

/// Cash at one venue as the risk gate sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VenueCash {
    /// Venue instance name.
    pub venue: String,
    /// Cash not yet reserved by other in-flight trades.
    pub available: Usd,
}

/// The engine's state when a proposal is checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskSnapshot {
    /// Paper or live.
    pub mode: Mode,
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// Trades started today, including in-flight ones.
    pub trades_today: u32,
    /// Realized loss today as a positive amount (unwind losses included); zero when up.
    pub loss_today: Usd,
    /// Cost of all open (unsettled) positions, in-flight reservations included.
    pub open_exposure: Usd,
    /// Cost of legs currently not hedged by an opposite leg (partial fills, naked legs).
    pub unhedged_exposure: Usd,
    /// Cash per venue.
    pub cash: Vec<VenueCash>,
}

/// A trade as the risk gate sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskProposal {
    /// Pair id.
    pub pair: String,
    /// Venue of leg A.
    pub venue_a: String,
    /// Venue of leg B.
    pub venue_b: String,
    /// Shares per leg.
    pub qty: Qty,
    /// Cost of leg A including its fees.
    pub cost_a: Usd,
    /// Cost of leg B including its fees.
    pub cost_b: Usd,
    /// Expected profit after fees.
    pub profit: Usd,
    /// Expected return on cost, parts per million.
    pub roi_ppm: i64,
}

impl RiskProposal {
    /// Total outlay.
    pub fn total_cost(&self) -> Usd {
        self.cost_a + self.cost_b
    }
}

/// Why a policy objected. `code` is stable (for metrics), `message` is for people, `halts`
/// tells the host what kind of objection it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskReason {
    /// Stable code, e.g. `max_daily_trades`.
    pub code: String,
    /// Human explanation with the numbers.
    pub message: String,
    /// `true` when this reason stops all trading, not just this proposal (a daily loss or trade
    /// limit reached, a circuit breaker): the host alerts operators once per code and day.
    /// `false` for objections to one trade (too small a return, not enough cash).
    #[serde(default)]
    pub halts: bool,
}

impl RiskReason {
    /// An objection to this proposal only.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> RiskReason {
        RiskReason {
            code: code.into(),
            message: message.into(),
            halts: false,
        }
    }

    /// An objection that halts trading (see [`RiskReason::halts`]).
    pub fn halting(code: impl Into<String>, message: impl Into<String>) -> RiskReason {
        RiskReason {
            halts: true,
            ..RiskReason::new(code, message)
        }
    }
}

crate::tag_first::tag_first_enum! {
    /// A policy's verdict.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum RiskDecision tagged "decision" {
        /// Go ahead.
        Approve,
        /// Do not trade, for these reasons.
        Reject {
            /// All reasons found.
            reasons: Vec<RiskReason>,
        },
        /// Trade at most `qty` shares per leg.
        Resize {
            /// New size.
            qty: Qty,
            /// Why.
            reason: RiskReason,
        },
    }
}

/// A risk policy. Implement this, then export it with [`crate::export_risk!`].
pub trait RiskPolicy: Send + Sync + 'static {
    /// Creates an instance from its `[[risk]].settings` table (as JSON).
    fn create(instance: &str, settings: serde_json::Value) -> PluginResult<Self>
    where
        Self: Sized;

    /// What this plugin is.
    fn info(&self) -> PluginInfo;

    /// Judges one proposal.
    ///
    /// The answer must depend only on `snapshot` and `proposal`: the host asks without holding
    /// its lock, and if the engine's state moved meanwhile (another trade reserved or released
    /// cash, a balance was read, the day rolled) it asks again with the new snapshot. So one
    /// proposal may be checked more than once, and may be checked while other proposals are.
    /// With `[engine] rehearse_every_us` set the host also checks a representative proposal
    /// that is never traded, every few hundred microseconds, to keep this path warm.
    fn check(&self, snapshot: &RiskSnapshot, proposal: &RiskProposal) -> RiskDecision;
}

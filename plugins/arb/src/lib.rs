//! # PolyMix cross-venue arbitrage strategy
//!
//! For each configured pair (one proposition P on venues A and B) the strategy looks at both
//! directions — buy P on A and not-P on B, or not-P on A and P on B — and proposes the
//! equal-share trade that maximises expected profit at settlement, after both venues' taker
//! fees and a slippage buffer, subject to a minimum ROI, the per-trade budget and each venue's
//! available cash. See [`sizing`] for the walk and [`settings`] for the keys.
//!
//! `evaluate` runs on every book update. The common case (best asks sum to $1 or more) returns
//! after two comparisons per direction and allocates nothing; the walk itself never allocates
//! either, only pushing the final proposal into the caller's reused buffer.
#![warn(missing_docs)]
#![allow(non_local_definitions)]

pub mod settings;
pub mod sizing;

use plugin_api::{
    Direction, EvalCtx, PairBooks, PairSpec, PluginInfo, PluginResult, Price, Proposal, Rounding,
    Strategy, StrategyConfig,
};

pub use settings::{ArbSettings, SettingsError};
use sizing::{LegRules, Limits, Sized};

/// Plugin name reported by `info()`.
pub const NAME: &str = "arb";

/// Both legs' rules for one direction of one pair, resolved once at creation.
#[derive(Clone, Copy, Debug)]
struct DirRules {
    a: LegRules,
    b: LegRules,
}

#[derive(Clone, Debug)]
struct PairRules {
    index: u32,
    /// Indexed by `Direction as usize`.
    dirs: [DirRules; 2],
}

/// The arbitrage strategy.
#[derive(Debug)]
pub struct Arb {
    settings: ArbSettings,
    /// Sorted by pair index, so lookup is direct when indices are dense and a binary search
    /// otherwise.
    pairs: Vec<PairRules>,
}

impl Arb {
    /// Builds the strategy from validated settings and the pair table.
    pub fn new(settings: ArbSettings, pairs: &[PairSpec]) -> Self {
        let mut pairs: Vec<PairRules> = pairs
            .iter()
            .map(|p| PairRules {
                index: p.index,
                dirs: Direction::ALL.map(|d| {
                    let (a, b) = d.rules(p);
                    DirRules {
                        a: a.into(),
                        b: b.into(),
                    }
                }),
            })
            .collect();
        pairs.sort_by_key(|p| p.index);
        Arb { settings, pairs }
    }

    /// The settings in force.
    pub fn settings(&self) -> &ArbSettings {
        &self.settings
    }

    fn pair(&self, index: u32) -> Option<&PairRules> {
        match self.pairs.get(index as usize) {
            Some(p) if p.index == index => Some(p),
            _ => self
                .pairs
                .binary_search_by_key(&index, |p| p.index)
                .ok()
                .map(|i| &self.pairs[i]),
        }
    }

    /// Sizes one direction, or `None` when it has no acceptable trade.
    #[inline]
    fn direction(
        &self,
        rules: &DirRules,
        la: &[plugin_api::Level],
        lb: &[plugin_api::Level],
        ctx: &EvalCtx,
    ) -> Option<Sized> {
        // Fast exit: fees and deeper levels only add cost, so if the two best asks already
        // cost $1 or more there is nothing to buy. This is the path almost every update takes.
        let (a0, b0) = (la.first()?, lb.first()?);
        if a0.price.0 + b0.price.0 >= Price::ONE.0 {
            return None;
        }
        let limits = Limits {
            budget: self.settings.bet_amount,
            cash_a: ctx.available_a,
            cash_b: ctx.available_b,
            min_roi_ppm: self.settings.min_roi_ppm,
            slippage_bps: self.settings.slippage_bps,
        };
        sizing::size(la, lb, &rules.a, &rules.b, &limits)
    }

    /// The limit price of a leg: the worst level walked plus the configured slippage ticks,
    /// on the leg's tick grid, never above `1 − tick` (0.99 on a cent market) nor below one tick.
    fn limit_price(&self, worst: Price, leg: &LegRules) -> Price {
        let tick = leg.tick.0.max(1);
        let slipped = Price(worst.0 + self.settings.slippage_ticks * tick)
            .round_to_tick(Price(tick), Rounding::Up);
        let cap = Price(Price::ONE.0 - tick);
        // Never below the worst level itself, or the order could not take what we priced.
        slipped.min(cap).max(worst).max(Price(tick))
    }
}

impl Strategy for Arb {
    fn create(config: StrategyConfig) -> PluginResult<Self> {
        let settings = ArbSettings::from_json(&config.settings)?;
        Ok(Arb::new(settings, &config.pairs))
    }

    fn info(&self) -> PluginInfo {
        PluginInfo {
            name: NAME.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }

    fn evaluate(&self, pair: u32, books: &PairBooks<'_>, ctx: &EvalCtx, out: &mut Vec<Proposal>) {
        let Some(rules) = self.pair(pair) else {
            return;
        };
        // At most one proposal per pair: both directions compete for the same cash, so only
        // the more profitable one is offered.
        let mut best: Option<(Direction, Sized)> = None;
        for dir in Direction::ALL {
            let (la, lb) = books.for_direction(dir);
            if let Some(s) = self.direction(&rules.dirs[dir as usize], la, lb, ctx) {
                if best.is_none_or(|(_, b)| s.profit > b.profit) {
                    best = Some((dir, s));
                }
            }
        }
        let Some((direction, s)) = best else {
            return;
        };
        let r = &rules.dirs[direction as usize];
        out.push(Proposal {
            pair,
            direction,
            qty: s.qty,
            limit_a: self.limit_price(s.worst_a, &r.a),
            limit_b: self.limit_price(s.worst_b, &r.b),
            cost_a: s.cost_a,
            cost_b: s.cost_b,
            fee_a: s.fee_a,
            fee_b: s.fee_b,
            profit: s.profit,
            roi_ppm: s.roi_ppm,
        });
    }
}

/// The seed's environment variables this strategy takes (`*_BET_AMOUNT`, `*_MIN_ROI`), under
/// its own keys of the same names.
pub const DECLARATION: plugin_api::Declaration = plugin_api::Declaration::new(
    &[
        plugin_api::SettingDecl::new(plugin_api::HostSetting::BetAmount, "bet_amount"),
        plugin_api::SettingDecl::new(plugin_api::HostSetting::MinRoi, "min_roi"),
    ],
    &[],
);

/// The cdylib's root module. In its own module only so the macro's undocumented items do not
/// trip `missing_docs` here (the export macro does not document what it generates).
#[allow(missing_docs)]
mod export {
    plugin_api::export_strategy!(super::Arb, declaration = super::DECLARATION);
}

#[cfg(test)]
mod tests;

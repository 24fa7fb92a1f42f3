//! Pairs approved while the engine runs join it without a restart.
//!
//! The pair table only grows: a new pair takes the next index, so indexes the strategy, the
//! book cache, `pair_off` and the ledger's open trades already use never move. Adopting a pair
//! reads its instrument rules from the venues, indexes its books (streaming venues subscribe
//! them at once; the REST poll fetches those no stream made fresh), and replaces the strategy
//! instance by one created over the longer table (the documented contract of
//! `plugin_api::Strategy::create`: a strategy keeps no state it cannot rebuild from its
//! settings and pairs). Only the live loop adopts, so there is one writer; readers (the API,
//! the evaluation) see either the old table or the new one, never a pair without its books.

use plugin_api::ffi::{StrategyHandle, StrategyModuleRef};
use plugin_api::{InstrumentRules, OpResult, PairLeg, PairSpec, VenueOp};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};
use crate::config::PairEntry;
use crate::plugins::Guarded;
use crate::venue_io::VenueIo;

/// The engine's pairs: an append-only table read as a shared snapshot.
pub(super) struct PairTable(RwLock<Arc<Vec<PairSpec>>>);

impl PairTable {
    pub(super) fn new(pairs: Vec<PairSpec>) -> Self {
        PairTable(RwLock::new(Arc::new(pairs)))
    }

    /// The pairs as they are now.
    pub(super) fn get(&self) -> Arc<Vec<PairSpec>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn push(&self, p: Vec<PairSpec>) {
        let mut g = self.0.write().unwrap_or_else(|p| p.into_inner());
        let mut v = Vec::clone(&g);
        v.extend(p);
        *g = Arc::new(v);
    }
}

/// What it takes to create the strategy again over a longer pair table.
pub(super) struct StrategyRecipe {
    pub(super) module: StrategyModuleRef,
    pub(super) name: String,
    pub(super) settings: serde_json::Value,
    pub(super) timeout: std::time::Duration,
    pub(super) alarm: crate::plugins::HangAlarm,
}

impl StrategyRecipe {
    /// A new, guarded strategy instance over `pairs`.
    pub(super) async fn create(
        &self,
        pairs: &[PairSpec],
    ) -> Result<Guarded<StrategyHandle>, EngineError> {
        let (module, name, settings, pairs) = (
            self.module,
            self.name.clone(),
            self.settings.clone(),
            pairs.to_vec(),
        );
        let handle = tokio::task::spawn_blocking(move || {
            StrategyHandle::create(module, &name, &settings, &pairs)
        })
        .await
        .map_err(|e| EngineError::Setup(format!("strategy create: {e}")))?
        .map_err(|e| EngineError::Setup(format!("strategy `{}`: {e}", self.name)))?;
        Ok(Guarded::new(&self.name, handle, self.timeout).with_alarm(self.alarm.clone()))
    }
}

/// Rules handed to the strategy for a leg whose real rules could not be read; the pair does
/// not trade, so they never price an order.
pub(super) const PLACEHOLDER_RULES: InstrumentRules = InstrumentRules {
    tick: plugin_api::Price(10_000),
    min_qty: plugin_api::Qty::shares(1),
    qty_step: plugin_api::Qty::shares(1),
    min_notional: plugin_api::Usd::ZERO,
    taker_fee: plugin_api::FeeModel::FREE,
    neg_risk: None,
};

/// Builds pair `index` from its entry, reading each instrument's rules from its venue unless
/// `rules` has them. A leg whose rules cannot be read (its market resolved or closed, or the
/// venue refused) gets placeholder rules and the reason the pair must not trade.
pub(super) async fn pair_spec(
    venues: &[Arc<VenueIo>],
    venue_idx: &HashMap<String, VenueIdx>,
    rules: &mut HashMap<(VenueIdx, String), InstrumentRules>,
    p: &PairEntry,
    index: u32,
) -> Result<(PairSpec, Option<String>), EngineError> {
    let mut legs = Vec::new();
    let mut off = None;
    for side in [&p.a, &p.b] {
        let vi = *venue_idx.get(&side.venue).ok_or_else(|| {
            EngineError::Setup(format!("pair {}: unknown venue {}", p.id, side.venue))
        })?;
        let mut r = Vec::new();
        for inst in [&side.yes, &side.no] {
            let key = (vi, inst.clone());
            if !rules.contains_key(&key) {
                let op = VenueOp::Rules {
                    instrument: inst.clone(),
                };
                match venues[vi].run(&op).await {
                    Ok(OpResult::Rules { rules: ir }) => {
                        rules.insert(key.clone(), ir);
                    }
                    Ok(_) => {
                        off.get_or_insert(format!(
                            "venue {} answered rules of {inst} with another result",
                            side.venue
                        ));
                    }
                    Err(e) => {
                        off.get_or_insert(format!("rules of {inst} on {}: {e}", side.venue));
                    }
                }
            }
            r.push(rules.get(&key).copied().unwrap_or(PLACEHOLDER_RULES));
        }
        legs.push(PairLeg {
            venue: side.venue.clone(),
            yes: side.yes.clone(),
            no: side.no.clone(),
            yes_rules: r[0],
            no_rules: r[1],
        });
    }
    if let Some(why) = &off {
        tracing::error!(pair = %p.id, reason = %why, "pair does not trade");
    }
    let b = legs
        .pop()
        .ok_or_else(|| EngineError::Setup("pair leg".into()))?;
    let a = legs
        .pop()
        .ok_or_else(|| EngineError::Setup("pair leg".into()))?;
    Ok((
        PairSpec {
            index,
            id: p.id.clone(),
            a,
            b,
        },
        off,
    ))
}

impl Engine {
    /// Adds every registry-approved pair the engine does not watch yet. Returns how many
    /// joined. A failure (registry unreadable, strategy refused the longer table) changes
    /// nothing and is recorded; the next sweep tries again.
    pub async fn adopt_approved_pairs(&self) -> usize {
        match self.try_adopt().await {
            Ok(n) => n,
            Err(e) => {
                self.error(
                    None,
                    "pair_adopt",
                    &format!("approved pairs not adopted: {e}"),
                );
                0
            }
        }
    }

    async fn try_adopt(&self) -> Result<usize, EngineError> {
        let current = self.pairs.get();
        let entries = super::pair_gate::approved_discovered(&self.cfg, &self.ledger, false)?;
        let new: Vec<&PairEntry> = entries
            .iter()
            .filter(|e| current.iter().all(|p| p.id != e.id))
            .collect();
        if new.is_empty() {
            return Ok(0);
        }
        // Paper on live markets: the simulators' feeds learn the new legs (and hand over their
        // rules and books) before the rules are read from the simulators.
        let joining: Vec<PairEntry> = new.iter().map(|e| (*e).clone()).collect();
        super::feed::add_pairs(&self.feeds, &self.venues, &self.clock, &joining).await;
        let mut rules = self.market.rules_snapshot();
        let mut specs = Vec::new();
        let mut offs = Vec::new();
        for (k, e) in new.iter().enumerate() {
            let index = u32::try_from(current.len() + k)
                .map_err(|_| EngineError::Setup("too many pairs".into()))?;
            let (spec, off) =
                pair_spec(&self.venues, &self.venue_idx, &mut rules, e, index).await?;
            specs.push(spec);
            offs.push(off);
        }
        let mut all = Vec::clone(&current);
        all.extend(specs.iter().cloned());
        // The strategy first: if it refuses the longer table, nothing has changed.
        let strategy = self.strategy_recipe.create(&all).await?;
        // Then everything indexed by pair, before the table that hands out the indexes.
        self.market.add_pairs(&specs, offs.clone(), rules, |n| {
            self.venue_idx.get(n).copied()
        });
        *self.strategy.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(strategy);
        self.pairs.push(specs.clone());
        // Streaming venues subscribe the new instruments now (the REST poll covers them until
        // their snapshots arrive).
        self.stream_joined_pairs();
        for (s, off) in specs.iter().zip(&offs) {
            tracing::info!(pair = %s.id, index = s.index, "approved pair joined the running engine");
            if let Some(why) = off {
                self.error(
                    None,
                    "setup",
                    &format!("pair `{}` does not trade: {why}", s.id),
                );
            }
        }
        self.refresh_pair_gate();
        Ok(specs.len())
    }
}

//! The engine trades only pairs the registry approves (`store::pair_registry`).
//!
//! At start-up the config's `[[pair]]` entries are registered as approved, and the registry's
//! approved *discovered* pairs are added after them (config pairs keep their indexes). While
//! running, [`Engine::refresh_pair_gate`] re-reads the registry: a pair suspended, retired (or
//! never approved) stops trading at once, one approved again resumes, without a restart (a retired
//! or rejected pair's instruments also leave the streams). A pair
//! discovered and approved after start-up joins the running engine (`pair_adopt`).
//!
//! The gate shares `pair_off` with the "rules unreadable" reason but never overwrites it: it
//! only sets and clears reasons that start with [`GATE`].

use crate::config::{Config, PairEntry, PairSideEntry};
use crate::store::pair_registry::{PairOrigin, PairRegistryError};
use crate::store::{Ledger, PairState};

use super::setup::{Engine, EngineError};

/// Prefix of the reasons this gate writes.
pub const GATE: &str = "pair registry: ";

impl From<PairRegistryError> for EngineError {
    fn from(e: PairRegistryError) -> Self {
        EngineError::Setup(format!("pair registry: {e}"))
    }
}

/// The pairs to build the engine over: the config's, then the registry's approved discovered
/// pairs whose venues this config has.
pub(super) fn tradable_entries(
    cfg: &Config,
    ledger: &Ledger,
    now_ms: i64,
) -> Result<Vec<PairEntry>, EngineError> {
    ledger.pair_sync_config(&cfg.pairs, now_ms)?;
    let mut out = cfg.pairs.clone();
    out.extend(approved_discovered(cfg, ledger, true)?);
    Ok(out)
}

/// The registry's approved discovered pairs whose venues this config has (config pairs left
/// out: they are in the table from the start). `warn`: log pairs naming a venue the config
/// lacks (once at start, not on every running sweep).
pub(super) fn approved_discovered(
    cfg: &Config,
    ledger: &Ledger,
    warn: bool,
) -> Result<Vec<PairEntry>, EngineError> {
    let mut out: Vec<PairEntry> = Vec::new();
    for p in ledger.pairs(Some(PairState::Approved))? {
        if p.origin != PairOrigin::Discovered
            || cfg.pairs.iter().any(|e| e.id == p.id)
            || out.iter().any(|e| e.id == p.id)
        {
            continue;
        }
        if cfg.venue(&p.a.venue).is_none() || cfg.venue(&p.b.venue).is_none() {
            if warn {
                tracing::warn!(pair = %p.id, venue_a = %p.a.venue, venue_b = %p.b.venue,
                    "approved pair names a venue this config does not have; not traded");
            }
            continue;
        }
        let side = |s: &crate::store::pair_registry::RegisteredSide| PairSideEntry {
            venue: s.venue.clone(),
            yes: s.yes.clone(),
            no: s.no.clone(),
        };
        out.push(PairEntry {
            id: p.id.clone(),
            title: p.title.clone(),
            a: side(&p.a),
            b: side(&p.b),
        });
    }
    Ok(out)
}

impl Engine {
    /// Re-reads the registry and turns each pair's trading on or off by its state. A registry
    /// read failure keeps the current gate (and is logged): it never turns trading on.
    pub fn refresh_pair_gate(&self) {
        let states = match self.ledger.pairs(None) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "pair registry unreadable; pair gate unchanged");
                return;
            }
        };
        self.market.update_pair_off(|off| {
            for (i, p) in self.pairs.get().iter().enumerate() {
                let state = states.iter().find(|r| r.id == p.id).map(|r| r.state);
                let want = match state {
                    Some(PairState::Approved) => None,
                    Some(s) => Some(format!("{GATE}{s}")),
                    None => Some(format!("{GATE}not registered")),
                };
                let Some(cur) = off.get_mut(i) else {
                    continue;
                };
                let ours = cur.as_deref().is_none_or(|c| c.starts_with(GATE));
                if ours && *cur != want {
                    tracing::info!(pair = %p.id, state = ?state, "pair gate changed");
                    *cur = want;
                }
            }
        });
        // Retired and rejected pairs stop streaming; suspended ones stream on, to trade at
        // once when approved again.
        let left = states
            .iter()
            .filter(|r| matches!(r.state, PairState::Retired | PairState::Rejected))
            .map(|r| r.id.clone())
            .collect();
        self.stream_left_pairs(left);
    }
}

//! The engine trades only pairs the registry approves (`store::pair_registry`).
//!
//! At start-up the config's `[[pair]]` entries are registered as approved, and the registry's
//! approved *discovered* pairs are added after them (config pairs keep their indexes). While
//! running, [`Engine::refresh_pair_gate`] re-reads the registry: a pair suspended, retired (or
//! never approved) stops trading at once, one approved again resumes, without a restart. A pair
//! discovered and approved after start-up is traded from the next start (the strategy and the
//! book cache are built over a fixed pair table).
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
    for p in ledger.pairs(Some(PairState::Approved))? {
        if p.origin != PairOrigin::Discovered || out.iter().any(|e| e.id == p.id) {
            continue;
        }
        if cfg.venue(&p.a.venue).is_none() || cfg.venue(&p.b.venue).is_none() {
            tracing::warn!(pair = %p.id, venue_a = %p.a.venue, venue_b = %p.b.venue,
                "approved pair names a venue this config does not have; not traded");
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
        let mut off = self.pair_off.lock().unwrap_or_else(|p| p.into_inner());
        for (i, p) in self.pairs.iter().enumerate() {
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
    }
}

//! Paper mode's auto-approval (`[discovery] auto_approve = true`): at start-up, before the pair
//! table is built, discovery runs over the configured venues' listings and every clean
//! candidate (no veto, no flag) still proposed is approved as [`AUTO_PAPER_ACTOR`], recorded in
//! the registry's history like any approval. It is how the bundled paper job gets its pairs
//! from discovery rather than from hand-written `[[pair]]` entries. Live mode never does this
//! (the config check refuses it, and so does this module, in case a caller skipped the check).

use std::sync::Arc;

use crate::config::{Config, Mode, AUTO_PAPER_ACTOR};
use crate::pairs::leagues::{league, LEAGUES};
use crate::pairs::run::{discover_into_registry, DiscoverRequest};
use crate::pairs::MatchParams;
use crate::plugins::Registry;
use crate::store::pair_registry::Proposed;
use crate::store::{Ledger, PairState};
use crate::venue_io::Clock;

use super::setup::EngineError;

/// The reason recorded with each auto-approval.
const REASON: &str = "paper mode, [discovery] auto_approve: discovered with no veto and no flag";

/// Runs discovery and approves the clean candidates; returns how many it approved. Does
/// nothing unless `[discovery] auto_approve` is set.
pub(super) async fn auto_approve(
    cfg: &Config,
    registry: &Registry,
    ledger: &Ledger,
    clock: Arc<dyn Clock>,
) -> Result<usize, EngineError> {
    let d = &cfg.discovery;
    if !d.auto_approve {
        return Ok(0);
    }
    if cfg.mode != Mode::Paper {
        return Err(EngineError::Safety(
            "[discovery] auto_approve is only allowed in paper mode; refusing to start".into(),
        ));
    }
    let venue = |given: &Option<String>, i: usize, key: &str| {
        given
            .clone()
            .or_else(|| cfg.venues.get(i).map(|v| v.name.clone()))
            .ok_or_else(|| {
                EngineError::Setup(format!(
                    "{}: discovery.{key}: discovery needs two venues",
                    cfg.source.display()
                ))
            })
    };
    let leagues = if d.leagues.is_empty() {
        LEAGUES.iter().collect()
    } else {
        d.leagues
            .iter()
            .map(|l| {
                league(l).ok_or_else(|| {
                    EngineError::Setup(format!("discovery.leagues: unknown league {l:?}"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let req = DiscoverRequest {
        leagues,
        from_ms: None,
        to_ms: None,
        venue_a: venue(&d.venue_a, 0, "venue_a")?,
        venue_b: venue(&d.venue_b, 1, "venue_b")?,
        params: MatchParams::default(),
    };
    // Config pairs first, so a candidate on their instruments is flagged as a duplicate
    // (`same_instruments`) and never approved twice.
    ledger.pair_sync_config(&cfg.pairs, clock.now_ms())?;
    let report = discover_into_registry(cfg, registry, ledger, &req, clock.clone())
        .await
        .map_err(|e| EngineError::Setup(format!("pair discovery: {e}")))?;
    let mut approved = 0;
    for r in &report {
        for (c, o) in r.discovery.candidates.iter().zip(&r.outcomes) {
            // A pair a person decided (or an earlier run approved) is left as it is.
            if !c.clean() || matches!(o, Proposed::Kept(_)) {
                continue;
            }
            ledger.pair_decide(
                &c.id,
                PairState::Approved,
                AUTO_PAPER_ACTOR,
                Some(REASON),
                None,
                clock.now_ms(),
            )?;
            tracing::info!(pair = %c.id, actor = AUTO_PAPER_ACTOR, "pair auto-approved (paper)");
            approved += 1;
        }
    }
    let total: usize = report.iter().map(|r| r.discovery.candidates.len()).sum();
    tracing::info!(
        candidates = total,
        approved,
        "paper discovery: clean candidates approved"
    );
    Ok(approved)
}

//! Audit after settlement: when both markets of a pair have resolved, their results must agree
//! with the pair's declared polarity (A's `yes` pays exactly what B's `yes` pays). A divergence
//! (an inverted pair, a different oracle, a cancelled game settled differently) suspends the
//! pair in the registry with both venues' results, is logged as an engine error and notified.

use plugin_api::{PairLeg, Price};
use std::collections::HashMap;

use super::setup::Engine;
use crate::store::pair_registry::PairState;

/// What `leg.yes` paid per share, from whichever of its two instruments has resolved.
fn yes_payout(res: &HashMap<(usize, String), Price>, vi: usize, leg: &PairLeg) -> Option<Price> {
    res.get(&(vi, leg.yes.clone())).copied().or_else(|| {
        res.get(&(vi, leg.no.clone()))
            .map(|p| Price(Price::ONE.0 - p.0))
    })
}

impl Engine {
    /// Checks every pair whose two markets have resolved; suspends and reports divergent ones
    /// (once: a suspended pair is not approved any more).
    pub(super) fn audit_pairs(&self) {
        let res: HashMap<(usize, String), Price> = self.market.final_payouts();
        if res.is_empty() {
            return;
        }
        for p in self.pairs.get().iter() {
            let (Some(va), Some(vb)) = (self.vidx(&p.a.venue), self.vidx(&p.b.venue)) else {
                continue;
            };
            let (Some(a), Some(b)) = (yes_payout(&res, va, &p.a), yes_payout(&res, vb, &p.b))
            else {
                continue;
            };
            if a == b {
                continue;
            }
            let approved =
                matches!(self.ledger.pair(&p.id), Ok(Some(r)) if r.state == PairState::Approved);
            if !approved {
                continue;
            }
            let why = format!(
                "settlement audit: {} {} paid {a} per YES share, {} {} paid {b}: the pair's polarity does not hold",
                p.a.venue, p.a.yes, p.b.venue, p.b.yes
            );
            match self.ledger.pair_decide(
                &p.id,
                PairState::Suspended,
                "settlement-audit",
                Some(&why),
                None,
                self.clock.now_ms(),
            ) {
                Ok(_) => {
                    tracing::error!(pair = %p.id, a_yes_payout = %a, b_yes_payout = %b, "pair settled inconsistently; suspended");
                    self.error(None, "pair_audit", &format!("pair `{}`: {why}", p.id));
                    self.notify(
                        crate::notify::Kind::PairDivergence,
                        format!("pair {} suspended: {why}", p.id),
                        None,
                    );
                    self.refresh_pair_gate();
                }
                Err(e) => {
                    tracing::warn!(pair = %p.id, error = %e, "settlement audit could not suspend the pair")
                }
            }
        }
    }
}

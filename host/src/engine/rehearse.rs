//! Rehearsed orders (opt-in: `[engine] rehearse_every_us`). Every that many microseconds each
//! live venue builds a representative order through the same calls a real order's build makes
//! (`VenueOp::Rehearse`: unsigned, never sent, nothing prepared used up; see plugin-api), which
//! the host frames for its kept connection and drops; the risk policies judge a
//! representative proposal whose answer is dropped (`RiskGate::rehearse`); and a
//! representative trade's rows and intent line are built and dropped
//! (`Ledger::rehearse_intent`).
//!
//! Why: between two real orders the rest of the machine evicts the code and data of the way to
//! the wire from the CPU's caches, and a cold build took several times its warm time. In
//! `frame_to_wire` (1000 trades) the two orders' builds (`prepared`) fell from ~138 to ~61–71 µs
//! p50, the risk check (`admitted`) from ~51 to ~25 µs, and the whole way to the wire by ~150 µs,
//! with a rehearsal every millisecond (BENCHMARKS.md, "Rehearsed orders"). It costs CPU all the
//! time, so it is off unless configured.

use std::time::Duration;

use plugin_api::{Direction, OrderRequest, Price, Proposal, Qty, RiskProposal, Side, Usd};
use tokio::sync::watch;

use super::setup::{Engine, EngineError};
use crate::store::{OrderRow, TradeRow};

/// The rehearsed order's client id: never one of the host's (those name their trade).
const REHEARSAL_ID: &str = "rehearsal";

impl Engine {
    /// Rehearses each live venue's order every `rehearse_every_us` until `stop`. A venue that
    /// answers a rehearsal with an error (a plugin built before the operation answers
    /// `Unsupported`) is not asked again.
    pub(super) async fn drive_rehearse(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        let every = self.cfg.engine.rehearse_every_us;
        let mut venues: Vec<usize> = (0..self.venues.len())
            .filter(|&vi| !self.simulated[vi])
            .collect();
        if every == 0 || !self.live_ok || venues.is_empty() {
            return Ok(());
        }
        let tif = self.leg_tif()?.to_api();
        let mut tick = tokio::time::interval(Duration::from_micros(every));
        // A late tick is not made up for: the point is the cadence, not a count.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !*stop.borrow() && !venues.is_empty() {
            tokio::select! {
                _ = tick.tick() => {}
                r = stop.changed() => {
                    if r.is_ok() {
                        // Read the flag again at the loop's head.
                        continue;
                    }
                    // No sender left: nothing can stop it early; keep the cadence.
                    tick.tick().await;
                }
            }
            let mut keep = Vec::with_capacity(venues.len());
            for vi in venues {
                let Some(order) = self.rehearsal_order(vi, tif) else {
                    // No pair trades on it (yet): nothing to rehearse now.
                    keep.push(vi);
                    continue;
                };
                match self.venues[vi].rehearse(order).await {
                    Ok(_) => keep.push(vi),
                    Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Unsupported)) => {
                        tracing::debug!(venue = %self.venues[vi].name(), "venue does not rehearse orders");
                    }
                    Err(e) => {
                        tracing::warn!(venue = %self.venues[vi].name(), error = %e, "order rehearsal failed; not rehearsing this venue again");
                    }
                }
                // One venue's rehearsal per poll: a book frame waiting for this thread waits
                // for one build at most.
                tokio::task::yield_now().await;
            }
            venues = keep;
            // The risk policies' check, which every trade passes on its way.
            if let Some(proposal) = self.rehearsal_proposal() {
                self.gate.rehearse(&proposal);
            }
            // The trade's rows as an admission builds them, and its intent's line as the
            // journal writes it: built and dropped (no id taken, nothing written).
            if let Some((trade, orders)) = self.rehearsal_rows() {
                self.ledger.rehearse_intent(&trade, &orders);
            }
        }
        Ok(())
    }

    /// A proposal like the ones the policies judge: on the first pair, 10 shares, $9.50 for
    /// the two legs, $0.50 expected.
    fn rehearsal_proposal(&self) -> Option<RiskProposal> {
        let table = self.pairs.get();
        let pair = table.first()?;
        Some(RiskProposal {
            pair: pair.id.clone(),
            venue_a: pair.a.venue.clone(),
            venue_b: pair.b.venue.clone(),
            qty: Qty::shares(10),
            cost_a: Usd::from_cents(500),
            cost_b: Usd::from_cents(450),
            profit: Usd::from_cents(50),
            roi_ppm: 52_631,
        })
    }

    /// A trade's rows like the ones an admission builds: on the first pair, 10 shares at 0.50
    /// a leg, under the rehearsal's id.
    fn rehearsal_rows(&self) -> Option<(TradeRow, Vec<OrderRow>)> {
        let table = self.pairs.get();
        let pair = table.first()?;
        let half = Price(Price::ONE.0 / 2);
        let p = Proposal {
            pair: 0,
            direction: Direction::YesANoB,
            qty: Qty::shares(10),
            limit_a: half,
            limit_b: half,
            cost_a: Usd::from_cents(500),
            cost_b: Usd::from_cents(450),
            fee_a: Usd::ZERO,
            fee_b: Usd::ZERO,
            profit: Usd::from_cents(50),
            roi_ppm: 52_631,
        };
        let tif = self.leg_tif().ok()?;
        let now = self.clock.now_ms();
        Some(super::trade_plan::build(
            REHEARSAL_ID,
            pair,
            &p,
            p.qty,
            tif,
            now,
            &super::utc_day(now),
        ))
    }

    /// An order like the ones this venue gets: on the first pair's instrument there, at 0.50
    /// for 10 shares (on every tick size and above every venue's minimum), the legs' time in
    /// force.
    fn rehearsal_order(&self, vi: usize, tif: plugin_api::TimeInForce) -> Option<OrderRequest> {
        let name = self.venues[vi].name();
        let instrument = self.pairs.get().iter().find_map(|p| {
            [&p.a, &p.b]
                .into_iter()
                .find(|side| side.venue == name)
                .map(|side| side.yes.clone())
        })?;
        Some(OrderRequest {
            client_order_id: REHEARSAL_ID.to_string(),
            instrument,
            side: Side::Buy,
            price: Price(Price::ONE.0 / 2),
            qty: Qty::shares(10),
            tif,
            post_only: false,
        })
    }
}

//! Venues precompute what their next order needs (Kalshi: the order path's RSA signature,
//! which does not cover the body) on their own cadence, off the path from a book to the wire.
//! It runs beside the live loop, not in it: with streamed books that loop may poll only every
//! few minutes, and an order that finds no fresh prepared signature signs inline (~0.6 ms of
//! RSA on the way to the wire). A trade that used one asks for the next at once.

use std::time::Duration;
use tokio::sync::{watch, Notify};

use super::setup::{Engine, EngineError};
use plugin_api::VenueOp;

/// How often venues are asked to prepare. Kalshi's prepared signature lives a second by
/// default (`presign_max_age_ms`) and is renewed past half its life, so a quarter of that
/// keeps one ready; a venue with nothing due answers at once.
const EVERY: Duration = Duration::from_millis(250);

/// Wakes the preparer early: a trade just used what was prepared.
#[derive(Default)]
pub(super) struct Preparer {
    due: Notify,
}

impl Preparer {
    /// Asks for the next preparation now.
    pub(super) fn poke(&self) {
        self.due.notify_one();
    }
}

impl Engine {
    /// Asks every live venue to prepare, every [`EVERY`] and after each trade's orders left,
    /// until `stop`, and keeps its order connection open. A venue answering `Unsupported` is
    /// not asked to prepare again.
    pub(super) async fn drive_prepare(
        &self,
        mut stop: watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        let mut preparing: Vec<usize> = (0..self.venues.len())
            .filter(|&vi| !self.simulated[vi])
            .collect();
        if !self.live_ok {
            return Ok(());
        }
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let live: Vec<usize> = preparing.clone();
        if live.is_empty() {
            return Ok(());
        }
        // The first live trade's journal finds its file made. On a failure that trade meets
        // the error itself, in one line, and sends nothing.
        if let Err(e) = self.ledger.ready_intent_file() {
            tracing::warn!(error = %e, "could not make the intent file ahead");
        }
        while !*stop.borrow() {
            self.prepare_venues(&mut preparing).await;
            // Each live venue's order connection open for the next order (see
            // `venue_io::OrderLane`): reopened here when the server closed it.
            for &vi in &live {
                self.venues[vi].keep_order_connection();
            }
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.preparer.due.notified() => {}
                r = stop.changed() => {
                    if r.is_err() {
                        // No sender left: nothing can stop it early; keep the cadence.
                        tick.tick().await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Lets each venue precompute what its next order needs. A failure costs nothing but the
    /// head start.
    async fn prepare_venues(&self, preparing: &mut Vec<usize>) {
        let mut keep = Vec::with_capacity(preparing.len());
        for &vi in preparing.iter() {
            match self.venues[vi].run(&VenueOp::Prepare).await {
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Unsupported)) => {
                    tracing::debug!(venue = %self.venues[vi].name(), "venue has nothing to prepare");
                }
                Err(e) => {
                    tracing::warn!(venue = %self.venues[vi].name(), error = %e, "prepare failed");
                    keep.push(vi);
                }
                Ok(_) => keep.push(vi),
            }
        }
        *preparing = keep;
    }
}

//! What both drivers (replay and live) share: applying what venues report (books, status,
//! resolutions) to the market view, and trading on the pairs a change touched.

use plugin_api::VenueEvent;
use std::collections::BTreeSet;

use super::setup::{Engine, EngineError};

impl Engine {
    /// Applies venue events; returns the pairs whose books changed.
    pub(super) fn apply_events(
        &self,
        vi: usize,
        events: Vec<VenueEvent>,
        dirty: &mut BTreeSet<u32>,
    ) {
        for e in events {
            match e {
                VenueEvent::Book { book } => {
                    self.stat(|s| s.book_updates += 1);
                    self.market.apply_book(vi, book, dirty);
                }
                VenueEvent::Resolved { resolution } => self.on_resolution(vi, resolution),
                VenueEvent::Status { trading } => {
                    tracing::warn!(
                        venue = self.venues[vi].name(),
                        trading,
                        "venue trading status changed"
                    );
                    self.market.set_venue_trading(vi, trading);
                }
                _ => {}
            }
        }
    }

    /// Evaluates dirty pairs and handles their proposals.
    pub async fn trade_on(&self, dirty: &BTreeSet<u32>) -> Result<(), EngineError> {
        if dirty.is_empty() {
            return Ok(());
        }
        let pairs: Vec<u32> = dirty.iter().copied().collect();
        for p in self.evaluate(&pairs).await {
            self.handle_proposal(p).await?;
        }
        Ok(())
    }
}

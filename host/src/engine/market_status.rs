//! Market status from a venue's stream (Kalshi `market_lifecycle_v2`, ...): an instrument that
//! stops trading stops its pairs at once, one that trades again resumes them, and a resolution
//! goes where a polled one goes ([`Engine::on_resolution`], then the settlement sweep).
//!
//! A closed market is a `pair_off` reason like the pair gate's (shown in the API); this module
//! sets and clears only reasons that start with [`CLOSED`], never another one.

use plugin_api::{Price, Resolution};

use super::books::VenueIdx;
use super::setup::{Engine, EngineError};

/// Prefix of the reasons this module writes.
pub const CLOSED: &str = "market closed: ";

impl Engine {
    /// Instrument `instrument` of venue `vi` stopped (`trading = false`) or resumed trading.
    /// Returns the pairs that resumed (to be evaluated again).
    pub(super) fn on_instrument_status(
        &self,
        vi: VenueIdx,
        instrument: &str,
        trading: bool,
    ) -> Vec<u32> {
        let mut resumed = Vec::new();
        let venue = self.venues[vi].name().to_string();
        let reason = format!("{CLOSED}{venue} {instrument}");
        let table = self.pairs.get();
        self.market.update_pair_off(|off| {
        for (i, p) in table.iter().enumerate() {
            let touches = [&p.a, &p.b]
                .into_iter()
                .any(|leg| leg.venue == venue && (leg.yes == instrument || leg.no == instrument));
            if !touches {
                continue;
            }
            if off.len() <= i {
                off.resize(i + 1, None);
            }
            match (&off[i], trading) {
                (None, false) => {
                    tracing::warn!(pair = %p.id, %venue, %instrument, "market closed on the stream; the pair stops trading");
                    off[i] = Some(reason.clone());
                }
                (Some(r), true) if *r == reason => {
                    tracing::info!(pair = %p.id, %venue, %instrument, "market trading again on the stream; the pair resumes");
                    off[i] = None;
                    resumed.push(i as u32);
                }
                _ => {}
            }
        }
        });
        resumed
    }

    /// Instrument `instrument` of venue `vi` resolved, paying `payout` per share: the pairs on
    /// it stop, and the resolution feeds settlement at once.
    pub(super) async fn on_streamed_resolution(
        &self,
        vi: VenueIdx,
        instrument: String,
        payout: Price,
    ) -> Result<(), EngineError> {
        self.on_instrument_status(vi, &instrument, false);
        self.on_resolution(
            vi,
            Resolution {
                instrument,
                resolved: true,
                payout,
            },
        );
        self.settle_ready().await?;
        Ok(())
    }
}

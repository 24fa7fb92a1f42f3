//! The paper replay on a simulated clock, and what both drivers share: applying venue events
//! and trading on the pairs they changed.

use plugin_api::{CallCtx, VenueEvent};
use std::collections::BTreeSet;
use std::time::Duration;

use super::setup::{Engine, EngineError};
use crate::venue_io::{Clock, SimClock};

/// Progress callback: (sim time reached, last event time).
pub type Progress<'a> = &'a (dyn Fn(i64, i64) + Sync);

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
                    let mut books = self.books.lock().unwrap_or_else(|p| p.into_inner());
                    dirty.extend(books.update(vi, book).iter().copied());
                }
                VenueEvent::Resolved { resolution } => self.on_resolution(vi, resolution),
                VenueEvent::Status { trading } => {
                    tracing::warn!(
                        venue = self.venues[vi].name(),
                        trading,
                        "venue trading status changed"
                    );
                    self.trading.lock().unwrap_or_else(|p| p.into_inner())[vi] = trading;
                    if !trading {
                        self.books
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clear_venue(vi);
                    }
                }
                _ => {}
            }
        }
    }

    /// Replays the simulated venues' scenario to its end as fast as possible (or at `speed`×
    /// real time), trading as it goes, then settles.
    pub async fn replay(
        &self,
        clock: &SimClock,
        speed: Option<f64>,
        progress: Progress<'_>,
    ) -> Result<(), EngineError> {
        self.notify(
            crate::notify::Kind::EngineStart,
            format!("engine started: replaying {} pairs", self.pairs.get().len()),
            None,
        );
        self.reconcile().await?;
        let last = self
            .venues
            .iter()
            .filter_map(|v| {
                v.handle()
                    .call("next_event_ms", |h| Ok(h.next_event_ms()))
                    .ok()
                    .flatten()
            })
            .max()
            .unwrap_or(0);
        let mut last_fill_check = i64::MIN;
        loop {
            let next = self
                .venues
                .iter()
                .filter_map(|v| {
                    v.handle()
                        .call("next_event_ms", |h| Ok(h.next_event_ms()))
                        .ok()
                        .flatten()
                })
                .min();
            let Some(t) = next else { break };
            if let Some(sp) = speed.filter(|s| *s > 0.0) {
                let gap = (t - clock.now_ms()).max(0) as f64 / sp;
                tokio::time::sleep(Duration::from_secs_f64(gap / 1000.0)).await;
            }
            clock.advance_to(t);
            let mut dirty = BTreeSet::new();
            for (vi, v) in self.venues.iter().enumerate() {
                let ctx = CallCtx {
                    now_ms: t,
                    random: [0; 32],
                };
                match v
                    .handle()
                    .call_async("poll_events", move |h| h.poll_events(ctx))
                    .await
                {
                    Ok(events) => self.apply_events(vi, events, &mut dirty),
                    Err(e) => self.error(None, v.name(), &format!("poll_events: {e}")),
                }
            }
            self.trade_on(&dirty).await?;
            if t.saturating_sub(last_fill_check) >= 5_000 {
                self.check_fills().await?;
                last_fill_check = t;
            }
            self.settle_ready().await?;
            progress(t, last);
        }
        self.check_fills().await?;
        self.settle_ready().await?;
        self.refresh_balances().await?;
        let s = self.stats();
        self.notify(
            crate::notify::Kind::EngineStop,
            format!(
                "engine stopped: replay done, {} trades, {} settled, realized P&L ${}",
                s.trades,
                s.settled,
                s.realized_pnl.to_decimal(2)
            ),
            None,
        );
        if let Some(n) = self.notifier() {
            n.flush().await;
        }
        Ok(())
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

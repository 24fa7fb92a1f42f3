//! The paper replay on a simulated clock. It only orchestrates: venue events are applied in
//! `venue_events`, trades run in `executor`, settlement in `settlement`.

use plugin_api::CallCtx;
use std::collections::BTreeSet;
use std::time::Duration;

use super::setup::{Engine, EngineError};
use crate::venue_io::{Clock, SimClock};

/// Progress callback: (sim time reached, last event time).
pub type Progress<'a> = &'a (dyn Fn(i64, i64) + Sync);

impl Engine {
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
        // A killed replay goes on from its last durable step (see `replay_resume`).
        let resumed = super::replay_resume::resume_point(&self.ledger)?;
        if let Some(at) = resumed {
            clock.advance_to(at);
            self.resume_replay(at).await?;
        }
        self.reconcile().await?;
        if resumed.is_some() {
            // After reconciliation: it records the fills of legs the kill left unanswered.
            self.consume_journaled_fills()?;
        }
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
        // A run started again on this data dir says it found the replay finished.
        self.ledger.set_kv(
            super::replay_resume::REPLAY_DONE_KEY,
            &clock.now_ms().to_string(),
        )?;
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
}

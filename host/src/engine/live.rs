//! The live driver: polls books, checks exchange status, trades, and on start reconciles what
//! a crash left in flight; next to it run the stream driver, the preparer (venues precompute
//! their next order), the rehearsals (if configured) and the trades. It only orchestrates: the
//! work is in `rest_poll`, `venue_events`, `executor`, `settlement`, `reconcile`,
//! `stream_driver`, `prepare` and `rehearse`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use super::decision_latency::Stamps;
use super::setup::{Engine, EngineError};
use crate::venue_io::wire_stamp::observe;

/// How long a run stopped by a hung plugin call waits for its notifications to go out.
const HUNG_FLUSH: Duration = Duration::from_secs(2);

impl Engine {
    /// Live loop: polls books of every pair instrument, trades, checks fills and resolutions,
    /// until `stop` resolves. The drivers (REST loop, streams, preparer, trade runner) and
    /// each approved trade run as tasks of their own, in parallel on the runtime's threads, so
    /// one trade waiting on a venue, unwinding or writing the ledger (SQLite blocks its thread
    /// for the fsync) stops neither the others nor the next decision (see `in_flight`); on
    /// stop the loop hands over no more trades and waits for the running ones to end. If one
    /// task fails, the others are stopped and the error returned. If a plugin call holds its
    /// caller past the timeout (the registry's `HangAlarm`), the run stops at once with
    /// [`EngineError::PluginHung`]: a restart reconciles what was in flight.
    pub async fn run_live(
        self: &Arc<Self>,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        self.notify(
            crate::notify::Kind::EngineStart,
            format!("engine started: watching {} pairs", self.pairs.get().len()),
            None,
        );
        let last_checkpoint = self.reconcile_and_adopt().await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        // Pairs a trade's end freed, for the stream driver to decide again.
        let (freed_tx, freed_rx) = tokio::sync::mpsc::unbounded_channel();
        self.send_freed_pairs_to(freed_tx);
        let mut tasks = tokio::task::JoinSet::new();
        {
            let (e, stop, tx) = (self.clone(), stop.clone(), tx.clone());
            tasks.spawn(async move { e.drive_streams(stop, tx, freed_rx).await });
        }
        {
            let (e, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move { e.drive_prepare(stop).await });
        }
        {
            let (e, stop) = (self.clone(), stop.clone());
            tasks.spawn(async move { e.drive_rehearse(stop).await });
        }
        {
            // Orders a venue books late (within the appear window) are looked for once more.
            let window = Duration::from_millis(self.cfg.engine.order_appear_window_ms);
            let (e, stop) = (self.clone(), stop.clone());
            let late = last_checkpoint.map(|last| (last, window));
            tasks.spawn(async move { e.drive_journal_checkpoint(stop, late).await });
        }
        {
            let e = self.clone();
            tasks.spawn(async move { e.drive_live(stop, tx).await });
        }
        {
            let e = self.clone();
            tasks.spawn(async move { e.run_trades(rx).await });
        }
        loop {
            let done = tokio::select! {
                done = tasks.join_next() => done,
                reason = self.hang_alarm.wait() => {
                    // Not waiting for the tasks: the held one never ends, and a trade waiting
                    // behind it would not either. Dropping the set aborts the rest.
                    self.notify(
                        crate::notify::Kind::EngineStop,
                        format!("engine stopped: {reason}"),
                        None,
                    );
                    if let Some(n) = self.notifier() {
                        let _ = tokio::time::timeout(HUNG_FLUSH, n.flush()).await;
                    }
                    return Err(EngineError::PluginHung(reason));
                }
            };
            let Some(done) = done else { break };
            let failed = match done {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e,
                Err(e) => EngineError::Task(e.to_string()),
            };
            tasks.abort_all();
            return Err(failed);
        }
        self.notify(
            crate::notify::Kind::EngineStop,
            "engine stopped".into(),
            None,
        );
        if let Some(n) = self.notifier() {
            n.flush().await;
        }
        Ok(())
    }

    /// The loop itself: books, decisions (approved trades go to `trades`), sweeps.
    async fn drive_live(
        self: &Arc<Self>,
        mut stop: tokio::sync::watch::Receiver<bool>,
        trades: tokio::sync::mpsc::UnboundedSender<super::in_flight::Job>,
    ) -> Result<(), EngineError> {
        let poll = Duration::from_millis(self.cfg.engine.poll_ms);
        let settle_every = Duration::from_millis(self.cfg.engine.settle_poll_ms);
        let mut last_settle = std::time::Instant::now();
        let reconcile_every = Duration::from_millis(self.cfg.engine.reconcile_ms);
        let mut last_reconcile = std::time::Instant::now();
        // The loop wakes for the poll and for the reconciliation sweep (which adopts approved
        // pairs) on their own cadences: with streams `poll_ms` may be minutes, and a pair
        // approved meanwhile must not wait that long to be watched.
        let mut next_poll = std::time::Instant::now();
        // Venues that report whether their exchange is trading; asked before the first trade.
        let mut reporting: Vec<usize> = (0..self.venues.len()).collect();
        self.poll_exchange_status(&mut reporting).await;
        while !*stop.borrow() {
            if std::time::Instant::now() >= next_poll {
                self.poll_once(&trades).await?;
                next_poll = std::time::Instant::now() + poll;
                if trades.is_closed() {
                    // The executor is gone (it failed): the loop ends with it.
                    return Ok(());
                }
            }
            if last_reconcile.elapsed() >= reconcile_every {
                if self.adopt_approved_pairs().await > 0 {
                    // Their books: streaming venues subscribed them already; the REST poll
                    // fetches the rest (and those no snapshot made fresh yet) now.
                    next_poll = std::time::Instant::now();
                }
                self.refresh_pair_gate();
                self.reconcile_pending().await?;
                last_reconcile = std::time::Instant::now();
            }
            if last_settle.elapsed() >= settle_every {
                self.poll_feeds(true).await;
                self.poll_exchange_status(&mut reporting).await;
                self.check_fills().await?;
                self.poll_resolutions().await?;
                self.settle_ready().await?;
                // The venues' cash is the truth (orders adopted late, fees and settlements all
                // move it), but only while no trade holds a reservation against it.
                if !self.any_in_flight() {
                    if let Err(e) = self.refresh_balances().await {
                        tracing::warn!(error = %e, "balance refresh failed; keeping the last known cash");
                    }
                }
                last_settle = std::time::Instant::now();
            }
            // A stop ends the wait (with streams, `poll_ms` may be minutes).
            let wake = next_poll.min(last_reconcile + reconcile_every);
            let wait = tokio::time::sleep_until(wake.into());
            tokio::select! {
                _ = wait => {}
                r = stop.changed() => {
                    // No sender left: nothing can stop it early; wait out the sweep.
                    if r.is_err() {
                        tokio::time::sleep_until(wake.into()).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// One poll: fed simulators' feeds, books, and trades on what changed (approved trades go
    /// to `trades`; a closed channel ends the loop).
    async fn poll_once(
        self: &Arc<Self>,
        trades: &tokio::sync::mpsc::UnboundedSender<super::in_flight::Job>,
    ) -> Result<(), EngineError> {
        // Fed simulators get the feeds' books first (resolutions and status with the
        // settlement sweep).
        self.poll_feeds(false).await;
        let mut dirty = BTreeSet::new();
        let ((), wire) = observe(self.poll_books(&mut dirty)).await;
        if dirty.is_empty() {
            return Ok(());
        }
        let pairs: Vec<u32> = dirty.iter().copied().collect();
        // A closed channel is seen by the loop (`trades.is_closed()`).
        self.decide_and_hand_over(&pairs, Stamps::from_book(wire.last_response), trades)
            .await?;
        Ok(())
    }
}

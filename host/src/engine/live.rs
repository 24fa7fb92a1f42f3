//! The live driver: polls books (in batches where the venue can), checks exchange status,
//! lets venues prepare their next order, trades, and on start reconciles what a crash left in
//! flight.

use plugin_api::{Book, OpResult, VenueEvent, VenueOp};
use std::collections::BTreeSet;
use std::time::Duration;

use super::setup::{Engine, EngineError};
use crate::store::state;
use crate::venue_io::wire_stamp::observe;

impl Engine {
    /// Live loop: polls books of every pair instrument, trades, checks fills and resolutions,
    /// until `stop` resolves. Each approved trade runs as its own future next to the loop, so
    /// one trade waiting on a venue or unwinding does not stop the others (see `in_flight`);
    /// on stop the loop hands over no more trades and waits for the running ones to end.
    pub async fn run_live(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        self.notify(
            crate::notify::Kind::EngineStart,
            format!("engine started: watching {} pairs", self.pairs.get().len()),
            None,
        );
        self.reconcile().await?;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::try_join!(
            self.drive_streams(stop.clone(), tx.clone()),
            self.drive_live(stop, tx),
            self.run_trades(rx)
        )?;
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
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
        trades: tokio::sync::mpsc::UnboundedSender<super::in_flight::Job>,
    ) -> Result<(), EngineError> {
        let poll = Duration::from_millis(self.cfg.engine.poll_ms);
        let settle_every = Duration::from_millis(self.cfg.engine.settle_poll_ms);
        let mut last_settle = std::time::Instant::now();
        let reconcile_every = Duration::from_millis(self.cfg.engine.reconcile_ms);
        let mut last_reconcile = std::time::Instant::now();
        // Venues that can prepare (Kalshi: the order signature); dropped on their first
        // `Unsupported`.
        let mut preparing: Vec<usize> = (0..self.venues.len()).collect();
        // Venues that report whether their exchange is trading; asked before the first trade.
        let mut reporting: Vec<usize> = (0..self.venues.len()).collect();
        self.poll_exchange_status(&mut reporting).await;
        while !*stop.borrow() {
            self.prepare_venues(&mut preparing).await;
            // Fed simulators get the feeds' books first (resolutions and status with the
            // settlement sweep below).
            self.poll_feeds(false).await;
            let mut dirty = BTreeSet::new();
            let ((), wire) = observe(self.poll_books(&mut dirty)).await;
            if !dirty.is_empty() {
                let pairs: Vec<u32> = dirty.iter().copied().collect();
                for p in self.evaluate(&pairs).await {
                    if let Some((trade, orders)) = self.admit_proposal(p)? {
                        self.mark_in_flight(&trade);
                        if trades.send((trade, orders, wire.last_response)).is_err() {
                            // The executor is gone (it failed): the loop ends with it.
                            return Ok(());
                        }
                    }
                }
            }
            if last_reconcile.elapsed() >= reconcile_every {
                self.adopt_approved_pairs().await;
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
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                r = stop.changed() => {
                    // No sender left: nothing can stop it early; wait out the poll.
                    if r.is_err() {
                        tokio::time::sleep(poll).await;
                    }
                }
            }
        }
        Ok(())
    }

    /// Fetches the book of every pair instrument: one request per chunk of instruments on a
    /// venue with a batch endpoint, one per instrument elsewhere.
    async fn poll_books(&self, dirty: &mut BTreeSet<u32>) {
        let mut wanted: Vec<Vec<String>> = vec![Vec::new(); self.venues.len()];
        let mut seen = BTreeSet::new();
        let off = self
            .pair_off
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (i, p) in self.pairs.get().iter().enumerate() {
            if off.get(i).is_some_and(Option::is_some) {
                continue;
            }
            for leg in [&p.a, &p.b] {
                let Some(vi) = self.vidx(&leg.venue) else {
                    continue;
                };
                for inst in [&leg.yes, &leg.no] {
                    // A fresh streamed book is the stream's (see stream_driver).
                    if self.stream_owned(vi, inst) {
                        continue;
                    }
                    if seen.insert((vi, inst.clone())) {
                        wanted[vi].push(inst.clone());
                    }
                }
            }
        }
        // Venues are polled at the same time; each one's requests go in order (its rate
        // limiter paces them anyway).
        let polls = wanted
            .into_iter()
            .enumerate()
            .map(|(vi, instruments)| self.poll_venue_books(vi, instruments));
        for changed in futures_util::future::join_all(polls).await {
            dirty.extend(changed);
        }
    }

    /// One venue's books; returns the pairs whose books changed.
    async fn poll_venue_books(&self, vi: usize, instruments: Vec<String>) -> BTreeSet<u32> {
        /// Instruments per batch request.
        const CHUNK: usize = 50;
        let mut changed = BTreeSet::new();
        let dirty = &mut changed;
        if self.batch_books[vi] {
            for chunk in instruments.chunks(CHUNK) {
                let op = VenueOp::Books {
                    instruments: chunk.to_vec(),
                };
                match self.venues[vi].run(&op).await {
                    Ok(OpResult::Books { books }) => {
                        // A book the venue no longer serves (its market closed or resolved)
                        // is emptied, never left stale for the strategy to trade on.
                        let got: BTreeSet<String> =
                            books.iter().map(|b| b.instrument.clone()).collect();
                        let missing: Vec<&String> =
                            chunk.iter().filter(|i| !got.contains(i.as_str())).collect();
                        if !missing.is_empty() {
                            tracing::warn!(venue = %self.venues[vi].name(), ?missing, "venue served no book (market closed or resolved?); treating it as empty");
                        }
                        let empty = missing.into_iter().map(|i| Book {
                            instrument: i.clone(),
                            bids: Vec::new(),
                            asks: Vec::new(),
                            ts_ms: self.clock.now_ms(),
                        });
                        let events = books
                            .into_iter()
                            .chain(empty)
                            .map(|book| VenueEvent::Book { book });
                        self.apply_events(vi, events.collect(), dirty);
                    }
                    Ok(_) => {}
                    Err(e) => self.error(None, self.venues[vi].name(), &format!("books: {e}")),
                }
            }
            return changed;
        }
        for inst in instruments {
            match self.venues[vi]
                .run(&VenueOp::Book {
                    instrument: inst.clone(),
                })
                .await
            {
                Ok(OpResult::Book { book }) => {
                    self.apply_events(vi, vec![VenueEvent::Book { book }], dirty)
                }
                Ok(_) => {}
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Rejected { ref code }) if code.contains("not_found")) =>
                {
                    tracing::warn!(venue = %self.venues[vi].name(), instrument = %inst, "venue has no book (market closed or resolved?); treating it as empty");
                    let book = Book {
                        instrument: inst.clone(),
                        bids: Vec::new(),
                        asks: Vec::new(),
                        ts_ms: self.clock.now_ms(),
                    };
                    self.apply_events(vi, vec![VenueEvent::Book { book }], dirty)
                }
                Err(e) => self.error(None, self.venues[vi].name(), &format!("book {inst}: {e}")),
            }
        }
        changed
    }

    /// Asks each venue whether its exchange is trading; a change stops or resumes trading on
    /// it exactly like a simulator's status event. Venues without the operation are dropped
    /// from `reporting`; a failed check changes nothing (the order path has its own errors).
    async fn poll_exchange_status(&self, reporting: &mut Vec<usize>) {
        let mut keep = Vec::with_capacity(reporting.len());
        for &vi in reporting.iter() {
            match self.venues[vi].run(&VenueOp::ExchangeStatus).await {
                Ok(OpResult::ExchangeStatus { trading, detail }) => {
                    keep.push(vi);
                    let was = self.trading.lock().unwrap_or_else(|p| p.into_inner())[vi];
                    if was != trading {
                        if let Some(d) = &detail {
                            tracing::warn!(venue = %self.venues[vi].name(), detail = %d, "exchange status");
                        }
                        let name = self.venues[vi].name();
                        let text = if trading {
                            format!("{name}: exchange trading again")
                        } else {
                            let text = format!(
                                "{name}: exchange not trading{}; no orders until it is",
                                detail.map(|d| format!(" ({d})")).unwrap_or_default()
                            );
                            self.error(None, name, &text);
                            text
                        };
                        self.notify(crate::notify::Kind::VenueStatus, text, None);
                        self.apply_events(
                            vi,
                            vec![VenueEvent::Status { trading }],
                            &mut BTreeSet::new(),
                        );
                    }
                }
                Err(e) if matches!(e.kind(), Some(plugin_api::ErrorKind::Unsupported)) => {}
                Ok(_) => {}
                Err(e) => {
                    keep.push(vi);
                    tracing::warn!(venue = %self.venues[vi].name(), error = %e, "exchange status check failed");
                }
            }
        }
        *reporting = keep;
    }

    /// Lets each venue precompute what its next order needs, ahead of the book polls and
    /// the trade decision that follow. A failure costs nothing but the head start.
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

    /// Restart: brings every in-flight trade to a known state from the venues' records
    /// (looked up by order id or client order id, never re-sent) before any new trade.
    pub async fn reconcile(&self) -> Result<(), EngineError> {
        self.set_phase(Phase::Reconciling);
        let open = self.ledger.trades_in(state::IN_FLIGHT)?;
        let n = open.len();
        for t in open {
            tracing::warn!(trade_id = %t.id, state = %t.state, "reconciling trade left in flight");
            self.reconcile_trade(&t, true).await?;
        }
        tracing::info!(
            trades = n,
            "start-up reconciliation finished; trading begins"
        );
        self.set_phase(Phase::Trading);
        Ok(())
    }

    /// One sweep over in-flight trades with an order whose fate is not known yet: each such
    /// order is looked up again, and a trade whose orders are all known is resolved (hedged,
    /// unwound or failed). Runs on a timer in live mode, so no trade stays in flight for good.
    pub async fn reconcile_pending(&self) -> Result<(), EngineError> {
        for t in self.ledger.trades_in(state::IN_FLIGHT)? {
            if !self.claim(&t.id) {
                // Its own future (or a stream report) is running it.
                continue;
            }
            let r = self.reconcile_trade(&t, false).await;
            self.release(&t.id);
            r?;
        }
        Ok(())
    }

    /// Looks up `t`'s unresolved orders; resolves the trade when none is left unresolved (or,
    /// at start-up, always: its legs may be known but never acted on).
    pub(super) async fn reconcile_trade(
        &self,
        t: &crate::store::TradeRow,
        at_start: bool,
    ) -> Result<(), EngineError> {
        let mut orders = self.ledger.orders_of(&t.id)?;
        let mut looked = false;
        for o in orders.iter_mut().filter(|o| Self::is_unresolved(o)) {
            let Some(vi) = self.vidx(&o.venue) else {
                continue;
            };
            self.lookup(o, vi).await?;
            self.ledger.update_order(o)?;
            looked = true;
        }
        if !at_start && (!looked || orders.iter().any(Self::is_unresolved)) {
            return Ok(());
        }
        if at_start {
            self.ledger.transition(
                &t.id,
                t.state,
                "reconciled after restart",
                self.clock.now_ms(),
            )?;
        }
        self.resolve_legs(t, &orders).await
    }
}

/// Where the engine is in its life: an operator (and a test) can see when start-up
/// reconciliation is over and trading has begun.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Built, not yet reconciling.
    Starting,
    /// Bringing trades left in flight to a known state; no new trades.
    Reconciling,
    /// Trading.
    Trading,
}

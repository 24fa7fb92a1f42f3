//! Drivers: the paper replay on a simulated clock, and the live polling loop.

use plugin_api::{CallCtx, OpResult, VenueEvent, VenueOp};
use std::collections::BTreeSet;
use std::time::Duration;

use super::setup::{Engine, EngineError};
use crate::store::state;
use crate::venue_io::{Clock, SimClock};

/// Progress callback: (sim time reached, last event time).
pub type Progress<'a> = &'a (dyn Fn(i64, i64) + Sync);

impl Engine {
    /// Applies venue events; returns the pairs whose books changed.
    fn apply_events(&self, vi: usize, events: Vec<VenueEvent>, dirty: &mut BTreeSet<u32>) {
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
            format!("engine started: replaying {} pairs", self.pairs.len()),
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

    /// Live loop: polls books of every pair instrument, trades, checks fills and resolutions,
    /// until `stop` resolves.
    pub async fn run_live(
        &self,
        stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), EngineError> {
        self.notify(
            crate::notify::Kind::EngineStart,
            format!("engine started: watching {} pairs", self.pairs.len()),
            None,
        );
        self.reconcile().await?;
        let poll = Duration::from_millis(self.cfg.engine.poll_ms);
        let settle_every = Duration::from_millis(self.cfg.engine.settle_poll_ms);
        let mut last_settle = std::time::Instant::now();
        // Venues that can prepare (Kalshi: the order signature); dropped on their first
        // `Unsupported`.
        let mut preparing: Vec<usize> = (0..self.venues.len()).collect();
        // Venues that report whether their exchange is trading; asked before the first trade.
        let mut reporting: Vec<usize> = (0..self.venues.len()).collect();
        self.poll_exchange_status(&mut reporting).await;
        while !*stop.borrow() {
            self.prepare_venues(&mut preparing).await;
            let mut dirty = BTreeSet::new();
            self.poll_books(&mut dirty).await;
            self.trade_on(&dirty).await?;
            if last_settle.elapsed() >= settle_every {
                self.poll_exchange_status(&mut reporting).await;
                self.check_fills().await?;
                self.poll_resolutions().await?;
                self.settle_ready().await?;
                last_settle = std::time::Instant::now();
            }
            tokio::time::sleep(poll).await;
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

    /// Fetches the book of every pair instrument: one request per chunk of instruments on a
    /// venue with a batch endpoint, one per instrument elsewhere.
    async fn poll_books(&self, dirty: &mut BTreeSet<u32>) {
        /// Instruments per batch request.
        const CHUNK: usize = 50;
        let mut wanted: Vec<Vec<String>> = vec![Vec::new(); self.venues.len()];
        let mut seen = BTreeSet::new();
        for p in &self.pairs {
            for leg in [&p.a, &p.b] {
                let Some(vi) = self.vidx(&leg.venue) else {
                    continue;
                };
                for inst in [&leg.yes, &leg.no] {
                    if seen.insert((vi, inst.clone())) {
                        wanted[vi].push(inst.clone());
                    }
                }
            }
        }
        for (vi, instruments) in wanted.into_iter().enumerate() {
            if self.batch_books[vi] {
                for chunk in instruments.chunks(CHUNK) {
                    let op = VenueOp::Books {
                        instruments: chunk.to_vec(),
                    };
                    match self.venues[vi].run(&op).await {
                        Ok(OpResult::Books { books }) => {
                            if books.len() < chunk.len() {
                                let got: BTreeSet<&str> =
                                    books.iter().map(|b| b.instrument.as_str()).collect();
                                let missing: Vec<&String> =
                                    chunk.iter().filter(|i| !got.contains(i.as_str())).collect();
                                self.error(
                                    None,
                                    self.venues[vi].name(),
                                    &format!("books: no book for {missing:?}"),
                                );
                            }
                            let events = books.into_iter().map(|book| VenueEvent::Book { book });
                            self.apply_events(vi, events.collect(), dirty);
                        }
                        Ok(_) => {}
                        Err(e) => self.error(None, self.venues[vi].name(), &format!("books: {e}")),
                    }
                }
                continue;
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
                    Err(e) => {
                        self.error(None, self.venues[vi].name(), &format!("book {inst}: {e}"))
                    }
                }
            }
        }
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
    /// (looked up by client order id, never re-sent) before any new trade.
    pub async fn reconcile(&self) -> Result<(), EngineError> {
        let open = self.ledger.trades_in(state::IN_FLIGHT)?;
        for t in open {
            tracing::warn!(trade_id = %t.id, state = %t.state, "reconciling trade left in flight");
            let mut orders = self.ledger.orders_of(&t.id)?;
            for o in orders.iter_mut() {
                if matches!(o.state.as_str(), "planned" | "sent" | "unknown") {
                    let Some(vi) = self.vidx(&o.venue) else {
                        continue;
                    };
                    self.lookup(o, vi).await?;
                    if o.state == "not_found" {
                        o.filled_qty = plugin_api::Qty::ZERO;
                    }
                    self.ledger.update_order(o)?;
                }
            }
            self.ledger.transition(
                &t.id,
                &t.state,
                "reconciled after restart",
                self.clock.now_ms(),
            )?;
            self.resolve_legs(&t, &orders).await?;
        }
        Ok(())
    }
}

//! Strategy evaluation and two-leg execution with unwinds.

use abi_stable::std_types::RVec;
use plugin_api::ffi::FfiPairBooks;
use plugin_api::{
    Book, ErrorKind, EvalCtx, Level, OpResult, OrderRequest, OrderStatus, Proposal, Qty,
    RiskProposal, TimeInForce, VenueOp,
};
use std::sync::Arc;

use super::books::VenueIdx;
use super::risk_gate::{Admission, Candidate};
use super::setup::{Engine, EngineError};
use crate::notify::Kind;
use crate::store::{state, OrderRow, TradeRow};
use crate::store::{Leg, OrderState, Purpose};
use crate::venue_io::wire_stamp::observe;
use crate::venue_io::Begun;

/// The four ladders of one pair, shared (not copied) with the strategy worker.
struct PairInput {
    pair: u32,
    ctx: EvalCtx,
    books: [Option<Arc<Book>>; 4],
}

fn asks(b: &Option<Arc<Book>>) -> &[Level] {
    b.as_deref().map(|b| b.asks.as_slice()).unwrap_or(&[])
}

impl Engine {
    /// Runs the strategy over `pairs` and returns its proposals.
    pub async fn evaluate(&self, pairs: &[u32]) -> Vec<Proposal> {
        let inputs: Vec<PairInput> = {
            let books = self.books.lock().unwrap_or_else(|p| p.into_inner());
            let trading = self.trading.lock().unwrap_or_else(|p| p.into_inner());
            let off = self.pair_off.lock().unwrap_or_else(|p| p.into_inner());
            let gate = self.gate.state();
            let table = self.pairs.get();
            let now_ms = self.clock.now_ms();
            pairs
                .iter()
                .filter_map(|&i| {
                    let p = table.get(i as usize)?;
                    if off.get(i as usize).is_some_and(Option::is_some) {
                        return None;
                    }
                    // A trade in flight on any of the pair's instruments has not yet taken
                    // its shares off the books: wait for it.
                    if self.touches_busy(p) {
                        return None;
                    }
                    let (va, vb) = (self.vidx(&p.a.venue)?, self.vidx(&p.b.venue)?);
                    if !trading[va] || !trading[vb] {
                        return None;
                    }
                    let avail = |v: &str| {
                        gate.cash.get(v).copied().unwrap_or_default()
                            - gate.reserved.get(v).copied().unwrap_or_default()
                    };
                    Some(PairInput {
                        pair: i,
                        ctx: EvalCtx {
                            now_ms,
                            available_a: avail(&p.a.venue),
                            available_b: avail(&p.b.venue),
                        },
                        books: books.pair(i),
                    })
                })
                .collect()
        };
        if inputs.is_empty() {
            return Vec::new();
        }
        let strategy = self
            .strategy
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let r = strategy
            .call_async("evaluate", move |h| {
                let batch: Vec<FfiPairBooks<'_>> = inputs
                    .iter()
                    .map(|x| FfiPairBooks {
                        pair: x.pair,
                        ctx: x.ctx,
                        a_yes: asks(&x.books[0]).into(),
                        a_no: asks(&x.books[1]).into(),
                        b_yes: asks(&x.books[2]).into(),
                        b_no: asks(&x.books[3]).into(),
                    })
                    .collect();
                let mut out = RVec::new();
                h.evaluate(&batch, &mut out)?;
                Ok(out.into_vec())
            })
            .await;
        match r {
            Ok(v) => v,
            Err(e) => {
                self.error(None, "strategy", &e.to_string());
                Vec::new()
            }
        }
    }

    /// Gate, journal and execute one proposal. Returns the trade id if one was made.
    pub async fn handle_proposal(&self, p: Proposal) -> Result<Option<String>, EngineError> {
        match self.admit_proposal(p)? {
            Some((trade, orders)) => {
                let id = trade.id.clone();
                self.execute(trade, orders, None).await?;
                Ok(Some(id))
            }
            None => Ok(None),
        }
    }

    /// Gates and journals one proposal: the approved trade and its orders, ready to execute,
    /// or `None` when the risk gate refused it.
    pub(super) fn admit_proposal(
        &self,
        p: Proposal,
    ) -> Result<Option<(TradeRow, Vec<OrderRow>)>, EngineError> {
        // Live runs decide from two drivers (REST poll, streams): a trade the other one
        // started on this pair since the books were evaluated has not taken its shares off
        // them yet.
        if self
            .pairs
            .get()
            .get(p.pair as usize)
            .is_some_and(|spec| self.touches_busy(spec))
        {
            return Ok(None);
        }
        self.stat(|s| s.opportunities += 1);
        let Some(pair) = self.pairs.get().get(p.pair as usize).cloned() else {
            self.error(
                None,
                "strategy",
                &format!("proposal for unknown pair {}", p.pair),
            );
            return Ok(None);
        };
        if p.qty.0 <= 0 {
            return Ok(None);
        }
        let now = self.clock.now_ms();
        let day = super::utc_day(now);
        self.gate.roll_day(&day)?;
        // Unique across concurrent trades and processes sharing the ledger (not a count).
        let seq = self.next_trade_seq()?;
        let trade_id = format!("{}-{seq:06}", self.ledger_id);
        let proposal = RiskProposal {
            pair: pair.id.clone(),
            venue_a: pair.a.venue.clone(),
            venue_b: pair.b.venue.clone(),
            qty: p.qty,
            cost_a: p.cost_a + p.fee_a,
            cost_b: p.cost_b + p.fee_b,
            profit: p.profit,
            roi_ppm: p.roi_ppm,
        };
        let tif = self.cfg.engine.leg_tif.clone();
        let (tid, pair2) = (trade_id.clone(), pair.clone());
        let candidate = Candidate {
            proposal,
            build: Box::new(move |qty| {
                super::trade_plan::build(&tid, &pair2, &p, qty, &tif, now, &day)
            }),
        };
        match self.gate.reserve(candidate) {
            Admission::Rejected(reasons) => {
                tracing::info!(pair = %pair.id, reasons = ?reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(), "proposal rejected");
                self.count_rejections(&reasons);
                // The policy says which of its reasons stop trading; the host names no codes.
                for r in &reasons {
                    if r.halts {
                        self.notify_once(
                            &format!("{}:{}", r.code, super::utc_day(now)),
                            Kind::RiskHalt,
                            format!("trading halted by risk limit {}: {}", r.code, r.message),
                            None,
                        );
                    }
                }
                Ok(None)
            }
            Admission::Approved(trade, orders) => {
                self.stat(|s| s.trades += 1);
                crate::metrics::inc("polymix_trades_total", &[]);
                tracing::info!(trade_id = %trade.id, pair = %pair.id, qty = %trade.qty, expected_profit = %trade.expected_profit, "trade approved");
                Ok(Some((*trade, orders)))
            }
        }
    }

    fn tif(&self, s: &str) -> TimeInForce {
        match s {
            "fok" => TimeInForce::Fok,
            "gtc" => TimeInForce::Gtc,
            _ => TimeInForce::Ioc,
        }
    }

    pub(super) fn apply_status(o: &mut OrderRow, st: &OrderStatus, now: i64) {
        o.order_id = Some(st.order_id.clone());
        o.filled_qty = st.filled_qty;
        o.filled_notional = st.filled_notional;
        o.fees = st.fees;
        o.state = OrderState::from_venue(st.state);
        o.reason = st.reason.clone();
        o.updated_ms = now;
    }

    fn order_request(&self, o: &OrderRow) -> OrderRequest {
        OrderRequest {
            client_order_id: o.client_order_id.clone(),
            instrument: o.instrument.clone(),
            side: o.side.to_api(),
            price: o.price,
            qty: o.qty,
            tif: self.tif(&o.tif),
            post_only: false,
        }
    }

    /// Builds (signs) an entry order on a live venue before it is journaled, so an order id
    /// the venue gives it that is known in advance (Polymarket's digest) goes into the trade's
    /// one journal transaction instead of a second write on the way to the wire. Simulators
    /// act inside `begin`, so they are never prepared; a failure to build just leaves the
    /// order to [`Self::place`]'s ordinary path.
    async fn prepare(&self, o: &mut OrderRow) -> Option<Begun> {
        let vi = self.vidx(&o.venue)?;
        if self.simulated[vi] || !self.live_ok {
            return None;
        }
        let op = VenueOp::PlaceOrder {
            order: self.order_request(o),
        };
        match self.venues[vi].begin(&op).await {
            Ok(b) => {
                if let Some(id) = b.expected_order_id() {
                    o.order_id = Some(id.to_string());
                }
                Some(b)
            }
            Err(e) => {
                tracing::debug!(client_order_id = %o.client_order_id, error = %e, "order not prepared; placing it the ordinary way");
                None
            }
        }
    }

    /// Sends one order (journaled first) and records the outcome. Never returns without the
    /// order's fate written down: filled, refused, or `unknown` with an error logged.
    /// `prepared`: the order as [`Self::prepare`] built it (its expected id already journaled).
    pub(super) async fn place(
        &self,
        o: &mut OrderRow,
        prepared: Option<Begun>,
    ) -> Result<(), EngineError> {
        let vi = self
            .vidx(&o.venue)
            .ok_or_else(|| EngineError::Setup(format!("unknown venue {}", o.venue)))?;
        if !self.simulated[vi] && !self.live_ok {
            // Belt and braces: Engine::new already refused, but no path may reach a live venue.
            o.state = OrderState::Refused;
            o.reason = Some("live venue in a non-live run".into());
            self.ledger.update_order(o)?;
            return Ok(());
        }
        let req = self.order_request(o);
        let venue = self.venues[vi].clone();
        let ledger = &self.ledger;
        let clock = &self.clock;
        // Just before a write leaves the order becomes `submitted`. Only an id known before
        // sending (Polymarket's digest) must be durable first, since that venue cannot be
        // asked by client id; a `sent` order without one is looked up by client order id and
        // "not found" for it is final only after the appear window, as for `submitted`.
        let mut journal = |id: Option<&str>| {
            o.state = OrderState::Submitted;
            o.updated_ms = clock.now_ms();
            match id {
                // Journaled with the trade already (a prepared order).
                Some(id) if o.order_id.as_deref() == Some(id) => Ok(()),
                Some(id) => {
                    o.order_id = Some(id.to_string());
                    ledger.update_order(o).map_err(|e| e.to_string())
                }
                None => Ok(()),
            }
        };
        let r = match prepared {
            Some(b) => venue.run_begun(b, &mut journal).await,
            None => {
                venue
                    .run_journaled(&VenueOp::PlaceOrder { order: req }, &mut journal)
                    .await
            }
        };
        let now = self.clock.now_ms();
        match r {
            Ok(OpResult::Order { order }) => Self::apply_status(o, &order, now),
            Ok(other) => {
                o.state = OrderState::Unknown;
                o.reason = Some(format!("unexpected result {other:?}"));
            }
            Err(e) => {
                let duplicate = matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("duplicate"));
                if e.is_ambiguous() || duplicate {
                    tracing::warn!(client_order_id = %o.client_order_id, order_id = ?o.order_id, error = %e, "order outcome unknown; looking it up");
                    if o.state == OrderState::Sent {
                        // The venue reported a timeout before any write left (e.g. a
                        // simulator): the order may still exist, so look it up as submitted.
                        o.state = OrderState::Submitted;
                    }
                    self.ledger.update_order(o)?;
                    self.lookup(o, vi).await?;
                } else {
                    o.state = OrderState::Rejected;
                    o.reason = Some(e.to_string());
                    o.updated_ms = now;
                }
            }
        }
        self.ledger.update_order(o)?;
        Ok(())
    }

    /// Whether an order row is waiting for the venue to tell its fate.
    pub(super) fn is_unresolved(o: &OrderRow) -> bool {
        matches!(
            o.state.as_str(),
            "planned" | "sent" | "submitted" | "unknown"
        )
    }

    /// Decides the fate of an order whose outcome is not known (a lost answer, a crash) by
    /// asking the venue, never by re-sending. This is the one place that turns "the venue has
    /// no such order" into a final `not_found`: only once the order can no longer appear —
    /// it was never handed over (`planned`), or it is `sent` without the id a venue that keeps
    /// no client ids needs (journaled before any write, so none left), or the appear window
    /// since it was created has passed. Until then the order stays `unknown` and later sweeps
    /// ask again; one that appears is adopted.
    pub(super) async fn lookup(&self, o: &mut OrderRow, vi: VenueIdx) -> Result<(), EngineError> {
        let now = self.clock.now_ms();
        if o.state == OrderState::Planned {
            // Journaled with its trade, never handed to the venue (a crash came first).
            o.state = OrderState::NotFound;
            o.filled_qty = Qty::ZERO;
            o.reason = Some("never sent: the engine stopped before sending it".into());
            o.updated_ms = now;
            return Ok(());
        }
        // A `sent` order without a journaled id: on a venue that keeps no client ids the id
        // is journaled before any write, so it was never written.
        let never_written = o.state == OrderState::Sent && o.order_id.is_none();
        let op = VenueOp::GetOrder {
            order_id: o.order_id.clone(),
            client_order_id: Some(o.client_order_id.clone()),
            instrument: o.instrument.clone(),
        };
        let deadline = o
            .created_ms
            .saturating_add(self.cfg.engine.order_appear_window_ms as i64);
        match self.venues[vi].run(&op).await {
            Ok(OpResult::Order { order }) => {
                if o.state == OrderState::Unknown || o.state == OrderState::Submitted {
                    tracing::warn!(client_order_id = %o.client_order_id, order_id = %order.order_id, filled = %order.filled_qty, "order whose outcome was unknown found at the venue; adopting it");
                }
                Self::apply_status(o, &order, now);
                return Ok(());
            }
            Ok(other) => {
                o.reason = Some(format!("lookup answered {other:?}"));
            }
            Err(e) => {
                let not_found = matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("not_found"));
                // A venue that keeps no client ids (Polymarket) cannot look up an order whose
                // id was never journaled; such an order was never written.
                let unaskable = matches!(e.kind(), Some(ErrorKind::InvalidInput));
                if never_written && unaskable {
                    o.state = OrderState::NotFound;
                    o.filled_qty = Qty::ZERO;
                    o.reason =
                        Some("never reached the venue: no write left before the stop".into());
                    o.updated_ms = now;
                    return Ok(());
                }
                if not_found && now >= deadline {
                    o.state = OrderState::NotFound;
                    o.filled_qty = Qty::ZERO;
                    o.reason = Some(format!(
                        "venue has no such order {} ms after it was created: it never arrived",
                        now - o.created_ms
                    ));
                    o.updated_ms = now;
                    return Ok(());
                }
                o.reason = Some(if not_found {
                    format!("not at the venue yet; it may still be booked until {deadline} (ms), looking again")
                } else {
                    format!("lookup failed: {e}")
                });
                if !not_found {
                    tracing::warn!(client_order_id = %o.client_order_id, error = %e, "order lookup failed");
                }
            }
        }
        o.state = OrderState::Unknown;
        o.updated_ms = now;
        self.error(
            Some(&o.trade_id),
            "executor",
            &format!(
                "order {} on {}: outcome unknown ({}); reconciling",
                o.client_order_id,
                o.venue,
                o.reason.as_deref().unwrap_or_default()
            ),
        );
        Ok(())
    }

    /// Runs a journaled trade: both legs at once, then hedge check and unwind. `book_at`:
    /// when the book that decided it arrived (live), for the decision-to-wire figure.
    pub(super) async fn execute(
        &self,
        trade: TradeRow,
        mut orders: Vec<OrderRow>,
        book_at: Option<std::time::Instant>,
    ) -> Result<(), EngineError> {
        // One write before the legs leave: the trade SUBMITTING with both legs `sent`
        // (trade_plan) and the ids live venues give them when known in advance, in one
        // transaction. The orders are built (signed) first, both at once, for those ids.
        let (oa, ob) = orders.split_at_mut(1);
        let ((pa, wpa), (pb, wpb)) = tokio::join!(
            observe(self.prepare(&mut oa[0])),
            observe(self.prepare(&mut ob[0]))
        );
        debug_assert!(wpa.first_write.is_none() && wpb.first_write.is_none());
        self.gate.journal(&trade, &orders)?;
        let (oa, ob) = orders.split_at_mut(1);
        let ((ra, wa), (rb, wb)) = tokio::join!(
            observe(self.place(&mut oa[0], pa)),
            observe(self.place(&mut ob[0], pb))
        );
        self.decision_latency
            .record(book_at, [wa.first_write, wb.first_write]);
        ra?;
        rb?;
        {
            let mut books = self.books.lock().unwrap_or_else(|p| p.into_inner());
            for o in &orders {
                if let Some(vi) = self.vidx(&o.venue) {
                    books.consume(vi, &o.instrument, o.filled_qty);
                }
            }
        }
        for o in &orders {
            self.stat(|s| {
                s.fees += o.fees;
                if o.filled_qty == o.qty {
                    s.legs_filled += 1;
                } else {
                    s.legs_short += 1;
                }
            });
        }
        let spent = (
            orders[0].filled_notional + orders[0].fees,
            orders[1].filled_notional + orders[1].fees,
        );
        self.gate.release(
            &trade.venue_a,
            &trade.venue_b,
            (trade.reserved_a, trade.reserved_b),
            spent,
        );
        self.resolve_legs(&trade, &orders).await
    }

    /// Decides HEDGED / FAILED / unwind from the legs' current fills.
    pub(super) async fn resolve_legs(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
    ) -> Result<(), EngineError> {
        // A trade that changed state may now be settleable (e.g. unwound to nothing).
        self.resolved_dirty
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let now = self.clock.now_ms();
        let held = |leg: Leg| super::settlement::held(orders, leg);
        let (fa, fb) = (held(Leg::A), held(Leg::B));
        if orders.iter().any(Self::is_unresolved) {
            self.ledger.transition(
                &trade.id,
                state::PARTIAL,
                "a leg's outcome is unknown; reconcile",
                now,
            )?;
            return Ok(());
        }
        // Sales that already happened (an unwind interrupted by a stop) are booked before
        // anything else is decided, so their loss is never dropped.
        let loss = self.book_unwind_loss(trade, orders)?;
        if fa.0 == 0 && fb.0 == 0 {
            let sold = orders
                .iter()
                .any(|o| o.purpose == Purpose::Unwind && o.filled_qty.0 > 0);
            if sold {
                self.ledger.transition(
                    &trade.id,
                    state::UNWOUND,
                    &format!("unwound to nothing, loss {loss}"),
                    now,
                )?;
            } else {
                self.ledger.transition(
                    &trade.id,
                    state::FAILED,
                    "no leg filled; nothing on",
                    now,
                )?;
            }
            return Ok(());
        }
        if fa == fb {
            self.ledger.transition(
                &trade.id,
                state::HEDGED,
                &format!("both legs hold {fa}"),
                now,
            )?;
            self.notify(
                Kind::TradeExecuted,
                format!(
                    "trade {} on {}: {fa} shares per leg, {} on {} + {} on {}, expected profit ${}",
                    trade.id,
                    trade.pair_id,
                    trade.instrument_a,
                    trade.venue_a,
                    trade.instrument_b,
                    trade.venue_b,
                    trade.expected_profit.to_decimal(2)
                ),
                Some(&trade.id),
            );
            return Ok(());
        }
        let (leg, excess) = if fa > fb {
            (Leg::A, fa - fb)
        } else {
            (Leg::B, fb - fa)
        };
        self.stat(|s| s.unwinds += 1);
        crate::metrics::inc("polymix_leg_failures_total", &[]);
        self.ledger.transition(
            &trade.id,
            state::PARTIAL,
            &format!("leg a holds {fa}, leg b holds {fb}: {excess} excess on {leg}"),
            now,
        )?;
        self.notify(
            Kind::LegFailure,
            format!("trade {} on {}: leg a holds {fa}, leg b holds {fb}; unwinding {excess} on leg {leg}", trade.id, trade.pair_id),
            Some(&trade.id),
        );
        self.unwind(trade, orders, leg, excess).await
    }
}

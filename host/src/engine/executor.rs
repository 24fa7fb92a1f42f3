//! Two-leg execution: a proposal is admitted by the risk gate, journaled with both orders in
//! one transaction, both legs sent at once, and the legs' fills resolved into HEDGED, an
//! unwind (`unwind`) or FAILED.

use plugin_api::{ErrorKind, OpResult, OrderRequest, Proposal, RiskProposal, VenueOp};

use super::decision_latency::{Stage, Stamps};
use super::fault_injection;
use super::risk_gate::{Admission, Candidate};
use super::setup::{Engine, EngineError};
use crate::notify::Kind;
use crate::store::{state, OrderRow, TradeRow};
use crate::store::{Leg, OrderState, Purpose, Tif};
use crate::venue_io::wire_stamp::{observe, WireStamps};
use crate::venue_io::{Begun, VenueError};

/// What sending an order came back with, before anything about it is recorded.
enum Sent {
    /// Not sent, for this reason.
    Refused(String),
    /// The venue's answer (or why none came).
    Answer(crate::engine::books::VenueIdx, Result<OpResult, VenueError>),
}

impl Engine {
    /// Gate, journal and execute one proposal. Returns the trade id if one was made.
    pub async fn handle_proposal(&self, p: Proposal) -> Result<Option<String>, EngineError> {
        match self.admit_proposal(p)? {
            Some((trade, orders)) => {
                let id = trade.id.clone();
                self.execute(trade, orders, Stamps::default()).await?;
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
        let trade_id = self.next_trade_id()?;
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
        let tif = self.leg_tif()?;
        let (tid, pair2) = (trade_id.clone(), pair.clone());
        let candidate = Candidate {
            proposal,
            build: Box::new(move |qty| {
                super::trade_plan::build(&tid, &pair2, &p, qty, tif, now, &day)
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

    /// The time in force of entry legs. Validated at load (ioc or fok); never silently
    /// another kind.
    pub(super) fn leg_tif(&self) -> Result<Tif, EngineError> {
        Tif::parse(&self.cfg.engine.leg_tif).ok_or_else(|| {
            EngineError::Setup(format!(
                "engine.leg_tif: unknown time in force {:?}",
                self.cfg.engine.leg_tif
            ))
        })
    }

    fn order_request(&self, o: &OrderRow) -> OrderRequest {
        OrderRequest {
            client_order_id: o.client_order_id.clone(),
            instrument: o.instrument.clone(),
            side: o.side.to_api(),
            price: o.price,
            qty: o.qty,
            tif: o.tif.to_api(),
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
        let sent = self.send(o, prepared, false).await?;
        self.record_sent(o, sent).await
    }

    /// Sends one order; records nothing but an id learnt just before the write (an order
    /// sent the ordinary way to a venue that keeps no client ids). `parallel_journal`: the
    /// order's journal transaction is being written while it leaves, so nothing may be
    /// written for it here, and an id other than the one being journaled refuses the send.
    async fn send(
        &self,
        o: &mut OrderRow,
        prepared: Option<Begun>,
        parallel_journal: bool,
    ) -> Result<Sent, EngineError> {
        let vi = self
            .vidx(&o.venue)
            .ok_or_else(|| EngineError::Setup(format!("unknown venue {}", o.venue)))?;
        if !self.simulated[vi] && !self.live_ok {
            // Belt and braces: Engine::new already refused, but no path may reach a live venue.
            return Ok(Sent::Refused("live venue in a non-live run".into()));
        }
        // An order built ahead (`prepare`) carries its request: only the others are built here.
        let to_send: Result<Begun, OrderRequest> = prepared.ok_or_else(|| self.order_request(o));
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
                // Journaled with the trade (a prepared order).
                Some(id) if o.order_id.as_deref() == Some(id) => Ok(()),
                Some(id) if parallel_journal => Err(format!(
                    "order id {id} is not the {:?} being journaled; not sent",
                    o.order_id
                )),
                Some(id) => {
                    o.order_id = Some(id.to_string());
                    ledger.update_order(o).map_err(|e| e.to_string())
                }
                None => Ok(()),
            }
        };
        let r = match to_send {
            Ok(b) => venue.run_begun(b, &mut journal).await,
            Err(order) => {
                venue
                    .run_journaled(&VenueOp::PlaceOrder { order }, &mut journal)
                    .await
            }
        };
        if !self.simulated[vi] && fault_injection::die_at_answer() {
            fault_injection::die_now();
        }
        Ok(Sent::Answer(vi, r))
    }

    /// Records what [`Self::send`] came back with; an outcome it could not know is looked up.
    async fn record_sent(&self, o: &mut OrderRow, sent: Sent) -> Result<(), EngineError> {
        let now = self.clock.now_ms();
        let (vi, r) = match sent {
            Sent::Refused(reason) => {
                o.state = OrderState::Refused;
                o.reason = Some(reason);
                self.ledger.update_order(o)?;
                return Ok(());
            }
            Sent::Answer(vi, r) => (vi, r),
        };
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

    /// Runs a journaled trade: both legs at once, then hedge check and unwind. `stamps`:
    /// when the book that decided it arrived (live) and the stages since, for the
    /// decision-to-wire figure.
    pub(super) async fn execute(
        &self,
        trade: TradeRow,
        mut orders: Vec<OrderRow>,
        mut stamps: Stamps,
    ) -> Result<(), EngineError> {
        let live = self.live_ok
            && orders
                .iter()
                .all(|o| self.vidx(&o.venue).is_some_and(|vi| !self.simulated[vi]));
        let (wa, wb) = if !live {
            // Simulators act inside `begin`, so nothing is built ahead: one synced write of
            // the trade SUBMITTING with both legs `sent` (trade_plan), then both legs.
            let (pa, pb) = self.prepare_both(&mut orders).await;
            stamps.stamp(Stage::Prepared);
            self.gate.journal(&trade, &orders)?;
            stamps.stamp(Stage::Journaled);
            self.place_both(&mut orders, pa, pb).await?
        } else if fault_injection::journal_hold().is_some() {
            let (pa, pb) = self.prepare_both(&mut orders).await;
            stamps.stamp(Stage::Prepared);
            self.send_before_journal(&trade, &mut orders, pa, pb)
                .await?
        } else {
            self.journal_unsynced_then_send(&trade, &mut orders, &mut stamps)
                .await?
        };
        self.decision_latency
            .record(stamps, [wa.first_write, wb.first_write]);
        // What the venues prepared for these orders is used up: prepare the next now.
        self.preparer.poke();
        // Likewise the next trade's id, so it takes one without a ledger write. A failure
        // here must not stop this trade's legs from being resolved: the next trade then
        // reserves its id itself (and meets the ledger's error there if it persists).
        if let Err(e) = self.top_up_trade_ids() {
            tracing::warn!(trade = %trade.id, error = %e, "could not reserve trade ids ahead");
        }
        self.market.consume(
            orders
                .iter()
                .filter_map(|o| Some((self.vidx(&o.venue)?, o.instrument.clone(), o.filled_qty))),
        );
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

    /// Builds (signs) both orders at once; `None` for a leg built the ordinary way.
    async fn prepare_both(&self, orders: &mut [OrderRow]) -> (Option<Begun>, Option<Begun>) {
        let (oa, ob) = orders.split_at_mut(1);
        let ((pa, wpa), (pb, wpb)) = tokio::join!(
            observe(self.prepare(&mut oa[0])),
            observe(self.prepare(&mut ob[0]))
        );
        debug_assert!(wpa.first_write.is_none() && wpb.first_write.is_none());
        (pa, pb)
    }

    /// Sends both legs at once and records their answers.
    async fn place_both(
        &self,
        orders: &mut [OrderRow],
        pa: Option<Begun>,
        pb: Option<Begun>,
    ) -> Result<(WireStamps, WireStamps), EngineError> {
        let (oa, ob) = orders.split_at_mut(1);
        let ((ra, wa), (rb, wb)) = tokio::join!(
            observe(self.place(&mut oa[0], pa)),
            observe(self.place(&mut ob[0], pb))
        );
        ra?;
        rb?;
        Ok((wa, wb))
    }

    /// A live trade: both orders are built, then the trade's journal (the trade SUBMITTING,
    /// both legs `sent`, the ids the venues gave the orders ahead such as Polymarket's digest)
    /// is committed as one row, its intent (`store::intent_log`; the rows are written from it
    /// at the ledger's next use), without waiting for the disk, then both legs leave.
    /// The commit is in the operating system before either leg leaves, so a kill -9 at any
    /// point loses nothing. The fsync comes with the next synced write, at the latest when the
    /// legs' answers are recorded; a power cut before it may take the journal back, and
    /// restart adopts the orders from the venues' records (`adopt_orders`,
    /// `journal_checkpoint`). So no fsync is on the way to the wire.
    async fn journal_unsynced_then_send(
        &self,
        trade: &TradeRow,
        orders: &mut [OrderRow],
        stamps: &mut Stamps,
    ) -> Result<(WireStamps, WireStamps), EngineError> {
        self.unjournaled.begin(&trade.id, || self.clock.now_ms());
        let (pa, pb) = self.prepare_both(orders).await;
        stamps.stamp(Stage::Prepared);
        if let Err(e) = self.gate.journal_unsynced(trade, orders) {
            // Nothing was sent.
            self.unjournaled.done(&trade.id);
            return Err(e.into());
        }
        stamps.stamp(Stage::Journaled);
        let wires = self.place_both(orders, pa, pb).await?;
        // Both answers were written by synced transactions: the journal is on disk.
        self.unjournaled.done(&trade.id);
        Ok(wires)
    }

    /// Crash tests only (`fault_injection`): the legs leave first and the journal is written
    /// late beside them, as if a power cut had taken it back; a kill meanwhile leaves orders
    /// the ledger lacks, for restart to adopt.
    async fn send_before_journal(
        &self,
        trade: &TradeRow,
        orders: &mut [OrderRow],
        pa: Option<Begun>,
        pb: Option<Begun>,
    ) -> Result<(WireStamps, WireStamps), EngineError> {
        let hold = fault_injection::journal_hold().unwrap_or_default();
        // As for a real trade: the checkpoint stays before it until its journal is on disk.
        self.unjournaled.begin(&trade.id, || self.clock.now_ms());
        let late = {
            let (ledger, trade, rows) = (self.ledger.clone(), trade.clone(), orders.to_vec());
            tokio::task::spawn_blocking(move || {
                std::thread::sleep(hold);
                ledger.insert_planned(&trade, &rows)
            })
        };
        let (oa, ob) = orders.split_at_mut(1);
        let ((sa, wa), (sb, wb)) = tokio::join!(
            observe(self.send(&mut oa[0], pa, true)),
            observe(self.send(&mut ob[0], pb, true)),
        );
        late.await.map_err(|e| EngineError::Task(e.to_string()))??;
        let (sa, sb) = (sa?, sb?);
        let (oa, ob) = orders.split_at_mut(1);
        let (ra, rb) = tokio::join!(
            self.record_sent(&mut oa[0], sa),
            self.record_sent(&mut ob[0], sb)
        );
        ra?;
        rb?;
        self.unjournaled.done(&trade.id);
        Ok((wa, wb))
    }

    /// Decides HEDGED / FAILED / unwind from the legs' current fills.
    pub(super) async fn resolve_legs(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
    ) -> Result<(), EngineError> {
        // A trade that changed state may now be settleable (e.g. unwound to nothing).
        self.market.mark_settle_dirty();
        let now = self.clock.now_ms();
        let held = |leg: Leg| super::settlement::held(orders, leg);
        let (fa, fb) = (held(Leg::A), held(Leg::B));
        if orders.iter().any(|o| o.state.is_unresolved()) {
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

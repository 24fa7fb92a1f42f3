//! Strategy evaluation and two-leg execution with unwinds.

use abi_stable::std_types::RVec;
use plugin_api::ffi::FfiPairBooks;
use plugin_api::{
    client_order_id, Book, ErrorKind, EvalCtx, Level, OpResult, OrderRequest, OrderStatus, Price,
    Proposal, Qty, RiskProposal, Side, TimeInForce, Usd, VenueOp,
};
use std::sync::Arc;

use super::books::VenueIdx;
use super::risk_gate::{Admission, Candidate};
use super::setup::{Engine, EngineError};
use crate::notify::Kind;
use crate::store::{state, OrderRow, TradeRow};

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
            let gate = self.gate.state();
            let now_ms = self.clock.now_ms();
            pairs
                .iter()
                .filter_map(|&i| {
                    let p = &self.pairs[i as usize];
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
        let r = self
            .strategy
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
        self.stat(|s| s.opportunities += 1);
        let Some(pair) = self.pairs.get(p.pair as usize).cloned() else {
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
        let seq = self.ledger.trade_count()? + 1;
        let trade_id = format!("{}-{seq:06}", self.ledger_id);
        let total = (p.cost_a + p.cost_b).0.max(1) as i128;
        let fee_a = Usd((p.fees.0 as i128 * p.cost_a.0 as i128 / total) as i64);
        let proposal = RiskProposal {
            pair: pair.id.clone(),
            venue_a: pair.a.venue.clone(),
            venue_b: pair.b.venue.clone(),
            qty: p.qty,
            cost_a: p.cost_a + fee_a,
            cost_b: p.cost_b + (p.fees - fee_a),
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
        match self.gate.admit(candidate)? {
            Admission::Rejected(reasons) => {
                tracing::info!(pair = %pair.id, reasons = ?reasons.iter().map(|r| r.code.as_str()).collect::<Vec<_>>(), "proposal rejected");
                self.count_rejections(&reasons);
                for r in &reasons {
                    if matches!(
                        r.code.as_str(),
                        "daily_loss_limit" | "max_daily_trades" | "max_unhedged_exposure"
                    ) {
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
                self.execute(*trade, orders).await?;
                Ok(Some(trade_id))
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

    fn apply_status(o: &mut OrderRow, st: &OrderStatus, now: i64) {
        o.order_id = Some(st.order_id.clone());
        o.filled_qty = st.filled_qty;
        o.filled_notional = st.filled_notional;
        o.fees = st.fees;
        o.state = format!("{:?}", st.state).to_lowercase();
        o.reason = st.reason.clone();
        o.updated_ms = now;
    }

    /// Sends one order (journaled first) and records the outcome. Never returns without the
    /// order's fate written down: filled, refused, or `unknown` with an error logged.
    pub(super) async fn place(&self, o: &mut OrderRow) -> Result<(), EngineError> {
        let vi = self
            .vidx(&o.venue)
            .ok_or_else(|| EngineError::Setup(format!("unknown venue {}", o.venue)))?;
        if !self.simulated[vi] && !self.live_ok {
            // Belt and braces: Engine::new already refused, but no path may reach a live venue.
            o.state = "refused".into();
            o.reason = Some("live venue in a non-live run".into());
            self.ledger.update_order(o)?;
            return Ok(());
        }
        o.state = "sent".into();
        o.updated_ms = self.clock.now_ms();
        self.ledger.update_order(o)?;
        let req = OrderRequest {
            client_order_id: o.client_order_id.clone(),
            instrument: o.instrument.clone(),
            side: if o.side == "sell" {
                Side::Sell
            } else {
                Side::Buy
            },
            price: o.price,
            qty: o.qty,
            tif: self.tif(&o.tif),
            post_only: false,
        };
        let venue = self.venues[vi].clone();
        // A venue that knows the order id before sending (Polymarket's digest) gets it written
        // down first, so a lost answer or a crash is reconciled by that id.
        let ledger = &self.ledger;
        let mut journal = |id: &str| {
            o.order_id = Some(id.to_string());
            ledger.update_order(o).map_err(|e| e.to_string())
        };
        let r = venue
            .run_journaled(&VenueOp::PlaceOrder { order: req }, &mut journal)
            .await;
        let now = self.clock.now_ms();
        match r {
            Ok(OpResult::Order { order }) => Self::apply_status(o, &order, now),
            Ok(other) => {
                o.state = "unknown".into();
                o.reason = Some(format!("unexpected result {other:?}"));
            }
            Err(e) => {
                let duplicate = matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("duplicate"));
                if e.is_ambiguous() || duplicate {
                    tracing::warn!(client_order_id = %o.client_order_id, error = %e, "order outcome unknown; looking it up");
                    self.lookup(o, vi).await?;
                } else {
                    o.state = "rejected".into();
                    o.reason = Some(e.to_string());
                    o.updated_ms = now;
                }
            }
        }
        self.ledger.update_order(o)?;
        Ok(())
    }

    /// Finds an order by client order id after an ambiguous submit. Never re-sends.
    pub(super) async fn lookup(&self, o: &mut OrderRow, vi: VenueIdx) -> Result<(), EngineError> {
        let op = VenueOp::GetOrder {
            order_id: o.order_id.clone(),
            client_order_id: Some(o.client_order_id.clone()),
            instrument: o.instrument.clone(),
        };
        for attempt in 0..3u32 {
            match self.venues[vi].run(&op).await {
                Ok(OpResult::Order { order }) => {
                    Self::apply_status(o, &order, self.clock.now_ms());
                    return Ok(());
                }
                Err(e) if matches!(e.kind(), Some(ErrorKind::Rejected { ref code }) if code.contains("not_found")) =>
                {
                    o.state = "not_found".into();
                    o.reason = Some("venue has no such order: it never arrived".into());
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(attempt, error = %e, "order lookup failed");
                }
                Ok(_) => {}
            }
        }
        o.state = "unknown".into();
        o.reason = Some("outcome unknown after lookups; reconcile before trusting".into());
        self.error(
            Some(&o.trade_id),
            "executor",
            &format!(
                "order {} on {}: outcome unknown",
                o.client_order_id, o.venue
            ),
        );
        Ok(())
    }

    /// Runs a journaled trade: both legs at once, then hedge check and unwind.
    pub(super) async fn execute(
        &self,
        trade: TradeRow,
        mut orders: Vec<OrderRow>,
    ) -> Result<(), EngineError> {
        self.ledger.transition(
            &trade.id,
            state::SUBMITTING,
            "sending both legs",
            self.clock.now_ms(),
        )?;
        let (oa, ob) = orders.split_at_mut(1);
        let (ra, rb) = tokio::join!(self.place(&mut oa[0]), self.place(&mut ob[0]));
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
        let held = |leg: &str| super::settlement::held(orders, leg);
        let (fa, fb) = (held("a"), held("b"));
        if orders.iter().any(|o| o.state == "unknown") {
            self.ledger.transition(
                &trade.id,
                state::PARTIAL,
                "a leg's outcome is unknown; reconcile",
                now,
            )?;
            return Ok(());
        }
        if fa.0 == 0 && fb.0 == 0 {
            self.ledger
                .transition(&trade.id, state::FAILED, "no leg filled; nothing on", now)?;
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
            ("a", fa - fb)
        } else {
            ("b", fb - fa)
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

    /// Sells `excess` shares of `leg` back down a price ladder with a floor and a time cap.
    async fn unwind(
        &self,
        trade: &TradeRow,
        orders: &[OrderRow],
        leg: &str,
        excess: Qty,
    ) -> Result<(), EngineError> {
        let start = self.clock.now_ms();
        self.ledger.transition(
            &trade.id,
            state::UNWINDING,
            &format!("selling {excess} on leg {leg}"),
            start,
        )?;
        let (venue, instrument) = if leg == "a" {
            (trade.venue_a.clone(), trade.instrument_a.clone())
        } else {
            (trade.venue_b.clone(), trade.instrument_b.clone())
        };
        let vi = self
            .vidx(&venue)
            .ok_or_else(|| EngineError::Setup(format!("unknown venue {venue}")))?;
        let tick = self
            .rules
            .get(&(vi, instrument.clone()))
            .map(|r| r.tick)
            .unwrap_or(Price(10_000));
        // Average entry cost per share of this leg (fees included) prices the loss.
        let entry: Vec<&OrderRow> = orders
            .iter()
            .filter(|o| o.leg == leg && o.side == "buy")
            .collect();
        let bought: Qty = entry.iter().map(|o| o.filled_qty).sum();
        let paid: Usd = entry.iter().map(|o| o.filled_notional + o.fees).sum();
        let cost_of = |q: Qty| Usd((paid.0 as i128 * q.0 as i128 / bought.0.max(1) as i128) as i64);
        self.gate.add_unhedged(cost_of(excess));
        let best_bid = match self.venues[vi]
            .run(&VenueOp::Book {
                instrument: instrument.clone(),
            })
            .await
        {
            Ok(OpResult::Book { book }) => book.best_bid().map(|l| l.price),
            _ => None,
        };
        let mut left = excess;
        let mut proceeds = Usd::ZERO;
        let attempts_done = orders
            .iter()
            .filter(|o| o.leg == leg && o.purpose == "unwind")
            .count() as u32;
        if let Some(bid) = best_bid {
            let max_ticks = self.cfg.engine.unwind_max_ticks as i64;
            let floor = Price((bid.0 - max_ticks * tick.0).max(tick.0));
            let mut k = 0i64;
            while left.0 > 0 && k <= max_ticks {
                if self.clock.now_ms() - start > self.cfg.engine.unwind_time_cap_ms as i64 {
                    break;
                }
                let price = Price((bid.0 - k * tick.0).max(floor.0));
                let attempt = attempts_done + k as u32 + 1;
                let now = self.clock.now_ms();
                let mut o = OrderRow {
                    client_order_id: client_order_id(
                        &trade.id,
                        leg.chars().next().unwrap_or('a'),
                        attempt,
                    ),
                    trade_id: trade.id.clone(),
                    leg: leg.to_string(),
                    purpose: "unwind".into(),
                    venue: venue.clone(),
                    instrument: instrument.clone(),
                    side: "sell".into(),
                    price,
                    qty: left,
                    tif: "ioc".into(),
                    state: "planned".into(),
                    order_id: None,
                    filled_qty: Qty::ZERO,
                    filled_notional: Usd::ZERO,
                    fees: Usd::ZERO,
                    failed_qty: Qty::ZERO,
                    reason: None,
                    created_ms: now,
                    updated_ms: now,
                };
                self.ledger.insert_order(&o)?;
                self.place(&mut o).await?;
                left -= o.filled_qty;
                proceeds += o.filled_notional - o.fees;
                self.stat(|s| s.fees += o.fees);
                // Proceeds come back as cash and leave the open exposure.
                let back = o.filled_notional - o.fees;
                self.gate.settle(back, &[(venue.clone(), back)]);
                if price == floor {
                    break;
                }
                k += 1;
            }
        }
        let sold = excess - left;
        let loss = cost_of(sold) - proceeds;
        if sold.0 > 0 {
            self.ledger.add_unwind_loss(&trade.id, &trade.day, loss)?;
            self.gate.add_loss(loss);
        }
        self.gate.add_unhedged(-cost_of(sold));
        let now = self.clock.now_ms();
        if left.0 > 0 {
            self.stat(|s| s.naked += 1);
            crate::metrics::inc("polymix_naked_legs_total", &[]);
            self.ledger.transition(&trade.id, state::NAKED, &format!("{left} shares on leg {leg} could not be sold (floor reached or no bids); operator must clear"), now)?;
            self.notify(
                Kind::NakedLeg,
                format!(
                    "NAKED: trade {}: {left} shares of {instrument} on {venue} could not be sold",
                    trade.id
                ),
                Some(&trade.id),
            );
            self.error(
                Some(&trade.id),
                "unwind",
                &format!("NAKED: {left} shares of {instrument} on {venue} left unhedged"),
            );
        } else {
            let hedged_left = {
                let all = self.ledger.orders_of(&trade.id)?;
                super::settlement::held(&all, "a").min(super::settlement::held(&all, "b"))
            };
            let to = if hedged_left.0 > 0 {
                state::HEDGED
            } else {
                state::UNWOUND
            };
            self.ledger.transition(
                &trade.id,
                to,
                &format!("unwound {sold} for {proceeds}, loss {loss}"),
                now,
            )?;
        }
        Ok(())
    }
}

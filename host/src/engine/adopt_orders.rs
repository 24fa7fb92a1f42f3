//! Restart: orders a venue booked that the ledger lacks. A live trade commits its journal
//! without waiting for the disk, then sends its legs (`executor::journal_unsynced_then_send`); a
//! power cut before the next synced write takes the journal back but not the orders (a kill
//! -9 cannot: the commit is in the operating system). They are found from each venue's account
//! records: its fills in the last run's window, from the journal checkpoint to when that run
//! can have sent its last order and a venue booked it, widened by clock skew
//! ([`Checkpoint::window`]). Each is looked up for what the venue booked and recorded as the
//! trade it was part of: both legs found make a trade resolved like any other (hedged, or the
//! excess unwound); one leg alone is unwound. Nothing is re-sent.
//!
//! Only filled orders can be found: the venues list fills by account, and Polymarket keeps no
//! client ids to list orders by. An order that filled nothing moved no money and left no
//! shares, so none is lost that matters for cash or positions.
//!
//! Whose order it is: Kalshi echoes client ids, and only those of this ledger's trades
//! (`pmx-<ledger id>-…`) are adopted; an operator's `polymix venue … place` (`pmx-op-…`) or
//! another program's is left alone. Polymarket keeps none, so there a buy of a pair's
//! instrument on the engine's account within the window is taken as the engine's: the account
//! is meant to be the engine's own. A fill after the window (an operator trading by hand while
//! the engine was down) is never adopted.

use std::collections::BTreeMap;

use plugin_api::{client_order_id, Direction, Fill, FillStatus, OpResult, OrderStatus, VenueOp};

use super::books::VenueIdx;
use super::journal_checkpoint::Checkpoint;
use super::setup::{Engine, EngineError};
use crate::store::{state, FillSource, Leg, OrderRow, OrderState, Purpose, Side, TradeRow};

/// How far the window is widened on both sides: the venues stamp fills by their own clocks,
/// which may run ahead of or behind the engine's (an NTP-synced host is within a second).
const SKEW_MS: i64 = 30_000;

/// A venue order the ledger does not know, as the venue booked it.
struct Orphan {
    vi: VenueIdx,
    status: OrderStatus,
    fills: Vec<Fill>,
}

/// Where an orphan belongs: the pair it trades, the direction of the arb it was a leg of,
/// and which leg.
type Slot = (usize, Direction, Leg);

/// One pair-and-direction's orphans: the trade they were legs of.
type Group = (Direction, Vec<(Leg, Orphan)>);

impl Engine {
    /// Finds and records every order a live venue booked in the last run's window (see
    /// [`Checkpoint::window`]) that the ledger lacks. Returns false when a venue could not be
    /// read (the caller tries again); orders found on the others are recorded all the same.
    pub(super) async fn adopt_unjournaled(&self, last: Checkpoint) -> Result<bool, EngineError> {
        let window = last.window(self.cfg.engine.order_appear_window_ms as i64, SKEW_MS);
        let mut complete = true;
        let mut orphans = Vec::new();
        for vi in (0..self.venues.len()).filter(|&vi| !self.simulated[vi]) {
            match self.orphans_at(vi, window).await? {
                Some(mut found) => orphans.append(&mut found),
                None => complete = false,
            }
        }
        // By pair and direction (the trade each was a leg of).
        let mut groups: BTreeMap<(usize, u8), Group> = BTreeMap::new();
        for o in orphans {
            match self.slot_of(&o) {
                Some((pair, dir, leg)) => groups
                    .entry((pair, dir as u8))
                    .or_insert_with(|| (dir, Vec::new()))
                    .1
                    .push((leg, o)),
                None => {
                    let venue = self.venues[o.vi].name().to_string();
                    let msg = format!(
                        "order {} on {venue} ({:?} {} of {}) is not in the ledger and is no leg of a pair: left alone, check the account",
                        o.status.order_id, o.status.side, o.status.filled_qty, o.status.instrument
                    );
                    tracing::error!(venue = %venue, order_id = %o.status.order_id, "{msg}");
                    self.error(None, "adopt", &msg);
                }
            }
        }
        for ((pair, _), (dir, legs)) in groups {
            self.adopt_trade(pair, dir, legs).await?;
        }
        Ok(complete)
    }

    /// Venue `vi`'s orders with fills in `(from_ms, until_ms)` that the ledger does not know;
    /// `None` if the venue could not be read.
    async fn orphans_at(
        &self,
        vi: VenueIdx,
        (from_ms, until_ms): (i64, i64),
    ) -> Result<Option<Vec<Orphan>>, EngineError> {
        let venue = self.venues[vi].name().to_string();
        let fills = match self.venues[vi]
            .run(&VenueOp::Fills {
                instrument: None,
                since_ms: Some(from_ms),
            })
            .await
        {
            Ok(OpResult::Fills { fills }) => fills,
            other => {
                let msg = format!("cannot list {venue}'s fills since {from_ms} (ms) to find orders sent before the stop: {other:?}; trying again");
                tracing::error!(venue = %venue, "{msg}");
                self.error(None, "adopt", &msg);
                return Ok(None);
            }
        };
        let mut by_order: BTreeMap<String, Vec<Fill>> = BTreeMap::new();
        for f in fills
            .into_iter()
            .filter(|f| f.status != FillStatus::Failed && f.ts_ms <= until_ms)
        {
            by_order.entry(f.order_id.clone()).or_default().push(f);
        }
        let mut out = Vec::new();
        for (order_id, fills) in by_order {
            if self.known(&venue, Some(&order_id), None)? {
                continue;
            }
            let instrument = fills[0].instrument.clone();
            let status = match self.venues[vi]
                .run(&VenueOp::GetOrder {
                    order_id: Some(order_id.clone()),
                    client_order_id: None,
                    instrument,
                })
                .await
            {
                Ok(OpResult::Order { order }) => order,
                other => {
                    let msg = format!("order {order_id} on {venue} has fills the ledger lacks, but looking it up failed: {other:?}; trying again");
                    tracing::error!(venue = %venue, order_id = %order_id, "{msg}");
                    self.error(None, "adopt", &msg);
                    return Ok(None);
                }
            };
            // Its id was not journaled, but the order may be (looked up by client id later).
            if self.known(&venue, None, status.client_order_id.as_deref())? {
                continue;
            }
            // A venue that echoes client ids says whose it is: this ledger's trades' ids
            // start with the ledger's id; anything else (an operator's `polymix venue …
            // place`, another program on the account) is not the engine's to adopt.
            if let Some(c) = status.client_order_id.as_deref() {
                if self.trade_ids.own_trade_of(c).is_none() {
                    tracing::info!(venue = %venue, order_id = %order_id, client_order_id = %c, "an order the ledger lacks is not this engine's (client id); left alone");
                    continue;
                }
            }
            out.push(Orphan { vi, status, fills });
        }
        Ok(Some(out))
    }

    /// Whether the ledger has the order (by venue id, or by client id where the venue echoes
    /// one). A live trade's journal is committed before its orders leave, so this process's
    /// own orders are always there.
    fn known(
        &self,
        venue: &str,
        order_id: Option<&str>,
        client_order_id: Option<&str>,
    ) -> Result<bool, EngineError> {
        if order_id.is_none() && client_order_id.is_none() {
            return Ok(false);
        }
        Ok(self
            .ledger
            .trade_of_order(venue, order_id, client_order_id)?
            .is_some())
    }

    /// The pair, direction and leg an orphan buys on, if it is a buy of a pair's instrument.
    fn slot_of(&self, o: &Orphan) -> Option<Slot> {
        if o.status.side != plugin_api::Side::Buy {
            return None;
        }
        let venue = self.venues[o.vi].name();
        let inst = o.status.instrument.as_str();
        let pairs = self.pairs.get();
        pairs.iter().enumerate().find_map(|(i, p)| {
            for dir in [Direction::YesANoB, Direction::NoAYesB] {
                let (a, b) = dir.instruments(p);
                if p.a.venue == venue && a == inst {
                    return Some((i, dir, Leg::A));
                }
                if p.b.venue == venue && b == inst {
                    return Some((i, dir, Leg::B));
                }
            }
            None
        })
    }

    /// Records one pair's orphans as the trade they were part of and resolves it.
    async fn adopt_trade(
        &self,
        pair_idx: usize,
        dir: Direction,
        legs: Vec<(Leg, Orphan)>,
    ) -> Result<(), EngineError> {
        let Some(pair) = self.pairs.get().get(pair_idx).cloned() else {
            return Ok(());
        };
        let now = self.clock.now_ms();
        // The trade id the engine gave it, when a venue echoes the client id (Kalshi);
        // otherwise a new one.
        let from_client_id = legs.iter().find_map(|(_, o)| {
            self.trade_ids
                .own_trade_of(o.status.client_order_id.as_deref()?)
        });
        let trade_id = match from_client_id {
            Some(t) if self.ledger.trade(&t)?.is_none() => t,
            _ => self.next_trade_id()?,
        };
        let tif = self.leg_tif()?;
        let (inst_a, inst_b) = dir.instruments(&pair);
        let mut orders = Vec::new();
        let mut attempt = [0u32; 2];
        for (leg, o) in &legs {
            let n = &mut attempt[(*leg == Leg::B) as usize];
            let created = o.fills.iter().map(|f| f.ts_ms).min().unwrap_or(now);
            let mut row = OrderRow {
                client_order_id: o
                    .status
                    .client_order_id
                    .clone()
                    .unwrap_or_else(|| client_order_id(&trade_id, leg.letter(), *n)),
                trade_id: trade_id.clone(),
                leg: *leg,
                purpose: Purpose::Entry,
                venue: self.venues[o.vi].name().to_string(),
                instrument: o.status.instrument.clone(),
                side: Side::Buy,
                price: o.status.price,
                qty: o.status.qty,
                tif,
                state: OrderState::Submitted,
                order_id: None,
                filled_qty: plugin_api::Qty::ZERO,
                filled_notional: plugin_api::Usd::ZERO,
                fees: plugin_api::Usd::ZERO,
                failed_qty: plugin_api::Qty::ZERO,
                reason: None,
                created_ms: created,
                updated_ms: now,
            };
            *n += 1;
            Self::apply_status(&mut row, &o.status, now);
            orders.push(row);
        }
        let held = |leg: Leg| super::settlement::held(&orders, leg);
        let limit = |leg: Leg| {
            orders
                .iter()
                .find(|o| o.leg == leg)
                .map(|o| o.price)
                .unwrap_or_default()
        };
        let spent = orders
            .iter()
            .fold(plugin_api::Usd::ZERO, |s, o| s + o.filled_notional + o.fees);
        let trade = TradeRow {
            id: trade_id.clone(),
            pair_id: pair.id.clone(),
            direction: super::trade_plan::direction_name(dir).into(),
            qty: held(Leg::A).max(held(Leg::B)),
            state: state::SUBMITTING,
            venue_a: pair.a.venue.clone(),
            venue_b: pair.b.venue.clone(),
            instrument_a: inst_a.to_string(),
            instrument_b: inst_b.to_string(),
            limit_a: limit(Leg::A),
            limit_b: limit(Leg::B),
            expected_cost: spent,
            expected_profit: plugin_api::Usd::ZERO,
            reserved_a: plugin_api::Usd::ZERO,
            reserved_b: plugin_api::Usd::ZERO,
            unwind_loss: plugin_api::Usd::ZERO,
            realized_pnl: None,
            note: "sent before a stop, never journaled: adopted from the venues' records".into(),
            day: super::utc_day(now),
            created_ms: orders.iter().map(|o| o.created_ms).min().unwrap_or(now),
            updated_ms: now,
            settled_ms: None,
        };
        let msg = format!(
            "trade {trade_id} on {}: {} order(s) the venues booked before the stop were never journaled; adopted (leg a holds {}, leg b holds {})",
            pair.id,
            orders.len(),
            held(Leg::A),
            held(Leg::B)
        );
        tracing::warn!(trade_id = %trade_id, pair = %pair.id, "{msg}");
        self.ledger.insert_planned(&trade, &orders)?;
        for (_, o) in &legs {
            self.record_fill_reports(o.vi, &o.fills, FillSource::Rest)?;
        }
        self.error(Some(&trade_id), "adopt", &msg);
        self.stat(|s| s.trades += 1);
        // Trading may be running (the late pass): its unwind sells into the pair's books.
        self.claim(&trade_id);
        self.hold_for_unwind(&trade);
        let r = self.resolve_legs(&trade, &orders).await;
        self.release(&trade_id);
        r
    }
}

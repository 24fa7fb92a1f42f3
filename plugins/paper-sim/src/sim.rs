//! The simulation: replayed books, the order table, matching, settlement and faults.
//! Everything is driven by the host's clock (`now_ms`); nothing reads the wall clock and
//! nothing is random, so the same scenario and the same orders give the same results.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::BufRead;

use plugin_api::{
    Book, ErrorKind, FeeModel, Fill, FillStatus, InstrumentRules, Level, MarketFilter, MarketInfo,
    OrderRequest, OrderState, OrderStatus, PluginError, PluginResult, Price, Qty, Resolution,
    Rounding, Side, TimeInForce, Usd, VenueEvent,
};

use crate::account::Account;
use crate::book::{MarketState, Outcome};
use crate::faults::Faults;
use crate::scenario::{EventKind, FaultKind, FaultSpec, Item, RulesKind, ScenarioReader};
use crate::settings::Settings;

mod feed;
pub(crate) use feed::FeedState;

/// A scenario event of this instance's venue, stored compactly: book levels live in one
/// shared arena so a million updates do not mean two million small allocations.
#[derive(Debug)]
enum SimEvent {
    Book {
        market: u32,
        bids: (u32, u32),
        asks: (u32, u32),
    },
    Resolve {
        market: u32,
        yes_won: bool,
    },
    Status {
        trading: bool,
    },
    Fault(Box<FaultSpec>),
}

#[derive(Debug)]
struct Timed {
    ts: i64,
    ev: SimEvent,
}

/// The size step of a scenario market's orders: 0.01 share, as on both venues.
pub const ORDER_STEP: Qty = Qty(plugin_api::money::SHARE / 100);
const TIMER_GHOST: u8 = 0;
const TIMER_EXPIRE: u8 = 1;

#[derive(Debug)]
struct Order {
    status: OrderStatus,
    market: u32,
    outcome: Outcome,
    /// Cash held for the unfilled part of a resting buy.
    reserved: Usd,
    /// Shares whose fills failed (ghost fills); they are neither filled nor open.
    failed: Qty,
}

impl Order {
    fn remaining(&self) -> Qty {
        self.status.qty - self.status.filled_qty - self.failed
    }
}

#[derive(Debug)]
struct FillRec {
    fill: Fill,
    order: u32,
    market: u32,
    notional: Usd,
    /// Cost basis added (buy) or removed (sell), to undo a failed fill exactly.
    cost_delta: Usd,
    confirm_at: i64,
    fail_at: Option<i64>,
    failed: bool,
}

/// Everything one paper-sim instance knows.
pub(crate) struct Sim {
    pub settings: Settings,
    markets: Vec<MarketState>,
    instruments: HashMap<String, (u32, Outcome)>,
    events: Vec<Timed>,
    levels: Vec<Level>,
    cursor: usize,
    trading: bool,
    account: Account,
    orders: Vec<Order>,
    order_ids: HashMap<String, u32>,
    client_ids: HashMap<String, u32>,
    fills: Vec<FillRec>,
    timers: BinaryHeap<Reverse<(i64, u8, u32)>>,
    pub faults: Faults,
    out: Vec<VenueEvent>,
    now: i64,
    /// Live-fed instances: the rules and payouts their feed reported (empty for a replay).
    feed: FeedState,
    /// Orders refused after they were journaled (a fault's reject, a check when executing), by
    /// client order id, with the answer given: the same id sent again gets the same answer
    /// (see `crate::resume`: a restart may send again a leg whose answer it never recorded).
    pub refused: HashMap<String, PluginError>,
}

fn reject(code: &str, msg: impl Into<String>) -> PluginError {
    PluginError::rejected(code, msg)
}

impl Sim {
    /// Loads this instance's venue from a scenario.
    pub fn load<R: BufRead>(
        settings: Settings,
        mut reader: ScenarioReader<R>,
    ) -> PluginResult<Sim> {
        let se = |e: crate::scenario::ScenarioError| PluginError::invalid(e.to_string());
        let header = reader.header().clone();
        let venue =
            header
                .venues
                .iter()
                .position(|v| v.key == settings.venue_key)
                .ok_or_else(|| {
                    PluginError::invalid(format!(
                    "paper-sim setting `venue_key`: {:?} is not a venue of scenario {} (it has {})",
                    settings.venue_key,
                    settings.scenario.display(),
                    header.venues.iter().map(|v| v.key.as_str()).collect::<Vec<_>>().join(", ")
                ))
                })?;
        if header.venues[venue].rules != settings.rules {
            return Err(PluginError::invalid(format!(
                "paper-sim setting `rules`: {} but scenario venue {:?} follows {} rules",
                settings.rules.as_str(),
                settings.venue_key,
                header.venues[venue].rules.as_str()
            )));
        }
        let mut local: HashMap<u32, u32> = HashMap::new();
        let mut markets = Vec::new();
        let mut instruments = HashMap::new();
        let mut events = Vec::new();
        let mut levels = Vec::new();
        while let Some(item) = reader.next_item().map_err(se)? {
            match item {
                Item::Market(i) => {
                    let def = &reader.markets()[i as usize];
                    if def.venue == venue {
                        let li = markets.len() as u32;
                        local.insert(i, li);
                        instruments.insert(def.instruments[0].clone(), (li, 0));
                        instruments.insert(def.instruments[1].clone(), (li, 1));
                        markets.push(MarketState::new(def.clone()));
                    }
                }
                Item::Pair(_) => {}
                Item::Event(e) => {
                    let ev = match e.kind {
                        EventKind::Book { market, bids, asks } => {
                            let Some(&m) = local.get(&market) else {
                                continue;
                            };
                            let b0 = levels.len() as u32;
                            levels.extend_from_slice(&bids);
                            let a0 = levels.len() as u32;
                            levels.extend_from_slice(&asks);
                            SimEvent::Book {
                                market: m,
                                bids: (b0, bids.len() as u32),
                                asks: (a0, asks.len() as u32),
                            }
                        }
                        EventKind::Resolve { market, yes_won } => {
                            let Some(&m) = local.get(&market) else {
                                continue;
                            };
                            SimEvent::Resolve { market: m, yes_won }
                        }
                        EventKind::Status { venue: v, trading } if v == venue => {
                            SimEvent::Status { trading }
                        }
                        EventKind::Fault { venue: v, fault } if v == venue => {
                            SimEvent::Fault(Box::new(fault))
                        }
                        _ => continue,
                    };
                    events.push(Timed { ts: e.ts_ms, ev });
                }
            }
        }
        let mut faults = Faults::default();
        for f in &settings.faults {
            if let crate::scenario::FaultTarget::Instrument(i) = &f.target {
                if !instruments.contains_key(i) {
                    return Err(PluginError::invalid(format!(
                        "paper-sim setting `faults`: unknown instrument {i:?}"
                    )));
                }
            }
            faults.arm(f.clone());
        }
        Ok(Sim {
            account: Account::new(settings.balance),
            settings,
            markets,
            instruments,
            events,
            levels,
            cursor: 0,
            trading: true,
            orders: Vec::new(),
            order_ids: HashMap::new(),
            client_ids: HashMap::new(),
            fills: Vec::new(),
            timers: BinaryHeap::new(),
            faults,
            out: Vec::new(),
            now: i64::MIN,
            feed: FeedState::default(),
            refused: HashMap::new(),
        })
    }

    /// When the next scenario event or timer (ghost-fill failure, GTD expiry) is due.
    pub fn next_event_ms(&self) -> Option<i64> {
        let e = self.events.get(self.cursor).map(|e| e.ts);
        let t = self.timers.peek().map(|r| r.0 .0);
        match (e, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Applies every event and timer due by `now`, in time order (timers first on a tie).
    pub fn advance(&mut self, now: i64) {
        self.now = self.now.max(now);
        loop {
            let e = self.events.get(self.cursor).map(|e| e.ts);
            let t = self.timers.peek().map(|r| r.0 .0);
            match (e, t) {
                (_, Some(tt)) if tt <= self.now && e.is_none_or(|et| tt <= et) => {
                    if let Some(Reverse((_, kind, idx))) = self.timers.pop() {
                        self.timer(kind, idx);
                    }
                }
                (Some(et), _) if et <= self.now => {
                    self.cursor += 1;
                    self.apply(self.cursor - 1);
                }
                _ => break,
            }
        }
    }

    /// Drains the events produced since the last call.
    pub fn take_output(&mut self) -> Vec<VenueEvent> {
        std::mem::take(&mut self.out)
    }

    fn apply(&mut self, i: usize) {
        let ts = self.events[i].ts;
        match &self.events[i].ev {
            SimEvent::Book { market, bids, asks } => {
                let m = *market as usize;
                let (b, a) = (*bids, *asks);
                let lv = &self.levels;
                self.markets[m].set_book(
                    &lv[b.0 as usize..(b.0 + b.1) as usize],
                    &lv[a.0 as usize..(a.0 + a.1) as usize],
                    ts,
                );
                if self.trading && !self.markets[m].resting.is_empty() {
                    self.match_resting(m, ts);
                }
                let market = &self.markets[m];
                self.out.push(VenueEvent::Book {
                    book: market.book(0),
                });
                self.out.push(VenueEvent::Book {
                    book: market.book(1),
                });
            }
            SimEvent::Resolve { market, yes_won } => {
                let (m, y) = (*market as usize, *yes_won);
                self.resolve(m, y, ts);
            }
            SimEvent::Status { trading } => {
                self.trading = *trading;
                self.out.push(VenueEvent::Status { trading: *trading });
            }
            SimEvent::Fault(f) => {
                let f = (**f).clone();
                self.faults.arm(f);
            }
        }
    }

    fn timer(&mut self, kind: u8, idx: u32) {
        match kind {
            TIMER_GHOST => self.fail_fill(idx as usize),
            _ => {
                let o = &self.orders[idx as usize];
                if !o.status.state.is_final() {
                    self.close_order(idx as usize, OrderState::Expired, "expired");
                }
            }
        }
    }

    fn fee_model(&self, m: usize) -> FeeModel {
        if let Some(r) = self.feed.rules.get(&(m as u32)) {
            // The live market's own fee schedule, as its feed reported it.
            return r.taker_fee;
        }
        self.markets[m].def.fee
    }

    fn lookup(&self, instrument: &str) -> PluginResult<(usize, Outcome)> {
        self.instruments
            .get(instrument)
            .map(|&(m, o)| (m as usize, o))
            .ok_or_else(|| {
                reject(
                    "unknown_instrument",
                    format!("unknown instrument {instrument:?}"),
                )
            })
    }

    fn closed(&self, m: usize) -> bool {
        let def = &self.markets[m].def;
        self.markets[m].resolved.is_some() || def.close_ms.is_some_and(|c| self.now >= c)
    }

    /// Checks an order against the venue's rules and the account. Run before faults are taken
    /// (so a refused order does not eat a fault) and again when the order executes.
    pub fn validate(&mut self, o: &OrderRequest) -> PluginResult<(usize, Outcome)> {
        if !self.trading {
            return Err(reject(
                "trading_halted",
                "the venue is not trading (outage)",
            ));
        }
        let (m, outcome) = self.lookup(&o.instrument)?;
        if self.closed(m) {
            return Err(reject(
                "market_closed",
                format!("market {} is closed", self.markets[m].def.id),
            ));
        }
        match o.tif {
            TimeInForce::Fok | TimeInForce::Ioc | TimeInForce::Gtc => {}
            TimeInForce::Gtd { expires_ms } => {
                if expires_ms <= self.now {
                    return Err(reject("invalid_expiration", "GTD expiry is in the past"));
                }
            }
            _ => {
                return Err(reject(
                    "invalid_order",
                    "only limit orders (FOK, IOC, GTC, GTD) are accepted",
                ))
            }
        }
        if o.post_only && matches!(o.tif, TimeInForce::Fok | TimeInForce::Ioc) {
            return Err(reject("invalid_post_only", "post-only needs GTC or GTD"));
        }
        if o.client_order_id.is_empty() {
            return Err(reject("invalid_order", "client_order_id is empty"));
        }
        if self.client_ids.contains_key(&o.client_order_id) {
            return Err(reject(
                "duplicate_client_order_id",
                format!("client_order_id {:?} was already used", o.client_order_id),
            ));
        }
        let def = &self.markets[m].def;
        let tick = def.tick;
        if o.price < tick || o.price > Price::ONE - tick {
            return Err(reject(
                "invalid_price",
                format!(
                    "price {} outside [{}, {}]",
                    o.price,
                    tick,
                    Price::ONE - tick
                ),
            ));
        }
        if !o.price.is_on_tick(tick) {
            return Err(reject(
                "invalid_tick",
                format!("price {} is not a multiple of the tick {}", o.price, tick),
            ));
        }
        if o.qty.0 <= 0 {
            return Err(reject("invalid_size", "size must be positive"));
        }
        // Orders go out on the venue's size step (scenario markets: 0.01 share); fills and
        // balances are finer (micro-shares).
        let step = self
            .feed
            .rules
            .get(&(m as u32))
            .map_or(ORDER_STEP, |r| r.qty_step);
        if step.0 > 0 && o.qty.0 % step.0 != 0 {
            return Err(reject(
                "invalid_size",
                format!("size {} is not a multiple of the step {}", o.qty, step),
            ));
        }
        if o.qty < def.min_size {
            return Err(reject(
                "below_min_size",
                format!("size {} is below the minimum {}", o.qty, def.min_size),
            ));
        }
        let marketable = self.markets[m].crosses(outcome, o.side, o.price);
        if o.post_only && marketable {
            return Err(reject(
                "post_only_would_cross",
                "post-only order would take liquidity",
            ));
        }
        let min_notional = self.min_notional(m);
        if marketable && min_notional > Usd::ZERO {
            let value = o.qty.notional(o.price, Rounding::Down);
            if value < min_notional {
                return Err(reject(
                    "below_min_notional",
                    format!(
                        "marketable order value {value} is below ${}",
                        min_notional.to_decimal(2)
                    ),
                ));
            }
        }
        match o.side {
            Side::Buy => {
                let need = o.qty.notional(o.price, Rounding::Up)
                    + self.fee_model(m).taker_fee(o.price, o.qty);
                if need > self.account.available() {
                    return Err(reject(
                        "insufficient_balance",
                        format!("order needs {need}, available {}", self.account.available()),
                    ));
                }
            }
            Side::Sell => {
                let have = self.account.sellable(&o.instrument);
                if o.qty > have {
                    return Err(reject(
                        "insufficient_position",
                        format!("selling {} but only {} held", o.qty, have),
                    ));
                }
            }
        }
        Ok((m, outcome))
    }

    /// Places an order now, with the faults that hit it (latency was already served).
    pub fn place(&mut self, o: OrderRequest, faults: &[FaultKind]) -> PluginResult<OrderStatus> {
        let mut partial = None;
        let mut ghost = None;
        let mut timeout = None;
        for f in faults {
            match f {
                FaultKind::Reject { code } => {
                    return Err(reject(code, "injected reject (paper-sim fault)"));
                }
                FaultKind::Timeout { placed } => timeout = Some(*placed),
                FaultKind::Partial { fraction } => partial = Some(*fraction),
                FaultKind::Ghost { fail_after_ms } => ghost = Some(*fail_after_ms),
                FaultKind::Latency { .. } => {}
            }
        }
        let timed_out = || {
            PluginError::new(
                ErrorKind::Timeout,
                "no answer from the venue (paper-sim fault)",
            )
        };
        if timeout == Some(false) {
            return Err(timed_out());
        }
        let (m, outcome) = self.validate(&o)?;
        let max = match partial {
            // A fraction of the order, on the venue's 0.01 size step like a real partial fill.
            Some(f) => Qty((o.qty.0 as i128 * f.0 as i128 / 1_000_000) as i64)
                .round_to_step(ORDER_STEP, Rounding::Down),
            None => o.qty,
        };
        let mut plan = Vec::new();
        let got = self.markets[m].plan(outcome, o.side, o.price, max, &mut plan);
        let fee_model = self.fee_model(m);
        let oi = self.orders.len() as u32;
        let order_id = format!("{}-o{}", self.settings.venue_key, oi + 1);
        let mut status = OrderStatus {
            order_id: order_id.clone(),
            client_order_id: Some(o.client_order_id.clone()),
            instrument: o.instrument.clone(),
            side: o.side,
            price: o.price,
            qty: o.qty,
            filled_qty: Qty::ZERO,
            filled_notional: Usd::ZERO,
            fees: Usd::ZERO,
            state: OrderState::Open,
            reason: None,
        };
        let fok_killed = partial.is_none() && o.tif == TimeInForce::Fok && got < o.qty;
        if !fok_killed && got.0 > 0 {
            let notional: Usd = plan
                .iter()
                .map(|l| l.qty.notional(l.price, Rounding::HalfUp))
                .sum();
            let fees: Usd = plan
                .iter()
                .map(|l| fee_model.taker_fee(l.price, l.qty))
                .sum();
            if o.side == Side::Buy && notional + fees > self.account.available() {
                return Err(reject(
                    "insufficient_balance",
                    "fills plus fees exceed the available balance",
                ));
            }
            self.markets[m].consume(outcome, o.side, got);
            for l in &plan {
                let n = l.qty.notional(l.price, Rounding::HalfUp);
                let fee = fee_model.taker_fee(l.price, l.qty);
                self.record_fill(
                    oi,
                    m,
                    &o.instrument,
                    o.side,
                    l.price,
                    l.qty,
                    n,
                    fee,
                    ghost,
                    Some(&o.client_order_id),
                );
                status.filled_qty += l.qty;
                status.filled_notional += n;
                status.fees += fee;
            }
        }
        let remaining = o.qty - status.filled_qty;
        let rests =
            matches!(o.tif, TimeInForce::Gtc | TimeInForce::Gtd { .. }) && partial.is_none();
        let mut reserved = Usd::ZERO;
        if remaining.0 == 0 {
            status.state = OrderState::Filled;
        } else if rests {
            status.state = if status.filled_qty.0 > 0 {
                OrderState::PartiallyFilled
            } else {
                OrderState::Open
            };
            match o.side {
                Side::Buy => {
                    reserved = remaining.notional(o.price, Rounding::Up);
                    self.account.reserved += reserved;
                }
                Side::Sell => {
                    if let Some(h) = self.account.holdings.get_mut(&o.instrument) {
                        h.reserved += remaining;
                    }
                }
            }
            self.markets[m].resting.push(oi);
            if let TimeInForce::Gtd { expires_ms } = o.tif {
                self.timers.push(Reverse((expires_ms, TIMER_EXPIRE, oi)));
            }
        } else {
            status.state = OrderState::Cancelled;
            status.reason = Some(
                if fok_killed {
                    "fok_not_filled"
                } else if partial.is_some() {
                    "partial_fill_fault"
                } else if status.filled_qty.0 == 0 {
                    "no_match"
                } else {
                    "unfilled_remainder_cancelled"
                }
                .to_string(),
            );
        }
        self.order_ids.insert(order_id, oi);
        self.client_ids.insert(o.client_order_id.clone(), oi);
        self.orders.push(Order {
            status: status.clone(),
            market: m as u32,
            outcome,
            reserved,
            failed: Qty::ZERO,
        });
        if timeout == Some(true) {
            return Err(timed_out());
        }
        Ok(status)
    }

    #[allow(clippy::too_many_arguments)]
    fn record_fill(
        &mut self,
        oi: u32,
        m: usize,
        instrument: &str,
        side: Side,
        price: Price,
        qty: Qty,
        notional: Usd,
        fee: Usd,
        ghost: Option<u64>,
        client_order_id: Option<&str>,
    ) {
        let cost_delta = match side {
            Side::Buy => {
                self.account.cash -= notional + fee;
                self.account.add(instrument, qty, notional)
            }
            Side::Sell => {
                self.account.cash += notional - fee;
                self.account.remove(instrument, qty)
            }
        };
        let fi = self.fills.len() as u32;
        let fail_at = ghost.map(|g| self.now.saturating_add(g as i64));
        if let Some(t) = fail_at {
            self.timers.push(Reverse((t, TIMER_GHOST, fi)));
        }
        self.fills.push(FillRec {
            fill: Fill {
                fill_id: format!("{}-f{}", self.settings.venue_key, fi + 1),
                order_id: format!("{}-o{}", self.settings.venue_key, oi + 1),
                client_order_id: client_order_id.map(str::to_string),
                instrument: instrument.to_string(),
                side,
                price,
                qty,
                fee,
                ts_ms: self.now,
                status: FillStatus::Matched,
            },
            order: oi,
            market: m as u32,
            notional,
            cost_delta,
            confirm_at: self.now.saturating_add(self.settings.confirm_ms as i64),
            fail_at,
            failed: false,
        });
    }

    /// A later snapshot trading through resting orders fills them at their limit (as maker:
    /// no fee on either venue's standard schedule), oldest first.
    fn match_resting(&mut self, m: usize, ts: i64) {
        let resting = self.markets[m].resting.clone();
        let mut plan = Vec::new();
        for oi in resting {
            let o = &self.orders[oi as usize];
            let (outcome, side, price, left) =
                (o.outcome, o.status.side, o.status.price, o.remaining());
            plan.clear();
            let got = self.markets[m].plan(outcome, side, price, left, &mut plan);
            if got.0 == 0 {
                continue;
            }
            self.markets[m].consume(outcome, side, got);
            let notional = got.notional(price, Rounding::Up);
            let instrument = self.orders[oi as usize].status.instrument.clone();
            let coid = self.orders[oi as usize].status.client_order_id.clone();
            match side {
                Side::Buy => {
                    let o = &mut self.orders[oi as usize];
                    let release = notional.min(o.reserved);
                    o.reserved -= release;
                    self.account.reserved -= release;
                }
                Side::Sell => {
                    if let Some(h) = self.account.holdings.get_mut(&instrument) {
                        h.reserved -= got.min(h.reserved);
                    }
                }
            }
            let saved = self.now;
            self.now = self.now.max(ts);
            self.record_fill(
                oi,
                m,
                &instrument,
                side,
                price,
                got,
                notional,
                Usd::ZERO,
                None,
                coid.as_deref(),
            );
            self.now = saved;
            let o = &mut self.orders[oi as usize];
            o.status.filled_qty += got;
            o.status.filled_notional += notional;
            if o.remaining().0 == 0 {
                o.status.state = OrderState::Filled;
                self.markets[m].resting.retain(|&x| x != oi);
            } else {
                o.status.state = OrderState::PartiallyFilled;
            }
        }
    }

    /// Ends a resting order (cancel, expiry, resolution), releasing what it held.
    fn close_order(&mut self, oi: usize, state: OrderState, reason: &str) {
        let o = &mut self.orders[oi];
        if o.status.state.is_final() {
            return;
        }
        let left = o.remaining();
        self.account.reserved -= o.reserved;
        o.reserved = Usd::ZERO;
        if o.status.side == Side::Sell {
            if let Some(h) = self.account.holdings.get_mut(&o.status.instrument) {
                h.reserved -= left.min(h.reserved);
            }
        }
        o.status.state = state;
        o.status.reason = Some(reason.to_string());
        let (m, id) = (o.market as usize, oi as u32);
        self.markets[m].resting.retain(|&x| x != id);
    }

    /// A ghost fill fails: the shares vanish and the cash comes back. If the shares were
    /// sold in the meantime, only what is left is removed (the venue would claw back).
    fn fail_fill(&mut self, fi: usize) {
        let f = &mut self.fills[fi];
        if f.failed {
            return;
        }
        f.failed = true;
        f.fill.status = FillStatus::Failed;
        let (qty, notional, fee, cost, side) = (
            f.fill.qty,
            f.notional,
            f.fill.fee,
            f.cost_delta,
            f.fill.side,
        );
        let instrument = f.fill.instrument.clone();
        let oi = f.order as usize;
        match side {
            Side::Buy => {
                self.account.cash += notional + fee;
                if let Some(h) = self.account.holdings.get_mut(&instrument) {
                    h.qty -= qty.min(h.qty);
                    h.cost -= cost.min(h.cost);
                    if h.qty.0 == 0 && h.reserved.0 == 0 {
                        self.account.holdings.remove(&instrument);
                    }
                }
            }
            Side::Sell => {
                self.account.cash -= notional - fee;
                self.account.add(&instrument, qty, cost);
            }
        }
        let o = &mut self.orders[oi];
        o.status.filled_qty -= qty;
        o.status.filled_notional -= notional;
        o.status.fees -= fee;
        o.failed += qty;
        if o.status.state == OrderState::Filled {
            o.status.state = OrderState::Cancelled;
            o.status.reason = Some("fill_failed".into());
        } else if o.status.state.is_final() {
            o.status.reason = Some("fill_failed".into());
        } else if o.status.filled_qty.0 == 0 {
            o.status.state = OrderState::Open;
        }
    }

    fn resolve(&mut self, m: usize, yes_won: bool, _ts: i64) {
        // Pending ghost fills settle (fail) before the payout, as the chain would.
        let pending: Vec<usize> = (0..self.fills.len())
            .filter(|&i| {
                let f = &self.fills[i];
                f.market as usize == m && f.fail_at.is_some() && !f.failed
            })
            .collect();
        for fi in pending {
            self.fail_fill(fi);
        }
        for oi in self.markets[m].resting.clone() {
            self.close_order(oi as usize, OrderState::Cancelled, "market_resolved");
        }
        self.markets[m].resolved = Some(yes_won);
        for k in 0..2 {
            let instrument = self.markets[m].def.instruments[k].clone();
            if instrument.is_empty() {
                // A live-fed market is one instrument (see `feed`).
                continue;
            }
            let payout = match self.feed.payouts.get(&(m as u32)) {
                Some(p) => *p,
                None if (k == 0) == yes_won => Price::ONE,
                None => Price::ZERO,
            };
            if let Some(h) = self.account.holdings.remove(&instrument) {
                self.account.cash += h.qty.payout(payout);
            }
            self.out.push(VenueEvent::Resolved {
                resolution: Resolution {
                    instrument,
                    resolved: true,
                    payout,
                },
            });
        }
    }

    // ----- queries -----

    fn fill_status(&self, f: &FillRec) -> FillStatus {
        if f.failed {
            FillStatus::Failed
        } else if f.fail_at.is_some() {
            FillStatus::Matched
        } else if self.now >= f.confirm_at {
            FillStatus::Confirmed
        } else if self.now >= f.fill.ts_ms + (f.confirm_at - f.fill.ts_ms) / 2 {
            FillStatus::Mined
        } else {
            FillStatus::Matched
        }
    }

    pub fn fills(&self, instrument: Option<&str>, since_ms: Option<i64>) -> Vec<Fill> {
        self.fills
            .iter()
            .filter(|f| instrument.is_none_or(|i| f.fill.instrument == i))
            .filter(|f| since_ms.is_none_or(|s| f.fill.ts_ms >= s))
            .map(|f| Fill {
                status: self.fill_status(f),
                ..f.fill.clone()
            })
            .collect()
    }

    pub fn get_order(
        &self,
        order_id: Option<&str>,
        client_order_id: Option<&str>,
    ) -> PluginResult<OrderStatus> {
        let idx = order_id
            .and_then(|id| self.order_ids.get(id))
            .or_else(|| client_order_id.and_then(|c| self.client_ids.get(c)));
        idx.map(|&i| self.orders[i as usize].status.clone())
            .ok_or_else(|| {
                reject(
                    "order_not_found",
                    format!("no order with id {order_id:?} or client id {client_order_id:?}"),
                )
            })
    }

    pub fn cancel(&mut self, order_id: &str) -> PluginResult<OrderStatus> {
        let oi = *self
            .order_ids
            .get(order_id)
            .or_else(|| self.client_ids.get(order_id))
            .ok_or_else(|| reject("order_not_found", format!("no order {order_id:?}")))?;
        self.close_order(oi as usize, OrderState::Cancelled, "cancelled");
        Ok(self.orders[oi as usize].status.clone())
    }

    pub fn open_orders(&self, instrument: Option<&str>) -> Vec<OrderStatus> {
        self.orders
            .iter()
            .filter(|o| !o.status.state.is_final())
            .filter(|o| instrument.is_none_or(|i| o.status.instrument == i))
            .map(|o| o.status.clone())
            .collect()
    }

    pub fn balance(&self) -> plugin_api::Balance {
        self.account.balance()
    }

    pub fn positions(&self) -> Vec<plugin_api::Position> {
        self.account.positions()
    }

    pub fn book(&self, instrument: &str) -> PluginResult<Book> {
        let (m, o) = self.lookup(instrument)?;
        Ok(self.markets[m].book(o))
    }

    /// The smallest marketable order value: the feed's rule when fed live, else the imitated
    /// venue's (Polymarket $1, Kalshi none).
    fn min_notional(&self, m: usize) -> Usd {
        match self.feed.rules.get(&(m as u32)) {
            Some(r) => r.min_notional,
            None => match self.settings.rules {
                RulesKind::Polymarket => Usd::dollars(1),
                RulesKind::Kalshi => Usd::ZERO,
            },
        }
    }

    pub fn rules(&self, instrument: &str) -> PluginResult<InstrumentRules> {
        let (m, _) = self.lookup(instrument)?;
        if let Some(r) = self.feed.rules.get(&(m as u32)) {
            return Ok(*r);
        }
        let def = &self.markets[m].def;
        Ok(InstrumentRules {
            tick: def.tick,
            min_qty: def.min_size,
            qty_step: ORDER_STEP,
            min_notional: match self.settings.rules {
                RulesKind::Polymarket => Usd::dollars(1),
                RulesKind::Kalshi => Usd::ZERO,
            },
            taker_fee: self.fee_model(m),
            neg_risk: None,
        })
    }

    pub fn resolution(&self, instrument: &str) -> PluginResult<Resolution> {
        let (m, o) = self.lookup(instrument)?;
        let r = self.markets[m].resolved;
        Ok(Resolution {
            instrument: instrument.to_string(),
            resolved: r.is_some(),
            payout: match (r, self.feed.payouts.get(&(m as u32))) {
                (Some(_), Some(p)) => *p,
                (Some(yes_won), None) if yes_won == (o == 0) => Price::ONE,
                _ => Price::ZERO,
            },
        })
    }

    /// This venue's markets with their status words at the simulated time (`open`, `closed`,
    /// `settled`), for `listings`.
    pub fn market_statuses(&self) -> Vec<(&crate::scenario::MarketDef, &'static str)> {
        (0..self.markets.len())
            .map(|i| {
                let status = if self.markets[i].resolved.is_some() {
                    "settled"
                } else if self.closed(i) {
                    "closed"
                } else {
                    "open"
                };
                (&self.markets[i].def, status)
            })
            .collect()
    }

    pub fn markets(&self, filter: &MarketFilter) -> (Vec<MarketInfo>, Option<String>) {
        let start: usize = filter
            .cursor
            .as_deref()
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let limit = filter.limit.unwrap_or(1000).max(1) as usize;
        let mut all = self.markets.iter().enumerate().flat_map(|(i, ms)| {
            let status = if ms.resolved.is_some() {
                "settled"
            } else if self.closed(i) {
                "closed"
            } else {
                "open"
            };
            (0..2)
                .filter(|&k| !ms.def.instruments[k].is_empty())
                .map(move |k| (ms, k, status))
        });
        let series = filter.series.as_deref().map(str::to_ascii_lowercase);
        let mut page = Vec::new();
        let mut seen = 0usize;
        let mut more = false;
        for (ms, k, status) in all.by_ref() {
            if series
                .as_deref()
                .is_some_and(|s| ms.def.series.to_ascii_lowercase() != s)
            {
                continue;
            }
            if filter.status.as_deref().is_some_and(|s| s != status) {
                continue;
            }
            seen += 1;
            if seen <= start {
                continue;
            }
            if page.len() == limit {
                more = true;
                break;
            }
            page.push(MarketInfo {
                instrument: ms.def.instruments[k].clone(),
                market: ms.def.id.clone(),
                title: format!("{}: {}", ms.def.title, ms.def.outcomes[k]),
                status: status.to_string(),
                close_ms: ms.def.close_ms,
            });
        }
        let next = more.then(|| (start + page.len()).to_string());
        (page, next)
    }
}

//! The double's exchange: markets, a matching book per market, the user's orders, fills,
//! cash and positions. Everything is quoted on the YES book like the real V2 API: a resting
//! `ask` at YES price p is a NO bid at 1 − p.

use plugin_api::{Price, Qty, Usd};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Kalshi's taker fee rate, parts per million (kalshi.md §4).
const TAKER_RATE_PPM: i128 = 70_000;

/// A market to list and trade.
#[derive(Clone, Debug)]
pub struct MarketSpec {
    /// Market ticker, e.g. `KXNBAGAME-26MAY25NYKCLE-NYK`.
    pub ticker: String,
    /// Event ticker (defaults to the ticker without its last `-` part).
    pub event_ticker: String,
    /// Series ticker (defaults to the part before the first `-`).
    pub series_ticker: String,
    /// Title.
    pub title: String,
    /// YES subtitle (team name for sports).
    pub yes_sub_title: String,
    /// NO subtitle.
    pub no_sub_title: String,
    /// Lifecycle status: `active`, `closed`, `determined`, `finalized`, ...
    pub status: String,
    /// RFC 3339 close time.
    pub close_time: String,
    /// `linear_cent`, `tapered_deci_cent` or `deci_cent`.
    pub price_level_structure: String,
    /// Whether 0.01-contract sizes are allowed.
    pub fractional_trading_enabled: bool,
    /// `yes`, `no`, `scalar` or empty.
    pub result: String,
    /// Payout per YES contract once determined, e.g. `1.0000`.
    pub settlement_value_dollars: Option<String>,
    /// `strike_type` (`structured` for a team market, `greater` / `less` for a line); None:
    /// left out.
    pub strike_type: Option<String>,
    /// `floor_strike` (JSON number text) of a `greater` market.
    pub floor_strike: Option<String>,
    /// `cap_strike` (JSON number text) of a `less` market.
    pub cap_strike: Option<String>,
    /// `rules_primary`.
    pub rules_primary: String,
}

impl MarketSpec {
    /// An open binary market with cent ticks.
    pub fn new(ticker: &str) -> MarketSpec {
        let event = ticker.rsplit_once('-').map_or(ticker, |(e, _)| e);
        let series = ticker.split('-').next().unwrap_or(ticker);
        MarketSpec {
            ticker: ticker.to_string(),
            event_ticker: event.to_string(),
            series_ticker: series.to_string(),
            title: format!("Test market {ticker}"),
            yes_sub_title: "Yes".into(),
            no_sub_title: "No".into(),
            status: "active".into(),
            close_time: "2030-01-01T00:00:00Z".into(),
            price_level_structure: "linear_cent".into(),
            fractional_trading_enabled: false,
            result: String::new(),
            settlement_value_dollars: None,
            strike_type: None,
            floor_strike: None,
            cap_strike: None,
            rules_primary: String::new(),
        }
    }

    fn tick_ok(&self, p: Price) -> bool {
        let fine = p.0 % 1_000 == 0;
        let cent = p.0 % 10_000 == 0;
        match self.price_level_structure.as_str() {
            "deci_cent" => fine,
            "tapered_deci_cent" => {
                if p.0 < 100_000 || p.0 > 900_000 {
                    fine
                } else {
                    cent
                }
            }
            _ => cent,
        }
    }

    pub(crate) fn json(&self) -> Value {
        let tick_ranges = match self.price_level_structure.as_str() {
            "deci_cent" => json!([{"start": "0.0000", "end": "1.0000", "step": "0.0010"}]),
            "tapered_deci_cent" => json!([
                {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
                {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
                {"start": "0.9000", "end": "1.0000", "step": "0.0010"}]),
            _ => json!([{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]),
        };
        json!({
            "ticker": self.ticker, "event_ticker": self.event_ticker, "market_type": "binary",
            "title": self.title, "subtitle": "", "yes_sub_title": self.yes_sub_title,
            "no_sub_title": self.no_sub_title, "status": self.status, "close_time": self.close_time,
            "result": self.result, "settlement_value_dollars": self.settlement_value_dollars,
            "price_level_structure": self.price_level_structure, "price_ranges": tick_ranges,
            "fractional_trading_enabled": self.fractional_trading_enabled,
            "liquidity_dollars": "0.0000", "can_close_early": true,
            "rules_primary": self.rules_primary, "rules_secondary": "",
            "strike_type": self.strike_type,
            "floor_strike": self.floor_strike.as_deref().map(strike_num),
            "cap_strike": self.cap_strike.as_deref().map(strike_num),
        })
    }
}

/// A market as listed, with its best asks from the book: YES ask = lowest NO bid's complement
/// (a NO bid at q is a YES ask at 1 − q), NO ask = 1 − best YES bid; "0.0000" when none.
fn quoted_json(m: &Market) -> Value {
    let mut v = m.spec.json();
    let best_yes_bid = m
        .resting
        .iter()
        .filter(|r| r.bid && r.remaining.0 > 0)
        .map(|r| r.yes_price)
        .max();
    let best_yes_ask = m
        .resting
        .iter()
        .filter(|r| !r.bid && r.remaining.0 > 0)
        .map(|r| r.yes_price)
        .min();
    let dollars = |p: Option<Price>| p.map_or("0.0000".to_string(), |p| p.to_decimal(4));
    v["yes_ask_dollars"] = json!(dollars(best_yes_ask));
    v["no_ask_dollars"] = json!(dollars(best_yes_bid.map(|b| b.complement())));
    v
}

fn strike_num(t: &str) -> Value {
    serde_json::from_str(t).unwrap_or(Value::Null)
}

/// An event's title and game start (served as a milestone's `start_date`).
#[derive(Clone, Debug)]
pub struct EventMeta {
    /// Title, e.g. `Los Angeles L at Boston`.
    pub title: String,
    /// RFC 3339 game start; None: no milestone.
    pub start_date: Option<String>,
}

#[derive(Clone, Debug)]
struct Resting {
    order_id: Option<String>,
    bid: bool,
    yes_price: Price,
    remaining: Qty,
    seq: u64,
}

#[derive(Clone, Debug)]
struct Market {
    spec: MarketSpec,
    resting: Vec<Resting>,
}

/// An order the user placed, as the double keeps it.
#[derive(Clone, Debug)]
pub struct OrderRec {
    /// Kalshi order id.
    pub order_id: String,
    /// Client order id.
    pub client_order_id: String,
    /// Market ticker.
    pub ticker: String,
    /// True for `bid` (buy YES), false for `ask`.
    pub bid: bool,
    /// YES-book limit price.
    pub yes_price: Price,
    /// Contracts ordered.
    pub initial: Qty,
    /// Contracts filled.
    pub filled: Qty,
    /// Contracts resting.
    pub remaining: Qty,
    /// `resting`, `canceled` or `executed`.
    pub status: String,
    /// `fill_or_kill`, `immediate_or_cancel` or `good_till_canceled`.
    pub time_in_force: String,
    /// What the user paid for fills as taker (in the order's outcome).
    pub taker_cost: Usd,
    /// What the user paid for fills as maker.
    pub maker_cost: Usd,
    /// Taker fees charged.
    pub taker_fees: Usd,
    /// Creation time, Unix ms.
    pub created_ms: i64,
    /// The request body as received.
    pub body: Value,
}

impl OrderRec {
    pub(crate) fn json(&self) -> Value {
        let yp = self.yes_price;
        json!({
            "order_id": self.order_id, "user_id": "test-user", "client_order_id": self.client_order_id,
            "ticker": self.ticker, "outcome_side": if self.bid { "yes" } else { "no" },
            "book_side": if self.bid { "bid" } else { "ask" }, "type": "limit", "status": self.status,
            "yes_price_dollars": yp.to_decimal(4), "no_price_dollars": yp.complement().to_decimal(4),
            "fill_count_fp": self.filled.to_decimal(2), "remaining_count_fp": self.remaining.to_decimal(2),
            "initial_count_fp": self.initial.to_decimal(2),
            "taker_fill_cost_dollars": self.taker_cost.to_decimal(4),
            "maker_fill_cost_dollars": self.maker_cost.to_decimal(4),
            "taker_fees_dollars": self.taker_fees.to_decimal(4), "maker_fees_dollars": "0.0000",
            "time_in_force": self.time_in_force,
            "created_time": rfc3339(self.created_ms), "last_update_time": rfc3339(self.created_ms),
            "self_trade_prevention_type": "taker_at_cross", "subaccount_number": 0,
        })
    }
}

/// One execution of a user order.
#[derive(Clone, Debug)]
pub struct FillRec {
    /// Fill id.
    pub fill_id: String,
    /// The user's order.
    pub order_id: String,
    /// Market ticker.
    pub ticker: String,
    /// True for `bid`.
    pub bid: bool,
    /// YES price of the trade.
    pub yes_price: Price,
    /// Contracts.
    pub count: Qty,
    /// Fee charged on this fill.
    pub fee: Usd,
    /// Unix ms.
    pub ts_ms: i64,
}

impl FillRec {
    pub(crate) fn json(&self) -> Value {
        json!({
            "fill_id": self.fill_id, "trade_id": self.fill_id, "order_id": self.order_id,
            "ticker": self.ticker, "market_ticker": self.ticker,
            "outcome_side": if self.bid { "yes" } else { "no" }, "book_side": if self.bid { "bid" } else { "ask" },
            "count_fp": self.count.to_decimal(2), "yes_price_dollars": self.yes_price.to_decimal(4),
            "no_price_dollars": self.yes_price.complement().to_decimal(4), "is_taker": true,
            "fee_cost": self.fee.to_decimal(4), "created_time": rfc3339(self.ts_ms), "ts": self.ts_ms / 1000,
            "subaccount_number": 0,
        })
    }
}

/// Formats Unix ms as RFC 3339 UTC.
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// A validated V2 create-order request.
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// Market.
    pub ticker: String,
    /// Client order id.
    pub client_order_id: String,
    /// True for `bid`.
    pub bid: bool,
    /// YES price.
    pub yes_price: Price,
    /// Contracts.
    pub count: Qty,
    /// Time in force string.
    pub tif: String,
    /// Post only.
    pub post_only: bool,
    /// Raw body.
    pub body: Value,
}

/// An error answer: status and Kalshi's object-shaped error body.
pub type Reject = (u16, Value);

/// Kalshi's error object.
pub fn err(status: u16, code: &str, message: &str) -> Reject {
    (
        status,
        json!({"error": {"code": code, "message": message, "service": "exchange"}}),
    )
}

/// The exchange state.
#[derive(Debug)]
pub struct Exchange {
    markets: BTreeMap<String, Market>,
    /// Every order the user placed successfully.
    pub orders: Vec<OrderRec>,
    /// Every fill of the user's orders.
    pub fills: Vec<FillRec>,
    /// Spendable cash (resting buy collateral already taken out).
    pub cash: Usd,
    positions: BTreeMap<String, (Qty, Usd, Usd)>,
    /// Settled markets in settlement order, with their time in ms (`GET /portfolio/settlements`).
    pub settlements: Vec<(i64, Value)>,
    /// Fee schedule per series: `(fee_type, fee_multiplier)`; unlisted series are
    /// `quadratic` × 1.
    pub series_fees: BTreeMap<String, (String, Value)>,
    /// Titles and game starts per event ticker.
    pub events: BTreeMap<String, EventMeta>,
    seq: u64,
}

fn cost_of(bid: bool, yes_price: Price, qty: Qty) -> Usd {
    let px = if bid {
        yes_price
    } else {
        yes_price.complement()
    };
    qty.notional(px, plugin_api::Rounding::Up)
}

/// Exact taker fee in units of 1e-24 dollars: micro-contracts (a `Qty`) × ppm × micro-dollars
/// × micro-dollars (summed over fills, rounded up once per order).
fn fee_exact(p: Price, q: Qty) -> i128 {
    q.0 as i128 * TAKER_RATE_PPM * p.0 as i128 * (1_000_000 - p.0 as i128)
}

fn fee_to_usd(exact: i128) -> Usd {
    // 1e-24 → cents is a division by 1e22, rounded up (kalshi.md §4).
    let per_cent: i128 = 10_000_000_000_000_000_000_000;
    let cents = (exact + per_cent - 1) / per_cent;
    Usd::from_cents(cents as i64)
}

impl Exchange {
    /// An empty exchange with `cash`.
    pub fn new(cash: Usd) -> Exchange {
        Exchange {
            markets: BTreeMap::new(),
            orders: Vec::new(),
            fills: Vec::new(),
            cash,
            positions: BTreeMap::new(),
            settlements: Vec::new(),
            series_fees: BTreeMap::new(),
            events: BTreeMap::new(),
            seq: 0,
        }
    }

    fn next(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Adds or replaces a market (its book is kept if it existed).
    pub fn add_market(&mut self, spec: MarketSpec) {
        let resting = self
            .markets
            .remove(&spec.ticker)
            .map(|m| m.resting)
            .unwrap_or_default();
        self.markets
            .insert(spec.ticker.clone(), Market { spec, resting });
    }

    /// Mutates a market's spec.
    pub fn update_market(&mut self, ticker: &str, f: impl FnOnce(&mut MarketSpec)) -> bool {
        match self.markets.get_mut(ticker) {
            Some(m) => {
                f(&mut m.spec);
                true
            }
            None => false,
        }
    }

    /// Replaces the third-party liquidity of a market: YES bids and NO bids as
    /// `(price, count)` levels. The user's resting orders stay.
    pub fn seed_book(&mut self, ticker: &str, yes_bids: &[(Price, Qty)], no_bids: &[(Price, Qty)]) {
        let mut add = Vec::new();
        for (p, q) in yes_bids {
            add.push((true, *p, *q));
        }
        for (p, q) in no_bids {
            add.push((false, p.complement(), *q));
        }
        let seqs: Vec<u64> = add.iter().map(|_| self.next()).collect();
        let m = self
            .markets
            .entry(ticker.to_string())
            .or_insert_with(|| Market {
                spec: MarketSpec::new(ticker),
                resting: Vec::new(),
            });
        m.resting.retain(|r| r.order_id.is_some());
        for ((bid, yes_price, remaining), seq) in add.into_iter().zip(seqs) {
            m.resting.push(Resting {
                order_id: None,
                bid,
                yes_price,
                remaining,
                seq,
            });
        }
    }

    /// Signed YES position (negative = NO contracts).
    pub fn position(&self, ticker: &str) -> Qty {
        self.positions.get(ticker).map_or(Qty::ZERO, |p| p.0)
    }

    /// `GET /markets`.
    pub fn list_markets(
        &self,
        series: Option<&str>,
        status: Option<&str>,
        mve_exclude: bool,
    ) -> Vec<Value> {
        self.markets
            .values()
            .filter(|m| series.is_none_or(|s| m.spec.series_ticker == s))
            .filter(|m| match status {
                None => true,
                Some("open") => m.spec.status == "active",
                Some("unopened") => m.spec.status == "initialized",
                Some("paused") => m.spec.status == "inactive",
                Some("settled") => m.spec.status == "finalized",
                Some("closed") => matches!(
                    m.spec.status.as_str(),
                    "closed" | "determined" | "disputed" | "amended"
                ),
                Some(_) => false,
            })
            .filter(|m| !(mve_exclude && m.spec.ticker.starts_with("KXMVE")))
            .map(quoted_json)
            .collect()
    }

    /// Milestones (`type`, `start_date`, `related_event_tickers`) of the events on a page.
    pub fn milestones_for(&self, events: &[Value]) -> Vec<Value> {
        events
            .iter()
            .filter_map(|e| {
                let t = e["event_ticker"].as_str()?;
                let start = self.events.get(t)?.start_date.clone()?;
                Some(
                    json!({"id": format!("ms-{t}"), "type": "game", "start_date": start,
                            "related_event_tickers": [t]}),
                )
            })
            .collect()
    }

    /// `GET /events?with_nested_markets=true`: markets grouped by event, in ticker order.
    pub fn list_events(&self, series: Option<&str>, status: Option<&str>) -> Vec<Value> {
        let mut events: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut series_of = BTreeMap::new();
        for m in self.markets.values() {
            series_of.insert(m.spec.event_ticker.clone(), m.spec.series_ticker.clone());
        }
        for m in self.list_markets(series, status, true) {
            let e = m["event_ticker"].as_str().unwrap_or_default().to_string();
            events.entry(e).or_default().push(m);
        }
        events
            .into_iter()
            .map(|(e, markets)| {
                let title = self
                    .events
                    .get(&e)
                    .map_or_else(|| format!("Event {e}"), |m| m.title.clone());
                json!({"event_ticker": e, "series_ticker": series_of[&e], "title": title,
                       "mutually_exclusive": true, "markets": markets})
            })
            .collect()
    }

    /// `GET /markets/{ticker}`.
    pub fn market(&self, ticker: &str) -> Option<Value> {
        self.markets.get(ticker).map(|m| m.spec.json())
    }

    /// `GET /markets/{ticker}/orderbook`: bids only, ascending, best last.
    pub fn orderbook(&self, ticker: &str) -> Option<Value> {
        let m = self.markets.get(ticker)?;
        let mut yes: BTreeMap<Price, Qty> = BTreeMap::new();
        let mut no: BTreeMap<Price, Qty> = BTreeMap::new();
        for r in &m.resting {
            if r.bid {
                *yes.entry(r.yes_price).or_default() += r.remaining;
            } else {
                *no.entry(r.yes_price.complement()).or_default() += r.remaining;
            }
        }
        let side = |b: BTreeMap<Price, Qty>| -> Vec<Value> {
            b.into_iter()
                .filter(|(_, q)| q.0 > 0)
                .map(|(p, q)| json!([p.to_decimal(4), q.to_decimal(2)]))
                .collect()
        };
        Some(json!({"orderbook_fp": {"yes_dollars": side(yes), "no_dollars": side(no)}}))
    }

    /// Whether a client order id was ever used.
    pub fn coid_used(&self, coid: &str) -> bool {
        self.orders.iter().any(|o| o.client_order_id == coid)
    }

    /// Places a validated order: match, charge, rest or cancel the remainder.
    pub fn place(&mut self, o: NewOrder, now_ms: i64) -> Result<Value, Reject> {
        let Some(m) = self.markets.get(&o.ticker) else {
            return Err(err(404, "market_not_found", "market not found"));
        };
        if m.spec.status != "active" {
            return Err(err(409, "market_closed", "market is not open for trading"));
        }
        if !m.spec.tick_ok(o.yes_price) {
            return Err(err(
                400,
                "invalid_price",
                "price is not on the market's tick grid",
            ));
        }
        if !m.spec.fractional_trading_enabled && o.count.0 % 100 != 0 {
            return Err(err(
                400,
                "invalid_order",
                "fractional contracts are not enabled on this market",
            ));
        }
        if self.coid_used(&o.client_order_id) {
            return Err(err(
                409,
                "order_already_exists",
                "an order with this client_order_id already exists",
            ));
        }
        let worst =
            cost_of(o.bid, o.yes_price, o.count) + fee_to_usd(fee_exact(o.yes_price, o.count));
        if worst > self.cash {
            return Err(err(400, "insufficient_balance", "insufficient balance"));
        }
        // Crossing liquidity, best first, then time priority.
        let mut idx: Vec<usize> = (0..m.resting.len())
            .filter(|&i| {
                let r = &m.resting[i];
                r.bid != o.bid
                    && if o.bid {
                        r.yes_price <= o.yes_price
                    } else {
                        r.yes_price >= o.yes_price
                    }
            })
            .collect();
        idx.sort_by(|&a, &b| {
            let (ra, rb) = (&m.resting[a], &m.resting[b]);
            let by_price = if o.bid {
                ra.yes_price.cmp(&rb.yes_price)
            } else {
                rb.yes_price.cmp(&ra.yes_price)
            };
            by_price.then(ra.seq.cmp(&rb.seq))
        });
        if o.post_only && !idx.is_empty() {
            return Err(err(
                400,
                "post_only_cross",
                "post-only order would cross the book",
            ));
        }
        // Self-trade prevention `taker_at_cross`: stop at our own resting order.
        let mut takeable = Vec::new();
        for &i in &idx {
            if m.resting[i].order_id.is_some() {
                break;
            }
            takeable.push(i);
        }
        let available: Qty = takeable.iter().map(|&i| m.resting[i].remaining).sum();
        let order_id = format!("ord-{:08}", self.seq + 1);
        let mut left = o.count;
        let mut trades = Vec::new();
        if !(o.tif == "fill_or_kill" && available < o.count) {
            for &i in &takeable {
                if left.0 == 0 {
                    break;
                }
                let take = m.resting[i].remaining.min(left);
                trades.push((i, m.resting[i].yes_price, take));
                left -= take;
            }
        }
        let _ = self.next();
        let m = self
            .markets
            .get_mut(&o.ticker)
            .expect("market checked above");
        let mut fee_units = 0i128;
        let mut cost = Usd::ZERO;
        let mut yes_notional = Usd::ZERO;
        let filled: Qty = trades.iter().map(|t| t.2).sum();
        for (i, px, take) in &trades {
            m.resting[*i].remaining -= *take;
            fee_units += fee_exact(*px, *take);
            cost += cost_of(o.bid, *px, *take);
            yes_notional += take.notional(*px, plugin_api::Rounding::HalfUp);
        }
        m.resting.retain(|r| r.remaining.0 > 0);
        let fee = fee_to_usd(fee_units);
        // Per-fill fees for the fill records: split proportionally, remainder on the last.
        let mut fee_left = fee;
        for (n, (_, px, take)) in trades.iter().enumerate() {
            let f = if n + 1 == trades.len() {
                fee_left
            } else {
                Usd((fee.0 as i128 * take.0 as i128 / filled.0.max(1) as i128) as i64)
            };
            fee_left -= f;
            let fid = format!("fill-{:08}", self.seq + n as u64 + 1);
            self.fills.push(FillRec {
                fill_id: fid,
                order_id: order_id.clone(),
                ticker: o.ticker.clone(),
                bid: o.bid,
                yes_price: *px,
                count: *take,
                fee: f,
                ts_ms: now_ms,
            });
        }
        self.seq += trades.len() as u64;
        self.cash -= cost + fee;
        self.apply_position(&o.ticker, o.bid, filled, cost);
        let rests = o.tif == "good_till_canceled" && left.0 > 0;
        if rests {
            self.cash -= cost_of(o.bid, o.yes_price, left);
            let seq = self.next();
            let m = self
                .markets
                .get_mut(&o.ticker)
                .expect("market checked above");
            m.resting.push(Resting {
                order_id: Some(order_id.clone()),
                bid: o.bid,
                yes_price: o.yes_price,
                remaining: left,
                seq,
            });
        }
        let status = if filled == o.count {
            "executed"
        } else if rests {
            "resting"
        } else {
            "canceled"
        };
        self.orders.push(OrderRec {
            order_id: order_id.clone(),
            client_order_id: o.client_order_id.clone(),
            ticker: o.ticker.clone(),
            bid: o.bid,
            yes_price: o.yes_price,
            initial: o.count,
            filled,
            remaining: if rests { left } else { Qty::ZERO },
            status: status.into(),
            time_in_force: o.tif.clone(),
            taker_cost: cost,
            maker_cost: Usd::ZERO,
            taker_fees: fee,
            created_ms: now_ms,
            body: o.body.clone(),
        });
        let mut resp = json!({
            "order_id": order_id, "client_order_id": o.client_order_id,
            "fill_count": filled.to_decimal(2), "remaining_count": (if rests { left } else { Qty::ZERO }).to_decimal(2),
            "ts_ms": now_ms,
        });
        if filled.0 > 0 {
            let avg = Price((yes_notional.0 as i128 * 100 / filled.0 as i128) as i64);
            let avg_fee = Usd((fee.0 as i128 * 100 / filled.0 as i128) as i64);
            resp["average_fill_price"] = json!(avg.to_decimal(4));
            resp["average_fee_paid"] = json!(avg_fee.to_decimal(4));
        }
        Ok(resp)
    }

    fn apply_position(&mut self, ticker: &str, bid: bool, qty: Qty, cost: Usd) {
        if qty.0 == 0 {
            return;
        }
        let e =
            self.positions
                .entry(ticker.to_string())
                .or_insert((Qty::ZERO, Usd::ZERO, Usd::ZERO));
        let signed = if bid { qty } else { -qty };
        let before = e.0;
        // Opposite sides net out: each YES+NO pair is redeemed for $1 at once.
        let closing = if before.0 != 0 && (before.0 > 0) != (signed.0 > 0) {
            Qty(before.0.abs().min(qty.0))
        } else {
            Qty::ZERO
        };
        if closing.0 > 0 {
            self.cash += closing.payout(Price::ONE);
            let basis = Usd((e.1 .0 as i128 * closing.0 as i128 / before.0.abs() as i128) as i64);
            e.1 -= basis;
            let new_cost =
                Usd((cost.0 as i128 * (qty.0 - closing.0) as i128 / qty.0 as i128) as i64);
            e.1 += new_cost;
        } else {
            e.1 += cost;
        }
        e.0 += signed;
        e.2 += cost;
    }

    /// Cancels a resting user order; `None` when it is unknown or no longer resting.
    pub fn cancel(&mut self, order_id: &str, ticker: &str, now_ms: i64) -> Result<Value, Reject> {
        let Some(o) = self.orders.iter_mut().find(|o| o.order_id == order_id) else {
            return Err(err(404, "not_found", "order not found"));
        };
        if o.ticker != ticker {
            return Err(err(
                400,
                "invalid_parameters",
                "market_ticker does not match the order",
            ));
        }
        if o.status != "resting" {
            return Err(err(404, "not_found", "order is not resting"));
        }
        let reduced = o.remaining;
        o.remaining = Qty::ZERO;
        o.status = "canceled".into();
        let (bid, yp, coid) = (o.bid, o.yes_price, o.client_order_id.clone());
        self.cash += cost_of(bid, yp, reduced);
        if let Some(m) = self.markets.get_mut(ticker) {
            m.resting
                .retain(|r| r.order_id.as_deref() != Some(order_id));
        }
        Ok(
            json!({"order_id": order_id, "client_order_id": coid, "reduced_by": reduced.to_decimal(2), "ts_ms": now_ms}),
        )
    }

    /// The market of an order.
    pub fn ticker_of(&self, order_id: &str) -> Option<String> {
        self.orders
            .iter()
            .find(|o| o.order_id == order_id)
            .map(|o| o.ticker.clone())
    }

    /// `GET /portfolio/orders/{id}`.
    pub fn order_json(&self, order_id: &str) -> Option<Value> {
        self.orders
            .iter()
            .find(|o| o.order_id == order_id)
            .map(OrderRec::json)
    }

    /// `GET /portfolio/orders` (filtered, newest first like Kalshi).
    pub fn orders_json(&self, ticker: Option<&str>, status: Option<&str>) -> Vec<Value> {
        self.orders
            .iter()
            .rev()
            .filter(|o| ticker.is_none_or(|t| o.ticker == t))
            .filter(|o| status.is_none_or(|s| o.status == s))
            .map(OrderRec::json)
            .collect()
    }

    /// `GET /portfolio/fills`.
    pub fn fills_json(&self, ticker: Option<&str>, min_ts: Option<i64>) -> Vec<Value> {
        self.fills
            .iter()
            .rev()
            .filter(|f| ticker.is_none_or(|t| f.ticker == t))
            .filter(|f| min_ts.is_none_or(|s| f.ts_ms / 1000 >= s))
            .map(FillRec::json)
            .collect()
    }

    /// Determines and settles a market at `result` (`yes` or `no`): the position pays $1 per
    /// winning contract into cash, a settlement record is written (kalshi.md §3.2 shape) and the
    /// market shows `finalized` with its result.
    pub fn settle(&mut self, ticker: &str, result: &str, now_ms: i64) -> bool {
        let yes_wins = result == "yes";
        let Some(m) = self.markets.get_mut(ticker) else {
            return false;
        };
        m.spec.status = "finalized".into();
        m.spec.result = result.to_string();
        m.spec.settlement_value_dollars = Some(if yes_wins { "1.0000" } else { "0.0000" }.into());
        m.resting.clear();
        let (qty, basis, _) =
            self.positions
                .remove(ticker)
                .unwrap_or((Qty::ZERO, Usd::ZERO, Usd::ZERO));
        let (yes, no) = if qty.0 >= 0 {
            (qty, Qty::ZERO)
        } else {
            (Qty::ZERO, -qty)
        };
        let won = if yes_wins { yes } else { no };
        let revenue = won.payout(Price::ONE);
        self.cash += revenue;
        let (yes_cost, no_cost) = if qty.0 >= 0 {
            (basis, Usd::ZERO)
        } else {
            (Usd::ZERO, basis)
        };
        let event = ticker.rsplit_once('-').map_or(ticker, |(e, _)| e);
        self.settlements.push((
            now_ms,
            json!({
                "ticker": ticker, "event_ticker": event, "market_result": result,
                "yes_count_fp": yes.to_decimal(2), "yes_total_cost_dollars": yes_cost.to_decimal(4),
                "no_count_fp": no.to_decimal(2), "no_total_cost_dollars": no_cost.to_decimal(4),
                "revenue": revenue.0.div_euclid(10_000), "value": if yes_wins { 100 } else { 0 },
                "fee_cost": "0.0000", "settled_time": rfc3339(now_ms), "exchange_index": 0,
            }),
        ));
        true
    }

    /// `GET /events/{event_ticker}`, for events that have a market here.
    pub fn event_json(&self, event: &str) -> Option<Value> {
        let m = self
            .markets
            .values()
            .find(|m| m.spec.event_ticker == event)?;
        Some(json!({"event": {
            "event_ticker": event, "series_ticker": m.spec.series_ticker, "title": m.spec.title,
            "mutually_exclusive": true, "fee_type_override": null, "fee_multiplier_override": null,
        }, "markets": []}))
    }

    /// `GET /series/{series_ticker}`, for series that have a market here.
    pub fn series_json(&self, series: &str) -> Option<Value> {
        self.markets
            .values()
            .find(|m| m.spec.series_ticker == series)?;
        let (fee_type, mult) = self
            .series_fees
            .get(series)
            .cloned()
            .unwrap_or_else(|| ("quadratic".into(), json!(1)));
        Some(json!({"series": {
            "ticker": series, "frequency": "custom", "title": format!("Series {series}"),
            "category": "Sports", "fee_type": fee_type, "fee_multiplier": mult,
        }}))
    }

    /// `GET /portfolio/settlements` (newest first), filtered by ticker and `min_ts` seconds.
    pub fn settlements_json(&self, ticker: Option<&str>, min_ts_s: Option<i64>) -> Vec<Value> {
        self.settlements
            .iter()
            .rev()
            .filter(|(_, s)| ticker.is_none_or(|t| s["ticker"] == t))
            .filter(|(ms, _)| min_ts_s.is_none_or(|min| ms / 1000 >= min))
            .map(|(_, s)| s.clone())
            .collect()
    }

    /// `GET /portfolio/positions` market positions.
    pub fn positions_json(&self) -> Vec<Value> {
        self.positions
            .iter()
            .filter(|(_, p)| p.0 .0 != 0)
            .map(|(t, p)| json!({
                "ticker": t, "position_fp": p.0.to_decimal(2), "market_exposure_dollars": p.1.to_decimal(4),
                "total_traded_dollars": p.2.to_decimal(4), "realized_pnl_dollars": "0.0000", "fees_paid_dollars": "0.0000",
            }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_482_000_000), "2026-11-24T01:00:00Z");
    }

    #[test]
    fn fee_rounds_up_to_the_cent() {
        assert_eq!(
            fee_to_usd(fee_exact(Price(500_000), Qty::shares(10))),
            Usd(180_000)
        );
        assert_eq!(
            fee_to_usd(fee_exact(Price(500_000), Qty::shares(1))),
            Usd(20_000)
        );
    }
}

//! Orders and fills: mapping buy/sell × yes/no onto Kalshi's single YES book (V2 endpoints,
//! kalshi.md §3.3) and mapping Kalshi orders and fills back.

use plugin_api::{
    Fill, FillStatus, OrderRequest, OrderState, OrderStatus, Price, Qty, Rounding, Side,
    TimeInForce, Usd,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::book::{count, dollars, Instrument, Outcome};
use crate::errors::KalshiError;
use crate::num;

/// A side of Kalshi's YES book.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookSide {
    /// Buy YES (equivalently sell NO).
    Bid,
    /// Sell YES (equivalently buy NO).
    Ask,
}

impl BookSide {
    /// `bid` or `ask`.
    pub fn as_str(self) -> &'static str {
        match self {
            BookSide::Bid => "bid",
            BookSide::Ask => "ask",
        }
    }
}

/// Maps an intent on one outcome onto the YES book: buy YES @p → bid @p; sell YES @p → ask @p;
/// buy NO @q → ask @(1−q); sell NO @q → bid @(1−q).
pub fn to_book(outcome: Outcome, side: Side, price: Price) -> (BookSide, Price) {
    match (outcome, side) {
        (Outcome::Yes, Side::Buy) => (BookSide::Bid, price),
        (Outcome::Yes, Side::Sell) => (BookSide::Ask, price),
        (Outcome::No, Side::Buy) => (BookSide::Ask, price.complement()),
        (Outcome::No, Side::Sell) => (BookSide::Bid, price.complement()),
    }
}

/// The inverse of [`to_book`]: how a YES-book order looks from `outcome`'s point of view.
pub fn from_book(outcome: Outcome, book: BookSide, yes_price: Price) -> (Side, Price) {
    match (outcome, book) {
        (Outcome::Yes, BookSide::Bid) => (Side::Buy, yes_price),
        (Outcome::Yes, BookSide::Ask) => (Side::Sell, yes_price),
        (Outcome::No, BookSide::Ask) => (Side::Buy, yes_price.complement()),
        (Outcome::No, BookSide::Bid) => (Side::Sell, yes_price.complement()),
    }
}

/// The outcome an order or fill is shown as when the caller named no instrument: a bid buys
/// YES and an ask buys NO (on Kalshi, selling YES and buying NO are the same trade).
pub fn default_view(book: BookSide) -> Outcome {
    match book {
        BookSide::Bid => Outcome::Yes,
        BookSide::Ask => Outcome::No,
    }
}

/// Whether a client order id is acceptable to Kalshi: ≤ 64 chars of `[-\w:+=/]`.
pub fn valid_client_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'+' | b'=' | b'/')
        })
}

/// Finest price precision Kalshi accepts in requests (4 decimals, kalshi.md §3).
const PRICE_UNIT: i64 = 100;

/// What a placement needs to remember to interpret the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placed {
    /// The instrument as the caller named it.
    pub ins: Instrument,
    /// Our idempotency key.
    pub client_order_id: String,
    /// Caller's side.
    pub side: Side,
    /// Caller's limit price (in the instrument's terms).
    pub price: Price,
    /// Shares ordered.
    pub qty: Qty,
    /// Whether the order could rest (GTC/GTD) or not (IOC/FOK).
    pub can_rest: bool,
}

/// Builds the JSON body of `POST /portfolio/events/orders`.
pub fn place_body(
    order: &OrderRequest,
    ins: &Instrument,
    now_ms: i64,
) -> Result<(Vec<u8>, Placed), KalshiError> {
    if !valid_client_order_id(&order.client_order_id) {
        return Err(KalshiError::Input(format!(
            "client_order_id {:?} must be 1–64 characters of letters, digits and -_:+=/",
            order.client_order_id
        )));
    }
    if order.price <= Price::ZERO || order.price >= Price::ONE {
        return Err(KalshiError::Input(format!(
            "price {} must be strictly between 0 and 1",
            order.price
        )));
    }
    if order.price.0 % PRICE_UNIT != 0 {
        return Err(KalshiError::Input(format!(
            "price {} has more than 4 decimals, which Kalshi does not accept",
            order.price
        )));
    }
    if order.qty.0 <= 0 {
        return Err(KalshiError::Input(format!(
            "qty {} must be positive",
            order.qty
        )));
    }
    // `count` goes out with 2 decimals: a finer size would be rounded by the formatting.
    if order.qty.0 % crate::markets::CENT_CONTRACT.0 != 0 {
        return Err(KalshiError::Input(format!(
            "qty {} has more than 2 decimals, which Kalshi does not accept",
            order.qty
        )));
    }
    let (book, yes_price) = to_book(ins.outcome, order.side, order.price);
    let mut body = Map::new();
    body.insert("ticker".into(), json!(ins.ticker));
    body.insert("client_order_id".into(), json!(order.client_order_id));
    body.insert("side".into(), json!(book.as_str()));
    body.insert("count".into(), json!(order.qty.to_decimal(2)));
    body.insert("price".into(), json!(yes_price.to_decimal(4)));
    // The incoming order is cancelled on a self-cross: an arb leg must never trade with our
    // own resting quote, and partial fills already made stand.
    body.insert("self_trade_prevention_type".into(), json!("taker_at_cross"));
    let (tif, can_rest) = match order.tif {
        TimeInForce::Fok => ("fill_or_kill", false),
        TimeInForce::Ioc => ("immediate_or_cancel", false),
        TimeInForce::Gtc => ("good_till_canceled", true),
        TimeInForce::Gtd { expires_ms } => {
            // Kalshi takes whole seconds; round down so the order never outlives the request.
            let secs = expires_ms.div_euclid(1000);
            if secs.checked_mul(1000).is_none_or(|ms| ms <= now_ms) {
                return Err(KalshiError::Input(format!(
                    "GTD expiry {expires_ms} ms is not in the future"
                )));
            }
            body.insert("expiration_time".into(), json!(secs));
            ("good_till_canceled", true)
        }
        _ => return Err(KalshiError::Input("unsupported time in force".into())),
    };
    body.insert("time_in_force".into(), json!(tif));
    if order.post_only {
        body.insert("post_only".into(), json!(true));
    }
    let bytes = serde_json::to_vec(&Value::Object(body))
        .map_err(|e| KalshiError::Input(format!("cannot encode order: {e}")))?;
    Ok((
        bytes,
        Placed {
            ins: ins.clone(),
            client_order_id: order.client_order_id.clone(),
            side: order.side,
            price: order.price,
            qty: order.qty,
            can_rest,
        },
    ))
}

fn field<'a>(o: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| o.get(*n).filter(|v| !v.is_null()))
}

/// An optional count; orders and fills never have negative ones.
fn opt_count(o: &Value, names: &[&str], what: &'static str) -> Result<Option<Qty>, KalshiError> {
    field(o, names)
        .map(|v| count(v, what).and_then(|q| num::non_neg_qty(q, what)))
        .transpose()
}

/// An optional dollar string; costs and fees are never negative.
fn opt_usd(o: &Value, names: &[&str], what: &'static str) -> Result<Option<Usd>, KalshiError> {
    field(o, names)
        .map(|v| match v {
            Value::String(s) => Usd::parse(s)
                .map_err(|e| KalshiError::parse(what, e.message))
                .and_then(|u| num::non_neg_usd(u, what)),
            other => Err(KalshiError::parse(
                what,
                format!("expected a dollar string, got {other}"),
            )),
        })
        .transpose()
}

fn str_field(o: &Value, names: &[&str]) -> Option<String> {
    field(o, names)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The V2 create response, reduced to what the engine needs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    /// Kalshi's order id.
    pub order_id: String,
    /// Contracts filled at once.
    pub filled: Qty,
    /// Contracts still resting.
    pub remaining: Qty,
    /// Average YES-book fill price, when something filled.
    pub avg_price: Option<Price>,
    /// Average fee per contract, when something filled.
    pub avg_fee: Option<Usd>,
}

/// Parses `{"order_id","client_order_id","fill_count","remaining_count","average_fill_price",
/// "average_fee_paid","ts_ms"}`.
pub fn parse_created(v: &Value) -> Result<Created, KalshiError> {
    let order_id = str_field(v, &["order_id"])
        .ok_or_else(|| KalshiError::parse("create-order response", "no `order_id`"))?;
    let filled = opt_count(v, &["fill_count", "fill_count_fp"], "fill_count")?.unwrap_or(Qty::ZERO);
    let remaining = opt_count(
        v,
        &["remaining_count", "remaining_count_fp"],
        "remaining_count",
    )?
    .unwrap_or(Qty::ZERO);
    let avg_price = field(v, &["average_fill_price", "average_fill_price_dollars"])
        .map(|p| {
            dollars(p, "average_fill_price").and_then(|p| num::unit_price(p, "average_fill_price"))
        })
        .transpose()?;
    let avg_fee = opt_usd(
        v,
        &["average_fee_paid", "average_fee_paid_dollars"],
        "average_fee_paid",
    )?;
    let c = Created {
        order_id,
        filled,
        remaining,
        avg_price,
        avg_fee,
    };
    // Everything derived from it later must fit: check once here, where a failure still
    // leads to a lookup of the order rather than an error about an order that exists.
    amounts_from_created(&c, Price::ONE)?;
    Ok(c)
}

/// Notional at `price` (or the average) and total fees of a create response, checked.
fn amounts_from_created(c: &Created, price: Price) -> Result<(Usd, Usd), KalshiError> {
    let notional = num::notional(
        c.filled,
        c.avg_price.unwrap_or(price),
        Rounding::HalfUp,
        "fill_count",
    )?;
    // `average_fee_paid` is per contract; the exact total is on the order (fetched after).
    let fees = match c.avg_fee {
        Some(f) => num::times(c.filled, f.0, Rounding::Down, "average_fee_paid")?,
        None => Usd::ZERO,
    };
    Ok((notional, fees))
}

/// The order state implied by a create response alone (used when the follow-up read fails, or
/// when nothing filled so no read is needed).
pub fn status_from_created(p: &Placed, c: &Created) -> Result<OrderStatus, KalshiError> {
    let state = if c.remaining.0 > 0 {
        if c.filled.0 > 0 {
            OrderState::PartiallyFilled
        } else {
            OrderState::Open
        }
    } else if c.filled >= p.qty {
        OrderState::Filled
    } else {
        OrderState::Cancelled
    };
    let (book, _) = to_book(p.ins.outcome, p.side, p.price);
    // The average is quoted on the YES book; convert to the caller's outcome.
    let px = match c.avg_price {
        Some(yes_avg) => from_book(p.ins.outcome, book, yes_avg).1,
        None => p.price,
    };
    let (notional, fees) = amounts_from_created(
        &Created {
            avg_price: None,
            ..c.clone()
        },
        px,
    )?;
    let reason = (state == OrderState::Cancelled).then(|| {
        if c.filled.0 == 0 {
            "not filled; the remainder was cancelled (IOC/FOK)".to_string()
        } else {
            "partly filled; the remainder was cancelled (IOC)".to_string()
        }
    });
    Ok(OrderStatus {
        order_id: c.order_id.clone(),
        client_order_id: Some(p.client_order_id.clone()),
        instrument: p.ins.to_string(),
        side: p.side,
        price: p.price,
        qty: p.qty,
        filled_qty: c.filled,
        filled_notional: notional,
        fees,
        state,
        reason,
    })
}

fn book_side(o: &Value, what: &'static str) -> Result<BookSide, KalshiError> {
    match o.get("book_side").and_then(Value::as_str) {
        Some("bid") => return Ok(BookSide::Bid),
        Some("ask") => return Ok(BookSide::Ask),
        _ => {}
    }
    // Deprecated pre-V2 fields, still seen on old orders and fixtures.
    match (
        o.get("side").and_then(Value::as_str),
        o.get("action").and_then(Value::as_str),
    ) {
        (Some("yes"), Some("buy")) | (Some("no"), Some("sell")) => Ok(BookSide::Bid),
        (Some("yes"), Some("sell")) | (Some("no"), Some("buy")) => Ok(BookSide::Ask),
        _ => Err(KalshiError::parse(what, "no `book_side` (bid|ask)")),
    }
}

fn yes_price(o: &Value, what: &'static str) -> Result<Price, KalshiError> {
    if let Some(p) = field(o, &["yes_price_dollars"]) {
        return dollars(p, what).and_then(|p| num::unit_price(p, "yes_price_dollars"));
    }
    if let Some(p) = field(o, &["no_price_dollars"]) {
        return dollars(p, what)
            .and_then(|p| num::unit_price(p, "no_price_dollars"))
            .map(Price::complement);
    }
    Err(KalshiError::parse(what, "no `yes_price_dollars`"))
}

/// Maps a Kalshi Order object. `view` is the instrument the caller asked about (its outcome
/// decides buy/sell wording); `None` uses [`default_view`].
pub fn parse_order(o: &Value, view: Option<&Instrument>) -> Result<OrderStatus, KalshiError> {
    const W: &str = "order";
    let order_id =
        str_field(o, &["order_id"]).ok_or_else(|| KalshiError::parse(W, "no `order_id`"))?;
    let ticker = str_field(o, &["ticker", "market_ticker"])
        .ok_or_else(|| KalshiError::parse(W, "no `ticker`"))?;
    let book = book_side(o, W)?;
    let yp = yes_price(o, W)?;
    let outcome = match view {
        Some(v) if v.ticker == ticker => v.outcome,
        _ => default_view(book),
    };
    let (side, price) = from_book(outcome, book, yp);
    let filled =
        opt_count(o, &["fill_count_fp", "fill_count"], "fill_count_fp")?.unwrap_or(Qty::ZERO);
    let remaining = opt_count(
        o,
        &["remaining_count_fp", "remaining_count"],
        "remaining_count_fp",
    )?;
    let qty = match opt_count(
        o,
        &["initial_count_fp", "initial_count"],
        "initial_count_fp",
    )? {
        Some(q) => q,
        None => num::add_qty(filled, remaining.unwrap_or(Qty::ZERO), "remaining_count_fp")?,
    };
    let status = o.get("status").and_then(Value::as_str).unwrap_or("");
    let state = match status {
        "executed" => OrderState::Filled,
        "canceled" | "cancelled" => OrderState::Cancelled,
        // `resting`, `pending` and anything new are treated as live: assuming an order is dead
        // when it is not is the dangerous mistake.
        _ if filled.0 > 0 => OrderState::PartiallyFilled,
        _ => OrderState::Open,
    };
    // Fill costs are what the owner of the order's outcome side paid (YES for a bid, NO for an
    // ask). Seen as a sale of the other outcome, the proceeds are $1 per contract minus that.
    let cost = num::add_usd(
        opt_usd(o, &["taker_fill_cost_dollars"], "taker_fill_cost_dollars")?.unwrap_or(Usd::ZERO),
        opt_usd(o, &["maker_fill_cost_dollars"], "maker_fill_cost_dollars")?.unwrap_or(Usd::ZERO),
        "maker_fill_cost_dollars",
    )?;
    let has_cost = field(o, &["taker_fill_cost_dollars", "maker_fill_cost_dollars"]).is_some();
    let filled_notional = if !has_cost {
        num::notional(filled, price, Rounding::HalfUp, "fill_count_fp")?
    } else if side == Side::Buy {
        cost
    } else {
        let payout = num::notional(filled, Price::ONE, Rounding::Down, "fill_count_fp")?;
        num::sub_usd(payout, cost, "taker_fill_cost_dollars")?
    };
    let fees = num::add_usd(
        opt_usd(o, &["taker_fees_dollars"], "taker_fees_dollars")?.unwrap_or(Usd::ZERO),
        opt_usd(o, &["maker_fees_dollars"], "maker_fees_dollars")?.unwrap_or(Usd::ZERO),
        "maker_fees_dollars",
    )?;
    Ok(OrderStatus {
        order_id,
        client_order_id: str_field(o, &["client_order_id"]),
        instrument: Instrument::with_outcome(&ticker, outcome).to_string(),
        side,
        price,
        qty,
        filled_qty: filled,
        filled_notional,
        fees,
        state,
        reason: None,
    })
}

/// Maps a Kalshi fill (`GET /portfolio/fills`).
pub fn parse_fill(f: &Value, view: Option<&Instrument>) -> Result<Fill, KalshiError> {
    const W: &str = "fill";
    let fill_id = str_field(f, &["fill_id", "trade_id"])
        .ok_or_else(|| KalshiError::parse(W, "no `fill_id`"))?;
    let order_id =
        str_field(f, &["order_id"]).ok_or_else(|| KalshiError::parse(W, "no `order_id`"))?;
    let ticker = str_field(f, &["ticker", "market_ticker"])
        .ok_or_else(|| KalshiError::parse(W, "no `ticker`"))?;
    let book = book_side(f, W)?;
    let yp = yes_price(f, W)?;
    let outcome = match view {
        Some(v) if v.ticker == ticker => v.outcome,
        _ => default_view(book),
    };
    let (side, price) = from_book(outcome, book, yp);
    let qty = opt_count(f, &["count_fp", "count"], "count_fp")?
        .ok_or_else(|| KalshiError::parse(W, "no `count_fp`"))?;
    let fee = opt_usd(f, &["fee_cost", "fee_cost_dollars"], "fee_cost")?.unwrap_or(Usd::ZERO);
    let ts_ms = match f.get("ts").and_then(Value::as_i64) {
        Some(s) => num::secs_to_ms(s, "ts")?,
        None => f
            .get("created_time")
            .and_then(Value::as_str)
            .and_then(crate::markets::rfc3339_ms)
            .unwrap_or(0),
    };
    Ok(Fill {
        fill_id,
        order_id,
        client_order_id: None,
        instrument: Instrument::with_outcome(&ticker, outcome).to_string(),
        side,
        price,
        qty,
        fee,
        ts_ms,
        // Kalshi is centrally cleared: a reported fill is final.
        status: FillStatus::Confirmed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(ins: &str, side: Side, price: i64) -> (OrderRequest, Instrument) {
        (
            OrderRequest {
                client_order_id: "pmx-t1-a0".into(),
                instrument: ins.into(),
                side,
                price: Price(price),
                qty: Qty::parse("10.50").unwrap(),
                tif: TimeInForce::Fok,
                post_only: false,
            },
            Instrument::parse(ins).unwrap(),
        )
    }

    #[test]
    fn an_extreme_gtd_expiry_is_refused_not_overflowed() {
        for expires_ms in [i64::MIN, i64::MIN + 1, -1] {
            let (mut o, i) = req("T:yes", Side::Buy, 430_000);
            o.tif = TimeInForce::Gtd { expires_ms };
            let e = place_body(&o, &i, 1_764_000_000_000).unwrap_err();
            assert!(e.to_string().contains("GTD expiry"), "{e}");
        }
    }

    fn body_of(ins: &str, side: Side, price: i64) -> Value {
        let (o, i) = req(ins, side, price);
        serde_json::from_slice(&place_body(&o, &i, 0).unwrap().0).unwrap()
    }

    #[test]
    fn all_four_intents_map_onto_the_yes_book() {
        let b = body_of("T:yes", Side::Buy, 560_000);
        assert_eq!(
            (b["side"].as_str(), b["price"].as_str()),
            (Some("bid"), Some("0.5600"))
        );
        let b = body_of("T:yes", Side::Sell, 560_000);
        assert_eq!(
            (b["side"].as_str(), b["price"].as_str()),
            (Some("ask"), Some("0.5600"))
        );
        let b = body_of("T:no", Side::Buy, 430_000);
        assert_eq!(
            (b["side"].as_str(), b["price"].as_str()),
            (Some("ask"), Some("0.5700"))
        );
        let b = body_of("T:no", Side::Sell, 430_000);
        assert_eq!(
            (b["side"].as_str(), b["price"].as_str()),
            (Some("bid"), Some("0.5700"))
        );
        assert_eq!(b["count"], "10.50");
        assert_eq!(b["ticker"], "T");
        assert_eq!(b["client_order_id"], "pmx-t1-a0");
        assert_eq!(b["time_in_force"], "fill_or_kill");
        assert_eq!(b["self_trade_prevention_type"], "taker_at_cross");
        assert!(
            b.get("type").is_none() && b.get("action").is_none() && b.get("yes_price").is_none()
        );
        // Round trip.
        for o in [Outcome::Yes, Outcome::No] {
            for s in [Side::Buy, Side::Sell] {
                let (bs, yp) = to_book(o, s, Price(310_000));
                assert_eq!(from_book(o, bs, yp), (s, Price(310_000)));
            }
        }
    }

    #[test]
    fn tif_and_validation() {
        let (mut o, i) = req("T:yes", Side::Buy, 500_000);
        o.tif = TimeInForce::Gtd {
            expires_ms: 1_700_000_060_500,
        };
        let b: Value =
            serde_json::from_slice(&place_body(&o, &i, 1_700_000_000_000).unwrap().0).unwrap();
        assert_eq!(b["time_in_force"], "good_till_canceled");
        assert_eq!(b["expiration_time"], 1_700_000_060);
        assert!(place_body(&o, &i, 1_800_000_000_000).is_err());
        o.tif = TimeInForce::Ioc;
        let b: Value = serde_json::from_slice(&place_body(&o, &i, 0).unwrap().0).unwrap();
        assert_eq!(b["time_in_force"], "immediate_or_cancel");
        o.tif = TimeInForce::Gtc;
        o.post_only = true;
        let b: Value = serde_json::from_slice(&place_body(&o, &i, 0).unwrap().0).unwrap();
        assert_eq!(b["time_in_force"], "good_till_canceled");
        assert_eq!(b["post_only"], true);
        o.price = Price(500_050);
        assert!(place_body(&o, &i, 0).is_err());
        o.price = Price::ONE;
        assert!(place_body(&o, &i, 0).is_err());
        o.price = Price(500_000);
        o.qty = Qty::ZERO;
        assert!(place_body(&o, &i, 0).is_err());
        // `count` has 2 decimals: a finer size is refused, never rounded by the formatting.
        o.qty = Qty::parse("10.3571").unwrap();
        let e = place_body(&o, &i, 0).unwrap_err().to_string();
        assert!(e.contains("more than 2 decimals"), "{e}");
        o.qty = Qty::parse("10.35").unwrap();
        let b: Value = serde_json::from_slice(&place_body(&o, &i, 0).unwrap().0).unwrap();
        assert_eq!(b["count"], "10.35");
        o.qty = Qty::shares(1);
        o.client_order_id = "has space".into();
        assert!(place_body(&o, &i, 0).is_err());
        o.client_order_id = "x".repeat(65);
        assert!(place_body(&o, &i, 0).is_err());
    }

    #[test]
    fn order_objects_map_back_in_the_callers_terms() {
        let o = json!({
            "order_id": "o1", "client_order_id": "c1", "ticker": "T", "book_side": "ask",
            "outcome_side": "no", "status": "resting", "yes_price_dollars": "0.5700",
            "fill_count_fp": "2.00", "remaining_count_fp": "8.50", "initial_count_fp": "10.50",
            "taker_fill_cost_dollars": "0.8600", "maker_fill_cost_dollars": "0.0000",
            "taker_fees_dollars": "0.0400", "maker_fees_dollars": "0.0000"
        });
        let s = parse_order(&o, Some(&Instrument::parse("T:no").unwrap())).unwrap();
        assert_eq!(
            (s.side, s.price, s.instrument.as_str()),
            (Side::Buy, Price(430_000), "T:no")
        );
        assert_eq!(
            (s.qty, s.filled_qty),
            (Qty::parse("10.50").unwrap(), Qty::shares(2))
        );
        assert_eq!(s.state, OrderState::PartiallyFilled);
        assert_eq!(s.filled_notional, Usd(860_000));
        assert_eq!(s.fees, Usd(40_000));
        let s = parse_order(&o, Some(&Instrument::parse("T:yes").unwrap())).unwrap();
        assert_eq!((s.side, s.price), (Side::Sell, Price(570_000)));
        assert_eq!(s.filled_notional, Usd(1_140_000));
        assert_eq!(parse_order(&o, None).unwrap().instrument, "T:no");
        let mut done = o.clone();
        done["status"] = json!("executed");
        assert_eq!(parse_order(&done, None).unwrap().state, OrderState::Filled);
        done["status"] = json!("canceled");
        assert_eq!(
            parse_order(&done, None).unwrap().state,
            OrderState::Cancelled
        );
        let legacy = json!({"order_id": "o", "ticker": "T", "side": "no", "action": "buy", "no_price_dollars": "0.4300", "status": "pending"});
        let s = parse_order(&legacy, None).unwrap();
        assert_eq!(
            (s.side, s.price, s.state),
            (Side::Buy, Price(430_000), OrderState::Open)
        );
        assert!(parse_order(&json!({"order_id": "o"}), None).is_err());
        assert!(parse_order(
            &json!({"order_id": "o", "ticker": "T", "book_side": "bid", "yes_price_dollars": 0.5}),
            None
        )
        .is_err());
    }

    #[test]
    fn create_responses() {
        let (o, i) = req("T:no", Side::Buy, 430_000);
        let (_, p) = place_body(&o, &i, 0).unwrap();
        let c = parse_created(&json!({"order_id": "o1", "client_order_id": "pmx-t1-a0", "fill_count": "10.50",
            "remaining_count": "0.00", "average_fill_price": "0.5600", "average_fee_paid": "0.0200", "ts_ms": 1})).unwrap();
        let s = status_from_created(&p, &c).unwrap();
        assert_eq!(s.state, OrderState::Filled);
        assert_eq!(s.filled_notional, Usd(4_620_000)); // 10.5 × 0.44
        assert_eq!(s.fees, Usd(210_000));
        let c = parse_created(
            &json!({"order_id": "o2", "fill_count": "0.00", "remaining_count": "0.00"}),
        )
        .unwrap();
        assert_eq!(
            status_from_created(&p, &c).unwrap().state,
            OrderState::Cancelled
        );
        assert!(parse_created(&json!({"fill_count": "1.00"})).is_err());
        assert!(parse_created(&json!({"order_id": "x", "fill_count": "1.001"})).is_err());
    }

    #[test]
    fn fills_map() {
        let f = json!({"fill_id": "f1", "order_id": "o1", "ticker": "T", "book_side": "bid", "outcome_side": "yes",
            "count_fp": "3.00", "yes_price_dollars": "0.4100", "no_price_dollars": "0.5900", "fee_cost": "0.0600", "ts": 1_700_000_000});
        let x = parse_fill(&f, None).unwrap();
        assert_eq!(
            (
                x.instrument.as_str(),
                x.side,
                x.price,
                x.qty,
                x.fee,
                x.ts_ms
            ),
            (
                "T:yes",
                Side::Buy,
                Price(410_000),
                Qty::shares(3),
                Usd(60_000),
                1_700_000_000_000
            )
        );
        let x = parse_fill(&f, Some(&Instrument::parse("T:no").unwrap())).unwrap();
        assert_eq!((x.side, x.price), (Side::Sell, Price(590_000)));
    }
}

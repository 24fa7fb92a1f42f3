//! CLOB response shapes: order placement, open orders, trades (fills), cancels, balances,
//! tick size, market metadata and resolution. Numbers are read as exact decimals.

use plugin_api::{
    FeeModel, Fill, FillStatus, OrderState, OrderStatus, Price, Qty, Rounding, Side, Usd,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::dec;

fn text(r: &Option<Box<RawValue>>) -> &str {
    r.as_deref().map(dec::raw_text).unwrap_or("")
}

/// `POST /order` response.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct PostOrderResp {
    /// Whether the order was accepted.
    #[serde(default)]
    pub success: Option<bool>,
    /// Error text when refused.
    #[serde(default)]
    pub error_msg: Option<String>,
    /// The venue order id (EIP-712 digest).
    #[serde(default, rename = "orderID")]
    pub order_id: Option<String>,
    /// live | matched | delayed | unmatched.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    making_amount: Option<Box<RawValue>>,
    #[serde(default)]
    taking_amount: Option<Box<RawValue>>,
}

impl PostOrderResp {
    /// Amounts in base units `(making, taking)`. Absent or `""` is zero (the venue sends `""`
    /// when nothing matched); anything else that is not a non-negative decimal is an error
    /// naming the field, since the order exists and its fill is then unknown.
    pub fn amounts(&self) -> Result<(i64, i64), String> {
        let one = |field: &str, r: &Option<Box<RawValue>>| {
            let t = text(r);
            if t.is_empty() {
                return Ok(0);
            }
            dec::micro(t).ok_or_else(|| format!("{field} {t:?} is not a non-negative amount"))
        };
        Ok((
            one("makingAmount", &self.making_amount)?,
            one("takingAmount", &self.taking_amount)?,
        ))
    }
}

/// `qty` shares at `price`, `None` if the result does not fit (never wraps).
pub fn notional(qty: Qty, price: Price) -> Option<Usd> {
    qty.checked_notional(price, Rounding::Down)
}

/// The taker fee of one fill (polymarket.md §5), `None` when the fee does not fit an `i64` of
/// micro-dollars (never saturated into a booked fee).
pub fn fill_fee(rate_ppm: u32, price: Price, qty: Qty) -> Option<Usd> {
    FeeModel::polymarket(rate_ppm)
        .try_taker_fee(price, qty)
        .ok()
}

/// Checked sum of dollar amounts.
pub fn sum_usd(a: Usd, b: Usd) -> Option<Usd> {
    a.0.checked_add(b.0).map(Usd)
}

/// An open-order object (`GET /data/order/{id}`, `/data/orders`).
#[derive(Deserialize, Debug)]
pub struct OpenOrder {
    /// Order id.
    pub id: String,
    /// Status (LIVE, MATCHED, CANCELED, …).
    #[serde(default)]
    pub status: String,
    /// Token id.
    #[serde(default)]
    pub asset_id: String,
    /// BUY or SELL.
    #[serde(default)]
    pub side: String,
    #[serde(default)]
    original_size: Option<Box<RawValue>>,
    #[serde(default)]
    size_matched: Option<Box<RawValue>>,
    #[serde(default)]
    price: Option<Box<RawValue>>,
    #[serde(default)]
    created_at: Option<Box<RawValue>>,
}

/// Side from the wire.
pub fn side_of(s: &str) -> Side {
    if s.eq_ignore_ascii_case("SELL") {
        Side::Sell
    } else {
        Side::Buy
    }
}

impl OpenOrder {
    /// When the order was created, unix seconds (the venue sends seconds; ms is tolerated).
    pub fn created_s(&self) -> Option<i64> {
        let v = dec::whole(text(&self.created_at))?;
        Some(if v > 100_000_000_000 { v / 1000 } else { v })
    }

    /// Converts to the neutral order status. The notional is the filled size at the order's
    /// limit price and the fee is zero: both are only what was asked, and the caller replaces
    /// them with the order's fills (the venue prices each fill at the maker's price and charges
    /// the fee per fill). An unreadable number is an error naming the field.
    pub fn to_status(&self, client_order_id: Option<String>) -> Result<OrderStatus, String> {
        let field = |name: &str, r: &Option<Box<RawValue>>| {
            format!(
                "order {}: {name} {:?} is not a valid decimal in range",
                self.id,
                text(r)
            )
        };
        let qty = dec::qty(text(&self.original_size))
            .ok_or_else(|| field("original_size", &self.original_size))?;
        let filled = dec::qty(text(&self.size_matched))
            .ok_or_else(|| field("size_matched", &self.size_matched))?;
        let price = dec::price(text(&self.price))
            .filter(|p| *p <= Price::ONE)
            .ok_or_else(|| field("price", &self.price))?;
        let filled_notional =
            notional(filled, price).ok_or_else(|| field("size_matched", &self.size_matched))?;
        let st = self
            .status
            .trim_start_matches("ORDER_STATUS_")
            .to_ascii_uppercase();
        let state = match st.as_str() {
            "LIVE" | "DELAYED" | "UNMATCHED" if filled.0 > 0 => OrderState::PartiallyFilled,
            "LIVE" | "DELAYED" | "UNMATCHED" => OrderState::Open,
            "MATCHED" => OrderState::Filled,
            "CANCELED_EXPIRED_ORDER" => OrderState::Expired,
            "INVALID" => OrderState::Rejected,
            s if s.starts_with("CANCEL") => OrderState::Cancelled,
            _ if filled.0 > 0 && filled >= qty => OrderState::Filled,
            _ => OrderState::Open,
        };
        let reason = match state {
            OrderState::Cancelled | OrderState::Rejected | OrderState::Expired => {
                Some(self.status.clone())
            }
            _ => None,
        };
        Ok(OrderStatus {
            order_id: self.id.clone(),
            client_order_id,
            instrument: self.asset_id.clone(),
            side: side_of(&self.side),
            price,
            qty,
            filled_qty: filled,
            filled_notional,
            fees: Usd::ZERO,
            state,
            reason,
        })
    }
}

/// Parses `GET /data/order/{id}`: `None` when the venue answers `null`/empty (unknown id).
pub fn parse_order(body: &[u8]) -> Result<Option<OpenOrder>, String> {
    let t = std::str::from_utf8(body).map_err(|e| e.to_string())?.trim();
    if t.is_empty() || t == "null" || t == "{}" {
        return Ok(None);
    }
    serde_json::from_str::<Option<OpenOrder>>(t).map_err(|e| e.to_string())
}

/// The paginated envelope `{data, next_cursor}` (or a bare array).
pub struct Page<T> {
    data: Vec<T>,
    next_cursor: Option<String>,
}

#[derive(Deserialize)]
struct Env<T> {
    #[serde(default = "Vec::new")]
    data: Vec<T>,
    #[serde(default)]
    next_cursor: Option<String>,
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// Parses an envelope or a bare array (dispatching on the first byte: untagged enums
    /// cannot carry raw JSON values).
    pub fn parse(body: &[u8]) -> Result<Page<T>, serde_json::Error> {
        if crate::gamma::first_byte(body) == Some(b'[') {
            Ok(Page {
                data: serde_json::from_slice(body)?,
                next_cursor: None,
            })
        } else {
            let e: Env<T> = serde_json::from_slice(body)?;
            Ok(Page {
                data: e.data,
                next_cursor: e.next_cursor,
            })
        }
    }

    /// Items and the next cursor (None at the end, `LTE=`).
    pub fn split(self) -> (Vec<T>, Option<String>) {
        (
            self.data,
            self.next_cursor.filter(|c| !c.is_empty() && c != "LTE="),
        )
    }
}

/// One maker order inside a trade.
#[derive(Deserialize, Debug)]
pub struct MakerOrder {
    #[serde(default)]
    order_id: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    maker_address: String,
    #[serde(default)]
    matched_amount: Option<Box<RawValue>>,
    #[serde(default)]
    price: Option<Box<RawValue>>,
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    side: String,
}

/// A trade (`GET /data/trades`).
#[derive(Deserialize, Debug)]
pub struct Trade {
    /// Trade id.
    pub id: String,
    #[serde(default)]
    taker_order_id: String,
    #[serde(default)]
    asset_id: String,
    #[serde(default)]
    side: String,
    #[serde(default)]
    size: Option<Box<RawValue>>,
    #[serde(default)]
    price: Option<Box<RawValue>>,
    #[serde(default)]
    fee_rate_bps: Option<Box<RawValue>>,
    /// Settlement status.
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    match_time: Option<Box<RawValue>>,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    maker_address: String,
    #[serde(default)]
    trader_side: String,
    #[serde(default)]
    maker_orders: Vec<MakerOrder>,
}

/// Trade status → fill status. `RETRYING` and unknown states count as still pending.
pub fn fill_status(s: &str) -> FillStatus {
    let s = s.trim_start_matches("TRADE_STATUS_").to_ascii_uppercase();
    match s.as_str() {
        "MINED" => FillStatus::Mined,
        "CONFIRMED" => FillStatus::Confirmed,
        "FAILED" => FillStatus::Failed,
        _ => FillStatus::Matched,
    }
}

fn ts_ms(r: &Option<Box<RawValue>>) -> Result<i64, String> {
    let t = text(r);
    if t.is_empty() {
        return Ok(0);
    }
    let v = dec::whole(t).ok_or_else(|| format!("match_time {t:?} is not a unix time"))?;
    // match_time is unix seconds; tolerate ms.
    if v > 100_000_000_000 {
        Ok(v)
    } else {
        Ok(v * 1000)
    }
}

impl Trade {
    /// The fills of this trade that belong to us (`api_key` owner or `maker` address).
    ///
    /// As the taker, each maker order matched is one fill at the *maker's* price (that is what
    /// the venue books; the trade's own `price` is the taker's limit), with the taker fee charged
    /// per fill at the trade's `fee_rate_bps` (polymarket.md §3.5, §5). A maker order of the
    /// other outcome (a mint/merge match) trades at the complement of its price. As a maker we
    /// pay no fee. An unreadable number is an error naming the field.
    pub fn fills(&self, api_key: &str, maker: &str) -> Result<Vec<Fill>, String> {
        let ours = |owner: &str, addr: &str| {
            (!owner.is_empty() && owner == api_key)
                || (!addr.is_empty() && addr.eq_ignore_ascii_case(maker))
        };
        let bad = |name: &str, r: &Option<Box<RawValue>>| {
            format!(
                "trade {}: {name} {:?} is not a valid decimal in range",
                self.id,
                text(r)
            )
        };
        let price_of = |name: &str, r: &Option<Box<RawValue>>| {
            dec::price(text(r))
                .filter(|p| *p <= Price::ONE)
                .ok_or_else(|| bad(name, r))
        };
        let qty_of =
            |name: &str, r: &Option<Box<RawValue>>| dec::qty(text(r)).ok_or_else(|| bad(name, r));
        let status = fill_status(&self.status);
        let ts = ts_ms(&self.match_time).map_err(|e| format!("trade {}: {e}", self.id))?;
        let mut out = Vec::new();
        let taker_is_us = if self.trader_side.eq_ignore_ascii_case("TAKER") {
            true
        } else if self.trader_side.eq_ignore_ascii_case("MAKER") {
            false
        } else {
            ours(&self.owner, &self.maker_address)
        };
        if taker_is_us {
            let bps = match text(&self.fee_rate_bps) {
                "" => 0,
                t => dec::whole(t)
                    .filter(|b| *b <= 10_000)
                    .ok_or_else(|| bad("fee_rate_bps", &self.fee_rate_bps))?,
            };
            let rate_ppm = (bps as u32) * 100;
            let mut fill = |fill_id: String, price: Price, qty: Qty| -> Result<(), String> {
                let fee = fill_fee(rate_ppm, price, qty)
                    .ok_or_else(|| format!("trade {}: size {qty} is out of range", self.id))?;
                out.push(Fill {
                    fill_id,
                    order_id: self.taker_order_id.clone(),
                    client_order_id: None,
                    instrument: self.asset_id.clone(),
                    side: side_of(&self.side),
                    price,
                    qty,
                    fee,
                    ts_ms: ts,
                    status,
                });
                Ok(())
            };
            if self.maker_orders.is_empty() {
                fill(
                    self.id.clone(),
                    price_of("price", &self.price)?,
                    qty_of("size", &self.size)?,
                )?;
            } else {
                for mo in &self.maker_orders {
                    let p = price_of("maker_orders[].price", &mo.price)?;
                    let same = mo.asset_id.is_empty() || mo.asset_id == self.asset_id;
                    fill(
                        format!("{}:t:{}", self.id, mo.order_id),
                        if same { p } else { p.complement() },
                        qty_of("maker_orders[].matched_amount", &mo.matched_amount)?,
                    )?;
                }
            }
        } else {
            for mo in self
                .maker_orders
                .iter()
                .filter(|m| ours(&m.owner, &m.maker_address))
            {
                out.push(Fill {
                    fill_id: format!("{}:{}", self.id, mo.order_id),
                    order_id: mo.order_id.clone(),
                    client_order_id: None,
                    instrument: if mo.asset_id.is_empty() {
                        self.asset_id.clone()
                    } else {
                        mo.asset_id.clone()
                    },
                    side: side_of(&mo.side),
                    price: price_of("maker_orders[].price", &mo.price)?,
                    qty: qty_of("maker_orders[].matched_amount", &mo.matched_amount)?,
                    fee: Usd::ZERO,
                    ts_ms: ts,
                    status,
                });
            }
        }
        Ok(out)
    }
}

/// `DELETE /order` response.
#[derive(Deserialize, Debug, Default)]
pub struct CancelResp {
    /// Cancelled ids.
    #[serde(default)]
    pub canceled: Vec<String>,
    /// Ids not cancelled, with reasons.
    #[serde(default)]
    pub not_canceled: std::collections::BTreeMap<String, serde_json::Value>,
}

/// `GET /balance-allowance`: the balance in 6-decimal base units.
pub fn parse_balance(body: &[u8]) -> Option<Usd> {
    #[derive(Deserialize)]
    struct B {
        balance: Box<RawValue>,
    }
    let b: B = serde_json::from_slice(body).ok()?;
    // Base units (integer string); a decimal would be dollars.
    let t = dec::raw_text(&b.balance);
    if t.contains('.') {
        dec::usd(t)
    } else {
        dec::whole(t).map(Usd)
    }
}

/// `GET /tick-size` → `{"minimum_tick_size": 0.01}` (a JSON number, read exactly).
pub fn parse_tick(body: &[u8]) -> Option<Price> {
    #[derive(Deserialize)]
    struct T {
        minimum_tick_size: Box<RawValue>,
    }
    let t: T = serde_json::from_slice(body).ok()?;
    dec::price(dec::raw_text(&t.minimum_tick_size)).filter(|p| p.0 > 0)
}

/// `GET /neg-risk?token_id=` → `{"neg_risk": true}`.
pub fn parse_neg_risk(body: &[u8]) -> Option<bool> {
    #[derive(Deserialize)]
    struct N {
        neg_risk: bool,
    }
    serde_json::from_slice::<N>(body).ok().map(|n| n.neg_risk)
}

/// `GET /markets-by-token/{id}` → condition id.
pub fn parse_condition_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v.get("condition_id")
        .and_then(|x| x.as_str())
        .map(str::to_string)
}

/// `GET /clob-markets/{condition_id}` → taker fee rate from `fd.r`, in ppm.
pub fn parse_clob_market_fee(body: &[u8]) -> Option<u32> {
    #[derive(Deserialize)]
    struct Fd {
        r: Box<RawValue>,
    }
    #[derive(Deserialize)]
    struct M {
        fd: Option<Fd>,
    }
    let m: M = serde_json::from_slice(body).ok()?;
    crate::settings::parse_rate_ppm(dec::raw_text(&m.fd?.r))
}

/// From a CLOB market (`GET /markets/{condition_id}`): `(closed, winner flag of token)`.
pub fn parse_resolution(body: &[u8], token: &str) -> Option<(bool, Option<bool>)> {
    #[derive(Deserialize)]
    struct Tok {
        #[serde(default)]
        token_id: String,
        #[serde(default)]
        winner: bool,
    }
    #[derive(Deserialize)]
    struct M {
        #[serde(default)]
        closed: bool,
        #[serde(default)]
        tokens: Vec<Tok>,
    }
    let m: M = serde_json::from_slice(body).ok()?;
    let any_winner = m.tokens.iter().any(|t| t.winner);
    let mine = m
        .tokens
        .iter()
        .find(|t| t.token_id == token)
        .map(|t| t.winner);
    Some((m.closed, if any_winner { mine } else { None }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_trade_shapes() {
        let o = parse_order(br#"{"id":"0xab","status":"LIVE","asset_id":"1","side":"BUY","original_size":"10","size_matched":"2.5","price":"0.55"}"#)
            .unwrap()
            .unwrap();
        let s = o.to_status(None).unwrap();
        assert_eq!(s.state, OrderState::PartiallyFilled);
        assert_eq!(s.qty, Qty::shares(10));
        assert_eq!(s.filled_notional, Usd(1_375_000));
        assert!(parse_order(b"null").unwrap().is_none());
        let t: Page<Trade> = Page::parse(br#"{"data":[{"id":"t1","taker_order_id":"0xab","asset_id":"1","side":"BUY","size":"10","price":"0.5","fee_rate_bps":"500","status":"TRADE_STATUS_FAILED","match_time":"1764000000","trader_side":"TAKER","maker_orders":[]}],"next_cursor":"LTE="}"#).unwrap();
        let (v, c) = t.split();
        assert!(c.is_none());
        let f = v[0].fills("k", "0x1").unwrap();
        assert_eq!(f[0].status, FillStatus::Failed);
        assert_eq!(f[0].ts_ms, 1_764_000_000_000);
        // 10 × 0.05 × 0.5 × 0.5 = 0.125
        assert_eq!(f[0].fee, Usd(125_000));
        assert_eq!(
            parse_balance(br#"{"balance":"1234567","allowances":{}}"#),
            Some(Usd(1_234_567))
        );
        assert_eq!(
            parse_tick(br#"{"minimum_tick_size": 0.001}"#),
            Some(Price(1000))
        );
        assert_eq!(
            parse_clob_market_fee(br#"{"fd":{"r":0.04,"e":1,"to":true}}"#),
            Some(40_000)
        );
        assert_eq!(parse_resolution(br#"{"closed":true,"tokens":[{"token_id":"1","winner":false},{"token_id":"2","winner":true}]}"#, "1"), Some((true, Some(false))));
    }
}

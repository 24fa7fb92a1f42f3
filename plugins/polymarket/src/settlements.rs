//! `VenueOp::Settlements` from the Data API's `GET /closed-positions`.
//!
//! Polymarket keeps no settlement records like Kalshi's `GET /portfolio/settlements`; the
//! nearest the venue documents is the Data API's closed positions (OpenAPI
//! `docs.polymarket.com/api-spec/data-openapi.yaml`, `GET /closed-positions`, page "Get closed
//! positions for a user"). Per the spec:
//! * query: `user` (address, required), `market` (condition ids, csv), `limit` (the spec's
//!   versions disagree on the maximum, 50 or 500; 50 fits both), `offset`;
//! * each row is one outcome token of one market: `conditionId`, `asset` (token id),
//!   `outcome`, `outcomeIndex`, `oppositeOutcome`, `avgPrice` (average entry price),
//!   `totalBought` (shares acquired), `realizedPnl` (USDC), `curPrice` (the token's current
//!   price), `timestamp` (unix seconds), all numbers as JSON numbers.
//!
//! How a row becomes a [`Settlement`]:
//! * A closed position is also one sold before its market resolved. Only markets that did
//!   resolve are settlements: a resolved token is priced at its payout, 1 or 0 (polymarket.md
//!   §4: `outcomePrices` becomes `["1","0"]`), while a live one trades strictly inside (0, 1)
//!   (CLOB ticks). A market none of whose rows is priced 0 or 1 is skipped.
//! * `result` is the winning outcome's name: a row priced 1 names it in `outcome`, a row priced
//!   0 in `oppositeOutcome`.
//! * `yes_*` is outcome index 0, `no_*` index 1 (a Polymarket market has two outcomes).
//! * Shares are `totalBought` (the spec does not say how many were held to resolution), cost is
//!   `avgPrice × totalBought`, and revenue is everything the position returned, sales and
//!   redemption: `cost + realizedPnl`.
//! * `fee` is zero: Polymarket charges fees per fill on trades (already booked with the
//!   fills); redemption pays the winner 1.00 and the loser 0 with no fee (polymarket.md §4).
//!
//! Every number is parsed exactly and checked; a bad field is an error naming it.

use plugin_api::{
    CallCtx, HttpRequest, HttpResponse, OpResult, PluginError, PluginResult, Price, Qty, Rounding,
    Settlement, Step, Usd,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

use crate::state::St;
use crate::venue::{done, is_2xx, parse_err, PolymarketVenue};
use crate::{clob, dec};

/// Rows asked for per page: within both published maxima (50 and 500).
pub const PAGE: usize = 50;
/// Pages read at most (2,500 closed positions); more is an error asking to narrow by market.
const MAX_PAGES: u32 = 50;

/// A closed-position row, parsed and checked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Closed {
    condition_id: String,
    outcome_index: u8,
    outcome: String,
    opposite_outcome: String,
    qty: Qty,
    cost: Usd,
    /// Realized P&L in micro-dollars (may be negative).
    pnl: i64,
    cur_price: Price,
    ts_s: i64,
}

/// Where a settlements listing is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Walk {
    market: Option<String>,
    since_ms: Option<i64>,
    acc: Vec<Closed>,
    pages: u32,
}

fn check_condition_id(c: &str) -> PluginResult<()> {
    let ok = c.len() == 66 && c.starts_with("0x") && c[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(PluginError::invalid(format!(
            "market {c:?} is not a Polymarket condition id (0x + 32 bytes of hex)"
        )));
    }
    Ok(())
}

impl PolymarketVenue {
    /// Starts `VenueOp::Settlements`.
    pub(crate) fn settlements(
        &self,
        market: Option<String>,
        since_ms: Option<i64>,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if let Some(m) = &market {
            check_condition_id(m)?;
        }
        self.closed_page(
            Walk {
                market,
                since_ms,
                acc: Vec::new(),
                pages: 0,
            },
            ctx,
        )
    }

    fn closed_page(&self, w: Walk, _ctx: &CallCtx) -> PluginResult<Step> {
        let mut url = format!(
            "{}/closed-positions?user={}&limit={PAGE}&offset={}",
            self.settings().data_url,
            self.settings().maker.to_checksum(),
            w.pages as usize * PAGE
        );
        if let Some(m) = &w.market {
            url.push_str(&format!("&market={m}"));
        }
        let mut req = HttpRequest::new("GET", url, "data");
        req.idempotent = true;
        self.http(req, St::Settlements(w))
    }

    /// One page of closed positions arrived.
    pub(crate) fn closed_positions(
        &self,
        mut w: Walk,
        r: &HttpResponse,
        ctx: &CallCtx,
    ) -> PluginResult<Step> {
        if !is_2xx(r) {
            return Err(self.fail("closed positions", r));
        }
        let rows = parse_closed(&r.body)?;
        let n = rows.len();
        w.acc.extend(rows);
        if n < PAGE {
            return done(OpResult::Settlements {
                settlements: settlements_of(&w.acc, w.since_ms)?,
            });
        }
        if w.pages + 1 >= MAX_PAGES {
            return Err(parse_err(
                "closed positions",
                format!(
                    "more than {} closed positions; ask for one market (--market)",
                    MAX_PAGES as usize * PAGE
                ),
            ));
        }
        w.pages += 1;
        self.closed_page(w, ctx)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(default)]
    condition_id: String,
    #[serde(default)]
    asset: String,
    #[serde(default)]
    outcome: Option<String>,
    #[serde(default)]
    opposite_outcome: Option<String>,
    #[serde(default)]
    outcome_index: Option<Box<RawValue>>,
    #[serde(default)]
    avg_price: Option<Box<RawValue>>,
    #[serde(default)]
    total_bought: Option<Box<RawValue>>,
    #[serde(default)]
    realized_pnl: Option<Box<RawValue>>,
    #[serde(default)]
    cur_price: Option<Box<RawValue>>,
    #[serde(default)]
    timestamp: Option<Box<RawValue>>,
}

fn text(r: &Option<Box<RawValue>>) -> &str {
    r.as_deref().map(dec::raw_text).unwrap_or("")
}

/// A price in [0, 1] to the micro-dollar (averages carry more digits: rounded half up).
fn unit_price(s: &str) -> Option<Price> {
    dec::parse_scaled(s, 6, Rounding::HalfUp)
        .and_then(|v| i64::try_from(v).ok())
        .filter(|v| (0..=Price::ONE.0).contains(v))
        .map(Price)
}

/// Parses one page of `GET /closed-positions`.
pub(crate) fn parse_closed(body: &[u8]) -> PluginResult<Vec<Closed>> {
    let rows: Vec<Row> =
        serde_json::from_slice(body).map_err(|e| parse_err("closed positions", e))?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let bad = |field: &str, v: &str| {
            parse_err(
                "closed positions",
                format!(
                    "market {} asset {}: {field} {v:?} is not valid",
                    row.condition_id, row.asset
                ),
            )
        };
        check_condition_id(&row.condition_id).map_err(|_| bad("conditionId", &row.condition_id))?;
        let outcome_index = match dec::whole(text(&row.outcome_index)) {
            Some(0) => 0,
            Some(1) => 1,
            _ => return Err(bad("outcomeIndex", text(&row.outcome_index))),
        };
        let avg = unit_price(text(&row.avg_price))
            .ok_or_else(|| bad("avgPrice", text(&row.avg_price)))?;
        let qty = dec::qty_nearest(text(&row.total_bought))
            .ok_or_else(|| bad("totalBought", text(&row.total_bought)))?;
        let pnl = dec::parse_scaled(text(&row.realized_pnl), 6, Rounding::HalfUp)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or_else(|| bad("realizedPnl", text(&row.realized_pnl)))?;
        let cur_price = unit_price(text(&row.cur_price))
            .ok_or_else(|| bad("curPrice", text(&row.cur_price)))?;
        let ts_s = dec::whole(text(&row.timestamp))
            .filter(|t| t.checked_mul(1000).is_some())
            .ok_or_else(|| bad("timestamp", text(&row.timestamp)))?;
        let cost = clob::notional(qty, avg).ok_or_else(|| bad("totalBought × avgPrice", ""))?;
        out.push(Closed {
            condition_id: row.condition_id.to_ascii_lowercase(),
            outcome_index,
            outcome: row.outcome.clone().unwrap_or_default(),
            opposite_outcome: row.opposite_outcome.clone().unwrap_or_default(),
            qty,
            cost,
            pnl,
            cur_price,
            ts_s,
        });
    }
    Ok(out)
}

/// Groups closed positions by market into settlements (see the module docs for the mapping).
pub(crate) fn settlements_of(
    rows: &[Closed],
    since_ms: Option<i64>,
) -> PluginResult<Vec<Settlement>> {
    let mut by_market: BTreeMap<&str, Vec<&Closed>> = BTreeMap::new();
    for r in rows {
        by_market.entry(&r.condition_id).or_default().push(r);
    }
    let overflow =
        |m: &str| parse_err("closed positions", format!("market {m}: sums out of range"));
    let mut out = Vec::new();
    for (market, rows) in by_market {
        let winner = rows.iter().find_map(|r| match r.cur_price {
            Price::ONE => Some(("outcome", &r.outcome)),
            Price(0) => Some(("oppositeOutcome", &r.opposite_outcome)),
            _ => None,
        });
        let Some((field, result)) = winner else {
            // Closed by trading; the market has not resolved.
            continue;
        };
        if result.is_empty() {
            return Err(parse_err(
                "closed positions",
                format!("market {market}: {field} is missing, so the result is unknown"),
            ));
        }
        let mut s = Settlement {
            market: market.to_string(),
            result: result.clone(),
            yes_qty: Qty::ZERO,
            no_qty: Qty::ZERO,
            yes_cost: Usd::ZERO,
            no_cost: Usd::ZERO,
            revenue: Usd::ZERO,
            fee: Usd::ZERO,
            settled_ms: 0,
        };
        for r in &rows {
            // What the position returned; a total loss computed from a rounded average may
            // come out a few micro-dollars below zero.
            let back = r
                .cost
                .0
                .checked_add(r.pnl)
                .ok_or_else(|| overflow(market))?;
            if back < -10_000 {
                return Err(parse_err(
                    "closed positions",
                    format!(
                        "market {market}: realizedPnl {} exceeds the position's cost {}",
                        Usd(r.pnl),
                        r.cost
                    ),
                ));
            }
            let (qty, cost) = if r.outcome_index == 0 {
                (&mut s.yes_qty, &mut s.yes_cost)
            } else {
                (&mut s.no_qty, &mut s.no_cost)
            };
            *qty = Qty(qty.0.checked_add(r.qty.0).ok_or_else(|| overflow(market))?);
            *cost = clob::sum_usd(*cost, r.cost).ok_or_else(|| overflow(market))?;
            s.revenue =
                clob::sum_usd(s.revenue, Usd(back.max(0))).ok_or_else(|| overflow(market))?;
            s.settled_ms = s.settled_ms.max(r.ts_s * 1000);
        }
        if since_ms.is_some_and(|t| s.settled_ms < t) {
            continue;
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "0xdd22472e552920b8438158ea7238bfadfa4f736aa4cee91a6b86c39ead110917";

    fn row(idx: u8, cur: &str, extra: &str) -> String {
        format!(
            r#"{{"proxyWallet":"0x56687bf447db6ffa42ffe2204a05edaa20f55839","asset":"12{idx}",
            "conditionId":"{C}","avgPrice":0.39,"totalBought":1120.4,"realizedPnl":683.036,
            "curPrice":{cur},"title":"t","outcome":"{o}","outcomeIndex":{idx},
            "oppositeOutcome":"{p}","oppositeAsset":"x","endDate":"2024-09-18T18:00:00Z",
            "timestamp":1718121600{extra}}}"#,
            o = if idx == 0 { "Yes" } else { "No" },
            p = if idx == 0 { "No" } else { "Yes" },
        )
    }

    #[test]
    fn a_resolved_market_becomes_one_settlement() {
        let body = format!("[{}]", row(0, "1", ""));
        let rows = parse_closed(body.as_bytes()).unwrap();
        let s = settlements_of(&rows, None).unwrap();
        assert_eq!(s.len(), 1);
        let s = &s[0];
        assert_eq!(s.market, C);
        assert_eq!(s.result, "Yes");
        assert_eq!(s.yes_qty, Qty::parse("1120.40").unwrap());
        // 1120.40 × 0.39 = 436.956; + 683.036 realized = 1119.992 returned.
        assert_eq!(s.yes_cost, Usd(436_956_000));
        assert_eq!(s.revenue, Usd(1_119_992_000));
        assert_eq!(s.no_qty, Qty::ZERO);
        assert_eq!(s.settled_ms, 1_718_121_600_000);
        // The loser's row alone names the winner through oppositeOutcome.
        let rows = parse_closed(format!("[{}]", row(1, "0", "")).as_bytes()).unwrap();
        assert_eq!(settlements_of(&rows, None).unwrap()[0].result, "Yes");
        // Filtered by time.
        assert!(settlements_of(&rows, Some(1_718_121_600_001))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_position_closed_before_resolution_is_not_a_settlement() {
        let rows = parse_closed(format!("[{}]", row(0, "0.68", "")).as_bytes()).unwrap();
        assert!(settlements_of(&rows, None).unwrap().is_empty());
    }

    #[test]
    fn bad_fields_are_errors_naming_the_field() {
        for (from, to, field) in [
            ("\"avgPrice\":0.39", "\"avgPrice\":1.5", "avgPrice"),
            (
                "\"totalBought\":1120.4",
                "\"totalBought\":-3",
                "totalBought",
            ),
            (
                "\"totalBought\":1120.4",
                "\"totalBought\":1e30",
                "totalBought",
            ),
            (
                "\"realizedPnl\":683.036",
                "\"realizedPnl\":\"x\"",
                "realizedPnl",
            ),
            (
                "\"realizedPnl\":683.036",
                "\"realizedPnl\":-99999999999999999",
                "realizedPnl",
            ),
            ("\"curPrice\":1", "\"curPrice\":2", "curPrice"),
            ("\"outcomeIndex\":0", "\"outcomeIndex\":2", "outcomeIndex"),
            (
                "\"timestamp\":1718121600",
                "\"timestamp\":1e300",
                "timestamp",
            ),
            (C, "0x12", "conditionId"),
        ] {
            let body = format!("[{}]", row(0, "1", "")).replacen(from, to, 1);
            assert_ne!(body, format!("[{}]", row(0, "1", "")), "{from}");
            let e = parse_closed(body.as_bytes()).unwrap_err();
            assert!(e.message.contains(field), "{field}: {}", e.message);
        }
        // A missing number is an error too, never a zero.
        let body =
            format!("[{}]", row(0, "1", "")).replacen("\"timestamp\":1718121600", "\"ts\":1", 1);
        let e = parse_closed(body.as_bytes()).unwrap_err();
        assert!(e.message.contains("timestamp"), "{}", e.message);
    }
}

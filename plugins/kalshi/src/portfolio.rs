//! Balance and positions (kalshi.md §3.2).

use plugin_api::{Balance, Position, Settlement, Usd};
use serde_json::Value;

use crate::book::{count, Instrument, Outcome};
use crate::errors::KalshiError;
use crate::num;

/// `GET /portfolio/balance`: `balance` stayed integer cents through the 2026 migration; the
/// exact `balance_dollars` string is used only when the integer is missing.
pub fn parse_balance(body: &Value) -> Result<Balance, KalshiError> {
    let available = match body.get("balance") {
        Some(v @ Value::Number(_)) => num::cents(v, "balance")?,
        _ => match body.get("balance_dollars").and_then(Value::as_str) {
            Some(s) => num::non_neg_usd(
                Usd::parse(s).map_err(|e| KalshiError::parse("balance_dollars", e.message))?,
                "balance_dollars",
            )?,
            None => return Err(KalshiError::parse("balance", "no `balance`")),
        },
    };
    // Kalshi's balance is already net of what resting orders hold; it reports no separate
    // "available plus held" figure here, so total = available.
    Ok(Balance {
        available,
        total: available,
    })
}

/// One page of `GET /portfolio/positions`. Positive `position_fp` is YES, negative is NO.
pub fn parse_positions(body: &Value) -> Result<Vec<Position>, KalshiError> {
    let Some(arr) = body.get("market_positions").and_then(Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for p in arr {
        let ticker = p.get("ticker").and_then(Value::as_str).unwrap_or("");
        let qty = count(
            p.get("position_fp")
                .or_else(|| p.get("position"))
                .unwrap_or(&Value::Null),
            "position_fp",
        )?;
        if qty.0 == 0 {
            continue;
        }
        let ins = Instrument::parse(&format!("{ticker}:yes"))?;
        let outcome = if qty.0 > 0 { Outcome::Yes } else { Outcome::No };
        let cost = match p.get("market_exposure_dollars").and_then(Value::as_str) {
            Some(s) => Usd::parse(s)
                .map_err(|e| KalshiError::parse("market_exposure_dollars", e.message))?,
            None => Usd::ZERO,
        };
        out.push(Position {
            instrument: Instrument::with_outcome(&ins.ticker, outcome).to_string(),
            qty: num::abs_qty(qty, "position_fp")?,
            cost: Usd(cost
                .0
                .checked_abs()
                .ok_or_else(|| KalshiError::parse("market_exposure_dollars", "out of range"))?),
        });
    }
    Ok(out)
}

/// A non-negative dollar string.
fn usd_str(v: &Value, key: &'static str) -> Result<Usd, KalshiError> {
    match v.get(key) {
        Some(Value::String(s)) => num::non_neg_usd(
            Usd::parse(s).map_err(|e| KalshiError::parse(key, e.message))?,
            key,
        ),
        Some(other) => Err(KalshiError::parse(
            key,
            format!("`{key}` {other} is not a dollar string"),
        )),
        None => Err(KalshiError::parse(key, format!("no `{key}`"))),
    }
}

/// One page of `GET /portfolio/settlements`: `revenue` is integer cents, costs and fees are
/// dollar strings, counts are 2-dp strings (kalshi.md §3.2).
pub fn parse_settlements(body: &Value) -> Result<Vec<Settlement>, KalshiError> {
    let arr = body
        .get("settlements")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("settlements", "no `settlements` array"))?;
    let mut out = Vec::with_capacity(arr.len());
    for s in arr {
        let market = s
            .get("ticker")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| KalshiError::parse("settlement", "no `ticker`"))?;
        let result = s
            .get("market_result")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                KalshiError::parse("settlement", format!("{market}: no `market_result`"))
            })?;
        let revenue = match s.get("revenue") {
            Some(v @ Value::Number(_)) => num::cents(v, "revenue")
                .map_err(|e| KalshiError::parse("revenue", format!("{market}: {e}")))?,
            _ => {
                return Err(KalshiError::parse(
                    "revenue",
                    format!("{market}: no `revenue`"),
                ))
            }
        };
        let settled = s
            .get("settled_time")
            .and_then(Value::as_str)
            .ok_or_else(|| KalshiError::parse("settled_time", format!("{market}: missing")))?;
        let settled_ms = crate::markets::rfc3339_ms(settled).ok_or_else(|| {
            KalshiError::parse(
                "settled_time",
                format!("{market}: {settled:?} is not RFC 3339"),
            )
        })?;
        out.push(Settlement {
            market: market.to_string(),
            result: result.to_string(),
            yes_qty: num::non_neg_qty(
                count(
                    s.get("yes_count_fp").unwrap_or(&Value::Null),
                    "yes_count_fp",
                )?,
                "yes_count_fp",
            )?,
            no_qty: num::non_neg_qty(
                count(s.get("no_count_fp").unwrap_or(&Value::Null), "no_count_fp")?,
                "no_count_fp",
            )?,
            yes_cost: usd_str(s, "yes_total_cost_dollars")?,
            no_cost: usd_str(s, "no_total_cost_dollars")?,
            revenue,
            fee: match s.get("fee_cost") {
                None | Some(Value::Null) => Usd::ZERO,
                Some(_) => usd_str(s, "fee_cost")?,
            },
            settled_ms,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plugin_api::Qty;
    use serde_json::json;

    #[test]
    fn balance_in_cents() {
        let b = parse_balance(
            &json!({"balance": 123456, "balance_dollars": "1234.5678", "portfolio_value": 5}),
        )
        .unwrap();
        assert_eq!(b.available, Usd(1_234_560_000));
        let b = parse_balance(&json!({"balance_dollars": "1.5"})).unwrap();
        assert_eq!(b.available, Usd(1_500_000));
        assert!(parse_balance(&json!({"balance": 1.5})).is_err());
        assert!(parse_balance(&json!({})).is_err());
    }

    #[test]
    fn positions_sign() {
        let p = parse_positions(&json!({"market_positions": [
            {"ticker": "A", "position_fp": "10.00", "market_exposure_dollars": "4.2000"},
            {"ticker": "B", "position_fp": "-3.00", "market_exposure_dollars": "1.0000"},
            {"ticker": "C", "position_fp": "0.00"}
        ]}))
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(
            (p[0].instrument.as_str(), p[0].qty, p[0].cost),
            ("A:yes", Qty::shares(10), Usd(4_200_000))
        );
        assert_eq!(
            (p[1].instrument.as_str(), p[1].qty),
            ("B:no", Qty::shares(3))
        );
    }

    #[test]
    fn settlements_parse_exactly() {
        let body = json!({"settlements": [{
            "ticker": "KXNBAGAME-26NOV25LALBOS-LAL", "event_ticker": "KXNBAGAME-26NOV25LALBOS",
            "market_result": "yes", "yes_count_fp": "12.00", "yes_total_cost_dollars": "5.2800",
            "no_count_fp": "0.00", "no_total_cost_dollars": "0.0000", "revenue": 1200, "value": 100,
            "fee_cost": "0.0300", "settled_time": "2026-11-26T05:00:00Z", "exchange_index": 0
        }], "cursor": ""});
        let s = parse_settlements(&body).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].market, "KXNBAGAME-26NOV25LALBOS-LAL");
        assert_eq!(s[0].result, "yes");
        assert_eq!(s[0].yes_qty, Qty::shares(12));
        assert_eq!(s[0].no_qty, Qty::ZERO);
        assert_eq!(s[0].yes_cost, Usd(5_280_000));
        assert_eq!(s[0].revenue, Usd(12_000_000));
        assert_eq!(s[0].fee, Usd(30_000));
        assert_eq!(s[0].settled_ms, 1_795_669_200_000);
    }

    #[test]
    fn settlements_refuse_bad_fields() {
        let base = json!({"ticker": "T-1", "market_result": "no", "yes_count_fp": "0.00",
            "yes_total_cost_dollars": "0.0000", "no_count_fp": "1.00", "no_total_cost_dollars": "0.4000",
            "revenue": 100, "settled_time": "2026-11-26T05:00:00Z"});
        assert!(parse_settlements(&json!({"settlements": [base.clone()]})).is_ok());
        for (k, v) in [
            ("revenue", json!("1.00")),
            ("yes_count_fp", json!(true)),
            ("settled_time", json!("yesterday")),
            ("no_total_cost_dollars", json!(0.4)),
        ] {
            let mut bad = base.clone();
            bad[k] = v;
            let e = parse_settlements(&json!({"settlements": [bad]}))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k), "{k}: {e}");
        }
        assert!(parse_settlements(&json!({})).is_err());
    }
}

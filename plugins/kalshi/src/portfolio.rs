//! Balance and positions (kalshi.md §3.2).

use plugin_api::{Balance, Position, Qty, Usd};
use serde_json::Value;

use crate::book::{count, Instrument, Outcome};
use crate::errors::KalshiError;

/// `GET /portfolio/balance`: `balance` stayed integer cents through the 2026 migration; the
/// exact `balance_dollars` string is used only when the integer is missing.
pub fn parse_balance(body: &Value) -> Result<Balance, KalshiError> {
    let available = match body.get("balance") {
        Some(Value::Number(n)) => n.as_i64().map(Usd::from_cents).ok_or_else(|| {
            KalshiError::parse("balance", format!("`balance` {n} is not whole cents"))
        })?,
        _ => match body.get("balance_dollars").and_then(Value::as_str) {
            Some(s) => Usd::parse(s).map_err(|e| KalshiError::parse("balance", e.message))?,
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
            Some(s) => Usd::parse(s).map_err(|e| KalshiError::parse("position", e.message))?,
            None => Usd::ZERO,
        };
        out.push(Position {
            instrument: Instrument::with_outcome(&ins.ticker, outcome).to_string(),
            qty: Qty(qty.0.abs()),
            cost: Usd(cost.0.abs()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
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
            ("A:yes", Qty(1000), Usd(4_200_000))
        );
        assert_eq!((p[1].instrument.as_str(), p[1].qty), ("B:no", Qty(300)));
    }
}

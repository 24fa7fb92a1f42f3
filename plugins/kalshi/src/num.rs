//! Checked arithmetic on venue numbers. Kalshi's answers are untrusted input: a value out of
//! range (a balance of 922337203685478 cents, a count whose sum overflows, a cost larger than
//! the contracts can pay) is a parse error naming the field, never a wrapped or negative
//! amount (issue #11 item 16).

use plugin_api::money::div_round;
use plugin_api::money::SHARE;
use plugin_api::{Price, Qty, Rounding, Usd};
use serde_json::Value;

use crate::errors::KalshiError;

/// Micro-dollars in one cent.
const MICROS_PER_CENT: i64 = 10_000;

fn out_of_range(what: &'static str, detail: impl std::fmt::Display) -> KalshiError {
    KalshiError::parse(what, format!("`{what}` {detail} is out of range"))
}

/// A whole, non-negative number of cents (`balance`, `revenue`), as money.
pub fn cents(v: &Value, what: &'static str) -> Result<Usd, KalshiError> {
    let Value::Number(n) = v else {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {v} is not whole cents"),
        ));
    };
    let c = n
        .as_i64()
        .ok_or_else(|| KalshiError::parse(what, format!("`{what}` {n} is not whole cents")))?;
    if c < 0 {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {c} is negative"),
        ));
    }
    c.checked_mul(MICROS_PER_CENT)
        .map(Usd)
        .ok_or_else(|| out_of_range(what, n))
}

/// `q` if it is not negative.
pub fn non_neg_qty(q: Qty, what: &'static str) -> Result<Qty, KalshiError> {
    if q.0 < 0 {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {q} is negative"),
        ));
    }
    Ok(q)
}

/// `u` if it is not negative.
pub fn non_neg_usd(u: Usd, what: &'static str) -> Result<Usd, KalshiError> {
    if u.0 < 0 {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {u} is negative"),
        ));
    }
    Ok(u)
}

/// `p` if it is a price a binary contract can have, $0 to $1.
pub fn unit_price(p: Price, what: &'static str) -> Result<Price, KalshiError> {
    if p < Price::ZERO || p > Price::ONE {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {p} is outside 0 to 1"),
        ));
    }
    Ok(p)
}

/// `a + b` for counts.
pub fn add_qty(a: Qty, b: Qty, what: &'static str) -> Result<Qty, KalshiError> {
    a.0.checked_add(b.0)
        .map(Qty)
        .ok_or_else(|| out_of_range(what, format!("{a} + {b}")))
}

/// `a + b` for money.
pub fn add_usd(a: Usd, b: Usd, what: &'static str) -> Result<Usd, KalshiError> {
    a.0.checked_add(b.0)
        .map(Usd)
        .ok_or_else(|| out_of_range(what, format!("{a} + {b}")))
}

/// `a − b` for money; a negative result is inconsistent venue data.
pub fn sub_usd(a: Usd, b: Usd, what: &'static str) -> Result<Usd, KalshiError> {
    a.0.checked_sub(b.0)
        .filter(|d| *d >= 0)
        .map(Usd)
        .ok_or_else(|| KalshiError::parse(what, format!("`{what}` {b} is more than {a}")))
}

/// `qty × price` (a per-contract amount in micro-dollars) rounded as asked, checked.
pub fn times(
    qty: Qty,
    per_contract: i64,
    rounding: Rounding,
    what: &'static str,
) -> Result<Usd, KalshiError> {
    // µ$ per contract × micro-contracts = µ$ · 1e-6.
    let v = div_round(
        i128::from(per_contract) * i128::from(qty.0),
        i128::from(SHARE),
        rounding,
    );
    i64::try_from(v)
        .map(Usd)
        .map_err(|_| out_of_range(what, format!("{qty} × {per_contract} µ$")))
}

/// The cost of `qty` contracts at `price`.
pub fn notional(
    qty: Qty,
    price: Price,
    rounding: Rounding,
    what: &'static str,
) -> Result<Usd, KalshiError> {
    times(qty, price.0, rounding, what)
}

/// `abs(q)`, checked.
pub fn abs_qty(q: Qty, what: &'static str) -> Result<Qty, KalshiError> {
    q.0.checked_abs()
        .map(Qty)
        .ok_or_else(|| out_of_range(what, q))
}

/// Unix seconds to ms, for a non-negative timestamp.
pub fn secs_to_ms(s: i64, what: &'static str) -> Result<i64, KalshiError> {
    if s < 0 {
        return Err(KalshiError::parse(
            what,
            format!("`{what}` {s} is negative"),
        ));
    }
    s.checked_mul(1000).ok_or_else(|| out_of_range(what, s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cents_refuse_overflow_and_negatives() {
        assert_eq!(cents(&json!(123), "balance").unwrap(), Usd(1_230_000));
        let e = cents(&json!(922_337_203_685_478i64), "balance").unwrap_err();
        assert!(
            e.to_string().contains("balance") && e.to_string().contains("out of range"),
            "{e}"
        );
        assert!(cents(&json!(-1), "balance").is_err());
        assert!(cents(&json!(1.5), "balance").is_err());
        assert!(cents(&json!(u64::MAX), "balance").is_err());
    }

    #[test]
    fn sums_and_products_are_checked() {
        assert!(add_qty(Qty(i64::MAX), Qty::parse("0.01").unwrap(), "count").is_err());
        assert!(add_usd(Usd(i64::MAX), Usd(1), "fees").is_err());
        assert!(sub_usd(Usd(1), Usd(2), "cost").is_err());
        assert_eq!(sub_usd(Usd(3), Usd(2), "cost").unwrap(), Usd(1));
        assert!(times(Qty(i64::MAX), 2_000_000, Rounding::HalfUp, "cost").is_err());
        assert_eq!(
            notional(Qty(i64::MAX), Price::ONE, Rounding::HalfUp, "cost").unwrap(),
            Usd(i64::MAX)
        );
        // Fractional contracts to the micro-contract: 0.37 × $0.43 = $0.1591.
        assert_eq!(
            notional(
                Qty::parse("0.37").unwrap(),
                Price(430_000),
                Rounding::Down,
                "cost"
            )
            .unwrap(),
            Usd(159_100)
        );
        assert_eq!(
            notional(Qty::shares(10), Price(430_000), Rounding::HalfUp, "cost").unwrap(),
            Usd(4_300_000)
        );
        assert!(abs_qty(Qty(i64::MIN), "position").is_err());
        assert!(secs_to_ms(i64::MAX / 10, "ts").is_err());
        assert!(unit_price(Price(1_000_001), "price").is_err());
    }
}

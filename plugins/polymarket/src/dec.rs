//! Exact decimal parsing of venue numbers (strings like `"0.55"` or JSON numbers like `0.01`
//! read as raw text), with explicit rounding into fixed-point units. Never goes through `f64`.

use plugin_api::{Price, Qty, Rounding, Usd};
use serde_json::value::RawValue;

/// Parses a decimal (optionally signed, optionally with an exponent such as `1e-05`) into an
/// integer scaled by 10^`scale`, rounding excess digits as asked. `None` if not a number.
pub fn parse_scaled(s: &str, scale: u32, rounding: Rounding) -> Option<i128> {
    let s = s.trim();
    let (neg, s) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (mant, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mant.split_once('.').unwrap_or((mant, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut digits: i128 = 0;
    let mut n_digits = 0u32;
    let mut frac_len: i32 = 0;
    let mut extra_nonzero = false; // digits beyond what we can hold
    let mut dropped_first: Option<u8> = None;
    let mut dropped_rest_nonzero = false;
    for (part, is_frac) in [(int, false), (frac, true)] {
        for b in part.bytes() {
            if !b.is_ascii_digit() {
                return None;
            }
            let d = b - b'0';
            if n_digits < 36 {
                digits = digits * 10 + d as i128;
                if digits != 0 {
                    n_digits += 1;
                }
                if is_frac {
                    frac_len += 1;
                }
            } else {
                // Too many significant digits: only fractional excess is tolerated.
                if !is_frac {
                    return None;
                }
                extra_nonzero |= d != 0;
            }
        }
    }
    // value = digits × 10^(exp − frac_len); want value × 10^scale.
    let shift = exp - frac_len + scale as i32;
    let v = if shift >= 0 {
        if shift > 36 {
            return None;
        }
        digits.checked_mul(10i128.pow(shift as u32))?
    } else {
        let k = (-shift) as u32;
        if k > 38 {
            dropped_rest_nonzero = digits != 0;
            0
        } else {
            let p = 10i128.pow(k);
            let q = digits / p;
            let r = digits % p;
            if r != 0 {
                dropped_first = Some(((r * 10) / p) as u8);
                dropped_rest_nonzero = (r * 10) % p != 0;
            }
            q
        }
    };
    let any_dropped =
        dropped_first.is_some_and(|d| d != 0) || dropped_rest_nonzero || extra_nonzero;
    let v = match rounding {
        Rounding::Down if neg && any_dropped => v + 1,
        Rounding::Up if !neg && any_dropped => v + 1,
        Rounding::HalfUp if dropped_first.is_some_and(|d| d >= 5) => v + 1,
        _ => v,
    };
    Some(if neg { -v } else { v })
}

/// The text of a raw JSON value that is a number or a string holding a number.
pub fn raw_text(raw: &RawValue) -> &str {
    let t = raw.get().trim();
    t.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(t)
}

/// Fast path for plain `123.456` strings (no sign, no exponent, ≤ 18 digits): the value scaled
/// by 10^`scale`, truncated, and whether the truncation was exact. `None` → use [`parse_scaled`]
/// (which also answers `None` for values that do not fit). Every step is checked: 18 integer
/// digits times 10^6 does not fit in an `i64`, and a wrapped value would read as a negative price.
#[inline]
fn fast_fixed(s: &str, scale: u32) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v: i64 = 0;
    let mut frac: i32 = -1; // digits after the dot, -1 = no dot yet
    let mut exact = true;
    let mut any = false;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                any = true;
                if frac >= scale as i32 {
                    exact &= c == b'0';
                    continue;
                }
                v = v.checked_mul(10)?.checked_add((c - b'0') as i64)?;
                if frac >= 0 {
                    frac += 1;
                }
            }
            b'.' if frac < 0 => frac = 0,
            _ => return None,
        }
    }
    if !any {
        return None;
    }
    let have = frac.max(0) as u32;
    Some((v.checked_mul(10i64.checked_pow(scale - have)?)?, exact))
}

/// `v` as an `i64` when it fits and is not negative: venue prices, sizes and amounts never are,
/// and a value outside this range must be refused, not wrapped.
fn non_negative(v: i128) -> Option<i64> {
    i64::try_from(v).ok().filter(|x| *x >= 0)
}

/// A price from a decimal string, exactly (≤ 6 decimals), not negative, or `None`. Callers
/// that need a range (book levels: inside (0, 1)) check it themselves.
pub fn price(s: &str) -> Option<Price> {
    if let Some((v, exact)) = fast_fixed(s, 6) {
        return exact.then_some(Price(v));
    }
    let v = parse_scaled(s, 6, Rounding::Down)?;
    let exact = parse_scaled(s, 6, Rounding::Up)?;
    (v == exact).then_some(())?;
    non_negative(v).map(Price)
}

/// A share quantity exactly as the venue reports it (conditional tokens have 6 decimals, and
/// so does [`Qty`]); `None` if negative, out of range, or finer than a micro-share (a size
/// no token balance can hold is refused, never rounded).
pub fn qty(s: &str) -> Option<Qty> {
    if let Some((v, exact)) = fast_fixed(s, 6) {
        return exact.then_some(Qty(v));
    }
    let v = parse_scaled(s, 6, Rounding::Down)?;
    (parse_scaled(s, 6, Rounding::Up)? == v).then_some(())?;
    non_negative(v).map(Qty)
}

/// A share quantity from the Data API, which reports JSON numbers computed in floating point
/// (`112.04000000000001`): rounded half up to the micro-share (token balances are whole
/// micro-shares, so the noise is below the unit); `None` if negative or out of range. CLOB
/// sizes are exact decimal strings and go through [`qty`].
pub fn qty_nearest(s: &str) -> Option<Qty> {
    parse_scaled(s, 6, Rounding::HalfUp)
        .and_then(non_negative)
        .map(Qty)
}

/// Micro-units (base units of 6-decimal tokens), rounded half up; `None` if negative or out
/// of range.
pub fn micro(s: &str) -> Option<i64> {
    parse_scaled(s, 6, Rounding::HalfUp).and_then(non_negative)
}

/// Dollars, rounded half up to the micro-dollar; `None` if negative or out of range.
pub fn usd(s: &str) -> Option<Usd> {
    micro(s).map(Usd)
}

/// A whole non-negative number (timestamps, bps); `None` if fractional, negative or too big.
pub fn whole(s: &str) -> Option<i64> {
    let v = parse_scaled(s, 0, Rounding::Down)?;
    (parse_scaled(s, 0, Rounding::Up)? == v).then_some(())?;
    non_negative(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_scaled("0.55", 6, Rounding::Down), Some(550_000));
        assert_eq!(parse_scaled("1e-05", 6, Rounding::Down), Some(10));
        assert_eq!(parse_scaled("0.001", 6, Rounding::Down), Some(1000));
        assert_eq!(parse_scaled("12.345678", 2, Rounding::Down), Some(1234));
        assert_eq!(parse_scaled("12.345678", 2, Rounding::Up), Some(1235));
        assert_eq!(parse_scaled("12.345", 2, Rounding::HalfUp), Some(1235));
        assert_eq!(parse_scaled("-1.5", 0, Rounding::Down), Some(-2));
        assert_eq!(parse_scaled("5", 2, Rounding::Down), Some(500));
        assert_eq!(parse_scaled("", 2, Rounding::Down), None);
        assert_eq!(parse_scaled("abc", 2, Rounding::Down), None);
        assert_eq!(parse_scaled("1.2.3", 2, Rounding::Down), None);
        assert_eq!(price("0.5555555"), None);
        assert_eq!(price("0.01"), Some(Price(10_000)));
        assert_eq!(qty("100.999"), Qty::parse("100.999").ok());
        assert_eq!(qty("10.3571"), Qty::parse("10.3571").ok());
        assert_eq!(qty("10.357142"), Qty::parse("10.357142").ok());
        assert_eq!(qty("1.0357142e1"), Qty::parse("10.357142").ok());
        assert_eq!(qty("10.3571428"), None, "finer than a token unit");
        assert_eq!(qty("7"), Some(Qty::shares(7)));
        assert_eq!(qty("."), None);
        assert_eq!(qty_nearest("112.04000000000001"), Qty::parse("112.04").ok());
        assert_eq!(qty_nearest("10.3571"), Qty::parse("10.3571").ok());
        assert_eq!(qty_nearest("-1"), None);
        assert_eq!(price(".5"), Some(Price(500_000)));
        assert_eq!(price("0.5000000"), Some(Price(500_000)));
        assert_eq!(price("1.2.3"), None);
        // Negative venue numbers are refused, never passed on.
        assert_eq!(price("-0.5"), None);
        assert_eq!(qty("-1"), None);
        assert_eq!(micro("-1"), None);
    }

    #[test]
    fn out_of_range_is_refused_not_wrapped() {
        // 13 digits × 10^6 > i64::MAX: the fast path used to wrap this into a negative price.
        assert_eq!(price("9999999999999"), None);
        assert_eq!(price("999999999999999999"), None);
        assert_eq!(micro("99999999999999999999999"), None);
        assert_eq!(qty("999999999999999999999"), None);
        assert_eq!(whole("1e30"), None);
        assert_eq!(whole("1.5"), None);
        assert_eq!(whole("1764000000"), Some(1_764_000_000));
        // The largest that fits still parses.
        assert_eq!(
            price("9223372036854"),
            Some(Price(9_223_372_036_854_000_000))
        );
        assert_eq!(qty("9223372036854.775807"), Some(Qty(i64::MAX)));
        assert_eq!(qty("9223372036854.775808"), None);
    }
}

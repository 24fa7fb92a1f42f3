//! Fixed-point money types. No `f64` ever holds a price, a size or an amount.
//!
//! * [`Price`]: dollars per share in micro-dollars (1e-6). Covers Polymarket's 0.001 tick and
//!   Kalshi's sub-penny 0.0001 levels exactly.
//! * [`Qty`]: shares (contracts) in micro-shares (1e-6 share), the unit of Polymarket's
//!   conditional tokens (6 decimals). Orders still go out in each venue's own size increment
//!   ([`crate::InstrumentRules::qty_step`]); the finer unit is for bookkeeping, so a fill the
//!   venue reports as 10.3571 shares is booked as exactly that.
//! * [`Usd`]: an amount of money in micro-dollars.

use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{ErrorKind, PluginError};

/// Micro-units in one whole unit.
pub const MICRO: i64 = 1_000_000;
/// [`Qty`] units (micro-shares) in one whole share.
pub const SHARE: i64 = 1_000_000;

/// A price per share, in micro-dollars (`Price(550_000)` is $0.55).
#[repr(transparent)]
#[derive(
    StableAbi,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct Price(pub i64);

/// A quantity of shares (contracts), in micro-shares (`Qty(5_000_000)` is 5 shares; build it
/// with [`Qty::shares`] or [`Qty::parse`]).
///
/// Until plugin-api 0.2.0 was released the unit was hundredths of a share; within 0.2.0 it is
/// micro-shares, so a plugin built against an earlier 0.2.0 pre-release must be rebuilt.
#[repr(transparent)]
#[derive(
    StableAbi,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct Qty(pub i64);

/// An amount of money, in micro-dollars (`Usd(1_000_000)` is $1).
#[repr(transparent)]
#[derive(
    StableAbi,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct Usd(pub i64);

/// How to round when an exact result does not fit the target unit. Serialized as `down`,
/// `up` or `half_up` (fee schedules carry it, [`crate::fees::FeeRounding`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Toward negative infinity.
    Down,
    /// Toward positive infinity.
    Up,
    /// To nearest, halves away from zero.
    HalfUp,
}

/// Divides `n` by a positive `d` with the given rounding.
pub fn div_round(n: i128, d: i128, rounding: Rounding) -> i128 {
    debug_assert!(d > 0);
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    match rounding {
        Rounding::Down => q,
        Rounding::Up => {
            if r == 0 {
                q
            } else {
                q + 1
            }
        }
        Rounding::HalfUp => {
            if n >= 0 {
                if 2 * r >= d {
                    q + 1
                } else {
                    q
                }
            } else {
                // Away from zero for negative halves.
                if 2 * r > d {
                    q + 1
                } else {
                    q
                }
            }
        }
    }
}

impl Price {
    /// $1.00, what a winning share pays.
    pub const ONE: Price = Price(MICRO);
    /// Zero.
    pub const ZERO: Price = Price(0);

    /// Parses a decimal dollar string such as `"0.5500"` exactly; more than 6 decimals is an error.
    pub fn parse(s: &str) -> Result<Price, PluginError> {
        parse_fixed(s, 6).map(Price)
    }

    /// The complementary price `1 − self` (YES bid at p is a NO ask at 1 − p).
    pub fn complement(self) -> Price {
        Price(MICRO - self.0)
    }

    /// Formats with exactly `decimals` decimals, rounding half up (`decimals` ≤ 6).
    pub fn to_decimal(self, decimals: u32) -> String {
        format_fixed(self.0 as i128, 6, decimals)
    }

    /// Whether this price is a whole multiple of `tick`.
    pub fn is_on_tick(self, tick: Price) -> bool {
        tick.0 > 0 && self.0 % tick.0 == 0
    }

    /// Rounds to a multiple of `tick` in the given direction.
    pub fn round_to_tick(self, tick: Price, rounding: Rounding) -> Price {
        if tick.0 <= 0 {
            return self;
        }
        Price((div_round(self.0 as i128, tick.0 as i128, rounding) * tick.0 as i128) as i64)
    }
}

impl Qty {
    /// Zero shares.
    pub const ZERO: Qty = Qty(0);

    /// One micro-share, the smallest quantity.
    pub const MICRO_SHARE: Qty = Qty(1);

    /// A whole number of shares (`n` up to ±9.2e12; beyond that a const context fails to
    /// compile and a debug build panics).
    pub const fn shares(n: i64) -> Qty {
        Qty(n * SHARE)
    }

    /// Parses a decimal share count such as `"13.00"` or `"10.3571"` exactly; more than 6
    /// decimals is an error.
    pub fn parse(s: &str) -> Result<Qty, PluginError> {
        parse_fixed(s, 6).map(Qty)
    }

    /// Formats with exactly `decimals` decimals, rounding half up (`decimals` ≤ 6; more is
    /// treated as 6).
    pub fn to_decimal(self, decimals: u32) -> String {
        format_fixed(self.0 as i128, 6, decimals)
    }

    /// Cost of `self` shares at `price`, rounded as asked; `None` when it does not fit an
    /// `i64` of micro-dollars (only possible for a price above $1 or below −$1).
    pub fn checked_notional(self, price: Price, rounding: Rounding) -> Option<Usd> {
        // price µ$ × qty µshares = µ$ · 1e-6: exact in i128 (|product| < 2^126).
        let v = div_round(price.0 as i128 * self.0 as i128, SHARE as i128, rounding);
        i64::try_from(v).ok().map(Usd)
    }

    /// Cost of `self` shares at `price`, rounded as asked, saturating at `Usd(i64::MAX)` /
    /// `Usd(i64::MIN)` (never wraps). Within `[−$1, $1]` the result never exceeds the
    /// quantity in magnitude, so it always fits; code on untrusted prices calls
    /// [`Qty::checked_notional`].
    pub fn notional(self, price: Price, rounding: Rounding) -> Usd {
        self.checked_notional(price, rounding).unwrap_or({
            if (price.0 < 0) == (self.0 < 0) {
                Usd(i64::MAX)
            } else {
                Usd(i64::MIN)
            }
        })
    }

    /// What a settled position pays: `self` shares times `payout` per share, rounded down.
    pub fn payout(self, payout: Price) -> Usd {
        self.notional(payout, Rounding::Down)
    }

    /// Rounds to a multiple of `step` in the given direction (a venue's size increment);
    /// unchanged when `step` is not positive.
    pub fn round_to_step(self, step: Qty, rounding: Rounding) -> Qty {
        if step.0 <= 0 {
            return self;
        }
        let v = div_round(self.0 as i128, step.0 as i128, rounding) * step.0 as i128;
        Qty(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The smaller of two quantities.
    pub fn min(self, other: Qty) -> Qty {
        if self <= other {
            self
        } else {
            other
        }
    }
}

impl Usd {
    /// Zero dollars.
    pub const ZERO: Usd = Usd(0);

    /// Whole dollars.
    pub const fn dollars(n: i64) -> Usd {
        Usd(n * MICRO)
    }

    /// Parses a decimal dollar string such as `"1234.5678"` exactly (up to 6 decimals).
    pub fn parse(s: &str) -> Result<Usd, PluginError> {
        parse_fixed(s, 6).map(Usd)
    }

    /// Whole cents, as Kalshi's balance reports it.
    pub const fn from_cents(cents: i64) -> Usd {
        Usd(cents * 10_000)
    }

    /// Formats with `decimals` decimals, rounding half up (`decimals` ≤ 6).
    pub fn to_decimal(self, decimals: u32) -> String {
        format_fixed(self.0 as i128, 6, decimals)
    }

    /// Rounds to a multiple of `unit` micro-dollars (e.g. 10_000 for a cent).
    pub fn round_to(self, unit: i64, rounding: Rounding) -> Usd {
        Usd((div_round(self.0 as i128, unit as i128, rounding) * unit as i128) as i64)
    }
}

macro_rules! arith {
    ($t:ident) => {
        impl std::ops::Add for $t {
            type Output = $t;
            fn add(self, o: $t) -> $t {
                $t(self.0 + o.0)
            }
        }
        impl std::ops::Sub for $t {
            type Output = $t;
            fn sub(self, o: $t) -> $t {
                $t(self.0 - o.0)
            }
        }
        impl std::ops::AddAssign for $t {
            fn add_assign(&mut self, o: $t) {
                self.0 += o.0;
            }
        }
        impl std::ops::SubAssign for $t {
            fn sub_assign(&mut self, o: $t) {
                self.0 -= o.0;
            }
        }
        impl std::ops::Neg for $t {
            type Output = $t;
            fn neg(self) -> $t {
                $t(-self.0)
            }
        }
        impl std::iter::Sum for $t {
            fn sum<I: Iterator<Item = $t>>(iter: I) -> $t {
                $t(iter.map(|x| x.0).sum())
            }
        }
    };
}
arith!(Price);
arith!(Qty);
arith!(Usd);

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trim_zeros(format_fixed(self.0 as i128, 6, 6), 2))
    }
}
impl fmt::Display for Qty {
    /// Decimal shares, at least two decimals and as many as needed (`10.00`, `10.3571`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trim_zeros(format_fixed(self.0 as i128, 6, 6), 2))
    }
}
impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&trim_zeros(format_fixed(self.0 as i128, 6, 6), 2))
    }
}

fn trim_zeros(s: String, keep: usize) -> String {
    let Some(dot) = s.find('.') else { return s };
    let mut end = s.len();
    while end > dot + 1 + keep && s.as_bytes()[end - 1] == b'0' {
        end -= 1;
    }
    s[..end].to_string()
}

/// Parses a decimal string into an integer scaled by 10^`scale`, refusing excess precision.
fn parse_fixed(s: &str, scale: u32) -> Result<i64, PluginError> {
    let bad = |why: &str| {
        PluginError::new(
            ErrorKind::Parse,
            format!("invalid decimal {s:?}: {why} (at most {scale} decimals)"),
        )
    };
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if body.is_empty() {
        return Err(bad("empty"));
    }
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return Err(bad("no digits"));
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not a number"));
    }
    let frac_trimmed = frac.trim_end_matches('0');
    if frac_trimmed.len() > scale as usize {
        return Err(bad("too many decimals"));
    }
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v * 10 + (b - b'0') as i128;
        if v > i64::MAX as i128 {
            return Err(bad("out of range"));
        }
    }
    let mut f: i128 = 0;
    for i in 0..scale as usize {
        let d = frac_trimmed
            .as_bytes()
            .get(i)
            .map_or(0, |b| (b - b'0') as i128);
        f = f * 10 + d;
    }
    let total = v * 10i128.pow(scale) + f;
    if total > i64::MAX as i128 {
        return Err(bad("out of range"));
    }
    Ok(if neg { -(total as i64) } else { total as i64 })
}

/// Formats an integer scaled by 10^`scale` with `decimals` decimals, rounding half up.
fn format_fixed(v: i128, scale: u32, decimals: u32) -> String {
    let decimals = decimals.min(scale);
    let drop = 10i128.pow(scale - decimals);
    let r = div_round(v, drop, Rounding::HalfUp);
    let neg = r < 0;
    let a = r.unsigned_abs();
    let unit = 10u128.pow(decimals);
    let int = a / unit;
    let frac = a % unit;
    let sign = if neg { "-" } else { "" };
    if decimals == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac:0width$}", width = decimals as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        assert_eq!(Price::parse("0.3500").unwrap(), Price(350_000));
        assert_eq!(Price::parse("1").unwrap(), Price::ONE);
        assert_eq!(Price::parse(".5").unwrap(), Price(500_000));
        assert_eq!(Qty::parse("13.00").unwrap(), Qty::shares(13));
        assert_eq!(Qty::parse("0.01").unwrap(), Qty(10_000));
        assert_eq!(Usd::parse("-2.5").unwrap(), Usd(-2_500_000));
        assert!(Price::parse("0.1234567").is_err());
        assert!(Price::parse("abc").is_err());
        assert!(Price::parse("").is_err());
        assert!(Price::parse("1e5").is_err());
    }

    #[test]
    fn formats_fixed() {
        assert_eq!(Price(350_000).to_decimal(4), "0.3500");
        assert_eq!(Qty::shares(13).to_decimal(2), "13.00");
        assert_eq!(Usd(-1_234_567).to_decimal(2), "-1.23");
        assert_eq!(Usd(5_000).to_decimal(2), "0.01");
        assert_eq!(Price(550_000).to_string(), "0.55");
        assert_eq!(Price(555_500).to_string(), "0.5555");
    }

    #[test]
    fn notional_rounds_as_asked() {
        // 3.33 shares at $0.333333 = $1.10999889
        let q = Qty::parse("3.33").unwrap();
        let p = Price(333_333);
        assert_eq!(q.notional(p, Rounding::Down), Usd(1_109_998));
        assert_eq!(q.notional(p, Rounding::Up), Usd(1_109_999));
        assert_eq!(
            Qty::shares(10).notional(Price(550_000), Rounding::Down),
            Usd::dollars(5) + Usd(500_000)
        );
    }

    #[test]
    fn tick_rounding() {
        let tick = Price(10_000);
        assert_eq!(
            Price(555_000).round_to_tick(tick, Rounding::Down),
            Price(550_000)
        );
        assert_eq!(
            Price(555_000).round_to_tick(tick, Rounding::Up),
            Price(560_000)
        );
        assert!(Price(550_000).is_on_tick(tick));
        assert!(!Price(555_000).is_on_tick(tick));
    }

    #[test]
    fn qty_has_six_decimals_like_polymarket_tokens() {
        // A FOK BUY that bought more than asked: 10.3571 shares, not 10.35.
        let q = Qty::parse("10.3571").unwrap();
        assert_eq!(q, Qty(10_357_100));
        assert_eq!(q.to_decimal(6), "10.357100");
        assert_eq!(q.to_decimal(4), "10.3571");
        assert_eq!(q.to_decimal(2), "10.36");
        assert_eq!(q.to_string(), "10.3571");
        assert_eq!(Qty::shares(10).to_string(), "10.00");
        assert_eq!(Qty::parse("0.000001").unwrap(), Qty::MICRO_SHARE);
        assert_eq!(Qty::parse("-0.5").unwrap().to_string(), "-0.50");
        assert_eq!(Qty::parse("1.2345670").unwrap(), Qty(1_234_567));
        let e = Qty::parse("0.0000001").unwrap_err();
        assert!(e.message.contains("too many decimals"), "{e:?}");
        assert!(Qty::parse("10.3571234").is_err());
        assert!(Qty::parse("9223372036854.775808").is_err(), "out of range");
        assert_eq!(Qty::parse("9223372036854.775807").unwrap(), Qty(i64::MAX));
    }

    #[test]
    fn notional_of_micro_shares_is_exact_and_checked() {
        // 10.3571 shares at $0.45 = $4.660695.
        let q = Qty::parse("10.3571").unwrap();
        assert_eq!(q.notional(Price(450_000), Rounding::Down), Usd(4_660_695));
        assert_eq!(Qty(i64::MAX).payout(Price::ONE), Usd(i64::MAX));
        assert_eq!(
            Qty(i64::MAX).checked_notional(Price(2_000_000), Rounding::Down),
            None
        );
        assert_eq!(
            Qty(i64::MAX).notional(Price(2_000_000), Rounding::Down),
            Usd(i64::MAX)
        );
        assert_eq!(
            Qty(i64::MIN).notional(Price(2_000_000), Rounding::Down),
            Usd(i64::MIN)
        );
        let step = Qty::parse("0.01").unwrap();
        assert_eq!(
            q.round_to_step(step, Rounding::Down),
            Qty::parse("10.35").unwrap()
        );
        assert_eq!(
            q.round_to_step(step, Rounding::Up),
            Qty::parse("10.36").unwrap()
        );
    }

    proptest::proptest! {
        #[test]
        fn qty_roundtrips(v in (i64::MIN + 1)..=i64::MAX) {
            let q = Qty(v);
            proptest::prop_assert_eq!(Qty::parse(&q.to_decimal(6)).unwrap(), q);
            proptest::prop_assert_eq!(Qty::parse(&q.to_string()).unwrap(), q);
        }

        #[test]
        fn price_roundtrips(v in 0i64..=1_000_000) {
            let p = Price(v);
            proptest::prop_assert_eq!(Price::parse(&p.to_decimal(6)).unwrap(), p);
        }
    }
}

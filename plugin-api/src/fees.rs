//! Taker fee schedules as data. A venue plugin describes what its venue charges in
//! [`crate::InstrumentRules::taker_fee`]; strategies price proposals with it and simulators book
//! fills with it, so both compute the same cents without plugin-api knowing any venue.
//!
//! A schedule is a sum of up to [`MAX_FEE_TERMS`] terms, each `coefficient × shape(p)`, charged
//! per share or once per fill, then rounded once per fill:
//!
//! ```text
//! fee(p, q) = round( Σ term.ppm/1e6 $ × shape(p) × (q if per share, else 1) )
//! ```
//!
//! Examples (all built with [`FeeModel::new`] or the constructors below):
//!
//! | venue                       | terms                                | rounding                 |
//! |-----------------------------|--------------------------------------|--------------------------|
//! | Polymarket (polymarket.md §5) | `rate · p(1−p)` per share          | 10 µ$ half-up, min 10 µ$ |
//! | Kalshi taker (kalshi.md §4) | `70 000 ppm · p(1−p)` per share      | 1¢ up                    |
//! | 2¢/contract + 1% notional   | `20 000 · 1` and `10 000 · p` per share | 1¢ down               |
//!
//! The arithmetic is exact (i128) and checked: [`FeeModel::try_taker_fee`] returns an error when
//! the fee does not fit an `i64` of micro-dollars, and [`FeeModel::taker_fee`] saturates to
//! [`Usd`]`(i64::MAX)` instead (a fee that large makes every trade unprofitable, so a strategy
//! never proposes it). Nothing wraps.

use serde::{Deserialize, Serialize};

use crate::money::{div_round, Price, Qty, Rounding, Usd, MICRO, SHARE};

/// The most terms one schedule holds. Fixed so a [`FeeModel`] stays `Copy` (it sits in every
/// instrument's rules, read on the hot path).
pub const MAX_FEE_TERMS: usize = 4;

/// Kalshi's standard taker rate, 0.07, in parts per million (kalshi.md §4).
pub const KALSHI_TAKER_RATE_PPM: u32 = 70_000;

/// Every shape is a fraction of one dollar-per-share in units of 1e-12, so `p · (1 − p)` (two
/// micro-dollar prices multiplied) is exact.
const SHAPE_ONE: i128 = MICRO as i128 * MICRO as i128;
/// One micro-dollar in the units [`FeeModel::try_taker_fee`] sums in (1e-24 $): micro-shares
/// (1e-6) × ppm (1e-6) × shape (1e-12) = 1e-24, and a micro-dollar is 1e-6.
const PER_MICRO: i128 = SHARE as i128 * SHAPE_ONE;

/// A function of the fill price `p` (dollars per share, in `[0, 1]`) that a term scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeShape {
    /// `1`: a flat amount.
    One,
    /// `p`: a share of the notional paid.
    P,
    /// `1 − p`: a share of the payout at risk.
    OneMinusP,
    /// `p · (1 − p)`: Polymarket's and Kalshi's variance-shaped fee.
    PTimesOneMinusP,
    /// `min(p, 1 − p)`: charged on the cheaper side of the binary.
    MinPOneMinusP,
}

impl FeeShape {
    /// The shape at `p` (micro-dollars, within `[0, 1_000_000]`) in units of 1e-12.
    fn value(self, p: i128) -> i128 {
        let m = MICRO as i128;
        match self {
            FeeShape::One => SHAPE_ONE,
            FeeShape::P => p * m,
            FeeShape::OneMinusP => (m - p) * m,
            FeeShape::PTimesOneMinusP => p * (m - p),
            FeeShape::MinPOneMinusP => p.min(m - p) * m,
        }
    }
}

/// What a term is multiplied by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeBasis {
    /// Every share (contract) filled.
    PerShare,
    /// Once per fill, whatever its size (a per-order fee when the order fills at once).
    PerFill,
}

/// One term of a schedule: `ppm / 1e6` dollars × `shape(p)`, per share or per fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeTerm {
    /// The coefficient in parts per million of one dollar (micro-dollars): `70_000` with
    /// [`FeeShape::PTimesOneMinusP`] is Kalshi's 0.07, `20_000` with [`FeeShape::One`] is 2¢.
    pub ppm: u32,
    /// The function of the price it scales.
    pub shape: FeeShape,
    /// Per share or per fill.
    pub basis: FeeBasis,
}

impl FeeTerm {
    /// A per-share term.
    pub const fn per_share(ppm: u32, shape: FeeShape) -> FeeTerm {
        FeeTerm {
            ppm,
            shape,
            basis: FeeBasis::PerShare,
        }
    }

    /// A per-fill term.
    pub const fn per_fill(ppm: u32, shape: FeeShape) -> FeeTerm {
        FeeTerm {
            ppm,
            shape,
            basis: FeeBasis::PerFill,
        }
    }

    /// The filler in unused slots (never serialized, never summed).
    const UNUSED: FeeTerm = FeeTerm::per_share(0, FeeShape::One);

    /// This term's exact value in 1e-24 dollars, `None` on overflow.
    fn exact(&self, p: i128, qty: i128) -> Option<i128> {
        let times = match self.basis {
            FeeBasis::PerShare => qty,
            FeeBasis::PerFill => SHARE as i128,
        };
        times
            .checked_mul(i128::from(self.ppm))?
            .checked_mul(self.shape.value(p))
    }
}

/// How the summed fee of one fill becomes money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRounding {
    /// The unit the fee is rounded to, in micro-dollars (`10_000` is a cent); at least 1.
    pub unit_micro: u32,
    /// Which way.
    pub mode: Rounding,
    /// The least fee charged when the exact fee is positive, in micro-dollars (0 for none).
    pub minimum_micro: u32,
}

impl FeeRounding {
    /// Exact micro-dollars, rounded down: the identity for whole micro-dollars.
    pub const EXACT: FeeRounding = FeeRounding {
        unit_micro: 1,
        mode: Rounding::Down,
        minimum_micro: 0,
    };
}

/// Why a schedule is invalid or a fee cannot be computed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// More terms than [`MAX_FEE_TERMS`].
    #[error("fee schedule has {0} terms, at most {MAX_FEE_TERMS} are allowed")]
    TooManyTerms(usize),
    /// A rounding unit of zero.
    #[error("fee schedule rounds to a unit of 0 micro-dollars; the unit must be at least 1")]
    ZeroUnit,
    /// The price is outside `[0, $1]`.
    #[error("fee asked for price {0} micro-dollars, outside [0, 1_000_000]")]
    PriceOutOfRange(i64),
    /// The fee does not fit an `i64` of micro-dollars.
    #[error("fee of {qty} micro-shares at {price} micro-dollars overflows")]
    Overflow {
        /// The fill size.
        qty: i64,
        /// The fill price.
        price: i64,
    },
}

/// A taker fee schedule: terms summed per fill, then rounded. Built only through validated
/// constructors and deserialization, so every value is well-formed; the host rejects a plugin's
/// malformed schedule when it decodes the plugin's [`crate::InstrumentRules`].
///
/// JSON form (what crosses the plugin boundary):
///
/// ```json
/// {"terms": [{"ppm": 70000, "shape": "p_times_one_minus_p", "basis": "per_share"}],
///  "rounding": {"unit_micro": 10000, "mode": "up", "minimum_micro": 0}}
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "FeeModelWire", into = "FeeModelWire")]
pub struct FeeModel {
    terms: [FeeTerm; MAX_FEE_TERMS],
    len: u8,
    rounding: FeeRounding,
}

/// The serialized shape of a [`FeeModel`]; decoding validates it.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeModelWire {
    terms: Vec<FeeTerm>,
    rounding: FeeRounding,
}

impl TryFrom<FeeModelWire> for FeeModel {
    type Error = FeeError;

    fn try_from(w: FeeModelWire) -> Result<Self, FeeError> {
        FeeModel::new(&w.terms, w.rounding)
    }
}

impl From<FeeModel> for FeeModelWire {
    fn from(m: FeeModel) -> Self {
        FeeModelWire {
            terms: m.terms().to_vec(),
            rounding: m.rounding,
        }
    }
}

impl FeeModel {
    /// No fee at all.
    pub const FREE: FeeModel = FeeModel {
        terms: [FeeTerm::UNUSED; MAX_FEE_TERMS],
        len: 0,
        rounding: FeeRounding::EXACT,
    };

    /// Kalshi's standard taker fee (0.07).
    pub const KALSHI_TAKER: FeeModel = FeeModel::kalshi(KALSHI_TAKER_RATE_PPM);

    /// Kalshi's taker fee at `rate_ppm`: `ceil_to_cent(rate · C · P · (1 − P))` (kalshi.md §4).
    pub const fn kalshi(rate_ppm: u32) -> FeeModel {
        FeeModel::one_term(
            FeeTerm::per_share(rate_ppm, FeeShape::PTimesOneMinusP),
            FeeRounding {
                unit_micro: 10_000,
                mode: Rounding::Up,
                minimum_micro: 0,
            },
        )
    }

    /// Polymarket's taker fee at `rate_ppm` (sports: 50_000 since 2026-07-10):
    /// `C · rate · p · (1 − p)` rounded half-up to 5 decimals, at least 0.00001 when positive
    /// (polymarket.md §5).
    pub const fn polymarket(rate_ppm: u32) -> FeeModel {
        FeeModel::one_term(
            FeeTerm::per_share(rate_ppm, FeeShape::PTimesOneMinusP),
            FeeRounding {
                unit_micro: 10,
                mode: Rounding::HalfUp,
                minimum_micro: 10,
            },
        )
    }

    /// A one-term schedule, for the built-in constructors above (whose units are non-zero, the
    /// one rule [`FeeModel::new`] checks that a single term could break).
    const fn one_term(term: FeeTerm, rounding: FeeRounding) -> FeeModel {
        let mut terms = [FeeTerm::UNUSED; MAX_FEE_TERMS];
        terms[0] = term;
        FeeModel {
            terms,
            len: 1,
            rounding,
        }
    }

    /// A schedule from its terms and rounding, validated: at most [`MAX_FEE_TERMS`] terms and
    /// a rounding unit of at least one micro-dollar.
    pub fn new(terms: &[FeeTerm], rounding: FeeRounding) -> Result<FeeModel, FeeError> {
        if terms.len() > MAX_FEE_TERMS {
            return Err(FeeError::TooManyTerms(terms.len()));
        }
        if rounding.unit_micro == 0 {
            return Err(FeeError::ZeroUnit);
        }
        let mut m = FeeModel {
            terms: [FeeTerm::UNUSED; MAX_FEE_TERMS],
            len: terms.len() as u8,
            rounding,
        };
        m.terms[..terms.len()].copy_from_slice(terms);
        Ok(m)
    }

    /// The terms summed per fill.
    pub fn terms(&self) -> &[FeeTerm] {
        &self.terms[..usize::from(self.len)]
    }

    /// How a fill's sum is rounded.
    pub fn rounding(&self) -> FeeRounding {
        self.rounding
    }

    /// The taker fee for one fill of `qty` shares at `price`, exactly; an error when `price`
    /// is outside `[0, $1]` or the fee does not fit. A fill of no shares costs nothing.
    pub fn try_taker_fee(&self, price: Price, qty: Qty) -> Result<Usd, FeeError> {
        if qty.0 <= 0 {
            return Ok(Usd::ZERO);
        }
        if !(0..=MICRO).contains(&price.0) {
            return Err(FeeError::PriceOutOfRange(price.0));
        }
        let overflow = FeeError::Overflow {
            qty: qty.0,
            price: price.0,
        };
        let (p, q) = (i128::from(price.0), i128::from(qty.0));
        let mut exact: i128 = 0;
        for t in self.terms() {
            exact = t
                .exact(p, q)
                .and_then(|v| exact.checked_add(v))
                .ok_or_else(|| overflow.clone())?;
        }
        if exact == 0 {
            return Ok(Usd::ZERO);
        }
        let unit = i128::from(self.rounding.unit_micro);
        let rounded = unit
            .checked_mul(PER_MICRO)
            .map(|d| div_round(exact, d, self.rounding.mode))
            .and_then(|n| n.checked_mul(unit))
            .ok_or_else(|| overflow.clone())?;
        // Terms are never negative, so a non-zero exact fee is positive.
        let fee = rounded.max(i128::from(self.rounding.minimum_micro));
        i64::try_from(fee).map(Usd).map_err(|_| overflow)
    }

    /// The taker fee for one fill of `qty` shares at `price`, saturating to `Usd(i64::MAX)`
    /// when [`FeeModel::try_taker_fee`] errors (a fee no trade can pay, so a strategy never
    /// proposes it). Code that books a fee should call `try_taker_fee` and report the error.
    pub fn taker_fee(&self, price: Price, qty: Qty) -> Usd {
        self.try_taker_fee(price, qty).unwrap_or(Usd(i64::MAX))
    }
}

#[cfg(test)]
mod tests;

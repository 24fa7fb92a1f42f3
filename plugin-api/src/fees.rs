//! Venue fee formulas, shared by paper-sim and strategies so both compute the same cents.

use abi_stable::StableAbi;
use serde::{Deserialize, Serialize};

use crate::money::{div_round, Price, Qty, Rounding, Usd, CENTI, MICRO};

/// Which fee formula a venue charges takers.
#[repr(u8)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeFormula {
    /// No fee.
    None = 0,
    /// Polymarket: `C · rate · p · (1 − p)`, rounded to 5 decimals (polymarket.md §5).
    Polymarket = 1,
    /// Kalshi: `ceil_to_cent(rate · C · P · (1 − P))` with rate 0.07 for takers (kalshi.md §4).
    Kalshi = 2,
}

/// A taker fee model: formula and rate in parts per million (`70_000` is 0.07).
#[repr(C)]
#[derive(StableAbi, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeModel {
    /// The formula.
    pub formula: FeeFormula,
    /// The rate in parts per million.
    pub rate_ppm: u32,
}

impl FeeModel {
    /// No fee at all.
    pub const FREE: FeeModel = FeeModel {
        formula: FeeFormula::None,
        rate_ppm: 0,
    };

    /// Kalshi's standard taker fee (0.07).
    pub const KALSHI_TAKER: FeeModel = FeeModel {
        formula: FeeFormula::Kalshi,
        rate_ppm: 70_000,
    };

    /// Polymarket's taker fee at `rate_ppm` (sports: 50_000 since 2026-07-10).
    pub const fn polymarket(rate_ppm: u32) -> FeeModel {
        FeeModel {
            formula: FeeFormula::Polymarket,
            rate_ppm,
        }
    }

    /// The taker fee for one fill of `qty` shares at `price`.
    pub fn taker_fee(&self, price: Price, qty: Qty) -> Usd {
        if qty.0 <= 0 || self.rate_ppm == 0 {
            return Usd::ZERO;
        }
        // Exact value in units of 1e-20 dollars: qty(1e-2) · rate(1e-6) · p(1e-6) · (1−p)(1e-6).
        let exact = qty.0 as i128
            * self.rate_ppm as i128
            * price.0 as i128
            * (MICRO as i128 - price.0 as i128);
        // 1e-20 → 1e-6 (micro-dollars) is a division by 1e14.
        let per_micro: i128 = CENTI as i128 * MICRO as i128 * MICRO as i128;
        match self.formula {
            FeeFormula::None => Usd::ZERO,
            FeeFormula::Polymarket => {
                // Rounded to 5 decimals (10 µ$), at least 0.00001 when positive.
                let v = div_round(exact, per_micro * 10, Rounding::HalfUp) * 10;
                Usd((v as i64).max(if exact > 0 { 10 } else { 0 }))
            }
            FeeFormula::Kalshi => {
                // Up to the cent (10_000 µ$).
                Usd((div_round(exact, per_micro * 10_000, Rounding::Up) * 10_000) as i64)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kalshi_examples_from_the_fee_schedule() {
        // kalshi.md §4: 10 @ $0.50 → $0.175 → $0.18; 1 @ $0.50 → $0.02.
        let f = FeeModel::KALSHI_TAKER;
        assert_eq!(f.taker_fee(Price(500_000), Qty::shares(10)), Usd(180_000));
        assert_eq!(f.taker_fee(Price(500_000), Qty::shares(1)), Usd(20_000));
        // 100 @ $0.40: 0.07·100·0.4·0.6 = 1.68 exactly.
        assert_eq!(
            f.taker_fee(Price(400_000), Qty::shares(100)),
            Usd(1_680_000)
        );
    }

    #[test]
    fn polymarket_rounds_to_five_decimals() {
        let f = FeeModel::polymarket(50_000);
        // 100 · 0.05 · 0.5 · 0.5 = 1.25
        assert_eq!(
            f.taker_fee(Price(500_000), Qty::shares(100)),
            Usd(1_250_000)
        );
        // 1 · 0.05 · 0.01 · 0.99 = 0.000495 → 0.00050
        assert_eq!(f.taker_fee(Price(10_000), Qty::shares(1)), Usd(500));
        // 0.01 shares · 0.05 · 0.001 · 0.999 ≈ 5e-7 → minimum 0.00001
        assert_eq!(f.taker_fee(Price(1_000), Qty(1)), Usd(10));
        assert_eq!(
            FeeModel::FREE.taker_fee(Price(500_000), Qty::shares(100)),
            Usd::ZERO
        );
    }
}

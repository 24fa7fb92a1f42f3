use super::*;
use proptest::prelude::*;

/// Hundredths of a share in one share: the unit `Qty` had before micro-shares.
const CENTI: i64 = 100;

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
    assert_eq!(
        f.taker_fee(Price(1_000), Qty::parse("0.01").unwrap()),
        Usd(10)
    );
    // One micro-share still pays the minimum; 10.3571 shares at $0.45:
    // 10.3571 · 0.05 · 0.45 · 0.55 = 0.128168... → 0.12817.
    assert_eq!(f.taker_fee(Price(450_000), Qty::MICRO_SHARE), Usd(10));
    assert_eq!(
        f.taker_fee(Price(450_000), Qty::parse("10.3571").unwrap()),
        Usd(128_170)
    );
    assert_eq!(
        FeeModel::FREE.taker_fee(Price(500_000), Qty::shares(100)),
        Usd::ZERO
    );
}

#[test]
fn a_schedule_neither_venue_uses() {
    // 2¢ per contract + 1% of notional, rounded down to the cent.
    let f = FeeModel::new(
        &[
            FeeTerm::per_share(20_000, FeeShape::One),
            FeeTerm::per_share(10_000, FeeShape::P),
        ],
        FeeRounding {
            unit_micro: 10_000,
            mode: Rounding::Down,
            minimum_micro: 0,
        },
    )
    .unwrap();
    // 7 @ $0.43: 0.14 + 0.0301 = 0.1701 → $0.17.
    assert_eq!(f.taker_fee(Price(430_000), Qty::shares(7)), Usd(170_000));
    // 0.5 shares @ $0.99: 0.01 + 0.00495 → $0.01.
    assert_eq!(
        f.taker_fee(Price(990_000), Qty::parse("0.5").unwrap()),
        Usd(10_000)
    );
    // A per-fill term does not scale with size; min(p, 1−p) takes the cheaper side.
    let g = FeeModel::new(
        &[
            FeeTerm::per_fill(250_000, FeeShape::One),
            FeeTerm::per_share(100_000, FeeShape::MinPOneMinusP),
            FeeTerm::per_share(10_000, FeeShape::OneMinusP),
        ],
        FeeRounding::EXACT,
    )
    .unwrap();
    // 0.25 + 3 · (0.1 · 0.2) + 3 · (0.01 · 0.2) = 0.25 + 0.06 + 0.006.
    assert_eq!(g.taker_fee(Price(800_000), Qty::shares(3)), Usd(316_000));
}

#[test]
fn json_shape_round_trips_and_is_validated() {
    let j = serde_json::to_value(FeeModel::KALSHI_TAKER).unwrap();
    assert_eq!(
        j,
        serde_json::json!({
            "terms": [{"ppm": 70000, "shape": "p_times_one_minus_p", "basis": "per_share"}],
            "rounding": {"unit_micro": 10000, "mode": "up", "minimum_micro": 0}
        })
    );
    for m in [
        FeeModel::FREE,
        FeeModel::KALSHI_TAKER,
        FeeModel::polymarket(40_000),
    ] {
        let back: FeeModel = serde_json::from_value(serde_json::to_value(m).unwrap()).unwrap();
        assert_eq!(back, m);
    }
    let term = serde_json::json!({"ppm": 1, "shape": "one", "basis": "per_fill"});
    let rounding = serde_json::json!({"unit_micro": 1, "mode": "down", "minimum_micro": 0});
    let bad = [
        (
            serde_json::json!({"terms": [term, term, term, term, term], "rounding": rounding}),
            "5 terms",
        ),
        (
            serde_json::json!({"terms": [term],
                "rounding": {"unit_micro": 0, "mode": "down", "minimum_micro": 0}}),
            "unit of 0",
        ),
        (
            serde_json::json!({"terms": [{"ppm": 1, "shape": "p_squared", "basis": "per_fill"}],
                "rounding": rounding}),
            "p_squared",
        ),
        (
            serde_json::json!({"terms": [term], "rounding": rounding, "cap_micro": 5}),
            "cap_micro",
        ),
        (
            serde_json::json!({"terms": [{"ppm": -1, "shape": "one", "basis": "per_fill"}],
                "rounding": rounding}),
            "-1",
        ),
    ];
    for (v, want) in bad {
        let e = serde_json::from_value::<FeeModel>(v.clone()).unwrap_err();
        assert!(e.to_string().contains(want), "{v}: {e}");
    }
}

#[test]
fn too_large_or_off_range_is_an_error_never_a_wrap() {
    let f = FeeModel::new(
        &[FeeTerm::per_share(u32::MAX, FeeShape::One); MAX_FEE_TERMS],
        FeeRounding::EXACT,
    )
    .unwrap();
    let e = f.try_taker_fee(Price(500_000), Qty(i64::MAX)).unwrap_err();
    assert!(matches!(e, FeeError::Overflow { .. }), "{e}");
    assert_eq!(f.taker_fee(Price(500_000), Qty(i64::MAX)), Usd(i64::MAX));
    // Fits i128 but not an i64 of micro-dollars ($2 a share on 9.2e12 shares).
    let two_dollars = FeeModel::new(
        &[FeeTerm::per_share(2_000_000, FeeShape::One)],
        FeeRounding::EXACT,
    )
    .unwrap();
    let e = two_dollars
        .try_taker_fee(Price(500_000), Qty(i64::MAX))
        .unwrap_err();
    assert!(matches!(e, FeeError::Overflow { .. }), "{e}");
    assert_eq!(
        FeeModel::KALSHI_TAKER.try_taker_fee(Price(1_000_001), Qty::shares(1)),
        Err(FeeError::PriceOutOfRange(1_000_001))
    );
    assert_eq!(
        FeeModel::KALSHI_TAKER.try_taker_fee(Price(-1), Qty::shares(1)),
        Err(FeeError::PriceOutOfRange(-1))
    );
    assert_eq!(
        FeeModel::KALSHI_TAKER.try_taker_fee(Price(-1), Qty::ZERO),
        Ok(Usd::ZERO)
    );
}

// The formulas as they were written before fees became data (the closed `FeeFormula` enum),
// kept verbatim as the oracle the data-form schedules must match, except that they take the
// quantity in hundredths of a share (`qty_c`), the unit `Qty` had when they were written.
fn old_polymarket(rate_ppm: u32, price: Price, qty_c: i64) -> Usd {
    if qty_c <= 0 || rate_ppm == 0 {
        return Usd::ZERO;
    }
    let exact =
        qty_c as i128 * rate_ppm as i128 * price.0 as i128 * (MICRO as i128 - price.0 as i128);
    let per_micro: i128 = CENTI as i128 * MICRO as i128 * MICRO as i128;
    let v = div_round(exact, per_micro * 10, Rounding::HalfUp) * 10;
    Usd((v as i64).max(if exact > 0 { 10 } else { 0 }))
}

fn old_kalshi(rate_ppm: u32, price: Price, qty_c: i64) -> Usd {
    if qty_c <= 0 || rate_ppm == 0 {
        return Usd::ZERO;
    }
    let exact =
        qty_c as i128 * rate_ppm as i128 * price.0 as i128 * (MICRO as i128 - price.0 as i128);
    let per_micro: i128 = CENTI as i128 * MICRO as i128 * MICRO as i128;
    Usd((div_round(exact, per_micro * 10_000, Rounding::Up) * 10_000) as i64)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn data_schedules_equal_the_old_formulas(
        price in 0i64..=MICRO,
        // Up to 1e10 shares: the old formulas' i64 results cannot wrap below that.
        qty in prop_oneof![-10i64..=10_000, -10i64..=1_000_000_000_000],
        rate in prop_oneof![Just(0u32), Just(50_000u32), Just(70_000u32), 0u32..=1_000_000],
    ) {
        // `qty` is in hundredths, the old unit; the same quantity in micro-shares.
        let (p, q) = (Price(price), Qty(qty * (SHARE / CENTI)));
        prop_assert_eq!(FeeModel::polymarket(rate).try_taker_fee(p, q), Ok(old_polymarket(rate, p, qty)));
        prop_assert_eq!(FeeModel::kalshi(rate).try_taker_fee(p, q), Ok(old_kalshi(rate, p, qty)));
        prop_assert_eq!(FeeModel::KALSHI_TAKER.taker_fee(p, q), old_kalshi(70_000, p, qty));
    }
}

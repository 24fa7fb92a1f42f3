//! Every limit exactly at vs one unit over, all reasons at once, resizing and conformance.

use super::*;
use plugin_api::{Mode, Qty, RiskReason, Usd, VenueCash};
use serde_json::json;

fn usd(s: &str) -> Usd {
    Usd::parse(s).unwrap()
}

fn snapshot() -> RiskSnapshot {
    RiskSnapshot {
        mode: Mode::Paper,
        day: "2026-11-24".into(),
        trades_today: 0,
        loss_today: Usd::ZERO,
        open_exposure: Usd::ZERO,
        unhedged_exposure: Usd::ZERO,
        cash: vec![
            VenueCash {
                venue: "polymarket".into(),
                available: usd("1000"),
            },
            VenueCash {
                venue: "kalshi".into(),
                available: usd("1000"),
            },
        ],
    }
}

/// 100 shares: $45 on Polymarket, $50 on Kalshi (fees included), ROI 5.26 %.
fn proposal() -> RiskProposal {
    RiskProposal {
        pair: "lakers-celtics".into(),
        venue_a: "polymarket".into(),
        venue_b: "kalshi".into(),
        qty: Qty::shares(100),
        cost_a: usd("45"),
        cost_b: usd("50"),
        profit: usd("5"),
        roi_ppm: 52_631,
    }
}

fn policy(settings: serde_json::Value) -> Limits {
    Limits::create("test", settings).unwrap()
}

fn check(snap: &RiskSnapshot, p: &RiskProposal) -> RiskDecision {
    policy(json!({})).check(snap, p)
}

fn codes_of(d: &RiskDecision) -> Vec<&str> {
    match d {
        RiskDecision::Reject { reasons } => reasons.iter().map(|r| r.code.as_str()).collect(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn only_reason(d: &RiskDecision) -> &RiskReason {
    match d {
        RiskDecision::Reject { reasons } if reasons.len() == 1 => &reasons[0],
        other => panic!("expected exactly one reason, got {other:?}"),
    }
}

#[test]
fn a_normal_trade_is_approved() {
    assert_eq!(check(&snapshot(), &proposal()), RiskDecision::Approve);
}

#[test]
fn daily_loss_at_limit_passes_one_cent_over_fails() {
    let mut s = snapshot();
    s.loss_today = usd("500");
    assert_eq!(check(&s, &proposal()), RiskDecision::Approve);
    s.loss_today = usd("500.01");
    let d = check(&s, &proposal());
    let r = only_reason(&d);
    assert_eq!(r.code, codes::DAILY_LOSS_LIMIT);
    assert!(
        r.message.contains("$500.01") && r.message.contains("$500.00"),
        "{}",
        r.message
    );
}

#[test]
fn daily_trades_tenth_passes_eleventh_fails() {
    let mut s = snapshot();
    s.trades_today = 9;
    assert_eq!(check(&s, &proposal()), RiskDecision::Approve);
    s.trades_today = 10;
    let d = check(&s, &proposal());
    let r = only_reason(&d);
    assert_eq!(r.code, codes::MAX_DAILY_TRADES);
    assert!(
        r.message.contains("trade 11") && r.message.contains("10 trades"),
        "{}",
        r.message
    );
    // A zero limit stops all trading.
    let none = policy(json!({ "max_daily_trades": 0 }));
    assert_eq!(
        codes_of(&none.check(&snapshot(), &proposal())),
        [codes::MAX_DAILY_TRADES]
    );
}

#[test]
fn position_size_at_limit_passes_one_cent_over_resizes() {
    let mut p = proposal();
    p.cost_a = usd("500");
    p.cost_b = usd("500");
    assert_eq!(check(&snapshot(), &p), RiskDecision::Approve);
    p.cost_b = usd("500.01");
    // 100 shares for $1000.01 against $1000 (less 2 cents of fee headroom): 99.99799 → 99.
    match check(&snapshot(), &p) {
        RiskDecision::Resize { qty, reason } => {
            assert_eq!(qty, Qty::shares(99));
            assert_eq!(reason.code, codes::MAX_POSITION_SIZE);
            assert!(reason.message.contains("$1000.01"), "{}", reason.message);
            assert!(
                reason.message.contains("100.00 to 99.00"),
                "{}",
                reason.message
            );
        }
        other => panic!("expected a resize, got {other:?}"),
    }
}

#[test]
fn oversize_that_cannot_shrink_is_rejected() {
    let l = policy(json!({ "max_position_size": "0.50" }));
    let d = l.check(&snapshot(), &proposal());
    let r = only_reason(&d);
    assert_eq!(r.code, codes::MAX_POSITION_SIZE);
    assert!(
        r.message.contains("$95.00") && r.message.contains("$0.50"),
        "{}",
        r.message
    );
}

#[test]
fn min_roi_at_limit_passes_one_ppm_under_fails() {
    let mut p = proposal();
    p.roi_ppm = 10_000;
    assert_eq!(check(&snapshot(), &p), RiskDecision::Approve);
    p.roi_ppm = 9_999;
    let d = check(&snapshot(), &p);
    let r = only_reason(&d);
    assert_eq!(r.code, codes::MIN_ROI);
    assert!(
        r.message.contains("0.9999%") && r.message.contains("1.0000%"),
        "{}",
        r.message
    );
}

#[test]
fn balance_per_venue_at_cash_passes_one_cent_over_fails() {
    let mut s = snapshot();
    s.cash[0].available = usd("45");
    s.cash[1].available = usd("50");
    assert_eq!(check(&s, &proposal()), RiskDecision::Approve);
    s.cash[1].available = usd("49.99");
    let d = check(&s, &proposal());
    let r = only_reason(&d);
    assert_eq!(r.code, codes::INSUFFICIENT_BALANCE);
    assert!(
        r.message.contains("kalshi") && r.message.contains("$49.99"),
        "{}",
        r.message
    );
    // Both venues short: one reason each.
    s.cash[0].available = usd("44.99");
    assert_eq!(
        codes_of(&check(&s, &proposal())),
        [codes::INSUFFICIENT_BALANCE, codes::INSUFFICIENT_BALANCE]
    );
}

#[test]
fn balance_of_an_unknown_venue_or_one_venue_for_both_legs() {
    let mut s = snapshot();
    s.cash.remove(1);
    let d = check(&s, &proposal());
    assert!(only_reason(&d)
        .message
        .contains("no cash is reported for venue kalshi"));
    // Both legs on one venue must fit together: 45 + 50 = 95.
    let mut p = proposal();
    p.venue_b = "polymarket".into();
    s.cash[0].available = usd("95");
    assert_eq!(check(&s, &p), RiskDecision::Approve);
    s.cash[0].available = usd("94.99");
    assert_eq!(codes_of(&check(&s, &p)), [codes::INSUFFICIENT_BALANCE]);
}

#[test]
fn unhedged_exposure_at_limit_passes_one_cent_over_fails() {
    let mut s = snapshot();
    s.unhedged_exposure = usd("250");
    assert_eq!(check(&s, &proposal()), RiskDecision::Approve);
    s.unhedged_exposure = usd("250.01");
    let d = check(&s, &proposal());
    let r = only_reason(&d);
    assert_eq!(r.code, codes::MAX_UNHEDGED_EXPOSURE);
    assert!(
        r.message.contains("$250.01") && r.message.contains("$250.00"),
        "{}",
        r.message
    );
}

#[test]
fn every_reason_is_reported_at_once() {
    let mut s = snapshot();
    s.loss_today = usd("600");
    s.trades_today = 10;
    s.unhedged_exposure = usd("300");
    s.cash[0].available = usd("1");
    let mut p = proposal();
    p.roi_ppm = 0;
    p.cost_b = usd("1200");
    let d = check(&s, &p);
    let mut got = codes_of(&d);
    got.sort_unstable();
    let mut want = vec![
        codes::DAILY_LOSS_LIMIT,
        codes::MAX_DAILY_TRADES,
        codes::MAX_POSITION_SIZE,
        codes::MIN_ROI,
        codes::INSUFFICIENT_BALANCE,
        codes::INSUFFICIENT_BALANCE,
        codes::MAX_UNHEDGED_EXPOSURE,
    ];
    want.sort_unstable();
    assert_eq!(got, want);
    if let RiskDecision::Reject { reasons } = d {
        assert!(reasons.iter().all(|r| !r.message.is_empty()));
    }
}

#[test]
fn oversize_plus_another_problem_rejects_with_both() {
    let mut s = snapshot();
    s.trades_today = 10;
    let mut p = proposal();
    p.cost_a = usd("700");
    p.cost_b = usd("700");
    s.cash[0].available = usd("700");
    s.cash[1].available = usd("700");
    assert_eq!(
        codes_of(&check(&s, &p)),
        [codes::MAX_DAILY_TRADES, codes::MAX_POSITION_SIZE]
    );
}

#[test]
fn settings_change_the_limits() {
    let l =
        policy(json!({ "daily_loss_limit": 10, "min_roi": "0.06", "max_unhedged_exposure": 0 }));
    let mut s = snapshot();
    s.loss_today = usd("10.01");
    s.unhedged_exposure = usd("0.01");
    let d = l.check(&s, &proposal());
    let mut got = codes_of(&d);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            codes::DAILY_LOSS_LIMIT,
            codes::MAX_UNHEDGED_EXPOSURE,
            codes::MIN_ROI
        ]
    );
    // The day-wide limits declare that they halt trading; a trade's own poor return does not.
    let RiskDecision::Reject { reasons } = &d else {
        panic!("{d:?}")
    };
    for r in reasons {
        assert_eq!(r.halts, r.code != codes::MIN_ROI, "{r:?}");
    }
    let mut s = snapshot();
    s.trades_today = 50;
    assert!(only_reason(&policy(json!({ "max_daily_trades": 5 })).check(&s, &proposal())).halts);
    assert!(Limits::create("x", json!({ "daily_loss": 1 })).is_err());
    assert!(Limits::create("x", json!({ "max_position_size": "-5" })).is_err());
}

#[test]
fn conformance() {
    use plugin_api::testing::check_risk;
    assert_eq!(
        check_risk::<Limits>(&json!({}), &snapshot(), &proposal()).unwrap(),
        RiskDecision::Approve
    );
    let mut s = snapshot();
    s.trades_today = 50;
    let d = check_risk::<Limits>(&json!({ "max_daily_trades": "5" }), &s, &proposal()).unwrap();
    assert_eq!(codes_of(&d), [codes::MAX_DAILY_TRADES]);
    assert!(check_risk::<Limits>(&json!({ "nope": 1 }), &s, &proposal()).is_err());
}

mod props {
    use super::*;
    use proptest::prelude::{prop_assert, prop_assert_eq, proptest};

    proptest! {
        /// The decision matches a direct restatement of the rules, and a resize always
        /// shrinks to a whole, positive share count whose scaled cost fits the limit.
        #[test]
        fn decision_matches_the_rules(
            loss in 0i64..1_000_000_000, trades in 0u32..20, unhedged in 0i64..500_000_000,
            cost_a in 0i64..1_500_000_000, cost_b in 0i64..1_500_000_000,
            cash_a in 0i64..1_500_000_000, cash_b in 0i64..1_500_000_000,
            roi in -50_000i64..100_000, shares in 1i64..2_000,
        ) {
            let mut s = snapshot();
            s.loss_today = Usd(loss);
            s.trades_today = trades;
            s.unhedged_exposure = Usd(unhedged);
            s.cash[0].available = Usd(cash_a);
            s.cash[1].available = Usd(cash_b);
            let mut p = proposal();
            p.cost_a = Usd(cost_a);
            p.cost_b = Usd(cost_b);
            p.roi_ppm = roi;
            p.qty = Qty::shares(shares);
            let others_ok = loss <= 500_000_000 && trades < 10 && unhedged <= 250_000_000
                && roi >= 10_000 && cost_a <= cash_a && cost_b <= cash_b;
            let size_ok = cost_a + cost_b <= 1_000_000_000;
            match check(&s, &p) {
                RiskDecision::Approve => prop_assert!(others_ok && size_ok),
                RiskDecision::Resize { qty, reason } => {
                    prop_assert!(others_ok && !size_ok);
                    prop_assert_eq!(reason.code.as_str(), codes::MAX_POSITION_SIZE);
                    prop_assert!(qty.0 >= 100 && qty.0 % 100 == 0 && qty < p.qty);
                    let scaled = (cost_a + cost_b) as i128 * qty.0 as i128 / p.qty.0 as i128;
                    prop_assert!(scaled + 20_000 <= 1_000_000_000);
                }
                RiskDecision::Reject { reasons } => {
                    prop_assert!(!(others_ok && size_ok));
                    prop_assert!(!reasons.is_empty());
                    let has_size = reasons.iter().any(|r| r.code == codes::MAX_POSITION_SIZE);
                    prop_assert_eq!(has_size, !size_ok);
                }
            }
        }
    }
}

//! The host's risk gate checks and reserves cash itself, with or without risk plugins (issue #11
//! item 13): a config with no `[[risk]]` must still never spend a dollar it does not have.

use plugin_api::{Qty, RiskProposal, Usd};
use polymix_host::engine::risk_gate::{Admission, Candidate, RiskGate};
use polymix_host::store::{state, Ledger, Leg, OrderRow, OrderState, Purpose, Side, TradeRow};
use std::sync::Arc;

use crate::support::temp_dir;

/// A $`cost`-per-leg trade on venues A and B.
fn candidate(id: usize, cost: Usd) -> Candidate {
    let proposal = RiskProposal {
        pair: "p".into(),
        venue_a: "A".into(),
        venue_b: "B".into(),
        qty: Qty::shares(100),
        cost_a: cost,
        cost_b: cost,
        profit: Usd::dollars(1),
        roi_ppm: 10_000,
    };
    Candidate {
        proposal,
        build: Box::new(move |qty| {
            let tid = format!("c{id:04}");
            let t = TradeRow {
                id: tid.clone(),
                pair_id: "p".into(),
                direction: "yes_a_no_b".into(),
                qty,
                state: state::PLANNED,
                venue_a: "A".into(),
                venue_b: "B".into(),
                instrument_a: "x".into(),
                instrument_b: "y".into(),
                limit_a: plugin_api::Price(480_000),
                limit_b: plugin_api::Price(480_000),
                expected_cost: cost + cost,
                expected_profit: Usd::dollars(1),
                reserved_a: cost,
                reserved_b: cost,
                unwind_loss: Usd::ZERO,
                realized_pnl: None,
                note: String::new(),
                day: "2026-11-24".into(),
                created_ms: 0,
                updated_ms: 0,
                settled_ms: None,
            };
            let o = |leg: char, venue: &str| OrderRow {
                client_order_id: plugin_api::client_order_id(&tid, leg, 0),
                trade_id: tid.clone(),
                leg: Leg::parse(&leg.to_string()).expect("leg"),
                purpose: Purpose::Entry,
                venue: venue.into(),
                instrument: "x".into(),
                side: Side::Buy,
                price: plugin_api::Price(480_000),
                qty,
                tif: polymix_host::store::Tif::Ioc,
                state: OrderState::Planned,
                order_id: None,
                filled_qty: Qty::ZERO,
                filled_notional: Usd::ZERO,
                fees: Usd::ZERO,
                failed_qty: Qty::ZERO,
                reason: None,
                created_ms: 0,
                updated_ms: 0,
            };
            (t, vec![o('a', "A"), o('b', "B")])
        }),
    }
}

fn gate_without_policies(tag: &str) -> (Arc<RiskGate>, Arc<Ledger>) {
    let dir = temp_dir(tag);
    let ledger = Arc::new(Ledger::open(&dir.join("paper.sqlite")).unwrap());
    let gate = Arc::new(
        RiskGate::new(
            Vec::new(),
            ledger.clone(),
            plugin_api::Mode::Paper,
            "2026-11-24",
        )
        .unwrap(),
    );
    (gate, ledger)
}

#[test]
fn with_no_risk_plugin_the_gate_still_refuses_what_the_cash_cannot_pay() {
    let (gate, ledger) = gate_without_policies("gate-cash");
    gate.set_cash("A", Usd::dollars(300));
    gate.set_cash("B", Usd::dollars(1_000));
    // 100 threads at once, $48 per leg: venue A's $300 pays for exactly 6 (6 × 48 = 288).
    let approved: i32 = (0..100)
        .map(|i| {
            let g = gate.clone();
            std::thread::spawn(move || {
                matches!(
                    g.admit(candidate(i, Usd::dollars(48))).unwrap(),
                    Admission::Approved(..)
                ) as i32
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .sum();
    assert_eq!(approved, 6);
    let s = gate.state();
    assert_eq!(s.reserved["A"], Usd::dollars(288));
    assert_eq!(ledger.trades_in(&[]).unwrap().len(), 6);

    // The refusal says why, in dollars.
    let Admission::Rejected(reasons) = gate.admit(candidate(1000, Usd::dollars(48))).unwrap()
    else {
        panic!("approved past the cash");
    };
    assert_eq!(reasons[0].code, "insufficient_cash");
    assert!(reasons[0].message.contains("A"), "{:?}", reasons[0]);
    assert!(reasons[0].message.contains("$12.00"), "{:?}", reasons[0]);
}

#[test]
fn a_venue_whose_cash_is_unknown_gets_no_trade() {
    let (gate, ledger) = gate_without_policies("gate-nocash");
    gate.set_cash("A", Usd::dollars(1_000));
    let Admission::Rejected(reasons) = gate.admit(candidate(1, Usd::dollars(1))).unwrap() else {
        panic!("approved with venue B's cash unknown");
    };
    assert_eq!(reasons[0].code, "insufficient_cash");
    assert!(ledger.trades_in(&[]).unwrap().is_empty());
}

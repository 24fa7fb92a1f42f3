//! ns per `evaluate` call: the no-arb fast path (almost every book update) and a real arb that
//! walks several levels of both ladders. Run: `cargo bench -p polymix-plugin-arb`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use plugin_api::{
    EvalCtx, FeeModel, InstrumentRules, Level, PairBooks, PairLeg, PairSpec, Price, Qty, Strategy,
    StrategyConfig, Usd,
};
use polymix_strategy_arb::Arb;

fn rules(fee: FeeModel, min_qty: Qty, step: Qty, min_notional: Usd) -> InstrumentRules {
    InstrumentRules {
        tick: Price(10_000),
        min_qty,
        qty_step: step,
        min_notional,
        taker_fee: fee,
        neg_risk: None,
    }
}

fn strategy() -> Arb {
    let pm = rules(
        FeeModel::polymarket(50_000),
        Qty::shares(5),
        Qty::parse("0.01").unwrap(),
        Usd::dollars(1),
    );
    let k = rules(
        FeeModel::KALSHI_TAKER,
        Qty::shares(1),
        Qty::shares(1),
        Usd::ZERO,
    );
    let leg = |venue: &str, r| PairLeg {
        venue: venue.into(),
        yes: "yes".into(),
        no: "no".into(),
        yes_rules: r,
        no_rules: r,
    };
    Arb::create(StrategyConfig {
        instance: "bench".into(),
        settings: serde_json::json!({ "bet_amount": "1000" }),
        pairs: vec![PairSpec {
            index: 0,
            id: "bench".into(),
            a: leg("polymarket", pm),
            b: leg("kalshi", k),
        }],
    })
    .unwrap()
}

/// `n` levels from `first_cents` up one cent each, 40 shares per level.
fn ladder(first_cents: i64, n: i64) -> Vec<Level> {
    (0..n)
        .map(|i| Level {
            price: Price((first_cents + i) * 10_000),
            qty: Qty::shares(40),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let s = strategy();
    let ctx = EvalCtx {
        now_ms: 0,
        available_a: Usd::dollars(10_000),
        available_b: Usd::dollars(10_000),
    };
    let mut out = Vec::with_capacity(4);

    // Typical quiet market: yes 0.52 + no 0.50 and no 0.49 + yes 0.53, 20 levels each.
    let (a_yes, a_no, b_yes, b_no) = (
        ladder(52, 20),
        ladder(49, 20),
        ladder(53, 20),
        ladder(50, 20),
    );
    let quiet = PairBooks {
        a_yes: &a_yes,
        a_no: &a_no,
        b_yes: &b_yes,
        b_no: &b_no,
    };
    c.bench_function("evaluate/no_arb", |b| {
        b.iter(|| {
            out.clear();
            s.evaluate(0, black_box(&quiet), black_box(&ctx), &mut out);
            black_box(out.len())
        })
    });

    // A real arb: yes on A from 0.40, no on B from 0.45, one cent worse per 40-share level, so
    // the walk crosses about 7 levels per ladder before the prices meet $1 after fees.
    let (a_yes, b_no) = (ladder(40, 20), ladder(45, 20));
    let arb = PairBooks {
        a_yes: &a_yes,
        a_no: &a_no,
        b_yes: &b_yes,
        b_no: &b_no,
    };
    out.clear();
    s.evaluate(0, &arb, &ctx, &mut out);
    assert_eq!(out.len(), 1, "the arb case must propose");
    c.bench_function("evaluate/arb", |b| {
        b.iter(|| {
            out.clear();
            s.evaluate(0, black_box(&arb), black_box(&ctx), &mut out);
            black_box(out.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

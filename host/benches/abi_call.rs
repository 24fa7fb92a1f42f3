//! A strategy call across the plugin ABI (the arb cdylib loaded by the host loader) against the
//! same call in-process, on the no-arb fast path that almost every book update takes.
//! Run: `cargo bench -p polymix-host --bench abi_call`.

use abi_stable::std_types::RVec;
use criterion::{criterion_group, criterion_main, Criterion};
use plugin_api::ffi::{FfiPairBooks, StrategyHandle};
use plugin_api::{
    EvalCtx, FeeModel, InstrumentRules, Level, PairBooks, PairLeg, PairSpec, PluginKind, Price,
    Qty, Strategy, StrategyConfig, Usd,
};
use polymix_host::plugins::load::{load, ModuleRef};
use polymix_strategy_arb::Arb;
use std::hint::black_box;

fn pairs() -> Vec<PairSpec> {
    let r = |fee| InstrumentRules {
        tick: Price(10_000),
        min_qty: Qty::shares(1),
        qty_step: Qty::shares(1),
        min_notional: Usd::ZERO,
        taker_fee: fee,
        neg_risk: None,
    };
    let leg = |v: &str, fee| PairLeg {
        venue: v.into(),
        yes: "y".into(),
        no: "n".into(),
        yes_rules: r(fee),
        no_rules: r(fee),
    };
    vec![PairSpec {
        index: 0,
        id: "p".into(),
        a: leg("pm", FeeModel::polymarket(50_000)),
        b: leg("ks", FeeModel::KALSHI_TAKER),
    }]
}

fn ladder(first_cents: i64) -> Vec<Level> {
    (0..20)
        .map(|i| Level {
            price: Price((first_cents + i) * 10_000),
            qty: Qty::shares(40),
        })
        .collect()
}

fn cdylib() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    deps.join(format!(
        "{}polymix_strategy_arb{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

fn bench(c: &mut Criterion) {
    let settings = serde_json::json!({});
    let pairs = pairs();
    // No arb: 0.55 + 0.50 ≥ $1, the strategy must bail out after a best-ask check.
    let (yes, no) = (ladder(55), ladder(50));
    let ctx = EvalCtx {
        now_ms: 0,
        available_a: Usd::dollars(10_000),
        available_b: Usd::dollars(10_000),
    };

    let direct = Arb::create(StrategyConfig {
        instance: "direct".into(),
        settings: settings.clone(),
        pairs: pairs.clone(),
    })
    .unwrap();
    let books = PairBooks {
        a_yes: &yes,
        a_no: &no,
        b_yes: &yes,
        b_no: &no,
    };
    let mut out = Vec::new();
    c.bench_function("evaluate/in_process_direct", |b| {
        b.iter(|| {
            direct.evaluate(0, black_box(&books), &ctx, &mut out);
            black_box(out.len())
        })
    });

    let batch = [FfiPairBooks {
        pair: 0,
        ctx,
        a_yes: yes.as_slice().into(),
        a_no: no.as_slice().into(),
        b_yes: yes.as_slice().into(),
        b_no: no.as_slice().into(),
    }];
    let shim = StrategyHandle::in_process::<Arb>("shim", &settings, &pairs).unwrap();
    let mut rout = RVec::new();
    c.bench_function("evaluate/in_process_through_ffi_shim", |b| {
        b.iter(|| {
            shim.evaluate(black_box(&batch), &mut rout).unwrap();
            black_box(rout.len())
        })
    });

    let m = load(&cdylib(), PluginKind::Strategy)
        .expect("arb cdylib (cargo bench builds it as a dev-dependency)");
    let ModuleRef::Strategy(module) = m.module else {
        unreachable!()
    };
    let ffi = StrategyHandle::create(module, "cdylib", &settings, &pairs).unwrap();
    c.bench_function("evaluate/across_abi_cdylib", |b| {
        b.iter(|| {
            ffi.evaluate(black_box(&batch), &mut rout).unwrap();
            black_box(rout.len())
        })
    });

    // A batch of 1024 pairs per call, as the replay sends them: per-pair cost across the ABI.
    let big: Vec<FfiPairBooks<'_>> = (0..1024).map(|_| batch[0]).collect();
    c.bench_function("evaluate/across_abi_cdylib_batch1024", |b| {
        b.iter(|| {
            ffi.evaluate(black_box(&big), &mut rout).unwrap();
            black_box(rout.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

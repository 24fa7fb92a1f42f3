//! Replay throughput of the engine's hot path: book updates into the book cache, the dirty
//! pairs' ladders through the arb strategy loaded as a cdylib (batched across the ABI, behind
//! the host's call guard), and any proposal through the risk gate with reservation and journal.
//! Prints updates/s and peak RSS. Run:
//! `cargo bench -p polymix-host --bench replay_core -- [pairs] [updates]` (default 10000 1000000).

use abi_stable::std_types::RVec;
use plugin_api::ffi::{FfiPairBooks, StrategyHandle};
use plugin_api::{
    Book, FeeModel, InstrumentRules, Level, PairLeg, PairSpec, PluginKind, Price, Qty,
    RiskProposal, Usd,
};
use polymix_host::engine::books::Books;
use polymix_host::engine::risk_gate::{Admission, Candidate, RiskGate};
use polymix_host::plugins::load::{load, ModuleRef};
use polymix_host::plugins::Guarded;
use polymix_host::store::Ledger;
use rand::{Rng, SeedableRng};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn lib(kind: &str, name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().join(format!(
        "{}polymix_{kind}_{name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n_pairs = args.first().copied().unwrap_or(10_000) as u32;
    let n_updates = args.get(1).copied().unwrap_or(1_000_000);
    let rules = |fee| InstrumentRules {
        tick: Price(10_000),
        min_qty: Qty::shares(1),
        qty_step: Qty::shares(1),
        min_notional: Usd::ZERO,
        taker_fee: fee,
        neg_risk: None,
    };
    let pairs: Vec<PairSpec> = (0..n_pairs)
        .map(|i| PairSpec {
            index: i,
            id: format!("p{i}"),
            a: PairLeg {
                venue: "pm".into(),
                yes: format!("pm{i}y"),
                no: format!("pm{i}n"),
                yes_rules: rules(FeeModel::polymarket(50_000)),
                no_rules: rules(FeeModel::polymarket(50_000)),
            },
            b: PairLeg {
                venue: "ks".into(),
                yes: format!("ks{i}:yes"),
                no: format!("ks{i}:no"),
                yes_rules: rules(FeeModel::KALSHI_TAKER),
                no_rules: rules(FeeModel::KALSHI_TAKER),
            },
        })
        .collect();
    let mut books = Books::new(&pairs, |v| match v {
        "pm" => Some(0),
        "ks" => Some(1),
        _ => None,
    });

    let m = load(&lib("strategy", "arb"), PluginKind::Strategy).expect("arb cdylib");
    let ModuleRef::Strategy(module) = m.module else {
        unreachable!()
    };
    let strategy = StrategyHandle::create(module, "arb", &serde_json::json!({}), &pairs).unwrap();
    let strategy = Guarded::new("arb", strategy, Duration::from_secs(2));
    let m = load(&lib("risk", "limits"), PluginKind::Risk).expect("risk cdylib");
    let ModuleRef::Risk(rmodule) = m.module else {
        unreachable!()
    };
    let risk =
        plugin_api::ffi::RiskHandle::create(rmodule, "limits", &serde_json::json!({})).unwrap();
    let dir = std::env::temp_dir().join(format!("polymix-bench-{}", std::process::id()));
    let ledger = Arc::new(Ledger::open(&dir.join("paper.sqlite")).unwrap());
    let gate = RiskGate::new(
        vec![Arc::new(Guarded::new(
            "limits",
            risk,
            Duration::from_secs(2),
        ))],
        ledger,
        plugin_api::Mode::Paper,
        "2026-11-24",
    )
    .unwrap();
    gate.set_cash("pm", Usd::dollars(10_000));
    gate.set_cash("ks", Usd::dollars(10_000));

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let instruments: Vec<(usize, String)> = pairs
        .iter()
        .flat_map(|p| {
            [
                (0, p.a.yes.clone()),
                (0, p.a.no.clone()),
                (1, p.b.yes.clone()),
                (1, p.b.no.clone()),
            ]
        })
        .collect();
    // Updates are generated tick by tick (outside the timed section) so peak RSS is the
    // engine's, not a pre-built list's. Asks sum to about $1.02 (no arb); 1 update in 5000 dips
    // enough to be an arb after fees.
    let mut gen = move || {
        let (v, inst) = &instruments[rng.gen_range(0..instruments.len())];
        let dip = rng.gen_range(0..5000) == 0;
        let best: i64 = if dip { 40 } else { rng.gen_range(50..53) };
        let asks = (0..5)
            .map(|k| Level {
                price: Price((best + k) * 10_000),
                qty: Qty::shares(rng.gen_range(10..200)),
            })
            .collect();
        let bids = (1..6)
            .map(|k| Level {
                price: Price((best - k) * 10_000),
                qty: Qty::shares(50),
            })
            .collect();
        (
            *v,
            Book {
                instrument: inst.clone(),
                bids,
                asks,
                ts_ms: 0,
            },
        )
    };

    const TICK: usize = 1024; // updates per simulated tick (one strategy batch)
    let mut busy = Duration::ZERO;
    let mut left = n_updates;
    let mut tick: Vec<(usize, Book)> = Vec::with_capacity(TICK);
    let (mut proposals, mut approved, mut rejected) = (0u64, 0u64, 0u64);
    let mut dirty: Vec<u32> = Vec::with_capacity(TICK * 2);
    while left > 0 {
        let n = (TICK as u64).min(left);
        left -= n;
        tick.extend((0..n).map(|_| gen()));
        let t0 = Instant::now();
        dirty.clear();
        for (v, book) in tick.drain(..) {
            dirty.extend_from_slice(books.update(v, book));
        }
        dirty.sort_unstable();
        dirty.dedup();
        let inputs: Vec<(u32, [Option<Arc<Book>>; 4])> =
            dirty.iter().map(|&i| (i, books.pair(i))).collect();
        let got = strategy
            .call("evaluate", move |h| {
                let ctx = plugin_api::EvalCtx {
                    now_ms: 0,
                    available_a: Usd::dollars(10_000),
                    available_b: Usd::dollars(10_000),
                };
                let batch: Vec<FfiPairBooks<'_>> = inputs
                    .iter()
                    .map(|(i, b)| FfiPairBooks {
                        pair: *i,
                        ctx,
                        a_yes: asks(&b[0]).into(),
                        a_no: asks(&b[1]).into(),
                        b_yes: asks(&b[2]).into(),
                        b_no: asks(&b[3]).into(),
                    })
                    .collect();
                let mut o = RVec::new();
                h.evaluate(&batch, &mut o)?;
                Ok(o.into_vec())
            })
            .unwrap();
        for p in got {
            proposals += 1;
            let tid = format!("b{proposals}");
            let c = Candidate {
                proposal: RiskProposal {
                    pair: format!("p{}", p.pair),
                    venue_a: "pm".into(),
                    venue_b: "ks".into(),
                    qty: p.qty,
                    cost_a: p.cost_a + p.fee_a,
                    cost_b: p.cost_b + p.fee_b,
                    profit: p.profit,
                    roi_ppm: p.roi_ppm,
                },
                build: Box::new(move |qty| bench_rows(&tid, qty)),
            };
            match gate.admit(c).unwrap() {
                Admission::Approved(..) => approved += 1,
                Admission::Rejected(_) => rejected += 1,
            }
        }
        busy += t0.elapsed();
    }
    let el = busy;
    println!(
        "replay_core: {n_pairs} pairs, {n_updates} updates in {:.3} s = {:.0} updates/s; proposals {proposals} (approved {approved}, rejected {rejected}); peak RSS {} MiB",
        el.as_secs_f64(),
        n_updates as f64 / el.as_secs_f64(),
        peak_rss_kib() / 1024
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn asks(b: &Option<Arc<Book>>) -> &[Level] {
    b.as_deref().map(|b| b.asks.as_slice()).unwrap_or(&[])
}

fn bench_rows(
    tid: &str,
    qty: Qty,
) -> (
    polymix_host::store::TradeRow,
    Vec<polymix_host::store::OrderRow>,
) {
    use polymix_host::store::TradeRow;
    (
        TradeRow {
            id: tid.to_string(),
            pair_id: "p".into(),
            direction: "yes_a_no_b".into(),
            qty,
            state: polymix_host::store::TradeState::Planned,
            venue_a: "pm".into(),
            venue_b: "ks".into(),
            instrument_a: "a".into(),
            instrument_b: "b".into(),
            limit_a: Price(400_000),
            limit_b: Price(400_000),
            expected_cost: Usd::ZERO,
            expected_profit: Usd::ZERO,
            reserved_a: Usd::dollars(40),
            reserved_b: Usd::dollars(40),
            unwind_loss: Usd::ZERO,
            realized_pnl: None,
            note: String::new(),
            day: "2026-11-24".into(),
            created_ms: 0,
            updated_ms: 0,
            settled_ms: None,
        },
        Vec::new(),
    )
}

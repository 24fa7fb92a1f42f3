//! Decision to wire, live, on loopback doubles: from the last book response of the poll that
//! decided a trade arriving at the host, to the later of its two order writes being handed to
//! the transport (the engine's own measurement, `Engine::decision_to_wire`). The real engine,
//! the real Polymarket and Kalshi plugins (cdylibs), the risk gate, and the SQLite journal on a
//! real disk (the system temp dir; set TMPDIR to move it).
//!
//! `cargo bench -p polymix-tests --bench decision_to_wire [-- TRADES]` (default 200 trades).
//! After each trade the double's books are set back to the arb, so every trade is decided on
//! fresh books the same way.

#[path = "common/latency_report.rs"]
mod latency_report;
#[path = "../integration/live_e2e.rs"]
#[allow(dead_code, unused_imports)]
mod live_e2e;
#[path = "../integration/support.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use live_e2e::{live_engine_from, seed, wait_for, PM_ADDR};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDoubleConfig};
use polymix_host::store::state;
use std::time::Duration;

/// Limits wide enough for hundreds of trades; the same strategy as the live tests.
const BENCH_RISK_AND_STRATEGY: &str = r#"
[[risk]]
name = "limits"
plugin = "risk-limits"
[risk.settings]
daily_loss_limit = "100000"
max_position_size = "1000000"
max_daily_trades = 100000
min_roi = "0.01"
max_unhedged_exposure = "100000"

[strategy]
name = "arb"
plugin = "arb"
[strategy.settings]
bet_amount = "100"
min_roi = "0.01"
slippage_bps = 10
"#;

/// Sweeps 10 min away: the first settle sweep asks for the fills of every hedged trade over
/// REST and holds the polling loop meanwhile, which at 60 s stopped runs at ~235 trades.
const ENGINE: &str = "\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = 20\nsettle_poll_ms = 600000\nreconcile_ms = 600000\norder_appear_window_ms = 2000\n\n[api]\nenabled = false\n";

fn main() {
    let trades: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200);
    // The product's runtime, so the figures are what ships.
    let rt = polymix_host::runtime::build().expect("runtime");
    rt.block_on(async move {
        let pm = pmd::spawn(PolymarketDoubleConfig {
            settle_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .await;
        let ks = kalshi::spawn(KalshiDoubleConfig {
            balance: plugin_api::Usd::dollars(1_000_000),
            ..Default::default()
        })
        .await;
        seed(&pm, &ks);
        pm.set_balance(PM_ADDR, "1000000");
        let engine = live_engine_from("d2w", &pm, &ks, BENCH_RISK_AND_STRATEGY, ENGINE).await;
        let ledger = engine.ledger().clone();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let script = async {
            for i in 0..trades {
                let n = i + 1;
                wait_for(&ledger, "the next trade", Duration::from_secs(30), |t| {
                    t.len() == n && t.iter().all(|t| t.state != state::SUBMITTING)
                })
                .await;
                // The fills took the arb's depth: put it back for the next decision.
                seed(&pm, &ks);
                pm.set_balance(PM_ADDR, "1000000");
            }
            let _ = tx.send(true);
        };
        let (r, ()) = tokio::join!(engine.run_live(rx), script);
        r.expect("engine ran");
        latency_report::print(
            "decision_to_wire",
            trades,
            &engine.decision_to_wire_stages(),
        );
    });
}

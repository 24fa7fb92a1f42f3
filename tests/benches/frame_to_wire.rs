//! Frame to wire, live, on loopback doubles, books streamed: from the websocket frame that
//! made a trade's book arriving at the host, to the later of its two order writes being handed
//! to the transport (the engine's own measurement, `Engine::decision_to_wire`, which for a
//! streamed decision starts at the frame's arrival). Both venues stream (`stream = true`; REST
//! book polling effectively off); the real engine, the real Polymarket and Kalshi plugins
//! (cdylibs), the risk gate, and the SQLite journal on a real disk (the system temp dir; set
//! TMPDIR to move it).
//!
//! `cargo bench -p polymix-tests --bench frame_to_wire [-- TRADES]` (default 1000 trades).
//! After each trade the Kalshi book is set back to the arb (one `orderbook_delta` frame decides
//! the next trade) and Polymarket's depth restored.

#[path = "../integration/live_e2e.rs"]
#[allow(dead_code, unused_imports)]
mod live_e2e;
#[path = "../integration/support.rs"]
#[allow(dead_code, unused_imports)]
mod support;

use live_e2e::{
    kalshi_venue_toml, pairs_toml, polymarket_venue_toml, seed, wait_for, ARB_TICKER, ARB_YES,
    PM_ADDR,
};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDoubleConfig};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::store::state;
use polymix_host::venue_io::SystemClock;
use std::sync::Arc;
use std::time::Duration;

/// Limits wide enough for thousands of trades; the same strategy as the live tests.
const BENCH_RISK_AND_STRATEGY: &str = r#"
[[risk]]
name = "limits"
plugin = "risk-limits"
[risk.settings]
daily_loss_limit = "100000000"
max_position_size = "100000000"
max_daily_trades = 1000000
min_roi = "0.01"
max_unhedged_exposure = "100000000"

[strategy]
name = "arb"
plugin = "arb"
[strategy.settings]
bet_amount = "100"
min_roi = "0.01"
slippage_bps = 10
"#;

/// REST book polls every ten minutes (the streams own the books); sweeps out of the way.
const ENGINE: &str = "\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = 600000\nsettle_poll_ms = 600000\nreconcile_ms = 600000\norder_appear_window_ms = 2000\n\n[api]\nenabled = false\n";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let trades: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let pm = pmd::spawn(PolymarketDoubleConfig {
            settle_delay: Duration::from_millis(20),
            ..Default::default()
        })
        .await;
        let ks = kalshi::spawn(KalshiDoubleConfig {
            balance: plugin_api::Usd::dollars(100_000_000),
            ..Default::default()
        })
        .await;
        seed(&pm, &ks);
        pm.set_balance(PM_ADDR, "100000000");
        let dir = support::temp_dir("f2w");
        let stream = |toml: String, extra: &str| {
            toml.replacen(
                "retries = 2\n",
                &format!("retries = 2\nstream = true\n{extra}"),
                1,
            )
        };
        let pm_venue = polymarket_venue_toml(&dir, &pm).replacen(
            "retries = 2\n[venue.settings]\n",
            &format!(
                "retries = 2\nstream = true\n[venue.settings]\nws_url = \"{}\"\n",
                pm.ws_url()
            ),
            1,
        );
        let body = format!(
            "mode = \"live\"\ndata_dir = {:?}\n{}{}{}{}{}{}",
            dir.join("data").display().to_string(),
            support::plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
            pm_venue,
            stream(kalshi_venue_toml(&dir, "ks", &ks, 3000), ""),
            BENCH_RISK_AND_STRATEGY,
            ENGINE,
            pairs_toml("pm", "ks"),
        );
        let path = dir.join("polymix.toml");
        std::fs::write(&path, body).unwrap();
        let cfg = Arc::new(polymix_host::config::load(&path).expect("config loads"));
        let c2 = cfg.clone();
        let reg = tokio::task::spawn_blocking(move || polymix_host::plugins::Registry::build(&c2))
            .await
            .unwrap()
            .expect("plugins load");
        let engine = Engine::new(
            cfg,
            &reg,
            Arc::new(SystemClock),
            EngineOptions {
                live_confirmed: true,
            },
        )
        .await
        .expect("live engine starts");
        let ledger = engine.ledger().clone();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let script = async {
            for i in 0..trades {
                let n = i + 1;
                let t = wait_for(&ledger, "the next trade", Duration::from_secs(30), |t| {
                    t.len() >= n && t.iter().all(|t| t.state != state::SUBMITTING)
                })
                .await;
                if t.len() > n {
                    // A second trade took the remaining depth of the same frame: count it.
                    continue;
                }
                // The fills took the arb's depth: Polymarket's back first (no arb yet: the
                // Kalshi side is still gone), then Kalshi's, whose delta decides the next trade.
                pm.set_book(
                    ARB_YES,
                    &[("0.37", "50")],
                    &[("0.40", "10"), ("0.70", "100")],
                );
                pm.set_balance(PM_ADDR, "100000000");
                ks.seed_book(
                    ARB_TICKER,
                    &[("0.5500", "10.00"), ("0.2000", "100.00")],
                    &[("0.3800", "100.00")],
                );
            }
            let _ = tx.send(true);
        };
        let (r, ()) = tokio::join!(engine.run_live(rx), script);
        r.expect("engine ran");
        let mut s = engine.decision_to_wire();
        assert!(!s.is_empty(), "no samples: no trade sent both legs");
        s.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "frame_to_wire: {} trades, {} samples: p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, min {:.0} µs, max {:.0} µs",
            ledger.trades_in(&[]).map(|t| t.len()).unwrap_or(0),
            s.len(),
            us(percentile(&s, 0.50)),
            us(percentile(&s, 0.90)),
            us(percentile(&s, 0.99)),
            us(s[0]),
            us(s[s.len() - 1]),
        );
    });
}

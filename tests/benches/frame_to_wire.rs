//! Frame to wire, live, on loopback doubles, books streamed: from the websocket frame that
//! made a trade's book arriving at the host, to the later of its two order writes being handed
//! to the transport (the engine's own measurement, `Engine::decision_to_wire`, which for a
//! streamed decision starts at the frame's arrival). Both venues stream (`stream = true`; REST
//! book polling effectively off); the real engine, the real Polymarket and Kalshi plugins
//! (cdylibs), the risk gate, and the SQLite journal on a real disk (the system temp dir; set
//! TMPDIR to move it).
//!
//! `cargo bench -p polymix-tests --bench frame_to_wire [-- TRADES]` (default 1000 trades);
//! with `--profile latency`, the build for live trading (whole-program optimization). Orders
//! are rehearsed every millisecond (`[engine] rehearse_every_us`, as for live trading);
//! `F2W_REHEARSE_US=0` measures without. `F2W_BACKGROUND_HZ=N` adds N book changes a second on
//! the other pair, which never trades, as a live feed carries between trades. `F2W_WIRE_TAP=0`
//! runs without the packet socket: its filter and the wakeup of its reader run inside each
//! order's `write`, so the engine's own figure is then measured without them.
//! Prints the totals and, per stage, where the time went (`decision_latency::Stage`), then the
//! same decisions timed to both order requests on the wire: kernel timestamps of their first
//! segments on `lo` (`common/wire_tap.rs`; needs `CAP_NET_RAW`, else a note and no figure).
//! After each trade the Kalshi book is set back to the arb (one `orderbook_delta` frame decides
//! the next trade) and Polymarket's depth restored.

#[path = "common/latency_report.rs"]
mod latency_report;
#[path = "../integration/live_e2e.rs"]
#[allow(dead_code, unused_imports)]
mod live_e2e;
#[path = "../integration/support.rs"]
#[allow(dead_code, unused_imports)]
mod support;
#[path = "common/wire_tap.rs"]
mod wire_tap;

use live_e2e::{
    kalshi_venue_toml, pairs_toml, seed, ARB_TICKER, ARB_YES, FLAT_TICKER, FLAT_YES, PM_ADDR,
};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDoubleConfig};
use polymix_host::store::state;
use std::time::Duration;

// The allocator the `polymix` binary runs on, so the figures are what ships.
#[global_allocator]
static ALLOCATOR: polymix_host::runtime::Allocator = polymix_host::runtime::Allocator {};

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

/// REST book polls every ten minutes (the streams own the books); sweeps out of the way;
/// orders rehearsed every millisecond, as README's "Going live" recommends for latency.
const ENGINE: &str = "\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = 600000\nsettle_poll_ms = 600000\nreconcile_ms = 600000\norder_appear_window_ms = 2000\nrehearse_every_us = REHEARSE\n\n[api]\nenabled = false\n";

/// Book changes per second on the other pair, which never trades (`F2W_BACKGROUND_HZ`, default
/// 0): a live feed's traffic between two trades, which keeps the frame's way to a decision
/// warm, as the bench's one frame per trade does not.
fn background_hz() -> u64 {
    std::env::var("F2W_BACKGROUND_HZ")
        .ok()
        .map(|v| v.parse().expect("F2W_BACKGROUND_HZ: changes per second"))
        .unwrap_or(0)
}

/// `rehearse_every_us` of the bench's engine: `F2W_REHEARSE_US` if set (0 turns rehearsals
/// off, to measure without them), else 1000.
fn rehearse_every_us() -> u64 {
    std::env::var("F2W_REHEARSE_US")
        .ok()
        .map(|v| v.parse().expect("F2W_REHEARSE_US: microseconds"))
        .unwrap_or(1000)
}

fn main() {
    let trades: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1000);
    // The product's runtime, so the figures are what ships.
    let rt = polymix_host::runtime::build().expect("runtime");
    // The doubles stand for venues across a network: they get a runtime of their own, so the
    // engine's worker threads are the engine's (both still share the machine's cores).
    let venues_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        // Named, so a profile of the bench tells the doubles' time from the engine's.
        .thread_name("venue-doubles")
        // And at the lowest priority: a venue's work (an order's signature checked, its
        // match) runs on the venue's machines, not on the cores the engine's next write
        // needs. Without this the first order's arrival woke the double, which took the core
        // the second order was about to be written from (session 13: the later order left
        // ~450 µs after its handoff in one trade in six).
        .on_thread_start(wire_tap::lowest_priority)
        .enable_all()
        .build()
        .expect("venues runtime");
    let (pm, ks) = venues_rt.block_on(async {
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
        (pm, ks)
    });
    rt.block_on(async move {
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
        let pm_venue = live_e2e::polymarket_streaming_toml(&dir, &pm, "");
        // Kalshi's Basic tier allows 10 orders a second; this closed loop trades as fast as
        // the engine goes, so at Basic the client-side limiter's wait (~50 ms p50) would be
        // the figure. Premier (100/s) keeps the bench measuring the engine.
        let ks_venue = stream(kalshi_venue_toml(&dir, "ks", &ks, 3000), "").replacen(
            "[venue.settings]\n",
            "[venue.settings]\ntier = \"premier\"\n",
            1,
        );
        let body = live_e2e::live_body(
            &dir,
            &[
                &pm_venue,
                &ks_venue,
                BENCH_RISK_AND_STRATEGY,
                &ENGINE.replace("REHEARSE", &rehearse_every_us().to_string()),
                &pairs_toml("pm", "ks"),
            ],
        );
        let engine = live_e2e::live_engine_at(&dir, &body).await;
        // Each order request's first segment as it goes out, timed by the kernel.
        let port = |url: &str| -> u16 {
            let rest = url.split("://").nth(1).expect("a url");
            let host = rest.split('/').next().expect("host:port");
            host.rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("a port")
        };
        let tap_on = std::env::var("F2W_WIRE_TAP").map_or(true, |v| v != "0");
        let tap = match tap_on
            .then(|| wire_tap::WireTap::start(port(&pm.base_url), port(&ks.base_url)))
        {
            None => None,
            Some(Ok(t)) => Some(t),
            Some(Err(e)) => {
                println!("note: no figure on the wire: {e}");
                None
            }
        };
        let anchor_before = wire_tap::realtime_offset();
        let ledger = engine.ledger().clone();
        let (tx, rx) = tokio::sync::watch::channel(false);
        let script = async {
            for i in 0..trades {
                let n = (i + 1) as i64;
                // Counted, not read: reading the whole trade table every few ms took a core's
                // share that grew with every trade and slowed the engine being measured.
                let started = std::time::Instant::now();
                let made = loop {
                    let made = ledger.trade_count().expect("ledger");
                    let sending = ledger
                        .trades_in(&[state::SUBMITTING])
                        .expect("ledger")
                        .len();
                    if made >= n && sending == 0 {
                        break made;
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(30),
                        "timed out waiting for trade {n}: {made} made, {sending} sending"
                    );
                    tokio::time::sleep(Duration::from_millis(5)).await;
                };
                if made > n {
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
        // Sizes alternate, prices stay: each change is one `orderbook_delta` (Kalshi) or
        // `price_change` (Polymarket) frame that the engine parses, applies and evaluates, with
        // no arb.
        let mut done = tx.subscribe();
        let background = async {
            let hz = background_hz();
            if hz == 0 {
                return;
            }
            let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / hz));
            for n in 0u64.. {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = done.changed() => return,
                }
                let size = if n % 2 == 0 { "100.00" } else { "101.00" };
                if n % 4 < 2 {
                    ks.seed_book(FLAT_TICKER, &[("0.4900", size)], &[("0.5000", "100.00")]);
                } else {
                    pm.set_book(FLAT_YES, &[("0.45", "50")], &[("0.48", size)]);
                }
            }
        };
        let (r, (), ()) = tokio::join!(engine.run_live(rx), script, background);
        r.expect("engine ran");
        let anchor_after = wire_tap::realtime_offset();
        let samples = engine.decision_to_wire_stages();
        latency_report::print(
            "frame_to_wire",
            ledger.trades_in(&[]).map(|t| t.len()).unwrap_or(0),
            &samples,
        );
        if let Some(tap) = tap {
            wire_tap::print(&samples, &tap.finish(), [anchor_before, anchor_after]);
        }
    });
}

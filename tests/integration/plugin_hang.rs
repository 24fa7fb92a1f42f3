//! A plugin call that holds its caller past the timeout stops the live run (see
//! `polymix_host::plugins::watchdog`): the call keeps the task that made it (here the stream
//! driver's admission of a trade) and, run directly, the task its thread would have run next,
//! so staying up could leave a trade waiting for good. The run ends with one line that names
//! the call, and nothing was sent for the trade it held.

use polymix_host::engine::EngineError;
use std::time::{Duration, Instant};

use crate::live_e2e::{
    engine_toml, kalshi_streaming_venue_toml, live_body, live_engine_at, pairs_toml,
    polymarket_venue_toml, wait_for_feed, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

/// A second policy whose first check takes 4 s, far past the call timeout here (500 ms): a
/// hang, as far as the run can tell (a shorter one keeps the test's runtime from ending).
const HANGS: &str =
    "\n[[risk]]\nname = \"stuck\"\nplugin = \"slow-first\"\n[risk.settings]\nfirst_check_ms = 4000\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_risk_check_holding_its_caller_past_the_timeout_stops_the_live_run_before_any_order_leaves(
) {
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;
    let dir = temp_dir("plugin-hang");
    let body = live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, &pm),
            &kalshi_streaming_venue_toml(&dir, &ks, ""),
            RISK_AND_STRATEGY,
            HANGS,
            &engine_toml(20, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    assert!(body.contains("call_timeout_ms = 3000"), "{body}");
    let body = body.replace("call_timeout_ms = 3000", "call_timeout_ms = 500");
    let engine = live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let arb_at = std::sync::OnceLock::new();
    let script = async {
        wait_for_feed(&engine, "ks", "4 fresh streamed books", |h| {
            h.fresh_instruments == 4
        })
        .await;
        crate::live_e2e::kalshi_arb_book(&ks);
        arb_at.set(Instant::now()).unwrap();
        // The run must end by itself; this only bounds the test.
        tokio::time::sleep(Duration::from_secs(10)).await;
    };
    let run = tokio::select! {
        r = engine.run_live(stop) => r,
        _ = script => panic!("the run went on for 10 s with a risk check holding its caller"),
    };
    let took = arb_at
        .get()
        .expect("the arb was set before the run ended")
        .elapsed();
    let e = run.expect_err("the run stops");
    assert!(matches!(e, EngineError::PluginHung(_)), "{e:?}");
    let line = e.to_string();
    assert!(
        line.contains("stuck: call `check` did not return within 500 ms")
            && line.contains("restart polymix")
            && !line.contains('\n'),
        "{line}"
    );
    eprintln!("the run stopped {took:?} after the arb appeared: {line}");
    // The timeout, a watchdog tick, and the time to decide.
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The held admission never let its trade out.
    assert!(ledger.trades_in(&[]).unwrap().is_empty());
    assert_eq!(pm.order_posts(), 0, "no order to Polymarket");
    assert!(ks.orders().is_empty(), "no order to Kalshi");
}

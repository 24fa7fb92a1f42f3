//! A live engine decides from two drivers at once: the REST poll (Polymarket's books here) and
//! the Kalshi stream. Both see the same arb; only one trade may be made on it. A pair's
//! instruments are claimed before its proposal goes to the risk policies and held until the
//! trade is marked running (`engine::in_flight::admit_to_run`); here a policy slow on its first
//! check holds the stream driver's admission for 300 ms while the REST driver decides the same
//! pair every 20 ms. Without the claim, the REST driver's proposal is admitted meanwhile, and
//! a second trade goes after depth the first one takes. (Measured with the claim's check
//! removed: 6 of 9 runs failed, with two trades; in session 12, 5 of 6 and 5 of 8. In the
//! others no second proposal came while the first waited: the other driver's task waited
//! behind the slow check, which ran directly on its runtime thread (`plugins::guard`); with
//! every plugin call moved off its thread, 8 of 8 runs failed.)

use polymix_host::store::state;
use std::time::{Duration, Instant};

use crate::live_e2e::{
    engine_toml, kalshi_streaming_venue_toml, live_body, live_engine_at, pairs_toml,
    polymarket_venue_toml, wait_for_feed, wait_for_hedged, ARB_NO, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

/// The second policy: approves all, its first check takes 300 ms
/// (`tests/examples/polymix_risk_slow_first.rs`).
const SLOW_FIRST: &str =
    "\n[[risk]]\nname = \"slow\"\nplugin = \"slow-first\"\n[risk.settings]\nfirst_check_ms = 300\n";

/// Polymarket book reads so far.
fn pm_book_reads(pm: &polymix_doubles::polymarket::PolymarketDouble) -> usize {
    pm.request_log()
        .iter()
        .filter(|(_, p, _)| p.starts_with("/book"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn two_drivers_on_one_arb_make_one_trade_while_its_admission_is_slow() {
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;
    let dir = temp_dir("admission-race");
    let ks_venue = kalshi_streaming_venue_toml(&dir, &ks, "");
    let body = live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, &pm),
            &ks_venue,
            RISK_AND_STRATEGY,
            SLOW_FIRST,
            &engine_toml(20, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        wait_for_feed(&engine, "ks", "4 fresh streamed books", |h| {
            h.fresh_instruments == 4
        })
        .await;
        assert!(ledger.trades_in(&[]).unwrap().is_empty(), "no arb yet");
        // The arb appears on the stream; the stream driver takes it to admission, where the
        // slow policy holds it. Meanwhile Polymarket's NO book of the pair keeps changing (not
        // its arb side), so the REST driver decides the same pair at each poll.
        let reads = pm_book_reads(&pm);
        let t0 = Instant::now();
        crate::live_e2e::kalshi_arb_book(&ks);
        let hedged = async {
            let trades = wait_for_hedged(&ledger, Duration::from_secs(10)).await;
            (trades, t0.elapsed())
        };
        let nudge = async {
            // Not before the stream driver has taken the arb to its admission (it decides
            // on the delta at once; the REST driver only on a Polymarket book that changed).
            tokio::time::sleep(Duration::from_millis(50)).await;
            for i in 0..16 {
                let size = (101 + i).to_string();
                pm.set_book(ARB_NO, &[("0.58", "50")], &[("0.62", size.as_str())]);
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        };
        let ((trades, took), ()) = tokio::join!(hedged, nudge);
        let polled = pm_book_reads(&pm) - reads;
        // Everything a second trade would need has had time to happen.
        tokio::time::sleep(Duration::from_millis(500)).await;
        (trades, took, polled)
    };
    let (_, took, polled) = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    eprintln!("admission race: hedged after {took:?}, {polled} REST polls meanwhile");
    let trades = ledger.trades_in(&[]).unwrap();
    assert_eq!(trades.len(), 1, "one trade on one arb: {trades:#?}");
    assert_eq!(trades[0].state, state::HEDGED, "{:#?}", trades[0]);
    assert_eq!(pm.order_posts(), 1, "one order to Polymarket");
    assert_eq!(ks.orders().len(), 1, "one order to Kalshi");
    // And the race was there to lose: the REST driver kept deciding the pair while the
    // first admission waited on its policy.
    assert!(
        took >= Duration::from_millis(300) && polled >= 3,
        "the admission took {took:?}, with {polled} REST polls meanwhile"
    );
}

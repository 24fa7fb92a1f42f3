//! Rehearsed orders (`[engine] rehearse_every_us`) between the two venue doubles: the plugins
//! build orders all the time, and none of them ever reaches a venue.

use plugin_api::{OrderRequest, Price, Qty, Side, TimeInForce, VenueOp};
use polymix_host::store::state;
use polymix_host::venue_io::VenueError;
use std::time::Duration;

use crate::live_e2e::{live_engine_with, wait_for, ARB_TICKER, ARB_YES};

/// With an order rehearsed on each venue every 200 µs, the live run trades as without, and
/// the venues see exactly the trade's two orders: each once, each signed by the account (the
/// doubles verify signatures). A rehearsal handed to the step driver is refused, unsent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rehearsed_orders_never_reach_the_venues() {
    let (pm, ks) = crate::live_faults::seeded_doubles().await;
    let engine_toml = "\n[engine]\nleg_tif = \"ioc\"\npoll_ms = 50\nsettle_poll_ms = 200\nreconcile_ms = 100\norder_appear_window_ms = 2000\nrehearse_every_us = 200\n\n[api]\nenabled = false\n";
    let engine = live_engine_with("rehearse", &pm, &ks, engine_toml).await;
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let trades = wait_for(&ledger, "a hedged trade", Duration::from_secs(30), |t| {
            t.len() == 1 && t[0].state == state::HEDGED
        })
        .await;
        // Rehearsals go on after it: both venues build orders again and again.
        let counts = || -> Vec<u64> { engine.venues().iter().map(|v| v.rehearsals()).collect() };
        let before = counts();
        let t = std::time::Instant::now();
        while !counts().iter().zip(&before).all(|(n, b)| *n >= b + 20) {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "rehearsals did not go on: {before:?} then {:?}",
                counts()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The step driver refuses to run one, whoever asks.
        for (v, instrument) in engine.venues().iter().zip([ARB_YES, ARB_TICKER]) {
            let op = VenueOp::Rehearse {
                order: OrderRequest {
                    client_order_id: "rehearsal".into(),
                    instrument: instrument.to_string(),
                    side: Side::Buy,
                    price: Price(500_000),
                    qty: Qty::shares(10),
                    tif: TimeInForce::Ioc,
                    post_only: false,
                },
            };
            let e = v.run(&op).await.unwrap_err();
            assert!(matches!(e, VenueError::Rehearsal { .. }), "{e}");
        }
        let _ = tx.send(true);
        trades
    };
    let (r, trades) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live ends cleanly");
    assert_eq!(trades.len(), 1);
    assert_eq!(pm.order_posts(), 1, "only the trade's Polymarket order");
    assert_eq!(ks.place_attempts(), 1, "only the trade's Kalshi order");
    assert_eq!(
        ledger.trades_in(&[]).expect("ledger")[0].state,
        state::HEDGED
    );
}

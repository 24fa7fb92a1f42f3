//! A pair retired in the registry while the live engine streams leaves the stream. Kalshi
//! streams both seeded pairs' books on one subscription (one `sid`); the arb pair is retired
//! while the engine runs: its market is dropped from the subscription with
//! `update_subscription` / `delete_markets` (the subscription keeps the other pair's market),
//! the other market streams on in sequence with no resync, an arb on the retired market is
//! neither streamed nor traded, and a reconnect subscribes the remaining market only.
//! Polymarket, which does not number its messages, unsubscribes the retired pair's assets by id.

use polymix_doubles::kalshi::ws::WsFault;
use polymix_host::store::PairState;
use std::collections::BTreeSet;
use std::time::Duration;

use crate::live_e2e::{
    engine_toml, kalshi_venue_toml, pairs_toml, wait_for_feed, wait_until, ARB_NO, ARB_TICKER,
    ARB_YES, FLAT_TICKER, RISK_AND_STRATEGY,
};

/// Retires the arb pair in the registry, as `polymix pairs retire` does.
fn retire_arb_pair(ledger: &polymix_host::store::Ledger) {
    let now = polymix_host::venue_io::Clock::now_ms(&polymix_host::venue_io::SystemClock);
    ledger
        .pair_decide(
            "lal-bos-lal",
            PairState::Retired,
            "ann",
            Some("market delisted"),
            None,
            now,
        )
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_pairs_market_leaves_the_stream_and_the_rest_streams_on() {
    // No arb at start: Kalshi's NO ask on the arb market is 0.70 (a YES bid at 0.30).
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;
    // REST books every ten minutes; the registry re-read (pair gate) every 100 ms.
    let engine = crate::live_e2e::kalshi_streaming_engine(
        "stream-retired",
        &pm,
        &ks,
        "",
        &engine_toml(600_000, 600_000),
    )
    .await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);

    let script = async {
        wait_for_feed(&engine, "ks", "both pairs' books fresh", |h| {
            h.instruments == 4 && h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        let subs = ks.ws_book_subscribes();
        assert_eq!(subs.len(), 1, "one subscription for both markets: {subs:?}");
        let (conn, mut tickers) = subs[0].clone();
        tickers.sort();
        let mut both = vec![ARB_TICKER.to_string(), FLAT_TICKER.to_string()];
        both.sort();
        assert_eq!(tickers, both);

        retire_arb_pair(&ledger);
        wait_for_feed(&engine, "ks", "the retired pair's books gone", |h| {
            h.instruments == 2 && h.fresh_instruments == 2
        })
        .await;
        wait_until("the double to stream the flat market only", || {
            ks.ws_streamed_tickers() == BTreeSet::from([FLAT_TICKER.to_string()])
        })
        .await;
        // Narrowed, not unsubscribed: the subscription still carries the flat market.
        let updates = ks.ws_updates();
        assert_eq!(updates.len(), 1, "{updates:#?}");
        let (on, cmd) = &updates[0];
        assert_eq!(*on, conn);
        assert_eq!(cmd["params"]["action"], "delete_markets");
        assert_eq!(
            cmd["params"]["market_tickers"],
            serde_json::json!([ARB_TICKER])
        );
        assert_eq!(cmd["params"]["sids"].as_array().map(Vec::len), Some(1));

        // The flat market streams on in sequence (the `ok` answer took a number of its
        // subscription's): a change to it arrives and nothing resyncs.
        let deltas = ks.ws_stats("orderbook_delta").0;
        ks.seed_book(
            FLAT_TICKER,
            &[("0.4800", "100.00")],
            &[("0.5000", "100.00")],
        );
        wait_until("a delta of the flat market", || {
            ks.ws_stats("orderbook_delta").0 > deltas
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let h = engine.feed_health()["ks"].clone();
        assert_eq!(
            (h.resyncs, h.disconnects, h.fresh_instruments),
            (0, 0, 2),
            "{h:#?}"
        );

        // The engine keeps the retired market's last book (positions still held are marked
        // to its bid, as on a polled venue); the gate keeps the pair from trading on it.
        assert!(
            engine
                .best_bid("ks", &format!("{ARB_TICKER}:yes"))
                .is_some(),
            "the last book kept"
        );

        // An arb on the retired market is neither streamed nor traded.
        let deltas = ks.ws_stats("orderbook_delta").0;
        crate::live_e2e::kalshi_arb_book(&ks);
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(ks.ws_stats("orderbook_delta").0, deltas, "not streamed");
        assert!(ledger.trades_in(&[]).unwrap().is_empty(), "not traded");

        // A reconnect subscribes the flat market only.
        ks.ws_inject(WsFault::Disconnect);
        // (The feed's figures may still be the old connection's for a moment: wait for the
        // double to see the new subscription first.)
        wait_until("a book subscription on a new connection", || {
            ks.ws_book_subscribes().len() >= 2
        })
        .await;
        wait_for_feed(&engine, "ks", "the stream back with the flat market", |h| {
            h.disconnects >= 1 && h.connections_up == 1 && h.fresh_instruments == 2
        })
        .await;
        let subs = ks.ws_book_subscribes();
        let (again, last) = subs.last().cloned().unwrap();
        assert_ne!(again, conn, "a new connection");
        assert_eq!(last, vec![FLAT_TICKER.to_string()], "{subs:?}");
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {}
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retired_pairs_assets_are_unsubscribed_on_polymarket() {
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_arb().await;
    let dir = crate::support::temp_dir("stream-retired-pm");
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &crate::live_e2e::polymarket_streaming_toml(&dir, &pm, ""),
            &kalshi_venue_toml(&dir, "ks", &ks, 3000),
            RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let feed = || engine.feed_health().get("pm").cloned().unwrap_or_default();

    let script = async {
        wait_for_feed(&engine, "pm", "both pairs' books fresh", |h| {
            h.instruments == 4 && h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        assert!(pm.ws_unsubscribes().is_empty());
        retire_arb_pair(&ledger);
        wait_until("the retired pair's assets unsubscribed", || {
            !pm.ws_unsubscribes().is_empty()
        })
        .await;
        let un = pm.ws_unsubscribes();
        assert_eq!(un.len(), 1, "{un:?}");
        let mut assets = un[0].1.clone();
        assets.sort();
        let mut arb = vec![ARB_YES.to_string(), ARB_NO.to_string()];
        arb.sort();
        assert_eq!(assets, arb);
        let h = feed();
        assert_eq!((h.instruments, h.fresh_instruments), (2, 2), "{h:#?}");

        // The arb's Polymarket side appears: not streamed, not traded.
        let changes = pm.ws_count("price_change");
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(pm.ws_count("price_change"), changes, "not streamed");
        assert!(ledger.trades_in(&[]).unwrap().is_empty(), "not traded");
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {}
    }
}

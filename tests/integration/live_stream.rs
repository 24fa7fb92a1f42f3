//! Live engine on streamed books: Kalshi's books come over the double's websocket
//! (`stream = true`) while the REST book poll is effectively off (`poll_ms` of ten minutes:
//! one poll at start, then none). The arb appears only through an `orderbook_delta`, after the
//! feed went through a lost frame, a duplicate, a swapped pair and a disconnect, so the trade
//! proves both that the stream triggers decisions and that the books it built are right. A
//! silent stall in between makes the feed stale and it recovers.

use plugin_api::{Price, Qty};
use polymix_doubles::kalshi::ws::WsFault;
use polymix_doubles::kalshi::KalshiDouble;
use std::time::{Duration, Instant};

use crate::live_e2e::{
    engine_toml, entry, kalshi_venue_toml, pairs_toml, wait_for_feed, ARB_TICKER, ARB_YES,
    FLAT_TICKER, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

/// REST order book requests the Kalshi double has served.
fn rest_book_requests(ks: &KalshiDouble) -> usize {
    ks.requests()
        .iter()
        .filter(|r| r.path.contains("orderbook"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arb_seen_only_on_the_stream_is_traded_after_gaps_and_a_disconnect() {
    // No arb yet: Kalshi's NO ask on the arb pair is 0.70 (a YES bid at 0.30).
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;

    let engine = crate::live_e2e::kalshi_streaming_engine(
        "live-stream",
        &pm,
        &ks,
        "stream_stale_ms = 2000\n",
        &engine_toml(600_000, 600_000),
    )
    .await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);

    let script = async {
        // Both tickers' two outcome books are fresh from their snapshots.
        wait_for_feed(&engine, "ks", "4 fresh streamed books", |h| {
            h.fresh_instruments == 4
        })
        .await;
        // The one start-up REST poll is over (it may have raced the stream); from here on
        // only the stream can change a Kalshi book.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rest_books = rest_book_requests(&ks);

        // A lost frame: the next delta shows the gap; the subscription is resynced.
        ks.ws_inject(WsFault::Gap);
        ks.seed_book(
            FLAT_TICKER,
            &[("0.4800", "100.00")],
            &[("0.5000", "100.00")],
        );
        ks.seed_book(FLAT_TICKER, &[("0.4700", "90.00")], &[("0.5000", "100.00")]);
        wait_for_feed(&engine, "ks", "a resync after the gap", |h| h.resyncs >= 1).await;
        wait_for_feed(&engine, "ks", "fresh books after the resync", |h| {
            h.fresh_instruments == 4
        })
        .await;

        // A duplicate is dropped (no resync); a swapped pair is a gap, resynced.
        ks.ws_inject(WsFault::Duplicate);
        ks.seed_book(FLAT_TICKER, &[("0.4600", "90.00")], &[("0.5000", "100.00")]);
        ks.ws_inject(WsFault::OutOfOrder);
        ks.seed_book(FLAT_TICKER, &[("0.4500", "80.00")], &[("0.5100", "100.00")]);
        wait_for_feed(&engine, "ks", "a resync after the swapped frames", |h| {
            h.resyncs >= 2
        })
        .await;
        wait_for_feed(&engine, "ks", "fresh books again", |h| {
            h.fresh_instruments == 4
        })
        .await;

        // A disconnect: reconnect, resubscribe, fresh snapshots.
        ks.ws_inject(WsFault::Disconnect);
        wait_for_feed(&engine, "ks", "the disconnect noticed", |h| {
            h.disconnects >= 1
        })
        .await;
        wait_for_feed(&engine, "ks", "fresh books after reconnecting", |h| {
            h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        assert!(ks.ws_stats("orderbook_snapshot").1 >= 2, "reconnected");

        // A silent stall (no frames, no pongs) past the 2 s bound: the feed is stale, its
        // books are dropped, and it comes back fresh on a new connection.
        ks.ws_inject(WsFault::Stall(Duration::from_secs(4)));
        wait_for_feed(&engine, "ks", "the stall noticed as stale", |h| {
            h.last_error.as_deref().is_some_and(|e| e.contains("stale"))
        })
        .await;
        wait_for_feed(&engine, "ks", "fresh books after the stall", |h| {
            h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        assert!(
            ks.ws_stats("orderbook_snapshot").1 >= 3,
            "reconnected after the stall"
        );
        assert!(
            ledger.trades_in(&[]).unwrap().is_empty(),
            "nothing to trade yet"
        );

        // The arb appears, on the stream only: a YES bid at 0.55 (NO ask 0.45) for 10.
        let t0 = Instant::now();
        crate::live_e2e::kalshi_arb_book(&ks);
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(10)).await;
        let took = t0.elapsed();
        assert_eq!(
            rest_book_requests(&ks),
            rest_books,
            "no REST book poll since the stream took over"
        );
        (trades, took)
    };
    let (trades, took) = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_eq!(t.pair_id, "lal-bos-lal");
    assert_eq!(t.instrument_b, format!("{ARB_TICKER}:no"));
    let orders = ledger.orders_of(&t.id).unwrap();
    let b = entry(&orders, "b");
    // Right book after all the faults: exactly the 10 contracts at 0.45 were there.
    // (A book that double-counted a duplicate or missed a resync would size the order
    // differently.)
    assert_eq!(
        (b.qty, b.filled_qty),
        (Qty::shares(10), Qty::shares(10)),
        "{b:#?}"
    );
    assert_eq!(entry(&orders, "a").qty, Qty::shares(10));
    let fills = ks.fills();
    assert!(
        fills.iter().all(|f| f.yes_price == Price(550_000)),
        "{fills:#?}"
    );
    eprintln!("streamed arb traded {took:?} after the book changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_price_changes_on_the_stream_trigger_the_arb_after_a_disconnect_and_a_stall() {
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_arb().await;

    let dir = temp_dir("live-stream-pm");
    let pm_venue =
        crate::live_e2e::polymarket_streaming_toml(&dir, &pm, "stream_stale_ms = 2000\n");
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &pm_venue,
            &kalshi_venue_toml(&dir, "ks", &ks, 3000),
            RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);

    let script = async {
        wait_for_feed(&engine, "pm", "4 fresh streamed books", |h| {
            h.fresh_instruments == 4
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rest_books = pm.request_count("/books") + pm.request_count("/book");

        pm.ws_inject(polymix_doubles::polymarket::ws::WsFault::Disconnect);
        wait_for_feed(&engine, "pm", "the disconnect noticed", |h| {
            h.disconnects >= 1
        })
        .await;
        wait_for_feed(&engine, "pm", "fresh after reconnecting", |h| {
            h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        pm.ws_inject(polymix_doubles::polymarket::ws::WsFault::Stall(
            Duration::from_secs(4),
        ));
        wait_for_feed(&engine, "pm", "the stall noticed as stale", |h| {
            h.last_error.as_deref().is_some_and(|e| e.contains("stale"))
        })
        .await;
        wait_for_feed(&engine, "pm", "fresh after the stall", |h| {
            h.fresh_instruments == 4 && h.connections_up == 1
        })
        .await;
        assert!(pm.ws_count("connects") >= 3, "reconnected twice");
        assert!(
            ledger.trades_in(&[]).unwrap().is_empty(),
            "nothing to trade yet"
        );

        // The arb appears on the stream only: P at 0.40 for 10.
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(10)).await;
        assert_eq!(
            pm.request_count("/books") + pm.request_count("/book"),
            rest_books,
            "no REST book poll since the stream took over"
        );
        assert!(pm.ws_count("price_change") >= 1);
        trades
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let orders = ledger.orders_of(&trades[0].id).unwrap();
    let a = entry(&orders, "a");
    // Exactly the 10 shares at 0.40 the streamed book showed.
    assert_eq!(
        (a.qty, a.filled_qty),
        (Qty::shares(10), Qty::shares(10)),
        "{a:#?}"
    );
}

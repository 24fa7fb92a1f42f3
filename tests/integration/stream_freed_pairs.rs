//! A streamed book change that arrives while its pair's trade is still running is skipped (the
//! pair is busy: the trade has not taken its shares off the books yet). When that trade ends,
//! its pairs are decided again on the books as they are, since the stream may not send that
//! book again for a long time. Here the arb's Kalshi side comes back (one `orderbook_delta`)
//! while the first trade waits on its slow Polymarket leg; nothing changes after that, and the
//! second trade must still happen once the first has ended.

use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self, PolymarketDoubleConfig};
use polymix_host::store::state;
use std::time::{Duration, Instant};

use crate::live_e2e::{engine_toml, seed, wait_for, ARB_TICKER, ARB_YES};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_freed_by_its_trade_is_decided_again_on_the_books_as_they_are() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    // Polymarket's P at 0.40 for 20: two trades' worth (Kalshi's side is 10 at 0.45).
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.40", "20"), ("0.70", "100")],
    );
    // The first trade's Polymarket leg takes a second: its pair stays busy meanwhile.
    pm.inject(FaultRule::once(
        "POST",
        "/order",
        Fault::Delay(Duration::from_millis(1000)),
    ));
    // REST books once at start, then every ten minutes: only the stream changes books.
    let engine = crate::live_e2e::kalshi_streaming_engine(
        "stream-freed",
        &pm,
        &ks,
        "",
        &engine_toml(600_000, 600_000),
    )
    .await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        // The first trade: Kalshi's leg fills at once, Polymarket's is held a second.
        let start = Instant::now();
        while ks.fills().is_empty() {
            assert!(start.elapsed() < Duration::from_secs(10), "no first trade");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let first = ledger.trades_in(&[]).unwrap();
        assert_eq!(first.len(), 1, "{first:#?}");
        assert_eq!(
            first[0].state,
            state::SUBMITTING,
            "still running: {first:#?}"
        );
        // Kalshi's side of the arb is back while the pair is busy: its delta is skipped.
        // (20 contracts: when the first trade ends it takes its own 10 off the cached book,
        // which the venue's delta had already done; see the note on `Books::consume`.)
        ks.seed_book(
            ARB_TICKER,
            &[("0.5500", "20.00"), ("0.2000", "100.00")],
            &[("0.3800", "100.00")],
        );
        // No book changes after this. The second trade comes when the first has ended.
        wait_for(&ledger, "a second trade", Duration::from_secs(10), |t| {
            t.len() == 2 && t.iter().all(|t| t.state == state::HEDGED)
        })
        .await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 2, "{trades:#?}");
    assert_eq!(ks.fills().len(), 2);
}

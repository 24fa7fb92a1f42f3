//! A REST book answer that left the venue before the stream's snapshot must not overwrite the
//! streamed book when it lands after it. Kalshi streams; its start-up REST poll (sent before
//! the stream is fresh) is processed at once but answered 1.5 s late, carrying the book as it
//! was then: an arb. Meanwhile the stream brings the book without the arb, and Polymarket's
//! side of the arb appears over REST. A late answer applied over the stream's book would trade
//! on a book the venue no longer shows (the Kalshi leg would find nothing at its price).

use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, ws::WsFault, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self, PolymarketDoubleConfig};
use std::time::{Duration, Instant};

use crate::live_e2e::{engine_toml, seed, ARB_TICKER, ARB_YES};

const LATE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_rest_book_never_overwrites_a_fresher_streamed_one() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    // Kalshi shows the arb's side (a YES bid at 0.55: NO at 0.45); Polymarket's P costs
    // 0.70, so no arb yet.
    seed(&pm, &ks);
    pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.70", "100")]);
    // The first REST book batch is processed (the book read) at once and answered late.
    ks.inject(FaultRule::once(
        "GET",
        "/markets/orderbooks",
        Fault::DelayAfter(LATE),
    ));
    // The stream comes up a little after the start-up poll has left (else the poll finds the
    // books fresh and sends nothing: the race this test is about never happens).
    ks.ws_inject(WsFault::SlowUpgrades(Duration::from_millis(200)));

    // Polymarket's books over REST every 100 ms.
    let engine = crate::live_e2e::kalshi_streaming_engine(
        "stream-rest-race",
        &pm,
        &ks,
        "",
        &engine_toml(100, 600_000),
    )
    .await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let started = Instant::now();

    let script = async {
        let fresh = |engine: &polymix_host::engine::Engine| {
            engine
                .feed_health()
                .get("ks")
                .is_some_and(|h| h.fresh_instruments == 4)
        };
        while !fresh(&engine) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "stream never fresh"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            started.elapsed() < LATE / 2,
            "the stream was fresh only after {:?}: the late answer may have landed first",
            started.elapsed()
        );
        // (A REST batch sent before the stream was fresh has reached the venue by now.)
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The stream takes the arb's Kalshi side away (YES bid 0.30: NO at 0.70) ...
        ks.seed_book(ARB_TICKER, &[("0.3000", "10.00")], &[("0.3800", "100.00")]);
        tokio::time::sleep(Duration::from_millis(200)).await;
        // ... and Polymarket's side of the arb appears (P at 0.40), over REST.
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        // The late answer (the old book, with the arb) lands at ~1.5 s; polls go on after it.
        let until = LATE + Duration::from_millis(1500);
        while started.elapsed() < until {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The double logs a request when it answers: the one REST book batch is the late one
        // (once the stream was fresh, the poll left Kalshi's books to it).
        let rest: Vec<(u16, String)> = ks
            .requests()
            .into_iter()
            .filter(|r| r.path.contains("orderbooks"))
            .map(|r| (r.status, r.query))
            .collect();
        assert_eq!(
            rest.len(),
            1,
            "the start-up REST book batch, answered late; REST book batches (status, query): \
             {rest:?}; Kalshi feed: {:?}",
            engine.feed_health().get("ks")
        );
        let traded = ledger.trades_in(&[]).unwrap();
        assert!(
            traded.is_empty(),
            "traded on the late REST book the stream had already replaced: {traded:#?}"
        );
        // The setup can trade: the arb back on the stream is traded at once.
        crate::live_e2e::kalshi_arb_book(&ks);
        crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(10)).await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
}

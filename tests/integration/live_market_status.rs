//! Market status on the stream: Kalshi's `market_lifecycle_v2` pauses a market (`deactivated`)
//! and its pair stops trading at once, with the REST status checks ten minutes away; an arb
//! that appears meanwhile is not traded, and `activated` resumes the pair, which then trades it.

use polymix_doubles::kalshi::{self, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self, PolymarketDoubleConfig};
use polymix_host::store::state;
use std::time::Duration;

use crate::live_e2e::{
    engine_toml, kalshi_venue_toml, pairs_toml, polymarket_venue_toml, seed, wait_for, wait_until,
    ARB_TICKER, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_paused_on_the_stream_stops_its_pair_until_it_is_activated() {
    // No arb yet: Kalshi's NO ask on the arb pair is 0.70 (a YES bid at 0.30).
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;
    let dir = temp_dir("live-market-status");
    let ks_venue = kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        "retries = 2\nstream = true\n",
        1,
    );
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, &pm),
            &ks_venue,
            RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let arb = engine
        .pairs()
        .iter()
        .position(|p| p.id == "lal-bos-lal")
        .expect("the arb pair");
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        wait_until(
            "fresh streamed books and the lifecycle subscription",
            || {
                engine
                    .feed_health()
                    .get("ks")
                    .is_some_and(|h| h.fresh_instruments == 4)
                    && ks.ws_stats("subscribed").0 >= 2
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;

        ks.ws_lifecycle(ARB_TICKER, "deactivated", None);
        wait_until("the pair stopped", || {
            engine
                .pair_off(arb)
                .is_some_and(|r| r.contains("market closed"))
        })
        .await;
        // The arb appears on the paused market: not traded.
        crate::live_e2e::kalshi_arb_book(&ks);
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(
            engine.ledger().trades_in(&[]).unwrap().is_empty(),
            "no trade on a paused market"
        );

        ks.ws_lifecycle(ARB_TICKER, "activated", None);
        wait_until("the pair resumed", || engine.pair_off(arb).is_none()).await;
        wait_for(
            engine.ledger(),
            "a HEDGED trade once the market trades again",
            Duration::from_secs(10),
            |t| t.iter().any(|t| t.state == state::HEDGED),
        )
        .await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        t = script => t,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert!(ks.ws_stats("market_lifecycle_v2").0 >= 2);
}

/// Both venues resolve the arb's markets on their streams (Kalshi `market_lifecycle_v2`
/// `settled`, Polymarket `market_resolved`): the hedged trade settles at once, with the REST
/// resolution poll and settle sweep ten minutes away.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolutions_on_the_streams_settle_a_hedged_trade() {
    use crate::live_e2e::{ARB_COND, ARB_NO, ARB_YES};
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("live-stream-resolved");
    let ks_venue = kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        "retries = 2\nstream = true\n",
        1,
    );
    let pm_venue = crate::live_e2e::polymarket_streaming_toml(&dir, &pm, "");
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &pm_venue,
            &ks_venue,
            RISK_AND_STRATEGY,
            &engine_toml(200, 600_000),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        crate::live_e2e::wait_for_hedged(engine.ledger(), Duration::from_secs(10)).await;
        wait_until("both market streams up", || {
            let h = engine.feed_health();
            ["pm", "ks"]
                .iter()
                .all(|v| h.get(*v).is_some_and(|h| h.connections_up == 1))
                && ks.ws_stats("subscribed").0 >= 2
        })
        .await;
        // P happened: Polymarket's YES wins, Kalshi's market settles YES (its NO pays 0).
        pm.ws_market_resolved(ARB_COND, &[ARB_YES, ARB_NO], ARB_YES);
        ks.ws_lifecycle(ARB_TICKER, "settled", Some("yes"));
        wait_for(
            engine.ledger(),
            "the trade settled from the streams",
            Duration::from_secs(5),
            |t| t.iter().all(|t| t.state == state::SETTLED),
        )
        .await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        t = script => t,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert!(
        trades[0].realized_pnl.is_some_and(|p| p.0 > 0),
        "{trades:#?}"
    );
    assert!(pm.ws_count("market_resolved") >= 1);
}

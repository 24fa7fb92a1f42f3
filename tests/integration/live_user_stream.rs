//! Live engine with Polymarket's user channel (`stream = true`): fills and their settlement
//! status come over the double's `/ws/user` as they happen, while the REST settle poll is ten
//! minutes away. A trade that turns FAILED after it matched (a ghost fill) is booked and the
//! unhedged leg unwound within a second; a user stream that was down when it failed loses
//! nothing (the fills are swept over REST when it is back); and when the stream and the
//! REST poll both see the failure it is booked once.

use plugin_api::{FillStatus, Price, Qty};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig};
use polymix_doubles::polymarket::ws_user::UserFault;
use polymix_doubles::polymarket::{self, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::engine::Engine;
use polymix_host::store::{state, Purpose};
use std::time::{Duration, Instant};

use crate::live_e2e::{
    engine_toml, entry, kalshi_venue_toml, pairs_toml, polymarket_venue_toml, seed, wait_for,
    ARB_YES, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

/// How long the double keeps a trade MATCHED before it turns CONFIRMED or FAILED.
const SETTLE: Duration = Duration::from_millis(800);

async fn setup(
    name: &str,
    settle_poll_ms: u64,
) -> (PolymarketDouble, KalshiDouble, std::sync::Arc<Engine>) {
    setup_polled(name, 200, settle_poll_ms, |_| {}).await
}

/// [`setup`] with REST books polled every `poll_ms`, and `arrange` run on the Kalshi double
/// after the seed, before the engine starts.
async fn setup_polled(
    name: &str,
    poll_ms: u64,
    settle_poll_ms: u64,
    arrange: impl FnOnce(&KalshiDouble),
) -> (PolymarketDouble, KalshiDouble, std::sync::Arc<Engine>) {
    let pm = polymarket::spawn(PolymarketDoubleConfig {
        settle_delay: SETTLE,
        ..PolymarketDoubleConfig::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    arrange(&ks);
    crate::live_e2e::no_arb_on_polymarket(&pm);
    let dir = temp_dir(name);
    let pm_venue = crate::live_e2e::polymarket_streaming_toml(&dir, &pm, "");
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &pm_venue,
            &kalshi_venue_toml(&dir, "ks", &ks, 3000),
            RISK_AND_STRATEGY,
            &engine_toml(poll_ms, settle_poll_ms),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    (pm, ks, engine)
}

async fn until(what: &str, timeout: Duration, f: impl Fn() -> bool) -> Instant {
    let start = Instant::now();
    loop {
        if f() {
            return Instant::now();
        }
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn user_up(engine: &Engine) -> bool {
    engine
        .feed_health()
        .get("pm")
        .is_some_and(|h| h.user_stream && h.user_connected)
}

/// The user stream is up and the market stream owns the four Polymarket books (a REST poll
/// answered after the stream's snapshot could otherwise leave an older book in the cache
/// until the next change; see the report of this change).
async fn streams_ready(engine: &Engine) {
    until(
        "the user stream and fresh streamed books",
        Duration::from_secs(10),
        || {
            user_up(engine)
                && engine
                    .feed_health()
                    .get("pm")
                    .is_some_and(|h| h.fresh_instruments == 4)
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The Polymarket entry leg of the one trade.
fn pm_entry(engine: &Engine) -> Option<polymix_host::store::OrderRow> {
    let l = engine.ledger();
    let t = l.trades_in(&[]).ok()?.into_iter().next()?;
    l.orders_of(&t.id)
        .ok()?
        .into_iter()
        .find(|o| o.venue == "pm" && o.purpose == Purpose::Entry)
}

/// The arb appears (P at 0.40 for 10 on Polymarket) with the next fill a ghost.
fn ghost_arb(pm: &PolymarketDouble) {
    pm.ghost_next_fill();
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.40", "10"), ("0.70", "100")],
    );
}

/// Streams up, then the arb whose Polymarket fill will fail (see [`ghost_arb`]); returns once
/// its trade is HEDGED (the fill still MATCHED).
async fn ghost_hedged(pm: &PolymarketDouble, engine: &Engine) {
    streams_ready(engine).await;
    ghost_arb(pm);
    crate::live_e2e::wait_for_hedged(engine.ledger(), Duration::from_secs(10)).await;
}

/// Everything that must hold once the ghost fill was booked, once.
fn assert_booked_once(engine: &Engine) {
    let l = engine.ledger();
    let trades = l.trades_in(&[]).unwrap();
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_ne!(t.state, state::HEDGED, "{t:#?}");
    let orders = l.orders_of(&t.id).unwrap();
    let a = entry(&orders, "a");
    assert_eq!(a.filled_qty, Qty::shares(10), "{a:#?}");
    assert_eq!(
        a.failed_qty, a.filled_qty,
        "the failed shares, once: {a:#?}"
    );
    // What the venue booked, per fill: one row per fill, at the maker's price.
    let fills = l
        .fills_of_order("pm", a.order_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(fills.len(), 1, "{fills:#?}");
    assert_eq!(fills[0].price, Price(400_000));
    assert_eq!(fills[0].qty, Qty::shares(10));
    assert_eq!(fills[0].status, FillStatus::Failed);
    assert!(fills[0].fee.0 > 0, "the taker fee per fill: {fills:#?}");
    assert_eq!(engine.stats().ghost_fills, 1);
    let ghosts = l
        .errors()
        .unwrap()
        .into_iter()
        .filter(|e| e.message.contains("ghost fill"))
        .count();
    assert_eq!(ghosts, 1, "one ghost fill booked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_trade_on_the_user_channel_is_a_ghost_fill_within_a_second() {
    let (pm, _ks, engine) = setup("user-ghost", 600_000).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        ghost_hedged(&pm, &engine).await;
        // MATCHED was pushed; FAILED follows after the double's settle delay.
        let failed_at = until(
            "FAILED pushed on the user channel",
            Duration::from_secs(5),
            || pm.user_count("trade:FAILED") >= 1,
        )
        .await;
        let booked = until("the ghost fill booked", Duration::from_secs(5), || {
            pm_entry(&engine).is_some_and(|o| o.failed_qty.0 > 0)
        })
        .await;
        let took = booked.duration_since(failed_at);
        assert!(
            took < Duration::from_secs(1),
            "ghost fill booked {took:?} after FAILED"
        );
        // The unhedged Kalshi leg is unwound.
        wait_for(
            engine.ledger(),
            "the trade unwound",
            Duration::from_secs(10),
            |t| t.iter().all(|t| t.state == state::UNWOUND),
        )
        .await;
        eprintln!("ghost fill booked {took:?} after the FAILED frame");
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {},
    };
    assert_booked_once(&engine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_stream_down_when_the_fill_failed_loses_nothing() {
    let (pm, _ks, engine) = setup("user-ghost-down", 600_000).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        ghost_hedged(&pm, &engine).await;
        // Down (and refused) across the moment the trade fails: the FAILED push is lost.
        pm.user_inject(UserFault::Refuse(SETTLE + Duration::from_millis(700)));
        until("the disconnect noticed", Duration::from_secs(5), || {
            !user_up(&engine)
        })
        .await;
        until("the user stream back", Duration::from_secs(10), || {
            user_up(&engine)
        })
        .await;
        until("the ghost fill booked", Duration::from_secs(3), || {
            pm_entry(&engine).is_some_and(|o| o.failed_qty.0 > 0)
        })
        .await;
        wait_for(
            engine.ledger(),
            "the trade unwound",
            Duration::from_secs(10),
            |t| t.iter().all(|t| t.state == state::UNWOUND),
        )
        .await;
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {},
    };
    assert_eq!(
        pm.user_count("trade:FAILED"),
        0,
        "FAILED was never pushed: the failure came from the REST sweep"
    );
    assert_booked_once(&engine);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_seen_by_the_stream_and_the_rest_poll_is_booked_once() {
    // The settle poll every 100 ms races the stream for the same failure.
    let (pm, _ks, engine) = setup("user-ghost-both", 100).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        streams_ready(&engine).await;
        ghost_arb(&pm);
        wait_for(
            engine.ledger(),
            "the trade unwound",
            Duration::from_secs(15),
            // (The 100 ms settle sweep may settle the unwound trade at once.)
            |t| {
                !t.is_empty()
                    && t.iter()
                        .all(|t| t.state == state::UNWOUND || t.state == state::SETTLED)
            },
        )
        .await;
        // Both sources keep reporting the failed fill for a while longer.
        tokio::time::sleep(Duration::from_millis(500)).await;
        engine.check_fills().await.unwrap();
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {},
    };
    assert!(
        pm.user_count("trade:FAILED") >= 1,
        "the stream saw the failure"
    );
    assert_booked_once(&engine);
}

/// Kalshi's `fill` and `user_orders` over the signed websocket: the Kalshi leg's answer is
/// lost and so is the engine's own lookup of it, leaving the order's outcome unknown and the
/// trade PARTIAL; with the reconcile sweep and the settle poll ten minutes away, only the
/// stream's report of the order can resolve it, and the fill it reports is recorded as the
/// venue booked it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kalshi_order_report_on_the_stream_resolves_an_unknown_leg_before_any_sweep() {
    use polymix_doubles::fault::{Fault, FaultRule};
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_arb().await;
    let dir = temp_dir("user-ks");
    let ks_venue = kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        "retries = 2\nstream = true\n",
        1,
    );
    assert!(ks_venue.contains("stream = true"), "{ks_venue}");
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, &pm),
            &ks_venue,
            RISK_AND_STRATEGY,
            &engine_toml(200, 600_000).replace("reconcile_ms = 100", "reconcile_ms = 600000"),
            &pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let ks_user_up = |engine: &Engine| {
        engine
            .feed_health()
            .get("ks")
            .is_some_and(|h| h.user_stream && h.user_connected)
    };
    let script = async {
        until("the Kalshi user stream", Duration::from_secs(10), || {
            ks_user_up(&engine)
        })
        .await;
        // The order is booked, its answer lost; the lookups that follow fail too.
        ks.inject(FaultRule::once(
            "POST",
            "/portfolio/events/orders",
            Fault::DropAfter,
        ));
        ks.inject(FaultRule::once("GET", "/portfolio/orders", Fault::Status(500)).times(50));
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        crate::live_e2e::wait_for_hedged(engine.ledger(), Duration::from_secs(10)).await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        t = script => t,
    };
    let l = engine.ledger();
    let t = &trades[0];
    let steps: Vec<String> = l
        .transitions_of(&t.id)
        .unwrap()
        .into_iter()
        .map(|s| format!("{} {}", s.1, s.2))
        .collect();
    assert!(
        steps.iter().any(|s| s.contains("outcome is unknown")),
        "the leg's outcome was unknown first: {steps:#?}"
    );
    let b = entry(&l.orders_of(&t.id).unwrap(), "b");
    assert_eq!(b.filled_qty, Qty::shares(10), "{b:#?}");
    let fills = l
        .fills_of_order("ks", b.order_id.as_deref().unwrap())
        .unwrap();
    assert_eq!(fills.len(), 1, "{fills:#?}");
    assert_eq!(fills[0].source, "stream");
    assert_eq!(
        (fills[0].price, fills[0].qty),
        (Price(450_000), Qty::shares(10))
    );
    assert!(fills[0].fee.0 > 0, "{fills:#?}");
    assert!(ks.ws_stats("user_order").0 >= 1 && ks.ws_stats("fill").0 >= 1);
}

/// While a ghost fill's unwind sells the unhedged leg, the pair's instruments are busy: an arb
/// that reappears on the pair meanwhile is not traded (the new trade and the unwind would
/// compete for the same depth) until the unwind has ended; then it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_new_trade_on_a_pair_while_its_ghost_fill_unwinds() {
    let (pm, ks, engine) = setup("user-ghost-busy", 600_000).await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        // The arb is back on both venues while the unwind runs (Kalshi's by REST poll).
        ghost_unwind_with_arb_back(&pm, &ks, &engine, 1500, || {
            crate::live_e2e::kalshi_arb_book(&ks)
        })
        .await;
        // Unwound: the pair is free again and its arb is traded.
        wait_for(
            engine.ledger(),
            "a second trade",
            Duration::from_secs(10),
            |t| t.len() == 2,
        )
        .await;
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {},
    };
}

/// A ghost fill on the arb's Polymarket leg; its unwind (the sale of Kalshi's leg) takes
/// `unwind_ms`, and while it runs Polymarket's side of the arb comes back (and whatever
/// `arb_back` adds). Returns once the first trade is UNWOUND, having checked that no second
/// trade opened on the pair meanwhile.
async fn ghost_unwind_with_arb_back(
    pm: &PolymarketDouble,
    ks: &KalshiDouble,
    engine: &Engine,
    unwind_ms: u64,
    arb_back: impl FnOnce(),
) {
    use polymix_doubles::fault::{Fault, FaultRule};
    ghost_hedged(pm, engine).await;
    // The unwind's sale on Kalshi (the next order there) is slow.
    ks.inject(FaultRule::once(
        "POST",
        "/portfolio/events/orders",
        Fault::Delay(Duration::from_millis(unwind_ms)),
    ));
    until("the ghost fill booked", Duration::from_secs(5), || {
        pm_entry(engine).is_some_and(|o| o.failed_qty.0 > 0)
    })
    .await;
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.40", "10"), ("0.70", "100")],
    );
    arb_back();
    let l = engine.ledger();
    let start = Instant::now();
    loop {
        let trades = l.trades_in(&[]).unwrap();
        let first = &trades[0];
        if first.state == state::UNWOUND {
            return;
        }
        assert_eq!(
            trades.len(),
            1,
            "a new trade on the pair while its first trade ({}) unwinds: {trades:#?}",
            first.state
        );
        assert!(start.elapsed() < Duration::from_secs(10), "never unwound");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// When a ghost fill's unwind ends, the pair it held is decided again at once on the books as
/// they are: here the arb came back (one streamed Polymarket book) while the unwind ran, so
/// that change was skipped, nothing changes after it, and REST books are ten minutes away.
/// The second trade must still happen once the unwind is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_freed_by_a_ghost_fill_unwind_is_decided_again_at_once() {
    // Kalshi's NO side (its YES bid at 0.55) has 20: two trades' worth, read once at start.
    let (pm, ks, engine) = setup_polled("user-ghost-freed", 600_000, 600_000, |ks| {
        ks.seed_book(
            crate::live_e2e::ARB_TICKER,
            &[("0.5500", "20.00"), ("0.2000", "100.00")],
            &[("0.3800", "100.00")],
        )
    })
    .await;
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        ghost_unwind_with_arb_back(&pm, &ks, &engine, 1000, || {}).await;
        // Decided when the unwind ended, not at a later poll (REST books are minutes away).
        let l = engine.ledger();
        until("a second trade", Duration::from_secs(3), || {
            l.trades_in(&[]).unwrap().len() == 2
        })
        .await;
    };
    tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        () = script => {},
    };
}

//! A pair adopted while the live engine streams joins the stream: the engine starts with one
//! pair on Kalshi's websocket (`stream = true`) and a REST book poll of ten minutes; a second
//! pair approved in the registry while it runs is adopted, its Kalshi ticker is subscribed on
//! the running connection at once, and an arb that appears on it only through an
//! `orderbook_delta` is traded within seconds, with no REST book request for it once its
//! streamed snapshot arrived.

use polymix_doubles::kalshi::KalshiDouble;
use polymix_host::pairs::{Candidate, Complement, Proposition, VenueSide};
use polymix_host::store::PairState;
use std::time::{Duration, Instant};

use crate::live_e2e::{
    engine_toml, kalshi_venue_toml, polymarket_venue_toml, wait_for_feed, ARB_NO, ARB_TICKER,
    ARB_YES, FLAT_NO, FLAT_TICKER, FLAT_YES, RISK_AND_STRATEGY,
};
use crate::support::temp_dir;

/// REST order book requests the Kalshi double served that named `ticker`.
fn rest_book_requests(ks: &KalshiDouble, ticker: &str) -> usize {
    ks.requests()
        .iter()
        .filter(|r| r.path.contains("orderbook"))
        .filter(|r| r.path.contains(ticker) || r.query.contains(ticker))
        .count()
}

fn side(venue: &str, yes: &str, no: &str) -> VenueSide {
    VenueSide {
        venue: venue.into(),
        event_id: format!("{venue}-E"),
        market_id: format!("{venue}-M"),
        title: "Los Angeles L at Boston".into(),
        market_title: String::new(),
        yes: yes.into(),
        no: no.into(),
        yes_why: "test".into(),
        no_why: "test".into(),
        complement: Complement::SameMarket,
        start_ms: None,
        close_ms: None,
        status: plugin_api::ListingStatus::Open,
        venue_status: "active".into(),
        draw_listed: None,
        multi_outcome: false,
        threshold: None,
        yes_ask: None,
        no_ask: None,
        rules: format!("{venue}: if the Lakers win, YES pays."),
    }
}

/// The arb pair as discovery would propose it (clean: no veto, no flag).
fn arb_candidate() -> Candidate {
    Candidate {
        id: "lal-bos-lal".into(),
        league: "nba".into(),
        proposition: Proposition::Wins { team: "LAL".into() },
        title: "Lakers beat Celtics".into(),
        a: side("pm", ARB_YES, ARB_NO),
        b: side(
            "ks",
            &format!("{ARB_TICKER}:yes"),
            &format!("{ARB_TICKER}:no"),
        ),
        vetoes: Vec::new(),
        flags: Vec::new(),
        notes: Vec::new(),
        similarity: 1000,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopted_pairs_join_the_running_stream_and_trade_on_a_streamed_change() {
    // No arb yet on the pair that joins: Kalshi's NO ask is 0.70 (a YES bid at 0.30).
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_kalshi_arb().await;

    let dir = temp_dir("live-stream-adopt");
    let ks_venue = kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        "retries = 2\nstream = true\n",
        1,
    );
    assert!(ks_venue.contains("stream = true"), "{ks_venue}");
    // Only the flat pair at start; the arb pair comes from the registry while running.
    let flat_pair = format!(
        r#"
[[pair]]
id = "nyk-mia-nyk"
title = "Knicks beat Heat"
a = {{ venue = "pm", yes = "{FLAT_YES}", no = "{FLAT_NO}" }}
b = {{ venue = "ks", yes = "{FLAT_TICKER}:yes", no = "{FLAT_TICKER}:no" }}
"#
    );
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, &pm),
            &ks_venue,
            RISK_AND_STRATEGY,
            // REST books every ten minutes: one poll at start (and one when a pair joins), then
            // only the stream; the reconciliation sweep (which adopts) every 100 ms.
            &engine_toml(600_000, 600_000),
            &flat_pair,
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);

    let script = async {
        wait_for_feed(&engine, "ks", "the flat pair's 2 books fresh", |h| {
            h.instruments == 2 && h.fresh_instruments == 2 && h.connections_up == 1
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let subs = ks.ws_book_subscribes();
        assert_eq!(subs.len(), 1, "{subs:?}");
        // (The account's user stream has a connection of its own.)
        let (conn, tickers) = subs[0].clone();
        assert_eq!(
            tickers,
            vec![FLAT_TICKER.to_string()],
            "the flat pair at start"
        );
        let connects = ks.ws_stats("orderbook_snapshot").1;
        assert_eq!(rest_book_requests(&ks, ARB_TICKER), 0, "not a pair yet");

        // The arb pair is discovered and approved while the engine runs.
        let now = polymix_host::venue_io::Clock::now_ms(&polymix_host::venue_io::SystemClock);
        ledger.pair_propose(&arb_candidate(), now).unwrap();
        ledger
            .pair_decide("lal-bos-lal", PairState::Approved, "ann", None, None, now)
            .unwrap();
        let adopted = Instant::now();
        wait_for_feed(
            &engine,
            "ks",
            "the joined pair's books fresh from the stream",
            |h| h.instruments == 4 && h.fresh_instruments == 4,
        )
        .await;
        let joined_in = adopted.elapsed();
        assert_eq!(engine.pairs().len(), 2, "the approved pair joined");
        // Subscribed on the running connection (no reconnect), for the new ticker only.
        assert_eq!(
            ks.ws_book_subscribes(),
            vec![
                (conn, vec![FLAT_TICKER.to_string()]),
                (conn, vec![ARB_TICKER.to_string()])
            ]
        );
        assert_eq!(
            ks.ws_stats("orderbook_snapshot").1,
            connects,
            "no new connection"
        );
        // Its market's lifecycle (pauses, settlement) too, once: the flat one is not
        // subscribed again.
        assert_eq!(
            ks.ws_lifecycle_subscribes(),
            vec![
                (conn, vec![FLAT_TICKER.to_string()]),
                (conn, vec![ARB_TICKER.to_string()])
            ]
        );
        // The poll right after adoption (for the Polymarket legs, which do not stream, and as
        // the fallback for Kalshi books until their snapshots arrive) may have raced the
        // snapshot: at most that one poll (one batch request) asked REST for the new ticker.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rest_after_adoption = rest_book_requests(&ks, ARB_TICKER);
        assert!(
            rest_after_adoption <= 1,
            "{rest_after_adoption} REST requests"
        );
        assert!(
            ledger.trades_in(&[]).unwrap().is_empty(),
            "nothing to trade yet"
        );

        // The arb appears on the stream only: a YES bid at 0.55 (NO ask 0.45) for 10.
        let t0 = Instant::now();
        crate::live_e2e::kalshi_arb_book(&ks);
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(10)).await;
        let took = t0.elapsed();
        assert_eq!(
            rest_book_requests(&ks, ARB_TICKER),
            rest_after_adoption,
            "no REST book request for the joined ticker once the stream had it"
        );
        eprintln!(
            "joined the stream in {joined_in:?} ({rest_after_adoption} REST book requests for it); streamed arb traded in {took:?}"
        );
        (trades, took)
    };
    let (trades, took) = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_eq!(t.pair_id, "lal-bos-lal");
    assert_eq!(t.instrument_b, format!("{ARB_TICKER}:no"));
    assert!(
        ks.fills()
            .iter()
            .all(|f| f.yes_price == plugin_api::Price(550_000)),
        "{:#?}",
        ks.fills()
    );
}

/// A venue with no streamed pair at start has no connection; its first adopted pair starts
/// one. Polymarket streams (no pair at all at start), Kalshi is polled over REST; the arb
/// appears only as a Polymarket `price_change` on the adopted pair.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_adopted_pair_of_a_streaming_venue_starts_its_connection() {
    let (pm, ks) = crate::live_e2e::seeded_doubles_without_arb().await;
    let dir = temp_dir("live-stream-adopt-pm");
    let pm_venue = crate::live_e2e::polymarket_streaming_toml(&dir, &pm, "");
    // No [[pair]]: the engine trades what the registry approves.
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &pm_venue,
            &kalshi_venue_toml(&dir, "ks", &ks, 3000),
            RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let rest_books = || pm.request_count("/books") + pm.request_count("/book");

    let script = async {
        wait_for_feed(
            &engine,
            "pm",
            "the stream ready with nothing to carry",
            |h| h.streaming && h.instruments == 0,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(pm.ws_count("connects"), 0, "no pair, no connection");
        assert!(pm.ws_subscribes().is_empty());

        let now = polymix_host::venue_io::Clock::now_ms(&polymix_host::venue_io::SystemClock);
        ledger.pair_propose(&arb_candidate(), now).unwrap();
        ledger
            .pair_decide("lal-bos-lal", PairState::Approved, "ann", None, None, now)
            .unwrap();
        wait_for_feed(
            &engine,
            "pm",
            "the adopted pair's books fresh from the stream",
            |h| h.instruments == 2 && h.fresh_instruments == 2 && h.connections_up == 1,
        )
        .await;
        assert_eq!(engine.pairs().len(), 1, "the approved pair joined");
        assert_eq!(pm.ws_count("connects"), 1);
        let subs = pm.ws_subscribes();
        assert_eq!(subs.len(), 1, "{subs:?}");
        assert!(subs[0].1, "the connection's first subscription");
        assert_eq!(subs[0].2, vec![ARB_YES.to_string(), ARB_NO.to_string()]);
        // The poll right after adoption fetched the Kalshi legs (and may have raced the
        // snapshots for the Polymarket ones).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let rest_after_adoption = rest_books();
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
            rest_books(),
            rest_after_adoption,
            "no REST book request once the stream had the books"
        );
        assert!(pm.ws_count("price_change") >= 1);
        trades
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert_eq!(trades[0].pair_id, "lal-bos-lal");
}

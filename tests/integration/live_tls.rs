//! A venue served over TLS, as the real ones are (`https://` REST, `wss://` streams): both
//! doubles serve them with the committed test identity (`tests/fixtures/tls`). With its
//! CA named in the venue's `tls_roots`, the engine streams its books and trades over them;
//! without it (the host trusts the web PKI roots only) the live engine does not start, and its
//! one-line error names the venue, the request and the untrusted certificate.

use plugin_api::Qty;
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig};
use polymix_doubles::polymarket::{PolymarketDouble, PolymarketDoubleConfig};
use polymix_doubles::tls::ca_pem_path;
use polymix_host::engine::Engine;
use polymix_host::store::TradeRow;
use std::sync::Arc;
use std::time::Duration;

use crate::live_e2e::{
    engine_toml, entry, kalshi_arb_book, kalshi_streaming_engine, seed, wait_for_feed,
    wait_for_hedged, ARB_TICKER,
};

/// Both doubles seeded, Kalshi on TLS (and Polymarket too with `pm_tls`), no arb until the
/// test makes one.
async fn doubles_on_tls(pm_tls: bool) -> (PolymarketDouble, KalshiDouble) {
    let pm = polymix_doubles::polymarket::spawn(PolymarketDoubleConfig {
        tls: pm_tls,
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig {
        tls: true,
        ..Default::default()
    })
    .await;
    assert!(ks.base_url.starts_with("https://") && ks.ws_url().starts_with("wss://"));
    assert_eq!(pm.ws_url().starts_with("wss://"), pm_tls);
    seed(&pm, &ks);
    ks.seed_book(ARB_TICKER, &[("0.3000", "10.00")], &[("0.3800", "100.00")]);
    (pm, ks)
}

/// Runs `engine` until the books of each of `streaming` are fresh over wss://, then makes
/// the arb on Kalshi's stream and returns the one trade it made, hedged (both orders over
/// https://).
async fn streams_then_trades(
    engine: &Arc<Engine>,
    ks: &KalshiDouble,
    streaming: &[&str],
) -> Vec<TradeRow> {
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        // Snapshots over wss://: both tickers' two outcome books on each venue.
        for venue in streaming {
            wait_for_feed(engine, venue, "4 fresh books over wss", |h| {
                h.fresh_instruments == 4 && h.connections_up >= 1
            })
            .await;
        }
        kalshi_arb_book(ks);
        wait_for_hedged(&ledger, Duration::from_secs(10)).await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    trades
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_on_tls_streams_and_trades_when_its_ca_is_trusted() {
    let (pm, ks) = doubles_on_tls(false).await;
    let roots = format!("tls_roots = {:?}\n", ca_pem_path().display().to_string());
    let engine =
        kalshi_streaming_engine("live-tls", &pm, &ks, &roots, &engine_toml(600_000, 600_000)).await;
    let ledger = engine.ledger().clone();
    let trades = streams_then_trades(&engine, &ks, &["ks"]).await;
    let b = entry(&ledger.orders_of(&trades[0].id).unwrap(), "b");
    assert_eq!((b.qty, b.filled_qty), (Qty::shares(10), Qty::shares(10)));
    assert!(
        ks.requests()
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/orders")),
        "the order was placed over https: {:#?}",
        ks.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_its_ca_a_tls_venue_is_refused_in_one_line_saying_why() {
    let (pm, ks) = doubles_on_tls(false).await;
    let dir = crate::support::temp_dir("live-tls-untrusted");
    let ks_venue = crate::live_e2e::kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        "retries = 2\nstream = true\n",
        1,
    );
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &crate::live_e2e::polymarket_venue_toml(&dir, &pm),
            &ks_venue,
            crate::live_e2e::RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
            &crate::live_e2e::pairs_toml("pm", "ks"),
        ],
    );
    let err = crate::live_e2e::live_engine_refusal(&dir, &body).await;
    // One line naming the venue, the request and why: the certificate is not trusted.
    assert!(
        err.contains("ks") && err.contains("balance") && err.contains("UnknownIssuer"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    assert!(ks.requests().is_empty(), "{:#?}", ks.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_venues_on_tls_stream_and_trade_when_their_ca_is_trusted() {
    let (pm, ks) = doubles_on_tls(true).await;
    let roots = format!("tls_roots = {:?}\n", ca_pem_path().display().to_string());
    let dir = crate::support::temp_dir("live-tls-both");
    let ks_venue = crate::live_e2e::kalshi_venue_toml(&dir, "ks", &ks, 3000).replacen(
        "retries = 2\n",
        &format!("retries = 2\nstream = true\n{roots}"),
        1,
    );
    let body = crate::live_e2e::live_body(
        &dir,
        &[
            &crate::live_e2e::polymarket_streaming_toml(&dir, &pm, &roots),
            &ks_venue,
            crate::live_e2e::RISK_AND_STRATEGY,
            &engine_toml(600_000, 600_000),
            &crate::live_e2e::pairs_toml("pm", "ks"),
        ],
    );
    let engine = crate::live_e2e::live_engine_at(&dir, &body).await;
    let ledger = engine.ledger().clone();
    let trades = streams_then_trades(&engine, &ks, &["pm", "ks"]).await;
    let orders = ledger.orders_of(&trades[0].id).unwrap();
    for leg in ["a", "b"] {
        let o = entry(&orders, leg);
        assert_eq!(
            (o.qty, o.filled_qty),
            (Qty::shares(10), Qty::shares(10)),
            "{o:#?}"
        );
    }
    // Each double serves TLS only, so each order it took came over https://.
    assert_eq!(pm.request_count("/order"), 1);
    assert!(ks
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path.ends_with("/orders")));
}

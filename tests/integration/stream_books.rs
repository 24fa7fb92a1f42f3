//! Books built from the Kalshi double's websocket (the real Kalshi plugin through the host's
//! stream transport) equal the books the test itself expects after 10,000 random level
//! changes, with lost, duplicated and swapped frames and a disconnect along the way. The
//! expected books come from the test's own model of the levels it seeded, not from adapter
//! code.

use plugin_api::ffi::VenueHandle;
use plugin_api::stream::apply_level;
use plugin_api::{Book, Level, Price, Qty, Secret, Secrets, StreamChannel, StreamEvent};
use polymix_doubles::kalshi::ws::WsFault;
use polymix_doubles::kalshi::{self, KalshiDoubleConfig, MarketSpec};
use polymix_host::plugins::Guarded;
use polymix_host::stream::{self, StreamOptions, UpdateKind};
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TICKERS: [&str; 2] = ["KXSTREAM-A", "KXSTREAM-B"];

/// Third-party YES and NO bids of one ticker: price in hundredths → count in whole contracts.
type Model = (BTreeMap<u32, u32>, BTreeMap<u32, u32>);

fn levels(m: &BTreeMap<u32, u32>) -> Vec<(String, String)> {
    m.iter()
        .map(|(p, q)| (format!("0.{p:02}00"), format!("{q}.00")))
        .collect()
}

fn seed(ks: &kalshi::KalshiDouble, ticker: &str, m: &Model) {
    let (yes, no) = (levels(&m.0), levels(&m.1));
    let y: Vec<(&str, &str)> = yes.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let n: Vec<(&str, &str)> = no.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    ks.seed_book(ticker, &y, &n);
}

/// The book of `TICKER:yes` / `TICKER:no` from the model: own bids best first, the other
/// outcome's bids at 1 − p as asks, best first.
fn expected(m: &Model, yes: bool) -> (Vec<Level>, Vec<Level>) {
    let (own, other) = if yes { (&m.0, &m.1) } else { (&m.1, &m.0) };
    let lv = |p: u32, q: u32| Level {
        price: Price(p as i64 * 10_000),
        qty: Qty::shares(q as i64),
    };
    let bids = own.iter().rev().map(|(p, q)| lv(*p, *q)).collect();
    let asks = other.iter().rev().map(|(p, q)| lv(100 - *p, *q)).collect();
    (bids, asks)
}

#[derive(Default)]
struct Local {
    books: HashMap<String, Book>,
    fresh: HashSet<String>,
    resyncs: usize,
    downs: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_books_match_after_10000_random_updates_and_faults() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let mut models: Vec<Model> = Vec::new();
    for t in TICKERS {
        ks.add_market(MarketSpec::new(t));
        // Prices 0.05..0.45 on both sides never cross (p_yes + p_no < 1).
        let m: Model = (
            [(40, 10), (30, 50)].into_iter().collect(),
            [(45, 20)].into_iter().collect(),
        );
        seed(&ks, t, &m);
        models.push(m);
    }
    let key = kalshi::test_keypair();
    let mut secrets = Secrets::new();
    secrets.insert("api_key_id", Secret::new(key.key_id.clone()));
    secrets.insert("private_key_pem", Secret::new(key.private_key_pem.clone()));
    let handle = VenueHandle::in_process::<polymix_venue_kalshi::KalshiVenue>(
        "ks",
        &serde_json::json!({ "base_url": ks.base_url }),
        &secrets,
    )
    .expect("kalshi instance");
    let plugin = Arc::new(Guarded::new("ks", handle, Duration::from_secs(5)));
    let instruments: Vec<String> = TICKERS
        .iter()
        .flat_map(|t| [format!("{t}:yes"), format!("{t}:no")])
        .collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let opts = StreamOptions {
        backoff_base_ms: 20,
        backoff_max_ms: 200,
        ..StreamOptions::default()
    };
    stream::start(
        plugin,
        Arc::new(polymix_host::venue_io::SystemClock),
        StreamChannel::Market,
        &instruments,
        opts,
        tx,
        stop,
    )
    .await
    .expect("stream starts");

    // The consumer: what the engine's stream driver does, with a plain map.
    let local = Arc::new(Mutex::new(Local::default()));
    let l2 = local.clone();
    tokio::spawn(async move {
        while let Some(u) = rx.recv().await {
            let mut l = l2.lock().unwrap();
            match u.kind {
                UpdateKind::Events { events, .. } => {
                    for e in events {
                        match e {
                            StreamEvent::Book { book } => {
                                l.fresh.insert(book.instrument.clone());
                                l.books.insert(book.instrument.clone(), book);
                            }
                            StreamEvent::Level {
                                instrument,
                                side,
                                price,
                                change,
                                ..
                            } if l.fresh.contains(&instrument) => {
                                if let Some(b) = l.books.get_mut(&instrument) {
                                    apply_level(b, side, price, change);
                                }
                            }
                            _ => {}
                        }
                    }
                }
                UpdateKind::Resync { instruments } => {
                    l.resyncs += 1;
                    for i in instruments {
                        l.fresh.remove(&i);
                        l.books.remove(&i);
                    }
                }
                UpdateKind::Down { instruments, .. } => {
                    l.downs += 1;
                    for i in instruments {
                        l.fresh.remove(&i);
                        l.books.remove(&i);
                    }
                }
                UpdateKind::Connected { .. } => {}
            }
        }
    });
    let wait_fresh = |n: usize| {
        let local = local.clone();
        async move {
            let t0 = Instant::now();
            while local.lock().unwrap().fresh.len() < n {
                assert!(t0.elapsed() < Duration::from_secs(10), "books never fresh");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    wait_fresh(4).await;

    // Five phases of 2,000 updates; a fault at the start of phases 2-5; the books are
    // checked at the end of each phase, so no later resync can hide an earlier error.
    let faults = [
        None,
        Some(WsFault::Gap),
        Some(WsFault::Duplicate),
        Some(WsFault::OutOfOrder),
        Some(WsFault::Disconnect),
    ];
    for (phase, fault) in faults.into_iter().enumerate() {
        if let Some(f) = fault {
            ks.ws_inject(f);
            // The frames the fault strikes add contracts (a duplicated or lost removal of a
            // whole level could go unnoticed).
            for price in [10, 15] {
                *models[0].0.entry(price).or_default() += 7;
                seed(&ks, TICKERS[0], &models[0]);
            }
        }
        for i in 0..2_000u32 {
            let t = rng.gen_range(0..TICKERS.len());
            let m = &mut models[t];
            let side = if rng.gen_bool(0.5) {
                &mut m.0
            } else {
                &mut m.1
            };
            let price = rng.gen_range(1..=9) * 5;
            let qty = rng.gen_range(0..=100);
            if qty == 0 {
                side.remove(&price);
            } else {
                side.insert(price, qty);
            }
            seed(&ks, TICKERS[t], &models[t]);
            if i % 500 == 0 {
                // Let the feed keep up now and then, as a real one would between bursts.
                tokio::task::yield_now().await;
            }
        }
        // A last change on every ticker, so a frame lost at the very end shows as a gap.
        for (t, m) in TICKERS.iter().zip(models.iter_mut()) {
            let q = m.0.get(&5).copied().unwrap_or(0) + 1;
            m.0.insert(5, q);
            seed(&ks, t, m);
        }
        let t0 = Instant::now();
        loop {
            let mismatches: Vec<String> = {
                let l = local.lock().unwrap();
                let l = &*l;
                TICKERS
                    .iter()
                    .zip(&models)
                    .flat_map(|(t, m)| {
                        [true, false].into_iter().filter_map(move |yes| {
                            let id = format!("{t}:{}", if yes { "yes" } else { "no" });
                            let want = expected(m, yes);
                            let got = l.books.get(&id).map(|b| (b.bids.clone(), b.asks.clone()));
                            (got.as_ref() != Some(&want))
                                .then(|| format!("{id}: got {got:?}, want {want:?}"))
                        })
                    })
                    .collect()
            };
            if mismatches.is_empty() {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "phase {phase} ({fault:?}): books differ: {mismatches:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let l = local.lock().unwrap();
    assert!(ks.ws_stats("lost").0 >= 1, "a frame was lost");
    assert!(
        l.resyncs >= 2,
        "the gap and the swap were resynced: {}",
        l.resyncs
    );
    assert!(
        l.downs >= 1 && ks.ws_stats("orderbook_snapshot").1 >= 2,
        "reconnected"
    );
    let deltas = ks.ws_stats("orderbook_delta").0;
    // Some updates change nothing (a removed level that was not there, the same count), and
    // none go out while the connection is down; most do.
    assert!(deltas >= 5_000, "{deltas} deltas");
    eprintln!(
        "{deltas} delta frames, {} lost, {} resyncs, {} disconnects",
        ks.ws_stats("lost").0,
        l.resyncs,
        l.downs
    );
    drop(l);
    let _ = stop_tx.send(true);
}

/// The double checks the handshake like a signed REST GET of the websocket path: the same
/// plugin without a key is refused (so the streams above prove the plugin signs it right).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsigned_kalshi_handshake_is_refused() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(TICKERS[0]));
    let handle = VenueHandle::in_process::<polymix_venue_kalshi::KalshiVenue>(
        "ks",
        &serde_json::json!({ "base_url": ks.base_url }),
        &Secrets::new(),
    )
    .expect("kalshi instance");
    let plugin = Arc::new(Guarded::new("ks", handle, Duration::from_secs(5)));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    stream::start(
        plugin,
        Arc::new(polymix_host::venue_io::SystemClock),
        StreamChannel::Market,
        &[format!("{}:yes", TICKERS[0])],
        StreamOptions::default(),
        tx,
        stop,
    )
    .await
    .expect("stream starts");
    let u = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("an update")
        .expect("open");
    match u.kind {
        UpdateKind::Down { reason, .. } => assert!(reason.contains("401"), "{reason}"),
        other => panic!("expected a refused connect, got {other:?}"),
    }
    assert_eq!(ks.ws_stats("subscribed"), (0, 0));
    let _ = stop_tx.send(true);
}

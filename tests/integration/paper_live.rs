//! Paper trading on live markets against the venue doubles (no network): market-data
//! instances poll the doubles' public endpoints, paper-sim instances fed by them fill the
//! engine's orders. Expected fills and fees are worked out here by walking the double's
//! seeded book under each venue's published rules — not with paper-sim's code.

use plugin_api::{OpResult, OrderRequest, Qty, Side, TimeInForce, Usd, VenueOp};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_doubles::polymarket::{self, MarketSeed, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::engine::{Engine, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::store::{state, OrderRow};
use polymix_host::venue_io::{SystemClock, VenueError, VenueIo, VenueIoSettings};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::live_e2e::{
    engine_toml, entry, pairs_toml, wait_for, ARB_COND, ARB_TICKER, ARB_YES, FLAT_TICKER, FLAT_YES,
    RISK_AND_STRATEGY,
};
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

const ARB_NO: &str =
    "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const FLAT_NO: &str =
    "84274430087564096681075261114548544008641925631952343594672716156039422573114";
const FLAT_COND: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";

/// Polymarket's taker fee rate of the seeded markets (their own schedule, not the plugin's
/// configured fallback of 0.05).
const PM_RATE_PPM: i128 = 30_000;

/// The doubles' books, as (price µ$, shares) asks of what the arb buys.
const PM_ARB_YES_ASKS: &[(i64, i64)] = &[(400_000, 6), (410_000, 4), (700_000, 100)];
/// Kalshi shows bids only: YES bids at 0.55 × 10 and 0.20 × 100 are NO asks at 0.45 and 0.80.
const KS_ARB_NO_ASKS: &[(i64, i64)] = &[(450_000, 10), (800_000, 100)];

pub(crate) fn seed(pm: &PolymarketDouble, ks: &KalshiDouble) {
    for (token, cond, outcome) in [
        (ARB_YES, ARB_COND, "Yes"),
        (ARB_NO, ARB_COND, "No"),
        (FLAT_YES, FLAT_COND, "Yes"),
        (FLAT_NO, FLAT_COND, "No"),
    ] {
        let mut m = MarketSeed::new(token, cond);
        m.outcome = outcome.into();
        m.fee_rate = Some("0.03".into());
        pm.add_market(m);
    }
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.40", "6"), ("0.41", "4"), ("0.70", "100")],
    );
    pm.set_book(ARB_NO, &[("0.58", "50")], &[("0.62", "100")]);
    pm.set_book(FLAT_YES, &[("0.45", "50")], &[("0.48", "100")]);
    pm.set_book(FLAT_NO, &[("0.50", "50")], &[("0.55", "100")]);
    ks.add_market(MarketSpec::new(ARB_TICKER));
    ks.add_market(MarketSpec::new(FLAT_TICKER));
    crate::live_e2e::kalshi_arb_book(ks);
    ks.seed_book(
        FLAT_TICKER,
        &[("0.4900", "100.00")],
        &[("0.5000", "100.00")],
    );
}

/// Market-data instances on the doubles, and paper-sims fed by them.
fn venues_toml(pm: &PolymarketDouble, ks: &KalshiDouble, latency_ms: u64) -> String {
    format!(
        r#"
[[venue]]
name = "pm-data"
plugin = "polymarket"
role = "market-data"
timeout_ms = 3000
[venue.settings]
clob_url = "{clob}"
gamma_url = "{gamma}"
data_url = "{data}"

[[venue]]
name = "ks-data"
plugin = "kalshi"
role = "market-data"
timeout_ms = 3000
[venue.settings]
base_url = "{ks}"

[[venue]]
name = "pm"
plugin = "paper-sim"
feed = "pm-data"
[venue.settings]
rules = "polymarket"
balance = "1000"
latency_ms = {latency_ms}
confirm_ms = 200

[[venue]]
name = "ks"
plugin = "paper-sim"
feed = "ks-data"
[venue.settings]
rules = "kalshi"
balance = "1000"
latency_ms = {latency_ms}
"#,
        clob = pm.base_url,
        gamma = pm.gamma_url,
        data = pm.data_url,
        ks = ks.base_url,
    )
}

pub(crate) fn write_config(
    dir: &Path,
    pm: &PolymarketDouble,
    ks: &KalshiDouble,
    latency_ms: u64,
) -> PathBuf {
    let body = format!(
        "mode = \"paper\"\ndata_dir = {:?}\n{}{}{}{}{}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        venues_toml(pm, ks, latency_ms),
        RISK_AND_STRATEGY,
        engine_toml(50, 200),
        pairs_toml("pm", "ks"),
    );
    let p = dir.join("polymix.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

pub(crate) async fn registry(cfg: &Arc<polymix_host::config::Config>) -> Registry {
    let c2 = cfg.clone();
    tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await
        .expect("join")
        .expect("plugins load")
}

/// Walks asks best first for up to `qty` shares at prices no worse than `limit`: the fills
/// (price µ$, micro-shares) a venue's matching engine would give.
fn walk(asks: &[(i64, i64)], qty: i64, limit: i64) -> Vec<(i64, i64)> {
    let mut left = qty;
    let mut out = Vec::new();
    for &(p, shares) in asks {
        if left == 0 || p > limit {
            break;
        }
        let take = left.min(shares * 1_000_000);
        out.push((p, take));
        left -= take;
    }
    out
}

/// Notional in µ$ of a fill: micro-shares × µ$ / 1e6.
fn notional(fills: &[(i64, i64)]) -> i64 {
    fills.iter().map(|&(p, q)| p * q / 1_000_000).sum()
}

/// Polymarket fee per fill (polymarket.md §5): C · rate · p · (1 − p), rounded half up to 5
/// decimals. In µ$: q/1e6 · r/1e6 · p/1e6 · (1e6 − p)/1e6 · 1e6.
fn pm_fee(fills: &[(i64, i64)]) -> i64 {
    fills
        .iter()
        .map(|&(p, q)| {
            let num = q as i128 * PM_RATE_PPM * p as i128 * (1_000_000 - p as i128);
            let den: i128 = 1_000_000 * 1_000_000 * 1_000_000 * 10; // to units of 10 µ$
            (((num + den / 2) / den) * 10) as i64
        })
        .sum()
}

/// Kalshi taker fee per fill: 0.07 · C · p · (1 − p), rounded up to the cent.
fn ks_fee(fills: &[(i64, i64)]) -> i64 {
    fills
        .iter()
        .map(|&(p, q)| {
            let num = q as i128 * 70_000 * p as i128 * (1_000_000 - p as i128);
            let den: i128 = 1_000_000 * 1_000_000 * 1_000_000 * 10_000; // to cents
            (((num + den - 1) / den) * 10_000) as i64
        })
        .sum()
}

/// The doubles saw no order, cancel or account request: only public market-data reads.
pub(crate) fn assert_public_only(pm: &PolymarketDouble, ks: &KalshiDouble, pm_polled: bool) {
    let pm_log = pm.request_log();
    assert_eq!(
        !pm_log.is_empty(),
        pm_polled,
        "Polymarket polled: {pm_log:?}"
    );
    for (method, path, _) in &pm_log {
        // `POST /books` is the CLOB's public batch book read (polymarket.md); nothing else
        // may write.
        assert!(
            method == "GET" || (method == "POST" && path.ends_with("/books")),
            "{method} {path}"
        );
        for private in [
            "/order",
            "/data/",
            "/balance",
            "/auth",
            "/positions",
            "/notifications",
        ] {
            assert!(
                !path.contains(private),
                "account request to Polymarket: {path}"
            );
        }
    }
    assert_eq!(pm.order_posts(), 0);
    assert_eq!(pm.accepted_orders(), 0);
    let ks_log = ks.requests();
    assert!(!ks_log.is_empty(), "the feed polled Kalshi");
    for r in &ks_log {
        assert_eq!(r.method, "GET", "{} {}", r.method, r.path);
        assert!(
            !r.path.contains("/portfolio"),
            "account request to Kalshi: {}",
            r.path
        );
    }
    assert_eq!(ks.place_attempts(), 0);
    assert!(ks.orders().is_empty());
}

fn order_fills(o: &OrderRow) -> (Qty, Usd, Usd) {
    (o.filled_qty, o.filled_notional, o.fees)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_on_live_feeds_trades_the_arb_as_the_books_walk_and_settles() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("paper-live");
    let cfg =
        Arc::new(polymix_host::config::load(&write_config(&dir, &pm, &ks, 100)).expect("config"));
    let reg = registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(
            cfg,
            &reg,
            Arc::new(SystemClock),
            EngineOptions {
                live_confirmed: false,
            },
        )
        .await
        .expect("paper-on-live engine starts in paper mode"),
    );
    assert!(engine.is_fed());
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let trades = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let status = engine.feed_status();
        assert_eq!(status.len(), 2, "{status:?}");
        assert!(status.iter().all(|s| s.last_ok_ms.is_some()), "{status:?}");
        assert!(status
            .iter()
            .any(|s| s.venue == "pm" && s.feed == "pm-data"));
        tokio::time::sleep(Duration::from_millis(400)).await;
        let t = trades[0].clone();
        // P (Lakers) wins: Polymarket's YES pays, Kalshi's NO does not.
        pm.resolve(ARB_YES, true);
        ks.update_market(ARB_TICKER, |m| {
            m.status = "finalized".into();
            m.result = "yes".into();
            m.settlement_value_dollars = Some("1.0000".into());
        });
        let settled = wait_for(
            &ledger,
            "the trade to settle",
            Duration::from_secs(20),
            |ts| ts.iter().any(|x| x.id == t.id && x.state == state::SETTLED),
        )
        .await;
        let _ = tx.send(true);
        settled
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");

    assert_eq!(
        trades.len(),
        1,
        "one trade, on the arb pair only: {trades:#?}"
    );
    let t = &trades[0];
    assert_eq!(t.pair_id, "lal-bos-lal");
    assert_eq!(t.instrument_a, ARB_YES);
    assert_eq!(t.instrument_b, format!("{ARB_TICKER}:no"));
    let orders = ledger.orders_of(&t.id).expect("orders");
    let (oa, ob) = (entry(&orders, "a"), entry(&orders, "b"));

    // What walking each double's book at the leg's limit gives, under the venue's rules.
    let fa = walk(PM_ARB_YES_ASKS, oa.qty.0, oa.price.0);
    let fb = walk(KS_ARB_NO_ASKS, ob.qty.0, ob.price.0);
    let want_a = (
        Qty(fa.iter().map(|f| f.1).sum()),
        Usd(notional(&fa)),
        Usd(pm_fee(&fa)),
    );
    let want_b = (
        Qty(fb.iter().map(|f| f.1).sum()),
        Usd(notional(&fb)),
        Usd(ks_fee(&fb)),
    );
    assert_eq!(order_fills(&oa), want_a, "leg a {oa:#?}");
    assert_eq!(order_fills(&ob), want_b, "leg b {ob:#?}");
    // The walk took both Polymarket levels: 6 @ 0.40 + 4 @ 0.41, fee 0.0072 + 0.00484 → per
    // fill 0.00720 and 0.00484 (3% rate): 10 shares, $4.04, $0.01204. Kalshi 10 @ 0.45, $0.18.
    assert_eq!(oa.filled_qty, Qty::shares(10));
    assert_eq!(fa.len(), 2, "two Polymarket fills: {fa:?}");
    assert_eq!(oa.filled_notional, Usd::from_cents(404));
    assert_eq!(ob.filled_notional, Usd::from_cents(450));
    assert_eq!(ob.fees, Usd::from_cents(18));
    // Settled: the YES shares pay $10, NO pays nothing.
    let paid: Usd = orders.iter().map(|o| o.filled_notional + o.fees).sum();
    assert_eq!(t.realized_pnl, Some(Usd::dollars(10) - paid), "{t:#?}");
    assert_public_only(&pm, &ks, true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_market_data_instance_refuses_orders_and_account_requests() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("market-data");
    let path = write_config(&dir, &pm, &ks, 0);
    let cfg = Arc::new(polymix_host::config::load(&path).expect("config"));
    let reg = registry(&cfg).await;
    let order = OrderRequest {
        client_order_id: "pmx-md-1".into(),
        instrument: format!("{ARB_TICKER}:no"),
        side: Side::Buy,
        price: plugin_api::Price(450_000),
        qty: Qty::shares(1),
        tif: TimeInForce::Ioc,
        post_only: false,
    };
    for name in ["ks-data", "pm-data"] {
        let inst = reg.venue(name).expect("loaded");
        let io = VenueIo::new(
            name,
            inst.handle.clone(),
            VenueIoSettings::resolve(cfg.venue(name).expect("entry"), &inst.info.rate_limits),
            Arc::new(SystemClock),
        );
        for op in [
            VenueOp::PlaceOrder {
                order: order.clone(),
            },
            VenueOp::CancelAll { instrument: None },
            VenueOp::Balance,
            VenueOp::Positions,
            VenueOp::OpenOrders { instrument: None },
        ] {
            match io.run(&op).await {
                Err(e @ VenueError::MarketDataOnly { .. }) => {
                    assert!(e.to_string().contains("market-data"), "{e}")
                }
                other => panic!("{name} {}: {other:?}", op.name()),
            }
        }
    }
    // Public reads do go through.
    let inst = reg.venue("ks-data").expect("loaded");
    let io = VenueIo::new(
        "ks-data",
        inst.handle.clone(),
        VenueIoSettings::resolve(cfg.venue("ks-data").expect("entry"), &inst.info.rate_limits),
        Arc::new(SystemClock),
    );
    let book = io
        .run(&VenueOp::Book {
            instrument: format!("{ARB_TICKER}:no"),
        })
        .await
        .expect("public book");
    assert!(matches!(book, OpResult::Book { .. }));
    // The operator command is refused the same way, with one line naming the role.
    for name in ["ks-data", "pm-data"] {
        let out = Command::new(polymix_bin())
            .args(["venue", "--config"])
            .arg(&path)
            .args([
                name,
                "place",
                "--instrument",
                &format!("{ARB_TICKER}:no"),
                "--side",
                "buy",
                "--price",
                "0.45",
                "--qty",
                "1",
                "--confirm",
            ])
            .env_clear()
            .output()
            .expect("run polymix");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("market-data") && err.contains("place_order"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one error line: {err}");
    }
    // Balance too.
    let out = Command::new(polymix_bin())
        .args(["venue", "--config"])
        .arg(&path)
        .args(["ks-data", "balance"])
        .env_clear()
        .output()
        .expect("run polymix");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("market-data"));
    assert_public_only(&pm, &ks, false);
}

/// "Harder than live": an arb that vanishes within the configured latency is not filled at
/// the price seen when deciding. The Polymarket ask at 0.40/0.41 is pulled right after the
/// trade is journaled; paper-sim's 1.5 s latency lets the feed hand over the new book first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_arb_gone_within_the_latency_is_not_filled_at_the_old_price() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("paper-live-latency");
    let cfg =
        Arc::new(polymix_host::config::load(&write_config(&dir, &pm, &ks, 1_500)).expect("config"));
    let reg = registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(cfg, &reg, Arc::new(SystemClock), EngineOptions::default())
            .await
            .expect("engine starts"),
    );
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let trades = wait_for(&ledger, "a trade decision", Duration::from_secs(20), |t| {
            !t.is_empty()
        })
        .await;
        // Gone from the live book: only 0.70 is left.
        pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.70", "100")]);
        let id = trades[0].id.clone();
        let done = wait_for(&ledger, "the trade to end", Duration::from_secs(30), |ts| {
            ts.iter()
                .any(|x| x.id == id && !state::IN_FLIGHT.contains(&x.state))
        })
        .await;
        let _ = tx.send(true);
        done
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    let t = &trades[0];
    let orders = ledger.orders_of(&t.id).expect("orders");
    let oa = entry(&orders, "a");
    assert!(
        oa.price.0 < 700_000,
        "leg a's limit is below the new ask: {oa:#?}"
    );
    assert_eq!(
        oa.filled_qty,
        Qty::ZERO,
        "not filled at the pre-latency 0.40: {oa:#?}"
    );
    assert_eq!(oa.filled_notional, Usd::ZERO);
    assert_ne!(t.state, state::HEDGED, "{t:#?}");
    assert_public_only(&pm, &ks, true);
}

/// `polymix record`: what the feeds served, written as a scenario, replays as the same book
/// sequence, and a paper replay of it trades the arb with the fills the book walk gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_replays_the_same_books_and_trades() {
    use polymix_host::record::{record, RecordOptions};
    use polymix_venue_paper_sim::scenario::{parse_str, EventKind};

    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("record");
    let cfg =
        Arc::new(polymix_host::config::load(&write_config(&dir, &pm, &ks, 0)).expect("config"));
    let reg = registry(&cfg).await;
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = RecordOptions {
        duration: Duration::from_secs(30),
        poll: Duration::from_millis(30),
        settle_poll: Duration::from_millis(150),
    };
    let script = async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        // Second Polymarket book: the 0.41 level grew.
        pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.40", "6"), ("0.41", "9")]);
        tokio::time::sleep(Duration::from_millis(500)).await;
        pm.resolve(ARB_YES, true);
        ks.update_market(ARB_TICKER, |m| {
            m.status = "finalized".into();
            m.result = "yes".into();
            m.settlement_value_dollars = Some("1.0000".into());
        });
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = tx.send(true);
    };
    let mut file = Vec::new();
    let (written, ()) = tokio::join!(record(&cfg, &reg, &mut file, opts, rx), script);
    let summary = written.expect("recorded");
    assert_eq!(summary.markets, 4, "{summary:?}");
    assert_eq!(
        summary.resolutions, 2,
        "both arb markets resolved: {summary:?}"
    );
    let text = String::from_utf8(file).expect("utf-8");

    // The replay's own parser reads it; the arb market's books are the two the double served,
    // in order, each once.
    let scen = parse_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let arb = scen
        .markets
        .iter()
        .position(|m| m.instruments[0] == ARB_YES)
        .expect("arb market recorded") as u32;
    type Side = Vec<(i64, i64)>;
    let books: Vec<(Side, Side)> = scen
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Book { market, bids, asks } if *market == arb => Some((
                bids.iter().map(|l| (l.price.0, l.qty.0)).collect(),
                asks.iter().map(|l| (l.price.0, l.qty.0)).collect(),
            )),
            _ => None,
        })
        .collect();
    // Expected sizes in hundredths of a share; the recording holds micro-shares.
    let h = |v: Vec<(i64, i64)>| -> Side { v.into_iter().map(|(p, q)| (p, q * 10_000)).collect() };
    assert_eq!(
        books,
        vec![
            (
                h(vec![(370_000, 5_000)]),
                h(vec![(400_000, 600), (410_000, 400), (700_000, 10_000)])
            ),
            (
                h(vec![(370_000, 5_000)]),
                h(vec![(400_000, 600), (410_000, 900)])
            ),
        ],
        "{text}"
    );
    let ks_arb = scen
        .markets
        .iter()
        .position(|m| m.id == ARB_TICKER)
        .expect("kalshi market") as u32;
    // Kalshi: YES bids 0.55 × 10, 0.20 × 100; YES ask 1 − 0.38 = 0.62 × 100.
    assert!(scen.events.iter().any(|e| matches!(&e.kind,
        EventKind::Book { market, bids, asks } if *market == ks_arb
            && bids.iter().map(|l| (l.price.0, l.qty)).collect::<Vec<_>>() == vec![(550_000, Qty::shares(10)), (200_000, Qty::shares(100))]
            && asks.iter().map(|l| (l.price.0, l.qty)).collect::<Vec<_>>() == vec![(620_000, Qty::shares(100))])));
    assert!(scen.events.iter().any(|e| matches!(&e.kind,
        EventKind::Resolve { market, yes_won: true } if *market == arb)));

    // Replayed in paper mode (the same pairs, paper-sims on the file): the arb trades once,
    // with the fills walking the recorded (= served) first book gives, and settles.
    let scen_path = dir.join("recorded.jsonl");
    std::fs::write(&scen_path, &text).expect("write scenario");
    let replay_dir = temp_dir("record-replay");
    let venues = format!(
        "[[venue]]\nname = \"pm\"\nplugin = \"paper-sim\"\n[venue.settings]\nrules = \"polymarket\"\nscenario = {p:?}\nvenue_key = \"pm\"\nbalance = \"1000\"\n\n[[venue]]\nname = \"ks\"\nplugin = \"paper-sim\"\n[venue.settings]\nrules = \"kalshi\"\nscenario = {p:?}\nvenue_key = \"ks\"\nbalance = \"1000\"\n",
        p = scen_path.display().to_string()
    );
    let body = format!(
        "mode = \"paper\"\ndata_dir = {:?}\n{}{venues}{}\n[api]\nenabled = false\n{}",
        replay_dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        RISK_AND_STRATEGY,
        pairs_toml("pm", "ks"),
    );
    let replay_cfg = replay_dir.join("polymix.toml");
    std::fs::write(&replay_cfg, body).expect("write replay config");
    let rcfg = Arc::new(polymix_host::config::load(&replay_cfg).expect("replay config"));
    let rreg = registry(&rcfg).await;
    let clock = polymix_host::venue_io::SimClock::new(scen.header.start_ms);
    let engine = std::sync::Arc::new(
        Engine::new(
            rcfg,
            &rreg,
            Arc::new(clock.clone()),
            EngineOptions::default(),
        )
        .await
        .expect("replay engine"),
    );
    engine
        .replay(&clock, None, &|_, _| {})
        .await
        .expect("replay runs");
    let trades = engine.ledger().trades_in(&[]).expect("ledger");
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_eq!(t.pair_id, "lal-bos-lal");
    assert_eq!(t.state, state::SETTLED, "{t:#?}");
    let orders = engine.ledger().orders_of(&t.id).expect("orders");
    let (oa, ob) = (entry(&orders, "a"), entry(&orders, "b"));
    let fa = walk(PM_ARB_YES_ASKS, oa.qty.0, oa.price.0);
    let fb = walk(KS_ARB_NO_ASKS, ob.qty.0, ob.price.0);
    assert_eq!(
        order_fills(&oa),
        (
            Qty(fa.iter().map(|f| f.1).sum()),
            Usd(notional(&fa)),
            Usd(pm_fee(&fa))
        )
    );
    assert_eq!(
        order_fills(&ob),
        (
            Qty(fb.iter().map(|f| f.1).sum()),
            Usd(notional(&fb)),
            Usd(ks_fee(&fb))
        )
    );
    assert_public_only(&pm, &ks, true);
}

/// `polymix venue --json` on a config; the parsed answer.
fn venue_json(cfg: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(polymix_bin())
        .args(["venue", "--json", "--config"])
        .arg(cfg)
        .args(args)
        .env_clear()
        .output()
        .expect("run polymix");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// A paper-on-live run with journaled paper accounts is SIGKILLed with a hedged trade open and
/// restarted: the paper cash and positions continue (read back from the journal by a separate
/// `polymix venue` process), the standing quote it already took is not traded again, and the
/// trade settles into the same account when the doubles resolve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_paper_on_live_run_continues_its_account() {
    use crate::crash_restart::{ledger_trades, until, Polymix};

    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("paper-live-kill");
    let cfg = write_config(&dir, &pm, &ks, 50);
    let body = std::fs::read_to_string(&cfg)
        .expect("config")
        .replace(
            "rules = \"polymarket\"\n",
            "rules = \"polymarket\"\njournal = \"pm.journal\"\n",
        )
        .replace(
            "rules = \"kalshi\"\n",
            "rules = \"kalshi\"\njournal = \"ks.journal\"\n",
        );
    std::fs::write(&cfg, body).expect("config");
    let ledger = dir.join("data").join("paper.sqlite");
    let hedged = || {
        ledger_trades(&ledger)
            .iter()
            .any(|(t, _)| t.state == state::HEDGED)
    };

    let mut p1 = Polymix::start(&cfg, dir.join("run1.log"));
    // Not a look at the ledger before the run has created it: two processes creating one
    // fresh ledger at once race on its schema (see the report).
    let log1 = dir.join("run1.log");
    until(&mut p1, "trading to begin", Duration::from_secs(30), || {
        std::fs::read_to_string(&log1)
            .unwrap_or_default()
            .contains("start-up reconciliation finished")
    })
    .await;
    until(&mut p1, "a hedged trade", Duration::from_secs(30), hedged).await;
    p1.kill();

    // What the killed run's paper accounts held, from their journals.
    let trades = ledger_trades(&ledger);
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let (t, orders) = trades[0].clone();
    let (oa, ob) = (entry(&orders, "a"), entry(&orders, "b"));
    let cash = |v: &serde_json::Value| v["balance"]["total"].as_i64().expect("cash");
    let pm_cash = cash(&venue_json(&cfg, &["pm", "balance"]));
    let ks_cash = cash(&venue_json(&cfg, &["ks", "balance"]));
    assert_eq!(
        pm_cash,
        Usd::dollars(1000).0 - oa.filled_notional.0 - oa.fees.0
    );
    assert_eq!(
        ks_cash,
        Usd::dollars(1000).0 - ob.filled_notional.0 - ob.fees.0
    );
    let pos = venue_json(&cfg, &["pm", "positions"]);
    assert_eq!(pos["positions"][0]["instrument"], ARB_YES, "{pos}");
    assert_eq!(pos["positions"][0]["qty"], oa.filled_qty.0, "{pos}");

    // Restart: no second trade on the quote already taken; the trade settles.
    let mut p2 = Polymix::start(&cfg, dir.join("run2.log"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    p2.assert_running();
    pm.resolve(ARB_YES, true);
    ks.update_market(ARB_TICKER, |m| {
        m.status = "finalized".into();
        m.result = "yes".into();
        m.settlement_value_dollars = Some("1.0000".into());
    });
    let id = t.id.clone();
    until(
        &mut p2,
        "the trade to settle",
        Duration::from_secs(30),
        || {
            ledger_trades(&ledger)
                .iter()
                .any(|(x, _)| x.id == id && x.state == state::SETTLED)
        },
    )
    .await;
    p2.kill();
    let trades = ledger_trades(&ledger);
    assert_eq!(trades.len(), 1, "one trade across both runs: {trades:#?}");
    // The YES shares paid $10 into the same paper account.
    assert_eq!(
        cash(&venue_json(&cfg, &["pm", "balance"])),
        pm_cash + Usd::dollars(10).0
    );
    assert_eq!(cash(&venue_json(&cfg, &["ks", "balance"])), ks_cash);
    assert_public_only(&pm, &ks, true);
}

/// A feed that stops serving a book leaves nothing stale to trade on: the Kalshi double's arb
/// side is pulled while its order-book endpoint fails, then Polymarket turns cheap. The last
/// book Kalshi served still shows the arb; the simulator must not fill against it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_that_fails_leaves_no_stale_book_to_trade() {
    use polymix_doubles::fault::{Fault, FaultRule};

    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    // Polymarket expensive at first: no arb, no trade.
    pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.70", "100")]);
    let dir = temp_dir("paper-live-stale");
    let path = write_config(&dir, &pm, &ks, 0);
    // No retries of a failed read: the feed's poll ends (with the failure) at once.
    let body = std::fs::read_to_string(&path).expect("config").replace(
        "role = \"market-data\"\ntimeout_ms = 3000\n[venue.settings]\nbase_url",
        "role = \"market-data\"\ntimeout_ms = 3000\nretries = 0\n[venue.settings]\nbase_url",
    );
    assert!(body.contains("retries = 0"));
    std::fs::write(&path, body).expect("config");
    let cfg = Arc::new(polymix_host::config::load(&path).expect("config"));
    let reg = registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(cfg, &reg, Arc::new(SystemClock), EngineOptions::default())
            .await
            .expect("engine starts"),
    );
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        tokio::time::sleep(Duration::from_millis(400)).await;
        // Kalshi's books stop coming, and its arb side is gone; then Polymarket turns cheap.
        ks.inject(FaultRule::once("GET", "/markets/orderbooks", Fault::Status(500)).times(100_000));
        ks.seed_book(ARB_TICKER, &[("0.2000", "100.00")], &[("0.3800", "100.00")]);
        tokio::time::sleep(Duration::from_millis(400)).await;
        pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.40", "6"), ("0.41", "4")]);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let status = engine.feed_status();
        let _ = tx.send(true);
        status
    };
    let (run, status) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    let trades = ledger.trades_in(&[]).expect("ledger");
    assert!(trades.is_empty(), "traded on a stale book: {trades:#?}");
    let ks_feed = status.iter().find(|s| s.venue == "ks").expect("ks feed");
    assert!(
        ks_feed
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("books")),
        "{status:?}"
    );
}

/// A feed that fails at start-up is asked again before the engine reads pair rules: a pair
/// whose rules are missing would not trade for the whole run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_down_at_start_up_is_retried_before_pairs_are_set() {
    use polymix_doubles::fault::{Fault, FaultRule};

    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    // Every Kalshi market read fails for a while (rules and books alike), with no retries.
    ks.inject(FaultRule::once("GET", "/markets", Fault::Status(503)).times(12));
    let dir = temp_dir("paper-live-startup");
    let path = write_config(&dir, &pm, &ks, 0);
    let body = std::fs::read_to_string(&path).expect("config").replace(
        "role = \"market-data\"\ntimeout_ms = 3000\n[venue.settings]\nbase_url",
        "role = \"market-data\"\ntimeout_ms = 3000\nretries = 0\n[venue.settings]\nbase_url",
    );
    assert!(body.contains("retries = 0"));
    std::fs::write(&path, body).expect("config");
    let cfg = Arc::new(polymix_host::config::load(&path).expect("config"));
    let reg = registry(&cfg).await;
    let engine = std::sync::Arc::new(
        Engine::new(cfg, &reg, Arc::new(SystemClock), EngineOptions::default())
            .await
            .expect("engine starts"),
    );
    assert_eq!(engine.pair_off(0), None, "the arb pair trades");
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let t = crate::live_e2e::wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let _ = tx.send(true);
        t
    };
    let (run, _) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
}

//! Live mode end to end, in process: the real engine, the real Polymarket and Kalshi plugins,
//! and the two venue doubles on 127.0.0.1. Also: paper mode refuses live venues before any
//! request, and `config/live.example.toml` loads and its plugins accept their settings.

use plugin_api::{client_order_id, Qty, Usd};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_doubles::polymarket::{self, MarketSeed, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::engine::{Engine, EngineError, EngineOptions};
use polymix_host::plugins::Registry;
use polymix_host::store::{state, Ledger, OrderRow, OrderState, Purpose, TradeRow};
use polymix_host::venue_io::SystemClock;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{plugin_dirs_toml, temp_dir};

/// Hardhat account #0: a public test key, never funded anywhere that matters.
const PM_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const PM_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

/// Pair 1 (the arb): "Lakers beat Celtics".
pub const ARB_YES: &str =
    "71321045679252212594626385532706912750332728571942532289631379312455583992563";
pub const ARB_NO: &str =
    "48331043336612883890938759509493159234755048973500640148014422747788308965732";
pub const ARB_COND: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
pub const ARB_TICKER: &str = "KXNBAGAME-26NOV24LALBOS-LAL";

/// Pair 2 (cheap before fees, not an arb after them): "Knicks beat Heat".
pub const FLAT_YES: &str =
    "12536904845456331096123418835199689543837902082008949661160089385020212703370";
pub const FLAT_NO: &str =
    "84274430087564096681075261114548544008641925631952343594672716156039422573114";
const FLAT_COND: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";
pub const FLAT_TICKER: &str = "KXNBAGAME-26NOV24NYKMIA-NYK";

/// Writes a secret to a file next to the config (no environment variables: tests run in
/// parallel) and returns the TOML reference to it.
fn secret_file(dir: &Path, name: &str, value: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, value).expect("write secret");
    format!("{{ file = {:?} }}", p.display().to_string())
}

/// The Kalshi venue block for a double, keyed with the committed test key.
pub fn kalshi_venue_toml(dir: &Path, name: &str, d: &KalshiDouble, timeout_ms: u64) -> String {
    let k = kalshi::test_keypair();
    format!(
        r#"
[[venue]]
name = "{name}"
plugin = "kalshi"
timeout_ms = {timeout_ms}
retries = 2
[venue.settings]
base_url = "{url}"
[venue.secrets]
api_key_id = {id}
private_key_pem = {pem}
"#,
        url = d.base_url,
        id = secret_file(dir, &format!("{name}_key_id"), &k.key_id),
        pem = secret_file(dir, &format!("{name}_key.pem"), &k.private_key_pem),
    )
}

pub fn polymarket_venue_toml(dir: &Path, d: &PolymarketDouble) -> String {
    let (key, secret, pass) = d.issue_key(PM_ADDR);
    format!(
        r#"
[[venue]]
name = "pm"
plugin = "polymarket"
timeout_ms = 3000
retries = 2
[venue.settings]
clob_url = "{clob}"
gamma_url = "{gamma}"
data_url = "{data}"
signature_type = "eoa"
fee_rate = "0.05"
[venue.secrets]
private_key = {pk}
api_key = {key}
api_secret = {secret}
api_passphrase = {pass}
"#,
        clob = d.base_url,
        gamma = d.gamma_url,
        data = d.data_url,
        pk = secret_file(dir, "pm_private_key", PM_KEY),
        key = secret_file(dir, "pm_api_key", &key),
        secret = secret_file(dir, "pm_api_secret", &secret),
        pass = secret_file(dir, "pm_api_passphrase", &pass),
    )
}

/// Risk limits and the arb strategy as in `config/paper.toml`, with a $100 bet.
pub const RISK_AND_STRATEGY: &str = r#"
[[risk]]
name = "limits"
plugin = "risk-limits"
[risk.settings]
daily_loss_limit = "500"
max_position_size = "1000"
max_daily_trades = 10
min_roi = "0.01"
max_unhedged_exposure = "250"

[strategy]
name = "arb"
plugin = "arb"
[strategy.settings]
bet_amount = "100"
min_roi = "0.01"
slippage_bps = 10
"#;

pub fn engine_toml(poll_ms: u64, settle_poll_ms: u64) -> String {
    format!(
        "\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = {poll_ms}\nsettle_poll_ms = {settle_poll_ms}\nreconcile_ms = 100\norder_appear_window_ms = 2000\n\n[api]\nenabled = false\n"
    )
}

fn pm_market(d: &PolymarketDouble, token: &str, cond: &str, outcome: &str) {
    let mut m = MarketSeed::new(token, cond);
    m.outcome = outcome.into();
    m.question = format!("test market {cond}");
    d.add_market(m);
}

/// No arb until a test makes one: P costs 0.60 on Polymarket.
pub fn no_arb_on_polymarket(pm: &PolymarketDouble) {
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.60", "10"), ("0.70", "100")],
    );
}

/// Both doubles (default configs), seeded ([`seed`]), with no arb on Kalshi's side: its NO
/// ask on the arb pair is 0.70 (a YES bid at 0.30) until a test makes one
/// ([`kalshi_arb_book`]).
pub async fn seeded_doubles_without_kalshi_arb() -> (PolymarketDouble, KalshiDouble) {
    let pm = polymix_doubles::polymarket::spawn(Default::default()).await;
    let ks = polymix_doubles::kalshi::spawn(Default::default()).await;
    seed(&pm, &ks);
    ks.seed_book(ARB_TICKER, &[("0.3000", "10.00")], &[("0.3800", "100.00")]);
    (pm, ks)
}

/// Both doubles (default configs), seeded ([`seed`]), with no arb until a test makes one.
pub async fn seeded_doubles_without_arb() -> (PolymarketDouble, KalshiDouble) {
    let pm = polymix_doubles::polymarket::spawn(Default::default()).await;
    let ks = polymix_doubles::kalshi::spawn(Default::default()).await;
    seed(&pm, &ks);
    no_arb_on_polymarket(&pm);
    (pm, ks)
}

/// Kalshi's side of the arb as [`seed`] sets it: a YES bid at 0.55 for 10 (a NO ask at 0.45)
/// over a deep one at 0.20, and a NO bid at 0.38 (a YES ask at 0.62).
pub fn kalshi_arb_book(ks: &KalshiDouble) {
    ks.seed_book(
        ARB_TICKER,
        &[("0.5500", "10.00"), ("0.2000", "100.00")],
        &[("0.3800", "100.00")],
    );
}

/// Seeds both doubles:
/// * arb pair: P costs 0.40 on Polymarket (10 shares), not-P costs 0.45 on Kalshi (a YES bid
///   at 0.55, 10 contracts). 10 × (0.40 + 0.45) = $8.50 plus fees ≈ $0.30 pays $10: an arb.
///   The other direction costs 0.62 + 0.62. Deeper levels are far too expensive, so exactly
///   10 shares are worth buying.
/// * flat pair: P 0.48 + not-P 0.51 = 0.99 before fees, ≈ 1.02 after them: no trade.
pub fn seed(pm: &PolymarketDouble, ks: &KalshiDouble) {
    pm_market(pm, ARB_YES, ARB_COND, "Yes");
    pm_market(pm, ARB_NO, ARB_COND, "No");
    pm_market(pm, FLAT_YES, FLAT_COND, "Yes");
    pm_market(pm, FLAT_NO, FLAT_COND, "No");
    pm.set_book(
        ARB_YES,
        &[("0.37", "50")],
        &[("0.40", "10"), ("0.70", "100")],
    );
    pm.set_book(ARB_NO, &[("0.58", "50")], &[("0.62", "100")]);
    pm.set_book(FLAT_YES, &[("0.45", "50")], &[("0.48", "100")]);
    pm.set_book(FLAT_NO, &[("0.50", "50")], &[("0.55", "100")]);
    pm.set_balance(PM_ADDR, "1000");

    ks.add_market(MarketSpec::new(ARB_TICKER));
    ks.add_market(MarketSpec::new(FLAT_TICKER));
    // Kalshi shows bids only: a YES bid at 0.55 is a NO ask at 0.45; a NO bid at 0.38 is a
    // YES ask at 0.62.
    kalshi_arb_book(ks);
    ks.seed_book(
        FLAT_TICKER,
        &[("0.4900", "100.00")],
        &[("0.5000", "100.00")],
    );
}

pub fn pairs_toml(a: &str, b: &str) -> String {
    format!(
        r#"
[[pair]]
id = "lal-bos-lal"
title = "Lakers beat Celtics"
a = {{ venue = "{a}", yes = "{ARB_YES}", no = "{ARB_NO}" }}
b = {{ venue = "{b}", yes = "{ARB_TICKER}:yes", no = "{ARB_TICKER}:no" }}

[[pair]]
id = "nyk-mia-nyk"
title = "Knicks beat Heat"
a = {{ venue = "{a}", yes = "{FLAT_YES}", no = "{FLAT_NO}" }}
b = {{ venue = "{b}", yes = "{FLAT_TICKER}:yes", no = "{FLAT_TICKER}:no" }}
"#
    )
}

pub fn write(dir: &Path, body: &str) -> PathBuf {
    let p = dir.join("polymix.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

/// Why a live engine on the config `body` (written as `dir/polymix.toml`) refuses to start:
/// its one-line error.
pub async fn live_engine_refusal(dir: &Path, body: &str) -> String {
    live_engine_started(dir, body)
        .await
        .err()
        .expect("the live engine must refuse to start")
        .to_string()
}

/// A confirmed live engine on the config `body`, written as `dir/polymix.toml`, or why it
/// did not start.
async fn live_engine_started(dir: &Path, body: &str) -> Result<Engine, EngineError> {
    let cfg = Arc::new(polymix_host::config::load(&write(dir, body)).expect("config loads"));
    let reg = registry(&cfg).await;
    Engine::new(
        cfg,
        &reg,
        Arc::new(SystemClock),
        EngineOptions {
            live_confirmed: true,
        },
    )
    .await
}

pub async fn registry(cfg: &Arc<polymix_host::config::Config>) -> Registry {
    let c2 = cfg.clone();
    tokio::task::spawn_blocking(move || Registry::build(&c2))
        .await
        .expect("join")
        .expect("plugins load")
}

/// Waits (15 s at most, then panics naming `what` and the feed) until `venue`'s feed health
/// satisfies `f`; returns it.
pub async fn wait_for_feed(
    engine: &Engine,
    venue: &str,
    what: &str,
    f: impl Fn(&polymix_host::engine::stream_driver::FeedHealth) -> bool,
) -> polymix_host::engine::stream_driver::FeedHealth {
    let start = Instant::now();
    loop {
        let h = engine.feed_health().get(venue).cloned().unwrap_or_default();
        if f(&h) {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "timed out waiting for {what}; feed: {h:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (10 s at most, then panics naming `what`) until `f` holds.
pub async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until some trade is HEDGED (panics naming it after `timeout`); the ledger's trades then.
pub async fn wait_for_hedged(ledger: &Ledger, timeout: Duration) -> Vec<TradeRow> {
    wait_for(ledger, "a HEDGED trade", timeout, |t| {
        t.iter().any(|t| t.state == state::HEDGED)
    })
    .await
}

pub async fn wait_for(
    ledger: &Ledger,
    what: &str,
    timeout: Duration,
    f: impl Fn(&[TradeRow]) -> bool,
) -> Vec<TradeRow> {
    let start = Instant::now();
    loop {
        let trades = ledger.trades_in(&[]).expect("ledger");
        if f(&trades) {
            return trades;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}; trades: {trades:#?}; errors: {:#?}",
            ledger.errors().unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A live engine (not yet running) trading the seeded pairs between the two doubles.
async fn live_engine(tag: &str, pm: &PolymarketDouble, ks: &KalshiDouble) -> Arc<Engine> {
    live_engine_with(tag, pm, ks, &engine_toml(50, 200)).await
}

/// [`live_engine`] with its own `[engine]` (and `[api]`) section.
pub async fn live_engine_with(
    tag: &str,
    pm: &PolymarketDouble,
    ks: &KalshiDouble,
    engine_section: &str,
) -> Arc<Engine> {
    live_engine_from(tag, pm, ks, RISK_AND_STRATEGY, engine_section).await
}

/// [`live_engine_with`] with its own risk and strategy sections too.
pub async fn live_engine_from(
    tag: &str,
    pm: &PolymarketDouble,
    ks: &KalshiDouble,
    risk_and_strategy: &str,
    engine_section: &str,
) -> Arc<Engine> {
    let dir = temp_dir(tag);
    let body = live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, pm),
            &kalshi_venue_toml(&dir, "ks", ks, 3000),
            risk_and_strategy,
            engine_section,
            &pairs_toml("pm", "ks"),
        ],
    );
    live_engine_at(&dir, &body).await
}

/// The Polymarket venue block for a double, streaming from its websocket (`stream = true`,
/// then the `extra` lines, e.g. `stream_stale_ms = 2000\n`).
pub fn polymarket_streaming_toml(dir: &Path, d: &PolymarketDouble, extra: &str) -> String {
    let block = polymarket_venue_toml(dir, d).replacen(
        "retries = 2\n[venue.settings]\n",
        &format!(
            "retries = 2\nstream = true\n{extra}[venue.settings]\nws_url = \"{}\"\n",
            d.ws_url()
        ),
        1,
    );
    assert!(block.contains("stream = true"), "{block}");
    block
}

/// A live engine trading the seeded pairs whose Kalshi books stream (`stream = true`, then the
/// `ks_stream` lines, e.g. `stream_stale_ms = 2000\n`) while Polymarket's are polled over REST.
pub async fn kalshi_streaming_engine(
    tag: &str,
    pm: &PolymarketDouble,
    ks: &KalshiDouble,
    ks_stream: &str,
    engine_section: &str,
) -> Arc<Engine> {
    let dir = temp_dir(tag);
    let ks_venue = kalshi_streaming_venue_toml(&dir, ks, ks_stream);
    let body = live_body(
        &dir,
        &[
            &polymarket_venue_toml(&dir, pm),
            &ks_venue,
            RISK_AND_STRATEGY,
            engine_section,
            &pairs_toml("pm", "ks"),
        ],
    );
    live_engine_at(&dir, &body).await
}

/// Kalshi's venue block (`ks`, 3 s timeout) with its books streamed: `stream = true`, then
/// `ks_stream`'s settings.
pub fn kalshi_streaming_venue_toml(dir: &Path, ks: &KalshiDouble, ks_stream: &str) -> String {
    kalshi_venue_toml(dir, "ks", ks, 3000).replacen(
        "retries = 2\n",
        &format!("retries = 2\nstream = true\n{ks_stream}"),
        1,
    )
}

/// A live config in `dir`: its data dir, the built plugins (3 s call timeout), then `sections`
/// (venue blocks, risk and strategy, `[engine]`, pairs) in order.
pub fn live_body(dir: &Path, sections: &[&str]) -> String {
    format!(
        "mode = \"live\"\ndata_dir = {:?}\n{}{}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        sections.concat(),
    )
}

/// A confirmed live engine on the config `body`, written as `dir/polymix.toml` (shared, as
/// `run_live` runs its drivers and trades as tasks).
pub async fn live_engine_at(dir: &Path, body: &str) -> Arc<Engine> {
    Arc::new(
        live_engine_started(dir, body)
            .await
            .expect("live engine starts"),
    )
}

pub fn entry(orders: &[OrderRow], leg: &str) -> OrderRow {
    let v: Vec<&OrderRow> = orders
        .iter()
        .filter(|o| o.leg.as_str() == leg && o.purpose == Purpose::Entry)
        .collect();
    assert_eq!(v.len(), 1, "one entry order on leg {leg}: {orders:#?}");
    v[0].clone()
}

/// The engine's preparer has Polymarket ready a nonce ahead, and the order signed with it is
/// one the venue takes: checked against the double's own digest and recovery, and against an
/// RFC 6979 signature made here with `k256` (a prepared nonce gives a different one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_orders_are_signed_with_a_nonce_prepared_ahead() {
    use k256::ecdsa::SigningKey;
    use polymix_doubles::polymarket::verify::{self, Address as PmAddress, PostedOrder};
    let (pm, ks) = seeded_doubles_without_arb().await;
    let engine = live_engine("live-nonce", &pm, &ks).await;
    let ledger = engine.ledger().clone();
    let (_stop_tx, stop) = tokio::sync::watch::channel(false);
    let script = async {
        // The preparer runs at start and every 250 ms: a nonce is ready well before the arb.
        tokio::time::sleep(Duration::from_millis(600)).await;
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        wait_for_hedged(&ledger, Duration::from_secs(20)).await
    };
    let trades = tokio::select! {
        r = engine.run_live(stop) => panic!("run_live ended early: {r:?}"),
        r = script => r,
    };
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let posted = pm.received_orders();
    assert_eq!(posted.len(), 1, "{posted:#?}");
    let order = PostedOrder::from_json(&posted[0]["order"]).expect("a well-formed order");
    let exchange = PmAddress::parse(verify::EXCHANGE_V2).expect("exchange");
    let digest = order.digest(137, exchange).expect("digest");
    assert_eq!(
        verify::recover(&digest, &order.signature),
        Some(order.signer)
    );
    let key: [u8; 32] = verify::unhex(PM_KEY)
        .expect("key")
        .try_into()
        .expect("32 bytes");
    let (sig, rec) = SigningKey::from_slice(&key)
        .expect("key")
        .sign_prehash_recoverable(&digest)
        .expect("sign");
    let mut deterministic = sig.to_bytes().to_vec();
    deterministic.push(27 + rec.to_byte());
    assert_ne!(
        order.signature, deterministic,
        "the order was signed with RFC 6979, not a prepared nonce"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_engine_trades_the_arb_once_hedges_and_settles() {
    let pm = polymarket::spawn(PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let engine = live_engine("live-e2e", &pm, &ks).await;
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);

    let script = async {
        // 1. The arb is traded and hedged.
        let trades = wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        // A few more polls: the consumed books must not produce a second trade.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = ledger.trades_in(&[]).expect("ledger");
        assert_eq!(again.len(), 1, "exactly one trade: {again:#?}");
        let t = trades[0].clone();
        // 2. Resolve: P (Lakers) wins. Polymarket's YES token pays, Kalshi's NO side does not.
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

    // Exactly one trade, on the arb pair, buying P on A and not-P on B.
    assert_eq!(trades.len(), 1, "{trades:#?}");
    let t = &trades[0];
    assert_eq!(t.pair_id, "lal-bos-lal");
    assert_eq!(t.direction, "yes_a_no_b");
    assert_eq!(t.instrument_a, ARB_YES);
    assert_eq!(t.instrument_b, format!("{ARB_TICKER}:no"));
    assert_eq!(t.qty, Qty::shares(10));
    assert!(t.expected_profit > Usd::ZERO, "{t:#?}");

    // Both legs filled in full, with equal shares, under ids derived from the trade id.
    let orders = ledger.orders_of(&t.id).expect("orders");
    assert_eq!(orders.len(), 2, "no unwinds: {orders:#?}");
    let (oa, ob) = (entry(&orders, "a"), entry(&orders, "b"));
    assert_eq!(oa.client_order_id, client_order_id(&t.id, 'a', 0));
    assert_eq!(ob.client_order_id, client_order_id(&t.id, 'b', 0));
    assert_eq!(oa.filled_qty, Qty::shares(10), "{oa:#?}");
    assert_eq!(ob.filled_qty, oa.filled_qty, "{ob:#?}");
    assert_eq!(oa.state, OrderState::Filled);
    assert_eq!(ob.state, OrderState::Filled);
    assert_eq!(oa.filled_notional, Usd::from_cents(400)); // 10 × 0.40
    assert_eq!(ob.filled_notional, Usd::from_cents(450)); // 10 × 0.45 (NO)
                                                          // Kalshi taker fee: ceil_to_cent(0.07 · 10 · 0.55 · 0.45) = ceil(0.17325) = $0.18.
    assert_eq!(ob.fees, Usd::from_cents(18));

    // Kalshi received exactly one order, under the leg's client order id, for the NO side.
    let ks_orders = ks.orders();
    assert_eq!(ks_orders.len(), 1, "{ks_orders:#?}");
    let ko = &ks_orders[0];
    assert_eq!(ko.client_order_id, ob.client_order_id);
    assert_eq!(ko.ticker, ARB_TICKER);
    assert!(!ko.bid, "buying NO is an ask on the YES book");
    // Books were polled in batches: both of Kalshi's tickers in one request, no single-book GETs.
    let reqs = ks.requests();
    let batched: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/markets/orderbooks"))
        .collect();
    assert!(!batched.is_empty());
    assert!(
        batched
            .iter()
            .all(|r| r.query.matches("tickers=").count() == 2),
        "{batched:?}"
    );
    assert!(
        !reqs.iter().any(|r| r.path.ends_with("/orderbook")),
        "no per-instrument book requests"
    );
    assert_eq!(ko.filled, Qty::shares(10));
    assert_eq!(ob.order_id.as_deref(), Some(ko.order_id.as_str()));
    assert_eq!(ks.place_attempts(), 1, "no resend");
    assert_eq!(ks.position(ARB_TICKER), -Qty::shares(10));
    assert_eq!(ks.position(FLAT_TICKER), Qty::ZERO);

    // Polymarket has no client order ids: the one order it received is leg A's (same token,
    // side and size), and the venue's id for it is the one the ledger holds.
    let pm_orders = pm.received_orders();
    assert_eq!(pm_orders.len(), 1, "{pm_orders:#?}");
    let po = &pm_orders[0]["order"];
    assert_eq!(po["tokenId"], ARB_YES);
    assert_eq!(po["side"], "BUY");
    assert_eq!(
        po["makerAmount"], "4000000",
        "10 × 0.40 USDC, 6 decimals: {po}"
    );
    assert_eq!(po["takerAmount"], "10000000", "10 shares, 6 decimals: {po}");
    assert_eq!(pm.accepted_orders(), 1);
    let pm_id = oa.order_id.clone().expect("venue order id recorded");
    assert_eq!(pm.order_status(&pm_id).as_deref(), Some("MATCHED"));

    // Nothing on the flat pair.
    for p in &pm_orders {
        let tok = p["order"]["tokenId"].as_str().unwrap_or("");
        assert!(tok != FLAT_YES && tok != FLAT_NO, "{p}");
    }
    assert!(ks_orders.iter().all(|o| o.ticker != FLAT_TICKER));

    // Settlement: the YES shares on Polymarket pay $10, Kalshi's NO pays nothing.
    // P&L = 10.00 − (4.00 + fee A) − (4.50 + 0.18). The Polymarket plugin books the taker fee
    // on what matched: 10 · 0.05 · 0.40 · 0.60 = $0.12 (polymarket.md §5).
    assert_eq!(oa.fees, Usd::from_cents(12));
    let paid: Usd = orders.iter().map(|o| o.filled_notional + o.fees).sum();
    let expected = Usd::dollars(10) - paid;
    assert_eq!(expected, Usd::from_cents(120));
    assert_eq!(t.realized_pnl, Some(expected), "{t:#?}");
    assert!(t.settled_ms.is_some());
    let day = ledger.daily(&t.day).expect("daily");
    assert_eq!(day.pnl, expected);
    assert_eq!(day.trades, 1);
    assert!(
        ledger.errors().expect("errors").is_empty(),
        "{:#?}",
        ledger.errors()
    );
}

fn paper_with_live_venue(dir: &Path, d: &KalshiDouble, mode: &str) -> PathBuf {
    let pair = format!(
        "\n[[pair]]\nid = \"p\"\na = {{ venue = \"ks\", yes = \"{ARB_TICKER}:yes\", no = \"{ARB_TICKER}:no\" }}\nb = {{ venue = \"ks2\", yes = \"{ARB_TICKER}:no\", no = \"{ARB_TICKER}:yes\" }}\n"
    );
    let body = format!(
        "mode = \"{mode}\"\ndata_dir = {:?}\n{}{}{}{}{pair}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml(),
        kalshi_venue_toml(dir, "ks", d, 2000),
        kalshi_venue_toml(dir, "ks2", d, 2000),
        RISK_AND_STRATEGY,
    );
    write(dir, &body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paper_mode_refuses_a_live_venue_before_any_request() {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(ARB_TICKER));
    for (mode, confirmed) in [("paper", false), ("paper", true), ("live", false)] {
        let dir = temp_dir("live-refuse");
        let path = paper_with_live_venue(&dir, &ks, mode);
        let cfg = Arc::new(polymix_host::config::load(&path).expect("config loads"));
        let reg = registry(&cfg).await;
        let r = Engine::new(
            cfg,
            &reg,
            Arc::new(SystemClock),
            EngineOptions {
                live_confirmed: confirmed,
            },
        )
        .await;
        match r {
            Err(EngineError::Safety(msg)) => {
                assert!(msg.contains("live venue"), "{msg}");
                assert!(msg.contains("refusing to start"), "{msg}");
            }
            Err(e) => panic!("mode {mode}, confirmed {confirmed}: wrong error {e}"),
            Ok(_) => panic!("mode {mode}, confirmed {confirmed}: engine started"),
        }
        // Refused before any venue call: no ledger either.
        assert!(!dir.join("data").join(format!("{mode}.sqlite")).exists());
    }
    assert!(
        ks.requests().is_empty(),
        "the double saw requests: {:#?}",
        ks.requests()
    );
    assert_eq!(ks.place_attempts(), 0);
}

/// Every `{ env = "NAME" }` reference in a TOML text.
fn env_refs(text: &str) -> Vec<String> {
    let v: toml::Table = toml::from_str(text).expect("example is TOML");
    let mut out = Vec::new();
    for venue in v["venue"].as_array().expect("venues") {
        for (_, r) in venue["secrets"].as_table().expect("secrets table") {
            let t = r.as_table().expect("secret is a reference table");
            assert!(
                t.len() == 1 && t.contains_key("env"),
                "secrets by env reference: {t:?}"
            );
            out.push(t["env"].as_str().expect("env name").to_string());
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_example_config_loads_and_its_plugins_accept_it() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let text = std::fs::read_to_string(format!("{root}/config/live.example.toml"))
        .expect("config/live.example.toml");
    let names = env_refs(&text);
    for n in [
        "POLYMARKET_PRIVATE_KEY",
        "POLYMARKET_API_KEY",
        "POLYMARKET_API_SECRET",
        "POLYMARKET_API_PASSPHRASE",
        "KALSHI_API_KEY_ID",
        "KALSHI_PRIVATE_KEY",
    ] {
        assert!(names.iter().any(|x| x == n), "{n} not referenced");
    }
    // Setting process environment variables races with other tests: point the references at
    // files holding test keys instead, and the plugin search path at this build.
    let dir = temp_dir("live-example");
    let k = kalshi::test_keypair();
    let value = |n: &str| -> String {
        match n {
            "POLYMARKET_PRIVATE_KEY" => PM_KEY.into(),
            "POLYMARKET_API_SECRET" => PolymarketDoubleConfig::default().api_secret,
            "KALSHI_API_KEY_ID" => k.key_id.clone(),
            "KALSHI_PRIVATE_KEY" => k.private_key_pem.clone(),
            other => format!("test-{other}"),
        }
    };
    // The commented example pair, uncommented, must be valid too.
    let mut text2 = text.clone();
    let start = text2.find("# [[pair]]").expect("a commented example pair");
    let block: String = text2[start..]
        .lines()
        .take_while(|l| l.starts_with("# "))
        .map(|l| format!("{}\n", &l[2..]))
        .collect();
    assert!(block.contains(":yes") && block.contains(":no"), "{block}");
    text2.push_str(&block);
    for n in &names {
        let r = secret_file(&dir, n, &value(n));
        text2 = text2.replace(&format!("{{ env = \"{n}\" }}"), &r);
    }
    assert!(
        !text2
            .lines()
            .any(|l| !l.trim_start().starts_with('#') && l.contains("env =")),
        "every secret reference rewritten"
    );
    let path = dir.join("live.toml");
    std::fs::write(&path, &text2).unwrap();
    let cfg = polymix_host::config::load(&path).expect("live example loads");
    assert_eq!(cfg.mode, polymix_host::config::Mode::Live);
    assert_eq!(cfg.venues.len(), 2);
    assert!(cfg.venues.iter().any(|v| v.plugin == "polymarket"));
    assert!(cfg.venues.iter().any(|v| v.plugin == "kalshi"));
    assert_eq!(cfg.pairs.len(), 1, "the example pair");
    assert_eq!(cfg.pairs[0].a.venue, "pm");
    assert_eq!(cfg.pairs[0].b.venue, "ks");
    assert!(cfg.strategy.is_some());
    assert!(!cfg.risks.is_empty());
    // The plugins accept the example's settings (creating a venue sends nothing).
    let mut cfg = cfg;
    let p = crate::support::profile_dir();
    cfg.plugins.dirs = vec![p.join("deps"), p.join("examples")];
    let cfg = Arc::new(cfg);
    let reg = registry(&cfg).await;
    assert_eq!(reg.venues.len(), 2);
    assert!(reg.venues.iter().all(|v| !v.info.simulated));
}

/// Kalshi reports its exchange halted: the engine sends nothing (the arb is on the books the whole
/// time), records why, and trades as soon as the exchange reports trading again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_engine_waits_out_an_exchange_halt() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    ks.set_trading_active(false);
    let engine = live_engine("live-halt", &pm, &ks).await;
    let ledger = engine.ledger().clone();
    // A webhook receiver for the halt and resume notifications.
    let hooks: Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let h2 = hooks.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let h = h2.clone();
            async move {
                h.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    engine.set_notifier(polymix_host::notify::Notifier::start(
        "live",
        vec![polymix_host::notify::Target {
            url: format!("http://{addr}/hook"),
            format: "json".into(),
        }],
    ));
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        // Several book polls and status checks while halted: nothing may be sent anywhere.
        tokio::time::sleep(Duration::from_millis(1_000)).await;
        assert!(ledger.trades_in(&[]).expect("ledger").is_empty());
        assert_eq!(ks.place_attempts(), 0);
        assert!(pm.received_orders().is_empty());
        let errors = ledger.errors().expect("errors");
        assert!(
            errors
                .iter()
                .any(|e| format!("{e:?}").contains("exchange not trading")),
            "the halt is recorded: {errors:#?}"
        );
        ks.set_trading_active(true);
        let t = wait_for_hedged(&ledger, Duration::from_secs(20)).await;
        let _ = tx.send(true);
        t
    };
    let (run, trades) = tokio::join!(engine.run_live(rx), script);
    run.expect("run_live ends cleanly");
    assert_eq!(trades.len(), 1, "{trades:#?}");
    assert_eq!(ks.orders().len(), 1);
    // Halt and resume were notified once each, marked LIVE, in that order.
    let status: Vec<String> = hooks
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "venue_status")
        .map(|m| {
            format!(
                "{} {}",
                m["mode"].as_str().unwrap(),
                m["text"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(status.len(), 2, "{status:?}");
    assert!(
        status[0].starts_with("LIVE ks: exchange not trading"),
        "{status:?}"
    );
    assert_eq!(status[1], "LIVE ks: exchange trading again");
}

/// A Polymarket instance without its private key serves public data only; as a trading venue
/// the live engine refuses it at start-up, in one line, not at its first order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trading_venue_without_signing_secrets_is_refused_at_start() {
    let pm = polymarket::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir("pm-no-key");
    let pm_public = format!(
        "\n[[venue]]\nname = \"pm\"\nplugin = \"polymarket\"\n[venue.settings]\nclob_url = \"{}\"\ngamma_url = \"{}\"\ndata_url = \"{}\"\n",
        pm.base_url, pm.gamma_url, pm.data_url
    );
    let body = format!(
        "mode = \"live\"\ndata_dir = {:?}\n{}{}{}{}{}{}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml(),
        pm_public,
        kalshi_venue_toml(&dir, "ks", &ks, 3000),
        RISK_AND_STRATEGY,
        engine_toml(50, 200),
        pairs_toml("pm", "ks"),
    );
    let e = live_engine_refusal(&dir, &body).await;
    assert!(
        e.contains("venue `pm` (plugin polymarket) cannot place orders"),
        "{e}"
    );
    assert_eq!(pm.order_posts(), 0);
}

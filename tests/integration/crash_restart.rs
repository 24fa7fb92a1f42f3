//! Money safety across a crash: the `polymix` binary trades live between two Kalshi doubles, is
//! killed with SIGKILL while one leg's answer is still outstanding, and is restarted on the same
//! config and ledger. Nothing may be lost (both legs journaled under their client order ids),
//! nothing sent twice (at most one venue order per client order id, and as many venue orders as
//! the ledger knows), and the trade must end in a final state: HEDGED when leg B was booked,
//! UNWOUND (leg A sold back) when it never was.
//!
//! Mostly two Kalshi doubles (faults on either leg); one case puts leg A on the Polymarket double,
//! which keeps no client order ids: there the order is found again by the order id (the EIP-712
//! digest) that the engine journaled before sending.

use plugin_api::{client_order_id, Qty, Usd};
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_host::store::{
    state, Ledger, Leg, OrderRow, OrderState, Purpose, Side, TradeRow, TradeState,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::live_e2e::{engine_toml, kalshi_venue_toml, RISK_AND_STRATEGY};
use crate::support::{plugin_dirs_toml, polymix_bin, temp_dir};

const T: &str = "KXNBAGAME-26NOV24LALBOS-LAL";
const ORDERS: &str = "/portfolio/events/orders";

/// A running `polymix run --live`, killed (SIGKILL) when dropped.
pub struct Polymix {
    child: Child,
    log: PathBuf,
}

impl Polymix {
    pub fn start(config: &Path, log: PathBuf) -> Polymix {
        Polymix::start_with_env(config, log, &[])
    }

    /// [`Polymix::start`] with extra environment variables (e.g. fault injection).
    pub fn start_with_env(config: &Path, log: PathBuf, env: &[(&str, &str)]) -> Polymix {
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(polymix_bin())
            .args(["run", "--config"])
            .arg(config)
            .arg("--live")
            // No inherited LIVE_TRADING_* overrides, proxies or log settings.
            .env_clear()
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("spawn polymix");
        Polymix { child, log }
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn assert_running(&mut self) {
        if let Ok(Some(st)) = self.child.try_wait() {
            panic!("polymix exited early ({st}); log:\n{}", self.log_text());
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Polymix {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Double A sells YES at 0.40 (10 contracts), double B sells NO at 0.45 (10 contracts): 10 × 0.85
/// plus ≈ $0.35 of fees pays $10. Everything else is expensive, so exactly one trade is worth
/// making, and leg A can be sold back at 0.38.
fn seed(a: &KalshiDouble, b: &KalshiDouble) {
    for d in [a, b] {
        d.add_market(MarketSpec::new(T));
    }
    // A: YES bids 0.38 (unwind target); NO bids 0.60 x10 = YES asks 0.40, then 0.10 = YES 0.90.
    a.seed_book(
        T,
        &[("0.3800", "100.00")],
        &[("0.6000", "10.00"), ("0.1000", "100.00")],
    );
    // B: YES bids 0.55 x10 = NO asks 0.45, then 0.10 = NO 0.90; NO bids 0.38 = YES asks 0.62.
    b.seed_book(
        T,
        &[("0.5500", "10.00"), ("0.1000", "100.00")],
        &[("0.3800", "100.00")],
    );
}

fn config(dir: &Path, a: &KalshiDouble, b: &KalshiDouble) -> PathBuf {
    let body = format!(
        "mode = \"live\"\ndata_dir = {:?}\n{}{}{}{}{}\n[[pair]]\nid = \"lal\"\ntitle = \"Lakers beat Celtics\"\na = {{ venue = \"ka\", yes = \"{T}:yes\", no = \"{T}:no\" }}\nb = {{ venue = \"kb\", yes = \"{T}:yes\", no = \"{T}:no\" }}\n",
        dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        kalshi_venue_toml(dir, "ka", a, 20_000),
        kalshi_venue_toml(dir, "kb", b, 20_000),
        RISK_AND_STRATEGY,
        engine_toml(50, 500),
    );
    let p = dir.join("polymix.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

/// The live config of a Polymarket–Kalshi crash test, written to `dir/<file>`: `pm_venue`
/// (the Polymarket venue's TOML, as `polymarket_venue_toml` writes it or altered), Kalshi as
/// `ks` (3 s timeout), `engine` and the arb pair.
pub fn pm_ks_config(
    dir: &Path,
    file: &str,
    pm_venue: &str,
    ks: &KalshiDouble,
    engine: &str,
) -> PathBuf {
    let body = format!(
        "mode = \"live\"\ndata_dir = {:?}\n{}{}{}{}{}{}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        pm_venue,
        kalshi_venue_toml(dir, "ks", ks, 3000),
        RISK_AND_STRATEGY,
        engine,
        crate::live_e2e::pairs_toml("pm", "ks"),
    );
    let cfg = dir.join(file);
    std::fs::write(&cfg, body).expect("write config");
    cfg
}

/// Polls until `f` holds, or fails with the child's log.
pub async fn until(p: &mut Polymix, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        p.assert_running();
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {what}; polymix log:\n{}",
            p.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn ledger_trades(path: &Path) -> Vec<(TradeRow, Vec<OrderRow>)> {
    if !path.exists() {
        return Vec::new();
    }
    let Ok(l) = Ledger::open(path) else {
        return Vec::new();
    };
    l.trades_in(&[])
        .unwrap_or_default()
        .into_iter()
        .map(|t| {
            let o = l.orders_of(&t.id).unwrap_or_default();
            (t, o)
        })
        .collect()
}

const FINAL: &[TradeState] = &[state::HEDGED, state::UNWOUND, state::SETTLED, state::FAILED];

/// Runs `polymix run --live` on `cfg`, kills it (SIGKILL) as soon as `mid_trade` holds, restarts
/// it on the same config and ledger, and returns the one trade once it is final.
async fn kill_mid_trade_and_restart(
    dir: &Path,
    cfg: &Path,
    mid_trade: impl Fn() -> bool,
) -> (TradeRow, Vec<OrderRow>) {
    let bin = polymix_bin();
    assert!(bin.is_file());
    let ledger = dir.join("data").join("live.sqlite");

    // 1. First run, killed while the trade is in flight.
    let mut p1 = Polymix::start(cfg, dir.join("run1.log"));
    until(
        &mut p1,
        "both legs in flight",
        Duration::from_secs(25),
        &mid_trade,
    )
    .await;
    p1.kill();
    let log1 = p1.log_text();
    drop(p1);
    let before = ledger_trades(&ledger);
    assert_eq!(before.len(), 1, "one trade journaled; log:\n{log1}");
    assert!(
        !FINAL.contains(&before[0].0.state),
        "killed before the trade finished: {:#?}",
        before[0].0
    );

    // 2. Restart on the same config and ledger (the one-shot fault is spent).
    let mut p2 = Polymix::start(cfg, dir.join("run2.log"));
    let mut done = None;
    until(
        &mut p2,
        "the trade to reach a final state",
        Duration::from_secs(25),
        || {
            let v = ledger_trades(&ledger);
            let f = v.len() == 1 && FINAL.contains(&v[0].0.state);
            if f {
                done = v.into_iter().next();
            }
            f
        },
    )
    .await;
    // A few more polls: no new trade, no further order.
    tokio::time::sleep(Duration::from_millis(500)).await;
    p2.assert_running();
    p2.kill();
    let log2 = p2.log_text();
    drop(p2);
    assert!(
        log2.contains("reconciling trade left in flight"),
        "the restart reconciled the trade; log:\n{log2}"
    );
    let after = ledger_trades(&ledger);
    assert_eq!(after.len(), 1, "exactly one trade; log:\n{log2}");
    let (t, orders) = after.into_iter().next().expect("trade");
    // It may have moved on (an unwound trade holding nothing settles at once), but only
    // between final states.
    let seen = done.expect("final trade").0.state;
    assert!(FINAL.contains(&t.state), "{seen} then {t:#?}");
    (t, orders)
}

/// The two-Kalshi crash cycle: `arrange` injects the faults, `mid_trade` says when to kill.
async fn crash_and_restart(
    tag: &str,
    arrange: impl FnOnce(&KalshiDouble, &KalshiDouble),
    mid_trade: impl Fn(&KalshiDouble, &KalshiDouble) -> bool,
) -> (TradeRow, Vec<OrderRow>, KalshiDouble, KalshiDouble) {
    let a = kalshi::spawn(KalshiDoubleConfig::default()).await;
    let b = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&a, &b);
    arrange(&a, &b);
    let dir = temp_dir(tag);
    let cfg = config(&dir, &a, &b);
    let (t, orders) = kill_mid_trade_and_restart(&dir, &cfg, || mid_trade(&a, &b)).await;
    check_nothing_lost_nothing_twice(&t, &orders, &a, &b);
    (t, orders, a, b)
}

/// Each venue order belongs to exactly one ledger order (same client order id and venue order
/// id), and each ledger order that reached a venue is there exactly once.
fn check_nothing_lost_nothing_twice(
    t: &TradeRow,
    orders: &[OrderRow],
    a: &KalshiDouble,
    b: &KalshiDouble,
) {
    // Both entry legs are journaled under ids derived from the trade id.
    for leg in ['a', 'b'] {
        let coid = client_order_id(&t.id, leg, 0);
        assert!(
            orders
                .iter()
                .any(|o| o.client_order_id == coid && o.purpose == Purpose::Entry),
            "entry leg {leg} ({coid}) missing from the ledger: {orders:#?}"
        );
    }
    for (venue, d) in [("ka", a), ("kb", b)] {
        let mut per_coid: BTreeMap<String, usize> = BTreeMap::new();
        for o in d.orders() {
            *per_coid.entry(o.client_order_id.clone()).or_default() += 1;
            let row = orders
                .iter()
                .find(|r| r.client_order_id == o.client_order_id)
                .unwrap_or_else(|| {
                    panic!("venue {venue} holds an order the ledger lost: {o:#?}\n{orders:#?}")
                });
            assert_eq!(row.venue, venue, "{row:#?}");
            assert_eq!(
                row.order_id.as_deref(),
                Some(o.order_id.as_str()),
                "{row:#?}"
            );
            assert_eq!(row.filled_qty, o.filled, "{row:#?} vs {o:#?}");
        }
        assert!(
            per_coid.values().all(|n| *n == 1),
            "venue {venue}: a client order id used twice: {per_coid:?}"
        );
        let placed_here = orders
            .iter()
            .filter(|r| r.venue == venue && r.order_id.is_some())
            .count();
        assert_eq!(
            d.orders().len(),
            placed_here,
            "venue {venue}: orders at the venue vs. in the ledger"
        );
    }
}

fn held(orders: &[OrderRow], leg: &str) -> Qty {
    orders
        .iter()
        .filter(|o| o.leg.as_str() == leg)
        .map(|o| {
            if o.side == Side::Sell {
                -o.filled_qty
            } else {
                o.filled_qty
            }
        })
        .sum()
}

/// Leg B's order is booked at once but its answer takes a minute; the binary is killed as soon
/// as leg A has filled and B's request has arrived. On restart B is found by its client order
/// id (not resent) and the trade is HEDGED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_leg_b_in_flight_recovers_hedged_without_resending() {
    let (t, orders, a, b) = crash_and_restart(
        "crash-b-slow",
        |_, b| {
            b.inject(FaultRule::once(
                "POST",
                ORDERS,
                Fault::DelayAfter(Duration::from_millis(60_000)),
            ))
        },
        |a, b| !a.orders().is_empty() && b.place_attempts() >= 1 && !b.orders().is_empty(),
    )
    .await;
    assert_eq!(t.state, state::HEDGED, "{t:#?}\n{orders:#?}");
    assert!(t.note.contains("reconciled after restart"), "{}", t.note);
    assert_eq!(orders.len(), 2, "no unwind: {orders:#?}");
    assert_eq!(held(&orders, "a"), Qty::shares(10));
    assert_eq!(held(&orders, "b"), Qty::shares(10));
    // One submit each: B's was never resent after the restart.
    assert_eq!(a.place_attempts(), 1);
    assert_eq!(b.place_attempts(), 1);
    assert_eq!(a.position(T), Qty::shares(10)); // YES on A
    assert_eq!(b.position(T), -Qty::shares(10)); // NO on B
}

/// Leg B's submit is dropped before the venue processes it, and leg A's answer takes a minute;
/// the binary is killed after B's lookup and before A's answer. On restart A is found filled by
/// its client order id, B stays unplaced (not resent), and A's shares are sold back: UNWOUND.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_leg_b_never_booked_recovers_by_unwinding_leg_a() {
    let (t, orders, a, b) = crash_and_restart(
        "crash-b-lost",
        |a, b| {
            a.inject(FaultRule::once(
                "POST",
                ORDERS,
                Fault::DelayAfter(Duration::from_millis(60_000)),
            ));
            b.inject(FaultRule::once("POST", ORDERS, Fault::Drop));
        },
        |a, b| {
            !a.orders().is_empty()
                && b.place_attempts() >= 1
                // B's lookup by client order id after the dropped submit.
                && b.requests()
                    .iter()
                    .any(|r| r.method == "GET" && r.path.ends_with("/portfolio/orders"))
        },
    )
    .await;
    // UNWOUND, then SETTLED at the next settlement poll: nothing is held, nothing to wait for.
    assert!(
        t.state == state::UNWOUND || t.state == state::SETTLED,
        "{t:#?}\n{orders:#?}"
    );
    assert!(t.note.contains("reconciled after restart"), "{}", t.note);
    assert!(t.note.contains("unwound 10.00"), "{}", t.note);
    assert!(b.orders().is_empty(), "B was never booked, nor resent");
    assert_eq!(b.place_attempts(), 1, "B's lost submit was not resent");
    let ob = orders
        .iter()
        .find(|o| o.leg == Leg::B)
        .expect("leg B journaled");
    assert_eq!(ob.filled_qty, Qty::ZERO, "{ob:#?}");
    assert_eq!(ob.state, OrderState::NotFound, "{ob:#?}");
    // A: the entry (found, not resent) and one unwind sale of all 10 at the 0.38 bid.
    let a_orders = a.orders();
    assert_eq!(a_orders.len(), 2, "{a_orders:#?}");
    assert_eq!(a_orders[0].client_order_id, client_order_id(&t.id, 'a', 0));
    assert!(a_orders[0].bid && a_orders[0].filled == Qty::shares(10));
    assert!(!a_orders[1].bid && a_orders[1].filled == Qty::shares(10));
    assert_eq!(held(&orders, "a"), Qty::ZERO);
    assert_eq!(a.position(T), Qty::ZERO);
    // Bought 10 @ 0.40 + fee 0.17, sold 10 @ 0.38 − fee 0.17: a loss of $0.54, booked.
    assert_eq!(t.unwind_loss, Usd::from_cents(54), "{t:#?}");
    if t.state == state::SETTLED {
        assert_eq!(t.realized_pnl, Some(-Usd::from_cents(54)), "{t:#?}");
    }
}

/// Leg A goes to Polymarket, which books the order but answers a minute later; the binary is
/// killed while waiting. Polymarket keeps no client order ids, so the restart finds the order by
/// the id journaled before it was sent (its EIP-712 digest), does not resend it, and the trade is
/// HEDGED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_polymarket_leg_in_flight_recovers_by_the_journaled_order_id() {
    use polymix_doubles::polymarket as pmd;
    let pm = pmd::spawn(pmd::PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    pm.inject(FaultRule::once(
        "POST",
        "/order",
        Fault::DelayAfter(Duration::from_secs(60)),
    ));
    let dir = temp_dir("crash-pm-slow");
    let cfg = pm_ks_config(
        &dir,
        "polymix.toml",
        &crate::live_e2e::polymarket_venue_toml(&dir, &pm)
            .replace("timeout_ms = 3000", "timeout_ms = 120000"),
        &ks,
        &engine_toml(50, 500),
    );
    let (t, orders) = kill_mid_trade_and_restart(&dir, &cfg, || {
        pm.accepted_orders() == 1 && !ks.orders().is_empty()
    })
    .await;
    assert_eq!(t.state, state::HEDGED, "{t:#?}\n{orders:#?}");
    assert!(t.note.contains("reconciled after restart"), "{}", t.note);
    assert_eq!(orders.len(), 2, "no unwind: {orders:#?}");
    let oa = orders.iter().find(|o| o.leg == Leg::A).expect("leg a");
    assert_eq!(oa.venue, "pm");
    assert_eq!(oa.client_order_id, client_order_id(&t.id, 'a', 0));
    assert_eq!(oa.filled_qty, Qty::shares(10), "{oa:#?}");
    assert_eq!(oa.state, OrderState::Filled, "{oa:#?}");
    let id = oa.order_id.clone().expect("order id journaled");
    assert_eq!(
        pm.order_status(&id).as_deref(),
        Some("MATCHED"),
        "the journaled id is the venue's id"
    );
    // Sent once, never again after the restart.
    assert_eq!(pm.received_orders().len(), 1);
    assert_eq!(pm.accepted_orders(), 1);
    assert_eq!(ks.orders().len(), 1);
}

/// Leg B is never booked, so leg A is sold back; the binary is killed right after the unwind
/// sale left (the venue booked it and holds the answer). On restart the sale is found by its
/// client order id and its loss is booked: UNWOUND with the loss, never FAILED with none.
/// A restart leaves a trade unresolved while the books still show its arb: Polymarket holds
/// leg a's write 5 s and then books it; Kalshi refused leg b (503, not processed). Killed once
/// both writes left, the restarted engine cannot learn either leg for seconds. It must not
/// trade the pair again on those books (before the fix it did, at once: a second trade whose
/// Polymarket order took the shares the held order then could not get). It waits: leg a is
/// adopted when it appears, leg b is final `not_found` after the appear window, leg a is sold
/// back, and by then the held order has taken the arb: exactly one trade.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_legs_unresolved_trades_nothing_new_on_their_instruments() {
    use polymix_doubles::polymarket as pmd;
    let pm = pmd::spawn(pmd::PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    pm.inject(FaultRule::once(
        "POST",
        "/order",
        Fault::Late(Duration::from_secs(5)),
    ));
    ks.inject(FaultRule::once(
        "POST",
        "/portfolio/events/orders",
        Fault::Status(503),
    ));
    let dir = temp_dir("crash-unresolved");
    let cfg = pm_ks_config(
        &dir,
        "polymix.toml",
        &crate::live_e2e::polymarket_venue_toml(&dir, &pm),
        &ks,
        &engine_toml(50, 500).replace(
            "order_appear_window_ms = 2000",
            "order_appear_window_ms = 9000",
        ),
    );
    let (t, orders) = kill_mid_trade_and_restart(&dir, &cfg, || {
        pm.request_log()
            .iter()
            .any(|(m, p, _)| m == "POST" && p == "/order")
            && ks
                .requests()
                .iter()
                .any(|r| r.method == "POST" && r.path.ends_with("/portfolio/events/orders"))
    })
    .await;
    // `kill_mid_trade_and_restart` already asserts exactly one trade in the ledger.
    let oa = orders
        .iter()
        .find(|o| o.leg == Leg::A && o.purpose == Purpose::Entry)
        .expect("leg a");
    assert_eq!(oa.filled_qty, Qty::shares(10), "adopted late: {oa:#?}");
    let ob = orders
        .iter()
        .find(|o| o.leg == Leg::B && o.purpose == Purpose::Entry)
        .expect("leg b");
    assert_eq!(ob.state, OrderState::NotFound, "{ob:#?}");
    assert!(
        matches!(t.state, state::UNWOUND | state::SETTLED),
        "{t:#?}\n{orders:#?}"
    );
    // One entry order per venue, and on Polymarket one sale back: nothing for a second trade.
    let entries = pm
        .received_orders()
        .iter()
        .filter(|o| o["order"]["side"] == "BUY")
        .count();
    assert_eq!(entries, 1, "{:#?}", pm.received_orders());
    assert!(ks.orders().is_empty(), "{:#?}", ks.orders());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_right_after_the_unwind_order_left_books_the_unwind_loss() {
    let armed = std::sync::atomic::AtomicBool::new(false);
    let (t, orders, a, b) = crash_and_restart(
        "crash-unwind",
        |_, b| b.inject(FaultRule::once("POST", ORDERS, Fault::Drop)),
        |a, _| {
            // Once A's entry is booked, hold the answer to A's next write: the unwind sale.
            if a.orders().len() == 1 && !armed.swap(true, std::sync::atomic::Ordering::SeqCst) {
                a.inject(FaultRule::once(
                    "POST",
                    ORDERS,
                    Fault::DelayAfter(Duration::from_millis(60_000)),
                ));
            }
            a.orders().len() >= 2
        },
    )
    .await;
    assert!(
        t.state == state::UNWOUND || t.state == state::SETTLED,
        "{t:#?}\n{orders:#?}"
    );
    assert!(t.note.contains("reconciled after restart"), "{}", t.note);
    assert!(b.orders().is_empty());
    let a_orders = a.orders();
    assert_eq!(
        a_orders.len(),
        2,
        "the sale was not repeated: {a_orders:#?}"
    );
    assert_eq!(a.place_attempts(), 2);
    assert_eq!(held(&orders, "a"), Qty::ZERO);
    assert!(!a_orders[1].bid && a_orders[1].filled == Qty::shares(10));
    // Bought 10 @ 0.40 + fee 0.17, sold 10 @ 0.38 − fee 0.17: $0.54, booked on the trade.
    assert_eq!(t.unwind_loss, Usd::from_cents(54), "{t:#?}\n{orders:#?}");
}

/// The trade is HEDGED, then the Polymarket market resolves (its order book is gone: 404) and
/// the engine is killed. The restart must not refuse to start over the missing book: the pair
/// stops trading, and the open trade settles once Kalshi settles too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_then_restart_after_a_market_resolved_starts_and_settles() {
    use polymix_doubles::polymarket::{self as pmd};
    let pm = pmd::spawn(pmd::PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    crate::live_e2e::seed(&pm, &ks);
    let dir = temp_dir("crash-resolved");
    let cfg = pm_ks_config(
        &dir,
        "polymix.toml",
        &crate::live_e2e::polymarket_venue_toml(&dir, &pm),
        &ks,
        &engine_toml(50, 300),
    );
    let ledger = dir.join("data").join("live.sqlite");
    let hedged = || {
        ledger_trades(&ledger)
            .iter()
            .any(|(t, _)| t.state == state::HEDGED)
    };

    let mut p1 = Polymix::start(&cfg, dir.join("run1.log"));
    until(&mut p1, "a HEDGED trade", Duration::from_secs(25), hedged).await;
    pm.resolve(crate::live_e2e::ARB_YES, true);
    p1.kill();
    drop(p1);
    ks.settle(crate::live_e2e::ARB_TICKER, "yes");

    let mut p2 = Polymix::start(&cfg, dir.join("run2.log"));
    until(
        &mut p2,
        "the trade to settle",
        Duration::from_secs(25),
        || {
            ledger_trades(&ledger)
                .iter()
                .any(|(t, _)| t.state == state::SETTLED)
        },
    )
    .await;
    p2.assert_running();
    p2.kill();
    let log = p2.log_text();
    assert!(
        log.contains("does not trade"),
        "the pair was taken out of trading:\n{log}"
    );
    let trades = ledger_trades(&ledger);
    assert_eq!(
        trades.len(),
        1,
        "no new trade on the resolved pair: {trades:#?}"
    );
    let (t, orders) = &trades[0];
    let paid: Usd = orders.iter().map(|o| o.filled_notional + o.fees).sum();
    assert_eq!(t.realized_pnl, Some(Usd::dollars(10) - paid), "{t:#?}");
}

//! A kill -9 sweep of the live engine between the Polymarket and Kalshi doubles.
//!
//! Each point draws faults for both venues' order writes (processed then the answer lost, a
//! 5xx, garbage-free drops, slow answers, a venue that books the order seconds late, nothing)
//! and a kill time after the first order write reaches a venue; the `polymix` binary is killed
//! with SIGKILL then, restarted on the same ledger, both markets resolve, and the invariants
//! are checked against the doubles' own records:
//! 1. every intent reached each venue at most once (Kalshi: one POST per client order id;
//!    Polymarket: no signed order posted twice);
//! 2. every order a double holds is in the ledger, with the shares the double booked (Kalshi:
//!    and its cost and fee);
//! 3. every trade reaches a final state and settles;
//! 4. the ledger's realized P&L equals the cash the doubles moved, to the cent.
//!
//! `crash_sweep_small` runs a few points on every `cargo test`; `crash_sweep_full` (ignored)
//! runs `SWEEP_POINTS` (default 60) and prints the counts.

use plugin_api::{Price, Usd};
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::store::{state, OrderRow, Side, TradeRow, TradeState};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::crash_restart::{ledger_trades, Polymix};
use crate::live_e2e::{
    kalshi_venue_toml, pairs_toml, polymarket_venue_toml, seed, ARB_TICKER, ARB_YES,
    RISK_AND_STRATEGY,
};
use crate::support::{plugin_dirs_toml, temp_dir};

const PM_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const KS_ORDERS: &str = "/portfolio/events/orders";
/// Longest a faulty Polymarket holds an order before booking it; the appear window is longer.
const MAX_LATE_MS: u64 = 2_500;
/// The engine's `order_appear_window_ms` in the sweep's config.
const APPEAR_WINDOW_MS: u64 = 4_000;

#[derive(Debug, Clone)]
struct Point {
    pm_fault: Option<Fault>,
    ks_fault: Option<Fault>,
    /// How many writes the fault hits (1: the entry; 2: the unwind sale too).
    times: usize,
    kill_after_ms: u64,
    /// Hold each trade's journal this long (`POLYMIX_FAULT_JOURNAL_HOLD_MS`), so the kill
    /// lands after the orders left and before the ledger has them: restart must adopt them.
    hold_journal_ms: Option<u64>,
}

fn draw(rng: &mut impl Rng) -> Point {
    let ms = |rng: &mut dyn rand::RngCore, lo: u64, hi: u64| {
        Duration::from_millis(lo + rng.next_u64() % (hi - lo))
    };
    let pm_fault = match rng.gen_range(0..8) {
        0 => None,
        1 => Some(Fault::DropAfter),
        2 => Some(Fault::Drop),
        3 => Some(Fault::Status([500, 502, 504][rng.gen_range(0..3)])),
        4 => Some(Fault::DelayAfter(ms(rng, 200, 2_500))),
        5 => Some(Fault::Late(ms(rng, 200, MAX_LATE_MS))),
        6 => Some(Fault::Status(429)),
        _ => Some(Fault::Late(ms(rng, 1_100, MAX_LATE_MS))),
    };
    let ks_fault = match rng.gen_range(0..7) {
        0 => None,
        1 => Some(Fault::StatusAfter([500, 502, 504][rng.gen_range(0..3)])),
        2 => Some(Fault::Status(503)),
        3 => Some(Fault::DelayAfter(Duration::from_millis(
            200 + rng.gen_range(0..2_500),
        ))),
        4 => Some(Fault::Drop),
        5 => Some(Fault::DropAfter),
        _ => Some(Fault::Status(429)),
    };
    Point {
        pm_fault,
        ks_fault,
        times: rng.gen_range(1..=2),
        kill_after_ms: rng.gen_range(0..2_500),
        // One point in four stops between send and journal (drawn last: the other draws of
        // a seed are as they were).
        hold_journal_ms: (rng.gen_range(0..4) == 0).then_some(JOURNAL_HOLD_MS),
    }
}

/// Longer than any kill delay, so a held journal is never written before the kill.
const JOURNAL_HOLD_MS: u64 = 60_000;

/// Orders rehearsed all along (`rehearse_every_us`): the kills land among rehearsals too, which
/// must leave nothing behind and send nothing.
fn engine_section() -> String {
    format!("\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = 50\nsettle_poll_ms = 300\nreconcile_ms = 100\norder_appear_window_ms = {APPEAR_WINDOW_MS}\nrehearse_every_us = 500\n\n[api]\nenabled = false\n")
}

fn config(dir: &Path, pm: &PolymarketDouble, ks: &KalshiDouble) -> std::path::PathBuf {
    let body = format!(
        "mode = \"live\"\ndata_dir = {:?}\n{}{}{}{}{}{}",
        dir.join("data").display().to_string(),
        plugin_dirs_toml().replace("call_timeout_ms = 500", "call_timeout_ms = 3000"),
        polymarket_venue_toml(dir, pm).replace("timeout_ms = 3000", "timeout_ms = 1000"),
        kalshi_venue_toml(dir, "ks", ks, 1_000),
        RISK_AND_STRATEGY,
        engine_section(),
        pairs_toml("pm", "ks"),
    );
    let p = dir.join("polymix.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

async fn wait(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Result<(), String> {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > timeout {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Ok(())
}

const SETTLED_OR_DEAD: &[TradeState] = &[state::SETTLED, state::FAILED];

/// What one point saw, for the sweep's counts.
#[derive(Default)]
struct Seen {
    /// The kill left a trade in flight (not yet final).
    killed_mid_trade: bool,
    /// Final states of the trades, after settlement.
    states: Vec<String>,
    /// Orders whose outcome the first run could not learn (`submitted`/`unknown` at the kill).
    unknown_at_kill: usize,
}

/// Both doubles, seeded, with a config for them in a fresh directory and the ledger's path.
struct Venues {
    pm: PolymarketDouble,
    ks: KalshiDouble,
    dir: std::path::PathBuf,
    cfg: std::path::PathBuf,
    ledger: std::path::PathBuf,
}

async fn venues(tag: &str) -> Venues {
    let pm = pmd::spawn(PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir(tag);
    let cfg = config(&dir, &pm, &ks);
    let ledger = dir.join("data").join("live.sqlite");
    Venues {
        pm,
        ks,
        dir,
        cfg,
        ledger,
    }
}

/// An operator's order through the CLI (`polymix venue <venue> place … --confirm`).
fn place_by_hand(cfg: &Path, venue: &str, args: &[&str]) {
    let out = std::process::Command::new(crate::support::polymix_bin())
        .args(["venue", "--config"])
        .arg(cfg)
        .args([venue, "place"])
        .args(args)
        .arg("--confirm")
        .output()
        .expect("polymix venue place");
    assert!(out.status.success(), "{out:?}");
}

/// Restarts the engine, lets both looks at the venues' records happen (past the appear
/// window), and returns the ledger's trades.
async fn restart_past_the_window(v: &Venues) -> Vec<(TradeRow, Vec<OrderRow>)> {
    let mut p2 = Polymix::start(&v.cfg, v.dir.join("run2.log"));
    tokio::time::sleep(Duration::from_millis(APPEAR_WINDOW_MS + 1_500)).await;
    p2.assert_running();
    let trades = ledger_trades(&v.ledger);
    p2.kill();
    trades
}

/// Runs one point; returns the invariants it broke (empty when all held).
async fn run_point(i: usize, p: &Point, seen: &mut Seen) -> Vec<String> {
    let Venues {
        pm,
        ks,
        dir,
        cfg,
        ledger,
    } = venues(&format!("sweep-{i}")).await;
    let (pm0, ks0) = (pm.balance(PM_ADDR), ks.balance());
    if let Some(k) = &p.pm_fault {
        let mut f = FaultRule::once("POST", "/order", *k);
        f.times = p.times;
        pm.inject(f);
    }
    if let Some(f) = p.ks_fault {
        ks.inject(FaultRule::once("POST", KS_ORDERS, f).times(p.times));
    }
    let mut broken = Vec::new();

    // 1. Run until the first order write reaches a venue, then a while longer; SIGKILL.
    let hold = p.hold_journal_ms.map(|ms| ms.to_string());
    let env: Vec<(&str, &str)> = hold
        .iter()
        .map(|ms| ("POLYMIX_FAULT_JOURNAL_HOLD_MS", ms.as_str()))
        .collect();
    let mut p1 = Polymix::start_with_env(&cfg, dir.join("run1.log"), &env);
    if let Err(e) = wait("a first order write", Duration::from_secs(20), || {
        pm.order_posts() + ks.place_attempts() > 0
    })
    .await
    {
        broken.push(format!("{e}; log:\n{}", p1.log_text()));
        return broken;
    }
    tokio::time::sleep(Duration::from_millis(p.kill_after_ms)).await;
    p1.kill();
    drop(p1);
    let at_kill = ledger_trades(&ledger);
    if p.hold_journal_ms.is_some() && !at_kill.is_empty() {
        broken.push(format!(
            "the journal was held, yet the ledger had trades at the kill: {at_kill:#?}"
        ));
        return broken;
    }
    seen.killed_mid_trade = at_kill
        .iter()
        .any(|(t, _)| state::IN_FLIGHT.contains(&t.state));
    seen.unknown_at_kill = at_kill
        .iter()
        .flat_map(|(_, o)| o.iter())
        .filter(|o| matches!(o.state.as_str(), "sent" | "submitted" | "unknown"))
        .count();

    // 2. Restart; let every trade become final; resolve both markets; let them settle.
    let mut p2 = Polymix::start(&cfg, dir.join("run2.log"));
    let finals = [
        state::HEDGED,
        state::UNWOUND,
        state::FAILED,
        state::SETTLED,
        state::NAKED,
    ];
    let all_final = |ts: &[(TradeRow, Vec<OrderRow>)]| {
        !ts.is_empty() && ts.iter().all(|(t, _)| finals.contains(&t.state))
    };
    if let Err(e) = wait("every trade final", Duration::from_secs(25), || {
        all_final(&ledger_trades(&ledger))
    })
    .await
    {
        broken.push(format!(
            "{e}: {:#?}; log:\n{}",
            ledger_trades(&ledger),
            p2.log_text()
        ));
        return broken;
    }
    if p.hold_journal_ms.is_some() {
        // Orders the venues book late are adopted once the appear window (4 s in this config)
        // has passed since the restart: let it pass, then let what it found become final.
        tokio::time::sleep(Duration::from_millis(APPEAR_WINDOW_MS + 1_000)).await;
        if let Err(e) = wait(
            "every trade final after the late look",
            Duration::from_secs(25),
            || all_final(&ledger_trades(&ledger)),
        )
        .await
        {
            broken.push(format!("{e}: {:#?}", ledger_trades(&ledger)));
            return broken;
        }
    }
    pm.resolve(ARB_YES, true);
    ks.settle(ARB_TICKER, "yes");
    if let Err(e) = wait("settlement", Duration::from_secs(25), || {
        ledger_trades(&ledger)
            .iter()
            .all(|(t, _)| SETTLED_OR_DEAD.contains(&t.state))
    })
    .await
    {
        broken.push(format!("{e}: {:#?}", ledger_trades(&ledger)));
    }
    // Anything still in the air lands now; then look.
    tokio::time::sleep(Duration::from_millis(MAX_LATE_MS.min(1_000))).await;
    p2.kill();
    let trades = ledger_trades(&ledger);
    seen.states = trades
        .iter()
        .map(|(t, _)| t.state.as_str().to_string())
        .collect();
    let rows: Vec<&OrderRow> = trades.iter().flat_map(|(_, o)| o.iter()).collect();

    // Invariant 1: at most once.
    let mut per_coid: BTreeMap<String, usize> = BTreeMap::new();
    for r in ks.requests() {
        if r.method == "POST" && r.path.ends_with(KS_ORDERS) && r.status != 429 {
            let coid = serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["client_order_id"].as_str().map(str::to_string))
                .unwrap_or_default();
            *per_coid.entry(coid).or_default() += 1;
        }
    }
    if per_coid.values().any(|n| *n > 1) {
        broken.push(format!("an intent reached Kalshi twice: {per_coid:?}"));
    }
    let mut bodies: Vec<Vec<u8>> = pm
        .request_log()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p == "/order")
        .map(|(_, _, b)| b)
        .collect();
    let sent = bodies.len();
    bodies.sort();
    bodies.dedup();
    // A 429'd order is re-sent as the same bytes; count distinct signed orders booked.
    let booked = pm.order_records();
    let mut ids: Vec<&String> = booked.iter().map(|(id, _, _)| id).collect();
    ids.sort();
    ids.dedup();
    if ids.len() != booked.len() {
        broken.push(format!("Polymarket booked one order twice: {booked:?}"));
    }
    // A held journal is what a power cut takes back: an order that left and was never booked
    // (or booked and filled nothing) is then known to no one, and moved no money. There the
    // check is that every order a venue booked with fills is in the ledger (below).
    let power_cut = p.hold_journal_ms.is_some();
    if !power_cut && bodies.len() > rows.iter().filter(|r| r.venue == "pm").count() {
        broken.push(format!(
            "Polymarket got {} distinct orders ({sent} posts), the ledger knows {}",
            bodies.len(),
            rows.iter().filter(|r| r.venue == "pm").count()
        ));
    }

    // Invariant 2: every venue order in the ledger with the venue's shares (and Kalshi's fees).
    for k in ks.orders() {
        if power_cut && k.filled.0 == 0 {
            continue;
        }
        match rows.iter().find(|r| r.client_order_id == k.client_order_id) {
            None => broken.push(format!("Kalshi order unknown to the ledger: {k:?}")),
            Some(r) => {
                let venue_cost = k.taker_cost + k.maker_cost;
                let cost = if r.side == Side::Sell {
                    k.filled.payout(Price::ONE) - venue_cost
                } else {
                    venue_cost
                };
                if r.filled_qty != k.filled || r.filled_notional != cost || r.fees != k.taker_fees {
                    broken.push(format!("Kalshi order booked differently: {r:?} vs {k:?}"));
                }
            }
        }
    }
    for (id, matched, status) in &booked {
        if power_cut && *matched == 0 {
            continue;
        }
        match rows
            .iter()
            .find(|r| r.order_id.as_deref() == Some(id.as_str()))
        {
            None => broken.push(format!(
                "Polymarket order {id} ({status}) unknown to the ledger"
            )),
            // The venue's token units are micro-shares, as a Qty is.
            Some(r) if r.filled_qty.0 != *matched => broken.push(format!(
                "Polymarket order {id}: venue matched {matched} micro-shares, ledger {r:?}"
            )),
            Some(r) => {
                let (_, money, fees) = pm.order_booking(id).unwrap_or_default();
                if r.filled_notional != Usd(money) || r.fees != Usd(fees) {
                    broken.push(format!(
                        "Polymarket order {id}: venue booked {money} µ$ and {fees} µ$ fees, ledger {r:?}"
                    ));
                }
            }
        }
    }

    // Invariant 4: P&L to the cent. Kalshi settled to cash; Polymarket's winning shares are
    // worth $1 each (the double does not redeem).
    if broken.is_empty() && !trades.is_empty() {
        let pm_value = Usd(pm.position(PM_ADDR, ARB_YES));
        let venue = Usd(pm.balance(PM_ADDR) - pm0) + (ks.balance() - ks0) + pm_value;
        let ledger_pnl: Usd = trades.iter().filter_map(|(t, _)| t.realized_pnl).sum();
        if venue != ledger_pnl {
            broken.push(format!(
                "P&L: ledger {ledger_pnl}, doubles {venue}: {trades:#?}"
            ));
        }
    }
    if !broken.is_empty() {
        broken.push(format!(
            "point {i}: {p:?}; run2 log:\n{}",
            std::fs::read_to_string(dir.join("run2.log")).unwrap_or_default()
        ));
    }
    broken
}

async fn sweep(points: usize, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut failed = Vec::new();
    let started = Instant::now();
    let (mut mid, mut unknown, mut held) = (0, 0, 0);
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..points {
        let p = draw(&mut rng);
        held += p.hold_journal_ms.is_some() as usize;
        let mut seen = Seen::default();
        let b = run_point(i, &p, &mut seen).await;
        mid += seen.killed_mid_trade as usize;
        unknown += seen.unknown_at_kill;
        for s in seen.states {
            *states.entry(s).or_default() += 1;
        }
        if !b.is_empty() {
            failed.push((i, p, b));
        }
    }
    println!(
        "crash sweep: {points} points (seed {seed}), {} broke an invariant, {:.0} s; killed mid-trade {mid}, orders of unknown outcome at the kill {unknown}, killed before the journal reached the ledger {held}, final states {states:?}",
        failed.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(failed.is_empty(), "{failed:#?}");
}

/// Runs one point whose journal is held (the kill lands after the orders left and before the
/// ledger has them) with these faults; returns the final states, asserting every invariant.
async fn held_point(
    i: usize,
    pm_fault: Option<Fault>,
    ks_fault: Option<Fault>,
    kill_after_ms: u64,
) -> Vec<String> {
    let p = Point {
        pm_fault,
        ks_fault,
        times: 1,
        kill_after_ms,
        hold_journal_ms: Some(JOURNAL_HOLD_MS),
    };
    let mut seen = Seen::default();
    let broken = run_point(i, &p, &mut seen).await;
    assert!(broken.is_empty(), "{broken:#?}");
    seen.states
}

/// Both legs left and were booked; the process died before their trade's journal was
/// written (what a power cut in the fsync leaves). Restart finds both orders in the venues'
/// account records, records them as the trade they were (hedged), and it settles to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_send_and_journal_adopts_both_legs() {
    let states = held_point(0, None, None, 800).await;
    assert_eq!(
        states,
        ["SETTLED"],
        "one adopted trade, hedged then settled"
    );
}

/// Kalshi refuses its leg (503, nothing booked) and the process dies before the trade's
/// journal is written. Restart finds Polymarket's leg alone, records it and sells it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_send_and_journal_unwinds_a_lone_adopted_leg() {
    let states = held_point(1, None, Some(Fault::Status(503)), 800).await;
    assert_eq!(
        states,
        ["SETTLED"],
        "the adopted leg is unwound, then settled"
    );
}

/// Polymarket books its leg 2 s late, after the process died and restarted; Kalshi's leg
/// was booked at once. The restart adopts Kalshi's leg (and sells it back: alone it is
/// naked); Polymarket's is found by the second look once the appear window has passed, and
/// is recorded and sold back too. Every booked order ends in the ledger; P&L to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_between_send_and_journal_adopts_a_leg_booked_late() {
    let late = Some(Fault::Late(Duration::from_millis(2_000)));
    let states = held_point(2, late, None, 700).await;
    assert_eq!(states.len(), 2, "two adopted trades: {states:?}");
}

/// Between the stop and the restart an operator buys on the pair's Kalshi market by hand
/// (`polymix venue … place`, client id `pmx-op-…`). Its fill lies in the window restart reads,
/// on a pair's instrument, and the ledger lacks it, like the engine's own unjournaled legs;
/// but its client id is not this ledger's, so it is left alone: only the engine's two legs
/// are adopted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operators_order_in_the_restart_window_is_not_adopted() {
    let v = venues("operator-order").await;
    let (pm, ks, dir, cfg, ledger) = (&v.pm, &v.ks, &v.dir, &v.cfg, &v.ledger);
    let hold = JOURNAL_HOLD_MS.to_string();
    let mut p1 = Polymix::start_with_env(
        cfg,
        dir.join("run1.log"),
        &[("POLYMIX_FAULT_JOURNAL_HOLD_MS", hold.as_str())],
    );
    let booked = wait("both legs booked", Duration::from_secs(20), || {
        !pm.order_records().is_empty() && !ks.orders().is_empty()
    })
    .await;
    p1.kill();
    booked.unwrap_or_else(|e| panic!("{e}; log:\n{}", p1.log_text()));
    assert!(
        ledger_trades(ledger).is_empty(),
        "killed before the journal"
    );
    // The operator's order: YES on the pair's Kalshi market (the NO bid at 0.38 is a YES ask
    // at 0.62), filled at once.
    let yes = format!("{ARB_TICKER}:yes");
    place_by_hand(
        cfg,
        "ks",
        &[
            "--instrument",
            &yes,
            "--side",
            "buy",
            "--price",
            "0.62",
            "--qty",
            "5",
            "--tif",
            "ioc",
            "--client-order-id",
            "pmx-op-by-hand",
        ],
    );
    assert!(
        ks.orders()
            .iter()
            .any(|k| k.client_order_id == "pmx-op-by-hand" && k.filled.0 > 0),
        "the operator's order filled: {:?}",
        ks.orders()
    );
    let trades = restart_past_the_window(&v).await;
    assert_eq!(trades.len(), 1, "only the engine's trade: {trades:#?}");
    let (t, orders) = &trades[0];
    assert_eq!(orders.len(), 2, "{orders:#?}");
    assert!(
        orders.iter().all(|o| o.client_order_id != "pmx-op-by-hand"),
        "{orders:#?}"
    );
    assert!(
        [state::HEDGED, state::SETTLED].contains(&t.state),
        "the engine's two legs, hedged: {t:#?}"
    );
}

/// The engine traded, then was down for ten minutes (its last checkpoint is that old); while
/// it was down an operator bought on the pair's Polymarket market by hand. Polymarket keeps no
/// client ids, but the fill is long after the last run can have sent anything, so the restart
/// does not take it for an unjournaled order of that run: nothing is adopted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_trade_after_the_last_runs_window_is_not_adopted() {
    let v = venues("hand-trade").await;
    let (pm, dir, cfg, ledger) = (&v.pm, &v.dir, &v.cfg, &v.ledger);
    let mut p1 = Polymix::start(cfg, dir.join("run1.log"));
    let hedged = wait("a hedged trade", Duration::from_secs(20), || {
        ledger_trades(ledger)
            .iter()
            .any(|(t, _)| t.state == state::HEDGED)
    })
    .await;
    p1.kill();
    hedged.unwrap_or_else(|e| panic!("{e}; log:\n{}", p1.log_text()));
    // Down for ten minutes: the checkpoint it left is that old.
    let ten_min_ago =
        polymix_host::venue_io::Clock::now_ms(&polymix_host::venue_io::SystemClock) - 600_000;
    let l = polymix_host::store::Ledger::open(ledger).unwrap();
    l.set_kv(
        "journal_checkpoint_ms",
        &format!("{ten_min_ago} {ten_min_ago}"),
    )
    .unwrap();
    drop(l);
    let booked_before = pm.order_records().len();
    place_by_hand(
        cfg,
        "pm",
        &[
            "--instrument",
            ARB_YES,
            "--side",
            "buy",
            "--price",
            "0.70",
            "--qty",
            "5",
            "--tif",
            "ioc",
        ],
    );
    assert_eq!(
        pm.order_records().len(),
        booked_before + 1,
        "the hand order booked"
    );
    let trades = restart_past_the_window(&v).await;
    assert_eq!(trades.len(), 1, "only the engine's own trade: {trades:#?}");
    assert_eq!(trades[0].1.len(), 2, "{trades:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_sweep_small() {
    sweep(4, 0x5eed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "long: run with SWEEP_POINTS=N cargo test -p polymix-tests --test integration crash_sweep_full -- --ignored --nocapture"]
async fn crash_sweep_full() {
    let n = std::env::var("SWEEP_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed = std::env::var("SWEEP_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    sweep(n, seed).await;
}

//! The live engine between the two venue doubles with faults on the order writes: the venue
//! processes an order and then the answer is lost, garbled, late or a 5xx; or the venue never
//! processes it. For every case: each intent reached each venue at most once, every order the
//! doubles hold is in the ledger with the shares and fees the double booked, the trade ends in
//! a final state and, once both markets resolve, the ledger's P&L equals the cash the doubles
//! moved, to the cent.

use plugin_api::{Qty, Usd};
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig};
use polymix_doubles::polymarket::{self as pmd, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::store::{
    state, Ledger, Leg, OrderRow, OrderState, Purpose, Side, TradeRow, TradeState,
};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::live_e2e::{live_engine_with, seed, wait_for, ARB_TICKER, ARB_YES};

const PM_ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const KS_ORDERS: &str = "/portfolio/events/orders";

/// Fast polls, a short appear window so "never arrived" becomes final within the test.
fn engine_section(window_ms: u64) -> String {
    format!(
        "\n[engine]\nleg_tif = \"ioc\"\nunwind_max_ticks = 10\nunwind_time_cap_ms = 5000\npoll_ms = 50\nsettle_poll_ms = 200\nreconcile_ms = 100\norder_appear_window_ms = {window_ms}\n\n[api]\nenabled = false\n"
    )
}

/// Both doubles, seeded with the arb and the flat pair (fills settle after 100 ms).
pub(crate) async fn seeded_doubles() -> (PolymarketDouble, KalshiDouble) {
    let pm = pmd::spawn(PolymarketDoubleConfig {
        settle_delay: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    (pm, ks)
}

const FINAL: &[TradeState] = &[state::HEDGED, state::UNWOUND, state::FAILED, state::SETTLED];

struct Outcome {
    trade: TradeRow,
    orders: Vec<OrderRow>,
    ledger: std::sync::Arc<Ledger>,
}

/// Runs the live engine with `pm_fault` on Polymarket's first `POST /order` and `ks_fault` on
/// Kalshi's first order write, until the one trade is final; then resolves both markets (P
/// wins) and waits for settlement.
async fn run(
    tag: &str,
    pm_fault: Option<Fault>,
    ks_fault: Option<Fault>,
    window_ms: u64,
) -> (Outcome, PolymarketDouble, KalshiDouble, i64, Usd) {
    let (pm, ks) = seeded_doubles().await;
    let (pm_cash0, ks_cash0) = (pm.balance(PM_ADDR), ks.balance());
    if let Some(k) = pm_fault {
        pm.inject(FaultRule::once("POST", "/order", k));
    }
    if let Some(f) = ks_fault {
        ks.inject(FaultRule::once("POST", KS_ORDERS, f));
    }
    let engine = live_engine_with(tag, &pm, &ks, &engine_section(window_ms)).await;
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let trades = wait_for(&ledger, "a final trade", Duration::from_secs(30), |t| {
            t.len() == 1 && FINAL.contains(&t[0].state)
        })
        .await;
        let t = trades[0].clone();
        pm.resolve(ARB_YES, true);
        ks.settle(ARB_TICKER, "yes");
        let settled = wait_for(&ledger, "settlement", Duration::from_secs(30), |ts| {
            ts.iter()
                .any(|x| x.id == t.id && (x.state == state::SETTLED || x.state == state::FAILED))
        })
        .await;
        // A few more polls: nothing new may be sent.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = tx.send(true);
        settled
    };
    let (r, trades) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live ends cleanly");
    assert_eq!(
        ledger.trades_in(&[]).expect("ledger").len(),
        1,
        "{trades:#?}"
    );
    let trade = ledger.trades_in(&[]).expect("ledger").remove(0);
    let orders = ledger.orders_of(&trade.id).expect("orders");
    let pm_cash = pm.balance(PM_ADDR) - pm_cash0;
    let ks_cash = ks.balance() - ks_cash0;
    (
        Outcome {
            trade,
            orders,
            ledger,
        },
        pm,
        ks,
        pm_cash,
        ks_cash,
    )
}

/// Every Kalshi order is in the ledger once, with the double's shares, cost and fee; every
/// client order id reached Kalshi at most once.
fn check_kalshi(o: &Outcome, ks: &KalshiDouble) {
    let mut per_coid: BTreeMap<String, usize> = BTreeMap::new();
    for r in ks.requests() {
        if r.method == "POST" && r.path.ends_with(KS_ORDERS) {
            let coid = serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|v| v["client_order_id"].as_str().map(str::to_string))
                .unwrap_or_default();
            *per_coid.entry(coid).or_default() += 1;
        }
    }
    assert!(
        per_coid.values().all(|n| *n == 1),
        "an intent reached Kalshi twice: {per_coid:?}"
    );
    for k in ks.orders() {
        let row = o
            .orders
            .iter()
            .find(|r| r.client_order_id == k.client_order_id)
            .unwrap_or_else(|| panic!("Kalshi holds an order the ledger lacks: {k:#?}"));
        assert_eq!(
            row.order_id.as_deref(),
            Some(k.order_id.as_str()),
            "{row:#?}"
        );
        assert_eq!(row.filled_qty, k.filled, "shares: {row:#?} vs {k:#?}");
        // Kalshi books every order as a purchase on one side of the YES/NO book: selling NO
        // is buying YES, whose cost is $1 per contract minus the NO proceeds.
        let venue_cost = k.taker_cost + k.maker_cost;
        let expected = if row.side == Side::Sell {
            k.filled.payout(plugin_api::Price::ONE) - venue_cost
        } else {
            venue_cost
        };
        assert_eq!(row.filled_notional, expected, "cost: {row:#?} vs {k:#?}");
        assert_eq!(row.fees, k.taker_fees, "fee: {row:#?} vs {k:#?}");
    }
}

/// Every order Polymarket accepted is in the ledger under its id; each signed order reached
/// the venue once.
fn check_polymarket(o: &Outcome, pm: &PolymarketDouble) {
    let received = pm.received_orders();
    let mut sigs: Vec<String> = received
        .iter()
        .map(|v| v["order"]["signature"].as_str().unwrap_or("").to_string())
        .collect();
    sigs.sort();
    sigs.dedup();
    assert_eq!(sigs.len(), received.len(), "a signed order was sent twice");
    let pm_rows: Vec<&OrderRow> = o.orders.iter().filter(|r| r.venue == "pm").collect();
    assert!(
        received.len() <= pm_rows.len(),
        "Polymarket got {} orders, the ledger knows {}: {:#?}",
        received.len(),
        pm_rows.len(),
        o.orders
    );
    for r in &pm_rows {
        if let Some(id) = &r.order_id {
            if r.filled_qty.0 > 0 {
                assert!(
                    pm.order_status(id).is_some(),
                    "ledger order {id} unknown to the venue: {r:#?}"
                );
            }
        }
    }
    // Every order the venue booked is in the ledger with the venue's shares, money and fees.
    for (id, _, status) in pm.order_records() {
        let r = pm_rows
            .iter()
            .find(|r| r.order_id.as_deref() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("Polymarket order {id} ({status}) unknown to the ledger"));
        let (shares, money, fees) = pm.order_booking(&id).expect("booked");
        // The venue's token units are micro-shares, as a Qty is: compared exactly.
        assert_eq!(r.filled_qty.0, shares, "shares of {id}: {r:#?}");
        assert_eq!(r.filled_notional, Usd(money), "money of {id}: {r:#?}");
        assert_eq!(r.fees, Usd(fees), "fees of {id}: {r:#?}");
    }
}

/// The ledger's realized P&L equals what the doubles' cash says: Kalshi settles to cash;
/// Polymarket's winning shares are worth $1 each (the double does not redeem).
fn check_pnl(o: &Outcome, pm_cash_micro: i64, ks_cash: Usd) {
    let pm_shares: Qty = o
        .orders
        .iter()
        .filter(|r| r.venue == "pm" && r.instrument == ARB_YES)
        .map(|r| {
            if r.side == Side::Sell {
                -r.filled_qty
            } else {
                r.filled_qty
            }
        })
        .sum();
    let venue_pnl = Usd(pm_cash_micro) + ks_cash + pm_shares.payout(plugin_api::Price::ONE);
    let t = o.ledger.trade(&o.trade.id).expect("ledger").expect("trade");
    let ledger_pnl = t.realized_pnl.unwrap_or(Usd::ZERO);
    assert_eq!(
        ledger_pnl, venue_pnl,
        "ledger P&L vs the doubles' cash: {t:#?}\n{:#?}",
        o.orders
    );
}

/// Runs [`run`] with these faults on each venue's first order write and checks the trade
/// hedged and settled with one write per venue and the doubles' books, fees and cash.
async fn hedges_once_and_settles(tag: &str, pm_fault: Option<Fault>, ks_fault: Option<Fault>) {
    let (o, pm, ks, pm_cash, ks_cash) = run(tag, pm_fault, ks_fault, 5_000).await;
    assert_eq!(o.trade.state, state::SETTLED, "{:#?}", o.orders);
    assert_eq!(pm.order_posts(), 1);
    assert_eq!(ks.place_attempts(), 1);
    check_kalshi(&o, &ks);
    check_polymarket(&o, &pm);
    check_pnl(&o, pm_cash, ks_cash);
}

/// Both venues process their leg, then the answers are lost (Polymarket: connection dropped;
/// Kalshi: 502). Both are found, not re-sent; the trade hedges and settles to the cent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_answers_lost_after_processing_hedges_without_resending() {
    hedges_once_and_settles(
        "lf-lost",
        Some(Fault::DropAfter),
        Some(Fault::StatusAfter(502)),
    )
    .await;
}

/// Both answers come too late (after the host's 3 s timeout), the orders already booked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_answers_late_after_processing_hedges_without_resending() {
    hedges_once_and_settles(
        "lf-late",
        Some(Fault::DelayAfter(Duration::from_millis(3_500))),
        Some(Fault::DelayAfter(Duration::from_millis(3_500))),
    )
    .await;
}

/// Polymarket answers 500 without booking its leg: the leg's outcome is unknown, it is looked
/// up until the appear window passes, then final `not_found`; Kalshi's filled leg is sold back.
/// Polymarket saw exactly one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbooked_leg_is_final_after_the_window_and_the_other_leg_unwinds() {
    let (o, pm, ks, pm_cash, ks_cash) =
        run("lf-unbooked", Some(Fault::Status(500)), None, 1_500).await;
    assert_eq!(pm.order_posts(), 1, "never re-sent");
    assert_eq!(pm.accepted_orders(), 0);
    let a = o
        .orders
        .iter()
        .find(|r| r.venue == "pm" && r.purpose == Purpose::Entry)
        .expect("leg a");
    assert_eq!(a.state, OrderState::NotFound, "{a:#?}");
    assert!(
        o.orders
            .iter()
            .any(|r| r.venue == "ks" && r.purpose == Purpose::Unwind && r.filled_qty.0 > 0),
        "leg b sold back: {:#?}",
        o.orders
    );
    let t = o.ledger.trade(&o.trade.id).unwrap().unwrap();
    assert!(t.unwind_loss > Usd::ZERO, "unwind loss booked: {t:#?}");
    check_kalshi(&o, &ks);
    check_polymarket(&o, &pm);
    check_pnl(&o, pm_cash, ks_cash);
}

/// What a stop between an order's `sent` record and its first write leaves behind: the trade
/// journaled in SUBMITTING, both legs `sent`, no venue order id (Polymarket's digest is only
/// journaled just before the write). Reconciliation must end it in a final state, not leave it
/// PARTIAL for good: Polymarket cannot be asked by client id, and nothing was written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legs_stopped_before_their_write_end_final_not_stuck() {
    let pm = pmd::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    // No arb left to trade: only the journaled trade matters.
    pm.set_book(ARB_YES, &[("0.37", "50")], &[("0.90", "100")]);
    let engine = live_engine_with("lf-sent", &pm, &ks, &engine_section(1_000)).await;
    let ledger = engine.ledger().clone();
    let now = plugin_api::Price::ONE.0; // any fixed creation time long past
    let t = TradeRow {
        id: "stop-000001".into(),
        pair_id: "lal-bos-lal".into(),
        direction: "yes_a_no_b".into(),
        qty: Qty::shares(10),
        state: state::PLANNED,
        venue_a: "pm".into(),
        venue_b: "ks".into(),
        instrument_a: ARB_YES.into(),
        instrument_b: format!("{ARB_TICKER}:no"),
        limit_a: plugin_api::Price(400_000),
        limit_b: plugin_api::Price(450_000),
        expected_cost: Usd::dollars(9),
        expected_profit: Usd::from_cents(100),
        reserved_a: Usd::dollars(5),
        reserved_b: Usd::dollars(5),
        unwind_loss: Usd::ZERO,
        realized_pnl: None,
        note: String::new(),
        day: polymix_host::engine::utc_day(now),
        created_ms: now,
        updated_ms: now,
        settled_ms: None,
    };
    let leg = |leg: char, venue: &str, inst: &str| OrderRow {
        client_order_id: plugin_api::client_order_id(&t.id, leg, 0),
        trade_id: t.id.clone(),
        leg: Leg::parse(&leg.to_string()).expect("leg"),
        purpose: Purpose::Entry,
        venue: venue.into(),
        instrument: inst.into(),
        side: Side::Buy,
        price: plugin_api::Price(400_000),
        qty: Qty::shares(10),
        tif: polymix_host::store::Tif::Ioc,
        state: OrderState::Planned,
        order_id: None,
        filled_qty: Qty::ZERO,
        filled_notional: Usd::ZERO,
        fees: Usd::ZERO,
        failed_qty: Qty::ZERO,
        reason: None,
        created_ms: now,
        updated_ms: now,
    };
    let mut orders = vec![
        leg('a', "pm", ARB_YES),
        leg('b', "ks", &format!("{ARB_TICKER}:no")),
    ];
    ledger.insert_planned(&t, &orders).expect("journal");
    ledger
        .transition(&t.id, state::SUBMITTING, "sending both legs", now)
        .expect("transition");
    for o in orders.iter_mut() {
        o.state = OrderState::Sent;
        ledger.update_order(o).expect("sent");
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let done = wait_for(
            &ledger,
            "the stopped trade final",
            Duration::from_secs(15),
            |ts| ts.iter().any(|x| x.id == t.id && FINAL.contains(&x.state)),
        )
        .await;
        let _ = tx.send(true);
        done
    };
    let (r, _) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live");
    let t2 = ledger.trade(&t.id).unwrap().unwrap();
    assert_eq!(t2.state, state::FAILED, "{t2:#?}");
    for o in ledger.orders_of(&t.id).unwrap() {
        assert_eq!(o.state, OrderState::NotFound, "{o:#?}");
        assert_eq!(o.filled_qty, Qty::ZERO);
    }
    assert!(
        pm.received_orders().is_empty(),
        "nothing sent to Polymarket"
    );
    assert!(ks.orders().is_empty(), "nothing sent to Kalshi");
    assert_eq!(
        engine.phase(),
        polymix_host::engine::Phase::Trading,
        "reconciliation finished, trading began"
    );
}

/// Polymarket holds the order write 3.7 s before booking it; the host gives up at 3 s. The
/// lookups right after find nothing, but within the appear window "not found" is not final:
/// the reconciliation sweep keeps looking, finds the order when it lands (it matched 10
/// shares), adopts it into its trade, and the trade hedges. Before the fix the leg was marked
/// `not_found` at once, the Kalshi leg unwound, and the 10 shares went unrecorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_booked_after_the_lookup_said_not_found_is_adopted() {
    let (o, pm, ks, pm_cash, ks_cash) = run(
        "lf-lateorder",
        Some(Fault::Late(Duration::from_millis(3_700))),
        None,
        15_000,
    )
    .await;
    assert_eq!(pm.order_posts(), 1, "never re-sent");
    assert_eq!(pm.accepted_orders(), 1, "booked late");
    let a = o
        .orders
        .iter()
        .find(|r| r.venue == "pm" && r.purpose == Purpose::Entry)
        .expect("leg a");
    assert_eq!(a.filled_qty, Qty::shares(10), "adopted: {a:#?}");
    assert!(
        !o.orders.iter().any(|r| r.purpose == Purpose::Unwind),
        "nothing unwound: {:#?}",
        o.orders
    );
    assert_eq!(o.trade.state, state::SETTLED, "{:#?}", o.trade);
    check_kalshi(&o, &ks);
    check_polymarket(&o, &pm);
    check_pnl(&o, pm_cash, ks_cash);
}

/// Polymarket books the order and answers 200 with a body that is not its JSON; Kalshi books
/// and answers 504. Neither garbled nor failed answers are taken as refusals: both orders are
/// looked up, found, and the trade hedges, each venue having seen one write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbled_2xx_and_5xx_after_booking_are_looked_up_not_refused() {
    hedges_once_and_settles(
        "lf-garbled",
        Some(Fault::GarbageAfter),
        Some(Fault::StatusAfter(504)),
    )
    .await;
}

/// One pair's trade is unwinding for seconds (the venue holds the unwind's book read for 3 s)
/// when another pair's arb appears: the other pair is traded meanwhile, and both trades end
/// correctly. Before trades ran as their own futures, the loop sat in the unwind and the
/// second arb was only seen after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_pair_trades_while_one_trade_unwinds() {
    use crate::live_e2e::{FLAT_TICKER, FLAT_YES};
    let (pm, ks) = seeded_doubles().await;
    // Pair 1's Kalshi leg is refused outright: its Polymarket leg must be sold back.
    ks.inject(FaultRule::once("POST", KS_ORDERS, Fault::Status(400)));
    let engine = live_engine_with("lf-concurrent", &pm, &ks, &engine_section(2_000)).await;
    // Only the unwind reads a single Polymarket book (the loop polls them in batches, and
    // the rules were read when the engine was built): hold that read for 3 s.
    pm.inject(FaultRule::once(
        "GET",
        "/book",
        Fault::Delay(Duration::from_millis(3_000)),
    ));
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        wait_for(&ledger, "trade 1 unwinding", Duration::from_secs(20), |t| {
            t.iter().any(|t| t.state == state::UNWINDING)
        })
        .await;
        // Now the second pair becomes an arb: P at 0.40 on Polymarket, not-P at 0.45 on Kalshi.
        pm.set_book(
            FLAT_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        ks.seed_book(
            FLAT_TICKER,
            &[("0.5500", "10.00"), ("0.2000", "100.00")],
            &[("0.3800", "100.00")],
        );
        let done = wait_for(&ledger, "both trades final", Duration::from_secs(30), |t| {
            t.len() == 2 && t.iter().all(|t| FINAL.contains(&t.state))
        })
        .await;
        let _ = tx.send(true);
        done
    };
    let (r, trades) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live");
    let (t1, t2) = (&trades[0], &trades[1]);
    assert_eq!(t1.pair_id, "lal-bos-lal");
    assert_eq!(t2.pair_id, "nyk-mia-nyk");
    let t1 = ledger.trade(&t1.id).unwrap().unwrap();
    let t2 = ledger.trade(&t2.id).unwrap().unwrap();
    // Unwound to nothing, it may already have settled.
    assert!(
        t1.state == state::UNWOUND || t1.state == state::SETTLED,
        "{t1:#?}"
    );
    assert_eq!(t2.state, state::HEDGED, "{t2:#?}");
    let unwound_ms = ledger
        .transitions_of(&t1.id)
        .unwrap()
        .into_iter()
        .find(|(from, _, _, _)| *from == Some(state::UNWINDING))
        .map(|(_, _, _, ms)| ms)
        .expect("trade 1 left UNWINDING");
    assert!(
        t2.created_ms < unwound_ms,
        "trade 2 was decided while trade 1 was still unwinding: {} vs {unwound_ms}",
        t2.created_ms,
    );
    let o2 = ledger.orders_of(&t2.id).unwrap();
    assert!(
        o2.iter().all(|o| o.filled_qty == Qty::shares(10)),
        "{o2:#?}"
    );
    check_kalshi(
        &Outcome {
            trade: t2.clone(),
            orders: o2,
            ledger: ledger.clone(),
        },
        &ks,
    );
}

/// What a surplus scenario left behind.
struct SurplusRun {
    trade: TradeRow,
    orders: Vec<OrderRow>,
    ledger: std::sync::Arc<polymix_host::store::Ledger>,
    pm: PolymarketDouble,
    ks: KalshiDouble,
    /// Both venues' cash before the run: Polymarket in micro-pUSD, Kalshi in dollars.
    cash0: (i64, Usd),
}

impl SurplusRun {
    fn leg_a(&self) -> &OrderRow {
        self.orders
            .iter()
            .find(|o| o.venue == "pm" && o.purpose == Purpose::Entry)
            .expect("leg a")
    }

    fn sales(&self) -> Vec<&OrderRow> {
        self.orders
            .iter()
            .filter(|o| o.venue == "pm" && o.purpose == Purpose::Unwind)
            .collect()
    }

    fn outcome(&self) -> Outcome {
        Outcome {
            trade: self.trade.clone(),
            orders: self.orders.clone(),
            ledger: self.ledger.clone(),
        }
    }
}

/// The one arb, with Polymarket holding the entry order's write 600 ms; meanwhile P's asks
/// become `asks_after`, so the IOC BUY (which spends `qty × limit`) buys what that book gives.
/// Runs until the trade satisfies `until`; with `settle`, both markets then resolve YES and the
/// run ends once the trade settled.
async fn surplus_run(
    tag: &str,
    asks_after: &[(&str, &str)],
    until: fn(&TradeRow) -> bool,
    settle: bool,
) -> SurplusRun {
    use crate::live_e2e::ARB_COND;
    use polymix_doubles::polymarket::MarketSeed;
    let (pm, ks) = seeded_doubles().await;
    let mut m = MarketSeed::new(ARB_YES, ARB_COND);
    m.question = format!("test market {ARB_COND}");
    m.min_size = "1".into();
    pm.add_market(m);
    pm.inject(FaultRule::once(
        "POST",
        "/order",
        Fault::Delay(Duration::from_millis(600)),
    ));
    let cash0 = (pm.balance(PM_ADDR), ks.balance());
    let engine = live_engine_with(tag, &pm, &ks, &engine_section(2_000)).await;
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        // The order write is being held: the book changes before the venue matches it.
        let t0 = std::time::Instant::now();
        while pm
            .request_log()
            .iter()
            .all(|(m, p, _)| !(m == "POST" && p == "/order"))
        {
            assert!(t0.elapsed() < Duration::from_secs(20), "no order");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        pm.set_book(ARB_YES, &[("0.37", "50")], asks_after);
        let reached = wait_for(
            &ledger,
            "the trade's expected state",
            Duration::from_secs(20),
            |t| t.len() == 1 && until(&t[0]),
        )
        .await;
        if settle {
            pm.resolve(ARB_YES, true);
            ks.settle(ARB_TICKER, "yes");
            wait_for(&ledger, "settlement", Duration::from_secs(20), |t| {
                t.iter()
                    .any(|x| x.id == reached[0].id && x.settled_ms.is_some())
            })
            .await;
        }
        let _ = tx.send(true);
        reached
    };
    let (r, trades) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live");
    let trade = ledger.trade(&trades[0].id).unwrap().unwrap();
    let orders = ledger.orders_of(&trade.id).unwrap();
    SurplusRun {
        trade,
        orders,
        ledger,
        pm,
        ks,
        cash0,
    }
}

/// The book improves between the decision and the match (the venue holds the order write
/// 600 ms; meanwhile P's ask drops from 0.40 to 0.20). Polymarket's IOC BUY spends
/// `qty × limit`, so it buys more shares than asked: 20 for 10. The ledger records what the
/// venue booked (never capped at 10), the legs are unequal, and the engine sells the 10-share
/// surplus back: the trade ends HEDGED at 10 shares a leg, the surplus flattened. (A surplus
/// worth less than the venue's $1 minimum for a marketable order cannot be sold: NAKED.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_buy_that_gets_more_shares_than_asked_has_its_surplus_flattened() {
    let run = surplus_run(
        "lf-surplus",
        &[("0.20", "100")],
        |t| FINAL.contains(&t.state),
        false,
    )
    .await;
    let (t, orders, pm) = (&run.trade, &run.orders, &run.pm);
    let a = run.leg_a();
    assert_eq!(a.qty, Qty::shares(10));
    assert_eq!(
        a.filled_qty,
        Qty::shares(20),
        "the venue's shares, not capped: {a:#?}"
    );
    let sold: Qty = run.sales().iter().map(|o| o.filled_qty).sum();
    assert_eq!(
        sold,
        Qty::shares(10),
        "the surplus was sold back: {orders:#?}"
    );
    assert_eq!(t.state, state::HEDGED, "{t:#?}");
    // The venue agrees: 20 bought, 10 sold.
    assert_eq!(pm.position(PM_ADDR, ARB_YES), 10_000_000, "10 shares held");
    check_polymarket(&run.outcome(), pm);
}

/// As above, but the surplus is too small to sell: the ask drops to 0.32, so the $4.00 IOC BUY
/// gets 12.5 shares for 10 asked, and the 2.5-share surplus is worth $0.925 at the 0.37 bid,
/// under the $1 the venue's rules give as its smallest marketable order
/// (`InstrumentRules::min_notional`). No sale is attempted (every rung would be worth less
/// still); the trade is NAKED with that reason in its note, and the surplus is held to
/// resolution: the trade still settles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surplus_below_the_venues_minimum_order_is_naked_with_the_reason() {
    let run = surplus_run(
        "lf-small-surplus",
        &[("0.32", "100")],
        |t| t.state == state::NAKED,
        true,
    )
    .await;
    let (t, orders) = (&run.trade, &run.orders);
    let a = run.leg_a();
    assert_eq!(
        a.filled_qty,
        Qty::parse("12.50").unwrap(),
        "the venue's shares: {a:#?}"
    );
    assert!(
        orders
            .iter()
            .all(|o| !(o.venue == "pm" && o.purpose == Purpose::Unwind)),
        "no sale the venue must refuse: {orders:#?}"
    );
    assert_eq!(t.state, state::NAKED, "{t:#?}");
    assert!(
        t.note.contains("2.50 shares")
            && t.note.contains("worth 0.92")
            && t.note.contains("minimum marketable order of 1.00")
            && t.note.contains("held to resolution"),
        "{}",
        t.note
    );
    assert!(t.settled_ms.is_some(), "the surplus settles with the trade");
    assert_eq!(
        run.pm.position(PM_ADDR, ARB_YES),
        12_500_000,
        "12.5 shares held"
    );
}

/// Issue #11 item 9 at the micro-share: the book improves while the order write is held, and
/// the $4.00 IOC BUY for 10 shares at 0.40 buys 4.3571 at 0.38 and 6 at 0.39: 10.3571 shares,
/// a size finer than a hundredth (conditional tokens have 6 decimals). The ledger books exactly
/// 10.3571 shares (no flooring to 10.35), each fill at its maker's price with the venue's fee
/// per fill, and agrees with the venue's wallet. The 0.3571 surplus is handled by the README
/// rule: only whole 0.01 steps can be sold (0.35), worth $0.1295 at the 0.37 bid, under the
/// venue's $1 minimum marketable order, so no sale is sent and the trade is NAKED with that
/// reason; the surplus is held to resolution and settles with the trade, P&L to the micro-dollar.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surplus_finer_than_a_hundredth_is_booked_exactly_and_held_naked() {
    // The next ask (0.45) is above the 0.40 limit: the BUY stops after 10.3571 shares.
    let run = surplus_run(
        "lf-micro-surplus",
        &[("0.38", "4.3571"), ("0.39", "6"), ("0.45", "100")],
        |t| t.state == state::NAKED,
        true,
    )
    .await;
    let (t, orders, pm, ks) = (&run.trade, &run.orders, &run.pm, &run.ks);
    let a = run.leg_a();
    assert_eq!(a.qty, Qty::shares(10));
    assert_eq!(
        a.filled_qty,
        Qty::parse("10.3571").unwrap(),
        "exactly the venue's shares: {a:#?}"
    );
    // Each fill at its maker's price: 4.3571 × 0.38 + 6 × 0.39 = 1.655698 + 2.34.
    assert_eq!(a.filled_notional, Usd(3_995_698), "{a:#?}");
    // The fee per fill (polymarket.md §5, the market's 0.05 rate), by hand:
    // 4.3571 · 0.05 · 0.38 · 0.62 = 0.0513266… → 0.05133; 6 · 0.05 · 0.39 · 0.61 = 0.07137.
    assert_eq!(a.fees, Usd(51_330 + 71_370), "{a:#?}");
    assert_eq!(
        pm.position(PM_ADDR, ARB_YES),
        10_357_100,
        "the wallet holds what the ledger says"
    );
    assert!(
        orders
            .iter()
            .all(|o| !(o.venue == "pm" && o.purpose == Purpose::Unwind)),
        "no sale the venue must refuse: {orders:#?}"
    );
    assert_eq!(t.state, state::NAKED, "{t:#?}");
    assert!(
        t.note.contains("0.3571 shares on leg a could not be sold")
            && t.note.contains("0.35 shares at 0.37 are worth 0.1295")
            && t.note.contains("minimum marketable order of 1.00")
            && t.note.contains("held to resolution"),
        "{}",
        t.note
    );
    assert!(t.settled_ms.is_some(), "the surplus settles with the trade");
    let o = run.outcome();
    check_polymarket(&o, pm);
    check_kalshi(&o, ks);
    check_pnl(
        &o,
        pm.balance(PM_ADDR) - run.cash0.0,
        ks.balance() - run.cash0.1,
    );
}

/// As above with a surplus worth selling: the IOC BUY gets 3.3571 at 0.29 and 10
/// at 0.30 (13.3571 shares). The unwind sells the surplus in the venue's 0.01 steps: 3.35 at
/// the 0.37 bid ($1.2395, above the $1 minimum). The 0.0071 left is less than one step, which
/// no order can sell: the trade is NAKED with that reason, and ledger and wallet agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surplus_is_sold_in_whole_steps_and_the_sub_step_rest_is_naked() {
    let run = surplus_run(
        "lf-step-surplus",
        &[("0.29", "3.3571"), ("0.30", "10"), ("0.45", "100")],
        |t| t.state == state::NAKED,
        false,
    )
    .await;
    let (t, orders, pm) = (&run.trade, &run.orders, &run.pm);
    let a = run.leg_a();
    assert_eq!(a.filled_qty, Qty::parse("13.3571").unwrap(), "{a:#?}");
    let sales = run.sales();
    assert_eq!(sales.len(), 1, "one sale of whole steps: {orders:#?}");
    assert_eq!(
        (sales[0].qty, sales[0].filled_qty),
        (Qty::parse("3.35").unwrap(), Qty::parse("3.35").unwrap()),
        "{sales:#?}"
    );
    assert_eq!(t.state, state::NAKED, "{t:#?}");
    assert!(
        t.note.contains("0.0071 shares on leg a could not be sold")
            && t.note.contains("less than the venue's size step of 0.01"),
        "{}",
        t.note
    );
    assert_eq!(
        pm.position(PM_ADDR, ARB_YES),
        10_007_100,
        "10 hedged + 0.0071 held"
    );
    check_polymarket(&run.outcome(), pm);
}

/// Leg B is refused, so leg A's 10 shares are sold back; the venue holds that sale 3.7 s (past
/// the host's 3 s timeout) and then books it. While its outcome is unknown no second sale of
/// the same shares is sent (before the fix the ladder went on to the next tick and sold
/// again); the sweep finds the late sale, and the trade ends UNWOUND with one sale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwind_sale_of_unknown_outcome_is_never_repeated() {
    let (pm, ks) = seeded_doubles().await;
    ks.inject(FaultRule::once("POST", KS_ORDERS, Fault::Status(400)));
    // A long unwind time cap: without the fix the ladder would go on selling.
    let section =
        engine_section(15_000).replace("unwind_time_cap_ms = 5000", "unwind_time_cap_ms = 60000");
    let engine = live_engine_with("lf-unwind-unknown", &pm, &ks, &section).await;
    // The unwind reads one book first: hold it so the sale's fault can be armed after the
    // entry order went through.
    pm.inject(FaultRule::once(
        "GET",
        "/book",
        Fault::Delay(Duration::from_millis(800)),
    ));
    let ledger = engine.ledger().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let t0 = std::time::Instant::now();
        while pm.order_posts() == 0 {
            assert!(t0.elapsed() < Duration::from_secs(20), "no entry order");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        pm.inject(FaultRule::once(
            "POST",
            "/order",
            Fault::Late(Duration::from_millis(3_700)),
        ));
        let done = wait_for(&ledger, "the trade unwound", Duration::from_secs(30), |t| {
            t.len() == 1 && (t[0].state == state::UNWOUND || t[0].state == state::SETTLED)
        })
        .await;
        let _ = tx.send(true);
        done
    };
    let (r, trades) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live");
    let orders = ledger.orders_of(&trades[0].id).unwrap();
    let sales: Vec<&OrderRow> = orders
        .iter()
        .filter(|o| o.purpose == Purpose::Unwind)
        .collect();
    assert_eq!(sales.len(), 1, "one sale intent: {orders:#?}");
    assert_eq!(sales[0].filled_qty, Qty::shares(10), "{:#?}", sales[0]);
    assert_eq!(pm.order_posts(), 2, "entry + one sale");
    assert_eq!(pm.position(PM_ADDR, ARB_YES), 0);
    let t = ledger.trade(&trades[0].id).unwrap().unwrap();
    assert!(t.unwind_loss > Usd::ZERO, "{t:#?}");
}

/// The first trade's orders name each venue's order server and go through the HTTP client;
/// the second trade's go out on the connections kept for order writes
/// (`polymix_host::venue_io::OrderLane`), where both venues process them and the answers are
/// lost (Polymarket: connection dropped; Kalshi: 502). Both are looked up, not re-sent; the
/// trade hedges, and every order is booked as the venues booked it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_lost_on_the_kept_order_connections_are_looked_up_not_resent() {
    let (pm, ks) = seeded_doubles().await;
    let engine = live_engine_with("lf-kept", &pm, &ks, &engine_section(5_000)).await;
    let ledger = engine.ledger().clone();
    let lanes = || {
        engine
            .venues()
            .iter()
            .map(|v| v.order_lane().expect("on by default"))
            .collect::<Vec<_>>()
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let script = async {
        let first = wait_for(&ledger, "the first trade", Duration::from_secs(30), |t| {
            t.len() == 1 && t[0].state == state::HEDGED
        })
        .await
        .remove(0);
        let t = std::time::Instant::now();
        while !lanes().iter().all(|l| l.has_idle()) {
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "order connections not opened"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let before: Vec<u64> = lanes().iter().map(|l| l.writes()).collect();
        pm.inject(FaultRule::once("POST", "/order", Fault::DropAfter));
        ks.inject(FaultRule::once("POST", KS_ORDERS, Fault::StatusAfter(502)));
        // The arb again (the first trade took its depth).
        pm.set_book(
            ARB_YES,
            &[("0.37", "50")],
            &[("0.40", "10"), ("0.70", "100")],
        );
        crate::live_e2e::kalshi_arb_book(&ks);
        let trades = wait_for(&ledger, "the second trade", Duration::from_secs(30), |t| {
            t.len() == 2 && t.iter().all(|x| FINAL.contains(&x.state))
        })
        .await;
        // A few more polls: nothing new may be sent.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = tx.send(true);
        (first, trades, before)
    };
    let (r, (first, trades, before)) = tokio::join!(engine.run_live(rx), script);
    r.expect("run_live ends cleanly");
    assert_eq!(
        before,
        [0, 0],
        "the first trade's orders went through the client"
    );
    let after: Vec<u64> = lanes().iter().map(|l| l.writes()).collect();
    assert_eq!(
        after,
        [1, 1],
        "the second trade's orders went on the kept connections"
    );
    assert_eq!(pm.order_posts(), 2, "each Polymarket order reached it once");
    assert_eq!(ks.place_attempts(), 2, "each Kalshi order reached it once");
    let second = trades.into_iter().find(|t| t.id != first.id).unwrap();
    assert_eq!(second.state, state::HEDGED);
    let mut orders = ledger.orders_of(&first.id).expect("orders");
    orders.extend(ledger.orders_of(&second.id).expect("orders"));
    let o = Outcome {
        trade: second,
        orders,
        ledger: ledger.clone(),
    };
    check_kalshi(&o, &ks);
    check_polymarket(&o, &pm);
}

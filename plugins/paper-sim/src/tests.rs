//! Venue behaviour tests against small hand-written scenarios.

use plugin_api::{
    CallCtx, ErrorKind, FeeModel, FillStatus, HttpResponse, OpResult, OrderRequest, OrderState,
    OrderStatus, Price, Qty, Rounding, Side, Step, TimeInForce, Usd, Venue, VenueEvent, VenueOp,
};
use serde_json::json;

use crate::PaperSim;

pub(crate) const SCENARIO: &str = r#"{"type":"header","version":1,"name":"t","start_ms":1000,"end_ms":100000,"venues":[{"key":"pm","rules":"polymarket"},{"key":"ks","rules":"kalshi"}]}
{"type":"market","venue":"pm","id":"C1","title":"A vs B","tick":"0.01","tokens":["TA","TB"],"outcomes":["A","B"],"close_ms":90000}
{"type":"market","venue":"pm","id":"C3","title":"long shot","tick":"0.01","tokens":["LY","LN"]}
{"type":"market","venue":"ks","id":"K-A","title":"A wins","close_ms":90000}
{"type":"book","ts":1000,"venue":"pm","market":"C1","bids":[["0.55","100"],["0.54","200"]],"asks":[["0.57","50"],["0.58","100"],["0.60","1000"]]}
{"type":"book","ts":1000,"venue":"pm","market":"C3","bids":[["0.13","100"]],"asks":[["0.15","100"]]}
{"type":"book","ts":1000,"venue":"ks","market":"K-A","yes":[["0.55","100"],["0.54","200"]],"no":[["0.43","50"],["0.42","100"]]}
{"type":"book","ts":5000,"venue":"pm","market":"C1","bids":[["0.50","100"]],"asks":[["0.52","80"],["0.60","1000"]]}
{"type":"fault","ts":6000,"venue":"pm","target":"TA","fault":"ghost","fail_after_ms":10000}
{"type":"status","ts":30000,"venue":"ks","trading":false}
{"type":"status","ts":40000,"venue":"ks","trading":true}
{"type":"resolve","ts":95000,"venue":"pm","market":"C1","winner":"TA"}
{"type":"resolve","ts":95000,"venue":"ks","market":"K-A","winner":"K-A:no"}
"#;

fn pm() -> PaperSim {
    PaperSim::from_scenario_text(
        &json!({"rules":"polymarket","scenario":"t","venue_key":"pm","balance":"1000"}),
        SCENARIO,
    )
    .unwrap()
}
fn ks() -> PaperSim {
    PaperSim::from_scenario_text(
        &json!({"rules":"kalshi","scenario":"t","venue_key":"ks","balance":"1000"}),
        SCENARIO,
    )
    .unwrap()
}

pub(crate) fn ctx(now_ms: i64) -> CallCtx {
    CallCtx {
        now_ms,
        random: [0; 32],
    }
}

pub(crate) fn order(
    coid: &str,
    ins: &str,
    side: Side,
    price: i64,
    shares: i64,
    tif: TimeInForce,
) -> OrderRequest {
    OrderRequest {
        client_order_id: coid.into(),
        instrument: ins.into(),
        side,
        price: Price(price),
        qty: Qty::shares(shares),
        tif,
        post_only: false,
    }
}

pub(crate) fn done(
    v: &PaperSim,
    op: VenueOp,
    now: i64,
) -> Result<OpResult, plugin_api::PluginError> {
    match v.begin(op, ctx(now))? {
        Step::Done { result } => Ok(result),
        other => panic!("expected Done, got {other:?}"),
    }
}

pub(crate) fn place(
    v: &PaperSim,
    o: OrderRequest,
    now: i64,
) -> Result<OrderStatus, plugin_api::PluginError> {
    match done(v, VenueOp::PlaceOrder { order: o }, now)? {
        OpResult::Order { order } => Ok(order),
        other => panic!("{other:?}"),
    }
}

pub(crate) fn balance(v: &PaperSim, now: i64) -> plugin_api::Balance {
    match done(v, VenueOp::Balance, now).unwrap() {
        OpResult::Balance { balance } => balance,
        other => panic!("{other:?}"),
    }
}

pub(crate) fn fills(v: &PaperSim, now: i64) -> Vec<plugin_api::Fill> {
    match done(
        v,
        VenueOp::Fills {
            instrument: None,
            since_ms: None,
        },
        now,
    )
    .unwrap()
    {
        OpResult::Fills { fills } => fills,
        other => panic!("{other:?}"),
    }
}

pub(crate) fn positions(v: &PaperSim, now: i64) -> Vec<plugin_api::Position> {
    match done(v, VenueOp::Positions, now).unwrap() {
        OpResult::Positions { positions } => positions,
        other => panic!("{other:?}"),
    }
}

fn code(e: plugin_api::PluginError) -> String {
    match e.kind {
        ErrorKind::Rejected { code } => code,
        other => format!("{other:?}"),
    }
}

#[test]
fn buy_walks_levels_and_charges_polymarket_fees_per_fill() {
    let v = pm();
    let o = place(
        &v,
        order("c1", "TA", Side::Buy, 580_000, 120, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(o.filled_qty, Qty::shares(120));
    // 50 @ 0.57 + 70 @ 0.58
    assert_eq!(o.filled_notional, Usd(28_500_000 + 40_600_000));
    let fee = FeeModel::polymarket(50_000);
    let want_fee = fee.taker_fee(Price(570_000), Qty::shares(50))
        + fee.taker_fee(Price(580_000), Qty::shares(70));
    // 50·0.05·0.57·0.43 = 0.61275; 70·0.05·0.58·0.42 = 0.8526
    assert_eq!(want_fee, Usd(612_750 + 852_600));
    assert_eq!(o.fees, want_fee);
    let f = fills(&v, 2000);
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].price, f[0].qty), (Price(570_000), Qty::shares(50)));
    assert_eq!(f[0].status, FillStatus::Matched); // confirm_ms 4000 by default on Polymarket
    let b = balance(&v, 2000);
    assert_eq!(b.available, Usd::dollars(1000) - o.filled_notional - o.fees);
    let p = positions(&v, 2000);
    assert_eq!(
        (p[0].instrument.as_str(), p[0].qty, p[0].cost),
        ("TA", Qty::shares(120), o.filled_notional)
    );
    // Liquidity taken stays taken until the next snapshot: the next buy starts at 0.58.
    let o2 = place(
        &v,
        order("c2", "TA", Side::Buy, 600_000, 40, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(o2.filled_notional, Usd(30 * 580_000 + 10 * 600_000));
    // The book reflects it.
    match done(
        &v,
        VenueOp::Book {
            instrument: "TA".into(),
        },
        2000,
    )
    .unwrap()
    {
        OpResult::Book { book } => assert_eq!(book.asks[0].qty, Qty::shares(990)),
        other => panic!("{other:?}"),
    }
    assert_eq!(fills(&v, 4000)[0].status, FillStatus::Mined);
    assert_eq!(fills(&v, 6000)[0].status, FillStatus::Confirmed);
}

#[test]
fn fok_is_all_or_nothing_and_ioc_fills_what_it_can() {
    let v = pm();
    let o = place(
        &v,
        order("f1", "TA", Side::Buy, 580_000, 200, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    assert_eq!(
        (o.state, o.filled_qty, o.reason.as_deref()),
        (OrderState::Cancelled, Qty::ZERO, Some("fok_not_filled"))
    );
    assert_eq!(balance(&v, 2000).available, Usd::dollars(1000));
    let o = place(
        &v,
        order("i1", "TA", Side::Buy, 580_000, 200, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(
        (o.state, o.filled_qty),
        (OrderState::Cancelled, Qty::shares(150))
    );
    let o = place(
        &v,
        order("f2", "TA", Side::Buy, 600_000, 200, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    assert_eq!(
        (o.state, o.filled_qty),
        (OrderState::Filled, Qty::shares(200))
    );
}

#[test]
fn gtc_rests_reserves_cash_and_fills_when_a_snapshot_trades_through() {
    let v = pm();
    let o = place(
        &v,
        order("g1", "TA", Side::Buy, 530_000, 100, TimeInForce::Gtc),
        2000,
    )
    .unwrap();
    assert_eq!(o.state, OrderState::Open);
    let b = balance(&v, 2000);
    assert_eq!(b.total, Usd::dollars(1000));
    assert_eq!(b.available, Usd::dollars(1000) - Usd::dollars(53));
    // At 5000 the asks drop to 0.52 x 80: the resting bid at 0.53 fills 80 at its own price, no fee.
    let evs = v.poll_events(ctx(5000)).unwrap();
    let ta_book = evs.iter().find_map(|e| match e {
        VenueEvent::Book { book } if book.instrument == "TA" && book.ts_ms == 5000 => {
            Some(book.clone())
        }
        _ => None,
    });
    assert_eq!(
        ta_book.unwrap().asks[0].price,
        Price(600_000),
        "the liquidity our order took is gone"
    );
    let o = match done(
        &v,
        VenueOp::GetOrder {
            order_id: Some(o.order_id),
            client_order_id: None,
            instrument: "TA".into(),
        },
        5000,
    )
    .unwrap()
    {
        OpResult::Order { order } => order,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (o.state, o.filled_qty, o.fees),
        (OrderState::PartiallyFilled, Qty::shares(80), Usd::ZERO)
    );
    assert_eq!(o.filled_notional, Usd(80 * 530_000));
    let b = balance(&v, 5000);
    assert_eq!(b.total, Usd::dollars(1000) - Usd(80 * 530_000));
    assert_eq!(b.available, b.total - Usd(20 * 530_000));
    // Cancel releases the rest.
    let c = match done(
        &v,
        VenueOp::CancelOrder {
            order_id: o.order_id.clone(),
            instrument: "TA".into(),
        },
        5000,
    )
    .unwrap()
    {
        OpResult::Order { order } => order,
        other => panic!("{other:?}"),
    };
    assert_eq!(c.state, OrderState::Cancelled);
    let b = balance(&v, 5000);
    assert_eq!(b.available, b.total);
    match done(&v, VenueOp::OpenOrders { instrument: None }, 5000).unwrap() {
        OpResult::Orders { orders } => assert!(orders.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn kalshi_derives_asks_from_the_other_sides_bids_and_charges_its_fee() {
    let v = ks();
    let book = |ins: &str| match done(
        &v,
        VenueOp::Book {
            instrument: ins.into(),
        },
        2000,
    )
    .unwrap()
    {
        OpResult::Book { book } => book,
        other => panic!("{other:?}"),
    };
    let yes = book("K-A:yes");
    assert_eq!(yes.asks[0].price, Price(570_000)); // 1 − 0.43
    assert_eq!(yes.asks[1].price, Price(580_000));
    let no = book("K-A:no");
    assert_eq!(no.bids[0].price, Price(430_000));
    assert_eq!(no.asks[0].price, Price(450_000)); // 1 − 0.55
    assert!(yes.is_well_formed() && no.is_well_formed());
    // Buying NO consumes YES bids.
    let o = place(
        &v,
        order("k1", "K-A:no", Side::Buy, 460_000, 120, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(o.filled_qty, Qty::shares(120));
    assert_eq!(o.filled_notional, Usd(100 * 450_000 + 20 * 460_000));
    // ceil_to_cent(0.07·100·0.45·0.55 = 1.7325) + ceil_to_cent(0.07·20·0.46·0.54 = 0.34776)
    assert_eq!(o.fees, Usd(1_740_000 + 350_000));
    assert_eq!(
        o.fees,
        FeeModel::KALSHI_TAKER.taker_fee(Price(450_000), Qty::shares(100))
            + FeeModel::KALSHI_TAKER.taker_fee(Price(460_000), Qty::shares(20))
    );
    assert_eq!(book("K-A:yes").bids[0].price, Price(540_000));
    assert_eq!(fills(&v, 2000)[0].status, FillStatus::Confirmed);
    // Selling back what we hold walks the NO bids (= 1 − YES asks).
    let s = place(
        &v,
        order("k2", "K-A:no", Side::Sell, 420_000, 60, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(s.filled_notional, Usd(50 * 430_000 + 10 * 420_000));
    assert_eq!(positions(&v, 2000)[0].qty, Qty::shares(60));
}

#[test]
fn rule_violations_are_rejected_with_codes() {
    let v = pm();
    let r = |o| code(place(&v, o, 2000).unwrap_err());
    assert_eq!(
        r(order("a", "TA", Side::Buy, 575_000, 10, TimeInForce::Ioc)),
        "invalid_tick"
    );
    assert_eq!(
        r(order("b", "TA", Side::Buy, 570_000, 4, TimeInForce::Ioc)),
        "below_min_size"
    );
    assert_eq!(
        r(order("c", "LY", Side::Buy, 150_000, 6, TimeInForce::Ioc)),
        "below_min_notional"
    );
    assert_eq!(
        r(order("d", "TA", Side::Sell, 550_000, 10, TimeInForce::Ioc)),
        "insufficient_position"
    );
    assert_eq!(
        r(order("e", "TA", Side::Buy, 600_000, 2000, TimeInForce::Ioc)),
        "insufficient_balance"
    );
    assert_eq!(
        r(order("f", "XX", Side::Buy, 600_000, 10, TimeInForce::Ioc)),
        "unknown_instrument"
    );
    assert_eq!(
        r(order("g", "TA", Side::Buy, 1_000_000, 10, TimeInForce::Ioc)),
        "invalid_price"
    );
    let mut po = order("h", "TA", Side::Buy, 570_000, 10, TimeInForce::Gtc);
    po.post_only = true;
    assert_eq!(r(po), "post_only_would_cross");
    // A resting order below $1 is fine: the minimum applies to marketable orders only.
    assert!(place(
        &v,
        order("i", "LY", Side::Buy, 100_000, 6, TimeInForce::Gtc),
        2000
    )
    .is_ok());
    // After close.
    assert_eq!(
        code(
            place(
                &v,
                order("j", "TA", Side::Buy, 600_000, 10, TimeInForce::Ioc),
                90_000
            )
            .unwrap_err()
        ),
        "market_closed"
    );

    let k = ks();
    let r = |o, now| code(place(&k, o, now).unwrap_err());
    assert_eq!(
        r(
            order("a", "K-A:yes", Side::Buy, 575_000, 10, TimeInForce::Ioc),
            2000
        ),
        "invalid_tick"
    );
    let mut half = order("b", "K-A:yes", Side::Buy, 570_000, 1, TimeInForce::Ioc);
    half.qty = Qty::parse("0.50").unwrap();
    assert_eq!(r(half, 2000), "below_min_size");
    // Orders keep the venues' 0.01 step; only fills and balances are finer.
    let mut fine = order("b", "K-A:yes", Side::Buy, 570_000, 1, TimeInForce::Ioc);
    fine.qty = Qty::parse("10.3571").unwrap();
    assert_eq!(r(fine, 2000), "invalid_size");
    // Kalshi has no $1 minimum: one contract at 0.57 is fine.
    assert!(place(
        &k,
        order("c", "K-A:yes", Side::Buy, 570_000, 1, TimeInForce::Ioc),
        2000
    )
    .is_ok());
    // Outage window.
    assert_eq!(
        r(
            order("d", "K-A:yes", Side::Buy, 570_000, 1, TimeInForce::Ioc),
            35_000
        ),
        "trading_halted"
    );
    assert!(place(
        &k,
        order("e", "K-A:yes", Side::Buy, 580_000, 1, TimeInForce::Ioc),
        40_000
    )
    .is_ok());
}

#[test]
fn duplicate_client_order_id_is_refused_and_the_order_found_by_it() {
    let v = pm();
    let o = place(
        &v,
        order("dup", "TA", Side::Buy, 570_000, 10, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(
        code(
            place(
                &v,
                order("dup", "TA", Side::Buy, 570_000, 10, TimeInForce::Ioc),
                2000
            )
            .unwrap_err()
        ),
        "duplicate_client_order_id"
    );
    match done(
        &v,
        VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("dup".into()),
            instrument: "TA".into(),
        },
        2000,
    )
    .unwrap()
    {
        OpResult::Order { order } => assert_eq!(order, o),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(
            done(
                &v,
                VenueOp::GetOrder {
                    order_id: Some("nope".into()),
                    client_order_id: None,
                    instrument: "TA".into()
                },
                2000
            )
            .unwrap_err()
        ),
        "order_not_found"
    );
}

#[test]
fn ghost_fill_is_matched_then_fails_and_refunds() {
    let v = pm();
    // The fault is armed at 6000 for the next order on TA.
    let o = place(
        &v,
        order("gh", "TA", Side::Buy, 600_000, 50, TimeInForce::Fok),
        7000,
    )
    .unwrap();
    assert_eq!(o.state, OrderState::Filled);
    let f = fills(&v, 7000);
    assert_eq!(f[0].status, FillStatus::Matched);
    assert_eq!(
        fills(&v, 12_000)[0].status,
        FillStatus::Matched,
        "a ghost fill never confirms"
    );
    assert!(balance(&v, 7000).total < Usd::dollars(1000));
    assert_eq!(positions(&v, 7000)[0].qty, Qty::shares(50));
    assert_eq!(v.next_event_ms(), Some(17_000));
    v.poll_events(ctx(17_000)).unwrap();
    let f = fills(&v, 17_000);
    assert_eq!(f[0].status, FillStatus::Failed);
    assert!(positions(&v, 17_000).is_empty());
    assert_eq!(balance(&v, 17_000).total, Usd::dollars(1000));
    match done(
        &v,
        VenueOp::GetOrder {
            order_id: Some(o.order_id),
            client_order_id: None,
            instrument: "TA".into(),
        },
        17_000,
    )
    .unwrap()
    {
        OpResult::Order { order } => {
            assert_eq!(
                (order.filled_qty, order.fees, order.state),
                (Qty::ZERO, Usd::ZERO, OrderState::Cancelled)
            );
            assert_eq!(order.reason.as_deref(), Some("fill_failed"));
        }
        other => panic!("{other:?}"),
    }
    // The fault was used up: the next order confirms normally.
    place(
        &v,
        order("ok", "TA", Side::Buy, 600_000, 10, TimeInForce::Fok),
        18_000,
    )
    .unwrap();
    assert_eq!(fills(&v, 30_000)[1].status, FillStatus::Confirmed);
}

#[test]
fn resolution_pays_out_into_the_balance() {
    let v = pm();
    let o = place(
        &v,
        order("r1", "TA", Side::Buy, 570_000, 50, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    let o2 = place(
        &v,
        order("r2", "TB", Side::Buy, 460_000, 20, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    let spent = o.filled_notional + o.fees + o2.filled_notional + o2.fees;
    match done(
        &v,
        VenueOp::Resolution {
            instrument: "TA".into(),
        },
        2000,
    )
    .unwrap()
    {
        OpResult::Resolution { resolution } => assert!(!resolution.resolved),
        other => panic!("{other:?}"),
    }
    let evs = v.poll_events(ctx(95_000)).unwrap();
    assert!(evs.iter().any(|e| matches!(e, VenueEvent::Resolved { resolution } if resolution.instrument == "TA" && resolution.payout == Price::ONE)));
    assert!(evs.iter().any(|e| matches!(e, VenueEvent::Resolved { resolution } if resolution.instrument == "TB" && resolution.payout == Price::ZERO)));
    assert_eq!(
        balance(&v, 95_000).total,
        Usd::dollars(1000) - spent + Usd::dollars(50)
    );
    assert!(positions(&v, 95_000).is_empty());
    match done(
        &v,
        VenueOp::Resolution {
            instrument: "TB".into(),
        },
        95_000,
    )
    .unwrap()
    {
        OpResult::Resolution { resolution } => {
            assert!(resolution.resolved && resolution.payout == Price::ZERO)
        }
        other => panic!("{other:?}"),
    }
    let k = ks();
    let o = place(
        &k,
        order("n", "K-A:no", Side::Buy, 450_000, 10, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    k.poll_events(ctx(95_000)).unwrap();
    assert_eq!(
        balance(&k, 95_000).total,
        Usd::dollars(1000) - o.filled_notional - o.fees + Usd::dollars(10)
    );
}

#[test]
fn timeout_partial_reject_and_latency_faults() {
    let settings = json!({"rules":"polymarket","scenario":"t","venue_key":"pm","balance":"1000","faults":[
        {"fault":"timeout","placed":true},
        {"target":"LN","fault":"timeout","placed":false},
        {"target":"TB","fault":"partial","fraction":"0.5"},
        {"target":"LY","fault":"reject","code":"exchange_busy"}
    ]});
    let v = PaperSim::from_scenario_text(&settings, SCENARIO).unwrap();
    // 1st order: placed, but the call times out; the host reconciles by client id.
    let e = place(
        &v,
        order("t1", "TA", Side::Buy, 570_000, 10, TimeInForce::Fok),
        2000,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    match done(
        &v,
        VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("t1".into()),
            instrument: "TA".into(),
        },
        2000,
    )
    .unwrap()
    {
        OpResult::Order { order } => assert_eq!(order.state, OrderState::Filled),
        other => panic!("{other:?}"),
    }
    // 2nd: not placed.
    assert_eq!(
        place(
            &v,
            order("t2", "LN", Side::Buy, 870_000, 10, TimeInForce::Fok),
            2000
        )
        .unwrap_err()
        .kind,
        ErrorKind::Timeout
    );
    assert!(done(
        &v,
        VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("t2".into()),
            instrument: "LN".into()
        },
        2000
    )
    .is_err());
    // Retrying with the same client id now succeeds: nothing was placed.
    assert!(place(
        &v,
        order("t2", "LN", Side::Buy, 870_000, 10, TimeInForce::Fok),
        2000
    )
    .is_ok());
    // Partial: a FOK for 40 comes back with 20.
    let o = place(
        &v,
        order("p", "TB", Side::Buy, 460_000, 40, TimeInForce::Fok),
        2000,
    )
    .unwrap();
    assert_eq!(
        (o.filled_qty, o.state),
        (Qty::shares(20), OrderState::Cancelled)
    );
    assert_eq!(
        code(
            place(
                &v,
                order("r", "LY", Side::Buy, 150_000, 10, TimeInForce::Fok),
                2000
            )
            .unwrap_err()
        ),
        "exchange_busy"
    );

    // Latency: the order executes against the book at resume time.
    let v = PaperSim::from_scenario_text(
        &json!({"rules":"polymarket","scenario":"t","venue_key":"pm","latency_ms":3500}),
        SCENARIO,
    )
    .unwrap();
    let step = v
        .begin(
            VenueOp::PlaceOrder {
                order: order("l", "TA", Side::Buy, 530_000, 50, TimeInForce::Ioc),
            },
            ctx(2000),
        )
        .unwrap();
    let Step::Wait { ms, state } = step else {
        panic!("{step:?}")
    };
    assert_eq!(ms, 3500);
    let resp = HttpResponse {
        status: 0,
        headers: vec![],
        body: vec![],
    };
    match v.resume(state, resp, ctx(5500)).unwrap() {
        Step::Done {
            result: OpResult::Order { order },
        } => {
            // At 5500 the 0.52 x 80 ask is there: the IOC at 0.53 gets 50 at 0.52.
            assert_eq!(order.filled_notional, Usd(50 * 520_000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn replay_is_deterministic() {
    let run = || {
        let v = pm();
        let mut out = Vec::new();
        let mut now = 0;
        while let Some(t) = v.next_event_ms() {
            now = t;
            out.push(format!("{:?}", v.poll_events(ctx(now)).unwrap()));
            let _ = place(
                &v,
                order(
                    &format!("o{now}"),
                    "TA",
                    Side::Buy,
                    600_000,
                    5,
                    TimeInForce::Ioc,
                ),
                now,
            );
        }
        out.push(format!("{:?}{:?}", fills(&v, now), balance(&v, now)));
        out
    };
    assert_eq!(run(), run());
}

#[test]
fn unknown_setting_is_named_and_venue_key_checked() {
    let e = PaperSim::from_scenario_text(
        &json!({"rules":"kalshi","scenario":"t","venue_key":"ks","speed":1}),
        SCENARIO,
    )
    .err()
    .unwrap();
    assert!(e.message.contains("`speed`"), "{}", e.message);
    let e = PaperSim::from_scenario_text(
        &json!({"rules":"kalshi","scenario":"t","venue_key":"pm"}),
        SCENARIO,
    )
    .err()
    .unwrap();
    assert!(e.message.contains("`rules`"), "{}", e.message);
    let e = PaperSim::from_scenario_text(
        &json!({"rules":"kalshi","scenario":"t","venue_key":"zz"}),
        SCENARIO,
    )
    .err()
    .unwrap();
    assert!(e.message.contains("`venue_key`"), "{}", e.message);
}

#[test]
fn conformance_and_bundled_scenario_load() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config");
    for (rules, key) in [("polymarket", "polymarket"), ("kalshi", "kalshi")] {
        let settings = json!({"rules":rules,"scenario":"scenarios/bundled.jsonl","venue_key":key,"_config_dir":dir});
        plugin_api::testing::check_venue::<PaperSim>(&settings, &Default::default()).unwrap();
        let v = PaperSim::create(plugin_api::VenueConfig {
            instance: "x".into(),
            settings,
            secrets: Default::default(),
        })
        .unwrap();
        // Replay the whole day; every position would settle at the end.
        let mut n = 0;
        while let Some(t) = v.next_event_ms() {
            n += v.poll_events(ctx(t)).unwrap().len();
        }
        assert!(n > 1000);
        match done(
            &v,
            VenueOp::Markets {
                filter: Default::default(),
            },
            i64::MAX,
        )
        .unwrap()
        {
            OpResult::Markets { markets, .. } => {
                assert!(markets.iter().all(|m| m.status == "settled"))
            }
            other => panic!("{other:?}"),
        }
    }
    let _ = Rounding::Down;
}

/// A market whose fee schedule is neither venue's formula at a rate (2¢ per contract, rounded
/// up to the cent) is stored as data (`fee`) and charged per fill as written.
#[test]
fn a_fee_schedule_stored_as_data_is_charged() {
    let text = r#"{"type":"header","version":1,"name":"t","start_ms":1000,"end_ms":100000,"venues":[{"key":"ks","rules":"kalshi"}]}
{"type":"market","venue":"ks","id":"K-F","fee":{"terms":[{"ppm":20000,"shape":"one","basis":"per_share"}],"rounding":{"unit_micro":10000,"mode":"up","minimum_micro":0}}}
{"type":"book","ts":1000,"venue":"ks","market":"K-F","yes":[["0.55","100"]],"no":[["0.43","50"]]}
"#;
    let v = PaperSim::from_scenario_text(
        &json!({"rules":"kalshi","scenario":"t","venue_key":"ks","balance":"1000"}),
        text,
    )
    .unwrap();
    let o = place(
        &v,
        order("f1", "K-F:no", Side::Buy, 450_000, 10, TimeInForce::Ioc),
        2000,
    )
    .unwrap();
    assert_eq!(o.filled_qty, Qty::shares(10));
    // 10 contracts × $0.02, whatever the price.
    assert_eq!(o.fees, Usd::from_cents(20));
}

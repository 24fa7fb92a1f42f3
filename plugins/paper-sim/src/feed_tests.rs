//! A paper-sim instance fed live: fills walk the fed book under the venue's rules, own fills
//! deplete it until the next snapshot, latency fills against the book after the wait, and a
//! resolution settles. Expected figures are worked out by hand in the comments.

use plugin_api::{
    Book, CallCtx, FeeModel, FeedRules, FeedSnapshot, HttpResponse, InstrumentRules, Level,
    OpResult, OrderRequest, OrderState, OrderStatus, Price, Qty, Resolution, Side, Step,
    TimeInForce, Usd, Venue, VenueOp,
};
use serde_json::json;

use crate::PaperSim;

const NO: &str = "KXT-26NOV24-A:no";

fn ctx(now_ms: i64) -> CallCtx {
    CallCtx {
        now_ms,
        random: [0; 32],
    }
}

fn p(s: &str) -> Price {
    Price::parse(s).unwrap()
}

fn lv(price: &str, shares: i64) -> Level {
    Level {
        price: p(price),
        qty: Qty::shares(shares),
    }
}

fn kalshi(latency_ms: u64) -> PaperSim {
    PaperSim::fed(
        &json!({"rules":"kalshi","_feed":"ks-data","balance":"1000","latency_ms":latency_ms}),
    )
    .unwrap()
}

fn kalshi_rules() -> InstrumentRules {
    InstrumentRules {
        tick: p("0.01"),
        min_qty: Qty::shares(1),
        qty_step: Qty::shares(1),
        min_notional: Usd::ZERO,
        taker_fee: FeeModel::KALSHI_TAKER,
        neg_risk: None,
    }
}

fn ingest(v: &PaperSim, snap: FeedSnapshot, now: i64) -> plugin_api::IngestReport {
    match v
        .begin(VenueOp::Ingest { snapshot: snap }, ctx(now))
        .unwrap()
    {
        Step::Done {
            result: OpResult::Ingested { report },
        } => report,
        other => panic!("{other:?}"),
    }
}

fn asks(levels: Vec<Level>) -> FeedSnapshot {
    FeedSnapshot {
        source: "ks-data".into(),
        books: vec![Book {
            instrument: NO.into(),
            bids: vec![],
            asks: levels,
            ts_ms: 0,
        }],
        ..Default::default()
    }
}

fn buy(coid: &str, price: &str, shares: i64) -> VenueOp {
    VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: coid.into(),
            instrument: NO.into(),
            side: Side::Buy,
            price: p(price),
            qty: Qty::shares(shares),
            tif: TimeInForce::Ioc,
            post_only: false,
        },
    }
}

fn order_of(step: Step) -> OrderStatus {
    match step {
        Step::Done {
            result: OpResult::Order { order },
        } => order,
        other => panic!("{other:?}"),
    }
}

fn primed(latency_ms: u64) -> PaperSim {
    let v = kalshi(latency_ms);
    let mut snap = asks(vec![lv("0.45", 10), lv("0.50", 20)]);
    snap.rules = vec![FeedRules {
        instrument: NO.into(),
        rules: kalshi_rules(),
    }];
    let r = ingest(&v, snap, 1_000);
    assert_eq!(r.books, 1);
    v
}

#[test]
fn fills_walk_the_fed_book_with_a_fee_per_fill_and_deplete_it() {
    let v = primed(0);
    assert!(v
        .info()
        .capabilities
        .iter()
        .any(|c| c == plugin_api::feed::INGEST_CAPABILITY));
    // The feed's rules are the instrument's rules.
    match v
        .begin(
            VenueOp::Rules {
                instrument: NO.into(),
            },
            ctx(1_000),
        )
        .unwrap()
    {
        Step::Done {
            result: OpResult::Rules { rules },
        } => assert_eq!(rules, kalshi_rules()),
        other => panic!("{other:?}"),
    }
    // 15 at up to 0.50: 10 @ 0.45 + 5 @ 0.50 = $7.00; Kalshi fee per fill rounded up to the
    // cent: 0.07·10·0.45·0.55 = 0.17325 → 0.18; 0.07·5·0.50·0.50 = 0.0875 → 0.09.
    let o = order_of(v.begin(buy("a", "0.50", 15), ctx(1_100)).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(15));
    assert_eq!(o.filled_notional, Usd::from_cents(700));
    assert_eq!(o.fees, Usd::from_cents(27));
    // Own fills took 10 @ 0.45 and 5 @ 0.50: 15 left at 0.50, so 20 more get only 15 (IOC).
    let o = order_of(v.begin(buy("b", "0.50", 20), ctx(1_200)).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(15));
    assert_eq!(o.state, OrderState::Cancelled);
    // A live book still shows what a paper fill took: an unchanged snapshot stays depleted
    // (no trading the same standing quote again on every poll)...
    ingest(&v, asks(vec![lv("0.45", 10), lv("0.50", 20)]), 1_300);
    let o = order_of(v.begin(buy("c", "0.50", 10), ctx(1_350)).unwrap());
    assert_eq!(o.filled_qty, Qty::ZERO, "{o:?}");
    // ...until the venue's book changes at that level: then it is the new truth.
    ingest(&v, asks(vec![lv("0.45", 12)]), 1_400);
    let o = order_of(v.begin(buy("d", "0.45", 12), ctx(1_450)).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(12));
    // A book for an instrument whose rules never came is ignored and named.
    let mut other = asks(vec![lv("0.10", 1)]);
    other.books[0].instrument = "UNKNOWN:yes".into();
    assert_eq!(
        ingest(&v, other, 1_500).unknown,
        vec!["UNKNOWN:yes".to_string()]
    );
}

#[test]
fn latency_fills_against_the_book_after_the_wait() {
    let v = primed(500);
    // Decision at t=1000 against 0.45; the ask moves to 0.47 within the 500 ms latency.
    let step = v.begin(buy("a", "0.45", 10), ctx(1_000)).unwrap();
    let Step::Wait { ms, state } = step else {
        panic!("{step:?}")
    };
    assert_eq!(ms, 500);
    ingest(&v, asks(vec![lv("0.47", 10)]), 1_200);
    let o = order_of(
        v.resume(
            state,
            HttpResponse {
                status: 0,
                headers: vec![],
                body: vec![],
            },
            ctx(1_500),
        )
        .unwrap(),
    );
    assert_eq!(
        o.filled_qty,
        Qty::ZERO,
        "not filled at the pre-latency price: {o:?}"
    );
    assert_eq!(o.state, OrderState::Cancelled);
}

#[test]
fn the_feeds_resolution_settles_positions_and_status_halts() {
    let v = primed(0);
    let o = order_of(v.begin(buy("a", "0.45", 10), ctx(1_100)).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(10));
    // $1000 − 4.50 − 0.18 fee.
    let cash = |v: &PaperSim| match v.begin(VenueOp::Balance, ctx(2_000)).unwrap() {
        Step::Done {
            result: OpResult::Balance { balance },
        } => balance.total,
        other => panic!("{other:?}"),
    };
    assert_eq!(cash(&v), Usd::from_cents(100_000 - 450 - 18));
    let halt = FeedSnapshot {
        trading: Some(false),
        ..Default::default()
    };
    ingest(&v, halt, 1_500);
    let e = v.begin(buy("b", "0.50", 1), ctx(1_600)).unwrap_err();
    assert!(e.message.contains("not trading"), "{}", e.message);
    let r = ingest(
        &v,
        FeedSnapshot {
            resolutions: vec![Resolution {
                instrument: NO.into(),
                resolved: true,
                payout: Price::ONE,
            }],
            ..Default::default()
        },
        1_700,
    );
    assert_eq!(r.resolved, vec![NO.to_string()]);
    // 10 shares pay $10.
    assert_eq!(cash(&v), Usd::from_cents(100_000 - 450 - 18 + 1_000));
    match v
        .begin(
            VenueOp::Resolution {
                instrument: NO.into(),
            },
            ctx(1_800),
        )
        .unwrap()
    {
        Step::Done {
            result: OpResult::Resolution { resolution },
        } => assert!(resolution.resolved && resolution.payout == Price::ONE),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_replaying_instance_takes_no_feed() {
    let v = PaperSim::from_scenario_text(
        &json!({"rules":"polymarket","scenario":"t","venue_key":"pm"}),
        "{\"type\":\"header\",\"version\":1,\"name\":\"t\",\"start_ms\":0,\"end_ms\":1,\"venues\":[{\"key\":\"pm\",\"rules\":\"polymarket\"}]}\n",
    )
    .unwrap();
    let e = v
        .begin(
            VenueOp::Ingest {
                snapshot: FeedSnapshot::default(),
            },
            ctx(0),
        )
        .unwrap_err();
    assert!(e.message.contains("replays a scenario"), "{}", e.message);
}

#[test]
fn a_journaled_account_continues_after_a_restart() {
    let dir = std::env::temp_dir().join(format!(
        "paper-sim-journal-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("ks.journal");
    let settings = json!({"rules":"kalshi","_feed":"ks-data","balance":"1000","latency_ms":0,
        "journal": path.display().to_string()});
    let state = |v: &PaperSim| {
        let get = |op| match v.begin(op, ctx(5_000)).unwrap() {
            Step::Done { result } => result,
            other => panic!("{other:?}"),
        };
        (
            get(VenueOp::Balance),
            get(VenueOp::Positions),
            get(VenueOp::GetOrder {
                order_id: None,
                client_order_id: Some("a".into()),
                instrument: NO.into(),
            }),
            get(VenueOp::Fills {
                instrument: None,
                since_ms: None,
            }),
        )
    };
    let before = {
        let v = PaperSim::fed(&settings).unwrap();
        let mut snap = asks(vec![lv("0.45", 10), lv("0.50", 20)]);
        snap.rules = vec![FeedRules {
            instrument: NO.into(),
            rules: kalshi_rules(),
        }];
        ingest(&v, snap, 1_000);
        let o = order_of(v.begin(buy("a", "0.50", 15), ctx(1_100)).unwrap());
        assert_eq!(o.filled_qty, Qty::shares(15));
        state(&v)
        // dropped: the process "dies" here
    };
    // A torn last line (killed mid-write) is dropped, not an error.
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"now_ms\":1200,\"op\":{\"op\":\"pla")
            .unwrap();
    }
    let v = PaperSim::fed(&settings).unwrap();
    assert_eq!(
        state(&v),
        before,
        "cash, positions, the order and its fills continue"
    );
    // The depleted book and the order ids continue too: a second order gets a new id, and
    // the client id of the first is still taken.
    let e = v.begin(buy("a", "0.50", 1), ctx(5_100)).unwrap_err();
    assert!(e.message.contains("already used"), "{}", e.message);
    let o = order_of(v.begin(buy("b", "0.50", 20), ctx(5_200)).unwrap());
    assert_eq!(
        o.filled_qty,
        Qty::shares(15),
        "what the first order took stays taken"
    );
    drop(v);
    let v = PaperSim::fed(&settings).unwrap();
    match v
        .begin(VenueOp::OpenOrders { instrument: None }, ctx(6_000))
        .unwrap()
    {
        Step::Done {
            result: OpResult::Orders { orders },
        } => assert!(orders.is_empty()),
        other => panic!("{other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A journal written when `Qty` counted hundredths of a share (lines without `v`) continues
/// with the same shares: its sizes are converted to micro-shares when read.
#[test]
fn a_journal_in_hundredths_of_a_share_is_read_in_micro_shares() {
    let dir = std::env::temp_dir().join(format!(
        "paper-sim-journal-v1-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("ks.journal");
    let settings = json!({"rules":"kalshi","_feed":"ks-data","balance":"1000","latency_ms":0,
        "journal": path.display().to_string()});
    let positions = |v: &PaperSim| match v.begin(VenueOp::Positions, ctx(5_000)).unwrap() {
        Step::Done { result } => result,
        other => panic!("{other:?}"),
    };
    let balance = |v: &PaperSim| match v.begin(VenueOp::Balance, ctx(5_000)).unwrap() {
        Step::Done { result } => result,
        other => panic!("{other:?}"),
    };
    // The old build's file: a snapshot with 10 and 20.50 shares (1000 and 2050 hundredths)
    // and rules of 1 share (100), then a BUY of 12 (1200), on lines without `v`.
    let mut snapshot = asks(vec![lv("0.45", 10), lv("0.50", 20)]);
    snapshot.rules = vec![FeedRules {
        instrument: NO.into(),
        rules: kalshi_rules(),
    }];
    let mut snap = json!({"now_ms": 1000, "op": VenueOp::Ingest { snapshot }});
    let book = &mut snap["op"]["snapshot"]["books"][0]["asks"];
    book[0]["qty"] = json!(1000);
    book[1]["qty"] = json!(2050);
    let rules = &mut snap["op"]["snapshot"]["rules"][0]["rules"];
    rules["min_qty"] = json!(100);
    rules["qty_step"] = json!(100);
    let mut place = json!({"now_ms": 1100, "op": buy("a", "0.50", 1)});
    place["op"]["order"]["qty"] = json!(1200);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, format!("{snap}\n{place}\n")).unwrap();

    let v = PaperSim::fed(&settings).unwrap();
    let o = order_of(
        v.begin(
            VenueOp::GetOrder {
                order_id: None,
                client_order_id: Some("a".into()),
                instrument: NO.into(),
            },
            ctx(5_000),
        )
        .unwrap(),
    );
    assert_eq!(o.qty, Qty::shares(12));
    assert_eq!(o.filled_qty, Qty::shares(12));
    // 10 @ 0.45 + 2 @ 0.50 = 5.50.
    assert_eq!(o.filled_notional, Usd::parse("5.50").unwrap());
    // What is left of the book: 18.50 shares at 0.50 (20.50 − 2); whole contracts fill.
    let o = order_of(v.begin(buy("b", "0.50", 30), ctx(5_100)).unwrap());
    assert_eq!(o.filled_qty, Qty::parse("18.50").unwrap());
    let (pos, bal) = (positions(&v), balance(&v));
    drop(v);
    // New lines carry `v: 2`; the mixed file reads back the same.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().nth(2).unwrap().starts_with("{\"v\":2,"),
        "{text}"
    );
    let v = PaperSim::fed(&settings).unwrap();
    assert_eq!((positions(&v), balance(&v)), (pos, bal));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_process_cannot_write_a_journal_in_use() {
    let dir = std::env::temp_dir().join(format!(
        "paper-sim-journal-lock-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = json!({"rules":"kalshi","_feed":"d","latency_ms":0,
        "journal": dir.join("j").display().to_string()});
    let a = PaperSim::fed(&settings).unwrap();
    let status = |trading| FeedSnapshot {
        trading: Some(trading),
        ..Default::default()
    };
    ingest(&a, status(false), 1_000);
    // Another instance on the same file reads it (it sees the halt) but may not write it.
    let b = PaperSim::fed(&settings).unwrap();
    let e = b
        .begin(
            VenueOp::Ingest {
                snapshot: status(true),
            },
            ctx(1_100),
        )
        .unwrap_err();
    assert!(e.message.contains("in use"), "{}", e.message);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_repeated_poll_changes_nothing_and_is_not_journaled() {
    let dir = std::env::temp_dir().join(format!(
        "paper-sim-journal-repeat-{}-{}",
        std::process::id(),
        line!()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("j");
    let v = PaperSim::fed(&json!({"rules":"kalshi","_feed":"d","latency_ms":0,
        "journal": path.display().to_string()}))
    .unwrap();
    let mut snap = asks(vec![lv("0.45", 10)]);
    snap.rules = vec![FeedRules {
        instrument: NO.into(),
        rules: kalshi_rules(),
    }];
    assert_eq!(ingest(&v, snap.clone(), 1_000).books, 1);
    let len = std::fs::metadata(&path).unwrap().len();
    // The same poll again (rules, book, nothing resolved): nothing applied, nothing written.
    snap.resolutions = vec![Resolution {
        instrument: NO.into(),
        resolved: false,
        payout: Price::ZERO,
    }];
    assert_eq!(ingest(&v, snap, 2_000).books, 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    // A changed book is.
    assert_eq!(ingest(&v, asks(vec![lv("0.46", 10)]), 3_000).books, 1);
    assert!(std::fs::metadata(&path).unwrap().len() > len);
    let _ = std::fs::remove_dir_all(&dir);
}

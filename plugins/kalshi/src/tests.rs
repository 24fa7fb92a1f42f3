//! Venue-level tests: whole operations driven through `begin`/`resume` with canned responses.

use super::*;
use plugin_api::{
    ErrorKind, OrderRequest, OrderState, Price, Qty, Secret, Secrets, Side, TimeInForce,
};
use serde_json::json;

fn ctx() -> CallCtx {
    CallCtx {
        now_ms: 1_764_000_000_000,
        random: [3; 32],
    }
}

fn secrets() -> Secrets {
    let mut s = Secrets::new();
    s.insert(
        "api_key_id",
        Secret::new("a952bcbe-ec3b-4b5b-b8f9-11dae589608c"),
    );
    s.insert("private_key_pem", Secret::new(auth::tests::test_pem()));
    s
}

fn venue() -> KalshiVenue {
    KalshiVenue::create(VenueConfig {
        instance: "kalshi".into(),
        settings: json!({"base_url": "http://127.0.0.1:9/trade-api/v2"}),
        secrets: secrets(),
    })
    .unwrap()
}

fn resp(status: u16, body: Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![],
        body: if body.is_null() {
            vec![]
        } else {
            serde_json::to_vec(&body).unwrap()
        },
    }
}

fn http(step: Step) -> (HttpRequest, String) {
    match step {
        Step::Http { request, state } => (request, state),
        other => panic!("expected an HTTP step, got {other:?}"),
    }
}

fn result(step: Step) -> OpResult {
    match step {
        Step::Done { result } => result,
        other => panic!("expected Done, got {other:?}"),
    }
}

fn order(ins: &str, side: Side) -> OrderRequest {
    OrderRequest {
        client_order_id: "pmx-t9-a0".into(),
        instrument: ins.into(),
        side,
        price: Price(430_000),
        qty: Qty::shares(10),
        tif: TimeInForce::Fok,
        post_only: false,
    }
}

fn hdr<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[test]
fn conformance() {
    let settings = json!({"base_url": "http://127.0.0.1:9/trade-api/v2"});
    plugin_api::testing::check_venue::<KalshiVenue>(&settings, &secrets()).unwrap();
    plugin_api::testing::check_venue::<KalshiVenue>(
        &json!({"environment": "demo"}),
        &Secrets::new(),
    )
    .unwrap();
}

#[test]
fn create_validates_settings_and_secrets() {
    let mk = |settings: Value, secrets: Secrets| {
        KalshiVenue::create(VenueConfig {
            instance: "k".into(),
            settings,
            secrets,
        })
    };
    let e = mk(
        json!({"base_url": "http://x/trade-api/v2", "api_key": "x"}),
        secrets(),
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("api_key"), "{e}");
    let mut bad = Secrets::new();
    bad.insert("api_key_id", Secret::new("id"));
    bad.insert(
        "private_key_pem",
        Secret::new("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"),
    );
    let e = mk(json!({}), bad).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(!e.message.contains("AAAA"));
    let mut half = Secrets::new();
    half.insert("api_key_id", Secret::new("id"));
    assert_eq!(mk(json!({}), half).unwrap_err().kind, ErrorKind::Auth);
    // Without secrets: public data works, portfolio calls say what is missing.
    let v = mk(json!({}), Secrets::new()).unwrap();
    assert!(v
        .begin(
            VenueOp::Book {
                instrument: "T:yes".into()
            },
            ctx()
        )
        .is_ok());
    let e = v.begin(VenueOp::Balance, ctx()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(e.message.contains("private_key_pem"));
    assert!(!format!("{v:?}").contains("BEGIN"));
    assert!(!format!("{:?}", venue()).contains("BEGIN"));
}

#[test]
fn signed_requests_carry_the_three_headers_over_the_full_path() {
    let v = venue();
    let (r, _) = http(
        v.begin(
            VenueOp::OpenOrders {
                instrument: Some("T:yes".into()),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/trade-api/v2/portfolio/orders?ticker=T&status=resting&limit=200"
    );
    assert_eq!(
        hdr(&r, "KALSHI-ACCESS-KEY"),
        Some("a952bcbe-ec3b-4b5b-b8f9-11dae589608c")
    );
    assert_eq!(hdr(&r, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000000000"));
    // Signed over the full path without the query, at the call's timestamp.
    assert!(auth::tests::verify(
        "1764000000000",
        "GET",
        "/trade-api/v2/portfolio/orders",
        hdr(&r, "KALSHI-ACCESS-SIGNATURE").unwrap()
    ));
    assert_eq!(r.rate_class, "read");
    // Public market data is not signed.
    let (r, _) = http(
        v.begin(
            VenueOp::Book {
                instrument: "T:no".into(),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(r.url, "http://127.0.0.1:9/trade-api/v2/markets/T/orderbook");
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_none());
}

#[test]
fn place_order_request_and_immediate_result() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:no", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        (
            "POST",
            "http://127.0.0.1:9/trade-api/v2/portfolio/events/orders"
        )
    );
    assert!(!r.idempotent);
    assert_eq!(r.rate_class, "write");
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_some());
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["side"], "ask");
    assert_eq!(body["price"], "0.5700");
    // Nothing filled (FOK killed): done at once, no extra read.
    let created = json!({"order_id": "o1", "client_order_id": "pmx-t9-a0", "fill_count": "0.00", "remaining_count": "0.00", "ts_ms": 1});
    match result(v.resume(st, resp(201, created), ctx()).unwrap()) {
        OpResult::Order { order } => {
            assert_eq!(order.state, OrderState::Cancelled);
            assert_eq!(order.instrument, "T:no");
            assert_eq!(order.client_order_id.as_deref(), Some("pmx-t9-a0"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_fill_is_read_back_for_exact_fees() {
    let v = venue();
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let created = json!({"order_id": "o1", "client_order_id": "pmx-t9-a0", "fill_count": "10.00", "remaining_count": "0.00",
        "average_fill_price": "0.4200", "average_fee_paid": "0.0171"});
    let (r, st) = http(v.resume(st, resp(201, created), ctx()).unwrap());
    assert_eq!(r.url, "http://127.0.0.1:9/trade-api/v2/portfolio/orders/o1");
    let full = json!({"order": {"order_id": "o1", "client_order_id": "pmx-t9-a0", "ticker": "T", "book_side": "bid", "status": "executed",
        "yes_price_dollars": "0.4300", "fill_count_fp": "10.00", "remaining_count_fp": "0.00", "initial_count_fp": "10.00",
        "taker_fill_cost_dollars": "4.2000", "taker_fees_dollars": "0.1800"}});
    match result(v.resume(st.clone(), resp(200, full), ctx()).unwrap()) {
        OpResult::Order { order } => {
            assert_eq!(order.state, OrderState::Filled);
            assert_eq!(order.fees, plugin_api::Usd(180_000));
            assert_eq!(order.filled_notional, plugin_api::Usd(4_200_000));
        }
        other => panic!("{other:?}"),
    }
    // If the read-back fails, the create response still gives a result, never an error.
    match result(v.resume(st, resp(503, Value::Null), ctx()).unwrap()) {
        OpResult::Order { order } => {
            assert_eq!(order.state, OrderState::Filled);
            assert_eq!(order.filled_notional, plugin_api::Usd(4_200_000));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn duplicate_409_becomes_a_lookup_by_client_order_id() {
    let v = venue();
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let dup = json!({"error": {"code": "order_already_exists", "message": "client_order_id already used"}});
    let (r, st) = http(v.resume(st, resp(409, dup.clone()), ctx()).unwrap());
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        (
            "GET",
            "http://127.0.0.1:9/trade-api/v2/portfolio/orders?ticker=T&limit=200"
        )
    );
    assert!(r.idempotent);
    // First page: someone else's order, and a cursor.
    let page1 = json!({"orders": [{"order_id": "zz", "client_order_id": "other", "ticker": "T", "book_side": "bid", "yes_price_dollars": "0.1000", "status": "resting"}], "cursor": "c/2+="});
    let (r, st) = http(v.resume(st, resp(200, page1), ctx()).unwrap());
    assert!(r.url.ends_with("&cursor=c%2F2%2B%3D"), "{}", r.url);
    let page2 = json!({"orders": [{"order_id": "o7", "client_order_id": "pmx-t9-a0", "ticker": "T", "book_side": "bid",
        "yes_price_dollars": "0.4300", "status": "resting", "fill_count_fp": "0.00", "remaining_count_fp": "10.00", "initial_count_fp": "10.00"}], "cursor": ""});
    match result(v.resume(st, resp(200, page2), ctx()).unwrap()) {
        OpResult::Order { order } => {
            assert_eq!(order.order_id, "o7");
            assert_eq!(order.state, OrderState::Open);
        }
        other => panic!("{other:?}"),
    }
    // A 409 whose order cannot be found (yet) is outcome unknown: it may be our own order,
    // listed late.
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let (_, st) = http(v.resume(st, resp(409, dup), ctx()).unwrap());
    let e = v
        .resume(st, resp(200, json!({"orders": []})), ctx())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("order_already_exists"), "{}", e.message);
    // A known business 409 is not looked up.
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let e = v
        .resume(
            st,
            resp(409, json!({"error": {"code": "market_closed"}})),
            ctx(),
        )
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "market_closed".into()
        }
    );
}

#[test]
fn server_error_on_submit_is_reconciled_before_reporting() {
    let v = venue();
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let (r, st) = http(v.resume(st, resp(502, Value::Null), ctx()).unwrap());
    assert!(r.url.contains("/portfolio/orders?ticker=T"));
    // Not found (yet) → outcome unknown: the order may still appear.
    let e = v
        .resume(st.clone(), resp(200, json!({"orders": []})), ctx())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    // Lookup itself failing → outcome unknown (Timeout kind), never a plain failure.
    let e = v
        .resume(st, resp(429, json!({"error": "too many requests"})), ctx())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("client_order_id"));
}

#[test]
fn rejections_and_rate_limits() {
    let v = venue();
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let e = v
        .resume(st, resp(429, json!({"error": "too many requests"})), ctx())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let e = v
        .resume(
            st,
            resp(
                400,
                json!({"error": {"code": "insufficient_balance", "message": "no money"}}),
            ),
            ctx(),
        )
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "insufficient_balance".into()
        }
    );
    let (_, st) = http(v.begin(VenueOp::Balance, ctx()).unwrap());
    let e = v.resume(st, resp(401, json!({"error": {"code": "authentication_error", "details": "INCORRECT_API_KEY_SIGNATURE"}})), ctx()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Auth);
    assert!(e.message.contains("INCORRECT_API_KEY_SIGNATURE") && e.message.contains("hint"));
    let (_, st) = http(v.begin(VenueOp::Balance, ctx()).unwrap());
    let e = v
        .resume(
            st,
            resp(
                200,
                json!({"error": {"code": "deprecated_v1_order_endpoint"}}),
            ),
            ctx(),
        )
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "deprecated_v1_order_endpoint".into()
        }
    );
    let (_, st) = http(v.begin(VenueOp::Balance, ctx()).unwrap());
    let e = v
        .resume(
            st,
            HttpResponse {
                status: 200,
                headers: vec![],
                body: b"<html>".to_vec(),
            },
            ctx(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parse);
    let e = v
        .resume("{\"k\":\"nope\"}".into(), resp(200, json!({})), ctx())
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Internal);
}

#[test]
fn cancel_then_read_back() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::CancelOrder {
                order_id: "o1".into(),
                instrument: "T:yes".into(),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        (
            "DELETE",
            "http://127.0.0.1:9/trade-api/v2/portfolio/events/orders/o1?market_ticker=T"
        )
    );
    assert_eq!(r.rate_class, "write");
    let (r, st) = http(
        v.resume(
            st,
            resp(200, json!({"order_id": "o1", "reduced_by": "10.00"})),
            ctx(),
        )
        .unwrap(),
    );
    assert!(r.url.ends_with("/portfolio/orders/o1"));
    let o = json!({"order": {"order_id": "o1", "ticker": "T", "book_side": "bid", "status": "canceled", "yes_price_dollars": "0.4000",
        "fill_count_fp": "0.00", "remaining_count_fp": "0.00", "initial_count_fp": "10.00"}});
    match result(v.resume(st, resp(200, o), ctx()).unwrap()) {
        OpResult::Order { order } => assert_eq!(order.state, OrderState::Cancelled),
        other => panic!("{other:?}"),
    }
    assert!(v
        .begin(
            VenueOp::CancelOrder {
                order_id: "../x".into(),
                instrument: "T:yes".into()
            },
            ctx()
        )
        .is_err());
}

#[test]
fn get_order_by_client_id_not_found() {
    let v = venue();
    let op = VenueOp::GetOrder {
        order_id: None,
        client_order_id: Some("c1".into()),
        instrument: "T:yes".into(),
    };
    let (_, st) = http(v.begin(op, ctx()).unwrap());
    let e = v
        .resume(st, resp(200, json!({"orders": [], "cursor": ""})), ctx())
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "not_found".into()
        }
    );
    let op = VenueOp::GetOrder {
        order_id: None,
        client_order_id: None,
        instrument: "T:yes".into(),
    };
    assert_eq!(
        v.begin(op, ctx()).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn lists_follow_cursors_and_markets_exclude_parlays() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::Fills {
                instrument: None,
                since_ms: Some(1_700_000_000_999),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert!(r.url.contains("min_ts=1700000000&"), "{}", r.url);
    let f = |id: &str| json!({"fill_id": id, "order_id": "o", "ticker": "T", "book_side": "ask", "count_fp": "1.00", "yes_price_dollars": "0.6000", "fee_cost": "0.0200", "ts": 1_700_000_001});
    let (_, st) = http(
        v.resume(
            st,
            resp(200, json!({"fills": [f("a")], "cursor": "n"})),
            ctx(),
        )
        .unwrap(),
    );
    match result(
        v.resume(st, resp(200, json!({"fills": [f("b")]})), ctx())
            .unwrap(),
    ) {
        OpResult::Fills { fills } => {
            assert_eq!(fills.len(), 2);
            assert_eq!(
                (fills[1].instrument.as_str(), fills[1].side, fills[1].price),
                ("T:no", Side::Buy, Price(400_000))
            );
        }
        other => panic!("{other:?}"),
    }
    let filter = plugin_api::MarketFilter {
        series: Some("KXNBAGAME".into()),
        status: Some("open".into()),
        cursor: Some("abc".into()),
        limit: Some(50),
    };
    let (r, st) = http(v.begin(VenueOp::Markets { filter }, ctx()).unwrap());
    assert_eq!(r.url, "http://127.0.0.1:9/trade-api/v2/events?series_ticker=KXNBAGAME&with_nested_markets=true&status=open&limit=50&cursor=abc");
    let page = json!({"events": [{"event_ticker": "KXNBAGAME-26NOV25LALBOS", "markets": [
        {"ticker": "KXNBAGAME-26NOV25LALBOS-LAL", "event_ticker": "KXNBAGAME-26NOV25LALBOS",
         "title": "Lakers at Celtics", "yes_sub_title": "Lakers", "status": "active"},
        {"ticker": "KXMVESPORTS-X", "event_ticker": "KXNBAGAME-26NOV25LALBOS", "status": "active"}]}],
        "cursor": "next"});
    let OpResult::Markets {
        markets,
        next_cursor,
    } = result(v.resume(st, resp(200, page), ctx()).unwrap())
    else {
        panic!("expected markets")
    };
    assert_eq!(markets.len(), 2, "the parlay is dropped: {markets:?}");
    assert_eq!(markets[0].market, "KXNBAGAME-26NOV25LALBOS");
    assert_eq!(markets[0].title, "Lakers at Celtics — YES: Lakers");
    assert_eq!(next_cursor.as_deref(), Some("next"));
    let (r, _) = http(
        v.begin(
            VenueOp::Markets {
                filter: plugin_api::MarketFilter {
                    status: Some("open".into()),
                    ..Default::default()
                },
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/trade-api/v2/markets?status=open&mve_filter=exclude&limit=200"
    );
    let filter = plugin_api::MarketFilter {
        status: Some("active".into()),
        ..Default::default()
    };
    assert_eq!(
        v.begin(VenueOp::Markets { filter }, ctx())
            .unwrap_err()
            .kind,
        ErrorKind::InvalidInput
    );
}

#[test]
fn never_panics_on_garbage_responses() {
    let v = venue();
    let ops = vec![
        VenueOp::Balance,
        VenueOp::Positions,
        VenueOp::Book {
            instrument: "T:yes".into(),
        },
        VenueOp::Rules {
            instrument: "T:yes".into(),
        },
        VenueOp::Resolution {
            instrument: "T:no".into(),
        },
        VenueOp::OpenOrders { instrument: None },
        VenueOp::Fills {
            instrument: Some("T:yes".into()),
            since_ms: None,
        },
        VenueOp::Markets {
            filter: Default::default(),
        },
        VenueOp::PlaceOrder {
            order: order("T:yes", Side::Sell),
        },
        VenueOp::GetOrder {
            order_id: Some("o".into()),
            client_order_id: None,
            instrument: "T:yes".into(),
        },
    ];
    let bodies = [
        json!(null),
        json!([]),
        json!({"orders": [1, 2]}),
        json!({"fills": [{"ts": "x"}]}),
        json!({"market": []}),
        json!({"orderbook_fp": {"yes_dollars": [[null, null]]}}),
        json!({"balance": "x"}),
        json!({"market_positions": [{"position_fp": 5}]}),
    ];
    for op in ops {
        for b in &bodies {
            for status in [200u16, 201, 404, 409, 500] {
                let (_, st) = http(v.begin(op.clone(), ctx()).unwrap());
                let _ = v.resume(st, resp(status, b.clone()), ctx());
            }
        }
    }
}

#[test]
fn prepared_signature_is_used_once_by_the_next_order() {
    let v = venue();
    let t0 = ctx();
    assert_eq!(
        result(v.begin(VenueOp::Prepare, t0).unwrap()),
        OpResult::Prepared
    );
    // 300 ms later an order goes out with the signature made at t0 (same bytes as signing the
    // place path at t0 with t0's randomness), not a new one.
    let later = CallCtx {
        now_ms: t0.now_ms + 300,
        random: [9; 32],
    };
    let place = || VenueOp::PlaceOrder {
        order: order("T:yes", Side::Buy),
    };
    let (r, _) = http(v.begin(place(), later).unwrap());
    let path = "/trade-api/v2/portfolio/events/orders";
    let sig = hdr(&r, "KALSHI-ACCESS-SIGNATURE").unwrap().to_string();
    assert_eq!(hdr(&r, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000000000"));
    assert!(auth::tests::verify("1764000000000", "POST", path, &sig));
    // The next order signs afresh at its own time.
    let (r2, _) = http(v.begin(place(), later).unwrap());
    assert_eq!(hdr(&r2, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000000300"));
    let fresh = hdr(&r2, "KALSHI-ACCESS-SIGNATURE").unwrap();
    assert_ne!(fresh, sig);
    assert!(auth::tests::verify("1764000000300", "POST", path, fresh));
    // A prepared signature older than presign_max_age_ms (1 s) is not used.
    v.begin(VenueOp::Prepare, t0).unwrap();
    let stale = CallCtx {
        now_ms: t0.now_ms + 1_001,
        random: [9; 32],
    };
    let (r3, _) = http(v.begin(place(), stale).unwrap());
    assert_eq!(hdr(&r3, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000001001"));
    // Other writes never use it.
    v.begin(VenueOp::Prepare, later).unwrap();
    let (c, _) = http(
        v.begin(
            VenueOp::CancelOrder {
                order_id: "abc".into(),
                instrument: "T:yes".into(),
            },
            stale,
        )
        .unwrap(),
    );
    assert_eq!(hdr(&c, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000001001"));
}

#[test]
fn a_rehearsal_is_the_order_with_a_placeholder_signature_and_leaves_the_prepared_one() {
    let v = venue();
    let t0 = ctx();
    let rehearse = |instrument: &str| VenueOp::Rehearse {
        order: order(instrument, Side::Buy),
    };
    let path = "/trade-api/v2/portfolio/events/orders";
    // The place request as a real order's, but its signature is no signature (none is made:
    // no RSA, no use of the key).
    let (r, st) = http(v.begin(rehearse("T:yes"), t0).unwrap());
    let (real, real_st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            t0,
        )
        .unwrap(),
    );
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("POST", real.url.as_str())
    );
    assert_eq!(r.body, real.body);
    assert_eq!(st, real_st);
    assert!(!r.idempotent);
    let sig = hdr(&r, "KALSHI-ACCESS-SIGNATURE").unwrap();
    assert_eq!(
        sig.len(),
        hdr(&real, "KALSHI-ACCESS-SIGNATURE").unwrap().len()
    );
    assert!(sig.bytes().all(|b| b == b'A' || b == b'='), "{sig}");
    assert!(!auth::tests::verify("1764000000000", "POST", path, sig));
    // A prepared signature stays for the next real order.
    v.begin(VenueOp::Prepare, t0).unwrap();
    let later = CallCtx {
        now_ms: t0.now_ms + 300,
        random: [9; 32],
    };
    for _ in 0..3 {
        let (r, _) = http(v.begin(rehearse("T:no"), later).unwrap());
        assert_eq!(hdr(&r, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000000300"));
    }
    let (r, _) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            later,
        )
        .unwrap(),
    );
    assert_eq!(hdr(&r, "KALSHI-ACCESS-TIMESTAMP"), Some("1764000000000"));
    // An order that cannot be built is refused as a real one would be.
    assert!(v.begin(rehearse("not a ticker"), later).is_err());
    let public = KalshiVenue::create(VenueConfig {
        instance: "k".into(),
        settings: json!({"environment": "demo"}),
        secrets: Secrets::new(),
    })
    .unwrap();
    assert_eq!(
        public.begin(rehearse("T:yes"), t0).unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn prepare_is_unsupported_without_keys_or_when_off() {
    let public = KalshiVenue::create(VenueConfig {
        instance: "k".into(),
        settings: json!({"environment": "demo"}),
        secrets: Secrets::new(),
    })
    .unwrap();
    let e = public.begin(VenueOp::Prepare, ctx()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported);
    let off = KalshiVenue::create(VenueConfig {
        instance: "k".into(),
        settings: json!({"environment": "demo", "presign_max_age_ms": 0}),
        secrets: secrets(),
    })
    .unwrap();
    assert_eq!(
        off.begin(VenueOp::Prepare, ctx()).unwrap_err().kind,
        ErrorKind::Unsupported
    );
}

#[test]
fn tier_is_advertised_as_rate_limits() {
    let v = KalshiVenue::create(VenueConfig {
        instance: "k".into(),
        settings: json!({"environment": "demo", "tier": "advanced"}),
        secrets: Secrets::new(),
    })
    .unwrap();
    let info = v.info();
    assert_eq!(info.rate_limits.get("read"), Some(&30));
    assert_eq!(info.rate_limits.get("write"), Some(&30));
    assert!(info.capabilities.iter().any(|c| c == "settlements"));
}

#[test]
fn settlements_follow_cursors_with_seconds_filter() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::Settlements {
                market: Some("KXNBAGAME-26NOV25LALBOS-LAL".into()),
                since_ms: Some(1_764_000_000_999),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/trade-api/v2/portfolio/settlements?ticker=KXNBAGAME-26NOV25LALBOS-LAL&min_ts=1764000000&limit=200"
    );
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_some());
    let item = |t: &str| {
        json!({"ticker": t, "market_result": "yes", "yes_count_fp": "5.00",
            "yes_total_cost_dollars": "2.5000", "no_count_fp": "0.00", "no_total_cost_dollars": "0.0000",
            "revenue": 500, "fee_cost": "0.0000", "settled_time": "2026-11-26T05:00:00Z"})
    };
    let (r2, st2) = http(
        v.resume(
            st,
            resp(200, json!({"settlements": [item("A-1")], "cursor": "c+2"})),
            ctx(),
        )
        .unwrap(),
    );
    assert!(r2.url.ends_with("&cursor=c%2B2"), "{}", r2.url);
    let OpResult::Settlements { settlements } = result(
        v.resume(
            st2,
            resp(200, json!({"settlements": [item("A-2")], "cursor": ""})),
            ctx(),
        )
        .unwrap(),
    ) else {
        panic!("expected settlements")
    };
    assert_eq!(
        settlements
            .iter()
            .map(|s| s.market.as_str())
            .collect::<Vec<_>>(),
        ["A-1", "A-2"]
    );
    assert_eq!(settlements[0].revenue, plugin_api::Usd::from_cents(500));
    let e = v
        .begin(
            VenueOp::Settlements {
                market: Some("A B".into()),
                since_ms: None,
            },
            ctx(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
}

#[test]
fn rules_take_the_fee_from_event_and_series() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::Rules {
                instrument: "KXNBAGAME-26NOV25LALBOS-LAL:no".into(),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert!(
        r.url.ends_with("/markets/KXNBAGAME-26NOV25LALBOS-LAL"),
        "{}",
        r.url
    );
    let market = json!({"market": {"ticker": "KXNBAGAME-26NOV25LALBOS-LAL",
        "event_ticker": "KXNBAGAME-26NOV25LALBOS", "status": "active",
        "price_level_structure": "linear_cent",
        "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}]}});
    let (r, st) = http(v.resume(st, resp(200, market), ctx()).unwrap());
    assert!(
        r.url.ends_with("/events/KXNBAGAME-26NOV25LALBOS"),
        "{}",
        r.url
    );
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_none(), "public data");
    let event = json!({"event": {"event_ticker": "KXNBAGAME-26NOV25LALBOS",
        "series_ticker": "KXNBAGAME", "fee_type_override": null, "fee_multiplier_override": null}});
    let (r, st) = http(v.resume(st, resp(200, event), ctx()).unwrap());
    assert!(r.url.ends_with("/series/KXNBAGAME"), "{}", r.url);
    let series = json!({"series": {"ticker": "KXNBAGAME",
        "fee_type": "quadratic_with_maker_fees", "fee_multiplier": "2"}});
    let OpResult::Rules { rules } = result(v.resume(st, resp(200, series), ctx()).unwrap()) else {
        panic!("expected rules")
    };
    assert_eq!(rules.tick, Price(10_000));
    assert_eq!(
        rules.taker_fee,
        plugin_api::FeeModel::kalshi(140_000),
        "0.07 × 2"
    );
}

#[test]
fn books_share_one_request_per_ticker_list() {
    let v = venue();
    let (r, st) = http(
        v.begin(
            VenueOp::Books {
                instruments: vec!["B-1:yes".into(), "A-1:no".into(), "A-1:yes".into()],
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        r.url,
        "http://127.0.0.1:9/trade-api/v2/markets/orderbooks?tickers=A-1&tickers=B-1"
    );
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_none(), "public data");
    let body = json!({"orderbooks": [
        {"ticker": "A-1", "orderbook_fp": {"yes_dollars": [["0.4000", "5.00"]], "no_dollars": [["0.5500", "7.00"]]}}
    ]});
    let OpResult::Books { books } = result(v.resume(st, resp(200, body), ctx()).unwrap()) else {
        panic!("expected books")
    };
    // B-1 was not answered: left out. A-1's one book gives both outcomes.
    assert_eq!(books.len(), 2);
    let no = books.iter().find(|b| b.instrument == "A-1:no").unwrap();
    assert_eq!(no.bids[0].price, Price(550_000));
    assert_eq!(no.asks[0].price, Price(600_000), "1 − the YES bid");
    let yes = books.iter().find(|b| b.instrument == "A-1:yes").unwrap();
    assert_eq!(yes.asks[0].price, Price(450_000));
    assert_eq!(
        v.begin(
            VenueOp::Books {
                instruments: vec![]
            },
            ctx()
        )
        .unwrap_err()
        .kind,
        ErrorKind::InvalidInput
    );
}

/// Issue #11 item 2: after a submit the venue may have processed (an unreadable 2xx, a 5xx, a
/// transport failure, a duplicate-id 409), a lookup that does not find the order is not final
/// (an order can appear late): the placement ends as outcome unknown, naming the id.
#[test]
fn place_not_found_after_a_possible_write_is_outcome_unknown() {
    let v = venue();
    let unreadable = HttpResponse {
        status: 201,
        headers: vec![],
        body: b"{\"order_id\": \"o1\", \"client_order_".to_vec(),
    };
    let cases = [
        ("2xx unreadable", unreadable),
        (
            "5xx",
            resp(503, json!({"error": {"code": "service_unavailable"}})),
        ),
        ("transport failure (status 0)", resp(0, Value::Null)),
        (
            "409 duplicate",
            resp(409, json!({"error": {"code": "order_already_exists"}})),
        ),
    ];
    for (case, submit) in cases {
        let (_, st) = http(
            v.begin(
                VenueOp::PlaceOrder {
                    order: order("T:yes", Side::Buy),
                },
                ctx(),
            )
            .unwrap(),
        );
        let (r, st) = http(v.resume(st, submit, ctx()).unwrap());
        assert_eq!(r.method, "GET", "{case}: looked up first");
        assert!(r.url.contains("/portfolio/orders?ticker=T"), "{case}");
        let e = v
            .resume(st, resp(200, json!({"orders": [], "cursor": ""})), ctx())
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout, "{case}: {}", e.message);
        assert!(e.message.contains("pmx-t9-a0"), "{case}: {}", e.message);
    }
    // A 4xx business refusal is definite: no lookup, a rejection.
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("T:yes", Side::Buy),
            },
            ctx(),
        )
        .unwrap(),
    );
    let e = v
        .resume(
            st,
            resp(400, json!({"error": {"code": "invalid_price"}})),
            ctx(),
        )
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "invalid_price".into()
        }
    );
}

/// Issue #11 item 11: cancel-all is supported: resting orders listed, batch-cancelled, and
/// the answer split per order.
#[test]
fn cancel_all_lists_then_batch_cancels() {
    let v = venue();
    assert!(v.info().capabilities.iter().any(|c| c == "cancel_all"));
    let (r, st) = http(
        v.begin(
            VenueOp::CancelAll {
                instrument: Some("T:no".into()),
            },
            ctx(),
        )
        .unwrap(),
    );
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        (
            "GET",
            "http://127.0.0.1:9/trade-api/v2/portfolio/orders?ticker=T&status=resting&limit=200"
        )
    );
    let page = json!({"orders": [
        {"order_id": "o1", "ticker": "T", "status": "resting"},
        {"order_id": "o2", "ticker": "T", "status": "resting"}
    ], "cursor": ""});
    let (r, st) = http(v.resume(st, resp(200, page), ctx()).unwrap());
    assert_eq!(r.method, "DELETE");
    assert!(
        r.url.ends_with("/portfolio/events/orders/batched"),
        "{}",
        r.url
    );
    assert!(hdr(&r, "KALSHI-ACCESS-SIGNATURE").is_some());
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(
        body,
        json!({"orders": [{"order_id": "o1", "market_ticker": "T"}, {"order_id": "o2", "market_ticker": "T"}]})
    );
    let answer = json!({"orders": [
        {"order_id": "o1", "client_order_id": "a", "reduced_by": "1.00", "ts_ms": 1},
        {"order_id": "o2", "error": {"code": "not_found", "message": "order is not resting"}}
    ]});
    match result(v.resume(st, resp(200, answer), ctx()).unwrap()) {
        OpResult::Cancelled {
            cancelled,
            not_cancelled,
        } => {
            assert_eq!(cancelled, vec!["o1".to_string()]);
            assert_eq!(not_cancelled.len(), 1);
            assert_eq!(not_cancelled[0].order_id, "o2");
            assert!(not_cancelled[0].reason.contains("not resting"));
        }
        other => panic!("{other:?}"),
    }
}

//! Issue #11 (live money-safety): what the adapter books after a garbled answer, a price
//! improvement, or a read-back must be what the venue booked.

use plugin_api::money::SHARE;
use plugin_api::testing::fixed_ctx;
use plugin_api::*;
use polymix_venue_polymarket::PolymarketVenue;
use serde_json::json;

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const OTHER: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";

fn venue() -> PolymarketVenue {
    let mut s = Secrets::new();
    s.insert("private_key", Secret::new(PK));
    s.insert(
        "api_key",
        Secret::new("00000000-0000-0000-0000-000000000000"),
    );
    s.insert(
        "api_secret",
        Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    );
    s.insert("api_passphrase", Secret::new("a".repeat(64)));
    PolymarketVenue::create(VenueConfig {
        instance: "pm".into(),
        // The configured fallback rate (0.05) differs from the market's own (0.02 below).
        settings: json!({"clob_url": "http://clob.test", "fee_rate": "0.05"}),
        secrets: s,
    })
    .unwrap()
}

fn resp(status: u16, body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![],
        body: body.as_bytes().to_vec(),
    }
}

fn http(step: Step) -> (HttpRequest, String) {
    match step {
        Step::Http { request, state } => (request, state),
        other => panic!("expected an HTTP step, got {other:?}"),
    }
}

fn done_order(step: Step) -> OrderStatus {
    match step {
        Step::Done {
            result: OpResult::Order { order },
        } => order,
        other => panic!("expected an order, got {other:?}"),
    }
}

/// An order of `hundredths` / 100 shares (the venue's size step is 0.01).
fn order(coid: &str, token: &str, price: i64, hundredths: i64, tif: TimeInForce) -> OrderRequest {
    OrderRequest {
        client_order_id: coid.into(),
        instrument: token.into(),
        side: Side::Buy,
        price: Price(price),
        qty: Qty(hundredths * (SHARE / 100)),
        tif,
        post_only: false,
    }
}

fn book(token: &str) -> String {
    format!(
        r#"{{"market":"0xcond","asset_id":"{token}","timestamp":"1","bids":[{{"price":"0.5","size":"10"}}],"asks":[{{"price":"0.6","size":"10"}},{{"price":"0.56","size":"10"}}],"min_order_size":"5","tick_size":"0.01","neg_risk":false}}"#
    )
}

/// Loads the book of `token` so orders go straight to `POST /order`.
fn seed_meta(v: &PolymarketVenue, token: &str) {
    let ctx = fixed_ctx();
    let (_, st) = http(
        v.begin(
            VenueOp::Book {
                instrument: token.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    v.resume(st, resp(200, &book(token)), ctx).unwrap();
}

/// Begins a place and returns the `POST /order` request, its state and the expected id.
fn submit(v: &PolymarketVenue, o: OrderRequest) -> (HttpRequest, String, String) {
    let (post, st) = http(
        v.begin(VenueOp::PlaceOrder { order: o }, fixed_ctx())
            .unwrap(),
    );
    assert_eq!((post.method.as_str(), post.idempotent), ("POST", false));
    let digest = post.expected_order_id.clone().expect("expected order id");
    (post, st, digest)
}

// ------------------------------------------------------------------ A: garbled 2xx answers

#[test]
fn garbled_2xx_answer_to_post_order_is_looked_up_not_refused() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    for (i, body) in [
        "<html>upstream hiccup</html>",
        "{}",
        r#"{"success":true}"#,
        r#"{"success":true,"errorMsg":"","orderID":"0xab","status":"matched","makingAmount":"x1","takingAmount":"2"}"#,
    ]
    .into_iter()
    .enumerate()
    {
        let coid = format!("g{i}");
        let (_, st, digest) = submit(&v, order(&coid, TOKEN, 560_000, 2104, TimeInForce::Gtc));
        let (look, st) = http(
            v.resume(st, resp(200, body), ctx)
                .unwrap_or_else(|e| panic!("{body}: {e}")),
        );
        assert_eq!(look.method, "GET");
        assert_eq!(look.url, format!("http://clob.test/data/order/{digest}"));
        // Not found: outcome unknown, naming both ids; never a definite refusal.
        let e = v.resume(st, resp(200, "null"), ctx).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Timeout, "{body}: {e}");
        assert!(e.message.contains(&coid) && e.message.contains(&digest), "{e}");
    }
}

#[test]
fn garbled_element_of_a_batch_answer_is_not_a_refusal() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    let orders = vec![
        order("b1", TOKEN, 560_000, 2104, TimeInForce::Gtc),
        order("b2", TOKEN, 550_000, 2104, TimeInForce::Gtc),
    ];
    for body in [
        r#"[{"success":true,"errorMsg":"","orderID":"0x01","status":"live"},{}]"#,
        r#"[{"success":true,"errorMsg":"","orderID":"0x01","status":"live"},{"success":true,"errorMsg":""}]"#,
        "not json",
    ] {
        let (_, st) = http(
            v.begin(
                VenueOp::PlaceOrders {
                    orders: orders.clone(),
                },
                ctx,
            )
            .unwrap(),
        );
        let e = match v.resume(st, resp(200, body), ctx) {
            Err(e) => e,
            Ok(step) => panic!("{body}: expected outcome unknown, got {step:?}"),
        };
        assert_eq!(e.kind, ErrorKind::Timeout, "{body}: {e}");
        assert!(e.message.contains("b2"), "{e}");
    }
}

// ------------------------------------------------------ C: a FOK BUY that gets more shares

#[test]
fn fok_buy_records_every_share_the_venue_delivered() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    // BUY 10 @ 0.60 spends $6.00; the book was at 0.58 → 10.34 shares.
    let (post, st, digest) = submit(&v, order("f1", TOKEN, 600_000, 1000, TimeInForce::Fok));
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["order"]["makerAmount"], "6000000");
    let answer = format!(
        r#"{{"success":true,"errorMsg":"","orderID":"{digest}","status":"matched","makingAmount":"6","takingAmount":"10.34","tradeIDs":["t1"]}}"#
    );
    let step = v.resume(st, resp(200, &answer), ctx).unwrap();
    // The adapter asks for the order's trades (fees per fill); the venue has them.
    let (trades, st) = http(step);
    assert!(trades.url.starts_with("http://clob.test/data/trades?"));
    // The match happened during the POST: two minutes of the account's trades cover it.
    assert!(
        trades
            .url
            .contains(&format!("&after={}", 1_764_000_000 - 120)),
        "{}",
        trades.url
    );
    let t = format!(
        r#"{{"data":[{{"id":"t1","taker_order_id":"{digest}","asset_id":"{TOKEN}","side":"BUY","size":"10.34","price":"0.6","fee_rate_bps":"200","status":"MATCHED","match_time":"1764000000","trader_side":"TAKER","maker_orders":[{{"order_id":"0xm1","matched_amount":"10.34","price":"0.58","fee_rate_bps":"0","asset_id":"{TOKEN}","side":"SELL"}}]}}],"next_cursor":"LTE="}}"#
    );
    let o = done_order(v.resume(st, resp(200, &t), ctx).unwrap());
    assert_eq!(o.qty, Qty::shares(10), "qty stays the asked qty");
    assert_eq!(
        o.filled_qty,
        Qty::parse("10.34").unwrap(),
        "never capped at the asked qty"
    );
    assert_eq!(o.state, OrderState::Filled);
    // 10.34 × 0.58 = 5.9972 (the venue's maker price, not the 0.60 limit).
    assert_eq!(o.filled_notional, Usd(5_997_200));
}

#[test]
fn fok_buy_books_sub_hundredth_shares_exactly() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    // BUY 10 @ 0.60 spends $6.00; two asks better than the limit deliver 10.3571 shares, which
    // the venue reports to the micro-share (its tokens have 6 decimals).
    let (_, st, digest) = submit(&v, order("f2", TOKEN, 600_000, 1000, TimeInForce::Fok));
    let answer = format!(
        r#"{{"success":true,"errorMsg":"","orderID":"{digest}","status":"matched","makingAmount":"6","takingAmount":"10.3571","tradeIDs":["t1"]}}"#
    );
    let (trades, st) = http(v.resume(st, resp(200, &answer), ctx).unwrap());
    assert!(trades.url.starts_with("http://clob.test/data/trades?"));
    let t = format!(
        r#"{{"data":[{{"id":"t1","taker_order_id":"{digest}","asset_id":"{TOKEN}","side":"BUY","size":"10.3571","price":"0.6","fee_rate_bps":"200","status":"MATCHED","match_time":"1764000000","trader_side":"TAKER","maker_orders":[{{"order_id":"0xm1","matched_amount":"4.3571","price":"0.57","fee_rate_bps":"0","asset_id":"{TOKEN}","side":"SELL"}},{{"order_id":"0xm2","matched_amount":"6","price":"0.58","fee_rate_bps":"0","asset_id":"{TOKEN}","side":"SELL"}}]}}],"next_cursor":"LTE="}}"#
    );
    let o = done_order(v.resume(st, resp(200, &t), ctx).unwrap());
    assert_eq!(o.qty, Qty::shares(10));
    assert_eq!(o.filled_qty, Qty::parse("10.3571").unwrap(), "not 10.35");
    assert_eq!(o.state, OrderState::Filled);
    // 4.3571 × 0.57 + 6 × 0.58 = 2.483547 + 3.48, each fill at the maker's price.
    assert_eq!(o.filled_notional, Usd(5_963_547));
    // The fee per fill, at the trade's 200 bps.
    assert_eq!(
        o.fees,
        Usd(venue_fee(4_357_100, 570_000, 200) + venue_fee(6_000_000, 580_000, 200))
    );
}

// --------------------------------------------- D: fee per fill at the market's own rate

/// The fee the venue charges for one fill (polymarket.md §5), computed here by hand.
fn venue_fee(shares_micro: i128, price_micro: i128, rate_bps: i128) -> i64 {
    // fee = C × rate × p × (1−p), rounded half up to 5 decimals. The product below is in units
    // of 1e-22 $ (1e-6 shares × 1e-4 rate × 1e-6 × 1e-6); 1e-5 $ units: divide by 1e17.
    let exact = shares_micro * rate_bps * price_micro * (1_000_000 - price_micro);
    let d = 100_000_000_000_000_000i128;
    let five = (exact + d / 2) / d;
    (five * 10) as i64
}

#[test]
fn a_filled_order_costs_the_sum_of_its_fills() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    let (_, st, digest) = submit(&v, order("d1", TOKEN, 600_000, 2000, TimeInForce::Fok));
    let answer = format!(
        r#"{{"success":true,"errorMsg":"","orderID":"{digest}","status":"matched","makingAmount":"11.5","takingAmount":"20","tradeIDs":["t7"]}}"#
    );
    let (req, st) = http(v.resume(st, resp(200, &answer), ctx).unwrap());
    assert_eq!(req.method, "GET");
    assert!(
        req.url.contains(&format!("asset_id={TOKEN}")),
        "{}",
        req.url
    );
    // One trade, two makers (5 @ 0.55 and 15 @ 0.58), plus a trade of another order that must
    // be ignored.
    let t = format!(
        r#"{{"data":[
          {{"id":"t7","taker_order_id":"{digest}","asset_id":"{TOKEN}","side":"BUY","size":"20","price":"0.6","fee_rate_bps":"200","status":"MATCHED","match_time":"1764000000","trader_side":"TAKER",
            "maker_orders":[{{"order_id":"0xm1","matched_amount":"5","price":"0.55","asset_id":"{TOKEN}","side":"SELL"}},
                            {{"order_id":"0xm2","matched_amount":"15","price":"0.58","asset_id":"{TOKEN}","side":"SELL"}}]}},
          {{"id":"t8","taker_order_id":"0x{}","asset_id":"{TOKEN}","side":"BUY","size":"3","price":"0.6","fee_rate_bps":"200","status":"MATCHED","match_time":"1764000000","trader_side":"TAKER","maker_orders":[]}}
        ],"next_cursor":"LTE="}}"#,
        "9".repeat(64)
    );
    let o = done_order(v.resume(st, resp(200, &t), ctx).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(20));
    // 5 × 0.55 + 15 × 0.58 = 2.75 + 8.70 = 11.45
    assert_eq!(o.filled_notional, Usd(11_450_000));
    let want = venue_fee(5_000_000, 550_000, 200) + venue_fee(15_000_000, 580_000, 200);
    assert_eq!(o.fees, Usd(want));
    assert_ne!(
        o.fees,
        FeeModel::polymarket(50_000).taker_fee(Price(575_000), Qty::shares(20)),
        "not the configured fallback rate on the average price"
    );
}

#[test]
fn place_fee_uses_the_markets_own_rate_when_trades_are_unavailable() {
    let v = venue();
    let ctx = fixed_ctx();
    // Rules → tick → book → clob-markets (fd.r = 0.02): the market's own rate gets cached.
    let (_, st) = http(
        v.begin(
            VenueOp::Rules {
                instrument: TOKEN.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    let (_, st) = http(
        v.resume(st, resp(200, r#"{"minimum_tick_size": 0.01}"#), ctx)
            .unwrap(),
    );
    let (_, st) = http(v.resume(st, resp(200, &book(TOKEN)), ctx).unwrap());
    v.resume(st, resp(200, r#"{"fd":{"r":0.02,"e":1,"to":true}}"#), ctx)
        .unwrap();
    let (_, st, digest) = submit(&v, order("d2", TOKEN, 500_000, 1000, TimeInForce::Fok));
    let answer = format!(
        r#"{{"success":true,"errorMsg":"","orderID":"{digest}","status":"matched","makingAmount":"5","takingAmount":"10"}}"#
    );
    let (_, st) = http(v.resume(st, resp(200, &answer), ctx).unwrap());
    // The trades listing fails: the placement is still known; the fee uses 0.02, not 0.05.
    let o = done_order(v.resume(st, resp(500, "oops"), ctx).unwrap());
    assert_eq!(o.filled_qty, Qty::shares(10));
    assert_eq!(o.filled_notional, Usd(5_000_000));
    assert_eq!(o.fees, Usd(venue_fee(10_000_000, 500_000, 200)));
}

// ------------------------------------------------- B: an order read back carries its fees

#[test]
fn order_read_back_carries_the_venues_fees_and_notional() {
    let v = venue();
    let ctx = fixed_ctx();
    let id = format!("0x{}", "ab".repeat(32));
    let (r, st) = http(
        v.begin(
            VenueOp::GetOrder {
                order_id: Some(id.clone()),
                client_order_id: None,
                instrument: OTHER.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    assert!(r.url.ends_with(&id));
    let o = format!(
        r#"{{"id":"{id}","status":"MATCHED","asset_id":"{OTHER}","side":"BUY","original_size":"10","size_matched":"10","price":"0.6","associate_trades":["t1"],"created_at":1764000000}}"#
    );
    let (r, st) = http(v.resume(st, resp(200, &o), ctx).unwrap());
    assert!(
        r.url.starts_with("http://clob.test/data/trades?"),
        "{}",
        r.url
    );
    assert!(r.url.contains(&format!("asset_id={OTHER}")), "{}", r.url);
    let t = format!(
        r#"{{"data":[{{"id":"t1","taker_order_id":"{id}","asset_id":"{OTHER}","side":"BUY","size":"10","price":"0.6","fee_rate_bps":"300","status":"CONFIRMED","match_time":"1764000001","trader_side":"TAKER","maker_orders":[{{"order_id":"0xm","matched_amount":"10","price":"0.57","asset_id":"{OTHER}","side":"SELL"}}]}}],"next_cursor":"LTE="}}"#
    );
    let s = done_order(v.resume(st, resp(200, &t), ctx).unwrap());
    assert_eq!(s.state, OrderState::Filled);
    assert_eq!(s.filled_qty, Qty::shares(10));
    assert_eq!(s.filled_notional, Usd(5_700_000));
    assert_eq!(s.fees, Usd(venue_fee(10_000_000, 570_000, 300)));
    assert!(s.fees.0 > 0);
}

#[test]
fn unmatched_order_read_back_needs_no_trades() {
    let v = venue();
    let ctx = fixed_ctx();
    let id = format!("0x{}", "cd".repeat(32));
    let (_, st) = http(
        v.begin(
            VenueOp::GetOrder {
                order_id: Some(id.clone()),
                client_order_id: None,
                instrument: OTHER.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    let o = format!(
        r#"{{"id":"{id}","status":"LIVE","asset_id":"{OTHER}","side":"BUY","original_size":"10","size_matched":"0","price":"0.6"}}"#
    );
    let s = done_order(v.resume(st, resp(200, &o), ctx).unwrap());
    assert_eq!((s.state, s.fees), (OrderState::Open, Usd::ZERO));
}

/// The open-orders listing books what the venue booked: a partly matched resting order's fee
/// and notional are the sums over its fills, never a silent zero.
#[test]
fn open_orders_listing_carries_each_matched_orders_fills() {
    let v = venue();
    let ctx = fixed_ctx();
    let a = format!("0x{}", "a1".repeat(32));
    let b = format!("0x{}", "b2".repeat(32));
    let (r, st) = http(
        v.begin(VenueOp::OpenOrders { instrument: None }, ctx)
            .unwrap(),
    );
    assert!(
        r.url.starts_with("http://clob.test/data/orders"),
        "{}",
        r.url
    );
    // `a` rests with 4 of 10 matched; `b` matched nothing.
    let page = format!(
        r#"{{"data":[
          {{"id":"{a}","status":"LIVE","asset_id":"{OTHER}","side":"BUY","original_size":"10","size_matched":"4","price":"0.6","created_at":1764000000}},
          {{"id":"{b}","status":"LIVE","asset_id":"{TOKEN}","side":"BUY","original_size":"5","size_matched":"0","price":"0.3","created_at":1764000000}}
        ],"next_cursor":"LTE="}}"#
    );
    let (r, st) = http(v.resume(st, resp(200, &page), ctx).unwrap());
    assert!(
        r.url.starts_with("http://clob.test/data/trades?"),
        "{}",
        r.url
    );
    assert!(r.url.contains(&format!("asset_id={OTHER}")), "{}", r.url);
    assert!(r.url.contains("after=1764000000"), "{}", r.url);
    // It crossed the book on arrival: 4 matched as taker against a maker at 0.57, fee 3%.
    let t = format!(
        r#"{{"data":[{{"id":"t1","taker_order_id":"{a}","asset_id":"{OTHER}","side":"BUY","size":"4","price":"0.6","fee_rate_bps":"300","status":"CONFIRMED","match_time":"1764000001","trader_side":"TAKER","maker_orders":[{{"order_id":"0xm","matched_amount":"4","price":"0.57","asset_id":"{OTHER}","side":"SELL"}}]}}],"next_cursor":"LTE="}}"#
    );
    let step = v.resume(st, resp(200, &t), ctx).unwrap();
    let Step::Done {
        result: OpResult::Orders { orders },
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(orders.len(), 2);
    let oa = orders.iter().find(|o| o.order_id == a).unwrap();
    assert_eq!(oa.filled_qty, Qty::shares(4));
    assert_eq!(
        oa.filled_notional,
        Usd(2_280_000),
        "4 × 0.57, the maker's price"
    );
    assert_eq!(oa.fees, Usd(venue_fee(4_000_000, 570_000, 300)));
    assert!(oa.fees.0 > 0);
    let ob = orders.iter().find(|o| o.order_id == b).unwrap();
    assert_eq!(
        (ob.filled_qty, ob.fees),
        (Qty::ZERO, Usd::ZERO),
        "nothing matched, no fee"
    );
    // The same order read back by id books the same.
    let (_, st) = http(
        v.begin(
            VenueOp::GetOrder {
                order_id: Some(a.clone()),
                client_order_id: None,
                instrument: OTHER.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    let one = format!(
        r#"{{"id":"{a}","status":"LIVE","asset_id":"{OTHER}","side":"BUY","original_size":"10","size_matched":"4","price":"0.6","created_at":1764000000}}"#
    );
    let (_, st) = http(v.resume(st, resp(200, &one), ctx).unwrap());
    let back = done_order(v.resume(st, resp(200, &t), ctx).unwrap());
    assert_eq!(
        (oa.filled_notional, oa.fees),
        (back.filled_notional, back.fees)
    );
}

/// With its trades unreadable, a listing fails (a read the host may retry) rather than
/// showing a matched order with no fee.
#[test]
fn open_orders_listing_fails_when_a_matched_orders_trades_cannot_be_read() {
    let v = venue();
    let ctx = fixed_ctx();
    let a = format!("0x{}", "a1".repeat(32));
    let (_, st) = http(
        v.begin(VenueOp::OpenOrders { instrument: None }, ctx)
            .unwrap(),
    );
    let page = format!(
        r#"{{"data":[{{"id":"{a}","status":"LIVE","asset_id":"{OTHER}","side":"BUY","original_size":"10","size_matched":"4","price":"0.6","created_at":1764000000}}],"next_cursor":"LTE="}}"#
    );
    let (_, st) = http(v.resume(st, resp(200, &page), ctx).unwrap());
    assert!(v.resume(st, resp(500, "oops"), ctx).is_err());
}

// ------------------------------------------------------ E: exchange status, settlements

fn status_of(step: Step) -> (bool, Option<String>) {
    match step {
        Step::Done {
            result: OpResult::ExchangeStatus { trading, detail },
        } => (trading, detail),
        other => panic!("expected an exchange status, got {other:?}"),
    }
}

#[test]
fn exchange_status_comes_from_the_clob_health_check() {
    let v = venue();
    let ctx = fixed_ctx();
    assert!(v.info().capabilities.iter().any(|c| c == "exchange_status"));
    let begin = || http(v.begin(VenueOp::ExchangeStatus, ctx).unwrap());
    let (r, st) = begin();
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("GET", "http://clob.test/ok")
    );
    assert!(r.idempotent);
    let (trading, detail) = status_of(v.resume(st, resp(200, "\"OK\""), ctx).unwrap());
    assert!(trading);
    assert!(detail.unwrap().contains("/ok"));
    // Restricted mode and an engine restart: not trading, with the venue's words.
    let (_, st) = begin();
    let (trading, detail) = status_of(
        v.resume(st, resp(503, r#"{"code":"post_only_mode"}"#), ctx)
            .unwrap(),
    );
    assert!(!trading);
    assert!(detail.unwrap().contains("post"));
    let (_, st) = begin();
    let (trading, _) = status_of(v.resume(st, resp(425, "restarting"), ctx).unwrap());
    assert!(!trading);
    // No answer is not "trading": an error (the host keeps its last view).
    let (_, st) = begin();
    assert!(v.resume(st, resp(0, ""), ctx).is_err());
    let (_, st) = begin();
    assert!(v.resume(st, resp(500, "boom"), ctx).is_err());
}

/// One closed-position row as the Data API spec shapes it (data-openapi.yaml).
fn closed_row(cond: &str, idx: u8, cur: &str) -> String {
    format!(
        r#"{{"proxyWallet":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","asset":"{idx}","conditionId":"{cond}","avgPrice":0.4,"totalBought":10,"realizedPnl":6,"curPrice":{cur},"outcome":"{o}","outcomeIndex":{idx},"oppositeOutcome":"{p}","timestamp":1764000000}}"#,
        o = if idx == 0 { "Yes" } else { "No" },
        p = if idx == 0 { "No" } else { "Yes" },
    )
}

#[test]
fn settlements_page_through_closed_positions_of_the_funder() {
    let v = venue();
    let ctx = fixed_ctx();
    let (req, st) = http(
        v.begin(
            VenueOp::Settlements {
                market: None,
                since_ms: None,
            },
            ctx,
        )
        .unwrap(),
    );
    assert_eq!(req.method, "GET");
    assert!(
        req.url
            .starts_with("https://data-api.polymarket.com/closed-positions?user=0x")
            && req.url.contains("&limit=50&offset=0"),
        "{}",
        req.url
    );
    // A full page asks for the next one.
    let cond = |i: usize| format!("0x{i:064x}");
    let page: Vec<String> = (0..50).map(|i| closed_row(&cond(i), 0, "1")).collect();
    let (req, st) = http(
        v.resume(st, resp(200, &format!("[{}]", page.join(","))), ctx)
            .unwrap(),
    );
    assert!(req.url.contains("&offset=50"), "{}", req.url);
    // A short page ends it; a market still trading (curPrice 0.55) is no settlement.
    let last = [
        closed_row(&cond(50), 1, "0"),
        closed_row(&cond(51), 0, "0.55"),
    ];
    let step = v
        .resume(st, resp(200, &format!("[{}]", last.join(","))), ctx)
        .unwrap();
    let Step::Done {
        result: OpResult::Settlements { settlements },
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(settlements.len(), 51);
    let s = settlements.iter().find(|s| s.market == cond(50)).unwrap();
    assert_eq!(s.result, "Yes");
    assert_eq!(s.no_qty, Qty::shares(10));
    assert_eq!(s.no_cost, Usd(4_000_000));
    assert_eq!(s.revenue, Usd(10_000_000), "cost 4 + realized 6");
    assert_eq!(s.settled_ms, 1_764_000_000_000);
}

#[test]
fn settlements_of_a_market_that_is_not_a_condition_id_are_refused() {
    let e = venue()
        .begin(
            VenueOp::Settlements {
                market: Some("0xcond1".into()),
                since_ms: None,
            },
            fixed_ctx(),
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert!(e.message.contains("condition id"), "{e}");
}

// ------------------------------------------------------ F: no wrapped money on any path

#[test]
fn out_of_range_position_cost_is_a_parse_error_naming_the_field() {
    let v = venue();
    let ctx = fixed_ctx();
    let (_, st) = http(v.begin(VenueOp::Positions, ctx).unwrap());
    let e = v
        .resume(
            st,
            resp(
                200,
                r#"[{"asset":"1","size":"10","avgPrice":"9999999999999"}]"#,
            ),
            ctx,
        )
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Parse);
    assert!(e.message.contains("avgPrice"), "{e}");
    let (_, st) = http(v.begin(VenueOp::Positions, ctx).unwrap());
    let e = v
        .resume(st, resp(200, r#"[{"asset":"1","size":"-10"}]"#), ctx)
        .unwrap_err();
    assert!(e.message.contains("size"), "{e}");
}

#[test]
fn huge_order_sizes_are_refused_not_wrapped() {
    let v = venue();
    seed_meta(&v, TOKEN);
    for tif in [TimeInForce::Gtc, TimeInForce::Fok] {
        for side in [Side::Buy, Side::Sell] {
            let mut o = order("h", TOKEN, 500_000, 0, tif);
            // The largest size on the 0.01 step (9.2e12 shares): either refused as too large
            // or signed with exactly that many shares; never wrapped.
            o.qty = Qty(i64::MAX / (SHARE / 100) * (SHARE / 100));
            o.side = side;
            match v.begin(VenueOp::PlaceOrder { order: o.clone() }, fixed_ctx()) {
                Err(e) => assert_eq!(e.kind, ErrorKind::InvalidInput, "{e}"),
                Ok(Step::Http { request, .. }) => {
                    let b: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
                    let amount = |k: &str| -> i128 {
                        b["order"][k].as_str().unwrap().parse::<i128>().unwrap()
                    };
                    let (maker, taker) = (amount("makerAmount"), amount("takerAmount"));
                    let shares = if side == Side::Buy { taker } else { maker };
                    let usdc = if side == Side::Buy { maker } else { taker };
                    let want = o.qty.0 as i128;
                    // Within a share: a market BUY spends whole cents (polymarket.md §3.4).
                    assert!(
                        (shares - want).abs() < SHARE as i128,
                        "{tif:?} {side:?}: {shares} shares for {want}"
                    );
                    assert!(usdc > 0 && usdc <= i64::MAX as i128, "{usdc}");
                }
                Ok(other) => panic!("{other:?}"),
            }
        }
    }
}

/// A batch placement's matched orders cost the sum of their fills too: each matched order's
/// trades are read (one order after another), its notional at the makers' prices and its fee
/// per fill; an unmatched order needs no read.
#[test]
fn batch_matched_orders_cost_the_sum_of_their_fills() {
    let v = venue();
    let ctx = fixed_ctx();
    seed_meta(&v, TOKEN);
    let orders = vec![
        order("bm1", TOKEN, 600_000, 2000, TimeInForce::Fok),
        order("bm2", TOKEN, 400_000, 1000, TimeInForce::Gtc),
    ];
    let (req, st) = http(
        v.begin(
            VenueOp::PlaceOrders {
                orders: orders.clone(),
            },
            ctx,
        )
        .unwrap(),
    );
    assert_eq!(
        (req.method.as_str(), req.url.ends_with("/orders")),
        ("POST", true)
    );
    let answer = r#"[{"success":true,"errorMsg":"","orderID":"0xaa01","status":"matched","makingAmount":"11.5","takingAmount":"20"},
                     {"success":true,"errorMsg":"","orderID":"0xaa02","status":"live","makingAmount":"0","takingAmount":"0"}]"#;
    let (req, st) = http(v.resume(st, resp(200, answer), ctx).unwrap());
    assert_eq!(req.method, "GET", "the matched order's trades are read");
    assert!(req.url.contains("/data/trades"), "{}", req.url);
    assert!(
        req.url.contains(&format!("&after={}", 1_764_000_000 - 120)),
        "{}",
        req.url
    );
    let t = format!(
        r#"{{"data":[
          {{"id":"t9","taker_order_id":"0xaa01","asset_id":"{TOKEN}","side":"BUY","size":"20","price":"0.6","fee_rate_bps":"200","status":"MATCHED","match_time":"1764000000","trader_side":"TAKER",
            "maker_orders":[{{"order_id":"0xm1","matched_amount":"5","price":"0.55","asset_id":"{TOKEN}","side":"SELL"}},
                            {{"order_id":"0xm2","matched_amount":"15","price":"0.58","asset_id":"{TOKEN}","side":"SELL"}}]}}
        ],"next_cursor":"LTE="}}"#
    );
    let results = match v.resume(st, resp(200, &t), ctx).unwrap() {
        Step::Done {
            result: OpResult::Placed { results },
        } => results,
        other => panic!("expected the batch result, got {other:?}"),
    };
    let accepted: Vec<OrderStatus> = results
        .into_iter()
        .map(|r| match r {
            plugin_api::PlaceOutcome::Accepted { order } => order,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(accepted[0].filled_qty, Qty::shares(20));
    // 5 × 0.55 + 15 × 0.58 = 11.45, fee per fill at the trade's 200 bps.
    assert_eq!(accepted[0].filled_notional, Usd(11_450_000));
    assert_eq!(
        accepted[0].fees,
        Usd(venue_fee(5_000_000, 550_000, 200) + venue_fee(15_000_000, 580_000, 200))
    );
    assert_eq!(accepted[1].filled_qty, Qty::ZERO);
    assert_eq!(accepted[1].fees, Usd::ZERO);
}

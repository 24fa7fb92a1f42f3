//! Drives the sans-IO state machine with canned responses (no sockets).

use plugin_api::testing::{check_venue, fixed_ctx};
use plugin_api::*;
use polymix_venue_polymarket::PolymarketVenue;
use serde_json::json;

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn secrets(with_creds: bool) -> Secrets {
    let mut s = Secrets::new();
    s.insert("private_key", Secret::new(PK));
    if with_creds {
        s.insert(
            "api_key",
            Secret::new("00000000-0000-0000-0000-000000000000"),
        );
        s.insert(
            "api_secret",
            Secret::new("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        );
        s.insert("api_passphrase", Secret::new("a".repeat(64)));
    }
    s
}

fn venue(with_creds: bool) -> PolymarketVenue {
    PolymarketVenue::create(VenueConfig {
        instance: "pm".into(),
        settings: json!({"clob_url": "http://clob.test", "gamma_url": "http://gamma.test"}),
        secrets: secrets(with_creds),
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

fn header<'a>(r: &'a HttpRequest, name: &str) -> &'a str {
    &r.headers
        .iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name}"))
        .1
}

/// An order of `hundredths` / 100 shares (the venue's size step is 0.01).
fn order(coid: &str, price: i64, hundredths: i64, tif: TimeInForce) -> OrderRequest {
    OrderRequest {
        client_order_id: coid.into(),
        instrument: TOKEN.into(),
        side: Side::Buy,
        price: Price(price),
        qty: Qty(hundredths * (plugin_api::money::SHARE / 100)),
        tif,
        post_only: false,
    }
}

const BOOK: &str = r#"{"market":"0xcond","asset_id":"TOKEN","timestamp":"1","bids":[{"price":"0.5","size":"10"}],"asks":[{"price":"0.6","size":"10"},{"price":"0.56","size":"10"}],"min_order_size":"5","tick_size":"0.01","neg_risk":false}"#;

#[test]
fn conformance() {
    check_venue::<PolymarketVenue>(&json!({}), &secrets(true)).unwrap();
    check_venue::<PolymarketVenue>(&json!({}), &secrets(false)).unwrap();
    let e = match PolymarketVenue::create(VenueConfig {
        instance: "x".into(),
        settings: json!({"bogus": 1}),
        secrets: secrets(true),
    }) {
        Err(e) => e,
        Ok(_) => panic!("unknown key accepted"),
    };
    assert!(e.message.contains("`bogus`"));
}

#[test]
fn l1_create_then_derive_then_request() {
    let v = venue(false);
    let ctx = fixed_ctx();
    let (r, st) = http(v.begin(VenueOp::Balance, ctx).unwrap());
    assert_eq!(
        (r.method.as_str(), r.url.as_str()),
        ("POST", "http://clob.test/auth/api-key")
    );
    assert_eq!(
        header(&r, "POLY_ADDRESS"),
        "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    );
    assert_eq!(header(&r, "POLY_NONCE"), "0");
    let (r, st) = http(
        v.resume(
            st,
            resp(400, r#"{"error":"Could not create api key"}"#),
            ctx,
        )
        .unwrap(),
    );
    assert_eq!(r.url, "http://clob.test/auth/derive-api-key");
    let creds = r#"{"apiKey":"kkk","secret":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","passphrase":"ppp"}"#;
    let (r, st) = http(v.resume(st, resp(200, creds), ctx).unwrap());
    assert!(r
        .url
        .starts_with("http://clob.test/balance-allowance?asset_type=COLLATERAL"));
    assert_eq!(header(&r, "POLY_API_KEY"), "kkk");
    match v
        .resume(
            st,
            resp(200, r#"{"balance":"5000000","allowances":{}}"#),
            ctx,
        )
        .unwrap()
    {
        Step::Done {
            result: OpResult::Balance { balance },
        } => assert_eq!(balance.available, Usd::dollars(5)),
        other => panic!("{other:?}"),
    }
    // Second call goes straight to L2.
    let (r, _) = http(v.begin(VenueOp::Balance, ctx).unwrap());
    assert_eq!(header(&r, "POLY_API_KEY"), "kkk");
}

#[test]
fn ambiguous_submit_resolves_by_digest() {
    let v = venue(true);
    let ctx = fixed_ctx();
    let (r, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("c1", 560_000, 2104, TimeInForce::Gtc),
            },
            ctx,
        )
        .unwrap(),
    );
    assert_eq!(r.url, format!("http://clob.test/book?token_id={TOKEN}"));
    let (post, st) = http(
        v.resume(st, resp(200, &BOOK.replace("TOKEN", TOKEN)), ctx)
            .unwrap(),
    );
    assert_eq!(post.method, "POST");
    assert!(!post.idempotent);
    let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(body["order"]["makerAmount"], "11782400");
    assert_eq!(body["order"]["takerAmount"], "21040000");
    assert_eq!(body["order"]["timestamp"], ctx.now_ms.to_string());
    assert!(body["order"]["salt"].as_u64().unwrap() < (1u64 << 53));
    assert_eq!(body["orderType"], "GTC");
    // Timeout: the host resumes with status 0 → lookup of the expected id.
    let (look, st) = http(v.resume(st, resp(0, ""), ctx).unwrap());
    assert!(look.url.starts_with("http://clob.test/data/order/0x"));
    let digest = look.url.rsplit('/').next().unwrap().to_string();
    let o = format!(
        r#"{{"id":"{digest}","status":"LIVE","asset_id":"{TOKEN}","side":"BUY","original_size":"21.04","size_matched":"0","price":"0.56"}}"#
    );
    match v.resume(st, resp(200, &o), ctx).unwrap() {
        Step::Done {
            result: OpResult::Order { order },
        } => {
            assert_eq!(order.order_id, digest);
            assert_eq!(order.client_order_id.as_deref(), Some("c1"));
            assert_eq!(order.state, OrderState::Open);
        }
        other => panic!("{other:?}"),
    }
    // Later lookup by client order id maps to the digest.
    let (r, _) = http(
        v.begin(
            VenueOp::GetOrder {
                order_id: None,
                client_order_id: Some("c1".into()),
                instrument: TOKEN.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    assert!(r.url.ends_with(&digest));
    // Not found yet → Timeout (outcome unknown), never a resubmit.
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("c2", 560_000, 2104, TimeInForce::Gtc),
            },
            ctx,
        )
        .unwrap(),
    );
    let (_, st) = http(v.resume(st, resp(502, "bad gateway"), ctx).unwrap());
    let e = v.resume(st, resp(200, "null"), ctx).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
}

#[test]
fn validation_before_sending() {
    let v = venue(true);
    let ctx = fixed_ctx();
    let (_, st) = http(
        v.begin(
            VenueOp::Book {
                instrument: TOKEN.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    let _ = v
        .resume(st, resp(200, &BOOK.replace("TOKEN", TOKEN)), ctx)
        .unwrap();
    let cases = [
        (order("a", 555_000, 1000, TimeInForce::Gtc), "tick"),
        (order("b", 560_000, 100, TimeInForce::Gtc), "minimum"),
        (order("c", 995_000, 1000, TimeInForce::Gtc), "tick"),
        (order("d", 500_000, 100, TimeInForce::Fok), "$1"),
        (order("e", 1_000_000, 1000, TimeInForce::Gtc), "outside"),
        // Sizes go out on the venue's 0.01 step: signing would floor 10.3571 to 10.35.
        (
            OrderRequest {
                qty: Qty::parse("10.3571").unwrap(),
                ..order("f", 500_000, 1000, TimeInForce::Gtc)
            },
            "size step 0.01",
        ),
    ];
    for (o, needle) in cases {
        let e = v.begin(VenueOp::PlaceOrder { order: o }, ctx).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput);
        assert!(e.message.contains(needle), "{e}");
    }
    assert!(v
        .begin(
            VenueOp::Book {
                instrument: "".into()
            },
            ctx
        )
        .is_err());
    assert!(v
        .begin(
            VenueOp::Book {
                instrument: "0xabc".into()
            },
            ctx
        )
        .is_err());
}

#[test]
fn tick_error_refreshes_and_retries_once() {
    let v = venue(true);
    let ctx = fixed_ctx();
    let (_, st) = http(
        v.begin(
            VenueOp::Book {
                instrument: TOKEN.into(),
            },
            ctx,
        )
        .unwrap(),
    );
    let _ = v
        .resume(st, resp(200, &BOOK.replace("TOKEN", TOKEN)), ctx)
        .unwrap();
    let (_, st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("t", 500_000, 1000, TimeInForce::Gtc),
            },
            ctx,
        )
        .unwrap(),
    );
    let (r, st) = http(
        v.resume(
            st,
            resp(
                400,
                r#"{"error":"Price (0.5) breaks minimum tick size rule: 0.1"}"#,
            ),
            ctx,
        )
        .unwrap(),
    );
    assert!(r.url.contains("/tick-size?token_id="));
    let (r, st) = http(
        v.resume(st, resp(200, r#"{"minimum_tick_size": 0.1}"#), ctx)
            .unwrap(),
    );
    assert_eq!(r.method, "POST");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["order"]["makerAmount"], "5000000");
    let e = v
        .resume(
            st,
            resp(
                400,
                r#"{"error":"Price (0.5) breaks minimum tick size rule: 0.1"}"#,
            ),
            ctx,
        )
        .unwrap_err();
    assert_eq!(
        e.kind,
        ErrorKind::Rejected {
            code: "tick_size".into()
        }
    );
}

#[test]
fn errors_are_typed() {
    let v = venue(true);
    let ctx = fixed_ctx();
    let (_, st) = http(v.begin(VenueOp::Balance, ctx).unwrap());
    assert_eq!(
        v.resume(st.clone(), resp(429, "{}"), ctx).unwrap_err().kind,
        ErrorKind::RateLimited
    );
    assert_eq!(
        v.resume(st.clone(), resp(503, "x"), ctx).unwrap_err().kind,
        ErrorKind::Network
    );
    assert_eq!(
        v.resume(
            st.clone(),
            resp(401, r#"{"error":"Unauthorized/Invalid api key"}"#),
            ctx
        )
        .unwrap_err()
        .kind,
        ErrorKind::Auth
    );
    assert_eq!(
        v.resume(st, resp(200, "garbage"), ctx).unwrap_err().kind,
        ErrorKind::Parse
    );
    assert!(v.resume("nonsense".into(), resp(200, ""), ctx).is_err());
}

/// The POST /order an order's begin leads to (the book is read first while the venue has no
/// tick size for it), and its digest.
fn signed_post(v: &PolymarketVenue, ctx: CallCtx) -> (serde_json::Value, String) {
    let (mut post, mut st) = http(
        v.begin(
            VenueOp::PlaceOrder {
                order: order("c1", 560_000, 2104, TimeInForce::Gtc),
            },
            ctx,
        )
        .unwrap(),
    );
    if post.url.contains("/book?") {
        (post, st) = http(
            v.resume(st, resp(200, &BOOK.replace("TOKEN", TOKEN)), ctx)
                .unwrap(),
        );
    }
    assert_eq!(post.method, "POST");
    // The expected id (the digest) is what a lost answer is looked up by.
    let (look, _) = http(v.resume(st, resp(0, ""), ctx).unwrap());
    let digest = look.url.rsplit('/').next().unwrap().to_string();
    (serde_json::from_slice(&post.body).unwrap(), digest)
}

#[test]
fn a_prepared_nonce_signs_the_next_order_once() {
    use polymix_venue_polymarket::eth::{decode_hex, recover};
    let v = venue(true);
    let ctx = fixed_ctx();
    // Same ctx, same salt: the same order, so the same digest every time.
    let (plain, digest) = signed_post(&v, ctx);
    match v.begin(VenueOp::Prepare, ctx).unwrap() {
        Step::Done {
            result: OpResult::Prepared,
        } => {}
        other => panic!("prepare: {other:?}"),
    }
    let (prepared, digest2) = signed_post(&v, ctx);
    let (again, _) = signed_post(&v, ctx);
    assert_eq!(digest, digest2);
    let sig =
        |b: &serde_json::Value| decode_hex(b["order"]["signature"].as_str().unwrap()).unwrap();
    let d: [u8; 32] = decode_hex(&digest).unwrap().try_into().unwrap();
    let signer = recover(&d, &sig(&plain)).unwrap();
    assert_eq!(recover(&d, &sig(&prepared)).unwrap(), signer);
    assert_ne!(
        sig(&prepared),
        sig(&plain),
        "the prepared nonce was not used"
    );
    // Used once: the next order signs with RFC 6979 again, byte for byte.
    assert_eq!(sig(&again), sig(&plain));
    // The order itself is the same; only the signature differs.
    let mut a = prepared["order"].clone();
    let mut b = plain["order"].clone();
    a["signature"] = json!(null);
    b["signature"] = json!(null);
    assert_eq!(a, b);
}

fn prepared(step: Step) {
    match step {
        Step::Done {
            result: OpResult::Prepared,
        } => {}
        other => panic!("expected Prepared, got {other:?}"),
    }
}

#[test]
fn a_rehearsal_sends_nothing_remembers_nothing_and_leaves_the_prepared_nonce() {
    use polymix_venue_polymarket::eth::{decode_hex, recover};
    let v = venue(true);
    let ctx = fixed_ctx();
    let rehearsal = || VenueOp::Rehearse {
        order: order("rehearsal-1", 560_000, 2104, TimeInForce::Ioc),
    };
    // Before any order the market's rules are unknown: nothing is fetched to rehearse.
    prepared(v.begin(rehearsal(), ctx).unwrap());
    let (plain, digest) = signed_post(&v, ctx);
    prepared(v.begin(VenueOp::Prepare, ctx).unwrap());
    let account = {
        let sig = decode_hex(plain["order"]["signature"].as_str().unwrap()).unwrap();
        let d: [u8; 32] = decode_hex(&digest).unwrap().try_into().unwrap();
        recover(&d, &sig).unwrap()
    };
    for _ in 0..3 {
        // The step a real order begins with, but unsigned (zeros where the signature goes):
        // the venue would refuse it, and the key was not used.
        let (post, _) = http(v.begin(rehearsal(), ctx).unwrap());
        assert_eq!(post.method, "POST");
        assert!(post.url.ends_with("/order"));
        assert!(!post.idempotent);
        let body: serde_json::Value = serde_json::from_slice(&post.body).unwrap();
        let d: [u8; 32] = decode_hex(post.expected_order_id.as_deref().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let sig = decode_hex(body["order"]["signature"].as_str().unwrap()).unwrap();
        assert_eq!(sig, vec![0u8; 65]);
        assert!(recover(&d, &sig).is_err());
        assert_eq!(
            body["order"]["signer"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase(),
            account.to_string().to_ascii_lowercase()
        );
    }
    // The next real order still finds the prepared nonce (a rehearsal signs nothing), and it
    // is the order it would have been.
    let (real, digest2) = signed_post(&v, ctx);
    assert_eq!(digest, digest2);
    let sig =
        |b: &serde_json::Value| decode_hex(b["order"]["signature"].as_str().unwrap()).unwrap();
    let d: [u8; 32] = decode_hex(&digest).unwrap().try_into().unwrap();
    assert_eq!(
        recover(&d, &sig(&real)).unwrap(),
        recover(&d, &sig(&plain)).unwrap()
    );
    assert_ne!(
        sig(&real),
        sig(&plain),
        "a rehearsal used the prepared nonce"
    );
    // Nothing remembered: the rehearsal's client id is unknown to the instance.
    let e = v
        .begin(
            VenueOp::GetOrder {
                order_id: None,
                client_order_id: Some("rehearsal-1".into()),
                instrument: TOKEN.into(),
            },
            ctx,
        )
        .unwrap_err();
    assert!(e.message.contains("unknown to this instance"), "{e}");
    // An order the instance cannot build is an error, as for a real one (and the host stops
    // asking).
    let bad = VenueOp::Rehearse {
        order: order("rehearsal-2", 561_000, 2104, TimeInForce::Ioc),
    };
    assert!(v.begin(bad, ctx).is_err());
}

#[test]
fn a_public_instance_has_nothing_to_prepare_or_rehearse() {
    let v = PolymarketVenue::create(VenueConfig {
        instance: "pm".into(),
        settings: json!({"clob_url": "http://clob.test", "gamma_url": "http://gamma.test"}),
        secrets: Secrets::new(),
    })
    .unwrap();
    let rehearsal = VenueOp::Rehearse {
        order: order("rehearsal-1", 560_000, 2104, TimeInForce::Ioc),
    };
    for op in [VenueOp::Prepare, rehearsal] {
        let e = v.begin(op, fixed_ctx()).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }
}

//! The Kalshi adapter against the Kalshi test double, over real HTTP on 127.0.0.1.
//!
//! Every operation runs through the host's own [`VenueIo`] (retries, timeouts, rate limits)
//! on the plugin loaded as a cdylib through the registry, exactly as `polymix` runs it (see
//! `harness.rs`). Only the double's own checks (signature diagnoses, the removed V1 endpoint)
//! are probed with hand-made requests.

use plugin_api::{
    CallCtx, ErrorKind, MarketFilter, OpResult, OrderRequest, OrderState, OrderStatus, Price, Qty,
    Side, TimeInForce, Usd, VenueOp,
};
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::{VenueError, VenueIo};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{registry_for, secret_file, venue_io};
use crate::support::temp_dir;

const T: &str = "KXNBAGAME-26MAY25NYKCLE-NYK";
const ORDERS: &str = "/portfolio/events/orders";

/// reqwest is built with rustls and no crypto provider (the host chooses one); install ring.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("reqwest client")
}

fn ctx() -> CallCtx {
    CallCtx {
        now_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
        random: rand::random(),
    }
}

/// The Kalshi plugin loaded through the registry for one double, keyed with `key_id`/`pem`,
/// and the host's I/O for it.
struct Ks {
    /// Keeps the plugin library loaded while `io` uses it.
    reg: Registry,
    io: VenueIo,
}

impl Ks {
    async fn new(double: &KalshiDouble) -> Ks {
        let k = kalshi::test_keypair();
        Self::with_key(double, &k.key_id, &k.private_key_pem).await
    }

    async fn with_key(double: &KalshiDouble, key_id: &str, pem: &str) -> Ks {
        let dir = temp_dir("kalshi");
        let toml = format!(
            r#"
[[venue]]
name = "kalshi"
plugin = "kalshi"
[venue.settings]
base_url = "{url}"
[venue.secrets]
api_key_id = {id}
private_key_pem = {pem}
"#,
            url = double.base_url,
            id = secret_file(&dir, "kalshi_key_id", key_id),
            pem = secret_file(&dir, "kalshi_key.pem", pem),
        );
        let reg = registry_for(&dir, &toml).await;
        // Enough re-sends for the storms below; every one is the host's own policy.
        let io = venue_io(&reg, "kalshi", 5_000, 8);
        Ks { reg, io }
    }

    /// The same plugin instance with another timeout and re-send budget.
    fn with_io(self, timeout_ms: u64, retries: u32) -> Ks {
        let io = venue_io(&self.reg, "kalshi", timeout_ms, retries);
        Ks { reg: self.reg, io }
    }

    async fn run(&self, op: VenueOp) -> Result<OpResult, VenueError> {
        self.io.run(&op).await
    }

    async fn order(&self, op: VenueOp) -> OrderStatus {
        match self.run(op).await {
            Ok(OpResult::Order { order }) => order,
            other => panic!("expected an order, got {other:?}"),
        }
    }
}

fn order(coid: &str, ins: &str, side: Side, price: &str, qty: &str, tif: TimeInForce) -> VenueOp {
    VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: coid.into(),
            instrument: ins.into(),
            side,
            price: Price::parse(price).unwrap(),
            qty: Qty::parse(qty).unwrap(),
            tif,
            post_only: false,
        },
    }
}

async fn double() -> KalshiDouble {
    let d = kalshi::spawn(KalshiDoubleConfig::default()).await;
    d.add_market(MarketSpec::new(T));
    // YES bids 0.35×200, 0.42×13; NO bids 0.50×7.5 (fractional seed), 0.54×400 → YES asks 0.46×400, 0.50×7.5.
    d.seed_book(
        T,
        &[("0.3500", "200.00"), ("0.4200", "13.00")],
        &[("0.5000", "7.00"), ("0.5400", "400.00")],
    );
    d
}

#[tokio::test]
async fn book_place_get_cancel_balance_fills_positions() {
    let d = double().await;
    let x = Ks::new(&d).await;

    let Ok(OpResult::Book { book }) = x
        .run(VenueOp::Book {
            instrument: format!("{T}:yes"),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(book.best_bid().unwrap().price, Price(420_000));
    assert_eq!(book.best_ask().unwrap().price, Price(460_000));
    assert_eq!(book.best_ask().unwrap().qty, Qty::shares(400));
    assert!(book.is_well_formed());
    let Ok(OpResult::Book { book: no }) = x
        .run(VenueOp::Book {
            instrument: format!("{T}:no"),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(
        (no.best_bid().unwrap().price, no.best_ask().unwrap().price),
        (Price(540_000), Price(580_000))
    );

    let Ok(OpResult::Balance { balance }) = x.run(VenueOp::Balance).await else {
        panic!()
    };
    assert_eq!(balance.available, Usd::dollars(10_000));

    // Buy 10 YES at up to 0.47 FOK: takes the 0.46 ask.
    let o = x
        .order(order(
            "pmx-t1-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.47",
            "10.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(o.filled_qty, Qty::shares(10));
    assert_eq!(o.filled_notional, Usd(4_600_000));
    // 0.07·10·0.46·0.54 = 0.17388 → $0.18.
    assert_eq!(o.fees, Usd(180_000));
    assert_eq!(d.balance(), Usd::dollars(10_000) - Usd(4_780_000));
    assert_eq!(d.position(T), Qty::shares(10));

    // Buy 5 NO at up to 0.60: the NO ask is 1 − 0.42 = 0.58 → a YES-book ask at 0.40, filled at 0.42.
    let o = x
        .order(order(
            "pmx-t1-b0",
            &format!("{T}:no"),
            Side::Buy,
            "0.60",
            "5.00",
            TimeInForce::Ioc,
        ))
        .await;
    assert_eq!(
        (o.state, o.side, o.instrument.as_str()),
        (OrderState::Filled, Side::Buy, format!("{T}:no").as_str())
    );
    assert_eq!(o.filled_notional, Usd(2_900_000)); // 5 × 0.58
    assert_eq!(d.orders()[1].body["side"], "ask");
    assert_eq!(d.orders()[1].body["price"], "0.4000");

    // A resting GTC bid, found by id and by client_order_id, listed, then cancelled.
    let o = x
        .order(order(
            "pmx-t2-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.30",
            "3.00",
            TimeInForce::Gtc,
        ))
        .await;
    assert_eq!(o.state, OrderState::Open);
    let by_id = x
        .order(VenueOp::GetOrder {
            order_id: Some(o.order_id.clone()),
            client_order_id: None,
            instrument: format!("{T}:yes"),
        })
        .await;
    assert_eq!(by_id.client_order_id.as_deref(), Some("pmx-t2-a0"));
    let by_coid = x
        .order(VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("pmx-t2-a0".into()),
            instrument: format!("{T}:yes"),
        })
        .await;
    assert_eq!(by_coid.order_id, o.order_id);
    let Ok(OpResult::Orders { orders }) = x
        .run(VenueOp::OpenOrders {
            instrument: Some(format!("{T}:yes")),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(orders.len(), 1);
    let c = x
        .order(VenueOp::CancelOrder {
            order_id: o.order_id.clone(),
            instrument: format!("{T}:yes"),
        })
        .await;
    assert_eq!(c.state, OrderState::Cancelled);
    let Ok(OpResult::Orders { orders }) = x.run(VenueOp::OpenOrders { instrument: None }).await
    else {
        panic!()
    };
    assert!(orders.is_empty());
    let e = x
        .run(VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("nope".into()),
            instrument: format!("{T}:yes"),
        })
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        Some(ErrorKind::Rejected {
            code: "not_found".into()
        }),
        "{e}"
    );

    let Ok(OpResult::Fills { fills }) = x
        .run(VenueOp::Fills {
            instrument: None,
            since_ms: Some(0),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(fills.len(), 2);
    let total_fees: Usd = fills.iter().map(|f| f.fee).sum();
    assert_eq!(total_fees, Usd(180_000) + d.orders()[1].taker_fees);

    // 10 YES bought, then 5 NO: nets to 5 YES.
    let Ok(OpResult::Positions { positions }) = x.run(VenueOp::Positions).await else {
        panic!()
    };
    assert_eq!(positions.len(), 1);
    assert_eq!(
        (positions[0].instrument.as_str(), positions[0].qty),
        (format!("{T}:yes").as_str(), Qty::shares(5))
    );

    let Ok(OpResult::Balance { balance }) = x.run(VenueOp::Balance).await else {
        panic!()
    };
    assert_eq!(
        balance.available,
        d.balance().round_to(10_000, plugin_api::Rounding::Down)
    );

    let Ok(OpResult::Rules { rules }) = x
        .run(VenueOp::Rules {
            instrument: format!("{T}:no"),
        })
        .await
    else {
        panic!()
    };
    assert_eq!(rules.tick, Price(10_000));
    assert!(d.auth_failures().is_empty(), "{:?}", d.auth_failures());
}

#[tokio::test]
async fn a_429_storm_is_ridden_out_without_a_duplicate_order() {
    let d = double().await;
    let x = Ks::new(&d).await;
    d.inject(FaultRule::every_request(Fault::Status(429)).times(6));
    let o = x
        .order(order(
            "pmx-t3-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "2.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(d.orders().len(), 1);
    assert_eq!(d.place_attempts(), 7);
    assert_eq!(d.requests().iter().filter(|r| r.status == 429).count(), 6);
}

#[tokio::test]
async fn a_timed_out_submit_is_resolved_by_client_order_id_without_a_second_order() {
    let d = double().await;
    let x = Ks::new(&d).await.with_io(300, 8);
    // The double books the order, then answers too late; the plugin looks it up within the
    // operation.
    d.inject(FaultRule::once(
        "POST",
        ORDERS,
        Fault::DelayAfter(Duration::from_millis(1_500)),
    ));
    let o = x
        .order(order(
            "pmx-t4-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "4.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(o.client_order_id.as_deref(), Some("pmx-t4-a0"));
    assert_eq!(d.orders().len(), 1);
    assert_eq!(d.place_attempts(), 1);
}

#[tokio::test]
async fn a_dropped_or_failed_submit_is_reconciled_not_duplicated() {
    let d = double().await;
    let x = Ks::new(&d).await;
    // Connection dropped after the order was booked.
    d.inject(FaultRule::once("POST", ORDERS, Fault::DropAfter));
    let o = x
        .order(order(
            "pmx-t5-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.state, OrderState::Filled);
    // A 503 after booking: the adapter looks the order up by itself.
    d.inject(FaultRule::once("POST", ORDERS, Fault::StatusAfter(503)));
    let o = x
        .order(order(
            "pmx-t5-b0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.state, OrderState::Filled);
    // A 502 before booking: the lookup finds nothing. The old test driver then re-sent the
    // order; the host never re-sends a write that may have been processed, so the operation
    // ends "outcome unknown" for the engine to reconcile, and nothing more is booked.
    d.inject(FaultRule::once("POST", ORDERS, Fault::Status(502)));
    let e = x
        .run(order(
            "pmx-t5-c0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await
        .expect_err("nothing was booked");
    assert!(matches!(e, VenueError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(d.orders().len(), 2);
    assert_eq!(d.place_attempts(), 3, "one POST per intent, never re-sent");
}

#[tokio::test]
async fn a_resent_client_order_id_returns_the_existing_order() {
    let d = double().await;
    let x = Ks::new(&d).await;
    let op = order(
        "pmx-t6-a0",
        &format!("{T}:yes"),
        Side::Buy,
        "0.30",
        "2.00",
        TimeInForce::Gtc,
    );
    let first = x.order(op.clone()).await;
    let again = x.order(op).await;
    assert_eq!(first.order_id, again.order_id);
    assert_eq!(d.orders().len(), 1);
    assert_eq!(d.place_attempts(), 2);
}

#[tokio::test]
async fn signing_mistakes_are_refused_and_diagnosed() {
    use polymix_venue_kalshi::auth::Signer;
    let d = double().await;
    let k = kalshi::test_keypair();
    let signer = Signer::new(&k.key_id, &k.private_key_pem).unwrap();
    let client = http_client();
    let now = ctx().now_ms;
    let url = format!("{}/portfolio/orders?limit=5", d.base_url);
    let cases: [(i64, &str, &str); 3] = [
        (
            now,
            "/trade-api/v2/portfolio/orders?limit=5",
            "the query string was signed (sign the path only)",
        ),
        (
            now,
            "/portfolio/orders",
            "the /trade-api/v2 prefix was left out of the signed path",
        ),
        (
            now / 1000,
            "/trade-api/v2/portfolio/orders",
            "a seconds timestamp was signed but milliseconds were sent",
        ),
    ];
    for (signed_ts, signed_path, expected) in cases {
        // Sign the message by hand (the Signer always strips queries, so build it directly).
        let sig = if signed_path.contains('?') {
            use base64::Engine as _;
            use rsa::pkcs1::DecodeRsaPrivateKey;
            use rsa::signature::{RandomizedSigner, SignatureEncoding};
            let key = rsa::RsaPrivateKey::from_pkcs1_pem(&k.private_key_pem).unwrap();
            let sk = rsa::pss::BlindedSigningKey::<sha2::Sha256>::new(key);
            let s = sk.sign_with_rng(
                &mut rand::thread_rng(),
                format!("{signed_ts}GET{signed_path}").as_bytes(),
            );
            base64::engine::general_purpose::STANDARD.encode(s.to_bytes())
        } else {
            signer.sign(signed_ts, "GET", signed_path).unwrap()
        };
        let r = client
            .get(&url)
            .header("KALSHI-ACCESS-KEY", &k.key_id)
            .header("KALSHI-ACCESS-TIMESTAMP", now.to_string())
            .header("KALSHI-ACCESS-SIGNATURE", sig)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "authentication_error");
        let f = d.auth_failures().pop().unwrap();
        assert!(f.diagnosis.contains(&expected), "{f:?}");
    }
    // A key the venue does not know (e.g. a demo key on prod) → Auth with a hint.
    let x = Ks::with_key(
        &d,
        "11111111-2222-3333-4444-555555555555",
        &k.private_key_pem,
    )
    .await;
    let e = x.run(VenueOp::Balance).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Auth), "{e}");
    assert!(
        e.to_string().contains("demo and prod keys are separate"),
        "{e}"
    );
    // Removed V1 endpoint: an error body with a 2xx status.
    let r = client
        .post(format!("{}/portfolio/orders", d.base_url))
        .header("KALSHI-ACCESS-KEY", &k.key_id)
        .header("KALSHI-ACCESS-TIMESTAMP", now.to_string())
        .header(
            "KALSHI-ACCESS-SIGNATURE",
            signer
                .sign(now, "POST", "/trade-api/v2/portfolio/orders")
                .unwrap(),
        )
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "deprecated_v1_order_endpoint");
}

#[tokio::test]
async fn read_only_keys_can_read_but_not_trade() {
    let k = kalshi::test_keypair();
    let mut cfg = KalshiDoubleConfig::default();
    cfg.keys[0].write = false;
    let d = kalshi::spawn(cfg).await;
    d.add_market(MarketSpec::new(T));
    let x = Ks::with_key(&d, &k.key_id, &k.private_key_pem_pkcs8).await;
    assert!(matches!(
        x.run(VenueOp::Balance).await,
        Ok(OpResult::Balance { .. })
    ));
    let e = x
        .run(order(
            "pmx-t7-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Auth), "{e}");
    assert!(e.to_string().contains("write scope"), "{e}");
    assert!(d.orders().is_empty());
}

#[tokio::test]
async fn markets_paginate_with_opaque_cursors_and_exclude_parlays() {
    let d = kalshi::spawn(KalshiDoubleConfig::default()).await;
    for t in [
        "KXNBAGAME-26MAY25NYKCLE-NYK",
        "KXNBAGAME-26MAY25NYKCLE-CLE",
        "KXNBAGAME-26MAY27BOSMIA-BOS",
        "KXMVENBA-26MAY25-X",
    ] {
        let mut m = MarketSpec::new(t);
        if t.starts_with("KXMVE") {
            m.series_ticker = "KXNBAGAME".into();
        }
        d.add_market(m);
    }
    let x = Ks::new(&d).await;
    let mut cursor = None;
    let mut all = Vec::new();
    loop {
        let filter = MarketFilter {
            series: Some("KXNBAGAME".into()),
            status: Some("open".into()),
            cursor: cursor.clone(),
            limit: Some(2),
        };
        let Ok(OpResult::Markets {
            markets,
            next_cursor,
        }) = x.run(VenueOp::Markets { filter }).await
        else {
            panic!()
        };
        all.extend(markets);
        match next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(all.len(), 6, "{all:?}");
    assert!(all.iter().all(|m| !m.instrument.starts_with("KXMVE")));
    assert!(d.requests().iter().all(|r| r.status == 200));
}

#[tokio::test]
async fn resolution_after_settlement() {
    let d = double().await;
    let x = Ks::new(&d).await;
    let Ok(OpResult::Resolution { resolution }) = x
        .run(VenueOp::Resolution {
            instrument: format!("{T}:no"),
        })
        .await
    else {
        panic!()
    };
    assert!(!resolution.resolved);
    d.update_market(T, |m| {
        m.status = "finalized".into();
        m.result = "no".into();
        m.settlement_value_dollars = Some("0.0000".into());
    });
    let Ok(OpResult::Resolution { resolution }) = x
        .run(VenueOp::Resolution {
            instrument: format!("{T}:no"),
        })
        .await
    else {
        panic!()
    };
    assert!(resolution.resolved);
    assert_eq!(resolution.payout, Price::ONE);
    let e = x
        .run(order(
            "pmx-t8-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        Some(ErrorKind::Rejected {
            code: "market_closed".into()
        }),
        "{e}"
    );
}

/// An Ed25519 API key: the double verifies plain Ed25519 over the same message, reads and
/// trades work, and the key registered under another id is refused.
#[tokio::test]
async fn ed25519_keys_sign_requests_the_double_accepts() {
    use polymix_doubles::kalshi::RegisteredKey;
    let ed = kalshi::test_ed25519_keypair("ed25519-test-key");
    let mut cfg = KalshiDoubleConfig::default();
    cfg.keys.push(RegisteredKey::from_pair(&ed));
    let d = kalshi::spawn(cfg).await;
    d.add_market(MarketSpec::new(T));
    d.seed_book(T, &[("0.4200", "13.00")], &[("0.5400", "400.00")]);
    let x = Ks::with_key(&d, &ed.key_id, &ed.private_key_pem).await;
    assert!(matches!(
        x.run(VenueOp::Balance).await,
        Ok(OpResult::Balance { .. })
    ));
    let o = x
        .run(order(
            "pmx-ed-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.46",
            "2.00",
            TimeInForce::Fok,
        ))
        .await
        .unwrap();
    let OpResult::Order { order } = o else {
        panic!("{o:?}")
    };
    assert_eq!(order.filled_qty, Qty::shares(2));
    assert!(d.auth_failures().is_empty(), "{:?}", d.auth_failures());
    // The Ed25519 key under the RSA key's id: the signature does not verify.
    let wrong = Ks::with_key(&d, &kalshi::test_keypair().key_id, &ed.private_key_pem).await;
    let e = wrong.run(VenueOp::Balance).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Auth), "{e}");
    assert_eq!(d.auth_failures().len(), 1);
}

/// Issue #11 item 11: `cancel-all` lists resting orders (paged) and cancels them with batch
/// cancels of at most 20 (the double refuses bigger batches), reporting per order what was and
/// was not cancelled; an instrument limits it to its market.
#[tokio::test]
async fn cancel_all_lists_resting_orders_and_cancels_them_in_batches() {
    const U: &str = "KXNBAGAME-26MAY25NYKCLE-CLE";
    let d = double().await;
    d.add_market(MarketSpec::new(U));
    let x = Ks::new(&d).await;
    // 205 resting bids on T (more than one 200-order page), one on U, and one filled order.
    for i in 0..205 {
        let o = x
            .order(order(
                &format!("pmx-ca-{i}"),
                &format!("{T}:yes"),
                Side::Buy,
                "0.10",
                "1.00",
                TimeInForce::Gtc,
            ))
            .await;
        assert_eq!(o.state, OrderState::Open);
    }
    let u = x
        .order(order(
            "pmx-ca-u",
            &format!("{U}:yes"),
            Side::Buy,
            "0.10",
            "1.00",
            TimeInForce::Gtc,
        ))
        .await;
    let filled = x
        .order(order(
            "pmx-ca-f",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "1.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(filled.state, OrderState::Filled);

    // One batch fails before processing: its orders are reported as not cancelled. The host
    // gets no re-sends here, so the refused batch is reported rather than retried.
    let once = x.with_io(5_000, 0);
    d.inject(FaultRule::once(
        "DELETE",
        "/portfolio/events/orders/batched",
        Fault::Status(503),
    ));
    let r = once
        .run(VenueOp::CancelAll {
            instrument: Some(format!("{T}:no")),
        })
        .await
        .expect("cancel-all on T");
    let OpResult::Cancelled {
        cancelled,
        not_cancelled,
    } = r
    else {
        panic!("{r:?}")
    };
    assert_eq!(cancelled.len() + not_cancelled.len(), 205);
    assert_eq!(not_cancelled.len(), 20, "{not_cancelled:?}");
    assert!(not_cancelled[0].reason.contains("503"), "{not_cancelled:?}");
    let resting: Vec<String> = d
        .orders()
        .into_iter()
        .filter(|o| o.status == "resting")
        .map(|o| o.order_id)
        .collect();
    // Exactly what the report says: the refused batch and U's order still rest.
    let mut expected: Vec<String> = not_cancelled.iter().map(|n| n.order_id.clone()).collect();
    expected.push(u.order_id.clone());
    let mut got = resting.clone();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    for id in &cancelled {
        let o = d.orders().into_iter().find(|o| &o.order_id == id).unwrap();
        assert_eq!(o.status, "canceled", "{id}");
    }
    let reqs = d.requests();
    let lists: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/portfolio/orders"))
        .filter(|r| r.query.contains("status=resting"))
        .collect();
    assert_eq!(lists.len(), 2, "two pages of resting orders");
    assert!(lists
        .iter()
        .all(|r| r.query.contains(&format!("ticker={T}"))));
    let batches: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.ends_with("/portfolio/events/orders/batched"))
        .collect();
    assert_eq!(batches.len(), 11, "205 orders in batches of 20");
    assert!(batches.iter().all(|b| b.status == 200 || b.status == 503));

    // Without an instrument: everything left, on every market.
    let r = once
        .run(VenueOp::CancelAll { instrument: None })
        .await
        .expect("cancel-all");
    let OpResult::Cancelled {
        cancelled,
        not_cancelled,
    } = r
    else {
        panic!("{r:?}")
    };
    assert!(not_cancelled.is_empty(), "{not_cancelled:?}");
    assert_eq!(cancelled.len(), 21);
    assert!(cancelled.contains(&u.order_id));
    assert!(d.orders().iter().all(|o| o.status != "resting"));
    // Nothing left: an empty report, no batch sent.
    let before = d.requests().len();
    let r = once
        .run(VenueOp::CancelAll { instrument: None })
        .await
        .unwrap();
    assert_eq!(
        r,
        OpResult::Cancelled {
            cancelled: vec![],
            not_cancelled: vec![]
        }
    );
    assert_eq!(d.requests().len(), before + 1, "one listing, no batch");
}

/// The venue books the order and answers its real status with a body that is not JSON (a
/// proxy's page): the host sends the order once and the plugin finds it by client order id.
#[tokio::test]
async fn a_garbled_submit_answer_is_resolved_by_client_order_id() {
    let d = double().await;
    let x = Ks::new(&d).await;
    d.inject(FaultRule::once("POST", ORDERS, Fault::GarbageAfter));
    let o = x
        .order(order(
            "pmx-gb-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "2.00",
            TimeInForce::Fok,
        ))
        .await;
    assert_eq!(o.client_order_id.as_deref(), Some("pmx-gb-a0"));
    assert_eq!(o.state, OrderState::Filled);
    assert_eq!(o.filled_qty, Qty::shares(2));
    assert_eq!(d.place_attempts(), 1, "one POST, never re-sent");
    assert_eq!(d.orders().len(), 1);
    // What the double answers under this fault: the order is booked, the answer is its real
    // 201 with a body that is not JSON (the same order body, re-sent by hand under a new id).
    let posted = d
        .requests()
        .into_iter()
        .find(|r| r.method == "POST" && r.path.ends_with(ORDERS))
        .expect("the plugin's POST")
        .body
        .replace("pmx-gb-a0", "pmx-gb-raw");
    d.inject(FaultRule::once("POST", ORDERS, Fault::GarbageAfter));
    let k = kalshi::test_keypair();
    let signer = polymix_venue_kalshi::auth::Signer::new(&k.key_id, &k.private_key_pem).unwrap();
    let now = ctx().now_ms;
    let r = http_client()
        .post(format!("{}{ORDERS}", d.base_url))
        .header("KALSHI-ACCESS-KEY", &k.key_id)
        .header("KALSHI-ACCESS-TIMESTAMP", now.to_string())
        .header(
            "KALSHI-ACCESS-SIGNATURE",
            signer
                .sign(now, "POST", &format!("/trade-api/v2{ORDERS}"))
                .unwrap(),
        )
        .header("content-type", "application/json")
        .body(posted)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let body = r.bytes().await.unwrap();
    assert!(
        serde_json::from_slice::<serde_json::Value>(&body).is_err(),
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(d.orders().len(), 2, "booked before the garbled answer");
}

/// The venue holds the order 3.7 s and books it after the host gave up at 1 s: the operation
/// ends "outcome unknown" (or finds the order, had it landed before the lookup) and the order
/// is never sent twice; once it lands, a lookup by client order id finds it.
#[tokio::test]
async fn a_late_booked_submit_is_unknown_not_resent() {
    let d = double().await;
    let x = Ks::new(&d).await.with_io(1_000, 3);
    d.inject(FaultRule::once(
        "POST",
        ORDERS,
        Fault::Late(Duration::from_millis(3_700)),
    ));
    let started = std::time::Instant::now();
    let r = x
        .run(order(
            "pmx-lt-a0",
            &format!("{T}:yes"),
            Side::Buy,
            "0.50",
            "2.00",
            TimeInForce::Fok,
        ))
        .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "the host's timeout struck: {took:?}"
    );
    match &r {
        Err(e) => assert!(matches!(e, VenueError::OutcomeUnknown { .. }), "{e:?}"),
        Ok(OpResult::Order { order }) => {
            // Only possible once the venue booked it.
            assert!(took >= Duration::from_millis(3_700), "{took:?}");
            assert_eq!(order.client_order_id.as_deref(), Some("pmx-lt-a0"))
        }
        Ok(other) => panic!("{other:?}"),
    }
    assert_eq!(d.place_attempts(), 1, "one POST, never re-sent");
    // The venue books it later, whether or not anyone waits.
    let deadline = started + Duration::from_secs(10);
    while d.orders().is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(d.orders().len(), 1, "booked once, late");
    let found = x
        .order(VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("pmx-lt-a0".into()),
            instrument: format!("{T}:yes"),
        })
        .await;
    assert_eq!(found.state, OrderState::Filled);
    assert_eq!(d.place_attempts(), 1);
}

//! Polymarket adapter against the Polymarket double. Every operation runs through the host's
//! own [`VenueIo`] on the plugin loaded as a cdylib through the registry (`harness.rs`), exactly
//! as `polymix` runs it; only the double's own checks are probed with hand-made requests.

use plugin_api::*;
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::polymarket::{spawn, MarketSeed, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::{VenueError, VenueIo};
use polymix_venue_polymarket::auth_l2::ApiCreds;
use polymix_venue_polymarket::eth::{Address, Wallet};
use polymix_venue_polymarket::order_v2::{
    post_order_body, Exchanges, OrderSide, OrderType, OrderV2, SignatureType,
};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::harness::{registry_for, secret_file, venue_io};
use crate::support::temp_dir;

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const ADDR: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const YES: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const NO: &str = "48331043336612883890938759509493159234755048973500640148014422747788308965732";
const NEG: &str = "1234567890";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Minimal plain-HTTP/1.1 client (one connection per request, `Connection: close`). The
/// workspace's reqwest is built without a TLS crypto provider, and plain http is all the double needs.
async fn http_send(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    timeout: Duration,
) -> HttpResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fail = HttpResponse {
        status: 0,
        headers: vec![],
        body: vec![],
    };
    let rest = url.strip_prefix("http://").expect("plain http");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let fut = async {
        let mut sock = tokio::net::TcpStream::connect(host).await.ok()?;
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        sock.write_all(req.as_bytes()).await.ok()?;
        sock.write_all(body).await.ok()?;
        let mut buf = Vec::new();
        sock.read_to_end(&mut buf).await.ok()?;
        let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&buf[..split]).to_string();
        let mut lines = head.split("\r\n");
        let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let hdrs: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut b = buf[split + 4..].to_vec();
        if hdrs
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            b = dechunk(&b)?;
        }
        Some(HttpResponse {
            status,
            headers: hdrs,
            body: b,
        })
    };
    match tokio::time::timeout(timeout, fut).await {
        Ok(Some(r)) => r,
        _ => fail,
    }
}

fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let i = b.windows(2).position(|w| w == b"\r\n")?;
        let n = usize::from_str_radix(std::str::from_utf8(&b[..i]).ok()?.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.extend_from_slice(b.get(i + 2..i + 2 + n)?);
        b = b.get(i + 4 + n..)?;
    }
}

/// The Polymarket plugin loaded through the registry for one double.
struct Pm {
    reg: Registry,
}

impl Pm {
    /// The host's I/O for it, with this timeout and two re-sends (as configured in production).
    fn io(&self, timeout_ms: u64) -> VenueIo {
        venue_io(&self.reg, "pm", timeout_ms, 2)
    }
}

async fn setup(configured_creds: bool) -> (PolymarketDouble, Pm) {
    let d = spawn(PolymarketDoubleConfig::default()).await;
    let mut yes = MarketSeed::new(YES, "0xcond1");
    yes.question = "Lakers beat Celtics?".into();
    let mut no = MarketSeed::new(NO, "0xcond1");
    no.outcome = "No".into();
    no.question = "Lakers beat Celtics?".into();
    let mut neg = MarketSeed::new(NEG, "0xcond2");
    neg.neg_risk = true;
    neg.fee_rate = None;
    d.add_market(yes);
    d.add_market(no);
    d.add_market(neg);
    d.set_book(
        YES,
        &[("0.50", "20"), ("0.49", "100")],
        &[("0.56", "10"), ("0.57", "100")],
    );
    d.set_book(NEG, &[], &[("0.30", "50")]);
    d.set_balance(ADDR, "100");
    let dir = temp_dir("pm");
    // Without API credentials the plugin derives them via L1 on first use.
    let creds = if configured_creds {
        let (k, s, p) = d.issue_key(ADDR);
        format!(
            "api_key = {}\napi_secret = {}\napi_passphrase = {}\n",
            secret_file(&dir, "pm_api_key", &k),
            secret_file(&dir, "pm_api_secret", &s),
            secret_file(&dir, "pm_api_passphrase", &p),
        )
    } else {
        String::new()
    };
    let toml = format!(
        r#"
[[venue]]
name = "pm"
plugin = "polymarket"
[venue.settings]
clob_url = "{clob}"
gamma_url = "{gamma}"
data_url = "{data}"
fee_rate = "0.04"
[venue.secrets]
private_key = {pk}
{creds}"#,
        clob = d.base_url,
        gamma = d.gamma_url,
        data = d.data_url,
        pk = secret_file(&dir, "pm_private_key", PK),
    );
    let reg = registry_for(&dir, &toml).await;
    (d, Pm { reg })
}

/// An order of `qty` hundredths of a share (the venue's size step).
fn limit(coid: &str, token: &str, side: Side, price: i64, qty: i64, tif: TimeInForce) -> VenueOp {
    VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: coid.into(),
            instrument: token.into(),
            side,
            price: Price(price),
            qty: Qty(qty * (plugin_api::money::SHARE / 100)),
            tif,
            post_only: false,
        },
    }
}

fn order_of(r: OpResult) -> OrderStatus {
    match r {
        OpResult::Order { order } => order,
        other => panic!("expected an order, got {other:?}"),
    }
}

fn fills_of(r: OpResult) -> Vec<Fill> {
    match r {
        OpResult::Fills { fills } => fills,
        other => panic!("expected fills, got {other:?}"),
    }
}

#[tokio::test]
async fn polymarket_full_cycle_against_double() {
    let (d, v) = setup(false).await; // credentials derived via L1 on first use
    let x = v.io(2_000);

    match x
        .run(&VenueOp::Book {
            instrument: YES.into(),
        })
        .await
        .unwrap()
    {
        OpResult::Book { book } => {
            assert!(book.is_well_formed());
            assert_eq!(book.best_ask().unwrap().price, Price(560_000));
            assert_eq!(book.best_bid().unwrap().price, Price(500_000));
        }
        o => panic!("{o:?}"),
    }
    match x
        .run(&VenueOp::Rules {
            instrument: YES.into(),
        })
        .await
        .unwrap()
    {
        OpResult::Rules { rules } => {
            assert_eq!(rules.tick, Price(10_000));
            assert_eq!(rules.min_qty, Qty::shares(5));
            assert_eq!(rules.min_notional, Usd::dollars(1));
            assert_eq!(rules.taker_fee, FeeModel::polymarket(50_000)); // from the market's fd, not the 0.04 setting
        }
        o => panic!("{o:?}"),
    }
    match x
        .run(&VenueOp::Rules {
            instrument: NEG.into(),
        })
        .await
        .unwrap()
    {
        OpResult::Rules { rules } => assert_eq!(rules.taker_fee, FeeModel::polymarket(40_000)),
        o => panic!("{o:?}"),
    }

    // Resting GTC order, get, list, cancel.
    let o = order_of(
        x.run(&limit(
            "c-rest",
            YES,
            Side::Buy,
            450_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(o.state, OrderState::Open);
    assert!(o.order_id.starts_with("0x") && o.order_id.len() == 66);
    let got = order_of(
        x.run(&VenueOp::GetOrder {
            order_id: Some(o.order_id.clone()),
            client_order_id: None,
            instrument: YES.into(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(
        (got.qty, got.price, got.client_order_id.as_deref()),
        (Qty::shares(10), Price(450_000), Some("c-rest"))
    );
    match x
        .run(&VenueOp::OpenOrders {
            instrument: Some(YES.into()),
        })
        .await
        .unwrap()
    {
        OpResult::Orders { orders } => assert_eq!(orders.len(), 1),
        o => panic!("{o:?}"),
    }
    let c = order_of(
        x.run(&VenueOp::CancelOrder {
            order_id: o.order_id.clone(),
            instrument: YES.into(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(c.state, OrderState::Cancelled);
    assert_eq!(d.order_status(&o.order_id).as_deref(), Some("CANCELED"));

    // Marketable FOK buy: fills 10 @ 0.56.
    let f = order_of(
        x.run(&limit(
            "c-fok",
            YES,
            Side::Buy,
            560_000,
            1000,
            TimeInForce::Fok,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(f.state, OrderState::Filled, "{f:?}");
    assert_eq!(f.filled_qty, Qty::shares(10));
    let fills = fills_of(
        x.run(&VenueOp::Fills {
            instrument: Some(YES.into()),
            since_ms: None,
        })
        .await
        .unwrap(),
    );
    assert_eq!(fills.len(), 1);
    assert_eq!(fills[0].status, FillStatus::Matched);
    assert_eq!(fills[0].client_order_id.as_deref(), Some("c-fok"));
    assert_eq!(
        (fills[0].price, fills[0].qty),
        (Price(560_000), Qty::shares(10))
    );
    assert_eq!(
        fills[0].fee,
        FeeModel::polymarket(50_000).taker_fee(Price(560_000), Qty::shares(10))
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fills = fills_of(
        x.run(&VenueOp::Fills {
            instrument: None,
            since_ms: Some(0),
        })
        .await
        .unwrap(),
    );
    assert_eq!(fills[0].status, FillStatus::Confirmed);
    match x.run(&VenueOp::Balance).await.unwrap() {
        // $100 − 10 × 0.56 − the taker fee the venue charged: 10 × 0.05 × 0.56 × 0.44.
        OpResult::Balance { balance } => {
            assert_eq!(balance.available, Usd(94_400_000 - 123_200))
        }
        o => panic!("{o:?}"),
    }
    match x.run(&VenueOp::Positions).await.unwrap() {
        OpResult::Positions { positions } => {
            assert_eq!(positions.len(), 1);
            assert_eq!(
                (positions[0].instrument.as_str(), positions[0].qty),
                (YES, Qty::shares(10))
            );
        }
        o => panic!("{o:?}"),
    }

    // Neg-risk market: the plugin signs for the neg-risk exchange and the double accepts it.
    let n = order_of(
        x.run(&limit(
            "c-neg",
            NEG,
            Side::Buy,
            300_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(n.state, OrderState::Filled);

    // Gamma listing with its JSON-in-string fields; resolution from tokens[].winner.
    match x
        .run(&VenueOp::Markets {
            filter: MarketFilter::default(),
        })
        .await
        .unwrap()
    {
        OpResult::Markets { markets, .. } => {
            let yes = markets.iter().find(|m| m.instrument == YES).unwrap();
            assert_eq!(yes.title, "Lakers beat Celtics?: Yes");
            assert_eq!(yes.market, "0xcond1");
            assert_eq!(markets.len(), 3);
        }
        o => panic!("{o:?}"),
    }
    let res = |r: OpResult| match r {
        OpResult::Resolution { resolution } => resolution,
        o => panic!("{o:?}"),
    };
    let r = res(x
        .run(&VenueOp::Resolution {
            instrument: YES.into(),
        })
        .await
        .unwrap());
    assert!(!r.resolved);
    d.resolve(NO, true);
    let r = res(x
        .run(&VenueOp::Resolution {
            instrument: YES.into(),
        })
        .await
        .unwrap());
    assert_eq!((r.resolved, r.payout), (true, Price::ZERO));
    let r = res(x
        .run(&VenueOp::Resolution {
            instrument: NO.into(),
        })
        .await
        .unwrap());
    assert_eq!((r.resolved, r.payout), (true, Price::ONE));
}

#[tokio::test]
async fn polymarket_ambiguous_submit_is_resolved_without_duplicate() {
    let (d, v) = setup(true).await;
    let x = v.io(300);
    // The double places the order, then answers too late: the client times out.
    d.inject(FaultRule::once(
        "POST",
        "/order",
        Fault::DelayAfter(Duration::from_millis(1_000)),
    ));
    let o = order_of(
        x.run(&limit(
            "amb-1",
            YES,
            Side::Buy,
            450_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(o.state, OrderState::Open);
    assert_eq!(o.client_order_id.as_deref(), Some("amb-1"));
    assert_eq!(d.received_orders().len(), 1, "no resubmission");
    assert_eq!(d.accepted_orders(), 1);
    // Later, by client order id only.
    let g = order_of(
        x.run(&VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("amb-1".into()),
            instrument: YES.into(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(g.order_id, o.order_id);

    // Connection dropped after the order took effect: same resolution.
    d.inject(FaultRule::once("POST", "/order", Fault::DropAfter));
    let o2 = order_of(
        x.run(&limit(
            "amb-2",
            YES,
            Side::Buy,
            440_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(o2.state, OrderState::Open);
    assert_eq!(d.accepted_orders(), 2);

    // Dropped before it took effect: the lookup finds nothing, so the outcome stays unknown
    // (never a blind resubmit) and names the expected id.
    d.inject(FaultRule::once("POST", "/order", Fault::Drop));
    let e = x
        .run(&limit(
            "amb-3",
            YES,
            Side::Buy,
            430_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, VenueError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(e.kind(), Some(ErrorKind::Timeout), "{e}");
    assert!(e.to_string().contains("0x"));
    assert_eq!(d.accepted_orders(), 2);
    assert_eq!(d.received_orders().len(), 2);
}

/// The settle sweep asks for an order's fills since the order was created (ms); the venue
/// times trades in whole seconds, so the fill of an order matched at once carries a time
/// before that instant. It must still be listed (it was dropped, so the REST sweep never saw
/// a Polymarket ghost fill).
#[tokio::test]
async fn polymarket_fills_since_an_instant_include_that_seconds_fills() {
    let (_d, v) = setup(true).await;
    let x = v.io(2_000);
    // Mid-second, so the fill's whole-second time is before it.
    loop {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 1000;
        if (200..700).contains(&ms) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let created_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let o = order_of(
        x.run(&limit(
            "same-second",
            YES,
            Side::Buy,
            570_000,
            1000,
            TimeInForce::Ioc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(o.state, OrderState::Filled, "{o:?}");
    let fills = fills_of(
        x.run(&VenueOp::Fills {
            instrument: Some(YES.into()),
            since_ms: Some(created_ms),
        })
        .await
        .unwrap(),
    );
    assert!(
        fills.iter().any(|f| f.order_id == o.order_id),
        "the order's fills are listed: {fills:?}"
    );
}

#[tokio::test]
async fn polymarket_ghost_fill_is_reported_failed() {
    let (d, v) = setup(true).await;
    let x = v.io(2_000);
    d.ghost_next_fill();
    let f = order_of(
        x.run(&limit(
            "ghost",
            YES,
            Side::Buy,
            570_000,
            1500,
            TimeInForce::Ioc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(f.state, OrderState::Filled, "{f:?}");
    let fills = fills_of(
        x.run(&VenueOp::Fills {
            instrument: Some(YES.into()),
            since_ms: None,
        })
        .await
        .unwrap(),
    );
    assert_eq!(fills.len(), 2, "two levels swept");
    assert!(fills.iter().all(|f| f.status == FillStatus::Matched));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fills = fills_of(
        x.run(&VenueOp::Fills {
            instrument: Some(YES.into()),
            since_ms: None,
        })
        .await
        .unwrap(),
    );
    assert!(
        fills.iter().all(|f| f.status == FillStatus::Failed),
        "{fills:?}"
    );
    assert_eq!(d.balance(ADDR), 100_000_000, "settlement reverted");
}

#[tokio::test]
async fn polymarket_faults_and_venue_rules() {
    let (d, v) = setup(true).await;
    let x = v.io(1_000);
    d.inject(FaultRule::once(
        "GET",
        "/balance-allowance",
        Fault::Status(429),
    ));
    // The old test driver surfaced these as RateLimited / Network errors. The host re-sends
    // a rate-limited request after its Retry-After and a failed read after a backoff, so both
    // succeed on the second request.
    let gets = |path: &str| {
        d.request_log()
            .iter()
            .filter(|(m, p, _)| m == "GET" && p == path)
            .count()
    };
    assert!(matches!(
        x.run(&VenueOp::Balance).await,
        Ok(OpResult::Balance { .. })
    ));
    assert_eq!(gets("/balance-allowance"), 2, "refused once, re-sent once");
    d.inject(FaultRule::once("GET", "/book", Fault::Status(503)));
    let books_before = gets("/book");
    assert!(matches!(
        x.run(&VenueOp::Book {
            instrument: YES.into()
        })
        .await,
        Ok(OpResult::Book { .. })
    ));
    assert_eq!(gets("/book"), books_before + 2, "failed once, re-sent once");
    d.inject(FaultRule::once(
        "GET",
        "/book",
        Fault::Delay(Duration::from_millis(100)),
    ));
    assert!(x
        .run(&VenueOp::Book {
            instrument: YES.into()
        })
        .await
        .is_ok());

    // Stale tick: the plugin cached 0.01, the market moved to 0.1 → the venue refuses 0.45,
    // the plugin refreshes the tick and reports the off-grid price.
    d.set_tick(YES, "0.1");
    let e = x
        .run(&limit(
            "tick-1",
            YES,
            Side::Buy,
            450_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        Some(ErrorKind::Rejected {
            code: "tick_size".into()
        }),
        "{e}"
    );
    let ok = order_of(
        x.run(&limit(
            "tick-2",
            YES,
            Side::Buy,
            400_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(ok.state, OrderState::Open);

    // Not enough balance: typed, and the balance cache is refreshed.
    d.set_balance(ADDR, "1");
    let e = x
        .run(&limit(
            "poor",
            YES,
            Side::Buy,
            400_000,
            1000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        Some(ErrorKind::Rejected {
            code: "insufficient_balance".into()
        }),
        "{e}"
    );
    assert_eq!(d.balance_updates(), 1);
}

/// Posts a hand-built order to the double with valid L2 headers.
async fn post_raw(d: &PolymarketDouble, body: String) -> (u16, serde_json::Value) {
    let (k, s, p) = d.issue_key(ADDR);
    let creds = ApiCreds::new(&k, &s, &p).unwrap();
    let w = Wallet::from_hex(PK).unwrap();
    let ts = (now_ms() / 1000).to_string();
    let hdrs: Vec<(String, String)> = creds
        .headers(&w.address(), &ts, "POST", "/order", body.as_bytes())
        .to_vec();
    let r = http_send(
        "POST",
        &format!("{}/order", d.base_url),
        &hdrs,
        body.as_bytes(),
        Duration::from_secs(5),
    )
    .await;
    (r.status, serde_json::from_slice(&r.body).unwrap())
}

#[tokio::test]
async fn polymarket_double_rejects_like_the_venue() {
    let (d, _v) = setup(false).await;
    let w = Wallet::from_hex(PK).unwrap();
    let owner = PolymarketDoubleConfig::default().api_key;
    let order = |token: &str, maker_amount: u64, taker_amount: u64| OrderV2 {
        salt: 42,
        maker: w.address(),
        signer: w.address(),
        token_id: token.into(),
        maker_amount,
        taker_amount,
        side: OrderSide::Buy,
        signature_type: SignatureType::Eoa,
        timestamp_ms: 1_764_000_000_000,
        metadata: [0; 32],
        builder: [0; 32],
        expiration: 0,
    };
    let ex = Exchanges::v2(137);
    // Neg-risk market signed for the standard exchange → invalid signature.
    let o = order(NEG, 3_000_000, 10_000_000);
    let (_, sig) = o.sign(&ex.standard, &w).unwrap();
    let (st, v) = post_raw(&d, post_order_body(&o, &sig, &owner, OrderType::Gtc, false)).await;
    assert_eq!(
        (st, v["error"].as_str().unwrap()),
        (400, "invalid signature")
    );
    // V1-shaped order → order_version_mismatch.
    let v1 = json!({"order": {"salt": 1, "maker": ADDR, "signer": ADDR, "taker": Address::ZERO.to_checksum(), "tokenId": YES,
        "makerAmount": "5000000", "takerAmount": "10000000", "expiration": "0", "nonce": "0", "feeRateBps": "0",
        "side": "BUY", "signatureType": 0, "signature": "0x00"}, "owner": owner, "orderType": "GTC", "postOnly": false});
    let (st, v) = post_raw(&d, v1.to_string()).await;
    assert_eq!(
        (st, v["error"].as_str().unwrap()),
        (400, "order_version_mismatch")
    );
    // Off-tick price, too many decimals, below minimum size.
    let cases = [
        (5_550_000u64, 10_000_000u64, "breaks minimum tick size rule"),
        (
            4_500_001,
            10_000_000,
            "invalid amounts, the buy orders maker amount supports a max accuracy of 4 decimals",
        ),
        (900_000, 2_000_000, "lower than the minimum: 5"),
    ];
    for (m, t, needle) in cases {
        let o = order(YES, m, t);
        let (_, sig) = o.sign(&ex.standard, &w).unwrap();
        let (st, v) = post_raw(&d, post_order_body(&o, &sig, &owner, OrderType::Gtc, false)).await;
        assert_eq!(st, 400);
        assert!(v["error"].as_str().unwrap().contains(needle), "{v}");
    }
    // Market buy with 6 taker decimals (the SDK bug the plugin avoids).
    let o = order(YES, 5_000_000, 8_928_571);
    let (_, sig) = o.sign(&ex.standard, &w).unwrap();
    let (_, v) = post_raw(&d, post_order_body(&o, &sig, &owner, OrderType::Fok, false)).await;
    assert!(v["error"].as_str().unwrap().contains("market buy orders maker amount supports a max accuracy of 2 decimals, taker amount a max of 4"), "{v}");
    // Wrong HMAC → 401.
    let bad: Vec<(String, String)> = [
        ("POLY_API_KEY", owner.as_str()),
        ("POLY_ADDRESS", ADDR),
        ("POLY_PASSPHRASE", "double-passphrase"),
        ("POLY_TIMESTAMP", "1"),
        ("POLY_SIGNATURE", "bad"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let r = http_send(
        "GET",
        &format!("{}/data/orders", d.base_url),
        &bad,
        b"",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(r.status, 401);
}

/// An order of `qty` hundredths of a share (the venue's size step).
fn req(coid: &str, token: &str, side: Side, price: i64, qty: i64) -> OrderRequest {
    OrderRequest {
        client_order_id: coid.into(),
        instrument: token.into(),
        side,
        price: Price(price),
        qty: Qty(qty * (plugin_api::money::SHARE / 100)),
        tif: TimeInForce::Gtc,
        post_only: false,
    }
}

#[tokio::test]
async fn polymarket_batch_place_cancel_and_cancel_all() {
    let (d, v) = setup(true).await;
    let x = v.io(2_000);
    // Three resting buys on two tokens (NEG's metadata is fetched first), one off the tick
    // (refused here, never sent), one the venue refuses (not enough balance: $100 cash).
    let r = x
        .run(&VenueOp::PlaceOrders {
            orders: vec![
                req("b-1", YES, Side::Buy, 400_000, 1_000),
                req("b-2", YES, Side::Buy, 405_500, 1_000),
                req("b-3", NEG, Side::Buy, 200_000, 1_000),
                req("b-4", YES, Side::Buy, 300_000, 100_000),
                req("b-5", YES, Side::Buy, 410_000, 1_000),
            ],
        })
        .await
        .unwrap();
    let OpResult::Placed { results } = r else {
        panic!("expected placed, got {r:?}")
    };
    assert_eq!(results.len(), 5);
    let accepted: Vec<String> = results
        .iter()
        .filter_map(|o| match o {
            PlaceOutcome::Accepted { order } => Some(order.order_id.clone()),
            PlaceOutcome::Refused { .. } => None,
        })
        .collect();
    assert_eq!(accepted.len(), 3, "{results:?}");
    match &results[1] {
        PlaceOutcome::Refused {
            client_order_id,
            error,
        } => {
            assert_eq!(client_order_id, "b-2");
            assert!(error.contains("tick"), "{error}");
        }
        o => panic!("{o:?}"),
    }
    match &results[3] {
        PlaceOutcome::Refused { error, .. } => {
            assert!(error.contains("balance"), "{error}")
        }
        o => panic!("{o:?}"),
    }
    // One request carried the four buildable orders; the off-tick one never left.
    assert_eq!(d.received_orders().len(), 4);
    assert_eq!(d.accepted_orders(), 3);
    // Batch ids map back to client ids.
    let g = order_of(
        x.run(&VenueOp::GetOrder {
            order_id: None,
            client_order_id: Some("b-3".into()),
            instrument: NEG.into(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(g.order_id, accepted[1]);

    // Cancel two by id (one twice is reported not cancelled), then the rest of YES, then all.
    let r = x
        .run(&VenueOp::CancelOrders {
            order_ids: vec![accepted[0].clone()],
        })
        .await
        .unwrap();
    assert_eq!(
        r,
        OpResult::Cancelled {
            cancelled: vec![accepted[0].clone()],
            not_cancelled: vec![]
        }
    );
    let r = x
        .run(&VenueOp::CancelOrders {
            order_ids: vec![accepted[0].clone()],
        })
        .await
        .unwrap();
    let OpResult::Cancelled { not_cancelled, .. } = r else {
        panic!("{r:?}")
    };
    assert_eq!(not_cancelled.len(), 1);
    assert!(
        not_cancelled[0].reason.contains("already"),
        "{not_cancelled:?}"
    );
    let r = x
        .run(&VenueOp::CancelAll {
            instrument: Some(YES.into()),
        })
        .await
        .unwrap();
    assert_eq!(
        r,
        OpResult::Cancelled {
            cancelled: vec![accepted[2].clone()],
            not_cancelled: vec![]
        }
    );
    assert_eq!(d.order_status(&accepted[1]).as_deref(), Some("LIVE"));
    let r = x
        .run(&VenueOp::CancelAll { instrument: None })
        .await
        .unwrap();
    assert_eq!(
        r,
        OpResult::Cancelled {
            cancelled: vec![accepted[1].clone()],
            not_cancelled: vec![]
        }
    );
    assert_eq!(d.order_status(&accepted[1]).as_deref(), Some("CANCELED"));

    // Limits are checked before anything is sent.
    let too_many = (0..16)
        .map(|i| req(&format!("m-{i}"), YES, Side::Buy, 100_000, 1_000))
        .collect();
    let e = x
        .run(&VenueOp::PlaceOrders { orders: too_many })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput), "{e}");
    assert_eq!(d.received_orders().len(), 4);

    // An ambiguous batch names every expected id and is not re-sent.
    d.inject(FaultRule::once("POST", "/orders", Fault::Drop));
    let e = x
        .run(&VenueOp::PlaceOrders {
            orders: vec![req("c-1", YES, Side::Buy, 100_000, 1_000)],
        })
        .await
        .unwrap_err();
    assert!(matches!(e, VenueError::OutcomeUnknown { .. }), "{e:?}");
    assert_eq!(e.kind(), Some(ErrorKind::Timeout), "{e}");
    assert!(e.to_string().contains("0x"), "{e}");
}

#[tokio::test]
async fn polymarket_books_in_one_request() {
    let (_d, v) = setup(true).await;
    let x = v.io(2_000);
    let r = x
        .run(&VenueOp::Books {
            instruments: vec![YES.into(), NEG.into(), "999".into()],
        })
        .await
        .unwrap();
    let OpResult::Books { books } = r else {
        panic!("{r:?}")
    };
    assert_eq!(books.len(), 2, "the unknown token is left out: {books:?}");
    let yes = books.iter().find(|b| b.instrument == YES).unwrap();
    assert_eq!(yes.best_ask().unwrap().price, Price(560_000));
    assert_eq!(yes.best_bid().unwrap().price, Price(500_000));
    let neg = books.iter().find(|b| b.instrument == NEG).unwrap();
    assert_eq!(neg.best_ask().unwrap().price, Price(300_000));
    assert!(neg.bids.is_empty());
    let e = x
        .run(&VenueOp::Books {
            instruments: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidInput), "{e}");
}

/// A book that does not say whether the market is neg-risk: the adapter asks `GET /neg-risk`
/// before signing (a guess would sign for the wrong exchange and be refused), in single and
/// batch placement.
#[tokio::test]
async fn polymarket_asks_neg_risk_when_the_book_does_not_say() {
    let (d, v) = setup(true).await;
    let mut quiet = MarketSeed::new("777", "0xcond3");
    quiet.neg_risk = true;
    quiet.book_omits_neg_risk = true;
    d.add_market(quiet);
    d.set_book("777", &[], &[("0.30", "50")]);
    let x = v.io(2_000);
    let o = order_of(
        x.run(&limit(
            "nr-1",
            "777",
            Side::Buy,
            200_000,
            1_000,
            TimeInForce::Gtc,
        ))
        .await
        .unwrap(),
    );
    assert_eq!(
        o.state,
        OrderState::Open,
        "signed for the neg-risk exchange: {o:?}"
    );
    assert_eq!(d.accepted_orders(), 1);

    // A fresh instance (nothing cached), batch path.
    let (d2, v2) = setup(true).await;
    let x2 = v2.io(2_000);
    let mut quiet = MarketSeed::new("777", "0xcond3");
    quiet.neg_risk = true;
    quiet.book_omits_neg_risk = true;
    d2.add_market(quiet);
    let r = x2
        .run(&VenueOp::PlaceOrders {
            orders: vec![req("nr-2", "777", Side::Buy, 200_000, 1_000)],
        })
        .await
        .unwrap();
    let OpResult::Placed { results } = r else {
        panic!("{r:?}")
    };
    assert!(
        matches!(results[0], PlaceOutcome::Accepted { .. }),
        "{results:?}"
    );
    assert_eq!(d2.accepted_orders(), 1);
}

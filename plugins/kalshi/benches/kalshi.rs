//! Kalshi adapter hot paths: building a signed place request (signing now, or with the
//! signature prepared off the hot path), and parsing a 100-level book and a 100-market page.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use plugin_api::{
    CallCtx, HttpResponse, OrderRequest, Price, Qty, Secret, Secrets, Side, Step, TimeInForce,
    Venue, VenueConfig, VenueOp,
};
use polymix_venue_kalshi::KalshiVenue;
use serde_json::json;

/// The committed test-only key (tests/fixtures/kalshi, from `kalshi_verify.py vector`).
fn pem() -> String {
    let v: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/kalshi/signature_vectors.json"
    ))
    .unwrap();
    v["private_key_pem_pkcs1"].as_str().unwrap().to_string()
}

fn venue(presign_max_age_ms: i64) -> KalshiVenue {
    let mut s = Secrets::new();
    s.insert(
        "api_key_id",
        Secret::new("a952bcbe-ec3b-4b5b-b8f9-11dae589608c"),
    );
    s.insert("private_key_pem", Secret::new(pem()));
    KalshiVenue::create(VenueConfig {
        instance: "ks".into(),
        settings: json!({"base_url": "http://127.0.0.1:9/trade-api/v2",
                         "presign_max_age_ms": presign_max_age_ms}),
        secrets: s,
    })
    .unwrap()
}

fn ctx(n: u64) -> CallCtx {
    let mut random = [0u8; 32];
    random[..8].copy_from_slice(&n.to_le_bytes());
    CallCtx {
        now_ms: 1_764_000_000_000 + (n % 100) as i64,
        random,
    }
}

fn place(n: u64) -> VenueOp {
    VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: format!("pmx-bench-{n}-a0"),
            instrument: "KXNBAGAME-26NOV25LALBOS-LAL:no".into(),
            side: Side::Buy,
            price: Price(430_000),
            qty: Qty::shares(25),
            tif: TimeInForce::Fok,
            post_only: false,
        },
    }
}

fn sign_once(signer: &polymix_venue_kalshi::auth::Signer, n: u64) -> String {
    signer
        .sign(
            1_764_000_000_000 + (n % 100) as i64,
            "POST",
            "/trade-api/v2/portfolio/events/orders",
        )
        .unwrap()
}

fn state_of(step: Step) -> String {
    match step {
        Step::Http { state, .. } => state,
        other => panic!("expected HTTP, got {other:?}"),
    }
}

fn levels(n: usize, start: i64) -> serde_json::Value {
    (0..n)
        .map(|i| {
            json!([
                format!("0.{:04}", start - i as i64 * 10),
                format!("{}.00", 10 + i)
            ])
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let cold = venue(0);
    let warm = venue(1_000);
    let mut n = 0u64;
    // The RSA-2048 PSS signature alone (issue #15 item 6: the backend's cost).
    let signer = polymix_venue_kalshi::auth::Signer::new("bench-key", &pem()).unwrap();
    c.bench_function("kalshi RSA-PSS SHA-256 signature (RSA-2048)", |b| {
        b.iter(|| {
            n += 1;
            black_box(sign_once(&signer, n))
        })
    });
    c.bench_function("kalshi place request, signed on the hot path", |b| {
        b.iter(|| {
            n += 1;
            black_box(cold.begin(place(n), ctx(n)).unwrap())
        })
    });
    c.bench_function("kalshi place request, prepared signature", |b| {
        b.iter_batched(
            || {
                n += 1;
                warm.begin(VenueOp::Prepare, ctx(n)).unwrap();
                n
            },
            |n| black_box(warm.begin(place(n), ctx(n)).unwrap()),
            // One prepared signature at a time: set up and use one per iteration.
            BatchSize::PerIteration,
        )
    });

    // 100 levels a side: YES bids 0.5400 down, NO bids 0.4400 down (a tenth of a cent apart).
    let book = serde_json::to_vec(&json!({"orderbook_fp": {
        "yes_dollars": levels(100, 5400), "no_dollars": levels(100, 4400)}}))
    .unwrap();
    let book_state = state_of(
        cold.begin(
            VenueOp::Book {
                instrument: "KXNBAGAME-26NOV25LALBOS-LAL:yes".into(),
            },
            ctx(0),
        )
        .unwrap(),
    );
    c.bench_function(
        "kalshi book parse, 100 levels a side (bytes to Book)",
        |b| {
            b.iter_batched(
                || HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: book.clone(),
                },
                |resp| black_box(cold.resume(book_state.clone(), resp, ctx(0)).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );

    let markets: Vec<serde_json::Value> = (0..100)
        .map(|i| {
            json!({"ticker": format!("KXNBAGAME-26NOV25G{i:03}-HOME"), "event_ticker": format!("KXNBAGAME-26NOV25G{i:03}"),
                "title": format!("Game {i} winner"), "yes_sub_title": "Home", "no_sub_title": "Away",
                "status": "active", "close_time": "2026-11-26T05:00:00Z", "yes_bid_dollars": "0.5400",
                "yes_ask_dollars": "0.5600", "price_level_structure": "linear_cent", "volume_fp": "1200.00"})
        })
        .collect();
    let page = serde_json::to_vec(&json!({"markets": markets, "cursor": "next"})).unwrap();
    let markets_state = state_of(
        cold.begin(
            VenueOp::Markets {
                filter: Default::default(),
            },
            ctx(0),
        )
        .unwrap(),
    );
    c.bench_function(
        "kalshi markets page, 100 markets (bytes to MarketInfo)",
        |b| {
            b.iter_batched(
                || HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: page.clone(),
                },
                |resp| black_box(cold.resume(markets_state.clone(), resp, ctx(0)).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );
}

/// Frames parsed per second per core on the `orderbook_delta` channel (kalshi.md §9): one
/// delta, the frame a busy book sends most.
fn bench_ws(c: &mut Criterion) {
    use plugin_api::stream::StreamChannel;
    use polymix_venue_kalshi::ws_stream;
    let delta = r#"{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"market_ticker":"KXNBAGAME-26NOV24LALBOS-LAL","price_dollars":"0.4200","delta_fp":"-50.00","side":"no","ts":"2026-01-01T00:00:00Z"}}"#;
    let cx = ctx(0);
    // The frame must parse: a bench of an error path would measure nothing useful.
    ws_stream::parse(StreamChannel::Market, delta, &cx).expect("a valid delta");
    c.bench_function("ws orderbook_delta parse: 1 delta", |b| {
        b.iter(|| {
            black_box(ws_stream::parse(
                StreamChannel::Market,
                black_box(delta),
                &cx,
            ))
        })
    });
}

criterion_group!(benches, bench, bench_ws);
criterion_main!(benches);

//! Hot paths against NautilusTrader's Polymarket adapter (49 µs per signed limit order, of which
//! EIP-712 signing 44 µs; 643 ns per book-delta parse). The pieces of an order (digest, k256 as
//! the previous signer) are timed in the same run so a busy machine skews them alike.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use plugin_api::Price;
use polymix_venue_polymarket::amounts::{limit_amounts, Dir, TickCfg};
use polymix_venue_polymarket::book::parse_book;
use polymix_venue_polymarket::eth::{Address, Wallet};
use polymix_venue_polymarket::order_v2::{
    post_order_body, salt_from_random, Exchanges, OrderSide, OrderType, OrderV2, SignatureType,
};
use polymix_venue_polymarket::ws_market::{apply_delta, parse_frame, MarketEvent};

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn order(maker: Address, n: u64) -> OrderV2 {
    let cfg = TickCfg::new(Price(10_000)).unwrap();
    let a = limit_amounts(Dir::Buy, Price(560_000), 21_040_000, cfg);
    let mut rnd = [0u8; 32];
    rnd[..8].copy_from_slice(&n.to_be_bytes());
    OrderV2 {
        salt: salt_from_random(&rnd),
        maker,
        signer: maker,
        token_id: TOKEN.to_string(),
        maker_amount: a.maker,
        taker_amount: a.taker,
        side: OrderSide::Buy,
        signature_type: SignatureType::Eoa,
        timestamp_ms: 1_713_398_400_000 + n,
        metadata: [0; 32],
        builder: [0; 32],
        expiration: 0,
    }
}

fn signed_limit_order(w: &Wallet, ex: &Exchanges, maker: Address, n: u64) -> String {
    let o = order(maker, n);
    let (_, sig) = o.sign(ex.for_market(false), w).unwrap();
    post_order_body(
        &o,
        &sig,
        "00000000-0000-0000-0000-000000000000",
        OrderType::Gtc,
        false,
    )
}

/// A 20+20-level `/book` snapshot around 0.5 (bids 0.30–0.49, asks 0.71–0.90).
fn full_book() -> String {
    let mut bids = Vec::new();
    let mut asks = Vec::new();
    for i in 0..20 {
        bids.push(format!(
            r#"{{"price":"0.{:02}","size":"{}.5"}}"#,
            30 + i,
            100 + i
        ));
        asks.push(format!(
            r#"{{"price":"0.{:02}","size":"{}"}}"#,
            90 - i,
            200 + i
        ));
    }
    format!(
        r#"{{"market":"0xbd31","asset_id":"{TOKEN}","timestamp":"1729084877448","hash":"x","bids":[{}],"asks":[{}],"tick_size":"0.01","min_order_size":"5","neg_risk":false,"last_trade_price":"0.5"}}"#,
        bids.join(","),
        asks.join(",")
    )
}

/// Times `iters` runs of `f`, each with a nonce prepared just before it (untimed): the wallet
/// keeps one nonce ready at a time, as the engine's preparer does.
fn prepared_each(iters: u64, w: &Wallet, mut f: impl FnMut()) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    for _ in 0..iters {
        assert!(w.prepare_nonce());
        let t = std::time::Instant::now();
        f();
        total += t.elapsed();
        assert!(!w.nonce_ready(), "the nonce was not used");
    }
    total
}

fn bench(c: &mut Criterion) {
    let w = Wallet::from_hex(PK).unwrap();
    let ex = Exchanges::v2(137);
    let maker = w.address();
    let mut n = 0u64;
    c.bench_function(
        "signed_limit_order (amounts + EIP-712 + secp256k1 + JSON body)",
        |b| {
            b.iter(|| {
                n += 1;
                black_box(signed_limit_order(&w, &ex, maker, n))
            })
        },
    );
    // The nonce is prepared off the path to the wire (the engine's preparer), so it is set
    // up outside the timed part; what is timed is what the order pays.
    c.bench_function(
        "signed_limit_order, nonce prepared ahead (amounts + EIP-712 + s + JSON body)",
        |b| {
            b.iter_custom(|iters| {
                prepared_each(iters, &w, || {
                    n += 1;
                    black_box(signed_limit_order(&w, &ex, maker, n));
                })
            })
        },
    );
    let digest = [7u8; 32];
    c.bench_function("secp256k1 sign only", |b| {
        b.iter(|| black_box(w.sign_digest(black_box(&digest)).unwrap()))
    });
    c.bench_function("secp256k1 sign only, nonce prepared ahead", |b| {
        b.iter_custom(|iters| {
            prepared_each(iters, &w, || {
                black_box(w.sign_digest(black_box(&digest)).unwrap());
            })
        })
    });
    c.bench_function(
        "preparing a nonce (k·G, k⁻¹; off the path to the wire)",
        |b| {
            b.iter(|| {
                assert!(w.prepare_nonce());
                // Drop it unused so the next iteration prepares again.
                black_box(w.sign_digest(&digest).unwrap())
            })
        },
    );
    let previous = k256::ecdsa::SigningKey::from_slice(&[
        0xac, 0x09, 0x74, 0xbe, 0xc3, 0x9a, 0x17, 0xe3, 0x6b, 0xa4, 0xa6, 0xb4, 0xd2, 0x38, 0xff,
        0x94, 0x4b, 0xac, 0xb4, 0x78, 0xcb, 0xed, 0x5e, 0xfc, 0xae, 0x78, 0x4d, 0x7b, 0xf4, 0xf2,
        0xff, 0x80,
    ])
    .unwrap();
    c.bench_function("secp256k1 sign only, k256 (previous signer)", |b| {
        b.iter(|| {
            black_box(
                previous
                    .sign_prehash_recoverable(black_box(&digest))
                    .unwrap(),
            )
        })
    });
    let o = order(maker, 1);
    c.bench_function("EIP-712 order digest (struct hash + domain)", |b| {
        b.iter(|| black_box(black_box(&o).digest(ex.for_market(false)).unwrap()))
    });
    let sig = [7u8; 65];
    c.bench_function("POST /order JSON body", |b| {
        b.iter(|| {
            black_box(post_order_body(
                black_box(&o),
                &sig,
                "00000000-0000-0000-0000-000000000000",
                OrderType::Gtc,
                false,
            ))
        })
    });

    let delta = r#"{"market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","asset_id":"71321045679252212594626385532706912750332728571942532289631379312455583992563","timestamp":"1729084877448","hash":"3f1d2b0c","bids":[{"price":"0.48","size":"30"}],"asks":[{"price":"0.52","size":"25.5"}],"tick_size":"0.01","min_order_size":"5","neg_risk":false}"#;
    c.bench_function("book parse: 1+1 levels (delta-sized)", |b| {
        b.iter(|| black_box(parse_book(black_box(delta.as_bytes()), "").unwrap()))
    });
    let full = full_book();
    c.bench_function("book parse: 20+20 levels", |b| {
        b.iter(|| black_box(parse_book(black_box(full.as_bytes()), "").unwrap()))
    });
}

/// A market-channel `price_change` frame as the venue sends it, with `n` changes.
fn price_change_frame(n: usize) -> String {
    let changes: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"asset_id":"{TOKEN}","price":"0.{}","size":"{}.5","side":"{}","hash":"56621a121a47ed9333273e21c83b660cff37ae50","best_bid":"0.5","best_ask":"0.51"}}"#,
                45 + i,
                200 + i,
                if i % 2 == 0 { "BUY" } else { "SELL" }
            )
        })
        .collect();
    format!(
        r#"{{"market":"0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1","price_changes":[{}],"timestamp":"1757908892351","event_type":"price_change"}}"#,
        changes.join(",")
    )
}

fn bench_ws(c: &mut Criterion) {
    let one = price_change_frame(1);
    c.bench_function("ws price_change parse: 1 change", |b| {
        b.iter(|| black_box(parse_frame(black_box(&one)).unwrap()))
    });
    let five = price_change_frame(5);
    c.bench_function("ws price_change parse: 5 changes", |b| {
        b.iter(|| black_box(parse_frame(black_box(&five)).unwrap()))
    });
    // Parse and apply to a 20+20-level book (the level exists: a size update in place).
    let (mut book, _) = parse_book(full_book().as_bytes(), "").unwrap();
    c.bench_function("ws price_change parse + apply: 1 change, 20+20 book", |b| {
        b.iter(|| {
            for e in parse_frame(black_box(&one)).unwrap() {
                if let MarketEvent::Delta(d) = e {
                    apply_delta(&mut book, &d).unwrap();
                }
            }
            black_box(&book);
        })
    });
}

criterion_group!(benches, bench, bench_ws);
criterion_main!(benches);

//! Hot paths against NautilusTrader's Polymarket adapter (49 µs per signed limit order, of which
//! EIP-712 signing 44 µs; 643 ns per book-delta parse).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use plugin_api::Price;
use polymix_venue_polymarket::amounts::{limit_amounts, Dir, TickCfg};
use polymix_venue_polymarket::book::parse_book;
use polymix_venue_polymarket::eth::{Address, Wallet};
use polymix_venue_polymarket::order_v2::{
    post_order_body, salt_from_random, Exchanges, OrderSide, OrderType, OrderV2, SignatureType,
};

const PK: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const TOKEN: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";

fn signed_limit_order(w: &Wallet, ex: &Exchanges, maker: Address, n: u64) -> String {
    let cfg = TickCfg::new(Price(10_000)).unwrap();
    let a = limit_amounts(Dir::Buy, Price(560_000), 21_040_000, cfg);
    let mut rnd = [0u8; 32];
    rnd[..8].copy_from_slice(&n.to_be_bytes());
    let o = OrderV2 {
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
    };
    let (_, sig) = o.sign(ex.for_market(false), w).unwrap();
    post_order_body(
        &o,
        &sig,
        "00000000-0000-0000-0000-000000000000",
        OrderType::Gtc,
        false,
    )
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
    let digest = [7u8; 32];
    c.bench_function("secp256k1 sign only", |b| {
        b.iter(|| black_box(w.sign_digest(black_box(&digest)).unwrap()))
    });

    let delta = r#"{"market":"0xbd31dc8a20211944f6b70f31557f1001557b59905b7738480ca09bd4532f84af","asset_id":"71321045679252212594626385532706912750332728571942532289631379312455583992563","timestamp":"1729084877448","hash":"3f1d2b0c","bids":[{"price":"0.48","size":"30"}],"asks":[{"price":"0.52","size":"25.5"}],"tick_size":"0.01","min_order_size":"5","neg_risk":false}"#;
    c.bench_function("book parse: 1+1 levels (delta-sized)", |b| {
        b.iter(|| black_box(parse_book(black_box(delta.as_bytes()), "").unwrap()))
    });
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
    let full = format!(
        r#"{{"market":"0xbd31","asset_id":"{TOKEN}","timestamp":"1729084877448","hash":"x","bids":[{}],"asks":[{}],"tick_size":"0.01","min_order_size":"5","neg_risk":false,"last_trade_price":"0.5"}}"#,
        bids.join(","),
        asks.join(",")
    );
    c.bench_function("book parse: 20+20 levels", |b| {
        b.iter(|| black_box(parse_book(black_box(full.as_bytes()), "").unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

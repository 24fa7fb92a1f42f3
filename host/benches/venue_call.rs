//! One order's venue calls through the plugin ABI shim: `begin` (returns a signed request with a
//! JSON body and a continuation state) and `resume` (takes the response, returns the order).
//! This is the encoding cost every order pays between the engine and the wire.
//! Run: `cargo bench -p polymix-host --bench venue_call`.

use criterion::{criterion_group, criterion_main, Criterion};
use plugin_api::ffi::VenueHandle;
use plugin_api::{
    CallCtx, HttpRequest, HttpResponse, OpResult, OrderRequest, OrderState, OrderStatus,
    PluginResult, Price, Qty, Secrets, Side, Step, TimeInForce, Usd, Venue, VenueConfig, VenueInfo,
    VenueOp, VenueRules,
};
use std::hint::black_box;

/// A venue whose request body and state look like a real adapter's (a signed JSON order of
/// ~500 bytes, a JSON continuation of ~300 bytes).
struct Shaped;

impl Venue for Shaped {
    fn create(_: VenueConfig) -> PluginResult<Self> {
        Ok(Shaped)
    }

    fn info(&self) -> VenueInfo {
        VenueInfo {
            name: "shaped".into(),
            version: "0".into(),
            rules: VenueRules::Other,
            simulated: true,
            capabilities: vec![],
            rate_limits: Default::default(),
        }
    }

    fn begin(&self, op: VenueOp, _: CallCtx) -> PluginResult<Step> {
        let VenueOp::PlaceOrder { order } = op else {
            return Err(plugin_api::PluginError::unsupported("op"));
        };
        let body = serde_json::json!({
            "order": {"salt": "1234567890123", "maker": "0x1111111111111111111111111111111111111111",
                "signer": "0x2222222222222222222222222222222222222222", "tokenId": "66710704108362827492587607390786074734466198873693910035303396253831077542550",
                "makerAmount": "5750000", "takerAmount": "10000000", "side": "BUY", "expiration": "0",
                "signatureType": 0, "timestamp": "1764000000000", "metadata": "0x00", "builder": "0x00",
                "signature": "0x3333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333"},
            "owner": "00000000-0000-0000-0000-000000000000", "orderType": "FAK", "clientOrderId": order.client_order_id,
        });
        let state = serde_json::json!({"client_order_id": order.client_order_id, "instrument": order.instrument,
            "price": order.price, "qty": order.qty, "digest": "0x4444444444444444444444444444444444444444444444444444444444444444",
            "phase": "placed", "sent_ms": 1764000000000i64});
        Ok(Step::Http {
            request: HttpRequest::new("POST", "https://clob.example/order", "write")
                .header("poly_address", "0x1111111111111111111111111111111111111111")
                .header("poly_signature", "c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU=")
                .json_body(serde_json::to_vec(&body).unwrap()),
            state: state.to_string(),
        })
    }

    fn resume(&self, state: String, response: HttpResponse, _: CallCtx) -> PluginResult<Step> {
        let s: serde_json::Value = serde_json::from_str(&state).unwrap();
        Ok(Step::Done {
            result: OpResult::Order {
                order: OrderStatus {
                    order_id: "0x4444".into(),
                    client_order_id: s["client_order_id"].as_str().map(String::from),
                    instrument: "x".into(),
                    side: Side::Buy,
                    price: Price(575_000),
                    qty: Qty::shares(10),
                    filled_qty: Qty::shares(10),
                    filled_notional: Usd(5_750_000),
                    fees: Usd(response.body.len() as i64),
                    state: OrderState::Filled,
                    reason: None,
                },
            },
        })
    }
}

fn bench(c: &mut Criterion) {
    let h =
        VenueHandle::in_process::<Shaped>("v", &serde_json::json!({}), &Secrets::new()).unwrap();
    let ctx = CallCtx {
        now_ms: 1_764_000_000_000,
        random: [7; 32],
    };
    let op = VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: "pmx-8405cc0e-000001-a0".into(),
            instrument:
                "66710704108362827492587607390786074734466198873693910035303396253831077542550"
                    .into(),
            side: Side::Buy,
            price: Price(575_000),
            qty: Qty::shares(10),
            tif: TimeInForce::Ioc,
            post_only: false,
        },
    };
    let response = HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"success":true,"errorMsg":"","orderID":"0x4444444444444444444444444444444444444444444444444444444444444444","status":"matched","makingAmount":"5.75","takingAmount":"10"}"#.to_vec(),
    };
    c.bench_function("venue/place_order_begin_resume_through_ffi_shim", |b| {
        b.iter(|| {
            let Step::Http { state, .. } = h.begin(black_box(&op), ctx).unwrap() else {
                unreachable!()
            };
            black_box(h.resume(state, response.clone(), ctx).unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);

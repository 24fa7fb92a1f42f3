//! An order intent reaches a venue at most once, whatever happens to the write's answer.
//!
//! Each case drives a real `PlaceOrder` through the host's own [`VenueIo`] (the one step driver
//! the engine and the CLI use) and the real venue plugin, against a venue double that processes
//! the order and then loses, garbles or delays the answer, or refuses it without processing.
//! The assertions are on the doubles' own request logs: how many order writes arrived, and how
//! many orders exist.

use plugin_api::{
    ErrorKind, OpResult, OrderRequest, OrderState, Price, Qty, Side, TimeInForce, VenueOp,
};
use polymix_doubles::fault::{Fault, FaultRule};
use polymix_doubles::kalshi::{self, KalshiDouble, KalshiDoubleConfig, MarketSpec};
use polymix_doubles::polymarket::{self as pmd, PolymarketDouble, PolymarketDoubleConfig};
use polymix_host::plugins::Registry;
use polymix_host::venue_io::VenueError;
use std::time::{Duration, Instant};

use crate::harness::{registry_for, venue_io};
use crate::live_e2e::{kalshi_venue_toml, polymarket_venue_toml, seed, ARB_YES};
use crate::support::temp_dir;

const KS_T: &str = "KXNBAGAME-26NOV24LALBOS-LAL";
const KS_ORDERS: &str = "/portfolio/events/orders";

fn order(coid: &str, instrument: &str, price: i64, shares: i64) -> VenueOp {
    VenueOp::PlaceOrder {
        order: OrderRequest {
            client_order_id: coid.into(),
            instrument: instrument.into(),
            side: Side::Buy,
            price: Price(price),
            qty: Qty::shares(shares),
            tif: TimeInForce::Gtc,
            post_only: false,
        },
    }
}

async fn kalshi_setup(tag: &str) -> (KalshiDouble, Registry) {
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    ks.add_market(MarketSpec::new(KS_T));
    ks.seed_book(KS_T, &[("0.5500", "100.00")], &[("0.3800", "100.00")]);
    let dir = temp_dir(tag);
    let reg = registry_for(&dir, &kalshi_venue_toml(&dir, "ks", &ks, 3000)).await;
    (ks, reg)
}

async fn polymarket_setup(tag: &str) -> (PolymarketDouble, Registry) {
    let pm = pmd::spawn(PolymarketDoubleConfig::default()).await;
    let ks = kalshi::spawn(KalshiDoubleConfig::default()).await;
    seed(&pm, &ks);
    let dir = temp_dir(tag);
    let reg = registry_for(&dir, &polymarket_venue_toml(&dir, &pm)).await;
    (pm, reg)
}

fn writes_to(ks: &KalshiDouble, path: &str) -> usize {
    ks.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with(path))
        .count()
}

/// Kalshi: the venue books the order, then the answer is a 5xx, a dropped connection or comes
/// too late. The host sends the order once and the plugin finds it by client order id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kalshi_write_processed_then_answer_lost_is_found_not_resent() {
    let (ks, reg) = kalshi_setup("wf-ks-lost").await;
    let cases: Vec<(&str, Fault)> = vec![
        ("k500", Fault::StatusAfter(500)),
        ("k502", Fault::StatusAfter(502)),
        ("k504", Fault::StatusAfter(504)),
        ("kdrop", Fault::DropAfter),
        ("kslow", Fault::DelayAfter(Duration::from_millis(1_500))),
    ];
    for (i, (coid, fault)) in cases.into_iter().enumerate() {
        ks.inject(FaultRule::once("POST", KS_ORDERS, fault));
        let io = venue_io(&reg, "ks", 400, 3);
        let r = io
            .run(&order(coid, &format!("{KS_T}:no"), 450_000, 5))
            .await;
        let Ok(OpResult::Order { order }) = r else {
            panic!("{coid} ({fault:?}): expected the order found by lookup, got {r:?}")
        };
        assert_eq!(order.client_order_id.as_deref(), Some(coid), "{fault:?}");
        assert_eq!(ks.place_attempts(), i + 1, "{fault:?}: one POST per intent");
        assert_eq!(ks.orders().len(), i + 1, "{fault:?}: one order per intent");
    }
}

/// Kalshi: the venue refuses with a 5xx without booking, and the lookup finds nothing. Before
/// the fix the host re-ran the whole operation (4 POSTs, saved only by client-id dedupe); now
/// it sends once and ends "outcome unknown" for the engine to reconcile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kalshi_write_answered_5xx_is_never_rerun() {
    let (ks, reg) = kalshi_setup("wf-ks-5xx").await;
    for (i, status) in [500u16, 502, 503, 504].into_iter().enumerate() {
        ks.inject(FaultRule::once("POST", KS_ORDERS, Fault::Status(status)));
        let io = venue_io(&reg, "ks", 2_000, 3);
        let coid = format!("k5xx-{status}");
        let e = io
            .run(&order(&coid, &format!("{KS_T}:no"), 450_000, 5))
            .await
            .expect_err("nothing was booked");
        assert!(e.is_ambiguous(), "{status}: {e}");
        assert!(
            matches!(e, VenueError::OutcomeUnknown { .. }),
            "{status}: {e:?}"
        );
        assert_eq!(writes_to(&ks, KS_ORDERS), i + 1, "{status}: one POST only");
        assert_eq!(ks.orders().len(), 0);
    }
}

/// Kalshi: a 429 on the order write is re-sent after the wait, as the same request; one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kalshi_write_rate_limited_is_resent_once_allowed() {
    let (ks, reg) = kalshi_setup("wf-ks-429").await;
    ks.inject(FaultRule::once("POST", KS_ORDERS, Fault::Status(429)).times(2));
    let io = venue_io(&reg, "ks", 2_000, 4);
    let r = io
        .run(&order("k429", &format!("{KS_T}:no"), 450_000, 5))
        .await
        .expect("placed after the storm");
    assert!(matches!(r, OpResult::Order { .. }));
    assert_eq!(writes_to(&ks, KS_ORDERS), 3, "2 refused + 1 accepted");
    assert_eq!(ks.orders().len(), 1);
}

/// Polymarket: the order was never processed (5xx before processing, dropped before
/// processing) and the lookup by digest finds nothing. Before the fix the host re-ran the
/// whole `PlaceOrder`, signing a new order each time (4 distinct orders); now one order is
/// signed and sent, and the operation ends "outcome unknown" with its digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_write_failed_is_never_resigned_or_resent() {
    let (pm, reg) = polymarket_setup("wf-pm-5xx").await;
    let kinds = [
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(504),
        Fault::Drop,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        pm.inject(FaultRule::once("POST", "/order", kind));
        let io = venue_io(&reg, "pm", 1_000, 3);
        let e = io
            .run(&order(&format!("p5xx-{i}"), ARB_YES, 300_000, 10))
            .await
            .expect_err("nothing booked");
        let VenueError::OutcomeUnknown {
            expected_order_ids, ..
        } = &e
        else {
            panic!("{kind:?}: expected outcome unknown, got {e:?}")
        };
        assert_eq!(expected_order_ids.len(), 1, "{kind:?}: one signed order");
        assert!(expected_order_ids[0].starts_with("0x"), "{e}");
        assert!(e.to_string().contains(&expected_order_ids[0]), "{e}");
        assert_eq!(pm.order_posts(), i + 1, "{kind:?}: one POST /order");
        assert_eq!(pm.accepted_orders(), 0);
    }
}

/// Polymarket: the order was processed and the answer lost (dropped, too late): the plugin
/// finds it by its digest within the same operation; one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_write_processed_then_answer_lost_is_found_by_digest() {
    let (pm, reg) = polymarket_setup("wf-pm-lost").await;
    let kinds = [
        Fault::DropAfter,
        Fault::DelayAfter(Duration::from_millis(1_500)),
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        pm.inject(FaultRule::once("POST", "/order", kind));
        let io = venue_io(&reg, "pm", 500, 3);
        let r = io
            .run(&order(&format!("plost-{i}"), ARB_YES, 300_000, 10))
            .await;
        let Ok(OpResult::Order { order }) = r else {
            panic!("{kind:?}: expected the order found by digest, got {r:?}")
        };
        assert_eq!(order.state, OrderState::Open, "{kind:?}");
        assert_eq!(pm.order_posts(), i + 1, "{kind:?}: one POST /order");
        assert_eq!(pm.accepted_orders(), i + 1);
    }
}

/// Polymarket: a 429 carrying `Retry-After: 1` is honoured (not ~200 ms later) and the same
/// signed order is re-sent: one order, one digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_429_waits_retry_after_and_resends_the_same_order() {
    let (pm, reg) = polymarket_setup("wf-pm-429").await;
    pm.inject(FaultRule::once("POST", "/order", Fault::Status(429)));
    let io = venue_io(&reg, "pm", 2_000, 3);
    let t0 = Instant::now();
    let r = io
        .run(&order("p429", ARB_YES, 300_000, 10))
        .await
        .expect("placed after the wait");
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    assert!(matches!(r, OpResult::Order { .. }));
    let sent: Vec<Vec<u8>> = pm
        .request_log()
        .into_iter()
        .filter(|(m, p, _)| m == "POST" && p == "/order")
        .map(|(_, _, b)| b)
        .collect();
    assert_eq!(sent.len(), 2, "refused once, accepted once");
    assert_eq!(sent[0], sent[1], "the same signed order, not a new one");
    assert_eq!(pm.accepted_orders(), 1);
}

/// A read inside a write operation that fails transiently is re-sent by itself; the write is
/// not. (Polymarket: the lookup after a lost answer gets a 503 first.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polymarket_lookup_read_retries_alone() {
    let (pm, reg) = polymarket_setup("wf-pm-read").await;
    pm.inject(FaultRule::once("POST", "/order", Fault::DropAfter));
    pm.inject(FaultRule::once("GET", "/data/order", Fault::Status(503)));
    let io = venue_io(&reg, "pm", 1_000, 3);
    let r = io.run(&order("pread", ARB_YES, 300_000, 10)).await;
    assert!(matches!(r, Ok(OpResult::Order { .. })), "{r:?}");
    assert_eq!(pm.order_posts(), 1);
    assert_eq!(pm.accepted_orders(), 1);
}

/// The error kinds an engine sees: an unknown outcome is a timeout, never a definite refusal.
#[test]
fn outcome_unknown_reads_as_a_timeout() {
    let e = VenueError::OutcomeUnknown {
        venue: "pm".into(),
        op: "place_order",
        message: "x".into(),
        expected_order_ids: vec!["0xabc".into()],
    };
    assert!(e.is_ambiguous());
    assert_eq!(e.kind(), Some(ErrorKind::Timeout));
    assert!(e.to_string().contains("0xabc"), "{e}");
}

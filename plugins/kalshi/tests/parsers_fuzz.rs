//! Issue #11 item 16: the Kalshi response parsers fed arbitrary JSON and extreme numbers never
//! panic, and whatever they accept carries no negative or wrapped amount. Each property counts
//! its cases and prints the count (`cargo test -p polymix-plugin-kalshi --test parsers_fuzz --
//! --nocapture`).

use plugin_api::{Book, Price, Qty, Usd};
use polymix_venue_kalshi::book::{parse_book, parse_book_bytes, parse_orderbooks, Instrument};
use polymix_venue_kalshi::{markets, orders, portfolio};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};

const CASES: u32 = 2000;

/// Numbers at and around every boundary the parsers convert across (i64, cents × 10 000,
/// contracts × 1 000 000, seconds × 1000), as JSON numbers and as decimal strings.
fn extreme() -> impl Strategy<Value = Value> {
    let ints = prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN),
        Just(i64::MAX / 100 + 1),
        Just(i64::MAX / 1000 + 1),
        Just(i64::MAX / 10_000 + 1),
        Just(i64::MAX / 1_000_000 + 1),
        Just(922_337_203_685_478i64),
        Just(-1i64),
        Just(0i64),
        any::<i64>(),
    ];
    let decimals = prop_oneof![
        Just("9223372036854775807".to_string()),
        Just("9223372036854.775807".to_string()),
        Just("92233720368547758.07".to_string()),
        Just("-0.01".to_string()),
        Just("-9223372036854.775807".to_string()),
        Just("1e308".to_string()),
        Just("".to_string()),
        Just("0.5000".to_string()),
        Just("10.00".to_string()),
        (any::<i64>(), 0u32..7).prop_map(|(n, d)| {
            let s = n.unsigned_abs().to_string();
            let sign = if n < 0 { "-" } else { "" };
            let d = (d as usize).min(s.len());
            let (i, f) = s.split_at(s.len() - d);
            format!(
                "{sign}{}{}{f}",
                if i.is_empty() { "0" } else { i },
                if d > 0 { "." } else { "" }
            )
        }),
        "[0-9.+-e]{0,24}",
    ];
    prop_oneof![
        ints.prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        decimals.prop_map(Value::String),
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
    ]
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![extreme(), "[a-z_]{0,12}".prop_map(Value::String)];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,24}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn ins() -> Instrument {
    Instrument::parse("T:yes").unwrap()
}

fn qty_ok(q: Qty) -> bool {
    q.0 >= 0
}
fn usd_ok(u: Usd) -> bool {
    u.0 >= 0
}
fn price_ok(p: Price) -> bool {
    (0..=Price::ONE.0).contains(&p.0)
}
fn book_ok(b: &Book) -> bool {
    b.bids
        .iter()
        .chain(b.asks.iter())
        .all(|l| l.price > Price::ZERO && l.price < Price::ONE && l.qty.0 > 0)
}

static RAN: [AtomicUsize; 8] = [const { AtomicUsize::new(0) }; 8];

fn count(i: usize, name: &str) {
    let n = RAN[i].fetch_add(1, Ordering::Relaxed) + 1;
    if n == CASES as usize {
        eprintln!("parsers_fuzz: {name}: {n} cases ran");
    }
}

/// Runs every parser on `v` (the property's assertions are on the results it accepts).
fn check_all(v: &Value) -> Result<(), TestCaseError> {
    if let Ok(b) = portfolio::parse_balance(v) {
        prop_assert!(usd_ok(b.available) && usd_ok(b.total), "{b:?} from {v}");
    }
    if let Ok(ps) = portfolio::parse_positions(v) {
        for p in ps {
            prop_assert!(qty_ok(p.qty) && usd_ok(p.cost), "{p:?} from {v}");
        }
    }
    if let Ok(ss) = portfolio::parse_settlements(v) {
        for s in ss {
            prop_assert!(
                qty_ok(s.yes_qty)
                    && qty_ok(s.no_qty)
                    && usd_ok(s.yes_cost)
                    && usd_ok(s.no_cost)
                    && usd_ok(s.revenue)
                    && usd_ok(s.fee),
                "{s:?} from {v}"
            );
        }
    }
    if let Ok(o) = orders::parse_order(v, Some(&ins())) {
        prop_assert!(
            qty_ok(o.qty)
                && qty_ok(o.filled_qty)
                && usd_ok(o.filled_notional)
                && usd_ok(o.fees)
                && price_ok(o.price),
            "{o:?} from {v}"
        );
    }
    if let Ok(f) = orders::parse_fill(v, None) {
        prop_assert!(
            qty_ok(f.qty) && usd_ok(f.fee) && price_ok(f.price) && f.ts_ms >= 0,
            "{f:?} from {v}"
        );
    }
    if let Ok(c) = orders::parse_created(v) {
        prop_assert!(qty_ok(c.filled) && qty_ok(c.remaining), "{c:?} from {v}");
        prop_assert!(c.avg_fee.is_none_or(usd_ok) && c.avg_price.is_none_or(price_ok));
    }
    if let Ok(b) = parse_book(v, &ins(), 0) {
        prop_assert!(book_ok(&b), "{b:?} from {v}");
    }
    if let Ok(bytes) = serde_json::to_vec(v) {
        if let Ok(b) = parse_book_bytes(&bytes, &ins(), 0) {
            prop_assert!(book_ok(&b), "{b:?} from {v}");
        }
        let _ = markets::parse_markets_bytes(&bytes);
    }
    if let Ok(bs) = parse_orderbooks(v, &[ins()], 0) {
        prop_assert!(bs.iter().all(book_ok), "{bs:?} from {v}");
    }
    let _ = markets::parse_markets(v);
    let _ = markets::parse_events(v);
    let _ = markets::parse_rules(v);
    let _ = markets::parse_resolution(v, &ins());
    Ok(())
}

/// Kinds of well-shaped response [`shaped`] builds.
const SHAPES: usize = 10;

/// A well-shaped response of kind `k` with the numbers `x` in its number fields.
fn shaped(k: usize, x: &[Value]) -> Value {
    let x = |i: usize| x[i].clone();
    match k {
        0 => json!({"balance": x(0), "balance_dollars": x(1)}),
        1 => json!({"market_positions": [
            {"ticker": "T", "position_fp": x(0), "market_exposure_dollars": x(1)}]}),
        2 => json!({"settlements": [{
            "ticker": "T", "market_result": "yes", "yes_count_fp": x(0),
            "yes_total_cost_dollars": x(1), "no_count_fp": x(2), "no_total_cost_dollars": x(3),
            "revenue": x(4), "fee_cost": x(5), "settled_time": "2026-11-26T05:00:00Z"}]}),
        3 => json!({
            "order_id": "o", "ticker": "T", "book_side": "ask", "status": "resting",
            "yes_price_dollars": x(0), "fill_count_fp": x(1), "remaining_count_fp": x(2),
            "initial_count_fp": x(3), "taker_fill_cost_dollars": x(4),
            "maker_fill_cost_dollars": x(5), "taker_fees_dollars": x(6),
            "maker_fees_dollars": x(7)}),
        4 => json!({
            "fill_id": "f", "order_id": "o", "ticker": "T", "book_side": "bid",
            "no_price_dollars": x(0), "count_fp": x(1), "fee_cost": x(2), "ts": x(3)}),
        5 => json!({"order_id": "o", "fill_count": x(0), "remaining_count": x(1),
            "average_fill_price": x(2), "average_fee_paid": x(3)}),
        6 => json!({"orderbook_fp": {
            "yes_dollars": [[x(0), x(1)], [x(0), x(1)]], "no_dollars": [[x(2), x(3)]]}}),
        7 => json!({"orderbooks": [{"ticker": "T", "orderbook_fp": {
            "yes_dollars": [[x(0), x(1)], [x(0), x(1)]], "no_dollars": []}}]}),
        8 => json!({"market": {"ticker": "T", "event_ticker": "E", "status": "finalized",
            "price_ranges": [{"start": "0", "end": "1", "step": x(0)}],
            "settlement_value_dollars": x(1), "close_time": "2026-11-26T05:00:00Z"}}),
        _ => json!({"markets": [{"ticker": "T", "event_ticker": "E", "status": "active",
            "close_time": x(0)}], "cursor": ""}),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_or_goes_negative(v in any_json()) {
        count(0, "arbitrary JSON");
        check_all(&v)?;
    }

    #[test]
    fn shaped_responses_with_extreme_numbers_never_panic_or_wrap(
        k in 0..SHAPES,
        x in prop::collection::vec(extreme(), 8),
    ) {
        count(1, "shaped responses with extreme numbers");
        check_all(&shaped(k, &x))?;
    }
}

/// The example: a balance of 922337203685478 cents is out of range (it wrapped to a
/// negative amount), and the error names the field.
#[test]
fn an_overflowing_balance_is_a_parse_error_naming_the_field() {
    let e = portfolio::parse_balance(&json!({"balance": 922_337_203_685_478i64})).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("balance") && msg.contains("out of range"),
        "{msg}"
    );
}

/// Two levels at one price whose counts overflow when merged, and a fill cost larger than the
/// contracts can pay, are refused rather than wrapped.
#[test]
fn merged_levels_and_sale_proceeds_are_checked() {
    let big = "92233720368547758.00";
    let b = json!({"orderbook_fp": {"yes_dollars": [["0.5000", big], ["0.5000", big]], "no_dollars": []}});
    let e = parse_book(&b, &ins(), 0).unwrap_err().to_string();
    assert!(e.contains("orderbook count"), "{e}");
    let o = json!({"order_id": "o", "ticker": "T", "book_side": "bid", "status": "executed",
        "yes_price_dollars": "0.4000", "fill_count_fp": "1.00", "taker_fill_cost_dollars": "5.0000"});
    // Seen from NO, a YES bid is a sale: proceeds = $1 × 1 − $5 would be negative.
    let no = Instrument::parse("T:no").unwrap();
    let e = orders::parse_order(&o, Some(&no)).unwrap_err().to_string();
    assert!(e.contains("taker_fill_cost_dollars"), "{e}");
}

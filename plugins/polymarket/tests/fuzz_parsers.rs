//! Property tests of every parser of venue numbers (issue #11 item 16): arbitrary and extreme
//! input never panics and never yields a negative or wrapped value.
//!
//! Case counts: each property runs `CASES` cases (7 properties → 7 × 4 000 = 28 000 cases).

use plugin_api::{Price, Qty, Rounding};
use polymix_venue_polymarket::clob::{parse_order, Page, PostOrderResp, Trade};
use polymix_venue_polymarket::{book, dec, ws_market};
use proptest::prelude::*;

const CASES: u32 = 4_000;

/// Decimal-looking text: digits (up to 40, to overflow every integer type), an optional dot
/// and fraction, an optional sign and exponent; plus fully arbitrary strings.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[+-]?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][+-]?[0-9]{1,4})?",
        "[0-9]{1,25}",
        "0\\.[0-9]{1,12}",
        any::<String>(),
        Just("9999999999999".to_string()),
        Just("92233720368547758.08".to_string()),
        Just("-0".to_string()),
        Just("1e38".to_string()),
    ]
}

/// The exact value of a plain `int.frac` string scaled by 10^scale, truncated, if it fits
/// i128; the reference the parsers are checked against (an independent long computation).
fn reference(s: &str, scale: u32) -> Option<i128> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: i128 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i128)?;
    }
    let fb = frac.as_bytes();
    for i in 0..scale as usize {
        let d = fb.get(i).map(|b| (b - b'0') as i128).unwrap_or(0);
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(v)
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn decimals_never_wrap(s in number_text()) {
        let _ = dec::parse_scaled(&s, 6, Rounding::HalfUp);
        if let Some(p) = dec::price(&s) {
            prop_assert!(p.0 >= 0, "{s:?} → {p:?}");
            if let Some(r) = reference(&s, 6) {
                prop_assert_eq!(p.0 as i128, r, "{:?}", s);
            }
        }
        if let Some(q) = dec::qty(&s) {
            prop_assert!(q.0 >= 0, "{s:?} → {q:?}");
            if let Some(r) = reference(&s, 6) {
                prop_assert_eq!(q.0 as i128, r, "{:?}", s);
            }
        }
        if let Some(m) = dec::micro(&s) {
            prop_assert!(m >= 0, "{s:?} → {m}");
        }
        if let Some(w) = dec::whole(&s) {
            prop_assert!(w >= 0, "{s:?} → {w}");
        }
        // A plain number that fits is read exactly; one that does not is refused.
        if let Some(r) = reference(&s, 6) {
            if !s.is_empty() && s != "." {
                let fits = i64::try_from(r).is_ok();
                let exact = s.split_once('.').is_none_or(|(_, f)| f.len() <= 6 || f[6..].bytes().all(|b| b == b'0'));
                prop_assert_eq!(dec::price(&s).is_some(), fits && exact, "{:?}", s);
                // Sizes too: exactly the micro-shares sent, or refused; never floored.
                prop_assert_eq!(dec::qty(&s).is_some(), fits && exact, "{:?}", s);
            }
        }
    }

    #[test]
    fn books_never_panic_or_go_negative(
        bids in prop::collection::vec((number_text(), number_text()), 0..6),
        asks in prop::collection::vec((number_text(), number_text()), 0..6),
        ts in number_text(),
        tick in number_text(),
    ) {
        let lv = |v: &[(String, String)]| v.iter()
            .map(|(p, s)| format!(r#"{{"price":{},"size":{}}}"#, quoted(p), quoted(s)))
            .collect::<Vec<_>>().join(",");
        let body = format!(
            r#"{{"asset_id":"1","timestamp":{},"bids":[{}],"asks":[{}],"tick_size":{},"min_order_size":"5"}}"#,
            quoted(&ts), lv(&bids), lv(&asks), quoted(&tick)
        );
        if let Ok((b, m)) = book::parse_book(body.as_bytes(), "1") {
            prop_assert!(b.ts_ms >= 0);
            for l in b.bids.iter().chain(&b.asks) {
                prop_assert!(l.price.0 > 0 && l.price < Price::ONE, "{l:?}");
                prop_assert!(l.qty.0 > 0);
            }
            prop_assert!(m.tick.is_none_or(|t| t.0 >= 0));
        }
    }

    #[test]
    fn ws_frames_never_panic_or_go_negative(
        price in number_text(), size in number_text(), ts in number_text()
    ) {
        let frame = format!(
            r#"{{"event_type":"price_change","market":"0xm","timestamp":{},"price_changes":[{{"asset_id":"1","price":{},"size":{},"side":"BUY","hash":"h"}}]}}"#,
            quoted(&ts), quoted(&price), quoted(&size)
        );
        if let Ok(evs) = ws_market::parse_frame(&frame) {
            let dbg = format!("{evs:?}");
            prop_assert!(!dbg.contains("(-"), "negative value in {dbg}");
        }
    }

    #[test]
    fn order_read_back_never_panics_or_goes_negative(
        orig in number_text(), matched in number_text(), price in number_text(), created in number_text()
    ) {
        let body = format!(
            r#"{{"id":"0x1","status":"MATCHED","asset_id":"1","side":"BUY","original_size":{},"size_matched":{},"price":{},"created_at":{}}}"#,
            quoted(&orig), quoted(&matched), quoted(&price), quoted(&created)
        );
        if let Ok(Some(o)) = parse_order(body.as_bytes()) {
            let _ = o.created_s();
            if let Ok(s) = o.to_status(None) {
                prop_assert!(s.qty.0 >= 0 && s.filled_qty.0 >= 0);
                prop_assert!(s.price.0 >= 0 && s.price <= Price::ONE);
                prop_assert!(s.filled_notional.0 >= 0);
            }
        }
    }

    #[test]
    fn trades_never_panic_or_go_negative(
        size in number_text(), price in number_text(), bps in number_text(),
        mprice in number_text(), mamount in number_text(), t in number_text(),
        maker_asset in prop_oneof![Just("1"), Just("2"), Just("")],
    ) {
        let body = format!(
            r#"{{"data":[{{"id":"t","taker_order_id":"0x1","asset_id":"1","side":"BUY","size":{},"price":{},"fee_rate_bps":{},"status":"MATCHED","match_time":{},"trader_side":"TAKER","maker_orders":[{{"order_id":"m","matched_amount":{},"price":{},"asset_id":"{maker_asset}","side":"SELL"}}]}}]}}"#,
            quoted(&size), quoted(&price), quoted(&bps), quoted(&t), quoted(&mamount), quoted(&mprice)
        );
        if let Ok(p) = Page::<Trade>::parse(body.as_bytes()) {
            for tr in p.split().0 {
                if let Ok(fills) = tr.fills("k", "0x0") {
                    for f in fills {
                        prop_assert!(f.price.0 >= 0 && f.price <= Price::ONE, "{f:?}");
                        prop_assert!(f.qty.0 >= 0 && f.fee.0 >= 0 && f.ts_ms >= 0, "{f:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn place_answers_never_panic_or_go_negative(making in number_text(), taking in number_text()) {
        let body = format!(
            r#"{{"success":true,"errorMsg":"","orderID":"0x1","status":"matched","makingAmount":{},"takingAmount":{}}}"#,
            quoted(&making), quoted(&taking)
        );
        let r: PostOrderResp = serde_json::from_str(&body).unwrap();
        if let Ok((m, t)) = r.amounts() {
            prop_assert!(m >= 0 && t >= 0);
        }
    }

    #[test]
    fn money_helpers_never_wrap(q in any::<i64>(), p in 0i64..=1_000_000, rate in 0u32..=1_000_000) {
        let q = Qty(q.saturating_abs());
        if let Some(n) = polymix_venue_polymarket::clob::notional(q, Price(p)) {
            prop_assert!(n.0 >= 0);
        }
        if let Some(f) = polymix_venue_polymarket::clob::fill_fee(rate, Price(p), q) {
            prop_assert!(f.0 >= 0);
        }
    }
}

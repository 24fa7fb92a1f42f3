//! Market listings, instrument rules and resolution (kalshi.md §3.1, §4).

use plugin_api::{FeeModel, InstrumentRules, MarketInfo, Price, Qty, Resolution, Usd};
use serde_json::Value;

use crate::book::{dollars, Instrument, Outcome};
use crate::errors::KalshiError;

/// `$0.01`, the tick of `linear_cent` markets and the default.
pub const CENT: Price = Price(10_000);
/// `$0.001`.
pub const DECI_CENT: Price = Price(1_000);

/// Parses an RFC 3339 UTC-or-offset timestamp to Unix ms, without pulling in a date crate.
pub fn rfc3339_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let f = &frac[..digits];
        let first3: String = f.chars().chain("000".chars()).take(3).collect();
        ms = first3.parse().ok()?;
        rest = &frac[digits..];
    }
    let offset_min = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let hh: i64 = o.get(1..3)?.parse().ok()?;
            let mm: i64 = o.get(4..6)?.parse().ok()?;
            let v = hh * 60 + mm;
            if o.starts_with('-') {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_min * 60;
    Some(secs * 1000 + ms)
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// Maps a `GET /markets` page to two listings per market (`T:yes`, `T:no`). `market` is the
/// event ticker, which groups a game's outcome markets for cross-venue matching.
pub fn parse_markets(body: &Value) -> Result<(Vec<MarketInfo>, Option<String>), KalshiError> {
    let arr = body
        .get("markets")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("markets", "no `markets` array"))?;
    let mut out = Vec::with_capacity(arr.len() * 2);
    for m in arr {
        push_market(m, &mut out);
    }
    Ok((out, cursor_of(body)))
}

/// Maps a `GET /events?with_nested_markets=true` page the same way: each event's markets, in
/// event order, grouped under the event ticker.
pub fn parse_events(body: &Value) -> Result<(Vec<MarketInfo>, Option<String>), KalshiError> {
    let arr = body
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| KalshiError::parse("events", "no `events` array"))?;
    let mut out = Vec::new();
    for e in arr {
        let Some(markets) = e.get("markets").and_then(Value::as_array) else {
            return Err(KalshiError::parse(
                "events",
                format!("event {:?} has no nested `markets`", s(e, "event_ticker")),
            ));
        };
        for m in markets {
            push_market(m, &mut out);
        }
    }
    Ok((out, cursor_of(body)))
}

fn cursor_of(body: &Value) -> Option<String> {
    body.get("cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
}

/// The fields of a market a listing needs.
struct Listing<'a> {
    ticker: &'a str,
    event_ticker: &'a str,
    title: &'a str,
    yes_sub_title: &'a str,
    no_sub_title: &'a str,
    status: &'a str,
    close_time: Option<&'a str>,
}

/// Two listings (`T:yes`, `T:no`) for one market object.
fn push_market(m: &Value, out: &mut Vec<MarketInfo>) {
    push_listing(
        Listing {
            ticker: s(m, "ticker"),
            event_ticker: s(m, "event_ticker"),
            title: s(m, "title"),
            yes_sub_title: s(m, "yes_sub_title"),
            no_sub_title: s(m, "no_sub_title"),
            status: s(m, "status"),
            close_time: m.get("close_time").and_then(Value::as_str),
        },
        out,
    )
}

fn push_listing(m: Listing<'_>, out: &mut Vec<MarketInfo>) {
    // A ticker we could not put into an instrument id is skipped, not fatal: one odd market
    // must not hide a whole page.
    let Ok(yes) = Instrument::parse(&format!("{}:yes", m.ticker)) else {
        return;
    };
    // Parlay markets are excluded server-side (mve_filter=exclude); keep a guard anyway.
    if m.ticker.starts_with("KXMVE") {
        return;
    }
    let close_ms = m.close_time.and_then(rfc3339_ms);
    let market = match m.event_ticker {
        "" => m.ticker,
        e => e,
    };
    for (o, sub) in [
        (Outcome::Yes, m.yes_sub_title),
        (Outcome::No, m.no_sub_title),
    ] {
        let word = if o == Outcome::Yes { "YES" } else { "NO" };
        let t = if sub.is_empty() {
            format!("{} — {word}", m.title)
        } else {
            format!("{} — {word}: {sub}", m.title)
        };
        out.push(MarketInfo {
            instrument: Instrument::with_outcome(&yes.ticker, o).to_string(),
            market: market.to_string(),
            title: t,
            status: m.status.to_string(),
            close_ms,
        });
    }
}

/// [`parse_markets`] straight from the bytes: only the listed fields are read, the rest of
/// each (large) market object is skipped without building a JSON tree. An unexpected shape
/// goes through [`parse_markets`], which names what is wrong.
pub fn parse_markets_bytes(body: &[u8]) -> Result<(Vec<MarketInfo>, Option<String>), KalshiError> {
    use std::borrow::Cow;
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        markets: Vec<Wire<'a>>,
        #[serde(borrow, default)]
        cursor: Option<Cow<'a, str>>,
    }
    #[derive(serde::Deserialize)]
    struct Wire<'a> {
        #[serde(borrow, default)]
        ticker: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        event_ticker: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        title: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        yes_sub_title: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        no_sub_title: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        status: Option<Cow<'a, str>>,
        #[serde(borrow, default)]
        close_time: Option<Cow<'a, str>>,
    }
    let Ok(page) = serde_json::from_slice::<Page<'_>>(body) else {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| KalshiError::parse("markets", format!("response is not JSON: {e}")))?;
        return parse_markets(&v);
    };
    fn f<'b>(c: &'b Option<std::borrow::Cow<'_, str>>) -> &'b str {
        c.as_deref().unwrap_or("")
    }
    let mut out = Vec::with_capacity(page.markets.len() * 2);
    for m in &page.markets {
        push_listing(
            Listing {
                ticker: f(&m.ticker),
                event_ticker: f(&m.event_ticker),
                title: f(&m.title),
                yes_sub_title: f(&m.yes_sub_title),
                no_sub_title: f(&m.no_sub_title),
                status: f(&m.status),
                close_time: m.close_time.as_deref(),
            },
            &mut out,
        );
    }
    let cursor = page
        .cursor
        .filter(|c| !c.is_empty())
        .map(|c| c.into_owned());
    Ok((out, cursor))
}

fn market_obj(body: &Value) -> Result<&Value, KalshiError> {
    body.get("market")
        .filter(|m| m.is_object())
        .ok_or_else(|| KalshiError::parse("market", "no `market` object"))
}

/// Tick of a market: the coarsest step in `price_ranges`, so any price on that grid is valid
/// everywhere in (0, 1) (a tapered market's 0.001 steps only exist near the edges).
pub fn tick_of(m: &Value) -> Result<Price, KalshiError> {
    if let Some(ranges) = m.get("price_ranges").and_then(Value::as_array) {
        let mut coarsest = None;
        for r in ranges {
            let step = dollars(r.get("step").unwrap_or(&Value::Null), "price_ranges step")?;
            if step <= Price::ZERO || step >= Price::ONE {
                return Err(KalshiError::parse(
                    "price_ranges step",
                    format!("price range step {step} must be above 0 and below 1"),
                ));
            }
            coarsest = Some(coarsest.map_or(step, |c: Price| c.max(step)));
        }
        if let Some(t) = coarsest {
            return Ok(t);
        }
    }
    Ok(match s(m, "price_level_structure") {
        "deci_cent" => DECI_CENT,
        // linear_cent, tapered_deci_cent (0.01 in the middle), unknown or absent.
        _ => CENT,
    })
}

/// A fractional market's size step: 0.01 contract (kalshi.md §3).
pub const CENT_CONTRACT: Qty = Qty(plugin_api::money::SHARE / 100);

/// Rules from a `GET /markets/{ticker}` body.
pub fn parse_rules(body: &Value) -> Result<InstrumentRules, KalshiError> {
    let m = market_obj(body)?;
    // Field name [UNCONFIRMED]: fractional markets accept 0.01-contract steps (kalshi.md §3).
    let fractional = m
        .get("fractional_trading_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(InstrumentRules {
        tick: tick_of(m)?,
        min_qty: Qty::shares(1),
        qty_step: if fractional {
            CENT_CONTRACT
        } else {
            Qty::shares(1)
        },
        min_notional: Usd::ZERO,
        taker_fee: FeeModel::KALSHI_TAKER,
        neg_risk: None,
    })
}

/// The event and series a market belongs to, from its `GET /markets/{ticker}` body.
pub fn event_of(body: &Value) -> Result<String, KalshiError> {
    let m = market_obj(body)?;
    match s(m, "event_ticker") {
        "" => Err(KalshiError::parse("market", "no `event_ticker`")),
        e => Ok(e.to_string()),
    }
}

/// A fee schedule as series and events state it: `fee_type` and `fee_multiplier`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeeTerms {
    /// `quadratic`, `quadratic_with_maker_fees`, `quadratic_with_combo_maker_fees`, `flat`.
    pub fee_type: Option<String>,
    /// Multiplier in parts per million (1.0 = 1 000 000).
    pub multiplier_ppm: Option<u64>,
}

fn multiplier_ppm(v: &Value, key: &'static str) -> Result<Option<u64>, KalshiError> {
    let text = match v.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(t)) => t.clone(),
        Some(other) => {
            return Err(KalshiError::parse(
                key,
                format!("`{key}` {other} is not a number"),
            ))
        }
    };
    // Exact decimal to ppm; a Price holds 6 decimals, the same scale.
    let p = plugin_api::Price::parse(&text)
        .map_err(|e| KalshiError::parse(key, format!("`{key}` {text:?}: {}", e.message)))?;
    if p.0 < 0 {
        return Err(KalshiError::parse(
            key,
            format!("`{key}` {text} is negative"),
        ));
    }
    Ok(Some(p.0 as u64))
}

/// `GET /events/{event_ticker}`: the series, and the event's fee overrides if any.
pub fn parse_event_fees(body: &Value) -> Result<(String, FeeTerms), KalshiError> {
    let e = body
        .get("event")
        .filter(|e| e.is_object())
        .ok_or_else(|| KalshiError::parse("event", "no `event` object"))?;
    let series = match s(e, "series_ticker") {
        "" => return Err(KalshiError::parse("event", "no `series_ticker`")),
        t => t.to_string(),
    };
    let terms = FeeTerms {
        fee_type: e
            .get("fee_type_override")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        multiplier_ppm: multiplier_ppm(e, "fee_multiplier_override")?,
    };
    Ok((series, terms))
}

/// `GET /series/{series_ticker}`: the series' fee schedule.
pub fn parse_series_fees(body: &Value) -> Result<FeeTerms, KalshiError> {
    let sr = body
        .get("series")
        .filter(|e| e.is_object())
        .ok_or_else(|| KalshiError::parse("series", "no `series` object"))?;
    Ok(FeeTerms {
        fee_type: sr
            .get("fee_type")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string),
        multiplier_ppm: multiplier_ppm(sr, "fee_multiplier")?,
    })
}

/// The taker fee model of an event's terms over its series' terms (event overrides win).
/// Quadratic types charge takers `0.07 × multiplier × C × P × (1 − P)` rounded up to the cent
/// (kalshi.md §4; how the multiplier composes with 0.07 is unconfirmed there, so fills stay the
/// truth source). `flat` uses a fee table PolyMix does not model: such a series is refused
/// rather than traded with a wrong fee.
pub fn taker_fee(
    series: &str,
    event: &FeeTerms,
    series_terms: &FeeTerms,
) -> Result<FeeModel, KalshiError> {
    let fee_type = event
        .fee_type
        .clone()
        .or_else(|| series_terms.fee_type.clone())
        .ok_or_else(|| KalshiError::parse("series", format!("{series}: no `fee_type`")))?;
    let mult = event
        .multiplier_ppm
        .or(series_terms.multiplier_ppm)
        .unwrap_or(1_000_000);
    match fee_type.as_str() {
        "quadratic" | "quadratic_with_maker_fees" | "quadratic_with_combo_maker_fees" => {
            let rate = u64::from(plugin_api::fees::KALSHI_TAKER_RATE_PPM)
                .checked_mul(mult)
                .map(|r| r / 1_000_000)
                .and_then(|r| u32::try_from(r).ok());
            let rate = rate.ok_or_else(|| {
                KalshiError::parse("series", format!("{series}: fee multiplier too large"))
            })?;
            Ok(FeeModel::kalshi(rate))
        }
        other => Err(KalshiError::Unsupported(format!(
            "series {series} charges fee_type {other:?}, which PolyMix does not model; it cannot be traded"
        ))),
    }
}

/// `GET /exchange/status`: trading needs both `exchange_active` and `trading_active`
/// (kalshi.md §3.1: "check `trading_active` before quoting").
pub fn parse_exchange_status(body: &Value) -> Result<(bool, Option<String>), KalshiError> {
    let flag = |k: &'static str| {
        body.get(k)
            .and_then(Value::as_bool)
            .ok_or_else(|| KalshiError::parse("exchange status", format!("no boolean `{k}`")))
    };
    let trading = flag("exchange_active")? && flag("trading_active")?;
    let detail = body
        .get("exchange_estimated_resume_time")
        .and_then(Value::as_str)
        .filter(|t| !trading && !t.is_empty())
        .map(|t| format!("estimated resume {t}"));
    Ok((trading, detail))
}

/// Resolution from a `GET /markets/{ticker}` body. Only `finalized`/`settled` count as resolved:
/// a `determined` result can still be disputed or amended (kalshi.md §4).
pub fn parse_resolution(body: &Value, ins: &Instrument) -> Result<Resolution, KalshiError> {
    let m = market_obj(body)?;
    let status = s(m, "status");
    let final_ = matches!(status, "finalized" | "settled");
    let yes_payout = match m.get("settlement_value_dollars").filter(|v| !v.is_null()) {
        Some(v) => Some(dollars(v, "settlement_value_dollars")?),
        None => match s(m, "result") {
            "yes" => Some(Price::ONE),
            "no" => Some(Price::ZERO),
            _ => None,
        },
    };
    let (resolved, payout) = match (final_, yes_payout) {
        (true, Some(p)) => {
            if p < Price::ZERO || p > Price::ONE {
                return Err(KalshiError::parse(
                    "market",
                    format!("settlement value {p} outside [0, 1]"),
                ));
            }
            let p = match ins.outcome {
                Outcome::Yes => p,
                Outcome::No => p.complement(),
            };
            (true, p)
        }
        _ => (false, Price::ZERO),
    };
    Ok(Resolution {
        instrument: ins.to_string(),
        resolved,
        payout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_ms("2026-11-24T01:00:00Z"), Some(1_795_482_000_000));
        assert_eq!(
            rfc3339_ms("2026-11-24T01:00:00.25Z"),
            Some(1_795_482_000_250)
        );
        assert_eq!(
            rfc3339_ms("2026-11-24T02:00:00+01:00"),
            Some(1_795_482_000_000)
        );
        assert_eq!(rfc3339_ms("2026-11-24"), None);
        assert_eq!(rfc3339_ms("garbage-garbage-garbage"), None);
    }

    #[test]
    fn markets_page() {
        let body = json!({"markets": [
            {"ticker": "KXNBAGAME-26MAY25NYKCLE-NYK", "event_ticker": "KXNBAGAME-26MAY25NYKCLE", "title": "New York at Cleveland",
             "yes_sub_title": "New York", "no_sub_title": "New York", "status": "active", "close_time": "2026-11-24T01:00:00Z"},
            {"ticker": "bad ticker"}
        ], "cursor": "abc=="});
        let (m, c) = parse_markets(&body).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].instrument, "KXNBAGAME-26MAY25NYKCLE-NYK:yes");
        assert_eq!(m[1].instrument, "KXNBAGAME-26MAY25NYKCLE-NYK:no");
        assert_eq!(m[0].market, "KXNBAGAME-26MAY25NYKCLE");
        assert_eq!(m[0].close_ms, Some(1_795_482_000_000));
        assert_eq!(c.as_deref(), Some("abc=="));
        let (_, c) = parse_markets(&json!({"markets": [], "cursor": ""})).unwrap();
        assert_eq!(c, None);
        assert!(parse_markets(&json!({})).is_err());
    }

    #[test]
    fn rules() {
        let r = parse_rules(&json!({"market": {"price_level_structure": "linear_cent"}})).unwrap();
        assert_eq!(
            (r.tick, r.min_qty, r.qty_step),
            (CENT, Qty::shares(1), Qty::shares(1))
        );
        assert_eq!(r.taker_fee, FeeModel::KALSHI_TAKER);
        let r = parse_rules(&json!({"market": {"price_level_structure": "deci_cent", "fractional_trading_enabled": true}})).unwrap();
        assert_eq!(
            (r.tick, r.qty_step),
            (DECI_CENT, Qty::parse("0.01").unwrap())
        );
        let r = parse_rules(&json!({"market": {"price_ranges": [
            {"start": "0.0000", "end": "0.1000", "step": "0.0010"},
            {"start": "0.1000", "end": "0.9000", "step": "0.0100"},
            {"start": "0.9000", "end": "1.0000", "step": "0.0010"}]}}))
        .unwrap();
        assert_eq!(r.tick, CENT);
        assert_eq!(parse_rules(&json!({"market": {}})).unwrap().tick, CENT);
        assert!(parse_rules(&json!({"market": {"price_ranges": [{"step": 0.01}]}})).is_err());
    }

    #[test]
    fn resolution() {
        let yes = Instrument::parse("T:yes").unwrap();
        let no = Instrument::parse("T:no").unwrap();
        let fin = json!({"market": {"status": "finalized", "result": "yes", "settlement_value_dollars": "1.0000"}});
        assert_eq!(parse_resolution(&fin, &yes).unwrap().payout, Price::ONE);
        let r = parse_resolution(&fin, &no).unwrap();
        assert!(r.resolved);
        assert_eq!(r.payout, Price::ZERO);
        let det = json!({"market": {"status": "determined", "result": "no"}});
        assert!(!parse_resolution(&det, &yes).unwrap().resolved);
        let open = json!({"market": {"status": "active", "result": ""}});
        assert!(!parse_resolution(&open, &yes).unwrap().resolved);
        let no_res = json!({"market": {"status": "finalized", "result": "no"}});
        assert_eq!(parse_resolution(&no_res, &no).unwrap().payout, Price::ONE);
    }

    #[test]
    fn exchange_status_needs_both_flags() {
        let st = |v: Value| parse_exchange_status(&v);
        assert_eq!(
            st(json!({"exchange_active": true, "trading_active": true})).unwrap(),
            (true, None)
        );
        assert_eq!(
            st(json!({"exchange_active": true, "trading_active": false,
                "exchange_estimated_resume_time": "2026-11-26T13:00:00Z"}))
            .unwrap(),
            (false, Some("estimated resume 2026-11-26T13:00:00Z".into()))
        );
        let e = st(json!({"exchange_active": "yes", "trading_active": true})).unwrap_err();
        assert!(e.to_string().contains("exchange_active"), "{e}");
    }

    #[test]
    fn fee_terms_event_overrides_series() {
        let (series, ev) = parse_event_fees(
            &json!({"event": {"event_ticker": "E", "series_ticker": "KXNBAGAME",
            "fee_type_override": null, "fee_multiplier_override": "0.5"}}),
        )
        .unwrap();
        assert_eq!(series, "KXNBAGAME");
        assert_eq!(ev.multiplier_ppm, Some(500_000));
        let sr = parse_series_fees(&json!({"series": {"ticker": "KXNBAGAME",
            "fee_type": "quadratic_with_maker_fees", "fee_multiplier": 1}}))
        .unwrap();
        let m = taker_fee(&series, &ev, &sr).unwrap();
        assert_eq!(m, FeeModel::kalshi(35_000), "0.07 × 0.5");
        assert_eq!(
            taker_fee(&series, &FeeTerms::default(), &sr).unwrap(),
            FeeModel::KALSHI_TAKER
        );
        let flat = FeeTerms {
            fee_type: Some("flat".into()),
            multiplier_ppm: None,
        };
        let e = taker_fee(&series, &flat, &sr).unwrap_err().to_string();
        assert!(e.contains("flat") && e.contains("KXNBAGAME"), "{e}");
        assert!(taker_fee(&series, &FeeTerms::default(), &FeeTerms::default()).is_err());
        assert!(parse_series_fees(&json!({"series": {"fee_multiplier": true}})).is_err());
    }

    #[test]
    fn byte_path_matches_the_tree_path() {
        for body in [
            json!({"markets": [
                {"ticker": "KXNBAGAME-26NOV25LALBOS-LAL", "event_ticker": "KXNBAGAME-26NOV25LALBOS",
                 "title": "Lakers \"at\" Celtics \u{2014} tonight", "yes_sub_title": "Lakers", "no_sub_title": "",
                 "status": "active", "close_time": "2026-11-26T05:00:00Z", "volume_fp": "12.00", "price_ranges": []},
                {"ticker": "KXMVESPORTS-1", "title": "parlay"},
                {"ticker": "bad ticker"},
                {"ticker": "T-2", "yes_sub_title": null, "close_time": null}],
             "cursor": "c2"}),
            json!({"markets": [], "cursor": ""}),
            json!({"markets": [{"ticker": 5}]}),
        ] {
            let bytes = serde_json::to_vec(&body).unwrap();
            assert_eq!(
                parse_markets_bytes(&bytes).unwrap(),
                parse_markets(&body).unwrap(),
                "{body}"
            );
        }
        assert!(parse_markets_bytes(b"{}").is_err());
        assert!(parse_markets_bytes(b"<html>").is_err());
    }
}

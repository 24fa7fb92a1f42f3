//! Structured listings for pair discovery (`VenueOp::Listings`), from
//! `GET /events?series_ticker=…&with_nested_markets=true&with_milestones=true` (kalshi.md §3.1,
//! §6): one event per game, one binary market per outcome.
//!
//! Labels come from structured fields only: a market's `yes_sub_title` names the team its YES
//! pays on (`Tie` for a soccer draw), `strike_type` with `floor_strike` / `cap_strike` gives a
//! line and its direction. `TICKER:yes` pays when that holds, `TICKER:no` when it does not.
//! Unlike the plain market listing, a malformed field here is an error naming it: discovery must
//! never propose a pair from a half-read market.

use plugin_api::{
    Listing, ListingFilter, ListingOutcome, ListingStatus, OutcomeSide, Price, Subject, Threshold,
    ThresholdDirection,
};
use serde_json::Value;
use std::collections::HashMap;

use crate::book::{dollars, Instrument, Outcome};
use crate::errors::KalshiError;
use crate::markets::rfc3339_ms;

fn bad(at: &str, detail: impl std::fmt::Display) -> KalshiError {
    KalshiError::parse("listings", format!("{at}: {detail}"))
}

/// A required non-empty string field.
fn req_str<'a>(v: &'a Value, at: &str, k: &str) -> Result<&'a str, KalshiError> {
    match v.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(bad(&format!("{at}.{k}"), "is empty")),
        None | Some(Value::Null) => Err(bad(&format!("{at}.{k}"), "is missing")),
        Some(other) => Err(bad(
            &format!("{at}.{k}"),
            format!("{other} is not a string"),
        )),
    }
}

/// An optional string field (absent, null and empty are all "none").
fn opt_str<'a>(v: &'a Value, at: &str, k: &str) -> Result<Option<&'a str>, KalshiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(
            &format!("{at}.{k}"),
            format!("{other} is not a string"),
        )),
    }
}

/// An optional RFC 3339 time field.
fn opt_time(v: &Value, at: &str, k: &str) -> Result<Option<i64>, KalshiError> {
    match opt_str(v, at, k)? {
        None => Ok(None),
        Some(t) => rfc3339_ms(t).map(Some).ok_or_else(|| {
            bad(
                &format!("{at}.{k}"),
                format!("{t:?} is not an RFC 3339 time"),
            )
        }),
    }
}

/// An optional dollar-string price in [0, 1].
fn opt_price(v: &Value, at: &str, k: &'static str) -> Result<Option<Price>, KalshiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => {
            let p = dollars(x, k).map_err(|e| bad(&format!("{at}.{k}"), e))?;
            if p < Price::ZERO || p > Price::ONE {
                return Err(bad(&format!("{at}.{k}"), format!("{p} is outside 0 to 1")));
            }
            // Kalshi shows 0 (YES ask) or 1 when a side has no offers: no ask.
            Ok((p > Price::ZERO && p < Price::ONE).then_some(p))
        }
    }
}

/// A strike: a JSON number or a decimal string, kept as the venue wrote it.
fn strike(v: &Value, at: &str, k: &str) -> Result<Option<String>, KalshiError> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::String(s)) if s.parse::<f64>().is_ok_and(f64::is_finite) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            &format!("{at}.{k}"),
            format!("{other} is not a number"),
        )),
    }
}

/// Kalshi lifecycle words (kalshi.md §4) to a listing status.
pub fn status_of(s: &str) -> ListingStatus {
    match s {
        "active" | "open" => ListingStatus::Open,
        "initialized" | "unopened" => ListingStatus::Unopened,
        "inactive" | "paused" => ListingStatus::Paused,
        "closed" | "determined" | "disputed" | "amended" => ListingStatus::Closed,
        "finalized" | "settled" => ListingStatus::Settled,
        _ => ListingStatus::Unknown,
    }
}

fn is_draw_label(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "tie" | "draw")
}

/// The line of a market, from `strike_type` and its strike fields.
fn threshold_of(m: &Value, at: &str) -> Result<Option<Threshold>, KalshiError> {
    let Some(st) = opt_str(m, at, "strike_type")? else {
        return Ok(None);
    };
    let (dir, key) = match st {
        "greater" | "greater_or_equal" => (ThresholdDirection::Above, "floor_strike"),
        "less" | "less_or_equal" => (ThresholdDirection::Below, "cap_strike"),
        _ => return Ok(None),
    };
    let value = strike(m, at, key)?.ok_or_else(|| {
        bad(
            &format!("{at}.{key}"),
            format!("missing for strike_type {st:?}"),
        )
    })?;
    Ok(Some(Threshold {
        value,
        direction: dir,
        source: format!("strike_type={st}, {key}"),
    }))
}

/// Start time per event ticker from the page's milestones (`start_date`,
/// `related_event_tickers`), which kalshi.md §6 recommends for time alignment.
fn milestone_starts(body: &Value) -> Result<HashMap<String, i64>, KalshiError> {
    let mut out = HashMap::new();
    let Some(ms) = body.get("milestones").and_then(Value::as_array) else {
        return Ok(out);
    };
    for (i, m) in ms.iter().enumerate() {
        let at = format!("milestones[{i}]");
        let Some(start) = opt_time(m, &at, "start_date")? else {
            continue;
        };
        if let Some(rel) = m.get("related_event_tickers").and_then(Value::as_array) {
            for e in rel.iter().filter_map(Value::as_str) {
                out.insert(e.to_string(), start);
            }
        }
    }
    Ok(out)
}

/// Splits an event title like `Los Angeles L at Boston` or `Chelsea vs Aston Villa` into its
/// two sides (a fallback when the markets name no teams, e.g. a totals event).
fn title_sides(title: &str) -> Option<Vec<String>> {
    // `: ` starts a suffix such as `: Total Points`.
    let head = title.split(": ").next().unwrap_or(title);
    for sep in [" at ", " vs. ", " vs "] {
        if let Some((a, b)) = head.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            if !a.is_empty() && !b.is_empty() {
                return Some(vec![a.to_string(), b.to_string()]);
            }
        }
    }
    None
}

/// Parses one `/events` page into listings; keeps events whose start (or, without one, close)
/// falls in the filter's window.
pub fn parse_listings(
    body: &Value,
    filter: &ListingFilter,
) -> Result<(Vec<Listing>, Option<String>), KalshiError> {
    let events = body
        .get("events")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("events", "no `events` array"))?;
    let starts = milestone_starts(body)?;
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at = format!("events[{i}]");
        let event_ticker = req_str(e, &at, "event_ticker")?;
        let series = opt_str(e, &at, "series_ticker")?.map(str::to_string);
        let title = req_str(e, &at, "title")?;
        let exclusive = e
            .get("mutually_exclusive")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let markets = e
            .get("markets")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("{at}.markets"), "no nested `markets` array"))?;
        let mut parsed = Vec::with_capacity(markets.len());
        for (j, m) in markets.iter().enumerate() {
            parsed.push(parse_market(m, &format!("{at}.markets[{j}]"))?);
        }
        let teams: Vec<String> = parsed
            .iter()
            .filter_map(|p| match &p.subject {
                Subject::Participant { name } => Some(name.clone()),
                _ => None,
            })
            .collect();
        let has_draw = parsed.iter().any(|p| p.subject == Subject::Draw);
        let (participants, participants_source) = if teams.len() >= 2 {
            (teams.clone(), "markets[].yes_sub_title".to_string())
        } else {
            match title_sides(title) {
                Some(s) => (s, "event.title".to_string()),
                None => (Vec::new(), String::new()),
            }
        };
        let draw_listed = if has_draw {
            Some(true)
        } else if teams.len() >= 2 && exclusive {
            Some(false)
        } else {
            None
        };
        let multi_outcome = exclusive && markets.len() > 2;
        for p in parsed {
            let start_ms = starts.get(event_ticker).copied().or(p.occurrence_ms);
            let when = start_ms.or(p.close_ms);
            if let Some(w) = when {
                if filter.from_ms.is_some_and(|f| w < f) || filter.to_ms.is_some_and(|t| w >= t) {
                    continue;
                }
            }
            let ins = Instrument::parse(&format!("{}:yes", p.ticker))
                .map_err(|e| bad(&format!("{}.ticker", p.at), e))?;
            let source = match &p.subject {
                Subject::Threshold => "strike_type".to_string(),
                _ => "yes_sub_title".to_string(),
            };
            let outcomes = vec![
                ListingOutcome {
                    instrument: Instrument::with_outcome(&ins.ticker, Outcome::Yes).to_string(),
                    side: OutcomeSide::Yes,
                    subject: p.subject.clone(),
                    source: format!("{source} (YES side)"),
                    best_ask: p.yes_ask,
                },
                ListingOutcome {
                    instrument: Instrument::with_outcome(&ins.ticker, Outcome::No).to_string(),
                    side: OutcomeSide::No,
                    subject: p.subject.clone(),
                    source: format!("{source} (NO side)"),
                    best_ask: p.no_ask,
                },
            ];
            out.push(Listing {
                event_id: event_ticker.to_string(),
                market_id: p.ticker,
                series: series.clone(),
                title: title.to_string(),
                market_title: p.title,
                participants: participants.clone(),
                participants_source: participants_source.clone(),
                start_ms,
                close_ms: p.close_ms,
                status: status_of(&p.status),
                venue_status: p.status,
                outcomes,
                threshold: p.threshold,
                draw_listed,
                multi_outcome,
                rules: p.rules,
            });
        }
    }
    let cursor = body
        .get("cursor")
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    Ok((out, cursor))
}

/// The fields of one market a listing needs, checked.
struct Parsed {
    at: String,
    ticker: String,
    title: String,
    status: String,
    subject: Subject,
    threshold: Option<Threshold>,
    close_ms: Option<i64>,
    occurrence_ms: Option<i64>,
    yes_ask: Option<Price>,
    no_ask: Option<Price>,
    rules: String,
}

fn parse_market(m: &Value, at: &str) -> Result<Parsed, KalshiError> {
    let ticker = req_str(m, at, "ticker")?.to_string();
    let status = req_str(m, at, "status")?.to_string();
    let threshold = threshold_of(m, at)?;
    let yes_sub = opt_str(m, at, "yes_sub_title")?;
    let subject = match (&threshold, yes_sub) {
        (Some(_), _) => Subject::Threshold,
        (None, Some(s)) if is_draw_label(s) => Subject::Draw,
        (None, Some(s)) => Subject::Participant {
            name: s.to_string(),
        },
        (None, None) => Subject::Statement,
    };
    let rules = [
        opt_str(m, at, "rules_primary")?,
        opt_str(m, at, "rules_secondary")?,
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n\n");
    Ok(Parsed {
        at: at.to_string(),
        title: opt_str(m, at, "title")?.unwrap_or_default().to_string(),
        close_ms: opt_time(m, at, "close_time")?,
        // [UNCONFIRMED] the game time; used only when the page has no milestone for the event.
        occurrence_ms: opt_time(m, at, "occurrence_datetime")?,
        yes_ask: opt_price(m, at, "yes_ask_dollars")?,
        no_ask: opt_price(m, at, "no_ask_dollars")?,
        ticker,
        status,
        subject,
        threshold,
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nba_page() -> Value {
        json!({"events": [{
            "event_ticker": "KXNBAGAME-26DEC05LALBOS", "series_ticker": "KXNBAGAME",
            "title": "Los Angeles L at Boston", "mutually_exclusive": true,
            "markets": [
                {"ticker": "KXNBAGAME-26DEC05LALBOS-LAL", "event_ticker": "KXNBAGAME-26DEC05LALBOS",
                 "title": "Los Angeles L at Boston Winner?", "yes_sub_title": "Los Angeles L",
                 "no_sub_title": "Los Angeles L", "status": "active", "close_time": "2026-12-06T04:00:00Z",
                 "strike_type": "structured", "yes_ask_dollars": "0.4500", "no_ask_dollars": "0.5700",
                 "rules_primary": "If Los Angeles L wins the game, the market resolves to Yes."},
                {"ticker": "KXNBAGAME-26DEC05LALBOS-BOS", "event_ticker": "KXNBAGAME-26DEC05LALBOS",
                 "title": "Los Angeles L at Boston Winner?", "yes_sub_title": "Boston",
                 "status": "active", "close_time": "2026-12-06T04:00:00Z"}
            ]}],
            "milestones": [{"type": "basketball_game", "start_date": "2026-12-06T00:30:00Z",
                            "related_event_tickers": ["KXNBAGAME-26DEC05LALBOS"]}],
            "cursor": "next"})
    }

    #[test]
    fn two_way_game() {
        let (l, c) = parse_listings(&nba_page(), &ListingFilter::default()).unwrap();
        assert_eq!(c.as_deref(), Some("next"));
        assert_eq!(l.len(), 2);
        let lal = &l[0];
        assert_eq!(lal.participants, vec!["Los Angeles L", "Boston"]);
        assert_eq!(lal.start_ms, rfc3339_ms("2026-12-06T00:30:00Z"));
        assert_eq!(lal.status, ListingStatus::Open);
        assert_eq!(lal.draw_listed, Some(false));
        assert!(!lal.multi_outcome);
        assert_eq!(
            lal.outcomes[0].instrument,
            "KXNBAGAME-26DEC05LALBOS-LAL:yes"
        );
        assert_eq!(lal.outcomes[0].side, OutcomeSide::Yes);
        assert_eq!(
            lal.outcomes[1].subject,
            Subject::Participant {
                name: "Los Angeles L".into()
            }
        );
        assert_eq!(lal.outcomes[0].best_ask, Some(Price(450_000)));
        assert!(lal.rules.starts_with("If Los Angeles L wins"));
    }

    #[test]
    fn window_filters_by_start() {
        let f = ListingFilter {
            from_ms: rfc3339_ms("2026-12-07T00:00:00Z"),
            ..Default::default()
        };
        assert!(parse_listings(&nba_page(), &f).unwrap().0.is_empty());
    }

    #[test]
    fn tie_and_threshold() {
        let body = json!({"events": [{
            "event_ticker": "E", "series_ticker": "KXEPLGAME", "title": "Chelsea vs Aston Villa",
            "mutually_exclusive": true, "markets": [
                {"ticker": "E-CFC", "yes_sub_title": "Chelsea", "status": "active"},
                {"ticker": "E-AVL", "yes_sub_title": "Aston Villa", "status": "active"},
                {"ticker": "E-TIE", "yes_sub_title": "Tie", "status": "active"}]},
            {"event_ticker": "T", "title": "Los Angeles L at Boston: Total Points", "markets": [
                {"ticker": "T-220", "yes_sub_title": "Over 220.5 points", "status": "active",
                 "strike_type": "greater", "floor_strike": 220.5}]}]});
        let (l, _) = parse_listings(&body, &ListingFilter::default()).unwrap();
        assert_eq!(l[2].outcomes[0].subject, Subject::Draw);
        assert!(l[0].multi_outcome);
        assert_eq!(l[0].draw_listed, Some(true));
        let t = &l[3];
        assert_eq!(t.participants, vec!["Los Angeles L", "Boston"]);
        assert_eq!(t.participants_source, "event.title");
        let th = t.threshold.as_ref().unwrap();
        assert_eq!(
            (th.value.as_str(), th.direction),
            ("220.5", ThresholdDirection::Above)
        );
        assert_eq!(t.outcomes[0].subject, Subject::Threshold);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut b = nba_page();
        b["events"][0]["markets"][1]["close_time"] = json!("tomorrow");
        let e = parse_listings(&b, &ListingFilter::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("events[0].markets[1].close_time"), "{e}");
        let mut b = nba_page();
        b["events"][0]["markets"][0]["yes_ask_dollars"] = json!(0.45);
        let e = parse_listings(&b, &ListingFilter::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("events[0].markets[0].yes_ask_dollars"), "{e}");
        let mut b = nba_page();
        b["events"][0]["markets"][0]
            .as_object_mut()
            .unwrap()
            .remove("ticker");
        let e = parse_listings(&b, &ListingFilter::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("events[0].markets[0].ticker: is missing"), "{e}");
        let mut b = nba_page();
        b["events"][0]["markets"][0]["strike_type"] = json!("less");
        let e = parse_listings(&b, &ListingFilter::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("cap_strike"), "{e}");
    }
}

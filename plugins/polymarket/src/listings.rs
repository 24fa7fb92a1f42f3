//! Structured listings for pair discovery (`VenueOp::Listings`), from Gamma
//! `GET /events/keyset?tag_slug=…` (polymarket.md §1.1).
//!
//! Gamma's `outcomes` and `clobTokenIds` are JSON arrays encoded *inside* strings, index-aligned:
//! the token at `clobTokenIds[i]` pays when `outcomes[i]` happens. Polarity is read from that
//! alignment and never from position alone: a market listing `["Celtics", "Lakers"]` has the
//! Celtics token first. Sports fields: `sportsMarketType` (`moneyline`, `totals`, …), `line`,
//! `gameStartTime`, `groupItemTitle` (the outcome a Yes/No market of a multi-market event is
//! about, e.g. `Chelsea` or `Draw (Chelsea vs. Aston Villa)`). A malformed field is an error
//! naming it: discovery must never propose a pair from a half-read market. A Yes/No market
//! stating a line ("total runs over 8.5?") is a threshold market; its line and direction come
//! from `line`, `groupItemTitle` and the question in fixed grammars (`line_market`), and an
//! unreadable direction is listed as `ThresholdDirection::Unknown` for discovery to veto.
//!
//! Best asks: Gamma's `bestAsk` is the first outcome's; the second outcome's is `1 − bestBid`
//! (the two books of a binary market mirror each other).

use plugin_api::{
    Listing, ListingFilter, ListingOutcome, ListingStatus, OutcomeSide, Price, Subject, Threshold,
    ThresholdDirection,
};
use serde_json::Value;

use crate::dec;
use crate::gamma::parse_iso_ms;

/// A listing error: where, and what is wrong.
fn bad(at: &str, detail: impl std::fmt::Display) -> String {
    format!("{at}: {detail}")
}

fn opt_str<'a>(v: &'a Value, at: &str, k: &str) -> Result<Option<&'a str>, String> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(bad(
            &format!("{at}.{k}"),
            format!("{other} is not a string"),
        )),
    }
}

/// An id Gamma sends as a string or a number.
fn id_of(v: &Value, at: &str, k: &str) -> Result<String, String> {
    match v.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        None | Some(Value::Null) => Err(bad(&format!("{at}.{k}"), "is missing")),
        Some(other) => Err(bad(&format!("{at}.{k}"), format!("{other} is not an id"))),
    }
}

fn opt_bool(v: &Value, at: &str, k: &str) -> Result<Option<bool>, String> {
    match v.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(
            &format!("{at}.{k}"),
            format!("{other} is not a boolean"),
        )),
    }
}

fn opt_time(v: &Value, at: &str, k: &str) -> Result<Option<i64>, String> {
    match opt_str(v, at, k)? {
        None => Ok(None),
        Some(t) => parse_iso_ms(t).map(Some).ok_or_else(|| {
            bad(
                &format!("{at}.{k}"),
                format!("{t:?} is not an ISO 8601 time"),
            )
        }),
    }
}

/// A decimal Gamma sends as a JSON number or a string, as text.
fn opt_decimal(v: &Value, at: &str, k: &str) -> Result<Option<String>, String> {
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

fn opt_price(v: &Value, at: &str, k: &str) -> Result<Option<Price>, String> {
    let Some(t) = opt_decimal(v, at, k)? else {
        return Ok(None);
    };
    let p =
        dec::price(&t).ok_or_else(|| bad(&format!("{at}.{k}"), format!("{t} is not a price")))?;
    if p < Price::ZERO || p > Price::ONE {
        return Err(bad(&format!("{at}.{k}"), format!("{t} is outside 0 to 1")));
    }
    Ok(Some(p))
}

/// A list field that is a JSON array of strings or a string holding one (Gamma's encoding).
fn str_list(v: &Value, at: &str, k: &str) -> Result<Vec<String>, String> {
    let at = format!("{at}.{k}");
    let arr: Vec<Value> = match v.get(k) {
        Some(Value::Array(a)) => a.clone(),
        Some(Value::String(s)) => serde_json::from_str(s)
            .map_err(|e| bad(&at, format!("{s:?} is not a JSON-encoded array: {e}")))?,
        None | Some(Value::Null) => return Err(bad(&at, "is missing")),
        Some(other) => return Err(bad(&at, format!("{other} is not an array"))),
    };
    arr.into_iter()
        .enumerate()
        .map(|(i, x)| match x {
            Value::String(s) if !s.trim().is_empty() => Ok(s),
            other => Err(bad(&format!("{at}[{i}]"), format!("{other} is not a name"))),
        })
        .collect()
}

fn is_yes(s: &str) -> bool {
    s.eq_ignore_ascii_case("yes")
}
fn is_no(s: &str) -> bool {
    s.eq_ignore_ascii_case("no")
}
fn is_draw_title(s: &str) -> bool {
    let l = s.trim().to_ascii_lowercase();
    l == "draw" || l == "tie" || l.starts_with("draw ") || l.starts_with("tie ")
}

/// Status from `closed`, `umaResolutionStatus`, `active`, `acceptingOrders`.
fn status_of(m: &Value, at: &str) -> Result<(ListingStatus, String), String> {
    let closed = opt_bool(m, at, "closed")?;
    let active = opt_bool(m, at, "active")?;
    let accepting = opt_bool(m, at, "acceptingOrders")?;
    let uma = opt_str(m, at, "umaResolutionStatus")?;
    let words = format!(
        "closed={} active={} acceptingOrders={}",
        closed.map_or("?".into(), |b| b.to_string()),
        active.map_or("?".into(), |b| b.to_string()),
        accepting.map_or("?".into(), |b| b.to_string()),
    );
    let st = if closed == Some(true) {
        if uma == Some("resolved") {
            ListingStatus::Settled
        } else {
            ListingStatus::Closed
        }
    } else if accepting == Some(false) || active == Some(false) {
        ListingStatus::Paused
    } else if closed == Some(false) {
        ListingStatus::Open
    } else {
        ListingStatus::Unknown
    };
    Ok((st, words))
}

/// One market, checked, before the event's shared facts are known.
struct Parsed {
    market_id: String,
    question: String,
    outcomes: Vec<ListingOutcome>,
    threshold: Option<Threshold>,
    /// Team names this market names structurally (moneyline outcomes, group item titles).
    teams: Vec<String>,
    has_draw: bool,
    /// A two-team market whose outcomes are the teams themselves.
    two_way: bool,
    start_ms: Option<i64>,
    close_ms: Option<i64>,
    status: ListingStatus,
    venue_status: String,
    rules: String,
}

fn parse_market(m: &Value, at: &str) -> Result<Parsed, String> {
    let market_id = match m.get("conditionId") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(bad(&format!("{at}.conditionId"), "is missing")),
    };
    let outcomes = str_list(m, at, "outcomes")?;
    let tokens = str_list(m, at, "clobTokenIds")?;
    if outcomes.len() != tokens.len() {
        return Err(bad(
            &format!("{at}.clobTokenIds"),
            format!(
                "{} token ids for {} outcomes (the arrays must be index-aligned)",
                tokens.len(),
                outcomes.len()
            ),
        ));
    }
    for (i, t) in tokens.iter().enumerate() {
        if t.len() > 78 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                &format!("{at}.clobTokenIds[{i}]"),
                format!("{t:?} is not a token id"),
            ));
        }
    }
    let kind = opt_str(m, at, "sportsMarketType")?;
    let group = opt_str(m, at, "groupItemTitle")?;
    let best_ask = opt_price(m, at, "bestAsk")?;
    let best_bid = opt_price(m, at, "bestBid")?;
    // Ask of each outcome in index order (only binary markets mirror).
    let ask = |i: usize| -> Option<Price> {
        match i {
            0 => best_ask.filter(|p| *p > Price::ZERO && *p < Price::ONE),
            1 => best_bid
                .filter(|p| *p > Price::ZERO && *p < Price::ONE)
                .map(|b| b.complement()),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(tokens.len());
    let mut threshold = None;
    let mut teams = Vec::new();
    let mut has_draw = false;
    let mut two_way = false;
    let over_under = outcomes.len() == 2
        && outcomes.iter().any(|o| o.eq_ignore_ascii_case("over"))
        && outcomes.iter().any(|o| o.eq_ignore_ascii_case("under"));
    let yes_no = outcomes.len() == 2
        && outcomes.iter().any(|o| is_yes(o))
        && outcomes.iter().any(|o| is_no(o));
    // A Yes/No market stating a line (see `line_market`): its threshold, or why it has none.
    let line_threshold = if yes_no {
        let line = opt_decimal(m, at, "line")?;
        let question = opt_str(m, at, "question")?.unwrap_or_default();
        crate::line_market::yes_no_threshold(
            line.as_deref(),
            kind == Some("totals"),
            group,
            question,
        )
    } else {
        None
    };
    if over_under || (kind == Some("totals") && !yes_no) {
        if !over_under {
            return Err(bad(
                &format!("{at}.outcomes"),
                format!("a totals market must list Over and Under, found {outcomes:?}"),
            ));
        }
        let value = opt_decimal(m, at, "line")?
            .ok_or_else(|| bad(&format!("{at}.line"), "is missing for an Over/Under market"))?;
        threshold = Some(Threshold {
            value,
            direction: ThresholdDirection::Above,
            source: "outcomes (Over/Under), line".into(),
        });
        for (i, (o, t)) in outcomes.iter().zip(&tokens).enumerate() {
            let side = if o.eq_ignore_ascii_case("over") {
                OutcomeSide::Yes
            } else {
                OutcomeSide::No
            };
            out.push(ListingOutcome {
                instrument: t.clone(),
                side,
                subject: Subject::Threshold,
                source: format!("outcomes[{i}]={o:?}"),
                best_ask: ask(i),
            });
        }
    } else if let Some(line) = line_threshold {
        // A Yes/No line market: YES pays if the line's proposition holds.
        let subject = match line {
            Ok(t) => {
                let src = format!("{} ({})", t.source, t.value);
                threshold = Some(t);
                (Subject::Threshold, src)
            }
            Err(why) => (Subject::Statement, why),
        };
        for (i, (o, t)) in outcomes.iter().zip(&tokens).enumerate() {
            out.push(ListingOutcome {
                instrument: t.clone(),
                side: if is_yes(o) {
                    OutcomeSide::Yes
                } else {
                    OutcomeSide::No
                },
                subject: subject.0.clone(),
                source: format!("{}, outcomes[{i}]={o:?}", subject.1),
                best_ask: ask(i),
            });
        }
    } else if yes_no {
        let subject = match group {
            Some(g) if is_draw_title(g) => {
                has_draw = true;
                Subject::Draw
            }
            Some(g) => {
                teams.push(g.to_string());
                Subject::Participant {
                    name: g.to_string(),
                }
            }
            None => Subject::Statement,
        };
        let label = if group.is_some() {
            "groupItemTitle"
        } else {
            "question"
        };
        for (i, (o, t)) in outcomes.iter().zip(&tokens).enumerate() {
            let side = if is_yes(o) {
                OutcomeSide::Yes
            } else {
                OutcomeSide::No
            };
            out.push(ListingOutcome {
                instrument: t.clone(),
                side,
                subject: subject.clone(),
                source: format!("{label}, outcomes[{i}]={o:?}"),
                best_ask: ask(i),
            });
        }
    } else if outcomes.len() == 2 && matches!(kind, None | Some("moneyline")) {
        // Each token pays when its named team wins: a two-way game market.
        two_way = true;
        for (i, (o, t)) in outcomes.iter().zip(&tokens).enumerate() {
            if is_draw_title(o) {
                has_draw = true;
            } else {
                teams.push(o.clone());
            }
            out.push(ListingOutcome {
                instrument: t.clone(),
                side: OutcomeSide::Yes,
                subject: if is_draw_title(o) {
                    Subject::Draw
                } else {
                    Subject::Participant { name: o.clone() }
                },
                source: format!("outcomes[{i}]={o:?}"),
                best_ask: ask(i),
            });
        }
    } else {
        for (i, (o, t)) in outcomes.iter().zip(&tokens).enumerate() {
            out.push(ListingOutcome {
                instrument: t.clone(),
                side: OutcomeSide::Yes,
                subject: Subject::Statement,
                source: format!("outcomes[{i}]={o:?}"),
                best_ask: ask(i),
            });
        }
    }
    let (status, venue_status) = status_of(m, at)?;
    Ok(Parsed {
        market_id,
        question: opt_str(m, at, "question")?.unwrap_or_default().to_string(),
        outcomes: out,
        threshold,
        teams,
        has_draw,
        two_way,
        start_ms: opt_time(m, at, "gameStartTime")?,
        close_ms: opt_time(m, at, "endDate")?,
        status,
        venue_status,
        rules: opt_str(m, at, "description")?
            .unwrap_or_default()
            .to_string(),
    })
}

/// `Lakers vs. Celtics` → the two sides (a fallback when no market names the teams).
fn title_sides(title: &str) -> Option<Vec<String>> {
    let head = title.split(": ").next().unwrap_or(title);
    for sep in [" vs. ", " vs ", " at ", " @ "] {
        if let Some((a, b)) = head.split_once(sep) {
            let (a, b) = (a.trim(), b.trim());
            if !a.is_empty() && !b.is_empty() {
                return Some(vec![a.to_string(), b.to_string()]);
            }
        }
    }
    None
}

/// Parses a Gamma events page (keyset envelope `{"events": [...], "next_cursor"}` or a bare
/// array) into listings; keeps markets whose start (or, without one, close) is in the window.
pub fn parse_listings(
    body: &[u8],
    filter: &ListingFilter,
) -> Result<(Vec<Listing>, Option<String>), String> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| format!("response is not JSON: {e}"))?;
    let (events, cursor) = match &v {
        Value::Array(a) => (a.clone(), None),
        Value::Object(o) => {
            let ev = o
                .get("events")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("events", "no `events` array"))?;
            let c = o
                .get("next_cursor")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty() && *c != "LTE=")
                .map(str::to_string);
            (ev.clone(), c)
        }
        _ => return Err(bad("events", "not an object or array")),
    };
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at = format!("events[{i}]");
        let event_id = id_of(e, &at, "id")?;
        let title = opt_str(e, &at, "title")?.unwrap_or_default().to_string();
        let series = match opt_str(e, &at, "seriesSlug")? {
            Some(s) => Some(s.to_string()),
            None => filter.series.clone(),
        };
        let event_start = opt_time(e, &at, "startTime")?;
        let neg_risk = opt_bool(e, &at, "negRisk")?.unwrap_or(false);
        let markets = e
            .get("markets")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("{at}.markets"), "no `markets` array"))?;
        let mut parsed = Vec::with_capacity(markets.len());
        for (j, m) in markets.iter().enumerate() {
            parsed.push(parse_market(m, &format!("{at}.markets[{j}]"))?);
        }
        let mut teams: Vec<String> = Vec::new();
        for t in parsed.iter().flat_map(|p| p.teams.iter()) {
            if !teams.contains(t) {
                teams.push(t.clone());
            }
        }
        let (participants, participants_source) = if teams.len() >= 2 {
            (teams, "outcomes / groupItemTitle".to_string())
        } else {
            match title_sides(&title) {
                Some(s) => (s, "event.title".to_string()),
                None => (Vec::new(), String::new()),
            }
        };
        let any_draw = parsed.iter().any(|p| p.has_draw);
        let any_two_way = parsed.iter().any(|p| p.two_way);
        let outcome_markets = parsed
            .iter()
            .filter(|p| {
                p.outcomes.iter().any(|o| {
                    matches!(o.subject, Subject::Participant { .. } | Subject::Draw)
                        && o.side == OutcomeSide::No
                })
            })
            .count();
        let multi_outcome = neg_risk || outcome_markets > 2;
        for p in parsed {
            let draw_listed = if any_draw {
                Some(true)
            } else if p.two_way || (any_two_way && p.threshold.is_none()) {
                Some(false)
            } else {
                None
            };
            let start_ms = p.start_ms.or(event_start);
            if let Some(w) = start_ms.or(p.close_ms) {
                if filter.from_ms.is_some_and(|f| w < f) || filter.to_ms.is_some_and(|t| w >= t) {
                    continue;
                }
            }
            if filter.open_only && p.status != ListingStatus::Open {
                continue;
            }
            let one_of_many = multi_outcome && !p.two_way && p.threshold.is_none();
            out.push(Listing {
                event_id: event_id.clone(),
                market_id: p.market_id,
                series: series.clone(),
                title: title.clone(),
                market_title: p.question,
                participants: participants.clone(),
                participants_source: participants_source.clone(),
                start_ms,
                close_ms: p.close_ms,
                status: p.status,
                venue_status: p.venue_status,
                outcomes: p.outcomes,
                threshold: p.threshold,
                draw_listed,
                multi_outcome: one_of_many,
                rules: p.rules,
            });
        }
    }
    Ok((out, cursor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(markets: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({"events": [{
            "id": "9001", "title": "Lakers vs. Celtics", "seriesSlug": "nba",
            "startTime": "2026-12-06T00:30:00Z", "negRisk": false, "markets": markets}],
            "next_cursor": "n2"}))
        .unwrap()
    }

    fn moneyline(outcomes: &str, tokens: &str) -> Value {
        json!({"conditionId": "0xabc", "question": "Lakers vs. Celtics",
               "outcomes": outcomes, "clobTokenIds": tokens, "sportsMarketType": "moneyline",
               "gameStartTime": "2026-12-06 00:30:00+00", "endDate": "2026-12-06T04:00:00Z",
               "closed": false, "active": true, "acceptingOrders": true,
               "bestBid": 0.44, "bestAsk": 0.46, "description": "Resolves to the winner."})
    }

    #[test]
    fn moneyline_follows_outcome_labels_not_position() {
        let body = page(json!([moneyline(
            "[\"Celtics\", \"Lakers\"]",
            "[\"111\", \"222\"]"
        )]));
        let (l, c) = parse_listings(&body, &ListingFilter::default()).unwrap();
        assert_eq!(c.as_deref(), Some("n2"));
        let m = &l[0];
        assert_eq!(m.participants, vec!["Celtics", "Lakers"]);
        assert_eq!(m.draw_listed, Some(false));
        let lal = m
            .outcome(
                OutcomeSide::Yes,
                &Subject::Participant {
                    name: "Lakers".into(),
                },
            )
            .unwrap();
        assert_eq!(lal.instrument, "222");
        assert_eq!(lal.source, "outcomes[1]=\"Lakers\"");
        assert_eq!(lal.best_ask, Some(Price(560_000)));
        assert_eq!(m.outcomes[0].best_ask, Some(Price(460_000)));
        assert_eq!(m.start_ms, parse_iso_ms("2026-12-06T00:30:00Z"));
        assert_eq!(m.status, ListingStatus::Open);
        assert_eq!(m.series.as_deref(), Some("nba"));
    }

    #[test]
    fn soccer_yes_no_markets_and_totals() {
        let yn = |cid: &str, g: &str, outs: &str| {
            json!({"conditionId": cid, "question": format!("{g}?"), "groupItemTitle": g,
                   "outcomes": outs, "clobTokenIds": "[\"1\", \"2\"]", "closed": false})
        };
        let body = page(json!([
            yn("0x1", "Chelsea", "[\"Yes\", \"No\"]"),
            yn("0x2", "Aston Villa", "[\"No\", \"Yes\"]"),
            yn("0x3", "Draw (Chelsea vs. Aston Villa)", "[\"Yes\", \"No\"]"),
            {"conditionId": "0x4", "outcomes": ["Under", "Over"], "clobTokenIds": ["7", "8"],
             "sportsMarketType": "totals", "line": 2.5, "closed": false}
        ]));
        let (l, _) = parse_listings(&body, &ListingFilter::default()).unwrap();
        assert_eq!(l[0].participants, vec!["Chelsea", "Aston Villa"]);
        assert!(l[0].multi_outcome);
        assert_eq!(l[0].draw_listed, Some(true));
        assert_eq!(l[1].outcomes[0].side, OutcomeSide::No, "order as listed");
        assert_eq!(l[1].outcomes[1].instrument, "2");
        assert_eq!(l[2].outcomes[0].subject, Subject::Draw);
        let t = &l[3];
        assert_eq!(t.threshold.as_ref().unwrap().value, "2.5");
        assert_eq!(
            t.outcomes[0].side,
            OutcomeSide::No,
            "Under pays when not over"
        );
        assert_eq!(t.outcomes[1].instrument, "8");
    }

    #[test]
    fn bad_fields_are_named() {
        let e = parse_listings(
            &page(json!([moneyline("[\"A\", \"B\"]", "[\"1\"]")])),
            &ListingFilter::default(),
        )
        .unwrap_err();
        assert!(e.contains("events[0].markets[0].clobTokenIds"), "{e}");
        let e = parse_listings(
            &page(json!([moneyline("not json", "[\"1\", \"2\"]")])),
            &ListingFilter::default(),
        )
        .unwrap_err();
        assert!(e.contains("events[0].markets[0].outcomes"), "{e}");
        let mut m = moneyline("[\"A\", \"B\"]", "[\"1\", \"2\"]");
        m["gameStartTime"] = json!("soon");
        let e = parse_listings(&page(json!([m])), &ListingFilter::default()).unwrap_err();
        assert!(e.contains("events[0].markets[0].gameStartTime"), "{e}");
        let mut m = moneyline("[\"A\", \"B\"]", "[\"1\", \"2\"]");
        m["bestAsk"] = json!(1.5);
        let e = parse_listings(&page(json!([m])), &ListingFilter::default()).unwrap_err();
        assert!(e.contains("bestAsk"), "{e}");
    }
}
